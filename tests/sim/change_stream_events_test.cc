// Change events as each emulated version serves them (golden documents with tokens, times and
// UUIDs masked), resume tokens with the server's KeyString bytes (v1 on 4.4-6.0, v2 on 7.0+),
// and which namespaces collection, database and cluster streams see.
#include <gtest/gtest.h>

#include "change_stream_harness.h"

namespace {

using namespace cstest;

class EventsByVersion : public VersionedStreamTest {
 protected:
  // The expected event: `json` with wallTime inserted after clusterTime on 6.0+.
  std::string expect(const std::string& j) const {
    std::string s = j;
    if (v >= 60) {
      auto at = s.find("\"clusterTime\": \"TS\"");
      if (at != std::string::npos) s.insert(at + 19, ", \"wallTime\": \"DATE\"");
    }
    return json(s).canonical_json();
  }

};

TEST_P(EventsByVersion, CollectionStreamCrudDropInvalidate) {
  server->must("test", R"({"create": "c"})");
  Reply open = server->open("test", "c", "{}");
  ASSERT_TRUE(open.ok()) << open.status.to_string();
  Batch b = batch_of(open.doc, "firstBatch");
  EXPECT_TRUE(b.events.empty());
  EXPECT_NE(b.cursor_id, 0);
  EXPECT_EQ(b.ns, "test.c");
  EXPECT_FALSE(token_hex(b.pbrt).empty());

  server->must("test", R"({"insert": "c", "documents": [{"_id": 1, "a": 1, "b": 1}]})");
  server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2}, "$unset": {"b": ""}}}]})");
  server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"x": 1}}]})");
  server->must("test", R"({"delete": "c", "deletes": [{"q": {"_id": 1}, "limit": 1}]})");
  server->must("test", R"({"drop": "c"})");

  auto events = server->drain("test", b, 6);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(masked(events[0]),
            expect(R"({"_id": "TOKEN", "operationType": "insert", "clusterTime": "TS", "fullDocument": {"_id": 1, "a": 1, "b": 1},
                       "ns": {"db": "test", "coll": "c"}, "documentKey": {"_id": 1}})"));
  EXPECT_EQ(masked(events[1]),
            expect(v >= 50 ? R"({"_id": "TOKEN", "operationType": "update", "clusterTime": "TS", "ns": {"db": "test", "coll": "c"},
                               "documentKey": {"_id": 1},
                               "updateDescription": {"updatedFields": {"a": 2}, "removedFields": ["b"], "truncatedArrays": []}})"
                           : R"({"_id": "TOKEN", "operationType": "update", "clusterTime": "TS", "ns": {"db": "test", "coll": "c"},
                               "documentKey": {"_id": 1}, "updateDescription": {"updatedFields": {"a": 2}, "removedFields": ["b"]}})"));
  EXPECT_EQ(masked(events[2]),
            expect(R"({"_id": "TOKEN", "operationType": "replace", "clusterTime": "TS", "fullDocument": {"_id": 1, "x": 1},
                       "ns": {"db": "test", "coll": "c"}, "documentKey": {"_id": 1}})"));
  EXPECT_EQ(masked(events[3]),
            expect(R"({"_id": "TOKEN", "operationType": "delete", "clusterTime": "TS", "ns": {"db": "test", "coll": "c"},
                       "documentKey": {"_id": 1}})"));
  EXPECT_EQ(masked(events[4]),
            expect(R"({"_id": "TOKEN", "operationType": "drop", "clusterTime": "TS", "ns": {"db": "test", "coll": "c"}})"));
  EXPECT_EQ(masked(events[5]), expect(R"({"_id": "TOKEN", "operationType": "invalidate", "clusterTime": "TS"})"));
  // The batch carrying the invalidate closes the cursor; its PBRT is the invalidate's token.
  EXPECT_EQ(b.cursor_id, 0);
  EXPECT_EQ(token_hex(b.pbrt), token_hex(field_doc(events[5], "_id")));
  EXPECT_EQ(field_ts(events[4], "clusterTime"), field_ts(events[5], "clusterTime"));
}

TEST_P(EventsByVersion, MultiDeleteIsOneEventPerDocument) {
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1, "k": 1}, {"_id": 2, "k": 1}, {"_id": 3, "k": 1}]})");
  Reply open = server->open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"delete": "c", "deletes": [{"q": {"k": 1}, "limit": 0}]})");
  auto events = server->drain("test", b, 3);
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(field_doc(events[i], "documentKey").canonical_json(),
              json("{\"_id\": " + std::to_string(i + 1) + "}").canonical_json());
    EXPECT_EQ(field_names(events[i])[1], "operationType");
    bson_iter_t it;
    EXPECT_FALSE(bson_iter_init_find(&it, events[i].get(), "lsid"));  // a batch is no transaction
  }
  EXPECT_LT(token_hex(field_doc(events[0], "_id")), token_hex(field_doc(events[2], "_id")));
}

TEST_P(EventsByVersion, TokensAreTheServersKeyStrings) {
  server->must("test", R"({"create": "c"})");
  std::string uuid = server->collection_uuid_hex("test", "c");
  ASSERT_EQ(uuid.size(), 32u);
  Reply open = server->open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1}]})");
  server->must("test", R"({"drop": "c"})");
  auto events = server->drain("test", b, 3);
  ASSERT_EQ(events.size(), 3u);
  const bool v2 = v >= 70;
  const std::string head = std::string(v2 ? "2B04" : "2B02") + "2C0100" + "29";
  const std::string id_key = "46" + ks_field("1E", "_id", "2B02") + "00";
  std::string insert_ident = v2 ? "46" + ks_field("3C", "operationType", ks_string("insert")) + ks_field("46", "documentKey", id_key) + "00"
                                : id_key;
  EXPECT_EQ(token_hex(field_doc(events[0], "_id")),
            ts_hex(field_ts(events[0], "clusterTime")) + head + "6E" + "5A1004" + uuid + insert_ident + "04");
  std::string drop_ident = v2 ? "46" + ks_field("3C", "operationType", ks_string("drop")) + "00" : "";
  EXPECT_EQ(token_hex(field_doc(events[1], "_id")),
            ts_hex(field_ts(events[1], "clusterTime")) + head + "6E" + "5A1004" + uuid + drop_ident + "04");
  EXPECT_EQ(token_hex(field_doc(events[2], "_id")),
            ts_hex(field_ts(events[2], "clusterTime")) + head + "6F" + "5A1004" + uuid + drop_ident + "04");
  // No _typeBits for int32 _ids.
  EXPECT_EQ(field_names(field_doc(events[0], "_id")), std::vector<std::string>{"_data"});
}

TEST_P(EventsByVersion, DatabaseStreamRenameAndDropDatabase) {
  server->must("test", R"({"create": "c"})");
  Reply open = server->open("test", "", "{}");
  ASSERT_TRUE(open.ok()) << open.status.to_string();
  Batch b = batch_of(open.doc, "firstBatch");
  EXPECT_EQ(b.ns, "test.$cmd.aggregate");
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1}]})");
  server->must("test", R"({"insert": "system.js", "documents": [{"_id": "f", "value": 1}]})");
  server->must("other", R"({"insert": "c", "documents": [{"_id": 1}]})");
  server->must("admin", R"({"renameCollection": "test.c", "to": "test.d"})");
  server->must("test", R"({"dropDatabase": 1})");
  auto events = server->drain("test", b, 5);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(field_string(events[0], "operationType"), "insert");
  EXPECT_EQ(masked(events[1]),
            json(std::string(R"({"to": {"db": "test", "coll": "d"}, "_id": "TOKEN", "operationType": "rename", "clusterTime": "TS", )") +
                 (v >= 60 ? R"("wallTime": "DATE", )" : "") + R"("ns": {"db": "test", "coll": "c"}})")
                .canonical_json());
  EXPECT_EQ(masked(events[2]),
            expect(R"({"_id": "TOKEN", "operationType": "drop", "clusterTime": "TS", "ns": {"db": "test", "coll": "d"}})"));
  EXPECT_EQ(masked(events[3]),
            expect(R"({"_id": "TOKEN", "operationType": "dropDatabase", "clusterTime": "TS", "ns": {"db": "test"}})"));
  EXPECT_EQ(masked(events[4]), expect(R"({"_id": "TOKEN", "operationType": "invalidate", "clusterTime": "TS"})"));
  EXPECT_EQ(b.cursor_id, 0);
}

TEST_P(EventsByVersion, ClusterStreamSkipsInternalNamespaces) {
  Reply open = server->open("admin", "", R"({"allChangesForCluster": true})");
  ASSERT_TRUE(open.ok()) << open.status.to_string();
  Batch b = batch_of(open.doc, "firstBatch");
  EXPECT_EQ(b.ns, "admin.$cmd.aggregate");
  server->must("admin", R"({"insert": "x", "documents": [{"_id": 1}]})");
  server->must("config", R"({"insert": "x", "documents": [{"_id": 1}]})");
  server->must("local", R"({"insert": "x", "documents": [{"_id": 1}]})");
  server->must("a", R"({"insert": "system.js", "documents": [{"_id": "f", "value": 1}]})");
  server->must("a", R"({"insert": "c", "documents": [{"_id": 1}]})");
  server->must("b", R"({"insert": "c", "documents": [{"_id": 2}]})");
  server->must("a", R"({"dropDatabase": 1})");
  auto events = server->drain("admin", b, 4);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(field_doc(events[0], "ns").canonical_json(), json(R"({"db": "a", "coll": "c"})").canonical_json());
  EXPECT_EQ(field_doc(events[1], "ns").canonical_json(), json(R"({"db": "b", "coll": "c"})").canonical_json());
  EXPECT_EQ(field_string(events[2], "operationType"), "drop");
  EXPECT_EQ(field_string(events[3], "operationType"), "dropDatabase");
  // A cluster stream is never invalidated.
  EXPECT_NE(b.cursor_id, 0);
}

TEST_P(EventsByVersion, TransactionEventsCarryTheSession) {
  server->must("test", R"({"create": "c"})");
  Reply open = server->open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  bson_error_t err;
  mongoc_client_session_t* s = mongoc_client_start_session(server->client(), nullptr, &err);
  ASSERT_NE(s, nullptr) << err.message;
  if (!mongoc_client_session_start_transaction(s, nullptr, &err)) {
    mongoc_client_session_destroy(s);
    GTEST_SKIP() << "transactions: " << err.message;
  }
  mongoc_collection_t* coll = mongoc_client_get_collection(server->client(), "test", "c");
  bson_t opts = BSON_INITIALIZER;
  ASSERT_TRUE(mongoc_client_session_append(s, &opts, &err));
  bool ok = true;
  for (int i = 1; i <= 3 && ok; ++i) {
    Bson d = json("{\"_id\": " + std::to_string(i) + "}");
    ok = mongoc_collection_insert_one(coll, d.get(), &opts, nullptr, &err);
  }
  bool committed = ok && mongoc_client_session_commit_transaction(s, nullptr, &err);
  bson_destroy(&opts);
  mongoc_collection_destroy(coll);
  mongoc_client_session_destroy(s);
  if (!committed) GTEST_SKIP() << "transactions not available in this build: " << err.message;
  auto events = server->drain("test", b, 3);
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    std::vector<std::string> names = {"txnNumber", "lsid", "_id", "operationType", "clusterTime"};
    if (v >= 60) names.push_back("wallTime");
    for (const char* n : {"fullDocument", "ns", "documentKey"}) names.push_back(n);
    EXPECT_EQ(field_names(events[i]), names);
    // Same commit time; txnOpIndex orders them.
    EXPECT_EQ(field_ts(events[i], "clusterTime"), field_ts(events[0], "clusterTime"));
    if (i > 0) {
      EXPECT_LT(token_hex(field_doc(events[i - 1], "_id")), token_hex(field_doc(events[i], "_id")));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, EventsByVersion, ::testing::ValuesIn(all_versions()),
                         version_test_name);

}  // namespace
