// Test PKI through the openssl CLI (no link-time dependency for test suites that use it).
#include "support/certs.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace testsupport {

namespace {

common::Status run_openssl(const std::string& dir, const std::string& args) {
  std::string log = dir + "/openssl.log";
  std::string cmd = "cd '" + dir + "' && openssl " + args + " >>'" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc == 0) return common::Status::OK();
  std::ifstream f(log);
  std::stringstream ss;
  ss << f.rdbuf();
  return common::Status(common::kInternalError, "openssl " + args + " failed (status " + std::to_string(rc) + "): " + ss.str());
}

common::Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  return f ? common::Status::OK() : common::Status(common::kInternalError, "cannot write " + path);
}

common::Status concat(const std::string& out, const std::string& a, const std::string& b) {
  std::ifstream fa(a), fb(b);
  std::stringstream ss;
  ss << fa.rdbuf() << fb.rdbuf();
  return write_file(out, ss.str());
}

// A CA key and self-signed certificate: ca.key/ca.pem with prefix `name`.
common::Status make_ca(const std::string& dir, const std::string& name, const std::string& cn) {
  return run_openssl(dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 -keyout " + name +
                              ".key -out " + name + ".pem -subj '/CN=" + cn + "/O=mongoshift' -addext "
                              "'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'");
}

// A leaf key + certificate signed by ca.pem, with extensions from `ext`; <name>.pem holds
// the certificate followed by the key.
common::Status make_leaf(const std::string& dir, const std::string& name, const std::string& subject, const std::string& ext) {
  if (auto st = write_file(dir + "/" + name + ".ext", ext); !st.ok()) return st;
  if (auto st = run_openssl(dir, "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
                                     ".key -out " + name + ".csr -subj '" + subject + "'");
      !st.ok()) {
    return st;
  }
  if (auto st = run_openssl(dir, "x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 -out " +
                                     name + ".crt -extfile " + name + ".ext");
      !st.ok()) {
    return st;
  }
  return concat(dir + "/" + name + ".pem", dir + "/" + name + ".crt", dir + "/" + name + ".key");
}

}  // namespace

common::Result<TestCertificates> TestCertificates::create(const std::string& dir) {
  ::mkdir(dir.c_str(), 0700);
  TestCertificates c;
  c.dir = dir;
  if (auto st = make_ca(dir, "ca", "mongoshift-test-ca"); !st.ok()) return st;
  if (auto st = make_ca(dir, "other-ca", "mongoshift-unrelated-ca"); !st.ok()) return st;
  if (auto st = make_leaf(dir, "server", "/CN=localhost/O=mongoshift",
                          "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                          "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
      !st.ok()) {
    return st;
  }
  if (auto st = make_leaf(dir, "client", "/CN=mongoshift-test-client/O=mongoshift",
                          "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
      !st.ok()) {
    return st;
  }
  c.ca_file = dir + "/ca.pem";
  c.other_ca_file = dir + "/other-ca.pem";
  c.server_pem = dir + "/server.pem";
  c.client_pem = dir + "/client.pem";
  c.client_subject = "CN=mongoshift-test-client,O=mongoshift";
  return c;
}

}  // namespace testsupport
