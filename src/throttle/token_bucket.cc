#include "throttle/token_bucket.h"

#include <algorithm>
#include <thread>

namespace throttle {

TokenBucket::TokenBucket(double rate) : rate_(std::max(0.0, rate)), tokens_(rate_), last_(Clock::now()) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now > last_) {
    double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(rate_, tokens_ + secs * rate_);
    last_ = now;
  }
}

void TokenBucket::set_rate(double rate, Clock::time_point now) {
  std::lock_guard<std::mutex> g(mu_);
  refill(now);
  rate_ = std::max(0.0, rate);
  tokens_ = std::min(tokens_, rate_);
}

double TokenBucket::rate() const {
  std::lock_guard<std::mutex> g(mu_);
  return rate_;
}

Clock::duration TokenBucket::try_take(double n, Clock::time_point now) {
  std::lock_guard<std::mutex> g(mu_);
  if (rate_ <= 0) return Clock::duration::zero();
  refill(now);
  // A request above one second's worth waits for a full bucket and then goes into debt.
  double need = std::min(n, rate_);
  if (tokens_ >= need) {
    tokens_ -= n;
    return Clock::duration::zero();
  }
  double secs = (need - tokens_) / rate_;
  return std::max<Clock::duration>(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs)),
                                   std::chrono::microseconds(1));
}

Throttle::Throttle(Limits limits) { set_limits(limits); }

void Throttle::set_limits(const Limits& limits) {
  std::lock_guard<std::mutex> g(mu_);
  limits_ = limits;
  qps_.set_rate(static_cast<double>(limits.source_qps));
  rps_.set_rate(static_cast<double>(limits.rps));
  bytes_.set_rate(static_cast<double>(limits.mbps) * 1e6);
}

Limits Throttle::limits() const {
  std::lock_guard<std::mutex> g(mu_);
  return limits_;
}

bool Throttle::wait(TokenBucket& b, double n, const std::atomic<bool>* stop) {
  while (true) {
    if (stop && stop->load()) return false;
    auto d = b.try_take(n, Clock::now());
    if (d == Clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(d, std::chrono::milliseconds(100)));
  }
}

bool Throttle::before_read(const std::atomic<bool>* stop) { return wait(qps_, 1, stop); }

bool Throttle::before_write(int64_t docs, int64_t bytes, const std::atomic<bool>* stop) {
  return wait(rps_, static_cast<double>(docs), stop) && wait(bytes_, static_cast<double>(bytes), stop);
}

}  // namespace throttle
