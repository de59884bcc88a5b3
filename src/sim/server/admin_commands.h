// The handshake and server-information commands (mongodb-reference.md §2): hello/isMaster,
// ping, buildInfo, serverStatus, hostInfo, getParameter, getCmdLineOpts, replSetGetStatus,
// replSetGetConfig, listCommands, connectionStatus, sessions (startSession, endSessions,
// refreshSessions, killSessions, killAllSessions), whatsmyuri, getLog, currentOp, killOp,
// getDefaultRWConcern/setDefaultRWConcern, features, _isSelf.
#pragma once

#include "sim/command.h"
#include "sim/server/server_state.h"

namespace sim::server {

// Registers every command above. `state` must outlive the registry.
void register_admin_commands(ServerState& state, CommandRegistry& registry);

}  // namespace sim::server
