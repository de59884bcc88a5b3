// RawBsonWriter: appends BSON elements straight into a byte string, for the hot paths that
// build the same few shapes millions of times (oplog entries, journal records). It writes
// what libbson's bson_append_* would write, without a bson_t's growth and per-call overhead.
// The caller supplies valid keys (no NUL bytes) and valid embedded documents.
#pragma once

#include <bson/bson.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sim::engine {

// BSON is little-endian; the fixed-size values are copied as the host holds them.
static_assert(std::endian::native == std::endian::little, "RawBsonWriter assumes a little-endian host");

class RawBsonWriter {
 public:
  explicit RawBsonWriter(std::string& out) : out_(out) {}

  // Opens a document (top level, or the value of an element begun with begin_document).
  size_t open() {
    size_t at = out_.size();
    put_u32(0);
    return at;
  }
  // Closes the document opened at `at`: the terminator and its length.
  void close(size_t at) {
    out_.push_back('\0');
    uint32_t len = static_cast<uint32_t>(out_.size() - at);
    std::memcpy(out_.data() + at, &len, 4);
  }
  size_t begin_document(std::string_view key) {
    head(BSON_TYPE_DOCUMENT, key);
    return open();
  }

  void utf8(std::string_view key, std::string_view v) {
    head(BSON_TYPE_UTF8, key);
    put_u32(static_cast<uint32_t>(v.size() + 1));
    out_.append(v.data(), v.size());
    out_.push_back('\0');
  }
  void binary(std::string_view key, bson_subtype_t subtype, std::string_view bytes) {
    head(BSON_TYPE_BINARY, key);
    put_u32(static_cast<uint32_t>(bytes.size()));
    out_.push_back(static_cast<char>(subtype));
    out_.append(bytes.data(), bytes.size());
  }
  // An embedded document given as its complete bytes.
  void document(std::string_view key, std::string_view doc) {
    head(BSON_TYPE_DOCUMENT, key);
    out_.append(doc.data(), doc.size());
  }
  void empty_document(std::string_view key) { document(key, std::string_view("\x05\x00\x00\x00\x00", 5)); }
  // The elements of a complete document (its bytes without the length and terminator).
  void elements_of(std::string_view doc) {
    if (doc.size() > 5) out_.append(doc.data() + 4, doc.size() - 5);
  }
  // One element copied as it is (type, key and value bytes).
  void raw_element(std::string_view element) { out_.append(element.data(), element.size()); }
  void int32(std::string_view key, int32_t v) { fixed(BSON_TYPE_INT32, key, static_cast<uint32_t>(v), 4); }
  void int64(std::string_view key, int64_t v) { fixed(BSON_TYPE_INT64, key, static_cast<uint64_t>(v), 8); }
  void date_time(std::string_view key, int64_t ms) { fixed(BSON_TYPE_DATE_TIME, key, static_cast<uint64_t>(ms), 8); }
  // A BSON timestamp: seconds `t`, increment `i`.
  void timestamp(std::string_view key, uint32_t t, uint32_t i) {
    fixed(BSON_TYPE_TIMESTAMP, key, (static_cast<uint64_t>(t) << 32) | i, 8);
  }

 private:
  // Type, key and a little-endian value of `n` bytes, in one append when the key is short
  // (every key these hot paths write): one capacity check instead of four.
  void fixed(bson_type_t type, std::string_view key, uint64_t v, size_t n) {
    char b[kShortKey + 2 + 8];
    if (key.size() > kShortKey) {
      head(type, key);
      n == 4 ? put_u32(static_cast<uint32_t>(v)) : put_u64(v);
      return;
    }
    size_t at = head_into(b, type, key);
    if (n == 4) {
      auto v32 = static_cast<uint32_t>(v);
      std::memcpy(b + at, &v32, 4);
    } else {
      std::memcpy(b + at, &v, 8);
    }
    out_.append(b, at + n);
  }
  void head(bson_type_t type, std::string_view key) {
    if (key.size() > kShortKey) {
      out_.push_back(static_cast<char>(type));
      out_.append(key.data(), key.size());
      out_.push_back('\0');
      return;
    }
    char b[kShortKey + 2];
    out_.append(b, head_into(b, type, key));
  }
  // Writes type, key and its NUL into `b` (room for kShortKey + 2); returns the length.
  static size_t head_into(char* b, bson_type_t type, std::string_view key) {
    b[0] = static_cast<char>(type);
    std::memcpy(b + 1, key.data(), key.size());
    b[1 + key.size()] = '\0';
    return key.size() + 2;
  }
  static constexpr size_t kShortKey = 54;  // keys up to this length take the one-append path
  void put_u32(uint32_t v) {
    char b[4];
    for (int k = 0; k < 4; ++k) b[k] = static_cast<char>((v >> (8 * k)) & 0xff);
    out_.append(b, 4);
  }
  void put_u64(uint64_t v) {
    char b[8];
    for (int k = 0; k < 8; ++k) b[k] = static_cast<char>((v >> (8 * k)) & 0xff);
    out_.append(b, 8);
  }

  std::string& out_;
};

}  // namespace sim::engine
