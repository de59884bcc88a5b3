// The schema phase: databases and collections created on the destination with every option
// of the source (validator, validationLevel/Action, collation, capped size/max,
// clusteredIndex, timeseries, changeStreamPreAndPostImages...), views after their sources
// with viewOn renamed by the mapping, and every index with every option. Secondary indexes
// are built after the copy by default (copy.index_build); TTL indexes are created with an
// expireAfterSeconds that never fires during the migration, the source value recorded in the
// state store (table ttl_indexes) and restored by finalize. Objects that already exist on the
// destination are compared: a difference fails under precheck_and_report and is logged and
// kept under ignore_and_proceed.
#pragma once

#include <string>
#include <vector>

#include "client/client.h"
#include "common/bson.h"
#include "state/state_store.h"
#include "task/plan.h"

namespace schema {

// expireAfterSeconds given to TTL indexes during the migration (about 68 years).
constexpr int64_t kParkedExpireAfterSeconds = 2147483647;

struct Context {
  client::Connection& destination;
  const task::Plan& plan;
  const task::TaskOptions& options;
  state::StateStore& store;
  std::string task_id;
};

// Collections (not views). Idempotent: a rerun finds them and compares.
common::Status create_collections(Context& ctx);
// Views, after the collections they read.
common::Status create_views(Context& ctx);
// Every index but _id (which create makes) of every collection; TTL indexes parked.
common::Status create_indexes(Context& ctx);
// Gives TTL indexes their source expireAfterSeconds back (collMod); idempotent.
common::Status restore_ttl(Context& ctx);

// The create command for a collection or view of the plan (exposed for tests).
common::Bson create_command(const task::PlannedObject& o);
// An index spec as createIndexes takes it: the source's listIndexes entry without ns, with
// a TTL's expireAfterSeconds replaced by kParkedExpireAfterSeconds. `ttl` receives the
// source value (or -1 when not a TTL index).
common::Bson index_spec_for_create(const bson_t* source_spec, int64_t* ttl);
// Do two option documents describe the same collection? (Field order does not matter; the
// destination's extras that create adds by itself, like a default validationLevel, count.)
bool same_options(const bson_t* a, const bson_t* b);

}  // namespace schema
