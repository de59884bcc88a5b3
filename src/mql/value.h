// Value: an owning BSON value, the currency of aggregation expressions and update operators.
// A Value of type BSON_TYPE_EOD is "missing" (the field does not exist), which MongoDB
// distinguishes from null. Documents and arrays are held as raw BSON bytes.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bson.h"

namespace mql {

class Value {
 public:
  Value() { v_.value_type = BSON_TYPE_EOD; }  // missing
  explicit Value(const bson_value_t& v) {
    if (v.value_type == BSON_TYPE_EOD) {
      v_.value_type = BSON_TYPE_EOD;
    } else {
      bson_value_copy(&v, &v_);
    }
  }
  static Value from_iter(const bson_iter_t* it);  // copies the element's value
  static Value null();
  static Value int32(int32_t v);
  static Value int64(int64_t v);
  static Value dbl(double v);
  static Value boolean(bool v);
  static Value string(std::string_view v);
  static Value document(const bson_t* doc);  // copies
  static Value array(const bson_t* arr);     // copies; keys must be "0", "1", ...
  static Value date(int64_t ms);
  static Value timestamp(uint32_t t, uint32_t i);
  static Value decimal(const bson_decimal128_t& d);
  static Value oid(const bson_oid_t& o);

  // libbson cannot copy an EOD value: a missing Value copies as missing.
  Value(const Value& o) {
    if (o.missing()) {
      v_.value_type = BSON_TYPE_EOD;
    } else {
      bson_value_copy(&o.v_, &v_);
    }
  }
  Value(Value&& o) noexcept : v_(o.v_) { o.v_.value_type = BSON_TYPE_EOD; }
  Value& operator=(const Value& o);
  Value& operator=(Value&& o) noexcept;
  ~Value() { bson_value_destroy(&v_); }

  bool missing() const { return v_.value_type == BSON_TYPE_EOD; }
  bool is_null() const { return v_.value_type == BSON_TYPE_NULL; }
  bool nullish() const { return missing() || is_null() || v_.value_type == BSON_TYPE_UNDEFINED; }
  bool is_number() const;
  bson_type_t type() const { return v_.value_type; }
  const bson_value_t& raw() const { return v_; }

  // For documents and arrays: a static view over the held bytes (valid while *this lives).
  bson_t view() const;
  // Numeric coercions (caller checked is_number()).
  double as_double() const;
  int64_t as_int64() const;
  std::string_view as_string() const {  // UTF8 and symbol
    return v_.value_type == BSON_TYPE_UTF8 ? std::string_view(v_.value.v_utf8.str, v_.value.v_utf8.len)
                                           : std::string_view(v_.value.v_symbol.symbol, v_.value.v_symbol.len);
  }
  bool truthy() const;  // aggregation truthiness: false, null, missing, undefined, 0 → false

  // Appends under `key`; a missing value appends nothing.
  void append_to(bson_t* b, std::string_view key) const;
  std::string json() const;

 private:
  bson_value_t v_;
};

}  // namespace mql
