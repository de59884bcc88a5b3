// insert, update, delete, findAndModify (mongodb-reference.md §3.5, §3.6, §7.3, §8.5).
// Each statement either applies completely or reports a write error; ordered batches stop at
// the first error. Statements run under the collection's exclusive lock, so a statement is
// atomic for every reader, as single-document writes are on the server.
#include <openssl/sha.h>

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "mql/matcher.h"
#include "mql/sort.h"
#include "mql/update.h"
#include "sim/auth/auth.h"
#include "sim/engine/args.h"
#include "sim/engine/find_source.h"
#include "sim/engine/session.h"
#include "sim/engine/timeseries.h"
#include "sim/engine/write_path.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr uint32_t kMaxUserDocSize = 16 * 1024 * 1024;

}  // namespace

Status check_id_value(const bson_iter_t* id, mql::ServerVersion version) {
  bson_type_t t = bson_iter_type(id);
  if (t == BSON_TYPE_ARRAY || t == BSON_TYPE_REGEX || t == BSON_TYPE_UNDEFINED) {
    return Status(version >= 50 ? common::kInvalidIdField : common::kBadValue,
                  fmt::format("The '_id' value cannot be of type {}", common::type_alias(t)));
  }
  if (t == BSON_TYPE_DOCUMENT) {
    bson_iter_t sub;
    bson_iter_recurse(id, &sub);
    while (bson_iter_next(&sub)) {
      if (bson_iter_key(&sub)[0] == '$') {
        return Status(common::kDollarPrefixedFieldName,
                      fmt::format("_id fields may not contain '$'-prefixed fields: {} is not valid for storage.",
                                  bson_iter_key(&sub)));
      }
    }
  }
  return Status::OK();
}

Result<DocRef> prepare_for_insert(const bson_t* doc, mql::ServerVersion version) {
  if (doc->len > kMaxUserDocSize) {
    return Status(common::kBSONObjectTooLarge,
                  fmt::format("object to insert too large. size in bytes: {}, max size: {}", doc->len, kMaxUserDocSize));
  }
  bson_iter_t it;
  // The usual case on 5.0+: _id already first; nothing else is checked there.
  if (version >= 50 && bson_iter_init(&it, doc) && bson_iter_next(&it) && std::string_view(bson_iter_key(&it)) == "_id") {
    MS_RETURN_IF_ERROR(check_id_value(&it, version));
    return DocRef::copy(doc);
  }
  bool first = true, id_first = false, has_id = false;
  bson_iter_init(&it, doc);
  while (bson_iter_next(&it)) {
    std::string_view k(bson_iter_key(&it), bson_iter_key_len(&it));
    if (k == "_id") {
      if (has_id) continue;
      has_id = true;
      id_first = first;
      MS_RETURN_IF_ERROR(check_id_value(&it, version));
    } else if (version < 50 && !k.empty() && k[0] == '$') {
      return Status(common::kBadValue, fmt::format("Document can't have $ prefixed field names: {}", k));
    }
    first = false;
  }
  if (has_id && id_first) return DocRef::copy(doc);
  // _id first: the given one moved to the front, or a new ObjectId.
  bson_t out = BSON_INITIALIZER;
  bson_iter_t id;
  if (has_id && bson_iter_init_find(&id, doc, "_id")) {
    bson_append_iter(&out, "_id", 3, &id);
  } else {
    bson_oid_t oid;
    bson_oid_init(&oid, nullptr);
    bson_append_oid(&out, "_id", 3, &oid);
  }
  bson_iter_init(&it, doc);
  bool id_seen = false;
  while (bson_iter_next(&it)) {
    if (!id_seen && std::string_view(bson_iter_key(&it)) == "_id") {
      id_seen = true;
      continue;
    }
    bson_append_iter(&out, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)), &it);
  }
  DocRef d = DocRef::copy(&out);
  bson_destroy(&out);
  return d;
}

Status check_writable(EngineImpl& e, const std::string& db, const std::string& coll) {
  if (db == "local" && coll == "oplog.rs") {
    return Status(common::kIllegalOperation, "cannot write to local.oplog.rs: the oplog is written only by the server");
  }
  MS_RETURN_IF_ERROR(validate_collection_name(db, coll));
  if (e.catalog.find_view(db, coll)) {
    return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", db, coll));
  }
  if (is_system_collection(coll) && coll != "system.js" && coll != "system.profile" &&
      !(db == "admin" && (coll == "system.users" || coll == "system.roles" || coll == "system.version")) &&
      !(db == "config" || db == "local")) {
    return Status(common::kInvalidNamespace, fmt::format("cannot write to '{}.{}'", db, coll));
  }
  return Status::OK();
}

Bson session_id_with_uid(const CommandContext& c, const bson_t* lsid) {
  // The server completes a client's {id} with uid = SHA-256 of the authenticated user
  // (of "" without auth), as the oplog and config.transactions show it (§5.3).
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  if (bson_iter_init_find(&it, lsid, "id")) bson_append_iter(&out, "id", 2, &it);
  if (bson_iter_init_find(&it, lsid, "uid")) {
    bson_append_iter(&out, "uid", 3, &it);
  } else {
    std::string user = sim::auth::authenticated_user(c.client).value_or("");
    // Every command of a session carries its lsid: the digest of the last user is kept.
    thread_local std::string last_user;
    thread_local unsigned char digest[SHA256_DIGEST_LENGTH];
    thread_local bool have_digest = false;
    if (!have_digest || user != last_user) {
      SHA256(reinterpret_cast<const unsigned char*>(user.data()), user.size(), digest);
      last_user = user;
      have_digest = true;
    }
    bson_append_binary(&out, "uid", 3, BSON_SUBTYPE_BINARY, digest, SHA256_DIGEST_LENGTH);
  }
  return Bson::steal(&out);
}

WriteContext write_context(const CommandContext& c) {
  WriteContext wc;
  const bson_t* body = c.body();
  bson_iter_t it;
  if (bson_iter_init_find(&it, body, "lsid") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    bson_t l;
    bson_init_static(&l, data, len);
    wc.lsid = session_id_with_uid(c, &l);
  }
  if (bson_iter_init_find(&it, body, "txnNumber") && BSON_ITER_HOLDS_NUMBER(&it)) wc.txn_number = bson_iter_as_int64(&it);
  if (!wc.lsid.empty() && wc.txn_number >= 0) {
    // The session fields every oplog entry of this retryable write carries, built once.
    bson_t s = BSON_INITIALIZER;
    bson_append_document(&s, "lsid", 4, wc.lsid.get());
    bson_append_int64(&s, "txnNumber", 9, wc.txn_number);
    wc.session_fields = DocRef::copy(&s);
    bson_destroy(&s);
  }
  wc.bypass_validation = args::flag(body, "bypassDocumentValidation");
  return wc;
}

// Write concern (mongodb-reference.md §3.4): a one-member replica set satisfies w:1 and
// majority; more members or an unknown tag is a writeConcernError after the write.
Result<std::optional<Bson>> write_concern_error(const CommandContext& c, mql::ServerVersion version) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, c.body(), "writeConcern")) return std::optional<Bson>();
  if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
    return Status(common::kTypeMismatch, fmt::format("BSON field 'writeConcern' is the wrong type '{}', expected type 'object'",
                                                     common::type_alias(bson_iter_type(&it))));
  }
  bson_iter_t w;
  if (!bson_iter_recurse(&it, &w) || !bson_iter_find(&w, "w")) return std::optional<Bson>();
  int code = 0;
  std::string msg;
  if (BSON_ITER_HOLDS_NUMBER(&w)) {
    int64_t n = bson_iter_as_int64(&w);
    if (n < 0 || n > 50) return Status(common::kFailedToParse, "w has to be a non-negative number and not greater than 50");
    if (n > 1) {
      code = 100;
      msg = "Not enough data-bearing nodes";
    }
  } else if (BSON_ITER_HOLDS_UTF8(&w)) {
    std::string tag = bson_iter_utf8(&w, nullptr);
    if (tag != "majority") {
      code = 79;
      msg = fmt::format("No write concern mode named '{}' found in replica set configuration", tag);
    }
  } else if (!BSON_ITER_HOLDS_DOCUMENT(&w)) {
    return Status(common::kFailedToParse, "w has to be a number, string or object");
  }
  if (code == 0) return std::optional<Bson>();
  bson_t d = BSON_INITIALIZER;
  bson_append_int32(&d, "code", -1, code);
  common::append_utf8(&d, "codeName", code == 100 ? "UnsatisfiableWriteConcern" : "UnknownReplWriteConcern");
  common::append_utf8(&d, "errmsg", msg);
  (void)version;
  return std::optional<Bson>(Bson::steal(&d));
}

void WriteResult::append_error(int64_t index, const Status& st) {
  WriteError we;
  we.index = index;
  we.status = st;
  errors.push_back(std::move(we));
}

void WriteResult::append_to(bson_t* reply, bool is_update) const {
  bson_append_int32(reply, "n", -1, static_cast<int32_t>(n));
  if (is_update) {
    bson_append_int32(reply, "nModified", -1, static_cast<int32_t>(n_modified));
    if (!upserted.empty()) {
      bson_t arr, d;
      bson_append_array_begin(reply, "upserted", -1, &arr);
      char buf[16];
      uint32_t i = 0;
      for (const auto& [idx, id] : upserted) {
        auto k = common::array_key(i++, buf);
        bson_append_document_begin(&arr, k.data(), static_cast<int>(k.size()), &d);
        bson_append_int32(&d, "index", -1, static_cast<int32_t>(idx));
        bson_iter_t it;
        if (bson_iter_init_find(&it, id.get(), "_id")) bson_append_iter(&d, "_id", 3, &it);
        bson_append_document_end(&arr, &d);
      }
      bson_append_array_end(reply, &arr);
    }
  }
  if (!errors.empty()) {
    // Error messages that would overflow the reply are emptied, as the server does.
    size_t total = 0;
    for (const auto& we : errors) total += we.status.message().size();
    bool truncate = total > 1024 * 1024;
    bson_t arr, d;
    bson_append_array_begin(reply, "writeErrors", -1, &arr);
    char buf[16];
    uint32_t i = 0;
    for (const auto& we : errors) {
      auto k = common::array_key(i++, buf);
      bson_append_document_begin(&arr, k.data(), static_cast<int>(k.size()), &d);
      bson_append_int32(&d, "index", -1, static_cast<int32_t>(we.index));
      bson_append_int32(&d, "code", -1, we.status.code());
      common::append_utf8(&d, "errmsg", truncate ? "" : we.status.message());
      if (!we.status.extra_info().empty()) {
        bson_t extra;
        if (bson_init_static(&extra, reinterpret_cast<const uint8_t*>(we.status.extra_info().data()),
                             we.status.extra_info().size())) {
          bson_concat(&d, &extra);
        }
      }
      bson_append_document_end(&arr, &d);
    }
    bson_append_array_end(reply, &arr);
  }
}

Status finish_write_reply(const CommandContext& c, mql::ServerVersion version, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(auto wce, write_concern_error(c, version));
  if (wce) bson_append_document(reply, "writeConcernError", -1, wce->get());
  return Status::OK();
}

namespace {

// The retryable-write session of the running command (txnNumber without autocommit), or null.
Session* retryable_session() {
  OperationSession* op = current_operation();
  return op && op->retryable_write ? op->session : nullptr;
}

// Prepares `wc` for statement `i` of a retryable write: its stmtId and prevOpTime chain.
void retryable_statement(Session* s, WriteContext& wc, size_t i) {
  if (!s) return;
  wc.stmt_id = static_cast<int32_t>(i);
  wc.prev_optime = &s->last_write_optime;
}

// The IDL shape of one update or delete statement (write_ops.idl UpdateOpEntry/DeleteOpEntry).
// The server parses the whole command before running any statement, so an unknown or
// missing field, or a field of the wrong type, fails the command (40415, 40414, 14), never
// just the statement.
Status check_statement_shape(const bson_t* stmt, const char* cmd, const char* field, mql::ServerVersion version) {
  const bool update = std::string_view(field) == "updates";
  const std::string where = fmt::format("{}.{}", cmd, field);
  bool has_q = false, has_u = false, has_limit = false;
  bson_iter_t it;
  bson_iter_init(&it, stmt);
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    bson_type_t t = bson_iter_type(&it);
    auto want = [&](bool ok, std::string_view types) { return ok ? Status::OK() : args::wrong_type(where, k, &it, types); };
    Status st;
    if (k == "q") {
      has_q = true;
      st = want(t == BSON_TYPE_DOCUMENT, "object");
    } else if (k == "hint") {
      st = want(t == BSON_TYPE_UTF8 || t == BSON_TYPE_DOCUMENT, "[string, object]");
    } else if (k == "collation") {
      st = want(t == BSON_TYPE_DOCUMENT, "object");
    } else if (k == "sampleId") {
      // accepted (an internal UUID)
    } else if (update && k == "u") {
      has_u = true;
      if (t != BSON_TYPE_DOCUMENT && t != BSON_TYPE_ARRAY) {
        st = Status(common::kFailedToParse, "Update argument must be either an object or an array");
      }
    } else if (update && (k == "c" || (k == "sort" && version >= 80))) {
      st = want(t == BSON_TYPE_DOCUMENT, "object");
    } else if (update && k == "arrayFilters") {
      st = want(t == BSON_TYPE_ARRAY, "array");
    } else if (update && (k == "upsert" || k == "multi" || k == "upsertSupplied" ||
                          k == "$_allowShardKeyUpdatesWithoutFullShardKeyInQuery")) {
      // bools (safeBool accepts numbers too)
    } else if (!update && k == "limit") {
      has_limit = true;
      st = want(BSON_ITER_HOLDS_NUMBER(&it), "[long, int, decimal, double]");
    } else {
      st = Status(common::kUnrecognizedCommandField, fmt::format("BSON field '{}.{}' is an unknown field.", where, k));
    }
    MS_RETURN_IF_ERROR(st);
  }
  if (!has_q) return Status(40414, fmt::format("BSON field '{}.q' is missing but a required field", where));
  if (update && !has_u) return Status(40414, fmt::format("BSON field '{}.u' is missing but a required field", where));
  if (!update && !has_limit) return Status(40414, fmt::format("BSON field '{}.limit' is missing but a required field", where));
  return Status::OK();
}

// Statements of a write command: the array field, as its documents (update and delete
// statements checked for their shape).
Result<std::vector<common::BsonView>> statements(const bson_t* body, const char* cmd, const char* field,
                                                 mql::ServerVersion version) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, body, field)) {
    return Status(40414, fmt::format("BSON field '{}.{}' is missing but a required field", cmd, field));
  }
  if (!BSON_ITER_HOLDS_ARRAY(&it)) return args::wrong_type(cmd, field, &it, "array");
  std::vector<common::BsonView> out;
  bson_iter_t arr;
  bson_iter_recurse(&it, &arr);
  while (bson_iter_next(&arr)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) {
      return Status(common::kTypeMismatch, fmt::format("BSON field '{}.{}.{}' is the wrong type '{}', expected type 'object'",
                                                       cmd, field, bson_iter_key(&arr),
                                                       common::type_alias(bson_iter_type(&arr))));
    }
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&arr, &len, &data);
    out.emplace_back(data, len);
    if (std::string_view(field) != "documents") MS_RETURN_IF_ERROR(check_statement_shape(out.back().get(), cmd, field, version));
  }
  if (out.size() > 100000) {
    return Status(common::kInvalidLength, fmt::format("Write batch sizes must be between 1 and 100000. Got {} operations.",
                                                      out.size()));
  }
  if (out.empty()) {
    return Status(common::kInvalidLength, "Write batch sizes must be between 1 and 100000. Got 0 operations.");
  }
  return out;
}

Status cmd_insert(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(body, "insert",
                                 {{"documents", Type::kArray}, {"ordered", Type::kBool},
                                  {"bypassDocumentValidation", Type::kBool}, {"stmtId", Type::kInt32},
                                  {"stmtIds", Type::kArray}, {"collectionUUID", Type::kAny},
                                  {"encryptionInformation", Type::kAny}, {"isTimeseriesNamespace", Type::kBool}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "insert"));
  if (is_timeseries_view(e, c.req.db, name)) return timeseries_insert(e, c, name, reply);
  MS_RETURN_IF_ERROR(check_writable(e, c.req.db, name));
  MS_ASSIGN_OR_RETURN(auto docs, statements(body, "insert", "documents", e.version()));
  bool ordered = args::flag(body, "ordered", true);
  WriteContext wc = write_context(c);
  WriteResult res;
  e.server.opcounters.insert.fetch_add(static_cast<int64_t>(docs.size()) - 1);
  // Shape every document outside the lock; statements with bad documents fail alone.
  std::vector<Result<DocRef>> shaped;
  shaped.reserve(docs.size());
  for (const auto& d : docs) shaped.push_back(prepare_for_insert(d.get(), e.version()));
  MS_ASSIGN_OR_RETURN(auto coll, e.catalog.get_or_create(c.req.db, name));
  Session* retry = retryable_session();
  size_t i = 0;
  while (i < shaped.size()) {
    std::unique_lock lk(coll->mu);
    if (coll->dropped()) {
      lk.unlock();
      MS_ASSIGN_OR_RETURN(coll, e.catalog.get_or_create(c.req.db, name));
      continue;
    }
    // Up to 1000 statements per lock hold, so readers interleave with big batches.
    size_t end = std::min(shaped.size(), i + 1000);
    bool stop = false;
    for (; i < end; ++i) {
      if (!shaped[i].ok()) {
        res.append_error(static_cast<int64_t>(i), shaped[i].status());
        if (ordered) {
          stop = true;
          break;
        }
        continue;
      }
      if (retry && retry->executed.contains(static_cast<int32_t>(i))) {
        // A retried statement: done already, reported as done.
        ++res.n;
        continue;
      }
      retryable_statement(retry, wc, i);
      auto r = coll->insert(std::move(shaped[i]).value(), wc);
      if (r.ok()) {
        ++res.n;
        if (retry) retry->executed.record(static_cast<int32_t>(i), StmtResult{1, 0, {}, {}});
      } else {
        res.append_error(static_cast<int64_t>(i), r.status());
        if (ordered) {
          stop = true;
          break;
        }
      }
    }
    if (stop) break;
  }
  res.append_to(reply, false);
  return finish_write_reply(c, e.version(), reply);
}

}  // namespace

// One update statement against a locked collection (shared by update and findAndModify).
Status UpdateStatement::parse(EngineImpl& e, const CommandContext& c, const bson_t* stmt, const char* cmd,
                              const mql::CollatorPtr& default_collator) {
  bson_iter_t it;
  bson_iter_init(&it, stmt);
  bool has_q = false, has_u = false;
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "q") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type(std::string(cmd) + ".updates", "q", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      query = Bson(data, len);
      has_q = true;
    } else if (k == "u") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_ARRAY(&it)) {
        return Status(common::kFailedToParse, "Update argument must be either an object or an array");
      }
      u_iter = it;
      has_u = true;
    } else if (k == "upsert") {
      upsert = common::value_truthy(&it);
    } else if (k == "multi") {
      multi = common::value_truthy(&it);
    } else if (k == "arrayFilters") {
      if (!BSON_ITER_HOLDS_ARRAY(&it)) return args::wrong_type(std::string(cmd) + ".updates", "arrayFilters", &it, "array");
      uint32_t len;
      const uint8_t* data;
      bson_iter_array(&it, &len, &data);
      array_filters = Bson(data, len);
      has_array_filters = true;
    } else if (k == "hint") {
      if (!BSON_ITER_HOLDS_UTF8(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return args::wrong_type(std::string(cmd) + ".updates", "hint", &it, "[string, object]");
      }
      hint_iter = it;
      has_hint = true;
    } else if (k == "collation") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type(std::string(cmd) + ".updates", "collation", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      collation = Bson(data, len);
    } else if (k == "c") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type(std::string(cmd) + ".updates", "c", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      constants = Bson(data, len);
    } else if (k == "sort" && e.version() >= 80) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type(std::string(cmd) + ".updates", "sort", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      sort = Bson(data, len);
    } else if (k == "upsertSupplied" || k == "sampleId" || k == "$_allowShardKeyUpdatesWithoutFullShardKeyInQuery") {
      // internal fields accepted by the server
    } else {
      return Status(common::kUnrecognizedCommandField, fmt::format("BSON field '{}.updates.{}' is an unknown field.", cmd, k));
    }
  }
  if (!has_q) return Status(40414, fmt::format("BSON field '{}.updates.q' is missing but a required field", cmd));
  if (!has_u) return Status(40414, fmt::format("BSON field '{}.updates.u' is missing but a required field", cmd));
  // The statement's collation (or the command's, or the collection's), let and c.
  qctx = std::make_shared<QueryContext>();
  {
    MS_ASSIGN_OR_RETURN(qctx, e.query_context(c, default_collator.get(), default_collator));
    if (!collation.empty()) {
      MS_ASSIGN_OR_RETURN(qctx->ectx.collator, mql::Collator::make(collation.get()));
    }
    if (!constants.empty()) {
      bson_iter_t ci;
      bson_iter_init(&ci, constants.get());
      while (bson_iter_next(&ci)) qctx->ectx.let[bson_iter_key(&ci)] = mql::Value::from_iter(&ci);
    }
  }
  MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(query.get(), qctx->ectx));
  matcher = std::shared_ptr<const mql::Matcher>(std::move(m));
  MS_ASSIGN_OR_RETURN(update, mql::Update::parse(&u_iter, has_array_filters ? array_filters.get() : nullptr, qctx->ectx));
  if (multi && update->kind() == mql::Update::Kind::kReplacement) {
    return Status(common::kFailedToParse, "multi update is not supported for replacement-style update");
  }
  if (has_array_filters && update->kind() == mql::Update::Kind::kReplacement) {
    return Status(common::kFailedToParse, "Cannot specify arrayFilters and a replacement-style update");
  }
  return Status::OK();
}

UpdateInfo UpdateStatement::info() const {
  UpdateInfo how;
  switch (update->kind()) {
    case mql::Update::Kind::kReplacement: how.kind = UpdateInfo::Kind::kReplacement; break;
    case mql::Update::Kind::kModifier: how.kind = UpdateInfo::Kind::kModifier; break;
    case mql::Update::Kind::kPipeline: how.kind = UpdateInfo::Kind::kPipeline; break;
  }
  return how;
}

Result<std::vector<int64_t>> matching_records(const Collection& coll, const bson_t* query,
                                              const std::shared_ptr<const mql::Matcher>& matcher,
                                              const QueryContext& qctx, const bson_iter_t* hint, bool has_hint,
                                              const mql::SortPattern* sort, bool first_only) {
  PlanRequest pr;
  pr.filter = query;
  pr.collator = qctx.ectx.coll();
  pr.sort = sort;
  if (has_hint) pr.hint = bson_iter_value(const_cast<bson_iter_t*>(hint));
  MS_ASSIGN_OR_RETURN(Plan plan, plan_query(coll, pr));
  bool sorted_by_plan = plan.provides_sort;
  Scanner scanner(std::move(plan), matcher->matches_everything() ? nullptr : matcher);
  std::vector<std::pair<DocRef, int64_t>> found;
  DocRef d;
  int64_t rid;
  while (scanner.next(coll, &d, &rid)) {
    found.emplace_back(d, rid);
    if (first_only && (!sort || sorted_by_plan)) break;
  }
  if (sort && !sorted_by_plan && found.size() > 1) {
    const mql::Collator* c = qctx.ectx.coll();
    std::stable_sort(found.begin(), found.end(), [&](const auto& a, const auto& b) {
      bson_t va = a.first.view(), vb = b.first.view();
      return sort->compare(&va, &vb, c) < 0;
    });
  }
  std::vector<int64_t> out;
  for (const auto& [doc, r] : found) {
    out.push_back(r);
    if (first_only) break;
  }
  return out;
}

Result<bool> apply_update(Collection& coll, int64_t rid, const UpdateStatement& st, const WriteContext& wc, DocRef* pre,
                          DocRef* post) {
  const DocRef* cur = coll.find(rid);
  if (!cur) return false;
  *pre = *cur;
  bson_t view = cur->view();
  mql::MatchDetails details;
  st.matcher->matches(&view, &details);
  MS_ASSIGN_OR_RETURN(mql::UpdateOutcome out, st.update->apply(&view, &details, false));
  if (!out.modified) {
    *post = *cur;
    return false;
  }
  if (out.doc.size() > kMaxUserDocSize) {
    return Status(17419, fmt::format("Resulting document after update is larger than {}", kMaxUserDocSize));
  }
  DocRef next = DocRef::copy(out.doc.get());
  UpdateInfo how = st.info();
  how.update = nullptr;
  how.array_filters = st.has_array_filters ? st.array_filters.get() : nullptr;
  how.positional_match = details.elem_match_key;
  bson_t u;
  uint32_t len;
  const uint8_t* data;
  if (BSON_ITER_HOLDS_DOCUMENT(&st.u_iter)) {
    bson_iter_document(&st.u_iter, &len, &data);
    bson_init_static(&u, data, len);
    how.update = &u;
  } else if (BSON_ITER_HOLDS_ARRAY(&st.u_iter)) {
    bson_iter_array(&st.u_iter, &len, &data);
    bson_init_static(&u, data, len);
    how.update = &u;
  }
  MS_RETURN_IF_ERROR(coll.update(rid, next, how, wc));
  *post = next;
  return true;
}

Result<Bson> upsert_document(const UpdateStatement& st, mql::ServerVersion version) {
  MS_ASSIGN_OR_RETURN(Bson doc, mql::build_upsert_document(st.query.get(), *st.update));
  bson_iter_t id;
  if (bson_iter_init_find(&id, doc.get(), "_id")) MS_RETURN_IF_ERROR(check_id_value(&id, version));
  return doc;
}

namespace {

Status cmd_update(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::reject_let_before_50(e.version(), body, "update", args::LetParser::kIdl));
  MS_RETURN_IF_ERROR(args::check(body, "update",
                                 {{"updates", Type::kArray}, {"ordered", Type::kBool},
                                  {"bypassDocumentValidation", Type::kBool}, {"let", Type::kObject},
                                  {"stmtId", Type::kInt32}, {"stmtIds", Type::kArray}, {"collectionUUID", Type::kAny},
                                  {"encryptionInformation", Type::kAny}, {"isTimeseriesNamespace", Type::kBool}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "update"));
  MS_RETURN_IF_ERROR(check_writable(e, c.req.db, name));
  MS_ASSIGN_OR_RETURN(auto stmts, statements(body, "update", "updates", e.version()));
  bool ordered = args::flag(body, "ordered", true);
  WriteContext wc = write_context(c);
  WriteResult res;
  e.server.opcounters.update.fetch_add(static_cast<int64_t>(stmts.size()) - 1);
  Session* retry = retryable_session();
  for (size_t i = 0; i < stmts.size(); ++i) {
    if (retry) {
      if (const StmtResult* done = retry->executed.find(static_cast<int32_t>(i))) {
        res.n += done->n;
        res.n_modified += done->n_modified;
        if (done->upserted_id) res.upserted.emplace_back(static_cast<int64_t>(i), done->upserted_id.bson());
        continue;
      }
      retryable_statement(retry, wc, i);
    }
    int64_t n_before = res.n, modified_before = res.n_modified;
    size_t upserted_before = res.upserted.size();
    auto existing = e.catalog.find(c.req.db, name);
    UpdateStatement st;
    Status ps = st.parse(e, c, stmts[i].get(), "update", existing ? existing->options().collator : nullptr);
    Status s = ps;
    if (ps.ok()) {
      s = [&]() -> Status {
        std::optional<mql::SortPattern> sort;
        if (!st.sort.empty()) {
          MS_ASSIGN_OR_RETURN(auto sp, mql::SortPattern::parse(st.sort.get()));
          sort = std::move(sp);
        }
        std::shared_ptr<Collection> coll = existing;
        if (!coll && st.upsert) {
          MS_ASSIGN_OR_RETURN(coll, e.catalog.get_or_create(c.req.db, name));
        }
        if (!coll) return Status::OK();
        std::unique_lock lk(coll->mu);
        MS_ASSIGN_OR_RETURN(auto rids, matching_records(*coll, st.query.get(), st.matcher, *st.qctx, &st.hint_iter,
                                                        st.has_hint, sort ? &*sort : nullptr, !st.multi));
        if (rids.empty()) {
          if (!st.upsert) return Status::OK();
          MS_ASSIGN_OR_RETURN(Bson doc, upsert_document(st, e.version()));
          MS_ASSIGN_OR_RETURN(DocRef ref, prepare_for_insert(doc.get(), e.version()));
          MS_RETURN_IF_ERROR(coll->insert(ref, wc).status());
          bson_t idd = BSON_INITIALIZER;
          bson_iter_t id;
          bson_t v = ref.view();
          if (bson_iter_init_find(&id, &v, "_id")) bson_append_iter(&idd, "_id", 3, &id);
          res.upserted.emplace_back(static_cast<int64_t>(i), Bson::steal(&idd));
          ++res.n;
          return Status::OK();
        }
        for (int64_t rid : rids) {
          DocRef pre, post;
          MS_ASSIGN_OR_RETURN(bool changed, apply_update(*coll, rid, st, wc, &pre, &post));
          ++res.n;
          if (changed) ++res.n_modified;
        }
        return Status::OK();
      }();
    }
    if (!s.ok()) {
      // A bad statement (parse error) fails the statement, as the server reports it.
      res.append_error(static_cast<int64_t>(i), s);
      if (ordered) break;
    } else if (retry) {
      StmtResult sr;
      sr.n = static_cast<int32_t>(res.n - n_before);
      sr.n_modified = static_cast<int32_t>(res.n_modified - modified_before);
      if (res.upserted.size() > upserted_before) sr.upserted_id = DocRef::copy(res.upserted.back().second.get());
      retry->executed.record(static_cast<int32_t>(i), std::move(sr));
    }
  }
  res.append_to(reply, true);
  return finish_write_reply(c, e.version(), reply);
}


// 6.1+ (BatchedDeleteStage): a multi-document delete outside a transaction logs its deletes as
// applyOps entries without session fields, batchedDeletesTargetBatchDocs (100) per entry.
constexpr size_t kBatchedDeleteDocs = 100;

bool batches_multi_deletes(EngineImpl& e, size_t matched) {
  if (e.version() < 61 || matched < 2 || !e.oplog_writer || !e.oplog_writer->store() || current_op_buffer()) return false;
  const OperationSession* op = current_operation();
  return !(op && (op->txn || op->retryable_write));
}

int64_t remove_batched(EngineImpl& e, Collection& coll, const std::vector<int64_t>& rids, const WriteContext& wc) {
  int64_t n = 0;
  for (size_t from = 0; from < rids.size(); from += kBatchedDeleteDocs) {
    OpBuffer batch;
    {
      ScopedOpBuffer into(&batch);
      for (size_t k = from; k < std::min(rids.size(), from + kBatchedDeleteDocs); ++k) {
        coll.remove(rids[k], wc);
        ++n;
      }
    }
    e.oplog_writer->log_apply_ops(batch, common::Bson(), -1);
  }
  return n;
}

Status cmd_delete(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::reject_let_before_50(e.version(), body, "delete", args::LetParser::kIdl));
  MS_RETURN_IF_ERROR(args::check(body, "delete",
                                 {{"deletes", Type::kArray}, {"ordered", Type::kBool}, {"let", Type::kObject},
                                  {"bypassDocumentValidation", Type::kBool}, {"stmtId", Type::kInt32},
                                  {"stmtIds", Type::kArray}, {"collectionUUID", Type::kAny},
                                  {"encryptionInformation", Type::kAny}, {"isTimeseriesNamespace", Type::kBool}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "delete"));
  MS_RETURN_IF_ERROR(check_writable(e, c.req.db, name));
  MS_ASSIGN_OR_RETURN(auto stmts, statements(body, "delete", "deletes", e.version()));
  bool ordered = args::flag(body, "ordered", true);
  WriteContext wc = write_context(c);
  WriteResult res;
  e.server.opcounters.del.fetch_add(static_cast<int64_t>(stmts.size()) - 1);
  Session* retry = retryable_session();
  for (size_t i = 0; i < stmts.size(); ++i) {
    if (retry) {
      if (const StmtResult* done = retry->executed.find(static_cast<int32_t>(i))) {
        res.n += done->n;
        continue;
      }
      retryable_statement(retry, wc, i);
    }
    int64_t n_before = res.n;
    Status s = [&]() -> Status {
      const bson_t* stmt = stmts[i].get();
      Bson q, collation;
      bson_iter_t hint;
      bool has_hint = false, has_q = false, has_limit = false;
      int64_t limit = 0;
      bson_iter_t it;
      bson_iter_init(&it, stmt);
      while (bson_iter_next(&it)) {
        std::string_view k = bson_iter_key(&it);
        if (k == "q") {
          if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("delete.deletes", "q", &it, "object");
          uint32_t len;
          const uint8_t* data;
          bson_iter_document(&it, &len, &data);
          q = Bson(data, len);
          has_q = true;
        } else if (k == "limit") {
          if (!BSON_ITER_HOLDS_NUMBER(&it)) return args::wrong_type("delete.deletes", "limit", &it, "[long, int, decimal, double]");
          limit = bson_iter_as_int64(&it);
          has_limit = true;
        } else if (k == "hint") {
          if (!BSON_ITER_HOLDS_UTF8(&it) && !BSON_ITER_HOLDS_DOCUMENT(&it)) {
            return args::wrong_type("delete.deletes", "hint", &it, "[string, object]");
          }
          hint = it;
          has_hint = true;
        } else if (k == "collation") {
          if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("delete.deletes", "collation", &it, "object");
          uint32_t len;
          const uint8_t* data;
          bson_iter_document(&it, &len, &data);
          collation = Bson(data, len);
        } else if (k != "sampleId") {
          return Status(common::kUnrecognizedCommandField, fmt::format("BSON field 'delete.deletes.{}' is an unknown field.", k));
        }
      }
      if (!has_q) return Status(40414, "BSON field 'delete.deletes.q' is missing but a required field");
      if (!has_limit) return Status(40414, "BSON field 'delete.deletes.limit' is missing but a required field");
      if (limit != 0 && limit != 1) {
        return Status(common::kFailedToParse, fmt::format("The limit field in delete objects must be 0 or 1. Got {}", limit));
      }
      auto coll = e.catalog.find(c.req.db, name);
      auto dflt = coll ? coll->options().collator : nullptr;
      MS_ASSIGN_OR_RETURN(auto qctx, e.query_context(c, dflt.get(), dflt));
      if (!collation.empty()) {
        MS_ASSIGN_OR_RETURN(qctx->ectx.collator, mql::Collator::make(collation.get()));
      }
      MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(q.get(), qctx->ectx));
      std::shared_ptr<const mql::Matcher> matcher(std::move(m));
      if (!coll) return Status::OK();
      std::unique_lock lk(coll->mu);
      if (coll->options().capped && e.version() < 50) {
        return Status(common::kIllegalOperation, fmt::format("cannot remove from a capped collection: {}", coll->ns()));
      }
      MS_ASSIGN_OR_RETURN(auto rids, matching_records(*coll, q.get(), matcher, *qctx, &hint, has_hint, nullptr, limit == 1));
      if (batches_multi_deletes(e, rids.size())) {
        res.n += remove_batched(e, *coll, rids, wc);
        return Status::OK();
      }
      for (int64_t rid : rids) {
        coll->remove(rid, wc);
        ++res.n;
      }
      return Status::OK();
    }();
    if (!s.ok()) {
      res.append_error(static_cast<int64_t>(i), s);
      if (ordered) break;
    } else if (retry) {
      retry->executed.record(static_cast<int32_t>(i), StmtResult{static_cast<int32_t>(res.n - n_before), 0, {}, {}});
    }
  }
  res.append_to(reply, false);
  return finish_write_reply(c, e.version(), reply);
}

Status cmd_find_and_modify(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::reject_let_before_50(e.version(), body, "findAndModify", args::LetParser::kFindAndModify));
  MS_RETURN_IF_ERROR(args::check(
      body, "findAndModify",
      {{"query", Type::kObjectOrNull}, {"sort", Type::kObjectOrNull}, {"remove", Type::kBool}, {"update", Type::kAny},
       {"new", Type::kBool}, {"fields", Type::kObjectOrNull}, {"upsert", Type::kBool}, {"arrayFilters", Type::kArray},
       {"hint", Type::kHint}, {"collation", Type::kObjectOrNull}, {"bypassDocumentValidation", Type::kBool},
       {"let", Type::kObject}, {"stmtId", Type::kInt32}, {"collectionUUID", Type::kAny},
       {"encryptionInformation", Type::kAny}, {"isTimeseriesNamespace", Type::kBool}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "findAndModify"));
  MS_RETURN_IF_ERROR(check_writable(e, c.req.db, name));
  bool remove = args::flag(body, "remove");
  bson_iter_t upd;
  bool has_update = common::find_field(body, "update", &upd);
  bool return_new = args::flag(body, "new");
  bool upsert = args::flag(body, "upsert");
  bson_iter_t tmp;
  bool has_array_filters = common::find_field(body, "arrayFilters", &tmp);
  if (remove && has_update) return Status(common::kFailedToParse, "Cannot specify both an update and remove=true");
  if (!remove && !has_update) return Status(common::kFailedToParse, "Either an update or remove=true must be specified");
  if (remove && return_new) {
    return Status(common::kFailedToParse, "Cannot specify both new=true and remove=true; 'remove' always returns the deleted "
                                          "document");
  }
  if (remove && upsert) return Status(common::kFailedToParse, "Cannot specify both upsert=true and remove=true ");
  if (remove && has_array_filters) return Status(common::kFailedToParse, "Cannot specify arrayFilters and remove=true");
  if (has_update && !BSON_ITER_HOLDS_DOCUMENT(&upd) && !BSON_ITER_HOLDS_ARRAY(&upd)) {
    return Status(common::kFailedToParse, "Update argument must be either an object or an array");
  }
  Bson query;
  if (auto q = args::object(body, "query")) query = Bson(q->get());
  std::optional<mql::SortPattern> sort;
  if (auto s = args::object(body, "sort")) {
    MS_ASSIGN_OR_RETURN(auto sp, mql::SortPattern::parse(s->get()));
    if (!sp.empty()) sort = std::move(sp);
  }
  auto existing = e.catalog.find(c.req.db, name);
  auto dflt = existing ? existing->options().collator : nullptr;
  // Build an update statement from the command's fields.
  bson_t stmt = BSON_INITIALIZER;
  bson_append_document(&stmt, "q", 1, query.get());
  if (has_update) bson_append_iter(&stmt, "u", 1, &upd);
  else bson_append_document(&stmt, "u", 1, query.get());  // unused for remove
  if (upsert) bson_append_bool(&stmt, "upsert", -1, true);
  if (has_array_filters) bson_append_iter(&stmt, "arrayFilters", -1, &tmp);
  bson_iter_t h;
  if (common::find_field(body, "hint", &h)) bson_append_iter(&stmt, "hint", -1, &h);
  if (auto co = args::object(body, "collation")) bson_append_document(&stmt, "collation", -1, co->get());
  Bson stmt_doc = Bson::steal(&stmt);
  UpdateStatement st;
  if (has_update) {
    MS_RETURN_IF_ERROR(st.parse(e, c, stmt_doc.get(), "findAndModify", dflt));
  } else {
    st.query = query;
    MS_ASSIGN_OR_RETURN(st.qctx, e.query_context(c, dflt.get(), dflt));
    MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(query.get(), st.qctx->ectx));
    st.matcher = std::shared_ptr<const mql::Matcher>(std::move(m));
    if (common::find_field(stmt_doc.get(), "hint", &st.hint_iter)) st.has_hint = true;
  }
  std::shared_ptr<const mql::Projection> fields;
  if (auto f = args::object(body, "fields")) {
    if (!bson_empty(f->get())) {
      MS_ASSIGN_OR_RETURN(auto p, mql::Projection::parse(f->get(), query.get(), st.qctx->ectx));
      fields = std::shared_ptr<const mql::Projection>(std::move(p));
    }
  }
  WriteContext wc = write_context(c);
  Session* retry = retryable_session();
  if (retry) {
    if (const StmtResult* done = retry->executed.find(0)) {
      if (done->reply) {
        bson_t saved = done->reply.view();
        bson_concat(reply, &saved);
      }
      return finish_write_reply(c, e.version(), reply);
    }
    retryable_statement(retry, wc, 0);
  }
  std::shared_ptr<Collection> coll = existing;
  if (!coll && upsert) {
    MS_ASSIGN_OR_RETURN(coll, e.catalog.get_or_create(c.req.db, name));
  }
  bson_t leo;
  std::optional<Bson> value;
  int n = 0;
  bool updated_existing = false;
  std::optional<Bson> upserted_id;
  if (coll) {
    std::unique_lock lk(coll->mu);
    MS_ASSIGN_OR_RETURN(auto rids, matching_records(*coll, query.get(), st.matcher, *st.qctx, &st.hint_iter, st.has_hint,
                                                    sort ? &*sort : nullptr, true));
    if (!rids.empty()) {
      n = 1;
      if (remove) {
        const DocRef* d = coll->find(rids[0]);
        value = Bson(d->data(), d->size());
        coll->remove(rids[0], wc);
      } else {
        DocRef pre, post;
        MS_ASSIGN_OR_RETURN(bool changed, apply_update(*coll, rids[0], st, wc, &pre, &post));
        (void)changed;
        updated_existing = true;
        const DocRef& shown = return_new ? post : pre;
        value = Bson(shown.data(), shown.size());
      }
    } else if (upsert) {
      MS_ASSIGN_OR_RETURN(Bson doc, upsert_document(st, e.version()));
      MS_ASSIGN_OR_RETURN(DocRef ref, prepare_for_insert(doc.get(), e.version()));
      MS_RETURN_IF_ERROR(coll->insert(ref, wc).status());
      n = 1;
      bson_t v = ref.view();
      bson_t idd = BSON_INITIALIZER;
      bson_iter_t id;
      if (bson_iter_init_find(&id, &v, "_id")) bson_append_iter(&idd, "_id", 3, &id);
      upserted_id = Bson::steal(&idd);
      if (return_new) value = Bson(ref.data(), ref.size());
    }
  }
  if (value && fields) {
    mql::MatchDetails det;
    st.matcher->matches(value->get(), &det);
    MS_ASSIGN_OR_RETURN(Bson projected, fields->apply(value->get(), &det));
    value = std::move(projected);
  }
  bson_append_document_begin(reply, "lastErrorObject", -1, &leo);
  bson_append_int32(&leo, "n", -1, n);
  if (!remove) {
    bson_append_bool(&leo, "updatedExisting", -1, updated_existing);
    if (upserted_id) {
      bson_iter_t id;
      bson_iter_init_find(&id, upserted_id->get(), "_id");
      bson_append_iter(&leo, "upserted", -1, &id);
    }
  }
  bson_append_document_end(reply, &leo);
  if (value) {
    bson_append_document(reply, "value", -1, value->get());
  } else {
    bson_append_null(reply, "value", -1);
  }
  if (retry) retry->executed.record(0, StmtResult{n, 0, {}, DocRef::copy(reply)});
  return finish_write_reply(c, e.version(), reply);
}

}  // namespace

void register_write_commands(EngineImpl& e, CommandRegistry& r) {
  EngineImpl* ep = &e;
  r.add(engine_command("insert", [ep](CommandContext& c, bson_t* reply) { return cmd_insert(*ep, c, reply); }, true,
                       "insert documents"));
  r.add(engine_command("update", [ep](CommandContext& c, bson_t* reply) { return cmd_update(*ep, c, reply); }, true,
                       "update documents"));
  r.add(engine_command("delete", [ep](CommandContext& c, bson_t* reply) { return cmd_delete(*ep, c, reply); }, true,
                       "delete documents"));
  r.add(engine_command("findAndModify",
                       [ep](CommandContext& c, bson_t* reply) { return cmd_find_and_modify(*ep, c, reply); }, true,
                       "{ findAndModify: \"collection\", query: {processed:false}, update: {$set: {processed:true}}, "
                       "new: true}",
                       {"findandmodify"}));
}

}  // namespace sim::engine
