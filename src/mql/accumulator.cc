// Accumulator operators: parsing with the server's codes (accumulation_statement.cpp,
// accumulator_*.cpp) and their per-group state.
#include "mql/accumulator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>
#include <vector>

#include "mql/arith.h"
#include "mql/compare.h"
#include "mql/pipeline_internal.h"
#include "mql/sort.h"

namespace mql {

using common::Result;
using common::Status;
using pipe::approx_size;
using pipe::key_of;
using pipe::make_array;
using pipe::type_name;
using pipe::value_string;

namespace {

// internalQueryMaxPushBytes, internalQueryMaxAddToSetBytes, internalQueryTopNAccumulatorBytes,
// internalQueryMaxPercentileAccumulatorBytes.
constexpr size_t kAccumulatorMemoryLimit = 100 * 1024 * 1024;

Status too_much_memory(std::string_view op) {
  return Status(146 /* ExceededMemoryLimit */, std::string(op) +
                                                   " used too much memory and cannot spill to disk. Memory limit: " +
                                                   std::to_string(kAccumulatorMemoryLimit) + " bytes");
}

// ---- states ---------------------------------------------------------------------------------

class SumAcc : public Accumulator {
 public:
  explicit SumAcc(bool avg) : avg_(avg) {}
  Status process(const Value& v, const bson_t*) override {
    if (sum_.add(v.raw())) ++count_;
    return Status::OK();
  }
  Value result() const override { return avg_ ? sum_.average(count_) : sum_.sum(); }
  size_t memory() const override { return sizeof(*this); }

 private:
  bool avg_;
  Summation sum_;
  int64_t count_ = 0;
};

class StdDevAcc : public Accumulator {
 public:
  explicit StdDevAcc(bool samp) : samp_(samp) {}
  Status process(const Value& v, const bson_t*) override {
    if (!v.is_number()) return Status::OK();
    // Welford's online algorithm over doubles, as the server's AccumulatorStdDev.
    double x = num_to_double(v.raw());
    ++count_;
    double delta = x - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta * (x - mean_);
    return Status::OK();
  }
  Value result() const override {
    int64_t n = samp_ ? count_ - 1 : count_;
    if (n <= 0) return Value::null();
    return Value::dbl(std::sqrt(m2_ / static_cast<double>(n)));
  }
  size_t memory() const override { return sizeof(*this); }

 private:
  bool samp_;
  int64_t count_ = 0;
  double mean_ = 0;
  double m2_ = 0;
};

class MinMaxAcc : public Accumulator {
 public:
  MinMaxAcc(bool max, const Collator* c) : max_(max), coll_(c) {}
  Status process(const Value& v, const bson_t*) override {
    if (v.nullish()) return Status::OK();
    if (val_.missing()) {
      val_ = v;
      return Status::OK();
    }
    int c = compare_values(&v.raw(), &val_.raw(), coll_);
    if (max_ ? c > 0 : c < 0) val_ = v;
    return Status::OK();
  }
  Value result() const override { return val_; }
  size_t memory() const override { return approx_size(val_); }

 private:
  bool max_;
  const Collator* coll_;
  Value val_;
};

class FirstLastAcc : public Accumulator {
 public:
  explicit FirstLastAcc(bool last) : last_(last) {}
  Status process(const Value& v, const bson_t*) override {
    if (last_ || !seen_) val_ = v;
    seen_ = true;
    return Status::OK();
  }
  Value result() const override { return val_; }
  size_t memory() const override { return approx_size(val_); }

 private:
  bool last_;
  bool seen_ = false;
  Value val_;
};

class PushAcc : public Accumulator {
 public:
  Status process(const Value& v, const bson_t*) override {
    if (v.missing()) return Status::OK();
    bytes_ += approx_size(v);
    if (bytes_ > kAccumulatorMemoryLimit) return too_much_memory("$push");
    vals_.push_back(v);
    return Status::OK();
  }
  Value result() const override { return make_array(vals_); }
  size_t memory() const override { return bytes_; }

 private:
  std::vector<Value> vals_;
  size_t bytes_ = 0;
};

class AddToSetAcc : public Accumulator {
 public:
  explicit AddToSetAcc(const Collator* c) : coll_(c) {}
  Status process(const Value& v, const bson_t*) override {
    if (v.missing()) return Status::OK();
    uint64_t h = hash_value(&v.raw(), coll_);
    auto range = index_.equal_range(h);
    for (auto it = range.first; it != range.second; ++it) {
      if (compare_values(&vals_[it->second].raw(), &v.raw(), coll_) == 0) return Status::OK();
    }
    bytes_ += approx_size(v);
    if (bytes_ > kAccumulatorMemoryLimit) return too_much_memory("$addToSet");
    index_.emplace(h, vals_.size());
    vals_.push_back(v);
    return Status::OK();
  }
  Value result() const override { return make_array(vals_); }
  size_t memory() const override { return bytes_; }

 private:
  const Collator* coll_;
  std::vector<Value> vals_;
  std::unordered_multimap<uint64_t, size_t> index_;
  size_t bytes_ = 0;
};

class MergeObjectsAcc : public Accumulator {
 public:
  Status process(const Value& v, const bson_t*) override {
    if (v.nullish()) return Status::OK();
    if (v.type() != BSON_TYPE_DOCUMENT) {
      return Status(40400, "$mergeObjects requires object inputs, but input " + value_string(v) + " is of type " +
                               type_name(v.type()));
    }
    bson_t d = v.view();
    bson_iter_t it;
    if (bson_iter_init(&it, &d)) {
      while (bson_iter_next(&it)) out_.set(key_of(&it), Value::from_iter(&it));
    }
    return Status::OK();
  }
  Value result() const override { return out_.value(); }
  size_t memory() const override {
    size_t n = 0;
    for (const auto& [k, v] : out_.fields()) n += k.size() + approx_size(v);
    return n;
  }

 private:
  pipe::OutDoc out_;
};

// $firstN / $lastN: missing inputs count as null.
class FirstLastNAcc : public Accumulator {
 public:
  FirstLastNAcc(bool last, int64_t n, std::string op) : last_(last), n_(n), op_(std::move(op)) {}
  Status process(const Value& v, const bson_t*) override {
    Value x = v.missing() ? Value::null() : v;
    if (static_cast<int64_t>(vals_.size()) == n_) {
      if (!last_) return Status::OK();
      bytes_ -= std::min(bytes_, approx_size(vals_.front()));
      vals_.pop_front();
    }
    bytes_ += approx_size(x);
    if (bytes_ > kAccumulatorMemoryLimit) return too_much_memory(op_);
    vals_.push_back(std::move(x));
    return Status::OK();
  }
  Value result() const override { return make_array({vals_.begin(), vals_.end()}); }
  size_t memory() const override { return bytes_; }

 private:
  bool last_;
  int64_t n_;
  std::string op_;
  std::deque<Value> vals_;
  size_t bytes_ = 0;
};

// $minN / $maxN: nullish inputs are ignored; output ascending ($minN) or descending ($maxN).
class MinMaxNAcc : public Accumulator {
 public:
  MinMaxNAcc(bool max, int64_t n, const Collator* c, std::string op) : max_(max), n_(n), coll_(c), op_(std::move(op)) {}
  Status process(const Value& v, const bson_t*) override {
    if (v.nullish()) return Status::OK();
    // vals_ is kept in output order: best first.
    auto better = [&](const Value& a, const Value& b) {
      int c = compare_values(&a.raw(), &b.raw(), coll_);
      return max_ ? c > 0 : c < 0;
    };
    if (static_cast<int64_t>(vals_.size()) == n_) {
      if (!better(v, vals_.back())) return Status::OK();
      bytes_ -= std::min(bytes_, approx_size(vals_.back()));
      vals_.pop_back();
    }
    // Equal values: $minN outputs them in arrival order, $maxN (the server reads its ordered
    // set backwards) in reverse arrival order.
    auto pos = max_ ? std::lower_bound(vals_.begin(), vals_.end(), v, better)
                    : std::upper_bound(vals_.begin(), vals_.end(), v, better);
    bytes_ += approx_size(v);
    if (bytes_ > kAccumulatorMemoryLimit) return too_much_memory(op_);
    vals_.insert(pos, v);
    return Status::OK();
  }
  Value result() const override { return make_array(vals_); }
  size_t memory() const override { return bytes_; }

 private:
  bool max_;
  int64_t n_;
  const Collator* coll_;
  std::string op_;
  std::vector<Value> vals_;
  size_t bytes_ = 0;
};

// $top / $bottom / $topN / $bottomN: ordered by `sortBy` over the input document; ties keep
// the first value seen; a missing output is null.
class TopBottomAcc : public Accumulator {
 public:
  TopBottomAcc(bool bottom, bool single, int64_t n, const SortPattern& sort, const Collator* c, std::string op)
      : bottom_(bottom), single_(single), n_(n), sort_(sort), coll_(c), op_(std::move(op)) {}
  Status process(const Value& v, const bson_t* doc) override {
    Entry e{sort_.key(doc, coll_), v.missing() ? Value::null() : v};
    // Keep entries ordered so that the kept ones come first: ascending sort order for $top,
    // descending for $bottom; output is always in sort order.
    auto before = [&](const Entry& a, const Entry& b) {
      int c = sort_.compare_keys(a.key, b.key, coll_);
      return bottom_ ? c > 0 : c < 0;
    };
    if (static_cast<int64_t>(vals_.size()) == n_) {
      if (!before(e, vals_.back())) return Status::OK();
      bytes_ -= std::min(bytes_, size_of(vals_.back()));
      vals_.pop_back();
    }
    // Ties come out in arrival order (the list is reversed for $bottom's output).
    auto pos = bottom_ ? std::lower_bound(vals_.begin(), vals_.end(), e, before)
                       : std::upper_bound(vals_.begin(), vals_.end(), e, before);
    bytes_ += size_of(e);
    if (bytes_ > kAccumulatorMemoryLimit) return too_much_memory(op_);
    vals_.insert(pos, std::move(e));
    return Status::OK();
  }
  Value result() const override {
    if (single_) return vals_.empty() ? Value::null() : vals_.front().out;
    std::vector<Value> out;
    out.reserve(vals_.size());
    for (const auto& e : vals_) out.push_back(e.out);
    if (bottom_) std::reverse(out.begin(), out.end());
    return make_array(out);
  }
  size_t memory() const override { return bytes_; }

 private:
  struct Entry {
    SortKey key;
    Value out;
  };
  static size_t size_of(const Entry& e) {
    size_t n = approx_size(e.out);
    for (const auto& k : e.key) n += approx_size(k);
    return n;
  }
  bool bottom_;
  bool single_;
  int64_t n_;
  const SortPattern& sort_;
  const Collator* coll_;
  std::string op_;
  std::vector<Entry> vals_;
  size_t bytes_ = 0;
};

enum class PctMethod { kApproximate, kDiscrete, kContinuous };

// $percentile / $median over the numeric inputs (as doubles). "approximate" answers exactly
// with the discrete (nearest-rank) definition, which the server's t-digest reproduces for the
// data sizes it keeps uncompressed.
class PercentileAcc : public Accumulator {
 public:
  PercentileAcc(std::vector<double> ps, PctMethod m, bool median) : ps_(std::move(ps)), m_(m), median_(median) {}
  Status process(const Value& v, const bson_t*) override {
    if (!v.is_number()) return Status::OK();
    vals_.push_back(num_to_double(v.raw()));
    if (vals_.size() * sizeof(double) > kAccumulatorMemoryLimit) {
      return Status(146, "$percentile used too much memory and cannot spill to disk. Used: " +
                             std::to_string(vals_.size() * sizeof(double)) +
                             " bytes. Memory limit: " + std::to_string(kAccumulatorMemoryLimit) + " bytes");
    }
    sorted_ = false;
    return Status::OK();
  }
  Value result() const override {
    if (!sorted_) {
      std::sort(vals_.begin(), vals_.end());
      sorted_ = true;
    }
    std::vector<Value> out;
    for (double p : ps_) out.push_back(vals_.empty() ? Value::null() : Value::dbl(at(p)));
    if (median_) return out.front();
    return make_array(out);
  }
  size_t memory() const override { return vals_.size() * sizeof(double); }

 private:
  double at(double p) const {
    const size_t n = vals_.size();
    if (m_ == PctMethod::kContinuous) {
      double rank = p * static_cast<double>(n - 1);
      auto lo = static_cast<size_t>(std::floor(rank));
      auto hi = static_cast<size_t>(std::ceil(rank));
      return vals_[lo] + (rank - static_cast<double>(lo)) * (vals_[hi] - vals_[lo]);
    }
    if (p <= 0) return vals_.front();
    if (p >= 1) return vals_.back();
    auto rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(n))) - 1;
    rank = std::clamp<int64_t>(rank, 0, static_cast<int64_t>(n) - 1);
    return vals_[static_cast<size_t>(rank)];
  }
  std::vector<double> ps_;
  PctMethod m_;
  bool median_;
  mutable std::vector<double> vals_;
  mutable bool sorted_ = true;
};

// ---- specs ----------------------------------------------------------------------------------

using Factory = std::function<Result<std::unique_ptr<Accumulator>>(const bson_t* init_root)>;

class SpecImpl : public AccumulatorSpec {
 public:
  SpecImpl(std::string op, std::unique_ptr<Expression> arg, const ExpressionContext& ctx)
      : AccumulatorSpec(std::move(op), std::move(arg), ctx) {}
  Result<std::unique_ptr<Accumulator>> make(const bson_t* init_root) const override { return factory(init_root); }
  void set_count() { count_ = true; }
  Factory factory;
  std::unique_ptr<Expression> n;          // N-accumulators
  std::unique_ptr<SortPattern> sort_by;   // $top/$bottom family
};

// The server's AccumulatorN::validateN.
Result<int64_t> validate_n(const Value& v) {
  if (!v.is_number()) {
    return Status(5787902, "Value for 'n' must be of integral type, but found " + value_string(v));
  }
  int64_t n = v.as_int64();
  if (static_cast<double>(n) != v.as_double()) {
    return Status(5787903, "Value for 'n' must be of integral type, but found " + value_string(v));
  }
  if (n <= 0) return Status(5787908, "'n' must be greater than 0, found " + std::to_string(n));
  return n;
}

Result<int64_t> eval_n(const Expression& n, const bson_t* init_root, const ExpressionContext& ctx) {
  bson_t empty = BSON_INITIALIZER;
  MS_ASSIGN_OR_RETURN(Value v, pipe::eval(n, init_root ? init_root : &empty, ctx));
  return validate_n(v);
}

std::string spec_string(const bson_iter_t* it) {
  // The server streams the element itself: "<name>: <value>".
  return std::string(key_of(it)) + ": " + value_string(Value::from_iter(it));
}

Result<std::unique_ptr<SpecImpl>> parse_n_family(std::string_view op, const bson_iter_t* it,
                                                 const ExpressionContext& ctx) {
  const bool minmax = op == "$minN" || op == "$maxN";
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
    return Status(minmax ? 5787900 : 5787801, "specification must be an object; found " + spec_string(it));
  }
  bson_t obj;
  pipe::sub_doc(it, &obj);
  bson_iter_t f;
  bson_iter_init(&f, &obj);
  std::unique_ptr<Expression> n, input;
  while (bson_iter_next(&f)) {
    std::string_view k = key_of(&f);
    if (k == "input") {
      MS_ASSIGN_OR_RETURN(input, Expression::parse(&f, ctx));
    } else if (k == "n") {
      MS_ASSIGN_OR_RETURN(n, Expression::parse(&f, ctx));
    } else {
      return Status(5787901, "Unknown argument for 'n' operator: " + std::string(k));
    }
  }
  if (!n) return Status(5787906, "Missing value for 'n'");
  if (!input) return Status(5787907, "Missing value for 'input'");
  auto spec = std::make_unique<SpecImpl>(std::string(op), std::move(input), ctx);
  spec->n = std::move(n);
  return spec;
}

Result<std::unique_ptr<SpecImpl>> parse_top_bottom(std::string_view op, const bson_iter_t* it,
                                                   const ExpressionContext& ctx) {
  const bool single = op == "$top" || op == "$bottom";
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
    return Status(5788001, "specification must be an object; found " + spec_string(it));
  }
  bson_t obj;
  pipe::sub_doc(it, &obj);
  bson_iter_t f;
  bson_iter_init(&f, &obj);
  std::unique_ptr<Expression> n, output;
  std::optional<common::Bson> sort_by;
  while (bson_iter_next(&f)) {
    std::string_view k = key_of(&f);
    if (!single && k == "n") {
      MS_ASSIGN_OR_RETURN(n, Expression::parse(&f, ctx));
    } else if (k == "output") {
      MS_ASSIGN_OR_RETURN(output, Expression::parse(&f, ctx));
    } else if (k == "sortBy") {
      bson_t sb;
      if (!BSON_ITER_HOLDS_DOCUMENT(&f) || !pipe::sub_doc(&f, &sb)) {
        return Status(10065, "invalid parameter: expected an object (sortBy)");
      }
      sort_by = common::Bson(&sb);
    } else {
      return Status(5788002, "Unknown argument to " + std::string(op) + " '" + std::string(k) + "'");
    }
  }
  if (!single && !n) return Status(5788003, "Missing value for 'n'");
  if (!output) return Status(5788004, "Missing value for 'output'");
  if (!sort_by) return Status(5788005, "Missing value for 'sortBy'");
  MS_ASSIGN_OR_RETURN(SortPattern sp, SortPattern::parse(sort_by->get(), SortPattern::Syntax::kPipeline));
  auto spec = std::make_unique<SpecImpl>(std::string(op), std::move(output), ctx);
  spec->n = std::move(n);
  spec->sort_by = std::make_unique<SortPattern>(std::move(sp));
  return spec;
}

Result<std::unique_ptr<SpecImpl>> parse_percentile(std::string_view op, const bson_iter_t* it,
                                                   const ExpressionContext& ctx, std::vector<double>* ps,
                                                   PctMethod* method) {
  const bool median = op == "$median";
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
    return Status(median ? 7436100 : 7429703, "specification must be an object; found " + spec_string(it));
  }
  bson_t obj;
  pipe::sub_doc(it, &obj);
  bson_iter_t f;
  bson_iter_init(&f, &obj);
  std::unique_ptr<Expression> input;
  std::optional<bson_iter_t> p_it;
  std::optional<std::string> m;
  const std::string stage(op);
  while (bson_iter_next(&f)) {
    std::string_view k = key_of(&f);
    if (k == "input") {
      MS_ASSIGN_OR_RETURN(input, Expression::parse(&f, ctx));
    } else if (k == "p" && !median) {
      p_it = f;
    } else if (k == "method") {
      if (!BSON_ITER_HOLDS_UTF8(&f)) {
        return Status(common::kTypeMismatch, "BSON field '" + stage + ".method' is the wrong type '" +
                                                 type_name(bson_iter_type(&f)) + "', expected type 'string'");
      }
      m = std::string(bson_iter_utf8(&f, nullptr));
    } else {
      return Status(common::kUnrecognizedCommandField,
                    "BSON field '" + stage + "." + std::string(k) + "' is an unknown field.");
    }
  }
  if (!input) return Status(40414, "BSON field '" + stage + ".input' is missing but a required field");
  if (!median && !p_it) return Status(40414, "BSON field '" + stage + ".p' is missing but a required field");
  if (!m) return Status(40414, "BSON field '" + stage + ".method' is missing but a required field");
  if (ctx.version >= 80) {
    if (*m == "approximate") {
      *method = PctMethod::kApproximate;
    } else if (*m == "discrete") {
      *method = PctMethod::kDiscrete;
    } else if (*m == "continuous") {
      *method = PctMethod::kContinuous;
    } else {
      return Status(common::kBadValue,
                    "Currently only 'approximate', 'discrete', and 'continuous' can be used as percentile 'method'.");
    }
  } else if (*m != "approximate") {
    return Status(common::kBadValue, "Currently only 'approximate' can be used as percentile 'method'.");
  } else {
    *method = PctMethod::kApproximate;
  }
  if (median) {
    ps->push_back(0.5);
  } else {
    // 'p' must be a constant array of numbers in [0, 1].
    MS_ASSIGN_OR_RETURN(auto pe, Expression::parse(&*p_it, ctx));
    if (!pe->is_constant()) {
      return Status(7750300, "The $percentile 'p' field must be an array of constant values, but found value: " +
                                 value_string(Value::from_iter(&*p_it)) + ".");
    }
    MS_ASSIGN_OR_RETURN(Value pv, pipe::eval(*pe, &obj, ctx));
    const std::string msg = "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: ";
    auto elems = pipe::array_elems(pv);
    if (pv.type() != BSON_TYPE_ARRAY || elems.empty()) return Status(7750301, msg + value_string(pv));
    for (const auto& e : elems) {
      if (!e.is_number()) return Status(7750302, msg + value_string(e));
      double p = e.as_double();
      if (p < 0 || p > 1) return Status(7750303, msg + value_string(Value::dbl(p)));
      ps->push_back(p);
    }
  }
  return std::make_unique<SpecImpl>(stage, std::move(input), ctx);
}

struct OpInfo {
  std::string_view name;
  int since;
};
constexpr OpInfo kOps[] = {
    {"$sum", 0},       {"$avg", 0},       {"$min", 0},          {"$max", 0},          {"$first", 0},
    {"$last", 0},      {"$push", 0},      {"$addToSet", 0},     {"$stdDevPop", 0},    {"$stdDevSamp", 0},
    {"$mergeObjects", 0}, {"$count", 50}, {"$top", 60},         {"$bottom", 60},      {"$topN", 60},
    {"$bottomN", 60},  {"$firstN", 60},   {"$lastN", 60},       {"$maxN", 60},        {"$minN", 60},
    {"$median", 70},   {"$percentile", 70},
};

}  // namespace

Result<std::unique_ptr<AccumulatorSpec>> AccumulatorSpec::parse(const bson_iter_t* it, const ExpressionContext& ctx,
                                                                Use) {
  std::string op(key_of(it));
  const OpInfo* info = nullptr;
  for (const auto& o : kOps) {
    if (o.name == op) info = &o;
  }
  if (!info || info->since > ctx.version) return Status(15952, "unknown group operator '" + op + "'");
  const Collator* coll = ctx.coll();

  if (op == "$count") {
    bson_t obj;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !pipe::sub_doc(it, &obj) || !bson_empty(&obj)) {
      return Status(common::kTypeMismatch, "$count takes no arguments, i.e. $count:{}");
    }
    bson_t one = BSON_INITIALIZER;
    BSON_APPEND_INT32(&one, "x", 1);
    bson_iter_t oi;
    bson_iter_init_find(&oi, &one, "x");
    auto arg = Expression::parse(&oi, ctx);
    bson_destroy(&one);
    if (!arg.ok()) return arg.status();
    auto spec = std::make_unique<SpecImpl>(op, std::move(arg).value(), ctx);
    spec->set_count();
    spec->factory = [](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new SumAcc(false));
    };
    return std::unique_ptr<AccumulatorSpec>(std::move(spec));
  }
  if (op == "$firstN" || op == "$lastN" || op == "$minN" || op == "$maxN") {
    MS_ASSIGN_OR_RETURN(auto spec, parse_n_family(op, it, ctx));
    const SpecImpl* raw = spec.get();
    spec->factory = [raw, op, coll, &ctx](const bson_t* init) -> Result<std::unique_ptr<Accumulator>> {
      MS_ASSIGN_OR_RETURN(int64_t n, eval_n(*raw->n, init, ctx));
      if (op == "$firstN" || op == "$lastN") {
        return std::unique_ptr<Accumulator>(new FirstLastNAcc(op == "$lastN", n, op));
      }
      return std::unique_ptr<Accumulator>(new MinMaxNAcc(op == "$maxN", n, coll, op));
    };
    return std::unique_ptr<AccumulatorSpec>(std::move(spec));
  }
  if (op == "$top" || op == "$bottom" || op == "$topN" || op == "$bottomN") {
    MS_ASSIGN_OR_RETURN(auto spec, parse_top_bottom(op, it, ctx));
    const SpecImpl* raw = spec.get();
    spec->factory = [raw, op, coll, &ctx](const bson_t* init) -> Result<std::unique_ptr<Accumulator>> {
      int64_t n = 1;
      if (raw->n) {
        MS_ASSIGN_OR_RETURN(n, eval_n(*raw->n, init, ctx));
      }
      const bool bottom = op == "$bottom" || op == "$bottomN";
      return std::unique_ptr<Accumulator>(new TopBottomAcc(bottom, !raw->n, n, *raw->sort_by, coll, op));
    };
    return std::unique_ptr<AccumulatorSpec>(std::move(spec));
  }
  if (op == "$median" || op == "$percentile") {
    std::vector<double> ps;
    PctMethod method = PctMethod::kApproximate;
    MS_ASSIGN_OR_RETURN(auto spec, parse_percentile(op, it, ctx, &ps, &method));
    const bool median = op == "$median";
    spec->factory = [ps, method, median](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new PercentileAcc(ps, method, median));
    };
    return std::unique_ptr<AccumulatorSpec>(std::move(spec));
  }

  MS_ASSIGN_OR_RETURN(auto arg, Expression::parse(it, ctx));
  auto spec = std::make_unique<SpecImpl>(op, std::move(arg), ctx);
  Factory f;
  if (op == "$sum" || op == "$avg") {
    bool avg = op == "$avg";
    f = [avg](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new SumAcc(avg));
    };
  } else if (op == "$min" || op == "$max") {
    bool max = op == "$max";
    f = [max, coll](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new MinMaxAcc(max, coll));
    };
  } else if (op == "$first" || op == "$last") {
    bool last = op == "$last";
    f = [last](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new FirstLastAcc(last));
    };
  } else if (op == "$push") {
    f = [](const bson_t*) -> Result<std::unique_ptr<Accumulator>> { return std::unique_ptr<Accumulator>(new PushAcc); };
  } else if (op == "$addToSet") {
    f = [coll](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new AddToSetAcc(coll));
    };
  } else if (op == "$stdDevPop" || op == "$stdDevSamp") {
    bool samp = op == "$stdDevSamp";
    f = [samp](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new StdDevAcc(samp));
    };
  } else {  // $mergeObjects
    f = [](const bson_t*) -> Result<std::unique_ptr<Accumulator>> {
      return std::unique_ptr<Accumulator>(new MergeObjectsAcc);
    };
  }
  spec->factory = std::move(f);
  return std::unique_ptr<AccumulatorSpec>(std::move(spec));
}

Result<std::unique_ptr<AccumulatorSpec>> parse_accumulation_statement(const bson_iter_t* field,
                                                                      const ExpressionContext& ctx) {
  std::string name(key_of(field));
  bson_t obj;
  bson_iter_t first;
  const bool is_obj = BSON_ITER_HOLDS_DOCUMENT(field) && pipe::sub_doc(field, &obj);
  const bool has_first = is_obj && bson_iter_init(&first, &obj) && bson_iter_next(&first);
  if (!has_first || bson_iter_key(&first)[0] != '$') {
    return Status(40234, "The field '" + name + "' must be an accumulator object");
  }
  if (name.find('.') != std::string::npos) {
    return Status(40235, "The field name '" + name + "' cannot contain '.'");
  }
  if (!name.empty() && name[0] == '$') {
    return Status(40236, "The field name '" + name + "' cannot be an operator name");
  }
  if (bson_count_keys(&obj) != 1) {
    return Status(40238, "The field '" + name + "' must specify one accumulator");
  }
  if (BSON_ITER_HOLDS_ARRAY(&first)) {
    return Status(40237, "The " + std::string(key_of(&first)) + " accumulator is a unary operator");
  }
  return AccumulatorSpec::parse(&first, ctx);
}

}  // namespace mql
