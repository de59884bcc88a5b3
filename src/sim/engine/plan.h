// Query planning and scanning. plan_query picks an access path for a filter (and sort,
// hint, min/max) over one collection: a collection scan, or an index scan over byte
// intervals derived from the filter's equality, $in and range predicates (type-bracketed, as
// the server's index bounds builder does). Scans always re-check the whole filter, so bounds
// only need to cover every matching document; they never decide a match.
//
// A Scanner keeps its position between batches (the last index key, or the last RecordId),
// so a cursor re-seeks after the collection lock was released and documents inserted or
// deleted meanwhile are seen or skipped as on a yielding server.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/collation.h"
#include "mql/matcher.h"
#include "mql/sort.h"
#include "sim/engine/collection.h"

namespace sim::engine {

// A byte range over index keys (key_string.h); bounds are key prefixes.
struct KeyInterval {
  std::string lo;
  bool lo_inclusive = true;
  std::string hi;
  bool hi_inclusive = true;
};

struct Plan {
  enum class Kind { kCollScan, kIndexScan, kEof };
  Kind kind = Kind::kCollScan;
  bool reverse = false;       // scan direction (natural order or index order)
  std::string index_name;     // kIndexScan
  std::vector<KeyInterval> intervals;  // kIndexScan, ascending byte order
  bool provides_sort = false; // the scan order is the requested sort
  bool dedupe = false;        // multikey: a document may be reached more than once
  bool is_id_lookup = false;  // only point intervals on the _id index
  std::string summary() const;         // "IXSCAN { a: 1 }", "COLLSCAN", for explain and logs
  common::Bson key_pattern;            // kIndexScan
};

struct PlanRequest {
  const bson_t* filter = nullptr;  // may be null
  const mql::SortPattern* sort = nullptr;
  const bson_value_t* hint = nullptr;  // string (index name) or document (key pattern or {$natural: ±1})
  const bson_t* min = nullptr;
  const bson_t* max = nullptr;
  const mql::Collator* collator = nullptr;  // the operation's collation (null = simple)
  bool tailable = false;
};

// Chooses the access path. Errors as the server: 2 BadValue "hint provided does not
// correspond to an existing index", 51173 min/max without hint, 51176/51177 bad min/max...
// Caller holds the collection lock (shared).
common::Result<Plan> plan_query(const Collection& coll, const PlanRequest& req);

// Iterates a plan over a collection, filtering with `matcher`. Caller holds coll.mu (shared)
// during each call to next(); the position survives between calls.
class Scanner {
 public:
  Scanner(Plan plan, std::shared_ptr<const mql::Matcher> matcher) : plan_(std::move(plan)), matcher_(std::move(matcher)) {}

  // The next matching document; false at the end. `details` receives the match details
  // when non-null (positional projection).
  bool next(const Collection& coll, DocRef* out, int64_t* rid, mql::MatchDetails* details = nullptr);
  // For tailable cursors: true when the last RecordId returned was removed by capped
  // trimming (the next getMore fails with CappedPositionLost).
  bool position_lost(const Collection& coll) const;
  // The current index key (for returnKey), valid after next() on an index scan.
  const std::string& current_key() const { return last_key_; }
  const Plan& plan() const { return plan_; }
  // Documents examined so far (explain executionStats).
  int64_t examined() const { return examined_; }
  int64_t keys_examined() const { return keys_examined_; }
  // Restarts a tailable scan at the end: no more documents until new ones arrive.
  bool at_end() const { return done_; }
  void resume_tailable() { done_ = false; }

 private:
  bool next_coll_scan(const Collection& coll, DocRef* out, int64_t* rid, mql::MatchDetails* details);
  bool next_index_scan(const Collection& coll, DocRef* out, int64_t* rid, mql::MatchDetails* details);
  bool accept(const DocRef& doc, mql::MatchDetails* details);

  Plan plan_;
  std::shared_ptr<const mql::Matcher> matcher_;
  bool started_ = false;
  bool done_ = false;
  int64_t last_rid_ = 0;
  // A forward collection scan's position, valid while the collection's generation holds
  // (no write since): the next record is then one step on instead of a lookup.
  RecordStore::const_iterator pos_;
  const Collection* pos_coll_ = nullptr;
  uint64_t pos_generation_ = 0;
  // An index scan's position likewise: the entry last returned, so the next entry is one
  // step on instead of a search of the index.
  std::map<std::string, int64_t>::const_iterator ipos_;
  const Index* ipos_index_ = nullptr;
  std::string last_key_;
  size_t interval_ = 0;
  std::unordered_set<int64_t> seen_;
  int64_t examined_ = 0;
  int64_t keys_examined_ = 0;
};

}  // namespace sim::engine
