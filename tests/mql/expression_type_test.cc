// Tests for $convert, its shortcuts, $type and $isNumber.
#include <gtest/gtest.h>

#include "expression_test_util.h"

namespace {

using mql::testing::ExprHarness;

class ExprTypeTest : public ::testing::Test {
 protected:
  ExprHarness h;
};

TEST_F(ExprTypeTest, Shortcuts) {
  EXPECT_EXPR(h, "{\"$toString\": 1.5}", "{}", "\"1.5\"");
  EXPECT_EXPR(h, "{\"$toString\": 123456789.0}", "{}", "\"1.23457e+08\"");
  EXPECT_EXPR(h, "{\"$toString\": {\"$numberLong\": \"42\"}}", "{}", "\"42\"");
  EXPECT_EXPR(h, "{\"$toString\": {\"$numberDecimal\": \"9.990\"}}", "{}", "\"9.990\"");
  EXPECT_EXPR(h, "{\"$toString\": true}", "{}", "\"true\"");
  EXPECT_EXPR(h, "{\"$toString\": {\"$oid\": \"5ab9cbfa31c2ab715d42129e\"}}", "{}", "\"5ab9cbfa31c2ab715d42129e\"");
  EXPECT_EXPR(h, "{\"$toString\": {\"$date\": \"2024-01-15T10:30:45.123Z\"}}", "{}", "\"2024-01-15T10:30:45.123Z\"");
  EXPECT_EXPR(h, "{\"$toString\": {\"$numberDouble\": \"-0.0\"}}", "{}", "\"-0\"");
  EXPECT_EXPR(h, "{\"$toString\": null}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$toString\": [[1]]}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$toString\": []}", "{}", 50723);
  EXPECT_EXPR(h, "{\"$toInt\": \"12\"}", "{}", "12");
  EXPECT_EXPR(h, "{\"$toInt\": 2.9}", "{}", "2");
  EXPECT_EXPR(h, "{\"$toInt\": true}", "{}", "1");
  EXPECT_EXPR(h, "{\"$toInt\": {\"$numberDecimal\": \"-7.9\"}}", "{}", "-7");
  EXPECT_EXPR_ERROR(h, "{\"$toInt\": \"1.5\"}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$toInt\": 3e9}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$toInt\": {\"$numberLong\": \"3000000000\"}}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$toInt\": {\"$numberDouble\": \"NaN\"}}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$toInt\": \"0x1A\"}", "{}", 241);
  EXPECT_EXPR(h, "{\"$toLong\": \"9223372036854775807\"}", "{}", "{\"$numberLong\": \"9223372036854775807\"}");
  EXPECT_EXPR(h, "{\"$toLong\": {\"$date\": {\"$numberLong\": \"1500\"}}}", "{}", "{\"$numberLong\": \"1500\"}");
  EXPECT_EXPR_ERROR(h, "{\"$toLong\": 1e19}", "{}", 241);
  EXPECT_EXPR(h, "{\"$toDouble\": \"1e3\"}", "{}", "1000.0");
  EXPECT_EXPR(h, "{\"$toDouble\": {\"$date\": {\"$numberLong\": \"1500\"}}}", "{}", "1500.0");
  EXPECT_EXPR_ERROR(h, "{\"$toDouble\": \"abc\"}", "{}", 241);
  EXPECT_EXPR(h, "{\"$toDecimal\": 2.5}", "{}", "{\"$numberDecimal\": \"2.50000000000000\"}");
  EXPECT_EXPR(h, "{\"$toDecimal\": 0.1}", "{}", "{\"$numberDecimal\": \"0.100000000000000\"}");
  EXPECT_EXPR(h, "{\"$toDecimal\": \"1.25\"}", "{}", "{\"$numberDecimal\": \"1.25\"}");
  EXPECT_EXPR(h, "{\"$toDecimal\": 7}", "{}", "{\"$numberDecimal\": \"7\"}");
  EXPECT_EXPR(h, "{\"$toBool\": \"\"}", "{}", "true");
  EXPECT_EXPR(h, "{\"$toBool\": 0}", "{}", "false");
  EXPECT_EXPR(h, "{\"$toBool\": {\"$numberDecimal\": \"0.0\"}}", "{}", "false");
  EXPECT_EXPR(h, "{\"$toBool\": [[]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$toDate\": {\"$numberLong\": \"1000\"}}", "{}", "{\"$date\": {\"$numberLong\": \"1000\"}}");
  EXPECT_EXPR(h, "{\"$toDate\": \"2024-01-15\"}", "{}", "{\"$date\": \"2024-01-15T00:00:00Z\"}");
  EXPECT_EXPR(h, "{\"$toDate\": {\"$oid\": \"5ab9cbfa31c2ab715d42129e\"}}", "{}", "{\"$date\": \"2018-03-27T04:43:38Z\"}");
  EXPECT_EXPR(h, "{\"$toDate\": {\"$timestamp\": {\"t\": 10, \"i\": 1}}}", "{}", "{\"$date\": {\"$numberLong\": \"10000\"}}");
  EXPECT_EXPR_ERROR(h, "{\"$toDate\": 5}", "{}", 241);
  EXPECT_EXPR(h, "{\"$toObjectId\": \"5ab9cbfa31c2ab715d42129e\"}", "{}", "{\"$oid\": \"5ab9cbfa31c2ab715d42129e\"}");
  EXPECT_EXPR_ERROR(h, "{\"$toObjectId\": \"5ab9\"}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$toObjectId\": \"5ab9cbfa31c2ab715d42129z\"}", "{}", 241);
}

TEST_F(ExprTypeTest, Convert) {
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": \"12\", \"to\": \"int\"}}", "{}", "12");
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": \"12\", \"to\": 18}}", "{}", "{\"$numberLong\": \"12\"}");
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": \"x\", \"to\": \"int\", \"onError\": -1}}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": \"$missing\", \"to\": \"int\", \"onNull\": 0}}", "{}", "0");
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": \"$missing\", \"to\": \"int\"}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": 1, \"to\": null}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$convert\": {\"input\": [1], \"to\": \"int\", \"onError\": \"e\"}}", "{}", "\"e\"");
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1, \"to\": \"integer\"}}", "{}", 2);
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1, \"to\": 1.5}}", "{}", 9);
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1, \"to\": 100}}", "{}", 9);
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1, \"to\": true}}", "{}", 9);
  // A bad 'to' fails even when the input is null (it is computed first).
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": null, \"to\": \"nope\", \"onNull\": 1}}", "{}", 2);
  // onError only catches conversion failures.
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1, \"to\": \"bad\", \"onError\": 0}}", "{}", 2);
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1}}", "{}", 9);
  EXPECT_EXPR_ERROR(h, "{\"$convert\": {\"input\": 1, \"to\": \"int\", \"x\": 1}}", "{}", 9);
  EXPECT_EXPR_ERROR(h, "{\"$convert\": 1}", "{}", 9);
}

TEST_F(ExprTypeTest, TypeAndIsNumber) {
  EXPECT_EXPR(h, "{\"%type\": \"$a\"}", "{\"a\": 1}", "\"int\"");
  EXPECT_EXPR(h, "{\"%type\": \"$a\"}", "{\"a\": {\"$numberLong\": \"1\"}}", "\"long\"");
  EXPECT_EXPR(h, "{\"%type\": \"$a\"}", "{\"a\": [1]}", "\"array\"");
  EXPECT_EXPR(h, "{\"%type\": \"$missing\"}", "{}", "\"missing\"");
  EXPECT_EXPR(h, "{\"%type\": [null]}", "{}", "\"null\"");
  EXPECT_EXPR(h, "{\"%type\": {\"$numberDecimal\": \"1\"}}", "{}", "\"decimal\"");
  EXPECT_EXPR(h, "{\"$isNumber\": \"$a\"}", "{\"a\": 1.5}", "true");
  EXPECT_EXPR(h, "{\"$isNumber\": \"$a\"}", "{\"a\": \"1\"}", "false");
  EXPECT_EXPR(h, "{\"$isNumber\": \"$missing\"}", "{}", "false");
}

}  // namespace
