// Server-side error labels, following mongod's ErrorLabelBuilder (src/mongo/db/error_labels.cpp).
#include "sim/server/error_labels.h"

#include <algorithm>

namespace sim::server {

namespace {

template <size_t N>
bool in(const int (&codes)[N], int code) {
  return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

constexpr int kRetriable[] = {6, 7, 89, 91, 134, 189, 262, 317, 9001, 10107, 11600, 11602, 13435, 13436};
constexpr int kNotPrimary[] = {189, 10058, 10107, 11602, 13435, 13436};
constexpr int kShutdown[] = {90, 91, 11600};
constexpr int kNetwork[] = {6, 7, 89, 9001};
constexpr int kRetargeting[] = {63, 150, 249, 13388};
constexpr int kSnapshot[] = {239, 246, 250, 272};
constexpr int kNonResumableChangeStream[] = {280, 286};

bool is_commit_or_abort(const std::string& name) {
  return name == "commitTransaction" || name == "abortTransaction";
}

bool transient_transaction_error(int code, bool has_wc_error, bool commit_or_abort) {
  // WriteConflict, LockTimeout, PreparedTransactionInProgress, ShardCannotRefreshDueToLocksHeld,
  // StaleDbVersion.
  if (code == 112 || code == 24 || code == 267 || code == 343 || code == 249) return true;
  bool transient = in(kSnapshot, code) || in(kRetargeting, code);
  if (commit_or_abort) {
    transient |= code == 251 && !has_wc_error;
  } else {
    transient |= is_retriable_error(code) || code == 251;
  }
  return transient;
}

}  // namespace

bool is_retriable_error(int code) { return in(kRetriable, code); }

bool is_state_change_error(int code) { return in(kNotPrimary, code) || in(kShutdown, code); }

LabelContext label_context_for(const CommandRequest& req) {
  LabelContext lc;
  lc.command = req.name;
  bson_iter_t it;
  lc.has_txn_number = common::find_field(req.body.get(), "txnNumber", &it);
  lc.has_autocommit = common::find_field(req.body.get(), "autocommit", &it);
  if (req.name == "aggregate" && common::find_field(req.body.get(), "pipeline", &it) && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t stage, op;
    if (bson_iter_recurse(&it, &stage) && bson_iter_next(&stage) && BSON_ITER_HOLDS_DOCUMENT(&stage) &&
        bson_iter_recurse(&stage, &op) && bson_iter_next(&op)) {
      lc.change_stream_aggregate = std::string_view(bson_iter_key(&op)) == "$changeStream";
    }
  }
  return lc;
}

std::vector<std::string> server_error_labels(const LabelContext& lc, std::optional<int> code,
                                             std::optional<int> wc_code) {
  std::vector<std::string> labels;
  const bool commit_or_abort = is_commit_or_abort(lc.command);
  bool write_label = false;
  if (code && lc.has_txn_number && lc.has_autocommit &&
      transient_transaction_error(*code, wc_code.has_value(), commit_or_abort)) {
    labels.push_back("TransientTransactionError");
    write_label = true;
  } else {
    bool retryable_write = lc.has_txn_number && !lc.has_autocommit;
    bool txn_end = lc.has_txn_number && lc.has_autocommit && commit_or_abort;
    if (retryable_write || txn_end) {
      bool shutdown = code && in(kShutdown, *code) && lc.shutting_down;
      if (shutdown || (code && is_retriable_error(*code)) || (wc_code && is_retriable_error(*wc_code))) {
        labels.push_back("RetryableWriteError");
        write_label = true;
        if (!lc.optime_moved) labels.push_back("NoWritesPerformed");
      }
    }
  }
  if (!write_label && code && !wc_code && lc.change_stream_aggregate &&
      (is_retriable_error(*code) || in(kNetwork, *code) || in(kRetargeting, *code) || *code == 234 || *code == 133)) {
    labels.push_back("ResumableChangeStreamError");
  } else if (code && in(kNonResumableChangeStream, *code)) {
    labels.push_back("NonResumableChangeStreamError");
  }
  return labels;
}

}  // namespace sim::server
