// Replication reporting from the oplog, in process with the real engine: hello's lastWrite,
// replSetGetStatus optimes and members, electionCandidateMetrics, serverStatus.repl and
// serverStatus.oplog, and a standalone that reports none of them.
#include <gtest/gtest.h>

#include "sim/faults_harness.h"

namespace {

using simtest::code;
using simtest::date_at;
using simtest::FaultHarness;
using simtest::has_field;
using simtest::has_path;
using simtest::int_at;
using simtest::ok;
using simtest::str_at;
using simtest::ts_at;

struct Entry {
  sim::Timestamp ts;
  int64_t wall = 0;
  int64_t t = 0;
};

Entry oplog_entry(FaultHarness& h, int direction) {
  auto r = h.run(R"({"find": "oplog.rs", "sort": {"$natural": )" + std::to_string(direction) +
                 R"(}, "limit": 1, "$db": "local"})");
  return {ts_at(r, "cursor.firstBatch.0.ts"), date_at(r, "cursor.firstBatch.0.wall"), int_at(r, "cursor.firstBatch.0.t")};
}

TEST(ReplStatus, LastWriteIsTheNewestOplogEntry) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "test"})")));
  Entry last = oplog_entry(h, -1);
  ASSERT_NE(last.ts.t, 0u);
  // A client gossiping a later cluster time moves the clock, not the last write.
  h.run(R"({"ping": 1, "$clusterTime": {"clusterTime": {"$timestamp": {"t": 4000000000, "i": 1}},
            "signature": {"hash": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "subType": "00"}}, "keyId": 0}},
            "$db": "admin"})");
  auto hello = h.run(R"({"hello": 1, "$db": "admin"})");
  EXPECT_TRUE(ts_at(hello, "lastWrite.opTime.ts") == last.ts);
  EXPECT_EQ(int_at(hello, "lastWrite.opTime.t"), last.t);
  EXPECT_EQ(date_at(hello, "lastWrite.lastWriteDate"), int64_t{last.ts.t} * 1000);
  EXPECT_TRUE(ts_at(hello, "lastWrite.majorityOpTime.ts") == last.ts);
  EXPECT_EQ(date_at(hello, "lastWrite.majorityWriteDate"), int64_t{last.ts.t} * 1000);
}

TEST(ReplStatus, ReplSetGetStatusFromTheOplog) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "test"})")));
  Entry last = oplog_entry(h, -1);
  auto r = h.run(R"({"replSetGetStatus": 1, "$db": "admin"})");
  ASSERT_TRUE(ok(r)) << r.json();
  EXPECT_EQ(int_at(r, "myState"), 1);
  EXPECT_EQ(int_at(r, "term"), h.ctx.clock.term());
  for (const char* p : {"optimes.lastCommittedOpTime.ts", "optimes.readConcernMajorityOpTime.ts", "optimes.appliedOpTime.ts",
                        "optimes.durableOpTime.ts", "members.0.optime.ts", "lastStableRecoveryTimestamp"}) {
    EXPECT_TRUE(ts_at(r, p) == last.ts) << p;
  }
  EXPECT_EQ(date_at(r, "optimes.lastAppliedWallTime"), last.wall);
  EXPECT_EQ(date_at(r, "members.0.lastAppliedWallTime"), last.wall);
  EXPECT_EQ(date_at(r, "members.0.lastDurableWallTime"), last.wall);
  EXPECT_EQ(date_at(r, "members.0.optimeDate"), int64_t{last.ts.t} * 1000);
  EXPECT_EQ(str_at(r, "members.0.stateStr"), "PRIMARY");
  EXPECT_EQ(str_at(r, "members.0.name"), h.ctx.host_and_port);
  // The start-up election: its "new primary" entry, after "initiating set" at term -1.
  Entry first = oplog_entry(h, 1);
  EXPECT_EQ(str_at(r, "electionCandidateMetrics.lastElectionReason"), "electionTimeout");
  EXPECT_EQ(int_at(r, "electionCandidateMetrics.electionTerm"), 1);
  EXPECT_TRUE(ts_at(r, "electionCandidateMetrics.lastSeenOpTimeAtElection.ts") == first.ts);
  EXPECT_EQ(int_at(r, "electionCandidateMetrics.lastSeenOpTimeAtElection.t"), -1);
  EXPECT_EQ(int_at(r, "electionCandidateMetrics.numVotesNeeded"), 1);
  EXPECT_TRUE(has_path(r, "electionCandidateMetrics.newTermStartDate"));
  sim::Timestamp election = ts_at(r, "members.0.electionTime");
  EXPECT_TRUE(first.ts < election);
  EXPECT_TRUE(election < last.ts || election == last.ts);
  EXPECT_EQ(date_at(r, "members.0.electionDate"), int64_t{election.t} * 1000);
}

TEST(ReplStatus, ServerStatusReplAndOplogSections) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "test"})")));
  Entry first = oplog_entry(h, 1), last = oplog_entry(h, -1);
  auto s = h.run(R"({"serverStatus": 1, "$db": "admin"})");
  EXPECT_TRUE(has_path(s, "repl.setName"));
  EXPECT_TRUE(ts_at(s, "repl.lastWrite.opTime.ts") == last.ts);
  EXPECT_EQ(int_at(s, "repl.rbid"), 1);
  EXPECT_EQ(int_at(s, "repl.userWriteBlockMode"), 1);
  EXPECT_FALSE(has_field(s, "oplog"));  // not included by default
  s = h.run(R"({"serverStatus": 1, "oplog": 1, "$db": "admin"})");
  EXPECT_TRUE(ts_at(s, "oplog.latestOptime") == last.ts);
  EXPECT_TRUE(ts_at(s, "oplog.earliestOptime") == first.ts);
  s = h.run(R"({"serverStatus": 1, "repl": 0, "$db": "admin"})");
  EXPECT_FALSE(has_field(s, "repl"));
}

TEST(ReplStatus, StandaloneReportsNoReplication) {
  FaultHarness h(simtest::fault_options(true, true));
  auto hello = h.run(R"({"hello": 1, "$db": "admin"})");
  EXPECT_FALSE(has_field(hello, "setName"));
  EXPECT_FALSE(has_field(hello, "lastWrite"));
  auto r = h.run(R"({"replSetGetStatus": 1, "$db": "admin"})");
  EXPECT_EQ(code(r), 76);
  auto s = h.run(R"({"serverStatus": 1, "oplog": 1, "$db": "admin"})");
  EXPECT_FALSE(has_field(s, "repl"));
  EXPECT_FALSE(has_field(s, "oplog"));
  r = h.run(R"({"mongosimControl": "truncateOplog", "before": {"$timestamp": {"t": 1, "i": 1}}, "$db": "admin"})");
  EXPECT_EQ(code(r), 76);
}

}  // namespace
