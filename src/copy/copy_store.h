// The full copy's progress in the state store (tables copy_collections and copy_partitions of
// migration 2): each collection's partitions with their _id bounds and, after every
// checkpoint, the last _id written contiguously from the partition's start, so a resumed task
// continues inside the partition. Keys are stored as the bytes of a one-field BSON document
// {_id: value} (the shape of find's min/max). Safe to call from several threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "state/state_store.h"

namespace copy {

enum class PartState { kPending, kCopying, kDone };
const char* to_string(PartState s);

struct PartitionRecord {
  int idx = 0;
  std::optional<std::string> min_key;   // inclusive; nullopt: the collection's start
  std::optional<std::string> max_key;   // exclusive; nullopt: the collection's end
  std::optional<std::string> last_key;  // last _id written contiguously; nullopt: none yet
  PartState state = PartState::kPending;
  int64_t docs = 0;     // documents written (inserted) so far
  int64_t bytes = 0;
  int64_t skipped = 0;  // documents whose _id already existed on the destination
};

struct CollectionRecord {
  std::string source_ns;
  std::string target_ns;
  std::string state;  // "pending", "copying", "done"
  int64_t docs_estimated = 0;
  int64_t bytes_estimated = 0;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  std::vector<PartitionRecord> partitions;  // by idx

  int64_t docs() const;
  int64_t bytes() const;
  int64_t skipped() const;
};

class CopyStore {
 public:
  CopyStore(state::StateStore& store, std::string task_id) : store_(store), task_id_(std::move(task_id)) {}

  common::Result<std::vector<CollectionRecord>> load_all();
  common::Result<std::optional<CollectionRecord>> load(const std::string& source_ns);
  // Records a collection and its partitions (replacing an earlier plan of it).
  common::Status save_plan(const CollectionRecord& c);
  // Progress of several partitions of one collection in one transaction.
  common::Status checkpoint(const std::string& source_ns, const std::vector<PartitionRecord>& parts);
  common::Status set_collection_state(const std::string& source_ns, const std::string& state);

 private:
  state::StateStore& store_;
  std::string task_id_;
  std::mutex mu_;
};

}  // namespace copy
