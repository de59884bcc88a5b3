// End to end: a random workload on the source during a (naive) copy and after it, the
// incremental phase from T0 with T1 at the end of the copy, cut-over by request; then every
// collection's options, indexes and documents are identical. Both reader modes; 4.4 and 7.0
// sources.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include "apply/incremental_store.h"
#include "incr_harness.h"

namespace {

using testsupport::SimServer;



void migrate(const std::string& version, task::IncrementalMethod method, uint32_t seed) {
  if (getenv("INCR_DEBUG")) spdlog::set_level(spdlog::level::debug);
  SimServer src({"--server-version", version, "--enable-test-commands"});
  SimServer dst({"--enable-test-commands"});
  ASSERT_TRUE(src.up() && dst.up());
  incr::seed(src, "app", 200);
  auto task = incr::make_task(src.uri(), dst.uri(), method);
  change::StartPoint t0 = incr::capture(src.uri());
  incr::Workload w(src.uri(), "app", seed);
  w.start();  // writes during the copy
  incr::copy_database(src, dst, "app");
  change::StartPoint t1 = incr::capture(src.uri());
  {
    incr::Runner r(incr::context(*task, src.uri(), dst.uri(), t0, t1));
    std::this_thread::sleep_for(std::chrono::seconds(2));  // and after it
    w.stop();
    EXPECT_GT(w.ops(), 100);
    incr::request_stop(*task);
    auto out = r.wait(60);
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(out->end, apply::IncrementalOutcome::End::kCutOver);
    EXPECT_FALSE(out->report_path.empty());
    for (const auto& [ns, c] : out->counts) EXPECT_EQ(c.source, c.destination) << ns;
    auto st = apply::load_status(*task->store, task->record.id);
    ASSERT_TRUE(st.ok() && st->has_value());
    EXPECT_EQ((*st)->text, "incremental, cut over");
  }
  incr::expect_identical(src, dst, "app");
}

TEST(IncrementalE2E, Oplog70) { migrate("7.0", task::IncrementalMethod::kOplog, 1); }
TEST(IncrementalE2E, Oplog44) { migrate("4.4", task::IncrementalMethod::kOplog, 2); }
TEST(IncrementalE2E, ChangeStream70) { migrate("7.0", task::IncrementalMethod::kChangeStream, 3); }
TEST(IncrementalE2E, AutoPicksTheOplog) { migrate("7.0", task::IncrementalMethod::kAuto, 4); }

}  // namespace
