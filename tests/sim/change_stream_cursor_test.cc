// The change-stream cursor: postBatchResumeToken on every batch (high-water marks that follow
// the oplog, periodic no-ops included), awaitData getMores, the stages allowed after
// $changeStream, the _id check, events over 16 MB (BSONObjectTooLarge) and
// $changeStreamSplitLargeEvent, and the restrictions with the server's errors.
#include <gtest/gtest.h>

#include <chrono>

#include "change_stream_harness.h"

namespace {

using namespace cstest;

class Cursor : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StreamServer::init(); }
};

TEST_F(Cursor, EmptyBatchesCarryAdvancingHighWaterMarks) {
  StreamServer server({"--server-version", "7.0", "--periodic-noop-interval-secs", "1"});
  ASSERT_TRUE(server.up());
  server.must("test", R"({"create": "c"})");
  Reply open = server.open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  std::string prev = token_hex(b.pbrt);
  ASSERT_FALSE(prev.empty());
  // Nothing is written to test.c: the marks move with the no-ops alone.
  int advanced = 0;
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    Reply r = server.get_more("test", b, 1500);
    ASSERT_TRUE(r.ok()) << r.status.to_string();
    Batch nb = batch_of(r.doc, "nextBatch");
    EXPECT_TRUE(nb.events.empty());
    EXPECT_NE(nb.cursor_id, 0);
    std::string hex = token_hex(nb.pbrt);
    ASSERT_FALSE(hex.empty());
    // A v2 high-water mark: ts, version 2, type 0, txnOpIndex 0, false, null, end.
    EXPECT_EQ(hex.substr(18), "2B0429296E1404");
    EXPECT_GE(hex, prev);
    if (hex > prev) ++advanced;
    prev = hex;
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count(), 0);
  }
  EXPECT_GE(advanced, 1);
  // Writes elsewhere move it too.
  server.must("test", R"({"insert": "other", "documents": [{"_id": 1}]})");
  Reply r = server.get_more("test", b, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(token_hex(batch_of(r.doc, "nextBatch").pbrt), prev);
}

TEST_F(Cursor, PbrtIsTheLastEventOfAFullBatch) {
  StreamServer server({"--server-version", "6.0"});
  ASSERT_TRUE(server.up());
  Reply open = server.open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  // 6.0: a v1 high-water mark.
  EXPECT_EQ(token_hex(b.pbrt).substr(18), "2B0229296E04");
  server.must("test", R"({"insert": "c", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]})");
  Reply r = server.get_more("test", b, 500, 2);
  ASSERT_TRUE(r.ok());
  Batch nb = batch_of(r.doc, "nextBatch");
  ASSERT_EQ(nb.events.size(), 2u);
  EXPECT_EQ(token_hex(nb.pbrt), token_hex(field_doc(nb.events[1], "_id")));
  r = server.get_more("test", b, 500);
  nb = batch_of(r.doc, "nextBatch");
  ASSERT_EQ(nb.events.size(), 1u);
  EXPECT_EQ(token_hex(nb.pbrt), token_hex(field_doc(nb.events[0], "_id")));
}

TEST_F(Cursor, GetMoreWaitsForAnEvent) {
  StreamServer server({"--server-version", "7.0"});
  ASSERT_TRUE(server.up());
  Reply open = server.open("test", "c", "{}");
  ASSERT_TRUE(open.ok());
  Batch b = batch_of(open.doc, "firstBatch");
  auto start = std::chrono::steady_clock::now();
  Reply r = server.get_more("test", b, 400);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(batch_of(r.doc, "nextBatch").events.empty());
  EXPECT_GE(ms, 300);
}

TEST_F(Cursor, StagesAfterChangeStream) {
  StreamServer server({"--server-version", "7.0"});
  ASSERT_TRUE(server.up());
  Reply r = server.open("test", "c", "{}", R"({"$match": {"operationType": "insert", "fullDocument.keep": true}},
                                               {"$project": {"documentKey": 1, "operationType": 1}},
                                               {"$addFields": {"tag": "x"}})");
  ASSERT_TRUE(r.ok()) << r.status.to_string();
  Batch b = batch_of(r.doc, "firstBatch");
  server.must("test", R"({"insert": "c", "documents": [{"_id": 1, "keep": true}, {"_id": 2, "keep": false}, {"_id": 3, "keep": true}]})");
  auto events = server.drain("test", b, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(masked(events[0]),
            json(R"({"_id": "TOKEN", "operationType": "insert", "documentKey": {"_id": 1}, "tag": "x"})").canonical_json());
  // The filtered-out event still moves the PBRT past it (a high-water mark).
  EXPECT_GE(token_hex(b.pbrt), token_hex(field_doc(events[1], "_id")));

  r = server.open("test", "c", "{}", R"({"$group": {"_id": null}})");
  EXPECT_EQ(r.status.code(), 20);
  EXPECT_EQ(r.status.message(), "$group is not permitted in a $changeStream pipeline");
  r = server.run("test", R"({"aggregate": "c", "pipeline": [{"$match": {}}, {"$changeStream": {}}], "cursor": {}})");
  EXPECT_EQ(r.status.code(), 40602);

  // Removing the token from _id breaks resumability: ChangeStreamFatalError.
  r = server.open("test", "c", "{}", R"({"$project": {"_id": 0}})");
  ASSERT_TRUE(r.ok());
  Batch pb = batch_of(r.doc, "firstBatch");
  server.must("test", R"({"insert": "c", "documents": [{"_id": 4}]})");
  Reply gm = server.get_more("test", pb, 500);
  ASSERT_FALSE(gm.ok());
  EXPECT_EQ(gm.status.code(), 280);
  EXPECT_NE(gm.status.message().find("Encountered an event whose _id field, which contains the resume token, was "
                                     "modified by the pipeline."),
            std::string::npos);
  EXPECT_NE(gm.status.message().find("but found: {}"), std::string::npos) << gm.status.message();
}

TEST_F(Cursor, Restrictions) {
  StreamServer server({"--server-version", "7.0"});
  ASSERT_TRUE(server.up());
  server.must("test", R"({"create": "c"})");
  server.must("test", R"({"create": "v", "viewOn": "c", "pipeline": []})");
  struct Case {
    std::string db, coll, spec, extra;
    int code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"test", "v", "{}", "", 166, "Namespace test.v is a view, not a collection"},
      {"admin", "c", "{}", "", 73, "$changeStream may not be opened on the internal admin database"},
      {"admin", "", "{}", "", 73, "$changeStream may not be opened on the internal admin database"},
      {"config", "c", "{}", "", 73, "$changeStream may not be opened on the internal config database"},
      {"local", "", "{}", "", 73, "$changeStream may not be opened on the internal local database"},
      {"test", "system.js", "{}", "", 73, "$changeStream may not be opened on the internal test.system.js collection"},
      {"test", "", R"({"allChangesForCluster": true})", "", 72,
       "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no "
       "collection name; found test.$cmd.aggregate"},
      {"test", "c", "{}", R"("readConcern": {"level": "local"})", 72, ""},
      {"test", "c", "5", "", 50808, "$changeStream stage expects a document as argument"},
      {"test", "c", R"({"fullDocument": "nope"})", "", 2,
       "Enumeration value 'nope' for field '$changeStream.fullDocument' is not a valid value."},
  };
  for (const auto& c : cases) {
    Reply r = server.open(c.db, c.coll, c.spec, "", c.extra);
    EXPECT_FALSE(r.ok()) << c.db << "." << c.coll << " " << c.spec;
    EXPECT_EQ(r.status.code(), c.code) << c.db << "." << c.coll << " " << c.spec << ": " << r.status.to_string();
    if (!c.message.empty()) {
      EXPECT_EQ(r.status.message(), c.message);
    }
  }
  Reply ok = server.open("test", "c", "{}", "", R"("readConcern": {"level": "majority"})");
  EXPECT_TRUE(ok.ok()) << ok.status.to_string();
}

TEST_F(Cursor, NotOnAStandalone) {
  StreamServer server({"--standalone"});
  ASSERT_TRUE(server.up());
  Reply r = server.open("test", "c", "{}");
  EXPECT_EQ(r.status.code(), 40573);
  EXPECT_EQ(r.status.message(), "The $changeStream stage is only supported on replica sets");
}

TEST_F(Cursor, NotInATransaction) {
  StreamServer server({"--server-version", "7.0"});
  ASSERT_TRUE(server.up());
  server.must("test", R"({"create": "c"})");
  bson_error_t err;
  mongoc_client_session_t* s = mongoc_client_start_session(server.client(), nullptr, &err);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(mongoc_client_session_start_transaction(s, nullptr, &err)) << err.message;
  bson_t opts = BSON_INITIALIZER;
  ASSERT_TRUE(mongoc_client_session_append(s, &opts, &err));
  Bson cmd = json(R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}})");
  bson_t reply;
  bool ok = mongoc_client_command_with_opts(server.client(), "test", cmd.get(), nullptr, &opts, &reply, &err);
  EXPECT_FALSE(ok);
  EXPECT_EQ(err.code, 263u) << err.message;
  bson_destroy(&reply);
  bson_destroy(&opts);
  mongoc_client_session_destroy(s);
}

// A document of about `mb` MiB.
std::string big_doc(int id, int mb, const char* field = "big") {
  return "{\"_id\": " + std::to_string(id) + ", \"" + field + "\": \"" + std::string(static_cast<size_t>(mb) << 20, 'x') +
         "\"}";
}

TEST_F(Cursor, LargeEventsFailUnlessSplit) {
  StreamServer server({"--server-version", "7.0"});
  ASSERT_TRUE(server.up());
  server.must("test", R"({"create": "c", "changeStreamPreAndPostImages": {"enabled": true}})");
  server.must("test", "{\"insert\": \"c\", \"documents\": [" + big_doc(1, 9) + "]}");
  const std::string spec = R"({"fullDocument": "updateLookup", "fullDocumentBeforeChange": "required"})";
  Reply plain = server.open("test", "c", spec);
  ASSERT_TRUE(plain.ok());
  Batch pb = batch_of(plain.doc, "firstBatch");
  Reply split = server.open("test", "c", spec, R"({"$changeStreamSplitLargeEvent": {}})");
  ASSERT_TRUE(split.ok()) << split.status.to_string();
  Batch sb = batch_of(split.doc, "firstBatch");
  // The update grows the document by 1 KiB, so the looked-up post-image element is larger than
  // the pre-image one even with its 12-byte shorter field name (sizes count type, key and value).
  server.must("test", "{\"update\": \"c\", \"updates\": [{\"q\": {\"_id\": 1}, \"u\": {\"$set\": {\"pad\": \"" +
                          std::string(1024, 'p') + "\"}}}]}");

  Reply r = server.get_more("test", pb, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), 10334);
  EXPECT_EQ(r.status.message().rfind("BSONObj size: ", 0), 0u) << r.status.message().substr(0, 200);
  EXPECT_NE(r.status.message().find("is invalid. Size must be between 0 and 16793600(16MB) First element: _id: { _data: \""),
            std::string::npos)
      << r.status.message().substr(0, 300);

  auto fragments = server.drain("test", sb, 2);
  ASSERT_EQ(fragments.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(field_names(fragments[i])[1], "splitEvent");
    EXPECT_EQ(field_doc(fragments[i], "splitEvent").canonical_json(),
              json("{\"fragment\": " + std::to_string(i + 1) + ", \"of\": 2}").canonical_json());
  }
  // Smallest fields first: the first fragment has everything but the looked-up document.
  auto first = field_names(fragments[0]);
  EXPECT_EQ(std::find(first.begin(), first.end(), "fullDocument"), first.end());
  EXPECT_NE(std::find(first.begin(), first.end(), "fullDocumentBeforeChange"), first.end());
  EXPECT_EQ(field_names(fragments[1]), (std::vector<std::string>{"_id", "splitEvent", "fullDocument"}));
  EXPECT_LT(token_hex(field_doc(fragments[0], "_id")), token_hex(field_doc(fragments[1], "_id")));

  // Resuming after the first fragment delivers the second one only.
  Reply resumed = server.open("test", "c",
                              "{\"fullDocument\": \"updateLookup\", \"fullDocumentBeforeChange\": \"required\", \"resumeAfter\": " +
                                  field_doc(fragments[0], "_id").canonical_json() + "}",
                              R"({"$changeStreamSplitLargeEvent": {}})");
  ASSERT_TRUE(resumed.ok()) << resumed.status.to_string();
  Batch rb = batch_of(resumed.doc, "firstBatch");
  auto rest = server.drain("test", rb, 1, 3);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].size(), fragments[1].size());
  EXPECT_EQ(token_hex(field_doc(rest[0], "_id")), token_hex(field_doc(fragments[1], "_id")));

  Reply misplaced = server.open("test", "c", "{}", R"({"$changeStreamSplitLargeEvent": {}}, {"$match": {}})");
  EXPECT_EQ(misplaced.status.code(), 7182802);
}

TEST_F(Cursor, SplitStageIsUnknownBefore60) {
  StreamServer server({"--server-version", "5.0"});
  ASSERT_TRUE(server.up());
  Reply r = server.open("test", "c", "{}", R"({"$changeStreamSplitLargeEvent": {}})");
  EXPECT_EQ(r.status.code(), 40324);
}

}  // namespace
