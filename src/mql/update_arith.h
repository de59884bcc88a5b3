// Numeric arithmetic with the server's SafeNum promotion rules, for $inc and $mul:
// int32 overflow widens to int64, int64 overflow is an error, double absorbs integers,
// decimal128 absorbs everything.
#pragma once

#include <bson/bson.h>

#include <optional>

namespace mql {

// Both operands must be numbers (int32, int64, double, decimal128). nullopt = int64 overflow.
std::optional<bson_value_t> safe_add(const bson_value_t& a, const bson_value_t& b);
std::optional<bson_value_t> safe_mul(const bson_value_t& a, const bson_value_t& b);

// Bitwise and/or/xor on int32/int64 (int64 when either is int64).
enum class BitOp { kAnd, kOr, kXor };
bson_value_t bit_apply(const bson_value_t& a, const bson_value_t& b, BitOp op);

// Exact decimal128 value of a number (doubles round to 15 significant digits, as the server).
bson_decimal128_t to_decimal(const bson_value_t& v);

}  // namespace mql
