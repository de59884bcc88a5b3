// Mapping of normalized change events onto the destination: object selection, renames,
// capitalization (task::NameMapper) and per-collection filters apply to every change. An
// update of a filtered collection, or one the reader could not express, becomes a fetch of
// the current document from the source: it is upserted when it matches the filter and
// deleted otherwise (moved out of the filter). A rename into the selection copies the
// collection in; a rename out of it drops the destination collection.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apply/apply_op.h"
#include "change/event.h"
#include "mql/context.h"
#include "mql/matcher.h"
#include "task/names.h"
#include "task/options.h"

namespace apply {

struct Mapped {
  enum class What { kSkip, kOps, kFetch, kDdl };
  What what = What::kSkip;
  std::vector<ApplyOp> ops;   // kOps; kFetch: one op naming the key and destination namespace
  std::string fetch_db, fetch_coll;  // kFetch: the source namespace to read the document from
  std::vector<DdlAction> ddl;
};

class Mapper {
 public:
  static common::Result<Mapper> create(const task::TaskOptions& options);
  Mapper(Mapper&&) noexcept = default;

  common::Result<Mapped> map(const change::ChangeEvent& e);

  // A fetched document (or none): upsert when it exists and passes the filter, else delete.
  ApplyOp resolve_fetch(const std::string& source_db, const std::string& source_coll, ApplyOp op,
                        const bson_t* current);

  bool selected(const std::string& db, const std::string& coll) const;
  task::Namespace target(const std::string& db, const std::string& coll) const;

 private:
  Mapper(const task::TaskOptions& options, task::NameMapper names) : options_(&options), names_(std::move(names)) {}
  common::Result<const mql::Matcher*> filter(const std::string& db, const std::string& coll);
  common::Result<Mapped> map_command(const change::ChangeEvent& e);

  const task::TaskOptions* options_;
  task::NameMapper names_;
  std::unique_ptr<mql::ExpressionContext> ctx_ = std::make_unique<mql::ExpressionContext>();  // outlives the matchers
  std::map<std::string, std::unique_ptr<mql::Matcher>> filters_;  // "db.coll" → compiled filter
};

}  // namespace apply
