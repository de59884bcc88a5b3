// createIndexes, listIndexes, dropIndexes (mongodb-reference.md §3.9).
#include <fmt/format.h>

#include <mutex>
#include <shared_mutex>

#include "sim/engine/args.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/timeseries.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr size_t kMaxIndexes = 64;

std::string spec_string(const IndexDescriptor& d) { return common::to_server_string(d.spec.get()); }

// What createIndexes does with one requested spec given the existing indexes.
enum class Verdict { kCreate, kExists };

Result<Verdict> check_conflicts(const Collection& coll, const IndexDescriptor& want, mql::ServerVersion version) {
  for (const auto& ix : coll.indexes()) {
    const IndexDescriptor& have = ix->desc();
    bool same_key = have.key.size() == want.key.size() && std::memcmp(have.key.data(), want.key.data(), want.key.size()) == 0;
    if (have.name == want.name) {
      if (!same_key) {
        return Status(common::kIndexKeySpecsConflict,
                      fmt::format("An existing index has the same name as the requested index. When index names are not "
                                  "specified, they are auto generated and can cause conflicts. Please refer to our "
                                  "documentation. Requested index: {}, existing index: {}",
                                  spec_string(want), spec_string(have)));
      }
      if (same_index_options(have, want, version)) return Verdict::kExists;
      return Status(common::kIndexOptionsConflict,
                    fmt::format("An equivalent index already exists with the same name but different options. Requested "
                                "index: {}, existing index: {}",
                                spec_string(want), spec_string(have)));
    }
    if (same_key && same_identity(have, want, version)) {
      if (have.is_id()) return Verdict::kExists;
      return Status(common::kIndexOptionsConflict, fmt::format("Index already exists with a different name: {}", have.name));
    }
  }
  return Verdict::kCreate;
}

Status cmd_create_indexes(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(body, "createIndexes",
                                 {{"indexes", Type::kArray}, {"commitQuorum", Type::kAny},
                                  {"ignoreUnknownIndexOptions", Type::kBool}, {"isTimeseriesNamespace", Type::kBool},
                                  {"returnOnStart", Type::kBool}, {"collectionUUID", Type::kAny}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "createIndexes"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  auto specs = args::array(body, "indexes");
  if (!specs) return Status(40414, "BSON field 'createIndexes.indexes' is missing but a required field");
  if (bson_empty(specs->get())) return Status(common::kBadValue, "Must specify at least one index to create");
  if (e.catalog.find_view(c.req.db, name) && !e.catalog.find(c.req.db, "system.buckets." + name)) {
    return Status(common::kCommandNotSupportedOnView, fmt::format("Cannot create indexes on a view: {}.{}", c.req.db, name));
  }
  const bson_t* index_specs = specs->get();
  Bson ts_specs;
  if (is_timeseries_view(e, c.req.db, name)) {
    // Indexes of a time-series collection live on its buckets, over translated keys.
    MS_ASSIGN_OR_RETURN(ts_specs, timeseries_index_specs(e, c.req.db, name, index_specs));
    index_specs = ts_specs.get();
    name = "system.buckets." + name;
  }
  bool created_collection = !e.catalog.find(c.req.db, name);
  MS_ASSIGN_OR_RETURN(auto coll, e.catalog.get_or_create(c.req.db, name));
  std::unique_lock lk(coll->mu);
  size_t before = coll->indexes().size();
  std::vector<IndexDescriptor> to_build;
  bson_iter_t it;
  bson_iter_init(&it, index_specs);
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, fmt::format("BSON field 'createIndexes.indexes.{}' is the wrong type '{}', expected "
                                                       "type 'object'",
                                                       bson_iter_key(&it), common::type_alias(bson_iter_type(&it))));
    }
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    bson_t spec;
    bson_init_static(&spec, data, len);
    MS_ASSIGN_OR_RETURN(IndexDescriptor d, parse_index_spec(&spec, coll->options().collator, e.version()));
    if (coll->options().clustered && d.is_id()) continue;
    MS_ASSIGN_OR_RETURN(Verdict v, check_conflicts(*coll, d, e.version()));
    if (v == Verdict::kExists) continue;
    for (const auto& other : to_build) {
      if (other.name == d.name) {
        if (!same_index_options(other, d, e.version())) {
          return Status(common::kIndexKeySpecsConflict, fmt::format("Index with name: {} already exists with different options",
                                                                    d.name));
        }
      }
    }
    to_build.push_back(std::move(d));
  }
  if (before + to_build.size() > kMaxIndexes) {
    return Status(common::kCannotCreateIndexCode,
                  fmt::format("add index fails, too many indexes for {} key:{}", coll->ns(),
                              to_build.empty() ? "{}" : common::to_server_string(to_build.back().key.get())));
  }
  std::vector<std::string> built;
  std::vector<IndexDescriptor> built_specs = to_build;
  bool was_empty = coll->count() == 0;
  for (auto& d : to_build) {
    std::string n = d.name;
    Status st = coll->add_index(std::move(d));
    if (!st.ok()) {
      for (const auto& b : built) (void)coll->drop_index(b);
      return st;
    }
    built.push_back(n);
  }
  if (coll->observer() && !built_specs.empty()) coll->observer()->on_create_indexes(*coll, built_specs, was_empty);
  bson_append_int32(reply, "numIndexesBefore", -1, static_cast<int32_t>(before));
  bson_append_int32(reply, "numIndexesAfter", -1, static_cast<int32_t>(coll->indexes().size()));
  if (built.empty()) {
    common::append_utf8(reply, "note", "all indexes already exist");
  } else {
    bson_append_bool(reply, "createdCollectionAutomatically", -1, created_collection);
    if (!e.server.options.standalone && e.version() >= 44) common::append_utf8(reply, "commitQuorum", "votingMembers");
  }
  return Status::OK();
}

Status cmd_list_indexes(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(body, "listIndexes",
                                 {{"cursor", Type::kObject}, {"includeBuildUUIDs", Type::kBool},
                                  {"includeIndexBuildInfo", Type::kBool}, {"isTimeseriesNamespace", Type::kBool},
                                  {"collectionUUID", Type::kAny}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "listIndexes"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  std::string lookup = name;
  if (e.catalog.find_view(c.req.db, name)) {
    if (!e.catalog.find(c.req.db, "system.buckets." + name)) {
      return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", c.req.db, name));
    }
    lookup = "system.buckets." + name;
  }
  auto coll = e.catalog.find(c.req.db, lookup);
  if (!coll && c.req.db == "local" && name == "oplog.rs" && !e.server.options.standalone) {
    // The oplog has no indexes, not even on _id.
    auto cursor = std::make_shared<Cursor>();
    cursor->ns = "local.$cmd.listIndexes.oplog.rs";
    cursor->source = std::make_unique<VectorCursorSource>(std::vector<Bson>{});
    return e.reply_with_cursor(cursor, -1, false, 0, reply, true);
  }
  if (!coll) return Status(common::kNamespaceNotFound, fmt::format("ns does not exist: {}.{}", c.req.db, name));
  int64_t batch_size = INT64_MAX;
  if (auto cur = args::object(body, "cursor")) {
    bson_iter_t bs;
    if (bson_iter_init_find(&bs, cur->get(), "batchSize") && BSON_ITER_HOLDS_NUMBER(&bs)) batch_size = bson_iter_as_int64(&bs);
  }
  std::vector<Bson> specs;
  {
    std::shared_lock lk(coll->mu);
    for (const auto& ix : coll->indexes()) {
      if (coll->options().clustered && ix.get() == coll->id_index()) {
        bson_t s = BSON_INITIALIZER;
        bson_concat(&s, ix->desc().spec.get());
        bson_append_bool(&s, "clustered", -1, true);
        specs.push_back(Bson::steal(&s));
      } else {
        specs.push_back(ix->desc().spec);
      }
    }
  }
  if (lookup != name) specs = timeseries_listed_specs(e, c.req.db, name, std::move(specs));
  auto cursor = std::make_shared<Cursor>();
  cursor->ns = c.req.db + ".$cmd.listIndexes." + name;
  cursor->db = c.req.db;
  cursor->getmore_coll = "$cmd.listIndexes." + name;
  cursor->source = std::make_unique<VectorCursorSource>(std::move(specs));
  return e.reply_with_cursor(cursor, batch_size, false, 0, reply, true);
}

Status cmd_drop_indexes(EngineImpl& e, CommandContext& c, bson_t* reply) {
  const bson_t* body = c.body();
  using args::Type;
  MS_RETURN_IF_ERROR(args::check(body, "dropIndexes",
                                 {{"index", Type::kAny}, {"isTimeseriesNamespace", Type::kBool},
                                  {"collectionUUID", Type::kAny}}));
  MS_ASSIGN_OR_RETURN(std::string name, args::collection_name(body, "dropIndexes"));
  MS_RETURN_IF_ERROR(validate_collection_name(c.req.db, name));
  bson_iter_t idx;
  if (!bson_iter_init_find(&idx, body, "index")) {
    return Status(40414, "BSON field 'dropIndexes.index' is missing but a required field");
  }
  std::string lookup = name;
  if (e.catalog.find_view(c.req.db, name)) {
    if (!e.catalog.find(c.req.db, "system.buckets." + name)) {
      return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", c.req.db, name));
    }
    lookup = "system.buckets." + name;
  }
  auto coll = e.catalog.find(c.req.db, lookup);
  if (!coll) return Status(common::kNamespaceNotFound, fmt::format("ns not found {}.{}", c.req.db, name));
  std::unique_lock lk(coll->mu);
  int32_t was = static_cast<int32_t>(coll->indexes().size());
  std::vector<std::string> names;
  bool all = false;
  if (BSON_ITER_HOLDS_UTF8(&idx)) {
    std::string n = bson_iter_utf8(&idx, nullptr);
    if (n == "*") {
      all = true;
      for (const auto& ix : coll->indexes()) {
        if (!ix->desc().is_id() && ix.get() != coll->id_index()) names.push_back(ix->desc().name);
      }
    } else {
      if (!coll->find_index(n)) return Status(common::kIndexNotFound, fmt::format("index not found with name [{}]", n));
      names.push_back(n);
    }
  } else if (BSON_ITER_HOLDS_DOCUMENT(&idx)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&idx, &len, &data);
    bson_t key;
    bson_init_static(&key, data, len);
    std::vector<std::string> matches;
    for (const auto& ix : coll->indexes()) {
      if (ix->desc().key.size() == len && std::memcmp(ix->desc().key.data(), data, len) == 0) matches.push_back(ix->desc().name);
    }
    if (matches.empty()) {
      return Status(common::kIndexNotFound, fmt::format("can't find index with key: {}", common::to_server_string(&key)));
    }
    if (matches.size() > 1) {
      return Status(common::kAmbiguousIndexKeyPattern,
                    fmt::format("{} indexes found for key: {}, identify by name instead. Conflicting indexes: {}",
                                matches.size(), common::to_server_string(&key), fmt::join(matches, ", ")));
    }
    names = matches;
  } else if (BSON_ITER_HOLDS_ARRAY(&idx)) {
    bson_iter_t a;
    bson_iter_recurse(&idx, &a);
    while (bson_iter_next(&a)) {
      if (!BSON_ITER_HOLDS_UTF8(&a)) {
        return Status(common::kTypeMismatch, "dropIndexes 'index' array elements must be strings");
      }
      std::string n = bson_iter_utf8(&a, nullptr);
      if (n == "*") return Status(common::kBadValue, "'*' cannot be used in an array of index names");
      if (!coll->find_index(n)) return Status(common::kIndexNotFound, fmt::format("index not found with name [{}]", n));
      names.push_back(n);
    }
  } else {
    return args::wrong_type("dropIndexes", "index", &idx, "[string, object, array]");
  }
  for (const auto& n : names) {
    Index* ix = coll->find_index(n);
    if (ix->desc().is_id() || ix == coll->id_index()) return Status(common::kInvalidOptions, "cannot drop _id index");
  }
  for (const auto& n : names) {
    IndexDescriptor d = coll->find_index(n)->desc();
    MS_RETURN_IF_ERROR(coll->drop_index(n));
    if (coll->observer()) coll->observer()->on_drop_index(*coll, d);
  }
  bson_append_int32(reply, "nIndexesWas", -1, was);
  if (all) common::append_utf8(reply, "msg", "non-_id indexes dropped for collection");
  return Status::OK();
}

}  // namespace

void register_index_commands(EngineImpl& e, CommandRegistry& r) {
  EngineImpl* ep = &e;
  r.add(engine_command("createIndexes",
                       [ep](CommandContext& c, bson_t* reply) { return cmd_create_indexes(*ep, c, reply); }, true,
                       "{ createIndexes: <collection>, indexes: [ { key: { <field>: <type> }, name: <name> } ] }"));
  r.add(engine_command("listIndexes", [ep](CommandContext& c, bson_t* reply) { return cmd_list_indexes(*ep, c, reply); },
                       false, "list indexes for a collection"));
  r.add(engine_command("dropIndexes", [ep](CommandContext& c, bson_t* reply) { return cmd_drop_indexes(*ep, c, reply); },
                       true, "drop indexes for a collection", {"deleteIndexes"}));
}

}  // namespace sim::engine
