// Transient failures mid-copy: the source drops every connection and steps down; the copy
// retries within its windows and ends identical (exhausted windows: tests/throttle).
#include <gtest/gtest.h>

#include <thread>

#include "copy_pair.h"

namespace {

using copytest::CopyPair;

void seed(testsupport::SimServer& s, int docs) {
  std::string pad(300, 'y');
  for (int base = 0; base < docs; base += 1000) {
    std::string ins = R"({"insert": "items", "documents": [)";
    for (int i = base; i < std::min(docs, base + 1000); ++i) {
      ins += (i > base ? "," : "") + std::string(R"({"_id": )") + std::to_string(i) + R"(, "pad": ")" + pad + R"("})";
    }
    s.must("f", ins + "]}");
  }
}

const std::string kTask =
    "migration_types: [schema, full]\ncopy:\n  parallel_partitions: 3\n  batch_docs: 250\n"
    "throttle:\n  full:\n    source_qps: 30\n";  // 64 reads of 250 documents: about 2 s

TEST(Faults, DroppedConnectionsAndStepDownsMidCopy) {
  CopyPair p({"--enable-test-commands"}, {"--enable-test-commands"});
  ASSERT_TRUE(p.src.up() && p.dst.up());
  seed(p.src, 16000);
  std::string task = p.task_file(kTask);
  common::Result<runner::RunReport> r = common::Status(common::kInternalError, "not run");
  std::thread t([&] { r = p.run(task); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GT(p.src.must("admin", R"({"mongosimControl": "dropConnections"})").num("closed"), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  p.src.must("admin", R"({"mongosimControl": "stepDown", "secs": 0.5})");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // The destination refuses writes (not primary) for a second and drops its connections.
  p.dst.must("admin", R"({"mongosimControl": "stepDown", "secs": 1})");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  p.dst.must("admin", R"({"mongosimControl": "dropConnections"})");
  t.join();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_GT(r->retries, 0) << "no fault reached the copy (it took " << r->elapsed_ms << " ms)";
  p.expect_same_documents("f", "items");
}

}  // namespace
