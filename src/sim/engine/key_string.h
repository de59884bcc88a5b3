// Index keys as byte strings whose memcmp order is MongoDB's canonical BSON order
// (mongodb-reference.md §7.2), like the server's KeyString: an index is then an ordered map
// of byte strings, and bounds are byte ranges.
//
// Each value is encoded as one byte for its canonical type rank, then a payload that keeps
// the order within the rank. Every encoding is prefix-free, so a compound key is the
// concatenation of its components and a descending component is its bytes inverted.
// Numbers of every type share one encoding by value (1, 1L, 1.0 and NumberDecimal("1.00")
// encode the same). Strings are encoded through the collator's sort key when the index has
// a collation. Encodings need not be decodable: the engine keeps the documents.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace mql {
class Collator;
}

namespace sim::engine::keystring {

// Appends the encoding of `v` (BSON_TYPE_EOD encodes like null).
void append_value(std::string& out, const bson_value_t* v, const mql::Collator* collator, bool descending = false);
std::string encode(const bson_value_t* v, const mql::Collator* collator, bool descending = false);

// The single rank byte every encoding of a value of type `t` begins with (ascending); a
// bound of one byte covers the whole type bracket.
char rank_byte(bson_type_t t);
// The bracket of a type as a one-byte prefix, inverted for a descending component.
std::string bracket(bson_type_t t, bool descending);

// Appends a RecordId so that entries of non-unique indexes are distinct (big-endian, order
// preserving for non-negative ids).
void append_record_id(std::string& out, int64_t rid);
int64_t read_record_id_suffix(std::string_view key);

// Compares the first min(|key|, |bound|) bytes of `key` with `bound`, treating a key shorter
// than the bound as smaller: <0, 0 (key starts with bound), >0.
int compare_prefix(std::string_view key, std::string_view bound);

}  // namespace sim::engine::keystring
