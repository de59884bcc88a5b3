// $bit for update operators; the arithmetic of $inc/$mul lives in mql/arith.cc.
#include "mql/update_arith.h"

namespace mql {

bson_value_t bit_apply(const bson_value_t& a, const bson_value_t& b, BitOp op) {
  if (a.value_type == BSON_TYPE_INT32 && b.value_type == BSON_TYPE_INT32) {
    int32_t x = a.value.v_int32, y = b.value.v_int32;
    return make_int32(op == BitOp::kAnd ? (x & y) : op == BitOp::kOr ? (x | y) : (x ^ y));
  }
  int64_t x = num_to_int64(a), y = num_to_int64(b);
  return make_int64(op == BitOp::kAnd ? (x & y) : op == BitOp::kOr ? (x | y) : (x ^ y));
}

}  // namespace mql
