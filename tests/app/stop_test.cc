// mongoshift stop records the cut-over request for the running task and throttle --incremental
// its limits (from another shell, no server contacted); a bad task file exits 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apply/incremental_store.h"
#include "cli_process.h"
#include "state/state_store.h"
#include "support/mongosim_process.h"

namespace {

using apptest::run_mongoshift;

TEST(StopCommand, RecordsTheCutOverRequest) {
  std::string dir = testsupport::make_temp_dir("stop");
  std::string path = dir + "/t.yaml";
  std::ofstream(path) << "name: stop-test\nsource:\n  uri: mongodb://127.0.0.1:1/\ndestination:\n  uri: mongodb://127.0.0.1:2/\n";
  auto r = run_mongoshift({"stop", "--task", path, "--state-dir", dir + "/state"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("task stop-test: cut-over requested"), std::string::npos) << r.out;
  auto store = state::StateStore::open(dir + "/state");
  ASSERT_TRUE(store.ok());
  auto task = (*store)->find_task_by_file(std::filesystem::absolute(path).string());
  ASSERT_TRUE(task.ok() && task->has_value());
  auto stop = apply::stop_requested(**store, (*task)->id);
  ASSERT_TRUE(stop.ok());
  EXPECT_TRUE(*stop);

  std::ofstream(path) << "source:\n  uri: 12\nbogus: 1\n";
  auto bad = run_mongoshift({"stop", "--task", path, "--state-dir", dir + "/state"});
  EXPECT_EQ(bad.exit_code, 2);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

namespace {

TEST(ThrottleCommand, IncrementalLimitsForTheRunningPhase) {
  std::string dir = testsupport::make_temp_dir("thr");
  std::string path = dir + "/t.yaml";
  std::ofstream(path) << "name: thr-test\nsource:\n  uri: mongodb://127.0.0.1:1/\ndestination:\n  uri: mongodb://127.0.0.1:2/\n";
  auto r = apptest::run_mongoshift({"throttle", "--task", path, "--state-dir", dir + "/state", "--incremental", "--rps", "500"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"phase\": \"incremental\""), std::string::npos) << r.out;
  auto store = state::StateStore::open(dir + "/state");
  ASSERT_TRUE(store.ok());
  auto task = (*store)->find_task_by_file(std::filesystem::absolute(path).string());
  ASSERT_TRUE(task.ok() && task->has_value());
  auto limits = apply::load_limits(**store, (*task)->id);
  ASSERT_TRUE(limits.ok() && limits->has_value());
  EXPECT_EQ((*limits)->rps, 500);
  EXPECT_EQ((*limits)->mbps, 0);
  auto bad = apptest::run_mongoshift({"throttle", "--task", path, "--state-dir", dir + "/state", "--incremental", "--source-qps", "5"});
  EXPECT_EQ(bad.exit_code, 2);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
