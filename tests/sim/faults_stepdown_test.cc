// Step-down and the other mongosimControl faults, in process through the dispatcher with the
// real engine: what a stepped-down member answers (hello, writes, reads, replSetGetStatus),
// the single-node election that ends the period (term + 1, "new primary"), replSetStepDown /
// replSetStepUp as a one-member set's mongod runs them, the write freeze, the reply delay,
// oplog truncation under a tailing cursor, and the filesystem sizes dbStats reports.
#include <gtest/gtest.h>

#include <chrono>

#include "sim/faults_harness.h"

namespace {

using simtest::bool_at;
using simtest::code;
using simtest::eventually;
using simtest::FaultHarness;
using simtest::has_field;
using simtest::has_path;
using simtest::int_at;
using simtest::labels;
using simtest::ok;
using simtest::str_at;
using simtest::str_field;
using simtest::ts_at;

constexpr const char* kHello = R"({"hello": 1, "$db": "admin"})";

common::Bson newest_oplog_entry(FaultHarness& h) {
  auto r = h.run(R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1, "$db": "local"})");
  bson_iter_t it, batch, first;
  if (bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "cursor.firstBatch", &batch) &&
      bson_iter_recurse(&batch, &first) && bson_iter_next(&first) && BSON_ITER_HOLDS_DOCUMENT(&first)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&first, &len, &data);
    return common::Bson(data, len);
  }
  return common::Bson();
}

TEST(StepDown, ControlCommandNeedsTestCommands) {
  FaultHarness off(simtest::fault_options(false));
  EXPECT_EQ(code(off.run(R"({"mongosimControl": "status", "$db": "admin"})")), 59);
  FaultHarness h;
  auto r = h.run(R"({"mongosimControl": "explode", "$db": "admin"})");
  EXPECT_EQ(code(r), 2);
  r = h.run(R"({"mongosimControl": "stepDown", "secs": "x", "$db": "admin"})");
  EXPECT_EQ(code(r), 14);
  EXPECT_EQ(str_field(r, "errmsg"),
            "BSON field 'mongosimControl.secs' is the wrong type 'string', expected types '[long, int, decimal, double]'");
  r = h.run(R"({"mongosimControl": "stepDown", "sec": 1, "$db": "admin"})");
  EXPECT_EQ(code(r), 40415);
}

TEST(StepDown, SecondaryRefusesWritesAndPrimaryReadsThenStepsBackUp) {
  FaultHarness h;
  auto before = h.run(kHello);
  int64_t counter_before = int_at(before, "topologyVersion.counter");
  int64_t term_before = h.ctx.clock.term();
  auto r = h.run(R"({"mongosimControl": "stepDown", "secs": 1, "$db": "admin"})");
  ASSERT_TRUE(ok(r)) << r.json();

  auto hello = h.run(kHello);
  EXPECT_FALSE(bool_at(hello, "isWritablePrimary"));
  EXPECT_TRUE(bool_at(hello, "secondary"));
  EXPECT_FALSE(has_field(hello, "primary"));
  EXPECT_FALSE(has_field(hello, "electionId"));
  EXPECT_TRUE(has_path(hello, "lastWrite.opTime.ts"));
  EXPECT_GT(int_at(hello, "topologyVersion.counter"), counter_before);

  // Writes: NotWritablePrimary with the topology version; retryable ones are labelled.
  sim::ClientInfo c = h.connection();
  h.run(c, R"({"hello": 1, "helloOk": true, "$db": "admin"})");
  r = h.run(c, R"({"insert": "c", "documents": [{"_id": 1}], "lsid": {"id": {"$binary": {"base64": "AAECAwQFBgcICQoLDA0ODw==", "subType": "04"}}},
                  "txnNumber": {"$numberLong": "1"}, "$db": "test"})");
  EXPECT_EQ(code(r), 10107);
  EXPECT_EQ(str_field(r, "errmsg"), "not primary");
  EXPECT_EQ(labels(r), "RetryableWriteError,NoWritesPerformed");
  EXPECT_EQ(int_at(r, "topologyVersion.counter"), int_at(hello, "topologyVersion.counter"));
  // Reads need a secondary read preference; "master" wording without hello.
  r = h.run(c, R"({"find": "c", "$db": "test"})");
  EXPECT_EQ(code(r), 13435);
  EXPECT_EQ(str_field(r, "errmsg"), "not primary and secondaryOk=false");
  sim::ClientInfo legacy = h.connection();
  EXPECT_EQ(str_field(h.run(legacy, R"({"find": "c", "$db": "test"})"), "errmsg"), "not master and slaveOk=false");
  EXPECT_TRUE(ok(h.run(c, R"({"find": "c", "$readPreference": {"mode": "secondaryPreferred"}, "$db": "test"})")));
  // Diagnostics and the local database still answer.
  EXPECT_TRUE(ok(h.run(c, R"({"serverStatus": 1, "$db": "admin"})")));
  EXPECT_TRUE(ok(h.run(c, R"({"find": "oplog.rs", "limit": 1, "$db": "local"})")));
  auto status = h.run(R"({"replSetGetStatus": 1, "$db": "admin"})");
  EXPECT_EQ(int_at(status, "myState"), 2);
  EXPECT_EQ(str_at(status, "members.0.stateStr"), "SECONDARY");
  EXPECT_FALSE(has_field(status, "electionCandidateMetrics"));

  // The period ends with an election: term + 1, "new primary" at the new term.
  ASSERT_TRUE(eventually([&] { return bool_at(h.run(kHello), "isWritablePrimary"); }, std::chrono::seconds(5)));
  EXPECT_EQ(h.ctx.clock.term(), term_before + 1);
  auto entry = newest_oplog_entry(h);
  EXPECT_EQ(str_at(entry, "op"), "n");
  EXPECT_EQ(str_at(entry, "o.msg"), "new primary");
  EXPECT_EQ(int_at(entry, "t"), term_before + 1);
  hello = h.run(kHello);
  EXPECT_EQ(str_field(hello, "primary"), h.ctx.host_and_port);
  EXPECT_TRUE(has_field(hello, "electionId"));
  status = h.run(R"({"replSetGetStatus": 1, "$db": "admin"})");
  EXPECT_EQ(str_at(status, "electionCandidateMetrics.lastElectionReason"), "singleNodePromptElection");
  EXPECT_EQ(int_at(status, "electionCandidateMetrics.electionTerm"), term_before + 1);
  EXPECT_EQ(int_at(status, "term"), term_before + 1);
  EXPECT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "test"})")));
}

TEST(StepDown, TransactionsAreAbortedAndRefused) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"create": "c", "$db": "test"})")));
  const std::string lsid = R"("lsid": {"id": {"$binary": {"base64": "AAECAwQFBgcICQoLDA0OEA==", "subType": "04"}}})";
  auto r = h.run(R"({"insert": "c", "documents": [{"_id": 1}], )" + lsid +
                 R"(, "txnNumber": {"$numberLong": "1"}, "startTransaction": true, "autocommit": false, "$db": "test"})");
  ASSERT_TRUE(ok(r)) << r.json();
  ASSERT_TRUE(ok(h.run(R"({"mongosimControl": "stepDown", "secs": 30, "$db": "admin"})")));
  r = h.run(R"({"find": "c", )" + lsid + R"(, "txnNumber": {"$numberLong": "1"}, "autocommit": false, "$db": "test"})");
  EXPECT_EQ(code(r), 10107);
  ASSERT_TRUE(ok(h.run(R"({"replSetStepUp": 1, "$db": "admin"})")));
  r = h.run(R"({"commitTransaction": 1, )" + lsid + R"(, "txnNumber": {"$numberLong": "1"}, "autocommit": false, "$db": "admin"})");
  EXPECT_EQ(code(r), 251) << r.json();
}

TEST(ReplSetStepDown, OneMemberSetNeedsForce) {
  FaultHarness h;
  auto r = h.run(R"({"replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 0, "$db": "admin"})");
  EXPECT_EQ(code(r), 262);
  EXPECT_EQ(str_field(r, "errmsg").rfind("No electable secondaries caught up as of ", 0), 0u);
  EXPECT_NE(str_field(r, "errmsg").find(". Please use the replSetStepDown command with the argument {force: true} to "
                                        "force node to step down."),
            std::string::npos);
  EXPECT_EQ(code(h.run(R"({"replSetStepDown": -1, "$db": "admin"})")), 2);
  r = h.run(R"({"replSetStepDown": 5, "secondaryCatchUpPeriodSecs": 10, "$db": "admin"})");
  EXPECT_EQ(str_field(r, "errmsg"), "stepdown period must be longer than secondaryCatchUpPeriodSecs");
  r = h.run(R"({"replSetStepDown": 5, "secondaryCatchUpPeriodSecs": -1, "$db": "admin"})");
  EXPECT_EQ(str_field(r, "errmsg"), "secondaryCatchUpPeriodSecs period must be a positive or absent");
  EXPECT_TRUE(bool_at(h.run(kHello), "isWritablePrimary"));

  int64_t term = h.ctx.clock.term();
  ASSERT_TRUE(ok(h.run(R"({"replSetStepDown": 1, "force": true, "$db": "admin"})")));
  EXPECT_FALSE(bool_at(h.run(kHello), "isWritablePrimary"));
  r = h.run(R"({"replSetStepDown": 1, "force": true, "$db": "admin"})");
  EXPECT_EQ(code(r), 10107);
  EXPECT_EQ(str_field(r, "errmsg"), "not primary so can't step down");
  ASSERT_TRUE(eventually([&] { return bool_at(h.run(kHello), "isWritablePrimary"); }, std::chrono::seconds(5)));
  EXPECT_EQ(h.ctx.clock.term(), term + 1);
}

TEST(ReplSetStepDown, StepUpEndsThePeriodAndStandaloneHasNone) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"replSetStepDown": 60, "force": true, "$db": "admin"})")));
  ASSERT_TRUE(ok(h.run(R"({"replSetStepUp": 1, "$db": "admin"})")));
  EXPECT_TRUE(bool_at(h.run(kHello), "isWritablePrimary"));
  auto status = h.run(R"({"replSetGetStatus": 1, "$db": "admin"})");
  EXPECT_EQ(str_at(status, "electionCandidateMetrics.lastElectionReason"), "stepUpRequest");
  EXPECT_TRUE(ok(h.run(R"({"replSetStepUp": 1, "$db": "admin"})")));  // already primary

  FaultHarness solo(simtest::fault_options(true, true));
  for (const char* cmd : {R"({"replSetStepDown": 10, "force": true, "$db": "admin"})", R"({"replSetStepUp": 1, "$db": "admin"})",
                          R"({"mongosimControl": "stepDown", "$db": "admin"})"}) {
    auto r = solo.run(cmd);
    EXPECT_EQ(code(r), 76) << cmd;
    EXPECT_EQ(str_field(r, "errmsg"), "not running with --replSet");
  }
}

TEST(Faults, FreezeWritesMakesWritesWait) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"mongosimControl": "freezeWrites", "secs": 0.4, "$db": "admin"})")));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ok(h.run(R"({"find": "c", "$db": "test"})")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));  // reads pass
  auto r = h.run(R"({"insert": "c", "documents": [{"_id": 1}], "maxTimeMS": 50, "$db": "test"})");
  EXPECT_EQ(code(r), 50);
  EXPECT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 2}], "$db": "test"})")));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_EQ(int_at(h.run(R"({"count": "c", "$db": "test"})"), "n"), 1);
}

TEST(Faults, DelayRepliesUntilCleared) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"mongosimControl": "delayReplies", "ms": 150, "$db": "admin"})")));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ok(h.run(R"({"ping": 1, "$db": "admin"})")));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ok(h.run(R"({"mongosimControl": "delayReplies", "ms": 0, "$db": "admin"})")));
  EXPECT_TRUE(ok(h.run(R"({"ping": 1, "$db": "admin"})")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}

TEST(Faults, TruncateOplogMakesATailingCursorLoseItsPosition) {
  FaultHarness h;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": )" + std::to_string(i) + R"(}], "$db": "test"})")));
  }
  auto tail = h.run(R"({"find": "oplog.rs", "tailable": true, "awaitData": true, "batchSize": 1, "$db": "local"})");
  int64_t id = int_at(tail, "cursor.id");
  ASSERT_NE(id, 0) << tail.json();
  sim::Timestamp newest = ts_at(newest_oplog_entry(h), "ts");
  auto r = h.run(R"({"mongosimControl": "truncateOplog", "before": {"$timestamp": {"t": )" + std::to_string(newest.t) +
                 R"(, "i": )" + std::to_string(newest.i) + R"(}}, "$db": "admin"})");
  ASSERT_TRUE(ok(r)) << r.json();
  EXPECT_GE(int_at(r, "removed"), 3);
  EXPECT_TRUE(ts_at(r, "earliestOptime") == newest);
  auto status = h.run(R"({"serverStatus": 1, "oplog": 1, "$db": "admin"})");
  EXPECT_TRUE(ts_at(status, "oplog.earliestOptime") == newest);
  r = h.run(R"({"getMore": {"$numberLong": ")" + std::to_string(id) + R"("}, "collection": "oplog.rs", "maxTimeMS": 100, "$db": "local"})");
  EXPECT_EQ(code(r), 136) << r.json();
  EXPECT_EQ(str_field(r, "codeName"), "CappedPositionLost");
}

TEST(Faults, FilesystemSizesInDbStats) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "test"})")));
  auto r = h.run(R"({"mongosimControl": "setFsSize", "totalBytes": 1000000, "usedBytes": 999000, "$db": "admin"})");
  ASSERT_TRUE(ok(r)) << r.json();
  auto stats = h.run(R"({"dbStats": 1, "$db": "test"})");
  EXPECT_EQ(int_at(stats, "fsTotalSize"), 1000000);
  EXPECT_EQ(int_at(stats, "fsUsedSize"), 999000);
  EXPECT_EQ(code(h.run(R"({"mongosimControl": "setFsSize", "totalBytes": 10, "usedBytes": 20, "$db": "admin"})")), 2);
  EXPECT_EQ(code(h.run(R"({"mongosimControl": "setFsSize", "totalBytes": 10, "$db": "admin"})")), 2);
  ASSERT_TRUE(ok(h.run(R"({"mongosimControl": "setFsSize", "$db": "admin"})")));
  stats = h.run(R"({"dbStats": 1, "$db": "test"})");
  EXPECT_NE(int_at(stats, "fsTotalSize"), 1000000);
}

TEST(Faults, StatusReportsTheFaults) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"mongosimControl": "delayReplies", "ms": 5, "$db": "admin"})")));
  auto r = h.run(R"({"mongosimControl": "status", "$db": "admin"})");
  EXPECT_TRUE(bool_at(r, "primary"));
  EXPECT_EQ(int_at(r, "replyDelayMS"), 5);
  EXPECT_EQ(int_at(r, "failPoints.failCommand"), 0);
}

}  // namespace
