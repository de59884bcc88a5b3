// Internal node types of the compiled query filter (shared by matcher.cc, json_schema.cc
// and projection.cc). Not part of the public mql API.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "mql/context.h"
#include "mql/matcher.h"
#include "mql/path.h"

namespace mql::internal {

// A node of the filter tree, evaluated against a whole document.
class MatchNode {
 public:
  virtual ~MatchNode() = default;
  // `pos` (may be null) receives the array position for positional `$` when the match went
  // through an array; left untouched otherwise.
  virtual bool matches(const bson_t* doc, int64_t* pos) const = 0;
};

// A predicate on one value reached by a path (nullptr = the path is missing there).
class ValuePred {
 public:
  virtual ~ValuePred() = default;
  // `elem_pos` receives the matching element index for predicates that look inside arrays
  // themselves ($elemMatch); may be null.
  virtual bool match(const bson_value_t* v, int64_t* elem_pos) const = 0;
  // Whether the traversal also offers the elements of an array at the end of the path.
  virtual bool expand_leaf_arrays() const { return true; }
};

// A parsed field-operator object, as a small tree over value predicates. In path context each
// leaf becomes its own path traversal (so {$gt: 1, $lt: 3} may be satisfied by different array
// elements); in $elemMatch value context every leaf applies to the same element.
struct FieldExpr {
  enum class Kind { kLeaf, kNot, kAnd, kTrue, kFalse };
  Kind kind = Kind::kLeaf;
  std::shared_ptr<ValuePred> pred;
  std::vector<FieldExpr> kids;

  bool eval_value(const bson_value_t* v, int64_t* elem_pos) const;
};

// Parses a whole filter document into a node (used for the top level and $elemMatch objects).
common::Result<std::unique_ptr<MatchNode>> parse_filter(const bson_t* filter, const ExpressionContext& ctx,
                                                       int depth);

}  // namespace mql::internal
