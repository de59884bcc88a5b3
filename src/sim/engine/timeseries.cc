// Inserts into time-series collections and the $_internalUnpackBucket stage (timeseries.h).
#include "sim/engine/timeseries.h"

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <shared_mutex>

#include "sim/engine/args.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/timeseries_bucket.h"
#include "sim/engine/write_path.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

std::string buckets_name(const std::string& name) { return "system.buckets." + name; }

// A bucket the running insert may add to: an existing one (rid >= 0) or a new one.
struct OpenBucket {
  int64_t rid = -1;
  bson_oid_t id{};
  Bson meta;        // {"meta": value} or {}
  std::string key;  // normalized meta
  int64_t start_ms = 0;
  size_t count = 0;
  size_t bytes = 0;
  bool loaded = false;  // `measurements` holds the bucket's existing measurements
  bool dirty = false;
  std::vector<Bson> measurements;
};

// The buckets already in the collection (their shape only; measurements are unpacked when a
// bucket receives a new one). Caller holds the collection lock.
std::vector<OpenBucket> existing_buckets(const Collection& coll, const TimeseriesSpec& spec) {
  TimeseriesSpec as_bucket = spec;
  as_bucket.meta_field = "meta";
  std::vector<OpenBucket> out;
  for (const auto& [rid, doc] : coll.records()) {
    bson_t b = doc.view();
    bson_iter_t it, v;
    OpenBucket ob;
    ob.rid = rid;
    if (!bson_iter_init_find(&it, &b, "_id") || !BSON_ITER_HOLDS_OID(&it)) continue;
    bson_oid_copy(bson_iter_oid(&it), &ob.id);
    std::string min_time = "control.min." + spec.time_field;
    if (!bson_iter_init(&it, &b) || !bson_iter_find_descendant(&it, min_time.c_str(), &v) ||
        !BSON_ITER_HOLDS_DATE_TIME(&v))
      continue;
    ob.start_ms = bson_iter_date_time(&v);
    std::string times = "data." + spec.time_field;
    bson_iter_t col;
    if (bson_iter_init(&it, &b) && bson_iter_find_descendant(&it, times.c_str(), &v) && bson_iter_recurse(&v, &col)) {
      while (bson_iter_next(&col)) ++ob.count;
    }
    ob.meta = measurement_meta(&b, as_bucket, &ob.key);
    ob.bytes = b.len;
    out.push_back(std::move(ob));
  }
  return out;
}

OpenBucket* choose_bucket(std::vector<OpenBucket>& open, const std::string& key, int64_t time_ms, size_t size,
                          const TimeseriesSpec& spec) {
  for (auto it = open.rbegin(); it != open.rend(); ++it) {
    if (it->key != key || time_ms < it->start_ms || time_ms >= it->start_ms + spec.max_span_secs * 1000) continue;
    if (it->count >= static_cast<size_t>(TimeseriesSpec::kMaxCount)) continue;
    if (it->count > 0 && it->bytes + size > static_cast<size_t>(TimeseriesSpec::kMaxBytes)) continue;
    return &*it;
  }
  return nullptr;
}

Bson without_field(const bson_t* doc, const std::optional<std::string>& field) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, doc);
  while (bson_iter_next(&it)) {
    if (field && *field == bson_iter_key(&it)) continue;
    bson_append_iter(&out, bson_iter_key(&it), -1, &it);
  }
  return Bson::steal(&out);
}

Status write_buckets(Collection& coll, std::vector<OpenBucket>& open, const TimeseriesSpec& spec, const WriteContext& wc) {
  for (auto& b : open) {
    if (!b.dirty) continue;
    Bson doc = build_bucket(b.id, b.meta.get(), b.start_ms, b.measurements, spec);
    if (b.rid < 0) {
      MS_ASSIGN_OR_RETURN(b.rid, coll.insert(DocRef::copy(doc.get()), wc));
    } else {
      UpdateInfo how;
      how.kind = UpdateInfo::Kind::kReplacement;
      how.update = doc.get();
      MS_RETURN_IF_ERROR(coll.update(b.rid, DocRef::copy(doc.get()), how, wc));
    }
    b.dirty = false;
  }
  return Status::OK();
}

class UnpackSource : public mql::DocumentSource {
 public:
  UnpackSource(std::unique_ptr<mql::DocumentSource> input, TimeseriesSpec spec)
      : input_(std::move(input)), spec_(std::move(spec)) {}

  Result<std::optional<Bson>> next() override {
    while (pending_.empty()) {
      MS_ASSIGN_OR_RETURN(auto bucket, input_->next());
      if (!bucket) return std::optional<Bson>();
      std::vector<Bson> ms;
      MS_RETURN_IF_ERROR(unpack_bucket(bucket->get(), spec_, true, &ms));
      for (auto& m : ms) pending_.push_back(std::move(m));
    }
    Bson out = std::move(pending_.front());
    pending_.pop_front();
    return std::optional<Bson>(std::move(out));
  }

 private:
  std::unique_ptr<mql::DocumentSource> input_;
  TimeseriesSpec spec_;
  std::deque<Bson> pending_;
};

class UnpackStage : public mql::HostStage {
 public:
  explicit UnpackStage(TimeseriesSpec spec) : spec_(std::move(spec)) {}
  Result<std::unique_ptr<mql::DocumentSource>> open(std::unique_ptr<mql::DocumentSource> input) const override {
    return std::unique_ptr<mql::DocumentSource>(std::make_unique<UnpackSource>(std::move(input), spec_));
  }
  bool allowed_in_subpipeline() const override { return true; }

 private:
  TimeseriesSpec spec_;
};

}  // namespace

bool is_timeseries_view(EngineImpl& e, const std::string& db, const std::string& name) {
  if (!e.catalog.find_view(db, name)) return false;
  auto buckets = e.catalog.find(db, buckets_name(name));
  if (!buckets) return false;
  std::shared_lock lk(buckets->mu);
  return !buckets->options().timeseries.empty();
}

Status timeseries_insert(EngineImpl& e, CommandContext& c, const std::string& name, bson_t* reply) {
  const bson_t* body = c.body();
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, body, "documents")) {
    return Status(40414, "BSON field 'insert.documents' is missing but a required field");
  }
  if (!BSON_ITER_HOLDS_ARRAY(&it)) return args::wrong_type("insert", "documents", &it, "array");
  std::vector<common::BsonView> docs;
  bson_iter_recurse(&it, &arr);
  while (bson_iter_next(&arr)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) return args::wrong_type("insert.documents", bson_iter_key(&arr), &arr, "object");
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&arr, &len, &data);
    docs.emplace_back(data, len);
  }
  if (docs.empty() || docs.size() > 100000) {
    return Status(common::kInvalidLength,
                  fmt::format("Write batch sizes must be between 1 and 100000. Got {} operations.", docs.size()));
  }
  if (OperationSession* op = current_operation(); op && op->txn) {
    // The server's time-series writes do not run inside multi-document transactions.
    return Status(common::kOperationNotSupportedInTransaction,
                  fmt::format("Cannot insert into a time-series collection in a multi-document transaction: {}.{}",
                              c.req.db, name));
  }
  auto coll = e.catalog.find(c.req.db, buckets_name(name));
  if (!coll) return Status(common::kNamespaceNotFound, fmt::format("ns {}.{} does not exist", c.req.db, name));
  bool ordered = args::flag(body, "ordered", true);
  WriteContext wc = write_context(c);
  WriteResult res;
  e.server.opcounters.insert.fetch_add(static_cast<int64_t>(docs.size()) - 1);

  std::unique_lock lk(coll->mu);
  const TimeseriesSpec spec = timeseries_spec(coll->options().timeseries.get());
  std::vector<OpenBucket> open = existing_buckets(*coll, spec);
  for (size_t i = 0; i < docs.size(); ++i) {
    const bson_t* m = docs[i].get();
    bson_iter_t t;
    if (!bson_iter_init_find(&t, m, spec.time_field.c_str()) || !BSON_ITER_HOLDS_DATE_TIME(&t)) {
      res.append_error(static_cast<int64_t>(i),
                       Status(common::kBadValue, fmt::format("'{}' must be present and contain a valid BSON UTC datetime value",
                                                             spec.time_field)));
      if (ordered) break;
      continue;
    }
    int64_t time_ms = bson_iter_date_time(&t);
    std::string key;
    Bson meta = measurement_meta(m, spec, &key);
    Bson measurement = without_field(m, spec.meta_field);
    OpenBucket* b = choose_bucket(open, key, time_ms, measurement.size(), spec);
    if (!b) {
      OpenBucket nb;
      nb.start_ms = bucket_start_ms(spec, time_ms);
      bson_oid_init(&nb.id, nullptr);
      uint32_t secs = nb.start_ms > 0 ? static_cast<uint32_t>(nb.start_ms / 1000) : 0;
      for (int k = 0; k < 4; ++k) nb.id.bytes[k] = static_cast<uint8_t>(secs >> (24 - 8 * k));
      nb.meta = std::move(meta);
      nb.key = key;
      nb.loaded = true;
      open.push_back(std::move(nb));
      b = &open.back();
    }
    if (!b->loaded) {
      const DocRef* cur = coll->find(b->rid);
      if (cur) {
        bson_t view = cur->view();
        MS_RETURN_IF_ERROR(unpack_bucket(&view, spec, false, &b->measurements));
      }
      b->loaded = true;
    }
    b->bytes += measurement.size();
    ++b->count;
    b->measurements.push_back(std::move(measurement));
    b->dirty = true;
    ++res.n;
  }
  MS_RETURN_IF_ERROR(write_buckets(*coll, open, spec, wc));
  lk.unlock();
  res.append_to(reply, false);
  return finish_write_reply(c, e.version(), reply);
}

namespace {

TimeseriesSpec spec_of(EngineImpl& e, const std::string& db, const std::string& name) {
  auto coll = e.catalog.find(db, buckets_name(name));
  if (!coll) return TimeseriesSpec{};
  std::shared_lock lk(coll->mu);
  return timeseries_spec(coll->options().timeseries.get());
}

// A copy of an index spec with its key replaced.
Bson with_key(const bson_t* spec, const bson_t* key) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    if (std::string_view(bson_iter_key(&it)) == "key") bson_append_document(&out, "key", 3, key);
    else bson_append_iter(&out, bson_iter_key(&it), -1, &it);
  }
  return Bson::steal(&out);
}

}  // namespace

Status add_default_timeseries_index(EngineImpl& e, Collection& buckets) {
  if (e.version() < 63) return Status::OK();
  std::unique_lock lk(buckets.mu);
  const TimeseriesSpec spec = timeseries_spec(buckets.options().timeseries.get());
  if (!spec.meta_field) return Status::OK();
  bson_t view_key = BSON_INITIALIZER;
  bson_append_int32(&view_key, spec.meta_field->c_str(), -1, 1);
  bson_append_int32(&view_key, spec.time_field.c_str(), -1, 1);
  auto key = buckets_index_key(spec, &view_key);
  bson_destroy(&view_key);
  if (!key.ok()) return key.status();
  bson_t s = BSON_INITIALIZER;
  bson_append_int32(&s, "v", 1, 2);
  bson_append_document(&s, "key", 3, key->get());
  common::append_utf8(&s, "name", fmt::format("{}_1_{}_1", *spec.meta_field, spec.time_field));
  Bson index_spec = Bson::steal(&s);
  MS_ASSIGN_OR_RETURN(IndexDescriptor d, parse_index_spec(index_spec.get(), buckets.options().collator, e.version()));
  std::vector<IndexDescriptor> built{d};
  MS_RETURN_IF_ERROR(buckets.add_index(std::move(d)));
  if (buckets.observer()) buckets.observer()->on_create_indexes(buckets, built, true);
  return Status::OK();
}

Result<Bson> timeseries_index_specs(EngineImpl& e, const std::string& db, const std::string& name, const bson_t* specs) {
  const TimeseriesSpec spec = spec_of(e, db, name);
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it, key;
  bson_iter_init(&it, specs);
  while (bson_iter_next(&it)) {
    uint32_t len;
    const uint8_t* data;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      bson_append_iter(&out, bson_iter_key(&it), -1, &it);  // refused by the caller's checks
      continue;
    }
    bson_iter_document(&it, &len, &data);
    bson_t s;
    bson_init_static(&s, data, len);
    if (!bson_iter_init_find(&key, &s, "key") || !BSON_ITER_HOLDS_DOCUMENT(&key)) {
      bson_append_iter(&out, bson_iter_key(&it), -1, &it);
      continue;
    }
    bson_iter_document(&key, &len, &data);
    bson_t k;
    bson_init_static(&k, data, len);
    auto translated = buckets_index_key(spec, &k);
    if (!translated.ok()) {
      bson_destroy(&out);
      return translated.status();
    }
    Bson ns = with_key(&s, translated->get());
    bson_append_document(&out, bson_iter_key(&it), -1, ns.get());
  }
  return Bson::steal(&out);
}

std::vector<Bson> timeseries_listed_specs(EngineImpl& e, const std::string& db, const std::string& name,
                                          std::vector<Bson> bucket_specs) {
  const TimeseriesSpec spec = spec_of(e, db, name);
  std::vector<Bson> out;
  for (const auto& s : bucket_specs) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, s.get(), "clustered")) continue;
    if (!bson_iter_init_find(&it, s.get(), "key") || !BSON_ITER_HOLDS_DOCUMENT(&it)) continue;
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    bson_t k;
    bson_init_static(&k, data, len);
    Bson key = view_index_key(spec, &k);
    out.push_back(with_key(s.get(), key.get()));
  }
  return out;
}

Result<std::unique_ptr<mql::HostStage>> timeseries_host_stage(std::string_view name, const bson_iter_t* spec) {
  if (name != "$_internalUnpackBucket") return std::unique_ptr<mql::HostStage>();
  if (!BSON_ITER_HOLDS_DOCUMENT(spec)) {
    return Status(common::kFailedToParse, "$_internalUnpackBucket specification must be an object");
  }
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(spec, &len, &data);
  bson_t d;
  bson_init_static(&d, data, len);
  TimeseriesSpec ts = timeseries_spec(&d);
  if (ts.time_field.empty()) {
    return Status(common::kFailedToParse, "The $_internalUnpackBucket stage requires a timeField parameter");
  }
  return std::unique_ptr<mql::HostStage>(std::make_unique<UnpackStage>(std::move(ts)));
}

}  // namespace sim::engine
