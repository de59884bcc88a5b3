// Sessions, retryable writes and transactions (see session.h; mongodb-reference.md §9 and the
// server's transaction_participant.cpp for the rules and their messages).
#include "sim/engine/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <shared_mutex>

#include "sim/engine/args.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/key_string.h"
#include "sim/engine/write_path.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr int kNotARetryableWriteCommand = 50768;
constexpr int kIncompleteTransactionHistory = 217;
constexpr int64_t kSessionTimeoutMs = 30 * 60 * 1000;
constexpr int64_t kTransactionLifetimeMs = 60 * 1000;

thread_local OperationSession* tl_operation = nullptr;
thread_local const ClientInfo* tl_client = nullptr;

std::string session_key(const Bson& lsid) { return std::string(lsid.bytes()); }

Status write_conflict() {
  return Status(common::kWriteConflict, "WriteConflict error: this operation conflicted with another operation. "
                                        "Please retry your operation or multi-document transaction.");
}

std::string txn_number_doc(int64_t n) { return fmt::format("{{ txnNumber: {} }}", n); }

// The id document of a DocRef ({_id: ...}) as an index key, for intents and write sets.
std::string id_key(const Collection& coll, const DocRef& d) {
  bson_t v = d.view();
  bson_iter_t it;
  if (!common::find_field(&v, "_id", &it)) return coll.uuid();
  std::string k = coll.uuid();
  keystring::append_value(k, bson_iter_value(&it), coll.id_index() ? coll.id_index()->desc().collator.get() : nullptr);
  return k;
}

bool same_doc(const DocRef& a, const DocRef& b) {
  if (!a && !b) return true;
  if (!a || !b) return false;
  return a.data() == b.data();
}

}  // namespace

OperationSession* current_operation() { return tl_operation; }
const ClientInfo* current_client() { return tl_client; }

// ---- Transaction ----

class TxnListener : public TxnWriteListener {
 public:
  explicit TxnListener(Transaction& t) : t_(t) {}
  void on_txn_write(const Collection& coll, const DocRef& pre, const DocRef& post) override;

 private:
  Transaction& t_;
};

Transaction::~Transaction() { release_intents(); }

Transaction::Touched* Transaction::touch(const std::string& db, const std::string& name) {
  std::lock_guard lk(mu_);
  std::string ns = ns_of(db, name);
  auto it = touched_.find(ns);
  if (it != touched_.end()) return &it->second;
  auto real = e_.catalog.find_committed(db, name);
  if (!real) return nullptr;
  Touched t;
  t.real = real;
  {
    std::shared_lock rlk(real->mu);
    t.copy = real->snapshot_copy();
  }
  return &touched_.emplace(ns, std::move(t)).first->second;
}

std::shared_ptr<Collection> Transaction::resolve(const std::string& db, const std::string& name) {
  Touched* t = touch(db, name);
  return t ? t->copy : nullptr;
}

Result<std::shared_ptr<Collection>> Transaction::create(const std::string& db, const std::string& name,
                                                         CollectionOptions options) {
  if (e_.catalog.find_view(db, name)) {
    return Status(common::kNamespaceExists, fmt::format("Collection {}.{} already exists.", db, name));
  }
  auto c = std::make_shared<Collection>(db, name, new_uuid(), std::move(options), e_.version(), e_.observer.get());
  {
    std::unique_lock clk(c->mu);
    // Logged as an inner operation of the transaction (the thread's op buffer is set).
    e_.observer->on_create_collection(*c);
  }
  std::lock_guard lk(mu_);
  Touched t;
  t.copy = c;
  touched_[ns_of(db, name)] = std::move(t);
  return c;
}

Result<std::shared_ptr<Collection>> Transaction::resolve_or_create(const std::string& db, const std::string& name) {
  if (auto c = resolve(db, name)) return c;
  if (e_.catalog.find_view(db, name)) {
    return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", db, name));
  }
  if (e_.version() < 44) {
    return Status(common::kOperationNotSupportedInTransaction,
                  fmt::format("Cannot create namespace {}.{} in multi-document transaction.", db, name));
  }
  return create(db, name, CollectionOptions{});
}

void TxnListener::on_txn_write(const Collection& coll, const DocRef& pre, const DocRef& post) {
  t_.note_write(coll, pre, post);
}

void Transaction::note_write(const Collection& copy, const DocRef& pre, const DocRef& post) {
  const DocRef& any = pre ? pre : post;
  std::string key = id_key(copy, any);
  std::lock_guard lk(mu_);
  Touched* t = nullptr;
  for (auto& [ns, tt] : touched_) {
    if (tt.copy.get() == &copy) t = &tt;
  }
  if (!t || t->written.count(key)) return;
  // The first write of this document in the transaction: `pre` is its snapshot version.
  t->written.emplace(key, pre);
  if (!t->real) return;  // created in this transaction
  if (!e_.sessions.take_intent(key, this)) {
    if (!conflict_) conflict_ = write_conflict();
    return;
  }
  std::shared_lock rlk(t->real->mu);
  bson_t v = any.view();
  bson_iter_t id;
  DocRef current;
  if (common::find_field(&v, "_id", &id)) {
    int64_t rid = t->real->find_by_id(bson_iter_value(&id));
    if (rid >= 0) current = *t->real->find(rid);
  }
  if (!same_doc(current, pre) && !conflict_) conflict_ = write_conflict();
}

void Transaction::release_intents() {
  std::lock_guard lk(mu_);
  for (auto& [ns, t] : touched_) {
    for (auto& [key, d] : t.written) e_.sessions.release_intent(key, this);
  }
}

Status Transaction::commit(Timestamp* commit_ts) {
  std::unique_lock lk(mu_);
  if (finished_) return Status::OK();
  std::vector<Touched*> writes;
  std::vector<Touched*> created;
  for (auto& [ns, t] : touched_) {
    if (!t.real) {
      created.push_back(&t);
    } else if (!t.written.empty()) {
      writes.push_back(&t);
    }
  }
  // Catalog first: collections created in the transaction become real.
  for (Touched* t : created) {
    Status st = e_.catalog.adopt(t->copy);
    if (!st.ok()) return write_conflict();
  }
  // Real collections in namespace order, exclusively, while the final documents are applied
  // and the applyOps chain is logged: readers see all of the transaction or none of it.
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  std::sort(writes.begin(), writes.end(), [](Touched* a, Touched* b) { return a->real->ns() < b->real->ns(); });
  for (Touched* t : writes) locks.emplace_back(t->real->mu);
  for (Touched* t : writes) {
    if (t->real->dropped()) return write_conflict();
  }
  OpBuffer discard;
  {
    ScopedOpBuffer buffer(&discard);
    for (Touched* t : writes) {
      std::shared_lock clk(t->copy->mu);
      for (const auto& [key, original] : t->written) {
        // Find the document's _id from whichever version exists.
        DocRef final_doc;
        bson_value_t idv;
        bool have_id = false;
        Bson id_holder;
        auto id_of = [&](const DocRef& d) {
          bson_t v = d.view();
          bson_iter_t it;
          if (common::find_field(&v, "_id", &it)) {
            bson_t tmp = BSON_INITIALIZER;
            bson_append_iter(&tmp, "_id", 3, &it);
            id_holder = Bson::steal(&tmp);
            bson_iter_t again;
            common::find_field(id_holder.get(), "_id", &again);
            idv = *bson_iter_value(&again);
            have_id = true;
          }
        };
        if (original) id_of(original);
        // The transaction's final version, from its copy.
        if (!have_id) {
          for (const auto& [rid, d] : t->copy->records()) {
            if (id_key(*t->copy, d) == key) {
              id_of(d);
              break;
            }
          }
        }
        if (!have_id) continue;
        int64_t crid = t->copy->find_by_id(&idv);
        if (crid >= 0) final_doc = *t->copy->find(crid);
        int64_t rrid = t->real->find_by_id(&idv);
        DocRef current = rrid >= 0 ? *t->real->find(rrid) : DocRef();
        if (!same_doc(current, original)) return write_conflict();
        WriteContext wc;
        wc.bypass_validation = true;  // validated when the transaction wrote it
        if (final_doc && rrid >= 0) {
          UpdateInfo how;
          MS_RETURN_IF_ERROR(t->real->update(rrid, final_doc, how, wc));
        } else if (final_doc) {
          MS_RETURN_IF_ERROR(t->real->insert(final_doc, wc).status());
        } else if (rrid >= 0) {
          t->real->remove(rrid, wc);
        }
      }
    }
  }
  Timestamp ts = e_.oplog_writer->log_apply_ops(ops_, lsid_, txn_number_);
  *commit_ts = ts;
  finished_ = true;
  locks.clear();
  lk.unlock();
  release_intents();
  return Status::OK();
}

void Transaction::abort() {
  {
    std::lock_guard lk(mu_);
    finished_ = true;
    ops_.ops.clear();
  }
  release_intents();
}

// ---- SessionCatalog ----

std::shared_ptr<Session> SessionCatalog::get(const Bson& lsid) {
  std::string key = session_key(lsid);
  std::lock_guard lk(mu_);
  auto it = sessions_.find(key);
  if (it != sessions_.end()) {
    it->second->last_use_ms = wall_now_ms();
    return it->second;
  }
  auto s = std::make_shared<Session>(lsid);
  s->last_use_ms = wall_now_ms();
  sessions_.emplace(key, s);
  return s;
}

void SessionCatalog::end(const Bson& lsid) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lk(mu_);
    auto it = sessions_.find(session_key(lsid));
    if (it == sessions_.end()) return;
    s = it->second;
    sessions_.erase(it);
  }
  std::lock_guard slk(s->checkout);
  if (s->txn) {
    s->txn->abort();
    s->txn.reset();
  }
  e_.cursors.kill_session(lsid);
}

void SessionCatalog::end_all() {
  std::vector<Bson> all;
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, s] : sessions_) all.push_back(s->lsid);
  }
  for (const auto& l : all) end(l);
}

void SessionCatalog::abort_all_transactions() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, s] : sessions_) all.push_back(s);
  }
  for (const auto& s : all) {
    std::lock_guard slk(s->checkout);
    if (s->txn) {
      s->txn->abort();
      s->txn.reset();
      s->state = Session::TxnState::kAborted;
    }
  }
}

void SessionCatalog::reap(int64_t now_ms) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, s] : sessions_) all.push_back(s);
  }
  for (const auto& s : all) {
    if (now_ms - s->last_use_ms > kSessionTimeoutMs) {
      end(s->lsid);
      continue;
    }
    std::unique_lock slk(s->checkout, std::try_to_lock);
    if (slk.owns_lock() && s->txn && s->state == Session::TxnState::kInProgress &&
        now_ms - s->txn->started_ms() > kTransactionLifetimeMs) {
      // transactionLifetimeLimitSeconds: the server aborts it.
      s->txn->abort();
      s->txn.reset();
      s->state = Session::TxnState::kAborted;
    }
  }
}

std::vector<Bson> SessionCatalog::list() const {
  std::vector<Bson> out;
  std::lock_guard lk(mu_);
  for (const auto& [k, s] : sessions_) {
    bson_t d = BSON_INITIALIZER;
    bson_append_document(&d, "_id", 3, s->lsid.get());
    bson_append_date_time(&d, "lastUse", -1, s->last_use_ms.load());
    out.push_back(Bson::steal(&d));
  }
  return out;
}

bool SessionCatalog::take_intent(const std::string& key, const Transaction* txn) {
  std::lock_guard lk(mu_);
  auto [it, inserted] = intents_.emplace(key, txn);
  return inserted || it->second == txn;
}

void SessionCatalog::release_intent(const std::string& key, const Transaction* txn) {
  std::lock_guard lk(mu_);
  auto it = intents_.find(key);
  if (it != intents_.end() && it->second == txn) intents_.erase(it);
}

bool SessionCatalog::intent_held_by_other(const std::string& key, const Transaction* txn) {
  std::lock_guard lk(mu_);
  auto it = intents_.find(key);
  return it != intents_.end() && it->second != txn;
}

// ---- the gate ----

namespace {

// Commands a transaction may run (§9.3); everything else is 263.
bool allowed_in_transaction(std::string_view name) {
  static constexpr std::string_view kAllowed[] = {
      "find", "getMore", "killCursors", "insert", "update", "delete", "findAndModify", "findandmodify", "aggregate",
      "distinct", "create", "createIndexes", "bulkWrite", "commitTransaction", "abortTransaction",
      "prepareTransaction", "coordinateCommitTransaction", "geoSearch", "explain"};
  for (auto a : kAllowed) {
    if (a == name) return true;
  }
  return false;
}

// A retryable write: insert, update (no multi), delete (limit 1), findAndModify, bulkWrite.
Status check_retryable(std::string_view name, const bson_t* body) {
  if (name == "insert" || name == "findAndModify" || name == "findandmodify" || name == "bulkWrite" ||
      name == "commitTransaction" || name == "abortTransaction") {
    return Status::OK();
  }
  if (name == "update" || name == "delete") {
    bson_iter_t it, arr;
    const char* field = name == "update" ? "updates" : "deletes";
    if (common::find_field(body, field, &it) && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
      while (bson_iter_next(&arr)) {
        bson_iter_t f;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &f)) continue;
        if (name == "update") {
          if (bson_iter_find(&f, "multi") && common::value_truthy(&f)) {
            return Status(common::kInvalidOptions, "Cannot use (or request) retryable writes with multi=true");
          }
        } else if (bson_iter_find(&f, "limit") && BSON_ITER_HOLDS_NUMBER(&f) && bson_iter_as_int64(&f) == 0) {
          return Status(common::kInvalidOptions, "Cannot use (or request) retryable writes with limit=0");
        }
      }
    }
    return Status::OK();
  }
  return Status(kNotARetryableWriteCommand, fmt::format("Transaction numbers are only allowed on a replica set member or "
                                                        "mongos; {} is not a retryable write command",
                                                        name));
}

struct ScopedOperation {
  explicit ScopedOperation(OperationSession* op) : saved(tl_operation) { tl_operation = op; }
  ~ScopedOperation() { tl_operation = saved; }
  OperationSession* saved;
};

struct ScopedListener {
  explicit ScopedListener(TxnWriteListener* l) : saved(current_txn_listener()) { current_txn_listener() = l; }
  ~ScopedListener() { current_txn_listener() = saved; }
  TxnWriteListener* saved;
};

bool reply_has_write_errors(const bson_t* reply) {
  bson_iter_t it;
  return common::find_field(reply, "writeErrors", &it);
}

Status run_in_transaction(Session& s, int64_t txn_number, const CommandHandler& inner, CommandContext& c,
                          bson_t* reply) {
  std::shared_ptr<Transaction> txn = s.txn;
  OperationSession op;
  op.session = &s;
  op.txn_number = txn_number;
  op.txn = txn.get();
  ScopedOperation scope(&op);
  ScopedOpBuffer buffer(&txn->ops());
  TxnListener listener(*txn);
  ScopedListener lscope(&listener);
  Status st = inner(c, reply);
  if (st.ok() && txn->conflict()) st = *txn->conflict();
  if (!st.ok() || reply_has_write_errors(reply)) {
    // A failed statement aborts the transaction; later statements get NoSuchTransaction.
    txn->abort();
    s.txn.reset();
    s.state = Session::TxnState::kAborted;
    s.abort_reason = st.ok() ? "write error" : st.message();
  }
  return st;
}

}  // namespace

namespace {

// Journal records of the command reach the file before the reply; j:true also fsyncs.
Status make_durable(EngineImpl& e, const bson_t* body) {
  if (!e.persistence) return Status::OK();
  bool sync = false;
  bson_iter_t it, j;
  if (common::find_field(body, "writeConcern", &it) && BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &j) &&
      bson_iter_find(&j, "j")) {
    sync = common::value_truthy(&j);
  }
  if (!sync && !e.persistence->dirty()) return Status::OK();
  return e.persistence->flush(sync);
}

Status gated(EngineImpl& e, const std::string& name, const CommandHandler& inner, CommandContext& c, bson_t* reply);

}  // namespace

CommandHandler with_session_gate(EngineImpl& e, std::string name, CommandHandler inner) {
  return [&e, name = std::move(name), inner = std::move(inner)](CommandContext& c, bson_t* reply) -> Status {
    Status st = gated(e, name, inner, c, reply);
    Status d = make_durable(e, c.body());
    return st.ok() ? d : st;
  };
}

namespace {

// The session of the command's lsid (`lsid_it` holds a document), created on first use.
std::shared_ptr<Session> session_of(EngineImpl& e, const CommandContext& c, const bson_iter_t* lsid_it) {
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(lsid_it, &len, &data);
  bson_t raw;
  bson_init_static(&raw, data, len);
  return e.sessions.get(session_id_with_uid(c, &raw));
}

}  // namespace

bool is_retry_of_executed_write(EngineImpl& e, const CommandContext& c) {
  bson_iter_t lsid_it, txn_it, auto_it;
  const bson_t* body = c.body();
  if (!common::find_field(body, "lsid", &lsid_it) || !BSON_ITER_HOLDS_DOCUMENT(&lsid_it) ||
      !common::find_field(body, "txnNumber", &txn_it) || !BSON_ITER_HOLDS_INT64(&txn_it) ||
      common::find_field(body, "autocommit", &auto_it)) {
    return false;
  }
  std::shared_ptr<Session> s = session_of(e, c, &lsid_it);
  std::lock_guard checkout(s->checkout);
  return s->state == Session::TxnState::kRetryableWrite && s->active_txn_number == bson_iter_int64(&txn_it) &&
         s->executed.contains(0);
}

namespace {

// readConcern level snapshot outside a transaction: 5.0+ serves it for find, aggregate and
// distinct (snapshot reads); every other command refuses it (72), as 4.4 refuses it everywhere.
Status check_snapshot_outside_transaction(EngineImpl& e, const std::string& name, const bson_t* body) {
  bson_iter_t rc, level;
  if (!common::find_field(body, "readConcern", &rc) || !BSON_ITER_HOLDS_DOCUMENT(&rc) || !bson_iter_recurse(&rc, &level) ||
      !bson_iter_find(&level, "level") || !BSON_ITER_HOLDS_UTF8(&level) ||
      std::string_view(bson_iter_utf8(&level, nullptr)) != "snapshot") {
    return Status::OK();
  }
  if (e.version() < 50) {
    return Status(common::kInvalidOptions, "readConcern level snapshot is only valid in multi-statement transactions");
  }
  if (name == "find" || name == "aggregate" || name == "distinct") return Status::OK();
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&rc, &len, &data);
  bson_t doc;
  bson_init_static(&doc, data, len);
  return Status(common::kInvalidOptions,
                fmt::format("Command {} does not support {{ readConcern: {} }} :: caused by :: read concern not supported", name,
                            common::to_server_string(&doc)));
}

Status gated(EngineImpl& e, const std::string& name, const CommandHandler& inner, CommandContext& c, bson_t* reply) {
  struct ClientScope {
    const ClientInfo* saved;
    explicit ClientScope(const ClientInfo* c) : saved(tl_client) { tl_client = c; }
    ~ClientScope() { tl_client = saved; }
  } client_scope(&c.client);
  {
    const bson_t* body = c.body();
    bson_iter_t lsid_it, txn_it, auto_it, start_it;
    bool has_lsid = common::find_field(body, "lsid", &lsid_it);
    bool has_txn = common::find_field(body, "txnNumber", &txn_it);
    bool has_auto = common::find_field(body, "autocommit", &auto_it);
    bool has_start = common::find_field(body, "startTransaction", &start_it);
    if (!has_lsid && !has_txn && !has_auto && !has_start) return inner(c, reply);

    if (has_lsid && !BSON_ITER_HOLDS_DOCUMENT(&lsid_it)) {
      return args::wrong_type("OperationSessionInfo", "lsid", &lsid_it, "object");
    }
    if (has_txn && !BSON_ITER_HOLDS_INT64(&txn_it)) {
      return args::wrong_type("OperationSessionInfo", "txnNumber", &txn_it, "long");
    }
    if (has_auto && !BSON_ITER_HOLDS_BOOL(&auto_it)) {
      return args::wrong_type("OperationSessionInfo", "autocommit", &auto_it, "bool");
    }
    if (has_start && !BSON_ITER_HOLDS_BOOL(&start_it)) {
      return args::wrong_type("OperationSessionInfo", "startTransaction", &start_it, "bool");
    }
    if (has_txn && !has_lsid) {
      return Status(common::kInvalidOptions, "Transaction number requires a session ID to also be specified");
    }
    if (has_auto && bson_iter_bool(&auto_it)) {
      return Status(common::kInvalidOptions, "Specifying autocommit=true is not allowed.");
    }
    if (has_auto && !has_txn) {
      return Status(common::kInvalidOptions, "'autocommit' field requires a transaction number to also be specified");
    }
    if (has_start && !bson_iter_bool(&start_it)) {
      return Status(common::kInvalidOptions, "Specifying startTransaction=false is not allowed.");
    }
    if (has_start && !has_auto) {
      return Status(common::kInvalidOptions, "'startTransaction' field requires 'autocommit' field to also be specified");
    }
    int64_t txn_number = has_txn ? bson_iter_int64(&txn_it) : -1;
    if (has_txn && txn_number < 0) return Status(common::kBadValue, "Transaction number cannot be negative");
    if (has_txn && e.server.options.standalone) {
      return Status(common::kIllegalOperation, "Transaction numbers are only allowed on a replica set member or mongos");
    }
    std::shared_ptr<Session> s = session_of(e, c, &lsid_it);
    if (!has_txn) {
      MS_RETURN_IF_ERROR(check_snapshot_outside_transaction(e, name, body));
      OperationSession op;
      op.session = s.get();
      ScopedOperation scope(&op);
      return inner(c, reply);
    }

    std::lock_guard checkout(s->checkout);
    if (!has_auto) {
      // A retryable write.
      MS_RETURN_IF_ERROR(check_snapshot_outside_transaction(e, name, body));
      MS_RETURN_IF_ERROR(check_retryable(name, body));
      if (txn_number < s->active_txn_number) {
        return Status(common::kTransactionTooOld,
                      fmt::format("Retryable write with txnNumber {} is prohibited on session {} because a newer {} "
                                  "with txnNumber {} has already started on this session.",
                                  txn_number, common::to_server_string(s->lsid.get()),
                                  s->state == Session::TxnState::kRetryableWrite ? "retryable write" : "transaction",
                                  s->active_txn_number));
      }
      if (txn_number > s->active_txn_number) {
        if (s->txn) {
          s->txn->abort();
          s->txn.reset();
        }
        s->active_txn_number = txn_number;
        s->state = Session::TxnState::kRetryableWrite;
        s->executed.clear();
        s->last_write_optime = Timestamp{};
      } else if (s->state != Session::TxnState::kRetryableWrite) {
        return Status(kIncompleteTransactionHistory, "Cannot retry a retryable write that has been converted into a transaction");
      }
      OperationSession op;
      op.session = s.get();
      op.txn_number = txn_number;
      op.retryable_write = true;
      ScopedOperation scope(&op);
      return inner(c, reply);
    }

    // A multi-document transaction.
    if (!allowed_in_transaction(name)) {
      return Status(common::kOperationNotSupportedInTransaction,
                    fmt::format("Cannot run '{}' in a multi-document transaction.", name));
    }
    bool commit_or_abort = name == "commitTransaction" || name == "abortTransaction";
    if (txn_number < s->active_txn_number) {
      return Status(common::kTransactionTooOld,
                    fmt::format("Cannot start transaction with {} on session {} because a newer {} with "
                                "txnNumberAndRetryCounter {{ txnNumber: {}, txnRetryCounter: 0 }} has already started on "
                                "this session.",
                                txn_number_doc(txn_number), common::to_server_string(s->lsid.get()),
                                s->state == Session::TxnState::kRetryableWrite ? "retryable write" : "transaction",
                                s->active_txn_number));
    }
    bson_iter_t rc;
    bool has_read_concern = common::find_field(body, "readConcern", &rc);
    if (has_start) {
      if (txn_number == s->active_txn_number) {
        return Status(common::kConflictingOperationInProgress,
                      "Only servers in a sharded cluster can start a new transaction at the active transaction number");
      }
      if (has_read_concern && BSON_ITER_HOLDS_DOCUMENT(&rc)) {
        bson_iter_t lv;
        if (bson_iter_recurse(&rc, &lv) && bson_iter_find(&lv, "level") && BSON_ITER_HOLDS_UTF8(&lv)) {
          std::string level = bson_iter_utf8(&lv, nullptr);
          if (level != "local" && level != "majority" && level != "snapshot") {
            return Status(common::kInvalidOptions,
                          fmt::format("The readConcern level must be either 'local' (default), 'majority' or "
                                      "'snapshot' in order to run in a transaction"));
          }
        }
      }
      if (s->txn) s->txn->abort();
      s->active_txn_number = txn_number;
      s->state = Session::TxnState::kInProgress;
      s->executed.clear();
      s->txn = std::make_shared<Transaction>(e, s->lsid, txn_number, wall_now_ms());
    } else {
      if (txn_number != s->active_txn_number || s->state == Session::TxnState::kRetryableWrite ||
          s->state == Session::TxnState::kNone) {
        return Status(common::kNoSuchTransaction,
                      fmt::format("Given transaction number {} does not match any in-progress transactions. The active "
                                  "transaction number is {}",
                                  txn_number, s->active_txn_number));
      }
      if (has_read_concern && !commit_or_abort) {
        return Status(common::kInvalidOptions, "Only the first command in a transaction may specify a readConcern");
      }
    }
    bson_iter_t wc;
    if (!commit_or_abort && common::find_field(body, "writeConcern", &wc)) {
      return Status(common::kInvalidOptions, "Cannot set write concern after starting a transaction.");
    }
    if (commit_or_abort) {
      OperationSession op;
      op.session = s.get();
      op.txn_number = txn_number;
      ScopedOperation scope(&op);
      return inner(c, reply);
    }
    if (s->state == Session::TxnState::kCommitted) {
      return Status(common::kTransactionCommitted,
                    fmt::format("Transaction with {} has been committed.", txn_number_doc(txn_number)));
    }
    if (s->state == Session::TxnState::kAborted || !s->txn) {
      return Status(common::kNoSuchTransaction, fmt::format("Transaction with {} has been aborted.", txn_number_doc(txn_number)));
    }
    return run_in_transaction(*s, txn_number, inner, c, reply);
  }
}

}  // namespace

namespace {

Status cmd_commit_transaction(EngineImpl& e, CommandContext& c, bson_t* reply) {
  (void)reply;
  OperationSession* op = current_operation();
  if (!op || !op->session || op->txn_number < 0) {
    return Status(common::kInvalidOptions, "commitTransaction must be run within a transaction");
  }
  Session& s = *op->session;
  switch (s.state) {
    case Session::TxnState::kCommitted: return finish_write_reply(c, e.version(), reply);  // a retry
    case Session::TxnState::kAborted:
      return Status(common::kNoSuchTransaction,
                    fmt::format("Transaction with {} has been aborted.", txn_number_doc(op->txn_number)));
    case Session::TxnState::kInProgress: break;
    default:
      return Status(common::kNoSuchTransaction,
                    fmt::format("Given transaction number {} does not match any in-progress transactions.", op->txn_number));
  }
  Timestamp ts;
  Status st = s.txn->commit(&ts);
  if (!st.ok()) {
    s.txn->abort();
    s.txn.reset();
    s.state = Session::TxnState::kAborted;
    return st;
  }
  s.txn.reset();
  s.state = Session::TxnState::kCommitted;
  return finish_write_reply(c, e.version(), reply);
}

Status cmd_abort_transaction(EngineImpl& e, CommandContext& c, bson_t* reply) {
  OperationSession* op = current_operation();
  if (!op || !op->session || op->txn_number < 0) {
    return Status(common::kInvalidOptions, "abortTransaction must be run within a transaction");
  }
  Session& s = *op->session;
  switch (s.state) {
    case Session::TxnState::kCommitted:
      return Status(common::kTransactionCommitted,
                    fmt::format("Transaction with {} has been committed.", txn_number_doc(op->txn_number)));
    case Session::TxnState::kInProgress: break;
    default:
      return Status(common::kNoSuchTransaction, fmt::format("Transaction with {} has been aborted.",
                                                            txn_number_doc(op->txn_number)));
  }
  s.txn->abort();
  s.txn.reset();
  s.state = Session::TxnState::kAborted;
  return finish_write_reply(c, e.version(), reply);
}

// endSessions, killSessions: [{id: UUID}, ...]; killAllSessions: [] = all.
Status end_listed_sessions(EngineImpl& e, CommandContext& c, bool all_when_empty) {
  bson_iter_t it;
  bson_iter_init(&it, c.body());
  bson_iter_next(&it);
  if (!BSON_ITER_HOLDS_ARRAY(&it)) {
    return args::wrong_type(c.req.name, c.req.name, &it, "array");
  }
  bson_iter_t arr;
  bson_iter_recurse(&it, &arr);
  bool any = false;
  while (bson_iter_next(&arr)) {
    any = true;
    if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
      return Status(common::kTypeMismatch, fmt::format("BSON field '{}.{}' is the wrong type '{}', expected type 'object'",
                                                       c.req.name, bson_iter_key(&arr),
                                                       common::type_alias(bson_iter_type(&arr))));
    }
    if (c.req.name == "killAllSessions") {
      e.sessions.end_all();
      continue;
    }
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&arr, &len, &data);
    bson_t l;
    bson_init_static(&l, data, len);
    e.sessions.end(session_id_with_uid(c, &l));
  }
  if (!any && all_when_empty) e.sessions.end_all();
  return Status::OK();
}

class ListLocalSessionsStage : public mql::HostStage {
 public:
  explicit ListLocalSessionsStage(EngineImpl& e) : e_(e) {}
  Result<std::unique_ptr<mql::DocumentSource>> open(std::unique_ptr<mql::DocumentSource>) const override {
    return mql::make_vector_source(e_.sessions.list());
  }
  bool first_only() const override { return true; }
  bool collectionless() const override { return true; }

 private:
  EngineImpl& e_;
};

}  // namespace

Result<std::unique_ptr<mql::HostStage>> session_host_stage(EngineImpl& e, std::string_view name, const bson_iter_t* spec) {
  if (name != "$listLocalSessions") return std::unique_ptr<mql::HostStage>();
  if (!BSON_ITER_HOLDS_DOCUMENT(spec)) {
    return Status(common::kTypeMismatch, "$listLocalSessions options must be specified in an object, but found: " +
                                             std::string(common::type_alias(bson_iter_type(spec))));
  }
  return std::unique_ptr<mql::HostStage>(std::make_unique<ListLocalSessionsStage>(e));
}

void register_session_commands(EngineImpl& e, CommandRegistry& r) {
  EngineImpl* ep = &e;
  auto add = [&](const char* name, CommandHandler h, bool admin_only, bool is_write, const char* help) {
    CommandDef d = engine_command(name, std::move(h), is_write, help);
    d.admin_only = admin_only;
    r.add(std::move(d));
  };
  add("commitTransaction", [ep](CommandContext& c, bson_t* reply) { return cmd_commit_transaction(*ep, c, reply); }, true,
      true, "commits a transaction");
  add("abortTransaction", [ep](CommandContext& c, bson_t* reply) { return cmd_abort_transaction(*ep, c, reply); }, true,
      true, "aborts a transaction");
  add("endSessions", [ep](CommandContext& c, bson_t*) { return end_listed_sessions(*ep, c, false); }, false, false,
      "end a set of logical sessions");
  add("killSessions", [ep](CommandContext& c, bson_t*) { return end_listed_sessions(*ep, c, false); }, false, false,
      "kill a logical session and its operations");
  add("killAllSessions", [ep](CommandContext& c, bson_t*) { return end_listed_sessions(*ep, c, true); }, false, false,
      "kill all logical sessions, for a user, and their operations");
  add("refreshSessions",
      [ep](CommandContext& c, bson_t*) -> Status {
        bson_iter_t it;
        bson_iter_init(&it, c.body());
        bson_iter_next(&it);
        if (!BSON_ITER_HOLDS_ARRAY(&it)) return args::wrong_type("refreshSessions", "refreshSessions", &it, "array");
        bson_iter_t arr;
        bson_iter_recurse(&it, &arr);
        while (bson_iter_next(&arr)) {
          if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
          uint32_t len;
          const uint8_t* data;
          bson_iter_document(&arr, &len, &data);
          bson_t l;
          bson_init_static(&l, data, len);
          ep->sessions.get(session_id_with_uid(c, &l));
        }
        return Status::OK();
      },
      false, false, "renew a set of logical sessions");
}

}  // namespace sim::engine
