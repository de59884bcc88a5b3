// MongosimProcess: starts a real `mongosim` process on port 0 in a fresh temp dir for a test,
// reads its "mongosim listening on HOST:PORT" line, and stops it (SIGTERM, then SIGKILL) when
// destroyed. Tests talk only to uri(), so the same suites run against a real server when
// MONGOSHIFT_TEST_URI is set (see external_uri()).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace testsupport {

class MongosimProcess {
 public:
  // Starts build/bin/mongosim with `args` (e.g. {"--server-version", "4.4"}) plus --port 0
  // and --dbpath <tempdir> unless args name them.
  static common::Result<MongosimProcess> start(std::vector<std::string> args = {});

  MongosimProcess(MongosimProcess&& o) noexcept;
  MongosimProcess& operator=(MongosimProcess&&) = delete;
  MongosimProcess(const MongosimProcess&) = delete;
  ~MongosimProcess();

  const std::string& host_port() const { return host_port_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dbpath() const { return dbpath_; }
  // mongodb://HOST:PORT/?replicaSet=rs0 (or directConnection=true for --standalone).
  std::string uri() const;
  // Sends SIGTERM and waits; returns the exit status (as from waitpid's WEXITSTATUS) or -1.
  int stop();
  // SIGKILL, no cleanup (for crash tests).
  void kill9();
  // Everything the process wrote to stderr so far (its log).
  std::string log() const;

 private:
  MongosimProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string host_port_;
  std::string dbpath_;
  std::string tempdir_;
  std::string log_path_;
  bool standalone_ = false;
  std::string replset_ = "rs0";
};

// Path of the mongosim binary under test (MONGOSIM_BIN env overrides the build's).
std::string mongosim_binary();
// A server URI given by the environment (MONGOSHIFT_TEST_URI), or empty.
std::string external_uri();
// Makes a fresh temp directory under $TMPDIR (or /tmp).
std::string make_temp_dir(const std::string& prefix);

}  // namespace testsupport
