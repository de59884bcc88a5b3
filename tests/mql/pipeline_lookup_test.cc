// Stages that reach other collections through the host: $lookup (equality, pipeline, both),
// $graphLookup, $unionWith, $facet, $out, $merge, $collStats, $indexStats, host stages.
#include <gtest/gtest.h>

#include "pipeline_test_util.h"

namespace mql::testing {
namespace {

class LookupTest : public PipelineFixture {
 protected:
  void SetUp() override {
    host_.Put("test.inv", R"([{"_id": 1, "sku": "a", "qty": 5}, {"_id": 2, "sku": "b", "qty": 0},
                              {"_id": 3, "sku": ["a", "c"], "qty": 2}, {"_id": 4, "qty": 9}])");
  }
};

TEST_F(LookupTest, EqualityJoinWithArrayAndNullSemantics) {
  std::string in = R"([{"_id": 10, "item": "a"}, {"_id": 11, "item": ["b", "c"]}, {"_id": 12}])";
  EXPECT_EQ(Run(R"([{"$lookup": {"from": "inv", "localField": "item", "foreignField": "sku", "as": "m"}},
                    {"$project": {"ids": "$m._id"}}])",
                in),
            "{_id: 10, ids: [1, 3]}\n{_id: 11, ids: [2, 3]}\n{_id: 12, ids: [4]}");
  // One indexed lookup per input document, never a scan per document.
  EXPECT_EQ(host_.finds, 3);
  EXPECT_EQ(host_.opens, 3);  // the default find_equal of the fake host scans
}

TEST_F(LookupTest, AsReplacesExistingFieldInPlaceAndMayBeDotted) {
  EXPECT_EQ(Run(R"([{"$lookup": {"from": "inv", "localField": "k", "foreignField": "qty", "as": "k"}}])",
                R"([{"_id": 1, "k": 0, "z": 1}])"),
            "{_id: 1, k: [{_id: 2, sku: \"b\", qty: 0}], z: 1}");
  EXPECT_EQ(Run(R"([{"$lookup": {"from": "nope", "localField": "k", "foreignField": "k", "as": "x.y"}}])",
                R"([{"_id": 1, "x": {"a": 1}}])"),
            "{_id: 1, x: {a: 1, y: []}}");
}

TEST_F(LookupTest, PipelineFormWithLet) {
  std::string in = R"([{"_id": 10, "min": 3}, {"_id": 11, "min": 100}])";
  EXPECT_EQ(Run(R"([{"$lookup": {"from": "inv", "let": {"m": "$min"},
                    "pipeline": [{"$match": {"$expr": {"$gte": ["$qty", "$$m"]}}}, {"$project": {"_id": 1}}],
                    "as": "r"}}])",
                in),
            "{_id: 10, min: 3, r: [{_id: 1}, {_id: 4}]}\n{_id: 11, min: 100, r: []}");
}

TEST_F(LookupTest, EqualityAndPipelineCombined) {
  EXPECT_EQ(Run(R"([{"$lookup": {"from": "inv", "localField": "item", "foreignField": "sku", "let": {"q": "$q"},
                    "pipeline": [{"$match": {"$expr": {"$gt": ["$qty", "$$q"]}}}, {"$project": {"_id": 1}}],
                    "as": "r"}}])",
                R"([{"_id": 1, "item": "a", "q": 3}])"),
            "{_id: 1, item: \"a\", q: 3, r: [{_id: 1}]}");
  ctx_.version = 44;
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "inv", "localField": "a", "foreignField": "b", "pipeline": [], "as": "r"}}])"),
            "ERR 9 $lookup with 'pipeline' may not specify 'localField' or 'foreignField'");
}

TEST_F(LookupTest, UncorrelatedPipelineRunsOnceAndDocumentsNeedNoCollection) {
  EXPECT_EQ(Run(R"([{"$lookup": {"from": "inv", "pipeline": [{"$count": "n"}], "as": "c"}}])",
                R"([{"_id": 1}, {"_id": 2}, {"_id": 3}])"),
            "{_id: 1, c: [{n: 4}]}\n{_id: 2, c: [{n: 4}]}\n{_id: 3, c: [{n: 4}]}");
  EXPECT_EQ(host_.opens, 1);
  EXPECT_EQ(Run(R"([{"$lookup": {"pipeline": [{"$documents": [{"x": 1}]}], "as": "d"}}])", R"([{"_id": 1}])"),
            "{_id: 1, d: [{x: 1}]}");
}

TEST_F(LookupTest, LookupValidation) {
  EXPECT_EQ(ParseErr(R"([{"$lookup": 1}])"), "ERR 9 the $lookup specification must be an Object");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "localField": "a", "foreignField": "b"}}])"),
            "ERR 9 must specify 'as' field for a $lookup");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y"}}])"),
            "ERR 9 $lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y", "localField": "a", "pipeline": []}}])"),
            "ERR 9 $lookup requires both or neither of 'localField' and 'foreignField' to be specified");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y", "localField": "a", "foreignField": "b", "let": {}}}])"),
            "ERR 9 $lookup with a 'let' argument must also specify 'pipeline'");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": 1}}])"), "ERR 9 $lookup argument 'as: 1' must be a string, is type int");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y", "z": "a"}}])"), "ERR 9 unknown argument to $lookup: z");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"as": "y", "pipeline": [{"$match": {}}]}}])"),
            "ERR 9 $lookup stage without explicit collection must have a pipeline with $documents as first stage");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y", "pipeline": [{"$out": "z"}]}}])"),
            "ERR 51047 $out is not allowed within a $lookup's sub-pipeline");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y", "let": {"Bad": 1}, "pipeline": []}}])"),
            "ERR 16867 'Bad' starts with an invalid character for a user variable name");
  EXPECT_EQ(ParseErr(R"([{"$lookup": {"from": "x", "as": "y", "pipeline": [{"$match": {"$expr": "$$nope"}}]}}])"),
            "ERR 17276 Use of undefined variable: nope");
}

TEST_F(LookupTest, SubPipelineDepthLimit) {
  std::string p = R"({"$match": {}})";
  for (int i = 0; i < 21; ++i) p = R"({"$facet": {"f": [)" + p + "]}}";
  EXPECT_EQ(ParseErr("[" + p + "]").substr(0, 70), "ERR 40600 $facet is not allowed to be used within a $facet stage");
  std::string q = R"({"$match": {}})";
  for (int i = 0; i < 21; ++i) q = R"({"$unionWith": {"coll": "x", "pipeline": [)" + q + "]}}";
  EXPECT_EQ(ParseErr("[" + q + "]"), "ERR 232 Maximum number of nested sub-pipelines exceeded. Limit is 20");
}

// ---- $graphLookup ---------------------------------------------------------------------------

TEST_F(LookupTest, GraphLookupFollowsEdgesWithDepth) {
  host_.Put("test.emp", R"([{"_id": 1, "name": "a", "boss": null}, {"_id": 2, "name": "b", "boss": "a"},
                            {"_id": 3, "name": "c", "boss": "b"}, {"_id": 4, "name": "d", "boss": "c"},
                            {"_id": 5, "name": "e", "boss": "a"}])");
  std::string p = R"([{"$graphLookup": {"from": "emp", "startWith": "$boss", "connectFromField": "boss",
                       "connectToField": "name", "as": "chain", "depthField": "d"}},
                      {"$project": {"c": "$chain.name", "d": "$chain.d"}}])";
  EXPECT_EQ(Run(p, R"([{"_id": 9, "boss": "c"}])"), "{_id: 9, c: [\"c\", \"b\", \"a\"], d: [NumberLong(0), NumberLong(1), NumberLong(2)]}");
  std::string q = R"([{"$graphLookup": {"from": "emp", "startWith": "$boss", "connectFromField": "boss",
                       "connectToField": "name", "as": "chain", "maxDepth": 0}}, {"$project": {"c": "$chain.name"}}])";
  EXPECT_EQ(Run(q, R"([{"_id": 9, "boss": ["d", "e"]}])"), "{_id: 9, c: [\"d\", \"e\"]}");
  std::string r = R"([{"$graphLookup": {"from": "emp", "startWith": "a", "connectFromField": "name",
                       "connectToField": "boss", "as": "reports", "restrictSearchWithMatch": {"name": {"$ne": "e"}}}},
                      {"$project": {"r": "$reports.name"}}])";
  EXPECT_EQ(Run(r, R"([{"_id": 9}])"), "{_id: 9, r: [\"b\", \"c\", \"d\"]}");
}

TEST_F(LookupTest, GraphLookupStopsOnCycles) {
  host_.Put("test.g", R"([{"_id": 1, "to": 2}, {"_id": 2, "to": 3}, {"_id": 3, "to": 1}])");
  EXPECT_EQ(Run(R"([{"$graphLookup": {"from": "g", "startWith": 1, "connectFromField": "to", "connectToField": "_id",
                    "as": "r", "depthField": "d"}}, {"$project": {"ids": "$r._id", "d": "$r.d"}}])",
                R"([{"_id": 0}])"),
            "{_id: 0, ids: [1, 2, 3], d: [NumberLong(0), NumberLong(1), NumberLong(2)]}");
}

TEST_F(LookupTest, GraphLookupValidation) {
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"from": "x", "startWith": 1, "connectFromField": "a", "connectToField": "b"}}])"),
            "ERR 40105 $graphLookup requires 'from', 'as', 'startWith', 'connectFromField', and 'connectToField' to be "
            "specified.");
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"maxDepth": "x"}}])"), "ERR 40100 maxDepth must be numeric, found type: string");
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"maxDepth": -1}}])"), "ERR 40101 maxDepth requires a nonnegative argument, found: -1");
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"maxDepth": 1.5}}])"), "ERR 40102 maxDepth could not be represented as a long long: 1");
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"as": 1}}])"), "ERR 40103 expected string as argument for as, found: 1");
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"x": "y"}}])"), "ERR 40104 Unknown argument to $graphLookup: x");
  EXPECT_EQ(ParseErr(R"([{"$graphLookup": {"restrictSearchWithMatch": 1}}])"),
            "ERR 40185 restrictSearchWithMatch must be an object, found int");
}

// ---- $unionWith -----------------------------------------------------------------------------

TEST_F(LookupTest, UnionWithAppendsAnotherCollection) {
  EXPECT_EQ(Run(R"([{"$unionWith": {"coll": "inv", "pipeline": [{"$match": {"qty": {"$gt": 4}}}]}}, {"$project": {"_id": 1}}])",
                R"([{"_id": "x"}])"),
            "{_id: \"x\"}\n{_id: 1}\n{_id: 4}");
  EXPECT_EQ(Run(R"([{"$unionWith": "nope"}])", R"([{"_id": 1}])"), "{_id: 1}");
  EXPECT_EQ(Run(R"([{"$unionWith": {"pipeline": [{"$documents": [{"d": 1}]}]}}])", R"([{"_id": 1}])"), "{_id: 1}\n{d: 1}");
  EXPECT_EQ(ParseErr(R"([{"$unionWith": {"coll": "x", "pipeline": [{"$merge": "y"}]}}])"),
            "ERR 31441 $merge is not allowed within a $unionWith's sub-pipeline");
  EXPECT_EQ(ParseErr(R"([{"$unionWith": {"coll": "x", "foo": 1}}])"), "ERR 40415 BSON field '$unionWith.foo' is an unknown field.");
  EXPECT_EQ(ParseErr(R"([{"$unionWith": {}}])"), "ERR 40414 BSON field '$unionWith.coll' is missing but a required field");
}

// ---- $facet ---------------------------------------------------------------------------------

TEST_F(LookupTest, FacetRunsEachSubPipelineOverTheInput) {
  std::string in = R"([{"v": 1}, {"v": 2}, {"v": 3}])";
  EXPECT_EQ(Run(R"([{"$facet": {"big": [{"$match": {"v": {"$gt": 1}}}, {"$count": "n"}],
                    "all": [{"$group": {"_id": null, "s": {"$sum": "$v"}}}], "none": [{"$match": {"v": 9}}]}}])",
                in),
            "{big: [{n: 2}], all: [{_id: null, s: 6}], none: []}");
}

TEST_F(LookupTest, FacetValidation) {
  EXPECT_EQ(ParseErr(R"([{"$facet": {}}])"), "ERR 40169 the $facet specification must be a non-empty object, but found: $facet: {}");
  EXPECT_EQ(ParseErr(R"([{"$facet": {"a": 1}}])"), "ERR 40170 arguments to $facet must be arrays, a is type int");
  EXPECT_EQ(ParseErr(R"([{"$facet": {"a": [1]}}])"),
            "ERR 40171 elements of arrays in $facet spec must be non-empty objects, a argument contained an element of "
            "type int: 0: 1");
  EXPECT_EQ(ParseErr(R"([{"$facet": {"a": [{"$out": "x"}]}}])"), "ERR 40600 $out is not allowed to be used within a $facet stage");
  EXPECT_EQ(ParseErr(R"([{"$facet": {"a": [{"$collStats": {}}]}}])"),
            "ERR 40600 $collStats is not allowed to be used within a $facet stage");
  EXPECT_EQ(ParseErr(R"([{"$facet": {"$a": []}}])"),
            "ERR 16410 FieldPath field names may not start with '$'. Consider using $getField or $setField.");
}

// ---- $out / $merge --------------------------------------------------------------------------

TEST_F(LookupTest, OutReplacesTheTargetCollection) {
  host_.Put("test.t", R"([{"_id": "old"}])");
  EXPECT_EQ(Run(R"([{"$match": {"qty": {"$gt": 1}}}, {"$project": {"qty": 1}}, {"$out": "t"}])", "[]"), "");
  EXPECT_TRUE(host_.colls["test.t"].empty());
  auto p = Parse(R"([{"$project": {"_id": 0, "v": 1}}, {"$out": {"db": "other", "coll": "t"}}])");
  ASSERT_TRUE(p.ok());
  auto src = (*p)->run(make_vector_source(Docs(R"([{"_id": 1, "v": 1}, {"_id": 2, "v": 2}])")));
  ASSERT_TRUE(src.ok());
  auto r = (*src)->next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  ASSERT_EQ(host_.colls["other.t"].size(), 2u);
  bson_iter_t id;
  EXPECT_TRUE(bson_iter_init_find(&id, host_.colls["other.t"][0].get(), "_id"));  // an _id was added
  EXPECT_EQ(ParseErr(R"([{"$out": 1}])"), "ERR 16990 $out only supports a string or object argument, but found int");
  EXPECT_EQ(ParseErr(R"([{"$out": "system.x"}])"), "ERR 17385 Can't $out to special collection: system.x");
  EXPECT_EQ(ParseErr(R"([{"$out": {"db": "admin", "coll": "x"}}])"), "ERR 31321 Can't $out to internal database: admin");
  EXPECT_EQ(ParseErr(R"([{"$out": {"coll": "x"}}])"), "ERR 40414 BSON field '$out.db' is missing but a required field");
}

TEST_F(LookupTest, MergeModes) {
  host_.Put("test.t", R"([{"_id": 1, "a": 1, "b": 1}, {"_id": 2, "a": 2}])");
  std::string in = R"([{"_id": 1, "a": 10}, {"_id": 3, "a": 30}])";
  EXPECT_EQ(Run(R"([{"$merge": "t"}])", in), "");
  ASSERT_EQ(host_.colls["test.t"].size(), 3u);
  EXPECT_EQ(Show(host_.colls["test.t"][0].get()), "{_id: 1, a: 10, b: 1}");
  EXPECT_EQ(Show(host_.colls["test.t"][2].get()), "{_id: 3, a: 30}");

  EXPECT_EQ(Run(R"([{"$merge": {"into": "t", "whenMatched": "replace", "whenNotMatched": "discard"}}])",
                R"([{"_id": 2, "z": 1}, {"_id": 9}])"),
            "");
  EXPECT_EQ(Show(host_.colls["test.t"][1].get()), "{_id: 2, z: 1}");
  EXPECT_EQ(host_.colls["test.t"].size(), 3u);

  EXPECT_EQ(Run(R"([{"$merge": {"into": "t", "let": {"inc": "$a"},
                    "whenMatched": [{"$set": {"a": {"$add": ["$a", "$$inc"]}, "from": "$$new._id"}}]}}])",
                R"([{"_id": 1, "a": 5}])"),
            "");
  EXPECT_EQ(Show(host_.colls["test.t"][0].get()), "{_id: 1, a: 15, b: 1, from: 1}");

  EXPECT_EQ(Run(R"([{"$merge": {"into": "t", "whenMatched": "fail"}}])", R"([{"_id": 1}])"),
            "ERR 11000 E11000 duplicate key error collection: test.t index: _id_ dup key: { _id: 1 }");
  EXPECT_EQ(Run(R"([{"$merge": {"into": "t", "whenNotMatched": "fail"}}])", R"([{"_id": 77}])"),
            "ERR 13113 $merge could not find a matching document in the target collection for at least one document in "
            "the source collection");
  EXPECT_EQ(Run(R"([{"$merge": {"into": "t", "on": "k"}}])", R"([{"_id": 1}])"),
            "ERR 51132 $merge write error: 'on' field cannot be missing, null, undefined or an array");
  EXPECT_EQ(Run(R"([{"$merge": {"into": "t", "whenMatched": "keepExisting"}}])", R"([{"_id": 1, "a": 0}])"), "");
  EXPECT_EQ(Show(host_.colls["test.t"][0].get()), "{_id: 1, a: 15, b: 1, from: 1}");
}

TEST_F(LookupTest, MergeValidation) {
  EXPECT_EQ(ParseErr(R"([{"$merge": 1}])"), "ERR 51182 $merge only supports a string or object argument, not int");
  EXPECT_EQ(ParseErr(R"([{"$merge": {}}])"), "ERR 40414 BSON field '$merge.into' is missing but a required field");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": 1}}])"),
            "ERR 51178 $merge 'into' field  must be either a string or an object, but found int");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": "t", "on": 1}}])"),
            "ERR 51186 $merge 'on' field  must be either a string or an array of strings, but found int");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": "t", "whenMatched": "x"}}])"),
            "ERR 2 Enumeration value 'x' for field 'whenMatched' is not a valid value.");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": "t", "whenMatched": 1}}])"),
            "ERR 51191 $merge 'whenMatched' field  must be either a string or an array, but found int");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": "t", "let": {"a": 1}}}])"),
            "ERR 51199 Cannot use 'let' variables with 'whenMatched: merge' mode");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": "t", "whenMatched": [{"$group": {"_id": 1}}]}}])"),
            "ERR 72 $group is not allowed to be used within a $merge's 'whenMatched' pipeline");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": "t", "bogus": 1}}])"), "ERR 40415 BSON field '$merge.bogus' is an unknown field.");
  EXPECT_EQ(ParseErr(R"([{"$merge": {"into": {"db": "local", "coll": "x"}}}])"),
            "ERR 31320 Cannot $merge to internal database: local");
}

// ---- $collStats / $indexStats ---------------------------------------------------------------

TEST_F(LookupTest, CollStatsAndIndexStatsComeFromTheHost) {
  ctx_.collection = "inv";
  EXPECT_EQ(Run(R"([{"$collStats": {"count": {}}}])"), "{ns: \"test.inv\", count: NumberLong(4)}");
  EXPECT_EQ(Run(R"([{"$indexStats": {}}, {"$project": {"name": 1, "_id": 0}}])"), "{name: \"_id_\"}");
  EXPECT_EQ(ParseErr(R"([{"$collStats": {"bogus": {}}}])"), "ERR 40415 BSON field '$collStats.bogus' is an unknown field.");
  EXPECT_EQ(ParseErr(R"([{"$collStats": {"count": 1}}])"),
            "ERR 14 BSON field '$collStats.count' is the wrong type 'int', expected type 'object'");
  EXPECT_EQ(ParseErr(R"([{"$collStats": {"storageStats": {"scale": 0}}}])"),
            "ERR 51024 BSON field 'scale' value must be >= 1, actual value '0'");
  EXPECT_EQ(ParseErr(R"([{"$indexStats": {"a": 1}}])"), "ERR 28803 The $indexStats stage specification must be an empty object");
}

// ---- host stages ----------------------------------------------------------------------------

class EchoStage : public HostStage {
 public:
  common::Result<std::unique_ptr<DocumentSource>> open(std::unique_ptr<DocumentSource>) const override {
    return make_vector_source(Docs(R"([{"op": "insert"}, {"op": "delete"}])"));
  }
  bool first_only() const override { return true; }
  bool change_stream() const override { return true; }
};

class StageHost : public FakeHost {
 public:
  common::Result<std::unique_ptr<HostStage>> make_host_stage(std::string_view name, const bson_iter_t*,
                                                             const ExpressionContext&) override {
    if (name == "$changeStream") return std::unique_ptr<HostStage>(new EchoStage);
    return std::unique_ptr<HostStage>();
  }
};

TEST_F(LookupTest, HostStagesAndChangeStreamRules) {
  StageHost host;
  auto parse = [&](const std::string& p) { return Parse(p, &host); };
  auto p = parse(R"([{"$changeStream": {}}, {"$match": {"op": "delete"}}])");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_TRUE((*p)->is_collectionless_source());
  auto src = (*p)->run(nullptr);
  ASSERT_TRUE(src.ok());
  auto d = (*src)->next();
  ASSERT_TRUE(d.ok() && *d);
  EXPECT_EQ(Show((*d)->get()), "{op: \"delete\"}");
  auto g = parse(R"([{"$changeStream": {}}, {"$group": {"_id": 1}}])");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "$group is not permitted in a $changeStream pipeline");
  auto late = parse(R"([{"$match": {}}, {"$changeStream": {}}])");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), 40602);
  auto facet = parse(R"([{"$facet": {"a": [{"$changeStream": {}}]}}])");
  ASSERT_FALSE(facet.ok());
  EXPECT_EQ(facet.status().message(), "$changeStream is not allowed to be used within a $facet stage");
  auto unknown = parse(R"([{"$currentOp": {}}])");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "Unrecognized pipeline stage name: '$currentOp'");
}

}  // namespace
}  // namespace mql::testing
