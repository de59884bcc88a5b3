// IDL-style command argument checks (see args.h).
#include "sim/engine/args.h"

#include <fmt/format.h>

#include <cmath>

#include "sim/command.h"

namespace sim::engine::args {

using common::Result;
using common::Status;

Status wrong_type(std::string_view command, std::string_view field, const bson_iter_t* it, std::string_view expected) {
  bool plural = expected.front() == '[';
  return Status(common::kTypeMismatch,
                fmt::format("BSON field '{}.{}' is the wrong type '{}', expected type{} '{}'", command, field,
                            common::type_alias(bson_iter_type(it)), plural ? "s" : "", expected));
}

Status reject_let_before_50(int version, const bson_t* body, std::string_view command, LetParser parser) {
  bson_iter_t it;
  if (version >= 50 || !bson_iter_init_find(&it, body, "let")) return Status::OK();
  switch (parser) {
    case LetParser::kFind:
      return Status(common::kFailedToParse,
                    fmt::format("Failed to parse: {}. Unrecognized field 'let'.", common::to_server_string(body)));
    case LetParser::kAggregate: return Status(common::kFailedToParse, "unrecognized field 'let'");
    case LetParser::kIdl:
      return Status(common::kUnrecognizedCommandField, fmt::format("BSON field '{}.let' is an unknown field.", command));
    case LetParser::kFindAndModify: return Status(51177, "BSON field 'let' is an unknown field.");
  }
  return Status::OK();
}

namespace {

Status check_one(std::string_view command, const Field& f, const bson_iter_t* it) {
  bson_type_t t = bson_iter_type(it);
  bool number = BSON_ITER_HOLDS_NUMBER(it);
  switch (f.type) {
    case Type::kAny: return Status::OK();
    case Type::kObject:
      return t == BSON_TYPE_DOCUMENT ? Status::OK() : wrong_type(command, f.name, it, "object");
    case Type::kObjectOrNull:
      return t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_NULL ? Status::OK() : wrong_type(command, f.name, it, "object");
    case Type::kArray: return t == BSON_TYPE_ARRAY ? Status::OK() : wrong_type(command, f.name, it, "array");
    case Type::kString: return t == BSON_TYPE_UTF8 ? Status::OK() : wrong_type(command, f.name, it, "string");
    case Type::kBool:
      return t == BSON_TYPE_BOOL || number || t == BSON_TYPE_NULL
                 ? Status::OK()
                 : wrong_type(command, f.name, it, "[bool, long, int, decimal, double]");
    case Type::kStrictBool: return t == BSON_TYPE_BOOL ? Status::OK() : wrong_type(command, f.name, it, "bool");
    case Type::kInt32:
      return number ? Status::OK() : wrong_type(command, f.name, it, "[long, int, decimal, double]");
    case Type::kInt64:
    case Type::kNonNegInt64: {
      if (!number) return wrong_type(command, f.name, it, "[long, int, decimal, double]");
      if (f.type == Type::kNonNegInt64) {
        double d = bson_iter_as_double(it);
        if (d < 0) {
          return Status(51024, fmt::format("BSON field '{}' value must be >= 0, actual value '{}'", f.name,
                                           static_cast<int64_t>(d)));
        }
      }
      return Status::OK();
    }
    case Type::kHint:
      return t == BSON_TYPE_UTF8 || t == BSON_TYPE_DOCUMENT ? Status::OK()
                                                            : wrong_type(command, f.name, it, "[string, object]");
    case Type::kStringOrObject:
      return t == BSON_TYPE_UTF8 || t == BSON_TYPE_DOCUMENT ? Status::OK()
                                                            : wrong_type(command, f.name, it, "[string, object]");
  }
  return Status::OK();
}

}  // namespace

Status check(const bson_t* body, std::string_view command, std::initializer_list<Field> fields) {
  bson_iter_t it;
  if (!bson_iter_init(&it, body) || !bson_iter_next(&it)) return Status::OK();
  while (bson_iter_next(&it)) {
    std::string_view key(bson_iter_key(&it), bson_iter_key_len(&it));
    const Field* found = nullptr;
    for (const auto& f : fields) {
      if (f.name == key) {
        found = &f;
        break;
      }
    }
    if (!found) {
      if (is_generic_argument(key)) continue;
      return Status(common::kUnrecognizedCommandField, fmt::format("BSON field '{}.{}' is an unknown field.", command, key));
    }
    MS_RETURN_IF_ERROR(check_one(command, *found, &it));
  }
  return Status::OK();
}

std::optional<common::BsonView> object(const bson_t* body, std::string_view key) {
  bson_iter_t it;
  if (!common::find_field(body, key, &it) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return std::nullopt;
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&it, &len, &data);
  return common::BsonView(data, len);
}

std::optional<common::BsonView> array(const bson_t* body, std::string_view key) {
  bson_iter_t it;
  if (!common::find_field(body, key, &it) || !BSON_ITER_HOLDS_ARRAY(&it)) return std::nullopt;
  uint32_t len;
  const uint8_t* data;
  bson_iter_array(&it, &len, &data);
  return common::BsonView(data, len);
}

std::optional<std::string> string(const bson_t* body, std::string_view key) {
  bson_iter_t it;
  if (!common::find_field(body, key, &it) || !BSON_ITER_HOLDS_UTF8(&it)) return std::nullopt;
  uint32_t len;
  const char* s = bson_iter_utf8(&it, &len);
  return std::string(s, len);
}

bool flag(const bson_t* body, std::string_view key, bool absent) {
  bson_iter_t it;
  if (!common::find_field(body, key, &it)) return absent;
  return common::value_truthy(&it);
}

std::optional<int64_t> int64(const bson_t* body, std::string_view key) {
  bson_iter_t it;
  if (!common::find_field(body, key, &it) || !BSON_ITER_HOLDS_NUMBER(&it)) return std::nullopt;
  if (BSON_ITER_HOLDS_DOUBLE(&it)) {
    double d = bson_iter_double(&it);
    if (std::isnan(d)) return 0;
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return static_cast<int64_t>(d);
  }
  return bson_iter_as_int64(&it);
}

const bson_value_t* value(const bson_t* body, std::string_view key, bson_iter_t* storage) {
  if (!common::find_field(body, key, storage)) return nullptr;
  return bson_iter_value(storage);
}

Result<std::string> collection_name(const bson_t* body, std::string_view command) {
  bson_iter_t it;
  if (!bson_iter_init(&it, body) || !bson_iter_next(&it)) return Status(common::kFailedToParse, "empty command");
  if (!BSON_ITER_HOLDS_UTF8(&it)) {
    return Status(common::kInvalidNamespace,
                  fmt::format("collection name has invalid type {}", common::type_alias(bson_iter_type(&it))));
  }
  uint32_t len;
  const char* s = bson_iter_utf8(&it, &len);
  (void)command;
  return std::string(s, len);
}

Result<int64_t> max_time_ms(const bson_t* body) {
  bson_iter_t it;
  if (!common::find_field(body, "maxTimeMS", &it)) return int64_t{0};
  if (!BSON_ITER_HOLDS_NUMBER(&it)) {
    return Status(common::kBadValue, fmt::format("maxTimeMS must be a number"));
  }
  double d = bson_iter_as_double(&it);
  if (d < 0 || d > 2147483647.0) return Status(common::kBadValue, "maxTimeMS out of range");
  if (d != std::trunc(d)) return Status(common::kBadValue, "maxTimeMS has non-integral part");
  return static_cast<int64_t>(d);
}

}  // namespace sim::engine::args
