// DDL on the destination, applied alone (a barrier): the mapped command, where the codes
// that mean "already done" are skipped while replaying idempotently (and a drop of a missing
// collection or index always); a collection renamed into the selection is copied in (options,
// indexes, documents) from the source.
#pragma once

#include "apply/apply_op.h"
#include "client/client.h"
#include "common/status.h"

namespace apply {

common::Status apply_ddl(client::Connection& destination, client::Connection& source, const DdlAction& action,
                         bool tolerant);

// Copies source_db.source_coll (options, indexes, every document) to db.coll on the
// destination, replacing what is there.
common::Status copy_collection_in(client::Connection& destination, client::Connection& source,
                                  const std::string& source_db, const std::string& source_coll, const std::string& db,
                                  const std::string& coll);

}  // namespace apply
