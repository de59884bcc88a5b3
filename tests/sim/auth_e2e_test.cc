// End to end against a mongosim process on port 0: SCRAM logins with libmongoc and pymongo,
// a missing privilege (13) and a wrong password (18) as real drivers report them, users
// surviving a restart in --dbpath, and TLS with real clients.
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "support/certs.h"
#include "support/mongosim_process.h"

namespace {

using testsupport::MongosimProcess;

struct Outcome {
  bool ok = false;
  uint32_t code = 0;
  std::string message;
  int64_t cursor_id = 0;  // cursor.id of the reply, when it has one
};

// Runs `cmd` on `db` through a libmongoc client for `uri`.
Outcome run(const std::string& uri_text, const char* db, bson_t* cmd) {
  Outcome out;
  bson_error_t error;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(uri_text.c_str(), &error);
  if (!uri) {
    bson_destroy(cmd);
    return {false, 0, error.message};
  }
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  mongoc_uri_destroy(uri);
  bson_t reply;
  out.ok = mongoc_client_command_simple(client, db, cmd, nullptr, &reply, &error);
  bson_iter_t it, id;
  if (out.ok && bson_iter_init_find(&it, &reply, "cursor") && bson_iter_recurse(&it, &id) && bson_iter_find(&id, "id")) {
    out.cursor_id = bson_iter_as_int64(&id);
  }
  if (!out.ok) {
    out.code = error.code;
    out.message = error.message;
  }
  bson_destroy(&reply);
  bson_destroy(cmd);
  mongoc_client_destroy(client);
  return out;
}

std::string write_password(const std::string& dir, const std::string& pwd) {
  std::string path = dir + "/admin.pw";
  std::ofstream(path) << pwd << "\n";
  return path;
}

class AuthEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mongoc_init(); }

  void SetUp() override {
    std::string dir = testsupport::make_temp_dir("auth-e2e");
    auto p = MongosimProcess::start({"--auth", "--admin-user", "root", "--admin-password-file", write_password(dir, "rootpw")});
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    server = std::make_unique<MongosimProcess>(std::move(p).value());
    Outcome probe = run("mongodb://" + server->host_port() + "/?directConnection=true", "A", BCON_NEW("find", "c"));
    ASSERT_FALSE(probe.ok) << "--auth is not enforced";
    ASSERT_TRUE(run(uri("root", "rootpw", "admin"), "A",
                    BCON_NEW("createUser", "reader", "pwd", "readerpw", "roles", "[", "read", "]"))
                    .ok);
  }

  std::string uri(const std::string& user, const std::string& pwd, const std::string& source,
                  const std::string& mechanism = "SCRAM-SHA-256") {
    return "mongodb://" + user + ":" + pwd + "@" + server->host_port() + "/?directConnection=true&authSource=" + source +
           (mechanism.empty() ? "" : "&authMechanism=" + mechanism) + "&serverSelectionTimeoutMS=5000";
  }

  std::unique_ptr<MongosimProcess> server;
};

TEST_F(AuthEndToEnd, LibmongocReadUserCannotInsert) {
  for (const char* mech : {"SCRAM-SHA-256", "SCRAM-SHA-1", ""}) {
    std::string u = uri("reader", "readerpw", "A", mech);
    EXPECT_TRUE(run(u, "A", BCON_NEW("find", "c")).ok) << mech;
    Outcome ins = run(u, "A", BCON_NEW("insert", "c", "documents", "[", "{", "x", BCON_INT32(1), "}", "]"));
    EXPECT_FALSE(ins.ok);
    EXPECT_EQ(ins.code, 13u) << ins.message;
    EXPECT_NE(ins.message.find("not authorized on A to execute command"), std::string::npos) << ins.message;
  }
}

TEST_F(AuthEndToEnd, LibmongocWrongPasswordIsAuthenticationFailed) {
  Outcome r = run(uri("reader", "nope", "A"), "A", BCON_NEW("find", "c"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("Authentication failed"), std::string::npos) << r.message;
  Outcome none = run("mongodb://" + server->host_port() + "/?directConnection=true", "A", BCON_NEW("find", "c"));
  EXPECT_EQ(none.code, 13u);
  EXPECT_EQ(none.message, "Command find requires authentication");
}

TEST_F(AuthEndToEnd, PymongoSeesTheSameErrors) {
  std::string script = R"(
import sys, pymongo
from pymongo.errors import OperationFailure
host = sys.argv[1]
def attempt(user, pwd, mech, action):
    c = pymongo.MongoClient(host, username=user, password=pwd, authSource="A", authMechanism=mech,
                            directConnection=True, serverSelectionTimeoutMS=5000)
    try:
        action(c)
        return "ok"
    except OperationFailure as e:
        return str(e.code)
    finally:
        c.close()
for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
    print(mech, attempt("reader", "readerpw", mech, lambda c: c.A.c.find_one()),
          attempt("reader", "readerpw", mech, lambda c: c.A.c.insert_one({"x": 1})),
          attempt("reader", "wrong", mech, lambda c: c.A.c.find_one()))
)";
  std::string path = testsupport::make_temp_dir("auth-py") + "/check.py";
  std::ofstream(path) << script;
  std::string cmd = "/usr/bin/python3 " + path + " " + server->host_port() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("SCRAM-SHA-256 ok 13 18"), std::string::npos) << out;
  EXPECT_NE(out.find("SCRAM-SHA-1 ok 13 18"), std::string::npos) << out;
}

TEST_F(AuthEndToEnd, CursorsBelongToTheUserWhoOpenedThem) {
  std::string root = uri("root", "rootpw", "admin");
  ASSERT_TRUE(run(root, "A", BCON_NEW("createUser", "other", "pwd", "otherpw", "roles", "[", "read", "]")).ok);
  ASSERT_TRUE(run(root, "A", BCON_NEW("insert", "c", "documents", "[", "{", "x", BCON_INT32(1), "}", "{", "x", BCON_INT32(2),
                                      "}", "{", "x", BCON_INT32(3), "}", "]"))
                  .ok);
  Outcome opened = run(uri("reader", "readerpw", "A"), "A", BCON_NEW("find", "c", "batchSize", BCON_INT32(1)));
  ASSERT_TRUE(opened.ok) << opened.message;
  ASSERT_NE(opened.cursor_id, 0);
  auto get_more = [&] { return BCON_NEW("getMore", BCON_INT64(opened.cursor_id), "collection", "c", "batchSize", BCON_INT32(1)); };
  auto kill = [&] { return BCON_NEW("killCursors", "c", "cursors", "[", BCON_INT64(opened.cursor_id), "]"); };
  std::string other = uri("other", "otherpw", "A");
  Outcome stolen = run(other, "A", get_more());
  EXPECT_EQ(stolen.code, 13u);
  EXPECT_EQ(stolen.message, "cursor id " + std::to_string(opened.cursor_id) + " was not created by the authenticated user");
  Outcome killed = run(other, "A", kill());
  EXPECT_EQ(killed.code, 13u);
  EXPECT_NE(killed.message.find("not authorized on A to execute command"), std::string::npos) << killed.message;
  // The owner still reads it (on another connection: the owner is the user, not the socket)...
  EXPECT_TRUE(run(uri("reader", "readerpw", "A"), "A", get_more()).ok);
  // ...and root (killAnyCursor) may kill it.
  EXPECT_TRUE(run(root, "A", kill()).ok);
  EXPECT_EQ(run(uri("reader", "readerpw", "A"), "A", get_more()).code, 43u);
}

TEST_F(AuthEndToEnd, UsersSurviveARestart) {
  std::string dbpath = server->dbpath();
  EXPECT_EQ(server->stop(), 0);
  auto again = MongosimProcess::start({"--auth", "--dbpath", dbpath});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  server = std::make_unique<MongosimProcess>(std::move(again).value());
  EXPECT_TRUE(run(uri("reader", "readerpw", "A"), "A", BCON_NEW("find", "c")).ok);
  EXPECT_TRUE(run(uri("root", "rootpw", "admin"), "admin", BCON_NEW("usersInfo", BCON_INT32(1))).ok);
}

TEST(TlsEndToEnd, RealClientsOverTls) {
  mongoc_init();
  auto certs = testsupport::TestCertificates::create(testsupport::make_temp_dir("tls-e2e"));
  ASSERT_TRUE(certs.ok()) << certs.status().to_string();
  auto p = MongosimProcess::start({"--tls-mode", "require", "--tls-cert-key-file", certs->server_pem});
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  std::string base = "mongodb://" + p->host_port() + "/?directConnection=true&serverSelectionTimeoutMS=3000";
  EXPECT_TRUE(run(base + "&tls=true&tlsCAFile=" + certs->ca_file, "admin", BCON_NEW("ping", BCON_INT32(1))).ok);
  Outcome wrong = run(base + "&tls=true&tlsCAFile=" + certs->other_ca_file, "admin", BCON_NEW("ping", BCON_INT32(1)));
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.message.find("certificate"), std::string::npos) << wrong.message;
  EXPECT_FALSE(run(base, "admin", BCON_NEW("ping", BCON_INT32(1))).ok);
  std::string cmd = "/usr/bin/python3 -c \"import pymongo; c = pymongo.MongoClient('" + base + "', tls=True, tlsCAFile='" +
                    certs->ca_file + "'); print(c.admin.command('ping')['ok'])\" 2>&1";
  FILE* py = popen(cmd.c_str(), "r");
  ASSERT_NE(py, nullptr);
  char buf[256] = {};
  std::string out;
  while (fgets(buf, sizeof buf, py)) out += buf;
  EXPECT_EQ(pclose(py), 0) << out;
  EXPECT_NE(out.find("1.0"), std::string::npos) << out;
}

}  // namespace
