// Cursors: what find, aggregate, listCollections, listIndexes (and later the oplog and change
// streams) hand back for getMore. A cursor owns a CursorSource that fills batches within the
// server's limits (mongodb-reference.md §3.2): a count (batchSize, 101 for a first batch)
// and 16 MiB of documents, the first document always admitted. Idle cursors die after the
// cursor timeout unless opened with noCursorTimeout.
#pragma once

#include <bson/bson.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "sim/engine/doc.h"

namespace sim::engine {

constexpr size_t kMaxBatchBytes = 16 * 1024 * 1024;
constexpr int kCursorInUse = 143;

// Appends documents to a reply's batch array within its limits.
class BatchWriter {
 public:
  BatchWriter(bson_t* array, size_t max_docs, size_t max_bytes) : array_(array), max_docs_(max_docs), max_bytes_(max_bytes) {}
  // Whether a document of `len` bytes may be added now.
  bool fits(uint32_t len) const {
    if (count_ >= max_docs_) return false;
    return count_ == 0 || bytes_ + len <= max_bytes_;
  }
  bool full() const { return count_ >= max_docs_ || bytes_ >= max_bytes_; }
  void add(const uint8_t* data, uint32_t len);
  void add(const DocRef& d) { add(d.data(), d.size()); }
  void add(const common::Bson& d) { add(d.data(), d.size()); }
  size_t count() const { return count_; }
  size_t bytes() const { return bytes_; }
  size_t max_docs() const { return max_docs_; }

 private:
  bson_t* array_;
  size_t max_docs_, max_bytes_;
  size_t count_ = 0, bytes_ = 0;
  char key_[16];
};

using Clock = std::chrono::steady_clock;

class CursorSource {
 public:
  virtual ~CursorSource() = default;
  // Adds documents to `out` until it is full or the source has nothing more now. Sets *eof
  // when the source will never produce more (never for a live tailable source). `deadline`
  // bounds the work (maxTimeMS): past it, return MaxTimeMSExpired.
  virtual common::Status fill(BatchWriter& out, bool* eof, Clock::time_point deadline) = 0;
  // awaitData: blocks until more documents may be available, or `deadline`.
  virtual void wait_for_data(Clock::time_point deadline) { (void)deadline; }
  // Fields after the batch in the cursor document (postBatchResumeToken).
  virtual void append_cursor_fields(bson_t* cursor) { (void)cursor; }
};

struct Cursor {
  int64_t id = 0;
  std::string ns;              // what replies report as cursor.ns
  std::string db;              // the database getMore must run on
  std::string getmore_coll;    // what getMore's `collection` must name
  std::unique_ptr<CursorSource> source;
  bool tailable = false;
  bool await_data = false;
  bool no_timeout = false;
  common::Bson lsid;           // the session it belongs to (empty when none)
  int64_t txn_number = -1;
  int64_t last_used_ms = 0;
  common::Bson originating_command;
  std::optional<std::string> owner;  // "user@db" that opened it (--auth), for getMore/killCursors
  std::atomic<bool> in_use{false};
  std::atomic<bool> killed{false};
};

class CursorManager {
 public:
  explicit CursorManager(int64_t timeout_ms) : timeout_ms_(timeout_ms) {}

  // Registers an open cursor and assigns its id (random, positive, never 0).
  int64_t add(std::shared_ptr<Cursor> c);
  // Takes a cursor for a getMore: 43 CursorNotFound, 143 CursorInUse.
  common::Result<std::shared_ptr<Cursor>> checkout(int64_t id);
  void release(const std::shared_ptr<Cursor>& c);
  // Removes a cursor (exhausted or killed). False when unknown.
  bool erase(int64_t id);
  // killCursors: true when it existed.
  bool kill(int64_t id);
  // Kills every cursor of a session (endSessions/killSessions).
  void kill_session(const common::Bson& lsid);
  // Kills idle cursors past the timeout; returns how many.
  int reap(int64_t now_ms);
  bool exists(int64_t id) const;
  // The open cursor with this id, or null (for inspection; not a checkout).
  std::shared_ptr<Cursor> find(int64_t id) const;

  struct Stats {
    int64_t open = 0, no_timeout = 0, pinned = 0, timed_out = 0, total_opened = 0;
  };
  Stats stats() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<int64_t, std::shared_ptr<Cursor>> cursors_;
  int64_t timeout_ms_;
  int64_t timed_out_ = 0;
  int64_t total_opened_ = 0;
};

// Serves documents already computed (listCollections, listIndexes, explain-less results).
class VectorCursorSource : public CursorSource {
 public:
  explicit VectorCursorSource(std::vector<common::Bson> docs) : docs_(std::move(docs)) {}
  common::Status fill(BatchWriter& out, bool* eof, Clock::time_point deadline) override;

 private:
  std::vector<common::Bson> docs_;
  size_t pos_ = 0;
};

int64_t wall_now_ms();

}  // namespace sim::engine
