// Internal to the app module: the output channel every command prints through (it scrubs
// passwords and URIs) and the loaded task file with its connection specs.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "client/client.h"
#include "state/state_store.h"
#include "task/task_file.h"

namespace app {

class Io {
 public:
  Io(std::ostream& out, std::ostream& err, bool json) : out_(out), err_(err), json_(json) {}
  bool json() const { return json_; }
  void add_secret(const std::string& s) {
    if (s.size() >= 4) secrets_.push_back(s);
  }
  void print(const std::string& text) { out_ << scrub(text); }
  void print_json(const nlohmann::ordered_json& j) { out_ << scrub(j.dump(2)) << "\n"; }
  int fail(int code, const std::string& message) {
    err_ << "mongoshift: " << scrub(message) << "\n";
    return code;
  }

 private:
  std::string scrub(std::string text) const {
    for (const auto& s : secrets_) {
      for (size_t p = text.find(s); p != std::string::npos; p = text.find(s, p + 4)) text.replace(p, s.size(), "****");
    }
    return client::redact_uri(text);
  }
  std::ostream& out_;
  std::ostream& err_;
  bool json_;
  std::vector<std::string> secrets_;
};

struct Loaded {
  task::TaskFile task;
  client::ConnectSpec source, destination;
};

// Loads the task file and the passwords; prints the errors and returns kExitBadInput when
// anything is wrong.
int load(const std::string& path, Io& io, Loaded* out);

// Registers the task file in the store (by absolute path, with its redacted text).
common::Result<state::TaskRecord> register_task(state::StateStore& store, const std::string& path,
                                                const task::TaskFile& task);

// The task-running commands (run_commands.cc).
int cmd_run(const std::string& path, const std::string& state_dir, bool terminal, Io& io);
int cmd_status(const std::string& path, const std::string& state_dir, Io& io);
int cmd_throttle(const std::string& path, const std::string& state_dir, int64_t rps, int64_t mbps, int64_t source_qps,
                 bool incremental, Io& io);
int cmd_pause(const std::string& path, const std::string& state_dir, Io& io);

}  // namespace app
