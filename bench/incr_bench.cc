// Incremental-phase benchmark (issue 7), between two mongosim processes:
//  1. backlog replay: N change entries (inserts, updates, deletes over a hot set of H
//     documents) written to the source after T0, then replayed by run_incremental; its rate
//     is compared with the same changes applied directly to the destination as ordered bulk
//     writes of 1000 (the ceiling);
//  2. steady load: R writes/s on the source for S seconds while the phase runs; the lag of
//     probe documents (written on the source, seen on the destination) at p50/p99;
//  3. memory: peak RSS of this process (the phase runs in it).
// Writes its section of docs/benchmarks.md between <!-- bench:incr --> markers.
//
//   incr_bench [--entries N] [--hot H] [--rate R] [--seconds S] [--write docs/benchmarks.md]
//   incr_bench --load URI --db DB [--rate R] [--seconds S]   (a steady writer, for the demo)
//   incr_bench --compare SRC_URI DST_URI --db DB               (every document equal, byte for byte)
#include <mongoc/mongoc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apply/incremental.h"
#include "bench_report.h"
#include "change/start_point.h"
#include "state/state_store.h"
#include "support/mongosim_process.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kBegin = "<!-- bench:incr -->";
constexpr const char* kEnd = "<!-- /bench:incr -->";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long self_peak_rss_kib() {
  std::istringstream in(bench::read_text("/proc/self/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

mongoc_client_t* connect(const std::string& uri) {
  mongoc_client_t* c = mongoc_client_new(uri.c_str());
  mongoc_client_set_error_api(c, 2);
  return c;
}

// One generated change on the hot set.
struct Change {
  enum Kind { kInsert, kUpdate, kDelete } kind;
  int32_t id;
  int32_t value;
};

void make_doc(bson_t* d, int32_t id, int32_t v) {
  BSON_APPEND_INT32(d, "_id", id);
  BSON_APPEND_INT32(d, "v", v);
  BSON_APPEND_UTF8(d, "name", "customer-name-padding-to-make-the-document-larger");
  bson_t sub, arr;
  BSON_APPEND_DOCUMENT_BEGIN(d, "n", &sub);
  BSON_APPEND_INT32(&sub, "x", v % 97);
  BSON_APPEND_ARRAY_BEGIN(&sub, "arr", &arr);
  BSON_APPEND_INT32(&arr, "0", 1);
  BSON_APPEND_INT32(&arr, "1", v);
  bson_append_array_end(&sub, &arr);
  bson_append_document_end(d, &sub);
}

// The changes, deterministic: an id that is present is updated (2/3) or deleted (1/3), an
// absent one inserted.
std::vector<Change> changes(int64_t n, int32_t hot, uint32_t seed) {
  std::vector<Change> out;
  out.reserve(static_cast<size_t>(n));
  std::vector<bool> present(static_cast<size_t>(hot), true);
  std::mt19937 rng(seed);
  for (int64_t k = 0; k < n; ++k) {
    int32_t id = static_cast<int32_t>(rng() % static_cast<uint32_t>(hot));
    int32_t v = static_cast<int32_t>(rng() % 1000000);
    if (!present[static_cast<size_t>(id)]) {
      out.push_back({Change::kInsert, id, v});
      present[static_cast<size_t>(id)] = true;
    } else if (rng() % 3 == 0) {
      out.push_back({Change::kDelete, id, v});
      present[static_cast<size_t>(id)] = false;
    } else {
      out.push_back({Change::kUpdate, id, v});
    }
  }
  return out;
}

bool execute(mongoc_bulk_operation_t* bulk) {
  bson_t reply;
  bson_error_t err;
  bool ok = mongoc_bulk_operation_execute(bulk, &reply, &err) != 0;
  if (!ok) std::fprintf(stderr, "bulk write failed: %s\n", err.message);
  bson_destroy(&reply);
  mongoc_bulk_operation_destroy(bulk);
  return ok;
}

// Writes `list` to db.coll as ordered bulk writes of `batch` (the source's writes, and the
// direct-apply ceiling on the destination).
bool apply_changes(mongoc_client_t* c, const char* db, const char* coll, const std::vector<Change>& list, size_t batch) {
  mongoc_collection_t* col = mongoc_client_get_collection(c, db, coll);
  bool ok = true;
  for (size_t from = 0; from < list.size() && ok; from += batch) {
    mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(col, nullptr);
    for (size_t k = from; k < std::min(list.size(), from + batch); ++k) {
      const Change& ch = list[k];
      bson_t sel = BSON_INITIALIZER;
      BSON_APPEND_INT32(&sel, "_id", ch.id);
      if (ch.kind == Change::kInsert) {
        bson_t d = BSON_INITIALIZER;
        make_doc(&d, ch.id, ch.value);
        mongoc_bulk_operation_insert(bulk, &d);
        bson_destroy(&d);
      } else if (ch.kind == Change::kUpdate) {
        bson_t u = BSON_INITIALIZER, set;
        BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
        BSON_APPEND_INT32(&set, "v", ch.value);
        BSON_APPEND_INT32(&set, "n.x", ch.value % 97);
        bson_append_document_end(&u, &set);
        mongoc_bulk_operation_update_one(bulk, &sel, &u, false);
        bson_destroy(&u);
      } else {
        mongoc_bulk_operation_remove_one(bulk, &sel);
      }
      bson_destroy(&sel);
    }
    ok = execute(bulk);
  }
  mongoc_collection_destroy(col);
  return ok;
}

// The ceiling: the same changes applied directly by `threads` clients, each owning the ids
// of its partition (so each document's changes stay in order), in ordered bulk writes of 1000.
bool apply_parallel(const std::string& uri, const char* db, const char* coll, const std::vector<Change>& list,
                    int threads) {
  std::vector<std::vector<Change>> parts(static_cast<size_t>(threads));
  for (const auto& c : list) parts[static_cast<size_t>(c.id) % parts.size()].push_back(c);
  std::atomic<bool> ok{true};
  std::vector<std::thread> pool;
  for (auto& part : parts) {
    pool.emplace_back([&, p = &part] {
      mongoc_client_t* c = connect(uri);
      if (!apply_changes(c, db, coll, *p, 1000)) ok = false;
      mongoc_client_destroy(c);
    });
  }
  for (auto& t : pool) t.join();
  return ok;
}

bool seed(mongoc_client_t* c, const char* db, const char* coll, int32_t hot) {
  mongoc_collection_t* col = mongoc_client_get_collection(c, db, coll);
  bool ok = true;
  for (int32_t from = 0; from < hot && ok; from += 1000) {
    mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(col, nullptr);
    for (int32_t id = from; id < std::min(hot, from + 1000); ++id) {
      bson_t d = BSON_INITIALIZER;
      make_doc(&d, id, id);
      mongoc_bulk_operation_insert(bulk, &d);
      bson_destroy(&d);
    }
    ok = execute(bulk);
  }
  mongoc_collection_destroy(col);
  return ok;
}

int64_t count(mongoc_client_t* c, const char* db, const char* coll) {
  mongoc_collection_t* col = mongoc_client_get_collection(c, db, coll);
  bson_t q = BSON_INITIALIZER;
  bson_error_t err;
  int64_t n = mongoc_collection_count_documents(col, &q, nullptr, nullptr, nullptr, &err);
  bson_destroy(&q);
  mongoc_collection_destroy(col);
  return n;
}

struct Phase {
  std::unique_ptr<state::StateStore> store;
  state::TaskRecord record;
  task::TaskOptions options;
  std::atomic<bool> interrupt{false};
  std::atomic<int64_t> applied{0};
  std::atomic<int64_t> lag{0};
  std::atomic<uint64_t> position{0};  // the phase's checkpoint position (everything before it applied)
  std::thread thread;
  common::Status result;

  bool start(const std::string& dir, const std::string& src, const std::string& dst, const change::StartPoint& t0,
             const std::string& db) {
    auto s = state::StateStore::open(dir);
    if (!s.ok()) return false;
    store = std::move(s).value();
    auto r = store->register_task(dir + "/task.yaml", "incr-bench", "");
    if (!r.ok()) return false;
    record = *r;
    options.source.uri = src;
    options.destination.uri = dst;
    options.objects.include = {db};
    options.incremental.method = task::IncrementalMethod::kOplog;
    apply::IncrementalContext ctx;
    ctx.options = &options;
    ctx.source.uri = src;
    ctx.destination.uri = dst;
    ctx.store = store.get();
    ctx.task_id = record.id;
    ctx.t0 = t0;
    ctx.interrupt = &interrupt;
    ctx.on_status = [this](const apply::IncrementalStatus& st) {
      applied = st.events_applied;
      lag = st.lag_seconds;
      position = (static_cast<uint64_t>(st.applied_t) << 32) | st.applied_i;
    };
    thread = std::thread([this, ctx] {
      auto out = apply::run_incremental(ctx);
      result = out.status();
    });
    return true;
  }
  void stop() {
    interrupt = true;
    if (thread.joinable()) thread.join();
  }
};

change::StartPoint capture(const std::string& uri) {
  client::ConnectSpec spec;
  spec.uri = uri;
  auto c = client::Connection::open(spec);
  if (!c.ok()) return {};
  auto p = change::capture_start_point(*c);
  return p.ok() ? *p : change::StartPoint{};
}

// A steady writer: `rate` updates/inserts per second in batches of rate/100 every 10 ms.
void steady_writes(const std::string& uri, const std::string& db, int64_t rate, double seconds, std::atomic<bool>* stop,
                   int64_t* written) {
  mongoc_client_t* c = connect(uri);
  mongoc_collection_t* col = mongoc_client_get_collection(c, db.c_str(), "steady");
  auto start = Clock::now();
  int64_t n = 0, per_tick = std::max<int64_t>(1, rate / 100);
  std::mt19937 rng(3);
  while (!stop->load() && seconds_since(start) < seconds) {
    mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(col, nullptr);
    for (int64_t k = 0; k < per_tick; ++k, ++n) {
      int32_t id = static_cast<int32_t>(rng() % 50000);
      bson_t sel = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
      BSON_APPEND_INT32(&sel, "_id", id);
      BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
      BSON_APPEND_INT64(&set, "v", n);
      bson_append_document_end(&u, &set);
      bson_t opts = BSON_INITIALIZER;
      BSON_APPEND_BOOL(&opts, "upsert", true);
      mongoc_bulk_operation_update_one_with_opts(bulk, &sel, &u, &opts, nullptr);
      bson_destroy(&opts);
      bson_destroy(&sel);
      bson_destroy(&u);
    }
    execute(bulk);
    auto next = start + std::chrono::microseconds(static_cast<int64_t>(1e6 * static_cast<double>(n) / static_cast<double>(rate)));
    std::this_thread::sleep_until(next);
  }
  *written = n;
  mongoc_collection_destroy(col);
  mongoc_client_destroy(c);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

// Probe documents written on the source every 100 ms; the time until each is on the destination.
std::vector<double> probe_lag(const std::string& src, const std::string& dst, const std::string& db, double seconds) {
  mongoc_client_t* s = connect(src);
  mongoc_client_t* d = connect(dst);
  mongoc_collection_t* sc = mongoc_client_get_collection(s, db.c_str(), "probe");
  mongoc_collection_t* dc = mongoc_client_get_collection(d, db.c_str(), "probe");
  std::vector<double> lags;
  auto start = Clock::now();
  for (int32_t k = 0; seconds_since(start) < seconds; ++k) {
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_INT32(&doc, "_id", k);
    auto t = Clock::now();
    mongoc_collection_insert_one(sc, &doc, nullptr, nullptr, nullptr);
    while (seconds_since(t) < 30) {
      bson_error_t err;
      int64_t n = mongoc_collection_count_documents(dc, &doc, nullptr, nullptr, nullptr, &err);
      if (n > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    lags.push_back(seconds_since(t));
    bson_destroy(&doc);
    std::this_thread::sleep_until(t + std::chrono::milliseconds(100));
  }
  mongoc_collection_destroy(sc);
  mongoc_collection_destroy(dc);
  mongoc_client_destroy(s);
  mongoc_client_destroy(d);
  return lags;
}

std::vector<std::string> collection_names(mongoc_client_t* c, const std::string& db) {
  std::vector<std::string> out;
  mongoc_database_t* d = mongoc_client_get_database(c, db.c_str());
  bson_error_t err;
  char** names = mongoc_database_get_collection_names_with_opts(d, nullptr, &err);
  for (char** n = names; n && *n; ++n) out.emplace_back(*n);
  bson_strfreev(names);
  mongoc_database_destroy(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Every collection of `db` on both sides, documents in _id order, byte for byte.
int compare_mode(const std::string& src, const std::string& dst, const std::string& db) {
  mongoc_client_t* a = connect(src);
  mongoc_client_t* b = connect(dst);
  auto names = collection_names(a, db);
  int rc = names == collection_names(b, db) ? 0 : 1;
  if (rc) std::printf("the collections of %s differ\n", db.c_str());
  int64_t docs = 0;
  for (const auto& name : names) {
    if (rc) break;
    mongoc_collection_t* ca = mongoc_client_get_collection(a, db.c_str(), name.c_str());
    mongoc_collection_t* cb = mongoc_client_get_collection(b, db.c_str(), name.c_str());
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(&opts, &sort);
    mongoc_cursor_t* x = mongoc_collection_find_with_opts(ca, &filter, &opts, nullptr);
    mongoc_cursor_t* y = mongoc_collection_find_with_opts(cb, &filter, &opts, nullptr);
    const bson_t *dx, *dy;
    while (true) {
      bool hx = mongoc_cursor_next(x, &dx), hy = mongoc_cursor_next(y, &dy);
      if (!hx && !hy) break;
      if (hx != hy || dx->len != dy->len || std::memcmp(bson_get_data(dx), bson_get_data(dy), dx->len) != 0) {
        char* j = hx ? bson_as_relaxed_extended_json(dx, nullptr) : nullptr;
        std::printf("%s.%s differs at %s\n", db.c_str(), name.c_str(), j ? j : "(end of the source)");
        bson_free(j);
        rc = 1;
        break;
      }
      ++docs;
    }
    mongoc_cursor_destroy(x);
    mongoc_cursor_destroy(y);
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(ca);
    mongoc_collection_destroy(cb);
  }
  if (rc == 0) std::printf("equal: %lld documents in %zu collections of %s, byte for byte\n", static_cast<long long>(docs), names.size(), db.c_str());
  mongoc_client_destroy(a);
  mongoc_client_destroy(b);
  return rc;
}

int load_mode(const std::string& uri, const std::string& db, int64_t rate, double seconds) {
  std::atomic<bool> stop{false};
  int64_t written = 0;
  steady_writes(uri, db, rate, seconds, &stop, &written);
  std::printf("wrote %lld changes to %s.steady\n", static_cast<long long>(written), db.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t entries = 1000000, rate = 10000;
  int32_t hot = 100000;
  double seconds = 20;
  std::string write_file, load_uri, load_db = "bench", compare_src, compare_dst;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--entries") entries = std::atoll(next());
    else if (a == "--hot") hot = std::atoi(next());
    else if (a == "--rate") rate = std::atoll(next());
    else if (a == "--seconds") seconds = std::atof(next());
    else if (a == "--write") write_file = next();
    else if (a == "--load") load_uri = next();
    else if (a == "--db") load_db = next();
    else if (a == "--compare") {
      compare_src = next();
      compare_dst = next();
    }
    else {
      std::fprintf(stderr,
                   "usage: incr_bench [--entries N] [--hot H] [--rate R] [--seconds S] [--write FILE]\n"
                   "       incr_bench --load URI [--db DB] [--rate R] [--seconds S]\n"
                   "       incr_bench --compare SRC_URI DST_URI [--db DB]\nunknown argument: %s\n",
                   a.c_str());
      return 2;
    }
  }
  if (entries <= 0 || hot <= 0 || rate <= 0 || seconds <= 0) {
    std::fprintf(stderr, "--entries, --hot, --rate and --seconds must be positive\n");
    return 2;
  }
  mongoc_init();
  if (!load_uri.empty()) return load_mode(load_uri, load_db, rate, seconds);
  if (!compare_src.empty()) return compare_mode(compare_src, compare_dst, load_db);
  spdlog::set_level(spdlog::level::warn);
  std::string load_before = bench::load_average();
  auto src_p = testsupport::MongosimProcess::start({"--oplog-size-mb", "4096"});
  auto dst_p = testsupport::MongosimProcess::start({});
  if (!src_p.ok() || !dst_p.ok()) {
    std::fprintf(stderr, "cannot start mongosim\n");
    return 1;
  }
  std::string src = src_p->uri(), dst = dst_p->uri();
  mongoc_client_t* sc = connect(src);
  mongoc_client_t* dc = connect(dst);

  // 1. Backlog replay against the direct ceiling.
  std::vector<Change> list = changes(entries, hot, 42);
  if (!seed(sc, "bench", "hot", hot) || !seed(dc, "bench", "hot", hot) || !seed(dc, "direct", "hot", hot)) return 1;
  change::StartPoint t0 = capture(src);
  if (!apply_changes(sc, "bench", "hot", list, 1000)) return 1;
  change::StartPoint t_end = capture(src);
  uint64_t end_value = (static_cast<uint64_t>(t_end.t) << 32) | t_end.i;
  auto direct_start = Clock::now();
  if (!apply_parallel(dst, "direct", "hot", list, 8)) return 1;
  double direct_s = seconds_since(direct_start);

  std::string dir = testsupport::make_temp_dir("incr-bench");
  Phase phase;
  auto replay_start = Clock::now();
  if (!phase.start(dir, src, dst, t0, "bench")) return 1;
  // Done when the phase's checkpoint has reached the source's last backlog entry.
  double replay_s = -1;
  while (seconds_since(replay_start) < 3600 && phase.result.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (phase.position.load() >= end_value) {
      replay_s = seconds_since(replay_start);
      break;
    }
  }
  bool same = count(dc, "bench", "hot") == count(dc, "direct", "hot");
  int64_t replayed = phase.applied.load();
  long rss_after_replay = self_peak_rss_kib();

  // 2. Steady load while the phase keeps running.
  std::atomic<bool> stop{false};
  int64_t written = 0;
  std::thread writer([&] { steady_writes(src, "bench", rate, seconds, &stop, &written); });
  std::vector<double> lags = probe_lag(src, dst, "bench", seconds);
  stop = true;
  writer.join();
  phase.stop();
  long rss_peak = self_peak_rss_kib();
  mongoc_client_destroy(sc);
  mongoc_client_destroy(dc);
  mongoc_cleanup();
  if (!phase.result.ok()) std::fprintf(stderr, "incremental phase: %s\n", phase.result.to_string().c_str());

  double direct_rate = static_cast<double>(entries) / direct_s;
  double replay_rate = replay_s > 0 ? static_cast<double>(entries) / replay_s : 0;
  double ratio = replay_rate / direct_rate;
  double p50 = percentile(lags, 0.50), p99 = percentile(lags, 0.99);
  double steady_rate = static_cast<double>(written) / seconds;
  bool ok = ratio >= 0.8 && p99 < 1.0 && rss_peak < 256 * 1024 && replay_s > 0 && same;
  if (!same) std::fprintf(stderr, "the replayed collection does not match the direct one\n");

  char buf[4096];
  std::snprintf(buf, sizeof buf,
                "%s\n## Incremental replication (issue 7)\n\n"
                "Command: `build/bin/incr_bench --entries %lld --hot %d --rate %lld --seconds %.0f --write docs/benchmarks.md`"
                " (two mongosim 7.0 processes on this machine; load average %s before, %s after; the machine is shared"
                " by several builds, so ratios of one run are what count).\n\n"
                "| measure | result | target |\n|---|---:|---:|\n"
                "| backlog replay (%lld oplog entries: inserts, updates, deletes over %d documents) | %.0f changes/s | |\n"
                "| the same changes applied directly on the destination (8 clients, each its share of the ids, ordered bulk writes of 1000) | %.0f changes/s | |\n"
                "| replay rate / direct rate | %.2f | ≥ 0.80 |\n"
                "| steady load on the source | %.0f writes/s | 10000 |\n"
                "| lag of probe documents, p50 | %.3f s | |\n"
                "| lag of probe documents, p99 | %.3f s | < 1 s |\n"
                "| peak RSS of the process running the phase (after the replay / at the end) | %ld / %ld MiB | < 256 MiB |\n\n"
                "The replay runs `apply::run_incremental` from T0 with the task defaults (8 lanes, batches of 1000 operations, "
                "%lld MB queue); %lld changes were applied. Probe documents are inserted on the source every 100 ms during the "
                "steady load and polled on the destination by `_id`. The direct baseline's ordered bulk writes are split by libmongoc "
                "into a new command each time the kind of change (insert, update, delete) changes; the applier groups each lane "
                "batch into rounds of one update and one delete command per namespace, keeping each document's order, which is "
                "why it can beat that baseline.\n%s\n",
                kBegin, static_cast<long long>(entries), hot, static_cast<long long>(rate), seconds, load_before.c_str(),
                bench::load_average().c_str(), static_cast<long long>(entries), hot, replay_rate, direct_rate, ratio, steady_rate,
                p50, p99, rss_after_replay / 1024, rss_peak / 1024,
                static_cast<long long>(task::TaskOptions{}.incremental.queue_mb), static_cast<long long>(replayed), kEnd);
  std::fputs(buf, stdout);
  if (!write_file.empty() && !bench::replace_section(write_file, kBegin, kEnd, buf)) {
    std::fprintf(stderr, "cannot write %s\n", write_file.c_str());
    return 1;
  }
  return ok ? 0 : 3;
}
