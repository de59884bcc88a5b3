#include "monitor/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "copy/copy_store.h"
#include "state/sql.h"

namespace monitor {

namespace {

std::string mb(int64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6); }

std::string duration(int64_t secs) {
  if (secs < 0) return "?";
  if (secs >= 3600) return fmt::format("{}h{:02}m", secs / 3600, secs / 60 % 60);
  if (secs >= 60) return fmt::format("{}m{:02}s", secs / 60, secs % 60);
  return fmt::format("{}s", secs);
}

struct Totals {
  int64_t docs = 0, est = 0, bytes = 0, best = 0, skipped = 0;
};

Totals totals(const Snapshot& s) {
  Totals t;
  for (const auto& c : s.collections) {
    t.docs += c.docs;
    t.est += std::max(c.docs_estimated, c.docs);
    t.bytes += c.bytes;
    t.best += c.bytes_estimated;
    t.skipped += c.skipped;
  }
  return t;
}

int64_t end_ms(const CollectionLine& c, int64_t now) { return c.finished_at_ms ? c.finished_at_ms : now; }

}  // namespace

double percent(int64_t done, int64_t estimated) {
  if (estimated <= 0) return done > 0 ? 100.0 : 0.0;
  return std::min(100.0, 100.0 * static_cast<double>(done) / static_cast<double>(estimated));
}

double rate(int64_t docs, int64_t since_ms, int64_t now_ms) {
  if (since_ms <= 0 || now_ms <= since_ms) return 0;
  return static_cast<double>(docs) * 1000.0 / static_cast<double>(now_ms - since_ms);
}

int64_t eta_seconds(int64_t docs, int64_t estimated, double r) {
  if (docs >= estimated) return 0;
  if (r <= 0) return -1;
  return static_cast<int64_t>(static_cast<double>(estimated - docs) / r + 0.5);
}

nlohmann::ordered_json to_json(const Snapshot& s) {
  nlohmann::ordered_json j;
  j["task"] = s.task_name;
  j["state"] = s.task_state;
  j["phase"] = s.phase;
  if (!s.detail.empty()) j["detail"] = s.detail;
  j["collections"] = nlohmann::ordered_json::array();
  for (const auto& c : s.collections) {
    double r = rate(c.docs, c.started_at_ms, end_ms(c, s.now_ms));
    j["collections"].push_back({{"source", c.source_ns},
                                {"target", c.target_ns},
                                {"state", c.state},
                                {"docs", c.docs},
                                {"docs_estimated", c.docs_estimated},
                                {"bytes", c.bytes},
                                {"skipped", c.skipped},
                                {"percent", percent(c.docs + c.skipped, c.docs_estimated)},
                                {"docs_per_second", static_cast<int64_t>(r)},
                                {"eta_seconds", c.state == "done" ? 0 : eta_seconds(c.docs + c.skipped, c.docs_estimated, r)}});
  }
  Totals t = totals(s);
  double r = rate(t.docs, s.started_at_ms, s.now_ms);
  j["total"] = {{"docs", t.docs},
                {"docs_estimated", t.est},
                {"bytes", t.bytes},
                {"skipped", t.skipped},
                {"percent", percent(t.docs + t.skipped, t.est)},
                {"docs_per_second", static_cast<int64_t>(r)},
                {"eta_seconds", eta_seconds(t.docs + t.skipped, t.est, r)}};
  return j;
}

std::string to_text(const Snapshot& s) {
  std::ostringstream o;
  o << "task " << s.task_name << ": " << s.task_state << ", phase " << s.phase;
  if (!s.detail.empty()) o << " (" << s.detail << ")";
  o << "\n";
  for (const auto& c : s.collections) {
    double r = rate(c.docs, c.started_at_ms, end_ms(c, s.now_ms));
    int64_t seen = c.docs + c.skipped;
    o << fmt::format("  {:<32} {:>6.1f}%  {:>11}/{:<11} docs  {:>10}  {:>8.0f} docs/s  ETA {}{}\n",
                     c.source_ns + (c.target_ns != c.source_ns ? " → " + c.target_ns : ""),
                     percent(seen, c.docs_estimated), c.docs, c.docs_estimated, mb(c.bytes), r,
                     c.state == "done" ? "done" : duration(eta_seconds(seen, c.docs_estimated, r)),
                     c.skipped ? fmt::format("  ({} skipped)", c.skipped) : "");
  }
  Totals t = totals(s);
  double r = rate(t.docs, s.started_at_ms, s.now_ms);
  o << fmt::format("  {:<32} {:>6.1f}%  {:>11}/{:<11} docs  {:>10}  {:>8.0f} docs/s  ETA {}\n", "total",
                   percent(t.docs + t.skipped, t.est), t.docs, t.est, mb(t.bytes), r,
                   duration(eta_seconds(t.docs + t.skipped, t.est, r)));
  return o.str();
}

common::Result<Snapshot> read_snapshot(state::StateStore& store, const state::TaskRecord& task) {
  Snapshot s;
  s.task_name = task.name;
  s.task_state = state::to_string(task.state);
  if (!task.state_reason.empty()) s.detail = task.state_reason;
  s.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
  {
    state::Stmt st(store.db(), "SELECT phase FROM run_controls WHERE task_id=?");
    if (!st.ok()) return st.error("reading the task's phase");
    st.bind(1, task.id);
    s.phase = st.step() == SQLITE_ROW ? st.text(0) : "not started";
  }
  if (s.phase == "incremental") {
    // "incremental, delayed N s" / "not delayed" / "retrying: ...", saved by the phase each second.
    state::Stmt st(store.db(), "SELECT status FROM incremental_state WHERE task_id=?");
    st.bind(1, task.id);
    if (st.ok() && st.step() == SQLITE_ROW && !st.text(0).empty()) s.detail = st.text(0);
  }
  copy::CopyStore cs(store, task.id);
  MS_ASSIGN_OR_RETURN(auto colls, cs.load_all());
  for (const auto& c : colls) {
    CollectionLine l;
    l.source_ns = c.source_ns;
    l.target_ns = c.target_ns;
    l.state = c.state;
    l.docs = c.docs();
    l.bytes = c.bytes();
    l.skipped = c.skipped();
    l.docs_estimated = c.docs_estimated;
    l.bytes_estimated = c.bytes_estimated;
    l.started_at_ms = c.started_at_ms;
    l.finished_at_ms = c.finished_at_ms;
    if (s.started_at_ms == 0 || (l.started_at_ms && l.started_at_ms < s.started_at_ms)) s.started_at_ms = l.started_at_ms;
    s.collections.push_back(std::move(l));
  }
  return s;
}

std::string Display::frame(const Snapshot& s) {
  if (!terminal_) return to_json(s).dump() + "\n";
  std::string text = to_text(s);
  // Move up over the previous frame and clear it, then draw the new one.
  std::string out = lines_ > 0 ? fmt::format("\x1b[{}F\x1b[J", lines_) : std::string();
  lines_ = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  return out + text;
}

}  // namespace monitor
