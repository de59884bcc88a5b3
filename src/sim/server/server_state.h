// ServerState: what the network layer shares between connections and the admin commands:
// operations in flight (currentOp/killOp), the topology-change wait of awaitable hello,
// the default read/write concern, the engine (once open), the fail points, the member's
// replica-set state and test faults (repl_state.h), and a way to close client connections.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/bson.h"
#include "sim/command.h"
#include "sim/server/failpoints.h"
#include "sim/server/repl_state.h"

namespace sim::engine {
class Engine;
}

namespace sim::server {

struct InFlightOp {
  int64_t opid = 0;
  int64_t connection_id = 0;
  std::string client;    // remote host:port
  std::string app_name;
  std::string ns;        // "<db>.$cmd"
  common::Bson command;
  common::Bson client_metadata;
  int64_t start_ms = 0;  // wall clock
  bool kill_requested = false;
};

class ServerState {
 public:
  explicit ServerState(ServerContext& ctx);
  ~ServerState();

  ServerContext& ctx;
  // Appends the engine's serverStatus sections; unset until the engine is open.
  std::function<void(bson_t*)> append_engine_status;
  // The database engine once it has started (main calls attach_engine); null in front-end
  // tests. Replication reporting and step-down/step-up go through it.
  engine::Engine* engine = nullptr;
  void attach_engine(engine::Engine* e);
  FailPointRegistry failpoints;

  // serverStatus.network and connections counters.
  std::atomic<int64_t> bytes_in{0}, bytes_out{0}, num_requests{0};
  std::atomic<int64_t> awaiting_topology_changes{0};
  // serverStatus.network.compression, per compressor id (0 noop .. 3 zstd):
  // [id][0] compressor bytesIn, [1] compressor bytesOut, [2] decompressor bytesIn, [3] bytesOut.
  std::atomic<int64_t> compression_bytes[4][4] = {};

  // Operations in flight; begin_op returns the opid.
  int64_t begin_op(const ClientInfo& client, const CommandRequest& req);
  void end_op(int64_t opid);
  std::vector<InFlightOp> ops() const;
  // Marks an operation for killing; false when no such op is running.
  bool request_kill(int64_t opid);

  // Bumps topologyVersion.counter and wakes awaitable hellos.
  void topology_changed();
  // Blocks until the topology counter differs from `seen`, shutdown starts, or `deadline`.
  void wait_topology_change(int64_t seen, std::chrono::steady_clock::time_point deadline);
  // Starts shutdown: sets ctx.shutting_down and wakes every waiter.
  void begin_shutdown();
  // Sleeps for `d` unless shutdown starts first (then returns false at once).
  bool sleep_for(std::chrono::milliseconds d);

  // Closes every client connection except connection `keep` (0: none kept); returns how
  // many were closed. The Listener installs the closer while it serves.
  int close_connections(int64_t keep);
  void set_connection_closer(std::function<int(int64_t)> closer);

  // Cluster-wide default read/write concern (setDefaultRWConcern); empty = implicit.
  struct DefaultRWConcern {
    common::Bson read_concern;   // {level: ...} when set
    common::Bson write_concern;  // {w: ..., wtimeout: ...} when set
    int64_t update_wall_ms = 0;  // when last changed
    Timestamp update_optime;
  };
  DefaultRWConcern default_rw_concern() const;
  void set_default_rw_concern(DefaultRWConcern c);

 private:
  mutable std::mutex mu_;
  std::condition_variable topology_cv_;
  int64_t next_opid_ = 1;
  std::map<int64_t, InFlightOp> ops_;
  DefaultRWConcern rw_;
  std::mutex closer_mu_;
  std::function<int(int64_t)> closer_;

 public:
  // Declared last: destroyed first, so its step-up timer never outlives the state it uses.
  ReplState repl{*this};
};

int64_t now_ms();

}  // namespace sim::server
