// Tests of the handshake and server-information commands (sim/server/admin_commands.h),
// run in process through the dispatcher: the fields a real primary returns, version and
// standalone differences, and their error replies.
#include "sim/server/admin_commands.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "sim/dispatch_harness.h"

namespace {

using simtest::DispatchHarness;
using simtest::field_type;
using simtest::has_field;
using simtest::has_path;
using simtest::int_field;
using simtest::str_field;

bool bool_field(const common::Bson& d, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, d.get(), key) && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
}

TEST(AdminHello, ReplicaSetPrimaryHasEveryField) {
  DispatchHarness h;
  auto r = h.command(R"({"hello": 1, "helloOk": true, "$db": "admin"})");
  for (const char* f : {"topologyVersion", "hosts", "setName", "setVersion", "isWritablePrimary", "secondary", "primary",
                        "me", "electionId", "lastWrite", "maxBsonObjectSize", "maxMessageSizeBytes", "maxWriteBatchSize",
                        "localTime", "logicalSessionTimeoutMinutes", "connectionId", "minWireVersion", "maxWireVersion",
                        "readOnly", "helloOk", "ok", "$clusterTime", "operationTime"}) {
    EXPECT_TRUE(has_field(r, f)) << f;
  }
  EXPECT_TRUE(bool_field(r, "isWritablePrimary"));
  EXPECT_FALSE(bool_field(r, "secondary"));
  EXPECT_FALSE(has_field(r, "ismaster"));
  EXPECT_FALSE(has_field(r, "saslSupportedMechs"));
  EXPECT_FALSE(has_field(r, "compression"));
  EXPECT_EQ(field_type(r, "topologyVersion"), BSON_TYPE_DOCUMENT);
  EXPECT_TRUE(has_path(r, "lastWrite.opTime.t"));
  EXPECT_TRUE(has_path(r, "lastWrite.lastWriteDate"));
  EXPECT_TRUE(has_path(r, "lastWrite.majorityWriteDate"));
  bson_iter_t it, c;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "topologyVersion.counter", &c));
  EXPECT_EQ(bson_iter_type(&c), BSON_TYPE_INT64);
  // electionId = 7fffffff + term (1) big-endian.
  ASSERT_TRUE(bson_iter_init_find(&it, r.get(), "electionId"));
  char hex[25];
  bson_oid_to_string(bson_iter_oid(&it), hex);
  EXPECT_STREQ(hex, "7fffffff0000000000000001");
}

TEST(AdminHello, IsMasterUsesTheLegacyFieldName) {
  DispatchHarness h;
  for (const char* name : {"isMaster", "ismaster"}) {
    auto r = h.command(std::string(R"({")") + name + R"(": 1, "$db": "admin"})");
    EXPECT_TRUE(bool_field(r, "ismaster")) << name;
    EXPECT_FALSE(has_field(r, "isWritablePrimary")) << name;
    EXPECT_FALSE(has_field(r, "helloOk")) << name;
  }
}

TEST(AdminHello, StandaloneHasNoReplicaSetFields) {
  DispatchHarness h(simtest::options_with(true));
  auto r = h.command(R"({"hello": 1, "$db": "admin"})");
  EXPECT_TRUE(bool_field(r, "isWritablePrimary"));
  EXPECT_TRUE(has_field(r, "topologyVersion"));
  for (const char* f : {"hosts", "setName", "setVersion", "primary", "me", "electionId", "lastWrite", "secondary"}) {
    EXPECT_FALSE(has_field(r, f)) << f;
  }
}

TEST(AdminHello, CompressionIsTheSupportedSubsetInClientOrder) {
  DispatchHarness h;
  auto r = h.command(R"({"hello": 1, "compression": ["zlib", "lz4", "noop", "snappy"], "$db": "admin"})");
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "compression.0", &v));
  EXPECT_STREQ(bson_iter_utf8(&v, nullptr), "zlib");
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "compression.1", &v));
  EXPECT_STREQ(bson_iter_utf8(&v, nullptr), "snappy");
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  EXPECT_FALSE(bson_iter_find_descendant(&it, "compression.2", &v));
  EXPECT_EQ(h.client.compressors, (std::vector<std::string>{"zlib", "snappy"}));
}

TEST(AdminHello, HelloOkComesFirstAndMustBeABool) {
  DispatchHarness h;
  auto r = h.command(R"({"isMaster": 1, "helloOk": true, "$db": "admin"})");
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_next(&it));
  EXPECT_STREQ(bson_iter_key(&it), "helloOk");
  EXPECT_EQ(int_field(h.command(R"({"hello": 1, "helloOk": 1, "$db": "admin"})"), "code"), common::kTypeMismatch);
}

TEST(AdminHello, LaterHelloReportsTheNegotiatedCompressors) {
  DispatchHarness h;
  h.command(R"({"hello": 1, "compression": ["zstd"], "$db": "admin"})");
  auto later = h.command(R"({"hello": 1, "$db": "admin"})");
  EXPECT_TRUE(has_path(later, "compression.0"));
  // An empty list renegotiates to nothing.
  auto none = h.command(R"({"hello": 1, "compression": [], "$db": "admin"})");
  EXPECT_FALSE(has_field(none, "compression"));
  EXPECT_TRUE(h.client.compressors.empty());
}

TEST(AdminHello, ClientMetadataIsAcceptedOnlyOnce) {
  DispatchHarness h;
  auto first = h.command(R"({"hello": 1, "client": {"application": {"name": "app1"}, "driver": {"name": "d", "version": "1"}}, "$db": "admin"})");
  EXPECT_EQ(int_field(first, "ok"), 1);
  EXPECT_EQ(h.client.app_name, "app1");
  auto second = h.command(R"({"hello": 1, "client": {"driver": {"name": "d", "version": "1"}}, "$db": "admin"})");
  EXPECT_EQ(int_field(second, "code"), 186);
  EXPECT_EQ(str_field(second, "codeName"), "ClientMetadataCannotBeMutated");
  // Plain hellos keep working.
  EXPECT_EQ(int_field(h.command(R"({"hello": 1, "$db": "admin"})"), "ok"), 1);
}

TEST(AdminHello, OversizedClientMetadataIsRejected) {
  DispatchHarness h;
  std::string big(600, 'x');
  auto r = h.command(R"({"hello": 1, "client": {"driver": {"name": ")" + big + R"(", "version": "1"}}, "$db": "admin"})");
  EXPECT_EQ(int_field(r, "code"), 185);
}

TEST(AdminHello, AwaitableHelloNeedsBothFieldsAndAValidCounter) {
  DispatchHarness h;
  EXPECT_EQ(int_field(h.command(R"({"hello": 1, "maxAwaitTimeMS": 10, "$db": "admin"})"), "ok"), 0);
  char pid[25];
  bson_oid_to_string(&h.ctx.process_id, pid);
  auto ahead = h.command(std::string(R"({"hello": 1, "maxAwaitTimeMS": 10, "topologyVersion": {"processId": {"$oid": ")") +
                         pid + R"("}, "counter": {"$numberLong": "5"}}, "$db": "admin"})");
  EXPECT_EQ(int_field(ahead, "code"), 31382);
}

TEST(AdminHello, AwaitableHelloReturnsWhenTheTopologyChanges) {
  DispatchHarness h;
  char pid[25];
  bson_oid_to_string(&h.ctx.process_id, pid);
  std::thread bump([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    h.state.topology_changed();
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = h.command(std::string(R"({"hello": 1, "maxAwaitTimeMS": 10000, "topologyVersion": {"processId": {"$oid": ")") +
                     pid + R"("}, "counter": {"$numberLong": "0"}}, "$db": "admin"})");
  auto waited = std::chrono::steady_clock::now() - t0;
  bump.join();
  EXPECT_EQ(int_field(r, "ok"), 1);
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  bson_iter_t it, c;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "topologyVersion.counter", &c));
  EXPECT_EQ(bson_iter_as_int64(&c), 1);
}

TEST(AdminBuildInfo, ReportsTheEmulatedVersion) {
  DispatchHarness h(simtest::options_with(false, "6.0"));
  auto r = h.command(R"({"buildinfo": 1, "$db": "test"})");
  EXPECT_EQ(str_field(r, "version").rfind("6.0.", 0), 0u);
  EXPECT_EQ(str_field(r, "gitVersion").size(), 40u);
  for (const char* f : {"modules", "allocator", "javascriptEngine", "sysInfo", "versionArray", "openssl",
                        "buildEnvironment", "bits", "debug", "maxBsonObjectSize", "storageEngines"}) {
    EXPECT_TRUE(has_field(r, f)) << f;
  }
  EXPECT_TRUE(has_path(r, "versionArray.3"));
  EXPECT_EQ(int_field(r, "bits"), 64);
}

TEST(AdminServerStatus, HasTheSectionsToolsRead) {
  DispatchHarness h;
  h.command(R"({"ping": 1, "$db": "admin"})");
  auto r = h.command(R"({"serverStatus": 1, "$db": "admin"})");
  for (const char* f : {"host", "version", "process", "pid", "uptime", "uptimeMillis", "uptimeEstimate", "localTime",
                        "asserts", "connections", "mem", "network", "opcounters", "opcountersRepl", "repl", "storageEngine"}) {
    EXPECT_TRUE(has_field(r, f)) << f;
  }
  EXPECT_EQ(str_field(r, "process"), "mongod");
  EXPECT_EQ(field_type(r, "pid"), BSON_TYPE_INT64);
  EXPECT_TRUE(has_path(r, "connections.totalCreated"));
  EXPECT_TRUE(has_path(r, "repl.setName"));
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "opcounters.command", &v));
  EXPECT_GE(bson_iter_as_int64(&v), 2);
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "storageEngine.name", &v));
  EXPECT_STREQ(bson_iter_utf8(&v, nullptr), "wiredTiger");
}

TEST(AdminServerStatus, SectionsCanBeExcluded) {
  DispatchHarness h;
  auto r = h.command(R"({"serverStatus": 1, "repl": 0, "mem": false, "$db": "admin"})");
  EXPECT_FALSE(has_field(r, "repl"));
  EXPECT_FALSE(has_field(r, "mem"));
  EXPECT_TRUE(has_field(r, "connections"));
}

TEST(AdminServerStatus, IncludesTheEngineSections) {
  DispatchHarness h;
  h.state.append_engine_status = [](bson_t* b) { bson_append_int32(b, "engineSection", -1, 7); };
  EXPECT_EQ(int_field(h.command(R"({"serverStatus": 1, "$db": "admin"})"), "engineSection"), 7);
}

TEST(AdminGetParameter, FeatureCompatibilityVersionFollowsTheServerVersion) {
  DispatchHarness h(simtest::options_with(false, "5.0"));
  auto r = h.command(R"({"getParameter": 1, "featureCompatibilityVersion": 1, "$db": "admin"})");
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "featureCompatibilityVersion.version", &v));
  EXPECT_STREQ(bson_iter_utf8(&v, nullptr), "5.0");
  EXPECT_FALSE(has_field(r, "cursorTimeoutMillis"));
}

TEST(AdminGetParameter, StarReturnsEveryParameterAndUnknownFails) {
  DispatchHarness h;
  auto all = h.command(R"({"getParameter": "*", "$db": "admin"})");
  EXPECT_EQ(field_type(all, "cursorTimeoutMillis"), BSON_TYPE_INT64);
  EXPECT_EQ(int_field(all, "cursorTimeoutMillis"), 600000);
  EXPECT_TRUE(has_field(all, "transactionLifetimeLimitSeconds"));
  auto none = h.command(R"({"getParameter": 1, "noSuchParameter": 1, "$db": "admin"})");
  EXPECT_EQ(int_field(none, "code"), common::kInvalidOptions);
  EXPECT_EQ(str_field(none, "errmsg"), "no option found to get");
  auto details = h.command(R"({"getParameter": {"showDetails": true}, "logLevel": 1, "$db": "admin"})");
  EXPECT_TRUE(has_path(details, "logLevel.settableAtRuntime"));
}

TEST(AdminGetCmdLineOpts, ReportsArgvAndParsedOptions) {
  DispatchHarness h;
  auto r = h.command(R"({"getCmdLineOpts": 1, "$db": "admin"})");
  EXPECT_TRUE(has_path(r, "argv.0"));
  EXPECT_TRUE(has_path(r, "parsed.net.port"));
  EXPECT_TRUE(has_path(r, "parsed.replication.replSet"));
}

TEST(AdminReplSet, GetStatusDescribesASinglePrimary) {
  DispatchHarness h;
  auto r = h.command(R"({"replSetGetStatus": 1, "$db": "admin"})");
  EXPECT_EQ(str_field(r, "set"), "rs0");
  EXPECT_EQ(int_field(r, "myState"), 1);
  EXPECT_EQ(field_type(r, "term"), BSON_TYPE_INT64);
  for (const char* p : {"members.0._id", "members.0.name", "members.0.health", "members.0.stateStr", "members.0.optime.ts",
                        "members.0.optimeDate", "members.0.self", "optimes.lastCommittedOpTime.ts",
                        "optimes.appliedOpTime.t", "optimes.durableOpTime.ts"}) {
    EXPECT_TRUE(has_path(r, p)) << p;
  }
  auto cfg = h.command(R"({"replSetGetConfig": 1, "$db": "admin"})");
  EXPECT_TRUE(has_path(cfg, "config.members.0.host"));
}

TEST(AdminReplSet, StandaloneRefusesWithNoReplicationEnabled) {
  DispatchHarness h(simtest::options_with(true));
  auto r = h.command(R"({"replSetGetStatus": 1, "$db": "admin"})");
  EXPECT_EQ(int_field(r, "code"), 76);
  EXPECT_EQ(str_field(r, "codeName"), "NoReplicationEnabled");
  EXPECT_EQ(str_field(r, "errmsg"), "not running with --replSet");
}

TEST(AdminCommands, ListCommandsNamesEveryRegisteredCommand) {
  DispatchHarness h;
  auto r = h.command(R"({"listCommands": 1, "$db": "test"})");
  for (const char* p : {"commands.hello", "commands.isMaster", "commands.ping", "commands.buildInfo",
                        "commands.getParameter.adminOnly", "commands.serverStatus.help"}) {
    EXPECT_TRUE(has_path(r, p)) << p;
  }
}

TEST(AdminCommands, ConnectionStatusHasEmptyAuthInfo) {
  DispatchHarness h;
  auto r = h.command(R"({"connectionStatus": 1, "$db": "test"})");
  EXPECT_TRUE(has_path(r, "authInfo.authenticatedUsers"));
  EXPECT_TRUE(has_path(r, "authInfo.authenticatedUserRoles"));
  EXPECT_FALSE(has_path(r, "authInfo.authenticatedUsers.0"));
}

TEST(AdminSessions, StartSessionReturnsAUuidAndEndSessionsChecksTypes) {
  DispatchHarness h;
  auto r = h.command(R"({"startSession": 1, "$db": "admin"})");
  bson_iter_t it, id;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "id.id", &id));
  bson_subtype_t st;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_binary(&id, &st, &len, &data);
  EXPECT_EQ(st, BSON_SUBTYPE_UUID);
  EXPECT_EQ(len, 16u);
  EXPECT_EQ(int_field(r, "timeoutMinutes"), 30);
  EXPECT_EQ(int_field(h.command(R"({"endSessions": [{"id": {"$uuid": "00112233-4455-6677-8899-aabbccddeeff"}}], "$db": "admin"})"), "ok"), 1);
  EXPECT_EQ(int_field(h.command(R"({"endSessions": 1, "$db": "admin"})"), "code"), common::kTypeMismatch);
  EXPECT_EQ(int_field(h.command(R"({"refreshSessions": [], "$db": "admin"})"), "ok"), 1);
}

TEST(AdminCommands, WhatsmyuriReturnsTheClientAddress) {
  DispatchHarness h;
  EXPECT_EQ(str_field(h.command(R"({"whatsmyuri": 1, "$db": "admin"})"), "you"), "127.0.0.1:50000");
}

TEST(AdminGetLog, NamesGlobalAndStartupWarnings) {
  DispatchHarness h;
  h.ctx.add_log_line(R"({"t":{"$date":"2026-01-01T00:00:00.000Z"},"s":"I","c":"-","id":0,"ctx":"x","msg":"hi"})");
  auto names = h.command(R"({"getLog": "*", "$db": "admin"})");
  EXPECT_TRUE(has_path(names, "names.1"));
  auto global = h.command(R"({"getLog": "global", "$db": "admin"})");
  EXPECT_EQ(int_field(global, "totalLinesWritten"), 1);
  EXPECT_TRUE(has_path(global, "log.0"));
  auto warnings = h.command(R"({"getLog": "startupWarnings", "$db": "admin"})");
  EXPECT_EQ(int_field(warnings, "totalLinesWritten"), 0);
  EXPECT_EQ(int_field(h.command(R"({"getLog": "nope", "$db": "admin"})"), "ok"), 0);
  EXPECT_EQ(int_field(h.command(R"({"getLog": 1, "$db": "admin"})"), "code"), common::kTypeMismatch);
}

TEST(AdminCurrentOp, ListsTheRunningCommandItself) {
  DispatchHarness h;
  auto r = h.command(R"({"currentOp": 1, "$db": "admin"})");
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "inprog.0.command.currentOp", &v));
  EXPECT_TRUE(has_path(r, "inprog.0.opid"));
  EXPECT_EQ(str_field(h.command(R"({"killOp": 1, "op": 12345, "$db": "admin"})"), "info"), "attempting to kill op");
  EXPECT_EQ(int_field(h.command(R"({"killOp": 1, "$db": "admin"})"), "ok"), 0);
}

TEST(AdminCurrentOp, LargeCommandsAreSummarized) {
  DispatchHarness h;
  std::string seen;
  sim::CommandDef d;
  d.name = "bigcmd";
  d.handler = [&](sim::CommandContext&, bson_t*) {
    for (const auto& op : h.state.ops()) seen = op.command.json();
    return common::Status::OK();
  };
  h.ctx.commands.add(std::move(d));
  std::string big(40000, 'x');
  EXPECT_EQ(int_field(h.command(R"({"bigcmd": "c", "payload": ")" + big + R"(", "$db": "t"})"), "ok"), 1);
  EXPECT_NE(seen.find("$truncated"), std::string::npos) << seen;
  EXPECT_LT(seen.size(), 200u);
}

TEST(AdminRWConcern, DefaultsAreImplicitUntilSet) {
  DispatchHarness h;
  auto r = h.command(R"({"getDefaultRWConcern": 1, "$db": "admin"})");
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "defaultWriteConcern.w", &v));
  EXPECT_STREQ(bson_iter_utf8(&v, nullptr), "majority");
  EXPECT_EQ(str_field(r, "defaultWriteConcernSource"), "implicit");
  EXPECT_EQ(str_field(r, "defaultReadConcernSource"), "implicit");
  EXPECT_EQ(field_type(r, "localUpdateWallClockTime"), BSON_TYPE_DATE_TIME);
  auto set = h.command(R"({"setDefaultRWConcern": 1, "defaultWriteConcern": {"w": 1}, "$db": "admin"})");
  EXPECT_EQ(int_field(set, "ok"), 1);
  auto after = h.command(R"({"getDefaultRWConcern": 1, "$db": "admin"})");
  EXPECT_EQ(str_field(after, "defaultWriteConcernSource"), "global");
  EXPECT_TRUE(has_field(after, "updateOpTime"));
  EXPECT_EQ(int_field(h.command(R"({"setDefaultRWConcern": 1, "$db": "admin"})"), "code"), common::kBadValue);
}

TEST(AdminCommands, AtlasVersionIsNotACommand) {
  DispatchHarness h;
  EXPECT_EQ(int_field(h.command(R"({"atlasVersion": 1, "$db": "admin"})"), "code"), 59);
}

TEST(AdminCommands, HostInfoDescribesTheMachine) {
  DispatchHarness h;
  auto r = h.command(R"({"hostInfo": 1, "$db": "admin"})");
  for (const char* p : {"system.currentTime", "system.hostname", "system.numCores", "system.memSizeMB", "os.type",
                        "extra.versionString"}) {
    EXPECT_TRUE(has_path(r, p)) << p;
  }
}

}  // namespace
