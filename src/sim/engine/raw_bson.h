// RawBsonWriter: appends BSON elements straight into a byte string, for the hot paths that
// build the same few shapes millions of times (oplog entries, journal records). It writes
// what libbson's bson_append_* would write, without a bson_t's growth and per-call overhead.
// The caller supplies valid keys (no NUL bytes) and valid embedded documents.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sim::engine {

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
  void int32(std::string_view key, int32_t v) {
    head(BSON_TYPE_INT32, key);
    put_u32(static_cast<uint32_t>(v));
  }
  void int64(std::string_view key, int64_t v) {
    head(BSON_TYPE_INT64, key);
    put_u64(static_cast<uint64_t>(v));
  }
  void date_time(std::string_view key, int64_t ms) {
    head(BSON_TYPE_DATE_TIME, key);
    put_u64(static_cast<uint64_t>(ms));
  }
  // A BSON timestamp: seconds `t`, increment `i`.
  void timestamp(std::string_view key, uint32_t t, uint32_t i) {
    head(BSON_TYPE_TIMESTAMP, key);
    put_u64((static_cast<uint64_t>(t) << 32) | i);
  }

 private:
  void head(bson_type_t type, std::string_view key) {
    out_.push_back(static_cast<char>(type));
    out_.append(key.data(), key.size());
    out_.push_back('\0');
  }
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
