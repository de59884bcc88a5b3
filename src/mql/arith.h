// The numeric core shared by aggregation expressions, accumulators ($sum/$avg in $group) and
// update operators ($inc/$mul): MongoDB's type promotion for int32/int64/double/decimal128,
// decimal128 arithmetic over Intel's BID library (the library the server's Decimal128 wraps),
// and the server's compensated summation.
#pragma once

#include <bson/bson.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mql/value.h"

namespace mql {

// ---- decimal128 ---------------------------------------------------------------------------
namespace dec {

using D = bson_decimal128_t;

// Rounding modes of the BID library (values match its _IDEC_round).
enum class Round { kHalfEven = 0, kDown = 1, kUp = 2, kTowardZero = 3, kHalfAway = 4 };

D zero();
D from_int64(int64_t v);
// The server's Decimal128(double): 15 significant digits by default (kRoundTo15Digits), so
// 0.1 becomes 0.100000000000000; `exact34` gives the nearest 34-digit value instead.
D from_double(double v, bool exact34 = false);
// Parses a decimal string as the server's Decimal128(std::string) (nullopt when the string is
// not a number; "inf"/"nan" spellings accepted). `inexact` reports rounding.
std::optional<D> from_string(std::string_view s, bool* inexact = nullptr);
std::string to_string(const D& d);  // the server's Decimal128::toString
double to_double(const D& d);       // round to nearest
// Conversion to an integer with the given rounding; nullopt when NaN/inf/out of range.
std::optional<int64_t> to_int64(const D& d, Round r = Round::kHalfEven);
std::optional<int32_t> to_int32(const D& d, Round r = Round::kHalfEven);

bool is_nan(const D& d);
bool is_inf(const D& d);
bool is_zero(const D& d);
bool is_negative(const D& d);  // sign bit (also -0, -inf)
bool is_finite(const D& d);

D add(const D& a, const D& b);
D sub(const D& a, const D& b);
D mul(const D& a, const D& b);
D div(const D& a, const D& b);
D fmod(const D& a, const D& b);  // sign of the dividend (C fmod)
D negate(const D& a);
D abs(const D& a);
D sqrt(const D& a);
D exp(const D& a);
D ln(const D& a);
D log10(const D& a);
D pow(const D& a, const D& b);
D round_integral(const D& a, Round r);
// Rounds to `places` decimal places (negative: to the left of the point), half-even, as $round.
D round_places(const D& a, int places, Round r);
// -1, 0, 1 with NaN equal to NaN and lower than everything (the server's Decimal128 compare).
int compare(const D& a, const D& b);
// Unary/binary math the server computes in decimal for $sin etc.
enum class Fn { kSin, kCos, kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kTanh, kAsinh, kAcosh, kAtanh };
D apply(Fn f, const D& a);
D atan2(const D& y, const D& x);

}  // namespace dec

// ---- numbers as bson values ---------------------------------------------------------------

bool is_numeric(bson_type_t t);
// The wider of two numeric types (int32 < int64 < double < decimal128); EOD when either is not
// numeric (the server's Value::getWidestNumeric).
bson_type_t widest_numeric(bson_type_t a, bson_type_t b);
// Coercions of a numeric value (int32/int64/double/decimal128).
double num_to_double(const bson_value_t& v);
int64_t num_to_int64(const bson_value_t& v);   // truncates doubles/decimals (saturating)
dec::D num_to_decimal(const bson_value_t& v);  // doubles with 15 digits (server coerceToDecimal)

bson_value_t make_int32(int32_t v);
bson_value_t make_int64(int64_t v);
bson_value_t make_double(double v);
bson_value_t make_decimal(const dec::D& d);
// int32 when it fits, else int64 (the server's Value::createIntOrLong).
bson_value_t make_int_or_long(int64_t v);

// Aggregation arithmetic on two numbers: int32 overflow widens to int64, int64 overflow to
// double, double absorbs integers, decimal128 absorbs everything.
bson_value_t agg_add(const bson_value_t& a, const bson_value_t& b);
bson_value_t agg_subtract(const bson_value_t& a, const bson_value_t& b);
bson_value_t agg_multiply(const bson_value_t& a, const bson_value_t& b);
// a / b as double (decimal when either is decimal). Caller rejects a zero divisor (16608).
bson_value_t agg_divide(const bson_value_t& a, const bson_value_t& b);
bool num_is_zero(const bson_value_t& v);

// Update-operator (SafeNum) arithmetic for $inc/$mul: like agg_add/agg_multiply but int64
// overflow is an error (nullopt).
std::optional<bson_value_t> safe_add(const bson_value_t& a, const bson_value_t& b);
std::optional<bson_value_t> safe_mul(const bson_value_t& a, const bson_value_t& b);

// ---- summation ----------------------------------------------------------------------------

// The server's DoubleDoubleSummation: 2Sum/Fast2Sum compensated addition keeping ~107 bits.
class DoubleDoubleSum {
 public:
  void add_double(double x);
  void add_long(int64_t x);  // split in two doubles so the sum stays exact
  void add_int(int32_t x) { add_double(x); }
  double get_double() const { return std::isnan(sum_) ? special_ : sum_; }
  dec::D get_decimal() const;
  bool fits_long() const;
  int64_t get_long() const;  // caller checked fits_long(); rounds half away from zero

 private:
  double sum_ = 0.0;
  double addend_ = 0.0;
  double special_ = 0.0;  // plain sum used when the compensated one is NaN (inf - inf)
};

// $sum/$avg state (the server's AccumulatorSum / AccumulatorAvg): non-numeric inputs are
// ignored; the result has the widest input type, int totals that leave int64 become double,
// decimals are summed separately and the double-double total is added at the end.
class Summation {
 public:
  // Adds a value; non-numbers are ignored. Returns true when it was a number.
  bool add(const bson_value_t& v);
  // $sum result: int32 (0 when nothing was added), int64, double or decimal128.
  Value sum() const;
  // $avg result for `count` numbers: double (decimal when any input was decimal); null when
  // count is 0.
  Value average(int64_t count) const;
  bson_type_t total_type() const { return total_type_; }

 private:
  bson_type_t total_type_ = BSON_TYPE_INT32;
  DoubleDoubleSum non_decimal_;
  dec::D decimal_ = dec::zero();
  bool has_decimal_ = false;
};

}  // namespace mql
