// Pipeline parsing (stage registry, version gating, position rules), the chained run, the
// host's default methods and the helpers every stage file shares.
#include "mql/pipeline.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <ctime>
#include <sstream>
#include <unordered_map>

#include "mql/arith.h"
#include "mql/compare.h"
#include "mql/matcher.h"
#include "mql/pipeline_internal.h"

namespace mql {

using common::Bson;
using common::Result;
using common::Status;

namespace pipe {

// ---- stages ---------------------------------------------------------------------------------

Result<Bson> Stage::transform(const bson_t*) const {
  return Status(common::kInternalError, name_ + " is not a document transformation");
}

Result<SourcePtr> TransformStage::open(SourcePtr input) const {
  return make_map_source(std::move(input), [this](Bson&& doc) -> Result<std::optional<Bson>> {
    MS_ASSIGN_OR_RETURN(Bson out, transform(doc.get()));
    return std::optional<Bson>(std::move(out));
  });
}

Result<SourcePtr> StageList::run(SourcePtr input) const {
  if (!input) input = make_vector_source({});
  for (const auto& s : stages) {
    MS_ASSIGN_OR_RETURN(input, s->open(std::move(input)));
  }
  return input;
}

// ---- streaming helpers ----------------------------------------------------------------------

namespace {

class VectorSource : public DocumentSource {
 public:
  explicit VectorSource(std::vector<Bson> docs) : docs_(std::move(docs)) {}
  Result<std::optional<Bson>> next() override {
    if (pos_ >= docs_.size()) return std::optional<Bson>();
    return std::optional<Bson>(std::move(docs_[pos_++]));
  }

 private:
  std::vector<Bson> docs_;
  size_t pos_ = 0;
};

class MapSource : public DocumentSource {
 public:
  MapSource(SourcePtr in, MapFn fn) : in_(std::move(in)), fn_(std::move(fn)) {}
  Result<std::optional<Bson>> next() override {
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, in_->next());
      if (!d) return std::optional<Bson>();
      MS_ASSIGN_OR_RETURN(auto out, fn_(std::move(*d)));
      if (out) return out;
    }
  }

 private:
  SourcePtr in_;
  MapFn fn_;
};

class GenSource : public DocumentSource {
 public:
  explicit GenSource(GenFn fn) : fn_(std::move(fn)) {}
  Result<std::optional<Bson>> next() override { return fn_(); }

 private:
  GenFn fn_;
};

}  // namespace

SourcePtr make_map_source(SourcePtr input, MapFn fn) {
  return std::make_unique<MapSource>(std::move(input), std::move(fn));
}

SourcePtr make_gen_source(GenFn fn) { return std::make_unique<GenSource>(std::move(fn)); }

SourcePtr make_error_source(Status st) {
  return make_gen_source([st]() -> Result<std::optional<Bson>> { return st; });
}

SourcePtr make_blocking_source(SourcePtr input, BlockingFn compute) {
  struct State {
    SourcePtr in;
    BlockingFn compute;
    std::vector<Bson> out;
    size_t pos = 0;
    bool done = false;
  };
  auto st = std::make_shared<State>();
  st->in = std::move(input);
  st->compute = std::move(compute);
  return make_gen_source([st]() -> Result<std::optional<Bson>> {
    if (!st->done) {
      st->done = true;
      MS_ASSIGN_OR_RETURN(st->out, st->compute(*st->in));
      st->in.reset();
    }
    if (st->pos >= st->out.size()) return std::optional<Bson>();
    return std::optional<Bson>(std::move(st->out[st->pos++]));
  });
}

Result<std::vector<Bson>> drain(DocumentSource& input) {
  std::vector<Bson> out;
  while (true) {
    MS_ASSIGN_OR_RETURN(auto d, input.next());
    if (!d) return out;
    out.push_back(std::move(*d));
  }
}

size_t approx_size(const Value& v) {
  size_t n = sizeof(Value);
  switch (v.type()) {
    case BSON_TYPE_UTF8: n += v.raw().value.v_utf8.len; break;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: n += v.raw().value.v_doc.data_len; break;
    case BSON_TYPE_BINARY: n += v.raw().value.v_binary.data_len; break;
    case BSON_TYPE_REGEX: n += std::strlen(v.raw().value.v_regex.regex) + 8; break;
    default: break;
  }
  return n;
}

Status sort_memory_exceeded(size_t limit) {
  return Status(292, "Sort exceeded memory limit of " + std::to_string(limit) +
                         " bytes, but did not opt in to external sorting.");
}

// ---- documents ------------------------------------------------------------------------------

OutDoc OutDoc::from(const bson_t* doc) {
  OutDoc d;
  bson_iter_t it;
  if (bson_iter_init(&it, doc)) {
    while (bson_iter_next(&it)) d.push(std::string(key_of(&it)), Value::from_iter(&it));
  }
  return d;
}

OutDoc OutDoc::from(const Value& doc) {
  if (doc.type() != BSON_TYPE_DOCUMENT) return OutDoc();
  bson_t b = doc.view();
  return from(&b);
}

void OutDoc::set(std::string_view name, Value v) {
  for (auto& f : fields_) {
    if (f.first == name) {
      f.second = std::move(v);
      return;
    }
  }
  fields_.emplace_back(std::string(name), std::move(v));
}

const Value* OutDoc::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (f.first == name) return &f.second;
  }
  return nullptr;
}

Value* OutDoc::get_mut(std::string_view name) {
  for (auto& f : fields_) {
    if (f.first == name) return &f.second;
  }
  return nullptr;
}

void OutDoc::remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(), [&](const auto& f) { return f.first == name; }),
                fields_.end());
}

Bson OutDoc::bson() const {
  Bson b;
  for (const auto& [k, v] : fields_) v.append_to(b.mut(), k);
  return b;
}

Value OutDoc::value() const {
  Bson b = bson();
  return Value::document(b.get());
}

Value make_array(const std::vector<Value>& elems) {
  bson_t arr = BSON_INITIALIZER;
  uint32_t i = 0;
  for (const auto& e : elems) {
    if (e.missing()) continue;
    char buf[16];
    e.append_to(&arr, common::array_key(i++, buf));
  }
  Value v = Value::array(&arr);
  bson_destroy(&arr);
  return v;
}

std::vector<Value> array_elems(const Value& arr) {
  std::vector<Value> out;
  if (arr.type() != BSON_TYPE_ARRAY) return out;
  bson_t b = arr.view();
  bson_iter_t it;
  if (bson_iter_init(&it, &b)) {
    while (bson_iter_next(&it)) out.push_back(Value::from_iter(&it));
  }
  return out;
}

Value value_of(const Bson& doc) { return Value::document(doc.get()); }

std::optional<Bson> to_bson(const Value& v) {
  if (v.type() != BSON_TYPE_DOCUMENT) return std::nullopt;
  bson_t b = v.view();
  return Bson(&b);
}

bson_t view(const Value& v) { return v.view(); }

void set_path(OutDoc& out, const FieldPath& path, size_t from, Value v) {
  std::string_view part = path.part(from);
  if (from + 1 == path.size()) {
    if (v.missing()) {
      out.remove(part);
    } else {
      out.set(part, std::move(v));
    }
    return;
  }
  const Value* cur = out.get(part);
  OutDoc sub = cur && cur->type() == BSON_TYPE_DOCUMENT ? OutDoc::from(*cur) : OutDoc();
  set_path(sub, path, from + 1, std::move(v));
  out.set(part, sub.value());
}

void remove_path(OutDoc& out, const FieldPath& path, size_t from) {
  std::string_view part = path.part(from);
  if (from + 1 == path.size()) {
    out.remove(part);
    return;
  }
  Value* cur = out.get_mut(part);
  if (!cur || cur->type() != BSON_TYPE_DOCUMENT) return;
  OutDoc sub = OutDoc::from(*cur);
  remove_path(sub, path, from + 1);
  *cur = sub.value();
}

namespace {

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789ABCDEF";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

std::string iso_date(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t millis = ms - secs * 1000;
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  if (!gmtime_r(&t, &tm)) return std::to_string(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

void append_value_string(std::string& s, const bson_value_t& v);

void append_doc_string(std::string& s, const uint8_t* data, uint32_t len, bool array) {
  bson_t b;
  if (!bson_init_static(&b, data, len)) {
    s += array ? "[]" : "{}";
    return;
  }
  bson_iter_t it;
  s += array ? "[" : "{";
  bool first = true;
  if (bson_iter_init(&it, &b)) {
    while (bson_iter_next(&it)) {
      if (!first) s += ", ";
      first = false;
      if (!array) {
        s.append(bson_iter_key(&it), bson_iter_key_len(&it));
        s += ": ";
      }
      append_value_string(s, *bson_iter_value(&it));
    }
  }
  s += array ? "]" : "}";
}

void append_value_string(std::string& s, const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_EOD: s += "MISSING"; return;
    case BSON_TYPE_MINKEY: s += "MinKey"; return;
    case BSON_TYPE_MAXKEY: s += "MaxKey"; return;
    case BSON_TYPE_OID: {
      char buf[25];
      bson_oid_to_string(&v.value.v_oid, buf);
      s += buf;
      return;
    }
    case BSON_TYPE_UTF8:
      s += '"';
      s.append(v.value.v_utf8.str, v.value.v_utf8.len);
      s += '"';
      return;
    case BSON_TYPE_SYMBOL:
      s += "Symbol(\"";
      s.append(v.value.v_symbol.symbol, v.value.v_symbol.len);
      s += "\")";
      return;
    case BSON_TYPE_CODE:
      s += "Code(\"";
      s.append(v.value.v_code.code, v.value.v_code.code_len);
      s += "\")";
      return;
    case BSON_TYPE_REGEX:
      s += '/';
      s += v.value.v_regex.regex;
      s += '/';
      s += v.value.v_regex.options;
      return;
    case BSON_TYPE_BOOL: s += v.value.v_bool ? "true" : "false"; return;
    case BSON_TYPE_DECIMAL128: s += dec::to_string(v.value.v_decimal128); return;
    case BSON_TYPE_DOUBLE: {
      std::ostringstream os;
      os << v.value.v_double;
      s += os.str();
      return;
    }
    case BSON_TYPE_INT64: s += std::to_string(v.value.v_int64); return;
    case BSON_TYPE_INT32: s += std::to_string(v.value.v_int32); return;
    case BSON_TYPE_NULL: s += "null"; return;
    case BSON_TYPE_UNDEFINED: s += "undefined"; return;
    case BSON_TYPE_DATE_TIME: s += iso_date(v.value.v_datetime); return;
    case BSON_TYPE_TIMESTAMP:
      s += "Timestamp(" + std::to_string(v.value.v_timestamp.timestamp) + ", " +
           std::to_string(v.value.v_timestamp.increment) + ")";
      return;
    case BSON_TYPE_DOCUMENT: append_doc_string(s, v.value.v_doc.data, v.value.v_doc.data_len, false); return;
    case BSON_TYPE_ARRAY: append_doc_string(s, v.value.v_doc.data, v.value.v_doc.data_len, true); return;
    case BSON_TYPE_BINARY:
      s += "BinData(" + std::to_string(static_cast<int>(v.value.v_binary.subtype)) + ", " +
           hex(v.value.v_binary.data, v.value.v_binary.data_len) + ")";
      return;
    default: s += common::value_to_json(&v); return;
  }
}

}  // namespace

std::string value_string(const Value& v) {
  std::string s;
  append_value_string(s, v.raw());
  return s;
}

std::string doc_string(const bson_t* doc) {
  std::string s;
  append_doc_string(s, bson_get_data(doc), doc->len, false);
  return s;
}

std::string type_name(bson_type_t t) { return common::type_alias(t); }

Status validate_field_path(std::string_view path, const ExpressionContext& ctx) {
  const std::string hint = ctx.version >= 50 ? " Consider using $getField or $setField." : "";
  if (path.empty()) return Status(40352, "FieldPath cannot be constructed with empty string");
  if (path.back() == '.') return Status(40353, "FieldPath must not end with a '.'.");
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty()) return Status(15998, "FieldPath field names may not be empty strings.");
    if (part[0] == '$' && part != "$id" && part != "$ref" && part != "$db") {
      return Status(16410, "FieldPath field names may not start with '$'." + hint);
    }
    if (part.find('\0') != std::string_view::npos) {
      return Status(16411, "FieldPath field names may not contain '\\0'.");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Status::OK();
}

Status wrong_type(std::string_view field, const bson_iter_t* it, std::string_view expected) {
  return Status(common::kTypeMismatch, "BSON field '" + std::string(field) + "' is the wrong type '" +
                                           type_name(bson_iter_type(it)) + "', expected type '" + std::string(expected) +
                                           "'");
}

Status wrong_types(std::string_view field, const bson_iter_t* it, std::string_view expected) {
  return Status(common::kTypeMismatch, "BSON field '" + std::string(field) + "' is the wrong type '" +
                                           type_name(bson_iter_type(it)) + "', expected types '" +
                                           std::string(expected) + "'");
}

Status with_stage_context(const Status& st, std::string_view what) {
  if (st.ok()) return st;
  return Status(st.code(), "Invalid " + std::string(what) + " :: caused by :: " + st.message());
}

std::string_view key_of(const bson_iter_t* it) { return {bson_iter_key(it), bson_iter_key_len(it)}; }

bool sub_doc(const bson_iter_t* it, bson_t* out) {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  if (bson_iter_type(it) == BSON_TYPE_DOCUMENT) {
    bson_iter_document(it, &len, &data);
  } else if (bson_iter_type(it) == BSON_TYPE_ARRAY) {
    bson_iter_array(it, &len, &data);
  } else {
    return false;
  }
  return data && bson_init_static(out, data, len);
}

std::optional<int64_t> integral_of(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32: return bson_iter_int32(it);
    case BSON_TYPE_INT64: return bson_iter_int64(it);
    case BSON_TYPE_DOUBLE: {
      double d = bson_iter_double(it);
      if (!std::isfinite(d) || d != std::trunc(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18) {
        return std::nullopt;
      }
      return static_cast<int64_t>(d);
    }
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t d;
      bson_iter_decimal128(it, &d);
      auto i = dec::to_int64(d, dec::Round::kTowardZero);
      if (!i || dec::compare(dec::from_int64(*i), d) != 0) return std::nullopt;
      return i;
    }
    default: return std::nullopt;
  }
}

Result<Value> eval(const Expression& e, const bson_t* doc, const ExpressionContext& ctx) {
  Variables vars(ctx);
  return e.evaluate(doc, vars);
}

// ---- registry and parsing -------------------------------------------------------------------

namespace {

using Registry = std::unordered_map<std::string_view, StageDef>;

const Registry& registry() {
  static const Registry* r = [] {
    auto* m = new Registry;
    for (auto table : {basic_stages, project_stages, group_stages, lookup_stages, output_stages, window_stages, fill_stages}) {
      for (const StageDef& d : table()) m->emplace(d.name, d);
    }
    return m;
  }();
  return *r;
}

// A stage the host provides.
class HostStageAdapter : public Stage {
 public:
  HostStageAdapter(std::string name, std::unique_ptr<HostStage> s) : Stage(std::move(name)), s_(std::move(s)) {}
  Result<SourcePtr> open(SourcePtr input) const override { return s_->open(std::move(input)); }
  bool first_only() const override { return s_->first_only(); }
  bool source() const override { return s_->first_only() || s_->collectionless(); }
  bool independent() const override { return s_->collectionless(); }
  bool change_stream() const override { return s_->change_stream(); }
  bool allowed_in_subpipeline() const { return s_->allowed_in_subpipeline(); }

 private:
  std::unique_ptr<HostStage> s_;
};

bool writes(const Stage& s) { return s.name() == "$out" || s.name() == "$merge"; }

// Stages the server allows after $changeStream (DocumentSource::constraints().isAllowedInChangeStream()).
bool allowed_in_change_stream(std::string_view n) {
  return n == "$match" || n == "$project" || n == "$addFields" || n == "$set" || n == "$unset" ||
         n == "$replaceRoot" || n == "$replaceWith" || n == "$redact" || n == "$changeStreamSplitLargeEvent";
}

Status check_place(const Stage& s, const ParseState& ps) {
  const auto* host = dynamic_cast<const HostStageAdapter*>(&s);
  const bool host_refused = host && !host->allowed_in_subpipeline();
  switch (ps.place) {
    case Place::kFacet:
      // FacetRequirement::kNotAllowed stages.
      if (writes(s) || s.name() == "$facet" || s.name() == "$collStats" || s.name() == "$indexStats" ||
          s.name() == "$documents" || host_refused) {
        return Status(40600, s.name() + " is not allowed to be used within a $facet stage");
      }
      break;
    case Place::kLookup:
      if (writes(s) || host_refused) {
        return Status(51047, s.name() + " is not allowed within a $lookup's sub-pipeline");
      }
      break;
    case Place::kUnionWith:
      if (writes(s) || host_refused) {
        return Status(31441, s.name() + " is not allowed within a $unionWith's sub-pipeline");
      }
      break;
    case Place::kUpdate:
      if (!s.is_transform()) {
        return Status(common::kInvalidOptions, s.name() + " is not allowed to be used within an update");
      }
      break;
    case Place::kTop:
      break;
  }
  return Status::OK();
}

Result<Stages> parse_one(const bson_iter_t* stage_it, const ParseState& ps) {
  if (!BSON_ITER_HOLDS_DOCUMENT(stage_it)) {
    return Status(common::kTypeMismatch, "Each element of the 'pipeline' array must be an object");
  }
  bson_t stage;
  if (!sub_doc(stage_it, &stage)) return Status(common::kInvalidBSON, "invalid pipeline stage");
  if (bson_count_keys(&stage) != 1) {
    return Status(40323, "A pipeline stage specification object must contain exactly one field.");
  }
  bson_iter_t it;
  bson_iter_init(&it, &stage);
  bson_iter_next(&it);
  std::string_view name = key_of(&it);
  const Registry& reg = registry();
  auto f = reg.find(name);
  if (f != reg.end() && f->second.since <= ps.ctx->version) return f->second.parse(name, &it, ps);
  if (ps.host && ps.place != Place::kUpdate && f == reg.end()) {
    MS_ASSIGN_OR_RETURN(auto hs, ps.host->make_host_stage(name, &it, *ps.ctx));
    if (hs) {
      Stages out;
      out.push_back(std::make_unique<HostStageAdapter>(std::string(name), std::move(hs)));
      return out;
    }
  }
  return Status(40324, "Unrecognized pipeline stage name: '" + std::string(name) + "'");
}

}  // namespace

Result<StageList> parse_stage_list(const bson_t* arr, const ParseState& ps) {
  if (ps.depth > kMaxSubPipelineDepth) {
    return Status(232 /* MaxSubPipelineDepthExceeded */,
                  "Maximum number of nested sub-pipelines exceeded. Limit is " + std::to_string(kMaxSubPipelineDepth));
  }
  StageList list;
  bson_iter_t it;
  if (!bson_iter_init(&it, arr)) return Status(common::kInvalidBSON, "invalid pipeline");
  while (bson_iter_next(&it)) {
    MS_ASSIGN_OR_RETURN(Stages s, parse_one(&it, ps));
    for (auto& st : s) list.stages.push_back(std::move(st));
  }
  if (list.stages.size() > kMaxPipelineLength) {
    return Status(common::kFailedToParse,
                  "Pipeline length must be no longer than " + std::to_string(kMaxPipelineLength) + " stages");
  }
  const bool change_stream = !list.stages.empty() && list.stages.front()->change_stream();
  for (size_t i = 0; i < list.stages.size(); ++i) {
    const Stage& s = *list.stages[i];
    if (s.first_only() && i != 0) {
      return Status(40602, s.name() + " is only valid as the first stage in a pipeline");
    }
    if (s.last_only() && i + 1 != list.stages.size()) {
      return Status(40601, s.name() + " can only be the final stage in the pipeline");
    }
    MS_RETURN_IF_ERROR(check_place(s, ps));
    if (change_stream && i > 0 && !s.change_stream() && !allowed_in_change_stream(s.name())) {
      return Status(common::kIllegalOperation, s.name() + " is not permitted in a $changeStream pipeline");
    }
  }
  coalesce_sort_limit(list);
  return list;
}

Result<StageList> parse_stage_list(const bson_iter_t* arr_it, const ParseState& ps) {
  bson_t arr;
  if (!sub_doc(arr_it, &arr)) return Status(common::kInvalidBSON, "invalid pipeline");
  return parse_stage_list(&arr, ps);
}

// ---- the top-level pipeline -----------------------------------------------------------------

namespace {

class PipelineImpl : public Pipeline {
 public:
  Result<SourcePtr> run(SourcePtr input) const override { return list_.run(std::move(input)); }
  const bson_t* leading_match() const override { return leading_match_ ? leading_match_->get() : nullptr; }
  bool is_collectionless_source() const override {
    return !list_.stages.empty() && list_.stages.front()->source();
  }
  bool writes_output() const override { return !list_.stages.empty() && writes(*list_.stages.back()); }
  Status check_namespace(bool aggregate_one) const override {
    if (list_.stages.empty()) {
      if (aggregate_one) return Status(common::kInvalidNamespace, "{aggregate: 1} is not valid for an empty pipeline.");
      return Status::OK();
    }
    const Stage& first = *list_.stages.front();
    if (aggregate_one && !first.independent()) {
      return Status(common::kInvalidNamespace,
                    "{aggregate: 1} is not valid for '" + first.name() + "'; a collection is required.");
    }
    if (!aggregate_one && first.independent()) {
      return Status(common::kInvalidNamespace, "'" + first.name() + "' can only be run with {aggregate: 1}");
    }
    return Status::OK();
  }

  std::unique_ptr<ExpressionContext> ctx_;
  StageList list_;
  std::optional<Bson> leading_match_;
};

}  // namespace

}  // namespace pipe

using pipe::ParseState;
using pipe::Place;

std::unique_ptr<DocumentSource> make_vector_source(std::vector<Bson> docs) {
  return std::make_unique<pipe::VectorSource>(std::move(docs));
}

Result<std::unique_ptr<Pipeline>> Pipeline::parse(const bson_t* stages, const ExpressionContext& ctx,
                                                  PipelineHost* host) {
  auto p = std::make_unique<pipe::PipelineImpl>();
  p->ctx_ = std::make_unique<ExpressionContext>(ctx);
  // $$DESCEND, $$PRUNE and $$KEEP are builtin variables of the server, valid anywhere.
  p->ctx_->let.emplace("DESCEND", Value::string("descend"));
  p->ctx_->let.emplace("PRUNE", Value::string("prune"));
  p->ctx_->let.emplace("KEEP", Value::string("keep"));
  ParseState ps{p->ctx_.get(), host, host ? Place::kTop : Place::kUpdate, 0};
  MS_ASSIGN_OR_RETURN(p->list_, pipe::parse_stage_list(stages, ps));
  // The filter of a leading $match, for the host's index selection.
  bson_iter_t it, st;
  if (!p->list_.stages.empty() && p->list_.stages.front()->name() == "$match" && bson_iter_init(&it, stages) &&
      bson_iter_next(&it) && bson_iter_recurse(&it, &st) && bson_iter_next(&st)) {
    bson_t filter;
    if (pipe::sub_doc(&st, &filter)) p->leading_match_ = Bson(&filter);
  }
  return std::unique_ptr<Pipeline>(std::move(p));
}

Result<Bson> apply_update_pipeline(const Pipeline& p, const bson_t* doc) {
  const auto& impl = static_cast<const pipe::PipelineImpl&>(p);
  Bson cur(doc);
  for (const auto& s : impl.list_.stages) {
    if (!s->is_transform()) {
      return Status(common::kInvalidOptions, s->name() + " is not allowed to be used within an update");
    }
    MS_ASSIGN_OR_RETURN(cur, s->transform(cur.get()));
  }
  return cur;
}

// ---- host defaults --------------------------------------------------------------------------

Result<std::unique_ptr<DocumentSource>> PipelineHost::find_equal(const std::string& db, const std::string& coll,
                                                                 const std::string& path,
                                                                 const std::vector<Value>& values,
                                                                 const ExpressionContext& ctx) {
  // {$or: [{path: {$eq: v}}, ...]}: $eq keeps regex values literal, unlike $in.
  bson_t filter = BSON_INITIALIZER;
  bson_t ors;
  bson_append_array_begin(&filter, "$or", 3, &ors);
  uint32_t i = 0;
  for (const auto& v : values) {
    char buf[16];
    std::string_view k = common::array_key(i++, buf);
    bson_t clause, eq;
    bson_append_document_begin(&ors, k.data(), static_cast<int>(k.size()), &clause);
    bson_append_document_begin(&clause, path.data(), static_cast<int>(path.size()), &eq);
    v.append_to(&eq, "$eq");
    bson_append_document_end(&clause, &eq);
    bson_append_document_end(&ors, &clause);
  }
  bson_append_array_end(&filter, &ors);
  Bson f = Bson::steal(&filter);
  auto ectx = std::make_shared<ExpressionContext>(ctx);
  if (values.empty()) return make_vector_source({});
  auto m = Matcher::parse(f.get(), *ectx);
  if (!m.ok()) return m.status();
  MS_ASSIGN_OR_RETURN(auto src, open_collection(db, coll));
  std::shared_ptr<Matcher> matcher(std::move(m).value());
  std::shared_ptr<DocumentSource> in(std::move(src));
  return pipe::make_gen_source([in, matcher, ectx]() -> Result<std::optional<Bson>> {
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, in->next());
      if (!d || matcher->matches(d->get())) return d;
    }
  });
}

Result<std::unique_ptr<HostStage>> PipelineHost::make_host_stage(std::string_view, const bson_iter_t*,
                                                                 const ExpressionContext&) {
  return std::unique_ptr<HostStage>();
}

}  // namespace mql
