// Projection: find's `projection` and findAndModify's `fields` (mongodb-reference.md §8.2):
// inclusion, exclusion, dotted paths into arrays, $slice, $elemMatch, positional "a.$", and
// aggregation expressions (4.4+).
#pragma once

#include <bson/bson.h>

#include <memory>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "mql/matcher.h"

namespace mql {

class Projection {
 public:
  virtual ~Projection() = default;
  // `query` is needed to validate/use positional projection; may be null.
  static common::Result<std::unique_ptr<Projection>> parse(const bson_t* spec, const bson_t* query,
                                                           const ExpressionContext& ctx);
  // Positional projection needs the MatchDetails of the document's match.
  virtual common::Result<common::Bson> apply(const bson_t* doc, const MatchDetails* details) const = 0;
  virtual bool needs_match_details() const = 0;
};

}  // namespace mql
