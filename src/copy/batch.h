// A batch of documents on the copy path: the raw BSON bytes of consecutive documents of one
// partition (in _id order), as read from the source and sent to the destination unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bson.h"

namespace copy {

struct Batch {
  int partition = 0;      // index into the collection's partitions
  int64_t seq = 0;        // position of the batch within its partition (0, 1, ...)
  std::string data;       // documents, back to back
  std::vector<uint32_t> offsets;  // start of each document in data
  std::string last_key;   // {_id: v} of the last document
  bool resumed = false;   // read by a resumed partition: duplicates may be our own earlier writes

  size_t count() const { return offsets.size(); }
  common::BsonView doc(size_t i) const;
  void append(const bson_t* doc);
  void clear();
};

// {_id: <the document's _id>} as bytes; empty when the document has no _id.
std::string id_key(const bson_t* doc);

}  // namespace copy
