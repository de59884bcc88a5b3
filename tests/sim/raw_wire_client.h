// Test helpers for mongosim's wire layer: building request messages from JSON, reading
// reply bodies, and a raw TCP connection that sends arbitrary bytes (for handshake and
// fuzz tests that libmongoc cannot produce).
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

#include "common/bson.h"
#include "sim/server/wire.h"

namespace simtest {

inline common::Bson doc(std::string_view json) {
  auto r = common::Bson::from_json(json);
  return r.ok() ? std::move(r).value() : common::Bson();
}

inline std::string op_msg(std::string_view json, uint32_t flags = 0, int32_t request_id = 1) {
  common::Bson b = doc(json);
  return sim::server::encode_op_msg(b.get(), request_id, 0, flags);
}

// The body of a reply message (OP_MSG or OP_REPLY, compressed or not).
inline common::Result<common::Bson> reply_body(std::string_view message) {
  MS_ASSIGN_OR_RETURN(sim::server::Message m, sim::server::decode_message(message));
  if (m.header.op_code == sim::server::kOpReply) return sim::server::parse_op_reply_document(m.body);
  MS_ASSIGN_OR_RETURN(sim::server::OpMsg msg, sim::server::parse_op_msg(m));
  return msg.body;
}

class RawConnection {
 public:
  RawConnection() = default;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connect(const std::string& host_port) {
    auto colon = host_port.rfind(':');
    std::string host = host_port.substr(0, colon);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    std::string port = host_port.substr(colon + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
        break;
      }
      ::close(fd);
    }
    freeaddrinfo(res);
    return fd_ >= 0;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One whole message, or "" on timeout/EOF (closed() tells which).
  std::string recv_message(int timeout_ms = 5000) {
    std::string header;
    if (!read_n(header, 16, timeout_ms)) return "";
    int32_t len;
    std::memcpy(&len, header.data(), 4);
    if (len < 16 || len > 64 * 1024 * 1024) return "";
    std::string rest;
    if (!read_n(rest, static_cast<size_t>(len) - 16, timeout_ms)) return "";
    return header + rest;
  }

  // True when the peer closed the connection within timeout_ms (pending bytes are dropped).
  bool wait_closed(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return true;
      }
    }
    return false;
  }

  bool closed() const { return closed_; }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Sends `request` and returns the reply body (empty document when no reply came).
  common::Bson command(std::string_view json, int timeout_ms = 5000) {
    static std::atomic<int32_t> id{100};
    if (!send(op_msg(json, 0, id.fetch_add(1) + 1))) return common::Bson();
    std::string reply = recv_message(timeout_ms);
    auto body = reply_body(reply);
    return body.ok() ? std::move(body).value() : common::Bson();
  }

 private:
  bool read_n(std::string& out, size_t n, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    out.clear();
    out.reserve(n);
    char buf[65536];
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) {
        closed_ = true;
        return false;
      }
      out.append(buf, static_cast<size_t>(r));
    }
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
};

}  // namespace simtest
