// Tests for mql::Update: every operator, positional forms, arrayFilters, server error codes
// and messages, created-field order, numeric promotion, no-op detection and upserts.
#include "mql/update.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bson.h"
#include "mql/update_tostring.h"

namespace mql {
namespace {

using common::Bson;

Bson J(const std::string& json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  return r.ok() ? std::move(*r) : Bson();
}

class UpdateTest : public ::testing::Test {
 protected:
  // Parses `u` (JSON of a document or an array) with optional array filters (JSON array).
  common::Result<std::unique_ptr<Update>> Parse(const std::string& u, const std::string& filters = "") {
    holder_ = J("{\"u\": " + u + "}");
    bson_iter_t it;
    bson_iter_init_find(&it, holder_.get(), "u");
    if (filters.empty()) return Update::parse(&it, nullptr, ctx_);
    filters_holder_ = J("{\"f\": " + filters + "}");
    bson_iter_t f;
    bson_iter_init_find(&f, filters_holder_.get(), "f");
    uint32_t len;
    const uint8_t* data;
    bson_iter_array(&f, &len, &data);
    bson_init_static(&filters_view_, data, len);
    return Update::parse(&it, &filters_view_, ctx_);
  }

  // Applies and returns the canonical JSON of the result ("ERR <code> <message>" on error).
  std::string Apply(const std::string& doc, const std::string& u, const std::string& filters = "",
                    const MatchDetails* details = nullptr, bool insert = false, bool* modified = nullptr) {
    auto up = Parse(u, filters);
    if (!up.ok()) return "ERR " + std::to_string(up.status().code()) + " " + up.status().message();
    Bson d = J(doc);
    auto r = (*up)->apply(d.get(), details, insert);
    if (!r.ok()) return "ERR " + std::to_string(r.status().code()) + " " + r.status().message();
    if (modified) *modified = r->modified;
    return mongo_doc_string(r->doc.get());
  }

  std::string ParseErr(const std::string& u, const std::string& filters = "") {
    auto up = Parse(u, filters);
    if (up.ok()) return "OK";
    return "ERR " + std::to_string(up.status().code()) + " " + up.status().message();
  }

  ExpressionContext ctx_;
  Bson holder_;
  Bson filters_holder_;
  bson_t filters_view_;
};

// ---- forms and parse errors

TEST_F(UpdateTest, KindIsDecidedByFirstKey) {
  EXPECT_EQ((*Parse(R"({"$set": {"a": 1}})"))->kind(), Update::Kind::kModifier);
  EXPECT_EQ((*Parse(R"({"a": 1})"))->kind(), Update::Kind::kReplacement);
  EXPECT_EQ((*Parse(R"({})"))->kind(), Update::Kind::kReplacement);
}

TEST_F(UpdateTest, UnknownModifierIsFailedToParse) {
  EXPECT_EQ(ParseErr(R"({"$foo": {"a": 1}})"),
            "ERR 9 Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update specified as "
            "an array");
  EXPECT_EQ(ParseErr(R"({"$set": {"a": 1}, "b": 1})"),
            "ERR 9 Unknown modifier: b. Expected a valid update modifier or pipeline-style update specified as an "
            "array");
}

TEST_F(UpdateTest, ReplacementWithDollarFieldIs52) {
  EXPECT_EQ(ParseErr(R"({"a": 1, "$set": {"b": 1}})"),
            "ERR 52 The dollar ($) prefixed field '$set' in '$set' is not allowed in the context of an update's "
            "replacement document. Consider using an aggregation pipeline with $replaceWith.");
}

TEST_F(UpdateTest, OperatorArgumentMustBeDocument) {
  EXPECT_EQ(ParseErr(R"({"$set": 1})"),
            "ERR 9 Modifiers operate on fields but we found type int instead. For example: {$mod: {<field>: ...}} "
            "not {$set: 1}");
}

TEST_F(UpdateTest, EmptyOperatorAcceptedFrom50) {
  ctx_.version = 50;
  bool modified = true;
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {}})", "", nullptr, false, &modified), "{ _id: 1 }");
  EXPECT_FALSE(modified);
}

TEST_F(UpdateTest, EmptyOperatorRejectedBefore50) {
  ctx_.version = 44;
  EXPECT_EQ(ParseErr(R"({"$set": {}})"),
            "ERR 9 '$set' is empty. You must specify a field like so: {$set: {<field>: ...}}");
}

TEST_F(UpdateTest, ConflictingPaths) {
  EXPECT_EQ(ParseErr(R"({"$set": {"a": 1}, "$inc": {"a.b": 1}})"),
            "ERR 40 Updating the path 'a.b' would create a conflict at 'a'");
  EXPECT_EQ(ParseErr(R"({"$set": {"a.b": 1}, "$unset": {"a": 1}})"),
            "ERR 40 Updating the path 'a' would create a conflict at 'a'");
  EXPECT_EQ(ParseErr(R"({"$set": {"a": 1}, "$setOnInsert": {"a": 2}})"),
            "ERR 40 Updating the path 'a' would create a conflict at 'a'");
  EXPECT_EQ(ParseErr(R"({"$set": {"a.b": 1, "a.c": 1}})"), "OK");
}

TEST_F(UpdateTest, EmptyPathComponents) {
  EXPECT_EQ(ParseErr(R"({"$set": {"a..b": 1}})"),
            "ERR 56 The update path 'a..b' contains an empty field name, which is not allowed.");
  EXPECT_EQ(ParseErr(R"({"$set": {"": 1}})"), "ERR 56 An empty update path is not valid.");
}

TEST_F(UpdateTest, PositionalPlacementErrors) {
  EXPECT_EQ(ParseErr(R"({"$set": {"a.$.b.$": 1}})"),
            "ERR 2 Too many positional (i.e. '$') elements found in path 'a.$.b.$'");
  EXPECT_EQ(ParseErr(R"({"$set": {"$.a": 1}})"),
            "ERR 2 Cannot have positional (i.e. '$') element in the first position in path '$.a'");
}

// ---- $set / $unset

TEST_F(UpdateTest, SetExistingAndNew) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1, "b": 2})", R"({"$set": {"a": 5, "c": 3}})"), "{ _id: 1, a: 5, b: 2, c: 3 }");
}

TEST_F(UpdateTest, SetCreatesIntermediateObjects) {
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"a.b.c": 1}})"), "{ _id: 1, a: { b: { c: 1 } } }");
}

TEST_F(UpdateTest, CreatedFieldsAreAppendedInSortedOrder) {
  EXPECT_EQ(Apply(R"({"_id": 1, "m": 0})", R"({"$set": {"z": 1, "b": 2, "a.y": 3, "a.x": 4}})"),
            "{ _id: 1, m: 0, a: { x: 4, y: 3 }, b: 2, z: 1 }");
}

TEST_F(UpdateTest, CreatedArrayIndexesOrderNumerically) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {}})", R"({"$set": {"a.10": 1, "a.9": 2}})"), "{ _id: 1, a: { 9: 2, 10: 1 } }");
}

TEST_F(UpdateTest, SetThroughArrayIndexPadsWithNull) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1]})", R"({"$set": {"a.3": 9}})"), "{ _id: 1, a: [ 1, null, null, 9 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"b": 1}, {"b": 2}]})", R"({"$set": {"a.1.b": 5}})"),
            "{ _id: 1, a: [ { b: 1 }, { b: 5 } ] }");
}

TEST_F(UpdateTest, SetThroughScalarIsPathNotViable) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$set": {"a.b": 1}})"),
            "ERR 28 Cannot create field 'b' in element {a: 1}");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2]})", R"({"$set": {"a.b": 1}})"),
            "ERR 28 Cannot create field 'b' in element {a: [ 1, 2 ]}");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"b": 5}})", R"({"$set": {"a.b.c.d": 1}})"),
            "ERR 28 Cannot create field 'c' in element {b: 5}");
}

TEST_F(UpdateTest, SetSameValueIsNoOp) {
  bool modified = true;
  Apply(R"({"_id": 1, "a": 1})", R"({"$set": {"a": 1}})", "", nullptr, false, &modified);
  EXPECT_FALSE(modified);
}

TEST_F(UpdateTest, SetIntToLongIsAChange) {
  bool modified = false;
  Apply(R"({"_id": 1, "a": 1})", R"({"$set": {"a": {"$numberLong": "1"}}})", "", nullptr, false, &modified);
  EXPECT_TRUE(modified);
}

TEST_F(UpdateTest, UnsetRemovesAndNullsArrayElements) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1, "b": 2})", R"({"$unset": {"a": ""}})"), "{ _id: 1, b: 2 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$unset": {"a.1": 1}})"), "{ _id: 1, a: [ 1, null, 3 ] }");
}

TEST_F(UpdateTest, UnsetMissingIsNoOp) {
  bool modified = true;
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$unset": {"x.y": 1, "a.b": 1}})", "", nullptr, false, &modified),
            "{ _id: 1, a: 1 }");
  EXPECT_FALSE(modified);
}

TEST_F(UpdateTest, TopLevelDollarFieldNotStorable) {
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"$x": 1}})"),
            "ERR 52 The dollar ($) prefixed field '$x' in '$x' is not valid for storage.");
}

TEST_F(UpdateTest, NestedDollarAndDottedNamesAllowedFrom50) {
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"a": {"$x": 1, "b.c": 2}}})"), "{ _id: 1, a: { $x: 1, b.c: 2 } }");
}

TEST_F(UpdateTest, NestedDollarRejectedIn44) {
  ctx_.version = 44;
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"a": {"$x": 1}}})"),
            "ERR 52 The dollar ($) prefixed field '$x' in 'a.$x' is not valid for storage.");
}

TEST_F(UpdateTest, DottedNamesStorableIn44) {
  // 3.6 dropped the dotted-name check from storage validation (4.4 storage_validation.cpp
  // checks only $-prefixed names); the CRUD spec's dots_and_dollars tests replace documents
  // with dotted keys on 3.6+.
  ctx_.version = 44;
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"a": {"b.c": 1}}})"), "{ _id: 1, a: { b.c: 1 } }");
}

// ---- _id

TEST_F(UpdateTest, ModifyingIdIsImmutableField) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$set": {"_id": 2}})"),
            "ERR 66 Performing an update on the path '_id' would modify the immutable field '_id'");
  EXPECT_EQ(Apply(R"({"_id": {"x": 1}})", R"({"$set": {"_id.x": 2}})"),
            "ERR 66 Performing an update on the path '_id.x' would modify the immutable field '_id'");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$unset": {"_id": 1}})"),
            "ERR 66 Performing an update on the path '_id' would modify the immutable field '_id'");
}

TEST_F(UpdateTest, SettingIdToSameValueIsAllowed) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$set": {"_id": 1, "a": 2}})"), "{ _id: 1, a: 2 }");
}

TEST_F(UpdateTest, ReplacementKeepsIdFirst) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"b": 2})"), "{ _id: 1, b: 2 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"b": 2, "_id": 1})"), "{ _id: 1, b: 2 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({})"), "{ _id: 1 }");
}

TEST_F(UpdateTest, ReplacementChangingIdIs66) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"_id": 2, "b": 2})"),
            "ERR 66 After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2");
}

TEST_F(UpdateTest, ReplacementIdenticalIsNoOp) {
  bool modified = true;
  Apply(R"({"_id": 1, "a": 1})", R"({"a": 1})", "", nullptr, false, &modified);
  EXPECT_FALSE(modified);
}

// ---- arithmetic

TEST_F(UpdateTest, IncAddsAndCreates) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$inc": {"a": 2, "b": 5}})"), "{ _id: 1, a: 3, b: 5 }");
}

TEST_F(UpdateTest, IncInt32OverflowPromotesToInt64) {
  auto r = Apply(R"({"_id": 1, "a": 2147483647})", R"({"$inc": {"a": 1}})");
  EXPECT_EQ(r, "{ _id: 1, a: 2147483648 }");
  auto up = Parse(R"({"$inc": {"a": 1}})");
  Bson d = J(R"({"_id": 1, "a": 2147483647})");
  auto out = (*up)->apply(d.get(), nullptr, false);
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, out->doc.get(), "a"));
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_INT64);
}

TEST_F(UpdateTest, IncInt64OverflowFails) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"$numberLong": "9223372036854775807"}})", R"({"$inc": {"a": 1}})"),
            "ERR 2 Failed to apply $inc operations to current value ((NumberLong)9223372036854775807) for document "
            "{_id: 1}");
}

TEST_F(UpdateTest, IncMixedTypesPromote) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$inc": {"a": 1.5}})"), "{ _id: 1, a: 2.5 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"$numberLong": "5"}})", R"({"$inc": {"a": 1}})"), "{ _id: 1, a: 6 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$inc": {"a": {"$numberDecimal": "1.5"}}})"),
            "{ _id: 1, a: NumberDecimal(\"2.5\") }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"$numberDecimal": "0.1"}})", R"({"$inc": {"a": {"$numberDecimal": "0.2"}}})"),
            "{ _id: 1, a: NumberDecimal(\"0.3\") }");
}

TEST_F(UpdateTest, IncOnNonNumberIsTypeMismatch) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": "x"})", R"({"$inc": {"a": 1}})"),
            "ERR 14 Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'a' of non-numeric type "
            "string");
  EXPECT_EQ(ParseErr(R"({"$inc": {"a": "x"}})"), "ERR 14 Cannot increment with non-numeric argument: {a: \"x\"}");
}

TEST_F(UpdateTest, MulMultipliesAndCreatesZeroOfOperandType) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 3})", R"({"$mul": {"a": 4}})"), "{ _id: 1, a: 12 }");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$mul": {"a": 2.5}})"), "{ _id: 1, a: 0.0 }");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$mul": {"a": {"$numberLong": "7"}}})"), "{ _id: 1, a: 0 }");
  EXPECT_EQ(ParseErr(R"({"$mul": {"a": null}})"), "ERR 14 Cannot multiply with non-numeric argument: {a: null}");
}

TEST_F(UpdateTest, MinMaxUseBsonOrder) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 5, "b": 5})", R"({"$min": {"a": 3}, "$max": {"b": 3}})"),
            "{ _id: 1, a: 3, b: 5 }");
  // Strings sort after numbers.
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 5})", R"({"$max": {"a": "x"}})"), "{ _id: 1, a: \"x\" }");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$min": {"a": 1}})"), "{ _id: 1, a: 1 }");
}

TEST_F(UpdateTest, BitOperations) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 13})", R"({"$bit": {"a": {"and": 10}}})"), "{ _id: 1, a: 8 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 13})", R"({"$bit": {"a": {"or": 2}}})"), "{ _id: 1, a: 15 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 13})", R"({"$bit": {"a": {"xor": 1}}})"), "{ _id: 1, a: 12 }");
  EXPECT_EQ(ParseErr(R"({"$bit": {"a": {"nand": 1}}})"),
            "ERR 2 The $bit modifier only supports 'and', 'or', and 'xor', not 'nand' which is an unknown operator: "
            "{nand: 1}");
  EXPECT_EQ(ParseErr(R"({"$bit": {"a": {"and": 1.5}}})"),
            "ERR 2 The $bit modifier field must be an Integer(32/64 bit); a 'double' is not supported here: {and: 1.5}");
}

// ---- $rename, $currentDate, $setOnInsert

TEST_F(UpdateTest, RenameMovesField) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1, "b": 2})", R"({"$rename": {"a": "z"}})"), "{ _id: 1, b: 2, z: 1 }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"b": 1}, "c": 0})", R"({"$rename": {"a.b": "c"}})"), "{ _id: 1, a: {}, c: 1 }");
}

TEST_F(UpdateTest, RenameMissingSourceIsNoOp) {
  bool modified = true;
  Apply(R"({"_id": 1, "b": 2})", R"({"$rename": {"a": "z"}})", "", nullptr, false, &modified);
  EXPECT_FALSE(modified);
}

TEST_F(UpdateTest, RenameErrors) {
  EXPECT_EQ(ParseErr(R"({"$rename": {"a": "a"}})"),
            "ERR 2 The source and target field for $rename must differ: a: \"a\"");
  EXPECT_EQ(ParseErr(R"({"$rename": {"a": 1}})"), "ERR 2 The 'to' field for $rename must be a string: a: 1");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"b": 1}]})", R"({"$rename": {"a.0.b": "c"}})").substr(0, 52),
            "ERR 2 The source field cannot be an array element, '");
}

TEST_F(UpdateTest, CurrentDateUsesRequestTime) {
  ctx_.now_ms = 1700000000123;
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$currentDate": {"a": true, "b": {"$type": "timestamp"}}})"),
            "{ _id: 1, a: new Date(1700000000123), b: Timestamp(1700000000, 1) }");
  EXPECT_EQ(ParseErr(R"({"$currentDate": {"a": {"$type": "x"}}})").substr(0, 6), "ERR 2 ");
}

TEST_F(UpdateTest, SetOnInsertOnlyOnInsert) {
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$setOnInsert": {"a": 1}})"), "{ _id: 1 }");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$setOnInsert": {"a": 1}})", "", nullptr, true), "{ _id: 1, a: 1 }");
}

// ---- arrays

TEST_F(UpdateTest, PushAppendsAndCreates) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1]})", R"({"$push": {"a": 2}})"), "{ _id: 1, a: [ 1, 2 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$push": {"a": {"x": 1}}})"), "{ _id: 1, a: [ { x: 1 } ] }");
}

TEST_F(UpdateTest, PushModifiersInsertThenSortThenSlice) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [5, 1]})", R"({"$push": {"a": {"$each": [4, 2], "$sort": 1, "$slice": 3}}})"),
            "{ _id: 1, a: [ 1, 2, 4 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$push": {"a": {"$each": [9], "$position": 1}}})"),
            "{ _id: 1, a: [ 1, 9, 2, 3 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$push": {"a": {"$each": [9], "$position": -1}}})"),
            "{ _id: 1, a: [ 1, 2, 9, 3 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$push": {"a": {"$each": [4], "$slice": -2}}})"),
            "{ _id: 1, a: [ 3, 4 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2]})", R"({"$push": {"a": {"$each": [3], "$slice": 0}}})"),
            "{ _id: 1, a: [] }");
}

TEST_F(UpdateTest, PushSortByField) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"s": 3}, {"s": 1}]})", R"({"$push": {"a": {"$each": [{"s": 2}], "$sort": {"s": -1}}}})"),
            "{ _id: 1, a: [ { s: 3 }, { s: 2 }, { s: 1 } ] }");
}

TEST_F(UpdateTest, PushOnNonArray) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$push": {"a": 2}})"),
            "ERR 2 The field 'a' must be an array but is of type int in document {_id: 1}");
  EXPECT_EQ(ParseErr(R"({"$push": {"a": {"$each": [1], "$foo": 1}}})"), "ERR 2 Unrecognized clause in $push: $foo");
}

TEST_F(UpdateTest, AddToSetAddsOnlyMissing) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2]})", R"({"$addToSet": {"a": {"$each": [2, 3, 3]}}})"),
            "{ _id: 1, a: [ 1, 2, 3 ] }");
  bool modified = true;
  Apply(R"({"_id": 1, "a": [1, 2]})", R"({"$addToSet": {"a": 1.0}})", "", nullptr, false, &modified);
  EXPECT_FALSE(modified);
  // Object equality depends on field order.
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"x": 1, "y": 2}]})", R"({"$addToSet": {"a": {"y": 2, "x": 1}}})"),
            "{ _id: 1, a: [ { x: 1, y: 2 }, { y: 2, x: 1 } ] }");
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$addToSet": {"a": 1}})"), "{ _id: 1, a: [ 1 ] }");
}

TEST_F(UpdateTest, PopRemovesEnds) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$pop": {"a": 1}})"), "{ _id: 1, a: [ 1, 2 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$pop": {"a": -1}})"), "{ _id: 1, a: [ 2, 3 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": []})", R"({"$pop": {"a": 1}})"), "{ _id: 1, a: [] }");
  EXPECT_EQ(ParseErr(R"({"$pop": {"a": 2}})"), "ERR 9 $pop expects 1 or -1, found: 2");
}

TEST_F(UpdateTest, PullByValueAndCondition) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 1, 3]})", R"({"$pull": {"a": 1}})"), "{ _id: 1, a: [ 2, 3 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 5, 7]})", R"({"$pull": {"a": {"$gte": 5}}})"), "{ _id: 1, a: [ 1 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"x": 1, "y": 1}, {"x": 2}]})", R"({"$pull": {"a": {"x": 1}}})"),
            "{ _id: 1, a: [ { x: 2 } ] }");
}

TEST_F(UpdateTest, PullAllRemovesListed) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3, 2]})", R"({"$pullAll": {"a": [2, 3]}})"), "{ _id: 1, a: [ 1 ] }");
  EXPECT_EQ(ParseErr(R"({"$pullAll": {"a": 1}})"), "ERR 2 $pullAll requires an array argument but was given a int");
}

// ---- positional

TEST_F(UpdateTest, PositionalUsesMatchedElement) {
  MatchDetails md;
  md.elem_match_key = "1";
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"b": 1}, {"b": 2}]})", R"({"$set": {"a.$.b": 9}})", "", &md),
            "{ _id: 1, a: [ { b: 1 }, { b: 9 } ] }");
}

TEST_F(UpdateTest, PositionalWithoutMatchFails) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1]})", R"({"$set": {"a.$": 9}})"),
            "ERR 2 The positional operator did not find the match needed from the query.");
  MatchDetails md;
  md.elem_match_key = "0";
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1]})", R"({"$set": {"a.$": 9}})", "", &md, true),
            "ERR 2 The positional operator did not find the match needed from the query.");
}

TEST_F(UpdateTest, AllPositionalUpdatesEveryElement) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 2, 3]})", R"({"$inc": {"a.$[]": 10}})"), "{ _id: 1, a: [ 11, 12, 13 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"b": 1}, {}]})", R"({"$set": {"a.$[].b": 0}})"),
            "{ _id: 1, a: [ { b: 0 }, { b: 0 } ] }");
}

TEST_F(UpdateTest, AllPositionalOnMissingOrScalar) {
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"a.$[]": 1}})"),
            "ERR 2 The path 'a' must exist in the document in order to apply array updates.");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$set": {"a.$[].b": 1}})"),
            "ERR 2 Cannot apply array updates to non-array element a: 1");
}

TEST_F(UpdateTest, ArrayFiltersSelectElements) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1, 5, 10]})", R"({"$set": {"a.$[x]": 0}})", R"([{"x": {"$gte": 5}}])"),
            "{ _id: 1, a: [ 1, 0, 0 ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"s": 1}, {"s": 8}]})", R"({"$inc": {"a.$[e].s": 1}})",
                  R"([{"e.s": {"$gt": 5}}])"),
            "{ _id: 1, a: [ { s: 1 }, { s: 9 } ] }");
}

TEST_F(UpdateTest, NestedArrayFilters) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"k": 1, "b": [1, 2]}, {"k": 2, "b": [1, 2]}]})",
                  R"({"$set": {"a.$[i].b.$[j]": 0}})", R"([{"i.k": 2}, {"j": 2}])"),
            "{ _id: 1, a: [ { k: 1, b: [ 1, 2 ] }, { k: 2, b: [ 1, 0 ] } ] }");
}

TEST_F(UpdateTest, ArrayFilterErrors) {
  EXPECT_EQ(ParseErr(R"({"$set": {"a.$[x]": 1}})"), "ERR 2 No array filter found for identifier 'x' in path 'a.$[x]'");
  EXPECT_EQ(ParseErr(R"({"$set": {"a": 1}})", R"([{"x": 1}])"),
            "ERR 9 The array filter for identifier 'x' was not used in the update { $set: { a: 1 } }");
  EXPECT_EQ(ParseErr(R"({"$set": {"a.$[x]": 1}})", R"([{"x": 1}, {"x": 2}])"),
            "ERR 9 Found multiple array filters with the same top-level field name x");
  EXPECT_EQ(ParseErr(R"({"$set": {"a.$[X]": 1}})", R"([{"X": 1}])"),
            "ERR 2 Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric "
            "string beginning with a lowercase letter, found 'X'");
  EXPECT_EQ(ParseErr(R"({"$set": {"a.$[x]": 1}})", R"([{"x": 1, "y": 2}])"),
            "ERR 9 Error parsing array filter :: caused by :: Expected a single top-level field name, found 'x' and "
            "'y'");
}

TEST_F(UpdateTest, OverlappingArrayUpdatesConflict) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1]})", R"({"$set": {"a.$[]": 1, "a.$[x]": 2}})", R"([{"x": 1}])"),
            "ERR 40 Update created a conflict at 'a.0'");
}

TEST_F(UpdateTest, PositionalMergesWithLiteralIndex) {
  MatchDetails md;
  md.elem_match_key = "0";
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"x": 1}, {"x": 2}]})", R"({"$set": {"a.$.y": 5, "a.0.z": 6}})", "", &md),
            "{ _id: 1, a: [ { x: 1, y: 5, z: 6 }, { x: 2 } ] }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"x": 1}]})", R"({"$set": {"a.$.x": 5, "a.0.x": 6}})", "", &md),
            "ERR 40 Update created a conflict at 'a.0.x'");
}

TEST_F(UpdateTest, AllPositionalOnScalarElementsIsPathNotViable) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [1]})", R"({"$set": {"a.$[].b": 1}})"),
            "ERR 28 Cannot create field 'b' in element {0: 1}");
}

TEST_F(UpdateTest, PullConditionOnElementFields) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": [{"b": 1}, {"b": 3}, 7]})", R"({"$pull": {"a": {"b": {"$gt": 2}}}})"),
            "{ _id: 1, a: [ { b: 1 }, 7 ] }");
}

TEST_F(UpdateTest, ArrayOperatorsOnNonArrays) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$pull": {"a": 2}})"), "ERR 2 Cannot apply $pull to a non-array value");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$pullAll": {"a": [2]}})"),
            "ERR 2 Cannot apply $pull to a non-array value");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$addToSet": {"a": 2}})"),
            "ERR 2 Cannot apply $addToSet to non-array field. Field named 'a' has non-array type int");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"b": 1}})", R"({"$pop": {"a.b": 1}})"),
            "ERR 14 Path 'a.b' contains an element of non-array type 'int'");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1.5})", R"({"$bit": {"a": {"and": 1}}})"),
            "ERR 2 Cannot apply $bit to a value of non-integral type._id: 1 has the field a of non-integer type double");
}

TEST_F(UpdateTest, MissingArraysArePopPullNoOps) {
  bool modified = true;
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$pop": {"a": 1}, "$pull": {"b": 1}, "$pullAll": {"c": [1]}})", "", nullptr,
                  false, &modified),
            "{ _id: 1 }");
  EXPECT_FALSE(modified);
}

TEST_F(UpdateTest, ArrayFiltersOnUpsertInsertNeedExistingArray) {
  EXPECT_EQ(Apply(R"({"_id": 1})", R"({"$set": {"a.$[x]": 1}})", R"([{"x": 1}])", nullptr, true),
            "ERR 2 The path 'a' must exist in the document in order to apply array updates.");
}

TEST_F(UpdateTest, ArrayFiltersNotAllowedForReplacementOrPipeline) {
  EXPECT_EQ(ParseErr(R"({"a": 1})", R"([{"x": 1}])"),
            "ERR 9 arrayFilters may not be specified for replacement-style updates");
  EXPECT_EQ(ParseErr(R"([{"$set": {"a": 1}}])", R"([{"x": 1}])"),
            "ERR 9 arrayFilters may not be specified for pipeline-syle updates");
}

TEST_F(UpdateTest, PipelineUpdateRejectsOtherStages) {
  EXPECT_EQ(ParseErr(R"([{"$match": {"a": 1}}])"), "ERR 72 $match is not allowed to be used within an update");
}

TEST_F(UpdateTest, PipelineUpdateAddsFields) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 2})", R"([{"$set": {"b": {"$add": ["$a", 1]}}}])"), "{ _id: 1, a: 2, b: 3 }");
}

TEST_F(UpdateTest, PipelineUpdateCannotChangeId) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 2})", R"([{"$set": {"_id": 5}}])"),
            "ERR 66 After applying the update, the (immutable) field '_id' was found to have been altered to _id: 5");
}

TEST_F(UpdateTest, PipelineUpdateWithoutChangeIsNoOp) {
  bool modified = true;
  Apply(R"({"_id": 1, "a": 2})", R"([{"$set": {"a": 2}}])", "", nullptr, false, &modified);
  EXPECT_FALSE(modified);
}

TEST_F(UpdateTest, NestedCreatedFieldsFollowExistingOnes) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"z": 1, "b": 2}})", R"({"$set": {"a.y": 3, "a.b": 4, "a.c": 5}})"),
            "{ _id: 1, a: { z: 1, b: 4, c: 5, y: 3 } }");
}

TEST_F(UpdateTest, InvalidIdTypeCodeDependsOnVersion) {
  auto up = Parse(R"({"$set": {"_id": [1]}})");
  ASSERT_TRUE(up.ok());
  Bson empty = J("{}");
  auto r = (*up)->apply(empty.get(), nullptr, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), 53);
  EXPECT_EQ(r.status().message(), "The '_id' value cannot be of type array");
  ctx_.version = 44;
  auto up44 = Parse(R"({"$set": {"_id": [1]}})");
  auto r44 = (*up44)->apply(empty.get(), nullptr, true);
  ASSERT_FALSE(r44.ok());
  EXPECT_EQ(r44.status().code(), 2);
}

TEST_F(UpdateTest, UnsetThenSetSiblingsInOneUpdate) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"b": 1, "c": 2}})", R"({"$unset": {"a.b": 1}, "$set": {"a.d": 3}})"),
            "{ _id: 1, a: { c: 2, d: 3 } }");
}

TEST_F(UpdateTest, RenameIntoNewNestedPath) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": 1})", R"({"$rename": {"a": "b.c"}})"), "{ _id: 1, b: { c: 1 } }");
  EXPECT_EQ(ParseErr(R"({"$rename": {"a": "a.b"}})"),
            "ERR 2 The source and target field for $rename must not be on the same path: a: \"a.b\"");
}

TEST_F(UpdateTest, DecimalMixedWithDouble) {
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"$numberDecimal": "1"}})", R"({"$mul": {"a": 2}})"),
            "{ _id: 1, a: NumberDecimal(\"2\") }");
  EXPECT_EQ(Apply(R"({"_id": 1, "a": {"$numberLong": "3"}})", R"({"$mul": {"a": 2.5}})"), "{ _id: 1, a: 7.5 }");
}

// ---- size and no-op

TEST_F(UpdateTest, TooLargeResultIs10334) {
  std::string big(9 * 1024 * 1024, 'x');
  EXPECT_EQ(Apply(R"({"_id": 1, "a": ")" + big + R"("})", R"({"$set": {"b": ")" + big + R"("}})").substr(0, 10),
            "ERR 10334 ");
}

TEST_F(UpdateTest, IncByZeroIsNoOp) {
  bool modified = true;
  Apply(R"({"_id": 1, "a": 5})", R"({"$inc": {"a": 0}})", "", nullptr, false, &modified);
  EXPECT_FALSE(modified);
}

// ---- upserts

TEST_F(UpdateTest, UpsertSeedFromEqualities) {
  Bson q = J(R"({"_id": 7, "x.y": 1, "z": {"$gt": 3}, "$and": [{"w": {"$eq": 4}}], "v": {"$in": [1, 2]}})");
  auto seed = upsert_seed(q.get());
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(mongo_doc_string(seed->get()), "{ _id: 7, w: 4, x: { y: 1 } }");
}

TEST_F(UpdateTest, UpsertSeedOverlappingPathsIs54) {
  Bson q = J(R"({"a": 1, "a.b": 2})");
  auto seed = upsert_seed(q.get());
  ASSERT_FALSE(seed.ok());
  EXPECT_EQ(seed.status().code(), 54);
  EXPECT_EQ(seed.status().message(), "cannot infer query fields to set, path 'a' is matched twice");
}

// The reference lists the fields as {_id, x, k, c}; the server creates new fields in the
// order of its update tree (sorted paths), so $setOnInsert's "c" comes before "k".
TEST_F(UpdateTest, UpsertReferenceExample) {
  ctx_.now_ms = 1000;
  auto up = Parse(R"({"$set": {"k": 2}, "$setOnInsert": {"c": {"$date": {"$numberLong": "1000"}}}})");
  ASSERT_TRUE(up.ok());
  Bson q = J(R"({"_id": 7, "x.y": 1, "z": {"$gt": 3}})");
  auto doc = build_upsert_document(q.get(), **up);
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(mongo_doc_string(doc->get()), "{ _id: 7, x: { y: 1 }, c: new Date(1000), k: 2 }");
}

TEST_F(UpdateTest, UpsertGeneratesObjectIdFirst) {
  auto up = Parse(R"({"$set": {"a": 1}})");
  Bson q = J(R"({"b": 2})");
  auto doc = build_upsert_document(q.get(), **up);
  ASSERT_TRUE(doc.ok());
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, doc->get()) && bson_iter_next(&it));
  EXPECT_STREQ(bson_iter_key(&it), "_id");
  EXPECT_EQ(bson_iter_type(&it), BSON_TYPE_OID);
  EXPECT_EQ(bson_count_keys(doc->get()), 3u);
}

TEST_F(UpdateTest, UpsertSetIdMovesItFirst) {
  auto up = Parse(R"({"$set": {"_id": 5, "a": 1}})");
  Bson q = J(R"({"b": 2})");
  auto doc = build_upsert_document(q.get(), **up);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(mongo_doc_string(doc->get()), "{ _id: 5, b: 2, a: 1 }");
}

TEST_F(UpdateTest, UpsertCannotChangeQueryId) {
  auto up = Parse(R"({"$set": {"_id": 5}})");
  Bson q = J(R"({"_id": 1})");
  auto doc = build_upsert_document(q.get(), **up);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), 66);
}

TEST_F(UpdateTest, UpsertReplacementKeepsQueryIdOnly) {
  auto up = Parse(R"({"b": 4})");
  Bson q = J(R"({"_id": 1, "a": 2})");
  auto doc = build_upsert_document(q.get(), **up);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(mongo_doc_string(doc->get()), "{ _id: 1, b: 4 }");
  auto up2 = Parse(R"({"_id": 2, "b": 4})");
  auto doc2 = build_upsert_document(q.get(), **up2);
  ASSERT_FALSE(doc2.ok());
  EXPECT_EQ(doc2.status().code(), 66);
}

TEST_F(UpdateTest, ParseOnceApplyMany) {
  auto up = Parse(R"({"$inc": {"n": 1}, "$push": {"h": {"$each": [1], "$slice": -2}}})");
  ASSERT_TRUE(up.ok());
  Bson d = J(R"({"_id": 1, "n": 0})");
  for (int i = 0; i < 3; ++i) {
    auto r = (*up)->apply(d.get(), nullptr, false);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->modified);
    d = std::move(r->doc);
  }
  EXPECT_EQ(mongo_doc_string(d.get()), "{ _id: 1, n: 3, h: [ 1, 1 ] }");
}

}  // namespace
}  // namespace mql
