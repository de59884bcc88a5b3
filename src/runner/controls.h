// What another shell can change while a task runs, kept in the state store: the throttle
// limits (`mongoshift throttle`, table throttle_limits, persisted across restarts) and a
// pause request (`mongoshift pause`, table run_controls), plus the running phase, pid and a
// heartbeat that `mongoshift status` reads. The runner polls them about once a second.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "state/state_store.h"
#include "throttle/token_bucket.h"

namespace runner {

// The limits set with `mongoshift throttle` for a phase ("full" or "incremental"), if any.
common::Result<std::optional<throttle::Limits>> load_throttle(state::StateStore& store, const std::string& task_id,
                                                              const std::string& phase);
common::Status save_throttle(state::StateStore& store, const std::string& task_id, const std::string& phase,
                             const throttle::Limits& limits);

struct RunControl {
  std::string phase;
  int64_t pid = 0;
  bool pause_requested = false;
  int64_t heartbeat_at_ms = 0;
};
common::Result<RunControl> load_control(state::StateStore& store, const std::string& task_id);
// Records the phase and this process as the runner (clears a pause request when `start`).
common::Status save_phase(state::StateStore& store, const std::string& task_id, const std::string& phase,
                          bool start = false);
common::Status request_pause(state::StateStore& store, const std::string& task_id);

}  // namespace runner
