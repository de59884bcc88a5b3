#include "copy/batch.h"

namespace copy {

common::BsonView Batch::doc(size_t i) const {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data()) + offsets[i];
  uint32_t len = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
                 static_cast<uint32_t>(p[3]) << 24;
  return common::BsonView(p, len);
}

void Batch::append(const bson_t* doc) {
  offsets.push_back(static_cast<uint32_t>(data.size()));
  data.append(reinterpret_cast<const char*>(bson_get_data(doc)), doc->len);
}

void Batch::clear() {
  data.clear();
  offsets.clear();
  last_key.clear();
}

std::string id_key(const bson_t* doc) {
  bson_iter_t it;
  if (!common::find_field(doc, "_id", &it)) return "";
  bson_t k = BSON_INITIALIZER;
  bson_append_iter(&k, "_id", 3, &it);
  std::string out(reinterpret_cast<const char*>(bson_get_data(&k)), k.len);
  bson_destroy(&k);
  return out;
}

}  // namespace copy
