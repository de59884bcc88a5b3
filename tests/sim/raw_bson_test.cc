// RawBsonWriter writes byte for byte what libbson's bson_append_* write.
#include "sim/engine/raw_bson.h"

#include <gtest/gtest.h>

#include <string>

namespace sim::engine {
namespace {

std::string bytes_of(const bson_t* b) { return std::string(reinterpret_cast<const char*>(bson_get_data(b)), b->len); }

TEST(RawBsonWriter, MatchesLibbsonForEveryElementKind) {
  bson_t sub = BSON_INITIALIZER;
  bson_append_int32(&sub, "a", 1, 7);
  bson_t expected = BSON_INITIALIZER, child;
  bson_append_utf8(&expected, "op", 2, "i", 1);
  bson_append_utf8(&expected, "ns", 2, "", 0);
  const uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  bson_append_binary(&expected, "ui", 2, BSON_SUBTYPE_UUID, uuid, 16);
  bson_append_document(&expected, "o", 1, &sub);
  bson_t empty = BSON_INITIALIZER;
  bson_append_document(&expected, "e", 1, &empty);
  bson_append_document_begin(&expected, "prevOpTime", 10, &child);
  bson_append_timestamp(&child, "ts", 2, 1700000000, 42);
  bson_append_int64(&child, "t", 1, -1);
  bson_append_document_end(&expected, &child);
  bson_append_int32(&expected, "v", 1, -2);
  bson_append_int64(&expected, "big", 3, INT64_MIN);
  bson_append_date_time(&expected, "wall", 4, 1700000000123);
  bson_concat(&expected, &sub);

  std::string out;
  RawBsonWriter w(out);
  size_t at = w.open();
  w.utf8("op", "i");
  w.utf8("ns", "");
  w.binary("ui", BSON_SUBTYPE_UUID, std::string_view(reinterpret_cast<const char*>(uuid), 16));
  w.document("o", bytes_of(&sub));
  w.empty_document("e");
  size_t p = w.begin_document("prevOpTime");
  w.timestamp("ts", 1700000000, 42);
  w.int64("t", -1);
  w.close(p);
  w.int32("v", -2);
  w.int64("big", INT64_MIN);
  w.date_time("wall", 1700000000123);
  w.elements_of(bytes_of(&sub));
  w.close(at);

  EXPECT_EQ(out, bytes_of(&expected));
  bson_destroy(&expected);
  bson_destroy(&sub);
}

TEST(RawBsonWriter, RawElementCopiesOneElement) {
  bson_t src = BSON_INITIALIZER;
  bson_append_utf8(&src, "_id", 3, "abc", 3);
  bson_append_int32(&src, "x", 1, 1);
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, &src) && bson_iter_next(&it));
  bson_iter_t next = it;
  ASSERT_TRUE(bson_iter_next(&next));
  std::string doc = bytes_of(&src);
  std::string_view element = std::string_view(doc).substr(bson_iter_offset(&it), bson_iter_offset(&next) - bson_iter_offset(&it));

  std::string out;
  RawBsonWriter w(out);
  size_t at = w.open();
  w.raw_element(element);
  w.close(at);

  bson_t expected = BSON_INITIALIZER;
  bson_append_utf8(&expected, "_id", 3, "abc", 3);
  EXPECT_EQ(out, bytes_of(&expected));
  bson_destroy(&expected);
  bson_destroy(&src);
}

}  // namespace
}  // namespace sim::engine
