// Change-stream events (mongodb-reference.md §6.3) → normalized change events: the same
// shapes the oplog reader produces. Fragments from $changeStreamSplitLargeEvent are
// reassembled before conversion; expanded DDL events (showExpandedEvents, 6.0+) become the
// runnable commands (create, createIndexes, dropIndexes, collMod, renameCollection, drop,
// dropDatabase). Each event carries its resume token.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "change/event.h"

namespace change {

class StreamNormalizer {
 public:
  // Appends the events of one change document (none while a split event is incomplete).
  common::Status add(const bson_t* event, std::vector<ChangeEvent>* out);
  bool in_split() const { return !fragments_.empty(); }
  void reset() { fragments_.clear(); }

 private:
  common::Status convert(const bson_t* event, std::vector<ChangeEvent>* out);
  std::vector<common::Bson> fragments_;
};

}  // namespace change
