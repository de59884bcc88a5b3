// find, getMore, killCursors, count, distinct (mongodb-reference.md §3.2, §3.3).
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "mql/compare.h"
#include "mql/path.h"
#include "sim/auth/auth.h"
#include "sim/engine/args.h"
#include "sim/engine/find_source.h"
#include "sim/engine/key_string.h"
#include "sim/engine/oplog_read.h"
#include "sim/engine/views.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr size_t kSortMemoryLimit = 100 * 1024 * 1024;

Status max_time_expired() { return Status(common::kMaxTimeMSExpired, "operation exceeded time limit"); }

Clock::time_point deadline_after(int64_t ms) {
  return ms > 0 ? Clock::now() + std::chrono::milliseconds(ms) : Clock::time_point::max();
}

}  // namespace

FindSource::FindSource(EngineImpl& e, FindSpec spec)
    : e_(e), s_(std::move(spec)), scanner_(s_.plan, s_.matcher), skip_left_(s_.skip), limit_left_(s_.limit) {
  seen_version_ = e_.data_version();
}

Status FindSource::materialize_sorted() {
  // A blocking sort: every match, sorted by the pattern (stable, so ties keep scan order).
  size_t bytes = 0;
  DocRef d;
  int64_t rid = 0;
  while (scanner_.next(*s_.coll, &d, &rid)) {
    bytes += d.size();
    if (!s_.allow_disk_use && bytes > kSortMemoryLimit) {
      return Status(292, "Executor error during find command :: caused by :: Sort exceeded memory limit of 104857600 "
                         "bytes, but did not opt in to external sorting.");
    }
    sorted_.emplace_back(std::move(d), rid);
  }
  const mql::Collator* coll = s_.qctx->ectx.coll();
  std::vector<mql::SortKey> keys;
  keys.reserve(sorted_.size());
  for (auto& [doc, r] : sorted_) {
    bson_t v = doc.view();
    keys.push_back(s_.sort->key(&v, coll));
  }
  std::vector<size_t> order(sorted_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return s_.sort->compare_keys(keys[a], keys[b], coll) < 0; });
  std::vector<std::pair<DocRef, int64_t>> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(std::move(sorted_[i]));
  sorted_ = std::move(out);
  sorted_ready_ = true;
  return Status::OK();
}

Result<bool> FindSource::next_locked(DocRef* doc, Bson* owned, bool* is_owned) {
  while (true) {
    if (limit_left_ == 0) return false;
    int64_t rid = 0;
    mql::MatchDetails details;
    mql::MatchDetails* dp = s_.projection && s_.projection->needs_match_details() ? &details : nullptr;
    if (s_.sort && !s_.plan.provides_sort) {
      if (!sorted_ready_) MS_RETURN_IF_ERROR(materialize_sorted());
      if (sorted_pos_ >= sorted_.size()) return false;
      *doc = sorted_[sorted_pos_].first;
      rid = sorted_[sorted_pos_].second;
      ++sorted_pos_;
      if (dp && s_.matcher) {
        bson_t v = doc->view();
        s_.matcher->matches(&v, dp);
      }
    } else if (!scanner_.next(*s_.coll, doc, &rid, dp)) {
      return false;
    }
    if (skip_left_ > 0) {
      --skip_left_;
      continue;
    }
    if (limit_left_ > 0) --limit_left_;
    *is_owned = false;
    if (s_.return_key || s_.show_record_id || s_.projection) {
      bson_t view = doc->view();
      Bson shaped;
      if (s_.return_key) {
        // The index key of the scan, as {field: value}; empty for a collection scan.
        bson_t k = BSON_INITIALIZER;
        if (s_.plan.kind == Plan::Kind::kIndexScan) {
          const Index* ix = s_.coll->find_index(s_.plan.index_name);
          if (ix) {
            for (const auto& p : ix->desc().parts) {
              bson_iter_t it;
              if (mql::lookup(&view, p.path, &it)) {
                bson_append_iter(&k, p.path.dotted().c_str(), static_cast<int>(p.path.dotted().size()), &it);
              } else {
                bson_append_null(&k, p.path.dotted().c_str(), static_cast<int>(p.path.dotted().size()));
              }
            }
          }
        }
        shaped = Bson::steal(&k);
      } else if (s_.projection) {
        MS_ASSIGN_OR_RETURN(shaped, s_.projection->apply(&view, dp));
      } else {
        shaped = Bson(&view);
      }
      if (s_.show_record_id && !s_.return_key) {  // returnKey shows the key only
        bson_t with = BSON_INITIALIZER;
        bson_concat(&with, shaped.get());
        bson_append_int64(&with, "$recordId", -1, rid);
        shaped = Bson::steal(&with);
      }
      *owned = std::move(shaped);
      *is_owned = true;
    }
    return true;
  }
}

Status FindSource::fill(BatchWriter& out, bool* eof, Clock::time_point deadline) {
  *eof = false;
  if (finished_) {
    *eof = true;
    return Status::OK();
  }
  if (pending_) {
    if (!out.fits(pending_->size())) return Status::OK();
    out.add(*pending_);
    pending_.reset();
  }
  std::shared_lock lk(s_.coll->mu);
  if (s_.coll->dropped()) {
    return Status(common::kQueryPlanKilled, fmt::format("collection dropped. UUID: {}", s_.coll->ns()));
  }
  if (s_.tailable) {
    if (scanner_.position_lost(*s_.coll)) {
      return Status(common::kCappedPositionLost,
                    "CollectionScan died due to position in capped collection being deleted.");
    }
    scanner_.resume_tailable();
    seen_version_ = e_.data_version();
  }
  int n = 0;
  while (!out.full()) {
    if ((++n & 255) == 0 && Clock::now() > deadline) return max_time_expired();
    DocRef d;
    Bson owned;
    bool is_owned = false;
    MS_ASSIGN_OR_RETURN(bool got, next_locked(&d, &owned, &is_owned));
    if (!got) {
      // A tailable cursor lives on at the end of the collection, unless the collection has
      // no records at all (the server's shouldSaveCursor) or the limit is reached.
      if (!s_.tailable || limit_left_ == 0 || (!filled_once_ && s_.coll->count() == 0)) {
        finished_ = true;
        *eof = true;
      }
      break;
    }
    uint32_t len = is_owned ? owned.size() : d.size();
    if (!out.fits(len)) {
      pending_ = is_owned ? std::move(owned) : Bson(d.data(), d.size());
      break;
    }
    if (is_owned) {
      out.add(owned);
    } else {
      out.add(d);
    }
    if (limit_left_ == 0) {
      // The limit is reached: the cursor is exhausted now, not after one more getMore.
      finished_ = true;
      *eof = true;
      break;
    }
  }
  filled_once_ = true;
  return Status::OK();
}

void FindSource::wait_for_data(Clock::time_point deadline) { e_.wait_data(seen_version_, deadline); }

Result<std::optional<Bson>> FindSource::next_doc() {
  if (pending_) {
    Bson b = std::move(*pending_);
    pending_.reset();
    return std::optional<Bson>(std::move(b));
  }
  if (finished_) return std::optional<Bson>();
  std::shared_lock lk(s_.coll->mu);
  if (s_.coll->dropped()) {
    return Status(common::kQueryPlanKilled, fmt::format("collection dropped. UUID: {}", s_.coll->ns()));
  }
  DocRef d;
  Bson owned;
  bool is_owned = false;
  MS_ASSIGN_OR_RETURN(bool got, next_locked(&d, &owned, &is_owned));
  if (!got) {
    finished_ = true;
    return std::optional<Bson>();
  }
  if (is_owned) return std::optional<Bson>(std::move(owned));
  return std::optional<Bson>(Bson(d.data(), d.size()));
}

namespace {

// Reads a collection in chunks for a pipeline, releasing the lock between chunks.
class CollectionInput : public mql::DocumentSource {
 public:
  CollectionInput(EngineImpl& e, FindSpec spec) : src_(e, std::move(spec)) {}
  Result<std::optional<Bson>> next() override {
    if (pos_ < buf_.size()) return std::optional<Bson>(std::move(buf_[pos_++]));
    buf_.clear();
    pos_ = 0;
    if (done_) return std::optional<Bson>();
    // A chunk under one lock acquisition.
    for (int i = 0; i < 256; ++i) {
      MS_ASSIGN_OR_RETURN(auto d, src_.next_doc());
      if (!d) {
        done_ = true;
        break;
      }
      buf_.push_back(std::move(*d));
    }
    if (buf_.empty()) return std::optional<Bson>();
    return std::optional<Bson>(std::move(buf_[pos_++]));
  }

 private:
  FindSource src_;
  std::vector<Bson> buf_;
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<mql::DocumentSource> make_collection_input(EngineImpl& e, std::shared_ptr<Collection> coll,
                                                           std::shared_ptr<QueryContext> qctx, const bson_t* filter) {
  FindSpec spec;
  spec.coll = coll;
  spec.qctx = qctx;
  if (filter && !bson_empty(filter)) {
    auto m = mql::Matcher::parse(filter, qctx->ectx);
    if (m.ok()) spec.matcher = std::shared_ptr<const mql::Matcher>(std::move(m).value());
  }
  {
    std::shared_lock lk(coll->mu);
    PlanRequest pr;
    pr.filter = filter;
    pr.collator = qctx->ectx.coll();
    auto p = plan_query(*coll, pr);
    if (p.ok()) spec.plan = std::move(p).value();
  }
  return std::make_unique<CollectionInput>(e, std::move(spec));
}

namespace {

Result<FindRequest> parse_find(const CommandContext& c) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::reject_let_before_50(c.server.options.version(), body, "find", args::LetParser::kFind));
  MS_RETURN_IF_ERROR(args::check(
      body, "find",
      {{"filter", Type::kObjectOrNull},     {"projection", Type::kObjectOrNull}, {"sort", Type::kObjectOrNull},
       {"hint", Type::kHint},               {"skip", Type::kNonNegInt64},        {"limit", Type::kNonNegInt64},
       {"batchSize", Type::kNonNegInt64},   {"ntoreturn", Type::kNonNegInt64},   {"singleBatch", Type::kBool},
       {"allowDiskUse", Type::kBool},       {"min", Type::kObjectOrNull},        {"max", Type::kObjectOrNull},
       {"returnKey", Type::kBool},          {"showRecordId", Type::kBool},       {"tailable", Type::kBool},
       {"oplogReplay", Type::kAny},         {"noCursorTimeout", Type::kBool},    {"awaitData", Type::kBool},
       {"allowPartialResults", Type::kBool}, {"let", Type::kObject},             {"options", Type::kObject},
       {"term", Type::kInt64},              {"readOnce", Type::kBool},           {"allowSpeculativeMajorityRead", Type::kBool},
       {"$_requestResumeToken", Type::kBool}, {"$_resumeAfter", Type::kObjectOrNull}, {"collation", Type::kObjectOrNull},
       {"runtimeConstants", Type::kObject}, {"collectionUUID", Type::kAny},      {"$queryOptions", Type::kObjectOrNull},
       {"showRecordId", Type::kBool},       {"isTimeseriesNamespace", Type::kBool}}));
  FindRequest r;
  r.db = c.req.db;
  MS_ASSIGN_OR_RETURN(r.coll, args::collection_name(body, "find"));
  auto take = [&](const char* key, Bson* out) {
    if (auto o = args::object(body, key)) *out = Bson(o->get());
  };
  take("filter", &r.filter);
  take("projection", &r.projection);
  take("sort", &r.sort);
  take("min", &r.min);
  take("max", &r.max);
  take("collation", &r.collation);
  take("let", &r.let);
  take("hint", &r.hint_doc);
  r.hint_name = args::string(body, "hint");
  r.skip = args::int64(body, "skip").value_or(0);
  r.limit = args::int64(body, "limit").value_or(0);
  if (r.limit == 0) r.limit = -1;
  r.batch_size = args::int64(body, "batchSize").value_or(-1);
  r.single_batch = args::flag(body, "singleBatch");
  r.tailable = args::flag(body, "tailable");
  r.await_data = args::flag(body, "awaitData");
  r.no_cursor_timeout = args::flag(body, "noCursorTimeout");
  r.return_key = args::flag(body, "returnKey");
  r.show_record_id = args::flag(body, "showRecordId");
  r.allow_disk_use = args::flag(body, "allowDiskUse", true);
  MS_ASSIGN_OR_RETURN(r.max_time_ms, args::max_time_ms(body));
  if (r.await_data && !r.tailable) {
    return Status(common::kFailedToParse, "Cannot set 'awaitData' without also setting 'tailable'");
  }
  if (r.tailable && r.single_batch) {
    return Status(common::kFailedToParse, "Cannot set both 'tailable' and 'singleBatch'");
  }
  if (r.tailable && !r.sort.empty()) {
    bson_iter_t it;
    bool natural = bson_iter_init(&it, r.sort.get()) && bson_iter_next(&it) &&
                   std::string_view(bson_iter_key(&it)) == "$natural" && bson_count_keys(r.sort.get()) == 1;
    if (!natural) return Status(common::kBadValue, "cannot use tailable option with a sort other than {$natural: 1}");
  }
  return r;
}

void append_empty_cursor(bson_t* reply, const std::string& ns) {
  bson_t cur, arr;
  bson_append_document_begin(reply, "cursor", -1, &cur);
  bson_append_array_begin(&cur, "firstBatch", -1, &arr);
  bson_append_array_end(&cur, &arr);
  bson_append_int64(&cur, "id", -1, 0);
  common::append_utf8(&cur, "ns", ns);
  bson_append_document_end(reply, &cur);
}

}  // namespace

Result<FindSpec> build_find_spec(EngineImpl& e, const CommandContext& c, const FindRequest& r,
                                 std::shared_ptr<Collection> coll) {
  FindSpec s;
  s.coll = coll;
  MS_ASSIGN_OR_RETURN(s.qctx, e.query_context(c, coll->collator(), coll->options().collator));
  if (!r.filter.empty()) {
    MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(r.filter.get(), s.qctx->ectx));
    if (!m->matches_everything()) s.matcher = std::shared_ptr<const mql::Matcher>(std::move(m));
  }
  if (!r.projection.empty() && !r.return_key) {
    MS_ASSIGN_OR_RETURN(auto p, mql::Projection::parse(r.projection.get(), r.filter.get(), s.qctx->ectx));
    s.projection = std::shared_ptr<const mql::Projection>(std::move(p));
  }
  if (!r.sort.empty()) {
    MS_ASSIGN_OR_RETURN(auto sp, mql::SortPattern::parse(r.sort.get(), mql::SortPattern::Syntax::kFind));
    if (!sp.empty()) s.sort = std::move(sp);
  }
  s.skip = r.skip;
  s.limit = r.limit;
  s.return_key = r.return_key;
  s.show_record_id = r.show_record_id;
  s.tailable = r.tailable;
  s.allow_disk_use = r.allow_disk_use;
  std::shared_lock lk(coll->mu);
  PlanRequest pr;
  pr.filter = r.filter.empty() ? nullptr : r.filter.get();
  pr.sort = s.sort ? &*s.sort : nullptr;
  bson_value_t hint_v;
  if (r.hint_name) {
    hint_v.value_type = BSON_TYPE_UTF8;
    hint_v.value.v_utf8.str = const_cast<char*>(r.hint_name->c_str());
    hint_v.value.v_utf8.len = static_cast<uint32_t>(r.hint_name->size());
    pr.hint = &hint_v;
  } else if (!r.hint_doc.empty()) {
    hint_v.value_type = BSON_TYPE_DOCUMENT;
    hint_v.value.v_doc.data = const_cast<uint8_t*>(r.hint_doc.data());
    hint_v.value.v_doc.data_len = r.hint_doc.size();
    pr.hint = &hint_v;
  }
  pr.min = r.min.empty() ? nullptr : r.min.get();
  pr.max = r.max.empty() ? nullptr : r.max.get();
  pr.collator = s.qctx->ectx.coll();
  pr.tailable = r.tailable;
  MS_ASSIGN_OR_RETURN(s.plan, plan_query(*coll, pr));
  return s;
}

namespace {

// Parses the filter, projection and sort of a find with the default (simple) collation.
Status check_find_query(EngineImpl& e, const CommandContext& c, const FindRequest& r) {
  MS_ASSIGN_OR_RETURN(auto qctx, e.query_context(c, nullptr, nullptr));
  if (!r.filter.empty()) MS_RETURN_IF_ERROR(mql::Matcher::parse(r.filter.get(), qctx->ectx).status());
  if (!r.projection.empty() && !r.return_key) {
    MS_RETURN_IF_ERROR(mql::Projection::parse(r.projection.get(), r.filter.get(), qctx->ectx).status());
  }
  if (!r.sort.empty()) {
    MS_RETURN_IF_ERROR(mql::SortPattern::parse(r.sort.get(), mql::SortPattern::Syntax::kFind).status());
  }
  return Status::OK();
}

Status cmd_find(EngineImpl& e, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(FindRequest r, parse_find(c));
  MS_RETURN_IF_ERROR(validate_collection_name(r.db, r.coll));
  std::string ns = ns_of(r.db, r.coll);
  if (is_oplog_ns(r.db, r.coll)) return run_find_on_oplog(e, c, r, reply);
  if (e.catalog.find_view(r.db, r.coll)) return run_find_on_view(e, c, r, reply);
  auto coll = e.catalog.find(r.db, r.coll);
  if (!coll) {
    // The server parses the query before it looks for the collection: a bad filter,
    // projection or sort fails even on a missing collection.
    MS_RETURN_IF_ERROR(check_find_query(e, c, r));
    append_empty_cursor(reply, ns);
    return Status::OK();
  }
  if (r.tailable && !coll->options().capped) {
    return Status(common::kBadValue, fmt::format("error processing query: ns={} tailable cursor requested on non capped "
                                                 "collection",
                                                 ns));
  }
  MS_ASSIGN_OR_RETURN(FindSpec spec, build_find_spec(e, c, r, coll));
  auto cursor = std::make_shared<Cursor>();
  cursor->ns = ns;
  cursor->db = r.db;
  cursor->getmore_coll = r.coll;
  cursor->tailable = r.tailable;
  cursor->await_data = r.await_data;
  cursor->no_timeout = r.no_cursor_timeout;
  bson_iter_t it;
  if (common::find_field(c.body(), "lsid", &it) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    cursor->lsid = Bson(data, len);
  }
  cursor->source = std::make_unique<FindSource>(e, std::move(spec));
  e.server.opcounters.query.fetch_add(0);
  return e.reply_with_cursor(cursor, r.batch_size, r.single_batch, r.max_time_ms, reply);
}

Status cmd_get_more(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  bson_iter_t it;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  if (!BSON_ITER_HOLDS_INT64(&it)) return args::wrong_type("getMore", "getMore", &it, "long");
  int64_t id = bson_iter_int64(&it);
  MS_RETURN_IF_ERROR(args::check(body, "getMore",
                                 {{"collection", Type::kString}, {"batchSize", Type::kNonNegInt64},
                                  {"term", Type::kInt64}, {"lastKnownCommittedOpTime", Type::kObject},
                                  {"includeQueryStatsMetrics", Type::kBool}}));
  auto coll_name = args::string(body, "collection");
  if (!coll_name) return Status(40414, "BSON field 'getMore.collection' is missing but a required field");
  bson_iter_t mt;
  bool has_max_time = common::find_field(body, "maxTimeMS", &mt);
  MS_ASSIGN_OR_RETURN(int64_t max_time, args::max_time_ms(body));
  int64_t batch_size = args::int64(body, "batchSize").value_or(0);
  MS_ASSIGN_OR_RETURN(auto cursor, e.cursors.checkout(id));
  struct Release {
    EngineImpl& e;
    std::shared_ptr<Cursor>& c;
    ~Release() { e.cursors.release(c); }
  } release{e, cursor};
  if (cursor->db != c.req.db || cursor->getmore_coll != *coll_name) {
    return Status(common::kUnauthorized,
                  fmt::format("Requested getMore on namespace '{}', but cursor belongs to a different namespace {}",
                              ns_of(c.req.db, *coll_name), cursor->ns));
  }
  MS_RETURN_IF_ERROR(sim::auth::check_cursor_access(c.client, c.req, id, cursor->owner, cursor->ns));
  if (has_max_time && !cursor->await_data) {
    return Status(common::kBadValue, "cannot set maxTimeMS on getMore command for a non-awaitData cursor");
  }
  bson_t cur, arr;
  bson_t tmp = BSON_INITIALIZER;
  bson_append_array_begin(&tmp, "nextBatch", -1, &arr);
  BatchWriter w(&arr, batch_size > 0 ? static_cast<size_t>(batch_size) : SIZE_MAX, kMaxBatchBytes);
  bool eof = false;
  Clock::time_point await_deadline =
      Clock::now() + std::chrono::milliseconds(cursor->await_data ? (has_max_time ? max_time : 1000) : 0);
  Status st = cursor->source->fill(w, &eof, cursor->await_data ? Clock::time_point::max() : deadline_after(0));
  while (st.ok() && !eof && w.count() == 0 && cursor->await_data && !cursor->killed && !e.server.shutting_down &&
         Clock::now() < await_deadline) {
    cursor->source->wait_for_data(await_deadline);
    st = cursor->source->fill(w, &eof, Clock::time_point::max());
  }
  bson_append_array_end(&tmp, &arr);
  if (!st.ok()) {
    bson_destroy(&tmp);
    e.cursors.erase(cursor->id);
    return st;
  }
  if (cursor->killed) {
    bson_destroy(&tmp);
    e.cursors.erase(cursor->id);
    return Status(common::kCursorNotFound, fmt::format("cursor id {} not found", id));
  }
  bson_append_document_begin(reply, "cursor", -1, &cur);
  bson_iter_t bi;
  common::find_field(&tmp, "nextBatch", &bi);
  bson_append_iter(&cur, "nextBatch", -1, &bi);
  bson_destroy(&tmp);
  cursor->source->append_cursor_fields(&cur);
  bson_append_int64(&cur, "id", -1, eof ? 0 : id);
  common::append_utf8(&cur, "ns", cursor->ns);
  bson_append_document_end(reply, &cur);
  if (eof) e.cursors.erase(id);
  return Status::OK();
}

Status cmd_kill_cursors(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  MS_RETURN_IF_ERROR(args::check(body, "killCursors", {{"cursors", args::Type::kArray}}));
  MS_ASSIGN_OR_RETURN(std::string coll, args::collection_name(body, "killCursors"));
  auto ids = args::array(body, "cursors");
  if (!ids) return Status(40414, "BSON field 'killCursors.cursors' is missing but a required field");
  std::vector<int64_t> killed, not_found;
  bson_iter_t it;
  bson_iter_init(&it, ids->get());
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_INT64(&it)) {
      return Status(common::kTypeMismatch,
                    fmt::format("BSON field 'killCursors.cursors.{}' is the wrong type '{}', expected type 'long'",
                                bson_iter_key(&it), common::type_alias(bson_iter_type(&it))));
    }
    int64_t id = bson_iter_int64(&it);
    if (auto open = e.cursors.find(id)) MS_RETURN_IF_ERROR(sim::auth::check_cursor_access(c.client, c.req, id, open->owner, open->ns));
  }
  bson_iter_init(&it, ids->get());
  while (bson_iter_next(&it)) {
    int64_t id = bson_iter_int64(&it);
    (e.cursors.kill(id) ? killed : not_found).push_back(id);
  }
  auto put = [&](const char* key, const std::vector<int64_t>& v) {
    bson_t a;
    bson_append_array_begin(reply, key, -1, &a);
    char buf[16];
    for (size_t i = 0; i < v.size(); ++i) {
      auto k = common::array_key(static_cast<uint32_t>(i), buf);
      bson_append_int64(&a, k.data(), static_cast<int>(k.size()), v[i]);
    }
    bson_append_array_end(reply, &a);
  };
  put("cursorsKilled", killed);
  put("cursorsNotFound", not_found);
  put("cursorsAlive", {});
  put("cursorsUnknown", {});
  (void)coll;
  return Status::OK();
}

// count: matching documents after skip and limit; without a query, the collection's count.
Status cmd_count(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(body, "count",
                                 {{"query", Type::kObjectOrNull}, {"limit", Type::kInt64}, {"skip", Type::kNonNegInt64},
                                  {"hint", Type::kHint}, {"collation", Type::kObjectOrNull}, {"fields", Type::kAny},
                                  {"encryptionInformation", Type::kAny}, {"mirrored", Type::kBool},
                                  {"sampleId", Type::kAny}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "count"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  FindRequest r;
  r.db = c.req.db;
  r.coll = name;
  if (auto q = args::object(body, "query")) r.filter = Bson(q->get());
  if (auto h = args::object(body, "hint")) r.hint_doc = Bson(h->get());
  r.hint_name = args::string(body, "hint");
  if (auto co = args::object(body, "collation")) r.collation = Bson(co->get());
  r.skip = args::int64(body, "skip").value_or(0);
  int64_t limit = args::int64(body, "limit").value_or(0);
  r.limit = limit == 0 ? -1 : (limit < 0 ? -limit : limit);
  if (is_oplog_ns(r.db, name)) {
    MS_ASSIGN_OR_RETURN(int64_t n, count_oplog(e, c, r));
    bson_append_int32(reply, "n", -1, static_cast<int32_t>(n));
    return Status::OK();
  }
  if (e.catalog.find_view(r.db, name)) {
    MS_ASSIGN_OR_RETURN(int64_t n, count_on_view(e, c, r));
    bson_append_int32(reply, "n", -1, static_cast<int32_t>(n));
    return Status::OK();
  }
  auto coll = e.catalog.find(r.db, name);
  int64_t n = 0;
  if (coll) {
    if (r.filter.empty() && r.hint_doc.empty() && !r.hint_name) {
      std::shared_lock lk(coll->mu);
      n = std::max<int64_t>(0, static_cast<int64_t>(coll->count()) - r.skip);
      if (r.limit > 0) n = std::min(n, r.limit);
    } else {
      MS_ASSIGN_OR_RETURN(FindSpec spec, build_find_spec(e, c, r, coll));
      FindSource src(e, std::move(spec));
      while (true) {
        MS_ASSIGN_OR_RETURN(auto d, src.next_doc());
        if (!d) break;
        ++n;
      }
    }
  }
  if (n > INT32_MAX) {
    bson_append_int64(reply, "n", -1, n);
  } else {
    bson_append_int32(reply, "n", -1, static_cast<int32_t>(n));
  }
  return Status::OK();
}

// distinct: values of `key` across matching documents, arrays unwound one level, each value
// once (by the collation), in BSON order as the server's ordered set returns them.
Status cmd_distinct(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(body, "distinct",
                                 {{"key", Type::kString}, {"query", Type::kObjectOrNull},
                                  {"collation", Type::kObjectOrNull}, {"hint", Type::kHint},
                                  {"mirrored", Type::kBool}, {"sampleId", Type::kAny}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "distinct"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  auto key = args::string(body, "key");
  if (!key) return Status(40414, "BSON field 'distinct.key' is missing but a required field");
  FindRequest r;
  r.db = c.req.db;
  r.coll = name;
  if (auto q = args::object(body, "query")) r.filter = Bson(q->get());
  if (auto co = args::object(body, "collation")) r.collation = Bson(co->get());
  if (auto h = args::object(body, "hint")) r.hint_doc = Bson(h->get());
  r.hint_name = args::string(body, "hint");
  std::vector<Bson> docs;
  std::shared_ptr<QueryContext> qctx;
  if (e.catalog.find_view(r.db, name)) {
    MS_ASSIGN_OR_RETURN(docs, docs_on_view(e, c, r, &qctx));
  } else if (auto coll = e.catalog.find(r.db, name)) {
    MS_ASSIGN_OR_RETURN(FindSpec spec, build_find_spec(e, c, r, coll));
    qctx = spec.qctx;
    FindSource src(e, std::move(spec));
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, src.next_doc());
      if (!d) break;
      docs.push_back(std::move(*d));
    }
  }
  const mql::Collator* coll = qctx ? qctx->ectx.coll() : nullptr;
  auto less = [coll](const mql::Value& a, const mql::Value& b) { return mql::compare_values(&a.raw(), &b.raw(), coll) < 0; };
  std::set<mql::Value, decltype(less)> values(less);
  mql::FieldPath path(*key);
  size_t bytes = 0;
  for (const auto& d : docs) {
    auto visit = [&](const mql::PathHit& h) {
      if (!h.it) return false;
      // An array at the end of the path contributes its elements, not itself (its
      // elements were reported before it).
      if (bson_iter_type(h.it) == BSON_TYPE_ARRAY && !h.leaf_element) return false;
      auto [pos, inserted] = values.insert(mql::Value::from_iter(h.it));
      if (inserted) bytes += 16;
      return false;
    };
    mql::traverse(d.get(), path, true, visit);
  }
  bson_t arr;
  bson_append_array_begin(reply, "values", -1, &arr);
  uint32_t i = 0;
  char buf[16];
  for (const auto& v : values) v.append_to(&arr, common::array_key(i++, buf));
  bson_append_array_end(reply, &arr);
  if (arr.len > 16 * 1024 * 1024) {
    return Status(17217, "distinct too big, 16mb cap");
  }
  (void)bytes;
  return Status::OK();
}

}  // namespace

void register_find_commands(EngineImpl& e, CommandRegistry& r) {
  EngineImpl* ep = &e;
  r.add(engine_command("find", [ep](CommandContext& c, bson_t* reply) { return cmd_find(*ep, c, reply); }, false,
                       "query for documents"));
  r.add(engine_command("getMore", [ep](CommandContext& c, bson_t* reply) { return cmd_get_more(*ep, c, reply); }, false,
                       "retrieve more results from an existing cursor"));
  r.add(engine_command("killCursors", [ep](CommandContext& c, bson_t* reply) { return cmd_kill_cursors(*ep, c, reply); },
                       false, "Kill a list of cursor ids"));
  r.add(engine_command("count", [ep](CommandContext& c, bson_t* reply) { return cmd_count(*ep, c, reply); }, false,
                       "count objects in collection"));
  r.add(engine_command("distinct", [ep](CommandContext& c, bson_t* reply) { return cmd_distinct(*ep, c, reply); },
                       false, "{ distinct : 'collection name' , key : 'a.b' , query : {} }"));
}

}  // namespace sim::engine
