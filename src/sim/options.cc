// mongosim's command line: every ServerOptions field as a flag (CLI11), and the
// version-dependent constants derived from --server-version.
#include "sim/options.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <set>
#include <string_view>

namespace sim {

namespace {

struct VersionInfo {
  std::string_view name;
  mql::ServerVersion version;
  int max_wire;
  const char* full;
};

// maxWireVersion per release (mongodb-reference.md §2.3); the patch release is a recent one
// of each series so tools that parse buildInfo.version see a realistic string.
constexpr VersionInfo kVersions[] = {
    {"4.4", 44, 9, "4.4.29"},
    {"5.0", 50, 13, "5.0.30"},
    {"6.0", 60, 17, "6.0.19"},
    {"7.0", 70, 21, "7.0.14"},
    {"8.0", 80, 25, "8.0.4"},
};

// On every command's path (version() decides reply shapes): names are string_views, so a
// comparison is a length check and a 3-byte memcmp, not a strlen.
const VersionInfo& info_for(const std::string& v) {
  for (const auto& i : kVersions) {
    if (v == i.name) return i;
  }
  return kVersions[3];  // parse_server_options only admits the listed names
}

}  // namespace

mql::ServerVersion ServerOptions::version() const { return info_for(server_version).version; }
int ServerOptions::max_wire_version() const { return info_for(server_version).max_wire; }
std::string ServerOptions::full_version() const { return info_for(server_version).full; }

common::Result<ServerOptions> parse_server_options(int argc, char** argv) {
  ServerOptions o;
  CLI::App app{"mongosim: a simulator of a MongoDB replica-set primary (or standalone mongod).\n"
               "Prints 'mongosim listening on HOST:PORT' as its first stdout line, serves until\n"
               "SIGTERM/SIGINT, then exits 0. Logs go to stderr.",
               "mongosim"};
  app.option_defaults()->always_capture_default();
  app.add_option("--port", o.port, "TCP port to listen on; 0 picks a free port")->check(CLI::Range(0, 65535));
  app.add_option("--bind,--bind_ip", o.bind, "Address to listen on (IPv4 or IPv6 literal, or a host name)");
  app.add_option("--dbpath", o.dbpath, "Directory for persistent data; empty keeps everything in memory");
  auto* rs = app.add_option("--replset,--replSet", o.replset, "Replica-set name to answer as (default rs0)");
  auto* sa = app.add_flag("--standalone", o.standalone,
                          "Answer as a standalone mongod: no setName, no oplog, no $clusterTime");
  rs->excludes(sa);
  sa->excludes(rs);
  app.add_option("--server-version", o.server_version,
                 "MongoDB release to emulate: wire version, buildInfo and version-dependent behaviour")
      ->check(CLI::IsMember(std::set<std::string>{"4.4", "5.0", "6.0", "7.0", "8.0"}));
  app.add_flag("--enable-test-commands", o.enable_test_commands,
               "Enable test-only commands (configureFailPoint, ...), like mongod's enableTestCommands");
  app.add_option("--ttl-monitor-sleep-secs", o.ttl_monitor_sleep_secs, "Seconds between TTL monitor passes")
      ->check(CLI::Range(1, 86400 * 365));
  app.add_option("--cursor-timeout-minutes", o.cursor_timeout_minutes,
                 "Idle cursors are killed after this many minutes (unless noCursorTimeout)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--max-connections", o.max_connections, "Maximum simultaneous client connections")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--oplog-size-mb", o.oplog_size_mb,
                 "Size cap of local.oplog.rs in MiB; the oldest entries are truncated past it")
      ->check(CLI::Range(int64_t{1}, int64_t{1024} * 1024));
  app.add_option("--periodic-noop-interval-secs", o.periodic_noop_interval_secs,
                 "Seconds without writes after which the primary writes a 'periodic noop' oplog entry")
      ->check(CLI::Range(1, 3600));
  app.add_option("--log-level", o.log_level, "Log level on stderr")
      ->check(CLI::IsMember(std::set<std::string>{"trace", "debug", "info", "warn", "error", "critical", "off"}));

  app.add_flag("--auth", o.auth, "Require authentication and enforce each command's privileges (SCRAM-SHA-1/256)");
  auto* au = app.add_option("--admin-user", o.admin_user,
                            "Create this user (role root on admin) at start unless it exists; needs --admin-password-file");
  auto* ap = app.add_option("--admin-password-file", o.admin_password_file,
                            "File holding the --admin-user password (first line; never logged)");
  au->needs(ap);
  ap->needs(au);
  app.add_option("--tls-mode", o.tls_mode,
                 "disabled, allow (TLS and plain), prefer (same, as mongod's preferTLS) or require (plain connections are closed)")
      ->check(CLI::IsMember(std::set<std::string>{"disabled", "allow", "prefer", "require"}));
  app.add_option("--tls-cert-key-file", o.tls_cert_key_file, "PEM file with the server certificate and private key")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-ca-file", o.tls_ca_file, "PEM file of the CAs that client certificates are verified against")
      ->check(CLI::ExistingFile);
  app.add_flag("--tls-allow-invalid-certificates", o.tls_allow_invalid_certificates,
               "Accept client certificates that fail verification");
  app.add_flag("--tls-require-client-cert", o.tls_require_client_cert,
               "Refuse TLS clients that present no certificate (needs --tls-ca-file)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::fflush(stdout);
    return common::Status(common::kOK, "help");
  } catch (const CLI::ParseError& e) {
    return common::Status(common::kBadValue, e.what());
  }
  if (o.standalone) o.replset.clear();
  if (!o.standalone && o.replset.empty()) {
    return common::Status(common::kBadValue, "--replset: the replica-set name cannot be empty");
  }
  if (o.tls_mode != "disabled" && o.tls_cert_key_file.empty()) {
    return common::Status(common::kBadValue, "--tls-mode " + o.tls_mode + " needs --tls-cert-key-file");
  }
  if (o.tls_mode == "disabled" && (!o.tls_cert_key_file.empty() || !o.tls_ca_file.empty())) {
    return common::Status(common::kBadValue, "--tls-cert-key-file/--tls-ca-file need --tls-mode allow, prefer or require");
  }
  if (o.tls_require_client_cert && o.tls_ca_file.empty()) {
    return common::Status(common::kBadValue, "--tls-require-client-cert needs --tls-ca-file");
  }
  if (!o.admin_user.empty() && o.admin_user.find('\0') != std::string::npos) {
    return common::Status(common::kBadValue, "--admin-user: the name cannot contain NUL characters");
  }
  return o;
}

}  // namespace sim
