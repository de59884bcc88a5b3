// The commands. Each loads and validates the task file first (exit 2 on any error), then
// talks to the servers; every line printed passes through the secret scrubber, so a password
// can never reach the terminal, a pipe or a log even if some library echoed it.
#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "app/incr_commands.h"
#include "app/io.h"
#include "app/render.h"
#include "client/connectivity.h"
#include "common/log.h"
#include "precheck/precheck.h"
#include "state/state_store.h"
#include "task/endpoint.h"
#include "task/plan.h"
#include "task/task_file.h"

#ifndef MONGOSHIFT_VERSION
#define MONGOSHIFT_VERSION "0.1.0"
#endif

namespace app {

int load(const std::string& path, Io& io, Loaded* out) {
  auto tf = task::load_task_file(path);
  if (!tf.ok()) return io.fail(kExitBadInput, tf.status().message());
  out->task = std::move(tf).value();
  auto src = task::connect_spec(out->task.options.source);
  if (!src.ok()) return io.fail(kExitBadInput, path + ": source: " + src.status().message());
  auto dst = task::connect_spec(out->task.options.destination);
  if (!dst.ok()) return io.fail(kExitBadInput, path + ": destination: " + dst.status().message());
  out->source = std::move(src).value();
  out->destination = std::move(dst).value();
  io.add_secret(out->source.password);
  io.add_secret(out->destination.password);
  return kExitOk;
}

common::Result<state::TaskRecord> register_task(state::StateStore& store, const std::string& path,
                                                const task::TaskFile& task) {
  std::error_code ec;
  std::string abs = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec).string();
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return store.register_task(abs, task.options.name, client::redact_uri(text.str()));
}

namespace {

int cmd_plan(const std::string& path, Io& io) {
  Loaded l;
  if (int rc = load(path, io, &l)) return rc;
  auto conn = client::Connection::open(l.source);
  if (!conn.ok()) return io.fail(kExitFailed, "source: " + conn.status().message());
  auto plan = task::read_plan(*conn, l.task.options);
  if (!plan.ok()) {
    return io.fail(kExitFailed, "cannot read the source catalog (" + task::describe(l.task.options.source) +
                                    "): " + plan.status().message() + " (mongoshift test-connection diagnoses it)");
  }
  if (io.json()) {
    io.print_json(plan_json(l.task, *plan));
  } else {
    io.print(plan_text(l.task, *plan));
  }
  // Collisions, illegal names and selections of nothing are mistakes in the task file.
  return plan->ok() ? kExitOk : kExitBadInput;
}

int cmd_test_connection(const std::string& path, Io& io) {
  Loaded l;
  if (int rc = load(path, io, &l)) return rc;
  const auto& o = l.task.options;
  auto fs = std::async(std::launch::async, [&] {
    return client::test_connectivity(l.source, precheck::source_requirements(o, nullptr));
  });
  auto fd = std::async(std::launch::async, [&] {
    return client::test_connectivity(l.destination, precheck::destination_requirements(o, nullptr));
  });
  client::ConnectivityReport s = fs.get(), d = fd.get();
  if (io.json()) {
    nlohmann::ordered_json j;
    j["ok"] = s.ok() && d.ok();
    j["source"] = connectivity_json(s);
    j["destination"] = connectivity_json(d);
    io.print_json(j);
  } else {
    io.print(connectivity_text("source", task::describe(o.source), s) + "\n" +
             connectivity_text("destination", task::describe(o.destination), d));
  }
  if (!s.ok() || !d.ok()) {
    std::string msg;
    if (!s.ok()) msg += "source: " + s.message;
    if (!d.ok()) msg += std::string(msg.empty() ? "" : "; ") + "destination: " + d.message;
    return io.fail(kExitFailed, msg);
  }
  return kExitOk;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int cmd_precheck(const std::string& path, const std::vector<std::string>& ignore, const std::string& state_dir, Io& io) {
  Loaded l;
  if (int rc = load(path, io, &l)) return rc;
  for (const auto& id : ignore) {
    if (!precheck::known_item(id)) {
      std::string known;
      for (const auto& i : precheck::item_catalog()) known += (known.empty() ? "" : ", ") + i.id;
      return io.fail(kExitBadInput, "--ignore-warning " + id + ": no such precheck item (items: " + known + ")");
    }
    if (precheck::item_level(id, l.task.options) == precheck::Level::kError) {
      return io.fail(kExitBadInput, "--ignore-warning " + id +
                                        ": this item is an error, not a warning; it must be fixed, it cannot be ignored");
    }
  }
  auto store = state::StateStore::open(state_dir);
  if (!store.ok()) return io.fail(kExitFailed, store.status().message());
  auto rec = register_task(**store, path, l.task);
  if (!rec.ok()) return io.fail(kExitFailed, rec.status().message());
  auto lock = (*store)->lock_task(*rec);
  if (!lock.ok()) return io.fail(kExitFailed, lock.status().message());
  for (const auto& id : ignore) {
    if (auto st = (*store)->ignore_warning(rec->id, id); !st.ok()) return io.fail(kExitFailed, st.message());
  }
  auto ignored = (*store)->ignored_warnings(rec->id);
  if (!ignored.ok()) return io.fail(kExitFailed, ignored.status().message());
  if (auto st = (*store)->set_task_state(rec->id, state::TaskState::kPrechecking); !st.ok()) {
    return io.fail(kExitFailed, st.message());
  }
  state::PrecheckRun run;
  run.task_id = rec->id;
  run.config_hash = rec->config_hash;
  run.started_at_ms = now_ms();
  precheck::Report report = precheck::run_precheck(l.task, *ignored);
  run.finished_at_ms = now_ms();
  run.passed = !report.blocked();
  int failed = 0, warnings = 0;
  for (const auto& i : report.items) {
    run.items.push_back({i.id, i.title, precheck::to_string(i.level), precheck::to_string(i.status), i.detail, i.fix,
                         i.ignored});
    failed += i.status == precheck::Status::kFailed;
    warnings += i.status == precheck::Status::kWarning && !i.ignored;
  }
  if (auto r = (*store)->save_precheck(run); !r.ok()) return io.fail(kExitFailed, r.status().message());
  std::string reason = run.passed ? "" : std::to_string(failed) + " failed, " + std::to_string(warnings) + " warnings";
  if (auto st = (*store)->set_task_state(rec->id, run.passed ? state::TaskState::kPrecheckPassed
                                                             : state::TaskState::kPrecheckFailed,
                                         reason);
      !st.ok()) {
    return io.fail(kExitFailed, st.message());
  }
  if (io.json()) {
    nlohmann::ordered_json j = precheck_json(report);
    j["task"] = {{"id", rec->id}, {"name", rec->name}, {"file", rec->task_file}};
    io.print_json(j);
  } else {
    io.print("precheck of task " + rec->name + " (" + rec->id + ", " + path + ")\n\n" + precheck_text(report));
  }
  return run.passed ? kExitOk : kExitFailed;
}

}  // namespace

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err, bool terminal) {
  CLI::App cli{"mongoshift: migrates a live MongoDB deployment to another with no downtime", "mongoshift"};
  cli.set_version_flag("--version", std::string("mongoshift ") + MONGOSHIFT_VERSION);
  cli.require_subcommand(1);
  cli.fallthrough();
  std::string state_dir = ".mongoshift", log_level = "warn";
  cli.add_option("--state-dir", state_dir, "directory of the state store (created when missing)")
      ->capture_default_str();
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  std::string task_path;
  bool json = false;
  std::vector<std::string> ignore;
  auto* plan = cli.add_subcommand("plan", "connect to the source and print the resolved plan: each source "
                                          "namespace, its destination name, type, documents, size and indexes");
  auto* test = cli.add_subcommand("test-connection", "test each endpoint: resolution, TCP, TLS, authentication, "
                                                     "version, topology and privileges");
  auto* pre = cli.add_subcommand("precheck", "run the itemized precheck and record it in the state store");
  auto* run = cli.add_subcommand("run", "run the task: precheck, schema, full copy, index build, incremental "
                                        "(when selected); SIGINT/SIGTERM pause it, running it again resumes");
  auto* status = cli.add_subcommand("status", "show a task's state, phase and per-collection progress "
                                              "(from the state store; works while it runs)");
  auto* thr = cli.add_subcommand("throttle", "change the full-copy limits of a task, also while it runs "
                                             "(persisted; 0 = unlimited)");
  auto* pause = cli.add_subcommand("pause", "ask the running task to pause cleanly (run resumes it)");
  auto* resume = cli.add_subcommand("resume", "resume a paused task: runs it again from its checkpoints");
  auto* stop = cli.add_subcommand("stop", "cut over: wait until not delayed, tell the operator to stop writes, "
                                          "wait until the source is quiet, finalize and write the final report");
  for (auto* sub : {plan, test, pre, run, status, thr, pause, resume, stop}) {
    sub->add_option("--task", task_path, "the task file (YAML)")->required();
    sub->add_flag("--json", json, "print JSON (the default when stdout is not a terminal)");
  }
  pre->add_option("--ignore-warning", ignore, "ignore the warning with this item id (recorded; repeatable)");
  int64_t rps = -1, mbps = -1, source_qps = -1;
  thr->add_option("--rps", rps, "documents written per second")->check(CLI::NonNegativeNumber);
  thr->add_option("--mbps", mbps, "MB written per second")->check(CLI::NonNegativeNumber);
  thr->add_option("--source-qps", source_qps, "source read commands per second")->check(CLI::NonNegativeNumber);
  bool incremental_limits = false;
  thr->add_flag("--incremental", incremental_limits, "change the incremental phase's limits (--rps, --mbps) instead");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto rest = cli.remaining();
    if (e.get_exit_code() != 0 && !rest.empty() && cli.get_subcommands().empty()) {
      // CLI11 would only say that a subcommand is required; name what was wrong instead.
      bool option = rest[0].rfind("-", 0) == 0;
      err << "mongoshift: unknown " << (option ? "option" : "command") << " '" << rest[0]
          << "' (commands: plan, test-connection, precheck, run, status, throttle, pause, resume, stop; see --help)\n";
      return kExitBadInput;
    }
    int code = cli.exit(e, out, err);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  common::init_logging(log_level);
  Io io(out, err, json || !terminal);
  if (plan->parsed()) return cmd_plan(task_path, io);
  if (test->parsed()) return cmd_test_connection(task_path, io);
  if (run->parsed()) return cmd_run(task_path, state_dir, terminal && !json, io);
  if (status->parsed()) return cmd_status(task_path, state_dir, io);
  if (thr->parsed()) return cmd_throttle(task_path, state_dir, rps, mbps, source_qps, incremental_limits, io);
  if (pause->parsed()) return cmd_pause(task_path, state_dir, io);
  if (resume->parsed()) return cmd_resume(task_path, state_dir, terminal && !json, io);
  if (stop->parsed()) return cmd_stop(task_path, state_dir, io);
  return cmd_precheck(task_path, ignore, state_dir, io);
}

}  // namespace app
