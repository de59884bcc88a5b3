// $project, $addFields/$set and $unset: inclusion, exclusion, computed and nested fields,
// arrays on the way, _id rules, and the server's validation errors.
#include <gtest/gtest.h>

#include "pipeline_test_util.h"

namespace mql::testing {
namespace {

class ProjectTest : public PipelineFixture {};

TEST_F(ProjectTest, InclusionKeepsInputOrderAndIdFirst) {
  std::string in = R"([{"b": 2, "_id": 1, "a": 1, "c": 3}])";
  EXPECT_EQ(Run(R"([{"$project": {"c": 1, "a": true}}])", in), "{_id: 1, a: 1, c: 3}");
  EXPECT_EQ(Run(R"([{"$project": {"_id": 0, "a": 1}}])", in), "{a: 1}");
  EXPECT_EQ(Run(R"([{"$project": {"_id": 1}}])", in), "{_id: 1}");
}

TEST_F(ProjectTest, ExclusionDropsFields) {
  std::string in = R"([{"_id": 1, "a": 1, "b": {"c": 1, "d": 2}}])";
  EXPECT_EQ(Run(R"([{"$project": {"a": 0}}])", in), "{_id: 1, b: {c: 1, d: 2}}");
  EXPECT_EQ(Run(R"([{"$project": {"b.c": 0, "_id": 0}}])", in), "{a: 1, b: {d: 2}}");
  EXPECT_EQ(Run(R"([{"$project": {"_id": 0}}])", in), "{a: 1, b: {c: 1, d: 2}}");
  EXPECT_EQ(Run(R"([{"$project": {"_id": 1, "a": 0}}])", in), "{_id: 1, b: {c: 1, d: 2}}");
}

TEST_F(ProjectTest, DottedInclusionThroughArrays) {
  std::string in = R"([{"_id": 1, "a": [{"b": 1, "c": 2}, 5, [{"b": 3}], {"c": 4}]}])";
  // Scalars in the array are dropped; nested arrays are projected too (aggregation policy).
  EXPECT_EQ(Run(R"([{"$project": {"a.b": 1}}])", in), "{_id: 1, a: [{b: 1}, [{b: 3}], {}]}");
  EXPECT_EQ(Run(R"([{"$project": {"a": {"b": 1}}}])", in), "{_id: 1, a: [{b: 1}, [{b: 3}], {}]}");
  EXPECT_EQ(Run(R"([{"$project": {"a.b": 0}}])", in), "{_id: 1, a: [{c: 2}, 5, [{}], {c: 4}]}");
  // A scalar where a sub-document is expected disappears from an inclusion.
  EXPECT_EQ(Run(R"([{"$project": {"x.y": 1}}])", R"([{"_id": 1, "x": 3}])"), "{_id: 1}");
}

TEST_F(ProjectTest, ComputedFields) {
  std::string in = R"([{"_id": 1, "a": 2, "b": {"c": 3}}])";
  EXPECT_EQ(Run(R"([{"$project": {"s": {"$add": ["$a", "$b.c"]}, "lit": "x", "a": 1}}])", in),
            "{_id: 1, a: 2, s: 5, lit: \"x\"}");
  EXPECT_EQ(Run(R"([{"$project": {"_id": 0, "b.d": "$a", "b.c": 1}}])", in), "{b: {c: 3, d: 2}}");
  EXPECT_EQ(Run(R"([{"$project": {"n": {"new": "$a"}}}])", in), "{_id: 1, n: {new: 2}}");
  // A missing expression result leaves the field out.
  EXPECT_EQ(Run(R"([{"$project": {"m": "$nope"}}])", in), "{_id: 1}");
  // Computed sub-fields under array elements apply to each element, scalars become documents.
  EXPECT_EQ(Run(R"([{"$project": {"_id": 0, "a.k": {"$literal": 1}}}])", R"([{"a": [{"x": 1}, 2]}])"),
            "{a: [{k: 1}, {k: 1}]}");
  EXPECT_EQ(Run(R"([{"$project": {"_id": 0, "arr": ["$a", 1]}}])", in), "{arr: [2, 1]}");
}

TEST_F(ProjectTest, ValidationErrors) {
  EXPECT_EQ(ParseErr(R"([{"$project": 1}])"), "ERR 15969 $project specification must be an object");
  EXPECT_EQ(ParseErr(R"([{"$project": {}}])"),
            "ERR 51272 Invalid $project :: caused by :: projection specification must have at least one field");
  EXPECT_EQ(ParseErr(R"([{"$project": {"v": {}}}])"),
            "ERR 51270 Invalid $project :: caused by :: An empty sub-projection is not a valid value. Found empty "
            "object at path");
  EXPECT_EQ(ParseErr(R"([{"$project": {"": true}}])"),
            "ERR 40352 Invalid $project :: caused by :: FieldPath cannot be constructed with empty string");
  EXPECT_EQ(ParseErr(R"([{"$project": {"v..d": true}}])"),
            "ERR 15998 Invalid $project :: caused by :: FieldPath field names may not be empty strings.");
  EXPECT_EQ(ParseErr(R"([{"$project": {"foo": false, "bar": true}}])"),
            "ERR 31253 Invalid $project :: caused by :: Cannot do inclusion on field bar in exclusion projection");
  EXPECT_EQ(ParseErr(R"([{"$project": {"foo": true, "bar": false}}])"),
            "ERR 31254 Invalid $project :: caused by :: Cannot do exclusion on field bar in inclusion projection");
  EXPECT_EQ(ParseErr(R"([{"$project": {"v.$": true}}])"),
            "ERR 31324 Invalid $project :: caused by :: Cannot use positional projection in aggregation projection");
  EXPECT_EQ(ParseErr(R"([{"$project": {"v.$.foo": true}}])"),
            "ERR 31394 Invalid $project :: caused by :: As of 4.4, it's illegal to specify positional operator in the "
            "middle of a path.Positional projection may only be used at the end, for example: a.b.$. If the query "
            "previously used a form like a.b.$.d, remove the parts following the '$' and the results will be "
            "equivalent.");
  EXPECT_EQ(ParseErr(R"([{"$project": {"$v": true}}])"),
            "ERR 16410 Invalid $project :: caused by :: FieldPath field names may not start with '$'. Consider using "
            "$getField or $setField.");
  {
    // {$project: {v: {$type: 42, $op: 42}}} (built by hand: extended JSON reads $type as binary).
    Bson stage, proj, v;
    bson_t p, vv;
    bson_append_document_begin(proj.mut(), "v", 1, &vv);
    BSON_APPEND_INT32(&vv, "$type", 42);
    BSON_APPEND_INT32(&vv, "$op", 42);
    bson_append_document_end(proj.mut(), &vv);
    bson_append_document_begin(stage.mut(), "$project", 8, &p);
    bson_concat(&p, proj.get());
    bson_append_document_end(stage.mut(), &p);
    Bson arr;
    bson_append_document(arr.mut(), "0", 1, stage.get());
    auto r = Pipeline::parse(arr.get(), ctx_, &host_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), 16410);
    EXPECT_EQ(r.status().message(),
              "Invalid $project :: caused by :: FieldPath field names may not start with '$'. Consider using "
              "$getField or $setField.");
  }
  EXPECT_EQ(ParseErr(R"([{"$project": {"v": {"$non-existent": "foo"}}}])"),
            "ERR 31325 Invalid $project :: caused by :: Unknown expression $non-existent");
  EXPECT_EQ(ParseErr(R"([{"$project": {"v": {"$type": {"$non-existent": "foo"}}}}])"),
            "ERR 168 Invalid $project :: caused by :: Unrecognized expression '$non-existent'");
  EXPECT_EQ(ParseErr(R"([{"$project": {"a": 0, "b": "$x"}}])"),
            "ERR 31310 Invalid $project :: caused by :: Cannot use an expression b: \"$x\" in an exclusion projection");
  EXPECT_EQ(ParseErr(R"([{"$project": {"a": 0, "b": {"$add": [1]}}}])"),
            "ERR 31252 Invalid $project :: caused by :: Cannot use expression other than $meta in exclusion projection");
  EXPECT_EQ(ParseErr(R"([{"$project": {"a": 1, "a.b": 1}}])"),
            "ERR 31249 Invalid $project :: caused by :: Path collision at a.b remaining portion b");
  EXPECT_EQ(ParseErr(R"([{"$project": {"a.b": 1, "a": 1}}])"),
            "ERR 31250 Invalid $project :: caused by :: Path collision at a");
}

TEST_F(ProjectTest, AddFieldsSetsAndReplacesInPlace) {
  std::string in = R"([{"_id": 1, "a": 1, "b": {"c": 1}}])";
  EXPECT_EQ(Run(R"([{"$addFields": {"a": 5, "z": {"$add": ["$a", 1]}}}])", in), "{_id: 1, a: 5, b: {c: 1}, z: 2}");
  // Expressions see the input document, not the fields set by the same stage.
  EXPECT_EQ(Run(R"([{"$set": {"a": 10, "y": "$a"}}])", in), "{_id: 1, a: 10, b: {c: 1}, y: 1}");
  EXPECT_EQ(Run(R"([{"$set": {"b.d": 2}}])", in), "{_id: 1, a: 1, b: {c: 1, d: 2}}");
  EXPECT_EQ(Run(R"([{"$set": {"b": {"e": 3}}}])", in), "{_id: 1, a: 1, b: {c: 1, e: 3}}");
  EXPECT_EQ(Run(R"([{"$set": {"b": {}}}])", in), "{_id: 1, a: 1, b: {}}");
  EXPECT_EQ(Run(R"([{"$set": {"a": "$$REMOVE"}}])", in), "{_id: 1, b: {c: 1}}");
  EXPECT_EQ(Run(R"([{"$set": {"n.m": 1}}])", in), "{_id: 1, a: 1, b: {c: 1}, n: {m: 1}}");
  // Through an array, every element gets the field; scalars become documents.
  EXPECT_EQ(Run(R"([{"$set": {"a.x": 1}}])", R"([{"_id": 1, "a": [{"y": 1}, 2, [{}]]}])"),
            "{_id: 1, a: [{y: 1, x: 1}, {x: 1}, [{x: 1}]]}");
}

TEST_F(ProjectTest, AddFieldsValidation) {
  EXPECT_EQ(ParseErr(R"([{"$addFields": "x"}])"), "ERR 40272 $addFields specification stage must be an object, got string");
  EXPECT_EQ(ParseErr(R"([{"$set": "x"}])"), "ERR 40272 $set specification stage must be an object, got string");
  EXPECT_EQ(ParseErr(R"([{"$addFields": {"$foo": "v"}}])"),
            "ERR 16410 Invalid $addFields :: caused by :: FieldPath field names may not start with '$'. Consider using "
            "$getField or $setField.");
  EXPECT_EQ(ParseErr(R"([{"$set": {"a": 1, "a.b": 1}}])"),
            "ERR 40176 Invalid $set :: caused by :: specification contains two conflicting paths. Cannot specify both "
            "'a.b' and 'a': { a: 1, a.b: 1 }");
  EXPECT_EQ(ParseErr(R"([{"$set": {"a": {"$add": [1], "b": 1}}}])"),
            "ERR 40181 Invalid $set :: caused by :: an expression specification must contain exactly one field, the "
            "name of the expression. Found 2 fields in { $add: [ 1 ], b: 1 }, while parsing object { a: { $add: [ 1 ], "
            "b: 1 } }");
  EXPECT_EQ(ParseErr(R"([{"$set": {"a": {"b.c": 1}}}])"),
            "ERR 40183 Invalid $set :: caused by :: cannot use dotted field name 'b.c' in a sub object: { a: { b.c: 1 } }");
  EXPECT_EQ(ParseErr(R"([{"$set": {"a": {"$nope": 1}}}])"),
            "ERR 168 Invalid $set :: caused by :: Unrecognized expression '$nope'");
}

TEST_F(ProjectTest, Unset) {
  std::string in = R"([{"_id": 1, "a": 1, "b": {"c": 1, "d": 2}, "e": [{"c": 1}, 2]}])";
  EXPECT_EQ(Run(R"([{"$unset": "a"}])", in), "{_id: 1, b: {c: 1, d: 2}, e: [{c: 1}, 2]}");
  EXPECT_EQ(Run(R"([{"$unset": ["a", "b.c", "e.c", "_id"]}])", in), "{b: {d: 2}, e: [{}, 2]}");
  EXPECT_EQ(ParseErr(R"([{"$unset": {}}])"), "ERR 31002 $unset specification must be a string or an array");
  EXPECT_EQ(ParseErr(R"([{"$unset": []}])"),
            "ERR 31119 $unset specification must be a string or an array with at least one field");
  EXPECT_EQ(ParseErr(R"([{"$unset": ["a", 1]}])"),
            "ERR 31120 $unset specification must be a string or an array containing only string values");
  EXPECT_EQ(ParseErr(R"([{"$unset": ""}])"),
            "ERR 40352 Invalid $unset :: caused by :: FieldPath cannot be constructed with empty string");
  EXPECT_EQ(ParseErr(R"([{"$unset": ["v", "v"]}])"), "ERR 31250 Invalid $unset :: caused by :: Path collision at v");
  EXPECT_EQ(ParseErr(R"([{"$unset": ["v", "v.foo.bar"]}])"),
            "ERR 31249 Invalid $unset :: caused by :: Path collision at v.foo.bar remaining portion foo.bar");
  EXPECT_EQ(ParseErr(R"([{"$unset": "v."}])"), "ERR 40353 Invalid $unset :: caused by :: FieldPath must not end with a '.'.");
}

TEST_F(ProjectTest, OldServersOmitTheGetFieldHint) {
  ctx_.version = 44;
  EXPECT_EQ(ParseErr(R"([{"$project": {"$v": true}}])"),
            "ERR 16410 Invalid $project :: caused by :: FieldPath field names may not start with '$'.");
}

}  // namespace
}  // namespace mql::testing
