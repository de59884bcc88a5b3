// Sort specifications and MongoDB sort-key semantics.
#include "mql/sort.h"

#include <cmath>
#include <cstring>
#include <string>

#include "mql/compare.h"

namespace mql {

using common::Result;
using common::Status;

namespace {

// numberInt() of the server: doubles truncate (saturating), decimals likewise.
int64_t number_int(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32: return bson_iter_int32(it);
    case BSON_TYPE_INT64: return bson_iter_int64(it);
    default: return Value::from_iter(it).as_int64();
  }
}

bool is_number(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE || t == BSON_TYPE_DECIMAL128;
}

}  // namespace

Result<SortPattern> SortPattern::parse(const bson_t* spec, Syntax syntax) {
  SortPattern p;
  bson_iter_t it;
  if (!bson_iter_init(&it, spec)) return Status(common::kBadValue, "invalid sort specification");
  while (bson_iter_next(&it)) {
    std::string key(bson_iter_key(&it), bson_iter_key_len(&it));
    SortPart part;
    part.path = FieldPath(key);
    bson_type_t t = bson_iter_type(&it);
    if (t == BSON_TYPE_DOCUMENT) {
      bson_iter_t meta;
      bson_iter_t sub;
      bool is_meta = bson_iter_recurse(&it, &sub) && bson_iter_next(&sub) &&
                     std::strcmp(bson_iter_key(&sub), "$meta") == 0;
      if (is_meta) {
        meta = sub;
        if (bson_iter_next(&sub)) {
          return Status(17312, "Cannot have additional keys in a $meta sort specification");
        }
        if (!BSON_ITER_HOLDS_UTF8(&meta)) {
          return Status(common::kBadValue, "Illegal $meta sort: " + common::value_to_json(bson_iter_value(&it)));
        }
        std::string name = bson_iter_utf8(&meta, nullptr);
        if (name == "textScore") {
          part.kind = SortPart::Kind::kTextScore;
        } else if (name == "randVal") {
          part.kind = SortPart::Kind::kRandVal;
        } else {
          return Status(31138, "Illegal $meta sort: " + common::value_to_json(bson_iter_value(&it)));
        }
        part.ascending = false;
        p.parts_.push_back(std::move(part));
        continue;
      }
    }
    if (!is_number(t)) {
      if (syntax == Syntax::kPipeline) {
        return Status(15974, "$sort key ordering must be specified using a number or {$meta: 'textScore'}");
      }
      return Status(15974, "Illegal key in $sort specification: " + key + ": " +
                               common::value_to_json(bson_iter_value(&it)));
    }
    int64_t order = number_int(&it);
    if (order != 1 && order != -1) {
      return Status(15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)");
    }
    part.ascending = order == 1;
    p.parts_.push_back(std::move(part));
  }
  if (p.parts_.empty() && syntax == Syntax::kPipeline) {
    return Status(15976, "$sort stage must have at least one sort key");
  }
  return p;
}

bool SortPattern::has_meta() const {
  for (const auto& p : parts_) {
    if (p.kind != SortPart::Kind::kField) return true;
  }
  return false;
}

bson_value_t SortPattern::key_value(const bson_t* doc, const FieldPath& path, bool ascending,
                                    const Collator* collator) {
  bson_value_t best;
  best.value_type = BSON_TYPE_EOD;  // nothing yet
  bool have = false;
  auto consider = [&](const bson_value_t& v) {
    if (!have) {
      best = v;
      have = true;
      return;
    }
    int c = compare_values(&v, &best, collator);
    if (ascending ? c < 0 : c > 0) best = v;
  };
  auto visit = [&](const PathHit& h) {
    bson_value_t v;
    if (h.it == nullptr) {
      v.value_type = BSON_TYPE_NULL;
      consider(v);
      return false;
    }
    if (!h.leaf_element && bson_iter_type(h.it) == BSON_TYPE_ARRAY) {
      // The array itself: its elements were reported already; an empty one sorts as undefined.
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_array(h.it, &len, &data);
      if (len <= 5) {
        v.value_type = BSON_TYPE_UNDEFINED;
        consider(v);
      }
      return false;
    }
    consider(*bson_iter_value(const_cast<bson_iter_t*>(h.it)));
    return false;
  };
  traverse(doc, path, true, visit);
  if (!have) best.value_type = BSON_TYPE_NULL;  // e.g. "a.b" over an array of scalars
  return best;
}

SortKey SortPattern::key(const bson_t* doc, const Collator* collator) const {
  SortKey k;
  k.reserve(parts_.size());
  for (const auto& p : parts_) {
    if (p.kind != SortPart::Kind::kField) {
      k.push_back(Value::null());
      continue;
    }
    bson_value_t v = key_value(doc, p.path, p.ascending, collator);
    k.emplace_back(v);
  }
  return k;
}

int SortPattern::compare_keys(const SortKey& a, const SortKey& b, const Collator* collator) const {
  size_t n = parts_.size();
  for (size_t i = 0; i < n && i < a.size() && i < b.size(); ++i) {
    int c = compare_values(&a[i].raw(), &b[i].raw(), collator);
    if (c != 0) return parts_[i].ascending ? c : -c;
  }
  return 0;
}

int SortPattern::compare(const bson_t* a, const bson_t* b, const Collator* collator) const {
  for (const auto& p : parts_) {
    if (p.kind != SortPart::Kind::kField) continue;
    bson_value_t va = key_value(a, p.path, p.ascending, collator);
    bson_value_t vb = key_value(b, p.path, p.ascending, collator);
    int c = compare_values(&va, &vb, collator);
    if (c != 0) return p.ascending ? c : -c;
  }
  return 0;
}

}  // namespace mql
