// Applying update entries as a secondary does: $v:2 diffs as document_diff_applier.cpp (reading
// and validating them as DocumentDiffReader/ArrayDiffReader in document_diff_serialization.cpp,
// with the same error codes), $v:1 $set/$unset objects as the update driver does with
// fromOplogApplication (paths that cannot be created are skipped), replacements as
// ObjectReplaceExecutor (the old _id is kept when the new document has none).
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "mql/path.h"
#include "sim/engine/update_diff_internal.h"

namespace sim::engine::update_diff::detail {
namespace {

using common::Bson;
using common::Result;
using common::Status;

// The largest document the server builds internally (BSONObjMaxInternalSize).
constexpr uint32_t kMaxInternalSize = 16 * 1024 * 1024 + 16 * 1024;
// pathsupport::kMaxPaddingAllowed.
constexpr int64_t kMaxPadding = 1500000;

std::string_view key_of(const bson_iter_t* it) { return {bson_iter_key(it), bson_iter_key_len(it)}; }

std::string elem_string(const bson_iter_t* it) {
  return std::string(key_of(it)) + ": " + common::value_to_server_string(bson_iter_value(const_cast<bson_iter_t*>(it)));
}

Status too_large() { return Status(common::kBSONObjectTooLarge, "BSONObj size exceeds the maximum allowed size"); }

// The first field, in diff order, that the diff names twice.
template <typename T, typename Name>
Status duplicate(const std::vector<T>& items, Name name) {
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (name(items[i]) == name(items[j])) {
        return Status(4728000, "duplicate field name in diff: " + std::string(name(items[i])));
      }
    }
  }
  return Status(4728000, "duplicate field name in diff");
}

// str::parseUnsignedBase10Integer: decimal digits only.
bool parse_index(std::string_view s, size_t* out) {
  if (s.empty() || s.size() > 18) return false;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// $v:2

Status read_doc_sections(const bson_t* diff, DocSections* out) {
  bson_iter_t it;
  if (!bson_iter_init(&it, diff) || !bson_iter_next(&it)) {
    return Status(4770500, "Expected diff to be non-empty");
  }
  int prev = 0;
  bool in_subdiffs = false;
  do {
    std::string_view name = key_of(&it);
    if (in_subdiffs) {
      if (name.empty() || name[0] != 's') {
        return Status(4770514, "Did not expect more sections in diff but found one: " + std::string(name));
      }
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return Status(470510, "Subdiffs should be objects, got " + elem_string(&it));
      out->subdiffs.push_back({it});
      continue;
    }
    if (name.empty()) return Status(4770505, "Expected sections field names in diff to be non-empty ");
    const char c = name[0];
    const int order = c == 'd' ? 1 : c == 'u' ? 2 : c == 'i' ? 3 : c == 's' ? 4 : 0;
    if (order == 0 || order <= prev) {
      return Status(4770503, std::string("Unexpected section: ") + c + " in document diff");
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(4770507, std::string("Expected ") + c + " section to be type object");
    }
    prev = order;
    if (c == 's') {
      in_subdiffs = true;
      out->subdiffs.push_back({it});
    } else {
      (c == 'd' ? out->deletes : c == 'u' ? out->updates : out->inserts) = Elem{it};
    }
  } while (bson_iter_next(&it));
  return Status::OK();
}

namespace {

Status read_array_header(const bson_t* diff, bson_iter_t* it, bool* more, std::optional<int32_t>* resize) {
  if (!bson_iter_init(it, diff) || !bson_iter_next(it)) {
    return Status(4770500, "Expected diff to be non-empty");
  }
  if (key_of(it) != "a") {
    return Status(4770504, "Expected first field to be array header a but found " + std::string(key_of(it)));
  }
  if (!BSON_ITER_HOLDS_BOOL(it)) return Status(4770519, "Expected array header to be bool but got " + elem_string(it));
  if (!bson_iter_bool(it)) return Status(4770520, "Expected array header to be value true but got " + elem_string(it));
  *more = bson_iter_next(it);
  if (*more && key_of(it) == "l") {
    if (!BSON_ITER_HOLDS_INT32(it)) return Status(4770507, "Expected l section to be type int");
    *resize = bson_iter_int32(it);
    *more = bson_iter_next(it);
  }
  return Status::OK();
}

// The server builds a reader for every sub-diff it meets, which checks that diff's own level
// (section order and types, or the array header) whether or not the pre-image has the field.
Status check_sub_diff(const bson_iter_t* elem) {
  bson_t diff;
  if (!sub_view(elem, &diff)) return Status(common::kInvalidBSON, "invalid sub-diff");
  if (is_array_diff(&diff)) {
    bson_iter_t it;
    bool more = false;
    std::optional<int32_t> resize;
    return read_array_header(&diff, &it, &more, &resize);
  }
  DocSections sec;
  return read_doc_sections(&diff, &sec);
}

}  // namespace

Status read_array_diff(const bson_t* diff, std::optional<int32_t>* resize, std::vector<ArrayMod>* mods) {
  bson_iter_t it;
  bool more = false;
  MS_RETURN_IF_ERROR(read_array_header(diff, &it, &more, resize));
  for (; more; more = bson_iter_next(&it)) {
    std::string_view name = key_of(&it);
    if (name.size() <= 1) {
      return Status(4770521,
                    "expected field name to be at least two characters long, but found: " + std::string(name));
    }
    ArrayMod m;
    if (!parse_index(name.substr(1), &m.index)) {
      return Status(4770512, "Expected integer but got " + std::string(name.substr(1)));
    }
    m.elem = it;
    if (name[0] == 'u') {
      m.update = true;
    } else if (name[0] == 's') {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(4770501, "expected sub diff at index " + std::to_string(m.index) + " but got " + elem_string(&it));
      }
      MS_RETURN_IF_ERROR(check_sub_diff(&it));
      m.update = false;
    } else {
      return Status(4770502, "Expected either 'u' (update) or 's' (sub diff) at index " + std::to_string(m.index) +
                                 " but got " + elem_string(&it));
    }
    // The server's applier walks the pre-image once; an index out of order would never be
    // reached (it loops appending nulls), so such a diff is refused here.
    if (!mods->empty() && m.index <= mods->back().index) {
      return Status(common::kBadValue, "array diff modifications must be in ascending index order, found " +
                                           std::string(name) + " after index " + std::to_string(mods->back().index));
    }
    mods->push_back(m);
  }
  return Status::OK();
}

namespace {

class DiffApplier {
 public:
  Status apply_object(const bson_t* pre, const bson_t* diff, bson_t* out, int depth) {
    if (depth > kMaxDiffDepth) return Status(common::kBadValue, "diff is nested too deeply");
    DocSections sec;
    MS_RETURN_IF_ERROR(read_doc_sections(diff, &sec));
    enum class Kind { kDelete, kUpdate, kInsert, kSubDiff };
    struct Mod {
      std::string_view name;
      Kind kind;
      bson_iter_t elem;
      bool appended = false;
    };
    // In diff order: deletes, updates, inserts, sub-diffs (updates and inserts are appended
    // in that order when the pre-image lacks them).
    std::vector<Mod> mods;
    const std::pair<const std::optional<Elem>*, Kind> sections[] = {
        {&sec.deletes, Kind::kDelete}, {&sec.updates, Kind::kUpdate}, {&sec.inserts, Kind::kInsert}};
    for (const auto& [section, kind] : sections) {
      if (!*section) continue;
      bson_iter_t f;
      bson_iter_recurse(&(*section)->it, &f);
      while (bson_iter_next(&f)) mods.push_back({key_of(&f), kind, f});
    }
    for (const Elem& s : sec.subdiffs) {
      MS_RETURN_IF_ERROR(check_sub_diff(&s.it));
      mods.push_back({key_of(&s.it).substr(1), Kind::kSubDiff, s.it});
    }
    std::vector<uint32_t> by_name(mods.size());
    for (uint32_t i = 0; i < by_name.size(); ++i) by_name[i] = i;
    std::stable_sort(by_name.begin(), by_name.end(), [&](uint32_t a, uint32_t b) { return mods[a].name < mods[b].name; });
    for (size_t i = 1; i < by_name.size(); ++i) {
      if (mods[by_name[i]].name == mods[by_name[i - 1]].name) return duplicate(mods, [](const Mod& m) { return m.name; });
    }
    auto find = [&](std::string_view k) -> Mod* {
      auto at = std::lower_bound(by_name.begin(), by_name.end(), k,
                                 [&](uint32_t i, std::string_view key) { return mods[i].name < key; });
      return at != by_name.end() && mods[*at].name == k ? &mods[*at] : nullptr;
    };

    bson_iter_t it;
    if (!bson_iter_init(&it, pre)) return Status(common::kInvalidBSON, "invalid document");
    while (bson_iter_next(&it)) {
      std::string_view k = key_of(&it);
      Mod* m = find(k);
      if (!m) {
        bson_append_iter(out, nullptr, 0, &it);
      } else if (m->kind == Kind::kUpdate) {
        bson_append_iter(out, nullptr, 0, &m->elem);
        m->appended = true;
      } else if (m->kind == Kind::kSubDiff) {
        MS_RETURN_IF_ERROR(apply_sub(&it, &m->elem, k, out, depth));
      }
      // Deleted fields are dropped; inserted ones move to the end.
      if (out->len > kMaxInternalSize) return too_large();
    }
    for (const Mod& m : mods) {
      if ((m.kind == Kind::kUpdate || m.kind == Kind::kInsert) && !m.appended) bson_append_iter(out, nullptr, 0, &m.elem);
    }
    return out->len > kMaxInternalSize ? too_large() : Status::OK();
  }

 private:
  // Applies the sub-diff element `sub` to the pre-image element `pre`, appending under `key`.
  // A type mismatch means a later entry rewrites the field (re-application): null for now.
  Status apply_sub(const bson_iter_t* pre, const bson_iter_t* sub, std::string_view key, bson_t* out, int depth) {
    bson_t diff, pre_sub;
    if (!sub_view(sub, &diff)) return Status(common::kInvalidBSON, "invalid sub-diff");
    const bool array_diff = is_array_diff(&diff);
    const bool fits = array_diff ? BSON_ITER_HOLDS_ARRAY(pre) : BSON_ITER_HOLDS_DOCUMENT(pre);
    if (!fits || !sub_view(pre, &pre_sub)) {
      bson_append_null(out, key.data(), static_cast<int>(key.size()));
      return Status::OK();
    }
    bson_t child;
    if (array_diff) {
      bson_append_array_begin(out, key.data(), static_cast<int>(key.size()), &child);
      Status s = apply_array(&pre_sub, &diff, &child, depth + 1);
      bson_append_array_end(out, &child);
      return s;
    }
    bson_append_document_begin(out, key.data(), static_cast<int>(key.size()), &child);
    Status s = apply_object(&pre_sub, &diff, &child, depth + 1);
    bson_append_document_end(out, &child);
    return s;
  }

  Status apply_array(const bson_t* pre, const bson_t* diff, bson_t* out, int depth) {
    if (depth > kMaxDiffDepth) return Status(common::kBadValue, "diff is nested too deeply");
    std::optional<int32_t> resize;
    std::vector<ArrayMod> mods;
    MS_RETURN_IF_ERROR(read_array_diff(diff, &resize, &mods));
    if (resize && *resize < 0) {
      return Status(common::kBadValue, "array diff resize must not be negative: " + std::to_string(*resize));
    }
    if (resize && !mods.empty() && mods.back().index >= static_cast<size_t>(*resize)) {
      return Status(common::kBadValue, "array diff modifies index " + std::to_string(mods.back().index) +
                                           " past its new length " + std::to_string(*resize));
    }
    size_t next = 0;  // next modification
    size_t idx = 0;
    char buf[16];
    bson_iter_t it;
    bool more = bson_iter_init(&it, pre) && bson_iter_next(&it);
    for (; more && (!resize || idx < static_cast<size_t>(*resize)); ++idx, more = bson_iter_next(&it)) {
      std::string_view k = common::array_key(static_cast<uint32_t>(idx), buf);
      if (next < mods.size() && mods[next].index == idx) {
        MS_RETURN_IF_ERROR(apply_element(&it, mods[next], k, out, depth));
        ++next;
      } else {
        bson_append_iter(out, k.data(), static_cast<int>(k.size()), &it);
      }
      if (out->len > kMaxInternalSize) return too_large();
    }
    // Past the pre-image: pad with nulls up to each modification and to the new length.
    const size_t end = std::max(resize ? static_cast<size_t>(*resize) : 0,
                                mods.empty() || next >= mods.size() ? 0 : mods.back().index + 1);
    if (end > idx && end - idx > static_cast<size_t>(kMaxPadding) * 8) return too_large();
    for (; idx < end; ++idx) {
      std::string_view k = common::array_key(static_cast<uint32_t>(idx), buf);
      if (next < mods.size() && mods[next].index == idx) {
        MS_RETURN_IF_ERROR(apply_element(nullptr, mods[next], k, out, depth));
        ++next;
      } else {
        bson_append_null(out, k.data(), static_cast<int>(k.size()));
      }
      if (out->len > kMaxInternalSize) return too_large();
    }
    return Status::OK();
  }

  // One modification of an array element; `pre` is null past the end of the pre-image.
  Status apply_element(const bson_iter_t* pre, const ArrayMod& m, std::string_view key, bson_t* out, int depth) {
    if (m.update) {
      bson_append_iter(out, key.data(), static_cast<int>(key.size()), &m.elem);
      return Status::OK();
    }
    if (!pre) {
      // The pre-image array was shorter than the diff expects: a later entry rewrites it.
      bson_append_null(out, key.data(), static_cast<int>(key.size()));
      return Status::OK();
    }
    return apply_sub(pre, &m.elem, key, out, depth);
  }
};

// ---------------------------------------------------------------------------------------------
// $v:1

// $v:1 entries come from 4.4 and earlier, whose update tree applies paths in string order
// ("a.10" before "a.9"), so its children map uses the plain string comparison.
struct V1Node {
  enum class Leaf { kNone, kSet, kUnset } leaf = Leaf::kNone;
  bson_iter_t value{};
  std::map<std::string, V1Node> children;
};

Status add_v1_path(V1Node* root, std::string_view dotted, V1Node::Leaf leaf, const bson_iter_t& value) {
  V1Node* cur = root;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string part(dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (cur->leaf != V1Node::Leaf::kNone) {
      return Status(common::kConflictingUpdateOperators,
                    "Updating the path '" + std::string(dotted) + "' would create a conflict at '" +
                        std::string(dotted.substr(0, start == 0 ? 0 : start - 1)) + "'");
    }
    cur = &cur->children[part];
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (cur->leaf != V1Node::Leaf::kNone || !cur->children.empty()) {
    return Status(common::kConflictingUpdateOperators, "Updating the path '" + std::string(dotted) +
                                                           "' would create a conflict at '" + std::string(dotted) + "'");
  }
  cur->leaf = leaf;
  cur->value = value;
  return Status::OK();
}

// The value a missing path gets: the $set value, or objects down to the $set leaves below
// (createPathAt makes objects, whatever the component names). False when nothing is created.
bool build_created(const V1Node& n, bson_t* out, std::string_view key) {
  if (n.leaf == V1Node::Leaf::kSet) {
    bson_append_iter(out, key.data(), static_cast<int>(key.size()), &n.value);
    return true;
  }
  if (n.leaf == V1Node::Leaf::kUnset) return false;
  bson_t sub = BSON_INITIALIZER;
  bool any = false;
  for (const auto& [name, child] : n.children) any = build_created(child, &sub, name) || any;
  if (any) bson_append_document(out, key.data(), static_cast<int>(key.size()), &sub);
  bson_destroy(&sub);
  return any;
}

Status apply_v1_container(const bson_t* in, bool is_array, const V1Node& node, bson_t* out, int depth);

Status apply_v1_child(const bson_iter_t* elem, const V1Node& child, std::string_view key, bool parent_array,
                      bson_t* out, int depth) {
  if (child.leaf == V1Node::Leaf::kSet) {
    bson_append_iter(out, key.data(), static_cast<int>(key.size()), &child.value);
  } else if (child.leaf == V1Node::Leaf::kUnset) {
    // $unset of an array element sets it to null.
    if (parent_array) bson_append_null(out, key.data(), static_cast<int>(key.size()));
  } else if (BSON_ITER_HOLDS_DOCUMENT(elem) || BSON_ITER_HOLDS_ARRAY(elem)) {
    bson_t sub_in, sub_out;
    if (!sub_view(elem, &sub_in)) return Status(common::kInvalidBSON, "invalid document");
    const bool arr = BSON_ITER_HOLDS_ARRAY(elem);
    if (arr) {
      bson_append_array_begin(out, key.data(), static_cast<int>(key.size()), &sub_out);
    } else {
      bson_append_document_begin(out, key.data(), static_cast<int>(key.size()), &sub_out);
    }
    Status s = apply_v1_container(&sub_in, arr, child, &sub_out, depth + 1);
    if (arr) {
      bson_append_array_end(out, &sub_out);
    } else {
      bson_append_document_end(out, &sub_out);
    }
    return s;
  } else {
    // A path through a scalar cannot be created; oplog application skips it.
    bson_append_iter(out, key.data(), static_cast<int>(key.size()), elem);
  }
  return Status::OK();
}

Status apply_v1_container(const bson_t* in, bool is_array, const V1Node& node, bson_t* out, int depth) {
  if (depth > kMaxDiffDepth) return Status(common::kBadValue, "update is nested too deeply");
  std::unordered_set<std::string_view> used;
  int64_t count = 0;
  bson_iter_t it;
  if (!bson_iter_init(&it, in)) return Status(common::kInvalidBSON, "invalid document");
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    ++count;
    auto c = node.children.find(std::string(k));
    if (c == node.children.end()) {
      bson_append_iter(out, nullptr, 0, &it);
      continue;
    }
    used.insert(c->first);
    MS_RETURN_IF_ERROR(apply_v1_child(&it, c->second, k, is_array, out, depth));
  }
  // Fields the tree creates, in its order. Past the end of an array, a created index pads the
  // array with nulls; a later (string-ordered) path to one of those nulls can only set it,
  // anything below a null cannot be created.
  std::map<int64_t, Bson> tail;  // array index → a one-element document holding the value
  int64_t length = count;
  for (const auto& [name, child] : node.children) {
    if (used.count(name)) continue;
    if (!is_array) {
      build_created(child, out, name);
      continue;
    }
    int64_t index = 0;
    if (!mql::parse_array_index(name, &index)) continue;  // a field name on an array: not viable
    if (index < length && child.leaf != V1Node::Leaf::kSet) continue;
    bson_t one = BSON_INITIALIZER;
    if (!build_created(child, &one, "v")) {
      bson_destroy(&one);
      continue;
    }
    if (index - length > kMaxPadding) {
      bson_destroy(&one);
      return Status(common::kBadValue, "can't backfill array to larger than 1,500,000 elements");
    }
    tail[index] = Bson::steal(&one);
    length = std::max(length, index + 1);
  }
  char buf[16];
  for (int64_t i = count; i < length; ++i) {
    std::string_view k = common::array_key(static_cast<uint32_t>(i), buf);
    auto t = tail.find(i);
    bson_iter_t v;
    if (t != tail.end() && bson_iter_init(&v, t->second.get()) && bson_iter_next(&v)) {
      bson_append_iter(out, k.data(), static_cast<int>(k.size()), &v);
    } else {
      bson_append_null(out, k.data(), static_cast<int>(k.size()));
    }
    if (out->len > kMaxInternalSize) return too_large();
  }
  return out->len > kMaxInternalSize ? too_large() : Status::OK();
}

// ObjectReplaceExecutor: a result without _id keeps the old document's.
Bson keep_id(const bson_t* doc, Bson result) {
  bson_iter_t rid, oid;
  if (bson_iter_init_find(&rid, result.get(), "_id") || !bson_iter_init_find(&oid, doc, "_id")) return result;
  bson_t out = BSON_INITIALIZER;
  bson_append_iter(&out, "_id", 3, &oid);
  bson_iter_t it;
  bson_iter_init(&it, result.get());
  while (bson_iter_next(&it)) bson_append_iter(&out, nullptr, 0, &it);
  return Bson::steal(&out);
}

}  // namespace

bool sub_view(const bson_iter_t* it, bson_t* out) {
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  if (BSON_ITER_HOLDS_DOCUMENT(it)) {
    bson_iter_document(it, &len, &data);
  } else if (BSON_ITER_HOLDS_ARRAY(it)) {
    bson_iter_array(it, &len, &data);
  } else {
    return false;
  }
  return bson_init_static(out, data, len);
}

bool is_array_diff(const bson_t* diff) {
  bson_iter_t it;
  return bson_iter_init(&it, diff) && bson_iter_next(&it) && std::string_view(bson_iter_key(&it)) == "a";
}

Result<Bson> apply_v2(const bson_t* doc, const bson_t* diff) {
  bson_t out = BSON_INITIALIZER;
  DiffApplier applier;
  Status s = applier.apply_object(doc, diff, &out, 0);
  if (!s.ok()) {
    bson_destroy(&out);
    return s;
  }
  return keep_id(doc, Bson::steal(&out));
}

Result<Bson> apply_v1(const bson_t* doc, const bson_t* o) {
  V1Node root;
  bson_iter_t it;
  if (!bson_iter_init(&it, o)) return Status(common::kInvalidBSON, "invalid update");
  while (bson_iter_next(&it)) {
    std::string_view op = key_of(&it);
    if (op == "$v") continue;
    const bool set = op == "$set";
    if (!set && op != "$unset") {
      return Status(common::kFailedToParse, "Unknown modifier in $v:1 update entry: " + std::string(op));
    }
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kFailedToParse, "Modifiers operate on fields but we found type " +
                                                std::string(common::type_alias(bson_iter_type(&it))) + " instead");
    }
    bson_iter_t f;
    bson_iter_recurse(&it, &f);
    while (bson_iter_next(&f)) {
      MS_RETURN_IF_ERROR(add_v1_path(&root, key_of(&f), set ? V1Node::Leaf::kSet : V1Node::Leaf::kUnset, f));
    }
  }
  bson_t out = BSON_INITIALIZER;
  Status s = apply_v1_container(doc, false, root, &out, 0);
  if (!s.ok()) {
    bson_destroy(&out);
    return s;
  }
  return Bson::steal(&out);
}

}  // namespace sim::engine::update_diff::detail

namespace sim::engine::update_diff {

common::Result<common::Bson> apply_update_entry(const bson_t* doc, const bson_t* o) {
  if (!doc || !o) return common::Status(common::kBadValue, "apply_update_entry needs a document and an entry");
  if (is_replacement(o)) return detail::keep_id(doc, common::Bson(o));
  bson_iter_t v;
  if (!bson_iter_init_find(&v, o, "$v")) return detail::apply_v1(doc, o);
  const bool numeric = BSON_ITER_HOLDS_INT32(&v) || BSON_ITER_HOLDS_INT64(&v) || BSON_ITER_HOLDS_DOUBLE(&v);
  const int64_t version = numeric ? bson_iter_as_int64(&v) : -1;
  if (version == 1) return detail::apply_v1(doc, o);
  if (version != 2) {
    return common::Status(6448500, "Unsupported or missing oplog version, $v: " +
                                       common::value_to_server_string(bson_iter_value(&v)));
  }
  bson_iter_t d;
  bson_t diff;
  if (!bson_iter_init_find(&d, o, "diff") || !detail::sub_view(&d, &diff) || !BSON_ITER_HOLDS_DOCUMENT(&d)) {
    return common::Status(common::kTypeMismatch, "Expected o.diff to be an object in a $v: 2 update entry");
  }
  return detail::apply_v2(doc, &diff);
}

}  // namespace sim::engine::update_diff
