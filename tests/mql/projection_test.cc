// Tests for find projections (src/mql/projection.cc).
#include "mql/projection.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bson.h"

namespace {

using common::Bson;

Bson doc(const std::string& json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  return r.ok() ? r.value() : Bson();
}

class ProjectionTest : public ::testing::Test {
 protected:
  // Applies `spec` to `d` (optionally with `query` and its match details) and returns the JSON.
  std::string p(const std::string& spec, const std::string& d, const std::string& query = "") {
    Bson s = doc(spec);
    Bson q = query.empty() ? Bson() : doc(query);
    auto proj = mql::Projection::parse(s.get(), query.empty() ? nullptr : q.get(), ctx);
    EXPECT_TRUE(proj.ok()) << spec << ": " << proj.status().to_string();
    if (!proj.ok()) return "parse error";
    Bson x = doc(d);
    mql::MatchDetails details;
    if (!query.empty()) {
      auto m = mql::Matcher::parse(q.get(), ctx);
      EXPECT_TRUE(m.ok());
      EXPECT_TRUE(m.value()->matches(x.get(), &details));
    }
    auto r = proj.value()->apply(x.get(), &details);
    if (!r.ok()) return "error " + std::to_string(r.status().code());
    return r.value().json();
  }
  common::Status err(const std::string& spec, const std::string& query = "") {
    Bson s = doc(spec);
    Bson q = query.empty() ? Bson() : doc(query);
    auto proj = mql::Projection::parse(s.get(), query.empty() ? nullptr : q.get(), ctx);
    EXPECT_FALSE(proj.ok()) << spec;
    return proj.ok() ? common::Status::OK() : proj.status();
  }
  mql::ExpressionContext ctx;
};

TEST_F(ProjectionTest, InclusionKeepsDocumentOrderAndId) {
  EXPECT_EQ(p(R"({"c": 1, "a": 1})", R"({"_id": 1, "a": 2, "b": 3, "c": 4})"), R"({ "_id" : 1, "a" : 2, "c" : 4 })");
  EXPECT_EQ(p(R"({"a": 1, "_id": 0})", R"({"_id": 1, "a": 2, "b": 3})"), R"({ "a" : 2 })");
  EXPECT_EQ(p(R"({"a": true})", R"({"_id": 1, "b": 3})"), R"({ "_id" : 1 })");
}

TEST_F(ProjectionTest, ExclusionDropsFields) {
  EXPECT_EQ(p(R"({"b": 0})", R"({"_id": 1, "a": 2, "b": 3})"), R"({ "_id" : 1, "a" : 2 })");
  EXPECT_EQ(p(R"({"_id": 0})", R"({"_id": 1, "a": 2})"), R"({ "a" : 2 })");
  EXPECT_EQ(p(R"({"b": false, "_id": 1})", R"({"_id": 1, "a": 2, "b": 3})"), R"({ "_id" : 1, "a" : 2 })");
  EXPECT_EQ(p("{}", R"({"_id": 1, "a": 2})"), R"({ "_id" : 1, "a" : 2 })");
}

TEST_F(ProjectionTest, IdOnlyInclusion) {
  EXPECT_EQ(p(R"({"_id": 1})", R"({"_id": 1, "a": 2})"), R"({ "_id" : 1 })");
}

TEST_F(ProjectionTest, MixingIsAnError) {
  common::Status s = err(R"({"a": 1, "b": 0})");
  EXPECT_EQ(s.code(), 31254);
  EXPECT_EQ(s.message(), "Cannot do exclusion on field b in inclusion projection");
  s = err(R"({"a": 0, "b": 1})");
  EXPECT_EQ(s.code(), 31253);
  EXPECT_EQ(s.message(), "Cannot do inclusion on field b in exclusion projection");
}

TEST_F(ProjectionTest, PathCollisions) {
  EXPECT_EQ(err(R"({"a": 1, "a.b": 1})").code(), 31249);
  EXPECT_EQ(err(R"({"a.b": 1, "a": 1})").code(), 31250);
}

TEST_F(ProjectionTest, InvalidFieldPaths) {
  EXPECT_EQ(err(R"({"a..b": 1})").code(), 15998);
  EXPECT_EQ(err(R"({"$a": 1})").code(), 16410);
}

TEST_F(ProjectionTest, DottedInclusionIntoSubdocumentsAndArrays) {
  EXPECT_EQ(p(R"({"a.b": 1})", R"({"_id": 1, "a": {"b": 2, "c": 3}})"), R"({ "_id" : 1, "a" : { "b" : 2 } })");
  EXPECT_EQ(p(R"({"a.b": 1})", R"({"_id": 1, "a": [{"b": 2, "c": 3}, 5, {"c": 1}, [{"b": 4}]]})"),
            R"({ "_id" : 1, "a" : [ { "b" : 2 }, {  }, [ { "b" : 4 } ] ] })");
  EXPECT_EQ(p(R"({"a.b": 1})", R"({"_id": 1, "a": 7})"), R"({ "_id" : 1 })");
  EXPECT_EQ(p(R"({"a": {"b": 1}})", R"({"_id": 1, "a": {"b": 2, "c": 3}})"), R"({ "_id" : 1, "a" : { "b" : 2 } })");
}

TEST_F(ProjectionTest, DottedExclusionIntoArrays) {
  EXPECT_EQ(p(R"({"a.b": 0})", R"({"_id": 1, "a": [{"b": 2, "c": 3}, 5]})"), R"({ "_id" : 1, "a" : [ { "c" : 3 }, 5 ] })");
  EXPECT_EQ(p(R"({"a.b": 0})", R"({"_id": 1, "a": {"b": 2, "c": 3}})"), R"({ "_id" : 1, "a" : { "c" : 3 } })");
}

TEST_F(ProjectionTest, SliceAloneIsExclusion) {
  EXPECT_EQ(p(R"({"a": {"$slice": 2}})", R"({"_id": 1, "a": [1, 2, 3], "b": 4})"),
            R"({ "_id" : 1, "a" : [ 1, 2 ], "b" : 4 })");
  EXPECT_EQ(p(R"({"a": {"$slice": -2}})", R"({"_id": 1, "a": [1, 2, 3]})"), R"({ "_id" : 1, "a" : [ 2, 3 ] })");
  EXPECT_EQ(p(R"({"a": {"$slice": [1, 1]}})", R"({"_id": 1, "a": [1, 2, 3]})"), R"({ "_id" : 1, "a" : [ 2 ] })");
  EXPECT_EQ(p(R"({"a": {"$slice": [-2, 5]}})", R"({"_id": 1, "a": [1, 2, 3]})"), R"({ "_id" : 1, "a" : [ 2, 3 ] })");
  EXPECT_EQ(p(R"({"a": {"$slice": [5, 1]}})", R"({"_id": 1, "a": [1, 2, 3]})"), R"({ "_id" : 1, "a" : [  ] })");
  EXPECT_EQ(p(R"({"a": {"$slice": 1}})", R"({"_id": 1, "a": "x"})"), R"({ "_id" : 1, "a" : "x" })");
}

TEST_F(ProjectionTest, SliceWithInclusionAndNested) {
  EXPECT_EQ(p(R"({"b": 1, "a": {"$slice": 1}})", R"({"_id": 1, "a": [1, 2], "b": 4, "c": 5})"),
            R"({ "_id" : 1, "a" : [ 1 ], "b" : 4 })");
  EXPECT_EQ(p(R"({"a.b": {"$slice": 1}})", R"({"_id": 1, "a": [{"b": [1, 2], "c": 1}]})"),
            R"({ "_id" : 1, "a" : [ { "b" : [ 1 ], "c" : 1 } ] })");
}

TEST_F(ProjectionTest, SliceErrors) {
  EXPECT_EQ(err(R"({"a": {"$slice": [1]}})").code(), 31272);
  EXPECT_EQ(err(R"({"a": {"$slice": [1, 0]}})").code(), 31259);
  EXPECT_EQ(err(R"({"a": {"$slice": ["x", 1]}})").code(), 31257);
  EXPECT_EQ(err(R"({"a": {"$slice": "x"}})").code(), 31273);
}

TEST_F(ProjectionTest, ElemMatchReturnsFirstMatchAfterOtherFields) {
  std::string d = R"({"_id": 1, "a": [{"x": 1}, {"x": 2}, {"x": 2, "y": 1}], "b": 3})";
  EXPECT_EQ(p(R"({"a": {"$elemMatch": {"x": 2}}})", d), R"({ "_id" : 1, "a" : [ { "x" : 2 } ] })");
  EXPECT_EQ(p(R"({"a": {"$elemMatch": {"x": 2}}, "b": 1})", d), R"({ "_id" : 1, "b" : 3, "a" : [ { "x" : 2 } ] })");
  EXPECT_EQ(p(R"({"a": {"$elemMatch": {"x": 9}}})", d), R"({ "_id" : 1 })");
  EXPECT_EQ(err(R"({"a.b": {"$elemMatch": {"x": 9}}})").code(), 31275);
  EXPECT_EQ(err(R"({"a": {"$elemMatch": 1}})").code(), 31274);
}

TEST_F(ProjectionTest, PositionalProjection) {
  EXPECT_EQ(p(R"({"a.$": 1})", R"({"_id": 1, "a": [5, 6, 7], "b": 1})", R"({"a": {"$gt": 5}})"),
            R"({ "_id" : 1, "a" : [ 6 ] })");
  EXPECT_EQ(p(R"({"a.$": 1})", R"({"_id": 1, "a": [{"b": 1}, {"b": 2}]})", R"({"a.b": 2})"),
            R"({ "_id" : 1, "a" : [ { "b" : 2 } ] })");
  Bson s = doc(R"({"a.$": 1})");
  Bson q = doc(R"({"a": 1})");
  auto proj = mql::Projection::parse(s.get(), q.get(), ctx);
  ASSERT_TRUE(proj.ok());
  EXPECT_TRUE(proj.value()->needs_match_details());
}

TEST_F(ProjectionTest, PositionalErrors) {
  EXPECT_EQ(err(R"({"a.$": 1})").code(), 51050);
  EXPECT_EQ(err(R"({"a.$": 1})", R"({"b": 1})").code(), 31277);
  EXPECT_EQ(err(R"({"a.$": 1, "b.$": 1})", R"({"a": 1, "b": 1})").code(), 31276);
  EXPECT_EQ(err(R"({"a.$.b.$": 1})", R"({"a": 1})").code(), 31287);
  EXPECT_EQ(err(R"({"a": {"$elemMatch": {"x": 1}}, "b.$": 1})", R"({"b": 1})").code(), 31256);
  EXPECT_EQ(p(R"({"a.$": 1})", R"({"_id": 1, "a": 5})", R"({"a": 5})"), "error 51246");
}

TEST_F(ProjectionTest, MetaIsRejected) { EXPECT_EQ(err(R"({"s": {"$meta": "textScore"}})").code(), 2); }

TEST_F(ProjectionTest, UnknownExpressionIs31325) { EXPECT_EQ(err(R"({"s": {"$bogus": 1}})").code(), 31325); }

TEST_F(ProjectionTest, ComputedFieldsComeAfterIncludedFields) {
  EXPECT_EQ(p(R"({"x": {"$add": [1, 2]}, "a": 1})", R"({"_id": 1, "a": 2, "b": 3})"),
            R"({ "_id" : 1, "a" : 2, "x" : 3 })");
  EXPECT_EQ(p(R"({"x": "$b", "_id": 0})", R"({"_id": 1, "a": 2, "b": 3})"), R"({ "x" : 3 })");
  EXPECT_EQ(p(R"({"x": "lit"})", R"({"_id": 1})"), R"({ "_id" : 1, "x" : "lit" })");
  EXPECT_EQ(p(R"({"a.c": {"$literal": 5}})", R"({"_id": 1, "a": [1, {"b": 1}]})"),
            R"({ "_id" : 1, "a" : [ { "c" : 5 }, { "c" : 5 } ] })");
}

TEST_F(ProjectionTest, ExpressionsInExclusionAreErrors) {
  EXPECT_EQ(err(R"({"a": 0, "x": {"$add": [1, 2]}})").code(), 31252);
  EXPECT_EQ(err(R"({"a": 0, "x": "lit"})").code(), 31310);
  EXPECT_EQ(err(R"({"x": {"$add": [1, 2]}, "a": 0})").code(), 31254);
}

}  // namespace
