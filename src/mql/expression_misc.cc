// Boolean, comparison, conditional, variable-binding ($let/$map/$filter/$reduce), object,
// accumulator-form ($sum, $avg, $max, ...), $meta, $rand, timestamp and JavaScript operators.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "mql/expression_internal.h"

namespace mql::expr {
namespace {


// Binds a variable for the duration of a scope, restoring any outer binding afterwards.
class Binder {
 public:
  Binder(Variables& vars, const std::string& name) : vars_(vars), name_(name) {
    if (const Value* prev = vars.bound(name)) prev_ = *prev, had_ = true;
  }
  ~Binder() {
    if (had_) {
      vars_.set(name_, prev_);
    } else {
      vars_.erase(name_);
    }
  }
  void set(Value v) { vars_.set(name_, std::move(v)); }

 private:
  Variables& vars_;
  std::string name_;
  Value prev_;
  bool had_ = false;
};

Result<ExprPtr> parse_literal(std::string_view, const bson_iter_t* arg, Scope&) {
  return ExprPtr(new ConstantNode(Value::from_iter(arg)));
}

// ---- boolean ------------------------------------------------------------------------------

Result<Value> and_fn(const OpNode& n, const Call& c) {
  for (const auto& k : n.kids) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*k));
    if (!v.truthy()) return Value::boolean(false);
  }
  return Value::boolean(true);
}

Result<Value> or_fn(const OpNode& n, const Call& c) {
  for (const auto& k : n.kids) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*k));
    if (v.truthy()) return Value::boolean(true);
  }
  return Value::boolean(false);
}

template <LazyFn F>
Result<ExprPtr> parse_lazy_nary(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, 0, -1));
  return make_lazy(op, std::move(kids), F);
}

Result<Value> not_fn(std::vector<Value>& a, const Call&) { return Value::boolean(!a[0].truthy()); }

// ---- comparison ---------------------------------------------------------------------------

template <int kOp>  // 0 eq, 1 ne, 2 gt, 3 gte, 4 lt, 5 lte, 6 cmp
Result<Value> cmp_fn(std::vector<Value>& a, const Call& c) {
  int r = cmp(a[0], a[1], c);
  r = r < 0 ? -1 : r > 0 ? 1 : 0;
  switch (kOp) {
    case 0:
      return Value::boolean(r == 0);
    case 1:
      return Value::boolean(r != 0);
    case 2:
      return Value::boolean(r > 0);
    case 3:
      return Value::boolean(r >= 0);
    case 4:
      return Value::boolean(r < 0);
    case 5:
      return Value::boolean(r <= 0);
    default:
      return Value::int32(r);
  }
}

// ---- conditionals -------------------------------------------------------------------------

Result<Value> cond_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[0]));
  return c.eval(*n.kids[v.truthy() ? 1 : 2]);
}

Result<ExprPtr> parse_cond(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, 3, 3));
    return make_lazy(op, std::move(kids), cond_fn);
  }
  MS_ASSIGN_OR_RETURN(auto kids,
                      parse_named(arg, sc, {{"if", "then", "else"}, 17083, "", 17083, "Unrecognized parameter to $cond: "}));
  if (!kids[0]) return err(17080, "Missing 'if' parameter to $cond");
  if (!kids[1]) return err(17081, "Missing 'then' parameter to $cond");
  if (!kids[2]) return err(17082, "Missing 'else' parameter to $cond");
  return make_lazy(op, std::move(kids), cond_fn);
}

Result<Value> ifnull_fn(const OpNode& n, const Call& c) {
  for (size_t i = 0; i < n.kids.size(); ++i) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[i]));
    if (!v.nullish() || i + 1 == n.kids.size()) return v;
  }
  return Value();
}

Result<ExprPtr> parse_ifnull(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  // Multiple inputs arrived in 5.0; 4.4 takes exactly two.
  if (sc.version() < 50) {
    MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, 2, 2));
    return make_lazy(op, std::move(kids), ifnull_fn);
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, 0, -1));
  if (kids.size() < 2) return err(1257300, "$ifNull needs at least two arguments, had: " + std::to_string(kids.size()));
  return make_lazy(op, std::move(kids), ifnull_fn);
}

// kids: case0, then0, case1, then1, ..., default (may be null).
Result<Value> switch_fn(const OpNode& n, const Call& c) {
  size_t branches = (n.kids.size() - 1) / 2;
  for (size_t i = 0; i < branches; ++i) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[2 * i]));
    if (v.truthy()) return c.eval(*n.kids[2 * i + 1]);
  }
  if (!n.kids.back()) {
    return err(40066, "$switch could not find a matching branch for an input, and no default was specified.");
  }
  return c.eval(*n.kids.back());
}

Result<ExprPtr> parse_switch(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(40060, "$switch requires an object as an argument, found: " + std::string(type_name(bson_iter_type(arg))));
  }
  bson_t doc;
  if (!sub_doc(arg, &doc)) return err(common::kInvalidBSON, "invalid BSON");
  std::vector<ExprPtr> kids;
  ExprPtr def;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "branches") {
      if (bson_iter_type(&it) != BSON_TYPE_ARRAY) {
        return err(40061, "$switch expected an array for 'branches', found: " + std::string(type_name(bson_iter_type(&it))));
      }
      bson_t arr;
      sub_doc(&it, &arr);
      bson_iter_t bi;
      bson_iter_init(&bi, &arr);
      while (bson_iter_next(&bi)) {
        if (bson_iter_type(&bi) != BSON_TYPE_DOCUMENT) {
          return err(40062,
                     "$switch expected each branch to be an object, found: " + std::string(type_name(bson_iter_type(&bi))));
        }
        MS_ASSIGN_OR_RETURN(auto ct, parse_named(&bi, sc, {{"case", "then"}, 40062, "", 40063,
                                                           "$switch found an unknown argument to a branch: "}));
        if (!ct[0]) return err(40064, "$switch requires each branch have a 'case' expression");
        if (!ct[1]) return err(40065, "$switch requires each branch have a 'then' expression.");
        kids.push_back(std::move(ct[0]));
        kids.push_back(std::move(ct[1]));
      }
    } else if (k == "default") {
      MS_ASSIGN_OR_RETURN(def, parse_operand(&it, sc));
    } else {
      return err(40067, "$switch found an unknown argument: " + k);
    }
  }
  if (kids.empty()) return err(40068, "$switch requires at least one branch.");
  kids.push_back(std::move(def));
  return make_lazy(op, std::move(kids), switch_fn);
}

// ---- variables: $let, $map, $filter, $reduce ----------------------------------------------

Result<Value> let_fn(const OpNode& n, const Call& c) {
  // Every `vars` expression sees only the outer scope: evaluate all first, then bind.
  std::vector<Value> vals;
  for (size_t i = 0; i + 1 < n.kids.size(); ++i) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[i]));
    vals.push_back(std::move(v));
  }
  std::vector<std::unique_ptr<Binder>> binds;
  for (size_t i = 0; i < vals.size(); ++i) {
    binds.push_back(std::make_unique<Binder>(c.vars, n.names[i]));
    binds.back()->set(std::move(vals[i]));
  }
  return c.eval(*n.kids.back());
}

Result<ExprPtr> parse_let(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(16874, "$let only supports an object as its argument");
  bson_t doc;
  sub_doc(arg, &doc);
  bson_iter_t vars_it, in_it;
  bool has_vars = false, has_in = false;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "vars") {
      vars_it = it;
      has_vars = true;
    } else if (k == "in") {
      in_it = it;
      has_in = true;
    } else {
      return err(16875, "Unrecognized parameter to $let: " + k);
    }
  }
  if (!has_vars) return err(16876, "Missing 'vars' parameter to $let");
  if (!has_in) return err(16877, "Missing 'in' parameter to $let");
  if (bson_iter_type(&vars_it) != BSON_TYPE_DOCUMENT) return err(10065, "invalid parameter: expected an object (vars)");
  bson_t vars;
  sub_doc(&vars_it, &vars);
  auto node = std::make_unique<OpNode>();
  node->name = std::string(op);
  node->lazy_fn = let_fn;
  bson_iter_t vi;
  bson_iter_init(&vi, &vars);
  while (bson_iter_next(&vi)) {
    MS_ASSIGN_OR_RETURN(auto e, parse_operand(&vi, sc));
    node->kids.push_back(std::move(e));
  }
  bson_iter_init(&vi, &vars);
  while (bson_iter_next(&vi)) {
    std::string name = key_of(&vi);
    MS_RETURN_IF_ERROR(validate_variable_name(name));
    node->names.push_back(name);
  }
  for (const auto& name : node->names) sc.push(name);
  auto in = parse_operand(&in_it, sc);
  sc.pop(node->names.size());
  if (!in.ok()) return in.status();
  node->kids.push_back(std::move(in).value());
  return ExprPtr(std::move(node));
}

// Parses {input, as, <body>} style arguments shared by $map and $filter.
struct IterSpec {
  std::string_view body;   // "in" or "cond"
  bool has_limit;
  int not_object, unknown, no_input, no_body;
};

Result<ExprPtr> parse_iter(std::string_view op, const bson_iter_t* arg, Scope& sc, const IterSpec& spec, LazyFn fn) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(spec.not_object, std::string(op) + " only supports an object as its argument");
  }
  bson_t doc;
  sub_doc(arg, &doc);
  bson_iter_t input_it, as_it, body_it, limit_it;
  bool has_input = false, has_as = false, has_body = false, has_limit = false;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "input") {
      input_it = it, has_input = true;
    } else if (k == "as") {
      as_it = it, has_as = true;
    } else if (k == spec.body) {
      body_it = it, has_body = true;
    } else if (spec.has_limit && k == "limit" && sc.version() >= 52) {
      limit_it = it, has_limit = true;
    } else {
      return err(spec.unknown, "Unrecognized parameter to " + std::string(op) + ": " + k);
    }
  }
  if (!has_input) return err(spec.no_input, "Missing 'input' parameter to " + std::string(op));
  if (!has_body) return err(spec.no_body, "Missing '" + std::string(spec.body) + "' parameter to " + std::string(op));
  auto node = std::make_unique<OpNode>();
  node->name = std::string(op);
  node->lazy_fn = fn;
  MS_ASSIGN_OR_RETURN(auto input, parse_operand(&input_it, sc));
  std::string var = "this";
  if (has_as) {
    if (bson_iter_type(&as_it) == BSON_TYPE_UTF8) {
      var = std::string(bson_iter_utf8(&as_it, nullptr));
    } else {
      // The server reads `as` with BSONElement::str(), which is empty for non-strings.
      var.clear();
    }
  }
  MS_RETURN_IF_ERROR(validate_variable_name(var));
  sc.push(var);
  auto body = parse_operand(&body_it, sc);
  sc.pop();
  if (!body.ok()) return body.status();
  node->kids.push_back(std::move(input));
  node->kids.push_back(std::move(body).value());
  if (has_limit) {
    MS_ASSIGN_OR_RETURN(auto limit, parse_operand(&limit_it, sc));
    node->kids.push_back(std::move(limit));
  }
  node->names.push_back(var);
  return ExprPtr(std::move(node));
}

Result<Value> map_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.nullish()) return Value::null();
  if (input.type() != BSON_TYPE_ARRAY) {
    return err(16883, "input to $map must be an array not " + std::string(type_name(input)));
  }
  std::vector<Value> out;
  Binder b(c.vars, n.names[0]);
  for (Value& e : array_elems(input)) {
    b.set(std::move(e));
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[1]));
    out.push_back(v.missing() ? Value::null() : std::move(v));
  }
  return make_array(out);
}

Result<Value> filter_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.nullish()) return Value::null();
  if (input.type() != BSON_TYPE_ARRAY) {
    return err(28651, "input to $filter must be an array not " + std::string(type_name(input)));
  }
  std::vector<Value> elems = array_elems(input);
  if (elems.empty()) return input;
  int64_t remaining = -1;
  if (n.kids.size() > 2) {
    MS_ASSIGN_OR_RETURN(Value limit, c.eval(*n.kids[2]));
    if (!limit.nullish()) {
      auto l = as_integral(limit, true);
      if (!l) {
        return err(327391, "$filter: limit must be represented as a 32-bit integral value: " + value_string(limit));
      }
      if (*l <= 0) return err(327392, "$filter: limit must be greater than 0: " + value_string(limit));
      remaining = *l;
    }
  }
  std::vector<Value> out;
  Binder b(c.vars, n.names[0]);
  for (Value& e : elems) {
    b.set(e);
    MS_ASSIGN_OR_RETURN(Value keep, c.eval(*n.kids[1]));
    if (keep.truthy()) {
      out.push_back(std::move(e));
      if (remaining > 0 && --remaining == 0) break;
    }
  }
  return make_array(out);
}

Result<ExprPtr> parse_map(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  return parse_iter(op, arg, sc, {"in", false, 16878, 16879, 16880, 16882}, map_fn);
}

Result<ExprPtr> parse_filter(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  return parse_iter(op, arg, sc, {"cond", true, 28646, 28647, 28648, 28650}, filter_fn);
}

Result<Value> reduce_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.nullish()) return Value::null();
  if (input.type() != BSON_TYPE_ARRAY) {
    return err(40080, "$reduce requires that 'input' be an array, found: " + value_string(input));
  }
  MS_ASSIGN_OR_RETURN(Value acc, c.eval(*n.kids[1]));
  Binder bt(c.vars, "this");
  Binder bv(c.vars, "value");
  for (Value& e : array_elems(input)) {
    bt.set(std::move(e));
    bv.set(std::move(acc));
    MS_ASSIGN_OR_RETURN(acc, c.eval(*n.kids[2]));
  }
  return acc;
}

Result<ExprPtr> parse_reduce(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(40075, "$reduce requires an object as an argument, found: " + std::string(type_name(bson_iter_type(arg))));
  }
  bson_t doc;
  sub_doc(arg, &doc);
  std::vector<ExprPtr> kids(3);
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "input") {
      MS_ASSIGN_OR_RETURN(kids[0], parse_operand(&it, sc));
    } else if (k == "initialValue") {
      MS_ASSIGN_OR_RETURN(kids[1], parse_operand(&it, sc));
    } else if (k == "in") {
      sc.push("this");
      sc.push("value");
      auto e = parse_operand(&it, sc);
      sc.pop(2);
      if (!e.ok()) return e.status();
      kids[2] = std::move(e).value();
    } else {
      return err(40076, "$reduce found an unknown argument: " + k);
    }
  }
  if (!kids[0]) return err(40077, "$reduce requires 'input' to be specified");
  if (!kids[1]) return err(40078, "$reduce requires 'initialValue' to be specified");
  if (!kids[2]) return err(40079, "$reduce requires 'in' to be specified");
  return make_lazy(op, std::move(kids), reduce_fn);
}

// ---- objects ------------------------------------------------------------------------------

// Sets/replaces/removes `field` in document fields, keeping the first position.
void set_field(std::vector<std::pair<std::string, Value>>& fields, const std::string& name, Value v) {
  auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; });
  if (v.missing()) {
    if (it != fields.end()) fields.erase(it);
    return;
  }
  if (it != fields.end()) {
    it->second = std::move(v);
  } else {
    fields.emplace_back(name, std::move(v));
  }
}

// `{field: <const string>, input: <expr>}` or a bare field-name expression; kids: field, input.
Result<ExprPtr> parse_field_op(std::string_view op, const bson_iter_t* arg, Scope& sc, bool set, LazyFn fn) {
  bool unset = op == "$unsetField";
  ExprPtr field, input, value;
  auto current = [&]() -> Result<ExprPtr> {
    bson_t tmp;
    bson_init(&tmp);
    BSON_APPEND_UTF8(&tmp, "x", "$$CURRENT");
    bson_iter_t ti;
    bson_iter_init_find(&ti, &tmp, "x");
    auto r = parse_operand(&ti, sc);
    bson_destroy(&tmp);
    return r;
  };
  if (!set) {
    bool handled = false;
    if (bson_iter_type(arg) == BSON_TYPE_DOCUMENT) {
      bson_t doc;
      sub_doc(arg, &doc);
      bson_iter_t it;
      bson_iter_init(&it, &doc);
      while (bson_iter_next(&it)) {
        std::string k = key_of(&it);
        if (!field && !input && !k.empty() && k[0] == '$') {
          MS_ASSIGN_OR_RETURN(field, parse_operand(arg, sc));
          MS_ASSIGN_OR_RETURN(input, current());
          break;
        } else if (k == "field") {
          MS_ASSIGN_OR_RETURN(field, parse_operand(&it, sc));
        } else if (k == "input") {
          MS_ASSIGN_OR_RETURN(input, parse_operand(&it, sc));
        } else {
          return err(3041701, "$getField found an unknown argument: " + k);
        }
      }
      handled = true;
    }
    if (!handled) {
      MS_ASSIGN_OR_RETURN(field, parse_operand(arg, sc));
      MS_ASSIGN_OR_RETURN(input, current());
    }
    if (!field) return err(3041702, "$getField requires 'field' to be specified");
    if (!input) return err(3041703, "$getField requires 'input' to be specified");
  } else {
    if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
      return err(4161100, std::string(op) + " only supports an object as its argument");
    }
    NamedSpec spec{{"field", "input", "value"}, 4161100, "", 4161101, std::string(op) + " found an unknown argument: "};
    if (unset) spec.fields.pop_back();
    MS_ASSIGN_OR_RETURN(auto parts, parse_named(arg, sc, spec));
    field = std::move(parts[0]);
    input = std::move(parts[1]);
    value = unset ? ExprPtr(new ConstantNode(Value())) : std::move(parts[2]);
    if (!field) return err(4161102, std::string(op) + " requires 'field' to be specified");
    if (!value) return err(4161103, std::string(op) + " requires 'value' to be specified");
    if (!input) return err(4161109, std::string(op) + " requires 'input' to be specified");
  }
  // `field` must be a constant string; a field path gets a hint to use $literal.
  std::string fname;
  {
    auto* cn = dynamic_cast<ConstantNode*>(field.get());
    if (!cn) {
      bool is_path = false;
      std::string shown;
      // A field path reference is the only non-constant that is a plain string in the spec.
      if (bson_iter_type(arg) == BSON_TYPE_UTF8) {
        shown = bson_iter_utf8(arg, nullptr);
        is_path = !shown.empty() && shown[0] == '$';
      } else if (bson_iter_type(arg) == BSON_TYPE_DOCUMENT) {
        bson_t doc;
        sub_doc(arg, &doc);
        bson_iter_t fi;
        if (bson_iter_init_find(&fi, &doc, "field") && bson_iter_type(&fi) == BSON_TYPE_UTF8) {
          shown = bson_iter_utf8(&fi, nullptr);
          is_path = !shown.empty() && shown[0] == '$';
        }
      }
      if (is_path) {
        return err(set ? 4161108 : 5654600, "'" + shown +
                                               "' is a field path reference which is not allowed in this context. "
                                               "Did you mean {$literal: '" +
                                               shown + "'}?");
      }
      return err(set ? 4161106 : 5654601, std::string(set ? op : "$getField") +
                                              " requires 'field' to evaluate to a constant, but got a non-constant "
                                              "argument");
    }
    if (cn->value.type() != BSON_TYPE_UTF8) {
      return err(set ? 4161107 : 5654602, std::string(set ? op : "$getField") +
                                              " requires 'field' to evaluate to type String, but got " +
                                              std::string(type_name(cn->value)));
    }
    fname = std::string(cn->value.as_string());
  }
  std::vector<ExprPtr> kids;
  kids.push_back(std::move(input));
  if (set) kids.push_back(std::move(value));
  MS_ASSIGN_OR_RETURN(auto e, make_lazy(op, std::move(kids), fn));
  static_cast<OpNode*>(e.get())->names.push_back(fname);
  return e;
}

Result<Value> get_field_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.missing()) return Value();
  if (input.nullish()) return Value::null();
  if (input.type() != BSON_TYPE_DOCUMENT) return Value();
  bson_t d = input.view();
  bson_iter_t it;
  // Exact field name (dots and '$' are literal here).
  if (bson_iter_init(&it, &d)) {
    while (bson_iter_next(&it)) {
      if (key_of(&it) == n.names[0]) return Value::from_iter(&it);
    }
  }
  return Value();
}

Result<Value> set_field_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.nullish()) return Value::null();
  if (input.type() != BSON_TYPE_DOCUMENT) {
    return err(4161105, "$setField requires 'input' to evaluate to type Object");
  }
  MS_ASSIGN_OR_RETURN(Value value, c.eval(*n.kids[1]));
  auto fields = doc_fields(input);
  set_field(fields, n.names[0], std::move(value));
  return make_doc(fields);
}

Result<ExprPtr> parse_get_field(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  return parse_field_op(op, arg, sc, false, get_field_fn);
}
Result<ExprPtr> parse_set_field(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  return parse_field_op(op, arg, sc, true, set_field_fn);
}

// ---- accumulators in expression form (ExpressionFromAccumulator) --------------------------

// One argument that is an array → its elements; otherwise each argument.
Result<std::vector<Value>> accumulator_inputs(const OpNode& n, const Call& c) {
  std::vector<Value> in;
  if (n.kids.size() == 1) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[0]));
    if (v.type() == BSON_TYPE_ARRAY) return array_elems(v);
    in.push_back(std::move(v));
    return in;
  }
  for (const auto& k : n.kids) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*k));
    in.push_back(std::move(v));
  }
  return in;
}

Result<Value> sum_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(auto in, accumulator_inputs(n, c));
  Summation s;
  for (const Value& v : in) s.add(v.raw());
  return s.sum();
}

Result<Value> avg_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(auto in, accumulator_inputs(n, c));
  Summation s;
  int64_t count = 0;
  for (const Value& v : in) count += s.add(v.raw()) ? 1 : 0;
  return s.average(count);
}

template <int kSense>  // 1 max, -1 min
Result<Value> minmax_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(auto in, accumulator_inputs(n, c));
  Value best;
  for (Value& v : in) {
    if (v.nullish()) continue;
    if (best.missing() || cmp(v, best, c) * kSense > 0) best = std::move(v);
  }
  if (best.missing()) return Value::null();
  return best;
}

template <bool kSample>
Result<Value> stddev_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(auto in, accumulator_inputs(n, c));
  // Welford's online algorithm, as AccumulatorStdDev.
  int64_t count = 0;
  double mean = 0, m2 = 0;
  for (const Value& v : in) {
    if (!v.is_number()) continue;
    double x = num_to_double(v.raw());
    ++count;
    double delta = x - mean;
    if (delta != 0.0) {
      mean += delta / static_cast<double>(count);
      m2 += delta * (x - mean);
    }
  }
  int64_t adjusted = kSample ? count - 1 : count;
  if (adjusted <= 0) return Value::null();
  return Value::dbl(std::sqrt(m2 / static_cast<double>(adjusted)));
}

Result<Value> merge_objects_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(auto in, accumulator_inputs(n, c));
  std::vector<std::pair<std::string, Value>> out;
  for (const Value& v : in) {
    if (v.nullish()) continue;
    if (v.type() != BSON_TYPE_DOCUMENT) {
      return err(40400, "$mergeObjects requires object inputs, but input " + value_string(v) + " is of type " +
                            std::string(type_name(v)));
    }
    for (auto& [k, fv] : doc_fields(v)) set_field(out, k, std::move(fv));
  }
  return make_doc(out);
}

template <LazyFn F>
Result<ExprPtr> parse_accumulator(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, 0, -1));
  return make_lazy(op, std::move(kids), F);
}

// $median / $percentile (7.0): {input, method[, p]}; discrete percentiles of the numeric
// inputs (an array input contributes its numeric elements).
Result<Value> percentile_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  std::vector<double> xs;
  auto take = [&](const Value& v) {
    if (v.is_number()) xs.push_back(num_to_double(v.raw()));
  };
  if (input.type() == BSON_TYPE_ARRAY) {
    for (const Value& e : array_elems(input)) take(e);
  } else {
    take(input);
  }
  std::sort(xs.begin(), xs.end());
  auto pct = [&](double p) -> Value {
    if (xs.empty()) return Value::null();
    double rank = std::ceil(p * static_cast<double>(xs.size())) - 1;
    size_t idx = rank < 0 ? 0 : std::min(xs.size() - 1, static_cast<size_t>(rank));
    return Value::dbl(xs[idx]);
  };
  const Value& ps = n.param;
  if (ps.missing()) return pct(0.5);  // $median
  std::vector<Value> out;
  for (const Value& p : array_elems(ps)) out.push_back(pct(num_to_double(p.raw())));
  return make_array(out);
}

Result<ExprPtr> parse_percentile(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  bool median = op == "$median";
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(common::kTypeMismatch, "BSON field '" + std::string(op) + "' is the wrong type '" +
                                          std::string(type_name(bson_iter_type(arg))) + "', expected type 'object'");
  }
  bson_t doc;
  sub_doc(arg, &doc);
  ExprPtr input;
  Value p;
  bool has_method = false;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "input") {
      MS_ASSIGN_OR_RETURN(input, parse_operand(&it, sc));
    } else if (k == "method") {
      has_method = true;
      if (bson_iter_type(&it) != BSON_TYPE_UTF8) {
        return err(common::kTypeMismatch, "BSON field '" + std::string(op) + ".method' is the wrong type '" +
                                              std::string(type_name(bson_iter_type(&it))) + "', expected type 'string'");
      }
      std::string m = bson_iter_utf8(&it, nullptr);
      bool ok = m == "approximate" || (sc.version() >= 80 && (m == "discrete" || m == "continuous"));
      if (!ok) {
        return err(sc.version() >= 80 ? common::kBadValue : 7766600,
                   sc.version() >= 80 ? "Enumeration value '" + m + "' for field '" + std::string(op) +
                                            ".method' is not a valid value."
                                      : "Currently only 'approximate' can be used as percentile 'method'.");
      }
    } else if (k == "p" && !median) {
      Value pv = Value::from_iter(&it);
      bool ok = pv.type() == BSON_TYPE_ARRAY && !array_elems(pv).empty();
      if (ok) {
        for (const Value& e : array_elems(pv)) {
          if (!e.is_number() || !(num_to_double(e.raw()) >= 0 && num_to_double(e.raw()) <= 1)) ok = false;
        }
      }
      if (!ok) {
        return err(7750301, "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: " +
                                value_string(pv));
      }
      p = pv;
    } else {
      return err(common::kUnrecognizedCommandField, "BSON field '" + std::string(op) + "." + k + "' is an unknown field.");
    }
  }
  if (!input) return err(40414, "BSON field '" + std::string(op) + ".input' is missing but a required field");
  if (!median && p.missing()) return err(40414, "BSON field '" + std::string(op) + ".p' is missing but a required field");
  if (!has_method) return err(40414, "BSON field '" + std::string(op) + ".method' is missing but a required field");
  std::vector<ExprPtr> kids;
  kids.push_back(std::move(input));
  MS_ASSIGN_OR_RETURN(auto e, make_lazy(op, std::move(kids), percentile_fn));
  static_cast<OpNode*>(e.get())->param = p;
  return e;
}

// ---- misc ---------------------------------------------------------------------------------

Result<ExprPtr> parse_meta(std::string_view op, const bson_iter_t* arg, Scope&) {
  if (bson_iter_type(arg) != BSON_TYPE_UTF8) return err(17307, "$meta only supports string arguments");
  std::string name = bson_iter_utf8(arg, nullptr);
  static const char* kNames[] = {"textScore", "randVal", "searchScore", "searchHighlights", "geoNearDistance",
                                 "geoNearPoint", "recordId", "indexKey", "sortKey", "searchScoreDetails",
                                 "timeseriesBucketMinTime", "timeseriesBucketMaxTime", "vectorSearchScore",
                                 "searchSequenceToken"};
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames)) {
    return err(17308, "Unsupported argument to $meta: " + name);
  }
  // Documents here never carry metadata ($text/$search/$geoNear scores): the server returns
  // missing for a document without it.
  auto e = std::make_unique<OpNode>();
  e->name = std::string(op);
  e->pure = false;
  e->lazy_fn = [](const OpNode&, const Call&) -> Result<Value> { return Value(); };
  return ExprPtr(std::move(e));
}

Result<ExprPtr> parse_rand(std::string_view op, const bson_iter_t* arg, Scope&) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(10065, "invalid parameter: expected an object ($rand)");
  bson_t doc;
  sub_doc(arg, &doc);
  if (!bson_empty(&doc)) return err(3040501, "$rand does not currently accept arguments");
  auto e = std::make_unique<OpNode>();
  e->name = std::string(op);
  e->pure = false;
  e->lazy_fn = [](const OpNode&, const Call&) -> Result<Value> {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return Value::dbl(std::uniform_real_distribution<double>(0.0, 1.0)(rng));
  };
  return ExprPtr(std::move(e));
}

// $function parses like the server's, then refuses to run: mongosim has no JavaScript engine.
Result<ExprPtr> parse_function(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(31260, "$function requires an object as an argument, found: " + std::string(type_name(bson_iter_type(arg))));
  }
  bson_t doc;
  sub_doc(arg, &doc);
  bool body = false, args = false;
  std::vector<ExprPtr> kids;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "body") {
      body = true;
      bson_type_t t = bson_iter_type(&it);
      if (t != BSON_TYPE_UTF8 && t != BSON_TYPE_CODE && t != BSON_TYPE_CODEWSCOPE) {
        return err(31262, "The body function must evaluate to type string or code");
      }
    } else if (k == "args") {
      args = true;
      if (bson_iter_type(&it) != BSON_TYPE_ARRAY) return err(31266, "The args field must be of type array");
      MS_ASSIGN_OR_RETURN(auto e, parse_operand(&it, sc));
      kids.push_back(std::move(e));
    } else if (k == "lang") {
      if (bson_iter_type(&it) != BSON_TYPE_UTF8 || std::string(bson_iter_utf8(&it, nullptr)) != "js") {
        return err(31418, "$function currently only supports language 'js'");
      }
    } else {
      return err(31419, "$function found an unknown argument: " + k);
    }
  }
  if (!body) return err(31261, "The body function must be specified.");
  if (!args) return err(31263, "The args field must be specified.");
  auto e = std::make_unique<OpNode>();
  e->name = std::string(op);
  e->kids = std::move(kids);
  e->pure = false;
  e->lazy_fn = [](const OpNode&, const Call&) -> Result<Value> {
    return err(31264, "Cannot run server-side javascript without the javascript engine enabled");
  };
  return ExprPtr(std::move(e));
}

Result<Value> bson_size_fn(std::vector<Value>& a, const Call&) {
  if (a[0].nullish()) return Value::null();
  if (a[0].type() != BSON_TYPE_DOCUMENT) {
    return err(31393, "$bsonSize requires a document input, found: " + std::string(type_name(a[0])));
  }
  return Value::int32(static_cast<int32_t>(a[0].raw().value.v_doc.data_len));
}

Result<Value> binary_size_fn(std::vector<Value>& a, const Call&) {
  const Value& v = a[0];
  if (v.nullish()) return Value::null();
  if (v.type() == BSON_TYPE_UTF8) return Value::int32(static_cast<int32_t>(v.raw().value.v_utf8.len));
  if (v.type() == BSON_TYPE_BINARY) return Value::int32(static_cast<int32_t>(v.raw().value.v_binary.data_len));
  return err(51276, "$binarySize requires a string or BinData argument, found: " + std::string(type_name(v)));
}

template <bool kSecond>
Result<Value> ts_part_fn(std::vector<Value>& a, const Call& c) {
  const Value& v = a[0];
  if (v.nullish()) return Value::null();
  if (v.type() != BSON_TYPE_TIMESTAMP) {
    return err(kSecond ? 5687301 : 5687302,
               " Argument to " + std::string(c.op) + " must be a timestamp, but is " + std::string(type_name(v)));
  }
  return Value::int64(kSecond ? v.raw().value.v_timestamp.timestamp : v.raw().value.v_timestamp.increment);
}

}  // namespace

std::vector<OpDef> misc_ops() {
  return {
      {"$literal", 0, parse_literal},
      {"$const", 0, parse_literal},
      {"$and", 0, parse_lazy_nary<and_fn>},
      {"$or", 0, parse_lazy_nary<or_fn>},
      {"$not", 0, nary<1, 1, not_fn>},
      {"$eq", 0, nary<2, 2, cmp_fn<0>>},
      {"$ne", 0, nary<2, 2, cmp_fn<1>>},
      {"$gt", 0, nary<2, 2, cmp_fn<2>>},
      {"$gte", 0, nary<2, 2, cmp_fn<3>>},
      {"$lt", 0, nary<2, 2, cmp_fn<4>>},
      {"$lte", 0, nary<2, 2, cmp_fn<5>>},
      {"$cmp", 0, nary<2, 2, cmp_fn<6>>},
      {"$cond", 0, parse_cond},
      {"$ifNull", 0, parse_ifnull},
      {"$switch", 0, parse_switch},
      {"$let", 0, parse_let},
      {"$map", 0, parse_map},
      {"$filter", 0, parse_filter},
      {"$reduce", 0, parse_reduce},
      {"$getField", 50, parse_get_field},
      {"$setField", 50, parse_set_field},
      {"$unsetField", 50, parse_set_field},
      {"$mergeObjects", 0, parse_accumulator<merge_objects_fn>},
      {"$sum", 0, parse_accumulator<sum_fn>},
      {"$avg", 0, parse_accumulator<avg_fn>},
      {"$max", 0, parse_accumulator<minmax_fn<1>>},
      {"$min", 0, parse_accumulator<minmax_fn<-1>>},
      {"$stdDevPop", 0, parse_accumulator<stddev_fn<false>>},
      {"$stdDevSamp", 0, parse_accumulator<stddev_fn<true>>},
      {"$median", 70, parse_percentile},
      {"$percentile", 70, parse_percentile},
      {"$meta", 0, parse_meta},
      {"$rand", 44, parse_rand},
      {"$function", 44, parse_function},
      {"$bsonSize", 44, nary<1, 1, bson_size_fn>},
      {"$binarySize", 44, nary<1, 1, binary_size_fn>},
      {"$tsSecond", 51, nary<1, 1, ts_part_fn<true>>},
      {"$tsIncrement", 51, nary<1, 1, ts_part_fn<false>>},
  };
}


}  // namespace mql::expr
