// Retryable writes and multi-document transactions against a mongosim process, with raw
// commands (lsid/txnNumber/autocommit as drivers send them): statement de-duplication, the
// session state machine and its errors, snapshot reads, write conflicts, and the applyOps
// entries a commit writes.
#include <gtest/gtest.h>

#include "support/sim_client.h"

namespace {

using common::Bson;
using testsupport::Reply;
using testsupport::SimServer;

const char* kLsid = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAQ==", "subType": "04"}}})";
const char* kLsid2 = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAg==", "subType": "04"}}})";

std::string txn(int64_t n) { return "\"txnNumber\": {\"$numberLong\": \"" + std::to_string(n) + "\"}"; }

int64_t count(SimServer& s, const std::string& filter = "{}") {
  return s.must("t", "{\"count\": \"c\", \"query\": " + filter + "}").num("n");
}

TEST(ReplRetryableWrites, RetriedInsertIsNotAppliedTwice) {
  SimServer s;
  ASSERT_TRUE(s.up());
  std::string cmd = std::string(R"({"insert": "c", "documents": [{"_id": 1}, {"_id": 2}], )") + kLsid + ", " + txn(1) + "}";
  Reply first = s.must("t", cmd);
  EXPECT_EQ(first.num("n"), 2);
  Reply again = s.must("t", cmd);
  EXPECT_EQ(again.num("n"), 2);  // reported as done, not a duplicate key error
  EXPECT_FALSE(again.doc.json().find("writeErrors") != std::string::npos);
  EXPECT_EQ(count(s), 2);
  // The oplog entries carry the session and statement ids.
  auto entries = s.find_all("local", "oplog.rs", R"({"op": "i", "ns": "t.c"})");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_NE(entries[0].json().find("\"stmtId\" : 0"), std::string::npos);
  EXPECT_NE(entries[1].json().find("\"stmtId\" : 1"), std::string::npos);
  EXPECT_NE(entries[0].json().find("\"uid\""), std::string::npos);
}

TEST(ReplRetryableWrites, RetriedUpdateAndFindAndModifyReturnTheFirstResult) {
  SimServer s;
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1, "n": 0}]})");
  std::string upd = std::string(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}], )") + kLsid +
                    ", " + txn(5) + "}";
  EXPECT_EQ(s.must("t", upd).num("nModified"), 1);
  EXPECT_EQ(s.must("t", upd).num("nModified"), 1);
  std::string fam = std::string(R"({"findAndModify": "c", "query": {"_id": 1}, "update": {"$inc": {"n": 10}}, "new": true, )") +
                    kLsid + ", " + txn(6) + "}";
  Reply a = s.must("t", fam);
  Reply b = s.must("t", fam);
  EXPECT_EQ(a.num("value.n"), 11);
  EXPECT_EQ(b.num("value.n"), 11);
  EXPECT_EQ(s.find_all("t", "c")[0].json(), R"({ "_id" : 1, "n" : 11 })");
}

TEST(ReplRetryableWrites, SessionRulesAndErrors) {
  SimServer s;
  ASSERT_TRUE(s.up());
  std::string ins = std::string(R"({"insert": "c", "documents": [{"_id": 1}], )") + kLsid + ", ";
  s.must("t", ins + txn(10) + "}");
  Reply old = s.run("t", ins + txn(9) + "}");
  EXPECT_EQ(old.code(), 225);  // TransactionTooOld
  Reply multi = s.run("t", std::string(R"({"update": "c", "updates": [{"q": {}, "u": {"$set": {"a": 1}}, "multi": true}], )") +
                               kLsid + ", " + txn(11) + "}");
  EXPECT_EQ(multi.code(), 72);
  Reply find = s.run("t", std::string(R"({"find": "c", )") + kLsid + ", " + txn(12) + "}");
  EXPECT_EQ(find.code(), 50768);
}

TEST(ReplRetryableWrites, StandaloneRefusesTransactionNumbers) {
  SimServer s({"--standalone"});
  ASSERT_TRUE(s.up());
  Reply r = s.run("t", std::string(R"({"insert": "c", "documents": [{"_id": 1}], )") + kLsid + ", " + txn(1) + "}");
  EXPECT_EQ(r.code(), 20);
}

TEST(ReplSnapshotReadConcern, OnlyReadsTakeItOutsideATransaction) {
  SimServer s;
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1}]})");
  const std::string snap = std::string(R"("readConcern": {"level": "snapshot"}, )") + kLsid;
  EXPECT_TRUE(s.run("t", "{\"find\": \"c\", " + snap + "}").ok());
  EXPECT_TRUE(s.run("t", "{\"distinct\": \"c\", \"key\": \"_id\", " + snap + "}").ok());
  Reply ins = s.run("t", "{\"insert\": \"c\", \"documents\": [{\"_id\": 2}], " + snap + ", " + txn(1) + "}");
  EXPECT_EQ(ins.code(), 72);
  EXPECT_EQ(ins.status.message().rfind("Command insert does not support { readConcern: { level: \"snapshot\" } }", 0), 0u)
      << ins.status.message();
  EXPECT_EQ(s.run("t", "{\"listCollections\": 1, " + snap + "}").code(), 72);
  EXPECT_EQ(count(s), 1);

  SimServer old({"--server-version", "4.4"});
  ASSERT_TRUE(old.up());
  EXPECT_EQ(old.run("t", "{\"find\": \"c\", " + snap + "}").code(), 72);
}

TEST(ReplSessions, ListLocalSessionsShowsUsedSessionsUntilEnded) {
  SimServer s;
  ASSERT_TRUE(s.up());
  s.must("t", std::string(R"({"insert": "c", "documents": [{"_id": 1}], )") + kLsid + "}");
  auto listed = [&] {
    return s.must("admin", R"({"aggregate": 1, "pipeline": [{"$listLocalSessions": {}}, {"$match": {"_id.id":
                              {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAQ==", "subType": "04"}}}}], "cursor": {}})")
        .batch();
  };
  auto found = listed();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].json().find("\"lastUse\""), std::string::npos) << found[0].json();
  EXPECT_EQ(s.run("admin", R"({"aggregate": 1, "pipeline": [{"$listLocalSessions": 1}], "cursor": {}})").code(), 14);
  s.must("admin", R"({"endSessions": [{"id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAQ==", "subType": "04"}}}]})");
  EXPECT_TRUE(listed().empty());
}

class ReplTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(s.up());
    s.must("t", R"({"insert": "c", "documents": [{"_id": 1, "v": 0}, {"_id": 2, "v": 0}]})");
  }
  std::string in_txn(const std::string& body, const char* lsid, int64_t n, bool start) {
    return body.substr(0, body.size() - 1) + ", " + lsid + ", " + txn(n) + ", \"autocommit\": false" +
           (start ? ", \"startTransaction\": true" : "") + "}";
  }
  Reply commit(const char* lsid, int64_t n) {
    return s.run("admin", std::string("{\"commitTransaction\": 1, ") + lsid + ", " + txn(n) + ", \"autocommit\": false}");
  }
  Reply abort(const char* lsid, int64_t n) {
    return s.run("admin", std::string("{\"abortTransaction\": 1, ") + lsid + ", " + txn(n) + ", \"autocommit\": false}");
  }
  SimServer s;
};

TEST_F(ReplTransactions, CommitMakesWritesVisibleAtOnceAsOneApplyOps) {
  s.must("t", in_txn(R"({"insert": "c", "documents": [{"_id": 3}]})", kLsid, 1, true));
  s.must("t", in_txn(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 1}}}]})", kLsid, 1, false));
  s.must("t", in_txn(R"({"delete": "c", "deletes": [{"q": {"_id": 2}, "limit": 1}]})", kLsid, 1, false));
  // Inside: the transaction sees its writes; outside: nothing yet.
  Reply inside = s.must("t", in_txn(R"({"find": "c", "sort": {"_id": 1}})", kLsid, 1, false));
  EXPECT_EQ(inside.batch().size(), 2u);
  EXPECT_EQ(count(s), 2);
  EXPECT_EQ(count(s, R"({"v": 1})"), 0);
  ASSERT_TRUE(commit(kLsid, 1).ok());
  EXPECT_EQ(count(s, R"({"_id": 3})"), 1);
  EXPECT_EQ(count(s, R"({"_id": 2})"), 0);
  EXPECT_EQ(count(s, R"({"v": 1})"), 1);
  auto txns = s.find_all("local", "oplog.rs", R"({"o.applyOps": {"$exists": true}})");
  ASSERT_EQ(txns.size(), 1u);
  std::string j = txns[0].json();
  EXPECT_NE(j.find("\"txnNumber\" : 1"), std::string::npos);
  EXPECT_NE(j.find("\"prevOpTime\""), std::string::npos);
  EXPECT_EQ(txns[0].json().find("partialTxn"), std::string::npos);
  // A retried commit succeeds; abort after commit is TransactionCommitted.
  EXPECT_TRUE(commit(kLsid, 1).ok());
  EXPECT_EQ(abort(kLsid, 1).code(), 256);
}

TEST_F(ReplTransactions, AbortDiscardsAndLogsNothing) {
  s.must("t", in_txn(R"({"insert": "c", "documents": [{"_id": 9}]})", kLsid, 1, true));
  ASSERT_TRUE(abort(kLsid, 1).ok());
  EXPECT_EQ(count(s, R"({"_id": 9})"), 0);
  EXPECT_TRUE(s.find_all("local", "oplog.rs", R"({"o.applyOps": {"$exists": true}})").empty());
  EXPECT_EQ(commit(kLsid, 1).code(), 251);
  Reply later = s.run("t", in_txn(R"({"find": "c"})", kLsid, 1, false));
  EXPECT_EQ(later.code(), 251);
}

TEST_F(ReplTransactions, SnapshotIsTakenAtTheFirstReadAndOthersCommitsStayInvisible) {
  // session 2 reads first: its snapshot.
  Reply first = s.must("t", in_txn(R"({"find": "c", "filter": {"_id": 1}})", kLsid2, 1, true));
  EXPECT_EQ(first.batch().size(), 1u);
  s.must("t", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 42}}}]})");
  Reply again = s.must("t", in_txn(R"({"find": "c", "filter": {"_id": 1}})", kLsid2, 1, false));
  ASSERT_EQ(again.batch().size(), 1u);
  EXPECT_EQ(again.batch()[0].json(), R"({ "_id" : 1, "v" : 0 })");
  ASSERT_TRUE(commit(kLsid2, 1).ok());
}

TEST_F(ReplTransactions, ConcurrentWritesToOneDocumentConflict) {
  s.must("t", in_txn(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 1}}}]})", kLsid, 1, true));
  Reply other = s.run("t", in_txn(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 2}}}]})", kLsid2, 1, true));
  EXPECT_EQ(other.code(), 112);
  EXPECT_TRUE(other.has_label("TransientTransactionError"));
  // The loser is aborted; the winner commits.
  EXPECT_EQ(commit(kLsid2, 1).code(), 251);
  ASSERT_TRUE(commit(kLsid, 1).ok());
  EXPECT_EQ(count(s, R"({"v": 1})"), 1);
}

TEST_F(ReplTransactions, CommittedChangeUnderASnapshotConflicts) {
  s.must("t", in_txn(R"({"find": "c"})", kLsid, 1, true));
  s.must("t", R"({"update": "c", "updates": [{"q": {"_id": 2}, "u": {"$set": {"v": 7}}}]})");
  Reply w = s.run("t", in_txn(R"({"update": "c", "updates": [{"q": {"_id": 2}, "u": {"$set": {"v": 8}}}]})", kLsid, 1, false));
  EXPECT_EQ(w.code(), 112);
  EXPECT_EQ(count(s, R"({"v": 7})"), 1);
}

TEST_F(ReplTransactions, StateMachineErrors) {
  Reply not_started = s.run("t", in_txn(R"({"find": "c"})", kLsid, 3, false));
  EXPECT_EQ(not_started.code(), 251);
  EXPECT_TRUE(not_started.has_label("TransientTransactionError"));
  s.must("t", in_txn(R"({"find": "c"})", kLsid, 4, true));
  Reply restart = s.run("t", in_txn(R"({"find": "c"})", kLsid, 4, true));
  EXPECT_EQ(restart.code(), 117);
  Reply not_allowed = s.run("t", in_txn(R"({"count": "c"})", kLsid, 4, false));
  EXPECT_EQ(not_allowed.code(), 263);
  Reply wc = s.run("t", in_txn(R"({"insert": "c", "documents": [{"_id": 5}], "writeConcern": {"w": 1}})", kLsid, 4, false));
  EXPECT_EQ(wc.code(), 72);
  Reply autocommit_true = s.run("t", std::string(R"({"find": "c", )") + kLsid + ", " + txn(5) + R"(, "autocommit": true})");
  EXPECT_EQ(autocommit_true.code(), 72);
}

TEST_F(ReplTransactions, FailedStatementAbortsTheTransaction) {
  s.must("t", in_txn(R"({"insert": "c", "documents": [{"_id": 7}]})", kLsid, 1, true));
  Reply dup = s.run("t", in_txn(R"({"insert": "c", "documents": [{"_id": 1}]})", kLsid, 1, false));
  EXPECT_NE(dup.doc.json().find("11000"), std::string::npos);
  EXPECT_FALSE(dup.has_label("TransientTransactionError"));
  EXPECT_EQ(commit(kLsid, 1).code(), 251);
  EXPECT_EQ(count(s, R"({"_id": 7})"), 0);
}

TEST_F(ReplTransactions, CollectionCreatedInsideATransaction) {
  s.must("t", in_txn(R"({"insert": "fresh", "documents": [{"_id": 1}]})", kLsid, 1, true));
  Reply lc = s.must("t", R"({"listCollections": 1, "filter": {"name": "fresh"}})");
  EXPECT_TRUE(lc.batch().empty());
  ASSERT_TRUE(commit(kLsid, 1).ok());
  EXPECT_EQ(s.find_all("t", "fresh").size(), 1u);
  auto txns = s.find_all("local", "oplog.rs", R"({"o.applyOps": {"$exists": true}})");
  ASSERT_EQ(txns.size(), 1u);
  EXPECT_NE(txns[0].json().find("\"create\" : \"fresh\""), std::string::npos);
}

// The prepared format, asked for with mongosimControl: the last applyOps entry carries
// prepare: true, a commitTransaction entry (commitTimestamp, prevOpTime to the prepare entry)
// follows, change streams report the operations at the commit entry, and a restart keeps them.
TEST(ReplPreparedTransactions, CommitInThePreparedFormatWhenAsked) {
  SimServer s({"--enable-test-commands"});
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1}]})");
  auto [t0, i0] = s.newest_oplog_ts();
  ASSERT_NE(t0, 0u);
  EXPECT_TRUE(s.must("admin", R"({"mongosimControl": "preparedTransactions", "enabled": true})").ok());
  auto body = [&](const char* cmd, bool start) {
    return std::string(cmd).substr(0, std::string(cmd).size() - 1) + ", " + kLsid + ", " + txn(1) +
           ", \"autocommit\": false" + (start ? ", \"startTransaction\": true" : "") + "}";
  };
  s.must("t", body(R"({"insert": "c", "documents": [{"_id": 2}]})", true));
  s.must("t", body(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 1}}}]})", false));
  EXPECT_TRUE(s.run("admin", std::string("{\"commitTransaction\": 1, ") + kLsid + ", " + txn(1) + ", \"autocommit\": false}").ok());
  auto entries = s.find_all("local", "oplog.rs", R"({"ns": "admin.$cmd"})");
  ASSERT_EQ(entries.size(), 2u);
  auto ts_of = [](const Bson& d, const char* path) {
    bson_iter_t a, f;
    uint32_t t = 0, i = 0;
    if (bson_iter_init(&a, d.get()) && bson_iter_find_descendant(&a, path, &f) && BSON_ITER_HOLDS_TIMESTAMP(&f)) {
      bson_iter_timestamp(&f, &t, &i);
    }
    return std::make_pair(t, i);
  };
  EXPECT_NE(entries[0].json().find("\"prepare\" : true"), std::string::npos) << entries[0].json();
  EXPECT_NE(entries[0].json().find("\"txnNumber\" : 1"), std::string::npos);
  EXPECT_NE(entries[1].json().find("\"commitTransaction\" : 1"), std::string::npos) << entries[1].json();
  EXPECT_EQ(ts_of(entries[1], "o.commitTimestamp"), ts_of(entries[0], "ts"));
  EXPECT_EQ(ts_of(entries[1], "prevOpTime.ts"), ts_of(entries[0], "ts"));
  EXPECT_EQ(count(s), 2);
  // A change stream from before the transaction: its two operations, at the commit entry.
  Reply cs = s.must("t", "{\"aggregate\": \"c\", \"pipeline\": [{\"$changeStream\": {\"startAtOperationTime\": "
                         "{\"$timestamp\": {\"t\": " + std::to_string(t0) + ", \"i\": " + std::to_string(i0 + 1) +
                         "}}}}], \"cursor\": {}}");
  auto events = cs.batch();
  ASSERT_EQ(events.size(), 2u) << cs.doc.json();
  EXPECT_NE(events[0].json().find("\"operationType\" : \"insert\""), std::string::npos);
  EXPECT_NE(events[1].json().find("\"operationType\" : \"update\""), std::string::npos);
  EXPECT_EQ(ts_of(events[1], "clusterTime"), ts_of(entries[1], "ts"));
  // Off again: a plain commit.
  EXPECT_TRUE(s.must("admin", R"({"mongosimControl": "preparedTransactions", "enabled": false})").ok());
  s.must("t", std::string(R"({"insert": "c", "documents": [{"_id": 3}], )") + kLsid + ", " + txn(2) +
                  R"(, "autocommit": false, "startTransaction": true})");
  EXPECT_TRUE(s.run("admin", std::string("{\"commitTransaction\": 1, ") + kLsid + ", " + txn(2) + ", \"autocommit\": false}").ok());
  auto all = s.find_all("local", "oplog.rs", R"({"ns": "admin.$cmd"})");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].json().find("prepare"), std::string::npos);
  ASSERT_TRUE(s.restart(/*kill9=*/true));
  EXPECT_EQ(count(s), 3);
  EXPECT_EQ(count(s, R"({"v": 1})"), 1);
}

}  // namespace
