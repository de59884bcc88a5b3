// Collection: one collection's options, records (documents by RecordId, in natural order)
// and indexes, and the write primitives that keep them consistent: every insert, update and
// delete checks the validator and every unique index before it changes anything, so a
// failed write leaves no trace. Every successful write is reported to the OpObserver (the
// oplog, change streams, persistence), so no write path can forget it.
//
// Locking: callers hold `mu` shared for reads and exclusive for writes. A Collection that
// was dropped stays valid for holders of its shared_ptr but reports dropped().
#pragma once

#include <bson/bson.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/collation.h"
#include "mql/context.h"
#include "mql/matcher.h"
#include "sim/engine/doc.h"
#include "sim/engine/index.h"
#include "sim/engine/observer.h"
#include "sim/engine/record_store.h"

namespace sim::engine {

// The options of `create`, parsed (mongodb-reference.md §3.8). `raw` is the options document
// listCollections shows.
struct CollectionOptions {
  common::Bson raw;
  bool capped = false;
  int64_t capped_size = 0;  // bytes, rounded up to a multiple of 256
  int64_t capped_max = 0;   // documents; 0 = no limit
  common::Bson validator;   // empty = none
  std::string validation_level = "strict";
  std::string validation_action = "error";
  mql::CollatorPtr collator;
  bool clustered = false;
  common::Bson clustered_index;  // {v, key, name, unique} as listed
  std::optional<int64_t> expire_after_seconds;
  common::Bson timeseries;  // empty unless a time-series collection
  bool pre_post_images = false;
  common::Bson index_option_defaults;
  common::Bson storage_engine;
};

class Collection {
 public:
  Collection(std::string db, std::string name, std::string uuid, CollectionOptions options,
             mql::ServerVersion version, OpObserver* observer);

  const std::string& db() const { return db_; }
  const std::string& name() const { return name_; }
  const std::string& ns() const { return ns_; }
  // 16 raw bytes.
  const std::string& uuid() const { return uuid_; }
  const CollectionOptions& options() const { return options_; }
  mql::ServerVersion version() const { return version_; }
  const mql::Collator* collator() const { return options_.collator.get(); }

  mutable std::shared_mutex mu;

  bool dropped() const { return dropped_.load(std::memory_order_acquire); }
  void mark_dropped() { dropped_.store(true, std::memory_order_release); }
  // Re-homes the collection (renameCollection within a database keeps UUID and data).
  void rename(std::string db, std::string name);

  // ---- reads (mu shared) ----
  size_t count() const { return records_.size(); }
  int64_t data_size() const { return data_size_; }
  const RecordStore& records() const { return records_; }
  // Changes with every write to the records (scans keep their position while it holds).
  uint64_t generation() const { return generation_; }
  const DocRef* find(int64_t rid) const;
  const std::vector<std::unique_ptr<Index>>& indexes() const { return indexes_; }
  Index* find_index(std::string_view name) const;
  Index* id_index() const { return indexes_.empty() ? nullptr : indexes_.front().get(); }
  // The RecordId of the document with this _id, or -1.
  int64_t find_by_id(const bson_value_t* id) const;
  int64_t storage_size() const;
  int64_t total_index_size() const;
  // The first RecordId (oldest record), or -1 when empty.
  int64_t first_rid() const { return records_.first_rid(); }
  int64_t last_rid() const { return records_.last_rid(); }

  // ---- writes (mu exclusive) ----
  // Inserts a document (already shaped: _id first, validated field names). Returns its
  // RecordId; errors: DocumentValidationFailure (121), DuplicateKey (11000), 171, 10334.
  common::Result<int64_t> insert(DocRef doc, const WriteContext& wc);
  // Replaces record `rid` with `post`. `pre` must be the current document.
  common::Status update(int64_t rid, DocRef post, const UpdateInfo& how, const WriteContext& wc);
  void remove(int64_t rid, const WriteContext& wc);
  // Removes every document without reporting them (drop-target, $out, truncate).
  void truncate();

  // Validator check as the server: level off/moderate/strict, action error/warn; on failure
  // 121 with errInfo {failingDocumentId, details}. `old_doc` is the pre-image for updates
  // (moderate skips documents that did not already match).
  common::Status check_validator(const bson_t* doc, const bson_t* old_doc, bool bypass) const;

  // Index catalog changes (mu exclusive). add_index builds the index over every document
  // (DuplicateKey when a unique index's data conflicts).
  common::Status add_index(IndexDescriptor desc);
  common::Status drop_index(std::string_view name);
  common::Status set_options(CollectionOptions options);

  // The OpObserver of this collection (may be null: e.g. for internal collections).
  OpObserver* observer() const { return observer_; }

  // A private copy (same UUID, options, documents and index entries; documents are shared,
  // immutable buffers): a transaction's snapshot. Caller holds `mu` (shared).
  std::shared_ptr<Collection> snapshot_copy() const;

 private:
  struct IndexKeys {
    std::vector<std::string> keys;
    bool multikey = false;
  };
  common::Status compute_keys(const bson_t* doc, std::vector<IndexKeys>* out) const;
  common::Status check_unique(const bson_t* doc, const std::vector<IndexKeys>& keys, int64_t self_rid) const;
  void evict_for_capped();
  common::Status rebuild_validator();

  std::string db_, name_, ns_, uuid_;
  CollectionOptions options_;
  mql::ServerVersion version_;
  OpObserver* observer_;
  mql::ExpressionContext validator_ctx_;
  std::unique_ptr<mql::Matcher> validator_;
  std::atomic<bool> dropped_{false};
  RecordStore records_;
  int64_t next_rid_ = 1;
  uint64_t generation_ = 0;
  int64_t data_size_ = 0;
  std::vector<std::unique_ptr<Index>> indexes_;  // _id first (when the collection has one)
};

// A fresh random (v4) UUID, 16 raw bytes.
std::string new_uuid();

}  // namespace sim::engine
