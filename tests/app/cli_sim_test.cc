// The mongoshift commands against mongosim: plan of a real source, test-connection with
// users and privileges, precheck passing and blocking, exit codes.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "app/cli_process.h"
#include "precheck/sim_pair.h"

namespace {

using apptest::run_mongoshift;

class CliSimTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testsupport::make_temp_dir("cli-sim"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string task(const simpair::TaskSides& sides, const std::string& extra) {
    std::string p = dir_ + "/task.yaml";
    std::ofstream(p) << simpair::task_yaml(sides, extra);
    return p;
  }
  std::string dir_;
};

TEST_F(CliSimTest, PlanResolvesTheSourceCatalog) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("shop", "orders", {R"({"_id": 1, "s": "open"})", R"({"_id": 2, "s": "done"})", R"({"_id": 3, "s": "open"})"});
  src->run("shop", R"({"createIndexes": "orders", "indexes": [{"key": {"s": 1}, "name": "s_1"}]})");
  src->run("shop", R"({"create": "open_orders", "viewOn": "orders", "pipeline": [{"$match": {"s": "open"}}]})");
  src->run("shop", R"({"create": "events", "capped": true, "size": 65536})");
  src->insert("logs", "app_web", {R"({"_id": 1})"});
  src->insert("logs", "other", {R"({"_id": 1})"});
  std::string path = task({src->uri(), dst->uri(), "", ""}, R"(objects:
  include: [shop, 'logs.app_*']
  filter:
    shop.orders: {s: open}
mapping:
  rename:
    - {from: shop.orders, to: shop2.orders}
    - {from: shop.open_orders, to: shop2.open_orders}
  rules:
    - {objects: 'logs.*', prefix: 'old_'}
)");
  auto r = run_mongoshift({"plan", "--task", path});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["objects"].size(), 4u) << r.out;
  std::map<std::string, nlohmann::json> by_source;
  for (const auto& o : j["objects"]) by_source[o["source"].get<std::string>()] = o;
  EXPECT_EQ(by_source["shop.orders"]["target"], "shop2.orders");
  EXPECT_EQ(by_source["shop.orders"]["type"], "collection");
  EXPECT_EQ(by_source["shop.orders"]["documents"], 3);
  EXPECT_EQ(by_source["shop.orders"]["indexes"], 2);
  EXPECT_GT(by_source["shop.orders"]["size_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(by_source["shop.orders"]["filter"], nlohmann::json::parse(R"({"s": "open"})"));
  EXPECT_EQ(by_source["shop.open_orders"]["type"], "view");
  EXPECT_EQ(by_source["shop.open_orders"]["view_on"], "orders");
  EXPECT_EQ(by_source["shop.events"]["type"], "capped");
  EXPECT_EQ(by_source["shop.events"]["target"], "shop.events");
  EXPECT_EQ(by_source["logs.app_web"]["target"], "logs.old_app_web");
  EXPECT_TRUE(j["problems"].empty());

  auto table = run_mongoshift({"plan", "--task", path}, {}, "", true);
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("shop.orders"), std::string::npos);
  EXPECT_NE(table.out.find("4 objects (3 collections, 1 view) in 2 databases"), std::string::npos) << table.out;
}

TEST_F(CliSimTest, PlanRefusesCollisionsWithExitTwo) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("a", "c", {R"({"_id": 1})"});
  src->insert("b", "c", {R"({"_id": 1})"});
  std::string path = task({src->uri(), dst->uri(), "", ""},
                          "mapping:\n  rules:\n    - {objects: 'a', on: database, regex: '^a$', replacement: 'b'}\n");
  auto r = run_mongoshift({"plan", "--task", path});
  EXPECT_EQ(r.exit_code, 2);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["problems"].size(), 1u);
  EXPECT_EQ(j["problems"][0]["message"], "a.c, b.c all map to b.c: set mapping.allow_merge: true to merge them");
}

TEST_F(CliSimTest, TestConnectionReportsServerTopologyAndPrivileges) {
  auto src = simpair::start({}, true), dst = simpair::start({"--standalone"});
  ASSERT_TRUE(src && dst);
  src->create_user("reader", "reader-pw-1", R"([{"role": "readAnyDatabase", "db": "admin"}])");
  std::string path = task({src->uri(), dst->uri(), "reader", ""}, "");
  auto r = run_mongoshift({"test-connection", "--task", path}, {{"SRC_PW", "reader-pw-1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["source"]["server"]["topology"], "replica_set");
  EXPECT_EQ(j["source"]["server"]["set_name"], "rs0");
  EXPECT_EQ(j["source"]["server"]["version"], "7.0.14");
  EXPECT_EQ(j["source"]["privileges"]["users"], nlohmann::json::array({"reader@admin"}));
  EXPECT_EQ(j["source"]["privileges"]["roles"], nlohmann::json::array({"readAnyDatabase@admin"}));
  EXPECT_EQ(j["destination"]["server"]["topology"], "standalone");
  EXPECT_FALSE(j["destination"]["privileges"]["access_control"].get<bool>());
  std::vector<std::string> steps;
  for (const auto& s : j["source"]["steps"]) steps.push_back(s["step"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"resolution", "tcp", "tls", "authentication", "server", "topology", "privileges"}));
}

TEST_F(CliSimTest, TestConnectionNamesAuthenticationAndAuthorizationFailures) {
  auto src = simpair::start({}, true), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->create_user("weak", "weak-pw-1", R"([{"role": "read", "db": "shop"}])");
  std::string path = task({src->uri(), dst->uri(), "weak", ""}, "");
  auto wrong = run_mongoshift({"test-connection", "--task", path}, {{"SRC_PW", "bad-password"}});
  EXPECT_EQ(wrong.exit_code, 1);
  auto jw = nlohmann::json::parse(wrong.out);
  EXPECT_EQ(jw["source"]["failure"], "authentication");
  EXPECT_EQ(jw["source"]["message"].get<std::string>().rfind("authentication failed for user weak@admin on " + src->host_port(), 0),
            0u)
      << jw["source"]["message"];
  auto weak = run_mongoshift({"test-connection", "--task", path}, {{"SRC_PW", "weak-pw-1"}});
  EXPECT_EQ(weak.exit_code, 1);
  auto j = nlohmann::json::parse(weak.out);
  EXPECT_EQ(j["source"]["failure"], "not_authorized");
  EXPECT_NE(j["source"]["message"].get<std::string>().find("user weak@admin on " + src->host_port() +
                                                           " is not authorized: lacks listDatabases on the cluster"),
            std::string::npos)
      << j["source"]["message"];
}

TEST_F(CliSimTest, PrecheckPassesOnceWarningsAreIgnored) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("shop", "orders", {R"({"_id": 1})", R"({"_id": 2})"});
  std::string path = task({src->uri(), dst->uri(), "", ""}, "objects:\n  include: [shop]\n");
  std::string state = dir_ + "/state";
  auto first = run_mongoshift({"precheck", "--task", path, "--state-dir", state});
  auto j = nlohmann::json::parse(first.out);
  std::vector<std::string> ignore_args = {"precheck", "--task", path, "--state-dir", state};
  for (const auto& item : j["items"]) {
    EXPECT_NE(item["status"], "failed") << item.dump();
    if (item["status"] == "warning") {
      ignore_args.push_back("--ignore-warning");
      ignore_args.push_back(item["id"]);
    }
  }
  EXPECT_EQ(first.exit_code, ignore_args.size() > 5 ? 1 : 0);
  auto second = run_mongoshift(ignore_args);
  EXPECT_EQ(second.exit_code, 0) << second.out;
  EXPECT_TRUE(nlohmann::json::parse(second.out)["passed"].get<bool>());
  // Ignored warnings are kept: a plain re-run passes too.
  EXPECT_EQ(run_mongoshift({"precheck", "--task", path, "--state-dir", state}).exit_code, 0);
  auto table = run_mongoshift({"precheck", "--task", path, "--state-dir", state}, {}, "", true);
  EXPECT_NE(table.out.find("precheck passed"), std::string::npos) << table.out;
}

TEST_F(CliSimTest, PrecheckBlocksWithExitOne) {
  auto src = simpair::start(), dst = simpair::start();
  ASSERT_TRUE(src && dst);
  src->insert("shop", "orders", {R"({"_id": 1})"});
  dst->insert("shop", "orders", {R"({"_id": 9})"});
  std::string path = task({src->uri(), dst->uri(), "", ""}, "objects:\n  include: [shop]\n");
  auto r = run_mongoshift({"precheck", "--task", path, "--state-dir", dir_ + "/state"}, {}, "", true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("destination.conflicts"), std::string::npos);
  EXPECT_NE(r.out.find("precheck blocked: 1 failed"), std::string::npos) << r.out;
}

}  // namespace
