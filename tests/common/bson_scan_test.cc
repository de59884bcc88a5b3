// The raw-scan fast paths agree with libbson: find_field finds what bson_iter_init_find finds,
// and quick_valid never accepts what bson_validate refuses (property tests over random
// documents and random byte corruptions of them).
#include "common/bson_scan.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/bson.h"

namespace common {
namespace {

void append_random_value(bson_t* d, const std::string& key, std::mt19937& rng, int depth) {
  switch (rng() % (depth > 3 ? 9 : 11)) {
    case 0: bson_append_int32(d, key.c_str(), -1, static_cast<int32_t>(rng())); break;
    case 1: bson_append_int64(d, key.c_str(), -1, static_cast<int64_t>(rng())); break;
    case 2: bson_append_double(d, key.c_str(), -1, 1.5); break;
    case 3: bson_append_utf8(d, key.c_str(), -1, "hello", 5); break;
    case 4: bson_append_utf8(d, key.c_str(), -1, "h\xc3\xa9llo", 6); break;  // non-ASCII: the slow path
    case 5: bson_append_bool(d, key.c_str(), -1, (rng() & 1) != 0); break;
    case 6: bson_append_null(d, key.c_str(), -1); break;
    case 7: {
      bson_oid_t oid;
      bson_oid_init(&oid, nullptr);
      bson_append_oid(d, key.c_str(), -1, &oid);
      break;
    }
    case 8: {
      const uint8_t bytes[3] = {1, 2, 3};
      bson_append_binary(d, key.c_str(), -1, BSON_SUBTYPE_BINARY, bytes, 3);
      break;
    }
    default: {
      bson_t child;
      bson_append_document_begin(d, key.c_str(), -1, &child);
      int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) append_random_value(&child, "k" + std::to_string(i), rng, depth + 1);
      bson_append_document_end(d, &child);
    }
  }
}

Bson random_doc(std::mt19937& rng) {
  bson_t d = BSON_INITIALIZER;
  int n = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < n; ++i) append_random_value(&d, i % 3 == 0 ? "_id" : "f" + std::to_string(i), rng, 0);
  return Bson::steal(&d);
}

bool libbson_valid(const std::string& bytes) {
  bson_t b;
  if (!bson_init_static(&b, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) return false;
  size_t off = 0;
  return bson_validate(&b, BSON_VALIDATE_UTF8_ALLOW_NULL, &off);
}

TEST(BsonScan, FindFieldAgreesWithLibbson) {
  std::mt19937 rng(11);
  for (int round = 0; round < 500; ++round) {
    Bson doc = random_doc(rng);
    for (const char* key : {"_id", "f1", "f2", "f4", "k0", "missing", ""}) {
      bson_iter_t fast, slow;
      bool found = find_field(doc.get(), key, &fast);
      ASSERT_EQ(found, bson_iter_init_find(&slow, doc.get(), key)) << key;
      if (found) {
        EXPECT_EQ(bson_iter_offset(&fast), bson_iter_offset(&slow));
        EXPECT_EQ(bson_iter_type(&fast), bson_iter_type(&slow));
      }
    }
  }
}

TEST(BsonScan, ScanElementIsTheElementLibbsonIterates) {
  std::mt19937 rng(17);
  for (int round = 0; round < 500; ++round) {
    Bson doc = random_doc(rng);
    for (const char* key : {"_id", "f1", "f2", "missing"}) {
      auto fast = scan_element(doc.data(), static_cast<uint32_t>(doc.size()), key);
      ASSERT_TRUE(fast.has_value()) << key;  // random_doc holds only types the scanner knows
      bson_iter_t it;
      if (!bson_iter_init_find(&it, doc.get(), key)) {
        EXPECT_TRUE(fast->empty()) << key;
        continue;
      }
      bson_iter_t next = it;
      uint32_t start = bson_iter_offset(&it);
      uint32_t end = bson_iter_next(&next) ? bson_iter_offset(&next) : static_cast<uint32_t>(doc.size()) - 1;
      EXPECT_EQ(*fast, std::string_view(reinterpret_cast<const char*>(doc.data()) + start, end - start)) << key;
    }
  }
}

TEST(BsonScan, ScanReportsAbsentAndUnsure) {
  Bson doc = *Bson::from_json(R"({"a": 1, "b": "x"})");
  EXPECT_GT(scan_for_key(doc.data(), doc.size(), "b"), 0);
  EXPECT_EQ(scan_for_key(doc.data(), doc.size(), "c"), 0);
  // A regex before the key: left to libbson.
  Bson rx = *Bson::from_json(R"({"r": {"$regularExpression": {"pattern": "a", "options": ""}}, "b": 1})");
  EXPECT_EQ(scan_for_key(rx.data(), rx.size(), "b"), -1);
  bson_iter_t it;
  EXPECT_TRUE(find_field(rx.get(), "b", &it));
}

TEST(BsonScan, FrozenIndexAnswersAsTheWalkDoes) {
  std::mt19937 rng(23);
  for (int round = 0; round < 300; ++round) {
    Bson doc = random_doc(rng);
    Bson other = random_doc(rng);
    FrozenFieldIndex frozen(doc.get());
    EXPECT_EQ(FrozenFieldIndex::current(), &frozen);
    for (const char* key : {"_id", "f1", "f2", "f4", "missing"}) {
      bson_iter_t fast, slow;
      bool found = find_field(doc.get(), key, &fast);
      ASSERT_EQ(found, bson_iter_init_find(&slow, doc.get(), key)) << key;
      if (found) {
        EXPECT_EQ(bson_iter_offset(&fast), bson_iter_offset(&slow));
      }
      // Another document is not answered from the index.
      ASSERT_EQ(find_field(other.get(), key, &fast), bson_iter_init_find(&slow, other.get(), key)) << key;
    }
  }
  EXPECT_EQ(FrozenFieldIndex::current(), nullptr);
}

TEST(BsonScan, FrozenIndexNestsAndFindsTheFirstOfDuplicates) {
  bson_t d = BSON_INITIALIZER;
  bson_append_int32(&d, "a", 1, 1);
  bson_append_int32(&d, "a", 1, 2);
  Bson dup = Bson::steal(&d);
  Bson inner = *Bson::from_json(R"({"b": 3})");
  FrozenFieldIndex outer(dup.get());
  {
    FrozenFieldIndex nested(inner.get());
    bson_iter_t it;
    ASSERT_TRUE(find_field(inner.get(), "b", &it));
    EXPECT_EQ(bson_iter_int32(&it), 3);
  }
  EXPECT_EQ(FrozenFieldIndex::current(), &outer);
  bson_iter_t it;
  ASSERT_TRUE(find_field(dup.get(), "a", &it));
  EXPECT_EQ(bson_iter_int32(&it), 1);
}

TEST(BsonScan, QuickValidNeverAcceptsWhatLibbsonRefuses) {
  std::mt19937 rng(5);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    Bson doc = random_doc(rng);
    std::string bytes(doc.bytes());
    if (round % 2 == 1) {
      // Corrupt one to three bytes (the length prefix included).
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    bool quick = quick_valid(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 200);
    if (quick) {
      ++accepted;
      ASSERT_TRUE(libbson_valid(bytes)) << "round " << round;
    }
  }
  EXPECT_GT(accepted, 100);  // the fast path does take plain documents
}

TEST(BsonScan, QuickValidLeavesDeepAndNonAsciiDocumentsToLibbson) {
  Bson text = *Bson::from_json(R"({"name": "Zoë"})");
  EXPECT_FALSE(quick_valid(text.data(), text.size(), 200));
  std::string json = "{\"a\": 1}";
  for (int i = 0; i < 70; ++i) json = "{\"d\": " + json + "}";
  Bson deep = *Bson::from_json(json);
  EXPECT_FALSE(quick_valid(deep.data(), deep.size(), 200));
  Bson plain = *Bson::from_json(R"({"a": {"b": [1, 2, {"c": null}]}, "s": "x"})");
  EXPECT_TRUE(quick_valid(plain.data(), plain.size(), 200));
  EXPECT_FALSE(quick_valid(plain.data(), plain.size(), 3));  // four levels
}

}  // namespace
}  // namespace common
