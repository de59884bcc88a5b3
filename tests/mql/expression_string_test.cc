// Tests for string and regex expression operators.
#include <gtest/gtest.h>

#include "expression_test_util.h"

namespace {

using mql::testing::ExprHarness;

class ExprStringTest : public ::testing::Test {
 protected:
  ExprHarness h;
};

TEST_F(ExprStringTest, ConcatAndCase) {
  EXPECT_EXPR(h, "{\"$concat\": [\"a\", \"$b\", \"c\"]}", "{\"b\": \"-\"}", "\"a-c\"");
  EXPECT_EXPR(h, "{\"$concat\": []}", "{}", "\"\"");
  EXPECT_EXPR(h, "{\"$concat\": [\"a\", \"$missing\"]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$concat\": [\"a\", 1]}", "{}", 16702);
  EXPECT_EXPR(h, "{\"$toUpper\": \"abc\\u00e9\"}", "{}", "\"ABC\\u00e9\"");
  EXPECT_EXPR(h, "{\"$toLower\": \"ABC\"}", "{}", "\"abc\"");
  EXPECT_EXPR(h, "{\"$toLower\": 5}", "{}", "\"5\"");
  EXPECT_EXPR(h, "{\"$toLower\": 1.5}", "{}", "\"1.5\"");
  EXPECT_EXPR(h, "{\"$toUpper\": null}", "{}", "\"\"");
  EXPECT_EXPR_ERROR(h, "{\"$toUpper\": [[1]]}", "{}", 16007);
  EXPECT_EXPR(h, "{\"$strcasecmp\": [\"abc\", \"ABC\"]}", "{}", "0");
  EXPECT_EXPR(h, "{\"$strcasecmp\": [\"abd\", \"ABC\"]}", "{}", "1");
  EXPECT_EXPR(h, "{\"$strcasecmp\": [null, \"a\"]}", "{}", "-1");
}

TEST_F(ExprStringTest, IndexOf) {
  EXPECT_EXPR(h, "{\"$indexOfBytes\": [\"cafeteria\", \"e\"]}", "{}", "3");
  EXPECT_EXPR(h, "{\"$indexOfBytes\": [\"cafeteria\", \"e\", 4]}", "{}", "5");
  EXPECT_EXPR(h, "{\"$indexOfBytes\": [\"cafeteria\", \"e\", 4, 5]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$indexOfBytes\": [\"abc\", \"\", 5]}", "{}", "-1");
  EXPECT_EXPR(h, "{\"$indexOfBytes\": [null, \"a\"]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$indexOfBytes\": [1, \"a\"]}", "{}", 40091);
  EXPECT_EXPR_ERROR(h, "{\"$indexOfBytes\": [\"a\", 1]}", "{}", 40092);
  EXPECT_EXPR_ERROR(h, "{\"$indexOfBytes\": [\"a\", \"a\", -1]}", "{}", 40097);
  EXPECT_EXPR(h, "{\"$indexOfCP\": [\"h\\u00e9llo\", \"l\"]}", "{}", "2");
  EXPECT_EXPR(h, "{\"$indexOfBytes\": [\"h\\u00e9llo\", \"l\"]}", "{}", "3");
  EXPECT_EXPR(h, "{\"$indexOfCP\": [\"\", \"\"]}", "{}", "0");
  EXPECT_EXPR(h, "{\"$indexOfCP\": [\"abc\", \"c\", 0, 2]}", "{}", "-1");
  EXPECT_EXPR_ERROR(h, "{\"$indexOfCP\": [1, \"a\"]}", "{}", 40093);
}

TEST_F(ExprStringTest, LengthsAndSubstrings) {
  EXPECT_EXPR(h, "{\"$strLenBytes\": \"h\\u00e9llo\"}", "{}", "6");
  EXPECT_EXPR(h, "{\"$strLenCP\": \"h\\u00e9llo\"}", "{}", "5");
  EXPECT_EXPR_ERROR(h, "{\"$strLenBytes\": null}", "{}", 34473);
  EXPECT_EXPR_ERROR(h, "{\"$strLenCP\": 1}", "{}", 34471);
  EXPECT_EXPR(h, "{\"$substrCP\": [\"h\\u00e9llo\", 1, 2]}", "{}", "\"\\u00e9l\"");
  EXPECT_EXPR(h, "{\"$substrCP\": [\"abc\", 5, 2]}", "{}", "\"\"");
  EXPECT_EXPR_ERROR(h, "{\"$substrCP\": [\"abc\", -1, 2]}", "{}", 34455);
  EXPECT_EXPR_ERROR(h, "{\"$substrCP\": [\"abc\", 0, -1]}", "{}", 34454);
  EXPECT_EXPR_ERROR(h, "{\"$substrCP\": [\"abc\", 0.5, 1]}", "{}", 34451);
  EXPECT_EXPR(h, "{\"$substrBytes\": [\"abcdef\", 2, 3]}", "{}", "\"cde\"");
  EXPECT_EXPR(h, "{\"$substr\": [\"abcdef\", 2, -1]}", "{}", "\"cdef\"");
  EXPECT_EXPR(h, "{\"$substr\": [12345, 1, 2]}", "{}", "\"23\"");
  EXPECT_EXPR(h, "{\"$substrBytes\": [\"abc\", 10, 1]}", "{}", "\"\"");
  EXPECT_EXPR_ERROR(h, "{\"$substrBytes\": [\"h\\u00e9llo\", 1, 1]}", "{}", 28657);
  EXPECT_EXPR_ERROR(h, "{\"$substrBytes\": [\"h\\u00e9llo\", 2, 1]}", "{}", 28656);
  EXPECT_EXPR_ERROR(h, "{\"$substrBytes\": [\"abc\", -1, 1]}", "{}", 50752);
  EXPECT_EXPR_ERROR(h, "{\"$substrBytes\": [\"abc\", \"a\", 1]}", "{}", 16034);
  EXPECT_EXPR_ERROR(h, "{\"$substr\": [\"abc\", 1]}", "{}", 16020);
}

TEST_F(ExprStringTest, TrimSplitReplace) {
  EXPECT_EXPR(h, "{\"$trim\": {\"input\": \"  a b \\n\"}}", "{}", "\"a b\"");
  EXPECT_EXPR(h, "{\"$ltrim\": {\"input\": \"  a \"}}", "{}", "\"a \"");
  EXPECT_EXPR(h, "{\"$rtrim\": {\"input\": \"  a \"}}", "{}", "\"  a\"");
  EXPECT_EXPR(h, "{\"$trim\": {\"input\": \"xxaxyx\", \"chars\": \"xy\"}}", "{}", "\"a\"");
  EXPECT_EXPR(h, "{\"$trim\": {\"input\": \"\\u00e9a\\u00e9\", \"chars\": \"\\u00e9\"}}", "{}", "\"a\"");
  EXPECT_EXPR(h, "{\"$trim\": {\"input\": null}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$trim\": {\"input\": \"a\", \"chars\": null}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$trim\": {\"input\": 1}}", "{}", 50699);
  EXPECT_EXPR_ERROR(h, "{\"$trim\": {\"input\": \"a\", \"chars\": 1}}", "{}", 50700);
  EXPECT_EXPR_ERROR(h, "{\"$trim\": {\"chars\": \"a\"}}", "{}", 50695);
  EXPECT_EXPR_ERROR(h, "{\"$trim\": {\"input\": \"a\", \"x\": 1}}", "{}", 50694);
  EXPECT_EXPR_ERROR(h, "{\"$trim\": \"a\"}", "{}", 50696);
  EXPECT_EXPR(h, "{\"$split\": [\"a,b,,c\", \",\"]}", "{}", "[\"a\", \"b\", \"\", \"c\"]");
  EXPECT_EXPR(h, "{\"$split\": [\"abc\", \"abc\"]}", "{}", "[\"\", \"\"]");
  EXPECT_EXPR(h, "{\"$split\": [null, \",\"]}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$split\": [\"a\", \"\"]}", "{}", 40087);
  EXPECT_EXPR_ERROR(h, "{\"$split\": [1, \",\"]}", "{}", 40085);
  EXPECT_EXPR(h, "{\"$replaceOne\": {\"input\": \"aXbX\", \"find\": \"X\", \"replacement\": \"-\"}}", "{}", "\"a-bX\"");
  EXPECT_EXPR(h, "{\"$replaceAll\": {\"input\": \"aXbX\", \"find\": \"X\", \"replacement\": \"-\"}}", "{}", "\"a-b-\"");
  EXPECT_EXPR(h, "{\"$replaceAll\": {\"input\": \"ab\", \"find\": \"\", \"replacement\": \"-\"}}", "{}", "\"-a-b-\"");
  EXPECT_EXPR(h, "{\"$replaceOne\": {\"input\": \"ab\", \"find\": null, \"replacement\": \"-\"}}", "{}", "null");
  EXPECT_EXPR_ERROR(h, "{\"$replaceOne\": {\"input\": null, \"find\": 1, \"replacement\": \"-\"}}", "{}", 51745);
  EXPECT_EXPR_ERROR(h, "{\"$replaceAll\": {\"input\": \"a\", \"find\": \"a\"}}", "{}", 51747);
}

TEST_F(ExprStringTest, Regex) {
  EXPECT_EXPR(h, "{\"$regexFind\": {\"input\": \"abc123def\", \"regex\": \"(\\\\d+)\"}}", "{}",
              "{\"match\": \"123\", \"idx\": 3, \"captures\": [\"123\"]}");
  EXPECT_EXPR(h, "{\"$regexFind\": {\"input\": \"\\u00e9a1\", \"regex\": \"\\\\d\"}}", "{}",
              "{\"match\": \"1\", \"idx\": 2, \"captures\": []}");
  EXPECT_EXPR(h, "{\"$regexFind\": {\"input\": \"ABC\", \"regex\": \"b\", \"options\": \"i\"}}", "{}",
              "{\"match\": \"B\", \"idx\": 1, \"captures\": []}");
  EXPECT_EXPR(h, "{\"$regexFind\": {\"input\": \"ab\", \"regex\": \"(x)?b\"}}", "{}",
              "{\"match\": \"b\", \"idx\": 1, \"captures\": [null]}");
  EXPECT_EXPR(h, "{\"$regexFind\": {\"input\": \"abc\", \"regex\": \"z\"}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$regexFind\": {\"input\": null, \"regex\": \"z\"}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$regexFindAll\": {\"input\": \"a1b22\", \"regex\": \"\\\\d+\"}}", "{}",
              "[{\"match\": \"1\", \"idx\": 1, \"captures\": []}, {\"match\": \"22\", \"idx\": 3, \"captures\": []}]");
  EXPECT_EXPR(h, "{\"$regexFindAll\": {\"input\": \"ab\", \"regex\": \"x*\"}}", "{}",
              "[{\"match\": \"\", \"idx\": 0, \"captures\": []}, {\"match\": \"\", \"idx\": 1, \"captures\": []}]");
  EXPECT_EXPR(h, "{\"$regexFindAll\": {\"input\": \"$missing\", \"regex\": \"a\"}}", "{}", "[]");
  EXPECT_EXPR(h, "{\"$regexMatch\": {\"input\": \"Hello\", \"regex\": {\"$regularExpression\": {\"pattern\": \"^h\", \"options\": \"i\"}}}}",
              "{}", "true");
  EXPECT_EXPR(h, "{\"$regexMatch\": {\"input\": \"line1\\nline2\", \"regex\": \"^line2\", \"options\": \"m\"}}", "{}", "true");
  EXPECT_EXPR(h, "{\"$regexMatch\": {\"input\": null, \"regex\": \"a\"}}", "{}", "false");
  EXPECT_EXPR_ERROR(h, "{\"$regexMatch\": {\"input\": \"a\", \"regex\": \"(\"}}", "{}", 51111);
  EXPECT_EXPR_ERROR(h, "{\"$regexMatch\": {\"input\": \"a\", \"regex\": \"a\", \"options\": \"q\"}}", "{}", 51108);
  EXPECT_EXPR_ERROR(h, "{\"$regexMatch\": {\"input\": 1, \"regex\": \"a\"}}", "{}", 51104);
  EXPECT_EXPR_ERROR(h, "{\"$regexMatch\": {\"input\": \"a\", \"regex\": 1}}", "{}", 51105);
  EXPECT_EXPR_ERROR(h, "{\"$regexMatch\": {\"input\": \"a\"}}", "{}", 31023);
  EXPECT_EXPR_ERROR(h,
                    "{\"$regexMatch\": {\"input\": \"a\", \"regex\": {\"$regularExpression\": {\"pattern\": \"a\", "
                    "\"options\": \"i\"}}, \"options\": \"m\"}}",
                    "{}", 51107);
  // A non-constant pattern is compiled per document.
  EXPECT_EXPR(h, "{\"$regexMatch\": {\"input\": \"$s\", \"regex\": \"$p\"}}", "{\"s\": \"xyz\", \"p\": \"y\"}", "true");
  EXPECT_EXPR_ERROR(h, "{\"$regexMatch\": {\"input\": \"$s\", \"regex\": \"$p\"}}", "{\"s\": \"xyz\", \"p\": \"[\"}", 51111);
}

}  // namespace
