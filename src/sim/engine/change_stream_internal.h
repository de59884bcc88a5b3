// Change-stream internals shared by change_stream.cc (stages, cursor) and
// change_stream_event.cc (oplog entry → event documents). Not an interface: see
// change_stream.h.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "sim/engine/doc.h"
#include "sim/engine/oplog.h"
#include "sim/engine/resume_token.h"

namespace sim::engine {

// The parsed $changeStream stage (DocumentSourceChangeStreamSpec) and what it resolves to.
struct ChangeStreamSpec {
  enum class Scope { kCollection, kDatabase, kCluster };
  enum class FullDocument { kDefault, kUpdateLookup, kWhenAvailable, kRequired };
  enum class PreImage { kOff, kWhenAvailable, kRequired };

  Scope scope = Scope::kCollection;
  std::string db, coll;
  mql::ServerVersion version = 70;

  std::optional<ResumeToken> resume_after, start_after;
  std::optional<Timestamp> start_at_operation_time;
  FullDocument full_document = FullDocument::kDefault;
  PreImage full_document_before_change = PreImage::kOff;
  bool all_changes_for_cluster = false;
  bool show_migration_events = false;
  bool show_expanded_events = false;
  bool show_system_events = false;
  bool show_raw_update_description = false;
  bool allow_to_run_on_config_db = false;
  bool allow_to_run_on_system_ns = false;

  // The token events are generated with (ExpressionContext::changeStreamTokenVersion).
  int token_version = 2;
  // resolveResumeTokenFromSpec: startAfter, resumeAfter, or a high-water mark at
  // startAtOperationTime (the current time + 1 when no start was given).
  ResumeToken resume_token;

  bool post_image_requested() const {
    return full_document == FullDocument::kWhenAvailable || full_document == FullDocument::kRequired;
  }
};

// One event on its way out of the $changeStream stage: everything up to stateBeforeChange is
// in `doc`; the image stages add fullDocumentBeforeChange and fullDocument (for updates)
// when the event passes the resume checks.
struct PendingEvent {
  common::Bson doc;
  ResumeTokenData token_data;
  ResumeToken token;
  std::string op_type;
  bool invalidates = false;  // an invalidate event: the stream closes after it

  // For the image stages.
  std::string db, coll;
  std::string uuid;          // 16 raw bytes ("" when none)
  common::Bson document_key;
  common::Bson update_o;     // the update entry's `o` (post-images)
  DocRef pre_image;          // from the oplog record (changeStreamPreAndPostImages)
  std::optional<int64_t> txn_number;
};

bool is_classic_operation_type(std::string_view op_type);

// Transforms one oplog record (a committed applyOps unwound through `chain`, its earlier
// partialTxn entries, oldest first) into events for the stream described by `spec`,
// appending them to `out`. Entries the stream does not watch produce nothing. Errors are
// the transform's (e.g. 6741200 for a $v:1 update on 6.1+).
common::Status transform_oplog_record(const ChangeStreamSpec& spec, const OplogRecord& rec,
                                      const std::vector<OplogRecord>& chain, std::deque<PendingEvent>* out);

// The invalidate event that follows `cause` (a drop, rename or dropDatabase).
common::Result<PendingEvent> make_invalidate_event(const PendingEvent& cause);
// True when `op_type` invalidates a stream of this scope (drop/rename/dropDatabase of a
// collection stream, dropDatabase of a database stream).
bool invalidates_stream(const ChangeStreamSpec& spec, std::string_view op_type);

// The server's Document::toString (`{a: 1, b: "x"}`) for the image-not-found messages.
std::string document_to_string(const bson_t* doc);

}  // namespace sim::engine
