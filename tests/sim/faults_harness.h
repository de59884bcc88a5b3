// An in-process mongosim for the fault tests: admin and test commands, the real engine
// (in memory) and the dispatcher, fed OP_MSG messages per connection, so fail points,
// step-down and replication reporting are checked end to end without sockets.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "sim/dispatch_harness.h"
#include "sim/engine/engine.h"
#include "sim/raw_wire_client.h"
#include "sim/server/admin_commands.h"
#include "sim/server/dispatcher.h"
#include "sim/server/server_state.h"

namespace simtest {

inline sim::ServerOptions fault_options(bool test_commands = true, bool standalone = false, std::string version = "7.0") {
  sim::ServerOptions o = options_with(standalone, std::move(version));
  o.enable_test_commands = test_commands;
  return o;
}

class FaultHarness {
 public:
  explicit FaultHarness(sim::ServerOptions o = fault_options()) : ctx(std::move(o)), state(ctx) {
    ctx.host_and_port = "127.0.0.1:27999";
    ctx.start_time_ms = sim::server::now_ms();
    bson_oid_init(&ctx.process_id, nullptr);
    sim::server::register_admin_commands(state, ctx.commands);
    auto opened = sim::engine::Engine::open(ctx);
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    if (opened.ok()) {
      engine = std::move(opened).value();
      engine->register_commands(ctx.commands);
      engine->start_background();
      state.attach_engine(engine.get());
    }
    dispatcher = std::make_unique<sim::server::Dispatcher>(state);
    main = connection();
  }
  ~FaultHarness() {
    state.begin_shutdown();
    if (engine) engine->shutdown();
  }

  sim::ClientInfo connection(std::string app_name = "") {
    sim::ClientInfo c;
    c.connection_id = ++next_conn;
    c.remote = "127.0.0.1:" + std::to_string(50000 + next_conn);
    c.local = "127.0.0.1:27999";
    c.app_name = std::move(app_name);
    return c;
  }

  // Runs `json` (a command with $db) on connection `c`; the reply body, empty when the
  // connection was closed without one (then `closed` is set).
  common::Bson run(sim::ClientInfo& c, std::string_view json) {
    auto out = dispatcher->handle_message(c, op_msg(json, 0, ++request_id));
    closed = out.close;
    if (out.reply.empty()) return common::Bson();
    auto body = reply_body(out.reply);
    return body.ok() ? std::move(body).value() : common::Bson();
  }
  common::Bson run(std::string_view json) { return run(main, json); }

  // configureFailPoint on admin; returns the reply.
  common::Bson fail_point(std::string_view spec) {
    std::string cmd(spec);
    cmd.insert(cmd.size() - 1, ", \"$db\": \"admin\"");
    return run(cmd);
  }

  sim::ServerContext ctx;
  sim::server::ServerState state;
  std::unique_ptr<sim::engine::Engine> engine;
  std::unique_ptr<sim::server::Dispatcher> dispatcher;
  sim::ClientInfo main;
  bool closed = false;
  int64_t next_conn = 0;
  int32_t request_id = 0;
};

inline bool ok(const common::Bson& r) {
  bson_iter_t it;
  return bson_iter_init_find(&it, r.get(), "ok") && bson_iter_as_double(&it) == 1.0;
}

inline int64_t code(const common::Bson& r) { return int_field(r, "code"); }

inline bool bool_at(const common::Bson& d, const char* path) {
  bson_iter_t it, f;
  return bson_iter_init(&it, d.get()) && bson_iter_find_descendant(&it, path, &f) && BSON_ITER_HOLDS_BOOL(&f) &&
         bson_iter_bool(&f);
}

inline int64_t int_at(const common::Bson& d, const char* path) {
  bson_iter_t it, f;
  if (!bson_iter_init(&it, d.get()) || !bson_iter_find_descendant(&it, path, &f) || !BSON_ITER_HOLDS_NUMBER(&f)) return -999;
  return bson_iter_as_int64(&f);
}

inline sim::Timestamp ts_at(const common::Bson& d, const char* path) {
  bson_iter_t it, f;
  sim::Timestamp ts;
  if (bson_iter_init(&it, d.get()) && bson_iter_find_descendant(&it, path, &f) && BSON_ITER_HOLDS_TIMESTAMP(&f)) {
    bson_iter_timestamp(&f, &ts.t, &ts.i);
  }
  return ts;
}

inline int64_t date_at(const common::Bson& d, const char* path) {
  bson_iter_t it, f;
  if (!bson_iter_init(&it, d.get()) || !bson_iter_find_descendant(&it, path, &f) || !BSON_ITER_HOLDS_DATE_TIME(&f)) return -1;
  return bson_iter_date_time(&f);
}

inline std::string str_at(const common::Bson& d, const char* path) {
  bson_iter_t it, f;
  if (!bson_iter_init(&it, d.get()) || !bson_iter_find_descendant(&it, path, &f) || !BSON_ITER_HOLDS_UTF8(&f)) return "<none>";
  return bson_iter_utf8(&f, nullptr);
}

// The labels of an error reply, comma-separated.
inline std::string labels(const common::Bson& r) {
  bson_iter_t it, arr;
  std::string out;
  if (!bson_iter_init_find(&it, r.get(), "errorLabels") || !bson_iter_recurse(&it, &arr)) return out;
  while (bson_iter_next(&arr)) {
    if (!out.empty()) out += ",";
    out += BSON_ITER_HOLDS_UTF8(&arr) ? bson_iter_utf8(&arr, nullptr) : "?";
  }
  return out;
}

// Polls `pred` until it holds or `timeout` passes.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace simtest
