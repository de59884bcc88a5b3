// Small owning wrappers over libbson used by the spec-test runners (documents, single values,
// Extended JSON loading) so that the runner code stays free of manual bson_destroy calls.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spec {

// An owning bson_t document.
class Doc {
 public:
  Doc() { bson_init(&b_); }
  explicit Doc(const bson_t* src) { bson_copy_to(src, &b_); }
  Doc(const uint8_t* data, size_t len) {
    bson_init(&b_);
    bson_t tmp;
    if (bson_init_static(&tmp, data, len)) {
      bson_destroy(&b_);
      bson_copy_to(&tmp, &b_);
    }
  }
  Doc(const Doc& o) { bson_copy_to(&o.b_, &b_); }
  Doc(Doc&& o) noexcept {
    bson_copy_to(&o.b_, &b_);
  }
  Doc& operator=(const Doc& o) {
    if (this != &o) {
      bson_destroy(&b_);
      bson_copy_to(&o.b_, &b_);
    }
    return *this;
  }
  Doc& operator=(Doc&& o) noexcept { return *this = static_cast<const Doc&>(o); }
  ~Doc() { bson_destroy(&b_); }

  bson_t* get() { return &b_; }
  const bson_t* get() const { return &b_; }
  bool empty() const { return bson_count_keys(&b_) == 0; }
  std::string json() const;
  // Iterator positioned on `key` (top-level) or nullopt.
  std::optional<bson_iter_t> find(const char* key) const;
  // Reinitialize from a JSON string; false if it does not parse.
  static std::optional<Doc> from_json(const std::string& json, std::string* err = nullptr);

 private:
  bson_t b_;
};

// One owned BSON value (stored as the field "v" of a document), or "missing".
class Val {
 public:
  Val() = default;
  explicit Val(const bson_iter_t* it) { set(it); }
  static Val from_doc(const bson_t* d) {
    Val v;
    BSON_APPEND_DOCUMENT(v.d_.get(), "v", d);
    v.has_ = true;
    return v;
  }
  static Val from_array(const bson_t* a) {
    Val v;
    BSON_APPEND_ARRAY(v.d_.get(), "v", a);
    v.has_ = true;
    return v;
  }
  static Val from_value(const bson_value_t* val) {
    Val v;
    BSON_APPEND_VALUE(v.d_.get(), "v", val);
    v.has_ = true;
    return v;
  }
  static Val from_int64(int64_t i) {
    Val v;
    BSON_APPEND_INT64(v.d_.get(), "v", i);
    v.has_ = true;
    return v;
  }
  static Val from_utf8(const std::string& s) {
    Val v;
    BSON_APPEND_UTF8(v.d_.get(), "v", s.c_str());
    v.has_ = true;
    return v;
  }
  static Val null() {
    Val v;
    BSON_APPEND_NULL(v.d_.get(), "v");
    v.has_ = true;
    return v;
  }
  void set(const bson_iter_t* it) {
    d_ = Doc();
    bson_append_iter(d_.get(), "v", 1, it);
    has_ = true;
  }
  bool missing() const { return !has_; }
  bson_iter_t iter() const {
    bson_iter_t it;
    bson_iter_init_find(&it, d_.get(), "v");
    return it;
  }
  bson_type_t type() const {
    if (!has_) return BSON_TYPE_EOD;
    bson_iter_t it = iter();
    return bson_iter_type(&it);
  }
  // Only valid when type() is document or array.
  Doc as_doc() const;
  std::string json() const;
  const bson_t* wrapper() const { return d_.get(); }

 private:
  Doc d_;
  bool has_ = false;
};

// Parses a whole Extended JSON file (one document) keeping exact BSON types.
std::optional<Doc> load_json_file(const std::string& path, std::string* err);
// Sub-document/array of the iterator (copies).
Doc iter_doc(const bson_iter_t* it);
// Relaxed Extended JSON of a value, for messages.
std::string iter_json(const bson_iter_t* it);
// Numeric value of an int32/int64/double/decimal-free iterator; nullopt for others.
std::optional<double> iter_number(const bson_iter_t* it);
bool is_number(bson_type_t t);
// String field helpers; empty/nullopt when absent or of another type.
std::optional<std::string> get_str(const bson_t* d, const char* key);
std::optional<bool> get_bool(const bson_t* d, const char* key);
std::optional<int64_t> get_int(const bson_t* d, const char* key);
std::optional<Doc> get_doc(const bson_t* d, const char* key);  // document or array
bool has_key(const bson_t* d, const char* key);
// Keys of a document, in order.
std::vector<std::string> keys(const bson_t* d);
// Server type name as $type uses it ("double", "string", ...).
const char* type_alias(bson_type_t t);

}  // namespace spec
