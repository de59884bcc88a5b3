// Tests of sim/engine/update_diff.h: the `o` of update oplog entries, golden against the server's
// own unit tests and jstests (update/*_node_test.cpp, document_diff_calculator_test.cpp,
// jstests/replsets/v2_delta_oplog_entries.js, change_stream_show_expanded_events updateDescription
// test) for 4.4 ($v:1) and 5.0+ ($v:2); applying entries as a secondary, malformed diffs,
// updateDescription with truncatedArrays and disambiguatedPaths, and round-trip properties over
// random documents and updates (pre + update through mql::Update = post, and the entry applied
// to pre gives post back byte for byte).
#include "sim/engine/update_diff.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/bson.h"
#include "mql/update.h"
#include "sim/engine/update_diff_internal.h"

namespace sim::engine::update_diff {
namespace {

using common::Bson;

Bson J(const std::string& json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  return r.ok() ? std::move(*r) : Bson();
}

std::string C(const bson_t* b) { return common::to_canonical_json(b); }
std::string C(const Bson& b) { return C(b.get()); }

// Wraps `inner` `levels` times as {key: inner} (after the fields of `extra`, when given):
// deep documents are built directly, libbson's JSON reader stops at 100 levels.
Bson nest(Bson inner, int levels, const char* key, const Bson* extra = nullptr) {
  for (int i = 0; i < levels; ++i) {
    bson_t out = BSON_INITIALIZER;
    if (extra) bson_concat(&out, extra->get());
    bson_append_document(&out, key, -1, inner.get());
    inner = Bson::steal(&out);
  }
  return inner;
}

bool same_bytes(const Bson& a, const bson_t* b) {
  return a.size() == b->len && std::memcmp(a.data(), bson_get_data(b), b->len) == 0;
}

// One update applied by mql::Update and logged by update_entry_object.
struct Outcome {
  Bson pre, post, o;
  bool modified = false;
  std::string error;  // set when mql::Update rejected the update
  bool emulated = false;  // the log came from the emulation (no fallback)
};

class Updater {
 public:
  // `u` is the JSON of a modifier/replacement document or of a pipeline array; `filters` the
  // JSON of an arrayFilters array; `positional` the query's positional match.
  Outcome run(const std::string& pre, const std::string& u, int version, const std::string& filters = "",
          std::optional<std::string> positional = std::nullopt) {
    Outcome r;
    r.pre = J(pre);
    holder_ = J("{\"u\": " + u + "}");
    bson_iter_t it;
    bson_iter_init_find(&it, holder_.get(), "u");
    bson_t spec;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    if (BSON_ITER_HOLDS_ARRAY(&it)) {
      bson_iter_array(&it, &len, &data);
    } else {
      bson_iter_document(&it, &len, &data);
    }
    bson_init_static(&spec, data, len);
    bson_t fview;
    const bson_t* fptr = nullptr;
    if (!filters.empty()) {
      fholder_ = J("{\"f\": " + filters + "}");
      bson_iter_t f;
      bson_iter_init_find(&f, fholder_.get(), "f");
      bson_iter_array(&f, &len, &data);
      bson_init_static(&fview, data, len);
      fptr = &fview;
    }
    ctx_ = mql::ExpressionContext();
    ctx_.version = version;
    ctx_.now_ms = 1700000000000;
    auto up = mql::Update::parse(&it, fptr, ctx_);
    if (!up.ok()) {
      r.error = up.status().to_string();
      return r;
    }
    mql::MatchDetails md;
    md.elem_match_key = positional;
    auto out = (*up)->apply(r.pre.get(), &md, false);
    if (!out.ok()) {
      r.error = out.status().to_string();
      return r;
    }
    r.post = std::move(out->doc);
    r.modified = out->modified;
    if (!r.modified) return r;  // no entry is written
    UpdateKind kind = (*up)->kind() == mql::Update::Kind::kModifier  ? UpdateKind::kModifier
                      : (*up)->kind() == mql::Update::Kind::kPipeline ? UpdateKind::kPipeline
                                                                      : UpdateKind::kReplacement;
    UpdateContext uc;
    uc.array_filters = fptr;
    uc.positional_match = positional;
    uc.expr_ctx = &ctx_;
    r.o = update_entry_object(r.pre.get(), r.post.get(), &spec, kind, version, uc);
    auto back = apply_update_entry(r.pre.get(), r.o.get());
    EXPECT_TRUE(back.ok()) << back.status().to_string();
    if (back.ok()) {
      EXPECT_TRUE(same_bytes(*back, r.post.get()))
          << "pre " << C(r.pre) << "\nu " << u << "\no " << C(r.o) << "\napplied " << C(*back) << "\npost "
          << C(r.post);
    }
    if (kind == UpdateKind::kModifier) {
      auto logged = detail::modifier_log(r.pre.get(), r.post.get(), &spec, uc, version);
      r.emulated = logged.ok() && C(*logged) == C(r.o);
    }
    return r;
  }

 private:
  Bson holder_, fholder_;
  mql::ExpressionContext ctx_;
};

constexpr int kDeltaVersions[] = {50, 60, 70, 80};

// A modifier update's entry on 4.4 and on every 5.0+ version, which log alike.
void ExpectModifier(const std::string& pre, const std::string& u, const std::string& v2, const std::string& v1,
                    const std::string& filters = "", std::optional<std::string> positional = std::nullopt) {
  Updater up;
  for (int v : kDeltaVersions) {
    Outcome r = up.run(pre, u, v, filters, positional);
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(C(r.o), C(J(v2))) << "version " << v << " pre " << pre << " u " << u;
    EXPECT_TRUE(r.emulated) << "version " << v << ": fell back";
  }
  Outcome r = up.run(pre, u, 44, filters, positional);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(C(r.o), C(J(v1))) << "version 44 pre " << pre << " u " << u;
  EXPECT_TRUE(r.emulated) << "version 44: fell back";
}

// ---------------------------------------------------------------------------------------------
// Golden modifier entries

TEST(UpdateDiffModifier, ReferenceWorkedExample) {
  // mongodb-reference.md §5.5.
  ExpectModifier(R"({"_id": 1, "a": 1, "b": {"c": 1, "d": 2}, "arr": [1, 2, 3, 4], "gone": true})",
                 R"({"$set": {"a": 2, "b.c": 5, "b.e": 7, "arr.1": 20, "newf": "x"}, "$unset": {"gone": ""}})",
                 R"({"$v": 2, "diff": {"d": {"gone": false}, "u": {"a": 2}, "i": {"newf": "x"},
                     "sarr": {"a": true, "u1": 20}, "sb": {"u": {"c": 5}, "i": {"e": 7}}}})",
                 R"({"$v": 1, "$set": {"a": 2, "arr.1": 20, "b.c": 5, "b.e": 7, "newf": "x"},
                     "$unset": {"gone": true}})");
}

TEST(UpdateDiffModifier, SetExistingAndNewFieldsInTreeOrder) {
  // update_object_node_test.cpp ApplyExistingAndNonexistingFields / ChildrenShouldBeAppliedInAlphabeticalOrder.
  ExpectModifier(R"({"_id": 1, "a": 0, "c": 0})", R"({"$set": {"a": 5, "b": 6, "c": 7, "d": 8}})",
                 R"({"$v": 2, "diff": {"u": {"a": 5, "c": 7}, "i": {"b": 6, "d": 8}}})",
                 R"({"$v": 1, "$set": {"a": 5, "b": 6, "c": 7, "d": 8}})");
  ExpectModifier(R"({"_id": 1, "z": 0, "a": 0})", R"({"$set": {"a": 5, "d": 6, "c": 7, "b": 8, "z": 9}})",
                 R"({"$v": 2, "diff": {"u": {"a": 5, "z": 9}, "i": {"b": 8, "c": 7, "d": 6}}})",
                 R"({"$v": 1, "$set": {"a": 5, "b": 8, "c": 7, "d": 6, "z": 9}})");
}

TEST(UpdateDiffModifier, CreatedPathsAreInsertedWhole) {
  // update_object_node_test.cpp ApplyCreateNestedPaths / ApplyCreateDeeplyNestedPaths,
  // set_node_test.cpp ApplyCreatePath.
  ExpectModifier(R"({"_id": 1, "z": 0})", R"({"$set": {"a.b": 6, "a.c": 7, "b.d": 8, "b.e": 9}})",
                 R"({"$v": 2, "diff": {"i": {"a": {"b": 6, "c": 7}, "b": {"d": 8, "e": 9}}}})",
                 R"({"$v": 1, "$set": {"a.b": 6, "a.c": 7, "b.d": 8, "b.e": 9}})");
  ExpectModifier(R"({"_id": 1, "z": 0})", R"({"$set": {"a.b.c.d": 6, "a.b.c.e": 7, "a.f": 8}})",
                 R"({"$v": 2, "diff": {"i": {"a": {"b": {"c": {"d": 6, "e": 7}}, "f": 8}}}})",
                 R"({"$v": 1, "$set": {"a.b.c.d": 6, "a.b.c.e": 7, "a.f": 8}})");
  ExpectModifier(R"({"_id": 1, "a": {"d": 5}})", R"({"$set": {"a.b.c": 6}})",
                 R"({"$v": 2, "diff": {"sa": {"i": {"b": {"c": 6}}}}})", R"({"$v": 1, "$set": {"a.b.c": 6}})");
  ExpectModifier(R"({"_id": 1, "a": {"b": 5, "c": 5}, "b": {"d": 5, "e": 5}})",
                 R"({"$set": {"a.b": 6, "a.c": 7, "b.d": 8, "b.e": 9}})",
                 R"({"$v": 2, "diff": {"sa": {"u": {"b": 6, "c": 7}}, "sb": {"u": {"d": 8, "e": 9}}}})",
                 R"({"$v": 1, "$set": {"a.b": 6, "a.c": 7, "b.d": 8, "b.e": 9}})");
}

TEST(UpdateDiffModifier, UnchangedValuesLogNothing) {
  // SetNode logs nothing for a binary-equal value; a type change is a change.
  ExpectModifier(R"({"_id": 1, "a": 1, "b": 2})", R"({"$set": {"a": 1, "b": 3}})",
                 R"({"$v": 2, "diff": {"u": {"b": 3}}})", R"({"$v": 1, "$set": {"b": 3}})");
  ExpectModifier(R"({"_id": 1, "a": 1})", R"({"$set": {"a": {"$numberLong": "1"}}})",
                 R"({"$v": 2, "diff": {"u": {"a": {"$numberLong": "1"}}}})",
                 R"({"$v": 1, "$set": {"a": {"$numberLong": "1"}}})");
}

TEST(UpdateDiffModifier, ArithmeticLogsTheResult) {
  // arithmetic_node_test.cpp ApplyCreatePath; §5.1 ($inc logged as the resulting value).
  ExpectModifier(R"({"_id": 1, "a": {"d": 5}})", R"({"$inc": {"a.b.c": 6}})",
                 R"({"$v": 2, "diff": {"sa": {"i": {"b": {"c": 6}}}}})", R"({"$v": 1, "$set": {"a.b.c": 6}})");
  ExpectModifier(R"({"_id": 1, "n": 5, "m": 3})", R"({"$inc": {"n": 2}, "$mul": {"m": 2}})",
                 R"({"$v": 2, "diff": {"u": {"m": 6, "n": 7}}})", R"({"$v": 1, "$set": {"m": 6, "n": 7}})");
  ExpectModifier(R"({"_id": 1, "lo": 5, "hi": 5})", R"({"$min": {"lo": 3}, "$max": {"hi": 9, "new": 1}})",
                 R"({"$v": 2, "diff": {"u": {"hi": 9, "lo": 3}, "i": {"new": 1}}})",
                 R"({"$v": 1, "$set": {"hi": 9, "lo": 3, "new": 1}})");
  ExpectModifier(R"({"_id": 1, "f": 6})", R"({"$bit": {"f": {"and": 3}}})", R"({"$v": 2, "diff": {"u": {"f": 2}}})",
                 R"({"$v": 1, "$set": {"f": 2}})");
}

TEST(UpdateDiffModifier, UnsetDeletesAndNullsArrayElements) {
  // unset_node_test.cpp UnsetNestedPath; an array element is set to null (4.4 logs $unset).
  ExpectModifier(R"({"_id": 1, "a": {"b": {"c": 6}}})", R"({"$unset": {"a.b.c": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"sb": {"d": {"c": false}}}}})", R"({"$v": 1, "$unset": {"a.b.c": true}})");
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$unset": {"a.1": ""}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u1": null}}})", R"({"$v": 1, "$unset": {"a.1": true}})");
  // Sections appear in the order of first use on 4.4.
  ExpectModifier(R"({"_id": 1, "a": 1, "b": 1})", R"({"$unset": {"a": 1}, "$set": {"b": 2}})",
                 R"({"$v": 2, "diff": {"d": {"a": false}, "u": {"b": 2}}})",
                 R"({"$v": 1, "$unset": {"a": true}, "$set": {"b": 2}})");
}

TEST(UpdateDiffModifier, PushAppendsOrRewritesTheArray) {
  // push_node_test.cpp.
  ExpectModifier(R"({"_id": 1, "a": []})", R"({"$push": {"a": 1}})", R"({"$v": 2, "diff": {"u": {"a": [1]}}})",
                 R"({"$v": 1, "$set": {"a": [1]}})");
  ExpectModifier(R"({"_id": 1})", R"({"$push": {"a": 1}})", R"({"$v": 2, "diff": {"i": {"a": [1]}}})",
                 R"({"$v": 1, "$set": {"a": [1]}})");
  ExpectModifier(R"({"_id": 1, "a": [0]})", R"({"$push": {"a": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u1": 1}}})", R"({"$v": 1, "$set": {"a.1": 1}})");
  ExpectModifier(R"({"_id": 1, "a": [0]})", R"({"$push": {"a": {"$each": [1, 2]}}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u1": 1, "u2": 2}}})",
                 R"({"$v": 1, "$set": {"a.1": 1, "a.2": 2}})");
  ExpectModifier(R"({"_id": 1})", R"({"$push": {"a": {"$each": []}}})", R"({"$v": 2, "diff": {"i": {"a": []}}})",
                 R"({"$v": 1, "$set": {"a": []}})");
  ExpectModifier(R"({"_id": 1, "question": "a", "choices": {"first": {"choice": "b"}, "second": {"choice": "c"}}})",
                 R"({"$push": {"choices.first.votes": 1}})",
                 R"({"$v": 2, "diff": {"schoices": {"sfirst": {"i": {"votes": [1]}}}}})",
                 R"({"$v": 1, "$set": {"choices.first.votes": [1]}})");
  ExpectModifier(R"({"_id": 1, "a": [3]})", R"({"$push": {"a": {"$each": [2, -1], "$sort": 1}}})",
                 R"({"$v": 2, "diff": {"u": {"a": [-1, 2, 3]}}})", R"({"$v": 1, "$set": {"a": [-1, 2, 3]}})");
  ExpectModifier(R"({"_id": 1, "a": [3, "t", {"b": 1}, {"a": 1}]})",
                 R"({"$push": {"a": {"$each": [4, -1], "$sort": {"a": 1}}}})",
                 R"({"$v": 2, "diff": {"u": {"a": [3, "t", {"b": 1}, 4, -1, {"a": 1}]}}})",
                 R"({"$v": 1, "$set": {"a": [3, "t", {"b": 1}, 4, -1, {"a": 1}]}})");
  // $position inside the array rewrites it; past the end it is an append.
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$push": {"a": {"$each": [0], "$position": 0}}})",
                 R"({"$v": 2, "diff": {"u": {"a": [0, 1, 2]}}})", R"({"$v": 1, "$set": {"a": [0, 1, 2]}})");
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$push": {"a": {"$each": [0], "$position": 2}}})",
                 R"({"$v": 2, "diff": {"u": {"a": [1, 2, 0]}}})", R"({"$v": 1, "$set": {"a": [1, 2, 0]}})");
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$push": {"a": {"$each": [0], "$position": 5}}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u2": 0}}})", R"({"$v": 1, "$set": {"a.2": 0}})");
  // A $slice that keeps everything still appends; one that trims rewrites.
  ExpectModifier(R"({"_id": 1, "a": [1]})", R"({"$push": {"a": {"$each": [2], "$slice": 5}}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u1": 2}}})", R"({"$v": 1, "$set": {"a.1": 2}})");
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$push": {"a": {"$each": [3], "$slice": -2}}})",
                 R"({"$v": 2, "diff": {"u": {"a": [2, 3]}}})", R"({"$v": 1, "$set": {"a": [2, 3]}})");
}

TEST(UpdateDiffModifier, PushSliceThatKeepsTheArrayIsStillLogged) {
  // push_node_test.cpp ApplyToArrayWithSlice: {$each: [2, -1], $slice: 1} on [3] leaves [3], yet
  // PushNode reports a normal update and logs the array.
  Bson pre = J(R"({"_id": 1, "a": [3]})");
  Bson u = J(R"({"$push": {"a": {"$each": [2, -1], "$slice": 1}}})");
  Bson o = update_entry_object(pre.get(), pre.get(), u.get(), UpdateKind::kModifier, 70);
  EXPECT_EQ(C(o), C(J(R"({"$v": 2, "diff": {"u": {"a": [3]}}})")));
  o = update_entry_object(pre.get(), pre.get(), u.get(), UpdateKind::kModifier, 44);
  EXPECT_EQ(C(o), C(J(R"({"$v": 1, "$set": {"a": [3]}})")));
}

TEST(UpdateDiffModifier, ArrayCullingAndAddToSetLogTheWholeArray) {
  // pull_node_test.cpp ApplyComplexDocAndMatching1, pop_node_test.cpp, addtoset_node_test.cpp.
  ExpectModifier(R"({"_id": 1, "a": {"b": [{"x": 1}, {"y": "y"}, {"x": 2}, {"z": "z"}]}})",
                 R"({"$pull": {"a.b": {"$or": [{"y": {"$exists": true}}, {"z": {"$exists": true}}]}}})",
                 R"({"$v": 2, "diff": {"sa": {"u": {"b": [{"x": 1}, {"x": 2}]}}}})",
                 R"({"$v": 1, "$set": {"a.b": [{"x": 1}, {"x": 2}]}})");
  ExpectModifier(R"({"_id": 1, "a": {"b": [1]}})", R"({"$pop": {"a.b": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"u": {"b": []}}}})", R"({"$v": 1, "$set": {"a.b": []}})");
  ExpectModifier(R"({"_id": 1, "a": [1, []]})", R"({"$addToSet": {"a.1": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u1": [1]}}})", R"({"$v": 1, "$set": {"a.1": [1]}})");
  ExpectModifier(R"({"_id": 1, "a": [0]})", R"({"$addToSet": {"a": 1}})", R"({"$v": 2, "diff": {"u": {"a": [0, 1]}}})",
                 R"({"$v": 1, "$set": {"a": [0, 1]}})");
  ExpectModifier(R"({"_id": 1, "a": [1, 2, 1, 3]})", R"({"$pullAll": {"a": [1, 3]}})",
                 R"({"$v": 2, "diff": {"u": {"a": [2]}}})", R"({"$v": 1, "$set": {"a": [2]}})");
}

TEST(UpdateDiffModifier, RenameSetsTheTargetThenDeletesTheSource) {
  // rename_node_test.cpp RenameToExistingNestedFieldDoesNotReorderFields; §5.5.
  ExpectModifier(R"({"_id": 1, "a": {"b": {"c": 1, "d": 2}}, "b": 3, "c": {"d": 4}})",
                 R"({"$rename": {"c.d": "a.b.c"}})",
                 R"({"$v": 2, "diff": {"sa": {"sb": {"u": {"c": 4}}}, "sc": {"d": {"d": false}}}})",
                 R"({"$v": 1, "$set": {"a.b.c": 4}, "$unset": {"c.d": true}})");
  ExpectModifier(R"({"_id": 1, "a": 1, "b": 2})", R"({"$rename": {"a": "z"}})",
                 R"({"$v": 2, "diff": {"d": {"a": false}, "i": {"z": 1}}})",
                 R"({"$v": 1, "$set": {"z": 1}, "$unset": {"a": true}})");
  ExpectModifier(R"({"_id": 1, "a": 2, "b": 1, "c": {}})", R"({"$rename": {"a": "c.r.d"}})",
                 R"({"$v": 2, "diff": {"d": {"a": false}, "sc": {"i": {"r": {"d": 2}}}}})",
                 R"({"$v": 1, "$set": {"c.r.d": 2}, "$unset": {"a": true}})");
  // The rename logs at the target's place in the tree: "z" after "b", so the deletes of "b" and
  // "a" come in that order.
  ExpectModifier(R"({"_id": 1, "a": 1, "b": 2})", R"({"$rename": {"a": "z"}, "$unset": {"b": 1}})",
                 R"({"$v": 2, "diff": {"d": {"b": false, "a": false}, "i": {"z": 1}}})",
                 R"({"$v": 1, "$unset": {"b": true, "a": true}, "$set": {"z": 1}})");
  // A target that already holds the value: only the source goes.
  ExpectModifier(R"({"_id": 1, "a": 1, "b": 1})", R"({"$rename": {"a": "b"}})",
                 R"({"$v": 2, "diff": {"d": {"a": false}}})", R"({"$v": 1, "$unset": {"a": true}})");
}

TEST(UpdateDiffModifier, ArrayIndexPathsAndPadding) {
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$set": {"a.5": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u5": 1}}})", R"({"$v": 1, "$set": {"a.5": 1}})");
  ExpectModifier(R"({"_id": 1, "a": [1, 2]})", R"({"$set": {"a.3.x": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u3": {"x": 1}}}})", R"({"$v": 1, "$set": {"a.3.x": 1}})");
  ExpectModifier(R"({"_id": 1, "a": [{"x": 1}]})", R"({"$set": {"a.0.x": 9}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "s0": {"u": {"x": 9}}}}})",
                 R"({"$v": 1, "$set": {"a.0.x": 9}})");
  // 5.0+ apply numeric components in numeric order, 4.4 in string order ("a.10" first, padding
  // a null that "a.9" then sets); array diffs list indexes in numeric order.
  ExpectModifier(R"({"_id": 1, "a": []})", R"({"$set": {"a.10": 1, "a.9": 2}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u9": 2, "u10": 1}}})",
                 R"({"$v": 1, "$set": {"a.10": 1, "a.9": 2}})");
  // A numeric component on a document is a field name.
  ExpectModifier(R"({"_id": 1, "a": {"0": 1}})", R"({"$set": {"a.0": 2, "a.1": 3}})",
                 R"({"$v": 2, "diff": {"sa": {"u": {"0": 2}, "i": {"1": 3}}}})",
                 R"({"$v": 1, "$set": {"a.0": 2, "a.1": 3}})");
}

TEST(UpdateDiffModifier, NumericFieldNamesFollowTheVersionsOrder) {
  // The update operators page: "a.2" before "a.10" on 5.0+, "a.10" first on 4.4 and earlier.
  Bson pre = J(R"({"_id": 1, "x": {}})");
  Bson u = J(R"({"$set": {"x.10": 1, "x.9": 2}})");
  Bson post50 = J(R"({"_id": 1, "x": {"9": 2, "10": 1}})");
  Bson post44 = J(R"({"_id": 1, "x": {"10": 1, "9": 2}})");
  EXPECT_EQ(C(update_entry_object(pre.get(), post50.get(), u.get(), UpdateKind::kModifier, 70)),
            C(J(R"({"$v": 2, "diff": {"sx": {"i": {"9": 2, "10": 1}}}})")));
  Bson o44 = update_entry_object(pre.get(), post44.get(), u.get(), UpdateKind::kModifier, 44);
  EXPECT_EQ(C(o44), C(J(R"({"$v": 1, "$set": {"x.10": 1, "x.9": 2}})")));
  auto back = apply_update_entry(pre.get(), o44.get());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(C(*back), C(post44));
}

TEST(UpdateDiffModifier, ArrayFiltersLogPerMatchedElementOrWholeArray) {
  // update_array_node_test.cpp.
  ExpectModifier(R"({"_id": 1, "a": [0, 1, 0]})", R"({"$set": {"a.$[i]": 2}})",
                 R"({"$v": 2, "diff": {"u": {"a": [2, 1, 2]}}})", R"({"$v": 1, "$set": {"a": [2, 1, 2]}})",
                 R"([{"i": 0}])");
  ExpectModifier(R"({"_id": 1, "a": [0, 0, 0]})", R"({"$set": {"a.$[]": 1}})",
                 R"({"$v": 2, "diff": {"u": {"a": [1, 1, 1]}}})", R"({"$v": 1, "$set": {"a": [1, 1, 1]}})");
  ExpectModifier(R"({"_id": 1, "a": [{"b": 0, "c": 0, "d": 0}]})",
                 R"({"$set": {"a.$[i].b": 1, "a.$[j].c": 1, "a.$[k].d": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "s0": {"u": {"b": 1, "c": 1, "d": 1}}}}})",
                 R"({"$v": 1, "$set": {"a.0.b": 1, "a.0.c": 1, "a.0.d": 1}})",
                 R"([{"i.b": 0}, {"j.c": 0}, {"k.d": 0}])");
  ExpectModifier(R"({"_id": 1, "a": [{"b": 0, "c": 0}, {"b": 0, "c": 0}]})",
                 R"({"$set": {"a.$[i].b": 1, "a.$[j].c": 1}})",
                 R"({"$v": 2, "diff": {"u": {"a": [{"b": 1, "c": 1}, {"b": 1, "c": 1}]}}})",
                 R"({"$v": 1, "$set": {"a": [{"b": 1, "c": 1}, {"b": 1, "c": 1}]}})",
                 R"([{"i.b": 0}, {"j.c": 0}])");
  ExpectModifier(R"({"_id": 1, "a": [{"x": 0, "b": [{"c": 0, "d": 0}]}]})",
                 R"({"$set": {"a.$[i].b.$[j].c": 1, "a.$[k].b.$[l].d": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "s0": {"sb": {"a": true, "s0": {"u": {"c": 1, "d": 1}}}}}}})",
                 R"({"$v": 1, "$set": {"a.0.b.0.c": 1, "a.0.b.0.d": 1}})",
                 R"([{"i.x": 0}, {"j.c": 0}, {"k.x": 0}, {"l.d": 0}])");
  ExpectModifier(R"({"_id": 1, "a": [{"c": 0}, {"c": 0}, {"c": 0}]})", R"({"$set": {"a.$[i].b": 0}})",
                 R"({"$v": 2, "diff": {"u": {"a": [{"c": 0, "b": 0}, {"c": 0, "b": 0}, {"c": 0, "b": 0}]}}})",
                 R"({"$v": 1, "$set": {"a": [{"c": 0, "b": 0}, {"c": 0, "b": 0}, {"c": 0, "b": 0}]}})",
                 R"([{"i.c": 0}])");
  // One element matched: it logs itself.
  ExpectModifier(R"({"_id": 1, "a": [{"c": 1}, {"c": 0}, {"c": 1}]})", R"({"$set": {"a.$[i].b": 0}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "s1": {"i": {"b": 0}}}}})",
                 R"({"$v": 1, "$set": {"a.1.b": 0}})", R"([{"i.c": 0}])");
  // Two matched, one modified: the whole modified element.
  ExpectModifier(R"({"_id": 1, "a": [{"c": 0, "b": 0}, {"c": 0}, {"c": 1}]})", R"({"$set": {"a.$[i].b": 0}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "u1": {"c": 0, "b": 0}}}})",
                 R"({"$v": 1, "$set": {"a.1": {"c": 0, "b": 0}}})", R"([{"i.c": 0}])");
}

TEST(UpdateDiffModifier, PositionalOperator) {
  // update_array_node_test.cpp ApplyPositionalInsideArrayUpdate (matched field "1").
  ExpectModifier(R"({"_id": 1, "a": [{"b": [0, 0], "c": 0}]})", R"({"$set": {"a.$[i].b.$": 1}})",
                 R"({"$v": 2, "diff": {"sa": {"a": true, "s0": {"sb": {"a": true, "u1": 1}}}}})",
                 R"({"$v": 1, "$set": {"a.0.b.1": 1}})", R"([{"i.c": 0}])", std::string("1"));
  ExpectModifier(R"({"_id": 1, "grades": [{"g": 80, "n": 1}, {"g": 85, "n": 2}]})",
                 R"({"$set": {"grades.$.g": 90}, "$inc": {"grades.$.n": 1}})",
                 R"({"$v": 2, "diff": {"sgrades": {"a": true, "s1": {"u": {"g": 90, "n": 3}}}}})",
                 R"({"$v": 1, "$set": {"grades.1.g": 90, "grades.1.n": 3}})", "", std::string("1"));
}

TEST(UpdateDiffModifier, PositionalWithoutMatchIsInferred) {
  Bson pre = J(R"({"_id": 1, "a": [1, 2, 3]})");
  Bson post = J(R"({"_id": 1, "a": [1, 20, 3]})");
  Bson u = J(R"({"$set": {"a.$": 20}})");
  Bson o = update_entry_object(pre.get(), post.get(), u.get(), UpdateKind::kModifier, 70);
  EXPECT_EQ(C(o), C(J(R"({"$v": 2, "diff": {"sa": {"a": true, "u1": 20}}})")));
}

TEST(UpdateDiffModifier, SetOnInsertAndCurrentDate) {
  Updater up;
  Outcome r = up.run(R"({"_id": 1, "a": 1})", R"({"$setOnInsert": {"b": 1}, "$set": {"a": 2}})", 70);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(C(r.o), C(J(R"({"$v": 2, "diff": {"u": {"a": 2}}})")));
  r = up.run(R"({"_id": 1, "d": 1})", R"({"$currentDate": {"d": true, "t": {"$type": "timestamp"}}})", 70);
  ASSERT_TRUE(r.error.empty()) << r.error;
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init(&it, r.o.get()) && bson_iter_find_descendant(&it, "diff.u.d", &it));
  EXPECT_TRUE(BSON_ITER_HOLDS_DATE_TIME(&it));
  ASSERT_TRUE(bson_iter_init(&it, r.o.get()) && bson_iter_find_descendant(&it, "diff.i.t", &it));
  EXPECT_TRUE(BSON_ITER_HOLDS_TIMESTAMP(&it));
  EXPECT_TRUE(r.emulated);
}

TEST(UpdateDiffModifier, ReplacementLogsThePostImage) {
  Updater up;
  for (int v : {44, 50, 70, 80}) {
    Outcome r = up.run(R"({"_id": 1, "a": 1})", R"({"x": "new"})", v);
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(C(r.o), C(J(R"({"_id": 1, "x": "new"})")));
    EXPECT_TRUE(is_replacement(r.o.get()));
  }
}

// ---------------------------------------------------------------------------------------------
// Pipeline updates: computeOplogDiff

struct DeltaCase {
  const char* pre;
  const char* post;
  size_t padding;
  const char* diff;  // nullptr: no diff (a replacement)
};

TEST(UpdateDiffCalculator, ServerCalculatorCases) {
  // document_diff_calculator_test.cpp.
  const DeltaCase cases[] = {
      {R"({"a": 1, "b": 2, "c": 3})", R"({"A": 1, "B": 2, "C": 3})", 0, nullptr},
      {R"({"b": 1, "c": 1, "d": 1})", R"({"a": 1, "b": 1, "c": 1, "d": 1})", 0, nullptr},
      {R"({})", R"({})", 1, nullptr},
      {R"({"b": 1})", R"({})", 0, nullptr},
      {R"({})", R"({"b": 1})", 0, nullptr},
      {R"({"a": 1, "b": "valueString", "c": 3, "d": 4})", R"({"b": "valueString", "c": 3, "d": 4, "a": 1})", 15,
       R"({"i": {"a": 1}})"},
      {R"({"b": 1, "a": 2, "c": 3, "d": 4, "e": "valueString"})", R"({"c": 3, "d": 4, "e": "valueString"})", 15,
       R"({"d": {"a": false, "b": false}})"},
      {R"({"b": 1, "a": 2, "c": "value", "d": "valueString", "e": "valueString", "g": 1, "f": 1})",
       R"({"c": "value", "d": "valueString", "e": "valueString"})", 15,
       R"({"d": {"g": false, "f": false, "a": false, "b": false}})"},
      {R"({"a": "valueString", "b": 2, "c": {"subField1": 1, "subField2": 3.0}, "d": 4})",
       R"({"a": "valueString", "b": 2, "c": {"subField1": 1, "subField2": 3}, "d": 4})", 15,
       R"({"sc": {"u": {"subField2": 3}}})"},
      {R"({"a": null})", R"({})", 15, nullptr},
      {R"({"a": null, "b": {"$undefined": true}, "c": null, "d": "someValueStr"})",
       R"({"a": null, "b": {"$undefined": true}, "c": {"$undefined": true}, "d": "someValueStr"})", 15,
       R"({"u": {"c": {"$undefined": true}}})"},
      {R"({"a": 1, "b": 2, "c": {"p": 1, "q": 1, "s": 1, "r": 2}, "d": 4})",
       R"({"a": 1, "b": 2, "c": {"p": 1, "q": 1, "r": 2, "s": 1}, "d": 4})", 10, R"({"sc": {"i": {"s": 1}}})"},
      {R"({"field1": "abcd", "field2": [1, 2, 3]})", R"({"field1": "abcd", "field2": [1, 2, 3, 4]})", 5,
       R"({"sfield2": {"a": true, "u3": 4}})"},
      {R"({"field1": "abcd", "field2": [1, 2, 3, [[2]]]})", R"({"field1": "abcd", "field2": [1, 2, 3, [[4]]]})", 0,
       R"({"sfield2": {"a": true, "u3": [[4]]}})"},
      {R"({"field1": "abcd", "field2": [1, 2, 3, [1, "longString", [2], 4, 5, 6], 5, 5, 5]})",
       R"({"field1": "abcd", "field2": [1, 2, 3, [1, "longString", [4], 4], 5, 6]})", 0,
       R"({"sfield2": {"a": true, "l": 6, "s3": {"a": true, "l": 4, "u2": [4]}, "u5": 6}})"},
      {R"({"": "1", "field2": [1, 2, 3, {"": {"": 1, "padding": "largeFieldValue"}}]})",
       R"({"": "2", "field2": [1, 2, 3, {"": {"": 2, "padding": "largeFieldValue"}}]})", 15,
       R"({"u": {"": "2"}, "sfield2": {"a": true, "s3": {"s": {"u": {"": 2}}}}})"},
      {R"({"field1": "abcd", "field2": [1, 2, 3, {"field3": ["veryLargeStringValueveryLargeStringValue", 2, 3, 4]}]})",
       R"({"field1": "abcd", "field2": [1, 2, 3, {"field3": ["veryLargeStringValueveryLargeStringValue", 2, 4, 3, 5]}]})",
       0, R"({"sfield2": {"a": true, "s3": {"sfield3": {"a": true, "u2": 4, "u3": 3, "u4": 5}}}})"},
      {R"({"field1": "abcd", "field2": [1, 2, 3, {"field3": ["largeString", 2, 3, 4, 5]}]})",
       R"({"field1": "abcd", "field2": [1, 2, 3, {"field3": ["largeString", 2, 3, 5]}]})", 15,
       R"({"sfield2": {"a": true, "s3": {"sfield3": {"a": true, "l": 4, "u3": 5}}}})"},
      {R"({"field1": "abcd", "field2": [1, 2, 3, {"field3": [2, 3, 4, 5]}]})",
       R"({"field1": "abcd", "field2": [1, 2, 3, {"field3": [1, 2, 3, 4, 5]}]})", 15,
       R"({"sfield2": {"a": true, "u3": {"field3": [1, 2, 3, 4, 5]}}})"},
      {R"({"field1": [1, 2, 3, 4, 5, 6, {"a": 1, "b": 2, "c": 3, "d": 4}, 7]})",
       R"({"field1": [1, 2, 3, 4, 5, 6, {"p": 1, "q": 2}, 7]})", 0, R"({"sfield1": {"a": true, "u6": {"p": 1, "q": 2}}})"},
      {R"({"field": {"p": "someString", "q": 2, "r": {"a": 1, "b": 2, "c": 3, "d": 4}, "s": 3}})",
       R"({"field": {"p": "someString", "q": 2, "r": {"p": 1, "q": 2}, "s": 3}})", 0,
       R"({"sfield": {"u": {"r": {"p": 1, "q": 2}}}})"},
      {R"({"field": {"p": "someString", "q": 2, "r": [1, 3, 4, 5], "s": 3}})",
       R"({"field": {"p": "someString", "q": 2, "r": [1, 2, 3, 4], "s": 3}})", 0,
       R"({"sfield": {"u": {"r": [1, 2, 3, 4]}}})"},
  };
  for (int v : kDeltaVersions) {
    for (const auto& c : cases) {
      Bson pre = J(c.pre), post = J(c.post);
      auto diff = detail::compute_oplog_diff(pre.get(), post.get(), c.padding, v);
      if (!c.diff) {
        EXPECT_FALSE(diff) << "version " << v << " " << c.pre << " -> " << c.post << ": " << C(*diff);
        continue;
      }
      ASSERT_TRUE(diff) << "version " << v << " " << c.pre << " -> " << c.post;
      EXPECT_EQ(C(*diff), C(J(c.diff))) << "version " << v << " " << c.pre << " -> " << c.post;
    }
  }
}

TEST(UpdateDiffCalculator, SameObjectsGiveAnEmptyDiff) {
  for (const char* d : {R"({"field1": 1})", R"({"field1": [0, 1, 2, 3, 4]})", R"({"0": [[{"0": [[{"0": [[]]}]]}]]})"}) {
    Bson doc = J(d);
    auto diff = detail::compute_oplog_diff(doc.get(), doc.get(), 5, 70);
    ASSERT_TRUE(diff) << d;
    EXPECT_TRUE(diff->empty());
  }
}

TEST(UpdateDiffCalculator, DeeplyNestedDiffs) {
  // document_diff_calculator_test.cpp DeepestObjectSubDiff: a change at the bottom of a
  // 100-level document gives 100 nested sub-diffs.
  Bson large = J(R"({"largeField": ")" + std::string(50, 'a') + R"("})");
  Bson pre = nest(J(R"({"largeField": "x", "field": 1})"), 100, "subObj", &large);
  Bson post = nest(J(R"({"largeField": "x", "field": 2})"), 100, "subObj", &large);
  Bson diff = nest(J(R"({"u": {"field": 2}})"), 100, "ssubObj");
  for (int v : kDeltaVersions) {
    auto d = detail::compute_oplog_diff(pre.get(), post.get(), 0, v);
    ASSERT_TRUE(d);
    EXPECT_EQ(C(*d), C(diff));
    auto back = detail::apply_v2(pre.get(), d->get());
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_TRUE(same_bytes(*back, post.get()));
  }
}

// jstests/replsets/v2_delta_oplog_entries.js: which pipeline updates log a delta.
TEST(UpdateDiffPipeline, DeltaOrReplacementAsTheJstest) {
  const std::string giant(1024, '_');
  struct Case {
    std::string pre, pipeline;
    bool delta;
  };
  const std::vector<Case> cases = {
      {R"({"_id": 0, "x": 3, "y": 3, "giantStr": ")" + giant + R"("})", R"([{"$unset": ["x", "y"]}])", true},
      {R"({"_id": 1, "x": "notSoLargeString", "y": 0})", R"([{"$set": {"a": "foo", "y": 999}}])", true},
      {R"({"_id": 2, "x": "notSoLargeString", "subObj": {"a": 1, "b": 2}})", R"([{"$set": {"subObj.a": "foo", "y": 1}}])",
       true},
      {R"({"_id": 3, "x": "notSoLargeString", "subObj": {"a": {"$numberLong": "1"}, "b": 2}})",
       R"([{"$set": {"subObj.a": 1, "y": 1}}])", true},
      // The jstest (from 4.7, before the pipeline executor counted the 15 bytes of {$v, diff})
      // expects deltas for the two tiny documents below; the 5.0+ size estimate with that
      // padding rejects them (see PaddingDecidesTinyDocuments).
      {R"({"_id": 4, "subObj": {"a": 1, "b": 2}})", R"([{"$set": {"subObj.c": "foo"}}])", false},
      {R"({"_id": 5, "subObj": {"a": 1, "b": 2}, "toRemove": "foo", "giantStr": ")" + giant + R"("})",
       R"([{"$project": {"subObj": 1, "giantStr": 1}}, {"$set": {"subObj.c": "foo"}}])", true},
      {R"({"_id": 6, "toRemove": "foo", "subObj": {"a": 1, "b": 2}})", R"([{"$project": {"subObj": 1}}])", true},
      {R"({"_id": 7, "x": "foo", "subObj": {"a": 1, "b": 2}, "giantStr": ")" + giant + R"("})",
       R"([{"$replaceRoot": {"newRoot": {"x": "bar", "subObj": {"a": 1, "b": 2}, "giantStr": ")" + giant + R"("}}}])",
       true},
      {R"({"_id": 8, "x": "foo", "subObj": {"a": 1, "b": 2}})",
       R"([{"$replaceRoot": {"newRoot": {"_id": 8, "newField": "zzzzzzzzzzzzzzzzzzzzzzzzzz"}}}])", false},
      {R"({"_id": 9, "padding": ")" + giant + R"(", "a": 1, "b": {"c": 2, "d": {"e": 3, "f": 6}}, "z": 3})",
       R"([{"$unset": ["b.d.f"]}, {"$set": {"b.a": 5, "b.b": 3, "b.c": 2, "b.d.d": 2, "b.d.e": 10, "z": 7}}])", true},
      {R"({"_id": 10, "x": ")" + giant + R"(", "arrField": [{"x": 1}, {"x": 2}]})", R"([{"$set": {"arrField.x": 5}}])",
       true},
      {R"({"_id": 11, "x": "foo", "y": "bar", "z": "baz"})",
       R"([{"$replaceRoot": {"newRoot": {"_id": 11, "z": "baz", "y": "bar", "x": "foo"}}}])", false},
      {R"({"_id": 12, "padding": ")" + giant + R"(", "a": [1, 2, 3, 4, 5]})", R"([{"$set": {"a": [1, 2, 999, 4, 5]}}])",
       true},
      {R"({"_id": 13, "padding": ")" + giant + R"(", "a": [1, 2, 3]})", R"([{"$set": {"a": [1, 2]}}])", true},
      {R"({"_id": 14, "padding": ")" + giant + R"(", "a": [1, {"b": 10}, 3]})", R"([{"$set": {"a": [1, {"b": 9}]}}])",
       true},
      {R"({"_id": 15, "padding": ")" + giant + R"(", "a": [1, 2, 999, 3, 4]})", R"([{"$set": {"a": [1, 2, 3, 4]}}])",
       true},
  };
  Updater up;
  for (int v : kDeltaVersions) {
    for (const auto& c : cases) {
      Outcome r = up.run(c.pre, c.pipeline, v);
      ASSERT_TRUE(r.error.empty()) << r.error;
      ASSERT_TRUE(r.modified) << c.pipeline;
      EXPECT_EQ(!is_replacement(r.o.get()), c.delta) << "version " << v << " " << c.pipeline << " -> " << C(r.o);
    }
  }
  // 4.4 logs every pipeline update as a replacement.
  Outcome r = up.run(cases[1].pre, cases[1].pipeline, 44);
  EXPECT_TRUE(is_replacement(r.o.get()));
}

TEST(UpdateDiffPipeline, PaddingDecidesTinyDocuments) {
  // computeOplogDiff's estimate includes the padding: without it these diffs would pay.
  Bson pre = J(R"({"_id": 4, "subObj": {"a": 1, "b": 2}})");
  Bson post = J(R"({"_id": 4, "subObj": {"a": 1, "b": 2, "c": "foo"}})");
  EXPECT_FALSE(detail::compute_oplog_diff(pre.get(), post.get(), detail::kDeltaEntryMetadataSize, 70));
  auto d = detail::compute_oplog_diff(pre.get(), post.get(), 0, 70);
  ASSERT_TRUE(d);
  EXPECT_EQ(C(*d), C(J(R"({"ssubObj": {"i": {"c": "foo"}}})")));
  pre = J(R"({"_id": 1, "x": "foo", "y": "bar", "z": "baz"})");
  post = J(R"({"_id": 1, "z": "baz", "y": "bar", "x": "foo"})");
  EXPECT_FALSE(detail::compute_oplog_diff(pre.get(), post.get(), detail::kDeltaEntryMetadataSize, 70));
  d = detail::compute_oplog_diff(pre.get(), post.get(), 0, 70);
  ASSERT_TRUE(d);
  // Reordering: the moved fields are re-inserted at the end.
  EXPECT_EQ(C(*d), C(J(R"({"i": {"y": "bar", "x": "foo"}})")));
}

TEST(UpdateDiffPipeline, ExactDiffs) {
  Updater up;
  const std::string pad(100, '_');
  Outcome r = up.run(R"({"_id": 1, "p": ")" + pad + R"(", "x": "foo", "y": "bar", "z": "baz"})",
                     R"([{"$replaceRoot": {"newRoot": {"_id": 1, "p": ")" + pad +
                         R"(", "z": "baz", "y": "bar", "x": "foo"}}}])",
                     70);
  EXPECT_EQ(C(r.o), C(J(R"({"$v": 2, "diff": {"i": {"y": "bar", "x": "foo"}}})")));
  // A pipeline output without _id is diffed as such (the secondary keeps the old _id).
  const std::string giant(200, '_');
  r = up.run(R"({"_id": 1, "x": "foo", "g": ")" + giant + R"("})",
             R"([{"$replaceWith": {"x": "bar", "g": ")" + giant + R"("}}])", 70);
  EXPECT_EQ(C(r.o), C(J(R"({"$v": 2, "diff": {"d": {"_id": false}, "u": {"x": "bar"}}})")));
  // A changed element and a truncation: the sub-diffs would outgrow the small array, so it is
  // rewritten whole; a larger element keeps its sub-diff.
  r = up.run(R"({"_id": 1, "padding": ")" + giant + R"(", "a": [1, {"b": 10}, 3]})",
             R"([{"$set": {"a": [1, {"b": 9}]}}])", 70);
  EXPECT_EQ(C(r.o), C(J(R"({"$v": 2, "diff": {"u": {"a": [1, {"b": 9}]}}})")));
  r = up.run(R"({"_id": 1, "padding": ")" + giant + R"(", "a": [1, {"b": 10, "p": ")" + giant + R"("}, 3]})",
             R"([{"$set": {"a": [1, {"b": 9, "p": ")" + giant + R"("}]}}])", 70);
  EXPECT_EQ(C(r.o), C(J(R"({"$v": 2, "diff": {"sa": {"a": true, "l": 2, "s1": {"u": {"b": 9}}}}})")));
}

// ---------------------------------------------------------------------------------------------
// Applying entries

TEST(UpdateDiffApply, ReplacementKeepsTheOldIdWhenMissing) {
  Bson doc = J(R"({"_id": 7, "a": 1})");
  auto r = apply_update_entry(doc.get(), J(R"({"b": 2})").get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(C(*r), C(J(R"({"_id": 7, "b": 2})")));
  r = apply_update_entry(doc.get(), J(R"({"_id": 7, "c": 3})").get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(C(*r), C(J(R"({"_id": 7, "c": 3})")));
}

struct ApplyCase {
  const char* o;
  const char* want;
};

// Each entry applied to `doc` gives `want`.
void ExpectApplied(const std::string& doc, std::initializer_list<ApplyCase> cases) {
  Bson d = J(doc);
  for (const auto& c : cases) {
    auto r = apply_update_entry(d.get(), J(c.o).get());
    ASSERT_TRUE(r.ok()) << c.o << ": " << r.status().to_string();
    EXPECT_EQ(C(*r), C(J(c.want))) << c.o;
  }
}

TEST(UpdateDiffApply, DeltaSemantics) {
  ExpectApplied(R"({"_id": 1, "a": 1, "b": {"c": 1}, "arr": [1, 2, 3], "x": 5})", {
      // Updates of missing fields and inserts go to the end, inserts after updates.
      {R"({"$v": 2, "diff": {"u": {"a": 2, "n": 1}, "i": {"x": 6}}})",
       R"({"_id": 1, "a": 2, "b": {"c": 1}, "arr": [1, 2, 3], "n": 1, "x": 6})"},
      // A resize past the end pads with null, so does an update past the end.
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "l": 5}}})", R"({"_id": 1, "a": 1, "b": {"c": 1}, "arr": [1, 2, 3, null, null], "x": 5})"},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "u5": 9}}})",
       R"({"_id": 1, "a": 1, "b": {"c": 1}, "arr": [1, 2, 3, null, null, 9], "x": 5})"},
      // A sub-diff of the wrong type leaves null (a later entry rewrites the field); one for a
      // missing field does nothing.
      {R"({"$v": 2, "diff": {"sa": {"u": {"q": 1}}}})", R"({"_id": 1, "a": null, "b": {"c": 1}, "arr": [1, 2, 3], "x": 5})"},
      {R"({"$v": 2, "diff": {"sb": {"a": true, "u0": 1}}})", R"({"_id": 1, "a": 1, "b": null, "arr": [1, 2, 3], "x": 5})"},
      {R"({"$v": 2, "diff": {"smissing": {"u": {"q": 1}}}})", R"({"_id": 1, "a": 1, "b": {"c": 1}, "arr": [1, 2, 3], "x": 5})"},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "s1": {"u": {"q": 1}}, "s7": {"u": {"q": 1}}}}})",
       R"({"_id": 1, "a": 1, "b": {"c": 1}, "arr": [1, null, 3, null, null, null, null, null], "x": 5})"},
      // Deleting _id: the old one is kept.
      {R"({"$v": 2, "diff": {"d": {"_id": false, "a": false}}})", R"({"_id": 1, "b": {"c": 1}, "arr": [1, 2, 3], "x": 5})"},
  });
}

TEST(UpdateDiffApply, V1EntriesAsASecondary) {
  ExpectApplied(R"({"_id": 1, "a": 1, "s": "x", "arr": [1, 2]})", {
      {R"({"$v": 1, "$set": {"b.c": 1, "a": 2}, "$unset": {"s": true}})",
       R"({"_id": 1, "a": 2, "arr": [1, 2], "b": {"c": 1}})"},
      // Without $v (pre-3.6 entries), through arrays, and past their end.
      {R"({"$set": {"arr.1": 5, "arr.3": 7}})", R"({"_id": 1, "a": 1, "s": "x", "arr": [1, 5, null, 7]})"},
      {R"({"$unset": {"arr.0": true}})", R"({"_id": 1, "a": 1, "s": "x", "arr": [null, 2]})"},
      // A path through a scalar cannot be created: skipped, the rest applies.
      {R"({"$v": 1, "$set": {"s.t": 1, "n": 2}})", R"({"_id": 1, "a": 1, "s": "x", "arr": [1, 2], "n": 2})"},
      // String order: "arr.10" pads first, then "arr.3" sets one of the nulls.
      {R"({"$v": 1, "$set": {"arr.3": 3, "arr.10": 10}})",
       R"({"_id": 1, "a": 1, "s": "x", "arr": [1, 2, null, 3, null, null, null, null, null, null, 10]})"},
  });
}

TEST(UpdateDiffApply, MalformedEntriesAreRejected) {
  Bson doc = J(R"({"_id": 1, "a": 1, "o": {"p": 1}, "arr": [1, 2, 3]})");
  struct Case {
    const char* o;
    int code;
  } cases[] = {
      {R"({"$v": 2, "diff": {}})", 4770500},
      {R"({"$v": 2, "diff": {"x": {}}})", 4770503},
      {R"({"$v": 2, "diff": {"u": {"a": 1}, "d": {"a": false}}})", 4770503},
      {R"({"$v": 2, "diff": {"": {}}})", 4770505},
      {R"({"$v": 2, "diff": {"u": 1}})", 4770507},
      {R"({"$v": 2, "diff": {"so": 1}})", 4770507},
      {R"({"$v": 2, "diff": {"so": {"u": {"q": 1}}, "sarr": 5}})", 470510},
      {R"({"$v": 2, "diff": {"so": {"u": {"q": 1}}, "u": {"a": 2}}})", 4770514},
      {R"({"$v": 2, "diff": {"sarr": {"b": true}}})", 4770503},
      {R"({"$v": 2, "diff": {"sarr": {"a": 1, "u0": 1}}})", 4770519},
      {R"({"$v": 2, "diff": {"sarr": {"a": false, "u0": 1}}})", 4770520},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "l": "x"}}})", 4770507},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "u": 1}}})", 4770521},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "ux": 1}}})", 4770512},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "x1": 1}}})", 4770502},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "s1": 1}}})", 4770501},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "s1": {}}}})", 4770500},
      {R"({"$v": 2, "diff": {"u": {"a": 2}, "i": {"a": 3}}})", 4728000},
      {R"({"$v": 2, "diff": {"d": {"o": false}, "so": {"u": {"p": 2}}}})", 4728000},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "u2": 1, "u1": 1}}})", common::kBadValue},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "l": -1}}})", common::kBadValue},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "l": 1, "u2": 1}}})", common::kBadValue},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "u100000000": 1}}})", common::kBSONObjectTooLarge},
      {R"({"$v": 2, "diff": {"sarr": {"a": true, "l": 100000000}}})", common::kBSONObjectTooLarge},
      {R"({"$v": 2})", common::kTypeMismatch},
      {R"({"$v": 2, "diff": 1})", common::kTypeMismatch},
      {R"({"$v": 3, "diff": {}})", 6448500},
      {R"({"$v": "2", "diff": {}})", 6448500},
      {R"({"$v": 1, "$inc": {"a": 1}})", common::kFailedToParse},
      {R"({"$v": 1, "$set": 5})", common::kFailedToParse},
      {R"({"$v": 1, "$set": {"a": 1, "a.b": 2}})", common::kConflictingUpdateOperators},
  };
  for (const auto& c : cases) {
    auto r = apply_update_entry(doc.get(), J(c.o).get());
    ASSERT_FALSE(r.ok()) << c.o << " applied: " << C(*r);
    EXPECT_EQ(r.status().code(), c.code) << c.o << ": " << r.status().to_string();
  }
  // Nesting beyond any storable document is refused rather than recursed into.
  Bson deep_diff = nest(J(R"({"u": {"x": 1}})"), 300, "so");
  bson_t wrapped = BSON_INITIALIZER;
  bson_append_int32(&wrapped, "$v", 2, 2);
  bson_append_document(&wrapped, "diff", 4, deep_diff.get());
  Bson deep = Bson::steal(&wrapped);
  // The pre-image stops matching after two levels: null there, nothing deeper is read.
  Bson shallow = J(R"({"_id": 1, "o": {"o": {"o": 1}}})");
  auto r = apply_update_entry(shallow.get(), deep.get());
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  Bson id = J(R"({"_id": 1})");
  Bson deep_doc = nest(J(R"({"o": 1})"), 299, "o", nullptr);
  deep_doc = nest(std::move(deep_doc), 1, "o", &id);
  r = apply_update_entry(deep_doc.get(), deep.get());
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(apply_update_entry(doc.get(), nullptr).ok());
}

// ---------------------------------------------------------------------------------------------
// updateDescription

TEST(UpdateDiffDescription, ReferenceWorkedExample) {
  // §5.5: updatedFields {a, newf, b.c, b.e, arr.1}, removedFields [gone].
  Bson o = J(R"({"$v": 2, "diff": {"d": {"gone": false}, "u": {"a": 2}, "i": {"newf": "x"},
                "sb": {"u": {"c": 5}, "i": {"e": 7}}, "sarr": {"a": true, "u1": 20}}})");
  auto d = update_description(o.get(), 70, false);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(C(*d), C(J(R"({"updatedFields": {"a": 2, "newf": "x", "b.c": 5, "b.e": 7, "arr.1": 20},
                          "removedFields": ["gone"], "truncatedArrays": []})")));
  d = update_description(o.get(), 70, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(C(*d), C(J(R"({"updatedFields": {"a": 2, "newf": "x", "b.c": 5, "b.e": 7, "arr.1": 20},
                          "removedFields": ["gone"], "truncatedArrays": [], "disambiguatedPaths": {}})")));
  // 6.0 has no disambiguatedPaths; 4.4 no truncatedArrays.
  d = update_description(o.get(), 60, true);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(bson_has_field(d->get(), "disambiguatedPaths"));
  d = update_description(o.get(), 44, false);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(bson_has_field(d->get(), "truncatedArrays"));
}

TEST(UpdateDiffDescription, TruncatedArraysAndV1Entries) {
  auto d = update_description(J(R"({"$v": 2, "diff": {"sarr": {"a": true, "l": 1}}})").get(), 70, false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(C(*d), C(J(R"({"updatedFields": {}, "removedFields": [],
                          "truncatedArrays": [{"field": "arr", "newSize": 1}]})")));
  Bson v1 = J(R"({"$v": 1, "$set": {"a": 2, "b.c": 5}, "$unset": {"gone": true}})");
  for (int v : {44, 50, 60}) {
    d = update_description(v1.get(), v, false);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(C(*d), C(J(R"({"updatedFields": {"a": 2, "b.c": 5}, "removedFields": ["gone"]})")));
  }
  d = update_description(v1.get(), 70, false);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), 6741200);
  EXPECT_FALSE(update_description(J(R"({"_id": 1})").get(), 70, false).ok());
  EXPECT_FALSE(update_description(J(R"({"$v": 2, "diff": {"x": {}}})").get(), 70, false).ok());
}

TEST(UpdateDiffDescription, ShowExpandedEventsJstest) {
  // The change-stream updateDescription test with showExpandedEvents (requires_fcv_61): each
  // update runs through mql::Update, is logged, and described.
  const std::string large(128, '*');
  std::string doc = R"({"_id": 100,
      "topLevelArray": [{"subArray": [0, [0, [{"bottomArray": [1, 2, ")" + large + R"("]}]], 2, 3, ")" + large + R"("]}],
      "arrayForReplacement": [0, 1, 2, 3],
      "arrayForResize": [")" + large + R"(", 1],
      "obj": {"sub.obj": {"d.o.t.t.e.d.a.r.r.a.y..": [[{"a": {"b.c": 1, "field": ")" + large + R"("}}, "truncated"]]}},
      "d.o.t.t.e.d.o.b.j.": {"sub.obj": {"b.c": 2}},
      "objectWithNumericField": {"0": {"1": "numeric", "field": ")" + large + R"("}},
      "arrayWithNumericField": [[{"0": "numeric", "a": {"b.c": 1}, "field": ")" + large + R"("}]],
      "arrayWithDotted.AndNumericFields": [[{"0": [{"1.2": {"a.b": null, "c": ")" + large + R"("}}]}]]})";
  struct Step {
    std::string u;
    std::string description;
  };
  const std::vector<Step> steps = {
      {R"({"$set": {"a": 2, "topLevelArray.0.subArray.1.1.0.bottomArray.2": 3, "arrayForReplacement": [0]}})",
       R"({"updatedFields": {"arrayForReplacement": [0], "a": 2, "topLevelArray.0.subArray.1.1.0.bottomArray.2": 3},
           "removedFields": [], "truncatedArrays": [], "disambiguatedPaths": {}})"},
      {R"({"$set": {"arrayWithNumericField.0.0.1": {"b.c": 1}}})",
       R"({"updatedFields": {"arrayWithNumericField.0.0.1": {"b.c": 1}}, "removedFields": [], "truncatedArrays": [],
           "disambiguatedPaths": {"arrayWithNumericField.0.0.1": ["arrayWithNumericField", 0, 0, "1"]}})"},
      {R"({"$set": {"objectWithNumericField.0.1": "updated"}})",
       R"({"updatedFields": {"objectWithNumericField.0.1": "updated"}, "removedFields": [], "truncatedArrays": [],
           "disambiguatedPaths": {"objectWithNumericField.0.1": ["objectWithNumericField", "0", "1"]}})"},
      {R"([{"$unset": ["arrayForReplacement"]}])",
       R"({"updatedFields": {}, "removedFields": ["arrayForReplacement"], "truncatedArrays": [],
           "disambiguatedPaths": {}})"},
      {R"([{"$replaceWith": {"$setField": {"field": "arrayForResize", "input": "$$ROOT", "value": [")" + large +
           R"("]}}}])",
       R"({"updatedFields": {}, "removedFields": [], "truncatedArrays": [{"field": "arrayForResize", "newSize": 1}],
           "disambiguatedPaths": {}})"},
      {R"([{"$replaceWith": {"$setField": {"field": "d.o.t.t.e.d.o.b.j.", "input": "$$ROOT", "value": {"subObj": 1}}}},
           {"$replaceWith": {"$setField": {"field": "new.Field.", "input": "$$ROOT", "value": 1}}}])",
       R"({"updatedFields": {"d.o.t.t.e.d.o.b.j.": {"subObj": 1}, "new.Field.": 1}, "removedFields": [],
           "truncatedArrays": [],
           "disambiguatedPaths": {"d.o.t.t.e.d.o.b.j.": ["d.o.t.t.e.d.o.b.j."], "new.Field.": ["new.Field."]}})"},
      {R"([{"$set": {"obj": {"$setField": {"field": "sub.obj", "input": "$obj",
           "value": {"$literal": {"d.o.t.t.e.d.a.r.r.a.y..": [[{"a": {"b.c": 2, "field": ")" + large + R"("}}]]}}}}}}])",
       R"({"updatedFields": {"obj.sub.obj.d.o.t.t.e.d.a.r.r.a.y...0.0.a.b.c": 2}, "removedFields": [],
           "truncatedArrays": [{"field": "obj.sub.obj.d.o.t.t.e.d.a.r.r.a.y...0", "newSize": 1}],
           "disambiguatedPaths": {
             "obj.sub.obj.d.o.t.t.e.d.a.r.r.a.y...0": ["obj", "sub.obj", "d.o.t.t.e.d.a.r.r.a.y..", 0],
             "obj.sub.obj.d.o.t.t.e.d.a.r.r.a.y...0.0.a.b.c": ["obj", "sub.obj", "d.o.t.t.e.d.a.r.r.a.y..", 0, 0, "a", "b.c"]}})"},
      {R"([{"$replaceWith": {"$setField": {"field": "arrayWithDotted.AndNumericFields", "input": "$$ROOT",
           "value": {"$literal": [[{"0": [{"1.2": {"a.b": true, "c": ")" + large + R"("}}]}]]}}}}])",
       R"({"updatedFields": {"arrayWithDotted.AndNumericFields.0.0.0.0.1.2.a.b": true}, "removedFields": [],
           "truncatedArrays": [],
           "disambiguatedPaths": {"arrayWithDotted.AndNumericFields.0.0.0.0.1.2.a.b":
             ["arrayWithDotted.AndNumericFields", 0, 0, "0", 0, "1.2", "a.b"]}})"},
  };
  Updater up;
  std::string cur = doc;
  for (const auto& s : steps) {
    Outcome r = up.run(cur, s.u, 70);
    ASSERT_TRUE(r.error.empty()) << s.u << ": " << r.error;
    ASSERT_FALSE(is_replacement(r.o.get())) << s.u << ": " << C(r.o);
    auto d = update_description(r.o.get(), 70, true);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(C(*d), C(J(s.description))) << s.u << "\no " << C(r.o);
    cur = common::to_json(r.post.get());
  }
}

TEST(UpdateDiffDescription, IsReplacement) {
  EXPECT_TRUE(is_replacement(J(R"({"_id": 1, "x": 1})").get()));
  EXPECT_TRUE(is_replacement(J(R"({"x": 1})").get()));
  EXPECT_TRUE(is_replacement(J(R"({"$v": 2, "_id": 1})").get()));
  EXPECT_FALSE(is_replacement(J(R"({"$v": 2, "diff": {"u": {"a": 1}}})").get()));
  EXPECT_FALSE(is_replacement(J(R"({"$v": 1, "$set": {"a": 1}})").get()));
  EXPECT_FALSE(is_replacement(J(R"({"$set": {"a": 1}})").get()));
  EXPECT_FALSE(is_replacement(nullptr));
}

// ---------------------------------------------------------------------------------------------
// Properties over random documents and updates

class Random {
 public:
  explicit Random(uint32_t seed) : rng_(seed) {}
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int pct) { return below(100) < pct; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(below(static_cast<int>(v.size())))];
  }

  std::string scalar() {
    switch (below(6)) {
      case 0: return std::to_string(below(5));
      case 1: return "\"s" + std::to_string(below(3)) + "\"";
      case 2: return R"({"$numberLong": ")" + std::to_string(below(4)) + R"("})";
      case 3: return std::to_string(below(4)) + ".5";
      case 4: return "null";
      default: return below(2) ? "true" : "false";
    }
  }
  std::string value(int depth) {
    if (depth <= 0 || chance(50)) return scalar();
    if (chance(50)) {
      std::string s = "[";
      int n = below(4);
      for (int i = 0; i < n; ++i) s += (i ? ", " : "") + value(depth - 1);
      return s + "]";
    }
    return object(depth - 1, {"x", "y", "z", "0", "1"});
  }
  std::string object(int depth, const std::vector<std::string>& keys) {
    std::string s = "{";
    bool first = true;
    for (const auto& k : keys) {
      if (!chance(55)) continue;
      s += (first ? "" : ", ") + ("\"" + k + "\": ") + value(depth);
      first = false;
    }
    return s + "}";
  }
  std::string document() {
    std::string body = object(3, {"a", "b", "c", "d", "e"});
    return body == "{}" ? R"({"_id": 1})" : R"({"_id": 1, )" + body.substr(1);
  }
  std::string path(bool filters) {
    static const std::vector<std::string> parts = {"a", "b", "c", "d", "x", "y", "z", "0", "1", "2", "5"};
    std::string p = pick(std::vector<std::string>{"a", "b", "c", "d", "e"});
    int extra = below(3);
    for (int i = 0; i < extra; ++i) {
      if (filters && chance(25)) {
        p += chance(50) ? ".$[]" : ".$[f]";
      } else {
        p += "." + pick(parts);
      }
    }
    return p;
  }
  std::string modifier(bool* uses_filter) {
    static const std::vector<std::string> ops = {"$set",  "$unset", "$inc",     "$mul",     "$min",
                                                 "$max",  "$push",  "$addToSet", "$pop",    "$pull",
                                                 "$pullAll", "$rename", "$currentDate", "$bit", "$setOnInsert"};
    std::string u = "{";
    int nops = 1 + below(3);
    for (int i = 0; i < nops; ++i) {
      const std::string& op = pick(ops);
      u += (i ? ", " : "") + ("\"" + op + "\": {");
      int nfields = 1 + below(2);
      for (int j = 0; j < nfields; ++j) {
        std::string p = path(op == "$set" || op == "$inc" || op == "$unset" || op == "$push");
        if (p.find("$[f]") != std::string::npos) *uses_filter = true;
        u += (j ? ", " : "") + ("\"" + p + "\": ") + argument(op);
      }
      u += "}";
    }
    return u + "}";
  }

 private:
  std::string argument(const std::string& op) {
    if (op == "$inc" || op == "$mul") return std::to_string(below(3));
    if (op == "$unset") return "\"\"";
    if (op == "$pop") return chance(50) ? "1" : "-1";
    if (op == "$rename") return "\"" + path(false) + "\"";
    if (op == "$currentDate") return "true";
    if (op == "$bit") return R"({"or": 1})";
    if (op == "$pullAll") return "[" + scalar() + ", " + scalar() + "]";
    if (op == "$push" || op == "$addToSet") {
      if (chance(50)) return value(1);
      std::string s = R"({"$each": [)" + value(1) + ", " + value(1) + "]";
      if (op == "$push") {
        if (chance(30)) s += R"(, "$sort": 1)";
        if (chance(30)) s += R"(, "$slice": )" + std::to_string(below(5) - 2);
        if (chance(30)) s += R"(, "$position": )" + std::to_string(below(5) - 1);
      }
      return s + "}";
    }
    return value(2);
  }
  std::mt19937 rng_;
};

TEST(UpdateDiffProperty, RandomModifierUpdatesRoundTrip) {
  Updater up;
  int logged = 0, emulated = 0;
  for (uint32_t seed = 1; seed <= 4000; ++seed) {
    Random rnd(seed);
    std::string pre = rnd.document();
    bool uses_filter = false;
    std::string u = rnd.modifier(&uses_filter);
    const std::string filters = uses_filter ? R"([{"f": {"$ne": 1}}])" : "";
    std::optional<std::string> positional;
    for (int v : {44, 70}) {
      Outcome r = up.run(pre, u, v, filters, positional);  // checks apply(pre, o) == post
      if (!r.error.empty() || !r.modified) continue;
      ++logged;
      if (r.emulated) ++emulated;
      EXPECT_TRUE(r.emulated) << "seed " << seed << " version " << v << "\npre " << pre << "\nu " << u << "\npost "
                              << C(r.post) << "\no " << C(r.o);
      // Re-applying an entry to its own result changes nothing (idempotent application).
      auto again = apply_update_entry(r.post.get(), r.o.get());
      ASSERT_TRUE(again.ok()) << again.status().to_string();
      EXPECT_TRUE(same_bytes(*again, r.post.get())) << "seed " << seed << " o " << C(r.o);
    }
  }
  EXPECT_GT(logged, 1500);
  EXPECT_EQ(emulated, logged);
}

TEST(UpdateDiffProperty, RandomPositionalUpdatesRoundTrip) {
  Updater up;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    Random rnd(seed);
    std::string pre = R"({"_id": 1, "a": )" + rnd.value(2) + R"(, "arr": [)" + rnd.object(1, {"x", "y"}) + ", " +
                      rnd.object(1, {"x", "y"}) + ", " + rnd.scalar() + "]}";
    const std::string idx = std::to_string(rnd.below(2));
    std::string u = R"({"$set": {"arr.$.x": )" + rnd.scalar() + R"(, "arr.1.y": 7}, "$inc": {"arr.0.z": 1}})";
    for (int v : {44, 70}) {
      Outcome r = up.run(pre, u, v, "", idx);
      if (!r.error.empty() || !r.modified) continue;
      EXPECT_TRUE(r.emulated) << "seed " << seed << " pre " << pre << " match " << idx << " o " << C(r.o);
    }
  }
}

TEST(UpdateDiffProperty, RandomArrayFilterUpdatesRoundTrip) {
  // Arrays of documents and nested arrays under $[] and $[<id>], where the number of matched
  // and modified elements decides what is logged.
  static const std::vector<std::string> paths = {"arr.$[].x",       "arr.$[f].x",     "arr.$[f]",
                                                 "arr.$[f].y.$[g]", "arr.$[].y.$[g]", "arr.$[f].z.w",
                                                 "arr.$[].y.$[]",   "arr.$[f].y"};
  static const std::vector<std::string> ops = {"$set", "$inc", "$unset", "$push", "$max", "$pop"};
  static const std::vector<std::string> filter_f = {R"({"f.x": {"$gte": 1}})", R"({"f.x": 2})",
                                                    R"({"f": {"$type": "object"}})", R"({"f.x": {"$exists": true}})"};
  static const std::vector<std::string> filter_g = {R"({"g": {"$gt": 1}})", R"({"g": 0})",
                                                    R"({"g": {"$type": "number"}})"};
  Updater up;
  int logged = 0;
  for (uint32_t seed = 1; seed <= 1500; ++seed) {
    Random rnd(seed);
    std::string arr = "[";
    const int n = rnd.below(5);
    for (int i = 0; i < n; ++i) {
      std::string e = R"({"x": )" + std::to_string(rnd.below(4));
      if (rnd.chance(60)) {
        e += R"(, "y": [)";
        const int m = rnd.below(4);
        for (int j = 0; j < m; ++j) e += (j ? ", " : "") + std::to_string(rnd.below(4));
        e += "]";
      }
      if (rnd.chance(30)) e += R"(, "z": {"w": 1})";
      arr += (i ? ", " : "") + e + "}";
    }
    arr += "]";
    const std::string pre = R"({"_id": 1, "arr": )" + arr + R"(, "k": 1})";
    std::string u = "{";
    bool f = false, g = false;
    const int nops = 1 + rnd.below(2);
    for (int i = 0; i < nops; ++i) {
      const std::string& op = rnd.pick(ops);
      const std::string& p = rnd.pick(paths);
      f = f || p.find("$[f]") != std::string::npos;
      g = g || p.find("$[g]") != std::string::npos;
      std::string arg = op == "$unset" ? "\"\"" : op == "$pop" ? "1" : op == "$push" ? "7" : std::to_string(rnd.below(4));
      u += (i ? ", " : "") + ("\"" + op + "\": {\"" + p + "\": " + arg + "}");
    }
    if (rnd.chance(30)) u += R"(, "$set": {"k": 2})";
    u += "}";
    std::string filters;
    if (f || g) {
      filters = "[";
      if (f) filters += rnd.pick(filter_f);
      if (g) filters += std::string(f ? ", " : "") + rnd.pick(filter_g);
      filters += "]";
    }
    for (int v : {44, 70}) {
      Outcome r = up.run(pre, u, v, filters);
      if (!r.error.empty() || !r.modified) continue;
      ++logged;
      EXPECT_TRUE(r.emulated) << "seed " << seed << " version " << v << "\npre " << pre << "\nu " << u
                              << "\nfilters " << filters << "\npost " << C(r.post) << "\no " << C(r.o);
    }
  }
  EXPECT_GT(logged, 600);
}

TEST(UpdateDiffProperty, RandomPipelineUpdatesRoundTrip) {
  Updater up;
  int deltas = 0;
  for (uint32_t seed = 1; seed <= 1500; ++seed) {
    Random rnd(seed);
    std::string pre = rnd.document();
    std::string pipeline;
    switch (rnd.below(3)) {
      case 0:
        pipeline = R"([{"$set": {")" + rnd.pick(std::vector<std::string>{"a", "b", "b.x", "c.y", "e"}) +
                   R"(": {"$literal": )" + rnd.value(2) + "}}}]";
        break;
      case 1:
        pipeline = R"([{"$unset": [")" + rnd.pick(std::vector<std::string>{"a", "b", "b.x", "c.y"}) + R"("]}])";
        break;
      default: {
        std::string body = rnd.object(2, {"a", "b", "c", "d", "e"});
        if (rnd.chance(50) && body != "{}") body = R"({"_id": 1, )" + body.substr(1);
        pipeline = R"([{"$replaceWith": {"$literal": )" + body + "}}]";
      }
    }
    for (int v : {50, 70}) {
      Outcome r = up.run(pre, pipeline, v);  // checks apply(pre, o) == post
      if (!r.error.empty() || !r.modified) continue;
      if (!is_replacement(r.o.get())) ++deltas;
    }
  }
  EXPECT_GT(deltas, 200);
}

TEST(UpdateDiffProperty, FullDiffsReproduceRandomPairs) {
  for (uint32_t seed = 1; seed <= 1500; ++seed) {
    Random rnd(seed);
    Bson a = J(rnd.document());
    Bson b = J(rnd.document());
    for (int v : {50, 70}) {
      auto d = detail::compute_oplog_diff(a.get(), b.get(), 0, v, true);
      ASSERT_TRUE(d);
      if (d->empty()) {
        EXPECT_EQ(C(a), C(b));
        continue;
      }
      auto back = detail::apply_v2(a.get(), d->get());
      ASSERT_TRUE(back.ok()) << back.status().to_string();
      EXPECT_TRUE(same_bytes(*back, b.get())) << "seed " << seed << " diff " << C(*d);
      // The size-limited diff, when there is one, reproduces too.
      if (auto small = detail::compute_oplog_diff(a.get(), b.get(), detail::kDeltaEntryMetadataSize, v)) {
        auto back2 = detail::apply_v2(a.get(), small->get());
        ASSERT_TRUE(back2.ok());
        EXPECT_TRUE(same_bytes(*back2, b.get()));
        EXPECT_LT(small->size(), b.size());
      }
    }
  }
}

}  // namespace
}  // namespace sim::engine::update_diff
