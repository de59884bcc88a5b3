// Writing one batch to the destination: an unordered bulk insert (ordered for capped
// collections, to keep insertion order) of the batch's raw documents, bypassing document
// validation (the source accepted them, possibly before its validator existed or under
// validationLevel moderate); libmongoc splits it
// within the destination's maxWriteBatchSize and message size. Duplicate _id errors are
// counted, never overwritten; any other failure is returned for the retry loop.
#pragma once

#include <cstdint>
#include <string>

#include "client/client.h"
#include "common/status.h"
#include "copy/batch.h"

namespace copy {

struct WriteOutcome {
  int64_t inserted = 0;
  int64_t inserted_bytes = 0;
  int64_t duplicates = 0;
  std::string first_duplicate;  // the first duplicate _id, as relaxed extended JSON
};

common::Result<WriteOutcome> write_batch(client::Connection& c, const std::string& db, const std::string& coll,
                                         const Batch& batch, bool ordered);

}  // namespace copy
