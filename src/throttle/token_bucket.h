// Token buckets for the throttle settings (throttle.full.source_qps, rps, mbps and the
// incremental ones). A bucket refills at `rate` tokens per second up to one second's worth;
// a request larger than that is allowed once the bucket is full and leaves it in debt, so a
// big batch is paced rather than refused. Rates change at run time (mongoshift throttle);
// rate 0 means unlimited. Time is passed in, so the arithmetic is testable without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace throttle {

using Clock = std::chrono::steady_clock;

class TokenBucket {
 public:
  explicit TokenBucket(double rate = 0);

  // Changes the rate (0: unlimited). The tokens already saved are capped to the new burst.
  void set_rate(double rate, Clock::time_point now = Clock::now());
  double rate() const;

  // Takes `n` tokens when they are available at `now` and returns 0; otherwise takes nothing
  // and returns how long to wait before asking again.
  Clock::duration try_take(double n, Clock::time_point now);

 private:
  void refill(Clock::time_point now);
  mutable std::mutex mu_;
  double rate_;
  double tokens_;
  Clock::time_point last_;
};

struct Limits {
  int64_t source_qps = 0;  // source read commands per second (0: unlimited)
  int64_t rps = 0;         // documents written per second
  int64_t mbps = 0;        // MB (1,000,000 bytes) written per second

  bool operator==(const Limits&) const = default;
};

// The three buckets of one phase. Waits sleep in short slices so a rate change or a stop
// request takes effect quickly.
class Throttle {
 public:
  explicit Throttle(Limits limits = {});
  void set_limits(const Limits& limits);
  Limits limits() const;

  // Before a source read command. Returns false when `stop` became true while waiting.
  bool before_read(const std::atomic<bool>* stop = nullptr);
  // Before writing `docs` documents of `bytes` bytes.
  bool before_write(int64_t docs, int64_t bytes, const std::atomic<bool>* stop = nullptr);

 private:
  static bool wait(TokenBucket& b, double n, const std::atomic<bool>* stop);
  mutable std::mutex mu_;
  Limits limits_;
  TokenBucket qps_, rps_, bytes_;
};

}  // namespace throttle
