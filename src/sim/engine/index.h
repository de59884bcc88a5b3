// Index: one index of a collection — its descriptor (the spec as listIndexes shows it and
// the parsed options) and, for ordinary (btree) indexes, its entries: an ordered map from
// key bytes (key_string.h) to RecordId. Text, 2d, 2dsphere, hashed and wildcard indexes are
// accepted, validated and listed exactly as the server lists them, but hold no entries and
// never serve queries.
#pragma once

#include <bson/bson.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/collation.h"
#include "mql/context.h"
#include "mql/matcher.h"
#include "mql/path.h"

namespace sim::engine {

enum class IndexKind { kBtree, kHashed, kText, k2dsphere, k2d, kWildcard };

struct KeyPart {
  mql::FieldPath path;
  bool descending = false;
  std::string special;  // "hashed", "text", "2dsphere", "2d" or "" for a direction
};

// An index spec, validated and normalized as createIndexes does (mongodb-reference.md §3.9).
struct IndexDescriptor {
  common::Bson spec;  // as listIndexes returns it: {v, key, name, ...options}
  std::string name;
  common::Bson key;   // the key pattern
  std::vector<KeyPart> parts;
  IndexKind kind = IndexKind::kBtree;
  bool unique = false;
  bool sparse = false;
  bool hidden = false;
  bool prepare_unique = false;
  std::optional<int64_t> expire_after_seconds;
  common::Bson partial_filter;      // empty when none
  mql::CollatorPtr collator;        // null = simple
  common::Bson wildcard_projection; // empty when none

  bool is_id() const { return name == "_id_"; }
  bool has_entries() const { return kind == IndexKind::kBtree; }
};

// Parses and normalizes a createIndexes spec. `collection_collator` is the collection's
// default collation, inherited by specs without `collation`. Errors use the server's codes
// and messages (67 CannotCreateIndex, 197 InvalidIndexSpecificationOption, 2, 9, 14...).
common::Result<IndexDescriptor> parse_index_spec(const bson_t* spec, const mql::CollatorPtr& collection_collator,
                                                 mql::ServerVersion version, bool for_clustered_or_id = false);
// The descriptor of the implicit `_id_` index.
IndexDescriptor id_index_descriptor(const mql::CollatorPtr& collection_collator);

// Whether two descriptors are the same index for createIndexes (same name and options) and
// whether they conflict (85/86), as the server compares them after normalization.
bool same_index_options(const IndexDescriptor& a, const IndexDescriptor& b, mql::ServerVersion version);
// Same key pattern and the options that make up an index's identity (collation, partial
// filter, and since 4.9 unique/sparse/wildcardProjection).
bool same_identity(const IndexDescriptor& a, const IndexDescriptor& b, mql::ServerVersion version);

// One generated key with the values it came from (for keyValue in duplicate-key errors).
struct GeneratedKey {
  std::string bytes;   // components only (no RecordId)
  common::Bson values; // {field: value, ...} in key-pattern order
};

class Index {
 public:
  Index(IndexDescriptor d, mql::ServerVersion version);

  // A copy with the same entries (a transaction's snapshot of its collection).
  std::unique_ptr<Index> clone() const;

  const IndexDescriptor& desc() const { return desc_; }
  IndexDescriptor& mutable_desc() { return desc_; }
  bool multikey() const { return multikey_; }

  // The keys of `doc` (none for a sparse/partial index that skips it). Error 171
  // CannotIndexParallelArrays when two key fields traverse different arrays.
  common::Status keys_for(const bson_t* doc, std::vector<std::string>* keys, bool* is_multikey = nullptr) const;
  common::Status keys_with_values(const bson_t* doc, std::vector<GeneratedKey>* keys) const;

  // Unique indexes: the RecordId holding `key`, or -1.
  int64_t find_unique(const std::string& key) const;
  // Non-unique indexes (prepareUnique): a RecordId other than `self` holding `key`, or -1.
  int64_t find_other_with_prefix(const std::string& key, int64_t self) const;
  // Adds/removes entries for document `rid` with the given component keys.
  void add(const std::vector<std::string>& keys, int64_t rid, bool is_multikey);
  void remove(const std::vector<std::string>& keys, int64_t rid);
  void clear();
  // Entries, ordered. For non-unique indexes each key ends with the 8-byte RecordId.
  const std::map<std::string, int64_t>& entries() const { return entries_; }
  size_t entry_count() const { return entries_.size(); }
  // Approximate bytes held (for collStats indexSizes).
  int64_t approximate_size() const;

  // The duplicate-key error for `values` (E11000 ..., keyPattern, keyValue).
  common::Status duplicate_key_error(const std::string& ns, const common::Bson& values) const;

 private:
  bool skips(const bson_t* doc) const;

  IndexDescriptor desc_;
  mql::ExpressionContext ectx_;
  std::unique_ptr<mql::Matcher> partial_;
  std::map<std::string, int64_t> entries_;
  int64_t key_bytes_ = 0;  // the bytes of every key in entries_ (approximate_size)
  bool multikey_ = false;
};

}  // namespace sim::engine
