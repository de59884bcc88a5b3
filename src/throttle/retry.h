// Retry windows (task `retry`): a failure that client::classify calls a connection error is
// retried for up to retry.connection_minutes, a transient one for up to retry.other_minutes,
// with a growing pause (0.1 s doubling to 5 s); a fatal error, an exhausted window or a stop
// request ends the attempts. The window restarts after each success.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "client/client.h"
#include "common/status.h"

namespace throttle {

struct RetryWindows {
  std::chrono::milliseconds connection{std::chrono::minutes(720)};
  std::chrono::milliseconds other{std::chrono::minutes(10)};
};

// Called on every retry with the failure and the attempt number (for logs and the
// task's "retrying" state).
using RetryObserver = std::function<void(const common::Status&, int attempt)>;

// Runs `attempt` until it succeeds or may not be retried. The final failure names what was
// being done and, for an exhausted window, says so.
common::Status with_retries(const std::string& what, const RetryWindows& windows, const std::atomic<bool>* stop,
                            const std::function<common::Status()>& attempt, const RetryObserver& observer = nullptr);

}  // namespace throttle
