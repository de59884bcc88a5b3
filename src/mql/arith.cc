// Numeric core over Intel's BID decimal library (by-value calls, explicit rounding and flags).
#include "mql/arith.h"

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>

extern "C" {
#include <bid_conf.h>
#include <bid_functions.h>
}

namespace mql {
namespace dec {
namespace {

BID_UINT128 to_bid(const D& d) {
  BID_UINT128 r;
  r.w[0] = d.low;
  r.w[1] = d.high;
  return r;
}
D from_bid(const BID_UINT128& b) {
  D r;
  r.low = b.w[0];
  r.high = b.w[1];
  return r;
}
int rnd(Round r) { return static_cast<int>(r); }

}  // namespace

D zero() {
  D r;
  r.low = 0;
  r.high = 0x3040000000000000ULL;  // 0E+0
  return r;
}

D from_int64(int64_t v) { return from_bid(bid128_from_int64(v)); }

D from_double(double v, bool exact34) {
  _IDEC_flags f = 0;
  if (exact34 || !std::isfinite(v) || v == 0.0) {
    D r = from_bid(binary64_to_bid128(v, BID_ROUNDING_TO_NEAREST, &f));
    if (!exact34 && v == 0.0) {
      // The server's 15-digit conversion keeps zero as 0 with the sign of the double.
      r = std::signbit(v) ? negate(zero()) : zero();
    }
    return r;
  }
  // 15 significant digits, trailing zeros kept (the server quantizes to 15 digits).
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.14e", v);
  return from_bid(bid128_from_string(buf, BID_ROUNDING_TO_NEAREST, &f));
}

std::optional<D> from_string(std::string_view s, bool* inexact) {
  std::string str(s);
  // Accept what the server accepts: [+-] digits [. digits] [e[+-]digits], or inf/infinity/nan.
  size_t i = 0;
  if (i < str.size() && (str[i] == '+' || str[i] == '-')) ++i;
  std::string rest;
  for (size_t j = i; j < str.size(); ++j) rest.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(str[j]))));
  bool ok = false;
  if (rest == "inf" || rest == "infinity" || rest == "nan") {
    ok = true;
  } else {
    size_t j = i;
    size_t digits = 0;
    while (j < str.size() && std::isdigit(static_cast<unsigned char>(str[j]))) ++j, ++digits;
    if (j < str.size() && str[j] == '.') {
      ++j;
      while (j < str.size() && std::isdigit(static_cast<unsigned char>(str[j]))) ++j, ++digits;
    }
    if (digits > 0 && j < str.size() && (str[j] == 'e' || str[j] == 'E')) {
      ++j;
      if (j < str.size() && (str[j] == '+' || str[j] == '-')) ++j;
      size_t ed = 0;
      while (j < str.size() && std::isdigit(static_cast<unsigned char>(str[j]))) ++j, ++ed;
      if (ed == 0) digits = 0;
    }
    ok = digits > 0 && j == str.size();
  }
  if (!ok) return std::nullopt;
  _IDEC_flags f = 0;
  D r = from_bid(bid128_from_string(str.data(), BID_ROUNDING_TO_NEAREST, &f));
  if (inexact) *inexact = (f & BID_INEXACT_EXCEPTION) != 0;
  return r;
}

std::string to_string(const D& d) {
  char buf[BSON_DECIMAL128_STRING];
  bson_decimal128_to_string(&d, buf);
  return buf;
}

double to_double(const D& d) {
  _IDEC_flags f = 0;
  return bid128_to_binary64(to_bid(d), BID_ROUNDING_TO_NEAREST, &f);
}

std::optional<int64_t> to_int64(const D& d, Round r) {
  _IDEC_flags f = 0;
  BID_SINT64 v;
  BID_UINT128 x = to_bid(d);
  switch (r) {
    case Round::kHalfEven:
      v = bid128_to_int64_rnint(x, &f);
      break;
    case Round::kDown:
      v = bid128_to_int64_floor(x, &f);
      break;
    case Round::kUp:
      v = bid128_to_int64_ceil(x, &f);
      break;
    case Round::kTowardZero:
      v = bid128_to_int64_int(x, &f);
      break;
    default:
      v = bid128_to_int64_rninta(x, &f);
      break;
  }
  if (f & BID_INVALID_EXCEPTION) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<int32_t> to_int32(const D& d, Round r) {
  auto v = to_int64(d, r);
  if (!v || *v < std::numeric_limits<int32_t>::min() || *v > std::numeric_limits<int32_t>::max()) return std::nullopt;
  return static_cast<int32_t>(*v);
}

bool is_nan(const D& d) { return ((d.high >> 58) & 0x1F) == 0x1F; }
bool is_inf(const D& d) { return ((d.high >> 58) & 0x1F) == 0x1E; }
bool is_finite(const D& d) { return ((d.high >> 59) & 0xF) != 0xF; }
bool is_negative(const D& d) { return (d.high >> 63) != 0; }
bool is_zero(const D& d) {
  if (!is_finite(d)) return false;
  if (((d.high >> 61) & 3) == 3) return true;  // non-canonical large coefficient reads as zero
  unsigned __int128 coef = (static_cast<unsigned __int128>(d.high & 0x1FFFFFFFFFFFFULL) << 64) | d.low;
  return coef == 0 || coef >= static_cast<unsigned __int128>(1e34);  // >= 10^34: non-canonical
}

D add(const D& a, const D& b) {
  _IDEC_flags f = 0;
  return from_bid(bid128_add(to_bid(a), to_bid(b), BID_ROUNDING_TO_NEAREST, &f));
}
D sub(const D& a, const D& b) {
  _IDEC_flags f = 0;
  return from_bid(bid128_sub(to_bid(a), to_bid(b), BID_ROUNDING_TO_NEAREST, &f));
}
D mul(const D& a, const D& b) {
  _IDEC_flags f = 0;
  return from_bid(bid128_mul(to_bid(a), to_bid(b), BID_ROUNDING_TO_NEAREST, &f));
}
D div(const D& a, const D& b) {
  _IDEC_flags f = 0;
  return from_bid(bid128_div(to_bid(a), to_bid(b), BID_ROUNDING_TO_NEAREST, &f));
}
D fmod(const D& a, const D& b) {
  _IDEC_flags f = 0;
  return from_bid(bid128_fmod(to_bid(a), to_bid(b), &f));
}
D negate(const D& a) { return from_bid(bid128_negate(to_bid(a))); }
D abs(const D& a) { return from_bid(bid128_abs(to_bid(a))); }
D sqrt(const D& a) {
  _IDEC_flags f = 0;
  return from_bid(bid128_sqrt(to_bid(a), BID_ROUNDING_TO_NEAREST, &f));
}
D exp(const D& a) {
  _IDEC_flags f = 0;
  return from_bid(bid128_exp(to_bid(a), BID_ROUNDING_TO_NEAREST, &f));
}
D ln(const D& a) {
  _IDEC_flags f = 0;
  return from_bid(bid128_log(to_bid(a), BID_ROUNDING_TO_NEAREST, &f));
}
D log10(const D& a) {
  _IDEC_flags f = 0;
  return from_bid(bid128_log10(to_bid(a), BID_ROUNDING_TO_NEAREST, &f));
}
D pow(const D& a, const D& b) {
  _IDEC_flags f = 0;
  return from_bid(bid128_pow(to_bid(a), to_bid(b), BID_ROUNDING_TO_NEAREST, &f));
}

D round_integral(const D& a, Round r) {
  _IDEC_flags f = 0;
  BID_UINT128 x = to_bid(a);
  switch (r) {
    case Round::kHalfEven:
      return from_bid(bid128_round_integral_nearest_even(x, &f));
    case Round::kDown:
      return from_bid(bid128_round_integral_negative(x, &f));
    case Round::kUp:
      return from_bid(bid128_round_integral_positive(x, &f));
    case Round::kTowardZero:
      return from_bid(bid128_round_integral_zero(x, &f));
    default:
      return from_bid(bid128_round_integral_nearest_away(x, &f));
  }
}

D round_places(const D& a, int places, Round r) {
  if (!is_finite(a)) return a;
  // Quantize to the quantum 1E-places, as the server's Decimal128::quantize: the result always
  // has that exponent (5 to 2 places is 5.00), and NaN when it would need more than 34 digits.
  D quantum;
  quantum.low = 1;
  quantum.high = static_cast<uint64_t>(6176 - places) << 49;
  _IDEC_flags f = 0;
  return from_bid(bid128_quantize(to_bid(a), to_bid(quantum), rnd(r), &f));
}

int compare(const D& a, const D& b) {
  bool an = is_nan(a), bn = is_nan(b);
  if (an || bn) return an == bn ? 0 : (an ? -1 : 1);
  _IDEC_flags f = 0;
  if (bid128_quiet_less(to_bid(a), to_bid(b), &f)) return -1;
  if (bid128_quiet_equal(to_bid(a), to_bid(b), &f)) return 0;
  return 1;
}

D apply(Fn fn, const D& a) {
  _IDEC_flags f = 0;
  BID_UINT128 x = to_bid(a);
  constexpr int m = BID_ROUNDING_TO_NEAREST;
  switch (fn) {
    case Fn::kSin:
      return from_bid(bid128_sin(x, m, &f));
    case Fn::kCos:
      return from_bid(bid128_cos(x, m, &f));
    case Fn::kTan:
      return from_bid(bid128_tan(x, m, &f));
    case Fn::kAsin:
      return from_bid(bid128_asin(x, m, &f));
    case Fn::kAcos:
      return from_bid(bid128_acos(x, m, &f));
    case Fn::kAtan:
      return from_bid(bid128_atan(x, m, &f));
    case Fn::kSinh:
      return from_bid(bid128_sinh(x, m, &f));
    case Fn::kCosh:
      return from_bid(bid128_cosh(x, m, &f));
    case Fn::kTanh:
      return from_bid(bid128_tanh(x, m, &f));
    case Fn::kAsinh:
      return from_bid(bid128_asinh(x, m, &f));
    case Fn::kAcosh:
      return from_bid(bid128_acosh(x, m, &f));
    case Fn::kAtanh:
      return from_bid(bid128_atanh(x, m, &f));
  }
  return a;
}

D atan2(const D& y, const D& x) {
  _IDEC_flags f = 0;
  return from_bid(bid128_atan2(to_bid(y), to_bid(x), BID_ROUNDING_TO_NEAREST, &f));
}

}  // namespace dec

// ---- numbers as bson values ---------------------------------------------------------------

bool is_numeric(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE || t == BSON_TYPE_DECIMAL128;
}

namespace {
int numeric_rank(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_INT32:
      return 1;
    case BSON_TYPE_INT64:
      return 2;
    case BSON_TYPE_DOUBLE:
      return 3;
    case BSON_TYPE_DECIMAL128:
      return 4;
    default:
      return 0;
  }
}
}  // namespace

bson_type_t widest_numeric(bson_type_t a, bson_type_t b) {
  int ra = numeric_rank(a), rb = numeric_rank(b);
  if (ra == 0 || rb == 0) return BSON_TYPE_EOD;
  return ra >= rb ? a : b;
}

double num_to_double(const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      return v.value.v_int32;
    case BSON_TYPE_INT64:
      return static_cast<double>(v.value.v_int64);
    case BSON_TYPE_DECIMAL128:
      return dec::to_double(v.value.v_decimal128);
    default:
      return v.value.v_double;
  }
}

int64_t num_to_int64(const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      return v.value.v_int32;
    case BSON_TYPE_INT64:
      return v.value.v_int64;
    case BSON_TYPE_DECIMAL128: {
      auto r = dec::to_int64(v.value.v_decimal128, dec::Round::kTowardZero);
      if (r) return *r;
      if (dec::is_nan(v.value.v_decimal128)) return std::numeric_limits<int64_t>::min();
      return dec::is_negative(v.value.v_decimal128) ? std::numeric_limits<int64_t>::min()
                                                    : std::numeric_limits<int64_t>::max();
    }
    default: {
      double d = v.value.v_double;
      if (std::isnan(d)) return std::numeric_limits<int64_t>::min();
      if (d >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
      if (d < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
      return static_cast<int64_t>(d);
    }
  }
}

dec::D num_to_decimal(const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      return dec::from_int64(v.value.v_int32);
    case BSON_TYPE_INT64:
      return dec::from_int64(v.value.v_int64);
    case BSON_TYPE_DECIMAL128:
      return v.value.v_decimal128;
    default:
      return dec::from_double(v.value.v_double);
  }
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
bson_value_t make_decimal(const dec::D& d) {
  bson_value_t r;
  r.value_type = BSON_TYPE_DECIMAL128;
  r.value.v_decimal128 = d;
  return r;
}
bson_value_t make_int_or_long(int64_t v) {
  if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
    return make_int32(static_cast<int32_t>(v));
  }
  return make_int64(v);
}

namespace {

enum class Op { kAdd, kSub, kMul };

// int64 arithmetic; false on overflow.
bool int_op(Op op, int64_t a, int64_t b, int64_t* out) {
  switch (op) {
    case Op::kAdd:
      return !__builtin_add_overflow(a, b, out);
    case Op::kSub:
      return !__builtin_sub_overflow(a, b, out);
    case Op::kMul:
      return !__builtin_mul_overflow(a, b, out);
  }
  return false;
}
double dbl_op(Op op, double a, double b) { return op == Op::kAdd ? a + b : op == Op::kSub ? a - b : a * b; }
dec::D dec_op(Op op, const dec::D& a, const dec::D& b) {
  return op == Op::kAdd ? dec::add(a, b) : op == Op::kSub ? dec::sub(a, b) : dec::mul(a, b);
}

// Shared promotion: decimal wins, then double, then int64 (int32 when both are int32 and the
// result fits). `int64_overflow_to_double` picks the aggregation (true) or SafeNum (false) rule.
std::optional<bson_value_t> promote_op(Op op, const bson_value_t& a, const bson_value_t& b,
                                       bool int64_overflow_to_double) {
  bson_type_t w = widest_numeric(a.value_type, b.value_type);
  if (w == BSON_TYPE_DECIMAL128) {
    // Doubles convert with 15 digits (the server's coerceToDecimal and SafeNum both do).
    return make_decimal(dec_op(op, num_to_decimal(a), num_to_decimal(b)));
  }
  if (w == BSON_TYPE_DOUBLE) return make_double(dbl_op(op, num_to_double(a), num_to_double(b)));
  int64_t r;
  if (int_op(op, num_to_int64(a), num_to_int64(b), &r)) {
    if (w == BSON_TYPE_INT32 && r >= std::numeric_limits<int32_t>::min() && r <= std::numeric_limits<int32_t>::max()) {
      return make_int32(static_cast<int32_t>(r));
    }
    return make_int64(r);
  }
  if (!int64_overflow_to_double) return std::nullopt;
  return make_double(dbl_op(op, num_to_double(a), num_to_double(b)));
}

}  // namespace

bson_value_t agg_add(const bson_value_t& a, const bson_value_t& b) { return *promote_op(Op::kAdd, a, b, true); }
bson_value_t agg_subtract(const bson_value_t& a, const bson_value_t& b) { return *promote_op(Op::kSub, a, b, true); }
bson_value_t agg_multiply(const bson_value_t& a, const bson_value_t& b) { return *promote_op(Op::kMul, a, b, true); }

bson_value_t agg_divide(const bson_value_t& a, const bson_value_t& b) {
  if (a.value_type == BSON_TYPE_DECIMAL128 || b.value_type == BSON_TYPE_DECIMAL128) {
    return make_decimal(dec::div(num_to_decimal(a), num_to_decimal(b)));
  }
  return make_double(num_to_double(a) / num_to_double(b));
}

bool num_is_zero(const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      return v.value.v_int32 == 0;
    case BSON_TYPE_INT64:
      return v.value.v_int64 == 0;
    case BSON_TYPE_DECIMAL128:
      return dec::is_zero(v.value.v_decimal128);
    default:
      return v.value.v_double == 0.0;
  }
}

std::optional<bson_value_t> safe_add(const bson_value_t& a, const bson_value_t& b) {
  return promote_op(Op::kAdd, a, b, false);
}
std::optional<bson_value_t> safe_mul(const bson_value_t& a, const bson_value_t& b) {
  return promote_op(Op::kMul, a, b, false);
}

// ---- summation ----------------------------------------------------------------------------

void DoubleDoubleSum::add_double(double x) {
  special_ += x;
  // Fast2Sum of x and the addend (the addend is the smaller), then 2Sum into the sum.
  double s = x + addend_;
  double z = s - x;
  double t = addend_ - z;
  x = s;
  addend_ = t;
  double s2 = sum_ + x;
  double ap = s2 - x;
  double bp = s2 - ap;
  double da = sum_ - ap;
  double db = x - bp;
  sum_ = s2;
  addend_ += da + db;
}

void DoubleDoubleSum::add_long(int64_t x) {
  int64_t high = x / (1LL << 32) * (1LL << 32);
  int64_t low = x - high;
  add_double(static_cast<double>(low));
  add_double(static_cast<double>(high));
}

dec::D DoubleDoubleSum::get_decimal() const {
  if (!std::isfinite(sum_)) return dec::from_double(special_, true);
  return dec::add(dec::from_double(sum_, true), dec::from_double(addend_, true));
}

bool DoubleDoubleSum::fits_long() const {
  constexpr double kMin = -9223372036854775808.0;
  constexpr double kMaxPlus1 = 9223372036854775808.0;
  if (sum_ > kMin && sum_ < kMaxPlus1) return true;
  if (sum_ == kMaxPlus1) return addend_ < -0.5;
  if (sum_ == kMin) return addend_ >= -0.5;
  return false;
}

int64_t DoubleDoubleSum::get_long() const {
  constexpr double kMaxPlus1 = 9223372036854775808.0;
  if (sum_ == kMaxPlus1) {
    // sum_ itself does not fit; the (negative) addend brings it back in range.
    return static_cast<int64_t>(static_cast<uint64_t>(std::llround(addend_)) + (1ULL << 63));
  }
  long long s = std::llround(sum_);
  s += std::llround((sum_ - static_cast<double>(s)) + addend_);
  return s;
}

bool Summation::add(const bson_value_t& v) {
  if (!is_numeric(v.value_type)) return false;
  total_type_ = widest_numeric(total_type_, v.value_type);
  switch (v.value_type) {
    case BSON_TYPE_INT32:
      non_decimal_.add_int(v.value.v_int32);
      break;
    case BSON_TYPE_INT64:
      non_decimal_.add_long(v.value.v_int64);
      break;
    case BSON_TYPE_DOUBLE:
      non_decimal_.add_double(v.value.v_double);
      break;
    default:
      decimal_ = dec::add(decimal_, v.value.v_decimal128);
      has_decimal_ = true;
      break;
  }
  return true;
}

Value Summation::sum() const {
  switch (total_type_) {
    case BSON_TYPE_INT32:
      if (non_decimal_.fits_long()) return Value(make_int_or_long(non_decimal_.get_long()));
      return Value::dbl(non_decimal_.get_double());
    case BSON_TYPE_INT64:
      if (non_decimal_.fits_long()) return Value::int64(non_decimal_.get_long());
      return Value::dbl(non_decimal_.get_double());
    case BSON_TYPE_DOUBLE:
      return Value::dbl(non_decimal_.get_double());
    default:
      return Value::decimal(dec::add(decimal_, non_decimal_.get_decimal()));
  }
}

Value Summation::average(int64_t count) const {
  if (count == 0) return Value::null();
  if (total_type_ == BSON_TYPE_DECIMAL128) {
    return Value::decimal(dec::div(dec::add(decimal_, non_decimal_.get_decimal()), dec::from_int64(count)));
  }
  return Value::dbl(non_decimal_.get_double() / static_cast<double>(count));
}

}  // namespace mql
