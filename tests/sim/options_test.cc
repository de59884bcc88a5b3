// Tests of mongosim's command line (sim/options.h).
#include "sim/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

common::Result<sim::ServerOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "mongosim");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return sim::parse_server_options(static_cast<int>(argv.size()), argv.data());
}

TEST(ServerOptions, DefaultsAreAReplicaSetNamedRs0On7_0) {
  auto o = parse({});
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->replset, "rs0");
  EXPECT_FALSE(o->standalone);
  EXPECT_EQ(o->server_version, "7.0");
  EXPECT_EQ(o->max_wire_version(), 21);
  EXPECT_EQ(o->bind, "127.0.0.1");
  EXPECT_EQ(o->port, 27017);
  EXPECT_EQ(o->max_connections, 1000);
}

TEST(ServerOptions, EveryFlagIsParsed) {
  auto o = parse({"--port", "0", "--bind", "::1", "--dbpath", "/tmp/x", "--replset", "myset", "--server-version",
                  "5.0", "--enable-test-commands", "--ttl-monitor-sleep-secs", "3", "--cursor-timeout-minutes", "2",
                  "--max-connections", "7", "--log-level", "debug"});
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(o->port, 0);
  EXPECT_EQ(o->bind, "::1");
  EXPECT_EQ(o->dbpath, "/tmp/x");
  EXPECT_EQ(o->replset, "myset");
  EXPECT_EQ(o->server_version, "5.0");
  EXPECT_TRUE(o->enable_test_commands);
  EXPECT_EQ(o->ttl_monitor_sleep_secs, 3);
  EXPECT_EQ(o->cursor_timeout_minutes, 2);
  EXPECT_EQ(o->max_connections, 7);
  EXPECT_EQ(o->log_level, "debug");
}

TEST(ServerOptions, StandaloneHasNoReplicaSetName) {
  auto o = parse({"--standalone"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->standalone);
  EXPECT_TRUE(o->replset.empty());
}

TEST(ServerOptions, StandaloneAndReplsetExcludeEachOther) {
  auto o = parse({"--standalone", "--replset", "x"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), common::kBadValue);
}

TEST(ServerOptions, UnknownFlagIsNamedInTheError) {
  auto o = parse({"--frobnicate"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), common::kBadValue);
  EXPECT_NE(o.status().message().find("--frobnicate"), std::string::npos) << o.status().message();
}

TEST(ServerOptions, UnsupportedServerVersionIsRefused) {
  auto o = parse({"--server-version", "3.6"});
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("--server-version"), std::string::npos) << o.status().message();
}

TEST(ServerOptions, BadPortValueIsRefused) {
  auto o = parse({"--port", "abc"});
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("--port"), std::string::npos) << o.status().message();
}

TEST(ServerOptions, WireVersionFollowsServerVersion) {
  const std::pair<const char*, int> expected[] = {{"4.4", 9}, {"5.0", 13}, {"6.0", 17}, {"7.0", 21}, {"8.0", 25}};
  for (auto [v, wire] : expected) {
    auto o = parse({"--server-version", v});
    ASSERT_TRUE(o.ok()) << v;
    EXPECT_EQ(o->max_wire_version(), wire) << v;
    EXPECT_EQ(o->full_version().rfind(v, 0), 0u) << o->full_version();
  }
  auto o = parse({"--server-version", "6.0"});
  EXPECT_EQ(o->version(), 60);
}

TEST(ServerOptions, HelpReturnsCodeZero) {
  testing::internal::CaptureStdout();
  auto o = parse({"--help"});
  std::string out = testing::internal::GetCapturedStdout();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), 0);
  for (const char* flag : {"--port", "--bind", "--dbpath", "--replset", "--standalone", "--server-version",
                           "--enable-test-commands", "--ttl-monitor-sleep-secs", "--cursor-timeout-minutes",
                           "--max-connections", "--log-level"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
