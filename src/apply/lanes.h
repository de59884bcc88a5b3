// Apply lanes: each operation goes to the lane of hash(target namespace, document key) (or of
// the namespace alone for "ordered" namespaces), so one document's changes stay in order and
// different documents apply in parallel. A lane takes up to batch_ops operations at a time
// and writes them with write_batch (bulk writes), retrying within the task's retry windows.
// The queues together hold at most queue_bytes: push blocks until there is room
// (back-pressure to the reader).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "apply/apply_op.h"
#include "client/client.h"
#include "common/status.h"
#include "task/options.h"
#include "throttle/retry.h"
#include "throttle/token_bucket.h"

namespace apply {

struct LaneOptions {
  int lanes = 8;
  int batch_ops = 1000;
  int64_t queue_bytes = 256LL << 20;
  task::RetryOptions retry;
};

class Lanes {
 public:
  // `tolerant(op)`: see write_batch. `throttle` and `interrupt` may be null; when `interrupt`
  // becomes true, push and drain stop waiting.
  Lanes(const LaneOptions& options, client::Pool* destination, throttle::Throttle* throttle,
        std::function<bool(const ApplyOp&)> tolerant, const std::atomic<bool>* interrupt = nullptr);
  ~Lanes();
  Lanes(const Lanes&) = delete;
  Lanes& operator=(const Lanes&) = delete;

  // False when a lane has failed (error() says why).
  bool push(ApplyOp op);
  // Waits until every pushed operation is applied; the first lane error, if any.
  common::Status drain();
  // The smallest sequence number not yet applied, if any.
  std::optional<uint64_t> min_pending() const;
  common::Status error() const;
  bool retrying() const { return retrying_.load() > 0; }
  std::string retry_reason() const;
  int64_t applied() const { return applied_.load(); }
  int64_t queued_bytes() const { return bytes_.load(); }

 private:
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<ApplyOp> queue;
    std::vector<ApplyOp> batch;  // being written
  };
  void run(Lane& lane);
  void fail(const common::Status& s);
  bool interrupted() const { return interrupt_ && interrupt_->load(); }
  // Waits on state_cv_ until `ready` or an interrupt; false when interrupted.
  bool wait_until(std::unique_lock<std::mutex>& g, const std::function<bool()>& ready);

  LaneOptions options_;
  throttle::RetryWindows windows_;
  client::Pool* pool_;
  throttle::Throttle* throttle_;
  std::function<bool(const ApplyOp&)> tolerant_;
  const std::atomic<bool>* interrupt_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> applied_{0};
  std::atomic<int> retrying_{0};
  mutable std::mutex state_mu_;  // error_, retry_reason_, and waits for room / drain
  std::condition_variable state_cv_;
  common::Status error_;
  std::string retry_reason_;
};

}  // namespace apply
