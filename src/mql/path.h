// Dotted field paths ("a.b.0.c") and the three ways MongoDB resolves them against a document
// (mongodb-reference.md §8.1):
//   * lookup():    plain descent, no array traversal (numeric components index arrays);
//   * get_agg():   aggregation "$a.b" semantics (arrays map over their elements);
//   * traverse():  query semantics (every value reached, arrays expanded, missing reported).
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mql/value.h"

namespace mql {

// A dotted path split once into components. Empty components are kept (callers validate).
class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string_view dotted);

  const std::string& dotted() const { return dotted_; }
  size_t size() const { return parts_.size(); }
  bool empty() const { return parts_.empty(); }
  std::string_view part(size_t i) const { return {dotted_.data() + parts_[i].first, parts_[i].second}; }
  // The component as an array index when it is a canonical non-negative decimal ("0", "12",
  // not "01" or "-1"); -1 otherwise.
  int64_t index(size_t i) const { return index_[i]; }
  // "a.b.c".prefix(2) == "a.b".
  std::string prefix(size_t n) const;

 private:
  std::string dotted_;
  std::vector<std::pair<uint32_t, uint32_t>> parts_;  // offset, length
  std::vector<int64_t> index_;
};

// True when `s` is a canonical array index ("0", "7", "42"); stores it in *out.
bool parse_array_index(std::string_view s, int64_t* out);

// Plain descent: documents by field name, arrays only by numeric component. Returns false
// when a component is absent or the path crosses a scalar. `out` points into `doc`.
bool lookup(const bson_t* doc, const FieldPath& path, bson_iter_t* out);
bool lookup(const bson_t* doc, std::string_view dotted, bson_iter_t* out);

// Aggregation semantics of "$a.b": a document descends by field name; an array yields an
// array of the sub-values of its elements (elements that are documents are descended, nested
// arrays recursively; scalars and elements where the rest is missing are skipped). Numeric
// components are field names here. Missing → a missing Value.
Value get_agg(const bson_t* doc, const FieldPath& path);

// One value reached by a query-path traversal.
struct PathHit {
  // The element reached, or nullptr when the path is missing at this point (a document, or an
  // array element that is a document, lacks the next component).
  const bson_iter_t* it = nullptr;
  // Position in the first (outermost) array the traversal went through to get here; -1 when
  // no array was traversed. Positional `$` uses this.
  int64_t array_pos = -1;
  // True for an element produced by expanding a leaf array (as opposed to the array itself).
  bool leaf_element = false;
};

// Visitor: return true to stop the traversal (e.g. "matched").
class PathVisitor {
 public:
  template <typename F>
  PathVisitor(F& f)  // NOLINT(google-explicit-constructor)
      : obj_(&f), call_([](void* o, const PathHit& h) { return (*static_cast<F*>(o))(h); }) {}
  bool operator()(const PathHit& h) const { return call_(obj_, h); }

 private:
  void* obj_;
  bool (*call_)(void*, const PathHit&);
};

// Query semantics: resolves `path` left to right. An array met before the last component is
// traversed: document elements are descended with the rest of the path (scalars and nested
// arrays are skipped), and a numeric component also selects the element at that index. At the
// last component, an array value is reported itself and, when `expand_leaf_arrays`, each of
// its elements too (elements first). Missing components are reported with it == nullptr.
// Returns true when the visitor stopped the traversal. Never allocates.
bool traverse(const bson_t* doc, const FieldPath& path, bool expand_leaf_arrays, PathVisitor visit);

}  // namespace mql
