// Incremental-phase test support: a source and a destination mongosim, a state store with a
// registered task, a naive initial copy, a random workload on the source (inserts, nested
// and array updates, replacements, deletes, transactions, DDL with renames and index
// changes), and a comparison of every collection's options, indexes and documents.
#pragma once

#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "apply/incremental.h"
#include "apply/incremental_store.h"
#include "change/start_point.h"
#include "client/client.h"
#include "state/state_store.h"
#include "support/mongosim_process.h"
#include "support/sim_client.h"
#include "task/options.h"

namespace incr {

inline client::ConnectSpec spec_of(const std::string& uri) {
  client::ConnectSpec s;
  s.uri = uri;
  s.connect_timeout_ms = 5000;
  return s;
}

// Random writes on the source's database `db`, from their own client and thread.
class Workload {
 public:
  Workload(std::string uri, std::string db, uint32_t seed, bool ddl = true);
  ~Workload() { stop(); }
  void start();
  void stop();
  // Runs `n` operations on the calling thread.
  void run_ops(int n);
  int64_t ops() const { return ops_.load(); }

 private:
  void one_op(mongoc_client_t* c);
  void txn(mongoc_client_t* c);
  void ddl(mongoc_client_t* c);
  std::string coll();
  std::string uri_, db_;
  std::mt19937 rng_;
  bool with_ddl_;
  std::vector<std::string> colls_ = {"c0", "c1", "c2"};
  int next_id_ = 100000;
  int renames_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ops_{0};
  std::thread thread_;
};

// Creates collections c0..c2 of `db` with `docs` documents each (and an index).
void seed(testsupport::SimServer& s, const std::string& db, int docs);
// Copies every collection of `db` (options, indexes, documents) as a full copy would.
void copy_database(testsupport::SimServer& src, testsupport::SimServer& dst, const std::string& db);
// Every collection of `db`: same options, same indexes, same documents (byte-exact, by _id).
void expect_identical(testsupport::SimServer& src, testsupport::SimServer& dst, const std::string& db);

struct Task {
  std::string dir;
  std::unique_ptr<state::StateStore> store;
  state::TaskRecord record;
  task::TaskOptions options;
};
std::unique_ptr<Task> make_task(const std::string& src_uri, const std::string& dst_uri, task::IncrementalMethod m);

// Runs run_incremental on a thread; `stop()` interrupts it (SIGINT-like).
class Runner {
 public:
  explicit Runner(apply::IncrementalContext ctx);
  ~Runner();
  void interrupt() { interrupt_ = true; }
  // Waits for the end (at most `seconds`).
  common::Result<apply::IncrementalOutcome> wait(int seconds = 60);
  apply::IncrementalStatus last_status();

 private:
  apply::IncrementalContext ctx_;
  std::atomic<bool> interrupt_{false};
  std::mutex mu_;
  apply::IncrementalStatus status_;
  std::optional<common::Result<apply::IncrementalOutcome>> result_;
  std::thread thread_;
};

change::StartPoint capture(const std::string& uri);

// The phase's context for a task between two servers (`store`: the task's own when null).
apply::IncrementalContext context(Task& t, const std::string& src_uri, const std::string& dst_uri,
                                  const change::StartPoint& t0, std::optional<change::StartPoint> t1 = std::nullopt,
                                  state::StateStore* store = nullptr);
// `mongoshift stop`, from another handle on the state store (as from another shell).
void request_stop(const Task& t);

// ---- implementation (header-only: the suite globs only *_test.cc) ----

inline change::StartPoint capture(const std::string& uri) {
  auto c = client::Connection::open(spec_of(uri));
  EXPECT_TRUE(c.ok());
  auto p = change::capture_start_point(*c);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? *p : change::StartPoint{};
}

inline Workload::Workload(std::string uri, std::string db, uint32_t seed, bool ddl)
    : uri_(std::move(uri)), db_(std::move(db)), rng_(seed), with_ddl_(ddl) {}

inline void Workload::start() {
  thread_ = std::thread([this] {
    mongoc_client_t* c = mongoc_client_new(uri_.c_str());
    mongoc_client_set_error_api(c, 2);
    while (!stop_) one_op(c);
    mongoc_client_destroy(c);
  });
}

inline void Workload::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

inline void Workload::run_ops(int n) {
  mongoc_client_t* c = mongoc_client_new(uri_.c_str());
  mongoc_client_set_error_api(c, 2);
  for (int k = 0; k < n; ++k) one_op(c);
  mongoc_client_destroy(c);
}

inline std::string Workload::coll() { return colls_[rng_() % colls_.size()]; }

inline void run_cmd(mongoc_client_t* c, const std::string& db, const std::string& json, const bson_t* opts = nullptr) {
  auto cmd = common::Bson::from_json(json);
  ASSERT_TRUE(cmd.ok()) << json;
  bson_t reply;
  bson_error_t err;
  mongoc_client_write_command_with_opts(c, db.c_str(), cmd->get(), opts, &reply, &err);
  bson_destroy(&reply);
}

inline void Workload::one_op(mongoc_client_t* c) {
  ++ops_;
  int kind = static_cast<int>(rng_() % 100);
  int id = static_cast<int>(rng_() % 300);
  std::string q = "{\"_id\": " + std::to_string(id) + "}";
  std::string v = std::to_string(rng_() % 1000);
  std::string u;
  if (kind < 20) {
    int nid = next_id_++;
    run_cmd(c, db_, "{\"insert\": \"" + coll() + "\", \"documents\": [{\"_id\": " + std::to_string(nid) +
                        ", \"a\": " + v + ", \"n\": {\"x\": 1, \"arr\": [1, 2, {\"k\": 3}]}, \"tags\": [\"t\"]}]}");
    return;
  }
  if (kind < 26) {
    run_cmd(c, db_, "{\"insert\": \"" + coll() + "\", \"documents\": [{\"_id\": " + std::to_string(id) +
                        ", \"a\": " + v + "}]}");
    return;
  }
  if (kind < 34) u = "{\"$set\": {\"n.x\": " + v + ", \"n.y\": {\"deep\": [" + v + "]}}}";
  else if (kind < 40) u = "{\"$push\": {\"n.arr\": " + v + "}}";
  else if (kind < 44) u = "{\"$pop\": {\"n.arr\": 1}}";
  else if (kind < 48) u = "{\"$set\": {\"n.arr.2.k\": " + v + "}, \"$inc\": {\"cnt\": 1}}";
  else if (kind < 52) u = "{\"$unset\": {\"a\": \"\"}, \"$addToSet\": {\"tags\": \"u" + v + "\"}}";
  else if (kind < 56) u = "[{\"$set\": {\"tags\": {\"$slice\": [{\"$ifNull\": [\"$tags\", []]}, 1]}, \"p\": \"$a\"}}]";
  else if (kind < 62) u = "{\"_id\": " + std::to_string(id) + ", \"replaced\": " + v + "}";
  if (!u.empty()) {
    std::string multi = kind < 34 && rng_() % 4 == 0 ? ", \"multi\": true" : "";
    std::string qq = multi.empty() ? q : "{\"a\": {\"$lt\": 100}}";
    if (u[0] != '[' && u.find("\"$") == std::string::npos) multi.clear(), qq = q;
    run_cmd(c, db_, "{\"update\": \"" + coll() + "\", \"updates\": [{\"q\": " + qq + ", \"u\": " + u + multi + "}]}");
    return;
  }
  if (kind < 72) {
    run_cmd(c, db_, "{\"delete\": \"" + coll() + "\", \"deletes\": [{\"q\": " + q + ", \"limit\": 1}]}");
    return;
  }
  if (kind < 74) {
    run_cmd(c, db_, "{\"delete\": \"" + coll() + "\", \"deletes\": [{\"q\": {\"a\": {\"$gt\": 990}}, \"limit\": 0}]}");
    return;
  }
  if (kind < 84) {
    txn(c);
    return;
  }
  if (kind < 86 && with_ddl_) {
    ddl(c);
    return;
  }
}

inline void Workload::txn(mongoc_client_t* c) {
  bson_error_t err;
  mongoc_client_session_t* s = mongoc_client_start_session(c, nullptr, &err);
  if (!s) return;
  bson_t opts = BSON_INITIALIZER;
  if (mongoc_client_session_append(s, &opts, &err) && mongoc_client_session_start_transaction(s, nullptr, &err)) {
    std::string a = colls_[0], b = colls_[1];
    int id = static_cast<int>(rng_() % 300);
    run_cmd(c, db_, "{\"update\": \"" + a + "\", \"updates\": [{\"q\": {\"_id\": " + std::to_string(id) +
                        "}, \"u\": {\"$set\": {\"txn\": 1}, \"$inc\": {\"cnt\": 10}}}]}", &opts);
    run_cmd(c, db_, "{\"insert\": \"" + b + "\", \"documents\": [{\"_id\": " + std::to_string(next_id_++) +
                        ", \"fromTxn\": true}]}", &opts);
    run_cmd(c, db_, "{\"delete\": \"" + b + "\", \"deletes\": [{\"q\": {\"_id\": " + std::to_string(rng_() % 300) +
                        "}, \"limit\": 1}]}", &opts);
    bson_t reply;
    if (rng_() % 5 == 0) mongoc_client_session_abort_transaction(s, &err);
    else mongoc_client_session_commit_transaction(s, &reply, &err), bson_destroy(&reply);
  }
  bson_destroy(&opts);
  mongoc_client_session_destroy(s);
}

inline void Workload::ddl(mongoc_client_t* c) {
  int kind = static_cast<int>(rng_() % 6);
  std::string cl = coll();
  switch (kind) {
    case 0: run_cmd(c, db_, "{\"createIndexes\": \"" + cl + "\", \"indexes\": [{\"key\": {\"n.x\": 1}, \"name\": \"nx\"}]}"); break;
    case 1: run_cmd(c, db_, "{\"dropIndexes\": \"" + cl + "\", \"index\": \"nx\"}"); break;
    case 2: run_cmd(c, db_, "{\"createIndexes\": \"" + cl + "\", \"indexes\": [{\"key\": {\"ttl\": 1}, \"name\": \"ttl_1\", \"expireAfterSeconds\": 3600}]}"); break;
    case 3: {
      // Rename a collection and bring a fresh one back under the old name.
      std::string to = cl + "_r" + std::to_string(renames_++);
      run_cmd(c, "admin", "{\"renameCollection\": \"" + db_ + "." + cl + "\", \"to\": \"" + db_ + "." + to + "\"}");
      run_cmd(c, db_, "{\"create\": \"" + cl + "\"}");
      break;
    }
    case 4: run_cmd(c, db_, "{\"collMod\": \"" + cl + "\", \"validationLevel\": \"moderate\", \"validator\": {\"a\": {\"$exists\": true}}, \"validationAction\": \"warn\"}"); break;
    case 5: run_cmd(c, db_, "{\"create\": \"v" + std::to_string(renames_) + "\", \"viewOn\": \"" + cl + "\", \"pipeline\": [{\"$match\": {\"a\": {\"$gt\": 1}}}]}"); break;
  }
}

inline void seed(testsupport::SimServer& s, const std::string& db, int docs) {
  for (const char* c : {"c0", "c1", "c2"}) {
    std::string json = std::string("{\"insert\": \"") + c + "\", \"documents\": [";
    for (int i = 0; i < docs; ++i) {
      json += (i ? "," : "") + std::string("{\"_id\": ") + std::to_string(i) + ", \"a\": " + std::to_string(i % 1000) +
              ", \"n\": {\"x\": 0, \"arr\": [1, 2, {\"k\": 0}]}, \"tags\": [\"s\"]}";
    }
    s.must(db, json + "]}");
    s.must(db, std::string("{\"createIndexes\": \"") + c + "\", \"indexes\": [{\"key\": {\"a\": 1}, \"name\": \"a_1\"}]}");
  }
}

inline std::vector<common::Bson> collections(testsupport::SimServer& s, const std::string& db) {
  auto r = s.must(db, "{\"listCollections\": 1}");
  std::vector<common::Bson> out;
  for (auto& c : r.batch()) out.push_back(c);
  // The first batch holds everything for test-sized catalogs; sort by name.
  std::sort(out.begin(), out.end(), [](const common::Bson& a, const common::Bson& b) {
    bson_iter_t x, y;
    bson_iter_init_find(&x, a.get(), "name");
    bson_iter_init_find(&y, b.get(), "name");
    return std::string(bson_iter_utf8(&x, nullptr)) < bson_iter_utf8(&y, nullptr);
  });
  return out;
}

inline std::string field_json(const common::Bson& d, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, d.get(), key)) return "";
  return common::value_to_json(bson_iter_value(&it));
}

inline std::map<std::string, std::string> option_fields(const common::Bson& info) {
  std::map<std::string, std::string> out;
  bson_iter_t it, o;
  if (bson_iter_init_find(&it, info.get(), "options") && bson_iter_recurse(&it, &o)) {
    while (bson_iter_next(&o)) out[bson_iter_key(&o)] = common::value_to_json(bson_iter_value(&o));
  }
  return out;
}

inline std::string str_field(const common::Bson& d, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, d.get(), key) && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
}

// listIndexes without the TTL value (kept neutral on the destination until finalize), by name.
inline std::vector<std::string> index_specs(testsupport::SimServer& s, const std::string& db, const std::string& coll) {
  std::vector<std::string> out;
  auto r = s.run(db, "{\"listIndexes\": \"" + coll + "\"}");
  for (auto& spec : r.batch()) {
    bson_t b = BSON_INITIALIZER;
    bson_iter_t it;
    bson_iter_init(&it, spec.get());
    while (bson_iter_next(&it)) {
      if (std::string_view(bson_iter_key(&it)) == "expireAfterSeconds") continue;
      bson_append_iter(&b, bson_iter_key(&it), -1, &it);
    }
    out.push_back(common::Bson::steal(&b).json());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline void copy_database(testsupport::SimServer& src, testsupport::SimServer& dst, const std::string& db) {
  for (const auto& c : collections(src, db)) {
    std::string name = str_field(c, "name");
    std::string type = str_field(c, "type");
    bson_iter_t it;
    bson_t create = BSON_INITIALIZER;
    bson_append_utf8(&create, "create", -1, name.c_str(), -1);
    bson_iter_t o;
    if (bson_iter_init_find(&it, c.get(), "options") && bson_iter_recurse(&it, &o)) {
      while (bson_iter_next(&o)) bson_append_iter(&create, bson_iter_key(&o), -1, &o);
    }
    dst.run(db, common::Bson::steal(&create));
    if (type == "view") continue;
    for (const auto& d : src.find_all(db, name)) {
      bson_t ins = BSON_INITIALIZER, docs;
      bson_append_utf8(&ins, "insert", -1, name.c_str(), -1);
      bson_append_array_begin(&ins, "documents", -1, &docs);
      bson_append_document(&docs, "0", -1, d.get());
      bson_append_array_end(&ins, &docs);
      dst.run(db, common::Bson::steal(&ins));
    }
    auto r = src.run(db, "{\"listIndexes\": \"" + name + "\"}");
    for (auto& spec : r.batch()) {
      if (str_field(spec, "name") == "_id_") continue;
      bson_t ci = BSON_INITIALIZER, arr;
      bson_append_utf8(&ci, "createIndexes", -1, name.c_str(), -1);
      bson_append_array_begin(&ci, "indexes", -1, &arr);
      bson_append_document(&arr, "0", -1, spec.get());
      bson_append_array_end(&ci, &arr);
      dst.run(db, common::Bson::steal(&ci));
    }
  }
}

inline void expect_identical(testsupport::SimServer& src, testsupport::SimServer& dst, const std::string& db) {
  auto a = collections(src, db), b = collections(dst, db);
  ASSERT_EQ(a.size(), b.size()) << "collections differ in number";
  for (size_t k = 0; k < a.size(); ++k) {
    std::string name = str_field(a[k], "name");
    SCOPED_TRACE(db + "." + name);
    ASSERT_EQ(name, str_field(b[k], "name"));
    EXPECT_EQ(str_field(a[k], "type"), str_field(b[k], "type"));
    // Options compare by field (their order depends on the history of collMod calls).
    EXPECT_EQ(option_fields(a[k]), option_fields(b[k]));
    if (str_field(a[k], "type") == "view") continue;
    EXPECT_EQ(index_specs(src, db, name), index_specs(dst, db, name));
    auto da = src.find_all(db, name, "{}", "\"sort\": {\"_id\": 1}");
    auto dd = dst.find_all(db, name, "{}", "\"sort\": {\"_id\": 1}");
    ASSERT_EQ(da.size(), dd.size());
    for (size_t i = 0; i < da.size(); ++i) {
      EXPECT_EQ(da[i].bytes(), dd[i].bytes()) << "source " << da[i].json() << "\ndestination " << dd[i].json();
      if (da[i].bytes() != dd[i].bytes()) return;
    }
  }
}

inline std::unique_ptr<Task> make_task(const std::string& src_uri, const std::string& dst_uri, task::IncrementalMethod m) {
  auto t = std::make_unique<Task>();
  t->dir = testsupport::make_temp_dir("incr");
  auto st = state::StateStore::open(t->dir);
  EXPECT_TRUE(st.ok()) << st.status().to_string();
  t->store = std::move(st).value();
  auto rec = t->store->register_task(t->dir + "/task.yaml", "incr-test", "");
  EXPECT_TRUE(rec.ok()) << rec.status().to_string();
  t->record = *rec;
  t->options.source.uri = src_uri;
  t->options.destination.uri = dst_uri;
  t->options.incremental.method = m;
  t->options.incremental.lanes = 4;
  t->options.incremental.batch_ops = 200;
  t->options.incremental.checkpoint_seconds = 1;
  t->options.objects.include = {"app"};
  return t;
}

inline apply::IncrementalContext context(Task& t, const std::string& src_uri, const std::string& dst_uri,
                                         const change::StartPoint& t0, std::optional<change::StartPoint> t1,
                                         state::StateStore* store) {
  apply::IncrementalContext ctx;
  ctx.options = &t.options;
  ctx.source = spec_of(src_uri);
  ctx.destination = spec_of(dst_uri);
  ctx.store = store ? store : t.store.get();
  ctx.task_id = t.record.id;
  ctx.t0 = t0;
  ctx.t1 = t1;
  ctx.quiet_seconds = 1;
  return ctx;
}

inline void request_stop(const Task& t) {
  auto other = state::StateStore::open(t.dir);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(apply::request_stop(**other, t.record.id).ok());
}

inline Runner::Runner(apply::IncrementalContext ctx) : ctx_(std::move(ctx)) {
  ctx_.interrupt = &interrupt_;
  ctx_.on_status = [this](const apply::IncrementalStatus& s) {
    std::lock_guard<std::mutex> g(mu_);
    status_ = s;
  };
  thread_ = std::thread([this] {
    auto r = apply::run_incremental(ctx_);
    std::lock_guard<std::mutex> g(mu_);
    result_.emplace(std::move(r));
  });
}

inline Runner::~Runner() {
  interrupt_ = true;
  if (thread_.joinable()) thread_.join();
}

inline common::Result<apply::IncrementalOutcome> Runner::wait(int seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (result_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!result_) interrupt_ = true;
  }
  thread_.join();
  std::lock_guard<std::mutex> g(mu_);
  return std::move(*result_);
}

inline apply::IncrementalStatus Runner::last_status() {
  std::lock_guard<std::mutex> g(mu_);
  return status_;
}

}  // namespace incr
