// Atlas Search index management as a mongod without a search index management host answers
// it: createSearchIndexes, updateSearchIndex, dropSearchIndex and the $listSearchIndexes
// stage exist from 7.0 and always fail, naming Atlas (7.0: 115 CommandNotSupported for the
// commands, 6047401 for the stage; 8.0: 31082 SearchNotEnabled for both). Before 7.0 neither
// exists (59 CommandNotFound, 40324 unrecognized stage).
#pragma once

#include <bson/bson.h>

#include <memory>
#include <string_view>

#include "common/status.h"
#include "mql/pipeline.h"
#include "sim/command.h"

namespace sim::engine {

class EngineImpl;

void register_search_index_commands(EngineImpl& e, CommandRegistry& r);

// The $listSearchIndexes stage (an error from 7.0); nullptr for any other stage name or
// before 7.0.
common::Result<std::unique_ptr<mql::HostStage>> search_index_host_stage(EngineImpl& e, std::string_view name);

}  // namespace sim::engine
