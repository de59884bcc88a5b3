// ServerOptions: every mongosim flag, with its default, in one place (documented in --help
// and docs/mongosim.md).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "mql/context.h"

namespace sim {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 27017;                  // 0 = pick a free port
  std::string dbpath;                // empty = in memory only
  std::string replset = "rs0";       // replica-set name; empty with standalone
  bool standalone = false;           // answer as a standalone mongod (no oplog, no setName)
  std::string server_version = "7.0";  // 4.4, 5.0, 6.0, 7.0, 8.0
  bool enable_test_commands = false;
  int ttl_monitor_sleep_secs = 60;   // ttlMonitorSleepSecs
  int cursor_timeout_minutes = 10;   // idle cursors die after this (unless noCursorTimeout)
  int max_connections = 1000;
  std::string log_level = "info";

  // Replication surface (sim/engine/oplog.h).
  int64_t oplog_size_mb = 1024;          // local.oplog.rs is capped at this many MiB of entries
  int periodic_noop_interval_secs = 10;  // a "periodic noop" entry after this long without writes

  // Access control (sim/auth): --auth enforces privileges; users persist in --dbpath.
  bool auth = false;
  std::string admin_user;            // created at start as root on admin (with admin_password_file)
  std::string admin_password_file;   // the password, one line

  // TLS (sim/server/tls.h). tls_mode: disabled, allow, prefer or require.
  std::string tls_mode = "disabled";
  std::string tls_cert_key_file;     // PEM with the server certificate and its private key
  std::string tls_ca_file;           // PEM of the CAs that sign client certificates
  bool tls_allow_invalid_certificates = false;  // accept client certificates that do not verify
  bool tls_require_client_cert = false;         // refuse TLS clients without a certificate

  // 44, 50, 60, 70, 80 (see mql::ServerVersion).
  mql::ServerVersion version() const;
  // maxWireVersion for the emulated release (4.4 → 9, 5.0 → 13, 6.0 → 17, 7.0 → 21, 8.0 → 25).
  int max_wire_version() const;
  // Full release string reported by buildInfo ("7.0.14").
  std::string full_version() const;
};

// Parses argv. On --help prints usage and returns a Status with code 0 message "help".
// Bad flags → BadValue naming the flag (main exits 2).
common::Result<ServerOptions> parse_server_options(int argc, char** argv);

}  // namespace sim
