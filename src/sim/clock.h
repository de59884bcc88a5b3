// ClusterClock: the server's logical clock. Every write gets a strictly increasing optime
// (a BSON Timestamp: seconds since the epoch and an increment within that second), which
// is also the $clusterTime and operationTime gossiped to clients.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace sim {

struct Timestamp {
  uint32_t t = 0;
  uint32_t i = 0;
  uint64_t packed() const { return (static_cast<uint64_t>(t) << 32) | i; }
  static Timestamp unpack(uint64_t v) { return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)}; }
  friend bool operator==(Timestamp a, Timestamp b) { return a.packed() == b.packed(); }
  friend bool operator<(Timestamp a, Timestamp b) { return a.packed() < b.packed(); }
  friend bool operator<=(Timestamp a, Timestamp b) { return a.packed() <= b.packed(); }
};

class ClusterClock {
 public:
  ClusterClock();
  // Reserves the next optime: greater than every earlier one, seconds = wall clock when it
  // has moved on.
  Timestamp tick();
  // The newest optime handed out (the cluster time).
  Timestamp now() const { return Timestamp::unpack(last_.load(std::memory_order_acquire)); }
  // Moves the clock forward to at least `ts` (after a restart, or when a client gossips a
  // newer $clusterTime).
  void advance_to(Timestamp ts);
  int64_t term() const { return term_.load(); }
  void set_term(int64_t t) { term_.store(t); }

 private:
  std::mutex mu_;
  std::atomic<uint64_t> last_{0};
  std::atomic<int64_t> term_{1};
};

}  // namespace sim
