// Grouping stages: $group, $bucket, $bucketAuto (with granularity series), $sortByCount
// (server: document_source_group_base.cpp, document_source_bucket.cpp,
// document_source_bucket_auto.cpp, granularity_rounder_*.cpp, document_source_sort_by_count.cpp).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "common/stable_sort.h"
#include "mql/accumulator.h"
#include "mql/arith.h"
#include "mql/compare.h"
#include "mql/pipeline_internal.h"
#include "mql/update_tostring.h"

namespace mql::pipe {

namespace {

using Accs = std::vector<std::pair<std::string, std::unique_ptr<AccumulatorSpec>>>;
using GroupKey = std::vector<Value>;

// Group keys: missing is its own value (an object _id drops missing sub-fields).
bool keys_equal(const GroupKey& a, const GroupKey& b, const Collator* c) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].missing() != b[i].missing()) return false;
    if (!a[i].missing() && compare_values(&a[i].raw(), &b[i].raw(), c) != 0) return false;
  }
  return true;
}

uint64_t key_hash(const GroupKey& k, const Collator* c) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& v : k) {
    h = (h ^ (v.missing() ? 0x9e3779b97f4a7c15ULL : hash_value(&v.raw(), c))) * 1099511628211ULL;
  }
  return h;
}

// How a stage computes the group key of a document and turns it into the output _id.
struct KeySpec {
  // Either one expression, or named sub-expressions ({_id: {a: "$x", b: "$y"}}).
  ExprPtr single;
  std::vector<std::string> names;
  std::vector<ExprPtr> exprs;
  // $bucket: a custom key function.
  std::function<Result<Value>(const bson_t*)> custom;

  Result<GroupKey> compute(const bson_t* doc, const ExpressionContext& ctx) const {
    GroupKey k;
    if (custom) {
      MS_ASSIGN_OR_RETURN(Value v, custom(doc));
      k.push_back(std::move(v));
      return k;
    }
    Variables vars(ctx);
    if (single) {
      MS_ASSIGN_OR_RETURN(Value v, single->evaluate(doc, vars));
      k.push_back(v.missing() ? Value::null() : std::move(v));
      return k;
    }
    for (const auto& e : exprs) {
      MS_ASSIGN_OR_RETURN(Value v, e->evaluate(doc, vars));
      k.push_back(std::move(v));
    }
    return k;
  }
  Value id_of(const GroupKey& k) const {
    if (names.empty()) return k.front();
    OutDoc d;
    for (size_t i = 0; i < names.size(); ++i) d.push(names[i], k[i]);
    return d.value();
  }
};

Status group_memory_exceeded() {
  return Status(292, "Exceeded memory limit for $group, but didn't allow external sort. Pass allowDiskUse:true to opt in.");
}

// Hash grouping shared by $group and $bucket. Output follows the order groups were first
// seen (the server's hash order is unspecified), or ascending _id for $bucket.
class GroupStage : public Stage {
 public:
  GroupStage(std::string name, KeySpec key, Accs accs, const ExpressionContext& ctx, bool sort_by_id)
      : Stage(std::move(name)), key_(std::move(key)), accs_(std::move(accs)), ctx_(ctx), sort_by_id_(sort_by_id) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    struct Group {
      GroupKey key;
      std::vector<std::unique_ptr<Accumulator>> accs;
    };
    struct State {
      std::shared_ptr<DocumentSource> in;
      std::vector<Group> groups;
      size_t pos = 0;
      bool done = false;
    };
    auto st = std::make_shared<State>();
    st->in = std::move(input);
    const Collator* coll = ctx_.coll();
    return make_gen_source([st, this, coll]() -> Result<std::optional<Bson>> {
      if (!st->done) {
        st->done = true;
        MemoryBudget budget(ctx_, kStageMemoryLimit, group_memory_exceeded);
        std::unordered_multimap<uint64_t, size_t> index;
        while (true) {
          MS_ASSIGN_OR_RETURN(auto d, st->in->next());
          if (!d) break;
          MS_ASSIGN_OR_RETURN(GroupKey k, key_.compute(d->get(), ctx_));
          uint64_t h = key_hash(k, coll);
          Group* g = nullptr;
          auto range = index.equal_range(h);
          for (auto it = range.first; it != range.second; ++it) {
            if (keys_equal(st->groups[it->second].key, k, coll)) {
              g = &st->groups[it->second];
              break;
            }
          }
          if (!g) {
            Group ng;
            // The `n` of $topN & co. sees the _id when it is a document.
            Value id = key_.id_of(k);
            std::optional<Bson> init = to_bson(id);
            for (const auto& [name, spec] : accs_) {
              MS_ASSIGN_OR_RETURN(auto a, spec->make(init ? init->get() : nullptr));
              ng.accs.push_back(std::move(a));
            }
            size_t bytes = sizeof(Group);
            for (const auto& v : k) bytes += approx_size(v);
            MS_RETURN_IF_ERROR(budget.add(bytes));
            ng.key = std::move(k);
            index.emplace(h, st->groups.size());
            st->groups.push_back(std::move(ng));
            g = &st->groups.back();
          }
          Variables vars(ctx_);
          for (size_t i = 0; i < accs_.size(); ++i) {
            const AccumulatorSpec& spec = *accs_[i].second;
            Value v;
            if (!spec.is_count()) {
              MS_ASSIGN_OR_RETURN(v, spec.argument().evaluate(d->get(), vars));
            } else {
              v = Value::int32(1);
            }
            size_t before = g->accs[i]->memory();
            MS_RETURN_IF_ERROR(g->accs[i]->process(v, d->get()));
            size_t after = g->accs[i]->memory();
            if (after > before) MS_RETURN_IF_ERROR(budget.add(after - before));
          }
        }
        if (sort_by_id_) {
          common::stable_sort(st->groups, [coll](const Group& a, const Group& b) {
            return compare_values(&a.key.front().raw(), &b.key.front().raw(), coll) < 0;
          });
        }
      }
      if (st->pos >= st->groups.size()) return std::optional<Bson>();
      Group& g = st->groups[st->pos++];
      Bson out;
      Value id = key_.id_of(g.key);
      (id.missing() ? Value::null() : id).append_to(out.mut(), "_id");
      for (size_t i = 0; i < accs_.size(); ++i) {
        Value r = g.accs[i]->result();
        (r.missing() ? Value::null() : r).append_to(out.mut(), accs_[i].first);
      }
      g.accs.clear();
      if (out.size() > kMaxInternalDocSize) {
        char hex[32];
        std::snprintf(hex, sizeof hex, "%X", static_cast<unsigned>(out.size()));
        bson_iter_t first;
        bson_iter_init(&first, out.get());
        bson_iter_next(&first);
        return Status(common::kBSONObjectTooLarge,
                      "BSONObj size: " + std::to_string(out.size()) + " (0x" + hex +
                          ") is invalid. Size must be between 0 and 16793600(16MB) First element: " +
                          mongo_elem_string("_id", bson_iter_value(&first)));
      }
      return std::optional<Bson>(std::move(out));
    });
  }

 private:
  KeySpec key_;
  Accs accs_;
  const ExpressionContext& ctx_;
  bool sort_by_id_;
};

Result<KeySpec> parse_group_id(const bson_iter_t* it, const ExpressionContext& ctx) {
  KeySpec k;
  if (BSON_ITER_HOLDS_DOCUMENT(it)) {
    bson_t obj;
    sub_doc(it, &obj);
    bson_iter_t f;
    if (!bson_empty(&obj) && bson_iter_init(&f, &obj) && bson_iter_next(&f) && bson_iter_key(&f)[0] != '$') {
      bson_iter_init(&f, &obj);
      while (bson_iter_next(&f)) {
        if (BSON_ITER_HOLDS_NUMBER(&f) || BSON_ITER_HOLDS_BOOL(&f)) {
          return Status(17390, "$group does not support inclusion-style expressions");
        }
      }
      // Validates the object as an expression (field names, duplicates), then keeps its parts.
      MS_ASSIGN_OR_RETURN(auto whole, Expression::parse(it, ctx));
      (void)whole;
      bson_iter_init(&f, &obj);
      while (bson_iter_next(&f)) {
        k.names.emplace_back(key_of(&f));
        MS_ASSIGN_OR_RETURN(auto e, Expression::parse(&f, ctx));
        k.exprs.push_back(std::move(e));
      }
      return k;
    }
  }
  MS_ASSIGN_OR_RETURN(k.single, Expression::parse(it, ctx));
  return k;
}

Result<Stages> parse_group(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(15947, "a group's fields must be specified in an object");
  }
  std::optional<KeySpec> key;
  Accs accs;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "_id") {
      if (key) return Status(15948, "a group's _id may only be specified once");
      MS_ASSIGN_OR_RETURN(key, parse_group_id(&it, *ps.ctx));
    } else if (k == "$doingMerge") {
      continue;
    } else {
      MS_ASSIGN_OR_RETURN(auto a, parse_accumulation_statement(&it, *ps.ctx));
      accs.emplace_back(std::string(k), std::move(a));
    }
  }
  if (!key) return Status(15955, "a group specification must include an _id");
  return one<GroupStage>("$group", std::move(*key), std::move(accs), *ps.ctx, false);
}

// {count: {$sum: 1}}: the output of $bucket/$bucketAuto without 'output'.
Status add_default_count(Accs& accs, const ExpressionContext& ctx) {
  Bson cnt;
  bson_t sum;
  BSON_APPEND_DOCUMENT_BEGIN(cnt.mut(), "count", &sum);
  BSON_APPEND_INT32(&sum, "$sum", 1);
  bson_append_document_end(cnt.mut(), &sum);
  bson_iter_t f;
  bson_iter_init_find(&f, cnt.get(), "count");
  MS_ASSIGN_OR_RETURN(auto a, parse_accumulation_statement(&f, ctx));
  accs.emplace_back("count", std::move(a));
  return Status::OK();
}

// The accumulators of an 'output' document.
Status parse_output_accumulators(const bson_iter_t* it, const ExpressionContext& ctx, Accs& accs) {
  bson_t o;
  sub_doc(it, &o);
  bson_iter_t f;
  bson_iter_init(&f, &o);
  while (bson_iter_next(&f)) {
    MS_ASSIGN_OR_RETURN(auto a, parse_accumulation_statement(&f, ctx));
    accs.emplace_back(std::string(key_of(&f)), std::move(a));
  }
  return Status::OK();
}

// {$op: ...}: an object whose first field is an operator.
bool is_expression_object(const bson_iter_t* it) {
  bson_t o;
  bson_iter_t f;
  return BSON_ITER_HOLDS_DOCUMENT(it) && sub_doc(it, &o) && bson_iter_init(&f, &o) && bson_iter_next(&f) &&
         bson_iter_key(&f)[0] == '$';
}

// ---- $bucket --------------------------------------------------------------------------------

// A constant expression's value (the server's getExpressionConstant), or nullopt.
Result<std::optional<Value>> constant_of(const bson_iter_t* it, const ExpressionContext& ctx) {
  MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, ctx));
  if (!e->is_constant()) return std::optional<Value>();
  bson_t empty = BSON_INITIALIZER;
  MS_ASSIGN_OR_RETURN(Value v, eval(*e, &empty, ctx));
  return std::optional<Value>(std::move(v));
}

std::string elem_value_string(const bson_iter_t* it) {
  return mongo_value_string(bson_iter_value(const_cast<bson_iter_t*>(it)));
}

Result<Stages> parse_bucket(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(40201, "Argument to $bucket stage must be an object, but found type: " +
                             type_name(bson_iter_type(spec)) + ".");
  }
  std::shared_ptr<Expression> group_by;
  std::vector<Value> bounds;
  std::optional<Value> def;
  Accs accs;
  bool output_specified = false;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "groupBy") {
      const bool expr_obj = is_expression_object(&it);
      const bool path = BSON_ITER_HOLDS_UTF8(&it) && bson_iter_utf8(&it, nullptr)[0] == '$';
      if (!expr_obj && !path) {
        return Status(40202, "The $bucket 'groupBy' field must be defined as a $-prefixed path or an expression, "
                             "but found: " +
                                 elem_value_string(&it) + ".");
      }
      MS_ASSIGN_OR_RETURN(auto e, Expression::parse(&it, ctx));
      group_by = std::move(e);
    } else if (k == "boundaries") {
      if (!BSON_ITER_HOLDS_ARRAY(&it)) {
        return Status(40200, "The $bucket 'boundaries' field must be an array, but found type: " +
                                 type_name(bson_iter_type(&it)) + ".");
      }
      bson_t arr;
      sub_doc(&it, &arr);
      bson_iter_t b;
      bson_iter_init(&b, &arr);
      while (bson_iter_next(&b)) {
        MS_ASSIGN_OR_RETURN(auto c, constant_of(&b, ctx));
        if (!c) {
          return Status(40191, "The $bucket 'boundaries' field must be an array of constant values, but found value: " +
                                   elem_value_string(&b) + ".");
        }
        bounds.push_back(std::move(*c));
      }
      if (bounds.size() < 2) {
        return Status(40192, "The $bucket 'boundaries' field must have at least 2 values, but found " +
                                 std::to_string(bounds.size()) + " value(s).");
      }
      for (size_t i = 1; i < bounds.size(); ++i) {
        const Value& lo = bounds[i - 1];
        const Value& hi = bounds[i];
        if (canonical_rank(lo.type()) != canonical_rank(hi.type())) {
          return Status(40193, "All values in the the 'boundaries' option to $bucket must have the same type. Found "
                               "conflicting types " +
                                   type_name(lo.type()) + " and " + type_name(hi.type()) + ".");
        }
        if (compare_values(&lo.raw(), &hi.raw(), ctx.coll()) >= 0) {
          return Status(40194, "The 'boundaries' option to $bucket must be sorted, but elements " + std::to_string(i - 1) +
                                   " and " + std::to_string(i) + " are not in ascending order (" + value_string(lo) +
                                   " is not less than " + value_string(hi) + ").");
        }
      }
    } else if (k == "default") {
      MS_ASSIGN_OR_RETURN(auto c, constant_of(&it, ctx));
      if (!c) {
        return Status(40195, "The $bucket 'default' field must be a constant expression, but found: " +
                                 elem_value_string(&it) + ".");
      }
      def = std::move(*c);
    } else if (k == "output") {
      output_specified = true;
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(40196, "The $bucket 'output' field must be an object, but found type: " +
                                 type_name(bson_iter_type(&it)) + ".");
      }
      MS_RETURN_IF_ERROR(parse_output_accumulators(&it, ctx, accs));
    } else {
      return Status(40197, "Unrecognized option to $bucket: " + std::string(k) + ".");
    }
  }
  if (!group_by || bounds.empty()) return Status(40198, "$bucket requires 'groupBy' and 'boundaries' to be specified.");
  if (def && canonical_rank(def->type()) == canonical_rank(bounds.front().type())) {
    const bool ok = compare_values(&def->raw(), &bounds.front().raw(), ctx.coll()) < 0 ||
                    compare_values(&def->raw(), &bounds.back().raw(), ctx.coll()) >= 0;
    if (!ok) {
      return Status(40199, "The $bucket 'default' field must be less than the lowest boundary or greater than or equal "
                           "to the highest boundary.");
    }
  }
  if (!output_specified) MS_RETURN_IF_ERROR(add_default_count(accs, ctx));
  KeySpec key;
  const int code = ctx.version >= 70 ? 7158303 : 40066;
  key.custom = [group_by, bounds, def, &ctx, code](const bson_t* doc) -> Result<Value> {
    MS_ASSIGN_OR_RETURN(Value v, eval(*group_by, doc, ctx));
    if (v.missing()) v = Value::null();
    // The bucket whose [lower, upper) holds the value ($gte/$lt: comparison across types).
    const Collator* c = ctx.coll();
    if (compare_values(&v.raw(), &bounds.front().raw(), c) >= 0 &&
        compare_values(&v.raw(), &bounds.back().raw(), c) < 0) {
      auto up = std::upper_bound(bounds.begin(), bounds.end(), v, [c](const Value& a, const Value& b) {
        return compare_values(&a.raw(), &b.raw(), c) < 0;
      });
      return *(up - 1);
    }
    if (def) return *def;
    return Status(code, "$switch could not find a matching branch for an input, and no default was specified.");
  };
  return one<GroupStage>("$bucket", std::move(key), std::move(accs), ctx, true);
}

// ---- $bucketAuto ----------------------------------------------------------------------------

// The server's granularity rounders: preferred-number series (scaled by powers of ten) and
// powers of two. roundUp gives the next series value strictly above, roundDown the one strictly
// below; 0 stays 0.
class Rounder {
 public:
  explicit Rounder(std::vector<double> series, bool pow2 = false) : series_(std::move(series)), pow2_(pow2) {}

  Result<Value> round(const Value& v, bool up) const {
    if (!v.is_number()) {
      return Status(40262, "A granularity rounder can only round numeric values, but found type: " + type_name(v.type()));
    }
    double x = v.as_double();
    if (std::isnan(x)) return Status(40263, "A granularity rounder cannot round NaN");
    if (x < 0) return Status(40268, "A granularity rounder can only round non-negative numbers");
    if (x == 0) return v;
    if (pow2_) return round_pow2(v, x, up);
    if (v.type() == BSON_TYPE_DECIMAL128) {
      // Decimal values round in decimal arithmetic.
      dec::D n = v.raw().value.v_decimal128;
      std::vector<dec::D> ds;
      for (double s : series_) ds.push_back(dec::from_double(s));
      auto lt = [](const dec::D& a, const dec::D& b) { return dec::compare(a, b) < 0; };
      dec::D m = dec::from_int64(1);
      const dec::D ten = dec::from_int64(10);
      if (up) {
        while (!lt(n, dec::mul(ds.back(), m))) m = dec::mul(m, ten);
        while (lt(n, dec::mul(ds.front(), m))) {
          dec::D prev_min = dec::mul(ds.front(), m);
          m = dec::div(m, ten);
          if (!lt(n, dec::mul(ds.back(), m))) return Value::decimal(prev_min);
        }
        for (const auto& s : ds) {
          if (lt(n, dec::mul(s, m))) return Value::decimal(dec::mul(s, m));
        }
      } else {
        while (!lt(dec::mul(ds.front(), m), n)) m = dec::div(m, ten);
        while (lt(dec::mul(ds.back(), m), n)) {
          dec::D prev_max = dec::mul(ds.back(), m);
          m = dec::mul(m, ten);
          if (!lt(dec::mul(ds.front(), m), n)) return Value::decimal(prev_max);
        }
        for (size_t i = ds.size(); i-- > 0;) {
          if (lt(dec::mul(ds[i], m), n)) return Value::decimal(dec::mul(ds[i], m));
        }
      }
      return v;
    }
    double m = 1.0;
    if (up) {
      while (x >= series_.back() * m) m *= 10.0;
      while (x < series_.front() * m) {
        double prev_min = series_.front() * m;
        m /= 10.0;
        if (x >= series_.back() * m) return Value::dbl(prev_min);
      }
      for (double s : series_) {
        if (x < s * m) return Value::dbl(s * m);
      }
    } else {
      while (x <= series_.front() * m) m /= 10.0;
      while (x > series_.back() * m) {
        double prev_max = series_.back() * m;
        m *= 10.0;
        if (x <= series_.front() * m) return Value::dbl(prev_max);
      }
      for (size_t i = series_.size(); i-- > 0;) {
        if (series_[i] * m < x) return Value::dbl(series_[i] * m);
      }
    }
    return v;
  }

 private:
  // The server's GranularityRounderPowersOfTwo: the exponent of the next power of two above
  // (below) the value, then {$pow: [2, exp]}: an int (long when large) for exp >= 0, a double
  // below.
  static Result<Value> round_pow2(const Value& v, double x, bool up) {
    int exp;
    if (v.type() == BSON_TYPE_INT32 || v.type() == BSON_TYPE_INT64) {
      auto n = static_cast<uint64_t>(v.as_int64());
      const int bits = 64 - __builtin_clzll(n);  // position of the highest set bit, 1-based
      const bool pow2 = (n & (n - 1)) == 0;
      exp = up ? bits : (pow2 ? bits - 2 : bits - 1);
    } else {
      exp = up ? static_cast<int>(std::floor(std::log2(x))) + 1 : static_cast<int>(std::ceil(std::log2(x))) - 1;
    }
    if (exp < 0) return Value::dbl(std::ldexp(1.0, exp));
    if (exp < 31) return Value::int32(1 << exp);
    if (exp < 63) return Value::int64(int64_t{1} << exp);
    return Value::dbl(std::ldexp(1.0, exp));
  }
  std::vector<double> series_;
  bool pow2_;
};

std::optional<Rounder> rounder_for(std::string_view g) {
  static const std::vector<std::pair<std::string_view, std::vector<double>>> kSeries = {
      {"R5", {10, 16, 25, 40, 63}},
      {"R10", {100, 125, 160, 200, 250, 315, 400, 500, 630, 800}},
      {"R20", {100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800, 900}},
      {"R40", {100, 106, 112, 118, 125, 132, 140, 150, 160, 170, 180, 190, 200, 212, 224, 236, 250, 265, 280, 300,
               315, 355, 375, 400, 425, 450, 475, 500, 530, 560, 600, 630, 670, 710, 750, 800, 850, 900, 950}},
      {"R80", {103, 109, 115, 122, 128, 136, 145, 155, 165, 175, 185, 195, 206, 218, 230, 243, 258, 272, 290, 307,
               325, 345, 365, 387, 412, 437, 462, 487, 515, 545, 575, 615, 650, 690, 730, 775, 825, 875, 925, 975}},
      {"1-2-5", {10, 20, 50}},
      {"E6", {10, 15, 22, 33, 47, 68}},
      {"E12", {10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82}},
      {"E24", {10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91}},
      {"E48", {100, 105, 110, 115, 121, 127, 133, 140, 147, 154, 162, 169, 178, 187, 196, 205,
               215, 226, 237, 249, 261, 274, 287, 301, 316, 332, 348, 365, 383, 402, 422, 442,
               464, 487, 511, 536, 562, 590, 619, 649, 681, 715, 750, 787, 825, 866, 909, 953}},
      {"E96", {100, 102, 105, 107, 110, 113, 115, 118, 121, 124, 127, 130, 133, 137, 140, 143, 147, 150, 154, 158,
               162, 165, 169, 174, 178, 182, 187, 191, 196, 200, 205, 210, 215, 221, 226, 232, 237, 243, 249, 255,
               261, 267, 274, 280, 287, 294, 301, 309, 316, 324, 332, 340, 348, 357, 365, 374, 383, 392, 402, 412,
               422, 432, 442, 453, 464, 475, 487, 499, 511, 523, 536, 549, 562, 576, 590, 604, 619, 634, 649, 665,
               681, 698, 715, 732, 750, 768, 787, 806, 825, 845, 866, 887, 909, 931, 953, 976}},
      {"E192", {100, 101, 102, 104, 105, 106, 107, 109, 110, 111, 113, 114, 115, 117, 118, 120, 121, 123, 124, 126,
                127, 129, 130, 132, 133, 135, 137, 138, 140, 142, 143, 145, 147, 149, 150, 152, 154, 156, 158, 160,
                162, 164, 165, 167, 169, 172, 174, 176, 178, 180, 182, 184, 187, 189, 191, 193, 196, 198, 200, 203,
                205, 208, 210, 213, 215, 218, 221, 223, 226, 229, 232, 234, 237, 240, 243, 246, 249, 252, 255, 258,
                261, 264, 267, 271, 274, 277, 280, 284, 287, 291, 294, 298, 301, 305, 309, 312, 316, 320, 324, 328,
                332, 336, 340, 344, 348, 352, 357, 361, 365, 370, 374, 379, 383, 388, 392, 397, 402, 407, 412, 417,
                422, 427, 432, 437, 442, 448, 453, 459, 464, 470, 475, 481, 487, 493, 499, 505, 511, 517, 523, 530,
                536, 542, 549, 556, 562, 569, 576, 583, 590, 597, 604, 612, 619, 626, 634, 642, 649, 657, 665, 673,
                681, 690, 698, 706, 715, 723, 732, 741, 750, 759, 768, 777, 787, 796, 806, 816, 825, 835, 845, 856,
                866, 876, 887, 898, 909, 920, 931, 942, 953, 965, 976, 988}},
  };
  if (g == "POWERSOF2") return Rounder({}, true);
  for (const auto& [name, s] : kSeries) {
    if (name == g) return Rounder(s);
  }
  return std::nullopt;
}

class BucketAutoStage : public Stage {
 public:
  BucketAutoStage(ExprPtr group_by, int32_t n, Accs accs, std::optional<Rounder> r, const ExpressionContext& ctx)
      : Stage("$bucketAuto"), group_by_(std::move(group_by)), n_(n), accs_(std::move(accs)), rounder_(std::move(r)),
        ctx_(ctx) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    return make_blocking_source(std::move(input), [this](DocumentSource& in) { return build(in); });
  }

 private:
  struct Entry {
    Value key;
    Bson doc;
  };
  struct Bucket {
    Value min, max;
    std::vector<std::unique_ptr<Accumulator>> accs;
  };

  Result<std::vector<Bson>> build(DocumentSource& in) const {
    const Collator* coll = ctx_.coll();
    MemoryBudget budget(ctx_, kStageMemoryLimit, [] { return sort_memory_exceeded(kStageMemoryLimit); });
    std::vector<Entry> entries;
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, in.next());
      if (!d) break;
      MS_ASSIGN_OR_RETURN(Value k, eval(*group_by_, d->get(), ctx_));
      if (k.missing()) k = Value::null();
      if (rounder_) {
        if (!k.is_number()) {
          return Status(40258, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a "
                               "value with type: " +
                                   type_name(k.type()));
        }
        double x = k.as_double();
        if (std::isnan(x)) {
          return Status(40259, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a NaN");
        }
        if (x < 0) {
          return Status(40260, "$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a "
                               "negative value: " +
                                   value_string(k) + ".");
        }
      }
      MS_RETURN_IF_ERROR(budget.add(d->size() + approx_size(k)));
      entries.push_back({std::move(k), std::move(*d)});
    }
    common::stable_sort(entries, [coll](const Entry& a, const Entry& b) {
      return compare_values(&a.key.raw(), &b.key.raw(), coll) < 0;
    });
    const size_t total = entries.size();
    if (total == 0) return std::vector<Bson>();
    int64_t approx = std::llround(static_cast<double>(total) / static_cast<double>(n_));
    if (approx < 1) approx = 1;

    std::vector<Bucket> buckets;
    size_t i = 0;
    auto add = [&](Bucket& b, const Entry& e) -> Status {
      b.max = e.key;
      Variables vars(ctx_);
      for (size_t a = 0; a < accs_.size(); ++a) {
        Value v;
        if (accs_[a].second->is_count()) {
          v = Value::int32(1);
        } else {
          MS_ASSIGN_OR_RETURN(v, accs_[a].second->argument().evaluate(e.doc.get(), vars));
        }
        MS_RETURN_IF_ERROR(b.accs[a]->process(v, e.doc.get()));
      }
      return Status::OK();
    };
    for (int32_t bi = 0; bi < n_ && i < total; ++bi) {
      bool last = bi == n_ - 1;
      Bucket b;
      b.min = entries[i].key;
      bson_t empty = BSON_INITIALIZER;
      for (const auto& [name, spec] : accs_) {
        MS_ASSIGN_OR_RETURN(auto a, spec->make(&empty));
        b.accs.push_back(std::move(a));
      }
      MS_RETURN_IF_ERROR(add(b, entries[i++]));
      if (last) {
        while (i < total) MS_RETURN_IF_ERROR(add(b, entries[i++]));
      } else {
        for (int64_t j = 0; j < approx - 1; ++j) {
          if (i >= total) {
            last = true;
            break;
          }
          MS_RETURN_IF_ERROR(add(b, entries[i++]));
        }
        // Values equal to the bucket's last one stay in the bucket.
        while (!last && i < total && compare_values(&b.max.raw(), &entries[i].key.raw(), coll) == 0) {
          MS_RETURN_IF_ERROR(add(b, entries[i++]));
        }
      }
      if (rounder_) {
        MS_ASSIGN_OR_RETURN(Value bound, rounder_->round(b.max, true));
        // Values below the rounded-up boundary join this bucket.
        while (i < total && compare_values(&entries[i].key.raw(), &bound.raw(), coll) < 0) {
          MS_RETURN_IF_ERROR(add(b, entries[i++]));
        }
        if (bound.as_double() == 0.0 && i < total) {
          // A bucket ending at zero: its exclusive upper bound is the next value rounded down.
          MS_ASSIGN_OR_RETURN(b.max, rounder_->round(entries[i].key, false));
        } else {
          b.max = bound;
        }
      }
      buckets.push_back(std::move(b));
    }
    if (rounder_) {
      MS_ASSIGN_OR_RETURN(buckets.front().min, rounder_->round(buckets.front().min, false));
      for (size_t b = 1; b < buckets.size(); ++b) buckets[b].min = buckets[b - 1].max;
    } else {
      for (size_t b = 0; b + 1 < buckets.size(); ++b) buckets[b].max = buckets[b + 1].min;
    }
    std::vector<Bson> out;
    for (auto& b : buckets) {
      Bson d;
      OutDoc id;
      id.push("min", b.min);
      id.push("max", b.max);
      id.value().append_to(d.mut(), "_id");
      for (size_t a = 0; a < accs_.size(); ++a) {
        Value r = b.accs[a]->result();
        (r.missing() ? Value::null() : r).append_to(d.mut(), accs_[a].first);
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  ExprPtr group_by_;
  int32_t n_;
  Accs accs_;
  std::optional<Rounder> rounder_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_bucket_auto(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(40240, "The argument to $bucketAuto must be an object, but found type: " +
                             type_name(bson_iter_type(spec)));
  }
  ExprPtr group_by;
  std::optional<int32_t> n;
  Accs accs;
  std::optional<Rounder> rounder;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "groupBy") {
      const bool expr_obj = is_expression_object(&it);
      uint32_t len = 0;
      const bool path = BSON_ITER_HOLDS_UTF8(&it) && bson_iter_utf8(&it, &len)[0] == '$' && len > 1;
      if (!expr_obj && !path) {
        return Status(40239, "The $bucketAuto 'groupBy' field must be defined as a $-prefixed path or an expression "
                             "object, but found: " +
                                 elem_value_string(&it));
      }
      MS_ASSIGN_OR_RETURN(group_by, Expression::parse(&it, ctx));
    } else if (k == "buckets") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        return Status(40241, "The $bucketAuto 'buckets' field must be a numeric value, but found type: " +
                                 type_name(bson_iter_type(&it)));
      }
      auto i = integral_of(&it);
      if (!i || *i < INT32_MIN || *i > INT32_MAX) {
        return Status(40242, "The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found " +
                                 value_string(Value::dbl(Value::from_iter(&it).as_double())));
      }
      n = static_cast<int32_t>(*i);
    } else if (k == "output") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(40244, "The $bucketAuto 'output' field must be an object, but found type: " +
                                 type_name(bson_iter_type(&it)));
      }
      MS_RETURN_IF_ERROR(parse_output_accumulators(&it, ctx, accs));
    } else if (k == "granularity") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) {
        return Status(40261, "The $bucketAuto 'granularity' field must be a string, but found type: " +
                                 type_name(bson_iter_type(&it)));
      }
      std::string g = bson_iter_utf8(&it, nullptr);
      rounder = rounder_for(g);
      if (!rounder) return Status(40257, "Unknown rounding granularity '" + g + "'");
    } else {
      return Status(40245, "Unrecognized option to $bucketAuto: " + std::string(k));
    }
  }
  if (!group_by || !n) return Status(40246, "$bucketAuto requires 'groupBy' and 'buckets' to be specified");
  if (*n <= 0) return Status(40243, "The $bucketAuto 'buckets' field must be greater than 0, but found: " + std::to_string(*n));
  if (accs.empty()) MS_RETURN_IF_ERROR(add_default_count(accs, ctx));
  return one<BucketAutoStage>(std::move(group_by), *n, std::move(accs), std::move(rounder), ctx);
}

// ---- $sortByCount ---------------------------------------------------------------------------

Result<Stages> parse_sort_by_count(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  if (BSON_ITER_HOLDS_DOCUMENT(spec)) {
    if (!is_expression_object(spec)) {
      return Status(40147, "the sortByCount field must be defined as a $-prefixed path or an expression inside an object");
    }
  } else if (BSON_ITER_HOLDS_UTF8(spec)) {
    if (bson_iter_utf8(spec, nullptr)[0] != '$') {
      return Status(40148, "the sortByCount field must be defined as a $-prefixed path or an expression inside an object");
    }
  } else {
    return Status(40149, "the sortByCount field must be specified as a string or as an object");
  }
  // {$group: {_id: <expr>, count: {$sum: 1}}}, {$sort: {count: -1}}
  Bson group, sort;
  {
    bson_t g, c;
    bson_append_document_begin(group.mut(), "$group", 6, &g);
    bson_append_value(&g, "_id", 3, bson_iter_value(const_cast<bson_iter_t*>(spec)));
    BSON_APPEND_DOCUMENT_BEGIN(&g, "count", &c);
    BSON_APPEND_INT32(&c, "$sum", 1);
    bson_append_document_end(&g, &c);
    bson_append_document_end(group.mut(), &g);
    bson_t s;
    bson_append_document_begin(sort.mut(), "$sort", 5, &s);
    BSON_APPEND_INT32(&s, "count", -1);
    bson_append_document_end(sort.mut(), &s);
  }
  Bson arr;
  bson_append_document(arr.mut(), "0", 1, group.get());
  bson_append_document(arr.mut(), "1", 1, sort.get());
  MS_ASSIGN_OR_RETURN(StageList l, parse_stage_list(arr.get(), ps));
  return std::move(l.stages);
}

}  // namespace

std::vector<StageDef> group_stages() {
  return {
      {"$group", 0, parse_group},
      {"$bucket", 0, parse_bucket},
      {"$bucketAuto", 0, parse_bucket_auto},
      {"$sortByCount", 0, parse_sort_by_count},
  };
}

}  // namespace mql::pipe
