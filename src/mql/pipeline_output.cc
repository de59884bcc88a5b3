// Stages that write or describe collections through the host: $out, $merge, $collStats,
// $indexStats (server: document_source_out.cpp, document_source_merge.cpp (+ _spec.cpp),
// document_source_coll_stats.cpp, document_source_index_stats.cpp).
#include <algorithm>

#include "mql/compare.h"
#include "mql/pipeline_internal.h"

namespace mql {

using common::Bson;
using common::Result;
using common::Status;

namespace pipe {

namespace {

bool internal_db(std::string_view db) { return db == "admin" || db == "local" || db == "config"; }
bool special_coll(std::string_view c) { return c.substr(0, 7) == "system."; }

// Adds an ObjectId _id (first) to a document that has none, as an insert would.
Bson with_id(Bson doc) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc.get(), "_id")) return doc;
  Bson out;
  bson_oid_t oid;
  bson_oid_init(&oid, nullptr);
  bson_append_oid(out.mut(), "_id", 3, &oid);
  bson_concat(out.mut(), doc.get());
  return out;
}

// ---- $out -----------------------------------------------------------------------------------

class OutStage : public Stage {
 public:
  OutStage(std::string db, std::string coll, PipelineHost* host)
      : Stage("$out"), db_(std::move(db)), coll_(std::move(coll)), host_(host) {}
  bool last_only() const override { return true; }
  Result<SourcePtr> open(SourcePtr input) const override {
    std::shared_ptr<DocumentSource> in(std::move(input));
    auto done = std::make_shared<bool>(false);
    return make_gen_source([in, done, this]() -> Result<std::optional<Bson>> {
      if (*done) return std::optional<Bson>();
      *done = true;
      if (!host_) return Status(common::kInternalError, "$out needs a pipeline host");
      std::vector<Bson> docs;
      while (true) {
        MS_ASSIGN_OR_RETURN(auto d, in->next());
        if (!d) break;
        docs.push_back(with_id(std::move(*d)));
      }
      MS_RETURN_IF_ERROR(host_->replace_collection(db_, coll_, std::move(docs)));
      return std::optional<Bson>();
    });
  }

 private:
  std::string db_, coll_;
  PipelineHost* host_;
};

Result<Stages> parse_out(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  std::string db = ps.ctx->db, coll;
  if (BSON_ITER_HOLDS_UTF8(spec)) {
    coll = bson_iter_utf8(spec, nullptr);
  } else if (BSON_ITER_HOLDS_DOCUMENT(spec)) {
    bson_t s;
    sub_doc(spec, &s);
    bson_iter_t it;
    bson_iter_init(&it, &s);
    bool has_db = false, has_coll = false;
    while (bson_iter_next(&it)) {
      std::string_view k = key_of(&it);
      if (k == "db" || k == "coll") {
        if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type("$out." + std::string(k), &it, "string");
        (k == "db" ? db : coll) = bson_iter_utf8(&it, nullptr);
        (k == "db" ? has_db : has_coll) = true;
      } else if (k == "timeseries" && ps.ctx->version >= 70) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type("$out.timeseries", &it, "object");
      } else {
        return Status(common::kUnrecognizedCommandField, "BSON field '$out." + std::string(k) + "' is an unknown field.");
      }
    }
    if (!has_coll) return Status(40414, "BSON field '$out.coll' is missing but a required field");
    if (!has_db) return Status(40414, "BSON field '$out.db' is missing but a required field");
  } else {
    return Status(16990, "$out only supports a string or object argument, but found " + type_name(bson_iter_type(spec)));
  }
  if (db.empty() || coll.empty() || coll.find('$') != std::string::npos || db.find_first_of("/\\. \"$") != std::string::npos) {
    return Status(common::kInvalidNamespace, "Invalid $out target namespace, " + db + "." + coll);
  }
  if (internal_db(db)) return Status(31321, "Can't $out to internal database: " + db);
  if (special_coll(coll)) return Status(17385, "Can't $out to special collection: " + coll);
  return one<OutStage>(std::move(db), std::move(coll), ps.host);
}

// ---- $merge ---------------------------------------------------------------------------------

class MergeStage : public Stage {
 public:
  MergeStage(MergeSpec spec, std::vector<std::pair<std::string, ExprPtr>> let, PipelineHost* host,
             const ExpressionContext& ctx)
      : Stage("$merge"), spec_(std::move(spec)), let_(std::move(let)), host_(host), ctx_(ctx) {}
  bool last_only() const override { return true; }
  Result<SourcePtr> open(SourcePtr input) const override {
    std::shared_ptr<DocumentSource> in(std::move(input));
    return make_gen_source([in, this]() -> Result<std::optional<Bson>> {
      if (!host_) return Status(common::kInternalError, "$merge needs a pipeline host");
      while (true) {
        MS_ASSIGN_OR_RETURN(auto d, in->next());
        if (!d) return std::optional<Bson>();
        Bson doc = std::move(*d);
        const bool on_id = spec_.on.size() == 1 && spec_.on[0] == "_id";
        if (on_id) doc = with_id(std::move(doc));
        for (const auto& f : spec_.on) {
          bson_iter_t it;
          const bool found = bson_iter_init(&it, doc.get()) && bson_iter_find_descendant(&it, f.c_str(), &it);
          if (!found || BSON_ITER_HOLDS_NULL(&it) || BSON_ITER_HOLDS_UNDEFINED(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            return Status(51132, "$merge write error: 'on' field cannot be missing, null, undefined or an array");
          }
        }
        Bson vars;
        bool has_new = false;
        for (const auto& [name, e] : let_) {
          MS_ASSIGN_OR_RETURN(Value v, eval(*e, doc.get(), ctx_));
          v.append_to(vars.mut(), name);
          has_new = has_new || name == "new";
        }
        if (!has_new) bson_append_document(vars.mut(), "new", 3, doc.get());
        MS_RETURN_IF_ERROR(host_->merge_document(spec_, doc.get(), vars.get(), ctx_));
      }
    });
  }

 private:
  MergeSpec spec_;
  std::vector<std::pair<std::string, ExprPtr>> let_;
  PipelineHost* host_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_merge(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  MergeSpec m;
  m.db = ctx.db;
  std::vector<std::pair<std::string, ExprPtr>> let;
  std::optional<std::string> wm_name;
  bool has_let = false;
  auto parse_into = [&](const bson_iter_t* it) -> Status {
    if (BSON_ITER_HOLDS_UTF8(it)) {
      m.coll = bson_iter_utf8(it, nullptr);
      return Status::OK();
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
      return Status(51178, "$merge 'into' field  must be either a string or an object, but found " +
                               type_name(bson_iter_type(it)));
    }
    bson_t o;
    sub_doc(it, &o);
    bson_iter_t f;
    bson_iter_init(&f, &o);
    while (bson_iter_next(&f)) {
      std::string_view k = key_of(&f);
      if (k != "db" && k != "coll") {
        return Status(common::kUnrecognizedCommandField, "BSON field 'into." + std::string(k) + "' is an unknown field.");
      }
      if (!BSON_ITER_HOLDS_UTF8(&f)) return wrong_type("into." + std::string(k), &f, "string");
      (k == "db" ? m.db : m.coll) = bson_iter_utf8(&f, nullptr);
    }
    if (m.coll.empty()) {
      return Status(5786800, "$merge 'into' field must specify a 'coll' that is not empty, null or undefined");
    }
    return Status::OK();
  };

  if (BSON_ITER_HOLDS_UTF8(spec)) {
    m.coll = bson_iter_utf8(spec, nullptr);
  } else if (BSON_ITER_HOLDS_DOCUMENT(spec)) {
    bson_t s;
    sub_doc(spec, &s);
    bson_iter_t it;
    bson_iter_init(&it, &s);
    bool has_into = false;
    while (bson_iter_next(&it)) {
      std::string_view k = key_of(&it);
      if (k == "into") {
        MS_RETURN_IF_ERROR(parse_into(&it));
        has_into = true;
      } else if (k == "on") {
        m.on.clear();
        if (BSON_ITER_HOLDS_UTF8(&it)) {
          m.on.emplace_back(bson_iter_utf8(&it, nullptr));
        } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
          bson_t arr;
          sub_doc(&it, &arr);
          bson_iter_t e;
          bson_iter_init(&e, &arr);
          while (bson_iter_next(&e)) {
            if (!BSON_ITER_HOLDS_UTF8(&e)) {
              return Status(51134, "$merge 'on' array elements must be strings, but found " +
                                       type_name(bson_iter_type(&e)));
            }
            m.on.emplace_back(bson_iter_utf8(&e, nullptr));
          }
          if (m.on.empty()) {
            return Status(51187, "If explicitly specifying $merge 'on', must include at least one field");
          }
        } else {
          return Status(51186, "$merge 'on' field  must be either a string or an array of strings, but found " +
                                   type_name(bson_iter_type(&it)));
        }
        for (const auto& f : m.on) MS_RETURN_IF_ERROR(validate_field_path(f, ctx));
        std::vector<std::string> sorted = m.on;
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
          return Status(31465, "Found a duplicate field '" + *std::adjacent_find(sorted.begin(), sorted.end()) + "'");
        }
        m.on_specified = true;
      } else if (k == "let") {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type("$merge.let", &it, "object");
        has_let = true;
        bson_t l;
        sub_doc(&it, &l);
        bson_iter_t v;
        bson_iter_init(&v, &l);
        while (bson_iter_next(&v)) {
          MS_ASSIGN_OR_RETURN(auto e, Expression::parse(&v, ctx));
          let.emplace_back(std::string(key_of(&v)), std::move(e));
        }
      } else if (k == "whenMatched") {
        if (BSON_ITER_HOLDS_UTF8(&it)) {
          std::string w = bson_iter_utf8(&it, nullptr);
          wm_name = w;
          if (w == "replace") {
            m.when_matched = MergeSpec::WhenMatched::kReplace;
          } else if (w == "keepExisting") {
            m.when_matched = MergeSpec::WhenMatched::kKeepExisting;
          } else if (w == "merge") {
            m.when_matched = MergeSpec::WhenMatched::kMerge;
          } else if (w == "fail") {
            m.when_matched = MergeSpec::WhenMatched::kFail;
          } else {
            return Status(common::kBadValue, "Enumeration value '" + w + "' for field 'whenMatched' is not a valid value.");
          }
        } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
          m.when_matched = MergeSpec::WhenMatched::kPipeline;
          bson_t arr;
          sub_doc(&it, &arr);
          m.pipeline = Bson(&arr);
        } else {
          return Status(51191, "$merge 'whenMatched' field  must be either a string or an array, but found " +
                                   type_name(bson_iter_type(&it)));
        }
      } else if (k == "whenNotMatched") {
        if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type("$merge.whenNotMatched", &it, "string");
        std::string w = bson_iter_utf8(&it, nullptr);
        if (w == "insert") {
          m.when_not_matched = MergeSpec::WhenNotMatched::kInsert;
        } else if (w == "discard") {
          m.when_not_matched = MergeSpec::WhenNotMatched::kDiscard;
        } else if (w == "fail") {
          m.when_not_matched = MergeSpec::WhenNotMatched::kFail;
        } else {
          return Status(common::kBadValue, "Enumeration value '" + w + "' for field 'whenNotMatched' is not a valid value.");
        }
      } else {
        return Status(common::kUnrecognizedCommandField, "BSON field '$merge." + std::string(k) + "' is an unknown field.");
      }
    }
    if (!has_into) return Status(40414, "BSON field '$merge.into' is missing but a required field");
  } else {
    return Status(51182, "$merge only supports a string or object argument, not " + type_name(bson_iter_type(spec)));
  }
  if (m.on.empty()) m.on.emplace_back("_id");
  if (has_let && m.when_matched != MergeSpec::WhenMatched::kPipeline) {
    return Status(51199, "Cannot use 'let' variables with 'whenMatched: " + wm_name.value_or("merge") + "' mode");
  }
  if (m.when_matched == MergeSpec::WhenMatched::kPipeline) {
    // Validated now as an update pipeline seeing the `let` variables and $$new.
    ExpressionContext c = ctx;
    for (const auto& [name, e] : let) c.let[name] = Value::null();
    c.let["new"] = Value::null();
    ParseState ups{&c, nullptr, Place::kUpdate, ps.depth + 1};
    auto l = parse_stage_list(m.pipeline.get(), ups);
    if (!l.ok()) {
      if (l.status().code() == common::kInvalidOptions) {
        std::string msg = l.status().message();
        auto pos = msg.find(" is not allowed to be used within an update");
        if (pos != std::string::npos) {
          return Status(common::kInvalidOptions,
                        msg.substr(0, pos) + " is not allowed to be used within a $merge's 'whenMatched' pipeline");
        }
      }
      return l.status();
    }
  }
  if (internal_db(m.db)) return Status(31320, "Cannot $merge to internal database: " + m.db);
  if (special_coll(m.coll)) return Status(31319, "Cannot $merge to special collection: " + m.coll);
  if (m.coll.empty()) return Status(common::kInvalidNamespace, "Invalid $merge target namespace: '" + m.db + ".'");
  return one<MergeStage>(std::move(m), std::move(let), ps.host, ctx);
}

// ---- $collStats / $indexStats ---------------------------------------------------------------

class StatsStage : public Stage {
 public:
  StatsStage(std::string name, std::optional<Bson> spec, PipelineHost* host, const ExpressionContext& ctx)
      : Stage(std::move(name)), spec_(std::move(spec)), host_(host), ctx_(ctx) {}
  bool first_only() const override { return true; }
  bool source() const override { return true; }
  Result<SourcePtr> open(SourcePtr) const override {
    if (!host_) return make_error_source(Status(common::kInternalError, name() + " needs a pipeline host"));
    auto docs = spec_ ? host_->coll_stats(ctx_.db, ctx_.collection, spec_->get())
                      : host_->index_stats(ctx_.db, ctx_.collection);
    if (!docs.ok()) return make_error_source(docs.status());
    return make_vector_source(std::move(docs).value());
  }

 private:
  std::optional<Bson> spec_;
  PipelineHost* host_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_coll_stats(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(5447000, "$collStats must take a nested object but found: " + type_name(bson_iter_type(spec)));
  }
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string k(key_of(&it));
    if (k != "latencyStats" && k != "storageStats" && k != "count" && k != "queryExecStats") {
      return Status(common::kUnrecognizedCommandField, "BSON field '$collStats." + k + "' is an unknown field.");
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type("$collStats." + k, &it, "object");
    bson_t sub;
    sub_doc(&it, &sub);
    bson_iter_t f;
    bson_iter_init(&f, &sub);
    while (bson_iter_next(&f)) {
      std::string fk(key_of(&f));
      const std::string path = "$collStats." + k + "." + fk;
      if (k == "latencyStats" && fk == "histograms") {
        if (!BSON_ITER_HOLDS_BOOL(&f)) return wrong_type(path, &f, "bool");
      } else if (k == "storageStats" && fk == "scale") {
        if (!BSON_ITER_HOLDS_NUMBER(&f)) return wrong_type(path, &f, "int");
        int64_t scale = Value::from_iter(&f).as_int64();
        if (scale < 1) {
          return Status(51024, "BSON field 'scale' value must be >= 1, actual value '" + std::to_string(scale) + "'");
        }
      } else if (k == "storageStats" && (fk == "verbose" || fk == "waitForLock" || fk == "numericOnly")) {
        if (!BSON_ITER_HOLDS_BOOL(&f)) return wrong_type(path, &f, "bool");
      } else {
        return Status(common::kUnrecognizedCommandField, "BSON field '" + path + "' is an unknown field.");
      }
    }
  }
  return one<StatsStage>("$collStats", Bson(&s), ps.host, *ps.ctx);
}

Result<Stages> parse_index_stats(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s) || !bson_empty(&s)) {
    return Status(28803, "The $indexStats stage specification must be an empty object");
  }
  return one<StatsStage>("$indexStats", std::nullopt, ps.host, *ps.ctx);
}

}  // namespace

std::vector<StageDef> output_stages() {
  return {
      {"$out", 0, parse_out},
      {"$merge", 0, parse_merge},
      {"$collStats", 0, parse_coll_stats},
      {"$indexStats", 0, parse_index_stats},
  };
}

}  // namespace pipe

// ---- merge_matched --------------------------------------------------------------------------

namespace {

Status immutable_id() {
  return Status(common::kImmutableField,
                "$merge failed to update the matching document, did you attempt to modify the _id or the shard key? "
                ":: caused by :: Performing an update on the path '_id' would modify the immutable field '_id'");
}

// The result keeps `existing`'s _id first; a different _id in `updated` is an error.
Result<Bson> keep_id(const bson_t* existing, const bson_t* updated) {
  bson_iter_t eid, nid;
  const bool has_e = bson_iter_init_find(&eid, existing, "_id");
  const bool has_n = bson_iter_init_find(&nid, updated, "_id");
  if (has_e && has_n && compare_elements(&eid, &nid, nullptr) != 0) return immutable_id();
  Bson out;
  if (has_e) bson_append_iter(out.mut(), "_id", 3, &eid);
  bson_iter_t it;
  bson_iter_init(&it, updated);
  while (bson_iter_next(&it)) {
    if (pipe::key_of(&it) == "_id") continue;
    bson_append_iter(out.mut(), nullptr, 0, &it);
  }
  return out;
}

}  // namespace

Result<std::optional<Bson>> merge_matched(const MergeSpec& spec, const bson_t* existing, const bson_t* incoming,
                                          const bson_t* let_values, const ExpressionContext& ctx) {
  using WM = MergeSpec::WhenMatched;
  switch (spec.when_matched) {
    case WM::kKeepExisting: return std::optional<Bson>();
    case WM::kFail: {
      bson_iter_t id;
      std::string key = bson_iter_init_find(&id, incoming, "_id")
                            ? "{ _id: " + pipe::value_string(Value::from_iter(&id)) + " }"
                            : "{}";
      return Status(common::kDuplicateKey, "E11000 duplicate key error collection: " + spec.db + "." + spec.coll +
                                               " index: _id_ dup key: " + key);
    }
    case WM::kReplace: {
      MS_ASSIGN_OR_RETURN(Bson out, keep_id(existing, incoming));
      return std::optional<Bson>(std::move(out));
    }
    case WM::kMerge: {
      pipe::OutDoc out = pipe::OutDoc::from(existing);
      bson_iter_t it;
      bson_iter_init(&it, incoming);
      while (bson_iter_next(&it)) out.set(pipe::key_of(&it), Value::from_iter(&it));
      Bson merged = out.bson();
      MS_ASSIGN_OR_RETURN(Bson res, keep_id(existing, merged.get()));
      return std::optional<Bson>(std::move(res));
    }
    case WM::kPipeline: {
      ExpressionContext c = ctx;
      bson_iter_t it;
      if (let_values && bson_iter_init(&it, let_values)) {
        while (bson_iter_next(&it)) c.let[std::string(pipe::key_of(&it))] = Value::from_iter(&it);
      }
      MS_ASSIGN_OR_RETURN(auto p, Pipeline::parse(spec.pipeline.get(), c, nullptr));
      MS_ASSIGN_OR_RETURN(Bson updated, apply_update_pipeline(*p, existing));
      MS_ASSIGN_OR_RETURN(Bson res, keep_id(existing, updated.get()));
      return std::optional<Bson>(std::move(res));
    }
  }
  return Status(common::kInternalError, "unknown $merge mode");
}

}  // namespace mql
