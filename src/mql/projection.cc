// Find projections: parsing with the server's rules and codes (projection_parser) and applying
// inclusion/exclusion trees, $slice, $elemMatch, positional "a.$" and computed fields.
#include "mql/projection.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mql/expression.h"
#include "mql/value.h"

namespace mql {

using common::Result;
using common::Status;

namespace {

struct PNode {
  enum class Kind { kPath, kInclude, kExclude, kExpr, kSlice, kElemMatch };
  Kind kind = Kind::kPath;
  std::vector<std::pair<std::string, std::unique_ptr<PNode>>> children;  // kPath, in spec order
  std::unique_ptr<Expression> expr;                                     // kExpr
  std::optional<int64_t> slice_skip;                                    // kSlice
  int64_t slice_limit = 0;
  std::unique_ptr<Matcher> elem_match;  // kElemMatch: {field: {$elemMatch: ...}}
  bool has_computed = false;            // kPath: some descendant is computed

  PNode* find(std::string_view name) const {
    for (const auto& [n, c] : children) {
      if (n == name) return c.get();
    }
    return nullptr;
  }
};

// An output document under construction: fields in order.
using OutDoc = std::vector<std::pair<std::string, Value>>;

void out_set(OutDoc& out, const std::string& name, Value v) {
  for (auto it = out.begin(); it != out.end(); ++it) {
    if (it->first == name) {
      if (v.missing()) {
        out.erase(it);
      } else {
        it->second = std::move(v);
      }
      return;
    }
  }
  if (!v.missing()) out.emplace_back(name, std::move(v));
}

void out_to_bson(const OutDoc& out, bson_t* b) {
  for (const auto& [k, v] : out) v.append_to(b, k);
}

Value out_to_value(const OutDoc& out) {
  bson_t b = BSON_INITIALIZER;
  out_to_bson(out, &b);
  Value v = Value::document(&b);
  bson_destroy(&b);
  return v;
}

bool view_of_value(const bson_value_t* v, bson_t* out) {
  return bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len);
}

void append_array_key(bson_t* arr, uint32_t i, const bson_value_t* v) {
  char buf[16];
  const char* key = nullptr;
  size_t n = bson_uint32_to_string(i, &key, buf, sizeof buf);
  bson_append_value(arr, key, static_cast<int>(n), v);
}

Value slice_value(const bson_iter_t* it, const PNode& node) {
  if (bson_iter_type(it) != BSON_TYPE_ARRAY) return Value::from_iter(it);
  bson_iter_t child;
  std::vector<bson_value_t> elems;  // shallow: point into the document (bson_iter_t is over-aligned)
  if (bson_iter_recurse(it, &child)) {
    while (bson_iter_next(&child)) elems.push_back(*bson_iter_value(&child));
  }
  auto size = static_cast<int64_t>(elems.size());
  int64_t start, count;
  if (!node.slice_skip) {
    int64_t n = node.slice_limit;
    if (n >= 0) {
      start = 0;
      count = std::min(n, size);
    } else {
      start = std::max<int64_t>(0, size + n);
      count = size - start;
    }
  } else {
    int64_t skip = *node.slice_skip;
    start = skip < 0 ? std::max<int64_t>(0, size + skip) : std::min(skip, size);
    count = std::min(node.slice_limit, size - start);
  }
  bson_t arr = BSON_INITIALIZER;
  for (int64_t i = 0; i < count; ++i) {
    append_array_key(&arr, static_cast<uint32_t>(i), &elems[static_cast<size_t>(start + i)]);
  }
  Value v = Value::array(&arr);
  bson_destroy(&arr);
  return v;
}

struct Applier {
  const bson_t* root;
  Variables& vars;

  Result<Value> compute(const std::string& name, const PNode& node) {
    if (node.kind == PNode::Kind::kExpr) return node.expr->evaluate(root, vars);
    // $elemMatch: the first matching element of the top-level array, as a one-element array.
    MatchDetails details;
    if (!node.elem_match->matches(root, &details) || !details.elem_match_key) return Value();
    bson_iter_t it, child;
    if (!bson_iter_init_find_w_len(&it, root, name.data(), static_cast<int>(name.size())) ||
        !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &child) ||
        !bson_iter_find(&child, details.elem_match_key->c_str())) {
      return Value();
    }
    bson_t arr = BSON_INITIALIZER;
    append_array_key(&arr, 0, bson_iter_value(&child));
    Value v = Value::array(&arr);
    bson_destroy(&arr);
    return v;
  }

  // Inclusion: keeps the fields the tree names (document order), then adds computed fields
  // (spec order).
  Status include(const bson_t* doc, const PNode& node, OutDoc& out) {
    bson_iter_t it;
    if (bson_iter_init(&it, doc)) {
      while (bson_iter_next(&it)) {
        std::string_view name(bson_iter_key(&it), bson_iter_key_len(&it));
        const PNode* child = node.find(name);
        if (child == nullptr) continue;
        switch (child->kind) {
          case PNode::Kind::kInclude: out.emplace_back(std::string(name), Value::from_iter(&it)); break;
          case PNode::Kind::kSlice: out.emplace_back(std::string(name), slice_value(&it, *child)); break;
          case PNode::Kind::kPath: {
            bson_type_t t = bson_iter_type(&it);
            if (t == BSON_TYPE_DOCUMENT) {
              bson_t sub;
              OutDoc sub_out;
              if (view_of_value(bson_iter_value(&it), &sub)) MS_RETURN_IF_ERROR(include(&sub, *child, sub_out));
              out.emplace_back(std::string(name), out_to_value(sub_out));
            } else if (t == BSON_TYPE_ARRAY) {
              MS_ASSIGN_OR_RETURN(Value arr, include_array(bson_iter_value(&it), *child));
              out.emplace_back(std::string(name), std::move(arr));
            }
            break;
          }
          default: break;  // excluded _id, computed fields
        }
      }
    }
    for (const auto& [name, child] : node.children) {
      if (child->kind == PNode::Kind::kExpr || child->kind == PNode::Kind::kElemMatch) {
        MS_ASSIGN_OR_RETURN(Value v, compute(name, *child));
        out_set(out, name, std::move(v));
      } else if (child->kind == PNode::Kind::kPath && child->has_computed) {
        bool present = false;
        for (const auto& f : out) present = present || f.first == name;
        if (!present) {  // missing or a scalar in the input: the computed fields make a new document
          bson_t empty = BSON_INITIALIZER;
          OutDoc sub_out;
          Status st = include(&empty, *child, sub_out);
          bson_destroy(&empty);
          MS_RETURN_IF_ERROR(st);
          out_set(out, name, out_to_value(sub_out));
        }
      }
    }
    return Status::OK();
  }

  Result<Value> include_array(const bson_value_t* v, const PNode& node) {
    bson_t in, outarr = BSON_INITIALIZER;
    bson_iter_t it;
    uint32_t n = 0;
    Status st;
    if (view_of_value(v, &in) && bson_iter_init(&it, &in)) {
      while (st.ok() && bson_iter_next(&it)) {
        bson_type_t t = bson_iter_type(&it);
        if (t == BSON_TYPE_DOCUMENT || (t != BSON_TYPE_ARRAY && node.has_computed)) {
          bson_t sub = BSON_INITIALIZER;
          bool is_doc = t == BSON_TYPE_DOCUMENT;
          if (is_doc) view_of_value(bson_iter_value(&it), &sub);
          OutDoc sub_out;
          st = include(&sub, node, sub_out);
          if (!is_doc) bson_destroy(&sub);
          Value d = out_to_value(sub_out);
          append_array_key(&outarr, n++, &d.raw());
        } else if (t == BSON_TYPE_ARRAY) {
          auto r = include_array(bson_iter_value(&it), node);
          if (!r.ok()) {
            st = r.status();
            break;
          }
          append_array_key(&outarr, n++, &r.value().raw());
        }
        // Scalars are dropped by inclusion projections.
      }
    }
    Value out = Value::array(&outarr);
    bson_destroy(&outarr);
    if (!st.ok()) return st;
    return out;
  }

  // Exclusion: copies everything except what the tree excludes.
  Status exclude(const bson_t* doc, const PNode& node, bson_t* out, bool top) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc)) return Status::OK();
    while (bson_iter_next(&it)) {
      std::string_view name(bson_iter_key(&it), bson_iter_key_len(&it));
      const PNode* child = node.find(name);
      if (child == nullptr || child->kind == PNode::Kind::kInclude) {
        bson_append_iter(out, name.data(), static_cast<int>(name.size()), &it);
        continue;
      }
      switch (child->kind) {
        case PNode::Kind::kExclude: break;
        case PNode::Kind::kSlice: slice_value(&it, *child).append_to(out, name); break;
        case PNode::Kind::kExpr:
        case PNode::Kind::kElemMatch: {
          if (!top) break;
          MS_ASSIGN_OR_RETURN(Value v, compute(std::string(name), *child));
          v.append_to(out, name);
          break;
        }
        case PNode::Kind::kPath: {
          bson_type_t t = bson_iter_type(&it);
          if (t == BSON_TYPE_DOCUMENT) {
            bson_t sub, sub_out;
            view_of_value(bson_iter_value(&it), &sub);
            bson_append_document_begin(out, name.data(), static_cast<int>(name.size()), &sub_out);
            Status st = exclude(&sub, *child, &sub_out, false);
            bson_append_document_end(out, &sub_out);
            MS_RETURN_IF_ERROR(st);
          } else if (t == BSON_TYPE_ARRAY) {
            bson_t arr_out;
            bson_append_array_begin(out, name.data(), static_cast<int>(name.size()), &arr_out);
            Status st = exclude_array(bson_iter_value(&it), *child, &arr_out);
            bson_append_array_end(out, &arr_out);
            MS_RETURN_IF_ERROR(st);
          } else {
            bson_append_iter(out, name.data(), static_cast<int>(name.size()), &it);
          }
          break;
        }
        default: break;
      }
    }
    return Status::OK();
  }

  Status exclude_array(const bson_value_t* v, const PNode& node, bson_t* out) {
    bson_t in;
    bson_iter_t it;
    uint32_t n = 0;
    if (!view_of_value(v, &in) || !bson_iter_init(&it, &in)) return Status::OK();
    while (bson_iter_next(&it)) {
      char buf[16];
      const char* key = nullptr;
      size_t kl = bson_uint32_to_string(n++, &key, buf, sizeof buf);
      bson_type_t t = bson_iter_type(&it);
      if (t == BSON_TYPE_DOCUMENT) {
        bson_t sub, sub_out;
        view_of_value(bson_iter_value(&it), &sub);
        bson_append_document_begin(out, key, static_cast<int>(kl), &sub_out);
        Status st = exclude(&sub, node, &sub_out, false);
        bson_append_document_end(out, &sub_out);
        MS_RETURN_IF_ERROR(st);
      } else if (t == BSON_TYPE_ARRAY) {
        bson_t arr_out;
        bson_append_array_begin(out, key, static_cast<int>(kl), &arr_out);
        Status st = exclude_array(bson_iter_value(&it), node, &arr_out);
        bson_append_array_end(out, &arr_out);
        MS_RETURN_IF_ERROR(st);
      } else {
        bson_append_iter(out, key, static_cast<int>(kl), &it);
      }
    }
    return Status::OK();
  }
};

Status positional_error() {
  return Status(51246, "Executor error during find command :: caused by :: positional operator '.$' couldn't find a "
                       "matching element in the array");
}

// Replaces the first array along `path` in `doc` by a one-element array holding element `idx`.
Result<common::Bson> apply_positional(const bson_t* doc, const std::vector<std::string>& path, size_t i, int64_t idx,
                                      bool* done) {
  common::Bson out;
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return out;
  while (bson_iter_next(&it)) {
    std::string_view name(bson_iter_key(&it), bson_iter_key_len(&it));
    if (*done || name != path[i]) {
      bson_append_iter(out.mut(), name.data(), static_cast<int>(name.size()), &it);
      continue;
    }
    bson_type_t t = bson_iter_type(&it);
    if (t == BSON_TYPE_ARRAY) {
      bson_iter_t child;
      bool found = false;
      if (bson_iter_recurse(&it, &child)) {
        int64_t k = 0;
        while (bson_iter_next(&child)) {
          if (k++ == idx) {
            found = true;
            break;
          }
        }
      }
      if (!found) return positional_error();
      bson_t arr = BSON_INITIALIZER;
      append_array_key(&arr, 0, bson_iter_value(&child));
      common::append_array(out.mut(), name, &arr);
      bson_destroy(&arr);
      *done = true;
    } else if (t == BSON_TYPE_DOCUMENT && i + 1 < path.size()) {
      bson_t sub;
      view_of_value(bson_iter_value(&it), &sub);
      MS_ASSIGN_OR_RETURN(common::Bson inner, apply_positional(&sub, path, i + 1, idx, done));
      common::append_doc(out.mut(), name, inner.get());
    } else {
      bson_append_iter(out.mut(), name.data(), static_cast<int>(name.size()), &it);
    }
  }
  return out;
}

class ProjectionImpl final : public Projection {
 public:
  ProjectionImpl(std::unique_ptr<PNode> root, bool inclusion, std::vector<std::string> positional,
                 const ExpressionContext& ctx)
      : root_(std::move(root)), inclusion_(inclusion), positional_(std::move(positional)), ctx_(ctx) {}

  Result<common::Bson> apply(const bson_t* doc, const MatchDetails* details) const override {
    Variables vars(ctx_);
    Applier a{doc, vars};
    common::Bson out;
    if (inclusion_) {
      OutDoc od;
      MS_RETURN_IF_ERROR(a.include(doc, *root_, od));
      out_to_bson(od, out.mut());
    } else {
      MS_RETURN_IF_ERROR(a.exclude(doc, *root_, out.mut(), true));
    }
    if (!positional_.empty()) {
      if (details == nullptr || !details->elem_match_key) return positional_error();
      int64_t idx = std::strtoll(details->elem_match_key->c_str(), nullptr, 10);
      bool done = false;
      MS_ASSIGN_OR_RETURN(common::Bson p, apply_positional(out.get(), positional_, 0, idx, &done));
      return p;
    }
    return out;
  }

  bool needs_match_details() const override { return !positional_.empty(); }

 private:
  std::unique_ptr<PNode> root_;
  bool inclusion_;
  std::vector<std::string> positional_;  // path components before ".$"
  const ExpressionContext& ctx_;
};

// ---------------------------------------------------------------------------------------------
// Parsing (follows the server's projection_ast parser)

enum class Type { kUnknown, kInclusion, kExclusion };

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    parts.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

Status validate_field_path(std::string_view path) {
  if (path.empty()) return Status(40352, "FieldPath cannot be constructed with empty string");
  for (const auto& part : split(path)) {
    if (part.empty()) return Status(15998, "FieldPath field names may not be empty strings.");
    if (part[0] == '$') return Status(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.");
  }
  return Status::OK();
}

// First path component of every predicate in a query (through $and/$or/$nor).
void query_prefixes(const bson_t* q, std::vector<std::string>* out) {
  bson_iter_t it;
  if (!bson_iter_init(&it, q)) return;
  while (bson_iter_next(&it)) {
    std::string_view k(bson_iter_key(&it), bson_iter_key_len(&it));
    if (k == "$and" || k == "$or" || k == "$nor") {
      bson_iter_t arr;
      if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr)) continue;
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
        bson_t sub;
        if (view_of_value(bson_iter_value(&arr), &sub)) query_prefixes(&sub, out);
      }
    } else if (!k.empty() && k[0] != '$') {
      out->emplace_back(k.substr(0, k.find('.')));
    }
  }
}

struct ParseCtx {
  const ExpressionContext& ectx;
  const bson_t* query;
  Type type = Type::kUnknown;
  bool id_specified = false, has_positional = false, has_elem_match = false, has_slice = false;
  bool id_included = false, id_excluded = false;
  std::vector<std::string> positional;
};

Status add_at_path(PNode* root, const std::vector<std::string>& path, const std::string& full,
                   std::unique_ptr<PNode> leaf, size_t i = 0) {
  PNode* existing = root->find(path[i]);
  if (i + 1 == path.size()) {
    if (existing) return Status(31250, "Path collision at " + full);
    root->children.emplace_back(path[i], std::move(leaf));
    return Status::OK();
  }
  if (!existing) {
    root->children.emplace_back(path[i], std::make_unique<PNode>());
    existing = root->children.back().second.get();
  } else if (existing->kind != PNode::Kind::kPath) {
    std::string rest;
    for (size_t j = i + 1; j < path.size(); ++j) rest += (rest.empty() ? "" : ".") + path[j];
    return Status(31249, "Path collision at " + full + " remaining portion " + rest);
  }
  return add_at_path(existing, path, full, std::move(leaf), i + 1);
}

std::optional<std::pair<size_t, size_t>> first_positional(std::string_view s) {
  size_t p = s.find(".$.");
  if (p != std::string_view::npos) return std::make_pair(p, p + 3);
  if (s.size() >= 2 && s.substr(s.size() - 2) == ".$") return std::make_pair(s.size() - 2, s.size());
  if (s == "$") return std::make_pair(size_t{0}, s.size());
  return std::nullopt;
}

Status parse_element(ParseCtx& pc, const bson_iter_t* it, const std::string& parent_path, PNode* parent);

Status parse_object(ParseCtx& pc, const std::string& name, const std::string& parent_path, const bson_iter_t* it,
                    PNode* parent) {
  std::string full = parent_path.empty() ? name : parent_path + "." + name;
  bson_iter_t sub;
  bson_iter_recurse(it, &sub);
  bson_t obj;
  view_of_value(bson_iter_value(const_cast<bson_iter_t*>(it)), &obj);
  uint32_t n = bson_count_keys(&obj);
  bool first_dollar = false;
  std::string first_key;
  if (bson_iter_next(&sub)) {
    first_key = bson_iter_key(&sub);
    first_dollar = !first_key.empty() && first_key[0] == '$';
  }
  std::vector<std::string> path = split(name);
  if (n == 1 && first_dollar) {
    if (first_key == "$slice") {
      auto node = std::make_unique<PNode>();
      node->kind = PNode::Kind::kSlice;
      bson_type_t t = bson_iter_type(&sub);
      if (t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE || t == BSON_TYPE_DECIMAL128) {
        node->slice_limit = Value::from_iter(&sub).as_int64();
      } else if (t == BSON_TYPE_ARRAY) {
        bson_iter_t arr;
        bson_iter_recurse(&sub, &arr);
        std::vector<Value> parts;
        while (bson_iter_next(&arr)) parts.push_back(Value::from_iter(&arr));
        if (parts.size() != 2) return Status(31272, "$slice array argument should be of form [skip, limit]");
        if (!parts[0].is_number()) {
          return Status(31257, std::string("$slice expects the skip argument to be a number, got ") +
                                   common::type_alias(parts[0].type()));
        }
        if (!parts[1].is_number()) {
          return Status(31258, std::string("$slice expects the limit argument to be a number, got ") +
                                   common::type_alias(parts[1].type()));
        }
        int64_t limit = parts[1].as_int64();
        if (limit <= 0) return Status(31259, "$slice limit must be positive, got " + std::to_string(limit));
        node->slice_skip = parts[0].as_int64();
        node->slice_limit = limit;
      } else {
        return Status(31273, "$slice only supports numbers and [skip, limit] arrays");
      }
      pc.has_slice = true;
      return add_at_path(parent, path, full, std::move(node));
    }
    if (first_key == "$elemMatch") {
      if (bson_iter_type(&sub) != BSON_TYPE_DOCUMENT) {
        return Status(31274, std::string("elemMatch: Invalid argument, object required, but got ") +
                                 common::type_alias(bson_iter_type(&sub)));
      }
      if (pc.has_positional) return Status(31255, "Cannot specify positional operator and $elemMatch.");
      if (path.size() != 1 || !parent_path.empty()) {
        return Status(31275, "Cannot use $elemMatch projection on a nested field.");
      }
      bson_t filter = BSON_INITIALIZER;
      common::append_doc(&filter, name, &obj);
      auto m = Matcher::parse(&filter, pc.ectx);
      bson_destroy(&filter);
      if (!m.ok()) return m.status();
      auto node = std::make_unique<PNode>();
      node->kind = PNode::Kind::kElemMatch;
      node->elem_match = std::move(m.value());
      pc.has_elem_match = true;
      return add_at_path(parent, path, full, std::move(node));
    }
    if (first_key == "$meta") {
      return Status(common::kBadValue, "$meta projections are not supported: text search and search metadata are "
                                       "not available");
    }
    // A generic aggregation expression ({$add: [...]}) makes a computed field.
    if (pc.type == Type::kExclusion) {
      return Status(31252, "Cannot use expression other than $meta in exclusion projection");
    }
    auto e = Expression::parse(it, pc.ectx);
    if (!e.ok()) {
      if (e.status().code() == common::kInvalidPipelineOperator &&
          e.status().message().find(first_key) != std::string::npos) {
        return Status(31325, "Unknown expression " + first_key);
      }
      return e.status();
    }
    pc.type = Type::kInclusion;
    auto node = std::make_unique<PNode>();
    node->kind = PNode::Kind::kExpr;
    node->expr = std::move(e.value());
    return add_at_path(parent, path, full, std::move(node));
  }
  // A sub-projection: {a: {b: 1}} is {"a.b": 1}.
  auto owned = std::make_unique<PNode>();
  PNode* level = owned.get();
  if (parent->find(name)) return Status(31250, "Path collision at " + full);
  parent->children.emplace_back(name, std::move(owned));
  bson_iter_t child;
  bson_iter_recurse(it, &child);
  while (bson_iter_next(&child)) MS_RETURN_IF_ERROR(parse_element(pc, &child, full, level));
  return Status::OK();
}

Status parse_element(ParseCtx& pc, const bson_iter_t* it, const std::string& parent_path, PNode* parent) {
  std::string name(bson_iter_key(it), bson_iter_key_len(it));
  auto pos = first_positional(name);
  bson_type_t t = bson_iter_type(it);
  if (t == BSON_TYPE_DOCUMENT) {
    if (pos) return Status(31271, "positional projection cannot be used with an expression or sub object");
    MS_RETURN_IF_ERROR(validate_field_path(name));
    return parse_object(pc, name, parent_path, it, parent);
  }
  bool top_id = name == "_id" && parent_path.empty();
  bool bool_like = t == BSON_TYPE_BOOL || t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
                   t == BSON_TYPE_DECIMAL128;
  if (bool_like && common::value_truthy(it)) {
    std::string field = name;
    if (pos) {
      if (pc.has_positional) return Status(31276, "Cannot specify more than one positional projection per query.");
      if (pc.has_elem_match) return Status(31256, "Cannot specify positional operator and $elemMatch.");
      if (pc.query == nullptr) return Status(51050, "Projections with a positional operator require a matcher");
      std::string match_field = parent_path.empty() ? name.substr(0, name.find('.')) : parent_path.substr(0, parent_path.find('.'));
      std::vector<std::string> prefixes;
      query_prefixes(pc.query, &prefixes);
      if (std::find(prefixes.begin(), prefixes.end(), match_field) == prefixes.end()) {
        return Status(31277, "Positional projection '" + name + "' does not match the query document.");
      }
      if (name.size() >= 3 && name.substr(name.size() - 3) == ".$.") return Status(31270, "Path cannot end with '.$.'");
      std::string rest = name.substr(pos->second);
      if (first_positional(rest) || rest == "$") return Status(31287, "Cannot use positional operator twice: " + name);
      field = name.substr(0, pos->first);
      pc.has_positional = true;
      std::string full_path = parent_path.empty() ? field : parent_path + "." + field;
      pc.positional = split(full_path);
    }
    MS_RETURN_IF_ERROR(validate_field_path(field));
    auto node = std::make_unique<PNode>();
    node->kind = PNode::Kind::kInclude;
    std::string full = parent_path.empty() ? field : parent_path + "." + field;
    MS_RETURN_IF_ERROR(add_at_path(parent, split(field), full, std::move(node)));
    if (top_id) pc.id_included = true;
    if (!top_id) {
      if (pc.type == Type::kExclusion) {
        return Status(31253, "Cannot do inclusion on field " + name + " in exclusion projection");
      }
      pc.type = Type::kInclusion;
    }
    return Status::OK();
  }
  if (bool_like) {
    MS_RETURN_IF_ERROR(validate_field_path(name));
    auto node = std::make_unique<PNode>();
    node->kind = PNode::Kind::kExclude;
    std::string full = parent_path.empty() ? name : parent_path + "." + name;
    MS_RETURN_IF_ERROR(add_at_path(parent, split(name), full, std::move(node)));
    if (top_id) {
      pc.id_excluded = true;
    } else {
      if (pc.type == Type::kInclusion) {
        return Status(31254, "Cannot do exclusion on field " + name + " in inclusion projection");
      }
      pc.type = Type::kExclusion;
    }
    return Status::OK();
  }
  // A literal ("x", "$path", null, [..]) is a computed field.
  if (pos) return Status(31308, "positional projection cannot be used with a literal");
  MS_RETURN_IF_ERROR(validate_field_path(name));
  MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, pc.ectx));
  auto node = std::make_unique<PNode>();
  node->kind = PNode::Kind::kExpr;
  node->expr = std::move(e);
  std::string full = parent_path.empty() ? name : parent_path + "." + name;
  MS_RETURN_IF_ERROR(add_at_path(parent, split(name), full, std::move(node)));
  if (pc.type == Type::kExclusion) {
    return Status(31310, "Cannot use an expression " + name + ": " +
                             common::value_to_json(bson_iter_value(const_cast<bson_iter_t*>(it))) +
                             " in an exclusion projection");
  }
  pc.type = Type::kInclusion;
  return Status::OK();
}

// Marks path nodes whose subtree holds computed fields; returns whether `n` does.
bool mark_computed(PNode* n) {
  if (n->kind == PNode::Kind::kExpr || n->kind == PNode::Kind::kElemMatch) return true;
  if (n->kind != PNode::Kind::kPath) return false;
  bool any = false;
  for (auto& [name, c] : n->children) any = mark_computed(c.get()) || any;
  n->has_computed = any;
  return any;
}

}  // namespace

Result<std::unique_ptr<Projection>> Projection::parse(const bson_t* spec, const bson_t* query,
                                                      const ExpressionContext& ctx) {
  auto root = std::make_unique<PNode>();
  ParseCtx pc{ctx, query};
  bson_iter_t it;
  if (!bson_iter_init(&it, spec)) return Status(common::kBadValue, "invalid projection");
  while (bson_iter_next(&it)) {
    std::string_view k(bson_iter_key(&it), bson_iter_key_len(&it));
    if (k == "_id" || k.substr(0, 4) == "_id.") pc.id_specified = true;
    MS_RETURN_IF_ERROR(parse_element(pc, &it, "", root.get()));
  }
  Type type = pc.type;
  if (type == Type::kUnknown) {
    if (pc.has_slice) {
      type = pc.id_included ? Type::kInclusion : Type::kExclusion;
    } else if (pc.has_elem_match) {
      type = Type::kInclusion;
    } else if (pc.id_included) {
      type = Type::kInclusion;
    } else {
      type = Type::kExclusion;
    }
  }
  if (!pc.id_specified && type == Type::kInclusion) {
    auto node = std::make_unique<PNode>();
    node->kind = PNode::Kind::kInclude;
    root->children.emplace(root->children.begin(), "_id", std::move(node));
  }
  if (type == Type::kExclusion && pc.id_included) {
    auto& ch = root->children;
    ch.erase(std::remove_if(ch.begin(), ch.end(), [](const auto& c) { return c.first == "_id"; }), ch.end());
  }
  mark_computed(root.get());
  return std::unique_ptr<Projection>(
      std::make_unique<ProjectionImpl>(std::move(root), type == Type::kInclusion, std::move(pc.positional), ctx));
}

}  // namespace mql
