#include "change/stream_normalize.h"

#include <string_view>

#include "change/cursor_reply.h"
#include "change/oplog_normalize.h"
#include "change/update_convert.h"

namespace change {

namespace {

std::string str(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it)) return "";
  return bson_iter_utf8(&it, nullptr);
}

// {name: coll, <every field of description but the skipped one>}.
common::Bson command_with(std::string_view name, const std::string& coll, const bson_t* description,
                          std::string_view skip = "") {
  bson_t b = BSON_INITIALIZER;
  common::append_utf8(&b, name, coll);
  if (description) {
    bson_iter_t it;
    bson_iter_init(&it, description);
    while (bson_iter_next(&it)) {
      std::string_view k = bson_iter_key(&it);
      if (k == skip) continue;
      common::append_iter(&b, k, &it);
    }
  }
  return common::Bson::steal(&b);
}

}  // namespace

common::Status StreamNormalizer::add(const bson_t* event, std::vector<ChangeEvent>* out) {
  bson_t split;
  if (!sub_document(event, "splitEvent", &split)) return convert(event, out);
  bson_iter_t it;
  int64_t fragment = bson_iter_init_find(&it, &split, "fragment") ? bson_iter_as_int64(&it) : 0;
  int64_t of = bson_iter_init_find(&it, &split, "of") ? bson_iter_as_int64(&it) : 0;
  if (fragment == 1) fragments_.clear();
  fragments_.emplace_back(event);
  if (fragment < of) return common::Status::OK();
  // Reassemble: the top-level fields of every fragment, the last fragment's token.
  bson_t whole = BSON_INITIALIZER;
  for (const auto& f : fragments_) {
    bson_iter_init(&it, f.get());
    while (bson_iter_next(&it)) {
      std::string_view k = bson_iter_key(&it);
      if (k == "splitEvent" || k == "_id") continue;
      common::append_iter(&whole, k, &it);
    }
  }
  if (bson_iter_init_find(&it, event, "_id")) bson_append_iter(&whole, "_id", 3, &it);
  fragments_.clear();
  common::Bson doc = common::Bson::steal(&whole);
  return convert(doc.get(), out);
}

common::Status StreamNormalizer::convert(const bson_t* event, std::vector<ChangeEvent>* out) {
  ChangeEvent e;
  bson_iter_t it;
  if (bson_iter_init_find(&it, event, "clusterTime") && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
    bson_iter_timestamp(&it, &e.ts.t, &e.ts.i);
  }
  bson_t ns, description;
  if (sub_document(event, "ns", &ns)) {
    e.db = str(&ns, "db");
    e.coll = str(&ns, "coll");
  }
  if (e.db == "admin" || e.db == "local" || e.db == "config") return common::Status::OK();
  bool has_description = sub_document(event, "operationDescription", &description);
  const bson_t* desc = has_description ? &description : nullptr;
  std::string type = str(event, "operationType");
  bson_t key, doc, ud;
  if (sub_document(event, "documentKey", &key)) e.key = id_key(&key);

  if (type == "insert" || type == "replace") {
    if (!sub_document(event, "fullDocument", &doc)) return common::Status(common::kBadValue, type + " event without fullDocument");
    e.type = type == "insert" ? EventType::kInsert : EventType::kReplace;
    e.doc = common::Bson(&doc);
  } else if (type == "update") {
    e.type = EventType::kUpdate;
    ConvertedUpdate c = sub_document(event, "updateDescription", &ud) ? convert_update_description(&ud) : ConvertedUpdate{{}, true};
    e.updates = std::move(c.statements);
    e.needs_fetch = c.needs_fetch;
    if (e.updates.empty() && !e.needs_fetch) return common::Status::OK();
  } else if (type == "delete") {
    e.type = EventType::kDelete;
  } else {
    e.type = EventType::kCommand;
    if (type == "drop") {
      e.command = command_with("drop", e.coll, nullptr);
    } else if (type == "dropDatabase") {
      bson_t b = BSON_INITIALIZER;
      bson_append_int32(&b, "dropDatabase", 12, 1);
      e.command = common::Bson::steal(&b);
    } else if (type == "rename") {
      bson_t to;
      if (!sub_document(event, "to", &to)) return common::Status(common::kBadValue, "rename event without 'to'");
      bson_t b = BSON_INITIALIZER;
      common::append_utf8(&b, "renameCollection", e.db + "." + e.coll);
      common::append_utf8(&b, "to", str(&to, "db") + "." + str(&to, "coll"));
      bson_iter_t dt;
      bson_append_bool(&b, "dropTarget", 10, desc && bson_iter_init_find(&dt, desc, "dropTarget"));
      e.command = common::Bson::steal(&b);
    } else if (type == "create") {
      e.command = command_with("create", e.coll, desc);
    } else if (type == "createIndexes") {
      e.command = command_with("createIndexes", e.coll, desc);
    } else if (type == "modify") {
      e.command = command_with("collMod", e.coll, desc);
    } else if (type == "dropIndexes") {
      // One dropIndexes per index named in the description.
      bson_t indexes;
      if (!desc || !sub_document(desc, "indexes", &indexes)) return common::Status::OK();
      bson_iter_t ix;
      bson_iter_init(&ix, &indexes);
      while (bson_iter_next(&ix)) {
        bson_t spec;
        uint32_t len = 0;
        const uint8_t* data = nullptr;
        if (!BSON_ITER_HOLDS_DOCUMENT(&ix)) continue;
        bson_iter_document(&ix, &len, &data);
        bson_init_static(&spec, data, len);
        ChangeEvent d = e;
        bson_t b = BSON_INITIALIZER;
        common::append_utf8(&b, "dropIndexes", e.coll);
        common::append_utf8(&b, "index", str(&spec, "name"));
        d.command = common::Bson::steal(&b);
        out->push_back(std::move(d));
      }
      return common::Status::OK();
    } else {
      return common::Status::OK();  // invalidate, sharding events: nothing to replay
    }
  }
  out->push_back(std::move(e));
  return common::Status::OK();
}

}  // namespace change
