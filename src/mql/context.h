// ExpressionContext: what parsing and evaluating a query, update, projection or pipeline
// needs to know about the request and the server it runs in.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "mql/collation.h"
#include "mql/value.h"

namespace mql {

// Server release as major*10+minor: 44, 50, 60, 70, 80. Behaviour that changed between
// releases (undefined matching null, empty $set, error texts) looks at this.
using ServerVersion = int;

struct ExpressionContext {
  CollatorPtr collator;                 // null = simple (binary)
  std::map<std::string, Value> let;     // user variables from `let` (without the "$$")
  int64_t now_ms = 0;                   // $$NOW, fixed for the whole request
  uint32_t cluster_time_secs = 0;       // $$CLUSTER_TIME
  uint32_t cluster_time_inc = 0;
  ServerVersion version = 70;
  std::string db;                       // the request's database (for $lookup, $out)
  std::string collection;               // the request's collection ("" for {aggregate: 1})
  // aggregate's allowDiskUse; unset means the server default (allowDiskUseByDefault, true
  // from 6.0). Blocking stages past their 100 MB limit fail only when disk use is refused.
  std::optional<bool> allow_disk_use;

  bool disk_use_allowed() const { return allow_disk_use.value_or(version >= 60); }

  const Collator* coll() const { return collator.get(); }
};

}  // namespace mql
