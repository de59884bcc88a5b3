// The write path shared by insert/update/delete/findAndModify, aggregation's $out/$merge and
// (later) applyOps and transactions: shaping documents for insert, update statements, and
// write-command replies.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "mql/matcher.h"
#include "mql/sort.h"
#include "mql/update.h"
#include "sim/engine/engine_impl.h"

namespace sim::engine {

// _id rules (mongodb-reference.md §7.3): 53 InvalidIdField (5.0+) / 2 for arrays, regexes
// and undefined; 52 for $-prefixed fields inside a document _id.
common::Status check_id_value(const bson_iter_t* id, mql::ServerVersion version);
// A document as stored: _id first (a new ObjectId when missing), size checked.
common::Result<DocRef> prepare_for_insert(const bson_t* doc, mql::ServerVersion version);
// Writes to views (166) and to system collections users may not write (73) are refused.
common::Status check_writable(EngineImpl& e, const std::string& db, const std::string& coll);
WriteContext write_context(const CommandContext& c);
// The request's lsid as the server records it: {id, uid}.
common::Bson session_id_with_uid(const CommandContext& c, const bson_t* lsid);
// Appends writeConcernError when the request's write concern cannot be satisfied here.
common::Status finish_write_reply(const CommandContext& c, mql::ServerVersion version, bson_t* reply);

struct WriteError {
  int64_t index = 0;
  common::Status status;
};

struct WriteResult {
  int64_t n = 0;
  int64_t n_modified = 0;
  std::vector<std::pair<int64_t, common::Bson>> upserted;  // (statement index, {_id})
  std::vector<WriteError> errors;
  void append_error(int64_t index, const common::Status& st);
  void append_to(bson_t* reply, bool is_update) const;
};

// One parsed update statement: {q, u, upsert, multi, arrayFilters, hint, collation, c}.
struct UpdateStatement {
  common::Bson query;
  bson_iter_t u_iter{};
  bool upsert = false;
  bool multi = false;
  common::Bson array_filters;
  bool has_array_filters = false;
  bson_iter_t hint_iter{};
  bool has_hint = false;
  common::Bson collation, constants, sort;
  std::shared_ptr<QueryContext> qctx;
  std::shared_ptr<const mql::Matcher> matcher;
  std::unique_ptr<mql::Update> update;

  common::Status parse(EngineImpl& e, const CommandContext& c, const bson_t* stmt, const char* cmd,
                       const mql::CollatorPtr& default_collator);
  UpdateInfo info() const;
};

// RecordIds of documents matching `query` (all, or the first by `sort`). Collection locked.
common::Result<std::vector<int64_t>> matching_records(const Collection& coll, const bson_t* query,
                                                      const std::shared_ptr<const mql::Matcher>& matcher,
                                                      const QueryContext& qctx, const bson_iter_t* hint, bool has_hint,
                                                      const mql::SortPattern* sort, bool first_only);
// Applies `st` to record `rid` (collection locked exclusively). False when it left the
// document unchanged (then nothing was written).
common::Result<bool> apply_update(Collection& coll, int64_t rid, const UpdateStatement& st, const WriteContext& wc,
                                  DocRef* pre, DocRef* post);
// The document an upsert inserts.
common::Result<common::Bson> upsert_document(const UpdateStatement& st, mql::ServerVersion version);

}  // namespace sim::engine
