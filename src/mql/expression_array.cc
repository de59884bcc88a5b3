// Array and set expression operators ($arrayElemAt, $filter's siblings, $zip, $setUnion, ...),
// with the server's null handling and error codes.
#include <algorithm>
#include <limits>

#include "mql/expression_internal.h"
#include "mql/compare.h"
#include "mql/sort.h"

namespace mql::expr {
namespace {

bool is_array(const Value& v) { return v.type() == BSON_TYPE_ARRAY; }

Result<Value> elem_at(const Value& array, const Value& index, const Call& c, size_t arity) {
  if (array.nullish() || index.nullish()) return Value::null();
  if (!is_array(array)) {
    return err(28689, std::string(c.op) + "'s " + (arity == 1 ? "argument" : "first argument") +
                          " must be an array, but is " + std::string(type_name(array)));
  }
  if (!index.is_number()) {
    return err(28690, std::string(c.op) + "'s second argument must be a numeric value, but is " +
                          std::string(type_name(index)));
  }
  auto i = as_integral(index, true);
  if (!i) {
    return err(28691, std::string(c.op) + "'s second argument must be representable as a 32-bit integer: " +
                          format_g(num_to_double(index.raw())));
  }
  auto elems = array_elems(array);
  int64_t n = static_cast<int64_t>(elems.size());
  int64_t idx = *i;
  if (idx < 0) idx += n;
  if (idx < 0 || idx >= n) return Value();
  return elems[static_cast<size_t>(idx)];
}

Result<Value> array_elem_at_fn(std::vector<Value>& a, const Call& c) { return elem_at(a[0], a[1], c, 2); }
Result<Value> first_fn(std::vector<Value>& a, const Call& c) { return elem_at(a[0], Value::int32(0), c, 1); }
Result<Value> last_fn(std::vector<Value>& a, const Call& c) { return elem_at(a[0], Value::int32(-1), c, 1); }

Result<Value> object_to_array_fn(std::vector<Value>& a, const Call&) {
  const Value& v = a[0];
  if (v.nullish()) return Value::null();
  if (v.type() != BSON_TYPE_DOCUMENT) {
    return err(40390, "$objectToArray requires a document input, found: " + std::string(type_name(v)));
  }
  std::vector<Value> out;
  for (auto& [k, fv] : doc_fields(v)) out.push_back(make_doc({{"k", Value::string(k)}, {"v", std::move(fv)}}));
  return make_array(out);
}

Result<Value> array_to_object_fn(std::vector<Value>& a, const Call&) {
  const Value& input = a[0];
  if (input.nullish()) return Value::null();
  if (!is_array(input)) {
    return err(40386, "$arrayToObject requires an array input, found: " + std::string(type_name(input)));
  }
  auto elems = array_elems(input);
  std::vector<std::pair<std::string, Value>> out;
  if (elems.empty()) return make_doc(out);
  bool pairs;
  if (is_array(elems[0])) {
    pairs = true;
  } else if (elems[0].type() == BSON_TYPE_DOCUMENT) {
    pairs = false;
  } else {
    return err(40398, "Unrecognised input type format for $arrayToObject: " + std::string(type_name(elems[0])));
  }
  auto put = [&](std::string k, Value v) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& f) { return f.first == k; });
    if (it != out.end()) {
      it->second = std::move(v);
    } else {
      out.emplace_back(std::move(k), std::move(v));
    }
  };
  for (const Value& e : elems) {
    if (pairs) {
      if (!is_array(e)) {
        return err(40396,
                   "$arrayToObject requires a consistent input format. Elements mustall be arrays or all be objects. "
                   "Array was detected, now found: " +
                       std::string(type_name(e)));
      }
      auto kv = array_elems(e);
      if (kv.size() != 2) {
        return err(40397, "$arrayToObject requires an array of size 2 arrays,found array of size: " +
                              std::to_string(kv.size()));
      }
      if (kv[0].type() != BSON_TYPE_UTF8) {
        return err(40395,
                   "$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found "
                   "key type: " +
                       std::string(type_name(kv[0])));
      }
      std::string k(kv[0].as_string());
      if (k.find('\0') != std::string::npos) return err(4940400, "Key field cannot contain an embedded null byte");
      put(std::move(k), std::move(kv[1]));
    } else {
      if (e.type() != BSON_TYPE_DOCUMENT) {
        return err(40391,
                   "$arrayToObject requires a consistent input format. Elements mustall be arrays or all be objects. "
                   "Object was detected, now found: " +
                       std::string(type_name(e)));
      }
      auto fields = doc_fields(e);
      if (fields.size() != 2) {
        return err(40392, "$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect number of keys:" +
                              std::to_string(fields.size()));
      }
      Value k, v;
      for (auto& [fk, fv] : fields) {
        if (fk == "k") k = fv;
        if (fk == "v") v = fv;
      }
      if (k.missing() || v.missing()) {
        return err(40393,
                   "$arrayToObject requires an object with keys 'k' and 'v'. Missing either or both keys from: " +
                       value_string(e));
      }
      if (k.type() != BSON_TYPE_UTF8) {
        return err(40394,
                   "$arrayToObject requires an object with keys 'k' and 'v', where the value of 'k' must be of type "
                   "string. Found type: " +
                       std::string(type_name(k)));
      }
      std::string ks(k.as_string());
      if (ks.find('\0') != std::string::npos) return err(4940401, "Key field cannot contain an embedded null byte");
      put(std::move(ks), std::move(v));
    }
  }
  return make_doc(out);
}

Result<Value> concat_arrays_fn(std::vector<Value>& a, const Call&) {
  std::vector<Value> out;
  for (const Value& v : a) {
    if (v.nullish()) return Value::null();
    if (!is_array(v)) return err(28664, "$concatArrays only supports arrays, not " + std::string(type_name(v)));
    for (Value& e : array_elems(v)) out.push_back(std::move(e));
  }
  return make_array(out);
}

Result<Value> in_fn(std::vector<Value>& a, const Call& c) {
  if (!is_array(a[1])) {
    return err(40081, "$in requires an array as a second argument, found: " + std::string(type_name(a[1])));
  }
  for (const Value& e : array_elems(a[1])) {
    if (cmp(a[0], e, c) == 0) return Value::boolean(true);
  }
  return Value::boolean(false);
}

Result<Value> index_of_array_fn(std::vector<Value>& a, const Call& c) {
  if (a[0].nullish()) return Value::null();
  if (!is_array(a[0])) {
    return err(40090, "$indexOfArray requires an array as a first argument, found: " + std::string(type_name(a[0])));
  }
  auto elems = array_elems(a[0]);
  int64_t start = 0, end = static_cast<int64_t>(elems.size());
  if (a.size() > 2) {
    MS_RETURN_IF_ERROR(check_index_arg(a[2], c.op, "starting index", &start));
  }
  if (a.size() > 3) {
    int64_t e;
    MS_RETURN_IF_ERROR(check_index_arg(a[3], c.op, "ending index", &e));
    end = std::min(end, e);
  }
  for (int64_t i = start; i < end; ++i) {
    if (cmp(elems[static_cast<size_t>(i)], a[1], c) == 0) return Value::int32(static_cast<int32_t>(i));
  }
  return Value::int32(-1);
}

Result<Value> is_array_fn(std::vector<Value>& a, const Call&) { return Value::boolean(is_array(a[0])); }

Result<Value> range_fn(std::vector<Value>& a, const Call&) {
  const Value& s = a[0];
  const Value& e = a[1];
  if (!s.is_number()) {
    return err(34443, "$range requires a numeric starting value, found value of type: " + std::string(type_name(s)));
  }
  auto si = as_integral(s, true);
  if (!si) {
    return err(34444, "$range requires a starting value that can be represented as a 32-bit integer, found value: " +
                          value_string(s));
  }
  if (!e.is_number()) {
    return err(34445, "$range requires a numeric ending value, found value of type: " + std::string(type_name(e)));
  }
  auto ei = as_integral(e, true);
  if (!ei) {
    return err(34446, "$range requires an ending value that can be represented as a 32-bit integer, found value: " +
                          value_string(e));
  }
  int64_t cur = *si, end = *ei, step = 1;
  if (a.size() == 3) {
    const Value& st = a[2];
    if (!st.is_number()) {
      return err(34447, "$range requires a numeric step value, found value of type:" + std::string(type_name(st)));
    }
    auto sti = as_integral(st, true);
    if (!sti) {
      return err(34448, "$range requires a step value that can be represented as a 32-bit integer, found value: " +
                            value_string(st));
    }
    step = *sti;
    if (step == 0) return err(34449, "$range requires a non-zero step value");
  }
  int64_t steps = (end - cur) / step;
  int64_t length = steps >= 0 ? 1 + steps : 0;
  // The server's internalQueryMaxRangeBytes (100 MiB) over its approximate Value size.
  constexpr int64_t kMemLimit = 100 * 1024 * 1024;
  int64_t mem = 24 + length * 16;
  if (mem >= kMemLimit) {
    return err(146, "$range would use too much memory (" + std::to_string(mem) +
                        " bytes) and cannot spill to disk. Memory limit: " + std::to_string(kMemLimit) + " bytes");
  }
  std::vector<Value> out;
  while (step > 0 ? cur < end : cur > end) {
    out.push_back(Value::int32(static_cast<int32_t>(cur)));
    cur += step;
  }
  return make_array(out);
}

Result<Value> reverse_array_fn(std::vector<Value>& a, const Call&) {
  if (a[0].nullish()) return Value::null();
  if (!is_array(a[0])) {
    return err(34435, "The argument to $reverseArray must be an array, but was of type: " + std::string(type_name(a[0])));
  }
  auto elems = array_elems(a[0]);
  std::reverse(elems.begin(), elems.end());
  return make_array(elems);
}

Result<Value> size_fn(std::vector<Value>& a, const Call&) {
  if (!is_array(a[0])) {
    return err(17124, "The argument to $size must be an array, but was of type: " + std::string(type_name(a[0])));
  }
  bson_t v = a[0].view();
  return Value(make_int_or_long(static_cast<int64_t>(bson_count_keys(&v))));
}

Result<Value> slice_fn(std::vector<Value>& a, const Call&) {
  const Value& arr = a[0];
  const Value& arg2 = a[1];
  if (arr.nullish() || arg2.nullish()) return Value::null();
  if (!is_array(arr)) {
    return err(28724, "First argument to $slice must be an array, but is of type: " + std::string(type_name(arr)));
  }
  if (!arg2.is_number()) {
    return err(28725, "Second argument to $slice must be a numeric value, but is of type: " + std::string(type_name(arg2)));
  }
  auto a2 = as_integral(arg2, true);
  if (!a2) return err(28726, "Second argument to $slice can't be represented as a 32-bit integer: " + format_g(num_to_double(arg2.raw())));
  auto elems = array_elems(arr);
  int64_t n = static_cast<int64_t>(elems.size());
  int64_t start, end;
  if (a.size() == 2) {
    int64_t count = *a2;
    start = 0;
    end = n;
    if (count >= 0) {
      end = std::min(end, count);
    } else {
      start = std::max<int64_t>(0, n + count);
    }
  } else {
    int64_t s = *a2;
    start = s < 0 ? std::max<int64_t>(0, n + s) : std::min(n, s);
    const Value& cv = a[2];
    if (cv.nullish()) return Value::null();
    if (!cv.is_number()) {
      return err(28727, "Third argument to $slice must be numeric, but is of type: " + std::string(type_name(cv)));
    }
    auto ci = as_integral(cv, true);
    if (!ci) return err(28728, "Third argument to $slice can't be represented as a 32-bit integer: " + format_g(num_to_double(cv.raw())));
    if (*ci <= 0) return err(28729, "Third argument to $slice must be positive: " + std::to_string(*ci));
    end = std::min(start + *ci, n);
  }
  std::vector<Value> out(elems.begin() + start, elems.begin() + end);
  return make_array(out);
}

// ---- $sortArray ---------------------------------------------------------------------------

struct SortSpec {
  bool whole = false;  // sortBy: 1 / -1
  bool ascending = true;
  SortPattern pattern;
};

Result<Value> sort_array_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.nullish()) return Value::null();
  if (!is_array(input)) {
    return err(2942504, "The input argument to $sortArray must be an array, but was of type: " +
                            std::string(type_name(input)));
  }
  auto elems = array_elems(input);
  const auto& spec = *static_cast<const SortSpec*>(n.extra.get());
  const Collator* coll = c.ctx().coll();
  if (spec.whole) {
    std::stable_sort(elems.begin(), elems.end(), [&](const Value& x, const Value& y) {
      int r = compare_values(&x.raw(), &y.raw(), coll);
      return spec.ascending ? r < 0 : r > 0;
    });
    return make_array(elems);
  }
  // Non-documents are compared as {sortBy: value} (the server wraps them under the field name).
  std::vector<std::pair<SortKey, size_t>> keys;
  for (size_t i = 0; i < elems.size(); ++i) {
    Value doc = elems[i].type() == BSON_TYPE_DOCUMENT ? elems[i] : make_doc({{"sortBy", elems[i]}});
    bson_t d = doc.view();
    keys.emplace_back(spec.pattern.key(&d, coll), i);
  }
  std::stable_sort(keys.begin(), keys.end(), [&](const auto& x, const auto& y) {
    return spec.pattern.compare_keys(x.first, y.first, coll) < 0;
  });
  std::vector<Value> out;
  for (const auto& k : keys) out.push_back(elems[k.second]);
  return make_array(out);
}

Result<ExprPtr> parse_sort_array(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(2942500, "$sortArray requires an object as an argument, found: " + std::string(type_name(bson_iter_type(arg))));
  }
  bson_t doc;
  sub_doc(arg, &doc);
  ExprPtr input;
  std::shared_ptr<SortSpec> spec;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "input") {
      MS_ASSIGN_OR_RETURN(input, parse_operand(&it, sc));
    } else if (k == "sortBy") {
      spec = std::make_shared<SortSpec>();
      Value sv = Value::from_iter(&it);
      if (sv.type() == BSON_TYPE_DOCUMENT) {
        bson_t pd = sv.view();
        auto p = SortPattern::parse(&pd, SortPattern::Syntax::kPipeline);
        if (!p.ok()) return err(2942505, p.status().code_name() + ": " + p.status().message());
        spec->pattern = std::move(p).value();
      } else if (sv.is_number()) {
        double d = num_to_double(sv.raw());
        if (d != 1 && d != -1) return err(2942506, "The $sort element value must be either 1 or -1");
        spec->whole = true;
        spec->ascending = d == 1;
      } else {
        return err(2942507,
                   "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields");
      }
    } else {
      return err(2942501, "$sortArray found an unknown argument: " + k);
    }
  }
  if (!input) return err(2942502, "$sortArray requires 'input' to be specified");
  if (!spec) return err(2942503, "$sortArray requires 'sortBy' to be specified");
  std::vector<ExprPtr> kids;
  kids.push_back(std::move(input));
  MS_ASSIGN_OR_RETURN(auto e, make_lazy(op, std::move(kids), sort_array_fn));
  static_cast<OpNode*>(e.get())->extra = spec;
  return e;
}

// ---- $firstN / $lastN / $maxN / $minN (expression form) -----------------------------------

template <int kKind>  // 0 firstN, 1 lastN, 2 maxN, 3 minN
Result<Value> n_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value nv, c.eval(*n.kids[0]));
  if (!nv.is_number()) return err(5787902, "Value for 'n' must be of integral type, but found " + value_string(nv));
  auto ni = as_integral(nv);
  if (!ni) return err(5787903, "Value for 'n' must be of integral type, but found " + value_string(nv));
  if (*ni <= 0) return err(5787908, "'n' must be greater than 0, found " + std::to_string(*ni));
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[1]));
  if (input.nullish()) return Value::null();
  if (!is_array(input)) return err(5788200, "Input must be an array");
  auto elems = array_elems(input);
  size_t count = static_cast<size_t>(std::min<int64_t>(*ni, static_cast<int64_t>(elems.size())));
  std::vector<Value> out;
  if (kKind == 0) {
    out.assign(elems.begin(), elems.begin() + static_cast<ptrdiff_t>(count));
  } else if (kKind == 1) {
    out.assign(elems.end() - static_cast<ptrdiff_t>(count), elems.end());
  } else {
    std::vector<Value> vals;
    for (Value& e : elems) {
      if (!e.nullish()) vals.push_back(std::move(e));
    }
    std::stable_sort(vals.begin(), vals.end(), [&](const Value& x, const Value& y) {
      int r = cmp(x, y, c);
      return kKind == 2 ? r > 0 : r < 0;
    });
    if (vals.size() > static_cast<size_t>(*ni)) vals.resize(static_cast<size_t>(*ni));
    out = std::move(vals);
  }
  return make_array(out);
}

template <LazyFn F>
Result<ExprPtr> parse_n(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(5787900, "specification must be an object; found " + value_string(Value::from_iter(arg)));
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"n", "input"}, 5787900, "", 5787901,
                                                       "Unknown argument for 'n' operator: "}));
  if (!kids[0]) return err(5787906, "Missing value for 'n'");
  if (!kids[1]) return err(5787907, "Missing value for 'input'");
  return make_lazy(op, std::move(kids), F);
}

// ---- $zip ---------------------------------------------------------------------------------

Result<Value> zip_fn(const OpNode& n, const Call& c) {
  size_t inputs = static_cast<size_t>(n.param.raw().value.v_int32);
  bool longest = !n.names.empty();
  std::vector<std::vector<Value>> vals;
  size_t min_size = 0, max_size = 0;
  for (size_t i = 0; i < inputs; ++i) {
    MS_ASSIGN_OR_RETURN(Value v, c.eval(*n.kids[i]));
    if (v.nullish()) return Value::null();
    if (!is_array(v)) return err(34468, "$zip found a non-array expression in input: " + value_string(v));
    vals.push_back(array_elems(v));
    size_t sz = vals.back().size();
    if (i == 0) {
      min_size = max_size = sz;
    } else {
      min_size = std::min(min_size, sz);
      max_size = std::max(max_size, sz);
    }
  }
  std::vector<Value> defaults(inputs, Value::null());
  if (min_size != max_size) {
    for (size_t i = inputs; i < n.kids.size(); ++i) {
      MS_ASSIGN_OR_RETURN(defaults[i - inputs], c.eval(*n.kids[i]));
    }
  }
  size_t len = longest ? max_size : min_size;
  std::vector<Value> out;
  for (size_t row = 0; row < len; ++row) {
    std::vector<Value> r;
    for (size_t col = 0; col < inputs; ++col) r.push_back(row < vals[col].size() ? vals[col][row] : defaults[col]);
    out.push_back(make_array(r));
  }
  return make_array(out);
}

Result<ExprPtr> parse_zip(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(34460, "$zip only supports an object as an argument, found " + std::string(type_name(bson_iter_type(arg))));
  }
  bson_t doc;
  sub_doc(arg, &doc);
  bool longest = false;
  std::vector<ExprPtr> inputs, defaults;
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string k = key_of(&it);
    if (k == "inputs" || k == "defaults") {
      if (bson_iter_type(&it) != BSON_TYPE_ARRAY) {
        return err(k == "inputs" ? 34461 : 34462,
                   k + " must be an array of expressions, found " + std::string(type_name(bson_iter_type(&it))));
      }
      bson_t arr;
      sub_doc(&it, &arr);
      bson_iter_t ai;
      bson_iter_init(&ai, &arr);
      while (bson_iter_next(&ai)) {
        MS_ASSIGN_OR_RETURN(auto e, parse_operand(&ai, sc));
        (k == "inputs" ? inputs : defaults).push_back(std::move(e));
      }
    } else if (k == "useLongestLength") {
      if (bson_iter_type(&it) != BSON_TYPE_BOOL) {
        // The server names the type of the whole argument here.
        return err(34463, "useLongestLength must be a bool, found " + std::string(type_name(bson_iter_type(arg))));
      }
      longest = bson_iter_bool(&it);
    } else {
      return err(34464, "$zip found an unknown argument: " + k);
    }
  }
  if (inputs.empty()) return err(34465, "$zip requires at least one input array");
  if (!longest && !defaults.empty()) return err(34466, "cannot specify defaults unless useLongestLength is true");
  if (!defaults.empty() && defaults.size() != inputs.size()) {
    return err(34467, "defaults and inputs must have the same length");
  }
  int32_t ninputs = static_cast<int32_t>(inputs.size());
  for (auto& d : defaults) inputs.push_back(std::move(d));
  MS_ASSIGN_OR_RETURN(auto e, make_lazy(op, std::move(inputs), zip_fn));
  auto* node = static_cast<OpNode*>(e.get());
  node->param = Value::int32(ninputs);
  if (longest) node->names.push_back("longest");
  return e;
}

// ---- sets ---------------------------------------------------------------------------------

// Deduplicated, sorted by the comparator (the server's ordered ValueSet).
std::vector<Value> to_set(std::vector<Value> v, const Call& c) {
  std::stable_sort(v.begin(), v.end(), [&](const Value& x, const Value& y) { return cmp(x, y, c) < 0; });
  v.erase(std::unique(v.begin(), v.end(), [&](const Value& x, const Value& y) { return cmp(x, y, c) == 0; }), v.end());
  return v;
}

bool set_contains(const std::vector<Value>& set, const Value& v, const Call& c) {
  auto it = std::lower_bound(set.begin(), set.end(), v, [&](const Value& x, const Value& y) { return cmp(x, y, c) < 0; });
  return it != set.end() && cmp(*it, v, c) == 0;
}

template <bool kAll>
Result<Value> elements_true_fn(std::vector<Value>& a, const Call& c) {
  if (!is_array(a[0])) {
    return err(kAll ? 17040 : 17041,
               std::string(c.op) + "'s argument must be an array, but is " + std::string(type_name(a[0])));
  }
  for (const Value& e : array_elems(a[0])) {
    if (kAll && !e.truthy()) return Value::boolean(false);
    if (!kAll && e.truthy()) return Value::boolean(true);
  }
  return Value::boolean(kAll);
}

Result<Value> set_difference_fn(std::vector<Value>& a, const Call& c) {
  if (a[0].nullish() || a[1].nullish()) return Value::null();
  if (!is_array(a[0])) {
    return err(17048, "both operands of $setDifference must be arrays. First argument is of type: " +
                          std::string(type_name(a[0])));
  }
  if (!is_array(a[1])) {
    return err(17049, "both operands of $setDifference must be arrays. Second argument is of type: " +
                          std::string(type_name(a[1])));
  }
  std::vector<Value> seen = to_set(array_elems(a[1]), c);
  std::vector<Value> out;
  for (Value& e : array_elems(a[0])) {
    if (set_contains(seen, e, c)) continue;
    auto pos = std::lower_bound(seen.begin(), seen.end(), e,
                                [&](const Value& x, const Value& y) { return cmp(x, y, c) < 0; });
    seen.insert(pos, e);
    out.push_back(std::move(e));
  }
  return make_array(out);
}

Result<Value> set_equals_fn(std::vector<Value>& a, const Call& c) {
  std::vector<Value> first;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!is_array(a[i])) {
      return err(17044, "All operands of $setEquals must be arrays. " + std::to_string(i + 1) +
                            "-th argument is of type: " + std::string(type_name(a[i])));
    }
  }
  first = to_set(array_elems(a[0]), c);
  for (size_t i = 1; i < a.size(); ++i) {
    auto s = to_set(array_elems(a[i]), c);
    if (s.size() != first.size()) return Value::boolean(false);
    for (size_t j = 0; j < s.size(); ++j) {
      if (cmp(s[j], first[j], c) != 0) return Value::boolean(false);
    }
  }
  return Value::boolean(true);
}

Result<ExprPtr> parse_set_equals(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, 0, -1));
  if (kids.size() < 2) {
    return err(17045, "$setEquals needs at least two arguments had: " + std::to_string(kids.size()));
  }
  auto n = std::make_unique<OpNode>();
  n->name = std::string(op);
  n->kids = std::move(kids);
  n->args_fn = set_equals_fn;
  return ExprPtr(std::move(n));
}

Result<Value> set_intersection_fn(std::vector<Value>& a, const Call& c) {
  std::vector<Value> cur;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].nullish()) return Value::null();
    if (!is_array(a[i])) {
      return err(17047, "All operands of $setIntersection must be arrays. One argument is of type: " +
                            std::string(type_name(a[i])));
    }
    auto s = to_set(array_elems(a[i]), c);
    if (i == 0) {
      cur = std::move(s);
    } else {
      std::vector<Value> keep;
      for (Value& e : cur) {
        if (set_contains(s, e, c)) keep.push_back(std::move(e));
      }
      cur = std::move(keep);
    }
  }
  return make_array(cur);
}

Result<Value> set_is_subset_fn(std::vector<Value>& a, const Call& c) {
  if (!is_array(a[0])) {
    return err(17046, "both operands of $setIsSubset must be arrays. First argument is of type: " +
                          std::string(type_name(a[0])));
  }
  if (!is_array(a[1])) {
    return err(17042, "both operands of $setIsSubset must be arrays. Second argument is of type: " +
                          std::string(type_name(a[1])));
  }
  auto rhs = to_set(array_elems(a[1]), c);
  for (const Value& e : array_elems(a[0])) {
    if (!set_contains(rhs, e, c)) return Value::boolean(false);
  }
  return Value::boolean(true);
}

Result<Value> set_union_fn(std::vector<Value>& a, const Call& c) {
  std::vector<Value> all;
  for (const Value& v : a) {
    if (v.nullish()) return Value::null();
    if (!is_array(v)) {
      return err(17043, "All operands of $setUnion must be arrays. One argument is of type: " + std::string(type_name(v)));
    }
    for (Value& e : array_elems(v)) all.push_back(std::move(e));
  }
  return make_array(to_set(std::move(all), c));
}

}  // namespace

std::vector<OpDef> array_ops() {
  return {
      {"$arrayElemAt", 0, nary<2, 2, array_elem_at_fn>},
      {"$first", 44, nary<1, 1, first_fn>},
      {"$last", 44, nary<1, 1, last_fn>},
      {"$objectToArray", 0, nary<1, 1, object_to_array_fn>},
      {"$arrayToObject", 0, nary<1, 1, array_to_object_fn>},
      {"$concatArrays", 0, nary<0, -1, concat_arrays_fn>},
      {"$in", 0, nary<2, 2, in_fn>},
      {"$indexOfArray", 0, nary<2, 4, index_of_array_fn>},
      {"$isArray", 0, nary<1, 1, is_array_fn>},
      {"$range", 0, nary<2, 3, range_fn>},
      {"$reverseArray", 0, nary<1, 1, reverse_array_fn>},
      {"$size", 0, nary<1, 1, size_fn>},
      {"$slice", 0, nary<2, 3, slice_fn>},
      {"$sortArray", 52, parse_sort_array},
      {"$firstN", 52, parse_n<n_fn<0>>},
      {"$lastN", 52, parse_n<n_fn<1>>},
      {"$maxN", 52, parse_n<n_fn<2>>},
      {"$minN", 52, parse_n<n_fn<3>>},
      {"$zip", 0, parse_zip},
      {"$allElementsTrue", 0, nary<1, 1, elements_true_fn<true>>},
      {"$anyElementTrue", 0, nary<1, 1, elements_true_fn<false>>},
      {"$setDifference", 0, nary<2, 2, set_difference_fn>},
      {"$setEquals", 0, parse_set_equals},
      {"$setIntersection", 0, nary<0, -1, set_intersection_fn>},
      {"$setIsSubset", 0, nary<2, 2, set_is_subset_fn>},
      {"$setUnion", 0, nary<0, -1, set_union_fn>},
  };
}

}  // namespace mql::expr
