// Time-series collections (5.0+): <name> is a view over system.buckets.<name> whose pipeline
// starts with $_internalUnpackBucket (catalog_ops.cc create_timeseries). Inserts into the view
// are bucketed here as the server's bucket catalog does: measurements with equal meta values
// (compared with object fields sorted) and times within one bucket span share a bucket of at
// most 1000 measurements / 125 KiB; a measurement without a valid Date time field is write
// error 2 "'<timeField>' must be present and contain a valid BSON UTC datetime value".
//
// Inserts inside a multi-document transaction fail with 263 OperationNotSupportedInTransaction.
//
// Not emulated: bucket compression (buckets stay control.version 1), reopening of closed
// buckets after a restart beyond the scan below, updates and deletes through the view.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"

#include "common/status.h"
#include "mql/pipeline.h"
#include "sim/command.h"

namespace sim::engine {

class EngineImpl;
class Collection;

// True when db.name is a time-series collection (its view and buckets collection exist).
bool is_timeseries_view(EngineImpl& e, const std::string& db, const std::string& name);

// The insert command on a time-series view (the body already checked by cmd_insert).
common::Status timeseries_insert(EngineImpl& e, CommandContext& c, const std::string& name, bson_t* reply);

// 6.3+: the index a new time-series collection with a metaField gets at create, on
// {<metaField>: 1, <timeField>: 1} (buckets: {meta: 1, control.min.t: 1, control.max.t: 1}).
common::Status add_default_timeseries_index(EngineImpl& e, Collection& buckets);

// createIndexes on a time-series view: the `indexes` array with every key translated to the
// buckets collection (timeseries_bucket.h buckets_index_key).
common::Result<common::Bson> timeseries_index_specs(EngineImpl& e, const std::string& db, const std::string& name,
                                                    const bson_t* specs);
// listIndexes on a time-series view: the buckets collection's index specs with their keys
// translated back; the clustered _id index of the buckets is not listed.
std::vector<common::Bson> timeseries_listed_specs(EngineImpl& e, const std::string& db, const std::string& name,
                                                  std::vector<common::Bson> bucket_specs);

// $_internalUnpackBucket {timeField, metaField?, bucketMaxSpanSeconds, exclude: []}: buckets
// in, measurements out. nullptr for other stage names.
common::Result<std::unique_ptr<mql::HostStage>> timeseries_host_stage(std::string_view name, const bson_iter_t* spec);

}  // namespace sim::engine
