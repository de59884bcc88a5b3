// --auth enforcement through the dispatcher: login requirements, the localhost exception,
// built-in roles per command and per database, aggregation stages, renameCollection across
// databases, listDatabases/listCollections filtering, and the server's error texts.
#include <gtest/gtest.h>

#include "sim/auth/command_privileges.h"
#include "sim/auth_harness.h"

namespace {

using simtest::AuthHarness;
using simtest::code_of;
using simtest::errmsg_of;
using simtest::ok_of;

class AuthEnforcement : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"find", "insert", "update", "delete", "aggregate", "getMore", "killCursors", "count",
                             "distinct", "findAndModify", "create", "drop", "dropDatabase", "renameCollection",
                             "collMod", "createIndexes", "dropIndexes", "collStats", "dbStats", "listIndexes", "explain"}) {
      h.add_engine_command(name);
    }
    h.add_engine_command("listDatabases",
                         R"({"databases": [{"name": "A", "sizeOnDisk": 1000, "empty": false},
                                           {"name": "B", "sizeOnDisk": 2000, "empty": false},
                                           {"name": "local", "sizeOnDisk": 4000, "empty": false}],
                             "totalSize": 7000, "totalSizeMb": 0})");
    h.add_engine_command("listCollections",
                         R"({"cursor": {"id": 0, "ns": "A.$cmd.listCollections",
                                        "firstBatch": [{"name": "c1", "type": "collection"},
                                                       {"name": "c2", "type": "collection"}]}})");
    admin = h.connection();
    ASSERT_TRUE(ok_of(h.run(admin, R"({"createUser": "root", "pwd": "rootpw", "roles": ["root"], "$db": "admin"})")));
    ASSERT_TRUE(ok_of(h.login(admin, "root", "rootpw")));
  }

  sim::ClientInfo user_with(const std::string& name, const std::string& roles_json, const std::string& db = "admin") {
    auto r = h.run(admin, "{\"createUser\": \"" + name + "\", \"pwd\": \"pw\", \"roles\": " + roles_json +
                              ", \"$db\": \"" + db + "\"}");
    EXPECT_TRUE(ok_of(r)) << r.json();
    sim::ClientInfo c = h.connection();
    auto l = h.login(c, name, "pw", db);
    EXPECT_TRUE(ok_of(l)) << l.json();
    return c;
  }

  AuthHarness h;
  sim::ClientInfo admin;
};

TEST_F(AuthEnforcement, CommandsBeforeLoginNeedAuthentication) {
  auto c = h.connection();
  auto r = h.run(c, R"({"find": "c", "$db": "A"})");
  EXPECT_EQ(code_of(r), 13);
  EXPECT_EQ(errmsg_of(r), "Command find requires authentication");
  EXPECT_EQ(simtest::str_field(r, "codeName"), "Unauthorized");
  for (const char* ok : {R"({"hello": 1, "$db": "admin"})", R"({"isMaster": 1, "$db": "admin"})", R"({"ping": 1, "$db": "admin"})",
                         R"({"buildInfo": 1, "$db": "admin"})", R"({"connectionStatus": 1, "$db": "admin"})",
                         R"({"logout": 1, "$db": "admin"})", R"({"listCommands": 1, "$db": "admin"})"}) {
    EXPECT_TRUE(ok_of(h.run(c, ok))) << ok;
  }
  EXPECT_EQ(code_of(h.run(c, R"({"serverStatus": 1, "$db": "admin"})")), 13);
  EXPECT_EQ(code_of(h.run(c, R"({"endSessions": [], "$db": "admin"})")), 13);
  // An unknown command is unknown before it is unauthorized.
  EXPECT_EQ(code_of(h.run(c, R"({"noSuchThing": 1, "$db": "admin"})")), 59);
}

TEST_F(AuthEnforcement, ReadOnDatabaseAllowsReadsThereOnly) {
  auto c = user_with("reader", R"(["read"])", "A");
  EXPECT_TRUE(ok_of(h.run(c, R"({"find": "c", "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"count": "c", "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"listIndexes": "c", "$db": "A"})")));
  auto ins = h.run(c, R"({"insert": "c", "documents": [{"_id": 1}], "ordered": true, "$db": "A"})");
  EXPECT_EQ(code_of(ins), 13);
  EXPECT_EQ(errmsg_of(ins), "not authorized on A to execute command { insert: \"c\", documents: [ { _id: 1 } ], ordered: true, $db: \"A\" }");
  auto other = h.run(c, R"({"find": "c", "$db": "B"})");
  EXPECT_EQ(code_of(other), 13);
  EXPECT_EQ(errmsg_of(other).rfind("not authorized on B to execute command { find: \"c\"", 0), 0u) << errmsg_of(other);
  EXPECT_EQ(code_of(h.run(c, R"({"drop": "c", "$db": "A"})")), 13);
  EXPECT_EQ(code_of(h.run(c, R"({"serverStatus": 1, "$db": "admin"})")), 13);
}

TEST_F(AuthEnforcement, ReadWriteAndDbAdminSplitAsTheServerRoles) {
  auto rw = user_with("rw", R"(["readWrite"])", "A");
  EXPECT_TRUE(ok_of(h.run(rw, R"({"insert": "c", "documents": [{}], "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(rw, R"({"update": "c", "updates": [{"q": {}, "u": {"$set": {"a": 1}}, "upsert": true}], "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(rw, R"({"createIndexes": "c", "indexes": [], "$db": "A"})")));
  // bypassDocumentValidation and collMod belong to dbAdmin.
  EXPECT_EQ(code_of(h.run(rw, R"({"insert": "c", "documents": [{}], "bypassDocumentValidation": true, "$db": "A"})")), 13);
  EXPECT_EQ(code_of(h.run(rw, R"({"collMod": "c", "$db": "A"})")), 13);
  EXPECT_EQ(code_of(h.run(rw, R"({"dropDatabase": 1, "$db": "A"})")), 13);
  auto dba = user_with("dba", R"(["dbAdmin"])", "A");
  EXPECT_TRUE(ok_of(h.run(dba, R"({"collMod": "c", "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(dba, R"({"dropDatabase": 1, "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(dba, R"({"find": "c", "$db": "A"})")), 13);  // dbAdmin cannot read data
  auto owner = user_with("owner", R"(["dbOwner"])", "A");
  EXPECT_TRUE(ok_of(h.run(owner, R"({"find": "c", "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(owner, R"({"collMod": "c", "$db": "A"})")));
}

TEST_F(AuthEnforcement, OplogReadsNeedReadOnLocal) {
  auto any = user_with("anyreader", R"(["readAnyDatabase"])");
  EXPECT_TRUE(ok_of(h.run(any, R"({"find": "c", "$db": "B"})")));
  // readAnyDatabase covers normal databases, not local or config.
  EXPECT_EQ(code_of(h.run(any, R"({"find": "oplog.rs", "$db": "local"})")), 13);
  auto monitor = user_with("monitor", R"(["clusterMonitor"])");
  EXPECT_TRUE(ok_of(h.run(monitor, R"({"find": "oplog.rs", "$db": "local"})")));
  EXPECT_TRUE(ok_of(h.run(monitor, R"({"serverStatus": 1, "$db": "admin"})")));
  EXPECT_TRUE(ok_of(h.run(monitor, R"({"replSetGetStatus": 1, "$db": "admin"})")));
  auto backup = user_with("backup", R"(["backup"])");
  EXPECT_TRUE(ok_of(h.run(backup, R"({"find": "oplog.rs", "$db": "local"})")));
  EXPECT_EQ(code_of(h.run(backup, R"({"insert": "c", "documents": [{}], "$db": "A"})")), 13);
}

TEST_F(AuthEnforcement, ChangeStreamsNeedChangeStreamAndFind) {
  auto reader = user_with("csreader", R"(["read"])", "A");
  EXPECT_TRUE(ok_of(h.run(reader, R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(reader, R"({"aggregate": 1, "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "A"})")));
  // A cluster-wide stream needs the privileges on every normal database.
  EXPECT_EQ(code_of(h.run(reader, R"({"aggregate": 1, "pipeline": [{"$changeStream": {"allChangesForCluster": true}}], "cursor": {}, "$db": "admin"})")),
            13);
  auto any = user_with("csany", R"(["readAnyDatabase"])");
  EXPECT_TRUE(ok_of(h.run(any, R"({"aggregate": 1, "pipeline": [{"$changeStream": {"allChangesForCluster": true}}], "cursor": {}, "$db": "admin"})")));
  EXPECT_TRUE(ok_of(h.run(admin, R"({"createRole": "findOnly", "privileges": [{"resource": {"db": "A", "collection": ""}, "actions": ["find"]}], "roles": [], "$db": "admin"})")));
  auto finder = user_with("finder", R"([{"role": "findOnly", "db": "admin"}])");
  EXPECT_TRUE(ok_of(h.run(finder, R"({"find": "c", "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(finder, R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "A"})")), 13);
}

TEST_F(AuthEnforcement, PipelineStagesAddTheirOwnPrivileges) {
  auto c = user_with("piper", R"([{"role": "read", "db": "A"}, {"role": "readWrite", "db": "B"}])");
  EXPECT_TRUE(ok_of(h.run(c, R"({"aggregate": "c", "pipeline": [{"$match": {}}], "cursor": {}, "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"aggregate": "c", "pipeline": [{"$out": {"db": "B", "coll": "o"}}], "cursor": {}, "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(c, R"({"aggregate": "c", "pipeline": [{"$out": "o"}], "cursor": {}, "$db": "A"})")), 13);
  EXPECT_TRUE(ok_of(h.run(c, R"({"aggregate": "c", "pipeline": [{"$lookup": {"from": "x", "localField": "a", "foreignField": "b", "as": "j"}}], "cursor": {}, "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(c, R"({"aggregate": "c", "pipeline": [{"$unionWith": {"coll": "x", "pipeline": [{"$collStats": {}}]}}], "cursor": {}, "$db": "C"})")),
            13);
  EXPECT_TRUE(ok_of(h.run(c, R"({"aggregate": "c", "pipeline": [{"$merge": {"into": {"db": "B", "coll": "m"}}}], "cursor": {}, "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"aggregate": 1, "pipeline": [{"$documents": [{"a": 1}]}], "cursor": {}, "$db": "C"})")));
  EXPECT_EQ(code_of(h.run(c, R"({"aggregate": 1, "pipeline": [{"$currentOp": {"allUsers": true}}], "cursor": {}, "$db": "admin"})")), 13);
  EXPECT_TRUE(ok_of(h.run(c, R"({"explain": {"find": "c"}, "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(c, R"({"explain": {"find": "c"}, "$db": "C"})")), 13);
}

TEST_F(AuthEnforcement, RenameAcrossDatabasesNeedsBothSides) {
  auto c = user_with("renamer", R"([{"role": "readWrite", "db": "A"}, {"role": "readWrite", "db": "B"}])");
  EXPECT_TRUE(ok_of(h.run(c, R"({"renameCollection": "A.x", "to": "A.y", "$db": "admin"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"renameCollection": "A.x", "to": "B.y", "$db": "admin"})")));
  auto ro = user_with("renamer2", R"([{"role": "readWrite", "db": "A"}, {"role": "read", "db": "B"}])");
  EXPECT_EQ(code_of(h.run(ro, R"({"renameCollection": "A.x", "to": "B.y", "$db": "admin"})")), 13);
  auto reader = user_with("renamer3", R"([{"role": "read", "db": "A"}])");
  EXPECT_EQ(code_of(h.run(reader, R"({"renameCollection": "A.x", "to": "A.y", "$db": "admin"})")), 13);
}

TEST_F(AuthEnforcement, ListDatabasesShowsOnlyAuthorizedDatabases) {
  auto c = user_with("lister", R"(["read"])", "A");
  auto r = h.run(c, R"({"listDatabases": 1, "$db": "admin"})");
  ASSERT_TRUE(ok_of(r)) << r.json();
  EXPECT_EQ(r.json().find("\"B\""), std::string::npos) << r.json();
  EXPECT_NE(r.json().find("\"A\""), std::string::npos);
  EXPECT_EQ(simtest::int_field(r, "totalSize"), 1000);
  auto strict = h.run(c, R"({"listDatabases": 1, "authorizedDatabases": false, "$db": "admin"})");
  EXPECT_EQ(code_of(strict), 13);
  EXPECT_EQ(errmsg_of(strict), "insufficient permissions to list all databases");
  auto all = h.run(admin, R"({"listDatabases": 1, "$db": "admin"})");
  EXPECT_EQ(simtest::int_field(all, "totalSize"), 7000);
}

TEST_F(AuthEnforcement, ListCollectionsWithAuthorizedCollections) {
  ASSERT_TRUE(ok_of(h.run(admin, R"({"createRole": "c1only", "privileges": [{"resource": {"db": "A", "collection": "c1"}, "actions": ["find"]}], "roles": [], "$db": "admin"})")));
  auto c = user_with("c1user", R"([{"role": "c1only", "db": "admin"}])");
  EXPECT_EQ(code_of(h.run(c, R"({"listCollections": 1, "$db": "A"})")), 13);
  auto r = h.run(c, R"({"listCollections": 1, "nameOnly": true, "authorizedCollections": true, "$db": "A"})");
  ASSERT_TRUE(ok_of(r)) << r.json();
  EXPECT_NE(r.json().find("c1"), std::string::npos);
  EXPECT_EQ(r.json().find("c2"), std::string::npos) << r.json();
}

TEST_F(AuthEnforcement, LocalhostExceptionAllowsTheFirstUserOnly) {
  AuthHarness fresh;
  fresh.add_engine_command("find");
  auto remote = fresh.connection("10.1.2.3:5000");
  auto far = fresh.run(remote, R"({"createUser": "x", "pwd": "p", "roles": ["root"], "$db": "admin"})");
  EXPECT_EQ(errmsg_of(far), "Command createUser requires authentication");
  auto local = fresh.connection();
  EXPECT_EQ(code_of(fresh.run(local, R"({"find": "c", "$db": "A"})")), 13);  // not part of the exception
  EXPECT_EQ(errmsg_of(fresh.run(local, R"({"find": "c", "$db": "A"})")).rfind("not authorized on A", 0), 0u);
  // Roles granted must be on admin: grantRole is only on admin during the exception.
  EXPECT_EQ(code_of(fresh.run(local, R"({"createUser": "x", "pwd": "p", "roles": [{"role": "read", "db": "A"}], "$db": "admin"})")), 13);
  EXPECT_TRUE(ok_of(fresh.run(local, R"({"createUser": "first", "pwd": "p", "roles": ["root"], "$db": "admin"})")));
  auto second = fresh.run(local, R"({"createUser": "second", "pwd": "p", "roles": ["root"], "$db": "admin"})");
  EXPECT_EQ(errmsg_of(second), "Command createUser requires authentication");
}

TEST_F(AuthEnforcement, DroppedUserIsLoggedOut) {
  auto c = user_with("temp", R"(["read"])", "A");
  EXPECT_TRUE(ok_of(h.run(c, R"({"find": "c", "$db": "A"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"dropUser": "temp", "$db": "A"})")));
  EXPECT_EQ(errmsg_of(h.run(c, R"({"find": "c", "$db": "A"})")), "Command find requires authentication");
}

TEST_F(AuthEnforcement, GrantedRolesApplyToOpenSessions) {
  auto c = user_with("grow", R"(["read"])", "A");
  EXPECT_EQ(code_of(h.run(c, R"({"insert": "c", "documents": [{}], "$db": "A"})")), 13);
  ASSERT_TRUE(ok_of(h.run(admin, R"({"grantRolesToUser": "grow", "roles": ["readWrite"], "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"insert": "c", "documents": [{}], "$db": "A"})")));
  ASSERT_TRUE(ok_of(h.run(admin, R"({"revokeRolesFromUser": "grow", "roles": ["readWrite"], "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(c, R"({"insert": "c", "documents": [{}], "$db": "A"})")), 13);
}

TEST_F(AuthEnforcement, UserAdminCanManageUsersButNotData) {
  auto ua = user_with("ua", R"(["userAdmin"])", "A");
  EXPECT_TRUE(ok_of(h.run(ua, R"({"createUser": "made", "pwd": "x", "roles": ["read"], "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(ua, R"({"usersInfo": 1, "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(ua, R"({"createUser": "made2", "pwd": "x", "roles": [{"role": "read", "db": "B"}], "$db": "A"})")), 13);
  EXPECT_EQ(code_of(h.run(ua, R"({"find": "c", "$db": "A"})")), 13);
  // A user can always see itself.
  auto self = user_with("selfviewer", R"(["read"])", "A");
  EXPECT_TRUE(ok_of(h.run(self, R"({"usersInfo": "selfviewer", "$db": "A"})")));
  EXPECT_EQ(code_of(h.run(self, R"({"usersInfo": "ua", "$db": "A"})")), 13);
}

TEST_F(AuthEnforcement, PasswordsNeverAppearInErrors) {
  auto c = user_with("weak", R"(["read"])", "A");
  auto r = h.run(c, R"({"createUser": "x", "pwd": "SuperSecret", "roles": [], "$db": "A"})");
  EXPECT_EQ(code_of(r), 13);
  EXPECT_EQ(errmsg_of(r).find("SuperSecret"), std::string::npos);
  EXPECT_NE(errmsg_of(r).find("pwd: \"xxx\""), std::string::npos) << errmsg_of(r);
  sim::CommandRequest req;
  req.name = "saslStart";
  req.body = simtest::doc(R"({"saslStart": 1, "payload": "c2VjcmV0", "$db": "admin"})");
  auto red = sim::auth::redact_for_logging(req);
  ASSERT_TRUE(red.has_value());
  EXPECT_EQ(red->json().find("c2VjcmV0"), std::string::npos);
  req.name = "find";
  EXPECT_FALSE(sim::auth::redact_for_logging(req).has_value());
}

TEST_F(AuthEnforcement, CurrentOpShowsRedactedCommands) {
  // currentOp lists itself; a createUser in flight is shown through the same redaction.
  auto r = h.run(admin, R"({"currentOp": 1, "$db": "admin"})");
  ASSERT_TRUE(ok_of(r));
  auto c = user_with("noinprog", R"(["read"])", "A");
  EXPECT_EQ(code_of(h.run(c, R"({"currentOp": 1, "$db": "admin"})")), 13);
  EXPECT_TRUE(ok_of(h.run(c, R"({"currentOp": 1, "$ownOps": true, "$db": "admin"})")));
}

TEST_F(AuthEnforcement, CursorsBelongToTheirUser) {
  auto a = user_with("cursorowner", R"(["read"])", "A");
  auto owner = sim::auth::authenticated_user(a);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(*owner, "cursorowner@A");
  sim::CommandRequest get_more;
  get_more.name = "getMore";
  get_more.db = "A";
  get_more.body = simtest::doc(R"({"getMore": {"$numberLong": "5"}, "collection": "c", "$db": "A"})");
  EXPECT_TRUE(sim::auth::check_cursor_access(a, get_more, 5, owner, "A.c").ok());
  auto b = user_with("someoneelse", R"(["read"])", "A");
  auto st = sim::auth::check_cursor_access(b, get_more, 5, owner, "A.c");
  EXPECT_EQ(st.code(), 13);
  EXPECT_EQ(st.message(), "cursor id 5 was not created by the authenticated user");
  sim::CommandRequest kill;
  kill.name = "killCursors";
  kill.db = "A";
  kill.body = simtest::doc(R"({"killCursors": "c", "cursors": [{"$numberLong": "5"}], "$db": "A"})");
  EXPECT_EQ(sim::auth::check_cursor_access(b, kill, 5, owner, "A.c").message().rfind("not authorized on A to execute command", 0), 0u);
  EXPECT_TRUE(sim::auth::check_cursor_access(admin, kill, 5, owner, "A.c").ok());  // root has killAnyCursor
}

TEST(AuthTable, EveryAdminAndAuthCommandHasAPrivilegeRule) {
  AuthHarness h;
  for (const sim::CommandDef* def : h.ctx.commands.all()) {
    EXPECT_NE(sim::auth::find_command_rule(def->name), nullptr) << def->name;
  }
}

TEST(AuthDisabled, WithoutAuthEverythingRunsButLoginStillWorks) {
  AuthHarness h(simtest::auth_options(false));
  h.add_engine_command("find");
  auto c = h.connection("10.0.0.9:1");
  EXPECT_TRUE(ok_of(h.run(c, R"({"find": "c", "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.run(c, R"({"createUser": "u", "pwd": "p", "roles": [], "$db": "A"})")));
  EXPECT_TRUE(ok_of(h.login(c, "u", "p", "A")));
  auto st = h.run(c, R"({"connectionStatus": 1, "$db": "admin"})");
  EXPECT_NE(st.json().find("\"user\" : \"u\""), std::string::npos) << st.json();
}

}  // namespace
