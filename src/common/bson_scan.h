// Fast paths over raw BSON bytes for the two things every command does many times: finding a
// top-level field and validating a document from the wire. Both handle the common element
// types themselves and answer "not sure" for anything unusual, so callers fall back to
// libbson's own (slower, exact) code and the results never differ from libbson's.
#pragma once

#include <bson/bson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace common {

// The offset of the first top-level element named `key` (> 0), 0 when the document has no
// such element, or -1 when the bytes hold something this scanner leaves to libbson.
int64_t scan_for_key(const uint8_t* data, uint32_t len, std::string_view key);

// The whole first top-level element named `key` (type, key and value bytes); empty when the
// document has no such element; nullopt when the bytes hold something this scanner leaves
// to libbson.
std::optional<std::string_view> scan_element(const uint8_t* data, uint32_t len, std::string_view key);

// True only when the document is certainly valid as libbson's bson_validate with
// BSON_VALIDATE_UTF8_ALLOW_NULL sees it, nested at most `max_depth` levels (the top level
// being 1), with ASCII keys and strings. False means "check it the slow way", not "invalid".
bool quick_valid(const uint8_t* data, size_t len, int max_depth);

// While alive, find_field answers lookups in the top level of `doc` from an index of its
// fields built once here, instead of walking the document each time: for the body of the
// running command, which is looked up dozens of times and never changes while it runs. The
// bytes of `doc` must stay alive and unchanged for the lifetime of this object. Nests (one
// per thread at a time is consulted: the innermost).
class FrozenFieldIndex {
 public:
  explicit FrozenFieldIndex(const bson_t* doc);
  ~FrozenFieldIndex();
  FrozenFieldIndex(const FrozenFieldIndex&) = delete;
  FrozenFieldIndex& operator=(const FrozenFieldIndex&) = delete;

  // The innermost index of this thread, or null.
  static const FrozenFieldIndex* current();
  bool covers(const bson_t* doc) const { return bson_get_data(doc) == data_ && doc->len == len_; }
  // As scan_for_key for the frozen document.
  int64_t lookup(std::string_view key) const;

 private:
  static constexpr int kMaxFields = 32;
  struct Entry {
    const char* key;
    uint32_t key_len;
    uint32_t offset;
  };
  const uint8_t* data_;
  uint32_t len_;
  Entry entries_[kMaxFields];
  int count_ = -1;  // -1: not indexed (too many fields, or something left to libbson)
  const FrozenFieldIndex* outer_;
};

}  // namespace common
