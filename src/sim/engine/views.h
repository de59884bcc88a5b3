// Views (mongodb-reference.md §3.8): a view is read by running its pipeline over its source
// (itself possibly a view, up to 20 deep) with the view's collation; find, count and
// distinct on a view become aggregations, as on the server.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/collation.h"
#include "sim/command.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/find_source.h"

namespace sim::engine {

struct ResolvedView {
  std::string db, base;       // the collection at the bottom of the chain
  common::Bson pipeline;      // every view's stages, innermost first (an array)
  mql::CollatorPtr collator;  // the view's collation
  common::Bson collation_spec;
};

// 165 ViewDepthLimitExceeded past 20 views.
common::Result<ResolvedView> resolve_view(EngineImpl& e, const std::string& db, const std::string& name);

// A view definition's pipeline must parse as an aggregation and must not write ($out/$merge).
common::Status validate_view_pipeline(EngineImpl& e, const std::string& db, const common::Bson& pipeline);

common::Status run_find_on_view(EngineImpl& e, const CommandContext& c, const FindRequest& r, bson_t* reply);
common::Result<int64_t> count_on_view(EngineImpl& e, const CommandContext& c, const FindRequest& r);
common::Result<std::vector<common::Bson>> docs_on_view(EngineImpl& e, const CommandContext& c, const FindRequest& r,
                                                       std::shared_ptr<QueryContext>* qctx);

}  // namespace sim::engine
