#include "copy/byte_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "copy/batch.h"

namespace {

TEST(ByteQueue, BoundsBytesNotItems) {
  copy::ByteQueue<std::string> q(100);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(q.push(std::string(40, 'x'), 40));
      pushed++;
    }
    q.close();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(pushed.load(), 2);  // a third 40-byte item would exceed 100 bytes
  int popped = 0;
  while (auto s = q.pop()) popped++;
  producer.join();
  EXPECT_EQ(popped, 10);
  EXPECT_LE(q.peak_bytes(), 100);
}

TEST(ByteQueue, BoundsItemsToo) {
  copy::ByteQueue<int> q(1 << 20, 3);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(q.push(i, 1));
      pushed++;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(pushed.load(), 3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q.pop().value(), i);
  producer.join();
}

TEST(ByteQueue, AnItemLargerThanTheBoundPassesAlone) {
  copy::ByteQueue<int> q(10);
  EXPECT_TRUE(q.push(1, 1000));
  EXPECT_EQ(q.pop().value(), 1);
  q.close();
  EXPECT_FALSE(q.push(2, 1));
  EXPECT_FALSE(q.pop().has_value());
}

TEST(Batch, KeepsRawBytesAndIdKeys) {
  copy::Batch b;
  common::Bson d1, d2;
  BSON_APPEND_DOUBLE(d1.mut(), "_id", -0.0);
  BSON_APPEND_UTF8(d1.mut(), "z", "1");
  BSON_APPEND_UTF8(d2.mut(), "no_id", "x");
  b.append(d1.get());
  b.append(d2.get());
  ASSERT_EQ(b.count(), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.doc(0).data()), b.doc(0).size()), std::string(d1.bytes()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.doc(1).data()), b.doc(1).size()), std::string(d2.bytes()));
  std::string k = copy::id_key(d1.get());
  common::Bson expect;
  BSON_APPEND_DOUBLE(expect.mut(), "_id", -0.0);
  EXPECT_EQ(k, std::string(expect.bytes()));
  EXPECT_EQ(copy::id_key(d2.get()), "");
}

}  // namespace
