// $group and every accumulator (types, null/missing handling, errors), $bucket, $bucketAuto
// with granularity, $sortByCount, group memory limits and many-document grouping.
#include <gtest/gtest.h>

#include "pipeline_test_util.h"

namespace mql::testing {
namespace {

class GroupTest : public PipelineFixture {};

const char* kSales = R"([
  {"_id": 1, "item": "a", "price": 10, "qty": 2},
  {"_id": 2, "item": "b", "price": 20, "qty": 1},
  {"_id": 3, "item": "a", "price": 5.5, "qty": 10},
  {"_id": 4, "item": "c", "price": {"$numberLong": "7"}},
  {"_id": 5, "item": "b", "price": null, "qty": 3}
])";

TEST_F(GroupTest, GroupsByExpressionInFirstSeenOrder) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": "$item", "n": {"$sum": 1}}}])", kSales),
            "{_id: \"a\", n: 2}\n{_id: \"b\", n: 2}\n{_id: \"c\", n: 1}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": null, "n": {"$count": {}}}}])", kSales), "{_id: null, n: 5}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": {}, "n": {"$sum": 1}}}])", kSales), "{_id: {}, n: 5}");
  // Missing and null keys are one group.
  EXPECT_EQ(Run(R"([{"$group": {"_id": "$qty", "n": {"$sum": 1}}}, {"$match": {"_id": null}}])",
                R"([{"qty": null}, {}])"),
            "{_id: null, n: 2}");
}

TEST_F(GroupTest, CompoundIdDropsMissingSubFields) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": {"i": "$item", "q": "$qty"}}}, {"$match": {"_id.i": "c"}}])", kSales),
            "{_id: {i: \"c\"}}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": {"i": "$item"}, "t": {"$sum": "$qty"}}}])", kSales),
            "{_id: {i: \"a\"}, t: 12}\n{_id: {i: \"b\"}, t: 4}\n{_id: {i: \"c\"}, t: 0}");
}

TEST_F(GroupTest, SumAndAvgPromoteTypes) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": "$item", "s": {"$sum": "$price"}, "a": {"$avg": "$price"}}}])", kSales),
            "{_id: \"a\", s: 15.5, a: 7.75}\n{_id: \"b\", s: 20, a: 20.0}\n{_id: \"c\", s: NumberLong(7), a: 7.0}");
  // int overflow widens to long
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "s": {"$sum": "$v"}}}])", R"([{"v": 2147483647}, {"v": 1}])"),
            "{_id: 1, s: NumberLong(2147483648)}");
  // decimal absorbs everything
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "s": {"$sum": "$v"}}}])", R"([{"v": 1}, {"v": {"$numberDecimal": "0.5"}}])"),
            "{_id: 1, s: NumberDecimal(\"1.5\")}");
  // no numbers: $sum 0, $avg null
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "s": {"$sum": "$v"}, "a": {"$avg": "$v"}}}])", R"([{"v": "x"}, {}])"),
            "{_id: 1, s: 0, a: null}");
  // $sum of an array argument expression sums nothing (arrays are not numbers)
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "s": {"$sum": "$v"}}}])", R"([{"v": [1, 2]}])"), "{_id: 1, s: 0}");
}

TEST_F(GroupTest, MinMaxIgnoreNullAndMissing) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "mn": {"$min": "$price"}, "mx": {"$max": "$price"}}}])", kSales),
            "{_id: 1, mn: 5.5, mx: 20}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "mn": {"$min": "$nope"}}}])", kSales), "{_id: 1, mn: null}");
  // Across types by BSON order: strings are above numbers.
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "mx": {"$max": "$v"}}}])", R"([{"v": 5}, {"v": "a"}, {"v": null}])"),
            "{_id: 1, mx: \"a\"}");
}

TEST_F(GroupTest, FirstLastKeepMissingAsNull) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "f": {"$first": "$qty"}, "l": {"$last": "$qty"}}}])", kSales),
            "{_id: 1, f: 2, l: 3}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "f": {"$first": "$x"}, "l": {"$last": "$x"}}}])", R"([{}, {"x": 1}, {}])"),
            "{_id: 1, f: null, l: null}");
}

TEST_F(GroupTest, PushAndAddToSet) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": "$item", "p": {"$push": "$qty"}, "s": {"$addToSet": "$qty"}}}])",
                R"([{"item": "a", "qty": 1}, {"item": "a"}, {"item": "a", "qty": 1}, {"item": "a", "qty": 1.0},
                    {"item": "a", "qty": null}])"),
            "{_id: \"a\", p: [1, 1, 1.0, null], s: [1, null]}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "s": {"$addToSet": "$d"}}}])",
                R"([{"d": {"a": 1, "b": 2}}, {"d": {"b": 2, "a": 1}}, {"d": {"a": 1, "b": 2}}])"),
            "{_id: 1, s: [{a: 1, b: 2}, {b: 2, a: 1}]}");
}

TEST_F(GroupTest, StdDev) {
  std::string in = R"([{"v": 2}, {"v": 4}, {"v": 4}, {"v": 4}, {"v": 5}, {"v": 5}, {"v": 7}, {"v": 9}, {"v": "x"}])";
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "p": {"$stdDevPop": "$v"}, "s": {"$stdDevSamp": "$v"}}}])", in),
            "{_id: 1, p: 2.0, s: 2.1380899352994}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "p": {"$stdDevPop": "$v"}, "s": {"$stdDevSamp": "$v"}}}])", R"([{"v": 1}])"),
            "{_id: 1, p: 0.0, s: null}");
}

TEST_F(GroupTest, MergeObjects) {
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "m": {"$mergeObjects": "$d"}}}])",
                R"([{"d": {"a": 1, "b": 1}}, {"d": null}, {}, {"d": {"b": 2, "c": 3}}])"),
            "{_id: 1, m: {a: 1, b: 2, c: 3}}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "m": {"$mergeObjects": "$d"}}}])", R"([{"d": 5}])"),
            "ERR 40400 $mergeObjects requires object inputs, but input 5 is of type int");
}

TEST_F(GroupTest, TopBottomAndN) {
  std::string in = R"([{"g": 1, "s": 3, "v": "c"}, {"g": 1, "s": 1, "v": "a"}, {"g": 1, "s": 2, "v": "b"},
                       {"g": 1, "s": 1, "v": "a2"}, {"g": 1, "v": "none"}])";
  EXPECT_EQ(Run(R"([{"$group": {"_id": "$g",
                    "t": {"$top": {"output": "$v", "sortBy": {"s": 1}}},
                    "b": {"$bottom": {"output": "$v", "sortBy": {"s": 1}}},
                    "tn": {"$topN": {"output": "$v", "sortBy": {"s": -1}, "n": 2}},
                    "bn": {"$bottomN": {"output": ["$v", "$s"], "sortBy": {"s": 1}, "n": 2}}}}])",
                in),
            "{_id: 1, t: \"none\", b: \"c\", tn: [\"c\", \"b\"], bn: [[\"b\", 2], [\"c\", 3]]}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": "$g", "f": {"$firstN": {"input": "$s", "n": 2}},
                    "l": {"$lastN": {"input": "$s", "n": 2}},
                    "mx": {"$maxN": {"input": "$s", "n": 2}}, "mn": {"$minN": {"input": "$s", "n": 10}}}}])",
                in),
            "{_id: 1, f: [3, 1], l: [1, null], mx: [3, 2], mn: [1, 1, 2, 3]}");
  // n may depend on the group key.
  EXPECT_EQ(Run(R"([{"$group": {"_id": {"k": "$g"}, "f": {"$firstN": {"input": "$s", "n": "$k"}}}}])", in),
            "{_id: {k: 1}, f: [3]}");
}

TEST_F(GroupTest, NAccumulatorErrors) {
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "f": {"$firstN": 1}}}])"),
            "ERR 5787801 specification must be an object; found $firstN: 1");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "f": {"$maxN": {"input": 1}}}}])"), "ERR 5787906 Missing value for 'n'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "f": {"$maxN": {"n": 1}}}}])"), "ERR 5787907 Missing value for 'input'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "f": {"$maxN": {"n": 1, "input": 1, "x": 1}}}}])"),
            "ERR 5787901 Unknown argument for 'n' operator: x");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "f": {"$firstN": {"input": 1, "n": 0}}}}])", "[{}]"),
            "ERR 5787908 'n' must be greater than 0, found 0");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "f": {"$firstN": {"input": 1, "n": 1.5}}}}])", "[{}]"),
            "ERR 5787903 Value for 'n' must be of integral type, but found 1.5");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "f": {"$firstN": {"input": 1, "n": "a"}}}}])", "[{}]"),
            "ERR 5787902 Value for 'n' must be of integral type, but found \"a\"");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "t": {"$top": {"output": 1, "sortBy": {"a": 1}, "n": 1}}}}])"),
            "ERR 5788002 Unknown argument to $top 'n'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "t": {"$topN": {"output": 1, "sortBy": {"a": 1}}}}}])"),
            "ERR 5788003 Missing value for 'n'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "t": {"$top": {"sortBy": {"a": 1}}}}}])"),
            "ERR 5788004 Missing value for 'output'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "t": {"$top": {"output": 1}}}}])"), "ERR 5788005 Missing value for 'sortBy'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "t": {"$top": 1}}}])"),
            "ERR 5788001 specification must be an object; found $top: 1");
}

TEST_F(GroupTest, MedianAndPercentile) {
  std::string in = R"([{"v": 4}, {"v": 1}, {"v": 3}, {"v": 2}, {"v": "x"}])";
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "m": {"$median": {"input": "$v", "method": "approximate"}},
                    "p": {"$percentile": {"input": "$v", "p": [0, 0.25, 0.9, 1], "method": "approximate"}}}}])",
                in),
            "{_id: 1, m: 2.0, p: [1.0, 1.0, 4.0, 4.0]}");
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "m": {"$median": {"input": "$x", "method": "approximate"}}}}])", in),
            "{_id: 1, m: null}");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "m": {"$median": {"input": "$v", "method": "continuous"}}}}])"),
            "ERR 2 Currently only 'approximate' can be used as percentile 'method'.");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "m": {"$percentile": {"input": "$v", "p": [2], "method": "approximate"}}}}])"),
            "ERR 7750303 The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: 2");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "m": {"$percentile": {"input": "$v", "p": "$x", "method": "approximate"}}}}])"),
            "ERR 7750300 The $percentile 'p' field must be an array of constant values, but found value: \"$x\".");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "m": {"$median": {"input": "$v"}}}}])"),
            "ERR 40414 BSON field '$median.method' is missing but a required field");
  ctx_.version = 80;
  EXPECT_EQ(Run(R"([{"$group": {"_id": 1, "p": {"$percentile": {"input": "$v", "p": [0.5], "method": "continuous"}}}}])", in),
            "{_id: 1, p: [2.5]}");
  ctx_.version = 60;
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "m": {"$median": {"input": "$v", "method": "approximate"}}}}])"),
            "ERR 15952 unknown group operator '$median'");
}

TEST_F(GroupTest, AccumulatorVersionGating) {
  ctx_.version = 50;
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "t": {"$topN": {"output": 1, "sortBy": {"a": 1}, "n": 1}}}}])"),
            "ERR 15952 unknown group operator '$topN'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {"$count": {}}}}])"), "OK");
  ctx_.version = 44;
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {"$count": {}}}}])"), "ERR 15952 unknown group operator '$count'");
}

TEST_F(GroupTest, GroupValidation) {
  EXPECT_EQ(ParseErr(R"([{"$group": 1}])"), "ERR 15947 a group's fields must be specified in an object");
  EXPECT_EQ(ParseErr(R"([{"$group": {"n": {"$sum": 1}}}])"), "ERR 15955 a group specification must include an _id");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {"$foo": 1}}}])"), "ERR 15952 unknown group operator '$foo'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": 1}}])"), "ERR 40234 The field 'n' must be an accumulator object");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {}}}])"), "ERR 40234 The field 'n' must be an accumulator object");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "a.b": {"$sum": 1}}}])"), "ERR 40235 The field name 'a.b' cannot contain '.'");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "$a": {"$sum": 1}}}])"),
            "ERR 40236 The field name '$a' cannot be an operator name");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {"$sum": 1, "$max": 1}}}])"),
            "ERR 40238 The field 'n' must specify one accumulator");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {"$sum": []}}}])"), "ERR 40237 The $sum accumulator is a unary operator");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": {"a": 1}}}])"), "ERR 17390 $group does not support inclusion-style expressions");
  EXPECT_EQ(ParseErr(R"([{"$group": {"_id": 1, "n": {"$count": 1}}}])"),
            "ERR 14 $count takes no arguments, i.e. $count:{}");
}

TEST_F(GroupTest, GroupsManyDocuments) {
  std::vector<Bson> docs;
  for (int i = 0; i < 20000; ++i) {
    Bson d;
    common::append_int32(d.mut(), "_id", i);
    common::append_int32(d.mut(), "k", i % 7);
    common::append_int32(d.mut(), "v", i);
    docs.push_back(std::move(d));
  }
  // k = 0: i = 0, 7, ..., 19999 → 2858 values summing to 7 * (2857 * 2858 / 2).
  EXPECT_EQ(RunDocs(R"([{"$group": {"_id": "$k", "n": {"$sum": 1}, "s": {"$sum": "$v"}}}, {"$sort": {"_id": 1}},
                        {"$limit": 2}])",
                    std::move(docs)),
            "{_id: 0, n: 2858, s: 28578571}\n{_id: 1, n: 2857, s: 28561429}");
}

TEST_F(GroupTest, GroupMemoryLimit) {
  ctx_.allow_disk_use = false;
  std::vector<Bson> docs = BigDocs(110, 1024 * 1024);
  EXPECT_EQ(RunDocs(R"([{"$group": {"_id": "$_id", "all": {"$push": "$s"}}}])", docs),
            "ERR 292 Exceeded memory limit for $group, but didn't allow external sort. Pass allowDiskUse:true to opt in.");
  ctx_.allow_disk_use = true;
  EXPECT_EQ(RunDocs(R"([{"$group": {"_id": "$_id", "all": {"$push": "$s"}}}, {"$count": "n"}])", docs), "{n: 110}");
}

// ---- $bucket --------------------------------------------------------------------------------

TEST_F(GroupTest, BucketGroupsByBoundaries) {
  std::string in = R"([{"v": 1}, {"v": 5}, {"v": 10}, {"v": 12}, {"v": 25}, {"v": "s"}, {}])";
  EXPECT_EQ(Run(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, 10, 20], "default": "other"}}])", in),
            "{_id: 0, count: 2}\n{_id: 10, count: 2}\n{_id: \"other\", count: 3}");
  EXPECT_EQ(Run(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, 10], "default": -1,
                    "output": {"vals": {"$push": "$v"}}}}])",
                in),
            "{_id: -1, vals: [10, 12, 25, \"s\"]}\n{_id: 0, vals: [1, 5]}");
  EXPECT_EQ(Run(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, 10]}}])", in),
            "ERR 7158303 $switch could not find a matching branch for an input, and no default was specified.");
}

TEST_F(GroupTest, BucketValidation) {
  EXPECT_EQ(ParseErr(R"([{"$bucket": 1}])"), "ERR 40201 Argument to $bucket stage must be an object, but found type: int.");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": [1, 2], "boundaries": [0, 1]}}])"),
            "ERR 40202 The $bucket 'groupBy' field must be defined as a $-prefixed path or an expression, but found: "
            "[ 1, 2 ].");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": "abc"}}])"),
            "ERR 40200 The $bucket 'boundaries' field must be an array, but found type: string.");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0]}}])"),
            "ERR 40192 The $bucket 'boundaries' field must have at least 2 values, but found 1 value(s).");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, 400, 200]}}])"),
            "ERR 40194 The 'boundaries' option to $bucket must be sorted, but elements 1 and 2 are not in ascending order "
            "(400 is not less than 200).");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, "a"]}}])"),
            "ERR 40193 All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting "
            "types int and string.");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, "$x"]}}])"),
            "ERR 40191 The $bucket 'boundaries' field must be an array of constant values, but found value: \"$x\".");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, 10], "default": 5}}])"),
            "ERR 40199 The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the "
            "highest boundary.");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v", "boundaries": [0, 10], "output": "a"}}])"),
            "ERR 40196 The $bucket 'output' field must be an object, but found type: string.");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"groupBy": "$v"}}])"),
            "ERR 40198 $bucket requires 'groupBy' and 'boundaries' to be specified.");
  EXPECT_EQ(ParseErr(R"([{"$bucket": {"x": 1}}])"), "ERR 40197 Unrecognized option to $bucket: x.");
}

// ---- $bucketAuto ----------------------------------------------------------------------------

TEST_F(GroupTest, BucketAutoSplitsEvenly) {
  std::string in = "[";
  for (int i = 1; i <= 10; ++i) in += std::string(i > 1 ? "," : "") + "{\"v\": " + std::to_string(i) + "}";
  in += "]";
  EXPECT_EQ(Run(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 3}}])", in),
            "{_id: {min: 1, max: 4}, count: 3}\n{_id: {min: 4, max: 7}, count: 3}\n{_id: {min: 7, max: 10}, count: 4}");
  // Equal values stay in one bucket.
  EXPECT_EQ(Run(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "output": {"s": {"$sum": "$v"}}}}])",
                R"([{"v": 1}, {"v": 1}, {"v": 1}, {"v": 2}])"),
            "{_id: {min: 1, max: 2}, s: 3}\n{_id: {min: 2, max: 2}, s: 2}");
  EXPECT_EQ(Run(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 5}}])", R"([{"v": 3}, {"v": 1}])"),
            "{_id: {min: 1, max: 3}, count: 1}\n{_id: {min: 3, max: 3}, count: 1}");
}

TEST_F(GroupTest, BucketAutoGranularity) {
  std::string in = R"([{"v": 1}, {"v": 3}, {"v": 7}, {"v": 12}, {"v": 19}, {"v": 33}])";
  EXPECT_EQ(Run(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "R5"}}])", in),
            "{_id: {min: 0.63, max: 4.0}, count: 2}\n{_id: {min: 4.0, max: 16.0}, count: 2}\n"
            "{_id: {min: 16.0, max: 40.0}, count: 2}");
  EXPECT_EQ(Run(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "POWERSOF2"}}])", in),
            "{_id: {min: 0.5, max: 8}, count: 3}\n{_id: {min: 8, max: 64}, count: 3}");
  EXPECT_EQ(Run(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "E6"}}])", R"([{"v": -1}])"),
            "ERR 40260 $bucketAuto can specify a 'granularity' with numeric boundaries only, but found a negative value: "
            "-1.");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R7"}}])"),
            "ERR 40257 Unknown rounding granularity 'R7'");
}

TEST_F(GroupTest, BucketAutoValidation) {
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": 1}])"), "ERR 40240 The argument to $bucketAuto must be an object, but found type: int");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "v", "buckets": 1}}])"),
            "ERR 40239 The $bucketAuto 'groupBy' field must be defined as a $-prefixed path or an expression object, but "
            "found: \"v\"");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": "a"}}])"),
            "ERR 40241 The $bucketAuto 'buckets' field must be a numeric value, but found type: string");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 1.5}}])"),
            "ERR 40242 The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found 1.5");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 0}}])"),
            "ERR 40243 The $bucketAuto 'buckets' field must be greater than 0, but found: 0");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "$v"}}])"),
            "ERR 40246 $bucketAuto requires 'groupBy' and 'buckets' to be specified");
  EXPECT_EQ(ParseErr(R"([{"$bucketAuto": {"groupBy": "$v", "buckets": 1, "y": 1}}])"),
            "ERR 40245 Unrecognized option to $bucketAuto: y");
}

// ---- $sortByCount ---------------------------------------------------------------------------

TEST_F(GroupTest, SortByCount) {
  EXPECT_EQ(Run(R"([{"$sortByCount": "$item"}])", kSales),
            "{_id: \"a\", count: 2}\n{_id: \"b\", count: 2}\n{_id: \"c\", count: 1}");
  EXPECT_EQ(Run(R"([{"$sortByCount": {"$gt": ["$qty", 2]}}])", kSales), "{_id: false, count: 3}\n{_id: true, count: 2}");
  EXPECT_EQ(ParseErr(R"([{"$sortByCount": "item"}])"),
            "ERR 40148 the sortByCount field must be defined as a $-prefixed path or an expression inside an object");
  EXPECT_EQ(ParseErr(R"([{"$sortByCount": 1}])"), "ERR 40149 the sortByCount field must be specified as a string or as an object");
}

}  // namespace
}  // namespace mql::testing
