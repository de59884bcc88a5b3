// Catalog operations behind the catalog commands that need more than the Catalog itself:
// create's option parsing, views (validated pipelines, cycles), time-series collections (a
// view over system.buckets.<name>), collMod, and the storage statistics shared by collStats
// and $collStats.
#pragma once

#include <optional>
#include <string>

#include "common/bson.h"
#include "common/status.h"
#include "sim/engine/engine_impl.h"

namespace sim::engine {

struct ViewRequest {
  bool is_view = false;
  std::string view_on;
  common::Bson pipeline;
  bool has_pipeline = false;
};

// Parses create's options (everything but the name). Views fill `view`.
common::Result<CollectionOptions> parse_create_options(const bson_t* body, mql::ServerVersion version, ViewRequest* view);

common::Status create_view(EngineImpl& e, const std::string& db, const std::string& name, const ViewRequest& vr,
                           const mql::CollatorPtr& collator);
common::Status create_timeseries(EngineImpl& e, const std::string& db, const std::string& name, CollectionOptions opts);

common::Status cmd_coll_mod(EngineImpl& e, CommandContext& c, bson_t* reply);

// collStats fields (size, count, avgObjSize, storageSize, ..., indexSizes, scaleFactor).
void append_storage_stats(const Collection& coll, int64_t scale, bson_t* out);

}  // namespace sim::engine
