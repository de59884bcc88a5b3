// Small reads from the source the incremental phase needs: the newest optime (hello's
// lastWrite, for the lag), whether the oplog is readable (incremental.method auto), and the
// current version of documents by _id (updates of filtered collections, updates a reader
// could not express).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "change/event.h"
#include "client/client.h"
#include "common/bson.h"

namespace apply {

common::Result<change::OpTime> newest_optime(client::Connection& source);
bool oplog_readable(client::Connection& source);

// _id bytes ({_id: v} document bytes) → current document, for the keys given.
common::Result<std::map<std::string, common::Bson>> fetch_by_id(client::Connection& source, const std::string& db,
                                                                const std::string& coll,
                                                                const std::vector<const common::Bson*>& keys);

}  // namespace apply
