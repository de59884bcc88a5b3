// Tests for aggregation expressions: parsing, field paths, variables, arithmetic, boolean,
// comparison, conditionals, $let/$map/$filter/$reduce, objects, accumulator forms, version gating.
#include "mql/expression.h"

#include <gtest/gtest.h>

#include "expression_test_util.h"

namespace {

using mql::testing::ExprHarness;

class ExprTest : public ::testing::Test {
 protected:
  ExprHarness h;
};

// ---- parsing, paths, variables --------------------------------------------------------------

TEST_F(ExprTest, LiteralsAndFieldPaths) {
  EXPECT_EXPR(h, "5", "{}", "5");
  EXPECT_EXPR(h, "\"abc\"", "{}", "\"abc\"");
  EXPECT_EXPR(h, "\"$a\"", "{\"a\": 3}", "3");
  EXPECT_EXPR(h, "\"$a.b\"", "{\"a\": {\"b\": 4}}", "4");
  EXPECT_EXPR(h, "\"$a.b\"", "{\"a\": [{\"b\": 1}, {\"c\": 2}, {\"b\": [3]}, 7]}", "[1, [3]]");
  EXPECT_EXPR(h, "\"$nope\"", "{}", "missing");
  EXPECT_EXPR(h, "\"$$ROOT\"", "{\"a\": 1}", "{\"a\": 1}");
  EXPECT_EXPR(h, "\"$$CURRENT.a\"", "{\"a\": 1}", "1");
  EXPECT_EXPR(h, "\"$$REMOVE\"", "{}", "missing");
  EXPECT_EXPR(h, "\"$$NOW\"", "{}", "{\"$date\": {\"$numberLong\": \"1700000000000\"}}");
  EXPECT_EXPR(h, "{\"%literal\": \"$a\"}", "{\"a\": 1}", "\"$a\"");
  EXPECT_EXPR(h, "{\"$literal\": {\"$add\": 1}}", "{}", "{\"$add\": 1}");
  EXPECT_EXPR(h, "[\"$a\", \"$missing\", 2]", "{\"a\": 1}", "[1, null, 2]");
  EXPECT_EXPR(h, "{\"x\": \"$a\", \"y\": \"$missing\", \"z\": {\"w\": 1}}", "{\"a\": 1}", "{\"x\": 1, \"z\": {\"w\": 1}}");
}

TEST_F(ExprTest, ParseErrors) {
  EXPECT_EXPR_ERROR(h, "{\"$foo\": 1}", "{}", 168);
  EXPECT_EXPR_ERROR(h, "{\"$add\": [1], \"$sum\": 2}", "{}", 15983);
  EXPECT_EXPR_ERROR(h, "\"$\"", "{}", 16872);
  EXPECT_EXPR_ERROR(h, "\"$a..b\"", "{}", 15998);
  EXPECT_EXPR_ERROR(h, "\"$a.$b\"", "{}", 16410);
  EXPECT_EXPR_ERROR(h, "\"$a.\"", "{}", 40353);
  EXPECT_EXPR_ERROR(h, "\"$$undefinedVar\"", "{}", 17276);
  EXPECT_EXPR_ERROR(h, "\"$$\"", "{}", 16866);
  EXPECT_EXPR_ERROR(h, "\"$$1x\"", "{}", 16867);
  EXPECT_EXPR_ERROR(h, "{\"a\": 1, \"a\": 2}", "{}", 16406);
  EXPECT_EXPR_ERROR(h, "{\"a\": 1, \"$b\": 2}", "{}", 16410);
  EXPECT_EXPR_ERROR(h, "{\"a\": 1, \"b.c\": 2}", "{}", 16412);
  EXPECT_EXPR_ERROR(h, "{\"a\": 1, \"\": 2}", "{}", 15998);
  EXPECT_EXPR_ERROR(h, "{\"$eq\": [1]}", "{}", 16020);
  EXPECT_EXPR_ERROR(h, "{\"$divide\": [1, 2, 3]}", "{}", 16020);
}

TEST_F(ExprTest, LetVariablesFromContext) {
  h.ctx.let["lim"] = mql::Value::int32(10);
  EXPECT_EXPR(h, "{\"$gt\": [\"$a\", \"$$lim\"]}", "{\"a\": 11}", "true");
  EXPECT_EXPR(h, "\"$$lim\"", "{}", "10");
}

TEST_F(ExprTest, ConstantAndDependencies) {
  mql::ExpressionContext ctx;
  auto spec = mql::testing::doc("{\"e\": {\"$add\": [1, {\"$multiply\": [2, 3]}]}}");
  bson_iter_t it;
  bson_iter_init_find(&it, spec.get(), "e");
  auto e = mql::Expression::parse(&it, ctx);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE((*e)->is_constant());

  auto spec2 = mql::testing::doc("{\"e\": {\"$add\": [\"$a.b\", {\"$size\": \"$c\"}, {\"$rand\": {}}]}}");
  bson_iter_init_find(&it, spec2.get(), "e");
  auto e2 = mql::Expression::parse(&it, ctx);
  ASSERT_TRUE(e2.ok());
  EXPECT_FALSE((*e2)->is_constant());
  mql::ExpressionDeps deps;
  (*e2)->add_dependencies(&deps);
  EXPECT_EQ(deps.fields, (std::set<std::string>{"a", "c"}));
  EXPECT_FALSE(deps.whole_document);
}

// ---- arithmetic ---------------------------------------------------------------------------

TEST_F(ExprTest, AddPromotionAndOverflow) {
  EXPECT_EXPR(h, "{\"$add\": [1, 2]}", "{}", "3");
  EXPECT_EXPR(h, "{\"$add\": []}", "{}", "0");
  EXPECT_EXPR(h, "{\"$add\": [2147483647, 1]}", "{}", "{\"$numberLong\": \"2147483648\"}");
  EXPECT_EXPR(h, "{\"$add\": [1, {\"$numberLong\": \"2\"}]}", "{}", "{\"$numberLong\": \"3\"}");
  EXPECT_EXPR(h, "{\"$add\": [{\"$numberLong\": \"9223372036854775807\"}, 1]}", "{}", "9.223372036854775808e18");
  EXPECT_EXPR(h, "{\"$add\": [1, 1.5]}", "{}", "2.5");
  EXPECT_EXPR(h, "{\"$add\": [1, {\"$numberDecimal\": \"1.1\"}]}", "{}", "{\"$numberDecimal\": \"2.1\"}");
  EXPECT_EXPR(h, "{\"$add\": [0.5, {\"$numberDecimal\": \"1\"}]}", "{}", "{\"$numberDecimal\": \"1.5\"}");
  EXPECT_EXPR(h, "{\"$add\": [1, null]}", "{}", "null");
  EXPECT_EXPR(h, "{\"$add\": [1, \"$missing\"]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$add\": [1, \"x\"]}", "{}", 14);
  EXPECT_EXPR(h, "{\"$add\": [{\"$date\": {\"$numberLong\": \"1000\"}}, 500]}", "{}",
              "{\"$date\": {\"$numberLong\": \"1500\"}}");
  EXPECT_EXPR(h, "{\"$add\": [{\"$date\": {\"$numberLong\": \"1000\"}}, 1.6]}", "{}",
              "{\"$date\": {\"$numberLong\": \"1002\"}}");
  EXPECT_EXPR_ERROR(h,
                    "{\"$add\": [{\"$date\": {\"$numberLong\": \"1\"}}, {\"$date\": {\"$numberLong\": \"1\"}}]}", "{}",
                    16612);
}

TEST_F(ExprTest, SubtractMultiplyDivideMod) {
  EXPECT_EXPR(h, "{\"$subtract\": [5, 7]}", "{}", "-2");
  EXPECT_EXPR(h, "{\"$subtract\": [{\"$numberLong\": \"-9223372036854775808\"}, 1]}", "{}", "-9.223372036854775808e18");
  EXPECT_EXPR(h, "{\"$subtract\": [{\"$date\": {\"$numberLong\": \"5000\"}}, {\"$date\": {\"$numberLong\": \"2000\"}}]}",
              "{}", "{\"$numberLong\": \"3000\"}");
  EXPECT_EXPR(h, "{\"$subtract\": [{\"$date\": {\"$numberLong\": \"5000\"}}, 1000]}", "{}",
              "{\"$date\": {\"$numberLong\": \"4000\"}}");
  EXPECT_EXPR_ERROR(h, "{\"$subtract\": [1, {\"$date\": {\"$numberLong\": \"5000\"}}]}", "{}", 14);
  EXPECT_EXPR(h, "{\"$subtract\": [null, 1]}", "{}", "null");
  EXPECT_EXPR(h, "{\"$multiply\": [3, 4]}", "{}", "12");
  EXPECT_EXPR(h, "{\"$multiply\": [65536, 65536]}", "{}", "{\"$numberLong\": \"4294967296\"}");
  EXPECT_EXPR(h, "{\"$multiply\": [{\"$numberLong\": \"4611686018427387904\"}, 4]}", "{}", "1.8446744073709552e19");
  EXPECT_EXPR(h, "{\"$multiply\": [2, {\"$numberDecimal\": \"1.5\"}]}", "{}", "{\"$numberDecimal\": \"3.0\"}");
  EXPECT_EXPR_ERROR(h, "{\"$multiply\": [2, true]}", "{}", 14);
  EXPECT_EXPR(h, "{\"$divide\": [7, 2]}", "{}", "3.5");
  EXPECT_EXPR(h, "{\"$divide\": [6, 3]}", "{}", "2.0");
  EXPECT_EXPR(h, "{\"$divide\": [{\"$numberDecimal\": \"1\"}, 4]}", "{}", "{\"$numberDecimal\": \"0.25\"}");
  EXPECT_EXPR_ERROR(h, "{\"$divide\": [1, 0]}", "{}", 2);
  EXPECT_EXPR_ERROR(h, "{\"$divide\": [1, {\"$numberDecimal\": \"0\"}]}", "{}", 2);
  EXPECT_EXPR_ERROR(h, "{\"$divide\": [\"a\", 1]}", "{}", 14);
  EXPECT_EXPR(h, "{\"$divide\": [null, 1]}", "{}", "null");
  EXPECT_EXPR(h, "{\"$mod\": [7, 3]}", "{}", "1");
  EXPECT_EXPR(h, "{\"$mod\": [-7, 3]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$mod\": [7, 2.5]}", "{}", "2.0");
  EXPECT_EXPR(h, "{\"$mod\": [7, 2.0]}", "{}", "1");
  EXPECT_EXPR(h, "{\"$mod\": [{\"$numberLong\": \"7\"}, 3]}", "{}", "{\"$numberLong\": \"1\"}");
  EXPECT_EXPR(h, "{\"$mod\": [{\"$numberDecimal\": \"7.5\"}, 2]}", "{}", "{\"$numberDecimal\": \"1.5\"}");
  EXPECT_EXPR_ERROR(h, "{\"$mod\": [7, 0]}", "{}", 16610);
  EXPECT_EXPR_ERROR(h, "{\"$mod\": [7, {\"$numberDecimal\": \"0\"}]}", "{}", 5733415);
  EXPECT_EXPR_ERROR(h, "{\"$mod\": [\"a\", 1]}", "{}", 16611);
}

TEST_F(ExprTest, UnaryMath) {
  EXPECT_EXPR(h, "{\"$abs\": -5}", "{}", "5");
  EXPECT_EXPR(h, "{\"$abs\": -2147483648}", "{}", "{\"$numberLong\": \"2147483648\"}");
  EXPECT_EXPR(h, "{\"$abs\": {\"$numberDecimal\": \"-1.5\"}}", "{}", "{\"$numberDecimal\": \"1.5\"}");
  EXPECT_EXPR_ERROR(h, "{\"$abs\": {\"$numberLong\": \"-9223372036854775808\"}}", "{}", 28680);
  EXPECT_EXPR_ERROR(h, "{\"$abs\": \"x\"}", "{}", 28765);
  EXPECT_EXPR(h, "{\"$abs\": null}", "{}", "null");
  EXPECT_EXPR(h, "{\"$ceil\": 1.2}", "{}", "2.0");
  EXPECT_EXPR(h, "{\"$floor\": -1.2}", "{}", "-2.0");
  EXPECT_EXPR(h, "{\"$ceil\": 5}", "{}", "5");
  EXPECT_EXPR(h, "{\"$floor\": {\"$numberDecimal\": \"-1.5\"}}", "{}", "{\"$numberDecimal\": \"-2\"}");
  EXPECT_EXPR(h, "{\"$sqrt\": 16}", "{}", "4.0");
  EXPECT_EXPR_ERROR(h, "{\"$sqrt\": -1}", "{}", 28714);
  EXPECT_EXPR(h, "{\"$sqrt\": {\"$numberDecimal\": \"2.25\"}}", "{}", "{\"$numberDecimal\": \"1.5\"}");
  EXPECT_EXPR(h, "{\"$exp\": 0}", "{}", "1.0");
  EXPECT_EXPR(h, "{\"$ln\": 1}", "{}", "0.0");
  EXPECT_EXPR_ERROR(h, "{\"$ln\": 0}", "{}", 28766);
  EXPECT_EXPR(h, "{\"$log10\": 1000}", "{}", "3.0");
  EXPECT_EXPR_ERROR(h, "{\"$log10\": -1}", "{}", 28761);
  EXPECT_EXPR(h, "{\"$log\": [8, 2]}", "{}", "3.0");
  EXPECT_EXPR_ERROR(h, "{\"$log\": [8, 1]}", "{}", 28759);
  EXPECT_EXPR_ERROR(h, "{\"$log\": [-8, 2]}", "{}", 28758);
  EXPECT_EXPR_ERROR(h, "{\"$log\": [\"a\", 2]}", "{}", 28756);
  EXPECT_EXPR(h, "{\"$log\": [null, 2]}", "{}", "null");
}

TEST_F(ExprTest, Pow) {
  EXPECT_EXPR(h, "{\"$pow\": [2, 10]}", "{}", "1024");
  EXPECT_EXPR(h, "{\"$pow\": [2, 31]}", "{}", "{\"$numberLong\": \"2147483648\"}");
  EXPECT_EXPR(h, "{\"$pow\": [2, 63]}", "{}", "9.223372036854775808e18");
  EXPECT_EXPR(h, "{\"$pow\": [{\"$numberLong\": \"3\"}, 2]}", "{}", "{\"$numberLong\": \"9\"}");
  EXPECT_EXPR(h, "{\"$pow\": [2, -1]}", "{}", "0.5");
  EXPECT_EXPR(h, "{\"$pow\": [-1, 3]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$pow\": [2.0, 2]}", "{}", "4.0");
  EXPECT_EXPR(h, "{\"$pow\": [{\"$numberDecimal\": \"2\"}, 3]}", "{}", "{\"$numberDecimal\": \"8\"}");
  EXPECT_EXPR_ERROR(h, "{\"$pow\": [0, -1]}", "{}", 28764);
  EXPECT_EXPR_ERROR(h, "{\"$pow\": [\"a\", 1]}", "{}", 28762);
  EXPECT_EXPR_ERROR(h, "{\"$pow\": [1, \"a\"]}", "{}", 28763);
}

TEST_F(ExprTest, RoundAndTrunc) {
  EXPECT_EXPR(h, "{\"$round\": 2.5}", "{}", "2.0");
  EXPECT_EXPR(h, "{\"$round\": 3.5}", "{}", "4.0");
  EXPECT_EXPR(h, "{\"$round\": [1.2345, 2]}", "{}", "1.23");
  EXPECT_EXPR(h, "{\"$round\": [1234.5678, -2]}", "{}", "1200.0");
  EXPECT_EXPR(h, "{\"$round\": [1234, -2]}", "{}", "1200");
  EXPECT_EXPR(h, "{\"$round\": [1250, -2]}", "{}", "1200");
  EXPECT_EXPR(h, "{\"$round\": [7, 1]}", "{}", "7");
  EXPECT_EXPR(h, "{\"$round\": [{\"$numberDecimal\": \"5\"}, 2]}", "{}", "{\"$numberDecimal\": \"5.00\"}");
  EXPECT_EXPR(h, "{\"$round\": [{\"$numberDecimal\": \"1.2345\"}, 2]}", "{}", "{\"$numberDecimal\": \"1.23\"}");
  EXPECT_EXPR(h, "{\"$trunc\": [1.789, 1]}", "{}", "1.7");
  EXPECT_EXPR(h, "{\"$trunc\": -1.7}", "{}", "-1.0");
  EXPECT_EXPR(h, "{\"$trunc\": [{\"$numberLong\": \"1299\"}, -2]}", "{}", "{\"$numberLong\": \"1200\"}");
  EXPECT_EXPR_ERROR(h, "{\"$round\": [1.5, 101]}", "{}", 51083);
  EXPECT_EXPR_ERROR(h, "{\"$round\": [1.5, 1.5]}", "{}", 51082);
  EXPECT_EXPR_ERROR(h, "{\"$round\": \"a\"}", "{}", 51081);
  EXPECT_EXPR(h, "{\"$round\": [null, 1]}", "{}", "null");
  EXPECT_EXPR(h, "{\"$round\": [1.5, null]}", "{}", "null");
}

TEST_F(ExprTest, TrigonometryAndBits) {
  EXPECT_EXPR(h, "{\"$sin\": 0}", "{}", "0.0");
  EXPECT_EXPR(h, "{\"$cos\": 0}", "{}", "1.0");
  EXPECT_EXPR(h, "{\"$atan2\": [0, 1]}", "{}", "0.0");
  EXPECT_EXPR(h, "{\"$radiansToDegrees\": 0}", "{}", "0.0");
  EXPECT_EXPR(h, "{\"$degreesToRadians\": 180}", "{}", "3.141592653589793");
  EXPECT_EXPR_ERROR(h, "{\"$acos\": 2}", "{}", 50989);
  EXPECT_EXPR_ERROR(h, "{\"$sin\": {\"$numberDouble\": \"Infinity\"}}", "{}", 50989);
  EXPECT_EXPR_ERROR(h, "{\"$acosh\": 0.5}", "{}", 50989);
  EXPECT_EXPR(h, "{\"$acos\": null}", "{}", "null");
  EXPECT_EXPR(h, "{\"$sin\": {\"$numberDecimal\": \"0\"}}", "{}", "{\"$numberDecimal\": \"0\"}");
  EXPECT_EXPR_ERROR(h, "{\"$atan2\": [\"a\", 1]}", "{}", 51044);
  EXPECT_EXPR(h, "{\"$bitAnd\": [12, 10]}", "{}", "8");
  EXPECT_EXPR(h, "{\"$bitOr\": [12, {\"$numberLong\": \"3\"}]}", "{}", "{\"$numberLong\": \"15\"}");
  EXPECT_EXPR(h, "{\"$bitXor\": [5, 1]}", "{}", "4");
  EXPECT_EXPR(h, "{\"$bitNot\": 0}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$bitAnd\": []}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$bitOr\": [1, null]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$bitAnd\": [1, 1.5]}", "{}", 14);
}

// ---- boolean, comparison, conditionals ------------------------------------------------------

TEST_F(ExprTest, BooleanAndComparison) {
  EXPECT_EXPR(h, "{\"$and\": [1, \"a\", [], {}]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$and\": [1, 0]}", "{}", "false");
  EXPECT_EXPR(h, "{\"$and\": []}", "{}", "true");
  EXPECT_EXPR(h, "{\"$or\": [null, \"$missing\", false]}", "{}", "false");
  EXPECT_EXPR(h, "{\"$or\": []}", "{}", "false");
  // Short circuit: the erroring branch is never evaluated.
  EXPECT_EXPR(h, "{\"$or\": [true, {\"$divide\": [1, 0]}]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$not\": [0]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$not\": {\"$numberDecimal\": \"0\"}}", "{}", "true");
  EXPECT_EXPR(h, "{\"$eq\": [1, 1.0]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$eq\": [null, \"$missing\"]}", "{}", "false");
  EXPECT_EXPR(h, "{\"$lt\": [\"$missing\", null]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$gt\": [\"a\", 5]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$cmp\": [2, 1]}", "{}", "1");
  EXPECT_EXPR(h, "{\"$cmp\": [\"a\", \"b\"]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$ne\": [[1, 2], [1, 2]]}", "{}", "false");
  EXPECT_EXPR(h, "{\"$gte\": [{\"$numberDecimal\": \"1.0\"}, 1]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$lte\": [2, 1]}", "{}", "false");
}

TEST_F(ExprTest, CollationAwareComparison) {
  auto coll = mql::Collator::make(mql::testing::doc("{\"locale\": \"en\", \"strength\": 2}").get());
  ASSERT_TRUE(coll.ok()) << coll.status().to_string();
  h.ctx.collator = *coll;
  EXPECT_EXPR(h, "{\"$eq\": [\"abc\", \"ABC\"]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$in\": [\"ABC\", [\"x\", \"abc\"]]}", "{}", "true");
  EXPECT_EXPR(h, "{\"$setUnion\": [[\"a\", \"A\", \"b\"]]}", "{}", "[\"a\", \"b\"]");
}

TEST_F(ExprTest, Conditionals) {
  EXPECT_EXPR(h, "{\"$cond\": [true, 1, 2]}", "{}", "1");
  EXPECT_EXPR(h, "{\"$cond\": {\"if\": \"$missing\", \"then\": 1, \"else\": 2}}", "{}", "2");
  EXPECT_EXPR(h, "{\"$cond\": [false, {\"$divide\": [1, 0]}, 3]}", "{}", "3");
  EXPECT_EXPR_ERROR(h, "{\"$cond\": {\"if\": 1, \"then\": 1}}", "{}", 17082);
  EXPECT_EXPR_ERROR(h, "{\"$cond\": {\"if\": 1, \"then\": 1, \"else\": 2, \"x\": 3}}", "{}", 17083);
  EXPECT_EXPR_ERROR(h, "{\"$cond\": [1, 2]}", "{}", 16020);
  EXPECT_EXPR(h, "{\"$ifNull\": [\"$a\", \"$b\", 5]}", "{\"b\": null}", "5");
  EXPECT_EXPR(h, "{\"$ifNull\": [\"$a\", \"$b\", 5]}", "{\"b\": 2}", "2");
  EXPECT_EXPR(h, "{\"$ifNull\": [null, \"$missing\"]}", "{}", "missing");
  EXPECT_EXPR_ERROR(h, "{\"$ifNull\": [1]}", "{}", 1257300);
  h.ctx.version = 44;
  EXPECT_EXPR_ERROR(h, "{\"$ifNull\": [1, 2, 3]}", "{}", 16020);
  h.ctx.version = 70;
  const char* sw =
      "{\"$switch\": {\"branches\": [{\"case\": {\"$lt\": [\"$x\", 0]}, \"then\": \"neg\"}, "
      "{\"case\": {\"$eq\": [\"$x\", 0]}, \"then\": \"zero\"}], \"default\": \"pos\"}}";
  EXPECT_EXPR(h, sw, "{\"x\": -1}", "\"neg\"");
  EXPECT_EXPR(h, sw, "{\"x\": 0}", "\"zero\"");
  EXPECT_EXPR(h, sw, "{\"x\": 5}", "\"pos\"");
  EXPECT_EXPR_ERROR(h, "{\"$switch\": {\"branches\": [{\"case\": false, \"then\": 1}]}}", "{}", 40066);
  EXPECT_EXPR_ERROR(h, "{\"$switch\": {\"branches\": []}}", "{}", 40068);
  EXPECT_EXPR_ERROR(h, "{\"$switch\": {\"branches\": [{\"case\": true}]}}", "{}", 40065);
  EXPECT_EXPR_ERROR(h, "{\"$switch\": 1}", "{}", 40060);
}

// ---- variables ------------------------------------------------------------------------------

TEST_F(ExprTest, LetMapFilterReduce) {
  EXPECT_EXPR(h, "{\"$let\": {\"vars\": {\"x\": 2, \"y\": \"$a\"}, \"in\": {\"$multiply\": [\"$$x\", \"$$y\"]}}}",
              "{\"a\": 5}", "10");
  // Inner bindings shadow outer ones and are restored after.
  EXPECT_EXPR(h,
              "{\"$let\": {\"vars\": {\"x\": 1}, \"in\": [{\"$let\": {\"vars\": {\"x\": 2}, \"in\": \"$$x\"}}, \"$$x\"]}}",
              "{}", "[2, 1]");
  EXPECT_EXPR(h, "{\"$let\": {\"vars\": {\"CURRENT\": \"$a\"}, \"in\": \"$b\"}}", "{\"a\": {\"b\": 7}}", "7");
  EXPECT_EXPR_ERROR(h, "{\"$let\": {\"vars\": {\"X\": 1}, \"in\": 1}}", "{}", 16867);
  EXPECT_EXPR_ERROR(h, "{\"$let\": {\"vars\": {\"x\": \"$$x\"}, \"in\": 1}}", "{}", 17276);
  EXPECT_EXPR_ERROR(h, "{\"$let\": {\"in\": 1}}", "{}", 16876);
  EXPECT_EXPR_ERROR(h, "{\"$let\": {\"vars\": {}, \"in\": 1, \"z\": 1}}", "{}", 16875);
  EXPECT_EXPR(h, "{\"$map\": {\"input\": \"$a\", \"as\": \"v\", \"in\": {\"$add\": [\"$$v\", 1]}}}", "{\"a\": [1, 2]}",
              "[2, 3]");
  EXPECT_EXPR(h, "{\"$map\": {\"input\": \"$a\", \"in\": \"$$this.x\"}}", "{\"a\": [{\"x\": 1}, {}]}", "[1, null]");
  EXPECT_EXPR(h, "{\"$map\": {\"input\": null, \"in\": 1}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$map\": {\"input\": 5, \"in\": 1}}", "{}", 16883);
  EXPECT_EXPR_ERROR(h, "{\"$map\": {\"in\": 1}}", "{}", 16880);
  EXPECT_EXPR(h, "{\"$filter\": {\"input\": [1, 2, 3, 4], \"cond\": {\"$gt\": [\"$$this\", 2]}}}", "{}", "[3, 4]");
  EXPECT_EXPR(h, "{\"$filter\": {\"input\": [1, 2, 3, 4], \"as\": \"n\", \"cond\": {\"$gt\": [\"$$n\", 1]}, \"limit\": 2}}",
              "{}", "[2, 3]");
  EXPECT_EXPR(h, "{\"$filter\": {\"input\": [1, 2], \"cond\": true, \"limit\": null}}", "{}", "[1, 2]");
  EXPECT_EXPR_ERROR(h, "{\"$filter\": {\"input\": [1], \"cond\": true, \"limit\": 0}}", "{}", 327392);
  EXPECT_EXPR_ERROR(h, "{\"$filter\": {\"input\": [1], \"cond\": true, \"limit\": 1.5}}", "{}", 327391);
  EXPECT_EXPR_ERROR(h, "{\"$filter\": {\"input\": 1, \"cond\": true}}", "{}", 28651);
  EXPECT_EXPR(h, "{\"$reduce\": {\"input\": [1, 2, 3], \"initialValue\": 0, \"in\": {\"$add\": [\"$$value\", \"$$this\"]}}}",
              "{}", "6");
  EXPECT_EXPR(h, "{\"$reduce\": {\"input\": null, \"initialValue\": 0, \"in\": 1}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$reduce\": {\"input\": 1, \"initialValue\": 0, \"in\": 1}}", "{}", 40080);
  EXPECT_EXPR_ERROR(h, "{\"$reduce\": {\"input\": [], \"in\": 1}}", "{}", 40078);
  // $$this is not visible outside the operator that binds it.
  EXPECT_EXPR_ERROR(h, "{\"$add\": [{\"$map\": {\"input\": [], \"in\": 1}}, \"$$this\"]}", "{}", 17276);
}

// ---- objects --------------------------------------------------------------------------------

TEST_F(ExprTest, ObjectOperators) {
  EXPECT_EXPR(h, "{\"$mergeObjects\": [{\"a\": 1, \"b\": 1}, null, {\"b\": 2, \"c\": 3}]}", "{}",
              "{\"a\": 1, \"b\": 2, \"c\": 3}");
  EXPECT_EXPR(h, "{\"$mergeObjects\": \"$arr\"}", "{\"arr\": [{\"a\": 1}, {\"b\": 2}]}", "{\"a\": 1, \"b\": 2}");
  EXPECT_EXPR(h, "{\"$mergeObjects\": []}", "{}", "{}");
  EXPECT_EXPR_ERROR(h, "{\"$mergeObjects\": [{\"a\": 1}, 5]}", "{}", 40400);
  EXPECT_EXPR(h, "{\"$getField\": \"a.b\"}", "{\"a.b\": 3, \"a\": {\"b\": 4}}", "3");
  EXPECT_EXPR(h, "{\"$getField\": {\"field\": \"x\", \"input\": {\"x\": 1}}}", "{}", "1");
  EXPECT_EXPR(h, "{\"$getField\": {\"field\": \"x\", \"input\": null}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$getField\": {\"field\": \"x\", \"input\": 5}}", "{}", "missing");
  EXPECT_EXPR(h, "{\"$getField\": {\"$literal\": \"$price\"}}", "{\"$price\": 9}", "9");
  EXPECT_EXPR_ERROR(h, "{\"$getField\": {\"field\": \"$a\", \"input\": {}}}", "{}", 5654600);
  EXPECT_EXPR_ERROR(h, "{\"$getField\": {\"field\": 5, \"input\": {}}}", "{}", 5654602);
  EXPECT_EXPR(h, "{\"$setField\": {\"field\": \"b\", \"input\": {\"a\": 1}, \"value\": 2}}", "{}", "{\"a\": 1, \"b\": 2}");
  EXPECT_EXPR(h, "{\"$setField\": {\"field\": \"a\", \"input\": {\"a\": 1, \"c\": 3}, \"value\": \"$$REMOVE\"}}", "{}",
              "{\"c\": 3}");
  EXPECT_EXPR(h, "{\"$unsetField\": {\"field\": \"a.b\", \"input\": {\"$literal\": {\"a.b\": 1, \"c\": 3}}}}", "{}", "{\"c\": 3}");
  EXPECT_EXPR_ERROR(h, "{\"$setField\": {\"field\": \"b\", \"input\": 5, \"value\": 2}}", "{}", 4161105);
  EXPECT_EXPR_ERROR(h, "{\"$unsetField\": {\"field\": \"b\", \"input\": {}, \"value\": 2}}", "{}", 4161101);
  EXPECT_EXPR(h, "{\"$bsonSize\": {\"a\": 1}}", "{}", "12");
  EXPECT_EXPR(h, "{\"$bsonSize\": null}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$bsonSize\": 1}", "{}", 31393);
  EXPECT_EXPR(h, "{\"$binarySize\": \"abc\"}", "{}", "3");
  EXPECT_EXPR(h, "{\"$binarySize\": {\"$binary\": {\"base64\": \"AAAA\", \"subType\": \"00\"}}}", "{}", "3");
  EXPECT_EXPR_ERROR(h, "{\"$binarySize\": 1}", "{}", 51276);
}

// ---- accumulator operators in expression form -----------------------------------------------

TEST_F(ExprTest, AccumulatorForms) {
  EXPECT_EXPR(h, "{\"$sum\": [1, 2, \"x\", null]}", "{}", "3");
  EXPECT_EXPR(h, "{\"$sum\": \"$a\"}", "{\"a\": [1, {\"$numberLong\": \"2\"}, 3.5]}", "6.5");
  EXPECT_EXPR(h, "{\"$sum\": \"$a\"}", "{\"a\": 5}", "5");
  EXPECT_EXPR(h, "{\"$sum\": \"$missing\"}", "{}", "0");
  EXPECT_EXPR(h, "{\"$sum\": [{\"$numberLong\": \"9223372036854775807\"}, 1]}", "{}", "9.223372036854775808e18");
  EXPECT_EXPR(h, "{\"$sum\": [2147483647, 1]}", "{}", "{\"$numberLong\": \"2147483648\"}");
  EXPECT_EXPR(h, "{\"$sum\": [0.1, {\"$numberDecimal\": \"0.2\"}]}", "{}", "{\"$numberDecimal\": \"0.3000000000000000055511151231257827\"}");
  EXPECT_EXPR(h, "{\"$avg\": [1, 2, \"x\"]}", "{}", "1.5");
  EXPECT_EXPR(h, "{\"$avg\": []}", "{}", "null");
  EXPECT_EXPR(h, "{\"$avg\": [{\"$numberDecimal\": \"1\"}, 2]}", "{}", "{\"$numberDecimal\": \"1.5\"}");
  EXPECT_EXPR(h, "{\"$max\": [1, \"a\", null]}", "{}", "\"a\"");
  EXPECT_EXPR(h, "{\"$min\": \"$a\"}", "{\"a\": [3, 1, null, 2]}", "1");
  EXPECT_EXPR(h, "{\"$min\": [null, \"$missing\"]}", "{}", "null");
  EXPECT_EXPR(h, "{\"$stdDevPop\": [1, 2, 3, 4]}", "{}", "1.118033988749895");
  EXPECT_EXPR(h, "{\"$stdDevSamp\": [1]}", "{}", "null");
  EXPECT_EXPR(h, "{\"$stdDevSamp\": [2, 4]}", "{}", "1.4142135623730951");
  EXPECT_EXPR(h, "{\"$median\": {\"input\": [3, 1, 2, \"x\"], \"method\": \"approximate\"}}", "{}", "2.0");
  EXPECT_EXPR(h, "{\"$percentile\": {\"input\": \"$a\", \"p\": [0.5, 0.9], \"method\": \"approximate\"}}",
              "{\"a\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}", "[5.0, 9.0]");
  EXPECT_EXPR(h, "{\"$median\": {\"input\": [], \"method\": \"approximate\"}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$percentile\": {\"input\": [1], \"p\": [1.5], \"method\": \"approximate\"}}", "{}", 7750301);
  EXPECT_EXPR_ERROR(h, "{\"$median\": {\"input\": [1], \"method\": \"continuous\"}}", "{}", 7766600);
  EXPECT_EXPR_ERROR(h, "{\"$median\": {\"input\": [1]}}", "{}", 40414);
}

// ---- misc -------------------------------------------------------------------------------------

TEST_F(ExprTest, MetaRandJavascriptTimestamps) {
  EXPECT_EXPR(h, "{\"$meta\": \"textScore\"}", "{}", "missing");
  EXPECT_EXPR(h, "{\"$meta\": \"randVal\"}", "{}", "missing");
  EXPECT_EXPR_ERROR(h, "{\"$meta\": \"bogus\"}", "{}", 17308);
  EXPECT_EXPR_ERROR(h, "{\"$meta\": 1}", "{}", 17307);
  auto r = h.eval("{\"$rand\": {}}");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type(), BSON_TYPE_DOUBLE);
  EXPECT_GE(r->as_double(), 0.0);
  EXPECT_LT(r->as_double(), 1.0);
  EXPECT_EXPR_ERROR(h, "{\"$rand\": {\"a\": 1}}", "{}", 3040501);
  EXPECT_EXPR_ERROR(h, "{\"$function\": {\"body\": \"function(){return 1}\", \"args\": [], \"lang\": \"js\"}}", "{}",
                    31264);
  EXPECT_EXPR_ERROR(h, "{\"$function\": {\"args\": [], \"lang\": \"js\"}}", "{}", 31261);
  EXPECT_EXPR(h, "{\"$tsSecond\": {\"$timestamp\": {\"t\": 100, \"i\": 3}}}", "{}", "{\"$numberLong\": \"100\"}");
  EXPECT_EXPR(h, "{\"$tsIncrement\": {\"$timestamp\": {\"t\": 100, \"i\": 3}}}", "{}", "{\"$numberLong\": \"3\"}");
  EXPECT_EXPR_ERROR(h, "{\"$tsSecond\": 1}", "{}", 5687301);
  EXPECT_EXPR(h, "{\"$tsIncrement\": null}", "{}", "null");
}

TEST_F(ExprTest, VersionGating) {
  h.ctx.version = 44;
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$$NOW\", \"unit\": \"day\", \"amount\": 1}}", "{}", 168);
  EXPECT_EXPR_ERROR(h, "{\"$getField\": \"a\"}", "{}", 168);
  EXPECT_EXPR(h, "{\"$first\": [[1, 2]]}", "{}", "1");
  h.ctx.version = 50;
  EXPECT_EXPR_ERROR(h, "{\"$sortArray\": {\"input\": [2, 1], \"sortBy\": 1}}", "{}", 168);
  EXPECT_EXPR_ERROR(h, "{\"$tsSecond\": {\"$timestamp\": {\"t\": 1, \"i\": 1}}}", "{}", 168);
  EXPECT_EXPR(h, "{\"$getField\": \"a\"}", "{\"a\": 1}", "1");
  EXPECT_EXPR_ERROR(h, "{\"$filter\": {\"input\": [1], \"cond\": true, \"limit\": 1}}", "{}", 28647);
  h.ctx.version = 60;
  EXPECT_EXPR(h, "{\"$sortArray\": {\"input\": [2, 1], \"sortBy\": 1}}", "{}", "[1, 2]");
  EXPECT_EXPR_ERROR(h, "{\"$bitAnd\": [1, 3]}", "{}", 168);
  EXPECT_EXPR_ERROR(h, "{\"$median\": {\"input\": [1], \"method\": \"approximate\"}}", "{}", 168);
  h.ctx.version = 70;
  EXPECT_EXPR(h, "{\"$bitAnd\": [1, 3]}", "{}", "1");
  EXPECT_EXPR_ERROR(h, "{\"$median\": {\"input\": [1], \"method\": \"discrete\"}}", "{}", 7766600);
  h.ctx.version = 80;
  EXPECT_EXPR(h, "{\"$median\": {\"input\": [1], \"method\": \"discrete\"}}", "{}", "1.0");
}

}  // namespace
