// Member state of a one-member replica set: step-down, the single-node election that ends
// it, and the checks and faults applied to every command.
#include "sim/server/repl_state.h"

#include <algorithm>

#include "common/log.h"
#include "sim/engine/engine.h"
#include "sim/server/server_state.h"

namespace sim::server {

using common::Status;

namespace {

enum class OnSecondary { kAlways, kOptIn, kNever };

// Command::secondaryAllowed: writes never run on a secondary, reads only when the client
// opts in with a non-primary read preference, everything else (handshake, diagnostics,
// getMore, killCursors, sessions, test commands) always.
OnSecondary secondary_allowed(const CommandDef& def) {
  if (def.is_write) return OnSecondary::kNever;
  static constexpr std::string_view kOptIn[] = {"aggregate",       "collStats",      "count",     "dataSize",
                                                "dbHash",          "dbStats",        "distinct",  "explain",
                                                "find",            "getDefaultRWConcern", "listCollections",
                                                "listDatabases",   "listIndexes",    "rolesInfo", "usersInfo",
                                                "validate"};
  return std::find(std::begin(kOptIn), std::end(kOptIn), def.name) != std::end(kOptIn) ? OnSecondary::kOptIn
                                                                                        : OnSecondary::kAlways;
}

// ReadPreferenceSetting::canRunOnSecondary: any $readPreference mode but primary.
bool secondary_ok(const CommandRequest& req) {
  bson_iter_t it, mode;
  if (!common::find_field(req.body.get(), "$readPreference", &it) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
      !bson_iter_recurse(&it, &mode) || !bson_iter_find(&mode, "mode") || !BSON_ITER_HOLDS_UTF8(&mode)) {
    return false;
  }
  return std::string_view(bson_iter_utf8(&mode, nullptr)) != "primary";
}

}  // namespace

ReplState::ReplState(ServerState& state) : state_(state) {}

ReplState::~ReplState() { stop(); }

void ReplState::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable() && timer_.get_id() != std::this_thread::get_id()) timer_.join();
}

ReplState::Snapshot ReplState::snapshot() const {
  std::lock_guard lk(mu_);
  Snapshot s;
  s.primary = primary_;
  s.stepdown_until_ms = primary_ ? 0 : stepdown_until_ms_;
  s.election = election_;
  if (s.election.date_ms == 0) {
    // No engine (front-end tests): the election happened when the process started.
    int64_t start_s = state_.ctx.start_time_ms / 1000;
    s.election.op_ts = Timestamp{static_cast<uint32_t>(start_s), 1};
    s.election.date_ms = start_s * 1000;
    s.election.last_seen_ts = s.election.op_ts;
  }
  return s;
}

bool ReplState::writable_primary() const {
  std::lock_guard lk(mu_);
  return primary_;
}

void ReplState::record_start_election() {
  engine::Engine::OplogBounds b;
  if (!state_.engine || !state_.engine->oplog_bounds(&b) || b.count == 0) return;
  std::lock_guard lk(mu_);
  election_.term = state_.ctx.clock.term();
  election_.op_ts = b.last;
  election_.date_ms = b.last_wall_ms;
  // A fresh set: "initiating set" (written before any term) then the first "new primary".
  election_.last_seen_ts = b.count == 2 ? b.first : b.last;
  election_.last_seen_term = b.count == 2 ? -1 : election_.term;
}

Status ReplState::step_down(int64_t ms, bool close_connections, int64_t keep_connection) {
  std::lock_guard transition(transition_mu_);
  {
    std::lock_guard lk(mu_);
    if (!primary_) return Status(common::kNotWritablePrimary, "not primary so can't step down");
    primary_ = false;
    stepdown_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    stepdown_until_ms_ = now_ms() + ms;
    if (!timer_.joinable() && !stopping_) timer_ = std::thread([this] { timer_loop(); });
  }
  cv_.notify_all();
  MS_LOG_INFO("Stepping down from primary for {}ms (term {})", ms, state_.ctx.clock.term());
  if (state_.engine) state_.engine->on_step_down();
  state_.topology_changed();
  if (close_connections) {
    int n = state_.close_connections(keep_connection);
    MS_LOG_INFO("Closed {} client connection(s) on step-down", n);
  }
  return Status::OK();
}

Status ReplState::step_up(const std::string& reason) {
  std::lock_guard transition(transition_mu_);
  {
    std::lock_guard lk(mu_);
    if (primary_) return Status::OK();
  }
  Election e;
  e.reason = reason;
  e.last_seen_term = state_.ctx.clock.term();
  engine::Engine::OplogBounds before;
  if (state_.engine && state_.engine->oplog_bounds(&before)) e.last_seen_ts = before.last;
  e.term = e.last_seen_term + 1;
  state_.ctx.clock.set_term(e.term);
  // Drain mode: still not writable while the new term's first entry is written.
  if (state_.engine) state_.engine->on_step_up();
  engine::Engine::OplogBounds after;
  if (state_.engine && state_.engine->oplog_bounds(&after)) {
    e.op_ts = after.last;
    e.date_ms = after.last_wall_ms;
  } else {
    e.op_ts = state_.ctx.clock.tick();
    e.date_ms = now_ms();
  }
  {
    std::lock_guard lk(mu_);
    primary_ = true;
    election_ = e;
  }
  cv_.notify_all();
  MS_LOG_INFO("Transition to PRIMARY complete; election won ({}) in term {}", reason, e.term);
  state_.topology_changed();
  return Status::OK();
}

void ReplState::timer_loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    if (primary_) {
      cv_.wait(lk);
      continue;
    }
    if (std::chrono::steady_clock::now() < stepdown_until_) {
      cv_.wait_until(lk, stepdown_until_);
      continue;
    }
    // The step-down period is over and this member is the set's only electable node.
    lk.unlock();
    step_up("singleNodePromptElection");
    lk.lock();
  }
}

Status ReplState::check_can_run(const ClientInfo& client, const CommandRequest& req, const CommandDef& def) const {
  if (writable_primary() || req.db == "local") return Status::OK();
  bson_iter_t it;
  const bool in_transaction = common::find_field(req.body.get(), "autocommit", &it);
  const OnSecondary allowed = secondary_allowed(def);
  const bool could_opt_in = allowed == OnSecondary::kOptIn && !in_transaction;
  const bool can_run = !in_transaction && (allowed == OnSecondary::kAlways ||
                                           (allowed == OnSecondary::kOptIn && secondary_ok(req)));
  if (can_run) return Status::OK();
  // mongod words these by whether the client speaks `hello` (4.4 always said "master").
  bool hello = state_.ctx.options.version() >= 50 && client.supports_hello;
  if (could_opt_in) {
    return Status(common::kNotPrimaryNoSecondaryOk,
                  hello ? "not primary and secondaryOk=false" : "not master and slaveOk=false");
  }
  return Status(common::kNotWritablePrimary, hello ? "not primary" : "not master");
}

void ReplState::freeze_writes_for(int64_t ms) {
  {
    std::lock_guard lk(mu_);
    freeze_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<int64_t>(0, ms));
  }
  cv_.notify_all();
}

int64_t ReplState::writes_frozen_for_ms() const {
  std::lock_guard lk(mu_);
  auto left = freeze_until_ - std::chrono::steady_clock::now();
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count());
}

Status ReplState::wait_for_write_freeze(const CommandRequest& req) {
  std::unique_lock lk(mu_);
  auto now = std::chrono::steady_clock::now();
  if (freeze_until_ <= now) return Status::OK();
  bson_iter_t it;
  auto deadline = std::chrono::steady_clock::time_point::max();
  if (common::find_field(req.body.get(), "maxTimeMS", &it) && BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_int64(&it) > 0) {
    deadline = now + std::chrono::milliseconds(bson_iter_as_int64(&it));
  }
  while (!stopping_ && !state_.ctx.shutting_down.load()) {
    now = std::chrono::steady_clock::now();
    if (now >= freeze_until_) return Status::OK();
    if (now >= deadline) return Status(common::kMaxTimeMSExpired, "operation exceeded time limit");
    // Short slices: shutdown does not notify this condition variable.
    cv_.wait_until(lk, std::min({freeze_until_, deadline, now + std::chrono::milliseconds(200)}));
  }
  return Status::OK();
}

}  // namespace sim::server
