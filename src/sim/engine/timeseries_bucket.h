// Time-series buckets as a 7.0 server stores them in system.buckets.<name> (uncompressed,
// control.version 1):
//   {_id: ObjectId(rounded min time, unique tail),
//    control: {version: 1, min: {<field>: min, ...}, max: {<field>: max, ...}},
//    meta: <metaField value>,                      (only when the measurements have one)
//    data: {<field>: {"0": v0, "1": v1, ...}, ...}} (a column per field, by measurement index)
// control.min of the time field is the bucket's rounded-down start; the other min/max
// values are whole-value BSON comparisons (the server also descends into objects and arrays).
#pragma once

#include <bson/bson.h>

#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"

namespace sim::engine {

// The bucketing parameters of a time-series collection (its `timeseries` options).
struct TimeseriesSpec {
  std::string time_field;
  std::optional<std::string> meta_field;
  int64_t rounding_secs = 60;   // bucket start = time rounded down to a multiple of this
  int64_t max_span_secs = 3600; // a bucket holds times in [start, start + span)
  static constexpr int kMaxCount = 1000;       // timeseriesBucketMaxCount
  static constexpr int kMaxBytes = 125 * 1024;  // timeseriesBucketMaxSize
};

TimeseriesSpec timeseries_spec(const bson_t* options);

// A bucket start (ms since the epoch) for a measurement time.
int64_t bucket_start_ms(const TimeseriesSpec& spec, int64_t time_ms);

// The bucket document of `measurements` (each without the meta field), in insertion order.
// `meta` is the {"meta": value} document or null.
common::Bson build_bucket(const bson_oid_t& id, const bson_t* meta, int64_t start_ms,
                          const std::vector<common::Bson>& measurements, const TimeseriesSpec& spec);

// The measurements of a bucket: fields in column order, the meta field (under its
// metaField name) last when `with_meta`. Errors for buckets this module cannot read
// (compressed columns, a malformed data field).
common::Status unpack_bucket(const bson_t* bucket, const TimeseriesSpec& spec, bool with_meta,
                             std::vector<common::Bson>* out);

// The meta value of a measurement in bucket form ({"meta": value}), an empty document when
// the measurement has none; `key` receives a normalized form (object fields sorted) that
// equal metas share.
common::Bson measurement_meta(const bson_t* measurement, const TimeseriesSpec& spec, std::string* key);

}  // namespace sim::engine

namespace sim::engine {

// Index keys of a time-series collection, as createIndexes/listIndexes on the view translate
// them to and from the buckets collection: <metaField>[.x] ↔ meta[.x]; <field>: 1 ↔
// control.min.<field>: 1, control.max.<field>: 1; <field>: -1 ↔ control.max.<field>: -1,
// control.min.<field>: -1. Other types on measurement fields are refused (2 BadValue).
common::Result<common::Bson> buckets_index_key(const TimeseriesSpec& spec, const bson_t* key);
common::Bson view_index_key(const TimeseriesSpec& spec, const bson_t* buckets_key);

}  // namespace sim::engine
