// Namespaces, selection patterns and name mapping: which source objects a task selects and
// what they are called on the destination (renames, batch rules, capitalization). MongoDB's
// naming rules are followed as the server checks them (NamespaceString::validDBName,
// validCollectionName, the 255-byte namespace limit of 4.4+).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "task/options.h"

namespace task {

struct Namespace {
  std::string db;
  std::string coll;  // empty for a database

  std::string full() const { return coll.empty() ? db : db + "." + coll; }
  friend bool operator==(const Namespace& a, const Namespace& b) { return a.db == b.db && a.coll == b.coll; }
  friend bool operator<(const Namespace& a, const Namespace& b) {
    return a.db != b.db ? a.db < b.db : a.coll < b.coll;
  }
};

// Splits "db.coll" at its first dot (database names cannot hold a dot).
Namespace split_namespace(std::string_view text);

// admin, local and config hold users, the oplog and cluster metadata: never migrated.
bool is_system_database(std::string_view db);

// A selection pattern: "db", "db.collection", with shell wildcards (*, ?, [...]) in either
// part: "db.*", "*.log_*". "db" alone means every collection of db. A system database or a
// system.* collection is never selected (naming one literally is an error).
class NamespacePattern {
 public:
  static common::Result<NamespacePattern> parse(std::string_view text);

  bool matches(const Namespace& ns) const;
  // True when the pattern has no collection part and its database part matches `db`.
  bool matches_database(std::string_view db) const;
  bool has_wildcard() const { return wildcard_; }
  bool has_collection_part() const { return !whole_db_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_, db_, coll_;
  bool whole_db_ = true;
  bool wildcard_ = false;
};

// The server's rules for names it creates. Errors are InvalidNamespace (73) with the
// reason, as `create` reports it.
common::Status check_database_name(std::string_view db);
common::Status check_collection_name(std::string_view db, std::string_view coll);

// Database and collection names under a capitalization policy (Unicode-aware).
std::string capitalize(Capitalization policy, std::string_view name);

// Source name → destination name, in this order: an exact collection rename (taken
// literally); otherwise the database part goes through a database rename (literal) or the
// first matching database rule, and the collection part through the first matching
// collection rule; capitalization then applies to every part that was not renamed
// literally.
class NameMapper {
 public:
  static common::Result<NameMapper> create(const TaskOptions& options);
  NameMapper(NameMapper&&) noexcept;
  NameMapper& operator=(NameMapper&&) noexcept;
  ~NameMapper();

  Namespace map(const Namespace& source) const;
  // The destination name of a whole database (for database-level events).
  std::string map_database(std::string_view db) const;

 private:
  struct Impl;
  explicit NameMapper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace task
