// Internals of update_diff shared by its .cc files and its tests; not an interface for others.
#pragma once

#include <bson/bson.h>

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/context.h"
#include "sim/engine/update_diff.h"

namespace sim::engine::update_diff::detail {

// The server's update_oplog_entry::kSizeOfDeltaOplogEntryMetadata: the pipeline executor
// counts the {$v, diff} wrapper this many bytes when deciding whether a diff pays.
constexpr size_t kDeltaEntryMetadataSize = 15;

// Nesting the applier and the update-description walk accept (the server stores documents
// at most 180 levels deep).
constexpr int kMaxDiffDepth = 250;

// A bson_iter_t to keep in standard containers: its 128-byte alignment comes from a typedef
// attribute that template arguments drop (-Wignored-attributes), but a struct member keeps it.
struct Elem {
  bson_iter_t it;
};

// The value bytes of an element (type excluded): two elements are binaryEqualValues when their
// types and these bytes match.
inline std::string_view value_bytes(const bson_iter_t* it) {
  return {reinterpret_cast<const char*>(it->raw + it->d1), static_cast<size_t>(it->next_off - it->d1)};
}
inline bool same_value(const bson_iter_t* a, const bson_iter_t* b) {
  return bson_iter_type(a) == bson_iter_type(b) && value_bytes(a) == value_bytes(b);
}

// computeOplogDiff (document_diff_calculator.cpp): the diff from `pre` to `post`, or nullopt
// when it is not smaller than `post` (the size estimate and bail-outs of the diff_tree nodes).
// `ignore_size_limit` computes the whole diff regardless of size (computeOplogDiff_forTest).
std::optional<common::Bson> compute_oplog_diff(const bson_t* pre, const bson_t* post, size_t padding,
                                               mql::ServerVersion version, bool ignore_size_limit = false);

// The log a modifier update writes, before update_entry_object's check: {$v: 2, diff} on 5.0+,
// {$v: 1, $set, $unset} on 4.4. Errors when `update` is not a modifier document the walk
// understands or when the images contradict it.
common::Result<common::Bson> modifier_log(const bson_t* pre, const bson_t* post, const bson_t* update,
                                          const UpdateContext& ctx, mql::ServerVersion version);

// Appliers for the two delta forms (apply_update_entry picks one): `o` is a $v:1 object
// ($set/$unset, $v ignored), `diff` the object under a $v:2 entry's "diff".
common::Result<common::Bson> apply_v1(const bson_t* doc, const bson_t* o);
common::Result<common::Bson> apply_v2(const bson_t* doc, const bson_t* diff);

// Readers of the $v:2 grammar (DocumentDiffReader / ArrayDiffReader), validating as the server
// does; the iterators point into the diff.
struct DocSections {
  std::optional<Elem> deletes, updates, inserts;
  std::vector<Elem> subdiffs;  // the "s<field>" elements
};
common::Status read_doc_sections(const bson_t* diff, DocSections* out);

struct ArrayMod {
  size_t index = 0;
  bson_iter_t elem{};   // the "u<i>" value or the "s<i>" sub-diff
  bool update = true;
};
common::Status read_array_diff(const bson_t* diff, std::optional<int32_t>* resize, std::vector<ArrayMod>* mods);

// identifyType: a sub-diff whose first field is the "a" header is an array diff.
bool is_array_diff(const bson_t* diff);

// A static view of an object or array element's value; false for other types.
bool sub_view(const bson_iter_t* it, bson_t* out);

}  // namespace sim::engine::update_diff::detail
