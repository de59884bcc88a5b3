// Index specs (validation and normalization as the server's index_key_validate.cpp and
// IndexCatalogImpl do) and btree key generation (as BtreeKeyGenerator: arrays make an index
// multikey, a missing field is indexed as null, an empty array as undefined).
#include "sim/engine/index.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "mql/compare.h"
#include "sim/engine/key_string.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr int kCannotCreateIndex = common::kCannotCreateIndexCode;
constexpr int kInvalidIndexSpecificationOption = 197;
constexpr int kCannotIndexParallelArrays = 171;

const std::set<std::string_view>& allowed_spec_fields() {
  static const std::set<std::string_view> k = {
      "key", "name", "v", "ns", "unique", "sparse", "hidden", "background", "partialFilterExpression",
      "expireAfterSeconds", "collation", "weights", "default_language", "language_override", "textIndexVersion",
      "2dsphereIndexVersion", "bits", "min", "max", "bucketSize", "wildcardProjection", "storageEngine",
      "dropDups", "prepareUnique", "clustered", "originalSpec", "coarsestIndexedLevel", "finestIndexedLevel"};
  return k;
}

bool is_bool_like(const bson_iter_t* it) { return BSON_ITER_HOLDS_NUMBER(it) || BSON_ITER_HOLDS_BOOL(it); }

std::string type_name(const bson_iter_t* it) { return common::type_alias(bson_iter_type(it)); }

// Operators a partialFilterExpression may use (IndexCatalogImpl's partial filter check).
Status check_partial_filter(const bson_t* filter, mql::ServerVersion version, bool top) {
  bson_iter_t it;
  if (!bson_iter_init(&it, filter)) return Status::OK();
  while (bson_iter_next(&it)) {
    std::string_view key = bson_iter_key(&it);
    if (key == "$and" || (version >= 60 && key == "$or")) {
      if (!top && key == "$and" && version < 60) {
        return Status(kCannotCreateIndex, "Expression not supported in partial index: $and");
      }
      bson_iter_t arr, sub;
      if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) continue;
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&arr, &len, &data);
        bson_t d;
        bson_init_static(&d, data, len);
        MS_RETURN_IF_ERROR(check_partial_filter(&d, version, false));
        (void)sub;
      }
      continue;
    }
    if (key[0] == '$') {
      return Status(kCannotCreateIndex, fmt::format("Expression not supported in partial index: {}", key));
    }
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
      bson_iter_t ops;
      bson_iter_recurse(&it, &ops);
      bool first = true;
      while (bson_iter_next(&ops)) {
        std::string_view op = bson_iter_key(&ops);
        if (first && op[0] != '$') break;  // an equality to an object
        first = false;
        bool ok = op == "$eq" || op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte" || op == "$type" ||
                  (op == "$exists" && common::value_truthy(&ops)) || (version >= 60 && op == "$in");
        if (!ok) {
          bson_t one = BSON_INITIALIZER;
          bson_t inner;
          bson_append_document_begin(&one, key.data(), static_cast<int>(key.size()), &inner);
          bson_append_iter(&inner, op.data(), static_cast<int>(op.size()), &ops);
          bson_append_document_end(&one, &inner);
          std::string shown = common::to_server_string(&one);
          bson_destroy(&one);
          return Status(kCannotCreateIndex, "Expression not supported in partial index: " + shown);
        }
      }
    } else if (BSON_ITER_HOLDS_REGEX(&it)) {
      return Status(kCannotCreateIndex, fmt::format("Expression not supported in partial index: {} regex", key));
    }
  }
  return Status::OK();
}

Status validate_key_pattern(const bson_t* key, IndexKind* kind, std::vector<KeyPart>* parts) {
  if (key->len > 2048) return Status(kCannotCreateIndex, "Index key pattern too large.");
  if (bson_empty(key)) return Status(kCannotCreateIndex, "Index keys cannot be empty.");
  std::string plugin;
  bson_iter_t it;
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    if (BSON_ITER_HOLDS_UTF8(&it) && plugin.empty()) plugin = bson_iter_utf8(&it, nullptr);
  }
  bool wildcard = false;
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    std::string_view f = bson_iter_key(&it);
    if (f == "$**" || (f.size() > 4 && f.substr(f.size() - 4) == ".$**")) wildcard = true;
  }
  static const std::set<std::string> known = {"text", "2dsphere", "2d", "hashed", "geoHaystack", "columnstore"};
  if (!plugin.empty()) {
    if (plugin == "geoHaystack") {
      return Status(kCannotCreateIndex, "GeoHaystack indexes cannot be created in version 5.0 and above");
    }
    if (!known.count(plugin)) return Status(kCannotCreateIndex, "Unknown index plugin '" + plugin + "'");
  }
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    std::string_view field(bson_iter_key(&it), bson_iter_key_len(&it));
    KeyPart part;
    if (BSON_ITER_HOLDS_NUMBER(&it)) {
      double v = bson_iter_as_double(&it);
      if (BSON_ITER_HOLDS_DECIMAL128(&it)) {
        bson_decimal128_t d;
        bson_iter_decimal128(&it, &d);
        char buf[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&d, buf);
        v = std::strtod(buf, nullptr);
      }
      if (std::isnan(v)) return Status(kCannotCreateIndex, "Values in the index key pattern cannot be NaN.");
      if (v == 0.0) return Status(kCannotCreateIndex, "Values in the index key pattern cannot be 0.");
      part.descending = v < 0;
    } else if (BSON_ITER_HOLDS_UTF8(&it)) {
      std::string s = bson_iter_utf8(&it, nullptr);
      if (s.empty()) return Status(kCannotCreateIndex, "Values in the index key pattern cannot be empty strings");
      if (s != plugin) return Status(kCannotCreateIndex, "Can't use more than one index plugin for a single index.");
      part.special = s;
    } else {
      return Status(kCannotCreateIndex,
                    fmt::format("Values in v:2 index key pattern cannot be of type {}. Only numbers > 0, numbers < 0, "
                                "and strings are allowed.",
                                type_name(&it)));
    }
    if (field.empty()) return Status(kCannotCreateIndex, "Index keys cannot be an empty field.");
    bool wildcard_field = field == "$**" || (field.size() > 4 && field.substr(field.size() - 4) == ".$**");
    if (!(field == "$**" && (part.special.empty() || part.special == "text"))) {
      if (field == "_fts" && part.special != "text") {
        return Status(kCannotCreateIndex, "Index key contains an illegal field name: '_fts'");
      }
      mql::FieldPath fp(field);
      for (size_t i = 0; i < fp.size(); ++i) {
        std::string_view p = fp.part(i);
        if (p.empty()) return Status(kCannotCreateIndex, "Index keys cannot contain an empty field.");
        if (p[0] != '$') continue;
        bool dbref = i != 0 && (p == "$db" || p == "$id" || p == "$ref");
        bool wc = i == fp.size() - 1 && p == "$**" && wildcard;
        if (!dbref && !wc) {
          return Status(kCannotCreateIndex, "Index key contains an illegal field name: field name starts with '$'.");
        }
      }
    }
    (void)wildcard_field;
    part.path = mql::FieldPath(field);
    parts->push_back(std::move(part));
  }
  if (plugin == "text") {
    *kind = IndexKind::kText;
  } else if (plugin == "2dsphere") {
    *kind = IndexKind::k2dsphere;
  } else if (plugin == "2d") {
    *kind = IndexKind::k2d;
  } else if (plugin == "hashed") {
    *kind = IndexKind::kHashed;
    int hashed = 0;
    for (const auto& p : *parts) hashed += p.special == "hashed";
    if (hashed > 1) return Status(31303, "A maximum of one index field is allowed to be hashed but found 2 for 'key' " +
                                             common::to_server_string(key));
  } else if (wildcard) {
    *kind = IndexKind::kWildcard;
  } else {
    *kind = IndexKind::kBtree;
  }
  return Status::OK();
}

// Text index key pattern as the server stores it: text fields become _fts/_ftsx, their
// weights move to `weights`.
void normalize_text_spec(const bson_t* key, const bson_t* user_weights, Bson* out_key, Bson* out_weights) {
  bson_t k = BSON_INITIALIZER, w = BSON_INITIALIZER;
  bson_iter_t it;
  bool fts_done = false;
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    if (BSON_ITER_HOLDS_UTF8(&it) && std::string_view(bson_iter_utf8(&it, nullptr)) == "text") {
      if (!fts_done) {
        bson_append_utf8(&k, "_fts", -1, "text", -1);
        bson_append_int32(&k, "_ftsx", -1, 1);
        fts_done = true;
      }
      // The stored form's _fts is the text part itself: its fields come from `weights`.
      if (std::string_view(bson_iter_key(&it)) != "_fts") bson_append_int32(&w, bson_iter_key(&it), -1, 1);
    } else if (std::string_view(bson_iter_key(&it)) != "_fts" && std::string_view(bson_iter_key(&it)) != "_ftsx") {
      bson_append_iter(&k, bson_iter_key(&it), -1, &it);
    }
  }
  if (user_weights) {
    bson_iter_init(&it, user_weights);
    while (bson_iter_next(&it)) {
      bson_t tmp = BSON_INITIALIZER;
      bson_iter_t wit;
      bson_iter_init(&wit, &w);
      bool replaced = false;
      while (bson_iter_next(&wit)) {
        if (std::string_view(bson_iter_key(&wit)) == bson_iter_key(&it)) {
          bson_append_iter(&tmp, bson_iter_key(&it), -1, &it);
          replaced = true;
        } else {
          bson_append_iter(&tmp, bson_iter_key(&wit), -1, &wit);
        }
      }
      if (!replaced) bson_append_iter(&tmp, bson_iter_key(&it), -1, &it);
      bson_destroy(&w);
      w = tmp;
    }
  }
  // The server lists weights sorted by field name.
  std::vector<std::pair<std::string, Bson>> sorted;
  bson_iter_init(&it, &w);
  while (bson_iter_next(&it)) {
    bson_t one = BSON_INITIALIZER;
    bson_append_iter(&one, "v", 1, &it);
    sorted.emplace_back(bson_iter_key(&it), Bson::steal(&one));
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  bson_t ws = BSON_INITIALIZER;
  for (const auto& [name, v] : sorted) {
    bson_iter_t vi;
    bson_iter_init_find(&vi, v.get(), "v");
    bson_append_iter(&ws, name.c_str(), -1, &vi);
  }
  bson_destroy(&w);
  *out_key = Bson::steal(&k);
  *out_weights = Bson::steal(&ws);
}

}  // namespace

Result<IndexDescriptor> parse_index_spec(const bson_t* spec, const mql::CollatorPtr& collection_collator,
                                         mql::ServerVersion version, bool for_clustered_or_id) {
  IndexDescriptor d;
  bson_iter_t it;
  bool has_key = false, has_name = false, has_v = false;
  int v = 2;
  const bson_t* key = nullptr;
  bson_t key_view, weights_view, coll_view, pfe_view;
  bool has_weights = false, has_collation = false, has_pfe = false, has_expire = false;
  bool has_wildcard_projection = false;
  bson_iter_init(&it, spec);
  bool clustered = false;
  while (bson_iter_next(&it)) {
    if (std::string_view(bson_iter_key(&it)) == "clustered") clustered = true;
  }
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    std::string_view f = bson_iter_key(&it);
    if (clustered) {
      if (f != "name" && f != "unique" && f != "v" && f != "key" && f != "clustered") {
        return Status(kInvalidIndexSpecificationOption,
                      fmt::format("The field '{}' is not valid for a clustered index specification. Specification: {}",
                                  f, common::to_server_string(spec)));
      }
    } else if (!allowed_spec_fields().count(f)) {
      return Status(kInvalidIndexSpecificationOption,
                    fmt::format("The field '{}' is not valid for an index specification. Specification: {}", f,
                                common::to_server_string(spec)));
    }
  }
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    std::string_view f = bson_iter_key(&it);
    if (f == "key") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kTypeMismatch, "The field 'key' must be an object, but got " + type_name(&it));
      }
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_init_static(&key_view, data, len);
      key = &key_view;
      std::set<std::string> seen;
      bson_iter_t kit;
      bson_iter_init(&kit, key);
      while (bson_iter_next(&kit)) {
        if (!seen.insert(bson_iter_key(&kit)).second) {
          return Status(common::kBadValue, fmt::format("The field '{}' appears multiple times in the index key pattern {}",
                                                       bson_iter_key(&kit), common::to_server_string(key)));
        }
      }
      MS_RETURN_IF_ERROR(validate_key_pattern(key, &d.kind, &d.parts));
      has_key = true;
    } else if (f == "name") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) {
        return Status(common::kTypeMismatch, "The field 'name' must be a string, but got " + type_name(&it));
      }
      d.name = bson_iter_utf8(&it, nullptr);
      has_name = true;
    } else if (f == "hidden") {
      if (!BSON_ITER_HOLDS_BOOL(&it)) {
        return Status(common::kTypeMismatch, "The field 'name' must be a bool, but got " + type_name(&it));
      }
      d.hidden = bson_iter_bool(&it);
    } else if (f == "v") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        return Status(common::kTypeMismatch, "The field 'v' must be a number, but got " + type_name(&it));
      }
      double dv = bson_iter_as_double(&it);
      if (dv != std::trunc(dv) || dv > 2147483647.0 || dv < -2147483648.0) {
        return Status(common::kBadValue, "Index version must be representable as a 32-bit integer, but got " +
                                             common::value_to_server_string(bson_iter_value(&it)));
      }
      v = static_cast<int>(dv);
      if (v != 1 && v != 2) {
        return Status(kCannotCreateIndex, fmt::format("Invalid index specification {}; cannot create an index with v={}",
                                                      common::to_server_string(spec), v));
      }
      has_v = true;
    } else if (f == "collation") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kTypeMismatch, "The field 'collation' must be an object, but got " + type_name(&it));
      }
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_init_static(&coll_view, data, len);
      if (bson_empty(&coll_view)) return Status(common::kBadValue, "The field 'collation' cannot be an empty object.");
      has_collation = true;
    } else if (f == "partialFilterExpression") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kTypeMismatch,
                      "The field 'partialFilterExpression' must be an object, but got " + type_name(&it));
      }
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_init_static(&pfe_view, data, len);
      mql::ExpressionContext ectx;
      ectx.version = version;
      MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(&pfe_view, ectx));
      (void)m;
      has_pfe = true;
    } else if (f == "wildcardProjection") {
      has_wildcard_projection = true;
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kTypeMismatch,
                      "The field 'wildcardProjection' must be a non-empty object, but got " + type_name(&it));
      }
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      d.wildcard_projection = Bson(data, len);
    } else if (f == "weights") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_UTF8(&it)) {
        return Status(common::kTypeMismatch, "The field 'weights' must be an object, but got " + type_name(&it));
      }
      if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&it, &len, &data);
        bson_init_static(&weights_view, data, len);
      } else {
        bson_init(&weights_view);
      }
      has_weights = true;
    } else if (f == "background" || f == "unique" || f == "sparse" || f == "dropDups" || f == "prepareUnique" ||
               f == "clustered") {
      if (!is_bool_like(&it)) {
        return Status(common::kTypeMismatch,
                      fmt::format("The field '{} has value {}: {}, which is not convertible to bool", f, f,
                                  common::value_to_server_string(bson_iter_value(&it))));
      }
      if (f == "unique") d.unique = common::value_truthy(&it);
      if (f == "sparse") d.sparse = common::value_truthy(&it);
      if (f == "prepareUnique") d.prepare_unique = common::value_truthy(&it);
    } else if ((f == "default_language" || f == "language_override") && !BSON_ITER_HOLDS_UTF8(&it)) {
      return Status(common::kTypeMismatch, fmt::format("The field '{}' must be a string, but got {}", f, type_name(&it)));
    } else if ((f == "2dsphereIndexVersion" || f == "textIndexVersion" || f == "bits" || f == "min" || f == "max" ||
                f == "coarsestIndexedLevel" || f == "finestIndexedLevel") &&
               !BSON_ITER_HOLDS_NUMBER(&it)) {
      return Status(common::kTypeMismatch, fmt::format("The field '{}' must be a number, but got {}", f, type_name(&it)));
    } else if (f == "expireAfterSeconds") {
      has_expire = true;
      if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        return Status(kCannotCreateIndex,
                      "TTL index 'expireAfterSeconds' option must be numeric, but received a type of '" +
                          type_name(&it));
      }
      double e = bson_iter_as_double(&it);
      if (std::isnan(e)) return Status(kCannotCreateIndex, "TTL index 'expireAfterSeconds' option must not be NaN");
      if (e > 2147483647.0 || e < -2147483648.0) {
        return Status(kCannotCreateIndex, "TTL index 'expireAfterSeconds' must be within the range of a 32-bit integer");
      }
      if (e < 0) return Status(common::kInvalidOptions, "TTL index 'expireAfterSeconds' option cannot be less than 0");
      d.expire_after_seconds = static_cast<int64_t>(e);
    }
  }
  if (!has_key) return Status(common::kFailedToParse, "The 'key' field is a required property of an index specification");
  if (!has_name) {
    return Status(common::kFailedToParse, "The 'name' field is a required property of an index specification");
  }
  if (d.name.empty()) return Status(kCannotCreateIndex, "index name cannot be empty");
  if (clustered && !d.unique) {
    return Status(kCannotCreateIndex, "The 'unique' field is required when 'clustered' is specified");
  }
  if (has_weights && d.kind != IndexKind::kText) {
    return Status(kCannotCreateIndex, fmt::format("Invalid index specification {}; the field 'weights' can only be "
                                                  "specified with text indexes",
                                                  common::to_server_string(spec)));
  }
  if (d.kind == IndexKind::kText && bson_iter_init_find(&it, spec, "textIndexVersion")) {
    int64_t tv = bson_iter_as_int64(&it);
    if (tv != 2 && tv != 3) return Status(kCannotCreateIndex, fmt::format("bad textIndexVersion: {}", tv));
  }
  if (d.unique && d.prepare_unique) {
    return Status(kCannotCreateIndex, fmt::format("Invalid index specification {}; cannot create an index with the "
                                                  "'unique' option and the 'prepareUnique' option",
                                                  common::to_server_string(spec)));
  }
  if (has_wildcard_projection && d.kind != IndexKind::kWildcard) {
    return Status(common::kBadValue, "The field 'wildcardProjection' is only allowed in 'wildcard' indexes");
  }
  if (has_collation && v < 2) {
    return Status(kCannotCreateIndex, fmt::format("Invalid index specification {}; cannot create an index with the "
                                                  "'collation' option and v=1",
                                                  common::to_server_string(spec)));
  }
  if (has_pfe && d.sparse) {
    return Status(kCannotCreateIndex, "cannot mix \"partialFilterExpression\" and \"sparse\" options");
  }
  if (has_pfe) MS_RETURN_IF_ERROR(check_partial_filter(&pfe_view, version, true));
  if (d.unique && d.kind == IndexKind::kHashed) {
    return Status(16764, "Currently hashed indexes cannot guarantee uniqueness. Use a regular index.");
  }
  if (d.unique && d.kind == IndexKind::kWildcard) {
    return Status(kCannotCreateIndex, "Index type 'wildcard' does not support the 'unique' option");
  }
  if (d.sparse && d.kind == IndexKind::kWildcard) {
    return Status(kCannotCreateIndex, "Index type 'wildcard' does not support the 'sparse' option");
  }
  if (has_expire && d.parts.size() > 1) {
    return Status(kCannotCreateIndex, "TTL indexes are single-field indexes, compound indexes do not support TTL. Index "
                                      "spec: " + common::to_server_string(spec));
  }
  bool is_id = false;
  {
    bson_iter_t kit;
    bson_iter_init(&kit, key);
    is_id = bson_count_keys(key) == 1 && bson_iter_next(&kit) && std::string_view(bson_iter_key(&kit)) == "_id" &&
            BSON_ITER_HOLDS_NUMBER(&kit) && bson_iter_as_double(&kit) == 1.0;
  }
  if (d.name == "_id_" && !is_id && !clustered) {
    return Status(common::kBadValue, "The index name '_id_' is reserved for the _id index, which must have key pattern "
                                     "{_id: 1}, found key: " + common::to_server_string(key));
  }
  if (is_id && d.name == "_id_" && !for_clustered_or_id) {
    // An explicit _id index spec: only key/name/v/collation/ns are allowed.
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
      std::string_view f = bson_iter_key(&it);
      if (f != "key" && f != "name" && f != "v" && f != "collation" && f != "ns" && f != "_id") {
        return Status(kInvalidIndexSpecificationOption,
                      fmt::format("The field '{}' is not valid for an _id index specification. Specification: {}", f,
                                  common::to_server_string(spec)));
      }
    }
  }

  // Collation: an explicit one is expanded to its full spec (simple is dropped); otherwise a v2
  // index inherits the collection's default.
  if (has_collation) {
    MS_ASSIGN_OR_RETURN(d.collator, mql::Collator::make(&coll_view));
  } else if (v >= 2 && !is_id) {
    d.collator = collection_collator;
  } else if (is_id) {
    d.collator = collection_collator;
  }
  if (has_pfe) d.partial_filter = Bson(&pfe_view);

  // The stored spec, in the server's order: v, unique (when true), hidden (when true), key,
  // name, then the remaining fields as given, with a full collation last.
  Bson key_out(key);
  Bson weights_out;
  if (d.kind == IndexKind::kText) normalize_text_spec(key, has_weights ? &weights_view : nullptr, &key_out, &weights_out);
  d.key = key_out;
  bson_t out = BSON_INITIALIZER;
  bson_append_int32(&out, "v", 1, v);
  if (clustered) {
    bson_append_document(&out, "key", 3, key_out.get());
    common::append_utf8(&out, "name", d.name);
    bson_append_bool(&out, "unique", 6, true);
  } else {
    if (d.unique) bson_append_bool(&out, "unique", 6, true);
    if (d.hidden) bson_append_bool(&out, "hidden", 6, true);
    bson_append_document(&out, "key", 3, key_out.get());
    common::append_utf8(&out, "name", d.name);
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
      std::string_view f = bson_iter_key(&it);
      if (f == "v" || f == "unique" || f == "hidden" || f == "key" || f == "name" || f == "ns" || f == "dropDups" ||
          f == "collation" || f == "_id" || f == "weights" || f == "expireAfterSeconds" || f == "textIndexVersion") {
        if (f == "expireAfterSeconds" && d.expire_after_seconds) {
          // Kept as given, as the server keeps it (an int stays an int, a double a double).
          bson_append_iter(&out, "expireAfterSeconds", -1, &it);
        }
        // The server's FTS spec keeps weights where given; textIndexVersion always goes last.
        if (f == "weights" && d.kind == IndexKind::kText) bson_append_document(&out, "weights", -1, weights_out.get());
        if (f == "textIndexVersion" && d.kind != IndexKind::kText) bson_append_iter(&out, f.data(), -1, &it);
        continue;
      }
      bson_append_iter(&out, f.data(), static_cast<int>(f.size()), &it);
    }
    if (d.kind == IndexKind::kText) {
      bson_iter_t tmp;
      if (!has_weights) bson_append_document(&out, "weights", -1, weights_out.get());
      if (!bson_iter_init_find(&tmp, spec, "default_language")) common::append_utf8(&out, "default_language", "english");
      if (!bson_iter_init_find(&tmp, spec, "language_override")) common::append_utf8(&out, "language_override", "language");
      int32_t text_version = 3;
      if (bson_iter_init_find(&tmp, spec, "textIndexVersion")) text_version = static_cast<int32_t>(bson_iter_as_int64(&tmp));
      bson_append_int32(&out, "textIndexVersion", -1, text_version);
    }
    if (d.kind == IndexKind::k2dsphere) {
      bson_iter_t tmp;
      if (!bson_iter_init_find(&tmp, spec, "2dsphereIndexVersion")) bson_append_int32(&out, "2dsphereIndexVersion", -1, 3);
    }
    if (d.collator) {
      Bson cs = d.collator->spec();
      bson_append_document(&out, "collation", -1, cs.get());
    }
  }
  d.spec = Bson::steal(&out);
  (void)has_v;
  return d;
}

IndexDescriptor id_index_descriptor(const mql::CollatorPtr& collection_collator) {
  bson_t spec = BSON_INITIALIZER, key;
  bson_append_document_begin(&spec, "key", 3, &key);
  bson_append_int32(&key, "_id", 3, 1);
  bson_append_document_end(&spec, &key);
  bson_append_utf8(&spec, "name", 4, "_id_", 4);
  auto d = parse_index_spec(&spec, collection_collator, 80, true);
  bson_destroy(&spec);
  IndexDescriptor out = std::move(d).value();
  out.unique = true;  // implicitly; its spec does not say so
  return out;
}

namespace {

bool same_collator(const IndexDescriptor& a, const IndexDescriptor& b) {
  return mql::same_collation(a.collator.get(), b.collator.get());
}

bool same_bson(const Bson& a, const Bson& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool same_identity(const IndexDescriptor& a, const IndexDescriptor& b, mql::ServerVersion version) {
  if (!same_bson(a.key, b.key)) return false;
  if (!same_collator(a, b)) return false;
  if (!same_bson(a.partial_filter, b.partial_filter)) return false;
  if (version >= 50) {
    if (a.unique != b.unique || a.sparse != b.sparse) return false;
    if (!same_bson(a.wildcard_projection, b.wildcard_projection)) return false;
  }
  return true;
}

bool same_index_options(const IndexDescriptor& a, const IndexDescriptor& b, mql::ServerVersion version) {
  if (!same_identity(a, b, version)) return false;
  return a.unique == b.unique && a.sparse == b.sparse && a.expire_after_seconds == b.expire_after_seconds &&
         a.hidden == b.hidden && same_bson(a.wildcard_projection, b.wildcard_projection);
}

Index::Index(IndexDescriptor d, mql::ServerVersion version) : desc_(std::move(d)) {
  ectx_.version = version;
  ectx_.collator = desc_.collator;
  if (!desc_.partial_filter.empty()) {
    auto m = mql::Matcher::parse(desc_.partial_filter.get(), ectx_);
    if (m.ok()) partial_ = std::move(m).value();
  }
}

std::unique_ptr<Index> Index::clone() const {
  auto c = std::make_unique<Index>(desc_, ectx_.version);
  c->entries_ = entries_;
  c->key_bytes_ = key_bytes_;
  c->multikey_ = multikey_;
  return c;
}

bool Index::skips(const bson_t* doc) const {
  if (partial_ && !partial_->matches(doc)) return true;
  if (desc_.sparse) {
    for (const auto& p : desc_.parts) {
      bool present = false;
      auto visit = [&](const mql::PathHit& h) {
        if (h.it != nullptr) present = true;
        return present;
      };
      mql::traverse(doc, p.path, false, visit);
      if (present) return false;
    }
    return true;
  }
  return false;
}

namespace {

// Values reached by one key field (shallow, into the document), and whether an array was
// traversed to reach them.
struct FieldValues {
  std::vector<bson_value_t> values;
  bool through_array = false;
  std::string array_prefix;  // the shortest prefix of the path that is an array
};

const bson_value_t kNullValue = [] {
  bson_value_t v;
  v.value_type = BSON_TYPE_NULL;
  return v;
}();
const bson_value_t kUndefinedValue = [] {
  bson_value_t v;
  v.value_type = BSON_TYPE_UNDEFINED;
  return v;
}();

FieldValues values_for(const bson_t* doc, const mql::FieldPath& path) {
  FieldValues fv;
  bool saw_missing = false;
  auto visit = [&](const mql::PathHit& h) {
    if (h.it == nullptr) {
      saw_missing = true;
      if (h.array_pos >= 0) fv.through_array = true;
      return false;
    }
    bool is_array = bson_iter_type(h.it) == BSON_TYPE_ARRAY;
    if (h.leaf_element || h.array_pos >= 0) fv.through_array = true;
    if (is_array && !h.leaf_element) {
      // The leaf array itself: its elements were reported before it; an empty one is
      // indexed as undefined.
      bson_iter_t child;
      fv.through_array = true;
      if (!bson_iter_recurse(h.it, &child) || !bson_iter_next(&child)) fv.values.push_back(kUndefinedValue);
      return false;
    }
    fv.values.push_back(*bson_iter_value(const_cast<bson_iter_t*>(h.it)));
    return false;
  };
  mql::traverse(doc, path, true, visit);
  if (fv.values.empty() || (saw_missing && fv.through_array)) fv.values.push_back(kNullValue);
  if (fv.through_array) {
    for (size_t n = 1; n <= path.size(); ++n) {
      bson_iter_t it;
      if (mql::lookup(doc, path.prefix(n), &it) && bson_iter_type(&it) == BSON_TYPE_ARRAY) {
        fv.array_prefix = path.prefix(n);
        break;
      }
    }
    if (fv.array_prefix.empty()) fv.array_prefix = path.prefix(1);
  }
  return fv;
}

}  // namespace

Status Index::keys_with_values(const bson_t* doc, std::vector<GeneratedKey>* keys) const {
  keys->clear();
  if (!desc_.has_entries() || skips(doc)) return Status::OK();
  std::vector<FieldValues> fields;
  fields.reserve(desc_.parts.size());
  const std::string* array_field = nullptr;
  for (const auto& p : desc_.parts) {
    fields.push_back(values_for(doc, p.path));
    if (fields.back().through_array && fields.back().values.size() > 0) {
      if (array_field && *array_field != p.path.dotted()) {
        // Two fields through arrays: legal only when it is the same array.
        const auto& a = fields.back().array_prefix;
        const FieldValues* other = nullptr;
        for (size_t i = 0; i + 1 < fields.size(); ++i) {
          if (fields[i].through_array) other = &fields[i];
        }
        if (other && other->array_prefix != a) {
          return Status(kCannotIndexParallelArrays,
                        fmt::format("cannot index parallel arrays [{}] [{}]", mql::FieldPath(a).part(
                                                                                  mql::FieldPath(a).size() - 1),
                                    mql::FieldPath(other->array_prefix).part(mql::FieldPath(other->array_prefix).size() - 1)));
        }
      }
      array_field = &p.path.dotted();
    }
  }
  // Cartesian product of the fields' values.
  std::vector<size_t> idx(fields.size(), 0);
  while (true) {
    GeneratedKey k;
    bson_t vals = BSON_INITIALIZER;
    for (size_t i = 0; i < fields.size(); ++i) {
      const bson_value_t* v = &fields[i].values[idx[i]];
      keystring::append_value(k.bytes, v, desc_.collator.get(), desc_.parts[i].descending);
      const std::string& name = desc_.parts[i].path.dotted();
      bson_append_value(&vals, name.data(), static_cast<int>(name.size()), v);
    }
    k.values = Bson::steal(&vals);
    keys->push_back(std::move(k));
    size_t i = fields.size();
    while (i > 0) {
      --i;
      if (++idx[i] < fields[i].values.size()) break;
      idx[i] = 0;
      if (i == 0) {
        i = fields.size() + 1;
        break;
      }
    }
    if (i == fields.size() + 1 || fields.empty()) break;
  }
  std::sort(keys->begin(), keys->end(), [](const GeneratedKey& a, const GeneratedKey& b) { return a.bytes < b.bytes; });
  keys->erase(std::unique(keys->begin(), keys->end(),
                          [](const GeneratedKey& a, const GeneratedKey& b) { return a.bytes == b.bytes; }),
              keys->end());
  return Status::OK();
}

Status Index::keys_for(const bson_t* doc, std::vector<std::string>* keys, bool* is_multikey) const {
  keys->clear();
  if (!desc_.has_entries() || skips(doc)) return Status::OK();
  // Fast path: one field, not reached through an array (the common _id and scalar case).
  if (desc_.parts.size() == 1 && desc_.parts[0].path.size() == 1) {
    bson_iter_t it;
    std::string_view name = desc_.parts[0].path.part(0);
    if (bson_iter_init(&it, doc) && bson_iter_find_w_len(&it, name.data(), static_cast<int>(name.size()))) {
      if (bson_iter_type(&it) != BSON_TYPE_ARRAY) {
        keys->emplace_back();
        keystring::append_value(keys->back(), bson_iter_value(&it), desc_.collator.get(), desc_.parts[0].descending);
        if (is_multikey) *is_multikey = false;
        return Status::OK();
      }
    } else {
      keys->emplace_back();
      keystring::append_value(keys->back(), &kNullValue, desc_.collator.get(), desc_.parts[0].descending);
      if (is_multikey) *is_multikey = false;
      return Status::OK();
    }
  }
  std::vector<GeneratedKey> gk;
  MS_RETURN_IF_ERROR(keys_with_values(doc, &gk));
  bool mk = false;
  for (const auto& p : desc_.parts) {
    bool arr = false;
    auto visit = [&](const mql::PathHit& h) {
      if (h.leaf_element || h.array_pos >= 0 || (h.it && bson_iter_type(h.it) == BSON_TYPE_ARRAY)) arr = true;
      return arr;
    };
    mql::traverse(doc, p.path, true, visit);
    mk = mk || arr;
  }
  if (is_multikey) *is_multikey = mk;
  for (auto& k : gk) keys->push_back(std::move(k.bytes));
  return Status::OK();
}

int64_t Index::find_unique(const std::string& key) const {
  // Keys that only grow (ObjectIds, counters, dates) sort after every entry: one comparison.
  if (entries_.empty() || entries_.rbegin()->first < key) return -1;
  auto it = entries_.find(key);
  return it == entries_.end() ? -1 : it->second;
}

int64_t Index::find_other_with_prefix(const std::string& key, int64_t self) const {
  // Entries are key + 8-byte RecordId; every entry for `key` has exactly that length.
  for (auto it = entries_.lower_bound(key); it != entries_.end(); ++it) {
    if (it->first.size() != key.size() + 8 || it->first.compare(0, key.size(), key) != 0) break;
    if (it->second != self) return it->second;
  }
  return -1;
}

void Index::add(const std::vector<std::string>& keys, int64_t rid, bool is_multikey) {
  if (is_multikey) multikey_ = true;
  auto put = [&](std::string entry) {
    size_t bytes = entry.size();
    size_t before = entries_.size();
    // An entry after every other (growing _ids, dates) goes in at the end without a search.
    if (!entries_.empty() && entries_.rbegin()->first < entry) {
      entries_.emplace_hint(entries_.end(), std::move(entry), rid);
    } else {
      entries_.emplace(std::move(entry), rid);
    }
    if (entries_.size() != before) key_bytes_ += static_cast<int64_t>(bytes);
  };
  for (const auto& k : keys) {
    if (desc_.unique) {
      put(k);
    } else {
      std::string full = k;
      keystring::append_record_id(full, rid);
      put(std::move(full));
    }
  }
}

void Index::remove(const std::vector<std::string>& keys, int64_t rid) {
  for (const auto& k : keys) {
    if (desc_.unique) {
      auto it = entries_.find(k);
      if (it != entries_.end() && it->second == rid) {
        key_bytes_ -= static_cast<int64_t>(it->first.size());
        entries_.erase(it);
      }
    } else {
      std::string full = k;
      keystring::append_record_id(full, rid);
      if (entries_.erase(full) > 0) key_bytes_ -= static_cast<int64_t>(full.size());
    }
  }
}

void Index::clear() {
  entries_.clear();
  key_bytes_ = 0;
  multikey_ = false;
}

// Kept as a running total: collStats and dbStats (which tools poll) must not walk the index.
int64_t Index::approximate_size() const { return 4096 + key_bytes_ + 16 * static_cast<int64_t>(entries_.size()); }

Status Index::duplicate_key_error(const std::string& ns, const Bson& values) const {
  // "dup key: { a: 1 }" lists the key fields with their values.
  std::string msg = fmt::format("E11000 duplicate key error collection: {} index: {}", ns, desc_.name);
  if (desc_.collator) msg += " collation: " + desc_.collator->locale();
  msg += " dup key: " + common::to_server_string(values.get());
  bson_t extra = BSON_INITIALIZER;
  bson_append_document(&extra, "keyPattern", -1, desc_.key.get());
  bson_append_document(&extra, "keyValue", -1, values.get());
  Status st(common::kDuplicateKey, msg);
  Bson e = Bson::steal(&extra);
  st.with_extra_info(std::string(e.bytes()));
  return st;
}

}  // namespace sim::engine
