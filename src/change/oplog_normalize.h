// Oplog entries (mongodb-reference.md §5) → normalized change events: CRUD entries, `$v:1`
// and `$v:2` updates, commands (create, drop, renameCollection, createIndexes and
// commitIndexBuild, dropIndexes, collMod, dropDatabase), views (writes to system.views),
// time-series collections (their bucket collection's create and drop), applyOps (batched
// writes, transactions, partialTxn chains buffered until their last entry, prepared
// transactions until commitTransaction). No-ops, internal namespaces and fromMigrate writes
// produce nothing.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "change/event.h"

namespace change {

class OplogNormalizer {
 public:
  // Appends the events of one entry to `out` (in commit order).
  common::Status add(const bson_t* entry, std::vector<ChangeEvent>* out);
  // The ts of the first entry of a transaction not committed yet: a resume must re-read
  // from there.
  std::optional<OpTime> oldest_open() const;
  // Forgets open transactions (before re-reading from a resume point).
  void reset() { open_.clear(); }

 private:
  struct OpenTxn {
    OpTime first;
    std::vector<common::Bson> ops;  // the inner operations so far
    bool prepared = false;
  };
  common::Status add_op(const bson_t* op, OpTime ts, std::vector<ChangeEvent>* out);
  common::Status add_command(const std::string& db, const bson_t* o, OpTime ts, std::vector<ChangeEvent>* out);
  common::Status add_view_write(char op, const std::string& db, const bson_t* o, OpTime ts,
                                std::vector<ChangeEvent>* out);
  void append_inner(const bson_t* apply_ops, std::vector<common::Bson>* ops);
  std::map<std::string, OpenTxn> open_;  // lsid.id + txnNumber → buffered operations
};

// {_id: <o._id>} of a document, or an empty document when it has no _id.
common::Bson id_key(const bson_t* doc);

}  // namespace change
