#include "copy/collection_copy.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "copy/byte_queue.h"
#include "copy/partitioner.h"
#include "copy/writer.h"

namespace copy {

namespace {

using common::Status;

// One partition's contiguous progress: batches complete out of order, the checkpoint only
// moves over a gap-free prefix.
struct Tracker {
  struct Done {
    std::string last_key;
    WriteOutcome w;
  };
  PartitionRecord rec;
  int64_t next_seq = 0;
  int64_t total_batches = -1;  // known when the reader finished the range
  std::map<int64_t, Done> pending;
  bool dirty = false;
};

class Job {
 public:
  Job(const Endpoints& ends, CopyStore& store, throttle::Throttle& th, const CollectionSpec& spec,
      const CopySettings& settings, Progress& progress, const std::atomic<bool>& stop)
      : ends_(ends), store_(store), th_(th), spec_(spec), settings_(settings), progress_(progress), stop_(stop),
        queue_(settings.queue_bytes, static_cast<size_t>(std::max(1, settings.options.parallel_partitions)) * 2) {}

  Status run();

 private:
  Status plan();
  void reader_loop();
  void writer_loop();
  void checkpointer_loop();
  Status read_partition(client::Connection& src, client::Connection* inline_dst, size_t part);
  Status read_from(client::Connection& src, client::Connection* inline_dst, size_t part,
                   std::optional<std::string>& pos, int64_t& seq, int64_t& skip);
  Status write(client::Connection& dst, Batch& batch);
  void completed(const Batch& b, const WriteOutcome& w);
  void reader_finished(size_t part, int64_t batches);
  Status flush();
  void fail(Status st);
  bool aborted() const { return stop_.load() || failed_.load(); }

  const Endpoints& ends_;
  CopyStore& store_;
  throttle::Throttle& th_;
  const CollectionSpec& spec_;
  const CopySettings& settings_;
  Progress& progress_;
  const std::atomic<bool>& stop_;
  ByteQueue<Batch> queue_;

  std::mutex mu_;  // trackers_, error_
  std::vector<Tracker> trackers_;
  std::vector<size_t> todo_;  // partitions left to read
  std::atomic<size_t> next_todo_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> finished_{false};
  bool resumed_ = false;
  Status error_;
  std::condition_variable tick_;
};

Status Job::plan() {
  MS_ASSIGN_OR_RETURN(auto existing, store_.load(spec_.source_ns()));
  CollectionRecord rec;
  if (existing && !existing->partitions.empty()) {
    // Planned by an earlier run: any partition may hold writes made after its last checkpoint.
    resumed_ = true;
    rec = std::move(*existing);
  } else {
    rec.source_ns = spec_.source_ns();
    rec.target_ns = spec_.target_ns();
    rec.state = "copying";
    rec.docs_estimated = spec_.count_estimate;
    rec.bytes_estimated = spec_.bytes_estimate;
    std::vector<KeyRange> ranges{KeyRange{}};
    if (!spec_.natural) {
      int parts = partition_count(spec_.count_estimate, spec_.bytes_estimate, settings_.options.partition_mb << 20,
                                  settings_.options.parallel_partitions);
      Status st = throttle::with_retries("sampling " + spec_.source_ns(), settings_.retry, &stop_, [&]() -> Status {
        auto src = ends_.source->acquire();
        th_.before_read();
        auto r = split_collection(src, spec_.src_db, spec_.src_coll, parts);
        if (!r.ok()) return r.status();
        ranges = std::move(r).value();
        return Status::OK();
      }, settings_.on_retry);
      MS_RETURN_IF_ERROR(st);
    }
    for (size_t i = 0; i < ranges.size(); ++i) {
      PartitionRecord p;
      p.idx = static_cast<int>(i);
      p.min_key = ranges[i].min;
      p.max_key = ranges[i].max;
      rec.partitions.push_back(std::move(p));
    }
    MS_RETURN_IF_ERROR(store_.save_plan(rec));
  }
  progress_.docs_estimated = std::max(rec.docs_estimated, spec_.count_estimate);
  progress_.bytes_estimated = std::max(rec.bytes_estimated, spec_.bytes_estimate);
  progress_.docs = rec.docs();
  progress_.bytes = rec.bytes();
  progress_.skipped = rec.skipped();
  for (auto& p : rec.partitions) {
    Tracker t;
    t.rec = std::move(p);
    if (t.rec.state != PartState::kDone) todo_.push_back(trackers_.size());
    trackers_.push_back(std::move(t));
  }
  return Status::OK();
}

void Job::fail(Status st) {
  std::lock_guard<std::mutex> g(mu_);
  if (!failed_.exchange(true)) error_ = std::move(st);
  queue_.close();
}

Status Job::run() {
  MS_RETURN_IF_ERROR(plan());
  if (todo_.empty()) {
    progress_.done = true;
    return store_.set_collection_state(spec_.source_ns(), "done");
  }
  int parallel = std::max(1, settings_.options.parallel_partitions);
  size_t readers = spec_.natural ? 1 : std::min<size_t>(static_cast<size_t>(parallel), todo_.size());
  size_t writers = spec_.natural ? 0 : static_cast<size_t>(parallel);
  std::vector<std::thread> rs, ws;
  std::thread cp([this] { checkpointer_loop(); });
  for (size_t i = 0; i < writers; ++i) ws.emplace_back([this] { writer_loop(); });
  for (size_t i = 0; i < readers; ++i) rs.emplace_back([this] { reader_loop(); });
  for (auto& t : rs) t.join();
  queue_.close();
  for (auto& t : ws) t.join();
  finished_ = true;
  tick_.notify_all();
  cp.join();
  Status fl = flush();
  if (failed_) return error_;
  MS_RETURN_IF_ERROR(fl);
  if (stop_) return Status(common::kInterrupted, "copy of " + spec_.source_ns() + " paused");
  progress_.done = true;
  return store_.set_collection_state(spec_.source_ns(), "done");
}

void Job::reader_loop() {
  auto src = ends_.source->acquire();
  std::optional<client::Connection> dst;
  if (spec_.natural) dst.emplace(ends_.destination->acquire());
  while (!aborted()) {
    size_t i = next_todo_.fetch_add(1);
    if (i >= todo_.size()) return;
    Status st = read_partition(src, dst ? &*dst : nullptr, todo_[i]);
    if (!st.ok() && st.code() != common::kInterrupted) fail(st);
  }
}

Status Job::read_partition(client::Connection& src, client::Connection* inline_dst, size_t part) {
  std::optional<std::string> pos;
  int64_t skip = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    const auto& r = trackers_[part].rec;
    pos = r.last_key;
    // A natural-order partition resumes by position: what it has written or found present.
    if (spec_.natural) skip = r.docs + r.skipped;
  }
  int64_t seq = 0;
  Status st = throttle::with_retries("reading " + spec_.source_ns(), settings_.retry, &stop_, [&] {
    return read_from(src, inline_dst, part, pos, seq, skip);
  }, settings_.on_retry);
  if (st.ok() && !aborted()) reader_finished(part, seq);
  return st;
}

// Reads the partition from `pos` (exclusive) or `skip` documents in, pushing full batches;
// `pos`, `seq` and `skip` advance with every batch handed on, so a retry continues there.
Status Job::read_from(client::Connection& src, client::Connection* inline_dst, size_t part,
                      std::optional<std::string>& pos, int64_t& seq, int64_t& skip) {
  std::optional<std::string> min_key, max_key;
  bool resumed;
  {
    std::lock_guard<std::mutex> g(mu_);
    const auto& r = trackers_[part].rec;
    min_key = pos ? pos : r.min_key;
    max_key = r.max_key;
    resumed = resumed_;
  }
  const auto& o = settings_.options;
  bson_t opts = BSON_INITIALIZER, sort, hint;
  BSON_APPEND_INT32(&opts, "batchSize", std::max(1, o.batch_docs));
  if (spec_.natural) {
    if (spec_.clustered) {
      BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
      BSON_APPEND_INT32(&sort, "_id", 1);
      bson_append_document_end(&opts, &sort);
    }
    if (skip > 0) BSON_APPEND_INT64(&opts, "skip", skip);
  } else {
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(&opts, &sort);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "hint", &hint);
    BSON_APPEND_INT32(&hint, "_id", 1);
    bson_append_document_end(&opts, &hint);
    if (min_key) {
      common::BsonView k(reinterpret_cast<const uint8_t*>(min_key->data()), static_cast<uint32_t>(min_key->size()));
      BSON_APPEND_DOCUMENT(&opts, "min", k.get());
    }
    if (max_key) {
      common::BsonView k(reinterpret_cast<const uint8_t*>(max_key->data()), static_cast<uint32_t>(max_key->size()));
      BSON_APPEND_DOCUMENT(&opts, "max", k.get());
    }
  }
  bson_t empty = BSON_INITIALIZER;
  const bson_t* filter = spec_.filter ? spec_.filter->get() : &empty;
  mongoc_collection_t* col = mongoc_client_get_collection(src.raw(), spec_.src_db.c_str(), spec_.src_coll.c_str());
  if (!th_.before_read(&stop_)) {
    mongoc_collection_destroy(col);
    bson_destroy(&opts);
    return Status(common::kInterrupted, "stopped");
  }
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(col, filter, &opts, nullptr);
  bson_destroy(&opts);
  const int64_t max_bytes = std::max<int64_t>(1, o.batch_mb) << 20;
  const size_t max_docs = static_cast<size_t>(std::max(1, o.batch_docs));
  Batch b;
  int64_t read_in_batch = 0;
  Status st;
  auto hand_on = [&]() -> Status {
    b.partition = static_cast<int>(part);
    b.seq = seq;
    b.resumed = resumed;
    std::string last = b.last_key;
    int64_t n = static_cast<int64_t>(b.count());
    if (inline_dst) {
      MS_RETURN_IF_ERROR(write(*inline_dst, b));
    } else {
      int64_t size = static_cast<int64_t>(b.data.size());
      if (!queue_.push(std::move(b), size)) return Status(common::kInterrupted, "stopped");
    }
    seq++;
    skip += n;
    pos = last;
    b = Batch();
    return Status::OK();
  };
  const bson_t* doc;
  while (!aborted() && mongoc_cursor_next(cur, &doc)) {
    std::string key = spec_.natural ? std::string() : id_key(doc);
    if (pos && !spec_.natural && key == *pos) continue;  // the resume point itself was written
    if (b.count() > 0 && (b.count() >= max_docs || static_cast<int64_t>(b.data.size() + doc->len) > max_bytes)) {
      st = hand_on();
      if (!st.ok()) break;
    }
    b.append(doc);
    b.last_key = std::move(key);
    if (++read_in_batch >= static_cast<int64_t>(max_docs)) {  // one getMore per batchSize documents
      read_in_batch = 0;
      if (!th_.before_read(&stop_)) break;
    }
  }
  bson_error_t err;
  const bson_t* reply = nullptr;
  if (st.ok() && mongoc_cursor_error_document(cur, &err, &reply)) st = client::status_from_error(err, reply);
  if (st.ok() && !aborted() && b.count() > 0) st = hand_on();
  mongoc_cursor_destroy(cur);
  mongoc_collection_destroy(col);
  bson_destroy(&empty);
  if (st.ok() && aborted()) return Status(common::kInterrupted, "stopped");
  return st;
}

Status Job::write(client::Connection& dst, Batch& batch) {
  if (!th_.before_write(static_cast<int64_t>(batch.count()), static_cast<int64_t>(batch.data.size()), &stop_)) {
    return Status(common::kInterrupted, "stopped");
  }
  bool retried = false;
  WriteOutcome w;
  Status st = throttle::with_retries("writing to " + spec_.target_ns(), settings_.retry, nullptr, [&]() -> Status {
    auto r = write_batch(dst, spec_.dst_db, spec_.dst_coll, batch, spec_.ordered);
    if (!r.ok()) {
      retried = true;
      return r.status();
    }
    w = *r;
    return Status::OK();
  }, settings_.on_retry);
  MS_RETURN_IF_ERROR(st);
  if (w.duplicates > 0 && !batch.resumed && !retried &&
      settings_.conflicts == task::ConflictMode::kPrecheckAndReport) {
    return Status(common::kDuplicateKey, "document with _id " + w.first_duplicate + " already exists in " +
                                             spec_.target_ns() +
                                             " (conflict_mode precheck_and_report; ignore_and_proceed skips it)");
  }
  completed(batch, w);
  return Status::OK();
}

void Job::writer_loop() {
  auto dst = ends_.destination->acquire();
  while (auto b = queue_.pop()) {
    if (failed_) continue;  // drain
    Status st = write(dst, *b);
    if (!st.ok()) fail(st);
  }
}

void Job::completed(const Batch& b, const WriteOutcome& w) {
  // Duplicates met after a resume or a retry are this task's own earlier writes.
  bool ours = b.resumed && settings_.conflicts == task::ConflictMode::kPrecheckAndReport;
  progress_.docs += w.inserted;
  progress_.bytes += w.inserted_bytes;
  (ours ? progress_.recopied : progress_.skipped) += w.duplicates;
  std::lock_guard<std::mutex> g(mu_);
  Tracker& t = trackers_[static_cast<size_t>(b.partition)];
  t.pending[b.seq] = {b.last_key, w};
  while (!t.pending.empty() && t.pending.begin()->first == t.next_seq) {
    auto& d = t.pending.begin()->second;
    if (!d.last_key.empty()) t.rec.last_key = d.last_key;
    t.rec.docs += d.w.inserted;
    t.rec.bytes += d.w.inserted_bytes;
    t.rec.skipped += d.w.duplicates;
    t.rec.state = PartState::kCopying;
    t.pending.erase(t.pending.begin());
    t.next_seq++;
  }
  if (t.total_batches >= 0 && t.next_seq == t.total_batches) t.rec.state = PartState::kDone;
  t.dirty = true;
}

void Job::reader_finished(size_t part, int64_t batches) {
  std::lock_guard<std::mutex> g(mu_);
  Tracker& t = trackers_[part];
  t.total_batches = batches;
  if (t.next_seq == batches) t.rec.state = PartState::kDone;
  t.dirty = true;
}

Status Job::flush() {
  std::vector<PartitionRecord> dirty;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& t : trackers_) {
      if (!t.dirty) continue;
      dirty.push_back(t.rec);
      t.dirty = false;
    }
  }
  if (dirty.empty()) return Status::OK();
  return store_.checkpoint(spec_.source_ns(), dirty);
}

void Job::checkpointer_loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!finished_) {
    tick_.wait_for(l, std::chrono::milliseconds(50));
    if (finished_) break;
    l.unlock();
    Status st = flush();
    if (!st.ok()) MS_LOG_WARN("checkpoint of {} failed: {}", spec_.source_ns(), st.message());
    l.lock();
  }
}

}  // namespace

common::Status copy_collection(const Endpoints& ends, CopyStore& store, throttle::Throttle& throttle,
                               const CollectionSpec& spec, const CopySettings& settings, Progress& progress,
                               const std::atomic<bool>& stop) {
  Job job(ends, store, throttle, spec, settings, progress, stop);
  return job.run();
}

}  // namespace copy
