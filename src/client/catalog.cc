#include "client/catalog.h"

#include <algorithm>

namespace client {

namespace {

std::optional<int64_t> number_field(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_NUMBER(&it)) return std::nullopt;
  return bson_iter_as_int64(&it);
}

common::Bson sub_document(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return {};
  const uint8_t* data;
  uint32_t len;
  bson_iter_document(&it, &len, &data);
  auto parsed = common::Bson::parse(data, len);
  return parsed.ok() ? std::move(parsed).value() : common::Bson();
}


}  // namespace

bool CollectionInfo::capped() const { return common::field_is_true(options.get(), "capped"); }
bool CollectionInfo::clustered() const {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, options.get(), "clusteredIndex")) return false;
  return BSON_ITER_HOLDS_DOCUMENT(&it) || bson_iter_as_bool(&it);
}
bool CollectionInfo::has_validator() const { return !sub_document(options.get(), "validator").empty(); }
std::string CollectionInfo::view_on() const { return common::string_or_empty(options.get(), "viewOn"); }

common::Result<std::vector<DatabaseInfo>> list_databases(Connection& c, bool authorized_only) {
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_INT32(&cmd, "listDatabases", 1);
  if (authorized_only) BSON_APPEND_BOOL(&cmd, "authorizedDatabases", true);
  auto reply = c.run("admin", &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  std::vector<DatabaseInfo> out;
  bson_iter_t it, dbs;
  if (bson_iter_init_find(&it, reply->get(), "databases") && BSON_ITER_HOLDS_ARRAY(&it) &&
      bson_iter_recurse(&it, &dbs)) {
    while (bson_iter_next(&dbs)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&dbs)) continue;
      const uint8_t* data;
      uint32_t len;
      bson_iter_document(&dbs, &len, &data);
      bson_t d;
      if (!bson_init_static(&d, data, len)) continue;
      DatabaseInfo info;
      info.name = common::string_or_empty(&d, "name");
      info.size_on_disk = number_field(&d, "sizeOnDisk").value_or(0);
      info.empty = common::field_is_true(&d, "empty");
      if (!info.name.empty()) out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

common::Result<std::vector<CollectionInfo>> list_collections(Connection& c, const std::string& db) {
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_INT32(&cmd, "listCollections", 1);
  bson_t cursor;
  BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
  bson_append_document_end(&cmd, &cursor);
  auto docs = c.run_cursor(db, &cmd);
  bson_destroy(&cmd);
  if (!docs.ok()) return docs.status();
  std::vector<CollectionInfo> out;
  for (const common::Bson& d : *docs) {
    CollectionInfo info;
    info.db = db;
    info.name = common::string_or_empty(d.get(), "name");
    if (info.name.empty() || info.name.rfind("system.", 0) == 0) continue;
    std::string type = common::string_or_empty(d.get(), "type");
    if (!type.empty()) info.type = type;
    info.options = sub_document(d.get(), "options");
    info.id_index = sub_document(d.get(), "idIndex");
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

common::Status read_stats(Connection& c, CollectionInfo& info) {
  if (info.is_view()) return common::Status::OK();
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_UTF8(&cmd, "collStats", info.name.c_str());
  auto reply = c.run(info.db, &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  info.count = number_field(reply->get(), "count");
  info.size = number_field(reply->get(), "size");
  info.index_count = number_field(reply->get(), "nindexes");
  return common::Status::OK();
}

common::Status read_indexes(Connection& c, CollectionInfo& info) {
  if (info.is_view()) return common::Status::OK();
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_UTF8(&cmd, "listIndexes", info.name.c_str());
  auto docs = c.run_cursor(info.db, &cmd);
  bson_destroy(&cmd);
  if (!docs.ok()) return docs.status();
  info.indexes = std::move(docs).value();
  info.index_count = static_cast<int64_t>(info.indexes.size());
  return common::Status::OK();
}

common::Result<std::optional<common::Bson>> find_edge(Connection& c, const std::string& db, const std::string& coll,
                                                      const std::string& field, bool last, const std::string& project) {
  bson_t cmd = BSON_INITIALIZER, sort, proj;
  BSON_APPEND_UTF8(&cmd, "find", coll.c_str());
  BSON_APPEND_DOCUMENT_BEGIN(&cmd, "sort", &sort);
  BSON_APPEND_INT32(&sort, field.c_str(), last ? -1 : 1);
  bson_append_document_end(&cmd, &sort);
  BSON_APPEND_DOCUMENT_BEGIN(&cmd, "projection", &proj);
  BSON_APPEND_INT32(&proj, project.empty() ? field.c_str() : project.c_str(), 1);
  bson_append_document_end(&cmd, &proj);
  BSON_APPEND_INT32(&cmd, "limit", 1);
  BSON_APPEND_BOOL(&cmd, "singleBatch", true);
  auto docs = c.run_cursor(db, &cmd, 1);
  bson_destroy(&cmd);
  if (!docs.ok()) return docs.status();
  if (docs->empty()) return std::optional<common::Bson>();
  return std::optional<common::Bson>(std::move((*docs)[0]));
}

common::Result<int64_t> estimated_count(Connection& c, const std::string& db, const std::string& coll) {
  bson_t cmd = BSON_INITIALIZER;
  BSON_APPEND_UTF8(&cmd, "count", coll.c_str());
  auto reply = c.run(db, &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  return number_field(reply->get(), "n").value_or(0);
}

}  // namespace client
