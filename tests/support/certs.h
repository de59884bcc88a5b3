// TestCertificates: a throw-away PKI for TLS tests, made at test time with the openssl
// command-line tool in a directory of the test's own: a CA, a server certificate for
// localhost/127.0.0.1/::1, a client certificate signed by the same CA, and a second,
// unrelated CA (for "wrong CA" checks). PEM files; the server and client files hold the
// certificate followed by its private key, as mongod's and libmongoc's options expect.
#pragma once

#include <string>

#include "common/status.h"

namespace testsupport {

struct TestCertificates {
  std::string dir;
  std::string ca_file;          // the CA certificate
  std::string server_pem;       // server certificate + key (--tls-cert-key-file)
  std::string client_pem;       // client certificate + key (tlsCertificateKeyFile)
  std::string other_ca_file;    // a CA that signed nothing here
  std::string client_subject;   // the client certificate's subject, "CN=mongoshift-test-client,O=mongoshift"

  // Generates everything under `dir` (created when missing). Fails with the openssl
  // output when the tool is missing or a step fails.
  static common::Result<TestCertificates> create(const std::string& dir);
};

}  // namespace testsupport
