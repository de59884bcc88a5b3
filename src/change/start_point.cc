#include "change/start_point.h"

#include <chrono>
#include <optional>

#include "client/catalog.h"
#include "state/sql.h"

namespace change {

namespace {

std::optional<StartPoint> timestamp_field(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!common::find_field(doc, key, &it) || !BSON_ITER_HOLDS_TIMESTAMP(&it)) return std::nullopt;
  StartPoint p;
  bson_iter_timestamp(&it, &p.t, &p.i);
  return p;
}

// The newest oplog entry's ts.
common::Result<std::optional<StartPoint>> newest_oplog_ts(client::Connection& c) {
  auto edge = client::find_edge(c, "local", "oplog.rs", "$natural", /*last=*/true, "ts");
  if (!edge.ok()) return edge.status();
  if (!edge->has_value()) return std::optional<StartPoint>();
  return timestamp_field((*edge)->get(), "ts");
}

// operationTime of a cheap command (replica sets and mongos report it).
common::Result<std::optional<StartPoint>> operation_time(client::Connection& c) {
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_INT32(&cmd, "ping", 1);
  auto reply = c.run("admin", &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  return timestamp_field(reply->get(), "operationTime");
}

// A cluster-wide change stream opened at T0 with an empty first batch; its
// postBatchResumeToken is a resume token at that point.
std::string resume_token_at(client::Connection& c, const StartPoint& p) {
  bson_t cmd = BSON_INITIALIZER, pipeline, stage, spec, cursor;
  BSON_APPEND_INT32(&cmd, "aggregate", 1);
  BSON_APPEND_ARRAY_BEGIN(&cmd, "pipeline", &pipeline);
  BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
  BSON_APPEND_DOCUMENT_BEGIN(&stage, "$changeStream", &spec);
  BSON_APPEND_BOOL(&spec, "allChangesForCluster", true);
  BSON_APPEND_TIMESTAMP(&spec, "startAtOperationTime", p.t, p.i);
  bson_append_document_end(&stage, &spec);
  bson_append_document_end(&pipeline, &stage);
  bson_append_array_end(&cmd, &pipeline);
  BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
  BSON_APPEND_INT32(&cursor, "batchSize", 0);
  bson_append_document_end(&cmd, &cursor);
  auto reply = c.run("admin", &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return "";
  std::string token;
  bson_iter_t it, tok;
  if (bson_iter_init(&it, reply->get()) && bson_iter_find_descendant(&it, "cursor.postBatchResumeToken", &tok) &&
      BSON_ITER_HOLDS_DOCUMENT(&tok)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&tok, &len, &data);
    token = common::Bson(data, len).json();
  }

  bson_iter_t cid;
  if (bson_iter_init(&it, reply->get()) && bson_iter_find_descendant(&it, "cursor.id", &cid) &&
      bson_iter_as_int64(&cid) != 0) {
    bson_t kill = BSON_INITIALIZER, ids;
    BSON_APPEND_UTF8(&kill, "killCursors", "$cmd.aggregate");
    BSON_APPEND_ARRAY_BEGIN(&kill, "cursors", &ids);
    BSON_APPEND_INT64(&ids, "0", bson_iter_as_int64(&cid));
    bson_append_array_end(&kill, &ids);
    (void)c.run("admin", &kill);
    bson_destroy(&kill);
  }
  return token;
}

}  // namespace

common::Result<StartPoint> capture_start_point(client::Connection& source) {
  std::optional<StartPoint> p;
  auto oplog = newest_oplog_ts(source);
  if (oplog.ok()) p = *oplog;
  if (!p) {
    auto op = operation_time(source);
    if (!op.ok()) return op.status().with_context("capturing the start point (T0)");
    p = *op;
  }
  if (!p) {
    std::string why = oplog.ok() ? "" : " (" + oplog.status().message() + ")";
    return common::Status(common::kIllegalOperation,
                          "capturing the start point (T0): the source has no oplog and reports no operationTime" +
                              why + "; a standalone server cannot be a source of incremental replication");
  }
  p->resume_token_json = resume_token_at(source, *p);
  return *p;
}

common::Status save_start_point(state::StateStore& store, const std::string& task_id, const StartPoint& p) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  return store.write_transaction([&](sqlite3* db) {
    state::Stmt s(db,
                  "INSERT INTO start_points(task_id, ts_t, ts_i, resume_token, captured_at) VALUES(?,?,?,?,?) "
                  "ON CONFLICT(task_id) DO UPDATE SET ts_t=excluded.ts_t, ts_i=excluded.ts_i, "
                  "resume_token=excluded.resume_token, captured_at=excluded.captured_at");
    s.bind(1, task_id).bind(2, int64_t{p.t}).bind(3, int64_t{p.i}).bind(4, p.resume_token_json).bind(5, now);
    return s.run("saving the start point");
  });
}

common::Result<std::optional<StartPoint>> load_start_point(state::StateStore& store, const std::string& task_id) {
  state::Stmt s(store.db(), "SELECT ts_t, ts_i, resume_token FROM start_points WHERE task_id=?");
  if (!s.ok()) return s.error("reading the start point");
  s.bind(1, task_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<StartPoint>();
  if (rc != SQLITE_ROW) return s.error("reading the start point");
  StartPoint p;
  p.t = static_cast<uint32_t>(s.integer(0));
  p.i = static_cast<uint32_t>(s.integer(1));
  p.resume_token_json = s.text(2);
  return std::optional<StartPoint>(std::move(p));
}

}  // namespace change
