// Date support over ICU time zones and proleptic-Gregorian civil arithmetic (Howard Hinnant's
// days-from-civil), following the server's date_time_support.cpp semantics.
#include "mql/date_time.h"

#include <unicode/basictz.h>
#include <unicode/timezone.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cstdio>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace mql::datetime {

using common::Result;
using common::Status;

namespace {

constexpr int64_t kMsPerDay = 86400000;
constexpr int kConversionFailure = 241;

const char* const kMonthShort[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
const char* const kMonthLong[] = {"January", "February", "March",     "April",   "May",      "June",
                                  "July",    "August",   "September", "October", "November", "December"};

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int64_t y, int m) {
  static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k[m - 1];
}

// Parses "+hh", "+hhmm", "+hh:mm" (and '-'); nullopt when not an offset.
std::optional<int64_t> parse_offset(std::string_view s) {
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  auto dig = [](char c) { return c >= '0' && c <= '9'; };
  std::string_view r = s.substr(1);
  int h = 0, m = 0;
  if (r.size() == 2 && dig(r[0]) && dig(r[1])) {
    h = (r[0] - '0') * 10 + (r[1] - '0');
  } else if (r.size() == 4 && dig(r[0]) && dig(r[1]) && dig(r[2]) && dig(r[3])) {
    h = (r[0] - '0') * 10 + (r[1] - '0');
    m = (r[2] - '0') * 10 + (r[3] - '0');
  } else if (r.size() == 5 && dig(r[0]) && dig(r[1]) && r[2] == ':' && dig(r[3]) && dig(r[4])) {
    h = (r[0] - '0') * 10 + (r[1] - '0');
    m = (r[3] - '0') * 10 + (r[4] - '0');
  } else {
    return std::nullopt;
  }
  int64_t off = (static_cast<int64_t>(h) * 60 + m) * 60000;
  return s[0] == '-' ? -off : off;
}

std::shared_ptr<const icu::TimeZone> find_zone(const std::string& id) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const icu::TimeZone>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(id);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const icu::TimeZone> z;
  icu::UnicodeString uid = icu::UnicodeString::fromUTF8(id);
  // Only identifiers of the tz database (ICU also knows legacy aliases such as "PST").
  UErrorCode st = U_ZERO_ERROR;
  icu::UnicodeString canon;
  UBool is_system = false;
  icu::TimeZone::getCanonicalID(uid, canon, is_system, st);
  bool three_letter_alias = id.size() == 3 && id != "UTC" && id != "GMT" && id != "EST" && id != "MST" && id != "HST";
  if (U_SUCCESS(st) && is_system && !three_letter_alias) {
    z.reset(icu::TimeZone::createTimeZone(uid));
  }
  cache.emplace(id, z);
  return z;
}

}  // namespace

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  // Normalise the month first so callers may pass overflowing months.
  y += floor_div(m - 1, 12);
  m = m - 12 * floor_div(m - 1, 12);
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t mp = (m + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468 + (d - 1);
}

void civil_from_days(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

// ---- TimeZone -----------------------------------------------------------------------------

TimeZone TimeZone::utc() { return TimeZone(); }

TimeZone TimeZone::fixed(int64_t offset_ms) {
  TimeZone t;
  t.fixed_ms_ = offset_ms;
  return t;
}

Result<TimeZone> TimeZone::parse(std::string_view id) {
  if (auto off = parse_offset(id)) return fixed(*off);
  std::string s(id);
  if (s == "UTC" || s == "GMT" || s == "Etc/UTC" || s == "Etc/GMT" || s == "Z") return utc();
  auto z = s.find('\0') == std::string::npos ? find_zone(s) : nullptr;
  if (!z) return Status(40485, "unrecognized time zone identifier: \"" + s + "\"");
  TimeZone t;
  t.zone_ = std::move(z);
  return t;
}

int64_t TimeZone::offset_ms(int64_t utc_ms) const {
  if (!zone_) return fixed_ms_;
  int32_t raw = 0, dst = 0;
  UErrorCode st = U_ZERO_ERROR;
  zone_->getOffset(static_cast<UDate>(utc_ms), false, raw, dst, st);
  if (U_FAILURE(st)) return 0;
  return static_cast<int64_t>(raw) + dst;
}

namespace {
int64_t saturate(__int128 v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}
}  // namespace

int64_t TimeZone::to_local(int64_t utc_ms) const { return saturate(static_cast<__int128>(utc_ms) + offset_ms(utc_ms)); }

int64_t TimeZone::to_utc(int64_t local_ms) const {
  if (!zone_) return saturate(static_cast<__int128>(local_ms) - fixed_ms_);
  int32_t raw = 0, dst = 0;
  UErrorCode st = U_ZERO_ERROR;
  if (auto* btz = dynamic_cast<const icu::BasicTimeZone*>(zone_.get())) {
    btz->getOffsetFromLocal(static_cast<UDate>(local_ms), UCAL_TZ_LOCAL_FORMER, UCAL_TZ_LOCAL_FORMER, raw, dst, st);
  } else {
    zone_->getOffset(static_cast<UDate>(local_ms), true, raw, dst, st);
  }
  if (U_FAILURE(st)) return local_ms;
  return saturate(static_cast<__int128>(local_ms) - (static_cast<int64_t>(raw) + dst));
}

// ---- parts --------------------------------------------------------------------------------

Parts parts(int64_t utc_ms, const TimeZone& tz) {
  int64_t local = tz.to_local(utc_ms);
  int64_t days = floor_div(local, kMsPerDay);
  int64_t rem = local - days * kMsPerDay;
  Parts p;
  civil_from_days(days, &p.year, &p.month, &p.day);
  p.hour = static_cast<int>(rem / 3600000);
  p.minute = static_cast<int>(rem / 60000 % 60);
  p.second = static_cast<int>(rem / 1000 % 60);
  p.millisecond = static_cast<int>(rem % 1000);
  p.day_of_week = static_cast<int>(((days + 4) % 7 + 7) % 7) + 1;  // 1970-01-01 was a Thursday
  p.day_of_year = static_cast<int>(days - days_from_civil(p.year, 1, 1)) + 1;
  return p;
}

namespace {
// ISO week-numbering year, week and weekday of a local day number.
IsoParts iso_from_days(int64_t days) {
  int iso_dow = static_cast<int>(((days + 3) % 7 + 7) % 7) + 1;  // Monday = 1
  int64_t thursday = days - iso_dow + 4;
  int64_t y;
  int m, d;
  civil_from_days(thursday, &y, &m, &d);
  int64_t jan1 = days_from_civil(y, 1, 1);
  IsoParts r;
  r.year = y;
  r.week = static_cast<int>((thursday - jan1) / 7) + 1;
  r.day_of_week = iso_dow;
  return r;
}
}  // namespace

IsoParts iso_parts(int64_t utc_ms, const TimeZone& tz) {
  return iso_from_days(floor_div(tz.to_local(utc_ms), kMsPerDay));
}

int week(int64_t utc_ms, const TimeZone& tz) {
  Parts p = parts(utc_ms, tz);
  int prev_sunday = p.day_of_year - p.day_of_week;
  return (prev_sunday + 7) / 7;
}

int64_t from_parts(const TimeZone& tz, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute,
                   int64_t second, int64_t millisecond) {
  // Seconds and milliseconds are unbounded: compute wide and saturate rather than overflow.
  __int128 days = static_cast<__int128>(days_from_civil(year, month, 1)) + (day - 1);
  __int128 local = days * kMsPerDay + static_cast<__int128>(hour) * 3600000 + static_cast<__int128>(minute) * 60000 +
                   static_cast<__int128>(second) * 1000 + millisecond;
  return tz.to_utc(saturate(local));
}

int64_t from_iso_parts(const TimeZone& tz, int64_t iso_year, int64_t iso_week, int64_t iso_day, int64_t hour,
                       int64_t minute, int64_t second, int64_t millisecond) {
  // Monday of ISO week 1 is the Monday on or before January 4th.
  int64_t jan4 = days_from_civil(iso_year, 1, 4);
  int jan4_dow = static_cast<int>(((jan4 + 3) % 7 + 7) % 7) + 1;
  int64_t week1_monday = jan4 - (jan4_dow - 1);
  __int128 days = static_cast<__int128>(week1_monday) + (iso_week - 1) * 7 + (iso_day - 1);
  __int128 local = days * kMsPerDay + static_cast<__int128>(hour) * 3600000 + static_cast<__int128>(minute) * 60000 +
                   static_cast<__int128>(second) * 1000 + millisecond;
  return tz.to_utc(saturate(local));
}

// ---- formatting ---------------------------------------------------------------------------

Status validate_format(std::string_view fmt, int version) {
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') continue;
    if (i + 1 == fmt.size()) return Status(18535, "Unmatched '%' at end of format string");
    char c = fmt[++i];
    switch (c) {
      case 'd': case 'G': case 'H': case 'j': case 'L': case 'm': case 'M': case 'S': case 'w':
      case 'u': case 'U': case 'V': case 'Y': case 'z': case 'Z': case '%':
        break;
      case 'b': case 'B':
        if (version >= 70) break;
        [[fallthrough]];
      default:
        return Status(18536, "Invalid format character '%" + std::string(1, c) + "' in format string");
    }
  }
  return Status::OK();
}

namespace {
void pad(std::string& out, int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
  out += buf;
}
}  // namespace

Result<std::string> format(std::string_view fmt, int64_t utc_ms, const TimeZone& tz) {
  Parts p = parts(utc_ms, tz);
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      out.push_back(fmt[i]);
      continue;
    }
    char c = fmt[++i];
    switch (c) {
      case '%':
        out.push_back('%');
        break;
      case 'Y':
      case 'G': {
        int64_t y = c == 'Y' ? p.year : iso_parts(utc_ms, tz).year;
        if (y < 0 || y > 9999) {
          return Status(18537, "$dateToString is only defined on year 0-9999, tried to use year " + std::to_string(y));
        }
        pad(out, y, 4);
        break;
      }
      case 'm':
        pad(out, p.month, 2);
        break;
      case 'd':
        pad(out, p.day, 2);
        break;
      case 'H':
        pad(out, p.hour, 2);
        break;
      case 'M':
        pad(out, p.minute, 2);
        break;
      case 'S':
        pad(out, p.second, 2);
        break;
      case 'L':
        pad(out, p.millisecond, 3);
        break;
      case 'j':
        pad(out, p.day_of_year, 3);
        break;
      case 'w':
        pad(out, p.day_of_week, 1);
        break;
      case 'u':
        pad(out, iso_parts(utc_ms, tz).day_of_week, 1);
        break;
      case 'U':
        pad(out, week(utc_ms, tz), 2);
        break;
      case 'V':
        pad(out, iso_parts(utc_ms, tz).week, 2);
        break;
      case 'z': {
        int64_t off = tz.offset_ms(utc_ms) / 60000;
        out.push_back(off < 0 ? '-' : '+');
        int64_t a = off < 0 ? -off : off;
        pad(out, a / 60, 2);
        pad(out, a % 60, 2);
        break;
      }
      case 'Z': {
        int64_t off = tz.offset_ms(utc_ms) / 60000;
        out.push_back(off < 0 ? '-' : '+');
        pad(out, off < 0 ? -off : off, 3);
        break;
      }
      case 'b':
        out += kMonthShort[p.month - 1];
        break;
      case 'B':
        out += kMonthLong[p.month - 1];
        break;
      default:
        out.push_back('%');
        out.push_back(c);
        break;
    }
  }
  return out;
}

// ---- parsing ------------------------------------------------------------------------------

Status validate_parse_format(std::string_view fmt) {
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') continue;
    if (i + 1 == fmt.size()) return Status(18535, "Unmatched '%' at end of format string");
    char c = fmt[++i];
    switch (c) {
      case 'd': case 'G': case 'H': case 'j': case 'L': case 'm': case 'M': case 'S': case 'u':
      case 'V': case 'Y': case 'z': case 'Z': case '%': case 'b': case 'B':
        break;
      default:
        return Status(18536, "Invalid format character '%" + std::string(1, c) + "' in format string");
    }
  }
  return Status::OK();
}

namespace {

struct Fields {
  std::optional<int64_t> year, month, day, hour, minute, second, ms, doy, iso_year, iso_week, iso_dow;
  std::optional<int64_t> offset_ms;
  std::string zone_name;
};

Status parse_error(std::string_view s, size_t pos, const std::string& what) {
  return Status(kConversionFailure, "Error parsing date string '" + std::string(s) + "'; " + std::to_string(pos) +
                                        ": " + what);
}

bool read_digits(std::string_view s, size_t& i, size_t min, size_t max, int64_t* out) {
  size_t start = i;
  int64_t v = 0;
  while (i < s.size() && i - start < max && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + (s[i++] - '0');
  if (i - start < min) {
    i = start;
    return false;
  }
  *out = v;
  return true;
}

// Trailing zone: Z, UTC/GMT, +hh[:mm], +hhmm, or an Olson name after a space.
Status read_zone(std::string_view s, size_t& i, Fields* f) {
  if (i >= s.size()) return Status::OK();
  if (s[i] == 'Z' || s[i] == 'z') {
    f->offset_ms = 0;
    ++i;
    return Status::OK();
  }
  if (s[i] == '+' || s[i] == '-') {
    size_t j = i + 1;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ':')) ++j;
    auto off = parse_offset(s.substr(i, j - i));
    if (!off) return parse_error(s, i, "The timezone could not be found in the database");
    f->offset_ms = *off;
    i = j;
    return Status::OK();
  }
  size_t j = i;
  while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
  std::string name(s.substr(i, j - i));
  auto tz = TimeZone::parse(name);
  if (!tz.ok()) return parse_error(s, i, "The timezone could not be found in the database");
  f->zone_name = name;
  i = j;
  return Status::OK();
}

Status parse_iso(std::string_view s, Fields* f) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  int64_t y, mo, d;
  size_t ys = i;
  if (!read_digits(s, i, 4, 4, &y)) return parse_error(s, i, "Unexpected character");
  f->year = y;
  if (i >= s.size() || (s[i] != '-' && s[i] != '/')) {
    return Status(kConversionFailure,
                  "an incomplete date/time string has been found, with elements missing: \"" + std::string(s) + "\"");
  }
  char sep = s[i++];
  if (!read_digits(s, i, 1, 2, &mo)) return parse_error(s, i, "Unexpected character");
  if (i >= s.size() || s[i] != sep) {
    return Status(kConversionFailure,
                  "an incomplete date/time string has been found, with elements missing: \"" + std::string(s) + "\"");
  }
  ++i;
  if (!read_digits(s, i, 1, 2, &d)) return parse_error(s, i, "Unexpected character");
  (void)ys;
  f->month = mo;
  f->day = d;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    size_t save = i;
    ++i;
    int64_t h, mi, sec = 0, ms = 0;
    if (read_digits(s, i, 1, 2, &h) && i < s.size() && s[i] == ':') {
      ++i;
      if (!read_digits(s, i, 2, 2, &mi)) return parse_error(s, i, "Unexpected character");
      if (i < s.size() && s[i] == ':') {
        ++i;
        if (!read_digits(s, i, 2, 2, &sec)) return parse_error(s, i, "Unexpected character");
        if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
          ++i;
          size_t fs = i;
          int64_t frac;
          if (!read_digits(s, i, 1, 9, &frac)) return parse_error(s, i, "Unexpected character");
          size_t digits = i - fs;
          while (digits < 3) frac *= 10, ++digits;
          while (digits > 3) frac /= 10, --digits;
          ms = frac;
        }
      }
      f->hour = h;
      f->minute = mi;
      f->second = sec;
      f->ms = ms;
    } else {
      i = save;
    }
  }
  while (i < s.size() && s[i] == ' ') ++i;
  MS_RETURN_IF_ERROR(read_zone(s, i, f));
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  if (i != s.size()) return parse_error(s, i, "Unexpected character");
  return Status::OK();
}

Status parse_with_format(std::string_view s, std::string_view fmt, Fields* f) {
  size_t i = 0;
  auto mismatch = [&](size_t at) {
    return Status(kConversionFailure, "Error parsing date string '" + std::string(s) + "'; " + std::to_string(at) +
                                          ": The format separator does not match");
  };
  auto num = [&](size_t mn, size_t mx, std::optional<int64_t>* out) -> Status {
    int64_t v;
    if (!read_digits(s, i, mn, mx, &v)) {
      return Status(kConversionFailure, "Error parsing date string '" + std::string(s) + "'; " + std::to_string(i) +
                                            ": Unexpected data found.");
    }
    *out = v;
    return Status::OK();
  };
  for (size_t k = 0; k < fmt.size(); ++k) {
    if (fmt[k] != '%') {
      if (i >= s.size() || s[i] != fmt[k]) return mismatch(i);
      ++i;
      continue;
    }
    char c = fmt[++k];
    switch (c) {
      case 'Y':
        MS_RETURN_IF_ERROR(num(4, 4, &f->year));
        break;
      case 'G':
        MS_RETURN_IF_ERROR(num(4, 4, &f->iso_year));
        break;
      case 'm':
        MS_RETURN_IF_ERROR(num(1, 2, &f->month));
        break;
      case 'd':
        MS_RETURN_IF_ERROR(num(1, 2, &f->day));
        break;
      case 'H':
        MS_RETURN_IF_ERROR(num(1, 2, &f->hour));
        break;
      case 'M':
        MS_RETURN_IF_ERROR(num(1, 2, &f->minute));
        break;
      case 'S':
        MS_RETURN_IF_ERROR(num(1, 2, &f->second));
        break;
      case 'L': {
        size_t st = i;
        MS_RETURN_IF_ERROR(num(1, 3, &f->ms));
        size_t digits = i - st;
        while (digits < 3) *f->ms *= 10, ++digits;
        break;
      }
      case 'j':
        MS_RETURN_IF_ERROR(num(1, 3, &f->doy));
        break;
      case 'V':
        MS_RETURN_IF_ERROR(num(1, 2, &f->iso_week));
        break;
      case 'u':
        MS_RETURN_IF_ERROR(num(1, 1, &f->iso_dow));
        break;
      case 'z':
        MS_RETURN_IF_ERROR(read_zone(s, i, f));
        break;
      case 'Z': {
        if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return mismatch(i);
        bool neg = s[i++] == '-';
        std::optional<int64_t> mins;
        MS_RETURN_IF_ERROR(num(1, 4, &mins));
        f->offset_ms = (neg ? -*mins : *mins) * 60000;
        break;
      }
      case 'b':
      case 'B': {
        bool found = false;
        for (int m = 0; m < 12 && !found; ++m) {
          for (const char* name : {kMonthLong[m], kMonthShort[m]}) {
            size_t len = std::strlen(name);
            if (s.size() - i >= len) {
              bool eq = true;
              for (size_t q = 0; q < len; ++q) {
                if (std::tolower(static_cast<unsigned char>(s[i + q])) != std::tolower(static_cast<unsigned char>(name[q]))) {
                  eq = false;
                  break;
                }
              }
              if (eq) {
                f->month = m + 1;
                i += len;
                found = true;
                break;
              }
            }
          }
        }
        if (!found) return mismatch(i);
        break;
      }
      case '%':
        if (i >= s.size() || s[i] != '%') return mismatch(i);
        ++i;
        break;
      default:
        return Status(18536, "Invalid format character '%" + std::string(1, c) + "' in format string");
    }
  }
  if (i != s.size()) {
    return Status(kConversionFailure, "Error parsing date string '" + std::string(s) + "'; " + std::to_string(i) +
                                          ": Trailing data");
  }
  return Status::OK();
}

}  // namespace

Result<int64_t> from_string(std::string_view s, const TimeZone& tz, bool tz_explicit,
                            std::optional<std::string_view> fmt) {
  Fields f;
  if (fmt) {
    MS_RETURN_IF_ERROR(parse_with_format(s, *fmt, &f));
  } else {
    MS_RETURN_IF_ERROR(parse_iso(s, &f));
  }
  bool has_zone = f.offset_ms.has_value() || !f.zone_name.empty();
  if (has_zone && tz_explicit) {
    return Status(kConversionFailure, "you cannot pass in a date/time string with time zone information ('" +
                                          std::string(s) + "') together with a timezone argument");
  }
  TimeZone use = tz;
  if (f.offset_ms) {
    use = TimeZone::fixed(*f.offset_ms);
  } else if (!f.zone_name.empty()) {
    use = *TimeZone::parse(f.zone_name);
  }
  int64_t h = f.hour.value_or(0), mi = f.minute.value_or(0), sec = f.second.value_or(0), ms = f.ms.value_or(0);
  auto incomplete = [&] {
    return Status(kConversionFailure,
                  "an incomplete date/time string has been found, with elements missing: \"" + std::string(s) + "\"");
  };
  if (f.iso_year) {
    return from_iso_parts(use, *f.iso_year, f.iso_week.value_or(1), f.iso_dow.value_or(1), h, mi, sec, ms);
  }
  if (!f.year) return incomplete();
  if (f.doy && !f.month && !f.day) {
    return from_parts(use, *f.year, 1, *f.doy, h, mi, sec, ms);
  }
  if (!f.month || !f.day) return incomplete();
  if (*f.month < 1 || *f.month > 12 || *f.day < 1 || *f.day > days_in_month(*f.year, static_cast<int>(*f.month))) {
    return Status(kConversionFailure,
                  "Error parsing date string '" + std::string(s) + "'; 0: The parsed date was invalid");
  }
  if (h > 24 || mi > 59 || sec > 60) {
    return Status(kConversionFailure, "Error parsing date string '" + std::string(s) + "'; 0: The parsed time was invalid");
  }
  return from_parts(use, *f.year, *f.month, *f.day, h, mi, sec, ms);
}

// ---- units and arithmetic -----------------------------------------------------------------

std::optional<Unit> parse_unit(std::string_view s) {
  static const std::pair<std::string_view, Unit> k[] = {
      {"year", Unit::kYear},     {"quarter", Unit::kQuarter}, {"month", Unit::kMonth},
      {"week", Unit::kWeek},     {"day", Unit::kDay},         {"hour", Unit::kHour},
      {"minute", Unit::kMinute}, {"second", Unit::kSecond},   {"millisecond", Unit::kMillisecond}};
  for (const auto& [n, u] : k) {
    if (n == s) return u;
  }
  return std::nullopt;
}

std::optional<int> parse_day_of_week(std::string_view s) {
  std::string l;
  for (char c : s) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static const char* const kLong[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  static const char* const kShort[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (int i = 0; i < 7; ++i) {
    if (l == kLong[i] || l == kShort[i]) return i + 1;
  }
  return std::nullopt;
}

namespace {
int64_t unit_ms(Unit u) {
  switch (u) {
    case Unit::kWeek:
      return 7 * kMsPerDay;
    case Unit::kDay:
      return kMsPerDay;
    case Unit::kHour:
      return 3600000;
    case Unit::kMinute:
      return 60000;
    case Unit::kSecond:
      return 1000;
    default:
      return 1;
  }
}
int64_t months_of(Unit u) { return u == Unit::kYear ? 12 : u == Unit::kQuarter ? 3 : 1; }
}  // namespace

namespace {
const char* unit_name(Unit u) {
  static const char* const k[] = {"year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond"};
  return k[static_cast<int>(u)];
}

// The server's isDateAddAmountValid: |amount| below what roughly fits a Date_t.
bool amount_valid(int64_t amount, Unit unit) {
  constexpr int64_t kMaxDays = static_cast<int64_t>(std::numeric_limits<uint64_t>::max() / kMsPerDay + 1);
  constexpr int64_t kMaxYears = kMaxDays / 365 + 1;
  int64_t max = 0;
  switch (unit) {
    case Unit::kYear:
      max = kMaxYears;
      break;
    case Unit::kQuarter:
      max = kMaxYears * 4;
      break;
    case Unit::kMonth:
      max = kMaxYears * 12;
      break;
    case Unit::kWeek:
      max = kMaxDays / 7;
      break;
    case Unit::kDay:
      max = kMaxDays;
      break;
    case Unit::kHour:
      max = kMaxDays * 24;
      break;
    case Unit::kMinute:
      max = kMaxDays * 24 * 60;
      break;
    case Unit::kSecond:
      max = kMaxDays * 24 * 3600;
      break;
    case Unit::kMillisecond:
      return true;
  }
  return -max < amount && amount < max;
}
}  // namespace

Result<int64_t> date_add(int64_t utc_ms, Unit unit, int64_t amount, const TimeZone& tz) {
  auto overflow = [] { return Status(5166406, "dateAdd overflowed"); };
  if (!amount_valid(amount, unit)) {
    return Status(5976500, "invalid dateAdd 'amount' parameter value: " + std::to_string(amount) + " " + unit_name(unit));
  }
  if (unit == Unit::kHour || unit == Unit::kMinute || unit == Unit::kSecond || unit == Unit::kMillisecond) {
    // Exact durations (the server adds them on the UTC timeline).
    int64_t delta, r;
    if (__builtin_mul_overflow(amount, unit_ms(unit), &delta) || __builtin_add_overflow(utc_ms, delta, &r)) {
      return overflow();
    }
    return r;
  }
  // Days and larger keep the local wall-clock time across DST changes.
  int64_t local = tz.to_local(utc_ms);
  int64_t days = floor_div(local, kMsPerDay);
  int64_t tod = local - days * kMsPerDay;
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  int64_t new_days;
  if (unit == Unit::kDay || unit == Unit::kWeek) {
    new_days = days + amount * (unit == Unit::kWeek ? 7 : 1);
  } else {
    int64_t total = y * 12 + (m - 1) + amount * months_of(unit);
    int64_t ny = floor_div(total, 12);
    int nm = static_cast<int>(total - ny * 12) + 1;
    // A day past the end of the new month becomes its last day (Jan 31 + 1 month = Feb 28/29).
    int nd = std::min(d, days_in_month(ny, nm));
    new_days = days_from_civil(ny, nm, nd);
  }
  int64_t new_local;
  if (__builtin_mul_overflow(new_days, kMsPerDay, &new_local) || __builtin_add_overflow(new_local, tod, &new_local)) {
    return overflow();
  }
  return tz.to_utc(new_local);
}

int64_t date_diff(int64_t start, int64_t end, Unit unit, const TimeZone& tz, int start_of_week) {
  int64_t ls = tz.to_local(start), le = tz.to_local(end);
  switch (unit) {
    case Unit::kYear:
    case Unit::kQuarter:
    case Unit::kMonth: {
      Parts a = parts(start, tz), b = parts(end, tz);
      int64_t ma = a.year * 12 + (a.month - 1), mb = b.year * 12 + (b.month - 1);
      int64_t per = months_of(unit);
      return floor_div(mb, per) - floor_div(ma, per);
    }
    case Unit::kWeek: {
      int64_t da = floor_div(ls, kMsPerDay), db = floor_div(le, kMsPerDay);
      int64_t shift = start_of_week - 4;  // day numbers ≡ shift (mod 7) fall on start_of_week
      return floor_div(db - shift, 7) - floor_div(da - shift, 7);
    }
    case Unit::kDay:
      return floor_div(le, kMsPerDay) - floor_div(ls, kMsPerDay);
    case Unit::kHour:
      return floor_div(le, 3600000) - floor_div(ls, 3600000);
    case Unit::kMinute:
      return floor_div(end, 60000) - floor_div(start, 60000);
    case Unit::kSecond:
      return floor_div(end, 1000) - floor_div(start, 1000);
    case Unit::kMillisecond:
      // Wraps like the server's Date_t subtraction instead of overflowing.
      return static_cast<int64_t>(static_cast<uint64_t>(end) - static_cast<uint64_t>(start));
  }
  return 0;
}

Result<int64_t> date_trunc(int64_t utc_ms, Unit unit, int64_t bin_size, const TimeZone& tz, int start_of_week) {
  // Bins count from 2000-01-01T00:00:00 in the time zone (weeks: the first start_of_week on or
  // after it), as the server's defaultReferencePointForDateTrunc.
  constexpr int64_t kRefUtc = 946684800000LL;  // 2000-01-01T00:00:00Z
  int64_t ref = kRefUtc - tz.offset_ms(kRefUtc);
  int64_t ref_days = days_from_civil(2000, 1, 1);
  if (unit == Unit::kWeek) {
    int ref_dow = 6;  // Saturday, counting Monday = 1
    int adjust = ((start_of_week - ref_dow) % 7 + 7) % 7;
    ref += adjust * kMsPerDay;
    ref_days += adjust;
  }
  if (unit == Unit::kMillisecond || unit == Unit::kSecond || unit == Unit::kMinute || unit == Unit::kHour) {
    // Plain instants on the UTC timeline.
    int64_t width, shifted, r;
    if (__builtin_mul_overflow(bin_size, unit_ms(unit), &width)) return Status(5439002, "dateTrunc overflowed");
    if (__builtin_sub_overflow(utc_ms, ref, &shifted)) return Status(5439000, "dateTrunc overflowed");
    int64_t rem = shifted % width;
    if (rem < 0) rem += width;
    if (__builtin_sub_overflow(utc_ms, rem, &r)) return Status(5439001, "dateTrunc overflowed");
    return r;
  }
  if (bin_size > 100000000000LL) return Status(5439006, "dateTrunc unsupported binSize value");
  // Distance from the reference point in whole units (local calendar), down to a bin boundary.
  int64_t local_days = floor_div(tz.to_local(utc_ms), kMsPerDay);
  int64_t distance;
  switch (unit) {
    case Unit::kDay:
      distance = local_days - ref_days;
      break;
    case Unit::kWeek:
      distance = floor_div(local_days - ref_days, 7);
      break;
    default: {
      Parts p = parts(utc_ms, tz);
      int64_t months = (p.year - 2000) * 12 + (p.month - 1);
      distance = floor_div(months, months_of(unit));
      break;
    }
  }
  int64_t rem = distance % bin_size;
  if (rem < 0) rem += bin_size;
  return date_add(ref, unit, distance - rem, tz);
}

}  // namespace mql::datetime
