// T0, the start point of incremental replication: the source's newest oplog timestamp, read
// before the first document is copied, and a change-stream resume token opened at that time
// (startAtOperationTime = T0). The full copy captures it and records it in the state store
// whether or not incremental is selected; the incremental phase starts from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "client/client.h"
#include "common/status.h"
#include "state/state_store.h"

namespace change {

struct StartPoint {
  uint32_t t = 0;  // oplog timestamp: seconds
  uint32_t i = 0;  // and increment
  // A change-stream resume token (relaxed extended JSON) positioned at T0, or empty when the
  // source could not open a change stream (the oplog timestamp still defines T0).
  std::string resume_token_json;

  bool empty() const { return t == 0 && i == 0; }
};

// Reads T0 from the source: the ts of the newest local.oplog.rs entry, or, when the oplog
// cannot be read, the operationTime of a command reply. Fails when neither is available
// (a standalone server has no oplog and no cluster time).
common::Result<StartPoint> capture_start_point(client::Connection& source);

// The task's recorded T0 (table start_points): written once, before the copy reads anything;
// a resumed task keeps its first T0.
common::Status save_start_point(state::StateStore& store, const std::string& task_id, const StartPoint& p);
common::Result<std::optional<StartPoint>> load_start_point(state::StateStore& store, const std::string& task_id);

}  // namespace change
