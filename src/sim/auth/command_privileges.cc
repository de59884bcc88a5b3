// The command → privilege table. Each entry follows the server command's own authorization
// check (find_cmd.cpp, write_commands, authorization_checks.cpp, list_databases.cpp,
// list_collections.cpp, rename_collection.cpp, pipeline LiteParsed::requiredPrivileges,
// user_management_commands_common.cpp, current_op.cpp, ...). A command the engine adds
// must get a row here; see auth.h.
#include "sim/auth/command_privileges.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/bson.h"
#include "sim/auth/session.h"
#include "sim/auth/user_store.h"

namespace sim::auth {

using common::Bson;
using common::Status;
using A = Action;

Status denied() { return Status(common::kUnauthorized, ""); }
bool is_denied(const Status& st) { return st.code() == common::kUnauthorized && st.message().empty(); }

bool AuthzContext::allowed(const Resource& r, const ActionSet& a) const { return session.is_authorized(r, a); }

namespace {

Status require(AuthzContext& c, const Resource& r, const ActionSet& a) { return c.allowed(r, a) ? Status::OK() : denied(); }

bool truthy(const bson_t* body, const char* key) {
  bson_iter_t it;
  return common::find_field(body, key, &it) && common::value_truthy(&it);
}

std::optional<std::string> string_field(const bson_t* body, const char* key) {
  bson_iter_t it;
  if (!common::find_field(body, key, &it) || !BSON_ITER_HOLDS_UTF8(&it)) return std::nullopt;
  return std::string(bson_iter_utf8(&it, nullptr));
}

bool is_uuid(const bson_iter_t* it) {
  if (!BSON_ITER_HOLDS_BINARY(it)) return false;
  bson_subtype_t sub;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_binary(it, &sub, &len, &data);
  return sub == BSON_SUBTYPE_UUID && len == 16;
}

// The collection named by the command's first field ("" when it names none).
std::string first_collection(const CommandRequest& req) {
  bson_iter_t it;
  if (bson_iter_init(&it, req.body.get()) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it)) {
    return bson_iter_utf8(&it, nullptr);
  }
  return "";
}

// CommandHelpers::resourcePatternForNamespace, plus useUUID for a collection given by UUID
// (isAuthorizedToParseNamespaceElement).
Status require_on_namespace(AuthzContext& c, const ActionSet& actions) {
  bson_iter_t it;
  if (bson_iter_init(&it, c.body()) && bson_iter_next(&it) && is_uuid(&it)) {
    MS_RETURN_IF_ERROR(require(c, Resource::cluster(), {A::useUUID}));
  }
  return require(c, Resource::for_namespace(c.req.db, first_collection(c.req)), actions);
}

// "db.coll" → (db, coll).
std::pair<std::string, std::string> split_ns(const std::string& ns) {
  auto dot = ns.find('.');
  if (dot == std::string::npos) return {ns, ""};
  return {ns.substr(0, dot), ns.substr(dot + 1)};
}

ActionSet with_bypass(ActionSet a, const bson_t* body) {
  if (truthy(body, "bypassDocumentValidation")) a.add(A::bypassDocumentValidation);
  return a;
}

// ---- aggregation (getPrivilegesForAggregate and each stage's requiredPrivileges) ---------

bool is_initial_source(std::string_view stage) {
  static constexpr std::string_view kInitial[] = {
      "$changeStream", "$collStats", "$indexStats", "$currentOp", "$listSessions", "$listLocalSessions",
      "$documents", "$planCacheStats", "$listCatalog", "$listSearchIndexes", "$queryStats",
      "$listSampledQueries", "$shardedDataDistribution", "$search", "$searchMeta", "$vectorSearch",
      "$listClusterCatalog", "$querySettings", "$listCachedAndActiveUsers"};
  return std::find(std::begin(kInitial), std::end(kInitial), stage) != std::end(kInitial);
}

struct Nss {
  std::string db, coll;  // coll empty = collectionless ({aggregate: 1})
  Resource exact() const { return Resource::exact(db, coll.empty() ? "$cmd.aggregate" : coll); }
};

void pipeline_privileges(const Nss& nss, const bson_iter_t* pipeline, bool bypass, bool implicit_find, PrivilegeVector& out);

// The namespace a $lookup/$unionWith/$out/$merge names: "coll" or {db, coll}.
std::optional<Nss> target_of(const bson_iter_t* it, const Nss& base, const char* db_key, const char* coll_key) {
  if (BSON_ITER_HOLDS_UTF8(it)) return Nss{base.db, bson_iter_utf8(it, nullptr)};
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) return std::nullopt;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(it, &len, &data);
  bson_t d = common::view_of(data, len);
  auto db = string_field(&d, db_key);
  auto coll = string_field(&d, coll_key);
  if (!coll) return std::nullopt;
  return Nss{db ? *db : base.db, *coll};
}

bool sub_doc(const bson_iter_t* it, bson_t* out) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) return false;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(it, &len, &data);
  return bson_init_static(out, data, len);
}

void stage_privileges(const Nss& nss, const bson_iter_t* stage_it, bool bypass, PrivilegeVector& out) {
  bson_t stage;
  if (!sub_doc(stage_it, &stage)) return;
  bson_iter_t it;
  if (!bson_iter_init(&it, &stage) || !bson_iter_next(&it)) return;
  std::string name = bson_iter_key(&it);
  bson_t spec;
  bool has_spec = sub_doc(&it, &spec);
  if (name == "$changeStream") {
    ActionSet a{A::changeStream, A::find};
    if (nss.db == "admin" && nss.coll.empty()) {
      add_privilege(out, {Resource::any_normal(), a});  // the whole cluster
    } else if (nss.coll.empty()) {
      add_privilege(out, {Resource::database(nss.db), a});
    } else {
      add_privilege(out, {nss.exact(), a});
    }
  } else if (name == "$collStats") {
    add_privilege(out, {nss.exact(), {A::collStats}});
  } else if (name == "$indexStats") {
    add_privilege(out, {nss.exact(), {A::indexStats}});
  } else if (name == "$planCacheStats") {
    add_privilege(out, {nss.exact(), {A::planCacheRead}});
  } else if (name == "$listSearchIndexes") {
    add_privilege(out, {nss.exact(), {A::listSearchIndexes}});
  } else if (name == "$search" || name == "$searchMeta" || name == "$vectorSearch") {
    add_privilege(out, {nss.exact(), {A::find}});
  } else if (name == "$currentOp") {
    if (has_spec && truthy(&spec, "allUsers")) add_privilege(out, {Resource::cluster(), {A::inprog}});
  } else if (name == "$listSessions" || name == "$listLocalSessions") {
    bson_iter_t u;
    if (has_spec && (truthy(&spec, "allUsers") || common::find_field(&spec, "users", &u))) {
      add_privilege(out, {Resource::cluster(), {A::listSessions}});
    }
  } else if (name == "$listCatalog" || name == "$listClusterCatalog") {
    add_privilege(out, {nss.coll.empty() ? Resource::any() : nss.exact(), {A::listCollections}});
  } else if (name == "$queryStats") {
    add_privilege(out, {Resource::cluster(), {A::queryStatsRead}});
  } else if (name == "$listSampledQueries") {
    add_privilege(out, {Resource::cluster(), {A::listSampledQueries}});
  } else if (name == "$shardedDataDistribution") {
    add_privilege(out, {Resource::cluster(), {A::shardedDataDistribution}});
  } else if (name == "$querySettings") {
    add_privilege(out, {Resource::cluster(), {A::querySettings}});
  } else if ((name == "$lookup" || name == "$unionWith" || name == "$graphLookup") && (has_spec || BSON_ITER_HOLDS_UTF8(&it))) {
    std::optional<Nss> foreign;
    bson_iter_t f, p;
    if (name == "$unionWith" && BSON_ITER_HOLDS_UTF8(&it)) {
      foreign = Nss{nss.db, bson_iter_utf8(&it, nullptr)};
    } else if (name == "$unionWith" && common::find_field(&spec, "coll", &f)) {
      foreign = target_of(&f, nss, "db", "coll");
    } else if (name != "$unionWith" && common::find_field(&spec, "from", &f)) {
      foreign = target_of(&f, nss, "db", "coll");
    }
    bool has_pipeline = has_spec && common::find_field(&spec, "pipeline", &p) && BSON_ITER_HOLDS_ARRAY(&p);
    Nss sub_ns = foreign ? *foreign : Nss{nss.db, ""};
    if (name == "$graphLookup" || !has_pipeline) {
      if (foreign) add_privilege(out, {foreign->exact(), {A::find}});
    } else {
      pipeline_privileges(sub_ns, &p, bypass, foreign.has_value(), out);
    }
  } else if (name == "$facet" && has_spec) {
    bson_iter_t f;
    bson_iter_init(&f, &spec);
    while (bson_iter_next(&f)) {
      if (BSON_ITER_HOLDS_ARRAY(&f)) pipeline_privileges(nss, &f, bypass, false, out);
    }
  } else if (name == "$out") {
    std::optional<Nss> target = target_of(&it, nss, "db", "coll");
    ActionSet a{A::insert, A::remove};
    if (bypass) a.add(A::bypassDocumentValidation);
    if (target) add_privilege(out, {Resource::exact(target->db, target->coll), a});
  } else if (name == "$merge") {
    std::optional<Nss> target;
    std::string matched = "merge", not_matched = "insert";
    if (BSON_ITER_HOLDS_UTF8(&it)) {
      target = Nss{nss.db, bson_iter_utf8(&it, nullptr)};
    } else if (has_spec) {
      bson_iter_t into, wm;
      if (common::find_field(&spec, "into", &into)) target = target_of(&into, nss, "db", "coll");
      if (common::find_field(&spec, "whenMatched", &wm)) matched = BSON_ITER_HOLDS_ARRAY(&wm) ? "pipeline" : "";
      if (common::find_field(&spec, "whenMatched", &wm) && BSON_ITER_HOLDS_UTF8(&wm)) matched = bson_iter_utf8(&wm, nullptr);
      if (auto s = string_field(&spec, "whenNotMatched")) not_matched = *s;
    }
    // The merge strategy descriptors: fail+insert only inserts; *+insert upserts; the
    // rest only update.
    ActionSet a;
    if (not_matched == "insert") {
      a = matched == "fail" ? ActionSet{A::insert} : ActionSet{A::insert, A::update};
    } else {
      a = ActionSet{A::update};
    }
    if (bypass) a.add(A::bypassDocumentValidation);
    if (target) add_privilege(out, {Resource::exact(target->db, target->coll), a});
  }
}

void pipeline_privileges(const Nss& nss, const bson_iter_t* pipeline, bool bypass, bool implicit_find, PrivilegeVector& out) {
  bson_iter_t stages;
  if (!bson_iter_recurse(pipeline, &stages)) return;
  bool first = true;
  while (bson_iter_next(&stages)) {
    if (first && implicit_find) {
      bson_t s;
      bson_iter_t k;
      bool initial = sub_doc(&stages, &s) && bson_iter_init(&k, &s) && bson_iter_next(&k) && is_initial_source(bson_iter_key(&k));
      if (!initial) add_privilege(out, {nss.exact(), {A::find}});
    }
    first = false;
    stage_privileges(nss, &stages, bypass, out);
  }
  if (first && implicit_find) add_privilege(out, {nss.exact(), {A::find}});  // empty pipeline
}

Status check_aggregate(AuthzContext& c) {
  Nss nss{c.req.db, first_collection(c.req)};
  bson_iter_t p;
  PrivilegeVector needed;
  if (common::find_field(c.body(), "pipeline", &p) && BSON_ITER_HOLDS_ARRAY(&p)) {
    pipeline_privileges(nss, &p, truthy(c.body(), "bypassDocumentValidation"), true, needed);
  } else {
    add_privilege(needed, {nss.exact(), {A::find}});
  }
  for (const auto& priv : needed) MS_RETURN_IF_ERROR(require(c, priv.resource, priv.actions));
  return Status::OK();
}

// ---- CRUD ---------------------------------------------------------------------------------

Status check_find(AuthzContext& c) {
  MS_RETURN_IF_ERROR(require_on_namespace(c, {A::find}));
  bson_iter_t it;
  // Only cluster members may send `term` (it can move replication state).
  if (common::find_field(c.body(), "term", &it)) return require(c, Resource::cluster(), {A::internal});
  return Status::OK();
}

Status check_get_more(AuthzContext& c) {
  bson_iter_t it;
  if (common::find_field(c.body(), "term", &it)) return require(c, Resource::cluster(), {A::internal});
  return Status::OK();
}

Status check_insert(AuthzContext& c) { return require_on_namespace(c, with_bypass({A::insert}, c.body())); }

bool any_upsert(const bson_t* body, const char* array) {
  bson_iter_t it, arr;
  if (!common::find_field(body, array, &it) || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) return false;
  while (bson_iter_next(&arr)) {
    bson_t stmt;
    if (sub_doc(&arr, &stmt) && truthy(&stmt, "upsert")) return true;
  }
  return false;
}

Status check_update(AuthzContext& c) {
  ActionSet a{A::update};
  if (any_upsert(c.body(), "updates")) a.add(A::insert);
  return require_on_namespace(c, with_bypass(a, c.body()));
}

Status check_find_and_modify(AuthzContext& c) {
  ActionSet a{A::find};
  if (truthy(c.body(), "remove")) {
    a.add(A::remove);
  } else {
    a.add(A::update);
    if (truthy(c.body(), "upsert")) a.add(A::insert);
  }
  return require_on_namespace(c, with_bypass(a, c.body()));
}

// bulkWrite (8.0, admin): each op names an nsInfo entry by index.
Status check_bulk_write(AuthzContext& c) {
  std::vector<std::string> namespaces;
  bson_iter_t it, arr;
  if (common::find_field(c.body(), "nsInfo", &it) && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
    while (bson_iter_next(&arr)) {
      bson_t entry;
      std::optional<std::string> ns;
      if (sub_doc(&arr, &entry)) ns = string_field(&entry, "ns");
      namespaces.push_back(ns.value_or(""));
    }
  }
  std::vector<ActionSet> needed(namespaces.size());
  if (common::find_field(c.body(), "ops", &it) && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
    while (bson_iter_next(&arr)) {
      bson_t op;
      bson_iter_t k;
      if (!sub_doc(&arr, &op) || !bson_iter_init(&k, &op) || !bson_iter_next(&k) || !BSON_ITER_HOLDS_NUMBER(&k)) continue;
      int64_t idx = bson_iter_as_int64(&k);
      if (idx < 0 || static_cast<size_t>(idx) >= needed.size()) continue;
      std::string_view kind = bson_iter_key(&k);
      if (kind == "insert") needed[idx].add(A::insert);
      if (kind == "update") needed[idx].add(truthy(&op, "upsert") ? ActionSet{A::update, A::insert} : ActionSet{A::update});
      if (kind == "delete") needed[idx].add(A::remove);
    }
  }
  for (size_t i = 0; i < namespaces.size(); ++i) {
    if (needed[i].empty()) continue;
    auto [db, coll] = split_ns(namespaces[i]);
    MS_RETURN_IF_ERROR(require(c, Resource::for_namespace(db, coll), with_bypass(needed[i], c.body())));
  }
  return Status::OK();
}

// ---- catalog ------------------------------------------------------------------------------

// checkAuthForCreateOrModifyView: a user who cannot read the view may define it freely;
// one who can must also be allowed to run its pipeline on viewOn.
Status check_view_pipeline(AuthzContext& c, const std::string& view, const bson_iter_t* view_on, const bson_iter_t* pipeline) {
  if (!c.allowed(Resource::exact(c.req.db, view), {A::find})) return Status::OK();
  if (!BSON_ITER_HOLDS_UTF8(view_on)) return Status::OK();  // the command's own parse error follows
  Nss on{c.req.db, bson_iter_utf8(view_on, nullptr)};
  PrivilegeVector needed;
  if (pipeline && BSON_ITER_HOLDS_ARRAY(pipeline)) {
    pipeline_privileges(on, pipeline, false, true, needed);
  } else {
    add_privilege(needed, {on.exact(), {A::find}});
  }
  for (const auto& p : needed) MS_RETURN_IF_ERROR(require(c, p.resource, p.actions));
  return Status::OK();
}

Status check_create(AuthzContext& c) {
  std::string coll = first_collection(c.req);
  Resource ns = Resource::for_namespace(c.req.db, coll);
  if (truthy(c.body(), "capped") && !c.allowed(ns, {A::convertToCapped})) return denied();
  bool can_create = c.allowed(ns, {A::createCollection});
  bson_iter_t view_on, pipeline;
  if (common::find_field(c.body(), "viewOn", &view_on)) {
    if (!can_create) return denied();  // insert is not enough for a view
    bool has_pipeline = common::find_field(c.body(), "pipeline", &pipeline);
    return check_view_pipeline(c, coll, &view_on, has_pipeline ? &pipeline : nullptr);
  }
  return can_create || c.allowed(ns, {A::insert}) ? Status::OK() : denied();
}

Status check_coll_mod(AuthzContext& c) {
  MS_RETURN_IF_ERROR(require_on_namespace(c, {A::collMod}));
  bson_iter_t view_on, pipeline;
  bool has_view_on = common::find_field(c.body(), "viewOn", &view_on);
  bool has_pipeline = common::find_field(c.body(), "pipeline", &pipeline);
  if (has_view_on != has_pipeline) {
    return Status(common::kInvalidOptions,
                  "Must specify both 'viewOn' and 'pipeline' when modifying a view and auth is enabled");
  }
  if (has_view_on) return check_view_pipeline(c, first_collection(c.req), &view_on, &pipeline);
  return Status::OK();
}

Status check_rename_collection(AuthzContext& c) {
  auto source = split_ns(first_collection(c.req));
  auto target = split_ns(string_field(c.body(), "to").value_or(""));
  bool drop_target = truthy(c.body(), "dropTarget");
  Resource src = Resource::for_namespace(source.first, source.second);
  Resource dst = Resource::for_namespace(target.first, target.second);
  if (source.first == target.first) {
    // Within one database renameCollectionSameDB suffices, as long as the rename does not
    // let the user read what they could not (can read the source, or cannot read either).
    bool can_rename = c.allowed(Resource::database(source.first), {A::renameCollectionSameDB});
    bool can_drop = !drop_target || c.allowed(dst, {A::dropCollection});
    bool read_src = c.allowed(src, {A::find});
    bool read_dst = c.allowed(dst, {A::find});
    if (can_rename && can_drop && (read_src || !read_dst)) return Status::OK();
  }
  MS_RETURN_IF_ERROR(require(c, src, {A::find, A::dropCollection}));
  ActionSet on_target{A::insert, A::createIndex};
  if (drop_target) on_target.add(A::dropCollection);
  return require(c, dst, on_target);
}

Status check_clone_collection_as_capped(AuthzContext& c) {
  MS_RETURN_IF_ERROR(require_on_namespace(c, {A::find}));
  std::string to = string_field(c.body(), "toCollection").value_or("");
  return require(c, Resource::for_namespace(c.req.db, to), {A::insert, A::createIndex, A::convertToCapped});
}

// A document or array value as a bson_t view.
bool container_of(const bson_iter_t* it, bson_t* out) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it)) return false;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  if (BSON_ITER_HOLDS_DOCUMENT(it)) {
    bson_iter_document(it, &len, &data);
  } else {
    bson_iter_array(it, &len, &data);
  }
  return bson_init_static(out, data, len);
}

// Rebuilds `reply` keeping only the array elements of reply.<path...> that `keep` accepts.
void filter_array(bson_t* reply, const std::vector<std::string>& path, size_t depth,
                  const std::function<bool(const bson_t*)>& keep, bson_t* out) {
  bson_iter_t it;
  bson_iter_init(&it, reply);
  while (bson_iter_next(&it)) {
    std::string key = bson_iter_key(&it);
    if (key != path[depth]) {
      bson_append_iter(out, key.c_str(), -1, &it);
      continue;
    }
    bson_t child, sub;
    if (!container_of(&it, &child)) {
      bson_append_iter(out, key.c_str(), -1, &it);
      continue;
    }
    if (depth + 1 < path.size()) {
      bson_append_document_begin(out, key.c_str(), -1, &sub);
      filter_array(&child, path, depth + 1, keep, &sub);
      bson_append_document_end(out, &sub);
      continue;
    }
    bson_append_array_begin(out, key.c_str(), -1, &sub);
    bson_iter_t el;
    bson_iter_init(&el, &child);
    uint32_t i = 0;
    char buf[16];
    while (bson_iter_next(&el)) {
      bson_t entry;
      if (sub_doc(&el, &entry) && !keep(&entry)) continue;
      bson_append_iter(&sub, common::array_key(i++, buf).data(), -1, &el);
    }
    bson_append_array_end(out, &sub);
  }
}

void apply_filter(bson_t* reply, const std::vector<std::string>& path, const std::function<bool(const bson_t*)>& keep) {
  bson_t out;
  bson_init(&out);
  filter_array(reply, path, 0, keep, &out);
  bson_destroy(reply);
  bson_steal(reply, &out);
}

// list_databases.cpp: without listDatabases on the cluster a user sees the databases it has
// any privilege in (authorizedDatabases defaults to true then); totals follow the filter.
Status check_list_databases(AuthzContext& c) {
  bson_iter_t it;
  std::optional<bool> authorized_dbs;
  if (common::find_field(c.body(), "authorizedDatabases", &it)) authorized_dbs = common::value_truthy(&it);
  bool filter;
  if (!c.allowed(Resource::cluster(), {A::listDatabases})) {
    if (!authorized_dbs.value_or(true)) {
      return Status(common::kUnauthorized, "insufficient permissions to list all databases");
    }
    filter = true;
  } else {
    filter = authorized_dbs.value_or(false);
  }
  if (!filter || !c.reply_filter) return Status::OK();
  const ClientSession* s = &c.session;
  *c.reply_filter = [s](bson_t* reply) {
    apply_filter(reply, {"databases"}, [s](const bson_t* db) {
      auto name = string_field(db, "name");
      return name && s->is_authorized_for_any_action_in_database(*name);
    });
    bson_iter_t dbs, total;
    if (!bson_iter_init_find(&total, reply, "totalSize") || !bson_iter_init_find(&dbs, reply, "databases")) return;
    bson_type_t total_type = bson_iter_type(&total);
    int64_t sum = 0;
    bson_iter_t el;
    if (bson_iter_recurse(&dbs, &el)) {
      while (bson_iter_next(&el)) {
        bson_t d;
        bson_iter_t sz;
        if (sub_doc(&el, &d) && bson_iter_init_find(&sz, &d, "sizeOnDisk") && BSON_ITER_HOLDS_NUMBER(&sz)) {
          sum += bson_iter_as_int64(&sz);
        }
      }
    }
    bson_t out;
    bson_init(&out);
    bson_iter_t f;
    bson_iter_init(&f, reply);
    while (bson_iter_next(&f)) {
      std::string_view k = bson_iter_key(&f);
      if (k == "totalSize") {
        if (total_type == BSON_TYPE_DOUBLE) {
          bson_append_double(&out, "totalSize", -1, static_cast<double>(sum));
        } else if (total_type == BSON_TYPE_INT32) {
          bson_append_int32(&out, "totalSize", -1, static_cast<int32_t>(sum));
        } else {
          bson_append_int64(&out, "totalSize", -1, sum);
        }
      } else if (k == "totalSizeMb") {
        bson_append_int64(&out, "totalSizeMb", -1, sum / (1024 * 1024));
      } else {
        bson_append_iter(&out, bson_iter_key(&f), -1, &f);
      }
    }
    bson_destroy(reply);
    bson_steal(reply, &out);
  };
  return Status::OK();
}

// checkAuthorizedToListCollections; with authorizedCollections the reply keeps only the
// collections the user has some privilege on.
Status check_list_collections(AuthzContext& c) {
  bool authorized_colls = truthy(c.body(), "authorizedCollections");
  bool name_only = truthy(c.body(), "nameOnly");
  const std::string& db = c.req.db;
  if (!(authorized_colls && name_only && c.session.is_authorized_for_any_action_in_database(db))) {
    MS_RETURN_IF_ERROR(require(c, Resource::database(db), {A::listCollections}));
  }
  if (authorized_colls && c.reply_filter) {
    const ClientSession* s = &c.session;
    *c.reply_filter = [s, db](bson_t* reply) {
      apply_filter(reply, {"cursor", "firstBatch"}, [s, &db](const bson_t* entry) {
        auto name = string_field(entry, "name");
        return name && s->is_authorized_for_any_action_on_resource(Resource::exact(db, *name));
      });
    };
  }
  return Status::OK();
}

// ---- administration -----------------------------------------------------------------------

Status check_current_op(AuthzContext& c) {
  if (c.allowed(Resource::cluster(), {A::inprog})) return Status::OK();
  return c.session.authenticated() && truthy(c.body(), "$ownOps") ? Status::OK() : denied();
}

Status check_features(AuthzContext& c) {
  return truthy(c.body(), "oidReset") ? require(c, Resource::cluster(), {A::oidReset}) : Status::OK();
}

const CommandRule* rule_for(std::string_view name);

// explain checks the explained command's own privileges.
Status check_explain(AuthzContext& c) {
  bson_iter_t it;
  if (!common::find_field(c.body(), "explain", &it) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return Status::OK();
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&it, &len, &data);
  CommandRequest inner;
  inner.db = c.req.db;
  inner.body = Bson(data, len);
  bson_iter_t k;
  if (bson_iter_init(&k, inner.body.get()) && bson_iter_next(&k)) inner.name = bson_iter_key(&k);
  const CommandRule* rule = rule_for(inner.name);
  if (!rule) return Status::OK();
  AuthzContext ic{c.session, inner, nullptr};
  return check_command(ic, *rule);
}

// applyOps needs applyOps on the cluster and the privileges of every operation in it.
Status check_apply_ops(AuthzContext& c) {
  MS_RETURN_IF_ERROR(require(c, Resource::cluster(), {A::applyOps}));
  bson_iter_t it, ops;
  if (!common::find_field(c.body(), "applyOps", &it) || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &ops)) {
    return Status::OK();
  }
  while (bson_iter_next(&ops)) {
    bson_t op;
    if (!sub_doc(&ops, &op)) continue;
    std::string kind = string_field(&op, "op").value_or("");
    auto [db, coll] = split_ns(string_field(&op, "ns").value_or(""));
    if (kind == "i") MS_RETURN_IF_ERROR(require(c, Resource::for_namespace(db, coll), {A::insert}));
    if (kind == "u") MS_RETURN_IF_ERROR(require(c, Resource::for_namespace(db, coll), {A::update}));
    if (kind == "d") MS_RETURN_IF_ERROR(require(c, Resource::for_namespace(db, coll), {A::remove}));
    if (kind == "n") MS_RETURN_IF_ERROR(require(c, Resource::cluster(), {A::appendOplogNote}));
    bson_iter_t o;
    if (kind == "c" && common::find_field(&op, "o", &o) && BSON_ITER_HOLDS_DOCUMENT(&o)) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&o, &len, &data);
      CommandRequest inner;
      inner.db = db;
      inner.body = Bson(data, len);
      bson_iter_t k;
      if (bson_iter_init(&k, inner.body.get()) && bson_iter_next(&k)) inner.name = bson_iter_key(&k);
      if (const CommandRule* rule = rule_for(inner.name)) {
        AuthzContext ic{c.session, inner, nullptr};
        MS_RETURN_IF_ERROR(check_command(ic, *rule));
      }
    }
  }
  return Status::OK();
}

// ---- users and roles (user_management_commands_common.cpp) ---------------------------------

common::Result<std::vector<RoleName>> roles_of(const AuthzContext& c, const char* field) {
  return parse_role_array(c.body(), field, c.req.db);
}

Status require_role_action(AuthzContext& c, const std::vector<RoleName>& roles, Action a) {
  for (const auto& r : roles) MS_RETURN_IF_ERROR(require(c, Resource::database(r.db), {a}));
  return Status::OK();
}

// checkAuthorizedToGrantPrivilege / RevokePrivilege: grantRole (revokeRole) on the
// privilege's database, or on admin for cluster-wide resources.
Status require_privileges_action(AuthzContext& c, Action a) {
  bson_iter_t it;
  if (!common::find_field(c.body(), "privileges", &it)) return Status::OK();
  MS_ASSIGN_OR_RETURN(PrivilegeVector privs, parse_privileges(&it, nullptr));
  for (const auto& p : privs) {
    bool one_db = p.resource.kind == Resource::Kind::kDatabase || p.resource.kind == Resource::Kind::kExactNamespace;
    MS_RETURN_IF_ERROR(require(c, Resource::database(one_db ? p.resource.db : "admin"), {a}));
  }
  return Status::OK();
}

Status require_restrictions(AuthzContext& c) {
  bson_iter_t it;
  if (!common::find_field(c.body(), "authenticationRestrictions", &it)) return Status::OK();
  return require(c, Resource::database(c.req.db), {A::setAuthenticationRestriction});
}

Status check_create_user(AuthzContext& c) {
  MS_ASSIGN_OR_RETURN(auto roles, roles_of(c, "roles"));
  MS_RETURN_IF_ERROR(require(c, Resource::database(c.req.db), {A::createUser}));
  MS_RETURN_IF_ERROR(require_role_action(c, roles, A::grantRole));
  return require_restrictions(c);
}

// isAuthorizedToChangeAsUser: the logged-in user changing itself with changeOwn* actions.
bool may_change_own(AuthzContext& c, Action a) {
  const auto& user = c.session.user();
  if (!user || user->name.db != c.req.db || user->name.user != first_collection(c.req)) return false;
  for (const auto& r : Resource::database(c.req.db).search_list()) {
    for (const auto& p : user->privileges) {
      if (p.resource == r && p.actions.contains(a)) return true;
    }
  }
  return false;
}

Status check_update_user(AuthzContext& c) {
  bson_iter_t it;
  Resource db = Resource::database(c.req.db);
  bool can_change_pwd = may_change_own(c, A::changeOwnPassword) || c.allowed(db, {A::changePassword});
  if ((common::find_field(c.body(), "pwd", &it) || common::find_field(c.body(), "mechanisms", &it)) && !can_change_pwd) {
    return denied();
  }
  if (common::find_field(c.body(), "customData", &it) && !may_change_own(c, A::changeOwnCustomData) &&
      !c.allowed(db, {A::changeCustomData})) {
    return denied();
  }
  if (common::find_field(c.body(), "roles", &it)) {
    MS_ASSIGN_OR_RETURN(auto roles, roles_of(c, "roles"));
    // Setting the roles array may revoke anything, so any role must be revocable.
    MS_RETURN_IF_ERROR(require(c, Resource::any_normal(), {A::revokeRole}));
    MS_RETURN_IF_ERROR(require_role_action(c, roles, A::grantRole));
  }
  return require_restrictions(c);
}

Status check_grant_roles(AuthzContext& c) {
  MS_ASSIGN_OR_RETURN(auto roles, roles_of(c, "roles"));
  return require_role_action(c, roles, A::grantRole);
}

Status check_revoke_roles(AuthzContext& c) {
  MS_ASSIGN_OR_RETURN(auto roles, roles_of(c, "roles"));
  return require_role_action(c, roles, A::revokeRole);
}

Status check_users_info(AuthzContext& c) {
  MS_ASSIGN_OR_RETURN(NameListArg arg, parse_name_list(c.body(), c.req.db, "user"));
  if (arg.all_dbs) return require(c, Resource::cluster(), {A::viewUser});
  if (arg.all_on_db) return require(c, Resource::database(c.req.db), {A::viewUser});
  const auto& me = c.session.user();
  for (const auto& [user, db] : arg.names) {
    if (me && me->name.user == user && me->name.db == db) continue;  // a user may always see itself
    MS_RETURN_IF_ERROR(require(c, Resource::database(db), {A::viewUser}));
  }
  return Status::OK();
}

Status check_roles_info(AuthzContext& c) {
  MS_ASSIGN_OR_RETURN(NameListArg arg, parse_name_list(c.body(), c.req.db, "role"));
  if (arg.all_on_db) return require(c, Resource::database(c.req.db), {A::viewRole});
  for (const auto& [role, db] : arg.names) {
    if (c.session.has_role(RoleName{role, db})) continue;  // one's own roles are visible
    MS_RETURN_IF_ERROR(require(c, Resource::database(db), {A::viewRole}));
  }
  return Status::OK();
}

Status check_create_role(AuthzContext& c) {
  MS_ASSIGN_OR_RETURN(auto roles, roles_of(c, "roles"));
  MS_RETURN_IF_ERROR(require(c, Resource::database(c.req.db), {A::createRole}));
  MS_RETURN_IF_ERROR(require_role_action(c, roles, A::grantRole));
  MS_RETURN_IF_ERROR(require_privileges_action(c, A::grantRole));
  return require_restrictions(c);
}

Status check_update_role(AuthzContext& c) {
  MS_RETURN_IF_ERROR(require(c, Resource::any_normal(), {A::revokeRole}));
  bson_iter_t it;
  if (common::find_field(c.body(), "roles", &it)) {
    MS_ASSIGN_OR_RETURN(auto roles, roles_of(c, "roles"));
    MS_RETURN_IF_ERROR(require_role_action(c, roles, A::grantRole));
  }
  MS_RETURN_IF_ERROR(require_privileges_action(c, A::grantRole));
  return require_restrictions(c);
}

Status check_grant_privileges(AuthzContext& c) { return require_privileges_action(c, A::grantRole); }
Status check_revoke_privileges(AuthzContext& c) { return require_privileges_action(c, A::revokeRole); }

const std::vector<CommandRule>& rules() {
  static const std::vector<CommandRule> kRules = {
      // Handshake, authentication and diagnostics: no login needed.
      {"hello", Scope::kNone, {}}, {"isMaster", Scope::kNone, {}}, {"ismaster", Scope::kNone, {}},
      {"ping", Scope::kNone, {}}, {"buildInfo", Scope::kNone, {}}, {"buildinfo", Scope::kNone, {}},
      {"saslStart", Scope::kNone, {}}, {"saslContinue", Scope::kNone, {}}, {"authenticate", Scope::kNone, {}},
      {"logout", Scope::kNone, {}}, {"connectionStatus", Scope::kNone, {}}, {"listCommands", Scope::kNone, {}},
      {"whatsmyuri", Scope::kNone, {}}, {"_isSelf", Scope::kNone, {}}, {"getnonce", Scope::kNone, {}},
      // Test-only; mongod needs no login for it (it exists only with enableTestCommands).
      {"configureFailPoint", Scope::kNone, {}}, {"waitForFailPoint", Scope::kNone, {}},
      {"mongosimControl", Scope::kNone, {}},
      // Sessions and transactions: any user.
      {"startSession", Scope::kAuthenticated, {}}, {"refreshSessions", Scope::kAuthenticated, {}},
      {"endSessions", Scope::kAuthenticated, {}}, {"killSessions", Scope::kAuthenticated, {}},
      {"killAllSessions", Scope::kCluster, {A::killAnySession}},
      {"killAllSessionsByPattern", Scope::kCluster, {A::killAnySession}},
      {"commitTransaction", Scope::kAuthenticated, {}}, {"abortTransaction", Scope::kAuthenticated, {}},
      // Server information and administration.
      {"serverStatus", Scope::kCluster, {A::serverStatus}}, {"hostInfo", Scope::kCluster, {A::hostInfo}},
      {"getParameter", Scope::kCluster, {A::getParameter}}, {"setParameter", Scope::kCluster, {A::setParameter}},
      {"getCmdLineOpts", Scope::kCluster, {A::getCmdLineOpts}}, {"getLog", Scope::kCluster, {A::getLog}},
      {"replSetGetStatus", Scope::kCluster, {A::replSetGetStatus}},
      {"replSetGetConfig", Scope::kCluster, {A::replSetGetConfig}},
      {"replSetInitiate", Scope::kCluster, {A::replSetConfigure}},
      {"replSetReconfig", Scope::kCluster, {A::replSetConfigure}},
      {"replSetStepDown", Scope::kCluster, {A::replSetStateChange}},
      {"replSetFreeze", Scope::kCluster, {A::replSetStateChange}},
      {"replSetStepUp", Scope::kCluster, {A::replSetStateChange}},
      {"replSetResizeOplog", Scope::kCluster, {A::replSetResizeOplog}},
      {"getDefaultRWConcern", Scope::kCluster, {A::getDefaultRWConcern}},
      {"setDefaultRWConcern", Scope::kCluster, {A::setDefaultRWConcern}},
      {"setFeatureCompatibilityVersion", Scope::kCluster, {A::setFeatureCompatibilityVersion}},
      {"currentOp", Scope::kCustom, {}, check_current_op},
      // killOp of another user's operation additionally needs that user; mongosim checks killop or login.
      {"killOp", Scope::kAuthenticated, {}},
      {"features", Scope::kCustom, {}, check_features},
      {"fsync", Scope::kCluster, {A::fsync}}, {"fsyncUnlock", Scope::kCluster, {A::unlock}},
      {"shutdown", Scope::kCluster, {A::shutdown}}, {"logRotate", Scope::kCluster, {A::logRotate}},
      {"top", Scope::kCluster, {A::top}}, {"lockInfo", Scope::kCluster, {A::serverStatus}},
      {"connPoolStats", Scope::kCluster, {A::connPoolStats}}, {"dropConnections", Scope::kCluster, {A::dropConnections}},
      {"appendOplogNote", Scope::kCluster, {A::appendOplogNote}},
      {"applyOps", Scope::kCustom, {}, check_apply_ops},
      {"invalidateUserCache", Scope::kCluster, {A::invalidateUserCache}},
      // Reads.
      {"find", Scope::kCustom, {}, check_find},
      {"getMore", Scope::kCustom, {}, check_get_more},  // the cursor's owner is checked by the engine
      {"killCursors", Scope::kAuthenticated, {}},        // likewise (killAnyCursor for others' cursors)
      {"count", Scope::kNamespace, {A::find}}, {"distinct", Scope::kNamespace, {A::find}},
      {"aggregate", Scope::kCustom, {}, check_aggregate},
      {"explain", Scope::kCustom, {}, check_explain},
      {"listDatabases", Scope::kCustom, {}, check_list_databases},
      {"listCollections", Scope::kCustom, {}, check_list_collections},
      {"listIndexes", Scope::kNamespace, {A::listIndexes}},
      {"collStats", Scope::kNamespace, {A::collStats}}, {"dbStats", Scope::kDatabase, {A::dbStats}},
      {"dbHash", Scope::kDatabase, {A::dbHash}}, {"validate", Scope::kNamespace, {A::validate}},
      {"listSearchIndexes", Scope::kNamespace, {A::listSearchIndexes}},
      // Writes.
      {"insert", Scope::kCustom, {}, check_insert}, {"update", Scope::kCustom, {}, check_update},
      {"delete", Scope::kNamespace, {A::remove}},
      {"findAndModify", Scope::kCustom, {}, check_find_and_modify},
      {"findandmodify", Scope::kCustom, {}, check_find_and_modify},
      {"bulkWrite", Scope::kCustom, {}, check_bulk_write},
      // Catalog and indexes.
      {"create", Scope::kCustom, {}, check_create}, {"drop", Scope::kNamespace, {A::dropCollection}},
      {"dropDatabase", Scope::kDatabase, {A::dropDatabase}},
      {"renameCollection", Scope::kCustom, {}, check_rename_collection},
      {"collMod", Scope::kCustom, {}, check_coll_mod},
      {"createIndexes", Scope::kNamespace, {A::createIndex}}, {"dropIndexes", Scope::kNamespace, {A::dropIndex}},
      {"deleteIndexes", Scope::kNamespace, {A::dropIndex}}, {"reIndex", Scope::kNamespace, {A::reIndex}},
      {"createSearchIndexes", Scope::kNamespace, {A::createSearchIndexes}},
      {"updateSearchIndex", Scope::kNamespace, {A::updateSearchIndex}},
      {"dropSearchIndex", Scope::kNamespace, {A::dropSearchIndex}},
      {"compact", Scope::kNamespace, {A::compact}}, {"convertToCapped", Scope::kNamespace, {A::convertToCapped}},
      {"cloneCollectionAsCapped", Scope::kCustom, {}, check_clone_collection_as_capped},
      {"profile", Scope::kDatabase, {A::enableProfiler}},
      {"createSearchIndexes", Scope::kNamespace, {A::createSearchIndexes}},
      {"dropSearchIndex", Scope::kNamespace, {A::dropSearchIndex}},
      {"updateSearchIndex", Scope::kNamespace, {A::updateSearchIndex}},
      {"planCacheClear", Scope::kNamespace, {A::planCacheWrite}},
      {"planCacheClearFilters", Scope::kNamespace, {A::planCacheIndexFilter}},
      {"planCacheListFilters", Scope::kNamespace, {A::planCacheIndexFilter}},
      {"planCacheSetFilter", Scope::kNamespace, {A::planCacheIndexFilter}},
      // Users and roles.
      {"createUser", Scope::kCustom, {}, check_create_user},
      {"updateUser", Scope::kCustom, {}, check_update_user},
      {"dropUser", Scope::kDatabase, {A::dropUser}},
      {"dropAllUsersFromDatabase", Scope::kDatabase, {A::dropUser}},
      {"grantRolesToUser", Scope::kCustom, {}, check_grant_roles},
      {"revokeRolesFromUser", Scope::kCustom, {}, check_revoke_roles},
      {"usersInfo", Scope::kCustom, {}, check_users_info},
      {"rolesInfo", Scope::kCustom, {}, check_roles_info},
      {"createRole", Scope::kCustom, {}, check_create_role},
      {"updateRole", Scope::kCustom, {}, check_update_role},
      {"dropRole", Scope::kDatabase, {A::dropRole}},
      {"dropAllRolesFromDatabase", Scope::kDatabase, {A::dropRole}},
      {"grantRolesToRole", Scope::kCustom, {}, check_grant_roles},
      {"revokeRolesFromRole", Scope::kCustom, {}, check_revoke_roles},
      {"grantPrivilegesToRole", Scope::kCustom, {}, check_grant_privileges},
      {"revokePrivilegesFromRole", Scope::kCustom, {}, check_revoke_privileges},
  };
  return kRules;
}

const CommandRule* rule_for(std::string_view name) {
  static const std::unordered_map<std::string_view, const CommandRule*> kByName = [] {
    std::unordered_map<std::string_view, const CommandRule*> m;
    for (const auto& r : rules()) m.emplace(r.name, &r);
    return m;
  }();
  auto it = kByName.find(name);
  return it == kByName.end() ? nullptr : it->second;
}

}  // namespace

const CommandRule* find_command_rule(std::string_view name) { return rule_for(name); }

Status check_command(AuthzContext& ctx, const CommandRule& rule) {
  switch (rule.scope) {
    case Scope::kNone:
    case Scope::kAuthenticated: return Status::OK();
    case Scope::kCluster: return require(ctx, Resource::cluster(), rule.actions);
    case Scope::kDatabase: return require(ctx, Resource::database(ctx.req.db), rule.actions);
    case Scope::kNamespace: return require_on_namespace(ctx, rule.actions);
    case Scope::kCustom: return rule.check(ctx);
  }
  return Status::OK();
}

}  // namespace sim::auth
