// The mongoshift command line without a server: commands offered, exit codes, the one clear
// message for bad input, JSON vs tables, passwords never printed, the state store.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "app/cli_process.h"
#include "state/state_store.h"
#include "support/mongosim_process.h"

namespace {

using apptest::run_mongoshift;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testsupport::make_temp_dir("cli"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
};

TEST_F(CliTest, HelpListsOnlyTheCommandsThatWork) {
  auto r = run_mongoshift({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"plan", "test-connection", "precheck", "--state-dir", "--version"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
  // The subcommands section lists exactly the commands that work today.
  std::vector<std::string> commands;
  auto at = r.out.find("Subcommands:\n");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::stringstream lines(r.out.substr(at + 13));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
      commands.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  EXPECT_EQ(commands, (std::vector<std::string>{"plan", "test-connection", "precheck", "run", "status", "throttle", "pause",
                                                "resume", "stop"}));
  auto verify = run_mongoshift({"verify", "--task", "x.yaml"});
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_EQ(verify.err,
            "mongoshift: unknown command 'verify' (commands: plan, test-connection, precheck, run, status, throttle, pause, "
            "resume, stop; see --help)\n");
}

TEST_F(CliTest, VersionPrintsTheRelease) {
  auto r = run_mongoshift({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("mongoshift ", 0), 0u);
}

TEST_F(CliTest, BadFlagsExitTwo) {
  EXPECT_EQ(run_mongoshift({"plan"}).exit_code, 2);  // --task is required
  EXPECT_EQ(run_mongoshift({"--bogus"}).exit_code, 2);
  EXPECT_EQ(run_mongoshift({"precheck", "--task", "t.yaml", "--nope"}).exit_code, 2);
  EXPECT_EQ(run_mongoshift({"--log-level", "loud", "plan", "--task", "t"}).exit_code, 2);
}

TEST_F(CliTest, BadTaskFileExitsTwoNamingFieldAndLine) {
  std::string path = write("t.yaml", "source: {uri: 'mongodb://s'}\ndestination: {uri: 'mongodb://d'}\nretry:\n  other_minutes: 0\n");
  for (const char* cmd : {"plan", "test-connection", "precheck"}) {
    auto r = run_mongoshift({cmd, "--task", path}, {}, dir_);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_EQ(r.err, "mongoshift: " + path + ":4: retry.other_minutes: 0 is out of range 1..1440\n") << cmd;
    EXPECT_TRUE(r.out.empty());
  }
  // Nothing was recorded for a task file that does not load.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/.mongoshift"));
}

TEST_F(CliTest, UnreachableEndpointsFailWithJsonWhenNotATerminal) {
  std::string path = write("t.yaml",
                           "source:\n  uri: mongodb://127.0.0.1:1/?directConnection=true\n  connect_timeout_seconds: 2\n"
                           "destination:\n  host: no-such-host.invalid\n");
  auto r = run_mongoshift({"test-connection", "--task", path});
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_EQ(j["source"]["failure"], "refused");
  EXPECT_EQ(j["destination"]["failure"], "resolution");
  EXPECT_EQ(r.err,
            "mongoshift: source: connection refused by 127.0.0.1:1 (is the server running and listening on that port?); "
            "destination: " + j["destination"]["message"].get<std::string>() + "\n");
}

TEST_F(CliTest, TablesOnATerminal) {
  std::string path = write("t.yaml", "source: {uri: 'mongodb://127.0.0.1:1/'}\ndestination: {uri: 'mongodb://127.0.0.1:1/'}\n");
  auto r = run_mongoshift({"test-connection", "--task", path}, {}, "", true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("STEP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tcp"), std::string::npos);
  EXPECT_EQ(r.out.find("{"), std::string::npos);
  auto forced = run_mongoshift({"test-connection", "--task", path, "--json"}, {}, "", true);
  EXPECT_NE(forced.out.find("\"failure\": \"refused\""), std::string::npos) << forced.out;
}

TEST_F(CliTest, PasswordsNeverAppearInAnyOutputOrTheStateStore) {
  const std::string secret = "Sup3r-S3cret-PW";
  write("pw", secret + "\n");
  std::string path = write("t.yaml", "source:\n  host: 127.0.0.1\n  port: 1\n  user: alice\n  password_env: SRC_PW\n"
                                     "destination:\n  host: 127.0.0.1\n  port: 1\n  user: bob\n  password_file: " +
                                         dir_ + "/pw\n");
  std::map<std::string, std::string> env{{"SRC_PW", secret}};
  for (const char* cmd : {"plan", "test-connection", "precheck"}) {
    for (bool terminal : {false, true}) {
      auto r = run_mongoshift({"--log-level", "trace", cmd, "--task", path, "--state-dir", dir_ + "/state"}, env, "",
                              terminal);
      EXPECT_EQ(r.out.find(secret), std::string::npos) << cmd << r.out;
      EXPECT_EQ(r.err.find(secret), std::string::npos) << cmd << r.err;
      EXPECT_NE(r.exit_code, 0) << cmd;
    }
  }
  std::ifstream db(dir_ + "/state/state.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
}

TEST_F(CliTest, IgnoreWarningAcceptsOnlyKnownWarnings) {
  std::string path = write("t.yaml", "source: {uri: 'mongodb://127.0.0.1:1/'}\ndestination: {uri: 'mongodb://127.0.0.1:1/'}\n");
  auto unknown = run_mongoshift({"precheck", "--task", path, "--ignore-warning", "no.such.item"}, {}, dir_);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err.rfind("mongoshift: --ignore-warning no.such.item: no such precheck item (items: source.connectivity, ", 0),
            0u)
      << unknown.err;
  auto error_item = run_mongoshift({"precheck", "--task", path, "--ignore-warning", "source.privileges"}, {}, dir_);
  EXPECT_EQ(error_item.exit_code, 2);
  EXPECT_EQ(error_item.err, "mongoshift: --ignore-warning source.privileges: this item is an error, not a warning; it "
                            "must be fixed, it cannot be ignored\n");
  // destination.conflicts is an error under precheck_and_report, a warning under ignore_and_proceed.
  EXPECT_EQ(run_mongoshift({"precheck", "--task", path, "--ignore-warning", "destination.conflicts"}, {}, dir_).exit_code, 2);
  std::string ignore_mode = write("i.yaml", "source: {uri: 'mongodb://127.0.0.1:1/'}\ndestination: {uri: "
                                            "'mongodb://127.0.0.1:1/'}\nconflict_mode: ignore_and_proceed\n");
  EXPECT_EQ(run_mongoshift({"precheck", "--task", ignore_mode, "--ignore-warning", "destination.conflicts"}, {}, dir_).exit_code,
            1);
}

TEST_F(CliTest, PrecheckRecordsResultsStateAndIgnoredWarnings) {
  std::string path = write("t.yaml", "name: orders\nsource: {uri: 'mongodb://127.0.0.1:1/'}\n"
                                     "destination: {uri: 'mongodb://127.0.0.1:1/'}\n");
  auto r = run_mongoshift({"precheck", "--task", path, "--ignore-warning", "hosts.clock_skew"}, {}, dir_);
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_EQ(j["task"]["name"], "orders");
  bool ignored_seen = false;
  for (const auto& item : j["items"]) {
    if (item["id"] == "hosts.clock_skew") ignored_seen = item["ignored"].get<bool>();
    if (item["id"] == "source.connectivity") {
      EXPECT_EQ(item["status"], "failed");
    }
  }
  EXPECT_TRUE(ignored_seen);
  auto store = state::StateStore::open(dir_ + "/.mongoshift").value();  // the default --state-dir, in the cwd
  auto task = store->get_task(j["task"]["id"].get<std::string>()).value();
  EXPECT_EQ(task.state, state::TaskState::kPrecheckFailed);
  auto last = store->last_precheck(task.id).value();
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->passed);
  EXPECT_EQ(last->items.size(), j["items"].size());
  EXPECT_EQ(store->ignored_warnings(task.id).value(), std::set<std::string>{"hosts.clock_skew"});
  // The ignore is remembered by the next run without the flag.
  auto again = run_mongoshift({"precheck", "--task", path}, {}, dir_);
  auto j2 = nlohmann::json::parse(again.out);
  EXPECT_EQ(j2["task"]["id"], j["task"]["id"]);
  for (const auto& item : j2["items"]) {
    if (item["id"] == "hosts.clock_skew") {
      EXPECT_TRUE(item["ignored"].get<bool>());
    }
  }
  auto transitions = store->transitions(task.id).value();
  EXPECT_EQ(transitions.size(), 4u);  // prechecking → failed, twice
}

TEST_F(CliTest, ASecondProcessOnTheSameTaskGetsInUseByPid) {
  std::string path = write("t.yaml", "name: busy\nsource: {uri: 'mongodb://127.0.0.1:1/'}\n"
                                     "destination: {uri: 'mongodb://127.0.0.1:1/'}\n");
  // Register the task and hold its lock here, as a running precheck (or migration) would.
  auto store = state::StateStore::open(dir_ + "/state").value();
  std::string abs = std::filesystem::weakly_canonical(path).string();
  auto rec = store->register_task(abs, "busy", "x").value();
  auto lock = store->lock_task(rec);
  ASSERT_TRUE(lock.ok());
  auto r = run_mongoshift({"precheck", "--task", path, "--state-dir", dir_ + "/state"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "mongoshift: task busy (" + rec.id + ") in state store " + dir_ + "/state is in use by pid " +
                       std::to_string(getpid()) + "\n");
}

}  // namespace
