// configureFailPoint and the failCommand fail point, in process through the dispatcher with
// the real engine: modes and their `count`, every failCommand option, label overrides, the
// server's errors for bad specs, and the other fail points mongosim supports.
#include <gtest/gtest.h>

#include <chrono>

#include "sim/faults_harness.h"

namespace {

using simtest::code;
using simtest::FaultHarness;
using simtest::int_at;
using simtest::labels;
using simtest::ok;
using simtest::str_at;
using simtest::str_field;

constexpr const char* kLsid = R"("lsid": {"id": {"$binary": {"base64": "AAECAwQFBgcICQoLDA0ODw==", "subType": "04"}}})";

std::string insert_cmd(int id, const std::string& extra = "") {
  return R"({"insert": "c", "documents": [{"_id": )" + std::to_string(id) + "}]" + extra + R"(, "$db": "test"})";
}

std::string retryable_insert(int id, int txn) {
  return insert_cmd(id, std::string(", ") + kLsid + R"(, "txnNumber": {"$numberLong": ")" + std::to_string(txn) + "\"}");
}

int64_t count_docs(FaultHarness& h) {
  auto r = h.run(R"({"count": "c", "$db": "test"})");
  return int_at(r, "n");
}

TEST(FailPointCommand, OnlyWithTestCommandsAndOnAdmin) {
  FaultHarness off(simtest::fault_options(false));
  auto r = off.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn"})");
  EXPECT_EQ(code(r), 59);
  EXPECT_EQ(str_field(r, "errmsg"), "no such command: 'configureFailPoint'");

  FaultHarness h;
  r = h.run(R"({"configureFailPoint": "failCommand", "mode": "off", "$db": "test"})");
  EXPECT_EQ(code(r), 13);
  EXPECT_EQ(str_field(r, "errmsg"), "configureFailPoint may only be run against the admin database.");
}

TEST(FailPointCommand, ModeAndDataErrorsAreTheServers) {
  FaultHarness h;
  struct Case {
    const char* spec;
    int code;
    const char* msg;
  } cases[] = {
      {R"({"configureFailPoint": "noSuchPoint", "mode": "alwaysOn"})", 266, "noSuchPoint not found"},
      {R"({"configureFailPoint": "failCommand"})", 20, "When setting a failpoint, you must supply a 'mode'"},
      {R"({"configureFailPoint": "failCommand", "mode": "sometimes"})", 2, "unknown mode: sometimes"},
      {R"({"configureFailPoint": "failCommand", "mode": 5})", 14, "'mode' must be a string or JSON object"},
      {R"({"configureFailPoint": "failCommand", "mode": {"times": -1}})", 2, "'times' option to 'mode' must be positive"},
      {R"({"configureFailPoint": "failCommand", "mode": {"skip": 3000000000}})", 2, "'skip' option to 'mode' is too large"},
      {R"({"configureFailPoint": "failCommand", "mode": {"times": "x"}})", 14,
       "Expected field \"times\" to have numeric type, but found string"},
      {R"({"configureFailPoint": "failCommand", "mode": {"times": 1.5}})", 2,
       "Expected field \"times\" to have a value exactly representable as a 64-bit integer, but found times: 1.5"},
      {R"({"configureFailPoint": "failCommand", "mode": {"activationProbability": 1.5}})", 2,
       "activationProbability must be between 0.0 and 1.0; found 1.5"},
      {R"({"configureFailPoint": "failCommand", "mode": {"activationProbability": "x"}})", 14,
       "the 'activationProbability' option to 'mode' must be a double between 0 and 1"},
      {R"({"configureFailPoint": "failCommand", "mode": {"every": 2}})", 2,
       "'mode' must be one of 'off', 'alwaysOn', '{times:n}', '{skip:n}' or '{activationProbability:p}'"},
      {R"({"configureFailPoint": "failCommand", "mode": "alwaysOn", "data": 3})", 14, "the 'data' option must be a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = h.fail_point(c.spec);
    EXPECT_EQ(code(r), c.code) << c.spec << " " << r.json();
    EXPECT_EQ(str_field(r, "errmsg"), c.msg) << c.spec;
  }
}

TEST(FailCommand, TimesFiresThenTurnsOffAndCountReportsEntries) {
  FaultHarness h;
  auto r = h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 2},
                            "data": {"failCommands": ["insert"], "errorCode": 91}})");
  ASSERT_TRUE(ok(r)) << r.json();
  EXPECT_EQ(int_at(r, "count"), 0);
  for (int i = 0; i < 2; ++i) {
    r = h.run(insert_cmd(i));
    EXPECT_EQ(code(r), 91) << r.json();
    EXPECT_EQ(str_field(r, "codeName"), "ShutdownInProgress");
    EXPECT_EQ(str_field(r, "errmsg"), "Failing command via 'failCommand' failpoint");
    // A state-change error carries the topology version.
    EXPECT_TRUE(simtest::has_path(r, "topologyVersion.processId")) << r.json();
  }
  EXPECT_TRUE(ok(h.run(insert_cmd(3))));
  EXPECT_EQ(count_docs(h), 1);
  // The reply of the next configureFailPoint counts every firing so far.
  r = h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "off"})");
  EXPECT_EQ(int_at(r, "count"), 2);
  EXPECT_EQ(simtest::field_type(r, "count"), BSON_TYPE_INT32);
}

TEST(FailCommand, SkipLetsPassesThroughFirst) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"skip": 2},
                   "data": {"failCommands": ["insert"], "errorCode": 2}})");
  EXPECT_TRUE(ok(h.run(insert_cmd(1))));
  EXPECT_TRUE(ok(h.run(insert_cmd(2))));
  EXPECT_EQ(code(h.run(insert_cmd(3))), 2);
  EXPECT_EQ(code(h.run(insert_cmd(4))), 2);
  // Commands the fail point does not name neither fire it nor count.
  EXPECT_TRUE(ok(h.run(R"({"find": "c", "$db": "test"})")));
  auto r = h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "off"})");
  EXPECT_EQ(int_at(r, "count"), 2);
}

TEST(FailCommand, ActivationProbabilityZeroAndOne) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"activationProbability": 0},
                   "data": {"failCommands": ["ping"], "errorCode": 2}})");
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(ok(h.run(R"({"ping": 1, "$db": "admin"})")));
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"activationProbability": 1},
                   "data": {"failCommands": ["ping"], "errorCode": 2}})");
  int failed = 0;
  for (int i = 0; i < 20; ++i) failed += code(h.run(R"({"ping": 1, "$db": "admin"})")) == 2;
  // INT32_MAX * 1.0 as the threshold: practically always.
  EXPECT_GE(failed, 19);
}

TEST(FailCommand, ServerLabelsUnlessErrorLabelsOverrideThem) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": 91}})");
  auto r = h.run(retryable_insert(1, 1));
  EXPECT_EQ(code(r), 91);
  EXPECT_EQ(labels(r), "RetryableWriteError,NoWritesPerformed") << r.json();
  // The driver's retry succeeds with the same txnNumber.
  EXPECT_TRUE(ok(h.run(retryable_insert(1, 1))));

  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": 91, "errorLabels": []}})");
  r = h.run(retryable_insert(2, 2));
  EXPECT_EQ(code(r), 91);
  EXPECT_FALSE(simtest::has_field(r, "errorLabels")) << r.json();

  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": 2, "errorLabels": ["Custom", "RetryableWriteError"]}})");
  r = h.run(insert_cmd(3));
  EXPECT_EQ(labels(r), "Custom,RetryableWriteError") << r.json();
}

TEST(FailCommand, AliasesFiltersAndConfigureFailPointItself) {
  FaultHarness h;
  // An alias names the command: isMaster fails hello.
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failCommands": ["isMaster"], "errorCode": 2}})");
  EXPECT_EQ(code(h.run(R"({"hello": 1, "$db": "admin"})")), 2);
  // appName, namespace and threadName must all match.
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failCommands": ["find"], "errorCode": 2, "appName": "app1", "namespace": "test.c"}})");
  sim::ClientInfo app1 = h.connection("app1"), other = h.connection("other");
  EXPECT_EQ(code(h.run(app1, R"({"find": "c", "$db": "test"})")), 2);
  EXPECT_TRUE(ok(h.run(app1, R"({"find": "d", "$db": "test"})")));
  EXPECT_TRUE(ok(h.run(other, R"({"find": "c", "$db": "test"})")));
  sim::ClientInfo c = h.connection();
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failCommands": ["find"], "errorCode": 2, "threadName": "conn)" +
               std::to_string(c.connection_id) + R"("}})");
  EXPECT_EQ(code(h.run(c, R"({"find": "c", "$db": "test"})")), 2);
  EXPECT_TRUE(ok(h.run(R"({"find": "c", "$db": "test"})")));
  // failAllCommands fails everything but configureFailPoint, which turns it off.
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failAllCommands": true, "errorCode": 2}})");
  EXPECT_EQ(code(h.run(R"({"ping": 1, "$db": "admin"})")), 2);
  EXPECT_TRUE(ok(h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "off"})")));
  EXPECT_TRUE(ok(h.run(R"({"ping": 1, "$db": "admin"})")));
}

TEST(FailCommand, WithoutAnActionTheFailPointNeverFires) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": "x", "errorLabels": ["X"]}})");
  EXPECT_TRUE(ok(h.run(insert_cmd(1))));
  auto r = h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "off"})");
  EXPECT_EQ(int_at(r, "count"), 0);
}

TEST(FailCommand, CloseConnectionSendsNoReply) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "closeConnection": true}})");
  auto r = h.run(insert_cmd(1));
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(count_docs(h), 0);  // the command never ran
  EXPECT_FALSE(h.closed);
}

TEST(FailCommand, BlockConnectionDelaysAndChecksBlockTimeMS) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["ping"], "blockConnection": true, "blockTimeMS": 250}})");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ok(h.run(R"({"ping": 1, "$db": "admin"})")));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));

  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["ping"], "blockConnection": true}})");
  auto r = h.run(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(code(r), 72);
  EXPECT_EQ(str_field(r, "errmsg"), "must specify 'blockTimeMS' when 'blockConnection' is true");
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["ping"], "blockConnection": true, "blockTimeMS": -5}})");
  r = h.run(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(code(r), 72);
  EXPECT_EQ(str_field(r, "errmsg"), "'blockTimeMS' must be non-negative");
  // Blocking, then the error.
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["ping"], "blockConnection": true, "blockTimeMS": 100, "errorCode": 6}})");
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(code(h.run(R"({"ping": 1, "$db": "admin"})")), 6);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST(FailCommand, WriteConcernErrorIsAttachedToTheSuccessfulReply) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"],
                            "writeConcernError": {"code": 91, "errmsg": "Replication is being shut down"}}})");
  auto r = h.run(retryable_insert(1, 1));
  ASSERT_TRUE(ok(r)) << r.json();
  EXPECT_EQ(int_at(r, "n"), 1);
  EXPECT_EQ(int_at(r, "writeConcernError.code"), 91);
  EXPECT_EQ(str_at(r, "writeConcernError.errmsg"), "Replication is being shut down");
  EXPECT_EQ(labels(r), "RetryableWriteError") << r.json();
  EXPECT_EQ(count_docs(h), 1);  // the write itself happened

  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorLabels": ["X"], "writeConcernError": {"code": 64}}})");
  r = h.run(insert_cmd(2));
  EXPECT_TRUE(ok(r));
  EXPECT_EQ(labels(r), "X");
  // Commands that take no write concern never get one.
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failCommands": ["find"], "writeConcernError": {"code": 64}}})");
  r = h.run(R"({"find": "c", "$db": "test"})");
  EXPECT_TRUE(ok(r));
  EXPECT_FALSE(simtest::has_field(r, "writeConcernError"));
}

TEST(FailCommand, ErrorExtraInfoOnlyForCodesThatCarryIt) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": 11000,
                            "errorExtraInfo": {"keyPattern": {"_id": 1}, "keyValue": {"_id": 1}}}})");
  auto r = h.run(insert_cmd(1));
  EXPECT_EQ(code(r), 11000);
  EXPECT_EQ(int_at(r, "keyPattern._id"), 1) << r.json();
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": 2, "errorExtraInfo": {"extra": 1}}})");
  r = h.run(insert_cmd(1));
  EXPECT_EQ(code(r), 2);
  EXPECT_FALSE(simtest::has_field(r, "extra"));
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["insert"], "errorCode": 2, "errorExtraInfo": 5}})");
  r = h.run(insert_cmd(1));
  EXPECT_EQ(code(r), 14);
  EXPECT_EQ(str_field(r, "errmsg"), "\"errorExtraInfo\" had the wrong type. Expected object, found int");
}

TEST(OtherFailPoints, GetMoreAfterCursorCheckoutFailsAndDeletesTheCursor) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"insert": "c", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}], "$db": "test"})")));
  auto f = h.run(R"({"find": "c", "batchSize": 1, "$db": "test"})");
  int64_t id = int_at(f, "cursor.id");
  ASSERT_NE(id, 0);
  h.fail_point(R"({"configureFailPoint": "failGetMoreAfterCursorCheckout", "mode": {"times": 1},
                   "data": {"errorCode": 91}})");
  std::string get_more = R"({"getMore": {"$numberLong": ")" + std::to_string(id) + R"("}, "collection": "c", "$db": "test"})";
  auto r = h.run(get_more);
  EXPECT_EQ(code(r), 91);
  EXPECT_EQ(str_field(r, "errmsg"), "Hit the 'failGetMoreAfterCursorCheckout' failpoint");
  EXPECT_EQ(code(h.run(get_more)), 43);  // the cursor is gone
}

TEST(OtherFailPoints, GetMoreAfterCursorCheckoutLabelsChangeStreamErrors) {
  FaultHarness h;
  ASSERT_TRUE(ok(h.run(R"({"create": "c", "$db": "test"})")));
  auto open = h.run(R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "test"})");
  int64_t id = int_at(open, "cursor.id");
  ASSERT_NE(id, 0) << open.json();
  std::string get_more = R"({"getMore": {"$numberLong": ")" + std::to_string(id) + R"("}, "collection": "c", "$db": "test"})";
  // A resumable code on a checked-out change stream cursor carries the label the driver resumes on.
  h.fail_point(R"({"configureFailPoint": "failGetMoreAfterCursorCheckout", "mode": {"times": 1}, "data": {"errorCode": 6}})");
  auto r = h.run(get_more);
  EXPECT_EQ(code(r), 6);
  EXPECT_EQ(labels(r), "ResumableChangeStreamError") << r.json();
  // Other codes, and failCommand (before the cursor is checked out), carry none.
  open = h.run(R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "test"})");
  get_more = R"({"getMore": {"$numberLong": ")" + std::to_string(int_at(open, "cursor.id")) +
             R"("}, "collection": "c", "$db": "test"})";
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["getMore"], "errorCode": 6}})");
  r = h.run(get_more);
  EXPECT_EQ(code(r), 6);
  EXPECT_FALSE(simtest::has_field(r, "errorLabels")) << r.json();
  h.fail_point(R"({"configureFailPoint": "failGetMoreAfterCursorCheckout", "mode": {"times": 1}, "data": {"errorCode": 2}})");
  r = h.run(get_more);
  EXPECT_EQ(code(r), 2);
  EXPECT_FALSE(simtest::has_field(r, "errorLabels")) << r.json();
}

TEST(OtherFailPoints, MaxTimeAlwaysTimeOut) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "maxTimeAlwaysTimeOut", "mode": "alwaysOn"})");
  auto r = h.run(R"({"find": "c", "maxTimeMS": 10000, "$db": "test"})");
  EXPECT_EQ(code(r), 50);
  EXPECT_EQ(str_field(r, "errmsg"), "operation exceeded time limit");
  EXPECT_TRUE(ok(h.run(R"({"find": "c", "$db": "test"})")));
}

TEST(OtherFailPoints, OnPrimaryTransactionalWrite) {
  FaultHarness h;
  // Default: the write commits and the connection closes before the reply.
  h.fail_point(R"({"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"times": 1}})");
  auto r = h.run(retryable_insert(1, 1));
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(count_docs(h), 1);
  r = h.run(retryable_insert(1, 1));  // the driver's retry finds the recorded result
  EXPECT_TRUE(ok(r)) << r.json();
  EXPECT_EQ(count_docs(h), 1);
  // failBeforeCommitExceptionCode without closing: the statement's write error.
  h.fail_point(R"({"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"times": 1},
                   "data": {"closeConnection": false, "failBeforeCommitExceptionCode": 1}})");
  r = h.run(retryable_insert(2, 2));
  EXPECT_TRUE(ok(r)) << r.json();
  EXPECT_EQ(int_at(r, "writeErrors.0.code"), 1);
  EXPECT_EQ(count_docs(h), 1);
  // Plain writes (no txnNumber) are not retryable writes.
  h.fail_point(R"({"configureFailPoint": "onPrimaryTransactionalWrite", "mode": "alwaysOn"})");
  EXPECT_TRUE(ok(h.run(insert_cmd(5))));
  EXPECT_FALSE(h.closed);
}

TEST(OtherFailPoints, OnPrimaryTransactionalWriteSkipsRetriesOfDoneStatements) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"times": 2}})");
  h.run(retryable_insert(1, 1));
  EXPECT_TRUE(h.closed);
  h.closed = false;
  // The retry writes nothing, so the fail point (one time left) does not fire on it...
  auto r = h.run(retryable_insert(1, 1));
  EXPECT_FALSE(h.closed);
  EXPECT_TRUE(ok(r)) << r.json();
  // ...but on the next new write.
  h.run(retryable_insert(2, 2));
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(count_docs(h), 2);
}

TEST(OtherFailPoints, WaitForFailPoint) {
  FaultHarness h;
  h.fail_point(R"({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failCommands": ["ping"], "errorCode": 2}})");
  h.run(R"({"ping": 1, "$db": "admin"})");
  EXPECT_TRUE(ok(h.run(R"({"waitForFailPoint": "failCommand", "timesEntered": 1, "maxTimeMS": 1000, "$db": "admin"})")));
  auto r = h.run(R"({"waitForFailPoint": "failCommand", "timesEntered": 5, "maxTimeMS": 100, "$db": "admin"})");
  EXPECT_EQ(code(r), 50);
  r = h.run(R"({"waitForFailPoint": "failCommand", "timesEntered": 5, "$db": "admin"})");
  EXPECT_EQ(code(r), 9);
  EXPECT_EQ(str_field(r, "errmsg"), "Missing maxTimeMS");
}

}  // namespace
