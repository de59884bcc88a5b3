// configureFailPoint, waitForFailPoint (mongod's fail_point_cmd.cpp) and mongosimControl.
#include "sim/server/test_commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>
#include <thread>

#include "common/log.h"
#include "sim/engine/engine.h"
#include "sim/server/admin_commands.h"

namespace sim::server {

using common::Result;
using common::Status;

namespace {

constexpr int kNoReplicationEnabled = 76;

// BSONObjBuilder::appendNumber(long long): an int while it is small.
void append_number(bson_t* b, const char* key, int64_t n) {
  if (n > -(int64_t{1} << 30) && n < (int64_t{1} << 30)) {
    bson_append_int32(b, key, -1, static_cast<int32_t>(n));
  } else {
    bson_append_int64(b, key, -1, n);
  }
}

Status run_configure_fail_point(ServerState& st, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(int64_t before, st.failpoints.configure(c.body()));
  append_number(reply, "count", before);
  return Status::OK();
}

// waitForFailPoint: blocks until the fail point has fired `timesEntered` times in all.
Status run_wait_for_fail_point(ServerState& st, CommandContext& c) {
  const bson_t* body = c.body();
  bson_iter_t it;
  std::string name;
  if (bson_iter_init(&it, body) && bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_UTF8(&it)) {
      return Status(common::kTypeMismatch, std::string("BSON field 'waitForFailPoint' is the wrong type '") +
                                               common::type_alias(bson_iter_type(&it)) + "', expected type 'string'");
    }
    name = bson_iter_utf8(&it, nullptr);
  }
  if (!common::find_field(body, "timesEntered", &it)) {
    return Status(40414, "BSON field 'waitForFailPoint.timesEntered' is missing but a required field");
  }
  if (!BSON_ITER_HOLDS_NUMBER(&it)) {
    return Status(common::kTypeMismatch, std::string("BSON field 'waitForFailPoint.timesEntered' is the wrong type '") +
                                             common::type_alias(bson_iter_type(&it)) + "', expected type 'long'");
  }
  int64_t target = bson_iter_as_int64(&it);
  if (!common::find_field(body, "maxTimeMS", &it) || !BSON_ITER_HOLDS_NUMBER(&it) || bson_iter_as_int64(&it) <= 0) {
    return Status(common::kFailedToParse, "Missing maxTimeMS");
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(bson_iter_as_int64(&it));
  while (true) {
    MS_ASSIGN_OR_RETURN(int64_t entered, st.failpoints.times_entered(name));
    if (entered >= target) return Status::OK();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(common::kMaxTimeMSExpired, "operation exceeded time limit");
    }
    if (!st.sleep_for(std::chrono::milliseconds(10))) return Status(common::kInterruptedAtShutdown, "interrupted at shutdown");
  }
}

// ---- mongosimControl -----------------------------------------------------------------

// The control command's arguments, checked as an IDL-parsed command checks them.
class ControlArgs {
 public:
  ControlArgs(const bson_t* body, std::string action) : body_(body), action_(std::move(action)) {}

  // Unknown fields (other than generic arguments) are IDLUnknownField, as for mongod's own commands.
  Status check_fields(std::initializer_list<std::string_view> allowed) const {
    bson_iter_t it;
    if (!bson_iter_init(&it, body_) || !bson_iter_next(&it)) return Status::OK();
    while (bson_iter_next(&it)) {
      std::string_view k = bson_iter_key(&it);
      if (is_generic_argument(k) || std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      return Status(common::kUnrecognizedCommandField, "BSON field 'mongosimControl." + std::string(k) + "' is an unknown field.");
    }
    return Status::OK();
  }
  // A number ≥ 0 (nullopt when absent).
  Result<std::optional<double>> number(const char* field) const {
    bson_iter_t it;
    if (!common::find_field(body_, field, &it)) return std::optional<double>();
    if (!BSON_ITER_HOLDS_NUMBER(&it)) return wrong_type(field, &it, "[long, int, decimal, double]");
    double v = bson_iter_as_double(&it);
    if (!std::isfinite(v) || v < 0) {
      return Status(common::kBadValue, "mongosimControl " + action_ + ": '" + field + "' must be a non-negative number");
    }
    return std::optional<double>(v);
  }
  Result<bool> flag(const char* field, bool absent) const {
    bson_iter_t it;
    if (!common::find_field(body_, field, &it)) return absent;
    if (!BSON_ITER_HOLDS_BOOL(&it)) return wrong_type(field, &it, "bool");
    return bson_iter_bool(&it);
  }
  Result<std::optional<Timestamp>> timestamp(const char* field) const {
    bson_iter_t it;
    if (!common::find_field(body_, field, &it)) return std::optional<Timestamp>();
    if (!BSON_ITER_HOLDS_TIMESTAMP(&it)) return wrong_type(field, &it, "timestamp");
    Timestamp ts;
    bson_iter_timestamp(&it, &ts.t, &ts.i);
    return std::optional<Timestamp>(ts);
  }

 private:
  Status wrong_type(const char* field, const bson_iter_t* it, const char* expected) const {
    std::string want = expected;
    bool several = !want.empty() && want.front() == '[';
    return Status(common::kTypeMismatch, std::string("BSON field 'mongosimControl.") + field + "' is the wrong type '" +
                                             common::type_alias(bson_iter_type(it)) + "', expected " +
                                             (several ? "types '" : "type '") + want + "'");
  }
  const bson_t* body_;
  std::string action_;
};

Status control_step_down(ServerState& st, CommandContext& c, const ControlArgs& a, bson_t* reply) {
  MS_RETURN_IF_ERROR(a.check_fields({"secs", "closeConnections"}));
  MS_ASSIGN_OR_RETURN(auto secs, a.number("secs"));
  MS_ASSIGN_OR_RETURN(bool close, a.flag("closeConnections", true));
  if (st.ctx.options.standalone) return Status(kNoReplicationEnabled, "not running with --replSet");
  int64_t ms = secs ? static_cast<int64_t>(*secs * 1000) : 60000;
  if (ms <= 0) return Status(common::kBadValue, "mongosimControl stepDown: 'secs' must be positive");
  MS_RETURN_IF_ERROR(st.repl.step_down(ms, close, c.client.connection_id));
  bson_append_int64(reply, "term", -1, st.ctx.clock.term());
  bson_append_date_time(reply, "stepDownUntil", -1, st.repl.snapshot().stepdown_until_ms);
  return Status::OK();
}

Status control_step_up(ServerState& st, const ControlArgs& a, bson_t* reply) {
  MS_RETURN_IF_ERROR(a.check_fields({}));
  if (st.ctx.options.standalone) return Status(kNoReplicationEnabled, "not running with --replSet");
  MS_RETURN_IF_ERROR(st.repl.step_up("stepUpRequestSkipDryRun"));
  bson_append_int64(reply, "term", -1, st.ctx.clock.term());
  return Status::OK();
}

// Forced roll-over: entries older than `before` go, the newest always stays (a capped oplog
// never deletes its last entry). Tailing cursors positioned in the removed part fail with
// CappedPositionLost on their next getMore.
Status control_truncate_oplog(ServerState& st, const ControlArgs& a, bson_t* reply) {
  MS_RETURN_IF_ERROR(a.check_fields({"before"}));
  MS_ASSIGN_OR_RETURN(auto before, a.timestamp("before"));
  if (!before) return Status(40414, "BSON field 'mongosimControl.before' is missing but a required field");
  engine::Engine::OplogBounds b;
  if (!st.engine || !st.engine->oplog_bounds(&b)) return Status(kNoReplicationEnabled, "not running with --replSet");
  Timestamp cut = b.last < *before ? b.last : *before;
  st.engine->truncate_oplog_before(cut);
  engine::Engine::OplogBounds after;
  st.engine->oplog_bounds(&after);
  bson_append_int64(reply, "removed", -1, b.count - after.count);
  bson_append_timestamp(reply, "earliestOptime", -1, after.first.t, after.first.i);
  bson_append_timestamp(reply, "latestOptime", -1, after.last.t, after.last.i);
  MS_LOG_INFO("mongosimControl: removed {} oplog entries before {}|{}", b.count - after.count, cut.t, cut.i);
  return Status::OK();
}

Status control_set_fs_size(ServerState& st, const ControlArgs& a, bson_t*) {
  MS_RETURN_IF_ERROR(a.check_fields({"totalBytes", "usedBytes"}));
  MS_ASSIGN_OR_RETURN(auto total, a.number("totalBytes"));
  MS_ASSIGN_OR_RETURN(auto used, a.number("usedBytes"));
  if (total.has_value() != used.has_value()) {
    return Status(common::kBadValue, "mongosimControl setFsSize: give both 'totalBytes' and 'usedBytes', or neither");
  }
  if (total && *used > *total) {
    return Status(common::kBadValue, "mongosimControl setFsSize: 'usedBytes' cannot exceed 'totalBytes'");
  }
  if (!st.engine) return Status(common::kIllegalOperation, "mongosimControl setFsSize: no database engine");
  if (total) {
    st.engine->set_fs_sizes(std::make_pair(static_cast<int64_t>(*total), static_cast<int64_t>(*used)));
  } else {
    st.engine->set_fs_sizes(std::nullopt);
  }
  return Status::OK();
}

Status control_status(ServerState& st, const ControlArgs& a, bson_t* reply) {
  MS_RETURN_IF_ERROR(a.check_fields({}));
  ReplState::Snapshot m = st.repl.snapshot();
  bson_append_bool(reply, "primary", -1, m.primary);
  if (!m.primary) bson_append_date_time(reply, "stepDownUntil", -1, m.stepdown_until_ms);
  bson_append_int64(reply, "term", -1, st.ctx.clock.term());
  bson_append_int64(reply, "replyDelayMS", -1, st.repl.reply_delay_ms());
  bson_append_int64(reply, "writesFrozenForMS", -1, st.repl.writes_frozen_for_ms());
  bson_t fps;
  bson_append_document_begin(reply, "failPoints", -1, &fps);
  for (const auto& name : st.failpoints.names()) {
    auto n = st.failpoints.times_entered(name);
    bson_append_int64(&fps, name.c_str(), -1, n.ok() ? *n : 0);
  }
  bson_append_document_end(reply, &fps);
  return Status::OK();
}

Status run_mongosim_control(ServerState& st, CommandContext& c, bson_t* reply) {
  bson_iter_t it;
  std::string action;
  if (bson_iter_init(&it, c.body()) && bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_UTF8(&it)) {
      return Status(common::kTypeMismatch, std::string("BSON field 'mongosimControl' is the wrong type '") +
                                               common::type_alias(bson_iter_type(&it)) + "', expected type 'string'");
    }
    action = bson_iter_utf8(&it, nullptr);
  }
  ControlArgs a(c.body(), action);
  if (action == "stepDown") return control_step_down(st, c, a, reply);
  if (action == "stepUp") return control_step_up(st, a, reply);
  if (action == "truncateOplog") return control_truncate_oplog(st, a, reply);
  if (action == "setFsSize") return control_set_fs_size(st, a, reply);
  if (action == "status") return control_status(st, a, reply);
  if (action == "preparedTransactions") {
    MS_RETURN_IF_ERROR(a.check_fields({"enabled"}));
    MS_ASSIGN_OR_RETURN(bool on, a.flag("enabled", true));
    if (!st.engine || !st.engine->set_prepared_transactions(on)) {
      return Status(kNoReplicationEnabled, "mongosimControl preparedTransactions: not running with --replSet");
    }
    bson_append_bool(reply, "enabled", -1, on);
    return Status::OK();
  }
  if (action == "dropConnections") {
    MS_RETURN_IF_ERROR(a.check_fields({}));
    int n = st.close_connections(c.client.connection_id);
    MS_LOG_INFO("mongosimControl: closed {} client connection(s)", n);
    bson_append_int32(reply, "closed", -1, n);
    return Status::OK();
  }
  if (action == "delayReplies") {
    MS_RETURN_IF_ERROR(a.check_fields({"ms"}));
    MS_ASSIGN_OR_RETURN(auto ms, a.number("ms"));
    if (!ms) return Status(40414, "BSON field 'mongosimControl.ms' is missing but a required field");
    st.repl.set_reply_delay_ms(static_cast<int64_t>(*ms));
    bson_append_int64(reply, "ms", -1, st.repl.reply_delay_ms());
    return Status::OK();
  }
  if (action == "freezeWrites") {
    MS_RETURN_IF_ERROR(a.check_fields({"secs"}));
    MS_ASSIGN_OR_RETURN(auto secs, a.number("secs"));
    if (!secs) return Status(40414, "BSON field 'mongosimControl.secs' is missing but a required field");
    st.repl.freeze_writes_for(static_cast<int64_t>(*secs * 1000));
    bson_append_int64(reply, "frozenForMS", -1, st.repl.writes_frozen_for_ms());
    return Status::OK();
  }
  return Status(common::kBadValue,
                "unknown mongosimControl action '" + action +
                    "'; expected one of stepDown, stepUp, truncateOplog, dropConnections, delayReplies, freezeWrites, "
                    "setFsSize, preparedTransactions, status");
}

}  // namespace

void register_test_commands(ServerState& st, CommandRegistry& r) {
  ServerState* s = &st;
  // No login needed: they exist only when enabled on the command line, as on mongod.
  auto add = [&r](std::string name, std::string help, CommandHandler h) {
    add_admin_command(r, std::move(name), std::move(help), std::move(h), false);
  };
  add("configureFailPoint", "modifies the settings of a fail point",
      [s](CommandContext& c, bson_t* reply) { return run_configure_fail_point(*s, c, reply); });
  add("waitForFailPoint", "wait for a fail point to be entered a certain number of times",
      [s](CommandContext& c, bson_t*) { return run_wait_for_fail_point(*s, c); });
  add("mongosimControl", "mongosim fault injection: stepDown, stepUp, truncateOplog, dropConnections, delayReplies, "
                         "freezeWrites, setFsSize, preparedTransactions, status",
      [s](CommandContext& c, bson_t* reply) { return run_mongosim_control(*s, c, reply); });
}

}  // namespace sim::server
