// Text indexes: createIndexes given the listIndexes form of a text index (key {_fts: "text",
// _ftsx: 1} with weights and the language options) accepts it as the server's FTS spec code
// does, taking the fields from `weights`, and lists it exactly as the original.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/engine_harness.h"

namespace {

using common::Bson;
using simtest::EngineHarness;

constexpr const char* kDb = "txt";

std::vector<std::string> index_json(EngineHarness& h, const char* coll) {
  std::vector<std::string> out;
  for (const Bson& ix : h.drain(kDb, h.run(kDb, std::string(R"({"listIndexes": ")") + coll + "\"}"))) {
    out.push_back(ix.json());
  }
  return out;
}

TEST(TextIndex, TheListedFormCreatesTheSameIndex) {
  EngineHarness h;
  Bson r = h.run(kDb, R"({"createIndexes": "orig", "indexes": [{"key": {"a": 1, "title": "text", "body": "text", "z": -1},
      "name": "t", "weights": {"title": 5}, "default_language": "french", "language_override": "lang"}]})");
  ASSERT_TRUE(simtest::ok(r)) << r.json();
  auto orig = index_json(h, "orig");
  ASSERT_EQ(orig.size(), 2u);
  Bson listed = h.drain(kDb, h.run(kDb, R"({"listIndexes": "orig"})"))[1];
  // Recreate it from what listIndexes gave back, on another collection.
  bson_t cmd = BSON_INITIALIZER, arr;
  BSON_APPEND_UTF8(&cmd, "createIndexes", "copy");
  BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
  BSON_APPEND_DOCUMENT(&arr, "0", listed.get());
  bson_append_array_end(&cmd, &arr);
  r = h.run(kDb, &cmd);
  bson_destroy(&cmd);
  ASSERT_TRUE(simtest::ok(r)) << r.json();
  auto copy = index_json(h, "copy");
  ASSERT_EQ(copy.size(), 2u);
  EXPECT_EQ(copy[1], orig[1]);
  EXPECT_NE(orig[1].find(R"("key" : { "a" : 1, "_fts" : "text", "_ftsx" : 1, "z" : -1 })"), std::string::npos) << orig[1];
  EXPECT_NE(orig[1].find(R"("weights" : { "body" : 1, "title" : 5 }, "default_language" : "french", )"
                         R"("language_override" : "lang", "textIndexVersion" : 3 })"),
            std::string::npos)
      << orig[1];
}

TEST(TextIndex, TheListedFormWithoutWeightsOrABadVersion) {
  EngineHarness h;
  // _fts alone is the text part; weights name its fields; an older textIndexVersion is kept.
  Bson r = h.run(kDb, R"({"createIndexes": "c", "indexes": [{"key": {"_fts": "text", "_ftsx": 1}, "name": "t",
      "weights": {"b": 2, "a": 1}, "textIndexVersion": 2}]})");
  ASSERT_TRUE(simtest::ok(r)) << r.json();
  EXPECT_EQ(index_json(h, "c")[1],
            R"({ "v" : 2, "key" : { "_fts" : "text", "_ftsx" : 1 }, "name" : "t", "weights" : { "a" : 1, "b" : 2 }, )"
            R"("default_language" : "english", "language_override" : "language", "textIndexVersion" : 2 })");
  r = h.run(kDb, R"({"createIndexes": "d", "indexes": [{"key": {"x": "text"}, "name": "t", "textIndexVersion": 4}]})");
  EXPECT_FALSE(simtest::ok(r));
  EXPECT_NE(r.json().find("bad textIndexVersion: 4"), std::string::npos) << r.json();
}

}  // namespace
