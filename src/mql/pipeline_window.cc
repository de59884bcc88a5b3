// $setWindowFields: partitions, sortBy, document- and range-based windows (with time units),
// every accumulator as a window function plus $rank, $denseRank, $documentNumber, $shift,
// $expMovingAvg, $derivative, $integral, $covariancePop/$covarianceSamp, $locf, $linearFill
// (server: document_source_set_window_fields.cpp, window_function/*.cpp, window_bounds.cpp).
#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "common/stable_sort.h"
#include "mql/accumulator.h"
#include "mql/arith.h"
#include "mql/compare.h"
#include "mql/pipeline_internal.h"
#include "mql/sort.h"

namespace mql::pipe {

namespace {

Status parse_error(std::string msg) { return Status(common::kFailedToParse, std::move(msg)); }

// ---- window bounds --------------------------------------------------------------------------

struct Bound {
  enum class Kind { kUnbounded, kCurrent, kValue } kind = Kind::kUnbounded;
  Value v;  // kValue: an integer (documents) or a number (range)
};

struct Window {
  enum class Kind { kDocuments, kRange } kind = Kind::kDocuments;
  Bound lower, upper;
  std::optional<TimeUnit> unit;
  bool unbounded() const { return lower.kind == Bound::Kind::kUnbounded && upper.kind == Bound::Kind::kUnbounded; }
};

Result<Bound> parse_bound(const bson_iter_t* it, bool documents, bool with_unit, const ExpressionContext& ctx) {
  Bound b;
  if (BSON_ITER_HOLDS_UTF8(it)) {
    std::string s = bson_iter_utf8(it, nullptr);
    if (s == "unbounded") return b;
    if (s == "current") {
      b.kind = Bound::Kind::kCurrent;
      return b;
    }
    return parse_error("Window bounds must be 'unbounded', 'current', or a number.");
  }
  MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, ctx));
  if (!e->is_constant()) return parse_error("Window bounds expression must be a constant.");
  bson_t empty = BSON_INITIALIZER;
  MS_ASSIGN_OR_RETURN(Value v, eval(*e, &empty, ctx));
  auto integral = [&]() {
    if (!v.is_number()) return false;
    double d = v.as_double();
    return std::isfinite(d) && d == std::trunc(d);
  };
  if (documents && !integral()) return parse_error("Numeric document-based bounds must be an integer");
  if (with_unit && !integral()) return parse_error("With 'unit', range-based bounds must be an integer");
  if (!documents && !with_unit && !v.is_number()) return parse_error("Range-based bounds expression must be a number");
  b.kind = Bound::Kind::kValue;
  b.v = documents ? Value::int64(v.as_int64()) : v;
  return b;
}

Result<Window> parse_window(const bson_iter_t* it, const SortPattern* sort_by, const ExpressionContext& ctx) {
  bson_t w;
  if (!BSON_ITER_HOLDS_DOCUMENT(it) || !sub_doc(it, &w)) return parse_error("'window' field must be an object");
  bson_iter_t docs, range, unit;
  const bool has_docs = bson_iter_init_find(&docs, &w, "documents");
  const bool has_range = bson_iter_init_find(&range, &w, "range");
  const bool has_unit = bson_iter_init_find(&unit, &w, "unit");
  const uint32_t n = bson_count_keys(&w);
  if (has_docs && has_range) return parse_error("Window bounds can specify either 'documents' or 'unit', not both.");
  if (!has_range && has_unit) return parse_error("Window bounds can only specify 'unit' with range-based bounds.");
  Window win;
  if (!has_range && !has_docs) {
    if (n != 0) {
      return parse_error("'window' field can only contain 'documents' as the only argument or 'range' with an optional "
                         "'unit' field");
    }
    return win;
  }
  const bson_iter_t* pair = has_docs ? &docs : &range;
  bson_t arr;
  if (!BSON_ITER_HOLDS_ARRAY(pair) || !sub_doc(pair, &arr) || bson_count_keys(&arr) != 2) {
    return parse_error("Window bounds must be a 2-element array: " + std::string(key_of(pair)) + ": " +
                       value_string(Value::from_iter(pair)));
  }
  bson_iter_t lo, hi;
  bson_iter_init(&lo, &arr);
  bson_iter_next(&lo);
  hi = lo;
  bson_iter_next(&hi);
  if (has_docs) {
    if (n != 1) return parse_error("'window' field that specifies documents cannot have other fields");
    win.kind = Window::Kind::kDocuments;
  } else {
    win.kind = Window::Kind::kRange;
    if (has_unit) {
      if (n != 2) return parse_error("'window' field that specifies unit cannot have other fields besides 'range'");
      if (!BSON_ITER_HOLDS_UTF8(&unit)) return parse_error("'unit' must be a string");
      MS_ASSIGN_OR_RETURN(win.unit, parse_time_unit(bson_iter_utf8(&unit, nullptr)));
    } else if (n != 1) {
      return parse_error("'window' field that specifies range cannot have other fields besides 'unit'");
    }
  }
  MS_ASSIGN_OR_RETURN(win.lower, parse_bound(&lo, has_docs, has_unit, ctx));
  MS_ASSIGN_OR_RETURN(win.upper, parse_bound(&hi, has_docs, has_unit, ctx));
  // lower <= upper, 'current' counting as 0
  auto num = [](const Bound& b) -> std::optional<Value> {
    if (b.kind == Bound::Kind::kCurrent) return Value::int32(0);
    if (b.kind == Bound::Kind::kValue) return b.v;
    return std::nullopt;
  };
  auto l = num(win.lower), u = num(win.upper);
  if (l && u && compare_values(&l->raw(), &u->raw(), nullptr) > 0) {
    return Status(5339900, "Lower bound must not exceed upper bound: [" + value_string(*l) + ", " + value_string(*u) + "]");
  }
  if (has_docs) {
    if (!win.unbounded() && !sort_by) return Status(5339901, "Document-based bounds require a sortBy");
  } else {
    if (!sort_by || sort_by->parts().size() != 1) return Status(5339902, "Range-based bounds require sortBy a single field");
    if (ctx.version >= 80 && !sort_by->parts()[0].ascending) {
      return Status(8947401, "Range-based bounds require an ascending sortBy");
    }
  }
  return win;
}

// ---- window functions -----------------------------------------------------------------------

enum class Fn {
  kAccumulator,
  kRank,
  kDenseRank,
  kDocumentNumber,
  kShift,
  kExpMovingAvg,
  kDerivative,
  kIntegral,
  kCovariancePop,
  kCovarianceSamp,
  kLocf,
  kLinearFill,
};

struct OutputSpec {
  FieldPath path;
  Fn fn = Fn::kAccumulator;
  std::string op;
  std::unique_ptr<AccumulatorSpec> acc;
  ExprPtr input;               // the function's input (accumulators: acc->argument())
  Window window;
  bool has_window = false;
  int64_t shift_by = 0;        // $shift
  Value shift_default;         // $shift
  double alpha = 0;            // $expMovingAvg
  std::optional<TimeUnit> unit;  // $derivative, $integral
};

bool is_accumulator_fn(std::string_view op, int version) {
  static const std::pair<std::string_view, int> kFns[] = {
      {"$sum", 50},    {"$avg", 50},     {"$min", 50},        {"$max", 50},         {"$count", 50},
      {"$push", 50},   {"$addToSet", 50}, {"$first", 50},     {"$last", 50},        {"$stdDevPop", 50},
      {"$stdDevSamp", 50}, {"$top", 60}, {"$bottom", 60},     {"$topN", 60},        {"$bottomN", 60},
      {"$firstN", 60}, {"$lastN", 60},   {"$maxN", 60},       {"$minN", 60},        {"$median", 70},
      {"$percentile", 70},
  };
  for (const auto& [n, v] : kFns) {
    if (n == op) return v <= version;
  }
  return false;
}

Fn special_fn(std::string_view op, int version, bool* known) {
  static const std::tuple<std::string_view, Fn, int> kFns[] = {
      {"$rank", Fn::kRank, 50},
      {"$denseRank", Fn::kDenseRank, 50},
      {"$documentNumber", Fn::kDocumentNumber, 50},
      {"$shift", Fn::kShift, 50},
      {"$expMovingAvg", Fn::kExpMovingAvg, 50},
      {"$derivative", Fn::kDerivative, 50},
      {"$integral", Fn::kIntegral, 50},
      {"$covariancePop", Fn::kCovariancePop, 50},
      {"$covarianceSamp", Fn::kCovarianceSamp, 50},
      {"$locf", Fn::kLocf, 60},
      {"$linearFill", Fn::kLinearFill, 60},
  };
  for (const auto& [n, f, v] : kFns) {
    if (n == op && v <= version) {
      *known = true;
      return f;
    }
  }
  *known = false;
  return Fn::kAccumulator;
}

// Named arguments of $shift / $expMovingAvg / $derivative / $integral.
Result<std::vector<std::optional<bson_iter_t>>> named_args(const bson_iter_t* it, std::string_view op,
                                                           std::initializer_list<std::string_view> names) {
  bson_t obj;
  if (!BSON_ITER_HOLDS_DOCUMENT(it) || !sub_doc(it, &obj)) {
    return parse_error("Argument to " + std::string(op) + " must be an object");
  }
  std::vector<std::optional<bson_iter_t>> out(names.size());
  bson_iter_t f;
  bson_iter_init(&f, &obj);
  while (bson_iter_next(&f)) {
    size_t i = 0;
    bool found = false;
    for (auto n : names) {
      if (key_of(&f) == n) {
        out[i] = f;
        found = true;
      }
      ++i;
    }
    if (!found) return parse_error(std::string(op) + " got unexpected argument: " + std::string(key_of(&f)));
  }
  return out;
}

Result<OutputSpec> parse_output(const bson_iter_t* field, const SortPattern* sort_by, const ExpressionContext& ctx) {
  OutputSpec o;
  std::string name(key_of(field));
  MS_RETURN_IF_ERROR(validate_field_path(name, ctx));
  o.path = FieldPath(name);
  bson_t obj;
  if (!BSON_ITER_HOLDS_DOCUMENT(field) || !sub_doc(field, &obj)) {
    return parse_error("The field '" + name + "' must be an object");
  }
  // Find the function: the first $-prefixed field.
  bson_iter_t it;
  bson_iter_init(&it, &obj);
  std::optional<bson_iter_t> fn_it, window_it;
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k.empty() || k[0] != '$') continue;
    bool known = false;
    special_fn(k, ctx.version, &known);
    if (!known && !is_accumulator_fn(k, ctx.version)) return parse_error("Unrecognized window function, " + std::string(k));
    break;
  }
  bson_iter_init(&it, &obj);
  bool any_fn = false;
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    bool known = false;
    special_fn(k, ctx.version, &known);
    if (k == "window") {
      window_it = it;
    } else if (known || is_accumulator_fn(k, ctx.version)) {
      if (fn_it) return parse_error("Cannot specify two functions in window function spec");
      fn_it = it;
      any_fn = true;
    } else {
      return parse_error("Window function found an unknown argument: " + std::string(k));
    }
  }
  if (!any_fn) {
    bson_iter_init(&it, &obj);
    std::string first = bson_iter_next(&it) ? std::string(key_of(&it)) : "";
    return parse_error("Expected a $-prefixed window function" + (first.empty() ? "" : ", " + first));
  }
  o.op = std::string(key_of(&*fn_it));
  bool known = false;
  o.fn = special_fn(o.op, ctx.version, &known);
  if (window_it) {
    MS_ASSIGN_OR_RETURN(o.window, parse_window(&*window_it, sort_by, ctx));
    o.has_window = true;
  }
  const bson_iter_t* arg = &*fn_it;
  switch (o.fn) {
    case Fn::kAccumulator: {
      if (o.op == "$count") {
        bson_t c;
        if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !sub_doc(arg, &c) || !bson_empty(&c)) {
          return parse_error("$count only accepts an empty object as input");
        }
      }
      MS_ASSIGN_OR_RETURN(o.acc, AccumulatorSpec::parse(arg, ctx, AccumulatorSpec::Use::kWindow));
      break;
    }
    case Fn::kRank:
    case Fn::kDenseRank:
    case Fn::kDocumentNumber: {
      if (bson_count_keys(&obj) != 1) return Status(5371601, "Rank style window functions take no other arguments");
      bson_t e;
      if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !sub_doc(arg, &e) || !bson_empty(&e)) {
        return Status(5371603, o.op + " must be specified with '{}' as the value");
      }
      if (!sort_by || sort_by->parts().size() != 1) {
        return Status(5371602, o.op + " must be specified with a top level sortBy expression with exactly one element");
      }
      break;
    }
    case Fn::kShift: {
      if (window_it) return parse_error("$shift does not accept a 'window' field");
      MS_ASSIGN_OR_RETURN(auto a, named_args(arg, o.op, {"output", "by", "default"}));
      if (!a[0]) return parse_error("$shift requires an 'output' expression.");
      if (!a[1]) return parse_error("$shift requires 'by' as an integer value.");
      MS_ASSIGN_OR_RETURN(o.input, Expression::parse(&*a[0], ctx));
      auto by = integral_of(&*a[1]);
      if (!by || *by < INT32_MIN || *by > INT32_MAX) return parse_error("'$shift:by' field must be an integer, but found " + value_string(Value::from_iter(&*a[1])));
      o.shift_by = *by;
      o.shift_default = Value::null();
      if (a[2]) {
        MS_ASSIGN_OR_RETURN(auto d, Expression::parse(&*a[2], ctx));
        if (!d->is_constant()) return parse_error("'$shift:default' expression must yield a constant value.");
        bson_t empty = BSON_INITIALIZER;
        MS_ASSIGN_OR_RETURN(o.shift_default, eval(*d, &empty, ctx));
      }
      if (!sort_by) return parse_error("$shift requires a sortBy");
      break;
    }
    case Fn::kExpMovingAvg: {
      if (window_it) return parse_error("$expMovingAvg does not accept a 'window' field");
      MS_ASSIGN_OR_RETURN(auto a, named_args(arg, o.op, {"input", "N", "alpha"}));
      if (!a[0]) return parse_error("$expMovingAvg requires an 'input' expression");
      if (a[1] && a[2]) return parse_error("$expMovingAvg must have exactly one of 'N' or 'alpha'");
      if (!a[1] && !a[2]) return parse_error("$expMovingAvg must have exactly one of 'N' or 'alpha'");
      MS_ASSIGN_OR_RETURN(o.input, Expression::parse(&*a[0], ctx));
      if (a[1]) {
        auto n = integral_of(&*a[1]);
        if (!n || *n <= 0) return parse_error("'N' field must be an integer, but found type " + type_name(bson_iter_type(&*a[1])));
        o.alpha = 2.0 / (static_cast<double>(*n) + 1.0);
      } else {
        if (!BSON_ITER_HOLDS_NUMBER(&*a[2])) return parse_error("'alpha' must be a number");
        o.alpha = Value::from_iter(&*a[2]).as_double();
        if (!(o.alpha > 0 && o.alpha < 1)) return parse_error("'alpha' must be between 0 and 1 (exclusive), found " + value_string(Value::from_iter(&*a[2])));
      }
      if (!sort_by) return parse_error("$expMovingAvg requires an explicit 'sortBy'");
      break;
    }
    case Fn::kDerivative:
    case Fn::kIntegral: {
      MS_ASSIGN_OR_RETURN(auto a, named_args(arg, o.op, {"input", "unit"}));
      if (!a[0]) return parse_error(o.op + " requires an 'input' expression");
      MS_ASSIGN_OR_RETURN(o.input, Expression::parse(&*a[0], ctx));
      if (a[1]) {
        if (!BSON_ITER_HOLDS_UTF8(&*a[1])) return parse_error(o.op + "'s 'unit' must be a string");
        MS_ASSIGN_OR_RETURN(o.unit, parse_time_unit(bson_iter_utf8(&*a[1], nullptr)));
        if (!unit_ms(*o.unit)) return parse_error(o.op + " unit must be one of week, day, hour, minute, second, millisecond");
      }
      if (!sort_by || sort_by->parts().size() != 1) return parse_error(o.op + " requires a sortBy with exactly one field");
      if (o.fn == Fn::kDerivative && !window_it) return parse_error("$derivative requires explicit window bounds");
      break;
    }
    case Fn::kCovariancePop:
    case Fn::kCovarianceSamp:
    case Fn::kLocf:
    case Fn::kLinearFill: {
      if ((o.fn == Fn::kLocf || o.fn == Fn::kLinearFill) && window_it) {
        return parse_error(o.op + " does not accept a 'window' field");
      }
      MS_ASSIGN_OR_RETURN(o.input, Expression::parse(arg, ctx));
      if (o.fn == Fn::kLinearFill && (!sort_by || sort_by->parts().size() != 1)) {
        return Status(605001, "$linearFill requires a single sort field");
      }
      break;
    }
  }
  return o;
}

// ---- execution ------------------------------------------------------------------------------

struct Row {
  Value partition;
  SortKey key;
  Value sort_value;  // the single sortBy field's value (agg semantics), for range windows and ranks
  uint64_t seq;
  Bson doc;
};

class SetWindowFieldsStage : public Stage {
 public:
  SetWindowFieldsStage(ExprPtr partition, std::optional<SortPattern> sort, std::vector<OutputSpec> outputs,
                       const ExpressionContext& ctx)
      : Stage("$setWindowFields"), partition_(std::move(partition)), sort_(std::move(sort)),
        outputs_(std::move(outputs)), ctx_(ctx) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    return make_blocking_source(std::move(input), [this](DocumentSource& in) { return compute(in); });
  }

 private:
  Result<std::vector<Bson>> compute(DocumentSource& in) const {
    const Collator* coll = ctx_.coll();
    MemoryBudget budget(ctx_, kStageMemoryLimit, [] { return sort_memory_exceeded(kStageMemoryLimit); });
    std::vector<Row> rows;
    uint64_t seq = 0;
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, in.next());
      if (!d) break;
      Row r;
      if (partition_) {
        MS_ASSIGN_OR_RETURN(r.partition, eval(*partition_, d->get(), ctx_));
        if (r.partition.type() == BSON_TYPE_ARRAY) {
          return Status(5458302, "An expression used to partition cannot evaluate to value of type array");
        }
      }
      if (sort_) {
        r.key = sort_->key(d->get(), coll);
        if (sort_->parts().size() == 1) r.sort_value = get_agg(d->get(), sort_->parts()[0].path);
      }
      r.seq = seq++;
      MS_RETURN_IF_ERROR(budget.add(d->size() + sizeof(Row)));
      r.doc = std::move(*d);
      rows.push_back(std::move(r));
    }
    // The server sorts by {partition, sortBy} first.
    common::stable_sort(rows, [&](const Row& a, const Row& b) {
      Value pa = a.partition.missing() ? Value::null() : a.partition;
      Value pb = b.partition.missing() ? Value::null() : b.partition;
      int c = compare_values(&pa.raw(), &pb.raw(), coll);
      if (c != 0) return c < 0;
      if (sort_) return sort_->compare_keys(a.key, b.key, coll) < 0;
      return false;
    });
    std::vector<Bson> out;
    out.reserve(rows.size());
    size_t start = 0;
    while (start < rows.size()) {
      size_t end = start + 1;
      Value p0 = rows[start].partition.missing() ? Value::null() : rows[start].partition;
      while (end < rows.size()) {
        Value p = rows[end].partition.missing() ? Value::null() : rows[end].partition;
        if (compare_values(&p.raw(), &p0.raw(), coll) != 0) break;
        ++end;
      }
      std::vector<OutDoc> docs;
      docs.reserve(end - start);
      for (size_t i = start; i < end; ++i) docs.push_back(OutDoc::from(rows[i].doc.get()));
      for (const auto& o : outputs_) {
        MS_ASSIGN_OR_RETURN(std::vector<Value> vals, evaluate(o, rows, start, end));
        for (size_t i = 0; i < vals.size(); ++i) {
          set_path(docs[i], o.path, 0, vals[i].missing() ? Value::null() : std::move(vals[i]));
        }
      }
      for (auto& d : docs) out.push_back(d.bson());
      start = end;
    }
    return out;
  }

  // Index range [lo, hi) of the window of row `i` within [start, end).
  Result<std::pair<size_t, size_t>> window_of(const Window& w, const std::vector<Row>& rows, size_t start, size_t end,
                                               size_t i) const {
    if (w.kind == Window::Kind::kDocuments) {
      auto lo = static_cast<int64_t>(start), hi = static_cast<int64_t>(end);
      auto pos = static_cast<int64_t>(i);
      if (w.lower.kind == Bound::Kind::kCurrent) lo = pos;
      if (w.lower.kind == Bound::Kind::kValue) lo = pos + w.lower.v.as_int64();
      if (w.upper.kind == Bound::Kind::kCurrent) hi = pos + 1;
      if (w.upper.kind == Bound::Kind::kValue) hi = pos + w.upper.v.as_int64() + 1;
      lo = std::clamp<int64_t>(lo, static_cast<int64_t>(start), static_cast<int64_t>(end));
      hi = std::clamp<int64_t>(hi, static_cast<int64_t>(start), static_cast<int64_t>(end));
      if (hi < lo) hi = lo;
      return std::pair<size_t, size_t>(static_cast<size_t>(lo), static_cast<size_t>(hi));
    }
    // Range: rows whose sort value lies in [v + lower, v + upper].
    auto check = [&](const Value& v) -> Status {
      if (w.unit) {
        if (v.type() != BSON_TYPE_DATE_TIME) {
          return Status(5429513, "Invalid range: Expected the sortBy field to be a Date, but it was " + type_name(v.type()));
        }
      } else if (!v.is_number()) {
        return Status(5429413, "Invalid range: Expected the sortBy field to be a number, but it was " + type_name(v.type()));
      }
      return Status::OK();
    };
    const Value& cur = rows[i].sort_value;
    MS_RETURN_IF_ERROR(check(cur));
    auto shifted = [&](const Bound& b) -> Value {
      if (b.kind == Bound::Kind::kCurrent) return cur;
      if (w.unit) return Value::date(add_time_units(cur.raw().value.v_datetime, *w.unit, b.v.as_int64()));
      return Value(agg_add(cur.raw(), b.v.raw()));
    };
    std::optional<Value> lov, hiv;
    if (w.lower.kind != Bound::Kind::kUnbounded) lov = shifted(w.lower);
    if (w.upper.kind != Bound::Kind::kUnbounded) hiv = shifted(w.upper);
    size_t lo = end, hi = start;
    for (size_t j = start; j < end; ++j) {
      const Value& v = rows[j].sort_value;
      MS_RETURN_IF_ERROR(check(v));
      if (lov && compare_values(&v.raw(), &lov->raw(), nullptr) < 0) continue;
      if (hiv && compare_values(&v.raw(), &hiv->raw(), nullptr) > 0) continue;
      lo = std::min(lo, j);
      hi = std::max(hi, j + 1);
    }
    if (lo > hi) lo = hi = i;
    return std::pair<size_t, size_t>(lo, hi);
  }

  Result<Value> eval_input(const OutputSpec& o, const Row& r) const {
    const Expression& e = o.acc ? o.acc->argument() : *o.input;
    return eval(e, r.doc.get(), ctx_);
  }

  Result<std::vector<Value>> evaluate(const OutputSpec& o, const std::vector<Row>& rows, size_t start, size_t end) const {
    const size_t n = end - start;
    std::vector<Value> out(n);
    const Collator* coll = ctx_.coll();
    switch (o.fn) {
      case Fn::kAccumulator: {
        // Windows growing from the partition start reuse one accumulator.
        const bool growing = o.window.lower.kind == Bound::Kind::kUnbounded;
        std::unique_ptr<Accumulator> acc;
        size_t fed = start;
        for (size_t i = start; i < end; ++i) {
          MS_ASSIGN_OR_RETURN(auto range, window_of(o.window, rows, start, end, i));
          if (!growing || !acc || range.second < fed) {
            bson_t empty = BSON_INITIALIZER;
            MS_ASSIGN_OR_RETURN(acc, o.acc->make(&empty));
            fed = range.first;
          }
          for (; fed < range.second; ++fed) {
            Value v;
            if (o.acc->is_count()) {
              v = Value::int32(1);
            } else {
              MS_ASSIGN_OR_RETURN(v, eval_input(o, rows[fed]));
            }
            MS_RETURN_IF_ERROR(acc->process(v, rows[fed].doc.get()));
          }
          out[i - start] = acc->result();
          if (!growing) acc.reset();
        }
        return out;
      }
      case Fn::kDocumentNumber:
        for (size_t i = 0; i < n; ++i) out[i] = Value::int32(static_cast<int32_t>(i + 1));
        return out;
      case Fn::kRank:
      case Fn::kDenseRank: {
        int64_t rank = 0, dense = 0;
        for (size_t i = 0; i < n; ++i) {
          const Value& v = rows[start + i].sort_value;
          bool same = i > 0 && compare_values(&v.raw(), &rows[start + i - 1].sort_value.raw(), coll) == 0 &&
                      v.missing() == rows[start + i - 1].sort_value.missing();
          if (!same) {
            rank = static_cast<int64_t>(i) + 1;
            ++dense;
          }
          int64_t r = o.fn == Fn::kRank ? rank : dense;
          out[i] = r <= INT32_MAX ? Value::int32(static_cast<int32_t>(r)) : Value::int64(r);
        }
        return out;
      }
      case Fn::kShift:
        for (size_t i = 0; i < n; ++i) {
          int64_t j = static_cast<int64_t>(i) + o.shift_by;
          if (j < 0 || j >= static_cast<int64_t>(n)) {
            out[i] = o.shift_default;
          } else {
            MS_ASSIGN_OR_RETURN(Value v, eval_input(o, rows[start + static_cast<size_t>(j)]));
            out[i] = v.missing() ? Value::null() : std::move(v);
          }
        }
        return out;
      case Fn::kExpMovingAvg: {
        std::optional<Value> prev;
        for (size_t i = 0; i < n; ++i) {
          MS_ASSIGN_OR_RETURN(Value v, eval_input(o, rows[start + i]));
          if (!v.is_number()) {
            out[i] = Value::null();
            continue;
          }
          if (!prev) {
            prev = v.type() == BSON_TYPE_DECIMAL128 ? v : Value::dbl(v.as_double());
          } else if (v.type() == BSON_TYPE_DECIMAL128 || prev->type() == BSON_TYPE_DECIMAL128) {
            dec::D a = dec::from_double(o.alpha);
            dec::D x = num_to_decimal(v.raw()), p = num_to_decimal(prev->raw());
            prev = Value::decimal(dec::add(dec::mul(x, a), dec::mul(p, dec::sub(dec::from_int64(1), a))));
          } else {
            prev = Value::dbl(v.as_double() * o.alpha + prev->as_double() * (1 - o.alpha));
          }
          out[i] = *prev;
        }
        return out;
      }
      case Fn::kDerivative:
      case Fn::kIntegral: {
        for (size_t i = start; i < end; ++i) {
          MS_ASSIGN_OR_RETURN(auto range, window_of(o.window, rows, start, end, i));
          MS_ASSIGN_OR_RETURN(out[i - start], calculus(o, rows, range.first, range.second));
        }
        return out;
      }
      case Fn::kCovariancePop:
      case Fn::kCovarianceSamp: {
        for (size_t i = start; i < end; ++i) {
          MS_ASSIGN_OR_RETURN(auto range, window_of(o.window, rows, start, end, i));
          double sx = 0, sy = 0, sxy = 0;
          int64_t cnt = 0;
          std::vector<std::pair<double, double>> pts;
          for (size_t j = range.first; j < range.second; ++j) {
            MS_ASSIGN_OR_RETURN(Value v, eval_input(o, rows[j]));
            auto e = array_elems(v);
            if (v.type() != BSON_TYPE_ARRAY || e.size() != 2 || !e[0].is_number() || !e[1].is_number()) continue;
            pts.emplace_back(e[0].as_double(), e[1].as_double());
          }
          for (const auto& [x, y] : pts) {
            sx += x;
            sy += y;
            ++cnt;
          }
          const int64_t div = o.fn == Fn::kCovariancePop ? cnt : cnt - 1;
          if (cnt == 0 || div <= 0) {
            out[i - start] = Value::null();
            continue;
          }
          double mx = sx / static_cast<double>(cnt), my = sy / static_cast<double>(cnt);
          for (const auto& [x, y] : pts) sxy += (x - mx) * (y - my);
          out[i - start] = Value::dbl(sxy / static_cast<double>(div));
        }
        return out;
      }
      case Fn::kLocf: {
        Value last = Value::null();
        for (size_t i = 0; i < n; ++i) {
          MS_ASSIGN_OR_RETURN(Value v, eval_input(o, rows[start + i]));
          if (!v.nullish()) last = v;
          out[i] = last;
        }
        return out;
      }
      case Fn::kLinearFill: {
        std::vector<Value> ys(n);
        for (size_t i = 0; i < n; ++i) {
          MS_ASSIGN_OR_RETURN(ys[i], eval_input(o, rows[start + i]));
          if (!ys[i].nullish() && !ys[i].is_number()) {
            return Status(605001, "Value to be filled must be numeric or nullish, but found " + type_name(ys[i].type()));
          }
        }
        std::optional<size_t> prev;
        for (size_t i = 0; i < n; ++i) {
          if (!ys[i].nullish()) {
            out[i] = ys[i];
            prev = i;
            continue;
          }
          size_t next = i + 1;
          while (next < n && ys[next].nullish()) ++next;
          if (!prev || next >= n) {
            out[i] = Value::null();
            continue;
          }
          auto x = [&](size_t k) {
            const Value& s = rows[start + k].sort_value;
            return s.type() == BSON_TYPE_DATE_TIME ? static_cast<double>(s.raw().value.v_datetime) : s.as_double();
          };
          for (size_t k : {*prev, next, i}) {
            const Value& s = rows[start + k].sort_value;
            if (!s.is_number() && s.type() != BSON_TYPE_DATE_TIME) {
              return Status(605001, "The sortBy field of $linearFill must be numeric or a date, but found " +
                                        type_name(s.type()));
            }
          }
          double x0 = x(*prev), x1 = x(next), xi = x(i);
          double y0 = ys[*prev].as_double(), y1 = ys[next].as_double();
          out[i] = Value::dbl(x1 == x0 ? y0 : y0 + (y1 - y0) * (xi - x0) / (x1 - x0));
        }
        return out;
      }
    }
    return out;
  }

  // $derivative / $integral over rows [lo, hi) with x = the sortBy value (dates in `unit`).
  Result<Value> calculus(const OutputSpec& o, const std::vector<Row>& rows, size_t lo, size_t hi) const {
    std::vector<std::pair<double, double>> pts;
    for (size_t j = lo; j < hi; ++j) {
      const Value& s = rows[j].sort_value;
      double x;
      if (s.type() == BSON_TYPE_DATE_TIME) {
        if (!o.unit) {
          return Status(5624901, o.op + " where the sortBy is a Date requires an 'unit'");
        }
        x = static_cast<double>(s.raw().value.v_datetime) / static_cast<double>(unit_ms(*o.unit));
      } else if (s.is_number()) {
        if (o.unit) return Status(5624900, o.op + " with 'unit' expects the sortBy field to be a Date");
        x = s.as_double();
      } else {
        return Status(5624902, o.op + " requires the sortBy field to be a number or a date, but found " +
                                   type_name(s.type()));
      }
      MS_ASSIGN_OR_RETURN(Value y, eval_input(o, rows[j]));
      if (!y.is_number()) {
        if (o.fn == Fn::kDerivative) continue;
        return Status(5423900, "The input value of $integral window function must be a vector of 2 value, the first "
                               "value must be numeric or date type and the second must be numeric.");
      }
      pts.emplace_back(x, y.as_double());
    }
    if (o.fn == Fn::kDerivative) {
      if (pts.size() < 2) return Value::null();
      double dx = pts.back().first - pts.front().first;
      if (dx == 0) return Value::null();
      return Value::dbl((pts.back().second - pts.front().second) / dx);
    }
    if (pts.empty()) return Value::null();
    double area = 0;
    for (size_t k = 1; k < pts.size(); ++k) {
      area += (pts[k].first - pts[k - 1].first) * (pts[k].second + pts[k - 1].second) / 2;
    }
    return Value::dbl(area);
  }

  ExprPtr partition_;
  std::optional<SortPattern> sort_;
  std::vector<OutputSpec> outputs_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_set_window_fields(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return parse_error("the $setWindowFields stage specification must be an object, found " +
                       type_name(bson_iter_type(spec)));
  }
  ExprPtr partition;
  std::optional<SortPattern> sort;
  std::optional<bson_iter_t> output;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "partitionBy") {
      MS_ASSIGN_OR_RETURN(partition, Expression::parse(&it, ctx));
    } else if (k == "sortBy") {
      bson_t sb;
      if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !sub_doc(&it, &sb)) {
        return wrong_type("$setWindowFields.sortBy", &it, "object");
      }
      MS_ASSIGN_OR_RETURN(sort, SortPattern::parse(&sb, SortPattern::Syntax::kPipeline));
    } else if (k == "output") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return wrong_type("$setWindowFields.output", &it, "object");
      }
      output = it;
    } else {
      return Status(common::kUnrecognizedCommandField,
                    "BSON field '$setWindowFields." + std::string(k) + "' is an unknown field.");
    }
  }
  if (!output) return Status(40414, "BSON field '$setWindowFields.output' is missing but a required field");
  std::vector<OutputSpec> outputs;
  bson_t o;
  sub_doc(&*output, &o);
  bson_iter_t f;
  bson_iter_init(&f, &o);
  while (bson_iter_next(&f)) {
    MS_ASSIGN_OR_RETURN(OutputSpec os, parse_output(&f, sort ? &*sort : nullptr, ctx));
    outputs.push_back(std::move(os));
  }
  return one<SetWindowFieldsStage>(std::move(partition), std::move(sort), std::move(outputs), ctx);
}

}  // namespace

// ---- time units -----------------------------------------------------------------------------

Result<TimeUnit> parse_time_unit(std::string_view s) {
  static const std::pair<std::string_view, TimeUnit> kUnits[] = {
      {"millisecond", TimeUnit::kMillisecond}, {"second", TimeUnit::kSecond}, {"minute", TimeUnit::kMinute},
      {"hour", TimeUnit::kHour},               {"day", TimeUnit::kDay},       {"week", TimeUnit::kWeek},
      {"month", TimeUnit::kMonth},             {"quarter", TimeUnit::kQuarter}, {"year", TimeUnit::kYear},
  };
  for (const auto& [n, u] : kUnits) {
    if (n == s) return u;
  }
  return Status(common::kFailedToParse, "unknown time unit value: " + std::string(s));
}

// Milliseconds per fixed-length unit; 0 for calendar units.
int64_t unit_ms(TimeUnit u) {
  switch (u) {
    case TimeUnit::kMillisecond: return 1;
    case TimeUnit::kSecond: return 1000;
    case TimeUnit::kMinute: return 60'000;
    case TimeUnit::kHour: return 3'600'000;
    case TimeUnit::kDay: return 86'400'000;
    case TimeUnit::kWeek: return 7 * 86'400'000LL;
    default: return 0;
  }
}

// `ms` plus `n` units in UTC ($dateAdd semantics: month ends clamp).
int64_t add_time_units(int64_t ms, TimeUnit u, int64_t n) {
  if (int64_t f = unit_ms(u)) return ms + n * f;
  int64_t months = u == TimeUnit::kMonth ? n : u == TimeUnit::kQuarter ? 3 * n : 12 * n;
  int64_t days = ms >= 0 ? ms / 86'400'000 : -((-ms + 86'399'999) / 86'400'000);
  int64_t rem = ms - days * 86'400'000;
  // civil-from-days (Howard Hinnant's algorithm)
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  int64_t total = y * 12 + (m - 1) + months;
  y = total >= 0 ? total / 12 : -((-total + 11) / 12);
  m = total - y * 12 + 1;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int64_t dim = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  d = std::min(d, dim);
  // days-from-civil
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (era * 146097 + doe - 719468) * 86'400'000 + rem;
}

std::vector<StageDef> window_stages() {
  return {
      {"$setWindowFields", 50, parse_set_window_fields},
  };
}

}  // namespace mql::pipe
