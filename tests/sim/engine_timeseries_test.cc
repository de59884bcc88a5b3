// Time-series collections: inserts into the view are bucketed into system.buckets.<name>
// (by meta value, bucket span and the 1000-measurement limit), find/aggregate on the view
// unpack them, and a measurement without a Date time field is a write error.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

#include "sim/engine_harness.h"

namespace {

using common::Bson;
using simtest::EngineHarness;

constexpr const char* kDb = "ts";

int64_t count_of(EngineHarness& h, const char* coll, const char* filter = "{}") {
  return static_cast<int64_t>(h.drain(kDb, h.run(kDb, fmt::format(R"({{"find": "{}", "filter": {}}})", coll, filter))).size());
}

std::string date(int64_t ms) { return fmt::format(R"({{"$date": {{"$numberLong": "{}"}}}})", ms); }

TEST(Timeseries, InsertsAreBucketedByMetaAndSpanAndReadBackThroughTheView) {
  EngineHarness h;
  ASSERT_TRUE(simtest::ok(h.run(kDb, R"({"create": "w", "timeseries": {"timeField": "t", "metaField": "m"}})")));
  const int64_t base = 1700000000000LL;  // granularity seconds: buckets start on the minute, span one hour
  std::string docs;
  for (int i = 0; i < 6; ++i) {
    if (i) docs += ",";
    // Equal metas whatever their field order; one in another hour.
    const char* meta = i % 2 ? R"({"a": 1, "b": 2})" : R"({"b": 2, "a": 1})";
    docs += fmt::format(R"({{"_id": {}, "t": {}, "m": {}, "v": {}}})", i, date(base + i * 1000 + (i == 5 ? 7200000 : 0)),
                        meta, i);
  }
  docs += "," + fmt::format(R"({{"_id": 9, "t": {}, "m": "other"}})", date(base));
  Bson r = h.run(kDb, fmt::format(R"({{"insert": "w", "documents": [{}]}})", docs));
  ASSERT_EQ(simtest::int_field(r, "n"), 7) << r.json();

  auto buckets = h.drain(kDb, h.run(kDb, R"({"find": "system.buckets.w", "filter": {}})"));
  ASSERT_EQ(buckets.size(), 3u);  // {a,b} this hour, {a,b} two hours later, "other"
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, buckets[0].get()) && bson_iter_find_descendant(&it, "control.version", &it));
  EXPECT_EQ(bson_iter_as_int64(&it), 1);
  ASSERT_TRUE(bson_iter_init(&it, buckets[0].get()) && bson_iter_find_descendant(&it, "control.min.t", &it));
  EXPECT_EQ(bson_iter_date_time(&it), base / 60000 * 60000);  // rounded down to the minute
  ASSERT_TRUE(bson_iter_init(&it, buckets[0].get()) && bson_iter_find_descendant(&it, "data.v.4", &it));
  EXPECT_EQ(bson_iter_as_int64(&it), 4);

  EXPECT_EQ(count_of(h, "w"), 7);
  EXPECT_EQ(count_of(h, "w", R"({"m.a": 1, "v": {"$gte": 3}})"), 3);
  auto sorted = h.drain(kDb, h.run(kDb, R"({"find": "w", "filter": {"m": "other"}, "projection": {"_id": 1, "m": 1}})"));
  ASSERT_EQ(sorted.size(), 1u);
  EXPECT_EQ(sorted[0].json(), R"({ "_id" : 9, "m" : "other" })");
  Bson agg = h.run(kDb, R"({"aggregate": "w", "pipeline": [{"$group": {"_id": null, "s": {"$sum": "$v"}}}], "cursor": {}})");
  auto sums = h.drain(kDb, agg);
  ASSERT_EQ(sums.size(), 1u);
  EXPECT_EQ(sums[0].json(), R"({ "_id" : null, "s" : 15 })");
}

TEST(Timeseries, ABucketHoldsAtMostAThousandMeasurementsAcrossInserts) {
  EngineHarness h;
  ASSERT_TRUE(simtest::ok(h.run(kDb, R"({"create": "w", "timeseries": {"timeField": "t"}})")));
  for (int batch = 0; batch < 3; ++batch) {
    std::string docs;
    for (int i = 0; i < 500; ++i) {
      if (i) docs += ",";
      docs += fmt::format(R"({{"t": {}, "x": {}}})", date(1700000000000LL + batch * 500 + i), i);
    }
    Bson r = h.run(kDb, fmt::format(R"({{"insert": "w", "documents": [{}]}})", docs));
    ASSERT_EQ(simtest::int_field(r, "n"), 500) << r.json();
  }
  EXPECT_EQ(count_of(h, "system.buckets.w"), 2);  // 1000 + 500
  EXPECT_EQ(count_of(h, "w"), 1500);
}

TEST(Timeseries, AMeasurementWithoutADateTimeIsAWriteError) {
  EngineHarness h;
  ASSERT_TRUE(simtest::ok(h.run(kDb, R"({"create": "w", "timeseries": {"timeField": "t"}})")));
  Bson r = h.run(kDb, fmt::format(R"({{"insert": "w", "ordered": false, "documents": [{{"t": 5}}, {{"t": {}}}, {{"x": 1}}]}})",
                                  date(1700000000000LL)));
  EXPECT_EQ(simtest::int_field(r, "n"), 1) << r.json();
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "writeErrors.1.index", &it)) << r.json();
  EXPECT_EQ(bson_iter_as_int64(&it), 2);
  ASSERT_TRUE(bson_iter_init(&it, r.get()) && bson_iter_find_descendant(&it, "writeErrors.0.errmsg", &it));
  EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "'t' must be present and contain a valid BSON UTC datetime value");
  EXPECT_EQ(count_of(h, "w"), 1);
  // An ordered insert stops at the first bad measurement.
  r = h.run(kDb, R"({"insert": "w", "documents": [{"x": 1}, {"x": 2}]})");
  EXPECT_EQ(simtest::int_field(r, "n"), 0) << r.json();
}

TEST(Timeseries, InsertsInsideATransactionAreRefused) {
  EngineHarness h;
  ASSERT_TRUE(simtest::ok(h.run(kDb, R"({"create": "w", "timeseries": {"timeField": "t"}})")));
  Bson r = h.run(kDb, fmt::format(R"({{"insert": "w", "documents": [{{"t": {}}}],
      "lsid": {{"id": {{"$binary": {{"base64": "AAAAAAAAQACAAAAAAAAAAQ==", "subType": "04"}}}}}},
      "txnNumber": {{"$numberLong": "1"}}, "autocommit": false, "startTransaction": true}})",
                                  date(1700000000000LL)));
  EXPECT_EQ(simtest::int_field(r, "code"), 263) << r.json();
  EXPECT_EQ(count_of(h, "w"), 0);
}

TEST(Timeseries, IndexesAreKeptOnTheBucketsOverTranslatedKeys) {
  EngineHarness h;
  ASSERT_TRUE(simtest::ok(h.run(kDb, R"({"create": "w", "timeseries": {"timeField": "t", "metaField": "m"}})")));
  Bson r = h.run(kDb, R"({"createIndexes": "w", "indexes": [{"key": {"m.host": 1, "t": -1}, "name": "host_t"},
                                                           {"key": {"v": 1}, "name": "v"}]})");
  ASSERT_TRUE(simtest::ok(r)) << r.json();
  auto buckets = h.drain(kDb, h.run(kDb, R"({"listIndexes": "system.buckets.w"})"));
  ASSERT_EQ(buckets.size(), 4u);  // the clustered _id index, the default {m, t} index (6.3+) and the two
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, buckets[2].get()) && bson_iter_find_descendant(&it, "key", &it));
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&it, &len, &data);
  EXPECT_EQ(Bson(data, len).json(), R"({ "meta.host" : 1, "control.max.t" : -1, "control.min.t" : -1 })");
  auto listed = h.drain(kDb, h.run(kDb, R"({"listIndexes": "w"})"));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].json(), R"({ "v" : 2, "key" : { "m" : 1, "t" : 1 }, "name" : "m_1_t_1" })");
  EXPECT_EQ(listed[1].json(), R"({ "v" : 2, "key" : { "m.host" : 1, "t" : -1 }, "name" : "host_t" })");
  EXPECT_EQ(listed[2].json(), R"({ "v" : 2, "key" : { "v" : 1 }, "name" : "v" })");
  // Before 6.3 there is no default index.
  EngineHarness old(simtest::options_with(false, "6.0"));
  ASSERT_TRUE(simtest::ok(old.run(kDb, R"({"create": "w", "timeseries": {"timeField": "t", "metaField": "m"}})")));
  EXPECT_EQ(old.drain(kDb, old.run(kDb, R"({"listIndexes": "w"})")).size(), 0u);
  r = h.run(kDb, R"({"createIndexes": "w", "indexes": [{"key": {"v": "text"}, "name": "vt"}]})");
  EXPECT_EQ(simtest::int_field(r, "code"), 2) << r.json();
}

}  // namespace
