// Collation: the `collation` option of commands and collections (mongodb-reference.md §3),
// over ICU. The "simple" locale (or no collation) is binary comparison.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/bson.h"
#include "common/status.h"

namespace mql {

class Collator {
 public:
  virtual ~Collator() = default;
  // Parses a collation document. Unknown fields → 40415 style errors; unknown locale → 2.
  // Returns nullptr for {locale: "simple"}.
  static common::Result<std::shared_ptr<const Collator>> make(const bson_t* spec);

  virtual int compare(std::string_view a, std::string_view b) const = 0;
  // A binary string whose memcmp order equals compare() order (for index keys and hashing).
  virtual std::string sort_key(std::string_view s) const = 0;
  // The full spec with every field, as the server reports it in listCollections/listIndexes
  // ({locale, caseLevel, caseFirst, strength, numericOrdering, alternate, maxVariable,
  // normalization, backwards, version}).
  virtual common::Bson spec() const = 0;
  virtual const std::string& locale() const = 0;
};

using CollatorPtr = std::shared_ptr<const Collator>;

// True when two collators are equivalent (both simple, or same full spec).
bool same_collation(const Collator* a, const Collator* b);

}  // namespace mql
