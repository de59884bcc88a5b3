// Streaming and simple blocking stages: $match, $limit, $skip, $sort, $count, $sample,
// $unwind, $replaceRoot/$replaceWith, $redact, $documents (server: document_source_match.cpp,
// _limit, _skip, _sort, _count, _sample, _unwind, _replace_root, _redact, _documents).
#include <algorithm>
#include <cmath>
#include <queue>
#include <random>

#include "mql/compare.h"
#include "mql/matcher.h"
#include "mql/pipeline_internal.h"
#include "mql/sort.h"
#include "mql/update_tostring.h"

namespace mql::pipe {

namespace {

// ---- $match ---------------------------------------------------------------------------------

class MatchStage : public Stage {
 public:
  MatchStage(std::unique_ptr<Matcher> m) : Stage("$match"), m_(std::move(m)) {}
  Result<SourcePtr> open(SourcePtr input) const override {
    if (m_->matches_everything()) return input;
    return make_map_source(std::move(input), [this](Bson&& d) -> Result<std::optional<Bson>> {
      if (m_->matches(d.get())) return std::optional<Bson>(std::move(d));
      return std::optional<Bson>();
    });
  }

 private:
  std::unique_ptr<Matcher> m_;
};

Result<Stages> parse_match(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t filter;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &filter)) {
    return Status(15959, "the match filter must be an expression in an object");
  }
  MS_ASSIGN_OR_RETURN(auto m, Matcher::parse(&filter, *ps.ctx));
  return one<MatchStage>(std::move(m));
}

// ---- $limit / $skip -------------------------------------------------------------------------

// The server's BSONElement::parseIntegerElementToNonNegativeLong, with its messages.
Result<int64_t> non_negative_integer(const bson_iter_t* it) {
  const std::string elem = mongo_elem_string(key_of(it), bson_iter_value(const_cast<bson_iter_t*>(it)));
  bson_type_t t = bson_iter_type(it);
  if (t != BSON_TYPE_INT32 && t != BSON_TYPE_INT64 && t != BSON_TYPE_DOUBLE && t != BSON_TYPE_DECIMAL128) {
    return Status(common::kFailedToParse, "Expected a number in: " + elem);
  }
  if (t == BSON_TYPE_DOUBLE) {
    double d = bson_iter_double(it);
    if (std::isnan(d)) return Status(common::kFailedToParse, "Expected an integer, but found NaN in: " + elem);
    if (d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) {
      return Status(common::kFailedToParse, "Cannot represent as a 64-bit integer: " + elem);
    }
    if (d != std::trunc(d)) return Status(common::kFailedToParse, "Expected an integer: " + elem);
  }
  auto n = integral_of(it);
  if (!n) {
    if (t == BSON_TYPE_DECIMAL128) return Status(common::kFailedToParse, "Cannot represent as a 64-bit integer: " + elem);
    return Status(common::kFailedToParse, "Expected an integer: " + elem);
  }
  if (*n < 0) return Status(common::kFailedToParse, "Expected a non-negative number in: " + elem);
  return *n;
}

class LimitStage : public Stage {
 public:
  explicit LimitStage(int64_t n) : Stage("$limit"), n_(n) {}
  int64_t limit() const { return n_; }
  Result<SourcePtr> open(SourcePtr input) const override {
    auto left = std::make_shared<int64_t>(n_);
    std::shared_ptr<DocumentSource> in(std::move(input));
    return make_gen_source([in, left]() -> Result<std::optional<Bson>> {
      if (*left <= 0) return std::optional<Bson>();
      --*left;
      return in->next();
    });
  }

 private:
  int64_t n_;
};

class SkipStage : public Stage {
 public:
  explicit SkipStage(int64_t n) : Stage("$skip"), n_(n) {}
  Result<SourcePtr> open(SourcePtr input) const override {
    auto left = std::make_shared<int64_t>(n_);
    return make_map_source(std::move(input), [left](Bson&& d) -> Result<std::optional<Bson>> {
      if (*left > 0) {
        --*left;
        return std::optional<Bson>();
      }
      return std::optional<Bson>(std::move(d));
    });
  }

 private:
  int64_t n_;
};

Result<Stages> parse_limit(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  if (ps.ctx->version < 50) {
    // 4.4: numberLong() of any number.
    if (!BSON_ITER_HOLDS_NUMBER(spec)) return Status(15957, "the limit must be specified as a number");
    int64_t n = Value::from_iter(spec).as_int64();
    if (n <= 0) return Status(15958, "the limit must be positive");
    return one<LimitStage>(n);
  }
  auto n = non_negative_integer(spec);
  if (!n.ok()) return Status(5107201, "invalid argument to $limit stage: " + n.status().message());
  if (*n == 0) return Status(15958, "the limit must be positive");
  return one<LimitStage>(*n);
}

Result<Stages> parse_skip(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  if (ps.ctx->version < 50) {
    if (!BSON_ITER_HOLDS_NUMBER(spec)) return Status(15972, "Argument to $skip must be a number");
    int64_t n = Value::from_iter(spec).as_int64();
    if (n < 0) return Status(15956, "Argument to $skip cannot be negative");
    return one<SkipStage>(n);
  }
  auto n = non_negative_integer(spec);
  if (!n.ok()) return Status(5107200, "invalid argument to $skip stage: " + n.status().message());
  return one<SkipStage>(*n);
}

// ---- $sort ----------------------------------------------------------------------------------

// Documents ordered by a sort pattern, kept stable (equal keys keep input order); with a limit
// (a following $limit) only the first `limit` are held.
class SortStage : public Stage {
 public:
  SortStage(SortPattern p, const ExpressionContext& ctx) : Stage("$sort"), pattern_(std::move(p)), ctx_(ctx) {}
  void set_limit(int64_t n) { limit_ = limit_ ? std::min(*limit_, n) : n; }
  bool has_text_score() const {
    for (const auto& part : pattern_.parts()) {
      if (part.kind == SortPart::Kind::kTextScore) return true;
    }
    return false;
  }

  Result<SourcePtr> open(SourcePtr input) const override {
    if (has_text_score()) {
      return make_error_source(Status(40218, "query requires text score metadata, but it is not available"));
    }
    struct Entry {
      SortKey key;
      uint64_t seq;
      Bson doc;
      size_t bytes;
    };
    const Collator* coll = ctx_.coll();
    auto less = [this, coll](const Entry& a, const Entry& b) {
      int c = pattern_.compare_keys(a.key, b.key, coll);
      return c != 0 ? c < 0 : a.seq < b.seq;
    };
    std::shared_ptr<DocumentSource> in(std::move(input));
    auto state = std::make_shared<std::vector<Entry>>();
    auto pos = std::make_shared<size_t>(0);
    auto done = std::make_shared<bool>(false);
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    return make_gen_source([=, this]() -> Result<std::optional<Bson>> {
      if (!*done) {
        *done = true;
        MemoryBudget budget(ctx_, kStageMemoryLimit, [] { return sort_memory_exceeded(kStageMemoryLimit); });
        uint64_t seq = 0;
        std::vector<Entry>& v = *state;
        while (true) {
          MS_ASSIGN_OR_RETURN(auto d, in->next());
          if (!d) break;
          Entry e{pattern_.key(d->get(), coll), seq++, std::move(*d), 0};
          for (size_t i = 0; i < pattern_.parts().size(); ++i) {
            if (pattern_.parts()[i].kind == SortPart::Kind::kRandVal) {
              e.key[i] = Value::dbl(std::uniform_real_distribution<double>(0, 1)(*rng));
            }
          }
          e.bytes = e.doc.size() + sizeof(Entry);
          if (limit_) {
            // Top-k: a max-heap of the best `limit_` entries.
            if (static_cast<int64_t>(v.size()) < *limit_) {
              MS_RETURN_IF_ERROR(budget.add(e.bytes));
              v.push_back(std::move(e));
              std::push_heap(v.begin(), v.end(), less);
            } else if (less(e, v.front())) {
              std::pop_heap(v.begin(), v.end(), less);
              budget.release(v.back().bytes);
              MS_RETURN_IF_ERROR(budget.add(e.bytes));
              v.back() = std::move(e);
              std::push_heap(v.begin(), v.end(), less);
            }
          } else {
            MS_RETURN_IF_ERROR(budget.add(e.bytes));
            v.push_back(std::move(e));
          }
        }
        std::sort(v.begin(), v.end(), less);
      }
      if (*pos >= state->size()) return std::optional<Bson>();
      return std::optional<Bson>(std::move((*state)[(*pos)++].doc));
    });
  }

 private:
  SortPattern pattern_;
  const ExpressionContext& ctx_;
  std::optional<int64_t> limit_;
};

Result<Stages> parse_sort(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(15973, "the $sort key specification must be an object");
  }
  MS_ASSIGN_OR_RETURN(SortPattern p, SortPattern::parse(&s, SortPattern::Syntax::kPipeline));
  return one<SortStage>(std::move(p), *ps.ctx);
}

// ---- $count ---------------------------------------------------------------------------------

class CountStage : public Stage {
 public:
  explicit CountStage(std::string field) : Stage("$count"), field_(std::move(field)) {}
  Result<SourcePtr> open(SourcePtr input) const override {
    std::shared_ptr<DocumentSource> in(std::move(input));
    auto done = std::make_shared<bool>(false);
    return make_gen_source([in, done, this]() -> Result<std::optional<Bson>> {
      if (*done) return std::optional<Bson>();
      *done = true;
      int64_t n = 0;
      while (true) {
        MS_ASSIGN_OR_RETURN(auto d, in->next());
        if (!d) break;
        ++n;
      }
      // {$group: {_id: null, f: {$sum: 1}}}: no input, no output.
      if (n == 0) return std::optional<Bson>();
      Bson out;
      if (n <= INT32_MAX) {
        common::append_int32(out.mut(), field_, static_cast<int32_t>(n));
      } else {
        common::append_int64(out.mut(), field_, n);
      }
      return std::optional<Bson>(std::move(out));
    });
  }

 private:
  std::string field_;
};

Result<Stages> parse_count(std::string_view, const bson_iter_t* spec, const ParseState&) {
  if (!BSON_ITER_HOLDS_UTF8(spec)) return Status(40156, "the count field must be a non-empty string");
  uint32_t len = 0;
  const char* raw = bson_iter_utf8(spec, &len);
  std::string f(raw, len);
  if (f.empty()) return Status(40156, "the count field must be a non-empty string");
  if (f[0] == '$') return Status(40158, "the count field cannot be a $-prefixed path");
  if (f.find('.') != std::string::npos) return Status(40160, "the count field cannot contain '.'");
  return one<CountStage>(std::move(f));
}

// ---- $sample --------------------------------------------------------------------------------

class SampleStage : public Stage {
 public:
  SampleStage(int64_t n, const ExpressionContext& ctx) : Stage("$sample"), n_(n), ctx_(ctx) {}
  Result<SourcePtr> open(SourcePtr input) const override {
    std::shared_ptr<DocumentSource> in(std::move(input));
    auto out = std::make_shared<std::vector<Bson>>();
    auto done = std::make_shared<bool>(false);
    return make_gen_source([in, out, done, this]() -> Result<std::optional<Bson>> {
      if (!*done) {
        *done = true;
        // Reservoir sampling: memory bounded by the sample size, each document equally likely.
        std::mt19937_64 rng(std::random_device{}());
        MemoryBudget budget(ctx_, kStageMemoryLimit, [] { return sort_memory_exceeded(kStageMemoryLimit); });
        int64_t seen = 0;
        while (true) {
          MS_ASSIGN_OR_RETURN(auto d, in->next());
          if (!d) break;
          ++seen;
          if (static_cast<int64_t>(out->size()) < n_) {
            MS_RETURN_IF_ERROR(budget.add(d->size()));
            out->push_back(std::move(*d));
          } else {
            int64_t j = std::uniform_int_distribution<int64_t>(0, seen - 1)(rng);
            if (j < n_) (*out)[static_cast<size_t>(j)] = std::move(*d);
          }
        }
        std::shuffle(out->begin(), out->end(), rng);
        std::reverse(out->begin(), out->end());  // pop from the back
      }
      if (out->empty()) return std::optional<Bson>();
      Bson d = std::move(out->back());
      out->pop_back();
      return std::optional<Bson>(std::move(d));
    });
  }

 private:
  int64_t n_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_sample(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(28745, "the $sample stage specification must be an object");
  }
  bson_iter_t it;
  bson_iter_init(&it, &s);
  std::optional<int64_t> size;
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "size") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) return Status(28746, "size argument to $sample must be a number");
      int64_t n = Value::from_iter(&it).as_int64();
      if (n < 0) return Status(28747, "size argument to $sample must not be negative");
      size = n;
    } else {
      return Status(28748, "unrecognized option to $sample: " + std::string(k));
    }
  }
  if (!size) return Status(28749, "$sample stage must specify a size");
  return one<SampleStage>(*size, *ps.ctx);
}

// ---- $unwind --------------------------------------------------------------------------------

// The value at a dotted path through documents only (the server's getNestedField).
Value nested_value(const bson_t* doc, const FieldPath& path) {
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return Value();
  for (size_t i = 0; i < path.size(); ++i) {
    std::string_view part = path.part(i);
    if (!bson_iter_find_w_len(&it, part.data(), static_cast<int>(part.size()))) return Value();
    if (i + 1 == path.size()) return Value::from_iter(&it);
    bson_iter_t child;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &child)) return Value();
    it = child;
  }
  return Value();
}

class UnwindStage : public Stage {
 public:
  UnwindStage(FieldPath path, std::optional<FieldPath> index, bool preserve, bool strict)
      : Stage("$unwind"), path_(std::move(path)), index_(std::move(index)), preserve_(preserve), strict_(strict) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    struct State {
      std::shared_ptr<DocumentSource> in;
      std::optional<Bson> doc;
      std::vector<Value> elems;
      size_t pos = 0;
    };
    auto st = std::make_shared<State>();
    st->in = std::move(input);
    return make_gen_source([st, this]() -> Result<std::optional<Bson>> {
      while (true) {
        if (st->doc && st->pos < st->elems.size()) {
          OutDoc out = OutDoc::from(st->doc->get());
          set_path(out, path_, 0, st->elems[st->pos]);
          if (index_) set_path(out, *index_, 0, Value::int64(static_cast<int64_t>(st->pos)));
          ++st->pos;
          return std::optional<Bson>(out.bson());
        }
        MS_ASSIGN_OR_RETURN(auto d, st->in->next());
        if (!d) return std::optional<Bson>();
        Value v = nested_value(d->get(), path_);
        if (v.type() == BSON_TYPE_ARRAY) {
          st->elems = array_elems(v);
          st->pos = 0;
          if (!st->elems.empty()) {
            st->doc = std::move(*d);
            continue;
          }
          st->doc.reset();
          if (!preserve_) continue;
          // An empty array is removed from the preserved document.
          OutDoc out = OutDoc::from(d->get());
          remove_path(out, path_, 0);
          if (index_) set_path(out, *index_, 0, Value::null());
          return std::optional<Bson>(out.bson());
        }
        st->doc.reset();
        st->elems.clear();
        if (strict_) {
          return Status(5858203, "an array is expected");
        }
        if (v.nullish() && !preserve_) continue;
        // A non-array value passes through as a single element.
        if (!index_) return std::optional<Bson>(std::move(*d));
        OutDoc out = OutDoc::from(d->get());
        set_path(out, *index_, 0, Value::null());
        return std::optional<Bson>(out.bson());
      }
    });
  }

 private:
  FieldPath path_;
  std::optional<FieldPath> index_;
  bool preserve_;
  bool strict_;
};

Result<Stages> parse_unwind(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  std::string path;
  bool preserve = false;
  std::optional<std::string> index;
  if (BSON_ITER_HOLDS_DOCUMENT(spec)) {
    bson_t s;
    sub_doc(spec, &s);
    bson_iter_t it;
    bson_iter_init(&it, &s);
    while (bson_iter_next(&it)) {
      std::string_view k = key_of(&it);
      if (k == "path") {
        if (!BSON_ITER_HOLDS_UTF8(&it)) {
          return Status(28808, "expected a string as the path for $unwind stage, got " + type_name(bson_iter_type(&it)));
        }
        path = bson_iter_utf8(&it, nullptr);
      } else if (k == "preserveNullAndEmptyArrays") {
        if (!BSON_ITER_HOLDS_BOOL(&it)) {
          return Status(28809, "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got " +
                                   type_name(bson_iter_type(&it)));
        }
        preserve = bson_iter_bool(&it);
      } else if (k == "includeArrayIndex") {
        if (!BSON_ITER_HOLDS_UTF8(&it) || bson_iter_utf8(&it, nullptr)[0] == '\0') {
          return Status(28810, "expected a non-empty string for the includeArrayIndex option to $unwind stage, got " +
                                   type_name(bson_iter_type(&it)));
        }
        index = bson_iter_utf8(&it, nullptr);
        if ((*index)[0] == '$') {
          return Status(28822, "includeArrayIndex option to $unwind stage should not be prefixed with a '$': " + *index);
        }
      } else {
        return Status(28811, "unrecognized option to $unwind stage: " + std::string(k));
      }
    }
  } else if (BSON_ITER_HOLDS_UTF8(spec)) {
    path = bson_iter_utf8(spec, nullptr);
  } else {
    return Status(15981, "expected either a string or an object as specification for $unwind stage, got " +
                             type_name(bson_iter_type(spec)));
  }
  if (path.empty()) return Status(28812, "no path specified to $unwind stage");
  if (path[0] != '$') return Status(28818, "path option to $unwind stage should be prefixed with a '$': " + path);
  std::string p = path.substr(1);
  MS_RETURN_IF_ERROR(validate_field_path(p, *ps.ctx));
  std::optional<FieldPath> ip;
  if (index) {
    MS_RETURN_IF_ERROR(validate_field_path(*index, *ps.ctx));
    ip = FieldPath(*index);
  }
  return one<UnwindStage>(FieldPath(p), std::move(ip), preserve, false);
}

// ---- $replaceRoot / $replaceWith ------------------------------------------------------------

class ReplaceRootStage : public TransformStage {
 public:
  ReplaceRootStage(std::string name, ExprPtr e, const ExpressionContext& ctx)
      : TransformStage(std::move(name)), e_(std::move(e)), ctx_(ctx) {}
  Result<Bson> transform(const bson_t* doc) const override {
    MS_ASSIGN_OR_RETURN(Value v, eval(*e_, doc, ctx_));
    if (v.type() != BSON_TYPE_DOCUMENT) {
      std::string what = name() == "$replaceWith" ? "'replacement document'"
                         : ctx_.version >= 50     ? "'newRoot' expression "
                                                  : "'newRoot' expression";
      return Status(40228, what + " must evaluate to an object, but resulting value was: " + value_string(v) +
                               ". Type of resulting value: '" + type_name(v.type()) +
                               "'. Input document: " + doc_string(doc));
    }
    return *to_bson(v);
  }

 private:
  ExprPtr e_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_replace_root(std::string_view name, const bson_iter_t* spec, const ParseState& ps) {
  if (name == "$replaceWith") {
    MS_ASSIGN_OR_RETURN(auto e, Expression::parse(spec, *ps.ctx));
    return one<ReplaceRootStage>("$replaceWith", std::move(e), *ps.ctx);
  }
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(40229, "expected an object as specification for $replaceRoot stage, got " +
                             type_name(bson_iter_type(spec)));
  }
  bson_iter_t it;
  bson_iter_init(&it, &s);
  ExprPtr e;
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k != "newRoot") {
      return Status(common::kUnrecognizedCommandField, "BSON field '$replaceRoot." + std::string(k) + "' is an unknown field.");
    }
    MS_ASSIGN_OR_RETURN(e, Expression::parse(&it, *ps.ctx));
  }
  if (!e) return Status(40414, "BSON field '$replaceRoot.newRoot' is missing but a required field");
  return one<ReplaceRootStage>("$replaceRoot", std::move(e), *ps.ctx);
}

// ---- $redact --------------------------------------------------------------------------------

class RedactStage : public Stage {
 public:
  RedactStage(ExprPtr e, const ExpressionContext& ctx) : Stage("$redact"), e_(std::move(e)), ctx_(ctx) {}
  Result<SourcePtr> open(SourcePtr input) const override {
    return make_map_source(std::move(input), [this](Bson&& d) -> Result<std::optional<Bson>> {
      Variables vars(ctx_);
      MS_ASSIGN_OR_RETURN(Value out, redact_object(value_of(d), d.get(), vars));
      if (out.missing()) return std::optional<Bson>();
      return to_bson(out);
    });
  }

 private:
  // The server's redactObject: evaluates with $$CURRENT = `cur`.
  Result<Value> redact_object(const Value& cur, const bson_t* root, Variables& vars) const {
    vars.set("CURRENT", cur);
    MS_ASSIGN_OR_RETURN(Value r, e_->evaluate(root, vars));
    if (r.type() == BSON_TYPE_UTF8) {
      if (r.as_string() == "keep") return cur;
      if (r.as_string() == "prune") return Value();
      if (r.as_string() == "descend") {
        OutDoc out;
        bson_t d = cur.view();
        bson_iter_t it;
        bson_iter_init(&it, &d);
        while (bson_iter_next(&it)) {
          MS_ASSIGN_OR_RETURN(Value v, redact_value(Value::from_iter(&it), root, vars));
          if (!v.missing()) out.push(std::string(key_of(&it)), std::move(v));
        }
        return out.value();
      }
    }
    return Status(17053,
                  "$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, "
                  "and $$PRUNE, but returned " +
                      value_string(r));
  }

  Result<Value> redact_value(const Value& v, const bson_t* root, Variables& vars) const {
    if (v.type() == BSON_TYPE_DOCUMENT) return redact_object(v, root, vars);
    if (v.type() != BSON_TYPE_ARRAY) return v;
    std::vector<Value> out;
    for (auto& e : array_elems(v)) {
      if (e.type() == BSON_TYPE_DOCUMENT || e.type() == BSON_TYPE_ARRAY) {
        MS_ASSIGN_OR_RETURN(Value r, redact_value(e, root, vars));
        if (!r.missing()) out.push_back(std::move(r));
      } else {
        out.push_back(std::move(e));
      }
    }
    return make_array(out);
  }

  ExprPtr e_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_redact(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  MS_ASSIGN_OR_RETURN(auto e, Expression::parse(spec, *ps.ctx));
  return one<RedactStage>(std::move(e), *ps.ctx);
}

// ---- $documents -----------------------------------------------------------------------------

class DocumentsStage : public Stage {
 public:
  DocumentsStage(ExprPtr e, const ExpressionContext& ctx) : Stage("$documents"), e_(std::move(e)), ctx_(ctx) {}
  bool first_only() const override { return true; }
  bool source() const override { return true; }
  bool independent() const override { return true; }
  Result<SourcePtr> open(SourcePtr) const override {
    bson_t empty = BSON_INITIALIZER;
    auto v = eval(*e_, &empty, ctx_);
    if (!v.ok()) return make_error_source(with_stage_context(v.status(), "$documents"));
    if (v->type() != BSON_TYPE_ARRAY) return make_error_source(Status(5858203, "an array is expected"));
    std::vector<Bson> docs;
    for (const auto& e : array_elems(*v)) {
      if (e.type() != BSON_TYPE_DOCUMENT) {
        return make_error_source(
            Status(40228, "'replacement document' must evaluate to an object, but resulting value was: " +
                              value_string(e) + ". Type of resulting value: '" + type_name(e.type()) +
                              "'. Input document: {}"));
      }
      docs.push_back(*to_bson(e));
    }
    return make_vector_source(std::move(docs));
  }

 private:
  ExprPtr e_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_documents(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  auto e = Expression::parse(spec, *ps.ctx);
  if (!e.ok()) return with_stage_context(e.status(), "$documents");
  return one<DocumentsStage>(std::move(e).value(), *ps.ctx);
}

}  // namespace

// $sort immediately followed by $limit sorts only the first `limit` documents.
void coalesce_sort_limit(StageList& list) {
  for (size_t i = 0; i + 1 < list.stages.size(); ++i) {
    auto* sort = dynamic_cast<SortStage*>(list.stages[i].get());
    auto* limit = dynamic_cast<LimitStage*>(list.stages[i + 1].get());
    if (sort && limit) sort->set_limit(limit->limit());
  }
}

std::vector<StageDef> basic_stages() {
  return {
      {"$match", 0, parse_match},          {"$limit", 0, parse_limit},   {"$skip", 0, parse_skip},
      {"$sort", 0, parse_sort},            {"$count", 0, parse_count},   {"$sample", 0, parse_sample},
      {"$unwind", 0, parse_unwind},        {"$replaceRoot", 0, parse_replace_root},
      {"$replaceWith", 0, parse_replace_root}, {"$redact", 0, parse_redact},
      {"$documents", 60, parse_documents},
  };
}

}  // namespace mql::pipe
