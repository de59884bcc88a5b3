// Listener: the TCP side of mongosim. Binds the listening socket, accepts connections (up to
// --max-connections) and serves each on its own thread: read a whole message, hand it to
// the Dispatcher, write the reply. A slow or stuck client only holds its own thread. With
// --tls-mode the connection's thread tells TLS from plain by the first byte and runs the
// TLS handshake (tls.h); require mode closes plain connections as mongod does.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "sim/server/dispatcher.h"
#include "sim/server/server_state.h"
#include "sim/server/tls.h"

namespace sim::server {

class Listener {
 public:
  Listener(ServerState& state, Dispatcher& dispatcher);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds host:port (port 0 picks a free one) and fills ctx.host_and_port with the address
  // clients should dial. Loads the TLS certificates first (an error names the flag).
  common::Status bind(const std::string& host, int port);
  // Accepts until stop(); returns after every connection has been closed and joined.
  void run();
  // Thread-safe: wakes run(), which closes the listener and every connection.
  void stop();
  // Thread-safe: ends every client connection except connection `keep` (0: none kept), as a
  // network failure would; returns how many it ended. Installed as ServerState's closer.
  int close_connections(int64_t keep);

 private:
  struct Connection;
  void serve(Connection* conn);
  void serve_messages(Connection* conn);
  // Decides TLS or plain for a new connection; false = close it.
  bool start_transport(Connection* conn);
  void reap(bool all);

  ServerState& state_;
  Dispatcher& dispatcher_;
  std::unique_ptr<TlsContext> tls_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> conns_;
};

// "127.0.0.1:27017" / "[::1]:27017" for a socket address.
std::string format_address(const void* sockaddr_ptr);

}  // namespace sim::server
