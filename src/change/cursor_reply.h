// Reading cursor replies of commands run through client::Connection (find, aggregate,
// getMore): the batch, the cursor id and the postBatchResumeToken.
#pragma once

#include <cstdint>
#include <string>

#include "common/bson.h"

namespace change {

struct CursorReply {
  int64_t id = 0;
  bson_t batch;          // firstBatch or nextBatch (a view into the reply), empty when absent
  std::string pbrt_json;  // cursor.postBatchResumeToken as JSON, or empty
};

// `reply` must outlive the result.
CursorReply parse_cursor_reply(const common::Bson& reply);

// {getMore: id, collection: coll, batchSize: n, maxTimeMS: ms}.
common::Bson get_more_command(int64_t id, const std::string& coll, int batch_size, int max_time_ms);

}  // namespace change
