// libbson helpers for the spec-test runners.
#include "bson_util.h"

#include <fstream>
#include <sstream>

namespace spec {

std::string Doc::json() const {
  size_t len = 0;
  char* s = bson_as_relaxed_extended_json(&b_, &len);
  std::string out = s ? std::string(s, len) : std::string("<invalid bson>");
  bson_free(s);
  return out;
}

std::optional<bson_iter_t> Doc::find(const char* key) const {
  bson_iter_t it;
  if (bson_iter_init_find(&it, &b_, key)) return it;
  return std::nullopt;
}

std::optional<Doc> Doc::from_json(const std::string& json, std::string* err) {
  bson_error_t e;
  Doc d;
  bson_destroy(d.get());
  if (!bson_init_from_json(d.get(), json.data(), static_cast<ssize_t>(json.size()), &e)) {
    bson_init(d.get());
    if (err) *err = e.message;
    return std::nullopt;
  }
  return d;
}

Doc Val::as_doc() const {
  bson_iter_t it = iter();
  return iter_doc(&it);
}

std::string Val::json() const {
  if (!has_) return "<missing>";
  bson_iter_t it = iter();
  return iter_json(&it);
}

std::optional<Doc> load_json_file(const std::string& path, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (err) *err = "cannot open " + path;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return Doc::from_json(ss.str(), err);
}

Doc iter_doc(const bson_iter_t* it) {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  if (BSON_ITER_HOLDS_DOCUMENT(it)) {
    bson_iter_document(it, &len, &data);
  } else if (BSON_ITER_HOLDS_ARRAY(it)) {
    bson_iter_array(it, &len, &data);
  } else {
    return Doc();
  }
  return Doc(data, len);
}

std::string iter_json(const bson_iter_t* it) {
  Doc d;
  bson_append_iter(d.get(), "v", 1, it);
  std::string j = d.json();
  // Strip the {"v" : ... } wrapper.
  auto p = j.find(':');
  if (p == std::string::npos || j.size() < p + 3) return j;
  return j.substr(p + 2, j.size() - p - 4);
}

bool is_number(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE;
}

std::optional<double> iter_number(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32: return bson_iter_int32(it);
    case BSON_TYPE_INT64: return static_cast<double>(bson_iter_int64(it));
    case BSON_TYPE_DOUBLE: return bson_iter_double(it);
    default: return std::nullopt;
  }
}

std::optional<std::string> get_str(const bson_t* d, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it)) return std::string(bson_iter_utf8(&it, nullptr));
  return std::nullopt;
}

std::optional<bool> get_bool(const bson_t* d, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_BOOL(&it)) return bson_iter_bool(&it);
  return std::nullopt;
}

std::optional<int64_t> get_int(const bson_t* d, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, d, key)) {
    if (auto n = iter_number(&it)) return static_cast<int64_t>(*n);
  }
  return std::nullopt;
}

std::optional<Doc> get_doc(const bson_t* d, const char* key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, d, key) && (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)))
    return iter_doc(&it);
  return std::nullopt;
}

bool has_key(const bson_t* d, const char* key) { return bson_has_field(d, key); }

std::vector<std::string> keys(const bson_t* d) {
  std::vector<std::string> out;
  bson_iter_t it;
  if (bson_iter_init(&it, d)) {
    while (bson_iter_next(&it)) out.emplace_back(bson_iter_key(&it));
  }
  return out;
}

const char* type_alias(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_DOUBLE: return "double";
    case BSON_TYPE_UTF8: return "string";
    case BSON_TYPE_DOCUMENT: return "object";
    case BSON_TYPE_ARRAY: return "array";
    case BSON_TYPE_BINARY: return "binData";
    case BSON_TYPE_UNDEFINED: return "undefined";
    case BSON_TYPE_OID: return "objectId";
    case BSON_TYPE_BOOL: return "bool";
    case BSON_TYPE_DATE_TIME: return "date";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_REGEX: return "regex";
    case BSON_TYPE_DBPOINTER: return "dbPointer";
    case BSON_TYPE_CODE: return "javascript";
    case BSON_TYPE_SYMBOL: return "symbol";
    case BSON_TYPE_CODEWSCOPE: return "javascriptWithScope";
    case BSON_TYPE_INT32: return "int";
    case BSON_TYPE_TIMESTAMP: return "timestamp";
    case BSON_TYPE_INT64: return "long";
    case BSON_TYPE_DECIMAL128: return "decimal";
    case BSON_TYPE_MINKEY: return "minKey";
    case BSON_TYPE_MAXKEY: return "maxKey";
    default: return "?";
  }
}

}  // namespace spec
