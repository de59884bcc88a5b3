// ClientSession: one connection's authentication state (the server's AuthorizationSession
// and AuthenticationSession): the authenticated user with its resolved privileges, and a
// SASL conversation in progress. Lives in ClientInfo::auth. Internal to sim/auth.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sim/auth/actions.h"
#include "sim/auth/scram.h"
#include "sim/auth/user_store.h"
#include "sim/command.h"

namespace sim::auth {

class AccessControl;

class ClientSession {
 public:
  ClientSession(AccessControl& access, bool localhost) : access_(access), localhost_(localhost) {}

  AccessControl& access() { return access_; }
  bool localhost() const { return localhost_; }

  // Re-reads the user when the store changed since it was resolved; a dropped user is
  // logged out (AuthorizationSessionImpl::_refreshUserInfoAsNeeded).
  void refresh();
  bool authenticated() const { return user_.has_value(); }
  const std::optional<ResolvedUser>& user() const { return user_; }
  void set_user(ResolvedUser u, int64_t generation);
  void logout() { user_.reset(); }

  // Privilege checks against the user's privileges plus, while the localhost exception is
  // open, the bootstrap privileges (createUser/grantRole on admin, ...).
  bool is_authorized(const Resource& resource, const ActionSet& actions) const;
  bool is_authorized_for_any_action_in_database(const std::string& db) const;
  bool is_authorized_for_any_action_on_resource(const Resource& resource) const;
  bool has_role(const RoleName& role) const;
  // The localhost exception: auth enforced, no user exists, connection from loopback.
  bool localhost_bypass() const;

  // The SASL conversation of this connection (AuthenticationSession).
  struct Conversation {
    std::unique_ptr<ScramServerConversation> scram;
    std::string db;
    bool speculative = false;
  };
  std::optional<Conversation> conversation;

 private:
  AccessControl& access_;
  const bool localhost_;
  std::optional<ResolvedUser> user_;
  int64_t generation_ = -1;
};

// The connection's session, created on first use.
ClientSession& session_of(ClientInfo& client, AccessControl& access);

}  // namespace sim::auth
