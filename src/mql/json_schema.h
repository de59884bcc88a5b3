// $jsonSchema (the validator subset of JSON Schema draft 4 plus bsonType) compiled to a filter node.
#pragma once

#include <bson/bson.h>

#include <memory>

#include "common/status.h"
#include "mql/context.h"
#include "mql/matcher_internal.h"

namespace mql::internal {

// Supported keywords: bsonType, type, required, properties, additionalProperties,
// patternProperties, enum, minimum/maximum (+ exclusiveMinimum/exclusiveMaximum), multipleOf,
// minLength/maxLength, pattern, items (schema or array), additionalItems, minItems/maxItems,
// uniqueItems, minProperties/maxProperties, allOf/anyOf/oneOf/not, dependencies;
// description/title are ignored. Unknown keywords → 9 "Unknown $jsonSchema keyword: k".
common::Result<std::unique_ptr<MatchNode>> parse_json_schema(const bson_t* schema, const ExpressionContext& ctx);

}  // namespace mql::internal
