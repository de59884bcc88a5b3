#include "throttle/retry.h"

#include <gtest/gtest.h>

namespace {

using common::Status;
using std::chrono::milliseconds;

throttle::RetryWindows short_windows() { return {milliseconds(400), milliseconds(250)}; }

TEST(Retry, SucceedsAfterTransientFailures) {
  int calls = 0;
  std::vector<int> seen;
  Status st = throttle::with_retries("copying", short_windows(), nullptr, [&] {
    return ++calls < 3 ? Status(common::kNotWritablePrimary, "not primary") : Status::OK();
  }, [&](const Status&, int attempt) { seen.push_back(attempt); });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
}

TEST(Retry, FatalErrorsAreNotRetried) {
  int calls = 0;
  Status st = throttle::with_retries("copying", short_windows(), nullptr, [&] {
    ++calls;
    return Status(common::kUnauthorized, "not authorized on db");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.code(), common::kUnauthorized);
  EXPECT_NE(st.message().find("copying"), std::string::npos);
}

TEST(Retry, AnExhaustedWindowFailsWithTheReason) {
  int calls = 0;
  Status st = throttle::with_retries("reading db.c", short_windows(), nullptr, [&] {
    ++calls;
    return Status(common::kHostUnreachable, "connection refused");
  });
  EXPECT_EQ(st.code(), common::kHostUnreachable);
  EXPECT_GT(calls, 1);
  EXPECT_NE(st.message().find("reading db.c"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("retry window"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("connection refused"), std::string::npos) << st.message();
}

TEST(Retry, StopEndsTheWait) {
  std::atomic<bool> stop{true};
  Status st = throttle::with_retries("x", {std::chrono::minutes(10), std::chrono::minutes(10)}, &stop,
                                     [] { return Status(common::kWriteConflict, "conflict"); });
  EXPECT_EQ(st.code(), common::kInterrupted);
}

}  // namespace
