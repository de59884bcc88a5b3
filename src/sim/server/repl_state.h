// ReplState: this member's role in its one-member replica set, as mongod's replication
// coordinator plays it (src/mongo/db/repl/replication_coordinator_impl.cpp,
// topology_coordinator.cpp), and the test faults that act on every command.
//
// A member is PRIMARY until it steps down (replSetStepDown or the test control command);
// then it is SECONDARY for the step-down period: hello says isWritablePrimary: false,
// secondary: true, without `primary` or `electionId`; writes fail with NotWritablePrimary
// (10107) and reads without a secondary read preference with NotPrimaryNoSecondaryOk
// (13435), as mongod's command dispatch refuses them. Open transactions are aborted and the
// topology version moves on. When the period ends the member, alone in its set, wins an
// election at once (_handleTimePassing's single-node prompt election): term + 1, a
// "new primary" no-op in the oplog, PRIMARY again, topology version moved on.
//
// Test faults: a delay added to every reply, and a write freeze during which writes wait
// (bounded by their maxTimeMS) and then proceed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "sim/clock.h"
#include "sim/command.h"

namespace sim::server {

class ServerState;

class ReplState {
 public:
  explicit ReplState(ServerState& state);
  ~ReplState();
  ReplState(const ReplState&) = delete;
  ReplState& operator=(const ReplState&) = delete;

  // The last election this member won (replSetGetStatus electionCandidateMetrics and
  // members[0].electionTime/electionDate).
  struct Election {
    std::string reason = "electionTimeout";
    int64_t term = 1;
    Timestamp op_ts;           // its "new primary" entry
    int64_t date_ms = 0;       // wall clock of that entry
    Timestamp last_seen_ts;    // newest optime before the election
    int64_t last_seen_term = -1;
  };
  struct Snapshot {
    bool primary = true;            // PRIMARY and accepting writes
    int64_t stepdown_until_ms = 0;  // while SECONDARY: when the step-down period ends
    Election election;
  };
  Snapshot snapshot() const;
  bool writable_primary() const;

  // The election the engine's start-up "new primary" entry stands for; called once the
  // engine has started (its newest oplog entry is that no-op).
  void record_start_election();

  // Steps down to SECONDARY for `ms` milliseconds (NotWritablePrimary when not primary).
  // `close_connections`: every client connection but `keep_connection` is closed.
  common::Status step_down(int64_t ms, bool close_connections, int64_t keep_connection);
  // Wins an election now (`reason` as replSetGetStatus reports it); a no-op when primary.
  common::Status step_up(const std::string& reason);

  // The check mongod's command dispatch makes before running a command on a member that is
  // not primary (NotPrimaryNoSecondaryOk / NotWritablePrimary; the local database is exempt).
  common::Status check_can_run(const ClientInfo& client, const CommandRequest& req, const CommandDef& def) const;

  // Write freeze: writes arriving before `until` wait for it. 0 ms clears it.
  void freeze_writes_for(int64_t ms);
  int64_t writes_frozen_for_ms() const;
  // Waits out a write freeze; MaxTimeMSExpired (50) when the command's maxTimeMS ends first.
  common::Status wait_for_write_freeze(const CommandRequest& req);

  // Delay added to every reply (0: none).
  void set_reply_delay_ms(int64_t ms) { reply_delay_ms_.store(ms < 0 ? 0 : ms); }
  int64_t reply_delay_ms() const { return reply_delay_ms_.load(); }

  // Stops the step-up timer (shutdown): a member still stepped down stays SECONDARY.
  void stop();

 private:
  void timer_loop();

  ServerState& state_;
  std::mutex transition_mu_;  // one step-down or election at a time (taken before mu_)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool primary_ = true;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stepdown_until_{};
  int64_t stepdown_until_ms_ = 0;
  Election election_;
  std::chrono::steady_clock::time_point freeze_until_{};
  std::atomic<int64_t> reply_delay_ms_{0};
  std::thread timer_;
};

}  // namespace sim::server
