// MongoDB's canonical BSON value order and a hash consistent with it (mongodb-reference.md §7.2).
#include "mql/compare.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "mql/collation.h"

namespace mql {

int canonical_rank(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_MINKEY: return -1;
    case BSON_TYPE_EOD:
    case BSON_TYPE_UNDEFINED: return 0;
    case BSON_TYPE_NULL: return 5;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: return 10;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return 15;
    case BSON_TYPE_DOCUMENT: return 20;
    case BSON_TYPE_ARRAY: return 25;
    case BSON_TYPE_BINARY: return 30;
    case BSON_TYPE_OID: return 35;
    case BSON_TYPE_BOOL: return 40;
    case BSON_TYPE_DATE_TIME: return 45;
    case BSON_TYPE_TIMESTAMP: return 47;
    case BSON_TYPE_REGEX: return 50;
    case BSON_TYPE_DBPOINTER: return 55;
    case BSON_TYPE_CODE: return 60;
    case BSON_TYPE_CODEWSCOPE: return 65;
    case BSON_TYPE_MAXKEY: return 127;
    default: return 127;
  }
}

namespace {

inline int sign(int64_t v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

// An exact decimal: value = (neg ? -1 : 1) * 0.DIGITS * 10^exp, DIGITS without leading or
// trailing zeros (empty for zero). Only used when decimal128 is involved.
struct ExactDec {
  enum Kind { kNaN, kNegInf, kFinite, kPosInf } kind = kFinite;
  bool neg = false;
  std::string digits;
  int64_t exp = 0;
};

// Parses the output of bson_decimal128_to_string or printf("%.*e"): [-]d[.ddd][E|e[+-]n],
// also "NaN", "Infinity", "-Infinity", "inf", "nan".
ExactDec parse_dec_string(const char* s) {
  ExactDec d;
  bool neg = false;
  if (*s == '-') {
    neg = true;
    ++s;
  } else if (*s == '+') {
    ++s;
  }
  if (*s == 'N' || *s == 'n') {
    d.kind = ExactDec::kNaN;
    return d;
  }
  if (*s == 'I' || *s == 'i') {
    d.kind = neg ? ExactDec::kNegInf : ExactDec::kPosInf;
    return d;
  }
  std::string digits;
  int64_t point = -1;  // number of digits before the decimal point
  for (; *s && *s != 'E' && *s != 'e'; ++s) {
    if (*s == '.') {
      point = static_cast<int64_t>(digits.size());
    } else if (*s >= '0' && *s <= '9') {
      digits.push_back(*s);
    }
  }
  if (point < 0) point = static_cast<int64_t>(digits.size());
  int64_t e = 0;
  if (*s == 'E' || *s == 'e') e = std::strtoll(s + 1, nullptr, 10);
  // Strip leading zeros (each shifts the exponent) and trailing zeros.
  size_t lead = 0;
  while (lead < digits.size() && digits[lead] == '0') ++lead;
  size_t end = digits.size();
  while (end > lead && digits[end - 1] == '0') --end;
  d.neg = neg;
  if (lead == end) {  // zero (sign ignored: -0 == 0)
    d.neg = false;
    return d;
  }
  d.digits = digits.substr(lead, end - lead);
  d.exp = point - static_cast<int64_t>(lead) + e;
  return d;
}

ExactDec to_exact(const bson_value_t* v) {
  switch (v->value_type) {
    case BSON_TYPE_INT32: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%d", v->value.v_int32);
      return parse_dec_string(buf);
    }
    case BSON_TYPE_INT64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v->value.v_int64));
      return parse_dec_string(buf);
    }
    case BSON_TYPE_DOUBLE: {
      double x = v->value.v_double;
      if (std::isnan(x)) return parse_dec_string("NaN");
      if (std::isinf(x)) return parse_dec_string(x < 0 ? "-Infinity" : "Infinity");
      // glibc prints the exact binary value given enough digits (a double has at most 767
      // significant decimal digits).
      char buf[1100];
      std::snprintf(buf, sizeof buf, "%.800e", x);
      return parse_dec_string(buf);
    }
    case BSON_TYPE_DECIMAL128: {
      char buf[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&v->value.v_decimal128, buf);
      return parse_dec_string(buf);
    }
    default: return ExactDec{};
  }
}

int compare_exact(const ExactDec& a, const ExactDec& b) {
  auto order = [](const ExactDec& d) {
    switch (d.kind) {
      case ExactDec::kNaN: return 0;
      case ExactDec::kNegInf: return 1;
      case ExactDec::kFinite: return 2;
      case ExactDec::kPosInf: return 3;
    }
    return 0;
  };
  int oa = order(a), ob = order(b);
  if (oa != ob) return oa < ob ? -1 : 1;
  if (a.kind != ExactDec::kFinite) return 0;
  int sa = a.digits.empty() ? 0 : (a.neg ? -1 : 1);
  int sb = b.digits.empty() ? 0 : (b.neg ? -1 : 1);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  int mag;
  if (a.exp != b.exp) {
    mag = a.exp < b.exp ? -1 : 1;
  } else {
    int c = a.digits.compare(b.digits);  // no trailing zeros, so lexicographic is numeric
    mag = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return sa > 0 ? mag : -mag;
}

int compare_int_double(int64_t i, double d) {
  if (std::isnan(d)) return 1;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  double t = std::trunc(d);
  auto ti = static_cast<int64_t>(t);
  if (i != ti) return i < ti ? -1 : 1;
  double frac = d - t;
  if (frac > 0) return -1;
  if (frac < 0) return 1;
  return 0;
}

int compare_doubles(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a == b) return 0;
  // At least one NaN: NaN is lowest, NaN == NaN.
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na && nb) return 0;
  return na ? -1 : 1;
}

int compare_numbers(const bson_value_t* a, const bson_value_t* b) {
  bson_type_t ta = a->value_type, tb = b->value_type;
  if (ta == BSON_TYPE_DECIMAL128 || tb == BSON_TYPE_DECIMAL128) return compare_exact(to_exact(a), to_exact(b));
  bool ia = ta != BSON_TYPE_DOUBLE, ib = tb != BSON_TYPE_DOUBLE;
  auto as_i = [](const bson_value_t* v) -> int64_t {
    return v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
  };
  if (ia && ib) {
    int64_t x = as_i(a), y = as_i(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (!ia && !ib) return compare_doubles(a->value.v_double, b->value.v_double);
  if (ia) return compare_int_double(as_i(a), b->value.v_double);
  return -compare_int_double(as_i(b), a->value.v_double);
}

int cmp_bytes(const void* a, size_t la, const void* b, size_t lb) {
  size_t n = la < lb ? la : lb;
  int c = n ? std::memcmp(a, b, n) : 0;
  if (c != 0) return c < 0 ? -1 : 1;
  if (la != lb) return la < lb ? -1 : 1;
  return 0;
}

std::string_view str_of(const bson_value_t* v) {
  if (v->value_type == BSON_TYPE_UTF8) return {v->value.v_utf8.str, v->value.v_utf8.len};
  return {v->value.v_symbol.symbol, v->value.v_symbol.len};
}

int compare_strings(std::string_view a, std::string_view b, const Collator* collator) {
  if (collator) {
    int c = collator->compare(a, b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return cmp_bytes(a.data(), a.size(), b.data(), b.size());
}

bool init_sub(const bson_value_t* v, bson_t* out) {
  return bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len);
}

int compare_containers(const bson_t* a, const bson_t* b, const Collator* collator, bool names) {
  bson_iter_t ia, ib;
  bool oka = bson_iter_init(&ia, a), okb = bson_iter_init(&ib, b);
  if (!oka || !okb) return oka == okb ? 0 : (oka ? 1 : -1);
  while (true) {
    bool ma = bson_iter_next(&ia), mb = bson_iter_next(&ib);
    if (!ma || !mb) {
      if (ma == mb) return 0;
      return ma ? 1 : -1;
    }
    bson_type_t ta = bson_iter_type(&ia), tb = bson_iter_type(&ib);
    if (ta != tb) {
      int ra = canonical_rank(ta), rb = canonical_rank(tb);
      if (ra != rb) return ra < rb ? -1 : 1;
    }
    if (names) {
      uint32_t la = bson_iter_key_len(&ia), lb = bson_iter_key_len(&ib);
      int c = cmp_bytes(bson_iter_key(&ia), la, bson_iter_key(&ib), lb);
      if (c != 0) return c;
    }
    int c = compare_elements(&ia, &ib, collator);
    if (c != 0) return c;
  }
}

}  // namespace

int compare_values(const bson_value_t* a, const bson_value_t* b, const Collator* collator) {
  bson_type_t ta = a->value_type, tb = b->value_type;
  int ra = canonical_rank(ta), rb = canonical_rank(tb);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case -1:
    case 0:
    case 5:
    case 127: return 0;
    case 10: return compare_numbers(a, b);
    case 15: return compare_strings(str_of(a), str_of(b), collator);
    case 20:
    case 25: {
      bson_t da, db;
      bool oka = init_sub(a, &da), okb = init_sub(b, &db);
      if (!oka || !okb) return oka == okb ? 0 : (oka ? 1 : -1);
      return compare_containers(&da, &db, collator, ra == 20);
    }
    case 30: {
      uint32_t la = a->value.v_binary.data_len, lb = b->value.v_binary.data_len;
      if (la != lb) return la < lb ? -1 : 1;
      int sa = a->value.v_binary.subtype, sb = b->value.v_binary.subtype;
      if (sa != sb) return sa < sb ? -1 : 1;
      return cmp_bytes(a->value.v_binary.data, la, b->value.v_binary.data, lb);
    }
    case 35: return sign(bson_oid_compare(&a->value.v_oid, &b->value.v_oid));
    case 40: return static_cast<int>(a->value.v_bool) - static_cast<int>(b->value.v_bool);
    case 45: {
      int64_t x = a->value.v_datetime, y = b->value.v_datetime;
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case 47: {
      uint64_t x = (static_cast<uint64_t>(a->value.v_timestamp.timestamp) << 32) | a->value.v_timestamp.increment;
      uint64_t y = (static_cast<uint64_t>(b->value.v_timestamp.timestamp) << 32) | b->value.v_timestamp.increment;
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case 50: {
      const char* pa = a->value.v_regex.regex ? a->value.v_regex.regex : "";
      const char* pb = b->value.v_regex.regex ? b->value.v_regex.regex : "";
      int c = sign(std::strcmp(pa, pb));
      if (c != 0) return c;
      const char* oa = a->value.v_regex.options ? a->value.v_regex.options : "";
      const char* ob = b->value.v_regex.options ? b->value.v_regex.options : "";
      return sign(std::strcmp(oa, ob));
    }
    case 55: {
      uint32_t la = a->value.v_dbpointer.collection_len, lb = b->value.v_dbpointer.collection_len;
      if (la != lb) return la < lb ? -1 : 1;
      int c = cmp_bytes(a->value.v_dbpointer.collection, la, b->value.v_dbpointer.collection, lb);
      if (c != 0) return c;
      return sign(bson_oid_compare(&a->value.v_dbpointer.oid, &b->value.v_dbpointer.oid));
    }
    case 60:
      return cmp_bytes(a->value.v_code.code, a->value.v_code.code_len, b->value.v_code.code, b->value.v_code.code_len);
    case 65: {
      int c = cmp_bytes(a->value.v_codewscope.code, a->value.v_codewscope.code_len, b->value.v_codewscope.code,
                        b->value.v_codewscope.code_len);
      if (c != 0) return c;
      bson_t sa, sb;
      bool oka = bson_init_static(&sa, a->value.v_codewscope.scope_data, a->value.v_codewscope.scope_len);
      bool okb = bson_init_static(&sb, b->value.v_codewscope.scope_data, b->value.v_codewscope.scope_len);
      if (!oka || !okb) return oka == okb ? 0 : (oka ? 1 : -1);
      return compare_containers(&sa, &sb, nullptr, true);
    }
    default: return 0;
  }
}

int compare_elements(const bson_iter_t* a, const bson_iter_t* b, const Collator* collator) {
  const bson_value_t* va = bson_iter_value(const_cast<bson_iter_t*>(a));
  // bson_iter_value returns a pointer into the iterator; copy the first before the second call
  // in case both iterators are the same object.
  bson_value_t ca = *va;
  const bson_value_t* vb = bson_iter_value(const_cast<bson_iter_t*>(b));
  return compare_values(&ca, vb, collator);
}

int compare_docs(const bson_t* a, const bson_t* b, const Collator* collator) {
  return compare_containers(a, b, collator, true);
}

int compare_arrays(const bson_t* a, const bson_t* b, const Collator* collator) {
  return compare_containers(a, b, collator, false);
}

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

inline uint64_t mix(uint64_t h, const void* data, size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

inline uint64_t mix_u64(uint64_t h, uint64_t v) { return mix(h, &v, sizeof v); }

uint64_t hash_int(uint64_t h, int64_t v) { return mix_u64(mix_u64(h, 10), static_cast<uint64_t>(v)); }

uint64_t hash_double(uint64_t h, double d) {
  if (std::isnan(d)) return mix_u64(mix_u64(h, 10), 0x7ff8000000000000ULL);
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && std::trunc(d) == d) {
    return hash_int(h, static_cast<int64_t>(d));
  }
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return mix_u64(mix_u64(h, 10), bits);
}

uint64_t hash_into(uint64_t h, const bson_value_t* v, const Collator* collator);

uint64_t hash_container(uint64_t h, const bson_t* d, const Collator* collator, bool names) {
  bson_iter_t it;
  if (!bson_iter_init(&it, d)) return h;
  while (bson_iter_next(&it)) {
    if (names) h = mix(h, bson_iter_key(&it), bson_iter_key_len(&it) + 1);
    h = hash_into(h, bson_iter_value(&it), collator);
  }
  return mix_u64(h, 0xfeed);
}

uint64_t hash_into(uint64_t h, const bson_value_t* v, const Collator* collator) {
  int rank = canonical_rank(v->value_type);
  switch (v->value_type) {
    case BSON_TYPE_INT32: return hash_int(h, v->value.v_int32);
    case BSON_TYPE_INT64: return hash_int(h, v->value.v_int64);
    case BSON_TYPE_DOUBLE: return hash_double(h, v->value.v_double);
    case BSON_TYPE_DECIMAL128: {
      // Hash like the double it equals exactly, else by its normalized digits.
      ExactDec e = to_exact(v);
      if (e.kind == ExactDec::kNaN) return hash_double(h, std::nan(""));
      if (e.kind == ExactDec::kPosInf) return hash_double(h, HUGE_VAL);
      if (e.kind == ExactDec::kNegInf) return hash_double(h, -HUGE_VAL);
      char buf[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&v->value.v_decimal128, buf);
      double d = std::strtod(buf, nullptr);
      bson_value_t dv;
      dv.value_type = BSON_TYPE_DOUBLE;
      dv.value.v_double = d;
      if (compare_exact(to_exact(&dv), e) == 0) return hash_double(h, d);
      h = mix_u64(h, 10);
      h = mix(h, e.digits.data(), e.digits.size());
      h = mix_u64(h, static_cast<uint64_t>(e.exp));
      return mix_u64(h, e.neg ? 1 : 0);
    }
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: {
      h = mix_u64(h, 15);
      std::string_view s = str_of(v);
      if (collator) {
        std::string k = collator->sort_key(s);
        return mix(h, k.data(), k.size());
      }
      return mix(h, s.data(), s.size());
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
      bson_t d;
      h = mix_u64(h, static_cast<uint64_t>(rank));
      if (!init_sub(v, &d)) return h;
      return hash_container(h, &d, collator, rank == 20);
    }
    case BSON_TYPE_BINARY:
      h = mix_u64(h, 30);
      h = mix_u64(h, v->value.v_binary.subtype);
      return mix(h, v->value.v_binary.data, v->value.v_binary.data_len);
    case BSON_TYPE_OID: return mix(mix_u64(h, 35), v->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL: return mix_u64(mix_u64(h, 40), v->value.v_bool ? 1 : 0);
    case BSON_TYPE_DATE_TIME: return mix_u64(mix_u64(h, 45), static_cast<uint64_t>(v->value.v_datetime));
    case BSON_TYPE_TIMESTAMP:
      h = mix_u64(h, 47);
      h = mix_u64(h, v->value.v_timestamp.timestamp);
      return mix_u64(h, v->value.v_timestamp.increment);
    case BSON_TYPE_REGEX: {
      h = mix_u64(h, 50);
      const char* p = v->value.v_regex.regex ? v->value.v_regex.regex : "";
      const char* o = v->value.v_regex.options ? v->value.v_regex.options : "";
      h = mix(h, p, std::strlen(p) + 1);
      return mix(h, o, std::strlen(o));
    }
    case BSON_TYPE_DBPOINTER:
      h = mix_u64(h, 55);
      h = mix(h, v->value.v_dbpointer.collection, v->value.v_dbpointer.collection_len);
      return mix(h, v->value.v_dbpointer.oid.bytes, 12);
    case BSON_TYPE_CODE: return mix(mix_u64(h, 60), v->value.v_code.code, v->value.v_code.code_len);
    case BSON_TYPE_CODEWSCOPE: {
      h = mix_u64(h, 65);
      h = mix(h, v->value.v_codewscope.code, v->value.v_codewscope.code_len);
      bson_t s;
      if (bson_init_static(&s, v->value.v_codewscope.scope_data, v->value.v_codewscope.scope_len)) {
        h = hash_container(h, &s, nullptr, true);
      }
      return h;
    }
    default: return mix_u64(h, static_cast<uint64_t>(rank + 1000));
  }
}

}  // namespace

uint64_t hash_value(const bson_value_t* v, const Collator* collator) { return hash_into(kFnvOffset, v, collator); }

}  // namespace mql
