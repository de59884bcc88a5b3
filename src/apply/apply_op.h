// What the applier writes: one document-level operation on a destination namespace (CRUD
// after mapping) or a DDL action run alone between barriers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "change/event.h"
#include "common/bson.h"

namespace apply {

struct ApplyOp {
  enum class Kind { kUpsert, kUpdate, kDelete };
  Kind kind = Kind::kUpsert;
  std::string db, coll;           // destination namespace
  common::Bson key;               // {_id: ...}
  common::Bson doc;               // kUpsert: the whole document (replaces by _id, inserts if missing)
  std::vector<common::Bson> updates;  // kUpdate: modifier statements, in order
  bool tolerant = false;          // a missing document or a failed statement is expected
  bool ordered = false;           // keep order with every operation of its namespace (unique index)
  change::OpTime ts;
  uint64_t seq = 0;               // dispatch order (for the checkpoint)

  size_t bytes() const {
    size_t n = sizeof(ApplyOp) + db.size() + coll.size() + key.size() + doc.size();
    for (const auto& u : updates) n += u.size();
    return n;
  }
};

// A TTL index's source value: the destination keeps a neutral value (kNeutralTtlSeconds)
// during the migration so it deletes nothing, and gets this value back when the task
// finalizes (table ttl_indexes).
struct TtlValue {
  std::string target_ns, index_name;
  int64_t expire_after_seconds = 0;
};
constexpr int64_t kNeutralTtlSeconds = 2147483647;

struct DdlAction {
  std::string db;          // where the command runs on the destination
  common::Bson command;
  std::vector<int> tolerated;  // codes that mean "already done" (idempotent replay)
  // A collection renamed into the selection: its options, indexes and documents are copied
  // from the source namespace copy_from into copy_to (after the command, a drop of copy_to).
  bool copy_in = false;
  // A rename inside the selection replayed idempotently: the destination may not hold what the
  // source renamed (the copy ran meanwhile), so the renamed collection is dropped and copied in
  // again from the source instead.
  bool recopy_when_tolerant = false;
  std::string drop_db, drop_coll;  // recopy: the destination collection renamed away
  std::string copy_from_db, copy_from_coll, copy_to_db, copy_to_coll;
  std::vector<TtlValue> ttl;   // TTL values to record before the command runs
};

}  // namespace apply
