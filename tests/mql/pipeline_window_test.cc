// $setWindowFields: partitions, document and range windows, time units, accumulators as window
// functions, rank functions, $shift, $expMovingAvg, $derivative, $integral, covariance,
// $locf, $linearFill, and the server's parse errors.
#include <gtest/gtest.h>

#include "pipeline_test_util.h"

namespace mql::testing {
namespace {

class WindowTest : public PipelineFixture {};

const char* kTemps = R"([
  {"_id": 1, "city": "a", "t": 1, "v": 10},
  {"_id": 2, "city": "b", "t": 1, "v": 5},
  {"_id": 3, "city": "a", "t": 2, "v": 20},
  {"_id": 4, "city": "a", "t": 4, "v": 30},
  {"_id": 5, "city": "b", "t": 3, "v": 7}
])";

TEST_F(WindowTest, RunningTotalPerPartition) {
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"partitionBy": "$city", "sortBy": {"t": 1},
                    "output": {"run": {"$sum": "$v", "window": {"documents": ["unbounded", "current"]}},
                               "all": {"$sum": "$v"}}}},
                    {"$project": {"city": 0, "t": 0}}])",
                kTemps),
            "{_id: 1, v: 10, run: 10, all: 60}\n{_id: 3, v: 20, run: 30, all: 60}\n{_id: 4, v: 30, run: 60, all: 60}\n"
            "{_id: 2, v: 5, run: 5, all: 12}\n{_id: 5, v: 7, run: 12, all: 12}");
}

TEST_F(WindowTest, SlidingDocumentWindow) {
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"_id": 1},
                    "output": {"avg": {"$avg": "$v", "window": {"documents": [-1, 1]}},
                               "prev": {"$push": "$v", "window": {"documents": [-1, -1]}}}}},
                    {"$project": {"avg": 1, "prev": 1}}])",
                kTemps),
            "{_id: 1, avg: 7.5, prev: []}\n{_id: 2, avg: 11.6666666666667, prev: [10]}\n{_id: 3, avg: 18.3333333333333, prev: [5]}\n"
            "{_id: 4, avg: 19.0, prev: [20]}\n{_id: 5, avg: 18.5, prev: [30]}");
}

TEST_F(WindowTest, RangeWindowAndTimeUnits) {
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"partitionBy": "$city", "sortBy": {"t": 1},
                    "output": {"near": {"$push": "$_id", "window": {"range": [-1, 1]}}}}},
                    {"$project": {"near": 1}}])",
                kTemps),
            "{_id: 1, near: [1, 3]}\n{_id: 3, near: [1, 3]}\n{_id: 4, near: [4]}\n{_id: 2, near: [2]}\n{_id: 5, near: [5]}");
  std::string days = R"([{"_id": 1, "d": {"$date": "2021-01-01T00:00:00Z"}}, {"_id": 2, "d": {"$date": "2021-01-02T12:00:00Z"}},
                         {"_id": 3, "d": {"$date": "2021-01-10T00:00:00Z"}}, {"_id": 4, "d": {"$date": "2021-02-01T00:00:00Z"}}])";
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"d": 1},
                    "output": {"c": {"$count": {}, "window": {"range": [-2, "current"], "unit": "day"}},
                               "m": {"$count": {}, "window": {"range": [-1, 0], "unit": "month"}}}}},
                    {"$project": {"c": 1, "m": 1}}])",
                days),
            "{_id: 1, c: 1, m: 1}\n{_id: 2, c: 2, m: 2}\n{_id: 3, c: 1, m: 3}\n{_id: 4, c: 1, m: 4}");
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"city": 1}, "output": {"x": {"$sum": 1, "window": {"range": [0, 1]}}}}}])",
                kTemps),
            "ERR 5429413 Invalid range: Expected the sortBy field to be a number, but it was string");
}

TEST_F(WindowTest, RankFunctions) {
  std::string in = R"([{"_id": 1, "s": 5}, {"_id": 2, "s": 3}, {"_id": 3, "s": 5}, {"_id": 4, "s": 9}])";
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"s": -1},
                    "output": {"r": {"$rank": {}}, "d": {"$denseRank": {}}, "n": {"$documentNumber": {}}}}},
                    {"$project": {"s": 0}}])",
                in),
            "{_id: 4, r: 1, d: 1, n: 1}\n{_id: 1, r: 2, d: 2, n: 2}\n{_id: 3, r: 2, d: 2, n: 3}\n{_id: 2, r: 4, d: 3, n: 4}");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"r": {"$rank": {}}}}}])"),
            "ERR 5371602 $rank must be specified with a top level sortBy expression with exactly one element");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"r": {"$rank": 1}}}}])"),
            "ERR 5371603 $rank must be specified with '{}' as the value");
}

TEST_F(WindowTest, ShiftExpMovingAvgLocfLinearFill) {
  std::string in = R"([{"_id": 1, "v": 10}, {"_id": 2}, {"_id": 3, "v": null}, {"_id": 4, "v": 40}, {"_id": 5}])";
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"_id": 1},
                    "output": {"next": {"$shift": {"output": "$v", "by": 1, "default": "none"}},
                               "locf": {"$locf": "$v"}, "lin": {"$linearFill": "$v"}}}},
                    {"$project": {"v": 0}}])",
                in),
            "{_id: 1, next: null, locf: 10, lin: 10}\n{_id: 2, next: null, locf: 10, lin: 20.0}\n"
            "{_id: 3, next: 40, locf: 10, lin: 30.0}\n{_id: 4, next: null, locf: 40, lin: 40}\n"
            "{_id: 5, next: \"none\", locf: 40, lin: null}");
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"e": {"$expMovingAvg": {"input": "$v", "N": 3}}}}},
                    {"$project": {"e": 1}}])",
                R"([{"_id": 1, "v": 10}, {"_id": 2, "v": 20}, {"_id": 3, "v": 40}])"),
            "{_id: 1, e: 10.0}\n{_id: 2, e: 15.0}\n{_id: 3, e: 27.5}");
}

TEST_F(WindowTest, DerivativeIntegralCovariance) {
  std::string in = R"([{"_id": 1, "t": 0, "d": 0}, {"_id": 2, "t": 1, "d": 2}, {"_id": 3, "t": 3, "d": 10}])";
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"sortBy": {"t": 1},
                    "output": {"rate": {"$derivative": {"input": "$d"}, "window": {"documents": [-1, 0]}},
                               "area": {"$integral": {"input": "$d"}, "window": {"documents": ["unbounded", "current"]}},
                               "cov": {"$covariancePop": ["$t", "$d"]}}}},
                    {"$project": {"rate": 1, "area": 1, "cov": 1}}])",
                in),
            "{_id: 1, rate: null, area: 0.0, cov: 5.33333333333333}\n{_id: 2, rate: 2.0, area: 1.0, cov: 5.33333333333333}\n"
            "{_id: 3, rate: 4.0, area: 13.0, cov: 5.33333333333333}");
}

TEST_F(WindowTest, NAndTopWindowFunctions) {
  EXPECT_EQ(Run(R"([{"$setWindowFields": {"partitionBy": "$city", "sortBy": {"t": 1},
                    "output": {"top": {"$topN": {"n": 2, "output": "$v", "sortBy": {"v": -1}}},
                               "first": {"$firstN": {"n": 1, "input": "$v"}}}}},
                    {"$project": {"top": 1, "first": 1}}])",
                kTemps),
            "{_id: 1, top: [30, 20], first: [10]}\n{_id: 3, top: [30, 20], first: [10]}\n{_id: 4, top: [30, 20], first: [10]}\n"
            "{_id: 2, top: [7, 5], first: [5]}\n{_id: 5, top: [7, 5], first: [5]}");
}

TEST_F(WindowTest, ParseErrors) {
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": 1}])"),
            "ERR 9 the $setWindowFields stage specification must be an object, found int");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {}}])"),
            "ERR 40414 BSON field '$setWindowFields.output' is missing but a required field");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {}, "x": 1}}])"),
            "ERR 40415 BSON field '$setWindowFields.x' is an unknown field.");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"$foo": 1}}}}])"), "ERR 9 Unrecognized window function, $foo");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"$mergeObjects": "$x"}}}}])"),
            "ERR 9 Unrecognized window function, $mergeObjects");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"window": {}}}}}])"),
            "ERR 9 Expected a $-prefixed window function, window");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"$sum": 1, "$max": 1}}}}])"),
            "ERR 9 Cannot specify two functions in window function spec");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"$sum": 1, "foo": 1}}}}])"),
            "ERR 9 Window function found an unknown argument: foo");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"$sum": 1, "window": {"documents": [-1, 1]}}}}}])"),
            "ERR 5339901 Document-based bounds require a sortBy");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"a": {"$sum": 1, "window": {"documents": [1, -1]}}}}}])"),
            "ERR 5339900 Lower bound must not exceed upper bound: [1, -1]");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"a": {"$sum": 1, "window": {"documents": [0.5, 1]}}}}}])"),
            "ERR 9 Numeric document-based bounds must be an integer");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"a": {"$sum": 1, "window": {"documents": ["x", 1]}}}}}])"),
            "ERR 9 Window bounds must be 'unbounded', 'current', or a number.");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1, "b": 1}, "output": {"a": {"$sum": 1, "window": {"range": [0, 1]}}}}}])"),
            "ERR 5339902 Range-based bounds require sortBy a single field");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"a": {"$sum": 1, "window": {"range": [0, 1], "unit": "eon"}}}}}])"),
            "ERR 9 unknown time unit value: eon");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"a": {"$sum": 1, "window": {"documents": [0, 1], "range": [0, 1]}}}}}])"),
            "ERR 9 Window bounds can specify either 'documents' or 'unit', not both.");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": {"$count": 1}}}}])"),
            "ERR 9 $count only accepts an empty object as input");
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {"a": 1}}}])"), "ERR 9 The field 'a' must be an object");
  ctx_.version = 50;
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"a": {"$locf": "$x"}}}}])"),
            "ERR 9 Unrecognized window function, $locf");
}

// ---- $densify / $fill -----------------------------------------------------------------------

TEST_F(WindowTest, DensifyNumericBounds) {
  std::string in = R"([{"_id": 1, "v": 0}, {"_id": 2, "v": 3}, {"_id": 3, "v": 5}, {"_id": 4}])";
  EXPECT_EQ(Run(R"([{"$densify": {"field": "v", "range": {"step": 2, "bounds": "full"}}}])", in),
            "{_id: 4}\n{_id: 1, v: 0}\n{v: 2}\n{_id: 2, v: 3}\n{v: 4}\n{_id: 3, v: 5}");
  EXPECT_EQ(Run(R"([{"$densify": {"field": "v", "range": {"step": 1, "bounds": [1, 4]}}}, {"$match": {"_id": {"$exists": false}}}])", in),
            "{v: 1}\n{v: 2}");
}

TEST_F(WindowTest, DensifyPartitionsAndDates) {
  std::string in = R"([{"k": "a", "v": 1}, {"k": "a", "v": 4}, {"k": "b", "v": 10}, {"k": "b", "v": 12}])";
  EXPECT_EQ(Run(R"([{"$densify": {"field": "v", "partitionByFields": ["k"], "range": {"step": 1, "bounds": "partition"}}},
                    {"$project": {"_id": 0}}])",
                in),
            "{k: \"a\", v: 1}\n{k: \"a\", v: 2}\n{k: \"a\", v: 3}\n{k: \"a\", v: 4}\n{k: \"b\", v: 10}\n"
            "{k: \"b\", v: 11}\n{k: \"b\", v: 12}");
  std::string dates = R"([{"d": {"$date": "2021-01-31T00:00:00Z"}}, {"d": {"$date": "2021-04-30T00:00:00Z"}}])";
  EXPECT_EQ(Run(R"([{"$densify": {"field": "d", "range": {"step": 1, "unit": "month", "bounds": "full"}}},
                    {"$project": {"_id": 0, "t": {"$toLong": "$d"}}}])",
                dates),
            // each step adds a month to the previous value: Jan 31, Feb 28, Mar 28, Apr 28, then Apr 30
            "{t: NumberLong(1612051200000)}\n{t: NumberLong(1614470400000)}\n{t: NumberLong(1616889600000)}\n"
            "{t: NumberLong(1619568000000)}\n{t: NumberLong(1619740800000)}");
  EXPECT_EQ(Run(R"([{"$densify": {"field": "v", "range": {"step": 1, "bounds": "full"}}}])", R"([{"v": "x"}])"),
            "ERR 5733201 Densify field type must be numeric or a date");
}

TEST_F(WindowTest, DensifyValidation) {
  EXPECT_EQ(ParseErr(R"([{"$densify": {"field": "v", "range": {"step": -1, "bounds": [0, 1]}}}])"),
            "ERR 5733401 The step parameter in a range statement must be a strictly positive numeric value");
  EXPECT_EQ(ParseErr(R"([{"$densify": {"field": "v", "range": {"step": 1, "bounds": [0, 1, 2]}}}])"),
            "ERR 5733403 A bounding array in a range statement must have exactly two elements");
  EXPECT_EQ(ParseErr(R"([{"$densify": {"field": "v", "range": {"step": 1, "bounds": "partition"}}}])"),
            "ERR 5733408 One cannot specify the bounds as 'partition' without specifying a non-empty array of "
            "partitionByFields. You may have meant to specify 'full' bounds.");
  EXPECT_EQ(ParseErr(R"([{"$densify": {"field": "$v", "range": {"step": 1, "bounds": "full"}}}])"),
            "ERR 16410 FieldPath field names may not start with '$'. Consider using $getField or $setField.");
  EXPECT_EQ(ParseErr(R"([{"$densify": {"field": "v", "range": {"step": 1.5, "bounds": [0, 4]}}}])"),
            "ERR 5876900 Upper bound, lower bound, and step must all have the same type");
  EXPECT_EQ(ParseErr(R"([{"$densify": {"range": {"step": 1, "bounds": "full"}}}])"),
            "ERR 40414 BSON field '$densify.field' is missing but a required field");
}

TEST_F(WindowTest, FillValueLocfAndLinear) {
  std::string in = R"([{"_id": 1, "t": 1, "a": 1, "b": 10}, {"_id": 2, "t": 2}, {"_id": 3, "t": 3, "a": null, "b": 30}])";
  EXPECT_EQ(Run(R"([{"$fill": {"sortBy": {"t": 1},
                    "output": {"a": {"method": "locf"}, "b": {"method": "linear"}, "c": {"value": "none"}}}},
                    {"$project": {"t": 0}}])",
                in),
            "{_id: 1, a: 1, b: 10, c: \"none\"}\n{_id: 2, a: 1, b: 20.0, c: \"none\"}\n{_id: 3, a: 1, b: 30, c: \"none\"}");
  EXPECT_EQ(ParseErr(R"([{"$fill": {"output": {"a": {"method": "mean"}}}}])"), "ERR 6050202 Method must be either locf or linear");
  EXPECT_EQ(ParseErr(R"([{"$fill": {"output": {"a": {"value": 1, "method": "locf"}}}}])"),
            "ERR 6050203 Exactly one of 'value' and 'method' must be specified.");
  EXPECT_EQ(ParseErr(R"([{"$fill": {"partitionBy": "$x", "partitionByFields": ["x"], "output": {"a": {"value": 1}}}}])"),
            "ERR 6050204 Maximum one of 'partitionBy' and 'partitionByFields can be specified in '$fill'");
}

}  // namespace
}  // namespace mql::testing
