// Replication reporting and control as a one-member replica set's mongod gives them, now
// that the oplog exists: hello's replication fields (topologyVersion .. lastWrite, by the
// member's state), serverStatus.repl and serverStatus.oplog, replSetGetStatus and
// replSetGetConfig, and the state changes replSetStepDown / replSetStepUp. A standalone has
// none of these (NoReplicationEnabled, 76).
#pragma once

#include "sim/command.h"
#include "sim/server/server_state.h"

namespace sim::server {

// hello's replica-set fields in mongod's order; `legacy_names`: isMaster's `ismaster`.
void append_hello_replication(ServerState& st, bson_t* b, bool legacy_names);
// serverStatus sections: `repl` (hello's fields, rbid, userWriteBlockMode) and `oplog`
// ({latestOptime, earliestOptime}; only when asked for, as mongod).
void append_repl_server_status(ServerState& st, bson_t* b);
void append_oplog_server_status(ServerState& st, bson_t* b);

// replSetGetStatus, replSetGetConfig, replSetStepDown, replSetStepUp.
void register_repl_commands(ServerState& st, CommandRegistry& registry);

}  // namespace sim::server
