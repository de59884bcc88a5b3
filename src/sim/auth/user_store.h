// UserStore: the users and user-defined roles (admin.system.users / admin.system.roles
// documents, in the server's shapes), kept in memory and, with --dbpath, in one BSON file
// <dbpath>/mongosim-auth.bson written atomically (temp file, fsync, rename). Thread-safe.
// Internal to sim/auth.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <tuple>
#include <mutex>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "sim/auth/actions.h"

namespace sim::auth {

struct UserName {
  std::string user, db;
  std::string full() const { return user + "@" + db; }  // UserName::toString
  bool operator<(const UserName& o) const { return std::tie(user, db) < std::tie(o.user, o.db); }
  bool operator==(const UserName& o) const { return user == o.user && db == o.db; }
};

struct RoleName {
  std::string role, db;
  std::string full() const { return role + "@" + db; }
  bool operator<(const RoleName& o) const { return std::tie(role, db) < std::tie(o.role, o.db); }
  bool operator==(const RoleName& o) const { return role == o.role && db == o.db; }
  void append_to(bson_t* arr_or_doc, std::string_view key) const;  // {role, db}
};

// A user resolved for authorization: its direct and inherited roles and every privilege.
struct ResolvedUser {
  UserName name;
  std::vector<RoleName> roles;           // direct
  std::vector<RoleName> indirect_roles;  // direct + inherited, sorted
  PrivilegeVector privileges;
};

class UserStore {
 public:
  // Loads `path` when it exists (empty path: memory only). A damaged file is an error.
  static common::Result<std::unique_ptr<UserStore>> open(std::string path);

  bool has_users() const { return has_users_.load(); }
  // Bumped on every change, so sessions know to re-resolve their user.
  int64_t generation() const { return generation_.load(); }

  std::optional<common::Bson> user(const UserName& name) const;
  // All users, ordered by (user, db); `db` empty = every database.
  std::vector<common::Bson> users(const std::string& db) const;
  std::optional<common::Bson> role(const RoleName& name) const;
  std::vector<common::Bson> roles(const std::string& db) const;

  // Each mutation persists before returning; a write failure is reported and the change is
  // rolled back in memory.
  common::Status insert_user(const UserName& name, common::Bson doc);  // 51003 when it exists
  common::Status replace_user(const UserName& name, common::Bson doc);
  common::Status remove_user(const UserName& name);  // UserNotFound
  common::Result<int64_t> remove_users(const std::string& db);
  common::Status insert_role(const RoleName& name, common::Bson doc);  // 51002 when it exists
  common::Status replace_role(const RoleName& name, common::Bson doc);
  common::Status remove_role(const RoleName& name);
  common::Result<int64_t> remove_roles(const std::string& db);

  // RoleNotFound ("Could not find role: a@b") unless every role is built-in or defined.
  common::Status roles_exist(const std::vector<RoleName>& roles) const;
  // The roles `roles` reach (not including themselves) and their privileges, walking
  // user-defined roles; unknown roles are skipped as the server does.
  void resolve(const std::vector<RoleName>& roles, std::vector<RoleName>* inherited, PrivilegeVector* privileges) const;
  common::Result<ResolvedUser> resolve_user(const UserName& name) const;

 private:
  explicit UserStore(std::string path) : path_(std::move(path)) {}
  common::Status load();
  common::Status persist_locked() const;
  void changed_locked();

  const std::string path_;
  mutable std::mutex mu_;
  std::map<UserName, common::Bson> users_;
  std::map<RoleName, common::Bson> roles_;
  std::atomic<bool> has_users_{false};
  std::atomic<int64_t> generation_{0};
};

// Parses a role reference: "name" (on `default_db`) or {role, db}. BadValue as the server's
// RoleName parser words it.
common::Result<RoleName> parse_role_name(const bson_iter_t* it, const std::string& default_db);
// The `roles` array of a user or role document.
common::Result<std::vector<RoleName>> parse_role_array(const bson_t* doc, const char* field, const std::string& default_db);
// The argument of usersInfo/rolesInfo (`kind` "user" or "role"): 1 = all on the request's
// database; a name, a {user|role, db} document or an array of them; {forAllDBs: true}
// (usersInfo only).
struct NameListArg {
  bool all_on_db = false;
  bool all_dbs = false;
  std::vector<std::pair<std::string, std::string>> names;  // (name, db)
};
common::Result<NameListArg> parse_name_list(const bson_t* body, const std::string& db, std::string_view kind);

// The `privileges` array of a role document or command (actions by name; resource as in
// Privilege::resolvePrivilegeWithTenant). Unknown action names are collected.
common::Result<PrivilegeVector> parse_privileges(const bson_iter_t* array_it, std::vector<std::string>* unknown_actions);

}  // namespace sim::auth
