// update_diff: the `o` of an update oplog entry exactly as the emulated server writes it
// (mongodb-reference.md §5.4-5.5), applying any form of it as a secondary does (§5.10), and
// the change-stream updateDescription it yields (§6.4).
//
// Modifier updates are logged the way the server's update tree logs while it applies them
// (update/*_node.cpp through v2_log_builder.cpp on 5.0+, the $set/$unset LogBuilder on 4.4):
// the `u` document is parsed again here and walked over the pre- and post-images, so `$inc`
// logs the resulting value, `$push` logs appended elements, `$pull` the whole array, and so on.
// Pipeline updates use the server's computeOplogDiff (document_diff_calculator.cpp), falling
// back to a replacement when the diff is not smaller than the new document.
#pragma once

#include <bson/bson.h>

#include <optional>
#include <string>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "sim/engine/observer.h"

namespace sim::engine::update_diff {

using UpdateKind = UpdateInfo::Kind;

// What the server knew while applying a modifier update besides `u`: which element the query's
// positional `$` matched and the arrayFilters decide which paths it logs.
struct UpdateContext {
  // The update's arrayFilters (an array of filter documents), null when none.
  const bson_t* array_filters = nullptr;
  // mql::MatchDetails::elem_match_key of the query match ("2"); needed when `u` uses `$`.
  // Without it the position is inferred from the first array element that changed.
  std::optional<std::string> positional_match;
  // Collation for arrayFilters, and $$NOW/let for re-running a pipeline update (see the .cc);
  // null means the simple collation and no variables.
  const mql::ExpressionContext* expr_ctx = nullptr;
};

// The `o` of the update entry a server of `version` (44, 50, 60, 70, 80) writes for the change
// from `pre` to `post` (whole documents, _id first), with `update_spec` the `u` as sent:
//  - replacement → the post-image;
//  - 5.0+ modifier or pipeline → {$v: 2, diff: {...}} (pipelines: a replacement when the diff
//    is not smaller than the new document);
//  - 4.4 modifier → {$v: 1, $set: {...}, $unset: {...}}; 4.4 pipeline → the post-image.
// The result is checked by applying it to `pre`; should the emulated log not reproduce `post`
// (an update mql::Update applied differently from the server), a full diff (4.4: top-level
// $set/$unset) or a replacement that does is returned instead, so replication stays correct.
common::Bson update_entry_object(const bson_t* pre, const bson_t* post, const bson_t* update_spec,
                                 UpdateKind kind, mql::ServerVersion version, const UpdateContext& ctx = {});

// Applies the `o` of any update entry (replacement, $v:1, $v:2) to `doc` as a secondary does:
// idempotently ($v:1 paths that cannot be created are skipped, a $v:2 sub-diff on a value of
// another type sets null) and keeping `doc`'s _id when the result has none. A malformed entry
// is an error with the server's code (4770500-4770521, 4728000, ...), never a crash.
common::Result<common::Bson> apply_update_entry(const bson_t* doc, const bson_t* o);

// True when `o` is a replacement (it has an _id, or holds no `$` fields at all): change
// streams report "replace" for it and "update" otherwise.
bool is_replacement(const bson_t* o);

// The change-stream updateDescription of a non-replacement `o`:
// {updatedFields, removedFields, truncatedArrays[, disambiguatedPaths]} for $v:2 (no
// truncatedArrays on 4.4; disambiguatedPaths only with showExpandedEvents on 6.1+), and
// {updatedFields, removedFields} for $v:1 (an error on 6.1+, which reject $v:1 entries).
common::Result<common::Bson> update_description(const bson_t* o, mql::ServerVersion version,
                                                bool show_expanded_events);

}  // namespace sim::engine::update_diff
