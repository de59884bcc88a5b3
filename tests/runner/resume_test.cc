// Resume: `mongoshift run` killed with SIGKILL at random moments, three times, then run to
// the end: the destination is identical and only in-flight batches were copied twice. A
// SIGTERM pauses cleanly; a throttle change reaches the running task.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "app/cli_process.h"
#include "copy/copy_store.h"
#include "copy_pair.h"
#include "runner/controls.h"

namespace {

using copytest::CopyPair;

pid_t spawn(const std::vector<std::string>& args) {
  std::string bin = apptest::mongoshift_binary();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

constexpr int kDocs = 20000;
const std::string kTask =
    "migration_types: [schema, full]\n"
    "copy:\n  parallel_partitions: 4\n  batch_docs: 500\n"
    "throttle:\n  full:\n    rps: 12000\n";

TEST(Resume, KilledThreeTimesStillEndsIdentical) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  copytest::seed_items(p.src, "bulk", kDocs, 400);
  std::string task = p.task_file(kTask);
  std::vector<std::string> common_args{"--state-dir", p.state_dir()};
  auto pre = apptest::run_mongoshift({"--state-dir", p.state_dir(), "precheck", "--task", task, "--ignore-warning",
                                      "source.writes_during_copy"});
  ASSERT_EQ(pre.exit_code, 0) << pre.out << pre.err;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(150, 700);
  for (int k = 0; k < 3; ++k) {
    pid_t pid = spawn({"--state-dir", p.state_dir(), "run", "--task", task});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    kill(pid, SIGKILL);
    wait_exit(pid);
  }
  auto done = apptest::run_mongoshift({"--state-dir", p.state_dir(), "run", "--task", task});
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  p.expect_same_documents("bulk", "items");
  p.expect_same_catalog("bulk");
  // Re-copied documents are the in-flight batches of each kill only.
  auto j = nlohmann::json::parse(done.out.substr(done.out.rfind("{\"result\"")));
  EXPECT_EQ(j["result"], "finished");
  EXPECT_LE(j["recopied"].get<int64_t>(), 3 * 4 * 2 * 500) << done.out;
  auto status = apptest::run_mongoshift({"--state-dir", p.state_dir(), "status", "--task", task, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto s = nlohmann::json::parse(status.out);
  EXPECT_EQ(s["state"], "finished");
  EXPECT_EQ(s["total"]["docs"].get<int64_t>() + s["total"]["skipped"].get<int64_t>(), kDocs);
  // Running a finished task again does nothing.
  auto again = apptest::run_mongoshift({"--state-dir", p.state_dir(), "run", "--task", task});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already finished"), std::string::npos) << again.out;
}

TEST(Resume, SigtermPausesAndRunResumes) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  copytest::seed_items(p.src, "bulk", kDocs, 400);
  std::string task = p.task_file(kTask);
  auto pre = apptest::run_mongoshift({"--state-dir", p.state_dir(), "precheck", "--task", task, "--ignore-warning",
                                      "source.writes_during_copy"});
  ASSERT_EQ(pre.exit_code, 0) << pre.out << pre.err;
  pid_t pid = spawn({"--state-dir", p.state_dir(), "run", "--task", task});
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 0);
  auto status = apptest::run_mongoshift({"--state-dir", p.state_dir(), "status", "--task", task, "--json"});
  auto s = nlohmann::json::parse(status.out);
  EXPECT_EQ(s["state"], "paused");
  EXPECT_LT(s["total"]["docs"].get<int64_t>(), kDocs);
  // A throttle set while paused is kept for the next run: unlimited now.
  auto thr = apptest::run_mongoshift({"--state-dir", p.state_dir(), "throttle", "--task", task, "--rps", "0"});
  ASSERT_EQ(thr.exit_code, 0) << thr.err;
  auto done = apptest::run_mongoshift({"--state-dir", p.state_dir(), "run", "--task", task});
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  p.expect_same_documents("bulk", "items");
}

TEST(Resume, ThrottleAndPauseReachARunningTask) {
  CopyPair p;
  ASSERT_TRUE(p.src.up() && p.dst.up());
  copytest::seed_items(p.src, "bulk", kDocs, 400);
  // Slow enough that the run is certainly still going when the commands arrive.
  std::string task = p.task_file("migration_types: [schema, full]\ncopy:\n  batch_docs: 100\n"
                                 "throttle:\n  full:\n    rps: 2000\n");
  std::atomic<bool> stop{false};
  common::Result<runner::RunReport> r = common::Status(common::kInternalError, "not run");
  std::thread t([&] { r = p.run(task, stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto thr = apptest::run_mongoshift({"--state-dir", p.state_dir(), "throttle", "--task", task, "--rps", "1"});
  ASSERT_EQ(thr.exit_code, 0) << thr.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto st1 = nlohmann::json::parse(
      apptest::run_mongoshift({"--state-dir", p.state_dir(), "status", "--task", task, "--json"}).out);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto st2 = nlohmann::json::parse(
      apptest::run_mongoshift({"--state-dir", p.state_dir(), "status", "--task", task, "--json"}).out);
  // At 1 document per second (batches of 100 wait for a full bucket) progress all but stops.
  EXPECT_LE(st2["total"]["docs"].get<int64_t>() - st1["total"]["docs"].get<int64_t>(), 200);
  EXPECT_EQ(st2["phase"], "full");
  auto pause = apptest::run_mongoshift({"--state-dir", p.state_dir(), "pause", "--task", task});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  t.join();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->end, runner::RunReport::End::kPaused);
}

}  // namespace
