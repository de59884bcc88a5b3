// Progress of a running task, per collection and in total: documents, bytes, percent, rate
// and ETA. The runner builds snapshots from its live counters; `mongoshift status` builds the
// same snapshot from the state store (checkpoints, every 200 ms). Shown as a live display on
// a terminal (redrawn in place) and as JSON lines otherwise.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "state/state_store.h"

namespace monitor {

struct CollectionLine {
  std::string source_ns;
  std::string target_ns;
  std::string state;  // pending, copying, done
  int64_t docs = 0, docs_estimated = 0;
  int64_t bytes = 0, bytes_estimated = 0;
  int64_t skipped = 0;
  int64_t started_at_ms = 0;  // 0: not started
  int64_t finished_at_ms = 0;
};

struct Snapshot {
  std::string task_name;
  std::string task_state;  // state::TaskState name
  std::string phase;       // precheck, schema, full, index_build, incremental, finalize, finished
  std::string detail;      // e.g. the incremental phase's lag, a retry reason
  int64_t now_ms = 0;
  int64_t started_at_ms = 0;
  std::vector<CollectionLine> collections;
};

// Percent of the estimate (a filter or deletes may end below 100; capped at 100).
double percent(int64_t done, int64_t estimated);
// Documents per second since `since_ms` (0 when not started).
double rate(int64_t docs, int64_t since_ms, int64_t now_ms);
// Seconds left at that rate, -1 when unknown.
int64_t eta_seconds(int64_t docs, int64_t estimated, double rate);

nlohmann::ordered_json to_json(const Snapshot& s);
std::string to_text(const Snapshot& s);

// Reads a task's progress from the state store (for `mongoshift status`).
common::Result<Snapshot> read_snapshot(state::StateStore& store, const state::TaskRecord& task);

// Frames of the live display: on a terminal each frame redraws the previous one in place;
// otherwise each is one JSON line.
class Display {
 public:
  explicit Display(bool terminal) : terminal_(terminal) {}
  std::string frame(const Snapshot& s);
  // Text printed after a frame stays: the next frame starts below it.
  std::string frame_break() {
    lines_ = 0;
    return "";
  }

 private:
  bool terminal_;
  int lines_ = 0;
};

}  // namespace monitor
