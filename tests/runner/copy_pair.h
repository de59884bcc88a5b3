// Two mongosim processes (source and destination), a task file for them, an in-process
// run of the task, and the comparisons the copy must pass: every document byte for byte (in
// _id order, or natural order), every collection's options and every index.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/bson.h"
#include "runner/runner.h"
#include "schema/schema.h"
#include "support/sim_client.h"
#include "task/endpoint.h"
#include "task/task_file.h"

namespace copytest {

inline std::string temp_dir(const std::string& tag) {
  auto base = std::filesystem::temp_directory_path() / ("mongoshift-" + tag + "-XXXXXX");
  std::string s = base.string();
  char* d = mkdtemp(s.data());
  return d ? std::string(d) : std::string();
}

// Inserts `docs` documents {_id: i, n: i, pad: <pad_bytes × 'x'>} into db.items.
inline void seed_items(testsupport::SimServer& s, const std::string& db, int docs, size_t pad_bytes) {
  std::string pad(pad_bytes, 'x');
  for (int base = 0; base < docs; base += 1000) {
    std::string ins = R"({"insert": "items", "documents": [)";
    for (int i = base; i < std::min(docs, base + 1000); ++i) {
      ins += (i > base ? "," : "") + std::string(R"({"_id": )") + std::to_string(i) + R"(, "n": )" + std::to_string(i) +
             R"(, "pad": ")" + pad + R"("})";
    }
    s.must(db, ins + "]}");
  }
}

class CopyPair {
 public:
  explicit CopyPair(std::vector<std::string> source_args = {}, std::vector<std::string> destination_args = {})
      : src(std::move(source_args)), dst(std::move(destination_args)), dir(temp_dir("copy")) {}
  ~CopyPair() { std::filesystem::remove_all(dir); }

  testsupport::SimServer src;
  testsupport::SimServer dst;
  std::string dir;
  // Warnings the tests' tasks accept (as `precheck --ignore-warning` would record them).
  std::set<std::string> ignored{"source.writes_during_copy", "source.large_documents", "source.id_types",
                                "destination.conflicts"};

  // Writes the task file (`extra` YAML appended) and returns its path.
  std::string task_file(const std::string& extra) {
    std::string y = "source:\n  uri: '" + src.uri() + "'\n  connect_timeout_seconds: 5\n" +
                    "destination:\n  uri: '" + dst.uri() + "'\n  connect_timeout_seconds: 5\n" + extra;
    std::string path = dir + "/task.yaml";
    std::ofstream(path) << y;
    return path;
  }
  std::string state_dir() const { return dir + "/state"; }

  // Runs the task in this process; `stop` may be set by the test to pause it.
  common::Result<runner::RunReport> run(const std::string& task_path, const std::atomic<bool>& stop) {
    auto tf = task::load_task_file(task_path);
    if (!tf.ok()) return tf.status();
    auto s = task::connect_spec(tf->options.source);
    auto d = task::connect_spec(tf->options.destination);
    if (!s.ok()) return s.status();
    if (!d.ok()) return d.status();
    auto store = state::StateStore::open(state_dir());
    if (!store.ok()) return store.status();
    auto rec = (*store)->register_task(task_path, tf->options.name, "");
    if (!rec.ok()) return rec.status();
    runner::RunInputs in;
    in.task = &*tf;
    in.source = *s;
    in.destination = *d;
    in.state_dir = state_dir();
    in.store = store->get();
    in.record = *rec;
    in.ignored_warnings = ignored;
    runner::RunOutput out;
    return runner::run_task(in, stop, out);
  }
  common::Result<runner::RunReport> run(const std::string& task_path) {
    std::atomic<bool> stop{false};
    return run(task_path, stop);
  }

  // Every document of src db.coll equals (bytes) the one of dst db.coll (`to_coll`, default
  // the same name), in `sort` order.
  void expect_same_documents(const std::string& db, const std::string& coll, const std::string& sort = "{\"_id\": 1}",
                             const std::string& to_coll = "") {
    auto a = src.find_all(db, coll, "{}", "\"sort\": " + sort);
    auto b = dst.find_all(db, to_coll.empty() ? coll : to_coll, "{}", "\"sort\": " + sort);
    ASSERT_EQ(a.size(), b.size()) << db << "." << coll;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].bytes(), b[i].bytes()) << db << "." << coll << " document " << i << ": " << a[i].json() << " vs "
                                            << b[i].json();
    }
  }

  // listCollections options and listIndexes of every collection of `db` are the same.
  void expect_same_catalog(const std::string& db) {
    auto list = [&](testsupport::SimServer& s) {
      auto r = s.must(db, "{\"listCollections\": 1, \"filter\": {\"name\": {\"$not\": {\"$regex\": \"^system\\\\.\"}}}}");
      std::vector<common::Bson> out = r.batch();
      std::sort(out.begin(), out.end(), [](const common::Bson& x, const common::Bson& y) {
        return common::get_string(x.get(), "name", "").value() < common::get_string(y.get(), "name", "").value();
      });
      return out;
    };
    auto a = list(src), b = list(dst);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      std::string name = common::get_string(a[i].get(), "name", "").value();
      EXPECT_EQ(name, common::get_string(b[i].get(), "name", "").value());
      EXPECT_EQ(sub_json(a[i], "options"), sub_json(b[i], "options")) << name;
      EXPECT_EQ(common::get_string(a[i].get(), "type", "").value(), common::get_string(b[i].get(), "type", "").value());
      if (common::get_string(a[i].get(), "type", "").value() == "view") continue;
      auto ia = src.must(db, "{\"listIndexes\": \"" + name + "\"}").batch();
      auto ib = dst.must(db, "{\"listIndexes\": \"" + name + "\"}").batch();
      ASSERT_EQ(ia.size(), ib.size()) << name;
      // The server writes an index's spec in its own field order; values must be equal.
      for (size_t k = 0; k < ia.size(); ++k) {
        EXPECT_TRUE(schema::same_options(ia[k].get(), ib[k].get())) << name << ": " << ia[k].json() << " vs " << ib[k].json();
      }
    }
  }

 private:
  static std::string sub_json(const common::Bson& d, const char* key) {
    bson_iter_t it;
    if (!common::find_field(d.get(), key, &it) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return "";
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    return common::Bson(data, len).canonical_json();
  }
};

}  // namespace copytest
