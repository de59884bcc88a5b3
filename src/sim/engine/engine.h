// Engine: mongosim's database: catalog (databases, collections with UUIDs and options,
// views), record storage, indexes, cursors, and the commands that use them (CRUD, catalog,
// indexes, statistics, killCursors). One per process.
#pragma once

#include <memory>

#include "common/status.h"
#include "sim/command.h"

namespace sim::engine {

class Engine {
 public:
  virtual ~Engine() = default;
  // Opens (or, with options.dbpath, loads) the database.
  static common::Result<std::unique_ptr<Engine>> open(ServerContext& server);
  // Registers every command the engine serves.
  virtual void register_commands(CommandRegistry& registry) = 0;
  // Starts background work (TTL monitor, idle-cursor reaper).
  virtual void start_background() = 0;
  // Stops background work and flushes to dbpath when persistent.
  virtual void shutdown() = 0;
  // For serverStatus: open cursors, total documents, bytes.
  virtual void append_server_status(bson_t* reply) = 0;
};

}  // namespace sim::engine
