// $jsonSchema: parses the validator subset of JSON Schema and evaluates it over raw BSON values.
#include "mql/json_schema.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mql/compare.h"
#include "mql/matcher_regex.h"
#include "mql/value.h"

namespace mql::internal {

using common::Result;
using common::Status;

namespace {

bool is_number_type(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE || t == BSON_TYPE_DECIMAL128;
}

bool sub_doc(const bson_value_t* v, bson_t* out) {
  return bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len);
}

size_t utf8_length(const char* s, uint32_t n) {
  size_t count = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++count;
  }
  return count;
}

struct SchemaNode {
  std::vector<int> types;  // BSON type codes accepted; empty with !typed = any
  bool typed = false;
  bool any_number = false;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, std::unique_ptr<SchemaNode>>> properties;
  std::vector<std::pair<std::shared_ptr<const Regex>, std::unique_ptr<SchemaNode>>> pattern_properties;
  int additional = 0;  // 0 unspecified/allowed, 1 forbidden, 2 schema
  std::unique_ptr<SchemaNode> additional_schema;
  std::optional<std::vector<Value>> enumeration;
  std::optional<Value> minimum, maximum, multiple_of;
  bool exclusive_min = false, exclusive_max = false;
  std::optional<int64_t> min_length, max_length, min_items, max_items, min_props, max_props;
  std::shared_ptr<const Regex> pattern;
  std::unique_ptr<SchemaNode> items;                    // every element
  std::vector<std::unique_ptr<SchemaNode>> tuple_items;  // positional
  int additional_items = 0;                              // 0 allowed, 1 forbidden, 2 schema
  std::unique_ptr<SchemaNode> additional_items_schema;
  bool unique_items = false;
  std::vector<std::unique_ptr<SchemaNode>> all_of, any_of, one_of;
  std::unique_ptr<SchemaNode> not_schema;
  std::vector<std::pair<std::string, std::vector<std::string>>> prop_dependencies;
  std::vector<std::pair<std::string, std::unique_ptr<SchemaNode>>> schema_dependencies;

  bool match(const bson_value_t* v) const;
  bool match_object(const bson_t* obj) const;
  bool match_array(const bson_t* arr) const;
};

bool SchemaNode::match(const bson_value_t* v) const {
  bson_type_t t = v->value_type;
  if (typed) {
    bool ok = any_number && is_number_type(t);
    int code = t == BSON_TYPE_MINKEY ? -1 : static_cast<int>(t);
    for (int x : types) ok = ok || x == code;
    if (!ok) return false;
  }
  if (enumeration) {
    bool found = false;
    for (const auto& e : *enumeration) {
      if (compare_values(v, &e.raw()) == 0 && canonical_rank(v->value_type) == canonical_rank(e.type())) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (is_number_type(t)) {
    if (minimum) {
      int c = compare_values(v, &minimum->raw());
      if (exclusive_min ? c <= 0 : c < 0) return false;
    }
    if (maximum) {
      int c = compare_values(v, &maximum->raw());
      if (exclusive_max ? c >= 0 : c > 0) return false;
    }
    if (multiple_of) {
      double x = Value(*v).as_double(), m = multiple_of->as_double();
      if (!std::isfinite(x)) return false;
      if (std::fmod(x, m) != 0.0) return false;
    }
  }
  if (t == BSON_TYPE_UTF8) {
    size_t len = utf8_length(v->value.v_utf8.str, v->value.v_utf8.len);
    if (min_length && static_cast<int64_t>(len) < *min_length) return false;
    if (max_length && static_cast<int64_t>(len) > *max_length) return false;
    if (pattern && !pattern->matches(std::string_view(v->value.v_utf8.str, v->value.v_utf8.len))) return false;
  }
  if (t == BSON_TYPE_DOCUMENT) {
    bson_t obj;
    if (!sub_doc(v, &obj) || !match_object(&obj)) return false;
  }
  if (t == BSON_TYPE_ARRAY) {
    bson_t arr;
    if (!sub_doc(v, &arr) || !match_array(&arr)) return false;
  }
  for (const auto& s : all_of) {
    if (!s->match(v)) return false;
  }
  if (!any_of.empty()) {
    bool any = false;
    for (const auto& s : any_of) {
      if (s->match(v)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!one_of.empty()) {
    int n = 0;
    for (const auto& s : one_of) n += s->match(v) ? 1 : 0;
    if (n != 1) return false;
  }
  if (not_schema && not_schema->match(v)) return false;
  return true;
}

bool SchemaNode::match_object(const bson_t* obj) const {
  bson_iter_t it;
  for (const auto& r : required) {
    if (!bson_iter_init_find_w_len(&it, obj, r.data(), static_cast<int>(r.size()))) return false;
  }
  int64_t count = 0;
  if (!bson_iter_init(&it, obj)) return false;
  while (bson_iter_next(&it)) {
    ++count;
    std::string_view key(bson_iter_key(&it), bson_iter_key_len(&it));
    const bson_value_t* v = bson_iter_value(&it);
    bool covered = false;
    for (const auto& [name, schema] : properties) {
      if (name == key) {
        covered = true;
        if (!schema->match(v)) return false;
      }
    }
    for (const auto& [re, schema] : pattern_properties) {
      if (re->matches(key)) {
        covered = true;
        if (!schema->match(v)) return false;
      }
    }
    if (!covered) {
      if (additional == 1) return false;
      if (additional == 2 && !additional_schema->match(v)) return false;
    }
  }
  if (min_props && count < *min_props) return false;
  if (max_props && count > *max_props) return false;
  for (const auto& [name, needs] : prop_dependencies) {
    if (!bson_iter_init_find_w_len(&it, obj, name.data(), static_cast<int>(name.size()))) continue;
    for (const auto& n : needs) {
      bson_iter_t other;
      if (!bson_iter_init_find_w_len(&other, obj, n.data(), static_cast<int>(n.size()))) return false;
    }
  }
  for (const auto& [name, schema] : schema_dependencies) {
    if (!bson_iter_init_find_w_len(&it, obj, name.data(), static_cast<int>(name.size()))) continue;
    bson_value_t whole;
    whole.value_type = BSON_TYPE_DOCUMENT;
    whole.value.v_doc.data = const_cast<uint8_t*>(bson_get_data(obj));
    whole.value.v_doc.data_len = obj->len;
    if (!schema->match(&whole)) return false;
  }
  return true;
}

bool SchemaNode::match_array(const bson_t* arr) const {
  bson_iter_t it;
  if (!bson_iter_init(&it, arr)) return false;
  int64_t n = 0;
  std::vector<const bson_value_t*> seen;
  std::vector<bson_value_t> copies;
  while (bson_iter_next(&it)) {
    const bson_value_t* v = bson_iter_value(&it);
    if (items && !items->match(v)) return false;
    if (!tuple_items.empty()) {
      if (n < static_cast<int64_t>(tuple_items.size())) {
        if (!tuple_items[static_cast<size_t>(n)]->match(v)) return false;
      } else if (additional_items == 1) {
        return false;
      } else if (additional_items == 2 && !additional_items_schema->match(v)) {
        return false;
      }
    }
    if (unique_items) copies.push_back(*v);  // shallow: points into `arr`
    ++n;
  }
  if (min_items && n < *min_items) return false;
  if (max_items && n > *max_items) return false;
  if (unique_items) {
    for (size_t i = 0; i < copies.size(); ++i) {
      for (size_t j = i + 1; j < copies.size(); ++j) {
        if (canonical_rank(copies[i].value_type) == canonical_rank(copies[j].value_type) &&
            compare_values(&copies[i], &copies[j]) == 0) {
          return false;
        }
      }
    }
  }
  return true;
}

Status bad_keyword(const std::string& msg) { return Status(common::kFailedToParse, msg); }
Status type_error(const std::string& msg) { return Status(common::kTypeMismatch, msg); }

int bson_type_code(std::string_view alias, bool* number) {
  static const std::pair<const char*, int> kAliases[] = {
      {"double", 1},    {"string", 2},     {"object", 3},      {"array", 4},   {"binData", 5},
      {"undefined", 6}, {"objectId", 7},   {"bool", 8},        {"date", 9},    {"null", 10},
      {"regex", 11},    {"dbPointer", 12}, {"javascript", 13}, {"symbol", 14}, {"javascriptWithScope", 15},
      {"int", 16},      {"timestamp", 17}, {"long", 18},       {"decimal", 19}, {"minKey", -1},
      {"maxKey", 127}};
  if (alias == "number") {
    *number = true;
    return 0;
  }
  for (const auto& [n, c] : kAliases) {
    if (alias == n) return c;
  }
  return -1000;
}

class SchemaParser {
 public:
  explicit SchemaParser(const ExpressionContext& ctx) : ctx_(ctx) {}

  Result<std::unique_ptr<SchemaNode>> parse(const bson_t* schema, int depth) {
    if (depth > 100) return bad_keyword("$jsonSchema nesting is too deep");
    auto node = std::make_unique<SchemaNode>();
    bson_iter_t it;
    if (!bson_iter_init(&it, schema)) return bad_keyword("invalid $jsonSchema");
    bool saw_type = false, saw_bson_type = false;
    std::optional<bool> excl_min, excl_max;
    while (bson_iter_next(&it)) {
      std::string k(bson_iter_key(&it), bson_iter_key_len(&it));
      bson_type_t t = bson_iter_type(&it);
      const bson_value_t* v = bson_iter_value(&it);
      if (k == "description" || k == "title" || k == "$comment") {
        if (k != "$comment" && t != BSON_TYPE_UTF8) {
          return type_error("$jsonSchema keyword '" + k + "' must be a string");
        }
        continue;
      }
      if (k == "bsonType" || k == "type") {
        (k == "type" ? saw_type : saw_bson_type) = true;
        MS_RETURN_IF_ERROR(parse_type(k, &it, node.get()));
      } else if (k == "required") {
        if (t != BSON_TYPE_ARRAY) return type_error("$jsonSchema keyword 'required' must be an array");
        bson_iter_t arr;
        bson_iter_recurse(&it, &arr);
        while (bson_iter_next(&arr)) {
          if (!BSON_ITER_HOLDS_UTF8(&arr)) {
            return type_error("$jsonSchema keyword 'required' must be an array of strings");
          }
          node->required.emplace_back(bson_iter_utf8(&arr, nullptr));
        }
        if (node->required.empty()) return bad_keyword("$jsonSchema keyword 'required' cannot be an empty array");
      } else if (k == "properties" || k == "patternProperties") {
        if (t != BSON_TYPE_DOCUMENT) return type_error("$jsonSchema keyword '" + k + "' must be an object");
        bson_iter_t sub;
        bson_iter_recurse(&it, &sub);
        while (bson_iter_next(&sub)) {
          std::string name(bson_iter_key(&sub), bson_iter_key_len(&sub));
          MS_ASSIGN_OR_RETURN(auto child, sub_schema(&sub, "Nested schema for $jsonSchema property '" + name +
                                                               "' must be an object", depth));
          if (k == "properties") {
            node->properties.emplace_back(std::move(name), std::move(child));
          } else {
            MS_ASSIGN_OR_RETURN(auto re, Regex::compile(name, ""));
            node->pattern_properties.emplace_back(std::move(re), std::move(child));
          }
        }
      } else if (k == "additionalProperties" || k == "additionalItems") {
        int mode;
        std::unique_ptr<SchemaNode> child;
        if (t == BSON_TYPE_BOOL) {
          mode = bson_iter_bool(&it) ? 0 : 1;
        } else if (t == BSON_TYPE_DOCUMENT) {
          MS_ASSIGN_OR_RETURN(child, sub_schema(&it, "", depth));
          mode = 2;
        } else {
          return type_error("$jsonSchema keyword '" + k + "' must be either an object or a boolean");
        }
        if (k == "additionalProperties") {
          node->additional = mode;
          node->additional_schema = std::move(child);
        } else {
          node->additional_items = mode;
          node->additional_items_schema = std::move(child);
        }
      } else if (k == "enum") {
        if (t != BSON_TYPE_ARRAY) return type_error("$jsonSchema keyword 'enum' must be an array");
        std::vector<Value> vals;
        bson_iter_t arr;
        bson_iter_recurse(&it, &arr);
        while (bson_iter_next(&arr)) vals.push_back(Value::from_iter(&arr));
        if (vals.empty()) return bad_keyword("$jsonSchema keyword 'enum' cannot be an empty array");
        node->enumeration = std::move(vals);
      } else if (k == "minimum" || k == "maximum" || k == "multipleOf") {
        if (!is_number_type(t)) return type_error("$jsonSchema keyword '" + k + "' must be a number");
        Value val(*v);
        if (k == "minimum") {
          node->minimum = std::move(val);
        } else if (k == "maximum") {
          node->maximum = std::move(val);
        } else {
          if (!(val.as_double() > 0)) return bad_keyword("$jsonSchema keyword 'multipleOf' must have a positive value");
          node->multiple_of = std::move(val);
        }
      } else if (k == "exclusiveMinimum" || k == "exclusiveMaximum") {
        if (t != BSON_TYPE_BOOL) return type_error("$jsonSchema keyword '" + k + "' must be a boolean");
        (k == "exclusiveMinimum" ? excl_min : excl_max) = bson_iter_bool(&it);
      } else if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" ||
                 k == "minProperties" || k == "maxProperties") {
        if (!is_number_type(t)) return type_error("$jsonSchema keyword '" + k + "' must be a number");
        Value val(*v);
        double d = val.as_double();
        if (std::trunc(d) != d || d < 0 || std::isnan(d)) {
          return bad_keyword("$jsonSchema keyword '" + k + "' must be a non-negative integer");
        }
        int64_t n = val.as_int64();
        if (k == "minLength") node->min_length = n;
        if (k == "maxLength") node->max_length = n;
        if (k == "minItems") node->min_items = n;
        if (k == "maxItems") node->max_items = n;
        if (k == "minProperties") node->min_props = n;
        if (k == "maxProperties") node->max_props = n;
      } else if (k == "pattern") {
        if (t != BSON_TYPE_UTF8) return type_error("$jsonSchema keyword 'pattern' must be a string");
        MS_ASSIGN_OR_RETURN(node->pattern, Regex::compile(bson_iter_utf8(&it, nullptr), ""));
      } else if (k == "items") {
        if (t == BSON_TYPE_DOCUMENT) {
          MS_ASSIGN_OR_RETURN(node->items, sub_schema(&it, "", depth));
        } else if (t == BSON_TYPE_ARRAY) {
          MS_ASSIGN_OR_RETURN(node->tuple_items, schema_array(&it, k, depth, true));
        } else {
          return type_error("$jsonSchema keyword 'items' must be an array or an object");
        }
      } else if (k == "uniqueItems") {
        if (t != BSON_TYPE_BOOL) return type_error("$jsonSchema keyword 'uniqueItems' must be a boolean");
        node->unique_items = bson_iter_bool(&it);
      } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
        if (t != BSON_TYPE_ARRAY) return type_error("$jsonSchema keyword '" + k + "' must be an array");
        MS_ASSIGN_OR_RETURN(auto list, schema_array(&it, k, depth, false));
        (k == "allOf" ? node->all_of : k == "anyOf" ? node->any_of : node->one_of) = std::move(list);
      } else if (k == "not") {
        if (t != BSON_TYPE_DOCUMENT) return type_error("$jsonSchema keyword 'not' must be an object");
        MS_ASSIGN_OR_RETURN(node->not_schema, sub_schema(&it, "", depth));
      } else if (k == "dependencies") {
        if (t != BSON_TYPE_DOCUMENT) return type_error("$jsonSchema keyword 'dependencies' must be an object");
        bson_iter_t sub;
        bson_iter_recurse(&it, &sub);
        while (bson_iter_next(&sub)) {
          std::string name(bson_iter_key(&sub), bson_iter_key_len(&sub));
          if (bson_iter_type(&sub) == BSON_TYPE_DOCUMENT) {
            MS_ASSIGN_OR_RETURN(auto child, sub_schema(&sub, "", depth));
            node->schema_dependencies.emplace_back(std::move(name), std::move(child));
          } else if (bson_iter_type(&sub) == BSON_TYPE_ARRAY) {
            std::vector<std::string> needs;
            bson_iter_t arr;
            bson_iter_recurse(&sub, &arr);
            while (bson_iter_next(&arr)) {
              if (!BSON_ITER_HOLDS_UTF8(&arr)) {
                return type_error("property '" + name + "' in $jsonSchema keyword 'dependencies' must be an array of strings");
              }
              needs.emplace_back(bson_iter_utf8(&arr, nullptr));
            }
            node->prop_dependencies.emplace_back(std::move(name), std::move(needs));
          } else {
            return type_error("property '" + name + "' in $jsonSchema keyword 'dependencies' must be either an object or an array");
          }
        }
      } else if (k == "encrypt" || k == "encryptMetadata" || k == "$ref" || k == "$schema" || k == "default" ||
                 k == "definitions" || k == "format" || k == "id") {
        return bad_keyword("$jsonSchema keyword '" + k + "' is not currently supported");
      } else {
        return bad_keyword("Unknown $jsonSchema keyword: " + k);
      }
    }
    if (saw_type && saw_bson_type) {
      return bad_keyword("Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");
    }
    if (excl_min) {
      if (!node->minimum) return bad_keyword("$jsonSchema keyword 'minimum' must be a present if exclusiveMinimum is present");
      node->exclusive_min = *excl_min;
    }
    if (excl_max) {
      if (!node->maximum) return bad_keyword("$jsonSchema keyword 'maximum' must be a present if exclusiveMaximum is present");
      node->exclusive_max = *excl_max;
    }
    return node;
  }

 private:
  Status parse_type(const std::string& k, const bson_iter_t* it, SchemaNode* node) {
    node->typed = true;
    auto one = [&](const char* name) -> Status {
      std::string_view n = name;
      if (k == "type") {
        static const std::pair<const char*, int> kJson[] = {
            {"object", 3}, {"array", 4}, {"string", 2}, {"boolean", 8}, {"null", 10}};
        if (n == "number") {
          node->any_number = true;
          return Status::OK();
        }
        if (n == "integer") return bad_keyword("$jsonSchema type 'integer' is not currently supported.");
        for (const auto& [jn, c] : kJson) {
          if (n == jn) {
            node->types.push_back(c);
            return Status::OK();
          }
        }
        return bad_keyword("Unknown type name alias: " + std::string(n));
      }
      bool number = false;
      int c = bson_type_code(n, &number);
      if (number) {
        node->any_number = true;
        return Status::OK();
      }
      if (c == -1000) return bad_keyword("Unknown type name alias: " + std::string(n));
      node->types.push_back(c);
      return Status::OK();
    };
    if (BSON_ITER_HOLDS_UTF8(it)) return one(bson_iter_utf8(it, nullptr));
    if (BSON_ITER_HOLDS_ARRAY(it)) {
      bson_iter_t arr;
      bson_iter_recurse(it, &arr);
      bool any = false;
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_UTF8(&arr)) {
          return type_error("$jsonSchema keyword '" + k + "' array elements must be strings");
        }
        any = true;
        MS_RETURN_IF_ERROR(one(bson_iter_utf8(&arr, nullptr)));
      }
      if (!any) return bad_keyword("$jsonSchema keyword '" + k + "' must name at least one type");
      return Status::OK();
    }
    return type_error("$jsonSchema keyword '" + k + "' must be either a string or an array of strings");
  }

  Result<std::unique_ptr<SchemaNode>> sub_schema(const bson_iter_t* it, const std::string& type_msg, int depth) {
    if (bson_iter_type(it) != BSON_TYPE_DOCUMENT) {
      return type_error(type_msg.empty() ? "$jsonSchema subschema must be an object" : type_msg);
    }
    bson_t sub;
    if (!sub_doc(bson_iter_value(const_cast<bson_iter_t*>(it)), &sub)) return bad_keyword("invalid $jsonSchema");
    return parse(&sub, depth + 1);
  }

  Result<std::vector<std::unique_ptr<SchemaNode>>> schema_array(const bson_iter_t* it, const std::string& k, int depth,
                                                                bool allow_empty) {
    std::vector<std::unique_ptr<SchemaNode>> out;
    bson_iter_t arr;
    bson_iter_recurse(it, &arr);
    while (bson_iter_next(&arr)) {
      MS_ASSIGN_OR_RETURN(auto child, sub_schema(&arr, "$jsonSchema keyword '" + k + "' must be an array of objects", depth));
      out.push_back(std::move(child));
    }
    if (out.empty() && !allow_empty) return bad_keyword("$jsonSchema keyword '" + k + "' must be a nonempty array");
    return out;
  }

  [[maybe_unused]] const ExpressionContext& ctx_;
};

class SchemaMatchNode final : public MatchNode {
 public:
  explicit SchemaMatchNode(std::unique_ptr<SchemaNode> root) : root_(std::move(root)) {}
  bool matches(const bson_t* doc, int64_t*) const override {
    bson_value_t whole;
    whole.value_type = BSON_TYPE_DOCUMENT;
    whole.value.v_doc.data = const_cast<uint8_t*>(bson_get_data(doc));
    whole.value.v_doc.data_len = doc->len;
    return root_->match(&whole);
  }

 private:
  std::unique_ptr<SchemaNode> root_;
};

}  // namespace

Result<std::unique_ptr<MatchNode>> parse_json_schema(const bson_t* schema, const ExpressionContext& ctx) {
  SchemaParser p(ctx);
  MS_ASSIGN_OR_RETURN(auto root, p.parse(schema, 0));
  return std::unique_ptr<MatchNode>(std::make_unique<SchemaMatchNode>(std::move(root)));
}

}  // namespace mql::internal
