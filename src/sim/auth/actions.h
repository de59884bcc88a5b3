// Action types and privileges of MongoDB's authorization model (the server's
// action_type.idl, resource_pattern.h, privilege.h): what a user may do (an Action) on
// what (a Resource). Part of the auth interface: the engine names actions when it asks
// sim/auth/auth.h whether a connection may do something.
#pragma once

#include <bitset>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bson/bson.h>

namespace sim::auth {

// In the order of the server's action_type.idl, which is also the order ActionSet lists
// them in rolesInfo/connectionStatus output.
#define MS_AUTH_ACTIONS(X)                                                                                   \
  X(addShard) X(advanceClusterTime) X(allCollectionStats) X(analyze) X(analyzeShardKey) X(anyAction)           \
  X(appendOplogNote) X(applicationMessage) X(auditConfigure) X(auditLogRotate) X(authCheck) X(authenticate)     \
  X(authSchemaUpgrade) X(bypassDocumentValidation) X(bypassWriteBlockingMode) X(changeCustomData)               \
  X(changePassword) X(changeOwnPassword) X(changeOwnCustomData) X(changeStream) X(checkFreeMonitoringStatus)     \
  X(checkMetadataConsistency) X(cleanupOrphaned) X(clearJumboFlag) X(cleanupStructuredEncryptionData)           \
  X(closeAllDatabases) X(collMod) X(collStats) X(compact) X(compactStructuredEncryptionData)                     \
  X(configureQueryAnalyzer) X(connPoolStats) X(connPoolSync) X(convertToCapped) X(cpuProfiler)                  \
  X(createCollection) X(createDatabase) X(createIndex) X(createRole) X(createSearchIndexes) X(createUser)        \
  X(dbCheck) X(dbHash) X(dbStats) X(dropAllRolesFromDatabase) X(dropAllUsersFromDatabase) X(dropCollection)     \
  X(dropConnections) X(dropDatabase) X(dropIndex) X(dropRole) X(dropSearchIndex) X(dropUser) X(emptycapped)     \
  X(enableProfiler) X(enableSharding) X(exportCollection) X(find) X(flushRouterConfig) X(forceUUID) X(fsync)    \
  X(fsyncUnlock) X(getClusterParameter) X(getDatabaseVersion) X(getDefaultRWConcern) X(getCmdLineOpts)          \
  X(getLog) X(getParameter) X(getShardMap) X(getShardVersion) X(grantRole) X(grantPrivilegesToRole)             \
  X(grantRolesToRole) X(grantRolesToUser) X(hostInfo) X(impersonate) X(importCollection) X(indexStats)          \
  X(inprog) X(insert) X(internal) X(invalidateUserCache) X(issueDirectShardOperations) X(killAnyCursor)         \
  X(killAnySession) X(killCursors) X(killop) X(listCachedAndActiveUsers) X(listCollections) X(listCursors)      \
  X(listDatabases) X(listIndexes) X(listSampledQueries) X(listSearchIndexes) X(listSessions) X(listShards)      \
  X(logRotate) X(updateSearchIndex) X(moveChunk) X(moveCollection) X(netstat) X(oidcListKeys)                   \
  X(oidcRefreshKeys) X(oidReset) X(operationMetrics) X(planCacheIndexFilter) X(planCacheRead)                   \
  X(planCacheWrite) X(querySettings) X(queryStatsRead) X(queryStatsReadTransformed)                             \
  X(refineCollectionShardKey) X(reIndex) X(remove) X(removeShard) X(renameCollection)                           \
  X(renameCollectionSameDB) X(repairDatabase) X(replSetConfigure) X(replSetGetConfig) X(replSetGetStatus)       \
  X(replSetHeartbeat) X(replSetReconfig) X(replSetResizeOplog) X(replSetStateChange) X(reshardCollection)       \
  X(resync) X(revokeRole) X(revokePrivilegesFromRole) X(revokeRolesFromRole) X(revokeRolesFromUser)             \
  X(rotateCertificates) X(runAsLessPrivilegedUser) X(runTenantMigration) X(serverStatus)                        \
  X(setAuthenticationRestriction) X(setClusterParameter) X(setDefaultRWConcern)                                 \
  X(setFeatureCompatibilityVersion) X(setFreeMonitoring) X(setParameter) X(setUserWriteBlockMode)               \
  X(shardCollection) X(shardedDataDistribution) X(shardingState) X(shutdown) X(splitChunk) X(splitVector)       \
  X(storageDetails) X(top) X(touch) X(trafficRecord) X(transitionFromDedicatedConfigServer)                     \
  X(transitionToDedicatedConfigServer) X(unlock) X(useTenant) X(useUUID) X(update) X(updateRole) X(updateUser)  \
  X(validate) X(viewRole) X(viewUser) X(applyOps) X(setChangeStreamState) X(getChangeStreamState)

enum class Action : uint16_t {
#define MS_AUTH_ENUM(a) a,
  MS_AUTH_ACTIONS(MS_AUTH_ENUM)
#undef MS_AUTH_ENUM
      kCount
};

const char* action_name(Action a);
std::optional<Action> action_from_name(std::string_view name);

// A set of actions; `anyAction` in a set stands for every action (ActionSet::contains).
class ActionSet {
 public:
  ActionSet() = default;
  ActionSet(std::initializer_list<Action> actions);
  static ActionSet all();

  ActionSet& add(Action a);
  ActionSet& add(const ActionSet& other);
  void remove(const ActionSet& other);
  bool contains(Action a) const;
  bool contains_all(const ActionSet& other) const;
  bool empty() const { return bits_.none(); }
  bool operator==(const ActionSet& o) const { return bits_ == o.bits_; }
  // Names in action_type.idl order.
  std::vector<const char*> names() const;

 private:
  std::bitset<static_cast<size_t>(Action::kCount)> bits_;
};

// A resource pattern (the server's ResourcePattern): what a privilege applies to.
struct Resource {
  enum class Kind : uint8_t {
    kAny,                    // {anyResource: true}
    kCluster,                // {cluster: true}
    kAnyNormal,              // {db: "", collection: ""}: every normal collection outside local/config
    kDatabase,               // {db: "x", collection: ""}
    kCollectionName,         // {db: "", collection: "x"}: that collection name in any database
    kExactNamespace,         // {db: "x", collection: "y"}
    kAnySystemBuckets,       // {system_buckets: ""}
    kAnySystemBucketsInDb,   // {db: "x", system_buckets: ""}
    kSystemBucketsInAnyDb,   // {system_buckets: "x"}
    kExactSystemBuckets,     // {db: "x", system_buckets: "y"}
  };
  Kind kind = Kind::kAny;
  std::string db;
  std::string coll;

  static Resource any() { return {Kind::kAny, "", ""}; }
  static Resource cluster() { return {Kind::kCluster, "", ""}; }
  static Resource any_normal() { return {Kind::kAnyNormal, "", ""}; }
  static Resource database(std::string db) { return {Kind::kDatabase, std::move(db), ""}; }
  static Resource collection_name(std::string coll) { return {Kind::kCollectionName, "", std::move(coll)}; }
  static Resource exact(std::string db, std::string coll) { return {Kind::kExactNamespace, std::move(db), std::move(coll)}; }
  // The resource for a command's namespace: the database when `coll` is empty.
  static Resource for_namespace(std::string db, std::string coll);

  bool operator==(const Resource& o) const { return kind == o.kind && db == o.db && coll == o.coll; }
  bool operator<(const Resource& o) const;
  // The patterns that can grant access to this resource (ResourcePatternSearchList).
  std::vector<Resource> search_list() const;
  // {db, collection} / {cluster: true} / {anyResource: true} / {system_buckets} as rolesInfo shows it.
  void append_to(bson_t* doc) const;
};

struct Privilege {
  Resource resource;
  ActionSet actions;
};
using PrivilegeVector = std::vector<Privilege>;

// Adds `p`, merging its actions into an existing entry for the same resource.
void add_privilege(PrivilegeVector& v, const Privilege& p);
void add_privileges(PrivilegeVector& v, const PrivilegeVector& more);
// [{resource: {...}, actions: [...]}, ...]
void append_privileges(bson_t* doc, const char* key, const PrivilegeVector& v);

}  // namespace sim::auth
