// Full documents and images: updateLookup reads the document at read time (null once deleted),
// post-images computed from the pre-image and the diff (whenAvailable/required, 6.0+), pre-images
// from collections with changeStreamPreAndPostImages, and the NoMatchingDocument (47) errors.
#include <gtest/gtest.h>

#include "change_stream_harness.h"

namespace {

using namespace cstest;

using Images = VersionedStreamTest;

TEST_P(Images, UpdateLookupReadsTheCurrentDocument) {
  server->must("test", R"({"insert": "c", "documents": [{"_id": 1, "a": 1}, {"_id": 2, "a": 1}]})");
  Reply open = server->open("test", "c", R"({"fullDocument": "updateLookup"})");
  ASSERT_TRUE(open.ok()) << open.status.to_string();
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2}}}]})");
  server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 3}}}]})");
  server->must("test", R"({"update": "c", "updates": [{"q": {"_id": 2}, "u": {"$set": {"a": 5}}}]})");
  server->must("test", R"({"delete": "c", "deletes": [{"q": {"_id": 2}, "limit": 1}]})");
  auto events = server->drain("test", b, 4);
  ASSERT_EQ(events.size(), 4u);
  // Looked up when read: both updates of _id 1 show a: 3; _id 2 was deleted before.
  EXPECT_EQ(field_doc(events[0], "fullDocument").canonical_json(), json(R"({"_id": 1, "a": 3})").canonical_json());
  EXPECT_EQ(field_doc(events[1], "fullDocument").canonical_json(), json(R"({"_id": 1, "a": 3})").canonical_json());
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, events[2].get(), "fullDocument"));
  EXPECT_TRUE(BSON_ITER_HOLDS_NULL(&it));
  // The looked-up document comes last, after updateDescription.
  auto names = field_names(events[0]);
  EXPECT_EQ(names.back(), "fullDocument");
  EXPECT_EQ(names[names.size() - 2], "updateDescription");
  EXPECT_EQ(field_string(events[3], "operationType"), "delete");
}

TEST_P(Images, PreAndPostImages) {
  if (v < 60) {
    Reply r = server->open("test", "c", R"({"fullDocument": "whenAvailable"})");
    EXPECT_EQ(r.status.code(), 40575) << r.status.to_string();
    if (v < 50) {
      r = server->open("test", "c", R"({"fullDocumentBeforeChange": "whenAvailable"})");
      EXPECT_EQ(r.status.code(), 40415) << r.status.to_string();
    }
    return;
  }
  server->must("test", R"({"create": "p", "changeStreamPreAndPostImages": {"enabled": true}})");
  server->must("test", R"({"create": "n"})");
  server->must("test", R"({"insert": "p", "documents": [{"_id": 1, "a": 1, "arr": [1, 2, 3]}]})");
  server->must("test", R"({"insert": "n", "documents": [{"_id": 1, "a": 1}]})");
  Reply open = server->open("test", "", R"({"fullDocument": "whenAvailable", "fullDocumentBeforeChange": "whenAvailable"})");
  ASSERT_TRUE(open.ok()) << open.status.to_string();
  Batch b = batch_of(open.doc, "firstBatch");
  server->must("test", R"({"update": "p", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2}, "$push": {"arr": 4}}}]})");
  server->must("test", R"({"update": "p", "updates": [{"q": {"_id": 1}, "u": {"_id": 1, "r": true}}]})");
  server->must("test", R"({"delete": "p", "deletes": [{"q": {"_id": 1}, "limit": 1}]})");
  server->must("test", R"({"update": "n", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2}}}]})");
  auto events = server->drain("test", b, 4);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(masked(events[0]),
            json(R"({"_id": "TOKEN", "operationType": "update", "clusterTime": "TS", "wallTime": "DATE",
                     "ns": {"db": "test", "coll": "p"}, "documentKey": {"_id": 1},
                     "updateDescription": {"updatedFields": {"a": 2, "arr.3": 4}, "removedFields": [], "truncatedArrays": []},
                     "fullDocumentBeforeChange": {"_id": 1, "a": 1, "arr": [1, 2, 3]},
                     "fullDocument": {"_id": 1, "a": 2, "arr": [1, 2, 3, 4]}})")
                .canonical_json());
  EXPECT_EQ(masked(events[1]),
            json(R"({"_id": "TOKEN", "operationType": "replace", "clusterTime": "TS", "wallTime": "DATE",
                     "fullDocument": {"_id": 1, "r": true}, "ns": {"db": "test", "coll": "p"}, "documentKey": {"_id": 1},
                     "fullDocumentBeforeChange": {"_id": 1, "a": 2, "arr": [1, 2, 3, 4]}})")
                .canonical_json());
  EXPECT_EQ(masked(events[2]),
            json(R"({"_id": "TOKEN", "operationType": "delete", "clusterTime": "TS", "wallTime": "DATE",
                     "ns": {"db": "test", "coll": "p"}, "documentKey": {"_id": 1},
                     "fullDocumentBeforeChange": {"_id": 1, "r": true}})")
                .canonical_json());
  // No pre-images recorded for `n`: both images are null.
  bson_iter_t it;
  ASSERT_TRUE(bson_iter_init_find(&it, events[3].get(), "fullDocumentBeforeChange"));
  EXPECT_TRUE(BSON_ITER_HOLDS_NULL(&it));
  ASSERT_TRUE(bson_iter_init_find(&it, events[3].get(), "fullDocument"));
  EXPECT_TRUE(BSON_ITER_HOLDS_NULL(&it));
}

TEST_P(Images, RequiredImagesFailWhenMissing) {
  if (v < 60) GTEST_SKIP() << "pre- and post-images are 6.0+";
  server->must("test", R"({"insert": "n", "documents": [{"_id": 1, "a": 1}]})");
  Reply pre = server->open("test", "n", R"({"fullDocumentBeforeChange": "required"})");
  ASSERT_TRUE(pre.ok());
  Batch pb = batch_of(pre.doc, "firstBatch");
  Reply post = server->open("test", "n", R"({"fullDocument": "required"})");
  ASSERT_TRUE(post.ok());
  Batch qb = batch_of(post.doc, "firstBatch");
  // Inserts need no image.
  server->must("test", R"({"insert": "n", "documents": [{"_id": 2}]})");
  server->must("test", R"({"update": "n", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 2}}}]})");
  Reply r = server->get_more("test", pb, 300);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), 47);
  EXPECT_NE(r.status.message().find("Change stream was configured to require a pre-image for all update, delete and "
                                    "replace events, but the pre-image was not found for event: {operationType: "
                                    "\"update\", ns: {db: \"test\", coll: \"n\"}, clusterTime: Timestamp("),
            std::string::npos)
      << r.status.message();
  r = server->get_more("test", qb, 300);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status.code(), 47);
  EXPECT_NE(r.status.message().find("require a post-image for all update events"), std::string::npos) << r.status.message();
}

INSTANTIATE_TEST_SUITE_P(Versions, Images, ::testing::ValuesIn(all_versions()),
                         version_test_name);

}  // namespace
