// Persistence with --dbpath (issue: restarts keep data, catalog, indexes and the oplog; after
// kill -9 every acknowledged write survives).
//
// Two files beside the user store:
//   mongosim.checkpoint  a full image: clock, collections (options, indexes, documents), the
//                        oplog; written at clean shutdown and after recovery, atomically
//                        (temporary file, fsync, rename);
//   mongosim.journal     every change since that image, in order: the oplog entry the
//                        OplogWriter produced (on a standalone too, where the entries are not
//                        kept as an oplog) plus, for catalog changes, the collection's whole
//                        metadata after the change.
// Each write command's journal records reach the file (write(2)) before its reply, so a
// killed process loses nothing it acknowledged; j:true also fsyncs. Recovery loads the image,
// then re-applies the journal: inserts, $v:2/$v:1/replacement updates and deletes by _id,
// catalog changes by UUID. A torn last record (the process died while writing it, before
// replying) ends the journal; anything else that does not parse is a clear startup error.
//
// Record framing in both files: [u32 length][u32 crc32c of payload][payload BSON]. A journal
// record is {e: <oplog entry>, m: <metadata>}, or {e: <entry without its session fields>,
// s: 1} when the entry has the same session fields as the previous one that had any.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/bson.h"
#include "common/status.h"
#include "sim/engine/oplog.h"

namespace sim::engine {

class EngineImpl;

class Persistence {
 public:
  explicit Persistence(EngineImpl& e) : e_(e) {}
  ~Persistence();

  // Takes the dbpath (lock file, foreign-file check), loads the checkpoint, replays the
  // journal, writes a fresh checkpoint and opens a new journal. Errors name the file.
  common::Status open();
  // Journal hook (OplogWriter::set_append_hook): appends the record, buffered.
  void append(const OplogRecord& rec);
  // Writes buffered records to the file; fsyncs too when `sync`.
  common::Status flush(bool sync);
  // Clean shutdown: a checkpoint, then an empty journal.
  common::Status close();

  bool dirty() const;

 private:
  common::Status lock_dbpath();
  common::Status check_foreign_files();
  common::Status load_checkpoint(const std::string& path);
  common::Status replay_journal(const std::string& path);
  common::Status apply_record(const common::Bson& rec, bool* stop);
  common::Status apply_entry(const bson_t* entry, const bson_t* meta);
  common::Status write_checkpoint();
  common::Status open_journal(bool truncate);

  EngineImpl& e_;
  std::string dir_;
  int lock_fd_ = -1;
  int journal_fd_ = -1;
  mutable std::mutex mu_;
  std::string buffer_;
  bool replaying_ = false;
  bool opened_ = false;  // open() completed: only then may close() write a checkpoint
  int64_t journal_bytes_ = 0;
  // The session fields ({lsid, txnNumber}) of the last journaled entry that had them: the
  // following entries of the same session are journaled without them ({e, s: 1}), and
  // replay puts them back (the statements of a retryable batch share them).
  DocRef journal_session_;
  std::string replay_session_;  // their elements while replaying
};

// The metadata of a collection as journaled and checkpointed: {uuid, db, name, options,
// indexes: [spec...], internal: bool}.
common::Bson collection_metadata(const Collection& coll);

}  // namespace sim::engine
