// Tests for ICU collation (src/mql/collation.cc).
#include "mql/collation.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bson.h"
#include "mql/compare.h"

namespace {

using common::Bson;

common::Result<mql::CollatorPtr> make(const std::string& json) {
  auto spec = Bson::from_json(json);
  EXPECT_TRUE(spec.ok()) << json;
  return mql::Collator::make(spec.value().get());
}

mql::CollatorPtr must(const std::string& json) {
  auto r = make(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  return r.ok() ? r.value() : nullptr;
}

int code_of(const std::string& json) {
  auto r = make(json);
  return r.ok() ? 0 : r.status().code();
}

TEST(CollationTest, SimpleIsNull) {
  auto r = make(R"({"locale": "simple"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), nullptr);
}

TEST(CollationTest, SimpleWithOtherFieldsFails) { EXPECT_EQ(code_of(R"({"locale": "simple", "strength": 1})"), 9); }

TEST(CollationTest, EnglishDefaultsSpec) {
  auto c = must(R"({"locale": "en"})");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->spec().json(),
            R"({ "locale" : "en", "caseLevel" : false, "caseFirst" : "off", "strength" : 3, "numericOrdering" : false, )"
            R"("alternate" : "non-ignorable", "maxVariable" : "punct", "normalization" : false, "backwards" : false, )"
            R"("version" : "57.1" })");
  EXPECT_EQ(c->locale(), "en");
}

TEST(CollationTest, FrenchCanadianDefaultsToBackwards) {
  auto c = must(R"({"locale": "fr_CA"})");
  ASSERT_NE(c, nullptr);
  bson_iter_t it;
  Bson s = c->spec();
  ASSERT_TRUE(bson_iter_init_find(&it, s.get(), "backwards"));
  EXPECT_TRUE(bson_iter_bool(&it));
}

TEST(CollationTest, ExplicitFieldsAppearInSpec) {
  auto c = must(R"({"locale": "en_US", "strength": 2, "numericOrdering": true, "alternate": "shifted",
                    "maxVariable": "space", "caseLevel": true, "caseFirst": "upper", "normalization": true,
                    "version": "57.1"})");
  ASSERT_NE(c, nullptr);
  Bson s = c->spec();
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, s.get(), "strength"));
  EXPECT_EQ(bson_iter_int32(&it), 2);
  ASSERT_TRUE(bson_iter_init_find(&it, s.get(), "maxVariable"));
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "space");
  ASSERT_TRUE(bson_iter_init_find(&it, s.get(), "caseFirst"));
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "upper");
}

TEST(CollationTest, StrengthOneIgnoresCaseAndAccents) {
  auto c = must(R"({"locale": "en", "strength": 1})");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->compare("a", "A"), 0);
  EXPECT_EQ(c->compare("a", "\xC3\xA1"), 0);  // á
  EXPECT_LT(c->compare("a", "b"), 0);
}

TEST(CollationTest, StrengthTwoIgnoresCaseOnly) {
  auto c = must(R"({"locale": "en", "strength": 2})");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->compare("a", "A"), 0);
  EXPECT_NE(c->compare("a", "\xC3\xA1"), 0);
}

TEST(CollationTest, StrengthThreeDistinguishesAll) {
  auto c = must(R"({"locale": "en", "strength": 3})");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->compare("a", "A"), 0);
  EXPECT_NE(c->compare("a", "\xC3\xA1"), 0);
  EXPECT_LT(c->compare("a", "A"), 0);  // lowercase first by default
  EXPECT_LT(c->compare("A", "b"), 0);  // unlike binary order
}

TEST(CollationTest, NumericOrdering) {
  auto plain = must(R"({"locale": "en"})");
  auto num = must(R"({"locale": "en", "numericOrdering": true})");
  EXPECT_LT(plain->compare("10", "9"), 0);
  EXPECT_GT(num->compare("10", "9"), 0);
}

TEST(CollationTest, ShiftedIgnoresPunctuation) {
  auto c = must(R"({"locale": "en", "alternate": "shifted"})");
  EXPECT_EQ(c->compare("a-b", "ab"), 0);
  auto n = must(R"({"locale": "en"})");
  EXPECT_NE(n->compare("a-b", "ab"), 0);
}

TEST(CollationTest, SortKeyOrderMatchesCompare) {
  auto c = must(R"({"locale": "en", "strength": 2})");
  EXPECT_EQ(c->sort_key("abc"), c->sort_key("ABC"));
  EXPECT_LT(c->sort_key("apple"), c->sort_key("Banana"));
  EXPECT_NE(c->sort_key("a"), c->sort_key("\xC3\xA1"));
}

TEST(CollationTest, CompareValuesUsesCollator) {
  auto c = must(R"({"locale": "en", "strength": 2})");
  auto a = Bson::from_json(R"({"v": "HELLO", "w": "hello"})");
  bson_iter_t x, y;
  ASSERT_TRUE(bson_iter_init_find(&x, a.value().get(), "v"));
  ASSERT_TRUE(bson_iter_init_find(&y, a.value().get(), "w"));
  EXPECT_EQ(mql::compare_elements(&x, &y, c.get()), 0);
  EXPECT_NE(mql::compare_elements(&x, &y, nullptr), 0);
  EXPECT_EQ(mql::hash_value(bson_iter_value(&x), c.get()), mql::hash_value(bson_iter_value(&y), c.get()));
}

TEST(CollationTest, UnknownLocaleIsBadValue) {
  auto r = make(R"({"locale": "xx_bogus"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), 2);
  EXPECT_NE(r.status().message().find("Field 'locale' is invalid in:"), std::string::npos);
}

TEST(CollationTest, FieldValidation) {
  EXPECT_EQ(code_of(R"({"strength": 1})"), 4);
  EXPECT_EQ(code_of(R"({"locale": 1})"), 14);
  EXPECT_EQ(code_of(R"({"locale": ""})"), 2);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": 6})"), 9);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": 0})"), 9);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": "1"})"), 14);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": 1.5})"), 2);
  EXPECT_EQ(code_of(R"({"locale": "en", "caseFirst": "sideways"})"), 9);
  EXPECT_EQ(code_of(R"({"locale": "en", "caseLevel": 1})"), 14);
  EXPECT_EQ(code_of(R"({"locale": "en", "alternate": "x"})"), 9);
  EXPECT_EQ(code_of(R"({"locale": "en", "maxVariable": "x"})"), 9);
  EXPECT_EQ(code_of(R"({"locale": "en", "bogus": true})"), 9);
  EXPECT_EQ(code_of(R"({"locale": "en", "version": "1.0"})"), 174);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": 1, "backwards": true})"), 2);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": 2, "caseFirst": "upper"})"), 2);
  EXPECT_EQ(code_of(R"({"locale": "en", "strength": 2, "caseFirst": "upper", "caseLevel": true})"), 0);
}

TEST(CollationTest, SameCollation) {
  auto a = must(R"({"locale": "en"})");
  auto b = must(R"({"locale": "en", "strength": 3})");
  auto c = must(R"({"locale": "en", "strength": 2})");
  EXPECT_TRUE(mql::same_collation(a.get(), b.get()));
  EXPECT_FALSE(mql::same_collation(a.get(), c.get()));
  EXPECT_FALSE(mql::same_collation(a.get(), nullptr));
  EXPECT_TRUE(mql::same_collation(nullptr, nullptr));
}

}  // namespace
