// Matcher: a compiled query filter (mongodb-reference.md §8.1-8.2). Parsing validates the
// filter and returns the server's error code and text for bad ones; matching never fails.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "mql/context.h"

namespace mql {

// Filled by matches() when asked: the array position of the first array the query's
// predicate traversed, which the positional `$` update and projection use.
struct MatchDetails {
  std::optional<std::string> elem_match_key;  // e.g. "2"
};

class Matcher {
 public:
  virtual ~Matcher() = default;
  // `filter` is the query document; ctx must outlive the Matcher (collation, let, $$NOW).
  static common::Result<std::unique_ptr<Matcher>> parse(const bson_t* filter, const ExpressionContext& ctx);

  virtual bool matches(const bson_t* doc, MatchDetails* details = nullptr) const = 0;
  // True for an empty filter (every document matches).
  virtual bool matches_everything() const = 0;
};

// Validates and evaluates a `$jsonSchema`-bearing or ordinary validator with the same rules.
// (Validators are ordinary filters; this is an alias kept for readability at call sites.)
using Validator = Matcher;

}  // namespace mql
