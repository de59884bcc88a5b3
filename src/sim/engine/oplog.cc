// The oplog store and writer (see oplog.h; formats in mongodb-reference.md §5.3-5.8).
#include "sim/engine/oplog.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "common/bson_scan.h"
#include "sim/engine/collection.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/persist.h"
#include "sim/engine/raw_bson.h"
#include "sim/engine/update_diff.h"

namespace sim::engine {

using common::Bson;

namespace {

constexpr uint32_t kMaxEntryBytes = 16 * 1024 * 1024;

// {_id: <the document's _id>}.
Bson id_doc(const DocRef& d) {
  bson_t out = BSON_INITIALIZER;
  bson_t v = d.view();
  bson_iter_t it;
  if (bson_iter_init_find(&it, &v, "_id")) bson_append_iter(&out, "_id", 3, &it);
  return Bson::steal(&out);
}

uint32_t elements_size(const DocRef& d) { return d && d.size() > 5 ? d.size() - 5 : 0; }

// The _id element of `d` (type, key and value bytes), or empty.
std::string_view id_element(const DocRef& d) {
  if (!d) return {};
  if (auto fast = common::scan_element(d.data(), d.size(), "_id")) return *fast;
  bson_t v = d.view();
  bson_iter_t it;
  if (!bson_iter_init_find(&it, &v, "_id")) return {};
  bson_iter_t next = it;
  uint32_t start = bson_iter_offset(&it);
  uint32_t end = bson_iter_next(&next) ? bson_iter_offset(&next) : v.len - 1;
  return d.bytes().substr(start, end - start);
}

uint32_t id_element_size(const DocRef& d) { return static_cast<uint32_t>(id_element(d).size()); }

}  // namespace

uint32_t oplog_record_size(const OplogRecord& r, mql::ServerVersion version) {
  uint32_t n = 5;  // length + terminator
  n += elements_size(r.session);
  n += 1 + 3 + 4 + 1 + 1;  // op: "x"
  n += 1 + 3 + 4 + static_cast<uint32_t>(r.ns ? r.ns->ns.size() : 0) + 1;
  if (r.ns && !r.ns->uuid.empty()) n += 1 + 3 + 4 + 1 + 16;
  n += 1 + 2 + (r.o ? r.o.size() : 5);
  if (r.o2_is_id) {
    n += 1 + 3 + 5 + id_element_size(r.o);
  } else if (r.o2) {
    n += 1 + 3 + r.o2.size();
  }
  n += 1 + 3 + 8;                          // ts
  n += 1 + 2 + 8;                          // t
  n += 1 + 2 + (version >= 50 ? 8 : 4);    // v
  n += 1 + 5 + 8;                          // wall
  n += elements_size(r.tail);
  return n;
}

void OplogRecord::write_fields(RawBsonWriter& w, mql::ServerVersion version) const {
  if (session) w.elements_of(session.bytes());
  w.utf8("op", std::string_view(&op, 1));
  if (ns) {
    w.utf8("ns", ns->ns);
    if (!ns->uuid.empty()) w.binary("ui", BSON_SUBTYPE_UUID, ns->uuid);
  } else {
    w.utf8("ns", "");
  }
  if (o) {
    w.document("o", o.bytes());
  } else {
    w.empty_document("o");
  }
  if (o2_is_id) {
    size_t at = w.begin_document("o2");
    w.raw_element(id_element(o));
    w.close(at);
  } else if (o2) {
    w.document("o2", o2.bytes());
  }
  w.timestamp("ts", ts.t, ts.i);
  w.int64("t", term);
  if (version >= 50) {
    w.int64("v", 2);
  } else {
    w.int32("v", 2);
  }
  w.date_time("wall", wall_ms);
  if (tail) w.elements_of(tail.bytes());
}

void OplogRecord::write_to(std::string& out, mql::ServerVersion version) const {
  RawBsonWriter w(out);
  size_t at = w.open();
  write_fields(w, version);
  w.close(at);
}

Bson OplogRecord::to_bson(mql::ServerVersion version) const {
  thread_local std::string scratch;
  scratch.clear();
  write_to(scratch, version);
  return Bson(reinterpret_cast<const uint8_t*>(scratch.data()), scratch.size());
}

// ---- OplogStore ----

namespace {

// {stmtId: <id>, prevOpTime: {ts, t}} (stmtId left out when negative); t = -1 for the null optime.
DocRef optime_tail(int32_t stmt_id, Timestamp prev, int64_t term) {
  thread_local std::string out;
  out.clear();
  RawBsonWriter w(out);
  size_t at = w.open();
  if (stmt_id >= 0) w.int32("stmtId", stmt_id);
  size_t p = w.begin_document("prevOpTime");
  w.timestamp("ts", prev.t, prev.i);
  w.int64("t", prev == Timestamp{} ? -1 : term);
  w.close(p);
  w.close(at);
  return DocRef::copy(reinterpret_cast<const uint8_t*>(out.data()), static_cast<uint32_t>(out.size()));
}

}  // namespace

void set_prev_optime(OplogRecord& rec, Timestamp prev, int64_t term) { rec.tail = optime_tail(-1, prev, term); }

Timestamp OplogStore::append(std::span<OplogRecord> recs, ClusterClock& clock,
                             const std::function<void(const OplogRecord&)>& on_append, bool chain) {
  std::unique_lock lk(mu);
  Timestamp first, prev;
  for (auto& r : recs) {
    r.ts = clock.tick();
    r.term = clock.term();
    if (chain && prev != Timestamp{}) set_prev_optime(r, prev, r.term);
    prev = r.ts;
    if (first == Timestamp{}) first = r.ts;
    r.size = oplog_record_size(r, version_);
    bytes_ += r.size;
    records_.push_back(std::move(r));
    if (on_append) on_append(records_.back());
  }
  trim_locked();
  return first;
}

void OplogStore::trim_locked() {
  while (bytes_ > max_bytes_ && records_.size() > 1) {
    bytes_ -= records_.front().size;
    records_.pop_front();
  }
}

size_t OplogStore::lower_bound(Timestamp ts) const {
  auto it = std::lower_bound(records_.begin(), records_.end(), ts,
                             [](const OplogRecord& r, Timestamp t) { return r.ts < t; });
  return static_cast<size_t>(it - records_.begin());
}

size_t OplogStore::upper_bound(Timestamp ts) const {
  auto it = std::upper_bound(records_.begin(), records_.end(), ts,
                             [](Timestamp t, const OplogRecord& r) { return t < r.ts; });
  return static_cast<size_t>(it - records_.begin());
}

void OplogStore::truncate_before(Timestamp ts) {
  std::unique_lock lk(mu);
  while (!records_.empty() && records_.front().ts < ts) {
    bytes_ -= records_.front().size;
    records_.pop_front();
  }
}

void OplogStore::restore(OplogRecord rec) {
  std::unique_lock lk(mu);
  if (rec.size == 0) rec.size = oplog_record_size(rec, version_);
  bytes_ += rec.size;
  records_.push_back(std::move(rec));
  trim_locked();
}

OpBuffer*& current_op_buffer() {
  thread_local OpBuffer* buffer = nullptr;
  return buffer;
}

TxnWriteListener*& current_txn_listener() {
  thread_local TxnWriteListener* listener = nullptr;
  return listener;
}

// ---- OplogWriter ----

OplogWriter::OplogWriter(EngineImpl& e) : e_(e) {
  if (!e.server.options.standalone) {
    store_ = std::make_unique<OplogStore>(e.server.options.oplog_size_mb * 1024 * 1024, e.version());
  }
}

bool OplogWriter::replicated(const Collection& coll) const {
  // The local database is never replicated; config's session bookkeeping is derived state.
  if (coll.db() == "local") return false;
  if (coll.db() == "config" &&
      (coll.name() == "transactions" || coll.name() == "image_collection" || coll.name() == "system.preimages")) {
    return false;
  }
  return true;
}

std::shared_ptr<const NsRef> OplogWriter::ns_ref(const std::string& ns, const std::string& uuid) {
  std::lock_guard lk(ns_mu_);
  for (const auto& r : ns_cache_) {
    if (r->ns == ns && r->uuid == uuid) return r;
  }
  auto r = std::make_shared<NsRef>(NsRef{ns, uuid});
  if (ns_cache_.size() > 4096) ns_cache_.erase(ns_cache_.begin());
  ns_cache_.push_back(r);
  return r;
}

std::shared_ptr<const NsRef> OplogWriter::cmd_ns(const std::string& db, const std::string& uuid) {
  return ns_ref(db + ".$cmd", uuid);
}

void OplogWriter::fill_session(OplogRecord& r, const WriteContext& wc) {
  if (wc.lsid.empty() || wc.txn_number < 0 || wc.in_transaction) return;
  r.session = wc.session_fields;
  if (!r.session) {
    bson_t s = BSON_INITIALIZER;
    bson_append_document(&s, "lsid", 4, wc.lsid.get());
    bson_append_int64(&s, "txnNumber", 9, wc.txn_number);
    r.session = DocRef::copy(&s);
    bson_destroy(&s);
  }
  Timestamp p = wc.prev_optime ? *wc.prev_optime : Timestamp{};
  r.tail = optime_tail(wc.stmt_id < 0 ? 0 : wc.stmt_id, p, e_.server.clock.term());
}

void OplogWriter::emit(OplogRecord r, const WriteContext& wc) {
  OpBuffer* buf = wc.buffer ? wc.buffer : current_op_buffer();
  if (buf) {
    buf->ops.push_back(std::move(r));
    return;
  }
  fill_session(r, wc);
  r.wall_ms = wc.wall_ms ? wc.wall_ms : wall_now_ms();
  emit_all(std::span<OplogRecord>(&r, 1));
  if (wc.prev_optime) *wc.prev_optime = r.ts;
  if (wc.last_optime) *wc.last_optime = r.ts;
}

void OplogWriter::emit_all(std::span<OplogRecord> recs, bool chain) {
  if (store_) {
    store_->append(recs, e_.server.clock, hook_, chain);
  } else {
    std::lock_guard lk(standalone_mu_);
    Timestamp prev;
    for (auto& r : recs) {
      r.ts = e_.server.clock.tick();
      r.term = e_.server.clock.term();
      if (chain && prev != Timestamp{}) set_prev_optime(r, prev, r.term);
      prev = r.ts;
      if (hook_) hook_(r);
    }
  }
  e_.notify_data();
}

void OplogWriter::emit_command(const std::string& db, const std::string& uuid, Bson o, Bson o2, Bson meta) {
  OplogRecord r;
  r.op = 'c';
  r.ns = cmd_ns(db, uuid);
  r.o = DocRef::copy(o.get());
  r.o2 = DocRef::copy_unless_empty(o2);
  r.meta = DocRef::copy_unless_empty(meta);
  r.wall_ms = wall_now_ms();
  if (OpBuffer* buf = current_op_buffer()) {
    // DDL inside a transaction (create, createIndexes on a new collection): an inner op.
    buf->ops.push_back(std::move(r));
    return;
  }
  std::vector<OplogRecord> recs;
  recs.push_back(std::move(r));
  emit_all(recs);
}

Timestamp OplogWriter::last_ts() const {
  if (!store_) return e_.server.clock.now();
  std::shared_lock lk(store_->mu);
  return store_->last_ts();
}

void OplogWriter::on_insert(Collection& coll, const DocRef& doc, const WriteContext& wc) {
  if (auto* l = current_txn_listener()) l->on_txn_write(coll, DocRef(), doc);
  if (!replicated(coll)) return;
  OplogRecord r;
  r.op = 'i';
  r.ns = ns_ref(coll.ns(), coll.uuid());
  r.o = doc;
  r.o2_is_id = e_.version() >= 60;
  emit(std::move(r), wc);
}

void OplogWriter::on_update(Collection& coll, const DocRef& pre, const DocRef& post, const UpdateInfo& how,
                            const WriteContext& wc) {
  if (auto* l = current_txn_listener()) l->on_txn_write(coll, pre, post);
  if (!replicated(coll)) return;
  OplogRecord r;
  r.op = 'u';
  r.ns = ns_ref(coll.ns(), coll.uuid());
  bson_t pv = pre.view(), qv = post.view();
  update_diff::UpdateKind kind = how.kind;
  update_diff::UpdateContext uctx;
  uctx.array_filters = how.array_filters;
  uctx.positional_match = how.positional_match;
  Bson o = update_diff::update_entry_object(&pv, &qv, how.update, kind, e_.version(), uctx);
  r.o = DocRef::copy(o.get());
  r.o2 = DocRef::copy(id_doc(post).get());
  if (coll.options().pre_post_images) r.pre_image = pre;
  emit(std::move(r), wc);
}

void OplogWriter::on_delete(Collection& coll, const DocRef& pre, const WriteContext& wc) {
  if (auto* l = current_txn_listener()) l->on_txn_write(coll, pre, DocRef());
  if (!replicated(coll)) return;
  OplogRecord r;
  r.op = 'd';
  r.ns = ns_ref(coll.ns(), coll.uuid());
  Bson id = id_doc(pre);
  r.o = DocRef::copy(id.get());
  if (coll.options().pre_post_images) r.pre_image = pre;
  emit(std::move(r), wc);
}

namespace {

Bson create_command(const Collection& coll) {
  bson_t o = BSON_INITIALIZER;
  common::append_utf8(&o, "create", coll.name());
  bson_concat(&o, coll.options().raw.get());
  if (!coll.options().clustered) {
    bson_t idx, key;
    bson_append_document_begin(&o, "idIndex", -1, &idx);
    bson_append_int32(&idx, "v", 1, 2);
    bson_append_document_begin(&idx, "key", 3, &key);
    bson_append_int32(&key, "_id", 3, 1);
    bson_append_document_end(&idx, &key);
    bson_append_utf8(&idx, "name", 4, "_id_", 4);
    if (coll.options().collator) {
      Bson cs = coll.options().collator->spec();
      bson_append_document(&idx, "collation", -1, cs.get());
    }
    bson_append_document_end(&o, &idx);
  }
  return Bson::steal(&o);
}

Bson num_records(int64_t n) {
  bson_t o2 = BSON_INITIALIZER;
  bson_append_int64(&o2, "numRecords", -1, n);
  return Bson::steal(&o2);
}

Bson random_uuid_doc_value() {
  std::string u = new_uuid();
  bson_t b = BSON_INITIALIZER;
  bson_append_binary(&b, "u", 1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(u.data()), 16);
  return Bson::steal(&b);
}

}  // namespace

void OplogWriter::on_create_collection(const Collection& coll) {
  if (!replicated(coll)) return;
  emit_command(coll.db(), coll.uuid(), create_command(coll), Bson(), collection_metadata(coll));
}

void OplogWriter::on_drop_collection(const Collection& coll) {
  if (!replicated(coll)) return;
  bson_t o = BSON_INITIALIZER;
  common::append_utf8(&o, "drop", coll.name());
  bson_t m = BSON_INITIALIZER;
  bson_append_binary(&m, "dropped", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(coll.uuid().data()), 16);
  emit_command(coll.db(), coll.uuid(), Bson::steal(&o),
               e_.version() >= 60 ? num_records(static_cast<int64_t>(coll.count())) : Bson(), Bson::steal(&m));
}

void OplogWriter::on_rename_collection(const Collection& coll, const std::string& from_ns, const std::string& to_ns,
                                       const std::string& from_uuid, const std::string& dropped_target_uuid,
                                       bool stay_temp) {
  if (!replicated(coll)) return;
  std::string from_db = from_ns.substr(0, from_ns.find('.'));
  bson_t o = BSON_INITIALIZER;
  common::append_utf8(&o, "renameCollection", from_ns);
  common::append_utf8(&o, "to", to_ns);
  bson_append_bool(&o, "stayTemp", -1, stay_temp);
  if (!dropped_target_uuid.empty()) {
    bson_append_binary(&o, "dropTarget", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(dropped_target_uuid.data()),
                       16);
  }
  bson_t m = BSON_INITIALIZER;
  Bson md = collection_metadata(coll);
  bson_concat(&m, md.get());
  bson_append_binary(&m, "renamedFrom", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(from_uuid.data()), 16);
  if (!dropped_target_uuid.empty()) {
    bson_append_binary(&m, "droppedTarget", -1, BSON_SUBTYPE_UUID,
                       reinterpret_cast<const uint8_t*>(dropped_target_uuid.data()), 16);
  }
  emit_command(from_db, from_uuid, Bson::steal(&o),
               !dropped_target_uuid.empty() ? num_records(static_cast<int64_t>(coll.count())) : Bson(), Bson::steal(&m));
}

void OplogWriter::on_create_indexes(const Collection& coll, const std::vector<IndexDescriptor>& indexes, bool was_empty) {
  if (!replicated(coll) || indexes.empty()) return;
  if (was_empty || e_.version() < 44) {
    // Single-phase builds: one createIndexes entry per index.
    for (const auto& d : indexes) {
      bson_t o = BSON_INITIALIZER;
      common::append_utf8(&o, "createIndexes", coll.name());
      bson_concat(&o, d.spec.get());
      emit_command(coll.db(), coll.uuid(), Bson::steal(&o), Bson(), collection_metadata(coll));
    }
    return;
  }
  // Two-phase build (4.4+ on a non-empty collection): startIndexBuild, then commitIndexBuild.
  Bson build_uuid = random_uuid_doc_value();
  bson_iter_t bu;
  bson_iter_init_find(&bu, build_uuid.get(), "u");
  for (const char* phase : {"startIndexBuild", "commitIndexBuild"}) {
    bson_t o = BSON_INITIALIZER, arr;
    common::append_utf8(&o, phase, coll.name());
    bson_append_iter(&o, "indexBuildUUID", -1, &bu);
    bson_append_array_begin(&o, "indexes", -1, &arr);
    char buf[16];
    uint32_t i = 0;
    for (const auto& d : indexes) {
      auto k = common::array_key(i++, buf);
      bson_append_document(&arr, k.data(), static_cast<int>(k.size()), d.spec.get());
    }
    bson_append_array_end(&o, &arr);
    emit_command(coll.db(), coll.uuid(), Bson::steal(&o), Bson(),
                 std::string_view(phase) == "commitIndexBuild" ? collection_metadata(coll) : Bson());
  }
}

void OplogWriter::on_drop_index(const Collection& coll, const IndexDescriptor& index) {
  if (!replicated(coll)) return;
  bson_t o = BSON_INITIALIZER;
  common::append_utf8(&o, "dropIndexes", coll.name());
  common::append_utf8(&o, "index", index.name);
  emit_command(coll.db(), coll.uuid(), Bson::steal(&o), index.spec, collection_metadata(coll));
}

void OplogWriter::on_coll_mod(const Collection& coll, const bson_t* cmd, const bson_t* old_values) {
  if (!replicated(coll)) return;
  Bson o2;
  if (e_.version() >= 60) {
    bson_t b = BSON_INITIALIZER, old;
    bson_append_document_begin(&b, "collectionOptions_old", -1, &old);
    bson_append_binary(&old, "uuid", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(coll.uuid().data()), 16);
    bson_concat(&old, old_values);
    bson_append_document_end(&b, &old);
    o2 = Bson::steal(&b);
  }
  emit_command(coll.db(), coll.uuid(), Bson(cmd), std::move(o2), collection_metadata(coll));
}

void OplogWriter::on_drop_database(const std::string& db) {
  if (db == "local") return;
  bson_t o = BSON_INITIALIZER;
  bson_append_int32(&o, "dropDatabase", -1, 1);
  bson_t m = BSON_INITIALIZER;
  common::append_utf8(&m, "dropDatabase", db);
  emit_command(db, "", Bson::steal(&o), Bson(), Bson::steal(&m));
}

Timestamp OplogWriter::log_noop(const std::string& msg) {
  OplogRecord r;
  r.op = 'n';
  bson_t o = BSON_INITIALIZER;
  common::append_utf8(&o, "msg", msg);
  r.o = DocRef::copy(&o);
  bson_destroy(&o);
  r.wall_ms = wall_now_ms();
  std::vector<OplogRecord> recs;
  recs.push_back(std::move(r));
  emit_all(recs);
  return recs.back().ts;
}

namespace {

// {lsid, txnNumber}: the session fields of a transaction's entries.
DocRef txn_session_fields(const Bson& lsid, int64_t txn_number) {
  bson_t s = BSON_INITIALIZER;
  bson_append_document(&s, "lsid", 4, lsid.get());
  bson_append_int64(&s, "txnNumber", 9, txn_number);
  DocRef out = DocRef::copy(&s);
  bson_destroy(&s);
  return out;
}

}  // namespace

Timestamp OplogWriter::log_commit_of_prepared(const OplogRecord& prepare, const Bson& lsid, int64_t txn_number) {
  OplogRecord r;
  r.op = 'c';
  r.ns = cmd_ns("admin", "");
  bson_t o = BSON_INITIALIZER;
  bson_append_int32(&o, "commitTransaction", -1, 1);
  // The coordinator's commit timestamp: not before the prepare timestamp.
  bson_append_timestamp(&o, "commitTimestamp", -1, prepare.ts.t, prepare.ts.i);
  r.o = DocRef::copy(&o);
  bson_destroy(&o);
  r.wall_ms = wall_now_ms();
  r.session = txn_session_fields(lsid, txn_number);
  set_prev_optime(r, prepare.ts, prepare.term);
  std::vector<OplogRecord> recs;
  recs.push_back(std::move(r));
  emit_all(recs, false);
  return recs.back().ts;
}

Timestamp OplogWriter::log_apply_ops(OpBuffer& buf, const Bson& lsid, int64_t txn_number) {
  if (buf.ops.empty()) return Timestamp{};
  // Inner operations: {op, ns, ui, o, o2}.
  std::vector<Bson> inner;
  inner.reserve(buf.ops.size());
  for (const auto& r : buf.ops) {
    bson_t d = BSON_INITIALIZER;
    char opstr[2] = {r.op, 0};
    bson_append_utf8(&d, "op", 2, opstr, 1);
    common::append_utf8(&d, "ns", r.ns ? r.ns->ns : "");
    if (r.ns && !r.ns->uuid.empty()) {
      bson_append_binary(&d, "ui", 2, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(r.ns->uuid.data()), 16);
    }
    bson_t ov = r.o.view();
    bson_append_document(&d, "o", 1, &ov);
    if (r.o2_is_id) {
      Bson id = id_doc(r.o);
      bson_append_document(&d, "o2", 2, id.get());
    } else if (r.o2) {
      bson_t v = r.o2.view();
      bson_append_document(&d, "o2", 2, &v);
    }
    inner.push_back(Bson::steal(&d));
  }
  bool txn = !lsid.empty() && txn_number >= 0;
  // Catalog changes inside (a transaction's creates and index builds) travel with the entry
  // for persistence.
  Bson metas;
  {
    bson_t m = BSON_INITIALIZER, arr;
    bson_append_array_begin(&m, "inner", -1, &arr);
    char kb[16];
    uint32_t mi = 0;
    for (const auto& r : buf.ops) {
      if (!r.meta) continue;
      auto k = common::array_key(mi++, kb);
      bson_t mv = r.meta.view();
      bson_append_document(&arr, k.data(), static_cast<int>(k.size()), &mv);
    }
    bson_append_array_end(&m, &arr);
    if (mi > 0) metas = Bson::steal(&m);
    else bson_destroy(&m);
  }
  const bool prepared = txn && prepared_commits_.load();
  // Pack into entries of at most 16 MiB (partialTxn chains for transactions).
  std::vector<std::vector<const Bson*>> groups(1);
  size_t bytes = 0;
  for (const auto& d : inner) {
    if (!groups.back().empty() && bytes + d.size() + 64 > kMaxEntryBytes - 1024) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(&d);
    bytes += d.size() + 16;
  }
  auto cmd = cmd_ns("admin", "");
  std::vector<OplogRecord> recs;
  for (size_t g = 0; g < groups.size(); ++g) {
    OplogRecord r;
    r.op = 'c';
    r.ns = cmd;
    bson_t o = BSON_INITIALIZER, arr;
    bson_append_array_begin(&o, "applyOps", -1, &arr);
    char buf2[16];
    uint32_t i = 0;
    for (const Bson* d : groups[g]) {
      auto k = common::array_key(i++, buf2);
      bson_append_document(&arr, k.data(), static_cast<int>(k.size()), d->get());
    }
    bson_append_array_end(&o, &arr);
    bool last_group = g + 1 == groups.size();
    if (txn && !last_group) bson_append_bool(&o, "partialTxn", -1, true);
    if (txn && last_group && prepared) bson_append_bool(&o, "prepare", -1, true);
    if (txn && last_group && groups.size() > 1) bson_append_int64(&o, "count", -1, static_cast<int64_t>(inner.size()));
    r.o = DocRef::copy(&o);
    bson_destroy(&o);
    r.wall_ms = wall_now_ms();
    if (txn) {
      r.session = txn_session_fields(lsid, txn_number);
      set_prev_optime(r, Timestamp{}, -1);
    }
    if (g + 1 == groups.size()) r.meta = DocRef::copy_unless_empty(metas);
    recs.push_back(std::move(r));
  }
  emit_all(recs, txn);
  Timestamp last = recs.back().ts;
  if (prepared) last = log_commit_of_prepared(recs.back(), lsid, txn_number);
  buf.ops.clear();
  return last;
}

}  // namespace sim::engine
