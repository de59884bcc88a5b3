// SortPattern: a parsed sort specification ({a: 1, "b.c": -1}) for find, $sort and
// findAndModify, with MongoDB's sort-key semantics (mongodb-reference.md §7.2): a missing
// field sorts as null, an array contributes its smallest element (ascending) or largest
// (descending) among the values reached through the path, an empty array sorts as undefined
// (before null), and strings compare with the collation.
#pragma once

#include <bson/bson.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "mql/collation.h"
#include "mql/path.h"
#include "mql/value.h"

namespace mql {

struct SortPart {
  enum class Kind { kField, kTextScore, kRandVal };
  Kind kind = Kind::kField;
  FieldPath path;       // the field (also for $meta parts: the output name)
  bool ascending = true;
};

// A precomputed sort key: one value per part, in pattern order.
using SortKey = std::vector<Value>;

class SortPattern {
 public:
  enum class Syntax {
    kFind,      // find/findAndModify `sort`: {} allowed; non-numbers → 15974 "Illegal key in $sort specification: k: v"
    kPipeline,  // $sort stage: {} → 15976; non-numbers → 15974 "$sort key ordering must be specified using a number or {$meta: 'textScore'}"
  };
  // Values must be numbers equal to 1 or -1 after truncation to int (else 15975
  // "$sort key ordering must be 1 (for ascending) or -1 (for descending)"), or
  // {$meta: "textScore"|"randVal"} (sorted descending, as the server does).
  static common::Result<SortPattern> parse(const bson_t* spec, Syntax syntax = Syntax::kFind);

  const std::vector<SortPart>& parts() const { return parts_; }
  bool empty() const { return parts_.empty(); }
  bool has_meta() const;

  // The sort key of `doc`. $meta parts yield null (text search and random sort are not
  // evaluated here; callers that support them substitute their own values).
  SortKey key(const bson_t* doc, const Collator* collator = nullptr) const;
  // Compares two precomputed keys in this pattern's directions: <0, 0, >0.
  int compare_keys(const SortKey& a, const SortKey& b, const Collator* collator = nullptr) const;
  // Compares two documents directly (no allocation).
  int compare(const bson_t* a, const bson_t* b, const Collator* collator = nullptr) const;

  // The sort-key value of one field for one document, as a shallow bson_value_t pointing into
  // `doc` (or a static null/undefined). Exposed for callers that build index-like keys.
  static bson_value_t key_value(const bson_t* doc, const FieldPath& path, bool ascending, const Collator* collator);

 private:
  std::vector<SortPart> parts_;
};

}  // namespace mql
