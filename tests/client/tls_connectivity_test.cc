// TLS diagnosis against mongosim with a test PKI: verified, wrong CA, wrong host name, TLS
// required but off, TLS on but not offered, client certificate required.
#include <gtest/gtest.h>

#include "client/connectivity.h"
#include "support/certs.h"
#include "support/mongosim_process.h"

namespace {

using client::Failure;

class TlsConnectivity : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = testsupport::TestCertificates::create(testsupport::make_temp_dir("tls-pki"));
    ASSERT_TRUE(c.ok()) << c.status().message();
    certs_ = *c;
  }
  std::unique_ptr<testsupport::MongosimProcess> sim(const std::string& mode, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tls-mode", mode, "--tls-cert-key-file", certs_.server_pem, "--tls-ca-file",
                                     certs_.ca_file};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = testsupport::MongosimProcess::start(args);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::make_unique<testsupport::MongosimProcess>(std::move(p).value()) : nullptr;
  }
  client::ConnectSpec spec(const std::string& host_port, bool tls) {
    client::ConnectSpec s;
    s.uri = "mongodb://" + host_port + "/?directConnection=true";
    s.connect_timeout_ms = 3000;
    s.tls = tls;
    if (tls) s.tls_ca_file = certs_.ca_file;
    return s;
  }
  static const client::Step* step(const client::ConnectivityReport& r, const std::string& name) {
    for (const auto& s : r.steps) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }
  testsupport::TestCertificates certs_;
};

TEST_F(TlsConnectivity, VerifiedCertificatePassesEveryStep) {
  auto s = sim("require");
  ASSERT_TRUE(s);
  auto r = client::test_connectivity(spec(s->host_port(), true));
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_TRUE(step(r, "tls"));
  EXPECT_EQ(step(r, "tls")->status, client::StepStatus::kPassed);
  EXPECT_NE(step(r, "tls")->detail.find("(verified)"), std::string::npos) << step(r, "tls")->detail;
  EXPECT_EQ(r.server.topology, client::Topology::kReplicaSet);
}

TEST_F(TlsConnectivity, CertificateFromAnotherCaIsRejected) {
  auto s = sim("require");
  ASSERT_TRUE(s);
  auto sp = spec(s->host_port(), true);
  sp.tls_ca_file = certs_.other_ca_file;
  auto r = client::test_connectivity(sp);
  EXPECT_EQ(r.failure, Failure::kCertificate);
  EXPECT_EQ(r.message.rfind("the certificate of " + s->host_port() + " was rejected: ", 0), 0u) << r.message;
  EXPECT_NE(r.message.find("set tls.ca_file"), std::string::npos);
}

TEST_F(TlsConnectivity, CertificateForAnotherHostIsRejectedUnlessAllowed) {
  auto s = sim("require", {"--bind", "0.0.0.0"});
  ASSERT_TRUE(s);
  // The certificate names localhost, 127.0.0.1 and ::1, not 127.0.0.2.
  std::string other = "127.0.0.2:" + std::to_string(s->port());
  auto r = client::test_connectivity(spec(other, true));
  EXPECT_EQ(r.failure, Failure::kCertificate) << r.message;
  EXPECT_NE(r.message.find("the certificate does not name 127.0.0.2"), std::string::npos) << r.message;
  auto allowed = spec(other, true);
  allowed.tls_allow_invalid_hostnames = true;
  auto ok = client::test_connectivity(allowed);
  EXPECT_EQ(step(ok, "tls")->status, client::StepStatus::kPassed) << ok.message;
}

TEST_F(TlsConnectivity, TlsRequiredButOff) {
  auto s = sim("require");
  ASSERT_TRUE(s);
  auto r = client::test_connectivity(spec(s->host_port(), false));
  EXPECT_EQ(r.failure, Failure::kTlsRequired) << r.message;
  EXPECT_EQ(r.message, s->host_port() + " requires TLS, but TLS is off for this endpoint (set tls.enabled: true)");
}

TEST_F(TlsConnectivity, TlsOnButTheServerDoesNotSpeakIt) {
  auto p = testsupport::MongosimProcess::start();
  ASSERT_TRUE(p.ok());
  auto r = client::test_connectivity(spec(p->host_port(), true));
  EXPECT_EQ(r.failure, Failure::kTlsNotOffered) << r.message;
  EXPECT_NE(r.message.find(p->host_port() + " does not speak TLS"), std::string::npos) << r.message;
}

TEST_F(TlsConnectivity, ClientCertificateRequired) {
  auto s = sim("require", {"--tls-require-client-cert"});
  ASSERT_TRUE(s);
  auto r = client::test_connectivity(spec(s->host_port(), true));
  EXPECT_EQ(r.failure, Failure::kClientCertificate) << r.message;
  EXPECT_NE(r.message.find(s->host_port()), std::string::npos);
  EXPECT_NE(r.message.find("tls.cert_key_file"), std::string::npos) << r.message;
  auto with_cert = spec(s->host_port(), true);
  with_cert.tls_cert_key_file = certs_.client_pem;
  auto ok = client::test_connectivity(with_cert);
  EXPECT_TRUE(ok.ok()) << ok.message;
}

}  // namespace
