#include "apply/bulk.h"

#include <mongoc/mongoc.h>

#include <fmt/format.h>

#include <map>
#include <unordered_map>

#include "client/client.h"

namespace apply {

namespace {

bool delete_class(const ApplyOp& op) { return op.kind == ApplyOp::Kind::kDelete; }

// Round of each operation: a document's operations stay in order; an operation may join the
// round of the previous one on its document when both are of the same kind (one bulk).
std::vector<int> rounds(const std::vector<ApplyOp>& ops) {
  struct Last {
    int round = -1;
    bool del = false;
  };
  std::unordered_map<std::string, Last> last;
  std::vector<int> out(ops.size());
  for (size_t k = 0; k < ops.size(); ++k) {
    const ApplyOp& op = ops[k];
    std::string ns = op.db + "." + op.coll;
    std::string key = op.ordered ? ns : ns + '\0' + std::string(op.key.bytes());
    auto& l = last[key];
    int r = l.round < 0 ? 0 : l.round + (l.del != delete_class(op) ? 1 : 0);
    l = {r, delete_class(op)};
    out[k] = r;
  }
  return out;
}

int64_t reply_int(const bson_t* reply, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, reply, key) ? bson_iter_as_int64(&it) : 0;
}

// Runs one bulk of same-class operations on one namespace.
common::Result<BulkOutcome> run_bulk(mongoc_client_t* client, const std::string& db, const std::string& coll,
                                     const std::vector<const ApplyOp*>& ops, bool deletes,
                                     const std::function<bool(const ApplyOp&)>& tolerant) {
  BulkOutcome outcome;
  mongoc_collection_t* c = mongoc_client_get_collection(client, db.c_str(), coll.c_str());
  bson_t opts = BSON_INITIALIZER;
  bson_append_bool(&opts, "ordered", 7, false);
  mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(c, &opts);
  bson_destroy(&opts);
  bson_t upsert_opts = BSON_INITIALIZER, update_opts = BSON_INITIALIZER;
  bson_append_bool(&upsert_opts, "upsert", 6, true);
  bson_append_bool(&upsert_opts, "validate", 8, false);
  bson_append_bool(&update_opts, "validate", 8, false);
  std::vector<const ApplyOp*> index;  // statement index → operation
  bson_error_t error;
  bool any_tolerant = false;
  int64_t strict_updates = 0, upserts = 0;
  common::Status build_error;
  for (const ApplyOp* op : ops) {
    bool tol = tolerant(*op);
    any_tolerant = any_tolerant || tol;
    bool ok = true;
    if (deletes) {
      ok = mongoc_bulk_operation_remove_one_with_opts(bulk, op->key.get(), nullptr, &error);
      index.push_back(op);
    } else if (op->kind == ApplyOp::Kind::kUpsert) {
      ok = mongoc_bulk_operation_replace_one_with_opts(bulk, op->key.get(), op->doc.get(), &upsert_opts, &error);
      index.push_back(op);
      ++upserts;
    } else {
      for (const auto& u : op->updates) {
        ok = ok && mongoc_bulk_operation_update_one_with_opts(bulk, op->key.get(), u.get(), &update_opts, &error);
        index.push_back(op);
        ++strict_updates;
      }
    }
    if (!ok) {
      build_error = common::Status(common::kBadValue, fmt::format("cannot build the write of {} in {}.{}: {}",
                                                                  op->key.json(), db, coll, error.message));
      break;
    }
  }
  bson_destroy(&upsert_opts);
  bson_destroy(&update_opts);
  if (!build_error.ok()) {
    mongoc_bulk_operation_destroy(bulk);
    mongoc_collection_destroy(c);
    return build_error;
  }
  bson_t reply;
  uint32_t server = mongoc_bulk_operation_execute(bulk, &reply, &error);
  mongoc_bulk_operation_destroy(bulk);
  mongoc_collection_destroy(c);
  outcome.statements = static_cast<int64_t>(index.size());

  common::Status result;
  bson_iter_t it, we;
  bool has_write_errors = bson_iter_init_find(&it, &reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
                          bson_iter_recurse(&it, &we) && bson_iter_next(&we);
  bool transport = error.domain == MONGOC_ERROR_STREAM || error.domain == MONGOC_ERROR_SERVER_SELECTION ||
                   error.domain == MONGOC_ERROR_CLIENT;
  if (server == 0 && (!has_write_errors || transport)) {
    result = client::status_from_error(error, &reply);
  } else if (has_write_errors) {
    bson_iter_recurse(&it, &we);
    while (bson_iter_next(&we)) {
      bson_iter_t f;
      if (!BSON_ITER_HOLDS_DOCUMENT(&we) || !bson_iter_recurse(&we, &f)) continue;
      int64_t idx = -1, code = 0;
      std::string msg;
      while (bson_iter_next(&f)) {
        std::string k = bson_iter_key(&f);
        if (k == "index") idx = bson_iter_as_int64(&f);
        else if (k == "code") code = bson_iter_as_int64(&f);
        else if (k == "errmsg" && BSON_ITER_HOLDS_UTF8(&f)) msg = bson_iter_utf8(&f, nullptr);
      }
      const ApplyOp* op = idx >= 0 && static_cast<size_t>(idx) < index.size() ? index[static_cast<size_t>(idx)] : nullptr;
      if (op && tolerant(*op)) {
        ++outcome.tolerated_errors;
        continue;
      }
      result = common::Status(static_cast<int>(code), fmt::format("writing {} to {}.{}: {}",
                                                                  op ? op->key.json() : "?", db, coll, msg));
      break;
    }
  }
  if (result.ok() && !any_tolerant) {
    // Strict: every update and delete must have found its document.
    int64_t matched = reply_int(&reply, "nMatched"), upserted = reply_int(&reply, "nUpserted");
    int64_t removed = reply_int(&reply, "nRemoved");
    int64_t expected = deletes ? static_cast<int64_t>(ops.size()) : strict_updates + upserts;
    int64_t got = deletes ? removed : matched + upserted;
    if (got < expected) {
      result = common::Status(common::kOperationFailed,
                              fmt::format("the destination diverged from the source: {} of {} {} on {}.{} found no "
                                          "document (after the consistency point T1); verify and repair the "
                                          "collection, or restart the task",
                                          expected - got, expected, deletes ? "deletes" : "updates", db, coll));
    }
  }
  bson_destroy(&reply);
  if (!result.ok()) return result;
  return outcome;
}

}  // namespace

common::Result<BulkOutcome> write_batch(mongoc_client_t* client, const std::vector<ApplyOp>& ops,
                                        const std::function<bool(const ApplyOp&)>& tolerant) {
  BulkOutcome total;
  std::vector<int> r = rounds(ops);
  int max_round = 0;
  for (int x : r) max_round = std::max(max_round, x);
  for (int round = 0; round <= max_round; ++round) {
    // Namespace → (update-class, delete-class) operations of this round, in batch order.
    std::map<std::pair<std::string, std::string>, std::pair<std::vector<const ApplyOp*>, std::vector<const ApplyOp*>>> groups;
    std::vector<std::pair<std::string, std::string>> order;
    for (size_t k = 0; k < ops.size(); ++k) {
      if (r[k] != round) continue;
      auto ns = std::make_pair(ops[k].db, ops[k].coll);
      auto [g, inserted] = groups.try_emplace(ns);
      if (inserted) order.push_back(ns);
      (delete_class(ops[k]) ? g->second.second : g->second.first).push_back(&ops[k]);
    }
    for (const auto& ns : order) {
      const auto& [writes, deletes] = groups[ns];
      for (int pass = 0; pass < 2; ++pass) {
        const auto& list = pass == 0 ? writes : deletes;
        if (list.empty()) continue;
        auto o = run_bulk(client, ns.first, ns.second, list, pass == 1, tolerant);
        if (!o.ok()) return o.status();
        total.statements += o->statements;
        total.tolerated_errors += o->tolerated_errors;
      }
    }
  }
  return total;
}

}  // namespace apply
