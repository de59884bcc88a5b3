// The precheck: the itemized checks of product.md §4 run against the real source and
// destination before a task may start. Each item has a stable id, a level (error or warning),
// a status (passed, failed or warning), a detail and the fix. Failed items block the start;
// warnings block until the operator ignores them by id (recorded in the state store).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "client/connectivity.h"
#include "client/privileges.h"
#include "task/plan.h"
#include "task/task_file.h"

namespace precheck {

enum class Level { kError, kWarning };
enum class Status { kPassed, kFailed, kWarning };
const char* to_string(Level l);
const char* to_string(Status s);

struct Item {
  std::string id;
  std::string title;
  Level level = Level::kError;
  Status status = Status::kPassed;
  std::string detail;
  std::string fix;      // empty when passed
  bool ignored = false;  // a warning the operator ignored
};

// Every item id, in report order, with its title.
struct ItemInfo {
  std::string id;
  std::string title;
};
const std::vector<ItemInfo>& item_catalog();
// The level of an item for this task (destination.conflicts depends on conflict_mode).
Level item_level(const std::string& id, const task::TaskOptions& options);
bool known_item(const std::string& id);

struct Report {
  std::vector<Item> items;
  client::ConnectivityReport source;
  client::ConnectivityReport destination;
  task::Plan plan;

  // A failed item, or a warning nobody ignored.
  bool blocked() const;
  const Item* find(const std::string& id) const;
};

// Runs every item. `ignored` holds the ids of warnings the operator has ignored.
Report run_precheck(const task::TaskFile& task, const std::set<std::string>& ignored);

// The privileges a task needs on each side. With a plan, every selected database and
// collection; without one (test-connection), what the task file alone names.
std::vector<client::RequirementGroup> source_requirements(const task::TaskOptions& options, const task::Plan* plan);
std::vector<client::RequirementGroup> destination_requirements(const task::TaskOptions& options,
                                                               const task::Plan* plan);

// Supported MongoDB releases (major*10 + minor).
constexpr int kMinVersion = 44;
constexpr int kMaxVersion = 80;

}  // namespace precheck
