#include "copy/partitioner.h"

#include <gtest/gtest.h>

#include "mql/compare.h"
#include "support/sim_client.h"

namespace {

using testsupport::json_doc;

common::Bson key(const std::string& id_json) { return json_doc("{\"_id\": " + id_json + "}"); }

// The _id value of a key's bytes.
int cmp_keys(const std::string& a, const std::string& b) {
  common::BsonView va(reinterpret_cast<const uint8_t*>(a.data()), static_cast<uint32_t>(a.size()));
  common::BsonView vb(reinterpret_cast<const uint8_t*>(b.data()), static_cast<uint32_t>(b.size()));
  bson_iter_t ia, ib;
  common::find_field(va.get(), "_id", &ia);
  common::find_field(vb.get(), "_id", &ib);
  return mql::compare_elements(&ia, &ib);
}

TEST(Partitioner, RangesCoverEverythingInOrder) {
  std::vector<common::Bson> sample;
  for (int i = 99; i >= 0; --i) sample.push_back(key(std::to_string(i * 10)));
  auto ranges = copy::ranges_from_sample(sample, 4);
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_FALSE(ranges.front().min.has_value());
  EXPECT_FALSE(ranges.back().max.has_value());
  for (size_t i = 1; i < ranges.size(); ++i) {
    ASSERT_TRUE(ranges[i].min && ranges[i - 1].max);
    EXPECT_EQ(*ranges[i].min, *ranges[i - 1].max);  // contiguous
    if (i > 1) {
      EXPECT_LT(cmp_keys(*ranges[i - 1].min, *ranges[i].min), 0);
    }
  }
}

TEST(Partitioner, TypeBracketsGetTheirOwnRanges) {
  std::vector<common::Bson> sample{key("1"), key("2"), key("\"a\""), key("\"b\""),
                                   key("{\"$oid\": \"5f0000000000000000000001\"}"), key("3.5")};
  auto ranges = copy::ranges_from_sample(sample, 1);
  // One requested range, cut at the start of the string and of the ObjectId bracket.
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(*ranges[0].max, *copy::bracket_min_key(BSON_TYPE_UTF8));
  EXPECT_EQ(*ranges[1].max, *copy::bracket_min_key(BSON_TYPE_OID));
  // Every sampled key is above its range's min and below its max.
  for (const auto& k : sample) {
    std::string kb(k.bytes());
    int inside = 0;
    for (const auto& r : ranges) {
      if ((!r.min || cmp_keys(*r.min, kb) <= 0) && (!r.max || cmp_keys(kb, *r.max) < 0)) inside++;
    }
    EXPECT_EQ(inside, 1) << k.json();
  }
}

TEST(Partitioner, BracketMinimaAreBelowEveryValueOfTheirType) {
  for (const char* j : {"-1e308", "{\"$numberDecimal\": \"-Infinity\"}", "{\"$numberDouble\": \"-Infinity\"}"}) {
    EXPECT_LT(cmp_keys(*copy::bracket_min_key(BSON_TYPE_DOUBLE), std::string(key(j).bytes())), 0) << j;
  }
  EXPECT_LE(cmp_keys(*copy::bracket_min_key(BSON_TYPE_UTF8), std::string(key("\"\"").bytes())), 0);
  EXPECT_LT(cmp_keys(*copy::bracket_min_key(BSON_TYPE_DATE_TIME),
                     std::string(key("{\"$date\": {\"$numberLong\": \"-9000000000000000000\"}}").bytes())),
            0);
  EXPECT_FALSE(copy::bracket_min_key(BSON_TYPE_MAXKEY).has_value());
}

TEST(Partitioner, EmptyOrTinySamplesGiveOneRange) {
  EXPECT_EQ(copy::ranges_from_sample({}, 8).size(), 1u);
  EXPECT_EQ(copy::ranges_from_sample({key("1"), key("1"), key("1")}, 8).size(), 1u);
}

TEST(Partitioner, PartitionCount) {
  EXPECT_EQ(copy::partition_count(100, 1000, 256 << 20, 8), 1);          // small: one
  EXPECT_EQ(copy::partition_count(1000000, 500000000, 256 << 20, 8), 8);  // parallelism
  EXPECT_EQ(copy::partition_count(1000000, int64_t{10} << 30, 256 << 20, 8), 40);  // size
}

TEST(Partitioner, SplitsALiveCollectionBySampling) {
  testsupport::SimServer s;
  ASSERT_TRUE(s.up());
  std::string ins = R"({"insert": "c", "documents": [)";
  for (int i = 0; i < 2000; ++i) ins += (i ? "," : "") + std::string(R"({"_id": )") + std::to_string(i) + "}";
  s.must("db", ins + "]}");
  auto c = client::Connection::borrow(s.client());
  auto ranges = copy::split_collection(c, "db", "c", 4);
  ASSERT_TRUE(ranges.ok()) << ranges.status().to_string();
  EXPECT_GE(ranges->size(), 2u);
  EXPECT_LE(ranges->size(), 4u);
}

}  // namespace
