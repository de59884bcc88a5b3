// Accumulators: the {$op: <argument>} operators of $group, $bucket, $bucketAuto and
// $setWindowFields ($sum, $avg, $min, $max, $first, $last, $push, $addToSet, $stdDevPop,
// $stdDevSamp, $count, $mergeObjects, $top, $bottom, $topN, $bottomN, $firstN, $lastN,
// $maxN, $minN, $median, $percentile), with the server's parse errors and result types.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "mql/context.h"
#include "mql/expression.h"
#include "mql/value.h"

namespace mql {

// The running state of one accumulator for one group (or one window).
class Accumulator {
 public:
  virtual ~Accumulator() = default;
  // Adds one input: `v` is the evaluated argument, `doc` the input document ($top/$bottom
  // compute their sort key from it). Errors: 40400 for $mergeObjects, 146 past a memory limit.
  virtual common::Status process(const Value& v, const bson_t* doc) = 0;
  // The accumulated value; a missing Value becomes null in the group's output.
  virtual Value result() const = 0;
  // Approximate bytes held (for the stage's memory limit).
  virtual size_t memory() const = 0;
};

// A parsed accumulator operator.
class AccumulatorSpec {
 public:
  // Where the accumulator is used: window functions accept a few more forms.
  enum class Use { kGroup, kWindow };
  // `op` is the {$op: arg} element's iterator (key "$sum", value the argument). Unknown
  // operators (and those newer than ctx.version) → 15952 "unknown group operator '$foo'".
  static common::Result<std::unique_ptr<AccumulatorSpec>> parse(const bson_iter_t* op, const ExpressionContext& ctx,
                                                                Use use = Use::kGroup);
  virtual ~AccumulatorSpec() = default;

  const std::string& op() const { return op_; }
  // The per-document argument.
  const Expression& argument() const { return *argument_; }
  // The state for a new group. `init_root` is the document the `n` initializer of the
  // N-accumulators sees (the group's _id when it is a document, else empty).
  virtual common::Result<std::unique_ptr<Accumulator>> make(const bson_t* init_root) const = 0;
  // True for $count-like accumulators that ignore their argument ($count).
  bool is_count() const { return count_; }

 protected:
  AccumulatorSpec(std::string op, std::unique_ptr<Expression> arg, const ExpressionContext& ctx)
      : op_(std::move(op)), argument_(std::move(arg)), ctx_(ctx) {}
  std::string op_;
  std::unique_ptr<Expression> argument_;
  const ExpressionContext& ctx_;
  bool count_ = false;
};

// The server's AccumulationStatement checks for an output field of $group/$bucket
// ({name: {$op: arg}}): 40234, 40235, 40236, 40238, 40237, then AccumulatorSpec::parse.
common::Result<std::unique_ptr<AccumulatorSpec>> parse_accumulation_statement(const bson_iter_t* field,
                                                                              const ExpressionContext& ctx);

}  // namespace mql
