// The precheck items. Connectivity runs first on both sides at once; the catalog of each
// side is read once; every item then looks at what was gathered, and only items that need
// more (oplog bounds, document scans, dbStats) ask the servers again.
#include "precheck/precheck.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>

#include "client/catalog.h"
#include "task/endpoint.h"
#include "task/names.h"

namespace precheck {

const char* to_string(Level l) { return l == Level::kError ? "error" : "warning"; }
const char* to_string(Status s) {
  switch (s) {
    case Status::kPassed: return "passed";
    case Status::kFailed: return "failed";
    case Status::kWarning: return "warning";
  }
  return "?";
}

const std::vector<ItemInfo>& item_catalog() {
  static const std::vector<ItemInfo> items = {
      {"source.connectivity", "Source reachable, TLS, authentication"},
      {"destination.connectivity", "Destination reachable, TLS, authentication"},
      {"source.version", "Source version supported"},
      {"destination.version", "Destination version supported"},
      {"destination.version_order", "Destination not older than the source"},
      {"source.topology", "Source topology fits the migration types"},
      {"destination.topology", "Destination topology as declared"},
      {"source.oplog_window", "Oplog window covers twice the estimated copy time"},
      {"source.privileges", "Source privileges"},
      {"destination.privileges", "Destination privileges"},
      {"objects.exist", "Selected objects exist; no system database selected"},
      {"objects.names", "Destination names legal and collision-free"},
      {"destination.conflicts", "Destination collections do not already hold data"},
      {"destination.objects_exist", "Destination objects exist (without schema migration)"},
      {"destination.free_space", "Destination free storage at least 110% of the source data"},
      {"destination.features", "Destination version supports the selected objects"},
      {"destination.index_features", "Index behaviours the destination version lacks"},
      {"source.large_documents", "No documents near the 16 MB limit"},
      {"source.id_types", "One _id type per collection"},
      {"source.sharding", "Sharded source: balancer off, orphans"},
      {"destination.sharding", "Sharded destination: shard keys"},
      {"hosts.clock_skew", "Clock skew between the hosts"},
      {"source.writes_during_copy", "Writes stopped during a migration without incremental"},
      {"task.transforms", "Every configured transform (etl) can be applied"},
  };
  return items;
}

bool known_item(const std::string& id) {
  for (const auto& i : item_catalog()) {
    if (i.id == id) return true;
  }
  return false;
}

Level item_level(const std::string& id, const task::TaskOptions& o) {
  static const std::set<std::string> warnings = {
      "destination.version_order", "source.oplog_window",   "destination.free_space", "destination.index_features",
      "source.large_documents",    "source.id_types",       "source.sharding",        "destination.sharding",
      "hosts.clock_skew",          "source.writes_during_copy"};
  if (id == "destination.conflicts") {
    return o.conflict_mode == task::ConflictMode::kIgnoreAndProceed ? Level::kWarning : Level::kError;
  }
  return warnings.count(id) ? Level::kWarning : Level::kError;
}

bool Report::blocked() const {
  for (const Item& i : items) {
    if (i.status == Status::kFailed) return true;
    if (i.status == Status::kWarning && !i.ignored) return true;
  }
  return false;
}

const Item* Report::find(const std::string& id) const {
  for (const Item& i : items) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

namespace {

using client::Connection;
using client::Topology;

std::string join(const std::vector<std::string>& parts, const std::string& sep, size_t max = 8) {
  std::string out;
  for (size_t i = 0; i < parts.size() && i < max; ++i) out += (i ? sep : "") + parts[i];
  if (parts.size() > max) out += sep + "and " + std::to_string(parts.size() - max) + " more";
  return out;
}

std::string plural(size_t n, const std::string& what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

std::string mib(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  }
  return buf;
}

std::string duration(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds / 3600) + " h";
}

std::optional<int64_t> number(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it)) return std::nullopt;
  return bson_iter_as_int64(&it);
}

// The canonical type bracket of a value (mongodb-reference.md §7.2): numbers compare
// together, strings and symbols too.
int type_bracket(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return 10;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return 15;
    default: return static_cast<int>(bson_iter_type(it)) + 100;
  }
}

std::string fix_for(client::Failure f, const std::string& side) {
  using client::Failure;
  switch (f) {
    case Failure::kResolution: return "check the host name in " + side + ".uri / " + side + ".host and the DNS";
    case Failure::kRefused: return "start the server, or correct the port";
    case Failure::kTimeout:
      return "allow this machine's address through the firewall / IP allowlist of the " + side + ", or raise " + side +
             ".connect_timeout_seconds";
    case Failure::kUnreachable: return "check the network route to the " + side;
    case Failure::kTlsRequired: return "set " + side + ".tls.enabled: true (and " + side + ".tls.ca_file)";
    case Failure::kTlsNotOffered: return "turn TLS off for this endpoint (" + side + ".tls.enabled: false) or enable it on the server";
    case Failure::kCertificate:
      return "set " + side + ".tls.ca_file to the CA that signed the server certificate (or allow_invalid_hostnames)";
    case Failure::kClientCertificate: return "set " + side + ".tls.cert_key_file to a client certificate the server trusts";
    case Failure::kAuthentication: return "check " + side + ".user, " + side + ".auth_db and the password";
    case Failure::kNotAuthorized: return "configure a user for the " + side + " (" + side + ".user and its password)";
    default: return "check the " + side + " connection settings";
  }
}

// What the source catalog and the destination look like, read once.
struct Gathered {
  bool source_ok = false, destination_ok = false;
  std::string source_catalog_error;
  std::vector<client::DatabaseInfo> destination_dbs;
  std::string destination_catalog_error;
  std::map<std::string, client::CollectionInfo> destination_colls;  // "db.coll" → info (target dbs only)
  std::map<std::string, int64_t> destination_counts;
};

class Runner {
 public:
  Runner(const task::TaskFile& task, const std::set<std::string>& ignored)
      : task_(task), o_(task.options), ignored_(ignored) {}

  Report run() {
    auto src_spec = task::connect_spec(o_.source);
    auto dst_spec = task::connect_spec(o_.destination);
    if (!src_spec.ok() || !dst_spec.ok()) {
      // The task file was validated; only a password that vanished since can fail here.
      if (!src_spec.ok()) report_.source.message = "source: " + src_spec.status().message();
      if (!dst_spec.ok()) report_.destination.message = "destination: " + dst_spec.status().message();
    }
    auto fs = std::async(std::launch::async, [&] {
      return src_spec.ok() ? client::test_connectivity(*src_spec) : failed_report(report_.source.message);
    });
    auto fd = std::async(std::launch::async, [&] {
      return dst_spec.ok() ? client::test_connectivity(*dst_spec) : failed_report(report_.destination.message);
    });
    report_.source = fs.get();
    report_.destination = fd.get();
    g_.source_ok = report_.source.ok();
    g_.destination_ok = report_.destination.ok();
    connectivity_item("source", report_.source);
    connectivity_item("destination", report_.destination);

    if (g_.source_ok) {
      auto c = Connection::open(*src_spec);
      if (c.ok()) source_ = std::make_unique<Connection>(std::move(c).value());
      read_source_catalog();
    }
    if (g_.destination_ok) {
      auto c = Connection::open(*dst_spec);
      if (c.ok()) destination_ = std::make_unique<Connection>(std::move(c).value());
      read_destination_catalog();
    }

    versions();
    topology();
    oplog_window();
    privileges();
    objects();
    conflicts();
    free_space();
    features();
    documents();
    sharding();
    clock_skew();
    writes_during_copy();
    transforms();
    std::stable_sort(report_.items.begin(), report_.items.end(), [](const Item& a, const Item& b) {
      return position(a.id) < position(b.id);
    });
    return std::move(report_);
  }

 private:
  static size_t position(const std::string& id) {
    const auto& cat = item_catalog();
    for (size_t i = 0; i < cat.size(); ++i) {
      if (cat[i].id == id) return i;
    }
    return cat.size();
  }
  static client::ConnectivityReport failed_report(const std::string& msg) {
    client::ConnectivityReport r;
    r.failure = client::Failure::kOther;
    r.message = msg;
    return r;
  }

  // Adds an item; a warning-level failure becomes status warning.
  void add(const std::string& id, bool ok, std::string detail, std::string fix = "") {
    Item it;
    it.id = id;
    for (const auto& c : item_catalog()) {
      if (c.id == id) it.title = c.title;
    }
    it.level = item_level(id, o_);
    it.status = ok ? Status::kPassed : (it.level == Level::kError ? Status::kFailed : Status::kWarning);
    it.detail = std::move(detail);
    if (!ok) it.fix = std::move(fix);
    it.ignored = it.status == Status::kWarning && ignored_.count(id) > 0;
    report_.items.push_back(std::move(it));
  }
  void not_checked(const std::string& id, const std::string& why) {
    add(id, false, "not checked: " + why, "");
  }
  bool need_source(const std::string& id) {
    if (g_.source_ok && source_) return true;
    not_checked(id, "the source is not reachable");
    return false;
  }
  bool need_destination(const std::string& id) {
    if (g_.destination_ok && destination_) return true;
    not_checked(id, "the destination is not reachable");
    return false;
  }
  bool need_catalog(const std::string& id) {
    if (!need_source(id)) return false;
    if (g_.source_catalog_error.empty()) return true;
    not_checked(id, "the source catalog could not be read (" + g_.source_catalog_error + ")");
    return false;
  }

  void connectivity_item(const std::string& side, const client::ConnectivityReport& r) {
    if (r.ok()) {
      std::string detail;
      for (const auto& s : r.steps) {
        if (s.name == "tcp" || s.name == "tls" || s.name == "authentication") {
          detail += (detail.empty() ? "" : "; ") + s.name + ": " + s.detail;
        }
      }
      add(side + ".connectivity", true, detail);
    } else {
      add(side + ".connectivity", false, r.message, fix_for(r.failure, side));
    }
  }

  void read_source_catalog() {
    if (!source_) {
      g_.source_catalog_error = "cannot open a connection";
      return;
    }
    auto plan = task::read_plan(*source_, o_);
    if (!plan.ok()) {
      g_.source_catalog_error = plan.status().message();
      return;
    }
    report_.plan = std::move(plan).value();
  }

  void read_destination_catalog() {
    if (!destination_) {
      g_.destination_catalog_error = "cannot open a connection";
      return;
    }
    auto dbs = client::list_databases(*destination_);
    if (!dbs.ok() && dbs.status().code() == common::kUnauthorized) dbs = client::list_databases(*destination_, true);
    if (!dbs.ok()) {
      g_.destination_catalog_error = "listDatabases: " + dbs.status().message();
      return;
    }
    g_.destination_dbs = *dbs;
    std::set<std::string> targets;
    for (const auto& o : report_.plan.objects) targets.insert(o.target.db);
    for (const auto& db : targets) {
      auto colls = client::list_collections(*destination_, db);
      if (!colls.ok()) {
        g_.destination_catalog_error = "listCollections on " + db + ": " + colls.status().message();
        return;
      }
      for (auto& c : *colls) {
        if (!c.is_view()) {
          auto n = client::estimated_count(*destination_, c.db, c.name);
          if (n.ok()) g_.destination_counts[c.full_name()] = *n;
        }
        g_.destination_colls[c.full_name()] = std::move(c);
      }
    }
  }

  // ---- items --------------------------------------------------------------------------

  void versions() {
    auto check = [&](const std::string& side, const client::ConnectivityReport& r) {
      std::string id = side + ".version";
      if (!r.ok()) return not_checked(id, "the " + side + " is not reachable");
      int v = client::version_number(r.server.version_array);
      bool ok = v >= kMinVersion && v <= kMaxVersion;
      add(id, ok, "MongoDB " + r.server.version,
          "use a " + side + " running MongoDB 4.4 to 8.0 (" + r.server.version + " is not supported)");
    };
    check("source", report_.source);
    check("destination", report_.destination);
    if (!report_.source.ok() || !report_.destination.ok()) {
      return not_checked("destination.version_order", "both sides must be reachable");
    }
    int s = client::version_number(report_.source.server.version_array);
    int d = client::version_number(report_.destination.server.version_array);
    add("destination.version_order", d >= s,
        "source " + report_.source.server.version + ", destination " + report_.destination.server.version,
        "verify that the applications work with the older destination release, or upgrade the destination; objects "
        "and options newer than " + report_.destination.server.version + " are listed under destination.features");
  }

  static const char* architecture_of(Topology t) {
    switch (t) {
      case Topology::kReplicaSet: return "replica_set";
      case Topology::kSharded: return "sharded";
      case Topology::kStandalone: return "standalone";
      default: return "unknown";
    }
  }

  void topology() {
    const auto& s = report_.source;
    if (!s.ok()) {
      not_checked("source.topology", "the source is not reachable");
    } else {
      std::vector<std::string> problems, fixes;
      Topology t = s.server.topology;
      if (o_.source.architecture != task::Architecture::kAuto &&
          std::string(task::to_string(o_.source.architecture)) != architecture_of(t)) {
        problems.push_back(std::string("source.architecture is ") + task::to_string(o_.source.architecture) +
                           " but the source is " + architecture_of(t));
        fixes.push_back(std::string("set source.architecture: ") + architecture_of(t));
      }
      if (o_.has(task::MigrationType::kIncremental) && t == Topology::kStandalone) {
        problems.push_back("the source is a standalone server: it has no oplog and no change streams, so incremental "
                           "migration is impossible (full migration only)");
        fixes.push_back("remove incremental from migration_types (and stop writes during the copy), or migrate from "
                        "a replica set");
      }
      if (o_.has(task::MigrationType::kIncremental) && t == Topology::kSharded &&
          o_.incremental.method == task::IncrementalMethod::kOplog) {
        problems.push_back("incremental.method oplog reads one oplog, and a sharded source has one per shard");
        fixes.push_back("set incremental.method: change_stream (or auto)");
      }
      std::string what = std::string(architecture_of(t)) +
                         (s.server.set_name.empty() ? "" : " " + s.server.set_name);
      add("source.topology", problems.empty(), problems.empty() ? what : join(problems, "; "), join(fixes, "; "));
    }
    const auto& d = report_.destination;
    if (!d.ok()) return not_checked("destination.topology", "the destination is not reachable");
    Topology t = d.server.topology;
    bool ok = o_.destination.architecture == task::Architecture::kAuto ||
              std::string(task::to_string(o_.destination.architecture)) == architecture_of(t);
    add("destination.topology", ok,
        ok ? std::string(architecture_of(t)) + (d.server.set_name.empty() ? "" : " " + d.server.set_name)
           : std::string("destination.architecture is ") + task::to_string(o_.destination.architecture) +
                 " but the destination is " + architecture_of(t),
        std::string("set destination.architecture: ") + architecture_of(t) + " or connect to the intended destination");
  }

  int64_t copy_rate_bytes() const {
    int64_t mbps = o_.precheck.assumed_copy_mbps;
    if (o_.throttle.full.mbps > 0) mbps = std::min(mbps, o_.throttle.full.mbps);
    return mbps * 1024 * 1024;
  }

  // The oplog's first and last timestamps (seconds).
  common::Result<std::pair<uint32_t, uint32_t>> oplog_bounds() {
    uint32_t bounds[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      // $natural order is insertion order: the oldest and the newest entry.
      auto doc = client::find_edge(*source_, "local", "oplog.rs", "$natural", i == 1, "ts");
      if (!doc.ok()) return doc.status();
      if (!*doc) return common::Status(common::kNoSuchKey, "local.oplog.rs is empty");
      bson_iter_t it;
      if (!bson_iter_init_find(&it, (**doc).get(), "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&it)) {
        return common::Status(common::kNoSuchKey, "an oplog entry has no ts");
      }
      uint32_t t, inc;
      bson_iter_timestamp(&it, &t, &inc);
      bounds[i] = t;
    }
    return std::make_pair(bounds[0], bounds[1]);
  }

  void oplog_window() {
    const std::string id = "source.oplog_window";
    if (!o_.has(task::MigrationType::kIncremental)) return add(id, true, "no incremental migration: not needed");
    if (!need_catalog(id)) return;
    if (report_.source.server.topology == Topology::kStandalone) return not_checked(id, "the source has no oplog");
    int64_t size = report_.plan.total_size();
    int64_t rate = std::max<int64_t>(1, copy_rate_bytes());
    int64_t copy_s = std::max<int64_t>(1, (size + rate - 1) / rate);
    std::string estimate = "estimated copy " + duration(copy_s) + " (" + mib(size) + " at " +
                           std::to_string(copy_rate_bytes() / (1024 * 1024)) + " MiB/s)";
    if (report_.source.server.topology == Topology::kSharded) {
      return add(id, false, estimate + "; the oplog window of a sharded source is per shard and cannot be read through mongos",
                 "check that every shard's oplog covers twice the estimated copy time (rs.printReplicationInfo() on each shard)");
    }
    auto bounds = oplog_bounds();
    if (!bounds.ok()) {
      bool empty = bounds.status().code() == common::kNoSuchKey;
      return add(id, false, estimate + "; the oplog window could not be measured: " + bounds.status().message(),
                 empty ? "check the oplog's size and window on the source (rs.printReplicationInfo()); it holds no "
                         "history yet"
                       : "grant read on local.oplog.rs to measure it, or check rs.printReplicationInfo() by hand");
    }
    int64_t window = static_cast<int64_t>(bounds->second) - static_cast<int64_t>(bounds->first);
    // An oplog that has not filled up yet keeps its history until it does: project the
    // window at its maximum size from the rate seen so far.
    int64_t projected = window;
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&cmd, "collStats", "oplog.rs");
    auto stats = source_->run("local", &cmd);
    bson_destroy(&cmd);
    std::string growth;
    if (stats.ok()) {
      auto used = number(stats->get(), "size");
      auto max = number(stats->get(), "maxSize");
      if (used && max && *used > 0 && *max > *used) {
        // Entries of less than a second still took up to a second to write.
        projected = std::max<int64_t>(window, 1) * *max / *used;
        growth = " (" + duration(projected) + " when full at " + mib(*max) + ")";
      }
    }
    bool ok = projected >= 2 * copy_s;
    add(id, ok, "oplog window " + duration(window) + growth + ", " + estimate,
        "enlarge the source oplog (replSetResizeOplog) or set storage.oplogMinRetentionHours to at least " +
            std::to_string((2 * copy_s + 3599) / 3600) + " h, or copy faster (throttle.full.mbps)");
  }

  void privileges() {
    auto check = [&](const std::string& side, const client::ConnectivityReport& r,
                     const std::vector<client::RequirementGroup>& groups) {
      std::string id = side + ".privileges";
      if (!r.ok() || !r.privileges) return not_checked(id, "the " + side + " is not reachable");
      std::vector<std::string> unmet;
      for (const auto& group : groups) {
        std::vector<std::string> best;
        std::string purpose;
        bool met = false;
        for (const auto& req : group) {
          auto missing = r.privileges->missing(req);
          if (missing.empty()) {
            met = true;
            break;
          }
          if (best.empty()) best = missing, purpose = req.purpose;
        }
        if (!met) unmet.push_back(join(best, ", ", 4) + " (to " + purpose + ")");
      }
      std::string who = r.privileges->is_unrestricted() ? "access control is off"
                        : r.privileges->users().empty() ? "no user"
                                                        : "user " + r.privileges->users()[0];
      std::string roles = join(r.privileges->roles(), ", ");
      add(id, unmet.empty(), unmet.empty() ? who + (roles.empty() ? "" : ", roles " + roles) : who + " lacks " + join(unmet, "; "),
          side == "source" ? "grant readAnyDatabase (listDatabases and read on every selected database) and, for "
                             "incremental migration, read on local (clusterMonitor or backup) or changeStream"
                           : "grant readWriteAnyDatabase and dbAdminAnyDatabase (or restore, or root) on the destination");
    };
    bool have_plan = g_.source_ok && g_.source_catalog_error.empty();
    check("source", report_.source, source_requirements(o_, have_plan ? &report_.plan : nullptr));
    check("destination", report_.destination, destination_requirements(o_, have_plan ? &report_.plan : nullptr));
  }

  std::vector<std::string> problems_of(task::PlanProblem::Kind k) const {
    std::vector<std::string> out;
    for (const auto& p : report_.plan.problems) {
      if (p.kind == k) out.push_back(p.field.empty() ? p.message : task_.where(p.field) + ": " + p.message);
    }
    return out;
  }

  void objects() {
    if (need_catalog("objects.exist")) {
      auto missing = problems_of(task::PlanProblem::Kind::kSelection);
      add("objects.exist", missing.empty(),
          missing.empty() ? plural(report_.plan.objects.size(), "object") + " selected in " +
                                plural(report_.plan.databases.size(), "database")
                          : join(missing, "; "),
          "correct objects.include / objects.filter / mapping.rename to name objects that exist on the source");
    }
    if (!need_catalog("objects.names")) return;
    auto names = problems_of(task::PlanProblem::Kind::kName);
    if (g_.destination_ok && g_.destination_catalog_error.empty()) {
      // MongoDB refuses a database whose name differs only in case from an existing one.
      std::set<std::string> targets;
      for (const auto& o : report_.plan.objects) targets.insert(o.target.db);
      for (const auto& t : targets) {
        for (const auto& d : g_.destination_dbs) {
          if (d.name != t && strcasecmp(d.name.c_str(), t.c_str()) == 0) {
            names.push_back("destination database " + t + " differs only in case from the existing " + d.name +
                            " (MongoDB refuses it: DatabaseDifferCase)");
          }
        }
      }
    }
    add("objects.names", names.empty(),
        names.empty() ? "every destination name is legal and unique" : join(names, "; "),
        "rename the objects (mapping.rename / mapping.rules), change capitalization, or set mapping.allow_merge: true");
  }

  void conflicts() {
    for (const char* id : {"destination.conflicts", "destination.objects_exist"}) {
      if (!need_catalog(id) || !need_destination(id)) continue;
      if (!g_.destination_catalog_error.empty()) {
        not_checked(id, "the destination catalog could not be read (" + g_.destination_catalog_error + ")");
        continue;
      }
      if (std::string(id) == "destination.conflicts") {
        std::vector<std::string> busy, empty;
        for (const auto& o : report_.plan.objects) {
          auto it = g_.destination_colls.find(o.target.full());
          if (it == g_.destination_colls.end()) continue;
          if (it->second.is_view() || o.source.is_view()) {
            busy.push_back(o.target.full() + " exists (" + it->second.type + ")");
            continue;
          }
          int64_t n = g_.destination_counts.count(o.target.full()) ? g_.destination_counts[o.target.full()] : 0;
          std::string docs = n > 0 ? " (" + plural(static_cast<size_t>(n), "document") + ")" : "";
          (n > 0 ? busy : empty).push_back(o.target.full() + docs);
        }
        bool report_mode = o_.conflict_mode == task::ConflictMode::kPrecheckAndReport;
        std::string detail = busy.empty() ? "no destination collection holds data"
                                          : "destination objects already exist: " + join(busy, ", ");
        if (!empty.empty()) detail += "; existing but empty: " + join(empty, ", ");
        add(id, busy.empty(), detail,
            report_mode ? "empty or drop them on the destination, rename the targets (mapping), or set conflict_mode: "
                          "ignore_and_proceed (documents with an existing _id are then skipped in the full copy)"
                        : "with ignore_and_proceed, documents whose _id exists on the destination are skipped during "
                          "the full copy and the destination keeps its copy; ignore this warning to accept it");
      } else {
        if (o_.has(task::MigrationType::kSchema)) {
          add(id, true, "schema migration creates the destination objects");
          continue;
        }
        std::vector<std::string> missing;
        for (const auto& o : report_.plan.objects) {
          if (!g_.destination_colls.count(o.target.full())) missing.push_back(o.target.full());
        }
        add(id, missing.empty(),
            missing.empty() ? "every destination object exists" : "missing on the destination: " + join(missing, ", "),
            "create them on the destination (with their options and indexes), or add schema to migration_types");
      }
    }
  }

  void free_space() {
    const std::string id = "destination.free_space";
    if (!need_catalog(id) || !need_destination(id)) return;
    int64_t need = report_.plan.total_size() * 11 / 10;
    std::string db = report_.plan.objects.empty() ? "admin" : report_.plan.objects[0].target.db;
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "dbStats", 1);
    auto reply = destination_->run(db, &cmd);
    bson_destroy(&cmd);
    if (!reply.ok()) {
      return add(id, false, "dbStats failed on the destination: " + reply.status().message(),
                 "check by hand that the destination has " + mib(need) + " free");
    }
    auto total = number(reply->get(), "fsTotalSize");
    auto used = number(reply->get(), "fsUsedSize");
    if (!total || !used) {
      return add(id, false, "the destination did not report its free space (dbStats has no fsTotalSize/fsUsedSize)",
                 "check by hand that the destination has " + mib(need) + " free");
    }
    int64_t free = *total - *used;
    add(id, free >= need, mib(free) + " free of " + mib(*total) + "; the selected source data is " +
                              mib(report_.plan.total_size()) + " (110% = " + mib(need) + ")",
        "add storage to the destination: it needs at least " + mib(need) + " free");
  }

  void features() {
    for (const char* id : {"destination.features", "destination.index_features"}) {
      if (!need_catalog(id)) continue;
      if (!report_.destination.ok()) {
        not_checked(id, "the destination is not reachable");
        continue;
      }
      int d = client::version_number(report_.destination.server.version_array);
      std::string dv = report_.destination.server.version;
      std::vector<std::string> found;
      for (const auto& o : report_.plan.objects) {
        const std::string ns = o.source_ns().full();
        const bson_t* opts = o.source.options.get();
        bson_iter_t it;
        if (std::string(id) == "destination.features") {
          if (o.source.is_timeseries() && d < 50) found.push_back(ns + " is a time-series collection (needs 5.0)");
          if (o.source.clustered() && d < 53) found.push_back(ns + " is a clustered collection (needs 5.3)");
          if (bson_iter_init_find(&it, opts, "changeStreamPreAndPostImages") && d < 60) {
            found.push_back(ns + " has changeStreamPreAndPostImages (needs 6.0)");
          }
          if (bson_iter_init_find(&it, opts, "encryptedFields")) {
            found.push_back(ns + " uses Queryable Encryption (encryptedFields), which cannot be copied as data");
          }
          for (const auto& idx : o.source.indexes) {
            bson_iter_t k, kit;
            if (!bson_iter_init_find(&k, idx.get(), "key") || !bson_iter_recurse(&k, &kit)) continue;
            int fields = 0;
            bool wildcard = false;
            while (bson_iter_next(&kit)) {
              ++fields;
              std::string key = bson_iter_key(&kit);
              if (key == "$**" || (key.size() > 4 && key.compare(key.size() - 4, 4, ".$**") == 0)) wildcard = true;
              if (BSON_ITER_HOLDS_UTF8(&kit) && std::string(bson_iter_utf8(&kit, nullptr)) == "columnstore") {
                found.push_back(ns + " has a columnstore index (not supported by mongoshift)");
              }
            }
            if (wildcard && fields > 1 && d < 70) found.push_back(ns + " has a compound wildcard index (needs 7.0)");
          }
        } else {
          bool unique = false;
          for (const auto& idx : o.source.indexes) {
            bson_iter_t u;
            if (bson_iter_init_find(&u, idx.get(), "unique") && bson_iter_as_bool(&u)) unique = true;
          }
          if (unique && d < 60) {
            found.push_back(ns + " has unique indexes: a " + dv +
                            " destination cannot convert indexes to unique at cut-over (collMod prepareUnique needs "
                            "6.0), so they are built before the copy");
          }
          if (o.source.is_timeseries() && o.source.indexes.size() > 0 && d < 60) {
            found.push_back(ns + ": secondary indexes on time-series measurements need 6.0");
          }
        }
      }
      bool errors = std::string(id) == "destination.features";
      add(id, found.empty(),
          found.empty() ? "the destination (" + dv + ") supports every selected object" : join(found, "; "),
          errors ? "upgrade the destination, or exclude these objects (objects.exclude)"
                 : "upgrade the destination to 6.0 or later, or accept the difference by ignoring this warning");
    }
  }

  void documents() {
    const bool full = o_.has(task::MigrationType::kFull);
    for (const char* id : {"source.large_documents", "source.id_types"}) {
      if (!full) {
        add(id, true, "no full migration: not needed");
        continue;
      }
      if (!need_catalog(id)) continue;
      if (std::string(id) == "source.large_documents") {
        large_documents(id);
      } else {
        id_types(id);
      }
    }
  }

  void large_documents(const std::string& id) {
    constexpr int64_t kNear = 15 * 1024 * 1024;  // within 1 MiB of maxBsonObjectSize
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o_.precheck.scan_seconds);
    std::vector<std::string> big, unscanned;
    for (const auto& o : report_.plan.objects) {
      if (o.source.is_view()) continue;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        unscanned.push_back(o.source_ns().full());
        continue;
      }
      // [{$match: filter}, {$project: {s: {$bsonSize: "$$ROOT"}}}, {$match: {s: {$gte: kNear}}}, {$limit: 3}]
      bson_t cmd = BSON_INITIALIZER, pipeline, stage, inner, size, cursor;
      BSON_APPEND_UTF8(&cmd, "aggregate", o.source.name.c_str());
      BSON_APPEND_ARRAY_BEGIN(&cmd, "pipeline", &pipeline);
      int n = 0;
      char key[16];
      auto next_key = [&] { return common::array_key(static_cast<uint32_t>(n++), key).data(); };
      if (o.filter) {
        BSON_APPEND_DOCUMENT_BEGIN(&pipeline, next_key(), &stage);
        BSON_APPEND_DOCUMENT(&stage, "$match", o.filter->get());
        bson_append_document_end(&pipeline, &stage);
      }
      BSON_APPEND_DOCUMENT_BEGIN(&pipeline, next_key(), &stage);
      BSON_APPEND_DOCUMENT_BEGIN(&stage, "$project", &inner);
      BSON_APPEND_DOCUMENT_BEGIN(&inner, "s", &size);
      BSON_APPEND_UTF8(&size, "$bsonSize", "$$ROOT");
      bson_append_document_end(&inner, &size);
      bson_append_document_end(&stage, &inner);
      bson_append_document_end(&pipeline, &stage);
      BSON_APPEND_DOCUMENT_BEGIN(&pipeline, next_key(), &stage);
      BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &inner);
      BSON_APPEND_DOCUMENT_BEGIN(&inner, "s", &size);
      BSON_APPEND_INT64(&size, "$gte", kNear);
      bson_append_document_end(&inner, &size);
      bson_append_document_end(&stage, &inner);
      bson_append_document_end(&pipeline, &stage);
      BSON_APPEND_DOCUMENT_BEGIN(&pipeline, next_key(), &stage);
      BSON_APPEND_INT32(&stage, "$limit", 3);
      bson_append_document_end(&pipeline, &stage);
      bson_append_array_end(&cmd, &pipeline);
      BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
      bson_append_document_end(&cmd, &cursor);
      BSON_APPEND_INT64(&cmd, "maxTimeMS", left);
      auto docs = source_->run_cursor(o.source.db, &cmd);
      bson_destroy(&cmd);
      if (!docs.ok()) {
        unscanned.push_back(o.source_ns().full() + " (" + docs.status().message() + ")");
        continue;
      }
      for (const auto& d : *docs) {
        bson_iter_t it;
        std::string idtxt = bson_iter_init_find(&it, d.get(), "_id") ? common::value_to_json(bson_iter_value(&it)) : "?";
        big.push_back(o.source_ns().full() + " _id " + idtxt + " (" + mib(number(d.get(), "s").value_or(0)) + ")");
      }
    }
    std::string detail = big.empty() ? "no document of 15 MiB or more" : "documents near 16 MB: " + join(big, ", ");
    if (!unscanned.empty()) detail += "; not scanned: " + join(unscanned, ", ", 4);
    add(id, big.empty() && unscanned.empty(), detail,
        big.empty() ? "raise precheck.scan_seconds to scan every collection, or ignore this warning"
                    : "shrink these documents: with ETL or other changes they may exceed 16 MB and fail to copy");
  }

  void id_types(const std::string& id) {
    std::vector<std::string> mixed;
    for (const auto& o : report_.plan.objects) {
      if (o.source.is_view() || o.source.is_timeseries()) continue;
      int brackets[2] = {0, 0};
      std::string types[2];
      for (int i = 0; i < 2; ++i) {
        auto doc = client::find_edge(*source_, o.source.db, o.source.name, "_id", i == 1);
        bson_iter_t it;
        if (doc.ok() && *doc && bson_iter_init_find(&it, (**doc).get(), "_id")) {
          brackets[i] = type_bracket(&it);
          types[i] = common::type_alias(bson_iter_type(&it));
        }
      }
      if (brackets[0] && brackets[1] && brackets[0] != brackets[1]) {
        mixed.push_back(o.source_ns().full() + " (" + types[0] + " … " + types[1] + ")");
      }
    }
    add(id, mixed.empty(), mixed.empty() ? "every collection has one _id type" : "_id of several types in " + join(mixed, ", "),
        "nothing to fix for the copy (each type is copied as its own range); verify applications do not rely on one "
        "_id type, and ignore this warning");
  }

  void sharding() {
    if (!report_.source.ok()) {
      not_checked("source.sharding", "the source is not reachable");
    } else if (report_.source.server.topology != Topology::kSharded) {
      add("source.sharding", true, "the source is not sharded");
    } else if (source_) {
      bson_t cmd = BSON_INITIALIZER;
      BSON_APPEND_INT32(&cmd, "balancerStatus", 1);
      auto reply = source_->run("admin", &cmd);
      bson_destroy(&cmd);
      std::string mode;
      bson_iter_t it;
      if (reply.ok() && bson_iter_init_find(&it, reply->get(), "mode") && BSON_ITER_HOLDS_UTF8(&it)) {
        mode = bson_iter_utf8(&it, nullptr);
      }
      add("source.sharding", mode == "off",
          (reply.ok() ? "balancer mode " + (mode.empty() ? std::string("unknown") : mode)
                      : "balancerStatus failed: " + reply.status().message()) +
              "; orphaned documents are filtered because every read goes through mongos",
          "stop the balancer for the migration (sh.stopBalancer()): chunk migrations move documents during the copy");
    }
    if (!report_.destination.ok()) return not_checked("destination.sharding", "the destination is not reachable");
    if (report_.destination.server.topology != Topology::kSharded) {
      return add("destination.sharding", true, "the destination is not sharded");
    }
    if (!need_catalog("destination.sharding") || !destination_) return;
    std::vector<std::string> unsharded;
    for (const auto& o : report_.plan.objects) {
      if (o.source.is_view()) continue;
      bson_t cmd = BSON_INITIALIZER, filter;
      BSON_APPEND_UTF8(&cmd, "find", "collections");
      BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &filter);
      BSON_APPEND_UTF8(&filter, "_id", o.target.full().c_str());
      bson_append_document_end(&cmd, &filter);
      BSON_APPEND_INT32(&cmd, "limit", 1);
      auto docs = destination_->run_cursor("config", &cmd, 1);
      bson_destroy(&cmd);
      if (!docs.ok() || docs->empty()) unsharded.push_back(o.target.full());
    }
    add("destination.sharding", unsharded.empty(),
        unsharded.empty() ? "every destination collection is sharded"
                          : "not sharded on the destination (they will live on the primary shard): " + join(unsharded, ", "),
        "shard these collections on the destination (sh.shardCollection) before the copy, or ignore this warning");
  }

  void clock_skew() {
    const std::string id = "hosts.clock_skew";
    const auto& s = report_.source.server;
    const auto& d = report_.destination.server;
    if (!report_.source.ok() || !report_.destination.ok()) return not_checked(id, "both sides must be reachable");
    if (!s.clock_known || !d.clock_known) return add(id, false, "a server did not report its clock (hello.localTime)",
                                                     "compare the hosts' clocks by hand");
    int64_t limit = o_.precheck.clock_skew_seconds * 1000;
    int64_t between = s.clock_skew_ms - d.clock_skew_ms;
    bool ok = std::llabs(s.clock_skew_ms) <= limit && std::llabs(d.clock_skew_ms) <= limit && std::llabs(between) <= limit;
    add(id, ok,
        "source " + std::to_string(s.clock_skew_ms / 1000) + " s, destination " + std::to_string(d.clock_skew_ms / 1000) +
            " s from this machine's clock",
        "synchronize the clocks (NTP): lag and time-based reports compare them");
  }

  void writes_during_copy() {
    bool ok = o_.has(task::MigrationType::kIncremental) || !o_.has(task::MigrationType::kFull);
    add("source.writes_during_copy", ok,
        ok ? "incremental migration replicates writes made during the copy"
           : "without incremental migration, writes to the source during the copy are not migrated",
        "stop writing to the source before starting and until the migration finishes, or add incremental to "
        "migration_types");
  }

  // The task file accepts and validates `etl`, but neither the copy nor the incremental phase
  // applies transforms yet: a task with any must not start and silently migrate untransformed
  // documents.
  void transforms() {
    bool ok = o_.etl.empty();
    add("task.transforms", ok,
        ok ? "no transforms configured"
           : std::to_string(o_.etl.size()) + " transform(s) in etl, which this version does not apply to the copy or "
                                             "the incremental phase",
        "remove the etl section and transform on the destination after the cut-over (for example with an "
        "aggregation ending in $merge)");
  }

  const task::TaskFile& task_;
  const task::TaskOptions& o_;
  const std::set<std::string>& ignored_;
  Report report_;
  Gathered g_;
  std::unique_ptr<Connection> source_, destination_;
};

}  // namespace

Report run_precheck(const task::TaskFile& task, const std::set<std::string>& ignored) {
  return Runner(task, ignored).run();
}

}  // namespace precheck
