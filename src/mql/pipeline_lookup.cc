// Stages that read other collections or run sub-pipelines: $lookup, $graphLookup, $unionWith,
// $facet (server: document_source_lookup.cpp, document_source_graph_lookup.cpp,
// document_source_union_with.cpp, document_source_facet.cpp).
#include <algorithm>
#include <unordered_map>

#include "mql/compare.h"
#include "mql/matcher.h"
#include "mql/path.h"
#include "mql/pipeline_internal.h"
#include "mql/update_tostring.h"

namespace mql::pipe {

namespace {

// internalLookupStageIntermediateDocumentMaxSizeBytes.
constexpr size_t kLookupMaxBytes = 100 * 1024 * 1024;
// internalDocumentSourceGraphLookupMaxMemoryBytes.
constexpr size_t kGraphLookupMaxBytes = 100 * 1024 * 1024;

std::string elem_string(const bson_iter_t* it) {
  return mongo_elem_string(key_of(it), bson_iter_value(const_cast<bson_iter_t*>(it)));
}

// The server's variable-name rules for `let` (Variables::validateNameForUserWrite).
Status validate_let_name(std::string_view name) {
  if (name.empty()) return Status(16866, "empty variable names are not allowed");
  auto lower = [](char ch) { return ch >= 'a' && ch <= 'z'; };
  auto high = [](char ch) { return (static_cast<unsigned char>(ch) & 0x80) != 0; };
  if (!lower(name[0]) && !high(name[0])) {
    return Status(16867, "'" + std::string(name) + "' starts with an invalid character for a user variable name");
  }
  for (char ch : name.substr(1)) {
    if (!(lower(ch) || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || high(ch))) {
      return Status(16868, "'" + std::string(name) + "' contains an invalid character for a variable name: '" +
                               std::string(1, ch) + "'");
    }
  }
  return Status::OK();
}

// Every value reached by a query-semantics path (arrays expanded, the array itself not
// reported): what $lookup's localField and $graphLookup's connectFromField join on.
std::vector<Value> values_at_path(const bson_t* doc, const FieldPath& path) {
  std::vector<Value> out;
  auto visit = [&](const PathHit& h) {
    if (h.it && (h.leaf_element || bson_iter_type(h.it) != BSON_TYPE_ARRAY)) out.push_back(Value::from_iter(h.it));
    return false;
  };
  traverse(doc, path, true, visit);
  return out;
}

// Copies `doc` with `as` set to `v` (no array traversal on the way).
Bson with_field(const bson_t* doc, const FieldPath& as, Value v) {
  OutDoc out = OutDoc::from(doc);
  set_path(out, as, 0, std::move(v));
  return out.bson();
}

bool starts_with_documents(const bson_t* pipeline) {
  bson_iter_t it, st;
  return bson_iter_init(&it, pipeline) && bson_iter_next(&it) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
         bson_iter_recurse(&it, &st) && bson_iter_next(&st) && key_of(&st) == "$documents";
}

// ---- $lookup --------------------------------------------------------------------------------

class LookupStage : public Stage {
 public:
  LookupStage(const ParseState& ps) : Stage("$lookup"), ctx_(*ps.ctx), host_(ps.host), depth_(ps.depth) {}

  std::string from;  // "" with a $documents pipeline
  FieldPath as;
  std::optional<FieldPath> local;
  std::string foreign;
  std::optional<Bson> pipeline;  // the sub-pipeline array
  std::vector<std::pair<std::string, ExprPtr>> let;

  // A context for the sub-pipeline: the parent's, with the `let` names defined.
  std::unique_ptr<ExpressionContext> sub_context() const {
    auto c = std::make_unique<ExpressionContext>(ctx_);
    for (const auto& [name, e] : let) c->let[name] = Value::null();
    return c;
  }

  Result<StageList> parse_sub(const ExpressionContext& c) const {
    ParseState ps{&c, host_, Place::kLookup, depth_ + 1};
    return parse_stage_list(pipeline->get(), ps);
  }

  Result<SourcePtr> open(SourcePtr input) const override {
    if (!host_) return make_error_source(Status(common::kInternalError, "$lookup needs a pipeline host"));
    struct State {
      std::shared_ptr<DocumentSource> in;
      std::unique_ptr<ExpressionContext> sub_ctx;
      std::optional<StageList> sub;
      std::optional<std::vector<Value>> cached;  // an uncorrelated sub-pipeline's result
    };
    auto st = std::make_shared<State>();
    st->in = std::move(input);
    if (pipeline) {
      st->sub_ctx = sub_context();
      auto l = parse_sub(*st->sub_ctx);
      if (!l.ok()) return make_error_source(l.status());
      st->sub = std::move(l).value();
    }
    return make_gen_source([st, this]() -> Result<std::optional<Bson>> {
      MS_ASSIGN_OR_RETURN(auto d, st->in->next());
      if (!d) return d;
      MS_ASSIGN_OR_RETURN(std::vector<Value> matches, run_one(*st, d->get()));
      Bson out = with_field(d->get(), as, make_array(matches));
      return std::optional<Bson>(std::move(out));
    });
  }

 private:
  template <typename State>
  Result<std::vector<Value>> run_one(State& st, const bson_t* doc) const {
    const bool correlated = local || !let.empty();
    if (!correlated && st.cached) return *st.cached;
    for (const auto& [name, e] : let) {
      MS_ASSIGN_OR_RETURN(Value v, eval(*e, doc, ctx_));
      st.sub_ctx->let[name] = v.missing() ? Value() : std::move(v);
    }
    SourcePtr src;
    if (local) {
      std::vector<Value> keys = values_at_path(doc, *local);
      if (keys.empty()) keys.push_back(Value::null());  // missing joins on null
      MS_ASSIGN_OR_RETURN(src, host_->find_equal(ctx_.db, from, foreign, keys, ctx_));
    } else if (!from.empty()) {
      MS_ASSIGN_OR_RETURN(src, host_->open_collection(ctx_.db, from));
    }
    if (st.sub) {
      MS_ASSIGN_OR_RETURN(src, st.sub->run(std::move(src)));
    }
    std::vector<Value> out;
    size_t bytes = 0;
    while (true) {
      MS_ASSIGN_OR_RETURN(auto m, src->next());
      if (!m) break;
      bytes += m->size();
      if (bytes > kLookupMaxBytes) {
        return Status(4568, "Total size of documents in " + from + " matching pipeline's $lookup stage exceeds " +
                                std::to_string(kLookupMaxBytes) + " bytes");
      }
      out.push_back(value_of(*m));
    }
    if (!correlated) st.cached = out;
    return out;
  }

  const ExpressionContext& ctx_;
  PipelineHost* host_;
  int depth_;
};

Result<Stages> parse_lookup(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(common::kFailedToParse, "the $lookup specification must be an Object");
  }
  auto st = std::make_unique<LookupStage>(ps);
  std::string as, local, foreign;
  bool has_from = false, has_let = false;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "pipeline") {
      if (!BSON_ITER_HOLDS_ARRAY(&it)) {
        return Status(common::kFailedToParse, "'pipeline' option must be specified as an array");
      }
      bson_t arr;
      sub_doc(&it, &arr);
      st->pipeline = Bson(&arr);
      continue;
    }
    if (k == "let") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kFailedToParse, "$lookup argument '" + elem_string(&it) + "' must be an object, is type " +
                                                  type_name(bson_iter_type(&it)));
      }
      has_let = true;
      bson_t l;
      sub_doc(&it, &l);
      bson_iter_t v;
      bson_iter_init(&v, &l);
      while (bson_iter_next(&v)) {
        std::string name(key_of(&v));
        MS_RETURN_IF_ERROR(validate_let_name(name));
        MS_ASSIGN_OR_RETURN(auto e, Expression::parse(&v, ctx));
        st->let.emplace_back(std::move(name), std::move(e));
      }
      continue;
    }
    if (k == "from") {
      if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kFailedToParse, "$lookup with syntax {from: {db:<>, coll:<>},..} is not supported for db: " +
                                                  ctx.db + " and coll: ");
      }
      if (!BSON_ITER_HOLDS_UTF8(&it)) {
        return Status(common::kFailedToParse,
                      "$lookup 'from' field must be a string, but found " + type_name(bson_iter_type(&it)));
      }
      st->from = bson_iter_utf8(&it, nullptr);
      has_from = true;
      continue;
    }
    if (!BSON_ITER_HOLDS_UTF8(&it)) {
      return Status(common::kFailedToParse, "$lookup argument '" + elem_string(&it) + "' must be a string, is type " +
                                                type_name(bson_iter_type(&it)));
    }
    std::string v = bson_iter_utf8(&it, nullptr);
    if (k == "as") {
      as = v;
    } else if (k == "localField") {
      local = v;
    } else if (k == "foreignField") {
      foreign = v;
    } else {
      return Status(common::kFailedToParse, "unknown argument to $lookup: " + std::string(k));
    }
  }
  if (!has_from) {
    if (ctx.version < 60 || !st->pipeline || !starts_with_documents(st->pipeline->get())) {
      if (ctx.version < 60) return Status(common::kFailedToParse, "must specify 'from' field for a $lookup");
      return Status(common::kFailedToParse,
                    "$lookup stage without explicit collection must have a pipeline with $documents as first stage");
    }
  }
  if (as.empty()) return Status(common::kFailedToParse, "must specify 'as' field for a $lookup");
  if (st->pipeline) {
    if (!local.empty() || !foreign.empty()) {
      if (ctx.version < 50) {
        return Status(common::kFailedToParse, "$lookup with 'pipeline' may not specify 'localField' or 'foreignField'");
      }
      if (local.empty() || foreign.empty()) {
        return Status(common::kFailedToParse,
                      "$lookup requires both or neither of 'localField' and 'foreignField' to be specified");
      }
    }
  } else {
    if (local.empty() || foreign.empty()) {
      return Status(common::kFailedToParse,
                    "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified");
    }
    if (has_let) return Status(common::kFailedToParse, "$lookup with a 'let' argument must also specify 'pipeline'");
  }
  MS_RETURN_IF_ERROR(validate_field_path(as, ctx));
  st->as = FieldPath(as);
  if (!local.empty()) {
    MS_RETURN_IF_ERROR(validate_field_path(local, ctx));
    MS_RETURN_IF_ERROR(validate_field_path(foreign, ctx));
    st->local = FieldPath(local);
    st->foreign = foreign;
  }
  if (st->pipeline) {
    // Validate the sub-pipeline now; each run parses its own copy against its own `let`.
    auto c = st->sub_context();
    MS_ASSIGN_OR_RETURN(auto sub, st->parse_sub(*c));
    (void)sub;
  }
  Stages out;
  out.push_back(std::move(st));
  return out;
}

// ---- $graphLookup ---------------------------------------------------------------------------

class GraphLookupStage : public Stage {
 public:
  GraphLookupStage(const ParseState& ps) : Stage("$graphLookup"), ctx_(*ps.ctx), host_(ps.host) {}

  std::string from;
  FieldPath as, connect_from;
  std::string connect_to;
  ExprPtr start_with;
  std::optional<int64_t> max_depth;
  std::optional<FieldPath> depth_field;
  std::unique_ptr<Matcher> restrict_;

  Result<SourcePtr> open(SourcePtr input) const override {
    if (!host_) return make_error_source(Status(common::kInternalError, "$graphLookup needs a pipeline host"));
    std::shared_ptr<DocumentSource> in(std::move(input));
    return make_gen_source([in, this]() -> Result<std::optional<Bson>> {
      MS_ASSIGN_OR_RETURN(auto d, in->next());
      if (!d) return d;
      MS_ASSIGN_OR_RETURN(std::vector<Value> found, search(d->get()));
      return std::optional<Bson>(with_field(d->get(), as, make_array(found)));
    });
  }

 private:
  // Breadth-first search from startWith over connectFromField -> connectToField; every
  // document once (by _id), with its depth.
  Result<std::vector<Value>> search(const bson_t* doc) const {
    const Collator* coll = ctx_.coll();
    MS_ASSIGN_OR_RETURN(Value start, eval(*start_with, doc, ctx_));
    std::vector<Value> frontier;
    if (start.type() == BSON_TYPE_ARRAY) {
      frontier = array_elems(start);
    } else if (!start.missing()) {
      frontier.push_back(std::move(start));
    }
    std::vector<Value> out;
    std::unordered_multimap<uint64_t, Value> seen_ids;
    size_t bytes = 0;
    for (int64_t depth = 0; !frontier.empty() && (!max_depth || depth <= *max_depth); ++depth) {
      MS_ASSIGN_OR_RETURN(auto src, host_->find_equal(ctx_.db, from, connect_to, frontier, ctx_));
      std::vector<Value> next;
      while (true) {
        MS_ASSIGN_OR_RETURN(auto m, src->next());
        if (!m) break;
        if (restrict_ && !restrict_->matches(m->get())) continue;
        bson_iter_t idit;
        Value id = bson_iter_init_find(&idit, m->get(), "_id") ? Value::from_iter(&idit) : Value::null();
        uint64_t h = hash_value(&id.raw(), nullptr);
        bool dup = false;
        auto range = seen_ids.equal_range(h);
        for (auto r = range.first; r != range.second; ++r) {
          if (compare_values(&r->second.raw(), &id.raw(), nullptr) == 0) dup = true;
        }
        if (dup) continue;
        seen_ids.emplace(h, id);
        for (auto& v : values_at_path(m->get(), connect_from)) next.push_back(std::move(v));
        Bson res = depth_field ? with_field(m->get(), *depth_field, Value::int64(depth)) : std::move(*m);
        bytes += res.size();
        if (bytes > kGraphLookupMaxBytes && !ctx_.disk_use_allowed()) {
          return Status(146 /* ExceededMemoryLimit */,
                        "$graphLookup reached maximum memory consumption: " + std::to_string(kGraphLookupMaxBytes) +
                            " bytes");
        }
        out.push_back(value_of(res));
      }
      // Drop duplicate values from the next frontier.
      std::vector<Value> uniq;
      for (auto& v : next) {
        bool dup = std::any_of(uniq.begin(), uniq.end(),
                               [&](const Value& u) { return compare_values(&u.raw(), &v.raw(), coll) == 0; });
        if (!dup) uniq.push_back(std::move(v));
      }
      frontier = std::move(uniq);
    }
    return out;
  }

  const ExpressionContext& ctx_;
  PipelineHost* host_;
};

Result<Stages> parse_graph_lookup(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(common::kFailedToParse, "the $graphLookup stage specification must be an object, but found " +
                                              type_name(bson_iter_type(spec)));
  }
  auto st = std::make_unique<GraphLookupStage>(ps);
  std::string as, cfrom, cto, depth_field;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "startWith") {
      MS_ASSIGN_OR_RETURN(st->start_with, Expression::parse(&it, ctx));
      continue;
    }
    if (k == "maxDepth") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        return Status(40100, "maxDepth must be numeric, found type: " + type_name(bson_iter_type(&it)));
      }
      Value v = Value::from_iter(&it);
      int64_t d = v.as_int64();
      if (d < 0) return Status(40101, "maxDepth requires a nonnegative argument, found: " + std::to_string(d));
      if (static_cast<double>(d) != v.as_double()) {
        return Status(40102, "maxDepth could not be represented as a long long: " + std::to_string(d));
      }
      st->max_depth = d;
      continue;
    }
    if (k == "restrictSearchWithMatch") {
      bson_t f;
      if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !sub_doc(&it, &f)) {
        return Status(40185, "restrictSearchWithMatch must be an object, found " + type_name(bson_iter_type(&it)));
      }
      MS_ASSIGN_OR_RETURN(st->restrict_, Matcher::parse(&f, ctx));
      continue;
    }
    if (k == "from") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) {
        return Status(common::kFailedToParse,
                      "$graphLookup 'from' field must be a string, but found " + type_name(bson_iter_type(&it)));
      }
      st->from = bson_iter_utf8(&it, nullptr);
      continue;
    }
    if (!BSON_ITER_HOLDS_UTF8(&it)) {
      return Status(40103, "expected string as argument for " + std::string(k) + ", found: " +
                               mongo_value_string(bson_iter_value(&it)));
    }
    std::string v = bson_iter_utf8(&it, nullptr);
    if (k == "connectFromField") {
      cfrom = v;
    } else if (k == "connectToField") {
      cto = v;
    } else if (k == "as") {
      as = v;
    } else if (k == "depthField") {
      depth_field = v;
    } else {
      return Status(40104, "Unknown argument to $graphLookup: " + std::string(k));
    }
  }
  if (st->from.empty() || as.empty() || !st->start_with || cfrom.empty() || cto.empty()) {
    return Status(40105, "$graphLookup requires 'from', 'as', 'startWith', 'connectFromField', and 'connectToField' to "
                         "be specified.");
  }
  for (const auto* p : {&as, &cfrom, &cto}) MS_RETURN_IF_ERROR(validate_field_path(*p, ctx));
  st->as = FieldPath(as);
  st->connect_from = FieldPath(cfrom);
  st->connect_to = cto;
  if (!depth_field.empty()) {
    MS_RETURN_IF_ERROR(validate_field_path(depth_field, ctx));
    st->depth_field = FieldPath(depth_field);
  }
  Stages out;
  out.push_back(std::move(st));
  return out;
}

// ---- $unionWith -----------------------------------------------------------------------------

class UnionWithStage : public Stage {
 public:
  UnionWithStage(const ParseState& ps, std::string coll, StageList sub)
      : Stage("$unionWith"), ctx_(*ps.ctx), host_(ps.host), coll_(std::move(coll)), sub_(std::move(sub)) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    struct State {
      std::shared_ptr<DocumentSource> in;
      SourcePtr other;
      bool first_done = false;
    };
    auto st = std::make_shared<State>();
    st->in = std::move(input);
    return make_gen_source([st, this]() -> Result<std::optional<Bson>> {
      if (!st->first_done) {
        MS_ASSIGN_OR_RETURN(auto d, st->in->next());
        if (d) return d;
        st->first_done = true;
        SourcePtr src;
        if (!coll_.empty()) {
          if (!host_) return Status(common::kInternalError, "$unionWith needs a pipeline host");
          MS_ASSIGN_OR_RETURN(src, host_->open_collection(ctx_.db, coll_));
        }
        MS_ASSIGN_OR_RETURN(st->other, sub_.run(std::move(src)));
      }
      return st->other->next();
    });
  }

 private:
  const ExpressionContext& ctx_;
  PipelineHost* host_;
  std::string coll_;
  StageList sub_;
};

Result<Stages> parse_union_with(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  std::string coll;
  std::optional<bson_iter_t> pipeline;
  if (BSON_ITER_HOLDS_UTF8(spec)) {
    coll = bson_iter_utf8(spec, nullptr);
  } else if (BSON_ITER_HOLDS_DOCUMENT(spec)) {
    bson_t s;
    sub_doc(spec, &s);
    bson_iter_t it;
    bson_iter_init(&it, &s);
    bool has_coll = false;
    while (bson_iter_next(&it)) {
      std::string_view k = key_of(&it);
      if (k == "coll") {
        if (!BSON_ITER_HOLDS_UTF8(&it)) {
          return wrong_type("$unionWith.coll", &it, "string");
        }
        coll = bson_iter_utf8(&it, nullptr);
        has_coll = true;
      } else if (k == "pipeline") {
        if (!BSON_ITER_HOLDS_ARRAY(&it)) {
          return wrong_type("$unionWith.pipeline", &it, "array");
        }
        pipeline = it;
      } else {
        return Status(common::kUnrecognizedCommandField, "BSON field '$unionWith." + std::string(k) + "' is an unknown field.");
      }
    }
    if (!has_coll) {
      bson_t arr;
      const bool docs_first = ps.ctx->version >= 60 && pipeline && sub_doc(&*pipeline, &arr) && starts_with_documents(&arr);
      if (!docs_first) {
        if (ps.ctx->version >= 60 && pipeline) {
          return Status(common::kFailedToParse,
                        "$unionWith stage without explicit collection must have a pipeline with $documents as first stage");
        }
        return Status(40414, "BSON field '$unionWith.coll' is missing but a required field");
      }
    }
  } else {
    return Status(common::kFailedToParse, "the $unionWith stage specification must be an object or string, but found " +
                                              type_name(bson_iter_type(spec)));
  }
  ParseState sub_ps{ps.ctx, ps.host, Place::kUnionWith, ps.depth + 1};
  StageList sub;
  if (pipeline) {
    MS_ASSIGN_OR_RETURN(sub, parse_stage_list(&*pipeline, sub_ps));
  }
  return one<UnionWithStage>(ps, std::move(coll), std::move(sub));
}

// ---- $facet ---------------------------------------------------------------------------------

class FacetStage : public Stage {
 public:
  FacetStage(std::vector<std::pair<std::string, StageList>> facets, const ExpressionContext& ctx)
      : Stage("$facet"), facets_(std::move(facets)), ctx_(ctx) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    std::shared_ptr<DocumentSource> in(std::move(input));
    auto done = std::make_shared<bool>(false);
    return make_gen_source([in, done, this]() -> Result<std::optional<Bson>> {
      if (*done) return std::optional<Bson>();
      *done = true;
      // Every sub-pipeline sees the whole input: buffer it once.
      MemoryBudget budget(ctx_, kFacetMemoryLimit, [] {
        return Status(292, "$facet exceeded its memory limit of " + std::to_string(kFacetMemoryLimit) +
                               " bytes, but did not opt in to external sorting.");
      });
      std::vector<Bson> docs;
      while (true) {
        MS_ASSIGN_OR_RETURN(auto d, in->next());
        if (!d) break;
        MS_RETURN_IF_ERROR(budget.add(d->size()));
        docs.push_back(std::move(*d));
      }
      Bson out;
      size_t total = 0;
      for (const auto& [name, list] : facets_) {
        MS_ASSIGN_OR_RETURN(auto src, list.run(make_vector_source(docs)));
        std::vector<Value> results;
        while (true) {
          MS_ASSIGN_OR_RETURN(auto r, src->next());
          if (!r) break;
          total += r->size();
          if (total > kFacetMemoryLimit) {
            return Status(4031700, "document constructed by $facet is " + std::to_string(total) +
                                       " bytes, which exceeds the limit of " + std::to_string(kFacetMemoryLimit) +
                                       " bytes");
          }
          results.push_back(value_of(*r));
        }
        make_array(results).append_to(out.mut(), name);
      }
      return std::optional<Bson>(std::move(out));
    });
  }

 private:
  std::vector<std::pair<std::string, StageList>> facets_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_facet(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s) || bson_empty(&s)) {
    return Status(40169, "the $facet specification must be a non-empty object, but found: " + elem_string(spec));
  }
  // The server counts only $lookup/$unionWith nesting toward kMaxSubPipelineDepth.
  ParseState sub_ps{ps.ctx, ps.host, Place::kFacet, ps.depth};
  std::vector<std::pair<std::string, StageList>> facets;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string name(key_of(&it));
    MS_RETURN_IF_ERROR(validate_field_path(name, *ps.ctx));
    if (name.find('.') != std::string::npos) {
      return Status(16412, "FieldPath field names may not contain '.'." +
                               std::string(ps.ctx->version >= 50 ? " Consider using $getField or $setField." : ""));
    }
    if (!BSON_ITER_HOLDS_ARRAY(&it)) {
      return Status(40170, "arguments to $facet must be arrays, " + name + " is type " + type_name(bson_iter_type(&it)));
    }
    bson_t arr;
    sub_doc(&it, &arr);
    bson_iter_t e;
    bson_iter_init(&e, &arr);
    while (bson_iter_next(&e)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&e)) {
        return Status(40171, "elements of arrays in $facet spec must be non-empty objects, " + name +
                                 " argument contained an element of type " + type_name(bson_iter_type(&e)) + ": " +
                                 elem_string(&e));
      }
    }
    MS_ASSIGN_OR_RETURN(StageList l, parse_stage_list(&arr, sub_ps));
    facets.emplace_back(std::move(name), std::move(l));
  }
  return one<FacetStage>(std::move(facets), *ps.ctx);
}

}  // namespace

std::vector<StageDef> lookup_stages() {
  return {
      {"$lookup", 0, parse_lookup},
      {"$graphLookup", 0, parse_graph_lookup},
      {"$unionWith", 0, parse_union_with},
      {"$facet", 0, parse_facet},
  };
}

}  // namespace mql::pipe
