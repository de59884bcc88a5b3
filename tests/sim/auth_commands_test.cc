// The authentication commands and the user/role commands through the dispatcher:
// saslStart/saslContinue flows and errors, hello's saslSupportedMechs and
// speculativeAuthenticate, connectionStatus, usersInfo/rolesInfo shapes, role management,
// persistence in --dbpath and --admin-user.
#include <gtest/gtest.h>

#include <fstream>

#include "sim/auth_harness.h"
#include "support/mongosim_process.h"

namespace {

using simtest::AuthHarness;
using simtest::code_of;
using simtest::errmsg_of;
using simtest::ok_of;

std::string keys_of(const bson_t* doc) {
  std::string out;
  bson_iter_t it;
  bson_iter_init(&it, doc);
  while (bson_iter_next(&it)) out += std::string(out.empty() ? "" : ",") + bson_iter_key(&it);
  return out;
}

// The first document of the array `field` of `reply`.
common::Bson first_of(const common::Bson& reply, const char* field) {
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, reply.get(), field) || !bson_iter_recurse(&it, &arr) || !bson_iter_next(&arr)) {
    return common::Bson();
  }
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&arr, &len, &data);
  return common::Bson(data, len);
}

class AuthCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    admin = h.connection();
    ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "root", "pwd": "rootpw", "roles": ["root"], "$db": "admin"})")));
    ASSERT_TRUE(ok_of(h.login(admin, "root", "rootpw")));
  }
  AuthHarness h;
  sim::ClientInfo admin;
};

TEST_F(AuthCommands, WrongPasswordAndUnknownUserGiveTheSameError) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "alice", "pwd": "right", "roles": [], "$db": "test"})")));
  for (auto m : {sim::auth::ScramMechanism::kSha1, sim::auth::ScramMechanism::kSha256}) {
    auto c = h.connection();
    auto wrong = h.login(c, "alice", "wrong", "test", m);
    EXPECT_EQ(code_of(wrong), 18);
    EXPECT_EQ(errmsg_of(wrong), "Authentication failed.");
    EXPECT_EQ(simtest::str_field(wrong, "codeName"), "AuthenticationFailed");
    auto unknown = h.login(c, "nobody", "x", "test", m);
    EXPECT_EQ(unknown.json().substr(unknown.json().find("\"ok\"")), wrong.json().substr(wrong.json().find("\"ok\"")))
        << "an unknown user must not be distinguishable";
    EXPECT_TRUE(ok_of(h.login(c, "alice", "right", "test", m)));
  }
  // Users live in their database: the same name on another database is another user.
  auto c = h.connection();
  EXPECT_EQ(code_of(h.login(c, "alice", "right", "admin")), 18);
}

TEST_F(AuthCommands, ConversationWithoutSkipEmptyExchangeTakesThreeRounds) {
  auto c = h.connection();
  auto r = h.login(c, "root", "rootpw", "admin", sim::auth::ScramMechanism::kSha1, false);
  EXPECT_TRUE(ok_of(r)) << r.json();
  EXPECT_TRUE(simtest::has_field(r, "done"));
  auto st = h.run(c, R"({"connectionStatus": 1, "$db": "admin"})");
  EXPECT_NE(st.json().find("\"root\""), std::string::npos);
}

TEST_F(AuthCommands, SaslErrorsAsTheServer) {
  auto c = h.connection();
  auto cont = h.run(c, R"({"saslContinue": 1, "conversationId": 1, "payload": {"$binary": {"base64": "", "subType": "00"}}, "$db": "admin"})");
  EXPECT_EQ(code_of(cont), 17);
  EXPECT_EQ(errmsg_of(cont), "No SASL session state found");
  auto mech = h.run(c, R"({"saslStart": 1, "mechanism": "PLAIN", "payload": {"$binary": {"base64": "", "subType": "00"}}, "$db": "admin"})");
  EXPECT_EQ(code_of(mech), 2);
  EXPECT_EQ(errmsg_of(mech), "Unsupported mechanism 'PLAIN' on authentication database 'admin'");
  auto garbage = h.run(c, R"({"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": {"$binary": {"base64": "Z2FyYmFnZQ==", "subType": "00"}}, "$db": "admin"})");
  EXPECT_EQ(code_of(garbage), 18);
  auto opts = h.run(c, R"({"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": {"$binary": {"base64": "", "subType": "00"}}, "options": {"skipEmptyExchange": 1}, "$db": "admin"})");
  EXPECT_EQ(errmsg_of(opts), "skipEmptyExchange must be boolean");
  auto unknown_field = h.run(c, R"({"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": "", "bogus": 1, "$db": "admin"})");
  EXPECT_EQ(code_of(unknown_field), 40415);
  // authenticate serves only MONGODB-X509, which mongosim does not offer.
  EXPECT_EQ(code_of(h.run(c, R"({"authenticate": 1, "mechanism": "MONGODB-X509", "$db": "$external"})")), 18);
}

TEST_F(AuthCommands, OneUserPerConnection) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "other", "pwd": "o", "roles": [], "$db": "test"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "other2", "pwd": "o", "roles": [], "$db": "admin"})")));
  EXPECT_TRUE(ok_of(h.login(admin, "root", "rootpw")));  // the same user again is allowed
  auto r = h.login(admin, "other", "o", "test");
  EXPECT_EQ(code_of(r), 5626701);
  EXPECT_EQ(errmsg_of(r), "Each client connection may only be authenticated once. Previously authenticated as: root@admin");
  EXPECT_EQ(code_of(h.login(admin, "other2", "o", "admin")), 5626702);
  EXPECT_TRUE(ok_of(h.run(admin, R"({"logout": 1, "$db": "admin"})")));
  EXPECT_TRUE(ok_of(h.login(admin, "other", "o", "test")));
}

TEST_F(AuthCommands, HelloAdvertisesMechanismsPerUser) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "only256", "pwd": "p", "roles": [], "mechanisms": ["SCRAM-SHA-256"], "$db": "admin"})")));
  auto c = h.connection();
  auto both = h.run(c, R"({"hello": 1, "saslSupportedMechs": "admin.root", "$db": "admin"})");
  EXPECT_NE(both.json().find(R"("saslSupportedMechs" : [ "SCRAM-SHA-1", "SCRAM-SHA-256" ])"), std::string::npos) << both.json();
  auto one = h.run(c, R"({"isMaster": 1, "saslSupportedMechs": {"user": "only256", "db": "admin"}, "$db": "admin"})");
  EXPECT_NE(one.json().find(R"("saslSupportedMechs" : [ "SCRAM-SHA-256" ])"), std::string::npos) << one.json();
  auto none = h.run(c, R"({"hello": 1, "saslSupportedMechs": "test.bogus", "$db": "admin"})");
  EXPECT_TRUE(ok_of(none));
  EXPECT_FALSE(simtest::has_field(none, "saslSupportedMechs"));
  EXPECT_EQ(code_of(h.run(c, R"({"hello": 1, "saslSupportedMechs": "bogus", "$db": "admin"})")), 2);
  EXPECT_EQ(keys_of(both.get()).substr(keys_of(both.get()).rfind(",saslSupportedMechs")), ",saslSupportedMechs,ok,$clusterTime,operationTime");
}

TEST_F(AuthCommands, SpeculativeAuthenticationInHello) {
  sim::auth::ScramClientConversation client(sim::auth::ScramMechanism::kSha256, "root", "rootpw", "spec-nonce-123456");
  auto c = h.connection();
  auto hello = h.run(c, "{\"hello\": 1, \"speculativeAuthenticate\": {\"saslStart\": 1, \"mechanism\": \"SCRAM-SHA-256\", "
                        "\"payload\": " + AuthHarness::bin(client.client_first()) +
                            ", \"options\": {\"skipEmptyExchange\": true}, \"db\": \"admin\"}, \"$db\": \"admin\"}");
  ASSERT_TRUE(ok_of(hello)) << hello.json();
  bson_iter_t it, spec;
  ASSERT_TRUE(bson_iter_init_find(&it, hello.get(), "speculativeAuthenticate"));
  ASSERT_TRUE(bson_iter_recurse(&it, &spec));
  ASSERT_TRUE(bson_iter_find(&spec, "conversationId"));
  ASSERT_TRUE(bson_iter_find(&spec, "done"));
  EXPECT_FALSE(bson_iter_as_bool(&spec));
  ASSERT_TRUE(bson_iter_find(&spec, "payload"));
  bson_subtype_t sub;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_binary(&spec, &sub, &len, &data);
  auto final = client.client_final(std::string(reinterpret_cast<const char*>(data), len));
  ASSERT_TRUE(final.ok());
  auto r = h.run(c, "{\"saslContinue\": 1, \"conversationId\": 1, \"payload\": " + AuthHarness::bin(*final) + ", \"$db\": \"admin\"}");
  EXPECT_TRUE(ok_of(r)) << r.json();
  EXPECT_TRUE(bson_iter_init_find(&it, r.get(), "done") && bson_iter_as_bool(&it));
  // A failing speculative start is silently dropped: the handshake still succeeds.
  auto bad = h.run(c, R"({"hello": 1, "speculativeAuthenticate": {"saslStart": 1, "mechanism": "NOPE", "payload": "", "db": "admin"}, "$db": "admin"})");
  EXPECT_TRUE(ok_of(bad));
  EXPECT_FALSE(simtest::has_field(bad, "speculativeAuthenticate"));
  EXPECT_EQ(code_of(h.run(c, R"({"hello": 1, "speculativeAuthenticate": {}, "$db": "admin"})")), 2);
  EXPECT_EQ(code_of(h.run(c, R"({"hello": 1, "speculativeAuthenticate": {"find": 1}, "$db": "admin"})")), 51769);
}

TEST_F(AuthCommands, ConnectionStatusReportsUserRolesAndPrivileges) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "app", "pwd": "p", "roles": ["readWrite", {"role": "read", "db": "B"}], "$db": "A"})")));
  auto c = h.connection();
  auto before = h.run(c, R"({"connectionStatus": 1, "$db": "admin"})");
  EXPECT_NE(before.json().find(R"("authenticatedUsers" : [  ])"), std::string::npos) << before.json();
  ASSERT_TRUE(ok_of(h.login(c, "app", "p", "A")));
  auto st = h.run(c, R"({"connectionStatus": 1, "showPrivileges": true, "$db": "admin"})");
  std::string j = st.json();
  EXPECT_NE(j.find(R"("authenticatedUsers" : [ { "user" : "app", "db" : "A" } ])"), std::string::npos) << j;
  EXPECT_NE(j.find(R"({ "role" : "read", "db" : "B" })"), std::string::npos);
  EXPECT_NE(j.find(R"({ "role" : "readWrite", "db" : "A" })"), std::string::npos);
  EXPECT_NE(j.find(R"("authenticatedUserPrivileges")"), std::string::npos);
  EXPECT_NE(j.find(R"({ "resource" : { "db" : "A", "collection" : "" }, "actions" : [ "changeStream", "cleanupStructuredEncryptionData")"),
            std::string::npos)
      << j;
}

TEST_F(AuthCommands, UsersInfoShapes) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "bob", "pwd": "p", "roles": ["read"], "customData": {"team": "x"}, "$db": "test"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "amy", "pwd": "p", "roles": [], "mechanisms": ["SCRAM-SHA-1"], "$db": "test"})")));
  auto all = h.run(admin, R"({"usersInfo": 1, "$db": "test"})");
  ASSERT_TRUE(ok_of(all)) << all.json();
  auto first = first_of(all, "users");
  EXPECT_EQ(keys_of(first.get()), "_id,userId,user,db,roles,mechanisms");  // sorted: amy first
  EXPECT_EQ(simtest::str_field(first, "_id"), "test.amy");
  EXPECT_EQ(simtest::field_type(first, "userId"), BSON_TYPE_BINARY);
  auto bob = h.run(admin, R"({"usersInfo": "bob", "$db": "test"})");
  EXPECT_EQ(keys_of(first_of(bob, "users").get()), "_id,userId,user,db,customData,roles,mechanisms");
  EXPECT_EQ(bob.json().find("storedKey"), std::string::npos);
  auto creds = h.run(admin, R"({"usersInfo": {"user": "bob", "db": "test"}, "showCredentials": true, "$db": "admin"})");
  EXPECT_NE(creds.json().find("storedKey"), std::string::npos);
  EXPECT_NE(creds.json().find("\"iterationCount\" : 15000"), std::string::npos);
  auto privs = h.run(admin, R"({"usersInfo": [{"user": "bob", "db": "test"}], "showPrivileges": true, "$db": "admin"})");
  EXPECT_EQ(keys_of(first_of(privs, "users").get()),
            "_id,userId,user,db,mechanisms,customData,roles,inheritedRoles,inheritedPrivileges,inheritedAuthenticationRestrictions");
  EXPECT_EQ(code_of(h.run(admin, R"({"usersInfo": 1, "showPrivileges": true, "$db": "test"})")), 20);
  auto every = h.run(admin, R"({"usersInfo": {"forAllDBs": true}, "$db": "admin"})");
  EXPECT_NE(every.json().find("admin.root"), std::string::npos);
  EXPECT_NE(every.json().find("test.bob"), std::string::npos);
  auto filtered = h.run(admin, R"({"usersInfo": 1, "filter": {"mechanisms": "SCRAM-SHA-256"}, "$db": "test"})");
  EXPECT_EQ(filtered.json().find("amy"), std::string::npos) << filtered.json();
  EXPECT_NE(filtered.json().find("bob"), std::string::npos);
  auto missing = h.run(admin, R"({"usersInfo": "nobody", "$db": "test"})");
  EXPECT_TRUE(ok_of(missing));
  EXPECT_NE(missing.json().find(R"("users" : [  ])"), std::string::npos);
}

TEST_F(AuthCommands, CreateUserValidatesAsTheServer) {
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"createUser": "root", "pwd": "x", "roles": [], "$db": "admin"})")),
            "User \"root@admin\" already exists");
  EXPECT_EQ(code_of(h.run(admin, R"({"createUser": "root", "pwd": "x", "roles": [], "$db": "admin"})")), 51003);
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"createUser": "u", "pwd": "x", "roles": [], "$db": "local"})")),
            "Cannot create users in the local database");
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"createUser": "u", "roles": [], "$db": "test"})")),
            "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db");
  EXPECT_EQ(code_of(h.run(admin, R"({"createUser": "u", "pwd": "x", "$db": "test"})")), 40414);
  auto role = h.run(admin, R"({"createUser": "u", "pwd": "x", "roles": ["nosuchrole"], "$db": "test"})");
  EXPECT_EQ(code_of(role), 31);
  EXPECT_EQ(errmsg_of(role), "Could not find role: nosuchrole@test");
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"createUser": "u", "pwd": "x", "roles": [], "mechanisms": ["MD5"], "$db": "test"})")),
            "Unknown auth mechanism 'MD5'");
  EXPECT_EQ(code_of(h.run(admin, R"({"createUser": "u", "pwd": "x", "roles": [], "extra": 1, "$db": "test"})")), 40415);
  // Admin-only roles do not exist on other databases.
  EXPECT_EQ(code_of(h.run(admin, R"({"createUser": "u", "pwd": "x", "roles": ["root"], "$db": "test"})")), 31);
  EXPECT_TRUE(ok_of(h.run(admin, R"({"createUser": "ext", "roles": [], "$db": "$external"})")));
}

TEST_F(AuthCommands, UpdateUserChangesPasswordAndMechanisms) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "carl", "pwd": "old", "roles": [], "$db": "test"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"updateUser": "carl", "pwd": "new", "$db": "test"})")));
  auto c = h.connection();
  EXPECT_EQ(code_of(h.login(c, "carl", "old", "test")), 18);
  EXPECT_TRUE(ok_of(h.login(c, "carl", "new", "test")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"updateUser": "carl", "mechanisms": ["SCRAM-SHA-256"], "$db": "test"})")));
  auto info = h.run(admin, R"({"usersInfo": "carl", "$db": "test"})");
  EXPECT_NE(info.json().find(R"("mechanisms" : [ "SCRAM-SHA-256" ])"), std::string::npos) << info.json();
  auto d = h.connection();
  EXPECT_EQ(code_of(h.login(d, "carl", "new", "test", sim::auth::ScramMechanism::kSha1)), 18);
  ASSERT_TRUE(ok_of(h.login(d, "carl", "new", "test")));
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"updateUser": "carl", "$db": "test"})")), "Must specify at least one field to update in updateUser");
  EXPECT_EQ(code_of(h.run(admin, R"({"updateUser": "nobody", "pwd": "x", "$db": "test"})")), 11);
  // Any user may change its own password with changeOwnPassword (a custom role here).
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createRole": "selfpw", "privileges": [{"resource": {"db": "test", "collection": ""}, "actions": ["changeOwnPassword"]}], "roles": [], "$db": "test"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"grantRolesToUser": "carl", "roles": ["selfpw"], "$db": "test"})")));
  EXPECT_TRUE(ok_of(h.run(d, R"({"updateUser": "carl", "pwd": "newer", "$db": "test"})")));
  EXPECT_EQ(code_of(h.run(d, R"({"updateUser": "root", "pwd": "x", "$db": "admin"})")), 13);
}

TEST_F(AuthCommands, RolesInfoShapes) {
  auto read = h.run(admin, R"({"rolesInfo": "read", "showPrivileges": true, "$db": "test"})");
  ASSERT_TRUE(ok_of(read)) << read.json();
  auto r = first_of(read, "roles");
  EXPECT_EQ(keys_of(r.get()), "db,role,roles,privileges,inheritedRoles,inheritedPrivileges,isBuiltin");
  EXPECT_NE(read.json().find(R"({ "resource" : { "db" : "test", "collection" : "" }, "actions" : [ "changeStream", "collStats", "dbHash", "dbStats", "find", "killCursors", "listCollections", "listIndexes", "listSearchIndexes", "planCacheRead" ] })"),
            std::string::npos)
      << read.json();
  EXPECT_NE(read.json().find(R"("collection" : "system.js")"), std::string::npos);
  auto listing = h.run(admin, R"({"rolesInfo": 1, "showBuiltinRoles": true, "$db": "admin"})");
  for (const char* role : {"\"root\"", "\"clusterMonitor\"", "\"readAnyDatabase\"", "\"backup\"", "\"__system\""}) {
    EXPECT_NE(listing.json().find(role), std::string::npos) << role;
  }
  EXPECT_EQ(keys_of(first_of(listing, "roles").get()), "role,db,isBuiltin,roles,inheritedRoles");
  auto test_listing = h.run(admin, R"({"rolesInfo": 1, "showBuiltinRoles": true, "$db": "test"})");
  EXPECT_EQ(test_listing.json().find("\"root\""), std::string::npos);
  auto root = h.run(admin, R"({"rolesInfo": {"role": "root", "db": "admin"}, "showPrivileges": true, "$db": "admin"})");
  EXPECT_NE(root.json().find(R"("anyResource" : true)"), std::string::npos);
  EXPECT_NE(root.json().find(R"("cluster" : true)"), std::string::npos);
  auto none = h.run(admin, R"({"rolesInfo": "root", "$db": "test"})");
  EXPECT_NE(none.json().find(R"("roles" : [  ])"), std::string::npos) << none.json();
  auto frag = h.run(admin, R"({"rolesInfo": ["read", "dbAdmin"], "showPrivileges": "asUserFragment", "$db": "test"})");
  EXPECT_TRUE(simtest::has_path(frag, "userFragment.inheritedPrivileges")) << frag.json();
}

TEST_F(AuthCommands, UserDefinedRolesInheritAndGrant) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createRole": "base", "privileges": [{"resource": {"db": "A", "collection": "c"}, "actions": ["find"]}], "roles": [], "$db": "A"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createRole": "top", "privileges": [], "roles": ["base"], "$db": "A"})")));
  auto info = h.run(admin, R"({"rolesInfo": "top", "showPrivileges": true, "$db": "A"})");
  EXPECT_EQ(keys_of(first_of(info, "roles").get()), "_id,role,db,privileges,roles,inheritedRoles,inheritedPrivileges,isBuiltin");
  EXPECT_NE(info.json().find(R"("inheritedRoles" : [ { "role" : "base", "db" : "A" } ])"), std::string::npos) << info.json();
  EXPECT_NE(info.json().find(R"("collection" : "c")"), std::string::npos);
  EXPECT_EQ(code_of(h.run(admin, R"({"createRole": "top", "privileges": [], "roles": [], "$db": "A"})")), 51002);
  EXPECT_EQ(code_of(h.run(admin, R"({"grantRolesToRole": "base", "roles": ["top"], "$db": "A"})")), 49);  // a cycle
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"createRole": "read", "privileges": [], "roles": [], "$db": "A"})")),
            "Cannot create roles with the same name as a built-in role");
  EXPECT_EQ(code_of(h.run(admin, R"({"createRole": "wide", "privileges": [{"resource": {"cluster": true}, "actions": ["serverStatus"]}], "roles": [], "$db": "A"})")),
            49);
  EXPECT_EQ(errmsg_of(h.run(admin, R"({"createRole": "typo", "privileges": [{"resource": {"db": "A", "collection": ""}, "actions": ["fnid"]}], "roles": [], "$db": "A"})")),
            "Unknown action type in privilege set: 'fnid'");
  ASSERT_TRUE(ok_of(h.run(admin, R"({"grantPrivilegesToRole": "base", "privileges": [{"resource": {"db": "A", "collection": "c"}, "actions": ["insert"]}], "$db": "A"})")));
  auto granted = h.run(admin, R"({"rolesInfo": "base", "showPrivileges": true, "$db": "A"})");
  EXPECT_NE(granted.json().find(R"("actions" : [ "find", "insert" ])"), std::string::npos) << granted.json();
  ASSERT_TRUE(ok_of(h.run(admin, R"({"revokePrivilegesFromRole": "base", "privileges": [{"resource": {"db": "A", "collection": "c"}, "actions": ["find"]}], "$db": "A"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "member", "pwd": "p", "roles": ["top"], "$db": "A"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"dropRole": "base", "$db": "A"})")));
  auto after = h.run(admin, R"({"rolesInfo": "top", "$db": "A"})");
  EXPECT_NE(after.json().find(R"("roles" : [  ])"), std::string::npos) << after.json();
  ASSERT_TRUE(ok_of(h.run(admin, R"({"updateRole": "top", "roles": ["read"], "$db": "A"})")));
  auto drop_all = h.run(admin, R"({"dropAllRolesFromDatabase": 1, "$db": "A"})");
  EXPECT_EQ(simtest::int_field(drop_all, "n"), 1);
  auto drop_users = h.run(admin, R"({"dropAllUsersFromDatabase": 1, "$db": "A"})");
  EXPECT_EQ(simtest::int_field(drop_users, "n"), 1);
}

TEST(AuthPersistence, UsersSurviveARestartAndADamagedFileIsAnError) {
  std::string dir = testsupport::make_temp_dir("auth-store");
  {
    AuthHarness h(simtest::auth_options(true, dir));
    ASSERT_TRUE(h.open_status.ok());
    auto c = h.connection();
    ASSERT_TRUE(ok_of(h.run(c, R"({"createUser": "keep", "pwd": "k", "roles": ["root"], "$db": "admin"})")));
    ASSERT_TRUE(ok_of(h.login(c, "keep", "k")));
    ASSERT_TRUE(ok_of(h.run(c, R"({"createRole": "r", "privileges": [], "roles": ["read"], "$db": "test"})")));
  }
  {
    AuthHarness h(simtest::auth_options(true, dir));
    ASSERT_TRUE(h.open_status.ok()) << h.open_status.to_string();
    auto c = h.connection();
    EXPECT_TRUE(ok_of(h.login(c, "keep", "k")));
    EXPECT_NE(h.run(c, R"({"rolesInfo": "r", "$db": "test"})").json().find("\"r\""), std::string::npos);
  }
  {
    std::ofstream f(dir + "/mongosim-auth.bson", std::ios::binary | std::ios::trunc);
    f << "not bson at all";
  }
  AuthHarness broken(simtest::auth_options(true, dir));
  EXPECT_FALSE(broken.open_status.ok());
  EXPECT_NE(broken.open_status.message().find("is damaged"), std::string::npos) << broken.open_status.to_string();
}

TEST(AuthAdminUser, CreatedAtStartWithRoot) {
  std::string dir = testsupport::make_temp_dir("auth-admin");
  {
    std::ofstream f(dir + "/pw");
    f << "adminsecret\n";
  }
  auto o = simtest::auth_options(true);
  o.admin_user = "boss";
  o.admin_password_file = dir + "/pw";
  AuthHarness h(o);
  ASSERT_TRUE(h.open_status.ok()) << h.open_status.to_string();
  auto c = h.connection("10.0.0.1:2");
  ASSERT_TRUE(ok_of(h.login(c, "boss", "adminsecret")));
  auto st = h.run(c, R"({"connectionStatus": 1, "$db": "admin"})");
  EXPECT_NE(st.json().find(R"({ "role" : "root", "db" : "admin" })"), std::string::npos);
  o.admin_password_file = dir + "/missing";
  o.dbpath = "";
  AuthHarness bad(o);
  EXPECT_FALSE(bad.open_status.ok());
  EXPECT_NE(bad.open_status.message().find("--admin-password-file"), std::string::npos);
}

}  // namespace
