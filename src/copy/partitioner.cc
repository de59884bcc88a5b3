#include "copy/partitioner.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mql/compare.h"

namespace copy {

namespace {

bson_iter_t id_of(const common::Bson& key) {
  bson_iter_t it;
  common::find_field(key.get(), "_id", &it);
  return it;
}

int rank_of(const common::Bson& key) {
  bson_iter_t it = id_of(key);
  return mql::canonical_rank(bson_iter_type(&it));
}

std::string key_bytes(const common::Bson& key) { return std::string(key.bytes()); }

}  // namespace

std::optional<std::string> bracket_min_key(bson_type_t type) {
  common::Bson k;
  bson_t* b = k.mut();
  switch (type) {
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DECIMAL128:
      BSON_APPEND_DOUBLE(b, "_id", std::numeric_limits<double>::quiet_NaN());  // NaN sorts below every number
      break;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
      BSON_APPEND_UTF8(b, "_id", "");
      break;
    case BSON_TYPE_DOCUMENT: {
      bson_t empty = BSON_INITIALIZER;
      BSON_APPEND_DOCUMENT(b, "_id", &empty);
      bson_destroy(&empty);
      break;
    }
    case BSON_TYPE_BINARY:
      bson_append_binary(b, "_id", 3, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(""), 0);
      break;
    case BSON_TYPE_OID: {
      bson_oid_t oid;
      bson_oid_init_from_data(&oid, reinterpret_cast<const uint8_t*>("\0\0\0\0\0\0\0\0\0\0\0\0"));
      BSON_APPEND_OID(b, "_id", &oid);
      break;
    }
    case BSON_TYPE_BOOL:
      BSON_APPEND_BOOL(b, "_id", false);
      break;
    case BSON_TYPE_DATE_TIME:
      BSON_APPEND_DATE_TIME(b, "_id", std::numeric_limits<int64_t>::min());
      break;
    case BSON_TYPE_TIMESTAMP:
      BSON_APPEND_TIMESTAMP(b, "_id", 0, 0);
      break;
    default:
      return std::nullopt;
  }
  return key_bytes(k);
}

std::vector<KeyRange> ranges_from_sample(const std::vector<common::Bson>& sample_keys, int parts) {
  std::vector<const common::Bson*> keys;
  for (const auto& k : sample_keys) {
    bson_iter_t it;
    if (common::find_field(k.get(), "_id", &it)) keys.push_back(&k);
  }
  std::sort(keys.begin(), keys.end(), [](const common::Bson* a, const common::Bson* b) {
    bson_iter_t ia = id_of(*a), ib = id_of(*b);
    return mql::compare_elements(&ia, &ib) < 0;
  });
  // Split points as keys; kept in order, without duplicates.
  std::vector<std::string> splits;
  auto add = [&](std::string k) {
    if (splits.empty() || splits.back() != k) splits.push_back(std::move(k));
  };
  parts = std::max(parts, 1);
  size_t step = std::max<size_t>(1, keys.size() / static_cast<size_t>(parts));
  for (size_t i = 1; i < keys.size(); ++i) {
    if (rank_of(*keys[i]) != rank_of(*keys[i - 1])) {
      bson_iter_t it = id_of(*keys[i]);
      if (auto m = bracket_min_key(bson_iter_type(&it))) add(*m);
    }
    if (i % step == 0 && static_cast<int>(i / step) < parts) {
      bson_iter_t a = id_of(*keys[i]), b = id_of(*keys[i - 1]);
      if (mql::compare_elements(&a, &b) != 0) add(key_bytes(*keys[i]));
    }
  }
  std::vector<KeyRange> out;
  std::optional<std::string> lo;
  for (auto& s : splits) {
    out.push_back({lo, s});
    lo = std::move(s);
  }
  out.push_back({lo, std::nullopt});
  return out;
}

int partition_count(int64_t count, int64_t bytes, int64_t partition_bytes, int parallel) {
  int64_t by_size = partition_bytes > 0 ? (bytes + partition_bytes - 1) / partition_bytes : 1;
  int64_t worth = count / 10000;
  int64_t n = std::max<int64_t>(by_size, std::min<int64_t>(parallel, worth));
  return static_cast<int>(std::clamp<int64_t>(n, 1, 10000));
}

common::Result<std::vector<KeyRange>> split_collection(client::Connection& c, const std::string& db,
                                                       const std::string& coll, int parts) {
  if (parts <= 1) return std::vector<KeyRange>{KeyRange{}};
  int sample = std::min(parts * 20, 20000);
  bson_t cmd = BSON_INITIALIZER, pipeline, s0, s0b, s1, s1b, cursor;
  BSON_APPEND_UTF8(&cmd, "aggregate", coll.c_str());
  BSON_APPEND_ARRAY_BEGIN(&cmd, "pipeline", &pipeline);
  BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &s0);
  BSON_APPEND_DOCUMENT_BEGIN(&s0, "$sample", &s0b);
  BSON_APPEND_INT32(&s0b, "size", sample);
  bson_append_document_end(&s0, &s0b);
  bson_append_document_end(&pipeline, &s0);
  BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "1", &s1);
  BSON_APPEND_DOCUMENT_BEGIN(&s1, "$project", &s1b);
  BSON_APPEND_INT32(&s1b, "_id", 1);
  bson_append_document_end(&s1, &s1b);
  bson_append_document_end(&pipeline, &s1);
  bson_append_array_end(&cmd, &pipeline);
  BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
  bson_append_document_end(&cmd, &cursor);
  auto docs = c.run_cursor(db, &cmd);
  bson_destroy(&cmd);
  if (!docs.ok()) return docs.status().with_context("sampling " + db + "." + coll + " for split points");
  return ranges_from_sample(*docs, parts);
}

}  // namespace copy
