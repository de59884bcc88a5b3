// Logical sessions, retryable writes and multi-document transactions (mongodb-reference.md
// §9), as a replica-set primary enforces them (TransactionParticipant::beginOrContinue).
//
// Every engine command runs through the session gate: it registers the request's lsid,
// applies the txnNumber/autocommit/startTransaction rules, and makes the command's session
// state visible to the write path through current_operation() (a thread-local for the
// duration of the command).
//
// Retryable writes: each executed statement's result is kept per session and txnNumber; a
// retried statement is not executed again, its result is returned as it was.
//
// Transactions: the first touch of a collection takes a private copy of it (documents are
// shared, immutable DocRefs, so the copy is a snapshot), every statement of the transaction
// reads and writes that copy, and its oplog operations are buffered. A write to a document
// another transaction has written, or that changed since the snapshot, fails with 112
// WriteConflict. commitTransaction re-checks, applies the final documents to the real
// collections under their exclusive locks and logs one applyOps chain (§5.8); abort discards.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "sim/clock.h"
#include "sim/command.h"
#include "sim/engine/collection.h"
#include "sim/engine/oplog.h"
#include "mql/pipeline.h"

namespace sim::engine {

class EngineImpl;
class Transaction;

// What a retryable write statement returned, to return again on a retry.
// Compact (one is kept per statement of a batch): documents as shared buffers, null = absent.
struct StmtResult {
  int32_t n = 0;
  int32_t n_modified = 0;
  DocRef upserted_id;  // {_id: ...} when the statement upserted
  DocRef reply;        // findAndModify: its whole reply fields (lastErrorObject, value)
};

// The executed statements of a session's current retryable write, by statement index: a
// dense table for the indexes of a batch (at most maxWriteBatchSize of them, recorded in
// order), a map for anything beyond. Cleared (keeping its capacity) per txnNumber.
class ExecutedStatements {
 public:
  const StmtResult* find(int32_t id) const {
    if (id >= 0 && static_cast<size_t>(id) < dense_.size()) {
      const auto& slot = dense_[static_cast<size_t>(id)];
      return slot ? &*slot : nullptr;
    }
    auto it = sparse_.find(id);
    return it == sparse_.end() ? nullptr : &it->second;
  }
  bool contains(int32_t id) const { return find(id) != nullptr; }
  void record(int32_t id, StmtResult r) {
    if (id < 0 || id >= kDenseLimit) {
      sparse_[id] = std::move(r);
      return;
    }
    auto i = static_cast<size_t>(id);
    if (i >= dense_.size()) dense_.resize(i + 1);
    dense_[i] = std::move(r);
  }
  void clear() {
    dense_.clear();
    sparse_.clear();
  }

 private:
  static constexpr int32_t kDenseLimit = 100000;  // maxWriteBatchSize
  std::vector<std::optional<StmtResult>> dense_;
  std::map<int32_t, StmtResult> sparse_;
};

class Session {
 public:
  explicit Session(common::Bson lsid) : lsid(std::move(lsid)) {}

  const common::Bson lsid;  // {id, uid}
  std::atomic<int64_t> last_use_ms{0};

  // Serializes the commands of one session (the server checks a session out).
  std::mutex checkout;

  // Guarded by `checkout`.
  enum class TxnState { kNone, kRetryableWrite, kInProgress, kCommitted, kAborted };
  int64_t active_txn_number = -1;
  TxnState state = TxnState::kNone;
  ExecutedStatements executed;               // retryable writes of active_txn_number
  Timestamp last_write_optime;               // prevOpTime of the next entry
  std::shared_ptr<Transaction> txn;          // kInProgress
  bool txn_failed = false;                   // a statement failed: the transaction is aborted
  std::string abort_reason;
};

// The session state of the command running on this thread.
struct OperationSession {
  Session* session = nullptr;
  int64_t txn_number = -1;
  bool retryable_write = false;   // txnNumber without autocommit
  Transaction* txn = nullptr;     // inside a multi-document transaction
};
OperationSession* current_operation();
// The connection of the engine command running on this thread (the session gate sets it), or
// null outside one; cursors record its authenticated user as their owner.
const ClientInfo* current_client();

class Transaction {
 public:
  Transaction(EngineImpl& e, common::Bson lsid, int64_t txn_number, int64_t started_ms)
      : e_(e), lsid_(std::move(lsid)), txn_number_(txn_number), started_ms_(started_ms) {}
  ~Transaction();

  // The transaction's view of db.coll: its snapshot copy (taken now if this is the first
  // touch), or a collection created inside the transaction; null when there is none.
  std::shared_ptr<Collection> resolve(const std::string& db, const std::string& name);
  // As resolve(), creating the collection inside the transaction when missing (4.4+).
  common::Result<std::shared_ptr<Collection>> resolve_or_create(const std::string& db, const std::string& name);
  // Explicit create inside the transaction.
  common::Result<std::shared_ptr<Collection>> create(const std::string& db, const std::string& name,
                                                     CollectionOptions options);

  // Called for each document the transaction writes in one of its copies (`pre` is the
  // document before the write, null for an insert): conflict checks against other
  // transactions and against what was committed since the snapshot.
  void note_write(const Collection& copy, const DocRef& pre, const DocRef& post);
  // A conflict found by note_write, reported when the statement ends.
  const std::optional<common::Status>& conflict() const { return conflict_; }

  common::Status commit(Timestamp* commit_ts);
  void abort();

  OpBuffer& ops() { return ops_; }
  int64_t txn_number() const { return txn_number_; }
  int64_t started_ms() const { return started_ms_; }
  bool wrote_anything() const { return !ops_.ops.empty(); }

 private:
  struct Touched {
    std::shared_ptr<Collection> real;  // null when created in the transaction
    std::shared_ptr<Collection> copy;
    // _id key → the committed document as of the snapshot (null DocRef: absent).
    std::map<std::string, DocRef> written;
  };
  Touched* touch(const std::string& db, const std::string& name);
  void release_intents();

  EngineImpl& e_;
  common::Bson lsid_;
  int64_t txn_number_;
  int64_t started_ms_;
  std::mutex mu_;
  std::map<std::string, Touched> touched_;  // by namespace
  OpBuffer ops_;
  std::optional<common::Status> conflict_;
  bool finished_ = false;
};

class SessionCatalog {
 public:
  explicit SessionCatalog(EngineImpl& e) : e_(e) {}

  // The session of `lsid` ({id[, uid]} as sent; uid is derived), created on first use.
  std::shared_ptr<Session> get(const common::Bson& lsid_with_uid);
  // endSessions/killSessions: aborts their transactions; their cursors die.
  void end(const common::Bson& lsid_with_uid);
  void end_all();
  // Step-down: every open transaction is aborted.
  void abort_all_transactions();
  // Expired sessions (30 minutes idle) and transactions past their lifetime (60 s) end.
  void reap(int64_t now_ms);
  std::vector<common::Bson> list() const;  // $listLocalSessions
  // Registers a write-intent of `txn` on (collection UUID, _id key); the holder when another
  // transaction has it.
  bool take_intent(const std::string& key, const Transaction* txn);
  void release_intent(const std::string& key, const Transaction* txn);
  bool intent_held_by_other(const std::string& key, const Transaction* txn);

 private:
  EngineImpl& e_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
  std::unordered_map<std::string, const Transaction*> intents_;
};

// Wraps an engine command's handler with the session gate.
CommandHandler with_session_gate(EngineImpl& e, std::string name, CommandHandler inner);
// A retryable write (txnNumber, no autocommit) whose first statement already ran under that
// txnNumber: a retry, which writes nothing new (onPrimaryTransactionalWrite does not fire).
bool is_retry_of_executed_write(EngineImpl& e, const CommandContext& c);
// commitTransaction, abortTransaction, endSessions, refreshSessions, killSessions,
// killAllSessions.
void register_session_commands(EngineImpl& e, CommandRegistry& r);

// $listLocalSessions as a pipeline stage (nullptr for other names).
common::Result<std::unique_ptr<mql::HostStage>> session_host_stage(EngineImpl& e, std::string_view name,
                                                                   const bson_iter_t* spec);

}  // namespace sim::engine
