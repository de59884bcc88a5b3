// Order-preserving byte encoding of BSON values (see key_string.h).
#include "sim/engine/key_string.h"

#include <cfenv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "mql/collation.h"
#include "mql/compare.h"

namespace sim::engine::keystring {

namespace {

// Number classes, in order.
enum : uint8_t { kNaN = 1, kNegInf = 2, kNeg = 3, kZero = 4, kPos = 5, kPosInf = 6 };
constexpr int kExpBias = 16500;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A string payload: 0x00 escaped as 00 FF, terminated by 00 00 (prefix-free).
void put_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
  }
  out.push_back('\0');
  out.push_back('\0');
}

void put_string(std::string& out, std::string_view s, const mql::Collator* collator) {
  if (collator) {
    put_escaped(out, collator->sort_key(s));
  } else {
    put_escaped(out, s);
  }
}

// Magnitude of a finite, non-zero number as [exponent:2][mantissa:8] of its exact long
// double value (64-bit mantissa: exact for every int64 and double).
void put_magnitude(std::string& out, long double mag) {
  int e = 0;
  long double m = std::frexp(mag, &e);
  auto bits = static_cast<uint64_t>(std::ldexp(m, 64));
  put_be(out, static_cast<uint64_t>(e + kExpBias), 2);
  put_be(out, bits, 8);
}

void put_number_tail_exact(std::string& out) { out.push_back('\0'); }

void invert_from(std::string& out, size_t start) {
  for (size_t i = start; i < out.size(); ++i) out[i] = static_cast<char>(~static_cast<uint8_t>(out[i]));
}

void put_int(std::string& out, int64_t v) {
  if (v == 0) {
    out.push_back(static_cast<char>(kZero));
    return;
  }
  out.push_back(static_cast<char>(v < 0 ? kNeg : kPos));
  size_t start = out.size();
  uint64_t mag = v < 0 ? (~static_cast<uint64_t>(v) + 1) : static_cast<uint64_t>(v);
  put_magnitude(out, static_cast<long double>(mag));
  put_number_tail_exact(out);
  if (v < 0) invert_from(out, start);
}

void put_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out.push_back(static_cast<char>(kNaN));
  } else if (std::isinf(d)) {
    out.push_back(static_cast<char>(d < 0 ? kNegInf : kPosInf));
  } else if (d == 0) {
    out.push_back(static_cast<char>(kZero));
  } else {
    out.push_back(static_cast<char>(d < 0 ? kNeg : kPos));
    size_t start = out.size();
    put_magnitude(out, std::fabs(static_cast<long double>(d)));
    put_number_tail_exact(out);
    if (d < 0) invert_from(out, start);
  }
}

// Decimal128: exact when its value is a long double (then equal to the same int/double);
// otherwise the long double just below it, a 1 byte, and the normalized decimal digits, which
// orders it after that long double and before the next one.
void put_decimal(std::string& out, const bson_decimal128_t& dec) {
  char buf[BSON_DECIMAL128_STRING];
  bson_decimal128_to_string(&dec, buf);
  const char* s = buf;
  bool neg = false;
  if (*s == '-') {
    neg = true;
    ++s;
  } else if (*s == '+') {
    ++s;
  }
  if (*s == 'N') {
    out.push_back(static_cast<char>(kNaN));
    return;
  }
  if (*s == 'I') {
    out.push_back(static_cast<char>(neg ? kNegInf : kPosInf));
    return;
  }
  // Normalize: value = 0.DIGITS x 10^exp.
  std::string digits;
  long point = -1;
  const char* p = s;
  for (; *p && *p != 'E' && *p != 'e'; ++p) {
    if (*p == '.') {
      point = static_cast<long>(digits.size());
    } else {
      digits.push_back(*p);
    }
  }
  long e10 = (*p == 'E' || *p == 'e') ? std::strtol(p + 1, nullptr, 10) : 0;
  if (point < 0) point = static_cast<long>(digits.size());
  size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) {
    out.push_back(static_cast<char>(kZero));
    return;
  }
  size_t end = digits.find_last_not_of('0') + 1;
  long exp = point - static_cast<long>(lead) + e10;
  digits = digits.substr(lead, end - lead);

  std::string mag_str = "0." + digits + "e" + std::to_string(exp);
  int saved = std::fegetround();
  std::fesetround(FE_DOWNWARD);
  long double lo = std::strtold(mag_str.c_str(), nullptr);
  std::fesetround(FE_UPWARD);
  long double hi = std::strtold(mag_str.c_str(), nullptr);
  std::fesetround(saved);

  out.push_back(static_cast<char>(neg ? kNeg : kPos));
  size_t start = out.size();
  if (lo == 0) {
    put_be(out, 0, 2);  // below every long double magnitude
    put_be(out, 0, 8);
  } else {
    put_magnitude(out, lo);
  }
  if (lo == hi) {
    put_number_tail_exact(out);
  } else {
    out.push_back('\x01');
    put_be(out, static_cast<uint64_t>(exp + (1L << 30)), 4);
    out.append(digits);
    out.push_back('\0');
  }
  if (neg) invert_from(out, start);
}

void put_payload(std::string& out, const bson_value_t* v, const mql::Collator* collator);

void put_container(std::string& out, const uint8_t* data, uint32_t len, bool names, const mql::Collator* collator) {
  bson_t doc;
  bson_iter_t it;
  if (bson_init_static(&doc, data, len) && bson_iter_init(&it, &doc)) {
    while (bson_iter_next(&it)) {
      out.push_back(rank_byte(bson_iter_type(&it)));
      if (names) put_escaped(out, std::string_view(bson_iter_key(&it), bson_iter_key_len(&it)));
      put_payload(out, bson_iter_value(&it), collator);
    }
  }
  out.push_back('\0');
}

void put_payload(std::string& out, const bson_value_t* v, const mql::Collator* collator) {
  switch (v->value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_NULL:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY: return;
    case BSON_TYPE_INT32: put_int(out, v->value.v_int32); return;
    case BSON_TYPE_INT64: put_int(out, v->value.v_int64); return;
    case BSON_TYPE_DOUBLE: put_double(out, v->value.v_double); return;
    case BSON_TYPE_DECIMAL128: put_decimal(out, v->value.v_decimal128); return;
    case BSON_TYPE_UTF8: put_string(out, {v->value.v_utf8.str, v->value.v_utf8.len}, collator); return;
    case BSON_TYPE_SYMBOL: put_string(out, {v->value.v_symbol.symbol, v->value.v_symbol.len}, collator); return;
    case BSON_TYPE_DOCUMENT:
      put_container(out, v->value.v_doc.data, v->value.v_doc.data_len, true, collator);
      return;
    case BSON_TYPE_ARRAY:
      put_container(out, v->value.v_doc.data, v->value.v_doc.data_len, false, collator);
      return;
    case BSON_TYPE_BINARY:
      // The server orders binData by length, then subtype, then bytes.
      put_be(out, v->value.v_binary.data_len, 4);
      out.push_back(static_cast<char>(v->value.v_binary.subtype));
      out.append(reinterpret_cast<const char*>(v->value.v_binary.data), v->value.v_binary.data_len);
      return;
    case BSON_TYPE_OID: out.append(reinterpret_cast<const char*>(v->value.v_oid.bytes), 12); return;
    case BSON_TYPE_BOOL: out.push_back(v->value.v_bool ? '\x01' : '\0'); return;
    case BSON_TYPE_DATE_TIME:
      put_be(out, static_cast<uint64_t>(v->value.v_datetime) ^ (1ULL << 63), 8);
      return;
    case BSON_TYPE_TIMESTAMP:
      put_be(out, v->value.v_timestamp.timestamp, 4);
      put_be(out, v->value.v_timestamp.increment, 4);
      return;
    case BSON_TYPE_REGEX:
      put_escaped(out, v->value.v_regex.regex ? v->value.v_regex.regex : "");
      put_escaped(out, v->value.v_regex.options ? v->value.v_regex.options : "");
      return;
    case BSON_TYPE_DBPOINTER:
      put_be(out, v->value.v_dbpointer.collection_len, 4);
      out.append(v->value.v_dbpointer.collection, v->value.v_dbpointer.collection_len);
      out.append(reinterpret_cast<const char*>(v->value.v_dbpointer.oid.bytes), 12);
      return;
    case BSON_TYPE_CODE: put_escaped(out, {v->value.v_code.code, v->value.v_code.code_len}); return;
    case BSON_TYPE_CODEWSCOPE:
      put_escaped(out, {v->value.v_codewscope.code, v->value.v_codewscope.code_len});
      put_container(out, v->value.v_codewscope.scope_data, v->value.v_codewscope.scope_len, true, nullptr);
      return;
    default: return;
  }
}

}  // namespace

char rank_byte(bson_type_t t) {
  if (t == BSON_TYPE_EOD) t = BSON_TYPE_NULL;  // a missing field is indexed as null
  return static_cast<char>(mql::canonical_rank(t) + 2);
}

std::string bracket(bson_type_t t, bool descending) {
  std::string s(1, rank_byte(t));
  if (descending) s[0] = static_cast<char>(~static_cast<uint8_t>(s[0]));
  return s;
}

void append_value(std::string& out, const bson_value_t* v, const mql::Collator* collator, bool descending) {
  size_t start = out.size();
  out.push_back(rank_byte(v->value_type));
  put_payload(out, v, collator);
  if (descending) invert_from(out, start);
}

std::string encode(const bson_value_t* v, const mql::Collator* collator, bool descending) {
  std::string s;
  append_value(s, v, collator, descending);
  return s;
}

void append_record_id(std::string& out, int64_t rid) { put_be(out, static_cast<uint64_t>(rid), 8); }

int64_t read_record_id_suffix(std::string_view key) {
  uint64_t v = 0;
  for (size_t i = key.size() - 8; i < key.size(); ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  return static_cast<int64_t>(v);
}

int compare_prefix(std::string_view key, std::string_view bound) {
  size_t n = key.size() < bound.size() ? key.size() : bound.size();
  int c = n ? std::memcmp(key.data(), bound.data(), n) : 0;
  if (c != 0) return c;
  return key.size() < bound.size() ? -1 : 0;
}

}  // namespace sim::engine::keystring
