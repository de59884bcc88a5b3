// The dispatcher: request decoding, command lookup, reply shaping (§1, §3.1, §4.1).
#include "sim/server/dispatcher.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <unordered_map>

#include "common/bson_scan.h"
#include "common/log.h"
#include "sim/server/error_labels.h"
#include "sim/server/failpoints.h"

namespace sim::server {

using common::Bson;
using common::Result;
using common::Status;

namespace {

// OP_QUERY commands a 5.1+ server still accepts (§1.4).
bool allowed_over_op_query(std::string_view name) {
  static constexpr std::string_view kAllowed[] = {"hello",     "isMaster",  "ismaster",     "_isSelf",
                                                  "authenticate", "buildInfo", "buildinfo", "saslStart",
                                                  "saslContinue"};
  for (auto a : kAllowed) {
    if (a == name) return true;
  }
  return false;
}

// Replies to these are never compressed (§1.3).
bool never_compressed(std::string_view name) {
  static constexpr std::string_view kList[] = {"hello",        "isMaster",   "ismaster",        "saslStart",
                                               "saslContinue", "getnonce",   "authenticate",    "createUser",
                                               "updateUser",   "copydbSaslStart", "copydbgetnonce", "copydb"};
  for (auto a : kList) {
    if (a == name) return true;
  }
  return false;
}

std::string first_key(const bson_t* doc) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_next(&it)) return bson_iter_key(&it);
  return "";
}

int64_t array_length(const bson_t* body, const char* field) {
  bson_iter_t it;
  if (!common::find_field(body, field, &it) || !BSON_ITER_HOLDS_ARRAY(&it)) return 0;
  bson_iter_t child;
  if (!bson_iter_recurse(&it, &child)) return 0;
  int64_t n = 0;
  while (bson_iter_next(&child)) ++n;
  return n;
}

uint32_t raw_flags(const Message& m) {
  if (m.body.size() < 4) return 0;
  uint32_t v;
  std::memcpy(&v, m.body.data(), 4);
  return BSON_UINT32_FROM_LE(v);
}

// Commands of Stable API Version 1 (the server's apiVersions() per command).
bool in_api_v1(std::string_view name) {
  static constexpr std::string_view kV1[] = {
      "abortTransaction", "aggregate",      "authenticate",   "bulkWrite",      "collMod",
      "commitTransaction", "count",         "create",         "createIndexes",  "delete",
      "drop",             "dropDatabase",   "dropIndexes",    "endSessions",    "explain",
      "find",             "findAndModify",  "getMore",        "hello",          "insert",
      "killCursors",      "listCollections", "listDatabases", "listIndexes",    "ping",
      "refreshSessions",  "saslContinue",   "saslStart",      "update"};
  for (auto c : kV1) {
    if (c == name) return true;
  }
  return false;
}

// Stable API parameters (5.0+), as mongod's initializeAPIParameters checks them.
Status check_api_parameters(const CommandRequest& req, const CommandDef& def, int version) {
  if (version < 50) return Status::OK();
  const bson_t* body = req.body.get();
  bson_iter_t it;
  std::optional<std::string> api_version;
  bool strict = false, strict_present = false, deprecation_present = false;
  auto wrong_type = [](const char* field, const bson_iter_t* i, const char* expected) {
    return Status(common::kTypeMismatch, std::string("BSON field 'APIParametersFromClient.") + field +
                                             "' is the wrong type '" + common::type_alias(bson_iter_type(i)) +
                                             "', expected type '" + expected + "'");
  };
  if (common::find_field(body, "apiVersion", &it)) {
    if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type("apiVersion", &it, "string");
    api_version = bson_iter_utf8(&it, nullptr);
  }
  if (common::find_field(body, "apiStrict", &it)) {
    if (!BSON_ITER_HOLDS_BOOL(&it)) return wrong_type("apiStrict", &it, "bool");
    strict = bson_iter_bool(&it);
    strict_present = true;
  }
  if (common::find_field(body, "apiDeprecationErrors", &it)) {
    if (!BSON_ITER_HOLDS_BOOL(&it)) return wrong_type("apiDeprecationErrors", &it, "bool");
    deprecation_present = true;
  }
  if ((strict_present || deprecation_present) && !api_version) {
    return Status(4886600, "Provided apiStrict and/or apiDeprecationErrors without passing apiVersion");
  }
  if (!api_version) return Status::OK();
  if (*api_version != "1") return Status(common::kAPIVersionError, "API version must be \"1\"");
  // isMaster is its own command on mongod (not in V1); other aliases share their command's.
  bool v1 = in_api_v1(req.name) || (in_api_v1(def.name) && req.name != "isMaster" && req.name != "ismaster");
  if (strict && !v1) {
    std::string name = req.name == "ismaster" ? "isMaster" : req.name;
    std::string msg = "Provided apiStrict:true, but the command " + name + " is not in API Version 1";
    if (version >= 60) {
      msg += ". Information on supported commands and migrations in API Version 1 can be found at "
             "https://dochub.mongodb.org/core/manual-versioned-api";
    }
    return Status(common::kAPIStrictError, msg);
  }
  return Status::OK();
}

}  // namespace

int32_t next_request_id() {
  static std::atomic<int32_t> next{1};
  int32_t id = next.fetch_add(1);
  if (id <= 0) {  // wrapped: restart at 1, ids stay positive
    next.store(2);
    id = 1;
  }
  return id;
}

Result<CommandRequest> Dispatcher::request_from_op_msg(const OpMsg& msg) {
  CommandRequest req;
  const bson_t* body = msg.body.get();
  bson_iter_t it;
  if (!common::find_field(body, "$db", &it)) {
    return Status(kOpMsgMissingDb, "OP_MSG requests require a $db argument");
  }
  if (!BSON_ITER_HOLDS_UTF8(&it)) {
    return Status(common::kTypeMismatch, std::string("BSON field '$db' is the wrong type '") +
                                             common::type_alias(bson_iter_type(&it)) + "', expected type 'string'");
  }
  uint32_t len = 0;
  const char* db = bson_iter_utf8(&it, &len);
  req.db.assign(db, len);
  req.name = first_key(body);
  req.unacknowledged = msg.more_to_come();
  if (msg.sequences.empty()) {
    req.body = msg.body;
    return req;
  }
  bson_t merged;
  bson_init(&merged);
  bson_concat(&merged, body);
  for (const auto& seq : msg.sequences) {
    if (common::find_field(body, seq.identifier, &it)) {
      bson_destroy(&merged);
      return Status(40413, "BSON field '" + req.name + "." + seq.identifier + "' is a duplicate field");
    }
    bson_t arr;
    bson_append_array_begin(&merged, seq.identifier.c_str(), static_cast<int>(seq.identifier.size()), &arr);
    char buf[16];
    uint32_t i = 0;
    for (const auto& d : seq.documents) {
      auto key = common::array_key(i++, buf);
      bson_append_document(&arr, key.data(), static_cast<int>(key.size()), d.get());
    }
    bson_append_array_end(&merged, &arr);
  }
  req.body = Bson::steal(&merged);
  return req;
}

Result<CommandRequest> Dispatcher::request_from_op_query(const OpQuery& q, bool legacy_commands_allowed) {
  CommandRequest req;
  auto dot = q.full_collection_name.find('.');
  if (dot == std::string::npos || dot == 0) {
    return Status(common::kInvalidNamespace, "Invalid ns [" + q.full_collection_name + "]");
  }
  req.db = q.full_collection_name.substr(0, dot);
  std::string coll = q.full_collection_name.substr(dot + 1);
  // Drivers may wrap the command as {$query: {...}, $readPreference: ...}.
  const bson_t* cmd = q.query.get();
  bson_t inner;
  bson_iter_t it;
  std::string k = first_key(cmd);
  if ((k == "$query" || k == "query") && bson_iter_init_find(&it, cmd, k.c_str()) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    if (!bson_init_static(&inner, data, len)) return Status(common::kInvalidBSON, "invalid $query document");
    cmd = &inner;
  }
  if (coll != "$cmd") {
    // A legacy query on a collection (OP_QUERY find) is gone since 5.1; mongosim never
    // served it (§1.4).
    return Status(kOpQueryNoLongerSupported,
                  "OP_QUERY is no longer supported. The client driver may require an upgrade. For more details see "
                  "https://dochub.mongodb.org/core/legacy-opcode-removal");
  }
  if (q.number_to_return != 1 && q.number_to_return != -1) {
    return Status(16979, "Bad numberToReturn (" + std::to_string(q.number_to_return) +
                             ") for $cmd type ns - can only be 1 or -1");
  }
  req.name = first_key(cmd);
  if (!legacy_commands_allowed && !allowed_over_op_query(req.name)) {
    return Status(kUnsupportedOpQueryCommand,
                  "Unsupported OP_QUERY command: " + req.name +
                      ". The client driver may require an upgrade. For more details see "
                      "https://dochub.mongodb.org/core/legacy-opcode-removal");
  }
  req.body = Bson(cmd);
  return req;
}

void Dispatcher::gossip_cluster_time(const bson_t* body) {
  if (ctx_.options.standalone) return;
  bson_iter_t it, ct;
  if (!common::find_field(body, "$clusterTime", &it) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return;
  if (!bson_iter_recurse(&it, &ct) || !bson_iter_find(&ct, "clusterTime") || !BSON_ITER_HOLDS_TIMESTAMP(&ct)) return;
  uint32_t t = 0, i = 0;
  bson_iter_timestamp(&ct, &t, &i);
  // Without keyfile auth the signature is not checked (§2.5).
  ctx_.clock.advance_to(Timestamp{t, i});
}

void Dispatcher::append_cluster_time(bson_t* reply) {
  if (ctx_.options.standalone) return;
  Timestamp now = ctx_.clock.now();
  bson_iter_t it;
  if (!common::find_field(reply, "$clusterTime", &it)) {
    bson_t ct, sig;
    bson_append_document_begin(reply, "$clusterTime", -1, &ct);
    bson_append_timestamp(&ct, "clusterTime", -1, now.t, now.i);
    bson_append_document_begin(&ct, "signature", -1, &sig);
    static const uint8_t kZeros[20] = {};
    bson_append_binary(&sig, "hash", -1, BSON_SUBTYPE_BINARY, kZeros, sizeof kZeros);
    bson_append_int64(&sig, "keyId", -1, 0);
    bson_append_document_end(&ct, &sig);
    bson_append_document_end(reply, &ct);
  }
  if (!common::find_field(reply, "operationTime", &it)) {
    bson_append_timestamp(reply, "operationTime", -1, now.t, now.i);
  }
}

void Dispatcher::count_op(const CommandRequest& req) {
  auto& oc = ctx_.opcounters;
  // Like mongod: find/getMore and the write commands feed their own counters (writes per
  // statement); every other command counts as `command`.
  if (req.name == "find") {
    oc.query.fetch_add(1);
  } else if (req.name == "getMore") {
    oc.getmore.fetch_add(1);
  } else if (req.name == "insert") {
    oc.insert.fetch_add(array_length(req.body.get(), "documents"));
  } else if (req.name == "update") {
    oc.update.fetch_add(array_length(req.body.get(), "updates"));
  } else if (req.name == "delete") {
    oc.del.fetch_add(array_length(req.body.get(), "deletes"));
  } else {
    oc.command.fetch_add(1);
  }
}

namespace {

void append_labels(bson_t* r, const std::vector<std::string>& labels) {
  bson_t arr;
  bson_append_array_begin(r, "errorLabels", -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& l : labels) common::append_utf8(&arr, common::array_key(i++, buf), l);
  bson_append_array_end(r, &arr);
}

// Adds `extra` to `labels` unless present; TransientTransactionError excludes
// RetryableWriteError, as on mongod.
void merge_labels(std::vector<std::string>& labels, const std::vector<std::string>& extra) {
  for (const auto& l : extra) {
    if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
  }
  if (std::find(labels.begin(), labels.end(), "TransientTransactionError") != labels.end()) {
    labels.erase(std::remove(labels.begin(), labels.end(), "RetryableWriteError"), labels.end());
    labels.erase(std::remove(labels.begin(), labels.end(), "NoWritesPerformed"), labels.end());
  }
}

}  // namespace

Bson Dispatcher::error_reply(const Status& st, const LabelContext* lc) {
  bson_t extra;
  bool have_extra = false;
  if (!st.extra_info().empty()) {
    const auto* data = reinterpret_cast<const uint8_t*>(st.extra_info().data());
    have_extra = bson_init_static(&extra, data, st.extra_info().size()) && bson_validate(&extra, BSON_VALIDATE_NONE, nullptr);
  }
  bson_iter_t it;
  bson_t r;
  bson_init(&r);
  if (have_extra && common::find_field(&extra, "errorLabels", &it) && BSON_ITER_HOLDS_ARRAY(&it)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_array(&it, &len, &data);
    bson_t arr;
    if (bson_init_static(&arr, data, len) && !bson_empty(&arr)) bson_append_array(&r, "errorLabels", -1, &arr);
  } else {
    std::vector<std::string> labels = st.labels();
    if (lc) merge_labels(labels, server_error_labels(*lc, st.code(), std::nullopt));
    if (!labels.empty()) append_labels(&r, labels);
  }
  // State-change errors tell SDAM which topology they belong to (§4.2).
  if (is_state_change_error(st.code()) && !(have_extra && common::find_field(&extra, "topologyVersion", &it))) {
    bson_t tv;
    bson_append_document_begin(&r, "topologyVersion", -1, &tv);
    bson_append_oid(&tv, "processId", -1, &ctx_.process_id);
    bson_append_int64(&tv, "counter", -1, ctx_.topology_counter.load());
    bson_append_document_end(&r, &tv);
  }
  bson_append_double(&r, "ok", -1, 0.0);
  common::append_utf8(&r, "errmsg", st.message());
  bson_append_int32(&r, "code", -1, st.code());
  common::append_utf8(&r, "codeName", reply_code_name(st.code()));
  if (have_extra && bson_iter_init(&it, &extra)) {
    while (bson_iter_next(&it)) {
      std::string_view key = bson_iter_key(&it);
      if (key == "ok" || key == "errmsg" || key == "code" || key == "codeName" || key == "errorLabels") continue;
      bson_append_iter(&r, bson_iter_key(&it), -1, &it);
    }
  }
  append_cluster_time(&r);
  return Bson::steal(&r);
}

Bson Dispatcher::run_command(ClientInfo& client, const CommandRequest& req) {
  bool close = false;
  return run_command(client, req, &close);
}

namespace {

// An error reply's Status with failCommand's errorLabels in place of the server's, and the
// writeConcernError a fail point attached (mongod adds it to the error reply's extra fields).
Status shaped_error(const Status& st, const CommandFailPoints& fp, const std::optional<Bson>& wce) {
  Status out = st;
  if (wce) {
    bson_t extra = BSON_INITIALIZER;
    if (!st.extra_info().empty()) {
      bson_t old;
      if (bson_init_static(&old, reinterpret_cast<const uint8_t*>(st.extra_info().data()), st.extra_info().size())) {
        bson_concat(&extra, &old);
      }
    }
    bson_concat(&extra, wce->get());
    out = Status(st.code(), st.message());
    for (const auto& l : st.labels()) out.with_label(l);
    out.with_extra_info(std::string(reinterpret_cast<const char*>(bson_get_data(&extra)), extra.len));
    bson_destroy(&extra);
  }
  if (fp.labels_override()) out = with_error_labels(out, fp.labels_override()->get());
  return out;
}

}  // namespace

Bson Dispatcher::run_command(ClientInfo& client, const CommandRequest& req, bool* close) {
  // The body is read field by field many times over and does not change while it runs.
  common::FrozenFieldIndex body_fields(req.body.get());
  count_op(req);
  gossip_cluster_time(req.body.get());
  const CommandDef* def = ctx_.commands.find(req.name);
  if (!def) {
    MS_LOG_DEBUG("conn{}: no such command: '{}' (db {})", client.connection_id, req.name, req.db);
    return error_reply(Status(common::kCommandNotFound, "no such command: '" + req.name + "'"));
  }
  if (Status api = check_api_parameters(req, *def, ctx_.options.version()); !api.ok()) return error_reply(api);
  if (def->admin_only && req.db != "admin") {
    return error_reply(Status(common::kUnauthorized, req.name + " may only be run against the admin database."));
  }
  LabelContext lc = label_context_for(req);
  lc.optime_moved = false;
  // mongod's order: failCommand, authorization, the not-primary check, then the command.
  CommandFailPoints fp(state_, client, req, *def);
  if (Status st = fp.before_auth(close); !st.ok() || *close) {
    if (*close) return Bson();
    return error_reply(shaped_error(st, fp, std::nullopt), &lc);
  }
  std::function<void(bson_t*)> reply_filter;
  if (access_) {
    if (Status st = access_->authorize(client, req, *def, &reply_filter); !st.ok()) {
      return error_reply(shaped_error(st, fp, std::nullopt));
    }
  }
  if (Status st = state_.repl.check_can_run(client, req, *def); !st.ok()) {
    return error_reply(shaped_error(st, fp, std::nullopt), &lc);
  }
  if (def->is_write) {
    if (Status st = state_.repl.wait_for_write_freeze(req); !st.ok()) return error_reply(shaped_error(st, fp, std::nullopt), &lc);
  }
  // currentOp and the debug log never show passwords or SASL payloads.
  std::optional<Bson> redacted = auth::redact_for_logging(req);
  CommandRequest shown_req;
  if (redacted) {
    shown_req = req;
    shown_req.body = *redacted;
  }
  const CommandRequest& shown = redacted ? shown_req : req;
  bson_t reply;
  bson_init(&reply);
  Timestamp optime_before = ctx_.clock.now();
  int64_t opid = state_.begin_op(client, shown);
  Status st;
  try {
    bool replied = false;
    st = fp.before_run(close, &reply, &replied);
    if (st.ok() && !replied && !*close) {
      CommandContext cctx{ctx_, client, req};
      st = def->handler(cctx, &reply);
    }
  } catch (const std::exception& e) {
    st = Status(common::kInternalError, std::string("command ") + req.name + " failed: " + e.what());
  } catch (...) {
    st = Status(common::kInternalError, "command " + req.name + " failed");
  }
  state_.end_op(opid);
  std::optional<Bson> wce = fp.after_run(close);
  if (*close) {
    bson_destroy(&reply);
    return Bson();
  }
  lc.optime_moved = !(ctx_.clock.now() == optime_before);
  lc.shutting_down = ctx_.shutting_down.load();
  if (!st.ok()) {
    bson_destroy(&reply);
    if (spdlog::should_log(spdlog::level::debug)) {
      std::string cmd = shown.body.json();
      if (cmd.size() > 512) cmd.resize(512);
      MS_LOG_DEBUG("conn{}: command {}.{} failed: {}; command: {}", client.connection_id, req.db, req.name, st.to_string(), cmd);
    }
    return error_reply(shaped_error(st, fp, wce), &lc);
  }
  if (wce) bson_concat(&reply, wce->get());
  // A write concern error in an OK reply can still be retryable.
  bson_iter_t it, wce_it;
  if (common::find_field(&reply, "writeConcernError", &it) && !common::find_field(&reply, "errorLabels", &wce_it)) {
    if (fp.labels_override()) {
      if (!bson_empty(fp.labels_override()->get())) bson_append_array(&reply, "errorLabels", -1, fp.labels_override()->get());
    } else if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &wce_it) && bson_iter_find(&wce_it, "code") &&
               BSON_ITER_HOLDS_NUMBER(&wce_it)) {
      auto labels = server_error_labels(lc, std::nullopt, static_cast<int>(bson_iter_as_int64(&wce_it)));
      if (!labels.empty()) append_labels(&reply, labels);
    }
  }
  if (reply_filter) reply_filter(&reply);
  bson_append_double(&reply, "ok", -1, 1.0);
  append_cluster_time(&reply);
  return Bson::steal(&reply);
}

void Dispatcher::delay_reply(std::string_view command) {
  int64_t ms = state_.repl.reply_delay_ms();
  if (ms > 0 && command != "mongosimControl") state_.sleep_for(std::chrono::milliseconds(ms));
}

std::string Dispatcher::maybe_compress(std::string msg, const Message& request, std::string_view command) {
  if (!request.compressor || never_compressed(command)) return msg;
  auto c = encode_compressed(msg, *request.compressor);
  if (!c.ok()) {
    MS_LOG_WARN("cannot compress reply with {}: {}", compressor_name(*request.compressor), c.status().to_string());
    return msg;
  }
  auto id = static_cast<size_t>(*request.compressor);
  state_.compression_bytes[id][0].fetch_add(static_cast<int64_t>(msg.size() - 16));
  state_.compression_bytes[id][1].fetch_add(static_cast<int64_t>(c->size() - 25));
  return std::move(c).value();
}

Dispatcher::Outcome Dispatcher::handle_message(ClientInfo& client, std::string_view bytes) {
  auto decoded = decode_message(bytes);
  if (!decoded.ok()) {
    MS_LOG_WARN("conn{}: closing connection: {}", client.connection_id, decoded.status().to_string());
    return {"", true};
  }
  const Message& m = *decoded;
  const int32_t rid = m.header.request_id;
  if (m.compressor) {
    auto id = static_cast<size_t>(*m.compressor);
    state_.compression_bytes[id][2].fetch_add(static_cast<int64_t>(bytes.size() - 25));
    state_.compression_bytes[id][3].fetch_add(static_cast<int64_t>(m.body.size()));
  }
  switch (m.header.op_code) {
    case kOpMsg: {
      auto parsed = parse_op_msg(m);
      if (!parsed.ok()) {
        const Status& st = parsed.status();
        MS_LOG_WARN("conn{}: bad OP_MSG: {}", client.connection_id, st.to_string());
        // Flag and checksum errors are connection-fatal; an unacknowledged request has no
        // one to report to.
        if (st.code() == kIllegalOpMsgFlag || st.code() == kChecksumMismatch || (raw_flags(m) & kFlagMoreToCome)) {
          return {"", true};
        }
        Bson err = error_reply(st);
        return {maybe_compress(encode_op_msg(err.get(), next_request_id(), rid), m, ""), false};
      }
      auto req = request_from_op_msg(*parsed);
      Bson reply;
      std::string name;
      if (!req.ok()) {
        if (parsed->more_to_come()) return {"", false};
        reply = error_reply(req.status());
      } else {
        name = req->name;
        bool close = false;
        reply = run_command(client, *req, &close);
        if (close) return {"", true};
        if (parsed->more_to_come()) return {"", false};
      }
      delay_reply(name);
      uint32_t flags = parsed->checksum_present() ? kFlagChecksumPresent : 0;
      return {maybe_compress(encode_op_msg(reply.get(), next_request_id(), rid, flags), m, name), false};
    }
    case kOpQuery: {
      auto parsed = parse_op_query(m.body);
      Bson reply;
      std::string name;
      if (!parsed.ok()) {
        MS_LOG_WARN("conn{}: bad OP_QUERY: {}", client.connection_id, parsed.status().to_string());
        reply = error_reply(parsed.status());
      } else {
        auto req = request_from_op_query(*parsed, ctx_.options.version() < 51);
        if (!req.ok() && req.status().code() == kOpQueryNoLongerSupported) {
          // Not a command: answered the legacy way, a QueryFailure with $err.
          bson_t doc;
          bson_init(&doc);
          common::append_utf8(&doc, "$err", req.status().message());
          bson_append_int32(&doc, "code", -1, kOpQueryNoLongerSupported);
          bson_append_double(&doc, "ok", -1, 0.0);
          Bson d = Bson::steal(&doc);
          return {encode_op_reply(d.get(), next_request_id(), rid, 2 /* QueryFailure */), false};
        }
        if (!req.ok()) {
          reply = error_reply(req.status());
        } else {
          name = req->name;
          bool close = false;
          reply = run_command(client, *req, &close);
          if (close) return {"", true};
        }
      }
      delay_reply(name);
      return {maybe_compress(encode_op_reply(reply.get(), next_request_id(), rid), m, name), false};
    }
    case kOpGetMore: {
      // The legacy getMore had a reply, so it gets one: a query failure.
      bson_t doc;
      bson_init(&doc);
      common::append_utf8(&doc, "$err", "OP_GET_MORE is no longer supported. The client driver may require an upgrade.");
      bson_append_int32(&doc, "code", -1, kUnsupportedOpQueryCommand);
      common::append_utf8(&doc, "codeName", reply_code_name(kUnsupportedOpQueryCommand));
      bson_append_double(&doc, "ok", -1, 0.0);
      Bson d = Bson::steal(&doc);
      return {encode_op_reply(d.get(), next_request_id(), rid, 2 /* QueryFailure */), false};
    }
    case kOpInsert:
    case kOpUpdate:
    case kOpDelete:
    case kOpKillCursors:
      // Fire-and-forget legacy writes: removed in 5.1+; logged and dropped (no reply exists).
      MS_LOG_WARN("conn{}: legacy opcode {} is not supported; ignored", client.connection_id, m.header.op_code);
      return {"", false};
    default:
      MS_LOG_WARN("conn{}: unknown opcode {}; closing connection", client.connection_id, m.header.op_code);
      return {"", true};
  }
}

}  // namespace sim::server
