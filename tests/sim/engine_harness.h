// An in-process mongosim with its engine, for engine integration tests: the dispatcher fed
// OP_MSG commands written as Extended JSON, and helpers that read cursors to the end. Tests
// that need the engine's internals (its cursor registry, to move the reaper's clock) reach
// them through impl().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/dispatch_harness.h"
#include "sim/engine/engine.h"
#include "sim/engine/engine_impl.h"

namespace simtest {

class EngineHarness : public DispatchHarness {
 public:
  explicit EngineHarness(sim::ServerOptions o = {}) : DispatchHarness(std::move(o)) {
    auto e = sim::engine::Engine::open(ctx);
    if (!e.ok()) {
      ADD_FAILURE() << "engine did not open: " << e.status().to_string();
      return;
    }
    engine = std::move(e).value();
    engine->register_commands(ctx.commands);
  }
  ~EngineHarness() {
    if (engine) engine->shutdown();
  }

  sim::engine::EngineImpl& impl() { return static_cast<sim::engine::EngineImpl&>(*engine); }

  // Runs a command on `db` (the JSON must not carry $db).
  common::Bson run(std::string_view db, std::string_view json) {
    std::string body(json);
    auto close = body.rfind('}');
    body.insert(close, std::string(body.find(':') == std::string::npos ? "" : ", ") + "\"$db\": \"" + std::string(db) + "\"");
    return command(body);
  }

  // Runs a command given as BSON on `db`.
  common::Bson run(std::string_view db, const bson_t* body) {
    bson_t cmd = BSON_INITIALIZER;
    bson_concat(&cmd, body);
    bson_append_utf8(&cmd, "$db", 3, db.data(), static_cast<int>(db.size()));
    last = dispatcher.handle_message(client, sim::server::encode_op_msg(&cmd, ++request_id, 0));
    bson_destroy(&cmd);
    auto r = reply_body(last.reply);
    return r.ok() ? std::move(r).value() : common::Bson();
  }

  // Every document of a cursor reply, following getMore to the end.
  std::vector<common::Bson> drain(std::string_view db, const common::Bson& reply) {
    std::vector<common::Bson> out;
    common::Bson r = reply;
    const char* batch = "cursor.firstBatch";
    while (true) {
      bson_iter_t it, arr;
      if (!bson_iter_init(&it, r.get()) || !bson_iter_find_descendant(&it, batch, &arr) || !BSON_ITER_HOLDS_ARRAY(&arr)) {
        ADD_FAILURE() << "not a cursor reply: " << r.json();
        return out;
      }
      bson_iter_t e;
      bson_iter_recurse(&arr, &e);
      while (bson_iter_next(&e)) {
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&e, &len, &data);
        bson_t d;
        bson_init_static(&d, data, len);
        out.emplace_back(&d);
      }
      bson_iter_t id, ns;
      bson_iter_init(&it, r.get());
      int64_t cursor_id = bson_iter_find_descendant(&it, "cursor.id", &id) ? bson_iter_as_int64(&id) : 0;
      if (cursor_id == 0) return out;
      bson_iter_init(&it, r.get());
      std::string coll;
      if (bson_iter_find_descendant(&it, "cursor.ns", &ns)) {
        std::string full = bson_iter_utf8(&ns, nullptr);
        coll = full.substr(full.find('.') + 1);
      }
      r = run(db, R"({"getMore": {"$numberLong": ")" + std::to_string(cursor_id) + R"("}, "collection": ")" + coll + "\"}");
      batch = "cursor.nextBatch";
    }
  }

  std::unique_ptr<sim::engine::Engine> engine;
};

inline bool ok(const common::Bson& reply) {
  bson_iter_t it;
  return bson_iter_init_find(&it, reply.get(), "ok") && bson_iter_as_double(&it) == 1.0;
}

}  // namespace simtest
