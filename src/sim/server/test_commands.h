// Test-only commands, registered only with --enable-test-commands (mongod's enableTestCommands;
// without it they are CommandNotFound): configureFailPoint and waitForFailPoint
// (failpoints.h), and mongosimControl, mongosim's own fault-injection command
// (docs/mongosim.md "Fault injection"):
//
//   {mongosimControl: "stepDown", secs: 60, closeConnections: true}
//   {mongosimControl: "stepUp"}
//   {mongosimControl: "truncateOplog", before: Timestamp(...)}
//   {mongosimControl: "dropConnections"}
//   {mongosimControl: "delayReplies", ms: 250}            (ms: 0 clears)
//   {mongosimControl: "freezeWrites", secs: 5}            (secs: 0 clears)
//   {mongosimControl: "setFsSize", totalBytes: n, usedBytes: m}   (no sizes: the real ones)
//   {mongosimControl: "status"}
#pragma once

#include "sim/command.h"
#include "sim/server/server_state.h"

namespace sim::server {

void register_test_commands(ServerState& state, CommandRegistry& registry);

}  // namespace sim::server
