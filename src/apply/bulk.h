// One lane batch written to the destination: the operations are grouped into rounds that
// keep each document's operations in order (and every operation of an "ordered" namespace —
// one with a unique secondary index — in order), and each round is one unordered bulk write
// per namespace and kind (libmongoc splits by the server's batch limits). Never one round
// trip per operation.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "apply/apply_op.h"
#include "common/status.h"

typedef struct _mongoc_client_t mongoc_client_t;

namespace apply {

struct BulkOutcome {
  int64_t statements = 0;
  int64_t tolerated_errors = 0;  // statements that failed where a failure was expected
};

// `tolerant(op)`: whether a missing document or a failed statement is expected for `op`
// (between T0 and T1, or on a retried batch). Operations marked `ordered` keep their order
// with every operation of their namespace. A write error of a strict operation, or a strict
// update/delete that matched nothing, fails with the namespace and the document key.
common::Result<BulkOutcome> write_batch(mongoc_client_t* client, const std::vector<ApplyOp>& ops,
                                        const std::function<bool(const ApplyOp&)>& tolerant);

}  // namespace apply
