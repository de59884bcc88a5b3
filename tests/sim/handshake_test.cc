// Integration tests against a live mongosim process: libmongoc connects (OP_QUERY first
// handshake, then OP_MSG), compressors are negotiated and used, raw OP_QUERY hello, awaitable
// hello, server versions, standalone mode, connection limits, signals and exit codes.
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "sim/dispatch_harness.h"
#include "sim/raw_wire_client.h"
#include "support/mongosim_process.h"

namespace {

using simtest::int_field;
using simtest::str_field;
using testsupport::MongosimProcess;

struct ClientDeleter {
  void operator()(mongoc_client_t* c) const { mongoc_client_destroy(c); }
};
using ClientPtr = std::unique_ptr<mongoc_client_t, ClientDeleter>;

ClientPtr connect(const std::string& uri) {
  mongoc_init();
  mongoc_client_t* c = mongoc_client_new(uri.c_str());
  if (c) mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
  return ClientPtr(c);
}

// Runs a command; the reply (error replies included) as a Bson.
common::Bson run(mongoc_client_t* c, const char* db, std::string_view json, std::string* error = nullptr) {
  common::Bson cmd = simtest::doc(json);
  bson_t reply;
  bson_error_t err;
  bool ok = mongoc_client_command_simple(c, db, cmd.get(), nullptr, &reply, &err);
  if (!ok && error) *error = err.message;
  return common::Bson::steal(&reply);
}

// Starts mongosim with `args` as `var`, failing the test when it cannot start.
#define START_MONGOSIM(var, ...)                                          \
  auto var##_started = MongosimProcess::start(__VA_ARGS__);               \
  ASSERT_TRUE(var##_started.ok()) << var##_started.status().to_string();  \
  MongosimProcess& var = *var##_started

TEST(Handshake, LibmongocPingAndHelloSeeAReplicaSetPrimary) {
  START_MONGOSIM(p);
  auto c = connect(p.uri());
  ASSERT_TRUE(c);
  std::string err;
  auto ping = run(c.get(), "admin", R"({"ping": 1})", &err);
  ASSERT_EQ(int_field(ping, "ok"), 1) << err;
  auto hello = run(c.get(), "admin", R"({"hello": 1})");
  EXPECT_EQ(str_field(hello, "setName"), "rs0");
  EXPECT_EQ(str_field(hello, "me"), p.host_port());
  EXPECT_EQ(str_field(hello, "primary"), p.host_port());
  EXPECT_TRUE(simtest::has_path(hello, "hosts.0"));
  EXPECT_EQ(int_field(hello, "maxWireVersion"), 21);
  EXPECT_EQ(int_field(hello, "minWireVersion"), 0);
  EXPECT_EQ(int_field(hello, "maxBsonObjectSize"), 16777216);
  EXPECT_EQ(int_field(hello, "maxMessageSizeBytes"), 48000000);
  EXPECT_EQ(int_field(hello, "maxWriteBatchSize"), 100000);
  EXPECT_EQ(int_field(hello, "logicalSessionTimeoutMinutes"), 30);
  EXPECT_TRUE(simtest::has_path(hello, "topologyVersion.processId"));
  EXPECT_TRUE(simtest::has_path(hello, "lastWrite.majorityOpTime.ts"));
  EXPECT_EQ(simtest::field_type(hello, "electionId"), BSON_TYPE_OID);
  EXPECT_EQ(simtest::field_type(hello, "localTime"), BSON_TYPE_DATE_TIME);
  EXPECT_GE(int_field(hello, "connectionId"), 1);
  EXPECT_TRUE(simtest::has_field(hello, "$clusterTime"));
}

class HandshakeCompression : public ::testing::TestWithParam<const char*> {};

TEST_P(HandshakeCompression, NegotiatedCompressorIsUsedBothWays) {
  START_MONGOSIM(p);
  auto c = connect(p.uri() + "&compressors=" + GetParam());
  ASSERT_TRUE(c);
  std::string err;
  ASSERT_EQ(int_field(run(c.get(), "admin", R"({"ping": 1})", &err), "ok"), 1) << err;
  // The handshake reply lists the negotiated compressor.
  bson_error_t berr;
  mongoc_server_description_t* sd = mongoc_client_select_server(c.get(), true, nullptr, &berr);
  ASSERT_NE(sd, nullptr) << berr.message;
  mongoc_server_description_t* hd =
      mongoc_client_get_handshake_description(c.get(), mongoc_server_description_id(sd), nullptr, &berr);
  ASSERT_NE(hd, nullptr) << berr.message;
  common::Bson hs(mongoc_server_description_hello_response(hd));
  mongoc_server_description_destroy(hd);
  mongoc_server_description_destroy(sd);
  EXPECT_TRUE(simtest::has_path(hs, "compression.0")) << hs.json();
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, hs.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "compression.0", &v));
  EXPECT_STREQ(bson_iter_utf8(&v, nullptr), GetParam());
  // Commands after the handshake travel compressed, in both directions.
  auto status = run(c.get(), "admin", R"({"serverStatus": 1})", &err);
  ASSERT_EQ(int_field(status, "ok"), 1) << err;
  std::string base = std::string("network.compression.") + GetParam();
  for (const char* side : {".decompressor.bytesIn", ".compressor.bytesOut"}) {
    bson_iter_t sit, val;
    ASSERT_TRUE(bson_iter_init(&sit, status.get()));
    ASSERT_TRUE(bson_iter_find_descendant(&sit, (base + side).c_str(), &val)) << base + side;
    EXPECT_GT(bson_iter_as_int64(&val), 0) << base + side;
  }
}

INSTANTIATE_TEST_SUITE_P(EachCompressor, HandshakeCompression, ::testing::Values("snappy", "zlib", "zstd"));

TEST(Handshake, RawOpQueryIsMasterGetsOpReplyThenOpMsgWorks) {
  START_MONGOSIM(p);
  simtest::RawConnection conn;
  ASSERT_TRUE(conn.connect(p.host_port()));
  auto q = simtest::doc(R"({"isMaster": 1, "helloOk": true, "compression": ["zstd", "lz4", "snappy"],
                            "client": {"driver": {"name": "raw", "version": "1"}}})");
  ASSERT_TRUE(conn.send(sim::server::encode_op_query(q.get(), "admin.$cmd", 5)));
  std::string reply = conn.recv_message();
  auto m = sim::server::decode_message(reply);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.op_code, sim::server::kOpReply);
  EXPECT_EQ(m->header.response_to, 5);
  auto body = sim::server::parse_op_reply_document(m->body);
  ASSERT_TRUE(body.ok());
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, body->get(), "ismaster"));
  EXPECT_TRUE(bson_iter_as_bool(&it));
  EXPECT_TRUE(simtest::has_field(*body, "helloOk"));
  // The server answers with the client's supported compressors, in the client's order.
  bson_iter_t c0, c1, c2;
  ASSERT_TRUE(bson_iter_init(&it, body->get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "compression.0", &c0));
  EXPECT_STREQ(bson_iter_utf8(&c0, nullptr), "zstd");
  ASSERT_TRUE(bson_iter_init(&it, body->get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "compression.1", &c1));
  EXPECT_STREQ(bson_iter_utf8(&c1, nullptr), "snappy");
  ASSERT_TRUE(bson_iter_init(&it, body->get()));
  EXPECT_FALSE(bson_iter_find_descendant(&it, "compression.2", &c2));
  auto ping = conn.command(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(int_field(ping, "ok"), 1);
}

TEST(Handshake, AwaitableHelloWaitsForMaxAwaitTimeMS) {
  START_MONGOSIM(p);
  simtest::RawConnection conn;
  ASSERT_TRUE(conn.connect(p.host_port()));
  auto first = conn.command(R"({"hello": 1, "$db": "admin"})");
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, first.get(), "topologyVersion"));
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&it, &len, &data);
  common::Bson tv = sim::server::bson_copy_of(data, len);
  std::string awaitable = R"({"hello": 1, "$db": "admin", "maxAwaitTimeMS": 600, "topologyVersion": )" +
                          tv.canonical_json() + "}";
  auto t0 = std::chrono::steady_clock::now();
  auto r = conn.command(awaitable, 5000);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(int_field(r, "ok"), 1);
  EXPECT_GE(waited, 550);
  // A different processId (a restarted server) is answered at once.
  std::string other = R"({"hello": 1, "$db": "admin", "maxAwaitTimeMS": 5000,
      "topologyVersion": {"processId": {"$oid": "000000000000000000000001"}, "counter": {"$numberLong": "0"}}})";
  t0 = std::chrono::steady_clock::now();
  r = conn.command(other, 5000);
  waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(int_field(r, "ok"), 1);
  EXPECT_LT(waited, 1000);
}

TEST(Handshake, AwaitingHelloDoesNotBlockOtherClients) {
  START_MONGOSIM(p);
  simtest::RawConnection waiter, other;
  ASSERT_TRUE(waiter.connect(p.host_port()));
  ASSERT_TRUE(other.connect(p.host_port()));
  auto first = waiter.command(R"({"hello": 1, "$db": "admin"})");
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, first.get(), "topologyVersion"));
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&it, &len, &data);
  common::Bson tv = sim::server::bson_copy_of(data, len);
  ASSERT_TRUE(waiter.send(simtest::op_msg(
      R"({"hello": 1, "$db": "admin", "maxAwaitTimeMS": 3000, "topologyVersion": )" + tv.canonical_json() + "}")));
  // A stalled half-message on a third connection must not block anyone either.
  simtest::RawConnection stalled;
  ASSERT_TRUE(stalled.connect(p.host_port()));
  ASSERT_TRUE(stalled.send(std::string("\x40\x00\x00\x00\x01", 5)));
  auto t0 = std::chrono::steady_clock::now();
  auto ping = other.command(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(int_field(ping, "ok"), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(Handshake, ServerVersionSetsWireVersionAndBuildInfo) {
  for (auto [version, wire] : {std::pair{"4.4", 9}, std::pair{"8.0", 25}}) {
    START_MONGOSIM(p, std::vector<std::string>{"--server-version", version});
    simtest::RawConnection conn;
    ASSERT_TRUE(conn.connect(p.host_port()));
    auto hello = conn.command(R"({"hello": 1, "$db": "admin"})");
    EXPECT_EQ(int_field(hello, "maxWireVersion"), wire);
    auto bi = conn.command(R"({"buildInfo": 1, "$db": "admin"})");
    EXPECT_EQ(str_field(bi, "version").rfind(version, 0), 0u) << str_field(bi, "version");
  }
}

TEST(Handshake, StandaloneAnswersWithoutReplicaSetFields) {
  START_MONGOSIM(p, std::vector<std::string>{"--standalone"});
  auto c = connect(p.uri());
  ASSERT_TRUE(c);
  std::string err;
  auto hello = run(c.get(), "admin", R"({"hello": 1})", &err);
  ASSERT_EQ(int_field(hello, "ok"), 1) << err;
  EXPECT_FALSE(simtest::has_field(hello, "setName"));
  EXPECT_FALSE(simtest::has_field(hello, "hosts"));
  EXPECT_FALSE(simtest::has_field(hello, "$clusterTime"));
  EXPECT_FALSE(simtest::has_field(hello, "operationTime"));
  auto rs = run(c.get(), "admin", R"({"replSetGetStatus": 1})");
  EXPECT_EQ(int_field(rs, "code"), 76);
  EXPECT_EQ(str_field(rs, "errmsg"), "not running with --replSet");
}

TEST(Handshake, ConnectionIdsIncreaseFromOne) {
  START_MONGOSIM(p);
  simtest::RawConnection a, b;
  ASSERT_TRUE(a.connect(p.host_port()));
  auto ha = a.command(R"({"hello": 1, "$db": "admin"})");
  ASSERT_TRUE(b.connect(p.host_port()));
  auto hb = b.command(R"({"hello": 1, "$db": "admin"})");
  EXPECT_EQ(int_field(ha, "connectionId"), 1);
  EXPECT_EQ(int_field(hb, "connectionId"), 2);
}

TEST(Handshake, ManyConcurrentClientsAreServed) {
  START_MONGOSIM(p);
  constexpr int kClients = 100, kPings = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&] {
      simtest::RawConnection conn;
      if (!conn.connect(p.host_port())) return;
      for (int i = 0; i < kPings; ++i) {
        if (int_field(conn.command(R"({"ping": 1, "$db": "admin"})"), "ok") == 1) ok.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kClients * kPings);
  simtest::RawConnection check;
  ASSERT_TRUE(check.connect(p.host_port()));
  auto status = check.command(R"({"serverStatus": 1, "$db": "admin"})");
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, status.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "connections.totalCreated", &v));
  EXPECT_EQ(bson_iter_as_int64(&v), kClients + 1);
}

TEST(Handshake, ConnectionsBeyondMaxConnectionsAreClosed) {
  START_MONGOSIM(p, std::vector<std::string>{"--max-connections", "2"});
  simtest::RawConnection a, b, c;
  ASSERT_TRUE(a.connect(p.host_port()));
  ASSERT_TRUE(b.connect(p.host_port()));
  EXPECT_EQ(int_field(a.command(R"({"ping": 1, "$db": "admin"})"), "ok"), 1);
  EXPECT_EQ(int_field(b.command(R"({"ping": 1, "$db": "admin"})"), "ok"), 1);
  ASSERT_TRUE(c.connect(p.host_port()));
  EXPECT_TRUE(c.wait_closed(3000));
}

TEST(Handshake, UnacknowledgedInsertGetsNoReplyAndIsApplied) {
  START_MONGOSIM(p);
  simtest::RawConnection conn;
  ASSERT_TRUE(conn.connect(p.host_port()));
  auto cmds = conn.command(R"({"listCommands": 1, "$db": "admin"})");
  if (!simtest::has_path(cmds, "commands.insert") || !simtest::has_path(cmds, "commands.count")) {
    GTEST_SKIP() << "the engine does not serve insert/count yet";
  }
  ASSERT_TRUE(conn.send(simtest::op_msg(R"({"insert": "w0", "documents": [{"_id": 1}, {"_id": 2}], "$db": "test",
                                           "writeConcern": {"w": 0}})",
                                        sim::server::kFlagMoreToCome, 900)));
  // The next reply on the connection answers the count, not the insert.
  auto count = conn.command(R"({"count": "w0", "$db": "test"})");
  EXPECT_EQ(int_field(count, "ok"), 1);
  EXPECT_EQ(int_field(count, "n"), 2);
}

TEST(Handshake, StableApiClientHandshakesOverOpMsgAndIsStrict) {
  START_MONGOSIM(p);
  auto c = connect(p.uri());
  ASSERT_TRUE(c);
  mongoc_server_api_t* api = mongoc_server_api_new(MONGOC_SERVER_API_V1);
  mongoc_server_api_strict(api, true);
  bson_error_t berr;
  ASSERT_TRUE(mongoc_client_set_server_api(c.get(), api, &berr)) << berr.message;
  mongoc_server_api_destroy(api);
  std::string err;
  EXPECT_EQ(int_field(run(c.get(), "admin", R"({"ping": 1})", &err), "ok"), 1) << err;
  auto bi = run(c.get(), "admin", R"({"buildInfo": 1})", &err);
  EXPECT_EQ(int_field(bi, "code"), 323) << bi.json();
}

TEST(Handshake, SigtermExitsZero) {
  START_MONGOSIM(p);
  EXPECT_EQ(p.stop(), 0);
}

TEST(Handshake, SigtermEndsOpenAndWaitingConnectionsPromptly) {
  START_MONGOSIM(p);
  simtest::RawConnection idle, waiting;
  ASSERT_TRUE(idle.connect(p.host_port()));
  ASSERT_TRUE(waiting.connect(p.host_port()));
  auto first = waiting.command(R"({"hello": 1, "$db": "admin"})");
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, first.get(), "topologyVersion"));
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&it, &len, &data);
  common::Bson tv = sim::server::bson_copy_of(data, len);
  ASSERT_TRUE(waiting.send(simtest::op_msg(
      R"({"hello": 1, "$db": "admin", "maxAwaitTimeMS": 60000, "topologyVersion": )" + tv.canonical_json() + "}")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(p.stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_TRUE(idle.wait_closed(1000));
}

TEST(Handshake, PooledClientMonitorsWithoutBusyLooping) {
  START_MONGOSIM(p);
  mongoc_init();
  mongoc_uri_t* uri = mongoc_uri_new((p.uri() + "&heartbeatFrequencyMS=500").c_str());
  ASSERT_NE(uri, nullptr);
  mongoc_client_pool_t* pool = mongoc_client_pool_new(uri);
  mongoc_uri_destroy(uri);
  ASSERT_NE(pool, nullptr);
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  mongoc_client_t* c = mongoc_client_pool_pop(pool);
  std::string err;
  EXPECT_EQ(int_field(run(c, "admin", R"({"ping": 1})", &err), "ok"), 1) << err;
  auto before = run(c, "admin", R"({"serverStatus": 1})");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto after = run(c, "admin", R"({"serverStatus": 1})");
  auto commands = [](const common::Bson& d) {
    bson_iter_t it, v;
    if (!bson_iter_init(&it, d.get()) || !bson_iter_find_descendant(&it, "opcounters.command", &v)) return int64_t{-1};
    return bson_iter_as_int64(&v);
  };
  int64_t delta = commands(after) - commands(before);
  EXPECT_GE(delta, 1);
  // Streaming monitors wait in awaitable hello; polling at 500 ms would be a handful.
  EXPECT_LT(delta, 40) << "monitoring hellos are answered in a busy loop";
  EXPECT_EQ(int_field(run(c, "admin", R"({"ping": 1})", &err), "ok"), 1) << err;
  mongoc_client_pool_push(pool, c);
  mongoc_client_pool_destroy(pool);
}

TEST(Handshake, BadFlagExitsTwoNamingTheFlag) {
  std::string cmd = testsupport::mongosim_binary() + " --no-such-flag 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  int status = pclose(f);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(out.find("--no-such-flag"), std::string::npos) << out;
}

}  // namespace
