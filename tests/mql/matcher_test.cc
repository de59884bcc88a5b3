// Tests for the query matcher (src/mql/matcher.cc, json_schema.cc).
#include "mql/matcher.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bson.h"

namespace {

using common::Bson;

// Copies `src` into `dst`, renaming keys that start with '%' to start with '$' (libbson's
// extended-JSON parser reserves "%type", "%regex" and "%options" for legacy syntax).
void rename_keys(const bson_t* src, bson_t* dst) {
  bson_iter_t it;
  bson_iter_init(&it, src);
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (!k.empty() && k[0] == '%') k[0] = '$';
    bson_type_t t = bson_iter_type(&it);
    if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      if (t == BSON_TYPE_DOCUMENT) {
        bson_iter_document(&it, &len, &data);
      } else {
        bson_iter_array(&it, &len, &data);
      }
      bson_t sub, child;
      bson_init_static(&sub, data, len);
      if (t == BSON_TYPE_DOCUMENT) {
        bson_append_document_begin(dst, k.c_str(), -1, &child);
        rename_keys(&sub, &child);
        bson_append_document_end(dst, &child);
      } else {
        bson_append_array_begin(dst, k.c_str(), -1, &child);
        rename_keys(&sub, &child);
        bson_append_array_end(dst, &child);
      }
    } else {
      bson_append_iter(dst, k.c_str(), -1, &it);
    }
  }
}

Bson doc(const std::string& json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  if (!r.ok()) return Bson();
  Bson out;
  rename_keys(r.value().get(), out.mut());
  return out;
}

class MatcherTest : public ::testing::Test {
 protected:
  bool m(const std::string& filter, const std::string& d) {
    Bson f = doc(filter);
    auto r = mql::Matcher::parse(f.get(), ctx);
    EXPECT_TRUE(r.ok()) << filter << ": " << r.status().to_string();
    if (!r.ok()) return false;
    Bson x = doc(d);
    return r.value()->matches(x.get());
  }
  common::Status err(const std::string& filter) {
    Bson f = doc(filter);
    auto r = mql::Matcher::parse(f.get(), ctx);
    EXPECT_FALSE(r.ok()) << filter;
    return r.ok() ? common::Status::OK() : r.status();
  }
  std::string key(const std::string& filter, const std::string& d) {
    Bson f = doc(filter);
    auto r = mql::Matcher::parse(f.get(), ctx);
    EXPECT_TRUE(r.ok());
    Bson x = doc(d);
    mql::MatchDetails details;
    if (!r.value()->matches(x.get(), &details)) return "nomatch";
    return details.elem_match_key.value_or("none");
  }
  mql::ExpressionContext ctx;
};

TEST_F(MatcherTest, EmptyFilterMatchesEverything) {
  Bson f = doc("{}");
  auto r = mql::Matcher::parse(f.get(), ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value()->matches_everything());
  EXPECT_TRUE(m("{}", R"({"a": 1})"));
  Bson g = doc(R"({"a": 1})");
  EXPECT_FALSE(mql::Matcher::parse(g.get(), ctx).value()->matches_everything());
}

TEST_F(MatcherTest, EqualityAcrossNumericTypes) {
  EXPECT_TRUE(m(R"({"a": 1})", R"({"a": 1.0})"));
  EXPECT_TRUE(m(R"({"a": 1})", R"({"a": {"$numberLong": "1"}})"));
  EXPECT_TRUE(m(R"({"a": {"$numberDecimal": "1.0"}})", R"({"a": 1})"));
  EXPECT_FALSE(m(R"({"a": 1})", R"({"a": "1"})"));
}

TEST_F(MatcherTest, EqualityOnArrays) {
  EXPECT_TRUE(m(R"({"a": 1})", R"({"a": [1, 2]})"));
  EXPECT_TRUE(m(R"({"a": [1, 2]})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(m(R"({"a": [2, 1]})", R"({"a": [1, 2]})"));
  EXPECT_TRUE(m(R"({"a": [1, 2]})", R"({"a": [[1, 2], 3]})"));
  EXPECT_TRUE(m(R"({"a.b": 2})", R"({"a": [{"b": 1}, {"b": 2}]})"));
  EXPECT_TRUE(m(R"({"a.b": {"$in": [5, 1]}})", R"({"a": [{"b": 1}, {"b": 2}]})"));
}

TEST_F(MatcherTest, NumericPathComponentIndexesArray) {
  EXPECT_TRUE(m(R"({"a.1": 2})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(m(R"({"a.0": 2})", R"({"a": [1, 2]})"));
  EXPECT_TRUE(m(R"({"a.1": "x"})", R"({"a": {"1": "x"}})"));
  EXPECT_TRUE(m(R"({"a.0.b": 1})", R"({"a": [{"b": 1}]})"));
}

TEST_F(MatcherTest, ObjectEqualityIsExact) {
  EXPECT_TRUE(m(R"({"a": {"x": 1, "y": 2}})", R"({"a": {"x": 1, "y": 2}})"));
  EXPECT_FALSE(m(R"({"a": {"x": 1, "y": 2}})", R"({"a": {"y": 2, "x": 1}})"));
  EXPECT_TRUE(m(R"({"a": {}})", R"({"a": {}})"));
}

TEST_F(MatcherTest, NullMatchesNullMissingAndArraysWithNull) {
  EXPECT_TRUE(m(R"({"a": null})", R"({"a": null})"));
  EXPECT_TRUE(m(R"({"a": null})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": null})", R"({"a": [1, null]})"));
  EXPECT_FALSE(m(R"({"a": null})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(m(R"({"a": null})", R"({"a": 0})"));
  EXPECT_TRUE(m(R"({"a.b": null})", R"({"a": [{"b": 1}, {"c": 1}]})"));
  EXPECT_FALSE(m(R"({"a.b": null})", R"({"a": [{"b": 1}]})"));
  EXPECT_TRUE(m(R"({"a.b": null})", R"({"a": 1})") == false);
}

TEST_F(MatcherTest, UndefinedMatchesNullBefore80) {
  ctx.version = 70;
  EXPECT_TRUE(m(R"({"a": null})", R"({"a": {"$undefined": true}})"));
  ctx.version = 80;
  EXPECT_FALSE(m(R"({"a": null})", R"({"a": {"$undefined": true}})"));
}

TEST_F(MatcherTest, NeExcludesArraysContainingValueAndMatchesMissing) {
  EXPECT_FALSE(m(R"({"a": {"$ne": 1}})", R"({"a": [1, 2]})"));
  EXPECT_TRUE(m(R"({"a": {"$ne": 1}})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$ne": 1}})", R"({"a": 2})"));
  EXPECT_FALSE(m(R"({"a": {"$ne": null}})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$ne": null}})", R"({"a": 0})"));
}

TEST_F(MatcherTest, RangeOnArraysMayUseDifferentElements) {
  EXPECT_TRUE(m(R"({"a": {"$gt": 1, "$lt": 3}})", R"({"a": [0, 5]})"));
  EXPECT_FALSE(m(R"({"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}})", R"({"a": [0, 5]})"));
  EXPECT_TRUE(m(R"({"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}})", R"({"a": [0, 2]})"));
}

TEST_F(MatcherTest, ComparisonsAreTypeBracketed) {
  EXPECT_FALSE(m(R"({"a": {"$gt": 5}})", R"({"a": "x"})"));
  EXPECT_FALSE(m(R"({"a": {"$lt": "a"}})", R"({"a": 5})"));
  EXPECT_TRUE(m(R"({"a": {"$gt": 5}})", R"({"a": 6.5})"));
  EXPECT_TRUE(m(R"({"a": {"$gte": "b"}})", R"({"a": "c"})"));
  EXPECT_TRUE(m(R"({"a": {"$lte": {"$date": "2020-01-01T00:00:00Z"}}})", R"({"a": {"$date": "2019-01-01T00:00:00Z"}})"));
  EXPECT_FALSE(m(R"({"a": {"$gt": 5}})", R"({"b": 6})"));
}

TEST_F(MatcherTest, GteNullMatchesNullAndMissing) {
  EXPECT_TRUE(m(R"({"a": {"$gte": null}})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$lte": null}})", R"({"a": null})"));
  EXPECT_FALSE(m(R"({"a": {"$gt": null}})", R"({"a": null})"));
  EXPECT_FALSE(m(R"({"a": {"$gte": null}})", R"({"a": 1})"));
}

TEST_F(MatcherTest, MinKeyMaxKeyCompareWithEverything) {
  EXPECT_TRUE(m(R"({"a": {"$gt": {"$minKey": 1}}})", R"({"a": "x"})"));
  EXPECT_TRUE(m(R"({"a": {"$lt": {"$maxKey": 1}}})", R"({"a": {"x": 1}})"));
  EXPECT_FALSE(m(R"({"a": {"$gt": {"$maxKey": 1}}})", R"({"a": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$lt": {"$maxKey": 1}}})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$gte": {"$minKey": 1}}})", R"({"b": 1})"));
  EXPECT_FALSE(m(R"({"a": {"$gt": {"$maxKey": 1}}})", R"({"b": 1})"));
}

TEST_F(MatcherTest, NaNComparisons) {
  EXPECT_TRUE(m(R"({"a": {"$numberDouble": "NaN"}})", R"({"a": {"$numberDouble": "NaN"}})"));
  EXPECT_TRUE(m(R"({"a": {"$gte": {"$numberDouble": "NaN"}}})", R"({"a": {"$numberDouble": "NaN"}})"));
  EXPECT_FALSE(m(R"({"a": {"$lt": 0}})", R"({"a": {"$numberDouble": "NaN"}})"));
  EXPECT_FALSE(m(R"({"a": {"$gt": {"$numberDouble": "NaN"}}})", R"({"a": 5})"));
}

TEST_F(MatcherTest, InAndNin) {
  EXPECT_TRUE(m(R"({"a": {"$in": [1, 2, 3]}})", R"({"a": 2.0})"));
  EXPECT_FALSE(m(R"({"a": {"$in": [1, 2, 3]}})", R"({"a": 4})"));
  EXPECT_TRUE(m(R"({"a": {"$in": [null]}})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$in": [{"$regularExpression": {"pattern": "^ab", "options": ""}}, 5]}})", R"({"a": "abc"})"));
  EXPECT_TRUE(m(R"({"a": {"$in": [[1, 2]]}})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(m(R"({"a": {"$in": []}})", R"({"a": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$nin": [1, 2]}})", R"({"b": 1})"));
  EXPECT_FALSE(m(R"({"a": {"$nin": [1, 2]}})", R"({"a": [3, 2]})"));
  EXPECT_TRUE(m(R"({"a": {"$in": ["x", 1, "y", 2.5, {"k": 1}, true, null]}})", R"({"a": {"k": 1}})"));
}

TEST_F(MatcherTest, LogicalOperators) {
  EXPECT_TRUE(m(R"({"$and": [{"a": 1}, {"b": 2}]})", R"({"a": 1, "b": 2})"));
  EXPECT_FALSE(m(R"({"$and": [{"a": 1}, {"b": 2}]})", R"({"a": 1, "b": 3})"));
  EXPECT_TRUE(m(R"({"$or": [{"a": 1}, {"b": 2}]})", R"({"a": 0, "b": 2})"));
  EXPECT_FALSE(m(R"({"$or": [{"a": 1}, {"b": 2}]})", R"({"a": 0, "b": 0})"));
  EXPECT_TRUE(m(R"({"$nor": [{"a": 1}, {"b": 2}]})", R"({"a": 0, "b": 0})"));
  EXPECT_FALSE(m(R"({"$nor": [{"a": 1}, {"b": 2}]})", R"({"a": 1})"));
}

TEST_F(MatcherTest, NotNegatesAndMatchesMissing) {
  EXPECT_TRUE(m(R"({"a": {"$not": {"$gt": 5}}})", R"({"a": 3})"));
  EXPECT_FALSE(m(R"({"a": {"$not": {"$gt": 5}}})", R"({"a": 7})"));
  EXPECT_TRUE(m(R"({"a": {"$not": {"$gt": 5}}})", R"({"b": 7})"));
  EXPECT_TRUE(m(R"({"a": {"$not": {"$regularExpression": {"pattern": "^x", "options": ""}}}})", R"({"a": "yx"})"));
  EXPECT_FALSE(m(R"({"a": {"$not": {"%regex": "^x"}}})", R"({"a": "xy"})"));
}

TEST_F(MatcherTest, Exists) {
  EXPECT_TRUE(m(R"({"a": {"$exists": true}})", R"({"a": null})"));
  EXPECT_FALSE(m(R"({"a": {"$exists": true}})", R"({"b": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$exists": false}})", R"({"b": 1})"));
  EXPECT_FALSE(m(R"({"a": {"$exists": false}})", R"({"a": null})"));
  EXPECT_TRUE(m(R"({"a.b": {"$exists": true}})", R"({"a": [{"c": 1}, {"b": 1}]})"));
  EXPECT_FALSE(m(R"({"a.0": {"$exists": true}})", R"({"a": []})"));
  EXPECT_TRUE(m(R"({"a": {"$exists": 1}})", R"({"a": 1})"));
}

TEST_F(MatcherTest, TypeByNumberAliasAndArray) {
  EXPECT_TRUE(m(R"({"a": {"%type": "string"}})", R"({"a": "x"})"));
  EXPECT_TRUE(m(R"({"a": {"%type": 2}})", R"({"a": "x"})"));
  EXPECT_TRUE(m(R"({"a": {"%type": "number"}})", R"({"a": {"$numberLong": "5"}})"));
  EXPECT_TRUE(m(R"({"a": {"%type": ["bool", "int"]}})", R"({"a": 5})"));
  EXPECT_TRUE(m(R"({"a": {"%type": "array"}})", R"({"a": []})"));
  EXPECT_TRUE(m(R"({"a": {"%type": "int"}})", R"({"a": ["x", 5]})"));
  EXPECT_FALSE(m(R"({"a": {"%type": "array"}})", R"({"a": 5})"));
  EXPECT_TRUE(m(R"({"a": {"%type": "null"}})", R"({"a": null})"));
  EXPECT_FALSE(m(R"({"a": {"%type": "null"}})", R"({"b": null})"));
  EXPECT_TRUE(m(R"({"a": {"%type": -1}})", R"({"a": {"$minKey": 1}})"));
  EXPECT_TRUE(m(R"({"a": {"%type": "maxKey"}})", R"({"a": {"$maxKey": 1}})"));
}

TEST_F(MatcherTest, TypeErrors) {
  EXPECT_EQ(err(R"({"a": {"%type": "nope"}})").message(), "Unknown type name alias: nope");
  EXPECT_EQ(err(R"({"a": {"%type": 100}})").message(), "Invalid numerical type code: 100");
  EXPECT_EQ(err(R"({"a": {"%type": {}}})").code(), 14);
}

TEST_F(MatcherTest, RegexOperatorAndOptions) {
  EXPECT_TRUE(m(R"({"a": {"%regex": "^ab"}})", R"({"a": "abc"})"));
  EXPECT_FALSE(m(R"({"a": {"%regex": "^ab"}})", R"({"a": "ABC"})"));
  EXPECT_TRUE(m(R"({"a": {"%regex": "^ab", "%options": "i"}})", R"({"a": "ABC"})"));
  EXPECT_TRUE(m(R"({"a": {"%options": "i", "%regex": "^ab"}})", R"({"a": "ABC"})"));
  EXPECT_TRUE(m(R"({"a": {"%regex": "^b", "%options": "m"}})", R"({"a": "a\nb"})"));
  EXPECT_TRUE(m(R"({"a": {"%regex": "a.b", "%options": "s"}})", R"({"a": "a\nb"})"));
  EXPECT_TRUE(m(R"({"a": {"%regex": "a b # comment", "%options": "x"}})", R"({"a": "ab"})"));
  EXPECT_TRUE(m(R"({"a": {"$regularExpression": {"pattern": "c$", "options": ""}}})", R"({"a": ["x", "abc"]})"));
  EXPECT_FALSE(m(R"({"a": {"%regex": "1"}})", R"({"a": 1})"));
  EXPECT_TRUE(m(R"({"a": {"%regex": "^é"}})", R"({"a": "été"})"));
  EXPECT_TRUE(m(R"({"a": {"%regex": "abc"}})", R"({"a": {"$symbol": "xabcx"}})"));
}

TEST_F(MatcherTest, RegexErrors) {
  EXPECT_EQ(err(R"({"a": {"%regex": 5}})").message(), "$regex has to be a string");
  EXPECT_EQ(err(R"({"a": {"%options": "i"}})").message(), "$options needs a $regex");
  EXPECT_EQ(err(R"({"a": {"%regex": "a", "%options": "z"}})").code(), 51108);
  EXPECT_EQ(err(R"({"a": {"%regex": "("}})").code(), 51091);
  EXPECT_EQ(err(R"({"a": {"%regex": {"$regularExpression": {"pattern": "a", "options": "i"}}, "%options": "m"}})").message(),
            "options set in both $regex and $options");
}

TEST_F(MatcherTest, Mod) {
  EXPECT_TRUE(m(R"({"a": {"$mod": [4, 1]}})", R"({"a": 9})"));
  EXPECT_TRUE(m(R"({"a": {"$mod": [4, 1]}})", R"({"a": 9.9})"));
  EXPECT_TRUE(m(R"({"a": {"$mod": [4, -1]}})", R"({"a": -9})"));
  EXPECT_FALSE(m(R"({"a": {"$mod": [4, 1]}})", R"({"a": "9"})"));
  EXPECT_TRUE(m(R"({"a": {"$mod": [4, 0]}})", R"({"a": [1, 8]})"));
  EXPECT_FALSE(m(R"({"a": {"$mod": [4, 0]}})", R"({"a": 1e300})"));
  EXPECT_FALSE(m(R"({"a": {"$mod": [4, 0]}})", R"({"a": {"$numberDouble": "Infinity"}})"));
  EXPECT_TRUE(m(R"({"a": {"$mod": [-1, 0]}})", R"({"a": {"$numberLong": "-9223372036854775808"}})"));
  EXPECT_EQ(err(R"({"a": {"$mod": [0, 1]}})").message(), "divisor cannot be 0");
  EXPECT_EQ(err(R"({"a": {"$mod": [1]}})").message(), "malformed mod, not enough elements");
  EXPECT_EQ(err(R"({"a": {"$mod": [1, 2, 3]}})").message(), "malformed mod, too many elements");
  EXPECT_EQ(err(R"({"a": {"$mod": 3}})").message(), "malformed mod, needs to be an array");
}

TEST_F(MatcherTest, All) {
  EXPECT_TRUE(m(R"({"a": {"$all": [1, 2]}})", R"({"a": [2, 3, 1]})"));
  EXPECT_FALSE(m(R"({"a": {"$all": [1, 4]}})", R"({"a": [2, 3, 1]})"));
  EXPECT_FALSE(m(R"({"a": {"$all": []}})", R"({"a": [1]})"));
  EXPECT_TRUE(m(R"({"a": {"$all": [1]}})", R"({"a": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$all": [[1, 2]]}})", R"({"a": [1, 2]})"));
  EXPECT_TRUE(m(R"({"a": {"$all": [{"$elemMatch": {"b": 1}}, {"$elemMatch": {"c": 2}}]}})",
                R"({"a": [{"b": 1}, {"c": 2}]})"));
  EXPECT_FALSE(m(R"({"a": {"$all": [{"$elemMatch": {"b": 1}}, {"$elemMatch": {"c": 3}}]}})",
                 R"({"a": [{"b": 1}, {"c": 2}]})"));
  EXPECT_EQ(err(R"({"a": {"$all": [{"$elemMatch": {"b": 1}}, 5]}})").message(), "$all/$elemMatch has to be consistent");
  EXPECT_EQ(err(R"({"a": {"$all": 5}})").message(), "$all needs an array");
}

TEST_F(MatcherTest, ElemMatchObjectForm) {
  EXPECT_TRUE(m(R"({"a": {"$elemMatch": {"b": 1, "c": 2}}})", R"({"a": [{"b": 1, "c": 2}]})"));
  EXPECT_FALSE(m(R"({"a": {"$elemMatch": {"b": 1, "c": 2}}})", R"({"a": [{"b": 1}, {"c": 2}]})"));
  EXPECT_TRUE(m(R"({"a.b": 1, "a.c": 2})", R"({"a": [{"b": 1}, {"c": 2}]})"));
  EXPECT_FALSE(m(R"({"a": {"$elemMatch": {"b": 1}}})", R"({"a": {"b": 1}})"));
  EXPECT_TRUE(m(R"({"a": {"$elemMatch": {"$or": [{"b": 5}, {"c": 6}]}}})", R"({"a": [{"c": 6}]})"));
}

TEST_F(MatcherTest, ElemMatchValueForm) {
  EXPECT_TRUE(m(R"({"a": {"$elemMatch": {"$gte": 80, "$lt": 85}}})", R"({"a": [82, 90]})"));
  EXPECT_FALSE(m(R"({"a": {"$elemMatch": {"$gte": 80, "$lt": 85}}})", R"({"a": [79, 90]})"));
  EXPECT_TRUE(m(R"({"a": {"$elemMatch": {"$not": {"$gt": 5}}}})", R"({"a": [7, 3]})"));
  EXPECT_EQ(err(R"({"a": {"$elemMatch": 1}})").message(), "$elemMatch needs an Object");
}

TEST_F(MatcherTest, Size) {
  EXPECT_TRUE(m(R"({"a": {"$size": 2}})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(m(R"({"a": {"$size": 1}})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(m(R"({"a": {"$size": 1}})", R"({"a": 1})"));
  EXPECT_TRUE(m(R"({"a": {"$size": 0}})", R"({"a": []})"));
  EXPECT_TRUE(m(R"({"a.b": {"$size": 1}})", R"({"a": [{"b": [1]}]})"));
  EXPECT_EQ(err(R"({"a": {"$size": -1}})").message(), "$size may not be negative");
  EXPECT_EQ(err(R"({"a": {"$size": "x"}})").message(), "$size needs a number");
}

TEST_F(MatcherTest, Bits) {
  EXPECT_TRUE(m(R"({"a": {"$bitsAllSet": 5}})", R"({"a": 7})"));
  EXPECT_FALSE(m(R"({"a": {"$bitsAllSet": 5}})", R"({"a": 6})"));
  EXPECT_TRUE(m(R"({"a": {"$bitsAnySet": [0, 3]}})", R"({"a": 8})"));
  EXPECT_TRUE(m(R"({"a": {"$bitsAllClear": 5}})", R"({"a": 2})"));
  EXPECT_TRUE(m(R"({"a": {"$bitsAnyClear": 3}})", R"({"a": 2})"));
  EXPECT_TRUE(m(R"({"a": {"$bitsAllSet": [63, 100]}})", R"({"a": -1})"));
  EXPECT_FALSE(m(R"({"a": {"$bitsAllSet": 1}})", R"({"a": 1.5})"));
  EXPECT_TRUE(m(R"({"a": {"$bitsAllSet": 1}})", R"({"a": {"$binary": {"base64": "AQ==", "subType": "00"}}})"));
}

TEST_F(MatcherTest, AlwaysTrueFalseAndComment) {
  EXPECT_TRUE(m(R"({"$alwaysTrue": 1})", R"({"a": 1})"));
  EXPECT_FALSE(m(R"({"$alwaysFalse": 1})", R"({"a": 1})"));
  EXPECT_TRUE(m(R"({"$comment": "hi", "a": 1})", R"({"a": 1})"));
  EXPECT_EQ(err(R"({"$alwaysTrue": 2})").code(), 9);
}

TEST_F(MatcherTest, ParseErrorsUseServerMessages) {
  ctx.version = 44;
  EXPECT_EQ(err(R"({"$foo": 1})").message(), "unknown top level operator: $foo");
  ctx.version = 70;
  EXPECT_EQ(err(R"({"$foo": 1})").message(),
            "unknown top level operator: $foo. If you have a field name that starts with a '$' symbol, consider using "
            "$getField or $setField.");
  EXPECT_EQ(err(R"({"a": {"$foo": 1}})").message(), "unknown operator: $foo");
  EXPECT_EQ(err(R"({"a": {"$gt": 1, "b": 1}})").message(), "unknown operator: b");
  EXPECT_EQ(err(R"({"a": {"$in": 1}})").message(), "$in needs an array");
  EXPECT_EQ(err(R"({"a": {"$nin": 1}})").message(), "$nin needs an array");
  EXPECT_EQ(err(R"({"$and": []})").message(), "$and/$or/$nor must be a nonempty array");
  EXPECT_EQ(err(R"({"$or": 1})").message(), "$or must be an array");
  EXPECT_EQ(err(R"({"$or": [1]})").message(), "$or/$and/$nor entries need to be full objects");
  EXPECT_EQ(err(R"({"a": {"$not": 1}})").message(), "$not needs a regex or a document");
  EXPECT_EQ(err(R"({"a": {"$not": {}}})").message(), "$not cannot be empty");
  EXPECT_EQ(err(R"({"a": {"$undefined": true}})").message(), "cannot compare to undefined");
  EXPECT_EQ(err(R"({"$where": "1"})").code(), 2);
  EXPECT_EQ(err(R"({"$text": {"$search": "x"}})").code(), 2);
  EXPECT_EQ(err(R"({"a": {"$near": [0, 0]}})").code(), 2);
  EXPECT_EQ(err(R"({"a": {"$in": [{"$gt": 1}]}})").message(), "cannot nest $ under $in");
}

TEST_F(MatcherTest, DbRefObjectIsEquality) {
  EXPECT_TRUE(m(R"({"a": {"$ref": "c", "$id": 1}})", R"({"a": {"$ref": "c", "$id": 1}})"));
}

TEST_F(MatcherTest, CollationAppliesToStrings) {
  auto spec = doc(R"({"locale": "en", "strength": 2})");
  ctx.collator = mql::Collator::make(spec.get()).value();
  EXPECT_TRUE(m(R"({"a": "HELLO"})", R"({"a": "hello"})"));
  EXPECT_TRUE(m(R"({"a": {"$in": ["X", "HELLO"]}})", R"({"a": "hello"})"));
  EXPECT_TRUE(m(R"({"a": {"$gt": "B"}})", R"({"a": "c"})"));
  EXPECT_FALSE(m(R"({"a": {"%regex": "HELLO"}})", R"({"a": "hello"})"));
  ctx.collator = nullptr;
  EXPECT_FALSE(m(R"({"a": "HELLO"})", R"({"a": "hello"})"));
}

TEST_F(MatcherTest, ElemMatchKeyForPositional) {
  EXPECT_EQ(key(R"({"a": 6})", R"({"a": [5, 6]})"), "1");
  EXPECT_EQ(key(R"({"a.b": 2})", R"({"a": [{"b": 1}, {"b": 2}]})"), "1");
  EXPECT_EQ(key(R"({"a": {"$elemMatch": {"b": 2}}})", R"({"a": [{"b": 1}, {"b": 2}]})"), "1");
  EXPECT_EQ(key(R"({"a": 6})", R"({"a": 6})"), "none");
  EXPECT_EQ(key(R"({"x": 1, "a": {"$gt": 3}})", R"({"x": 1, "a": [1, 2, 5]})"), "2");
  EXPECT_EQ(key(R"({"a.b": 7})", R"({"a": [{"b": [1]}, {"b": [5, 7]}]})"), "1");
}

TEST_F(MatcherTest, JsonSchemaTypesRequiredProperties) {
  std::string f = R"({"$jsonSchema": {"bsonType": "object", "required": ["name"],
                       "properties": {"name": {"bsonType": "string", "minLength": 2},
                                      "age": {"bsonType": ["int", "long"], "minimum": 0, "maximum": 150}}}})";
  EXPECT_TRUE(m(f, R"({"name": "al", "age": 3})"));
  EXPECT_FALSE(m(f, R"({"age": 3})"));
  EXPECT_FALSE(m(f, R"({"name": "a"})"));
  EXPECT_FALSE(m(f, R"({"name": "al", "age": 200})"));
  EXPECT_FALSE(m(f, R"({"name": "al", "age": 3.5})"));
  EXPECT_TRUE(m(f, R"({"name": "al", "other": [1]})"));
}

TEST_F(MatcherTest, JsonSchemaAdditionalPropertiesEnumPatternItems) {
  EXPECT_FALSE(m(R"({"$jsonSchema": {"properties": {"a": {}}, "additionalProperties": false}})", R"({"a": 1, "b": 2})"));
  EXPECT_TRUE(m(R"({"$jsonSchema": {"properties": {"a": {}, "b": {}}, "additionalProperties": false}})", R"({"a": 1, "b": 2})"));
  EXPECT_TRUE(m(R"({"$jsonSchema": {"properties": {"c": {"enum": ["red", 1]}}}})", R"({"c": 1.0})"));
  EXPECT_FALSE(m(R"({"$jsonSchema": {"properties": {"c": {"enum": ["red", 1]}}}})", R"({"c": "blue"})"));
  EXPECT_TRUE(m(R"({"$jsonSchema": {"properties": {"e": {"pattern": "^[a-z]+@"}}}})", R"({"e": "x@y"})"));
  EXPECT_FALSE(m(R"({"$jsonSchema": {"properties": {"e": {"pattern": "^[a-z]+@"}}}})", R"({"e": "X@y"})"));
  std::string items = R"({"$jsonSchema": {"properties": {"t": {"bsonType": "array", "items": {"bsonType": "string"},
                          "minItems": 1, "maxItems": 2, "uniqueItems": true}}}})";
  EXPECT_TRUE(m(items, R"({"t": ["a", "b"]})"));
  EXPECT_FALSE(m(items, R"({"t": ["a", 1]})"));
  EXPECT_FALSE(m(items, R"({"t": []})"));
  EXPECT_FALSE(m(items, R"({"t": ["a", "a"]})"));
  EXPECT_FALSE(m(items, R"({"t": ["a", "b", "c"]})"));
  EXPECT_TRUE(m(R"({"$jsonSchema": {"properties": {"n": {"type": "number", "exclusiveMinimum": true, "minimum": 0}}}})",
                R"({"n": 0.5})"));
  EXPECT_FALSE(m(R"({"$jsonSchema": {"properties": {"n": {"type": "number", "exclusiveMinimum": true, "minimum": 0}}}})",
                 R"({"n": 0})"));
  EXPECT_TRUE(m(R"({"$jsonSchema": {"properties": {"n": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}})",
                R"({"n": null})"));
  EXPECT_FALSE(m(R"({"$jsonSchema": {"properties": {"n": {"not": {"type": "string"}}}}})", R"({"n": "s"})"));
}

TEST_F(MatcherTest, JsonSchemaErrors) {
  EXPECT_EQ(err(R"({"$jsonSchema": {"bogus": 1}})").message(), "Unknown $jsonSchema keyword: bogus");
  EXPECT_EQ(err(R"({"$jsonSchema": {"type": "integer"}})").code(), 9);
  EXPECT_EQ(err(R"({"$jsonSchema": 1})").code(), 14);
  EXPECT_EQ(err(R"({"$jsonSchema": {"required": "a"}})").code(), 14);
  EXPECT_TRUE(m(R"({"$jsonSchema": {"description": "d", "title": "t"}})", R"({"a": 1})"));
}

TEST_F(MatcherTest, ManyDocumentsScanIsFastEnough) {
  // A simple top-level equality over 200k documents stays well within a second.
  Bson f = doc(R"({"k": 7})");
  auto r = mql::Matcher::parse(f.get(), ctx);
  ASSERT_TRUE(r.ok());
  Bson hit = doc(R"({"_id": 1, "a": "xxxxxxxx", "b": 2.5, "k": 7})");
  Bson miss = doc(R"({"_id": 2, "a": "xxxxxxxx", "b": 2.5, "k": 8})");
  int n = 0;
  for (int i = 0; i < 200000; ++i) n += r.value()->matches((i % 2 ? hit : miss).get()) ? 1 : 0;
  EXPECT_EQ(n, 100000);
}

}  // namespace

namespace {

class MatcherExprTest : public ::testing::Test {
 protected:
  mql::ExpressionContext ctx;
};

TEST_F(MatcherExprTest, ExprUsesAggregationTruthiness) {
  Bson f = doc(R"({"$expr": "$flag"})");
  auto r = mql::Matcher::parse(f.get(), ctx);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r.value()->matches(doc(R"({"flag": true})").get()));
  EXPECT_TRUE(r.value()->matches(doc(R"({"flag": 5})").get()));
  EXPECT_FALSE(r.value()->matches(doc(R"({"flag": false})").get()));
  EXPECT_FALSE(r.value()->matches(doc(R"({"flag": 0})").get()));
  EXPECT_FALSE(r.value()->matches(doc(R"({"other": 1})").get()));
}

}  // namespace
