#include "sim/clock.h"

#include <chrono>

namespace sim {

ClusterClock::ClusterClock() {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  last_.store(Timestamp{static_cast<uint32_t>(secs), 0}.packed());
}

Timestamp ClusterClock::tick() {
  std::lock_guard<std::mutex> lk(mu_);
  auto secs = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  Timestamp last = now();
  Timestamp next = secs > last.t ? Timestamp{secs, 1} : Timestamp{last.t, last.i + 1};
  last_.store(next.packed(), std::memory_order_release);
  return next;
}

void ClusterClock::advance_to(Timestamp ts) {
  std::lock_guard<std::mutex> lk(mu_);
  if (now() < ts) last_.store(ts.packed(), std::memory_order_release);
}

}  // namespace sim
