// Aggregation expressions ($add, $cond, field paths "$a.b", variables "$$ROOT", ...), used by
// $expr, pipeline stages, pipeline updates and computed projections.
#pragma once

#include <bson/bson.h>

#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "mql/context.h"
#include "mql/value.h"

namespace mql {

// Variables visible while evaluating: $$ROOT/$$CURRENT are the document being evaluated;
// $$NOW, $$CLUSTER_TIME and `let` come from the context; $map/$filter/$let bind more.
class Variables {
 public:
  explicit Variables(const ExpressionContext& ctx) : ctx_(ctx) {}
  const ExpressionContext& context() const { return ctx_; }
  void set(const std::string& name, Value v) { bound_[name] = std::move(v); }
  void erase(const std::string& name) { bound_.erase(name); }
  // Looks up a bound variable, then `let`, then system variables; nullptr when unknown.
  const Value* find(const std::string& name) const;

 private:
  const ExpressionContext& ctx_;
  std::map<std::string, Value> bound_;
};

class Expression {
 public:
  virtual ~Expression() = default;
  // Parses an expression element (a literal, "$path", "$$var", {$op: args} or an object of
  // expressions). Unknown operators → 168 InvalidPipelineOperator ("Unrecognized expression '$foo'").
  static common::Result<std::unique_ptr<Expression>> parse(const bson_iter_t* spec, const ExpressionContext& ctx);
  // Parses a whole document as an object expression ({a: "$x", b: {$add: [1, 2]}}).
  static common::Result<std::unique_ptr<Expression>> parse_object(const bson_t* spec, const ExpressionContext& ctx);

  // Evaluates against `root` ($$ROOT and $$CURRENT). Runtime errors carry server codes
  // (e.g. 16608 division by zero, 16554 $add on a string).
  virtual common::Result<Value> evaluate(const bson_t* root, Variables& vars) const = 0;
};

}  // namespace mql
