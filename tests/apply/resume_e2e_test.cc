// Crashes and pauses: the incremental phase killed -9 at random moments three times still
// ends identical after cut-over; a pause long enough for the oplog to roll past the
// checkpoint ends in the clear "history lost" failure when the task runs again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "apply/incremental_store.h"
#include "incr_harness.h"

namespace {

using testsupport::SimServer;


// Runs the phase in a child process (its own store handle and connections) and kills it -9.
void run_and_kill(incr::Task& t, SimServer& src, SimServer& dst, const change::StartPoint& t0,
                  const change::StartPoint& t1, int ms) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = state::StateStore::open(t.dir);
    if (!store.ok()) _exit(3);
    auto ctx = incr::context(t, src.uri(), dst.uri(), t0, t1, store->get());
    auto r = apply::run_incremental(ctx);
    _exit(r.ok() ? 0 : 4);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child ended before it was killed: " << status;
}

void set_pause(incr::Task& t, bool on) {
  std::string sql = "INSERT INTO run_controls(task_id, pause_requested) VALUES('" + t.record.id + "', " +
                    (on ? "1" : "0") + ") ON CONFLICT(task_id) DO UPDATE SET pause_requested=excluded.pause_requested";
  ASSERT_EQ(sqlite3_exec(t.store->db(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
}

void crash_three_times(const std::string& version, task::IncrementalMethod method) {
  SimServer src({"--server-version", version});
  SimServer dst;
  ASSERT_TRUE(src.up() && dst.up());
  incr::seed(src, "app", 200);
  auto task = incr::make_task(src.uri(), dst.uri(), method);
  change::StartPoint t0 = incr::capture(src.uri());
  incr::Workload w(src.uri(), "app", 7);
  w.start();
  incr::copy_database(src, dst, "app");
  change::StartPoint t1 = incr::capture(src.uri());
  std::mt19937 rng(11);
  for (int k = 0; k < 3; ++k) run_and_kill(*task, src, dst, t0, t1, 400 + static_cast<int>(rng() % 900));
  w.stop();
  {
    incr::Runner r(incr::context(*task, src.uri(), dst.uri(), t0, t1));
    incr::request_stop(*task);
    auto out = r.wait(60);
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(out->end, apply::IncrementalOutcome::End::kCutOver);
  }
  incr::expect_identical(src, dst, "app");
}

TEST(IncrementalResume, KilledThreeTimesOplog) { crash_three_times("7.0", task::IncrementalMethod::kOplog); }
TEST(IncrementalResume, KilledThreeTimesChangeStream) {
  crash_three_times("7.0", task::IncrementalMethod::kChangeStream);
}

TEST(IncrementalResume, OplogRolledOverDuringAPause) {
  SimServer src({"--enable-test-commands"});
  SimServer dst;
  ASSERT_TRUE(src.up() && dst.up());
  incr::seed(src, "app", 50);
  auto task = incr::make_task(src.uri(), dst.uri(), task::IncrementalMethod::kOplog);
  change::StartPoint t0 = incr::capture(src.uri());
  incr::copy_database(src, dst, "app");
  change::StartPoint t1 = incr::capture(src.uri());
  incr::Workload w(src.uri(), "app", 5, /*ddl=*/false);
  w.run_ops(200);
  {
    incr::Runner r(incr::context(*task, src.uri(), dst.uri(), t0, t1));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    set_pause(*task, true);  // `mongoshift pause`
    auto out = r.wait(30);
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(out->end, apply::IncrementalOutcome::End::kInterrupted);
  }
  // While paused the source keeps writing and its oplog rolls past the checkpoint.
  w.run_ops(200);
  change::StartPoint now = incr::capture(src.uri());
  src.must("admin", R"({"mongosimControl": "truncateOplog", "before": {"$timestamp": {"t": )" + std::to_string(now.t) +
                        R"(, "i": )" + std::to_string(now.i) + "}}}");
  set_pause(*task, false);  // `mongoshift run` again
  incr::Runner again(incr::context(*task, src.uri(), dst.uri(), t0, t1));
  auto out = again.wait(30);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), common::kChangeStreamHistoryLost);
  EXPECT_NE(out.status().message().find("no longer on the source"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("restart the task from the beginning"), std::string::npos);
}

}  // namespace
