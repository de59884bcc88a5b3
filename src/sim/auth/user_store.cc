// The user/role store, its persistence file, role resolution (authorization_backend_local's
// resolveRoles: breadth-first over user-defined roles, built-in roles contributing their
// generated privileges), and the parsers for role names and privileges.
#include "sim/auth/user_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "sim/auth/builtin_roles.h"

namespace sim::auth {

using common::Bson;
using common::Result;
using common::Status;

namespace {

Status bad(std::string msg) { return Status(common::kBadValue, std::move(msg)); }

Result<UserName> user_name_of(const bson_t* doc) {
  MS_ASSIGN_OR_RETURN(std::string user, common::get_string(doc, "user", ""));
  MS_ASSIGN_OR_RETURN(std::string db, common::get_string(doc, "db", ""));
  if (user.empty() || db.empty()) return bad("user document without user/db");
  return UserName{user, db};
}

Result<RoleName> role_name_of(const bson_t* doc) {
  MS_ASSIGN_OR_RETURN(std::string role, common::get_string(doc, "role", ""));
  MS_ASSIGN_OR_RETURN(std::string db, common::get_string(doc, "db", ""));
  if (role.empty() || db.empty()) return bad("role document without role/db");
  return RoleName{role, db};
}

void append_docs(bson_t* out, const char* key, const std::vector<const Bson*>& docs) {
  bson_t arr;
  bson_append_array_begin(out, key, -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const Bson* d : docs) common::append_doc(&arr, common::array_key(i++, buf), d->get());
  bson_append_array_end(out, &arr);
}

bool valid_collection_name(std::string_view db, std::string_view coll) {
  if (db == "local" && coll == "oplog.$main") return true;
  if (coll.empty() || coll.find('\0') != std::string_view::npos || coll.front() == '.') return false;
  return coll.find('$') == std::string_view::npos;
}

}  // namespace

void RoleName::append_to(bson_t* b, std::string_view key) const {
  bson_t d;
  bson_append_document_begin(b, key.data(), static_cast<int>(key.size()), &d);
  common::append_utf8(&d, "role", role);
  common::append_utf8(&d, "db", db);
  bson_append_document_end(b, &d);
}

Result<std::unique_ptr<UserStore>> UserStore::open(std::string path) {
  std::unique_ptr<UserStore> s(new UserStore(std::move(path)));
  if (!s->path_.empty()) MS_RETURN_IF_ERROR(s->load());
  return s;
}

Status UserStore::load() {
  std::ifstream f(path_, std::ios::binary);
  if (!f) {
    if (errno == ENOENT) return Status::OK();
    return Status(common::kInternalError, "cannot read " + path_ + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  auto fail = [this](const std::string& why) {
    return Status(common::kFailedToParse, "the user file " + path_ + " is damaged: " + why);
  };
  auto doc = Bson::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!doc.ok()) return fail(doc.status().message());
  auto version = common::get_int(doc->get(), "version", 0);
  if (!version.ok() || *version != 1) return fail("unknown format version");
  for (const char* key : {"users", "roles"}) {
    bson_iter_t it, arr;
    if (!common::find_field(doc->get(), key, &it) || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) {
      return fail(std::string("missing '") + key + "' array");
    }
    while (bson_iter_next(&arr)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) return fail(std::string("non-document entry in '") + key + "'");
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&arr, &len, &data);
      Bson entry(data, len);
      if (std::string_view(key) == "users") {
        auto name = user_name_of(entry.get());
        if (!name.ok()) return fail(name.status().message());
        users_[*name] = std::move(entry);
      } else {
        auto name = role_name_of(entry.get());
        if (!name.ok()) return fail(name.status().message());
        roles_[*name] = std::move(entry);
      }
    }
  }
  has_users_.store(!users_.empty());
  return Status::OK();
}

Status UserStore::persist_locked() const {
  if (path_.empty()) return Status::OK();
  bson_t out;
  bson_init(&out);
  bson_append_int32(&out, "version", -1, 1);
  std::vector<const Bson*> u, r;
  for (const auto& [n, d] : users_) u.push_back(&d);
  for (const auto& [n, d] : roles_) r.push_back(&d);
  append_docs(&out, "users", u);
  append_docs(&out, "roles", r);
  Bson doc = Bson::steal(&out);
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(common::kInternalError, "cannot write " + tmp + ": " + std::strerror(errno));
  const char* p = reinterpret_cast<const char*>(doc.data());
  size_t left = doc.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status(common::kInternalError, "cannot write " + tmp + ": " + std::strerror(e));
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status(common::kInternalError, "cannot flush " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    return Status(common::kInternalError, "cannot replace " + path_ + ": " + std::strerror(errno));
  }
  std::string dir = path_.substr(0, path_.find_last_of('/') == std::string::npos ? 0 : path_.find_last_of('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

void UserStore::changed_locked() {
  has_users_.store(!users_.empty());
  generation_.fetch_add(1);
}

std::optional<Bson> UserStore::user(const UserName& name) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = users_.find(name);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::vector<Bson> UserStore::users(const std::string& db) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Bson> out;
  for (const auto& [n, d] : users_) {
    if (db.empty() || n.db == db) out.push_back(d);
  }
  return out;
}

std::optional<Bson> UserStore::role(const RoleName& name) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = roles_.find(name);
  if (it == roles_.end()) return std::nullopt;
  return it->second;
}

std::vector<Bson> UserStore::roles(const std::string& db) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Bson> out;
  for (const auto& [n, d] : roles_) {
    if (db.empty() || n.db == db) out.push_back(d);
  }
  return out;
}

// The mutations share one shape: change the map, persist, undo the change on failure.
template <typename Map, typename Key>
static Status mutate(std::mutex& mu, Map& map, const Key& key, std::optional<Bson> value,
                     const std::function<Status()>& persist, const std::function<void()>& changed) {
  std::lock_guard<std::mutex> lk(mu);
  std::optional<Bson> old;
  if (auto it = map.find(key); it != map.end()) old = it->second;
  if (value) {
    map[key] = std::move(*value);
  } else {
    map.erase(key);
  }
  Status st = persist();
  if (!st.ok()) {
    if (old) {
      map[key] = std::move(*old);
    } else {
      map.erase(key);
    }
    return st;
  }
  changed();
  return Status::OK();
}

Status UserStore::insert_user(const UserName& name, Bson doc) {
  if (user(name)) return Status(51003, "User \"" + name.full() + "\" already exists");
  return mutate(mu_, users_, name, std::optional<Bson>(std::move(doc)), [this] { return persist_locked(); },
                [this] { changed_locked(); });
}

Status UserStore::replace_user(const UserName& name, Bson doc) {
  if (!user(name)) return Status(common::kUserNotFound, "User " + name.full() + " not found");
  return mutate(mu_, users_, name, std::optional<Bson>(std::move(doc)), [this] { return persist_locked(); },
                [this] { changed_locked(); });
}

Status UserStore::remove_user(const UserName& name) {
  if (!user(name)) return Status(common::kUserNotFound, "User '" + name.full() + "' not found");
  return mutate(mu_, users_, name, std::optional<Bson>(), [this] { return persist_locked(); },
                [this] { changed_locked(); });
}

Result<int64_t> UserStore::remove_users(const std::string& db) {
  std::lock_guard<std::mutex> lk(mu_);
  auto saved = users_;
  int64_t n = 0;
  for (auto it = users_.begin(); it != users_.end();) {
    if (it->first.db == db) {
      it = users_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (Status st = persist_locked(); !st.ok()) {
    users_ = std::move(saved);
    return st;
  }
  changed_locked();
  return n;
}

Status UserStore::insert_role(const RoleName& name, Bson doc) {
  if (role(name)) return Status(51002, "Role \"" + name.full() + "\" already exists");
  return mutate(mu_, roles_, name, std::optional<Bson>(std::move(doc)), [this] { return persist_locked(); },
                [this] { changed_locked(); });
}

Status UserStore::replace_role(const RoleName& name, Bson doc) {
  if (!role(name)) return Status(common::kRoleNotFound, "Role " + name.full() + " not found");
  return mutate(mu_, roles_, name, std::optional<Bson>(std::move(doc)), [this] { return persist_locked(); },
                [this] { changed_locked(); });
}

Status UserStore::remove_role(const RoleName& name) {
  if (!role(name)) return Status(common::kRoleNotFound, "Role '" + name.full() + "' not found");
  return mutate(mu_, roles_, name, std::optional<Bson>(), [this] { return persist_locked(); },
                [this] { changed_locked(); });
}

Result<int64_t> UserStore::remove_roles(const std::string& db) {
  std::lock_guard<std::mutex> lk(mu_);
  auto saved = roles_;
  int64_t n = 0;
  for (auto it = roles_.begin(); it != roles_.end();) {
    if (it->first.db == db) {
      it = roles_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (Status st = persist_locked(); !st.ok()) {
    roles_ = std::move(saved);
    return st;
  }
  changed_locked();
  return n;
}

Status UserStore::roles_exist(const std::vector<RoleName>& wanted) const {
  std::vector<RoleName> unknown;
  for (const auto& r : wanted) {
    if (is_builtin_role(r.role, r.db) || role(r)) continue;
    if (std::find(unknown.begin(), unknown.end(), r) == unknown.end()) unknown.push_back(r);
  }
  if (unknown.empty()) return Status::OK();
  std::string msg = unknown.size() > 1 ? "Could not find roles" : "Could not find role";
  char delim = ':';
  for (const auto& r : unknown) {
    msg += delim;
    msg += " " + r.full();
    delim = ',';
  }
  return Status(common::kRoleNotFound, msg);
}

void UserStore::resolve(const std::vector<RoleName>& start, std::vector<RoleName>* inherited,
                        PrivilegeVector* privileges) const {
  std::set<RoleName> visited, reached;
  std::vector<RoleName> frontier = start;
  while (!frontier.empty()) {
    std::vector<RoleName> next;
    for (const auto& r : frontier) {
      if (!visited.insert(r).second) continue;
      if (is_builtin_role(r.role, r.db)) {
        if (privileges) add_builtin_role_privileges(r.role, r.db, *privileges);
        continue;
      }
      auto doc = role(r);
      if (!doc) continue;  // the server logs "Role does not exist" and goes on
      auto subs = parse_role_array(doc->get(), "roles", r.db);
      if (subs.ok()) {
        for (const auto& s : *subs) {
          if (visited.count(s)) continue;
          reached.insert(s);
          next.push_back(s);
        }
      }
      if (privileges) {
        bson_iter_t it;
        if (common::find_field(doc->get(), "privileges", &it)) {
          std::vector<std::string> unknown;
          auto privs = parse_privileges(&it, &unknown);
          if (privs.ok()) add_privileges(*privileges, *privs);
        }
      }
    }
    frontier = std::move(next);
  }
  if (inherited) inherited->assign(reached.begin(), reached.end());
}

Result<ResolvedUser> UserStore::resolve_user(const UserName& name) const {
  auto doc = user(name);
  if (!doc) {
    return Status(common::kUserNotFound, "Could not find user \"" + name.user + "\" for db \"" + name.db + "\"");
  }
  ResolvedUser u;
  u.name = name;
  MS_ASSIGN_OR_RETURN(u.roles, parse_role_array(doc->get(), "roles", name.db));
  std::vector<RoleName> inherited;
  resolve(u.roles, &inherited, &u.privileges);
  std::set<RoleName> all(inherited.begin(), inherited.end());
  all.insert(u.roles.begin(), u.roles.end());
  u.indirect_roles.assign(all.begin(), all.end());
  return u;
}

Result<RoleName> parse_role_name(const bson_iter_t* it, const std::string& default_db) {
  if (BSON_ITER_HOLDS_UTF8(it)) {
    uint32_t len = 0;
    const char* s = bson_iter_utf8(it, &len);
    return RoleName{std::string(s, len), default_db};
  }
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) return bad("RoleName must be either a string or an object");
  bson_iter_t child;
  bson_iter_recurse(it, &child);
  std::optional<std::string> role, db;
  while (bson_iter_next(&child)) {
    std::string_view k = bson_iter_key(&child);
    if (k != "role" && k != "db") continue;  // RoleName parsing is non-strict
    if (!BSON_ITER_HOLDS_UTF8(&child)) {
      return bad(std::string("RoleName must contain a string field named: ") + std::string(k) + ". But, has type " +
                 common::type_alias(bson_iter_type(&child)));
    }
    auto& slot = k == "role" ? role : db;
    if (slot) return bad("RoleName has more than one field named: " + std::string(k));
    slot = bson_iter_utf8(&child, nullptr);
  }
  if (!role) return bad("RoleName must contain a field named: role");
  if (!db) return bad("RoleName must contain a field named: db");
  return RoleName{*role, *db};
}

Result<std::vector<RoleName>> parse_role_array(const bson_t* doc, const char* field, const std::string& default_db) {
  std::vector<RoleName> out;
  bson_iter_t it, arr;
  if (!common::find_field(doc, field, &it)) return out;
  if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) {
    return Status(common::kTypeMismatch, std::string("BSON field '") + field + "' is the wrong type '" +
                                             common::type_alias(bson_iter_type(&it)) + "', expected type 'array'");
  }
  while (bson_iter_next(&arr)) {
    MS_ASSIGN_OR_RETURN(RoleName r, parse_role_name(&arr, default_db));
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(std::move(r));
  }
  return out;
}

Result<NameListArg> parse_name_list(const bson_t* body, const std::string& db, std::string_view kind) {
  NameListArg arg;
  bson_iter_t it;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  if (BSON_ITER_HOLDS_NUMBER(&it)) {
    arg.all_on_db = true;
    return arg;
  }
  std::string type_name = kind == "user" ? "UserName" : "RoleName";
  std::string key(kind);
  auto one = [&](const bson_iter_t* e) -> Status {
    if (BSON_ITER_HOLDS_UTF8(e)) {
      arg.names.emplace_back(bson_iter_utf8(e, nullptr), db);
      return Status::OK();
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(e)) return bad(type_name + " must be either a string or an object");
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(e, &len, &data);
    bson_t d;
    bson_init_static(&d, data, len);
    bson_iter_t f;
    if (kind == "user" && bson_iter_init_find(&f, &d, "forAllDBs")) {
      arg.all_dbs = common::value_truthy(&f);
      return Status::OK();
    }
    auto name = common::get_string(&d, key, "");
    auto name_db = common::get_string(&d, "db", "");
    if (!name.ok() || name->empty()) return bad(type_name + " must contain a field named: " + key);
    if (!name_db.ok() || name_db->empty()) return bad(type_name + " must contain a field named: db");
    arg.names.emplace_back(*name, *name_db);
    return Status::OK();
  };
  if (BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t arr;
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) MS_RETURN_IF_ERROR(one(&arr));
  } else {
    MS_RETURN_IF_ERROR(one(&it));
  }
  return arg;
}

Result<PrivilegeVector> parse_privileges(const bson_iter_t* array_it, std::vector<std::string>* unknown_actions) {
  PrivilegeVector out;
  if (!BSON_ITER_HOLDS_ARRAY(array_it)) {
    return Status(common::kTypeMismatch, std::string("BSON field 'privileges' is the wrong type '") +
                                             common::type_alias(bson_iter_type(array_it)) + "', expected type 'array'");
  }
  bson_iter_t arr;
  bson_iter_recurse(array_it, &arr);
  while (bson_iter_next(&arr)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
      return Status(common::kTypeMismatch, std::string("BSON field 'privileges.") + bson_iter_key(&arr) +
                                               "' is the wrong type '" + common::type_alias(bson_iter_type(&arr)) +
                                               "', expected type 'object'");
    }
    bson_iter_t p, res, acts;
    bson_iter_recurse(&arr, &p);
    bool has_res = false, has_acts = false;
    bson_iter_t p2 = p;
    while (bson_iter_next(&p2)) {
      std::string_view k = bson_iter_key(&p2);
      if (k == "resource") {
        if (!BSON_ITER_HOLDS_DOCUMENT(&p2)) {
          return Status(common::kTypeMismatch, "BSON field 'privilege.resource' is the wrong type '" +
                                                   std::string(common::type_alias(bson_iter_type(&p2))) +
                                                   "', expected type 'object'");
        }
        bson_iter_recurse(&p2, &res);
        has_res = true;
      } else if (k == "actions") {
        if (!BSON_ITER_HOLDS_ARRAY(&p2)) {
          return Status(common::kTypeMismatch, "BSON field 'privilege.actions' is the wrong type '" +
                                                   std::string(common::type_alias(bson_iter_type(&p2))) +
                                                   "', expected type 'array'");
        }
        bson_iter_recurse(&p2, &acts);
        has_acts = true;
      } else {
        return Status(40415, "BSON field 'privilege." + std::string(k) + "' is an unknown field.");
      }
    }
    if (!has_res) return Status(40414, "BSON field 'privilege.resource' is missing but a required field");
    if (!has_acts) return Status(40414, "BSON field 'privilege.actions' is missing but a required field");

    std::optional<bool> cluster, any;
    std::optional<std::string> db, coll, buckets;
    while (bson_iter_next(&res)) {
      std::string_view k = bson_iter_key(&res);
      if (k == "cluster" || k == "anyResource") {
        if (!BSON_ITER_HOLDS_BOOL(&res)) {
          return Status(common::kTypeMismatch, "BSON field 'resource." + std::string(k) + "' is the wrong type '" +
                                                   common::type_alias(bson_iter_type(&res)) + "', expected type 'bool'");
        }
        (k == "cluster" ? cluster : any) = bson_iter_bool(&res);
      } else if (k == "db" || k == "collection" || k == "system_buckets") {
        if (!BSON_ITER_HOLDS_UTF8(&res)) {
          return Status(common::kTypeMismatch, "BSON field 'resource." + std::string(k) + "' is the wrong type '" +
                                                   common::type_alias(bson_iter_type(&res)) + "', expected type 'string'");
        }
        (k == "db" ? db : k == "collection" ? coll : buckets) = bson_iter_utf8(&res, nullptr);
      } else {
        return Status(40415, "BSON field 'resource." + std::string(k) + "' is an unknown field.");
      }
    }
    auto conflict = [](const char* what, const char* field) {
      return bad(std::string(what) + " conflicts with resource type '" + field + "'");
    };
    Privilege priv;
    if (cluster) {
      if (!*cluster) return bad("resource: {cluster: false} must be true");
      if (any) return conflict("resource: {cluster: true}", "anyResource");
      if (db) return conflict("resource: {cluster: true}", "db");
      if (coll) return conflict("resource: {cluster: true}", "collection");
      if (buckets) return conflict("resource: {cluster: true}", "system_buckets");
      priv.resource = Resource::cluster();
    } else if (any) {
      if (!*any) return bad("resource: {anyResource: false} must be true");
      if (db) return conflict("resource: {anyResource: true}", "db");
      if (coll) return conflict("resource: {anyResource: true}", "collection");
      if (buckets) return conflict("resource: {anyResource: true}", "system_buckets");
      priv.resource = Resource::any();
    } else if (coll) {
      if (buckets) return conflict("resource: {collection: '...'}", "system_buckets");
      if (!db) return bad("resource {collection: '...'} must include 'db' field as well");
      if (!coll->empty() && !valid_collection_name(*db, *coll)) return bad("'" + *coll + "' is not a valid collection name");
      if (db->empty() && coll->empty()) {
        priv.resource = Resource::any_normal();
      } else if (db->empty()) {
        priv.resource = Resource::collection_name(*coll);
      } else if (coll->empty()) {
        priv.resource = Resource::database(*db);
      } else {
        priv.resource = Resource::exact(*db, *coll);
      }
    } else if (buckets) {
      bool empty_db = !db || db->empty();
      using K = Resource::Kind;
      if (empty_db && buckets->empty()) {
        priv.resource = {K::kAnySystemBuckets, "", ""};
      } else if (buckets->empty()) {
        priv.resource = {K::kAnySystemBucketsInDb, *db, ""};
      } else if (empty_db) {
        priv.resource = {K::kSystemBucketsInAnyDb, "", *buckets};
      } else {
        priv.resource = {K::kExactSystemBuckets, *db, *buckets};
      }
    } else {
      return bad("resource pattern must contain 'collection' or 'systemBuckets' specifier");
    }
    bool any_action = false;
    while (bson_iter_next(&acts)) {
      any_action = true;
      if (!BSON_ITER_HOLDS_UTF8(&acts)) {
        return Status(common::kTypeMismatch, std::string("BSON field 'privilege.actions.") + bson_iter_key(&acts) +
                                                 "' is the wrong type '" + common::type_alias(bson_iter_type(&acts)) +
                                                 "', expected type 'string'");
      }
      std::string name = bson_iter_utf8(&acts, nullptr);
      if (auto a = action_from_name(name)) {
        priv.actions.add(*a);
      } else if (unknown_actions) {
        unknown_actions->push_back(name);
      }
    }
    if (!any_action) return bad("'actions' field of privilege resource must not be empty");
    add_privilege(out, priv);
  }
  return out;
}

}  // namespace sim::auth
