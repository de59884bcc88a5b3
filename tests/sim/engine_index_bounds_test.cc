// Index bounds correctness: a query answered through an index returns exactly what a
// collection scan returns. A randomized differential test over documents of mixed types
// (numbers of every type incl. NaN and -0.0, strings, null, missing fields, arrays incl. empty
// and nested ones, documents, MinKey/MaxKey, dates, ObjectIds), single, compound, multikey and
// collated indexes, and filters with $eq, $in, ranges, regexes and sorts: every query runs
// with each index hinted, with the planner's own choice and with {$natural: 1}, and all must
// agree (in order, when sorted: sorts end on _id, so the order is total).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sim/engine_harness.h"

namespace {

using common::Bson;
using simtest::EngineHarness;

constexpr const char* kDb = "bounds";

class ValueGen {
 public:
  explicit ValueGen(uint32_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // One value of a mixed-type pool; small ranges so equal values recur across types. Arrays
  // only at the top of a field and when `allow_array`; true when it appended an array.
  bool append(bson_t* b, const char* key, int depth = 0, bool allow_array = true) {
    switch (pick(depth > 0 || !allow_array ? 16 : 19)) {
      case 0: bson_append_int32(b, key, -1, pick(7) - 3); break;
      case 1: bson_append_int64(b, key, -1, pick(7) - 3); break;
      case 2: bson_append_double(b, key, -1, (pick(13) - 6) / 2.0); break;
      case 3: {
        const double special[] = {std::nan(""), -0.0, std::numeric_limits<double>::infinity(),
                                  -std::numeric_limits<double>::infinity(), 9007199254740993.0};
        bson_append_double(b, key, -1, special[pick(5)]);
        break;
      }
      case 4: {
        const char* d[] = {"1", "2.50", "-0", "NaN", "3.0", "-Infinity"};
        bson_decimal128_t dec;
        bson_decimal128_from_string(d[pick(6)], &dec);
        bson_append_decimal128(b, key, -1, &dec);
        break;
      }
      case 5:
      case 6: {
        const char* s[] = {"a", "A", "b", "B", "ab", "", "é", "E", "e", "abc"};
        bson_append_utf8(b, key, -1, s[pick(10)], -1);
        break;
      }
      case 7: bson_append_null(b, key, -1); break;
      case 8: bson_append_bool(b, key, -1, pick(2) == 1); break;
      case 9: bson_append_date_time(b, key, -1, 1700000000000LL + pick(3) * 1000); break;
      case 10: {
        bson_oid_t oid;
        const char* o[] = {"000000000000000000000001", "000000000000000000000002"};
        bson_oid_init_from_string(&oid, o[pick(2)]);
        bson_append_oid(b, key, -1, &oid);
        break;
      }
      case 11: pick(2) ? bson_append_minkey(b, key, -1) : bson_append_maxkey(b, key, -1); break;
      case 12: {
        bson_t sub;
        bson_append_document_begin(b, key, -1, &sub);
        if (pick(3)) append(&sub, "x", depth + 1);
        bson_append_document_end(b, &sub);
        break;
      }
      case 13: bson_append_int32(b, key, -1, 2); break;  // a popular value
      case 14: bson_append_utf8(b, key, -1, "a", 1); break;
      case 15: bson_append_undefined(b, key, -1); break;
      default: {
        // An array (only at the top of a field): empty, of scalars, nested, of documents.
        bson_t arr;
        bson_append_array_begin(b, key, -1, &arr);
        int n = pick(4);
        char k[16];
        for (int i = 0; i < n; ++i) {
          snprintf(k, sizeof k, "%d", i);
          if (pick(6) == 0) {
            bson_t inner;
            bson_append_array_begin(&arr, k, -1, &inner);
            append(&inner, "0", depth + 1);
            bson_append_array_end(&arr, &inner);
          } else {
            append(&arr, k, depth + 1);
          }
        }
        bson_append_array_end(b, &arr);
        return true;
      }
    }
    return false;
  }

 private:
  std::mt19937 rng_;
};

std::vector<int> ids_of(const std::vector<Bson>& docs) {
  std::vector<int> out;
  for (const auto& d : docs) {
    bson_iter_t it;
    out.push_back(bson_iter_init_find(&it, d.get(), "_id") ? bson_iter_int32(&it) : -1);
  }
  return out;
}

class IndexBounds : public ::testing::TestWithParam<uint32_t> {};

TEST_P(IndexBounds, IndexScansReturnWhatCollectionScansReturn) {
  EngineHarness h;
  ValueGen g(GetParam());
  constexpr int kDocs = 300;
  // Documents: a and b of any type (arrays make their indexes multikey); c an array of
  // documents or a document, for the dotted path c.x.
  for (int i = 0; i < kDocs; i += 50) {
    bson_t cmd = BSON_INITIALIZER, docs;
    bson_append_utf8(&cmd, "insert", -1, "c", 1);
    bson_append_array_begin(&cmd, "documents", -1, &docs);
    for (int j = i; j < i + 50; ++j) {
      bson_t d;
      char k[16];
      snprintf(k, sizeof k, "%d", j - i);
      bson_append_document_begin(&docs, k, -1, &d);
      bson_append_int32(&d, "_id", 3, j);
      // a and b share compound indexes: at most one of them is an array (else 171
      // CannotIndexParallelArrays, as the server refuses such documents).
      bool a_array = g.pick(8) && g.append(&d, "a");
      if (g.pick(8)) g.append(&d, "b", 0, !a_array);
      if (g.pick(3) == 0) {
        bson_t c, e;
        bson_append_array_begin(&d, "c", -1, &c);
        for (int n = g.pick(3), m = 0; m < n; ++m) {
          snprintf(k, sizeof k, "%d", m);
          bson_append_document_begin(&c, k, -1, &e);
          g.append(&e, "x", 1);
          bson_append_document_end(&c, &e);
        }
        bson_append_array_end(&d, &c);
      } else if (g.pick(2)) {
        bson_t c;
        bson_append_document_begin(&d, "c", -1, &c);
        g.append(&c, "x");
        bson_append_document_end(&d, &c);
      }
      bson_append_document_end(&docs, &d);
    }
    bson_append_array_end(&cmd, &docs);
    Bson r = h.run(kDb, &cmd);
    bson_destroy(&cmd);
    ASSERT_EQ(simtest::int_field(r, "n"), 50) << r.json();
  }
  Bson r = h.run(kDb, R"({"createIndexes": "c", "indexes": [
      {"key": {"a": 1}, "name": "a"},
      {"key": {"a": -1, "_id": -1}, "name": "a_desc_id"},
      {"key": {"b": 1, "a": -1, "_id": 1}, "name": "b_a_id"},
      {"key": {"c.x": 1}, "name": "cx"},
      {"key": {"a": 1, "b": 1}, "name": "a_b"},
      {"key": {"a": 1}, "name": "a_ci", "collation": {"locale": "en", "strength": 2}}]})");
  ASSERT_TRUE(simtest::ok(r)) << r.json();

  const char* fields[] = {"a", "b", "c.x"};
  const char* sorts[] = {"", R"({"a": 1, "_id": 1})", R"({"a": -1, "_id": -1})", R"({"b": 1, "a": -1, "_id": 1})",
                         R"({"c.x": 1, "_id": 1})"};
  const char* plain_hints[] = {"a", "a_desc_id", "b_a_id", "cx", "a_b"};
  int compared = 0, index_scans = 0;
  for (int q = 0; q < 250; ++q) {
    // A filter of one or two predicates.
    bson_t filter = BSON_INITIALIZER;
    int preds = 1 + g.pick(2);
    for (int p = 0; p < preds; ++p) {
      const char* f = fields[g.pick(3)];
      bson_t cond;
      switch (g.pick(8)) {
        case 0: g.append(&filter, f); break;  // equality (with arrays, documents, null...)
        case 1: {
          bson_append_document_begin(&filter, f, -1, &cond);
          bson_t arr;
          bson_append_array_begin(&cond, "$in", 3, &arr);
          for (int n = 1 + g.pick(3), i = 0; i < n; ++i) g.append(&arr, std::to_string(i).c_str());
          if (g.pick(4) == 0) {
            bson_append_regex(&arr, std::to_string(9).c_str(), -1, g.pick(2) ? "^a" : "^A", g.pick(2) ? "i" : "");
          }
          bson_append_array_end(&cond, &arr);
          bson_append_document_end(&filter, &cond);
          break;
        }
        case 2:
          bson_append_regex(&filter, f, -1, g.pick(2) ? "^a" : "b$", g.pick(3) == 0 ? "i" : "");
          break;
        default: {
          // A range: one bound or two.
          const char* ops[] = {"$gt", "$gte", "$lt", "$lte"};
          bson_append_document_begin(&filter, f, -1, &cond);
          int first = g.pick(4);
          g.append(&cond, ops[first], 1);
          if (g.pick(2)) g.append(&cond, ops[(first + 2) % 4], 1);
          bson_append_document_end(&filter, &cond);
        }
      }
    }
    const char* sort = sorts[g.pick(5)];
    bool with_collation = g.pick(4) == 0;
    auto find = [&](const char* hint_json, bool is_name) {
      bson_t cmd = BSON_INITIALIZER;
      bson_append_utf8(&cmd, "find", -1, "c", 1);
      bson_append_document(&cmd, "filter", -1, &filter);
      if (*sort) {
        Bson s = *Bson::from_json(sort);
        bson_append_document(&cmd, "sort", -1, s.get());
      }
      if (hint_json) {
        if (is_name) {
          bson_append_utf8(&cmd, "hint", -1, hint_json, -1);
        } else {
          Bson hd = *Bson::from_json(hint_json);
          bson_append_document(&cmd, "hint", -1, hd.get());
        }
      }
      if (with_collation) {
        Bson co = *Bson::from_json(R"({"locale": "en", "strength": 2})");
        bson_append_document(&cmd, "collation", -1, co.get());
      }
      bson_append_int32(&cmd, "batchSize", -1, 1000);
      Bson reply = h.run(kDb, &cmd);
      bson_destroy(&cmd);
      return reply;
    };
    Bson natural = find(R"({"$natural": 1})", false);
    std::string what = common::to_canonical_json(&filter) + " sort " + sort + (with_collation ? " collation en/2" : "");
    if (!simtest::ok(natural)) {
      // A filter the server refuses must be refused the same way on every plan.
      Bson planned = find(nullptr, false);
      EXPECT_EQ(simtest::int_field(planned, "code"), simtest::int_field(natural, "code")) << what;
      bson_destroy(&filter);
      continue;
    }
    std::vector<int> expected = ids_of(h.drain(kDb, natural));
    std::vector<std::pair<std::string, Bson>> runs;
    runs.emplace_back("planner", find(nullptr, false));
    if (with_collation) {
      runs.emplace_back("a_ci", find("a_ci", true));
    } else {
      for (const char* ix : plain_hints) runs.emplace_back(ix, find(ix, true));
    }
    for (auto& [plan, reply] : runs) {
      ASSERT_TRUE(simtest::ok(reply)) << plan << " " << what << ": " << reply.json();
      std::vector<int> got = ids_of(h.drain(kDb, reply));
      std::vector<int> want = expected;
      if (!*sort) {
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
      }
      EXPECT_EQ(got, want) << "plan " << plan << " for " << what;
      ++compared;
      if (plan != "planner") ++index_scans;
    }
    bson_destroy(&filter);
  }
  EXPECT_GT(index_scans, 500);
  EXPECT_GT(compared, 700);
}

INSTANTIATE_TEST_SUITE_P(Seeds, IndexBounds, ::testing::Values(1u, 7u, 42u, 2024u));

// The planner really uses the index (so the comparison above is between different access
// paths), and a point query on _id in a large collection examines one key and one document.
TEST(IndexBoundsPlan, IdLookupOnALargeCollectionExaminesOneDocument) {
  EngineHarness h;
  constexpr int kDocs = 200000, kBatch = 10000;
  for (int i = 0; i < kDocs; i += kBatch) {
    bson_t cmd = BSON_INITIALIZER, docs;
    bson_append_utf8(&cmd, "insert", -1, "big", 3);
    bson_append_array_begin(&cmd, "documents", -1, &docs);
    for (int j = i; j < i + kBatch; ++j) {
      bson_t d;
      std::string k = std::to_string(j - i);
      bson_append_document_begin(&docs, k.c_str(), -1, &d);
      bson_append_int32(&d, "_id", 3, j);
      bson_append_utf8(&d, "pad", 3, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", -1);
      bson_append_document_end(&docs, &d);
    }
    bson_append_array_end(&cmd, &docs);
    Bson r = h.run(kDb, &cmd);
    bson_destroy(&cmd);
    ASSERT_EQ(simtest::int_field(r, "n"), kBatch);
  }
  Bson r = h.run(kDb, R"({"explain": {"find": "big", "filter": {"_id": 123456}}, "verbosity": "executionStats"})");
  ASSERT_TRUE(simtest::ok(r)) << r.json();
  bson_iter_t it, v;
  ASSERT_TRUE(bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "executionStats.totalDocsExamined", &v));
  EXPECT_EQ(bson_iter_as_int64(&v), 1) << r.json();
  ASSERT_TRUE(bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "executionStats.totalKeysExamined", &v));
  EXPECT_LE(bson_iter_as_int64(&v), 1) << r.json();
  ASSERT_TRUE(bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "executionStats.nReturned", &v));
  EXPECT_EQ(bson_iter_as_int64(&v), 1) << r.json();
  // And the document itself comes back.
  auto docs = h.drain(kDb, h.run(kDb, R"({"find": "big", "filter": {"_id": 123456}})"));
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(ids_of(docs), std::vector<int>{123456});
  // A range on _id examines only the documents in the range.
  r = h.run(kDb, R"({"explain": {"find": "big", "filter": {"_id": {"$gte": 1000, "$lt": 1010}}}, "verbosity": "executionStats"})");
  ASSERT_TRUE(bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "executionStats.totalDocsExamined", &v));
  EXPECT_EQ(bson_iter_as_int64(&v), 10) << r.json();
}

}  // namespace
