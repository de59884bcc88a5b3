// Transient failures mid-copy: the source drops every connection and steps down; the copy
// retries within its windows and ends identical (exhausted windows: tests/throttle).
#include <gtest/gtest.h>

#include <thread>

#include "copy_pair.h"

namespace {

using copytest::CopyPair;

const std::string kTask =
    "migration_types: [schema, full]\ncopy:\n  parallel_partitions: 3\n  batch_docs: 250\n"
    "throttle:\n  full:\n    source_qps: 30\n";  // 64 reads of 250 documents: about 2 s

TEST(Faults, DroppedConnectionsAndStepDownsMidCopy) {
  CopyPair p({"--enable-test-commands"}, {"--enable-test-commands"});
  ASSERT_TRUE(p.src.up() && p.dst.up());
  copytest::seed_items(p.src, "f", 16000, 300);
  // The source drops the connection of its first getMores; the destination answers "not
  // primary" to a few inserts (more than libmongoc's one retryable-write retry).
  p.src.must("admin", R"({"configureFailPoint": "failCommand", "mode": {"times": 3},
                          "data": {"failCommands": ["getMore"], "closeConnection": true}})");
  p.dst.must("admin", R"({"configureFailPoint": "failCommand", "mode": {"times": 4},
                          "data": {"failCommands": ["insert"], "errorCode": 10107}})");
  std::string task = p.task_file(kTask);
  common::Result<runner::RunReport> r = common::Status(common::kInternalError, "not run");
  std::thread t([&] { r = p.run(task); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  // And the destination steps down for a second in the middle of the copy.
  p.dst.must("admin", R"({"mongosimControl": "stepDown", "secs": 1})");
  t.join();
  auto tail = [](const std::string& log) { return log.substr(log.size() > 3000 ? log.size() - 3000 : 0); };
  ASSERT_TRUE(r.ok()) << r.status().to_string() << "\nsource log:\n" << tail(p.src.process().log())
                      << "\ndestination log:\n" << tail(p.dst.process().log());
  EXPECT_GT(r->retries, 0);
  p.expect_same_documents("f", "items");
}

}  // namespace
