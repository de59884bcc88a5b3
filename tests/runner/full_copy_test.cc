// End to end: a task with schema and full copy between two mongosims; every document, option
// and index compared.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "copy_pair.h"

namespace {

using copytest::CopyPair;
using testsupport::json_doc;

constexpr const char* kFullOnly = "migration_types: [schema, full]\n";

// A document holding every BSON type, with `id` as its _id.
common::Bson every_type(const bson_value_t* id, int n) {
  common::Bson d;
  bson_t* b = d.mut();
  bson_append_value(b, "_id", 3, id);
  BSON_APPEND_DOUBLE(b, "neg_zero", -0.0);
  double nan;
  uint64_t bits = 0x7ff8000000000abcull + static_cast<uint64_t>(n);  // a NaN with a payload
  std::memcpy(&nan, &bits, sizeof nan);
  BSON_APPEND_DOUBLE(b, "nan", nan);
  BSON_APPEND_DOUBLE(b, "inf", -INFINITY);
  bson_decimal128_t dec;
  bson_decimal128_from_string("-0.000E-6100", &dec);
  BSON_APPEND_DECIMAL128(b, "dec", &dec);
  BSON_APPEND_INT32(b, "i32", n);
  BSON_APPEND_INT64(b, "i64", int64_t{1} << 60);
  BSON_APPEND_UTF8(b, "s", "héllo\xe2\x82\xac");
  for (bson_subtype_t st : {BSON_SUBTYPE_BINARY, BSON_SUBTYPE_FUNCTION, BSON_SUBTYPE_UUID, BSON_SUBTYPE_MD5,
                            BSON_SUBTYPE_ENCRYPTED, BSON_SUBTYPE_COLUMN, BSON_SUBTYPE_USER}) {
    std::string key = "bin" + std::to_string(static_cast<int>(st));
    uint8_t bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    bson_append_binary(b, key.c_str(), -1, st, bytes, 16);
  }
  bson_oid_t oid;
  bson_oid_init_from_string(&oid, "0123456789abcdef01234567");
  BSON_APPEND_OID(b, "oid", &oid);
  BSON_APPEND_BOOL(b, "t", true);
  BSON_APPEND_DATE_TIME(b, "date", -62135596800000);
  BSON_APPEND_NULL(b, "null");
  BSON_APPEND_UNDEFINED(b, "undef");
  BSON_APPEND_REGEX(b, "re", "^a.*b$", "imsx");
  BSON_APPEND_TIMESTAMP(b, "ts", 12345, 67);
  BSON_APPEND_MINKEY(b, "min");
  BSON_APPEND_MAXKEY(b, "max");
  BSON_APPEND_CODE(b, "code", "function() { return 1; }");
  bson_t scope = BSON_INITIALIZER;
  BSON_APPEND_INT32(&scope, "x", 1);
  BSON_APPEND_CODE_WITH_SCOPE(b, "cws", "function() { return x; }", &scope);
  bson_destroy(&scope);
  BSON_APPEND_SYMBOL(b, "sym", "sym");
  BSON_APPEND_DBPOINTER(b, "dbp", "db.c", &oid);
  bson_t arr, inner, doc;
  BSON_APPEND_ARRAY_BEGIN(b, "nested", &arr);
  BSON_APPEND_ARRAY_BEGIN(&arr, "0", &inner);
  BSON_APPEND_INT32(&inner, "0", 1);
  BSON_APPEND_DOCUMENT_BEGIN(&inner, "1", &doc);
  BSON_APPEND_UTF8(&doc, "z", "last");
  BSON_APPEND_UTF8(&doc, "a", "first");
  bson_append_document_end(&inner, &doc);
  bson_append_array_end(&arr, &inner);
  bson_append_array_end(b, &arr);
  return d;
}

void insert_raw(testsupport::SimServer& s, const std::string& db, const std::string& coll,
                const std::vector<common::Bson>& docs) {
  common::Bson cmd;
  common::append_utf8(cmd.mut(), "insert", coll);
  bson_t arr;
  BSON_APPEND_ARRAY_BEGIN(cmd.mut(), "documents", &arr);
  char key[16];
  for (size_t i = 0; i < docs.size(); ++i) common::append_doc(&arr, common::array_key(static_cast<uint32_t>(i), key), docs[i].get());
  bson_append_array_end(cmd.mut(), &arr);
  auto r = s.run(db, cmd);
  ASSERT_TRUE(r.ok()) << r.status.to_string();
}

TEST(FullCopy, EveryBsonTypeAndEveryIdTypeByteExact) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  std::vector<common::Bson> docs;
  std::vector<common::Bson> ids;
  for (const char* j : {R"({"v": 1})", R"({"v": {"$numberLong": "2"}})", R"({"v": 2.5})",
                        R"({"v": {"$numberDecimal": "3.25"}})", R"({"v": "a string"})", R"({"v": {"k": 1, "a": [1]}})",
                        R"({"v": {"$binary": {"base64": "AQID", "subType": "00"}}})",
                        R"({"v": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}})",
                        R"({"v": {"$oid": "5f0000000000000000000001"}})", R"({"v": true})",
                        R"({"v": {"$date": {"$numberLong": "1000"}}})", R"({"v": {"$timestamp": {"t": 1, "i": 2}}})",
                        R"({"v": {"$regularExpression": {"pattern": "x", "options": "i"}}})", R"({"v": null})",
                        R"({"v": {"$minKey": 1}})", R"({"v": {"$maxKey": 1}})"}) {
    ids.push_back(json_doc(j));
  }
  int n = 0;
  for (const auto& idd : ids) {
    bson_iter_t it;
    ASSERT_TRUE(common::find_field(idd.get(), "v", &it));
    docs.push_back(every_type(bson_iter_value(&it), n++));
  }
  insert_raw(p.src, "types", "all", docs);
  // A 16 MB document: the largest the server stores.
  for (int i = 0; i < 1; ++i) {
    common::Bson big;
    BSON_APPEND_INT32(big.mut(), "_id", 1000 + i);
    std::string payload(16 * 1024 * 1024 - 64, static_cast<char>('a' + i));
    common::append_utf8(big.mut(), "payload", payload);
    insert_raw(p.src, "types", "big", {big});
  }
  auto r = p.run(p.task_file(kFullOnly));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->end, runner::RunReport::End::kCopied);
  p.expect_same_documents("types", "all");
  p.expect_same_documents("types", "big");
  p.expect_same_catalog("types");
}

TEST(FullCopy, CollectionOptionsViewsAndIndexes) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  p.src.must("app", R"({"create": "users", "validator": {"$jsonSchema": {"required": ["name"]}},
                        "validationLevel": "moderate", "validationAction": "warn",
                        "collation": {"locale": "fr", "strength": 2}, "changeStreamPreAndPostImages": {"enabled": true}})");
  p.src.must("app", R"({"create": "log", "capped": true, "size": 1048576, "max": 500})");
  p.src.must("app", R"({"create": "clustered", "clusteredIndex": {"key": {"_id": 1}, "unique": true, "name": "cid"}})");
  p.src.must("app", R"({"create": "metrics", "timeseries": {"timeField": "ts", "metaField": "m", "granularity": "minutes"},
                        "expireAfterSeconds": 86400})");
  p.src.must("app", R"({"create": "adults", "viewOn": "users", "pipeline": [{"$match": {"age": {"$gte": 18}}}]})");
  p.src.must("app", R"({"createIndexes": "users", "indexes": [
      {"key": {"email": 1}, "name": "email_unique", "unique": true},
      {"key": {"age": -1, "name": 1}, "name": "age_name", "partialFilterExpression": {"age": {"$gt": 5}}},
      {"key": {"seen": 1}, "name": "seen_ttl", "expireAfterSeconds": 3600},
      {"key": {"tags": 1}, "name": "tags_sparse", "sparse": true, "collation": {"locale": "en"}},
      {"key": {"bio": "text"}, "name": "bio_text", "weights": {"bio": 3}, "default_language": "english"},
      {"key": {"loc": "2dsphere"}, "name": "loc_geo"},
      {"key": {"h": "hashed"}, "name": "h_hashed"}]})");
  std::string users = R"({"insert": "users", "documents": [)";
  for (int i = 0; i < 300; ++i) {
    users += (i ? "," : "") + std::string(R"({"_id": )") + std::to_string(i) + R"(, "name": "u)" + std::to_string(i) +
             R"(", "email": "u)" + std::to_string(i) + R"(@x", "age": )" + std::to_string(i % 90) +
             R"(, "seen": {"$date": "2020-01-01T00:00:00Z"}, "tags": ["a", "b"], "bio": "hello world", "h": 1})";
  }
  p.src.must("app", users + "]}");
  std::string log = R"({"insert": "log", "documents": [)";
  for (int i = 0; i < 200; ++i) log += (i ? "," : "") + std::string(R"({"_id": )") + std::to_string(200 - i) + "}";
  p.src.must("app", log + "]}");
  p.src.must("app", R"({"insert": "clustered", "documents": [{"_id": 3}, {"_id": 1}, {"_id": 2}]})");
  p.src.must("app", R"({"insert": "metrics", "documents": [
      {"ts": {"$date": "2024-01-01T00:00:00Z"}, "m": {"host": "a"}, "v": 1},
      {"ts": {"$date": "2024-01-01T00:01:00Z"}, "m": {"host": "a"}, "v": 2},
      {"ts": {"$date": "2024-01-01T00:00:30Z"}, "m": {"host": "b"}, "v": 3}]})");
  auto r = p.run(p.task_file(kFullOnly + std::string("copy:\n  parallel_partitions: 3\n")));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  p.expect_same_documents("app", "users");
  p.expect_same_documents("app", "log", "{\"$natural\": 1}");  // insertion order kept
  p.expect_same_documents("app", "clustered");
  p.expect_same_documents("app", "metrics", "{\"ts\": 1, \"m.host\": 1}");
  p.expect_same_documents("app", "adults");
  // TTL values are back at the end; options and indexes are equal.
  p.expect_same_catalog("app");
}

TEST(FullCopy, ConflictModes) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  p.src.must("d", R"({"insert": "c", "documents": [{"_id": 1, "v": "src"}, {"_id": 2, "v": "src"}, {"_id": 3, "v": "src"}]})");
  p.dst.must("d", R"({"insert": "c", "documents": [{"_id": 2, "v": "dst"}]})");
  // precheck_and_report: the precheck refuses a non-empty target before anything is copied.
  auto refused = p.run(p.task_file(kFullOnly));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("precheck blocks the start"), std::string::npos) << refused.status().message();
  EXPECT_EQ(p.dst.find_all("d", "c").size(), 1u);

  CopyPair q;
  q.src.must("d", R"({"insert": "c", "documents": [{"_id": 1, "v": "src"}, {"_id": 2, "v": "src"}, {"_id": 3, "v": "src"}]})");
  q.dst.must("d", R"({"insert": "c", "documents": [{"_id": 2, "v": "dst"}]})");
  auto r = q.run(q.task_file(kFullOnly + std::string("conflict_mode: ignore_and_proceed\n")));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->skipped, 1);
  auto docs = q.dst.find_all("d", "c", "{}", "\"sort\": {\"_id\": 1}");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_NE(docs[1].json().find("dst"), std::string::npos);  // never overwritten
}

TEST(FullCopy, ExistingTargetWithOtherOptions) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  p.src.must("d", R"({"create": "c", "validator": {"a": {"$exists": true}}})");
  p.src.must("d", R"({"insert": "c", "documents": [{"_id": 1, "a": 1}]})");
  p.dst.must("d", R"({"create": "c", "validator": {"b": {"$exists": true}}})");
  auto r = p.run(p.task_file(kFullOnly));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exists with options"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("d.c"), std::string::npos) << r.status().message();
  // ignore_and_proceed keeps the destination's collection and copies into it.
  auto q = p.run(p.task_file(kFullOnly + std::string("conflict_mode: ignore_and_proceed\n")));
  ASSERT_TRUE(q.ok()) << q.status().to_string();
  EXPECT_EQ(p.dst.find_all("d", "c").size(), 1u);
}

TEST(FullCopy, FiltersAndRenames) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  std::string ins = R"({"insert": "orders", "documents": [)";
  for (int i = 0; i < 100; ++i) ins += (i ? "," : "") + std::string(R"({"_id": )") + std::to_string(i) + R"(, "n": )" + std::to_string(i) + "}";
  p.src.must("shop", ins + "]}");
  auto r = p.run(p.task_file(kFullOnly + std::string("objects:\n  include: [shop]\n  filter:\n    shop.orders: '{\"n\": {\"$lt\": 10}}'\n"
                                                     "mapping:\n  rename:\n    - {from: shop.orders, to: shop.orders_copy}\n")));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(p.dst.find_all("shop", "orders_copy").size(), 10u);
  EXPECT_EQ(p.dst.find_all("shop", "orders").size(), 0u);
}

}  // namespace
