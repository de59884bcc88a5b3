// Numeric helpers for update operators. $inc/$mul use the SafeNum rules of mql/arith.h
// (safe_add/safe_mul: int32 overflow widens to int64, int64 overflow is an error, double
// absorbs integers, decimal128 absorbs everything); $bit uses bit_apply.
#pragma once

#include <bson/bson.h>

#include "mql/arith.h"

namespace mql {

// Bitwise and/or/xor on int32/int64 (int64 when either is int64).
enum class BitOp { kAnd, kOr, kXor };
bson_value_t bit_apply(const bson_value_t& a, const bson_value_t& b, BitOp op);

// Exact decimal128 value of a number (doubles round to 15 significant digits, as the server).
inline bson_decimal128_t to_decimal(const bson_value_t& v) { return num_to_decimal(v); }

}  // namespace mql
