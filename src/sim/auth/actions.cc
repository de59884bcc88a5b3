// Action names, action sets, resource patterns and their search lists
// (resource_pattern_search_list.h), privilege vectors.
#include "sim/auth/actions.h"

#include <algorithm>
#include <tuple>

#include "common/bson.h"

namespace sim::auth {

namespace {

constexpr const char* kActionNames[] = {
#define MS_AUTH_NAME(a) #a,
    MS_AUTH_ACTIONS(MS_AUTH_NAME)
#undef MS_AUTH_NAME
};
static_assert(sizeof(kActionNames) / sizeof(kActionNames[0]) == static_cast<size_t>(Action::kCount));

constexpr std::string_view kSystemBucketsPrefix = "system.buckets.";

// NamespaceString::isNormalCollection: not a system collection and not local.replset.*.
bool is_normal_collection(const std::string& db, const std::string& coll) {
  if (coll.rfind("system.", 0) == 0) return false;
  return !(db == "local" && coll.rfind("replset.", 0) == 0);
}

bool is_normal_db(const std::string& db) { return db != "local" && db != "config"; }

}  // namespace

const char* action_name(Action a) {
  auto i = static_cast<size_t>(a);
  return i < static_cast<size_t>(Action::kCount) ? kActionNames[i] : "unknown";
}

std::optional<Action> action_from_name(std::string_view name) {
  for (size_t i = 0; i < static_cast<size_t>(Action::kCount); ++i) {
    if (name == kActionNames[i]) return static_cast<Action>(i);
  }
  return std::nullopt;
}

ActionSet::ActionSet(std::initializer_list<Action> actions) {
  for (Action a : actions) add(a);
}

ActionSet ActionSet::all() {
  ActionSet s;
  s.bits_.set();
  return s;
}

ActionSet& ActionSet::add(Action a) {
  bits_.set(static_cast<size_t>(a));
  return *this;
}

ActionSet& ActionSet::add(const ActionSet& other) {
  bits_ |= other.bits_;
  return *this;
}

void ActionSet::remove(const ActionSet& other) {
  if (other.bits_.test(static_cast<size_t>(Action::anyAction))) {
    bits_.reset();
    return;
  }
  bits_ &= ~other.bits_;
}

bool ActionSet::contains(Action a) const {
  return bits_.test(static_cast<size_t>(a)) || bits_.test(static_cast<size_t>(Action::anyAction));
}

bool ActionSet::contains_all(const ActionSet& other) const {
  return bits_.test(static_cast<size_t>(Action::anyAction)) || (bits_ & other.bits_) == other.bits_;
}

std::vector<const char*> ActionSet::names() const {
  std::vector<const char*> out;
  for (size_t i = 0; i < bits_.size(); ++i) {
    if (bits_.test(i)) out.push_back(kActionNames[i]);
  }
  return out;
}

Resource Resource::for_namespace(std::string db, std::string coll) {
  if (coll.empty()) return database(std::move(db));
  return exact(std::move(db), std::move(coll));
}

bool Resource::operator<(const Resource& o) const {
  return std::tie(kind, db, coll) < std::tie(o.kind, o.db, o.coll);
}

std::vector<Resource> Resource::search_list() const {
  std::vector<Resource> out{any()};
  if (kind == Kind::kExactNamespace) {
    if (is_normal_collection(db, coll)) {
      // local and config hold special collections user-level admins must not reach.
      if (is_normal_db(db)) out.push_back(any_normal());
      out.push_back(database(db));
    } else if (coll.size() > kSystemBucketsPrefix.size() && coll.rfind(kSystemBucketsPrefix, 0) == 0) {
      std::string bucket = coll.substr(kSystemBucketsPrefix.size());
      out.push_back({Kind::kExactSystemBuckets, db, bucket});
      out.push_back({Kind::kAnySystemBuckets, "", ""});
      out.push_back({Kind::kAnySystemBucketsInDb, db, ""});
      out.push_back({Kind::kSystemBucketsInAnyDb, "", bucket});
    }
    out.push_back(collection_name(coll));
  } else if (kind == Kind::kDatabase) {
    if (is_normal_db(db)) out.push_back(any_normal());
  }
  if (kind != Kind::kAny) out.push_back(*this);
  return out;
}

void Resource::append_to(bson_t* doc) const {
  switch (kind) {
    case Kind::kAny: bson_append_bool(doc, "anyResource", -1, true); return;
    case Kind::kCluster: bson_append_bool(doc, "cluster", -1, true); return;
    case Kind::kAnyNormal:
    case Kind::kDatabase:
    case Kind::kCollectionName:
    case Kind::kExactNamespace:
      common::append_utf8(doc, "db", db);
      common::append_utf8(doc, "collection", coll);
      return;
    case Kind::kAnySystemBuckets: common::append_utf8(doc, "system_buckets", ""); return;
    case Kind::kSystemBucketsInAnyDb: common::append_utf8(doc, "system_buckets", coll); return;
    case Kind::kAnySystemBucketsInDb:
    case Kind::kExactSystemBuckets:
      common::append_utf8(doc, "db", db);
      common::append_utf8(doc, "system_buckets", coll);
      return;
  }
}

void add_privilege(PrivilegeVector& v, const Privilege& p) {
  for (auto& existing : v) {
    if (existing.resource == p.resource) {
      existing.actions.add(p.actions);
      return;
    }
  }
  v.push_back(p);
}

void add_privileges(PrivilegeVector& v, const PrivilegeVector& more) {
  for (const auto& p : more) add_privilege(v, p);
}

void append_privileges(bson_t* doc, const char* key, const PrivilegeVector& v) {
  bson_t arr, priv, res, acts;
  bson_append_array_begin(doc, key, -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& p : v) {
    auto k = common::array_key(i++, buf);
    bson_append_document_begin(&arr, k.data(), static_cast<int>(k.size()), &priv);
    bson_append_document_begin(&priv, "resource", -1, &res);
    p.resource.append_to(&res);
    bson_append_document_end(&priv, &res);
    bson_append_array_begin(&priv, "actions", -1, &acts);
    uint32_t j = 0;
    char buf2[16];
    for (const char* name : p.actions.names()) common::append_utf8(&acts, common::array_key(j++, buf2), name);
    bson_append_array_end(&priv, &acts);
    bson_append_document_end(&arr, &priv);
  }
  bson_append_array_end(doc, &arr);
}

}  // namespace sim::auth
