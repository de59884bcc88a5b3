// Reading local.oplog.rs (mongodb-reference.md §5.9): find (filters, a `ts` lower bound
// seeks instead of scanning, $natural order both ways, tailable + awaitData, CappedPositionLost
// when truncation passes the cursor), aggregation input, count, and the collection's place in
// listCollections/collStats. The oplog is not a Collection: entries become BSON only when read.
#pragma once

#include <memory>
#include <string>

#include "common/bson.h"
#include "common/status.h"
#include "mql/pipeline.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/find_source.h"
#include "sim/engine/oplog.h"

namespace sim::engine {

inline bool is_oplog_ns(std::string_view db, std::string_view coll) { return db == "local" && coll == "oplog.rs"; }

// The oplog store when this server has one (replica sets), else null.
OplogStore* oplog_store(EngineImpl& e);

common::Status run_find_on_oplog(EngineImpl& e, const CommandContext& c, const FindRequest& r, bson_t* reply);
common::Result<int64_t> count_oplog(EngineImpl& e, const CommandContext& c, const FindRequest& r);
// All entries matching `filter` (may be null), oldest first, as a pipeline input.
std::unique_ptr<mql::DocumentSource> make_oplog_input(EngineImpl& e, std::shared_ptr<QueryContext> qctx,
                                                      const bson_t* filter);
// listCollections' entry for oplog.rs; collStats fields.
common::Bson oplog_collection_info(EngineImpl& e);
void append_oplog_stats(EngineImpl& e, int64_t scale, bson_t* out);
// The number of entries in the oplog (0 without one).
int64_t oplog_count(EngineImpl& e);
// The UUID local.oplog.rs reports (fixed per process).
const std::string& oplog_uuid(EngineImpl& e);

}  // namespace sim::engine
