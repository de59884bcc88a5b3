#include "common/bson.h"

#include <fmt/format.h>

#include <cmath>

#include <cstring>

#include "common/bson_scan.h"

namespace common {

Bson::Bson(const uint8_t* data, size_t len) {
  // Copy from a static view straight into b_: a bson_t must never be copied by value, since a
  // heap-allocated one points into itself.
  bson_t view;
  if (!bson_init_static(&view, data, len)) {
    bson_init(&b_);
    return;
  }
  bson_copy_to(&view, &b_);
}

Bson Bson::steal(bson_t* src) {
  Bson out;
  bson_destroy(&out.b_);
  bson_steal(&out.b_, src);
  bson_init(src);
  return out;
}

Result<Bson> Bson::parse(const uint8_t* data, size_t len) {
  bson_t view;
  if (len < 5 || !bson_init_static(&view, data, len)) {
    return Status(kInvalidBSON, "invalid BSON document: bad length");
  }
  size_t err_off = 0;
  if (!bson_validate(&view, BSON_VALIDATE_UTF8_ALLOW_NULL, &err_off)) {
    return Status(kInvalidBSON, "invalid BSON document: malformed at byte " + std::to_string(err_off));
  }
  return Bson(data, len);
}

Result<Bson> Bson::from_json(std::string_view json) {
  bson_error_t err;
  bson_t b;
  if (!bson_init_from_json(&b, json.data(), static_cast<ssize_t>(json.size()), &err)) {
    return Status(kFailedToParse, std::string("invalid JSON: ") + err.message);
  }
  return steal(&b);
}

Bson::Bson(Bson&& o) noexcept {
  bson_steal(&b_, &o.b_);
  bson_init(&o.b_);
}

Bson& Bson::operator=(const Bson& o) {
  if (this != &o) {
    bson_destroy(&b_);
    bson_copy_to(&o.b_, &b_);
  }
  return *this;
}

Bson& Bson::operator=(Bson&& o) noexcept {
  if (this != &o) {
    bson_destroy(&b_);
    bson_steal(&b_, &o.b_);
    bson_init(&o.b_);
  }
  return *this;
}

std::string Bson::json() const { return to_json(&b_); }
std::string Bson::canonical_json() const { return to_canonical_json(&b_); }

std::string to_json(const bson_t* doc) {
  size_t len = 0;
  char* s = bson_as_relaxed_extended_json(doc, &len);
  if (!s) return "<invalid BSON>";
  std::string out(s, len);
  bson_free(s);
  return out;
}

std::string to_canonical_json(const bson_t* doc) {
  size_t len = 0;
  char* s = bson_as_canonical_extended_json(doc, &len);
  if (!s) return "<invalid BSON>";
  std::string out(s, len);
  bson_free(s);
  return out;
}

std::string value_to_json(const bson_value_t* v) {
  bson_t tmp = BSON_INITIALIZER;
  bson_append_value(&tmp, "v", 1, v);
  std::string j = to_json(&tmp);
  bson_destroy(&tmp);
  // {"v" : X } → X
  auto pos = j.find(':');
  if (pos == std::string::npos || j.size() < pos + 4) return j;
  return j.substr(pos + 2, j.size() - pos - 4);
}

namespace {

void server_string_of(std::string& out, const bson_value_t* v);

void server_string_container(std::string& out, const uint8_t* data, uint32_t len, bool array) {
  bson_t d;
  bson_iter_t it;
  if (!bson_init_static(&d, data, len) || !bson_iter_init(&it, &d)) {
    out += array ? "[]" : "{}";
    return;
  }
  bool first = true;
  out += array ? "[" : "{";
  while (bson_iter_next(&it)) {
    out += first ? " " : ", ";
    first = false;
    if (!array) {
      out.append(bson_iter_key(&it), bson_iter_key_len(&it));
      out += ": ";
    }
    server_string_of(out, bson_iter_value(&it));
  }
  out += first ? (array ? "]" : "}") : (array ? " ]" : " }");
}

void server_string_of(std::string& out, const bson_value_t* v) {
  char buf[64];
  switch (v->value_type) {
    case BSON_TYPE_DOUBLE: {
      double d = v->value.v_double;
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e16) {
        out += fmt::format("{:.1f}", d);
      } else if (std::isnan(d)) {
        out += "nan.0";
      } else if (std::isinf(d)) {
        out += d < 0 ? "-inf.0" : "inf.0";
      } else {
        out += fmt::format("{}", d);
      }
      return;
    }
    case BSON_TYPE_INT32: out += std::to_string(v->value.v_int32); return;
    case BSON_TYPE_INT64: out += std::to_string(v->value.v_int64); return;
    case BSON_TYPE_DECIMAL128: {
      char dec[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&v->value.v_decimal128, dec);
      out += "NumberDecimal(\"";
      out += dec;
      out += "\")";
      return;
    }
    case BSON_TYPE_UTF8:
      out += '"';
      out.append(v->value.v_utf8.str, v->value.v_utf8.len);
      out += '"';
      return;
    case BSON_TYPE_SYMBOL:
      out.append(v->value.v_symbol.symbol, v->value.v_symbol.len);
      return;
    case BSON_TYPE_DOCUMENT: server_string_container(out, v->value.v_doc.data, v->value.v_doc.data_len, false); return;
    case BSON_TYPE_ARRAY: server_string_container(out, v->value.v_doc.data, v->value.v_doc.data_len, true); return;
    case BSON_TYPE_OID:
      bson_oid_to_string(&v->value.v_oid, buf);
      out += "ObjectId('";
      out += buf;
      out += "')";
      return;
    case BSON_TYPE_BOOL: out += v->value.v_bool ? "true" : "false"; return;
    case BSON_TYPE_DATE_TIME: out += fmt::format("new Date({})", v->value.v_datetime); return;
    case BSON_TYPE_TIMESTAMP:
      out += fmt::format("Timestamp({}, {})", v->value.v_timestamp.timestamp, v->value.v_timestamp.increment);
      return;
    case BSON_TYPE_NULL: out += "null"; return;
    case BSON_TYPE_UNDEFINED: out += "undefined"; return;
    case BSON_TYPE_MINKEY: out += "MinKey"; return;
    case BSON_TYPE_MAXKEY: out += "MaxKey"; return;
    case BSON_TYPE_REGEX:
      out += "/";
      out += v->value.v_regex.regex ? v->value.v_regex.regex : "";
      out += "/";
      out += v->value.v_regex.options ? v->value.v_regex.options : "";
      return;
    case BSON_TYPE_BINARY: {
      out += fmt::format("BinData({}, ", static_cast<int>(v->value.v_binary.subtype));
      for (uint32_t i = 0; i < v->value.v_binary.data_len; ++i) out += fmt::format("{:02X}", v->value.v_binary.data[i]);
      out += ")";
      return;
    }
    case BSON_TYPE_CODE: out.append(v->value.v_code.code, v->value.v_code.code_len); return;
    default: out += value_to_json(v); return;
  }
}

}  // namespace

std::string to_server_string(const bson_t* doc) {
  std::string out;
  server_string_container(out, bson_get_data(doc), doc->len, false);
  return out;
}

std::string value_to_server_string(const bson_value_t* v) {
  std::string out;
  server_string_of(out, v);
  return out;
}

const char* type_alias(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_DOUBLE: return "double";
    case BSON_TYPE_UTF8: return "string";
    case BSON_TYPE_DOCUMENT: return "object";
    case BSON_TYPE_ARRAY: return "array";
    case BSON_TYPE_BINARY: return "binData";
    case BSON_TYPE_UNDEFINED: return "undefined";
    case BSON_TYPE_OID: return "objectId";
    case BSON_TYPE_BOOL: return "bool";
    case BSON_TYPE_DATE_TIME: return "date";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_REGEX: return "regex";
    case BSON_TYPE_DBPOINTER: return "dbPointer";
    case BSON_TYPE_CODE: return "javascript";
    case BSON_TYPE_SYMBOL: return "symbol";
    case BSON_TYPE_CODEWSCOPE: return "javascriptWithScope";
    case BSON_TYPE_INT32: return "int";
    case BSON_TYPE_TIMESTAMP: return "timestamp";
    case BSON_TYPE_INT64: return "long";
    case BSON_TYPE_DECIMAL128: return "decimal";
    case BSON_TYPE_MINKEY: return "minKey";
    case BSON_TYPE_MAXKEY: return "maxKey";
    default: return "missing";
  }
}

bool find_field(const bson_t* doc, std::string_view key, bson_iter_t* out) {
  // The raw scan finds the element; libbson positions the iterator on it (checking it).
  // Anything the scan is unsure of takes libbson's own walk.
  const uint8_t* data = bson_get_data(doc);
  const FrozenFieldIndex* frozen = FrozenFieldIndex::current();
  int64_t at = frozen && frozen->covers(doc) ? frozen->lookup(key) : scan_for_key(data, doc->len, key);
  if (at > 0 && bson_iter_init_from_data_at_offset(out, data, doc->len, static_cast<uint32_t>(at),
                                                   static_cast<uint32_t>(key.size()))) {
    return true;
  }
  if (!bson_iter_init(out, doc)) return false;
  if (at == 0) return false;
  return bson_iter_find_w_len(out, key.data(), static_cast<int>(key.size()));
}

Result<bool> get_bool(const bson_t* doc, std::string_view key, bool absent) {
  bson_iter_t it;
  if (!find_field(doc, key, &it)) return absent;
  switch (bson_iter_type(&it)) {
    case BSON_TYPE_BOOL:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
      return value_truthy(&it);
    default:
      return Status(kTypeMismatch, "BSON field '" + std::string(key) + "' is the wrong type '" +
                                       type_alias(bson_iter_type(&it)) + "', expected types '[bool, long, int, decimal, double]'");
  }
}

Result<int64_t> get_int(const bson_t* doc, std::string_view key, int64_t absent) {
  bson_iter_t it;
  if (!find_field(doc, key, &it)) return absent;
  switch (bson_iter_type(&it)) {
    case BSON_TYPE_INT32: return static_cast<int64_t>(bson_iter_int32(&it));
    case BSON_TYPE_INT64: return bson_iter_int64(&it);
    case BSON_TYPE_DOUBLE: {
      double d = bson_iter_double(&it);
      if (d != d || d > 9.2e18 || d < -9.2e18) {
        return Status(kBadValue, "BSON field '" + std::string(key) + "' value is out of range");
      }
      return static_cast<int64_t>(d);
    }
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t dec;
      bson_iter_decimal128(&it, &dec);
      char buf[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&dec, buf);
      try {
        return static_cast<int64_t>(std::stod(buf));
      } catch (...) {
        return Status(kBadValue, "BSON field '" + std::string(key) + "' value is out of range");
      }
    }
    default:
      return Status(kTypeMismatch, "BSON field '" + std::string(key) + "' is the wrong type '" +
                                       type_alias(bson_iter_type(&it)) + "', expected a number");
  }
}

Result<std::string> get_string(const bson_t* doc, std::string_view key, std::string absent) {
  bson_iter_t it;
  if (!find_field(doc, key, &it)) return absent;
  if (!BSON_ITER_HOLDS_UTF8(&it)) {
    return Status(kTypeMismatch, "BSON field '" + std::string(key) + "' is the wrong type '" +
                                     type_alias(bson_iter_type(&it)) + "', expected type 'string'");
  }
  uint32_t len = 0;
  const char* s = bson_iter_utf8(&it, &len);
  return std::string(s, len);
}

std::string string_or_empty(const bson_t* doc, std::string_view key) {
  bson_iter_t it;
  if (!find_field(doc, key, &it) || !BSON_ITER_HOLDS_UTF8(&it)) return "";
  uint32_t len = 0;
  const char* s = bson_iter_utf8(&it, &len);
  return std::string(s, len);
}

bool field_is_true(const bson_t* doc, std::string_view key) {
  bson_iter_t it;
  return find_field(doc, key, &it) && bson_iter_as_bool(&it);
}

bool value_truthy(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_BOOL: return bson_iter_bool(it);
    case BSON_TYPE_INT32: return bson_iter_int32(it) != 0;
    case BSON_TYPE_INT64: return bson_iter_int64(it) != 0;
    case BSON_TYPE_DOUBLE: return bson_iter_double(it) != 0.0;
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t d;
      bson_iter_decimal128(it, &d);
      char buf[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&d, buf);
      // Zero decimals print as 0, -0, 0E+N, 0.00...
      for (const char* p = buf; *p; ++p) {
        if (*p >= '1' && *p <= '9') return true;
        if (*p == 'E' || *p == 'e') break;
        if (*p == 'N' || *p == 'I') return true;  // NaN, Infinity
      }
      return false;
    }
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_EOD:
      return false;
    default: return true;
  }
}

std::string_view array_key(uint32_t i, char (&buf)[16]) {
  // Decimal digits written from the end of the buffer: libbson's bson_uint32_to_string
  // formats keys from 1000 on with snprintf, which dominated building large batches.
  // NUL-terminated too, for callers that pass .data() on as a C string.
  char* end = buf + sizeof buf - 1;
  *end = '\0';
  char* p = end;
  do {
    *--p = static_cast<char>('0' + i % 10);
    i /= 10;
  } while (i != 0);
  return {p, static_cast<size_t>(end - p)};
}

}  // namespace common
