#include "apply/ddl.h"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <string_view>

#include "common/log.h"

namespace apply {

namespace {

using common::Bson;

bool always_tolerated(std::string_view name, int code) {
  return (name == "drop" && code == common::kNamespaceNotFound) ||
         (name == "dropIndexes" && code == common::kIndexNotFound);
}

common::Status run(client::Connection& c, const std::string& db, const bson_t* cmd) {
  auto r = c.run(db, cmd);
  return r.status();
}

// The document of listCollections for one name, or an empty one.
common::Result<Bson> collection_info(client::Connection& source, const std::string& db, const std::string& coll) {
  bson_t cmd = BSON_INITIALIZER, filter;
  bson_append_int32(&cmd, "listCollections", -1, 1);
  bson_append_document_begin(&cmd, "filter", 6, &filter);
  common::append_utf8(&filter, "name", coll);
  bson_append_document_end(&cmd, &filter);
  auto r = source.run_cursor(db, &cmd);
  bson_destroy(&cmd);
  if (!r.ok()) return r.status();
  return r->empty() ? Bson() : r->front();
}

common::Status copy_documents(client::Connection& destination, client::Connection& source,
                              const std::string& source_db, const std::string& source_coll, const std::string& db,
                              const std::string& coll) {
  mongoc_collection_t* from = mongoc_client_get_collection(source.raw(), source_db.c_str(), source_coll.c_str());
  mongoc_collection_t* to = mongoc_client_get_collection(destination.raw(), db.c_str(), coll.c_str());
  bson_t filter = BSON_INITIALIZER;
  mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(from, &filter, nullptr, nullptr);
  common::Status result;
  const bson_t* doc;
  bool more = true;
  while (more && result.ok()) {
    bson_t opts = BSON_INITIALIZER;
    bson_append_bool(&opts, "ordered", 7, false);
    mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(to, &opts);
    bson_destroy(&opts);
    bson_t insert_opts = BSON_INITIALIZER;
    bson_append_bool(&insert_opts, "validate", 8, false);
    int n = 0;
    while (n < 1000 && (more = mongoc_cursor_next(cursor, &doc))) {
      mongoc_bulk_operation_insert_with_opts(bulk, doc, &insert_opts, nullptr);
      ++n;
    }
    bson_destroy(&insert_opts);
    bson_error_t error;
    bson_t reply;
    if (n > 0 && !mongoc_bulk_operation_execute(bulk, &reply, &error)) result = client::status_from_error(error, &reply);
    if (n > 0) bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
  }
  bson_error_t error;
  if (result.ok() && mongoc_cursor_error(cursor, &error)) result = client::status_from_error(error, nullptr);
  mongoc_cursor_destroy(cursor);
  bson_destroy(&filter);
  mongoc_collection_destroy(from);
  mongoc_collection_destroy(to);
  return result;
}

}  // namespace

common::Status copy_collection_in(client::Connection& destination, client::Connection& source,
                                  const std::string& source_db, const std::string& source_coll, const std::string& db,
                                  const std::string& coll) {
  MS_ASSIGN_OR_RETURN(Bson info, collection_info(source, source_db, source_coll));
  if (info.empty()) return common::Status::OK();  // gone on the source since: later changes say what follows
  bson_t create = BSON_INITIALIZER;
  common::append_utf8(&create, "create", coll);
  bson_iter_t it, opt;
  if (bson_iter_init_find(&it, info.get(), "options") && BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &opt)) {
    while (bson_iter_next(&opt)) common::append_iter(&create, bson_iter_key(&opt), &opt);
  }
  common::Status st = run(destination, db, &create);
  bson_destroy(&create);
  if (!st.ok() && st.code() != common::kNamespaceExists) return st;

  bson_t list = BSON_INITIALIZER;
  common::append_utf8(&list, "listIndexes", source_coll);
  auto indexes = source.run_cursor(source_db, &list);
  bson_destroy(&list);
  if (!indexes.ok()) return indexes.status();
  bson_t ci = BSON_INITIALIZER, arr;
  common::append_utf8(&ci, "createIndexes", coll);
  bson_append_array_begin(&ci, "indexes", 7, &arr);
  uint32_t n = 0;
  for (const auto& spec : *indexes) {
    bson_iter_t name;
    if (bson_iter_init_find(&name, spec.get(), "name") && std::string_view(bson_iter_utf8(&name, nullptr)) == "_id_") continue;
    char buf[16];
    common::append_doc(&arr, common::array_key(n++, buf), spec.get());
  }
  bson_append_array_end(&ci, &arr);
  st = copy_documents(destination, source, source_db, source_coll, db, coll);
  if (st.ok() && n > 0) st = run(destination, db, &ci);
  bson_destroy(&ci);
  return st;
}

static common::Status drop(client::Connection& c, const std::string& db, const std::string& coll) {
  bson_t cmd = BSON_INITIALIZER;
  common::append_utf8(&cmd, "drop", coll);
  common::Status st = run(c, db, &cmd);
  bson_destroy(&cmd);
  return st.ok() || st.code() == common::kNamespaceNotFound ? common::Status::OK() : st;
}

common::Status apply_ddl(client::Connection& destination, client::Connection& source, const DdlAction& action,
                         bool tolerant) {
  if (action.recopy_when_tolerant && tolerant) {
    MS_RETURN_IF_ERROR(drop(destination, action.drop_db, action.drop_coll));
    MS_RETURN_IF_ERROR(drop(destination, action.copy_to_db, action.copy_to_coll));
    return copy_collection_in(destination, source, action.copy_from_db, action.copy_from_coll, action.copy_to_db,
                              action.copy_to_coll);
  }
  common::Status st = run(destination, action.db, action.command.get());
  bson_iter_t it;
  std::string name = bson_iter_init(&it, action.command.get()) && bson_iter_next(&it) ? bson_iter_key(&it) : "";
  if (!st.ok()) MS_LOG_DEBUG("incremental: DDL {} answered {}", action.command.json(), st.to_string());
  if (!st.ok()) {
    bool known = std::find(action.tolerated.begin(), action.tolerated.end(), st.code()) != action.tolerated.end();
    if (!(known && tolerant) && !always_tolerated(name, st.code())) {
      return st.with_context("applying " + action.command.json() + " on the destination");
    }
  }
  if (action.copy_in) {
    return copy_collection_in(destination, source, action.copy_from_db, action.copy_from_coll, action.copy_to_db,
                              action.copy_to_coll);
  }
  return common::Status::OK();
}

}  // namespace apply
