// --dbpath persistence: a clean restart keeps data, catalog, indexes, views and the oplog;
// after kill -9 every acknowledged write is there; a corrupt checkpoint or a foreign file in
// the dbpath stops the start with a clear message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/sim_client.h"

namespace {

using common::Bson;
using testsupport::MongosimProcess;
using testsupport::Reply;
using testsupport::SimServer;

std::string dump(SimServer& s, const std::string& db, const std::string& coll) {
  std::string out;
  for (const auto& d : s.find_all(db, coll, "{}", R"("sort": {"_id": 1})")) out += d.json() + "\n";
  return out;
}

std::string catalog_of(SimServer& s, const std::string& db) {
  std::string out;
  Reply lc = s.must(db, R"({"listCollections": 1})");
  for (const auto& c : lc.batch()) out += c.json() + "\n";
  for (const char* coll : {"c", "capped"}) {
    Reply li = s.run(db, std::string("{\"listIndexes\": \"") + coll + "\"}");
    for (const auto& i : li.batch()) out += i.json() + "\n";
  }
  return out;
}

void populate(SimServer& s) {
  s.must("p", R"({"create": "c", "validator": {"n": {"$gte": 0}}, "collation": {"locale": "en", "strength": 2}})");
  s.must("p", R"({"create": "capped", "capped": true, "size": 4096, "max": 3})");
  s.must("p", R"({"createIndexes": "c", "indexes": [{"key": {"s": 1}, "name": "s_1", "unique": true}, {"key": {"n": -1, "s": 1}, "name": "n_s"}]})");
  s.must("p", R"({"insert": "c", "documents": [{"_id": 1, "n": 1, "s": "a"}, {"_id": 2, "n": 2, "s": "b", "d": {"$numberDecimal": "1.10"}}]})");
  s.must("p", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x.y": [1, 2]}, "$inc": {"n": 5}}}]})");
  s.must("p", R"({"insert": "capped", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}, {"_id": 4}]})");
  s.must("p", R"({"create": "v", "viewOn": "c", "pipeline": [{"$match": {"n": {"$gt": 2}}}]})");
  s.must("p", R"({"insert": "gone", "documents": [{"_id": 1}]})");
  s.must("p", R"({"drop": "gone"})");
}

TEST(ReplPersist, CleanRestartKeepsEverything) {
  SimServer s;
  ASSERT_TRUE(s.up());
  populate(s);
  std::string data = dump(s, "p", "c") + dump(s, "p", "capped") + dump(s, "p", "v");
  std::string catalog = catalog_of(s, "p");
  size_t oplog = s.find_all("local", "oplog.rs").size();
  ASSERT_TRUE(s.restart());
  EXPECT_EQ(dump(s, "p", "c") + dump(s, "p", "capped") + dump(s, "p", "v"), data);
  EXPECT_EQ(catalog_of(s, "p"), catalog);
  // The oplog keeps its entries; the restart adds the new primary's no-op.
  EXPECT_EQ(s.find_all("local", "oplog.rs").size(), oplog + 1);
  // Indexes still enforce: the unique index, with its collation.
  Reply dup = s.must("p", R"({"insert": "c", "documents": [{"_id": 3, "n": 1, "s": "A"}]})");
  EXPECT_NE(dup.doc.json().find("11000"), std::string::npos);
  // The validator too.
  Reply bad = s.must("p", R"({"insert": "c", "documents": [{"_id": 4, "n": -1, "s": "z"}]})");
  EXPECT_NE(bad.doc.json().find("121"), std::string::npos);
}

TEST(ReplPersist, KillNineKeepsAcknowledgedWrites) {
  SimServer s;
  ASSERT_TRUE(s.up());
  populate(s);
  for (int i = 0; i < 50; ++i) {
    s.must("p", "{\"insert\": \"k\", \"documents\": [{\"_id\": " + std::to_string(i) + "}], \"writeConcern\": {\"w\": 1}}");
  }
  s.must("p", R"({"delete": "k", "deletes": [{"q": {"_id": {"$lt": 10}}, "limit": 0}]})");
  s.must("p", R"({"createIndexes": "k", "indexes": [{"key": {"z": 1}, "name": "z_1"}]})");
  std::string data = dump(s, "p", "c") + dump(s, "p", "k");
  std::string catalog = catalog_of(s, "p");
  auto last = s.must("local", R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1})").batch();
  ASSERT_TRUE(s.restart(/*kill9=*/true));
  EXPECT_EQ(dump(s, "p", "c") + dump(s, "p", "k"), data);
  EXPECT_EQ(catalog_of(s, "p"), catalog);
  EXPECT_EQ(s.must("p", R"({"listIndexes": "k"})").batch().size(), 2u);
  // The newest entry before the kill is still in the oplog.
  bson_iter_t it;
  ASSERT_EQ(last.size(), 1u);
  ASSERT_TRUE(bson_iter_init_find(&it, last[0].get(), "ts"));
  uint32_t t, i;
  bson_iter_timestamp(&it, &t, &i);
  auto again = s.find_all("local", "oplog.rs",
                          "{\"ts\": {\"$timestamp\": {\"t\": " + std::to_string(t) + ", \"i\": " + std::to_string(i) + "}}}");
  EXPECT_EQ(again.size(), 1u);
}

TEST(ReplPersist, KillNineKeepsRetryableBatchEntriesWithTheirSessionFields) {
  // The statements of a retryable batch share {lsid, txnNumber}; the journal writes them once
  // and recovery must give every entry its session fields back, byte for byte.
  SimServer s;
  ASSERT_TRUE(s.up());
  const std::string lsid1 = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAQ==", "subType": "04"}}})";
  const std::string lsid2 = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAg==", "subType": "04"}}})";
  s.must("p", R"({"insert": "r", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}], )" + lsid1 +
                  R"(, "txnNumber": {"$numberLong": "1"}})");
  s.must("p", R"({"insert": "r", "documents": [{"_id": 4}]})");  // no session fields between
  s.must("p", R"({"insert": "r", "documents": [{"_id": 5}, {"_id": 6}], )" + lsid2 +
                  R"(, "txnNumber": {"$numberLong": "7"}})");
  s.must("p", R"({"insert": "r", "documents": [{"_id": 7}, {"_id": 8}], )" + lsid1 +
                  R"(, "txnNumber": {"$numberLong": "2"}})");
  auto entries = [&] {
    std::string all;
    for (const auto& e : s.find_all("local", "oplog.rs", R"({"ns": "p.r", "op": "i"})")) all += e.canonical_json() + "\n";
    return all;
  };
  std::string before = entries();
  ASSERT_NE(before.find("txnNumber"), std::string::npos);
  ASSERT_TRUE(s.restart(/*kill9=*/true));
  EXPECT_EQ(entries(), before);
  EXPECT_EQ(s.find_all("p", "r").size(), 8u);
}

TEST(ReplPersist, KillNineKeepsCommittedTransactionsAndStandaloneData) {
  SimServer rs;
  ASSERT_TRUE(rs.up());
  rs.must("t", R"({"insert": "c", "documents": [{"_id": 1}]})");
  const char* lsid = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAQACAAAAAAAAAAQ==", "subType": "04"}}})";
  rs.must("t", std::string(R"({"insert": "c", "documents": [{"_id": 2}], )") + lsid +
                   R"(, "txnNumber": {"$numberLong": "1"}, "autocommit": false, "startTransaction": true})");
  rs.must("admin", std::string(R"({"commitTransaction": 1, )") + lsid + R"(, "txnNumber": {"$numberLong": "1"}, "autocommit": false})");
  ASSERT_TRUE(rs.restart(true));
  EXPECT_EQ(rs.find_all("t", "c").size(), 2u);

  SimServer sa({"--standalone"});
  ASSERT_TRUE(sa.up());
  sa.must("t", R"({"insert": "c", "documents": [{"_id": 1, "a": [1]}]})");
  sa.must("t", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$push": {"a": 2}}}]})");
  ASSERT_TRUE(sa.restart(true));
  auto docs = sa.find_all("t", "c");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].json(), R"({ "_id" : 1, "a" : [ 1, 2 ] })");
}

// Writes acknowledged with j:true or w:majority survive kill -9 even when the last journal
// record was torn (garbage after it): recovery keeps the records before it and says so.
TEST(ReplPersist, JournaledWritesSurviveKillNineAndATornJournalTail) {
  std::string dir = testsupport::make_temp_dir("persist-torn");
  {
    SimServer s({"--dbpath", dir});
    ASSERT_TRUE(s.up());
    s.must("t", R"({"insert": "c", "documents": [{"_id": 1}], "writeConcern": {"w": 1, "j": true}})");
    s.must("t", R"({"insert": "c", "documents": [{"_id": 2}], "writeConcern": {"w": "majority"}})");
    s.must("t", R"({"update": "c", "updates": [{"q": {"_id": 2}, "u": {"$set": {"v": 1}}}], "writeConcern": {"j": true}})");
    s.process().kill9();
  }
  std::ofstream(dir + "/mongosim.journal", std::ios::app) << "torn-record";
  SimServer again({"--dbpath", dir});
  ASSERT_TRUE(again.up());
  auto docs = again.find_all("t", "c");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].json(), R"({ "_id" : 2, "v" : 1 })");
  EXPECT_NE(again.process().log().find("bad record length"), std::string::npos) << again.process().log();
  again.process().stop();
  std::filesystem::remove_all(dir);
}

TEST(ReplPersist, ForeignAndCorruptFilesStopTheStartWithAMessage) {
  std::string dir = testsupport::make_temp_dir("persist-bad");
  std::ofstream(dir + "/WiredTiger") << "WiredTiger\n";
  auto p = MongosimProcess::start({"--dbpath", dir});
  EXPECT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("WiredTiger"), std::string::npos) << p.status().message();
  std::filesystem::remove(dir + "/WiredTiger");
  std::ofstream(dir + "/mongosim.checkpoint") << "this is not a checkpoint";
  auto q = MongosimProcess::start({"--dbpath", dir});
  EXPECT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("mongosim.checkpoint"), std::string::npos) << q.status().message();
  std::filesystem::remove_all(dir);
}

// The framed records of a checkpoint file: their payload sizes, in order.
std::vector<uint32_t> checkpoint_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<uint32_t> sizes;
  size_t pos = 0;
  while (pos + 8 <= data.size()) {
    uint32_t len = 0;
    std::memcpy(&len, data.data() + pos, 4);
    sizes.push_back(len);
    pos += 8 + len;
  }
  EXPECT_EQ(pos, data.size()) << "the records do not end at the end of " << path;
  return sizes;
}

TEST(ReplPersist, LargeCollectionsAreCheckpointedInChunksAndComeBack) {
  // 24 MB in one collection: its documents must be written in chunks of about 8 MB (a
  // reader refuses records over 64 MB, so one record per collection lost any collection
  // larger than that at the next start).
  SimServer s;
  ASSERT_TRUE(s.up());
  const std::string pad(20000, 'x');
  for (int batch = 0; batch < 12; ++batch) {
    std::string docs;
    for (int i = 0; i < 100; ++i) {
      if (i) docs += ", ";
      docs += "{\"_id\": " + std::to_string(batch * 100 + i) + ", \"pad\": \"" + pad + "\"}";
    }
    s.must("p", "{\"insert\": \"big\", \"documents\": [" + docs + "]}");
  }
  ASSERT_TRUE(s.restart());
  Reply n = s.must("p", R"({"count": "big"})");
  EXPECT_NE(n.doc.json().find("\"n\" : 1200"), std::string::npos) << n.doc.json();
  std::string path = s.process().dbpath() + "/mongosim.checkpoint";
  auto sizes = checkpoint_records(path);
  ASSERT_GT(sizes.size(), 4u);
  uint32_t largest = *std::max_element(sizes.begin(), sizes.end());
  EXPECT_LT(largest, 9u * 1024 * 1024) << "a record of " << largest << " bytes";
}

TEST(ReplPersist, AFailedStartLeavesTheFilesAsTheyWere) {
  std::string dir;
  {
    SimServer s;
    ASSERT_TRUE(s.up());
    populate(s);
    dir = s.process().dbpath();
    s.process().stop();
    // Keep the dbpath: damage the checkpoint after its first records (the loader gets past
    // the header and some collections before it fails).
    std::string cp = dir + "/mongosim.checkpoint";
    std::fstream f(cp, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    auto size = static_cast<std::streamoff>(f.tellg());
    ASSERT_GT(size, 400);
    f.seekp(size - 40);
    f.put('\x7f');
    f.close();
    auto read = [](const std::string& p) {
      std::ifstream in(p, std::ios::binary);
      return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    std::string before_cp = read(cp), before_journal = read(dir + "/mongosim.journal");
    auto p = MongosimProcess::start({"--dbpath", dir});
    EXPECT_FALSE(p.ok());
    EXPECT_NE(p.status().message().find("mongosim.checkpoint is corrupt"), std::string::npos) << p.status().message();
    EXPECT_EQ(read(cp), before_cp) << "the failed start rewrote the checkpoint";
    EXPECT_EQ(read(dir + "/mongosim.journal"), before_journal);
    // Nothing else was written either (no temporary checkpoint left behind).
    EXPECT_FALSE(std::filesystem::exists(cp + ".tmp"));
  }
}

TEST(ReplPersist, SecondProcessOnTheSameDbpathIsRefused) {
  SimServer s;
  ASSERT_TRUE(s.up());
  auto p = MongosimProcess::start({"--dbpath", s.process().dbpath()});
  EXPECT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("in use"), std::string::npos) << p.status().message();
}

}  // namespace
