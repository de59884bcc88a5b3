// Tests of the dispatcher (sim/server/dispatcher.h), in process: command lookup, $db,
// admin-only commands, reply decoration, errors, sequences, moreToCome, OP_QUERY,
// compression and checksums of replies.
#include "sim/server/dispatcher.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "sim/dispatch_harness.h"

namespace {

using namespace sim::server;
using simtest::doc;
using simtest::DispatchHarness;
using simtest::field_type;
using simtest::has_field;
using simtest::int_field;
using simtest::str_field;

void add_command(DispatchHarness& h, std::string name, sim::CommandHandler fn, bool admin_only = false) {
  sim::CommandDef d;
  d.name = std::move(name);
  d.handler = std::move(fn);
  d.admin_only = admin_only;
  h.ctx.commands.add(std::move(d));
}

TEST(Dispatcher, UnknownCommandIsCommandNotFound) {
  DispatchHarness h;
  auto r = h.command(R"({"foo": 1, "$db": "test"})");
  EXPECT_EQ(int_field(r, "ok"), 0);
  EXPECT_EQ(str_field(r, "errmsg"), "no such command: 'foo'");
  EXPECT_EQ(int_field(r, "code"), 59);
  EXPECT_EQ(str_field(r, "codeName"), "CommandNotFound");
}

TEST(Dispatcher, AdminOnlyCommandElsewhereIsUnauthorized) {
  DispatchHarness h;
  auto r = h.command(R"({"getCmdLineOpts": 1, "$db": "test"})");
  EXPECT_EQ(int_field(r, "code"), 13);
  EXPECT_EQ(str_field(r, "codeName"), "Unauthorized");
  EXPECT_EQ(str_field(r, "errmsg"), "getCmdLineOpts may only be run against the admin database.");
  EXPECT_EQ(int_field(h.command(R"({"getCmdLineOpts": 1, "$db": "admin"})"), "ok"), 1);
}

TEST(Dispatcher, OpMsgWithoutDbIsRejected) {
  DispatchHarness h;
  auto r = h.command(R"({"ping": 1})");
  EXPECT_EQ(int_field(r, "ok"), 0);
  EXPECT_EQ(int_field(r, "code"), 40571);
  EXPECT_EQ(str_field(r, "errmsg"), "OP_MSG requests require a $db argument");
}

TEST(Dispatcher, ReplicaSetRepliesCarryClusterTimeAndOperationTime) {
  DispatchHarness h;
  auto r = h.command(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(field_type(r, "ok"), BSON_TYPE_DOUBLE);
  EXPECT_EQ(field_type(r, "operationTime"), BSON_TYPE_TIMESTAMP);
  bson_iter_t it, hash, key;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "$clusterTime.signature.hash", &hash));
  bson_subtype_t st;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_binary(&hash, &st, &len, &data);
  ASSERT_EQ(len, 20u);
  EXPECT_EQ(st, BSON_SUBTYPE_BINARY);
  for (uint32_t i = 0; i < len; ++i) EXPECT_EQ(data[i], 0);
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "$clusterTime.signature.keyId", &key));
  EXPECT_EQ(bson_iter_type(&key), BSON_TYPE_INT64);
  // Errors carry them too.
  auto e = h.command(R"({"nope": 1, "$db": "admin"})");
  EXPECT_TRUE(has_field(e, "$clusterTime"));
  EXPECT_TRUE(has_field(e, "operationTime"));
}

TEST(Dispatcher, StandaloneRepliesHaveNoClusterTime) {
  DispatchHarness h(simtest::options_with(true));
  auto r = h.command(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(int_field(r, "ok"), 1);
  EXPECT_FALSE(has_field(r, "$clusterTime"));
  EXPECT_FALSE(has_field(r, "operationTime"));
}

TEST(Dispatcher, NewerClientClusterTimeAdvancesTheClock) {
  DispatchHarness h;
  sim::Timestamp before = h.ctx.clock.now();
  uint32_t future = before.t + 1000;
  std::string cmd = R"({"ping": 1, "$db": "admin", "$clusterTime": {"clusterTime": {"$timestamp": {"t": )" +
                    std::to_string(future) +
                    R"(, "i": 5}}, "signature": {"hash": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "subType": "00"}}, "keyId": 0}}})";
  auto r = h.command(cmd);
  EXPECT_EQ(int_field(r, "ok"), 1);
  EXPECT_EQ(h.ctx.clock.now().t, future);
  EXPECT_EQ(h.ctx.clock.now().i, 5u);
  bson_iter_t it, ct;
  ASSERT_TRUE(bson_iter_init(&it, r.get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "$clusterTime.clusterTime", &ct));
  uint32_t t = 0, i = 0;
  bson_iter_timestamp(&ct, &t, &i);
  EXPECT_EQ(t, future);
}

TEST(Dispatcher, DocumentSequencesAreMergedIntoTheBody) {
  DispatchHarness h;
  add_command(h, "echo", [](sim::CommandContext& c, bson_t* reply) {
    bson_append_document(reply, "body", -1, c.body());
    return common::Status::OK();
  });
  DocumentSequence seq{"documents", {doc(R"({"_id": 1})"), doc(R"({"_id": 2})")}};
  std::string msg = encode_op_msg(doc(R"({"echo": "c", "$db": "test"})").get(), 1, 0, 0, {seq});
  auto out = h.dispatcher.handle_message(h.client, msg);
  auto r = simtest::reply_body(out.reply);
  ASSERT_TRUE(r.ok());
  bson_iter_t it, d;
  ASSERT_TRUE(bson_iter_init(&it, r->get()));
  ASSERT_TRUE(bson_iter_find_descendant(&it, "body.documents.1._id", &d));
  EXPECT_EQ(bson_iter_as_int64(&d), 2);
}

TEST(Dispatcher, SequenceDuplicatingABodyFieldIsRejected) {
  DispatchHarness h;
  DocumentSequence seq{"documents", {doc(R"({"_id": 1})")}};
  std::string msg = encode_op_msg(doc(R"({"insert": "c", "documents": [], "$db": "test"})").get(), 1, 0, 0, {seq});
  auto r = simtest::reply_body(h.dispatcher.handle_message(h.client, msg).reply);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(int_field(*r, "code"), 40413);
}

TEST(Dispatcher, ErrorReplyCarriesLabelsAndExtraInfo) {
  DispatchHarness h;
  add_command(h, "failing", [](sim::CommandContext&, bson_t*) {
    common::Status st(common::kDuplicateKey, "E11000 duplicate key error");
    st.with_label("RetryableWriteError");
    auto extra = doc(R"({"keyPattern": {"a": 1}, "keyValue": {"a": 5}})");
    st.with_extra_info(std::string(extra.bytes()));
    return st;
  });
  auto r = h.command(R"({"failing": 1, "$db": "test"})");
  EXPECT_EQ(int_field(r, "ok"), 0);
  EXPECT_EQ(int_field(r, "code"), 11000);
  EXPECT_EQ(str_field(r, "codeName"), "DuplicateKey");
  EXPECT_EQ(field_type(r, "errorLabels"), BSON_TYPE_ARRAY);
  EXPECT_TRUE(simtest::has_path(r, "keyPattern.a"));
  EXPECT_TRUE(simtest::has_path(r, "keyValue.a"));
  // errorLabels come before ok, as on a real server.
  bson_iter_t it;
  bson_iter_init(&it, r.get());
  bson_iter_next(&it);
  EXPECT_STREQ(bson_iter_key(&it), "errorLabels");
}

TEST(Dispatcher, HandlerExceptionBecomesInternalError) {
  DispatchHarness h;
  add_command(h, "throws", [](sim::CommandContext&, bson_t*) -> common::Status { throw std::runtime_error("boom"); });
  auto r = h.command(R"({"throws": 1, "$db": "test"})");
  EXPECT_EQ(int_field(r, "code"), common::kInternalError);
  EXPECT_EQ(int_field(h.command(R"({"ping": 1, "$db": "test"})"), "ok"), 1);
}

TEST(Dispatcher, MoreToComeRunsTheCommandWithoutReplying) {
  DispatchHarness h;
  int calls = 0;
  bool unacked = false;
  add_command(h, "count_me", [&](sim::CommandContext& c, bson_t*) {
    ++calls;
    unacked = c.req.unacknowledged;
    return common::Status::OK();
  });
  auto r = h.command(R"({"count_me": 1, "$db": "test"})", kFlagMoreToCome);
  EXPECT_TRUE(h.last.reply.empty());
  EXPECT_FALSE(h.last.close);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(unacked);
  // Errors are swallowed too.
  h.command(R"({"nope": 1, "$db": "test"})", kFlagMoreToCome);
  EXPECT_TRUE(h.last.reply.empty());
}

TEST(Dispatcher, OpCountersCountCommandsQueriesAndWriteStatements) {
  DispatchHarness h;
  for (const char* n : {"find", "getMore", "insert", "update", "delete"}) {
    add_command(h, n, [](sim::CommandContext&, bson_t*) { return common::Status::OK(); });
  }
  h.command(R"({"ping": 1, "$db": "admin"})");
  h.command(R"({"find": "c", "$db": "t"})");
  h.command(R"({"getMore": 1, "collection": "c", "$db": "t"})");
  h.command(R"({"insert": "c", "documents": [{}, {}, {}], "$db": "t"})");
  h.command(R"({"update": "c", "updates": [{"q": {}, "u": {}}], "$db": "t"})");
  h.command(R"({"delete": "c", "deletes": [{"q": {}, "limit": 0}, {"q": {}, "limit": 1}], "$db": "t"})");
  auto& oc = h.ctx.opcounters;
  EXPECT_EQ(oc.command.load(), 1);
  EXPECT_EQ(oc.query.load(), 1);
  EXPECT_EQ(oc.getmore.load(), 1);
  EXPECT_EQ(oc.insert.load(), 3);
  EXPECT_EQ(oc.update.load(), 1);
  EXPECT_EQ(oc.del.load(), 2);
}

TEST(Dispatcher, OpQueryHelloIsAnsweredWithOpReply) {
  DispatchHarness h;
  auto q = doc(R"({"isMaster": 1, "helloOk": true})");
  std::string msg = encode_op_query(q.get(), "admin.$cmd", 42);
  auto out = h.dispatcher.handle_message(h.client, msg);
  auto m = decode_message(out.reply);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.op_code, kOpReply);
  EXPECT_EQ(m->header.response_to, 42);
  auto body = parse_op_reply_document(m->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(field_type(*body, "ismaster"), BSON_TYPE_BOOL);
  EXPECT_FALSE(has_field(*body, "isWritablePrimary"));
  EXPECT_EQ(int_field(*body, "ok"), 1);
}

TEST(Dispatcher, OpQueryOnAnyDatabaseUnwrapsQuery) {
  DispatchHarness h;
  auto q = doc(R"({"$query": {"hello": 1}, "$readPreference": {"mode": "primaryPreferred"}})");
  auto out = h.dispatcher.handle_message(h.client, encode_op_query(q.get(), "mydb.$cmd", 1));
  auto body = simtest::reply_body(out.reply);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(field_type(*body, "isWritablePrimary"), BSON_TYPE_BOOL);
}

TEST(Dispatcher, OpQueryNonHandshakeCommandIsUnsupportedOn7_0) {
  DispatchHarness h;
  auto q = doc(R"({"ping": 1})");
  auto body = simtest::reply_body(h.dispatcher.handle_message(h.client, encode_op_query(q.get(), "admin.$cmd", 1)).reply);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(int_field(*body, "code"), 352);
  EXPECT_EQ(str_field(*body, "codeName"), "UnsupportedOpQueryCommand");
}

TEST(Dispatcher, OpQueryOnACollectionIsALegacyQueryFailure) {
  DispatchHarness h;
  auto q = doc(R"({"a": 1})");
  auto out = h.dispatcher.handle_message(h.client, encode_op_query(q.get(), "test.coll", 1));
  auto m = decode_message(out.reply);
  ASSERT_TRUE(m.ok());
  int32_t flags;
  std::memcpy(&flags, m->body.data(), 4);
  EXPECT_EQ(flags & 2, 2);  // QueryFailure
  auto body = parse_op_reply_document(m->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(int_field(*body, "code"), 5739101);
  EXPECT_TRUE(has_field(*body, "$err"));
}

TEST(Dispatcher, OpQueryCommandNeedsNumberToReturnOne) {
  DispatchHarness h;
  auto q = doc(R"({"isMaster": 1})");
  auto body = simtest::reply_body(h.dispatcher.handle_message(h.client, encode_op_query(q.get(), "admin.$cmd", 1, 0, 0)).reply);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(int_field(*body, "code"), 16979);
  EXPECT_EQ(str_field(*body, "errmsg"), "Bad numberToReturn (0) for $cmd type ns - can only be 1 or -1");
}

TEST(Dispatcher, OpQueryAnyCommandIsAllowedOn4_4) {
  DispatchHarness h(simtest::options_with(false, "4.4"));
  auto q = doc(R"({"ping": 1})");
  auto body = simtest::reply_body(h.dispatcher.handle_message(h.client, encode_op_query(q.get(), "admin.$cmd", 1)).reply);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(int_field(*body, "ok"), 1);
}

TEST(Dispatcher, CompressedRequestGetsReplyWithTheSameCompressor) {
  DispatchHarness h;
  for (auto c : {Compressor::kSnappy, Compressor::kZlib, Compressor::kZstd}) {
    auto msg = encode_compressed(simtest::op_msg(R"({"ping": 1, "$db": "admin"})"), c);
    ASSERT_TRUE(msg.ok());
    auto out = h.dispatcher.handle_message(h.client, *msg);
    auto m = decode_message(out.reply);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->compressor.has_value()) << compressor_name(c);
    EXPECT_EQ(*m->compressor, c);
    auto body = simtest::reply_body(out.reply);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(int_field(*body, "ok"), 1);
  }
}

TEST(Dispatcher, HelloReplyIsNeverCompressed) {
  DispatchHarness h;
  auto msg = encode_compressed(simtest::op_msg(R"({"hello": 1, "$db": "admin"})"), Compressor::kSnappy);
  ASSERT_TRUE(msg.ok());
  auto m = decode_message(h.dispatcher.handle_message(h.client, *msg).reply);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->compressor.has_value());
}

TEST(Dispatcher, ChecksummedRequestGetsChecksummedReply) {
  DispatchHarness h;
  auto out = h.dispatcher.handle_message(h.client, simtest::op_msg(R"({"ping": 1, "$db": "admin"})", kFlagChecksumPresent));
  auto m = decode_message(out.reply);
  ASSERT_TRUE(m.ok());
  auto parsed = parse_op_msg(*m);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_TRUE(parsed->checksum_present());
}

TEST(Dispatcher, BadChecksumClosesTheConnection) {
  DispatchHarness h;
  std::string msg = simtest::op_msg(R"({"ping": 1, "$db": "admin"})", kFlagChecksumPresent);
  msg[msg.size() - 1] ^= 0x55;
  auto out = h.dispatcher.handle_message(h.client, msg);
  EXPECT_TRUE(out.close);
  EXPECT_TRUE(out.reply.empty());
}

TEST(Dispatcher, InvalidBsonBodyGetsAnErrorReply) {
  DispatchHarness h;
  std::string msg = simtest::op_msg(R"({"ping": 1, "$db": "admin"})");
  msg[21 + 4] = 0x42;  // first element's type byte → an unknown BSON type
  auto out = h.dispatcher.handle_message(h.client, msg);
  EXPECT_FALSE(out.close);
  auto body = simtest::reply_body(out.reply);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(int_field(*body, "code"), common::kInvalidBSON);
}

TEST(Dispatcher, UnknownOpcodeClosesAndLegacyWritesGetNoReply) {
  DispatchHarness h;
  std::string msg = simtest::op_msg(R"({"ping": 1, "$db": "admin"})");
  int32_t op = 9999;
  std::memcpy(msg.data() + 12, &op, 4);
  EXPECT_TRUE(h.dispatcher.handle_message(h.client, msg).close);
  op = kOpInsert;
  std::memcpy(msg.data() + 12, &op, 4);
  auto out = h.dispatcher.handle_message(h.client, msg);
  EXPECT_FALSE(out.close);
  EXPECT_TRUE(out.reply.empty());
}

TEST(Dispatcher, ReplyAnswersTheRequestId) {
  DispatchHarness h;
  std::string msg = simtest::op_msg(R"({"ping": 1, "$db": "admin"})", 0, 777);
  auto m = decode_message(h.dispatcher.handle_message(h.client, msg).reply);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.response_to, 777);
  EXPECT_NE(m->header.request_id, 0);
}

// Server-side error labels (§4.3).

std::vector<std::string> labels_of(const common::Bson& r) {
  std::vector<std::string> out;
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, r.get(), "errorLabels") || !bson_iter_recurse(&it, &arr)) return out;
  while (bson_iter_next(&arr)) out.push_back(bson_iter_utf8(&arr, nullptr));
  return out;
}

void add_failing(DispatchHarness& h, const char* name, int code, std::string extra_json = "") {
  add_command(h, name, [code, extra_json](sim::CommandContext&, bson_t*) {
    common::Status st(code, "injected");
    if (!extra_json.empty()) st.with_extra_info(std::string(doc(extra_json).bytes()));
    return st;
  });
}

const char* kLsid = R"("lsid": {"id": {"$uuid": "00112233-4455-6677-8899-aabbccddeeff"}})";

TEST(DispatcherLabels, RetryableWriteWithRetriableCodeIsLabelled) {
  DispatchHarness h;
  add_failing(h, "insert", 10107);
  auto r = h.command(std::string(R"({"insert": "c", "documents": [], "txnNumber": {"$numberLong": "1"}, )") + kLsid +
                     R"(, "$db": "t"})");
  EXPECT_EQ(labels_of(r), (std::vector<std::string>{"RetryableWriteError", "NoWritesPerformed"}));
  // NotWritablePrimary is a state-change error: it carries the topologyVersion.
  EXPECT_TRUE(simtest::has_path(r, "topologyVersion.processId"));
}

TEST(DispatcherLabels, NoLabelsOutsideASession) {
  DispatchHarness h;
  add_failing(h, "insert", 10107);
  auto r = h.command(R"({"insert": "c", "documents": [], "$db": "t"})");
  EXPECT_TRUE(labels_of(r).empty());
  EXPECT_TRUE(has_field(r, "topologyVersion"));
  add_failing(h, "plain", 2);
  EXPECT_FALSE(has_field(h.command(R"({"plain": 1, "$db": "t"})"), "topologyVersion"));
}

TEST(DispatcherLabels, TransactionErrorsAreTransient) {
  DispatchHarness h;
  add_failing(h, "find", 112);
  auto r = h.command(std::string(R"({"find": "c", "txnNumber": {"$numberLong": "1"}, "autocommit": false, )") + kLsid +
                     R"(, "$db": "t"})");
  EXPECT_EQ(labels_of(r), (std::vector<std::string>{"TransientTransactionError"}));
  add_failing(h, "commitTransaction", 251);
  auto c = h.command(std::string(R"({"commitTransaction": 1, "txnNumber": {"$numberLong": "1"}, "autocommit": false, )") +
                     kLsid + R"(, "$db": "admin"})");
  EXPECT_EQ(labels_of(c), (std::vector<std::string>{"TransientTransactionError"}));
}

TEST(DispatcherLabels, ExplicitLabelListIsUsedExactly) {
  DispatchHarness h;
  add_failing(h, "insert", 10107, R"({"errorLabels": []})");
  auto r = h.command(std::string(R"({"insert": "c", "documents": [], "txnNumber": 1, )") + kLsid + R"(, "$db": "t"})");
  EXPECT_FALSE(has_field(r, "errorLabels"));
  add_failing(h, "update", 2, R"({"errorLabels": ["Custom"]})");
  auto u = h.command(R"({"update": "c", "updates": [], "$db": "t"})");
  EXPECT_EQ(labels_of(u), (std::vector<std::string>{"Custom"}));
}

TEST(DispatcherLabels, WriteConcernErrorInOkReplyIsRetryable) {
  DispatchHarness h;
  add_command(h, "insert", [](sim::CommandContext&, bson_t* reply) {
    auto wce = doc(R"({"code": 91, "errmsg": "shutting down"})");
    bson_append_int32(reply, "n", -1, 1);
    bson_append_document(reply, "writeConcernError", -1, wce.get());
    return common::Status::OK();
  });
  auto r = h.command(std::string(R"({"insert": "c", "documents": [{}], "txnNumber": 3, )") + kLsid + R"(, "$db": "t"})");
  EXPECT_EQ(int_field(r, "ok"), 1);
  EXPECT_EQ(labels_of(r), (std::vector<std::string>{"RetryableWriteError", "NoWritesPerformed"}));
}

TEST(DispatcherLabels, ChangeStreamAggregateErrorsAreResumable) {
  DispatchHarness h;
  add_failing(h, "aggregate", 6);
  auto r = h.command(R"({"aggregate": 1, "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "admin"})");
  EXPECT_EQ(labels_of(r), (std::vector<std::string>{"ResumableChangeStreamError"}));
  auto plain = h.command(R"({"aggregate": "c", "pipeline": [{"$match": {}}], "cursor": {}, "$db": "t"})");
  EXPECT_TRUE(labels_of(plain).empty());
  add_failing(h, "getMore", 286);
  EXPECT_EQ(labels_of(h.command(R"({"getMore": {"$numberLong": "5"}, "collection": "c", "$db": "t"})")),
            (std::vector<std::string>{"NonResumableChangeStreamError"}));
}

// Stable API parameters.

TEST(DispatcherStableApi, StrictRejectsCommandsOutsideVersion1) {
  DispatchHarness h;
  auto r = h.command(R"({"buildInfo": 1, "apiVersion": "1", "apiStrict": true, "$db": "admin"})");
  EXPECT_EQ(int_field(r, "code"), 323);
  EXPECT_EQ(str_field(r, "codeName"), "APIStrictError");
  EXPECT_EQ(str_field(r, "errmsg").rfind("Provided apiStrict:true, but the command buildInfo is not in API Version 1", 0), 0u);
  EXPECT_EQ(int_field(h.command(R"({"isMaster": 1, "apiVersion": "1", "apiStrict": true, "$db": "admin"})"), "code"), 323);
  EXPECT_EQ(int_field(h.command(R"({"hello": 1, "apiVersion": "1", "apiStrict": true, "$db": "admin"})"), "ok"), 1);
  EXPECT_EQ(int_field(h.command(R"({"ping": 1, "apiVersion": "1", "apiStrict": true, "$db": "admin"})"), "ok"), 1);
  EXPECT_EQ(int_field(h.command(R"({"buildInfo": 1, "apiVersion": "1", "$db": "admin"})"), "ok"), 1);
}

TEST(DispatcherStableApi, VersionMustBeOneAndIsRequiredWithStrict) {
  DispatchHarness h;
  auto v2 = h.command(R"({"ping": 1, "apiVersion": "2", "$db": "admin"})");
  EXPECT_EQ(int_field(v2, "code"), 322);
  EXPECT_EQ(str_field(v2, "errmsg"), "API version must be \"1\"");
  EXPECT_EQ(int_field(h.command(R"({"ping": 1, "apiStrict": false, "$db": "admin"})"), "code"), 4886600);
  EXPECT_EQ(int_field(h.command(R"({"ping": 1, "apiVersion": 1, "$db": "admin"})"), "code"), common::kTypeMismatch);
}

TEST(DispatcherStableApi, NotCheckedOn4_4) {
  DispatchHarness h(simtest::options_with(false, "4.4"));
  EXPECT_EQ(int_field(h.command(R"({"ping": 1, "apiVersion": "2", "$db": "admin"})"), "ok"), 1);
}

}  // namespace
