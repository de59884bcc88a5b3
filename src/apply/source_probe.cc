#include "apply/source_probe.h"

#include "change/oplog_normalize.h"

namespace apply {

common::Result<change::OpTime> newest_optime(client::Connection& source) {
  bson_t cmd = BSON_INITIALIZER;
  bson_append_int32(&cmd, "hello", 5, 1);
  auto reply = source.run("admin", &cmd);
  bson_destroy(&cmd);
  if (!reply.ok()) return reply.status();
  change::OpTime t;
  bson_iter_t it, ts;
  if (bson_iter_init(&it, reply->get()) && bson_iter_find_descendant(&it, "lastWrite.opTime.ts", &ts) &&
      BSON_ITER_HOLDS_TIMESTAMP(&ts)) {
    bson_iter_timestamp(&ts, &t.t, &t.i);
  }
  return t;
}

bool oplog_readable(client::Connection& source) {
  bson_t cmd = BSON_INITIALIZER;
  common::append_utf8(&cmd, "find", "oplog.rs");
  bson_append_int32(&cmd, "limit", 5, 1);
  bson_append_bool(&cmd, "singleBatch", 11, true);
  auto reply = source.run("local", &cmd);
  bson_destroy(&cmd);
  return reply.ok();
}

common::Result<std::map<std::string, common::Bson>> fetch_by_id(client::Connection& source, const std::string& db,
                                                                const std::string& coll,
                                                                const std::vector<const common::Bson*>& keys) {
  std::map<std::string, common::Bson> out;
  constexpr size_t kChunk = 500;
  for (size_t from = 0; from < keys.size(); from += kChunk) {
    bson_t cmd = BSON_INITIALIZER, filter, id, in;
    common::append_utf8(&cmd, "find", coll);
    bson_append_document_begin(&cmd, "filter", 6, &filter);
    bson_append_document_begin(&filter, "_id", 3, &id);
    bson_append_array_begin(&id, "$in", 3, &in);
    uint32_t n = 0;
    for (size_t k = from; k < std::min(keys.size(), from + kChunk); ++k) {
      bson_iter_t v;
      if (!bson_iter_init_find(&v, keys[k]->get(), "_id")) continue;
      char buf[16];
      common::append_iter(&in, common::array_key(n++, buf), &v);
    }
    bson_append_array_end(&id, &in);
    bson_append_document_end(&filter, &id);
    bson_append_document_end(&cmd, &filter);
    auto docs = source.run_cursor(db, &cmd);
    bson_destroy(&cmd);
    if (!docs.ok()) return docs.status();
    for (auto& d : *docs) out.emplace(std::string(change::id_key(d.get()).bytes()), std::move(d));
  }
  return out;
}

}  // namespace apply
