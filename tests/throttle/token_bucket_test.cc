#include "throttle/token_bucket.h"

#include <gtest/gtest.h>

#include <thread>

namespace {

using throttle::Clock;
using throttle::TokenBucket;
using std::chrono::milliseconds;

TEST(TokenBucket, UnlimitedNeverWaits) {
  TokenBucket b(0);
  auto t = Clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(b.try_take(1e9, t), Clock::duration::zero());
}

TEST(TokenBucket, NewLimitStartsEmptyThenRefillsAtRate) {
  TokenBucket b(0);
  auto t0 = Clock::now();
  b.set_rate(100, t0);
  // A new rate starts empty only when it was unlimited before: tokens are capped, not granted.
  EXPECT_GT(b.try_take(10, t0), Clock::duration::zero());
  // After 100 ms, 10 tokens have accrued.
  EXPECT_EQ(b.try_take(10, t0 + milliseconds(100)), Clock::duration::zero());
  auto wait = b.try_take(50, t0 + milliseconds(100));
  EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 0.5, 0.01);
  EXPECT_EQ(b.try_take(50, t0 + milliseconds(600)), Clock::duration::zero());
}

TEST(TokenBucket, BurstIsOneSecondAndLargeRequestsGoIntoDebt) {
  TokenBucket b(0);
  auto t0 = Clock::now();
  b.set_rate(10, t0);
  // Ten seconds idle still saves only one second's worth.
  auto t = t0 + std::chrono::seconds(10);
  EXPECT_EQ(b.try_take(10, t), Clock::duration::zero());
  EXPECT_GT(b.try_take(1, t), Clock::duration::zero());
  // 30 tokens at rate 10: allowed when the bucket is full, then 2 s of debt plus 1 s refill.
  t += std::chrono::seconds(1);
  EXPECT_EQ(b.try_take(30, t), Clock::duration::zero());
  auto wait = b.try_take(10, t);
  EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 3.0, 0.01);
}

TEST(TokenBucket, RateChangesApplyImmediately) {
  TokenBucket b(0);
  auto t0 = Clock::now();
  b.set_rate(1, t0);
  auto t = t0 + std::chrono::seconds(1);
  EXPECT_EQ(b.try_take(1, t), Clock::duration::zero());
  EXPECT_GT(b.try_take(1, t), milliseconds(900));
  b.set_rate(1000, t);
  EXPECT_NEAR(std::chrono::duration<double>(b.try_take(1, t)).count(), 0.001, 0.0005);
  b.set_rate(0, t);
  EXPECT_EQ(b.try_take(1e6, t), Clock::duration::zero());
}

TEST(Throttle, LimitsRoundTripAndStopInterruptsAWait) {
  throttle::Throttle th({1, 0, 0});
  EXPECT_EQ(th.limits(), (throttle::Limits{1, 0, 0}));
  std::atomic<bool> stop{false};
  // The bucket is empty (a new limit saves nothing); the wait ends when stop is set.
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
  });
  EXPECT_FALSE(th.before_read(&stop));
  t.join();
  th.set_limits({});
  std::atomic<bool> go{false};
  EXPECT_TRUE(th.before_read(&go));
  EXPECT_TRUE(th.before_write(1000000, int64_t{1} << 40, &go));
}

}  // namespace
