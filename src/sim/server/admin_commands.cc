// Handshake and server-information commands, shaped like a real mongod's replies (§2).
#include "sim/server/admin_commands.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "sim/server/repl_commands.h"
#include "sim/server/test_commands.h"
#include "sim/server/wire.h"

namespace sim::server {

using common::Bson;
using common::Status;

namespace {

void append_date(bson_t* b, const char* key, int64_t ms) { bson_append_date_time(b, key, -1, ms); }


void append_string_array(bson_t* b, const char* key, const std::vector<std::string>& v) {
  bson_t arr;
  bson_append_array_begin(b, key, -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& s : v) common::append_utf8(&arr, common::array_key(i++, buf), s);
  bson_append_array_end(b, &arr);
}

void append_topology_version(bson_t* b, const ServerContext& ctx) {
  bson_t tv;
  bson_append_document_begin(b, "topologyVersion", -1, &tv);
  bson_append_oid(&tv, "processId", -1, &ctx.process_id);
  bson_append_int64(&tv, "counter", -1, ctx.topology_counter.load());
  bson_append_document_end(b, &tv);
}

std::string random_uuid_bytes() {
  unsigned char u[16];
  if (RAND_bytes(u, sizeof u) != 1) {
    for (auto& c : u) c = static_cast<unsigned char>(std::rand());
  }
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return std::string(reinterpret_cast<char*>(u), sizeof u);
}

std::vector<int> version_array(const std::string& full) {
  std::vector<int> out;
  std::stringstream ss(full);
  std::string part;
  while (std::getline(ss, part, '.')) out.push_back(std::atoi(part.c_str()));
  while (out.size() < 4) out.push_back(0);
  return out;
}

// A stable 40-hex gitVersion per release, so repeated runs report the same build.
std::string git_version(const std::string& full) {
  std::string seed = "mongosim r" + full;
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), md);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string fcv_string(const ServerOptions& o) { return o.server_version; }

std::string os_release_field(const std::string& key) {
  std::ifstream f("/etc/os-release");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + "=", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "";
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

int64_t mem_total_mb() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || size <= 0) return 0;
  return static_cast<int64_t>(pages) * size / (1024 * 1024);
}

// Resident and virtual memory of this process, in MB (/proc/self/statm).
std::pair<int64_t, int64_t> process_mem_mb() {
  std::ifstream f("/proc/self/statm");
  int64_t vsize = 0, rss = 0;
  f >> vsize >> rss;
  long page = sysconf(_SC_PAGE_SIZE);
  return {rss * page / (1024 * 1024), vsize * page / (1024 * 1024)};
}

int log_verbosity(const std::string& level) {
  if (level == "trace") return 5;
  if (level == "debug") return 1;
  return 0;
}

// A server parameter as getParameter reports it.
struct Param {
  std::string name;
  std::function<void(bson_t*, const char*)> append;
  bool runtime = true;
  bool startup = true;
};

std::vector<Param> server_parameters(const ServerContext& ctx) {
  const ServerOptions& o = ctx.options;
  std::vector<Param> p;
  p.push_back({"authenticationMechanisms",
               [](bson_t* b, const char* k) { append_string_array(b, k, {"SCRAM-SHA-1", "SCRAM-SHA-256"}); }, false, true});
  p.push_back({"cursorTimeoutMillis",
               [&o](bson_t* b, const char* k) { bson_append_int64(b, k, -1, int64_t{o.cursor_timeout_minutes} * 60000); }});
  p.push_back({"enableTestCommands", [&o](bson_t* b, const char* k) { bson_append_bool(b, k, -1, o.enable_test_commands); },
               false, true});
  p.push_back({"featureCompatibilityVersion",
               [&o](bson_t* b, const char* k) {
                 bson_t d;
                 bson_append_document_begin(b, k, -1, &d);
                 common::append_utf8(&d, "version", fcv_string(o));
                 bson_append_document_end(b, &d);
               },
               false, false});
  p.push_back({"localLogicalSessionTimeoutMinutes", [](bson_t* b, const char* k) { bson_append_int32(b, k, -1, 30); }, false,
               true});
  p.push_back({"logLevel", [&o](bson_t* b, const char* k) { bson_append_int32(b, k, -1, log_verbosity(o.log_level)); }});
  p.push_back({"maxTransactionLockRequestTimeoutMillis", [](bson_t* b, const char* k) { bson_append_int32(b, k, -1, 5); }});
  p.push_back({"quiet", [](bson_t* b, const char* k) { bson_append_bool(b, k, -1, false); }});
  p.push_back({"transactionLifetimeLimitSeconds", [](bson_t* b, const char* k) { bson_append_int32(b, k, -1, 60); }});
  p.push_back({"ttlMonitorEnabled", [](bson_t* b, const char* k) { bson_append_bool(b, k, -1, true); }});
  p.push_back({"ttlMonitorSleepSecs",
               [&o](bson_t* b, const char* k) { bson_append_int32(b, k, -1, o.ttl_monitor_sleep_secs); }, false, true});
  if (!o.standalone) {
    p.push_back({"replWriterThreadCount", [](bson_t* b, const char* k) { bson_append_int32(b, k, -1, 16); }, false, true});
  }
  return p;
}

bool flag_true(const bson_t* body, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, body, key) && common::value_truthy(&it);
}

bool flag_excluded(const bson_t* body, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, body, key) && !common::value_truthy(&it);
}

// ---------------------------------------------------------------------------------------

Status validate_client_metadata(const bson_iter_t* it) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
    return Status(common::kTypeMismatch, std::string("BSON field 'client' is the wrong type '") +
                                             common::type_alias(bson_iter_type(it)) + "', expected type 'object'");
  }
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(it, &len, &data);
  if (len > 512) {
    return Status(185, "The client metadata document must be less then or equal to 512bytes");
  }
  bson_t doc;
  if (!bson_init_static(&doc, data, len)) return Status(common::kInvalidBSON, "invalid client metadata document");
  bson_iter_t app, name;
  if (bson_iter_init_find(&app, &doc, "application") && BSON_ITER_HOLDS_DOCUMENT(&app) && bson_iter_recurse(&app, &name) &&
      bson_iter_find(&name, "name")) {
    if (!BSON_ITER_HOLDS_UTF8(&name)) {
      return Status(common::kTypeMismatch, "The 'application.name' field must be a string in the client metadata document");
    }
    uint32_t n = 0;
    bson_iter_utf8(&name, &n);
    if (n > 128) {
      return Status(184, "The 'application.name' field must be less then or equal to 128 bytes in length");
    }
  }
  return Status::OK();
}

Status run_hello(ServerState& st, CommandContext& c, bson_t* reply) {
  ServerContext& ctx = st.ctx;
  const bson_t* body = c.body();
  bool legacy = c.req.name != "hello";
  bson_iter_t it;

  // Awaitable hello (§2.4): wait for a topology change or maxAwaitTimeMS.
  bool has_tv = bson_iter_init_find(&it, body, "topologyVersion");
  bson_iter_t mit;
  bool has_wait = bson_iter_init_find(&mit, body, "maxAwaitTimeMS");
  if (has_tv != has_wait) {
    return Status(has_tv ? 31368 : 31368, has_tv ? "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'"
                                                 : "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'");
  }
  if (has_tv) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, "BSON field 'topologyVersion' is the wrong type, expected type 'object'");
    }
    MS_ASSIGN_OR_RETURN(int64_t max_wait, common::get_int(body, "maxAwaitTimeMS", 0));
    if (max_wait < 0) return Status(31373, "maxAwaitTimeMS must be a non-negative integer");
    // TopologyVersion is IDL-parsed on mongod: both fields required, with their types.
    bson_iter_t tv;
    bson_oid_t pid{};
    int64_t counter = 0;
    bool has_pid = false, has_counter = false;
    if (bson_iter_recurse(&it, &tv)) {
      while (bson_iter_next(&tv)) {
        std::string_view k = bson_iter_key(&tv);
        if (k == "processId") {
          if (!BSON_ITER_HOLDS_OID(&tv)) {
            return Status(common::kTypeMismatch, std::string("BSON field 'TopologyVersion.processId' is the wrong type '") +
                                                     common::type_alias(bson_iter_type(&tv)) + "', expected type 'objectId'");
          }
          bson_oid_copy(bson_iter_oid(&tv), &pid);
          has_pid = true;
        } else if (k == "counter") {
          if (!BSON_ITER_HOLDS_INT64(&tv) && !BSON_ITER_HOLDS_INT32(&tv)) {
            return Status(common::kTypeMismatch, std::string("BSON field 'TopologyVersion.counter' is the wrong type '") +
                                                     common::type_alias(bson_iter_type(&tv)) + "', expected type 'long'");
          }
          counter = bson_iter_as_int64(&tv);
          has_counter = true;
        }
      }
    }
    if (!has_pid) return Status(40414, "BSON field 'TopologyVersion.processId' is missing but a required field");
    if (!has_counter) return Status(40414, "BSON field 'TopologyVersion.counter' is missing but a required field");
    if (counter < 0) return Status(31372, "topologyVersion must have a non-negative counter");
    if (bson_oid_equal(&pid, &ctx.process_id)) {
      int64_t ours = ctx.topology_counter.load();
      if (counter > ours) {
        return Status(31382, "Received a topology version with counter: " + std::to_string(counter) +
                                 " which is greater than the server topology version counter: " + std::to_string(ours));
      }
      if (counter == ours) {
        st.awaiting_topology_changes.fetch_add(1);
        st.wait_topology_change(ours, std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait));
        st.awaiting_topology_changes.fetch_sub(1);
      }
    }
  }

  // Client metadata is accepted on the first hello of a connection only.
  if (bson_iter_init_find(&it, body, "client")) {
    if (!c.client.metadata.empty()) {
      return Status(186, "The client metadata document may only be sent in the first hello");
    }
    MS_RETURN_IF_ERROR(validate_client_metadata(&it));
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    c.client.metadata = bson_copy_of(data, len);
    bson_iter_t app;
    if (bson_iter_init_find(&app, c.client.metadata.get(), "application") && BSON_ITER_HOLDS_DOCUMENT(&app)) {
      bson_iter_t name;
      if (bson_iter_recurse(&app, &name) && bson_iter_find(&name, "name") && BSON_ITER_HOLDS_UTF8(&name)) {
        c.client.app_name = bson_iter_utf8(&name, nullptr);
      }
    }
  }

  // Compression: the compressors the client listed that this server supports, in the
  // client's order (mongod's MessageCompressorManager::serverNegotiate).
  bool negotiated = false;
  if (bson_iter_init_find(&it, body, "compression")) {
    if (!BSON_ITER_HOLDS_ARRAY(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, std::string("BSON field 'compression' is the wrong type '") +
                                               common::type_alias(bson_iter_type(&it)) + "', expected type 'array'");
    }
    std::vector<std::string> chosen;
    bson_iter_t arr;
    if (bson_iter_recurse(&it, &arr)) {
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_UTF8(&arr)) {
          return Status(common::kTypeMismatch, std::string("wrong type for field (compression.") + bson_iter_key(&arr) +
                                                   ") " + common::type_alias(bson_iter_type(&arr)) + " != string");
        }
        std::string name = bson_iter_utf8(&arr, nullptr);
        auto comp = compressor_from_name(name);
        if (!comp || *comp == Compressor::kNoop) continue;
        if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) chosen.push_back(name);
      }
    }
    c.client.compressors = chosen;
    negotiated = true;
  }

  // helloOk comes first, as mongod appends it before the replication fields.
  if (bson_iter_init_find(&it, body, "helloOk")) {
    if (!BSON_ITER_HOLDS_BOOL(&it)) {
      return Status(common::kTypeMismatch, std::string("\"helloOk\" had the wrong type. Expected bool, found ") +
                                               common::type_alias(bson_iter_type(&it)));
    }
    bson_append_bool(reply, "helloOk", -1, true);
    if (bson_iter_bool(&it)) c.client.supports_hello = true;
  }
  // Client::supportsHello: the `hello` command or helloOk, which words errors "primary".
  if (!legacy) c.client.supports_hello = true;
  if (ctx.options.standalone) {
    bson_append_bool(reply, legacy ? "ismaster" : "isWritablePrimary", -1, true);
    append_topology_version(reply, ctx);
  } else {
    append_hello_replication(st, reply, legacy);
  }
  bson_append_int32(reply, "maxBsonObjectSize", -1, kMaxBsonObjectSize);
  bson_append_int32(reply, "maxMessageSizeBytes", -1, kMaxMessageSizeBytes);
  bson_append_int32(reply, "maxWriteBatchSize", -1, 100000);
  append_date(reply, "localTime", now_ms());
  bson_append_int32(reply, "logicalSessionTimeoutMinutes", -1, 30);
  bson_append_int32(reply, "connectionId", -1, static_cast<int32_t>(c.client.connection_id));
  bson_append_int32(reply, "minWireVersion", -1, 0);
  bson_append_int32(reply, "maxWireVersion", -1, ctx.options.max_wire_version());
  bson_append_bool(reply, "readOnly", -1, false);
  // A hello without `compression` reports what was negotiated earlier on the connection.
  (void)negotiated;
  if (!c.client.compressors.empty()) append_string_array(reply, "compression", c.client.compressors);
  return Status::OK();
}

Status run_build_info(ServerContext& ctx, bson_t* reply) {
  const std::string full = ctx.options.full_version();
  common::append_utf8(reply, "version", full);
  common::append_utf8(reply, "gitVersion", git_version(full));
  bson_t arr;
  bson_append_array_begin(reply, "modules", -1, &arr);
  bson_append_array_end(reply, &arr);
  common::append_utf8(reply, "allocator", "tcmalloc");
  common::append_utf8(reply, "javascriptEngine", "mozjs");
  common::append_utf8(reply, "sysInfo", "deprecated");
  bson_append_array_begin(reply, "versionArray", -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (int v : version_array(full)) common::append_int32(&arr, common::array_key(i++, buf), v);
  bson_append_array_end(reply, &arr);
  bson_t ssl;
  bson_append_document_begin(reply, "openssl", -1, &ssl);
  common::append_utf8(&ssl, "running", OpenSSL_version(OPENSSL_VERSION));
  common::append_utf8(&ssl, "compiled", OPENSSL_VERSION_TEXT);
  bson_append_document_end(reply, &ssl);
  bson_t env;
  bson_append_document_begin(reply, "buildEnvironment", -1, &env);
  common::append_utf8(&env, "distmod", "ubuntu2204");
  common::append_utf8(&env, "distarch", "x86_64");
  common::append_utf8(&env, "cc", "/opt/mongodbtoolchain/v4/bin/gcc: gcc (GCC) 11.3.0");
  common::append_utf8(&env, "target_arch", "x86_64");
  common::append_utf8(&env, "target_os", "linux");
  bson_append_document_end(reply, &env);
  bson_append_int32(reply, "bits", -1, 64);
  bson_append_bool(reply, "debug", -1, false);
  bson_append_int32(reply, "maxBsonObjectSize", -1, kMaxBsonObjectSize);
  bson_append_array_begin(reply, "storageEngines", -1, &arr);
  i = 0;
  for (const char* e : {"devnull", "wiredTiger"}) common::append_utf8(&arr, common::array_key(i++, buf), e);
  bson_append_array_end(reply, &arr);
  return Status::OK();
}

void append_counter_doc(bson_t* b, const char* key, const OpCounters* oc) {
  bson_t d;
  bson_append_document_begin(b, key, -1, &d);
  bson_append_int64(&d, "insert", -1, oc ? oc->insert.load() : 0);
  bson_append_int64(&d, "query", -1, oc ? oc->query.load() : 0);
  bson_append_int64(&d, "update", -1, oc ? oc->update.load() : 0);
  bson_append_int64(&d, "delete", -1, oc ? oc->del.load() : 0);
  bson_append_int64(&d, "getmore", -1, oc ? oc->getmore.load() : 0);
  bson_append_int64(&d, "command", -1, oc ? oc->command.load() : 0);
  bson_append_document_end(b, &d);
}

Status run_server_status(ServerState& st, CommandContext& c, bson_t* reply) {
  ServerContext& ctx = st.ctx;
  const bson_t* body = c.body();
  int64_t now = now_ms();
  int64_t up_ms = std::max<int64_t>(0, now - ctx.start_time_ms);
  bson_t full;
  bson_init(&full);
  common::append_utf8(&full, "host", ctx.host_and_port);
  common::append_utf8(&full, "version", ctx.options.full_version());
  common::append_utf8(&full, "process", "mongod");
  bson_append_int64(&full, "pid", -1, static_cast<int64_t>(getpid()));
  bson_append_double(&full, "uptime", -1, static_cast<double>(up_ms / 1000));
  bson_append_int64(&full, "uptimeMillis", -1, up_ms);
  bson_append_int64(&full, "uptimeEstimate", -1, up_ms / 1000);
  append_date(&full, "localTime", now);

  bson_t d;
  bson_append_document_begin(&full, "asserts", -1, &d);
  for (const char* k : {"regular", "warning", "msg", "user", "tripwire", "rollovers"}) bson_append_int32(&d, k, -1, 0);
  bson_append_document_end(&full, &d);

  int64_t current = ctx.connections_current.load();
  bson_append_document_begin(&full, "connections", -1, &d);
  bson_append_int32(&d, "current", -1, static_cast<int32_t>(current));
  bson_append_int32(&d, "available", -1, static_cast<int32_t>(std::max<int64_t>(0, ctx.options.max_connections - current)));
  bson_append_int32(&d, "totalCreated", -1, static_cast<int32_t>(ctx.connections_total.load()));
  bson_append_int32(&d, "active", -1, static_cast<int32_t>(st.ops().size()));
  bson_append_int32(&d, "threaded", -1, static_cast<int32_t>(current));
  bson_append_int64(&d, "exhaustIsMaster", -1, 0);
  bson_append_int64(&d, "exhaustHello", -1, 0);
  bson_append_int64(&d, "awaitingTopologyChanges", -1, st.awaiting_topology_changes.load());
  bson_append_document_end(&full, &d);

  auto [resident, virt] = process_mem_mb();
  bson_append_document_begin(&full, "mem", -1, &d);
  bson_append_int32(&d, "bits", -1, 64);
  bson_append_int32(&d, "resident", -1, static_cast<int32_t>(resident));
  bson_append_int32(&d, "virtual", -1, static_cast<int32_t>(virt));
  bson_append_bool(&d, "supported", -1, true);
  bson_append_document_end(&full, &d);

  bson_append_document_begin(&full, "network", -1, &d);
  bson_append_int64(&d, "bytesIn", -1, st.bytes_in.load());
  bson_append_int64(&d, "bytesOut", -1, st.bytes_out.load());
  bson_append_int64(&d, "physicalBytesIn", -1, st.bytes_in.load());
  bson_append_int64(&d, "physicalBytesOut", -1, st.bytes_out.load());
  bson_append_int64(&d, "numSlowDNSOperations", -1, 0);
  bson_append_int64(&d, "numSlowSSLOperations", -1, 0);
  bson_append_int64(&d, "numRequests", -1, st.num_requests.load());
  bson_t comp, one, side;
  bson_append_document_begin(&d, "compression", -1, &comp);
  for (Compressor c : {Compressor::kSnappy, Compressor::kZstd, Compressor::kZlib}) {
    auto id = static_cast<size_t>(c);
    bson_append_document_begin(&comp, compressor_name(c), -1, &one);
    bson_append_document_begin(&one, "compressor", -1, &side);
    bson_append_int64(&side, "bytesIn", -1, st.compression_bytes[id][0].load());
    bson_append_int64(&side, "bytesOut", -1, st.compression_bytes[id][1].load());
    bson_append_document_end(&one, &side);
    bson_append_document_begin(&one, "decompressor", -1, &side);
    bson_append_int64(&side, "bytesIn", -1, st.compression_bytes[id][2].load());
    bson_append_int64(&side, "bytesOut", -1, st.compression_bytes[id][3].load());
    bson_append_document_end(&one, &side);
    bson_append_document_end(&comp, &one);
  }
  bson_append_document_end(&d, &comp);
  bson_append_document_end(&full, &d);

  append_counter_doc(&full, "opcounters", &ctx.opcounters);
  append_counter_doc(&full, "opcountersRepl", nullptr);

  append_repl_server_status(st, &full);

  bson_append_document_begin(&full, "storageEngine", -1, &d);
  common::append_utf8(&d, "name", "wiredTiger");
  bson_append_bool(&d, "supportsPendingDrops", -1, true);
  bson_append_bool(&d, "dropPendingIdents", -1, false);
  bson_append_bool(&d, "supportsSnapshotReadConcern", -1, true);
  bson_append_bool(&d, "readOnly", -1, false);
  bson_append_bool(&d, "persistent", -1, true);
  bson_append_bool(&d, "backupCursorOpen", -1, false);
  bson_append_bool(&d, "supportsCommittedReads", -1, true);
  bson_append_document_end(&full, &d);

  if (st.append_engine_status) st.append_engine_status(&full);

  // {serverStatus: 1, repl: 0} leaves a section out, as on mongod.
  static constexpr std::string_view kAlways[] = {"host", "version", "process", "pid",
                                                 "uptime", "uptimeMillis", "uptimeEstimate", "localTime"};
  bson_iter_t it;
  bson_iter_init(&it, &full);
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    bool always = std::find(std::begin(kAlways), std::end(kAlways), k) != std::end(kAlways);
    if (!always && flag_excluded(body, bson_iter_key(&it))) continue;
    bson_append_iter(reply, bson_iter_key(&it), -1, &it);
  }
  bson_destroy(&full);
  // Sections mongod leaves out unless asked for (includeByDefault false).
  if (flag_true(body, "oplog")) append_oplog_server_status(st, reply);
  return Status::OK();
}

Status run_host_info(ServerContext& ctx, bson_t* reply) {
  struct utsname u {};
  uname(&u);
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  bson_t sys, os, extra;
  bson_append_document_begin(reply, "system", -1, &sys);
  append_date(&sys, "currentTime", now_ms());
  auto colon = ctx.host_and_port.rfind(':');
  common::append_utf8(&sys, "hostname",
                      hostname() + (colon == std::string::npos ? "" : ctx.host_and_port.substr(colon)));
  bson_append_int32(&sys, "cpuAddrSize", -1, 64);
  bson_append_int64(&sys, "memSizeMB", -1, mem_total_mb());
  bson_append_int64(&sys, "memLimitMB", -1, mem_total_mb());
  bson_append_int32(&sys, "numCores", -1, static_cast<int32_t>(cores));
  bson_append_int32(&sys, "numCoresAvailableToProcess", -1, static_cast<int32_t>(cores));
  bson_append_int32(&sys, "numPhysicalCores", -1, static_cast<int32_t>(cores));
  bson_append_int32(&sys, "numCpuSockets", -1, 1);
  common::append_utf8(&sys, "cpuArch", u.machine);
  bson_append_bool(&sys, "numaEnabled", -1, false);
  bson_append_int32(&sys, "numNumaNodes", -1, 1);
  bson_append_document_end(reply, &sys);
  bson_append_document_begin(reply, "os", -1, &os);
  common::append_utf8(&os, "type", "Linux");
  std::string name = os_release_field("NAME");
  common::append_utf8(&os, "name", name.empty() ? "Linux" : name);
  common::append_utf8(&os, "version", os_release_field("VERSION_ID"));
  bson_append_document_end(reply, &os);
  bson_append_document_begin(reply, "extra", -1, &extra);
  common::append_utf8(&extra, "versionString", std::string(u.sysname) + " version " + u.release + " " + u.version);
  common::append_utf8(&extra, "kernelVersion", u.release);
  bson_append_int64(&extra, "pageSize", -1, sysconf(_SC_PAGE_SIZE));
  bson_append_int32(&extra, "numPages", -1, static_cast<int32_t>(sysconf(_SC_PHYS_PAGES)));
  bson_append_int32(&extra, "maxOpenFiles", -1, static_cast<int32_t>(sysconf(_SC_OPEN_MAX)));
  bson_append_document_end(reply, &extra);
  return Status::OK();
}

Status run_get_parameter(ServerContext& ctx, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  bson_iter_t it;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  bool all = false, details = false;
  if (BSON_ITER_HOLDS_UTF8(&it) && std::string_view(bson_iter_utf8(&it, nullptr)) == "*") all = true;
  if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_iter_t opt;
    bson_iter_recurse(&it, &opt);
    while (bson_iter_next(&opt)) {
      std::string_view k = bson_iter_key(&opt);
      if (k == "allParameters") {
        all = common::value_truthy(&opt);
      } else if (k == "showDetails") {
        details = common::value_truthy(&opt);
      } else {
        return Status(40415, "BSON field 'getParameter." + std::string(k) + "' is an unknown field.");
      }
    }
  }
  auto params = server_parameters(ctx);
  int found = 0;
  for (const auto& p : params) {
    if (!all && !common::find_field(body, p.name, &it)) continue;
    ++found;
    if (details) {
      bson_t d;
      bson_append_document_begin(reply, p.name.c_str(), -1, &d);
      p.append(&d, "value");
      bson_append_bool(&d, "settableAtRuntime", -1, p.runtime);
      bson_append_bool(&d, "settableAtStartup", -1, p.startup);
      bson_append_document_end(reply, &d);
    } else {
      p.append(reply, p.name.c_str());
    }
  }
  if (found == 0) return Status(common::kInvalidOptions, "no option found to get");
  return Status::OK();
}

Status run_get_cmd_line_opts(ServerContext& ctx, bson_t* reply) {
  append_string_array(reply, "argv", ctx.argv.empty() ? std::vector<std::string>{"mongosim"} : ctx.argv);
  const ServerOptions& o = ctx.options;
  bson_t parsed, d;
  bson_append_document_begin(reply, "parsed", -1, &parsed);
  bson_append_document_begin(&parsed, "net", -1, &d);
  common::append_utf8(&d, "bindIp", o.bind);
  auto colon = ctx.host_and_port.rfind(':');
  int port = colon == std::string::npos ? o.port : std::atoi(ctx.host_and_port.c_str() + colon + 1);
  bson_append_int32(&d, "port", -1, port);
  bson_append_document_end(&parsed, &d);
  if (!o.standalone) {
    bson_append_document_begin(&parsed, "replication", -1, &d);
    common::append_utf8(&d, "replSet", o.replset);
    bson_append_document_end(&parsed, &d);
  }
  bson_append_document_begin(&parsed, "setParameter", -1, &d);
  common::append_utf8(&d, "enableTestCommands", o.enable_test_commands ? "1" : "0");
  common::append_utf8(&d, "ttlMonitorSleepSecs", std::to_string(o.ttl_monitor_sleep_secs));
  bson_append_document_end(&parsed, &d);
  if (!o.dbpath.empty()) {
    bson_append_document_begin(&parsed, "storage", -1, &d);
    common::append_utf8(&d, "dbPath", o.dbpath);
    bson_append_document_end(&parsed, &d);
  }
  bson_append_document_end(reply, &parsed);
  return Status::OK();
}

Status run_list_commands(ServerContext& ctx, bson_t* reply) {
  // Every name a command answers to (aliases included), sorted, each described by the
  // definition find() dispatches to (a later registration of a name wins).
  std::set<std::string> names;
  for (const CommandDef* def : ctx.commands.all()) {
    names.insert(def->name);
    for (const auto& a : def->aliases) names.insert(a);
  }
  bson_t cmds, d, arr;
  bson_append_document_begin(reply, "commands", -1, &cmds);
  for (const auto& name : names) {
    const CommandDef* live = ctx.commands.find(name);
    if (!live) continue;
    bson_append_document_begin(&cmds, name.c_str(), -1, &d);
    common::append_utf8(&d, "help", live->help);
    bson_append_bool(&d, "requiresAuth", -1, live->requires_auth);
    bson_append_bool(&d, "secondaryOk", -1, !live->is_write);
    bson_append_bool(&d, "adminOnly", -1, live->admin_only);
    bson_append_array_begin(&d, "apiVersions", -1, &arr);
    bson_append_array_end(&d, &arr);
    bson_append_array_begin(&d, "deprecatedApiVersions", -1, &arr);
    bson_append_array_end(&d, &arr);
    bson_append_document_end(&cmds, &d);
  }
  bson_append_document_end(reply, &cmds);
  return Status::OK();
}

Status run_connection_status(CommandContext& c, bson_t* reply) {
  bson_t auth, arr;
  bson_append_document_begin(reply, "authInfo", -1, &auth);
  bson_append_array_begin(&auth, "authenticatedUsers", -1, &arr);
  bson_append_array_end(&auth, &arr);
  bson_append_array_begin(&auth, "authenticatedUserRoles", -1, &arr);
  bson_append_array_end(&auth, &arr);
  if (flag_true(c.body(), "showPrivileges")) {
    bson_append_array_begin(&auth, "authenticatedUserPrivileges", -1, &arr);
    bson_append_array_end(&auth, &arr);
  }
  bson_append_document_end(reply, &auth);
  return Status::OK();
}

// endSessions/refreshSessions/killSessions: an array of {id: UUID} session ids.
Status check_session_list(CommandContext& c) {
  bson_iter_t it;
  bson_iter_init(&it, c.body());
  bson_iter_next(&it);
  if (!BSON_ITER_HOLDS_ARRAY(&it)) {
    return Status(common::kTypeMismatch, "BSON field '" + c.req.name + "' is the wrong type '" +
                                             common::type_alias(bson_iter_type(&it)) + "', expected type 'array'");
  }
  bson_iter_t arr;
  bson_iter_recurse(&it, &arr);
  while (bson_iter_next(&arr)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
      return Status(common::kTypeMismatch, "BSON field '" + c.req.name + "." + bson_iter_key(&arr) + "' is the wrong type '" +
                                               common::type_alias(bson_iter_type(&arr)) + "', expected type 'object'");
    }
  }
  return Status::OK();
}

Status run_get_log(ServerContext& ctx, CommandContext& c, bson_t* reply) {
  bson_iter_t it;
  bson_iter_init(&it, c.body());
  bson_iter_next(&it);
  if (!BSON_ITER_HOLDS_UTF8(&it)) {
    return Status(common::kTypeMismatch,
                  std::string("Argument to getLog must be of type String; found ") +
                      common::value_to_json(bson_iter_value(&it)) + " of type " + common::type_alias(bson_iter_type(&it)));
  }
  std::string name = bson_iter_utf8(&it, nullptr);
  if (name == "*") {
    append_string_array(reply, "names", {"global", "startupWarnings"});
    return Status::OK();
  }
  std::vector<std::string> lines;
  if (name == "global") {
    lines = ctx.recent_log();
  } else if (name != "startupWarnings") {
    return Status(common::kOperationFailed, "No log named '" + name + "'");
  }
  bson_append_int32(reply, "totalLinesWritten", -1, static_cast<int32_t>(lines.size()));
  append_string_array(reply, "log", lines);
  return Status::OK();
}

Status run_current_op(ServerState& st, CommandContext& c, bson_t* reply) {
  bson_t arr, op, ct;
  bson_append_array_begin(reply, "inprog", -1, &arr);
  char buf[16];
  uint32_t i = 0;
  int64_t now = now_ms();
  for (const auto& o : st.ops()) {
    auto key = common::array_key(i++, buf);
    bson_append_document_begin(&arr, key.data(), static_cast<int>(key.size()), &op);
    common::append_utf8(&op, "type", "op");
    common::append_utf8(&op, "host", st.ctx.host_and_port);
    common::append_utf8(&op, "desc", "conn" + std::to_string(o.connection_id));
    bson_append_int64(&op, "connectionId", -1, o.connection_id);
    common::append_utf8(&op, "client", o.client);
    if (!o.app_name.empty()) common::append_utf8(&op, "appName", o.app_name);
    if (!o.client_metadata.empty()) bson_append_document(&op, "clientMetadata", -1, o.client_metadata.get());
    bson_append_bool(&op, "active", -1, true);
    common::append_utf8(&op, "currentOpTime", fmt::format("{}", now));
    bson_append_int32(&op, "opid", -1, static_cast<int32_t>(o.opid));
    bson_append_int64(&op, "secs_running", -1, (now - o.start_ms) / 1000);
    bson_append_int64(&op, "microsecs_running", -1, (now - o.start_ms) * 1000);
    common::append_utf8(&op, "op", "command");
    common::append_utf8(&op, "ns", o.ns);
    bson_append_document(&op, "command", -1, o.command.get());
    if (o.kill_requested) bson_append_bool(&op, "killPending", -1, true);
    bson_append_document_begin(&op, "locks", -1, &ct);
    bson_append_document_end(&op, &ct);
    bson_append_bool(&op, "waitingForLock", -1, false);
    bson_append_document_end(&arr, &op);
  }
  bson_append_array_end(reply, &arr);
  (void)c;
  return Status::OK();
}

Status run_kill_op(ServerState& st, CommandContext& c, bson_t* reply) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, c.body(), "op")) {
    return Status(40414, "BSON field 'killOp.op' is missing but a required field");
  }
  if (!BSON_ITER_HOLDS_NUMBER(&it)) {
    return Status(common::kTypeMismatch, std::string("BSON field 'killOp.op' is the wrong type '") +
                                             common::type_alias(bson_iter_type(&it)) + "', expected types '[long, int, double]'");
  }
  st.request_kill(bson_iter_as_int64(&it));
  common::append_utf8(reply, "info", "attempting to kill op");
  return Status::OK();
}

void append_rw_concern(ServerState& st, bson_t* reply) {
  const ServerOptions& o = st.ctx.options;
  auto rw = st.default_rw_concern();
  bool modern = o.version() >= 50;  // 5.0 added implicit defaults and the *Source fields
  if (!rw.read_concern.empty()) {
    bson_append_document(reply, "defaultReadConcern", -1, rw.read_concern.get());
  } else if (modern) {
    bson_t d;
    bson_append_document_begin(reply, "defaultReadConcern", -1, &d);
    common::append_utf8(&d, "level", "local");
    bson_append_document_end(reply, &d);
  }
  if (!rw.write_concern.empty()) {
    bson_append_document(reply, "defaultWriteConcern", -1, rw.write_concern.get());
  } else if (modern) {
    bson_t d;
    bson_append_document_begin(reply, "defaultWriteConcern", -1, &d);
    common::append_utf8(&d, "w", "majority");
    bson_append_int32(&d, "wtimeout", -1, 0);
    bson_append_document_end(reply, &d);
  }
  if (rw.update_wall_ms != 0) {
    bson_append_timestamp(reply, "updateOpTime", -1, rw.update_optime.t, rw.update_optime.i);
    append_date(reply, "updateWallClockTime", rw.update_wall_ms);
  }
  if (modern) {
    common::append_utf8(reply, "defaultWriteConcernSource", rw.write_concern.empty() ? "implicit" : "global");
    common::append_utf8(reply, "defaultReadConcernSource", rw.read_concern.empty() ? "implicit" : "global");
  }
  append_date(reply, "localUpdateWallClockTime", rw.update_wall_ms != 0 ? rw.update_wall_ms : st.ctx.start_time_ms);
}

Status run_set_default_rw_concern(ServerState& st, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  auto rw = st.default_rw_concern();
  bson_iter_t it;
  bool any = false;
  if (bson_iter_init_find(&it, body, "defaultReadConcern")) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, "BSON field 'setDefaultRWConcern.defaultReadConcern' is the wrong type '" +
                                               std::string(common::type_alias(bson_iter_type(&it))) + "', expected type 'object'");
    }
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    Bson rc = bson_copy_of(data, len);
    MS_ASSIGN_OR_RETURN(std::string level, common::get_string(rc.get(), "level", ""));
    if (!level.empty() && level != "local" && level != "available" && level != "majority") {
      return Status(common::kBadValue, "level: '" + level + "' is not permitted for a default read concern");
    }
    rw.read_concern = rc.empty() ? Bson() : rc;
    any = true;
  }
  if (bson_iter_init_find(&it, body, "defaultWriteConcern")) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, "BSON field 'setDefaultRWConcern.defaultWriteConcern' is the wrong type '" +
                                               std::string(common::type_alias(bson_iter_type(&it))) + "', expected type 'object'");
    }
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    Bson wc = bson_copy_of(data, len);
    if (wc.empty()) {
      return Status(common::kBadValue, "The global default write concern cannot be set to an empty write concern");
    }
    rw.write_concern = wc;
    any = true;
  }
  if (!any) {
    return Status(common::kBadValue,
                  "At least one of the \"defaultReadConcern\" or \"defaultWriteConcern\" fields must be present");
  }
  rw.update_wall_ms = now_ms();
  rw.update_optime = st.ctx.clock.now();
  st.set_default_rw_concern(rw);
  append_rw_concern(st, reply);
  return Status::OK();
}

}  // namespace

void add_admin_command(CommandRegistry& registry, std::string name, std::string help, CommandHandler handler,
                       bool requires_auth) {
  CommandDef d;
  d.name = std::move(name);
  d.admin_only = true;
  d.requires_auth = requires_auth;
  d.help = std::move(help);
  d.handler = std::move(handler);
  registry.add(std::move(d));
}

void register_admin_commands(ServerState& st, CommandRegistry& r) {
  ServerState* s = &st;
  ServerContext* ctx = &st.ctx;
  auto simple = [&r](std::string name, std::vector<std::string> aliases, bool admin_only, bool requires_auth,
                     std::string help, CommandHandler h) {
    CommandDef d;
    d.name = std::move(name);
    d.aliases = std::move(aliases);
    d.admin_only = admin_only;
    d.requires_auth = requires_auth;
    d.help = std::move(help);
    d.handler = std::move(h);
    r.add(std::move(d));
  };

  simple("hello", {"isMaster", "ismaster"}, false, false, "Check if this server is primary for a replica set",
         [s](CommandContext& c, bson_t* reply) { return run_hello(*s, c, reply); });
  simple("ping", {}, false, false, "a way to check that the server is alive. responds immediately even if server is in a db lock.",
         [](CommandContext&, bson_t*) { return Status::OK(); });
  simple("buildInfo", {"buildinfo"}, false, false, "get version #, etc.",
         [ctx](CommandContext&, bson_t* reply) { return run_build_info(*ctx, reply); });
  simple("serverStatus", {}, false, true, "returns lots of administrative server statistics",
         [s](CommandContext& c, bson_t* reply) { return run_server_status(*s, c, reply); });
  simple("hostInfo", {}, false, true, "returns information about the daemon's host",
         [ctx](CommandContext&, bson_t* reply) { return run_host_info(*ctx, reply); });
  simple("getParameter", {}, true, true, "get administrative option(s)",
         [ctx](CommandContext& c, bson_t* reply) { return run_get_parameter(*ctx, c, reply); });
  simple("getCmdLineOpts", {}, true, true, "get argv",
         [ctx](CommandContext&, bson_t* reply) { return run_get_cmd_line_opts(*ctx, reply); });
  simple("listCommands", {}, false, false, "get a list of all db commands",
         [ctx](CommandContext&, bson_t* reply) { return run_list_commands(*ctx, reply); });
  simple("connectionStatus", {}, false, false, "Returns connection-specific information such as logged-in users and their roles",
         [](CommandContext& c, bson_t* reply) { return run_connection_status(c, reply); });
  simple("startSession", {}, false, true, "start a logical session",
         [](CommandContext&, bson_t* reply) {
           std::string uuid = random_uuid_bytes();
           bson_t id;
           bson_append_document_begin(reply, "id", -1, &id);
           bson_append_binary(&id, "id", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(uuid.data()), 16);
           bson_append_document_end(reply, &id);
           bson_append_int32(reply, "timeoutMinutes", -1, 30);
           return Status::OK();
         });
  for (const char* name : {"endSessions", "refreshSessions", "killSessions", "killAllSessions"}) {
    simple(name, {}, false, true, std::string(name) + " for the listed logical sessions",
           [](CommandContext& c, bson_t*) { return check_session_list(c); });
  }
  simple("whatsmyuri", {}, false, false, "{whatsmyuri:1}",
         [](CommandContext& c, bson_t* reply) {
           common::append_utf8(reply, "you", c.client.remote);
           return Status::OK();
         });
  if (ctx->options.version() < 62) {
    // Removed in 6.2: a random 64-bit nonce in unpadded hex, as the MONGODB-CR era left it.
    simple("getnonce", {}, false, false, "internal", [](CommandContext&, bson_t* reply) {
      uint64_t n = 0;
      if (RAND_bytes(reinterpret_cast<unsigned char*>(&n), sizeof n) != 1) {
        return Status(common::kInternalError, "getnonce: no random bytes");
      }
      common::append_utf8(reply, "nonce", fmt::format("{:x}", n));
      return Status::OK();
    });
  }
  simple("getLog", {}, true, true, "{ getLog : '*' }  OR { getLog : 'global' }",
         [ctx](CommandContext& c, bson_t* reply) { return run_get_log(*ctx, c, reply); });
  simple("currentOp", {}, true, true, "report operations in progress",
         [s](CommandContext& c, bson_t* reply) { return run_current_op(*s, c, reply); });
  simple("killOp", {}, true, true, "kill an operation in progress",
         [s](CommandContext& c, bson_t* reply) { return run_kill_op(*s, c, reply); });
  simple("getDefaultRWConcern", {}, true, true, "gets the default read or write concern for a cluster",
         [s](CommandContext&, bson_t* reply) {
           append_rw_concern(*s, reply);
           return Status::OK();
         });
  simple("setDefaultRWConcern", {}, true, true, "set the default read and write concern for the cluster",
         [s](CommandContext& c, bson_t* reply) { return run_set_default_rw_concern(*s, c, reply); });
  simple("features", {}, false, true, "return build level feature settings",
         [ctx](CommandContext&, bson_t* reply) {
           bson_append_bool(reply, "js", -1, true);
           int32_t machine = 0;
           std::memcpy(&machine, ctx->process_id.bytes + 4, 3);
           bson_append_int32(reply, "oidMachine", -1, machine);
           return Status::OK();
         });
  simple("_isSelf", {}, false, false, "{ _isSelf : 1 } INTERNAL ONLY",
         [ctx](CommandContext&, bson_t* reply) {
           bson_append_oid(reply, "id", -1, &ctx->process_id);
           return Status::OK();
         });
  register_repl_commands(st, r);
  if (st.ctx.options.enable_test_commands) register_test_commands(st, r);
}

}  // namespace sim::server
