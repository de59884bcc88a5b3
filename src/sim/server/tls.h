// TLS for mongosim's listener (OpenSSL): the server context built from --tls-cert-key-file,
// --tls-ca-file, --tls-allow-invalid-certificates and --tls-require-client-cert, and one
// TLS stream per accepted connection. The handshake runs on the connection's own thread, so
// a slow or silent client never holds up the accept loop.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "sim/options.h"

namespace sim::server {

enum class TlsMode { kDisabled, kAllow, kPrefer, kRequire };
TlsMode tls_mode_of(const ServerOptions& o);

class TlsStream {
 public:
  explicit TlsStream(SSL* ssl) : ssl_(ssl) {}
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Like recv/send on a blocking socket: bytes moved, 0 on a clean close, -1 on error.
  long read(char* buf, size_t n);
  long write(const char* buf, size_t n);
  // The client certificate's subject ("CN=client,O=..."), empty when none was presented.
  std::string peer_subject() const;

 private:
  SSL* ssl_;
};

class TlsContext {
 public:
  // nullptr (and OK) with --tls-mode disabled; an error naming the file when the
  // certificate, key or CA cannot be loaded.
  static common::Result<std::unique_ptr<TlsContext>> create(const ServerOptions& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  TlsMode mode() const { return mode_; }
  // Server handshake on a connected blocking socket.
  common::Result<std::unique_ptr<TlsStream>> accept(int fd);

 private:
  TlsContext(SSL_CTX* ctx, TlsMode mode) : ctx_(ctx), mode_(mode) {}
  SSL_CTX* ctx_;
  TlsMode mode_;
};

// The first byte of a TLS connection (a handshake record); mongod's allow/prefer modes tell
// TLS from plain connections this way.
constexpr unsigned char kTlsHandshakeRecord = 0x16;

}  // namespace sim::server
