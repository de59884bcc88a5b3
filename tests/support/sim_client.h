// Test support: a mongosim process (or the server named by MONGOSHIFT_TEST_URI) with a
// libmongoc client, commands written as JSON, replies as common::Bson with their error code
// and labels, and typed field reads.
#pragma once

#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "support/mongosim_process.h"

namespace testsupport {

inline common::Bson json_doc(const std::string& j) {
  auto r = common::Bson::from_json(j);
  EXPECT_TRUE(r.ok()) << j << ": " << r.status().to_string();
  return r.ok() ? std::move(r).value() : common::Bson();
}

// A command's reply, or its error (code and message) with the error reply in `doc`.
struct Reply {
  common::Status status;
  common::Bson doc;
  bool ok() const { return status.ok(); }
  int code() const { return status.code(); }
  bool has_label(const std::string& label) const;
  // Typed reads of (dotted) fields; defaults when absent.
  int64_t num(const char* path, int64_t absent = -1) const;
  std::string str(const char* path) const;
  common::Bson sub(const char* path) const;  // document or array
  std::vector<common::Bson> batch() const;   // cursor.firstBatch / nextBatch
  int64_t cursor_id() const { return num("cursor.id", 0); }
};

class SimServer {
 public:
  // Starts mongosim with `args` (plus --port 0 and a temp --dbpath unless given).
  explicit SimServer(std::vector<std::string> args = {});
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  bool up() const { return client_ != nullptr; }
  MongosimProcess& process() { return *process_; }
  mongoc_client_t* client() { return client_; }
  std::string uri() const { return process_ ? process_->uri() : std::string(); }

  Reply run(const std::string& db, const common::Bson& cmd);
  Reply run(const std::string& db, const std::string& cmd_json) { return run(db, json_doc(cmd_json)); }
  // A command that must succeed (the test fails otherwise).
  Reply must(const std::string& db, const std::string& cmd_json);
  // Every document of a find (all batches).
  std::vector<common::Bson> find_all(const std::string& db, const std::string& coll, const std::string& filter = "{}",
                                     const std::string& extra = "");

  // The newest local.oplog.rs entry's ts as {t, i} ({0, 0} without one).
  std::pair<uint32_t, uint32_t> newest_oplog_ts();

  // Stops the process (SIGTERM) / kills it (SIGKILL) and starts it again with the same
  // arguments and dbpath.
  bool restart(bool kill9 = false);

 private:
  void connect();
  std::vector<std::string> args_;
  std::unique_ptr<MongosimProcess> process_;
  mongoc_client_t* client_ = nullptr;
  std::string dbpath_;
};

}  // namespace testsupport
