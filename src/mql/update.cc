// Update parsing and application (mongodb-reference.md §8.3-8.5), modelled on the server's
// UpdateNode tree: modifier paths are parsed once into a tree ordered like the server's
// children map (field names, numeric components by value), and applying walks the document
// and the tree together, writing the new document with bson_t appends in one pass.
#include "mql/update.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mql/compare.h"
#include "mql/path.h"
#include "mql/pipeline.h"
#include "mql/sort.h"
#include "mql/update_arith.h"
#include "mql/update_tostring.h"
#include "mql/value.h"

namespace mql {
namespace {

using common::Bson;
using common::Result;
using common::Status;

constexpr uint32_t kMaxUserDocSize = 16 * 1024 * 1024;
constexpr int64_t kMaxPadding = 1500000;

// The server's cmpPathsAndArrayIndexes: canonical numbers compare by value, the rest as strings.
struct FieldCmp {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    size_t al = a.size(), bl = b.size();
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (al == 0 || bl == 0 || !digit(a[0]) || !digit(b[0]) || (a[0] == '0' && al > 1) || (b[0] == '0' && bl > 1)) {
      return a < b;
    }
    if (al != bl) return al < bl;
    return a < b;
  }
};

enum class Op {
  kSet,
  kUnset,
  kInc,
  kMul,
  kMin,
  kMax,
  kRenameSrc,
  kRenameDst,
  kSetOnInsert,
  kCurrentDate,
  kPush,
  kAddToSet,
  kPop,
  kPull,
  kPullAll,
  kBit,
};

struct OpName {
  const char* name;
  Op op;
};
constexpr OpName kOps[] = {
    {"$set", Op::kSet},          {"$unset", Op::kUnset},         {"$inc", Op::kInc},
    {"$mul", Op::kMul},          {"$min", Op::kMin},             {"$max", Op::kMax},
    {"$rename", Op::kRenameDst}, {"$setOnInsert", Op::kSetOnInsert}, {"$currentDate", Op::kCurrentDate},
    {"$push", Op::kPush},        {"$addToSet", Op::kAddToSet},   {"$pop", Op::kPop},
    {"$pull", Op::kPull},        {"$pullAll", Op::kPullAll},     {"$bit", Op::kBit},
};

std::string elem_str(const bson_iter_t* it) {
  return mongo_elem_string(std::string_view(bson_iter_key(it), bson_iter_key_len(it)), bson_iter_value(const_cast<bson_iter_t*>(it)));
}

std::string type_name(bson_type_t t) { return common::type_alias(t); }

bool is_number_type(bson_type_t t) {
  return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE || t == BSON_TYPE_DECIMAL128;
}


// Points `out` at a document/array value's bytes in place (a bson_t made by bson_init_static
// refers to itself, so it must never be returned or copied by value).
void init_view(const Value& v, bson_t* out) {
  const bson_value_t& r = v.raw();
  if ((r.value_type == BSON_TYPE_DOCUMENT || r.value_type == BSON_TYPE_ARRAY) &&
      bson_init_static(out, r.value.v_doc.data, r.value.v_doc.data_len)) {
    return;
  }
  static const uint8_t kEmpty[5] = {5, 0, 0, 0, 0};
  bson_init_static(out, kEmpty, 5);
}

struct Leaf {
  Op op = Op::kSet;
  std::string path;  // dotted, as written (for messages)
  Value arg;
  // $push / $addToSet
  std::vector<Value> each;
  bool has_position = false;
  int64_t position = 0;
  bool has_slice = false;
  int64_t slice = 0;
  int sort_kind = 0;  // 0 none, 1 whole values, 2 pattern
  bool sort_asc = true;
  std::optional<SortPattern> sort_pattern;
  // $pull: 0 equality with arg, 1 element documents matched by a query, 2 condition on the value
  int pull_kind = 0;
  std::unique_ptr<Matcher> pull_matcher;
  // $bit
  std::vector<std::pair<BitOp, Value>> bits;
  // $currentDate
  bool timestamp = false;
  // $rename (destination leaf)
  FieldPath rename_from;
  FieldPath rename_to;
  int rename_id = -1;
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  enum class Type { kLeaf, kObject, kArray };
  Type type = Type::kObject;
  std::shared_ptr<const Leaf> leaf;
  // Object nodes: field names. Array nodes: identifiers ("" for "$[]").
  std::map<std::string, NodePtr, FieldCmp> children;
  NodePtr positional;  // object nodes: the "$" child
};

struct ArrayFilter {
  Bson doc;
  std::unique_ptr<Matcher> matcher;
};

bool is_filter_identifier(std::string_view part) {
  return part.size() >= 3 && part[0] == '$' && part[1] == '[' && part.back() == ']';
}

std::vector<std::string_view> split_path(std::string_view dotted) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(dotted.substr(start));
      break;
    }
    parts.push_back(dotted.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

class UpdateImpl;

// Per-application state.
struct ApplyState {
  const UpdateImpl* u = nullptr;
  const bson_t* doc = nullptr;
  const MatchDetails* details = nullptr;
  bool insert = false;
  std::vector<Value> rename_src;  // resolved $rename source values (missing = no rename)
  std::string path;               // dotted path of the element being updated
};

// Why a node's input is missing: when `blocker` is set, the path runs into that existing
// element (a scalar, or an array addressed by a field name) and cannot be created.
struct Miss {
  const bson_iter_t* blocker = nullptr;
  std::string_view first;  // first path component that does not exist below the blocker
};

class PathScope {
 public:
  PathScope(std::string& path, std::string_view part) : path_(path), size_(path.size()) {
    if (!path_.empty()) path_ += '.';
    path_.append(part);
  }
  ~PathScope() { path_.resize(size_); }
  PathScope(const PathScope&) = delete;
  PathScope& operator=(const PathScope&) = delete;

 private:
  std::string& path_;
  size_t size_;
};

class UpdateImpl final : public Update {
 public:
  explicit UpdateImpl(const ExpressionContext& ctx) : ctx_(ctx) {}
  Kind kind() const override { return kind_; }
  Result<UpdateOutcome> apply(const bson_t* doc, const MatchDetails* details, bool is_upsert_insert) const override;

  Status parse_modifiers(const bson_t* u);
  Status parse_array_filters(const bson_t* filters);

  Kind kind_ = Kind::kModifier;
  ExpressionContext ctx_;
  Node root_;
  Bson original_;  // the update document (modifier) or replacement
  std::unique_ptr<Pipeline> pipeline_;
  std::map<std::string, ArrayFilter> filters_;
  std::vector<std::shared_ptr<const Leaf>> renames_;
  std::vector<std::string> leaf_paths_;  // every modified path in parse order

  // Applying.
  Status apply_node(const Node& n, const bson_iter_t* in, const Miss& miss, std::string_view key, bson_t* out,
                    bool parent_array, ApplyState& st) const;
  Status apply_object(const Node& n, const bson_iter_t* in, const Miss& miss, std::string_view key, bson_t* out,
                      ApplyState& st) const;
  Status apply_fields(const std::vector<std::pair<std::string_view, const Node*>>& kids, bson_iter_t* fields,
                      bool is_array, const bson_iter_t* self, bson_t* sub, ApplyState& st) const;
  Status apply_array_node(const Node& n, const bson_iter_t* in, const Miss& miss, std::string_view key,
                          bson_t* out, ApplyState& st) const;
  Status apply_leaf(const Leaf& l, const bson_iter_t* in, const Miss& miss, std::string_view key, bson_t* out,
                    bool parent_array, ApplyState& st) const;
  Status resolve_renames(ApplyState& st) const;
  Result<UpdateOutcome> finish(const bson_t* old_doc, bson_t* built, bool replacement_style,
                               const ApplyState* st) const;

 private:
  Status add_leaf(std::string_view dotted, std::shared_ptr<Leaf> leaf, std::set<std::string>& found);
  Status parse_leaf(Op op, const bson_iter_t* it, Leaf* leaf);
};

// ---------------------------------------------------------------------------------------------
// Parsing

Status check_updatable(std::string_view dotted, const std::vector<std::string_view>& parts) {
  if (dotted.empty()) return Status(common::kEmptyFieldName, "An empty update path is not valid.");
  for (auto p : parts) {
    if (p.empty()) {
      return Status(common::kEmptyFieldName, "The update path '" + std::string(dotted) +
                                                 "' contains an empty field name, which is not allowed.");
    }
  }
  return Status::OK();
}

Status UpdateImpl::add_leaf(std::string_view dotted, std::shared_ptr<Leaf> leaf, std::set<std::string>& found) {
  auto parts = split_path(dotted);
  MS_RETURN_IF_ERROR(check_updatable(dotted, parts));
  size_t positional_count = 0, positional_index = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "$") {
      if (positional_count == 0) positional_index = i;
      ++positional_count;
    }
  }
  const std::string path(dotted);
  if (positional_count > 1) {
    return Status(common::kBadValue, "Too many positional (i.e. '$') elements found in path '" + path + "'");
  }
  if (positional_count == 1 && positional_index == 0) {
    return Status(common::kBadValue,
                  "Cannot have positional (i.e. '$') element in the first position in path '" + path + "'");
  }
  leaf->path = path;
  leaf_paths_.push_back(path);

  auto child_name = [&](size_t i, std::string* out) -> Status {
    std::string_view part = parts[i];
    if (!is_filter_identifier(part)) {
      out->assign(part);
      return Status::OK();
    }
    if (i == 0) {
      return Status(common::kBadValue,
                    "Cannot have array filter identifier (i.e. '$[<id>]') element in the first position in path '" +
                        path + "'");
    }
    std::string id(part.substr(2, part.size() - 3));
    if (!id.empty() && filters_.find(id) == filters_.end()) {
      return Status(common::kBadValue, "No array filter found for identifier '" + id + "' in path '" + path + "'");
    }
    if (!id.empty()) found.insert(id);
    *out = std::move(id);
    return Status::OK();
  };

  auto conflict = [&](size_t upto) {
    std::string at;
    for (size_t j = 0; j <= upto; ++j) {
      if (j) at += '.';
      at.append(parts[j]);
    }
    return Status(common::kConflictingUpdateOperators,
                  "Updating the path '" + path + "' would create a conflict at '" + at + "'");
  };

  Node* cur = &root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    std::string name;
    MS_RETURN_IF_ERROR(child_name(i, &name));
    const bool want_array = is_filter_identifier(parts[i + 1]);
    const bool positional = cur->type == Node::Type::kObject && name == "$";
    NodePtr* slot;
    if (positional) {
      slot = &cur->positional;
    } else {
      slot = &cur->children[name];
    }
    if (*slot) {
      auto t = (*slot)->type;
      if ((want_array && t != Node::Type::kArray) || (!want_array && t != Node::Type::kObject)) return conflict(i);
    } else {
      auto fresh = std::make_shared<Node>();
      fresh->type = want_array ? Node::Type::kArray : Node::Type::kObject;
      *slot = fresh;
    }
    cur = const_cast<Node*>(slot->get());
  }
  std::string name;
  MS_RETURN_IF_ERROR(child_name(parts.size() - 1, &name));
  const bool positional = cur->type == Node::Type::kObject && name == "$";
  NodePtr* slot;
  if (positional) {
    slot = &cur->positional;
  } else {
    auto found_it = cur->children.find(name);
    if (found_it != cur->children.end()) return conflict(parts.size() - 1);
    slot = &cur->children[name];
  }
  if (*slot) return conflict(parts.size() - 1);
  auto node = std::make_shared<Node>();
  node->type = Node::Type::kLeaf;
  node->leaf = std::move(leaf);
  *slot = node;
  return Status::OK();
}

Result<int64_t> integral_arg(const bson_iter_t* it) {
  bson_type_t t = bson_iter_type(it);
  if (t == BSON_TYPE_INT32) return static_cast<int64_t>(bson_iter_int32(it));
  if (t == BSON_TYPE_INT64) return bson_iter_int64(it);
  if (t == BSON_TYPE_DOUBLE) {
    double d = bson_iter_double(it);
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  if (t == BSON_TYPE_DECIMAL128) {
    Value v = Value::from_iter(it);
    double d = v.as_double();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  return Status(common::kBadValue, "");
}

Status parse_sort_spec(const bson_iter_t* it, Leaf* leaf) {
  const Status bad(common::kBadValue,
                   "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields");
  bson_type_t t = bson_iter_type(it);
  if (is_number_type(t)) {
    auto n = integral_arg(it);
    if (!n.ok() || (*n != 1 && *n != -1)) return bad;
    leaf->sort_kind = 1;
    leaf->sort_asc = *n == 1;
    return Status::OK();
  }
  if (t != BSON_TYPE_DOCUMENT) return bad;
  Value v = Value::from_iter(it);
  bson_t spec;
  init_view(v, &spec);
  if (bson_count_keys(&spec) == 0) return bad;
  bson_iter_t f;
  bson_iter_init(&f, &spec);
  while (bson_iter_next(&f)) {
    std::string_view k(bson_iter_key(&f), bson_iter_key_len(&f));
    if (k.empty() || k.front() == '.' || k.back() == '.' || k.find("..") != std::string_view::npos ||
        k.front() == '$') {
      return bad;
    }
    auto n = is_number_type(bson_iter_type(&f)) ? integral_arg(&f) : Result<int64_t>(Status(common::kBadValue, ""));
    if (!n.ok() || (*n != 1 && *n != -1)) return bad;
  }
  auto pattern = SortPattern::parse(&spec, SortPattern::Syntax::kFind);
  if (!pattern.ok()) return bad;
  leaf->sort_kind = 2;
  leaf->sort_pattern = std::move(*pattern);
  return Status::OK();
}

Status UpdateImpl::parse_leaf(Op op, const bson_iter_t* it, Leaf* leaf) {
  leaf->op = op;
  leaf->arg = Value::from_iter(it);
  const bson_type_t t = bson_iter_type(it);
  switch (op) {
    case Op::kInc:
    case Op::kMul:
      if (!is_number_type(t)) {
        return Status(common::kTypeMismatch, std::string(op == Op::kInc ? "Cannot increment" : "Cannot multiply") +
                                                 " with non-numeric argument: {" + elem_str(it) + "}");
      }
      return Status::OK();
    case Op::kCurrentDate: {
      if (t == BSON_TYPE_BOOL) return Status::OK();
      if (t == BSON_TYPE_DOCUMENT) {
        bson_t d;
  init_view(leaf->arg, &d);
        bson_iter_t f;
        bson_iter_init(&f, &d);
        bool seen = false;
        while (bson_iter_next(&f)) {
          if (std::strcmp(bson_iter_key(&f), "$type") != 0) {
            return Status(common::kBadValue,
                          "The only valid field of the option is '$type': {$currentDate: {field : {$type: "
                          "'date/timestamp'}}}");
          }
          seen = true;
          std::string_view s = BSON_ITER_HOLDS_UTF8(&f) ? std::string_view(bson_iter_utf8(&f, nullptr)) : "";
          if (s == "timestamp") {
            leaf->timestamp = true;
          } else if (s != "date") {
            return Status(common::kBadValue,
                          "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: "
                          "{field : {$type: 'date'}}}");
          }
        }
        if (seen) return Status::OK();
        return Status(common::kBadValue,
                      "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : "
                      "{$type: 'date'}}}");
      }
      return Status(common::kBadValue, elem_str(it) +
                                           " is not valid type for $currentDate. Please use a boolean ('true') or "
                                           "a $type expression ({$type: 'timestamp/date'}).");
    }
    case Op::kPop: {
      if (!is_number_type(t)) return Status(common::kFailedToParse, "Expected a number in: " + elem_str(it));
      double d = leaf->arg.as_double();
      if (d != 1 && d != -1) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", d);
        return Status(common::kFailedToParse, std::string("$pop expects 1 or -1, found: ") + buf);
      }
      return Status::OK();
    }
    case Op::kPullAll:
      if (t != BSON_TYPE_ARRAY) {
        return Status(common::kBadValue, "$pullAll requires an array argument but was given a " + type_name(t));
      }
      return Status::OK();
    case Op::kPull: {
      if (t == BSON_TYPE_DOCUMENT) {
        bson_t d;
  init_view(leaf->arg, &d);
        bson_iter_t f;
        bool op_first = false;
        if (bson_iter_init(&f, &d) && bson_iter_next(&f)) {
          std::string_view k = bson_iter_key(&f);
          op_first = !k.empty() && k[0] == '$' && k != "$and" && k != "$or" && k != "$nor" && k != "$expr" &&
                     k != "$where" && k != "$comment" && k != "$jsonSchema" && k != "$text";
        }
        if (op_first) {
          // A condition on the element itself: match {v: element} against {v: condition}.
          bson_t wrapped = BSON_INITIALIZER;
          bson_append_document(&wrapped, "v", 1, &d);
          Bson w = Bson::steal(&wrapped);
          leaf->pull_kind = 2;
          MS_ASSIGN_OR_RETURN(leaf->pull_matcher, Matcher::parse(w.get(), ctx_));
          leaf->arg = Value::document(w.get());  // keeps the filter bytes alive
        } else {
          leaf->pull_kind = 1;
          MS_ASSIGN_OR_RETURN(leaf->pull_matcher, Matcher::parse(&d, ctx_));
        }
      }
      return Status::OK();
    }
    case Op::kBit: {
      if (t != BSON_TYPE_DOCUMENT) {
        return Status(common::kBadValue, "The $bit modifier is not compatible with a " + type_name(t) +
                                             ". You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}.");
      }
      bson_t d;
  init_view(leaf->arg, &d);
      bson_iter_t f;
      bson_iter_init(&f, &d);
      while (bson_iter_next(&f)) {
        std::string_view k = bson_iter_key(&f);
        BitOp b;
        if (k == "and") {
          b = BitOp::kAnd;
        } else if (k == "or") {
          b = BitOp::kOr;
        } else if (k == "xor") {
          b = BitOp::kXor;
        } else {
          return Status(common::kBadValue, "The $bit modifier only supports 'and', 'or', and 'xor', not '" +
                                               std::string(k) + "' which is an unknown operator: {" + elem_str(&f) + "}");
        }
        bson_type_t ft = bson_iter_type(&f);
        if (ft != BSON_TYPE_INT32 && ft != BSON_TYPE_INT64) {
          return Status(common::kBadValue, "The $bit modifier field must be an Integer(32/64 bit); a '" +
                                               type_name(ft) + "' is not supported here: {" + elem_str(&f) + "}");
        }
        leaf->bits.emplace_back(b, Value::from_iter(&f));
      }
      if (leaf->bits.empty()) {
        return Status(common::kBadValue,
                      "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}.");
      }
      return Status::OK();
    }
    case Op::kAddToSet: {
      bool is_each = false;
      if (t == BSON_TYPE_DOCUMENT) {
        bson_t d;
  init_view(leaf->arg, &d);
        bson_iter_t f;
        if (bson_iter_init(&f, &d) && bson_iter_next(&f) && std::strcmp(bson_iter_key(&f), "$each") == 0) {
          is_each = true;
          if (bson_count_keys(&d) > 1) {
            return Status(common::kBadValue, "Found unexpected fields after $each in $addToSet: " + mongo_doc_string(&d));
          }
          if (!BSON_ITER_HOLDS_ARRAY(&f)) {
            return Status(common::kBadValue, "The argument to $each in $addToSet must be an array but it was of type " +
                                                 type_name(bson_iter_type(&f)));
          }
          bson_iter_t e;
          bson_iter_recurse(&f, &e);
          while (bson_iter_next(&e)) leaf->each.push_back(Value::from_iter(&e));
        }
      }
      if (!is_each) leaf->each.push_back(leaf->arg);
      // Deduplicate the values themselves, keeping first occurrences.
      std::vector<Value> uniq;
      for (auto& v : leaf->each) {
        bool dup = false;
        for (auto& u : uniq) {
          if (compare_values(&u.raw(), &v.raw(), ctx_.coll()) == 0) {
            dup = true;
            break;
          }
        }
        if (!dup) uniq.push_back(v);
      }
      leaf->each = std::move(uniq);
      return Status::OK();
    }
    case Op::kPush: {
      bool modifiers = false;
      bson_t d;
      if (t == BSON_TYPE_DOCUMENT) {
        init_view(leaf->arg, &d);
        bson_iter_t f;
        modifiers = bson_iter_init_find(&f, &d, "$each");
      }
      if (!modifiers) {
        leaf->each.push_back(leaf->arg);
        return Status::OK();
      }
      bson_iter_t f;
      bson_iter_init(&f, &d);
      bool seen_slice = false, seen_sort = false, seen_pos = false;
      while (bson_iter_next(&f)) {
        std::string_view k = bson_iter_key(&f);
        bson_type_t ft = bson_iter_type(&f);
        if (k == "$each") {
          if (ft != BSON_TYPE_ARRAY) {
            return Status(common::kBadValue,
                          "The argument to $each in $push must be an array but it was of type: " + type_name(ft));
          }
          bson_iter_t e;
          bson_iter_recurse(&f, &e);
          while (bson_iter_next(&e)) leaf->each.push_back(Value::from_iter(&e));
        } else if (k == "$slice") {
          if (seen_slice) return Status(common::kBadValue, "Only one $slice modifier is allowed in $push");
          seen_slice = true;
          if (!is_number_type(ft)) {
            return Status(common::kBadValue, "The value for $slice must be an integer value but was given type: " +
                                                 type_name(ft));
          }
          auto n = integral_arg(&f);
          if (!n.ok()) {
            return Status(common::kBadValue, "The $slice value in $push must be an integer value but was given type: " +
                                                 type_name(ft));
          }
          leaf->has_slice = true;
          leaf->slice = *n;
        } else if (k == "$sort") {
          if (seen_sort) return Status(common::kBadValue, "Only one $sort modifier is allowed in $push");
          seen_sort = true;
          MS_RETURN_IF_ERROR(parse_sort_spec(&f, leaf));
        } else if (k == "$position") {
          if (seen_pos) return Status(common::kBadValue, "Only one $position modifier is allowed in $push");
          seen_pos = true;
          if (!is_number_type(ft)) {
            return Status(common::kBadValue,
                          "The value for $position must be an integer value, not of type: " + type_name(ft));
          }
          auto n = integral_arg(&f);
          if (!n.ok()) {
            return Status(common::kBadValue, "The $position value in $push must be an integer value but was given "
                                             "type: " + type_name(ft));
          }
          leaf->has_position = true;
          leaf->position = *n;
        } else {
          return Status(common::kBadValue, "Unrecognized clause in $push: " + std::string(k));
        }
      }
      return Status::OK();
    }
    default:
      return Status::OK();
  }
}

Status UpdateImpl::parse_array_filters(const bson_t* filters) {
  if (!filters) return Status::OK();
  bson_iter_t it;
  if (!bson_iter_init(&it, filters)) return Status(common::kFailedToParse, "arrayFilters must be an array");
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, "Each array filter must be an object, but found type " +
                                               type_name(bson_iter_type(&it)));
    }
    Value v = Value::from_iter(&it);
    bson_t doc;
  init_view(v, &doc);
    // The placeholder: the first component of every top-level path (through $and/$or/$nor).
    std::optional<std::string> id;
    std::string error;
    std::function<bool(const bson_t*)> collect = [&](const bson_t* d) {
      bson_iter_t f;
      bson_iter_init(&f, d);
      while (bson_iter_next(&f)) {
        std::string_view k(bson_iter_key(&f), bson_iter_key_len(&f));
        if (!k.empty() && k[0] == '$') {
          if ((k == "$and" || k == "$or" || k == "$nor") && BSON_ITER_HOLDS_ARRAY(&f)) {
            bson_iter_t e;
            bson_iter_recurse(&f, &e);
            while (bson_iter_next(&e)) {
              if (!BSON_ITER_HOLDS_DOCUMENT(&e)) continue;
              Value sub = Value::from_iter(&e);
              bson_t sd;
  init_view(sub, &sd);
              if (!collect(&sd)) return false;
            }
          }
          continue;
        }
        std::string name(k.substr(0, k.find('.')));
        if (id && *id != name) {
          error = "Error parsing array filter :: caused by :: Expected a single top-level field name, found '" + *id +
                  "' and '" + name + "'";
          return false;
        }
        id = name;
      }
      return true;
    };
    if (!collect(&doc)) return Status(common::kFailedToParse, error);
    if (!id) {
      return Status(common::kFailedToParse, "Cannot use an expression without a top-level field name in arrayFilters");
    }
    bool valid = !id->empty() && (*id)[0] >= 'a' && (*id)[0] <= 'z';
    for (char c : *id) valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
    if (!valid) {
      return Status(common::kBadValue,
                    "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric "
                    "string beginning with a lowercase letter, found '" + *id + "'");
    }
    if (filters_.count(*id)) {
      return Status(common::kFailedToParse, "Found multiple array filters with the same top-level field name " + *id);
    }
    ArrayFilter f;
    f.doc = Bson(&doc);
    auto m = Matcher::parse(f.doc.get(), ctx_);
    if (!m.ok()) {
      return Status(m.status().code(), "Error parsing array filter :: caused by :: " + m.status().message());
    }
    f.matcher = std::move(*m);
    filters_.emplace(*id, std::move(f));
  }
  return Status::OK();
}

Status UpdateImpl::parse_modifiers(const bson_t* u) {
  std::set<std::string> found;
  bson_iter_t it;
  bson_iter_init(&it, u);
  while (bson_iter_next(&it)) {
    std::string_view name(bson_iter_key(&it), bson_iter_key_len(&it));
    const OpName* op = nullptr;
    for (const auto& o : kOps) {
      if (name == o.name) op = &o;
    }
    if (!op) {
      return Status(common::kFailedToParse, "Unknown modifier: " + std::string(name) +
                                                ". Expected a valid update modifier or pipeline-style update "
                                                "specified as an array");
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kFailedToParse, "Modifiers operate on fields but we found type " +
                                                type_name(bson_iter_type(&it)) +
                                                " instead. For example: {$mod: {<field>: ...}} not {" + elem_str(&it) +
                                                "}");
    }
    bson_iter_t f;
    bson_iter_recurse(&it, &f);
    bool empty = true;
    while (bson_iter_next(&f)) {
      empty = false;
      std::string_view field(bson_iter_key(&f), bson_iter_key_len(&f));
      if (op->op == Op::kRenameDst) {
        // The source gets a placeholder that removes it and claims the path for conflicts.
        auto src = std::make_shared<Leaf>();
        src->op = Op::kRenameSrc;
        auto src_parts = split_path(field);
        MS_RETURN_IF_ERROR(check_updatable(field, src_parts));
        if (!BSON_ITER_HOLDS_UTF8(&f)) {
          return Status(common::kBadValue, "The 'to' field for $rename must be a string: " + elem_str(&f));
        }
        std::string_view to(bson_iter_utf8(&f, nullptr));
        FieldPath from_path(field), to_path(to);
        auto dynamic = [](std::string_view p) {
          for (auto part : split_path(p)) {
            if (part == "$" || is_filter_identifier(part)) return true;
          }
          return false;
        };
        if (dynamic(field)) {
          return Status(common::kBadValue, "The source field for $rename may not be dynamic: " + std::string(field));
        }
        if (dynamic(to)) {
          return Status(common::kBadValue, "The destination field for $rename may not be dynamic: " + std::string(to));
        }
        if (field == to) {
          return Status(common::kBadValue, "The source and target field for $rename must differ: " + elem_str(&f));
        }
        auto is_prefix = [](std::string_view a, std::string_view b) {
          return b.size() > a.size() && b.substr(0, a.size()) == a && b[a.size()] == '.';
        };
        if (is_prefix(field, to) || is_prefix(to, field)) {
          return Status(common::kBadValue,
                        "The source and target field for $rename must not be on the same path: " + elem_str(&f));
        }
        MS_RETURN_IF_ERROR(add_leaf(field, src, found));
        auto dst = std::make_shared<Leaf>();
        dst->op = Op::kRenameDst;
        dst->arg = Value::from_iter(&f);
        dst->rename_from = from_path;
        dst->rename_to = to_path;
        dst->rename_id = static_cast<int>(renames_.size());
        renames_.push_back(dst);
        MS_RETURN_IF_ERROR(add_leaf(to, dst, found));
        continue;
      }
      auto leaf = std::make_shared<Leaf>();
      // Path checks come before the operand checks, as in the server.
      auto parts = split_path(field);
      MS_RETURN_IF_ERROR(check_updatable(field, parts));
      MS_RETURN_IF_ERROR(parse_leaf(op->op, &f, leaf.get()));
      MS_RETURN_IF_ERROR(add_leaf(field, leaf, found));
    }
    if (empty && ctx_.version < 50) {
      return Status(common::kFailedToParse, "'" + std::string(name) + "' is empty. You must specify a field like so: {" +
                                                std::string(name) + ": {<field>: ...}}");
    }
  }
  for (const auto& [id, f] : filters_) {
    if (!found.count(id)) {
      return Status(common::kFailedToParse, "The array filter for identifier '" + id + "' was not used in the update " +
                                                mongo_doc_string(u));
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Applying

void append_null(bson_t* out, std::string_view key) {
  bson_append_null(out, key.data(), static_cast<int>(key.size()));
}

void append_val(bson_t* out, std::string_view key, const bson_value_t& v) {
  bson_append_value(out, key.data(), static_cast<int>(key.size()), &v);
}

void copy_elem(bson_t* out, std::string_view key, const bson_iter_t* in) {
  bson_append_iter(out, key.data(), static_cast<int>(key.size()), in);
}

Status not_viable(const Miss& miss) {
  return Status(common::kPathNotViable, "Cannot create field '" + std::string(miss.first) + "' in element {" +
                                            elem_str(miss.blocker) + "}");
}

std::string id_string(const bson_t* doc) {
  bson_iter_t id;
  if (doc && bson_iter_init_find(&id, doc, "_id")) return elem_str(&id);
  return "no id";
}

std::string_view iter_key(const bson_iter_t* it) { return {bson_iter_key(it), bson_iter_key_len(it)}; }

Status UpdateImpl::apply_node(const Node& n, const bson_iter_t* in, const Miss& miss, std::string_view key,
                              bson_t* out, bool parent_array, ApplyState& st) const {
  switch (n.type) {
    case Node::Type::kLeaf:
      return apply_leaf(*n.leaf, in, miss, key, out, parent_array, st);
    case Node::Type::kObject:
      return apply_object(n, in, miss, key, out, st);
    case Node::Type::kArray:
      return apply_array_node(n, in, miss, key, out, st);
  }
  return Status::OK();
}

Result<NodePtr> merge_nodes(const NodePtr& a, const NodePtr& b, const std::string& path) {
  if (a->type == Node::Type::kLeaf || b->type == Node::Type::kLeaf || a->type != b->type) {
    return Status(common::kConflictingUpdateOperators, "Update created a conflict at '" + path + "'");
  }
  auto m = std::make_shared<Node>();
  m->type = a->type;
  m->children = a->children;
  for (const auto& [name, child] : b->children) {
    auto it = m->children.find(name);
    if (it == m->children.end()) {
      m->children.emplace(name, child);
    } else {
      std::string sub = path + "." + (a->type == Node::Type::kArray ? "$[" + name + "]" : name);
      MS_ASSIGN_OR_RETURN(it->second, merge_nodes(it->second, child, sub));
    }
  }
  if (a->positional && b->positional) {
    MS_ASSIGN_OR_RETURN(m->positional, merge_nodes(a->positional, b->positional, path + ".$"));
  } else {
    m->positional = a->positional ? a->positional : b->positional;
  }
  return NodePtr(m);
}

Status UpdateImpl::apply_object(const Node& n, const bson_iter_t* in, const Miss& miss, std::string_view key,
                                bson_t* out, ApplyState& st) const {
  // The effective children: the map, plus "$" under the matched array position.
  std::vector<std::pair<std::string_view, const Node*>> kids;
  kids.reserve(n.children.size() + 1);
  NodePtr merged;
  if (n.positional) {
    if (!st.details || !st.details->elem_match_key || st.details->elem_match_key->empty()) {
      return Status(common::kBadValue, "The positional operator did not find the match needed from the query.");
    }
    const std::string& matched = *st.details->elem_match_key;
    auto lit = n.children.find(matched);
    bool placed = false;
    for (const auto& [name, child] : n.children) {
      if (!placed && lit == n.children.end() && FieldCmp()(matched, name)) {
        kids.emplace_back(matched, n.positional.get());
        placed = true;
      }
      if (lit != n.children.end() && name == matched) {
        PathScope ps(st.path, matched);
        MS_ASSIGN_OR_RETURN(merged, merge_nodes(n.positional, child, st.path));
        kids.emplace_back(name, merged.get());
        placed = true;
        continue;
      }
      kids.emplace_back(name, child.get());
    }
    if (!placed) kids.emplace_back(matched, n.positional.get());
  } else {
    for (const auto& [name, child] : n.children) kids.emplace_back(name, child.get());
  }

  if (in) {
    bson_type_t t = bson_iter_type(in);
    if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
      bson_t sub;
      const bool is_array = t == BSON_TYPE_ARRAY;
      if (is_array) {
        bson_append_array_begin(out, key.data(), static_cast<int>(key.size()), &sub);
      } else {
        bson_append_document_begin(out, key.data(), static_cast<int>(key.size()), &sub);
      }
      bson_iter_t fields;
      bson_iter_recurse(in, &fields);
      Status s = apply_fields(kids, &fields, is_array, in, &sub, st);
      if (is_array) {
        bson_append_array_end(out, &sub);
      } else {
        bson_append_document_end(out, &sub);
      }
      return s;
    }
    // A scalar: nothing below it can be created; children only report errors.
    copy_elem(out, key, in);
    bson_t scratch = BSON_INITIALIZER;
    Status s;
    for (const auto& [name, child] : kids) {
      PathScope ps(st.path, name);
      Miss m{in, name};
      s = apply_node(*child, nullptr, m, name, &scratch, false, st);
      if (!s.ok()) break;
    }
    bson_destroy(&scratch);
    return s;
  }
  if (miss.blocker) {
    bson_t scratch = BSON_INITIALIZER;
    Status s;
    for (const auto& [name, child] : kids) {
      PathScope ps(st.path, name);
      s = apply_node(*child, nullptr, miss, name, &scratch, false, st);
      if (!s.ok()) break;
    }
    bson_destroy(&scratch);
    return s;
  }
  // Missing: build the object and keep it only when a child created something.
  bson_t sub = BSON_INITIALIZER;
  Status s = apply_fields(kids, nullptr, false, nullptr, &sub, st);
  if (s.ok() && !bson_empty(&sub)) bson_append_document(out, key.data(), static_cast<int>(key.size()), &sub);
  bson_destroy(&sub);
  return s;
}

Status UpdateImpl::apply_fields(const std::vector<std::pair<std::string_view, const Node*>>& kids,
                                bson_iter_t* fields, bool is_array, const bson_iter_t* self, bson_t* sub,
                                ApplyState& st) const {
  const FieldCmp cmp;
  std::vector<char> used(kids.size(), 0);
  uint32_t count = 0;
  if (fields) {
    while (bson_iter_next(fields)) {
      std::string_view k = iter_key(fields);
      ++count;
      size_t idx = kids.size();
      if (!kids.empty()) {
        auto it = std::lower_bound(kids.begin(), kids.end(), k, [&](const auto& kid, std::string_view key) {
          return cmp(kid.first, key);
        });
        if (it != kids.end() && it->first == k) idx = static_cast<size_t>(it - kids.begin());
      }
      if (idx == kids.size() || used[idx]) {
        copy_elem(sub, k, fields);
        continue;
      }
      used[idx] = 1;
      PathScope ps(st.path, k);
      static const Miss kNone;
      MS_RETURN_IF_ERROR(apply_node(*kids[idx].second, fields, kNone, k, sub, is_array, st));
    }
  }
  // Children whose field does not exist yet, appended in the tree's order.
  for (size_t i = 0; i < kids.size(); ++i) {
    if (used[i]) continue;
    std::string_view name = kids[i].first;
    PathScope ps(st.path, name);
    if (!is_array) {
      static const Miss kNone;
      MS_RETURN_IF_ERROR(apply_node(*kids[i].second, nullptr, kNone, name, sub, false, st));
      continue;
    }
    int64_t index;
    if (!parse_array_index(name, &index)) {
      Miss m{self, name};
      bson_t scratch = BSON_INITIALIZER;
      Status s = apply_node(*kids[i].second, nullptr, m, name, &scratch, false, st);
      bson_destroy(&scratch);
      MS_RETURN_IF_ERROR(s);
      continue;
    }
    // Past the end of the array: pad with nulls when the child creates something.
    bson_t one = BSON_INITIALIZER;
    static const Miss kNone;
    Status s = apply_node(*kids[i].second, nullptr, kNone, "0", &one, true, st);
    if (!s.ok()) {
      bson_destroy(&one);
      return s;
    }
    bson_iter_t created;
    if (bson_iter_init(&created, &one) && bson_iter_next(&created)) {
      if (index - static_cast<int64_t>(count) > kMaxPadding) {
        bson_destroy(&one);
        return Status(common::kBadValue, "can't backfill array to larger than 1,500,000 elements");
      }
      char buf[16];
      while (static_cast<int64_t>(count) < index) {
        append_null(sub, common::array_key(count++, buf));
      }
      copy_elem(sub, common::array_key(count++, buf), &created);
    }
    bson_destroy(&one);
  }
  return Status::OK();
}

bool element_matches_filter(const ArrayFilter& f, const std::string& id, const bson_iter_t* elem) {
  bson_t wrapped;
  bson_init(&wrapped);
  bson_append_iter(&wrapped, id.data(), static_cast<int>(id.size()), elem);
  bool r = f.matcher->matches(&wrapped);
  bson_destroy(&wrapped);
  return r;
}

Status UpdateImpl::apply_array_node(const Node& n, const bson_iter_t* in, const Miss& miss, std::string_view key,
                                    bson_t* out, ApplyState& st) const {
  (void)miss;
  if (!in) {
    return Status(common::kBadValue,
                  "The path '" + st.path + "' must exist in the document in order to apply array updates.");
  }
  if (!BSON_ITER_HOLDS_ARRAY(in)) {
    return Status(common::kBadValue, "Cannot apply array updates to non-array element " + elem_str(in));
  }
  bson_t sub;
  bson_append_array_begin(out, key.data(), static_cast<int>(key.size()), &sub);
  bson_iter_t e;
  bson_iter_recurse(in, &e);
  Status s;
  std::vector<NodePtr> matching;
  while (bson_iter_next(&e)) {
    std::string_view k = iter_key(&e);
    matching.clear();
    for (const auto& [id, child] : n.children) {
      if (id.empty()) {
        matching.push_back(child);
        continue;
      }
      auto f = filters_.find(id);
      if (f != filters_.end() && element_matches_filter(f->second, id, &e)) matching.push_back(child);
    }
    if (matching.empty()) {
      copy_elem(&sub, k, &e);
      continue;
    }
    PathScope ps(st.path, k);
    NodePtr node = matching[0];
    for (size_t i = 1; i < matching.size(); ++i) {
      auto m = merge_nodes(node, matching[i], st.path);
      if (!m.ok()) {
        s = m.status();
        break;
      }
      node = *m;
    }
    if (!s.ok()) break;
    static const Miss kNone;
    s = apply_node(*node, &e, kNone, k, &sub, true, st);
    if (!s.ok()) break;
  }
  bson_append_array_end(out, &sub);
  return s;
}

// An array's elements as shallow values pointing into the document.
std::vector<bson_value_t> array_values(const bson_iter_t* arr) {
  std::vector<bson_value_t> v;
  bson_iter_t e;
  bson_iter_recurse(arr, &e);
  while (bson_iter_next(&e)) v.push_back(*bson_iter_value(&e));
  return v;
}

void append_array_of(bson_t* out, std::string_view key, const std::vector<bson_value_t>& vals) {
  bson_t arr;
  bson_append_array_begin(out, key.data(), static_cast<int>(key.size()), &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& v : vals) {
    auto k = common::array_key(i++, buf);
    bson_append_value(&arr, k.data(), static_cast<int>(k.size()), &v);
  }
  bson_append_array_end(out, &arr);
}

Status UpdateImpl::apply_leaf(const Leaf& l, const bson_iter_t* in, const Miss& miss, std::string_view key,
                              bson_t* out, bool parent_array, ApplyState& st) const {
  auto create = [&](const bson_value_t& v) -> Status {
    if (miss.blocker) return not_viable(miss);
    append_val(out, key, v);
    return Status::OK();
  };
  const Collator* coll = ctx_.coll();
  switch (l.op) {
    case Op::kSetOnInsert:
      if (!st.insert) {
        if (in) copy_elem(out, key, in);
        return Status::OK();
      }
      [[fallthrough]];
    case Op::kSet:
      if (in) {
        append_val(out, key, l.arg.raw());
        return Status::OK();
      }
      return create(l.arg.raw());
    case Op::kUnset:
    case Op::kRenameSrc:
      // Removing an array element would shift the others: it becomes null instead.
      if (in && parent_array) append_null(out, key);
      return Status::OK();
    case Op::kInc:
    case Op::kMul: {
      const char* opname = l.op == Op::kInc ? "$inc" : "$mul";
      if (!in) {
        if (l.op == Op::kInc) return create(l.arg.raw());
        bson_value_t zero;
        zero.value_type = BSON_TYPE_INT32;
        zero.value.v_int32 = 0;
        auto r = safe_mul(zero, l.arg.raw());
        return create(*r);
      }
      const bson_value_t* cur = bson_iter_value(const_cast<bson_iter_t*>(in));
      if (!is_number_type(cur->value_type)) {
        return Status(common::kTypeMismatch, std::string("Cannot apply ") + opname +
                                                 " to a value of non-numeric type. {" + id_string(st.doc) +
                                                 "} has the field '" + std::string(iter_key(in)) +
                                                 "' of non-numeric type " + type_name(cur->value_type));
      }
      auto r = l.op == Op::kInc ? safe_add(*cur, l.arg.raw()) : safe_mul(*cur, l.arg.raw());
      if (!r) {
        return Status(common::kBadValue, std::string("Failed to apply ") + opname +
                                             " operations to current value ((NumberLong)" +
                                             std::to_string(cur->value.v_int64) + ") for document {" +
                                             id_string(st.doc) + "}");
      }
      append_val(out, key, *r);
      return Status::OK();
    }
    case Op::kMin:
    case Op::kMax: {
      if (!in) return create(l.arg.raw());
      const bson_value_t* cur = bson_iter_value(const_cast<bson_iter_t*>(in));
      int c = compare_values(&l.arg.raw(), cur, coll);
      bool replace = l.op == Op::kMin ? c < 0 : c > 0;
      if (replace) {
        append_val(out, key, l.arg.raw());
      } else {
        copy_elem(out, key, in);
      }
      return Status::OK();
    }
    case Op::kCurrentDate: {
      bson_value_t v;
      if (l.timestamp) {
        v.value_type = BSON_TYPE_TIMESTAMP;
        if (ctx_.cluster_time_secs) {
          v.value.v_timestamp.timestamp = ctx_.cluster_time_secs;
          v.value.v_timestamp.increment = ctx_.cluster_time_inc;
        } else {
          v.value.v_timestamp.timestamp = static_cast<uint32_t>(ctx_.now_ms / 1000);
          v.value.v_timestamp.increment = 1;
        }
      } else {
        v.value_type = BSON_TYPE_DATE_TIME;
        v.value.v_datetime = ctx_.now_ms;
      }
      if (in) {
        append_val(out, key, v);
        return Status::OK();
      }
      return create(v);
    }
    case Op::kRenameDst: {
      const Value& src = st.rename_src[static_cast<size_t>(l.rename_id)];
      if (src.missing()) {
        if (in) copy_elem(out, key, in);
        return Status::OK();
      }
      if (in) {
        append_val(out, key, src.raw());
        return Status::OK();
      }
      return create(src.raw());
    }
    case Op::kPush: {
      std::vector<bson_value_t> vals;
      if (in) {
        if (!BSON_ITER_HOLDS_ARRAY(in)) {
          return Status(common::kBadValue, "The field '" + std::string(iter_key(in)) +
                                               "' must be an array but is of type " +
                                               type_name(bson_iter_type(in)) + " in document {" +
                                               id_string(st.doc) + "}");
        }
        vals = array_values(in);
      } else if (miss.blocker) {
        return not_viable(miss);
      }
      size_t pos = vals.size();
      if (l.has_position) {
        if (l.position < 0) {
          int64_t p = static_cast<int64_t>(vals.size()) + l.position;
          pos = p < 0 ? 0 : static_cast<size_t>(p);
        } else if (static_cast<uint64_t>(l.position) < vals.size()) {
          pos = static_cast<size_t>(l.position);
        }
      }
      std::vector<bson_value_t> each;
      each.reserve(l.each.size());
      for (const auto& v : l.each) each.push_back(v.raw());
      vals.insert(vals.begin() + static_cast<std::ptrdiff_t>(pos), each.begin(), each.end());
      if (l.sort_kind == 1) {
        std::stable_sort(vals.begin(), vals.end(), [&](const bson_value_t& a, const bson_value_t& b) {
          int c = compare_values(&a, &b, coll);
          return l.sort_asc ? c < 0 : c > 0;
        });
      } else if (l.sort_kind == 2) {
        static const uint8_t kEmpty[5] = {5, 0, 0, 0, 0};
        auto as_doc = [](const bson_value_t& v, bson_t* d) {
          if (v.value_type == BSON_TYPE_DOCUMENT && bson_init_static(d, v.value.v_doc.data, v.value.v_doc.data_len)) {
            return;
          }
          bson_init_static(d, kEmpty, 5);
        };
        std::stable_sort(vals.begin(), vals.end(), [&](const bson_value_t& a, const bson_value_t& b) {
          bson_t da, db;
          as_doc(a, &da);
          as_doc(b, &db);
          return l.sort_pattern->compare(&da, &db, coll) < 0;
        });
      }
      if (l.has_slice) {
        if (l.slice >= 0) {
          if (static_cast<uint64_t>(l.slice) < vals.size()) vals.resize(static_cast<size_t>(l.slice));
        } else {
          uint64_t keep = static_cast<uint64_t>(-(l.slice + 1)) + 1;
          if (keep < vals.size()) vals.erase(vals.begin(), vals.end() - static_cast<std::ptrdiff_t>(keep));
        }
      }
      append_array_of(out, key, vals);
      return Status::OK();
    }
    case Op::kAddToSet: {
      std::vector<bson_value_t> vals;
      if (in) {
        if (!BSON_ITER_HOLDS_ARRAY(in)) {
          return Status(common::kBadValue, "Cannot apply $addToSet to non-array field. Field named '" +
                                               std::string(iter_key(in)) + "' has non-array type " +
                                               type_name(bson_iter_type(in)));
        }
        vals = array_values(in);
      } else if (miss.blocker) {
        return not_viable(miss);
      }
      size_t original = vals.size();
      for (const auto& v : l.each) {
        bool present = false;
        for (size_t i = 0; i < original; ++i) {
          if (compare_values(&vals[i], &v.raw(), coll) == 0) {
            present = true;
            break;
          }
        }
        if (!present) vals.push_back(v.raw());
      }
      if (in && vals.size() == original) {
        copy_elem(out, key, in);
      } else {
        append_array_of(out, key, vals);
      }
      return Status::OK();
    }
    case Op::kPop: {
      if (!in) return Status::OK();
      if (!BSON_ITER_HOLDS_ARRAY(in)) {
        return Status(common::kTypeMismatch, "Path '" + st.path + "' contains an element of non-array type '" +
                                                 type_name(bson_iter_type(in)) + "'");
      }
      auto vals = array_values(in);
      if (vals.empty()) {
        copy_elem(out, key, in);
        return Status::OK();
      }
      if (l.arg.as_double() < 0) {
        vals.erase(vals.begin());
      } else {
        vals.pop_back();
      }
      append_array_of(out, key, vals);
      return Status::OK();
    }
    case Op::kPull:
    case Op::kPullAll: {
      if (!in) return Status::OK();
      if (!BSON_ITER_HOLDS_ARRAY(in)) {
        return Status(common::kBadValue, "Cannot apply $pull to a non-array value");
      }
      std::vector<bson_value_t> kept;
      bson_iter_t e;
      bson_iter_recurse(in, &e);
      std::vector<bson_value_t> all_of;
      if (l.op == Op::kPullAll) {
        bson_t arr;
        init_view(l.arg, &arr);
        bson_iter_t a;
        bson_iter_init(&a, &arr);
        while (bson_iter_next(&a)) all_of.push_back(*bson_iter_value(&a));
      }
      bool removed = false;
      while (bson_iter_next(&e)) {
        const bson_value_t* v = bson_iter_value(&e);
        bool match = false;
        if (l.op == Op::kPullAll) {
          for (const auto& x : all_of) {
            if (compare_values(v, &x, coll) == 0) {
              match = true;
              break;
            }
          }
        } else if (l.pull_kind == 0) {
          match = compare_values(v, &l.arg.raw(), coll) == 0;
        } else if (l.pull_kind == 1) {
          if (v->value_type == BSON_TYPE_DOCUMENT) {
            bson_t d;
            if (bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len)) match = l.pull_matcher->matches(&d);
          }
        } else {
          bson_t wrapped;
          bson_init(&wrapped);
          bson_append_value(&wrapped, "v", 1, v);
          match = l.pull_matcher->matches(&wrapped);
          bson_destroy(&wrapped);
        }
        if (match) {
          removed = true;
        } else {
          kept.push_back(*v);
        }
      }
      if (!removed) {
        copy_elem(out, key, in);
      } else {
        append_array_of(out, key, kept);
      }
      return Status::OK();
    }
    case Op::kBit: {
      bson_value_t cur;
      if (in) {
        cur = *bson_iter_value(const_cast<bson_iter_t*>(in));
        if (cur.value_type != BSON_TYPE_INT32 && cur.value_type != BSON_TYPE_INT64) {
          return Status(common::kBadValue, "Cannot apply $bit to a value of non-integral type." + id_string(st.doc) +
                                               " has the field " + std::string(iter_key(in)) +
                                               " of non-integer type " + type_name(cur.value_type));
        }
      } else {
        if (miss.blocker) return not_viable(miss);
        cur.value_type = BSON_TYPE_INT32;
        cur.value.v_int32 = 0;
      }
      for (const auto& [op, v] : l.bits) cur = bit_apply(cur, v.raw(), op);
      append_val(out, key, cur);
      return Status::OK();
    }
  }
  return Status::OK();
}

// Looks up each $rename source in the original document (plain descent; crossing an array is
// an error, as the server refuses to move array elements).
Status UpdateImpl::resolve_renames(ApplyState& st) const {
  st.rename_src.clear();
  st.rename_src.resize(renames_.size());  // default-constructed: copying a missing Value aborts in libbson
  for (const auto& r : renames_) {
    const FieldPath& from = r->rename_from;
    bson_iter_t it;
    if (!bson_iter_init(&it, st.doc)) continue;
    bool found = true;
    bson_iter_t cur = it;
    const bson_t* level = st.doc;
    (void)level;
    bson_iter_t parent;
    bool have_parent = false;
    for (size_t i = 0; i < from.size(); ++i) {
      if (have_parent) {
        if (BSON_ITER_HOLDS_ARRAY(&parent)) {
          return Status(common::kBadValue, "The source field cannot be an array element, '" + from.dotted() +
                                               "' in doc with " + id_string(st.doc) +
                                               " has an array field called '" + std::string(iter_key(&parent)) + "'");
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&parent)) {
          found = false;
          break;
        }
        bson_iter_recurse(&parent, &cur);
      }
      std::string part(from.part(i));
      if (!bson_iter_find(&cur, part.c_str()) || std::strlen(bson_iter_key(&cur)) != part.size()) {
        found = false;
        break;
      }
      parent = cur;
      have_parent = true;
    }
    if (!found) continue;
    // The destination may not go through an existing array either.
    const FieldPath& to = r->rename_to;
    bson_iter_t d;
    bool dhave = false;
    bson_iter_t dparent;
    if (bson_iter_init(&d, st.doc)) {
      for (size_t i = 0; i + 1 < to.size(); ++i) {
        if (dhave) {
          if (!BSON_ITER_HOLDS_DOCUMENT(&dparent)) break;
          bson_iter_recurse(&dparent, &d);
        }
        std::string part(to.part(i));
        if (!bson_iter_find(&d, part.c_str())) break;
        if (BSON_ITER_HOLDS_ARRAY(&d)) {
          return Status(common::kBadValue, "The destination field cannot be an array element, '" + to.dotted() +
                                               "' in doc with " + id_string(st.doc) +
                                               " has an array field called '" + part + "'");
        }
        dparent = d;
        dhave = true;
      }
    }
    st.rename_src[static_cast<size_t>(r->rename_id)] = Value::from_iter(&parent);
  }
  return Status::OK();
}

// Checks storage rules of a 4.4 server on a whole document: $-prefixed names (other than
// DBRef fields) anywhere outside arrays. Dotted names are storable since 3.6.
Status validate_storage_44(const bson_t* doc, std::string& path, int depth) {
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return Status::OK();
  while (bson_iter_next(&it)) {
    std::string_view k = iter_key(&it);
    size_t mark = path.size();
    if (!path.empty()) path += '.';
    path.append(k);
    if (!k.empty() && k[0] == '$' && k != "$ref" && k != "$id" && k != "$db") {
      return Status(common::kDollarPrefixedFieldName,
                    "The dollar ($) prefixed field '" + std::string(k) + "' in '" + path + "' is not valid for storage.");
    }
    if ((BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) && depth < 200) {
      uint32_t len;
      const uint8_t* data;
      if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
      } else {
        bson_iter_array(&it, &len, &data);
      }
      bson_t sub;
      if (bson_init_static(&sub, data, len) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        MS_RETURN_IF_ERROR(validate_storage_44(&sub, path, depth + 1));
      } else if (bson_init_static(&sub, data, len)) {
        // Array element names are not validated, but documents inside arrays are.
        bson_iter_t e;
        bson_iter_init(&e, &sub);
        while (bson_iter_next(&e)) {
          if (!BSON_ITER_HOLDS_DOCUMENT(&e)) continue;
          uint32_t el;
          const uint8_t* ed;
          bson_iter_document(&e, &el, &ed);
          bson_t ed_doc;
          if (!bson_init_static(&ed_doc, ed, el)) continue;
          size_t m2 = path.size();
          path += '.';
          path.append(iter_key(&e));
          MS_RETURN_IF_ERROR(validate_storage_44(&ed_doc, path, depth + 1));
          path.resize(m2);
        }
      }
    }
    path.resize(mark);
  }
  return Status::OK();
}

// Rebuilds `doc` with _id first when it is not already.
void move_id_first(bson_t* doc) {
  bson_iter_t it;
  if (!bson_iter_init(&it, doc) || !bson_iter_next(&it)) return;
  if (std::strcmp(bson_iter_key(&it), "_id") == 0) return;
  bson_iter_t id;
  if (!bson_iter_init_find(&id, doc, "_id")) return;
  bson_t out = BSON_INITIALIZER;
  bson_append_iter(&out, "_id", 3, &id);
  bson_iter_init(&it, doc);
  bool skipped = false;
  while (bson_iter_next(&it)) {
    if (!skipped && std::strcmp(bson_iter_key(&it), "_id") == 0) {
      skipped = true;
      continue;
    }
    bson_append_iter(&out, nullptr, 0, &it);
  }
  bson_destroy(doc);
  bson_steal(doc, &out);
}

Result<UpdateOutcome> UpdateImpl::finish(const bson_t* old_doc, bson_t* built, bool replacement_style,
                                         const ApplyState* st) const {
  Bson result = Bson::steal(built);
  bson_iter_t old_id, new_id;
  const bool had_id = bson_iter_init_find(&old_id, old_doc, "_id");
  const bool has_id = bson_iter_init_find(&new_id, result.get(), "_id");
  if (had_id) {
    bool same = has_id && compare_values(bson_iter_value(&old_id), bson_iter_value(&new_id), nullptr) == 0;
    if (!same) {
      if (!replacement_style && st) {
        std::string path = "_id";
        for (const auto& p : leaf_paths_) {
          if (p == "_id" || p.rfind("_id.", 0) == 0) {
            path = p;
            break;
          }
        }
        return Status(common::kImmutableField,
                      "Performing an update on the path '" + path + "' would modify the immutable field '_id'");
      }
      if (has_id) {
        return Status(common::kImmutableField,
                      "After applying the update, the (immutable) field '_id' was found to have been altered to " +
                          elem_str(&new_id));
      }
    }
  }
  move_id_first(result.mut());
  UpdateOutcome outcome;
  outcome.modified = !(result.size() == old_doc->len && std::memcmp(result.data(), bson_get_data(old_doc), old_doc->len) == 0);
  if (outcome.modified) {
    bson_iter_t id;
    if (bson_iter_init_find(&id, result.get(), "_id")) {
      bson_type_t t = bson_iter_type(&id);
      const char* bad = t == BSON_TYPE_ARRAY ? "array" : t == BSON_TYPE_REGEX ? "regex" : t == BSON_TYPE_UNDEFINED ? "undefined" : nullptr;
      if (bad) {
        return Status(ctx_.version >= 50 ? common::kInvalidIdField : common::kBadValue,
                      std::string("The '_id' value cannot be of type ") + bad);
      }
    }
    if (ctx_.version >= 50) {
      // 5.0+ storage validation checks top-level names only, and not for pipeline updates
      // (storage_validation.cpp, allowTopLevelDollarPrefixes: a pipeline may $setField them).
      bson_iter_t it;
      bson_iter_init(&it, result.get());
      while (kind_ != Kind::kPipeline && bson_iter_next(&it)) {
        std::string_view k = iter_key(&it);
        if (!k.empty() && k[0] == '$') {
          return Status(common::kDollarPrefixedFieldName, "The dollar ($) prefixed field '" + std::string(k) + "' in '" +
                                                              std::string(k) + "' is not valid for storage.");
        }
      }
    } else {
      std::string path;
      MS_RETURN_IF_ERROR(validate_storage_44(result.get(), path, 0));
    }
    if (result.size() > kMaxUserDocSize) {
      return Status(common::kBSONObjectTooLarge,
                    "Resulting document after update is larger than " + std::to_string(kMaxUserDocSize));
    }
  }
  outcome.doc = std::move(result);
  return outcome;
}

Result<UpdateOutcome> UpdateImpl::apply(const bson_t* doc, const MatchDetails* details, bool is_upsert_insert) const {
  switch (kind_) {
    case Kind::kReplacement: {
      bson_t out = BSON_INITIALIZER;
      bson_iter_t rid, oid;
      const bson_t* repl = original_.get();
      if (bson_iter_init_find(&rid, repl, "_id")) {
        bson_append_iter(&out, "_id", 3, &rid);
      } else if (bson_iter_init_find(&oid, doc, "_id")) {
        bson_append_iter(&out, "_id", 3, &oid);
      }
      bson_iter_t it;
      bson_iter_init(&it, repl);
      while (bson_iter_next(&it)) {
        if (std::strcmp(bson_iter_key(&it), "_id") == 0) continue;
        bson_append_iter(&out, nullptr, 0, &it);
      }
      return finish(doc, &out, true, nullptr);
    }
    case Kind::kPipeline: {
      auto r = apply_update_pipeline(*pipeline_, doc);
      if (!r.ok()) return r.status();
      bson_t out = BSON_INITIALIZER;
      bson_iter_t nid, oid;
      // A pipeline that drops _id keeps the original one.
      if (!bson_iter_init_find(&nid, r->get(), "_id") && bson_iter_init_find(&oid, doc, "_id")) {
        bson_append_iter(&out, "_id", 3, &oid);
      }
      bson_iter_t it;
      bson_iter_init(&it, r->get());
      while (bson_iter_next(&it)) bson_append_iter(&out, nullptr, 0, &it);
      return finish(doc, &out, true, nullptr);
    }
    case Kind::kModifier:
      break;
  }
  ApplyState st;
  st.u = this;
  st.doc = doc;
  st.details = is_upsert_insert ? nullptr : details;
  st.insert = is_upsert_insert;
  MS_RETURN_IF_ERROR(resolve_renames(st));
  std::vector<std::pair<std::string_view, const Node*>> kids;
  kids.reserve(root_.children.size());
  for (const auto& [name, child] : root_.children) kids.emplace_back(name, child.get());
  bson_t out = BSON_INITIALIZER;
  bson_iter_t fields;
  if (!bson_iter_init(&fields, doc)) {
    bson_destroy(&out);
    return Status(common::kInvalidBSON, "invalid document");
  }
  Status s = apply_fields(kids, &fields, false, nullptr, &out, st);
  if (!s.ok()) {
    bson_destroy(&out);
    return s;
  }
  return finish(doc, &out, false, &st);
}

// ---------------------------------------------------------------------------------------------
// Upsert seed

struct Equality {
  std::string path;
  bson_value_t value;  // points into the query
};

Status add_equality(std::vector<Equality>& eqs, std::string_view path, const bson_value_t* v) {
  auto prefix_of = [](std::string_view a, std::string_view b) {
    return a == b || (b.size() > a.size() && b.substr(0, a.size()) == a && b[a.size()] == '.');
  };
  for (const auto& e : eqs) {
    if (prefix_of(e.path, path) || prefix_of(path, e.path)) {
      std::string shorter = e.path.size() <= path.size() ? e.path : std::string(path);
      return Status(common::kNotSingleValueField,
                    "cannot infer query fields to set, path '" + shorter + "' is matched twice");
    }
  }
  eqs.push_back({std::string(path), *v});
  return Status::OK();
}

Status collect_equalities(const bson_t* q, std::vector<Equality>& eqs, int depth) {
  if (depth > 100) return Status::OK();
  bson_iter_t it;
  if (!bson_iter_init(&it, q)) return Status::OK();
  while (bson_iter_next(&it)) {
    std::string_view k = iter_key(&it);
    if (!k.empty() && k[0] == '$') {
      bool is_and = k == "$and";
      bool is_or = k == "$or";
      if ((is_and || is_or) && BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_iter_t e;
        bson_iter_recurse(&it, &e);
        uint32_t n = 0;
        bson_iter_t c = e;
        while (bson_iter_next(&c)) ++n;
        if (is_or && n != 1) continue;  // only a single-clause $or reduces to its clause
        while (bson_iter_next(&e)) {
          if (!BSON_ITER_HOLDS_DOCUMENT(&e)) continue;
          uint32_t len;
          const uint8_t* data;
          bson_iter_document(&e, &len, &data);
          bson_t sub;
          if (bson_init_static(&sub, data, len)) MS_RETURN_IF_ERROR(collect_equalities(&sub, eqs, depth + 1));
        }
      }
      continue;
    }
    const bson_value_t* v = bson_iter_value(&it);
    if (v->value_type == BSON_TYPE_REGEX) continue;
    if (v->value_type == BSON_TYPE_DOCUMENT) {
      bson_t sub;
      if (!bson_init_static(&sub, v->value.v_doc.data, v->value.v_doc.data_len)) continue;
      bson_iter_t f;
      bool ops = bson_iter_init(&f, &sub) && bson_iter_next(&f) && bson_iter_key(&f)[0] == '$';
      if (ops) {
        bson_iter_init(&f, &sub);
        while (bson_iter_next(&f)) {
          std::string_view op = iter_key(&f);
          if (op == "$eq") {
            MS_RETURN_IF_ERROR(add_equality(eqs, k, bson_iter_value(&f)));
          } else if (op == "$in" && BSON_ITER_HOLDS_ARRAY(&f)) {
            bson_iter_t e;
            bson_iter_recurse(&f, &e);
            bson_iter_t c = e;
            uint32_t n = 0;
            while (bson_iter_next(&c)) ++n;
            if (n == 1 && bson_iter_next(&e) && bson_iter_type(&e) != BSON_TYPE_REGEX) {
              MS_RETURN_IF_ERROR(add_equality(eqs, k, bson_iter_value(&e)));
            }
          }
        }
        continue;
      }
    }
    MS_RETURN_IF_ERROR(add_equality(eqs, k, v));
  }
  return Status::OK();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Update>> Update::parse(const bson_iter_t* u, const bson_t* array_filters,
                                              const ExpressionContext& ctx) {
  auto impl = std::make_unique<UpdateImpl>(ctx);
  bson_type_t t = bson_iter_type(u);
  if (t == BSON_TYPE_ARRAY) {
    if (array_filters && !bson_empty(array_filters)) {
      return Status(common::kFailedToParse, "arrayFilters may not be specified for pipeline-syle updates");
    }
    impl->kind_ = Kind::kPipeline;
    uint32_t len;
    const uint8_t* data;
    bson_iter_array(u, &len, &data);
    bson_t stages;
    if (!bson_init_static(&stages, data, len)) return Status(common::kInvalidBSON, "invalid update pipeline");
    impl->original_ = Bson(&stages);
    // Only stages that reshape the one document may appear (the server's update whitelist).
    bson_iter_t st;
    bson_iter_init(&st, &stages);
    while (bson_iter_next(&st)) {
      bson_iter_t first;
      if (!BSON_ITER_HOLDS_DOCUMENT(&st) || !bson_iter_recurse(&st, &first) || !bson_iter_next(&first)) continue;
      std::string_view name = iter_key(&first);
      if (name != "$addFields" && name != "$set" && name != "$project" && name != "$unset" &&
          name != "$replaceRoot" && name != "$replaceWith") {
        return Status(common::kInvalidOptions, std::string(name) + " is not allowed to be used within an update");
      }
    }
    MS_ASSIGN_OR_RETURN(impl->pipeline_, Pipeline::parse(impl->original_.get(), impl->ctx_, nullptr));
    return std::unique_ptr<Update>(std::move(impl));
  }
  if (t != BSON_TYPE_DOCUMENT) {
    return Status(common::kFailedToParse, "Update argument must be either an object or an array");
  }
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(u, &len, &data);
  bson_t doc;
  if (!bson_init_static(&doc, data, len)) return Status(common::kInvalidBSON, "invalid update document");
  impl->original_ = Bson(&doc);
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  const bool modifier = bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
  if (!modifier) {
    impl->kind_ = Kind::kReplacement;
    if (array_filters && !bson_empty(array_filters)) {
      return Status(common::kFailedToParse, "arrayFilters may not be specified for replacement-style updates");
    }
    bson_iter_init(&it, &doc);
    while (bson_iter_next(&it)) {
      const char* k = bson_iter_key(&it);
      if (k[0] == '$') {
        return Status(common::kDollarPrefixedFieldName,
                      "The dollar ($) prefixed field '" + std::string(k) + "' in '" + std::string(k) +
                          "' is not allowed in the context of an update's replacement document. Consider using an "
                          "aggregation pipeline with $replaceWith.");
      }
    }
    return std::unique_ptr<Update>(std::move(impl));
  }
  impl->kind_ = Kind::kModifier;
  MS_RETURN_IF_ERROR(impl->parse_array_filters(array_filters));
  MS_RETURN_IF_ERROR(impl->parse_modifiers(impl->original_.get()));
  return std::unique_ptr<Update>(std::move(impl));
}

Result<Bson> upsert_seed(const bson_t* query) {
  std::vector<Equality> eqs;
  MS_RETURN_IF_ERROR(collect_equalities(query, eqs, 0));
  if (eqs.empty()) return Bson();
  // Build the nested document with the update machinery ($set of each path on {}), so dotted
  // paths share their parents and fields come out in the server's order.
  ExpressionContext ctx;
  UpdateImpl impl(ctx);
  impl.kind_ = Update::Kind::kModifier;
  for (const auto& e : eqs) {
    auto parts = split_path(e.path);
    Node* cur = &impl.root_;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto& slot = cur->children[std::string(parts[i])];
      if (i + 1 == parts.size()) {
        auto leaf = std::make_shared<Leaf>();
        leaf->op = Op::kSet;
        leaf->arg = Value(e.value);
        leaf->path = e.path;
        auto n = std::make_shared<Node>();
        n->type = Node::Type::kLeaf;
        n->leaf = leaf;
        slot = n;
      } else {
        if (!slot) slot = std::make_shared<Node>();
        cur = const_cast<Node*>(slot.get());
      }
    }
  }
  bson_t empty = BSON_INITIALIZER;
  auto r = impl.apply(&empty, nullptr, true);
  bson_destroy(&empty);
  if (!r.ok()) return r.status();
  return std::move(r->doc);
}

Result<Bson> build_upsert_document(const bson_t* query, const Update& update) {
  MS_ASSIGN_OR_RETURN(Bson seed, upsert_seed(query));
  if (update.kind() == Update::Kind::kReplacement) {
    // Only the query's _id carries over into a replacement.
    bson_t only_id = BSON_INITIALIZER;
    bson_iter_t id;
    if (bson_iter_init_find(&id, seed.get(), "_id")) bson_append_iter(&only_id, "_id", 3, &id);
    seed = Bson::steal(&only_id);
  }
  MS_ASSIGN_OR_RETURN(UpdateOutcome out, update.apply(seed.get(), nullptr, true));
  bson_iter_t id;
  if (!bson_iter_init_find(&id, out.doc.get(), "_id")) {
    bson_oid_t oid;
    bson_oid_init(&oid, nullptr);
    bson_t with_id = BSON_INITIALIZER;
    bson_append_oid(&with_id, "_id", 3, &oid);
    bson_concat(&with_id, out.doc.get());
    return Bson::steal(&with_id);
  }
  return std::move(out.doc);
}

}  // namespace mql
