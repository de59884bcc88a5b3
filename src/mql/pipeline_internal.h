// Internals shared by the pipeline_*.cc files: parsed stages, the stage registry, the parse
// state of (sub-)pipelines, per-stage memory accounting and document-building helpers.
#pragma once

#include <bson/bson.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "mql/expression.h"
#include "mql/path.h"
#include "mql/pipeline.h"
#include "mql/value.h"

namespace mql::pipe {

using common::Bson;
using common::Result;
using common::Status;
using SourcePtr = std::unique_ptr<DocumentSource>;
using ExprPtr = std::unique_ptr<Expression>;

// internalDocumentSourceGroupMaxMemoryBytes, internalQueryMaxBlockingSortMemoryUsageBytes,
// internalDocumentSourceBucketAutoMaxMemoryBytes, internalDocumentSourceSetWindowFieldsMaxMemoryBytes.
constexpr size_t kStageMemoryLimit = 100 * 1024 * 1024;
// internalQueryFacetMaxOutputDocSizeBytes / internalQueryFacetBufferSizeBytes.
constexpr size_t kFacetMemoryLimit = 100 * 1024 * 1024;
// internalPipelineLengthLimit.
constexpr size_t kMaxPipelineLength = 1000;
// The server's maximum nesting of sub-pipelines ($lookup/$facet/$unionWith), kMaxSubPipelineDepth.
constexpr int kMaxSubPipelineDepth = 20;
// BSONObjMaxUserSize: a document a stage builds must fit in 16 MiB.
constexpr size_t kMaxUserDocSize = 16 * 1024 * 1024;
// BSONObjMaxInternalSize: what a document built inside the server may reach (16 MiB + 16 KiB).
constexpr size_t kMaxInternalDocSize = kMaxUserDocSize + 16 * 1024;

// Where a (sub-)pipeline sits; some stages are refused in some places.
enum class Place { kTop, kFacet, kLookup, kUnionWith, kUpdate };

struct ParseState {
  const ExpressionContext* ctx;
  PipelineHost* host;
  Place place = Place::kTop;
  int depth = 0;  // sub-pipeline nesting
};

// A parsed stage. Immutable; open() builds the running operator of one execution.
class Stage {
 public:
  explicit Stage(std::string name) : name_(std::move(name)) {}
  virtual ~Stage() = default;
  const std::string& name() const { return name_; }

  virtual Result<SourcePtr> open(SourcePtr input) const = 0;
  virtual bool first_only() const { return false; }
  virtual bool last_only() const { return false; }
  // Produces its own documents and ignores the input ($documents, $collStats, $indexStats).
  virtual bool source() const { return false; }
  // Runs without a collection, under {aggregate: 1} ($documents, $currentOp, ...).
  virtual bool independent() const { return false; }
  virtual bool change_stream() const { return false; }
  // One document in, one document out: the only stages pipeline updates accept.
  virtual bool is_transform() const { return false; }
  virtual Result<Bson> transform(const bson_t* doc) const;

 private:
  std::string name_;
};

// Base of one-document-to-one-document stages ($addFields, $project, $replaceRoot, ...).
class TransformStage : public Stage {
 public:
  using Stage::Stage;
  Result<SourcePtr> open(SourcePtr input) const override;
  bool is_transform() const override { return true; }
};

// A parsed (sub-)pipeline: the stages in order, run as a chain.
class StageList {
 public:
  std::vector<std::unique_ptr<Stage>> stages;
  Result<SourcePtr> run(SourcePtr input) const;
};

// Parses a pipeline array (top level or nested) and checks stage positions. `ps.place` and
// `ps.depth` say where it sits.
Result<StageList> parse_stage_list(const bson_t* arr, const ParseState& ps);
// Gives a $sort the limit of an immediately following $limit (top-k sort).
void coalesce_sort_limit(StageList& list);
// Parses the array an iterator points at (sub-pipelines given inline in a stage spec).
Result<StageList> parse_stage_list(const bson_iter_t* arr_it, const ParseState& ps);

// ---- registry -------------------------------------------------------------------------------

using Stages = std::vector<std::unique_ptr<Stage>>;
using StageParser = Result<Stages> (*)(std::string_view name, const bson_iter_t* spec, const ParseState& ps);
struct StageDef {
  std::string_view name;
  int since;  // first ExpressionContext::version with the stage
  StageParser parse;
};
std::vector<StageDef> basic_stages();    // pipeline_basic.cc
std::vector<StageDef> project_stages();  // pipeline_project.cc
std::vector<StageDef> group_stages();    // pipeline_group.cc
std::vector<StageDef> lookup_stages();   // pipeline_lookup.cc
std::vector<StageDef> output_stages();   // pipeline_output.cc
std::vector<StageDef> window_stages();   // pipeline_window.cc
std::vector<StageDef> fill_stages();     // pipeline_fill.cc

template <typename T, typename... A>
Result<Stages> one(A&&... a) {
  Stages s;
  s.push_back(std::make_unique<T>(std::forward<A>(a)...));
  return s;
}

// ---- streaming helpers ----------------------------------------------------------------------

// A source pulling from `input` and mapping each document through `fn`, which returns the
// output document, nullopt to drop it, or an error.
using MapFn = std::function<Result<std::optional<Bson>>(Bson&&)>;
SourcePtr make_map_source(SourcePtr input, MapFn fn);
// A source producing whatever `fn` yields until it returns nullopt.
using GenFn = std::function<Result<std::optional<Bson>>()>;
SourcePtr make_gen_source(GenFn fn);
// A source that fails with `st` on the first next().
SourcePtr make_error_source(Status st);
// A source that, on the first next(), reads all of `input` through `compute` and then yields
// its documents in order (the shape of every blocking stage).
using BlockingFn = std::function<Result<std::vector<Bson>>(DocumentSource& input)>;
SourcePtr make_blocking_source(SourcePtr input, BlockingFn compute);
// Reads `input` to the end.
Result<std::vector<Bson>> drain(DocumentSource& input);

// Counts the bytes a blocking stage holds and fails past its limit when disk use is refused.
class MemoryBudget {
 public:
  MemoryBudget(const ExpressionContext& ctx, size_t limit, std::function<Status()> exceeded)
      : allow_(ctx.disk_use_allowed()), limit_(limit), exceeded_(std::move(exceeded)) {}
  Status add(size_t bytes) {
    used_ += bytes;
    if (used_ > limit_ && !allow_) return exceeded_();
    return Status::OK();
  }
  void release(size_t bytes) { used_ = bytes > used_ ? 0 : used_ - bytes; }
  size_t used() const { return used_; }

 private:
  bool allow_;
  size_t limit_;
  size_t used_ = 0;
  std::function<Status()> exceeded_;
};
// Approximate memory of a held value (bytes plus bookkeeping), as the server's getApproximateSize.
size_t approx_size(const Value& v);
// 292 QueryExceededMemoryLimitNoDiskUseAllowed with the server's sort message.
Status sort_memory_exceeded(size_t limit);

// ---- documents ------------------------------------------------------------------------------

// An output document under construction: fields in order; missing values are dropped when
// the document is built (as the server's Document serializes).
class OutDoc {
 public:
  OutDoc() = default;
  static OutDoc from(const bson_t* doc);
  static OutDoc from(const Value& doc);  // a document Value
  // Sets a top-level field, keeping its position when present.
  void set(std::string_view name, Value v);
  void push(std::string name, Value v) { fields_.emplace_back(std::move(name), std::move(v)); }
  const Value* get(std::string_view name) const;
  Value* get_mut(std::string_view name);
  void remove(std::string_view name);
  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  Bson bson() const;
  Value value() const;

 private:
  std::vector<std::pair<std::string, Value>> fields_;
};

Value make_array(const std::vector<Value>& elems);
std::vector<Value> array_elems(const Value& arr);
Value value_of(const Bson& doc);
// Copies a document Value into a Bson; false when `v` is not a document.
std::optional<Bson> to_bson(const Value& v);
bson_t view(const Value& v);  // of a document or array Value

// Sets `path` (dotted, components validated) in `out` to `v`, creating documents on the way
// and replacing non-documents; a missing `v` removes the field. Arrays on the way are not
// traversed ($unwind/$bucketAuto outputs and includeArrayIndex use it).
void set_path(OutDoc& out, const FieldPath& path, size_t from, Value v);
// Removes `path` (no array traversal).
void remove_path(OutDoc& out, const FieldPath& path, size_t from);

// The server's Value::toString / Document::toString ({a: 1, b: "x"}, [1, 2]) for messages.
std::string value_string(const Value& v);
std::string doc_string(const bson_t* doc);
// The server's typeName ("missing" for EOD).
std::string type_name(bson_type_t t);

// FieldPath validation of a dotted path (40352, 40353, 15998, 16410) with the server's texts.
Status validate_field_path(std::string_view path, const ExpressionContext& ctx);
// "Invalid $project :: caused by :: <msg>" (the server's addContext on stage parse errors).
Status with_stage_context(const Status& st, std::string_view what);

// The IDL parser's type error: "BSON field '<field>' is the wrong type '<t>', expected type '<expected>'".
Status wrong_type(std::string_view field, const bson_iter_t* it, std::string_view expected);
// The same with a list of types: "..., expected types '[int, decimal, double, long]'".
Status wrong_types(std::string_view field, const bson_iter_t* it, std::string_view expected);

// Accessors for stage arguments.
std::string_view key_of(const bson_iter_t* it);
bool sub_doc(const bson_iter_t* it, bson_t* out);  // document or array element → static view
// The numeric value of an element that must be a whole number (the server's
// parseIntegerElementToLong family); nullopt when not numeric / not integral / out of range.
std::optional<int64_t> integral_of(const bson_iter_t* it);

// Time units of window ranges and $densify ("millisecond" ... "year"), and UTC date arithmetic
// with $dateAdd semantics (month ends clamp). Defined in pipeline_window.cc.
enum class TimeUnit { kMillisecond, kSecond, kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear };
Result<TimeUnit> parse_time_unit(std::string_view s);
int64_t unit_ms(TimeUnit u);  // milliseconds of a fixed-length unit; 0 for month, quarter, year
int64_t add_time_units(int64_t ms, TimeUnit u, int64_t n);

// Evaluates `e` against `doc` with fresh variables.
Result<Value> eval(const Expression& e, const bson_t* doc, const ExpressionContext& ctx);

}  // namespace mql::pipe
