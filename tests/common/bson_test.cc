#include "common/bson.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using common::Bson;

TEST(Bson, FromJsonAndBackKeepsTypes) {
  auto b = Bson::from_json(R"({"a": {"$numberLong": "5"}, "b": "x"})");
  ASSERT_TRUE(b.ok());
  bson_iter_t it;
  ASSERT_TRUE(common::find_field(b->get(), "a", &it));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
  EXPECT_EQ(b->json(), R"({ "a" : 5, "b" : "x" })");
}

TEST(Bson, InvalidJsonIsFailedToParse) {
  auto b = Bson::from_json("{a:");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), common::kFailedToParse);
}

TEST(Bson, ParseRejectsTruncatedAndCorruptBytes) {
  auto good = Bson::from_json(R"({"k": "value"})");
  ASSERT_TRUE(good.ok());
  std::vector<uint8_t> bytes(good->data(), good->data() + good->size());
  EXPECT_TRUE(Bson::parse(bytes.data(), bytes.size()).ok());
  EXPECT_FALSE(Bson::parse(bytes.data(), bytes.size() - 1).ok());
  bytes[4] = 0x7f;  // unknown element type
  EXPECT_FALSE(Bson::parse(bytes.data(), bytes.size()).ok());
  EXPECT_FALSE(Bson::parse(bytes.data(), 3).ok());
}

TEST(Bson, CopyAndMoveAreIndependent) {
  auto a = *Bson::from_json(R"({"x": 1})");
  Bson b = a;
  Bson c = std::move(a);
  EXPECT_EQ(b.bytes(), c.bytes());
  EXPECT_TRUE(a.empty());
  bson_append_int32(b.mut(), "y", 1, 2);
  EXPECT_NE(b.bytes(), c.bytes());
}

TEST(Bson, TypedGettersNameTheFieldOnWrongType) {
  auto d = *Bson::from_json(R"({"limit": "ten", "n": 3.0, "flag": 0})");
  auto lim = common::get_int(d.get(), "limit", 0);
  ASSERT_FALSE(lim.ok());
  EXPECT_EQ(lim.status().code(), common::kTypeMismatch);
  EXPECT_NE(lim.status().message().find("'limit'"), std::string::npos);
  EXPECT_EQ(*common::get_int(d.get(), "n", 0), 3);
  EXPECT_EQ(*common::get_int(d.get(), "absent", 7), 7);
  EXPECT_FALSE(*common::get_bool(d.get(), "flag", true));
}

TEST(Bson, ArrayKeys) {
  char buf[16];
  EXPECT_EQ(common::array_key(0, buf), "0");
  EXPECT_EQ(common::array_key(1234, buf), "1234");
  EXPECT_EQ(common::array_key(4294967295u, buf), "4294967295");
  EXPECT_STREQ(common::array_key(100000, buf).data(), "100000");  // NUL-terminated
}

TEST(Bson, ValueToJson) {
  auto d = *Bson::from_json(R"({"a": [1, 2]})");
  bson_iter_t it;
  ASSERT_TRUE(common::find_field(d.get(), "a", &it));
  EXPECT_EQ(common::value_to_json(bson_iter_value(&it)), "[ 1, 2 ]");
}

}  // namespace
