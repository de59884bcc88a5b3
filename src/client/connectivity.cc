// The step-by-step connectivity diagnosis. Resolution, TCP and TLS are probed directly
// (getaddrinfo, a non-blocking connect, an OpenSSL handshake) because libmongoc folds them
// into one "No suitable servers found" error; authentication, version and topology come from
// libmongoc itself, so they behave exactly as the migration's own connections will.
#include "client/connectivity.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <optional>

namespace client {

const char* to_string(Topology t) {
  switch (t) {
    case Topology::kUnknown: return "unknown";
    case Topology::kStandalone: return "standalone";
    case Topology::kReplicaSet: return "replica_set";
    case Topology::kSharded: return "sharded";
  }
  return "?";
}

const char* to_string(Failure f) {
  switch (f) {
    case Failure::kNone: return "none";
    case Failure::kResolution: return "resolution";
    case Failure::kRefused: return "refused";
    case Failure::kTimeout: return "timeout";
    case Failure::kUnreachable: return "unreachable";
    case Failure::kTlsRequired: return "tls_required";
    case Failure::kTlsNotOffered: return "tls_not_offered";
    case Failure::kCertificate: return "certificate";
    case Failure::kClientCertificate: return "client_certificate";
    case Failure::kAuthentication: return "authentication";
    case Failure::kNotAuthorized: return "not_authorized";
    case Failure::kProtocol: return "protocol";
    case Failure::kOther: return "other";
  }
  return "?";
}

const char* to_string(StepStatus s) {
  switch (s) {
    case StepStatus::kPassed: return "passed";
    case StepStatus::kFailed: return "failed";
    case StepStatus::kSkipped: return "skipped";
  }
  return "?";
}

int version_number(const std::vector<int>& v) {
  if (v.size() < 2) return v.empty() ? 0 : v[0] * 10;
  return v[0] * 10 + v[1];
}

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

struct Host {
  std::string host;
  uint16_t port = 27017;
  bool unix_socket = false;
  std::string text() const { return unix_socket ? host : host + ":" + std::to_string(port); }
  std::vector<sockaddr_storage> addrs;
  std::vector<socklen_t> addr_lens;
};

std::vector<Host> hosts_of(const mongoc_uri_t* uri) {
  std::vector<Host> out;
  for (const mongoc_host_list_t* h = mongoc_uri_get_hosts(uri); h; h = h->next) {
    Host host;
    host.host = h->host;
    host.port = h->port;
    host.unix_socket = h->family == AF_UNIX;
    out.push_back(std::move(host));
  }
  return out;
}

std::string gai_message(int rc) { return rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc); }

// ---- TCP ---------------------------------------------------------------------------------

struct TcpOutcome {
  Failure failure = Failure::kNone;
  std::string detail;
  const sockaddr_storage* addr = nullptr;
  socklen_t addr_len = 0;
  int64_t elapsed_ms = 0;
};

int connect_with_deadline(const sockaddr* sa, socklen_t len, Clock::time_point deadline, int* err) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (connect(fd, sa, len) == 0) return fd;
  if (errno != EINPROGRESS) {
    *err = errno;
    close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int rc;
  do {
    rc = poll(&p, 1, remaining_ms(deadline));
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) {
    *err = ETIMEDOUT;
    close(fd);
    return -1;
  }
  int so_err = 0;
  socklen_t sl = sizeof so_err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &sl);
  if (rc < 0 || so_err != 0) {
    *err = rc < 0 ? errno : so_err;
    close(fd);
    return -1;
  }
  return fd;
}

TcpOutcome tcp_probe(const Host& h, Clock::time_point deadline, int timeout_ms) {
  TcpOutcome out;
  auto start = Clock::now();
  int last_err = 0;
  for (size_t i = 0; i < h.addrs.size(); ++i) {
    int err = 0;
    int fd = connect_with_deadline(reinterpret_cast<const sockaddr*>(&h.addrs[i]), h.addr_lens[i], deadline, &err);
    if (fd >= 0) {
      close(fd);
      out.addr = &h.addrs[i];
      out.addr_len = h.addr_lens[i];
      out.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      return out;
    }
    last_err = err;
    if (err == ETIMEDOUT) break;
  }
  if (last_err == ECONNREFUSED) {
    out.failure = Failure::kRefused;
    out.detail = "connection refused by " + h.text() + " (is the server running and listening on that port?)";
  } else if (last_err == ETIMEDOUT) {
    out.failure = Failure::kTimeout;
    out.detail = "connection to " + h.text() + " timed out after " + std::to_string(timeout_ms) +
                 " ms (is a firewall or an IP allowlist dropping it?)";
  } else if (last_err == ENETUNREACH || last_err == EHOSTUNREACH) {
    out.failure = Failure::kUnreachable;
    out.detail = "no route to " + h.text() + ": " + std::strerror(last_err);
  } else {
    out.failure = Failure::kOther;
    out.detail = "cannot connect to " + h.text() + ": " + std::strerror(last_err);
  }
  return out;
}

// ---- TLS ---------------------------------------------------------------------------------

struct TlsConfig {
  std::string ca_file, cert_key_file;
  bool allow_invalid_hostnames = false;
  bool allow_invalid_certificates = false;
};

struct TlsOutcome {
  Failure failure = Failure::kNone;
  std::string detail;
};

std::string openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : buf;
  }
  return out;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// Waits for the socket to be readable or writable as OpenSSL asks; false on timeout.
bool wait_ssl(SSL* ssl, int fd, int rc, Clock::time_point deadline) {
  int e = SSL_get_error(ssl, rc);
  short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
  if (!events) return false;
  pollfd p{fd, events, 0};
  int r;
  do {
    r = poll(&p, 1, remaining_ms(deadline));
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

TlsOutcome tls_probe(const Host& h, const sockaddr_storage* addr, socklen_t len, const TlsConfig& cfg,
                     Clock::time_point deadline) {
  TlsOutcome out;
  int err = 0;
  int fd = connect_with_deadline(reinterpret_cast<const sockaddr*>(addr), len, deadline, &err);
  if (fd < 0) {
    out.failure = err == ETIMEDOUT ? Failure::kTimeout : Failure::kOther;
    out.detail = "cannot connect to " + h.text() + " for TLS: " + std::strerror(err);
    return out;
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // verified below, to say why
  if (!cfg.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, cfg.ca_file.c_str(), nullptr) != 1) {
      out.failure = Failure::kCertificate;
      out.detail = "cannot load the CA file " + cfg.ca_file + ": " + openssl_errors();
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  if (out.failure == Failure::kNone && !cfg.cert_key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_key_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg.cert_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      out.failure = Failure::kClientCertificate;
      out.detail = "cannot load the client certificate " + cfg.cert_key_file + ": " + openssl_errors();
    }
  }
  SSL* ssl = nullptr;
  if (out.failure == Failure::kNone) {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (!is_ip_literal(h.host)) SSL_set_tlsext_host_name(ssl, h.host.c_str());
    if (!cfg.allow_invalid_hostnames) SSL_set1_host(ssl, h.host.c_str());
    int rc;
    bool timed_out = false;
    while ((rc = SSL_connect(ssl)) != 1) {
      if (!wait_ssl(ssl, fd, rc, deadline)) {
        timed_out = SSL_get_error(ssl, rc) == SSL_ERROR_WANT_READ || SSL_get_error(ssl, rc) == SSL_ERROR_WANT_WRITE;
        break;
      }
    }
    if (rc != 1) {
      std::string why = openssl_errors();
      if (timed_out) {
        out.failure = Failure::kTimeout;
        out.detail = "TLS handshake with " + h.text() + " timed out";
      } else if (why.find("alert") != std::string::npos) {
        out.failure = Failure::kClientCertificate;
        out.detail = h.text() + " refused the TLS handshake (" + why + ")" +
                     (cfg.cert_key_file.empty() ? ": it may require a client certificate (tls.cert_key_file)"
                                                : ": it rejected the client certificate");
      } else {
        out.failure = Failure::kTlsNotOffered;
        out.detail = h.text() + " does not speak TLS (" + (why.empty() ? "connection closed" : why) +
                     "): is TLS enabled on the server?";
      }
    } else {
      long v = SSL_get_verify_result(ssl);
      bool name_mismatch = v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH;
      if (v != X509_V_OK && !cfg.allow_invalid_certificates && !(cfg.allow_invalid_hostnames && name_mismatch)) {
        out.failure = Failure::kCertificate;
        std::string fix = name_mismatch
                              ? " (the certificate does not name " + h.host + "; or set tls.allow_invalid_hostnames)"
                              : " (set tls.ca_file to the CA that signed the server's certificate)";
        out.detail = "the certificate of " + h.text() + " was rejected: " + X509_verify_cert_error_string(v) + fix;
      } else {
        // TLS 1.3 servers reject a client certificate after the client's side of the
        // handshake completes: a short read catches their alert.
        char byte;
        auto short_deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(300));
        int r;
        while ((r = SSL_peek(ssl, &byte, 1)) <= 0) {
          if (!wait_ssl(ssl, fd, r, short_deadline)) break;
        }
        std::string why = r <= 0 ? openssl_errors() : "";
        if (why.find("alert") != std::string::npos) {
          out.failure = Failure::kClientCertificate;
          out.detail = h.text() + " rejected the client certificate (" + why + ")" +
                       (cfg.cert_key_file.empty() ? ": it requires one (tls.cert_key_file)" : "");
        } else {
          X509* peer = SSL_get_peer_certificate(ssl);
          std::string subject;
          if (peer) {
            char buf[256];
            X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
            subject = buf;
            X509_free(peer);
          }
          out.detail = std::string(SSL_get_version(ssl)) + ", server certificate " + subject +
                       (v == X509_V_OK ? " (verified)" : " (not verified: allowed by the endpoint's TLS options)");
        }
      }
    }
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
  close(fd);
  ERR_clear_error();
  return out;
}

// ---- driver steps ------------------------------------------------------------------------

std::string reply_string(const bson_t* doc, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
}

class Diagnosis {
 public:
  Diagnosis(const ConnectSpec& spec, const std::vector<RequirementGroup>& reqs)
      : spec_(spec), reqs_(reqs), deadline_(Clock::now() + std::chrono::milliseconds(spec.connect_timeout_ms)) {}

  ConnectivityReport run() {
    report_.uri = redact_uri(spec_.uri);
    auto uri = make_uri(spec_);
    if (!uri.ok()) return fail("resolution", Failure::kOther, uri.status().message());
    uri_ = *uri;
    tls_on_ = mongoc_uri_get_tls(uri_);
    const char* srv = mongoc_uri_get_srv_hostname(uri_);
    bool ok = srv ? resolve_srv(srv) : resolve_hosts(hosts_of(uri_));
    if (ok) ok = tcp();
    if (ok) ok = tls();
    if (ok) ok = driver();
    mongoc_uri_destroy(uri_);
    if (client_) mongoc_client_destroy(client_);
    return std::move(report_);
  }

 private:
  void step(const std::string& name, StepStatus s, std::string detail) {
    report_.steps.push_back({name, s, std::move(detail)});
  }
  ConnectivityReport fail(const std::string& name, Failure f, const std::string& msg) {
    step(name, StepStatus::kFailed, msg);
    report_.failure = f;
    report_.message = msg;
    return std::move(report_);
  }
  bool failed(const std::string& name, Failure f, const std::string& msg) {
    step(name, StepStatus::kFailed, msg);
    report_.failure = f;
    report_.message = msg;
    return false;
  }

  bool resolve_srv(const char* srv) {
    // libmongoc resolves the SRV (and TXT) records when the client is created.
    bson_error_t err;
    client_ = mongoc_client_new_from_uri_with_error(uri_, &err);
    if (!client_) {
      Failure f = err.domain == MONGOC_ERROR_STREAM && err.code == MONGOC_ERROR_STREAM_NAME_RESOLUTION
                      ? Failure::kResolution
                      : Failure::kOther;
      return failed("resolution", f, std::string("cannot resolve ") + srv + ": " + err.message);
    }
    mongoc_client_set_error_api(client_, MONGOC_ERROR_API_VERSION_2);
    std::vector<Host> hosts = hosts_of(mongoc_client_get_uri(client_));
    std::string list;
    for (const auto& h : hosts) list += (list.empty() ? "" : ", ") + h.text();
    if (!resolve_hosts(std::move(hosts), false)) return false;
    step("resolution", StepStatus::kPassed, std::string("SRV ") + srv + " → " + list);
    return true;
  }

  bool resolve_hosts(std::vector<Host> hosts, bool record = true) {
    std::string detail;
    for (Host& h : hosts) {
      if (h.unix_socket) continue;
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_family = AF_UNSPEC;
      addrinfo* res = nullptr;
      int rc = getaddrinfo(h.host.c_str(), std::to_string(h.port).c_str(), &hints, &res);
      if (rc != 0) return failed("resolution", Failure::kResolution, "cannot resolve " + h.host + ": " + gai_message(rc));
      std::string addrs;
      for (addrinfo* a = res; a; a = a->ai_next) {
        sockaddr_storage ss{};
        std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
        h.addrs.push_back(ss);
        h.addr_lens.push_back(a->ai_addrlen);
        char buf[INET6_ADDRSTRLEN] = "";
        const void* src = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        inet_ntop(a->ai_family, src, buf, sizeof buf);
        if (addrs.find(buf) == std::string::npos) addrs += (addrs.empty() ? "" : ", ") + std::string(buf);
      }
      freeaddrinfo(res);
      detail += (detail.empty() ? "" : "; ") + h.host + " → " + addrs;
    }
    hosts_ = std::move(hosts);
    if (record) step("resolution", StepStatus::kPassed, detail.empty() ? "local socket" : detail);
    return true;
  }

  bool tcp() {
    std::vector<std::future<TcpOutcome>> futures;
    for (const Host& h : hosts_) {
      if (h.unix_socket) continue;
      futures.push_back(std::async(std::launch::async, tcp_probe, std::cref(h), deadline_, spec_.connect_timeout_ms));
    }
    std::vector<TcpOutcome> outcomes;
    for (auto& f : futures) outcomes.push_back(f.get());
    std::string ok_list, bad_list;
    const TcpOutcome* first_bad = nullptr;
    size_t i = 0;
    for (const Host& h : hosts_) {
      if (h.unix_socket) continue;
      const TcpOutcome& o = outcomes[i++];
      if (o.failure == Failure::kNone) {
        ok_list += (ok_list.empty() ? "" : ", ") + h.text() + " (" + std::to_string(o.elapsed_ms) + " ms)";
        reachable_.push_back({&h, o.addr, o.addr_len});
      } else {
        bad_list += (bad_list.empty() ? "" : "; ") + o.detail;
        if (!first_bad) first_bad = &o;
      }
    }
    if (reachable_.empty() && first_bad) return failed("tcp", first_bad->failure, first_bad->detail);
    step("tcp", StepStatus::kPassed,
         (ok_list.empty() ? std::string("local socket") : "connected to " + ok_list) +
             (bad_list.empty() ? "" : "; unreachable: " + bad_list));
    return true;
  }

  TlsConfig tls_config(bool verify) const {
    TlsConfig cfg;
    if (const char* v = mongoc_uri_get_option_as_utf8(uri_, MONGOC_URI_TLSCAFILE, nullptr)) cfg.ca_file = v;
    if (const char* v = mongoc_uri_get_option_as_utf8(uri_, MONGOC_URI_TLSCERTIFICATEKEYFILE, nullptr)) {
      cfg.cert_key_file = v;
    }
    bool insecure = mongoc_uri_get_option_as_bool(uri_, MONGOC_URI_TLSINSECURE, false);
    cfg.allow_invalid_hostnames =
        !verify || insecure || mongoc_uri_get_option_as_bool(uri_, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, false);
    cfg.allow_invalid_certificates =
        !verify || insecure || mongoc_uri_get_option_as_bool(uri_, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, false);
    return cfg;
  }

  bool tls() {
    if (!tls_on_) {
      step("tls", StepStatus::kSkipped, "TLS is off for this endpoint");
      return true;
    }
    std::string detail;
    for (const Reachable& r : reachable_) {
      TlsOutcome o = tls_probe(*r.host, r.addr, r.len, tls_config(true), deadline_);
      if (o.failure == Failure::kTimeout && answers_without_tls(*r.host)) {
        // A plain server reads the ClientHello as the start of a huge message and waits.
        return failed("tls", Failure::kTlsNotOffered,
                      r.host->text() + " does not speak TLS: it answers without it (TLS is on for this endpoint; "
                                       "set tls.enabled: false or enable TLS on the server)");
      }
      if (o.failure != Failure::kNone) return failed("tls", o.failure, o.detail);
      detail += (detail.empty() ? "" : "; ") + r.host->text() + ": " + o.detail;
    }
    step("tls", StepStatus::kPassed, detail.empty() ? "TLS over a local socket" : detail);
    return true;
  }

  // Does a MongoDB server answer `hello` on this host without TLS (within a second)?
  bool answers_without_tls(const Host& h) const {
    std::string host = h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host;
    std::string uri = "mongodb://" + host + ":" + std::to_string(h.port) +
                      "/?directConnection=true&connectTimeoutMS=1000&serverSelectionTimeoutMS=1000";
    mongoc_client_t* c = mongoc_client_new(uri.c_str());
    if (!c) return false;
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_INT32(&cmd, "hello", 1);
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, nullptr, &reply, nullptr);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    mongoc_client_destroy(c);
    return ok;
  }

  // After a network failure with TLS off: does the server answer a TLS handshake instead?
  bool server_wants_tls(std::string* host) {
    for (const Reachable& r : reachable_) {
      TlsOutcome o = tls_probe(*r.host, r.addr, r.len, tls_config(false),
                               std::min(deadline_ + std::chrono::milliseconds(1000),
                                        Clock::now() + std::chrono::milliseconds(1000)));
      if (o.failure == Failure::kNone || o.failure == Failure::kClientCertificate) {
        *host = r.host->text();
        return true;
      }
    }
    return false;
  }

  bool driver() {
    int left = std::max(remaining_ms(deadline_), 500);
    if (!client_) {
      ConnectSpec s = spec_;
      s.connect_timeout_ms = left;
      auto uri = make_uri(s);
      if (!uri.ok()) return failed("authentication", Failure::kOther, uri.status().message());
      bson_error_t err;
      client_ = mongoc_client_new_from_uri_with_error(*uri, &err);
      mongoc_uri_destroy(*uri);
      if (!client_) return failed("authentication", Failure::kOther, redact_uri(err.message));
      mongoc_client_set_error_api(client_, MONGOC_ERROR_API_VERSION_2);
    }
    const char* user = mongoc_uri_get_username(uri_);
    std::string who = user ? std::string(user) + "@" + (mongoc_uri_get_auth_source(uri_) ? mongoc_uri_get_auth_source(uri_) : "admin") : "";
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_INT32(&cmd, "hello", 1);
    bson_error_t err;
    int64_t before = bson_get_monotonic_time();
    int64_t wall_before = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
    bool ok = mongoc_client_command_simple(client_, "admin", &cmd, nullptr, &reply, &err);
    int64_t rtt_ms = (bson_get_monotonic_time() - before) / 1000;
    bson_destroy(&cmd);
    if (!ok) {
      bson_destroy(&reply);
      return driver_failure(err, who);
    }
    read_hello(&reply, wall_before + rtt_ms / 2);
    bson_destroy(&reply);
    step("authentication", user ? StepStatus::kPassed : StepStatus::kSkipped,
         user ? "authenticated as " + who : "no user configured for this endpoint");

    bson_t bi = BSON_INITIALIZER;
    BSON_APPEND_INT32(&bi, "buildInfo", 1);
    ok = mongoc_client_command_simple(client_, "admin", &bi, nullptr, &reply, &err);
    bson_destroy(&bi);
    if (ok) {
      report_.server.version = reply_string(&reply, "version");
      bson_iter_t it, arr;
      if (bson_iter_init_find(&it, &reply, "versionArray") && bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr)) {
          if (BSON_ITER_HOLDS_NUMBER(&arr)) report_.server.version_array.push_back(static_cast<int>(bson_iter_as_int64(&arr)));
        }
      }
    }
    bson_destroy(&reply);
    if (!ok) return failed("server", Failure::kOther, "buildInfo failed on " + report_.server.host + ": " + err.message);
    step("server", StepStatus::kPassed,
         "MongoDB " + report_.server.version + " (wire version " + std::to_string(report_.server.max_wire_version) + ") at " +
             report_.server.host);
    std::string topo;
    switch (report_.server.topology) {
      case Topology::kReplicaSet: topo = "replica set " + report_.server.set_name; break;
      case Topology::kSharded: topo = "sharded cluster (mongos)"; break;
      case Topology::kStandalone: topo = "standalone server (no oplog)"; break;
      case Topology::kUnknown: topo = "unknown"; break;
    }
    if (!report_.server.members.empty()) {
      std::string m;
      for (const auto& h : report_.server.members) m += (m.empty() ? "" : ", ") + h;
      topo += ", members " + m;
    }
    step("topology", StepStatus::kPassed, topo);
    return privileges(who);
  }

  void read_hello(const bson_t* reply, int64_t local_mid_ms) {
    ServerFacts& s = report_.server;
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply, "maxWireVersion")) s.max_wire_version = static_cast<int>(bson_iter_as_int64(&it));
    s.set_name = reply_string(reply, "setName");
    if (reply_string(reply, "msg") == "isdbgrid") {
      s.topology = Topology::kSharded;
    } else if (!s.set_name.empty()) {
      s.topology = Topology::kReplicaSet;
    } else {
      s.topology = Topology::kStandalone;
    }
    s.host = reply_string(reply, "me");
    bson_iter_t arr;
    if (bson_iter_init_find(&it, reply, "hosts") && bson_iter_recurse(&it, &arr)) {
      while (bson_iter_next(&arr)) {
        if (BSON_ITER_HOLDS_UTF8(&arr)) s.members.push_back(bson_iter_utf8(&arr, nullptr));
      }
    }
    if (s.host.empty()) {
      bson_error_t err;
      if (mongoc_server_description_t* sd = mongoc_client_select_server(client_, false, nullptr, &err)) {
        s.host = mongoc_server_description_host(sd)->host_and_port;
        mongoc_server_description_destroy(sd);
      }
    }
    if (bson_iter_init_find(&it, reply, "localTime") && BSON_ITER_HOLDS_DATE_TIME(&it)) {
      s.clock_skew_ms = bson_iter_date_time(&it) - local_mid_ms;
      s.clock_known = true;
    }
  }

  // libmongoc wraps the cause: "No suitable servers found (...): [CAUSE calling hello on 'h']".
  static std::string cause_of(const std::string& msg) {
    auto open = msg.find('['), close = msg.rfind(']');
    if (open == std::string::npos || close == std::string::npos || close < open) return msg;
    std::string inner = msg.substr(open + 1, close - open - 1);
    auto calling = inner.find(" calling hello on ");
    if (calling != std::string::npos) inner.erase(calling);
    while (!inner.empty() && (inner.back() == '.' || inner.back() == ' ')) inner.pop_back();
    return inner;
  }

  bool driver_failure(const bson_error_t& err, const std::string& who) {
    std::string msg = cause_of(redact_uri(err.message));
    std::string host = reachable_.empty() ? report_.uri : reachable_.front().host->text();
    if (err.domain == MONGOC_ERROR_CLIENT && err.code == MONGOC_ERROR_CLIENT_AUTHENTICATE) {
      return failed("authentication", Failure::kAuthentication,
                    "authentication failed for user " + who + " on " + host + ": " + msg);
    }
    if (err.domain == MONGOC_ERROR_SERVER && err.code == common::kAuthenticationFailed) {
      return failed("authentication", Failure::kAuthentication,
                    "authentication failed for user " + who + " on " + host + ": " + msg);
    }
    if (err.domain == MONGOC_ERROR_SERVER && err.code == common::kUnauthorized) {
      return failed("authentication", Failure::kNotAuthorized, host + " requires authentication: " + msg);
    }
    std::string tls_host;
    if (!tls_on_ && server_wants_tls(&tls_host)) {
      return failed("tls", Failure::kTlsRequired, tls_host + " requires TLS, but TLS is off for this endpoint (set tls.enabled: true)");
    }
    if (msg.find("timed out") != std::string::npos || msg.find("Timed out") != std::string::npos ||
        msg.find("timeout") != std::string::npos) {
      return failed("server", Failure::kTimeout, host + " accepted the connection but did not answer within " +
                                                     std::to_string(spec_.connect_timeout_ms) + " ms: " + msg);
    }
    if (err.domain == MONGOC_ERROR_PROTOCOL || msg.find("wire version") != std::string::npos ||
        msg.find("Invalid reply") != std::string::npos) {
      return failed("server", Failure::kProtocol, host + " did not answer as a supported MongoDB server: " + msg);
    }
    return failed("server", Failure::kOther, "cannot talk to " + host + ": " + msg);
  }

  bool privileges(const std::string& who) {
    auto conn = Connection::borrow(client_);
    auto p = read_privileges(conn);
    if (!p.ok()) {
      return failed("privileges", Failure::kNotAuthorized,
                    "cannot read the privileges of " + (who.empty() ? std::string("the connection") : who) + " on " +
                        report_.server.host + ": " + p.status().message());
    }
    report_.privileges = *p;
    std::string found;
    if (p->is_unrestricted()) {
      found = "access control is off on the server: every privilege";
    } else if (!p->authenticated()) {
      return failed("privileges", Failure::kNotAuthorized,
                    report_.server.host + " requires authentication and no user is configured for this endpoint");
    } else {
      for (const auto& r : p->roles()) found += (found.empty() ? "roles " : ", ") + r;
      if (found.empty()) found = "no roles";
    }
    std::string unmet;
    for (const RequirementGroup& group : reqs_) {
      std::vector<std::string> best;
      std::string purpose;
      bool met = false;
      for (const Requirement& r : group) {
        auto missing = p->missing(r);
        if (missing.empty()) {
          met = true;
          break;
        }
        if (best.empty()) best = missing, purpose = r.purpose;
      }
      if (met) continue;
      std::string m;
      for (const auto& s : best) m += (m.empty() ? "" : ", ") + s;
      unmet += (unmet.empty() ? "" : "; ") + m + " (to " + purpose + ")";
    }
    if (!unmet.empty()) {
      return failed("privileges", Failure::kNotAuthorized,
                    "user " + who + " on " + report_.server.host + " is not authorized: lacks " + unmet);
    }
    step("privileges", StepStatus::kPassed, found);
    return true;
  }

  struct Reachable {
    const Host* host;
    const sockaddr_storage* addr;
    socklen_t len;
  };

  const ConnectSpec& spec_;
  const std::vector<RequirementGroup>& reqs_;
  Clock::time_point deadline_;
  ConnectivityReport report_;
  mongoc_uri_t* uri_ = nullptr;
  mongoc_client_t* client_ = nullptr;
  bool tls_on_ = false;
  std::vector<Host> hosts_;
  std::vector<Reachable> reachable_;
};

}  // namespace

ConnectivityReport test_connectivity(const ConnectSpec& spec, const std::vector<RequirementGroup>& requirements) {
  return Diagnosis(spec, requirements).run();
}

}  // namespace client
