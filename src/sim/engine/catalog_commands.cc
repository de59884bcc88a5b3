// create, drop, dropDatabase, listDatabases, listCollections, renameCollection, collMod,
// dbStats, collStats (mongodb-reference.md §3.7, §3.8, §3.10).
#include <sys/statvfs.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <shared_mutex>

#include "mql/matcher.h"
#include "mql/pipeline.h"
#include "sim/engine/args.h"
#include "sim/engine/catalog_ops.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/oplog_read.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

void append_number(bson_t* b, const char* key, int64_t v) {
  if (v >= INT32_MIN && v <= INT32_MAX) {
    bson_append_int32(b, key, -1, static_cast<int32_t>(v));
  } else {
    bson_append_int64(b, key, -1, v);
  }
}

Status check_enum(const bson_iter_t* it, const char* field, std::initializer_list<const char*> allowed) {
  if (!BSON_ITER_HOLDS_UTF8(it)) {
    return Status(common::kTypeMismatch, fmt::format("BSON field '{}' is the wrong type '{}', expected type 'string'", field,
                                                     common::type_alias(bson_iter_type(it))));
  }
  std::string v = bson_iter_utf8(it, nullptr);
  for (const char* a : allowed) {
    if (v == a) return Status::OK();
  }
  return Status(common::kBadValue, fmt::format("Enumeration value '{}' for field '{}' is not a valid value.", v, field));
}

}  // namespace

Result<CollectionOptions> parse_create_options(const bson_t* body, mql::ServerVersion version, ViewRequest* view) {
  CollectionOptions o;
  bson_t raw = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  bool has_size = false;
  Bson timeseries_out;
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "capped") {
      o.capped = common::value_truthy(&it);
      if (o.capped) bson_append_bool(&raw, "capped", -1, true);
    } else if (k == "size") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) return args::wrong_type("create", "size", &it, "[long, int, decimal, double]");
      double d = bson_iter_as_double(&it);
      if (d < 0 || d > 1e15) return Status(common::kBadValue, "size must be between 0 and 1 PB");
      o.capped_size = static_cast<int64_t>(d);
      has_size = true;
    } else if (k == "max") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) return args::wrong_type("create", "max", &it, "[long, int, decimal, double]");
      int64_t m = bson_iter_as_int64(&it);
      o.capped_max = m < 0 ? 0 : m;
    } else if (k == "validator") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("create", "validator", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      o.validator = Bson(data, len);
      mql::ExpressionContext ectx;
      ectx.version = version;
      MS_ASSIGN_OR_RETURN(auto m, mql::Matcher::parse(o.validator.get(), ectx));
      (void)m;
    } else if (k == "validationLevel") {
      MS_RETURN_IF_ERROR(check_enum(&it, "validationLevel", {"off", "strict", "moderate"}));
      o.validation_level = bson_iter_utf8(&it, nullptr);
    } else if (k == "validationAction") {
      if (version >= 71) {
        MS_RETURN_IF_ERROR(check_enum(&it, "validationAction", {"error", "warn", "errorAndLog"}));
      } else {
        MS_RETURN_IF_ERROR(check_enum(&it, "validationAction", {"error", "warn"}));
      }
      o.validation_action = bson_iter_utf8(&it, nullptr);
    } else if (k == "collation") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("create", "collation", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_t spec;
      bson_init_static(&spec, data, len);
      MS_ASSIGN_OR_RETURN(o.collator, mql::Collator::make(&spec));
    } else if (k == "viewOn") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) return args::wrong_type("create", "viewOn", &it, "string");
      view->view_on = bson_iter_utf8(&it, nullptr);
      view->is_view = true;
    } else if (k == "pipeline") {
      if (!BSON_ITER_HOLDS_ARRAY(&it)) return args::wrong_type("create", "pipeline", &it, "array");
      uint32_t len;
      const uint8_t* data;
      bson_iter_array(&it, &len, &data);
      view->pipeline = Bson(data, len);
      view->has_pipeline = true;
    } else if (k == "timeseries") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("create", "timeseries", &it, "object");
      if (version < 50) return Status(common::kUnrecognizedCommandField, "BSON field 'create.timeseries' is an unknown field.");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_t ts;
      bson_init_static(&ts, data, len);
      std::string time_field, meta_field, granularity = "seconds";
      std::optional<int64_t> max_span, rounding;
      bson_iter_t t;
      bson_iter_init(&t, &ts);
      while (bson_iter_next(&t)) {
        std::string_view tk = bson_iter_key(&t);
        if (tk == "timeField") {
          if (!BSON_ITER_HOLDS_UTF8(&t)) return args::wrong_type("create.timeseries", "timeField", &t, "string");
          time_field = bson_iter_utf8(&t, nullptr);
        } else if (tk == "metaField") {
          if (!BSON_ITER_HOLDS_UTF8(&t)) return args::wrong_type("create.timeseries", "metaField", &t, "string");
          meta_field = bson_iter_utf8(&t, nullptr);
        } else if (tk == "granularity") {
          MS_RETURN_IF_ERROR(check_enum(&t, "granularity", {"seconds", "minutes", "hours"}));
          granularity = bson_iter_utf8(&t, nullptr);
        } else if (tk == "bucketMaxSpanSeconds") {
          max_span = bson_iter_as_int64(&t);
        } else if (tk == "bucketRoundingSeconds") {
          rounding = bson_iter_as_int64(&t);
        } else {
          return Status(common::kUnrecognizedCommandField, fmt::format("BSON field 'create.timeseries.{}' is an unknown field.", tk));
        }
      }
      if (time_field.empty()) {
        return Status(40414, "BSON field 'create.timeseries.timeField' is missing but a required field");
      }
      if (!meta_field.empty() && meta_field == time_field) {
        return Status(common::kInvalidOptions, fmt::format("The 'metaField' option cannot be the same as the 'timeField' option"));
      }
      int64_t span = granularity == "seconds" ? 3600 : granularity == "minutes" ? 86400 : 2592000;
      bson_t out = BSON_INITIALIZER;
      common::append_utf8(&out, "timeField", time_field);
      if (!meta_field.empty()) common::append_utf8(&out, "metaField", meta_field);
      if (!max_span || version < 63) common::append_utf8(&out, "granularity", granularity);
      bson_append_int32(&out, "bucketMaxSpanSeconds", -1, static_cast<int32_t>(max_span.value_or(span)));
      if (rounding && version >= 63) bson_append_int32(&out, "bucketRoundingSeconds", -1, static_cast<int32_t>(*rounding));
      o.timeseries = Bson::steal(&out);
    } else if (k == "expireAfterSeconds") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) return args::wrong_type("create", "expireAfterSeconds", &it, "[long, int, decimal, double]");
      int64_t e = bson_iter_as_int64(&it);
      if (e < 0) return Status(common::kInvalidOptions, "TTL index 'expireAfterSeconds' option cannot be less than 0");
      o.expire_after_seconds = e;
    } else if (k == "clusteredIndex") {
      if (version < 53) return Status(common::kUnrecognizedCommandField, "BSON field 'create.clusteredIndex' is an unknown field.");
      if (BSON_ITER_HOLDS_BOOL(&it)) {
        o.clustered = bson_iter_bool(&it);
        if (o.clustered) {
          bson_t ci = BSON_INITIALIZER, key;
          bson_append_int32(&ci, "v", 1, 2);
          bson_append_document_begin(&ci, "key", 3, &key);
          bson_append_int32(&key, "_id", 3, 1);
          bson_append_document_end(&ci, &key);
          bson_append_utf8(&ci, "name", 4, "_id_", 4);
          bson_append_bool(&ci, "unique", 6, true);
          o.clustered_index = Bson::steal(&ci);
        }
      } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&it, &len, &data);
        bson_t spec;
        bson_init_static(&spec, data, len);
        bson_iter_t ci;
        bson_iter_init(&ci, &spec);
        bool has_key = false, unique = false;
        std::string name = "_id_";
        int32_t v = 2;
        while (bson_iter_next(&ci)) {
          std::string_view ck = bson_iter_key(&ci);
          if (ck == "key") {
            has_key = true;
            bool ok = false;
            if (BSON_ITER_HOLDS_DOCUMENT(&ci)) {
              bson_iter_t kk;
              bson_iter_recurse(&ci, &kk);
              ok = bson_iter_next(&kk) && std::string_view(bson_iter_key(&kk)) == "_id" && BSON_ITER_HOLDS_NUMBER(&kk) &&
                   bson_iter_as_double(&kk) == 1.0 && !bson_iter_next(&kk);
            }
            if (!ok) return Status(6053701, "The clusteredIndex option is only supported for key: {_id: 1}");
          } else if (ck == "unique") {
            unique = common::value_truthy(&ci);
          } else if (ck == "name") {
            if (!BSON_ITER_HOLDS_UTF8(&ci)) return args::wrong_type("create.clusteredIndex", "name", &ci, "string");
            name = bson_iter_utf8(&ci, nullptr);
          } else if (ck == "v") {
            v = static_cast<int32_t>(bson_iter_as_int64(&ci));
          } else {
            return Status(common::kUnrecognizedCommandField,
                          fmt::format("BSON field 'create.clusteredIndex.{}' is an unknown field.", ck));
          }
        }
        if (!has_key) return Status(40414, "BSON field 'create.clusteredIndex.key' is missing but a required field");
        if (!unique) return Status(common::kInvalidOptions, "The clusteredIndex option requires unique: true");
        bson_t out = BSON_INITIALIZER, key;
        bson_append_int32(&out, "v", 1, v);
        bson_append_document_begin(&out, "key", 3, &key);
        bson_append_int32(&key, "_id", 3, 1);
        bson_append_document_end(&out, &key);
        common::append_utf8(&out, "name", name);
        bson_append_bool(&out, "unique", 6, true);
        o.clustered = true;
        o.clustered_index = Bson::steal(&out);
      } else {
        return args::wrong_type("create", "clusteredIndex", &it, "[bool, object]");
      }
    } else if (k == "changeStreamPreAndPostImages") {
      if (version < 60) {
        return Status(common::kUnrecognizedCommandField, "BSON field 'create.changeStreamPreAndPostImages' is an unknown field.");
      }
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("create", "changeStreamPreAndPostImages", &it, "object");
      bson_iter_t e;
      bson_iter_recurse(&it, &e);
      if (!bson_iter_find(&e, "enabled")) {
        return Status(40414, "BSON field 'create.changeStreamPreAndPostImages.enabled' is missing but a required field");
      }
      if (!BSON_ITER_HOLDS_BOOL(&e)) return args::wrong_type("create.changeStreamPreAndPostImages", "enabled", &e, "bool");
      o.pre_post_images = bson_iter_bool(&e);
    } else if (k == "indexOptionDefaults") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("create", "indexOptionDefaults", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      o.index_option_defaults = Bson(data, len);
    } else if (k == "storageEngine") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return args::wrong_type("create", "storageEngine", &it, "object");
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      o.storage_engine = Bson(data, len);
    } else if (k == "autoIndexId" || k == "flags" || k == "temp" || k == "idIndex" || k == "encryptedFields" ||
               k == "recordPreImages" || k == "$_requestedUUID") {
      // accepted, kept in options where the server keeps them
    } else if (!is_generic_argument(k)) {
      return Status(common::kUnrecognizedCommandField, fmt::format("BSON field 'create.{}' is an unknown field.", k));
    }
  }
  if (o.capped && !has_size) return Status(common::kInvalidOptions, "the 'size' field is required when 'capped' is true");
  if (o.capped && o.capped_size > 0) o.capped_size = (o.capped_size + 255) / 256 * 256;
  if (o.capped && o.capped_size == 0) o.capped_size = 4096;
  if (view->has_pipeline && !view->is_view) {
    return Status(common::kBadValue, "'pipeline' requires 'viewOn' to also be specified");
  }
  if (view->is_view) {
    if (o.capped || !o.validator.empty() || !o.timeseries.empty() || o.clustered) {
      return Status(common::kInvalidOptions, "Invalid option for a view; only 'viewOn', 'pipeline' and 'collation' are allowed");
    }
    if (!view->has_pipeline) {
      bson_t empty = BSON_INITIALIZER;
      view->pipeline = Bson::steal(&empty);
    }
  }
  if (o.expire_after_seconds && o.timeseries.empty() && !o.clustered) {
    return Status(common::kInvalidOptions,
                  "'expireAfterSeconds' is only supported on time-series collections or clustered collections");
  }
  if (o.capped && o.clustered) return Status(common::kInvalidOptions, "Clustered collections cannot be capped");
  // The options document as listCollections shows it (create's fields in the server's order).
  if (o.capped) {
    append_number(&raw, "size", o.capped_size);
    if (o.capped_max > 0) append_number(&raw, "max", o.capped_max);
  }
  if (!o.validator.empty()) bson_append_document(&raw, "validator", -1, o.validator.get());
  bson_iter_t lv;
  if (bson_iter_init_find(&lv, body, "validationLevel")) bson_append_iter(&raw, "validationLevel", -1, &lv);
  if (bson_iter_init_find(&lv, body, "validationAction")) bson_append_iter(&raw, "validationAction", -1, &lv);
  if (!o.index_option_defaults.empty()) bson_append_document(&raw, "indexOptionDefaults", -1, o.index_option_defaults.get());
  if (!o.storage_engine.empty()) bson_append_document(&raw, "storageEngine", -1, o.storage_engine.get());
  if (o.collator) {
    Bson cs = o.collator->spec();
    bson_append_document(&raw, "collation", -1, cs.get());
  }
  if (bson_iter_init_find(&lv, body, "changeStreamPreAndPostImages")) {
    bson_t cs;
    bson_append_document_begin(&raw, "changeStreamPreAndPostImages", -1, &cs);
    bson_append_bool(&cs, "enabled", -1, o.pre_post_images);
    bson_append_document_end(&raw, &cs);
  }
  if (o.clustered && o.timeseries.empty()) bson_append_document(&raw, "clusteredIndex", -1, o.clustered_index.get());
  if (!o.timeseries.empty()) bson_append_document(&raw, "timeseries", -1, o.timeseries.get());
  if (o.expire_after_seconds) bson_append_int64(&raw, "expireAfterSeconds", -1, *o.expire_after_seconds);
  o.raw = Bson::steal(&raw);
  return o;
}

namespace {

Status cmd_create(EngineImpl& e, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(c.body(), "create"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  ViewRequest vr;
  MS_ASSIGN_OR_RETURN(CollectionOptions opts, parse_create_options(c.body(), e.version(), &vr));
  (void)reply;
  if (vr.is_view) return create_view(e, c.req.db, name, vr, opts.collator);
  if (!opts.timeseries.empty()) return create_timeseries(e, c.req.db, name, std::move(opts));
  if (is_system_collection(name) && name != "system.js" && name != "system.profile" &&
      !(c.req.db == "admin" && (name == "system.users" || name == "system.roles" || name == "system.version"))) {
    return Status(common::kInvalidNamespace, fmt::format("Invalid system namespace: {}.{}", c.req.db, name));
  }
  auto created = e.catalog.create_collection(c.req.db, name, opts);
  if (!created.ok()) {
    if (created.status().code() == common::kNamespaceExists && e.version() >= 70) {
      // 7.0+: creating a collection that exists with the same options succeeds.
      auto existing = e.catalog.find(c.req.db, name);
      if (existing && existing->options().raw.size() == opts.raw.size() &&
          std::memcmp(existing->options().raw.data(), opts.raw.data(), opts.raw.size()) == 0) {
        return Status::OK();
      }
      return Status(common::kNamespaceExists,
                    fmt::format("namespace {}.{} already exists, but with different options", c.req.db, name));
    }
    return created.status();
  }
  return Status::OK();
}

Status cmd_drop(EngineImpl& e, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(c.body(), "drop"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  std::string ns = ns_of(c.req.db, name);
  if (e.catalog.find_view(c.req.db, name)) {
    auto coll = e.catalog.find(c.req.db, "system.buckets." + name);
    e.catalog.drop_view(c.req.db, name);
    if (coll) e.catalog.drop_collection(c.req.db, "system.buckets." + name);
    common::append_utf8(reply, "ns", ns);
    return Status::OK();
  }
  auto coll = e.catalog.find(c.req.db, name);
  if (!coll) {
    if (e.version() >= 70) return Status::OK();
    return Status(common::kNamespaceNotFound, "ns not found");
  }
  if (name == "system.views" || (c.req.db == "admin" && name == "system.version")) {
    return Status(common::kIllegalOperation, fmt::format("can't drop system collection {}", ns));
  }
  int32_t n_indexes = 0;
  {
    std::shared_lock lk(coll->mu);
    n_indexes = static_cast<int32_t>(coll->indexes().size());
  }
  e.catalog.drop_collection(c.req.db, name);
  bson_append_int32(reply, "nIndexesWas", -1, n_indexes);
  common::append_utf8(reply, "ns", ns);
  return Status::OK();
}

Status cmd_drop_database(EngineImpl& e, CommandContext& c, bson_t* reply) {
  if (c.req.db == "admin") return Status(common::kIllegalOperation, "Dropping the 'admin' database is prohibited.");
  if (c.req.db == "local" && !e.server.options.standalone) {
    return Status(common::kIllegalOperation, "Cannot drop 'local' database while replication is active");
  }
  MS_RETURN_IF_ERROR(validate_db_name(c.req.db));
  if (e.catalog.drop_database(c.req.db)) common::append_utf8(reply, "dropped", c.req.db);
  return Status::OK();
}

int64_t database_size(EngineImpl& e, const std::string& db) {
  int64_t total = 0;
  for (const auto& coll : e.catalog.collections(db)) {
    std::shared_lock lk(coll->mu);
    total += coll->storage_size() + coll->total_index_size();
  }
  return total;
}

Status cmd_list_databases(EngineImpl& e, CommandContext& c, bson_t* reply) {
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(c.body(), "listDatabases",
                                 {{"filter", Type::kObjectOrNull}, {"nameOnly", Type::kBool},
                                  {"authorizedDatabases", Type::kBool}}));
  bool name_only = args::flag(c.body(), "nameOnly");
  std::unique_ptr<mql::Matcher> filter;
  mql::ExpressionContext ectx;
  ectx.version = e.version();
  if (auto f = args::object(c.body(), "filter")) {
    if (!bson_empty(f->get())) {
      MS_ASSIGN_OR_RETURN(filter, mql::Matcher::parse(f->get(), ectx));
    }
  }
  bson_t arr;
  bson_append_array_begin(reply, "databases", -1, &arr);
  int64_t total = 0;
  uint32_t i = 0;
  char buf[16];
  auto names = e.catalog.database_names();
  for (const auto& name : names) {
    bson_t d = BSON_INITIALIZER;
    common::append_utf8(&d, "name", name);
    int64_t size = 0;
    if (!name_only) {
      size = database_size(e, name);
      bson_append_int64(&d, "sizeOnDisk", -1, size);
      bson_append_bool(&d, "empty", -1, false);
    }
    if (filter && !filter->matches(&d)) {
      bson_destroy(&d);
      continue;
    }
    total += size;
    auto k = common::array_key(i++, buf);
    bson_append_document(&arr, k.data(), static_cast<int>(k.size()), &d);
    bson_destroy(&d);
  }
  bson_append_array_end(reply, &arr);
  if (!name_only) {
    bson_append_int64(reply, "totalSize", -1, total);
    bson_append_int64(reply, "totalSizeMb", -1, total / (1024 * 1024));
  }
  return Status::OK();
}

Bson collection_info(const Collection& coll) {
  bson_t d = BSON_INITIALIZER, info;
  common::append_utf8(&d, "name", coll.name());
  common::append_utf8(&d, "type", "collection");
  bson_append_document(&d, "options", -1, coll.options().raw.get());
  bson_append_document_begin(&d, "info", -1, &info);
  bson_append_bool(&info, "readOnly", -1, false);
  bson_append_binary(&info, "uuid", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(coll.uuid().data()), 16);
  bson_append_document_end(&d, &info);
  if (!coll.options().clustered) {
    bson_t idx, key;
    bson_append_document_begin(&d, "idIndex", -1, &idx);
    bson_append_int32(&idx, "v", 1, 2);
    bson_append_document_begin(&idx, "key", 3, &key);
    bson_append_int32(&key, "_id", 3, 1);
    bson_append_document_end(&idx, &key);
    bson_append_utf8(&idx, "name", 4, "_id_", 4);
    if (coll.options().collator) {
      Bson cs = coll.options().collator->spec();
      bson_append_document(&idx, "collation", -1, cs.get());
    }
    bson_append_document_end(&d, &idx);
  }
  return Bson::steal(&d);
}

Bson view_info(const ViewDef& v, const Collection* buckets) {
  bson_t d = BSON_INITIALIZER, opts, info;
  common::append_utf8(&d, "name", v.name);
  if (buckets && !buckets->options().timeseries.empty()) {
    common::append_utf8(&d, "type", "timeseries");
    bson_append_document_begin(&d, "options", -1, &opts);
    bson_append_document(&opts, "timeseries", -1, buckets->options().timeseries.get());
    if (buckets->options().expire_after_seconds) {
      bson_append_int64(&opts, "expireAfterSeconds", -1, *buckets->options().expire_after_seconds);
    }
    bson_append_document_end(&d, &opts);
    bson_append_document_begin(&d, "info", -1, &info);
    bson_append_bool(&info, "readOnly", -1, false);
    bson_append_document_end(&d, &info);
    return Bson::steal(&d);
  }
  common::append_utf8(&d, "type", "view");
  bson_append_document_begin(&d, "options", -1, &opts);
  common::append_utf8(&opts, "viewOn", v.view_on);
  bson_append_array(&opts, "pipeline", -1, v.pipeline.get());
  if (!v.collation_spec.empty()) bson_append_document(&opts, "collation", -1, v.collation_spec.get());
  bson_append_document_end(&d, &opts);
  bson_append_document_begin(&d, "info", -1, &info);
  bson_append_bool(&info, "readOnly", -1, true);
  bson_append_document_end(&d, &info);
  return Bson::steal(&d);
}

Status cmd_list_collections(EngineImpl& e, CommandContext& c, bson_t* reply) {
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(c.body(), "listCollections",
                                 {{"filter", Type::kObjectOrNull}, {"nameOnly", Type::kBool},
                                  {"authorizedCollections", Type::kBool}, {"cursor", Type::kObject},
                                  {"includePendingDrops", Type::kBool}}));
  MS_RETURN_IF_ERROR(validate_db_name(c.req.db));
  bool name_only = args::flag(c.body(), "nameOnly");
  std::unique_ptr<mql::Matcher> filter;
  mql::ExpressionContext ectx;
  ectx.version = e.version();
  if (auto f = args::object(c.body(), "filter")) {
    if (!bson_empty(f->get())) {
      MS_ASSIGN_OR_RETURN(filter, mql::Matcher::parse(f->get(), ectx));
    }
  }
  int64_t batch_size = -1;
  if (auto cur = args::object(c.body(), "cursor")) {
    bson_iter_t bs;
    if (bson_iter_init_find(&bs, cur->get(), "batchSize")) {
      if (!BSON_ITER_HOLDS_NUMBER(&bs)) return args::wrong_type("listCollections.cursor", "batchSize", &bs, "[long, int, decimal, double]");
      batch_size = bson_iter_as_int64(&bs);
      if (batch_size < 0) return Status(51024, fmt::format("BSON field 'batchSize' value must be >= 0, actual value '{}'", batch_size));
    }
  }
  std::vector<std::pair<std::string, Bson>> entries;
  for (const auto& coll : e.catalog.collections(c.req.db)) {
    std::shared_lock lk(coll->mu);
    entries.emplace_back(coll->name(), collection_info(*coll));
  }
  for (const auto& v : e.catalog.views(c.req.db)) {
    auto buckets = e.catalog.find(c.req.db, "system.buckets." + v.name);
    entries.emplace_back(v.name, view_info(v, buckets.get()));
  }
  if (c.req.db == "local" && oplog_store(e)) entries.emplace_back("oplog.rs", oplog_collection_info(e));
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Bson> out;
  for (auto& [name, info] : entries) {
    Bson d = std::move(info);
    if (name_only) {
      bson_t n = BSON_INITIALIZER;
      bson_iter_t it;
      bson_iter_init_find(&it, d.get(), "name");
      bson_append_iter(&n, "name", -1, &it);
      bson_iter_init_find(&it, d.get(), "type");
      bson_append_iter(&n, "type", -1, &it);
      d = Bson::steal(&n);
    }
    if (filter && !filter->matches(d.get())) continue;
    out.push_back(std::move(d));
  }
  auto cursor = std::make_shared<Cursor>();
  cursor->ns = c.req.db + ".$cmd.listCollections";
  cursor->db = c.req.db;
  cursor->getmore_coll = "$cmd.listCollections";
  cursor->source = std::make_unique<VectorCursorSource>(std::move(out));
  return e.reply_with_cursor(cursor, batch_size < 0 ? INT64_MAX : batch_size, false, 0, reply, true);
}

Status cmd_rename_collection(EngineImpl& e, CommandContext& c, bson_t* reply) {
  using args::Type;
  const bson_t* body = c.body();
  MS_RETURN_IF_ERROR(args::check(body, "renameCollection",
                                 {{"to", Type::kString}, {"dropTarget", Type::kAny}, {"stayTemp", Type::kBool},
                                  {"collectionUUID", Type::kAny}}));
  bson_iter_t it;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  if (!BSON_ITER_HOLDS_UTF8(&it)) return args::wrong_type("renameCollection", "renameCollection", &it, "string");
  std::string from = bson_iter_utf8(&it, nullptr);
  auto to = args::string(body, "to");
  if (!to) return Status(40414, "BSON field 'renameCollection.to' is missing but a required field");
  auto split = [](const std::string& ns, std::string* db, std::string* coll) {
    auto dot = ns.find('.');
    if (dot == std::string::npos) return false;
    *db = ns.substr(0, dot);
    *coll = ns.substr(dot + 1);
    return true;
  };
  std::string fdb, fcoll, tdb, tcoll;
  if (!split(from, &fdb, &fcoll)) return Status(common::kInvalidNamespace, fmt::format("Invalid source namespace: {}", from));
  if (!split(*to, &tdb, &tcoll)) return Status(common::kInvalidNamespace, fmt::format("Invalid target namespace: {}", *to));
  MS_RETURN_IF_ERROR(validate_collection_name(fdb, fcoll));
  MS_RETURN_IF_ERROR(validate_collection_name(tdb, tcoll));
  if (from == *to) return Status(common::kIllegalOperation, "Can't rename a collection to itself");
  if (is_system_collection(tcoll) && tcoll.substr(0, 15) != "system.buckets.") {
    return Status(common::kIllegalOperation, fmt::format("Invalid target namespace: {}", *to));
  }
  bool drop_target = false;
  bson_iter_t dt;
  if (bson_iter_init_find(&dt, body, "dropTarget")) drop_target = common::value_truthy(&dt);
  (void)reply;
  return e.catalog.rename_collection(fdb, fcoll, tdb, tcoll, drop_target, args::flag(body, "stayTemp"));
}

Status fs_sizes(EngineImpl& e, int64_t* total, int64_t* used) {
  if (e.fs_override) {
    *total = e.fs_override->first;
    *used = e.fs_override->second;
    return Status::OK();
  }
  struct statvfs s;
  std::string path = e.server.options.dbpath.empty() ? "/" : e.server.options.dbpath;
  if (statvfs(path.c_str(), &s) != 0) {
    *total = *used = 0;
    return Status::OK();
  }
  *total = static_cast<int64_t>(s.f_blocks) * static_cast<int64_t>(s.f_frsize);
  *used = *total - static_cast<int64_t>(s.f_bfree) * static_cast<int64_t>(s.f_frsize);
  return Status::OK();
}

Result<int64_t> parse_scale(const bson_t* body) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, body, "scale")) return int64_t{1};
  if (!BSON_ITER_HOLDS_NUMBER(&it)) return Status(common::kTypeMismatch, "scale has to be a number");
  int64_t s = bson_iter_as_int64(&it);
  if (s < 1) return Status(common::kBadValue, "Scale factor must be greater than zero");
  return s;
}

Status cmd_db_stats(EngineImpl& e, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(int64_t scale, parse_scale(c.body()));
  int64_t collections = 0, objects = 0, data = 0, storage = 0, indexes = 0, index_size = 0;
  for (const auto& coll : e.catalog.collections(c.req.db)) {
    std::shared_lock lk(coll->mu);
    ++collections;
    objects += static_cast<int64_t>(coll->count());
    data += coll->data_size();
    storage += coll->storage_size();
    indexes += static_cast<int64_t>(coll->indexes().size());
    index_size += coll->total_index_size();
  }
  int64_t views = static_cast<int64_t>(e.catalog.views(c.req.db).size());
  int64_t fs_total = 0, fs_used = 0;
  MS_RETURN_IF_ERROR(fs_sizes(e, &fs_total, &fs_used));
  common::append_utf8(reply, "db", c.req.db);
  bson_append_int64(reply, "collections", -1, collections);
  bson_append_int64(reply, "views", -1, views);
  bson_append_int64(reply, "objects", -1, objects);
  bson_append_double(reply, "avgObjSize", -1, objects ? static_cast<double>(data) / static_cast<double>(objects) : 0.0);
  bson_append_double(reply, "dataSize", -1, static_cast<double>(data / scale));
  bson_append_double(reply, "storageSize", -1, static_cast<double>(storage / scale));
  bson_append_int64(reply, "indexes", -1, indexes);
  bson_append_double(reply, "indexSize", -1, static_cast<double>(index_size / scale));
  bson_append_double(reply, "totalSize", -1, static_cast<double>((storage + index_size) / scale));
  bson_append_int64(reply, "scaleFactor", -1, scale);
  bson_append_double(reply, "fsUsedSize", -1, static_cast<double>(fs_used / scale));
  bson_append_double(reply, "fsTotalSize", -1, static_cast<double>(fs_total / scale));
  return Status::OK();
}

}  // namespace

// The fields and types of the server's appendCollectionStorageStats (storage_stats.cpp):
// sizes through appendNumber, an int when the value fits.
void append_storage_stats(const Collection& coll, int64_t scale, bson_t* out) {
  int64_t count = static_cast<int64_t>(coll.count());
  int64_t size = coll.data_size();
  append_number(out, "size", size / scale);
  append_number(out, "count", count);
  if (count) bson_append_int32(out, "avgObjSize", -1, static_cast<int32_t>(size / count));
  if (coll.version() >= 70) bson_append_int32(out, "numOrphanDocs", -1, 0);
  append_number(out, "storageSize", coll.storage_size() / scale);
  append_number(out, "freeStorageSize", 0);
  bson_append_bool(out, "capped", -1, coll.options().capped);
  if (coll.options().capped) {
    append_number(out, "max", coll.options().capped_max);
    append_number(out, "maxSize", coll.options().capped_size / scale);
  }
  bson_append_int32(out, "nindexes", -1, static_cast<int32_t>(coll.indexes().size()));
  bson_t details, ib, sizes;
  bson_append_document_begin(out, "indexDetails", -1, &details);
  bson_append_document_end(out, &details);
  bson_append_array_begin(out, "indexBuilds", -1, &ib);
  bson_append_array_end(out, &ib);
  append_number(out, "totalIndexSize", coll.total_index_size() / scale);
  append_number(out, "totalSize", (coll.storage_size() + coll.total_index_size()) / scale);
  bson_append_document_begin(out, "indexSizes", -1, &sizes);
  for (const auto& ix : coll.indexes()) append_number(&sizes, ix->desc().name.c_str(), ix->approximate_size() / scale);
  bson_append_document_end(out, &sizes);
  bson_append_int32(out, "scaleFactor", -1, static_cast<int32_t>(scale));
}

namespace {

Status cmd_coll_stats(EngineImpl& e, CommandContext& c, bson_t* reply) {
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(c.body(), "collStats"));
  MS_ASSIGN_OR_RETURN(int64_t scale, parse_scale(c.body()));
  if (is_oplog_ns(c.req.db, name) && oplog_store(e)) {
    common::append_utf8(reply, "ns", "local.oplog.rs");
    append_oplog_stats(e, scale, reply);
    return Status::OK();
  }
  auto coll = e.catalog.find(c.req.db, name);
  if (!coll) {
    if (e.catalog.find_view(c.req.db, name)) {
      return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", c.req.db, name));
    }
    return Status(common::kNamespaceNotFound, fmt::format("Collection [{}.{}] not found.", c.req.db, name));
  }
  std::shared_lock lk(coll->mu);
  common::append_utf8(reply, "ns", coll->ns());
  append_storage_stats(*coll, scale, reply);
  return Status::OK();
}

}  // namespace

void register_catalog_commands(EngineImpl& e, CommandRegistry& r) {
  EngineImpl* ep = &e;
  auto add = [&](const char* name, Status (*fn)(EngineImpl&, CommandContext&, bson_t*), bool write, const char* help,
                 bool admin_only = false, std::vector<std::string> aliases = {}) {
    CommandDef d = engine_command(name, [ep, fn](CommandContext& c, bson_t* reply) { return fn(*ep, c, reply); }, write,
                                  help, std::move(aliases));
    d.admin_only = admin_only;
    r.add(std::move(d));
  };
  add("create", cmd_create, true, "explicitly creates a collection or view");
  add("drop", cmd_drop, true, "drop a collection");
  add("dropDatabase", cmd_drop_database, true, "drop (delete) this database");
  add("listDatabases", cmd_list_databases, false, "{ listDatabases:1, [filter: <filterObject>] [, nameOnly: true ] }", true);
  add("listCollections", cmd_list_collections, false, "list collections for this db");
  add("renameCollection", cmd_rename_collection, true,
      " example: { renameCollection: foo.a, to: bar.b }", true);
  add("collMod", cmd_coll_mod, true, "Sets collection options.");
  add("dbStats", cmd_db_stats, false, "Get stats on a database.", false, {"dbstats"});
  add("collStats", cmd_coll_stats, false, "{ collStats:\"blog.posts\" , scale : 1 } scale divides sizes e.g. for KB use 1024",
      false, {"collstats"});
}

}  // namespace sim::engine
