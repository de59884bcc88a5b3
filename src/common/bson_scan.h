// Fast paths over raw BSON bytes for the two things every command does many times: finding a
// top-level field and validating a document from the wire. Both handle the common element
// types themselves and answer "not sure" for anything unusual, so callers fall back to
// libbson's own (slower, exact) code and the results never differ from libbson's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace common {

// The offset of the first top-level element named `key` (> 0), 0 when the document has no
// such element, or -1 when the bytes hold something this scanner leaves to libbson.
int64_t scan_for_key(const uint8_t* data, uint32_t len, std::string_view key);

// True only when the document is certainly valid as libbson's bson_validate with
// BSON_VALIDATE_UTF8_ALLOW_NULL sees it, nested at most `max_depth` levels (the top level
// being 1), with ASCII keys and strings. False means "check it the slow way", not "invalid".
bool quick_valid(const uint8_t* data, size_t len, int max_depth);

}  // namespace common
