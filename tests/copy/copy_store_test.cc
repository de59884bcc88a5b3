#include "copy/copy_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace {

TEST(CopyStore, PlansAndCheckpointsSurviveReopening) {
  auto dir = std::filesystem::temp_directory_path() / ("copystore-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::string task_id;
  {
    auto store = state::StateStore::open(dir.string());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto rec = (*store)->register_task((dir / "t.yaml").string(), "t", "");
    ASSERT_TRUE(rec.ok());
    task_id = rec->id;
    copy::CopyStore cs(**store, task_id);
    copy::CollectionRecord c;
    c.source_ns = "a.b";
    c.target_ns = "a.c";
    c.state = "copying";
    c.docs_estimated = 100;
    for (int i = 0; i < 3; ++i) {
      copy::PartitionRecord p;
      p.idx = i;
      if (i > 0) p.min_key = std::string("min\0key", 7) + std::to_string(i);
      c.partitions.push_back(p);
    }
    ASSERT_TRUE(cs.save_plan(c).ok());
    copy::PartitionRecord p1 = c.partitions[1];
    p1.last_key = "last";
    p1.docs = 40;
    p1.bytes = 4000;
    p1.skipped = 2;
    p1.state = copy::PartState::kDone;
    ASSERT_TRUE(cs.checkpoint("a.b", {p1}).ok());
  }
  auto store = state::StateStore::open(dir.string());
  ASSERT_TRUE(store.ok());
  copy::CopyStore cs(**store, task_id);
  auto c = cs.load("a.b");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  const auto& r = **c;
  EXPECT_EQ(r.target_ns, "a.c");
  ASSERT_EQ(r.partitions.size(), 3u);
  EXPECT_FALSE(r.partitions[0].min_key.has_value());
  EXPECT_EQ(*r.partitions[1].min_key, std::string("min\0key1", 8));  // bytes, NULs included
  EXPECT_EQ(*r.partitions[1].last_key, "last");
  EXPECT_EQ(r.partitions[1].state, copy::PartState::kDone);
  EXPECT_EQ(r.docs(), 40);
  EXPECT_EQ(r.skipped(), 2);
  EXPECT_FALSE((*cs.load("x.y")).has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
