// A source and a destination mongosim for precheck and CLI tests: started on port 0 in temp
// dirs (optionally with --auth and a root user), seeded through the client layer, and a task
// file written for them.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "support/mongosim_process.h"

namespace simpair {

constexpr const char* kRootPassword = "root-pw-for-tests";

struct Sim {
  std::unique_ptr<testsupport::MongosimProcess> proc;
  bool auth = false;
  std::string dir;

  std::string uri() const { return proc->uri(); }
  std::string host_port() const { return proc->host_port(); }

  // A connection as root (with --auth) or anonymous.
  client::ConnectSpec spec(const std::string& user = "", const std::string& password = "") const {
    client::ConnectSpec s;
    s.uri = uri();
    s.connect_timeout_ms = 5000;
    if (!user.empty() || auth) {
      s.username = user.empty() ? "root" : user;
      s.auth_source = "admin";
      s.password = user.empty() ? kRootPassword : password;
    }
    return s;
  }

  // Runs a command written as extended JSON; fails the test on error.
  common::Bson run(const std::string& db, const std::string& json) const {
    auto cmd = common::Bson::from_json(json);
    EXPECT_TRUE(cmd.ok()) << json;
    auto c = client::Connection::open(spec());
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (!c.ok() || !cmd.ok()) return {};
    auto r = c->run(db, cmd->get());
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().message();
    return r.ok() ? std::move(r).value() : common::Bson();
  }

  void insert(const std::string& db, const std::string& coll, const std::vector<std::string>& docs) const {
    std::string json = "{\"insert\": \"" + coll + "\", \"documents\": [";
    for (size_t i = 0; i < docs.size(); ++i) json += (i ? "," : "") + docs[i];
    run(db, json + "]}");
  }

  // A user on admin with the given roles (a JSON array).
  void create_user(const std::string& name, const std::string& password, const std::string& roles) const {
    run("admin", "{\"createUser\": \"" + name + "\", \"pwd\": \"" + password + "\", \"roles\": " + roles + "}");
  }
};

inline std::unique_ptr<Sim> start(std::vector<std::string> args = {}, bool auth = false) {
  auto sim = std::make_unique<Sim>();
  sim->dir = testsupport::make_temp_dir("simpair");
  sim->auth = auth;
  if (auth) {
    std::string pwfile = sim->dir + "/root.pw";
    std::ofstream(pwfile) << kRootPassword << "\n";
    args.insert(args.end(), {"--auth", "--admin-user", "root", "--admin-password-file", pwfile});
  }
  auto p = testsupport::MongosimProcess::start(args);
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (!p.ok()) return nullptr;
  sim->proc = std::make_unique<testsupport::MongosimProcess>(std::move(p).value());
  return sim;
}

// A task file naming `src` and `dst` (URIs; users and passwords optional) plus `extra` YAML.
struct TaskSides {
  std::string source_uri, destination_uri;
  std::string source_user, destination_user;  // passwords come from SRC_PW / DST_PW
};

inline std::string task_yaml(const TaskSides& s, const std::string& extra) {
  std::string y = "source:\n  uri: '" + s.source_uri + "'\n  connect_timeout_seconds: 5\n";
  if (!s.source_user.empty()) y += "  user: " + s.source_user + "\n  auth_db: admin\n  password_env: SRC_PW\n";
  y += "destination:\n  uri: '" + s.destination_uri + "'\n  connect_timeout_seconds: 5\n";
  if (!s.destination_user.empty()) y += "  user: " + s.destination_user + "\n  auth_db: admin\n  password_env: DST_PW\n";
  return y + extra;
}

}  // namespace simpair
