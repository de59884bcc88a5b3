#include "apply/incremental_store.h"

#include <chrono>

#include "state/sql.h"

namespace apply {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Creates the task's row when missing.
common::Status ensure_row(sqlite3* db, const std::string& task_id) {
  state::Stmt s(db, "INSERT OR IGNORE INTO incremental_state(task_id) VALUES(?)");
  s.bind(1, task_id);
  return s.run("incremental state row");
}

}  // namespace

common::Result<std::optional<Checkpoint>> load_checkpoint(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(),
                "SELECT method, ts_t, ts_i, token, tolerant_t, tolerant_i, t1_t, t1_i FROM incremental_state "
                "WHERE task_id = ? AND method != ''");
  if (!s.ok()) return s.error("reading the incremental checkpoint");
  s.bind(1, task_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Checkpoint>();
  if (rc != SQLITE_ROW) return s.error("reading the incremental checkpoint");
  Checkpoint c;
  c.method = s.text(0);
  c.position.ts = {static_cast<uint32_t>(s.integer(1)), static_cast<uint32_t>(s.integer(2))};
  c.position.token = s.text(3);
  c.tolerant_until = {static_cast<uint32_t>(s.integer(4)), static_cast<uint32_t>(s.integer(5))};
  c.t1 = {static_cast<uint32_t>(s.integer(6)), static_cast<uint32_t>(s.integer(7))};
  return std::optional<Checkpoint>(c);
}

common::Status save_checkpoint(state::StateStore& store, const std::string& task_id, const Checkpoint& c) {
  return store.write_transaction([&](sqlite3* db) {
    MS_RETURN_IF_ERROR(ensure_row(db, task_id));
    state::Stmt s(db,
                  "UPDATE incremental_state SET method=?, ts_t=?, ts_i=?, token=?, tolerant_t=?, tolerant_i=?, "
                  "t1_t=?, t1_i=?, updated_at=? WHERE task_id=?");
    s.bind(1, c.method)
        .bind(2, static_cast<int64_t>(c.position.ts.t))
        .bind(3, static_cast<int64_t>(c.position.ts.i))
        .bind(4, c.position.token)
        .bind(5, static_cast<int64_t>(c.tolerant_until.t))
        .bind(6, static_cast<int64_t>(c.tolerant_until.i))
        .bind(7, static_cast<int64_t>(c.t1.t))
        .bind(8, static_cast<int64_t>(c.t1.i))
        .bind(9, now_ms())
        .bind(10, task_id);
    return s.run("saving the incremental checkpoint");
  });
}

common::Status save_status(state::StateStore& store, const std::string& task_id, const LiveStatus& st) {
  return store.write_transaction([&](sqlite3* db) {
    MS_RETURN_IF_ERROR(ensure_row(db, task_id));
    state::Stmt s(db, "UPDATE incremental_state SET status=?, lag_seconds=?, applied=?, updated_at=? WHERE task_id=?");
    s.bind(1, st.text).bind(2, st.lag_seconds).bind(3, st.applied).bind(4, now_ms()).bind(5, task_id);
    return s.run("saving the incremental status");
  });
}

common::Result<std::optional<LiveStatus>> load_status(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(), "SELECT status, lag_seconds, applied, updated_at FROM incremental_state WHERE task_id=?");
  if (!s.ok()) return s.error("reading the incremental status");
  s.bind(1, task_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<LiveStatus>();
  if (rc != SQLITE_ROW) return s.error("reading the incremental status");
  return std::optional<LiveStatus>(LiveStatus{s.text(0), s.integer(1), s.integer(2), s.integer(3)});
}

common::Status request_stop(state::StateStore& store, const std::string& task_id) {
  return store.write_transaction([&](sqlite3* db) {
    MS_RETURN_IF_ERROR(ensure_row(db, task_id));
    state::Stmt s(db, "UPDATE incremental_state SET stop_requested=1 WHERE task_id=?");
    s.bind(1, task_id);
    return s.run("requesting the cut-over");
  });
}

common::Result<bool> stop_requested(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(), "SELECT stop_requested FROM incremental_state WHERE task_id=?");
  if (!s.ok()) return s.error("reading the cut-over request");
  s.bind(1, task_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return s.error("reading the cut-over request");
  return s.integer(0) != 0;
}

common::Result<bool> pause_requested(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(), "SELECT pause_requested FROM run_controls WHERE task_id=?");
  if (!s.ok()) return s.error("reading the pause request");
  s.bind(1, task_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return s.error("reading the pause request");
  return s.integer(0) != 0;
}

common::Result<std::optional<IncrementalLimits>> load_limits(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(), "SELECT rps, mbps FROM throttle_limits WHERE task_id=? AND phase='incremental'");
  if (!s.ok()) return s.error("reading the incremental throttle");
  s.bind(1, task_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<IncrementalLimits>();
  if (rc != SQLITE_ROW) return s.error("reading the incremental throttle");
  return std::optional<IncrementalLimits>(IncrementalLimits{s.integer(0), s.integer(1)});
}

common::Status record_ttl(state::StateStore& store, const std::string& task_id, const TtlValue& v) {
  return store.write_transaction([&](sqlite3* db) {
    state::Stmt s(db,
                  "INSERT INTO ttl_indexes(task_id, target_ns, index_name, expire_after_seconds, restored) "
                  "VALUES(?,?,?,?,0) ON CONFLICT(task_id, target_ns, index_name) DO UPDATE SET "
                  "expire_after_seconds=excluded.expire_after_seconds, restored=0");
    s.bind(1, task_id).bind(2, v.target_ns).bind(3, v.index_name).bind(4, v.expire_after_seconds);
    return s.run("recording a TTL value");
  });
}

}  // namespace apply
