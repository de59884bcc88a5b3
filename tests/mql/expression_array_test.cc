// Tests for array and set expression operators.
#include <gtest/gtest.h>

#include "expression_test_util.h"

namespace {

using mql::testing::ExprHarness;

class ExprArrayTest : public ::testing::Test {
 protected:
  ExprHarness h;
};

TEST_F(ExprArrayTest, ElementAccess) {
  EXPECT_EXPR(h, "{\"$arrayElemAt\": [[1, 2, 3], 0]}", "{}", "1");
  EXPECT_EXPR(h, "{\"$arrayElemAt\": [[1, 2, 3], -1]}", "{}", "3");
  EXPECT_EXPR(h, "{\"$arrayElemAt\": [[1, 2, 3], 5]}", "{}", "missing");
  EXPECT_EXPR(h, "{\"$arrayElemAt\": [[1, 2, 3], -4]}", "{}", "missing");
  EXPECT_EXPR(h, "{\"$arrayElemAt\": [[1, 2, 3], 1.0]}", "{}", "2");
  EXPECT_EXPR(h, "{\"$arrayElemAt\": [null, 1]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$arrayElemAt\": [1, 1]}", "{}", 28689);
  EXPECT_EXPR_ERROR(h, "{\"$arrayElemAt\": [[1], \"a\"]}", "{}", 28690);
  EXPECT_EXPR_ERROR(h, "{\"$arrayElemAt\": [[1], 1.5]}", "{}", 28691);
  EXPECT_EXPR(h, "{\"$first\": \"$a\"}", "{\"a\": [4, 5]}", "4");
  EXPECT_EXPR(h, "{\"$last\": \"$a\"}", "{\"a\": [4, 5]}", "5");
  EXPECT_EXPR(h, "{\"$first\": \"$a\"}", "{\"a\": []}", "missing");
  EXPECT_EXPR(h, "{\"$last\": \"$missing\"}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$first\": 5}", "{}", 28689);
}

TEST_F(ExprArrayTest, ObjectArrayConversion) {
  EXPECT_EXPR(h, "{\"$objectToArray\": {\"$literal\": {\"a\": 1, \"b\": {\"c\": 2}}}}", "{}",
              "[{\"k\": \"a\", \"v\": 1}, {\"k\": \"b\", \"v\": {\"c\": 2}}]");
  EXPECT_EXPR(h, "{\"$objectToArray\": null}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$objectToArray\": [[1]]}", "{}", 40390);
  EXPECT_EXPR(h, "{\"$arrayToObject\": [[[\"a\", 1], [\"b\", 2], [\"a\", 3]]]}", "{}", "{\"a\": 3, \"b\": 2}");
  EXPECT_EXPR(h, "{\"$arrayToObject\": {\"$literal\": [{\"k\": \"x\", \"v\": 1}]}}", "{}", "{\"x\": 1}");
  EXPECT_EXPR(h, "{\"$arrayToObject\": [[]]}", "{}", "{}");
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": [[[\"a\", 1, 2]]]}", "{}", 40397);
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": [[[1, 1]]]}", "{}", 40395);
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": [[[\"a\", 1], {\"k\": \"b\", \"v\": 1}]]}", "{}", 40396);
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": {\"$literal\": [{\"k\": \"b\"}]}}", "{}", 40392);
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": {\"$literal\": [{\"k\": \"b\", \"w\": 1}]}}", "{}", 40393);
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": [[5]]}", "{}", 40398);
  EXPECT_EXPR_ERROR(h, "{\"$arrayToObject\": 5}", "{}", 40386);
}

TEST_F(ExprArrayTest, ConcatInIndexOfSize) {
  EXPECT_EXPR(h, "{\"$concatArrays\": [[1], [2, [3]], []]}", "{}", "[1, 2, [3]]");
  EXPECT_EXPR(h, "{\"$concatArrays\": [[1], \"$missing\"]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$concatArrays\": [[1], 2]}", "{}", 28664);
  EXPECT_EXPR(h, "{\"$in\": [2, [1, 2.0]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$in\": [\"$missing\", [null]]}", "{}", "false");
  EXPECT_EXPR_ERROR(h, "{\"$in\": [1, \"$missing\"]}", "{}", 40081);
  EXPECT_EXPR(h, "{\"$indexOfArray\": [[\"a\", \"b\", \"a\"], \"a\", 1]}", "{}", "2");
  EXPECT_EXPR(h, "{\"$indexOfArray\": [[\"a\", \"b\"], \"c\"]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$indexOfArray\": [[\"a\", \"b\"], \"b\", 0, 1]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$indexOfArray\": [null, 1]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$indexOfArray\": [1, 1]}", "{}", 40090);
  EXPECT_EXPR_ERROR(h, "{\"$indexOfArray\": [[1], 1, -1]}", "{}", 40097);
  EXPECT_EXPR_ERROR(h, "{\"$indexOfArray\": [[1], 1, \"x\"]}", "{}", 40096);
  EXPECT_EXPR(h, "{\"$isArray\": [[1]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$isArray\": \"$missing\"}", "{}", "false");
  EXPECT_EXPR(h, "{\"$size\": [[1, 2, 3]]}", "{}", "3");
  EXPECT_EXPR_ERROR(h, "{\"$size\": \"$missing\"}", "{}", 17124);
  EXPECT_EXPR(h, "{\"$reverseArray\": [[1, 2, 3]]}", "{}", "[3, 2, 1]");
  EXPECT_EXPR(h, "{\"$reverseArray\": null}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$reverseArray\": 1}", "{}", 34435);
}

TEST_F(ExprArrayTest, RangeAndSlice) {
  EXPECT_EXPR(h, "{\"$range\": [0, 5, 2]}", "{}", "[0, 2, 4]");
  EXPECT_EXPR(h, "{\"$range\": [5, 0, -2]}", "{}", "[5, 3, 1]");
  EXPECT_EXPR(h, "{\"$range\": [0, -1]}", "{}", "[]");
  EXPECT_EXPR(h, "{\"$range\": [0, 2.0]}", "{}", "[0, 1]");
  EXPECT_EXPR_ERROR(h, "{\"$range\": [0, 5, 0]}", "{}", 34449);
  EXPECT_EXPR_ERROR(h, "{\"$range\": [0.5, 5]}", "{}", 34444);
  EXPECT_EXPR_ERROR(h, "{\"$range\": [\"a\", 5]}", "{}", 34443);
  EXPECT_EXPR_ERROR(h, "{\"$range\": [0, 3000000000]}", "{}", 34446);
  EXPECT_EXPR_ERROR(h, "{\"$range\": [0, 2000000000]}", "{}", 146);
  EXPECT_EXPR(h, "{\"$slice\": [[1, 2, 3, 4], 2]}", "{}", "[1, 2]");
  EXPECT_EXPR(h, "{\"$slice\": [[1, 2, 3, 4], -2]}", "{}", "[3, 4]");
  EXPECT_EXPR(h, "{\"$slice\": [[1, 2, 3, 4], 1, 2]}", "{}", "[2, 3]");
  EXPECT_EXPR(h, "{\"$slice\": [[1, 2, 3, 4], -3, 2]}", "{}", "[2, 3]");
  EXPECT_EXPR(h, "{\"$slice\": [[1, 2, 3, 4], 10, 2]}", "{}", "[]");
  EXPECT_EXPR(h, "{\"$slice\": [null, 1]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$slice\": [[1], 1, 0]}", "{}", 28729);
  EXPECT_EXPR_ERROR(h, "{\"$slice\": [1, 1]}", "{}", 28724);
  EXPECT_EXPR_ERROR(h, "{\"$slice\": [[1], \"a\"]}", "{}", 28725);
}

TEST_F(ExprArrayTest, SortArrayAndN) {
  EXPECT_EXPR(h, "{\"$sortArray\": {\"input\": [3, 1, \"a\", 2], \"sortBy\": -1}}", "{}", "[\"a\", 3, 2, 1]");
  EXPECT_EXPR(h,
              "{\"$sortArray\": {\"input\": [{\"n\": 2, \"i\": 0}, {\"n\": 1, \"i\": 1}, {\"n\": 2, \"i\": 2}], "
              "\"sortBy\": {\"n\": 1}}}",
              "{}", "[{\"n\": 1, \"i\": 1}, {\"n\": 2, \"i\": 0}, {\"n\": 2, \"i\": 2}]");
  EXPECT_EXPR(h, "{\"$sortArray\": {\"input\": null, \"sortBy\": 1}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$sortArray\": {\"input\": 1, \"sortBy\": 1}}", "{}", 2942504);
  EXPECT_EXPR_ERROR(h, "{\"$sortArray\": {\"input\": [], \"sortBy\": 2}}", "{}", 2942506);
  EXPECT_EXPR_ERROR(h, "{\"$sortArray\": {\"input\": []}}", "{}", 2942503);
  EXPECT_EXPR_ERROR(h, "{\"$sortArray\": {\"input\": [], \"sortBy\": \"x\"}}", "{}", 2942507);
  EXPECT_EXPR(h, "{\"$firstN\": {\"input\": [1, 2, 3], \"n\": 2}}", "{}", "[1, 2]");
  EXPECT_EXPR(h, "{\"$lastN\": {\"input\": [1, 2, 3], \"n\": 5}}", "{}", "[1, 2, 3]");
  EXPECT_EXPR(h, "{\"$maxN\": {\"input\": [1, null, 3, 2], \"n\": 2}}", "{}", "[3, 2]");
  EXPECT_EXPR(h, "{\"$minN\": {\"input\": [4, null, 3, 2], \"n\": 2}}", "{}", "[2, 3]");
  EXPECT_EXPR(h, "{\"$firstN\": {\"input\": null, \"n\": 2}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$firstN\": {\"input\": [1], \"n\": 0}}", "{}", 5787908);
  EXPECT_EXPR_ERROR(h, "{\"$firstN\": {\"input\": [1], \"n\": 1.5}}", "{}", 5787903);
  EXPECT_EXPR_ERROR(h, "{\"$firstN\": {\"input\": 1, \"n\": 1}}", "{}", 5788200);
  EXPECT_EXPR_ERROR(h, "{\"$firstN\": {\"input\": [1]}}", "{}", 5787906);
  EXPECT_EXPR_ERROR(h, "{\"$firstN\": {\"input\": [1], \"n\": 1, \"x\": 1}}", "{}", 5787901);
}

TEST_F(ExprArrayTest, Zip) {
  EXPECT_EXPR(h, "{\"$zip\": {\"inputs\": [[1, 2], [\"a\", \"b\", \"c\"]]}}", "{}", "[[1, \"a\"], [2, \"b\"]]");
  EXPECT_EXPR(h, "{\"$zip\": {\"inputs\": [[1, 2], [\"a\"]], \"useLongestLength\": true, \"defaults\": [0, \"z\"]}}", "{}",
              "[[1, \"a\"], [2, \"z\"]]");
  EXPECT_EXPR(h, "{\"$zip\": {\"inputs\": [[1], []], \"useLongestLength\": true}}", "{}", "[[1, null]]");
  EXPECT_EXPR(h, "{\"$zip\": {\"inputs\": [[1], \"$missing\"]}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$zip\": {\"inputs\": [[1], 2]}}", "{}", 34468);
  EXPECT_EXPR_ERROR(h, "{\"$zip\": {\"inputs\": []}}", "{}", 34465);
  EXPECT_EXPR_ERROR(h, "{\"$zip\": {\"inputs\": [[1]], \"defaults\": [1]}}", "{}", 34466);
  EXPECT_EXPR_ERROR(h, "{\"$zip\": {\"inputs\": [[1]], \"useLongestLength\": true, \"defaults\": [1, 2]}}", "{}", 34467);
}

TEST_F(ExprArrayTest, Sets) {
  EXPECT_EXPR(h, "{\"$setUnion\": [[3, 1], [1, 2]]}", "{}", "[1, 2, 3]");
  EXPECT_EXPR(h, "{\"$setUnion\": [[1], null]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$setUnion\": [[1], 1]}", "{}", 17043);
  EXPECT_EXPR(h, "{\"$setIntersection\": [[1, 2, 3, 3], [3, 2, 5]]}", "{}", "[2, 3]");
  EXPECT_EXPR(h, "{\"$setIntersection\": []}", "{}", "[]");
  EXPECT_EXPR_ERROR(h, "{\"$setIntersection\": [[1], 1]}", "{}", 17047);
  EXPECT_EXPR(h, "{\"$setDifference\": [[3, 1, 2, 1], [2]]}", "{}", "[3, 1]");
  EXPECT_EXPR(h, "{\"$setDifference\": [null, [2]]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$setDifference\": [1, [2]]}", "{}", 17048);
  EXPECT_EXPR_ERROR(h, "{\"$setDifference\": [[1], 2]}", "{}", 17049);
  EXPECT_EXPR(h, "{\"$setEquals\": [[1, 2, 2], [2, 1.0]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$setEquals\": [[1], [1], [2]]}", "{}", "false");
  EXPECT_EXPR_ERROR(h, "{\"$setEquals\": [[1]]}", "{}", 17045);
  EXPECT_EXPR_ERROR(h, "{\"$setEquals\": [[1], null]}", "{}", 17044);
  EXPECT_EXPR(h, "{\"$setIsSubset\": [[1, 1], [1, 2]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$setIsSubset\": [[3], [1, 2]]}", "{}", "false");
  EXPECT_EXPR_ERROR(h, "{\"$setIsSubset\": [null, [1]]}", "{}", 17046);
  EXPECT_EXPR_ERROR(h, "{\"$setIsSubset\": [[1], null]}", "{}", 17042);
  EXPECT_EXPR(h, "{\"$allElementsTrue\": [[1, true, \"\"]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$allElementsTrue\": [[1, 0]]}", "{}", "false");
  EXPECT_EXPR(h, "{\"$allElementsTrue\": [[]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$anyElementTrue\": [[0, null, false]]}", "{}", "false");
  EXPECT_EXPR(h, "{\"$anyElementTrue\": [[0, [0]]]}", "{}", "true");
  EXPECT_EXPR_ERROR(h, "{\"$anyElementTrue\": [null]}", "{}", 17041);
  EXPECT_EXPR_ERROR(h, "{\"$allElementsTrue\": [1]}", "{}", 17040);
}

}  // namespace
