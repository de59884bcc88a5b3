// The oplog change reader: a tailable, awaitData find on local.oplog.rs from the resume
// point (ts >= P), whose first entry must be P itself — otherwise the oplog has rolled past
// it and the reader fails with history_lost. A lost cursor (restart, CappedPositionLost,
// CursorNotFound) is reopened from the position on the next call.
#pragma once

#include <optional>

#include "change/event.h"
#include "change/oplog_normalize.h"
#include "client/client.h"

namespace change {

class OplogReader : public ChangeReader {
 public:
  OplogReader(client::ConnectSpec source, ResumePoint start, int batch_size = 5000);
  common::Result<ChangeBatch> next_batch() override;
  ResumePoint position() const override;
  const char* method() const override { return "oplog"; }

 private:
  common::Result<common::Bson> open_cursor();
  common::Status consume(const bson_t* batch, ChangeBatch* out);

  client::ConnectSpec spec_;
  std::optional<client::Connection> conn_;
  int batch_size_;
  int64_t cursor_id_ = 0;
  OpTime last_read_;
  OplogNormalizer norm_;
};

}  // namespace change
