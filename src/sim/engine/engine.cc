// The engine: opening, command registration, background work (idle-cursor reaper, TTL
// monitor), and the helpers shared by the command files.
#include <fmt/format.h>

#include <unistd.h>

#include <mutex>
#include <shared_mutex>

#include "common/log.h"
#include "mql/expression.h"
#include "mql/value.h"
#include "sim/auth/auth.h"
#include "sim/engine/args.h"
#include "sim/engine/change_stream.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/search_index.h"
#include "sim/engine/session.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

// ---- EngineImpl ----

EngineImpl::EngineImpl(ServerContext& s)
    : server(s), observer(std::make_unique<OplogWriter>(*this)), oplog_writer(observer.get()), oplog_uuid(new_uuid()),
      catalog(s.options.version(), observer.get()),
      cursors(static_cast<int64_t>(s.options.cursor_timeout_minutes) * 60 * 1000) {}

EngineImpl::~EngineImpl() { shutdown(); }

Result<std::unique_ptr<Engine>> Engine::open(ServerContext& server) {
  auto e = std::make_unique<EngineImpl>(server);
  if (!server.options.dbpath.empty()) {
    e->persistence = std::make_unique<Persistence>(*e);
    MS_RETURN_IF_ERROR(e->persistence->open());
    Persistence* p = e->persistence.get();
    e->oplog_writer->set_append_hook([p](const OplogRecord& r) { p->append(r); });
    e->restored = !e->catalog.database_names().empty() ||
                  (e->oplog_writer->store() && !e->oplog_writer->store()->empty());
  }
  e->bootstrap_internal_collections();
  return std::unique_ptr<Engine>(std::move(e));
}

namespace {

// A collection the server creates for itself, not replicated (no observer).
std::shared_ptr<Collection> internal_collection(EngineImpl& e, const std::string& db, const std::string& name,
                                                CollectionOptions opts = {}) {
  if (opts.raw.empty() && opts.capped) {
    bson_t raw = BSON_INITIALIZER;
    bson_append_bool(&raw, "capped", -1, true);
    bson_append_int64(&raw, "size", -1, opts.capped_size);
    opts.raw = Bson::steal(&raw);
  }
  auto c = std::make_shared<Collection>(db, name, new_uuid(), std::move(opts), e.version(), nullptr);
  std::unique_lock lk(e.catalog.mu);
  e.catalog.restore_collection(c);
  return c;
}

void insert_json(Collection& c, const std::string& json) {
  auto b = Bson::from_json(json);
  if (b.ok()) (void)c.insert(DocRef::copy(b->get()), WriteContext{});
}

}  // namespace

void EngineImpl::bootstrap_internal_collections() {
  // What a fresh mongod has before any client writes: the FCV document, the sessions
  // collection, the startup log and, on a replica set, its configuration.
  auto fcv = internal_collection(*this, "admin", "system.version");
  insert_json(*fcv, fmt::format(R"({{"_id": "featureCompatibilityVersion", "version": "{}"}})",
                                    server.options.server_version));
  auto sessions = internal_collection(*this, "config", "system.sessions");
  {
    bson_t spec = BSON_INITIALIZER, key;
    bson_append_document_begin(&spec, "key", 3, &key);
    bson_append_int32(&key, "lastUse", -1, 1);
    bson_append_document_end(&spec, &key);
    bson_append_utf8(&spec, "name", 4, "lsidTTLIndex", -1);
    bson_append_int32(&spec, "expireAfterSeconds", -1, 1800);
    auto d = parse_index_spec(&spec, nullptr, version());
    bson_destroy(&spec);
    if (d.ok()) (void)sessions->add_index(std::move(d).value());
  }
  CollectionOptions log_opts;
  log_opts.capped = true;
  log_opts.capped_size = 10 * 1024 * 1024;
  auto startup = internal_collection(*this, "local", "startup_log", log_opts);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  insert_json(*startup, fmt::format(R"({{"_id": "{}-{}", "hostname": "{}", "startTime": {{"$date": {}}}, "pid": {}, "buildinfo": {{"version": "{}"}}}})",
                                    host, server.start_time_ms, host, server.start_time_ms, static_cast<int64_t>(getpid()),
                                    server.options.full_version()));

}

CommandDef engine_command(std::string name, CommandHandler h, bool is_write, std::string help,
                          std::vector<std::string> aliases) {
  CommandDef d;
  d.name = std::move(name);
  d.aliases = std::move(aliases);
  d.handler = std::move(h);
  d.is_write = is_write;
  d.help = std::move(help);
  return d;
}

void EngineImpl::register_commands(CommandRegistry& r) {
  // Every engine command passes the session gate (lsid, txnNumber, autocommit...).
  CommandRegistry mine;
  register_find_commands(*this, mine);
  register_write_commands(*this, mine);
  register_catalog_commands(*this, mine);
  register_index_commands(*this, mine);
  register_aggregate_commands(*this, mine);
  register_session_commands(*this, mine);
  register_search_index_commands(*this, mine);
  for (const CommandDef* d : mine.all()) {
    CommandDef copy = *d;
    copy.handler = with_session_gate(*this, copy.name, d->handler);
    r.add(std::move(copy));
  }
}

void EngineImpl::notify_data() {
  // Sequentially consistent with the waiter's count-then-check: a writer that sees no
  // waiter has published the version before any later waiter reads it.
  data_version_.fetch_add(1);
  // Writers pay for the lock and the wake-up only when someone waits.
  if (data_waiters_.load() == 0) return;
  { std::lock_guard lk(data_mu_); }
  data_cv_.notify_all();
}

void EngineImpl::wait_data(uint64_t seen, Clock::time_point deadline) {
  data_waiters_.fetch_add(1);
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1); }
  } leave{data_waiters_};
  std::unique_lock lk(data_mu_);
  // Wake at least every 100 ms to notice shutdown.
  while (data_version_.load() == seen && !server.shutting_down.load() && Clock::now() < deadline) {
    auto step = std::min(deadline, Clock::now() + std::chrono::milliseconds(100));
    data_cv_.wait_until(lk, step);
  }
}

Result<std::shared_ptr<QueryContext>> EngineImpl::query_context(const CommandContext& c, const mql::Collator* dflt,
                                                                const mql::CollatorPtr& default_ptr) {
  auto q = std::make_shared<QueryContext>();
  mql::ExpressionContext& x = q->ectx;
  x.version = version();
  x.db = c.req.db;
  x.now_ms = wall_now_ms();
  Timestamp now = server.clock.now();
  x.cluster_time_secs = now.t;
  x.cluster_time_inc = now.i;
  const bson_t* body = c.body();
  bson_iter_t it;
  if (bson_iter_init_find(&it, body, "collation") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    bson_t spec;
    bson_init_static(&spec, data, len);
    MS_ASSIGN_OR_RETURN(x.collator, mql::Collator::make(&spec));
  } else {
    x.collator = default_ptr;
  }
  (void)dflt;
  if (bson_iter_init_find(&it, body, "let") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_iter_t vars;
    bson_iter_recurse(&it, &vars);
    while (bson_iter_next(&vars)) {
      std::string name = bson_iter_key(&vars);
      if (name.empty() || !(std::islower(static_cast<unsigned char>(name[0])) || static_cast<unsigned char>(name[0]) >= 0x80)) {
        if (name == "CURRENT" || name == "ROOT" || name == "REMOVE" || name == "NOW" || name == "CLUSTER_TIME") {
          return Status(31444, fmt::format("'{}' is not allowed as a user variable name", name));
        }
        return Status(16870, fmt::format("'{}' starts with an invalid character for a user variable name", name));
      }
      MS_ASSIGN_OR_RETURN(auto expr, mql::Expression::parse(&vars, x));
      bson_t empty = BSON_INITIALIZER;
      mql::Variables v(x);
      auto val = expr->evaluate(&empty, v);
      bson_destroy(&empty);
      if (!val.ok()) return val.status();
      x.let[name] = std::move(val).value();
    }
  }
  return q;
}

Status EngineImpl::reply_with_cursor(std::shared_ptr<Cursor> cursor, int64_t batch_size, bool single_batch,
                                     int64_t max_time_ms, bson_t* reply, bool legacy_field_order) {
  bson_t tmp = BSON_INITIALIZER, arr;
  bson_append_array_begin(&tmp, "firstBatch", -1, &arr);
  size_t max_docs = batch_size < 0 ? 101 : static_cast<size_t>(batch_size);
  BatchWriter w(&arr, max_docs, kMaxBatchBytes);
  bool eof = false;
  Status st;
  if (max_docs > 0) {
    auto deadline = max_time_ms > 0 ? Clock::now() + std::chrono::milliseconds(max_time_ms) : Clock::time_point::max();
    st = cursor->source->fill(w, &eof, deadline);
  }
  bson_append_array_end(&tmp, &arr);
  if (!st.ok()) {
    bson_destroy(&tmp);
    return st;
  }
  int64_t id = 0;
  if (!eof && !single_batch) {
    if (const ClientInfo* client = current_client()) cursor->owner = sim::auth::authenticated_user(*client);
    id = cursors.add(cursor);
  }
  bson_t cur;
  bson_iter_t bi;
  bson_iter_init_find(&bi, &tmp, "firstBatch");
  bson_append_document_begin(reply, "cursor", -1, &cur);
  if (legacy_field_order) {
    bson_append_int64(&cur, "id", -1, id);
    common::append_utf8(&cur, "ns", cursor->ns);
    bson_append_iter(&cur, "firstBatch", -1, &bi);
  } else {
    bson_append_iter(&cur, "firstBatch", -1, &bi);
    cursor->source->append_cursor_fields(&cur);
    bson_append_int64(&cur, "id", -1, id);
    common::append_utf8(&cur, "ns", cursor->ns);
  }
  bson_append_document_end(reply, &cur);
  bson_destroy(&tmp);
  return Status::OK();
}

void EngineImpl::start_background() {
  std::lock_guard lk(bg_mu_);
  if (bg_.joinable()) return;
  if (!server.options.standalone && oplog_writer->store()->empty()) {
    // A fresh one-member set: replSetInitiate, then the election of this member.
    oplog_writer->log_noop("initiating set");
    oplog_writer->log_noop("new primary");
  } else if (!server.options.standalone && restored) {
    // A restart: the member is elected again, in a new term.
    server.clock.set_term(server.clock.term() + 1);
    oplog_writer->log_noop("new primary");
  }
  if (!server.options.standalone && !catalog.find("local", "system.replset")) {
    auto rs = internal_collection(*this, "local", "system.replset");
    insert_json(*rs, fmt::format(R"({{"_id": "{}", "version": 1, "term": 1, "members": [{{"_id": 0, "host": "{}", "arbiterOnly": false, "buildIndexes": true, "hidden": false, "priority": 1, "tags": {{}}, "secondaryDelaySecs": 0, "votes": 1}}], "protocolVersion": 1, "writeConcernMajorityJournalDefault": true, "settings": {{"chainingAllowed": true, "heartbeatIntervalMillis": 2000, "heartbeatTimeoutSecs": 10, "electionTimeoutMillis": 10000, "catchUpTimeoutMillis": -1, "catchUpTakeoverDelayMillis": 30000}}}})",
                                 server.options.replset, server.host_and_port));
  }
  stopping_ = false;
  bg_ = std::thread([this] { background_loop(); });
}

void EngineImpl::shutdown() {
  {
    std::lock_guard lk(bg_mu_);
    if (stopping_ && !bg_.joinable() && !persistence) return;
    stopping_ = true;
  }
  bg_cv_.notify_all();
  data_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  if (persistence) {
    Status st = persistence->close();
    if (!st.ok()) MS_LOG_ERROR("checkpoint at shutdown failed: {}", st.to_string());
    persistence.reset();
  }
}

void EngineImpl::background_loop() {
  int64_t last_ttl = wall_now_ms();
  std::unique_lock lk(bg_mu_);
  while (!stopping_) {
    bg_cv_.wait_for(lk, std::chrono::milliseconds(200));
    if (stopping_) break;
    lk.unlock();
    int64_t now = wall_now_ms();
    sessions.reap(now);
    if (persistence) {
      // Background writes (TTL deletes, no-ops) reach the journal file within a tick.
      Status fs = persistence->flush(false);
      if (!fs.ok()) MS_LOG_ERROR("journal: {}", fs.to_string());
    }
    int n = cursors.reap(now);
    if (n > 0) MS_LOG_INFO("killed {} idle cursor(s) past the cursor timeout", n);
    if (now - last_ttl >= static_cast<int64_t>(server.options.ttl_monitor_sleep_secs) * 1000) {
      last_ttl = now;
      run_ttl_pass();
    }
    if (OplogStore* store = oplog_writer->store()) {
      // Without other writes for the interval, a no-op keeps lastWrite and change-stream
      // high-water marks moving (§5.7).
      int64_t last_wall;
      {
        std::shared_lock slk(store->mu);
        last_wall = store->last_wall_ms();
      }
      if (now - last_wall >= static_cast<int64_t>(server.options.periodic_noop_interval_secs) * 1000) {
        oplog_writer->log_noop("periodic noop");
      }
    }
    lk.lock();
  }
}

namespace {

// The date a TTL index reads from a document: the field's date, or the earliest date of an
// array; nothing for other types.
std::optional<int64_t> ttl_date(const bson_t* doc, const mql::FieldPath& path) {
  std::optional<int64_t> best;
  auto visit = [&](const mql::PathHit& h) {
    if (h.it && bson_iter_type(h.it) == BSON_TYPE_DATE_TIME) {
      int64_t d = bson_iter_date_time(h.it);
      if (!best || d < *best) best = d;
    }
    return false;
  };
  mql::traverse(doc, path, true, visit);
  return best;
}

}  // namespace

void EngineImpl::run_ttl_pass() {
  ttl_passes.fetch_add(1);
  int64_t now = wall_now_ms();
  for (const auto& db : catalog.database_names()) {
    for (const auto& coll : catalog.collections(db)) {
      std::unique_lock lk(coll->mu);
      if (coll->dropped()) continue;
      std::vector<std::pair<mql::FieldPath, int64_t>> rules;
      for (const auto& ix : coll->indexes()) {
        const auto& d = ix->desc();
        if (d.expire_after_seconds && d.parts.size() == 1 && d.kind == IndexKind::kBtree &&
            !(coll->options().clustered && d.is_id())) {
          rules.emplace_back(d.parts[0].path, *d.expire_after_seconds);
        }
      }
      if (coll->options().clustered && coll->options().expire_after_seconds) {
        rules.emplace_back(mql::FieldPath("_id"), *coll->options().expire_after_seconds);
      }
      if (rules.empty()) continue;
      std::vector<int64_t> expired;
      for (const auto& [rid, doc] : coll->records()) {
        bson_t v = doc.view();
        for (const auto& [path, secs] : rules) {
          auto d = ttl_date(&v, path);
          if (d && *d + secs * 1000 <= now) {
            expired.push_back(rid);
            break;
          }
        }
      }
      WriteContext wc;
      for (int64_t rid : expired) coll->remove(rid, wc);
      ttl_deleted.fetch_add(static_cast<int64_t>(expired.size()));
    }
  }
}

Timestamp EngineImpl::log_noop(const std::string& msg) {
  if (!oplog_writer->store()) return Timestamp{};
  return oplog_writer->log_noop(msg);
}

void EngineImpl::truncate_oplog_before(Timestamp ts) {
  if (OplogStore* store = oplog_writer->store()) store->truncate_before(ts);
}

bool EngineImpl::oplog_bounds(OplogBounds* out) {
  OplogStore* store = oplog_writer->store();
  if (!store) return false;
  std::shared_lock lk(store->mu);
  out->first = store->first_ts();
  out->last = store->last_ts();
  out->first_wall_ms = store->first_wall_ms();
  out->last_wall_ms = store->last_wall_ms();
  out->size_bytes = store->size_bytes();
  out->max_bytes = store->max_bytes();
  out->count = static_cast<int64_t>(store->records().size());
  return true;
}

bool EngineImpl::is_change_stream_cursor(int64_t id) {
  auto c = cursors.find(id);
  return c && engine::is_change_stream_cursor(c->source.get());
}

bool EngineImpl::is_retry_of_executed_write(const CommandContext& c) { return engine::is_retry_of_executed_write(*this, c); }

bool EngineImpl::set_prepared_transactions(bool on) {
  if (!oplog_writer->store()) return false;
  oplog_writer->set_prepared_commits(on);
  return true;
}

void EngineImpl::set_fs_sizes(std::optional<std::pair<int64_t, int64_t>> total_used) { fs_override = total_used; }

void EngineImpl::on_step_down() {
  // Open transactions do not survive a step-down; their sessions see NoSuchTransaction.
  sessions.abort_all_transactions();
}

void EngineImpl::on_step_up() { log_noop("new primary"); }

void EngineImpl::append_server_status(bson_t* reply) {
  auto cs = cursors.stats();
  bson_t metrics, cursor, open, ttl;
  bson_append_document_begin(reply, "metrics", -1, &metrics);
  bson_append_document_begin(&metrics, "cursor", -1, &cursor);
  bson_append_int64(&cursor, "timedOut", -1, cs.timed_out);
  bson_append_int64(&cursor, "totalOpened", -1, cs.total_opened);
  bson_append_document_begin(&cursor, "open", -1, &open);
  bson_append_int64(&open, "noTimeout", -1, cs.no_timeout);
  bson_append_int64(&open, "pinned", -1, cs.pinned);
  bson_append_int64(&open, "total", -1, cs.open);
  bson_append_document_end(&cursor, &open);
  bson_append_document_end(&metrics, &cursor);
  bson_append_document_begin(&metrics, "ttl", -1, &ttl);
  bson_append_int64(&ttl, "deletedDocuments", -1, ttl_deleted.load());
  bson_append_int64(&ttl, "passes", -1, ttl_passes.load());
  bson_append_document_end(&metrics, &ttl);
  bson_append_document_end(reply, &metrics);
}

}  // namespace sim::engine
