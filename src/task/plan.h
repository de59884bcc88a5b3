// The resolved plan of a task: every selected source object with its destination name, type,
// size and filter, built from the source catalog and the task's selection and mapping. The
// problems found on the way (a selection that matches nothing, illegal or colliding
// destination names, a view split from its source) are listed with the field they come from.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client/catalog.h"
#include "common/bson.h"
#include "task/names.h"
#include "task/options.h"

namespace task {

struct PlannedObject {
  client::CollectionInfo source;   // db, name, type, options, statistics
  Namespace target;
  std::string target_view_on;      // views: viewOn after mapping (same database as the view)
  std::optional<common::Bson> filter;

  Namespace source_ns() const { return {source.db, source.name}; }
  // "collection", "view", "timeseries", "capped" (a capped collection), "clustered".
  std::string kind() const;
};

struct PlanProblem {
  enum class Kind {
    kSelection,  // selected objects that do not exist, filters on nothing (precheck item objects.exist)
    kName,       // illegal or colliding destination names (precheck item objects.names)
  };
  Kind kind;
  std::string field;    // the task-file field it comes from ("objects.include[1]"), or empty
  std::string message;
};

struct Plan {
  std::vector<PlannedObject> objects;  // in source namespace order
  std::vector<PlanProblem> problems;
  std::vector<std::string> databases;  // source databases with selected objects

  bool ok() const { return problems.empty(); }
  bool has(PlanProblem::Kind k) const;
  int64_t total_size() const;          // bytes of the selected collections (statistics known)
};

// Which source namespaces the task selects (include/exclude; never system databases or
// system.* collections).
bool selected(const TaskOptions& options, const Namespace& ns);
// Could the selection pick any collection of `db`? (Databases to list on the source.)
bool database_selected(const TaskOptions& options, const std::string& db);

// `catalog` is every collection and view of the source databases that database_selected()
// accepts (statistics optional). Problems are collected, never fatal here.
Plan build_plan(const TaskOptions& options, const std::vector<client::CollectionInfo>& catalog);

// Reads the source's catalog (listDatabases — falling back to authorizedDatabases without the
// privilege —, listCollections, collStats, listIndexes on what the task selects) and builds
// the plan. Statistics a server refuses are left unknown; a catalog that cannot be listed is
// an error.
common::Result<Plan> read_plan(client::Connection& source, const TaskOptions& options);

}  // namespace task
