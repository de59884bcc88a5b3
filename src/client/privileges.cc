#include "client/privileges.h"

#include <algorithm>

namespace client {

namespace {

bool is_local_or_config(const std::string& db) { return db == "local" || db == "config"; }

// NamespaceString::isNormalCollection: not system.*, and not local's replset.* collections.
bool is_normal_collection(const std::string& db, const std::string& coll) {
  if (coll.rfind("system.", 0) == 0) return false;
  return !(db == "local" && coll.rfind("replset.", 0) == 0);
}

// Every pattern that grants privileges on `target` (AuthorizationSessionImpl's
// buildResourceSearchList, without the system.buckets patterns).
std::vector<Resource> search_list(const Resource& target) {
  std::vector<Resource> out{{Resource::Kind::kAnyResource, "", ""}};
  switch (target.kind) {
    case Resource::Kind::kExactNamespace:
      if (is_normal_collection(target.db, target.coll)) {
        if (!is_local_or_config(target.db)) out.push_back(Resource::any_normal());
        out.push_back(Resource::database(target.db));
      }
      out.push_back({Resource::Kind::kCollectionName, "", target.coll});
      break;
    case Resource::Kind::kDatabase:
      if (!is_local_or_config(target.db)) out.push_back(Resource::any_normal());
      break;
    default:
      break;
  }
  out.push_back(target);
  return out;
}

Resource resource_from(const bson_t* doc) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, "anyResource") && bson_iter_as_bool(&it)) return {Resource::Kind::kAnyResource, "", ""};
  if (bson_iter_init_find(&it, doc, "cluster") && bson_iter_as_bool(&it)) return Resource::cluster();
  std::string db, coll;
  bool has_db = false, has_coll = false;
  if (bson_iter_init_find(&it, doc, "db") && BSON_ITER_HOLDS_UTF8(&it)) {
    db = bson_iter_utf8(&it, nullptr);
    has_db = true;
  }
  if (bson_iter_init_find(&it, doc, "collection") && BSON_ITER_HOLDS_UTF8(&it)) {
    coll = bson_iter_utf8(&it, nullptr);
    has_coll = true;
  }
  if (!has_db || !has_coll) return {Resource::Kind::kOther, db, coll};  // system_buckets and the like
  if (db.empty() && coll.empty()) return Resource::any_normal();
  if (coll.empty()) return Resource::database(db);
  if (db.empty()) return {Resource::Kind::kCollectionName, "", coll};
  return Resource::ns(db, coll);
}

bool sub(const bson_iter_t* parent, bson_t* out) {
  if (!BSON_ITER_HOLDS_DOCUMENT(parent) && !BSON_ITER_HOLDS_ARRAY(parent)) return false;
  const uint8_t* data;
  uint32_t len;
  if (BSON_ITER_HOLDS_DOCUMENT(parent)) {
    bson_iter_document(parent, &len, &data);
  } else {
    bson_iter_array(parent, &len, &data);
  }
  return bson_init_static(out, data, len);
}

std::vector<Privilege> privileges_from(const bson_t* array) {
  std::vector<Privilege> out;
  bson_iter_t it;
  if (!bson_iter_init(&it, array)) return out;
  while (bson_iter_next(&it)) {
    bson_t p;
    if (!sub(&it, &p)) continue;
    Privilege priv;
    bson_iter_t f;
    bson_t doc;
    if (bson_iter_init_find(&f, &p, "resource") && sub(&f, &doc)) priv.resource = resource_from(&doc);
    if (bson_iter_init_find(&f, &p, "actions") && sub(&f, &doc)) {
      bson_iter_t a;
      bson_iter_init(&a, &doc);
      while (bson_iter_next(&a)) {
        if (BSON_ITER_HOLDS_UTF8(&a)) priv.actions.insert(bson_iter_utf8(&a, nullptr));
      }
    }
    out.push_back(std::move(priv));
  }
  return out;
}

// [{user|role: "x", db: "y"}] → ["x@y"]
std::vector<std::string> names_from(const bson_t* array, const char* name_key) {
  std::vector<std::string> out;
  bson_iter_t it;
  if (!bson_iter_init(&it, array)) return out;
  while (bson_iter_next(&it)) {
    bson_t d;
    if (!sub(&it, &d)) continue;
    bson_iter_t f;
    std::string name, db;
    if (bson_iter_init_find(&f, &d, name_key) && BSON_ITER_HOLDS_UTF8(&f)) name = bson_iter_utf8(&f, nullptr);
    if (bson_iter_init_find(&f, &d, "db") && BSON_ITER_HOLDS_UTF8(&f)) db = bson_iter_utf8(&f, nullptr);
    if (!name.empty()) out.push_back(name + "@" + db);
  }
  return out;
}

}  // namespace

std::string Resource::to_string() const {
  switch (kind) {
    case Kind::kAnyResource: return "any resource";
    case Kind::kCluster: return "the cluster";
    case Kind::kAnyNormal: return "every database";
    case Kind::kDatabase: return "database " + db;
    case Kind::kCollectionName: return "collection " + coll + " of any database";
    case Kind::kExactNamespace: return db + "." + coll;
    case Kind::kOther: return "another resource";
  }
  return "?";
}

Privileges Privileges::unrestricted() {
  Privileges p;
  p.unrestricted_ = true;
  return p;
}

common::Result<Privileges> Privileges::from_connection_status(const bson_t* reply) {
  bson_iter_t it;
  bson_t auth, arr;
  if (!bson_iter_init_find(&it, reply, "authInfo") || !sub(&it, &auth)) {
    return common::Status(common::kFailedToParse, "connectionStatus reply has no authInfo");
  }
  Privileges p;
  if (bson_iter_init_find(&it, &auth, "authenticatedUsers") && sub(&it, &arr)) p.users_ = names_from(&arr, "user");
  if (bson_iter_init_find(&it, &auth, "authenticatedUserRoles") && sub(&it, &arr)) p.roles_ = names_from(&arr, "role");
  if (!p.users_.empty()) {
    if (!bson_iter_init_find(&it, &auth, "authenticatedUserPrivileges") || !sub(&it, &arr)) {
      return common::Status(common::kNoSuchKey, "connectionStatus did not report the user's privileges");
    }
    p.privileges_ = privileges_from(&arr);
  }
  return p;
}

common::Result<Privileges> Privileges::from_users_info(const bson_t* reply) {
  bson_iter_t it;
  bson_t users, user, arr;
  if (!bson_iter_init_find(&it, reply, "users") || !sub(&it, &users)) {
    return common::Status(common::kFailedToParse, "usersInfo reply has no users");
  }
  bson_iter_t u;
  bson_iter_init(&u, &users);
  if (!bson_iter_next(&u) || !sub(&u, &user)) return common::Status(common::kUserNotFound, "usersInfo found no user");
  Privileges p;
  std::string name, db;
  if (bson_iter_init_find(&it, &user, "user") && BSON_ITER_HOLDS_UTF8(&it)) name = bson_iter_utf8(&it, nullptr);
  if (bson_iter_init_find(&it, &user, "db") && BSON_ITER_HOLDS_UTF8(&it)) db = bson_iter_utf8(&it, nullptr);
  p.users_.push_back(name + "@" + db);
  if (bson_iter_init_find(&it, &user, "roles") && sub(&it, &arr)) p.roles_ = names_from(&arr, "role");
  if (!bson_iter_init_find(&it, &user, "inheritedPrivileges") || !sub(&it, &arr)) {
    return common::Status(common::kNoSuchKey, "usersInfo did not report inheritedPrivileges");
  }
  p.privileges_ = privileges_from(&arr);
  return p;
}

std::vector<std::string> Privileges::missing(const Resource& target, const std::vector<std::string>& wanted) const {
  if (unrestricted_) return {};
  std::set<std::string> granted;
  for (const Resource& r : search_list(target)) {
    for (const Privilege& p : privileges_) {
      if (p.resource == r) granted.insert(p.actions.begin(), p.actions.end());
    }
  }
  std::vector<std::string> out;
  for (const std::string& a : wanted) {
    if (!granted.count(a)) out.push_back(a);
  }
  return out;
}

std::vector<std::string> Privileges::missing(const Requirement& requirement) const {
  std::vector<std::string> out;
  for (const auto& [resource, actions] : requirement.needs) {
    auto m = missing(resource, actions);
    if (m.empty()) continue;
    std::string s;
    for (const auto& a : m) s += (s.empty() ? "" : ", ") + a;
    out.push_back(s + " on " + resource.to_string());
  }
  return out;
}

common::Result<Privileges> read_privileges(Connection& c) {
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_INT32(&cmd, "connectionStatus", 1);
  BSON_APPEND_BOOL(&cmd, "showPrivileges", true);
  auto reply = c.run("admin", &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  auto p = Privileges::from_connection_status(reply->get());
  if (p.ok() && !p->authenticated()) {
    // Nobody is logged in: either access control is off, or we can do nothing.
    bson_t probe = BSON_INITIALIZER;
    BSON_APPEND_INT32(&probe, "listDatabases", 1);
    BSON_APPEND_BOOL(&probe, "nameOnly", true);
    auto r = c.run("admin", &probe);
    bson_destroy(&probe);
    if (r.ok()) return Privileges::unrestricted();
    if (r.status().code() == common::kUnauthorized) return p;
    return r.status();
  }
  if (p.ok() || p.status().code() != common::kNoSuchKey) return p;
  // An older server without authenticatedUserPrivileges: ask usersInfo about ourselves.
  bson_iter_t it;
  bson_t auth, users;
  std::string user, db;
  if (bson_iter_init_find(&it, reply->get(), "authInfo") && sub(&it, &auth) &&
      bson_iter_init_find(&it, &auth, "authenticatedUsers") && sub(&it, &users)) {
    auto names = names_from(&users, "user");
    if (!names.empty()) {
      user = names[0].substr(0, names[0].rfind('@'));
      db = names[0].substr(names[0].rfind('@') + 1);
    }
  }
  bson_t q = BSON_INITIALIZER, u;
  BSON_APPEND_DOCUMENT_BEGIN(&q, "usersInfo", &u);
  BSON_APPEND_UTF8(&u, "user", user.c_str());
  BSON_APPEND_UTF8(&u, "db", db.c_str());
  bson_append_document_end(&q, &u);
  BSON_APPEND_BOOL(&q, "showPrivileges", true);
  auto info = c.run(db.empty() ? "admin" : db, &q);
  bson_destroy(&q);
  if (!info.ok()) return info.status();
  return Privileges::from_users_info(info->get());
}

}  // namespace client
