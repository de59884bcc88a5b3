// The oplog as a client reads it from a mongosim process: entry shapes per emulated version,
// the order and uniqueness of timestamps, ts-seeking and tailable awaitData reads, the size
// cap, and its place in listCollections/collStats.
#include <gtest/gtest.h>

#include <thread>

#include "support/sim_client.h"

namespace {

using common::Bson;
using testsupport::Reply;
using testsupport::SimServer;

std::vector<Bson> oplog_for(SimServer& s, const std::string& ns) {
  return s.find_all("local", "oplog.rs", "{\"ns\": {\"$in\": [\"" + ns + "\", \"" + ns.substr(0, ns.find('.')) + ".$cmd\"]}}");
}

std::string field(const Bson& d, const char* path) {
  bson_iter_t it, f;
  if (!bson_iter_init(&it, d.get()) || !bson_iter_find_descendant(&it, path, &f)) return "<absent>";
  return common::value_to_json(bson_iter_value(&f));
}

std::string keys_of(const Bson& d) {
  std::string out;
  bson_iter_t it;
  bson_iter_init(&it, d.get());
  while (bson_iter_next(&it)) out += std::string(out.empty() ? "" : ",") + bson_iter_key(&it);
  return out;
}

TEST(ReplOplog, CrudEntriesAsSevenZeroWritesThem) {
  SimServer s({"--server-version", "7.0"});
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1, "a": 1, "arr": [1, 2]}]})");
  s.must("t", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2}, "$push": {"arr": 3}}}]})");
  s.must("t", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"x": "replaced"}}]})");
  s.must("t", R"({"delete": "c", "deletes": [{"q": {"_id": 1}, "limit": 1}]})");
  auto entries = oplog_for(s, "t.c");
  ASSERT_EQ(entries.size(), 5u);  // create + 4 CRUD
  EXPECT_EQ(field(entries[0], "o"), R"({ "create" : "c", "idIndex" : { "v" : 2, "key" : { "_id" : 1 }, "name" : "_id_" } })");
  EXPECT_EQ(field(entries[1], "op"), "\"i\"");
  EXPECT_EQ(field(entries[1], "o2"), R"({ "_id" : 1 })");
  EXPECT_EQ(keys_of(entries[1]), "op,ns,ui,o,o2,ts,t,v,wall");
  EXPECT_EQ(field(entries[2], "o"), R"({ "$v" : 2, "diff" : { "u" : { "a" : 2 }, "sarr" : { "a" : true, "u2" : 3 } } })");
  EXPECT_EQ(field(entries[2], "o2"), R"({ "_id" : 1 })");
  EXPECT_EQ(field(entries[3], "o"), R"({ "_id" : 1, "x" : "replaced" })");
  EXPECT_EQ(field(entries[4], "op"), "\"d\"");
  EXPECT_EQ(field(entries[4], "o"), R"({ "_id" : 1 })");
  // v is a long from 5.0 on.
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, entries[1].get(), "v"));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
}

// A multi-document delete on 6.1+ logs applyOps batches (100 deletes each) without session
// fields; 6.0 logs one 'd' entry per document. Both survive a restart.
TEST(ReplOplog, MultiDeletesAreBatchedFromSixOne) {
  for (const char* version : {"7.0", "6.0"}) {
    SCOPED_TRACE(version);
    SimServer s({"--server-version", version});
    ASSERT_TRUE(s.up());
    std::string docs;
    for (int i = 0; i < 250; ++i) docs += std::string(docs.empty() ? "" : ",") + "{\"_id\": " + std::to_string(i) + ", \"k\": 1}";
    s.must("t", "{\"insert\": \"c\", \"documents\": [" + docs + "]}");
    Reply del = s.must("t", R"({"delete": "c", "deletes": [{"q": {"k": 1}, "limit": 0}]})");
    EXPECT_EQ(del.num("n"), 250);
    auto batches = s.find_all("local", "oplog.rs", R"({"op": "c", "ns": "admin.$cmd"})");
    auto singles = s.find_all("local", "oplog.rs", R"({"op": "d", "ns": "t.c"})");
    if (std::string(version) == "7.0") {
      ASSERT_EQ(batches.size(), 3u);
      EXPECT_TRUE(singles.empty());
      EXPECT_EQ(keys_of(batches[0]), "op,ns,o,ts,t,v,wall");
      EXPECT_EQ(field(batches[0], "o.applyOps.0.op"), "\"d\"");
      EXPECT_EQ(field(batches[0], "o.applyOps.0.ns"), "\"t.c\"");
      EXPECT_EQ(field(batches[0], "o.applyOps.0.o"), R"({ "_id" : 0 })");
      EXPECT_EQ(field(batches[0], "o.applyOps.99.o"), R"({ "_id" : 99 })");
      EXPECT_EQ(field(batches[2], "o.applyOps.49.o"), R"({ "_id" : 249 })");
      EXPECT_EQ(field(batches[2], "o.applyOps.50"), "<absent>");
    } else {
      EXPECT_TRUE(batches.empty());
      EXPECT_EQ(singles.size(), 250u);
    }
    // A one-document match stays a plain entry.
    s.must("t", R"({"insert": "c", "documents": [{"_id": 1000, "k": 2}]})");
    s.must("t", R"({"delete": "c", "deletes": [{"q": {"k": 2}, "limit": 0}]})");
    EXPECT_EQ(s.find_all("local", "oplog.rs", R"({"op": "d", "o._id": 1000})").size(), 1u);
    ASSERT_TRUE(s.restart());
    EXPECT_EQ(s.must("t", R"({"count": "c"})").num("n"), 0);
  }
}

TEST(ReplOplog, FourFourWritesV1UpdatesAndNoInsertO2) {
  SimServer s({"--server-version", "4.4"});
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1, "a": 1}]})");
  s.must("t", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 5}, "$unset": {"b": ""}}}]})");
  auto entries = oplog_for(s, "t.c");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(field(entries[1], "o2"), "<absent>");
  EXPECT_EQ(field(entries[2], "o"), R"({ "$v" : 1, "$set" : { "a" : 5 } })");
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, entries[1].get(), "v"));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT32);
}

TEST(ReplOplog, TimestampsStrictlyIncreaseAcrossConcurrentWriters) {
  SimServer s;
  ASSERT_TRUE(s.up());
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&s, w] {
      mongoc_client_t* c = mongoc_client_new(s.uri().c_str());
      for (int i = 0; i < 50; ++i) {
        bson_t* cmd = BCON_NEW("insert", BCON_UTF8("w"), "documents", "[", "{", "w", BCON_INT32(w), "i", BCON_INT32(i), "}",
                               "]");
        bson_error_t err;
        EXPECT_TRUE(mongoc_client_command_simple(c, "t", cmd, nullptr, nullptr, &err)) << err.message;
        bson_destroy(cmd);
      }
      mongoc_client_destroy(c);
    });
  }
  for (auto& t : writers) t.join();
  auto all = s.find_all("local", "oplog.rs");
  ASSERT_GT(all.size(), 200u);
  uint64_t prev = 0;
  for (const auto& e : all) {
    bson_iter_t it;
    ASSERT_TRUE(bson_iter_init_find(&it, e.get(), "ts"));
    uint32_t t, i;
    bson_iter_timestamp(&it, &t, &i);
    uint64_t v = (static_cast<uint64_t>(t) << 32) | i;
    EXPECT_GT(v, prev);
    prev = v;
  }
}

TEST(ReplOplog, TailableAwaitDataSeesLaterWrites) {
  SimServer s;
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 0}]})");
  Reply last = s.must("local", R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1})");
  auto newest = last.batch();
  ASSERT_EQ(newest.size(), 1u);
  std::string ts = field(newest[0], "ts");
  Reply cur = s.must("local", "{\"find\": \"oplog.rs\", \"filter\": {\"ts\": {\"$gt\": " + ts +
                                  "}}, \"tailable\": true, \"awaitData\": true}");
  EXPECT_EQ(cur.batch().size(), 0u);
  ASSERT_NE(cur.cursor_id(), 0);  // the oplog has records: the cursor lives on
  std::thread writer([&s] {
    // Its own client: a mongoc_client_t serves one thread at a time.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    mongoc_client_t* c = mongoc_client_new(s.uri().c_str());
    bson_t* cmd = BCON_NEW("insert", BCON_UTF8("c"), "documents", "[", "{", "_id", BCON_INT32(1), "}", "]");
    bson_error_t err;
    EXPECT_TRUE(mongoc_client_command_simple(c, "t", cmd, nullptr, nullptr, &err)) << err.message;
    bson_destroy(cmd);
    mongoc_client_destroy(c);
  });
  auto t0 = std::chrono::steady_clock::now();
  Reply more = s.must("local", "{\"getMore\": {\"$numberLong\": \"" + std::to_string(cur.cursor_id()) +
                                   "\"}, \"collection\": \"oplog.rs\", \"maxTimeMS\": 5000}");
  writer.join();
  auto waited = std::chrono::steady_clock::now() - t0;
  auto got = more.batch();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(field(got[0], "o"), R"({ "_id" : 1 })");
  EXPECT_LT(waited, std::chrono::seconds(5));  // woken by the write, not the timeout
}

TEST(ReplOplog, SizeCapTruncatesTheOldestEntries) {
  SimServer s({"--oplog-size-mb", "1"});
  ASSERT_TRUE(s.up());
  std::string pad(2000, 'x');
  for (int b = 0; b < 10; ++b) {
    std::string docs;
    for (int i = 0; i < 100; ++i) {
      docs += std::string(docs.empty() ? "" : ",") + "{\"p\": \"" + pad + "\"}";
    }
    s.must("t", "{\"insert\": \"big\", \"documents\": [" + docs + "]}");
  }
  Reply stats = s.must("local", R"({"collStats": "oplog.rs"})");
  EXPECT_LE(stats.num("size"), 1024 * 1024);
  EXPECT_GT(stats.num("size"), 900 * 1024);
  EXPECT_EQ(stats.num("maxSize"), 1024 * 1024);
  // The first entries ("initiating set", the create) are gone.
  Reply first = s.must("local", R"({"find": "oplog.rs", "sort": {"$natural": 1}, "limit": 1})");
  auto f = first.batch();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(field(f[0], "op"), "\"i\"");
}

TEST(ReplOplog, ListedAsCappedWithoutIndexes) {
  SimServer s;
  ASSERT_TRUE(s.up());
  Reply lc = s.must("local", R"({"listCollections": 1, "filter": {"name": "oplog.rs"}})");
  auto b = lc.batch();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(field(b[0], "options.capped"), "true");
  Reply li = s.must("local", R"({"listIndexes": "oplog.rs"})");
  EXPECT_TRUE(li.batch().empty());
  Reply ins = s.run("local", R"({"insert": "oplog.rs", "documents": [{"x": 1}]})");
  EXPECT_FALSE(ins.ok());
}

TEST(ReplOplog, CollStatsStageReportsTheOplogSizes) {
  SimServer s({"--oplog-size-mb", "2"});
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1}, {"_id": 2}]})");
  Reply count = s.must("local", R"({"count": "oplog.rs"})");
  Reply r = s.must("local",
                   R"({"aggregate": "oplog.rs", "pipeline": [{"$collStats": {"storageStats": {"scale": 1024}, "count": {}}}],
                       "cursor": {}})");
  auto b = r.batch();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(field(b[0], "ns"), "\"local.oplog.rs\"");
  EXPECT_EQ(field(b[0], "storageStats.maxSize"), "2048");
  EXPECT_EQ(field(b[0], "storageStats.capped"), "true");
  EXPECT_EQ(field(b[0], "count"), std::to_string(count.num("n")));
  // A missing collection still fails as the server's stage does.
  Reply missing = s.run("local", R"({"aggregate": "nope", "pipeline": [{"$collStats": {"storageStats": {}}}], "cursor": {}})");
  EXPECT_EQ(missing.code(), 26);
}

TEST(ReplOplog, StandaloneHasNoOplog) {
  SimServer s({"--standalone"});
  ASSERT_TRUE(s.up());
  s.must("t", R"({"insert": "c", "documents": [{"_id": 1}]})");
  Reply lc = s.must("local", R"({"listCollections": 1, "filter": {"name": "oplog.rs"}})");
  EXPECT_TRUE(lc.batch().empty());
  Reply r = s.must("local", R"({"find": "oplog.rs"})");
  EXPECT_TRUE(r.batch().empty());
}

}  // namespace
