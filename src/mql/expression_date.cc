// Date expression operators: date parts ($year ... $isoWeek), $dateToParts, $dateFromParts,
// $dateToString, $dateFromString, $dateAdd, $dateSubtract, $dateDiff and $dateTrunc, with time
// zones by Olson name or UTC offset.
#include <limits>

#include "mql/date_time.h"
#include "mql/expression_internal.h"

namespace mql::expr {

using datetime::TimeZone;

// The server's Value::coerceToDate.
Result<int64_t> coerce_to_date(const Value& v) {
  switch (v.type()) {
    case BSON_TYPE_DATE_TIME:
      return v.raw().value.v_datetime;
    case BSON_TYPE_TIMESTAMP:
      return static_cast<int64_t>(v.raw().value.v_timestamp.timestamp) * 1000;
    case BSON_TYPE_OID:
      return static_cast<int64_t>(bson_oid_get_time_t(&v.raw().value.v_oid)) * 1000;
    default:
      return err(16006, "can't convert from BSON type " + std::string(type_name(v)) + " to Date");
  }
}

bool coercible_to_date(const Value& v) {
  return v.type() == BSON_TYPE_DATE_TIME || v.type() == BSON_TYPE_TIMESTAMP || v.type() == BSON_TYPE_OID;
}

namespace {

// makeTimeZone: absent → UTC; nullish → nullopt (the result is null); 40517 / 40485.
Result<std::optional<TimeZone>> make_tz(const Expression* e, const Call& c) {
  if (!e) return std::optional<TimeZone>(TimeZone::utc());
  MS_ASSIGN_OR_RETURN(Value v, c.eval(*e));
  if (v.nullish()) return std::optional<TimeZone>();
  if (v.type() != BSON_TYPE_UTF8) return err(40517, "timezone must evaluate to a string, found " + std::string(type_name(v)));
  MS_ASSIGN_OR_RETURN(TimeZone tz, TimeZone::parse(v.as_string()));
  return std::optional<TimeZone>(tz);
}

Status with_context(const Status& s, std::string_view ctx) {
  return Status(s.code(), std::string(ctx) + " :: caused by :: " + s.message());
}

// ---- date parts ---------------------------------------------------------------------------

using PartFn = Value (*)(int64_t ms, const TimeZone& tz);

template <PartFn F>
Result<Value> date_part_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value date, c.eval(*n.kids[0]));
  if (date.nullish()) return Value::null();
  TimeZone tz = TimeZone::utc();
  if (n.kids[1]) {
    MS_ASSIGN_OR_RETURN(Value id, c.eval(*n.kids[1]));
    if (id.nullish()) return Value::null();
    if (id.type() != BSON_TYPE_UTF8) {
      return err(40533, std::string(c.op) + " requires a string for the timezone argument, but was given a " +
                            std::string(type_name(id)) + " (" + value_string(id) + ")");
    }
    MS_ASSIGN_OR_RETURN(tz, TimeZone::parse(id.as_string()));
  }
  MS_ASSIGN_OR_RETURN(int64_t ms, coerce_to_date(date));
  return F(ms, tz);
}

template <PartFn F>
Result<ExprPtr> parse_date_part(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  std::vector<ExprPtr> kids(2);
  bson_iter_t single;
  const bson_iter_t* operand = arg;
  if (bson_iter_type(arg) == BSON_TYPE_DOCUMENT) {
    bson_t doc;
    sub_doc(arg, &doc);
    bson_iter_t it;
    if (bson_iter_init(&it, &doc) && bson_iter_next(&it) && bson_iter_key(&it)[0] != '$') {
      MS_ASSIGN_OR_RETURN(kids, parse_named(arg, sc, {{"date", "timezone"}, 40535, "", 40535,
                                                      "unrecognized option to " + std::string(op) + ": \"", "\""}));
      if (!kids[0]) {
        return err(40539, "missing 'date' argument to " + std::string(op) + ", provided: " + std::string(op) + ": " +
                              value_string(Value::from_iter(arg)));
      }
      return make_lazy(op, std::move(kids), date_part_fn<F>);
    }
  } else if (bson_iter_type(arg) == BSON_TYPE_ARRAY) {
    bson_t arr;
    sub_doc(arg, &arr);
    uint32_t count = bson_count_keys(&arr);
    if (count != 1) {
      return err(40536, std::string(op) + " accepts exactly one argument if given an array, but was given " +
                            std::to_string(count));
    }
    bson_iter_init(&single, &arr);
    bson_iter_next(&single);
    operand = &single;
  }
  MS_ASSIGN_OR_RETURN(kids[0], parse_operand(operand, sc));
  return make_lazy(op, std::move(kids), date_part_fn<F>);
}

Value year_of(int64_t ms, const TimeZone& tz) { return Value::int32(static_cast<int32_t>(datetime::parts(ms, tz).year)); }
Value month_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).month); }
Value day_of_month_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).day); }
Value hour_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).hour); }
Value minute_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).minute); }
Value second_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).second); }
Value millisecond_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).millisecond); }
Value day_of_year_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).day_of_year); }
Value day_of_week_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::parts(ms, tz).day_of_week); }
Value week_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::week(ms, tz)); }
Value iso_week_year_of(int64_t ms, const TimeZone& tz) {
  return Value::int32(static_cast<int32_t>(datetime::iso_parts(ms, tz).year));
}
Value iso_week_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::iso_parts(ms, tz).week); }
Value iso_day_of_week_of(int64_t ms, const TimeZone& tz) { return Value::int32(datetime::iso_parts(ms, tz).day_of_week); }

// ---- $dateToParts / $dateFromParts --------------------------------------------------------

Result<Value> date_to_parts_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value date, c.eval(*n.kids[0]));
  MS_ASSIGN_OR_RETURN(auto tz, make_tz(n.kids[1].get(), c));
  if (!tz) return Value::null();
  bool iso = false;
  if (n.kids[2]) {
    MS_ASSIGN_OR_RETURN(Value f, c.eval(*n.kids[2]));
    if (f.nullish()) return Value::null();
    if (f.type() != BSON_TYPE_BOOL) return err(40521, "iso8601 must evaluate to a bool, found " + std::string(type_name(f)));
    iso = f.raw().value.v_bool;
  }
  if (date.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(int64_t ms, coerce_to_date(date));
  datetime::Parts p = datetime::parts(ms, *tz);
  std::vector<std::pair<std::string, Value>> out;
  if (iso) {
    datetime::IsoParts ip = datetime::iso_parts(ms, *tz);
    out = {{"isoWeekYear", Value::int32(static_cast<int32_t>(ip.year))},
           {"isoWeek", Value::int32(ip.week)},
           {"isoDayOfWeek", Value::int32(ip.day_of_week)}};
  } else {
    out = {{"year", Value::int32(static_cast<int32_t>(p.year))}, {"month", Value::int32(p.month)}, {"day", Value::int32(p.day)}};
  }
  out.emplace_back("hour", Value::int32(p.hour));
  out.emplace_back("minute", Value::int32(p.minute));
  out.emplace_back("second", Value::int32(p.second));
  out.emplace_back("millisecond", Value::int32(p.millisecond));
  return make_doc(out);
}

// kids: year month day hour minute second millisecond isoWeekYear isoWeek isoDayOfWeek timezone
enum { kYear, kMonth, kDay, kHour, kMinute, kSecond, kMs, kIsoYear, kIsoWeek, kIsoDay, kTz };

// evaluateNumberWithDefault(AndBounds): nullopt result = the value was nullish.
Result<std::optional<int64_t>> part_value(const OpNode& n, size_t i, std::string_view name, int64_t def, bool bounded,
                                          const Call& c) {
  if (!n.kids[i]) return std::optional<int64_t>(def);
  MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[i]));
  if (v.nullish()) return std::optional<int64_t>();
  auto iv = as_integral(v);
  if (!iv) {
    return err(40515, "'" + std::string(name) + "' must evaluate to an integer, found " + std::string(type_name(v)) +
                          " with value " + value_string(v));
  }
  if (bounded && (*iv < -32768 || *iv > 32767)) {
    return err(31034, "'" + std::string(name) + "' must evaluate to a value in the range [-32768, 32767]; value " +
                          std::to_string(*iv) + " is not in range");
  }
  return std::optional<int64_t>(*iv);
}

Result<Value> date_from_parts_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(auto hour, part_value(n, kHour, "hour", 0, true, c));
  if (!hour) return Value::null();
  MS_ASSIGN_OR_RETURN(auto minute, part_value(n, kMinute, "minute", 0, true, c));
  if (!minute) return Value::null();
  MS_ASSIGN_OR_RETURN(auto second, part_value(n, kSecond, "second", 0, false, c));
  if (!second) return Value::null();
  MS_ASSIGN_OR_RETURN(auto ms, part_value(n, kMs, "millisecond", 0, false, c));
  if (!ms) return Value::null();
  MS_ASSIGN_OR_RETURN(auto tz, make_tz(n.kids[kTz].get(), c));
  if (!tz) return Value::null();
  if (n.kids[kYear]) {
    MS_ASSIGN_OR_RETURN(auto year, part_value(n, kYear, "year", 1970, false, c));
    if (!year) return Value::null();
    MS_ASSIGN_OR_RETURN(auto month, part_value(n, kMonth, "month", 1, true, c));
    if (!month) return Value::null();
    MS_ASSIGN_OR_RETURN(auto day, part_value(n, kDay, "day", 1, true, c));
    if (!day) return Value::null();
    if (*year < 1 || *year > 9999) {
      return err(40523, "'year' must evaluate to an integer in the range 1 to 9999, found " + std::to_string(*year));
    }
    return Value::date(datetime::from_parts(*tz, *year, *month, *day, *hour, *minute, *second, *ms));
  }
  MS_ASSIGN_OR_RETURN(auto iy, part_value(n, kIsoYear, "isoWeekYear", 1970, false, c));
  if (!iy) return Value::null();
  MS_ASSIGN_OR_RETURN(auto iw, part_value(n, kIsoWeek, "isoWeek", 1, true, c));
  if (!iw) return Value::null();
  MS_ASSIGN_OR_RETURN(auto id, part_value(n, kIsoDay, "isoDayOfWeek", 1, true, c));
  if (!id) return Value::null();
  if (*iy < 1 || *iy > 9999) {
    return err(31095, "'isoWeekYear' must evaluate to an integer in the range 1 to 9999, found " + std::to_string(*iy));
  }
  return Value::date(datetime::from_iso_parts(*tz, *iy, *iw, *id, *hour, *minute, *second, *ms));
}

Result<ExprPtr> parse_date_from_parts(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(40519, "$dateFromParts only supports an object as its argument");
  static const char* const kFields[] = {"year",        "month",   "day",          "hour",     "minute", "second",
                                        "millisecond", "isoWeekYear", "isoWeek", "isoDayOfWeek", "timezone"};
  bson_t doc;
  sub_doc(arg, &doc);
  std::vector<ExprPtr> kids(11);
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    auto f = std::find(std::begin(kFields), std::end(kFields), k);
    if (f == std::end(kFields)) return err(40518, "Unrecognized argument to $dateFromParts: " + k);
    MS_ASSIGN_OR_RETURN(kids[static_cast<size_t>(f - std::begin(kFields))], parse_operand(&it, sc));
  }
  if (!kids[kYear] && !kids[kIsoYear]) return err(40516, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present");
  if (kids[kYear] && (kids[kIsoYear] || kids[kIsoWeek] || kids[kIsoDay])) {
    return err(40489, "$dateFromParts does not allow mixing natural dates with ISO dates");
  }
  if (kids[kIsoYear] && (kids[kYear] || kids[kMonth] || kids[kDay])) {
    return err(40525, "$dateFromParts does not allow mixing ISO dates with natural dates");
  }
  return make_lazy(op, std::move(kids), date_from_parts_fn);
}

// ---- $dateToString / $dateFromString ------------------------------------------------------

// kids: date, format, timezone, onNull
Result<Value> date_to_string_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value date, c.eval(*n.kids[0]));
  Value fmt;
  if (n.kids[1]) {
    MS_ASSIGN_OR_RETURN(fmt, c.eval(*n.kids[1]));
    if (!fmt.nullish()) {
      if (fmt.type() != BSON_TYPE_UTF8) {
        return err(18533, "$dateToString requires that 'format' be a string, found: " + std::string(type_name(fmt)) +
                              " with value " + value_string(fmt));
      }
      MS_RETURN_IF_ERROR(datetime::validate_format(fmt.as_string(), c.ctx().version));
    }
  }
  MS_ASSIGN_OR_RETURN(auto tz, make_tz(n.kids[2].get(), c));
  if (date.nullish()) {
    if (n.kids[3]) return c.eval(*n.kids[3]);
    return Value::null();
  }
  if (!tz) return Value::null();
  if (n.kids[1] && fmt.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(int64_t ms, coerce_to_date(date));
  MS_ASSIGN_OR_RETURN(std::string s, datetime::format(n.kids[1] ? fmt.as_string() : datetime::kIsoFormat, ms, *tz));
  return Value::string(s);
}

Result<ExprPtr> parse_date_to_string(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(18629, "$dateToString only supports an object as its argument");
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"date", "format", "timezone", "onNull"}, 18629, "", 18534,
                                                       "Unrecognized argument to $dateToString: "}));
  if (!kids[0]) return err(18628, "Missing 'date' parameter to $dateToString");
  return make_lazy(op, std::move(kids), date_to_string_fn);
}

// kids: dateString, timezone, format, onNull, onError
Result<Value> date_from_string_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value ds, c.eval(*n.kids[0]));
  Value fmt;
  if (n.kids[2]) {
    MS_ASSIGN_OR_RETURN(fmt, c.eval(*n.kids[2]));
    if (!fmt.nullish()) {
      if (fmt.type() != BSON_TYPE_UTF8) {
        return err(40684, "$dateFromString requires that 'format' be a string, found: " + std::string(type_name(fmt)) +
                              " with value " + value_string(fmt));
      }
      MS_RETURN_IF_ERROR(datetime::validate_parse_format(fmt.as_string()));
    }
  }
  MS_ASSIGN_OR_RETURN(auto tz, make_tz(n.kids[1].get(), c));
  if (ds.nullish()) {
    if (n.kids[3]) return c.eval(*n.kids[3]);
    return Value::null();
  }
  Result<Value> r = [&]() -> Result<Value> {
    if (ds.type() != BSON_TYPE_UTF8) {
      return err(241, "$dateFromString requires that 'dateString' be a string, found: " + std::string(type_name(ds)) +
                          " with value " + value_string(ds));
    }
    if (!tz) return Value::null();
    if (n.kids[2] && fmt.nullish()) return Value::null();
    std::optional<std::string_view> f;
    if (n.kids[2]) f = fmt.as_string();
    MS_ASSIGN_OR_RETURN(int64_t ms, datetime::from_string(ds.as_string(), *tz, n.kids[1] != nullptr, f));
    return Value::date(ms);
  }();
  if (!r.ok() && r.status().code() == 241 && n.kids[4]) return c.eval(*n.kids[4]);
  return r;
}

Result<ExprPtr> parse_date_from_string(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(40540, "$dateFromString only supports an object as an argument, found: " +
                          std::string(type_name(bson_iter_type(arg))));
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"dateString", "timezone", "format", "onNull", "onError"}, 40540, "",
                                                       40541, "Unrecognized argument to $dateFromString: "}));
  if (!kids[0]) return err(40542, "Missing 'dateString' parameter to $dateFromString");
  return make_lazy(op, std::move(kids), date_from_string_fn);
}

// ---- $dateAdd / $dateSubtract -------------------------------------------------------------

Result<datetime::Unit> unit_of(const Value& v, std::string_view op) {
  if (v.type() != BSON_TYPE_UTF8) {
    return err(5439013, std::string(op) + " requires 'unit' to be a string, but got " + std::string(type_name(v)));
  }
  auto u = datetime::parse_unit(v.as_string());
  if (!u) {
    return err(5439014, std::string(op) + " parameter 'unit' value cannot be recognized as a time unit: " +
                            std::string(v.as_string()));
  }
  return *u;
}

// kids: startDate, unit, amount, timezone
template <bool kSubtract>
Result<Value> date_arith_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value start, c.eval(*n.kids[0]));
  if (start.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(Value unit, c.eval(*n.kids[1]));
  if (unit.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(Value amount, c.eval(*n.kids[2]));
  if (amount.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(auto tz, make_tz(n.kids[3].get(), c));
  if (!tz) return Value::null();
  std::string op(c.op);
  if (!coercible_to_date(start)) return err(5166403, op + " requires startDate to be convertible to a date");
  if (unit.type() != BSON_TYPE_UTF8) return err(5166404, op + " expects string defining the time unit");
  auto u = datetime::parse_unit(unit.as_string());
  if (!u) return err(common::kFailedToParse, "unknown time unit value: " + std::string(unit.as_string()));
  auto a = as_integral(amount);
  if (!a) return err(5166405, op + " expects integer amount of time units");
  int64_t amt = *a;
  if (kSubtract) {
    if (amt == std::numeric_limits<int64_t>::min()) {
      return err(6045000, "invalid $dateSubtract 'amount' parameter value: " + std::to_string(amt));
    }
    amt = -amt;
  }
  MS_ASSIGN_OR_RETURN(int64_t ms, coerce_to_date(start));
  MS_ASSIGN_OR_RETURN(int64_t r, datetime::date_add(ms, *u, amt, *tz));
  return Value::date(r);
}

template <bool kSubtract>
Result<ExprPtr> parse_date_arith(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  std::string o(op);
  MS_ASSIGN_OR_RETURN(auto kids,
                      parse_named(arg, sc, {{"startDate", "unit", "amount", "timezone"}, 5166400,
                                            o + " expects an object as its argument", 5166401,
                                            "Unrecognized argument to " + o + ": "}));
  if (!kids[0] || !kids[1] || !kids[2]) return err(5166402, o + " requires startDate, unit, and amount to be present");
  return make_lazy(op, std::move(kids), date_arith_fn<kSubtract>);
}

// ---- $dateDiff / $dateTrunc ---------------------------------------------------------------

Result<int> start_of_week(const OpNode& n, size_t i, const Value& unit, const Call& c, bool* null_result) {
  *null_result = false;
  bool active = n.kids[i] && unit.type() == BSON_TYPE_UTF8 && unit.as_string() == "week";
  if (!active) return 7;  // Sunday
  MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[i]));
  if (v.nullish()) {
    *null_result = true;
    return 7;
  }
  if (v.type() != BSON_TYPE_UTF8) {
    return err(5439015, std::string(c.op) + " requires 'startOfWeek' to be a string, but got " + std::string(type_name(v)));
  }
  auto d = datetime::parse_day_of_week(v.as_string());
  if (!d) {
    return err(5439016, std::string(c.op) + " parameter 'startOfWeek' value cannot be recognized as a day of a week: " +
                            std::string(v.as_string()));
  }
  return *d;
}

// kids: startDate, endDate, unit, timezone, startOfWeek
Result<Value> date_diff_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value start, c.eval(*n.kids[0]));
  if (start.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(Value end, c.eval(*n.kids[1]));
  if (end.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(Value unit, c.eval(*n.kids[2]));
  if (unit.nullish()) return Value::null();
  bool null_sow;
  MS_ASSIGN_OR_RETURN(int sow, start_of_week(n, 4, unit, c, &null_sow));
  if (null_sow) return Value::null();
  auto tz = make_tz(n.kids[3].get(), c);
  if (!tz.ok()) return with_context(tz.status(), "$dateDiff parameter 'timezone' value parsing failed");
  if (!*tz) return Value::null();
  for (auto [v, name] : {std::pair<const Value*, const char*>{&start, "startDate"}, {&end, "endDate"}}) {
    if (!coercible_to_date(*v)) {
      return err(5166307, std::string("$dateDiff requires '") + name + "' to be a date, but got " +
                              std::string(type_name(*v)));
    }
  }
  MS_ASSIGN_OR_RETURN(datetime::Unit u, unit_of(unit, "$dateDiff"));
  MS_ASSIGN_OR_RETURN(int64_t s, coerce_to_date(start));
  MS_ASSIGN_OR_RETURN(int64_t e, coerce_to_date(end));
  return Value::int64(datetime::date_diff(s, e, u, **tz, sow));
}

Result<ExprPtr> parse_date_diff(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"startDate", "endDate", "unit", "timezone", "startOfWeek"}, 5166301,
                                                       "$dateDiff only supports an object as its argument", 5166302,
                                                       "Unrecognized argument to $dateDiff: "}));
  if (!kids[0]) return err(5166303, "Missing 'startDate' parameter to $dateDiff");
  if (!kids[1]) return err(5166304, "Missing 'endDate' parameter to $dateDiff");
  if (!kids[2]) return err(5166305, "Missing 'unit' parameter to $dateDiff");
  return make_lazy(op, std::move(kids), date_diff_fn);
}

// kids: date, unit, binSize, timezone, startOfWeek
Result<Value> date_trunc_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value date, c.eval(*n.kids[0]));
  if (date.nullish()) return Value::null();
  MS_ASSIGN_OR_RETURN(Value unit, c.eval(*n.kids[1]));
  if (unit.nullish()) return Value::null();
  Value bin;
  if (n.kids[2]) {
    MS_ASSIGN_OR_RETURN(bin, c.eval(*n.kids[2]));
    if (bin.nullish()) return Value::null();
  }
  bool null_sow;
  MS_ASSIGN_OR_RETURN(int sow, start_of_week(n, 4, unit, c, &null_sow));
  if (null_sow) return Value::null();
  auto tz = make_tz(n.kids[3].get(), c);
  if (!tz.ok()) return with_context(tz.status(), "$dateTrunc parameter 'timezone' value parsing failed");
  if (!*tz) return Value::null();
  if (!coercible_to_date(date)) {
    return err(5439012, "$dateTrunc requires 'date' to be a date, but got " + std::string(type_name(date)));
  }
  MS_ASSIGN_OR_RETURN(datetime::Unit u, unit_of(unit, "$dateTrunc"));
  int64_t bin_size = 1;
  if (n.kids[2]) {
    auto b = as_integral(bin);
    if (!b) {
      return err(5439017, "$dateTrunc requires 'binSize' to be a 64-bit integer, but got value '" + value_string(bin) +
                              "' of type " + std::string(type_name(bin)));
    }
    if (*b <= 0) return err(5439018, "$dateTrunc requires 'binSize' to be greater than 0, but got value " + std::to_string(*b));
    bin_size = *b;
  }
  MS_ASSIGN_OR_RETURN(int64_t ms, coerce_to_date(date));
  MS_ASSIGN_OR_RETURN(int64_t r, datetime::date_trunc(ms, u, bin_size, **tz, sow));
  return Value::date(r);
}

Result<ExprPtr> parse_date_trunc(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(5439007, "$dateTrunc only supports an object as its argument");
  bson_t doc;
  sub_doc(arg, &doc);
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k != "date" && k != "unit" && k != "binSize" && k != "timezone" && k != "startOfWeek") {
      return err(5439008, "Unrecognized argument to $dateTrunc: " + k +
                              ". Expected arguments are date, unit, and optionally, binSize, timezone, startOfWeek");
    }
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"date", "unit", "binSize", "timezone", "startOfWeek"}, 5439007, "",
                                                       5439008, ""}));
  if (!kids[0]) return err(5439009, "Missing 'date' parameter to $dateTrunc");
  if (!kids[1]) return err(5439010, "Missing 'unit' parameter to $dateTrunc");
  return make_lazy(op, std::move(kids), date_trunc_fn);
}

Result<ExprPtr> parse_date_to_parts(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(40524, "$dateToParts only supports an object as its argument");
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"date", "timezone", "iso8601"}, 40524, "", 40520,
                                                       "Unrecognized argument to $dateToParts: "}));
  if (!kids[0]) return err(40522, "Missing 'date' parameter to $dateToParts");
  return make_lazy(op, std::move(kids), date_to_parts_fn);
}

}  // namespace

std::vector<OpDef> date_ops() {
  return {
      {"$year", 0, parse_date_part<year_of>},
      {"$month", 0, parse_date_part<month_of>},
      {"$dayOfMonth", 0, parse_date_part<day_of_month_of>},
      {"$hour", 0, parse_date_part<hour_of>},
      {"$minute", 0, parse_date_part<minute_of>},
      {"$second", 0, parse_date_part<second_of>},
      {"$millisecond", 0, parse_date_part<millisecond_of>},
      {"$dayOfYear", 0, parse_date_part<day_of_year_of>},
      {"$dayOfWeek", 0, parse_date_part<day_of_week_of>},
      {"$week", 0, parse_date_part<week_of>},
      {"$isoWeekYear", 0, parse_date_part<iso_week_year_of>},
      {"$isoWeek", 0, parse_date_part<iso_week_of>},
      {"$isoDayOfWeek", 0, parse_date_part<iso_day_of_week_of>},
      {"$dateToParts", 0, parse_date_to_parts},
      {"$dateFromParts", 0, parse_date_from_parts},
      {"$dateToString", 0, parse_date_to_string},
      {"$dateFromString", 0, parse_date_from_string},
      {"$dateAdd", 50, parse_date_arith<false>},
      {"$dateSubtract", 50, parse_date_arith<true>},
      {"$dateDiff", 50, parse_date_diff},
      {"$dateTrunc", 50, parse_date_trunc},
  };
}

}  // namespace mql::expr
