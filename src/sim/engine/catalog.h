// Catalog: databases, their collections (by name, with UUIDs) and views. A database exists
// while it holds a collection or a view. Views live, as on the server, as documents of
// `<db>.system.views` ({_id: "db.view", viewOn, pipeline[, collation]}); the catalog keeps
// them parsed beside that collection.
//
// Locking: `mu` protects the maps. Lookups take it shared; DDL takes it exclusively (and the
// affected collections' locks after it: catalog before collection, always).
#pragma once

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
#include "sim/engine/collection.h"
#include "sim/engine/observer.h"

namespace sim::engine {

struct ViewDef {
  std::string db, name;
  std::string view_on;       // a collection or view in the same database
  common::Bson pipeline;     // an array
  mql::CollatorPtr collator; // null = simple
  common::Bson collation_spec;  // empty = simple
  std::string ns() const { return db + "." + name; }
};

// Namespace rules (mongodb-reference.md §3.8): 73 InvalidNamespace with the server's text.
common::Status validate_db_name(std::string_view db);
common::Status validate_collection_name(std::string_view db, std::string_view coll);
// True for names users may not create or write (system.* outside the allowed few).
bool is_system_collection(std::string_view coll);

class Catalog {
 public:
  Catalog(mql::ServerVersion version, OpObserver* observer) : version_(version), observer_(observer) {}

  mql::ServerVersion version() const { return version_; }
  OpObserver* observer() const { return observer_; }

  // ---- lookups ----
  // Inside a transaction (session.h) these resolve to the transaction's view of the
  // collection; find_committed always reads the catalog itself.
  std::shared_ptr<Collection> find(std::string_view db, std::string_view coll) const;
  std::shared_ptr<Collection> find_committed(std::string_view db, std::string_view coll) const;
  std::shared_ptr<Collection> find_by_uuid(const std::string& uuid) const;
  std::optional<ViewDef> find_view(std::string_view db, std::string_view name) const;
  bool database_exists(std::string_view db) const;
  std::vector<std::string> database_names() const;
  std::vector<std::shared_ptr<Collection>> collections(std::string_view db) const;
  std::vector<ViewDef> views(std::string_view db) const;

  // ---- DDL ----
  // Creates a collection. NamespaceExists (48) when a collection or view of that name exists.
  common::Result<std::shared_ptr<Collection>> create_collection(const std::string& db, const std::string& name,
                                                                CollectionOptions options,
                                                                std::vector<IndexDescriptor> extra_indexes = {});
  // The collection, created with default options when missing (implicit creation by writes).
  common::Result<std::shared_ptr<Collection>> get_or_create(const std::string& db, const std::string& name);
  common::Status create_view(ViewDef view);
  common::Status modify_view(const std::string& db, const std::string& name, const std::string& view_on,
                             common::Bson pipeline);
  // Drops a collection (and its cursors die on their next use). False when absent.
  bool drop_collection(const std::string& db, const std::string& name);
  bool drop_view(const std::string& db, const std::string& name);
  // Drops every collection and view; false when the database did not exist.
  bool drop_database(const std::string& db);
  // renameCollection (within or across databases), with dropTarget semantics.
  common::Status rename_collection(const std::string& from_db, const std::string& from_name, const std::string& to_db,
                                   const std::string& to_name, bool drop_target, bool stay_temp);

  // Bumped on every DDL; cursors and plan caches compare it.
  uint64_t epoch() const { return epoch_.load(); }

  // A collection created inside a transaction joins the catalog at commit (NamespaceExists if
  // the name was taken meanwhile).
  common::Status adopt(std::shared_ptr<Collection> coll);

  // Mutable access for the engine's loader (restores a persisted catalog); mu exclusive.
  void restore_collection(std::shared_ptr<Collection> coll);
  void restore_view(ViewDef view);
  void forget_collection(const std::string& uuid);
  void forget_database(const std::string& db);
  std::shared_ptr<Collection> find_by_uuid_locked(const std::string& uuid) const;

  mutable std::shared_mutex mu;

 private:
  struct Database {
    std::map<std::string, std::shared_ptr<Collection>, std::less<>> collections;
    std::map<std::string, ViewDef, std::less<>> views;
  };
  common::Status write_view_doc_locked(const ViewDef& view);
  void remove_view_doc_locked(const std::string& db, const std::string& name);
  std::shared_ptr<Collection> create_locked(const std::string& db, const std::string& name, CollectionOptions options);
  common::Result<std::shared_ptr<Collection>> create_collection_committed(const std::string& db, const std::string& name,
                                                                          CollectionOptions options,
                                                                          std::vector<IndexDescriptor> extra_indexes);

  mql::ServerVersion version_;
  OpObserver* observer_;
  std::map<std::string, Database, std::less<>> dbs_;
  std::atomic<uint64_t> epoch_{0};
};

}  // namespace sim::engine
