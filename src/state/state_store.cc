#include "state/state_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "state/sql.h"

namespace state {

const char* to_string(TaskState s) {
  switch (s) {
    case TaskState::kNotStarted: return "not_started";
    case TaskState::kPrechecking: return "prechecking";
    case TaskState::kPrecheckFailed: return "precheck_failed";
    case TaskState::kPrecheckPassed: return "precheck_passed";
    case TaskState::kMigrating: return "migrating";
    case TaskState::kPaused: return "paused";
    case TaskState::kRetrying: return "retrying";
    case TaskState::kFailed: return "failed";
    case TaskState::kFinished: return "finished";
  }
  return "?";
}

common::Result<TaskState> parse_task_state(const std::string& s) {
  for (TaskState t : {TaskState::kNotStarted, TaskState::kPrechecking, TaskState::kPrecheckFailed,
                      TaskState::kPrecheckPassed, TaskState::kMigrating, TaskState::kPaused, TaskState::kRetrying,
                      TaskState::kFailed, TaskState::kFinished}) {
    if (s == to_string(t)) return t;
  }
  return common::Status(common::kBadValue, "unknown task state '" + s + "'");
}

const std::vector<Migration>& builtin_migrations() {
  static const std::vector<Migration> m = {
      {"tasks, transitions, precheck results, ignored warnings", R"sql(
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  task_file TEXT NOT NULL UNIQUE,
  config_text TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  state_reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE task_transitions (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX task_transitions_by_task ON task_transitions(task_id, at);
CREATE TABLE precheck_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  config_hash TEXT NOT NULL,
  passed INTEGER NOT NULL
);
CREATE TABLE precheck_items (
  run_id INTEGER NOT NULL REFERENCES precheck_runs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  title TEXT NOT NULL,
  level TEXT NOT NULL,
  status TEXT NOT NULL,
  detail TEXT NOT NULL,
  fix TEXT NOT NULL,
  ignored INTEGER NOT NULL,
  PRIMARY KEY (run_id, item_id)
);
CREATE TABLE ignored_warnings (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  item_id TEXT NOT NULL,
  ignored_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, item_id)
);
)sql"},
      {"start point, copy progress (collections, partitions), TTL values, throttle limits, run controls", R"sql(
CREATE TABLE start_points (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
  ts_t INTEGER NOT NULL,
  ts_i INTEGER NOT NULL,
  resume_token TEXT NOT NULL DEFAULT '',
  captured_at INTEGER NOT NULL
);
CREATE TABLE copy_collections (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  source_ns TEXT NOT NULL,
  target_ns TEXT NOT NULL,
  state TEXT NOT NULL,
  docs_estimated INTEGER NOT NULL DEFAULT 0,
  bytes_estimated INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, source_ns)
);
CREATE TABLE copy_partitions (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  source_ns TEXT NOT NULL,
  idx INTEGER NOT NULL,
  min_key BLOB,
  max_key BLOB,
  last_key BLOB,
  state TEXT NOT NULL,
  docs INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, source_ns, idx)
);
CREATE TABLE ttl_indexes (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  target_ns TEXT NOT NULL,
  index_name TEXT NOT NULL,
  expire_after_seconds INTEGER NOT NULL,
  restored INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (task_id, target_ns, index_name)
);
CREATE TABLE throttle_limits (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  phase TEXT NOT NULL,
  source_qps INTEGER NOT NULL DEFAULT 0,
  rps INTEGER NOT NULL DEFAULT 0,
  mbps INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, phase)
);
CREATE TABLE run_controls (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
  phase TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  pause_requested INTEGER NOT NULL DEFAULT 0,
  heartbeat_at INTEGER NOT NULL DEFAULT 0
);
)sql"},
      {"incremental phase: checkpoint, tolerance window, T1, lag and status, cut-over request", R"sql(
CREATE TABLE incremental_state (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
  method TEXT NOT NULL DEFAULT '',
  ts_t INTEGER NOT NULL DEFAULT 0,
  ts_i INTEGER NOT NULL DEFAULT 0,
  token TEXT NOT NULL DEFAULT '',
  tolerant_t INTEGER NOT NULL DEFAULT 0,
  tolerant_i INTEGER NOT NULL DEFAULT 0,
  t1_t INTEGER NOT NULL DEFAULT 0,
  t1_i INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT '',
  lag_seconds INTEGER NOT NULL DEFAULT 0,
  applied INTEGER NOT NULL DEFAULT 0,
  stop_requested INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0
);
)sql"},
  };
  return m;
}

std::string content_hash(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

common::Status exec(sqlite3* db, const std::string& sql, const std::string& what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return common::Status(common::kInternalError, "state store: " + what + ": " + msg);
  }
  return common::Status::OK();
}

std::string read_pid(int fd) {
  char buf[32] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "?" : s;
}

void write_pid(int fd) {
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    ssize_t w = pwrite(fd, pid.data(), pid.size(), 0);
    (void)w;
  }
}

// flock(LOCK_EX) on `path`, waiting up to `timeout_ms`; the fd (holding our pid) or the pid
// of the holder in the error.
common::Result<int> lock_file(const std::string& path, int timeout_ms, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return common::Status(common::kInternalError, "state store: cannot open " + path + ": " + std::strerror(errno));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      std::string err = std::strerror(errno);
      close(fd);
      return common::Status(common::kInternalError, "state store: cannot lock " + path + ": " + err);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string pid = read_pid(fd);
      close(fd);
      return common::Status(common::kConflictingOperationInProgress, what + " is in use by pid " + pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  write_pid(fd);
  return fd;
}

std::string random_id() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> d;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d(rd)));
  return std::string("t") + std::string(buf).substr(0, 12);
}

std::string today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

}  // namespace

TaskLock::~TaskLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

common::Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& dir, const OpenOptions& options) {
  std::error_code ec;
  // Owner-only: the store names hosts, users and task files.
  if (std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  if (ec) return common::Status(common::kBadValue, "state directory " + dir + ": " + ec.message());
  std::filesystem::create_directories(dir + "/locks", ec);
  if (ec) return common::Status(common::kBadValue, "state directory " + dir + "/locks: " + ec.message());
  std::unique_ptr<StateStore> store(new StateStore());
  store->dir_ = dir;
  // Opening and migrating happen under the store lock, so two processes never migrate at
  // once and nobody reads a half-migrated schema.
  MS_ASSIGN_OR_RETURN(int lock_fd, lock_file(dir + "/store.lock", options.busy_timeout_ms, "state store " + dir));
  auto release = [lock_fd] { close(lock_fd); };
  std::string path = dir + "/state.db";
  if (sqlite3_open_v2(path.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    common::Status st = sqlite_error(store->db_, "cannot open " + path);
    release();
    return st;
  }
  sqlite3_busy_timeout(store->db_, options.busy_timeout_ms);
  common::Status st = exec(store->db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                           "configuring " + path);
  if (st.ok()) st = store->migrate(options.migrations ? *options.migrations : builtin_migrations());
  release();
  if (!st.ok()) return st;
  return store;
}

StateStore::~StateStore() {
  if (db_) sqlite3_close_v2(db_);
}

common::Status StateStore::write_transaction(const std::function<common::Status(sqlite3*)>& fn) {
  MS_RETURN_IF_ERROR(exec(db_, "BEGIN IMMEDIATE", "starting a transaction"));
  common::Status st = fn(db_);
  if (st.ok()) st = exec(db_, "COMMIT", "committing");
  if (!st.ok()) exec(db_, "ROLLBACK", "rolling back");
  return st;
}

common::Status StateStore::migrate(const std::vector<Migration>& migrations) {
  MS_RETURN_IF_ERROR(exec(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                          "creating schema_version"));
  {
    Stmt q(db_, "SELECT version FROM schema_version");
    if (!q.ok()) return q.error("reading the schema version");
    version_ = q.step() == SQLITE_ROW ? static_cast<int>(q.integer(0)) : 0;
  }
  if (version_ > static_cast<int>(migrations.size())) {
    return common::Status(common::kBadValue, "state store " + dir_ + " has schema version " + std::to_string(version_) +
                                                 ", newer than this mongoshift knows (" +
                                                 std::to_string(migrations.size()) + "): upgrade mongoshift");
  }
  while (version_ < static_cast<int>(migrations.size())) {
    const Migration& m = migrations[static_cast<size_t>(version_)];
    int next = version_ + 1;
    MS_RETURN_IF_ERROR(write_transaction([&](sqlite3* db) -> common::Status {
      MS_RETURN_IF_ERROR(exec(db, m.sql, "migration " + std::to_string(next) + " (" + m.description + ")"));
      MS_RETURN_IF_ERROR(exec(db, "DELETE FROM schema_version", "updating the schema version"));
      Stmt ins(db, "INSERT INTO schema_version (version) VALUES (?)");
      ins.bind(1, static_cast<int64_t>(next));
      if (ins.step() != SQLITE_DONE) return ins.error("updating the schema version");
      return common::Status::OK();
    }));
    version_ = next;
  }
  return common::Status::OK();
}

namespace {

constexpr const char* kTaskColumns =
    "id, name, task_file, config_text, config_hash, state, state_reason, created_at, updated_at";

common::Result<TaskRecord> task_from(const Stmt& q) {
  TaskRecord t;
  t.id = q.text(0);
  t.name = q.text(1);
  t.task_file = q.text(2);
  t.config_text = q.text(3);
  t.config_hash = q.text(4);
  MS_ASSIGN_OR_RETURN(t.state, parse_task_state(q.text(5)));
  t.state_reason = q.text(6);
  t.created_at_ms = q.integer(7);
  t.updated_at_ms = q.integer(8);
  return t;
}

}  // namespace

common::Result<std::optional<TaskRecord>> StateStore::find_task_by_file(const std::string& task_file) {
  Stmt q(db_, (std::string("SELECT ") + kTaskColumns + " FROM tasks WHERE task_file = ?").c_str());
  if (!q.ok()) return q.error("reading tasks");
  q.bind(1, task_file);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<TaskRecord>();
  if (rc != SQLITE_ROW) return q.error("reading tasks");
  MS_ASSIGN_OR_RETURN(TaskRecord t, task_from(q));
  return std::optional<TaskRecord>(std::move(t));
}

common::Result<TaskRecord> StateStore::get_task(const std::string& id) {
  Stmt q(db_, (std::string("SELECT ") + kTaskColumns + " FROM tasks WHERE id = ?").c_str());
  if (!q.ok()) return q.error("reading tasks");
  q.bind(1, id);
  int rc = q.step();
  if (rc == SQLITE_DONE) return common::Status(common::kNoSuchKey, "no task with id " + id);
  if (rc != SQLITE_ROW) return q.error("reading tasks");
  return task_from(q);
}

common::Result<std::vector<TaskRecord>> StateStore::list_tasks() {
  Stmt q(db_, (std::string("SELECT ") + kTaskColumns + " FROM tasks ORDER BY created_at, id").c_str());
  if (!q.ok()) return q.error("reading tasks");
  std::vector<TaskRecord> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    MS_ASSIGN_OR_RETURN(TaskRecord t, task_from(q));
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return q.error("reading tasks");
  return out;
}

common::Result<TaskRecord> StateStore::register_task(const std::string& task_file, const std::string& name,
                                                     const std::string& config_text) {
  std::string hash = content_hash(config_text);
  common::Status st = write_transaction([&](sqlite3* db) -> common::Status {
    int64_t now = now_ms();
    Stmt find(db, "SELECT id, name FROM tasks WHERE task_file = ?");
    find.bind(1, task_file);
    int rc = find.step();
    if (rc == SQLITE_ROW) {
      // The name follows the file; a generated name stays.
      std::string new_name = name.empty() ? find.text(1) : name;
      Stmt up(db, "UPDATE tasks SET name = ?, config_text = ?, config_hash = ?, updated_at = ? WHERE id = ?");
      up.bind(1, new_name).bind(2, config_text).bind(3, hash).bind(4, now).bind(5, find.text(0));
      if (up.step() != SQLITE_DONE) return up.error("updating task");
      return common::Status::OK();
    }
    if (rc != SQLITE_DONE) return find.error("reading tasks");
    std::string task_name = name;
    if (task_name.empty()) {
      std::string prefix = "task-" + today() + "-";
      Stmt count(db, "SELECT COUNT(*) FROM tasks WHERE name LIKE ?");
      count.bind(1, prefix + "%");
      int64_t n = count.step() == SQLITE_ROW ? count.integer(0) : 0;
      task_name = prefix + std::to_string(n + 1);
    }
    Stmt ins(db,
             "INSERT INTO tasks (id, name, task_file, config_text, config_hash, state, created_at, updated_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, random_id()).bind(2, task_name).bind(3, task_file).bind(4, config_text).bind(5, hash);
    ins.bind(6, std::string(to_string(TaskState::kNotStarted))).bind(7, now).bind(8, now);
    if (ins.step() != SQLITE_DONE) return ins.error("registering task");
    return common::Status::OK();
  });
  if (!st.ok()) return st;
  MS_ASSIGN_OR_RETURN(auto t, find_task_by_file(task_file));
  if (!t) return common::Status(common::kInternalError, "state store: task vanished after registering");
  return *t;
}

common::Status StateStore::set_task_state(const std::string& id, TaskState to, const std::string& reason) {
  return write_transaction([&](sqlite3* db) -> common::Status {
    Stmt cur(db, "SELECT state FROM tasks WHERE id = ?");
    cur.bind(1, id);
    if (cur.step() != SQLITE_ROW) return common::Status(common::kNoSuchKey, "no task with id " + id);
    std::string from = cur.text(0);
    int64_t now = now_ms();
    Stmt up(db, "UPDATE tasks SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?");
    up.bind(1, std::string(to_string(to))).bind(2, reason).bind(3, now).bind(4, id);
    if (up.step() != SQLITE_DONE) return up.error("updating task state");
    Stmt tr(db, "INSERT INTO task_transitions (task_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)");
    tr.bind(1, id).bind(2, now).bind(3, from).bind(4, std::string(to_string(to))).bind(5, reason);
    if (tr.step() != SQLITE_DONE) return tr.error("recording the transition");
    return common::Status::OK();
  });
}

common::Result<std::vector<Transition>> StateStore::transitions(const std::string& id) {
  Stmt q(db_, "SELECT at, from_state, to_state, reason FROM task_transitions WHERE task_id = ? ORDER BY at, rowid");
  if (!q.ok()) return q.error("reading transitions");
  q.bind(1, id);
  std::vector<Transition> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    Transition t;
    t.at_ms = q.integer(0);
    MS_ASSIGN_OR_RETURN(t.from, parse_task_state(q.text(1)));
    MS_ASSIGN_OR_RETURN(t.to, parse_task_state(q.text(2)));
    t.reason = q.text(3);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return q.error("reading transitions");
  return out;
}

common::Result<int64_t> StateStore::save_precheck(const PrecheckRun& run) {
  int64_t run_id = 0;
  common::Status st = write_transaction([&](sqlite3* db) -> common::Status {
    Stmt ins(db,
             "INSERT INTO precheck_runs (task_id, started_at, finished_at, config_hash, passed) VALUES (?, ?, ?, ?, ?)");
    ins.bind(1, run.task_id).bind(2, run.started_at_ms).bind(3, run.finished_at_ms).bind(4, run.config_hash);
    ins.bind(5, static_cast<int64_t>(run.passed ? 1 : 0));
    if (ins.step() != SQLITE_DONE) return ins.error("saving the precheck");
    run_id = sqlite3_last_insert_rowid(db);
    int64_t pos = 0;
    for (const PrecheckItemRecord& item : run.items) {
      Stmt it(db,
              "INSERT INTO precheck_items (run_id, position, item_id, title, level, status, detail, fix, ignored) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      it.bind(1, run_id).bind(2, pos++).bind(3, item.id).bind(4, item.title).bind(5, item.level).bind(6, item.status);
      it.bind(7, item.detail).bind(8, item.fix).bind(9, static_cast<int64_t>(item.ignored ? 1 : 0));
      if (it.step() != SQLITE_DONE) return it.error("saving precheck item " + item.id);
    }
    return common::Status::OK();
  });
  if (!st.ok()) return st;
  return run_id;
}

common::Result<std::optional<PrecheckRun>> StateStore::last_precheck(const std::string& task_id) {
  Stmt q(db_,
         "SELECT id, started_at, finished_at, config_hash, passed FROM precheck_runs WHERE task_id = ? "
         "ORDER BY id DESC LIMIT 1");
  if (!q.ok()) return q.error("reading prechecks");
  q.bind(1, task_id);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<PrecheckRun>();
  if (rc != SQLITE_ROW) return q.error("reading prechecks");
  PrecheckRun run;
  run.id = q.integer(0);
  run.task_id = task_id;
  run.started_at_ms = q.integer(1);
  run.finished_at_ms = q.integer(2);
  run.config_hash = q.text(3);
  run.passed = q.integer(4) != 0;
  Stmt items(db_,
             "SELECT item_id, title, level, status, detail, fix, ignored FROM precheck_items WHERE run_id = ? "
             "ORDER BY position");
  items.bind(1, run.id);
  while ((rc = items.step()) == SQLITE_ROW) {
    run.items.push_back({items.text(0), items.text(1), items.text(2), items.text(3), items.text(4), items.text(5),
                         items.integer(6) != 0});
  }
  if (rc != SQLITE_DONE) return items.error("reading precheck items");
  return std::optional<PrecheckRun>(std::move(run));
}

common::Status StateStore::ignore_warning(const std::string& task_id, const std::string& item_id) {
  return write_transaction([&](sqlite3* db) -> common::Status {
    Stmt ins(db, "INSERT OR IGNORE INTO ignored_warnings (task_id, item_id, ignored_at) VALUES (?, ?, ?)");
    ins.bind(1, task_id).bind(2, item_id).bind(3, now_ms());
    if (ins.step() != SQLITE_DONE) return ins.error("recording the ignored warning");
    return common::Status::OK();
  });
}

common::Result<std::set<std::string>> StateStore::ignored_warnings(const std::string& task_id) {
  Stmt q(db_, "SELECT item_id FROM ignored_warnings WHERE task_id = ?");
  if (!q.ok()) return q.error("reading ignored warnings");
  q.bind(1, task_id);
  std::set<std::string> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.insert(q.text(0));
  if (rc != SQLITE_DONE) return q.error("reading ignored warnings");
  return out;
}

common::Result<TaskLock> StateStore::lock_task(const TaskRecord& task) {
  MS_ASSIGN_OR_RETURN(int fd, lock_file(dir_ + "/locks/" + task.id + ".lock", 0,
                                        "task " + task.name + " (" + task.id + ") in state store " + dir_));
  return TaskLock(fd);
}

}  // namespace state
