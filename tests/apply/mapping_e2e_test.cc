// Mapping applies to every change: a collection filter (updates moving documents out of it
// delete them on the destination, into it copy the whole document), a collection rename, a
// rename into the selection (copied in) and out of it (dropped on the destination); and a
// destination restart in the middle is retried.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apply/incremental_store.h"
#include "incr_harness.h"

namespace {

using testsupport::SimServer;

std::vector<std::string> docs(SimServer& s, const std::string& db, const std::string& coll, const std::string& filter = "{}") {
  std::vector<std::string> out;
  for (const auto& d : s.find_all(db, coll, filter, "\"sort\": {\"_id\": 1}")) out.push_back(d.json());
  return out;
}

bool has_collection(SimServer& s, const std::string& db, const std::string& coll) {
  auto r = s.must(db, "{\"listCollections\": 1, \"filter\": {\"name\": \"" + coll + "\"}}");
  return !r.batch().empty();
}


void cut_over(incr::Task& t, incr::Runner& r) {
  incr::request_stop(t);
  auto out = r.wait(60);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->end, apply::IncrementalOutcome::End::kCutOver);
}

TEST(IncrementalMapping, FiltersRenamesAndRenamesAcrossTheSelection) {
  SimServer src, dst;
  ASSERT_TRUE(src.up() && dst.up());
  src.must("app", R"({"create": "c2"})");
  src.must("app", R"({"insert": "c2", "documents": [{"_id": 1}]})");
  dst.must("app", R"({"create": "c2"})");
  dst.must("app", R"({"insert": "c2", "documents": [{"_id": 1}]})");
  src.must("other", R"({"insert": "x", "documents": [{"_id": 1, "k": "a"}, {"_id": 2, "k": "b"}]})");
  src.must("other", R"({"createIndexes": "x", "indexes": [{"key": {"k": 1}, "name": "k_1"}]})");
  auto task = incr::make_task(src.uri(), dst.uri(), task::IncrementalMethod::kOplog);
  task->options.objects.filter["app.c0"] = testsupport::json_doc(R"({"a": {"$lt": 500}})");
  task->options.mapping.rename.push_back({"app.c1", "app.renamed"});
  change::StartPoint t0 = incr::capture(src.uri());
  {
    incr::Runner r(incr::context(*task, src.uri(), dst.uri(), t0));
    std::string json = R"({"insert": "c0", "documents": [)";
    for (int i = 0; i < 1000; ++i) json += (i ? "," : "") + std::string("{\"_id\": ") + std::to_string(i) + ", \"a\": " + std::to_string(i) + "}";
    src.must("app", json + "]}");
    src.must("app", R"({"insert": "c1", "documents": [{"_id": 1, "v": 1}, {"_id": 2, "v": 2}]})");
    src.must("app", R"({"update": "c0", "updates": [{"q": {"_id": 10}, "u": {"$set": {"a": 900}}},
                                                     {"q": {"_id": 600}, "u": {"$set": {"a": 5, "moved": "in"}}},
                                                     {"q": {"_id": 30}, "u": {"_id": 30, "a": 700}},
                                                     {"q": {"_id": 40}, "u": {"$inc": {"a": 1}}}]})");
    src.must("app", R"({"delete": "c0", "deletes": [{"q": {"_id": 20}, "limit": 1}]})");
    src.must("app", R"({"update": "c1", "updates": [{"q": {"_id": 2}, "u": {"$set": {"v": 20}}}]})");
    src.must("admin", R"({"renameCollection": "other.x", "to": "app.fromOther"})");
    src.must("admin", R"({"renameCollection": "app.c2", "to": "other.y"})");
    src.must("app", R"({"insert": "fromOther", "documents": [{"_id": 3, "k": "c"}]})");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cut_over(*task, r);
  }
  EXPECT_EQ(docs(dst, "app", "c0"), docs(src, "app", "c0", R"({"a": {"$lt": 500}})"));
  EXPECT_EQ(docs(dst, "app", "c0", R"({"_id": 600})"), docs(src, "app", "c0", R"({"_id": 600})"));
  EXPECT_TRUE(docs(dst, "app", "c0", R"({"_id": 10})").empty());
  EXPECT_FALSE(has_collection(dst, "app", "c1"));
  EXPECT_EQ(docs(dst, "app", "renamed"), docs(src, "app", "c1"));
  EXPECT_EQ(docs(dst, "app", "fromOther"), docs(src, "app", "fromOther"));
  EXPECT_EQ(incr::index_specs(dst, "app", "fromOther"), incr::index_specs(src, "app", "fromOther"));
  EXPECT_FALSE(has_collection(dst, "app", "c2"));
  EXPECT_FALSE(has_collection(dst, "other", "y"));
}

// A free TCP port, so that a restarted server comes back at the same address.
std::string free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return std::to_string(ntohs(a.sin_port));
}

TEST(IncrementalMapping, DestinationRestartIsRetried) {
  SimServer src;
  SimServer dst({"--port", free_port()});
  ASSERT_TRUE(src.up() && dst.up());
  incr::seed(src, "app", 100);
  incr::copy_database(src, dst, "app");
  auto task = incr::make_task(src.uri(), dst.uri(), task::IncrementalMethod::kOplog);
  change::StartPoint t0 = incr::capture(src.uri());
  incr::Workload w(src.uri(), "app", 9, /*ddl=*/false);
  {
    incr::Runner r(incr::context(*task, src.uri(), dst.uri(), t0));
    w.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_TRUE(dst.restart(/*kill9=*/true));  // the destination goes away and comes back
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    w.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cut_over(*task, r);
  }
  incr::expect_identical(src, dst, "app");
}

}  // namespace

namespace {

TEST(IncrementalMapping, SourceStepDownAndDroppedConnectionsAreRetried) {
  SimServer src({"--enable-test-commands"});
  SimServer dst({"--enable-test-commands"});
  ASSERT_TRUE(src.up() && dst.up());
  incr::seed(src, "app", 100);
  incr::copy_database(src, dst, "app");
  auto task = incr::make_task(src.uri(), dst.uri(), task::IncrementalMethod::kOplog);
  change::StartPoint t0 = incr::capture(src.uri());
  incr::Workload w(src.uri(), "app", 13, /*ddl=*/false);
  {
    incr::Runner r(incr::context(*task, src.uri(), dst.uri(), t0));
    w.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    src.must("admin", R"({"mongosimControl": "stepDown", "secs": 1, "closeConnections": true})");
    dst.must("admin", R"({"mongosimControl": "dropConnections"})");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the source is primary again
    w.stop();
    cut_over(*task, r);
  }
  incr::expect_identical(src, dst, "app");
}

}  // namespace
