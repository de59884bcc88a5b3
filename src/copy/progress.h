// Live counters of one collection's copy, updated by the writers and read by the progress
// display and the status command (which reads the persisted checkpoints instead).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace copy {

struct Progress {
  std::string source_ns;
  std::string target_ns;
  int64_t docs_estimated = 0;
  int64_t bytes_estimated = 0;
  std::atomic<int64_t> docs{0};      // inserted
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> skipped{0};   // _id already on the destination (ignore_and_proceed)
  std::atomic<int64_t> recopied{0};  // written again after a resume or a retried batch
  std::atomic<bool> done{false};
};

}  // namespace copy
