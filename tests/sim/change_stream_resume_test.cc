// Resuming change streams: resumeAfter every event type (the resumed stream repeats the
// original events byte for byte), startAfter an invalidate, startAtOperationTime, resuming
// from a high-water-mark PBRT, tokens in stream order, the option errors, a token that is not
// in the stream (280) and history that rolled off the oplog (286).
#include <gtest/gtest.h>

#include <algorithm>

#include "change_stream_harness.h"

namespace {

using namespace cstest;

std::string with_token(const char* option, const Bson& token) {
  return std::string("{\"") + option + "\": " + token.canonical_json() + "}";
}

class ResumeByVersion : public VersionedStreamTest {
 protected:
  // A database stream over every classic event type, ending with the invalidate.
  std::vector<Bson> record_events() {
    server->must("test", R"({"create": "c"})");
    Reply open = server->open("test", "", "{}");
    EXPECT_TRUE(open.ok()) << open.status.to_string();
    Batch b = batch_of(open.doc, "firstBatch");
    server->must("test", R"({"insert": "c", "documents": [{"_id": 1, "a": 1}, {"_id": {"$numberLong": "2"}}, {"_id": 2.5}]})");
    server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"a": 1}}}]})");
    server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"r": 1}}]})");
    server->must("test", R"({"delete": "c", "deletes": [{"q": {"_id": 2.5}, "limit": 1}]})");
    server->must("admin", R"({"renameCollection": "test.c", "to": "test.d"})");
    server->must("test", R"({"dropDatabase": 1})");
    return server->drain("test", b, 10);
  }

};

TEST_P(ResumeByVersion, ResumeAfterEveryEventRepeatsTheStream) {
  auto events = record_events();
  ASSERT_EQ(events.size(), 10u);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(field_string(e, "operationType"));
  EXPECT_EQ(types, (std::vector<std::string>{"insert", "insert", "insert", "update", "replace", "delete", "rename",
                                             "drop", "dropDatabase", "invalidate"}));
  // Tokens sort in stream order.
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(token_hex(field_doc(events[i - 1], "_id")), token_hex(field_doc(events[i], "_id"))) << i;
  }
  // The int64 and double _ids need type bits.
  EXPECT_EQ(field_names(field_doc(events[1], "_id")), (std::vector<std::string>{"_data", "_typeBits"}));
  EXPECT_EQ(field_names(field_doc(events[2], "_id")), (std::vector<std::string>{"_data", "_typeBits"}));
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    Reply r = server->open("test", "", with_token("resumeAfter", field_doc(events[i], "_id")));
    ASSERT_TRUE(r.ok()) << i << ": " << r.status.to_string();
    Batch b = batch_of(r.doc, "firstBatch");
    auto again = server->drain("test", b, events.size() - i - 1, 3);
    ASSERT_EQ(again.size(), events.size() - i - 1) << "resumed after " << types[i];
    for (size_t k = 0; k < again.size(); ++k) {
      EXPECT_EQ(again[k].canonical_json(), events[i + 1 + k].canonical_json()) << "after " << types[i];
    }
    EXPECT_EQ(b.cursor_id, 0);
  }
}

TEST_P(ResumeByVersion, InvalidateTokenOnlyWithStartAfter) {
  auto events = record_events();
  ASSERT_EQ(events.size(), 10u);
  Bson inv = field_doc(events[9], "_id");
  Reply bad = server->open("test", "", with_token("resumeAfter", inv));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status.code(), 260);
  Reply r = server->open("test", "", with_token("startAfter", inv));
  ASSERT_TRUE(r.ok()) << r.status.to_string();
  Batch b = batch_of(r.doc, "firstBatch");
  EXPECT_TRUE(b.events.empty());
  EXPECT_NE(b.cursor_id, 0);
  // The initial PBRT is the token started after.
  EXPECT_EQ(token_hex(b.pbrt), token_hex(inv));
  server->must("test", R"({"insert": "c", "documents": [{"_id": 7}]})");
  auto next = server->drain("test", b, 1);
  ASSERT_GE(next.size(), 1u);
  EXPECT_EQ(field_string(next[0], "operationType"), "insert");
  EXPECT_NE(b.cursor_id, 0);
}

TEST_P(ResumeByVersion, StartAtOperationTimeIncludesThatTime) {
  auto events = record_events();
  ASSERT_EQ(events.size(), 10u);
  auto ts = field_ts(events[3], "clusterTime");
  bson_t spec = BSON_INITIALIZER;
  bson_append_timestamp(&spec, "startAtOperationTime", -1, ts.first, ts.second);
  Bson s = Bson::steal(&spec);
  Reply r = server->open("test", "", s.canonical_json());
  ASSERT_TRUE(r.ok()) << r.status.to_string();
  Batch b = batch_of(r.doc, "firstBatch");
  auto again = server->drain("test", b, 7, 3);
  ASSERT_EQ(again.size(), 7u);
  EXPECT_EQ(again[0].canonical_json(), events[3].canonical_json());
}

TEST_P(ResumeByVersion, HighWaterMarkResumesAtThatPoint) {
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1}]})");
  Reply open = server->open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  Bson hwm = b.pbrt;
  // An empty getMore keeps a high-water mark (tokenType 0: "29" right after the version).
  std::string hex = token_hex(hwm);
  ASSERT_GE(hex.size(), 24u);
  EXPECT_EQ(hex.substr(22, 2), "29") << hex;
  server->must("test", R"({"insert": "c", "documents": [{"_id": 2}]})");
  Reply r = server->open("test", "c", with_token("resumeAfter", hwm));
  ASSERT_TRUE(r.ok()) << r.status.to_string();
  Batch rb = batch_of(r.doc, "firstBatch");
  auto got = server->drain("test", rb, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(field_doc(got[0], "documentKey").canonical_json(), json(R"({"_id": 2})").canonical_json());
}

TEST_P(ResumeByVersion, TokenNotInTheStreamIsFatal) {
  server->must("test", R"({"create": "a"})");
  server->must("test", R"({"create": "b"})");
  Reply open = server->open("test", "a", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"insert": "a", "documents": [{"_id": 1}]})");
  auto ev = server->drain("test", b, 1);
  ASSERT_EQ(ev.size(), 1u);
  Reply other = server->open("test", "b", with_token("resumeAfter", field_doc(ev[0], "_id")));
  ASSERT_TRUE(other.ok()) << other.status.to_string();
  Batch ob = batch_of(other.doc, "firstBatch");
  server->must("test", R"({"insert": "b", "documents": [{"_id": 1}]})");
  Reply r = server->get_more("test", ob, 500);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), 280);
  EXPECT_NE(r.status.message().find("cannot resume stream; the resume token was not found."), std::string::npos)
      << r.status.message();
  EXPECT_TRUE(r.has_label("NonResumableChangeStreamError"));
}

TEST_P(ResumeByVersion, OptionErrors) {
  auto events = record_events();
  ASSERT_EQ(events.size(), 10u);
  Bson t = field_doc(events[0], "_id");
  struct Case {
    std::string spec;
    int code;
  };
  std::vector<Case> cases = {
      {"{\"resumeAfter\": " + t.canonical_json() + ", \"startAfter\": " + t.canonical_json() + "}", 50865},
      {"{\"resumeAfter\": " + t.canonical_json() + R"(, "startAtOperationTime": {"$timestamp": {"t": 1, "i": 1}}})", 40674},
      {R"({"resumeAfter": {"x": 1}})", 40647},
      {R"({"resumeAfter": 5})", 14},
      {R"({"resumeAfter": {"_data": "zz"}})", 9},
      {R"({"startAtOperationTime": 5})", 14},
      {R"({"fullDocument": 1})", 14},
      {R"({"unknownOption": true})", 40415},
  };
  for (const auto& c : cases) {
    Reply r = server->open("test", "", c.spec);
    EXPECT_FALSE(r.ok()) << c.spec;
    EXPECT_EQ(r.status.code(), c.code) << c.spec << ": " << r.status.to_string();
  }
  // A dropDatabase token has no UUID: a collection stream refuses it.
  Reply r = server->open("test", "c", with_token("resumeAfter", field_doc(events[8], "_id")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), 260);
}

INSTANTIATE_TEST_SUITE_P(Versions, ResumeByVersion, ::testing::ValuesIn(all_versions()),
                         version_test_name);

class HistoryLost : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StreamServer::init(); }
};

std::pair<uint32_t, uint32_t> oldest_entry(StreamServer& s) {
  Bson r = s.must("local", R"({"find": "oplog.rs", "sort": {"$natural": 1}, "limit": 1})").doc;
  Batch b = batch_of(r, "firstBatch");
  if (b.events.empty()) return {0, 0};
  return field_ts(b.events[0], "ts");
}

TEST_F(HistoryLost, ResumePointRolledOffTheOplog) {
  StreamServer server({"--server-version", "7.0", "--oplog-size-mb", "1"});
  ASSERT_TRUE(server.up());
  Reply open = server.open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  server.must("test", R"({"insert": "c", "documents": [{"_id": 0}]})");
  auto first = server.drain("test", b, 1);
  ASSERT_EQ(first.size(), 1u);
  Bson token = field_doc(first[0], "_id");
  auto first_ts = field_ts(first[0], "clusterTime");
  // ~2 MB of entries: the 1 MB oplog drops its oldest ones.
  std::string pad(2000, 'x');
  for (int i = 1; i <= 1000; ++i) {
    server.must("test", "{\"insert\": \"c\", \"documents\": [{\"_id\": " + std::to_string(i) + ", \"p\": \"" + pad + "\"}]}");
  }
  auto oldest = oldest_entry(server);
  ASSERT_TRUE(first_ts < oldest) << "the oplog did not roll over";
  Reply r = server.open("test", "c", with_token("resumeAfter", token));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), 286);
  EXPECT_EQ(r.status.message(), "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
  EXPECT_TRUE(r.has_label("NonResumableChangeStreamError"));
  bson_t spec = BSON_INITIALIZER;
  bson_append_timestamp(&spec, "startAtOperationTime", -1, first_ts.first, first_ts.second);
  Bson s1 = Bson::steal(&spec);
  r = server.open("test", "c", s1.canonical_json());
  EXPECT_EQ(r.status.code(), 286);
  // Exactly the oldest entry's time is still resumable.
  bson_t spec2 = BSON_INITIALIZER;
  bson_append_timestamp(&spec2, "startAtOperationTime", -1, oldest.first, oldest.second);
  Bson s2 = Bson::steal(&spec2);
  r = server.open("test", "c", s2.canonical_json());
  EXPECT_TRUE(r.ok()) << r.status.to_string();
  // The stream that was open all along has fallen behind the truncation.
  Reply gm = server.get_more("test", b, 100);
  EXPECT_FALSE(gm.ok());
  EXPECT_EQ(gm.status.code(), 136);
}

TEST_F(HistoryLost, DriverWatchResumesAndReportsTokens) {
  StreamServer server({"--server-version", "7.0"});
  ASSERT_TRUE(server.up());
  mongoc_collection_t* coll = mongoc_client_get_collection(server.client(), "test", "c");
  bson_t pipeline = BSON_INITIALIZER;
  mongoc_change_stream_t* cs = mongoc_collection_watch(coll, &pipeline, nullptr);
  ASSERT_NE(cs, nullptr);
  const bson_t* doc = nullptr;
  EXPECT_FALSE(mongoc_change_stream_next(cs, &doc));
  bson_error_t err;
  const bson_t* err_doc = nullptr;
  EXPECT_FALSE(mongoc_change_stream_error_document(cs, &err, &err_doc)) << err.message;
  for (int i = 0; i < 3; ++i) {
    Bson d = json("{\"_id\": " + std::to_string(i) + "}");
    ASSERT_TRUE(mongoc_collection_insert_one(coll, d.get(), nullptr, nullptr, &err)) << err.message;
  }
  std::vector<std::string> ids;
  for (int tries = 0; tries < 20 && ids.size() < 3; ++tries) {
    while (mongoc_change_stream_next(cs, &doc)) {
      Bson e(doc);
      ids.push_back(field_doc(e, "documentKey").canonical_json());
    }
  }
  EXPECT_EQ(ids.size(), 3u);
  const bson_t* resume = mongoc_change_stream_get_resume_token(cs);
  ASSERT_NE(resume, nullptr);
  Bson saved(resume);
  mongoc_change_stream_destroy(cs);
  Bson d = json(R"({"_id": 99})");
  ASSERT_TRUE(mongoc_collection_insert_one(coll, d.get(), nullptr, nullptr, &err));
  bson_t opts = BSON_INITIALIZER;
  bson_append_document(&opts, "resumeAfter", -1, saved.get());
  cs = mongoc_collection_watch(coll, &pipeline, &opts);
  ASSERT_NE(cs, nullptr);
  std::string got;
  for (int tries = 0; tries < 20 && got.empty(); ++tries) {
    if (mongoc_change_stream_next(cs, &doc)) got = field_doc(Bson(doc), "documentKey").canonical_json();
  }
  EXPECT_EQ(got, json(R"({"_id": 99})").canonical_json());
  EXPECT_FALSE(mongoc_change_stream_error_document(cs, &err, &err_doc)) << err.message;
  mongoc_change_stream_destroy(cs);
  bson_destroy(&opts);
  bson_destroy(&pipeline);
  mongoc_collection_destroy(coll);
}

}  // namespace
