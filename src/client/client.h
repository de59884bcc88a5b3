// The MongoDB client layer over libmongoc, used by every phase: connection pools, a command
// runner that returns the server's code, message and error labels as a common::Status, and
// the one place errors are classified (connection / transient / fatal, see
// docs/architecture.md "Errors and retries"). Passwords live only in ConnectSpec and in
// libmongoc; every URI this layer prints is redacted.
#pragma once

#include <mongoc/mongoc.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"

namespace client {

struct ConnectSpec {
  std::string uri;       // mongodb:// or mongodb+srv://, without a password
  // Applied over the URI's own options when set.
  std::string username;
  std::string auth_source;
  std::string password;  // empty: none (kept in memory only, never printed)
  std::optional<bool> tls;
  std::string tls_ca_file;
  std::string tls_cert_key_file;
  bool tls_allow_invalid_hostnames = false;
  int connect_timeout_ms = 10000;  // also bounds server selection
  int socket_timeout_ms = 0;       // 0: libmongoc's default
  int max_pool_size = 16;
  std::string app_name = "mongoshift";
};

// The URI with any password replaced by "****" (for output and logs).
std::string redact_uri(std::string_view uri);

// Parses spec.uri with libmongoc and applies the credentials, TLS options and timeouts. The caller owns the
// result (mongoc_uri_destroy). Errors are BadValue with libmongoc's reason.
common::Result<mongoc_uri_t*> make_uri(const ConnectSpec& spec);

// How a failure is handled (classified once, here):
//   kConnection: network errors, not-primary, shutdown — retried within the task's
//                connection retry window;
//   kTransient:  write conflicts, time limits, retryable labels — retried within the
//                "other issues" window;
//   kFatal:      authentication, authorization, bad values, lost history — the task fails.
enum class ErrorClass { kConnection, kTransient, kFatal };
ErrorClass classify(const common::Status& status);
const char* to_string(ErrorClass c);

// A libmongoc error (and the server's reply, when there was one) as a Status: server errors
// keep their code, codeName and errorLabels; driver errors get the matching MongoDB code
// (HostNotFound, HostUnreachable, NetworkTimeout, SocketException, AuthenticationFailed...).
common::Status status_from_error(const bson_error_t& error, const bson_t* reply);

class Pool;

// One client: checked out of a Pool (returned to it when destroyed), or a single-threaded
// client of its own (Connection::open), which fails fast when no server answers.
class Connection {
 public:
  static common::Result<Connection> open(const ConnectSpec& spec);
  // Wraps a client owned elsewhere (error API 2 must be set on it); never destroys it.
  static Connection borrow(mongoc_client_t* c) { return Connection(nullptr, c, false); }
  Connection(Connection&& o) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  ~Connection();

  // Runs `command` on `db` (primary read preference). The reply on success.
  common::Result<common::Bson> run(std::string_view db, const bson_t* command);
  // Runs a command that returns a cursor (find, aggregate, listCollections, listIndexes...)
  // and drains it; `limit` > 0 stops after that many documents.
  common::Result<std::vector<common::Bson>> run_cursor(std::string_view db, const bson_t* command, size_t limit = 0);

  mongoc_client_t* raw() const { return client_; }

 private:
  friend class Pool;
  Connection(Pool* pool, mongoc_client_t* c, bool owned) : pool_(pool), client_(c), owned_(owned) {}
  Pool* pool_;  // null: client_ is owned or borrowed
  mongoc_client_t* client_;
  bool owned_;
};

class Pool {
 public:
  static common::Result<std::unique_ptr<Pool>> open(const ConnectSpec& spec);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Blocks while every client is checked out.
  Connection acquire();
  const std::string& redacted_uri() const { return redacted_uri_; }
  mongoc_client_pool_t* raw() const { return pool_; }

 private:
  friend class Connection;
  Pool() = default;
  mongoc_client_pool_t* pool_ = nullptr;
  std::string redacted_uri_;
};

}  // namespace client
