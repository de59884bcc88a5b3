#include "runner/runner.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "change/start_point.h"
#include "common/log.h"
#include "copy/collection_copy.h"
#include "precheck/precheck.h"
#include "runner/controls.h"
#include "schema/schema.h"

#if __has_include("apply/incremental.h")
#include "apply/incremental.h"
#define MONGOSHIFT_HAS_INCREMENTAL 1
#endif

namespace runner {

namespace {

using common::Status;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

throttle::Limits task_limits(const task::TaskOptions& o) {
  return {o.throttle.full.source_qps, o.throttle.full.rps, o.throttle.full.mbps};
}

copy::CollectionSpec collection_spec(const task::PlannedObject& o) {
  copy::CollectionSpec s;
  s.src_db = o.source.db;
  s.src_coll = o.source.name;
  s.dst_db = o.target.db;
  s.dst_coll = o.target.coll;
  s.filter = o.filter;
  s.ordered = o.source.capped();
  s.clustered = o.source.clustered();
  s.natural = o.source.capped() || o.source.is_timeseries() || o.source.clustered();
  s.count_estimate = o.source.count.value_or(0);
  s.bytes_estimate = o.source.size.value_or(0);
  return s;
}

std::string ts_text(const change::StartPoint& p) { return fmt::format("Timestamp({}, {})", p.t, p.i); }

// One run of a task: the pieces every phase uses.
class Run {
 public:
  Run(const RunInputs& in, const std::atomic<bool>& stop, const RunOutput& out)
      : in_(in), stop_(stop), out_(out), options_(in.task->options), throttle_(task_limits(options_)) {}

  common::Result<RunReport> execute();

 private:
  Status precheck_or_plan(bool first_run);
  Status connect();
  Status phase(const std::string& name);
  Status do_schema_collections();
  Status do_indexes();
  Status do_start_point();
  Status do_copy();
  common::Result<bool> do_incremental();  // true: cut over
  Status finalize();
  void poll_loop();
  monitor::Snapshot snapshot();
  void note(const std::string& s) {
    MS_LOG_INFO("{}", s);
    if (out_.note) out_.note(s);
  }
  bool halted() const { return halt_.load(); }
  throttle::RetryWindows windows() const {
    return {std::chrono::minutes(options_.retry.connection_minutes), std::chrono::minutes(options_.retry.other_minutes)};
  }

  const RunInputs& in_;
  const std::atomic<bool>& stop_;
  const RunOutput& out_;
  const task::TaskOptions& options_;
  throttle::Throttle throttle_;
  std::atomic<bool> halt_{false};   // stop_, a pause request, or a failed collection
  std::atomic<bool> done_{false};   // ends the poller
  task::Plan plan_;
  std::unique_ptr<client::Pool> source_, destination_;
  std::mutex progress_mu_;
  std::vector<std::unique_ptr<copy::Progress>> progress_;
  std::string phase_;
  std::string detail_;
  int64_t started_ms_ = now_ms();
  RunReport report_;
  change::StartPoint t0_;
};

Status Run::phase(const std::string& name) {
  {
    std::lock_guard<std::mutex> g(progress_mu_);
    phase_ = name;
  }
  MS_RETURN_IF_ERROR(save_phase(*in_.store, in_.record.id, name));
  if (out_.progress) out_.progress(snapshot());
  return Status::OK();
}

// A passed precheck of the same task file from the last few minutes (mongoshift precheck
// just before run) is not repeated: its scans cost the source as much as a copy's reads.
constexpr int64_t kPrecheckReuseMs = 10 * 60 * 1000;

Status Run::precheck_or_plan(bool first_run) {
  if (first_run) {
    auto last = in_.store->last_precheck(in_.record.id);
    if (last.ok() && last->has_value() && (*last)->passed && (*last)->config_hash == in_.record.config_hash &&
        now_ms() - (*last)->finished_at_ms < kPrecheckReuseMs) {
      auto conn = source_->acquire();
      MS_ASSIGN_OR_RETURN(plan_, task::read_plan(conn, options_));
      note(fmt::format("precheck passed {} s ago (not repeated)", (now_ms() - (*last)->finished_at_ms) / 1000));
      return Status::OK();
    }
    MS_RETURN_IF_ERROR(phase("precheck"));
    precheck::Report report = precheck::run_precheck(*in_.task, in_.ignored_warnings);
    std::vector<std::string> blocking;
    for (const auto& i : report.items) {
      if (i.status == precheck::Status::kFailed || (i.status == precheck::Status::kWarning && !i.ignored)) {
        blocking.push_back(i.id + " (" + (i.status == precheck::Status::kFailed ? "failed" : "warning") + "): " + i.detail);
      }
    }
    if (!blocking.empty()) {
      std::string msg = "precheck blocks the start:";
      for (const auto& b : blocking) msg += "\n  " + b;
      msg += "\n(mongoshift precheck --task FILE shows the fixes; warnings can be ignored with --ignore-warning ID)";
      (void)in_.store->set_task_state(in_.record.id, state::TaskState::kPrecheckFailed,
                                      std::to_string(blocking.size()) + " blocking precheck items");
      return Status(common::kIllegalOperation, msg);
    }
    plan_ = std::move(report.plan);
    note("precheck passed");
    return Status::OK();
  }
  // A resumed task passed its precheck at the first start; the destination now holds its
  // own partial copy, which the conflicts item would refuse.
  auto conn = source_->acquire();
  MS_ASSIGN_OR_RETURN(plan_, task::read_plan(conn, options_));
  note("resuming task " + in_.record.name + " (precheck passed at its first start)");
  return Status::OK();
}

Status Run::connect() {
  int per_collection = std::max(1, options_.copy.parallel_partitions) * 2 + 2;
  int size = std::max(1, options_.copy.parallel_collections) * per_collection + 4;
  client::ConnectSpec s = in_.source, d = in_.destination;
  s.max_pool_size = size;
  d.max_pool_size = size;
  MS_ASSIGN_OR_RETURN(source_, client::Pool::open(s));
  MS_ASSIGN_OR_RETURN(destination_, client::Pool::open(d));
  return Status::OK();
}

Status Run::do_schema_collections() {
  MS_RETURN_IF_ERROR(phase("schema"));
  auto dst = destination_->acquire();
  schema::Context ctx{dst, plan_, options_, *in_.store, in_.record.id};
  Status st = throttle::with_retries("schema", windows(), &halt_, [&] { return schema::create_collections(ctx); });
  if (st.ok()) st = throttle::with_retries("schema (views)", windows(), &halt_, [&] { return schema::create_views(ctx); });
  if (st.ok() && options_.copy.index_build == task::IndexBuild::kBeforeCopy) st = do_indexes();
  if (st.ok()) note(fmt::format("schema: {} objects created or found", plan_.objects.size()));
  return st;
}

Status Run::do_indexes() {
  auto dst = destination_->acquire();
  schema::Context ctx{dst, plan_, options_, *in_.store, in_.record.id};
  return throttle::with_retries("index build", windows(), &halt_, [&] { return schema::create_indexes(ctx); });
}

Status Run::do_start_point() {
  MS_ASSIGN_OR_RETURN(auto saved, change::load_start_point(*in_.store, in_.record.id));
  if (saved) {
    t0_ = *saved;
  } else {
    auto src = source_->acquire();
    Status st = throttle::with_retries("capturing T0", windows(), &halt_, [&]() -> Status {
      auto p = change::capture_start_point(src);
      if (!p.ok()) return p.status();
      t0_ = *p;
      return Status::OK();
    });
    if (!st.ok()) {
      // Without incremental a source that has no oplog (standalone) can still be copied.
      if (options_.has(task::MigrationType::kIncremental)) return st;
      note("no start point (T0) on this source: " + st.message());
      return Status::OK();
    }
    MS_RETURN_IF_ERROR(change::save_start_point(*in_.store, in_.record.id, t0_));
  }
  report_.t0 = ts_text(t0_);
  note("start point T0 = " + report_.t0);
  return Status::OK();
}

Status Run::do_copy() {
  MS_RETURN_IF_ERROR(phase("full"));
  copy::CopyStore store(*in_.store, in_.record.id);
  std::vector<copy::CollectionSpec> specs;
  for (const auto& o : plan_.objects) {
    if (o.source.is_view()) continue;
    specs.push_back(collection_spec(o));
    auto p = std::make_unique<copy::Progress>();
    p->source_ns = specs.back().source_ns();
    p->target_ns = specs.back().target_ns();
    p->docs_estimated = specs.back().count_estimate;
    p->bytes_estimated = specs.back().bytes_estimate;
    std::lock_guard<std::mutex> g(progress_mu_);
    progress_.push_back(std::move(p));
  }
  copy::CopySettings settings;
  settings.options = options_.copy;
  settings.conflicts = options_.conflict_mode;
  settings.retry = windows();
  int parallel = std::max(1, std::min<int>(options_.copy.parallel_collections, static_cast<int>(specs.size())));
  settings.queue_bytes = std::max<int64_t>(1 << 20, (options_.copy.queue_mb << 20) / parallel);
  settings.on_retry = [this](const Status& st, int attempt) {
    MS_LOG_WARN("retrying (attempt {}): {}", attempt, st.message());
    std::lock_guard<std::mutex> g(progress_mu_);
    report_.retries++;
    detail_ = fmt::format("retrying (attempt {}): {}", attempt, st.message());
  };
  copy::Endpoints ends{source_.get(), destination_.get()};
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  Status first_error;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < specs.size() && !halted();) {
      Status st = copy::copy_collection(ends, store, throttle_, specs[i], settings, *progress_[i], halt_);
      if (!st.ok() && st.code() != common::kInterrupted) {
        std::lock_guard<std::mutex> g(err_mu);
        if (first_error.ok()) first_error = st;
        halt_ = true;
      }
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < parallel; ++i) ts.emplace_back(worker);
  for (auto& t : ts) t.join();
  for (const auto& p : progress_) {
    report_.docs[p->target_ns] = p->docs;
    report_.skipped += p->skipped;
    report_.recopied += p->recopied;
  }
  MS_RETURN_IF_ERROR(first_error);
  if (halted()) return Status(common::kInterrupted, "paused during the full copy");
  note("full copy done");
  return Status::OK();
}

Status Run::finalize() {
  auto dst = destination_->acquire();
  schema::Context ctx{dst, plan_, options_, *in_.store, in_.record.id};
  return throttle::with_retries("finalize", windows(), nullptr, [&] { return schema::restore_ttl(ctx); });
}

common::Result<bool> Run::do_incremental() {
#ifdef MONGOSHIFT_HAS_INCREMENTAL
  MS_RETURN_IF_ERROR(phase("incremental"));
  apply::IncrementalContext ctx;
  ctx.options = &options_;
  ctx.plan = &plan_;
  ctx.source = in_.source;
  ctx.destination = in_.destination;
  ctx.store = in_.store;
  ctx.task_id = in_.record.id;
  ctx.t0 = t0_;
  {
    auto src = source_->acquire();
    auto t1 = change::capture_start_point(src);
    if (t1.ok()) ctx.t1 = *t1;
  }
  ctx.interrupt = &halt_;
  ctx.finalize = [this] { return finalize(); };
  ctx.on_status = [this](const apply::IncrementalStatus& s) {
    std::lock_guard<std::mutex> g(progress_mu_);
    detail_ = s.text;
  };
  MS_ASSIGN_OR_RETURN(auto outcome, apply::run_incremental(ctx));
  return outcome.end == apply::IncrementalOutcome::End::kCutOver;
#else
  return Status(common::kNotImplemented, "this build has no incremental phase (src/apply)");
#endif
}

monitor::Snapshot Run::snapshot() {
  monitor::Snapshot s;
  s.task_name = in_.record.name;
  s.task_state = "migrating";
  s.now_ms = now_ms();
  s.started_at_ms = started_ms_;
  std::lock_guard<std::mutex> g(progress_mu_);
  s.phase = phase_;
  s.detail = detail_;
  for (const auto& p : progress_) {
    monitor::CollectionLine l;
    l.source_ns = p->source_ns;
    l.target_ns = p->target_ns;
    l.docs = p->docs;
    l.bytes = p->bytes;
    l.skipped = p->skipped;
    l.docs_estimated = p->docs_estimated;
    l.bytes_estimated = p->bytes_estimated;
    l.state = p->done ? "done" : "copying";
    l.started_at_ms = started_ms_;
    s.collections.push_back(std::move(l));
  }
  return s;
}

// Once a second: throttle limits and pause requests from other shells, a heartbeat, the
// progress display. Uses its own connection to the store.
void Run::poll_loop() {
  auto store = state::StateStore::open(in_.state_dir);
  int tick = 0;
  while (!done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stop_) halt_ = true;
    if (++tick % 10 != 0) continue;
    if (store.ok()) {
      if (auto l = load_throttle(**store, in_.record.id, "full"); l.ok() && l->has_value() && **l != throttle_.limits()) {
        throttle_.set_limits(**l);
        note(fmt::format("throttle: source_qps {}, rps {}, mbps {}", (*l)->source_qps, (*l)->rps, (*l)->mbps));
      }
      if (auto c = load_control(**store, in_.record.id); c.ok() && c->pause_requested && !halt_) {
        note("pause requested");
        halt_ = true;
      }
      std::string ph;
      {
        std::lock_guard<std::mutex> g(progress_mu_);
        ph = phase_;
      }
      (void)save_phase(**store, in_.record.id, ph);
    }
    if (out_.progress) out_.progress(snapshot());
  }
}

common::Result<RunReport> Run::execute() {
  MS_ASSIGN_OR_RETURN(RunControl before, load_control(*in_.store, in_.record.id));
  if (before.phase == "finished") {
    note("task " + in_.record.name + " has already finished; nothing to do");
    return report_;
  }
  bool first_run = before.phase.empty() || before.phase == "precheck";
  MS_RETURN_IF_ERROR(save_phase(*in_.store, in_.record.id, first_run ? "precheck" : before.phase, /*start=*/true));
  MS_ASSIGN_OR_RETURN(auto limits, load_throttle(*in_.store, in_.record.id, "full"));
  if (limits) throttle_.set_limits(*limits);
  std::thread poller([this] { poll_loop(); });
  struct Join {
    Run* r;
    std::thread& t;
    ~Join() {
      r->done_ = true;
      t.join();
    }
  } join{this, poller};

  Status st = connect();
  if (st.ok()) st = precheck_or_plan(first_run);
  if (!st.ok()) return st;
  MS_RETURN_IF_ERROR(in_.store->set_task_state(in_.record.id, state::TaskState::kMigrating));
  const bool schema = options_.has(task::MigrationType::kSchema);
  if (schema) MS_RETURN_IF_ERROR(do_schema_collections());
  if (halted()) return Status(common::kInterrupted, "paused");
  MS_RETURN_IF_ERROR(do_start_point());
  if (options_.has(task::MigrationType::kFull)) MS_RETURN_IF_ERROR(do_copy());
  if (schema && options_.copy.index_build == task::IndexBuild::kAfterCopy) {
    MS_RETURN_IF_ERROR(phase("index_build"));
    MS_RETURN_IF_ERROR(do_indexes());
    note("indexes built");
  }
  report_.end = RunReport::End::kCopied;
  if (options_.has(task::MigrationType::kIncremental)) {
    MS_ASSIGN_OR_RETURN(bool cut_over, do_incremental());
    if (!cut_over) return Status(common::kInterrupted, "paused during the incremental phase");
    report_.end = RunReport::End::kFinished;
  } else {
    MS_RETURN_IF_ERROR(phase("finalize"));
    MS_RETURN_IF_ERROR(finalize());
  }
  MS_RETURN_IF_ERROR(phase("finished"));
  report_.elapsed_ms = now_ms() - started_ms_;
  return report_;
}

}  // namespace

common::Result<RunReport> run_task(const RunInputs& in, const std::atomic<bool>& stop, const RunOutput& out) {
  Run run(in, stop, out);
  auto r = run.execute();
  if (r.ok()) {
    (void)in.store->set_task_state(in.record.id, state::TaskState::kFinished);
    return r;
  }
  if (r.status().code() == common::kInterrupted) {
    (void)in.store->set_task_state(in.record.id, state::TaskState::kPaused, r.status().message());
    RunReport paused;
    paused.end = RunReport::End::kPaused;
    return paused;
  }
  auto cur = in.store->get_task(in.record.id);
  if (!cur.ok() || cur->state != state::TaskState::kPrecheckFailed) {
    (void)in.store->set_task_state(in.record.id, state::TaskState::kFailed, r.status().message());
  }
  return r.status();
}

}  // namespace runner
