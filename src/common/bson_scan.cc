// Raw BSON scanning fast paths (see bson_scan.h).
#include "common/bson_scan.h"

#include <cstring>

namespace common {

namespace {

uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Bytes after the key of an element of `type` whose value starts at `v` (`avail` bytes
// before the document's terminator), or -1 when this scanner leaves the element to libbson.
// Checks what libbson's iterator checks for these types; strings must end with a NUL.
int64_t value_size(uint8_t type, const uint8_t* v, size_t avail) {
  switch (type) {
    case 0x01:  // double
    case 0x09:  // date
    case 0x11:  // timestamp
    case 0x12:  // int64
      return avail >= 8 ? 8 : -1;
    case 0x10:  // int32
      return avail >= 4 ? 4 : -1;
    case 0x07:  // ObjectId
      return avail >= 12 ? 12 : -1;
    case 0x13:  // decimal128
      return avail >= 16 ? 16 : -1;
    case 0x0A:  // null
      return 0;
    case 0x08:  // bool
      return avail >= 1 && v[0] <= 1 ? 1 : -1;
    case 0x02: {  // string
      if (avail < 4) return -1;
      uint32_t n = read_u32(v);
      if (n < 1 || n > avail - 4 || v[4 + n - 1] != 0) return -1;
      return 4 + static_cast<int64_t>(n);
    }
    case 0x03:    // document
    case 0x04: {  // array
      if (avail < 4) return -1;
      uint32_t n = read_u32(v);
      if (n < 5 || n > avail || v[n - 1] != 0) return -1;
      return n;
    }
    case 0x05: {  // binary (the old subtype 2 has an inner length: left to libbson)
      if (avail < 5) return -1;
      uint32_t n = read_u32(v);
      if (n > avail - 5 || v[4] == 0x02) return -1;
      return 5 + static_cast<int64_t>(n);
    }
    default:
      return -1;
  }
}

bool ascii(const uint8_t* p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= p[i];
  return (acc & 0x80) == 0;
}

}  // namespace

int64_t scan_for_key(const uint8_t* d, uint32_t len, std::string_view key) {
  if (len < 5 || read_u32(d) != len || d[len - 1] != 0 || key.empty()) return -1;
  size_t end = len - 1;  // the terminator
  size_t p = 4;
  while (p < end) {
    const uint8_t type = d[p];
    const uint8_t* k = d + p + 1;
    const void* z = std::memchr(k, 0, end - (p + 1));
    if (!z) return -1;
    size_t klen = static_cast<size_t>(static_cast<const uint8_t*>(z) - k);
    if (klen == key.size() && std::memcmp(k, key.data(), klen) == 0) return static_cast<int64_t>(p);
    size_t v = p + 1 + klen + 1;
    int64_t n = value_size(type, d + v, end - v);
    if (n < 0) return -1;
    p = v + static_cast<size_t>(n);
  }
  return p == end ? 0 : -1;
}

std::optional<std::string_view> scan_element(const uint8_t* d, uint32_t len, std::string_view key) {
  int64_t p = scan_for_key(d, len, key);
  if (p < 0) return std::nullopt;
  if (p == 0) return std::string_view();
  size_t at = static_cast<size_t>(p);
  size_t v = at + 1 + key.size() + 1;
  int64_t n = value_size(d[at], d + v, (len - 1) - v);
  if (n < 0) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(d + at), v - at + static_cast<size_t>(n));
}

namespace {
thread_local const FrozenFieldIndex* t_frozen = nullptr;
}  // namespace

FrozenFieldIndex::FrozenFieldIndex(const bson_t* doc)
    : data_(bson_get_data(doc)), len_(doc->len), outer_(t_frozen) {
  t_frozen = this;
  const uint8_t* d = data_;
  if (len_ < 5 || read_u32(d) != len_ || d[len_ - 1] != 0) return;
  size_t end = len_ - 1;
  size_t p = 4;
  int n = 0;
  while (p < end) {
    if (n == kMaxFields) return;
    const uint8_t* k = d + p + 1;
    const void* z = std::memchr(k, 0, end - (p + 1));
    if (!z) return;
    size_t klen = static_cast<size_t>(static_cast<const uint8_t*>(z) - k);
    entries_[n++] = Entry{reinterpret_cast<const char*>(k), static_cast<uint32_t>(klen), static_cast<uint32_t>(p)};
    size_t v = p + 1 + klen + 1;
    int64_t size = value_size(d[p], d + v, end - v);
    if (size < 0) return;
    p = v + static_cast<size_t>(size);
  }
  if (p == end) count_ = n;
}

FrozenFieldIndex::~FrozenFieldIndex() { t_frozen = outer_; }

const FrozenFieldIndex* FrozenFieldIndex::current() { return t_frozen; }

int64_t FrozenFieldIndex::lookup(std::string_view key) const {
  if (count_ < 0 || key.empty()) return -1;
  for (int i = 0; i < count_; ++i) {
    const Entry& e = entries_[i];
    if (e.key_len == key.size() && std::memcmp(e.key, key.data(), key.size()) == 0) return e.offset;
  }
  return 0;
}

bool quick_valid(const uint8_t* d, size_t len, int max_depth) {
  constexpr int kMaxLevels = 64;
  if (max_depth > kMaxLevels) max_depth = kMaxLevels;
  if (len < 5 || read_u32(d) != len || d[len - 1] != 0) return false;
  size_t ends[kMaxLevels];  // the terminator of each open document
  int depth = 0;
  ends[0] = len - 1;
  size_t p = 4;
  while (true) {
    size_t end = ends[depth];
    if (p == end) {
      ++p;
      if (depth == 0) return p == len;
      --depth;
      continue;
    }
    if (p > end) return false;
    const uint8_t type = d[p];
    const uint8_t* k = d + p + 1;
    const void* z = std::memchr(k, 0, end - (p + 1));
    if (!z) return false;
    size_t klen = static_cast<size_t>(static_cast<const uint8_t*>(z) - k);
    if (!ascii(k, klen)) return false;
    size_t v = p + 1 + klen + 1;
    int64_t n = value_size(type, d + v, end - v);
    if (n < 0) return false;
    if (type == 0x02 && !ascii(d + v + 4, static_cast<size_t>(n) - 5)) return false;
    if (type == 0x03 || type == 0x04) {
      if (depth + 2 > max_depth) return false;
      ends[++depth] = v + static_cast<size_t>(n) - 1;
      p = v + 4;
      continue;
    }
    p = v + static_cast<size_t>(n);
  }
}

}  // namespace common
