// The authentication and user/role management commands. Internal to sim/auth.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "sim/auth/user_store.h"
#include "sim/command.h"

namespace sim::auth {

class AccessControl;

// An admin.system.users document as createUser writes it: {_id, userId, user, db,
// credentials, authenticationRestrictions?, customData?, roles}. `mechanisms` empty = both SCRAM mechanisms.
common::Result<common::Bson> make_user_document(const UserName& name, std::string_view password,
                                                const std::vector<RoleName>& roles,
                                                const std::vector<std::string>& mechanisms, const bson_t* custom_data,
                                                bool digest_password = true,
                                                const bson_t* restrictions = nullptr);

void register_auth_commands(AccessControl& access, CommandRegistry& registry);

}  // namespace sim::auth
