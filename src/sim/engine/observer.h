// OpObserver: the one place every successful write and catalog change is reported, in the
// order it happened and while the writer still holds its locks — the oplog, change streams
// and persistence hang off it, so no write path can forget them (the server's OpObserver).
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>

#include "common/bson.h"
#include "sim/engine/doc.h"

namespace sim::engine {

class Collection;
struct IndexDescriptor;

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
};

// How an update was expressed, so the oplog can log it as the server would ($v:1 modifier
// log, $v:2 diff, or a replacement).
struct UpdateInfo {
  enum class Kind { kReplacement, kModifier, kPipeline } kind = Kind::kReplacement;
  const bson_t* update = nullptr;  // the `u` document/array as sent (may be null)
};

class OpObserver {
 public:
  virtual ~OpObserver() = default;
  // CRUD, called by Collection with its lock held exclusively.
  virtual void on_insert(Collection& coll, const DocRef& doc, const WriteContext& wc) = 0;
  virtual void on_update(Collection& coll, const DocRef& pre, const DocRef& post, const UpdateInfo& how,
                         const WriteContext& wc) = 0;
  virtual void on_delete(Collection& coll, const DocRef& pre, const WriteContext& wc) = 0;
  // Catalog changes, called by Catalog with its lock held exclusively.
  virtual void on_create_collection(const Collection& coll) = 0;
  // A view: `options` is {viewOn, pipeline[, collation]}.
  virtual void on_create_view(const std::string& db, const std::string& name, const bson_t* options) = 0;
  virtual void on_drop_collection(const Collection& coll) = 0;
  virtual void on_drop_view(const std::string& db, const std::string& name) = 0;
  // `dropped_target_uuid` is empty unless dropTarget removed an existing collection.
  virtual void on_rename_collection(const Collection& coll, const std::string& from_ns, const std::string& to_ns,
                                    const std::string& dropped_target_uuid, bool stay_temp) = 0;
  virtual void on_create_index(const Collection& coll, const IndexDescriptor& index) = 0;
  virtual void on_drop_index(const Collection& coll, const IndexDescriptor& index) = 0;
  // `cmd` is the collMod command as it changed things (only the fields that applied).
  virtual void on_coll_mod(const Collection& coll, const bson_t* cmd, const bson_t* old_values) = 0;
  virtual void on_view_mod(const std::string& db, const std::string& name, const bson_t* options) = 0;
  virtual void on_drop_database(const std::string& db) = 0;
};

}  // namespace sim::engine
