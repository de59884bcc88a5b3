// MongoDB's total order over BSON values (mongodb-reference.md §7.2): canonical type rank
// first (MinKey < null < numbers < string/symbol < object < array < binData < ObjectId < bool
// < date < timestamp < regex < ... < MaxKey), then value within the rank. Numbers of all types
// compare by numeric value (int32, int64, double, decimal128 exactly, NaN lowest). Strings
// compare by the collator when one is given, else binary.
#pragma once

#include <bson/bson.h>

#include <cstddef>
#include <cstdint>

namespace mql {

class Collator;

// Rank of a type in the canonical order (MinKey lowest). Types of equal rank compare by value.
int canonical_rank(bson_type_t t);

// <0, 0, >0. `missing` (BSON_TYPE_EOD) sorts like null for sort keys but callers decide.
int compare_values(const bson_value_t* a, const bson_value_t* b, const Collator* collator = nullptr);
int compare_elements(const bson_iter_t* a, const bson_iter_t* b, const Collator* collator = nullptr);
// Documents compare field by field: type rank of the element, then field name, then value.
int compare_docs(const bson_t* a, const bson_t* b, const Collator* collator = nullptr);
// Arrays compare element by element like documents without field names.
int compare_arrays(const bson_t* a, const bson_t* b, const Collator* collator = nullptr);

inline bool values_equal(const bson_value_t* a, const bson_value_t* b, const Collator* c = nullptr) {
  return compare_values(a, b, c) == 0;
}

// A hash consistent with compare_values(…, nullptr) == 0 (1, 1L and 1.0 hash the same).
uint64_t hash_value(const bson_value_t* v, const Collator* collator = nullptr);

}  // namespace mql
