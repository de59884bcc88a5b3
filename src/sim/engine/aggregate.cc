// aggregate, views and explain (mongodb-reference.md §3.3, §3.8): the engine's PipelineHost
// (collection input through the planner, $lookup equality through indexes, $out, $merge,
// $collStats, $indexStats), views resolved into pipelines, and find/count/distinct on views.
#include <fmt/format.h>

#include <mutex>
#include <shared_mutex>

#include "mql/compare.h"
#include "mql/pipeline.h"
#include "sim/engine/args.h"
#include "sim/engine/catalog_ops.h"
#include "sim/engine/change_stream.h"
#include "sim/engine/find_source.h"
#include "sim/engine/oplog_read.h"
#include "sim/engine/search_index.h"
#include "sim/engine/session.h"
#include "sim/engine/timeseries.h"
#include "sim/engine/views.h"
#include "sim/engine/write_path.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr int kMaxViewDepth = 20;

Bson concat_arrays(const bson_t* a, const bson_t* b) {
  bson_t out = BSON_INITIALIZER;
  uint32_t i = 0;
  char buf[16];
  for (const bson_t* src : {a, b}) {
    if (!src) continue;
    bson_iter_t it;
    bson_iter_init(&it, src);
    while (bson_iter_next(&it)) {
      auto k = common::array_key(i++, buf);
      bson_append_iter(&out, k.data(), static_cast<int>(k.size()), &it);
    }
  }
  return Bson::steal(&out);
}

void append_stage(bson_t* arr, uint32_t* i, const char* name, const bson_t* doc) {
  char buf[16];
  auto k = common::array_key((*i)++, buf);
  bson_t st;
  bson_append_document_begin(arr, k.data(), static_cast<int>(k.size()), &st);
  bson_append_document(&st, name, -1, doc);
  bson_append_document_end(arr, &st);
}

void append_stage_int(bson_t* arr, uint32_t* i, const char* name, int64_t v) {
  char buf[16];
  auto k = common::array_key((*i)++, buf);
  bson_t st;
  bson_append_document_begin(arr, k.data(), static_cast<int>(k.size()), &st);
  bson_append_int64(&st, name, -1, v);
  bson_append_document_end(arr, &st);
}

}  // namespace

Result<ResolvedView> resolve_view(EngineImpl& e, const std::string& db, const std::string& name) {
  ResolvedView rv;
  rv.db = db;
  std::vector<Bson> pipelines;
  std::string cur = name;
  bool first = true;
  int depth = 0;
  while (auto v = e.catalog.find_view(db, cur)) {
    if (++depth > kMaxViewDepth) {
      return Status(common::kViewDepthLimitExceeded,
                    fmt::format("View depth too deep or view cycle detected; maximum depth is {}", kMaxViewDepth));
    }
    if (first) {
      rv.collator = v->collator;
      rv.collation_spec = v->collation_spec;
      first = false;
    }
    pipelines.push_back(v->pipeline);
    cur = v->view_on;
  }
  rv.base = cur;
  // Innermost view's stages run first.
  bson_t empty = BSON_INITIALIZER;
  Bson all = Bson::steal(&empty);
  for (auto it = pipelines.rbegin(); it != pipelines.rend(); ++it) all = concat_arrays(all.get(), it->get());
  rv.pipeline = std::move(all);
  return rv;
}

namespace {

class EngineHost;

// Streams a pipeline's output into batches.
class PipelineCursorSource : public CursorSource {
 public:
  PipelineCursorSource(std::shared_ptr<QueryContext> qctx, std::unique_ptr<EngineHost> host,
                       std::unique_ptr<mql::Pipeline> pipeline, std::unique_ptr<mql::DocumentSource> out)
      : qctx_(std::move(qctx)), host_(std::move(host)), pipeline_(std::move(pipeline)), out_(std::move(out)) {}
  ~PipelineCursorSource() override;

  Status fill(BatchWriter& w, bool* eof, Clock::time_point deadline) override {
    *eof = false;
    if (pending_) {
      if (!w.fits(pending_->size())) return Status::OK();
      w.add(*pending_);
      pending_.reset();
    }
    while (!w.full()) {
      if (Clock::now() > deadline) return Status(common::kMaxTimeMSExpired, "operation exceeded time limit");
      MS_ASSIGN_OR_RETURN(auto d, out_->next());
      if (!d) {
        *eof = true;
        return Status::OK();
      }
      if (!w.fits(d->size())) {
        pending_ = std::move(*d);
        return Status::OK();
      }
      w.add(*d);
    }
    return Status::OK();
  }

 private:
  std::shared_ptr<QueryContext> qctx_;
  std::unique_ptr<EngineHost> host_;
  std::unique_ptr<mql::Pipeline> pipeline_;
  std::unique_ptr<mql::DocumentSource> out_;
  std::optional<Bson> pending_;
};

// A pipeline (and what it needs alive) run over a source, as one DocumentSource.
class OwnedPipelineSource : public mql::DocumentSource {
 public:
  OwnedPipelineSource(std::unique_ptr<mql::Pipeline> p, std::unique_ptr<mql::DocumentSource> out)
      : p_(std::move(p)), out_(std::move(out)) {}
  Result<std::optional<Bson>> next() override { return out_->next(); }

 private:
  std::unique_ptr<mql::Pipeline> p_;
  std::unique_ptr<mql::DocumentSource> out_;
};

class EngineHost : public mql::PipelineHost {
 public:
  EngineHost(EngineImpl& e, std::shared_ptr<QueryContext> qctx, WriteContext wc)
      : e_(e), qctx_(std::move(qctx)), wc_(std::move(wc)) {}

  // $listLocalSessions (session.h), $listSearchIndexes (search_index.h),
  // $_internalUnpackBucket (timeseries.h), $changeStream and $changeStreamSplitLargeEvent (change_stream.h).
  Result<std::unique_ptr<mql::HostStage>> make_host_stage(std::string_view name, const bson_iter_t* spec,
                                                          const mql::ExpressionContext& ctx) override {
    MS_ASSIGN_OR_RETURN(auto session_stage, session_host_stage(e_, name, spec));
    if (session_stage) return session_stage;
    MS_ASSIGN_OR_RETURN(auto search_stage, search_index_host_stage(e_, name));
    if (search_stage) return search_stage;
    MS_ASSIGN_OR_RETURN(auto unpack_stage, timeseries_host_stage(name, spec));
    if (unpack_stage) return unpack_stage;
    return make_change_stream_stage(e_, name, spec, ctx, &change_stream_);
  }
  const std::shared_ptr<ChangeStreamState>& change_stream() const { return change_stream_; }

  Result<std::unique_ptr<mql::DocumentSource>> open_collection(const std::string& db, const std::string& coll) override {
    return open_filtered(db, coll, nullptr, 0);
  }

  Result<std::unique_ptr<mql::DocumentSource>> open_filtered(const std::string& db, const std::string& coll,
                                                             const bson_t* filter, int depth) {
    if (e_.catalog.find_view(db, coll)) {
      MS_ASSIGN_OR_RETURN(ResolvedView rv, resolve_view(e_, db, coll));
      mql::ExpressionContext ectx = qctx_->ectx;
      ectx.db = db;
      ectx.collator = rv.collator;
      MS_ASSIGN_OR_RETURN(auto p, mql::Pipeline::parse(rv.pipeline.get(), ectx, this));
      MS_ASSIGN_OR_RETURN(auto input, open_filtered(db, rv.base, p->leading_match(), depth + 1));
      MS_ASSIGN_OR_RETURN(auto out, p->run(std::move(input)));
      if (filter && !bson_empty(filter)) {
        // A caller's filter over a view's output: one more $match.
        bson_t arr = BSON_INITIALIZER;
        uint32_t i = 0;
        append_stage(&arr, &i, "$match", filter);
        Bson ab = Bson::steal(&arr);
        MS_ASSIGN_OR_RETURN(auto m, mql::Pipeline::parse(ab.get(), ectx, this));
        MS_ASSIGN_OR_RETURN(auto mout, m->run(std::make_unique<OwnedPipelineSource>(std::move(p), std::move(out))));
        return std::unique_ptr<mql::DocumentSource>(std::make_unique<OwnedPipelineSource>(std::move(m), std::move(mout)));
      }
      return std::unique_ptr<mql::DocumentSource>(std::make_unique<OwnedPipelineSource>(std::move(p), std::move(out)));
    }
    auto q = std::make_shared<QueryContext>(*qctx_);
    if (is_oplog_ns(db, coll)) return make_oplog_input(e_, q, filter);
    auto c = e_.catalog.find(db, coll);
    if (!c) return mql::make_vector_source({});
    return make_collection_input(e_, c, q, filter);
  }

  Result<std::unique_ptr<mql::DocumentSource>> find_equal(const std::string& db, const std::string& coll,
                                                          const std::string& path, const std::vector<mql::Value>& values,
                                                          const mql::ExpressionContext& ctx) override {
    // Regex values must match regex values literally, which a query cannot say: scan.
    for (const auto& v : values) {
      if (v.type() == BSON_TYPE_REGEX) return mql::PipelineHost::find_equal(db, coll, path, values, ctx);
    }
    bson_t f = BSON_INITIALIZER, cond, arr;
    bson_append_document_begin(&f, path.c_str(), static_cast<int>(path.size()), &cond);
    bson_append_array_begin(&cond, "$in", 3, &arr);
    char buf[16];
    uint32_t i = 0;
    for (const auto& v : values) v.append_to(&arr, common::array_key(i++, buf));
    bson_append_array_end(&cond, &arr);
    bson_append_document_end(&f, &cond);
    Bson filter = Bson::steal(&f);
    auto q = std::make_shared<QueryContext>(*qctx_);
    q->ectx.collator = ctx.collator;
    if (e_.catalog.find_view(db, coll)) return open_filtered(db, coll, filter.get(), 0);
    auto c = e_.catalog.find(db, coll);
    if (!c) return mql::make_vector_source({});
    return make_collection_input(e_, c, q, filter.get());
  }

  Status replace_collection(const std::string& db, const std::string& coll, std::vector<Bson> docs) override {
    MS_RETURN_IF_ERROR(validate_collection_name(db, coll));
    if (is_system_collection(coll)) {
      return Status(17385, fmt::format("Can't $out to special collection: {}", coll));
    }
    if (e_.catalog.find_view(db, coll)) {
      return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", db, coll));
    }
    auto old = e_.catalog.find(db, coll);
    CollectionOptions opts;
    std::vector<IndexDescriptor> indexes;
    if (old) {
      std::shared_lock lk(old->mu);
      if (old->options().capped) return Status(17152, fmt::format("namespace '{}.{}' is capped so it can't be used for $out", db, coll));
      opts = old->options();
      for (const auto& ix : old->indexes()) {
        if (!ix->desc().is_id()) indexes.push_back(ix->desc());
      }
    }
    std::string tmp = "tmp.agg_out." + hex_uuid();
    MS_ASSIGN_OR_RETURN(auto t, e_.catalog.create_collection(db, tmp, opts));
    {
      std::unique_lock lk(t->mu);
      std::vector<IndexDescriptor> specs = indexes;
      for (auto& ix : indexes) MS_RETURN_IF_ERROR(t->add_index(std::move(ix)));
      if (t->observer() && !specs.empty()) t->observer()->on_create_indexes(*t, specs, true);
      for (const auto& d : docs) {
        auto ref = prepare_for_insert(d.get(), e_.version());
        Status st = ref.ok() ? t->insert(std::move(ref).value(), wc_).status() : ref.status();
        if (!st.ok()) {
          lk.unlock();
          e_.catalog.drop_collection(db, tmp);
          return st;
        }
      }
    }
    Status st = e_.catalog.rename_collection(db, tmp, db, coll, true, false);
    if (!st.ok()) e_.catalog.drop_collection(db, tmp);
    return st;
  }

  Status merge_document(const mql::MergeSpec& spec, const bson_t* doc, const bson_t* let_values,
                        const mql::ExpressionContext& ctx) override {
    MS_RETURN_IF_ERROR(validate_collection_name(spec.db, spec.coll));
    if (e_.catalog.find_view(spec.db, spec.coll)) {
      return Status(common::kCommandNotSupportedOnView,
                    fmt::format("Namespace {}.{} is a view, not a collection", spec.db, spec.coll));
    }
    std::shared_ptr<Collection> coll = e_.catalog.find(spec.db, spec.coll);
    if (!coll) {
      if (spec.on_specified && !(spec.on.size() == 1 && spec.on[0] == "_id")) {
        return Status(51183, "Cannot find index to verify that join fields will be unique");
      }
      if (spec.when_not_matched != mql::MergeSpec::WhenNotMatched::kInsert) {
        if (spec.when_not_matched == mql::MergeSpec::WhenNotMatched::kFail) {
          return Status(13113, "$merge could not find a matching document in the target collection for at least one "
                               "document in the source collection");
        }
        return Status::OK();
      }
      MS_ASSIGN_OR_RETURN(coll, e_.catalog.get_or_create(spec.db, spec.coll));
    }
    std::unique_lock lk(coll->mu);
    if (spec.on_specified && !(spec.on.size() == 1 && spec.on[0] == "_id")) {
      bool found = false;
      for (const auto& ix : coll->indexes()) {
        const auto& d = ix->desc();
        if (!d.unique || !d.partial_filter.empty() || d.parts.size() != spec.on.size()) continue;
        bool all = true;
        for (const auto& f : spec.on) {
          bool in = false;
          for (const auto& p : d.parts) in = in || p.path.dotted() == f;
          all = all && in;
        }
        if (all && mql::same_collation(d.collator.get(), ctx.coll())) found = true;
      }
      if (!found) return Status(51183, "Cannot find index to verify that join fields will be unique");
    }
    if (spec.when_matched == mql::MergeSpec::WhenMatched::kFail &&
        spec.when_not_matched == mql::MergeSpec::WhenNotMatched::kInsert) {
      // The server's fail/insert strategy is a plain insert: a match surfaces as the unique
      // index's DuplicateKey, with its keyPattern and keyValue.
      MS_ASSIGN_OR_RETURN(DocRef ref, prepare_for_insert(doc, e_.version()));
      return coll->insert(std::move(ref), wc_).status();
    }
    bson_t f = BSON_INITIALIZER;
    for (const auto& field : spec.on) {
      bson_iter_t it;
      if (mql::lookup(doc, field, &it)) {
        bson_t eq;
        bson_append_document_begin(&f, field.c_str(), static_cast<int>(field.size()), &eq);
        bson_append_iter(&eq, "$eq", 3, &it);
        bson_append_document_end(&f, &eq);
      }
    }
    Bson filter = Bson::steal(&f);
    auto q = std::make_shared<QueryContext>(*qctx_);
    q->ectx.collator = ctx.collator;
    MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(filter.get(), q->ectx));
    std::shared_ptr<const mql::Matcher> matcher(std::move(m));
    MS_ASSIGN_OR_RETURN(auto rids, matching_records(*coll, filter.get(), matcher, *q, nullptr, false, nullptr, true));
    if (rids.empty()) {
      switch (spec.when_not_matched) {
        case mql::MergeSpec::WhenNotMatched::kDiscard: return Status::OK();
        case mql::MergeSpec::WhenNotMatched::kFail:
          return Status(13113, "$merge could not find a matching document in the target collection for at least one "
                               "document in the source collection");
        case mql::MergeSpec::WhenNotMatched::kInsert: {
          MS_ASSIGN_OR_RETURN(DocRef ref, prepare_for_insert(doc, e_.version()));
          return coll->insert(std::move(ref), wc_).status();
        }
      }
    }
    const DocRef* existing = coll->find(rids[0]);
    bson_t ev = existing->view();
    MS_ASSIGN_OR_RETURN(auto merged, mql::merge_matched(spec, &ev, doc, let_values, ctx));
    if (!merged) return Status::OK();
    // The target keeps its _id.
    bson_t out = BSON_INITIALIZER;
    bson_iter_t id;
    if (bson_iter_init_find(&id, &ev, "_id")) bson_append_iter(&out, "_id", 3, &id);
    bson_iter_t it;
    bson_iter_init(&it, merged->get());
    while (bson_iter_next(&it)) {
      if (std::string_view(bson_iter_key(&it)) == "_id") continue;
      bson_append_iter(&out, bson_iter_key(&it), -1, &it);
    }
    Bson nd = Bson::steal(&out);
    bson_iter_t nid;
    if (bson_iter_init_find(&nid, merged->get(), "_id") && bson_iter_init_find(&id, &ev, "_id") &&
        mql::compare_elements(&nid, &id) != 0) {
      return Status(common::kImmutableField,
                    "$merge failed to update the matching document, did you attempt to modify the _id or the shard key?");
    }
    if (nd.size() > 16 * 1024 * 1024) return Status(17419, "Resulting document after update is larger than 16777216");
    UpdateInfo how;
    how.kind = UpdateInfo::Kind::kReplacement;
    return coll->update(rids[0], DocRef::copy(nd.get()), how, wc_);
  }

  Result<std::vector<Bson>> coll_stats(const std::string& db, const std::string& coll, const bson_t* spec) override {
    auto c = e_.catalog.find(db, coll);
    bson_iter_t it;
    // local.oplog.rs is no Collection; its sizes come from the oplog store (mongosh's
    // db.getReplicationInfo() reads storageStats.maxSize here).
    const bool oplog = !c && is_oplog_ns(db, coll) && oplog_store(e_);
    if (!c && !oplog) {
      if (bson_iter_init_find(&it, spec, "storageStats") || bson_iter_init_find(&it, spec, "count")) {
        return Status(common::kNamespaceNotFound, fmt::format("Unable to retrieve storageStats in $collStats stage :: caused "
                                                              "by :: Collection [{}.{}] not found.",
                                                              db, coll));
      }
    }
    bson_t d = BSON_INITIALIZER;
    common::append_utf8(&d, "ns", ns_of(db, coll));
    common::append_utf8(&d, "host", e_.server.host_and_port);
    bson_append_date_time(&d, "localTime", -1, wall_now_ms());
    if (bson_iter_init_find(&it, spec, "latencyStats")) {
      bson_t ls, one;
      bson_append_document_begin(&d, "latencyStats", -1, &ls);
      for (const char* k : {"reads", "writes", "commands", "transactions"}) {
        bson_append_document_begin(&ls, k, -1, &one);
        bson_append_int64(&one, "latency", -1, 0);
        bson_append_int64(&one, "ops", -1, 0);
        bson_append_document_end(&ls, &one);
      }
      bson_append_document_end(&d, &ls);
    }
    if (c || oplog) {
      std::shared_lock<std::shared_mutex> lk;
      if (c) lk = std::shared_lock(c->mu);
      if (bson_iter_init_find(&it, spec, "storageStats")) {
        int64_t scale = 1;
        bson_iter_t sc;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &sc) && bson_iter_find(&sc, "scale") &&
            BSON_ITER_HOLDS_NUMBER(&sc)) {
          scale = std::max<int64_t>(1, bson_iter_as_int64(&sc));
        }
        bson_t ss;
        bson_append_document_begin(&d, "storageStats", -1, &ss);
        if (c) {
          append_storage_stats(*c, scale, &ss);
        } else {
          append_oplog_stats(e_, scale, &ss);
        }
        bson_append_document_end(&d, &ss);
      }
      if (bson_iter_init_find(&it, spec, "count")) {
        bson_append_int64(&d, "count", -1, c ? static_cast<int64_t>(c->count()) : oplog_count(e_));
      }
    }
    if (bson_iter_init_find(&it, spec, "queryExecStats")) {
      bson_t qs, cs;
      bson_append_document_begin(&d, "queryExecStats", -1, &qs);
      bson_append_document_begin(&qs, "collectionScans", -1, &cs);
      bson_append_int64(&cs, "total", -1, 0);
      bson_append_int64(&cs, "nonTailable", -1, 0);
      bson_append_document_end(&qs, &cs);
      bson_append_document_end(&d, &qs);
    }
    std::vector<Bson> out;
    out.push_back(Bson::steal(&d));
    return out;
  }

  Result<std::vector<Bson>> index_stats(const std::string& db, const std::string& coll) override {
    std::vector<Bson> out;
    auto c = e_.catalog.find(db, coll);
    if (!c) return out;
    std::shared_lock lk(c->mu);
    for (const auto& ix : c->indexes()) {
      bson_t d = BSON_INITIALIZER, acc;
      common::append_utf8(&d, "name", ix->desc().name);
      bson_append_document(&d, "key", -1, ix->desc().key.get());
      common::append_utf8(&d, "host", e_.server.host_and_port);
      bson_append_document_begin(&d, "accesses", -1, &acc);
      bson_append_int64(&acc, "ops", -1, 0);
      bson_append_date_time(&acc, "since", -1, e_.server.start_time_ms);
      bson_append_document_end(&d, &acc);
      bson_append_document(&d, "spec", -1, ix->desc().spec.get());
      out.push_back(Bson::steal(&d));
    }
    return out;
  }

 private:
  static std::string hex_uuid() {
    std::string u = new_uuid();
    std::string out;
    for (unsigned char ch : u) out += fmt::format("{:02x}", ch);
    return out;
  }

  EngineImpl& e_;
  std::shared_ptr<QueryContext> qctx_;
  WriteContext wc_;
  std::shared_ptr<ChangeStreamState> change_stream_;
};

PipelineCursorSource::~PipelineCursorSource() {
  // The output chain refers to the pipeline and the host: release it first.
  out_.reset();
  pipeline_.reset();
  host_.reset();
}

struct AggregateRequest {
  std::string db, coll;  // coll empty for {aggregate: 1}
  Bson pipeline;
  int64_t batch_size = -1;
  bool explain = false;
  int64_t max_time_ms = 0;
};

Result<AggregateRequest> parse_aggregate(const CommandContext& c) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::reject_let_before_50(c.server.options.version(), body, "aggregate", args::LetParser::kAggregate));
  MS_RETURN_IF_ERROR(args::check(
      body, "aggregate",
      {{"pipeline", Type::kArray}, {"cursor", Type::kObject}, {"explain", Type::kBool}, {"allowDiskUse", Type::kBool},
       {"bypassDocumentValidation", Type::kBool}, {"collation", Type::kObjectOrNull}, {"hint", Type::kHint},
       {"let", Type::kObject}, {"fromMongos", Type::kBool}, {"needsMerge", Type::kBool}, {"$_isMapReduceCommand", Type::kBool},
       {"isMapReduceCommand", Type::kBool}, {"exchange", Type::kObject}, {"runtimeConstants", Type::kObject},
       {"collectionUUID", Type::kAny}, {"$_requestReshardingResumeToken", Type::kBool}, {"isClusterQueryWithoutShardKeyCmd", Type::kBool},
       {"$_generateV2ResumeTokens", Type::kBool}, {"encryptionInformation", Type::kAny}, {"sampleId", Type::kAny},
       {"$_passthroughToShard", Type::kAny}, {"isHybridSearch", Type::kBool}}));
  AggregateRequest r;
  r.db = c.req.db;
  MS_RETURN_IF_ERROR(validate_db_name(r.db));
  bson_iter_t it;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  if (BSON_ITER_HOLDS_UTF8(&it)) {
    r.coll = bson_iter_utf8(&it, nullptr);
    MS_RETURN_IF_ERROR(validate_collection_name(r.db, r.coll));
  } else if (BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_double(&it) == 1.0) {
    r.coll.clear();
  } else {
    return Status(common::kFailedToParse, fmt::format("Invalid command format: the 'aggregate' field must specify a "
                                                      "collection name or 1"));
  }
  auto p = args::array(body, "pipeline");
  if (!p) return Status(40414, "BSON field 'aggregate.pipeline' is missing but a required field");
  r.pipeline = Bson(p->get());
  r.explain = args::flag(body, "explain");
  auto cur = args::object(body, "cursor");
  if (!cur && !r.explain) {
    return Status(common::kFailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  if (cur) {
    bson_iter_t bs;
    if (bson_iter_init_find(&bs, cur->get(), "batchSize")) {
      if (!BSON_ITER_HOLDS_NUMBER(&bs)) return args::wrong_type("aggregate.cursor", "batchSize", &bs, "[long, int, decimal, double]");
      r.batch_size = bson_iter_as_int64(&bs);
      if (r.batch_size < 0) {
        return Status(51024, fmt::format("BSON field 'batchSize' value must be >= 0, actual value '{}'", r.batch_size));
      }
    }
  }
  MS_ASSIGN_OR_RETURN(r.max_time_ms, args::max_time_ms(body));
  return r;
}

// $out and $merge refuse a linearizable read concern (document_source_out.h,
// document_source_merge.h: supportsReadConcern), naming the stage.
Status check_output_read_concern(const CommandContext& c, const bson_t* pipeline) {
  bson_iter_t rc, level;
  if (!bson_iter_init_find(&rc, c.body(), "readConcern") || !BSON_ITER_HOLDS_DOCUMENT(&rc) ||
      !bson_iter_recurse(&rc, &level) || !bson_iter_find(&level, "level") || !BSON_ITER_HOLDS_UTF8(&level) ||
      std::string_view(bson_iter_utf8(&level, nullptr)) != "linearizable") {
    return Status::OK();
  }
  std::string stage = "$out";
  bson_iter_t it, st;
  if (bson_iter_init(&it, pipeline)) {
    while (bson_iter_next(&it)) {
      if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &st) && bson_iter_next(&st)) stage = bson_iter_key(&st);
    }
  }
  return Status(common::kInvalidOptions, fmt::format("{} cannot be used with a 'linearizable' read concern level", stage));
}

// Runs `pipeline` over db.coll (resolving views) and returns the cursor source, or writes the
// output ($out/$merge) and returns null.
Result<std::unique_ptr<CursorSource>> run_pipeline(EngineImpl& e, const CommandContext& c, const std::string& db,
                                                   const std::string& coll, const bson_t* user_pipeline,
                                                   bool aggregate_one, std::shared_ptr<QueryContext>* qctx_out,
                                                   bool* wrote_output) {
  MS_RETURN_IF_ERROR(check_change_stream_request(e, c, db, coll, user_pipeline));
  std::string base = coll;
  Bson pipeline(user_pipeline);
  mql::CollatorPtr default_collator;
  bool on_view = false;
  Bson view_collation;
  if (!aggregate_one && e.catalog.find_view(db, coll)) {
    MS_ASSIGN_OR_RETURN(ResolvedView rv, resolve_view(e, db, coll));
    base = rv.base;
    pipeline = concat_arrays(rv.pipeline.get(), user_pipeline);
    default_collator = rv.collator;
    on_view = true;
  }
  std::shared_ptr<Collection> target = aggregate_one ? nullptr : e.catalog.find(db, base);
  if (!on_view && target) default_collator = target->options().collator;
  MS_ASSIGN_OR_RETURN(auto qctx, e.query_context(c, default_collator.get(), default_collator));
  if (on_view) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, c.body(), "collation") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        !mql::same_collation(qctx->ectx.coll(), default_collator.get())) {
      return Status(common::kOptionNotSupportedOnView, "Cannot override a view's default collation");
    }
  }
  bson_iter_t adu;
  if (common::find_field(c.body(), "allowDiskUse", &adu)) qctx->ectx.allow_disk_use = common::value_truthy(&adu);
  qctx->ectx.collection = aggregate_one ? "" : coll;
  auto host = std::make_unique<EngineHost>(e, qctx, write_context(c));
  MS_ASSIGN_OR_RETURN(auto p, mql::Pipeline::parse(pipeline.get(), qctx->ectx, host.get()));
  MS_RETURN_IF_ERROR(p->check_namespace(aggregate_one));
  if (p->writes_output()) MS_RETURN_IF_ERROR(check_output_read_concern(c, user_pipeline));
  std::unique_ptr<mql::DocumentSource> input;
  if (!p->is_collectionless_source() && !aggregate_one) {
    if (is_oplog_ns(db, base)) {
      input = make_oplog_input(e, qctx, p->leading_match());
    } else if (target) {
      input = make_collection_input(e, target, qctx, p->leading_match());
    } else {
      input = mql::make_vector_source({});
    }
  }
  MS_ASSIGN_OR_RETURN(auto out, p->run(std::move(input)));
  *qctx_out = qctx;
  if (p->writes_output()) {
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, out->next());
      if (!d) break;
    }
    *wrote_output = true;
    return std::unique_ptr<CursorSource>();
  }
  *wrote_output = false;
  if (auto cs = host->change_stream()) {
    // The stream's cursor owns the pipeline and host (released in reverse order, after its
    // output chain).
    struct Parts {
      std::shared_ptr<QueryContext> qctx;
      std::unique_ptr<EngineHost> host;
      std::unique_ptr<mql::Pipeline> pipeline;
    };
    auto parts = std::make_shared<Parts>(Parts{qctx, std::move(host), std::move(p)});
    return make_change_stream_cursor(e, c, cs, std::move(out), parts);
  }
  return std::unique_ptr<CursorSource>(
      std::make_unique<PipelineCursorSource>(qctx, std::move(host), std::move(p), std::move(out)));
}

Status cmd_aggregate(EngineImpl& e, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(AggregateRequest r, parse_aggregate(c));
  bool one = r.coll.empty();
  if (r.explain) {
    bson_t qp;
    bson_append_document_begin(reply, "queryPlanner", -1, &qp);
    common::append_utf8(&qp, "namespace", one ? r.db + ".$cmd.aggregate" : ns_of(r.db, r.coll));
    bson_t wp;
    bson_append_document_begin(&qp, "winningPlan", -1, &wp);
    common::append_utf8(&wp, "stage", "COLLSCAN");
    bson_append_document_end(&qp, &wp);
    bson_t rej;
    bson_append_array_begin(&qp, "rejectedPlans", -1, &rej);
    bson_append_array_end(&qp, &rej);
    bson_append_document_end(reply, &qp);
    bson_append_array(reply, "stages", -1, r.pipeline.get());
    return Status::OK();
  }
  std::shared_ptr<QueryContext> qctx;
  bool wrote = false;
  MS_ASSIGN_OR_RETURN(auto src, run_pipeline(e, c, r.db, r.coll, r.pipeline.get(), one, &qctx, &wrote));
  std::string ns = one ? r.db + ".$cmd.aggregate" : ns_of(r.db, r.coll);
  if (wrote) {
    bson_t cur, arr;
    bson_append_document_begin(reply, "cursor", -1, &cur);
    bson_append_array_begin(&cur, "firstBatch", -1, &arr);
    bson_append_array_end(&cur, &arr);
    bson_append_int64(&cur, "id", -1, 0);
    common::append_utf8(&cur, "ns", ns);
    bson_append_document_end(reply, &cur);
    return finish_write_reply(c, e.version(), reply);
  }
  auto cursor = std::make_shared<Cursor>();
  cursor->ns = ns;
  cursor->db = r.db;
  cursor->getmore_coll = one ? "$cmd.aggregate" : r.coll;
  bson_iter_t it;
  if (bson_iter_init_find(&it, c.body(), "lsid") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    cursor->lsid = Bson(data, len);
  }
  if (is_change_stream_cursor(src.get())) {
    cursor->tailable = cursor->await_data = true;
    cursor->originating_command = Bson(c.body());
  }
  cursor->source = std::move(src);
  return e.reply_with_cursor(cursor, r.batch_size, false, r.max_time_ms, reply);
}

// The stages find's options become on a view.
Result<Bson> find_as_pipeline(const FindRequest& r, bool with_projection) {
  if (r.tailable || !r.min.empty() || !r.max.empty() || r.return_key || r.show_record_id) {
    return Status(common::kOptionNotSupportedOnView, "Option not supported on a view");
  }
  bson_t arr = BSON_INITIALIZER;
  uint32_t i = 0;
  if (!r.filter.empty()) append_stage(&arr, &i, "$match", r.filter.get());
  if (!r.sort.empty()) append_stage(&arr, &i, "$sort", r.sort.get());
  if (r.skip > 0) append_stage_int(&arr, &i, "$skip", r.skip);
  if (r.limit > 0) append_stage_int(&arr, &i, "$limit", r.limit);
  if (with_projection && !r.projection.empty()) append_stage(&arr, &i, "$project", r.projection.get());
  return Bson::steal(&arr);
}

}  // namespace

Status validate_view_pipeline(EngineImpl& e, const std::string& db, const Bson& pipeline) {
  auto qctx = std::make_shared<QueryContext>();
  qctx->ectx.version = e.version();
  qctx->ectx.db = db;
  EngineHost host(e, qctx, WriteContext{});
  MS_ASSIGN_OR_RETURN(auto p, mql::Pipeline::parse(pipeline.get(), qctx->ectx, &host));
  if (p->writes_output()) {
    return Status(common::kOptionNotSupportedOnView, "$out and $merge stages are not allowed in view definitions");
  }
  return Status::OK();
}

Status run_find_on_view(EngineImpl& e, const CommandContext& c, const FindRequest& r, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(Bson stages, find_as_pipeline(r, true));
  std::shared_ptr<QueryContext> qctx;
  bool wrote = false;
  MS_ASSIGN_OR_RETURN(auto src, run_pipeline(e, c, r.db, r.coll, stages.get(), false, &qctx, &wrote));
  auto cursor = std::make_shared<Cursor>();
  cursor->ns = ns_of(r.db, r.coll);
  cursor->db = r.db;
  cursor->getmore_coll = r.coll;
  cursor->no_timeout = r.no_cursor_timeout;
  cursor->source = std::move(src);
  return e.reply_with_cursor(cursor, r.batch_size, r.single_batch, r.max_time_ms, reply);
}

Result<std::vector<Bson>> docs_on_view(EngineImpl& e, const CommandContext& c, const FindRequest& r,
                                       std::shared_ptr<QueryContext>* qctx) {
  FindRequest only_filter = r;
  only_filter.sort = Bson();
  only_filter.projection = Bson();
  MS_ASSIGN_OR_RETURN(Bson stages, find_as_pipeline(only_filter, false));
  bool wrote = false;
  MS_ASSIGN_OR_RETURN(auto src, run_pipeline(e, c, r.db, r.coll, stages.get(), false, qctx, &wrote));
  std::vector<Bson> out;
  bson_t arr = BSON_INITIALIZER;
  while (true) {
    BatchWriter w(&arr, 1000, SIZE_MAX);
    bool eof = false;
    MS_RETURN_IF_ERROR(src->fill(w, &eof, Clock::time_point::max()));
    bson_iter_t it;
    bson_iter_init(&it, &arr);
    while (bson_iter_next(&it)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      out.emplace_back(data, len);
    }
    bson_reinit(&arr);
    if (eof) break;
  }
  bson_destroy(&arr);
  return out;
}

Result<int64_t> count_on_view(EngineImpl& e, const CommandContext& c, const FindRequest& r) {
  std::shared_ptr<QueryContext> qctx;
  MS_ASSIGN_OR_RETURN(auto docs, docs_on_view(e, c, r, &qctx));
  int64_t n = static_cast<int64_t>(docs.size());
  (void)qctx;
  return n;
}

namespace {

// explain: the chosen plan for the wrapped command's query (queryPlanner verbosity and, for
// executionStats/allPlansExecution, the counts of a real run).
Status cmd_explain(EngineImpl& e, CommandContext& c, bson_t* reply) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, c.body(), "explain") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
    return Status(common::kFailedToParse, "explain command requires a nested object");
  }
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&it, &len, &data);
  bson_t inner;
  bson_init_static(&inner, data, len);
  bson_iter_t first;
  bson_iter_init(&first, &inner);
  if (!bson_iter_next(&first)) return Status(common::kFailedToParse, "explain command requires a nested object");
  std::string cmd = bson_iter_key(&first);
  std::string verbosity = "allPlansExecution";
  if (auto v = args::string(c.body(), "verbosity")) verbosity = *v;
  if (verbosity != "queryPlanner" && verbosity != "executionStats" && verbosity != "allPlansExecution") {
    return Status(common::kFailedToParse, fmt::format("verbosity string must be one of {{'queryPlanner', 'executionStats', "
                                                      "'allPlansExecution'}}"));
  }
  std::string coll = BSON_ITER_HOLDS_UTF8(&first) ? bson_iter_utf8(&first, nullptr) : "";
  Bson filter;
  const char* filter_field = cmd == "find" ? "filter" : cmd == "count" || cmd == "distinct" || cmd == "findAndModify" ? "query" : nullptr;
  if (filter_field) {
    if (auto f = args::object(&inner, filter_field)) filter = Bson(f->get());
  }
  if (cmd == "update" || cmd == "delete") {
    if (auto a = args::array(&inner, cmd == "update" ? "updates" : "deletes")) {
      bson_iter_t s;
      bson_iter_init(&s, a->get());
      if (bson_iter_next(&s) && BSON_ITER_HOLDS_DOCUMENT(&s)) {
        bson_iter_t q;
        if (bson_iter_recurse(&s, &q) && bson_iter_find(&q, "q") && BSON_ITER_HOLDS_DOCUMENT(&q)) {
          bson_iter_document(&q, &len, &data);
          filter = Bson(data, len);
        }
      }
    }
  }
  if (cmd == "aggregate") {
    if (auto p = args::array(&inner, "pipeline")) {
      bson_iter_t s;
      bson_iter_init(&s, p->get());
      if (bson_iter_next(&s) && BSON_ITER_HOLDS_DOCUMENT(&s)) {
        bson_iter_t m;
        if (bson_iter_recurse(&s, &m) && bson_iter_find(&m, "$match") && BSON_ITER_HOLDS_DOCUMENT(&m)) {
          bson_iter_document(&m, &len, &data);
          filter = Bson(data, len);
        }
      }
    }
  } else if (cmd != "find" && cmd != "count" && cmd != "distinct" && cmd != "update" && cmd != "delete" &&
             cmd != "findAndModify" && cmd != "findandmodify") {
    return Status(common::kCommandNotFound, fmt::format("Explain failed due to unknown command: {}", cmd));
  }
  std::string ns = ns_of(c.req.db, coll);
  auto target = e.catalog.find(c.req.db, coll);
  std::string stage = "EOF";
  Bson key_pattern;
  std::string index_name;
  int64_t returned = 0, docs_examined = 0, keys_examined = 0;
  if (target) {
    auto q = std::make_shared<QueryContext>();
    q->ectx.version = e.version();
    q->ectx.collator = target->options().collator;
    std::shared_ptr<const mql::Matcher> matcher;
    if (!filter.empty()) {
      MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(filter.get(), q->ectx));
      matcher = std::shared_ptr<const mql::Matcher>(std::move(m));
    }
    std::shared_lock lk(target->mu);
    PlanRequest pr;
    pr.filter = filter.empty() ? nullptr : filter.get();
    pr.collator = q->ectx.coll();
    bson_iter_t hint;
    if (common::find_field(&inner, "hint", &hint)) pr.hint = bson_iter_value(&hint);
    MS_ASSIGN_OR_RETURN(Plan plan, plan_query(*target, pr));
    stage = plan.kind == Plan::Kind::kCollScan ? "COLLSCAN" : plan.kind == Plan::Kind::kEof ? "EOF" : plan.is_id_lookup ? "IDHACK" : "IXSCAN";
    key_pattern = plan.key_pattern;
    index_name = plan.index_name;
    if (verbosity != "queryPlanner") {
      Scanner sc(plan, matcher);
      DocRef d;
      int64_t rid;
      while (sc.next(*target, &d, &rid)) ++returned;
      docs_examined = sc.examined();
      keys_examined = sc.keys_examined();
    }
  }
  bson_append_utf8(reply, "explainVersion", -1, "1", 1);
  bson_t qp, wp, input, rej;
  bson_append_document_begin(reply, "queryPlanner", -1, &qp);
  common::append_utf8(&qp, "namespace", ns);
  bson_append_document(&qp, "parsedQuery", -1, filter.get());
  bson_append_document_begin(&qp, "winningPlan", -1, &wp);
  if (stage == "IXSCAN") {
    common::append_utf8(&wp, "stage", "FETCH");
    if (!filter.empty()) bson_append_document(&wp, "filter", -1, filter.get());
    bson_append_document_begin(&wp, "inputStage", -1, &input);
    common::append_utf8(&input, "stage", "IXSCAN");
    bson_append_document(&input, "keyPattern", -1, key_pattern.get());
    common::append_utf8(&input, "indexName", index_name);
    common::append_utf8(&input, "direction", "forward");
    bson_append_document_end(&wp, &input);
  } else {
    common::append_utf8(&wp, "stage", stage);
    if (stage == "COLLSCAN" && !filter.empty()) bson_append_document(&wp, "filter", -1, filter.get());
    if (stage == "COLLSCAN") common::append_utf8(&wp, "direction", "forward");
  }
  bson_append_document_end(&qp, &wp);
  bson_append_array_begin(&qp, "rejectedPlans", -1, &rej);
  bson_append_array_end(&qp, &rej);
  bson_append_document_end(reply, &qp);
  if (verbosity != "queryPlanner") {
    bson_t es;
    bson_append_document_begin(reply, "executionStats", -1, &es);
    bson_append_bool(&es, "executionSuccess", -1, true);
    bson_append_int64(&es, "nReturned", -1, returned);
    bson_append_int64(&es, "executionTimeMillis", -1, 0);
    bson_append_int64(&es, "totalKeysExamined", -1, keys_examined);
    bson_append_int64(&es, "totalDocsExamined", -1, docs_examined);
    bson_append_document_end(reply, &es);
  }
  bson_append_document(reply, "command", -1, &inner);
  bson_t si;
  bson_append_document_begin(reply, "serverInfo", -1, &si);
  auto colon = e.server.host_and_port.rfind(':');
  common::append_utf8(&si, "host", e.server.host_and_port.substr(0, colon));
  bson_append_int32(&si, "port", -1, colon == std::string::npos ? 0 : std::atoi(e.server.host_and_port.c_str() + colon + 1));
  common::append_utf8(&si, "version", e.server.options.full_version());
  common::append_utf8(&si, "gitVersion", "0000000000000000000000000000000000000000");
  bson_append_document_end(reply, &si);
  return Status::OK();
}

}  // namespace

void register_aggregate_commands(EngineImpl& e, CommandRegistry& r) {
  EngineImpl* ep = &e;
  r.add(engine_command("aggregate", [ep](CommandContext& c, bson_t* reply) { return cmd_aggregate(*ep, c, reply); }, false,
                       "Runs the aggregation command. See http://dochub.mongodb.org/core/aggregation for more details."));
  r.add(engine_command("explain", [ep](CommandContext& c, bson_t* reply) { return cmd_explain(*ep, c, reply); }, false,
                       "explain database reads and writes"));
}

}  // namespace sim::engine
