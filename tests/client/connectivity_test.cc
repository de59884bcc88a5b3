// Connectivity failures that need no MongoDB server: a closed port, a host that drops
// connections, a server that accepts but never answers, something that is not MongoDB, a
// name that does not resolve. The server-facing cases run against mongosim in
// tests/precheck and tests/app.
#include "client/connectivity.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

using client::Failure;

int listen_on_free_port(int backlog, int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  if (backlog >= 0) listen(fd, backlog);
  return fd;
}

client::ConnectSpec spec_for(int port, int timeout_ms = 1000) {
  client::ConnectSpec s;
  s.uri = "mongodb://127.0.0.1:" + std::to_string(port) + "/?directConnection=true";
  s.connect_timeout_ms = timeout_ms;
  return s;
}

const client::Step* step(const client::ConnectivityReport& r, const std::string& name) {
  for (const auto& s : r.steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// A server that accepts connections and either stays silent or answers with junk.
class FakeServer {
 public:
  explicit FakeServer(bool junk) : junk_(junk) {
    fd_ = listen_on_free_port(16, &port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) break;
        if (junk_) {
          const char reply[] = "HTTP/1.0 400 Bad Request\r\n\r\nthis is not a MongoDB server, not at all......";
          ssize_t w = write(c, reply, sizeof reply);
          (void)w;
        }
        clients_.push_back(c);
      }
    });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : clients_) close(c);
  }
  int port() const { return port_; }

 private:
  bool junk_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> clients_;
};

TEST(Connectivity, RefusedNamesTheHost) {
  int port = 0;
  int fd = listen_on_free_port(-1, &port);  // bound, not listening: connections are refused
  auto r = client::test_connectivity(spec_for(port));
  close(fd);
  EXPECT_EQ(r.failure, Failure::kRefused);
  EXPECT_EQ(r.message, "connection refused by 127.0.0.1:" + std::to_string(port) +
                           " (is the server running and listening on that port?)");
  ASSERT_TRUE(step(r, "resolution"));
  EXPECT_EQ(step(r, "resolution")->status, client::StepStatus::kPassed);
  EXPECT_EQ(step(r, "tcp")->status, client::StepStatus::kFailed);
}

TEST(Connectivity, DroppedConnectionsTimeOutWithinTheConnectTimeout) {
  // A full accept queue: the kernel drops further SYNs, as a firewall would.
  int port = 0;
  int fd = listen_on_free_port(0, &port);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  auto r = client::test_connectivity(spec_for(port, 800));
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (int c : fillers) close(c);
  close(fd);
  EXPECT_EQ(r.failure, Failure::kTimeout);
  EXPECT_EQ(r.message, "connection to 127.0.0.1:" + std::to_string(port) +
                           " timed out after 800 ms (is a firewall or an IP allowlist dropping it?)");
  // Bounded by the connect timeout, not by a retry window or the driver's 30 s default.
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(Connectivity, SilentServerTimesOutAtTheHandshake) {
  FakeServer server(false);
  auto start = std::chrono::steady_clock::now();
  auto r = client::test_connectivity(spec_for(server.port(), 800));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.failure, Failure::kTimeout) << r.message;
  EXPECT_NE(r.message.find("127.0.0.1:" + std::to_string(server.port()) + " accepted the connection but did not answer"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(step(r, "tcp")->status, client::StepStatus::kPassed);
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(Connectivity, SomethingElseOnThePortIsNotTakenForMongoDB) {
  FakeServer server(true);
  auto r = client::test_connectivity(spec_for(server.port(), 800));
  EXPECT_EQ(r.failure, Failure::kProtocol) << r.message;
  EXPECT_EQ(r.message, "127.0.0.1:" + std::to_string(server.port()) +
                           " did not answer as a supported MongoDB server: Invalid reply from server");
  EXPECT_TRUE(r.server.version.empty());
}

TEST(Connectivity, UnresolvableNames) {
  client::ConnectSpec s;
  s.uri = "mongodb://no-such-host.invalid:27017/";
  s.connect_timeout_ms = 1000;
  auto r = client::test_connectivity(s);
  EXPECT_EQ(r.failure, Failure::kResolution);
  EXPECT_EQ(r.message.rfind("cannot resolve no-such-host.invalid: ", 0), 0u) << r.message;
  s.uri = "mongodb+srv://cluster0.no-such-domain.invalid/";
  r = client::test_connectivity(s);
  EXPECT_EQ(r.failure, Failure::kResolution);
  EXPECT_NE(r.message.find("_mongodb._tcp.cluster0.no-such-domain.invalid"), std::string::npos) << r.message;
}

TEST(Connectivity, TlsToAPlainServerSaysItDoesNotSpeakTls) {
  FakeServer server(false);
  auto s = spec_for(server.port(), 800);
  s.tls = true;
  s.tls_allow_invalid_hostnames = true;
  auto r = client::test_connectivity(s);
  // A silent plain server never answers the ClientHello: the handshake times out.
  EXPECT_TRUE(r.failure == Failure::kTimeout || r.failure == Failure::kTlsNotOffered) << client::to_string(r.failure);
  EXPECT_EQ(step(r, "tls")->status, client::StepStatus::kFailed);
  FakeServer junk(true);
  s = spec_for(junk.port(), 800);
  s.tls = true;
  r = client::test_connectivity(s);
  EXPECT_EQ(r.failure, Failure::kTlsNotOffered) << r.message;
  EXPECT_NE(r.message.find("does not speak TLS"), std::string::npos) << r.message;
}

}  // namespace
