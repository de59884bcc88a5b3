// repl_bench: issue 4's read-side numbers for mongosim, from one libmongoc client: after N
// inserts (batches of 1000), one tailable + awaitData find on local.oplog.rs reads the entries
// from before the inserts on, and one collection change stream opened at that time
// (startAtOperationTime) delivers their insert events. Reports wall-clock rates and mongosim's
// own CPU time per entry/event (utime+stime from /proc), which the machine's shared load
// disturbs less. Prints a Markdown section and, with --write FILE, replaces the section
// between the bench:repl markers of that file. Exit 3 when a target is missed.
#include <mongoc/mongoc.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench_report.h"
#include "support/mongosim_process.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kBegin = "<!-- bench:repl -->";
constexpr const char* kEnd = "<!-- /bench:repl -->";
// A read that sees nothing new for this long has stalled (the bench fails rather than hangs).
constexpr double kStallSeconds = 30;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Measure {
  int64_t items = 0;
  double wall_s = 0;
  double cpu_s = 0;         // mongosim's
  double client_cpu_s = 0;  // this process's (libmongoc decoding the replies)
};

struct Client {
  mongoc_uri_t* uri = nullptr;
  mongoc_client_t* client = nullptr;
  mongoc_collection_t* coll = nullptr;
  mongoc_collection_t* oplog = nullptr;

  explicit Client(const std::string& u) {
    bson_error_t err;
    uri = mongoc_uri_new_with_error(u.c_str(), &err);
    client = mongoc_client_new_from_uri(uri);
    coll = mongoc_client_get_collection(client, "bench", "repl");
    oplog = mongoc_client_get_collection(client, "local", "oplog.rs");
  }
  ~Client() {
    mongoc_collection_destroy(oplog);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
};

// The newest oplog entry's ts: where the reads start.
bool newest_ts(Client& c, uint32_t* t, uint32_t* i) {
  bson_t filter = BSON_INITIALIZER;
  bson_t* opts = BCON_NEW("sort", "{", "$natural", BCON_INT32(-1), "}", "limit", BCON_INT64(1));
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(c.oplog, &filter, opts, nullptr);
  const bson_t* doc;
  bool found = false;
  bson_iter_t it;
  if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "ts") && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
    bson_iter_timestamp(&it, t, i);
    found = true;
  }
  mongoc_cursor_destroy(cur);
  bson_destroy(opts);
  bson_destroy(&filter);
  return found;
}

// ~200-byte documents in unordered batches of 1000.
bool insert_docs(Client& c, int64_t n) {
  const int64_t batch = 1000;
  std::vector<bson_t*> docs;
  bson_t* opts = BCON_NEW("ordered", BCON_BOOL(false));
  bson_error_t err;
  bool ok = true;
  for (int64_t base = 0; ok && base < n; base += batch) {
    int64_t count = std::min(batch, n - base);
    for (int64_t k = 0; k < count; ++k) {
      bson_t* d = bson_new();
      BSON_APPEND_INT64(d, "_id", base + k);
      BSON_APPEND_UTF8(d, "name", "customer-name-0000000000");
      BSON_APPEND_INT32(d, "age", static_cast<int32_t>((base + k) % 100));
      BSON_APPEND_UTF8(d, "note", "padding-padding-padding-padding-padding-padding-padding-padding-padding-padding");
      BSON_APPEND_DATE_TIME(d, "created", 1700000000000 + base + k);
      docs.push_back(d);
    }
    ok = mongoc_collection_insert_many(c.coll, const_cast<const bson_t**>(docs.data()), docs.size(), opts, nullptr, &err);
    for (bson_t* d : docs) bson_destroy(d);
    docs.clear();
  }
  bson_destroy(opts);
  if (!ok) std::fprintf(stderr, "insert failed: %s\n", err.message);
  return ok;
}

bool is_insert(const bson_t* entry) {
  bson_iter_t it;
  return bson_iter_init_find(&it, entry, "op") && BSON_ITER_HOLDS_UTF8(&it) && bson_iter_utf8(&it, nullptr)[0] == 'i';
}

// Reads with `next` (true: one more document in *doc) until `wanted` documents counted by
// `counts` arrived; `failed` reports a read error. Times the whole, opening included (`open`).
template <typename Open, typename Next, typename Failed, typename Counts>
bool timed_read(const char* what, pid_t server, int64_t wanted, Measure* m, Open open, Next next, Failed failed,
                Counts counts) {
  double cpu0 = bench::cpu_seconds(server), client0 = bench::cpu_seconds(getpid());
  auto t0 = Clock::now();
  open();
  const bson_t* doc;
  bson_error_t err;
  int64_t seen = 0;
  auto last_progress = Clock::now();
  bool ok = true;
  while (seen < wanted) {
    if (next(&doc)) {
      ++m->items;
      if (counts(doc)) ++seen;
      last_progress = Clock::now();
    } else if (failed(&err)) {
      std::fprintf(stderr, "%s failed: %s\n", what, err.message);
      ok = false;
      break;
    } else if (seconds_since(last_progress) > kStallSeconds) {
      std::fprintf(stderr, "%s stalled after %lld\n", what, static_cast<long long>(seen));
      ok = false;
      break;
    }
  }
  m->wall_s = seconds_since(t0);
  m->cpu_s = bench::cpu_seconds(server) - cpu0;
  m->client_cpu_s = bench::cpu_seconds(getpid()) - client0;
  return ok;
}

// One tailable, awaitData cursor from `ts` on, until it has seen `inserts` insert entries.
bool tail_oplog(Client& c, pid_t server, uint32_t t, uint32_t i, int64_t inserts, Measure* m) {
  bson_t* filter = BCON_NEW("ts", "{", "$gt", BCON_TIMESTAMP(t, i), "}");
  bson_t* opts = BCON_NEW("tailable", BCON_BOOL(true), "awaitData", BCON_BOOL(true), "maxAwaitTimeMS", BCON_INT64(200));
  mongoc_cursor_t* cur = nullptr;
  bool ok = timed_read(
      "oplog cursor", server, inserts, m, [&] { cur = mongoc_collection_find_with_opts(c.oplog, filter, opts, nullptr); },
      [&](const bson_t** doc) { return mongoc_cursor_next(cur, doc); },
      [&](bson_error_t* err) { return mongoc_cursor_error(cur, err); }, is_insert);
  mongoc_cursor_destroy(cur);
  bson_destroy(opts);
  bson_destroy(filter);
  return ok;
}

// One collection change stream opened at `ts`, until it has delivered `events` events.
bool read_change_stream(Client& c, pid_t server, uint32_t t, uint32_t i, int64_t events, Measure* m) {
  bson_t* pipeline = BCON_NEW("pipeline", "[", "]");
  bson_t* opts = BCON_NEW("startAtOperationTime", BCON_TIMESTAMP(t, i), "maxAwaitTimeMS", BCON_INT64(200));
  mongoc_change_stream_t* cs = nullptr;
  const bson_t* reply = nullptr;
  bool ok = timed_read(
      "change stream", server, events, m, [&] { cs = mongoc_collection_watch(c.coll, pipeline, opts); },
      [&](const bson_t** doc) { return mongoc_change_stream_next(cs, doc); },
      [&](bson_error_t* err) { return mongoc_change_stream_error_document(cs, err, &reply); },
      [](const bson_t*) { return true; });
  mongoc_change_stream_destroy(cs);
  bson_destroy(opts);
  bson_destroy(pipeline);
  return ok;
}

struct Row {
  const char* what;
  const char* unit;
  double target;
  Measure m;
};

std::string render(const std::vector<Row>& rows, int64_t ndocs, const std::string& load_before,
                   const std::string& load_after, bool* all_ok) {
  std::ostringstream md;
  md << kBegin << "\n";
  md << "## mongosim replication surface (issue 4: oplog tailing, change streams)\n\n";
  md << "Command: `build/bin/repl_bench --docs " << ndocs << " --write docs/benchmarks.md` (RelWithDebInfo; "
     << "`scripts/bench.sh` runs it). One mongosim replica-set member (fresh `--dbpath`, default 1024 MiB oplog), "
     << ndocs << " inserts of ~200-byte documents in batches of 1000, then one libmongoc client reads them back: "
     << "a single tailable + awaitData `find` on `local.oplog.rs` from the timestamp before the inserts (every "
     << "entry counted, the `create` included), and a single collection change stream opened with "
     << "`startAtOperationTime` at that timestamp (the default batch sizes). Load average (1/5/15 min) "
     << load_before << " at the start, " << load_after << " at the end, on 2 cores shared with other work; "
     << "*server CPU per item* is mongosim's utime+stime over the read, *client CPU per item* this program's "
     << "(libmongoc receiving and decoding); *one-core CPU bound* is 1 / (their sum), the rate the pair reaches "
     << "with one otherwise idle core (with two, they overlap). The target verdict uses the wall-clock result.\n\n";
  md << "| measure | result | target | ratio to target | server CPU per item | client CPU per item | one-core CPU bound |\n"
     << "|---|---:|---:|---:|---:|---:|---:|\n";
  *all_ok = true;
  for (const auto& r : rows) {
    double rate = static_cast<double>(r.m.items) / r.m.wall_s;
    double ratio = rate / r.target;
    if (ratio < 1.0) *all_ok = false;
    char line[320];
    const double n = static_cast<double>(r.m.items);
    const double server_us = r.m.cpu_s * 1e6 / n, client_us = r.m.client_cpu_s * 1e6 / n;
    std::snprintf(line, sizeof line, "| %s | %.0f %s | ≥ %.0f %s | %.2f | %.2f µs | %.2f µs | %.0f %s |\n", r.what, rate,
                  r.unit, r.target, r.unit, ratio, server_us, client_us, 1e6 / (server_us + client_us), r.unit);
    md << line;
  }
  md << "\nWrites with the oplog on against `--standalone` (the issue's third number) are the two "
     << "`insert rate with the oplog / standalone` rows of the mongosim section (`mongosim_bench`).\n";
  md << kEnd << "\n";
  return md.str();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t ndocs = 1000000;
  std::string write_file;
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--docs" && k + 1 < argc) {
      ndocs = std::atoll(argv[++k]);
    } else if (a == "--write" && k + 1 < argc) {
      write_file = argv[++k];
    } else {
      std::fprintf(stderr, "usage: repl_bench [--docs N] [--write docs/benchmarks.md]\nunknown argument: %s\n", a.c_str());
      return 2;
    }
  }
  if (ndocs <= 0) {
    std::fprintf(stderr, "--docs must be positive\n");
    return 2;
  }
  mongoc_init();
  std::string load_before = bench::load_average();
  std::vector<Row> rows = {{"oplog read, one tailable awaitData cursor", "entries/s", 500000, {}},
                           {"change stream, one collection stream", "events/s", 100000, {}}};
  {
    auto proc = testsupport::MongosimProcess::start({});
    if (!proc.ok()) {
      std::fprintf(stderr, "cannot start mongosim: %s\n", proc.status().message().c_str());
      return 1;
    }
    Client c(proc->uri());
    uint32_t t = 0, i = 0;
    if (!newest_ts(c, &t, &i)) {
      std::fprintf(stderr, "mongosim has no oplog entry to start from\n");
      return 1;
    }
    if (!insert_docs(c, ndocs) || !tail_oplog(c, proc->pid(), t, i, ndocs, &rows[0].m) ||
        !read_change_stream(c, proc->pid(), t, i, ndocs, &rows[1].m)) {
      return 1;
    }
  }
  mongoc_cleanup();
  bool all_ok = false;
  std::string section = render(rows, ndocs, load_before, bench::load_average(), &all_ok);
  std::fputs(section.c_str(), stdout);
  if (!write_file.empty() && !bench::replace_section(write_file, kBegin, kEnd, section)) {
    std::fprintf(stderr, "cannot write %s\n", write_file.c_str());
    return 1;
  }
  return all_ok ? 0 : 3;
}
