// Reading cursor replies of commands run through client::Connection (find, aggregate,
// getMore): the batch, the cursor id and the postBatchResumeToken; and the small BSON reads
// the readers share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/bson.h"
#include "common/status.h"

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

// The sub-document or array `key` of `doc` as a view (false when absent or of another type).
bool sub_document(const bson_t* doc, const char* key, bson_t* out);

// Calls `fn` on every document of `array` (other elements are skipped); stops at the first
// error. Returns the error, and in *count how many documents were seen.
common::Status for_each_document(const bson_t* array, const std::function<common::Status(const bson_t*)>& fn,
                                 size_t* count);

}  // namespace change
