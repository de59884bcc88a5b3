#include "copy/writer.h"

#include <set>

namespace copy {

namespace {

// The indexes of writeErrors that are duplicate keys; false when another error is present.
bool duplicate_indexes(const bson_t* reply, std::set<int64_t>* out) {
  bson_iter_t it, errs;
  if (!common::find_field(reply, "writeConcernErrors", &it)) {
    // absent: fine
  } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_array(&it, &len, &data);
    if (len > 5) return false;  // a non-empty array
  }
  if (!common::find_field(reply, "writeErrors", &it) || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &errs)) {
    return false;
  }
  bool any = false;
  while (bson_iter_next(&errs)) {
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    if (!BSON_ITER_HOLDS_DOCUMENT(&errs)) return false;
    bson_iter_document(&errs, &len, &data);
    common::BsonView e(data, len);
    auto code = common::get_int(e.get(), "code", 0);
    auto index = common::get_int(e.get(), "index", -1);
    if (!code.ok() || !index.ok() || *code != common::kDuplicateKey || *index < 0) return false;
    out->insert(*index);
    any = true;
  }
  return any;
}

// Counts documents [from, end) as inserted or duplicate (reply indexes count from `from`;
// an ordered insert stopped at its first error) and returns where to continue.
size_t account(const Batch& batch, size_t from, size_t end, const std::set<int64_t>& dups, bool ordered,
               WriteOutcome& out) {
  if (ordered && !dups.empty()) end = from + static_cast<size_t>(*dups.begin()) + 1;
  for (size_t i = from; i < end; ++i) {
    if (dups.count(static_cast<int64_t>(i - from))) {
      if (out.duplicates++ == 0) {
        bson_iter_t id;
        common::BsonView d = batch.doc(i);
        if (common::find_field(d.get(), "_id", &id)) out.first_duplicate = common::value_to_json(bson_iter_value(&id));
      }
      continue;
    }
    out.inserted++;
    out.inserted_bytes += batch.doc(i).size();
  }
  return end;
}

// The insert command itself, for documents without _id (time-series measurements), which a
// bulk operation would give one: documents [from, ...) up to one command's size.
common::Result<size_t> insert_command_from(client::Connection& c, const std::string& db, const std::string& coll,
                                           const Batch& batch, size_t from, bool ordered, WriteOutcome& out) {
  constexpr size_t kMaxCommandBytes = 16 * 1024 * 1024 - 16 * 1024;
  bson_t cmd = BSON_INITIALIZER, arr;
  common::append_utf8(&cmd, "insert", coll);
  BSON_APPEND_BOOL(&cmd, "ordered", ordered);
  BSON_APPEND_BOOL(&cmd, "bypassDocumentValidation", true);
  BSON_APPEND_ARRAY_BEGIN(&cmd, "documents", &arr);
  size_t end = from, bytes = 0;
  char key[16];
  while (end < batch.count() && (end == from || bytes + batch.doc(end).size() <= kMaxCommandBytes)) {
    common::BsonView d = batch.doc(end);
    bytes += d.size();
    common::append_doc(&arr, common::array_key(static_cast<uint32_t>(end - from), key), d.get());
    end++;
  }
  bson_append_array_end(&cmd, &arr);
  auto reply = c.run(db, &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status().with_context("inserting into " + db + "." + coll);
  std::set<int64_t> dups;
  bson_iter_t it;
  if (common::find_field(reply->get(), "writeErrors", &it) && !duplicate_indexes(reply->get(), &dups)) {
    return common::Status(common::kOperationFailed, "inserting into " + db + "." + coll + ": " + reply->json());
  }
  return account(batch, from, end, dups, ordered, out);
}

bool all_have_id(const Batch& batch) {
  for (size_t i = 0; i < batch.count(); ++i) {
    bson_iter_t it;
    common::BsonView d = batch.doc(i);
    if (!common::find_field(d.get(), "_id", &it)) return false;
  }
  return true;
}

// Inserts documents [from, count) of the batch. Returns the index to continue from: count
// when done, or the document after a duplicate that stopped an ordered insert.
common::Result<size_t> insert_from(mongoc_collection_t* col, const std::string& ns, const Batch& batch, size_t from,
                                   bool ordered, WriteOutcome& out) {
  bson_t opts = BSON_INITIALIZER;
  BSON_APPEND_BOOL(&opts, "ordered", ordered);
  mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(col, &opts);
  bson_destroy(&opts);
  mongoc_bulk_operation_set_bypass_document_validation(bulk, true);
  bson_error_t err;
  for (size_t i = from; i < batch.count(); ++i) {
    common::BsonView d = batch.doc(i);
    if (!mongoc_bulk_operation_insert_with_opts(bulk, d.get(), nullptr, &err)) {
      mongoc_bulk_operation_destroy(bulk);
      return common::Status(common::kBadValue, "cannot insert a document into " + ns + ": " + err.message);
    }
  }
  bson_t reply;
  bool ok = mongoc_bulk_operation_execute(bulk, &reply, &err) != 0;
  mongoc_bulk_operation_destroy(bulk);
  std::set<int64_t> dups;
  common::Result<size_t> next = batch.count();
  if (!ok && !duplicate_indexes(&reply, &dups)) {
    next = client::status_from_error(err, &reply)
               .with_context("inserting " + std::to_string(batch.count() - from) + " documents into " + ns);
  } else {
    next = account(batch, from, batch.count(), dups, ordered, out);
  }
  bson_destroy(&reply);
  return next;
}

}  // namespace

common::Result<WriteOutcome> write_batch(client::Connection& c, const std::string& db, const std::string& coll,
                                         const Batch& batch, bool ordered) {
  WriteOutcome out;
  mongoc_collection_t* col = mongoc_client_get_collection(c.raw(), db.c_str(), coll.c_str());
  std::string ns = db + "." + coll;
  common::Status st;
  bool bulk = all_have_id(batch);
  for (size_t from = 0; from < batch.count();) {
    auto next = bulk ? insert_from(col, ns, batch, from, ordered, out)
                     : insert_command_from(c, db, coll, batch, from, ordered, out);
    if (!next.ok()) {
      st = next.status();
      break;
    }
    from = *next;
  }
  mongoc_collection_destroy(col);
  if (!st.ok()) return st;
  return out;
}

}  // namespace copy
