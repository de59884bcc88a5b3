// RecordStore: the documents of a collection by RecordId, in RecordId order, found in O(1).
//
// A collection hands out RecordIds in increasing order, so the store is a deque of slots:
// slot i holds RecordId base + i, or a null DocRef once that record is removed. Finding a
// record by RecordId (every index scan does it for every key) is an index into the deque
// instead of a descent through a tree with a cache miss per level, and a record costs 8
// bytes of slot instead of a tree node. Removed slots at the front are dropped, so a capped
// collection or a queue stays small; slots removed in the middle stay until then (8 bytes
// each). Iteration skips removed slots.
#pragma once

#include <cstdint>
#include <deque>
#include <iterator>

#include "sim/engine/doc.h"

namespace sim::engine {

class RecordStore {
 public:
  // What an iterator yields, shaped like a map's value_type: {RecordId, document}.
  struct Entry {
    int64_t first;
    const DocRef& second;
  };

  class const_iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Entry;

    const_iterator() = default;
    Entry operator*() const { return {s_->base_ + static_cast<int64_t>(i_), s_->slots_[i_]}; }
    struct Arrow {
      Entry e;
      const Entry* operator->() const { return &e; }
    };
    Arrow operator->() const { return {**this}; }
    const_iterator& operator++() {
      ++i_;
      while (i_ < s_->slots_.size() && !s_->slots_[i_]) ++i_;
      return *this;
    }
    const_iterator& operator--() {
      do {
        --i_;
      } while (i_ > 0 && !s_->slots_[i_]);
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    friend class RecordStore;
    const_iterator(const RecordStore* s, size_t i) : s_(s), i_(i) {}
    const RecordStore* s_ = nullptr;
    size_t i_ = 0;
  };

  const_iterator begin() const { return first_live_from(0); }
  const_iterator end() const { return {this, slots_.size()}; }
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

  const DocRef* find_ptr(int64_t rid) const {
    if (rid < base_ || rid >= base_ + static_cast<int64_t>(slots_.size())) return nullptr;
    const DocRef& d = slots_[static_cast<size_t>(rid - base_)];
    return d ? &d : nullptr;
  }
  DocRef* find_ptr(int64_t rid) { return const_cast<DocRef*>(static_cast<const RecordStore*>(this)->find_ptr(rid)); }
  const_iterator find(int64_t rid) const {
    return find_ptr(rid) ? const_iterator(this, static_cast<size_t>(rid - base_)) : end();
  }
  // The first record with RecordId > rid / >= rid.
  const_iterator upper_bound(int64_t rid) const { return lower_bound(rid + 1); }
  const_iterator lower_bound(int64_t rid) const {
    if (rid < base_) return begin();
    return first_live_from(static_cast<size_t>(rid - base_));
  }
  int64_t first_rid() const { return empty() ? -1 : begin()->first; }
  int64_t last_rid() const { return empty() ? -1 : std::prev(end())->first; }

  // Stores record `rid`, which must not be present (RecordIds come in increasing order;
  // a gap before it is left as removed slots).
  DocRef& emplace(int64_t rid, DocRef doc) {
    if (slots_.empty()) base_ = rid;
    if (rid < base_) {  // before the front (never for RecordIds handed out in order)
      slots_.insert(slots_.begin(), static_cast<size_t>(base_ - rid), DocRef());
      base_ = rid;
    }
    auto i = static_cast<size_t>(rid - base_);
    if (i >= slots_.size()) slots_.resize(i + 1);
    slots_[i] = std::move(doc);
    ++live_;
    return slots_[i];
  }
  // Removes record `rid` (if present) and returns its document.
  DocRef erase(int64_t rid) {
    DocRef* d = find_ptr(rid);
    if (!d) return DocRef();
    DocRef out = std::move(*d);
    *d = DocRef();
    --live_;
    while (!slots_.empty() && !slots_.front()) {
      slots_.pop_front();
      ++base_;
    }
    while (!slots_.empty() && !slots_.back()) slots_.pop_back();
    return out;
  }
  void clear() {
    slots_.clear();
    live_ = 0;
  }

 private:
  const_iterator first_live_from(size_t i) const {
    if (i > slots_.size()) i = slots_.size();
    while (i < slots_.size() && !slots_[i]) ++i;
    return {this, i};
  }

  std::deque<DocRef> slots_;
  int64_t base_ = 0;
  size_t live_ = 0;
};

}  // namespace sim::engine
