// Change streams (mongodb-reference.md §6): the $changeStream and
// $changeStreamSplitLargeEvent stages and the tailable, awaitData cursor that serves them,
// reading events from the oplog as the server's change-stream pipeline does
// (document_source_change_stream*.cpp): collection, database and cluster streams, every
// event type (expanded DDL events with showExpandedEvents), pre- and post-images, resume
// tokens of the emulated version (v1 on 4.4-6.0, v2 on 7.0+), resumeAfter / startAfter /
// startAtOperationTime, postBatchResumeToken on every batch, invalidation, history-lost and
// too-large-event errors.
//
// aggregate.cc calls these hooks: check_change_stream_request before parsing, the stage
// factory from its PipelineHost::make_host_stage, and make_change_stream_cursor when the
// parsed pipeline turned out to be a change stream.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "mql/pipeline.h"
#include "sim/command.h"
#include "sim/engine/cursor.h"

namespace sim::engine {

class EngineImpl;

// What a change-stream pipeline's stages and its cursor share (opaque outside
// change_stream*.cc).
struct ChangeStreamState;

// The server's checks on a change-stream aggregate that run before its pipeline is parsed
// (run_aggregate): not inside a transaction (263), read concern absent or "majority" (72),
// not on a view (166), $changeStreamSplitLargeEvent last (7182802). OK for other pipelines.
common::Status check_change_stream_request(EngineImpl& e, const CommandContext& c, const std::string& db,
                                           const std::string& coll, const bson_t* pipeline);

// PipelineHost::make_host_stage for "$changeStream" and "$changeStreamSplitLargeEvent"
// (nullptr for any other name). `state` is the host's slot for the stream's shared state:
// $changeStream fills it, the split stage reads it.
common::Result<std::unique_ptr<mql::HostStage>> make_change_stream_stage(EngineImpl& e, std::string_view name,
                                                                          const bson_iter_t* spec,
                                                                          const mql::ExpressionContext& ctx,
                                                                          std::shared_ptr<ChangeStreamState>* state);

// The cursor over a change-stream pipeline's output `out`. `keep_alive` owns what `out`
// refers to (pipeline, host) and is released after it. Reads `$_generateV2ResumeTokens` and
// the start time from the request (6528200 for an invalid one).
common::Result<std::unique_ptr<CursorSource>> make_change_stream_cursor(EngineImpl& e, const CommandContext& c,
                                                                        std::shared_ptr<ChangeStreamState> state,
                                                                        std::unique_ptr<mql::DocumentSource> out,
                                                                        std::shared_ptr<void> keep_alive);

bool is_change_stream_cursor(const CursorSource* source);

}  // namespace sim::engine
