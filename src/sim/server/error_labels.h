// The error labels a server attaches to replies (mongodb-reference.md §4.3, mongod's
// ErrorLabelBuilder): TransientTransactionError, RetryableWriteError (+ NoWritesPerformed),
// ResumableChangeStreamError and NonResumableChangeStreamError, computed from the request's
// session fields and the error / write-concern-error codes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/command.h"

namespace sim::server {

struct LabelContext {
  std::string command;
  bool has_txn_number = false;
  bool has_autocommit = false;          // only ever present (as false) inside transactions
  bool change_stream_aggregate = false;  // aggregate starting with $changeStream, or getMore on its cursor
  bool shutting_down = false;
  bool optime_moved = true;             // false: the command wrote nothing (NoWritesPerformed)
};

LabelContext label_context_for(const CommandRequest& req);

std::vector<std::string> server_error_labels(const LabelContext& lc, std::optional<int> code,
                                             std::optional<int> write_concern_code);

// Codes of the RetriableError category.
bool is_retriable_error(int code);
// NotPrimaryError or ShutdownError codes: replies carry the server's topologyVersion.
bool is_state_change_error(int code);

}  // namespace sim::server
