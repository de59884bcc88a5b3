// Calendar and time-zone support for date expressions (the server's date_time_support over
// timelib, here over ICU): time zones by Olson name or UTC offset, local date parts, ISO weeks,
// $dateToString formatting, date-string parsing, and $dateAdd/$dateDiff/$dateTrunc arithmetic.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <unicode/uversion.h>

#include "common/status.h"

U_NAMESPACE_BEGIN
class TimeZone;
U_NAMESPACE_END

namespace mql::datetime {

class TimeZone {
 public:
  static TimeZone utc();
  // An Olson identifier ("America/New_York", "UTC") or a UTC offset ("+05:30", "-0800",
  // "+03"). Unknown → 40485 "unrecognized time zone identifier: \"...\"".
  static common::Result<TimeZone> parse(std::string_view id);
  static TimeZone fixed(int64_t offset_ms);

  // Offset from UTC in effect at the instant.
  int64_t offset_ms(int64_t utc_ms) const;
  // Local wall-clock milliseconds (as if UTC) → the UTC instant; a skipped or repeated local
  // time uses the offset in effect before the transition.
  int64_t to_utc(int64_t local_ms) const;
  int64_t to_local(int64_t utc_ms) const;  // saturating at the int64 range

 private:
  std::shared_ptr<const icu::TimeZone> zone_;  // null: fixed offset
  int64_t fixed_ms_ = 0;
};

struct Parts {
  int64_t year;
  int month, day, hour, minute, second, millisecond;
  int day_of_week;  // 1 = Sunday .. 7 = Saturday
  int day_of_year;  // 1 .. 366
};
struct IsoParts {
  int64_t year;
  int week;         // 1 .. 53
  int day_of_week;  // 1 = Monday .. 7 = Sunday
};

int64_t days_from_civil(int64_t y, int64_t m, int64_t d);  // proleptic Gregorian, m/d may overflow
void civil_from_days(int64_t days, int64_t* y, int* m, int* d);
int64_t floor_div(int64_t a, int64_t b);

Parts parts(int64_t utc_ms, const TimeZone& tz);
IsoParts iso_parts(int64_t utc_ms, const TimeZone& tz);
// Week of the year with weeks starting on Sunday (0 .. 53), as $week and %U.
int week(int64_t utc_ms, const TimeZone& tz);

// Local date parts → UTC (month/day/hour/... outside their ranges carry over, as timelib).
int64_t from_parts(const TimeZone& tz, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute,
                   int64_t second, int64_t millisecond);
int64_t from_iso_parts(const TimeZone& tz, int64_t iso_year, int64_t iso_week, int64_t iso_day, int64_t hour,
                       int64_t minute, int64_t second, int64_t millisecond);

// $dateToString formats: 18535 trailing '%', 18536 unknown specifier. %b/%B from 7.0.
common::Status validate_format(std::string_view fmt, int version);
// Formats; 18537 when %Y/%G need a year outside 0..9999.
common::Result<std::string> format(std::string_view fmt, int64_t utc_ms, const TimeZone& tz);
constexpr std::string_view kIsoFormat = "%Y-%m-%dT%H:%M:%S.%LZ";

// $dateFromString / $toDate parsing (ConversionFailure on bad input). Without `fmt`, ISO 8601
// forms and a few common spellings; a string carrying its own offset together with `tz`
// (explicit=true) is an error, as the server's.
common::Status validate_parse_format(std::string_view fmt);
common::Result<int64_t> from_string(std::string_view s, const TimeZone& tz, bool tz_explicit,
                                    std::optional<std::string_view> fmt);

enum class Unit { kYear, kQuarter, kMonth, kWeek, kDay, kHour, kMinute, kSecond, kMillisecond };
std::optional<Unit> parse_unit(std::string_view s);
// Day of week names ("monday", "mon", case-insensitive) → 1 = Monday .. 7 = Sunday.
std::optional<int> parse_day_of_week(std::string_view s);

common::Result<int64_t> date_add(int64_t utc_ms, Unit unit, int64_t amount, const TimeZone& tz);
int64_t date_diff(int64_t start, int64_t end, Unit unit, const TimeZone& tz, int start_of_week);
common::Result<int64_t> date_trunc(int64_t utc_ms, Unit unit, int64_t bin_size, const TimeZone& tz, int start_of_week);

}  // namespace mql::datetime
