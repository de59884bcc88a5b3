#include "change/stream_reader.h"

#include "change/cursor_reply.h"

namespace change {

namespace {

int wire_version(client::Connection& c) {
  bson_t cmd = BSON_INITIALIZER;
  bson_append_int32(&cmd, "hello", 5, 1);
  auto reply = c.run("admin", &cmd);
  bson_destroy(&cmd);
  bson_iter_t it;
  if (reply.ok() && bson_iter_init_find(&it, reply->get(), "maxWireVersion")) {
    return static_cast<int>(bson_iter_as_int64(&it));
  }
  return 0;
}

}  // namespace

StreamReader::StreamReader(client::ConnectSpec source, ResumePoint start, int batch_size)
    : spec_(std::move(source)), batch_size_(batch_size), position_(std::move(start)) {}

common::Result<common::Bson> StreamReader::open_cursor() {
  if (!conn_) {
    auto c = client::Connection::open(spec_);
    if (!c.ok()) return c.status();
    conn_.emplace(std::move(c).value());
    wire_version_ = wire_version(*conn_);
  }
  norm_.reset();
  bson_t cmd = BSON_INITIALIZER, pipeline, stage, spec, cursor;
  bson_append_int32(&cmd, "aggregate", 9, 1);
  bson_append_array_begin(&cmd, "pipeline", 8, &pipeline);
  bson_append_document_begin(&pipeline, "0", 1, &stage);
  bson_append_document_begin(&stage, "$changeStream", 13, &spec);
  bson_append_bool(&spec, "allChangesForCluster", -1, true);
  if (wire_version_ >= 17) bson_append_bool(&spec, "showExpandedEvents", -1, true);
  if (!position_.token.empty()) {
    auto token = common::Bson::from_json(position_.token);
    if (!token.ok()) return token.status();
    bson_append_document(&spec, "resumeAfter", -1, token->get());
  } else {
    bson_append_timestamp(&spec, "startAtOperationTime", -1, position_.ts.t, position_.ts.i);
  }
  bson_append_document_end(&stage, &spec);
  bson_append_document_end(&pipeline, &stage);
  if (wire_version_ >= 21) {
    bson_t split, empty;
    bson_append_document_begin(&pipeline, "1", 1, &split);
    bson_append_document_begin(&split, "$changeStreamSplitLargeEvent", -1, &empty);
    bson_append_document_end(&split, &empty);
    bson_append_document_end(&pipeline, &split);
  }
  bson_append_array_end(&cmd, &pipeline);
  bson_append_document_begin(&cmd, "cursor", 6, &cursor);
  bson_append_int32(&cursor, "batchSize", 9, batch_size_);
  bson_append_document_end(&cmd, &cursor);
  auto reply = conn_->run("admin", &cmd);
  bson_destroy(&cmd);
  return reply;
}

common::Status StreamReader::consume(const common::Bson& reply, ChangeBatch* out) {
  CursorReply r = parse_cursor_reply(reply);
  cursor_id_ = r.id;
  size_t n = 0;
  MS_RETURN_IF_ERROR(for_each_document(&r.batch, [&](const bson_t* event) {
    if (!norm_.in_split()) before_split_ = position_;
    size_t before = out->events.size();
    MS_RETURN_IF_ERROR(norm_.add(event, &out->events));
    if (norm_.in_split()) return common::Status::OK();
    // Every event ends at its own token (a reassembled split event at its last fragment).
    bson_t token;
    if (sub_document(event, "_id", &token)) position_.token = common::to_canonical_json(&token);
    bson_iter_t ct;
    if (bson_iter_init_find(&ct, event, "clusterTime") && BSON_ITER_HOLDS_TIMESTAMP(&ct)) {
      bson_iter_timestamp(&ct, &position_.ts.t, &position_.ts.i);
    }
    for (size_t k = before; k < out->events.size(); ++k) out->events[k].resume = before_split_;
    return common::Status::OK();
  }, &n));
  out->caught_up = n < static_cast<size_t>(batch_size_);
  if (!norm_.in_split() && !r.pbrt_json.empty()) position_.token = r.pbrt_json;
  return common::Status::OK();
}

common::Result<ChangeBatch> StreamReader::next_batch() {
  ChangeBatch out;
  common::Result<common::Bson> reply = common::Status(common::kInternalError, "no reply");
  if (cursor_id_ == 0) {
    if (norm_.in_split()) position_ = before_split_;
    reply = open_cursor();
  } else {
    common::Bson cmd = get_more_command(cursor_id_, "$cmd.aggregate", batch_size_, 1000);
    reply = conn_->run("admin", cmd.get());
  }
  if (!reply.ok()) {
    cursor_id_ = 0;
    int code = reply.status().code();
    if (code == common::kChangeStreamHistoryLost || code == 280) {
      return history_lost(reply.status().message(), position_.ts);
    }
    if (client::classify(reply.status()) == client::ErrorClass::kConnection) conn_.reset();
    return reply.status();
  }
  MS_RETURN_IF_ERROR(consume(*reply, &out));
  out.position = position();
  return out;
}

}  // namespace change
