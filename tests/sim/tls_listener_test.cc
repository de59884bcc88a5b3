// TLS through the real listener (in process, port 0) with libmongoc as the client: a CA-
// verified connection works, a wrong CA fails with a certificate error, require mode refuses
// plain clients, allow mode serves both, client certificates are verified against the CA.
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <csignal>
#include <memory>
#include <thread>

#include "sim/command.h"
#include "sim/options.h"
#include "sim/server/admin_commands.h"
#include "sim/server/dispatcher.h"
#include "sim/server/listener.h"
#include "sim/server/server_state.h"
#include "sim/server/tls.h"
#include "support/certs.h"
#include "support/mongosim_process.h"

namespace {

const testsupport::TestCertificates& certs() {
  static const testsupport::TestCertificates kCerts = [] {
    auto c = testsupport::TestCertificates::create(testsupport::make_temp_dir("tls-certs"));
    if (!c.ok()) {
      ADD_FAILURE() << c.status().to_string();
      return testsupport::TestCertificates{};
    }
    return *c;
  }();
  return kCerts;
}

// A listener with the admin commands only (enough for hello and ping).
class TlsServer {
 public:
  explicit TlsServer(sim::ServerOptions o) : ctx(std::move(o)), state(ctx), dispatcher(state), listener(state, dispatcher) {
    bson_oid_init(&ctx.process_id, nullptr);
    ctx.start_time_ms = sim::server::now_ms();
    sim::server::register_admin_commands(state, ctx.commands);
    bind_status = listener.bind("127.0.0.1", 0);
    if (bind_status.ok()) thread = std::thread([this] { listener.run(); });
  }
  ~TlsServer() {
    listener.stop();
    if (thread.joinable()) thread.join();
  }
  std::string port() const { return ctx.host_and_port.substr(ctx.host_and_port.rfind(':') + 1); }

  sim::ServerContext ctx;
  sim::server::ServerState state;
  sim::server::Dispatcher dispatcher;
  sim::server::Listener listener;
  common::Status bind_status;
  std::thread thread;
};

sim::ServerOptions tls_options(const std::string& mode) {
  sim::ServerOptions o;
  o.tls_mode = mode;
  o.tls_cert_key_file = certs().server_pem;
  return o;
}

// Runs ping through libmongoc; "" on success, else the driver's error message.
std::string ping(const std::string& uri_text) {
  bson_error_t error;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(uri_text.c_str(), &error);
  if (!uri) return std::string("bad uri: ") + error.message;
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  mongoc_uri_destroy(uri);
  bson_t* cmd = BCON_NEW("ping", BCON_INT32(1));
  bson_t reply;
  bool ok = mongoc_client_command_simple(client, "admin", cmd, nullptr, &reply, &error);
  bson_destroy(&reply);
  bson_destroy(cmd);
  mongoc_client_destroy(client);
  return ok ? "" : error.message;
}

std::string uri(const TlsServer& s, const std::string& extra) {
  return "mongodb://127.0.0.1:" + s.port() + "/?directConnection=true&serverSelectionTimeoutMS=3000&connectTimeoutMS=3000" + extra;
}

class TlsListener : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::signal(SIGPIPE, SIG_IGN);  // a refused client must not end the test process
    mongoc_init();
  }
  void SetUp() override { ASSERT_FALSE(certs().ca_file.empty()); }
};

TEST_F(TlsListener, CaVerifiedConnectionWorks) {
  TlsServer s(tls_options("require"));
  ASSERT_TRUE(s.bind_status.ok()) << s.bind_status.to_string();
  EXPECT_EQ(ping(uri(s, "&tls=true&tlsCAFile=" + certs().ca_file)), "");
}

TEST_F(TlsListener, WrongCaFailsWithACertificateError) {
  TlsServer s(tls_options("require"));
  ASSERT_TRUE(s.bind_status.ok());
  std::string err = ping(uri(s, "&tls=true&tlsCAFile=" + certs().other_ca_file));
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err.find("certificate"), std::string::npos) << err;
}

TEST_F(TlsListener, RequireModeRefusesPlainClients) {
  TlsServer s(tls_options("require"));
  ASSERT_TRUE(s.bind_status.ok());
  EXPECT_FALSE(ping(uri(s, "")).empty());
}

TEST_F(TlsListener, AllowAndPreferModesServeTlsAndPlain) {
  for (const char* mode : {"allow", "prefer"}) {
    TlsServer s(tls_options(mode));
    ASSERT_TRUE(s.bind_status.ok());
    EXPECT_EQ(ping(uri(s, "")), "") << mode;
    EXPECT_EQ(ping(uri(s, "&tls=true&tlsCAFile=" + certs().ca_file)), "") << mode;
  }
}

TEST_F(TlsListener, DisabledModeDoesNotSpeakTls) {
  sim::ServerOptions o;
  TlsServer s(o);
  ASSERT_TRUE(s.bind_status.ok());
  EXPECT_EQ(ping(uri(s, "")), "");
  EXPECT_FALSE(ping(uri(s, "&tls=true&tlsCAFile=" + certs().ca_file)).empty());
}

TEST_F(TlsListener, ClientCertificatesAreVerifiedAgainstTheCa) {
  auto o = tls_options("require");
  o.tls_ca_file = certs().ca_file;
  o.tls_require_client_cert = true;
  TlsServer s(o);
  ASSERT_TRUE(s.bind_status.ok()) << s.bind_status.to_string();
  EXPECT_FALSE(ping(uri(s, "&tls=true&tlsCAFile=" + certs().ca_file)).empty());
  EXPECT_EQ(ping(uri(s, "&tls=true&tlsCAFile=" + certs().ca_file + "&tlsCertificateKeyFile=" + certs().client_pem)), "");
  // Presented but optional: still verified.
  auto optional = tls_options("require");
  optional.tls_ca_file = certs().other_ca_file;
  TlsServer t(optional);
  ASSERT_TRUE(t.bind_status.ok());
  EXPECT_EQ(ping(uri(t, "&tls=true&tlsCAFile=" + certs().ca_file)), "");
  EXPECT_FALSE(ping(uri(t, "&tls=true&tlsCAFile=" + certs().ca_file + "&tlsCertificateKeyFile=" + certs().client_pem)).empty());
  optional.tls_allow_invalid_certificates = true;
  TlsServer u(optional);
  ASSERT_TRUE(u.bind_status.ok());
  EXPECT_EQ(ping(uri(u, "&tls=true&tlsCAFile=" + certs().ca_file + "&tlsCertificateKeyFile=" + certs().client_pem)), "");
}

TEST_F(TlsListener, UnloadableCertificateIsAClearStartError) {
  auto o = tls_options("require");
  o.tls_cert_key_file = certs().ca_file;  // a certificate without its key
  TlsServer s(o);
  EXPECT_FALSE(s.bind_status.ok());
  EXPECT_NE(s.bind_status.message().find("--tls-cert-key-file"), std::string::npos) << s.bind_status.to_string();
}

}  // namespace
