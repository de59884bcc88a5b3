// The incremental phase's rows in the state store (table incremental_state, migration 3):
// the checkpoint (resume point), the tolerance window (idempotent replay up to it), T1, the
// live status for `mongoshift status`, and the cut-over request set by `mongoshift stop`.
// Pause requests live in run_controls (shared with the copy phase); TTL source values in
// ttl_indexes (restored when the task finalizes).
#pragma once

#include <optional>
#include <string>

#include "apply/apply_op.h"
#include "change/event.h"
#include "common/status.h"
#include "state/state_store.h"

namespace apply {

struct Checkpoint {
  std::string method;          // "oplog" or "change_stream": a resume point only fits its reader
  change::ResumePoint position;
  change::OpTime tolerant_until;  // changes up to here are replayed idempotently
  change::OpTime t1;
};

common::Result<std::optional<Checkpoint>> load_checkpoint(state::StateStore& store, const std::string& task_id);
common::Status save_checkpoint(state::StateStore& store, const std::string& task_id, const Checkpoint& c);

struct LiveStatus {
  std::string text;
  int64_t lag_seconds = 0;
  int64_t applied = 0;
  int64_t updated_at_ms = 0;
};
common::Status save_status(state::StateStore& store, const std::string& task_id, const LiveStatus& s);
common::Result<std::optional<LiveStatus>> load_status(state::StateStore& store, const std::string& task_id);

// `mongoshift stop`: asks the running task to cut over (kept until the task finishes).
common::Status request_stop(state::StateStore& store, const std::string& task_id);
common::Result<bool> stop_requested(state::StateStore& store, const std::string& task_id);
// `mongoshift pause` (run_controls.pause_requested, set by runner::request_pause): the phase
// saves its checkpoint and returns, as on an interrupt.
common::Result<bool> pause_requested(state::StateStore& store, const std::string& task_id);

// Limits set at run time for the incremental phase (table throttle_limits, phase
// "incremental"); none when never set.
struct IncrementalLimits {
  int64_t rps = 0, mbps = 0;
};
common::Result<std::optional<IncrementalLimits>> load_limits(state::StateStore& store, const std::string& task_id);

common::Status record_ttl(state::StateStore& store, const std::string& task_id, const TtlValue& v);

}  // namespace apply
