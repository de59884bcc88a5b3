// Renders BSON the way the server's toString() does, for error messages.
#include "mql/update_tostring.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace mql {
namespace {

void append_value(std::string& out, const bson_value_t* v, int depth);

void append_container(std::string& out, const uint8_t* data, uint32_t len, bool array, int depth) {
  bson_t b;
  if (!bson_init_static(&b, data, len)) {
    out += array ? "[]" : "{}";
    return;
  }
  bson_iter_t it;
  if (!bson_iter_init(&it, &b) || bson_count_keys(&b) == 0) {
    out += array ? "[]" : "{}";
    return;
  }
  out += array ? "[ " : "{ ";
  bool first = true;
  while (bson_iter_next(&it)) {
    if (!first) out += ", ";
    first = false;
    if (!array) {
      out.append(bson_iter_key(&it), bson_iter_key_len(&it));
      out += ": ";
    }
    append_value(out, bson_iter_value(&it), depth + 1);
  }
  out += array ? " ]" : " }";
}

void append_double(std::string& out, double d) {
  char buf[64];
  if (std::isnan(d)) {
    out += "nan.0";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "inf.0" : "-inf.0";
    return;
  }
  std::snprintf(buf, sizeof buf, "%.16g", d);
  out += buf;
  if (!std::strchr(buf, '.') && !std::strchr(buf, 'e') && !std::strchr(buf, 'E')) out += ".0";
}

void append_hex(std::string& out, const uint8_t* p, uint32_t n) {
  static const char* kHex = "0123456789ABCDEF";
  for (uint32_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
}

void append_value(std::string& out, const bson_value_t* v, int depth) {
  char buf[64];
  switch (v->value_type) {
    case BSON_TYPE_DOUBLE:
      append_double(out, v->value.v_double);
      break;
    case BSON_TYPE_UTF8:
      out += '"';
      out.append(v->value.v_utf8.str, v->value.v_utf8.len);
      out += '"';
      break;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
      if (depth > 100) {
        out += "...";
        break;
      }
      append_container(out, v->value.v_doc.data, v->value.v_doc.data_len, v->value_type == BSON_TYPE_ARRAY, depth);
      break;
    case BSON_TYPE_BINARY:
      std::snprintf(buf, sizeof buf, "BinData(%d, ", static_cast<int>(v->value.v_binary.subtype));
      out += buf;
      append_hex(out, v->value.v_binary.data, v->value.v_binary.data_len);
      out += ")";
      break;
    case BSON_TYPE_UNDEFINED:
      out += "undefined";
      break;
    case BSON_TYPE_OID: {
      char hex[25];
      bson_oid_to_string(&v->value.v_oid, hex);
      out += "ObjectId('";
      out += hex;
      out += "')";
      break;
    }
    case BSON_TYPE_BOOL:
      out += v->value.v_bool ? "true" : "false";
      break;
    case BSON_TYPE_DATE_TIME:
      std::snprintf(buf, sizeof buf, "new Date(%" PRId64 ")", v->value.v_datetime);
      out += buf;
      break;
    case BSON_TYPE_NULL:
      out += "null";
      break;
    case BSON_TYPE_REGEX:
      out += "/";
      out += v->value.v_regex.regex ? v->value.v_regex.regex : "";
      out += "/";
      out += v->value.v_regex.options ? v->value.v_regex.options : "";
      break;
    case BSON_TYPE_DBPOINTER: {
      char hex[25];
      bson_oid_to_string(&v->value.v_dbpointer.oid, hex);
      out += "DBRef('";
      out.append(v->value.v_dbpointer.collection, v->value.v_dbpointer.collection_len);
      out += "', ";
      out += hex;
      out += ")";
      break;
    }
    case BSON_TYPE_CODE:
      out.append(v->value.v_code.code, v->value.v_code.code_len);
      break;
    case BSON_TYPE_SYMBOL:
      out.append(v->value.v_symbol.symbol, v->value.v_symbol.len);
      break;
    case BSON_TYPE_CODEWSCOPE:
      out += "CodeWScope( ";
      out.append(v->value.v_codewscope.code, v->value.v_codewscope.code_len);
      out += ", ";
      append_container(out, v->value.v_codewscope.scope_data, v->value.v_codewscope.scope_len, false, depth);
      out += ")";
      break;
    case BSON_TYPE_INT32:
      out += std::to_string(v->value.v_int32);
      break;
    case BSON_TYPE_TIMESTAMP:
      std::snprintf(buf, sizeof buf, "Timestamp(%u, %u)", v->value.v_timestamp.timestamp, v->value.v_timestamp.increment);
      out += buf;
      break;
    case BSON_TYPE_INT64:
      out += std::to_string(v->value.v_int64);
      break;
    case BSON_TYPE_DECIMAL128: {
      char dec[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&v->value.v_decimal128, dec);
      out += "NumberDecimal(\"";
      out += dec;
      out += "\")";
      break;
    }
    case BSON_TYPE_MINKEY:
      out += "MinKey";
      break;
    case BSON_TYPE_MAXKEY:
      out += "MaxKey";
      break;
    default:
      out += "?";
      break;
  }
}

}  // namespace

std::string mongo_doc_string(const bson_t* doc) {
  std::string out;
  append_container(out, bson_get_data(doc), doc->len, false, 0);
  return out;
}

std::string mongo_value_string(const bson_value_t* v) {
  std::string out;
  append_value(out, v, 0);
  return out;
}

std::string mongo_elem_string(std::string_view key, const bson_value_t* v) {
  std::string out(key);
  out += ": ";
  append_value(out, v, 0);
  return out;
}

}  // namespace mql
