// Listener and per-connection loops (thread per connection, bounded by --max-connections).
#include <chrono>
#include "sim/server/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/log.h"

namespace sim::server {

using common::Status;

struct Listener::Connection {
  int fd = -1;
  ClientInfo client;
  std::unique_ptr<TlsStream> tls;  // set once a TLS handshake succeeded
  std::thread thread;
  std::atomic<bool> done{false};
};

namespace {

// Reads exactly n bytes (through TLS when the connection has it); false on EOF, error or
// shutdown.
// A client's next request usually follows its reply within tens of microseconds. Polling the
// socket for a short while before blocking saves the sleep and the wake-up of this thread,
// which on a virtual machine with idle cores costs more than the request itself.
ssize_t recv_spinning(int fd, char* buf, size_t n) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::microseconds(50);
  for (;;) {
    ssize_t r = ::recv(fd, buf, n, MSG_DONTWAIT);
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return r;
    if (Clock::now() >= until) return ::recv(fd, buf, n, 0);
  }
}

bool write_full(int fd, TlsStream* tls, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = tls ? tls->write(buf, n) : ::send(fd, buf, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (!tls && errno == EINTR) continue;
      return false;
    }
    buf += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return format_address(&ss);
}

}  // namespace

std::string format_address(const void* p) {
  const auto* sa = static_cast<const sockaddr*>(p);
  char host[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = static_cast<const sockaddr_in*>(p);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = static_cast<const sockaddr_in6*>(p);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "";
}

Listener::Listener(ServerState& state, Dispatcher& dispatcher) : state_(state), dispatcher_(dispatcher) {
  state_.set_connection_closer([this](int64_t keep) { return close_connections(keep); });
}

Listener::~Listener() {
  state_.set_connection_closer(nullptr);
  stop();
  reap(true);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

Status Listener::bind(const std::string& host, int port) {
  auto tls = TlsContext::create(state_.ctx.options);
  if (!tls.ok()) return tls.status();
  tls_ = std::move(tls).value();
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) return Status(common::kInternalError, std::string("pipe: ") + std::strerror(errno));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) return Status(common::kHostNotFound, "cannot resolve bind address " + host + ": " + gai_strerror(rc));
  std::string last_err;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_err = std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 512) != 0) {
      last_err = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
    break;
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0) {
    return Status(common::kSocketException, "cannot listen on " + host + ":" + port_s + ": " + last_err);
  }
  // The address clients dial: a wildcard bind is reached through the loopback address.
  std::string local = local_address(listen_fd_);
  auto colon = local.rfind(':');
  std::string bound_port = local.substr(colon + 1);
  std::string shown = host;
  if (host == "0.0.0.0" || host.empty()) shown = "127.0.0.1";
  if (host == "::") shown = "::1";
  if (shown.find(':') != std::string::npos && shown.front() != '[') shown = "[" + shown + "]";
  for (auto& ch : shown) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  state_.ctx.host_and_port = shown + ":" + bound_port;
  return Status::OK();
}

void Listener::run() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, 1000);
    reap(false);
    if (n < 0) {
      if (errno == EINTR) continue;
      MS_LOG_ERROR("poll on listener failed: {}", std::strerror(errno));
      break;
    }
    if (stopping_.load() || (fds[1].revents & POLLIN)) break;
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        MS_LOG_WARN("accept failed: {}", std::strerror(errno));
        if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    std::string remote = format_address(&peer);
    if (state_.ctx.connections_current.load() >= state_.ctx.options.max_connections) {
      MS_LOG_WARN("connection refused because too many open connections: {} (from {})",
                  state_.ctx.connections_current.load(), remote);
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    conn->client.connection_id = state_.ctx.connections_total.fetch_add(1) + 1;
    conn->client.remote = remote;
    conn->client.local = local_address(fd);
    state_.ctx.connections_current.fetch_add(1);
    MS_LOG_INFO("connection accepted from {} #{} ({} connections now open)", remote, conn->client.connection_id,
                state_.ctx.connections_current.load());
    Connection* raw = conn.get();
    {
      std::lock_guard<std::mutex> lk(mu_);
      conns_.push_back(std::move(conn));
    }
    try {
      raw->thread = std::thread([this, raw] { serve(raw); });
    } catch (const std::system_error& e) {
      // Out of threads: refuse this connection, keep serving the others.
      MS_LOG_WARN("cannot start a thread for connection {}: {}", remote, e.what());
      ::shutdown(raw->fd, SHUT_RDWR);
      state_.ctx.connections_current.fetch_sub(1);
      raw->done.store(true);
    }
  }
  // Shutdown: stop accepting, then end every connection (a blocked recv returns on
  // SHUT_RDWR) and wait for their threads.
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& c : conns_) ::shutdown(c->fd, SHUT_RDWR);
  }
  reap(true);
}

void Listener::stop() {
  if (stopping_.exchange(true)) return;
  state_.begin_shutdown();
  if (wake_pipe_[1] >= 0) {
    char b = 1;
    ssize_t ignored = ::write(wake_pipe_[1], &b, 1);
    (void)ignored;
  }
}

int Listener::close_connections(int64_t keep) {
  std::lock_guard<std::mutex> lk(mu_);
  int n = 0;
  for (auto& c : conns_) {
    if (c->done.load() || c->client.connection_id == keep) continue;
    // The connection's thread sees EOF, ends its loop and is reaped; the descriptor stays
    // open until then, so it is never reused under another connection.
    ::shutdown(c->fd, SHUT_RDWR);
    ++n;
  }
  return n;
}

void Listener::reap(bool all) {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    if (all) ::shutdown(c->fd, SHUT_RDWR);
    if (c->thread.joinable()) c->thread.join();
    ::close(c->fd);  // closed only after the join, so a shutdown() never hits a reused fd
  }
}

bool Listener::start_transport(Connection* conn) {
  if (!tls_) return true;
  unsigned char first = 0;
  ssize_t r;
  do {
    r = ::recv(conn->fd, &first, 1, MSG_PEEK);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  if (first != kTlsHandshakeRecord) {
    if (tls_->mode() != TlsMode::kRequire) return true;
    MS_LOG_INFO("conn{}: error receiving request from client {}: SSLHandshakeFailed: The server is configured to only "
                "allow SSL connections; ending connection",
                conn->client.connection_id, conn->client.remote);
    return false;
  }
  auto stream = tls_->accept(conn->fd);
  if (!stream.ok()) {
    MS_LOG_WARN("conn{}: error receiving request from client {}: {}; ending connection", conn->client.connection_id,
                conn->client.remote, stream.status().to_string());
    return false;
  }
  conn->tls = std::move(stream).value();
  std::string subject = conn->tls->peer_subject();
  MS_LOG_DEBUG("conn{}: TLS connection from {}{}", conn->client.connection_id, conn->client.remote,
               subject.empty() ? "" : " with client certificate " + subject);
  return true;
}

void Listener::serve(Connection* conn) {
  try {
    if (start_transport(conn)) serve_messages(conn);
  } catch (const std::exception& e) {
    // Only allocation failures can get here (a 48 MB message on a starved machine); they
    // end this connection, not the server.
    MS_LOG_WARN("conn{}: closing connection: {}", conn->client.connection_id, e.what());
  }
  // The TLS session ends (close_notify) while the descriptor is still this connection's.
  conn->tls.reset();
  ::shutdown(conn->fd, SHUT_RDWR);
  int64_t left = state_.ctx.connections_current.fetch_sub(1) - 1;
  MS_LOG_INFO("end connection {} ({} connections now open)", conn->client.remote, left);
  conn->done.store(true);
}

void Listener::serve_messages(Connection* conn) {
  const int fd = conn->fd;
  TlsStream* tls = conn->tls.get();
  // Bytes read from the connection: whole messages are handled from the front of `in`, and
  // each read takes whatever the socket has ready (up to 64 KiB more than needed), so a small
  // request costs one recv(2), not one for its header and another for its body.
  std::string in;
  size_t have = 0;
  auto fill = [&](size_t need) {
    while (have < need) {
      if (in.size() < need || in.size() - have < 4096) in.resize(std::max(need, have + (64u << 10)));
      ssize_t r = tls ? tls->read(in.data() + have, in.size() - have) : recv_spinning(fd, in.data() + have, in.size() - have);
      if (r == 0) return false;
      if (r < 0) {
        if (!tls && errno == EINTR) continue;
        return false;
      }
      have += static_cast<size_t>(r);
    }
    return true;
  };
  while (!stopping_.load()) {
    if (!fill(16)) break;
    auto h = parse_header(std::string_view(in.data(), 16));
    if (!h.ok()) {
      MS_LOG_WARN("conn{}: {}; closing connection", conn->client.connection_id, h.status().message());
      break;
    }
    const auto len = static_cast<size_t>(h->message_length);
    if (!fill(len)) break;
    state_.bytes_in.fetch_add(static_cast<int64_t>(len));
    state_.num_requests.fetch_add(1);
    Dispatcher::Outcome out = dispatcher_.handle_message(conn->client, std::string_view(in.data(), len));
    if (!out.reply.empty()) {
      if (!write_full(fd, tls, out.reply.data(), out.reply.size())) break;
      state_.bytes_out.fetch_add(static_cast<int64_t>(out.reply.size()));
    }
    if (out.close) break;
    // The next message (if its first bytes came with this one) moves to the front.
    if (have > len) std::memmove(in.data(), in.data() + len, have - len);
    have -= len;
    if (have == 0 && in.size() > (1u << 20)) std::string().swap(in);  // do not pin a 48 MB buffer
  }
}

}  // namespace sim::server
