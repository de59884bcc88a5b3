// Dispatcher: turns one wire message into a command run and the reply bytes
// (mongodb-reference.md §1, §3.1, §4.1): OP_MSG and legacy OP_QUERY requests, kind-1
// sequences merged into the body, $db, admin-only checks, error replies, $clusterTime and
// operationTime gossip, opcounters, and compression of replies. No sockets here, so the
// whole path is testable in process.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "common/bson.h"
#include "common/status.h"
#include "sim/auth/auth.h"
#include "sim/command.h"
#include "sim/server/server_state.h"
#include "sim/server/wire.h"

namespace sim::server {

struct LabelContext;

class Dispatcher {
 public:
  // `access` (optional) checks every command against the connection's privileges
  // (sim/auth/auth.h); without it no command is restricted.
  explicit Dispatcher(ServerState& state, auth::AccessControl* access = nullptr)
      : state_(state), ctx_(state.ctx), access_(access) {}

  struct Outcome {
    std::string reply;   // whole reply message; empty = send nothing
    bool close = false;  // close the connection after sending `reply`
  };
  // Handles one whole message (header included) received on `client`'s connection.
  Outcome handle_message(ClientInfo& client, std::string_view message);

  // Runs a command and returns the complete reply document (ok, errors, $clusterTime...).
  // Fail points and the member's state (failpoints.h, repl_state.h) apply on the way.
  common::Bson run_command(ClientInfo& client, const CommandRequest& req);
  // As run_command; *close is set when the connection must end without a reply (a
  // failCommand closeConnection, onPrimaryTransactionalWrite).
  common::Bson run_command(ClientInfo& client, const CommandRequest& req, bool* close);

  // The server's error reply for `st` (errorLabels, topologyVersion, ok: 0, errmsg, code,
  // codeName, extra info, then cluster time fields). Labels: an `errorLabels` array in the
  // Status's extra info is used exactly (a failCommand override, possibly empty); otherwise
  // the Status's labels plus, with `lc`, the server's own (error_labels.h).
  common::Bson error_reply(const common::Status& st, const LabelContext* lc = nullptr);

  // Request construction from the two request opcodes.
  static common::Result<CommandRequest> request_from_op_msg(const OpMsg& msg);
  // `legacy_commands_allowed`: servers before 5.1 accept any command over OP_QUERY.
  static common::Result<CommandRequest> request_from_op_query(const OpQuery& q, bool legacy_commands_allowed);

 private:
  void append_cluster_time(bson_t* reply);
  void gossip_cluster_time(const bson_t* body);
  void count_op(const CommandRequest& req);
  std::string maybe_compress(std::string msg, const Message& request, std::string_view command);
  // The test fault that delays every reply (not the control command's own).
  void delay_reply(std::string_view command);

  ServerState& state_;
  ServerContext& ctx_;
  auth::AccessControl* access_;
};

// The codeName for `code`, including protocol-layer codes common::code_name lacks.
std::string reply_code_name(int code);

// A fresh requestID for server-originated messages.
int32_t next_request_id();

}  // namespace sim::server
