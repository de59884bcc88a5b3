// SafeNum-style arithmetic for update operators, including a small exact decimal128 kernel
// (coefficient in 128 bits, round-half-even when the result exceeds 34 digits).
#include "mql/update_arith.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace mql {
namespace {

using u128 = unsigned __int128;

struct Dec {
  bool neg = false;
  u128 coef = 0;
  int exp = 0;
  int special = 0;  // 0 finite, 1 inf, 2 nan
};

constexpr int kExpBias = 6176;
constexpr int kMaxExp = 6111;
constexpr int kMinExp = -6176;

u128 pow10(int n) {
  u128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

const u128 kMaxCoef = pow10(34);  // exclusive

Dec decode(const bson_decimal128_t& d) {
  Dec r;
  r.neg = (d.high >> 63) != 0;
  uint64_t comb = (d.high >> 58) & 0x1F;
  if (comb == 0x1F) {
    r.special = 2;
    return r;
  }
  if (comb == 0x1E) {
    r.special = 1;
    return r;
  }
  if (((d.high >> 61) & 3) == 3) {
    // Large-coefficient form: always non-canonical (> 10^34 - 1), which means zero.
    r.exp = static_cast<int>((d.high >> 47) & 0x3FFF) - kExpBias;
    r.coef = 0;
    return r;
  }
  r.exp = static_cast<int>((d.high >> 49) & 0x3FFF) - kExpBias;
  r.coef = (static_cast<u128>(d.high & 0x1FFFFFFFFFFFFULL) << 64) | d.low;
  if (r.coef >= kMaxCoef) r.coef = 0;
  return r;
}

bson_decimal128_t encode_special(const Dec& d) {
  bson_decimal128_t out;
  bson_decimal128_from_string(d.special == 2 ? "NaN" : (d.neg ? "-Infinity" : "Infinity"), &out);
  return out;
}

// Divides the coefficient by 10^n with round-half-even.
void round_down_digits(Dec& d, int n) {
  if (n <= 0) return;
  if (n > 38) {
    d.coef = 0;
    d.exp += n;
    return;
  }
  u128 div = pow10(n);
  u128 q = d.coef / div;
  u128 rem = d.coef % div;
  u128 half = div / 2;
  if (rem > half || (rem == half && (q & 1))) ++q;
  d.coef = q;
  d.exp += n;
}

bson_decimal128_t encode(Dec d) {
  if (d.special) return encode_special(d);
  while (d.coef >= kMaxCoef) round_down_digits(d, 1);
  while (d.exp > kMaxExp && d.coef != 0 && d.coef * 10 < kMaxCoef) {
    d.coef *= 10;
    --d.exp;
  }
  if (d.exp > kMaxExp) {
    if (d.coef == 0) {
      d.exp = kMaxExp;
    } else {
      d.special = 1;
      return encode_special(d);
    }
  }
  if (d.exp < kMinExp) {
    round_down_digits(d, kMinExp - d.exp);
  }
  bson_decimal128_t out;
  uint64_t biased = static_cast<uint64_t>(d.exp + kExpBias);
  out.high = (d.neg ? (1ULL << 63) : 0) | (biased << 49) | static_cast<uint64_t>(d.coef >> 64);
  out.low = static_cast<uint64_t>(d.coef);
  return out;
}

Dec from_int(int64_t v) {
  Dec d;
  d.neg = v < 0;
  d.coef = d.neg ? static_cast<u128>(-(static_cast<__int128>(v))) : static_cast<u128>(v);
  return d;
}

Dec to_dec(const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      return from_int(v.value.v_int32);
    case BSON_TYPE_INT64:
      return from_int(v.value.v_int64);
    case BSON_TYPE_DECIMAL128:
      return decode(v.value.v_decimal128);
    default:
      break;
  }
  double x = v.value.v_double;
  Dec d;
  if (std::isnan(x)) {
    d.special = 2;
    return d;
  }
  if (std::isinf(x)) {
    d.special = 1;
    d.neg = x < 0;
    return d;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.14e", x);
  bson_decimal128_t dec;
  if (!bson_decimal128_from_string(buf, &dec)) return Dec{};
  return decode(dec);
}

// Brings both to the same exponent (the smaller one), scaling up the one with the larger
// exponent while it fits, and rounding the other when it does not.
void align(Dec& a, Dec& b) {
  Dec* hi = a.exp > b.exp ? &a : &b;
  Dec* lo = a.exp > b.exp ? &b : &a;
  const u128 limit = pow10(37);
  while (hi->exp > lo->exp && (hi->coef == 0 || hi->coef < limit / 10)) {
    hi->coef *= 10;
    --hi->exp;
  }
  if (hi->coef == 0) hi->exp = lo->exp;
  if (hi->exp > lo->exp) round_down_digits(*lo, hi->exp - lo->exp);
}

Dec dec_add(Dec a, Dec b) {
  if (a.special || b.special) {
    Dec r;
    if (a.special == 2 || b.special == 2) {
      r.special = 2;
    } else if (a.special == 1 && b.special == 1) {
      r.special = a.neg == b.neg ? 1 : 2;
      r.neg = a.neg;
    } else {
      r = a.special ? a : b;
    }
    return r;
  }
  align(a, b);
  Dec r;
  r.exp = a.exp;
  if (a.neg == b.neg) {
    r.neg = a.neg;
    r.coef = a.coef + b.coef;
  } else if (a.coef >= b.coef) {
    r.neg = a.neg;
    r.coef = a.coef - b.coef;
  } else {
    r.neg = b.neg;
    r.coef = b.coef - a.coef;
  }
  if (r.coef == 0) r.neg = a.neg && b.neg;
  return r;
}

Dec dec_mul(Dec a, Dec b) {
  Dec r;
  r.neg = a.neg != b.neg;
  if (a.special == 2 || b.special == 2) {
    r.special = 2;
    return r;
  }
  if (a.special || b.special) {
    if ((a.special && !b.special && b.coef == 0) || (b.special && !a.special && a.coef == 0)) {
      r.special = 2;
    } else {
      r.special = 1;
    }
    return r;
  }
  r.exp = a.exp + b.exp;
  u128 p;
  while (__builtin_mul_overflow(a.coef, b.coef, &p)) {
    // Drop a digit from the longer operand (rounded); exactness is already lost at 34 digits.
    if (a.coef > b.coef) {
      round_down_digits(a, 1);
    } else {
      round_down_digits(b, 1);
    }
    r.exp = a.exp + b.exp;
  }
  r.coef = p;
  return r;
}

bson_value_t make_int32(int32_t v) {
  bson_value_t r;
  r.value_type = BSON_TYPE_INT32;
  r.value.v_int32 = v;
  return r;
}
bson_value_t make_int64(int64_t v) {
  bson_value_t r;
  r.value_type = BSON_TYPE_INT64;
  r.value.v_int64 = v;
  return r;
}
bson_value_t make_double(double v) {
  bson_value_t r;
  r.value_type = BSON_TYPE_DOUBLE;
  r.value.v_double = v;
  return r;
}
bson_value_t make_decimal(const bson_decimal128_t& d) {
  bson_value_t r;
  r.value_type = BSON_TYPE_DECIMAL128;
  r.value.v_decimal128 = d;
  return r;
}

double as_double(const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      return v.value.v_int32;
    case BSON_TYPE_INT64:
      return static_cast<double>(v.value.v_int64);
    default:
      return v.value.v_double;
  }
}

int64_t as_int64(const bson_value_t& v) {
  return v.value_type == BSON_TYPE_INT32 ? v.value.v_int32 : v.value.v_int64;
}

}  // namespace

bson_decimal128_t to_decimal(const bson_value_t& v) { return encode(to_dec(v)); }

std::optional<bson_value_t> safe_add(const bson_value_t& a, const bson_value_t& b) {
  if (a.value_type == BSON_TYPE_DECIMAL128 || b.value_type == BSON_TYPE_DECIMAL128) {
    return make_decimal(encode(dec_add(to_dec(a), to_dec(b))));
  }
  if (a.value_type == BSON_TYPE_DOUBLE || b.value_type == BSON_TYPE_DOUBLE) {
    return make_double(as_double(a) + as_double(b));
  }
  if (a.value_type == BSON_TYPE_INT32 && b.value_type == BSON_TYPE_INT32) {
    int32_t r;
    if (!__builtin_add_overflow(a.value.v_int32, b.value.v_int32, &r)) return make_int32(r);
    return make_int64(static_cast<int64_t>(a.value.v_int32) + b.value.v_int32);
  }
  int64_t r;
  if (__builtin_add_overflow(as_int64(a), as_int64(b), &r)) return std::nullopt;
  return make_int64(r);
}

std::optional<bson_value_t> safe_mul(const bson_value_t& a, const bson_value_t& b) {
  if (a.value_type == BSON_TYPE_DECIMAL128 || b.value_type == BSON_TYPE_DECIMAL128) {
    return make_decimal(encode(dec_mul(to_dec(a), to_dec(b))));
  }
  if (a.value_type == BSON_TYPE_DOUBLE || b.value_type == BSON_TYPE_DOUBLE) {
    return make_double(as_double(a) * as_double(b));
  }
  if (a.value_type == BSON_TYPE_INT32 && b.value_type == BSON_TYPE_INT32) {
    int32_t r;
    if (!__builtin_mul_overflow(a.value.v_int32, b.value.v_int32, &r)) return make_int32(r);
    return make_int64(static_cast<int64_t>(a.value.v_int32) * b.value.v_int32);
  }
  int64_t r;
  if (__builtin_mul_overflow(as_int64(a), as_int64(b), &r)) return std::nullopt;
  return make_int64(r);
}

bson_value_t bit_apply(const bson_value_t& a, const bson_value_t& b, BitOp op) {
  if (a.value_type == BSON_TYPE_INT32 && b.value_type == BSON_TYPE_INT32) {
    int32_t x = a.value.v_int32, y = b.value.v_int32;
    return make_int32(op == BitOp::kAnd ? (x & y) : op == BitOp::kOr ? (x | y) : (x ^ y));
  }
  int64_t x = as_int64(a), y = as_int64(b);
  return make_int64(op == BitOp::kAnd ? (x & y) : op == BitOp::kOr ? (x | y) : (x ^ y));
}

}  // namespace mql
