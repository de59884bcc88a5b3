// The unified test format's "Evaluating Matches" rules: expected vs actual values with special
// $$ operators, extra fields allowed only in root-level documents, flexible numerics.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "bson_util.h"

namespace spec {

struct MatchContext {
  // Value of a BSON entity for $$matchesEntity; nullopt if undefined.
  std::function<std::optional<Val>(const std::string&)> entity;
  // lsid document of a session entity for $$sessionLsid; nullopt if undefined.
  std::function<std::optional<Doc>(const std::string&)> session_lsid;
};

// Empty string when `actual` (nullptr = missing) matches `expected`; otherwise the reason,
// naming the path of the first mismatch.
std::string match(const bson_iter_t* expected, const bson_iter_t* actual, bool root, const MatchContext& ctx,
                  const std::string& path = "");
std::string match_val(const Val& expected, const Val& actual, bool root, const MatchContext& ctx);
// Root-level match of two documents.
std::string match_doc(const bson_t* expected, const bson_t* actual, const MatchContext& ctx);

// Exact equality used for test.outcome: same types (no numeric flexibility), key order ignored.
bool exact_equal(const bson_iter_t* a, const bson_iter_t* b);
bool exact_equal_docs(const bson_t* a, const bson_t* b);

}  // namespace spec
