// Arithmetic, trigonometric and bitwise expression operators, following the server's
// expression.cpp / expression_trigonometric.h (type promotion, null handling, error codes).
#include <cmath>
#include <limits>

#include "mql/expression_internal.h"

namespace mql::expr {
namespace {

const bson_value_t& R(const Value& v) { return v.raw(); }
double D(const Value& v) { return num_to_double(v.raw()); }

// ---- single numeric argument (ExpressionSingleNumericArg: null → null, else 28765) ----------

using NumFn = Result<Value> (*)(const Value& v, std::string_view op);

template <NumFn F>
Result<Value> single_numeric(std::vector<Value>& a, const Call& c) {
  const Value& v = a[0];
  if (v.nullish()) return Value::null();
  if (!v.is_number()) {
    return err(28765, std::string(c.op) + " only supports numeric types, not " + std::string(type_name(v)));
  }
  return F(v, c.op);
}

template <NumFn F>
Result<ExprPtr> parse_single(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  return make_nary(op, arg, sc, 1, 1, single_numeric<F>);
}

Result<Value> abs_fn(const Value& v, std::string_view) {
  switch (v.type()) {
    case BSON_TYPE_DOUBLE:
      return Value::dbl(std::fabs(v.raw().value.v_double));
    case BSON_TYPE_DECIMAL128:
      return Value::decimal(dec::abs(v.raw().value.v_decimal128));
    default: {
      int64_t n = num_to_int64(v.raw());
      if (n == std::numeric_limits<int64_t>::min()) return err(28680, "can't take $abs of long long min");
      int64_t r = n < 0 ? -n : n;
      return v.type() == BSON_TYPE_INT64 ? Value::int64(r) : Value(make_int_or_long(r));
    }
  }
}

Result<Value> ceil_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DOUBLE) return Value::dbl(std::ceil(v.raw().value.v_double));
  if (v.type() == BSON_TYPE_DECIMAL128) return Value::decimal(dec::round_places(v.raw().value.v_decimal128, 0, dec::Round::kUp));
  return v;
}

Result<Value> floor_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DOUBLE) return Value::dbl(std::floor(v.raw().value.v_double));
  if (v.type() == BSON_TYPE_DECIMAL128) {
    return Value::decimal(dec::round_places(v.raw().value.v_decimal128, 0, dec::Round::kDown));
  }
  return v;
}

Result<Value> exp_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DECIMAL128) return Value::decimal(dec::exp(v.raw().value.v_decimal128));
  return Value::dbl(std::exp(D(v)));
}

Result<Value> ln_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DECIMAL128) {
    const auto& d = v.raw().value.v_decimal128;
    if (dec::compare(d, dec::zero()) > 0) return Value::decimal(dec::ln(d));
  }
  double x = D(v);
  if (!(x > 0 || std::isnan(x))) return err(28766, "$ln's argument must be a positive number, but is " + format_g(x));
  return Value::dbl(std::log(x));
}

Result<Value> log10_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DECIMAL128) {
    const auto& d = v.raw().value.v_decimal128;
    if (dec::compare(d, dec::zero()) > 0) return Value::decimal(dec::log10(d));
  }
  double x = D(v);
  if (!(x > 0 || std::isnan(x))) return err(28761, "$log10's argument must be a positive number, but is " + format_g(x));
  return Value::dbl(std::log10(x));
}

Result<Value> sqrt_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DECIMAL128) {
    const auto& d = v.raw().value.v_decimal128;
    if (dec::compare(d, dec::zero()) < 0 && !dec::is_nan(d)) {
      return err(28714, "$sqrt's argument must be greater than or equal to 0");
    }
    return Value::decimal(dec::sqrt(d));
  }
  double x = D(v);
  if (x < 0) return err(28714, "$sqrt's argument must be greater than or equal to 0");
  return Value::dbl(std::sqrt(x));
}

// ---- $add / $multiply (AddState / MultiplyState) -------------------------------------------

Result<Value> add_fn(std::vector<Value>& args, const Call&) {
  int64_t long_total = 0;
  double double_total = 0;
  dec::D decimal_total = dec::zero();
  bson_type_t widest = BSON_TYPE_INT32;
  bool is_date = false;
  for (const Value& operand : args) {
    if (operand.nullish()) return Value::null();
    if (!operand.is_number() && operand.type() != BSON_TYPE_DATE_TIME) {
      return err(common::kTypeMismatch, "$add only supports numeric or date types, not " + std::string(type_name(operand)));
    }
    bson_type_t old = widest;
    bson_value_t val;
    if (operand.type() == BSON_TYPE_DATE_TIME) {
      if (is_date) return err(16612, "only one date allowed in an $add expression");
      is_date = true;
      val = make_int64(operand.raw().value.v_datetime);
    } else {
      widest = widest_numeric(widest, operand.type());
      val = operand.raw();
    }
    if (old != widest) {
      if (widest == BSON_TYPE_DOUBLE) {
        double_total = static_cast<double>(long_total);
      } else if (widest == BSON_TYPE_DECIMAL128) {
        decimal_total = old == BSON_TYPE_DOUBLE ? dec::from_double(double_total, true) : dec::from_int64(long_total);
      }
    }
    switch (widest) {
      case BSON_TYPE_INT32:
      case BSON_TYPE_INT64: {
        int64_t r;
        if (__builtin_add_overflow(long_total, num_to_int64(val), &r)) {
          widest = BSON_TYPE_DOUBLE;
          double_total = static_cast<double>(long_total) + num_to_double(val);
        } else {
          long_total = r;
        }
        break;
      }
      case BSON_TYPE_DOUBLE:
        double_total += num_to_double(val);
        break;
      default:
        decimal_total = dec::add(decimal_total, num_to_decimal(val));
        break;
    }
  }
  if (is_date) {
    switch (widest) {
      case BSON_TYPE_INT32:
      case BSON_TYPE_INT64:
        return Value::date(long_total);
      case BSON_TYPE_DOUBLE:
        if (!(double_total >= -9223372036854775808.0 && double_total < 9223372036854775807.0)) {
          return err(common::kOverflow, "date overflow in $add");
        }
        return Value::date(std::llround(double_total));
      default:
        return Value::date(dec::to_int64(decimal_total, dec::Round::kHalfEven).value_or(std::numeric_limits<int64_t>::min()));
    }
  }
  switch (widest) {
    case BSON_TYPE_INT32:
      return Value(make_int_or_long(long_total));
    case BSON_TYPE_INT64:
      return Value::int64(long_total);
    case BSON_TYPE_DOUBLE:
      return Value::dbl(double_total);
    default:
      return Value::decimal(decimal_total);
  }
}

Result<Value> multiply_fn(std::vector<Value>& args, const Call&) {
  double double_product = 1;
  int64_t long_product = 1;
  dec::D decimal_product = dec::zero();
  bson_type_t type = BSON_TYPE_INT32;
  for (const Value& val : args) {
    if (val.nullish()) return Value::null();
    if (!val.is_number()) {
      return err(common::kTypeMismatch, "$multiply only supports numeric types, not " + std::string(type_name(val)));
    }
    bson_type_t old = type;
    type = widest_numeric(type, val.type());
    if (type == BSON_TYPE_DECIMAL128) {
      if (old != BSON_TYPE_DECIMAL128) {
        decimal_product = old == BSON_TYPE_DOUBLE ? dec::from_double(double_product) : dec::from_int64(long_product);
      }
      decimal_product = dec::mul(decimal_product, num_to_decimal(val.raw()));
    } else {
      double_product *= D(val);
      if (type != BSON_TYPE_DOUBLE) {
        if (!std::isfinite(D(val)) || __builtin_mul_overflow(long_product, num_to_int64(val.raw()), &long_product)) {
          type = BSON_TYPE_DOUBLE;
        }
      }
    }
  }
  switch (type) {
    case BSON_TYPE_DOUBLE:
      return Value::dbl(double_product);
    case BSON_TYPE_INT64:
      return Value::int64(long_product);
    case BSON_TYPE_INT32:
      return Value(make_int_or_long(long_product));
    default:
      return Value::decimal(decimal_product);
  }
}

Result<Value> subtract_fn(std::vector<Value>& a, const Call&) {
  const Value& lhs = a[0];
  const Value& rhs = a[1];
  bson_type_t t = widest_numeric(rhs.type(), lhs.type());
  if (t == BSON_TYPE_DECIMAL128) return Value::decimal(dec::sub(num_to_decimal(R(lhs)), num_to_decimal(R(rhs))));
  if (t == BSON_TYPE_DOUBLE) return Value::dbl(D(lhs) - D(rhs));
  if (t == BSON_TYPE_INT64) {
    int64_t r;
    if (__builtin_sub_overflow(num_to_int64(R(lhs)), num_to_int64(R(rhs)), &r)) return Value::dbl(D(lhs) - D(rhs));
    return Value::int64(r);
  }
  if (t == BSON_TYPE_INT32) return Value(make_int_or_long(num_to_int64(R(lhs)) - num_to_int64(R(rhs))));
  if (lhs.nullish() || rhs.nullish()) return Value::null();
  if (lhs.type() == BSON_TYPE_DATE_TIME) {
    int64_t l = lhs.raw().value.v_datetime;
    if (rhs.type() == BSON_TYPE_DATE_TIME) {
      // Milliseconds between the dates (wrapping like the server's Date_t arithmetic).
      return Value::int64(static_cast<int64_t>(static_cast<uint64_t>(l) - static_cast<uint64_t>(rhs.raw().value.v_datetime)));
    }
    if (rhs.is_number()) {
      return Value::date(static_cast<int64_t>(static_cast<uint64_t>(l) - static_cast<uint64_t>(num_to_int64(R(rhs)))));
    }
    return err(common::kTypeMismatch, "can't $subtract " + std::string(type_name(rhs)) + " from Date");
  }
  return err(common::kTypeMismatch,
             "can't $subtract " + std::string(type_name(rhs)) + " from " + std::string(type_name(lhs)));
}

Result<Value> divide_fn(std::vector<Value>& a, const Call&) {
  const Value& lhs = a[0];
  const Value& rhs = a[1];
  if (lhs.is_number() && rhs.is_number()) {
    if (lhs.type() == BSON_TYPE_DECIMAL128 || rhs.type() == BSON_TYPE_DECIMAL128) {
      dec::D den = num_to_decimal(R(rhs));
      if (dec::is_zero(den)) return err(common::kBadValue, "can't $divide by zero");
      return Value::decimal(dec::div(num_to_decimal(R(lhs)), den));
    }
    double den = D(rhs);
    if (den == 0.0) return err(common::kBadValue, "can't $divide by zero");
    return Value::dbl(D(lhs) / den);
  }
  if (lhs.nullish() || rhs.nullish()) return Value::null();
  return err(common::kTypeMismatch, "$divide only supports numeric types, not " + std::string(type_name(lhs)) + " and " +
                                        std::string(type_name(rhs)));
}

Result<Value> mod_fn(std::vector<Value>& a, const Call&) {
  const Value& lhs = a[0];
  const Value& rhs = a[1];
  if (lhs.is_number() && rhs.is_number()) {
    if (lhs.type() == BSON_TYPE_DECIMAL128 || rhs.type() == BSON_TYPE_DECIMAL128) {
      dec::D r = num_to_decimal(R(rhs));
      if (dec::is_zero(r)) return err(5733415, "can't $mod by zero");
      return Value::decimal(dec::fmod(num_to_decimal(R(lhs)), r));
    }
    double right = D(rhs);
    if (right == 0) return err(16610, "can't $mod by zero");
    if (lhs.type() == BSON_TYPE_DOUBLE || (rhs.type() == BSON_TYPE_DOUBLE && !as_integral(rhs))) {
      return Value::dbl(std::fmod(D(lhs), right));
    }
    if (lhs.type() == BSON_TYPE_INT64 || rhs.type() == BSON_TYPE_INT64) {
      int64_t l = num_to_int64(R(lhs)), r = num_to_int64(R(rhs));
      return Value::int64(r == -1 ? 0 : l % r);
    }
    int64_t l = num_to_int64(R(lhs)), r = num_to_int64(R(rhs));
    // Both int32 here (an integral double divisor with an int dividend stays int).
    if (r == -1) return Value::int32(0);
    return Value::int32(static_cast<int32_t>(static_cast<int32_t>(l) % static_cast<int32_t>(r)));
  }
  if (lhs.nullish() || rhs.nullish()) return Value::null();
  return err(16611, "$mod only supports numeric types, not " + std::string(type_name(lhs)) + " and " +
                        std::string(type_name(rhs)));
}

Result<Value> log_fn(std::vector<Value>& a, const Call&) {
  const Value& arg = a[0];
  const Value& base = a[1];
  if (arg.nullish() || base.nullish()) return Value::null();
  if (!arg.is_number()) return err(28756, "$log's argument must be numeric, not " + std::string(type_name(arg)));
  if (!base.is_number()) return err(28757, "$log's base must be numeric, not " + std::string(type_name(base)));
  if (arg.type() == BSON_TYPE_DECIMAL128 || base.type() == BSON_TYPE_DECIMAL128) {
    dec::D x = num_to_decimal(R(arg)), b = num_to_decimal(R(base));
    if (dec::compare(x, dec::zero()) > 0 && dec::compare(b, dec::from_int64(1)) != 0 &&
        dec::compare(b, dec::zero()) > 0) {
      return Value::decimal(dec::div(dec::ln(x), dec::ln(b)));
    }
  }
  double x = D(arg), b = D(base);
  if (!(x > 0 || std::isnan(x))) return err(28758, "$log's argument must be a positive number, but is " + format_g(x));
  if (!((b > 0 && b != 1) || std::isnan(b))) {
    return err(28759, "$log's base must be a positive number not equal to 1, but is " + format_g(b));
  }
  return Value::dbl(std::log(x) / std::log(b));
}

bool representable_as_long(int64_t base, int64_t exp) {
  // Largest |base| whose exp-th power fits in int64, for exp in [2, 63] (min for odd exps).
  static const int64_t kMax[] = {0,    0,    3037000499LL, 2097151, 55108, 6208, 1448, 511, 234, 127, 78, 52, 38,
                                 28,   22,   18,           15,      13,    11,   9,    8,   7,   7,   6,  6,  5,
                                 5,    5,    4,            4,       4,     4,    3,    3,   3,   3,   3,  3,  3,
                                 3,    2,    2,            2,       2,     2,    2,    2,   2,   2,   2,  2,  2,
                                 2,    2,    2,            2,       2,     2,    2,    2,   2,   2,   2,  1};
  static const int64_t kMin[] = {0,    0,    -3037000499LL, -2097152, -55108, -6208, -1448, -512, -234, -128, -78,
                                 -52,  -38,  -28,           -22,      -18,    -15,   -13,   -11,  -9,   -8,   -8,
                                 -7,   -6,   -6,            -5,       -5,     -5,    -4,    -4,   -4,   -4,   -3,
                                 -3,   -3,   -3,            -3,       -3,     -3,    -3,    -2,   -2,   -2,   -2,
                                 -2,   -2,   -2,            -2,       -2,     -2,    -2,    -2,   -2,   -2,   -2,
                                 -2,   -2,   -2,            -2,       -2,     -2,    -2,    -2,   -2};
  if (exp < 2) return true;
  return base >= kMin[exp] && base <= kMax[exp];
}

Result<Value> pow_fn(std::vector<Value>& a, const Call&) {
  const Value& base = a[0];
  const Value& ex = a[1];
  if (base.nullish() || ex.nullish()) return Value::null();
  if (!base.is_number()) return err(28762, "$pow's base must be numeric, not " + std::string(type_name(base)));
  if (!ex.is_number()) return err(28763, "$pow's exponent must be numeric, not " + std::string(type_name(ex)));
  if (base.type() == BSON_TYPE_DECIMAL128 || ex.type() == BSON_TYPE_DECIMAL128) {
    dec::D b = num_to_decimal(R(base)), e = num_to_decimal(R(ex));
    if (dec::is_zero(b) && dec::is_negative(e)) return err(28764, "$pow cannot take a base of 0 and a negative exponent");
    return Value::decimal(dec::pow(b, e));
  }
  double bd = D(base), ed = D(ex);
  if (bd == 0 && ed < 0) return err(28764, "$pow cannot take a base of 0 and a negative exponent");
  if (base.type() == BSON_TYPE_DOUBLE || ex.type() == BSON_TYPE_DOUBLE) return Value::dbl(std::pow(bd, ed));
  bool is_long = base.type() == BSON_TYPE_INT64 || ex.type() == BSON_TYPE_INT64;
  auto fmt = [&](int64_t r) { return is_long ? Value::int64(r) : Value(make_int_or_long(r)); };
  int64_t b = num_to_int64(R(base)), e = num_to_int64(R(ex));
  auto dbl = [&] { return Value::dbl(std::pow(static_cast<double>(b), static_cast<double>(e))); };
  if (b == 0) return fmt(e == 0 ? 1 : 0);
  if (b == 1) return fmt(1);
  if (b == -1) return fmt(e % 2 == 0 ? 1 : -1);
  if (e > 63 || e < 0) return dbl();
  if (!representable_as_long(b, e)) return dbl();
  int64_t result = 1;
  int64_t bb = b;
  while (e > 1) {
    if (e % 2 == 1) {
      result *= bb;
      e--;
    }
    bb *= bb;
    e /= 2;
  }
  if (e) result *= bb;
  return fmt(result);
}

// $round / $trunc with optional place ([-20, 100]).
Result<Value> round_trunc(std::vector<Value>& a, const Call& c, dec::Round mode) {
  const Value& num = a[0];
  if (num.nullish()) return Value::null();
  if (!num.is_number()) {
    return err(51081, std::string(c.op) + " only supports numeric types, not " + std::string(type_name(num)));
  }
  int64_t place = 0;
  if (a.size() > 1) {
    const Value& p = a[1];
    if (p.nullish()) return Value::null();
    place = p.is_number() ? num_to_int64(p.raw()) : 0;
    if (!as_integral(p)) return err(51082, "precision argument to  " + std::string(c.op) + " must be a integral value");
    if (place < -20 || place > 100) {
      return err(51083, "cannot apply " + std::string(c.op) + " with precision value " + std::to_string(place) +
                            " value must be in [-20, 100]");
    }
  }
  int places = static_cast<int>(place);
  switch (num.type()) {
    case BSON_TYPE_DECIMAL128: {
      const auto& d = num.raw().value.v_decimal128;
      if (dec::is_inf(d)) return num;
      return Value::decimal(dec::round_places(d, places, mode));
    }
    case BSON_TYPE_DOUBLE: {
      dec::D d = dec::from_double(num.raw().value.v_double, true);
      if (dec::is_inf(d)) return num;
      return Value::dbl(dec::to_double(dec::round_places(d, places, mode)));
    }
    default: {
      if (places >= 0) return num;
      int64_t v = num_to_int64(num.raw());
      auto out = dec::to_int64(dec::round_places(dec::from_int64(v), places, mode), dec::Round::kHalfEven);
      if (!out) {
        return err(51080, "invalid conversion from Decimal128 result in " + std::string(c.op) +
                              " resulting from arguments: [" + std::to_string(v) + ", " + std::to_string(place) + "]");
      }
      if (num.type() == BSON_TYPE_INT64 || *out > std::numeric_limits<int32_t>::max()) return Value::int64(*out);
      return Value::int32(static_cast<int32_t>(*out));
    }
  }
}

Result<Value> round_fn(std::vector<Value>& a, const Call& c) { return round_trunc(a, c, dec::Round::kHalfEven); }
Result<Value> trunc_fn(std::vector<Value>& a, const Call& c) { return round_trunc(a, c, dec::Round::kTowardZero); }

// ---- trigonometry (expression_trigonometric.h) ----------------------------------------------

struct TrigDef {
  double (*dfn)(double);
  dec::Fn decfn;
  // Bounds (NaN passes): kind 0 none, 1 closed [lo, hi], 2 open (-inf, inf) i.e. finite.
  int kind;
  double lo, hi;
};

std::string bound_text(double v) {
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  return format_g(v);
}

Result<Value> trig_eval(const Value& v, std::string_view op, const TrigDef& t) {
  double x = D(v);
  bool ok = std::isnan(x) || t.kind == 0 || (t.kind == 1 && x >= t.lo && x <= t.hi) || (t.kind == 2 && std::isfinite(x));
  if (!ok) {
    std::string lb = t.kind == 1 ? "[" : "(";
    std::string rb = t.kind == 1 ? "]" : ")";
    std::string shown = v.type() == BSON_TYPE_DECIMAL128 ? dec::to_string(v.raw().value.v_decimal128) : format_g(x);
    return err(50989, "cannot apply " + std::string(op) + " to " + shown + ", value must in " + lb + bound_text(t.lo) +
                          "," + bound_text(t.hi) + rb);
  }
  if (v.type() == BSON_TYPE_DECIMAL128) return Value::decimal(dec::apply(t.decfn, v.raw().value.v_decimal128));
  return Value::dbl(t.dfn(x));
}

constexpr double kInf = std::numeric_limits<double>::infinity();

#define MS_TRIG(NAME, DFN, DECFN, KIND, LO, HI)                                       \
  Result<Value> NAME(const Value& v, std::string_view op) {                           \
    static const TrigDef def{[](double x) { return DFN(x); }, DECFN, KIND, LO, HI}; \
    return trig_eval(v, op, def);                                                     \
  }
MS_TRIG(sin_fn, std::sin, dec::Fn::kSin, 2, -kInf, kInf)
MS_TRIG(cos_fn, std::cos, dec::Fn::kCos, 2, -kInf, kInf)
MS_TRIG(tan_fn, std::tan, dec::Fn::kTan, 2, -kInf, kInf)
MS_TRIG(asin_fn, std::asin, dec::Fn::kAsin, 1, -1.0, 1.0)
MS_TRIG(acos_fn, std::acos, dec::Fn::kAcos, 1, -1.0, 1.0)
MS_TRIG(atan_fn, std::atan, dec::Fn::kAtan, 0, 0, 0)
MS_TRIG(sinh_fn, std::sinh, dec::Fn::kSinh, 0, 0, 0)
MS_TRIG(cosh_fn, std::cosh, dec::Fn::kCosh, 0, 0, 0)
MS_TRIG(tanh_fn, std::tanh, dec::Fn::kTanh, 0, 0, 0)
MS_TRIG(asinh_fn, std::asinh, dec::Fn::kAsinh, 0, 0, 0)
MS_TRIG(acosh_fn, std::acosh, dec::Fn::kAcosh, 1, 1.0, kInf)
MS_TRIG(atanh_fn, std::atanh, dec::Fn::kAtanh, 1, -1.0, 1.0)
#undef MS_TRIG

const dec::D& dec_pi() {
  static const dec::D pi = *dec::from_string("3.141592653589793238462643383279502884197169399375105820974944");
  return pi;
}

Result<Value> deg2rad_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DECIMAL128) {
    return Value::decimal(dec::mul(v.raw().value.v_decimal128, dec::div(dec_pi(), dec::from_int64(180))));
  }
  return Value::dbl(D(v) * (M_PI / 180.0));
}

Result<Value> rad2deg_fn(const Value& v, std::string_view) {
  if (v.type() == BSON_TYPE_DECIMAL128) {
    return Value::decimal(dec::mul(v.raw().value.v_decimal128, dec::div(dec::from_int64(180), dec_pi())));
  }
  return Value::dbl(D(v) * (180.0 / M_PI));
}

Result<Value> atan2_fn(std::vector<Value>& a, const Call& c) {
  for (size_t i = 0; i < 2; ++i) {
    if (a[i].nullish()) return Value::null();
    if (!a[i].is_number()) {
      return err(i == 0 ? 51044 : 51045,
                 std::string(c.op) + " only supports numeric types, not " + std::string(type_name(a[i])));
    }
  }
  if (a[0].type() == BSON_TYPE_DECIMAL128 || a[1].type() == BSON_TYPE_DECIMAL128) {
    return Value::decimal(dec::atan2(num_to_decimal(R(a[0])), num_to_decimal(R(a[1]))));
  }
  return Value::dbl(std::atan2(D(a[0]), D(a[1])));
}

// ---- bitwise (6.3+) -----------------------------------------------------------------------

template <int kOp>  // 0 and, 1 or, 2 xor
Result<Value> bit_fn(std::vector<Value>& args, const Call& c) {
  int64_t acc = kOp == 0 ? -1 : 0;
  bool is_long = false;
  for (const Value& v : args) {
    if (v.nullish()) return Value::null();
    if (v.type() != BSON_TYPE_INT32 && v.type() != BSON_TYPE_INT64) {
      return err(common::kTypeMismatch, std::string(c.op) + " only supports int and long operands.");
    }
    is_long = is_long || v.type() == BSON_TYPE_INT64;
    int64_t x = num_to_int64(v.raw());
    acc = kOp == 0 ? (acc & x) : kOp == 1 ? (acc | x) : (acc ^ x);
  }
  return is_long ? Value::int64(acc) : Value::int32(static_cast<int32_t>(acc));
}

Result<Value> bitnot_fn(std::vector<Value>& a, const Call& c) {
  const Value& v = a[0];
  if (v.nullish()) return Value::null();
  if (v.type() == BSON_TYPE_INT32) return Value::int32(~v.raw().value.v_int32);
  if (v.type() == BSON_TYPE_INT64) return Value::int64(~v.raw().value.v_int64);
  return err(common::kTypeMismatch,
             std::string(c.op) + " only supports int and long, not: " + std::string(type_name(v)) + ".");
}

}  // namespace

std::vector<OpDef> arith_ops() {
  return {
      {"$abs", 0, parse_single<abs_fn>},
      {"$add", 0, nary<0, -1, add_fn>},
      {"$ceil", 0, parse_single<ceil_fn>},
      {"$divide", 0, nary<2, 2, divide_fn>},
      {"$exp", 0, parse_single<exp_fn>},
      {"$floor", 0, parse_single<floor_fn>},
      {"$ln", 0, parse_single<ln_fn>},
      {"$log", 0, nary<2, 2, log_fn>},
      {"$log10", 0, parse_single<log10_fn>},
      {"$mod", 0, nary<2, 2, mod_fn>},
      {"$multiply", 0, nary<0, -1, multiply_fn>},
      {"$pow", 0, nary<2, 2, pow_fn>},
      {"$round", 0, nary<1, 2, round_fn>},
      {"$sqrt", 0, parse_single<sqrt_fn>},
      {"$subtract", 0, nary<2, 2, subtract_fn>},
      {"$trunc", 0, nary<1, 2, trunc_fn>},
      {"$sin", 0, parse_single<sin_fn>},
      {"$cos", 0, parse_single<cos_fn>},
      {"$tan", 0, parse_single<tan_fn>},
      {"$asin", 0, parse_single<asin_fn>},
      {"$acos", 0, parse_single<acos_fn>},
      {"$atan", 0, parse_single<atan_fn>},
      {"$atan2", 0, nary<2, 2, atan2_fn>},
      {"$sinh", 0, parse_single<sinh_fn>},
      {"$cosh", 0, parse_single<cosh_fn>},
      {"$tanh", 0, parse_single<tanh_fn>},
      {"$asinh", 0, parse_single<asinh_fn>},
      {"$acosh", 0, parse_single<acosh_fn>},
      {"$atanh", 0, parse_single<atanh_fn>},
      {"$degreesToRadians", 0, parse_single<deg2rad_fn>},
      {"$radiansToDegrees", 0, parse_single<rad2deg_fn>},
      {"$bitAnd", 63, nary<0, -1, bit_fn<0>>},
      {"$bitOr", 63, nary<0, -1, bit_fn<1>>},
      {"$bitXor", 63, nary<0, -1, bit_fn<2>>},
      {"$bitNot", 63, nary<1, 1, bitnot_fn>},
  };
}

}  // namespace mql::expr
