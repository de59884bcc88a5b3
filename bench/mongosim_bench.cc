// mongosim_bench: the issues' numbers for mongosim, from one libmongoc client on this machine:
// batched insert of N ~200-byte documents (batches of 1000), full-collection find, sequential
// find by _id, mongosim's resident memory against the raw data size (issue 3), and the insert
// rate of a replica-set member (oplog on) against a standalone (no oplog) (issue 4). Besides
// wall-clock rates it reports mongosim's own CPU time per operation (utime+stime from /proc),
// which the machine's shared load disturbs far less. Prints a Markdown section and, with
// --write FILE, replaces the section between the bench:mongosim markers of that file.
#include <mongoc/mongoc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_report.h"
#include "support/mongosim_process.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kBegin = "<!-- bench:mongosim -->";
constexpr const char* kEnd = "<!-- /bench:mongosim -->";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string proc_file(pid_t pid, const char* name) { return bench::read_text("/proc/" + std::to_string(pid) + "/" + name); }

long rss_kib(pid_t pid) {
  std::istringstream in(proc_file(pid, "status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// A ~200-byte document: _id int, a few typical fields.
void make_doc(bson_t* d, int64_t id, std::mt19937_64& rng) {
  bson_append_int64(d, "_id", 3, id);
  bson_append_utf8(d, "name", 4, "customer-name-0000000000", 24);
  bson_append_int32(d, "age", 3, static_cast<int32_t>(rng() % 100));
  bson_append_double(d, "balance", 7, static_cast<double>(rng() % 1000000) / 100.0);
  bson_append_date_time(d, "created", 7, 1700000000000 + id);
  bson_append_bool(d, "active", 6, (rng() & 1) != 0);
  char tag[96];
  std::snprintf(tag, sizeof tag, "tag-%016llx-padding-padding-padding-padding-padding-padding-pad",
                static_cast<unsigned long long>(rng()));
  bson_append_utf8(d, "note", 4, tag, static_cast<int>(std::strlen(tag)));
  bson_t sub;
  bson_append_document_begin(d, "addr", 4, &sub);
  bson_append_utf8(&sub, "city", 4, "Springfield", 11);
  bson_append_int32(&sub, "zip", 3, static_cast<int32_t>(rng() % 99999));
  bson_append_document_end(d, &sub);
}

struct Row {
  std::string what;
  double value;
  std::string unit;
  double target;
  bool higher_is_better;
  double server_cpu_us = -1;  // mongosim CPU per operation; -1 = not measured
};

// One mongosim process and a client on it.
struct Server {
  testsupport::MongosimProcess proc;
  mongoc_uri_t* uri = nullptr;
  mongoc_client_t* client = nullptr;
  mongoc_collection_t* coll = nullptr;

  explicit Server(testsupport::MongosimProcess p) : proc(std::move(p)) {
    bson_error_t err;
    uri = mongoc_uri_new_with_error(proc.uri().c_str(), &err);
    client = mongoc_client_new_from_uri(uri);
    coll = mongoc_client_get_collection(client, "bench", "docs");
  }
  ~Server() {
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
};

struct Phase {
  double wall_s = 0;
  double cpu_s = 0;
};

// Inserts `ndocs` documents in unordered batches of 1000; adds their bytes to *raw_bytes.
bool insert_docs(Server& s, int64_t ndocs, int64_t* raw_bytes, Phase* ph) {
  std::mt19937_64 rng(42);
  const int batch = 1000;
  std::vector<bson_t*> docs(batch);
  for (auto& d : docs) d = bson_new();
  bson_error_t err;
  bool ok = true;
  double cpu0 = bench::cpu_seconds(s.proc.pid());
  auto t0 = Clock::now();
  for (int64_t base = 0; ok && base < ndocs; base += batch) {
    int n = static_cast<int>(std::min<int64_t>(batch, ndocs - base));
    for (int i = 0; i < n; ++i) {
      bson_reinit(docs[i]);
      make_doc(docs[i], base + i, rng);
      *raw_bytes += docs[i]->len;
    }
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    if (!mongoc_collection_insert_many(s.coll, const_cast<const bson_t**>(docs.data()), n, &opts, nullptr, &err)) {
      std::fprintf(stderr, "insert failed: %s\n", err.message);
      ok = false;
    }
    bson_destroy(&opts);
  }
  ph->wall_s = seconds_since(t0);
  ph->cpu_s = bench::cpu_seconds(s.proc.pid()) - cpu0;
  for (auto& d : docs) bson_destroy(d);
  return ok;
}

bool find_all(Server& s, int64_t ndocs, Phase* ph) {
  double cpu0 = bench::cpu_seconds(s.proc.pid());
  auto t0 = Clock::now();
  bson_t filter = BSON_INITIALIZER;
  bson_t fopts = BSON_INITIALIZER;
  BSON_APPEND_INT32(&fopts, "batchSize", 10000);
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(s.coll, &filter, &fopts, nullptr);
  const bson_t* doc;
  int64_t seen = 0;
  while (mongoc_cursor_next(cur, &doc)) ++seen;
  bson_error_t err;
  bool ok = true;
  if (mongoc_cursor_error(cur, &err)) {
    std::fprintf(stderr, "find failed: %s\n", err.message);
    ok = false;
  }
  mongoc_cursor_destroy(cur);
  bson_destroy(&fopts);
  ph->wall_s = seconds_since(t0);
  ph->cpu_s = bench::cpu_seconds(s.proc.pid()) - cpu0;
  if (ok && seen != ndocs) {
    std::fprintf(stderr, "full find returned %lld of %lld documents\n", static_cast<long long>(seen),
                 static_cast<long long>(ndocs));
    ok = false;
  }
  return ok;
}

// Sequential find by _id, random ids over the whole collection.
bool find_by_id(Server& s, int64_t ndocs, int64_t nfinds, Phase* ph) {
  std::mt19937_64 rng(7);
  const bson_t* doc;
  int64_t found = 0;
  double cpu0 = bench::cpu_seconds(s.proc.pid());
  auto t0 = Clock::now();
  for (int64_t i = 0; i < nfinds; ++i) {
    bson_t q = BSON_INITIALIZER;
    BSON_APPEND_INT64(&q, "_id", static_cast<int64_t>(rng() % ndocs));
    bson_t o = BSON_INITIALIZER;
    BSON_APPEND_INT64(&o, "limit", 1);
    BSON_APPEND_BOOL(&o, "singleBatch", true);
    mongoc_cursor_t* c = mongoc_collection_find_with_opts(s.coll, &q, &o, nullptr);
    if (mongoc_cursor_next(c, &doc)) ++found;
    mongoc_cursor_destroy(c);
    bson_destroy(&q);
    bson_destroy(&o);
  }
  ph->wall_s = seconds_since(t0);
  ph->cpu_s = bench::cpu_seconds(s.proc.pid()) - cpu0;
  if (found != nfinds) {
    std::fprintf(stderr, "find by _id found %lld of %lld\n", static_cast<long long>(found), static_cast<long long>(nfinds));
    return false;
  }
  return true;
}

// Inserts `ndocs` documents into a fresh `--standalone` mongosim.
bool standalone_insert(int64_t ndocs, Phase* ph) {
  auto proc = testsupport::MongosimProcess::start({"--standalone"});
  if (!proc.ok()) {
    std::fprintf(stderr, "cannot start mongosim --standalone: %s\n", proc.status().message().c_str());
    return false;
  }
  Server s(std::move(proc).value());
  int64_t ignored = 0;
  return insert_docs(s, ndocs, &ignored, ph);
}

Row rate_row(std::string what, int64_t n, const Phase& ph, const char* unit, double target) {
  return {std::move(what), static_cast<double>(n) / ph.wall_s, unit, target, true, ph.cpu_s * 1e6 / static_cast<double>(n)};
}

std::string render(const std::vector<Row>& rows, int64_t ndocs, int64_t nfinds, int64_t raw_bytes, long rss_before,
                   long rss_after, const std::string& load_before, const std::string& load_after,
                   const std::string& notes, bool* all_ok) {
  std::ostringstream md;
  md << kBegin << "\n";
  md << "## mongosim (issue 3: core numbers; issue 4: writes with the oplog on)\n\n";
  md << "Command: `scripts/bench.sh` (builds RelWithDebInfo and runs `build/bin/mongosim_bench --docs " << ndocs
     << " --finds " << nfinds << " --write docs/benchmarks.md`). One libmongoc client (retryable writes, as by "
     << "default), each mongosim with a fresh `--dbpath` (journal on); " << ndocs << " documents of "
     << (raw_bytes / ndocs) << " bytes (" << raw_bytes / (1024 * 1024) << " MiB raw). Load average (1/5/15 min) "
     << load_before << " at the start, " << load_after << " at the end, on 2 cores shared with other work: "
     << "wall-clock rates move with that load; *server CPU per op* (mongosim's utime+stime over the phase) "
     << "much less; *1 / server CPU per op* is the rate mongosim's own work allows with a core to itself (the "
     << "client's work, on the same 2 cores, not counted).\n\n";
  md << "| measure | result | target | ratio to target | server CPU per op | 1 / server CPU per op |\n"
     << "|---|---:|---:|---:|---:|---:|\n";
  *all_ok = true;
  for (const auto& r : rows) {
    double rt = r.higher_is_better ? r.value / r.target : r.target / r.value;
    if (rt < 1.0) *all_ok = false;
    char cpu[64] = "", bound[64] = "";
    if (r.server_cpu_us > 0) {
      std::snprintf(cpu, sizeof cpu, "%.2f µs", r.server_cpu_us);
      std::snprintf(bound, sizeof bound, "%.0f %s", 1e6 / r.server_cpu_us, r.unit.c_str());
    }
    char line[512];
    std::snprintf(line, sizeof line, "| %s | %.2f %s | %s %.2f %s | %.2f | %s | %s |\n", r.what.c_str(), r.value, r.unit.c_str(),
                  r.higher_is_better ? "≥" : "≤", r.target, r.unit.c_str(), rt, cpu, bound);
    md << line;
  }
  md << "\nResident memory: " << rss_before / 1024 << " MiB before loading, " << rss_after / 1024
     << " MiB after (VmRSS of the replica-set mongosim, which also holds the oplog entries of the inserts). "
     << notes << "\n";
  md << kEnd << "\n";
  return md.str();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t ndocs = 1000000;
  int64_t nfinds = 100000;
  std::string write_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--docs" && i + 1 < argc) {
      ndocs = std::atoll(argv[++i]);
    } else if (a == "--finds" && i + 1 < argc) {
      nfinds = std::atoll(argv[++i]);
    } else if (a == "--write" && i + 1 < argc) {
      write_file = argv[++i];
    } else {
      std::fprintf(stderr, "usage: mongosim_bench [--docs N] [--finds N] [--write docs/benchmarks.md]\nunknown argument: %s\n",
                   a.c_str());
      return 2;
    }
  }
  if (ndocs <= 0 || nfinds <= 0) {
    std::fprintf(stderr, "--docs and --finds must be positive\n");
    return 2;
  }
  mongoc_init();
  std::string load_before = bench::load_average();
  std::vector<Row> rows;
  int64_t raw_bytes = 0;
  long rss_before = 0, rss_after = 0;
  // The standalone inserts run before and after the replica set's and are averaged: on this
  // VM the first process to touch fresh memory pays for it (host page faults), so a single
  // standalone run after the replica set would look cheaper than it is.
  Phase ins, sa_before, sa_after;
  if (!standalone_insert(ndocs, &sa_before)) return 1;
  {
    auto proc = testsupport::MongosimProcess::start({});
    if (!proc.ok()) {
      std::fprintf(stderr, "cannot start mongosim: %s\n", proc.status().message().c_str());
      return 1;
    }
    Server s(std::move(proc).value());
    rss_before = rss_kib(s.proc.pid());
    Phase find, byid;
    if (!insert_docs(s, ndocs, &raw_bytes, &ins) || !find_all(s, ndocs, &find) || !find_by_id(s, ndocs, nfinds, &byid)) {
      return 1;
    }
    rss_after = rss_kib(s.proc.pid());
    rows.push_back(rate_row("batched insert (1000/batch), replica set", ndocs, ins, "docs/s", 300000));
    rows.push_back(rate_row("full-collection find", ndocs, find, "docs/s", 1000000));
    rows.push_back(rate_row("find by _id (sequential, 1 client)", nfinds, byid, "queries/s", 15000));
    double ratio = static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(raw_bytes);
    rows.push_back({"resident memory / raw data size", ratio, "x", 3.0, false});
  }
  if (!standalone_insert(ndocs, &sa_after)) return 1;
  Phase sa{(sa_before.wall_s + sa_after.wall_s) / 2, (sa_before.cpu_s + sa_after.cpu_s) / 2};
  rows.push_back(rate_row("batched insert (1000/batch), standalone (mean of a run before and after)", ndocs, sa, "docs/s",
                          300000));
  rows.push_back({"insert rate with the oplog / standalone (wall clock)", sa.wall_s / ins.wall_s, "", 0.70, true});
  rows.push_back({"insert rate with the oplog / standalone (server CPU)", sa.cpu_s / ins.cpu_s, "", 0.70, true});
  char notes[256];
  std::snprintf(notes, sizeof notes, "The standalone inserts ran at %.0f docs/s before the replica set's and %.0f after.",
                static_cast<double>(ndocs) / sa_before.wall_s, static_cast<double>(ndocs) / sa_after.wall_s);
  mongoc_cleanup();

  bool all_ok = false;
  std::string section =
      render(rows, ndocs, nfinds, raw_bytes, rss_before, rss_after, load_before, bench::load_average(), notes, &all_ok);
  std::fputs(section.c_str(), stdout);
  if (!write_file.empty() && !bench::replace_section(write_file, kBegin, kEnd, section)) {
    std::fprintf(stderr, "cannot write %s\n", write_file.c_str());
    return 1;
  }
  return all_ok ? 0 : 3;
}
