// Views, time-series collections and collMod (see catalog_ops.h).
#include "sim/engine/catalog_ops.h"

#include <fmt/format.h>

#include <mutex>
#include <set>
#include <shared_mutex>

#include "mql/pipeline.h"
#include "sim/engine/args.h"
#include "sim/engine/key_string.h"
#include "sim/engine/timeseries.h"
#include "sim/engine/views.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr int kMaxViewDepth = 20;
constexpr int kCannotConvertIndexToUnique = 359;

Status check_view_graph(EngineImpl& e, const std::string& db, const std::string& name, const std::string& view_on) {
  // Follow viewOn: a cycle back to `name` or a chain deeper than 20 is refused.
  std::set<std::string> seen{name};
  std::string cur = view_on;
  int depth = 1;
  while (auto v = e.catalog.find_view(db, cur)) {
    if (seen.count(cur) || cur == name) {
      return Status(common::kGraphContainsCycle,
                    fmt::format("View cycle detected: {}", fmt::join(std::vector<std::string>(seen.begin(), seen.end()), " => ")));
    }
    seen.insert(cur);
    cur = v->view_on;
    if (++depth > kMaxViewDepth) {
      return Status(common::kViewDepthLimitExceeded, fmt::format("View depth too deep or view cycle detected; maximum depth is {}",
                                                                 kMaxViewDepth));
    }
  }
  if (cur == name) return Status(common::kGraphContainsCycle, "View cycle detected: " + name);
  return Status::OK();
}

}  // namespace

Status create_view(EngineImpl& e, const std::string& db, const std::string& name, const ViewRequest& vr,
                   const mql::CollatorPtr& collator) {
  MS_RETURN_IF_ERROR(validate_collection_name(db, vr.view_on));
  MS_RETURN_IF_ERROR(validate_view_pipeline(e, db, vr.pipeline));
  MS_RETURN_IF_ERROR(check_view_graph(e, db, name, vr.view_on));
  // A view on a view must share its collation.
  if (auto under = e.catalog.find_view(db, vr.view_on)) {
    if (!mql::same_collation(under->collator.get(), collator.get())) {
      return Status(common::kOptionNotSupportedOnView,
                    fmt::format("View {}.{} has conflicting collation with view {}.{}", db, name, db, vr.view_on));
    }
  }
  ViewDef v;
  v.db = db;
  v.name = name;
  v.view_on = vr.view_on;
  v.pipeline = vr.pipeline;
  v.collator = collator;
  if (collator) v.collation_spec = collator->spec();
  return e.catalog.create_view(std::move(v));
}

Status create_timeseries(EngineImpl& e, const std::string& db, const std::string& name, CollectionOptions opts) {
  // The server keeps measurements in system.buckets.<name> (clustered by _id) and serves
  // <name> as a view that unpacks buckets.
  std::string buckets = "system.buckets." + name;
  if (e.catalog.find(db, name) || e.catalog.find_view(db, name)) {
    return Status(common::kNamespaceExists, fmt::format("Collection {}.{} already exists.", db, name));
  }
  CollectionOptions bo = opts;
  bo.clustered = true;
  bson_t ci = BSON_INITIALIZER, key;
  bson_append_int32(&ci, "v", 1, 2);
  bson_append_document_begin(&ci, "key", 3, &key);
  bson_append_int32(&key, "_id", 3, 1);
  bson_append_document_end(&ci, &key);
  bson_append_utf8(&ci, "name", 4, "_id_", 4);
  bson_append_bool(&ci, "unique", 6, true);
  bo.clustered_index = Bson::steal(&ci);
  // The buckets collection's options as listCollections shows them.
  bson_t raw = BSON_INITIALIZER;
  bson_t val, js;
  bson_append_document_begin(&raw, "validator", -1, &val);
  bson_append_document_begin(&val, "$jsonSchema", -1, &js);
  common::append_utf8(&js, "bsonType", "object");
  bson_append_document_end(&val, &js);
  bson_append_document_end(&raw, &val);
  bson_append_bool(&raw, "clusteredIndex", -1, true);
  bson_append_document(&raw, "timeseries", -1, opts.timeseries.get());
  if (opts.expire_after_seconds) bson_append_int64(&raw, "expireAfterSeconds", -1, *opts.expire_after_seconds);
  bo.raw = Bson::steal(&raw);
  MS_ASSIGN_OR_RETURN(auto buckets_coll, e.catalog.create_collection(db, buckets, std::move(bo)));
  MS_RETURN_IF_ERROR(add_default_timeseries_index(e, *buckets_coll));
  bson_t pipe = BSON_INITIALIZER, stage, spec;
  bson_append_document_begin(&pipe, "0", 1, &stage);
  bson_append_document_begin(&stage, "$_internalUnpackBucket", -1, &spec);
  bson_iter_t it;
  bson_iter_init(&it, opts.timeseries.get());
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "timeField" || k == "metaField" || k == "bucketMaxSpanSeconds") bson_append_iter(&spec, k.data(), -1, &it);
  }
  bson_t excl;
  bson_append_array_begin(&spec, "exclude", -1, &excl);
  bson_append_array_end(&spec, &excl);
  bson_append_document_end(&stage, &spec);
  bson_append_document_end(&pipe, &stage);
  ViewDef v;
  v.db = db;
  v.name = name;
  v.view_on = buckets;
  v.pipeline = Bson::steal(&pipe);
  v.collator = opts.collator;
  if (opts.collator) v.collation_spec = opts.collator->spec();
  return e.catalog.create_view(std::move(v));
}

namespace {

Result<Index*> find_index_for_mod(const Collection& coll, const bson_t* spec) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
    Index* ix = coll.find_index(bson_iter_utf8(&it, nullptr));
    if (!ix) return Status(common::kIndexNotFound, fmt::format("cannot find index {} for ns {}", bson_iter_utf8(&it, nullptr), coll.ns()));
    return ix;
  }
  if (bson_iter_init_find(&it, spec, "keyPattern") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    bson_t key;
    bson_init_static(&key, data, len);
    for (const auto& ix : coll.indexes()) {
      if (ix->desc().key.size() == len && std::memcmp(ix->desc().key.data(), data, len) == 0) return ix.get();
    }
    return Status(common::kIndexNotFound, fmt::format("cannot find index {} for ns {}", common::to_server_string(&key), coll.ns()));
  }
  return Status(common::kInvalidOptions, "must specify either index name or key pattern");
}

// Rebuilds the listIndexes spec of an index after collMod changed one of its options.
void respec(IndexDescriptor& d, const char* field, const bson_value_t* v) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t it;
  bool done = false;
  bson_iter_init(&it, d.spec.get());
  while (bson_iter_next(&it)) {
    if (std::string_view(bson_iter_key(&it)) == field) {
      if (v) bson_append_value(&out, field, -1, v);
      done = true;
      continue;
    }
    bson_append_iter(&out, bson_iter_key(&it), -1, &it);
  }
  if (!done && v) bson_append_value(&out, field, -1, v);
  d.spec = Bson::steal(&out);
}

// collMod's index: {keyPattern|name, hidden, expireAfterSeconds, prepareUnique, unique}.
Status mod_index(Collection& coll, const bson_t* spec, bson_t* reply, bson_t* applied) {
  MS_ASSIGN_OR_RETURN(Index * ix, find_index_for_mod(coll, spec));
  IndexDescriptor& d = ix->mutable_desc();
  bson_iter_t it;
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "name" || k == "keyPattern") continue;
    if (k == "hidden") {
      if (d.is_id()) return Status(common::kBadValue, "can't hide _id index");
      bool nv = common::value_truthy(&it);
      if (nv != d.hidden) {
        bson_append_bool(reply, "hidden_old", -1, d.hidden);
        bson_append_bool(reply, "hidden_new", -1, nv);
        d.hidden = nv;
        bson_value_t v;
        v.value_type = BSON_TYPE_BOOL;
        v.value.v_bool = true;
        respec(d, "hidden", nv ? &v : nullptr);
      }
    } else if (k == "expireAfterSeconds") {
      if (!d.expire_after_seconds) {
        return Status(common::kInvalidOptions, "no expireAfterSeconds field to update");
      }
      if (!BSON_ITER_HOLDS_NUMBER(&it)) return Status(common::kInvalidOptions, "expireAfterSeconds must be a number");
      int64_t nv = bson_iter_as_int64(&it);
      if (nv < 0) return Status(common::kInvalidOptions, "TTL index 'expireAfterSeconds' option cannot be less than 0");
      bson_append_int64(reply, "expireAfterSeconds_old", -1, *d.expire_after_seconds);
      bson_append_int64(reply, "expireAfterSeconds_new", -1, nv);
      d.expire_after_seconds = nv;
      respec(d, "expireAfterSeconds", bson_iter_value(&it));
    } else if (k == "prepareUnique") {
      bool nv = common::value_truthy(&it);
      if (d.unique && nv) continue;
      if (nv != d.prepare_unique) {
        bson_append_bool(reply, "prepareUnique_old", -1, d.prepare_unique);
        bson_append_bool(reply, "prepareUnique_new", -1, nv);
        d.prepare_unique = nv;
        bson_value_t v;
        v.value_type = BSON_TYPE_BOOL;
        v.value.v_bool = true;
        respec(d, "prepareUnique", nv ? &v : nullptr);
      }
    } else if (k == "unique") {
      if (!common::value_truthy(&it)) return Status(common::kBadValue, "Cannot make index non-unique");
      if (d.unique) continue;
      if (!d.prepare_unique) {
        return Status(common::kInvalidOptions, "Cannot make index unique with 'prepareUnique=false'. Run 'collMod' to set it first.");
      }
      // Every group of documents sharing a key is a violation.
      std::vector<std::vector<int64_t>> groups;
      std::string last;
      std::vector<int64_t> cur;
      for (const auto& [key, rid] : ix->entries()) {
        std::string comp = key.substr(0, key.size() - 8);
        if (comp != last) {
          if (cur.size() > 1) groups.push_back(cur);
          cur.clear();
          last = comp;
        }
        if (std::find(cur.begin(), cur.end(), rid) == cur.end()) cur.push_back(rid);
      }
      if (cur.size() > 1) groups.push_back(cur);
      if (!groups.empty()) {
        bson_t extra = BSON_INITIALIZER, arr;
        bson_append_array_begin(&extra, "violations", -1, &arr);
        char buf[16], buf2[16];
        uint32_t gi = 0;
        for (const auto& g : groups) {
          bson_t vd, ids;
          auto gk = common::array_key(gi++, buf);
          bson_append_document_begin(&arr, gk.data(), static_cast<int>(gk.size()), &vd);
          bson_append_array_begin(&vd, "ids", -1, &ids);
          uint32_t ii = 0;
          for (int64_t rid : g) {
            const DocRef* doc = coll.find(rid);
            if (!doc) continue;
            bson_t v = doc->view();
            bson_iter_t id;
            if (bson_iter_init_find(&id, &v, "_id")) {
              auto ik = common::array_key(ii++, buf2);
              bson_append_iter(&ids, ik.data(), static_cast<int>(ik.size()), &id);
            }
          }
          bson_append_array_end(&vd, &ids);
          bson_append_document_end(&arr, &vd);
        }
        bson_append_array_end(&extra, &arr);
        Status st(kCannotConvertIndexToUnique,
                  "Cannot convert the index to unique. Please resolve conflicting documents before running collMod again.");
        Bson e = Bson::steal(&extra);
        st.with_extra_info(std::string(e.bytes()));
        return st;
      }
      // Rebuild as a unique index (entries keyed without the RecordId).
      IndexDescriptor nd = d;
      nd.unique = true;
      nd.prepare_unique = false;
      bson_value_t tv;
      tv.value_type = BSON_TYPE_BOOL;
      tv.value.v_bool = true;
      respec(nd, "prepareUnique", nullptr);
      // unique goes right after v, as createIndexes lays it out.
      bson_t s2 = BSON_INITIALIZER;
      bson_iter_t si;
      bson_iter_init(&si, nd.spec.get());
      while (bson_iter_next(&si)) {
        bson_append_iter(&s2, bson_iter_key(&si), -1, &si);
        if (std::string_view(bson_iter_key(&si)) == "v") bson_append_value(&s2, "unique", -1, &tv);
      }
      nd.spec = Bson::steal(&s2);
      std::string name = d.name;
      MS_RETURN_IF_ERROR(coll.drop_index(name));
      MS_RETURN_IF_ERROR(coll.add_index(std::move(nd)));
      bson_append_bool(reply, "unique_new", -1, true);
      ix = coll.find_index(name);
    } else if (k == "forceNonUnique") {
      // accepted; converting back is not supported here
    } else {
      return Status(common::kInvalidOptions, fmt::format("Unrecognized field '{}' in collMod index spec", k));
    }
  }
  bson_append_document(applied, "index", -1, spec);
  return Status::OK();
}

}  // namespace

Status cmd_coll_mod(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(
      body, "collMod",
      {{"validator", Type::kObject}, {"validationLevel", Type::kString}, {"validationAction", Type::kString},
       {"index", Type::kObject}, {"viewOn", Type::kString}, {"pipeline", Type::kArray}, {"expireAfterSeconds", Type::kAny},
       {"changeStreamPreAndPostImages", Type::kObject}, {"timeseries", Type::kObject}, {"dryRun", Type::kBool},
       {"cappedSize", Type::kInt64}, {"cappedMax", Type::kInt64}, {"recordPreImages", Type::kBool},
       {"collectionUUID", Type::kAny}, {"usePowerOf2Sizes", Type::kAny}, {"noPadding", Type::kAny},
       {"timeseriesBucketsMayHaveMixedSchemaData", Type::kBool}, {"isTimeseriesNamespace", Type::kBool}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "collMod"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  if (auto view = e.catalog.find_view(c.req.db, name)) {
    auto buckets = e.catalog.find(c.req.db, "system.buckets." + name);
    if (!buckets) {
      auto view_on = args::string(body, "viewOn");
      auto pipeline = args::array(body, "pipeline");
      if (!view_on && !pipeline) return Status::OK();
      std::string on = view_on.value_or(view->view_on);
      Bson p = pipeline ? Bson(pipeline->get()) : view->pipeline;
      MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, on));
      MS_RETURN_IF_ERROR(validate_view_pipeline(e, c.req.db, p));
      MS_RETURN_IF_ERROR(check_view_graph(e, c.req.db, name, on));
      return e.catalog.modify_view(c.req.db, name, on, std::move(p));
    }
    name = "system.buckets." + name;  // time-series: options live on the buckets collection
  }
  bson_iter_t it;
  if (common::find_field(body, "viewOn", &it) || common::find_field(body, "pipeline", &it)) {
    return Status(common::kInvalidOptions, "Only supported for views");
  }
  auto coll = e.catalog.find(c.req.db, name);
  if (!coll) return Status(common::kNamespaceNotFound, fmt::format("ns does not exist: {}.{}", c.req.db, name));
  std::unique_lock lk(coll->mu);
  CollectionOptions opts = coll->options();
  bson_t applied = BSON_INITIALIZER;
  bson_t old_values = BSON_INITIALIZER;
  common::append_utf8(&applied, "collMod", coll->name());
  bool options_changed = false;
  bson_iter_init(&it, body);
  bson_iter_next(&it);
  Status st;
  while (st.ok() && bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "validator") {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      Bson v(data, len);
      mql::ExpressionContext ectx;
      ectx.version = e.version();
      auto m = mql::Matcher::parse(v.get(), ectx);
      if (!m.ok()) {
        st = m.status();
        break;
      }
      if (!opts.validator.empty()) bson_append_document(&old_values, "validator", -1, opts.validator.get());
      opts.validator = bson_empty(v.get()) ? Bson() : v;
      options_changed = true;
      bson_append_iter(&applied, "validator", -1, &it);
    } else if (k == "validationLevel" || k == "validationAction") {
      std::string v = bson_iter_utf8(&it, nullptr);
      bool ok = k == "validationLevel" ? (v == "off" || v == "strict" || v == "moderate")
                                       : (v == "error" || v == "warn" || (e.version() >= 71 && v == "errorAndLog"));
      if (!ok) {
        st = Status(common::kBadValue, fmt::format("Enumeration value '{}' for field '{}' is not a valid value.", v, k));
        break;
      }
      if (k == "validationLevel") {
        opts.validation_level = v;
      } else {
        opts.validation_action = v;
      }
      options_changed = true;
      bson_append_iter(&applied, k.data(), -1, &it);
    } else if (k == "index") {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_t spec;
      bson_init_static(&spec, data, len);
      st = mod_index(*coll, &spec, reply, &applied);
    } else if (k == "expireAfterSeconds") {
      if (!opts.clustered) {
        st = Status(common::kInvalidOptions, "collMod 'expireAfterSeconds' is only supported on clustered collections");
        break;
      }
      if (BSON_ITER_HOLDS_UTF8(&it) && std::string_view(bson_iter_utf8(&it, nullptr)) == "off") {
        opts.expire_after_seconds.reset();
      } else if (BSON_ITER_HOLDS_NUMBER(&it)) {
        opts.expire_after_seconds = bson_iter_as_int64(&it);
      } else {
        st = Status(common::kInvalidOptions, "'expireAfterSeconds' must be a number or the string 'off'");
        break;
      }
      options_changed = true;
      bson_append_iter(&applied, "expireAfterSeconds", -1, &it);
    } else if (k == "changeStreamPreAndPostImages") {
      bson_iter_t en;
      bson_iter_recurse(&it, &en);
      if (!bson_iter_find(&en, "enabled") || !BSON_ITER_HOLDS_BOOL(&en)) {
        st = Status(40414, "BSON field 'collMod.changeStreamPreAndPostImages.enabled' is missing but a required field");
        break;
      }
      opts.pre_post_images = bson_iter_bool(&en);
      options_changed = true;
      bson_append_iter(&applied, "changeStreamPreAndPostImages", -1, &it);
    } else if (k == "cappedSize" || k == "cappedMax") {
      if (!opts.capped) {
        st = Status(common::kInvalidOptions, fmt::format("Unable to set '{}' on a non-capped collection", k));
        break;
      }
      int64_t v = bson_iter_as_int64(&it);
      if (k == "cappedSize") {
        opts.capped_size = (v + 255) / 256 * 256;
      } else {
        opts.capped_max = v;
      }
      options_changed = true;
      bson_append_iter(&applied, k.data(), -1, &it);
    }
  }
  if (!st.ok()) {
    bson_destroy(&applied);
    bson_destroy(&old_values);
    return st;
  }
  if (options_changed) {
    // Re-render the options document with the new values, keeping the others' order.
    bson_t raw = BSON_INITIALIZER;
    bson_iter_t ri;
    std::set<std::string> written;
    bson_iter_init(&ri, opts.raw.get());
    auto emit = [&](std::string_view key) {
      written.insert(std::string(key));
      if (key == "validator") {
        if (!opts.validator.empty()) bson_append_document(&raw, "validator", -1, opts.validator.get());
      } else if (key == "validationLevel") {
        common::append_utf8(&raw, "validationLevel", opts.validation_level);
      } else if (key == "validationAction") {
        common::append_utf8(&raw, "validationAction", opts.validation_action);
      } else if (key == "expireAfterSeconds") {
        if (opts.expire_after_seconds) bson_append_int64(&raw, "expireAfterSeconds", -1, *opts.expire_after_seconds);
      } else if (key == "changeStreamPreAndPostImages") {
        bson_t cs;
        bson_append_document_begin(&raw, "changeStreamPreAndPostImages", -1, &cs);
        bson_append_bool(&cs, "enabled", -1, opts.pre_post_images);
        bson_append_document_end(&raw, &cs);
      } else if (key == "size") {
        bson_append_int64(&raw, "size", -1, opts.capped_size);
      } else if (key == "max") {
        if (opts.capped_max > 0) bson_append_int64(&raw, "max", -1, opts.capped_max);
      }
    };
    static const std::set<std::string_view> kManaged = {"validator", "validationLevel", "validationAction",
                                                        "expireAfterSeconds", "changeStreamPreAndPostImages",
                                                        "size", "max"};
    while (bson_iter_next(&ri)) {
      std::string_view key = bson_iter_key(&ri);
      if (kManaged.count(key)) {
        emit(key);
      } else {
        bson_append_iter(&raw, key.data(), -1, &ri);
      }
    }
    bson_iter_t bi;
    bson_iter_init(&bi, body);
    bson_iter_next(&bi);
    while (bson_iter_next(&bi)) {
      std::string key = bson_iter_key(&bi);
      if (key == "cappedSize") key = "size";
      if (key == "cappedMax") key = "max";
      if (kManaged.count(key) && !written.count(key)) emit(key);
    }
    opts.raw = Bson::steal(&raw);
    st = coll->set_options(std::move(opts));
  }
  if (st.ok() && e.observer) e.observer->on_coll_mod(*coll, &applied, &old_values);
  bson_destroy(&applied);
  bson_destroy(&old_values);
  return st;
}

}  // namespace sim::engine
