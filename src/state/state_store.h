// The embedded state store: one SQLite database in the state directory (default
// ./.mongoshift) holding tasks and their state transitions, precheck results and ignored
// warnings; later phases add tables (partitions, checkpoints, events, throttle settings)
// through numbered schema migrations. Safe against several processes: SQLite in WAL mode with
// a busy timeout serializes writers, migrations run under an exclusive lock file, and a task
// is run by one process at a time (TaskLock: the second gets "in use by pid N").
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace state {

// product.md §3: the same names in the CLI, API, console and metrics.
enum class TaskState {
  kNotStarted,
  kPrechecking,
  kPrecheckFailed,
  kPrecheckPassed,
  kMigrating,
  kPaused,
  kRetrying,
  kFailed,
  kFinished,
};
const char* to_string(TaskState s);
common::Result<TaskState> parse_task_state(const std::string& s);

struct TaskRecord {
  std::string id;         // generated, stable
  std::string name;       // from the task file, or generated task-<YYYYMMDD>-<n>
  std::string task_file;  // absolute path of the task file
  std::string config_text;  // the task file as last registered (credentials redacted)
  std::string config_hash;
  TaskState state = TaskState::kNotStarted;
  std::string state_reason;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct Transition {
  int64_t at_ms = 0;
  TaskState from = TaskState::kNotStarted;
  TaskState to = TaskState::kNotStarted;
  std::string reason;
};

struct PrecheckItemRecord {
  std::string id;
  std::string title;
  std::string level;   // "error" or "warning"
  std::string status;  // "passed", "failed" or "warning"
  std::string detail;
  std::string fix;
  bool ignored = false;
};

struct PrecheckRun {
  int64_t id = 0;
  std::string task_id;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  std::string config_hash;
  bool passed = false;
  std::vector<PrecheckItemRecord> items;
};

// One schema step: SQL run in one transaction, then schema_version = its index + 1.
struct Migration {
  std::string description;
  std::string sql;
};
// The store's migrations, oldest first. Later phases append; never edit a released one.
const std::vector<Migration>& builtin_migrations();

struct OpenOptions {
  int busy_timeout_ms = 10000;  // how long to wait for another process's write or migration
  const std::vector<Migration>* migrations = nullptr;  // null: builtin_migrations()
};

// An exclusive claim on one task by this process (an flock on <dir>/locks/<task>.lock that
// holds our pid); released when destroyed or when the process dies.
class TaskLock {
 public:
  TaskLock(TaskLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  TaskLock& operator=(TaskLock&&) = delete;
  ~TaskLock();

 private:
  friend class StateStore;
  explicit TaskLock(int fd) : fd_(fd) {}
  int fd_;
};

class StateStore {
 public:
  // Creates the directory and database when missing and migrates the schema.
  static common::Result<std::unique_ptr<StateStore>> open(const std::string& dir, const OpenOptions& options = {});
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& dir() const { return dir_; }
  int schema_version() const { return version_; }

  // Registers the task file (by absolute path) or refreshes its text; a new task gets an id
  // and, when `name` is empty, a generated name.
  common::Result<TaskRecord> register_task(const std::string& task_file, const std::string& name,
                                           const std::string& config_text);
  common::Result<std::optional<TaskRecord>> find_task_by_file(const std::string& task_file);
  common::Result<TaskRecord> get_task(const std::string& id);
  common::Result<std::vector<TaskRecord>> list_tasks();
  // Records the transition (from the current state) with its reason.
  common::Status set_task_state(const std::string& id, TaskState to, const std::string& reason = "");
  common::Result<std::vector<Transition>> transitions(const std::string& id);

  common::Result<int64_t> save_precheck(const PrecheckRun& run);
  common::Result<std::optional<PrecheckRun>> last_precheck(const std::string& task_id);
  common::Status ignore_warning(const std::string& task_id, const std::string& item_id);
  common::Result<std::set<std::string>> ignored_warnings(const std::string& task_id);

  // Fails with "task NAME is in use by pid N" while another process holds it.
  common::Result<TaskLock> lock_task(const TaskRecord& task);

  // For later phases' own tables: runs `fn` inside BEGIN IMMEDIATE ... COMMIT (rolled back
  // when it returns an error).
  common::Status write_transaction(const std::function<common::Status(sqlite3*)>& fn);
  sqlite3* db() const { return db_; }

 private:
  StateStore() = default;
  common::Status migrate(const std::vector<Migration>& migrations);

  std::string dir_;
  sqlite3* db_ = nullptr;
  int version_ = 0;
};

// FNV-1a of the text, as 16 hex digits (stable across runs and machines).
std::string content_hash(const std::string& text);

}  // namespace state
