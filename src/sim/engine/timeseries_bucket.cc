// Building and unpacking time-series buckets (see timeseries_bucket.h).
#include "sim/engine/timeseries_bucket.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "mql/compare.h"

namespace sim::engine {

using common::Bson;
using common::Status;

TimeseriesSpec timeseries_spec(const bson_t* options) {
  TimeseriesSpec s;
  std::string granularity = "seconds";
  std::optional<int64_t> rounding, span;
  bson_iter_t it;
  if (options && bson_iter_init(&it, options)) {
    while (bson_iter_next(&it)) {
      std::string_view k = bson_iter_key(&it);
      if (k == "timeField" && BSON_ITER_HOLDS_UTF8(&it)) s.time_field = bson_iter_utf8(&it, nullptr);
      else if (k == "metaField" && BSON_ITER_HOLDS_UTF8(&it)) s.meta_field = bson_iter_utf8(&it, nullptr);
      else if (k == "granularity" && BSON_ITER_HOLDS_UTF8(&it)) granularity = bson_iter_utf8(&it, nullptr);
      else if (k == "bucketRoundingSeconds") rounding = bson_iter_as_int64(&it);
      else if (k == "bucketMaxSpanSeconds") span = bson_iter_as_int64(&it);
    }
  }
  int64_t default_rounding = granularity == "hours" ? 86400 : granularity == "minutes" ? 3600 : 60;
  int64_t default_span = granularity == "hours" ? 2592000 : granularity == "minutes" ? 86400 : 3600;
  s.rounding_secs = std::max<int64_t>(1, rounding.value_or(default_rounding));
  s.max_span_secs = std::max<int64_t>(1, span.value_or(default_span));
  return s;
}

int64_t bucket_start_ms(const TimeseriesSpec& spec, int64_t time_ms) {
  int64_t unit = spec.rounding_secs * 1000;
  int64_t q = time_ms / unit;
  if (time_ms % unit != 0 && time_ms < 0) --q;  // floor for times before the epoch
  return q * unit;
}

namespace {

// One data column while a bucket is built: its values (shallow copies pointing into the
// measurements, which outlive the column).
struct Column {
  std::string field;
  std::vector<std::pair<size_t, bson_value_t>> values;
  size_t min = 0, max = 0;  // indexes into values
};

void append_normalized(bson_t* out, const char* key, const bson_value_t* v) {
  if (v->value_type != BSON_TYPE_DOCUMENT && v->value_type != BSON_TYPE_ARRAY) {
    bson_append_value(out, key, -1, v);
    return;
  }
  bson_t d;
  bson_iter_t it;
  if (!bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len) || !bson_iter_init(&it, &d)) {
    bson_append_value(out, key, -1, v);
    return;
  }
  // (bson_iter_t is over-aligned, so it stays out of containers; values are shallow copies.)
  std::vector<std::pair<std::string, bson_value_t>> fields;
  while (bson_iter_next(&it)) fields.emplace_back(bson_iter_key(&it), *bson_iter_value(&it));
  if (v->value_type == BSON_TYPE_DOCUMENT) {
    std::stable_sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  bson_t sub;
  if (v->value_type == BSON_TYPE_DOCUMENT) bson_append_document_begin(out, key, -1, &sub);
  else bson_append_array_begin(out, key, -1, &sub);
  for (const auto& [name, value] : fields) append_normalized(&sub, name.c_str(), &value);
  if (v->value_type == BSON_TYPE_DOCUMENT) bson_append_document_end(out, &sub);
  else bson_append_array_end(out, &sub);
}

void append_min_max(bson_t* control, const char* name, const std::vector<Column>& cols, bool want_min,
                    const TimeseriesSpec& spec, int64_t start_ms) {
  bson_t d;
  bson_append_document_begin(control, name, -1, &d);
  for (const auto& c : cols) {
    if (want_min && c.field == spec.time_field) {
      bson_append_date_time(&d, c.field.c_str(), -1, start_ms);
      continue;
    }
    bson_append_value(&d, c.field.c_str(), -1, &c.values[want_min ? c.min : c.max].second);
  }
  bson_append_document_end(control, &d);
}

}  // namespace

Bson measurement_meta(const bson_t* measurement, const TimeseriesSpec& spec, std::string* key) {
  bson_t out = BSON_INITIALIZER;
  key->clear();
  bson_iter_t it;
  if (spec.meta_field && bson_iter_init_find(&it, measurement, spec.meta_field->c_str())) {
    bson_append_iter(&out, "meta", 4, &it);
    bson_t norm = BSON_INITIALIZER;
    append_normalized(&norm, "meta", bson_iter_value(&it));
    key->assign(reinterpret_cast<const char*>(bson_get_data(&norm)), norm.len);
    bson_destroy(&norm);
  }
  return Bson::steal(&out);
}

Bson build_bucket(const bson_oid_t& id, const bson_t* meta, int64_t start_ms, const std::vector<Bson>& measurements,
                  const TimeseriesSpec& spec) {
  std::vector<Column> cols;
  for (size_t i = 0; i < measurements.size(); ++i) {
    bson_iter_t it;
    bson_iter_init(&it, measurements[i].get());
    while (bson_iter_next(&it)) {
      std::string_view f = bson_iter_key(&it);
      auto c = std::find_if(cols.begin(), cols.end(), [&](const Column& col) { return col.field == f; });
      if (c == cols.end()) {
        cols.push_back(Column{std::string(f), {}, 0, 0});
        c = std::prev(cols.end());
      }
      const bson_value_t* v = bson_iter_value(&it);
      c->values.emplace_back(i, *v);
      if (mql::compare_values(v, &c->values[c->min].second) < 0) c->min = c->values.size() - 1;
      if (mql::compare_values(v, &c->values[c->max].second) > 0) c->max = c->values.size() - 1;
    }
  }
  bson_t b = BSON_INITIALIZER, control, data;
  bson_append_oid(&b, "_id", 3, &id);
  bson_append_document_begin(&b, "control", -1, &control);
  bson_append_int32(&control, "version", -1, 1);
  append_min_max(&control, "min", cols, true, spec, start_ms);
  append_min_max(&control, "max", cols, false, spec, start_ms);
  bson_append_document_end(&b, &control);
  bson_iter_t mit;
  if (meta && bson_iter_init_find(&mit, meta, "meta")) bson_append_iter(&b, "meta", 4, &mit);
  bson_append_document_begin(&b, "data", -1, &data);
  for (const auto& c : cols) {
    bson_t col;
    bson_append_document_begin(&data, c.field.c_str(), -1, &col);
    for (const auto& [i, v] : c.values) bson_append_value(&col, std::to_string(i).c_str(), -1, &v);
    bson_append_document_end(&data, &col);
  }
  bson_append_document_end(&b, &data);
  return Bson::steal(&b);
}

Status unpack_bucket(const bson_t* bucket, const TimeseriesSpec& spec, bool with_meta, std::vector<Bson>* out) {
  bson_iter_t it, data;
  if (!bson_iter_init_find(&it, bucket, "data") || !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &data)) {
    return Status(common::kBadValue, "time-series bucket has no data field");
  }
  // Each column's iterator, advanced in step with the measurement index.
  struct Cursor {
    std::string field;
    bson_iter_t it;
    bool more = false;
  };
  std::vector<Cursor> cols;
  size_t count = 0;
  while (bson_iter_next(&data)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&data)) {
      return Status(common::kBadValue, fmt::format("time-series bucket column '{}' is compressed or malformed; "
                                                   "mongosim reads only uncompressed (version 1) buckets",
                                                   bson_iter_key(&data)));
    }
    Cursor c;
    c.field = bson_iter_key(&data);
    bson_iter_recurse(&data, &c.it);
    c.more = bson_iter_next(&c.it);
    if (c.field == spec.time_field) {
      bson_iter_t n;
      bson_iter_recurse(&data, &n);
      while (bson_iter_next(&n)) ++count;
    }
    cols.push_back(c);
  }
  bson_iter_t meta;
  bool has_meta = with_meta && spec.meta_field && bson_iter_init_find(&meta, bucket, "meta");
  for (size_t i = 0; i < count; ++i) {
    std::string key = std::to_string(i);
    bson_t m = BSON_INITIALIZER;
    for (auto& c : cols) {
      if (c.more && key == bson_iter_key(&c.it)) {
        bson_append_iter(&m, c.field.c_str(), -1, &c.it);
        c.more = bson_iter_next(&c.it);
      }
    }
    if (has_meta) bson_append_iter(&m, spec.meta_field->c_str(), -1, &meta);
    out->push_back(Bson::steal(&m));
  }
  return Status::OK();
}

}  // namespace sim::engine

namespace sim::engine {

common::Result<Bson> buckets_index_key(const TimeseriesSpec& spec, const bson_t* key) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    std::string f = bson_iter_key(&it);
    const auto& meta = spec.meta_field;
    if (meta && (f == *meta || f.rfind(*meta + ".", 0) == 0)) {
      std::string k = "meta" + f.substr(meta->size());
      bson_append_iter(&out, k.c_str(), -1, &it);
      continue;
    }
    double dir = BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_double(&it) : 0;
    if (dir != 1 && dir != -1) {
      bson_destroy(&out);
      return Status(common::kBadValue, fmt::format("Invalid index spec for time-series collection: {}. Indexes on "
                                                   "measurement fields are only supported as ascending or descending",
                                                   common::to_server_string(key)));
    }
    std::string lo = "control.min." + f, hi = "control.max." + f;
    bson_append_iter(&out, (dir > 0 ? lo : hi).c_str(), -1, &it);
    bson_append_iter(&out, (dir > 0 ? hi : lo).c_str(), -1, &it);
  }
  return Bson::steal(&out);
}

Bson view_index_key(const TimeseriesSpec& spec, const bson_t* buckets_key) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, buckets_key);
  std::string skip;  // the second field of a control.min/control.max pair
  while (bson_iter_next(&it)) {
    std::string f = bson_iter_key(&it);
    if (f == skip) {
      skip.clear();
      continue;
    }
    if (spec.meta_field && (f == "meta" || f.rfind("meta.", 0) == 0)) {
      std::string k = *spec.meta_field + f.substr(4);
      bson_append_iter(&out, k.c_str(), -1, &it);
    } else if (f.rfind("control.min.", 0) == 0 || f.rfind("control.max.", 0) == 0) {
      std::string field = f.substr(12);
      skip = (f[9] == 'i' ? "control.max." : "control.min.") + field;
      bson_append_iter(&out, field.c_str(), -1, &it);
    } else {
      bson_append_iter(&out, f.c_str(), -1, &it);
    }
  }
  return Bson::steal(&out);
}

}  // namespace sim::engine
