#include "runner/controls.h"

#include <unistd.h>

#include <chrono>

#include "state/sql.h"

namespace runner {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

common::Result<std::optional<throttle::Limits>> load_throttle(state::StateStore& store, const std::string& task_id,
                                                              const std::string& phase) {
  state::Stmt s(store.db(), "SELECT source_qps, rps, mbps FROM throttle_limits WHERE task_id=? AND phase=?");
  if (!s.ok()) return s.error("reading throttle limits");
  s.bind(1, task_id).bind(2, phase);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<throttle::Limits>();
  if (rc != SQLITE_ROW) return s.error("reading throttle limits");
  return std::optional<throttle::Limits>(throttle::Limits{s.integer(0), s.integer(1), s.integer(2)});
}

common::Status save_throttle(state::StateStore& store, const std::string& task_id, const std::string& phase,
                             const throttle::Limits& l) {
  return store.write_transaction([&](sqlite3* db) {
    state::Stmt s(db,
                  "INSERT INTO throttle_limits(task_id, phase, source_qps, rps, mbps, updated_at) VALUES(?,?,?,?,?,?) "
                  "ON CONFLICT(task_id, phase) DO UPDATE SET source_qps=excluded.source_qps, rps=excluded.rps, "
                  "mbps=excluded.mbps, updated_at=excluded.updated_at");
    s.bind(1, task_id).bind(2, phase).bind(3, l.source_qps).bind(4, l.rps).bind(5, l.mbps).bind(6, now_ms());
    return s.run("saving throttle limits");
  });
}

common::Result<RunControl> load_control(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(), "SELECT phase, pid, pause_requested, heartbeat_at FROM run_controls WHERE task_id=?");
  if (!s.ok()) return s.error("reading run controls");
  s.bind(1, task_id);
  RunControl c;
  int rc = s.step();
  if (rc == SQLITE_ROW) {
    c.phase = s.text(0);
    c.pid = s.integer(1);
    c.pause_requested = s.integer(2) != 0;
    c.heartbeat_at_ms = s.integer(3);
  } else if (rc != SQLITE_DONE) {
    return s.error("reading run controls");
  }
  return c;
}

common::Status save_phase(state::StateStore& store, const std::string& task_id, const std::string& phase, bool start) {
  return store.write_transaction([&](sqlite3* db) {
    state::Stmt s(db,
                  "INSERT INTO run_controls(task_id, phase, pid, pause_requested, heartbeat_at) VALUES(?,?,?,0,?) "
                  "ON CONFLICT(task_id) DO UPDATE SET phase=excluded.phase, pid=excluded.pid, "
                  "heartbeat_at=excluded.heartbeat_at, pause_requested=CASE WHEN ? THEN 0 ELSE pause_requested END");
    s.bind(1, task_id).bind(2, phase).bind(3, int64_t{getpid()}).bind(4, now_ms()).bind(5, int64_t{start ? 1 : 0});
    return s.run("recording the phase");
  });
}

common::Status request_pause(state::StateStore& store, const std::string& task_id) {
  return store.write_transaction([&](sqlite3* db) {
    state::Stmt s(db,
                  "INSERT INTO run_controls(task_id, pause_requested) VALUES(?,1) "
                  "ON CONFLICT(task_id) DO UPDATE SET pause_requested=1");
    s.bind(1, task_id);
    return s.run("requesting a pause");
  });
}

}  // namespace runner
