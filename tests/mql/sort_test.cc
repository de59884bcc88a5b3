// Tests for sort specifications and sort keys (src/mql/sort.cc).
#include "mql/sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common/bson.h"

namespace {

using common::Bson;

Bson doc(const std::string& json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json;
  return r.ok() ? r.value() : Bson();
}

mql::SortPattern pattern(const std::string& json, mql::SortPattern::Syntax s = mql::SortPattern::Syntax::kFind) {
  Bson spec = doc(json);
  auto r = mql::SortPattern::parse(spec.get(), s);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : mql::SortPattern();
}

int parse_code(const std::string& json, mql::SortPattern::Syntax s = mql::SortPattern::Syntax::kFind) {
  Bson spec = doc(json);
  auto r = mql::SortPattern::parse(spec.get(), s);
  return r.ok() ? 0 : r.status().code();
}

// Sorts documents (JSON) and returns their "_id"s in order.
std::vector<int> sorted_ids(const std::string& spec, const std::vector<std::string>& docs) {
  mql::SortPattern p = pattern(spec);
  // bson_t is over-aligned; keep each document in its own allocation.
  std::vector<std::unique_ptr<Bson>> ds;
  for (const auto& j : docs) ds.push_back(std::make_unique<Bson>(doc(j)));
  std::stable_sort(ds.begin(), ds.end(), [&](const std::unique_ptr<Bson>& a, const std::unique_ptr<Bson>& b) {
    return p.compare(a->get(), b->get()) < 0;
  });
  std::vector<int> ids;
  for (const auto& d : ds) {
    bson_iter_t it;
    EXPECT_TRUE(bson_iter_init_find(&it, d->get(), "_id"));
    ids.push_back(bson_iter_int32(&it));
  }
  return ids;
}

TEST(SortPatternTest, ParsesDirectionsAndDottedPaths) {
  mql::SortPattern p = pattern(R"({"a": 1, "b.c": -1, "d": 1.0, "e": {"$numberLong": "-1"}})");
  ASSERT_EQ(p.parts().size(), 4u);
  EXPECT_TRUE(p.parts()[0].ascending);
  EXPECT_FALSE(p.parts()[1].ascending);
  EXPECT_EQ(p.parts()[1].path.dotted(), "b.c");
  EXPECT_TRUE(p.parts()[2].ascending);
  EXPECT_FALSE(p.parts()[3].ascending);
}

TEST(SortPatternTest, BadOrderingIs15975) {
  EXPECT_EQ(parse_code(R"({"a": 2})"), 15975);
  EXPECT_EQ(parse_code(R"({"a": 0})"), 15975);
  EXPECT_EQ(parse_code(R"({"a": 42.12})"), 15975);
}

TEST(SortPatternTest, NonNumberIs15974WithFindMessage) {
  Bson spec = doc(R"({"asc": "123"})");
  auto r = mql::SortPattern::parse(spec.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), 15974);
  EXPECT_EQ(r.status().message(), "Illegal key in $sort specification: asc: \"123\"");
}

TEST(SortPatternTest, PipelineEmptyIs15976) {
  EXPECT_EQ(parse_code("{}", mql::SortPattern::Syntax::kPipeline), 15976);
  EXPECT_EQ(parse_code("{}", mql::SortPattern::Syntax::kFind), 0);
  EXPECT_EQ(parse_code(R"({"a": true})", mql::SortPattern::Syntax::kPipeline), 15974);
}

TEST(SortPatternTest, MetaTextScoreParsed) {
  mql::SortPattern p = pattern(R"({"s": {"$meta": "textScore"}})");
  ASSERT_EQ(p.parts().size(), 1u);
  EXPECT_EQ(p.parts()[0].kind, mql::SortPart::Kind::kTextScore);
  EXPECT_TRUE(p.has_meta());
  EXPECT_NE(parse_code(R"({"s": {"$meta": "bogus"}})"), 0);
}

TEST(SortCompareTest, MissingSortsAsNull) {
  EXPECT_EQ(sorted_ids(R"({"a": 1})", {R"({"_id": 1, "a": 1})", R"({"_id": 2})", R"({"_id": 3, "a": null})"}),
            (std::vector<int>{2, 3, 1}));
}

TEST(SortCompareTest, ArrayUsesMinAscendingMaxDescending) {
  std::vector<std::string> docs = {R"({"_id": 1, "a": [1, 10]})", R"({"_id": 2, "a": 5})", R"({"_id": 3, "a": [0, 6]})"};
  EXPECT_EQ(sorted_ids(R"({"a": 1})", docs), (std::vector<int>{3, 1, 2}));
  EXPECT_EQ(sorted_ids(R"({"a": -1})", docs), (std::vector<int>{1, 3, 2}));
}

TEST(SortCompareTest, EmptyArraySortsBeforeNull) {
  EXPECT_EQ(sorted_ids(R"({"a": 1})", {R"({"_id": 1, "a": null})", R"({"_id": 2, "a": []})", R"({"_id": 3, "a": 0})"}),
            (std::vector<int>{2, 1, 3}));
}

TEST(SortCompareTest, DottedPathThroughArrayOfDocuments) {
  std::vector<std::string> docs = {R"({"_id": 1, "a": [{"b": 3}, {"b": 9}]})", R"({"_id": 2, "a": {"b": 5}})"};
  EXPECT_EQ(sorted_ids(R"({"a.b": 1})", docs), (std::vector<int>{1, 2}));
  EXPECT_EQ(sorted_ids(R"({"a.b": -1})", docs), (std::vector<int>{1, 2}));
  EXPECT_EQ(sorted_ids(R"({"a.b": -1})", {R"({"_id": 1, "a": [{"b": 3}, {"b": 4}]})", R"({"_id": 2, "a": {"b": 5}})"}),
            (std::vector<int>{2, 1}));
}

TEST(SortCompareTest, MixedTypesFollowCanonicalOrder) {
  EXPECT_EQ(sorted_ids(R"({"a": 1})", {R"({"_id": 1, "a": "x"})", R"({"_id": 2, "a": 3})", R"({"_id": 3, "a": {"z": 1}})",
                                         R"({"_id": 4, "a": null})"}),
            (std::vector<int>{4, 2, 1, 3}));
}

TEST(SortCompareTest, SecondKeyBreaksTies) {
  EXPECT_EQ(sorted_ids(R"({"a": 1, "b": -1})", {R"({"_id": 1, "a": 1, "b": 1})", R"({"_id": 2, "a": 1, "b": 2})",
                                                  R"({"_id": 3, "a": 0, "b": 0})"}),
            (std::vector<int>{3, 2, 1}));
}

TEST(SortKeyTest, PrecomputedKeysMatchDirectCompare) {
  mql::SortPattern p = pattern(R"({"a": -1, "b": 1})");
  Bson x = doc(R"({"a": [1, 7], "b": "q"})");
  Bson y = doc(R"({"a": 7, "b": "p"})");
  mql::SortKey kx = p.key(x.get());
  mql::SortKey ky = p.key(y.get());
  ASSERT_EQ(kx.size(), 2u);
  EXPECT_EQ(kx[0].json(), "7");
  EXPECT_EQ(p.compare_keys(kx, ky), p.compare(x.get(), y.get()));
  EXPECT_GT(p.compare_keys(kx, ky), 0);
}

TEST(SortKeyTest, MissingKeyIsNull) {
  mql::SortPattern p = pattern(R"({"z": 1})");
  Bson x = doc(R"({"a": 1})");
  EXPECT_TRUE(p.key(x.get())[0].is_null());
}

}  // namespace
