#include "change/oplog_reader.h"

#include "change/cursor_reply.h"

namespace change {

OplogReader::OplogReader(client::ConnectSpec source, ResumePoint start, int batch_size)
    : spec_(std::move(source)), batch_size_(batch_size), last_read_(start.ts) {}

ResumePoint OplogReader::position() const {
  ResumePoint p;
  p.ts = last_read_;
  if (auto open = norm_.oldest_open(); open && *open < p.ts) p.ts = *open;
  return p;
}

common::Result<common::Bson> OplogReader::open_cursor() {
  if (!conn_) {
    auto c = client::Connection::open(spec_);
    if (!c.ok()) return c.status();
    conn_.emplace(std::move(c).value());
  }
  OpTime from = position().ts;
  norm_.reset();
  last_read_ = from;
  bson_t cmd = BSON_INITIALIZER, filter, range;
  common::append_utf8(&cmd, "find", "oplog.rs");
  bson_append_document_begin(&cmd, "filter", 6, &filter);
  bson_append_document_begin(&filter, "ts", 2, &range);
  bson_append_timestamp(&range, "$gte", 4, from.t, from.i);
  bson_append_document_end(&filter, &range);
  bson_append_document_end(&cmd, &filter);
  bson_append_bool(&cmd, "tailable", 8, true);
  bson_append_bool(&cmd, "awaitData", 9, true);
  bson_append_int32(&cmd, "batchSize", 9, batch_size_);
  auto reply = conn_->run("local", &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  // The first entry must be the resume point itself.
  CursorReply r = parse_cursor_reply(*reply);
  bson_iter_t it, ts;
  OpTime first;
  if (bson_iter_init(&it, &r.batch) && bson_iter_next(&it) && BSON_ITER_HOLDS_DOCUMENT(&it) &&
      bson_iter_recurse(&it, &ts) && bson_iter_find(&ts, "ts") && BSON_ITER_HOLDS_TIMESTAMP(&ts)) {
    bson_iter_timestamp(&ts, &first.t, &first.i);
  }
  if (first.empty() || !(first == from)) {
    return history_lost(first.empty() ? "the source oplog holds no entry at or after it"
                                      : "the oldest remaining entry at or after it is " + first.str(),
                        from);
  }
  cursor_id_ = r.id;
  return std::move(reply).value();
}

common::Status OplogReader::consume(const bson_t* batch, ChangeBatch* out) {
  size_t n = 0;
  MS_RETURN_IF_ERROR(for_each_document(batch, [&](const bson_t* entry) {
    // Re-reading from the oldest open transaction (this entry's own chain included), or from
    // this entry, produces these events again.
    OpTime ts;
    bson_iter_t tsi;
    if (bson_iter_init_find(&tsi, entry, "ts") && BSON_ITER_HOLDS_TIMESTAMP(&tsi)) bson_iter_timestamp(&tsi, &ts.t, &ts.i);
    ResumePoint before;
    before.ts = ts;
    if (auto open = norm_.oldest_open(); open && *open < ts) before.ts = *open;
    size_t first = out->events.size();
    MS_RETURN_IF_ERROR(norm_.add(entry, &out->events));
    for (size_t k = first; k < out->events.size(); ++k) out->events[k].resume = before;
    last_read_ = ts;
    return common::Status::OK();
  }, &n));
  out->caught_up = n < static_cast<size_t>(batch_size_);
  return common::Status::OK();
}

common::Result<ChangeBatch> OplogReader::next_batch() {
  ChangeBatch out;
  common::Result<common::Bson> reply = common::Status(common::kInternalError, "no reply");
  if (cursor_id_ == 0) {
    reply = open_cursor();
  } else {
    common::Bson cmd = get_more_command(cursor_id_, "oplog.rs", batch_size_, 1000);
    reply = conn_->run("local", cmd.get());
    if (!reply.ok() && (reply.status().code() == common::kCappedPositionLost ||
                        reply.status().code() == common::kCursorNotFound)) {
      reply = open_cursor();  // checks that the position is still on the oplog
    }
  }
  if (!reply.ok()) {
    cursor_id_ = 0;
    if (client::classify(reply.status()) == client::ErrorClass::kConnection) conn_.reset();
    return reply.status();
  }
  CursorReply r = parse_cursor_reply(*reply);
  cursor_id_ = r.id;
  MS_RETURN_IF_ERROR(consume(&r.batch, &out));
  out.position = position();
  return out;
}

}  // namespace change
