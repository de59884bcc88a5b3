// The privileges of the connected user, read from the server (connectionStatus with
// showPrivileges, or usersInfo as a fallback) and evaluated the way the server authorizes
// (AuthorizationSession's resource search list: anyResource, anyNormalResource — never for
// local and config —, the database, the collection name, the exact namespace, cluster).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "client/client.h"

namespace client {

// A ResourcePattern: a concrete target (cluster, database, namespace) or a pattern the
// server grants privileges on.
struct Resource {
  enum class Kind { kAnyResource, kCluster, kAnyNormal, kDatabase, kCollectionName, kExactNamespace, kOther };
  Kind kind = Kind::kOther;
  std::string db;
  std::string coll;

  static Resource cluster() { return {Kind::kCluster, "", ""}; }
  static Resource database(std::string db) { return {Kind::kDatabase, std::move(db), ""}; }
  static Resource ns(std::string db, std::string coll) { return {Kind::kExactNamespace, std::move(db), std::move(coll)}; }
  // Every normal database and collection (the `{db: "", collection: ""}` pattern).
  static Resource any_normal() { return {Kind::kAnyNormal, "", ""}; }

  std::string to_string() const;  // "the cluster", "database sales", "sales.orders", ...
  friend bool operator==(const Resource& a, const Resource& b) {
    return a.kind == b.kind && a.db == b.db && a.coll == b.coll;
  }
};

struct Privilege {
  Resource resource;
  std::set<std::string> actions;
};

// What one purpose needs: every action on every resource listed.
struct Requirement {
  std::string purpose;  // "list databases", "read sales", "tail the oplog"
  std::vector<std::pair<Resource, std::vector<std::string>>> needs;
};

class Privileges {
 public:
  // Access control is off on the server: everything is allowed.
  static Privileges unrestricted();
  // connectionStatus {showPrivileges: true}: authInfo.authenticatedUsers / UserRoles /
  // UserPrivileges.
  static common::Result<Privileges> from_connection_status(const bson_t* reply);
  // usersInfo {showPrivileges: true} for one user: users[0].roles / inheritedPrivileges.
  static common::Result<Privileges> from_users_info(const bson_t* reply);

  bool is_unrestricted() const { return unrestricted_; }
  bool authenticated() const { return !users_.empty(); }
  const std::vector<std::string>& users() const { return users_; }  // "alice@admin"
  const std::vector<std::string>& roles() const { return roles_; }  // "readAnyDatabase@admin"
  const std::vector<Privilege>& list() const { return privileges_; }

  // The actions of `wanted` not granted on the concrete `target`.
  std::vector<std::string> missing(const Resource& target, const std::vector<std::string>& wanted) const;
  // "find, listIndexes on database sales" for each resource with something missing.
  std::vector<std::string> missing(const Requirement& requirement) const;

 private:
  bool unrestricted_ = false;
  std::vector<std::string> users_, roles_;
  std::vector<Privilege> privileges_;
};

// Reads the privileges of the connection's user. With no authenticated user, a server that
// still lets us list databases has access control off (unrestricted); one that refuses has
// it on and we hold no privilege.
common::Result<Privileges> read_privileges(Connection& c);

}  // namespace client
