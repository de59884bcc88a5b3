#include "apply/incremental.h"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <map>
#include <thread>

#include "apply/ddl.h"
#include "apply/final_report.h"
#include "apply/incremental_store.h"
#include "apply/lanes.h"
#include "apply/mapper.h"
#include "apply/source_probe.h"
#include "change/oplog_reader.h"
#include "change/stream_reader.h"
#include "common/log.h"
#include "throttle/retry.h"
#include "throttle/token_bucket.h"

namespace apply {

namespace {

using Clock = std::chrono::steady_clock;
using change::OpTime;

OpTime to_optime(const change::StartPoint& p) { return OpTime{p.t, p.i}; }
OpTime max_of(OpTime a, OpTime b) { return a < b ? b : a; }
constexpr OpTime kForever{0xFFFFFFFFu, 0xFFFFFFFFu};

class Incremental {
 public:
  Incremental(const IncrementalContext& ctx, Mapper mapper) : ctx_(ctx), opts_(*ctx.options), mapper_(std::move(mapper)) {
    windows_.connection = std::chrono::minutes(opts_.retry.connection_minutes);
    windows_.other = std::chrono::minutes(opts_.retry.other_minutes);
  }
  common::Result<IncrementalOutcome> run();

 private:
  enum class CutOver { kNone, kWaitNotDelayed, kWaitQuiet };

  bool interrupted() const { return ctx_.interrupt && ctx_.interrupt->load(); }
  common::Status open();
  common::Status with_retries(const std::string& what, const std::function<common::Status()>& fn);
  common::Status process(change::ChangeBatch& batch);
  common::Status dispatch(const change::ChangeEvent& e, Mapped& m);
  common::Status barrier(const change::ChangeEvent& e, const Mapped& m);
  common::Status resolve_fetches(std::vector<Mapped>& mapped);
  bool ordered(const std::string& db, const std::string& coll);
  void settle();  // drops applied entries from pending_
  change::ResumePoint checkpoint_position();
  common::Status save_checkpoint(bool force, const change::ResumePoint* at = nullptr);
  common::Status tick();  // about once a second: controls, lag, status
  int64_t lag_seconds() const;
  std::string status_text() const;
  void set_task_state(state::TaskState s, const std::string& reason);
  common::Result<IncrementalOutcome> finish(IncrementalOutcome::End end);

  const IncrementalContext& ctx_;
  const task::TaskOptions& opts_;
  Mapper mapper_;
  throttle::RetryWindows windows_;
  std::unique_ptr<client::Pool> dest_pool_;
  std::optional<client::Connection> source_, dest_;  // DDL, fetches, lag
  std::unique_ptr<change::ChangeReader> reader_;
  throttle::Throttle throttle_;
  std::unique_ptr<Lanes> lanes_;
  std::string method_;

  struct Pending {
    uint64_t seq;
    change::ResumePoint resume;
    OpTime ts;
  };
  std::deque<Pending> pending_;
  uint64_t seq_ = 0;
  change::ResumePoint batch_end_;
  bool caught_up_ = false;
  OpTime newest_source_;
  OpTime tolerant_until_;  // this run replays idempotently up to here
  OpTime dispatched_;      // newest change handed to the lanes (persisted: the next run's window)
  OpTime saved_dispatched_;
  OpTime t1_;
  std::atomic<uint64_t> tolerant_value_{0};
  std::map<std::string, bool> ordered_;
  int64_t skipped_ = 0, ddl_applied_ = 0;
  bool paused_ = false;
  std::string retry_reason_;
  CutOver cut_over_ = CutOver::kNone;
  Clock::time_point last_tick_{}, last_checkpoint_ = Clock::now(), quiet_since_ = Clock::now();
};

common::Status Incremental::with_retries(const std::string& what, const std::function<common::Status()>& fn) {
  common::Status st = throttle::with_retries(what, windows_, ctx_.interrupt, fn, [&](const common::Status& s, int) {
    retry_reason_ = s.to_string();
    set_task_state(state::TaskState::kRetrying, retry_reason_);
    MS_LOG_WARN("incremental: retrying {}: {}", what, retry_reason_);
  });
  if (!retry_reason_.empty()) {
    retry_reason_.clear();
    set_task_state(state::TaskState::kMigrating, "incremental");
  }
  return st;
}

void Incremental::set_task_state(state::TaskState s, const std::string& reason) {
  auto t = ctx_.store->get_task(ctx_.task_id);
  if (t.ok() && t->state != s) (void)ctx_.store->set_task_state(ctx_.task_id, s, reason);
}

common::Status Incremental::open() {
  auto pool = client::Pool::open(ctx_.destination);
  if (!pool.ok()) return pool.status();
  dest_pool_ = std::move(pool).value();
  MS_RETURN_IF_ERROR(with_retries("connecting to the source", [&] {
    auto c = client::Connection::open(ctx_.source);
    if (c.ok()) source_.emplace(std::move(c).value());
    return c.status();
  }));
  MS_RETURN_IF_ERROR(with_retries("connecting to the destination", [&] {
    auto c = client::Connection::open(ctx_.destination);
    if (c.ok()) dest_.emplace(std::move(c).value());
    return c.status();
  }));

  MS_ASSIGN_OR_RETURN(auto saved, load_checkpoint(*ctx_.store, ctx_.task_id));
  change::ResumePoint start;
  start.ts = to_optime(ctx_.t0);
  if (saved) {
    method_ = saved->method;
    start = saved->position;
    t1_ = saved->t1;
    tolerant_until_ = saved->tolerant_until;
  } else {
    switch (opts_.incremental.method) {
      case task::IncrementalMethod::kOplog: method_ = "oplog"; break;
      case task::IncrementalMethod::kChangeStream: method_ = "change_stream"; break;
      case task::IncrementalMethod::kAuto: method_ = oplog_readable(*source_) ? "oplog" : "change_stream"; break;
    }
  }
  if (ctx_.t1) t1_ = max_of(t1_, to_optime(*ctx_.t1));
  // Without a consistency point the whole phase is idempotent.
  tolerant_until_ = t1_.empty() ? kForever : max_of(tolerant_until_, t1_);
  dispatched_ = saved_dispatched_ = tolerant_until_ == kForever ? OpTime{} : tolerant_until_;
  tolerant_value_ = tolerant_until_.value();
  if (method_ == "oplog") reader_ = std::make_unique<change::OplogReader>(ctx_.source, start);
  else reader_ = std::make_unique<change::StreamReader>(ctx_.source, start);
  batch_end_ = start;
  throttle_.set_limits({0, opts_.throttle.incremental.rps, opts_.throttle.incremental.mbps});

  LaneOptions lo;
  lo.lanes = opts_.incremental.lanes;
  lo.batch_ops = opts_.incremental.batch_ops;
  lo.queue_bytes = opts_.incremental.queue_mb << 20;
  lo.retry = opts_.retry;
  lanes_ = std::make_unique<Lanes>(
      lo, dest_pool_.get(), &throttle_,
      [this](const ApplyOp& op) { return op.tolerant || op.ts.value() <= tolerant_value_.load(); }, ctx_.interrupt);
  MS_LOG_INFO("incremental: {} from {}{}", method_, start.ts.str(), saved ? " (checkpoint)" : " (T0)");
  return save_checkpoint(true);
}

bool Incremental::ordered(const std::string& db, const std::string& coll) {
  std::string ns = db + "." + coll;
  auto found = ordered_.find(ns);
  if (found != ordered_.end()) return found->second;
  // A unique secondary index: operations on different documents must keep their order.
  bool unique = false;
  bson_t cmd = BSON_INITIALIZER;
  common::append_utf8(&cmd, "listIndexes", coll);
  auto specs = dest_->run_cursor(db, &cmd);
  bson_destroy(&cmd);
  if (specs.ok()) {
    for (const auto& s : *specs) {
      bson_iter_t it;
      unique = unique || (bson_iter_init_find(&it, s.get(), "unique") && bson_iter_as_bool(&it));
    }
  }
  ordered_[ns] = unique;
  return unique;
}

common::Status Incremental::resolve_fetches(std::vector<Mapped>& mapped) {
  std::map<std::pair<std::string, std::string>, std::vector<const common::Bson*>> wanted;
  for (const auto& m : mapped) {
    if (m.what == Mapped::What::kFetch) wanted[{m.fetch_db, m.fetch_coll}].push_back(&m.ops[0].key);
  }
  if (wanted.empty()) return common::Status::OK();
  for (const auto& [ns, keys] : wanted) {
    std::map<std::string, common::Bson> docs;
    MS_RETURN_IF_ERROR(with_retries("reading documents from the source", [&] {
      throttle_.before_read(ctx_.interrupt);
      auto r = fetch_by_id(*source_, ns.first, ns.second, keys);
      if (r.ok()) docs = std::move(r).value();
      return r.status();
    }));
    for (auto& m : mapped) {
      if (m.what != Mapped::What::kFetch || m.fetch_db != ns.first || m.fetch_coll != ns.second) continue;
      auto d = docs.find(std::string(m.ops[0].key.bytes()));
      m.ops[0] = mapper_.resolve_fetch(ns.first, ns.second, std::move(m.ops[0]), d == docs.end() ? nullptr : d->second.get());
      m.what = Mapped::What::kOps;
    }
  }
  // The fetched versions are newer than the changes after them: replay those idempotently.
  MS_ASSIGN_OR_RETURN(OpTime now, newest_optime(*source_));
  tolerant_until_ = max_of(tolerant_until_, now);
  tolerant_value_ = tolerant_until_.value();
  return common::Status::OK();
}

common::Status Incremental::barrier(const change::ChangeEvent& e, const Mapped& m) {
  MS_RETURN_IF_ERROR(lanes_->drain());
  settle();
  ++seq_;
  // Until the command is done, a restart re-reads from it.
  MS_RETURN_IF_ERROR(save_checkpoint(true, &e.resume));
  bool tolerant = e.ts <= tolerant_until_;
  for (const auto& a : m.ddl) {
    for (const auto& ttl : a.ttl) MS_RETURN_IF_ERROR(record_ttl(*ctx_.store, ctx_.task_id, ttl));
    MS_LOG_DEBUG("incremental: DDL at {}: {} on {}", e.ts.str(), a.command.json(), a.db);
    MS_RETURN_IF_ERROR(with_retries("applying " + a.command.json(), [&] {
      return apply_ddl(*dest_, *source_, a, tolerant || !retry_reason_.empty());
    }));
    if (a.copy_in || (a.recopy_when_tolerant && (tolerant || !retry_reason_.empty()))) {
      MS_ASSIGN_OR_RETURN(OpTime now, newest_optime(*source_));
      tolerant_until_ = max_of(tolerant_until_, now);
      tolerant_value_ = tolerant_until_.value();
    }
    ++ddl_applied_;
  }
  ordered_.clear();
  return save_checkpoint(true, &e.resume);
}

common::Status Incremental::dispatch(const change::ChangeEvent& e, Mapped& m) {
  switch (m.what) {
    case Mapped::What::kSkip:
    case Mapped::What::kFetch:
      ++skipped_;
      return common::Status::OK();
    case Mapped::What::kDdl:
      quiet_since_ = Clock::now();
      return barrier(e, m);
    case Mapped::What::kOps:
      break;
  }
  quiet_since_ = Clock::now();
  for (auto& op : m.ops) {
    op.seq = ++seq_;
    op.ordered = ordered(op.db, op.coll);
    pending_.push_back({op.seq, e.resume, e.ts});
    if (!lanes_->push(std::move(op))) {
      common::Status st = lanes_->error();
      return st.ok() ? common::Status(common::kInterrupted, "interrupted") : st;
    }
  }
  return common::Status::OK();
}

common::Status Incremental::process(change::ChangeBatch& batch) {
  std::vector<Mapped> mapped;
  mapped.reserve(batch.events.size());
  OpTime newest;
  for (const auto& e : batch.events) {
    MS_ASSIGN_OR_RETURN(Mapped m, mapper_.map(e));
    mapped.push_back(std::move(m));
    newest = max_of(newest, e.ts);
  }
  MS_RETURN_IF_ERROR(resolve_fetches(mapped));
  // Reserve the tolerance window of the next run before these changes can be applied.
  if (tolerant_until_ != kForever && saved_dispatched_ < newest) {
    dispatched_ = newest;
    MS_RETURN_IF_ERROR(save_checkpoint(true));
  }
  for (size_t k = 0; k < batch.events.size(); ++k) {
    MS_RETURN_IF_ERROR(dispatch(batch.events[k], mapped[k]));
    if (k % 256 == 0) MS_RETURN_IF_ERROR(tick());
  }
  batch_end_ = batch.position;
  caught_up_ = batch.caught_up;
  return common::Status::OK();
}

void Incremental::settle() {
  auto min = lanes_->min_pending();
  while (!pending_.empty() && (!min || pending_.front().seq < *min)) pending_.pop_front();
}

change::ResumePoint Incremental::checkpoint_position() {
  settle();
  return pending_.empty() ? batch_end_ : pending_.front().resume;
}

common::Status Incremental::save_checkpoint(bool force, const change::ResumePoint* at) {
  if (!force && Clock::now() - last_checkpoint_ < std::chrono::seconds(std::max(1, opts_.incremental.checkpoint_seconds))) {
    return common::Status::OK();
  }
  Checkpoint c;
  c.method = method_;
  c.position = at ? *at : checkpoint_position();
  c.t1 = t1_;
  c.tolerant_until = tolerant_until_ == kForever ? OpTime{} : max_of(tolerant_until_, dispatched_);
  if (tolerant_until_ == kForever) c.tolerant_until = OpTime{};
  MS_RETURN_IF_ERROR(apply::save_checkpoint(*ctx_.store, ctx_.task_id, c));
  saved_dispatched_ = dispatched_;
  last_checkpoint_ = Clock::now();
  return common::Status::OK();
}

int64_t Incremental::lag_seconds() const {
  OpTime behind;
  if (!pending_.empty()) behind = pending_.front().ts;
  else if (!caught_up_) behind = batch_end_.ts;
  else return 0;
  if (behind.empty() || newest_source_ <= behind) return 0;
  return static_cast<int64_t>(newest_source_.t) - static_cast<int64_t>(behind.t);
}

std::string Incremental::status_text() const {
  if (!retry_reason_.empty() || lanes_->retrying()) {
    return "incremental, retrying: " + (retry_reason_.empty() ? lanes_->retry_reason() : retry_reason_);
  }
  if (paused_) return "incremental, paused";
  int64_t lag = lag_seconds();
  std::string base = lag > 0 ? fmt::format("incremental, delayed {} s", lag) : "incremental, not delayed";
  switch (cut_over_) {
    case CutOver::kNone: return base;
    case CutOver::kWaitNotDelayed: return base + "; cut-over: waiting until not delayed";
    case CutOver::kWaitQuiet: return base + "; cut-over: stop writes to the source now, waiting until it is quiet";
  }
  return base;
}

common::Status Incremental::tick() {
  if (Clock::now() - last_tick_ < std::chrono::seconds(1)) return common::Status::OK();
  last_tick_ = Clock::now();
  if (auto n = newest_optime(*source_); n.ok()) newest_source_ = max_of(newest_source_, *n);
  settle();
  MS_ASSIGN_OR_RETURN(paused_, pause_requested(*ctx_.store, ctx_.task_id));
  MS_ASSIGN_OR_RETURN(auto limits, load_limits(*ctx_.store, ctx_.task_id));
  if (limits) {
    throttle::Limits l{0, limits->rps, limits->mbps};
    if (!(l == throttle_.limits())) throttle_.set_limits(l);  // `mongoshift throttle` while running
  }
  if (cut_over_ == CutOver::kNone) {
    MS_ASSIGN_OR_RETURN(bool stop, stop_requested(*ctx_.store, ctx_.task_id));
    if (stop) {
      cut_over_ = CutOver::kWaitNotDelayed;
      MS_LOG_INFO("incremental: cut-over requested; waiting until not delayed");
    }
  }
  if (cut_over_ == CutOver::kWaitNotDelayed && lag_seconds() == 0 && caught_up_) {
    cut_over_ = CutOver::kWaitQuiet;
    quiet_since_ = Clock::now();
    MS_LOG_WARN("incremental: not delayed — stop writes to the source now; cut-over follows once it is quiet");
  }
  IncrementalStatus s;
  s.text = status_text();
  s.lag_seconds = lag_seconds();
  s.retrying = !retry_reason_.empty() || lanes_->retrying();
  s.cutting_over = cut_over_ != CutOver::kNone;
  change::ResumePoint p = checkpoint_position();
  s.applied_t = p.ts.t;
  s.applied_i = p.ts.i;
  s.events_applied = lanes_->applied() + ddl_applied_;
  s.events_skipped = skipped_;
  MS_RETURN_IF_ERROR(save_status(*ctx_.store, ctx_.task_id, {s.text, s.lag_seconds, s.events_applied, 0}));
  if (ctx_.on_status) ctx_.on_status(s);
  return save_checkpoint(false);
}

common::Result<IncrementalOutcome> Incremental::finish(IncrementalOutcome::End end) {
  IncrementalOutcome out;
  out.end = end;
  change::ResumePoint p = checkpoint_position();
  out.last_applied_t = p.ts.t;
  out.last_applied_i = p.ts.i;
  MS_RETURN_IF_ERROR(save_checkpoint(true));
  if (end == IncrementalOutcome::End::kInterrupted) return out;
  if (ctx_.finalize) MS_RETURN_IF_ERROR(ctx_.finalize());
  MS_ASSIGN_OR_RETURN(out.counts, count_collections(*source_, *dest_, opts_, mapper_));
  MS_ASSIGN_OR_RETURN(out.report_path, write_final_report(ctx_.store->dir(), ctx_.task_id, method_, out));
  (void)save_status(*ctx_.store, ctx_.task_id, {"incremental, cut over", 0, lanes_->applied() + ddl_applied_, 0});
  MS_LOG_INFO("incremental: cut over at {}; report {}", p.ts.str(), out.report_path);
  return out;
}

common::Result<IncrementalOutcome> Incremental::run() {
  MS_RETURN_IF_ERROR(open());
  while (true) {
    if (interrupted()) return finish(IncrementalOutcome::End::kInterrupted);
    MS_RETURN_IF_ERROR(lanes_->error());
    MS_RETURN_IF_ERROR(tick());
    if (paused_) return finish(IncrementalOutcome::End::kInterrupted);  // `mongoshift pause`
    if (cut_over_ == CutOver::kWaitQuiet && caught_up_ &&
        Clock::now() - quiet_since_ >= std::chrono::seconds(std::max(1, ctx_.quiet_seconds))) {
      MS_RETURN_IF_ERROR(lanes_->drain());
      settle();
      if (pending_.empty()) return finish(IncrementalOutcome::End::kCutOver);
    }
    change::ChangeBatch batch;
    common::Status st = with_retries("reading changes from the source", [&] {
      auto b = reader_->next_batch();
      if (b.ok()) batch = std::move(b).value();
      return b.status();
    });
    if (!st.ok()) {
      if (interrupted()) return finish(IncrementalOutcome::End::kInterrupted);
      (void)save_checkpoint(true);
      return st;
    }
    st = process(batch);
    if (!st.ok()) {
      if (interrupted()) return finish(IncrementalOutcome::End::kInterrupted);
      (void)save_checkpoint(true);
      return st;
    }
  }
}

}  // namespace

common::Result<IncrementalOutcome> run_incremental(const IncrementalContext& ctx) {
  if (!ctx.options || !ctx.store) return common::Status(common::kBadValue, "run_incremental: options and store are required");
  MS_ASSIGN_OR_RETURN(Mapper mapper, Mapper::create(*ctx.options));
  Incremental inc(ctx, std::move(mapper));
  return inc.run();
}

}  // namespace apply
