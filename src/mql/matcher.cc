// The query matcher: parses a filter into a tree of nodes once (with the server's error codes
// and messages) and evaluates it over raw BSON without copying (mongodb-reference.md §8.1-8.2).
#include "mql/matcher.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mql/compare.h"
#include "mql/expression.h"
#include "mql/json_schema.h"
#include "mql/matcher_internal.h"
#include "mql/matcher_regex.h"
#include "mql/value.h"

namespace mql {
namespace internal {

using common::Result;
using common::Status;

bool FieldExpr::eval_value(const bson_value_t* v, int64_t* elem_pos) const {
  switch (kind) {
    case Kind::kLeaf: return pred->match(v, elem_pos);
    case Kind::kNot: return !kids[0].eval_value(v, nullptr);
    case Kind::kAnd:
      for (const auto& k : kids) {
        if (!k.eval_value(v, elem_pos)) return false;
      }
      return true;
    case Kind::kTrue: return true;
    case Kind::kFalse: return false;
  }
  return false;
}

namespace {

constexpr int kMaxDepth = 100;

inline const bson_value_t* iter_value(const bson_iter_t* it) { return bson_iter_value(const_cast<bson_iter_t*>(it)); }

bool is_number_type(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE || t == BSON_TYPE_DECIMAL128;
}

bool is_nan(const bson_value_t* v) {
  if (v->value_type == BSON_TYPE_DOUBLE) return std::isnan(v->value.v_double);
  if (v->value_type == BSON_TYPE_DECIMAL128) {
    // NaN: combination field bits 11111 0 in the high word.
    return (v->value.v_decimal128.high & 0x7c00000000000000ULL) == 0x7c00000000000000ULL;
  }
  return false;
}

std::string_view str_of(const bson_value_t* v) {
  if (v->value_type == BSON_TYPE_UTF8) return {v->value.v_utf8.str, v->value.v_utf8.len};
  return {v->value.v_symbol.symbol, v->value.v_symbol.len};
}

std::string key_of(const bson_iter_t* it) { return std::string(bson_iter_key(it), bson_iter_key_len(it)); }

// ---------------------------------------------------------------------------------------------
// Nodes

class ConstNode final : public MatchNode {
 public:
  explicit ConstNode(bool v) : v_(v) {}
  bool matches(const bson_t*, int64_t*) const override { return v_; }

 private:
  bool v_;
};

class AndNode final : public MatchNode {
 public:
  explicit AndNode(std::vector<std::unique_ptr<MatchNode>> kids) : kids_(std::move(kids)) {}
  bool matches(const bson_t* doc, int64_t* pos) const override {
    for (const auto& k : kids_) {
      if (!k->matches(doc, pos)) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<MatchNode>> kids_;
};

// $or and $nor do not record positions (as the server's OrMatchExpression).
class OrNode final : public MatchNode {
 public:
  OrNode(std::vector<std::unique_ptr<MatchNode>> kids, bool nor) : kids_(std::move(kids)), nor_(nor) {}
  bool matches(const bson_t* doc, int64_t*) const override {
    for (const auto& k : kids_) {
      if (k->matches(doc, nullptr)) return !nor_;
    }
    return nor_;
  }

 private:
  std::vector<std::unique_ptr<MatchNode>> kids_;
  bool nor_;
};

class NotNode final : public MatchNode {
 public:
  explicit NotNode(std::unique_ptr<MatchNode> kid) : kid_(std::move(kid)) {}
  bool matches(const bson_t* doc, int64_t*) const override { return !kid_->matches(doc, nullptr); }

 private:
  std::unique_ptr<MatchNode> kid_;
};

class PathNode final : public MatchNode {
 public:
  PathNode(FieldPath path, std::shared_ptr<ValuePred> pred) : path_(std::move(path)), pred_(std::move(pred)) {}
  bool matches(const bson_t* doc, int64_t* pos) const override {
    int64_t found = -1;
    auto visit = [&](const PathHit& h) {
      int64_t ep = -1;
      if (pred_->match(h.it ? iter_value(h.it) : nullptr, &ep)) {
        found = h.array_pos >= 0 ? h.array_pos : ep;
        return true;
      }
      return false;
    };
    bool hit = traverse(doc, path_, pred_->expand_leaf_arrays(), visit);
    if (hit && pos != nullptr && found >= 0) *pos = found;
    return hit;
  }

 private:
  FieldPath path_;
  std::shared_ptr<ValuePred> pred_;
};

class ExprNode final : public MatchNode {
 public:
  ExprNode(std::unique_ptr<Expression> e, const ExpressionContext& ctx) : e_(std::move(e)), ctx_(ctx) {}
  bool matches(const bson_t* doc, int64_t*) const override {
    Variables vars(ctx_);
    auto r = e_->evaluate(doc, vars);
    return r.ok() && r.value().truthy();
  }

 private:
  std::unique_ptr<Expression> e_;
  const ExpressionContext& ctx_;
};

// ---------------------------------------------------------------------------------------------
// Value predicates

bool null_like(const bson_value_t* v, bool undefined_is_null) {
  return v == nullptr || v->value_type == BSON_TYPE_NULL || (undefined_is_null && v->value_type == BSON_TYPE_UNDEFINED);
}

class EqPred final : public ValuePred {
 public:
  EqPred(Value rhs, const Collator* coll, bool undef) : rhs_(std::move(rhs)), coll_(coll), undef_(undef) {}
  bool match(const bson_value_t* v, int64_t*) const override {
    if (rhs_.is_null()) return null_like(v, undef_);
    if (v == nullptr) return false;
    if (canonical_rank(v->value_type) != canonical_rank(rhs_.type())) return false;
    return compare_values(v, &rhs_.raw(), coll_) == 0;
  }

 private:
  Value rhs_;
  const Collator* coll_;
  bool undef_;
};

enum class CmpOp { kLT, kLTE, kGT, kGTE };

class CmpPred final : public ValuePred {
 public:
  CmpPred(CmpOp op, Value rhs, const Collator* coll, bool undef) : op_(op), rhs_(std::move(rhs)), coll_(coll), undef_(undef) {}
  bool match(const bson_value_t* v, int64_t*) const override {
    bool inclusive = op_ == CmpOp::kLTE || op_ == CmpOp::kGTE;
    if (rhs_.is_null()) return inclusive && null_like(v, undef_);
    bson_type_t rt = rhs_.type();
    if (v == nullptr) {
      // A missing field still compares against MinKey/MaxKey (the server sees an EOO element).
      if (rt == BSON_TYPE_MAXKEY) return op_ == CmpOp::kLT || op_ == CmpOp::kLTE;
      if (rt == BSON_TYPE_MINKEY) return op_ == CmpOp::kGT || op_ == CmpOp::kGTE;
      return false;
    }
    if (rt != BSON_TYPE_MINKEY && rt != BSON_TYPE_MAXKEY) {
      if (canonical_rank(v->value_type) != canonical_rank(rt)) return false;
      if (canonical_rank(rt) == 10) {
        bool a = is_nan(v), b = is_nan(&rhs_.raw());
        if (a || b) return inclusive && a && b;
      }
    }
    int c = compare_values(v, &rhs_.raw(), coll_);
    switch (op_) {
      case CmpOp::kLT: return c < 0;
      case CmpOp::kLTE: return c <= 0;
      case CmpOp::kGT: return c > 0;
      case CmpOp::kGTE: return c >= 0;
    }
    return false;
  }

 private:
  CmpOp op_;
  Value rhs_;
  const Collator* coll_;
  bool undef_;
};

bool regex_value_match(const Regex& re, const bson_value_t* v) {
  if (v == nullptr) return false;
  switch (v->value_type) {
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return re.matches(str_of(v));
    case BSON_TYPE_REGEX:
      return re.pattern() == (v->value.v_regex.regex ? v->value.v_regex.regex : "") &&
             re.options() == (v->value.v_regex.options ? v->value.v_regex.options : "");
    default: return false;
  }
}

class RegexPred final : public ValuePred {
 public:
  explicit RegexPred(std::shared_ptr<const Regex> re) : re_(std::move(re)) {}
  bool match(const bson_value_t* v, int64_t*) const override { return regex_value_match(*re_, v); }

 private:
  std::shared_ptr<const Regex> re_;
};

class InPred final : public ValuePred {
 public:
  InPred(std::vector<Value> eqs, std::vector<std::shared_ptr<const Regex>> res, const Collator* coll, bool undef)
      : eqs_(std::move(eqs)), res_(std::move(res)), coll_(coll), undef_(undef) {
    for (const auto& e : eqs_) {
      if (e.is_null()) has_null_ = true;
    }
    // Sorted by the canonical order, equality is a binary search (compare == 0 implies same rank).
    std::sort(eqs_.begin(), eqs_.end(),
              [this](const Value& a, const Value& b) { return compare_values(&a.raw(), &b.raw(), coll_) < 0; });
  }
  bool match(const bson_value_t* v, int64_t*) const override {
    if (null_like(v, true)) {  // $in with null matches missing and undefined in every version
      if (has_null_) return true;
      if (v == nullptr) return false;
    }
    for (const auto& re : res_) {
      if (regex_value_match(*re, v)) return true;
    }
    if (v->value_type == BSON_TYPE_UNDEFINED) return false;
    auto it = std::lower_bound(eqs_.begin(), eqs_.end(), v, [this](const Value& a, const bson_value_t* b) {
      return compare_values(&a.raw(), b, coll_) < 0;
    });
    return it != eqs_.end() && compare_values(&it->raw(), v, coll_) == 0;
  }

 private:
  std::vector<Value> eqs_;
  std::vector<std::shared_ptr<const Regex>> res_;
  const Collator* coll_;
  bool undef_;
  bool has_null_ = false;
};

class ExistsPred final : public ValuePred {
 public:
  bool match(const bson_value_t* v, int64_t*) const override { return v != nullptr; }
  bool expand_leaf_arrays() const override { return false; }
};

class TypePred final : public ValuePred {
 public:
  TypePred(std::vector<int> types, bool number) : types_(std::move(types)), number_(number) {}
  bool match(const bson_value_t* v, int64_t*) const override {
    if (v == nullptr) return false;
    if (number_ && is_number_type(v->value_type)) return true;
    int t = v->value_type == BSON_TYPE_MINKEY ? -1 : static_cast<int>(v->value_type);
    return std::find(types_.begin(), types_.end(), t) != types_.end();
  }

 private:
  std::vector<int> types_;
  bool number_;
};

class ModPred final : public ValuePred {
 public:
  ModPred(int64_t div, int64_t rem) : div_(div), rem_(rem) {}
  bool match(const bson_value_t* v, int64_t*) const override {
    if (v == nullptr) return false;
    int64_t x;
    switch (v->value_type) {
      case BSON_TYPE_INT32: x = v->value.v_int32; break;
      case BSON_TYPE_INT64: x = v->value.v_int64; break;
      case BSON_TYPE_DOUBLE:
      case BSON_TYPE_DECIMAL128: {
        // Truncated toward zero; values outside the int64 range never match.
        double d = std::trunc(Value(*v).as_double());
        if (!std::isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return false;
        x = static_cast<int64_t>(d);
        break;
      }
      default: return false;
    }
    if (div_ == -1) return rem_ == 0;  // avoids INT64_MIN % -1
    return x % div_ == rem_;
  }

 private:
  int64_t div_, rem_;
};

class SizePred final : public ValuePred {
 public:
  explicit SizePred(int64_t n) : n_(n) {}
  bool match(const bson_value_t* v, int64_t*) const override {
    if (v == nullptr || v->value_type != BSON_TYPE_ARRAY) return false;
    bson_t arr;
    if (!bson_init_static(&arr, v->value.v_doc.data, v->value.v_doc.data_len)) return false;
    return static_cast<int64_t>(bson_count_keys(&arr)) == n_;
  }
  bool expand_leaf_arrays() const override { return false; }

 private:
  int64_t n_;
};

class ElemMatchObjectPred final : public ValuePred {
 public:
  explicit ElemMatchObjectPred(std::unique_ptr<MatchNode> sub) : sub_(std::move(sub)) {}
  bool match(const bson_value_t* v, int64_t* elem_pos) const override {
    if (v == nullptr || v->value_type != BSON_TYPE_ARRAY) return false;
    bson_t arr;
    bson_iter_t it;
    if (!bson_init_static(&arr, v->value.v_doc.data, v->value.v_doc.data_len) || !bson_iter_init(&it, &arr)) return false;
    int64_t k = 0;
    while (bson_iter_next(&it)) {
      bson_type_t t = bson_iter_type(&it);
      if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
        const bson_value_t* e = iter_value(&it);
        bson_t sub;
        if (bson_init_static(&sub, e->value.v_doc.data, e->value.v_doc.data_len) && sub_->matches(&sub, nullptr)) {
          if (elem_pos) *elem_pos = k;
          return true;
        }
      }
      ++k;
    }
    return false;
  }
  bool expand_leaf_arrays() const override { return false; }

 private:
  std::unique_ptr<MatchNode> sub_;
};

class ElemMatchValuePred final : public ValuePred {
 public:
  explicit ElemMatchValuePred(FieldExpr expr) : expr_(std::move(expr)) {}
  bool match(const bson_value_t* v, int64_t* elem_pos) const override {
    if (v == nullptr || v->value_type != BSON_TYPE_ARRAY) return false;
    bson_t arr;
    bson_iter_t it;
    if (!bson_init_static(&arr, v->value.v_doc.data, v->value.v_doc.data_len) || !bson_iter_init(&it, &arr)) return false;
    int64_t k = 0;
    while (bson_iter_next(&it)) {
      if (expr_.eval_value(iter_value(&it), nullptr)) {
        if (elem_pos) *elem_pos = k;
        return true;
      }
      ++k;
    }
    return false;
  }
  bool expand_leaf_arrays() const override { return false; }

 private:
  FieldExpr expr_;
};

enum class BitsOp { kAllSet, kAnySet, kAllClear, kAnyClear };

class BitsPred final : public ValuePred {
 public:
  BitsPred(BitsOp op, std::vector<uint32_t> positions) : op_(op), positions_(std::move(positions)) {}
  bool match(const bson_value_t* v, int64_t*) const override {
    if (v == nullptr) return false;
    bool is_set_all = true, any_set = false, all_clear = true, any_clear = false;
    auto account = [&](bool set) {
      if (set) {
        any_set = true;
        all_clear = false;
      } else {
        any_clear = true;
        is_set_all = false;
      }
    };
    if (v->value_type == BSON_TYPE_BINARY) {
      const uint8_t* d = v->value.v_binary.data;
      uint32_t n = v->value.v_binary.data_len;
      for (uint32_t p : positions_) {
        uint32_t byte = p / 8;
        account(byte < n && ((d[byte] >> (p % 8)) & 1));
      }
    } else {
      int64_t x;
      switch (v->value_type) {
        case BSON_TYPE_INT32: x = v->value.v_int32; break;
        case BSON_TYPE_INT64: x = v->value.v_int64; break;
        case BSON_TYPE_DOUBLE: {
          double d = v->value.v_double;
          if (!std::isfinite(d) || std::trunc(d) != d || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
            return false;
          }
          x = static_cast<int64_t>(d);
          break;
        }
        case BSON_TYPE_DECIMAL128: {
          double d = Value(*v).as_double();
          if (!std::isfinite(d) || std::trunc(d) != d || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
            return false;
          }
          x = static_cast<int64_t>(d);
          break;
        }
        default: return false;
      }
      auto ux = static_cast<uint64_t>(x);
      for (uint32_t p : positions_) {
        // Bits above 63 behave as the sign bit (two's complement sign extension).
        bool set = p >= 64 ? x < 0 : ((ux >> p) & 1) != 0;
        account(set);
      }
    }
    switch (op_) {
      case BitsOp::kAllSet: return is_set_all;
      case BitsOp::kAnySet: return any_set;
      case BitsOp::kAllClear: return all_clear;
      case BitsOp::kAnyClear: return any_clear;
    }
    return false;
  }

 private:
  BitsOp op_;
  std::vector<uint32_t> positions_;
};

// ---------------------------------------------------------------------------------------------
// Parsing

Status bad(std::string msg) { return Status(common::kBadValue, std::move(msg)); }

FieldExpr leaf(std::shared_ptr<ValuePred> p) {
  FieldExpr e;
  e.kind = FieldExpr::Kind::kLeaf;
  e.pred = std::move(p);
  return e;
}

FieldExpr negate(FieldExpr inner) {
  FieldExpr e;
  e.kind = FieldExpr::Kind::kNot;
  e.kids.push_back(std::move(inner));
  return e;
}

FieldExpr constant(bool v) {
  FieldExpr e;
  e.kind = v ? FieldExpr::Kind::kTrue : FieldExpr::Kind::kFalse;
  return e;
}

std::unique_ptr<MatchNode> to_node(const FieldPath& path, const FieldExpr& e) {
  switch (e.kind) {
    case FieldExpr::Kind::kLeaf: return std::make_unique<PathNode>(path, e.pred);
    case FieldExpr::Kind::kNot: return std::make_unique<NotNode>(to_node(path, e.kids[0]));
    case FieldExpr::Kind::kAnd: {
      if (e.kids.size() == 1) return to_node(path, e.kids[0]);
      std::vector<std::unique_ptr<MatchNode>> kids;
      for (const auto& k : e.kids) kids.push_back(to_node(path, k));
      return std::make_unique<AndNode>(std::move(kids));
    }
    case FieldExpr::Kind::kTrue: return std::make_unique<ConstNode>(true);
    case FieldExpr::Kind::kFalse: return std::make_unique<ConstNode>(false);
  }
  return std::make_unique<ConstNode>(false);
}

// True when an object is an operator object ({$gt: 1}) rather than a literal ({a: 1} or a
// DBRef {$ref, $id}).
bool is_operator_object(const bson_iter_t* it) {
  bson_iter_t sub;
  if (!bson_iter_recurse(it, &sub) || !bson_iter_next(&sub)) return false;
  const char* k = bson_iter_key(&sub);
  if (k[0] != '$') return false;
  return std::strcmp(k, "$ref") != 0 && std::strcmp(k, "$id") != 0 && std::strcmp(k, "$db") != 0;
}

bool is_top_level_operator(std::string_view k) {
  return k == "$and" || k == "$or" || k == "$nor" || k == "$expr" || k == "$where" || k == "$text" ||
         k == "$comment" || k == "$jsonSchema" || k == "$alwaysTrue" || k == "$alwaysFalse";
}

bool is_geo_operator(std::string_view k) {
  return k == "$near" || k == "$nearSphere" || k == "$geoWithin" || k == "$geoIntersects" || k == "$within" ||
         k == "$box" || k == "$center" || k == "$centerSphere" || k == "$polygon" || k == "$geometry" ||
         k == "$maxDistance" || k == "$minDistance";
}

class Parser {
 public:
  explicit Parser(const ExpressionContext& ctx) : ctx_(ctx), undef_(ctx.version < 80) {}

  Result<std::unique_ptr<MatchNode>> filter(const bson_t* doc, int depth) {
    if (depth > kMaxDepth) return bad("exceeded maximum query tree depth of 100");
    bson_iter_t it;
    if (!bson_iter_init(&it, doc)) return bad("invalid BSON in query");
    std::vector<std::unique_ptr<MatchNode>> kids;
    while (bson_iter_next(&it)) {
      MS_ASSIGN_OR_RETURN(auto node, element(&it, depth));
      if (node) kids.push_back(std::move(node));
    }
    if (kids.empty()) return std::unique_ptr<MatchNode>(std::make_unique<ConstNode>(true));
    if (kids.size() == 1) return std::move(kids[0]);
    return std::unique_ptr<MatchNode>(std::make_unique<AndNode>(std::move(kids)));
  }

 private:
  // One top-level element of a filter; nullptr for elements that match everything ($comment).
  Result<std::unique_ptr<MatchNode>> element(const bson_iter_t* it, int depth) {
    std::string key = key_of(it);
    if (!key.empty() && key[0] == '$') return top_level_operator(key, it, depth);
    FieldPath path(key);
    bson_type_t t = bson_iter_type(it);
    if (t == BSON_TYPE_REGEX) {
      MS_ASSIGN_OR_RETURN(auto re, regex_from_value(it));
      return to_node(path, leaf(std::make_shared<RegexPred>(std::move(re))));
    }
    if (t == BSON_TYPE_DOCUMENT && is_operator_object(it)) {
      MS_ASSIGN_OR_RETURN(FieldExpr e, field_ops(key, it, depth));
      return to_node(path, e);
    }
    MS_ASSIGN_OR_RETURN(auto p, eq_pred(it));
    return to_node(path, leaf(std::move(p)));
  }

  Result<std::unique_ptr<MatchNode>> top_level_operator(const std::string& key, const bson_iter_t* it, int depth) {
    if (key == "$and" || key == "$or" || key == "$nor") {
      if (bson_iter_type(it) != BSON_TYPE_ARRAY) return bad(key + " must be an array");
      bson_iter_t arr;
      bson_iter_recurse(it, &arr);
      std::vector<std::unique_ptr<MatchNode>> kids;
      while (bson_iter_next(&arr)) {
        if (bson_iter_type(&arr) != BSON_TYPE_DOCUMENT) return bad("$or/$and/$nor entries need to be full objects");
        const bson_value_t* v = iter_value(&arr);
        bson_t sub;
        if (!bson_init_static(&sub, v->value.v_doc.data, v->value.v_doc.data_len)) return bad("invalid BSON in query");
        MS_ASSIGN_OR_RETURN(auto node, filter(&sub, depth + 1));
        kids.push_back(std::move(node));
      }
      if (kids.empty()) return bad("$and/$or/$nor must be a nonempty array");
      if (key == "$and") {
        if (kids.size() == 1) return std::move(kids[0]);
        return std::unique_ptr<MatchNode>(std::make_unique<AndNode>(std::move(kids)));
      }
      return std::unique_ptr<MatchNode>(std::make_unique<OrNode>(std::move(kids), key == "$nor"));
    }
    if (key == "$comment") return std::unique_ptr<MatchNode>();
    if (key == "$expr") {
      MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, ctx_));
      return std::unique_ptr<MatchNode>(std::make_unique<ExprNode>(std::move(e), ctx_));
    }
    if (key == "$jsonSchema") {
      if (bson_iter_type(it) != BSON_TYPE_DOCUMENT) return Status(common::kTypeMismatch, "$jsonSchema must be an object");
      const bson_value_t* v = iter_value(it);
      bson_t schema;
      if (!bson_init_static(&schema, v->value.v_doc.data, v->value.v_doc.data_len)) return bad("invalid BSON in query");
      return parse_json_schema(&schema, ctx_);
    }
    if (key == "$alwaysTrue" || key == "$alwaysFalse") {
      bson_type_t t = bson_iter_type(it);
      if (!is_number_type(t) || Value::from_iter(it).as_double() != 1.0) {
        return Status(common::kFailedToParse, key + " must be an integer value of 1");
      }
      return std::unique_ptr<MatchNode>(std::make_unique<ConstNode>(key == "$alwaysTrue"));
    }
    if (key == "$where") return bad("$where is not supported: server-side JavaScript is not available");
    if (key == "$text") return bad("$text is not supported: text indexes are not available");
    std::string msg = "unknown top level operator: " + key;
    if (ctx_.version >= 50) {
      msg += ". If you have a field name that starts with a '$' symbol, consider using $getField or $setField.";
    }
    return bad(msg);
  }

  Result<std::shared_ptr<ValuePred>> eq_pred(const bson_iter_t* it) {
    if (bson_iter_type(it) == BSON_TYPE_UNDEFINED) return bad("cannot compare to undefined");
    return std::shared_ptr<ValuePred>(std::make_shared<EqPred>(Value::from_iter(it), ctx_.coll(), undef_));
  }

  Result<std::shared_ptr<const Regex>> regex_from_value(const bson_iter_t* it) {
    const char* opts = nullptr;
    const char* pat = bson_iter_regex(it, &opts);
    return Regex::compile(pat ? pat : "", opts ? opts : "");
  }

  // Parses {$op: arg, ...} for field `name` into a conjunction.
  Result<FieldExpr> field_ops(const std::string& name, const bson_iter_t* obj, int depth) {
    if (depth > kMaxDepth) return bad("exceeded maximum query tree depth of 100");
    FieldExpr all;
    all.kind = FieldExpr::Kind::kAnd;
    bson_iter_t it;
    if (!bson_iter_recurse(obj, &it)) return bad("invalid BSON in query");
    // $regex and $options pair up regardless of order.
    bson_iter_t regex_it, options_it;
    bool has_regex = false, has_options = false;
    {
      bson_iter_t scan = it;
      while (bson_iter_next(&scan)) {
        if (std::strcmp(bson_iter_key(&scan), "$regex") == 0) {
          regex_it = scan;
          has_regex = true;
        } else if (std::strcmp(bson_iter_key(&scan), "$options") == 0) {
          options_it = scan;
          has_options = true;
        }
      }
    }
    if (has_options && !has_regex) return bad("$options needs a $regex");
    while (bson_iter_next(&it)) {
      std::string op = key_of(&it);
      if (op == "$options") continue;
      if (op == "$regex") {
        MS_ASSIGN_OR_RETURN(auto re, regex_op(&regex_it, has_options ? &options_it : nullptr));
        all.kids.push_back(leaf(std::make_shared<RegexPred>(std::move(re))));
        continue;
      }
      MS_ASSIGN_OR_RETURN(FieldExpr e, one_op(name, op, &it, depth));
      all.kids.push_back(std::move(e));
    }
    return all;
  }

  Result<std::shared_ptr<const Regex>> regex_op(const bson_iter_t* re, const bson_iter_t* options) {
    std::string opts;
    if (options) {
      if (!BSON_ITER_HOLDS_UTF8(options)) return bad("$options has to be a string");
      opts = bson_iter_utf8(options, nullptr);
    }
    if (BSON_ITER_HOLDS_REGEX(re)) {
      const char* ropts = nullptr;
      const char* pat = bson_iter_regex(re, &ropts);
      if (options && ropts && *ropts) return bad("options set in both $regex and $options");
      return Regex::compile(pat ? pat : "", options ? opts : std::string(ropts ? ropts : ""));
    }
    if (!BSON_ITER_HOLDS_UTF8(re)) return bad("$regex has to be a string");
    uint32_t len = 0;
    const char* pat = bson_iter_utf8(re, &len);
    return Regex::compile(std::string_view(pat, len), opts);
  }

  Result<FieldExpr> one_op(const std::string& name, const std::string& op, const bson_iter_t* it, int depth) {
    bson_type_t t = bson_iter_type(it);
    if (op == "$eq") {
      MS_ASSIGN_OR_RETURN(auto p, eq_pred(it));
      return leaf(std::move(p));
    }
    if (op == "$ne") {
      if (t == BSON_TYPE_REGEX) return bad("Can't have regex as arg to $ne.");
      MS_ASSIGN_OR_RETURN(auto p, eq_pred(it));
      return negate(leaf(std::move(p)));
    }
    if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
      if (t == BSON_TYPE_UNDEFINED) return bad("cannot compare to undefined");
      CmpOp c = op == "$gt" ? CmpOp::kGT : op == "$gte" ? CmpOp::kGTE : op == "$lt" ? CmpOp::kLT : CmpOp::kLTE;
      return leaf(std::make_shared<CmpPred>(c, Value::from_iter(it), ctx_.coll(), undef_));
    }
    if (op == "$in" || op == "$nin") {
      if (t != BSON_TYPE_ARRAY) return bad(op + " needs an array");
      MS_ASSIGN_OR_RETURN(auto p, in_pred(it));
      return op == "$in" ? leaf(std::move(p)) : negate(leaf(std::move(p)));
    }
    if (op == "$exists") {
      FieldExpr e = leaf(std::make_shared<ExistsPred>());
      return common::value_truthy(it) ? e : negate(std::move(e));
    }
    if (op == "$type") return type_op(it);
    if (op == "$mod") return mod_op(it);
    if (op == "$size") {
      if (!is_number_type(t)) return bad("$size needs a number");
      Value v = Value::from_iter(it);
      double d = v.as_double();
      if (d < 0) return bad("$size may not be negative");
      if (std::trunc(d) != d || std::isnan(d)) return bad("$size must be a whole number");
      return leaf(std::make_shared<SizePred>(v.as_int64()));
    }
    if (op == "$all") return all_op(it, depth);
    if (op == "$elemMatch") {
      MS_ASSIGN_OR_RETURN(auto p, elem_match(it, depth));
      return leaf(std::move(p));
    }
    if (op == "$not") {
      if (t == BSON_TYPE_REGEX) {
        MS_ASSIGN_OR_RETURN(auto re, regex_from_value(it));
        return negate(leaf(std::make_shared<RegexPred>(std::move(re))));
      }
      if (t != BSON_TYPE_DOCUMENT) return bad("$not needs a regex or a document");
      bson_iter_t sub;
      bson_iter_recurse(it, &sub);
      if (!bson_iter_next(&sub)) return bad("$not cannot be empty");
      MS_ASSIGN_OR_RETURN(FieldExpr inner, field_ops(name, it, depth + 1));
      return negate(std::move(inner));
    }
    if (op == "$bitsAllSet" || op == "$bitsAnySet" || op == "$bitsAllClear" || op == "$bitsAnyClear") {
      return bits_op(op, it);
    }
    if (is_geo_operator(op)) return bad(op + " is not supported: geospatial queries are not available");
    if (op == "$where" || op == "$text") return bad(op + " is not supported");
    return bad("unknown operator: " + op);
  }

  Result<std::shared_ptr<ValuePred>> in_pred(const bson_iter_t* it) {
    bson_iter_t arr;
    bson_iter_recurse(it, &arr);
    std::vector<Value> eqs;
    std::vector<std::shared_ptr<const Regex>> res;
    while (bson_iter_next(&arr)) {
      bson_type_t t = bson_iter_type(&arr);
      if (t == BSON_TYPE_REGEX) {
        MS_ASSIGN_OR_RETURN(auto re, regex_from_value(&arr));
        res.push_back(std::move(re));
      } else if (t == BSON_TYPE_UNDEFINED) {
        return bad("InMatchExpression equality cannot be undefined");
      } else if (t == BSON_TYPE_DOCUMENT && is_operator_object(&arr)) {
        return bad("cannot nest $ under $in");
      } else {
        eqs.push_back(Value::from_iter(&arr));
      }
    }
    return std::shared_ptr<ValuePred>(std::make_shared<InPred>(std::move(eqs), std::move(res), ctx_.coll(), undef_));
  }

  Result<FieldExpr> type_op(const bson_iter_t* it) {
    std::vector<int> types;
    bool number = false;
    auto one = [&](const bson_iter_t* e) -> Status {
      bson_type_t t = bson_iter_type(e);
      if (is_number_type(t)) {
        Value v = Value::from_iter(e);
        double d = v.as_double();
        if (std::trunc(d) != d || std::isnan(d)) {
          return bad("Invalid numerical type code: " + v.json());
        }
        auto code = static_cast<int64_t>(d);
        bool valid = (code >= 1 && code <= 19) || code == -1 || code == 127;
        if (!valid) return bad("Invalid numerical type code: " + std::to_string(code));
        types.push_back(static_cast<int>(code));
        return Status::OK();
      }
      if (t == BSON_TYPE_UTF8) {
        std::string alias = bson_iter_utf8(e, nullptr);
        if (alias == "number") {
          number = true;
          return Status::OK();
        }
        static const std::pair<const char*, int> kAliases[] = {
            {"double", 1},    {"string", 2},     {"object", 3},  {"array", 4},      {"binData", 5},
            {"undefined", 6}, {"objectId", 7},   {"bool", 8},    {"date", 9},       {"null", 10},
            {"regex", 11},    {"dbPointer", 12}, {"javascript", 13}, {"symbol", 14}, {"javascriptWithScope", 15},
            {"int", 16},      {"timestamp", 17}, {"long", 18},   {"decimal", 19},   {"minKey", -1},
            {"maxKey", 127}};
        for (const auto& [n, c] : kAliases) {
          if (alias == n) {
            types.push_back(c);
            return Status::OK();
          }
        }
        return bad("Unknown type name alias: " + alias);
      }
      return Status(common::kTypeMismatch, "type must be represented as a number or a string");
    };
    if (bson_iter_type(it) == BSON_TYPE_ARRAY) {
      bson_iter_t arr;
      bson_iter_recurse(it, &arr);
      bool any = false;
      while (bson_iter_next(&arr)) {
        any = true;
        MS_RETURN_IF_ERROR(one(&arr));
      }
      if (!any) return bad("$type must match at least one type");
    } else {
      MS_RETURN_IF_ERROR(one(it));
    }
    return leaf(std::make_shared<TypePred>(std::move(types), number));
  }

  Result<FieldExpr> mod_op(const bson_iter_t* it) {
    if (bson_iter_type(it) != BSON_TYPE_ARRAY) return bad("malformed mod, needs to be an array");
    bson_iter_t arr;
    bson_iter_recurse(it, &arr);
    if (!bson_iter_next(&arr)) return bad("malformed mod, not enough elements");
    if (!is_number_type(bson_iter_type(&arr))) return bad("malformed mod, divisor not a number");
    Value div = Value::from_iter(&arr);
    if (!bson_iter_next(&arr)) return bad("malformed mod, not enough elements");
    if (!is_number_type(bson_iter_type(&arr))) return bad("malformed mod, remainder not a number");
    Value rem = Value::from_iter(&arr);
    if (bson_iter_next(&arr)) return bad("malformed mod, too many elements");
    if (!std::isfinite(div.as_double())) return bad("malformed mod, divisor value is invalid :: caused by :: " + div.json());
    if (!std::isfinite(rem.as_double())) return bad("malformed mod, remainder value is invalid :: caused by :: " + rem.json());
    int64_t d = div.as_int64();
    if (d == 0) return bad("divisor cannot be 0");
    return leaf(std::make_shared<ModPred>(d, rem.as_int64()));
  }

  Result<FieldExpr> all_op(const bson_iter_t* it, int depth) {
    if (bson_iter_type(it) != BSON_TYPE_ARRAY) return bad("$all needs an array");
    bson_iter_t arr;
    bson_iter_recurse(it, &arr);
    FieldExpr all;
    all.kind = FieldExpr::Kind::kAnd;
    bool first = true, elem_matches = false;
    while (bson_iter_next(&arr)) {
      bson_type_t t = bson_iter_type(&arr);
      bool is_em = false;
      if (t == BSON_TYPE_DOCUMENT) {
        bson_iter_t sub;
        bson_iter_recurse(&arr, &sub);
        is_em = bson_iter_next(&sub) && std::strcmp(bson_iter_key(&sub), "$elemMatch") == 0;
        if (is_em) {
          if (!first && !elem_matches) return bad("$all/$elemMatch has to be consistent");
          MS_ASSIGN_OR_RETURN(auto p, elem_match(&sub, depth + 1));
          all.kids.push_back(leaf(std::move(p)));
        }
      }
      if (first) {
        elem_matches = is_em;
        first = false;
      } else if (elem_matches != is_em) {
        return bad("$all/$elemMatch has to be consistent");
      }
      if (is_em) continue;
      if (t == BSON_TYPE_REGEX) {
        MS_ASSIGN_OR_RETURN(auto re, regex_from_value(&arr));
        all.kids.push_back(leaf(std::make_shared<RegexPred>(std::move(re))));
      } else if (t == BSON_TYPE_DOCUMENT && is_operator_object(&arr)) {
        return bad("no $ expressions in $all");
      } else {
        MS_ASSIGN_OR_RETURN(auto p, eq_pred(&arr));
        all.kids.push_back(leaf(std::move(p)));
      }
    }
    if (all.kids.empty()) return constant(false);
    return all;
  }

  Result<std::shared_ptr<ValuePred>> elem_match(const bson_iter_t* it, int depth) {
    if (bson_iter_type(it) != BSON_TYPE_DOCUMENT) return bad("$elemMatch needs an Object");
    if (depth > kMaxDepth) return bad("exceeded maximum query tree depth of 100");
    bson_iter_t sub;
    bson_iter_recurse(it, &sub);
    bool value_form = false;
    if (bson_iter_next(&sub)) {
      std::string_view k = bson_iter_key(&sub);
      value_form = is_operator_object(it) && !is_top_level_operator(k);
    }
    if (value_form) {
      MS_ASSIGN_OR_RETURN(FieldExpr e, field_ops("", it, depth + 1));
      return std::shared_ptr<ValuePred>(std::make_shared<ElemMatchValuePred>(std::move(e)));
    }
    const bson_value_t* v = iter_value(it);
    bson_t obj;
    if (!bson_init_static(&obj, v->value.v_doc.data, v->value.v_doc.data_len)) return bad("invalid BSON in query");
    MS_ASSIGN_OR_RETURN(auto node, filter(&obj, depth + 1));
    return std::shared_ptr<ValuePred>(std::make_shared<ElemMatchObjectPred>(std::move(node)));
  }

  Result<FieldExpr> bits_op(const std::string& op, const bson_iter_t* it) {
    BitsOp b = op == "$bitsAllSet" ? BitsOp::kAllSet
               : op == "$bitsAnySet" ? BitsOp::kAnySet
               : op == "$bitsAllClear" ? BitsOp::kAllClear
                                       : BitsOp::kAnyClear;
    std::vector<uint32_t> positions;
    bson_type_t t = bson_iter_type(it);
    if (is_number_type(t)) {
      Value v = Value::from_iter(it);
      double d = v.as_double();
      if (std::trunc(d) != d || std::isnan(d)) {
        return Status(common::kFailedToParse, "Expected an integer: " + op + ": " + v.json());
      }
      if (d < 0) return Status(common::kFailedToParse, "Expected a positive number in: " + op + ": " + v.json());
      if (d >= 9223372036854775808.0) {
        return Status(common::kFailedToParse, "Cannot represent as a 64-bit integer: " + op + ": " + v.json());
      }
      auto mask = static_cast<uint64_t>(v.as_int64());
      for (uint32_t i = 0; i < 64; ++i) {
        if ((mask >> i) & 1) positions.push_back(i);
      }
    } else if (t == BSON_TYPE_BINARY) {
      const bson_value_t* v = iter_value(it);
      for (uint32_t byte = 0; byte < v->value.v_binary.data_len; ++byte) {
        for (uint32_t bit = 0; bit < 8; ++bit) {
          if ((v->value.v_binary.data[byte] >> bit) & 1) positions.push_back(byte * 8 + bit);
        }
      }
    } else if (t == BSON_TYPE_ARRAY) {
      bson_iter_t arr;
      bson_iter_recurse(it, &arr);
      while (bson_iter_next(&arr)) {
        if (!is_number_type(bson_iter_type(&arr))) {
          return bad("bit positions must be an integer but got: " + key_of(&arr) + ": " +
                     common::value_to_json(iter_value(&arr)));
        }
        Value v = Value::from_iter(&arr);
        double d = v.as_double();
        if (std::trunc(d) != d || std::isnan(d)) {
          return bad("bit positions must be an integer but got: " + key_of(&arr) + ": " + v.json());
        }
        if (d < 0) return bad("bit positions must be >= 0 but got: " + key_of(&arr) + ": " + v.json());
        if (d > 2147483647.0) return bad("bit positions cannot be represented by a 32-bit signed integer");
        positions.push_back(static_cast<uint32_t>(d));
      }
    } else {
      return bad(op + " takes an Array, a number, or a BinData but received: " + op + ": " +
                 common::value_to_json(iter_value(it)));
    }
    return leaf(std::make_shared<BitsPred>(b, std::move(positions)));
  }

  const ExpressionContext& ctx_;
  bool undef_;
};

class MatcherImpl final : public Matcher {
 public:
  MatcherImpl(std::unique_ptr<MatchNode> root, bool everything) : root_(std::move(root)), everything_(everything) {}
  bool matches(const bson_t* doc, MatchDetails* details) const override {
    if (details == nullptr) return root_->matches(doc, nullptr);
    int64_t pos = -1;
    bool ok = root_->matches(doc, &pos);
    if (ok && pos >= 0) details->elem_match_key = std::to_string(pos);
    return ok;
  }
  bool matches_everything() const override { return everything_; }

 private:
  std::unique_ptr<MatchNode> root_;
  bool everything_;
};

}  // namespace

Result<std::unique_ptr<MatchNode>> parse_filter(const bson_t* filter, const ExpressionContext& ctx, int depth) {
  Parser p(ctx);
  return p.filter(filter, depth);
}

}  // namespace internal

common::Result<std::unique_ptr<Matcher>> Matcher::parse(const bson_t* filter, const ExpressionContext& ctx) {
  MS_ASSIGN_OR_RETURN(auto root, internal::parse_filter(filter, ctx, 0));
  bool everything = bson_count_keys(filter) == 0;
  return std::unique_ptr<Matcher>(std::make_unique<internal::MatcherImpl>(std::move(root), everything));
}

}  // namespace mql
