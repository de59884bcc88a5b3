// mongosim's entry point: parse flags, open the engine, listen, print
// "mongosim listening on HOST:PORT", serve until SIGTERM/SIGINT, shut down cleanly, exit 0.
#include <malloc.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/log.h"
#include "sim/auth/auth.h"
#include "sim/command.h"
#include "sim/engine/engine.h"
#include "sim/options.h"
#include "sim/server/admin_commands.h"
#include "sim/server/dispatcher.h"
#include "sim/server/listener.h"
#include "sim/server/log_ring.h"
#include "sim/server/server_state.h"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  // glibc malloc: one arena for every connection thread, grown 64 MiB at a time, with
  // buffers up to 32 MiB (16 MiB batches, 48 MiB messages aside) taken from it rather than
  // mmap(2)ed. A thread's own arena grows by an mprotect(2) per page or so and is trimmed
  // back after each large reply, and an mmap()ed reply buffer is faulted in afresh for
  // every batch: loading data spent a tenth of its time in the kernel that way.
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  auto parsed = sim::parse_server_options(argc, argv);
  if (!parsed.ok()) {
    if (parsed.status().code() == common::kOK) return 0;  // --help
    std::fprintf(stderr, "mongosim: %s\n", parsed.status().message().c_str());
    return 2;
  }
  sim::ServerOptions opts = std::move(parsed).value();
  common::init_logging(opts.log_level);

  // SIGTERM/SIGINT are taken synchronously by sigwait below; block them before any thread
  // starts so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sim::ServerContext ctx(opts);
  for (int i = 0; i < argc; ++i) ctx.argv.emplace_back(argv[i]);
  ctx.start_time_ms = sim::server::now_ms();
  bson_oid_init(&ctx.process_id, nullptr);
  spdlog::default_logger()->sinks().push_back(sim::server::make_log_ring_sink(ctx));

  sim::server::ServerState state(ctx);
  sim::server::register_admin_commands(state, ctx.commands);
  // Users and roles (loads <dbpath>/mongosim-auth.bson, creates --admin-user); after the
  // admin commands, since it wraps hello.
  auto access = sim::auth::AccessControl::open(ctx);
  if (!access.ok()) {
    MS_LOG_ERROR("cannot open the user store: {}", access.status().to_string());
    return 1;
  }
  (*access)->register_commands(ctx.commands);
  auto engine = sim::engine::Engine::open(ctx);
  if (!engine.ok()) {
    MS_LOG_ERROR("cannot open the database: {}", engine.status().to_string());
    return 1;
  }
  (*engine)->register_commands(ctx.commands);
  sim::engine::Engine* eng = engine->get();
  state.append_engine_status = [eng](bson_t* reply) { eng->append_server_status(reply); };

  sim::server::Dispatcher dispatcher(state, access->get());
  sim::server::Listener listener(state, dispatcher);
  if (auto st = listener.bind(opts.bind, opts.port); !st.ok()) {
    MS_LOG_ERROR("{}", st.to_string());
    return 1;
  }
  (*engine)->start_background();
  // Replication state and test faults reach the engine from here on (repl_state.h).
  state.attach_engine(eng);
  MS_LOG_INFO("mongosim {} ({}, maxWireVersion {}) waiting for connections on {}", opts.full_version(),
              opts.standalone ? "standalone" : "replica set " + opts.replset, opts.max_wire_version(),
              ctx.host_and_port);
  std::printf("mongosim listening on %s\n", ctx.host_and_port.c_str());
  std::fflush(stdout);

  std::thread server_thread([&listener] { listener.run(); });
  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  MS_LOG_INFO("received signal {}, shutting down", sig);
  listener.stop();
  server_thread.join();
  (*engine)->shutdown();
  MS_LOG_INFO("mongosim shut down");
  spdlog::shutdown();
  return 0;
}
