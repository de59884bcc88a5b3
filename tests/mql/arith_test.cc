// Tests for the numeric core (src/mql/arith.cc): decimal128 over the BID library, type
// promotion of aggregation and update arithmetic, and the server's compensated summation.
#include "mql/arith.h"

#include <gtest/gtest.h>

#include <limits>

namespace {

using namespace mql;

dec::D D(const char* s) { return *dec::from_string(s); }

TEST(ArithDecimal, StringsAndConversions) {
  EXPECT_EQ(dec::to_string(D("1.50")), "1.50");
  EXPECT_EQ(dec::to_string(dec::from_double(0.1)), "0.100000000000000");
  EXPECT_EQ(dec::to_string(dec::from_double(0.1, true)), "0.1000000000000000055511151231257827");
  EXPECT_EQ(dec::to_string(dec::from_double(1e300)), "1.00000000000000E+300");
  EXPECT_EQ(dec::to_string(dec::from_int64(-42)), "-42");
  EXPECT_FALSE(dec::from_string("abc").has_value());
  EXPECT_FALSE(dec::from_string("1e").has_value());
  EXPECT_TRUE(dec::is_nan(D("NaN")));
  EXPECT_TRUE(dec::is_inf(D("-Infinity")));
  EXPECT_TRUE(dec::is_negative(D("-Infinity")));
  EXPECT_TRUE(dec::is_zero(D("0.000")));
  EXPECT_DOUBLE_EQ(dec::to_double(D("2.5")), 2.5);
  EXPECT_EQ(dec::to_int64(D("2.5")).value(), 2);  // half-even
  EXPECT_EQ(dec::to_int64(D("2.5"), dec::Round::kHalfAway).value(), 3);
  EXPECT_FALSE(dec::to_int64(D("1E+30")).has_value());
  EXPECT_FALSE(dec::to_int32(D("3000000000")).has_value());
}

TEST(ArithDecimal, Arithmetic) {
  EXPECT_EQ(dec::to_string(dec::add(D("0.1"), D("0.2"))), "0.3");
  EXPECT_EQ(dec::to_string(dec::sub(D("1"), D("0.01"))), "0.99");
  EXPECT_EQ(dec::to_string(dec::mul(D("1.5"), D("2"))), "3.0");
  EXPECT_EQ(dec::to_string(dec::div(D("1"), D("3"))), "0.3333333333333333333333333333333333");
  EXPECT_EQ(dec::to_string(dec::fmod(D("-7.5"), D("2"))), "-1.5");
  EXPECT_EQ(dec::to_string(dec::sqrt(D("16"))), "4");
  EXPECT_EQ(dec::to_string(dec::round_places(D("1.2345"), 2, dec::Round::kHalfEven)), "1.23");
  EXPECT_EQ(dec::to_string(dec::round_places(D("1.2355"), 3, dec::Round::kHalfEven)), "1.236");
  EXPECT_EQ(dec::to_string(dec::round_places(D("1250"), -2, dec::Round::kHalfEven)), "1.2E+3");
  EXPECT_EQ(dec::to_string(dec::round_places(D("5"), 2, dec::Round::kHalfEven)), "5.00");
  EXPECT_TRUE(dec::is_nan(dec::round_places(D("1E+30"), 10, dec::Round::kHalfEven)));
  EXPECT_EQ(dec::compare(D("1.0"), D("1")), 0);
  EXPECT_LT(dec::compare(D("NaN"), D("-Infinity")), 0);
  EXPECT_EQ(dec::compare(D("NaN"), D("NaN")), 0);
}

TEST(ArithPromotion, AggregationAndSafeNum) {
  auto i32 = make_int32(std::numeric_limits<int32_t>::max());
  auto one = make_int32(1);
  bson_value_t r = agg_add(i32, one);
  EXPECT_EQ(r.value_type, BSON_TYPE_INT64);
  EXPECT_EQ(r.value.v_int64, 2147483648LL);
  auto big = make_int64(std::numeric_limits<int64_t>::max());
  r = agg_add(big, one);
  EXPECT_EQ(r.value_type, BSON_TYPE_DOUBLE);
  EXPECT_FALSE(safe_add(big, one).has_value());
  EXPECT_FALSE(safe_mul(big, make_int32(2)).has_value());
  auto s = safe_add(one, make_double(0.5));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value_type, BSON_TYPE_DOUBLE);
  auto dm = safe_mul(make_decimal(D("1.5")), make_int32(2));
  ASSERT_TRUE(dm.has_value());
  EXPECT_EQ(dec::to_string(dm->value.v_decimal128), "3.0");
  r = agg_subtract(make_int32(std::numeric_limits<int32_t>::min()), one);
  EXPECT_EQ(r.value_type, BSON_TYPE_INT64);
  r = agg_divide(make_int32(1), make_int32(4));
  EXPECT_EQ(r.value_type, BSON_TYPE_DOUBLE);
  EXPECT_DOUBLE_EQ(r.value.v_double, 0.25);
  EXPECT_EQ(widest_numeric(BSON_TYPE_INT32, BSON_TYPE_DOUBLE), BSON_TYPE_DOUBLE);
  EXPECT_EQ(widest_numeric(BSON_TYPE_UTF8, BSON_TYPE_DOUBLE), BSON_TYPE_EOD);
  EXPECT_EQ(make_int_or_long(5).value_type, BSON_TYPE_INT32);
  EXPECT_EQ(make_int_or_long(1LL << 40).value_type, BSON_TYPE_INT64);
}

TEST(ArithSummation, ServerSumSemantics) {
  Summation empty;
  EXPECT_EQ(empty.sum().type(), BSON_TYPE_INT32);
  EXPECT_EQ(empty.average(0).type(), BSON_TYPE_NULL);

  Summation ints;
  ints.add(make_int32(std::numeric_limits<int32_t>::max()));
  ints.add(make_int32(1));
  EXPECT_EQ(ints.sum().type(), BSON_TYPE_INT64);  // int total that left int32 → long
  EXPECT_EQ(ints.sum().as_int64(), 2147483648LL);

  Summation longs;
  longs.add(make_int64(std::numeric_limits<int64_t>::max()));
  longs.add(make_int64(1));
  EXPECT_EQ(longs.sum().type(), BSON_TYPE_DOUBLE);
  longs.add(make_int64(-1));
  // Exact again: the double-double total kept every bit.
  EXPECT_EQ(longs.sum().type(), BSON_TYPE_INT64);
  EXPECT_EQ(longs.sum().as_int64(), std::numeric_limits<int64_t>::max());

  Summation doubles;  // compensated: 0.1 ten times is exactly 1
  for (int i = 0; i < 10; ++i) doubles.add(make_double(0.1));
  EXPECT_EQ(doubles.sum().as_double(), 1.0);

  Summation inf;
  inf.add(make_double(std::numeric_limits<double>::infinity()));
  inf.add(make_double(1));
  EXPECT_TRUE(std::isinf(inf.sum().as_double()));

  Summation mixed;
  mixed.add(make_int32(1));
  mixed.add(make_decimal(D("0.5")));
  bson_value_t str;
  str.value_type = BSON_TYPE_UTF8;
  EXPECT_FALSE(mixed.add(str));
  EXPECT_EQ(mixed.sum().type(), BSON_TYPE_DECIMAL128);
  EXPECT_EQ(dec::to_string(mixed.sum().raw().value.v_decimal128), "1.5");
  EXPECT_EQ(dec::to_string(mixed.average(2).raw().value.v_decimal128), "0.75");

  Summation avg;
  avg.add(make_int32(1));
  avg.add(make_int32(2));
  EXPECT_EQ(avg.average(2).type(), BSON_TYPE_DOUBLE);
  EXPECT_DOUBLE_EQ(avg.average(2).as_double(), 1.5);
}

TEST(ArithSummation, DoubleDouble) {
  DoubleDoubleSum s;
  s.add_long(std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(s.fits_long());
  EXPECT_EQ(s.get_long(), std::numeric_limits<int64_t>::min());
  s.add_long(-1);
  EXPECT_FALSE(s.fits_long());
  DoubleDoubleSum t;
  t.add_double(1e16);
  t.add_double(1.0);
  t.add_double(-1e16);
  // The low part keeps the 1 that the high part lost (the server's getDouble() reports only
  // the high part here; getDecimal() adds both).
  EXPECT_EQ(dec::to_string(t.get_decimal()), "1");
}

}  // namespace
