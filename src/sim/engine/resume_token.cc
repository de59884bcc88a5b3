// Resume tokens (see resume_token.h): a KeyString V1 encoder for every BSON type, the
// TypeBits that record what the encoding cannot (int32/int64/double/decimal, string/symbol,
// -0.0, decimal exponents), and a parser that walks a client's token with the server's
// checks.
#include "sim/engine/resume_token.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "mql/arith.h"

extern "C" {
#include <bid_conf.h>
#include <bid_functions.h>
}

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

// ---- KeyString V1 constants (key_string.cpp CType) -----------------------------------------

constexpr uint8_t kMinKey = 10, kUndefined = 15, kNullish = 20, kNumeric = 30, kStringLike = 60, kObject = 70,
                  kArray = 80, kBinData = 90, kOID = 100, kBool = 110, kDate = 120, kTimestamp = 130, kRegEx = 140,
                  kDBRef = 150, kCode = 160, kCodeWithScope = 170, kMaxKey = 240;
constexpr uint8_t kNumericNaN = kNumeric + 0;
constexpr uint8_t kNumericNegativeLargeMagnitude = kNumeric + 1;
constexpr uint8_t kNumericNegative8ByteInt = kNumeric + 2;
constexpr uint8_t kNumericNegative1ByteInt = kNumeric + 9;
constexpr uint8_t kNumericNegativeSmallMagnitude = kNumeric + 10;
constexpr uint8_t kNumericZero = kNumeric + 11;
constexpr uint8_t kNumericPositiveSmallMagnitude = kNumeric + 12;
constexpr uint8_t kNumericPositive1ByteInt = kNumeric + 13;
constexpr uint8_t kNumericPositive8ByteInt = kNumeric + 20;
constexpr uint8_t kNumericPositiveLargeMagnitude = kNumeric + 21;
constexpr uint8_t kBoolFalse = kBool, kBoolTrue = kBool + 1;
constexpr uint8_t kEnd = 4;

// Decimal continuation markers.
constexpr uint64_t kDCMEqualToDouble = 0, kDCMHasContinuationLess = 1, kDCMEqualToDoubleRoundedUpTo15Digits = 2,
                   kDCMHasContinuationLarger = 3;

// TypeBits values.
constexpr uint8_t kTbInt = 0, kTbLong = 1, kTbDouble = 2, kTbDecimal = 3;
constexpr uint8_t kV1NegativeDoubleZero = 0x18, kDecimalZero0xxx = 0x1a, kDecimalZero5xxx = 0x1f;
constexpr int kStoredDecimalExponentBits = 6;

const double kTiniestDoubleWith2BitDCM = std::ldexp(1, -255);
const double kTinyDoubleExponentUpshiftFactor = std::ldexp(1, 256);
const double kMinLargeDouble = std::ldexp(1, 63);
const double kMaxIntForDouble = std::ldexp(1, 53);
const double kPow256[] = {1.0, 256.0, 65536.0, 16777216.0, 4294967296.0, 1099511627776.0, 281474976710656.0,
                          72057594037927936.0};

int clz64(uint64_t v) { return v == 0 ? 64 : __builtin_clzll(v); }

uint8_t generic_ctype(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_MINKEY: return kMinKey;
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL: return kNullish;
    case BSON_TYPE_UNDEFINED: return kUndefined;
    case BSON_TYPE_DECIMAL128:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64: return kNumeric;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return kStringLike;
    case BSON_TYPE_DOCUMENT: return kObject;
    case BSON_TYPE_ARRAY: return kArray;
    case BSON_TYPE_BINARY: return kBinData;
    case BSON_TYPE_OID: return kOID;
    case BSON_TYPE_BOOL: return kBool;
    case BSON_TYPE_DATE_TIME: return kDate;
    case BSON_TYPE_TIMESTAMP: return kTimestamp;
    case BSON_TYPE_REGEX: return kRegEx;
    case BSON_TYPE_DBPOINTER: return kDBRef;
    case BSON_TYPE_CODE: return kCode;
    case BSON_TYPE_CODEWSCOPE: return kCodeWithScope;
    case BSON_TYPE_MAXKEY: return kMaxKey;
  }
  return kNullish;
}

class TypeBits {
 public:
  void append_bit(int b) {
    if (b) all_zero_ = false;
    size_t byte = bits_ / 8;
    if (bits_ % 8 == 0) data_.push_back(0);
    if (b) data_[byte] = static_cast<char>(data_[byte] | (1 << (bits_ % 8)));
    ++bits_;
  }
  void append_pair(uint8_t v) {
    append_bit(v >> 1);
    append_bit(v & 1);
  }
  // The 5-bit zero types (negative double zero, decimal zeros).
  void append_zero5(uint8_t zero_type) {
    for (int pos = 4; pos >= 0; --pos) append_bit((zero_type >> pos) & 1);
  }
  void append_decimal_exponent(uint32_t bits) {
    for (int pos = kStoredDecimalExponentBits - 1; pos >= 0; --pos) append_bit((bits >> pos) & 1);
  }
  // TypeBits::getBuffer()/getSize(): all zeros → nothing; one byte below 0x80 → that byte;
  // else a size byte (0x80 | n) or 0x80 + 4-byte little-endian size, then the data.
  std::string serialize() const {
    if (all_zero_) return {};
    std::string out;
    if (data_.size() == 1 && !(static_cast<uint8_t>(data_[0]) & 0x80)) return data_;
    if (data_.size() > 127) {
      out.push_back(static_cast<char>(0x80));
      uint32_t n = static_cast<uint32_t>(data_.size());
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    } else {
      out.push_back(static_cast<char>(0x80 | data_.size()));
    }
    return out + data_;
  }

 private:
  std::string data_;
  size_t bits_ = 0;
  bool all_zero_ = true;
};

// ---- decimal128 helpers (the server's Decimal128 over the BID library) ----------------------

BID_UINT128 to_bid(const bson_decimal128_t& d) {
  BID_UINT128 r;
  r.w[0] = d.low;
  r.w[1] = d.high;
  return r;
}

uint32_t biased_exponent(const BID_UINT128& d) {
  uint64_t combination = (d.w[1] >> 46) & 0x1ffff;
  if (combination >= (3u << 15)) return static_cast<uint32_t>((combination >> 1) & 0x3fff);
  return static_cast<uint32_t>((combination >> 3) & 0x3fff);
}
uint64_t coefficient_high(const BID_UINT128& d) {
  if (((d.w[1] >> 61) & 3) == 3) return 0;  // non-canonical: coefficient 0
  return d.w[1] & 0x1ffffffffffffULL;
}
uint64_t coefficient_low(const BID_UINT128& d) {
  if (((d.w[1] >> 61) & 3) == 3) return 0;
  return d.w[0];
}
bool bid_negative(const BID_UINT128& d) { return (d.w[1] >> 63) != 0; }
BID_UINT128 bid_make(bool negative, uint32_t biased_exp, uint64_t coeff_high, uint64_t coeff_low) {
  BID_UINT128 r;
  r.w[0] = coeff_low;
  r.w[1] = (negative ? (1ULL << 63) : 0) | (static_cast<uint64_t>(biased_exp & 0x3fff) << 49) |
           (coeff_high & 0x1ffffffffffffULL);
  return r;
}
constexpr uint32_t kExponentBias = 6176;

// Decimal128(double, kRoundTo34Digits | kRoundTo15Digits, mode).
BID_UINT128 decimal_from_double(double v, bool fifteen_digits, int mode) {
  _IDEC_flags f = 0;
  BID_UINT128 r = binary64_to_bid128(v, mode, &f);
  if (!fifteen_digits || v == 0.0 || std::isinf(v) || std::isnan(v)) return r;
  int e = bid128_ilogb(r, &f);
  for (int attempt = 0; attempt < 2; ++attempt) {
    BID_UINT128 quantum = bid_make(false, static_cast<uint32_t>(e - 14 + static_cast<int>(kExponentBias)), 0, 1);
    BID_UINT128 q = bid128_quantize(r, quantum, mode, &f);
    if (coefficient_high(q) == 0 && coefficient_low(q) <= 999999999999999ULL) return q;
    ++e;  // rounding carried into a 16th digit
  }
  return r;
}

// Decimal128::normalize(): adding 0E-6176 gives the 34-digit coefficient.
BID_UINT128 decimal_normalize(const BID_UINT128& d) {
  _IDEC_flags f = 0;
  return bid128_add(d, bid_make(false, 0, 0, 0), BID_ROUNDING_TO_NEAREST, &f);
}

// ---- the encoder ---------------------------------------------------------------------------

class Encoder {
 public:
  std::string out;
  TypeBits tb;

  void byte(uint8_t b, bool invert = false) { out.push_back(static_cast<char>(invert ? ~b : b)); }
  void bytes(const void* p, size_t n, bool invert = false) {
    const auto* s = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) byte(s[i], invert);
  }
  void u64(uint64_t v, bool invert = false) {
    for (int i = 7; i >= 0; --i) byte(static_cast<uint8_t>(v >> (8 * i)), invert);
  }
  void u32(uint32_t v) {
    for (int i = 3; i >= 0; --i) byte(static_cast<uint8_t>(v >> (8 * i)));
  }

  void string_like(std::string_view s) {
    for (char c : s) {
      out.push_back(c);
      if (c == '\0') out.push_back(static_cast<char>(0xff));
    }
    out.push_back('\0');
  }

  void preshifted_integer(uint64_t value, bool negative) {
    int bytes_needed = (64 - clz64(value) + 7) / 8;
    if (negative) {
      byte(static_cast<uint8_t>(kNumericNegative1ByteInt - (bytes_needed - 1)));
    } else {
      byte(static_cast<uint8_t>(kNumericPositive1ByteInt + (bytes_needed - 1)));
    }
    for (int i = bytes_needed - 1; i >= 0; --i) byte(static_cast<uint8_t>(value >> (8 * i)), negative);
  }

  void integer(int64_t num) {
    if (num == std::numeric_limits<int64_t>::min()) {
      large_double(static_cast<double>(num), kDCMEqualToDouble);
      return;
    }
    if (num == 0) {
      byte(kNumericZero);
      return;
    }
    bool negative = num < 0;
    uint64_t magnitude = negative ? static_cast<uint64_t>(-num) : static_cast<uint64_t>(num);
    preshifted_integer(magnitude << 1, negative);
  }

  void small_double(double value, uint64_t dcm) {
    bool negative = value < 0;
    double magnitude = negative ? -value : value;
    byte(negative ? kNumericNegativeSmallMagnitude : kNumericPositiveSmallMagnitude);
    uint64_t encoded;
    if (magnitude >= kTiniestDoubleWith2BitDCM) {
      std::memcpy(&encoded, &magnitude, 8);
      encoded <<= 2;
      encoded |= dcm;
    } else {
      magnitude *= kTinyDoubleExponentUpshiftFactor;
      std::memcpy(&encoded, &magnitude, 8);
      encoded <<= 1;
      encoded |= (dcm != kDCMEqualToDouble) ? 1 : 0;
      encoded += (1ULL << 62);
    }
    u64(encoded, negative);
  }

  void large_double(double value, uint64_t dcm) {
    byte(value > 0 ? kNumericPositiveLargeMagnitude : kNumericNegativeLargeMagnitude);
    uint64_t encoded;
    std::memcpy(&encoded, &value, 8);
    if (std::isfinite(value)) {
      encoded <<= 1;
      encoded &= ~(1ULL << 63);
      encoded |= (dcm != kDCMEqualToDouble) ? 1 : 0;
    } else {
      encoded = ~0ULL;
    }
    u64(encoded, !(value > 0));
  }

  void double_without_type_bits(double num, uint64_t dcm) {
    bool negative = num < 0.0;
    double magnitude = negative ? -num : num;
    if (!(magnitude >= 1.0)) {
      if (magnitude > 0.0) {
        small_double(num, dcm);
      } else if (num == 0.0) {
        byte(kNumericZero);
      } else {
        byte(kNumericNaN);
      }
      return;
    }
    if (magnitude < kMinLargeDouble) {
      uint64_t integer_part = static_cast<uint64_t>(magnitude);
      if (static_cast<double>(integer_part) == magnitude && dcm == kDCMEqualToDouble) {
        preshifted_integer(integer_part << 1, negative);
        return;
      }
      int fractional_bytes = clz64(integer_part << 1) / 8;
      byte(static_cast<uint8_t>(negative ? kNumericNegative8ByteInt + fractional_bytes
                                         : kNumericPositive8ByteInt - fractional_bytes));
      uint64_t encoding = static_cast<uint64_t>(magnitude * kPow256[fractional_bytes]);
      encoding += (integer_part + 1) << (fractional_bytes * 8);
      encoding |= dcm;
      u64(encoding, negative);
      return;
    }
    large_double(num, dcm);
  }

  void number_double(double num) {
    if (num == 0.0 && std::signbit(num)) {
      tb.append_zero5(kV1NegativeDoubleZero);
    } else {
      tb.append_pair(kTbDouble);
    }
    double_without_type_bits(num, kDCMEqualToDouble);
  }

  void tiny_decimal(const BID_UINT128& dec, double bin) {
    _IDEC_flags f = 0;
    bool negative = bid_negative(dec);
    BID_UINT128 magnitude = negative ? bid128_negate(dec) : dec;
    byte(negative ? kNumericNegativeSmallMagnitude : kNumericPositiveSmallMagnitude);
    if (bin == 0.0) {
      BID_UINT128 normalized = decimal_normalize(magnitude);
      u64(normalized.w[1], negative);
      u64(normalized.w[0], negative);
      return;
    }
    BID_UINT128 up = decimal_from_double(kTinyDoubleExponentUpshiftFactor, false, BID_ROUNDING_TO_ZERO);
    BID_UINT128 scaled_dec = bid128_mul(magnitude, up, BID_ROUNDING_TO_ZERO, &f);
    double scaled_bin = bid128_to_binary64(scaled_dec, BID_ROUNDING_TO_ZERO, &f);
    scaled_bin = std::max(scaled_bin, std::abs(bin) * kTinyDoubleExponentUpshiftFactor);
    uint64_t encoded;
    std::memcpy(&encoded, &scaled_bin, 8);
    encoded <<= 1;
    encoded |= 1;
    encoded += (1ULL << 62);
    u64(encoded, negative);
    BID_UINT128 down = decimal_from_double(std::ldexp(1, -256), false, BID_ROUNDING_TO_ZERO);
    BID_UINT128 stored = decimal_from_double(scaled_bin, false, BID_ROUNDING_TO_ZERO);
    stored = bid128_mul(stored, down, BID_ROUNDING_TO_ZERO, &f);
    stored = bid128_add(stored, bid_make(false, 0, 0, 0), BID_ROUNDING_TO_NEAREST, &f);
    BID_UINT128 diff = bid128_sub(magnitude, stored, BID_ROUNDING_TO_NEAREST, &f);
    u64(coefficient_low(diff), negative);
  }

  void huge_decimal(const BID_UINT128& dec) {
    bool negative = bid_negative(dec);
    BID_UINT128 normalized = decimal_normalize(negative ? bid128_negate(dec) : dec);
    byte(negative ? kNumericNegativeLargeMagnitude : kNumericPositiveLargeMagnitude);
    u64(normalized.w[1] | (1ULL << 63), negative);
    u64(normalized.w[0], negative);
  }

  // _appendNumberDecimal.
  void number_decimal(const bson_decimal128_t& raw) {
    _IDEC_flags f = 0;
    BID_UINT128 dec = to_bid(raw);
    bool negative = bid_negative(dec);
    if (mql::dec::is_zero(raw)) {
      uint32_t zero_exp = biased_exponent(dec);
      if (negative) zero_exp += 12287 + 1;  // kMaxBiasedExponent + 1
      tb.append_zero5(static_cast<uint8_t>((zero_exp >> 12) + kDecimalZero0xxx));
      for (int pos = 11; pos >= 0; --pos) tb.append_bit((zero_exp >> pos) & 1);
      byte(kNumericZero);
      return;
    }
    if (mql::dec::is_nan(raw)) {
      byte(kNumericNaN);
      tb.append_pair(kTbDecimal);
      return;
    }
    if (mql::dec::is_inf(raw)) {
      byte(negative ? kNumericNegativeLargeMagnitude : kNumericPositiveLargeMagnitude);
      u64(~0ULL, negative);
      tb.append_pair(kTbDecimal);
      return;
    }
    uint32_t biased = biased_exponent(dec);
    tb.append_pair(kTbDecimal);
    tb.append_decimal_exponent(biased & ((1u << kStoredDecimalExponentBits) - 1));

    f = 0;
    double bin = bid128_to_binary64(dec, BID_ROUNDING_TO_ZERO, &f);
    if (!(f & BID_INEXACT_EXCEPTION) && !(f & BID_OVERFLOW_EXCEPTION)) {
      double_without_type_bits(bin, kDCMEqualToDouble);
      return;
    }
    double abs_bin = std::abs(bin);
    if (abs_bin < std::numeric_limits<double>::min()) {
      tiny_decimal(dec, bin);
      return;
    }
    if (abs_bin >= std::numeric_limits<double>::max()) {
      huge_decimal(dec);
      return;
    }
    const int away = negative ? BID_ROUNDING_DOWN : BID_ROUNDING_UP;
    BID_UINT128 stored;
    if (abs_bin >= kMinLargeDouble) {
      large_double(bin, kDCMHasContinuationLarger);
      stored = decimal_from_double(bin, false, away);
    } else if (abs_bin < kTiniestDoubleWith2BitDCM) {
      small_double(bin, kDCMHasContinuationLarger);
      stored = decimal_from_double(bin, false, away);
    } else if (abs_bin >= kMaxIntForDouble) {
      _IDEC_flags qf = 0;
      BID_UINT128 truncated = bid128_quantize(dec, bid_make(false, kExponentBias, 0, 1), BID_ROUNDING_TO_ZERO, &qf);
      int64_t integer_part = static_cast<int64_t>(coefficient_low(truncated));
      bool has_fraction = (qf & BID_INEXACT_EXCEPTION) != 0;
      bool neg = bid_negative(truncated);
      bool has8bytes = integer_part >= (1LL << 55);
      uint64_t preshifted = static_cast<uint64_t>(integer_part) << 1;
      preshifted_integer(preshifted | (has_fraction ? 1 : 0), neg);
      if (!has_fraction) return;
      if (!has8bytes) byte(static_cast<uint8_t>(kDCMHasContinuationLarger), neg);
      stored = bid_make(neg, kExponentBias, 0, static_cast<uint64_t>(integer_part));
    } else if (coefficient_high(dec) == 0 && coefficient_low(dec) < 1000000000000000ULL) {
      double_without_type_bits(bin, kDCMEqualToDoubleRoundedUpTo15Digits);
      return;
    } else {
      BID_UINT128 from_bin = decimal_from_double(bin, true, away);
      if (bid128_quiet_equal(from_bin, dec, &f)) {
        double_without_type_bits(bin, kDCMEqualToDoubleRoundedUpTo15Digits);
        return;
      }
      bool less = bid128_quiet_less(dec, from_bin, &f) != 0;
      uint64_t dcm = (less != negative) ? kDCMHasContinuationLess : kDCMHasContinuationLarger;
      double_without_type_bits(bin, dcm);
      stored = decimal_from_double(bin, false, away);
    }
    stored = decimal_normalize(stored);
    BID_UINT128 diff = bid128_sub(dec, stored, BID_ROUNDING_TO_NEAREST, &f);
    u64(coefficient_low(diff), negative);
  }

  void object_fields(const bson_t* doc) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc)) return;
    while (bson_iter_next(&it)) {
      byte(generic_ctype(bson_iter_type(&it)));
      out.append(bson_iter_key(&it), bson_iter_key_len(&it));
      out.push_back('\0');
      value(&it);
    }
    out.push_back('\0');
  }

  void value(const bson_iter_t* it) {
    switch (bson_iter_type(it)) {
      case BSON_TYPE_MINKEY:
      case BSON_TYPE_MAXKEY:
      case BSON_TYPE_EOD:
      case BSON_TYPE_UNDEFINED:
      case BSON_TYPE_NULL:
        byte(generic_ctype(bson_iter_type(it)));
        break;
      case BSON_TYPE_DOUBLE:
        number_double(bson_iter_double(it));
        break;
      case BSON_TYPE_UTF8:
      case BSON_TYPE_SYMBOL: {
        uint32_t len = 0;
        const char* s = bson_iter_type(it) == BSON_TYPE_UTF8 ? bson_iter_utf8(it, &len) : bson_iter_symbol(it, &len);
        tb.append_bit(bson_iter_type(it) == BSON_TYPE_SYMBOL ? 1 : 0);
        byte(kStringLike);
        string_like({s, len});
        break;
      }
      case BSON_TYPE_DOCUMENT:
      case BSON_TYPE_ARRAY: {
        uint32_t len;
        const uint8_t* data;
        if (bson_iter_type(it) == BSON_TYPE_DOCUMENT) {
          bson_iter_document(it, &len, &data);
        } else {
          bson_iter_array(it, &len, &data);
        }
        bson_t sub;
        bson_init_static(&sub, data, len);
        if (bson_iter_type(it) == BSON_TYPE_DOCUMENT) {
          byte(kObject);
          object_fields(&sub);
        } else {
          byte(kArray);
          bson_iter_t e;
          bson_iter_init(&e, &sub);
          while (bson_iter_next(&e)) value(&e);
          out.push_back('\0');
        }
        break;
      }
      case BSON_TYPE_BINARY: {
        bson_subtype_t st;
        uint32_t len;
        const uint8_t* data;
        bson_iter_binary(it, &st, &len, &data);
        byte(kBinData);
        if (len < 0xff) {
          byte(static_cast<uint8_t>(len));
        } else {
          byte(0xff);
          u32(len);
        }
        byte(static_cast<uint8_t>(st));
        bytes(data, len);
        break;
      }
      case BSON_TYPE_OID:
        byte(kOID);
        bytes(bson_iter_oid(it)->bytes, 12);
        break;
      case BSON_TYPE_BOOL:
        byte(bson_iter_bool(it) ? kBoolTrue : kBoolFalse);
        break;
      case BSON_TYPE_DATE_TIME:
        byte(kDate);
        u64(static_cast<uint64_t>(bson_iter_date_time(it)) ^ (1ULL << 63));
        break;
      case BSON_TYPE_REGEX: {
        const char* options = nullptr;
        const char* pattern = bson_iter_regex(it, &options);
        byte(kRegEx);
        out.append(pattern);
        out.push_back('\0');
        out.append(options ? options : "");
        out.push_back('\0');
        break;
      }
      case BSON_TYPE_DBPOINTER: {
        uint32_t len;
        const char* coll;
        const bson_oid_t* oid;
        bson_iter_dbpointer(it, &len, &coll, &oid);
        byte(kDBRef);
        u32(len);
        out.append(coll, len);
        bytes(oid->bytes, 12);
        break;
      }
      case BSON_TYPE_CODE: {
        uint32_t len;
        const char* code = bson_iter_code(it, &len);
        byte(kCode);
        string_like({code, len});
        break;
      }
      case BSON_TYPE_CODEWSCOPE: {
        uint32_t len, scope_len;
        const uint8_t* scope;
        const char* code = bson_iter_codewscope(it, &len, &scope_len, &scope);
        byte(kCodeWithScope);
        string_like({code, len});
        bson_t s;
        bson_init_static(&s, scope, scope_len);
        object_fields(&s);
        break;
      }
      case BSON_TYPE_INT32:
        tb.append_pair(kTbInt);
        integer(bson_iter_int32(it));
        break;
      case BSON_TYPE_TIMESTAMP: {
        uint32_t t, i;
        bson_iter_timestamp(it, &t, &i);
        byte(kTimestamp);
        u64((static_cast<uint64_t>(t) << 32) | i);
        break;
      }
      case BSON_TYPE_INT64:
        tb.append_pair(kTbLong);
        integer(bson_iter_int64(it));
        break;
      case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        bson_iter_decimal128(it, &d);
        number_decimal(d);
        break;
      }
    }
  }

  // BSONObjBuilder::appendNumber(long long): int32 below 2^30 in magnitude, else int64.
  void app_number(int64_t v) {
    if (v < (1LL << 30) && v > -(1LL << 30)) {
      tb.append_pair(kTbInt);
    } else {
      tb.append_pair(kTbLong);
    }
    integer(v);
  }
};

// ---- hex ------------------------------------------------------------------------------------

std::string to_hex(std::string_view bytes) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---- the parser ------------------------------------------------------------------------------

Status format_error(int code, std::string_view msg) { return Status(code, fmt::format("KeyString format error: {}", msg)); }

class TypeBitsReader {
 public:
  explicit TypeBitsReader(std::string data) : data_(std::move(data)) {}
  Result<int> bit() {
    if (data_.empty()) return 0;  // all zeros
    size_t byte = pos_ / 8;
    if (byte >= data_.size()) return format_error(50615, "Invalid size byte(s).");
    int b = (static_cast<uint8_t>(data_[byte]) >> (pos_ % 8)) & 1;
    ++pos_;
    return b;
  }
  Result<int> pair() {
    MS_ASSIGN_OR_RETURN(int hi, bit());
    MS_ASSIGN_OR_RETURN(int lo, bit());
    return (hi << 1) | lo;
  }
  Status skip(int n) {
    for (int i = 0; i < n; ++i) MS_RETURN_IF_ERROR(bit().status());
    return Status::OK();
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// TypeBits::resetFromBuffer: the data bytes of a serialized TypeBits.
Result<std::string> type_bits_data(std::string_view raw) {
  if (raw.empty()) return std::string();
  uint8_t first = static_cast<uint8_t>(raw[0]);
  if (first > 0 && first < 0x80) return std::string(raw.substr(0, 1));
  if (first == 0) return std::string();
  size_t size, start;
  if (first > 0x80) {
    size = first & 0x7f;
    start = 1;
  } else {
    if (raw.size() < 5) return format_error(50910, "Invalid overlong encoding.");
    size = 0;
    for (int i = 0; i < 4; ++i) size |= static_cast<size_t>(static_cast<uint8_t>(raw[1 + i])) << (8 * i);
    if (size <= 127) return format_error(50910, "Invalid overlong encoding.");
    start = 5;
  }
  if (raw.size() < start + size) return format_error(50615, "Invalid size byte(s).");
  return std::string(raw.substr(start, size));
}

// One top-level value read from a token.
struct Element {
  uint8_t ctype = 0;
  int numeric_type = -1;            // kTbInt/kTbLong/kTbDouble/kTbDecimal for numbers
  int64_t integer = 0;              // integral numbers without fraction
  bool integral = false;
  Timestamp ts;
  bool boolean = false;
  uint8_t bin_subtype = 0;
  std::string bin;
  size_t begin = 0, end = 0;        // the value's bytes in the key
};

class Reader {
 public:
  Reader(std::string_view key, TypeBitsReader& tb) : key_(key), tb_(tb) {}

  bool at_end() const { return pos_ >= key_.size(); }
  size_t pos() const { return pos_; }

  Result<uint8_t> byte() {
    if (pos_ >= key_.size()) return format_error(50816, "Failed to find null terminator in string.");
    return static_cast<uint8_t>(key_[pos_++]);
  }
  Result<uint64_t> u64(bool inverted) {
    if (key_.size() - pos_ < 8) return format_error(50816, "Unexpected end of KeyString.");
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(key_[pos_++]);
    return inverted ? ~v : v;
  }
  Status skip(size_t n) {
    if (key_.size() - pos_ < n) return format_error(50816, "Unexpected end of KeyString.");
    pos_ += n;
    return Status::OK();
  }
  Status cstring() {
    auto nul = key_.find('\0', pos_);
    if (nul == std::string_view::npos) return format_error(50816, "Failed to find null terminator in string.");
    pos_ = nul + 1;
    return Status::OK();
  }
  Status cstring_with_nuls() {
    MS_RETURN_IF_ERROR(cstring());
    while (pos_ < key_.size() && static_cast<uint8_t>(key_[pos_]) == 0xff) {
      ++pos_;
      MS_RETURN_IF_ERROR(cstring());
    }
    return Status::OK();
  }

  // Reads one value of type `ctype` (already consumed), consuming its type bits.
  Status value(uint8_t ctype, Element* e, int depth) {
    if (depth > 200) return format_error(common::kOverflow, "KeyString encoding exceeded maximum allowable BSON nesting depth");
    switch (ctype) {
      case kMinKey:
      case kMaxKey:
      case kNullish:
      case kUndefined:
        return Status::OK();
      case kBoolTrue:
      case kBoolFalse:
        if (e) e->boolean = ctype == kBoolTrue;
        return Status::OK();
      case kDate:
        return skip(8);
      case kTimestamp: {
        MS_ASSIGN_OR_RETURN(uint64_t v, u64(false));
        if (e) e->ts = Timestamp::unpack(v);
        return Status::OK();
      }
      case kOID:
        return skip(12);
      case kStringLike:
        MS_RETURN_IF_ERROR(tb_.bit().status());
        return cstring_with_nuls();
      case kCode:
        return cstring_with_nuls();
      case kCodeWithScope:
        MS_RETURN_IF_ERROR(cstring_with_nuls());
        return object(depth + 2);
      case kBinData: {
        MS_ASSIGN_OR_RETURN(uint8_t size_byte, byte());
        size_t size = size_byte;
        if (size_byte == 0xff) {
          if (key_.size() - pos_ < 4) return format_error(50816, "Unexpected end of KeyString.");
          size = 0;
          for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<uint8_t>(key_[pos_++]);
        }
        MS_ASSIGN_OR_RETURN(uint8_t subtype, byte());
        if (key_.size() - pos_ < size) return format_error(50816, "Unexpected end of KeyString.");
        if (e) {
          e->bin_subtype = subtype;
          e->bin = std::string(key_.substr(pos_, size));
        }
        pos_ += size;
        return Status::OK();
      }
      case kRegEx:
        MS_RETURN_IF_ERROR(cstring());
        return cstring();
      case kDBRef: {
        if (key_.size() - pos_ < 4) return format_error(50816, "Unexpected end of KeyString.");
        size_t size = 0;
        for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<uint8_t>(key_[pos_++]);
        return skip(size + 12);
      }
      case kObject:
        return object(depth + 1);
      case kArray:
        while (true) {
          MS_ASSIGN_OR_RETURN(uint8_t t, byte());
          if (t == 0) return Status::OK();
          MS_RETURN_IF_ERROR(value(t, nullptr, depth + 1));
        }
      case kNumericNaN:
        MS_RETURN_IF_ERROR(numeric_type(e).status());
        return Status::OK();
      case kNumericZero: {
        MS_ASSIGN_OR_RETURN(int z, tb_.pair());
        if (z == 3) {
          for (int i = 0; i < 3; ++i) {
            MS_ASSIGN_OR_RETURN(int b, tb_.bit());
            z = (z << 1) | b;
          }
          if (z >= kDecimalZero0xxx && z <= kDecimalZero5xxx) {
            MS_RETURN_IF_ERROR(tb_.skip(12));
          } else if (z != kV1NegativeDoubleZero) {
            return format_error(50846, "Invalid numeric zero decimal.");
          }
          z = z == kV1NegativeDoubleZero ? kTbDouble : kTbDecimal;
        }
        if (e) {
          e->numeric_type = z;
          e->integer = 0;
          e->integral = true;
        }
        return Status::OK();
      }
      case kNumericNegativeLargeMagnitude:
      case kNumericPositiveLargeMagnitude: {
        MS_ASSIGN_OR_RETURN(int type, numeric_type(e));
        bool inverted = ctype == kNumericNegativeLargeMagnitude;
        MS_ASSIGN_OR_RETURN(uint64_t encoded, u64(inverted));
        if (encoded == ~0ULL) return Status::OK();  // infinity: no exponent bits
        if (!(encoded & (1ULL << 63))) {
          if (encoded & 1) MS_RETURN_IF_ERROR(skip(8));
        } else {
          if (type != kTbDecimal) return format_error(50818, "Invalid type bits for decimal number.");
          MS_RETURN_IF_ERROR(skip(8));
        }
        if (type == kTbDecimal) MS_RETURN_IF_ERROR(tb_.skip(kStoredDecimalExponentBits));
        return Status::OK();
      }
      case kNumericNegativeSmallMagnitude:
      case kNumericPositiveSmallMagnitude: {
        MS_ASSIGN_OR_RETURN(int type, numeric_type(e));
        bool inverted = ctype == kNumericNegativeSmallMagnitude;
        MS_ASSIGN_OR_RETURN(uint64_t encoded, u64(inverted));
        switch (encoded >> 62) {
          case 0:
            MS_RETURN_IF_ERROR(skip(8));
            break;
          case 1:
          case 2:
            if (encoded & 1) MS_RETURN_IF_ERROR(skip(8));
            break;
          default: {
            uint64_t dcm = encoded & 3;
            if (dcm == kDCMHasContinuationLess || dcm == kDCMHasContinuationLarger) MS_RETURN_IF_ERROR(skip(8));
          }
        }
        if (type == kTbDecimal) MS_RETURN_IF_ERROR(tb_.skip(kStoredDecimalExponentBits));
        return Status::OK();
      }
      default:
        if (ctype >= kNumericNegative8ByteInt && ctype <= kNumericPositive8ByteInt && ctype != kNumericZero &&
            ctype != kNumericNegativeSmallMagnitude && ctype != kNumericPositiveSmallMagnitude) {
          return int_value(ctype, e);
        }
        return format_error(50811, fmt::format("Unknown type: {}", ctype));
    }
  }

 private:
  Result<int> numeric_type(Element* e) {
    MS_ASSIGN_OR_RETURN(int type, tb_.pair());
    if (e) e->numeric_type = type;
    return type;
  }

  Status int_value(uint8_t ctype, Element* e) {
    MS_ASSIGN_OR_RETURN(int type, numeric_type(e));
    bool negative = ctype <= kNumericNegative1ByteInt;
    size_t n = negative ? kNumericNegative1ByteInt - ctype + 1 : ctype - kNumericPositive1ByteInt + 1;
    uint64_t encoded = 0;
    for (size_t i = 0; i < n; ++i) {
      MS_ASSIGN_OR_RETURN(uint8_t b, byte());
      encoded = (encoded << 8) | static_cast<uint8_t>(negative ? ~b : b);
    }
    bool fraction = encoded & 1;
    if (!fraction) {
      if (e) {
        uint64_t mag = encoded >> 1;
        e->integer = negative ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
        e->integral = true;
      }
      if (type == kTbDecimal) MS_RETURN_IF_ERROR(tb_.skip(kStoredDecimalExponentBits));
      return Status::OK();
    }
    size_t frac_bytes = 8 - n;
    uint64_t frac = encoded >> 1;
    for (size_t i = 0; i < frac_bytes; ++i) {
      MS_ASSIGN_OR_RETURN(uint8_t b, byte());
      frac = (frac << 8) | static_cast<uint8_t>(negative ? ~b : b);
    }
    uint64_t dcm = frac_bytes ? (frac & 3) : kDCMHasContinuationLarger;
    if (type == kTbDecimal) {
      if (dcm == kDCMHasContinuationLess || dcm == kDCMHasContinuationLarger) MS_RETURN_IF_ERROR(skip(8));
      MS_RETURN_IF_ERROR(tb_.skip(kStoredDecimalExponentBits));
    } else if (type != kTbDouble) {
      return format_error(50810, "Expected type Decimal.");
    }
    return Status::OK();
  }

  Status object(int depth) {
    while (true) {
      MS_ASSIGN_OR_RETURN(uint8_t t, byte());
      if (t == 0) return Status::OK();
      MS_RETURN_IF_ERROR(cstring());
      MS_ASSIGN_OR_RETURN(uint8_t vt, byte());
      MS_RETURN_IF_ERROR(value(vt, nullptr, depth));
    }
  }

  std::string_view key_;
  size_t pos_ = 0;
  TypeBitsReader& tb_;
};

bool is_int32(const Element& e) { return e.numeric_type == kTbInt && e.integral; }

}  // namespace

// ---- ResumeToken -----------------------------------------------------------------------------

bool ResumeToken::is_high_water_mark() const {
  return token_type == kHighWaterMarkToken && txn_op_index == 0 && !from_invalidate && !uuid && event_id.empty() &&
         !fragment_num;
}

std::string ResumeToken::hex() const { return to_hex(key); }

void ResumeToken::append_to(bson_t* out, const char* field) const {
  bson_t d;
  bson_append_document_begin(out, field, -1, &d);
  common::append_utf8(&d, "_data", hex());
  if (!type_bits.empty()) {
    bson_append_binary(&d, "_typeBits", -1, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(type_bits.data()),
                       static_cast<uint32_t>(type_bits.size()));
  }
  bson_append_document_end(out, &d);
}

Bson ResumeToken::to_document() const {
  bson_t d = BSON_INITIALIZER;
  common::append_utf8(&d, "_data", hex());
  if (!type_bits.empty()) {
    bson_append_binary(&d, "_typeBits", -1, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(type_bits.data()),
                       static_cast<uint32_t>(type_bits.size()));
  }
  return Bson::steal(&d);
}

Result<ResumeToken> encode_resume_token(const ResumeTokenData& d) {
  if (d.fragment_num && d.version < 2) {
    return Status(7182504, fmt::format("Tokens of version {} cannot have a fragmentNum", d.version));
  }
  Encoder enc;
  enc.byte(kTimestamp);
  enc.u64(d.cluster_time.packed());
  enc.tb.append_pair(kTbInt);
  enc.integer(d.version);
  if (d.version >= 1) enc.app_number(d.token_type);
  enc.app_number(static_cast<int64_t>(d.txn_op_index));
  if (d.version >= 1) enc.byte(d.from_invalidate ? kBoolTrue : kBoolFalse);
  if (d.uuid) {
    enc.byte(kBinData);
    enc.byte(16);
    enc.byte(BSON_SUBTYPE_UUID);
    enc.bytes(d.uuid->data(), 16);
  } else if (d.version >= 2) {
    enc.byte(kNullish);
  }
  ResumeToken t;
  size_t ev_begin = enc.out.size();
  if (d.has_event_identifier) {
    enc.byte(kObject);
    enc.object_fields(d.event_identifier.get());
  }
  t.event_id = enc.out.substr(ev_begin);
  if (d.fragment_num) enc.app_number(*d.fragment_num);
  enc.byte(kEnd);
  t.cluster_time = d.cluster_time;
  t.version = d.version;
  t.token_type = d.token_type;
  t.txn_op_index = d.txn_op_index;
  t.from_invalidate = d.from_invalidate;
  t.uuid = d.uuid;
  t.fragment_num = d.fragment_num;
  t.key = std::move(enc.out);
  t.type_bits = enc.tb.serialize();
  return t;
}

ResumeToken high_water_mark_token(Timestamp ts, int version) {
  ResumeTokenData d;
  d.cluster_time = ts;
  d.version = version;
  d.token_type = kHighWaterMarkToken;
  return std::move(encode_resume_token(d)).value();
}

Result<ResumeToken> parse_resume_token(const bson_t* doc) {
  bson_iter_t it;
  std::string hex;
  if (!bson_iter_init_find(&it, doc, "_data") || !BSON_ITER_HOLDS_UTF8(&it)) {
    return Status(40647, fmt::format("Bad resume token: _data of missing or of wrong type. Expected string, got {}",
                                     common::to_server_string(doc)));
  }
  uint32_t len;
  const char* s = bson_iter_utf8(&it, &len);
  hex.assign(s, len);
  std::string raw_type_bits;
  if (bson_iter_init_find(&it, doc, "_typeBits")) {
    bson_subtype_t st = BSON_SUBTYPE_BINARY;
    if (BSON_ITER_HOLDS_BINARY(&it)) {
      uint32_t blen;
      const uint8_t* data;
      bson_iter_binary(&it, &st, &blen, &data);
      raw_type_bits.assign(reinterpret_cast<const char*>(data), blen);
    }
    if (!BSON_ITER_HOLDS_BINARY(&it) || st != BSON_SUBTYPE_BINARY) {
      return Status(40648, fmt::format("Bad resume token: _typeBits of wrong type {}", common::to_server_string(doc)));
    }
  }
  if (hex.size() % 2 != 0) return Status(common::kFailedToParse, "resume token string was not a valid hex string");
  std::string key;
  key.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status(common::kFailedToParse, "resume token string was not a valid hex string");
    key.push_back(static_cast<char>((hi << 4) | lo));
  }
  MS_ASSIGN_OR_RETURN(std::string tb_data, type_bits_data(raw_type_bits));
  TypeBitsReader tb(tb_data);
  Reader r(key, tb);

  // KeyString::toBsonSafe over the whole key, then ResumeToken::getData's checks.
  std::vector<Element> elems;
  while (!r.at_end()) {
    MS_ASSIGN_OR_RETURN(uint8_t ctype, r.byte());
    if (ctype == 1 || ctype == 254) {  // discriminator bytes (never in real tokens)
      MS_ASSIGN_OR_RETURN(ctype, r.byte());
    }
    if (ctype == kEnd) break;
    Element e;
    e.ctype = ctype;
    e.begin = r.pos() - 1;
    MS_RETURN_IF_ERROR(r.value(ctype, &e, 1));
    e.end = r.pos();
    elems.push_back(std::move(e));
  }

  ResumeToken t;
  t.type_bits = raw_type_bits.empty() ? std::string() : raw_type_bits;
  t.key = key;
  size_t i = 0;
  auto more = [&] { return i < elems.size(); };
  if (!more()) return Status(40649, "invalid empty resume token");
  if (elems[i].ctype != kTimestamp) {
    return Status(common::kTypeMismatch, "Resume token clusterTime must be a Timestamp");
  }
  t.cluster_time = elems[i++].ts;
  if (!more()) return Status(50796, "Resume Token does not contain version");
  const Element& ve = elems[i++];
  if (!is_int32(ve)) return Status(50854, "Invalid resume token: wrong type for version");
  t.version = static_cast<int>(ve.integer);
  if (t.version < 0 || t.version > 2) return Status(50795, "Invalid Resume Token: only supports version 0, 1 and 2");
  if (t.version >= 1) {
    if (!more()) return Status(51055, "Resume Token does not contain tokenType");
    const Element& te = elems[i++];
    if (!is_int32(te)) return Status(51056, "Resume Token tokenType is not an int.");
    if (te.integer != kEventToken && te.integer != kHighWaterMarkToken) {
      return Status(51057, fmt::format("Token type {} not recognized", te.integer));
    }
    t.token_type = static_cast<int>(te.integer);
  } else {
    t.token_type = kEventToken;
  }
  if (!more()) return Status(50793, "Resume Token does not contain txnOpIndex");
  const Element& xe = elems[i++];
  if (!is_int32(xe)) return Status(50855, "Resume Token txnOpIndex is not an integer");
  if (xe.integer < 0) return Status(50794, "Invalid Resume Token: txnOpIndex should be non-negative");
  t.txn_op_index = static_cast<uint64_t>(xe.integer);
  if (t.version >= 1) {
    if (!more()) return Status(50872, "Resume Token does not contain fromInvalidate");
    const Element& fe = elems[i++];
    if (fe.ctype != kBoolTrue && fe.ctype != kBoolFalse) {
      return Status(50870, "Resume Token fromInvalidate is not a boolean.");
    }
    t.from_invalidate = fe.boolean;
  }
  if (!more()) {
    if (t.version > 1) return Status(6189500, "Expected UUID or null");
    return t;
  }
  const Element& ue = elems[i++];
  if (ue.ctype != kNullish) {
    if (ue.ctype != kBinData || ue.bin_subtype != BSON_SUBTYPE_UUID || ue.bin.size() != 16) {
      return Status(common::kBadValue, "Resume token UUID must be a BinData of subtype 4 and 16 bytes");
    }
    t.uuid = ue.bin;
  }
  if (t.token_type == kHighWaterMarkToken && more()) return Status(6189504, "Invalid high water mark token");
  if (!more()) {
    if (t.token_type == kEventToken && t.version >= 2) {
      return Status(6189501, "Expected an eventIdentifier for an event resume token");
    }
    return t;
  }
  const Element& ee = elems[i++];
  if (ee.ctype != kObject) return Status(6189503, "Resume Token eventIdentifier is not an object");
  t.event_id = key.substr(ee.begin, ee.end - ee.begin);
  if (more() && t.version >= 2) {
    const Element& fr = elems[i++];
    if (!is_int32(fr) || fr.integer < 0) {
      return Status(7182501, "Resume token 'fragmentNum' must be a non-negative integer.");
    }
    t.fragment_num = static_cast<int32_t>(fr.integer);
  }
  if (more()) return Status(40646, "invalid oversized resume token");
  return t;
}

ResumeStatus compare_against_client_token(const ResumeToken& s, const ResumeToken& c) {
  if (!(s.cluster_time == c.cluster_time)) return ResumeStatus::kSurpassedToken;
  if (s.token_type != c.token_type) {
    return s.token_type > c.token_type ? ResumeStatus::kSurpassedToken : ResumeStatus::kCheckNextDoc;
  }
  if (s.txn_op_index != c.txn_op_index) {
    return s.txn_op_index < c.txn_op_index ? ResumeStatus::kCheckNextDoc : ResumeStatus::kSurpassedToken;
  }
  if (s.from_invalidate != c.from_invalidate) {
    return s.from_invalidate ? ResumeStatus::kSurpassedToken : ResumeStatus::kCheckNextDoc;
  }
  if (s.uuid != c.uuid) return s.uuid > c.uuid ? ResumeStatus::kSurpassedToken : ResumeStatus::kCheckNextDoc;
  if (s.event_id == c.event_id) {
    if (c.fragment_num && !s.fragment_num) return ResumeStatus::kNeedsSplit;
    if (s.fragment_num == c.fragment_num) return ResumeStatus::kFoundToken;
    return s.fragment_num > c.fragment_num ? ResumeStatus::kSurpassedToken : ResumeStatus::kCheckNextDoc;
  }
  return s.event_id > c.event_id ? ResumeStatus::kSurpassedToken : ResumeStatus::kCheckNextDoc;
}

bool same_token_data(const ResumeToken& a, const ResumeToken& b) {
  return a.cluster_time == b.cluster_time && a.version == b.version && a.token_type == b.token_type &&
         a.txn_op_index == b.txn_op_index && a.from_invalidate == b.from_invalidate && a.uuid == b.uuid &&
         a.event_id == b.event_id && a.fragment_num == b.fragment_num;
}

}  // namespace sim::engine
