// Normalized change events: what both change readers (oplog, change stream) produce and the
// applier consumes. Documents stay raw BSON. Updates arrive already converted into update
// statements the destination can run (update_convert.h); DDL arrives as the runnable command
// on the source names (the applier maps the names).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"

namespace change {

// A BSON Timestamp: seconds and increment, ordered as the unsigned 64-bit value.
struct OpTime {
  uint32_t t = 0;
  uint32_t i = 0;
  uint64_t value() const { return (static_cast<uint64_t>(t) << 32) | i; }
  bool empty() const { return t == 0 && i == 0; }
  friend bool operator==(const OpTime& a, const OpTime& b) { return a.value() == b.value(); }
  friend bool operator<(const OpTime& a, const OpTime& b) { return a.value() < b.value(); }
  friend bool operator<=(const OpTime& a, const OpTime& b) { return a.value() <= b.value(); }
  std::string str() const { return "Timestamp(" + std::to_string(t) + ", " + std::to_string(i) + ")"; }
};

enum class EventType {
  kInsert,   // doc: the new document
  kReplace,  // doc: the new document
  kUpdate,   // updates: statements to run in order; empty with needs_fetch
  kDelete,
  kCommand,  // command: create/drop/renameCollection/createIndexes/dropIndexes/collMod/dropDatabase
};
const char* to_string(EventType t);

// Where a reader resumes. Oplog: re-read entries with ts >= `ts` (the entry at `ts` must still
// be on the oplog; re-applying it is harmless). Change stream: resumeAfter `token` when set,
// else startAtOperationTime `ts`.
struct ResumePoint {
  OpTime ts;
  std::string token;
};

struct ChangeEvent {
  EventType type = EventType::kInsert;
  OpTime ts;                  // the commit time (a transaction's operations share it)
  std::string db, coll;       // source namespace (commands: the collection they name, or empty)
  common::Bson key;           // document key {_id: ...} (CRUD)
  common::Bson doc;           // insert / replace
  std::vector<common::Bson> updates;  // update: modifier documents ({$set, $unset, $push})
  // The update cannot be expressed as statements (field names with '.' or '$', ...): the
  // applier fetches the current document from the source instead.
  bool needs_fetch = false;
  common::Bson command;       // kCommand: a runnable command on the source names
  // Where a reader must resume to produce this event again (a transaction's first entry,
  // the token before a change event): the checkpoint is the resume point of the oldest event
  // not yet applied.
  ResumePoint resume;

  size_t bytes() const;       // memory estimate for the byte-bounded queues
};

struct ChangeBatch {
  std::vector<ChangeEvent> events;
  // The position after this batch (for a reader caught up with nothing in flight).
  ResumePoint position;
  bool caught_up = false;  // the reader has seen everything the source had when it answered
};

// The interface the applier needs from a change reader.
class ChangeReader {
 public:
  virtual ~ChangeReader() = default;
  // The next events, waiting up to about a second for new ones. Errors are classified with
  // client::classify; the reader reopens its cursor on the next call after a failure.
  virtual common::Result<ChangeBatch> next_batch() = 0;
  // The position after the last batch returned.
  virtual ResumePoint position() const = 0;
  virtual const char* method() const = 0;  // "oplog" or "change_stream"
};

// The error when the resume point is no longer on the source (oplog rolled over, or
// ChangeStreamHistoryLost): fatal, and the message says how to restart.
common::Status history_lost(const std::string& detail, const OpTime& at);

}  // namespace change
