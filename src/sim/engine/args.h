// Command argument parsing with the server's IDL behaviour (mongodb-reference.md §3.1):
// unknown fields → 40415 "BSON field 'find.foo' is an unknown field.", wrong types → 14
// "BSON field 'find.limit' is the wrong type 'string', expected types '[long, int, decimal,
// double]'", negative counts → 51024. Generic arguments are always accepted.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/bson.h"
#include "common/status.h"

namespace sim::engine::args {

enum class Type {
  kAny,
  kObject,          // a document
  kObjectOrNull,    // a document; null/missing = absent (IDL object_owned_nonempty_serialize)
  kArray,
  kString,
  kBool,            // bool or number (IDL optionalBool/safeBool)
  kStrictBool,      // bool only
  kInt64,           // any number, truncated (IDL safeInt64)
  kNonNegInt64,     // safeInt64 with validator gte 0
  kInt32,
  kHint,            // string or document
  kStringOrObject,
};

struct Field {
  std::string_view name;
  Type type;
};

// Checks every field after the first (the command name) against `fields`.
common::Status check(const bson_t* body, std::string_view command, std::initializer_list<Field> fields);

// Typed getters; the field must have passed check().
std::optional<common::BsonView> object(const bson_t* body, std::string_view key);
std::optional<common::BsonView> array(const bson_t* body, std::string_view key);
std::optional<std::string> string(const bson_t* body, std::string_view key);
bool flag(const bson_t* body, std::string_view key, bool absent = false);
std::optional<int64_t> int64(const bson_t* body, std::string_view key);
const bson_value_t* value(const bson_t* body, std::string_view key, bson_iter_t* storage);

// The first element: the collection name of a collection command. 73 InvalidNamespace when it
// is not a string ("collection name has invalid type int").
common::Result<std::string> collection_name(const bson_t* body, std::string_view command);

// maxTimeMS as the server parses it (non-negative 32-bit; 0 = none).
common::Result<int64_t> max_time_ms(const bson_t* body);

// `let` arrived in 5.0 for find, aggregate, update, delete and findAndModify; a 4.4 server
// refuses it the way each command's own 4.4 parser did (QueryRequest: 9 "Failed to parse:
// <cmd>. Unrecognized field 'let'."; AggregationRequest: 9 "unrecognized field 'let'"; the
// write commands' IDL: 40415; FindAndModifyRequest: 51177 "BSON field 'let' is an unknown field.").
enum class LetParser { kFind, kAggregate, kIdl, kFindAndModify };
common::Status reject_let_before_50(int version, const bson_t* body, std::string_view command, LetParser parser);

// The "wrong type" error for one field.
common::Status wrong_type(std::string_view command, std::string_view field, const bson_iter_t* it,
                          std::string_view expected);

}  // namespace sim::engine::args
