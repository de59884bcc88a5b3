// $v:2 diffs, $v:1 entries and updateDescriptions → update statements: golden cases.
#include "change/update_convert.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

common::Bson doc(const std::string& j) {
  auto r = common::Bson::from_json(j);
  EXPECT_TRUE(r.ok()) << j;
  return r.ok() ? std::move(r).value() : common::Bson();
}

std::vector<std::string> statements(const change::ConvertedUpdate& c) {
  std::vector<std::string> out;
  for (const auto& s : c.statements) out.push_back(s.json());
  return out;
}

using V = std::vector<std::string>;

TEST(ConvertDiff, WorkedExampleOfTheReference) {
  // $set: {a: 2, "b.c": 5, "b.e": 7, "arr.1": 20, newf: "x"}, $unset: {gone: ""} on 7.0.
  auto d = doc(R"({"d": {"gone": false}, "u": {"a": 2}, "i": {"newf": "x"},
                   "sb": {"u": {"c": 5}, "i": {"e": 7}}, "sarr": {"a": true, "u1": 20}})");
  auto c = change::convert_v2_diff(d.get());
  EXPECT_FALSE(c.needs_fetch);
  EXPECT_EQ(statements(c), (V{R"({ "$unset" : { "gone" : 1, "newf" : 1, "b.e" : 1 } })",
                              R"({ "$set" : { "a" : 2, "b.c" : 5, "arr.1" : 20, "newf" : "x", "b.e" : 7 } })"}));
}

TEST(ConvertDiff, TruncationComesFirst) {
  auto c = change::convert_v2_diff(doc(R"({"sarr": {"a": true, "l": 1}})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$push" : { "arr" : { "$each" : [  ], "$slice" : 1 } } })"}));
  c = change::convert_v2_diff(doc(R"({"u": {"x": 1}, "sarr": {"a": true, "l": 2, "u1": 9, "s0": {"u": {"y": 3}}}})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$push" : { "arr" : { "$each" : [  ], "$slice" : 2 } } })",
                              R"({ "$set" : { "x" : 1, "arr.1" : 9, "arr.0.y" : 3 } })"}));
}

TEST(ConvertDiff, NestedArraysAndObjects) {
  auto c = change::convert_v2_diff(doc(R"({"sa": {"sb": {"a": true, "s3": {"a": true, "u0": "z"}}}})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$set" : { "a.b.3.0" : "z" } })"}));
  c = change::convert_v2_diff(doc(R"({"sarr": {"a": true, "u5": {"k": [1, 2]}}})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$set" : { "arr.5" : { "k" : [ 1, 2 ] } } })"}));
}

TEST(ConvertDiff, InsertsOutOfSortedOrderGoOneByOne) {
  // A pipeline update appended z then a: one $set would append a before z.
  auto c = change::convert_v2_diff(doc(R"({"i": {"z": 1, "a": 2}})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$unset" : { "z" : 1, "a" : 1 } })", R"({ "$set" : { "z" : 1 } })",
                              R"({ "$set" : { "a" : 2 } })"}));
  // Numeric names sort differently on 4.4 and 5.0+.
  c = change::convert_v2_diff(doc(R"({"i": {"10": 1, "9": 2}})").get());
  EXPECT_EQ(c.statements.size(), 3u);
}

TEST(ConvertDiff, NamesAPathCannotSayNeedAFetch) {
  EXPECT_TRUE(change::convert_v2_diff(doc(R"({"u": {"a.b": 1}})").get()).needs_fetch);
  EXPECT_TRUE(change::convert_v2_diff(doc(R"({"i": {"$x": 1}})").get()).needs_fetch);
  EXPECT_TRUE(change::convert_v2_diff(doc(R"({"sa.b": {"u": {"c": 1}}})").get()).needs_fetch);
  EXPECT_TRUE(change::convert_v2_diff(doc(R"({"q": {"c": 1}})").get()).needs_fetch);
  EXPECT_TRUE(change::convert_v2_diff(doc(R"({"sarr": {"a": true, "x1": 1}})").get()).needs_fetch);
}

TEST(ConvertDiff, EmptyDiffIsNoStatement) {
  auto c = change::convert_v2_diff(doc("{}").get());
  EXPECT_FALSE(c.needs_fetch);
  EXPECT_TRUE(c.statements.empty());
}

TEST(ConvertV1, DropsTheVersionField) {
  auto c = change::convert_v1(doc(R"({"$v": 1, "$set": {"a": 2, "b.c": 5}, "$unset": {"gone": true}})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$set" : { "a" : 2, "b.c" : 5 }, "$unset" : { "gone" : true } })"}));
}

TEST(ConvertDescription, SetsUnsetsAndTruncations) {
  auto c = change::convert_update_description(
      doc(R"({"updatedFields": {"a": 2, "b.c": 5}, "removedFields": ["gone"],
              "truncatedArrays": [{"field": "arr", "newSize": 1}]})").get());
  EXPECT_FALSE(c.needs_fetch);
  EXPECT_EQ(statements(c), (V{R"({ "$push" : { "arr" : { "$each" : [  ], "$slice" : 1 } } })",
                              R"({ "$unset" : { "gone" : 1 } })", R"({ "$set" : { "a" : 2, "b.c" : 5 } })"}));
  // Not in sorted order (or array indexes): one statement per field, in the event's order.
  c = change::convert_update_description(doc(R"({"updatedFields": {"z": 1, "arr.1": 2}, "removedFields": []})").get());
  EXPECT_EQ(statements(c), (V{R"({ "$set" : { "z" : 1 } })", R"({ "$set" : { "arr.1" : 2 } })"}));
  c = change::convert_update_description(
      doc(R"({"updatedFields": {"a.0": 1}, "removedFields": [], "disambiguatedPaths": {"a.0": ["a", "0"]}})").get());
  EXPECT_TRUE(c.needs_fetch);
}

}  // namespace
