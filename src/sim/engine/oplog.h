// The oplog (mongodb-reference.md §5): local.oplog.rs as the emulated version writes it.
//
// OplogStore keeps the entries in ts order, compactly: an insert's `o` is the inserted
// document itself (shared with the collection, never copied), and an entry becomes a BSON
// document only when read. It is capped by a byte budget (the entries' BSON size) and truncated
// from the oldest end. OplogWriter is the OpObserver that turns every write and catalog change
// into entries, assigning timestamps and publishing entries in one serialized order (the
// store's lock), so a tailing reader never sees ts T2 before T1 < T2 (§5.2).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "common/bson.h"
#include "mql/context.h"
#include "sim/clock.h"
#include "sim/engine/doc.h"
#include "sim/engine/observer.h"

namespace sim::engine {

class EngineImpl;
class RawBsonWriter;

// A namespace and its collection UUID (16 raw bytes; empty when the entry has no `ui`).
struct NsRef {
  std::string ns;
  std::string uuid;
};

struct OplogRecord {
  Timestamp ts;
  int64_t term = 1;
  int64_t wall_ms = 0;
  char op = 'n';                     // i, u, d, c, n
  std::shared_ptr<const NsRef> ns;   // null for ns: ""
  DocRef o;
  bool o2_is_id = false;             // o2 = {_id: o._id} (inserts on 6.0+)
  // Optional parts as shared immutable buffers (null = absent), so a record stays small:
  DocRef o2;                         // explicit o2 (updates, drops, ...)
  DocRef session;                    // {lsid, txnNumber}: the fields before `op`
  DocRef tail;                       // {stmtId, prevOpTime, fromMigrate, ...}: after `wall`
  uint32_t size = 0;                 // BSON size of the entry (for the cap and collStats)
  // Updates and deletes of collections with changeStreamPreAndPostImages: the document
  // before the change (the server's config.system.preimages, kept as long as the entry).
  DocRef pre_image;
  // Catalog changes: the collection's metadata after the change (persistence replays the
  // catalog from it, by UUID); not part of the entry.
  DocRef meta;

  // The entry as stored in local.oplog.rs.
  common::Bson to_bson(mql::ServerVersion version) const;
  // Appends the entry's fields to an open document / the entry as a whole document.
  void write_fields(RawBsonWriter& w, mql::ServerVersion version) const;
  void write_to(std::string& out, mql::ServerVersion version) const;
  // The record of an entry read back (persistence).
  static common::Result<OplogRecord> from_bson(const bson_t* entry);
};

class OplogStore {
 public:
  OplogStore(int64_t max_bytes, mql::ServerVersion version) : max_bytes_(max_bytes), version_(version) {}

  // Appends `recs` with consecutive timestamps from `clock` (all under the store's lock) and
  // returns the first; the callback runs under the lock for each appended record (journal).
  // With `chain`, each record after the first gets prevOpTime = the previous record's optime
  // (the entries of one transaction).
  Timestamp append(std::span<OplogRecord> recs, ClusterClock& clock,
                   const std::function<void(const OplogRecord&)>& on_append, bool chain = false);

  mutable std::shared_mutex mu;
  // Readers hold `mu` shared.
  const std::deque<OplogRecord>& records() const { return records_; }
  // Index of the first record with ts >= `ts` (records_.size() when none).
  size_t lower_bound(Timestamp ts) const;
  size_t upper_bound(Timestamp ts) const;
  int64_t size_bytes() const { return bytes_; }
  int64_t max_bytes() const { return max_bytes_; }
  mql::ServerVersion version() const { return version_; }
  bool empty() const { return records_.empty(); }
  Timestamp first_ts() const { return records_.empty() ? Timestamp{} : records_.front().ts; }
  Timestamp last_ts() const { return records_.empty() ? Timestamp{} : records_.back().ts; }
  int64_t first_wall_ms() const { return records_.empty() ? 0 : records_.front().wall_ms; }
  int64_t last_wall_ms() const { return records_.empty() ? 0 : records_.back().wall_ms; }

  // Test control: drop every entry older than `ts` (a forced roll-over).
  void truncate_before(Timestamp ts);
  // Restores persisted entries (startup; no clock involved).
  void restore(OplogRecord rec);

 private:
  void trim_locked();

  int64_t max_bytes_;
  mql::ServerVersion version_;
  std::deque<OplogRecord> records_;
  int64_t bytes_ = 0;
};

// Collects the operations of a multi-statement write that the emulated server logs as one
// applyOps entry (6.1+ batched deletes), or of a transaction until it commits.
struct OpBuffer {
  std::vector<OplogRecord> ops;  // ts/term/wall unset: they are inner operations
};

// Where this thread's oplog operations go instead of the oplog while set (a transaction's
// statements, and its commit applying the final documents): see ScopedOpBuffer.
OpBuffer*& current_op_buffer();
struct ScopedOpBuffer {
  explicit ScopedOpBuffer(OpBuffer* b) : saved(current_op_buffer()) { current_op_buffer() = b; }
  ~ScopedOpBuffer() { current_op_buffer() = saved; }
  ScopedOpBuffer(const ScopedOpBuffer&) = delete;
  ScopedOpBuffer& operator=(const ScopedOpBuffer&) = delete;
  OpBuffer* saved;
};

// Told about each document a transaction writes (conflict detection), when set.
class TxnWriteListener {
 public:
  virtual ~TxnWriteListener() = default;
  // `pre` is the document before this write (null DocRef for an insert).
  virtual void on_txn_write(const Collection& coll, const DocRef& pre, const DocRef& post) = 0;
};
TxnWriteListener*& current_txn_listener();

class OplogWriter : public OpObserver {
 public:
  explicit OplogWriter(EngineImpl& e);

  OplogStore* store() { return store_.get(); }

  void on_insert(Collection& coll, const DocRef& doc, const WriteContext& wc) override;
  void on_update(Collection& coll, const DocRef& pre, const DocRef& post, const UpdateInfo& how,
                 const WriteContext& wc) override;
  void on_delete(Collection& coll, const DocRef& pre, const WriteContext& wc) override;
  void on_create_collection(const Collection& coll) override;
  void on_drop_collection(const Collection& coll) override;
  void on_rename_collection(const Collection& coll, const std::string& from_ns, const std::string& to_ns,
                            const std::string& from_uuid, const std::string& dropped_target_uuid,
                            bool stay_temp) override;
  void on_create_indexes(const Collection& coll, const std::vector<IndexDescriptor>& indexes, bool was_empty) override;
  void on_drop_index(const Collection& coll, const IndexDescriptor& index) override;
  void on_coll_mod(const Collection& coll, const bson_t* cmd, const bson_t* old_values) override;
  void on_drop_database(const std::string& db) override;

  // A no-op entry {msg: ...} with ns "" ("periodic noop", "new primary", "initiating set").
  Timestamp log_noop(const std::string& msg);
  // Logs buffered operations as applyOps entries: a transaction's (with lsid/txnNumber,
  // partialTxn chains past 16 MB) or a batched write's (no session fields). Returns the
  // commit timestamp (the last entry's), or a null Timestamp when `ops` is empty.
  Timestamp log_apply_ops(OpBuffer& ops, const common::Bson& lsid, int64_t txn_number);
  // The optime of the last entry this writer appended.
  Timestamp last_ts() const;
  // Transaction commits in the prepared format (mongosimControl preparedTransactions): the
  // last applyOps entry carries prepare: true and a commitTransaction entry follows it.
  void set_prepared_commits(bool on) { prepared_commits_.store(on); }
  // Called for each appended record (persistence hooks in here).
  void set_append_hook(std::function<void(const OplogRecord&)> hook) { hook_ = std::move(hook); }

 private:
  bool replicated(const Collection& coll) const;
  std::shared_ptr<const NsRef> ns_ref(const std::string& ns, const std::string& uuid);
  std::shared_ptr<const NsRef> cmd_ns(const std::string& db, const std::string& uuid);
  void fill_session(OplogRecord& r, const WriteContext& wc);
  void emit(OplogRecord r, const WriteContext& wc);
  void emit_all(std::span<OplogRecord> recs, bool chain = false);
  // The commitTransaction entry after a prepared transaction's last entry; returns its ts.
  Timestamp log_commit_of_prepared(const OplogRecord& prepare, const common::Bson& lsid, int64_t txn_number);
  void emit_command(const std::string& db, const std::string& uuid, common::Bson o, common::Bson o2 = {},
                    common::Bson meta = {});

  EngineImpl& e_;
  std::unique_ptr<OplogStore> store_;
  std::atomic<bool> prepared_commits_{false};
  std::function<void(const OplogRecord&)> hook_;
  std::mutex ns_mu_;
  std::mutex standalone_mu_;  // serializes timestamps and the hook without a store
  std::vector<std::shared_ptr<const NsRef>> ns_cache_;
};

// Sets `rec.tail` to {prevOpTime: {ts, t}} (t = -1 for the null optime).
void set_prev_optime(OplogRecord& rec, Timestamp prev, int64_t term);

// The size in bytes of `rec.to_bson()` (computed without building it).
uint32_t oplog_record_size(const OplogRecord& rec, mql::ServerVersion version);

}  // namespace sim::engine
