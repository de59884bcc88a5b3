// mongosim_bench: the numbers for mongosim, from one libmongoc client on this machine:
// batched insert of N ~200-byte documents (batches of 1000), full-collection find, sequential
// find by _id, and mongosim's resident memory against the raw data size. Prints a Markdown
// table and, with --write FILE, replaces the "mongosim core" section of that file.
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

#include "support/mongosim_process.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
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
};

}  // namespace

int main(int argc, char** argv) {
  int64_t ndocs = 1000000;
  int64_t nfinds = 100000;
  std::string write_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--docs" && i + 1 < argc) ndocs = std::atoll(argv[++i]);
    else if (a == "--finds" && i + 1 < argc) nfinds = std::atoll(argv[++i]);
    else if (a == "--write" && i + 1 < argc) write_file = argv[++i];
    else {
      std::fprintf(stderr, "usage: mongosim_bench [--docs N] [--finds N] [--write docs/benchmarks.md]\nunknown argument: %s\n", a.c_str());
      return 2;
    }
  }
  mongoc_init();
  auto proc = testsupport::MongosimProcess::start({});
  if (!proc.ok()) {
    std::fprintf(stderr, "cannot start mongosim: %s\n", proc.status().message().c_str());
    return 1;
  }
  long rss_before = rss_kib(proc->pid());
  bson_error_t err;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(proc->uri().c_str(), &err);
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  mongoc_collection_t* coll = mongoc_client_get_collection(client, "bench", "docs");
  std::mt19937_64 rng(42);
  std::vector<Row> rows;

  // 1. Batched insert, 1000 per batch (insert_many = one insert command per batch).
  int64_t raw_bytes = 0;
  auto t0 = Clock::now();
  const int batch = 1000;
  std::vector<bson_t*> docs(batch);
  for (auto& d : docs) d = bson_new();
  for (int64_t base = 0; base < ndocs; base += batch) {
    int n = static_cast<int>(std::min<int64_t>(batch, ndocs - base));
    for (int i = 0; i < n; ++i) {
      bson_reinit(docs[i]);
      make_doc(docs[i], base + i, rng);
      raw_bytes += docs[i]->len;
    }
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    if (!mongoc_collection_insert_many(coll, const_cast<const bson_t**>(docs.data()), n, &opts, nullptr, &err)) {
      std::fprintf(stderr, "insert failed: %s\n", err.message);
      return 1;
    }
    bson_destroy(&opts);
  }
  double ins_s = seconds_since(t0);
  for (auto& d : docs) bson_destroy(d);
  rows.push_back({"batched insert (1000/batch)", ndocs / ins_s, "docs/s", 300000, true});

  // 2. Full-collection find.
  t0 = Clock::now();
  bson_t filter = BSON_INITIALIZER;
  bson_t fopts = BSON_INITIALIZER;
  BSON_APPEND_INT32(&fopts, "batchSize", 10000);
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(coll, &filter, &fopts, nullptr);
  const bson_t* doc;
  int64_t seen = 0;
  while (mongoc_cursor_next(cur, &doc)) ++seen;
  if (mongoc_cursor_error(cur, &err)) {
    std::fprintf(stderr, "find failed: %s\n", err.message);
    return 1;
  }
  mongoc_cursor_destroy(cur);
  double find_s = seconds_since(t0);
  if (seen != ndocs) {
    std::fprintf(stderr, "full find returned %lld of %lld documents\n", static_cast<long long>(seen), static_cast<long long>(ndocs));
    return 1;
  }
  rows.push_back({"full-collection find", ndocs / find_s, "docs/s", 1000000, true});

  // 3. Sequential find by _id (random ids over the whole collection).
  t0 = Clock::now();
  int64_t found = 0;
  for (int64_t i = 0; i < nfinds; ++i) {
    bson_t q = BSON_INITIALIZER;
    BSON_APPEND_INT64(&q, "_id", static_cast<int64_t>(rng() % ndocs));
    bson_t o = BSON_INITIALIZER;
    BSON_APPEND_INT64(&o, "limit", 1);
    BSON_APPEND_BOOL(&o, "singleBatch", true);
    mongoc_cursor_t* c = mongoc_collection_find_with_opts(coll, &q, &o, nullptr);
    if (mongoc_cursor_next(c, &doc)) ++found;
    mongoc_cursor_destroy(c);
    bson_destroy(&q);
    bson_destroy(&o);
  }
  double byid_s = seconds_since(t0);
  if (found != nfinds) {
    std::fprintf(stderr, "find by _id found %lld of %lld\n", static_cast<long long>(found), static_cast<long long>(nfinds));
    return 1;
  }
  rows.push_back({"find by _id (sequential, 1 client)", nfinds / byid_s, "queries/s", 15000, true});

  // 4. Resident memory against raw data size.
  long rss_after = rss_kib(proc->pid());
  double ratio = static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(raw_bytes);
  rows.push_back({"resident memory / raw data size", ratio, "x", 3.0, false});

  mongoc_collection_destroy(coll);
  mongoc_client_destroy(client);
  mongoc_uri_destroy(uri);
  mongoc_cleanup();

  std::ostringstream md;
  md << "<!-- mongosim-core:begin -->\n";
  md << "### mongosim core (issue: foundation and mongosim core)\n\n";
  md << "Command: `scripts/bench.sh` (runs `build/bin/mongosim_bench --docs " << ndocs << " --finds " << nfinds
     << " --write docs/benchmarks.md`), one libmongoc client, " << ndocs << " documents of "
     << (raw_bytes / ndocs) << " bytes (" << raw_bytes / (1024 * 1024) << " MiB raw).\n\n";
  md << "| measure | result | target | ratio to target |\n|---|---:|---:|---:|\n";
  bool all_ok = true;
  for (const auto& r : rows) {
    double rt = r.higher_is_better ? r.value / r.target : r.target / r.value;
    if (rt < 1.0) all_ok = false;
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %.2f %s | %s %.0f %s | %.2f |\n", r.what.c_str(), r.value, r.unit.c_str(),
                  r.higher_is_better ? "≥" : "≤", r.target, r.unit.c_str(), rt);
    md << line;
  }
  md << "\nResident memory: " << rss_before / 1024 << " MiB before loading, " << rss_after / 1024
     << " MiB after (VmRSS of the mongosim process).\n";
  md << "<!-- mongosim-core:end -->\n";
  std::fputs(md.str().c_str(), stdout);

  if (!write_file.empty()) {
    std::ifstream in(write_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    auto b = text.find("<!-- mongosim-core:begin -->");
    auto e = text.find("<!-- mongosim-core:end -->");
    if (b != std::string::npos && e != std::string::npos) {
      text.replace(b, e + std::strlen("<!-- mongosim-core:end -->\n") - b, md.str());
    } else {
      text += "\n" + md.str();
    }
    std::ofstream out(write_file);
    out << text;
  }
  return all_ok ? 0 : 3;
}
