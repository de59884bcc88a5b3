// Oplog entries → change events, following ChangeStreamDefaultEventTransformation and
// ChangeStreamViewDefinitionEventTransformation (change_stream_event_transform.cpp), the
// oplog filter of change_stream_filter_helpers.cpp (which namespaces and commands a stream
// of each scope sees) and the transaction unwinding of
// document_source_change_stream_unwind_transaction.cpp.
//
// Field order is the transform's: `to` (rename) first, then txnNumber/lsid (transaction
// events), _id, operationType, clusterTime, [collectionUUID], [wallTime 6.0+], [fullDocument],
// ns, [documentKey], [operationDescription], [updateDescription], [stateBeforeChange]; the
// image stages append fullDocumentBeforeChange and (updates) fullDocument later.
#include <fmt/format.h>

#include <cstring>

#include "sim/engine/change_stream_internal.h"
#include "sim/engine/update_diff.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;
using Scope = ChangeStreamSpec::Scope;

namespace {

bool internal_db(std::string_view db) { return db == "admin" || db == "config" || db == "local"; }

// kRegexAllCollections: not "$..." and not "system.*".
bool ordinary_collection(std::string_view coll) {
  return !coll.empty() && coll[0] != '$' && coll.substr(0, 7) != "system.";
}

std::pair<std::string_view, std::string_view> split_ns(std::string_view ns) {
  auto dot = ns.find('.');
  if (dot == std::string_view::npos) return {ns, {}};
  return {ns.substr(0, dot), ns.substr(dot + 1)};
}

bool db_watched(const ChangeStreamSpec& s, std::string_view db) {
  return s.scope == Scope::kCluster ? !internal_db(db) && !db.empty() : db == s.db;
}

// getNsRegexForChangeStream.
bool crud_ns_watched(const ChangeStreamSpec& s, std::string_view ns) {
  auto [db, coll] = split_ns(ns);
  if (s.scope == Scope::kCollection) return db == s.db && coll == s.coll;
  return db_watched(s, db) && ordinary_collection(coll);
}

// getCollRegexForChangeStream.
bool coll_name_watched(const ChangeStreamSpec& s, std::string_view coll) {
  if (s.scope == Scope::kCollection) return coll == s.coll;
  return ordinary_collection(coll);
}

// getCmdNsRegexForChangeStream.
bool cmd_ns_watched(const ChangeStreamSpec& s, std::string_view ns) {
  auto [db, coll] = split_ns(ns);
  return coll == "$cmd" && db_watched(s, db);
}

// One operation: a whole oplog record or an operation inside applyOps.
struct Op {
  Op() { bson_init(&o); }
  // A static bson_t points into itself: copies re-point their view at the same bytes.
  Op(const Op& x) : op(x.op), ns(x.ns), uuid(x.uuid), o2(x.o2), has_o2(x.has_o2), from_migrate(x.from_migrate),
                    pre_image(x.pre_image) {
    bson_init_static(&o, bson_get_data(&x.o), x.o.len);
  }
  Op& operator=(const Op& x) {
    if (this == &x) return *this;
    op = x.op;
    ns = x.ns;
    uuid = x.uuid;
    bson_init_static(&o, bson_get_data(&x.o), x.o.len);
    o2 = x.o2;
    has_o2 = x.has_o2;
    from_migrate = x.from_migrate;
    pre_image = x.pre_image;
    return *this;
  }
  char op = 'n';
  std::string ns;
  std::string uuid;  // 16 raw bytes or ""
  bson_t o;          // view (of bytes that outlive the Op; an empty inline document by default)
  Bson o2;           // empty = missing
  bool has_o2 = false;
  bool from_migrate = false;
  DocRef pre_image;
};

struct TxnContext {
  Timestamp ts;
  int64_t wall_ms = 0;
  std::optional<uint64_t> txn_op_index;
  const bson_t* lsid = nullptr;  // may be null (batched writes)
  std::optional<int64_t> txn_number;
};

bool iter_bool_true(const bson_t* doc, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
}

std::string iter_string(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it)) return {};
  uint32_t len;
  const char* s = bson_iter_utf8(&it, &len);
  return std::string(s, len);
}

Bson sub_document(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return Bson();
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&it, &len, &data);
  return Bson(data, len);
}

bool has_field(const bson_t* doc, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, doc, key);
}

// {_id: doc._id}
Bson id_key(const bson_t* doc) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, "_id")) bson_append_iter(&out, "_id", 3, &it);
  return Bson::steal(&out);
}

// copyDocExceptFields.
Bson copy_except(const bson_t* doc, std::initializer_list<std::string_view> skip) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  if (bson_iter_init(&it, doc)) {
    while (bson_iter_next(&it)) {
      std::string_view k(bson_iter_key(&it), bson_iter_key_len(&it));
      bool drop = false;
      for (auto s : skip) drop |= k == s;
      if (!drop) bson_append_iter(&out, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &it);
    }
  }
  return Bson::steal(&out);
}

Bson ns_doc(std::string_view db, std::string_view coll) {
  bson_t d = BSON_INITIALIZER;
  common::append_utf8(&d, "db", db);
  if (!coll.empty()) common::append_utf8(&d, "coll", coll);
  return Bson::steal(&d);
}

// {indexes: [spec]}
Bson indexes_of(const bson_t* spec) {
  bson_t d = BSON_INITIALIZER, arr;
  bson_append_array_begin(&d, "indexes", -1, &arr);
  bson_append_document(&arr, "0", 1, spec);
  bson_append_array_end(&d, &arr);
  return Bson::steal(&d);
}

// The fields of one event before the image stages.
struct Parts {
  std::string op_type;
  std::string db, coll;
  bool has_ns = true;
  std::string uuid;
  Bson to;
  bool has_to = false;
  const bson_t* full_document = nullptr;
  Bson document_key;
  bool has_document_key = false;
  Bson op_desc;
  bool has_op_desc = false;
  Bson update_desc;
  bool has_update_desc = false;
  Bson state_before;
  bool has_state_before = false;
  Bson update_o;  // post-image computation
};

// ChangeStreamEventTransformation::makeResumeToken and ResumeTokenData's eventIdentifier.
ResumeTokenData make_token_data(const ChangeStreamSpec& s, const TxnContext& tx, const Parts& p) {
  ResumeTokenData d;
  d.cluster_time = tx.ts;
  d.txn_op_index = tx.txn_op_index.value_or(0);
  const ResumeToken& r = s.resume_token;
  d.version = (r.cluster_time < d.cluster_time || d.txn_op_index > r.txn_op_index) ? s.token_version : r.version;
  if (!p.uuid.empty()) d.uuid = p.uuid;
  if (is_classic_operation_type(p.op_type) && d.version <= 1) {
    if (p.has_document_key) {
      d.event_identifier = p.document_key;
      d.has_event_identifier = true;
    }
    return d;
  }
  bson_t e = BSON_INITIALIZER;
  common::append_utf8(&e, "operationType", p.op_type);
  if (p.has_document_key) {
    bson_append_document(&e, "documentKey", -1, p.document_key.get());
  } else if (p.has_op_desc) {
    bson_append_document(&e, "operationDescription", -1, p.op_desc.get());
  }
  d.event_identifier = Bson::steal(&e);
  d.has_event_identifier = true;
  return d;
}

Status build_event(const ChangeStreamSpec& s, const TxnContext& tx, Parts p, std::deque<PendingEvent>* out) {
  PendingEvent ev;
  ev.token_data = make_token_data(s, tx, p);
  MS_ASSIGN_OR_RETURN(ev.token, encode_resume_token(ev.token_data));
  bson_t d = BSON_INITIALIZER;
  if (p.has_to) bson_append_document(&d, "to", 2, p.to.get());
  if (tx.txn_op_index) {
    if (tx.txn_number) bson_append_int64(&d, "txnNumber", 9, *tx.txn_number);
    if (tx.lsid) bson_append_document(&d, "lsid", 4, tx.lsid);
  }
  ev.token.append_to(&d, "_id");
  common::append_utf8(&d, "operationType", p.op_type);
  bson_append_timestamp(&d, "clusterTime", 11, tx.ts.t, tx.ts.i);
  if (s.show_expanded_events && !p.uuid.empty()) {
    bson_append_binary(&d, "collectionUUID", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(p.uuid.data()),
                       16);
  }
  if (s.version >= 60) bson_append_date_time(&d, "wallTime", 8, tx.wall_ms);
  if (p.full_document) bson_append_document(&d, "fullDocument", 12, p.full_document);
  if (p.has_ns) {
    Bson ns = ns_doc(p.db, p.coll);
    bson_append_document(&d, "ns", 2, ns.get());
  }
  if (p.has_document_key) bson_append_document(&d, "documentKey", 11, p.document_key.get());
  if (s.show_expanded_events && p.has_op_desc) bson_append_document(&d, "operationDescription", -1, p.op_desc.get());
  if (p.has_update_desc) {
    bson_append_document(&d, s.show_raw_update_description ? "rawUpdateDescription" : "updateDescription", -1,
                         p.update_desc.get());
  }
  if (p.has_state_before) bson_append_document(&d, "stateBeforeChange", -1, p.state_before.get());
  ev.doc = Bson::steal(&d);
  ev.op_type = std::move(p.op_type);
  ev.db = std::move(p.db);
  ev.coll = std::move(p.coll);
  ev.uuid = std::move(p.uuid);
  if (p.has_document_key) ev.document_key = std::move(p.document_key);
  ev.update_o = std::move(p.update_o);
  ev.txn_number = tx.txn_op_index ? tx.txn_number : std::nullopt;
  out->push_back(std::move(ev));
  return Status::OK();
}

// ChangeStreamViewDefinitionEventTransformation: system.views writes as create/modify/drop
// of the view (database and cluster streams with showExpandedEvents).
Status view_event(const ChangeStreamSpec& s, const TxnContext& tx, const Op& op, std::deque<PendingEvent>* out) {
  std::string view_ns = iter_string(&op.o, "_id");
  if (view_ns.empty()) return Status::OK();
  auto [db, name] = split_ns(view_ns);
  Parts p;
  p.db = std::string(db);
  p.coll = std::string(name);
  p.uuid = op.uuid;
  switch (op.op) {
    case 'i':
      p.op_type = "create";
      p.op_desc = copy_except(&op.o, {"_id"});
      p.has_op_desc = true;
      break;
    case 'u':
      if (!has_field(&op.o, "_id")) return Status::OK();  // only replacements describe a view
      p.op_type = "modify";
      p.op_desc = copy_except(&op.o, {"_id"});
      p.has_op_desc = true;
      break;
    case 'd':
      p.op_type = "drop";
      break;
    default:
      return Status::OK();
  }
  // The view transformation writes no collectionUUID and no documentKey.
  ResumeTokenData td = make_token_data(s, tx, p);
  PendingEvent ev;
  ev.token_data = td;
  MS_ASSIGN_OR_RETURN(ev.token, encode_resume_token(td));
  bson_t d = BSON_INITIALIZER;
  ev.token.append_to(&d, "_id");
  common::append_utf8(&d, "operationType", p.op_type);
  bson_append_timestamp(&d, "clusterTime", 11, tx.ts.t, tx.ts.i);
  bson_append_date_time(&d, "wallTime", 8, tx.wall_ms);
  Bson ns = ns_doc(p.db, p.coll);
  bson_append_document(&d, "ns", 2, ns.get());
  if (p.has_op_desc) bson_append_document(&d, "operationDescription", -1, p.op_desc.get());
  ev.doc = Bson::steal(&d);
  ev.op_type = p.op_type;
  ev.db = p.db;
  ev.coll = p.coll;
  out->push_back(std::move(ev));
  return Status::OK();
}

Status crud_event(const ChangeStreamSpec& s, const TxnContext& tx, const Op& op, std::deque<PendingEvent>* out) {
  Parts p;
  auto [db, coll] = split_ns(op.ns);
  p.db = std::string(db);
  p.coll = std::string(coll);
  p.uuid = op.uuid;
  switch (op.op) {
    case 'i':
      p.op_type = "insert";
      p.full_document = &op.o;
      p.document_key = op.has_o2 ? op.o2 : id_key(&op.o);
      p.has_document_key = true;
      break;
    case 'd':
      p.op_type = "delete";
      p.document_key = Bson(&op.o);
      p.has_document_key = true;
      break;
    case 'u': {
      bson_iter_t v;
      bool has_v = bson_iter_init_find(&v, &op.o, "$v");
      bool delta = has_v && BSON_ITER_HOLDS_NUMBER(&v) && bson_iter_as_int64(&v) == 2;
      if (delta || has_v || !has_field(&op.o, "_id")) {
        p.op_type = "update";
        if (s.show_raw_update_description) {
          p.update_desc = Bson(&op.o);
        } else {
          MS_ASSIGN_OR_RETURN(p.update_desc, update_diff::update_description(&op.o, s.version, s.show_expanded_events));
        }
        p.has_update_desc = true;
        if (s.post_image_requested()) p.update_o = Bson(&op.o);
      } else {
        p.op_type = "replace";
        p.full_document = &op.o;
      }
      p.document_key = op.has_o2 ? op.o2 : id_key(&op.o);
      p.has_document_key = true;
      break;
    }
    default:
      return Status::OK();
  }
  size_t before = out->size();
  MS_RETURN_IF_ERROR(build_event(s, tx, std::move(p), out));
  if (out->size() > before) out->back().pre_image = op.pre_image;
  return Status::OK();
}

Status command_event(const ChangeStreamSpec& s, const TxnContext& tx, const Op& op, std::deque<PendingEvent>* out) {
  auto [db, unused] = split_ns(op.ns);
  (void)unused;
  bson_iter_t first;
  if (!bson_iter_init(&first, &op.o) || !bson_iter_next(&first)) return Status::OK();
  std::string_view cmd(bson_iter_key(&first), bson_iter_key_len(&first));
  std::string target = BSON_ITER_HOLDS_UTF8(&first) ? std::string(bson_iter_utf8(&first, nullptr)) : std::string();
  const bool expanded_commands = s.version >= 60;
  Parts p;
  p.db = std::string(db);
  p.uuid = op.uuid;
  if (cmd == "drop") {
    if (!coll_name_watched(s, target)) return Status::OK();
    p.op_type = "drop";
    p.coll = target;
  } else if (cmd == "renameCollection") {
    std::string to_ns = iter_string(&op.o, "to");
    if (!crud_ns_watched(s, target) && !crud_ns_watched(s, to_ns)) return Status::OK();
    auto [from_db, from_coll] = split_ns(target);
    auto [to_db, to_coll] = split_ns(to_ns);
    p.op_type = "rename";
    p.db = std::string(from_db);
    p.coll = std::string(from_coll);
    p.to = ns_doc(to_db, to_coll);
    p.has_to = true;
    if (expanded_commands) {
      // operationDescription: the entry minus renameCollection/stayTemp, `to` as {db, coll}.
      bson_t d = BSON_INITIALIZER;
      bson_iter_t it;
      bson_iter_init(&it, &op.o);
      while (bson_iter_next(&it)) {
        std::string_view k(bson_iter_key(&it), bson_iter_key_len(&it));
        if (k == "renameCollection" || k == "stayTemp") continue;
        if (k == "to") {
          bson_append_document(&d, "to", 2, p.to.get());
        } else {
          bson_append_iter(&d, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &it);
        }
      }
      p.op_desc = Bson::steal(&d);
      p.has_op_desc = true;
    }
  } else if (cmd == "dropDatabase") {
    if (s.scope == Scope::kCollection) return Status::OK();
    p.op_type = "dropDatabase";
  } else if (!expanded_commands) {
    return Status::OK();
  } else if (cmd == "create" || cmd == "createIndexes" || cmd == "commitIndexBuild" || cmd == "dropIndexes" ||
             cmd == "collMod") {
    if (!coll_name_watched(s, target)) return Status::OK();
    p.coll = target;
    p.has_op_desc = true;
    if (cmd == "create") {
      p.op_type = "create";
      p.op_desc = copy_except(&op.o, {"create"});
    } else if (cmd == "createIndexes") {
      p.op_type = "createIndexes";
      Bson spec = copy_except(&op.o, {"createIndexes"});
      p.op_desc = indexes_of(spec.get());
    } else if (cmd == "commitIndexBuild") {
      p.op_type = "createIndexes";
      bson_t d = BSON_INITIALIZER;
      bson_iter_t it;
      if (bson_iter_init_find(&it, &op.o, "indexes")) bson_append_iter(&d, "indexes", 7, &it);
      p.op_desc = Bson::steal(&d);
    } else if (cmd == "dropIndexes") {
      p.op_type = "dropIndexes";
      Bson spec = copy_except(op.o2.get(), {"dropIndexes"});
      p.op_desc = indexes_of(spec.get());
    } else {
      p.op_type = "modify";
      p.op_desc = copy_except(&op.o, {"collMod"});
      bson_t sb = BSON_INITIALIZER;
      bson_iter_t it;
      if (bson_iter_init_find(&it, op.o2.get(), "collectionOptions_old")) {
        bson_append_iter(&sb, "collectionOptions", -1, &it);
      }
      if (bson_iter_init_find(&it, op.o2.get(), "indexOptions_old")) bson_append_iter(&sb, "indexOptions", -1, &it);
      p.state_before = Bson::steal(&sb);
      p.has_state_before = true;
    }
  } else {
    return Status::OK();
  }
  return build_event(s, tx, std::move(p), out);
}

Status transform_op(const ChangeStreamSpec& s, const TxnContext& tx, const Op& op, std::deque<PendingEvent>* out) {
  if (op.from_migrate && !s.show_migration_events) return Status::OK();
  switch (op.op) {
    case 'i':
    case 'u':
    case 'd': {
      auto [db, coll] = split_ns(op.ns);
      if (coll == "system.views") {
        if (s.scope != Scope::kCollection && s.show_expanded_events && s.version >= 60 && db_watched(s, db)) {
          return view_event(s, tx, op, out);
        }
        return Status::OK();
      }
      if (!crud_ns_watched(s, op.ns)) return Status::OK();
      return crud_event(s, tx, op, out);
    }
    case 'c':
      if (!cmd_ns_watched(s, op.ns)) return Status::OK();
      return command_event(s, tx, op, out);
    default:
      return Status::OK();
  }
}

// An operation inside applyOps: {op, ns, ui, o, o2}.
bool parse_inner(const bson_t* d, Op* op) {
  bson_iter_t it;
  if (!bson_iter_init(&it, d)) return false;
  bool have_o = false;
  while (bson_iter_next(&it)) {
    std::string_view k(bson_iter_key(&it), bson_iter_key_len(&it));
    if (k == "op" && BSON_ITER_HOLDS_UTF8(&it)) {
      uint32_t len;
      const char* s = bson_iter_utf8(&it, &len);
      op->op = len == 1 ? s[0] : '?';
    } else if (k == "ns" && BSON_ITER_HOLDS_UTF8(&it)) {
      op->ns = bson_iter_utf8(&it, nullptr);
    } else if (k == "ui" && BSON_ITER_HOLDS_BINARY(&it)) {
      bson_subtype_t st;
      uint32_t len;
      const uint8_t* data;
      bson_iter_binary(&it, &st, &len, &data);
      if (len == 16) op->uuid.assign(reinterpret_cast<const char*>(data), 16);
    } else if (k == "o" && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_init_static(&op->o, data, len);
      have_o = true;
    } else if (k == "o2" && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      op->o2 = Bson(data, len);
      op->has_o2 = true;
    } else if (k == "fromMigrate" && BSON_ITER_HOLDS_BOOL(&it)) {
      op->from_migrate = bson_iter_bool(&it);
    }
  }
  return have_o;
}

// The operations of one applyOps entry, appended to `ops` (their bytes stay in `rec`).
void inner_ops(const OplogRecord& rec, std::vector<Op>* ops) {
  bson_t o = rec.o.view();
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, &o, "applyOps") || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) return;
  while (bson_iter_next(&arr)) {
    Op op;
    if (BSON_ITER_HOLDS_DOCUMENT(&arr)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&arr, &len, &data);
      bson_t d;
      bson_init_static(&d, data, len);
      if (!parse_inner(&d, &op)) op.op = '?';
    }
    ops->push_back(std::move(op));
  }
}

}  // namespace

bool is_classic_operation_type(std::string_view t) {
  return t == "insert" || t == "update" || t == "replace" || t == "delete" || t == "drop" || t == "rename" ||
         t == "dropDatabase" || t == "invalidate";
}

bool invalidates_stream(const ChangeStreamSpec& s, std::string_view op_type) {
  if (s.scope == Scope::kCollection) return op_type == "drop" || op_type == "rename" || op_type == "dropDatabase";
  if (s.scope == Scope::kDatabase) return op_type == "dropDatabase";
  return false;
}

Result<PendingEvent> make_invalidate_event(const PendingEvent& cause) {
  PendingEvent ev;
  ev.token_data = cause.token_data;
  ev.token_data.from_invalidate = true;
  MS_ASSIGN_OR_RETURN(ev.token, encode_resume_token(ev.token_data));
  bson_t d = BSON_INITIALIZER;
  ev.token.append_to(&d, "_id");
  common::append_utf8(&d, "operationType", "invalidate");
  bson_append_timestamp(&d, "clusterTime", 11, ev.token_data.cluster_time.t, ev.token_data.cluster_time.i);
  // wallTime is copied from the causing event (absent before 6.0).
  bson_iter_t wt;
  if (bson_iter_init_find(&wt, cause.doc.get(), "wallTime")) bson_append_iter(&d, "wallTime", 8, &wt);
  ev.doc = Bson::steal(&d);
  ev.op_type = "invalidate";
  ev.invalidates = true;
  return ev;
}

Status transform_oplog_record(const ChangeStreamSpec& s, const OplogRecord& rec, const std::vector<OplogRecord>& chain,
                              std::deque<PendingEvent>* out) {
  bool from_migrate = false;
  if (rec.tail) {
    bson_iter_t it;
    bson_t tail = rec.tail.view();
    from_migrate = bson_iter_init_find(&it, &tail, "fromMigrate") && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
  }
  TxnContext tx;
  tx.ts = rec.ts;
  tx.wall_ms = rec.wall_ms;
  if (!rec.o) return Status::OK();
  bson_t o = rec.o.view();
  // A prepared transaction's commitTransaction entry: its operations are in the chain.
  const bool prepared_commit = rec.op == 'c' && has_field(&o, "commitTransaction") && !chain.empty();
  if (rec.op == 'c' && (has_field(&o, "applyOps") || prepared_commit)) {
    // A committed transaction or batched write: each operation is an event at the commit ts.
    if (iter_bool_true(&o, "partialTxn") || iter_bool_true(&o, "prepare")) return Status::OK();
    std::vector<Op> ops;
    for (const auto& part : chain) inner_ops(part, &ops);
    inner_ops(rec, &ops);
    bson_iter_t it;
    bson_t session;
    bson_init(&session);
    if (rec.session) bson_init_static(&session, rec.session.data(), rec.session.size());
    if (rec.session) {
      if (bson_iter_init_find(&it, &session, "txnNumber") && BSON_ITER_HOLDS_INT64(&it)) {
        tx.txn_number = bson_iter_int64(&it);
      }
    }
    Bson lsid = rec.session ? sub_document(&session, "lsid") : Bson();
    if (!lsid.empty()) tx.lsid = lsid.get();
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].op == '?') continue;
      tx.txn_op_index = i;
      MS_RETURN_IF_ERROR(transform_op(s, tx, ops[i], out));
    }
    return Status::OK();
  }
  Op op;
  op.op = rec.op;
  if (rec.ns) {
    op.ns = rec.ns->ns;
    op.uuid = rec.ns->uuid;
  }
  op.o = o;
  if (rec.o2_is_id) {
    op.o2 = id_key(&o);
    op.has_o2 = true;
  } else if (rec.o2) {
    op.o2 = rec.o2.bson();
    op.has_o2 = true;
  }
  op.from_migrate = from_migrate;
  op.pre_image = rec.pre_image;
  return transform_op(s, tx, op, out);
}

std::string document_to_string(const bson_t* doc) {
  std::string out = "{";
  bson_iter_t it;
  bool first = true;
  if (bson_iter_init(&it, doc)) {
    while (bson_iter_next(&it)) {
      if (!first) out += ", ";
      first = false;
      out += bson_iter_key(&it);
      out += ": ";
      switch (bson_iter_type(&it)) {
        case BSON_TYPE_UTF8:
          out += '"';
          out += bson_iter_utf8(&it, nullptr);
          out += '"';
          break;
        case BSON_TYPE_DOCUMENT: {
          uint32_t len;
          const uint8_t* data;
          bson_iter_document(&it, &len, &data);
          bson_t sub;
          bson_init_static(&sub, data, len);
          out += document_to_string(&sub);
          break;
        }
        case BSON_TYPE_TIMESTAMP: {
          uint32_t t, i;
          bson_iter_timestamp(&it, &t, &i);
          out += fmt::format("Timestamp({}, {})", t, i);
          break;
        }
        default:
          out += common::value_to_server_string(bson_iter_value(&it));
      }
    }
  }
  out += "}";
  return out;
}

}  // namespace sim::engine
