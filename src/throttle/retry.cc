#include "throttle/retry.h"

#include <algorithm>
#include <thread>

namespace throttle {

common::Status with_retries(const std::string& what, const RetryWindows& windows, const std::atomic<bool>* stop,
                            const std::function<common::Status()>& attempt, const RetryObserver& observer) {
  auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::milliseconds(100);
  for (int n = 1;; ++n) {
    common::Status st = attempt();
    if (st.ok()) return st;
    client::ErrorClass cls = client::classify(st);
    if (cls == client::ErrorClass::kFatal) return st.with_context(what);
    auto window = cls == client::ErrorClass::kConnection ? windows.connection : windows.other;
    if (std::chrono::steady_clock::now() - start + pause > window) {
      return common::Status(st.code(), what + ": " + client::to_string(cls) + " errors for longer than the retry window (" +
                                           std::to_string(window.count() / 1000) + " s); last: " + st.message());
    }
    if (observer) observer(st, n);
    auto until = std::chrono::steady_clock::now() + pause;
    while (std::chrono::steady_clock::now() < until) {
      if (stop && stop->load()) return common::Status(common::kInterrupted, what + ": stopped while retrying (" + st.message() + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(5));
  }
}

}  // namespace throttle
