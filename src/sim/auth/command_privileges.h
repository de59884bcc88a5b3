// The privileges each command needs (what the server's commands declare in
// checkAuthForOperation / addRequiredPrivileges / doCheckAuthorization), as one table.
// Internal to sim/auth; the table itself is in command_privileges.cc.
#pragma once

#include <functional>
#include <string_view>

#include "common/status.h"
#include "sim/auth/actions.h"
#include "sim/command.h"

namespace sim::auth {

class ClientSession;

// What a check sees: the request and the connection's privileges.
struct AuthzContext {
  const ClientSession& session;
  const CommandRequest& req;   // for explain: the explained command, with the outer $db
  std::function<void(bson_t*)>* reply_filter;  // set by listDatabases / listCollections

  bool allowed(const Resource& r, const ActionSet& a) const;
  const bson_t* body() const { return req.body.get(); }
};

// A check returns OK, denied() (the dispatcher words it "not authorized on DB to execute
// command {...}"), or another Status that is returned as it is (a parse error, or an error
// the server raises while running, such as listDatabases' "insufficient permissions").
using PrivilegeCheck = common::Status (*)(AuthzContext&);
common::Status denied();
bool is_denied(const common::Status& st);

enum class Scope : uint8_t {
  kNone,           // no authentication needed (hello, saslStart, ...)
  kAuthenticated,  // any authenticated user (getMore: the cursor's owner is checked by the engine)
  kCluster,        // `actions` on the cluster resource
  kDatabase,       // `actions` on the request's database
  kNamespace,      // `actions` on db.<first field> (the database when the first field is not a name)
  kCustom,         // `check`
};

struct CommandRule {
  std::string_view name;
  Scope scope;
  ActionSet actions;
  PrivilegeCheck check = nullptr;
};

// The rule for a command name (aliases included); nullptr when the table has none.
const CommandRule* find_command_rule(std::string_view name);
// Runs the rule for `ctx.req` (its own rule, found by name).
common::Status check_command(AuthzContext& ctx, const CommandRule& rule);

}  // namespace sim::auth
