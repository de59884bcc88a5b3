// Copying one collection: partitions planned once (sampled split points, or one partition in
// natural order for capped, time-series and clustered collections) and recorded in the state
// store; parallel readers (bounded finds in _id order with min/max and hint) feed raw batches
// through a byte-bounded queue to parallel writers (unordered bulk inserts); a checkpointer
// records each partition's last contiguously written _id every 50 ms. A resumed copy skips
// finished partitions and continues the others after their last written _id.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "client/client.h"
#include "common/bson.h"
#include "copy/copy_store.h"
#include "copy/progress.h"
#include "task/options.h"
#include "throttle/retry.h"
#include "throttle/token_bucket.h"

namespace copy {

struct CollectionSpec {
  std::string src_db, src_coll;
  std::string dst_db, dst_coll;
  std::optional<common::Bson> filter;  // objects.filter for this collection
  bool natural = false;  // one partition read in natural order (capped, time-series)
  bool ordered = false;  // insert in order (capped: keeps insertion order)
  bool clustered = false;
  int64_t count_estimate = 0;
  int64_t bytes_estimate = 0;

  std::string source_ns() const { return src_db + "." + src_coll; }
  std::string target_ns() const { return dst_db + "." + dst_coll; }
};

struct CopySettings {
  task::CopyOptions options;
  task::ConflictMode conflicts = task::ConflictMode::kPrecheckAndReport;
  throttle::RetryWindows retry;
  int64_t queue_bytes = 64 << 20;  // this collection's share of copy.queue_mb
  throttle::RetryObserver on_retry;  // the runner shows "retrying"
};

struct Endpoints {
  client::Pool* source = nullptr;
  client::Pool* destination = nullptr;
};

// Copies the collection (or the rest of it). Returns Interrupted when `stop` was set (the
// progress is checkpointed), DuplicateKey naming the _id under precheck_and_report.
common::Status copy_collection(const Endpoints& ends, CopyStore& store, throttle::Throttle& throttle,
                               const CollectionSpec& spec, const CopySettings& settings, Progress& progress,
                               const std::atomic<bool>& stop);

}  // namespace copy
