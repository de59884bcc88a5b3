// computeOplogDiff: the $v:2 diff a pipeline update logs (document_diff_calculator.cpp). Fields
// are compared in order; a renamed position is a delete plus an insert at the end; objects and
// arrays of the same type recurse; a sub-diff that grows past its new value is replaced by an
// update of the whole value, and the whole diff is dropped when it is not smaller than the new
// document (the caller then logs a replacement). The size estimate follows the server's own
// bookkeeping, including its version differences, since it decides where the diff gives up.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/engine/update_diff_internal.h"

namespace sim::engine::update_diff::detail {
namespace {

using common::Bson;

std::string_view key_of(const bson_iter_t* it) { return {bson_iter_key(it), bson_iter_key_len(it)}; }

// The whole element (type, name, value): BSONElement::binaryEqual.
std::string_view element_bytes(const bson_iter_t* it) {
  return {reinterpret_cast<const char*>(it->raw + it->off), static_cast<size_t>(it->next_off - it->off)};
}

size_t digits(size_t n) {
  size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

struct CalcNode;
using CalcNodePtr = std::unique_ptr<CalcNode>;

struct CalcNode {
  bool array = false;
  size_t size = 0;  // the server's approximate serialized size
  // Document diffs.
  std::vector<std::string_view> deletes;
  struct Field {
    std::string_view name;
    bson_iter_t value;
  };
  std::vector<Field> updates;
  std::vector<Field> inserts;
  std::vector<std::pair<std::string_view, CalcNodePtr>> subdiffs;
  // Array diffs: modifications in ascending index order.
  std::optional<uint32_t> resize;
  struct Mod {
    size_t index;
    bson_iter_t value;   // an update, when `child` is null
    CalcNodePtr child;   // a sub-diff
  };
  std::vector<Mod> mods;
};

constexpr size_t kWrapping = 8;  // type byte, one-letter name, its NUL, an empty object
constexpr size_t kEmptyDocDiff = 5;
constexpr size_t kEmptyArrayDiff = 9;  // empty object + "a": true

class Calculator {
 public:
  explicit Calculator(bool ignore_size_limit) : ignore_(ignore_size_limit) {}

  CalcNodePtr doc_diff(const bson_t* pre, const bson_t* post, size_t padding) const {
    auto node = std::make_unique<CalcNode>();
    node->size = kEmptyDocDiff + padding;
    const size_t post_size = post->len;
    bson_iter_t pi, qi;  // pre, post
    bool pre_more = bson_iter_init(&pi, pre) && bson_iter_next(&pi);
    bool post_more = bson_iter_init(&qi, post) && bson_iter_next(&qi);
    // Pre fields whose name moved: deleted unless the name reappears among the trailing inserts.
    std::set<std::string_view> deletes;
    while (pre_more && post_more) {
      if (!ignore_ && post_size < node->size) return nullptr;
      if (element_bytes(&pi) == element_bytes(&qi)) {
        pre_more = bson_iter_next(&pi);
        post_more = bson_iter_next(&qi);
        continue;
      }
      if (key_of(&pi) == key_of(&qi)) {
        const bson_type_t t = bson_iter_type(&pi);
        if (t == bson_iter_type(&qi) && (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY)) {
          sub_diff(&pi, &qi, key_of(&pi), node.get());
        } else {
          add_update(node.get(), key_of(&pi), qi);
        }
        pre_more = bson_iter_next(&pi);
        post_more = bson_iter_next(&qi);
      } else {
        deletes.insert(key_of(&pi));
        pre_more = bson_iter_next(&pi);
      }
    }
    // Only one side has fields left: trailing pre fields are deletions, trailing post fields
    // insertions (which revive a moved name).
    for (; pre_more; pre_more = bson_iter_next(&pi)) add_delete(node.get(), key_of(&pi));
    for (; post_more; post_more = bson_iter_next(&qi)) {
      add_insert(node.get(), key_of(&qi), qi);
      deletes.erase(key_of(&qi));
    }
    for (std::string_view d : deletes) add_delete(node.get(), d);
    return (ignore_ || post_size > node->size) ? std::move(node) : nullptr;
  }

 private:
  CalcNodePtr array_diff(const bson_t* pre, const bson_t* post) const {
    auto node = std::make_unique<CalcNode>();
    node->array = true;
    node->size = kEmptyArrayDiff;
    const size_t post_size = post->len;
    bson_iter_t pi, qi;
    bool pre_more = bson_iter_init(&pi, pre) && bson_iter_next(&pi);
    bool post_more = bson_iter_init(&qi, post) && bson_iter_next(&qi);
    size_t n = 0;
    while (pre_more && post_more) {
      if (!ignore_ && post_size < node->size) return nullptr;
      if (!(bson_iter_type(&pi) == bson_iter_type(&qi) && value_bytes(&pi) == value_bytes(&qi))) {
        const bson_type_t t = bson_iter_type(&pi);
        if (t == bson_iter_type(&qi) && (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY)) {
          sub_diff_at(&pi, &qi, n, node.get());
        } else {
          add_array_update(node.get(), n, qi);
        }
      }
      pre_more = bson_iter_next(&pi);
      post_more = bson_iter_next(&qi);
      ++n;
    }
    for (; post_more; post_more = bson_iter_next(&qi), ++n) add_array_update(node.get(), n, qi);
    if (pre_more) {
      node->resize = static_cast<uint32_t>(n);
      node->size += 1 + 4 + 2;  // "l", an int32, type byte and NUL
    }
    return (ignore_ || post_size > node->size) ? std::move(node) : nullptr;
  }

  CalcNodePtr child_diff(const bson_iter_t* pre, const bson_iter_t* post) const {
    bson_t a, b;
    uint32_t alen = 0, blen = 0;
    const uint8_t *ad = nullptr, *bd = nullptr;
    if (bson_iter_type(pre) == BSON_TYPE_DOCUMENT) {
      bson_iter_document(pre, &alen, &ad);
      bson_iter_document(post, &blen, &bd);
    } else {
      bson_iter_array(pre, &alen, &ad);
      bson_iter_array(post, &blen, &bd);
    }
    if (!bson_init_static(&a, ad, alen) || !bson_init_static(&b, bd, blen)) return nullptr;
    return bson_iter_type(pre) == BSON_TYPE_DOCUMENT ? doc_diff(&a, &b, 0) : array_diff(&a, &b);
  }

  void sub_diff(const bson_iter_t* pre, const bson_iter_t* post, std::string_view field, CalcNode* parent) const {
    CalcNodePtr child = child_diff(pre, post);
    if (!child) {
      add_update(parent, field, *post);  // the sub-diff would be bigger than the value itself
      return;
    }
    parent->size += field.size() + 2 + child->size + 1;  // the name, its 's', type byte and NUL
    parent->subdiffs.emplace_back(field, std::move(child));
  }

  void sub_diff_at(const bson_iter_t* pre, const bson_iter_t* post, size_t idx, CalcNode* parent) const {
    CalcNodePtr child = child_diff(pre, post);
    if (!child) {
      add_array_update(parent, idx, *post);
      return;
    }
    parent->size += 1 + digits(idx) + 2 + child->size;
    parent->mods.push_back({idx, bson_iter_t{}, std::move(child)});
  }

  static void add_update(CalcNode* n, std::string_view field, const bson_iter_t& v) {
    n->size += (n->updates.empty() ? kWrapping : 0) + field.size() + 2 + value_bytes(&v).size();
    n->updates.push_back({field, v});
  }
  static void add_insert(CalcNode* n, std::string_view field, const bson_iter_t& v) {
    n->size += (n->inserts.empty() ? kWrapping : 0) + field.size() + 2 + value_bytes(&v).size();
    n->inserts.push_back({field, v});
  }
  static void add_delete(CalcNode* n, std::string_view field) {
    n->size += (n->deletes.empty() ? kWrapping : 0) + field.size() + 2 + 1;
    n->deletes.push_back(field);
  }
  static void add_array_update(CalcNode* n, size_t idx, const bson_iter_t& v) {
    n->size += 1 + digits(idx) + 2 + value_bytes(&v).size();
    n->mods.push_back({idx, v, nullptr});
  }

  bool ignore_;
};

void serialize(const CalcNode& n, bson_t* out);

void serialize_section(bson_t* out, const char* name, const std::vector<CalcNode::Field>& f) {
  if (f.empty()) return;
  bson_t sub;
  bson_append_document_begin(out, name, 1, &sub);
  for (const auto& e : f) common::append_iter(&sub, e.name, &e.value);
  bson_append_document_end(out, &sub);
}

void serialize(const CalcNode& n, bson_t* out) {
  if (n.array) {
    bson_append_bool(out, "a", 1, true);
    if (n.resize) bson_append_int32(out, "l", 1, static_cast<int32_t>(*n.resize));
    for (const auto& m : n.mods) {
      if (!m.child) {
        common::append_iter(out, "u" + std::to_string(m.index), &m.value);
      } else {
        bson_t sub;
        std::string k = "s" + std::to_string(m.index);
        bson_append_document_begin(out, k.data(), static_cast<int>(k.size()), &sub);
        serialize(*m.child, &sub);
        bson_append_document_end(out, &sub);
      }
    }
    return;
  }
  if (!n.deletes.empty()) {
    bson_t sub;
    bson_append_document_begin(out, "d", 1, &sub);
    for (std::string_view d : n.deletes) common::append_bool(&sub, d, false);
    bson_append_document_end(out, &sub);
  }
  serialize_section(out, "u", n.updates);
  serialize_section(out, "i", n.inserts);
  for (const auto& [field, child] : n.subdiffs) {
    bson_t sub;
    std::string k = "s" + std::string(field);
    bson_append_document_begin(out, k.data(), static_cast<int>(k.size()), &sub);
    serialize(*child, &sub);
    bson_append_document_end(out, &sub);
  }
}

}  // namespace

std::optional<Bson> compute_oplog_diff(const bson_t* pre, const bson_t* post, size_t padding,
                                       mql::ServerVersion version, bool ignore_size_limit) {
  (void)version;  // every 5.0+ release estimates sizes with the same diff_tree bookkeeping
  Calculator calc(ignore_size_limit);
  CalcNodePtr root = calc.doc_diff(pre, post, padding);
  if (!root) return std::nullopt;
  bson_t out = BSON_INITIALIZER;
  serialize(*root, &out);
  Bson diff = Bson::steal(&out);
  if (!ignore_size_limit && diff.size() >= post->len) return std::nullopt;
  return diff;
}

}  // namespace sim::engine::update_diff::detail
