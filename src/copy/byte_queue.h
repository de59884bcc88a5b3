// A queue of batches bounded by bytes (copy.queue_mb) and by a number of items: producers
// block while the queue holds more than either bound, so memory stays flat whatever the data
// size and back-pressure reaches the readers (the item bound keeps the readers just ahead of
// the writers when batches are small). A batch larger than the byte bound is still accepted
// when the queue is empty.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace copy {

template <typename T>
class ByteQueue {
 public:
  explicit ByteQueue(int64_t max_bytes, size_t max_items = SIZE_MAX) : max_bytes_(max_bytes), max_items_(max_items) {}

  // False when the queue was closed (the item is dropped).
  bool push(T item, int64_t bytes) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] {
      return closed_ || items_.empty() || (used_ + bytes <= max_bytes_ && items_.size() < max_items_);
    });
    if (closed_) return false;
    used_ += bytes;
    peak_ = std::max(peak_, used_);
    items_.push_back({std::move(item), bytes});
    not_empty_.notify_one();
    return true;
  }
  // nullopt once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    Entry e = std::move(items_.front());
    items_.pop_front();
    used_ -= e.bytes;
    not_full_.notify_all();
    return std::move(e.item);
  }
  // Producers are done (or the copy stops): pops drain what is left, pushes fail.
  void close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  int64_t peak_bytes() const {
    std::lock_guard<std::mutex> l(mu_);
    return peak_;
  }

 private:
  struct Entry {
    T item;
    int64_t bytes;
  };
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Entry> items_;
  int64_t max_bytes_;
  size_t max_items_;
  int64_t used_ = 0;
  int64_t peak_ = 0;
  bool closed_ = false;
};

}  // namespace copy
