// Cutting a collection into _id ranges without scanning it: the _id of a $sample of documents
// are sorted in the server's order and every n-th becomes a split point; where the sample
// holds _id values of different BSON type brackets, the lowest value of the higher bracket is
// a split point too, so a range normally holds one bracket (find's min/max follow the index
// order, so a range spanning brackets is still read correctly). Keys are the bytes of
// {_id: value}, the shape of find's min and max.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/bson.h"
#include "common/status.h"

namespace copy {

struct KeyRange {
  std::optional<std::string> min;  // inclusive; nullopt: from the start
  std::optional<std::string> max;  // exclusive; nullopt: to the end
};

// {_id: <the lowest value of that type's bracket>}, or nullopt for types whose bracket
// minimum is not needed (MinKey, MaxKey, null, rare types).
std::optional<std::string> bracket_min_key(bson_type_t type);

// Ranges from sampled keys (each {_id: v}, any order, duplicates allowed): `parts` ranges of
// about equal sample counts plus the bracket boundaries; always covers everything.
std::vector<KeyRange> ranges_from_sample(const std::vector<common::Bson>& sample_keys, int parts);

// How many partitions a collection of `count` documents and `bytes` bytes gets: one per
// `partition_bytes`, at least `parallel` when the collection is large enough to be worth it
// (10,000 documents per partition at least).
int partition_count(int64_t count, int64_t bytes, int64_t partition_bytes, int parallel);

// Samples the collection (aggregate $sample, _id only) and cuts it into ranges.
common::Result<std::vector<KeyRange>> split_collection(client::Connection& c, const std::string& db,
                                                       const std::string& coll, int parts);

}  // namespace copy
