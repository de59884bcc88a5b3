// The task runner behind `mongoshift run`: precheck (refusing to start on blocking items) →
// schema (collections, views, indexes before the copy when copy.index_build is before_copy)
// → T0 → full copy (collections in parallel) → index build → incremental (when selected)
// → finalize (TTL values restored) and a report. Every step is idempotent and the copy
// resumes from its checkpoints, so running the same task again after a pause, a failure or
// a kill -9 continues where it stopped. A stop request (SIGINT/SIGTERM, `mongoshift pause`)
// ends the run cleanly with the task paused.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "client/client.h"
#include "common/status.h"
#include "monitor/progress.h"
#include "state/state_store.h"
#include "task/task_file.h"

namespace runner {

struct RunInputs {
  const task::TaskFile* task = nullptr;
  client::ConnectSpec source;
  client::ConnectSpec destination;
  std::string state_dir;  // the poller opens its own connection to the store
  state::StateStore* store = nullptr;
  state::TaskRecord record;
  std::set<std::string> ignored_warnings;
};

struct RunOutput {
  // Called about once a second with the progress (and at each phase change).
  std::function<void(const monitor::Snapshot&)> progress;
  // Phase messages ("schema: 3 collections, 1 view", "T0 = Timestamp(...)").
  std::function<void(const std::string&)> note;
};

struct RunReport {
  enum class End { kFinished, kPaused, kCopied };  // kCopied: full copy done, no incremental selected
  End end = End::kFinished;
  std::map<std::string, int64_t> docs;      // target namespace → documents inserted
  int64_t skipped = 0;                      // _id already on the destination
  int64_t recopied = 0;                     // written again after a resume or retry
  int64_t retries = 0;                      // transient failures retried
  int64_t elapsed_ms = 0;
  std::string t0;                           // Timestamp(t, i)
};

// `stop` is set by the caller's signal handler.
common::Result<RunReport> run_task(const RunInputs& in, const std::atomic<bool>& stop, const RunOutput& out);

}  // namespace runner
