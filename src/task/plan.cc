#include "task/plan.h"

#include <algorithm>
#include <map>
#include <set>

namespace task {

std::string PlannedObject::kind() const {
  if (source.is_view()) return "view";
  if (source.is_timeseries()) return "timeseries";
  if (source.capped()) return "capped";
  if (source.clustered()) return "clustered";
  return "collection";
}

bool Plan::has(PlanProblem::Kind k) const {
  for (const auto& p : problems) {
    if (p.kind == k) return true;
  }
  return false;
}

int64_t Plan::total_size() const {
  int64_t n = 0;
  for (const auto& o : objects) n += o.source.size.value_or(0);
  return n;
}

namespace {

std::vector<NamespacePattern> patterns(const std::vector<std::string>& texts) {
  std::vector<NamespacePattern> out;
  for (const auto& t : texts) {
    auto p = NamespacePattern::parse(t);
    if (p.ok()) out.push_back(std::move(p).value());  // the task file validated them
  }
  return out;
}

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool selected(const TaskOptions& options, const Namespace& ns) {
  if (is_system_database(ns.db) || ns.coll.rfind("system.", 0) == 0) return false;
  bool in = options.objects.include.empty();
  for (const auto& p : patterns(options.objects.include)) in = in || p.matches(ns);
  if (!in) return false;
  for (const auto& p : patterns(options.objects.exclude)) {
    if (p.matches(ns)) return false;
  }
  return true;
}

bool database_selected(const TaskOptions& options, const std::string& db) {
  if (is_system_database(db)) return false;
  if (options.objects.include.empty()) {
    for (const auto& p : patterns(options.objects.exclude)) {
      if (p.matches_database(db)) return false;
    }
    return true;
  }
  for (const auto& p : patterns(options.objects.include)) {
    // A pattern's database part decides whether db can hold a selected collection.
    auto dbonly = NamespacePattern::parse(split_namespace(p.text()).db);
    if (dbonly.ok() && dbonly->matches_database(db)) return true;
  }
  return false;
}

Plan build_plan(const TaskOptions& options, const std::vector<client::CollectionInfo>& catalog) {
  Plan plan;
  auto add = [&plan](PlanProblem::Kind k, std::string field, std::string msg) {
    plan.problems.push_back({k, std::move(field), std::move(msg)});
  };
  auto mapper = NameMapper::create(options);
  if (!mapper.ok()) {
    add(PlanProblem::Kind::kName, "mapping", mapper.status().message());
    return plan;
  }
  // The same mapping without capitalization tells collisions it creates from others.
  TaskOptions as_written = options;
  as_written.capitalization = Capitalization::kSource;
  auto plain_mapper = NameMapper::create(as_written);

  std::set<std::string> dbs;
  for (const client::CollectionInfo& info : catalog) {
    Namespace ns{info.db, info.name};
    if (!selected(options, ns)) continue;
    PlannedObject o;
    o.source = info;
    o.target = mapper->map(ns);
    if (auto it = options.objects.filter.find(ns.full()); it != options.objects.filter.end()) {
      if (info.is_view()) {
        add(PlanProblem::Kind::kSelection, "objects.filter[" + ns.full() + "]",
            ns.full() + " is a view: filters apply to collections");
      } else {
        o.filter = it->second;
      }
    }
    if (info.is_view()) {
      Namespace on = mapper->map({info.db, info.view_on()});
      if (on.db != o.target.db) {
        add(PlanProblem::Kind::kName, "mapping",
            "view " + ns.full() + " maps to " + o.target.full() + " but its source " + info.db + "." + info.view_on() +
                " maps to " + on.full() + ": a view and its source must map to the same database");
      }
      o.target_view_on = on.coll;
    }
    dbs.insert(info.db);
    plan.objects.push_back(std::move(o));
  }
  plan.databases.assign(dbs.begin(), dbs.end());
  std::sort(plan.objects.begin(), plan.objects.end(),
            [](const PlannedObject& a, const PlannedObject& b) { return a.source_ns() < b.source_ns(); });

  // Destination names: legal, not system, collision-free.
  std::map<std::string, std::vector<const PlannedObject*>> by_target;
  std::map<std::string, std::set<std::string>> db_case;  // lowercased → spellings
  for (const PlannedObject& o : plan.objects) {
    const std::string src = o.source_ns().full();
    common::Status st = check_database_name(o.target.db);
    if (st.ok()) st = check_collection_name(o.target.db, o.target.coll);
    if (!st.ok()) {
      add(PlanProblem::Kind::kName, "mapping", src + " → " + o.target.full() + ": " + st.message());
      continue;
    }
    if (is_system_database(o.target.db)) {
      add(PlanProblem::Kind::kName, "mapping", src + " → " + o.target.full() + ": " + o.target.db +
                                                   " is a system database and cannot be written to");
      continue;
    }
    by_target[o.target.full()].push_back(&o);
    db_case[lower_ascii(o.target.db)].insert(o.target.db);
  }
  for (const auto& [target, sources] : by_target) {
    if (sources.size() < 2) continue;
    std::string names;
    bool mergeable = true;
    std::set<std::string> plain_targets;
    for (const PlannedObject* o : sources) {
      names += (names.empty() ? "" : ", ") + o->source_ns().full();
      if (o->source.is_view() || o->source.type != sources[0]->source.type) mergeable = false;
      if (plain_mapper.ok()) plain_targets.insert(plain_mapper->map(o->source_ns()).full());
    }
    std::string cause = plain_targets.size() > 1
                            ? " (capitalization: " + std::string(to_string(options.capitalization)) + " makes them equal)"
                            : "";
    if (!mergeable) {
      add(PlanProblem::Kind::kName, plain_targets.size() > 1 ? "capitalization" : "mapping",
          names + " all map to " + target + cause + ": views and objects of different types cannot be merged");
    } else if (!options.mapping.allow_merge) {
      add(PlanProblem::Kind::kName, plain_targets.size() > 1 ? "capitalization" : "mapping",
          names + " all map to " + target + cause + ": set mapping.allow_merge: true to merge them");
    }
  }
  for (const auto& [lower, spellings] : db_case) {
    if (spellings.size() < 2) continue;
    std::string names;
    for (const auto& s : spellings) names += (names.empty() ? "" : " and ") + s;
    add(PlanProblem::Kind::kName, options.capitalization == Capitalization::kSource ? "mapping" : "capitalization",
        "destination databases " + names +
            " differ only in case: MongoDB refuses such databases side by side (DatabaseDifferCase)");
  }

  // Selections that select nothing.
  auto include = patterns(options.objects.include);
  for (size_t i = 0; i < include.size(); ++i) {
    bool any = false;
    for (const PlannedObject& o : plan.objects) any = any || include[i].matches(o.source_ns());
    if (!any) {
      add(PlanProblem::Kind::kSelection, "objects.include[" + std::to_string(i) + "]",
          "'" + include[i].text() + "' selects nothing on the source" +
              (include[i].has_wildcard() ? "" : " (no such database or collection, or all of it is excluded)"));
    }
  }
  auto is_planned = [&plan](const Namespace& ns) {
    for (const PlannedObject& o : plan.objects) {
      if (ns.coll.empty() ? o.source.db == ns.db : o.source_ns() == ns) return true;
    }
    return false;
  };
  for (size_t i = 0; i < options.mapping.rename.size(); ++i) {
    Namespace from = split_namespace(options.mapping.rename[i].from);
    if (!is_planned(from)) {
      add(PlanProblem::Kind::kSelection, "mapping.rename[" + std::to_string(i) + "].from",
          "'" + from.full() + "' is not a selected object on the source");
    }
  }
  for (const auto& [ns, filter] : options.objects.filter) {
    if (!is_planned(split_namespace(ns))) {
      add(PlanProblem::Kind::kSelection, "objects.filter[" + ns + "]", "'" + ns + "' is not a selected collection on the source");
    }
  }
  if (plan.objects.empty() && !plan.has(PlanProblem::Kind::kSelection)) {
    add(PlanProblem::Kind::kSelection, "objects", "the selection is empty: the source has no selected database or collection");
  }
  return plan;
}

common::Result<Plan> read_plan(client::Connection& source, const TaskOptions& options) {
  auto dbs = client::list_databases(source);
  if (!dbs.ok() && dbs.status().code() == common::kUnauthorized) dbs = client::list_databases(source, true);
  if (!dbs.ok()) return dbs.status().with_context("listDatabases");
  std::vector<client::CollectionInfo> catalog;
  for (const auto& db : *dbs) {
    if (!database_selected(options, db.name)) continue;
    auto colls = client::list_collections(source, db.name);
    if (!colls.ok()) return colls.status().with_context("listCollections on " + db.name);
    for (auto& c : *colls) {
      if (!selected(options, {c.db, c.name})) continue;
      (void)client::read_stats(source, c);    // sizes are estimates: unknown is fine
      (void)client::read_indexes(source, c);  // index features are checked when known
      catalog.push_back(std::move(c));
    }
  }
  return build_plan(options, catalog);
}

}  // namespace task
