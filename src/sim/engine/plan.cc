// Access-path selection and scanning (see plan.h).
#include "sim/engine/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "mql/compare.h"
#include "mql/value.h"
#include "sim/engine/key_string.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;
using mql::Value;

namespace {

// What the filter says about one path, in index-bounds terms.
struct FieldPreds {
  std::vector<Value> points;  // equality / $in values (any one set)
  bool has_points = false;
  // One type-bracketed range (the first seen; a later one of the same bracket narrows it).
  bool has_range = false;
  bson_type_t bracket = BSON_TYPE_EOD;
  std::optional<Value> lo, hi;
  bool lo_inc = true, hi_inc = true;
  bool has_second_side = false;  // both sides came from predicates that may not intersect on arrays
};

bool has_string(const bson_value_t* v) {
  switch (v->value_type) {
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: return true;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
      bson_t d;
      bson_iter_t it;
      if (!bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len) || !bson_iter_init(&it, &d)) return false;
      while (bson_iter_next(&it)) {
        if (has_string(bson_iter_value(&it))) return true;
      }
      return false;
    }
    default: return false;
  }
}

// Values an index equality bound can stand for: a key equal to the value exists for every
// document the predicate matches.
bool point_usable(const bson_value_t* v) {
  switch (v->value_type) {
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_REGEX:
    case BSON_TYPE_EOD: return false;
    case BSON_TYPE_DOCUMENT: {
      // {$...} documents are operators, handled by the caller.
      return true;
    }
    default: return true;
  }
}

bool range_usable(const bson_value_t* v) {
  switch (v->value_type) {
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_REGEX:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY:
    case BSON_TYPE_EOD: return false;
    default: {
      // NaN bounds only match NaN; leave them to the scan.
      if (v->value_type == BSON_TYPE_DOUBLE && std::isnan(v->value.v_double)) return false;
      return true;
    }
  }
}

bool is_operator_doc(const bson_iter_t* it) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) return false;
  bson_iter_t sub;
  if (!bson_iter_recurse(it, &sub) || !bson_iter_next(&sub)) return false;
  return bson_iter_key(&sub)[0] == '$';
}

void add_range(FieldPreds& fp, std::string_view op, const bson_value_t* v) {
  if (!range_usable(v)) return;
  bson_type_t b = v->value_type;
  if (fp.has_range && mql::canonical_rank(fp.bracket) != mql::canonical_rank(b)) return;
  if (!fp.has_range) {
    fp.has_range = true;
    fp.bracket = b;
  }
  bool lower = op == "$gt" || op == "$gte";
  bool inclusive = op == "$gte" || op == "$lte";
  if (lower) {
    if (fp.lo) {
      fp.has_second_side = true;
      int c = mql::compare_values(v, &fp.lo->raw());
      if (c < 0 || (c == 0 && inclusive)) return;
    }
    if (fp.hi) fp.has_second_side = true;
    fp.lo = Value(*v);
    fp.lo_inc = inclusive;
  } else {
    if (fp.hi) {
      fp.has_second_side = true;
      int c = mql::compare_values(v, &fp.hi->raw());
      if (c > 0 || (c == 0 && inclusive)) return;
    }
    if (fp.lo) fp.has_second_side = true;
    fp.hi = Value(*v);
    fp.hi_inc = inclusive;
  }
}

void collect_preds(const bson_t* filter, std::map<std::string, FieldPreds>& out, int depth = 0) {
  bson_iter_t it;
  if (!filter || depth > 8 || !bson_iter_init(&it, filter)) return;
  while (bson_iter_next(&it)) {
    std::string_view key = bson_iter_key(&it);
    if (key == "$and" && BSON_ITER_HOLDS_ARRAY(&it)) {
      bson_iter_t arr;
      bson_iter_recurse(&it, &arr);
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&arr, &len, &data);
        bson_t sub;
        bson_init_static(&sub, data, len);
        collect_preds(&sub, out, depth + 1);
      }
      continue;
    }
    if (key.empty() || key[0] == '$') continue;
    FieldPreds& fp = out[std::string(key)];
    if (!is_operator_doc(&it)) {
      if (!fp.has_points && point_usable(bson_iter_value(&it))) {
        fp.points.push_back(Value::from_iter(&it));
        fp.has_points = true;
      }
      continue;
    }
    bson_iter_t ops;
    bson_iter_recurse(&it, &ops);
    while (bson_iter_next(&ops)) {
      std::string_view op = bson_iter_key(&ops);
      const bson_value_t* v = bson_iter_value(&ops);
      if (op == "$eq") {
        if (!fp.has_points && point_usable(v)) {
          fp.points.push_back(Value(*v));
          fp.has_points = true;
        }
      } else if (op == "$in" && BSON_ITER_HOLDS_ARRAY(&ops) && !fp.has_points) {
        std::vector<Value> pts;
        bool ok = true;
        bson_iter_t arr;
        bson_iter_recurse(&ops, &arr);
        while (bson_iter_next(&arr)) {
          if (!point_usable(bson_iter_value(&arr))) {
            ok = false;
            break;
          }
          pts.push_back(Value::from_iter(&arr));
        }
        if (ok && !pts.empty()) {
          fp.points = std::move(pts);
          fp.has_points = true;
        } else if (ok) {
          fp.has_points = true;  // $in: [] matches nothing: an empty point set
          fp.points.clear();
        }
      } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
        add_range(fp, op, v);
      }
    }
  }
}

bool collation_compatible(const Index& ix, const mql::Collator* query_collator) {
  return mql::same_collation(ix.desc().collator.get(), query_collator);
}

// Whether the field's predicates can become bounds on this index part.
bool usable_on(const FieldPreds& fp, const Index& ix, const mql::Collator* collator) {
  bool same = collation_compatible(ix, collator);
  if (fp.has_points) {
    if (same) return true;
    for (const auto& p : fp.points) {
      if (has_string(&p.raw())) return false;
    }
    return true;
  }
  if (fp.has_range) {
    if (same) return true;
    if (fp.lo && has_string(&fp.lo->raw())) return false;
    if (fp.hi && has_string(&fp.hi->raw())) return false;
    return mql::canonical_rank(fp.bracket) != 15;
  }
  return false;
}

// Intervals over `ix` from the per-field predicates: equality prefixes multiply, then at most
// one range, as the server's index bounds.
std::vector<KeyInterval> build_intervals(const Index& ix, const std::map<std::string, FieldPreds>& preds,
                                         const mql::Collator* collator, int* bounded_fields) {
  const auto& parts = ix.desc().parts;
  const mql::Collator* kc = ix.desc().collator.get();
  std::vector<std::string> prefixes{""};
  *bounded_fields = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = preds.find(parts[i].path.dotted());
    if (it == preds.end() || !usable_on(it->second, ix, collator)) break;
    const FieldPreds& fp = it->second;
    bool desc = parts[i].descending;
    if (fp.has_points) {
      std::vector<std::string> next;
      for (const auto& pre : prefixes) {
        for (const auto& p : fp.points) {
          std::string k = pre;
          keystring::append_value(k, &p.raw(), kc, desc);
          next.push_back(std::move(k));
        }
      }
      std::sort(next.begin(), next.end());
      next.erase(std::unique(next.begin(), next.end()), next.end());
      prefixes = std::move(next);
      ++*bounded_fields;
      if (prefixes.size() > 4096 || prefixes.empty()) break;
      continue;
    }
    // A range: on a multikey index both sides of a range may come from different array
    // elements, so only the lower side bounds the scan.
    std::optional<Value> lo = fp.lo, hi = fp.hi;
    bool lo_inc = fp.lo_inc, hi_inc = fp.hi_inc;
    if (ix.multikey() && lo && hi) {
      hi.reset();
      hi_inc = true;
    }
    std::string bracket = keystring::bracket(fp.bracket, false);
    std::vector<KeyInterval> out;
    for (const auto& pre : prefixes) {
      KeyInterval iv;
      std::string lo_key = lo ? keystring::encode(&lo->raw(), kc, false) : bracket;
      std::string hi_key = hi ? keystring::encode(&hi->raw(), kc, false) : bracket;
      bool li = lo ? lo_inc : true, hinc = hi ? hi_inc : true;
      if (desc) {
        // Inverted bytes reverse the order: the upper value becomes the lower bound.
        auto inv = [](std::string s) {
          for (auto& c : s) c = static_cast<char>(~static_cast<uint8_t>(c));
          return s;
        };
        iv.lo = pre + inv(hi_key);
        iv.lo_inclusive = hinc;
        iv.hi = pre + inv(lo_key);
        iv.hi_inclusive = li;
      } else {
        iv.lo = pre + lo_key;
        iv.lo_inclusive = li;
        iv.hi = pre + hi_key;
        iv.hi_inclusive = hinc;
      }
      out.push_back(std::move(iv));
    }
    ++*bounded_fields;
    std::sort(out.begin(), out.end(), [](const KeyInterval& a, const KeyInterval& b) { return a.lo < b.lo; });
    return out;
  }
  std::vector<KeyInterval> out;
  if (*bounded_fields == 0) {
    out.push_back(KeyInterval{"", true, std::string(1, '\xff'), true});
    return out;
  }
  for (auto& p : prefixes) out.push_back(KeyInterval{p, true, p, true});
  return out;
}

KeyInterval full_interval() { return KeyInterval{"", true, std::string(1, '\xff'), true}; }

// Does scanning `ix` (forward or backward) produce `sort`'s order?
bool index_provides_sort(const Index& ix, const mql::SortPattern& sort, const mql::Collator* collator, bool* reverse,
                         int equality_prefix) {
  if (sort.empty() || ix.multikey() || !ix.desc().has_entries()) return false;
  if (!collation_compatible(ix, collator)) return false;
  const auto& parts = ix.desc().parts;
  const auto& sp = sort.parts();
  // Leading equality fields may be skipped in the sort pattern.
  size_t start = 0;
  for (size_t skip = 0; skip <= static_cast<size_t>(equality_prefix) && skip <= parts.size(); ++skip) {
    if (sp.size() + skip > parts.size()) break;
    bool match = true;
    std::optional<bool> rev;
    for (size_t i = 0; i < sp.size(); ++i) {
      if (sp[i].kind != mql::SortPart::Kind::kField || sp[i].path.dotted() != parts[skip + i].path.dotted()) {
        match = false;
        break;
      }
      bool r = sp[i].ascending == parts[skip + i].descending;
      if (rev && *rev != r) {
        match = false;
        break;
      }
      rev = r;
    }
    if (match) {
      *reverse = rev.value_or(false);
      start = skip;
      return true;
    }
  }
  (void)start;
  return false;
}

Result<const Index*> resolve_hint(const Collection& coll, const bson_value_t* hint, bool* natural, bool* natural_reverse) {
  *natural = false;
  if (!hint) return static_cast<const Index*>(nullptr);
  auto not_found = [] { return Status(common::kBadValue, "hint provided does not correspond to an existing index"); };
  if (hint->value_type == BSON_TYPE_UTF8) {
    std::string_view name(hint->value.v_utf8.str, hint->value.v_utf8.len);
    if (name.empty()) return static_cast<const Index*>(nullptr);
    const Index* ix = coll.find_index(name);
    if (!ix || ix->desc().hidden) return not_found();
    return ix;
  }
  if (hint->value_type != BSON_TYPE_DOCUMENT) return static_cast<const Index*>(nullptr);
  bson_t key;
  bson_init_static(&key, hint->value.v_doc.data, hint->value.v_doc.data_len);
  if (bson_empty(&key)) return static_cast<const Index*>(nullptr);
  bson_iter_t it;
  if (bson_iter_init_find(&it, &key, "$natural")) {
    *natural = true;
    *natural_reverse = BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_double(&it) < 0;
    return static_cast<const Index*>(nullptr);
  }
  for (const auto& ix : coll.indexes()) {
    if (mql::compare_docs(ix->desc().key.get(), &key) == 0 && bson_count_keys(ix->desc().key.get()) == bson_count_keys(&key)) {
      if (ix->desc().hidden) return not_found();
      return ix.get();
    }
  }
  return not_found();
}

// min/max documents as key bounds of `ix`: field names must follow the key pattern.
Result<KeyInterval> min_max_interval(const Index& ix, const bson_t* min, const bson_t* max) {
  const auto& parts = ix.desc().parts;
  auto encode_bound = [&](const bson_t* b, std::string* out) -> Status {
    bson_iter_t it;
    bson_iter_init(&it, b);
    size_t i = 0;
    while (bson_iter_next(&it)) {
      if (i >= parts.size() || parts[i].path.dotted() != bson_iter_key(&it)) {
        return Status(51174, "The index chosen is not consistent with min/max");
      }
      keystring::append_value(*out, bson_iter_value(&it), ix.desc().collator.get(), parts[i].descending);
      ++i;
    }
    if (i != parts.size()) return Status(51174, "The index chosen is not consistent with min/max");
    return Status::OK();
  };
  KeyInterval iv = full_interval();
  if (min && !bson_empty(min)) {
    iv.lo.clear();
    MS_RETURN_IF_ERROR(encode_bound(min, &iv.lo));
    iv.lo_inclusive = true;
  }
  if (max && !bson_empty(max)) {
    iv.hi.clear();
    MS_RETURN_IF_ERROR(encode_bound(max, &iv.hi));
    iv.hi_inclusive = false;
  }
  return iv;
}

}  // namespace

std::string Plan::summary() const {
  switch (kind) {
    case Kind::kCollScan: return "COLLSCAN";
    case Kind::kEof: return "EOF";
    case Kind::kIndexScan: return is_id_lookup ? "IDHACK" : "IXSCAN " + common::to_server_string(key_pattern.get());
  }
  return "";
}

Result<Plan> plan_query(const Collection& coll, const PlanRequest& req) {
  Plan plan;
  bool natural = false, natural_reverse = false;
  MS_ASSIGN_OR_RETURN(const Index* hinted, resolve_hint(coll, req.hint, &natural, &natural_reverse));
  bool has_min_max = (req.min && !bson_empty(req.min)) || (req.max && !bson_empty(req.max));
  const mql::SortPattern* sort = req.sort && !req.sort->empty() ? req.sort : nullptr;

  // $natural sort or hint: a collection scan in that direction.
  if (sort && sort->parts().size() == 1 && sort->parts()[0].path.dotted() == "$natural") {
    plan.kind = Plan::Kind::kCollScan;
    plan.reverse = !sort->parts()[0].ascending;
    plan.provides_sort = true;
    return plan;
  }
  if (natural || req.tailable) {
    if (has_min_max) return Status(51175, "min/max cannot be used with a $natural hint or sort");
    plan.kind = Plan::Kind::kCollScan;
    plan.reverse = natural_reverse;
    return plan;
  }
  if (has_min_max && !hinted) {
    return Status(51173, "When using min()/max() a hint of which index to use must be provided");
  }

  std::map<std::string, FieldPreds> preds;
  collect_preds(req.filter, preds);
  for (const auto& [path, fp] : preds) {
    if (fp.has_points && fp.points.empty()) {
      plan.kind = Plan::Kind::kEof;  // $in: [] matches nothing
      return plan;
    }
  }

  auto index_plan = [&](const Index& ix, std::vector<KeyInterval> intervals, int bounded) {
    Plan p;
    p.kind = Plan::Kind::kIndexScan;
    p.index_name = ix.desc().name;
    p.key_pattern = ix.desc().key;
    p.intervals = std::move(intervals);
    p.dedupe = ix.multikey() || p.intervals.size() > 1;
    bool rev = false;
    if (sort && index_provides_sort(ix, *sort, req.collator, &rev, bounded)) {
      // Point intervals on the leading fields keep the order only when there is one.
      if (p.intervals.size() == 1 || bounded == 0) {
        p.provides_sort = true;
        p.reverse = rev;
      }
    }
    p.is_id_lookup = ix.desc().is_id() && bounded > 0 && preds.count("_id") && preds.at("_id").has_points;
    return p;
  };

  if (hinted) {
    if (!hinted->desc().has_entries()) {
      // A special index (text, 2dsphere...) cannot drive a scan here; scan the collection.
      plan.kind = Plan::Kind::kCollScan;
      return plan;
    }
    if (has_min_max) {
      MS_ASSIGN_OR_RETURN(KeyInterval iv, min_max_interval(*hinted, req.min, req.max));
      Plan p = index_plan(*hinted, {iv}, 0);
      p.dedupe = hinted->multikey();
      return p;
    }
    int bounded = 0;
    auto ivs = build_intervals(*hinted, preds, req.collator, &bounded);
    return index_plan(*hinted, std::move(ivs), bounded);
  }

  // Without a hint: the index with the most bounded leading fields (the _id index wins ties,
  // then equality over ranges); an unbounded index only when it provides the sort.
  const Index* best = nullptr;
  int best_score = 0;
  std::vector<KeyInterval> best_ivs;
  int best_bounded = 0;
  for (const auto& ixp : coll.indexes()) {
    const Index& ix = *ixp;
    if (!ix.desc().has_entries() || ix.desc().hidden || !ix.desc().partial_filter.empty()) continue;
    int bounded = 0;
    auto ivs = build_intervals(ix, preds, req.collator, &bounded);
    if (bounded == 0) continue;
    int score = bounded * 4;
    const auto& first = preds.at(ix.desc().parts[0].path.dotted());
    if (first.has_points) score += 2;
    if (ix.desc().is_id() || ix.desc().unique) score += 1;
    if (score > best_score) {
      best = &ix;
      best_score = score;
      best_ivs = std::move(ivs);
      best_bounded = bounded;
    }
  }
  if (best) return index_plan(*best, std::move(best_ivs), best_bounded);
  if (sort) {
    for (const auto& ixp : coll.indexes()) {
      const Index& ix = *ixp;
      if (!ix.desc().has_entries() || ix.desc().hidden || ix.desc().sparse || !ix.desc().partial_filter.empty()) continue;
      bool rev = false;
      if (index_provides_sort(ix, *sort, req.collator, &rev, 0)) return index_plan(ix, {full_interval()}, 0);
    }
  }
  // Clustered collections are stored in _id order: a bare _id sort is a collection scan.
  plan.kind = Plan::Kind::kCollScan;
  return plan;
}

bool Scanner::accept(const DocRef& doc, mql::MatchDetails* details) {
  ++examined_;
  if (!matcher_) return true;
  bson_t view = doc.view();
  return matcher_->matches(&view, details);
}

bool Scanner::next(const Collection& coll, DocRef* out, int64_t* rid, mql::MatchDetails* details) {
  if (done_) return false;
  switch (plan_.kind) {
    case Plan::Kind::kEof: done_ = true; return false;
    case Plan::Kind::kCollScan: return next_coll_scan(coll, out, rid, details);
    case Plan::Kind::kIndexScan: return next_index_scan(coll, out, rid, details);
  }
  return false;
}

bool Scanner::next_coll_scan(const Collection& coll, DocRef* out, int64_t* rid, mql::MatchDetails* details) {
  if (coll.options().clustered && coll.id_index()) {
    // Natural order of a clustered collection is its _id order: scan the clustered index.
    const auto& entries = coll.id_index()->entries();
    while (true) {
      std::map<std::string, int64_t>::const_iterator it;
      if (!plan_.reverse) {
        it = started_ ? entries.upper_bound(last_key_) : entries.begin();
        if (it == entries.end()) break;
      } else {
        if (!started_) {
          if (entries.empty()) break;
          it = std::prev(entries.end());
        } else {
          auto lb = entries.lower_bound(last_key_);
          if (lb == entries.begin()) break;
          it = std::prev(lb);
        }
      }
      started_ = true;
      last_key_ = it->first;
      const DocRef* d = coll.find(it->second);
      if (d && accept(*d, details)) {
        *out = *d;
        *rid = it->second;
        return true;
      }
    }
    done_ = true;
    return false;
  }
  const auto& recs = coll.records();
  while (true) {
    RecordStore::const_iterator it;
    if (!plan_.reverse) {
      if (!started_) {
        it = recs.begin();
      } else if (pos_coll_ == &coll && pos_generation_ == coll.generation()) {
        it = std::next(pos_);
      } else {
        it = recs.upper_bound(last_rid_);
      }
      if (it == recs.end()) break;
      pos_ = it;
      pos_coll_ = &coll;
      pos_generation_ = coll.generation();
    } else {
      if (!started_) {
        if (recs.empty()) break;
        it = std::prev(recs.end());
      } else {
        auto lb = recs.lower_bound(last_rid_);
        if (lb == recs.begin()) break;
        it = std::prev(lb);
      }
    }
    started_ = true;
    last_rid_ = it->first;
    if (accept(it->second, details)) {
      *out = it->second;
      *rid = it->first;
      return true;
    }
  }
  done_ = true;
  return false;
}

namespace {

// The smallest byte string greater than every string starting with `p` ("" when none is).
std::string prefix_successor(std::string p) {
  while (!p.empty() && static_cast<uint8_t>(p.back()) == 0xff) p.pop_back();
  if (!p.empty()) p.back() = static_cast<char>(static_cast<uint8_t>(p.back()) + 1);
  return p;
}

}  // namespace

bool Scanner::next_index_scan(const Collection& coll, DocRef* out, int64_t* rid, mql::MatchDetails* details) {
  const Index* ix = coll.find_index(plan_.index_name);
  if (!ix) {
    done_ = true;
    return false;
  }
  const auto& entries = ix->entries();
  const auto& ivs = plan_.intervals;
  while (interval_ < ivs.size()) {
    const KeyInterval& iv = ivs[plan_.reverse ? ivs.size() - 1 - interval_ : interval_];
    std::map<std::string, int64_t>::const_iterator it;
    bool inside = false;
    const bool hinted = started_ && ipos_index_ == ix && pos_coll_ == &coll && pos_generation_ == coll.generation();
    if (!plan_.reverse) {
      if (hinted) {
        it = std::next(ipos_);
      } else if (started_) {
        it = entries.upper_bound(last_key_);
      } else if (iv.lo_inclusive) {
        it = entries.lower_bound(iv.lo);
      } else {
        std::string succ = prefix_successor(iv.lo);
        it = succ.empty() ? entries.end() : entries.lower_bound(succ);
      }
      if (it != entries.end()) {
        int c = keystring::compare_prefix(it->first, iv.hi);
        inside = c < 0 || (c == 0 && iv.hi_inclusive);
      }
    } else {
      if (hinted) {
        it = ipos_;
      } else if (started_) {
        it = entries.lower_bound(last_key_);
      } else if (iv.hi_inclusive) {
        std::string succ = prefix_successor(iv.hi);
        it = succ.empty() ? entries.end() : entries.lower_bound(succ);
      } else {
        it = entries.lower_bound(iv.hi);
      }
      if (it != entries.begin()) {
        --it;
        int c = keystring::compare_prefix(it->first, iv.lo);
        inside = c > 0 || (c == 0 && iv.lo_inclusive);
      }
    }
    if (!inside) {
      ++interval_;
      started_ = false;
      continue;
    }
    started_ = true;
    last_key_ = it->first;
    ++keys_examined_;
    ipos_ = it;
    ipos_index_ = ix;
    pos_coll_ = &coll;
    pos_generation_ = coll.generation();
    int64_t r = it->second;
    if (plan_.dedupe && !seen_.insert(r).second) continue;
    const DocRef* d = coll.find(r);  // O(1): RecordStore
    if (d && accept(*d, details)) {
      *out = *d;
      *rid = r;
      return true;
    }
  }
  done_ = true;
  return false;
}

bool Scanner::position_lost(const Collection& coll) const {
  if (!started_ || plan_.kind != Plan::Kind::kCollScan) return false;
  return coll.find(last_rid_) == nullptr && last_rid_ < coll.first_rid();
}

}  // namespace sim::engine
