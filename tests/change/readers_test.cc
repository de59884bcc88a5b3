// Both change readers produce the same normalized events for the same source history:
// CRUD, a transaction, batched deletes, DDL, views; and resuming from a position continues
// without losing events. A resume point truncated off the oplog fails with history lost.
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <string>
#include <vector>

#include "change/oplog_reader.h"
#include "change/start_point.h"
#include "change/stream_reader.h"
#include "support/sim_client.h"

namespace {

using testsupport::SimServer;

client::ConnectSpec spec_of(const SimServer& s) {
  client::ConnectSpec c;
  c.uri = s.uri();
  c.connect_timeout_ms = 5000;
  return c;
}

change::ResumePoint t0_of(const SimServer& s) {
  auto c = client::Connection::open(spec_of(s));
  EXPECT_TRUE(c.ok());
  auto p = change::capture_start_point(*c);
  EXPECT_TRUE(p.ok());
  change::ResumePoint r;
  r.ts = {p->t, p->i};
  return r;
}

std::string describe(const change::ChangeEvent& e) {
  std::string s = std::string(change::to_string(e.type)) + " " + e.db + "." + e.coll + " " + e.key.json();
  if (e.type == change::EventType::kCommand) s += " " + e.command.json();
  if (e.type == change::EventType::kInsert || e.type == change::EventType::kReplace) s += " " + e.doc.json();
  // Update statements differ in form between the readers (a diff vs an updateDescription);
  // their effect is compared by the end-to-end tests.
  return s;
}

std::vector<std::string> read_all(change::ChangeReader& r) {
  std::vector<std::string> out;
  for (int k = 0; k < 50; ++k) {
    auto b = r.next_batch();
    EXPECT_TRUE(b.ok()) << b.status().to_string();
    if (!b.ok()) break;
    for (const auto& e : b->events) out.push_back(describe(e));
    if (b->caught_up && b->events.empty()) break;
  }
  return out;
}

void transaction(SimServer& s) {
  bson_error_t err;
  mongoc_client_session_t* session = mongoc_client_start_session(s.client(), nullptr, &err);
  ASSERT_NE(session, nullptr) << err.message;
  bson_t opts = BSON_INITIALIZER;
  ASSERT_TRUE(mongoc_client_session_append(session, &opts, &err));
  ASSERT_TRUE(mongoc_client_session_start_transaction(session, nullptr, &err)) << err.message;
  for (const char* cmd : {R"({"update": "c0", "updates": [{"q": {"_id": 1}, "u": {"$set": {"txn": 1}}}]})",
                          R"({"insert": "c1", "documents": [{"_id": 5, "fromTxn": true}]})"}) {
    bson_t reply;
    ASSERT_TRUE(mongoc_client_write_command_with_opts(s.client(), "app", testsupport::json_doc(cmd).get(), &opts,
                                                      &reply, &err))
        << err.message;
    bson_destroy(&reply);
  }
  bson_t reply;
  ASSERT_TRUE(mongoc_client_session_commit_transaction(session, &reply, &err)) << err.message;
  bson_destroy(&reply);
  bson_destroy(&opts);
  mongoc_client_session_destroy(session);
}

void history(SimServer& s) {
  s.must("app", R"({"insert": "c0", "documents": [{"_id": 1, "a": 1, "arr": [1, 2, 3]}, {"_id": 2}]})");
  s.must("app", R"({"insert": "c1", "documents": [{"_id": 1}]})");
  s.must("app", R"({"update": "c0", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2, "arr.1": 9}}}]})");
  s.must("app", R"({"update": "c0", "updates": [{"q": {"_id": 2}, "u": {"_id": 2, "r": true}}]})");
  transaction(s);
  s.must("app", R"({"createIndexes": "c0", "indexes": [{"key": {"a": 1}, "name": "a_1"}]})");
  s.must("app", R"({"create": "v", "viewOn": "c0", "pipeline": [{"$match": {"a": 2}}]})");
  s.must("app", R"({"delete": "c1", "deletes": [{"q": {}, "limit": 0}]})");
  s.must("admin", R"({"renameCollection": "app.c1", "to": "app.c9"})");
  s.must("app", R"({"dropIndexes": "c0", "index": "a_1"})");
  s.must("app", R"({"drop": "c9"})");
}

TEST(Readers, OplogAndChangeStreamAgree) {
  SimServer s;
  ASSERT_TRUE(s.up());
  s.must("app", R"({"create": "c0"})");
  change::ResumePoint t0 = t0_of(s);
  history(s);
  change::OplogReader oplog(spec_of(s), t0);
  change::StreamReader stream(spec_of(s), t0);
  auto a = read_all(oplog), b = read_all(stream);
  // The oplog reader re-reads the entry at T0 itself (the create of c0); the stream starts at it too.
  EXPECT_EQ(a, b);
  bool saw_txn = false;
  for (const auto& e : a) saw_txn = saw_txn || e.find("fromTxn") != std::string::npos;
  EXPECT_TRUE(saw_txn);
  EXPECT_GE(a.size(), 12u);
}

TEST(Readers, ResumeFromAnEventContinues) {
  SimServer s;
  ASSERT_TRUE(s.up());
  s.must("app", R"({"create": "c0"})");
  change::ResumePoint t0 = t0_of(s);
  history(s);
  change::StreamReader whole(spec_of(s), t0);
  auto all = read_all(whole);
  // Resume both readers from the resume point of the 5th event.
  for (int mode = 0; mode < 2; ++mode) {
    std::unique_ptr<change::ChangeReader> r;
    if (mode == 0) r = std::make_unique<change::OplogReader>(spec_of(s), t0);
    else r = std::make_unique<change::StreamReader>(spec_of(s), t0);
    auto b = r->next_batch();
    ASSERT_TRUE(b.ok());
    ASSERT_GT(b->events.size(), 5u);
    change::ResumePoint p = b->events[5].resume;
    std::unique_ptr<change::ChangeReader> again;
    if (mode == 0) again = std::make_unique<change::OplogReader>(spec_of(s), p);
    else again = std::make_unique<change::StreamReader>(spec_of(s), p);
    auto rest = read_all(*again);
    // Nothing from the 5th event on is lost (the oplog may repeat events of the same entry).
    ASSERT_GE(rest.size(), all.size() - 5);
    EXPECT_EQ(std::vector<std::string>(rest.end() - static_cast<long>(all.size() - 5), rest.end()),
              std::vector<std::string>(all.begin() + 5, all.end()))
        << r->method();
  }
}

TEST(Readers, TruncatedResumePointIsHistoryLost) {
  SimServer s({"--enable-test-commands"});
  ASSERT_TRUE(s.up());
  change::ResumePoint t0 = t0_of(s);
  history(s);
  auto newest = s.must("local", R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1})").batch();
  ASSERT_EQ(newest.size(), 1u);
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, newest[0].get(), "ts"));
  uint32_t t, i;
  bson_iter_timestamp(&it, &t, &i);
  s.must("admin", R"({"mongosimControl": "truncateOplog", "before": {"$timestamp": {"t": )" + std::to_string(t) +
                      R"(, "i": )" + std::to_string(i) + "}}}");
  change::OplogReader oplog(spec_of(s), t0);
  auto b = oplog.next_batch();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), common::kChangeStreamHistoryLost);
  EXPECT_NE(b.status().message().find("restart the task"), std::string::npos) << b.status().message();
  change::StreamReader stream(spec_of(s), t0);
  b = stream.next_batch();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), common::kChangeStreamHistoryLost) << b.status().to_string();
}

}  // namespace

