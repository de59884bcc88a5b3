// DocRef: an immutable, reference-counted BSON document as stored by the engine. A stored
// document never changes in place; an update stores a new DocRef. Cursors, sorted result
// sets and change events hold references instead of copies, so a batch is built with one
// memcpy per document and nothing is decoded on the read path.
#pragma once

#include <bson/bson.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "common/bson.h"

namespace sim::engine {

class DocRef {
 public:
  DocRef() = default;
  // Copies `len` bytes of a validated BSON document.
  static DocRef copy(const uint8_t* data, uint32_t len) {
    void* mem = std::malloc(sizeof(Header) + len);
    if (!mem) throw std::bad_alloc();
    auto* h = new (mem) Header{};
    h->refs.store(1, std::memory_order_relaxed);
    h->len = len;
    std::memcpy(reinterpret_cast<uint8_t*>(mem) + sizeof(Header), data, len);
    return DocRef(h);
  }
  static DocRef copy(const bson_t* b) { return copy(bson_get_data(b), b->len); }

  DocRef(const DocRef& o) : h_(o.h_) {
    if (h_) h_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  DocRef(DocRef&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  DocRef& operator=(DocRef o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~DocRef() {
    if (h_ && h_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      h_->~Header();
      std::free(h_);
    }
  }

  explicit operator bool() const { return h_ != nullptr; }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(h_ + 1); }
  uint32_t size() const { return h_ ? h_->len : 0; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data()), size()}; }
  // A read-only bson_t over the bytes (valid while this DocRef lives).
  bson_t view() const {
    bson_t b;
    bson_init_static(&b, data(), h_->len);
    return b;
  }
  // An owning copy (empty when null).
  common::Bson bson() const { return h_ ? common::Bson(data(), h_->len) : common::Bson(); }
  // A null DocRef for an empty document, else a copy of it (compact optional fields).
  static DocRef copy_unless_empty(const common::Bson& b) { return b.empty() ? DocRef() : copy(b.get()); }

  // Heap bytes held by this document (for memory accounting).
  size_t footprint() const { return h_ ? sizeof(Header) + h_->len : 0; }

 private:
  struct Header {
    std::atomic<int32_t> refs;
    uint32_t len;
  };
  explicit DocRef(Header* h) : h_(h) {}
  Header* h_ = nullptr;
};

}  // namespace sim::engine
