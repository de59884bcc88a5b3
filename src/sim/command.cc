#include "sim/command.h"

#include <algorithm>

namespace sim {

bool is_generic_argument(std::string_view f) {
  static constexpr std::string_view kGeneric[] = {
      "$db", "lsid", "txnNumber", "autocommit", "startTransaction", "$clusterTime", "$readPreference",
      "readConcern", "writeConcern", "maxTimeMS", "comment", "apiVersion", "apiStrict",
      "apiDeprecationErrors", "$client", "$audit", "$configServerState", "$replData", "$oplogQueryData",
      "$queryOptions", "mayBypassWriteBlocking", "maxTimeMSOpOnly", "clientOperationKey", "$configTime",
      "$topologyTime", "databaseVersion", "shardVersion", "tracking_info", "coordinator", "help",
      "readOnly", "$readPreference", "allowImplicitCollectionCreation", "versionContext", "rawData"};
  for (auto g : kGeneric) {
    if (g == f) return true;
  }
  return false;
}

void CommandRegistry::add(CommandDef def) {
  // A later registration of a name replaces the earlier command (the engine takes over the
  // session commands from the admin set, for example).
  for (auto it = defs_.begin(); it != defs_.end(); ++it) {
    if ((*it)->name == def.name) {
      for (auto b = by_name_.begin(); b != by_name_.end();) {
        b = b->second == it->get() ? by_name_.erase(b) : std::next(b);
      }
      defs_.erase(it);
      break;
    }
  }
  auto owned = std::make_unique<CommandDef>(std::move(def));
  by_name_[owned->name] = owned.get();
  for (const auto& a : owned->aliases) by_name_[a] = owned.get();
  defs_.push_back(std::move(owned));
}

const CommandDef* CommandRegistry::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<const CommandDef*> CommandRegistry::all() const {
  std::vector<const CommandDef*> out;
  for (const auto& d : defs_) out.push_back(d.get());
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

void ServerContext::add_log_line(std::string line) {
  std::lock_guard<std::mutex> lk(log_mu_);
  if (log_ring_.size() >= 1024) log_ring_.erase(log_ring_.begin());
  log_ring_.push_back(std::move(line));
}

std::vector<std::string> ServerContext::recent_log() const {
  std::lock_guard<std::mutex> lk(log_mu_);
  return log_ring_;
}

}  // namespace sim
