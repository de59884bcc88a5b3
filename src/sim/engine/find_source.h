// FindSource: the cursor source of `find` (and of aggregate's collection input): a plan's
// scan, the filter, a blocking sort when the plan does not provide the order, skip, limit,
// projection, returnKey/showRecordId, and tailable cursors over capped collections.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "mql/matcher.h"
#include "mql/pipeline.h"
#include "mql/projection.h"
#include "mql/sort.h"
#include "sim/engine/cursor.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/plan.h"

namespace sim::engine {

struct FindSpec {
  std::shared_ptr<Collection> coll;
  std::shared_ptr<QueryContext> qctx;
  std::shared_ptr<const mql::Matcher> matcher;  // null = everything
  std::shared_ptr<const mql::Projection> projection;
  std::optional<mql::SortPattern> sort;         // set when a sort was asked
  Plan plan;
  int64_t skip = 0;
  int64_t limit = -1;  // -1 = none
  bool return_key = false;
  bool show_record_id = false;
  bool tailable = false;
  bool allow_disk_use = true;
};

class FindSource : public CursorSource {
 public:
  FindSource(EngineImpl& e, FindSpec spec);
  common::Status fill(BatchWriter& out, bool* eof, Clock::time_point deadline) override;
  void wait_for_data(Clock::time_point deadline) override;

  // Pull interface for aggregation input: the next output document, or nullopt at the end.
  common::Result<std::optional<common::Bson>> next_doc();

 private:
  // Produces the next result document under the collection lock; false at the end.
  common::Result<bool> next_locked(DocRef* doc, common::Bson* owned, bool* is_owned);
  common::Status materialize_sorted();

  EngineImpl& e_;
  FindSpec s_;
  Scanner scanner_;
  bool sorted_ready_ = false;
  std::vector<std::pair<DocRef, int64_t>> sorted_;  // (document, record id)
  size_t sorted_pos_ = 0;
  int64_t skip_left_;
  int64_t limit_left_;
  std::optional<common::Bson> pending_;
  uint64_t seen_version_ = 0;
  bool finished_ = false;
  bool filled_once_ = false;
};

// The `find` command's request as parsed, for views (run as aggregations) and explain.
struct FindRequest {
  std::string db, coll;
  common::Bson filter, projection, sort, hint_doc, min, max, collation, let;
  std::optional<std::string> hint_name;
  int64_t skip = 0, limit = -1, batch_size = -1, max_time_ms = 0;
  bool single_batch = false, tailable = false, await_data = false, no_cursor_timeout = false;
  bool return_key = false, show_record_id = false, allow_disk_use = true;
};

// Parses the filter, projection and sort of `r`, and plans it over `coll`.
common::Result<FindSpec> build_find_spec(EngineImpl& e, const CommandContext& c, const FindRequest& r,
                                         std::shared_ptr<Collection> coll);

// A pipeline input that reads a collection through the planner (leading $match as filter).
std::unique_ptr<mql::DocumentSource> make_collection_input(EngineImpl& e, std::shared_ptr<Collection> coll,
                                                           std::shared_ptr<QueryContext> qctx, const bson_t* filter);

}  // namespace sim::engine
