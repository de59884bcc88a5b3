// An in-process mongosim front end for tests: ServerContext + admin commands + Dispatcher,
// fed whole wire messages, without sockets or the engine.
#pragma once

#include <string>
#include <string_view>

#include "sim/command.h"
#include "sim/raw_wire_client.h"
#include "sim/server/admin_commands.h"
#include "sim/server/dispatcher.h"
#include "sim/server/server_state.h"

namespace simtest {

inline sim::ServerOptions options_with(bool standalone, std::string version = "7.0") {
  sim::ServerOptions o;
  o.standalone = standalone;
  if (standalone) o.replset.clear();
  o.server_version = std::move(version);
  return o;
}

class DispatchHarness {
 public:
  explicit DispatchHarness(sim::ServerOptions o = {}) : ctx(std::move(o)), state(ctx), dispatcher(state) {
    ctx.host_and_port = "127.0.0.1:27999";
    ctx.start_time_ms = sim::server::now_ms();
    ctx.argv = {"mongosim", "--port", "27999"};
    bson_oid_init(&ctx.process_id, nullptr);
    sim::server::register_admin_commands(state, ctx.commands);
    client.connection_id = 1;
    client.remote = "127.0.0.1:50000";
    client.local = "127.0.0.1:27999";
  }

  // Sends one OP_MSG built from `json`; returns the reply body (empty when none was sent).
  common::Bson command(std::string_view json, uint32_t flags = 0) {
    last = dispatcher.handle_message(client, op_msg(json, flags, ++request_id));
    if (last.reply.empty()) return common::Bson();
    auto body = reply_body(last.reply);
    return body.ok() ? std::move(body).value() : common::Bson();
  }

  sim::ServerContext ctx;
  sim::server::ServerState state;
  sim::server::Dispatcher dispatcher;
  sim::ClientInfo client;
  sim::server::Dispatcher::Outcome last;
  int32_t request_id = 0;
};

// Typed reads of a reply's top-level fields.
inline std::string str_field(const common::Bson& d, const char* key) {
  auto r = common::get_string(d.get(), key, "<missing>");
  return r.ok() ? *r : "<wrong type>";
}
inline int64_t int_field(const common::Bson& d, const char* key) {
  auto r = common::get_int(d.get(), key, -999);
  return r.ok() ? *r : -998;
}
inline bool has_field(const common::Bson& d, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, d.get(), key);
}
inline bson_type_t field_type(const common::Bson& d, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, d.get(), key) ? bson_iter_type(&it) : BSON_TYPE_EOD;
}
// A nested field by dotted path ("lastWrite.opTime.ts").
inline bool has_path(const common::Bson& d, const char* path) {
  bson_iter_t it, found;
  return bson_iter_init(&it, d.get()) && bson_iter_find_descendant(&it, path, &found);
}

}  // namespace simtest
