// Aggregation pipelines: parsing the stage array and running it as a pull-based chain of
// DocumentSources. Stages that touch other collections ($lookup, $graphLookup, $unionWith,
// $out, $merge, $collStats, $indexStats) reach the database through PipelineHost, which the
// server implements; this module knows nothing about storage. Stages the server owns
// ($changeStream, $currentOp, $listSessions, ...) come from PipelineHost::make_host_stage.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "mql/value.h"

namespace mql {

// A pull-based stream of documents. next() returns nullopt at the end; an error ends the
// stream (callers do not call next() again after one).
class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  virtual common::Result<std::optional<common::Bson>> next() = 0;
};

// A source over documents already in memory.
std::unique_ptr<DocumentSource> make_vector_source(std::vector<common::Bson> docs);

// A stage provided by the server (PipelineHost::make_host_stage), parsed once and opened for
// every run of the pipeline.
class HostStage {
 public:
  virtual ~HostStage() = default;
  // The stage's output when it reads `input` (an empty source when it is the first stage).
  virtual common::Result<std::unique_ptr<DocumentSource>> open(std::unique_ptr<DocumentSource> input) const = 0;
  // Must be the first stage (40602 otherwise): $changeStream, $currentOp, $listSessions...
  virtual bool first_only() const { return false; }
  // Needs no collection (runs under {aggregate: 1}): $currentOp, $listLocalSessions, ...
  virtual bool collectionless() const { return false; }
  // A $changeStream stage: the stages after it must be change-stream compatible ($match,
  // $project, $addFields, $set, $unset, $replaceRoot, $replaceWith, $redact,
  // $changeStreamSplitLargeEvent), else 20 "$group is not permitted in a $changeStream pipeline".
  virtual bool change_stream() const { return false; }
  // May appear inside $facet / $lookup / $unionWith sub-pipelines (the server forbids
  // $changeStream, $currentOp, ... there).
  virtual bool allowed_in_subpipeline() const { return false; }
};

// The target and options of a $merge stage, as parsed.
struct MergeSpec {
  enum class WhenMatched { kReplace, kKeepExisting, kMerge, kFail, kPipeline };
  enum class WhenNotMatched { kInsert, kDiscard, kFail };
  std::string db;
  std::string coll;
  std::vector<std::string> on;  // dotted field names; {"_id"} by default
  WhenMatched when_matched = WhenMatched::kMerge;
  WhenNotMatched when_not_matched = WhenNotMatched::kInsert;
  common::Bson pipeline;  // kPipeline: the update pipeline, as an array document
  bool on_specified = false;  // `on` was given (the host must then find a unique index on it)
};

// What a pipeline needs from the server it runs in. Every method may be called from inside
// DocumentSource::next() of a running pipeline; none is called during parse().
class PipelineHost {
 public:
  virtual ~PipelineHost() = default;

  // All documents of db.coll (a view is resolved by the host), in natural order; an absent
  // collection is an empty source.
  virtual common::Result<std::unique_ptr<DocumentSource>> open_collection(const std::string& db,
                                                                          const std::string& coll) = 0;

  // Documents of db.coll whose `path` equals one of `values` under query equality semantics
  // (as {path: {$in: values}} with each value matched by $eq: array fields match by element,
  // null matches null and missing, strings compare with ctx's collation, regex values match
  // regex values literally). $lookup (localField/foreignField) and $graphLookup call this
  // once per input document / per traversal round, so the host should answer from an index
  // on `path` when there is one. Order is unspecified. The default scans open_collection().
  virtual common::Result<std::unique_ptr<DocumentSource>> find_equal(const std::string& db, const std::string& coll,
                                                                     const std::string& path,
                                                                     const std::vector<Value>& values,
                                                                     const ExpressionContext& ctx);

  // $out: atomically replaces db.coll with `docs` (keeping the old collection's indexes and
  // options; creating the collection when absent). Errors as the server's: DuplicateKey for a
  // unique index violation, 17385 for a system collection, ...
  virtual common::Status replace_collection(const std::string& db, const std::string& coll,
                                            std::vector<common::Bson> docs) = 0;

  // $merge of one document into spec.db/spec.coll. The pipeline has already checked that
  // every `on` field of `doc` is present and not null/undefined/array (51132) and added an _id
  // when `on` is {_id} and the document has none. The host finds the target by the `on`
  // fields (with a unique index covering them when spec.on_specified, else 51183 "Cannot find
  // index to verify that join fields will be unique"), then calls merge_matched() (below) for
  // a match, or applies spec.when_not_matched. `let_values` are the stage's `let` variables
  // evaluated against `doc` (always including `new`), for merge_matched().
  virtual common::Status merge_document(const MergeSpec& spec, const bson_t* doc, const bson_t* let_values,
                                        const ExpressionContext& ctx) = 0;

  // $collStats / $indexStats output documents for db.coll. `spec` is the $collStats
  // argument, already validated (latencyStats, storageStats, count, queryExecStats).
  virtual common::Result<std::vector<common::Bson>> coll_stats(const std::string& db, const std::string& coll,
                                                               const bson_t* spec) = 0;
  virtual common::Result<std::vector<common::Bson>> index_stats(const std::string& db,
                                                                const std::string& coll) = 0;

  // A stage this module does not implement ($changeStream, $changeStreamSplitLargeEvent,
  // $currentOp, $listLocalSessions, $listSessions, $planCacheStats, $search...). `spec` is the
  // stage's argument. Returns nullptr when the host does not know the stage either, which
  // the pipeline reports as 40324 "Unrecognized pipeline stage name"; an error Status is a
  // bad specification. The default knows no stage.
  virtual common::Result<std::unique_ptr<HostStage>> make_host_stage(std::string_view name, const bson_iter_t* spec,
                                                                     const ExpressionContext& ctx);
};

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  // `stages` is the pipeline array. A null `host` parses an update pipeline: only $addFields,
  // $set, $project, $unset, $replaceRoot and $replaceWith (else 72 InvalidOptions "$match is
  // not allowed to be used within an update"). The context is copied: the caller need not
  // keep it.
  // Errors: 40324 unrecognized stage (also stages newer than ctx.version), 40323 stage object
  // with != 1 field, 14 TypeMismatch for a non-object element, 40601 $out/$merge not last,
  // 40602 $collStats/$indexStats/$documents not first, and each stage's own errors.
  static common::Result<std::unique_ptr<Pipeline>> parse(const bson_t* stages, const ExpressionContext& ctx,
                                                         PipelineHost* host);

  // Chains the stages after `input` and returns the output stream. The Pipeline must outlive
  // it. `input` may be null for a collectionless pipeline. Stages that buffer ($group, $sort,
  // $bucketAuto, $facet, $setWindowFields) fail with 292 past 100 MB unless
  // ctx.disk_use_allowed().
  virtual common::Result<std::unique_ptr<DocumentSource>> run(std::unique_ptr<DocumentSource> input) const = 0;

  // Leading $match filter (for index selection by the host), or nullptr. The pipeline applies
  // it anyway, so the host may pre-filter its input with it or not.
  virtual const bson_t* leading_match() const = 0;
  // True when the first stage needs no collection input ($collStats, $indexStats,
  // $documents, or a host stage that says so).
  virtual bool is_collectionless_source() const = 0;
  // True when the last stage is $out or $merge (the cursor returns nothing).
  virtual bool writes_output() const = 0;
  // The server's namespace checks for `aggregate`: {aggregate: 1} (aggregate_one) needs a
  // collectionless first stage and vice versa (73 InvalidNamespace), an empty pipeline is not
  // valid with {aggregate: 1}.
  virtual common::Status check_namespace(bool aggregate_one) const = 0;
};

// Applies a pipeline update (only $addFields/$set/$project/$unset/$replaceRoot/$replaceWith)
// to one document. Used by mql::Update for pipeline-style `u`.
common::Result<common::Bson> apply_update_pipeline(const Pipeline& p, const bson_t* doc);

// $merge whenMatched for one matched target document: returns the document to write in place
// of `existing` (its _id is kept), nullopt for keepExisting, DuplicateKey (11000) for fail.
// `let_values` are the variables merge_document() received (the pipeline form sees them,
// and $$new). The host calls this from merge_document().
common::Result<std::optional<common::Bson>> merge_matched(const MergeSpec& spec, const bson_t* existing,
                                                          const bson_t* incoming, const bson_t* let_values,
                                                          const ExpressionContext& ctx);

}  // namespace mql
