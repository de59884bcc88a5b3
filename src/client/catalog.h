// Reading a deployment's catalog: databases (listDatabases), collections and views
// (listCollections), their statistics (collStats) and indexes (listIndexes). The shapes
// follow mongodb-reference.md §3.7 and §3.10. Used by plan, precheck and the schema phase.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/bson.h"

namespace client {

struct DatabaseInfo {
  std::string name;
  int64_t size_on_disk = 0;
  bool empty = false;
};

struct CollectionInfo {
  std::string db;
  std::string name;
  std::string type = "collection";  // "collection", "view" or "timeseries"
  common::Bson options;             // listCollections `options` (validator, capped, viewOn...)
  common::Bson id_index;            // listCollections `idIndex` (absent for views, clustered)

  // Filled by read_stats / read_indexes.
  std::optional<int64_t> count;
  std::optional<int64_t> size;      // uncompressed data size (collStats.size)
  std::optional<int64_t> index_count;
  std::vector<common::Bson> indexes;

  std::string full_name() const { return db + "." + name; }
  bool is_view() const { return type == "view"; }
  bool is_timeseries() const { return type == "timeseries"; }
  bool capped() const;
  bool clustered() const;
  bool has_validator() const;
  std::string view_on() const;  // views: options.viewOn
};

// listDatabases {nameOnly: false}; with `authorized_only`, authorizedDatabases: true (a user
// without the listDatabases privilege then sees the databases it can use).
common::Result<std::vector<DatabaseInfo>> list_databases(Connection& c, bool authorized_only = false);
// listCollections on `db`, in name order; system.* collections are left out.
common::Result<std::vector<CollectionInfo>> list_collections(Connection& c, const std::string& db);
// collStats: count, size, nindexes (views have none).
common::Status read_stats(Connection& c, CollectionInfo& info);
common::Status read_indexes(Connection& c, CollectionInfo& info);
// The first document of `coll` in `field` order (the last with `last`), projected to
// `project` (default: that field): the minimum or maximum of an indexed field (_id) in one
// index probe, or the oldest/newest oplog entry with field "$natural". nullopt when empty.
common::Result<std::optional<common::Bson>> find_edge(Connection& c, const std::string& db, const std::string& coll,
                                                      const std::string& field, bool last,
                                                      const std::string& project = "");
// Estimated document count of one collection (the `count` command without a query).
common::Result<int64_t> estimated_count(Connection& c, const std::string& db, const std::string& coll);

}  // namespace client
