// The cut-over's final report: documents per collection on both sides and the last applied
// optime, written as JSON to <state-dir>/reports/<task id>-final.json.
#pragma once

#include <map>
#include <string>

#include "apply/incremental.h"
#include "apply/mapper.h"
#include "client/client.h"

namespace apply {

// Every selected source collection (views excluded) → its destination namespace with both
// counts (the source count under the collection's filter).
common::Result<std::map<std::string, CollectionCount>> count_collections(client::Connection& source,
                                                                         client::Connection& destination,
                                                                         const task::TaskOptions& options,
                                                                         const Mapper& mapper);

common::Result<std::string> write_final_report(const std::string& state_dir, const std::string& task_id,
                                               const std::string& method, const IncrementalOutcome& outcome);

}  // namespace apply
