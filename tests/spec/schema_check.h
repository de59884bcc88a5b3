// Structural validation of unified test files (a hand-written subset of the unified test
// format JSON schema: required fields, types, enums, minItems, additionalProperties, conflicts).
#pragma once

#include <bson/bson.h>

#include <string>
#include <vector>

namespace spec {

// Problems found in a whole test file; empty when it looks valid.
std::vector<std::string> validate_test_file(const bson_t* file);

}  // namespace spec
