// Thin helpers over libbson. Documents are kept as raw BSON bytes (bson_t); nothing here
// decodes into a DOM. `Bson` owns a document; `const bson_t*` is the borrowed view.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace common {

// An owning, copyable, movable BSON document.
class Bson {
 public:
  Bson() { bson_init(&b_); }
  // Copies `len` bytes of a BSON document. The bytes must be a valid document header; use
  // Bson::parse for untrusted input.
  Bson(const uint8_t* data, size_t len);
  explicit Bson(const bson_t* src) { bson_copy_to(src, &b_); }
  // Takes ownership of an initialized bson_t (the source is left empty and reinitialized).
  static Bson steal(bson_t* src);
  // Validates untrusted bytes (length, structure, UTF-8 of keys) before copying.
  static Result<Bson> parse(const uint8_t* data, size_t len);
  // Parses MongoDB extended JSON (canonical or relaxed).
  static Result<Bson> from_json(std::string_view json);

  Bson(const Bson& o) { bson_copy_to(&o.b_, &b_); }
  Bson(Bson&& o) noexcept;
  Bson& operator=(const Bson& o);
  Bson& operator=(Bson&& o) noexcept;
  ~Bson() { bson_destroy(&b_); }

  const bson_t* get() const { return &b_; }
  bson_t* mut() { return &b_; }
  const uint8_t* data() const { return bson_get_data(&b_); }
  uint32_t size() const { return b_.len; }
  bool empty() const { return bson_count_keys(&b_) == 0; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data()), size()}; }

  // Relaxed extended JSON, for logs and messages.
  std::string json() const;
  std::string canonical_json() const;

 private:
  bson_t b_;
};

// A read-only document view over bytes that must outlive it. Unlike a bson_t it may be
// copied and stored in containers: a static bson_t points into itself, so copying one by
// value leaves it pointing at the original.
class BsonView {
 public:
  BsonView(const uint8_t* data, uint32_t len) { bson_init_static(&b_, data, len); }
  explicit BsonView(const bson_t* b) : BsonView(bson_get_data(b), b->len) {}
  BsonView(const BsonView& o) : BsonView(o.data(), o.size()) {}
  BsonView& operator=(const BsonView& o) {
    bson_init_static(&b_, o.data(), o.size());
    return *this;
  }
  const bson_t* get() const { return &b_; }
  const uint8_t* data() const { return bson_get_data(&b_); }
  uint32_t size() const { return b_.len; }

 private:
  bson_t b_;
};

// A read-only view over bytes that must outlive it (bson_init_static).
inline bson_t view_of(const uint8_t* data, size_t len) {
  bson_t b;
  bson_init_static(&b, data, len);
  return b;
}

std::string to_json(const bson_t* doc);            // relaxed extended JSON
std::string to_canonical_json(const bson_t* doc);  // canonical extended JSON
// A single value as relaxed extended JSON (`1`, `"x"`, `{"$oid": ...}`).
std::string value_to_json(const bson_value_t* v);

// The server's BSONObj::toString form used inside its error messages: `{ a: 1, b: "x" }`,
// `[ 1, 2 ]`, `ObjectId('…')`, `new Date(…)`, `1.0` for integral doubles.
std::string to_server_string(const bson_t* doc);
std::string value_to_server_string(const bson_value_t* v);

// The name MongoDB uses for a BSON type ("double", "string", "objectId", ...) in messages
// and in $type.
const char* type_alias(bson_type_t t);

// Field lookup in a document (top level only). Returns false when absent.
bool find_field(const bson_t* doc, std::string_view key, bson_iter_t* out);

// Typed getters for command parsing; each returns a Status naming the field when the type is
// wrong. `absent` is returned when the field is missing.
Result<bool> get_bool(const bson_t* doc, std::string_view key, bool absent);
Result<int64_t> get_int(const bson_t* doc, std::string_view key, int64_t absent);  // any numeric
Result<std::string> get_string(const bson_t* doc, std::string_view key, std::string absent);
// Lenient readers of replies: the string field's value, or "" when absent or not a string;
// whether the field is present and truthy.
std::string string_or_empty(const bson_t* doc, std::string_view key);
bool field_is_true(const bson_t* doc, std::string_view key);

// Truthiness as MongoDB evaluates command flags: false, 0, null, undefined, missing → false.
bool value_truthy(const bson_iter_t* it);

// Appends helpers taking string_view keys.
inline void append_utf8(bson_t* b, std::string_view k, std::string_view v) {
  bson_append_utf8(b, k.data(), static_cast<int>(k.size()), v.data(), static_cast<int>(v.size()));
}
inline void append_int32(bson_t* b, std::string_view k, int32_t v) {
  bson_append_int32(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_int64(bson_t* b, std::string_view k, int64_t v) {
  bson_append_int64(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_double(bson_t* b, std::string_view k, double v) {
  bson_append_double(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_bool(bson_t* b, std::string_view k, bool v) {
  bson_append_bool(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_doc(bson_t* b, std::string_view k, const bson_t* v) {
  bson_append_document(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_array(bson_t* b, std::string_view k, const bson_t* v) {
  bson_append_array(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_value(bson_t* b, std::string_view k, const bson_value_t* v) {
  bson_append_value(b, k.data(), static_cast<int>(k.size()), v);
}
inline void append_iter(bson_t* b, std::string_view k, const bson_iter_t* it) {
  bson_append_iter(b, k.data(), static_cast<int>(k.size()), it);
}
// The decimal key of array index i ("0", "1", ...), without allocation for small i.
std::string_view array_key(uint32_t i, char (&buf)[16]);

}  // namespace common
