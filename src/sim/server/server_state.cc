// ServerState: operations in flight, topology-change waits, default read/write concern.
#include "sim/server/server_state.h"

namespace sim::server {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ServerState::ServerState(ServerContext& c) : ctx(c) {}

ServerState::~ServerState() { repl.stop(); }

void ServerState::attach_engine(engine::Engine* e) {
  engine = e;
  repl.record_start_election();
}

int64_t ServerState::begin_op(const ClientInfo& client, const CommandRequest& req) {
  std::lock_guard<std::mutex> lk(mu_);
  InFlightOp op;
  op.opid = next_opid_++;
  op.connection_id = client.connection_id;
  op.client = client.remote;
  op.app_name = client.app_name;
  op.ns = req.db + ".$cmd";
  // currentOp shows the command; a large one (an insert batch) is summarized instead of
  // copied, as mongod truncates big commands in currentOp.
  if (req.body.size() <= 16 * 1024) {
    op.command = req.body;
  } else {
    bson_t summary;
    bson_init(&summary);
    bson_iter_t it;
    if (bson_iter_init(&it, req.body.get()) && bson_iter_next(&it)) bson_append_iter(&summary, nullptr, 0, &it);
    common::append_utf8(&summary, "$db", req.db);
    bson_append_bool(&summary, "$truncated", -1, true);
    op.command = common::Bson::steal(&summary);
  }
  op.client_metadata = client.metadata;
  op.start_ms = now_ms();
  int64_t id = op.opid;
  ops_.emplace(id, std::move(op));
  return id;
}

void ServerState::end_op(int64_t opid) {
  std::lock_guard<std::mutex> lk(mu_);
  ops_.erase(opid);
}

std::vector<InFlightOp> ServerState::ops() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<InFlightOp> out;
  for (const auto& [id, op] : ops_) out.push_back(op);
  return out;
}

bool ServerState::request_kill(int64_t opid) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = ops_.find(opid);
  if (it == ops_.end()) return false;
  it->second.kill_requested = true;
  return true;
}

void ServerState::topology_changed() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ctx.topology_counter.fetch_add(1);
  }
  topology_cv_.notify_all();
}

void ServerState::wait_topology_change(int64_t seen, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lk(mu_);
  // Short slices so that a counter bumped by code that does not notify (the engine writes
  // ctx.topology_counter directly) is still noticed promptly.
  while (std::chrono::steady_clock::now() < deadline) {
    if (ctx.shutting_down.load() || ctx.topology_counter.load() != seen) return;
    auto slice = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
    topology_cv_.wait_until(lk, slice);
  }
}

void ServerState::begin_shutdown() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ctx.shutting_down.store(true);
  }
  topology_cv_.notify_all();
  repl.stop();
}

bool ServerState::sleep_for(std::chrono::milliseconds d) {
  auto deadline = std::chrono::steady_clock::now() + d;
  std::unique_lock<std::mutex> lk(mu_);
  while (!ctx.shutting_down.load()) {
    if (std::chrono::steady_clock::now() >= deadline) return true;
    topology_cv_.wait_until(lk, deadline);
  }
  return false;
}

int ServerState::close_connections(int64_t keep) {
  std::lock_guard<std::mutex> lk(closer_mu_);
  return closer_ ? closer_(keep) : 0;
}

void ServerState::set_connection_closer(std::function<int(int64_t)> closer) {
  std::lock_guard<std::mutex> lk(closer_mu_);
  closer_ = std::move(closer);
}

ServerState::DefaultRWConcern ServerState::default_rw_concern() const {
  std::lock_guard<std::mutex> lk(mu_);
  return rw_;
}

void ServerState::set_default_rw_concern(DefaultRWConcern c) {
  std::lock_guard<std::mutex> lk(mu_);
  rw_ = std::move(c);
}

}  // namespace sim::server
