// Aggregation expressions ($add, $cond, field paths "$a.b", variables "$$ROOT", ...), used by
// $expr, pipeline stages, pipeline updates and computed projections.
#pragma once

#include <bson/bson.h>

#include <map>
#include <memory>
#include <set>
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
  // Looks up a bound variable, then `let`, then $$NOW / $$CLUSTER_TIME; nullptr when unknown.
  // $$ROOT and $$CURRENT are the `root` passed to evaluate() (a bound "CURRENT", as $let may
  // set, takes precedence for field paths) and are not returned here.
  const Value* find(const std::string& name) const;
  // Only what set() bound (no `let`, no system variables); nullptr when unbound.
  const Value* bound(const std::string& name) const;

 private:
  const ExpressionContext& ctx_;
  std::map<std::string, Value> bound_;
  mutable Value now_, cluster_time_;  // materialized on first use
};

// What an expression reads from the document: top-level field names of $$CURRENT ("a" for
// "$a.b"), or the whole document ($$ROOT, $$CURRENT, or anything not analysable).
struct ExpressionDeps {
  std::set<std::string> fields;
  bool whole_document = false;
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

  // True when the value depends neither on the document nor on variables nor on randomness:
  // evaluate() then gives the same result (or error) for any document, so callers may evaluate
  // it once (e.g. with an empty document).
  virtual bool is_constant() const { return false; }
  // Adds the document fields this expression reads to *deps.
  virtual void add_dependencies(ExpressionDeps* deps) const { deps->whole_document = true; }
};

}  // namespace mql
