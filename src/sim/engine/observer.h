// OpObserver: the one place every successful write and catalog change is reported, in the
// order it happened and while the writer still holds its locks — the oplog, change streams
// and persistence hang off it, so no write path can forget them (the server's OpObserver).
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"
#include "sim/clock.h"
#include "sim/engine/doc.h"

namespace sim::engine {

class Collection;
struct IndexDescriptor;
struct OpBuffer;

// Who wrote, for the oplog: lsid/txnNumber/stmtId of retryable writes and transactions, and
// `fromMigrate`-style markers.
struct WriteContext {
  common::Bson lsid;              // empty when no session
  int64_t txn_number = -1;        // -1 when none
  int32_t stmt_id = -1;
  bool in_transaction = false;
  bool from_migrate = false;
  bool bypass_validation = false;
  int64_t wall_ms = 0;            // wall clock of the operation (0 = now)
  // When set, operations are collected here instead of being logged one by one (a
  // transaction until it commits, a batched multi-delete).
  OpBuffer* buffer = nullptr;
  // Retryable writes: the optime of the previous entry of this lsid/txnNumber (read for
  // prevOpTime, then set to the new entry's), and where to report the new entry's optime.
  Timestamp* prev_optime = nullptr;
  Timestamp* last_optime = nullptr;
  // {lsid, txnNumber} of a retryable write, built once per command and shared by its entries.
  DocRef session_fields;
};

// How an update was expressed, so the oplog can log it as the server would ($v:1 modifier
// log, $v:2 diff, or a replacement).
struct UpdateInfo {
  enum class Kind { kReplacement, kModifier, kPipeline } kind = Kind::kReplacement;
  const bson_t* update = nullptr;         // the `u` document/array as sent (may be null)
  const bson_t* array_filters = nullptr;  // the statement's arrayFilters (may be null)
  std::optional<std::string> positional_match;  // the query's positional `$` match ("2")
};

class OpObserver {
 public:
  virtual ~OpObserver() = default;
  // CRUD, called by Collection with its lock held exclusively.
  virtual void on_insert(Collection& coll, const DocRef& doc, const WriteContext& wc) = 0;
  virtual void on_update(Collection& coll, const DocRef& pre, const DocRef& post, const UpdateInfo& how,
                         const WriteContext& wc) = 0;
  virtual void on_delete(Collection& coll, const DocRef& pre, const WriteContext& wc) = 0;
  // Catalog changes, called by Catalog with its lock held exclusively. Views are documents of
  // <db>.system.views: their DDL reaches the observer as writes to that collection.
  virtual void on_create_collection(const Collection& coll) = 0;
  virtual void on_drop_collection(const Collection& coll) = 0;
  // `dropped_target_uuid` is empty unless dropTarget removed an existing collection;
  // `from_uuid` is the collection's UUID before (a rename across databases gives a new one).
  virtual void on_rename_collection(const Collection& coll, const std::string& from_ns, const std::string& to_ns,
                                    const std::string& from_uuid, const std::string& dropped_target_uuid,
                                    bool stay_temp) = 0;
  // Indexes built by one createIndexes (already added to `coll`). `was_empty`: the collection
  // held no documents, so the server builds them in one phase.
  virtual void on_create_indexes(const Collection& coll, const std::vector<IndexDescriptor>& indexes,
                                 bool was_empty) = 0;
  virtual void on_drop_index(const Collection& coll, const IndexDescriptor& index) = 0;
  // `cmd` is the collMod command as it changed things (only the fields that applied).
  virtual void on_coll_mod(const Collection& coll, const bson_t* cmd, const bson_t* old_values) = 0;
  virtual void on_drop_database(const std::string& db) = 0;
};

}  // namespace sim::engine
