// The log a modifier update writes, reconstructed as the server's update tree produces it while
// applying (update_object_node.cpp, update_array_node.cpp, modifier_node.cpp and the leaf
// nodes). The `u` document is parsed into the same tree (children applied in
// cmpPathsAndArrayIndexes order on 5.0+, string order on 4.4, "$" as a positional child,
// "$[<id>]" under array nodes) and walked over the pre- and
// post-images: what existed in the pre-image is "updated" (or deleted), what did not is
// "created" from its first missing component, and each leaf logs what the server's leaf logs:
//   - $set/$inc/$mul/$min/$max/$bit/$addToSet/$pop/$pull/$pullAll/$currentDate: the new value
//     of the path (nothing when it did not change, except $currentDate);
//   - $unset: a delete, or null for an array element;
//   - $push: the appended elements when it only appended to a non-empty array, otherwise the
//     whole array ($sort and a trimming $slice always count as a change);
//   - $rename: the destination like $set (from the destination's place in the tree), then a
//     delete of the source;
//   - $[] / $[<id>]: each matched element logs itself when at most one element matched, else
//     the one modified element or, when several were, the whole array.
// The log goes to the $v:2 diff tree of v2_log_builder.cpp (5.0+) or to the $set/$unset
// sections of the 4.4 LogBuilder (full dotted paths, sections in order of first use).
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mql/matcher.h"
#include "mql/path.h"
#include "sim/engine/update_diff_internal.h"

namespace sim::engine::update_diff::detail {
namespace {

using common::Bson;
using common::Result;
using common::Status;

std::string_view key_of(const bson_iter_t* it) { return {bson_iter_key(it), bson_iter_key_len(it)}; }

Status not_understood(const std::string& why) {
  return Status(common::kBadValue, "cannot reconstruct the update's oplog entry: " + why);
}

// The order an update tree applies its children: 5.0+ compare canonical numbers by value
// (cmpPathsAndArrayIndexes), 4.4 and earlier compare every name as a string.
struct PathCmp {
  bool numeric = true;
  bool operator()(const std::string& a, const std::string& b) const {
    if (!numeric) return a < b;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (a.empty() || b.empty() || !digit(a[0]) || !digit(b[0]) || (a[0] == '0' && a.size() > 1) ||
        (b[0] == '0' && b.size() > 1)) {
      return a < b;
    }
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
  }
};

// ---------------------------------------------------------------------------------------------
// The update tree

enum class Op { kSet, kUnset, kInc, kMul, kMin, kMax, kRename, kSetOnInsert, kCurrentDate, kPush, kAddToSet,
                kPop, kPull, kPullAll, kBit };

struct OpName {
  const char* name;
  Op op;
};
constexpr OpName kOps[] = {
    {"$set", Op::kSet},        {"$unset", Op::kUnset},       {"$inc", Op::kInc},
    {"$mul", Op::kMul},        {"$min", Op::kMin},           {"$max", Op::kMax},
    {"$rename", Op::kRename},  {"$setOnInsert", Op::kSetOnInsert}, {"$currentDate", Op::kCurrentDate},
    {"$push", Op::kPush},      {"$addToSet", Op::kAddToSet}, {"$pop", Op::kPop},
    {"$pull", Op::kPull},      {"$pullAll", Op::kPullAll},   {"$bit", Op::kBit},
};

struct Leaf {
  Op op = Op::kSet;
  // $push
  size_t push_count = 1;
  bool push_sort = false;
  std::optional<int64_t> push_position;
  std::optional<int64_t> push_slice;
  // $rename: the source path
  std::vector<std::string> rename_from;
};

struct Node;
using NodePtr = std::shared_ptr<Node>;

struct Node {
  enum class Type { kObject, kArray, kLeaf };
  Type type = Type::kObject;
  std::shared_ptr<const Leaf> leaf;
  // Object nodes: field names; array nodes: array filter identifiers ("" for "$[]").
  std::map<std::string, NodePtr> children;
  NodePtr positional;  // object nodes: the "$" child
};

std::vector<std::string> split_path(std::string_view dotted) {
  const mql::FieldPath path(dotted);
  std::vector<std::string> parts;
  for (size_t i = 0; i < path.size(); ++i) parts.emplace_back(path.part(i));
  return parts;
}

bool is_filter_identifier(std::string_view part) {
  return part.size() >= 3 && part[0] == '$' && part[1] == '[' && part.back() == ']';
}

// Numbers as the server's parseIntegerElementToLong takes them for $position and $slice.
std::optional<int64_t> integral(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
      return bson_iter_as_int64(it);
    case BSON_TYPE_DOUBLE: {
      double d = bson_iter_double(it);
      if (d != d || d < -9.2e18 || d > 9.2e18 || static_cast<double>(static_cast<int64_t>(d)) != d) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    default:
      return std::nullopt;
  }
}

Status parse_push(const bson_iter_t* arg, Leaf* leaf) {
  bson_iter_t each;
  if (!BSON_ITER_HOLDS_DOCUMENT(arg) || !bson_iter_recurse(arg, &each) || !bson_iter_find(&each, "$each")) {
    return Status::OK();  // the value itself is pushed
  }
  if (!BSON_ITER_HOLDS_ARRAY(&each)) return not_understood("$push $each is not an array");
  bson_t arr;
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_array(&each, &len, &data);
  if (!bson_init_static(&arr, data, len)) return not_understood("bad $each");
  leaf->push_count = bson_count_keys(&arr);
  bson_iter_t c;
  bson_iter_recurse(arg, &c);
  while (bson_iter_next(&c)) {
    std::string_view k = key_of(&c);
    if (k == "$sort") {
      leaf->push_sort = true;
    } else if (k == "$position") {
      leaf->push_position = integral(&c);
      if (!leaf->push_position) return not_understood("bad $position");
    } else if (k == "$slice") {
      leaf->push_slice = integral(&c);
      if (!leaf->push_slice) return not_understood("bad $slice");
    }
  }
  return Status::OK();
}

// Adds a leaf at `parts` (UpdateObjectNode::parseAndMerge).
Status insert_leaf(Node* root, const std::vector<std::string>& parts, std::shared_ptr<const Leaf> leaf) {
  Node* cur = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    NodePtr* slot = nullptr;
    std::string key;
    if (cur->type == Node::Type::kArray) {
      if (!is_filter_identifier(part)) return not_understood("array node without filter identifier");
      key = part.substr(2, part.size() - 3);
      slot = &cur->children[key];
    } else if (part == "$") {
      slot = &cur->positional;
    } else if (is_filter_identifier(part)) {
      return not_understood("array filter identifier in the first position");
    } else {
      slot = &cur->children[part];
    }
    if (last) {
      if (*slot) return Status(common::kConflictingUpdateOperators, "conflicting paths in the update");
      auto n = std::make_shared<Node>();
      n->type = Node::Type::kLeaf;
      n->leaf = std::move(leaf);
      *slot = n;
      return Status::OK();
    }
    const Node::Type want = is_filter_identifier(parts[i + 1]) ? Node::Type::kArray : Node::Type::kObject;
    if (!*slot) {
      auto n = std::make_shared<Node>();
      n->type = want;
      *slot = n;
    } else if ((*slot)->type != want) {
      return Status(common::kConflictingUpdateOperators, "conflicting paths in the update");
    }
    cur = slot->get();
  }
  return Status::OK();
}

Status parse_update(const bson_t* u, Node* root) {
  bson_iter_t it;
  if (!u || !bson_iter_init(&it, u)) return not_understood("no update document");
  while (bson_iter_next(&it)) {
    std::string_view name = key_of(&it);
    const OpName* op = nullptr;
    for (const auto& o : kOps) {
      if (name == o.name) op = &o;
    }
    if (!op) return not_understood("unknown modifier " + std::string(name));
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return not_understood("modifier argument is not a document");
    bson_iter_t f;
    bson_iter_recurse(&it, &f);
    while (bson_iter_next(&f)) {
      auto leaf = std::make_shared<Leaf>();
      leaf->op = op->op;
      std::vector<std::string> parts;
      if (op->op == Op::kRename) {
        // The RenameNode sits at the destination; the source only claims its path.
        if (!BSON_ITER_HOLDS_UTF8(&f)) return not_understood("$rename target is not a string");
        uint32_t len = 0;
        const char* to = bson_iter_utf8(&f, &len);
        leaf->rename_from = split_path(key_of(&f));
        parts = split_path(std::string_view(to, len));
      } else {
        parts = split_path(key_of(&f));
        if (op->op == Op::kPush) MS_RETURN_IF_ERROR(parse_push(&f, leaf.get()));
      }
      MS_RETURN_IF_ERROR(insert_leaf(root, parts, std::move(leaf)));
    }
  }
  return Status::OK();
}

// UpdateNode::createUpdateNodeByMerging: the union of two subtrees applied to one element.
Result<NodePtr> merge(const NodePtr& a, const NodePtr& b) {
  if (a->type == Node::Type::kLeaf || b->type == Node::Type::kLeaf || a->type != b->type) {
    return Status(common::kConflictingUpdateOperators, "Update created a conflict");
  }
  auto m = std::make_shared<Node>(*a);
  for (const auto& [name, child] : b->children) {
    auto it = m->children.find(name);
    if (it == m->children.end()) {
      m->children.emplace(name, child);
    } else {
      MS_ASSIGN_OR_RETURN(it->second, merge(it->second, child));
    }
  }
  if (a->positional && b->positional) {
    MS_ASSIGN_OR_RETURN(m->positional, merge(a->positional, b->positional));
  } else if (b->positional) {
    m->positional = b->positional;
  }
  return NodePtr(m);
}

// ---------------------------------------------------------------------------------------------
// Logging

struct PathComp {
  std::string name;
  bool index = false;  // RuntimeUpdatePath::ComponentType::kArrayIndex
};
using Path = std::vector<PathComp>;

std::string dotted(const Path& p) {
  std::string s;
  for (const auto& c : p) {
    if (!s.empty()) s += '.';
    s += c.name;
  }
  return s;
}

// LogBuilderInterface.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual Status updated(const Path& p, const bson_iter_t& v) = 0;
  virtual Status created(const Path& p, size_t first_new, const bson_iter_t& v) = 0;
  virtual Status deleted(const Path& p) = 0;
  // $unset of an array element: 5.0+ log the null it leaves, 4.4 an $unset of the path.
  virtual Status unset_element(const Path& p, const bson_iter_t& v) { return updated(p, v); }
};

// Counts what a subtree would log (UpdateArrayNode applies children without a log builder
// to learn how many elements they modified).
class CountingLogger final : public Logger {
 public:
  Status updated(const Path&, const bson_iter_t&) override { return bump(); }
  Status created(const Path&, size_t, const bson_iter_t&) override { return bump(); }
  Status deleted(const Path&) override { return bump(); }
  size_t count = 0;

 private:
  Status bump() {
    ++count;
    return Status::OK();
  }
};

// v2_log_builder.cpp: a tree of sub-diffs built from the logged paths, serialized as d, u, i,
// then s<field> (each section in logging order), arrays as a: true then u<i>/s<i> ascending.
class V2Logger final : public Logger {
 public:
  Status updated(const Path& p, const bson_iter_t& v) override {
    return add(p, make(Kind::kUpdate, &v), std::nullopt);
  }
  Status created(const Path& p, size_t first_new, const bson_iter_t& v) override {
    return add(p, make(Kind::kInsert, &v), first_new);
  }
  Status deleted(const Path& p) override { return add(p, make(Kind::kDelete, nullptr), std::nullopt); }

  bool empty() const { return root_.fields.empty(); }
  Bson entry() const {
    bson_t diff = BSON_INITIALIZER;
    write(root_, &diff);
    bson_t out = BSON_INITIALIZER;
    bson_append_int32(&out, "$v", 2, 2);
    bson_append_document(&out, "diff", 4, &diff);
    bson_destroy(&diff);
    return Bson::steal(&out);
  }

 private:
  enum class Kind { kSubDiff, kDocInsert, kArray, kUpdate, kInsert, kDelete };
  struct LNode {
    Kind kind = Kind::kSubDiff;
    bson_iter_t value{};
    std::vector<std::pair<std::string, std::unique_ptr<LNode>>> fields;  // logging order
    std::map<size_t, std::unique_ptr<LNode>> items;                       // array nodes
  };

  static std::unique_ptr<LNode> make(Kind k, const bson_iter_t* v) {
    auto n = std::make_unique<LNode>();
    n->kind = k;
    if (v) n->value = *v;
    return n;
  }
  static bool internal(Kind k) { return k == Kind::kSubDiff || k == Kind::kDocInsert || k == Kind::kArray; }

  static LNode* find(LNode* n, const std::string& name) {
    if (n->kind == Kind::kArray) {
      int64_t idx = 0;
      if (!mql::parse_array_index(name, &idx)) return nullptr;
      auto it = n->items.find(static_cast<size_t>(idx));
      return it == n->items.end() ? nullptr : it->second.get();
    }
    for (auto& [k, child] : n->fields) {
      if (k == name) return child.get();
    }
    return nullptr;
  }

  static Result<LNode*> add_child(LNode* parent, const std::string& name, std::unique_ptr<LNode> child) {
    LNode* raw = child.get();
    if (parent->kind == Kind::kArray) {
      int64_t idx = 0;
      if (!mql::parse_array_index(name, &idx) || child->kind == Kind::kDelete) {
        return not_understood("bad array element log at '" + name + "'");
      }
      if (!parent->items.emplace(static_cast<size_t>(idx), std::move(child)).second) {
        return not_understood("array element '" + name + "' logged twice");
      }
      return raw;
    }
    if (parent->kind == Kind::kDocInsert && child->kind != Kind::kInsert && child->kind != Kind::kDocInsert) {
      return not_understood("update under a created path at '" + name + "'");
    }
    for (const auto& [k, c] : parent->fields) {
      if (k == name) return Status(7693400, "Document already has a field named '" + name + "'");
    }
    parent->fields.emplace_back(name, std::move(child));
    return raw;
  }

  // V2LogBuilder::addNodeAtPath.
  Status add(const Path& p, std::unique_ptr<LNode> leaf, std::optional<size_t> first_new) {
    if (p.empty()) return not_understood("empty path");
    LNode* cur = &root_;
    for (size_t i = 0; i + 1 < p.size(); ++i) {
      LNode* child = find(cur, p[i].name);
      if (!child) {
        const bool is_new = first_new && i >= *first_new;
        Kind k = p[i + 1].index ? Kind::kArray : is_new ? Kind::kDocInsert : Kind::kSubDiff;
        MS_ASSIGN_OR_RETURN(child, add_child(cur, p[i].name, make(k, nullptr)));
      } else if (!internal(child->kind)) {
        return not_understood("path below a logged value at '" + dotted(p) + "'");
      }
      cur = child;
    }
    MS_ASSIGN_OR_RETURN(LNode * added, add_child(cur, p.back().name, std::move(leaf)));
    (void)added;
    return Status::OK();
  }

  static void write_value(bson_t* out, std::string_view key, const LNode& n) {
    if (n.kind == Kind::kDocInsert) {
      bson_t sub;
      bson_append_document_begin(out, key.data(), static_cast<int>(key.size()), &sub);
      for (const auto& [k, c] : n.fields) write_value(&sub, k, *c);
      bson_append_document_end(out, &sub);
      return;
    }
    common::append_iter(out, key, &n.value);
  }

  static void write(const LNode& n, bson_t* out) {
    if (n.kind == Kind::kArray) {
      bson_append_bool(out, "a", 1, true);
      for (const auto& [idx, c] : n.items) {
        const bool sub = c->kind == Kind::kSubDiff || c->kind == Kind::kArray;
        std::string key = (sub ? "s" : "u") + std::to_string(idx);
        if (sub) {
          bson_t child;
          bson_append_document_begin(out, key.data(), static_cast<int>(key.size()), &child);
          write(*c, &child);
          bson_append_document_end(out, &child);
        } else {
          write_value(out, key, *c);
        }
      }
      return;
    }
    auto section = [&](const char* name, auto pick) {
      bool open = false;
      bson_t sub;
      for (const auto& [k, c] : n.fields) {
        if (!pick(c->kind)) continue;
        if (!open) {
          bson_append_document_begin(out, name, 1, &sub);
          open = true;
        }
        if (c->kind == Kind::kDelete) {
          common::append_bool(&sub, k, false);
        } else {
          write_value(&sub, k, *c);
        }
      }
      if (open) bson_append_document_end(out, &sub);
    };
    section("d", [](Kind k) { return k == Kind::kDelete; });
    section("u", [](Kind k) { return k == Kind::kUpdate; });
    section("i", [](Kind k) { return k == Kind::kInsert || k == Kind::kDocInsert; });
    for (const auto& [k, c] : n.fields) {
      if (c->kind != Kind::kSubDiff && c->kind != Kind::kArray) continue;
      std::string key = "s" + k;
      bson_t child;
      bson_append_document_begin(out, key.data(), static_cast<int>(key.size()), &child);
      write(*c, &child);
      bson_append_document_end(out, &child);
    }
  }

  LNode root_;
};

// The 4.4 LogBuilder: {$v: 1, $set: {dotted: value}, $unset: {dotted: true}}, the sections in
// the order they were first used.
class V1Logger final : public Logger {
 public:
  Status updated(const Path& p, const bson_iter_t& v) override { return set(p, v); }
  Status created(const Path& p, size_t, const bson_iter_t& v) override { return set(p, v); }
  Status deleted(const Path& p) override {
    if (!first_) first_ = 'u';
    unsets_.push_back(dotted(p));
    return Status::OK();
  }
  Status unset_element(const Path& p, const bson_iter_t&) override { return deleted(p); }

  bool empty() const { return sets_.empty() && unsets_.empty(); }
  Bson entry() const {
    bson_t out = BSON_INITIALIZER;
    bson_append_int32(&out, "$v", 2, 1);
    auto write_sets = [&] {
      if (sets_.empty()) return;
      bson_t s;
      bson_append_document_begin(&out, "$set", 4, &s);
      for (const auto& e : sets_) common::append_iter(&s, e.path, &e.value);
      bson_append_document_end(&out, &s);
    };
    auto write_unsets = [&] {
      if (unsets_.empty()) return;
      bson_t s;
      bson_append_document_begin(&out, "$unset", 6, &s);
      for (const auto& k : unsets_) common::append_bool(&s, k, true);
      bson_append_document_end(&out, &s);
    };
    if (first_ == 'u') {
      write_unsets();
      write_sets();
    } else {
      write_sets();
      write_unsets();
    }
    return Bson::steal(&out);
  }

 private:
  Status set(const Path& p, const bson_iter_t& v) {
    if (!first_) first_ = 's';
    sets_.push_back({dotted(p), v});
    return Status::OK();
  }
  char first_ = 0;
  struct Set {
    std::string path;
    bson_iter_t value;
  };
  std::vector<Set> sets_;
  std::vector<std::string> unsets_;
};

// ---------------------------------------------------------------------------------------------
// Walking the tree over the two images

// An object or array value of one image, with random access to array elements.
class Container {
 public:
  Container() = default;
  explicit Container(const bson_t* doc) : present_(true) { bson_init_static(&b_, bson_get_data(doc), doc->len); }
  static std::optional<Container> of(const bson_iter_t* it) {
    if (!it) return std::nullopt;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    Container c;
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
      bson_iter_document(it, &len, &data);
    } else if (BSON_ITER_HOLDS_ARRAY(it)) {
      bson_iter_array(it, &len, &data);
      c.array_ = true;
    } else {
      return std::nullopt;
    }
    if (!bson_init_static(&c.b_, data, len)) return std::nullopt;
    c.present_ = true;
    return c;
  }
  Container(const Container& o) : present_(o.present_), array_(o.array_) {
    if (present_) bson_init_static(&b_, bson_get_data(&o.b_), o.b_.len);
  }
  Container& operator=(const Container&) = delete;

  bool array() const { return array_; }
  // The element named `name` (an index for arrays); false when absent.
  bool child(const std::string& name, bson_iter_t* out) {
    if (array_) {
      int64_t idx = 0;
      if (!mql::parse_array_index(name, &idx)) return false;
      index();
      if (static_cast<size_t>(idx) >= elems_.size()) return false;
      *out = elems_[static_cast<size_t>(idx)].it;
      return true;
    }
    return bson_iter_init_find_w_len(out, &b_, name.data(), static_cast<int>(name.size()));
  }
  const std::vector<Elem>& elements() {
    index();
    return elems_;
  }

 private:
  void index() {
    if (indexed_) return;
    indexed_ = true;
    bson_iter_t it;
    if (!bson_iter_init(&it, &b_)) return;
    while (bson_iter_next(&it)) elems_.push_back({it});
  }
  bson_t b_{};
  bool present_ = false;
  bool array_ = false;
  bool indexed_ = false;
  std::vector<Elem> elems_;
};

struct ArrayFilter {
  Bson doc;
  std::unique_ptr<mql::Matcher> matcher;
};

// The identifier an array filter binds: the first component of its top-level field names
// (looking through $and/$or/$nor), as mql::Update and the server parse it.
std::optional<std::string> filter_identifier(const bson_t* f, int depth = 0) {
  bson_iter_t it;
  if (depth > 20 || !bson_iter_init(&it, f)) return std::nullopt;
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (!k.empty() && k[0] == '$') {
      if ((k == "$and" || k == "$or" || k == "$nor") && BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_iter_t e;
        bson_iter_recurse(&it, &e);
        while (bson_iter_next(&e)) {
          if (!BSON_ITER_HOLDS_DOCUMENT(&e)) continue;
          uint32_t len = 0;
          const uint8_t* data = nullptr;
          bson_iter_document(&e, &len, &data);
          bson_t sub;
          if (!bson_init_static(&sub, data, len)) continue;
          if (auto id = filter_identifier(&sub, depth + 1)) return id;
        }
      }
      continue;
    }
    return std::string(k.substr(0, k.find('.')));
  }
  return std::nullopt;
}

class Walker {
 public:
  Walker(const bson_t* pre_root, const std::optional<std::string>& positional,
         const std::map<std::string, ArrayFilter>& filters, bool numeric_order)
      : pre_root_(pre_root), positional_(positional), filters_(filters), order_{numeric_order} {}

  Status walk_root(const Node& root, const bson_t* pre, const bson_t* post, Logger& log) {
    Container a(pre), b(post);
    Path path;
    return walk_object(root, &a, &b, path, std::nullopt, log);
  }

 private:
  // The children an object node applies, in order, with "$" resolved to the matched position
  // (merged with a same-named child).
  Status effective_children(const Node& n, Container* pre, Container* post,
                            std::vector<std::pair<std::string, NodePtr>>* kids) {
    for (const auto& [name, child] : n.children) kids->emplace_back(name, child);
    if (n.positional) {
      std::optional<std::string> m = positional_;
      if (!m) m = infer_position(n, pre, post);
      // Without a position nothing changed under "$", so it logged nothing.
      if (m) {
        auto same = std::find_if(kids->begin(), kids->end(), [&](const auto& kid) { return kid.first == *m; });
        if (same != kids->end()) {
          MS_ASSIGN_OR_RETURN(same->second, merge(n.positional, same->second));
        } else {
          kids->emplace_back(*m, n.positional);
        }
      }
    }
    std::sort(kids->begin(), kids->end(), [&](const auto& a, const auto& b) { return order_(a.first, b.first); });
    return Status::OK();
  }

  // Without the query's match, "$" is taken to be the first array element that changed and
  // that no other child names.
  static std::optional<std::string> infer_position(const Node& n, Container* pre, Container* post) {
    if (!pre || !pre->array() || !post || !post->array()) return std::nullopt;
    const auto& a = pre->elements();
    const auto& b = post->elements();
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      std::string name = std::to_string(i);
      if (n.children.count(name)) continue;
      if (i >= a.size() || i >= b.size() || !same_value(&a[i].it, &b[i].it)) return name;
    }
    return std::nullopt;
  }

  Status walk_object(const Node& n, Container* pre, Container* post, Path& path, std::optional<size_t> first_new,
                     Logger& log) {
    std::vector<std::pair<std::string, NodePtr>> kids;
    MS_RETURN_IF_ERROR(effective_children(n, pre, post, &kids));
    for (const auto& [name, child] : kids) {
      bson_iter_t pe, qe;
      const bool has_pre = pre && pre->child(name, &pe);
      const bool has_post = post && post->child(name, &qe);
      std::optional<size_t> fn = first_new;
      if (!fn && !has_pre) fn = path.size();
      path.push_back({name, pre && pre->array()});
      Status s = walk_node(*child, has_pre ? &pe : nullptr, has_post ? &qe : nullptr, path, fn, log);
      path.pop_back();
      MS_RETURN_IF_ERROR(s);
    }
    return Status::OK();
  }

  Status walk_node(const Node& n, const bson_iter_t* pre, const bson_iter_t* post, Path& path,
                   std::optional<size_t> first_new, Logger& log) {
    switch (n.type) {
      case Node::Type::kLeaf:
        return walk_leaf(*n.leaf, pre, post, path, first_new, log);
      case Node::Type::kArray:
        return walk_array(n, pre, post, path, log);
      case Node::Type::kObject:
        break;
    }
    auto a = Container::of(pre);
    auto b = Container::of(post);
    // Below a scalar nothing can be created; the modifiers that accept such a path ($unset,
    // $pull, $pop, $setOnInsert outside an insert...) are no-ops there.
    if (pre && !a) return Status::OK();
    return walk_object(n, a ? &*a : nullptr, b ? &*b : nullptr, path, first_new, log);
  }

  // UpdateArrayNode::apply.
  Status walk_array(const Node& n, const bson_iter_t* pre, const bson_iter_t* post, Path& path, Logger& log) {
    auto a = Container::of(pre);
    auto b = Container::of(post);
    if (!a || !a->array() || !b || !b->array()) {
      return not_understood("array update on a non-array at '" + dotted(path) + "'");
    }
    const auto& elems = a->elements();
    const auto& after = b->elements();
    std::vector<std::pair<size_t, NodePtr>> matched;
    for (size_t i = 0; i < elems.size(); ++i) {
      NodePtr merged;
      for (const auto& [id, child] : n.children) {
        if (!id.empty()) {
          auto f = filters_.find(id);
          if (f == filters_.end()) return not_understood("no array filter for identifier '" + id + "'");
          bson_t wrapped = BSON_INITIALIZER;
          bson_append_iter(&wrapped, id.data(), static_cast<int>(id.size()), &elems[i].it);
          const bool hit = f->second.matcher->matches(&wrapped);
          bson_destroy(&wrapped);
          if (!hit) continue;
        }
        if (!merged) {
          merged = child;
        } else {
          MS_ASSIGN_OR_RETURN(merged, merge(merged, child));
        }
      }
      if (merged) matched.emplace_back(i, merged);
    }
    auto element = [&](size_t i) { return i < after.size() ? &after[i].it : nullptr; };
    if (matched.size() <= 1) {
      for (const auto& [i, child] : matched) {
        path.push_back({std::to_string(i), true});
        Status s = walk_node(*child, &elems[i].it, element(i), path, std::nullopt, log);
        path.pop_back();
        MS_RETURN_IF_ERROR(s);
      }
      return Status::OK();
    }
    std::vector<size_t> modified;
    for (const auto& [i, child] : matched) {
      CountingLogger counter;
      path.push_back({std::to_string(i), true});
      Status s = walk_node(*child, &elems[i].it, element(i), path, std::nullopt, counter);
      path.pop_back();
      MS_RETURN_IF_ERROR(s);
      if (counter.count > 0) modified.push_back(i);
    }
    if (modified.size() > 1) return log.updated(path, *post);
    if (modified.size() == 1 && element(modified[0])) {
      path.push_back({std::to_string(modified[0]), true});
      Status s = log.updated(path, *element(modified[0]));
      path.pop_back();
      return s;
    }
    return Status::OK();
  }

  Status walk_leaf(const Leaf& l, const bson_iter_t* pre, const bson_iter_t* post, Path& path,
                   std::optional<size_t> first_new, Logger& log) {
    auto created = [&]() -> Status {
      if (!post) return Status::OK();
      return log.created(path, first_new.value_or(path.size() - 1), *post);
    };
    switch (l.op) {
      case Op::kSetOnInsert:
        return Status::OK();  // only an upsert's insert applies it, and that logs an insert
      case Op::kRename:
        return walk_rename(l, pre, post, path, first_new, log);
      case Op::kUnset:
        if (!pre) return Status::OK();
        if (path.back().index) return post ? log.unset_element(path, *post) : Status::OK();
        return log.deleted(path);
      case Op::kPop:
      case Op::kPull:
      case Op::kPullAll:
        // These never create a missing array.
        if (!pre || !post || same_value(pre, post)) return Status::OK();
        return log.updated(path, *post);
      case Op::kPush:
        return walk_push(l, pre, post, path, first_new, log);
      case Op::kCurrentDate:
        if (!pre) return created();
        return post ? log.updated(path, *post) : Status::OK();
      default:
        if (!pre) return created();
        if (!post || same_value(pre, post)) return Status::OK();
        return log.updated(path, *post);
    }
  }

  // PushNode: kArrayAppendUpdate logs each appended element; a $sort or a trimming $slice is
  // always a normal update of the whole array.
  Status walk_push(const Leaf& l, const bson_iter_t* pre, const bson_iter_t* post, Path& path,
                   std::optional<size_t> first_new, Logger& log) {
    if (!pre) return post ? log.created(path, first_new.value_or(path.size() - 1), *post) : Status::OK();
    auto a = Container::of(pre);
    auto b = Container::of(post);
    if (!a || !a->array() || !b || !b->array()) return not_understood("$push on a non-array");
    const size_t n = a->elements().size();
    const size_t k = l.push_count;
    bool trims = false;
    if (l.push_slice) {
      const int64_t s = *l.push_slice;
      const uint64_t limit = s >= 0 ? static_cast<uint64_t>(s)
                                    : s == std::numeric_limits<int64_t>::min() ? static_cast<uint64_t>(INT64_MAX)
                                                                               : static_cast<uint64_t>(-s);
      trims = static_cast<uint64_t>(n + k) > limit;
    }
    const bool append = n > 0 && k > 0 && !l.push_sort && !trims &&
                        (!l.push_position || *l.push_position > static_cast<int64_t>(n));
    if (append) {
      const auto& after = b->elements();
      if (after.size() < n + k) return not_understood("$push appended fewer elements than expected");
      for (size_t j = 0; j < k; ++j) {
        path.push_back({std::to_string(n + j), true});
        Status s = log.created(path, path.size() - 1, after[n + j].it);
        path.pop_back();
        MS_RETURN_IF_ERROR(s);
      }
      return Status::OK();
    }
    if (l.push_sort || trims || !same_value(pre, post)) return log.updated(path, *post);
    return Status::OK();
  }

  // RenameNode: a SetElementNode at the destination, then an UnsetNode at the source.
  Status walk_rename(const Leaf& l, const bson_iter_t* pre, const bson_iter_t* post, Path& path,
                     std::optional<size_t> first_new, Logger& log) {
    bson_iter_t src;
    bool found = false;
    {
      // `src` points into the pre-image's bytes, which outlive these views.
      Container root(pre_root_);
      std::optional<Container> sub;
      Container* cur = &root;
      for (size_t i = 0; i < l.rename_from.size(); ++i) {
        if (cur->array() || !cur->child(l.rename_from[i], &src)) break;
        if (i + 1 == l.rename_from.size()) {
          found = true;
          break;
        }
        auto next = Container::of(&src);
        if (!next) break;
        sub.emplace(*next);
        cur = &*sub;
      }
    }
    if (!found) return Status::OK();  // a missing source makes the rename a no-op
    if (pre) {
      if (post && !same_value(pre, &src)) MS_RETURN_IF_ERROR(log.updated(path, *post));
    } else if (post) {
      MS_RETURN_IF_ERROR(log.created(path, first_new.value_or(path.size() - 1), *post));
    }
    Path from;
    for (const auto& part : l.rename_from) from.push_back({part, false});
    return log.deleted(from);
  }

  const bson_t* pre_root_;
  const std::optional<std::string>& positional_;
  const std::map<std::string, ArrayFilter>& filters_;
  PathCmp order_;
};

Status parse_filters(const bson_t* filters, const mql::ExpressionContext& ctx, std::map<std::string, ArrayFilter>* out) {
  if (!filters) return Status::OK();
  bson_iter_t it;
  if (!bson_iter_init(&it, filters)) return not_understood("bad arrayFilters");
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return not_understood("array filter is not a document");
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    ArrayFilter f;
    f.doc = Bson(data, len);
    auto id = filter_identifier(f.doc.get());
    if (!id) return not_understood("array filter without a top-level field");
    auto m = mql::Matcher::parse(f.doc.get(), ctx);
    if (!m.ok()) return m.status();
    f.matcher = std::move(*m);
    out->emplace(*id, std::move(f));
  }
  return Status::OK();
}

}  // namespace

Result<Bson> modifier_log(const bson_t* pre, const bson_t* post, const bson_t* update, const UpdateContext& ctx,
                          mql::ServerVersion version) {
  Node root;
  MS_RETURN_IF_ERROR(parse_update(update, &root));
  std::optional<mql::ExpressionContext> local;
  if (ctx.array_filters && !ctx.expr_ctx) {
    local.emplace();
    local->version = version;
  }
  std::map<std::string, ArrayFilter> filters;
  if (ctx.array_filters) {
    MS_RETURN_IF_ERROR(parse_filters(ctx.array_filters, ctx.expr_ctx ? *ctx.expr_ctx : *local, &filters));
  }
  Walker walker(pre, ctx.positional_match, filters, version >= 50);
  if (version < 50) {
    V1Logger log;
    MS_RETURN_IF_ERROR(walker.walk_root(root, pre, post, log));
    if (log.empty()) return not_understood("the update logged nothing");
    return log.entry();
  }
  V2Logger log;
  MS_RETURN_IF_ERROR(walker.walk_root(root, pre, post, log));
  if (log.empty()) return not_understood("the update logged nothing");
  return log.entry();
}

}  // namespace sim::engine::update_diff::detail
