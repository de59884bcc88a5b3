// Oplog entries and change events → normalized events, on hand-written entries: partialTxn
// chains, prepared transactions (commit and abort), batched deletes, DDL forms, views,
// internal namespaces; and split change events reassembled.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "change/oplog_normalize.h"
#include "change/stream_normalize.h"

namespace {

common::Bson doc(const std::string& j) {
  auto r = common::Bson::from_json(j);
  EXPECT_TRUE(r.ok()) << j;
  return r.ok() ? std::move(r).value() : common::Bson();
}

std::string ts(int i) { return R"({"$timestamp": {"t": 100, "i": )" + std::to_string(i) + "}}"; }
const std::string kSession = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}}, "txnNumber": 3)";

std::vector<std::string> add(change::OplogNormalizer& n, const std::string& entry) {
  std::vector<change::ChangeEvent> out;
  EXPECT_TRUE(n.add(doc(entry).get(), &out).ok());
  std::vector<std::string> s;
  for (const auto& e : out) {
    s.push_back(std::string(change::to_string(e.type)) + " " + e.db + "." + e.coll + " " +
                (e.type == change::EventType::kCommand ? e.command.json() : e.key.json()));
  }
  return s;
}

using V = std::vector<std::string>;

TEST(OplogNormalize, PartialTransactionChainWaitsForItsLastEntry) {
  change::OplogNormalizer n;
  EXPECT_EQ(add(n, "{" + kSession + R"(, "op": "c", "ns": "admin.$cmd", "ts": )" + ts(1) +
                       R"(, "o": {"applyOps": [{"op": "i", "ns": "a.b", "o": {"_id": 1}}], "partialTxn": true}})"),
            V{});
  ASSERT_TRUE(n.oldest_open().has_value());
  EXPECT_EQ(n.oldest_open()->i, 1u);
  EXPECT_EQ(add(n, R"({"op": "i", "ns": "a.c", "ts": )" + ts(2) + R"(, "o": {"_id": 9}})"), (V{R"(insert a.c { "_id" : 9 })"}));
  EXPECT_EQ(add(n, "{" + kSession + R"(, "op": "c", "ns": "admin.$cmd", "ts": )" + ts(3) +
                       R"(, "o": {"applyOps": [{"op": "d", "ns": "a.b", "o": {"_id": 2}}], "count": 2}})"),
            (V{R"(insert a.b { "_id" : 1 })", R"(delete a.b { "_id" : 2 })"}));
  EXPECT_FALSE(n.oldest_open().has_value());
}

TEST(OplogNormalize, PreparedTransactionsApplyAtCommitAndVanishOnAbort) {
  change::OplogNormalizer n;
  std::string prepare = "{" + kSession + R"(, "op": "c", "ns": "admin.$cmd", "ts": )" + ts(1) +
                        R"(, "o": {"applyOps": [{"op": "i", "ns": "a.b", "o": {"_id": 1}}], "prepare": true}})";
  EXPECT_EQ(add(n, prepare), V{});
  EXPECT_EQ(add(n, "{" + kSession + R"(, "op": "c", "ns": "admin.$cmd", "ts": )" + ts(2) +
                       R"(, "o": {"commitTransaction": 1, "commitTimestamp": )" + ts(1) + "}}"),
            (V{R"(insert a.b { "_id" : 1 })"}));
  EXPECT_EQ(add(n, prepare), V{});
  EXPECT_EQ(add(n, "{" + kSession + R"(, "op": "c", "ns": "admin.$cmd", "ts": )" + ts(3) + R"(, "o": {"abortTransaction": 1}})"),
            V{});
  EXPECT_FALSE(n.oldest_open().has_value());
}

TEST(OplogNormalize, BatchedDeletesAndInternalNamespaces) {
  change::OplogNormalizer n;
  EXPECT_EQ(add(n, R"({"op": "c", "ns": "admin.$cmd", "ts": )" + ts(1) +
                       R"(, "o": {"applyOps": [{"op": "d", "ns": "a.b", "o": {"_id": 1}}, {"op": "d", "ns": "a.b", "o": {"_id": 2}}]}})"),
            (V{R"(delete a.b { "_id" : 1 })", R"(delete a.b { "_id" : 2 })"}));
  EXPECT_EQ(add(n, R"({"op": "i", "ns": "config.system.sessions", "ts": )" + ts(2) + R"(, "o": {"_id": 1}})"), V{});
  EXPECT_EQ(add(n, R"({"op": "n", "ns": "", "ts": )" + ts(3) + R"(, "o": {"msg": "periodic noop"}})"), V{});
  EXPECT_EQ(add(n, R"({"op": "i", "ns": "a.b", "fromMigrate": true, "ts": )" + ts(4) + R"(, "o": {"_id": 1}})"), V{});
}

TEST(OplogNormalize, CommandsBecomeRunnableCommands) {
  change::OplogNormalizer n;
  EXPECT_EQ(add(n, R"({"op": "c", "ns": "a.$cmd", "ts": )" + ts(1) + R"(, "o": {"createIndexes": "b", "v": 2, "key": {"x": 1}, "name": "x_1"}})"),
            (V{R"(command a.b { "createIndexes" : "b", "indexes" : [ { "v" : 2, "key" : { "x" : 1 }, "name" : "x_1" } ] })"}));
  EXPECT_EQ(add(n, R"({"op": "c", "ns": "a.$cmd", "ts": )" + ts(2) + R"(, "o": {"startIndexBuild": "b", "indexes": [{"key": {"y": 1}, "name": "y_1"}]}})"),
            V{});
  EXPECT_EQ(add(n, R"({"op": "c", "ns": "a.$cmd", "ts": )" + ts(3) + R"(, "o": {"commitIndexBuild": "b", "indexes": [{"key": {"y": 1}, "name": "y_1"}]}})"),
            (V{R"(command a.b { "createIndexes" : "b", "indexes" : [ { "key" : { "y" : 1 }, "name" : "y_1" } ] })"}));
  EXPECT_EQ(add(n, R"({"op": "c", "ns": "a.$cmd", "ts": )" + ts(4) +
                       R"(, "o": {"renameCollection": "a.b", "to": "a.c", "stayTemp": false, "dropTarget": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}}})"),
            (V{R"(command a.b { "renameCollection" : "a.b", "to" : "a.c", "dropTarget" : true })"}));
  EXPECT_EQ(add(n, R"({"op": "i", "ns": "a.system.views", "ts": )" + ts(5) + R"(, "o": {"_id": "a.v", "viewOn": "c", "pipeline": []}})"),
            (V{R"(command a.v { "create" : "v", "viewOn" : "c", "pipeline" : [  ] })"}));
  EXPECT_EQ(add(n, R"({"op": "d", "ns": "a.system.views", "ts": )" + ts(6) + R"(, "o": {"_id": "a.v"}})"),
            (V{R"(command a.v { "drop" : "v" })"}));
  EXPECT_EQ(add(n, R"({"op": "c", "ns": "a.$cmd", "ts": )" + ts(7) +
                       R"(, "o": {"create": "system.buckets.m", "timeseries": {"timeField": "t"}, "clusteredIndex": true}})"),
            (V{R"(command a.m { "create" : "m", "timeseries" : { "timeField" : "t" } })"}));
}

TEST(StreamNormalize, SplitEventsAreReassembled) {
  change::StreamNormalizer n;
  std::vector<change::ChangeEvent> out;
  ASSERT_TRUE(n.add(doc(R"({"_id": {"_data": "01"}, "splitEvent": {"fragment": 1, "of": 2}, "operationType": "insert",
                           "clusterTime": {"$timestamp": {"t": 5, "i": 1}}, "ns": {"db": "a", "coll": "b"},
                           "documentKey": {"_id": 7}})").get(), &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(n.in_split());
  ASSERT_TRUE(n.add(doc(R"({"_id": {"_data": "02"}, "splitEvent": {"fragment": 2, "of": 2},
                           "fullDocument": {"_id": 7, "big": "x"}})").get(), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(n.in_split());
  EXPECT_EQ(out[0].type, change::EventType::kInsert);
  EXPECT_EQ(out[0].db + "." + out[0].coll, "a.b");
  EXPECT_EQ(out[0].doc.json(), R"({ "_id" : 7, "big" : "x" })");
  EXPECT_EQ(out[0].ts.t, 5u);
}

}  // namespace
