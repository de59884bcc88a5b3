// Pipeline structure (stage parsing, positions, version gating, namespaces) and the streaming
// stages: $match, $limit, $skip, $sort, $count, $sample, $unwind, $replaceRoot/$replaceWith,
// $redact, $documents; pipeline updates.
#include <gtest/gtest.h>

#include <set>

#include "pipeline_test_util.h"

namespace mql::testing {
namespace {

class PipelineTest : public PipelineFixture {};

// ---- structure ------------------------------------------------------------------------------

TEST_F(PipelineTest, EmptyPipelinePassesDocumentsThrough) {
  EXPECT_EQ(Run("[]", R"([{"_id": 1}, {"_id": 2}])"), "{_id: 1}\n{_id: 2}");
}

TEST_F(PipelineTest, StageMustBeAnObjectWithOneField) {
  EXPECT_EQ(ParseErr("[1]"), "ERR 14 Each element of the 'pipeline' array must be an object");
  EXPECT_EQ(ParseErr(R"([{"$match": {}, "$limit": 1}])"),
            "ERR 40323 A pipeline stage specification object must contain exactly one field.");
  EXPECT_EQ(ParseErr("[{}]"), "ERR 40323 A pipeline stage specification object must contain exactly one field.");
  EXPECT_EQ(ParseErr(R"([{"$foo": 1}])"), "ERR 40324 Unrecognized pipeline stage name: '$foo'");
}

TEST_F(PipelineTest, StagesNewerThanTheServerVersionAreUnknown) {
  ctx_.version = 44;
  EXPECT_EQ(ParseErr(R"([{"$setWindowFields": {"output": {}}}])"),
            "ERR 40324 Unrecognized pipeline stage name: '$setWindowFields'");
  EXPECT_EQ(ParseErr(R"([{"$documents": []}])"), "ERR 40324 Unrecognized pipeline stage name: '$documents'");
  ctx_.version = 50;
  EXPECT_EQ(ParseErr(R"([{"$densify": {}}])"), "ERR 40324 Unrecognized pipeline stage name: '$densify'");
  EXPECT_EQ(ParseErr(R"([{"$fill": {}}])"), "ERR 40324 Unrecognized pipeline stage name: '$fill'");
  ctx_.version = 60;
  EXPECT_EQ(ParseErr(R"([{"$documents": []}])"), "OK");
}

TEST_F(PipelineTest, PositionRules) {
  EXPECT_EQ(ParseErr(R"([{"$match": {}}, {"$collStats": {}}])"),
            "ERR 40602 $collStats is only valid as the first stage in a pipeline");
  EXPECT_EQ(ParseErr(R"([{"$match": {}}, {"$documents": []}])"),
            "ERR 40602 $documents is only valid as the first stage in a pipeline");
  EXPECT_EQ(ParseErr(R"([{"$out": "x"}, {"$match": {}}])"), "ERR 40601 $out can only be the final stage in the pipeline");
  EXPECT_EQ(ParseErr(R"([{"$merge": "x"}, {"$match": {}}])"),
            "ERR 40601 $merge can only be the final stage in the pipeline");
}

TEST_F(PipelineTest, LeadingMatchAndFlags) {
  auto p = Parse(R"([{"$match": {"a": 1}}, {"$out": "x"}])");
  ASSERT_TRUE(p.ok());
  ASSERT_NE((*p)->leading_match(), nullptr);
  EXPECT_EQ(Show((*p)->leading_match()), "{a: 1}");
  EXPECT_TRUE((*p)->writes_output());
  EXPECT_FALSE((*p)->is_collectionless_source());
  auto q = Parse(R"([{"$documents": [{"a": 1}]}])");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->leading_match(), nullptr);
  EXPECT_TRUE((*q)->is_collectionless_source());
  EXPECT_FALSE((*q)->writes_output());
}

TEST_F(PipelineTest, NamespaceChecks) {
  auto docs = Parse(R"([{"$documents": []}])");
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE((*docs)->check_namespace(true).ok());
  EXPECT_EQ((*docs)->check_namespace(false).message(), "'$documents' can only be run with {aggregate: 1}");
  auto match = Parse(R"([{"$match": {}}])");
  ASSERT_TRUE(match.ok());
  EXPECT_EQ((*match)->check_namespace(true).code(), common::kInvalidNamespace);
  EXPECT_EQ((*match)->check_namespace(true).message(),
            "{aggregate: 1} is not valid for '$match'; a collection is required.");
  auto stats = Parse(R"([{"$collStats": {}}])");
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE((*stats)->is_collectionless_source());
  EXPECT_TRUE((*stats)->check_namespace(false).ok());
  auto empty = Parse("[]");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->check_namespace(true).message(), "{aggregate: 1} is not valid for an empty pipeline.");
}

TEST_F(PipelineTest, PipelineLengthLimit) {
  std::string p = "[";
  for (int i = 0; i < 1001; ++i) p += std::string(i ? "," : "") + R"({"$match": {}})";
  p += "]";
  EXPECT_EQ(ParseErr(p), "ERR 9 Pipeline length must be no longer than 1000 stages");
}

// ---- $match ---------------------------------------------------------------------------------

TEST_F(PipelineTest, MatchFiltersWithQuerySemanticsAndExpr) {
  std::string in = R"([{"_id": 1, "a": [1, 5]}, {"_id": 2, "a": 3}, {"_id": 3}])";
  EXPECT_EQ(Run(R"([{"$match": {"a": {"$gt": 4}}}])", in), "{_id: 1, a: [1, 5]}");
  EXPECT_EQ(Run(R"([{"$match": {"a": null}}])", in), "{_id: 3}");
  EXPECT_EQ(Run(R"([{"$match": {"$expr": {"$eq": ["$a", 3]}}}])", in), "{_id: 2, a: 3}");
  EXPECT_EQ(ParseErr(R"([{"$match": 1}])"), "ERR 15959 the match filter must be an expression in an object");
  EXPECT_EQ(ParseErr(R"([{"$match": {"$foo": 1}}])"), "ERR 2 unknown top level operator: $foo. If you have a field name that starts with a '$' "
            "symbol, consider using $getField or $setField.");
}

// ---- $limit / $skip -------------------------------------------------------------------------

TEST_F(PipelineTest, LimitAndSkip) {
  std::string in = R"([{"_id": 1}, {"_id": 2}, {"_id": 3}])";
  EXPECT_EQ(Run(R"([{"$skip": 1}, {"$limit": 1}])", in), "{_id: 2}");
  EXPECT_EQ(Run(R"([{"$skip": 5}])", in), "");
  EXPECT_EQ(Run(R"([{"$limit": 2.0}])", in), "{_id: 1}\n{_id: 2}");
  EXPECT_EQ(Run(R"([{"$skip": {"$numberLong": "0"}}])", in), "{_id: 1}\n{_id: 2}\n{_id: 3}");
}

TEST_F(PipelineTest, LimitAndSkipValidation) {
  EXPECT_EQ(ParseErr(R"([{"$limit": 0}])"), "ERR 15958 the limit must be positive");
  EXPECT_EQ(ParseErr(R"([{"$limit": -1}])"),
            "ERR 5107201 invalid argument to $limit stage: Expected a non-negative number in: $limit: -1");
  EXPECT_EQ(ParseErr(R"([{"$limit": 1.5}])"), "ERR 5107201 invalid argument to $limit stage: Expected an integer: $limit: 1.5");
  EXPECT_EQ(ParseErr(R"([{"$limit": "x"}])"),
            "ERR 5107201 invalid argument to $limit stage: Expected a number in: $limit: \"x\"");
  EXPECT_EQ(ParseErr(R"([{"$skip": -1}])"),
            "ERR 5107200 invalid argument to $skip stage: Expected a non-negative number in: $skip: -1");
  EXPECT_EQ(ParseErr(R"([{"$skip": true}])"),
            "ERR 5107200 invalid argument to $skip stage: Expected a number in: $skip: true");
  EXPECT_EQ(ParseErr(R"([{"$skip": {"$numberDouble": "NaN"}}])").substr(0, 59),
            "ERR 5107200 invalid argument to $skip stage: Expected an in");
  ctx_.version = 44;
  EXPECT_EQ(ParseErr(R"([{"$limit": "x"}])"), "ERR 15957 the limit must be specified as a number");
  EXPECT_EQ(ParseErr(R"([{"$skip": -1}])"), "ERR 15956 Argument to $skip cannot be negative");
  EXPECT_EQ(ParseErr(R"([{"$skip": "x"}])"), "ERR 15972 Argument to $skip must be a number");
}

TEST_F(PipelineTest, LimitIsPullBased) {
  // $limit stops pulling: a failing document after the limit is never evaluated.
  std::string in = R"([{"_id": 1, "a": 1}, {"_id": 2, "a": 0}])";
  EXPECT_EQ(Run(R"([{"$limit": 1}, {"$project": {"x": {"$divide": [1, "$a"]}}}])", in), "{_id: 1, x: 1.0}");
}

// ---- $sort ----------------------------------------------------------------------------------

TEST_F(PipelineTest, SortOrdersByTypeThenValueAndIsStable) {
  std::string in = R"([{"_id": 1, "a": "x"}, {"_id": 2, "a": 2}, {"_id": 3}, {"_id": 4, "a": 1.5},
                       {"_id": 5, "a": null}, {"_id": 6, "a": 2}])";
  EXPECT_EQ(Run(R"([{"$sort": {"a": 1}}, {"$project": {"_id": 1}}])", in),
            "{_id: 3}\n{_id: 5}\n{_id: 4}\n{_id: 2}\n{_id: 6}\n{_id: 1}");
  EXPECT_EQ(Run(R"([{"$sort": {"a": -1, "_id": 1}}, {"$project": {"_id": 1}}])", in),
            "{_id: 1}\n{_id: 2}\n{_id: 6}\n{_id: 4}\n{_id: 3}\n{_id: 5}");
}

TEST_F(PipelineTest, SortByArrayUsesSmallestOrLargestElement) {
  std::string in = R"([{"_id": 1, "a": [5, 1]}, {"_id": 2, "a": [3]}, {"_id": 3, "a": []}])";
  EXPECT_EQ(Run(R"([{"$sort": {"a": 1}}, {"$project": {"_id": 1}}])", in), "{_id: 3}\n{_id: 1}\n{_id: 2}");
  EXPECT_EQ(Run(R"([{"$sort": {"a": -1}}, {"$project": {"_id": 1}}])", in), "{_id: 1}\n{_id: 2}\n{_id: 3}");
}

TEST_F(PipelineTest, SortWithLimitKeepsTopK) {
  std::string in = "[";
  for (int i = 0; i < 50; ++i) in += std::string(i ? "," : "") + "{\"_id\": " + std::to_string((i * 17) % 50) + "}";
  in += "]";
  EXPECT_EQ(Run(R"([{"$sort": {"_id": -1}}, {"$limit": 3}])", in), "{_id: 49}\n{_id: 48}\n{_id: 47}");
}

TEST_F(PipelineTest, SortWithCollation) {
  Bson spec = J(R"({"locale": "en", "strength": 2})");
  auto c = Collator::make(spec.get());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ctx_.collator = std::move(c).value();
  EXPECT_EQ(Run(R"([{"$sort": {"s": 1}}, {"$project": {"_id": 0}}])", R"([{"s": "b"}, {"s": "B"}, {"s": "a"}])"),
            "{s: \"a\"}\n{s: \"b\"}\n{s: \"B\"}");
}

TEST_F(PipelineTest, SortValidation) {
  EXPECT_EQ(ParseErr(R"([{"$sort": 1}])"), "ERR 15973 the $sort key specification must be an object");
  EXPECT_EQ(ParseErr(R"([{"$sort": {}}])"), "ERR 15976 $sort stage must have at least one sort key");
  EXPECT_EQ(ParseErr(R"([{"$sort": {"a": 2}}])"),
            "ERR 15975 $sort key ordering must be 1 (for ascending) or -1 (for descending)");
  EXPECT_EQ(ParseErr(R"([{"$sort": {"a": "x"}}])"),
            "ERR 15974 $sort key ordering must be specified using a number or {$meta: 'textScore'}");
}

TEST_F(PipelineTest, SortMemoryLimitWithoutDiskUse) {
  ctx_.allow_disk_use = false;
  std::vector<Bson> docs = BigDocs(110, 1024 * 1024);
  EXPECT_EQ(RunDocs(R"([{"$sort": {"_id": -1}}])", docs),
            "ERR 292 Sort exceeded memory limit of 104857600 bytes, but did not opt in to external sorting.");
  // A top-k sort holds only k documents and never hits the limit.
  EXPECT_EQ(RunDocs(R"([{"$sort": {"_id": -1}}, {"$limit": 2}, {"$project": {"_id": 1}}])", docs),
            "{_id: 109}\n{_id: 108}");
  // Allowed disk use (the 6.0+ default): the sort completes in memory.
  ctx_.allow_disk_use.reset();
  EXPECT_EQ(RunDocs(R"([{"$sort": {"_id": -1}}, {"$skip": 108}, {"$project": {"_id": 1}}])", docs),
            "{_id: 1}\n{_id: 0}");
}

// ---- $count ---------------------------------------------------------------------------------

TEST_F(PipelineTest, Count) {
  EXPECT_EQ(Run(R"([{"$count": "n"}])", R"([{"a": 1}, {"a": 2}])"), "{n: 2}");
  EXPECT_EQ(Run(R"([{"$count": "n"}])", "[]"), "");
  EXPECT_EQ(ParseErr(R"([{"$count": ""}])"), "ERR 40156 the count field must be a non-empty string");
  EXPECT_EQ(ParseErr(R"([{"$count": 1}])"), "ERR 40156 the count field must be a non-empty string");
  EXPECT_EQ(ParseErr(R"([{"$count": "$n"}])"), "ERR 40158 the count field cannot be a $-prefixed path");
  EXPECT_EQ(ParseErr(R"([{"$count": "a.b"}])"), "ERR 40160 the count field cannot contain '.'");
}

// ---- $sample --------------------------------------------------------------------------------

TEST_F(PipelineTest, SampleReturnsDistinctInputDocuments) {
  std::string in = "[";
  for (int i = 0; i < 100; ++i) in += std::string(i ? "," : "") + "{\"_id\": " + std::to_string(i) + "}";
  in += "]";
  std::string out = Run(R"([{"$sample": {"size": 10}}])", in);
  std::set<std::string> lines;
  size_t start = 0;
  while (start <= out.size()) {
    size_t nl = out.find('\n', start);
    lines.insert(out.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  EXPECT_EQ(lines.size(), 10u);
  EXPECT_EQ(Run(R"([{"$sample": {"size": 5}}, {"$count": "n"}])", R"([{"a": 1}, {"a": 2}])"), "{n: 2}");
  EXPECT_EQ(ParseErr(R"([{"$sample": 1}])"), "ERR 28745 the $sample stage specification must be an object");
  EXPECT_EQ(ParseErr(R"([{"$sample": {"size": "x"}}])"), "ERR 28746 size argument to $sample must be a number");
  EXPECT_EQ(ParseErr(R"([{"$sample": {"size": -1}}])"), "ERR 28747 size argument to $sample must not be negative");
  EXPECT_EQ(ParseErr(R"([{"$sample": {"n": 1}}])"), "ERR 28748 unrecognized option to $sample: n");
  EXPECT_EQ(ParseErr(R"([{"$sample": {}}])"), "ERR 28749 $sample stage must specify a size");
}

// ---- $unwind --------------------------------------------------------------------------------

TEST_F(PipelineTest, UnwindPathForm) {
  std::string in = R"([{"_id": 1, "a": [1, 2], "b": 0}, {"_id": 2, "a": []}, {"_id": 3, "a": null},
                       {"_id": 4}, {"_id": 5, "a": 7}])";
  EXPECT_EQ(Run(R"([{"$unwind": "$a"}])", in), "{_id: 1, a: 1, b: 0}\n{_id: 1, a: 2, b: 0}\n{_id: 5, a: 7}");
}

TEST_F(PipelineTest, UnwindPreserveAndIndex) {
  std::string in = R"([{"_id": 1, "a": [1, 2]}, {"_id": 2, "a": []}, {"_id": 3, "a": null}, {"_id": 4},
                       {"_id": 5, "a": 7}])";
  EXPECT_EQ(Run(R"([{"$unwind": {"path": "$a", "includeArrayIndex": "i", "preserveNullAndEmptyArrays": true}}])", in),
            "{_id: 1, a: 1, i: NumberLong(0)}\n{_id: 1, a: 2, i: NumberLong(1)}\n{_id: 2, i: null}\n"
            "{_id: 3, a: null, i: null}\n{_id: 4, i: null}\n{_id: 5, a: 7, i: null}");
}

TEST_F(PipelineTest, UnwindNestedPathDoesNotTraverseArrays) {
  std::string in = R"([{"_id": 1, "x": {"a": [1, 2]}}, {"_id": 2, "x": [{"a": [3]}]}])";
  EXPECT_EQ(Run(R"([{"$unwind": "$x.a"}])", in), "{_id: 1, x: {a: 1}}\n{_id: 1, x: {a: 2}}");
}

TEST_F(PipelineTest, UnwindValidation) {
  EXPECT_EQ(ParseErr(R"([{"$unwind": 1}])"),
            "ERR 15981 expected either a string or an object as specification for $unwind stage, got int");
  EXPECT_EQ(ParseErr(R"([{"$unwind": "a"}])"), "ERR 28818 path option to $unwind stage should be prefixed with a '$': a");
  EXPECT_EQ(ParseErr(R"([{"$unwind": {"path": 1}}])"), "ERR 28808 expected a string as the path for $unwind stage, got int");
  EXPECT_EQ(ParseErr(R"([{"$unwind": {"path": "$a", "preserveNullAndEmptyArrays": 1}}])"),
            "ERR 28809 expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got int");
  EXPECT_EQ(ParseErr(R"([{"$unwind": {"path": "$a", "includeArrayIndex": ""}}])"),
            "ERR 28810 expected a non-empty string for the includeArrayIndex option to $unwind stage, got string");
  EXPECT_EQ(ParseErr(R"([{"$unwind": {"path": "$a", "includeArrayIndex": "$i"}}])"),
            "ERR 28822 includeArrayIndex option to $unwind stage should not be prefixed with a '$': $i");
  EXPECT_EQ(ParseErr(R"([{"$unwind": {"path": "$a", "x": 1}}])"), "ERR 28811 unrecognized option to $unwind stage: x");
  EXPECT_EQ(ParseErr(R"([{"$unwind": {}}])"), "ERR 28812 no path specified to $unwind stage");
  EXPECT_EQ(ParseErr(R"([{"$unwind": "$"}])"), "ERR 40352 FieldPath cannot be constructed with empty string");
}

// ---- $replaceRoot / $replaceWith ------------------------------------------------------------

TEST_F(PipelineTest, ReplaceRootAndReplaceWith) {
  std::string in = R"([{"_id": 1, "a": {"b": 2}}])";
  EXPECT_EQ(Run(R"([{"$replaceRoot": {"newRoot": "$a"}}])", in), "{b: 2}");
  EXPECT_EQ(Run(R"([{"$replaceWith": {"x": "$_id"}}])", in), "{x: 1}");
  EXPECT_EQ(Run(R"([{"$replaceRoot": {"newRoot": "$a.b"}}])", in),
            "ERR 40228 'newRoot' expression  must evaluate to an object, but resulting value was: 2. Type of resulting "
            "value: 'int'. Input document: {_id: 1, a: {b: 2}}");
  EXPECT_EQ(Run(R"([{"$replaceWith": "$nope"}])", in),
            "ERR 40228 'replacement document' must evaluate to an object, but resulting value was: MISSING. Type of "
            "resulting value: 'missing'. Input document: {_id: 1, a: {b: 2}}");
  EXPECT_EQ(ParseErr(R"([{"$replaceRoot": "$a"}])"),
            "ERR 40229 expected an object as specification for $replaceRoot stage, got string");
  EXPECT_EQ(ParseErr(R"([{"$replaceRoot": {}}])"),
            "ERR 40414 BSON field '$replaceRoot.newRoot' is missing but a required field");
  EXPECT_EQ(ParseErr(R"([{"$replaceRoot": {"newRoot": "$a", "x": 1}}])"),
            "ERR 40415 BSON field '$replaceRoot.x' is an unknown field.");
}

// ---- $redact --------------------------------------------------------------------------------

TEST_F(PipelineTest, RedactDescendsPrunesAndKeeps) {
  std::string in = R"([{"_id": 1, "level": 1, "sub": {"level": 5, "x": 1}, "arr": [{"level": 2}, {"level": 9}, 3]},
                       {"_id": 2, "level": 8}])";
  std::string p = R"([{"$redact": {"$cond": [{"$lte": [{"$ifNull": ["$level", 0]}, 4]}, "$$DESCEND", "$$PRUNE"]}}])";
  EXPECT_EQ(Run(p, in), "{_id: 1, level: 1, arr: [{level: 2}, 3]}");
  EXPECT_EQ(Run(R"([{"$redact": "$$KEEP"}])", R"([{"_id": 1}])"), "{_id: 1}");
  EXPECT_EQ(Run(R"([{"$redact": 1}])", R"([{"_id": 1}])"),
            "ERR 17053 $redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, "
            "and $$PRUNE, but returned 1");
}

// ---- $documents -----------------------------------------------------------------------------

TEST_F(PipelineTest, DocumentsProducesItsArray) {
  EXPECT_EQ(Run(R"([{"$documents": [{"a": 1}, {"a": {"$add": [1, 1]}}]}, {"$match": {"a": 2}}])"), "{a: 2}");
  EXPECT_EQ(Run(R"([{"$documents": {"$map": {"input": [1, 2], "in": {"v": "$$this"}}}}])"), "{v: 1}\n{v: 2}");
  EXPECT_EQ(Run(R"([{"$documents": 1}])"), "ERR 5858203 an array is expected");
  EXPECT_EQ(Run(R"([{"$documents": [1]}])").substr(0, 74),
            "ERR 40228 'replacement document' must evaluate to an object, but resulting");
}

// ---- pipeline updates -----------------------------------------------------------------------

TEST_F(PipelineTest, UpdatePipelineAcceptsOnlyDocumentTransformations) {
  auto arr = J(R"({"p": [{"$set": {"b": {"$add": ["$a", 1]}}}, {"$unset": "a"}]})");
  bson_iter_t it;
  bson_iter_init_find(&it, arr.get(), "p");
  uint32_t len;
  const uint8_t* data;
  bson_iter_array(&it, &len, &data);
  bson_t stages;
  bson_init_static(&stages, data, len);
  auto p = Pipeline::parse(&stages, ctx_, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  auto r = apply_update_pipeline(**p, J(R"({"_id": 1, "a": 1})").get());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(Show(r->get()), "{_id: 1, b: 2}");

  auto bad = J(R"({"p": [{"$match": {}}]})");
  bson_iter_init_find(&it, bad.get(), "p");
  bson_iter_array(&it, &len, &data);
  bson_init_static(&stages, data, len);
  auto q = Pipeline::parse(&stages, ctx_, nullptr);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), common::kInvalidOptions);
  EXPECT_EQ(q.status().message(), "$match is not allowed to be used within an update");
}

}  // namespace
}  // namespace mql::testing
