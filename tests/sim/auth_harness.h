// An in-process mongosim with access control for the auth tests: admin commands + sim/auth +
// a Dispatcher, fed OP_MSG messages per connection, plus a SCRAM client to log in with.
// Engine commands are stood in for by `add_engine_command` (the privilege table is keyed by
// name, so a stand-in is checked exactly as the engine's command will be).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sim/auth/auth.h"
#include "sim/auth/scram.h"
#include "sim/command.h"
#include "sim/dispatch_harness.h"
#include "sim/raw_wire_client.h"
#include "sim/server/admin_commands.h"
#include "sim/server/dispatcher.h"
#include "sim/server/server_state.h"

namespace simtest {

inline sim::ServerOptions auth_options(bool enforce = true, std::string dbpath = "") {
  sim::ServerOptions o;
  o.auth = enforce;
  o.dbpath = std::move(dbpath);
  return o;
}

class AuthHarness {
 public:
  explicit AuthHarness(sim::ServerOptions o = auth_options()) : ctx(std::move(o)), state(ctx) {
    ctx.host_and_port = "127.0.0.1:27999";
    ctx.start_time_ms = sim::server::now_ms();
    bson_oid_init(&ctx.process_id, nullptr);
    sim::server::register_admin_commands(state, ctx.commands);
    auto opened = sim::auth::AccessControl::open(ctx);
    open_status = opened.status();
    if (opened.ok()) {
      access = std::move(opened).value();
      access->register_commands(ctx.commands);
    }
    dispatcher = std::make_unique<sim::server::Dispatcher>(state, access.get());
  }

  // A connection from `remote` (loopback by default).
  sim::ClientInfo connection(std::string remote = "127.0.0.1:50000") {
    sim::ClientInfo c;
    c.connection_id = ++next_conn;
    c.remote = std::move(remote);
    c.local = "127.0.0.1:27999";
    return c;
  }

  common::Bson run(sim::ClientInfo& c, std::string_view json) {
    auto out = dispatcher->handle_message(c, op_msg(json, 0, ++request_id));
    if (out.reply.empty()) return common::Bson();
    auto body = reply_body(out.reply);
    return body.ok() ? std::move(body).value() : common::Bson();
  }

  // A command the engine will serve, answered here with `reply_json` fields.
  void add_engine_command(const std::string& name, std::string reply_json = "{}") {
    sim::CommandDef d;
    d.name = name;
    common::Bson reply = doc(reply_json);
    d.handler = [reply](sim::CommandContext&, bson_t* out) {
      bson_concat(out, reply.get());
      return common::Status::OK();
    };
    ctx.commands.add(std::move(d));
  }

  // saslStart + saslContinue with a real SCRAM client; returns the last reply.
  common::Bson login(sim::ClientInfo& c, const std::string& user, const std::string& pwd, const std::string& db = "admin",
                     sim::auth::ScramMechanism m = sim::auth::ScramMechanism::kSha256, bool skip_empty = true) {
    sim::auth::ScramClientConversation client(m, user, pwd, "fyko+d2lbbFgONRv9qkxdawL");
    std::string mech = sim::auth::mechanism_name(m);
    common::Bson r = run(c, "{\"saslStart\": 1, \"mechanism\": \"" + mech + "\", \"payload\": " + bin(client.client_first()) +
                                (skip_empty ? ", \"options\": {\"skipEmptyExchange\": true}" : "") + ", \"$db\": \"" + db + "\"}");
    for (int round = 0; round < 3; ++round) {
      bool done = false;
      bson_iter_t it;
      if (bson_iter_init_find(&it, r.get(), "done")) done = bson_iter_as_bool(&it);
      if (done || !bson_iter_init_find(&it, r.get(), "payload")) return r;
      bson_subtype_t sub;
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_binary(&it, &sub, &len, &data);
      std::string server_msg(reinterpret_cast<const char*>(data), len);
      std::string next;
      if (round == 0) {
        auto f = client.client_final(server_msg);
        if (!f.ok()) return r;
        next = *f;
      }
      r = run(c, "{\"saslContinue\": 1, \"conversationId\": 1, \"payload\": " + bin(next) + ", \"$db\": \"" + db + "\"}");
    }
    return r;
  }

  static std::string bin(const std::string& raw) {
    return "{\"$binary\": {\"base64\": \"" + sim::auth::base64_encode(raw) + "\", \"subType\": \"00\"}}";
  }

  sim::ServerContext ctx;
  sim::server::ServerState state;
  std::unique_ptr<sim::auth::AccessControl> access;
  common::Status open_status;
  std::unique_ptr<sim::server::Dispatcher> dispatcher;
  int64_t next_conn = 0;
  int32_t request_id = 0;
};

inline int64_t code_of(const common::Bson& r) {
  auto v = common::get_int(r.get(), "code", 0);
  return v.ok() ? *v : -1;
}
inline std::string errmsg_of(const common::Bson& r) {
  auto v = common::get_string(r.get(), "errmsg", "");
  return v.ok() ? *v : "";
}
inline bool ok_of(const common::Bson& r) {
  bson_iter_t it;
  return bson_iter_init_find(&it, r.get(), "ok") && bson_iter_as_double(&it) == 1.0;
}

}  // namespace simtest
