// Reading the oplog (see oplog_read.h).
#include "sim/engine/oplog_read.h"

#include <fmt/format.h>

#include <mutex>
#include <shared_mutex>

#include "mql/compare.h"
#include "mql/projection.h"
#include "mql/sort.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

OplogStore* oplog_store(EngineImpl& e) { return e.oplog_writer ? e.oplog_writer->store() : nullptr; }

const std::string& oplog_uuid(EngineImpl& e) { return e.oplog_uuid; }

namespace {

// The lower bound a filter puts on `ts` ({ts: T}, {ts: {$gt|$gte|$eq: T}}, possibly inside
// $and), so the scan starts there instead of at the oldest entry.
std::optional<Timestamp> ts_lower_bound(const bson_t* filter) {
  if (!filter) return std::nullopt;
  bson_iter_t it;
  if (!bson_iter_init(&it, filter)) return std::nullopt;
  std::optional<Timestamp> best;
  auto take = [&](Timestamp t) {
    if (!best || *best < t) best = t;
  };
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "ts") {
      if (BSON_ITER_HOLDS_TIMESTAMP(&it)) {
        uint32_t t, i;
        bson_iter_timestamp(&it, &t, &i);
        take({t, i});
      } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_t ops;
        bson_iter_recurse(&it, &ops);
        while (bson_iter_next(&ops)) {
          std::string_view op = bson_iter_key(&ops);
          if ((op == "$gt" || op == "$gte" || op == "$eq") && BSON_ITER_HOLDS_TIMESTAMP(&ops)) {
            uint32_t t, i;
            bson_iter_timestamp(&ops, &t, &i);
            take({t, i});
          }
        }
      }
    } else if (k == "$and" && BSON_ITER_HOLDS_ARRAY(&it)) {
      bson_iter_t arr;
      bson_iter_recurse(&it, &arr);
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&arr, &len, &data);
        bson_t sub;
        bson_init_static(&sub, data, len);
        if (auto t = ts_lower_bound(&sub)) take(*t);
      }
    }
  }
  return best;
}

struct OplogScanSpec {
  std::shared_ptr<QueryContext> qctx;
  std::shared_ptr<const mql::Matcher> matcher;
  std::shared_ptr<const mql::Projection> projection;
  std::optional<Timestamp> start;
  bool reverse = false;
  bool tailable = false;
  int64_t skip = 0;
  int64_t limit = -1;
};

// Scans the oplog from a position kept as the last returned ts, so truncation of the front
// does not disturb it.
class OplogScanner {
 public:
  OplogScanner(OplogStore& store, OplogScanSpec spec) : store_(store), s_(std::move(spec)), skip_(s_.skip), limit_(s_.limit) {}

  // Next output document under the store's shared lock; nullopt at the end (for now).
  Result<std::optional<Bson>> next_locked() {
    const auto& recs = store_.records();
    while (limit_ != 0) {
      size_t pos;
      if (!s_.reverse) {
        if (!started_) {
          pos = s_.start ? store_.lower_bound(*s_.start) : 0;
        } else {
          pos = store_.upper_bound(last_);
        }
        if (pos >= recs.size()) return std::optional<Bson>();
      } else {
        size_t end = started_ ? store_.lower_bound(last_) : recs.size();
        if (end == 0) {
          done_ = true;
          return std::optional<Bson>();
        }
        pos = end - 1;
      }
      const OplogRecord& r = recs[pos];
      started_ = true;
      last_ = r.ts;
      ++returned_any_scan_;
      Bson doc = r.to_bson(store_.version());
      if (s_.matcher && !s_.matcher->matches(doc.get())) continue;
      if (skip_ > 0) {
        --skip_;
        continue;
      }
      if (limit_ > 0) --limit_;
      matched_any_ = true;
      if (s_.projection) {
        MS_ASSIGN_OR_RETURN(Bson p, s_.projection->apply(doc.get(), nullptr));
        return std::optional<Bson>(std::move(p));
      }
      return std::optional<Bson>(std::move(doc));
    }
    done_ = true;
    return std::optional<Bson>();
  }

  // A tailable cursor whose position was truncated away (§3.2): CappedPositionLost.
  bool position_lost() const { return started_ && !store_.empty() && last_ < store_.first_ts(); }
  bool limit_reached() const { return limit_ == 0; }
  bool reverse_done() const { return done_; }
  bool matched_any() const { return matched_any_; }

 private:
  OplogStore& store_;
  OplogScanSpec s_;
  int64_t skip_, limit_;
  bool started_ = false;
  bool done_ = false;
  bool matched_any_ = false;
  int64_t returned_any_scan_ = 0;
  Timestamp last_;
};

class OplogFindSource : public CursorSource {
 public:
  OplogFindSource(EngineImpl& e, OplogStore& store, OplogScanSpec spec)
      : e_(e), store_(store), tailable_(spec.tailable), scan_(store, std::move(spec)) {}

  Status fill(BatchWriter& out, bool* eof, Clock::time_point deadline) override {
    *eof = false;
    if (pending_) {
      if (!out.fits(pending_->size())) return Status::OK();
      out.add(*pending_);
      pending_.reset();
    }
    std::shared_lock lk(store_.mu);
    seen_version_ = e_.data_version();
    if (tailable_ && scan_.position_lost()) {
      return Status(common::kCappedPositionLost,
                    "CollectionScan died due to position in capped collection being deleted.");
    }
    int n = 0;
    while (!out.full()) {
      if ((++n & 255) == 0 && Clock::now() > deadline) {
        return Status(common::kMaxTimeMSExpired, "operation exceeded time limit");
      }
      MS_ASSIGN_OR_RETURN(auto d, scan_.next_locked());
      if (!d) {
        // A tailable cursor stays open at the end unless the limit is reached (the server
        // keeps it whenever the collection has records: find_common's shouldSaveCursor).
        if (!tailable_ || scan_.limit_reached() || (!first_fill_done_ && store_.empty())) *eof = true;
        break;
      }
      if (!out.fits(d->size())) {
        pending_ = std::move(*d);
        break;
      }
      out.add(*d);
      if (scan_.limit_reached()) {
        *eof = true;
        break;
      }
    }
    first_fill_done_ = true;
    return Status::OK();
  }

  void wait_for_data(Clock::time_point deadline) override { e_.wait_data(seen_version_, deadline); }

 private:
  EngineImpl& e_;
  OplogStore& store_;
  bool tailable_;
  OplogScanner scan_;
  std::optional<Bson> pending_;
  uint64_t seen_version_ = 0;
  bool first_fill_done_ = false;
};

class OplogInput : public mql::DocumentSource {
 public:
  OplogInput(OplogStore& store, OplogScanSpec spec) : store_(store), scan_(store, std::move(spec)) {}
  Result<std::optional<Bson>> next() override {
    std::shared_lock lk(store_.mu);
    return scan_.next_locked();
  }

 private:
  OplogStore& store_;
  OplogScanner scan_;
};

Result<OplogScanSpec> scan_spec(EngineImpl& e, const CommandContext& c, const FindRequest& r) {
  OplogScanSpec s;
  MS_ASSIGN_OR_RETURN(s.qctx, e.query_context(c, nullptr, nullptr));
  if (!r.filter.empty()) {
    MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(r.filter.get(), s.qctx->ectx));
    if (!m->matches_everything()) s.matcher = std::shared_ptr<const mql::Matcher>(std::move(m));
    s.start = ts_lower_bound(r.filter.get());
  }
  if (!r.projection.empty()) {
    MS_ASSIGN_OR_RETURN(auto p, mql::Projection::parse(r.projection.get(), r.filter.get(), s.qctx->ectx));
    s.projection = std::shared_ptr<const mql::Projection>(std::move(p));
  }
  if (!r.sort.empty()) {
    bson_iter_t it;
    bson_iter_init(&it, r.sort.get());
    bool natural = bson_iter_next(&it) && std::string_view(bson_iter_key(&it)) == "$natural" &&
                   bson_count_keys(r.sort.get()) == 1;
    if (natural) {
      s.reverse = BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_double(&it) < 0;
    } else if (!r.tailable) {
      // Any other sort: the generic path sorts in memory (the oplog has no indexes).
      return Status(common::kNotImplemented, "sort");
    }
  }
  if (!r.hint_doc.empty()) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, r.hint_doc.get(), "$natural") && BSON_ITER_HOLDS_NUMBER(&it)) {
      s.reverse = bson_iter_as_double(&it) < 0;
    }
  }
  if (s.reverse) s.start.reset();
  s.tailable = r.tailable;
  s.skip = r.skip;
  s.limit = r.limit;
  return s;
}

// A blocking sort over matching entries, for sorts other than $natural.
Result<std::vector<Bson>> sorted_entries(EngineImpl& e, OplogStore& store, const CommandContext& c, const FindRequest& r) {
  FindRequest plain = r;
  plain.sort = Bson();
  plain.skip = 0;
  plain.limit = -1;
  plain.projection = Bson();
  MS_ASSIGN_OR_RETURN(OplogScanSpec s, scan_spec(e, c, plain));
  OplogScanner scan(store, s);
  std::vector<Bson> docs;
  {
    std::shared_lock lk(store.mu);
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, scan.next_locked());
      if (!d) break;
      docs.push_back(std::move(*d));
    }
  }
  MS_ASSIGN_OR_RETURN(auto sp, mql::SortPattern::parse(r.sort.get()));
  std::stable_sort(docs.begin(), docs.end(), [&](const Bson& a, const Bson& b) { return sp.compare(a.get(), b.get()) < 0; });
  std::vector<Bson> out;
  std::shared_ptr<const mql::Projection> proj;
  if (!r.projection.empty()) {
    MS_ASSIGN_OR_RETURN(auto p, mql::Projection::parse(r.projection.get(), r.filter.get(), s.qctx->ectx));
    proj = std::shared_ptr<const mql::Projection>(std::move(p));
  }
  for (size_t i = static_cast<size_t>(std::max<int64_t>(0, r.skip)); i < docs.size(); ++i) {
    if (r.limit > 0 && static_cast<int64_t>(out.size()) >= r.limit) break;
    if (proj) {
      MS_ASSIGN_OR_RETURN(Bson p, proj->apply(docs[i].get(), nullptr));
      out.push_back(std::move(p));
    } else {
      out.push_back(std::move(docs[i]));
    }
  }
  return out;
}

}  // namespace

Status run_find_on_oplog(EngineImpl& e, const CommandContext& c, const FindRequest& r, bson_t* reply) {
  OplogStore* store = oplog_store(e);
  auto cursor = std::make_shared<Cursor>();
  cursor->ns = "local.oplog.rs";
  cursor->db = "local";
  cursor->getmore_coll = "oplog.rs";
  cursor->tailable = r.tailable;
  cursor->await_data = r.await_data;
  cursor->no_timeout = r.no_cursor_timeout;
  if (!store) {
    cursor->source = std::make_unique<VectorCursorSource>(std::vector<Bson>{});
    return e.reply_with_cursor(cursor, r.batch_size, r.single_batch, r.max_time_ms, reply);
  }
  auto spec = scan_spec(e, c, r);
  if (!spec.ok() && spec.status().code() == common::kNotImplemented) {
    MS_ASSIGN_OR_RETURN(auto docs, sorted_entries(e, *store, c, r));
    cursor->source = std::make_unique<VectorCursorSource>(std::move(docs));
  } else {
    if (!spec.ok()) return spec.status();
    cursor->source = std::make_unique<OplogFindSource>(e, *store, std::move(spec).value());
  }
  return e.reply_with_cursor(cursor, r.batch_size, r.single_batch, r.max_time_ms, reply);
}

Result<int64_t> count_oplog(EngineImpl& e, const CommandContext& c, const FindRequest& r) {
  OplogStore* store = oplog_store(e);
  if (!store) return int64_t{0};
  FindRequest plain = r;
  plain.sort = Bson();
  MS_ASSIGN_OR_RETURN(OplogScanSpec s, scan_spec(e, c, plain));
  OplogScanner scan(*store, s);
  std::shared_lock lk(store->mu);
  if (!s.matcher && r.skip == 0 && r.limit < 0) return static_cast<int64_t>(store->records().size());
  int64_t n = 0;
  while (true) {
    MS_ASSIGN_OR_RETURN(auto d, scan.next_locked());
    if (!d) break;
    ++n;
  }
  return n;
}

std::unique_ptr<mql::DocumentSource> make_oplog_input(EngineImpl& e, std::shared_ptr<QueryContext> qctx,
                                                      const bson_t* filter) {
  OplogStore* store = oplog_store(e);
  if (!store) return mql::make_vector_source({});
  OplogScanSpec s;
  s.qctx = qctx;
  if (filter && !bson_empty(filter)) {
    auto m = mql::Matcher::parse(filter, qctx->ectx);
    if (m.ok() && !(*m)->matches_everything()) s.matcher = std::shared_ptr<const mql::Matcher>(std::move(m).value());
    s.start = ts_lower_bound(filter);
  }
  return std::make_unique<OplogInput>(*store, std::move(s));
}

Bson oplog_collection_info(EngineImpl& e) {
  OplogStore* store = oplog_store(e);
  bson_t d = BSON_INITIALIZER, opts, info;
  common::append_utf8(&d, "name", "oplog.rs");
  common::append_utf8(&d, "type", "collection");
  bson_append_document_begin(&d, "options", -1, &opts);
  bson_append_bool(&opts, "capped", -1, true);
  bson_append_double(&opts, "size", -1, static_cast<double>(store ? store->max_bytes() : 0));
  bson_append_bool(&opts, "autoIndexId", -1, false);
  bson_append_document_end(&d, &opts);
  bson_append_document_begin(&d, "info", -1, &info);
  bson_append_bool(&info, "readOnly", -1, false);
  const std::string& u = oplog_uuid(e);
  bson_append_binary(&info, "uuid", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(u.data()), 16);
  bson_append_document_end(&d, &info);
  return Bson::steal(&d);
}

int64_t oplog_count(EngineImpl& e) {
  OplogStore* store = oplog_store(e);
  if (!store) return 0;
  std::shared_lock lk(store->mu);
  return static_cast<int64_t>(store->records().size());
}

void append_oplog_stats(EngineImpl& e, int64_t scale, bson_t* out) {
  OplogStore* store = oplog_store(e);
  int64_t size = 0, count = 0, max = 0;
  if (store) {
    std::shared_lock lk(store->mu);
    size = store->size_bytes();
    count = static_cast<int64_t>(store->records().size());
    max = store->max_bytes();
  }
  bson_append_int64(out, "size", -1, size / scale);
  bson_append_int64(out, "count", -1, count);
  bson_append_int64(out, "avgObjSize", -1, count ? size / count : 0);
  bson_append_int64(out, "storageSize", -1, std::max<int64_t>(4096, size / 2) / scale);
  bson_append_int64(out, "freeStorageSize", -1, 0);
  bson_append_bool(out, "capped", -1, true);
  bson_append_int64(out, "max", -1, 0);
  bson_append_int64(out, "maxSize", -1, max / scale);
  bson_append_int64(out, "nindexes", -1, 0);
  bson_t ib, sizes;
  bson_append_array_begin(out, "indexBuilds", -1, &ib);
  bson_append_array_end(out, &ib);
  bson_append_int64(out, "totalIndexSize", -1, 0);
  bson_append_int64(out, "totalSize", -1, std::max<int64_t>(4096, size / 2) / scale);
  bson_append_document_begin(out, "indexSizes", -1, &sizes);
  bson_append_document_end(out, &sizes);
  bson_append_int64(out, "scaleFactor", -1, scale);
}

}  // namespace sim::engine
