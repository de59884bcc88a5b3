// Aggregation pipelines: parsing the stage array and running it as a pull-based chain of
// DocumentSources. Stages that touch other collections ($lookup, $unionWith, $out, $merge,
// $collStats, $indexStats) reach the database through PipelineHost, which the server
// implements; this module knows nothing about storage.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"

namespace mql {

// A pull-based stream of documents. next() returns nullopt at the end.
class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  virtual common::Result<std::optional<common::Bson>> next() = 0;
};

// A source over documents already in memory.
std::unique_ptr<DocumentSource> make_vector_source(std::vector<common::Bson> docs);


// What a pipeline needs from the server it runs in.
class PipelineHost {
 public:
  virtual ~PipelineHost() = default;
  // All documents of db.coll (a view is resolved by the host), in natural order; an absent
  // collection is an empty source.
  virtual common::Result<std::unique_ptr<DocumentSource>> open_collection(const std::string& db,
                                                                          const std::string& coll) = 0;
  // $out: atomically replaces db.coll with `docs` (keeping the old collection's indexes).
  virtual common::Status replace_collection(const std::string& db, const std::string& coll,
                                            std::vector<common::Bson> docs) = 0;
  // $merge of one document: `on` fields identify the target; whenMatched/whenNotMatched are
  // the stage's raw options (whenMatched may be a pipeline array). Returns DuplicateKey etc.
  virtual common::Status merge_document(const std::string& db, const std::string& coll, const bson_t* doc,
                                        const std::vector<std::string>& on, const bson_value_t* when_matched,
                                        const std::string& when_not_matched, const bson_t* let) = 0;
  // $collStats / $indexStats output documents for db.coll.
  virtual common::Result<std::vector<common::Bson>> coll_stats(const std::string& db, const std::string& coll,
                                                               const bson_t* spec) = 0;
  virtual common::Result<std::vector<common::Bson>> index_stats(const std::string& db,
                                                                const std::string& coll) = 0;
};

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  // `stages` is the pipeline array. `host` may be null for pipelines that never leave the
  // current collection (pipeline updates, $facet sub-pipelines use the parent's host).
  // Errors: 40324 unrecognized stage, 40323 stage object with != 1 field, 14 TypeMismatch,
  // 40601 $out not last, ...
  static common::Result<std::unique_ptr<Pipeline>> parse(const bson_t* stages, const ExpressionContext& ctx,
                                                         PipelineHost* host);

  // Chains the stages after `input` and returns the output stream. The Pipeline must outlive it.
  virtual common::Result<std::unique_ptr<DocumentSource>> run(std::unique_ptr<DocumentSource> input) const = 0;

  // Leading $match filter (for index selection by the host), or nullptr.
  virtual const bson_t* leading_match() const = 0;
  // True when the first stage is $collStats/$indexStats/$documents and needs no collection input.
  virtual bool is_collectionless_source() const = 0;
  // True when the last stage is $out or $merge (the cursor returns nothing).
  virtual bool writes_output() const = 0;
};

// Applies a pipeline update (only $addFields/$set/$project/$unset/$replaceRoot/$replaceWith)
// to one document. Used by mql::Update for pipeline-style `u`.
common::Result<common::Bson> apply_update_pipeline(const Pipeline& p, const bson_t* doc);

}  // namespace mql
