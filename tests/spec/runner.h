// The unified-test-format runner over libmongoc: loads a test file, creates entities, runs
// operations with command monitoring and checks expectations. One Runner per server.
#pragma once

#include <mongoc/mongoc.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bson_util.h"

namespace spec {

struct ServerInfo {
  std::string version;   // e.g. "7.0.12"
  std::string topology;  // "single", "replicaset", "sharded"
  bool auth = false;
};

struct TestOutcome {
  std::string description;
  enum Kind { kPass, kFail, kSkip } kind = kPass;
  std::string reason;  // failure or skip reason
};

struct FileOutcome {
  std::string load_error;  // non-empty: the file was rejected before running
  std::vector<TestOutcome> tests;
};

// Compares dotted version strings ("4.2.99" vs "7.0.0"), missing parts are 0.
int compare_versions(const std::string& a, const std::string& b);

class Runner {
 public:
  explicit Runner(std::string uri);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Connects the internal client and reads server version/topology. Empty on success.
  std::string connect();
  const ServerInfo& server() const { return server_; }
  // Drops every non-system database (between files, so files share no state).
  void reset_server();
  bool ping();
  FileOutcome run_file(const Doc& file, const std::string& filter = "");

 private:
  std::string uri_;
  mongoc_client_t* internal_ = nullptr;
  ServerInfo server_;
};

}  // namespace spec
