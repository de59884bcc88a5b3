// The handshake and server-information commands (mongodb-reference.md §2): hello/isMaster,
// ping, buildInfo, serverStatus, hostInfo, getParameter, getCmdLineOpts, listCommands,
// connectionStatus, sessions (startSession, endSessions, refreshSessions, killSessions,
// killAllSessions), whatsmyuri, getLog, currentOp, killOp,
// getDefaultRWConcern/setDefaultRWConcern, features, _isSelf; plus the replication commands
// (repl_commands.h) and, with --enable-test-commands, the test commands (test_commands.h).
#pragma once

#include "sim/command.h"
#include "sim/server/server_state.h"

namespace sim::server {

// Registers every command above. `state` must outlive the registry.
void register_admin_commands(ServerState& state, CommandRegistry& registry);

// Registers a command that runs only against the admin database.
void add_admin_command(CommandRegistry& registry, std::string name, std::string help, CommandHandler handler,
                       bool requires_auth = true);

}  // namespace sim::server
