// The incremental phase: replays every source change from T0 onto the destination until the
// operator cuts over (mongoshift stop) or the process is told to stop (SIGINT/SIGTERM,
// a pause handled by the caller). The data path: a change reader (oplog or change stream,
// src/change) → mapping (selection, renames, filters) → lanes by hash of (target namespace,
// document key) applying batched bulk writes, DDL as a barrier → a checkpoint (the oldest
// change not yet applied) persisted every incremental.checkpoint_seconds and at each barrier.
// Between T0 and T1 (and after a restart, up to the newest position handed to the lanes
// before it) changes are applied idempotently; after that an unexpected missing document is
// an error.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "change/start_point.h"
#include "client/client.h"
#include "common/status.h"
#include "state/state_store.h"
#include "task/options.h"
#include "task/plan.h"

namespace apply {

// What the running phase reports, for `mongoshift status`, the progress display and tests.
struct IncrementalStatus {
  std::string text;            // "incremental, delayed 3 s", "incremental, not delayed", "incremental, retrying: ..."
  int64_t lag_seconds = 0;
  bool retrying = false;
  bool cutting_over = false;   // a stop request is being carried out
  uint32_t applied_t = 0, applied_i = 0;  // newest source optime known applied
  int64_t events_applied = 0;  // change events written to the destination
  int64_t events_skipped = 0;  // not selected, filtered out, no-ops
};

struct IncrementalContext {
  const task::TaskOptions* options = nullptr;
  // The resolved plan of the task (the selection and mapping also come from `options`); may
  // be null, then the selection is evaluated from `options` alone.
  const task::Plan* plan = nullptr;
  client::ConnectSpec source;
  client::ConnectSpec destination;
  state::StateStore* store = nullptr;
  std::string task_id;
  // T0: where replication starts when the task has no checkpoint yet.
  change::StartPoint t0;
  // T1: the source's newest optime when the copy ended; until it, changes are applied
  // idempotently. Unset: the whole phase is idempotent.
  std::optional<change::StartPoint> t1;
  // Set by the caller (signal handler, pause): save the checkpoint and return kInterrupted.
  const std::atomic<bool>* interrupt = nullptr;
  // Called at cut-over once the source is quiet and fully applied, before the final report
  // (the runner restores unique indexes and TTL values here). May be empty.
  std::function<common::Status()> finalize;
  // Called about once a second with the current state. May be empty.
  std::function<void(const IncrementalStatus&)> on_status;
  // Seconds without a source write (and with zero lag) that count as "quiet" at cut-over.
  int quiet_seconds = 3;
};

struct CollectionCount {
  int64_t source = -1;       // documents on the source (-1: not counted)
  int64_t destination = -1;  // documents on the destination
};

struct IncrementalOutcome {
  enum class End { kInterrupted, kCutOver };
  End end = End::kInterrupted;
  uint32_t last_applied_t = 0, last_applied_i = 0;
  std::map<std::string, CollectionCount> counts;  // target namespace → counts (cut-over only)
  std::string report_path;                        // the final report (cut-over only)
};

// Runs until cut-over or interrupt. Fails when a retry window runs out or the resume point
// is no longer on the source (the message says how to restart).
common::Result<IncrementalOutcome> run_incremental(const IncrementalContext& ctx);

}  // namespace apply
