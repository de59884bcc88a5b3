// Internals shared by the expression_*.cc files: the parse scope, the node classes every
// operator builds on, argument parsing helpers, value helpers and the operator registry.
#pragma once

#include <bson/bson.h>

#include <cmath>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/arith.h"
#include "mql/expression.h"
#include "mql/value.h"

namespace mql::expr {

using common::Result;
using common::Status;
using ExprPtr = std::unique_ptr<Expression>;

// Parse-time scope: which user variables are defined ($let, $map, $filter, $reduce bind more).
class Scope {
 public:
  explicit Scope(const ExpressionContext& ctx) : ctx_(ctx) {}
  const ExpressionContext& ctx() const { return ctx_; }
  int version() const { return ctx_.version; }
  bool defined(const std::string& name) const;
  void push(const std::string& name) { names_.push_back(name); }
  void pop(size_t n = 1) { names_.resize(names_.size() - n); }

 private:
  const ExpressionContext& ctx_;
  std::vector<std::string> names_;
};

// Parses an operand: "$path", "$$var", {$op: ...}, {field: expr...}, [expr...] or a literal.
Result<ExprPtr> parse_operand(const bson_iter_t* it, Scope& sc);
// Parses an object that is an operator ({$op: arg}) or an object of expressions.
Result<ExprPtr> parse_object(const bson_t* obj, Scope& sc);
// Validates a user variable name ($let vars, $map as, ...): 16866-16871.
Status validate_variable_name(std::string_view name);

// Evaluation context handed to operator implementations.
struct Call {
  std::string_view op;  // "$add"
  const bson_t* root;
  Variables& vars;
  const ExpressionContext& ctx() const { return vars.context(); }
  Result<Value> eval(const Expression& e) const { return e.evaluate(root, vars); }
};

// Base of every node: owns its children (some may be null for absent optional arguments).
class Node : public Expression {
 public:
  std::vector<ExprPtr> kids;
  // False for nodes whose value changes between evaluations with the same inputs ($rand).
  bool pure = true;
  bool is_constant() const override;
  void add_dependencies(ExpressionDeps* deps) const override;
};

// A constant (literal or $literal).
class ConstantNode : public Node {
 public:
  explicit ConstantNode(Value v) : value(std::move(v)) {}
  Result<Value> evaluate(const bson_t*, Variables&) const override { return value; }
  bool is_constant() const override { return true; }
  void add_dependencies(ExpressionDeps*) const override {}
  Value value;
};

// Operator whose arguments are all evaluated first (most of them).
using ArgsFn = Result<Value> (*)(std::vector<Value>& args, const Call& c);
// Operator that evaluates its children itself ($cond, $and, $let, ...). `n` is the node.
class OpNode;
using LazyFn = Result<Value> (*)(const OpNode& n, const Call& c);

class OpNode : public Node {
 public:
  std::string name;       // "$add"
  ArgsFn args_fn = nullptr;
  LazyFn lazy_fn = nullptr;
  Value param;            // parse-time data of the operator (e.g. a constant option)
  std::vector<std::string> names;  // bound variable names / field names, when needed
  std::shared_ptr<const void> extra;  // anything else computed at parse time
  Result<Value> evaluate(const bson_t* root, Variables& vars) const override;
  // Evaluates kid i; a missing Value when the kid is absent.
  Result<Value> arg(size_t i, const Call& c) const;
};

// Parses the arguments of an n-ary operator: an array gives each element, anything else is a
// single argument. Checks the count against [min, max] (max < 0: unbounded) with the server's
// 16020 message.
Result<std::vector<ExprPtr>> parse_args(std::string_view op, const bson_iter_t* arg, Scope& sc, int min, int max);
Result<ExprPtr> make_nary(std::string_view op, const bson_iter_t* arg, Scope& sc, int min, int max, ArgsFn fn);
Result<ExprPtr> make_lazy(std::string_view op, std::vector<ExprPtr> kids, LazyFn fn);

// Parses an object of named arguments ({date: ..., timezone: ...}) into kids in the order of
// `fields` (null for absent ones). Unknown fields → `unknown_code` with
// "<op> found an unknown argument: <f>"; a non-object → `not_object_code` with `not_object_msg`.
struct NamedSpec {
  std::vector<std::string_view> fields;
  int not_object_code;
  std::string not_object_msg;
  int unknown_code;
  std::string unknown_msg;  // prefix; the field name is appended
  std::string unknown_suffix = "";
};
Result<std::vector<ExprPtr>> parse_named(const bson_iter_t* arg, Scope& sc, const NamedSpec& spec);

// ---- registry ------------------------------------------------------------------------------

using ParseFn = Result<ExprPtr> (*)(std::string_view op, const bson_iter_t* arg, Scope& sc);
struct OpDef {
  std::string_view name;  // "$add"
  int since;              // first server version (ExpressionContext::version) that has it
  ParseFn parse;
};
// Each expression_*.cc contributes a table.
std::vector<OpDef> arith_ops();
std::vector<OpDef> array_ops();
std::vector<OpDef> string_ops();
std::vector<OpDef> date_ops();
std::vector<OpDef> type_ops();
std::vector<OpDef> misc_ops();

// ---- value helpers ------------------------------------------------------------------------

// The server's typeName(): "double", "string", "object", "array", "binData", "undefined",
// "objectId", "bool", "date", "null", "regex", "dbPointer", "javascript", "symbol",
// "javascriptWithScope", "int", "timestamp", "long", "decimal", "minKey", "maxKey", "missing".
std::string_view type_name(bson_type_t t);
inline std::string_view type_name(const Value& v) { return type_name(v.type()); }

// Array elements of an array Value, copied.
std::vector<Value> array_elems(const Value& arr);
Value make_array(const std::vector<Value>& elems);
// Document fields of a document Value, in order.
std::vector<std::pair<std::string, Value>> doc_fields(const Value& doc);
Value make_doc(const std::vector<std::pair<std::string, Value>>& fields);
// Compares with the context's collation.
int cmp(const Value& a, const Value& b, const Call& c);
// The server's Value::toString for error messages (mongo_value_string; "missing" for EOD).
std::string value_string(const Value& v);
// integral value ("integral" in the server: int, long, or double/decimal with no fraction
// representable as int64) → the int64, else nullopt. `int32_only` restricts to int32 range.
std::optional<int64_t> as_integral(const Value& v, bool int32_only = false);

// The start/end index arguments of $indexOfArray/$indexOfBytes/$indexOfCP (40096, 40097).
Status check_index_arg(const Value& v, std::string_view op, std::string_view what, int64_t* out);
// The server's Value::coerceToString / coerceToDate (16007 / 16006 for other types).
Result<std::string> coerce_to_string(const Value& v);
Result<int64_t> coerce_to_date(const Value& v);
bool coercible_to_date(const Value& v);

// The server streams doubles into messages and $toString results with "%g".
std::string format_g(double d);
inline std::string key_of(const bson_iter_t* it) { return std::string(bson_iter_key(it), bson_iter_key_len(it)); }

// Registry entry for an n-ary operator with eager arguments.
template <int kMin, int kMax, ArgsFn F>
Result<ExprPtr> nary(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  return make_nary(op, arg, sc, kMin, kMax, F);
}

inline Status err(int code, std::string msg) { return Status(code, std::move(msg)); }

// A static view over the document/array an iterator points at; false when malformed.
inline bool sub_doc(const bson_iter_t* it, bson_t* out) {
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

}  // namespace mql::expr
