// Search index commands and $listSearchIndexes without Atlas (see search_index.h).
#include "sim/engine/search_index.h"

#include "sim/engine/engine_impl.h"

namespace sim::engine {

using common::Result;
using common::Status;

namespace {

constexpr int kSearchNotEnabled = 31082;
constexpr int kListSearchIndexesNotAllowed = 6047401;

// 8.0: one refusal for the commands and the stage (the server has no management host).
Status not_enabled() {
  return Status(kSearchNotEnabled,
                "Using Atlas Search Database Commands and the $listSearchIndexes aggregation stage requires additional "
                "configuration. Please connect to Atlas or an AtlasCLI local deployment to enable. For more information "
                "on how to connect, see https://dochub.mongodb.org/core/atlas-cli-deploy-local-reqs.");
}

Status command_refusal(const EngineImpl& e) {
  if (e.version() >= 80) return not_enabled();
  return Status(common::kCommandNotSupported, "Search index commands are only supported with Atlas.");
}

}  // namespace

void register_search_index_commands(EngineImpl& e, CommandRegistry& r) {
  if (e.version() < 70) return;
  const EngineImpl* ep = &e;
  auto refuse = [ep](CommandContext&, bson_t*) { return command_refusal(*ep); };
  r.add(engine_command("createSearchIndexes", refuse, true, "Command to create a search index. Only supported with Atlas."));
  r.add(engine_command("updateSearchIndex", refuse, true, "Command to update a search index. Only supported with Atlas."));
  r.add(engine_command("dropSearchIndex", refuse, true, "Command to drop a search index. Only supported with Atlas."));
}

Result<std::unique_ptr<mql::HostStage>> search_index_host_stage(EngineImpl& e, std::string_view name) {
  if (name != "$listSearchIndexes" || e.version() < 70) return std::unique_ptr<mql::HostStage>();
  if (e.version() >= 80) return not_enabled();
  return Status(kListSearchIndexesNotAllowed, "$listSearchIndexes stage is only allowed on MongoDB Atlas");
}

}  // namespace sim::engine
