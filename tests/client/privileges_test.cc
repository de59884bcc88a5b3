// Privilege evaluation against connectionStatus replies shaped as the server sends them.
#include "client/privileges.h"

#include <gtest/gtest.h>

namespace {

using client::Resource;

client::Privileges from(const std::string& privileges_json, const std::string& roles = "[]") {
  std::string reply = R"({"authInfo": {"authenticatedUsers": [{"user": "alice", "db": "admin"}], "authenticatedUserRoles": )" +
                      roles + R"(, "authenticatedUserPrivileges": )" + privileges_json + R"(}, "ok": 1})";
  auto doc = common::Bson::from_json(reply);
  EXPECT_TRUE(doc.ok()) << doc.status().message();
  auto p = client::Privileges::from_connection_status(doc->get());
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

// readAnyDatabase: read actions on every normal resource and listDatabases on the cluster.
const char* kReadAny = R"([
  {"resource": {"db": "", "collection": ""}, "actions": ["find", "listCollections", "listIndexes", "changeStream", "collStats"]},
  {"resource": {"cluster": true}, "actions": ["listDatabases"]}])";

TEST(Privileges, AnyNormalResourceCoversUserDatabasesButNotLocalOrConfig) {
  auto p = from(kReadAny, R"([{"role": "readAnyDatabase", "db": "admin"}])");
  EXPECT_EQ(p.users(), std::vector<std::string>{"alice@admin"});
  EXPECT_EQ(p.roles(), std::vector<std::string>{"readAnyDatabase@admin"});
  EXPECT_TRUE(p.missing(Resource::ns("shop", "orders"), {"find", "listIndexes"}).empty());
  EXPECT_TRUE(p.missing(Resource::database("shop"), {"listCollections"}).empty());
  EXPECT_TRUE(p.missing(Resource::cluster(), {"listDatabases"}).empty());
  // As AuthorizationSession: anyNormalResource never matches local or config.
  EXPECT_EQ(p.missing(Resource::ns("local", "oplog.rs"), {"find"}), std::vector<std::string>{"find"});
  EXPECT_EQ(p.missing(Resource::database("config"), {"find"}), std::vector<std::string>{"find"});
  // Nor system collections.
  EXPECT_EQ(p.missing(Resource::ns("shop", "system.js"), {"find"}), std::vector<std::string>{"find"});
  EXPECT_EQ(p.missing(Resource::ns("shop", "orders"), {"insert", "find"}), std::vector<std::string>{"insert"});
}

TEST(Privileges, DatabaseCollectionAndExactPatterns) {
  auto p = from(R"([
    {"resource": {"db": "local", "collection": ""}, "actions": ["find"]},
    {"resource": {"db": "", "collection": "audit"}, "actions": ["find"]},
    {"resource": {"db": "shop", "collection": "orders"}, "actions": ["insert"]}])");
  EXPECT_TRUE(p.missing(Resource::ns("local", "oplog.rs"), {"find"}).empty());  // clusterMonitor-style read on local
  EXPECT_TRUE(p.missing(Resource::ns("any", "audit"), {"find"}).empty());
  EXPECT_TRUE(p.missing(Resource::ns("shop", "orders"), {"insert"}).empty());
  EXPECT_FALSE(p.missing(Resource::ns("shop", "items"), {"insert"}).empty());
  EXPECT_FALSE(p.missing(Resource::database("shop"), {"insert"}).empty());
}

TEST(Privileges, ActionsUnionAcrossMatchingPatterns) {
  auto p = from(R"([
    {"resource": {"db": "shop", "collection": ""}, "actions": ["insert"]},
    {"resource": {"db": "shop", "collection": "orders"}, "actions": ["remove"]}])");
  EXPECT_TRUE(p.missing(Resource::ns("shop", "orders"), {"insert", "remove"}).empty());
}

TEST(Privileges, AnyResourceMatchesEverything) {
  auto p = from(R"([{"resource": {"anyResource": true}, "actions": ["find"]}])");
  EXPECT_TRUE(p.missing(Resource::ns("local", "oplog.rs"), {"find"}).empty());
  EXPECT_TRUE(p.missing(Resource::cluster(), {"find"}).empty());
}

TEST(Privileges, RequirementsNameWhatIsMissing) {
  auto p = from(kReadAny);
  client::Requirement r{"write database shop",
                        {{Resource::database("shop"), {"insert", "find", "createIndex"}}, {Resource::cluster(), {"listDatabases"}}}};
  EXPECT_EQ(p.missing(r), std::vector<std::string>{"insert, createIndex on database shop"});
}

TEST(Privileges, UnrestrictedWhenAccessControlIsOff) {
  auto p = client::Privileges::unrestricted();
  EXPECT_TRUE(p.is_unrestricted());
  EXPECT_TRUE(p.missing(Resource::ns("local", "oplog.rs"), {"find"}).empty());
}

TEST(Privileges, UsersInfoFallback) {
  auto doc = common::Bson::from_json(R"({"users": [{"_id": "admin.bob", "user": "bob", "db": "admin",
      "roles": [{"role": "read", "db": "shop"}],
      "inheritedPrivileges": [{"resource": {"db": "shop", "collection": ""}, "actions": ["find"]}]}], "ok": 1})")
                 .value();
  auto p = client::Privileges::from_users_info(doc.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->users(), std::vector<std::string>{"bob@admin"});
  EXPECT_TRUE(p->missing(Resource::ns("shop", "c"), {"find"}).empty());
}

TEST(Privileges, MalformedRepliesAreErrors) {
  auto doc = common::Bson::from_json(R"({"ok": 1})").value();
  EXPECT_FALSE(client::Privileges::from_connection_status(doc.get()).ok());
  EXPECT_FALSE(client::Privileges::from_users_info(doc.get()).ok());
}

}  // namespace
