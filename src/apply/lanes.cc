#include "apply/lanes.h"

#include <functional>

#include "apply/bulk.h"
#include "common/log.h"

namespace apply {

namespace {

size_t lane_of(const ApplyOp& op, size_t lanes) {
  std::hash<std::string_view> h;
  size_t v = h(op.db) * 31 + h(op.coll);
  if (!op.ordered) v = v * 1000003 + h(op.key.bytes());
  return v % lanes;
}

}  // namespace

Lanes::Lanes(const LaneOptions& options, client::Pool* destination, throttle::Throttle* throttle,
             std::function<bool(const ApplyOp&)> tolerant, const std::atomic<bool>* interrupt)
    : options_(options), pool_(destination), throttle_(throttle), tolerant_(std::move(tolerant)), interrupt_(interrupt) {
  windows_.connection = std::chrono::minutes(options_.retry.connection_minutes);
  windows_.other = std::chrono::minutes(options_.retry.other_minutes);
  int n = std::max(1, options_.lanes);
  for (int k = 0; k < n; ++k) lanes_.push_back(std::make_unique<Lane>());
  for (auto& l : lanes_) threads_.emplace_back([this, lane = l.get()] { run(*lane); });
}

Lanes::~Lanes() {
  stopping_ = true;
  for (auto& l : lanes_) {
    std::lock_guard<std::mutex> g(l->mu);
    l->cv.notify_all();
  }
  state_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Lanes::fail(const common::Status& s) {
  std::lock_guard<std::mutex> g(state_mu_);
  if (error_.ok()) error_ = s;
  state_cv_.notify_all();
}

common::Status Lanes::error() const {
  std::lock_guard<std::mutex> g(state_mu_);
  return error_;
}

std::string Lanes::retry_reason() const {
  std::lock_guard<std::mutex> g(state_mu_);
  return retry_reason_;
}

bool Lanes::wait_until(std::unique_lock<std::mutex>& g, const std::function<bool()>& ready) {
  while (!ready()) {
    if (interrupted()) return false;
    state_cv_.wait_for(g, std::chrono::milliseconds(100));
  }
  return true;
}

bool Lanes::push(ApplyOp op) {
  int64_t size = static_cast<int64_t>(op.bytes());
  {
    std::unique_lock<std::mutex> g(state_mu_);
    bool room = wait_until(g, [&] {
      return !error_.ok() || stopping_ || bytes_.load() == 0 || bytes_.load() + size <= options_.queue_bytes;
    });
    if (!room || !error_.ok() || stopping_) return false;
  }
  bytes_ += size;
  Lane& lane = *lanes_[lane_of(op, lanes_.size())];
  std::lock_guard<std::mutex> g(lane.mu);
  lane.queue.push_back(std::move(op));
  lane.cv.notify_one();
  return true;
}

std::optional<uint64_t> Lanes::min_pending() const {
  std::optional<uint64_t> m;
  for (const auto& l : lanes_) {
    std::lock_guard<std::mutex> g(l->mu);
    std::optional<uint64_t> v;
    if (!l->batch.empty()) v = l->batch.front().seq;
    else if (!l->queue.empty()) v = l->queue.front().seq;
    if (v && (!m || *v < *m)) m = v;
  }
  return m;
}

common::Status Lanes::drain() {
  std::unique_lock<std::mutex> g(state_mu_);
  if (!wait_until(g, [&] { return !error_.ok() || stopping_ || bytes_.load() == 0; })) {
    return common::Status(common::kInterrupted, "interrupted while changes were being applied");
  }
  return error_;
}

void Lanes::run(Lane& lane) {
  while (true) {
    {
      std::unique_lock<std::mutex> g(lane.mu);
      lane.cv.wait(g, [&] { return stopping_ || !lane.queue.empty(); });
      if (stopping_) return;
      size_t n = std::min(lane.queue.size(), static_cast<size_t>(std::max(1, options_.batch_ops)));
      lane.batch.assign(std::make_move_iterator(lane.queue.begin()), std::make_move_iterator(lane.queue.begin() + n));
      lane.queue.erase(lane.queue.begin(), lane.queue.begin() + n);
    }
    int64_t size = 0;
    for (const auto& op : lane.batch) size += static_cast<int64_t>(op.bytes());
    if (throttle_ && !throttle_->before_write(static_cast<int64_t>(lane.batch.size()), size, &stopping_)) return;
    int attempt = 0;
    bool counted = false;
    common::Status st = throttle::with_retries(
        "applying changes to the destination", windows_, &stopping_,
        [&] {
          // A retried batch may have been partly applied: everything in it is tolerant.
          auto tolerant = [&](const ApplyOp& op) { return attempt > 0 || tolerant_(op); };
          client::Connection c = pool_->acquire();
          auto r = write_batch(c.raw(), lane.batch, tolerant);
          ++attempt;
          return r.status();
        },
        [&](const common::Status& failure, int) {
          std::lock_guard<std::mutex> g(state_mu_);
          retry_reason_ = failure.to_string();
          if (!counted) MS_LOG_WARN("incremental: retrying a batch of {} changes: {}", lane.batch.size(), retry_reason_);
          if (!counted) ++retrying_;
          counted = true;
        });
    if (counted) --retrying_;
    if (!st.ok()) {
      if (!stopping_) fail(st);
      return;
    }
    {
      std::lock_guard<std::mutex> g(lane.mu);
      applied_ += static_cast<int64_t>(lane.batch.size());
      lane.batch.clear();
    }
    bytes_ -= size;
    std::lock_guard<std::mutex> g(state_mu_);
    state_cv_.notify_all();
  }
}

}  // namespace apply
