// Tests for dotted-path resolution (src/mql/path.cc).
#include "mql/path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/bson.h"

namespace {

using common::Bson;

Bson doc(const char* json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json;
  return r.ok() ? r.value() : Bson();
}

struct Hits {
  std::vector<std::string> values;  // JSON of each value, "missing" for a missing hit
  std::vector<int64_t> positions;
};

Hits collect(const Bson& d, const char* path, bool expand = true) {
  Hits out;
  auto visit = [&](const mql::PathHit& h) {
    out.values.push_back(h.it ? common::value_to_json(bson_iter_value(const_cast<bson_iter_t*>(h.it))) : "missing");
    out.positions.push_back(h.array_pos);
    return false;
  };
  mql::traverse(d.get(), mql::FieldPath(path), expand, visit);
  return out;
}

TEST(FieldPathTest, SplitsComponentsAndIndexes) {
  mql::FieldPath p("a.0.b.01");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p.part(0), "a");
  EXPECT_EQ(p.index(0), -1);
  EXPECT_EQ(p.index(1), 0);
  EXPECT_EQ(p.part(2), "b");
  EXPECT_EQ(p.index(3), -1);  // leading zero is not an index
  EXPECT_EQ(p.prefix(2), "a.0");
  EXPECT_EQ(p.dotted(), "a.0.b.01");
}

TEST(PathLookupTest, DescendsDocumentsAndIndexesArrays) {
  Bson d = doc(R"({"a": {"b": [10, {"c": 7}]}})");
  bson_iter_t it;
  ASSERT_TRUE(mql::lookup(d.get(), "a.b.1.c", &it));
  EXPECT_EQ(bson_iter_int32(&it), 7);
  ASSERT_TRUE(mql::lookup(d.get(), "a.b.0", &it));
  EXPECT_EQ(bson_iter_int32(&it), 10);
}

TEST(PathLookupTest, DoesNotTraverseArrays) {
  Bson d = doc(R"({"a": [{"b": 1}], "s": 5})");
  bson_iter_t it;
  EXPECT_FALSE(mql::lookup(d.get(), "a.b", &it));
  EXPECT_FALSE(mql::lookup(d.get(), "s.x", &it));
  EXPECT_FALSE(mql::lookup(d.get(), "zz", &it));
}

TEST(PathAggTest, ArraysMapOverElements) {
  Bson d = doc(R"({"a": [{"b": 1}, {"c": 2}, 5, {"b": [3]}, [{"b": 4}]]})");
  mql::Value v = mql::get_agg(d.get(), mql::FieldPath("a.b"));
  EXPECT_EQ(v.json(), "[ 1, [ 3 ], [ 4 ] ]");
}

TEST(PathAggTest, MissingAndNumericComponentsAreFieldNames) {
  Bson d = doc(R"({"a": [1, 2], "o": {"0": "zero"}})");
  EXPECT_TRUE(mql::get_agg(d.get(), mql::FieldPath("x.y")).missing());
  EXPECT_EQ(mql::get_agg(d.get(), mql::FieldPath("a.0")).json(), "[  ]");
  EXPECT_EQ(mql::get_agg(d.get(), mql::FieldPath("o.0")).json(), "\"zero\"");
  EXPECT_TRUE(mql::get_agg(d.get(), mql::FieldPath("o.0.z")).missing());
}

TEST(PathTraverseTest, LeafArrayReportsElementsThenArray) {
  Bson d = doc(R"({"a": [1, 2]})");
  Hits h = collect(d, "a");
  EXPECT_EQ(h.values, (std::vector<std::string>{"1", "2", "[ 1, 2 ]"}));
  EXPECT_EQ(h.positions, (std::vector<int64_t>{0, 1, -1}));
}

TEST(PathTraverseTest, NoLeafExpansionReportsOnlyArray) {
  Bson d = doc(R"({"a": [1, 2]})");
  Hits h = collect(d, "a", false);
  EXPECT_EQ(h.values, (std::vector<std::string>{"[ 1, 2 ]"}));
}

TEST(PathTraverseTest, ArrayOfDocumentsIsTraversed) {
  Bson d = doc(R"({"a": [{"b": 1}, {"c": 1}, 7, {"b": 2}]})");
  Hits h = collect(d, "a.b");
  EXPECT_EQ(h.values, (std::vector<std::string>{"1", "missing", "2"}));
  EXPECT_EQ(h.positions, (std::vector<int64_t>{0, 1, 3}));
}

TEST(PathTraverseTest, MissingTopLevelReported) {
  Bson d = doc(R"({"x": 1})");
  Hits h = collect(d, "a.b");
  EXPECT_EQ(h.values, (std::vector<std::string>{"missing"}));
}

TEST(PathTraverseTest, ScalarInMiddleReachesNothing) {
  Bson d = doc(R"({"a": 5})");
  EXPECT_TRUE(collect(d, "a.b").values.empty());
}

TEST(PathTraverseTest, EmptyArrayInMiddleReachesNothing) {
  Bson d = doc(R"({"a": []})");
  EXPECT_TRUE(collect(d, "a.b").values.empty());
}

TEST(PathTraverseTest, NumericComponentSelectsIndex) {
  Bson d = doc(R"({"a": [10, 20, 30]})");
  Hits h = collect(d, "a.1");
  EXPECT_EQ(h.values, (std::vector<std::string>{"20"}));
  EXPECT_EQ(h.positions, (std::vector<int64_t>{-1}));
}

TEST(PathTraverseTest, NumericComponentAlsoFieldNameInElements) {
  Bson d = doc(R"({"a": [{"0": "x"}, {"0": "y"}]})");
  Hits h = collect(d, "a.0");
  // Index 0 selects the first element; each element also has a field "0".
  EXPECT_EQ(h.values, (std::vector<std::string>{"{ \"0\" : \"x\" }", "\"x\"", "\"y\""}));
}

TEST(PathTraverseTest, NestedArraysKeepOutermostPosition) {
  Bson d = doc(R"({"a": [{"b": [5, 6]}, {"b": [7]}]})");
  Hits h = collect(d, "a.b");
  EXPECT_EQ(h.values, (std::vector<std::string>{"5", "6", "[ 5, 6 ]", "7", "[ 7 ]"}));
  EXPECT_EQ(h.positions, (std::vector<int64_t>{0, 0, 0, 1, 1}));
}

TEST(PathTraverseTest, VisitorCanStop) {
  Bson d = doc(R"({"a": [1, 2, 3]})");
  int n = 0;
  auto visit = [&](const mql::PathHit&) { return ++n == 2; };
  EXPECT_TRUE(mql::traverse(d.get(), mql::FieldPath("a"), true, visit));
  EXPECT_EQ(n, 2);
}

}  // namespace
