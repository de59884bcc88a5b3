// See sim_client.h.
#include "support/sim_client.h"

#include <filesystem>

namespace testsupport {

using common::Bson;
using common::Status;

namespace {

bool lookup(const Bson& doc, const char* path, bson_iter_t* out) {
  bson_iter_t it;
  return bson_iter_init(&it, doc.get()) && bson_iter_find_descendant(&it, path, out);
}

}  // namespace

bool Reply::has_label(const std::string& label) const {
  bson_iter_t it, arr;
  if (!bson_iter_init_find(&it, doc.get(), "errorLabels") || !bson_iter_recurse(&it, &arr)) return false;
  while (bson_iter_next(&arr)) {
    if (BSON_ITER_HOLDS_UTF8(&arr) && label == bson_iter_utf8(&arr, nullptr)) return true;
  }
  return false;
}

int64_t Reply::num(const char* path, int64_t absent) const {
  bson_iter_t it;
  if (!lookup(doc, path, &it) || !BSON_ITER_HOLDS_NUMBER(&it)) return absent;
  return bson_iter_as_int64(&it);
}

std::string Reply::str(const char* path) const {
  bson_iter_t it;
  if (!lookup(doc, path, &it) || !BSON_ITER_HOLDS_UTF8(&it)) return {};
  return bson_iter_utf8(&it, nullptr);
}

Bson Reply::sub(const char* path) const {
  bson_iter_t it;
  if (!lookup(doc, path, &it)) return Bson();
  uint32_t len;
  const uint8_t* data;
  if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_iter_document(&it, &len, &data);
  } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_array(&it, &len, &data);
  } else {
    return Bson();
  }
  return Bson(data, len);
}

std::vector<Bson> Reply::batch() const {
  std::vector<Bson> out;
  Bson arr = sub("cursor.firstBatch");
  if (arr.empty()) arr = sub("cursor.nextBatch");
  bson_iter_t it;
  bson_iter_init(&it, arr.get());
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) continue;
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    out.emplace_back(data, len);
  }
  return out;
}

SimServer::SimServer(std::vector<std::string> args) : args_(std::move(args)) {
  mongoc_init();
  bool has_dbpath = false;
  for (const auto& a : args_) has_dbpath = has_dbpath || a == "--dbpath";
  if (!has_dbpath) {
    dbpath_ = make_temp_dir("simdb");
    args_.push_back("--dbpath");
    args_.push_back(dbpath_);
  }
  auto p = MongosimProcess::start(args_);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  if (!p.ok()) return;
  process_ = std::make_unique<MongosimProcess>(std::move(p).value());
  connect();
}

SimServer::~SimServer() {
  if (client_) mongoc_client_destroy(client_);
  process_.reset();
  if (!dbpath_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dbpath_, ec);
  }
}

void SimServer::connect() {
  bson_error_t err;
  std::string u = process_->uri();
  u += (u.find('?') == std::string::npos ? "?" : "&");
  u += "serverSelectionTimeoutMS=10000";
  mongoc_uri_t* uri = mongoc_uri_new_with_error(u.c_str(), &err);
  EXPECT_NE(uri, nullptr) << err.message;
  client_ = uri ? mongoc_client_new_from_uri(uri) : nullptr;
  if (uri) mongoc_uri_destroy(uri);
}

Reply SimServer::run(const std::string& db, const Bson& cmd) {
  Reply r;
  if (!client_) {
    r.status = Status(common::kHostUnreachable, "no server");
    return r;
  }
  bson_t reply;
  bson_error_t err;
  bool ok = mongoc_client_command_simple(client_, db.c_str(), cmd.get(), nullptr, &reply, &err);
  r.doc = Bson(&reply);
  bson_destroy(&reply);
  if (!ok) r.status = Status(static_cast<int>(err.code), err.message);
  return r;
}

Reply SimServer::must(const std::string& db, const std::string& cmd_json) {
  Reply r = run(db, cmd_json);
  EXPECT_TRUE(r.ok()) << cmd_json << ": " << r.status.to_string() << " " << r.doc.json();
  return r;
}

std::vector<Bson> SimServer::find_all(const std::string& db, const std::string& coll, const std::string& filter,
                                      const std::string& extra) {
  std::vector<Bson> out;
  Reply r = must(db, "{\"find\": \"" + coll + "\", \"filter\": " + filter + (extra.empty() ? "" : ", " + extra) +
                         ", \"batchSize\": 1000}");
  auto b = r.batch();
  out.insert(out.end(), b.begin(), b.end());
  int64_t id = r.cursor_id();
  while (id != 0) {
    Reply m = must(db, "{\"getMore\": {\"$numberLong\": \"" + std::to_string(id) + "\"}, \"collection\": \"" + coll +
                           "\", \"batchSize\": 1000}");
    auto nb = m.batch();
    out.insert(out.end(), nb.begin(), nb.end());
    id = m.cursor_id();
  }
  return out;
}

std::pair<uint32_t, uint32_t> SimServer::newest_oplog_ts() {
  Reply r = must("local", R"({"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1})");
  auto newest = r.batch();
  uint32_t t = 0, i = 0;
  bson_iter_t it;
  if (!newest.empty() && bson_iter_init_find(&it, newest[0].get(), "ts") && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
    bson_iter_timestamp(&it, &t, &i);
  }
  return {t, i};
}

bool SimServer::restart(bool kill9) {
  if (client_) {
    mongoc_client_destroy(client_);
    client_ = nullptr;
  }
  if (process_) {
    if (kill9) {
      process_->kill9();
    } else {
      process_->stop();
    }
    process_.reset();
  }
  auto p = MongosimProcess::start(args_);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  if (!p.ok()) return false;
  process_ = std::make_unique<MongosimProcess>(std::move(p).value());
  connect();
  return true;
}

}  // namespace testsupport
