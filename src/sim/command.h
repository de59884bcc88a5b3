// The contract between mongosim's wire layer (server/) and the database engine (engine/):
// a registry of named commands, each a handler that reads a parsed request and appends its
// reply fields. The dispatcher adds `ok`, `$clusterTime` and `operationTime`, and turns a
// non-OK Status into the server's error reply ({ok: 0, errmsg, code, codeName,
// errorLabels?, ...extra_info}). Write commands report per-statement failures as
// `writeErrors` in an OK reply, exactly as the server does.
#pragma once

#include <bson/bson.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "sim/clock.h"
#include "sim/options.h"

namespace sim {

namespace auth {
class ClientSession;  // sim/auth/session.h
}

// One client connection, as hello/whatsmyuri/connectionStatus/currentOp see it.
struct ClientInfo {
  int64_t connection_id = 0;
  std::string remote;       // "127.0.0.1:54321"
  std::string local;        // "127.0.0.1:27017"
  common::Bson metadata;    // hello's `client` document
  std::string app_name;
  bool supports_hello = false;  // sent `hello` or helloOk: true (mongod's Client::supportsHello)
  std::vector<std::string> compressors;  // negotiated, in preference order
  // Authentication state (the logged-in user, a SASL conversation), created by sim/auth on
  // the connection's first command; query it through sim/auth/auth.h.
  std::shared_ptr<auth::ClientSession> auth;
};

struct CommandRequest {
  std::string name;         // the command name (first key of the body)
  std::string db;           // $db
  common::Bson body;        // the command, OP_MSG kind-1 sequences merged in as arrays
  bool unacknowledged = false;  // OP_MSG moreToCome: no reply is sent
};

class ServerContext;

// True for the generic arguments every command accepts ($db, lsid, txnNumber, autocommit,
// startTransaction, $clusterTime, $readPreference, readConcern, writeConcern, maxTimeMS,
// comment, apiVersion, apiStrict, apiDeprecationErrors, $client, ...). Commands that reject
// unknown fields (40415 "BSON field 'find.foo' is an unknown field.") skip these.
bool is_generic_argument(std::string_view field);

struct CommandContext {
  ServerContext& server;
  ClientInfo& client;
  const CommandRequest& req;
  const bson_t* body() const { return req.body.get(); }
};

// Appends the command's reply fields (not `ok`) to `reply`. A non-OK Status replaces the
// reply with an error reply.
using CommandHandler = std::function<common::Status(CommandContext&, bson_t* reply)>;

struct CommandDef {
  std::string name;
  std::vector<std::string> aliases;  // e.g. isMaster/ismaster for hello
  CommandHandler handler;
  bool admin_only = false;       // must run against the admin database (code 13 otherwise)
  bool is_write = false;         // a write: refused with NotWritablePrimary while stepped down
  bool requires_auth = true;     // false for hello, ping, saslStart, ... (issue 4)
  std::string help;              // one line, listed by listCommands
};

class CommandRegistry {
 public:
  void add(CommandDef def);
  // Case-sensitive, as the server's (except the registered aliases).
  const CommandDef* find(std::string_view name) const;
  std::vector<const CommandDef*> all() const;  // sorted by name

 private:
  std::vector<std::unique_ptr<CommandDef>> defs_;
  std::map<std::string, const CommandDef*, std::less<>> by_name_;
};

// Opcounters as serverStatus reports them.
struct OpCounters {
  std::atomic<int64_t> insert{0}, query{0}, update{0}, del{0}, getmore{0}, command{0};
};

// Process-wide services shared by every command.
class ServerContext {
 public:
  explicit ServerContext(ServerOptions opts) : options(std::move(opts)) {}
  const ServerOptions options;
  ClusterClock clock;
  CommandRegistry commands;
  OpCounters opcounters;
  std::atomic<int64_t> connections_current{0};
  std::atomic<int64_t> connections_total{0};
  int64_t start_time_ms = 0;
  // The host:port clients reach this server on (filled once listening).
  std::string host_and_port;
  // topologyVersion (§2.2): a fresh processId per start; the counter is bumped on every
  // topology change (step-down, reconfig), which also wakes awaitable hellos.
  bson_oid_t process_id{};
  std::atomic<int64_t> topology_counter{0};
  // Set once SIGTERM/SIGINT arrived; long waits (awaitable hello, awaitData) end early.
  std::atomic<bool> shutting_down{false};
  // The process's command line, for getCmdLineOpts.
  std::vector<std::string> argv;
  // Log lines kept for getLog (the newest 1024, each a JSON document).
  void add_log_line(std::string line);
  std::vector<std::string> recent_log() const;

 private:
  mutable std::mutex log_mu_;
  std::vector<std::string> log_ring_;
};

}  // namespace sim
