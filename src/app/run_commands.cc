// run, status, throttle and pause: the commands around the task runner.
#include <csignal>
#include <fmt/format.h>

#include "app/io.h"
#include "monitor/progress.h"
#include "runner/controls.h"
#include "runner/runner.h"

namespace app {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop = true; }

// The store and the task record of an already loaded task file.
struct Opened {
  std::unique_ptr<state::StateStore> store;
  state::TaskRecord record;
};

int open_task(const std::string& path, const std::string& state_dir, const Loaded& l, Io& io, Opened* out);

// Loads the task file, opens the store and registers the task (status, throttle, pause).
int load_and_open(const std::string& path, const std::string& state_dir, Io& io, Loaded* l, Opened* t) {
  if (int rc = load(path, io, l)) return rc;
  return open_task(path, state_dir, *l, io, t);
}

int open_task(const std::string& path, const std::string& state_dir, const Loaded& l, Io& io, Opened* out) {
  auto store = state::StateStore::open(state_dir);
  if (!store.ok()) return io.fail(kExitFailed, store.status().message());
  auto rec = register_task(**store, path, l.task);
  if (!rec.ok()) return io.fail(kExitFailed, rec.status().message());
  out->store = std::move(store).value();
  out->record = std::move(rec).value();
  return kExitOk;
}

nlohmann::ordered_json report_json(const runner::RunReport& r) {
  nlohmann::ordered_json j;
  j["result"] = r.end == runner::RunReport::End::kPaused ? "paused" : "finished";
  j["t0"] = r.t0;
  j["elapsed_ms"] = r.elapsed_ms;
  j["skipped"] = r.skipped;
  j["recopied"] = r.recopied;
  j["collections"] = nlohmann::ordered_json::object();
  for (const auto& [ns, n] : r.docs) j["collections"][ns] = n;
  return j;
}

}  // namespace

int cmd_run(const std::string& path, const std::string& state_dir, bool terminal, Io& io) {
  Loaded l;
  if (int rc = load(path, io, &l)) return rc;
  Opened t;
  if (int rc = open_task(path, state_dir, l, io, &t)) return rc;
  auto lock = t.store->lock_task(t.record);
  if (!lock.ok()) return io.fail(kExitFailed, lock.status().message());
  auto ignored = t.store->ignored_warnings(t.record.id);
  if (!ignored.ok()) return io.fail(kExitFailed, ignored.status().message());

  g_stop = false;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  runner::RunInputs in;
  in.task = &l.task;
  in.source = l.source;
  in.destination = l.destination;
  in.state_dir = state_dir;
  in.store = t.store.get();
  in.record = t.record;
  in.ignored_warnings = *ignored;
  monitor::Display display(terminal);
  std::mutex out_mu;
  runner::RunOutput out;
  out.progress = [&](const monitor::Snapshot& s) {
    std::lock_guard<std::mutex> g(out_mu);
    io.print(display.frame(s));
  };
  out.note = [&](const std::string& msg) {
    std::lock_guard<std::mutex> g(out_mu);
    if (terminal) {
      io.print(display.frame_break() + msg + "\n");
    } else {
      io.print(nlohmann::ordered_json({{"note", msg}}).dump() + "\n");
    }
  };
  auto r = runner::run_task(in, g_stop, out);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!r.ok()) return io.fail(kExitFailed, "task " + t.record.name + " failed: " + r.status().message());
  if (!terminal) {
    io.print(report_json(*r).dump() + "\n");
  } else if (r->end == runner::RunReport::End::kPaused) {
    io.print("task " + t.record.name + " paused; run the same command again to resume\n");
  } else {
    std::string text = fmt::format("task {} {} in {:.1f} s (T0 {})\n", t.record.name,
                                   r->end == runner::RunReport::End::kFinished ? "finished" : "copied",
                                   static_cast<double>(r->elapsed_ms) / 1000.0, r->t0);
    for (const auto& [ns, n] : r->docs) text += fmt::format("  {:<40} {} documents\n", ns, n);
    text += fmt::format("  skipped (already on the destination): {}, re-copied after a resume: {}\n", r->skipped,
                        r->recopied);
    io.print(text);
  }
  return kExitOk;
}

int cmd_status(const std::string& path, const std::string& state_dir, Io& io) {
  Loaded l;
  Opened t;
  if (int rc = load_and_open(path, state_dir, io, &l, &t)) return rc;
  auto snap = monitor::read_snapshot(*t.store, t.record);
  if (!snap.ok()) return io.fail(kExitFailed, snap.status().message());
  if (io.json()) {
    io.print_json(monitor::to_json(*snap));
  } else {
    io.print(monitor::to_text(*snap));
  }
  return kExitOk;
}

int cmd_throttle(const std::string& path, const std::string& state_dir, int64_t rps, int64_t mbps, int64_t source_qps,
                 bool incremental, Io& io) {
  if (rps < 0 && mbps < 0 && source_qps < 0) {
    return io.fail(kExitBadInput, "throttle: give at least one of --rps, --mbps, --source-qps (0 = unlimited)");
  }
  if (incremental && source_qps >= 0) {
    return io.fail(kExitBadInput, "throttle: --source-qps limits the full copy only (the incremental phase has --rps, --mbps)");
  }
  const std::string phase = incremental ? "incremental" : "full";
  Loaded l;
  Opened t;
  if (int rc = load_and_open(path, state_dir, io, &l, &t)) return rc;
  auto saved = runner::load_throttle(*t.store, t.record.id, phase);
  if (!saved.ok()) return io.fail(kExitFailed, saved.status().message());
  const auto& f = l.task.options.throttle.full;
  const auto& inc = l.task.options.throttle.incremental;
  throttle::Limits lim = saved->value_or(incremental ? throttle::Limits{0, inc.rps, inc.mbps}
                                                     : throttle::Limits{f.source_qps, f.rps, f.mbps});
  if (rps >= 0) lim.rps = rps;
  if (mbps >= 0) lim.mbps = mbps;
  if (source_qps >= 0) lim.source_qps = source_qps;
  if (auto st = runner::save_throttle(*t.store, t.record.id, phase, lim); !st.ok()) {
    return io.fail(kExitFailed, st.message());
  }
  if (io.json()) {
    io.print_json({{"task", t.record.name}, {"phase", phase}, {"source_qps", lim.source_qps}, {"rps", lim.rps},
                   {"mbps", lim.mbps}});
  } else {
    io.print(fmt::format("task {}: {} limits source_qps {}, rps {}, mbps {} (0 = unlimited); a running task "
                         "applies them within a second\n",
                         t.record.name, incremental ? "incremental" : "full-copy", lim.source_qps, lim.rps, lim.mbps));
  }
  return kExitOk;
}

int cmd_pause(const std::string& path, const std::string& state_dir, Io& io) {
  Loaded l;
  Opened t;
  if (int rc = load_and_open(path, state_dir, io, &l, &t)) return rc;
  if (auto st = runner::request_pause(*t.store, t.record.id); !st.ok()) return io.fail(kExitFailed, st.message());
  io.print("task " + t.record.name + ": pause requested\n");
  return kExitOk;
}

}  // namespace app
