// ServerState: what the network layer shares between connections and the admin commands:
// operations in flight (currentOp/killOp), the topology-change wait of awaitable hello,
// the default read/write concern, and the engine's serverStatus hook.
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

  ServerContext& ctx;
  // Appends the engine's serverStatus sections; unset until the engine is open.
  std::function<void(bson_t*)> append_engine_status;

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
};

int64_t now_ms();

}  // namespace sim::server
