// OpenSSL server context and per-connection streams.
#include "sim/server/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string>

namespace sim::server {

using common::Result;
using common::Status;

namespace {

std::string openssl_errors() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

// --tls-allow-invalid-certificates: a presented certificate is accepted whatever its chain.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

TlsMode tls_mode_of(const ServerOptions& o) {
  if (o.tls_mode == "allow") return TlsMode::kAllow;
  if (o.tls_mode == "prefer") return TlsMode::kPrefer;
  if (o.tls_mode == "require") return TlsMode::kRequire;
  return TlsMode::kDisabled;
}

TlsStream::~TlsStream() {
  if (ssl_) {
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
}

long TlsStream::read(char* buf, size_t n) {
  size_t got = 0;
  int rc = SSL_read_ex(ssl_, buf, n, &got);
  if (rc == 1) return static_cast<long>(got);
  int err = SSL_get_error(ssl_, rc);
  ERR_clear_error();
  return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

long TlsStream::write(const char* buf, size_t n) {
  size_t put = 0;
  int rc = SSL_write_ex(ssl_, buf, n, &put);
  if (rc == 1) return static_cast<long>(put);
  ERR_clear_error();
  return -1;
}

std::string TlsStream::peer_subject() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return "";
  char buf[512] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf - 1);
  X509_free(cert);
  return buf;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsContext>> TlsContext::create(const ServerOptions& o) {
  TlsMode mode = tls_mode_of(o);
  if (mode == TlsMode::kDisabled) return std::unique_ptr<TlsContext>();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status(common::kInternalError, "cannot create the TLS context: " + openssl_errors());
  std::unique_ptr<TlsContext> out(new TlsContext(ctx, mode));
  // mongod disables TLS 1.0 by default; 1.1 is below OpenSSL 3's default security level.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  if (SSL_CTX_use_certificate_chain_file(ctx, o.tls_cert_key_file.c_str()) != 1) {
    return Status(common::kBadValue, "--tls-cert-key-file " + o.tls_cert_key_file + ": cannot load the certificate: " +
                                         openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.tls_cert_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return Status(common::kBadValue, "--tls-cert-key-file " + o.tls_cert_key_file +
                                         ": cannot load a private key matching the certificate: " + openssl_errors());
  }
  if (!o.tls_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.tls_ca_file.c_str(), nullptr) != 1) {
      return Status(common::kBadValue, "--tls-ca-file " + o.tls_ca_file + ": cannot load the CA certificates: " +
                                           openssl_errors());
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    int verify = SSL_VERIFY_PEER;
    if (o.tls_require_client_cert) verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, verify, o.tls_allow_invalid_certificates ? accept_any_certificate : nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return out;
}

Result<std::unique_ptr<TlsStream>> TlsContext::accept(int fd) {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return Status(141, "SSL_new failed: " + openssl_errors());
  auto stream = std::make_unique<TlsStream>(ssl);
  if (SSL_set_fd(ssl, fd) != 1) return Status(141, "SSL_set_fd failed: " + openssl_errors());
  if (SSL_accept(ssl) != 1) {
    std::string why = openssl_errors();
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) why += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    return Status(141, "SSL handshake failed: " + why);  // SSLHandshakeFailed
  }
  return stream;
}

}  // namespace sim::server
