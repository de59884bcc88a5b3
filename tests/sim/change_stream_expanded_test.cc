// showExpandedEvents (6.0+): create, createIndexes (single-phase and commitIndexBuild),
// dropIndexes, modify (collMod with stateBeforeChange), rename with operationDescription,
// collectionUUID on every collection event, view definitions as create/modify/drop on
// database streams; the option is unknown before 6.0.
#include <gtest/gtest.h>

#include "change_stream_harness.h"

namespace {

using namespace cstest;

using Expanded = VersionedStreamTest;

TEST_P(Expanded, DdlEvents) {
  Reply open = server->open("test", "", R"({"showExpandedEvents": true})");
  if (v < 60) {
    ASSERT_FALSE(open.ok());
    EXPECT_EQ(open.status.code(), 40415);
    EXPECT_EQ(open.status.message(), "BSON field '$changeStream.showExpandedEvents' is an unknown field.");
    return;
  }
  ASSERT_TRUE(open.ok()) << open.status.to_string();
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"create": "c"})");
  server->must("test", R"({"createIndexes": "c", "indexes": [{"key": {"a": 1}, "name": "a_1"}]})");
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1, "a": 1}]})");
  server->must("test", R"({"createIndexes": "c", "indexes": [{"key": {"b": 1}, "name": "b_1"}]})");
  server->must("test", R"({"dropIndexes": "c", "index": "a_1"})");
  server->must("test", R"({"collMod": "c", "validationLevel": "moderate"})");
  server->must("admin", R"({"renameCollection": "test.c", "to": "test.d"})");
  auto events = server->drain("test", b, 7);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(masked(events[0]),
            json(R"({"_id": "TOKEN", "operationType": "create", "clusterTime": "TS", "collectionUUID": "UUID",
                     "wallTime": "DATE", "ns": {"db": "test", "coll": "c"},
                     "operationDescription": {"idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}})")
                .canonical_json());
  EXPECT_EQ(masked(events[1]),
            json(R"({"_id": "TOKEN", "operationType": "createIndexes", "clusterTime": "TS", "collectionUUID": "UUID",
                     "wallTime": "DATE", "ns": {"db": "test", "coll": "c"},
                     "operationDescription": {"indexes": [{"v": 2, "key": {"a": 1}, "name": "a_1"}]}})")
                .canonical_json());
  EXPECT_EQ(field_string(events[2], "operationType"), "insert");
  EXPECT_EQ(field_names(events[2]),
            (std::vector<std::string>{"_id", "operationType", "clusterTime", "collectionUUID", "wallTime",
                                      "fullDocument", "ns", "documentKey"}));
  EXPECT_EQ(masked(events[3]),
            json(R"({"_id": "TOKEN", "operationType": "createIndexes", "clusterTime": "TS", "collectionUUID": "UUID",
                     "wallTime": "DATE", "ns": {"db": "test", "coll": "c"},
                     "operationDescription": {"indexes": [{"v": 2, "key": {"b": 1}, "name": "b_1"}]}})")
                .canonical_json());
  EXPECT_EQ(masked(events[4]),
            json(R"({"_id": "TOKEN", "operationType": "dropIndexes", "clusterTime": "TS", "collectionUUID": "UUID",
                     "wallTime": "DATE", "ns": {"db": "test", "coll": "c"},
                     "operationDescription": {"indexes": [{"v": 2, "key": {"a": 1}, "name": "a_1"}]}})")
                .canonical_json());
  EXPECT_EQ(field_string(events[5], "operationType"), "modify");
  EXPECT_EQ(field_doc(events[5], "operationDescription").canonical_json(),
            json(R"({"validationLevel": "moderate"})").canonical_json());
  EXPECT_EQ(field_names(events[5]).back(), "stateBeforeChange");
  EXPECT_EQ(masked(events[6]),
            json(R"({"to": {"db": "test", "coll": "d"}, "_id": "TOKEN", "operationType": "rename", "clusterTime": "TS",
                     "collectionUUID": "UUID", "wallTime": "DATE", "ns": {"db": "test", "coll": "c"},
                     "operationDescription": {"to": {"db": "test", "coll": "d"}}})")
                .canonical_json());
  // v2 tokens of DDL events identify them by operationDescription.
  if (v >= 70) {
    std::string hex = token_hex(field_doc(events[0], "_id"));
    std::string op = ks_field("3C", "operationType", ks_string("create"));
    EXPECT_NE(hex.find(op + "46" + "6F7065726174696F6E4465736372697074696F6E00"), std::string::npos) << hex;
  }
}

TEST_P(Expanded, ViewDefinitionEvents) {
  if (v < 60) GTEST_SKIP() << "expanded events are 6.0+";
  server->must("test", R"({"create": "base"})");
  Reply open = server->open("test", "", R"({"showExpandedEvents": true})");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"create": "v", "viewOn": "base", "pipeline": [{"$match": {"a": 1}}]})");
  server->must("test", R"({"collMod": "v", "viewOn": "base", "pipeline": [{"$match": {"a": 2}}]})");
  server->must("test", R"({"drop": "v"})");
  auto events = server->drain("test", b, 3);
  ASSERT_GE(events.size(), 3u);
  std::vector<Bson> view_events;
  for (auto& e : events) {
    if (field_doc(e, "ns").canonical_json() == json(R"({"db": "test", "coll": "v"})").canonical_json()) view_events.push_back(e);
  }
  ASSERT_EQ(view_events.size(), 3u);
  EXPECT_EQ(masked(view_events[0]),
            json(R"({"_id": "TOKEN", "operationType": "create", "clusterTime": "TS", "wallTime": "DATE",
                     "ns": {"db": "test", "coll": "v"},
                     "operationDescription": {"viewOn": "base", "pipeline": [{"$match": {"a": 1}}]}})")
                .canonical_json());
  EXPECT_EQ(field_string(view_events[1], "operationType"), "modify");
  EXPECT_EQ(field_string(view_events[2], "operationType"), "drop");
}

TEST_P(Expanded, WithoutTheOptionOnlyClassicEvents) {
  Reply open = server->open("test", "", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"create": "c"})");
  server->must("test", R"({"createIndexes": "c", "indexes": [{"key": {"a": 1}, "name": "a_1"}]})");
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1}]})");
  auto events = server->drain("test", b, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(field_string(events[0], "operationType"), "insert");
  EXPECT_EQ(field_names(events[0])[3], v >= 60 ? "wallTime" : "fullDocument");
}

INSTANTIATE_TEST_SUITE_P(Versions, Expanded, ::testing::ValuesIn(all_versions()),
                         version_test_name);

}  // namespace
