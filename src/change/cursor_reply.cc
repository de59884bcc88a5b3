#include "change/cursor_reply.h"

namespace change {

CursorReply parse_cursor_reply(const common::Bson& reply) {
  CursorReply r;
  bson_init(&r.batch);
  bson_iter_t it, c;
  if (!bson_iter_init_find(&it, reply.get(), "cursor") || !BSON_ITER_HOLDS_DOCUMENT(&it)) return r;
  bson_iter_recurse(&it, &c);
  while (bson_iter_next(&c)) {
    std::string key = bson_iter_key(&c);
    if (key == "id") {
      r.id = bson_iter_as_int64(&c);
    } else if ((key == "firstBatch" || key == "nextBatch") && BSON_ITER_HOLDS_ARRAY(&c)) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_array(&c, &len, &data);
      bson_init_static(&r.batch, data, len);
    } else if (key == "postBatchResumeToken" && BSON_ITER_HOLDS_DOCUMENT(&c)) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&c, &len, &data);
      r.pbrt_json = common::Bson(data, len).canonical_json();
    }
  }
  return r;
}

common::Bson get_more_command(int64_t id, const std::string& coll, int batch_size, int max_time_ms) {
  bson_t b = BSON_INITIALIZER;
  bson_append_int64(&b, "getMore", 7, id);
  common::append_utf8(&b, "collection", coll);
  bson_append_int32(&b, "batchSize", 9, batch_size);
  bson_append_int32(&b, "maxTimeMS", 9, max_time_ms);
  return common::Bson::steal(&b);
}

bool sub_document(const bson_t* doc, const char* key, bson_t* out) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || !(BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it))) {
    return false;
  }
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  if (BSON_ITER_HOLDS_DOCUMENT(&it)) bson_iter_document(&it, &len, &data);
  else bson_iter_array(&it, &len, &data);
  return bson_init_static(out, data, len);
}

common::Status for_each_document(const bson_t* array, const std::function<common::Status(const bson_t*)>& fn,
                                 size_t* count) {
  *count = 0;
  bson_iter_t it;
  if (!bson_iter_init(&it, array)) return common::Status::OK();
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) continue;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    bson_t doc;
    if (!bson_init_static(&doc, data, len)) continue;
    ++*count;
    MS_RETURN_IF_ERROR(fn(&doc));
  }
  return common::Status::OK();
}

}  // namespace change
