// The change-stream reader: a cluster-wide $changeStream (allChangesForCluster) with
// showExpandedEvents on 6.0+ and $changeStreamSplitLargeEvent on 7.0+, opened with
// resumeAfter the last token or startAtOperationTime T0. ChangeStreamHistoryLost (286) and
// a resume token the server no longer finds (280) fail with history_lost.
#pragma once

#include <optional>

#include "change/event.h"
#include "change/stream_normalize.h"
#include "client/client.h"

namespace change {

class StreamReader : public ChangeReader {
 public:
  StreamReader(client::ConnectSpec source, ResumePoint start, int batch_size = 5000);
  common::Result<ChangeBatch> next_batch() override;
  ResumePoint position() const override { return position_; }
  const char* method() const override { return "change_stream"; }

 private:
  common::Result<common::Bson> open_cursor();
  common::Status consume(const common::Bson& reply, ChangeBatch* out);

  client::ConnectSpec spec_;
  std::optional<client::Connection> conn_;
  int batch_size_;
  int64_t cursor_id_ = 0;
  int wire_version_ = 0;
  ResumePoint position_;
  ResumePoint before_split_;  // the position before a split event's first fragment
  StreamNormalizer norm_;
};

}  // namespace change
