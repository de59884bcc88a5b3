// Faults seen by real clients, against a mongosim process started with
// --enable-test-commands: libmongoc retrying a write after a RetryableWriteError, a closed
// connection seen as a network error, blockConnection delaying, pymongo living through a
// step-down (NotWritablePrimary with topologyVersion, then its retry after the election),
// a tailing oplog cursor losing its position (136), dropped connections, dbStats filesystem
// sizes, and mongosh's rs.status() / db.getReplicationInfo() / rs.printReplicationInfo().
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/bson.h"
#include "support/mongosim_process.h"

namespace {

using common::Bson;
using testsupport::MongosimProcess;

struct Reply {
  bool ok = false;
  uint32_t domain = 0;
  uint32_t code = 0;
  std::string message;
  Bson doc;
};

Bson json(const std::string& j) {
  auto r = Bson::from_json(j);
  EXPECT_TRUE(r.ok()) << j;
  return r.ok() ? std::move(r).value() : Bson();
}

class Client {
 public:
  explicit Client(const std::string& uri) {
    bson_error_t error;
    mongoc_uri_t* u = mongoc_uri_new_with_error(uri.c_str(), &error);
    EXPECT_NE(u, nullptr) << error.message;
    client_ = mongoc_client_new_from_uri(u);
    mongoc_uri_destroy(u);
  }
  ~Client() { mongoc_client_destroy(client_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Reply command(const char* db, const std::string& cmd_json) {
    Reply out;
    Bson cmd = json(cmd_json);
    bson_t reply;
    bson_error_t error;
    out.ok = mongoc_client_command_simple(client_, db, cmd.get(), nullptr, &reply, &error);
    if (!out.ok) {
      out.domain = error.domain;
      out.code = error.code;
      out.message = error.message;
    }
    out.doc = Bson(&reply);
    bson_destroy(&reply);
    return out;
  }
  mongoc_client_t* get() { return client_; }

 private:
  mongoc_client_t* client_ = nullptr;
};

int64_t int_at(const Bson& d, const char* path) {
  bson_iter_t it, f;
  if (!bson_iter_init(&it, d.get()) || !bson_iter_find_descendant(&it, path, &f) || !BSON_ITER_HOLDS_NUMBER(&f)) return -999;
  return bson_iter_as_int64(&f);
}

std::string run_process(const std::string& cmd, int* rc) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return "";
  }
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  *rc = pclose(p);
  return out;
}

class FaultsEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mongoc_init(); }
  void SetUp() override {
    auto p = MongosimProcess::start({"--enable-test-commands"});
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    server = std::make_unique<MongosimProcess>(std::move(p).value());
    control = std::make_unique<Client>(direct_uri());
  }
  std::string direct_uri(const std::string& extra = "") const {
    return "mongodb://" + server->host_port() + "/?directConnection=true&serverSelectionTimeoutMS=10000" + extra;
  }
  std::string set_uri(const std::string& extra = "") const {
    return "mongodb://" + server->host_port() + "/?replicaSet=rs0&serverSelectionTimeoutMS=15000" + extra;
  }
  Reply fail_point(const std::string& spec) { return control->command("admin", spec); }

  std::unique_ptr<MongosimProcess> server;
  std::unique_ptr<Client> control;
};

TEST_F(FaultsEndToEnd, LibmongocRetriesAWriteAfterRetryableWriteError) {
  ASSERT_TRUE(fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                             "data": {"failCommands": ["insert"], "errorCode": 91}})")
                  .ok);
  Client c(set_uri("&retryWrites=true"));
  mongoc_collection_t* coll = mongoc_client_get_collection(c.get(), "test", "c");
  bson_error_t error;
  Bson doc = json(R"({"_id": 1})");
  EXPECT_TRUE(mongoc_collection_insert_one(coll, doc.get(), nullptr, nullptr, &error)) << error.message;
  mongoc_collection_destroy(coll);
  // It failed once (the fail point was entered once) and the retry wrote the document.
  Reply off = fail_point(R"({"configureFailPoint": "failCommand", "mode": "off"})");
  EXPECT_EQ(int_at(off.doc, "count"), 1);
  Reply n = c.command("test", R"({"count": "c"})");
  EXPECT_EQ(int_at(n.doc, "n"), 1);
}

TEST_F(FaultsEndToEnd, ClosedConnectionIsANetworkErrorAndBlockDelays) {
  ASSERT_TRUE(fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                             "data": {"failCommands": ["ping"], "closeConnection": true}})")
                  .ok);
  Client c(direct_uri("&retryReads=false"));
  Reply r = c.command("admin", R"({"ping": 1})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.domain, static_cast<uint32_t>(MONGOC_ERROR_STREAM)) << r.message;
  EXPECT_TRUE(c.command("admin", R"({"ping": 1})").ok);  // a new connection works

  ASSERT_TRUE(fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                             "data": {"failCommands": ["ping"], "blockConnection": true, "blockTimeMS": 300}})")
                  .ok);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.command("admin", R"({"ping": 1})").ok);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(FaultsEndToEnd, DroppedConnectionsAndFilesystemSizes) {
  Client c(direct_uri("&retryReads=false"));
  ASSERT_TRUE(c.command("admin", R"({"ping": 1})").ok);
  Reply d = control->command("admin", R"({"mongosimControl": "dropConnections"})");
  ASSERT_TRUE(d.ok) << d.message;
  EXPECT_GE(int_at(d.doc, "closed"), 1);
  Reply r = c.command("admin", R"({"ping": 1})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.domain, static_cast<uint32_t>(MONGOC_ERROR_STREAM)) << r.message;
  EXPECT_TRUE(c.command("admin", R"({"ping": 1})").ok);

  ASSERT_TRUE(control->command("admin", R"({"mongosimControl": "setFsSize", "totalBytes": 5000000000, "usedBytes": 4999000000})").ok);
  Reply stats = c.command("test", R"({"dbStats": 1})");
  EXPECT_EQ(int_at(stats.doc, "fsTotalSize"), 5000000000);
  EXPECT_EQ(int_at(stats.doc, "fsUsedSize"), 4999000000);
}

TEST_F(FaultsEndToEnd, TruncatedOplogFailsATailingCursorWithCappedPositionLost) {
  Client c(direct_uri());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.command("test", R"({"insert": "c", "documents": [{"x": 1}]})").ok);
  mongoc_collection_t* oplog = mongoc_client_get_collection(c.get(), "local", "oplog.rs");
  Bson filter = json("{}");
  Bson opts = json(R"({"tailable": true, "awaitData": true, "batchSize": 1, "maxAwaitTimeMS": 100})");
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(oplog, filter.get(), opts.get(), nullptr);
  const bson_t* doc = nullptr;
  ASSERT_TRUE(mongoc_cursor_next(cur, &doc));
  Reply last = c.command("local", R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1})");
  bson_iter_t it, ts;
  ASSERT_TRUE(bson_iter_init(&it, last.doc.get()) && bson_iter_find_descendant(&it, "cursor.firstBatch.0.ts", &ts));
  uint32_t t = 0, i = 0;
  bson_iter_timestamp(&ts, &t, &i);
  Reply tr = control->command("admin", R"({"mongosimControl": "truncateOplog", "before": {"$timestamp": {"t": )" +
                                           std::to_string(t) + R"(, "i": )" + std::to_string(i) + "}}}");
  ASSERT_TRUE(tr.ok) << tr.message;
  while (mongoc_cursor_next(cur, &doc)) {
  }
  bson_error_t error;
  EXPECT_TRUE(mongoc_cursor_error(cur, &error));
  EXPECT_EQ(error.code, 136u) << error.message;
  mongoc_cursor_destroy(cur);
  mongoc_collection_destroy(oplog);
}

TEST_F(FaultsEndToEnd, PymongoLivesThroughAStepDown) {
  std::string script = R"(
import sys, time, pymongo
from pymongo.errors import PyMongoError
host = sys.argv[1]
direct = pymongo.MongoClient(host, directConnection=True, retryWrites=False, serverSelectionTimeoutMS=10000)
ctl = pymongo.MongoClient(host, directConnection=True, serverSelectionTimeoutMS=10000)
rs = pymongo.MongoClient("mongodb://%s/?replicaSet=rs0" % host, serverSelectionTimeoutMS=20000)
rs.test.c.insert_one({"_id": 0})
direct.admin.command("ping")
# The server's own command: connections stay open, writes answer NotWritablePrimary.
ctl.admin.command("replSetStepDown", 2, force=True)
try:
    direct.test.c.insert_one({"_id": 1})
    print("direct: inserted")
except PyMongoError as e:
    d = getattr(e, "details", None) or {}
    print("direct:", d.get("code"), "topologyVersion" in d)
time.sleep(3)
# The control command closes every connection too; the driver retries after the election.
ctl.admin.command({"mongosimControl": "stepDown", "secs": 2})
t0 = time.time()
rs.test.c.insert_one({"_id": 2})
print("retried after %.1f" % (time.time() - t0))
print("count", rs.test.c.count_documents({}))
print("primary", rs.admin.command("isMaster")["ismaster"])
)";
  std::string path = testsupport::make_temp_dir("faults-py") + "/stepdown.py";
  std::ofstream(path) << script;
  int rc = 0;
  std::string out = run_process("/usr/bin/python3 " + path + " " + server->host_port() + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("direct: 10107 True"), std::string::npos) << out;
  EXPECT_NE(out.find("count 2"), std::string::npos) << out;
  EXPECT_NE(out.find("primary True"), std::string::npos) << out;
  auto pos = out.find("retried after ");
  ASSERT_NE(pos, std::string::npos) << out;
  EXPECT_GE(std::atof(out.c_str() + pos + 14), 1.0) << out;  // it waited for the new primary
}

std::string mongosh_path() {
  if (const char* e = std::getenv("MONGOSH"); e && *e) return e;
  return (std::filesystem::path(MONGOSHIFT_SOURCE_DIR) / ".tools/node_modules/.bin/mongosh")
      .string();
}

TEST_F(FaultsEndToEnd, MongoshReplicationHelpers) {
  std::string mongosh = mongosh_path();
  if (!std::filesystem::exists(mongosh)) GTEST_SKIP() << "mongosh is not installed at " << mongosh << " (scripts/setup.sh)";
  Client c(direct_uri());
  ASSERT_TRUE(c.command("test", R"({"insert": "c", "documents": [{"x": 1}]})").ok);
  auto shell = [&](const std::string& eval, int* rc) {
    return run_process(mongosh + " --quiet --norc '" + direct_uri() + "' --eval \"" + eval + "\" 2>&1", rc);
  };
  int rc = 0;
  std::string out = shell("const s = rs.status(); print('STATE=' + s.members[0].stateStr + ' OK=' + s.ok + ' TERM=' + s.term +"
                          "' OPTIME=' + (s.members[0].optime.ts.t > 0))",
                          &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("STATE=PRIMARY OK=1 TERM=1 OPTIME=true"), std::string::npos) << out;

  // db.getReplicationInfo() reads the oplog's maxSize through $collStats and its first and
  // last entries through find; rs.printReplicationInfo() prints them (only as the last
  // expression of an --eval, so it runs on its own).
  out = shell("const i = db.getReplicationInfo();"
              "print('LOG=' + (i.logSizeMB > 0) + ' USED=' + (i.usedMB >= 0) + ' DIFF=' + (typeof i.timeDiff) +"
              "' FIRST=' + (typeof i.tFirst))",
              &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("LOG=true USED=true DIFF=number FIRST=string"), std::string::npos) << out;
  out = shell("rs.printReplicationInfo()", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("configured oplog size"), std::string::npos) << out;
  EXPECT_NE(out.find("log length start to end"), std::string::npos) << out;
}

}  // namespace
