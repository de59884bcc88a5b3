#include "copy/copy_store.h"

#include <chrono>

#include "state/sql.h"

namespace copy {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

PartState parse_part_state(const std::string& s) {
  if (s == "done") return PartState::kDone;
  if (s == "copying") return PartState::kCopying;
  return PartState::kPending;
}

}  // namespace

const char* to_string(PartState s) {
  switch (s) {
    case PartState::kPending: return "pending";
    case PartState::kCopying: return "copying";
    case PartState::kDone: return "done";
  }
  return "?";
}

int64_t CollectionRecord::docs() const {
  int64_t n = 0;
  for (const auto& p : partitions) n += p.docs;
  return n;
}
int64_t CollectionRecord::bytes() const {
  int64_t n = 0;
  for (const auto& p : partitions) n += p.bytes;
  return n;
}
int64_t CollectionRecord::skipped() const {
  int64_t n = 0;
  for (const auto& p : partitions) n += p.skipped;
  return n;
}

common::Result<std::vector<CollectionRecord>> CopyStore::load_all() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<CollectionRecord> out;
  state::Stmt c(store_.db(),
                "SELECT source_ns, target_ns, state, docs_estimated, bytes_estimated, started_at, finished_at "
                "FROM copy_collections WHERE task_id=? ORDER BY source_ns");
  if (!c.ok()) return c.error("reading copy progress");
  c.bind(1, task_id_);
  int rc;
  while ((rc = c.step()) == SQLITE_ROW) {
    CollectionRecord r;
    r.source_ns = c.text(0);
    r.target_ns = c.text(1);
    r.state = c.text(2);
    r.docs_estimated = c.integer(3);
    r.bytes_estimated = c.integer(4);
    r.started_at_ms = c.integer(5);
    r.finished_at_ms = c.integer(6);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return c.error("reading copy progress");
  for (auto& r : out) {
    state::Stmt p(store_.db(),
                  "SELECT idx, min_key, max_key, last_key, state, docs, bytes, skipped FROM copy_partitions "
                  "WHERE task_id=? AND source_ns=? ORDER BY idx");
    if (!p.ok()) return p.error("reading partitions");
    p.bind(1, task_id_).bind(2, r.source_ns);
    while ((rc = p.step()) == SQLITE_ROW) {
      PartitionRecord pr;
      pr.idx = static_cast<int>(p.integer(0));
      pr.min_key = p.blob(1);
      pr.max_key = p.blob(2);
      pr.last_key = p.blob(3);
      pr.state = parse_part_state(p.text(4));
      pr.docs = p.integer(5);
      pr.bytes = p.integer(6);
      pr.skipped = p.integer(7);
      r.partitions.push_back(std::move(pr));
    }
    if (rc != SQLITE_DONE) return p.error("reading partitions");
  }
  return out;
}

common::Result<std::optional<CollectionRecord>> CopyStore::load(const std::string& source_ns) {
  MS_ASSIGN_OR_RETURN(auto all, load_all());
  for (auto& c : all) {
    if (c.source_ns == source_ns) return std::optional<CollectionRecord>(std::move(c));
  }
  return std::optional<CollectionRecord>();
}

common::Status CopyStore::save_plan(const CollectionRecord& c) {
  std::lock_guard<std::mutex> g(mu_);
  return store_.write_transaction([&](sqlite3* db) -> common::Status {
    state::Stmt del(db, "DELETE FROM copy_partitions WHERE task_id=? AND source_ns=?");
    del.bind(1, task_id_).bind(2, c.source_ns);
    MS_RETURN_IF_ERROR(del.run("replacing partitions"));
    state::Stmt ins(db,
                    "INSERT INTO copy_collections(task_id, source_ns, target_ns, state, docs_estimated, "
                    "bytes_estimated, started_at, finished_at) VALUES(?,?,?,?,?,?,?,0) ON CONFLICT(task_id, source_ns) "
                    "DO UPDATE SET target_ns=excluded.target_ns, state=excluded.state, "
                    "docs_estimated=excluded.docs_estimated, bytes_estimated=excluded.bytes_estimated, "
                    "started_at=excluded.started_at, finished_at=0");
    ins.bind(1, task_id_).bind(2, c.source_ns).bind(3, c.target_ns).bind(4, c.state).bind(5, c.docs_estimated);
    ins.bind(6, c.bytes_estimated).bind(7, c.started_at_ms ? c.started_at_ms : now_ms());
    MS_RETURN_IF_ERROR(ins.run("recording a collection"));
    for (const auto& p : c.partitions) {
      state::Stmt ip(db,
                     "INSERT INTO copy_partitions(task_id, source_ns, idx, min_key, max_key, last_key, state, docs, "
                     "bytes, skipped) VALUES(?,?,?,?,?,?,?,?,?,?)");
      ip.bind(1, task_id_).bind(2, c.source_ns).bind(3, int64_t{p.idx}).bind_blob(4, p.min_key).bind_blob(5, p.max_key);
      ip.bind_blob(6, p.last_key).bind(7, std::string(to_string(p.state))).bind(8, p.docs).bind(9, p.bytes);
      ip.bind(10, p.skipped);
      MS_RETURN_IF_ERROR(ip.run("recording a partition"));
    }
    return common::Status::OK();
  });
}

common::Status CopyStore::checkpoint(const std::string& source_ns, const std::vector<PartitionRecord>& parts) {
  std::lock_guard<std::mutex> g(mu_);
  return store_.write_transaction([&](sqlite3* db) -> common::Status {
    for (const auto& p : parts) {
      state::Stmt up(db,
                     "UPDATE copy_partitions SET last_key=?, state=?, docs=?, bytes=?, skipped=? "
                     "WHERE task_id=? AND source_ns=? AND idx=?");
      up.bind_blob(1, p.last_key).bind(2, std::string(to_string(p.state))).bind(3, p.docs).bind(4, p.bytes);
      up.bind(5, p.skipped).bind(6, task_id_).bind(7, source_ns).bind(8, int64_t{p.idx});
      MS_RETURN_IF_ERROR(up.run("checkpointing a partition"));
    }
    return common::Status::OK();
  });
}

common::Status CopyStore::set_collection_state(const std::string& source_ns, const std::string& state) {
  std::lock_guard<std::mutex> g(mu_);
  return store_.write_transaction([&](sqlite3* db) {
    state::Stmt up(db, "UPDATE copy_collections SET state=?, finished_at=? WHERE task_id=? AND source_ns=?");
    up.bind(1, state).bind(2, state == "done" ? now_ms() : int64_t{0}).bind(3, task_id_).bind(4, source_ns);
    return up.run("updating a collection's state");
  });
}

}  // namespace copy
