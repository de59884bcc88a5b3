// Engine: mongosim's database: catalog (databases, collections with UUIDs and options,
// views), record storage, indexes, cursors, and the commands that use them (CRUD, catalog,
// indexes, statistics, killCursors). One per process.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/status.h"
#include "sim/clock.h"
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

  // ---- replication state and test control (used by the server's test commands) ----
  // Appends a no-op oplog entry {msg} (replica sets); the null Timestamp on a standalone.
  virtual Timestamp log_noop(const std::string& msg) = 0;
  // Removes every oplog entry older than `ts` (a forced roll-over).
  virtual void truncate_oplog_before(Timestamp ts) = 0;
  // The oldest and newest oplog entries' optimes and wall times (for replSetGetStatus,
  // serverStatus.oplog, getReplicationInfo); false when there is no oplog.
  struct OplogBounds {
    Timestamp first, last;
    int64_t first_wall_ms = 0, last_wall_ms = 0;
    int64_t size_bytes = 0, max_bytes = 0, count = 0;
  };
  virtual bool oplog_bounds(OplogBounds* out) = 0;
  // Whether the open cursor `id` serves a change stream (getMore errors on it carry
  // ResumableChangeStreamError, as mongod's ErrorLabelBuilder gives them).
  virtual bool is_change_stream_cursor(int64_t id) = 0;
  // Whether `c` retries a retryable write whose first statement already ran (session.h).
  virtual bool is_retry_of_executed_write(const CommandContext& c) = 0;
  // Transactions commit in the prepared format (an applyOps with prepare: true, then a
  // commitTransaction entry), as a shard's two-phase commit logs them; false without an oplog.
  virtual bool set_prepared_transactions(bool on) = 0;
  // dbStats fsTotalSize/fsUsedSize as a test set them (nullopt: the real filesystem's).
  virtual void set_fs_sizes(std::optional<std::pair<int64_t, int64_t>> total_used) = 0;
  // Step-down/step-up hooks: aborts open transactions (step-down) and logs "new primary"
  // at the new term (step-up).
  virtual void on_step_down() = 0;
  virtual void on_step_up() = 0;
};

}  // namespace sim::engine
