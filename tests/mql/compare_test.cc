// Tests for the canonical BSON order and hash (src/mql/compare.cc).
#include "mql/compare.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bson.h"

namespace {

using common::Bson;

// Compares field "a" of two JSON documents.
int cmp(const std::string& a, const std::string& b) {
  auto da = Bson::from_json("{\"a\": " + a + "}");
  auto db = Bson::from_json("{\"a\": " + b + "}");
  EXPECT_TRUE(da.ok()) << a;
  EXPECT_TRUE(db.ok()) << b;
  bson_iter_t ia, ib;
  EXPECT_TRUE(bson_iter_init_find(&ia, da.value().get(), "a"));
  EXPECT_TRUE(bson_iter_init_find(&ib, db.value().get(), "a"));
  return mql::compare_elements(&ia, &ib);
}

uint64_t hash_of(const std::string& a) {
  auto d = Bson::from_json("{\"a\": " + a + "}");
  bson_iter_t it;
  EXPECT_TRUE(bson_iter_init_find(&it, d.value().get(), "a"));
  return mql::hash_value(bson_iter_value(&it));
}

TEST(CompareTest, TypeRankOrder) {
  EXPECT_LT(cmp("{\"$minKey\": 1}", "null"), 0);
  EXPECT_LT(cmp("{\"$undefined\": true}", "null"), 0);
  EXPECT_LT(cmp("null", "-1e308"), 0);
  EXPECT_LT(cmp("99999", "\"\""), 0);
  EXPECT_LT(cmp("\"zzz\"", "{}"), 0);
  EXPECT_LT(cmp("{\"z\": 1}", "[]"), 0);
  EXPECT_LT(cmp("[99]", "{\"$binary\": {\"base64\": \"\", \"subType\": \"00\"}}"), 0);
  EXPECT_LT(cmp("{\"$binary\": {\"base64\": \"AAAA\", \"subType\": \"00\"}}", "{\"$oid\": \"000000000000000000000000\"}"), 0);
  EXPECT_LT(cmp("{\"$oid\": \"ffffffffffffffffffffffff\"}", "false"), 0);
  EXPECT_LT(cmp("true", "{\"$date\": {\"$numberLong\": \"-5\"}}"), 0);
  EXPECT_LT(cmp("{\"$date\": {\"$numberLong\": \"5\"}}", "{\"$timestamp\": {\"t\": 0, \"i\": 0}}"), 0);
  EXPECT_LT(cmp("{\"$timestamp\": {\"t\": 9, \"i\": 9}}", "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}"), 0);
  EXPECT_LT(cmp("{\"$regularExpression\": {\"pattern\": \"z\", \"options\": \"\"}}", "{\"$code\": \"x\"}"), 0);
  EXPECT_LT(cmp("{\"$code\": \"x\"}", "{\"$maxKey\": 1}"), 0);
}

TEST(CompareTest, NumbersCompareAcrossTypes) {
  EXPECT_EQ(cmp("1", "{\"$numberLong\": \"1\"}"), 0);
  EXPECT_EQ(cmp("1", "1.0"), 0);
  EXPECT_EQ(cmp("1", "{\"$numberDecimal\": \"1.00\"}"), 0);
  EXPECT_EQ(cmp("-0.0", "0"), 0);
  EXPECT_LT(cmp("1", "1.5"), 0);
  EXPECT_GT(cmp("2", "1.5"), 0);
  EXPECT_LT(cmp("{\"$numberDecimal\": \"1.1\"}", "1.5"), 0);
  EXPECT_GT(cmp("{\"$numberDecimal\": \"-1.1\"}", "-1.5"), 0);
}

TEST(CompareTest, LargeInt64VersusDoubleIsExact) {
  // 2^53 + 1 is not representable as a double; 2^53 is.
  EXPECT_GT(cmp("{\"$numberLong\": \"9007199254740993\"}", "9007199254740992.0"), 0);
  EXPECT_EQ(cmp("{\"$numberLong\": \"9007199254740992\"}", "9007199254740992.0"), 0);
  EXPECT_LT(cmp("{\"$numberLong\": \"9223372036854775807\"}", "9223372036854775808.0"), 0);
  EXPECT_GT(cmp("{\"$numberLong\": \"-9223372036854775808\"}", "-9223372036854777856.0"), 0);
  EXPECT_EQ(cmp("{\"$numberLong\": \"-9223372036854775808\"}", "-9223372036854775808.0"), 0);
}

TEST(CompareTest, DecimalVersusDoubleIsExact) {
  // 0.1 as a double is 0.1000000000000000055511151231257827...
  EXPECT_LT(cmp("{\"$numberDecimal\": \"0.1\"}", "0.1"), 0);
  EXPECT_EQ(cmp("{\"$numberDecimal\": \"0.5\"}", "0.5"), 0);
  EXPECT_GT(cmp("{\"$numberDecimal\": \"9007199254740993\"}", "9007199254740992.0"), 0);
  EXPECT_EQ(cmp("{\"$numberDecimal\": \"1E+2\"}", "100"), 0);
}

TEST(CompareTest, NaNIsLowestNumberAndEqualsItself) {
  EXPECT_LT(cmp("{\"$numberDouble\": \"NaN\"}", "{\"$numberDouble\": \"-Infinity\"}"), 0);
  EXPECT_EQ(cmp("{\"$numberDouble\": \"NaN\"}", "{\"$numberDouble\": \"NaN\"}"), 0);
  EXPECT_EQ(cmp("{\"$numberDouble\": \"NaN\"}", "{\"$numberDecimal\": \"NaN\"}"), 0);
  EXPECT_LT(cmp("{\"$numberDouble\": \"NaN\"}", "{\"$numberLong\": \"-9223372036854775808\"}"), 0);
  EXPECT_LT(cmp("null", "{\"$numberDouble\": \"NaN\"}"), 0);
  EXPECT_LT(cmp("{\"$numberDecimal\": \"-Infinity\"}", "-1e308"), 0);
}

TEST(CompareTest, StringsBinaryAndSymbolRanksWithString) {
  EXPECT_LT(cmp("\"B\"", "\"a\""), 0);
  EXPECT_LT(cmp("\"a\"", "\"ab\""), 0);
  EXPECT_EQ(cmp("{\"$symbol\": \"abc\"}", "\"abc\""), 0);
  EXPECT_LT(cmp("{\"$symbol\": \"abc\"}", "\"abd\""), 0);
}

TEST(CompareTest, DocumentsCompareFieldByField) {
  EXPECT_NE(cmp("{\"a\": 1, \"b\": 1}", "{\"b\": 1, \"a\": 1}"), 0);
  EXPECT_LT(cmp("{\"a\": 1}", "{\"a\": 1, \"b\": 0}"), 0);
  EXPECT_EQ(cmp("{\"a\": 1}", "{\"a\": 1.0}"), 0);
  // Type rank before field name: {b: null} < {a: 1}.
  EXPECT_LT(cmp("{\"b\": null}", "{\"a\": 1}"), 0);
  EXPECT_LT(cmp("{\"a\": 1}", "{\"b\": 1}"), 0);
}

TEST(CompareTest, ArraysCompareElementWise) {
  EXPECT_LT(cmp("[1, 2]", "[1, 3]"), 0);
  EXPECT_LT(cmp("[1]", "[1, 0]"), 0);
  EXPECT_GT(cmp("[2]", "[1, 9]"), 0);
  EXPECT_EQ(cmp("[1, 2]", "[1.0, {\"$numberLong\": \"2\"}]"), 0);
}

TEST(CompareTest, BinDataByLengthThenSubtypeThenBytes) {
  EXPECT_LT(cmp("{\"$binary\": {\"base64\": \"/w==\", \"subType\": \"05\"}}",
                "{\"$binary\": {\"base64\": \"AAA=\", \"subType\": \"00\"}}"), 0);
  EXPECT_LT(cmp("{\"$binary\": {\"base64\": \"/w==\", \"subType\": \"00\"}}",
                "{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"05\"}}"), 0);
  EXPECT_LT(cmp("{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"00\"}}",
                "{\"$binary\": {\"base64\": \"AQ==\", \"subType\": \"00\"}}"), 0);
}

TEST(CompareTest, TimestampIsUnsigned) {
  EXPECT_LT(cmp("{\"$timestamp\": {\"t\": 1, \"i\": 5}}", "{\"$timestamp\": {\"t\": 2, \"i\": 0}}"), 0);
  EXPECT_GT(cmp("{\"$timestamp\": {\"t\": 4294967295, \"i\": 0}}", "{\"$timestamp\": {\"t\": 1, \"i\": 0}}"), 0);
}

TEST(CompareTest, DateIsSigned) {
  EXPECT_LT(cmp("{\"$date\": {\"$numberLong\": \"-1\"}}", "{\"$date\": {\"$numberLong\": \"1\"}}"), 0);
}

TEST(CompareTest, RegexByPatternThenFlags) {
  EXPECT_LT(cmp("{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"x\"}}",
                "{\"$regularExpression\": {\"pattern\": \"b\", \"options\": \"\"}}"), 0);
  EXPECT_LT(cmp("{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}",
                "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}"), 0);
}

TEST(CompareTest, BoolFalseBeforeTrue) { EXPECT_LT(cmp("false", "true"), 0); }

TEST(CompareTest, MissingEqualsUndefinedRank) {
  bson_value_t missing;
  missing.value_type = BSON_TYPE_EOD;
  bson_value_t null;
  null.value_type = BSON_TYPE_NULL;
  EXPECT_LT(mql::compare_values(&missing, &null), 0);
}

TEST(CompareTest, CompareDocsTopLevel) {
  auto a = Bson::from_json(R"({"x": 1, "y": [1, 2]})");
  auto b = Bson::from_json(R"({"x": 1.0, "y": [1, 2]})");
  auto c = Bson::from_json(R"({"x": 1, "y": [1, 3]})");
  EXPECT_EQ(mql::compare_docs(a.value().get(), b.value().get()), 0);
  EXPECT_LT(mql::compare_docs(a.value().get(), c.value().get()), 0);
}

TEST(CompareTest, HashConsistentAcrossNumericTypes) {
  EXPECT_EQ(hash_of("1"), hash_of("1.0"));
  EXPECT_EQ(hash_of("1"), hash_of("{\"$numberLong\": \"1\"}"));
  EXPECT_EQ(hash_of("1"), hash_of("{\"$numberDecimal\": \"1.000\"}"));
  EXPECT_EQ(hash_of("0.5"), hash_of("{\"$numberDecimal\": \"0.50\"}"));
  EXPECT_EQ(hash_of("-0.0"), hash_of("0"));
  EXPECT_EQ(hash_of("{\"$numberDouble\": \"NaN\"}"), hash_of("{\"$numberDecimal\": \"NaN\"}"));
  EXPECT_EQ(hash_of("{\"x\": [1, 2]}"), hash_of("{\"x\": [1.0, {\"$numberLong\": \"2\"}]}"));
  EXPECT_EQ(hash_of("{\"$symbol\": \"s\"}"), hash_of("\"s\""));
}

TEST(CompareTest, HashDiffersForDifferentValues) {
  EXPECT_NE(hash_of("1"), hash_of("2"));
  EXPECT_NE(hash_of("\"a\""), hash_of("\"b\""));
  EXPECT_NE(hash_of("{\"a\": 1, \"b\": 2}"), hash_of("{\"b\": 2, \"a\": 1}"));
  EXPECT_NE(hash_of("{\"$numberDecimal\": \"0.1\"}"), hash_of("0.1"));
}

}  // namespace
