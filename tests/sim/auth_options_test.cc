// The --auth, --admin-user and --tls-* flags of mongosim's command line.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "sim/options.h"
#include "support/mongosim_process.h"

namespace {

common::Result<sim::ServerOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "mongosim");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return sim::parse_server_options(static_cast<int>(argv.size()), argv.data());
}

std::string existing_file() {
  static const std::string path = [] {
    std::string p = testsupport::make_temp_dir("auth-opts") + "/file.pem";
    std::ofstream(p) << "x";
    return p;
  }();
  return path;
}

TEST(AuthOptions, DefaultsAreNoAuthAndNoTls) {
  auto o = parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->auth);
  EXPECT_EQ(o->tls_mode, "disabled");
  EXPECT_TRUE(o->admin_user.empty());
}

TEST(AuthOptions, EveryAuthAndTlsFlagIsParsed) {
  auto o = parse({"--auth", "--admin-user", "boss", "--admin-password-file", existing_file(), "--tls-mode", "require",
                  "--tls-cert-key-file", existing_file(), "--tls-ca-file", existing_file(),
                  "--tls-allow-invalid-certificates", "--tls-require-client-cert"});
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_TRUE(o->auth);
  EXPECT_EQ(o->admin_user, "boss");
  EXPECT_EQ(o->tls_mode, "require");
  EXPECT_EQ(o->tls_cert_key_file, existing_file());
  EXPECT_TRUE(o->tls_allow_invalid_certificates);
  EXPECT_TRUE(o->tls_require_client_cert);
}

TEST(AuthOptions, BadValuesNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  for (const auto& c : std::vector<Case>{
           {{"--tls-mode", "sometimes"}, "--tls-mode"},
           {{"--tls-mode", "require"}, "--tls-cert-key-file"},
           {{"--tls-cert-key-file", "/nonexistent/x.pem", "--tls-mode", "allow"}, "--tls-cert-key-file"},
           {{"--tls-cert-key-file", existing_file()}, "--tls-cert-key-file"},
           {{"--tls-mode", "allow", "--tls-cert-key-file", existing_file(), "--tls-require-client-cert"},
            "--tls-require-client-cert"},
           {{"--admin-user", "boss"}, "--admin-password-file"},
           {{"--admin-password-file", existing_file()}, "--admin-user"},
       }) {
    auto o = parse(c.args);
    ASSERT_FALSE(o.ok()) << c.flag;
    EXPECT_EQ(o.status().code(), common::kBadValue);
    EXPECT_NE(o.status().message().find(c.flag), std::string::npos) << o.status().message();
  }
}

}  // namespace
