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

}  // namespace change
