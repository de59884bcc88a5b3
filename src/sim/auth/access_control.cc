// AccessControl (the authorize() hook, start-up user creation), the per-connection session
// (AuthorizationSessionImpl's checks), the connection queries for the engine, and the
// server's log redaction.
#include "sim/auth/auth.h"

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "common/log.h"
#include "sim/auth/command_privileges.h"
#include "sim/auth/commands.h"
#include "sim/auth/session.h"
#include "sim/auth/user_store.h"

namespace sim::auth {

using common::Bson;
using common::Result;
using common::Status;

namespace {

bool is_loopback(const std::string& remote) {
  return remote.rfind("127.", 0) == 0 || remote.rfind("[::1]", 0) == 0 || remote.rfind("[::ffff:127.", 0) == 0;
}

// What the localhost exception lets a connection do before any user exists
// (AuthorizationSessionImpl::_getDefaultPrivileges).
const PrivilegeVector& localhost_privileges() {
  static const PrivilegeVector kPrivs = {
      {Resource::database("admin"), {Action::createUser, Action::grantRole}},
      {Resource::database("$external"), {Action::createUser}},
      {Resource::cluster(),
       {Action::addShard, Action::replSetConfigure, Action::replSetGetStatus, Action::issueDirectShardOperations}},
  };
  return kPrivs;
}

std::vector<std::string_view> sensitive_fields(std::string_view command) {
  if (command == "createUser" || command == "updateUser") return {"pwd"};
  if (command == "saslStart" || command == "saslContinue") return {"payload"};
  return {};
}

// Document sequences are merged into the body after $db; the server's message shows only
// the body section, so those trailing arrays are left out of it.
bool is_sequence_field(std::string_view k) {
  return k == "documents" || k == "updates" || k == "deletes" || k == "ops" || k == "nsInfo";
}

// "not authorized on test to execute command { find: "c", ... }" with snipForLogging applied.
std::string unauthorized_message(const CommandRequest& req) {
  auto hidden = sensitive_fields(req.name);
  bson_t shown;
  bson_init(&shown);
  bson_iter_t it;
  bool after_db = false;
  bson_iter_init(&it, req.body.get());
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (after_db && BSON_ITER_HOLDS_ARRAY(&it) && is_sequence_field(k)) continue;
    if (k == "$db") after_db = true;
    if (std::find(hidden.begin(), hidden.end(), k) != hidden.end()) {
      common::append_utf8(&shown, k, "xxx");
    } else {
      bson_append_iter(&shown, bson_iter_key(&it), -1, &it);
    }
  }
  std::string msg = "not authorized on " + req.db + " to execute command " + common::to_server_string(&shown);
  bson_destroy(&shown);
  return msg;
}

std::mutex unlisted_mu;
std::set<std::string> unlisted_warned;

Status read_password_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(common::kBadValue, "--admin-password-file: cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string pwd = ss.str();
  while (!pwd.empty() && (pwd.back() == '\n' || pwd.back() == '\r')) pwd.pop_back();
  if (pwd.empty()) return Status(common::kBadValue, "--admin-password-file: " + path + " is empty");
  *out = std::move(pwd);
  return Status::OK();
}

const ClientSession* session_if_any(const ClientInfo& client) {
  return client.auth && client.auth->access().enforcing() ? client.auth.get() : nullptr;
}

}  // namespace

// ---- ClientSession ------------------------------------------------------------------------

ClientSession& session_of(ClientInfo& client, AccessControl& access) {
  if (!client.auth) client.auth = std::make_shared<ClientSession>(access, is_loopback(client.remote));
  return *client.auth;
}

void ClientSession::refresh() {
  if (!user_) return;
  int64_t now = access_.users().generation();
  if (now == generation_) return;
  auto fresh = access_.users().resolve_user(user_->name);
  if (!fresh.ok()) {
    MS_LOG_INFO("Removed deleted user from session cache of user information: {}", user_->name.full());
    user_.reset();
    return;
  }
  user_ = std::move(fresh).value();
  generation_ = now;
}

void ClientSession::set_user(ResolvedUser u, int64_t generation) {
  user_ = std::move(u);
  generation_ = generation;
}

bool ClientSession::localhost_bypass() const {
  return access_.enforcing() && localhost_ && !access_.users().has_users();
}

bool ClientSession::is_authorized(const Resource& resource, const ActionSet& actions) const {
  if (!access_.enforcing()) return true;
  ActionSet unmet = actions;
  const auto search = resource.search_list();
  if (localhost_bypass()) {
    for (const auto& p : localhost_privileges()) {
      for (const auto& pattern : search) {
        if (p.resource == pattern) unmet.remove(p.actions);
      }
    }
    if (unmet.empty()) return true;
  }
  if (!user_) return false;
  for (const auto& pattern : search) {
    for (const auto& p : user_->privileges) {
      if (p.resource == pattern) unmet.remove(p.actions);
    }
    if (unmet.empty()) return true;
  }
  return false;
}

bool ClientSession::is_authorized_for_any_action_in_database(const std::string& db) const {
  if (!access_.enforcing()) return true;
  if (!user_) return false;
  using K = Resource::Kind;
  for (const auto& p : user_->privileges) {
    const Resource& r = p.resource;
    switch (r.kind) {
      case K::kAny:
      case K::kAnySystemBuckets:
      case K::kCollectionName:
      case K::kSystemBucketsInAnyDb: return true;
      case K::kAnyNormal:
        if (db != "local" && db != "config") return true;
        break;
      case K::kDatabase:
      case K::kExactNamespace:
      case K::kAnySystemBucketsInDb:
      case K::kExactSystemBuckets:
        if (r.db == db) return true;
        break;
      case K::kCluster: break;
    }
  }
  return false;
}

bool ClientSession::is_authorized_for_any_action_on_resource(const Resource& resource) const {
  if (!access_.enforcing()) return true;
  if (!user_) return false;
  for (const auto& pattern : resource.search_list()) {
    for (const auto& p : user_->privileges) {
      if (p.resource == pattern && !p.actions.empty()) return true;
    }
  }
  return false;
}

bool ClientSession::has_role(const RoleName& role) const {
  return user_ && std::find(user_->indirect_roles.begin(), user_->indirect_roles.end(), role) != user_->indirect_roles.end();
}

// ---- AccessControl ------------------------------------------------------------------------

AccessControl::AccessControl(ServerContext& server, std::unique_ptr<UserStore> users)
    : server_(server), users_(std::move(users)), enforcing_(server.options.auth) {}

AccessControl::~AccessControl() = default;

Result<std::unique_ptr<AccessControl>> AccessControl::open(ServerContext& server) {
  const ServerOptions& o = server.options;
  std::string path = o.dbpath.empty() ? "" : o.dbpath + "/mongosim-auth.bson";
  MS_ASSIGN_OR_RETURN(auto store, UserStore::open(path));
  std::unique_ptr<AccessControl> ac(new AccessControl(server, std::move(store)));
  if (!o.admin_user.empty()) {
    UserName name{o.admin_user, "admin"};
    if (ac->users_->user(name)) {
      MS_LOG_INFO("--admin-user {} already exists; its password and roles are left as they are", name.full());
    } else {
      std::string password;
      MS_RETURN_IF_ERROR(read_password_file(o.admin_password_file, &password));
      MS_ASSIGN_OR_RETURN(Bson doc, make_user_document(name, password, {RoleName{"root", "admin"}}, {}, nullptr));
      MS_RETURN_IF_ERROR(ac->users_->insert_user(name, std::move(doc)));
      MS_LOG_INFO("created user {} with role root@admin (--admin-user)", name.full());
    }
  }
  return ac;
}

void AccessControl::register_commands(CommandRegistry& registry) { register_auth_commands(*this, registry); }

Status AccessControl::authorize(ClientInfo& client, const CommandRequest& req, const CommandDef& def,
                                std::function<void(bson_t*)>* reply_filter) {
  ClientSession& session = session_of(client, *this);
  session.refresh();
  if (!enforcing_) return Status::OK();
  const CommandRule* rule = find_command_rule(def.name);
  if (!rule) rule = find_command_rule(req.name);
  if (!rule) {
    std::lock_guard<std::mutex> lk(unlisted_mu);
    if (unlisted_warned.insert(def.name).second) {
      MS_LOG_WARN("no privilege rule for command {}; with --auth it only requires an authenticated user", def.name);
    }
  }
  bool needs_login = rule ? rule->scope != Scope::kNone : def.requires_auth;
  // While the localhost exception is open the privilege check decides (the server skips
  // its "requires authentication" pre-check then).
  if (needs_login && !session.authenticated() && !session.localhost_bypass()) {
    return Status(common::kUnauthorized, "Command " + def.name + " requires authentication");
  }
  if (!rule) return Status::OK();
  AuthzContext ctx{session, req, reply_filter};
  Status st = check_command(ctx, *rule);
  if (is_denied(st)) return Status(common::kUnauthorized, unauthorized_message(req));
  return st;
}

// ---- redaction and engine queries ---------------------------------------------------------

std::optional<Bson> redact_for_logging(const CommandRequest& req) {
  auto hidden = sensitive_fields(req.name);
  if (hidden.empty()) return std::nullopt;
  bson_t out;
  bson_init(&out);
  bson_iter_t it;
  bson_iter_init(&it, req.body.get());
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (std::find(hidden.begin(), hidden.end(), k) != hidden.end()) {
      common::append_utf8(&out, k, "xxx");
    } else {
      bson_append_iter(&out, bson_iter_key(&it), -1, &it);
    }
  }
  return Bson::steal(&out);
}

bool is_authorized(const ClientInfo& client, const Resource& resource, const ActionSet& actions) {
  const ClientSession* s = session_if_any(client);
  return !s || s->is_authorized(resource, actions);
}

bool is_authorized_for_any_action_in_database(const ClientInfo& client, std::string_view db) {
  const ClientSession* s = session_if_any(client);
  return !s || s->is_authorized_for_any_action_in_database(std::string(db));
}

bool is_authorized_for_any_action_on_namespace(const ClientInfo& client, std::string_view db, std::string_view coll) {
  const ClientSession* s = session_if_any(client);
  return !s || s->is_authorized_for_any_action_on_resource(Resource::exact(std::string(db), std::string(coll)));
}

std::optional<std::string> authenticated_user(const ClientInfo& client) {
  if (!client.auth || !client.auth->user()) return std::nullopt;
  return client.auth->user()->name.full();
}

Status check_cursor_access(const ClientInfo& client, const CommandRequest& req, int64_t cursor_id,
                           const std::optional<std::string>& owner, std::string_view ns) {
  const ClientSession* s = session_if_any(client);
  if (!s || authenticated_user(client) == owner) return Status::OK();
  if (req.name == "getMore") {
    return Status(common::kUnauthorized,
                  "cursor id " + std::to_string(cursor_id) + " was not created by the authenticated user");
  }
  auto dot = ns.find('.');
  std::string db(ns.substr(0, dot)), coll(dot == std::string_view::npos ? "" : ns.substr(dot + 1));
  if (s->is_authorized(Resource::cluster(), {Action::killAnyCursor}) ||
      s->is_authorized(Resource::for_namespace(db, coll), {Action::killAnyCursor})) {
    return Status::OK();
  }
  // killCursors checks in doCheckAuthorization, so the failure reads as any other.
  return Status(common::kUnauthorized, unauthorized_message(req));
}

}  // namespace sim::auth
