// Type operators: $convert and its shortcuts ($toInt, $toString, ...), $type, $isNumber, and
// the server's Value::coerceToString used by string operators.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "mql/date_time.h"
#include "mql/expression_internal.h"

namespace mql::expr {

namespace {

constexpr int kConversionFailure = 241;

}  // namespace

Result<std::string> coerce_to_string(const Value& v) {
  switch (v.type()) {
    case BSON_TYPE_DOUBLE:
      return format_g(v.raw().value.v_double);
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
      return std::string(v.as_string());
    case BSON_TYPE_CODE:
      return std::string(v.raw().value.v_code.code, v.raw().value.v_code.code_len);
    case BSON_TYPE_INT32:
      return std::to_string(v.raw().value.v_int32);
    case BSON_TYPE_INT64:
      return std::to_string(v.raw().value.v_int64);
    case BSON_TYPE_DECIMAL128:
      return dec::to_string(v.raw().value.v_decimal128);
    case BSON_TYPE_TIMESTAMP:
      return "Timestamp(" + std::to_string(v.raw().value.v_timestamp.timestamp) + ", " +
             std::to_string(v.raw().value.v_timestamp.increment) + ")";
    case BSON_TYPE_DATE_TIME: {
      auto s = datetime::format(datetime::kIsoFormat, v.raw().value.v_datetime, datetime::TimeZone::utc());
      if (!s.ok()) return err(s.status().code(), "failed while coercing date to string :: caused by :: " + s.status().message());
      return std::move(s).value();
    }
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
      return std::string();
    default:
      return err(16007, "can't convert from BSON type " + std::string(type_name(v)) + " to String");
  }
}

namespace {

Status conv_fail(const std::string& msg) { return err(kConversionFailure, msg); }

std::optional<bson_type_t> type_from_name(std::string_view n) {
  static const std::pair<std::string_view, bson_type_t> k[] = {
      {"double", BSON_TYPE_DOUBLE},       {"string", BSON_TYPE_UTF8},         {"object", BSON_TYPE_DOCUMENT},
      {"array", BSON_TYPE_ARRAY},         {"binData", BSON_TYPE_BINARY},      {"undefined", BSON_TYPE_UNDEFINED},
      {"objectId", BSON_TYPE_OID},        {"bool", BSON_TYPE_BOOL},           {"date", BSON_TYPE_DATE_TIME},
      {"null", BSON_TYPE_NULL},           {"regex", BSON_TYPE_REGEX},         {"dbPointer", BSON_TYPE_DBPOINTER},
      {"javascript", BSON_TYPE_CODE},     {"symbol", BSON_TYPE_SYMBOL},       {"javascriptWithScope", BSON_TYPE_CODEWSCOPE},
      {"int", BSON_TYPE_INT32},           {"timestamp", BSON_TYPE_TIMESTAMP}, {"long", BSON_TYPE_INT64},
      {"decimal", BSON_TYPE_DECIMAL128},  {"minKey", BSON_TYPE_MINKEY},       {"maxKey", BSON_TYPE_MAXKEY},
      {"missing", BSON_TYPE_EOD}};
  for (const auto& [name, t] : k) {
    if (name == n) return t;
  }
  return std::nullopt;
}

bool valid_type_code(int64_t c) { return (c >= 1 && c <= 19) || c == -1 || c == 127; }

Result<bson_type_t> target_type(const Value& to) {
  if (to.type() == BSON_TYPE_UTF8) {
    auto t = type_from_name(to.as_string());
    if (!t) return err(common::kBadValue, "Unknown type name: " + std::string(to.as_string()));
    return *t;
  }
  if (to.is_number()) {
    auto i = as_integral(to);
    if (!i) return err(common::kFailedToParse, "In $convert, numeric 'to' argument is not an integer");
    if (!valid_type_code(*i)) {
      return err(common::kFailedToParse,
                 "In $convert, numeric value for 'to' does not correspond to a BSON type: " + std::to_string(*i));
    }
    return *i == -1 ? BSON_TYPE_MINKEY : *i == 127 ? BSON_TYPE_MAXKEY : static_cast<bson_type_t>(*i);
  }
  return err(common::kFailedToParse,
             "$convert's 'to' argument must be a string or number, but is " + std::string(type_name(to)));
}

Status check_finite(double d) {
  if (std::isnan(d)) return conv_fail("Attempt to convert NaN value to integer type in $convert with no onError value");
  if (!std::isfinite(d)) {
    return conv_fail("Attempt to convert infinity value to integer type in $convert with no onError value");
  }
  return Status::OK();
}

Result<int64_t> double_to_long(double d) {
  MS_RETURN_IF_ERROR(check_finite(d));
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
    return conv_fail("Conversion would overflow target type in $convert with no onError value: " + format_g(d));
  }
  return static_cast<int64_t>(d);
}

Result<int64_t> decimal_to_int(const dec::D& d, bool int32) {
  if (dec::is_nan(d)) return conv_fail("Attempt to convert NaN value to integer type in $convert with no onError value");
  if (dec::is_inf(d)) {
    return conv_fail("Attempt to convert infinity value to integer type in $convert with no onError value");
  }
  std::optional<int64_t> r;
  if (int32) {
    auto i = dec::to_int32(d, dec::Round::kTowardZero);
    if (i) r = *i;
  } else {
    r = dec::to_int64(d, dec::Round::kTowardZero);
  }
  if (!r) return conv_fail("Conversion would overflow target type in $convert with no onError value: " + dec::to_string(d));
  return *r;
}

Result<Value> parse_number(std::string_view s, bson_type_t target) {
  std::string str(s);
  if (str.rfind("0x", 0) == 0) return conv_fail("Illegal hexadecimal input in $convert with no onError value: " + str);
  auto fail = [&](const std::string& why) {
    return conv_fail("Failed to parse number '" + str + "' in $convert with no onError value: " + why);
  };
  if (target == BSON_TYPE_DECIMAL128) {
    auto d = dec::from_string(str);
    if (!d) return fail("Failed to parse string to decimal");
    return Value::decimal(*d);
  }
  if (str.empty()) return fail("No digits");
  errno = 0;
  char* end = nullptr;
  if (target == BSON_TYPE_DOUBLE) {
    double d = std::strtod(str.c_str(), &end);
    if (end == str.c_str()) return fail("Did not consume any digits");
    if (static_cast<size_t>(end - str.c_str()) != str.size()) return fail("Did not consume whole string.");
    if (errno == ERANGE && std::isinf(d)) return fail("Out of range");
    return Value::dbl(d);
  }
  long long v = std::strtoll(str.c_str(), &end, 10);
  if (end == str.c_str()) return fail("Did not consume any digits");
  if (static_cast<size_t>(end - str.c_str()) != str.size()) return fail("Did not consume whole string.");
  if (errno == ERANGE || (target == BSON_TYPE_INT32 && (v < INT32_MIN || v > INT32_MAX))) return fail("Out of range");
  return target == BSON_TYPE_INT32 ? Value::int32(static_cast<int32_t>(v)) : Value::int64(v);
}

Result<Value> string_to_oid(std::string_view s) {
  std::string str(s);
  auto fail = [&](const std::string& why) {
    return conv_fail("Failed to parse objectId '" + str + "' in $convert with no onError value: " + why);
  };
  if (str.size() != 24) {
    return fail("Invalid string length for parsing to OID, expected 24 but found " + std::to_string(str.size()));
  }
  for (char c : str) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return fail("Invalid character found in hex string: " + str);
  }
  bson_oid_t oid;
  bson_oid_init_from_string(&oid, str.c_str());
  return Value::oid(oid);
}

Result<Value> perform_conversion(bson_type_t to, const Value& in, const Call& c) {
  bson_type_t from = in.type();
  auto unsupported = [&] {
    return conv_fail("Unsupported conversion from " + std::string(type_name(from)) + " to " +
                     std::string(type_name(to)) + " in $convert with no onError value");
  };
  if (to == BSON_TYPE_BOOL) {
    switch (from) {
      case BSON_TYPE_DOUBLE:
      case BSON_TYPE_INT32:
      case BSON_TYPE_INT64:
      case BSON_TYPE_DECIMAL128:
      case BSON_TYPE_DATE_TIME:
      case BSON_TYPE_BOOL:
        return Value::boolean(in.truthy());
      case BSON_TYPE_UNDEFINED:
      case BSON_TYPE_NULL:
        return unsupported();
      default:
        // Strings, objects, arrays, binData, ObjectId, regex, code, symbol, timestamps,
        // MinKey/MaxKey: always true.
        return Value::boolean(true);
    }
  }
  const bson_value_t& r = in.raw();
  switch (from) {
    case BSON_TYPE_DOUBLE: {
      double d = r.value.v_double;
      switch (to) {
        case BSON_TYPE_DOUBLE:
          return in;
        case BSON_TYPE_UTF8:
          if (std::isinf(d)) return Value::string(d < 0 ? "-Infinity" : "Infinity");
          if (std::isnan(d)) return Value::string("NaN");
          if (d == 0.0 && std::signbit(d)) return Value::string("-0");
          return Value::string(format_g(d));
        case BSON_TYPE_DATE_TIME: {
          MS_ASSIGN_OR_RETURN(int64_t ms, double_to_long(d));
          return Value::date(ms);
        }
        case BSON_TYPE_INT32: {
          MS_RETURN_IF_ERROR(check_finite(d));
          if (!(d >= INT32_MIN && d <= INT32_MAX)) {
            return conv_fail("Conversion would overflow target type in $convert with no onError value: " + format_g(d));
          }
          return Value::int32(static_cast<int32_t>(d));
        }
        case BSON_TYPE_INT64: {
          MS_ASSIGN_OR_RETURN(int64_t v, double_to_long(d));
          return Value::int64(v);
        }
        case BSON_TYPE_DECIMAL128:
          return Value::decimal(num_to_decimal(r));
        default:
          return unsupported();
      }
    }
    case BSON_TYPE_UTF8:
      switch (to) {
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_INT32:
        case BSON_TYPE_INT64:
        case BSON_TYPE_DECIMAL128:
          return parse_number(in.as_string(), to);
        case BSON_TYPE_UTF8:
          return in;
        case BSON_TYPE_OID:
          return string_to_oid(in.as_string());
        case BSON_TYPE_DATE_TIME: {
          MS_ASSIGN_OR_RETURN(int64_t ms, datetime::from_string(in.as_string(), datetime::TimeZone::utc(), false,
                                                                std::nullopt));
          return Value::date(ms);
        }
        default:
          return unsupported();
      }
    case BSON_TYPE_OID:
      switch (to) {
        case BSON_TYPE_UTF8: {
          char buf[25];
          bson_oid_to_string(&r.value.v_oid, buf);
          return Value::string(buf);
        }
        case BSON_TYPE_OID:
          return in;
        case BSON_TYPE_DATE_TIME:
          return Value::date(static_cast<int64_t>(bson_oid_get_time_t(&r.value.v_oid)) * 1000);
        default:
          return unsupported();
      }
    case BSON_TYPE_BOOL: {
      bool b = r.value.v_bool;
      switch (to) {
        case BSON_TYPE_DOUBLE:
          return Value::dbl(b ? 1.0 : 0.0);
        case BSON_TYPE_UTF8:
          return Value::string(b ? "true" : "false");
        case BSON_TYPE_INT32:
          return Value::int32(b ? 1 : 0);
        case BSON_TYPE_INT64:
          return Value::int64(b ? 1 : 0);
        case BSON_TYPE_DECIMAL128:
          return Value::decimal(dec::from_int64(b ? 1 : 0));
        default:
          return unsupported();
      }
    }
    case BSON_TYPE_DATE_TIME: {
      int64_t ms = r.value.v_datetime;
      switch (to) {
        case BSON_TYPE_DOUBLE:
          return Value::dbl(static_cast<double>(ms));
        case BSON_TYPE_UTF8: {
          MS_ASSIGN_OR_RETURN(std::string s, datetime::format(datetime::kIsoFormat, ms, datetime::TimeZone::utc()));
          return Value::string(s);
        }
        case BSON_TYPE_DATE_TIME:
          return in;
        case BSON_TYPE_INT64:
          return Value::int64(ms);
        case BSON_TYPE_DECIMAL128:
          return Value::decimal(dec::from_int64(ms));
        default:
          return unsupported();
      }
    }
    case BSON_TYPE_TIMESTAMP:
      if (to == BSON_TYPE_DATE_TIME) return Value::date(static_cast<int64_t>(r.value.v_timestamp.timestamp) * 1000);
      return unsupported();
    case BSON_TYPE_INT32:
      switch (to) {
        case BSON_TYPE_DOUBLE:
          return Value::dbl(r.value.v_int32);
        case BSON_TYPE_UTF8:
          return Value::string(std::to_string(r.value.v_int32));
        case BSON_TYPE_INT32:
          return in;
        case BSON_TYPE_INT64:
          return Value::int64(r.value.v_int32);
        case BSON_TYPE_DECIMAL128:
          return Value::decimal(dec::from_int64(r.value.v_int32));
        default:
          return unsupported();
      }
    case BSON_TYPE_INT64: {
      int64_t v = r.value.v_int64;
      switch (to) {
        case BSON_TYPE_DOUBLE:
          return Value::dbl(static_cast<double>(v));
        case BSON_TYPE_UTF8:
          return Value::string(std::to_string(v));
        case BSON_TYPE_DATE_TIME:
          return Value::date(v);
        case BSON_TYPE_INT32:
          if (v < INT32_MIN || v > INT32_MAX) {
            // The server's message ends after the colon here.
            return conv_fail("Conversion would overflow target type in $convert with no onError value: ");
          }
          return Value::int32(static_cast<int32_t>(v));
        case BSON_TYPE_INT64:
          return in;
        case BSON_TYPE_DECIMAL128:
          return Value::decimal(dec::from_int64(v));
        default:
          return unsupported();
      }
    }
    case BSON_TYPE_DECIMAL128: {
      const dec::D& d = r.value.v_decimal128;
      switch (to) {
        case BSON_TYPE_DOUBLE: {
          double x = dec::to_double(d);
          if (std::isinf(x) && !dec::is_inf(d)) {
            return conv_fail("Conversion would overflow target type in $convert with no onError value: " + dec::to_string(d));
          }
          return Value::dbl(x);
        }
        case BSON_TYPE_UTF8:
          return Value::string(dec::to_string(d));
        case BSON_TYPE_DATE_TIME: {
          MS_ASSIGN_OR_RETURN(int64_t ms, decimal_to_int(d, false));
          return Value::date(ms);
        }
        case BSON_TYPE_INT32: {
          MS_ASSIGN_OR_RETURN(int64_t v, decimal_to_int(d, true));
          return Value::int32(static_cast<int32_t>(v));
        }
        case BSON_TYPE_INT64: {
          MS_ASSIGN_OR_RETURN(int64_t v, decimal_to_int(d, false));
          return Value::int64(v);
        }
        case BSON_TYPE_DECIMAL128:
          return in;
        default:
          return unsupported();
      }
    }
    default:
      (void)c;
      return unsupported();
  }
}

// kids: input, to, onError, onNull
Result<Value> convert_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value to, c.eval(*n.kids[1]));
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  std::optional<bson_type_t> target;
  if (!to.nullish()) {
    MS_ASSIGN_OR_RETURN(target, target_type(to));
  }
  if (input.nullish()) {
    if (n.kids[3]) return c.eval(*n.kids[3]);
    return Value::null();
  }
  if (!target) return Value::null();
  auto r = perform_conversion(*target, input, c);
  if (!r.ok() && r.status().code() == kConversionFailure && n.kids[2]) return c.eval(*n.kids[2]);
  return r;
}

Result<ExprPtr> parse_convert(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(common::kFailedToParse, "$convert expects an object of named arguments but found: " +
                                           std::string(type_name(bson_iter_type(arg))));
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"input", "to", "onError", "onNull"}, common::kFailedToParse, "",
                                                       common::kFailedToParse, "$convert found an unknown argument: "}));
  if (!kids[0]) return err(common::kFailedToParse, "Missing 'input' parameter to $convert");
  if (!kids[1]) return err(common::kFailedToParse, "Missing 'to' parameter to $convert");
  return make_lazy(op, std::move(kids), convert_fn);
}

template <bson_type_t kTo>
Result<ExprPtr> parse_to(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  MS_ASSIGN_OR_RETURN(auto args, parse_args(op, arg, sc, 0, -1));
  if (args.size() != 1) {
    return err(50723, std::string(op) + " requires a single argument, got " + std::to_string(args.size()));
  }
  std::vector<ExprPtr> kids(4);
  kids[0] = std::move(args[0]);
  kids[1] = ExprPtr(new ConstantNode(Value::string(type_name(kTo))));
  return make_lazy("$convert", std::move(kids), convert_fn);
}

Result<Value> type_fn(std::vector<Value>& a, const Call&) { return Value::string(type_name(a[0])); }
Result<Value> is_number_fn(std::vector<Value>& a, const Call&) { return Value::boolean(a[0].is_number()); }

}  // namespace

std::vector<OpDef> type_ops() {
  return {
      {"$convert", 0, parse_convert},
      {"$toBool", 0, parse_to<BSON_TYPE_BOOL>},
      {"$toDate", 0, parse_to<BSON_TYPE_DATE_TIME>},
      {"$toDecimal", 0, parse_to<BSON_TYPE_DECIMAL128>},
      {"$toDouble", 0, parse_to<BSON_TYPE_DOUBLE>},
      {"$toInt", 0, parse_to<BSON_TYPE_INT32>},
      {"$toLong", 0, parse_to<BSON_TYPE_INT64>},
      {"$toObjectId", 0, parse_to<BSON_TYPE_OID>},
      {"$toString", 0, parse_to<BSON_TYPE_UTF8>},
      {"$type", 0, nary<1, 1, type_fn>},
      {"$isNumber", 44, nary<1, 1, is_number_fn>},
  };
}

}  // namespace mql::expr
