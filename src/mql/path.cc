// Dotted-path resolution: plain lookup, aggregation field paths and query traversal.
#include "mql/path.h"

#include <cstring>

namespace mql {

bool parse_array_index(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

FieldPath::FieldPath(std::string_view dotted) : dotted_(dotted) {
  size_t start = 0;
  while (true) {
    size_t dot = dotted_.find('.', start);
    size_t end = dot == std::string::npos ? dotted_.size() : dot;
    parts_.emplace_back(static_cast<uint32_t>(start), static_cast<uint32_t>(end - start));
    int64_t idx = -1;
    if (!parse_array_index(std::string_view(dotted_).substr(start, end - start), &idx)) idx = -1;
    index_.push_back(idx);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
}

std::string FieldPath::prefix(size_t n) const {
  if (n == 0) return {};
  if (n >= parts_.size()) return dotted_;
  return dotted_.substr(0, parts_[n - 1].first + parts_[n - 1].second);
}

namespace {

bool find_in(const bson_iter_t* container, std::string_view key, bson_iter_t* out) {
  bson_iter_t child;
  if (!bson_iter_recurse(container, &child)) return false;
  while (bson_iter_next(&child)) {
    if (bson_iter_key_len(&child) == key.size() && std::memcmp(bson_iter_key(&child), key.data(), key.size()) == 0) {
      *out = child;
      return true;
    }
  }
  return false;
}

bool find_top(const bson_t* doc, std::string_view key, bson_iter_t* out) {
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return false;
  while (bson_iter_next(&it)) {
    if (bson_iter_key_len(&it) == key.size() && std::memcmp(bson_iter_key(&it), key.data(), key.size()) == 0) {
      *out = it;
      return true;
    }
  }
  return false;
}

}  // namespace

bool lookup(const bson_t* doc, const FieldPath& path, bson_iter_t* out) {
  if (path.empty()) return false;
  bson_iter_t cur;
  if (!find_top(doc, path.part(0), &cur)) return false;
  for (size_t i = 1; i < path.size(); ++i) {
    bson_type_t t = bson_iter_type(&cur);
    if (t == BSON_TYPE_DOCUMENT) {
      if (!find_in(&cur, path.part(i), &cur)) return false;
    } else if (t == BSON_TYPE_ARRAY) {
      if (path.index(i) < 0 || !find_in(&cur, path.part(i), &cur)) return false;
    } else {
      return false;
    }
  }
  *out = cur;
  return true;
}

bool lookup(const bson_t* doc, std::string_view dotted, bson_iter_t* out) {
  return lookup(doc, FieldPath(dotted), out);
}

namespace {

Value agg_from(const bson_iter_t* it, const FieldPath& path, size_t i);

// Maps the rest of the path (from component i) over the elements of an array.
Value agg_array(const bson_iter_t* arr, const FieldPath& path, size_t i) {
  bson_t out = BSON_INITIALIZER;
  bson_iter_t child;
  uint32_t n = 0;
  if (bson_iter_recurse(arr, &child)) {
    while (bson_iter_next(&child)) {
      bson_type_t t = bson_iter_type(&child);
      Value v;
      if (t == BSON_TYPE_DOCUMENT) {
        bson_iter_t sub;
        if (find_in(&child, path.part(i), &sub)) v = agg_from(&sub, path, i + 1);
      } else if (t == BSON_TYPE_ARRAY) {
        v = agg_array(&child, path, i);
      }
      if (!v.missing()) {
        char buf[16];
        const char* key = nullptr;
        size_t kl = bson_uint32_to_string(n++, &key, buf, sizeof buf);
        bson_append_value(&out, key, static_cast<int>(kl), &v.raw());
      }
    }
  }
  Value result = Value::array(&out);
  bson_destroy(&out);
  return result;
}

// `it` is the value reached after components [0, i); resolve the rest.
Value agg_from(const bson_iter_t* it, const FieldPath& path, size_t i) {
  if (i == path.size()) return Value::from_iter(it);
  bson_type_t t = bson_iter_type(it);
  if (t == BSON_TYPE_DOCUMENT) {
    bson_iter_t sub;
    if (!find_in(it, path.part(i), &sub)) return Value();
    return agg_from(&sub, path, i + 1);
  }
  if (t == BSON_TYPE_ARRAY) return agg_array(it, path, i);
  return Value();
}

struct Traverser {
  const FieldPath& path;
  bool expand;
  PathVisitor& visit;

  bool report(const bson_iter_t* it, int64_t pos, bool leaf_elem) const {
    PathHit h;
    h.it = it;
    h.array_pos = pos;
    h.leaf_element = leaf_elem;
    return visit(h);
  }

  // `it` is the value reached after components [0, i).
  bool walk(const bson_iter_t* it, size_t i, int64_t pos) const {
    if (i == path.size()) {
      if (bson_iter_type(it) == BSON_TYPE_ARRAY && expand) {
        bson_iter_t child;
        if (bson_iter_recurse(it, &child)) {
          int64_t k = 0;
          while (bson_iter_next(&child)) {
            if (report(&child, pos >= 0 ? pos : k, true)) return true;
            ++k;
          }
        }
      }
      return report(it, pos, false);
    }
    bson_type_t t = bson_iter_type(it);
    if (t == BSON_TYPE_DOCUMENT) {
      bson_iter_t sub;
      if (!find_in(it, path.part(i), &sub)) return report(nullptr, pos, false);
      return walk(&sub, i + 1, pos);
    }
    if (t != BSON_TYPE_ARRAY) return false;  // a scalar ends the path: nothing reached
    int64_t want = path.index(i);
    bson_iter_t child;
    if (!bson_iter_recurse(it, &child)) return false;
    int64_t k = 0;
    while (bson_iter_next(&child)) {
      if (k == want) {
        // The numeric component selects this element (not a traversal, so pos is unchanged).
        if (walk(&child, i + 1, pos)) return true;
      }
      if (bson_iter_type(&child) == BSON_TYPE_DOCUMENT) {
        if (walk(&child, i, pos >= 0 ? pos : k)) return true;
      }
      ++k;
    }
    return false;
  }
};

}  // namespace

Value get_agg(const bson_t* doc, const FieldPath& path) {
  if (path.empty()) return Value();
  bson_iter_t first;
  if (!find_top(doc, path.part(0), &first)) return Value();
  return agg_from(&first, path, 1);
}

bool traverse(const bson_t* doc, const FieldPath& path, bool expand_leaf_arrays, PathVisitor visit) {
  if (path.empty()) return false;
  Traverser t{path, expand_leaf_arrays, visit};
  bson_iter_t first;
  if (!find_top(doc, path.part(0), &first)) return t.report(nullptr, -1, false);
  return t.walk(&first, 1, -1);
}

}  // namespace mql
