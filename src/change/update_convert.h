// Update oplog entries and change-stream updateDescriptions → update statements the
// destination runs ({$set}, {$unset}, {$push: {arr: {$each: [], $slice: n}}}), in order, with
// the server's $v:2 diff semantics (mongodb-reference.md §5.5): array truncation first, then
// deletes, then in-place sets and inserts at the end of their object (an inserted field that
// already exists is unset first so it moves to the end, and inserted fields go in one
// statement each when the destination's $set would otherwise reorder them). Field names a
// modifier path cannot express (empty, containing '.', starting with '$') make the update
// "needs fetch": the applier then copies the current document from the source.
#pragma once

#include <vector>

#include "common/bson.h"

namespace change {

struct ConvertedUpdate {
  std::vector<common::Bson> statements;  // modifier documents, applied in order
  bool needs_fetch = false;
};

// `diff` is the `diff` field of a {$v: 2, diff: ...} entry.
ConvertedUpdate convert_v2_diff(const bson_t* diff);
// `o` is a $v:1 (or versionless) modifier entry: the statement is `o` without `$v`.
ConvertedUpdate convert_v1(const bson_t* o);
// A change event's updateDescription {updatedFields, removedFields, truncatedArrays,
// disambiguatedPaths}.
ConvertedUpdate convert_update_description(const bson_t* description);

}  // namespace change
