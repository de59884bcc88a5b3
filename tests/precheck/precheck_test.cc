// Each precheck item made to pass and to fail for real, against mongosim processes.
#include "precheck/precheck.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "precheck/sim_pair.h"
#include "support/certs.h"
#include "task/task_file.h"

namespace {

using precheck::Status;
using simpair::Sim;

class PrecheckTest : public ::testing::Test {
 protected:
  precheck::Report run(const simpair::TaskSides& sides, const std::string& extra, const std::set<std::string>& ignored = {}) {
    auto tf = task::parse_task(simpair::task_yaml(sides, extra), "t.yaml");
    EXPECT_TRUE(tf.ok()) << tf.status().message();
    if (!tf.ok()) return {};
    return precheck::run_precheck(*tf, ignored);
  }
  precheck::Report run(const Sim& src, const Sim& dst, const std::string& extra, const std::set<std::string>& ignored = {}) {
    return run({src.uri(), dst.uri(), "", ""}, extra, ignored);
  }
  static precheck::Item item(const precheck::Report& r, const std::string& id) {
    const precheck::Item* i = r.find(id);
    EXPECT_TRUE(i) << id << " missing from the report";
    return i ? *i : precheck::Item{};
  }
  static std::string dump(const precheck::Report& r) {
    std::string s;
    for (const auto& i : r.items) s += i.id + " " + precheck::to_string(i.status) + ": " + i.detail + "\n";
    return s;
  }
  static void seed_shop(const Sim& s) {
    s.insert("shop", "orders", {R"({"_id": 1, "status": "open", "qty": 5})", R"({"_id": 2, "status": "done", "qty": 1})"});
    s.run("shop", R"({"createIndexes": "orders", "indexes": [{"key": {"status": 1}, "name": "status_1"}]})");
    s.run("shop", R"({"create": "recent", "viewOn": "orders", "pipeline": [{"$match": {"status": "open"}}]})");
  }
};

TEST_F(PrecheckTest, AHealthyPairPassesEveryErrorItem) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  EXPECT_EQ(r.items.size(), precheck::item_catalog().size());
  for (const auto& i : r.items) {
    if (i.level == precheck::Level::kError) {
      EXPECT_EQ(i.status, Status::kPassed) << i.id << ": " << i.detail;
    }
  }
  for (const char* id : {"destination.version_order", "destination.index_features", "source.large_documents",
                         "source.id_types", "source.sharding", "destination.sharding", "hosts.clock_skew",
                         "source.writes_during_copy"}) {
    EXPECT_EQ(item(r, id).status, Status::kPassed) << id << ": " << item(r, id).detail;
  }
  EXPECT_EQ(item(r, "objects.exist").detail, "2 objects selected in 1 database");
  EXPECT_EQ(item(r, "source.topology").detail, "replica_set rs0");
  EXPECT_EQ(r.plan.objects.size(), 2u);
}

TEST_F(PrecheckTest, StandaloneSourceAllowsFullMigrationOnly) {
  auto src = simpair::start({"--standalone"}), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto t = item(r, "source.topology");
  EXPECT_EQ(t.status, Status::kFailed);
  EXPECT_NE(t.detail.find("the source is a standalone server: it has no oplog"), std::string::npos) << t.detail;
  EXPECT_NE(t.fix.find("remove incremental from migration_types"), std::string::npos);
  EXPECT_TRUE(r.blocked());

  auto full = run(*src, *dst, "objects:\n  include: [shop]\nmigration_types: [schema, full]\n");
  EXPECT_EQ(item(full, "source.topology").status, Status::kPassed) << item(full, "source.topology").detail;
  EXPECT_EQ(item(full, "source.oplog_window").status, Status::kPassed);
  // The guide's warning: without incremental migration, writes must stop during the copy.
  auto w = item(full, "source.writes_during_copy");
  EXPECT_EQ(w.status, Status::kWarning);
  EXPECT_EQ(w.detail, "without incremental migration, writes to the source during the copy are not migrated");
}

TEST_F(PrecheckTest, TransformsBlockTheStartBecauseTheyAreNotAppliedYet) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto plain = run(*src, *dst, "objects:\n  include: [shop]\n");
  EXPECT_EQ(item(plain, "task.transforms").status, Status::kPassed);
  EXPECT_EQ(item(plain, "task.transforms").detail, "no transforms configured");
  auto r = run(*src, *dst, "objects:\n  include: [shop]\netl:\n  - objects: 'shop.*'\n    set: {migrated: true}\n");
  auto t = item(r, "task.transforms");
  EXPECT_EQ(t.level, precheck::Level::kError);
  EXPECT_EQ(t.status, Status::kFailed);
  EXPECT_EQ(t.detail, "1 transform(s) in etl, which this version does not apply to the copy or the incremental phase");
  EXPECT_NE(t.fix.find("remove the etl section"), std::string::npos) << t.fix;
  EXPECT_TRUE(r.blocked());
}

TEST_F(PrecheckTest, UnreachableHostFailsConnectivityAndTheItemsThatNeedIt) {
  auto dst = simpair::start();
  ASSERT_TRUE(dst);
  auto r = run({"mongodb://127.0.0.1:1/?directConnection=true", dst->uri(), "", ""}, "");
  auto c = item(r, "source.connectivity");
  EXPECT_EQ(c.status, Status::kFailed);
  EXPECT_EQ(c.detail, "connection refused by 127.0.0.1:1 (is the server running and listening on that port?)");
  EXPECT_EQ(c.fix, "start the server, or correct the port");
  EXPECT_EQ(item(r, "destination.connectivity").status, Status::kPassed);
  EXPECT_EQ(item(r, "source.privileges").detail, "not checked: the source is not reachable");
  EXPECT_EQ(item(r, "source.large_documents").status, Status::kWarning);
  EXPECT_TRUE(r.blocked());
}

TEST_F(PrecheckTest, WrongPasswordAndMissingUser) {
  auto src = simpair::start({}, true), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  setenv("SRC_PW", "not-the-password", 1);
  auto r = run({src->uri(), dst->uri(), "root", ""}, "");
  auto c = item(r, "source.connectivity");
  EXPECT_EQ(c.status, Status::kFailed);
  EXPECT_EQ(c.detail.rfind("authentication failed for user root@admin on " + src->host_port(), 0), 0u) << c.detail;
  EXPECT_EQ(c.fix, "check source.user, source.auth_db and the password");

  auto anonymous = run(*src, *dst, "");
  auto a = item(anonymous, "source.connectivity");
  EXPECT_EQ(a.status, Status::kFailed);
  EXPECT_NE(a.detail.find("requires authentication and no user is configured"), std::string::npos) << a.detail;
}

TEST_F(PrecheckTest, TlsRequiredButOffNamesTheFix) {
  auto certs = testsupport::TestCertificates::create(testsupport::make_temp_dir("precheck-pki"));
  ASSERT_TRUE(certs.ok()) << certs.status().message();
  auto src = simpair::start({"--tls-mode", "require", "--tls-cert-key-file", certs->server_pem});
  auto dst = simpair::start();
  ASSERT_TRUE(src && dst);
  auto off = run(*src, *dst, "");
  auto c = item(off, "source.connectivity");
  EXPECT_EQ(c.status, Status::kFailed);
  EXPECT_EQ(c.detail, src->host_port() + " requires TLS, but TLS is off for this endpoint (set tls.enabled: true)");
  EXPECT_EQ(c.fix, "set source.tls.enabled: true (and source.tls.ca_file)");
  // With TLS and the CA, the source is reachable (its catalog is empty: nothing else is wrong with TLS).
  auto tf = task::parse_task(simpair::task_yaml({src->uri(), dst->uri(), "", ""}, ""), "t.yaml");
  ASSERT_TRUE(tf.ok());
  tf->options.source.tls.enabled = true;
  tf->options.source.tls.ca_file = certs->ca_file;
  auto on = precheck::run_precheck(*tf, {});
  EXPECT_EQ(item(on, "source.connectivity").status, Status::kPassed) << item(on, "source.connectivity").detail;
  EXPECT_NE(item(on, "source.connectivity").detail.find("(verified)"), std::string::npos);
}

// A role with the read privileges a full migration of `shop` needs, minus `drop`.
std::string source_role(const std::string& drop) {
  std::vector<std::string> db_actions;
  for (const char* a : {"find", "listCollections", "listIndexes", "collStats"}) {
    if (drop != a) db_actions.push_back(std::string("\"") + a + "\"");
  }
  std::string actions;
  for (size_t i = 0; i < db_actions.size(); ++i) actions += (i ? "," : "") + db_actions[i];
  std::string privs = R"([{"resource": {"db": "shop", "collection": ""}, "actions": [)" + actions + "]}";
  if (drop != "listDatabases") privs += R"(, {"resource": {"cluster": true}, "actions": ["listDatabases"]})";
  return privs + "]";
}

TEST_F(PrecheckTest, EachMissingSourcePrivilegeIsNamed) {
  auto src = simpair::start({}, true), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  setenv("SRC_PW", "pw-of-the-user", 1);
  for (const std::string drop : {"listDatabases", "listCollections", "find", "listIndexes"}) {
    std::string role = "src_without_" + drop;
    src->run("admin", "{\"createRole\": \"" + role + "\", \"privileges\": " + source_role(drop) + ", \"roles\": []}");
    src->create_user("u_" + drop, "pw-of-the-user", "[{\"role\": \"" + role + "\", \"db\": \"admin\"}]");
    auto r = run({src->uri(), dst->uri(), "u_" + drop, ""}, "objects:\n  include: [shop]\nmigration_types: [schema, full]\n");
    auto p = item(r, "source.privileges");
    EXPECT_EQ(p.status, Status::kFailed) << drop << ": " << p.detail;
    EXPECT_NE(p.detail.find(drop + (drop == "listDatabases" ? " on the cluster" : "")), std::string::npos)
        << drop << ": " << p.detail;
    EXPECT_NE(p.detail.find("user u_" + drop + "@admin lacks"), std::string::npos) << p.detail;
  }
  // The full set passes.
  src->run("admin", "{\"createRole\": \"src_full\", \"privileges\": " + source_role("") + ", \"roles\": []}");
  src->create_user("u_full", "pw-of-the-user", R"([{"role": "src_full", "db": "admin"}])");
  auto ok = run({src->uri(), dst->uri(), "u_full", ""}, "objects:\n  include: [shop]\nmigration_types: [schema, full]\n");
  EXPECT_EQ(item(ok, "source.privileges").status, Status::kPassed) << item(ok, "source.privileges").detail;
}

TEST_F(PrecheckTest, IncrementalNeedsTheOplogOrChangeStreams) {
  auto src = simpair::start({}, true), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  setenv("SRC_PW", "pw-of-the-user", 1);
  src->create_user("reader", "pw-of-the-user", R"([{"role": "readAnyDatabase", "db": "admin"}])");
  src->create_user("monitor", "pw-of-the-user",
                   R"([{"role": "readAnyDatabase", "db": "admin"}, {"role": "clusterMonitor", "db": "admin"}])");
  // readAnyDatabase cannot read local.oplog.rs.
  auto oplog = run({src->uri(), dst->uri(), "reader", ""}, "objects:\n  include: [shop]\nincremental:\n  method: oplog\n");
  auto p = item(oplog, "source.privileges");
  EXPECT_EQ(p.status, Status::kFailed);
  EXPECT_NE(p.detail.find("find on local.oplog.rs (to tail the oplog (incremental.method: oplog))"), std::string::npos)
      << p.detail;
  // ... but it may open change streams, which auto falls back to.
  auto fallback = run({src->uri(), dst->uri(), "reader", ""}, "objects:\n  include: [shop]\n");
  EXPECT_EQ(item(fallback, "source.privileges").status, Status::kPassed) << item(fallback, "source.privileges").detail;
  auto monitor = run({src->uri(), dst->uri(), "monitor", ""}, "objects:\n  include: [shop]\nincremental:\n  method: oplog\n");
  EXPECT_EQ(item(monitor, "source.privileges").status, Status::kPassed) << item(monitor, "source.privileges").detail;
  // A role without changeStream fails the change_stream method.
  src->run("admin", "{\"createRole\": \"no_cs\", \"privileges\": " + source_role("") + ", \"roles\": []}");
  src->create_user("nocs", "pw-of-the-user", R"([{"role": "no_cs", "db": "admin"}])");
  auto cs = run({src->uri(), dst->uri(), "nocs", ""}, "objects:\n  include: [shop]\nincremental:\n  method: change_stream\n");
  EXPECT_EQ(item(cs, "source.privileges").status, Status::kFailed);
  EXPECT_NE(item(cs, "source.privileges").detail.find("changeStream on database shop"), std::string::npos)
      << item(cs, "source.privileges").detail;
}

TEST_F(PrecheckTest, EachMissingDestinationPrivilegeIsNamed) {
  auto src = simpair::start(), dst = simpair::start({}, true);
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  setenv("DST_PW", "pw-of-the-user", 1);
  const std::vector<std::string> all = {"insert", "update", "remove", "find", "createCollection", "createIndex",
                                        "dropCollection", "dropIndex", "collMod", "listCollections", "listIndexes",
                                        "bypassDocumentValidation"};
  for (const std::string& drop : all) {
    std::string actions;
    for (const auto& a : all) {
      if (a != drop) actions += std::string(actions.empty() ? "" : ",") + "\"" + a + "\"";
    }
    std::string role = "dst_without_" + drop;
    dst->run("admin", "{\"createRole\": \"" + role + R"(", "privileges": [{"resource": {"db": "shop", "collection": ""}, "actions": [)" +
                          actions + R"(]}, {"resource": {"cluster": true}, "actions": ["listDatabases"]}], "roles": []})");
    dst->create_user("w_" + drop, "pw-of-the-user", "[{\"role\": \"" + role + "\", \"db\": \"admin\"}]");
    auto r = run({src->uri(), dst->uri(), "", "w_" + drop}, "objects:\n  include: [shop]\n");
    auto p = item(r, "destination.privileges");
    EXPECT_EQ(p.status, Status::kFailed) << drop << ": " << p.detail;
    EXPECT_NE(p.detail.find(drop + " on database shop (to write database shop (the full copy bypasses document validation))"),
              std::string::npos)
        << drop << ": " << p.detail;
  }
  dst->create_user("writer", "pw-of-the-user",
                   R"([{"role": "readWriteAnyDatabase", "db": "admin"}, {"role": "dbAdminAnyDatabase", "db": "admin"}])");
  auto ok = run({src->uri(), dst->uri(), "", "writer"}, "objects:\n  include: [shop]\n");
  EXPECT_EQ(item(ok, "destination.privileges").status, Status::kPassed) << item(ok, "destination.privileges").detail;
}

// The full copy's inserts carry bypassDocumentValidation, which the server checks whether or not
// the collection has a validator; without a full copy nothing needs it.
TEST_F(PrecheckTest, FullCopyNeedsBypassDocumentValidation) {
  auto src = simpair::start(), dst = simpair::start({}, true);
  ASSERT_TRUE(src && dst);
  src->run("shop", R"({"create": "checked", "validator": {"qty": {"$gte": 0}}})");
  src->insert("plain", "c", {R"({"_id": 1})"});
  setenv("DST_PW", "pw-of-the-user", 1);
  // readWrite has neither collMod nor bypassDocumentValidation (dbAdmin has both).
  dst->create_user("rw", "pw-of-the-user", R"([{"role": "readWrite", "db": "shop"}, {"role": "readWrite", "db": "plain"}])");
  auto r = run({src->uri(), dst->uri(), "", "rw"}, "objects:\n  include: [shop, plain]\n");
  auto p = item(r, "destination.privileges");
  EXPECT_EQ(p.status, Status::kFailed) << p.detail;
  for (const std::string db : {"plain", "shop"}) {
    EXPECT_NE(p.detail.find("collMod, bypassDocumentValidation on database " + db + " (to write database " + db +
                            " (the full copy bypasses document validation))"),
              std::string::npos)
        << p.detail;
  }
  auto no_full = run({src->uri(), dst->uri(), "", "rw"},
                     "objects:\n  include: [shop, plain]\nmigration_types: [schema, incremental]\n");
  auto q = item(no_full, "destination.privileges");
  EXPECT_EQ(q.status, Status::kFailed) << q.detail;
  EXPECT_NE(q.detail.find("collMod on database shop (to write database shop)"), std::string::npos) << q.detail;
  EXPECT_EQ(q.detail.find("bypassDocumentValidation"), std::string::npos) << q.detail;
  // A role with every write action but bypassDocumentValidation passes without a full copy only.
  dst->run("admin", R"({"createRole": "dst_no_bypass", "privileges": [
      {"resource": {"db": "shop", "collection": ""}, "actions": ["insert", "update", "remove", "find", "createCollection",
       "createIndex", "dropCollection", "dropIndex", "collMod", "listCollections", "listIndexes"]},
      {"resource": {"cluster": true}, "actions": ["listDatabases"]}], "roles": []})");
  dst->create_user("nobypass", "pw-of-the-user", R"([{"role": "dst_no_bypass", "db": "admin"}])");
  auto schema = run({src->uri(), dst->uri(), "", "nobypass"}, "objects:\n  include: [shop]\nmigration_types: [schema, incremental]\n");
  EXPECT_EQ(item(schema, "destination.privileges").status, Status::kPassed) << item(schema, "destination.privileges").detail;
  auto full = run({src->uri(), dst->uri(), "", "nobypass"}, "objects:\n  include: [shop]\nmigration_types: [schema, full]\n");
  EXPECT_EQ(item(full, "destination.privileges").detail,
            "user nobypass@admin lacks bypassDocumentValidation on database shop (to write database shop (the full copy "
            "bypasses document validation))");
  dst->create_user("admin_rw", "pw-of-the-user",
                   R"([{"role": "readWrite", "db": "shop"}, {"role": "dbAdmin", "db": "shop"},
                       {"role": "readWrite", "db": "plain"}, {"role": "dbAdmin", "db": "plain"}])");
  auto ok = run({src->uri(), dst->uri(), "", "admin_rw"}, "objects:\n  include: [shop, plain]\n");
  EXPECT_EQ(item(ok, "destination.privileges").status, Status::kPassed) << item(ok, "destination.privileges").detail;
}

TEST_F(PrecheckTest, NonEmptyTargetsUnderEachConflictMode) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  src->insert("shop", "items", {R"({"_id": 1})"});
  dst->insert("shop", "orders", {R"({"_id": 1})", R"({"_id": 7})"});
  dst->run("shop", R"({"create": "items"})");  // exists but empty
  auto report = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto c = item(report, "destination.conflicts");
  EXPECT_EQ(c.level, precheck::Level::kError);
  EXPECT_EQ(c.status, Status::kFailed);
  EXPECT_EQ(c.detail, "destination objects already exist: shop.orders (2 documents); existing but empty: shop.items");
  EXPECT_TRUE(report.blocked());

  auto ignore = run(*src, *dst, "objects:\n  include: [shop]\nconflict_mode: ignore_and_proceed\n");
  auto w = item(ignore, "destination.conflicts");
  EXPECT_EQ(w.level, precheck::Level::kWarning);
  EXPECT_EQ(w.status, Status::kWarning);
  EXPECT_FALSE(w.ignored);
  std::set<std::string> warnings;
  for (const auto& i : ignore.items) {
    EXPECT_NE(i.status, Status::kFailed) << i.id << ": " << i.detail;
    if (i.status == Status::kWarning) warnings.insert(i.id);
  }
  EXPECT_TRUE(warnings.count("destination.conflicts"));
  auto ignored = run(*src, *dst, "objects:\n  include: [shop]\nconflict_mode: ignore_and_proceed\n", warnings);
  EXPECT_TRUE(item(ignored, "destination.conflicts").ignored);
  EXPECT_FALSE(ignored.blocked()) << dump(ignored);

  // A view already where a view would be created is a conflict too.
  dst->run("shop", R"({"create": "recent", "viewOn": "orders", "pipeline": []})");
  auto view = run(*src, *dst, "objects:\n  include: [shop.recent]\n");
  EXPECT_EQ(item(view, "destination.conflicts").detail, "destination objects already exist: shop.recent exists (view)");
}

TEST_F(PrecheckTest, MappingAndCapitalizationCollisions) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("a", "c", {R"({"_id": 1})"});
  src->insert("b", "c", {R"({"_id": 1})"});
  src->insert("sales", "Orders", {R"({"_id": 1})"});
  src->insert("sales", "orders", {R"({"_id": 2})"});
  std::string merge = "objects:\n  include: [a, b]\nmapping:\n  rename:\n    - {from: a.c, to: m.c}\n    - {from: b.c, to: m.c}\n";
  auto r = run(*src, *dst, merge);
  auto n = item(r, "objects.names");
  EXPECT_EQ(n.status, Status::kFailed);
  EXPECT_EQ(n.detail, "t.yaml:9: mapping: a.c, b.c all map to m.c: set mapping.allow_merge: true to merge them");
  auto merged = run(*src, *dst, merge + "  allow_merge: true\n");
  EXPECT_EQ(item(merged, "objects.names").status, Status::kPassed) << item(merged, "objects.names").detail;

  auto caps = run(*src, *dst, "objects:\n  include: [sales]\ncapitalization: lower\n");
  auto cn = item(caps, "objects.names");
  EXPECT_EQ(cn.status, Status::kFailed);
  EXPECT_NE(cn.detail.find("t.yaml:9: capitalization: sales.Orders, sales.orders all map to sales.orders (capitalization: "
                           "lower makes them equal)"),
            std::string::npos)
      << cn.detail;
}

TEST_F(PrecheckTest, DestinationDatabaseDifferingOnlyInCase) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  dst->insert("Shop", "x", {R"({"_id": 1})"});
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto n = item(r, "objects.names");
  EXPECT_EQ(n.status, Status::kFailed);
  EXPECT_EQ(n.detail, "destination database shop differs only in case from the existing Shop (MongoDB refuses it: "
                      "DatabaseDifferCase)");
}

TEST_F(PrecheckTest, SelectionsThatSelectNothingNameTheirLine) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto r = run(*src, *dst, "objects:\n  include:\n    - shop\n    - nosuch.coll\n");
  auto e = item(r, "objects.exist");
  EXPECT_EQ(e.status, Status::kFailed);
  EXPECT_EQ(e.detail, "t.yaml:10: objects.include[1]: 'nosuch.coll' selects nothing on the source (no such database or "
                      "collection, or all of it is excluded)");
}

TEST_F(PrecheckTest, WithoutSchemaMigrationTheTargetsMustExist) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("shop", "orders", {R"({"_id": 1})"});
  std::string extra = "objects:\n  include: [shop]\nmigration_types: [full, incremental]\n";
  auto r = run(*src, *dst, extra);
  auto m = item(r, "destination.objects_exist");
  EXPECT_EQ(m.status, Status::kFailed);
  EXPECT_EQ(m.detail, "missing on the destination: shop.orders");
  dst->run("shop", R"({"create": "orders"})");
  auto ok = run(*src, *dst, extra);
  EXPECT_EQ(item(ok, "destination.objects_exist").status, Status::kPassed);
  EXPECT_EQ(item(ok, "destination.conflicts").status, Status::kPassed);
}

TEST_F(PrecheckTest, DeclaredArchitectureMustMatch) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto tf = task::parse_task(simpair::task_yaml({src->uri(), dst->uri(), "", ""}, "objects:\n  include: [shop]\n"),
                             "t.yaml");
  ASSERT_TRUE(tf.ok());
  tf->options.destination.architecture = task::Architecture::kSharded;
  auto mismatch = precheck::run_precheck(*tf, {});
  auto t = item(mismatch, "destination.topology");
  EXPECT_EQ(t.status, Status::kFailed);
  EXPECT_EQ(t.detail, "destination.architecture is sharded but the destination is replica_set");
  EXPECT_EQ(item(r, "destination.topology").status, Status::kPassed);
}

TEST_F(PrecheckTest, OlderDestinationVersionAndTheFeaturesItLacks) {
  auto src = simpair::start({"--server-version", "7.0"}), dst = simpair::start({"--server-version", "5.0"});
  ASSERT_TRUE(src && dst);
  src->insert("shop", "orders", {R"({"_id": 1, "sku": "a"})"});
  src->run("shop", R"({"createIndexes": "orders", "indexes": [{"key": {"sku": 1}, "name": "sku_1", "unique": true}]})");
  src->run("shop", R"({"create": "images", "changeStreamPreAndPostImages": {"enabled": true}})");
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto order = item(r, "destination.version_order");
  EXPECT_EQ(order.status, Status::kWarning);
  EXPECT_EQ(order.detail, "source 7.0.14, destination 5.0.30");
  auto f = item(r, "destination.features");
  EXPECT_EQ(f.status, Status::kFailed);
  EXPECT_EQ(f.detail, "shop.images has changeStreamPreAndPostImages (needs 6.0)");
  auto i = item(r, "destination.index_features");
  EXPECT_EQ(i.status, Status::kWarning);
  EXPECT_NE(i.detail.find("shop.orders has unique indexes: a 5.0.30 destination cannot convert"), std::string::npos) << i.detail;
}

TEST_F(PrecheckTest, UnsupportedVersionsFail) {
  auto src = simpair::start(), dst = simpair::start({"--server-version", "4.4"});
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  EXPECT_EQ(item(r, "destination.version").status, Status::kPassed);  // 4.4 is the oldest supported
  EXPECT_EQ(item(r, "destination.version").detail, "MongoDB 4.4.29");
}

TEST_F(PrecheckTest, MixedIdTypesWarnUntilIgnored) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("shop", "mixed", {R"({"_id": 1})", R"({"_id": "a"})", R"({"_id": {"$oid": "650000000000000000000000"}})"});
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto w = item(r, "source.id_types");
  EXPECT_EQ(w.status, Status::kWarning);
  EXPECT_EQ(w.detail, "_id of several types in shop.mixed (int … objectId)");
  std::set<std::string> warnings;
  for (const auto& i : r.items) {
    EXPECT_NE(i.status, Status::kFailed) << i.id << ": " << i.detail;
    if (i.status == Status::kWarning) warnings.insert(i.id);
  }
  EXPECT_TRUE(r.blocked());
  auto ignored = run(*src, *dst, "objects:\n  include: [shop]\n", warnings);
  EXPECT_FALSE(ignored.blocked()) << dump(ignored);
}

TEST_F(PrecheckTest, DocumentsNearTheSizeLimit) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("shop", "blobs", {R"({"_id": 1, "small": true})", "{\"_id\": 2, \"big\": \"" + std::string(15 * 1024 * 1024 + 4096, 'x') + "\"}"});
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  auto w = item(r, "source.large_documents");
  EXPECT_EQ(w.status, Status::kWarning);
  EXPECT_EQ(w.detail, "documents near 16 MB: shop.blobs _id 2 (15.0 MiB)");
}

// `n` documents of 100 KiB each, _id from `first`.
std::vector<std::string> blobs(int first, int n) {
  static const std::string blob(100 * 1024, 'b');
  std::vector<std::string> docs;
  for (int i = first; i < first + n; ++i) docs.push_back("{\"_id\": " + std::to_string(i) + ", \"b\": \"" + blob + "\"}");
  return docs;
}

TEST_F(PrecheckTest, OplogWindowShorterThanTwiceTheEstimatedCopy) {
  // A 1 MiB oplog holds a second or two of these writes; copying 3 MiB at 1 MiB/s takes 3 s.
  auto src = simpair::start({"--oplog-size-mb", "1"}), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  for (int batch = 0; batch < 3; ++batch) src->insert("shop", "blobs", blobs(batch * 10, 10));
  auto r = run(*src, *dst, "objects:\n  include: [shop]\nprecheck:\n  assumed_copy_mbps: 1\n");
  auto w = item(r, "source.oplog_window");
  EXPECT_EQ(w.status, Status::kWarning) << w.detail;
  EXPECT_NE(w.detail.find(", estimated copy 3 s (2.9 MiB at 1 MiB/s)"), std::string::npos) << w.detail;
  EXPECT_EQ(w.detail.rfind("oplog window ", 0), 0u) << w.detail;
  EXPECT_NE(w.fix.find("replSetResizeOplog"), std::string::npos);
  // The same data against the default oplog: its window at full size covers the copy many times.
  auto big = simpair::start();
  ASSERT_TRUE(big);
  big->insert("shop", "blobs", blobs(0, 30));
  auto ok = run(*big, *dst, "objects:\n  include: [shop]\nprecheck:\n  assumed_copy_mbps: 1\n");
  EXPECT_EQ(item(ok, "source.oplog_window").status, Status::kPassed) << item(ok, "source.oplog_window").detail;
  EXPECT_NE(item(ok, "source.oplog_window").detail.find("when full at"), std::string::npos);
}

TEST_F(PrecheckTest, FreeSpaceAndOplogWindowAsTheServersReportThem) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  seed_shop(*src);
  auto r = run(*src, *dst, "objects:\n  include: [shop]\n");
  // dbStats reports the filesystem of the destination's dbpath: far more than these bytes.
  auto stats = dst->run("shop", R"({"dbStats": 1})");
  bson_iter_t it;
  auto fs = item(r, "destination.free_space");
  if (bson_iter_init_find(&it, stats.get(), "fsTotalSize")) {
    EXPECT_EQ(fs.status, Status::kPassed) << fs.detail;
  } else {
    EXPECT_EQ(fs.status, Status::kWarning);
    EXPECT_EQ(fs.detail, "the destination did not report its free space (dbStats has no fsTotalSize/fsUsedSize)");
  }
  auto ow = item(r, "source.oplog_window");
  EXPECT_NE(ow.detail.find("estimated copy 1 s"), std::string::npos) << ow.detail;
}

}  // namespace
