#include "task/plan.h"

#include <gtest/gtest.h>

#include "task/names.h"
#include "task/task_file.h"

namespace {

using task::Namespace;

task::TaskOptions options_from(const std::string& extra) {
  auto r = task::parse_task("source: {uri: 'mongodb://s'}\ndestination: {uri: 'mongodb://d'}\n" + extra, "t.yaml");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->options : task::TaskOptions{};
}

client::CollectionInfo coll(const std::string& db, const std::string& name, const std::string& type = "collection",
                            const std::string& options_json = "{}") {
  client::CollectionInfo c;
  c.db = db;
  c.name = name;
  c.type = type;
  c.options = common::Bson::from_json(options_json).value();
  return c;
}

std::vector<std::string> problems(const task::Plan& p) {
  std::vector<std::string> out;
  for (const auto& pr : p.problems) out.push_back(pr.field + ": " + pr.message);
  return out;
}

std::string target_of(const task::Plan& p, const std::string& source) {
  for (const auto& o : p.objects) {
    if (o.source_ns().full() == source) return o.target.full();
  }
  return "(not planned)";
}

TEST(NamespacePattern, WildcardsInEitherPart) {
  auto p = task::NamespacePattern::parse("*.log_*").value();
  EXPECT_TRUE(p.matches({"app", "log_2024"}));
  EXPECT_FALSE(p.matches({"app", "logs"}));
  EXPECT_FALSE(p.matches({"admin", "log_x"}));  // never a system database
  auto db = task::NamespacePattern::parse("sales").value();
  EXPECT_TRUE(db.matches({"sales", "orders"}));
  EXPECT_TRUE(db.matches({"sales", "a.b"}));
  EXPECT_FALSE(db.matches({"sales", "system.views"}));
  EXPECT_FALSE(db.matches({"sales2", "orders"}));
  auto dotted = task::NamespacePattern::parse("sales.a.*").value();
  EXPECT_TRUE(dotted.matches({"sales", "a.b"}));
  EXPECT_FALSE(task::NamespacePattern::parse("").ok());
  EXPECT_FALSE(task::NamespacePattern::parse("sales.").ok());
  EXPECT_FALSE(task::NamespacePattern::parse("bad$db").ok());
}

TEST(Names, ServerNamingRules) {
  EXPECT_TRUE(task::check_database_name("sales_2024").ok());
  EXPECT_EQ(task::check_database_name("a.b").code(), common::kInvalidNamespace);
  EXPECT_FALSE(task::check_database_name("a b").ok());
  EXPECT_FALSE(task::check_database_name(std::string(64, 'x')).ok());
  EXPECT_TRUE(task::check_database_name(std::string(63, 'x')).ok());
  EXPECT_TRUE(task::check_collection_name("db", "a.b").ok());
  EXPECT_FALSE(task::check_collection_name("db", "a$b").ok());
  EXPECT_FALSE(task::check_collection_name("db", "system.x").ok());
  EXPECT_FALSE(task::check_collection_name("db", "").ok());
  EXPECT_TRUE(task::check_collection_name("db", std::string(252, 'c')).ok());   // db.ccc… = 255 bytes
  EXPECT_FALSE(task::check_collection_name("db", std::string(253, 'c')).ok());  // 256 bytes
}

TEST(Names, CapitalizationIsUnicodeAware) {
  EXPECT_EQ(task::capitalize(task::Capitalization::kLower, "Straße_ÄÖ"), "straße_äö");
  EXPECT_EQ(task::capitalize(task::Capitalization::kUpper, "orders"), "ORDERS");
  EXPECT_EQ(task::capitalize(task::Capitalization::kDtsDefault, "MyDb"), "mydb");
  EXPECT_EQ(task::capitalize(task::Capitalization::kSource, "MyDb"), "MyDb");
}

TEST(NameMapper, RenamesRulesAndCapitalizationInOrder) {
  auto o = options_from(R"(capitalization: lower
mapping:
  rename:
    - {from: Sales, to: Archive}
    - {from: Sales.Special, to: Keep.Exact}
  rules:
    - {objects: 'app_*', on: database, regex: '^app_(.*)$', replacement: 'svc_$1'}
    - {objects: '*.Log*', prefix: 'old_'}
    - {objects: 'metrics.*', suffix: '_v2'}
)");
  auto m = task::NameMapper::create(o).value();
  EXPECT_EQ(m.map({"Sales", "Orders"}).full(), "Archive.orders");      // db renamed literally, coll lowered
  EXPECT_EQ(m.map({"Sales", "Special"}).full(), "Keep.Exact");         // exact rename: literal
  EXPECT_EQ(m.map({"app_Billing", "x"}).full(), "svc_billing.x");      // regex with a capture, then lower
  EXPECT_EQ(m.map({"web", "LogIn"}).full(), "web.old_login");          // first matching collection rule
  EXPECT_EQ(m.map({"metrics", "cpu"}).full(), "metrics.cpu_v2");
  EXPECT_EQ(m.map_database("app_X"), "svc_x");
}

TEST(Plan, DefaultSelectsEverythingButSystemObjects) {
  auto o = options_from("");
  auto p = task::build_plan(o, {coll("a", "c1"), coll("b", "c2"), coll("b", "v", "view", R"({"viewOn": "c2", "pipeline": []})")});
  EXPECT_TRUE(p.ok()) << ::testing::PrintToString(problems(p));
  EXPECT_EQ(p.objects.size(), 3u);
  EXPECT_EQ(p.databases, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(task::database_selected(o, "a"));
  EXPECT_FALSE(task::database_selected(o, "admin"));
  EXPECT_FALSE(task::selected(o, {"local", "oplog.rs"}));
}

TEST(Plan, IncludeExcludeAndFilters) {
  auto o = options_from(R"(objects:
  include: ['shop', 'logs.app_*']
  exclude: ['shop.tmp*']
  filter:
    shop.orders: {status: open}
)");
  auto p = task::build_plan(o, {coll("shop", "orders"), coll("shop", "tmp1"), coll("logs", "app_web"), coll("logs", "db")});
  ASSERT_TRUE(p.ok()) << ::testing::PrintToString(problems(p));
  ASSERT_EQ(p.objects.size(), 2u);
  EXPECT_EQ(target_of(p, "logs.app_web"), "logs.app_web");
  EXPECT_EQ(target_of(p, "shop.tmp1"), "(not planned)");
  ASSERT_TRUE(p.objects[1].filter.has_value());
  EXPECT_EQ(p.objects[1].filter->json(), R"({ "status" : "open" })");
  EXPECT_FALSE(task::database_selected(o, "other"));
}

TEST(Plan, SelectionsThatSelectNothingAreReported) {
  auto o = options_from(R"(objects:
  include: ['shop', 'nosuch.coll']
  filter:
    shop.ghost: {a: 1}
mapping:
  rename:
    - {from: gone, to: here}
)");
  auto p = task::build_plan(o, {coll("shop", "orders")});
  EXPECT_TRUE(p.has(task::PlanProblem::Kind::kSelection));
  EXPECT_FALSE(p.has(task::PlanProblem::Kind::kName));
  auto pr = problems(p);
  ASSERT_EQ(pr.size(), 3u) << ::testing::PrintToString(pr);
  EXPECT_EQ(pr[0], "objects.include[1]: 'nosuch.coll' selects nothing on the source (no such database or collection, or all of it is excluded)");
  EXPECT_EQ(pr[1], "mapping.rename[0].from: 'gone' is not a selected object on the source");
  EXPECT_EQ(pr[2], "objects.filter[shop.ghost]: 'shop.ghost' is not a selected collection on the source");
}

TEST(Plan, TwoSourcesOntoOneTargetNeedAllowMerge) {
  std::string mapping = "mapping:\n  rename:\n    - {from: a.c, to: m.c}\n    - {from: b.c, to: m.c}\n";
  auto p = task::build_plan(options_from(mapping), {coll("a", "c"), coll("b", "c")});
  auto pr = problems(p);
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_EQ(pr[0], "mapping: a.c, b.c all map to m.c: set mapping.allow_merge: true to merge them");
  auto merged = task::build_plan(options_from(mapping + "  allow_merge: true\n"), {coll("a", "c"), coll("b", "c")});
  EXPECT_TRUE(merged.ok()) << ::testing::PrintToString(problems(merged));
  // A view can never be merged.
  auto views = task::build_plan(options_from(mapping + "  allow_merge: true\n"),
                                {coll("a", "c", "view", R"({"viewOn": "x"})"), coll("b", "c")});
  EXPECT_TRUE(views.has(task::PlanProblem::Kind::kName));
}

TEST(Plan, CollisionsCreatedByCapitalizationAreNamedAsSuch) {
  auto p = task::build_plan(options_from("capitalization: dts_default\n"), {coll("db", "Orders"), coll("db", "orders")});
  auto pr = problems(p);
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_EQ(pr[0], "capitalization: db.Orders, db.orders all map to db.orders (capitalization: dts_default makes them "
                   "equal): set mapping.allow_merge: true to merge them");
}

TEST(Plan, DatabasesDifferingOnlyInCaseAreRefused) {
  auto p = task::build_plan(options_from("mapping:\n  rename:\n    - {from: a, to: Sales}\n    - {from: b, to: sales}\n"),
                            {coll("a", "x"), coll("b", "y")});
  auto pr = problems(p);
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_NE(pr[0].find("destination databases Sales and sales differ only in case"), std::string::npos);
}

TEST(Plan, IllegalTargetNamesAreReported) {
  auto p = task::build_plan(options_from("mapping:\n  rules:\n    - {objects: 'a', on: database, suffix: '.x'}\n"),
                            {coll("a", "c")});
  auto pr = problems(p);
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_EQ(pr[0], "mapping: a.c → a.x.c: database name 'a.x' contains an invalid character '.'");
}

TEST(Plan, ViewsFollowTheirSourceThroughTheMapping) {
  auto o = options_from("mapping:\n  rename:\n    - {from: a.base, to: a.base2}\n");
  auto p = task::build_plan(o, {coll("a", "base"), coll("a", "v", "view", R"({"viewOn": "base", "pipeline": []})")});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.objects[1].target_view_on, "base2");
  EXPECT_EQ(p.objects[1].kind(), "view");
  auto split = task::build_plan(options_from("mapping:\n  rename:\n    - {from: a.base, to: b.base}\n"),
                                {coll("a", "base"), coll("a", "v", "view", R"({"viewOn": "base"})")});
  auto pr = problems(split);
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_EQ(pr[0], "mapping: view a.v maps to a.v but its source a.base maps to b.base: a view and its source must map "
                   "to the same database");
}

TEST(Plan, KindsAndSizes) {
  auto capped = coll("a", "cap", "collection", R"({"capped": true, "size": 4096})");
  capped.size = 100;
  auto ts = coll("a", "ts", "timeseries", R"({"timeseries": {"timeField": "t"}})");
  ts.size = 50;
  auto p = task::build_plan(options_from(""), {capped, ts});
  ASSERT_EQ(p.objects.size(), 2u);
  EXPECT_EQ(p.objects[0].kind(), "capped");
  EXPECT_EQ(p.objects[1].kind(), "timeseries");
  EXPECT_EQ(p.total_size(), 150);
}

TEST(Plan, EmptySelectionIsAProblem) {
  auto p = task::build_plan(options_from(""), {});
  auto pr = problems(p);
  ASSERT_EQ(pr.size(), 1u);
  EXPECT_EQ(pr[0], "objects: the selection is empty: the source has no selected database or collection");
}

}  // namespace
