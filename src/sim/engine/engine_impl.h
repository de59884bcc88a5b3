// The engine's internals shared by its command files: the catalog, the cursor registry, the
// OpObserver, and the helpers every command uses (request contexts, collations, cursor
// replies). Not part of the engine's interface (engine.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <thread>

#include "common/bson.h"
#include "common/status.h"
#include "mql/collation.h"
#include "mql/context.h"
#include "sim/command.h"
#include "sim/engine/catalog.h"
#include "sim/engine/cursor.h"
#include "sim/engine/engine.h"
#include "sim/engine/observer.h"
#include "sim/engine/oplog.h"
#include "sim/engine/session.h"
#include "sim/engine/persist.h"

namespace sim::engine {

class EngineImpl;

// What parsing a query needs to keep alive while its Matcher/Projection live.
struct QueryContext {
  mql::ExpressionContext ectx;
};

class EngineImpl : public Engine {
 public:
  explicit EngineImpl(ServerContext& server);
  ~EngineImpl() override;

  void register_commands(CommandRegistry& registry) override;
  void start_background() override;
  void shutdown() override;
  void append_server_status(bson_t* reply) override;
  Timestamp log_noop(const std::string& msg) override;
  void truncate_oplog_before(Timestamp ts) override;
  bool oplog_bounds(OplogBounds* out) override;
  bool is_change_stream_cursor(int64_t id) override;
  bool set_prepared_transactions(bool on) override;
  bool is_retry_of_executed_write(const CommandContext& c) override;
  void set_fs_sizes(std::optional<std::pair<int64_t, int64_t>> total_used) override;
  void on_step_down() override;
  void on_step_up() override;

  ServerContext& server;
  std::unique_ptr<OplogWriter> observer;  // every write and catalog change goes through it
  OplogWriter* oplog_writer = nullptr;
  std::string oplog_uuid;                 // what local.oplog.rs reports as its UUID
  Catalog catalog;
  CursorManager cursors;
  SessionCatalog sessions{*this};
  std::unique_ptr<Persistence> persistence;  // with --dbpath
  bool restored = false;                     // the state came from --dbpath

  // awaitData: writers bump the version and wake waiters.
  void notify_data();
  // Waits until the data version moves past `seen`, shutdown, or `deadline`.
  void wait_data(uint64_t seen, Clock::time_point deadline);
  uint64_t data_version() const { return data_version_.load(std::memory_order_acquire); }

  // An ExpressionContext for a command: its collation (or `default_collator`), let, $$NOW,
  // $$CLUSTER_TIME, version, db. Errors for bad collation/let.
  common::Result<std::shared_ptr<QueryContext>> query_context(const CommandContext& c, const mql::Collator* dflt,
                                                              const mql::CollatorPtr& default_ptr);
  mql::ServerVersion version() const { return server.options.version(); }
  // admin.system.version, config.system.sessions, local.startup_log; local.system.replset
  // once the listening address is known (start_background).
  void bootstrap_internal_collections();

  // Ends a command that produced a cursor: fills the first batch from `cursor->source`,
  // registers the cursor unless exhausted, and appends {cursor: {firstBatch, [fields], id,
  // ns}}. `batch_size` < 0 means the default (101).
  common::Status reply_with_cursor(std::shared_ptr<Cursor> cursor, int64_t batch_size, bool single_batch,
                                   int64_t max_time_ms, bson_t* reply, bool legacy_field_order = false);

  std::atomic<int64_t> ttl_passes{0}, ttl_deleted{0};
  // dbStats fsTotalSize/fsUsedSize when a test set them (else the dbpath's filesystem).
  std::optional<std::pair<int64_t, int64_t>> fs_override;

 private:
  void background_loop();
  void run_ttl_pass();

  std::mutex data_mu_;
  std::condition_variable data_cv_;
  std::atomic<uint64_t> data_version_{0};
  std::atomic<int> data_waiters_{0};
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;
  std::thread bg_;
};

// Command groups, one file each.
void register_find_commands(EngineImpl& e, CommandRegistry& r);      // find, getMore, killCursors, count, distinct
void register_write_commands(EngineImpl& e, CommandRegistry& r);     // insert, update, delete, findAndModify
void register_catalog_commands(EngineImpl& e, CommandRegistry& r);   // create, drop, list*, rename, collMod, stats
void register_index_commands(EngineImpl& e, CommandRegistry& r);     // createIndexes, listIndexes, dropIndexes
void register_aggregate_commands(EngineImpl& e, CommandRegistry& r); // aggregate, explain

// "db.coll"
inline std::string ns_of(std::string_view db, std::string_view coll) {
  std::string s(db);
  s += '.';
  s += coll;
  return s;
}

// A registered engine command.
CommandDef engine_command(std::string name, CommandHandler h, bool is_write, std::string help,
                          std::vector<std::string> aliases = {});

}  // namespace sim::engine
