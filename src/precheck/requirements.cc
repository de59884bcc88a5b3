// The privileges a task needs (mongodb-reference.md §10.4, "Privileges a migration tool
// needs"), as requirement groups checked against the user's privileges.
#include <map>
#include <set>

#include "precheck/precheck.h"
#include "task/names.h"

namespace precheck {

namespace {

using client::Requirement;
using client::RequirementGroup;
using client::Resource;

// Databases the task file names literally in objects.include.
std::set<std::string> literal_source_databases(const task::TaskOptions& o, bool* all_literal) {
  std::set<std::string> dbs;
  *all_literal = !o.objects.include.empty();
  for (const std::string& inc : o.objects.include) {
    task::Namespace ns = task::split_namespace(inc);
    if (ns.db.find_first_of("*?[") != std::string::npos) {
      *all_literal = false;
      continue;
    }
    dbs.insert(ns.db);
  }
  return dbs;
}

Requirement oplog_requirement() {
  return {"tail the oplog (incremental.method: oplog)", {{Resource::ns("local", "oplog.rs"), {"find"}}}};
}

Requirement change_stream_requirement(const std::set<std::string>& dbs, bool whole_cluster) {
  Requirement r{"open change streams (incremental.method: change_stream)", {}};
  if (whole_cluster) {
    r.needs.push_back({Resource::any_normal(), {"changeStream", "find"}});
  } else {
    for (const auto& db : dbs) r.needs.push_back({Resource::database(db), {"changeStream", "find"}});
  }
  return r;
}

}  // namespace

std::vector<RequirementGroup> source_requirements(const task::TaskOptions& o, const task::Plan* plan) {
  std::vector<RequirementGroup> groups;
  groups.push_back({{"list the source's databases", {{Resource::cluster(), {"listDatabases"}}}}});
  std::set<std::string> dbs;
  bool whole_cluster = false;
  if (plan) {
    dbs.insert(plan->databases.begin(), plan->databases.end());
    std::map<std::string, Requirement> per_db;
    for (const auto& obj : plan->objects) {
      Requirement& r = per_db[obj.source.db];
      if (r.purpose.empty()) {
        r.purpose = "read database " + obj.source.db;
        r.needs.push_back({Resource::database(obj.source.db), {"listCollections"}});
      }
      if (!obj.source.is_view()) r.needs.push_back({Resource::ns(obj.source.db, obj.source.name), {"find", "listIndexes"}});
    }
    for (auto& [db, r] : per_db) groups.push_back({std::move(r)});
  } else {
    bool all_literal = false;
    dbs = literal_source_databases(o, &all_literal);
    whole_cluster = !all_literal;
    for (const auto& db : dbs) {
      groups.push_back({{"read database " + db, {{Resource::database(db), {"find", "listCollections", "listIndexes"}}}}});
    }
  }
  if (o.has(task::MigrationType::kIncremental)) {
    // Without a plan the selection is unknown: a cluster-wide stream covers any selection.
    if (!plan && dbs.empty()) whole_cluster = true;
    switch (o.incremental.method) {
      case task::IncrementalMethod::kOplog: groups.push_back({oplog_requirement()}); break;
      case task::IncrementalMethod::kChangeStream: groups.push_back({change_stream_requirement(dbs, whole_cluster)}); break;
      case task::IncrementalMethod::kAuto:
        groups.push_back({oplog_requirement(), change_stream_requirement(dbs, whole_cluster)});
        break;
    }
  }
  return groups;
}

std::vector<RequirementGroup> destination_requirements(const task::TaskOptions& o, const task::Plan* plan) {
  static const std::vector<std::string> kWrite = {"insert",    "update",         "remove",         "find",
                                                  "createCollection", "createIndex", "dropCollection", "dropIndex",
                                                  "collMod",   "listCollections", "listIndexes"};
  std::set<std::string> targets;
  if (plan) {
    for (const auto& obj : plan->objects) targets.insert(obj.target.db);
  } else {
    auto mapper = task::NameMapper::create(o);
    bool all_literal = false;
    for (const auto& db : literal_source_databases(o, &all_literal)) {
      if (mapper.ok()) targets.insert(mapper->map_database(db));
    }
  }
  // The full copy's inserts always carry bypassDocumentValidation (copy/writer.cc: documents the
  // source holds may not satisfy a later or moderate validator), and the server then requires
  // that action on the namespace, validator or not. Nothing else the task sends carries it.
  const bool bypass = o.has(task::MigrationType::kFull);
  std::vector<RequirementGroup> groups;
  for (const auto& db : targets) {
    std::vector<std::string> actions = kWrite;
    if (bypass) actions.push_back("bypassDocumentValidation");
    groups.push_back({{"write database " + db + (bypass ? " (the full copy bypasses document validation)" : ""),
                       {{Resource::database(db), actions}}}});
  }
  return groups;
}

}  // namespace precheck
