// mongosim's authentication and authorization (mongodb-reference.md §10): SCRAM-SHA-1 and
// SCRAM-SHA-256 (saslStart/saslContinue, speculativeAuthenticate and saslSupportedMechs in
// hello), users and roles (createUser ... rolesInfo, the built-in roles), and the
// per-command privilege checks of the server's command implementations, enforced with
// --auth. This header is the module's interface:
//   * main: AccessControl::open, register_commands, hand it to the Dispatcher;
//   * the Dispatcher: authorize() before every command, redact_for_logging();
//   * the engine: the connection queries at the bottom (cursor ownership, filtering).
// How a command maps to privileges is the table in command_privileges.cc; a command that is
// not listed there needs only an authenticated user (a warning is logged once).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/bson.h"
#include "common/status.h"
#include "sim/auth/actions.h"
#include "sim/command.h"

namespace sim::auth {

class UserStore;

class AccessControl {
 public:
  // Loads the users of options.dbpath (<dbpath>/mongosim-auth.bson; a damaged file is an
  // error) and creates --admin-user (root on admin) when it does not exist yet.
  static common::Result<std::unique_ptr<AccessControl>> open(ServerContext& server);
  ~AccessControl();
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  // Registers saslStart, saslContinue, authenticate, logout, connectionStatus, the user and
  // role commands, and wraps the already registered hello/isMaster with saslSupportedMechs
  // and speculativeAuthenticate. Call after the admin commands are registered.
  void register_commands(CommandRegistry& registry);

  // Called by the dispatcher before `def` runs for `req`. Without --auth every command is
  // allowed. With it: 13 "Command X requires authentication" before login, 13 "not
  // authorized on DB to execute command { ... }" for a missing privilege (the localhost
  // exception grants what creating the first user needs). When the reply must be trimmed
  // to what the user may see (listDatabases, listCollections authorizedCollections),
  // `reply_filter` is set and must be applied to the successful reply.
  common::Status authorize(ClientInfo& client, const CommandRequest& req, const CommandDef& def,
                           std::function<void(bson_t*)>* reply_filter);

  bool enforcing() const { return enforcing_; }
  ServerContext& server() { return server_; }
  UserStore& users() { return *users_; }

 private:
  AccessControl(ServerContext& server, std::unique_ptr<UserStore> users);

  ServerContext& server_;
  std::unique_ptr<UserStore> users_;
  const bool enforcing_;
};

// The request body as logs and currentOp may show it: sensitive fields (createUser/
// updateUser `pwd`, saslStart/saslContinue `payload`) replaced by "xxx", as the server's
// snipForLogging. nullopt when the command has nothing to hide.
std::optional<common::Bson> redact_for_logging(const CommandRequest& req);

// ---- Connection queries for the engine. Each is true (or empty) when the server runs
// without --auth or the connection has no authentication state.

// The connection may do all of `actions` on `resource`.
bool is_authorized(const ClientInfo& client, const Resource& resource, const ActionSet& actions);
// AuthorizationSession::isAuthorizedForAnyActionOnAnyResourceInDB (listDatabases filtering).
bool is_authorized_for_any_action_in_database(const ClientInfo& client, std::string_view db);
// isAuthorizedForAnyActionOnResource(exact namespace) (listCollections authorizedCollections).
bool is_authorized_for_any_action_on_namespace(const ClientInfo& client, std::string_view db, std::string_view coll);
// "user@db" of the authenticated user, to record as a cursor's owner; nullopt when none.
std::optional<std::string> authenticated_user(const ClientInfo& client);
// getMore/killCursors on a cursor created by `owner` (authenticated_user() at creation):
// OK for the owner, or for killCursors with killAnyCursor; otherwise Unauthorized with the
// server's wording ("cursor id N was not created by the authenticated user" for getMore,
// "not authorized on DB to execute command {...}" for killCursors).
common::Status check_cursor_access(const ClientInfo& client, const CommandRequest& req, int64_t cursor_id,
                                   const std::optional<std::string>& owner, std::string_view ns);

}  // namespace sim::auth
