#include "schema/schema.h"

#include <gtest/gtest.h>

#include "support/sim_client.h"

namespace {

using testsupport::json_doc;

TEST(Schema, TtlIndexesAreParkedAndTheSourceValueKept) {
  int64_t ttl = 0;
  auto spec = schema::index_spec_for_create(
      json_doc(R"({"v": 2, "key": {"seen": 1}, "name": "seen_ttl", "ns": "a.b", "expireAfterSeconds": 3600})").get(), &ttl);
  EXPECT_EQ(ttl, 3600);
  EXPECT_EQ(spec.json(), R"({ "v" : 2, "key" : { "seen" : 1 }, "name" : "seen_ttl", "expireAfterSeconds" : 2147483647 })");
  auto plain = schema::index_spec_for_create(json_doc(R"({"v": 2, "key": {"a": 1}, "name": "a_1", "unique": true})").get(), &ttl);
  EXPECT_EQ(ttl, -1);
  EXPECT_EQ(plain.json(), R"({ "v" : 2, "key" : { "a" : 1 }, "name" : "a_1", "unique" : true })");
}

TEST(Schema, TextIndexKeysAreGivenBackAsFields) {
  int64_t ttl = 0;
  auto spec = schema::index_spec_for_create(
      json_doc(R"({"v": 2, "key": {"a": 1, "_fts": "text", "_ftsx": 1}, "name": "t", "weights": {"x": 2, "y": 1}})").get(),
      &ttl);
  EXPECT_EQ(spec.json(),
            R"({ "v" : 2, "key" : { "a" : 1, "x" : "text", "y" : "text" }, "name" : "t", "weights" : { "x" : 2, "y" : 1 } })");
}

TEST(Schema, CreateCommandCarriesEveryOptionAndRenamesViews) {
  task::PlannedObject view;
  view.source.db = "a";
  view.source.name = "v";
  view.source.type = "view";
  view.source.options = json_doc(R"({"viewOn": "src", "pipeline": [{"$match": {"x": 1}}]})");
  view.target = {"a", "v2"};
  view.target_view_on = "src_renamed";
  EXPECT_EQ(schema::create_command(view).json(),
            R"({ "create" : "v2", "viewOn" : "src_renamed", "pipeline" : [ { "$match" : { "x" : 1 } } ] })");
  task::PlannedObject ts;
  ts.source.type = "timeseries";
  ts.source.options = json_doc(
      R"({"timeseries": {"timeField": "t", "granularity": "hours", "bucketMaxSpanSeconds": 2592000}, "expireAfterSeconds": 60})");
  ts.target = {"a", "ts"};
  EXPECT_EQ(schema::create_command(ts).json(),
            R"({ "create" : "ts", "timeseries" : { "timeField" : "t", "granularity" : "hours" }, "expireAfterSeconds" : 2147483647 })");
}

TEST(Schema, SameOptionsIgnoresTopLevelOrderAndNumberTypes) {
  EXPECT_TRUE(schema::same_options(json_doc(R"({"capped": true, "size": 4096})").get(),
                                   json_doc(R"({"size": 4096.0, "capped": true})").get()));
  EXPECT_FALSE(schema::same_options(json_doc(R"({"capped": true, "size": 4096})").get(),
                                    json_doc(R"({"capped": true, "size": 8192})").get()));
  EXPECT_FALSE(schema::same_options(json_doc(R"({"validator": {"a": 1, "b": 1}})").get(),
                                    json_doc(R"({"validator": {"b": 1, "a": 1}})").get()));
}

}  // namespace
