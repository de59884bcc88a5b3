// The built-in roles, transcribed from the server's builtin_roles.yml (privileges per match
// type; sub-roles are flattened into the privilege list as builtin_roles.tpl.cpp does).
#include "sim/auth/builtin_roles.h"

#include <algorithm>

namespace sim::auth {

namespace {

using A = Action;

enum class Match { kAny, kAnyNormal, kCluster, kDatabase, kCollection, kExact, kAnySystemBuckets };

struct PrivSpec {
  Match match;
  const char* db;    // kDatabase/kExact: nullptr = the role's own database
  const char* coll;  // kCollection/kExact
  ActionSet actions;
};

struct SubRole {
  const char* role;
  const char* db;  // nullptr = the role's own database
};

struct RoleSpec {
  const char* name;
  bool admin_only;
  std::vector<SubRole> roles;
  std::vector<PrivSpec> privileges;
};

ActionSet operator+(ActionSet a, const ActionSet& b) { return a.add(b); }

const std::vector<RoleSpec>& roles() {
  static const std::vector<RoleSpec> kRoles = [] {
    const ActionSet read{A::changeStream, A::collStats,       A::dbHash,      A::dbStats,
                         A::find,         A::killCursors,     A::listCollections, A::listIndexes,
                         A::listSearchIndexes, A::planCacheRead};
    const ActionSet read_write =
        read + ActionSet{A::cleanupStructuredEncryptionData, A::compactStructuredEncryptionData, A::convertToCapped,
                         A::createCollection, A::createIndex, A::createSearchIndexes, A::dropCollection,
                         A::dropIndex, A::dropSearchIndex, A::insert, A::remove, A::renameCollectionSameDB,
                         A::update, A::updateSearchIndex};
    const ActionSet user_admin{A::changeCustomData, A::changePassword, A::createUser, A::createRole,
                               A::dropUser,         A::dropRole,       A::grantRole,  A::revokeRole,
                               A::setAuthenticationRestriction, A::viewUser, A::viewRole};
    const ActionSet db_admin{A::analyze,         A::bypassDocumentValidation, A::collMod,        A::collStats,
                             A::compact,         A::convertToCapped,          A::createCollection, A::dbStats,
                             A::dropCollection,  A::dropDatabase,             A::dropIndex,      A::dropSearchIndex,
                             A::createIndex,     A::createSearchIndexes,      A::enableProfiler, A::listCollections,
                             A::listIndexes,     A::listSearchIndexes,        A::updateSearchIndex,
                             A::planCacheIndexFilter, A::planCacheRead,       A::planCacheWrite, A::reIndex,
                             A::renameCollectionSameDB, A::storageDetails,    A::validate};
    const ActionSet profile_actions = read + ActionSet{A::convertToCapped, A::createCollection, A::dropCollection};
    const ActionSet read_and_index = read + ActionSet{A::createIndex, A::createSearchIndexes, A::dropIndex, A::dropSearchIndex};
    const ActionSet monitor_db{A::collStats, A::dbStats, A::getDatabaseVersion, A::getShardVersion, A::indexStats};
    const ActionSet manager_db{A::analyzeShardKey, A::configureQueryAnalyzer, A::clearJumboFlag, A::splitChunk,
                               A::moveChunk,       A::moveCollection,         A::enableSharding, A::splitVector,
                               A::refineCollectionShardKey, A::reshardCollection};
    const ActionSet manager_write{A::insert, A::update, A::remove};
    const ActionSet restore_write{A::bypassDocumentValidation, A::collMod,     A::convertToCapped,
                                  A::createCollection,         A::createIndex, A::createSearchIndexes,
                                  A::dropCollection,           A::insert,      A::updateSearchIndex};
    const ActionSet find{A::find};

    std::vector<RoleSpec> r;
    r.push_back({"read", false, {}, {{Match::kDatabase, nullptr, nullptr, read}, {Match::kExact, nullptr, "system.js", read}}});
    r.push_back({"readWrite", false, {},
                 {{Match::kDatabase, nullptr, nullptr, read_write}, {Match::kExact, nullptr, "system.js", read_write}}});
    r.push_back({"userAdmin", false, {}, {{Match::kDatabase, nullptr, nullptr, user_admin}}});
    r.push_back({"dbAdmin", false, {},
                 {{Match::kDatabase, nullptr, nullptr, db_admin},
                  {Match::kDatabase, nullptr, nullptr, {A::configureQueryAnalyzer}},
                  {Match::kExact, nullptr, "system.profile", profile_actions}}});
    r.push_back({"dbOwner", false, {{"readWrite", nullptr}, {"dbAdmin", nullptr}, {"userAdmin", nullptr}}, {}});
    r.push_back({"enableSharding", false, {},
                 {{Match::kAnyNormal, nullptr, nullptr,
                   {A::analyzeShardKey, A::enableSharding, A::moveCollection, A::refineCollectionShardKey,
                    A::reshardCollection}}}});
    r.push_back({"readAnyDatabase", true, {},
                 {{Match::kAnyNormal, nullptr, nullptr, read},
                  {Match::kCluster, nullptr, nullptr, {A::listDatabases}},
                  {Match::kCollection, nullptr, "system.js", read},
                  {Match::kAnySystemBuckets, nullptr, nullptr, read}}});
    r.push_back({"readWriteAnyDatabase", true, {{"readAnyDatabase", nullptr}},
                 {{Match::kAnyNormal, nullptr, nullptr, read_write},
                  {Match::kCollection, nullptr, "system.js", read_write},
                  {Match::kAnySystemBuckets, nullptr, nullptr, read_write}}});
    r.push_back({"userAdminAnyDatabase", true, {},
                 {{Match::kAnyNormal, nullptr, nullptr, user_admin + ActionSet{A::listCachedAndActiveUsers}},
                  {Match::kDatabase, "local", nullptr, user_admin},
                  {Match::kDatabase, "config", nullptr, user_admin},
                  {Match::kCluster, nullptr, nullptr,
                   {A::listDatabases, A::authSchemaUpgrade, A::invalidateUserCache, A::viewUser}},
                  {Match::kExact, "admin", "system.users", read_and_index},
                  {Match::kExact, "admin", "system.roles", read_and_index},
                  {Match::kCollection, nullptr, "system.users", read},
                  {Match::kExact, "admin", "system.version", read},
                  {Match::kExact, "admin", "system.backup_users", read}}});
    r.push_back({"dbAdminAnyDatabase", true, {},
                 {{Match::kCluster, nullptr, nullptr, {A::listDatabases, A::applyOps}},
                  {Match::kAnyNormal, nullptr, nullptr, db_admin},
                  {Match::kAnyNormal, nullptr, nullptr, {A::configureQueryAnalyzer}},
                  {Match::kCollection, nullptr, "system.profile", profile_actions},
                  {Match::kAnySystemBuckets, nullptr, nullptr, db_admin}}});
    r.push_back({"clusterMonitor", true, {{"read", "config"}, {"read", "local"}},
                 {{Match::kCluster, nullptr, nullptr,
                   {A::connPoolStats, A::getCmdLineOpts, A::getDefaultRWConcern, A::getLog, A::getParameter,
                    A::getShardMap, A::hostInfo, A::listDatabases, A::listSampledQueries, A::listSessions,
                    A::listShards, A::netstat, A::operationMetrics, A::replSetGetConfig, A::replSetGetStatus,
                    A::serverStatus, A::top, A::useUUID, A::inprog, A::shardingState, A::allCollectionStats,
                    A::shardedDataDistribution}},
                  {Match::kAnyNormal, nullptr, nullptr, monitor_db},
                  {Match::kDatabase, "config", nullptr, monitor_db},
                  {Match::kExact, "config", "system.sessions", monitor_db},
                  {Match::kDatabase, "local", nullptr, monitor_db},
                  {Match::kExact, "local", "system.replset", find},
                  {Match::kExact, "local", "replset.election", find},
                  {Match::kExact, "local", "replset.minvalid", find},
                  {Match::kCollection, nullptr, "system.profile", find}}});
    r.push_back({"hostManager", true, {},
                 {{Match::kCluster, nullptr, nullptr,
                   {A::applicationMessage, A::auditConfigure, A::connPoolSync, A::dropConnections, A::logRotate,
                    A::oidReset, A::setParameter, A::shutdown, A::touch, A::unlock, A::flushRouterConfig, A::fsync,
                    A::invalidateUserCache, A::killAnyCursor, A::killAnySession, A::killop, A::replSetResizeOplog,
                    A::resync, A::trafficRecord, A::rotateCertificates, A::oidcListKeys, A::oidcRefreshKeys}},
                  {Match::kAnyNormal, nullptr, nullptr, {A::killCursors}}}});
    r.push_back({"clusterManager", true, {{"read", "config"}},
                 {{Match::kCluster, nullptr, nullptr,
                   {A::appendOplogNote, A::applicationMessage, A::replSetConfigure, A::replSetGetConfig,
                    A::replSetGetStatus, A::replSetStateChange, A::resync, A::addShard, A::removeShard,
                    A::listSessions, A::listShards, A::flushRouterConfig, A::cleanupOrphaned,
                    A::getDefaultRWConcern, A::runTenantMigration, A::setDefaultRWConcern,
                    A::setFeatureCompatibilityVersion, A::setClusterParameter, A::getClusterParameter,
                    A::setChangeStreamState, A::getChangeStreamState, A::querySettings, A::queryStatsRead,
                    A::queryStatsReadTransformed, A::checkMetadataConsistency,
                    A::transitionFromDedicatedConfigServer, A::transitionToDedicatedConfigServer}},
                  {Match::kAnyNormal, nullptr, nullptr, manager_db},
                  {Match::kAnySystemBuckets, nullptr, nullptr, manager_db},
                  {Match::kDatabase, "config", nullptr, manager_db},
                  {Match::kDatabase, "local", nullptr, manager_db},
                  {Match::kExact, "local", "system.replset", read},
                  {Match::kAny, nullptr, nullptr, {A::dbCheck}},
                  {Match::kExact, "local", "system.healthlog", read},
                  {Match::kDatabase, "config", nullptr, manager_write},
                  {Match::kDatabase, "local", nullptr, manager_write},
                  {Match::kExact, "local", "replset.election", manager_write},
                  {Match::kExact, "local", "replset.minvalid", manager_write}}});
    r.push_back({"clusterAdmin", true, {{"clusterMonitor", nullptr}, {"hostManager", nullptr}, {"clusterManager", nullptr}},
                 {{Match::kAnyNormal, nullptr, nullptr, {A::dropDatabase}},
                  {Match::kAny, nullptr, nullptr, {A::importCollection, A::exportCollection}}}});
    r.push_back({"__queryableBackup", true, {},
                 {{Match::kAny, nullptr, nullptr, {A::collStats, A::listCollections, A::listIndexes, A::listSearchIndexes}},
                  {Match::kAnyNormal, nullptr, nullptr, find},
                  {Match::kAnySystemBuckets, nullptr, nullptr, find},
                  {Match::kCluster, nullptr, nullptr, {A::getParameter, A::listDatabases, A::useUUID}},
                  {Match::kDatabase, "config", nullptr, find},
                  {Match::kDatabase, "local", nullptr, find},
                  {Match::kExact, "local", "replset.election", find},
                  {Match::kExact, "local", "replset.minvalid", find},
                  {Match::kCollection, nullptr, "system.js", find},
                  {Match::kCollection, nullptr, "system.users", find},
                  {Match::kCollection, nullptr, "system.profile", find},
                  {Match::kExact, "admin", "system.backup_users", find},
                  {Match::kExact, "admin", "system.roles", find},
                  {Match::kExact, "admin", "system.version", find},
                  {Match::kExact, "config", "settings", find}}});
    r.push_back({"backup", true, {{"__queryableBackup", nullptr}},
                 {{Match::kCluster, nullptr, nullptr, {A::appendOplogNote, A::serverStatus, A::setUserWriteBlockMode}},
                  {Match::kExact, "config", "settings", {A::insert, A::update}}}});
    r.push_back({"restore", true, {},
                 {{Match::kCluster, nullptr, nullptr,
                   {A::getParameter, A::forceUUID, A::useUUID, A::bypassWriteBlockingMode, A::setUserWriteBlockMode,
                    A::applyOps}},
                  {Match::kDatabase, "local", nullptr, restore_write},
                  {Match::kDatabase, "config", nullptr, restore_write},
                  {Match::kAnySystemBuckets, nullptr, nullptr, restore_write},
                  {Match::kExact, "local", "system.replset", restore_write},
                  {Match::kExact, "local", "replset.election", restore_write},
                  {Match::kExact, "local", "replset.minvalid", restore_write},
                  {Match::kAny, nullptr, nullptr, {A::listCollections}},
                  {Match::kAnyNormal, nullptr, nullptr, restore_write + user_admin},
                  {Match::kCollection, nullptr, "system.js", restore_write},
                  {Match::kExact, "admin", "tempusers", find},
                  {Match::kExact, "admin", "temproles", find},
                  {Match::kExact, "admin", "system.backup_users", restore_write},
                  {Match::kExact, "admin", "system.version", restore_write + find},
                  {Match::kCollection, nullptr, "system.users", restore_write + ActionSet{A::find, A::update, A::remove}},
                  {Match::kExact, "admin", "system.roles", {A::createIndex}}}});
    r.push_back({"root", true,
                 {{"clusterAdmin", nullptr}, {"userAdminAnyDatabase", nullptr}, {"dbAdminAnyDatabase", nullptr},
                  {"readWriteAnyDatabase", nullptr}, {"backup", nullptr}, {"restore", nullptr},
                  {"directShardOperations", nullptr}},
                 {{Match::kAny, nullptr, nullptr, {A::validate}},
                  {Match::kCluster, nullptr, nullptr, {A::useTenant}},
                  {Match::kExact, "config", "system.preimages", {A::find, A::remove}},
                  {Match::kExact, "config", "system.change_collection", {A::find, A::insert, A::remove, A::update}}}});
    r.push_back({"directShardOperations", true, {},
                 {{Match::kCluster, nullptr, nullptr, {A::issueDirectShardOperations}}}});
    // __system: every action on every resource (special-cased in builtin_roles.tpl.cpp).
    r.push_back({"__system", true, {}, {{Match::kAny, nullptr, nullptr, ActionSet::all()}}});
    return r;
  }();
  return kRoles;
}

const RoleSpec* find_role(std::string_view name) {
  for (const auto& r : roles()) {
    if (name == r.name) return &r;
  }
  return nullptr;
}

// builtin_roles.tpl.cpp's isValidDB: a usable database name other than $external.
bool valid_role_db(std::string_view db) {
  if (db.empty() || db == "$external" || db.size() >= 64) return false;
  return db.find_first_of("/\\. \"$") == std::string_view::npos;
}

Resource resource_for(const PrivSpec& p, std::string_view role_db) {
  std::string db = p.db ? p.db : std::string(role_db);
  switch (p.match) {
    case Match::kAny: return Resource::any();
    case Match::kAnyNormal: return Resource::any_normal();
    case Match::kCluster: return Resource::cluster();
    case Match::kDatabase: return Resource::database(db);
    case Match::kCollection: return Resource::collection_name(p.coll);
    case Match::kExact: return Resource::exact(db, p.coll);
    case Match::kAnySystemBuckets: return {Resource::Kind::kAnySystemBuckets, "", ""};
  }
  return Resource::any();
}

void add_role(const RoleSpec& spec, std::string_view db, PrivilegeVector& out) {
  for (const auto& sub : spec.roles) {
    if (const RoleSpec* s = find_role(sub.role)) add_role(*s, sub.db ? std::string_view(sub.db) : db, out);
  }
  for (const auto& p : spec.privileges) add_privilege(out, {resource_for(p, db), p.actions});
}

}  // namespace

bool is_builtin_role(std::string_view role, std::string_view db) {
  if (!valid_role_db(db)) return false;
  const RoleSpec* spec = find_role(role);
  return spec && (!spec->admin_only || db == "admin");
}

bool add_builtin_role_privileges(std::string_view role, std::string_view db, PrivilegeVector& out) {
  if (!is_builtin_role(role, db)) return false;
  add_role(*find_role(role), db, out);
  return true;
}

std::vector<std::string> builtin_role_names(std::string_view db) {
  std::vector<std::string> out;
  if (!valid_role_db(db)) return out;
  for (const auto& r : roles()) {
    if (!r.admin_only || db == "admin") out.emplace_back(r.name);
  }
  return out;
}

}  // namespace sim::auth
