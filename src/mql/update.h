// Updates (mongodb-reference.md §8.3-8.5): modifier documents, replacements and pipeline
// updates, with arrayFilters and the positional operators, plus upsert seed construction.
#pragma once

#include <bson/bson.h>

#include <memory>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "mql/matcher.h"

namespace mql {

struct UpdateOutcome {
  common::Bson doc;      // the new document (_id first)
  bool modified = false; // false when the result is byte-identical to the input
};

class Update {
 public:
  enum class Kind { kModifier, kReplacement, kPipeline };
  virtual ~Update() = default;

  // `u` is the update element (a document or, for pipeline updates, an array).
  // `array_filters` may be null. Errors carry the server's codes (9, 52, 40, 2, ...).
  static common::Result<std::unique_ptr<Update>> parse(const bson_iter_t* u, const bson_t* array_filters,
                                                       const ExpressionContext& ctx);

  virtual Kind kind() const = 0;
  // Applies to `doc`. `details` carries the query's positional match (may be null).
  // `is_upsert_insert` enables $setOnInsert and forbids positional `$`.
  // Errors: 66 ImmutableField, 28 PathNotViable, 14 TypeMismatch, 2 (positional without
  // match), 10334 when the result exceeds 16 MiB.
  virtual common::Result<UpdateOutcome> apply(const bson_t* doc, const MatchDetails* details,
                                              bool is_upsert_insert) const = 0;
};

// The document an upsert starts from when nothing matches: the query's equality conditions
// (§8.5 step 1). Error 54 when two equalities overlap.
common::Result<common::Bson> upsert_seed(const bson_t* query);

// Completes an upsert insert (§8.5 steps 2-3): applies `update` to the seed, keeps the
// query's _id, generates an ObjectId when none, and moves _id first.
common::Result<common::Bson> build_upsert_document(const bson_t* query, const Update& update);

}  // namespace mql
