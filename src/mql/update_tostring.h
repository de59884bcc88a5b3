// The server's BSONElement/BSONObj::toString() rendering ("{ a: 1, b: \"x\" }"), which its
// update error messages embed; mongosim must reproduce those texts byte for byte.
#pragma once

#include <bson/bson.h>

#include <string>
#include <string_view>

namespace mql {

// "{ a: 1, b: [ 1, 2 ] }"; an empty document is "{}".
std::string mongo_doc_string(const bson_t* doc);
// "a: 1" (the element with its field name).
std::string mongo_elem_string(std::string_view key, const bson_value_t* v);
// The value alone ("1", "\"x\"", "{ b: 1 }").
std::string mongo_value_string(const bson_value_t* v);

}  // namespace mql
