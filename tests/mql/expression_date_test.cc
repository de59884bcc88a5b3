// Tests for date expression operators, time zones (Olson names, offsets, DST) and formats.
#include <gtest/gtest.h>

#include "expression_test_util.h"

namespace {

using mql::testing::ExprHarness;

class ExprDateTest : public ::testing::Test {
 protected:
  ExprHarness h;
  // 2024-01-15T10:30:45.123Z, a Monday.
  const std::string d = "{\"d\": {\"$date\": \"2024-01-15T10:30:45.123Z\"}}";
};

std::string date(const std::string& iso) { return "{\"$date\": \"" + iso + "\"}"; }

TEST_F(ExprDateTest, Parts) {
  EXPECT_EXPR(h, "{\"$year\": \"$d\"}", d, "2024");
  EXPECT_EXPR(h, "{\"$month\": \"$d\"}", d, "1");
  EXPECT_EXPR(h, "{\"$dayOfMonth\": \"$d\"}", d, "15");
  EXPECT_EXPR(h, "{\"$hour\": \"$d\"}", d, "10");
  EXPECT_EXPR(h, "{\"$minute\": \"$d\"}", d, "30");
  EXPECT_EXPR(h, "{\"$second\": \"$d\"}", d, "45");
  EXPECT_EXPR(h, "{\"$millisecond\": \"$d\"}", d, "123");
  EXPECT_EXPR(h, "{\"$dayOfYear\": \"$d\"}", d, "15");
  EXPECT_EXPR(h, "{\"$dayOfWeek\": \"$d\"}", d, "2");
  EXPECT_EXPR(h, "{\"$isoDayOfWeek\": \"$d\"}", d, "1");
  EXPECT_EXPR(h, "{\"$week\": \"$d\"}", d, "2");
  EXPECT_EXPR(h, "{\"$isoWeek\": \"$d\"}", d, "3");
  EXPECT_EXPR(h, "{\"$isoWeekYear\": \"$d\"}", d, "2024");
  // 2021-01-01 (a Friday) belongs to ISO week 53 of 2020.
  EXPECT_EXPR(h, "{\"$isoWeek\": " + date("2021-01-01T00:00:00Z") + "}", "{}", "53");
  EXPECT_EXPR(h, "{\"$isoWeekYear\": " + date("2021-01-01T00:00:00Z") + "}", "{}", "2020");
  EXPECT_EXPR(h, "{\"$week\": " + date("2022-01-01T00:00:00Z") + "}", "{}", "0");
  EXPECT_EXPR(h, "{\"$year\": [\"$d\"]}", d, "2024");
  EXPECT_EXPR(h, "{\"$year\": null}", "{}", "null");
  EXPECT_EXPR(h, "{\"$year\": {\"$timestamp\": {\"t\": 0, \"i\": 1}}}", "{}", "1970");
  EXPECT_EXPR(h, "{\"$year\": {\"$oid\": \"5ab9cbfa31c2ab715d42129e\"}}", "{}", "2018");
  EXPECT_EXPR_ERROR(h, "{\"$year\": 5}", "{}", 16006);
  EXPECT_EXPR_ERROR(h, "{\"$year\": [1, 2]}", "{}", 40536);
  EXPECT_EXPR_ERROR(h, "{\"$year\": {\"date\": \"$d\", \"bogus\": 1}}", d, 40535);
  EXPECT_EXPR_ERROR(h, "{\"$year\": {\"timezone\": \"UTC\"}}", d, 40539);
}

TEST_F(ExprDateTest, TimeZonesAndDst) {
  EXPECT_EXPR(h, "{\"$hour\": {\"date\": \"$d\", \"timezone\": \"America/New_York\"}}", d, "5");
  EXPECT_EXPR(h, "{\"$hour\": {\"date\": \"$d\", \"timezone\": \"+05:30\"}}", d, "16");
  EXPECT_EXPR(h, "{\"$minute\": {\"date\": \"$d\", \"timezone\": \"+0530\"}}", d, "0");
  EXPECT_EXPR(h, "{\"$hour\": {\"date\": \"$d\", \"timezone\": \"-03\"}}", d, "7");
  EXPECT_EXPR(h, "{\"$dayOfMonth\": {\"date\": \"$d\", \"timezone\": \"Pacific/Kiritimati\"}}", d, "16");
  // US DST began 2024-03-10 at 02:00 local (07:00Z).
  EXPECT_EXPR(h, "{\"$hour\": {\"date\": " + date("2024-03-10T06:30:00Z") + ", \"timezone\": \"America/New_York\"}}",
              "{}", "1");
  EXPECT_EXPR(h, "{\"$hour\": {\"date\": " + date("2024-03-10T07:30:00Z") + ", \"timezone\": \"America/New_York\"}}",
              "{}", "3");
  EXPECT_EXPR(h, "{\"$hour\": {\"date\": \"$d\", \"timezone\": null}}", d, "null");
  EXPECT_EXPR_ERROR(h, "{\"$hour\": {\"date\": \"$d\", \"timezone\": \"Mars/Olympus\"}}", d, 40485);
  EXPECT_EXPR_ERROR(h, "{\"$hour\": {\"date\": \"$d\", \"timezone\": 5}}", d, 40533);
}

TEST_F(ExprDateTest, DateToString) {
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$d\"}}", d, "\"2024-01-15T10:30:45.123Z\"");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%Y-%m-%d %H:%M:%S %z\", \"timezone\": \"+05:30\"}}",
              d, "\"2024-01-15 16:00:45 +0530\"");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%Z\", \"timezone\": \"+05:30\"}}", d, "\"+330\"");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%Z|%z\", \"timezone\": \"America/New_York\"}}", d,
              "\"-300|-0500\"");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%j %w %u %U %V %G %L %% %b %B\"}}", d,
              "\"015 2 1 02 03 2024 123 % Jan January\"");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$missing\", \"onNull\": \"none\"}}", "{}", "\"none\"");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$missing\"}}", "{}", "null");
  EXPECT_EXPR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": null}}", d, "null");
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%Q\"}}", d, 18536);
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"abc%\"}}", d, 18535);
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": 5}}", d, 18533);
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"format\": \"%Y\"}}", d, 18628);
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"date\": \"$d\", \"x\": 1}}", d, 18534);
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"date\": {\"$date\": {\"$numberLong\": \"253402300800000\"}}}}", "{}", 18537);
  h.ctx.version = 60;
  EXPECT_EXPR_ERROR(h, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%b\"}}", d, 18536);
}

TEST_F(ExprDateTest, DateToAndFromParts) {
  EXPECT_EXPR(h, "{\"$dateToParts\": {\"date\": \"$d\"}}", d,
              "{\"year\": 2024, \"month\": 1, \"day\": 15, \"hour\": 10, \"minute\": 30, \"second\": 45, "
              "\"millisecond\": 123}");
  EXPECT_EXPR(h, "{\"$dateToParts\": {\"date\": \"$d\", \"iso8601\": true, \"timezone\": \"Europe/Paris\"}}", d,
              "{\"isoWeekYear\": 2024, \"isoWeek\": 3, \"isoDayOfWeek\": 1, \"hour\": 11, \"minute\": 30, "
              "\"second\": 45, \"millisecond\": 123}");
  EXPECT_EXPR_ERROR(h, "{\"$dateToParts\": {\"date\": \"$d\", \"iso8601\": 1}}", d, 40521);
  EXPECT_EXPR_ERROR(h, "{\"$dateToParts\": {}}", d, 40522);
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": 14, \"day\": 1}}", "{}", date("2025-02-01T00:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": 3, \"day\": 0, \"hour\": 25}}", "{}",
              date("2024-03-01T01:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": 7, \"day\": 1, \"hour\": 12, \"timezone\": \"America/New_York\"}}",
              "{}", date("2024-07-01T16:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"isoWeekYear\": 2024, \"isoWeek\": 1, \"isoDayOfWeek\": 1}}", "{}",
              date("2024-01-01T00:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": null}}", "{}", "null");
  // DST: the repeated 01:30 of 2024-11-03 in New York is its first (EDT) occurrence; the
  // skipped 02:30 of 2024-03-10 becomes 03:30 EDT.
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": 11, \"day\": 3, \"hour\": 1, \"minute\": 30, "
                 "\"timezone\": \"America/New_York\"}}",
              "{}", date("2024-11-03T05:30:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": 3, \"day\": 10, \"hour\": 2, \"minute\": 30, "
                 "\"timezone\": \"America/New_York\"}}",
              "{}", date("2024-03-10T07:30:00Z"));
  // Unbounded seconds/milliseconds never overflow.
  auto huge = h.eval("{\"$dateFromParts\": {\"year\": 2024, \"second\": {\"$numberLong\": \"9223372036854775807\"}, "
                     "\"millisecond\": {\"$numberLong\": \"9223372036854775807\"}}}");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->type(), BSON_TYPE_DATE_TIME);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"year\": 0}}", "{}", 40523);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"year\": 2024, \"month\": 40000}}", "{}", 31034);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"year\": 2024.5}}", "{}", 40515);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"month\": 1}}", "{}", 40516);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"year\": 2024, \"isoWeek\": 1}}", "{}", 40489);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"isoWeekYear\": 2024, \"month\": 1}}", "{}", 40525);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromParts\": {\"year\": 2024, \"x\": 1}}", "{}", 40518);
}

TEST_F(ExprDateTest, DateFromString) {
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"2024-01-15T10:30:45.123Z\"}}", "{}",
              date("2024-01-15T10:30:45.123Z"));
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"2024-01-15\"}}", "{}", date("2024-01-15T00:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"2024-01-15T10:00:00+02:00\"}}", "{}",
              date("2024-01-15T08:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"2024-01-15T10:00:00\", \"timezone\": \"+01:00\"}}", "{}",
              date("2024-01-15T09:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"2024-07-01 12:00\", \"timezone\": \"America/New_York\"}}",
              "{}", date("2024-07-01T16:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"15/01/2024 07h\", \"format\": \"%d/%m/%Y %Hh\"}}", "{}",
              date("2024-01-15T07:00:00Z"));
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": \"15-01-2024\", \"format\": \"%d/%m/%Y\"}}", "{}", 241);
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"15/01/2024\", \"format\": \"%d/%m/%Y\"}}", "{}",
              date("2024-01-15T00:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"$missing\", \"onNull\": 0}}", "{}", "0");
  EXPECT_EXPR(h, "{\"$dateFromString\": {\"dateString\": \"garbage\", \"onError\": \"bad\"}}", "{}", "\"bad\"");
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": \"garbage\"}}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": 5}}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": \"2024-01-15T10:00:00Z\", \"timezone\": \"UTC\"}}", "{}",
                    241);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": \"2024-02-30\"}}", "{}", 241);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": \"x\", \"format\": 1}}", "{}", 40684);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {}}", "{}", 40542);
  EXPECT_EXPR_ERROR(h, "{\"$dateFromString\": {\"dateString\": \"x\", \"y\": 1}}", "{}", 40541);
}

TEST_F(ExprDateTest, DateAddSubtract) {
  EXPECT_EXPR(h, "{\"$dateAdd\": {\"startDate\": " + date("2024-01-31T00:00:00Z") + ", \"unit\": \"month\", \"amount\": 1}}",
              "{}", date("2024-02-29T00:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"quarter\", \"amount\": -1}}", d,
              date("2023-10-15T10:30:45.123Z"));
  EXPECT_EXPR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"week\", \"amount\": 2}}", d,
              date("2024-01-29T10:30:45.123Z"));
  // A day across the DST change keeps the wall-clock time; 24 hours does not.
  EXPECT_EXPR(h, "{\"$dateAdd\": {\"startDate\": " + date("2024-03-09T17:00:00Z") +
                     ", \"unit\": \"day\", \"amount\": 1, \"timezone\": \"America/New_York\"}}",
              "{}", date("2024-03-10T16:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateAdd\": {\"startDate\": " + date("2024-03-09T17:00:00Z") +
                     ", \"unit\": \"hour\", \"amount\": 24, \"timezone\": \"America/New_York\"}}",
              "{}", date("2024-03-10T17:00:00Z"));
  EXPECT_EXPR(h, "{\"$dateSubtract\": {\"startDate\": \"$d\", \"unit\": \"millisecond\", \"amount\": 123}}", d,
              date("2024-01-15T10:30:45Z"));
  EXPECT_EXPR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"day\", \"amount\": null}}", d, "null");
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"day\", \"amount\": 1.5}}", d, 5166405);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"days\", \"amount\": 1}}", d, 9);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": 5, \"unit\": \"day\", \"amount\": 1}}", d, 5166403);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": 1, \"amount\": 1}}", d, 5166404);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"day\"}}", d, 5166402);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"day\", \"amount\": 1, \"x\": 1}}", d, 5166401);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": 1}", d, 5166400);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": \"$d\", \"unit\": \"year\", \"amount\": {\"$numberLong\": \"9000000000000000000\"}}}", d,
                    5976500);
  EXPECT_EXPR_ERROR(h, "{\"$dateAdd\": {\"startDate\": {\"$date\": {\"$numberLong\": \"9223372036854775000\"}}, \"unit\": \"hour\", \"amount\": 1}}",
                    "{}", 5166406);
  EXPECT_EXPR_ERROR(h, "{\"$dateSubtract\": {\"startDate\": \"$d\", \"unit\": \"day\", \"amount\": {\"$numberLong\": \"-9223372036854775808\"}}}",
                    d, 6045000);
}

TEST_F(ExprDateTest, DateDiff) {
  auto diff = [&](const std::string& a, const std::string& b, const std::string& unit, const std::string& extra = "") {
    return "{\"$dateDiff\": {\"startDate\": " + date(a) + ", \"endDate\": " + date(b) + ", \"unit\": \"" + unit + "\"" +
           extra + "}}";
  };
  EXPECT_EXPR(h, diff("2024-01-31T00:00:00Z", "2024-02-01T00:00:00Z", "month"), "{}", "{\"$numberLong\": \"1\"}");
  EXPECT_EXPR(h, diff("2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "year"), "{}", "{\"$numberLong\": \"1\"}");
  EXPECT_EXPR(h, diff("2024-01-01T00:00:00Z", "2024-12-31T00:00:00Z", "quarter"), "{}", "{\"$numberLong\": \"3\"}");
  EXPECT_EXPR(h, diff("2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", "day"), "{}", "{\"$numberLong\": \"-1\"}");
  EXPECT_EXPR(h, diff("2024-01-13T12:00:00Z", "2024-01-14T12:00:00Z", "week"), "{}", "{\"$numberLong\": \"1\"}");
  EXPECT_EXPR(h, diff("2024-01-13T12:00:00Z", "2024-01-14T12:00:00Z", "week", ", \"startOfWeek\": \"monday\""), "{}",
              "{\"$numberLong\": \"0\"}");
  EXPECT_EXPR(h, diff("2024-01-01T10:59:59Z", "2024-01-01T11:00:00Z", "hour"), "{}", "{\"$numberLong\": \"1\"}");
  EXPECT_EXPR(h, diff("2024-01-01T00:00:00Z", "2024-01-01T00:00:01.5Z", "millisecond"), "{}",
              "{\"$numberLong\": \"1500\"}");
  // In New York the two instants fall on the same local day.
  EXPECT_EXPR(h, diff("2024-01-01T23:00:00Z", "2024-01-02T01:00:00Z", "day", ", \"timezone\": \"America/New_York\""), "{}",
              "{\"$numberLong\": \"0\"}");
  EXPECT_EXPR(h, "{\"$dateDiff\": {\"startDate\": null, \"endDate\": \"$d\", \"unit\": \"day\"}}", d, "null");
  auto extreme = h.eval("{\"$dateDiff\": {\"startDate\": {\"$date\": {\"$numberLong\": \"-9223372036854775808\"}}, "
                        "\"endDate\": {\"$date\": {\"$numberLong\": \"9223372036854775807\"}}, \"unit\": \"year\", "
                        "\"timezone\": \"Asia/Tokyo\"}}");
  ASSERT_TRUE(extreme.ok());
  EXPECT_EXPR_ERROR(h, "{\"$dateDiff\": {\"startDate\": 1, \"endDate\": \"$d\", \"unit\": \"day\"}}", d, 5166307);
  EXPECT_EXPR_ERROR(h, "{\"$dateDiff\": {\"startDate\": \"$d\", \"endDate\": \"$d\", \"unit\": \"days\"}}", d, 5439014);
  EXPECT_EXPR_ERROR(h, "{\"$dateDiff\": {\"startDate\": \"$d\", \"endDate\": \"$d\", \"unit\": \"week\", \"startOfWeek\": \"x\"}}",
                    d, 5439016);
  EXPECT_EXPR_ERROR(h, "{\"$dateDiff\": {\"startDate\": \"$d\", \"endDate\": \"$d\", \"unit\": \"day\", \"timezone\": \"bad/zone\"}}",
                    d, 40485);
  EXPECT_EXPR_ERROR(h, "{\"$dateDiff\": {\"startDate\": \"$d\", \"unit\": \"day\"}}", d, 5166304);
}

TEST_F(ExprDateTest, DateTrunc) {
  auto trunc = [&](const std::string& unit, const std::string& extra = "") {
    return "{\"$dateTrunc\": {\"date\": \"$d\", \"unit\": \"" + unit + "\"" + extra + "}}";
  };
  EXPECT_EXPR(h, trunc("hour"), d, date("2024-01-15T10:00:00Z"));
  EXPECT_EXPR(h, trunc("month"), d, date("2024-01-01T00:00:00Z"));
  EXPECT_EXPR(h, trunc("quarter"), d, date("2024-01-01T00:00:00Z"));
  EXPECT_EXPR(h, trunc("year"), d, date("2024-01-01T00:00:00Z"));
  EXPECT_EXPR(h, trunc("week"), d, date("2024-01-14T00:00:00Z"));
  EXPECT_EXPR(h, trunc("week", ", \"startOfWeek\": \"Monday\""), d, date("2024-01-15T00:00:00Z"));
  EXPECT_EXPR(h, trunc("minute", ", \"binSize\": 15"), d, date("2024-01-15T10:30:00Z"));
  EXPECT_EXPR(h, trunc("hour", ", \"binSize\": 6"), d, date("2024-01-15T06:00:00Z"));
  EXPECT_EXPR(h, trunc("second"), d, date("2024-01-15T10:30:45Z"));
  EXPECT_EXPR(h, trunc("day", ", \"timezone\": \"+05:30\""), d, date("2024-01-14T18:30:00Z"));
  EXPECT_EXPR(h, trunc("month", ", \"binSize\": 6"), d, date("2024-01-01T00:00:00Z"));
  EXPECT_EXPR(h, trunc("day", ", \"binSize\": null"), d, "null");
  EXPECT_EXPR_ERROR(h, trunc("day", ", \"binSize\": 0"), d, 5439018);
  EXPECT_EXPR_ERROR(h, trunc("day", ", \"binSize\": {\"$numberLong\": \"200000000000\"}"), d, 5439006);
  EXPECT_EXPR(h, trunc("day", ", \"binSize\": 7"), d, date("2024-01-13T00:00:00Z"));
  EXPECT_EXPR(h, trunc("year", ", \"binSize\": 5"), d, date("2020-01-01T00:00:00Z"));
  EXPECT_EXPR_ERROR(h, trunc("day", ", \"binSize\": 1.5"), d, 5439017);
  EXPECT_EXPR_ERROR(h, "{\"$dateTrunc\": {\"date\": 5, \"unit\": \"day\"}}", d, 5439012);
  EXPECT_EXPR_ERROR(h, "{\"$dateTrunc\": {\"date\": \"$d\"}}", d, 5439010);
  EXPECT_EXPR_ERROR(h, "{\"$dateTrunc\": {\"date\": \"$d\", \"unit\": \"day\", \"x\": 1}}", d, 5439008);
}

}  // namespace
