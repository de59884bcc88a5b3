// Built-in roles (the server's builtin_roles.yml): read, readWrite, dbAdmin, userAdmin,
// dbOwner on any database; the *AnyDatabase, cluster, backup/restore, root and __system
// roles on admin only. Internal to sim/auth.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sim/auth/actions.h"

namespace sim::auth {

// True when `role` on `db` is a built-in role (admin-only roles exist only on admin;
// $external has none).
bool is_builtin_role(std::string_view role, std::string_view db);
// Appends the role's privileges (sub-roles flattened, as the server generates them).
// False when it is not a built-in role.
bool add_builtin_role_privileges(std::string_view role, std::string_view db, PrivilegeVector& out);
// The built-in role names that exist on `db`, in definition order.
std::vector<std::string> builtin_role_names(std::string_view db);

}  // namespace sim::auth
