// Every update form a server logs, replayed through the reader's conversion onto a copy of
// the document, must give the source's document byte for byte: 7.0 ($v:2 diffs, including
// pipeline updates) and 4.4 ($v:1).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "change/oplog_normalize.h"
#include "support/sim_client.h"

namespace {

using testsupport::json_doc;
using testsupport::SimServer;

struct Case {
  std::string before;
  std::string update;  // the u of an update statement (modifier or pipeline)
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {R"({"_id": 1, "a": 1, "b": {"c": 1, "d": 2}, "arr": [1, 2, 3, 4], "gone": true})",
       R"({"$set": {"a": 2, "b.c": 5, "b.e": 7, "arr.1": 20, "newf": "x"}, "$unset": {"gone": ""}})"},
      {R"({"_id": 2, "arr": [1, 2]})", R"({"$push": {"arr": 5}})"},
      {R"({"_id": 3, "arr": [1, 2, 3, 4, 5]})", R"({"$pop": {"arr": 1}})"},
      {R"({"_id": 4, "arr": [1, 2, 3, 2]})", R"({"$pull": {"arr": 2}})"},
      {R"({"_id": 5, "arr": [{"x": 1}, {"x": 2}]})", R"({"$set": {"arr.0.x": 9}, "$inc": {"arr.1.x": 1}})"},
      {R"({"_id": 6, "p": 1})", R"({"$set": {"q.r.s": 1}})"},
      {R"({"_id": 7, "a": 1, "z": 2})", R"({"$rename": {"a": "y"}})"},
      {R"({"_id": 8, "arr": [1, 2, 3]})", R"([{"$set": {"arr": [1]}}])"},
      {R"({"_id": 9, "a": 1, "b": 2, "c": 3})", R"([{"$replaceWith": {"_id": "$_id", "c": "$c", "a": "$a", "n": 1}}])"},
      {R"({"_id": 10, "arr": [1]})", R"({"$set": {"arr.4": "far"}})"},
      {R"({"_id": 11, "n": {"deep": {"er": [1, {"k": [1, 2, 3]}]}}})", R"({"$set": {"n.deep.er.1.k.1": "m"}, "$push": {"n.x": 7}})"},
      {R"({"_id": 12, "a": 1})", R"({"$addToSet": {"tags": {"$each": ["x", "y"]}}, "$currentDate": {"d": true}})"},
      {R"({"_id": 13, "arr": [5, 1, 4]})", R"({"$push": {"arr": {"$each": [3], "$sort": 1, "$slice": 3}}})"},
      {R"({"_id": 14, "m": {"x": 1}})", R"({"$set": {"m": {"y": 2}}, "$mul": {"k": 3}})"},
  };
  return c;
}

common::Bson newest_oplog_entry(SimServer& s) {
  auto r = s.must("local", R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1})");
  auto b = r.batch();
  return b.empty() ? common::Bson() : b.front();
}

void roundtrip(const std::string& version) {
  SimServer s({"--server-version", version});
  ASSERT_TRUE(s.up());
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.update);
    s.must("t", R"({"insert": "src", "documents": [)" + c.before + "]}");
    s.must("t", R"({"insert": "dst", "documents": [)" + c.before + "]}");
    common::Bson id = change::id_key(json_doc(c.before).get());
    auto w = s.must("t", R"({"update": "src", "updates": [{"q": )" + id.json() + R"(, "u": )" + c.update + "}]}");
    ASSERT_EQ(w.num("nModified", 0), 1) << w.doc.json();
    common::Bson entry = newest_oplog_entry(s);
    change::OplogNormalizer norm;
    std::vector<change::ChangeEvent> events;
    ASSERT_TRUE(norm.add(entry.get(), &events).ok());
    ASSERT_EQ(events.size(), 1u) << entry.json();
    const auto& e = events[0];
    ASSERT_TRUE(e.type == change::EventType::kUpdate || e.type == change::EventType::kReplace) << entry.json();
    ASSERT_FALSE(e.needs_fetch) << entry.json();
    if (e.type == change::EventType::kReplace) {
      bson_t cmd = BSON_INITIALIZER, ups, u0;
      bson_append_utf8(&cmd, "update", -1, "dst", -1);
      bson_append_array_begin(&cmd, "updates", -1, &ups);
      bson_append_document_begin(&ups, "0", -1, &u0);
      bson_append_document(&u0, "q", -1, e.key.get());
      bson_append_document(&u0, "u", -1, e.doc.get());
      bson_append_document_end(&ups, &u0);
      bson_append_array_end(&cmd, &ups);
      ASSERT_TRUE(s.run("t", common::Bson::steal(&cmd)).ok());
    }
    for (const auto& u : e.updates) {
      auto r = s.run("t", R"({"update": "dst", "updates": [{"q": )" + e.key.json() + R"(, "u": )" + u.json() + "}]}");
      ASSERT_TRUE(r.ok()) << u.json() << ": " << r.status.to_string();
      ASSERT_EQ(r.num("writeErrors.0.code", 0), 0) << u.json() << ": " << r.doc.json();
    }
    auto a = s.find_all("t", "src", id.json());
    auto b = s.find_all("t", "dst", id.json());
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].bytes(), b[0].bytes()) << "source " << a[0].json() << "\nreplayed " << b[0].json() << "\nentry "
                                          << entry.json();
  }
}

TEST(UpdateRoundtrip, Version70Diffs) { roundtrip("7.0"); }
TEST(UpdateRoundtrip, Version44Modifiers) { roundtrip("4.4"); }

}  // namespace
