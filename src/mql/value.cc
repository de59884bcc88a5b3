#include "mql/value.h"

#include <cmath>
#include <cstring>

namespace mql {

Value Value::from_iter(const bson_iter_t* it) {
  Value out;
  bson_value_copy(bson_iter_value(const_cast<bson_iter_t*>(it)), &out.v_);
  return out;
}

Value Value::null() {
  Value v;
  v.v_.value_type = BSON_TYPE_NULL;
  return v;
}

Value Value::int32(int32_t x) {
  Value v;
  v.v_.value_type = BSON_TYPE_INT32;
  v.v_.value.v_int32 = x;
  return v;
}

Value Value::int64(int64_t x) {
  Value v;
  v.v_.value_type = BSON_TYPE_INT64;
  v.v_.value.v_int64 = x;
  return v;
}

Value Value::dbl(double x) {
  Value v;
  v.v_.value_type = BSON_TYPE_DOUBLE;
  v.v_.value.v_double = x;
  return v;
}

Value Value::boolean(bool x) {
  Value v;
  v.v_.value_type = BSON_TYPE_BOOL;
  v.v_.value.v_bool = x;
  return v;
}

Value Value::string(std::string_view s) {
  bson_value_t tmp;
  tmp.value_type = BSON_TYPE_UTF8;
  tmp.value.v_utf8.str = const_cast<char*>(s.data());
  tmp.value.v_utf8.len = static_cast<uint32_t>(s.size());
  return Value(tmp);  // copies (and NUL-terminates)
}

static Value container(const bson_t* d, bson_type_t t) {
  bson_value_t tmp;
  tmp.value_type = t;
  tmp.value.v_doc.data = const_cast<uint8_t*>(bson_get_data(d));
  tmp.value.v_doc.data_len = d->len;
  return Value(tmp);
}

Value Value::document(const bson_t* doc) { return container(doc, BSON_TYPE_DOCUMENT); }
Value Value::array(const bson_t* arr) { return container(arr, BSON_TYPE_ARRAY); }

Value Value::date(int64_t ms) {
  Value v;
  v.v_.value_type = BSON_TYPE_DATE_TIME;
  v.v_.value.v_datetime = ms;
  return v;
}

Value Value::timestamp(uint32_t t, uint32_t i) {
  Value v;
  v.v_.value_type = BSON_TYPE_TIMESTAMP;
  v.v_.value.v_timestamp.timestamp = t;
  v.v_.value.v_timestamp.increment = i;
  return v;
}

Value Value::decimal(const bson_decimal128_t& d) {
  Value v;
  v.v_.value_type = BSON_TYPE_DECIMAL128;
  v.v_.value.v_decimal128 = d;
  return v;
}

Value Value::oid(const bson_oid_t& o) {
  Value v;
  v.v_.value_type = BSON_TYPE_OID;
  bson_oid_copy(&o, &v.v_.value.v_oid);
  return v;
}

Value& Value::operator=(const Value& o) {
  if (this != &o) {
    bson_value_destroy(&v_);
    if (o.missing()) {
      v_.value_type = BSON_TYPE_EOD;
    } else {
      bson_value_copy(&o.v_, &v_);
    }
  }
  return *this;
}

Value& Value::operator=(Value&& o) noexcept {
  if (this != &o) {
    bson_value_destroy(&v_);
    v_ = o.v_;
    o.v_.value_type = BSON_TYPE_EOD;
  }
  return *this;
}

bool Value::is_number() const {
  switch (v_.value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
      return true;
    default:
      return false;
  }
}

bson_t Value::view() const {
  bson_t b;
  if (v_.value_type == BSON_TYPE_DOCUMENT || v_.value_type == BSON_TYPE_ARRAY) {
    if (bson_init_static(&b, v_.value.v_doc.data, v_.value.v_doc.data_len)) return b;
  }
  bson_init(&b);  // empty, owns nothing on the heap
  return b;
}

double Value::as_double() const {
  switch (v_.value_type) {
    case BSON_TYPE_INT32: return v_.value.v_int32;
    case BSON_TYPE_INT64: return static_cast<double>(v_.value.v_int64);
    case BSON_TYPE_DOUBLE: return v_.value.v_double;
    case BSON_TYPE_DECIMAL128: {
      char buf[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&v_.value.v_decimal128, buf);
      if (std::strcmp(buf, "NaN") == 0) return std::nan("");
      if (std::strcmp(buf, "Infinity") == 0) return HUGE_VAL;
      if (std::strcmp(buf, "-Infinity") == 0) return -HUGE_VAL;
      return std::strtod(buf, nullptr);
    }
    default: return 0;
  }
}

int64_t Value::as_int64() const {
  switch (v_.value_type) {
    case BSON_TYPE_INT32: return v_.value.v_int32;
    case BSON_TYPE_INT64: return v_.value.v_int64;
    default: {
      double d = as_double();
      if (std::isnan(d)) return 0;
      if (d >= 9.2233720368547758e18) return INT64_MAX;
      if (d <= -9.2233720368547758e18) return INT64_MIN;
      return static_cast<int64_t>(d);
    }
  }
}

bool Value::truthy() const {
  switch (v_.value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
      return false;
    case BSON_TYPE_BOOL: return v_.value.v_bool;
    case BSON_TYPE_INT32: return v_.value.v_int32 != 0;
    case BSON_TYPE_INT64: return v_.value.v_int64 != 0;
    case BSON_TYPE_DOUBLE: return v_.value.v_double != 0.0;
    case BSON_TYPE_DECIMAL128: {
      double d = as_double();
      return d != 0.0 || std::isnan(d);
    }
    default: return true;
  }
}

void Value::append_to(bson_t* b, std::string_view key) const {
  if (missing()) return;
  bson_append_value(b, key.data(), static_cast<int>(key.size()), &v_);
}

std::string Value::json() const {
  if (missing()) return "missing";
  return common::value_to_json(&v_);
}

}  // namespace mql
