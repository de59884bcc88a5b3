#include "change/update_convert.h"

#include <cstring>
#include <string>
#include <string_view>

namespace change {

namespace {

struct PathValue {
  std::string path;
  bson_iter_t value;
};

// The statements of one update, collected in the order they must run.
struct Plan {
  std::vector<std::pair<std::string, int64_t>> truncations;  // path → new length
  std::vector<std::string> unsets;
  std::vector<PathValue> sets;
  // Fields inserted at the end of one object: one group per object, kept in diff order.
  std::vector<std::vector<PathValue>> inserts;
  std::vector<PathValue> singles;  // sets that must run one statement each, in order
  bool needs_fetch = false;
};

bool plain_field_name(std::string_view name) {
  return !name.empty() && name.find('.') == std::string_view::npos && name[0] != '$';
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Whether a $set of these new fields appends them in this order on every server version
// (4.4 sorts paths as strings, 5.0+ compares numeric components as numbers).
bool set_keeps_order(const std::vector<PathValue>& group) {
  if (group.size() < 2) return true;
  for (size_t k = 0; k < group.size(); ++k) {
    std::string_view last = group[k].path;
    auto dot = last.rfind('.');
    if (all_digits(dot == std::string_view::npos ? last : last.substr(dot + 1))) return false;
    if (k > 0 && !(group[k - 1].path < group[k].path)) return false;
  }
  return true;
}

std::string join(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
}

void walk_object(const bson_t* diff, const std::string& prefix, Plan& plan);

void walk_sub(const bson_iter_t* it, const std::string& path, Plan& plan) {
  if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
    plan.needs_fetch = true;
    return;
  }
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(it, &len, &data);
  bson_t sub;
  if (!bson_init_static(&sub, data, len)) {
    plan.needs_fetch = true;
    return;
  }
  bson_iter_t a;
  bool is_array = bson_iter_init_find(&a, &sub, "a") && bson_iter_as_bool(&a);
  if (!is_array) {
    walk_object(&sub, path, plan);
    return;
  }
  bson_iter_t e;
  bson_iter_init(&e, &sub);
  while (bson_iter_next(&e)) {
    std::string_view key = bson_iter_key(&e);
    if (key == "a") continue;
    if (key == "l") {
      plan.truncations.emplace_back(path, bson_iter_as_int64(&e));
      continue;
    }
    if (key.size() < 2 || !all_digits(key.substr(1))) {
      plan.needs_fetch = true;
      return;
    }
    std::string elem = path + "." + std::string(key.substr(1));
    if (key[0] == 'u') {
      plan.sets.push_back({elem, e});
    } else if (key[0] == 's') {
      walk_sub(&e, elem, plan);
    } else {
      plan.needs_fetch = true;
      return;
    }
  }
}

void for_each_field(const bson_iter_t* section, Plan& plan, const std::string& prefix,
                    void (*fn)(Plan&, const std::string& path, const bson_iter_t& value)) {
  if (!BSON_ITER_HOLDS_DOCUMENT(section)) {
    plan.needs_fetch = true;
    return;
  }
  bson_iter_t f;
  bson_iter_recurse(section, &f);
  while (bson_iter_next(&f)) {
    std::string_view name = bson_iter_key(&f);
    if (!plain_field_name(name)) {
      plan.needs_fetch = true;
      return;
    }
    fn(plan, join(prefix, name), f);
  }
}

void walk_object(const bson_t* diff, const std::string& prefix, Plan& plan) {
  bson_iter_t it;
  bson_iter_init(&it, diff);
  while (bson_iter_next(&it) && !plan.needs_fetch) {
    std::string_view key = bson_iter_key(&it);
    if (key == "d") {
      for_each_field(&it, plan, prefix, [](Plan& p, const std::string& path, const bson_iter_t&) {
        p.unsets.push_back(path);
      });
    } else if (key == "u") {
      for_each_field(&it, plan, prefix, [](Plan& p, const std::string& path, const bson_iter_t& v) {
        p.sets.push_back({path, v});
      });
    } else if (key == "i") {
      plan.inserts.emplace_back();
      for_each_field(&it, plan, prefix, [](Plan& p, const std::string& path, const bson_iter_t& v) {
        p.unsets.push_back(path);
        p.inserts.back().push_back({path, v});
      });
    } else if (key.size() > 1 && key[0] == 's') {
      std::string_view name = key.substr(1);
      if (!plain_field_name(name)) {
        plan.needs_fetch = true;
        return;
      }
      walk_sub(&it, join(prefix, name), plan);
    } else {
      plan.needs_fetch = true;  // a diff key this reader does not know
    }
  }
}

common::Bson set_statement(const std::vector<PathValue>& fields) {
  bson_t b = BSON_INITIALIZER, set;
  bson_append_document_begin(&b, "$set", 4, &set);
  for (const auto& f : fields) common::append_iter(&set, f.path, &f.value);
  bson_append_document_end(&b, &set);
  return common::Bson::steal(&b);
}

ConvertedUpdate finish(Plan& plan) {
  ConvertedUpdate out;
  if (plan.needs_fetch) {
    out.needs_fetch = true;
    return out;
  }
  for (const auto& [path, len] : plan.truncations) {
    bson_t b = BSON_INITIALIZER, push, spec, each;
    bson_append_document_begin(&b, "$push", 5, &push);
    bson_append_document_begin(&push, path.c_str(), static_cast<int>(path.size()), &spec);
    bson_append_array_begin(&spec, "$each", 5, &each);
    bson_append_array_end(&spec, &each);
    bson_append_int64(&spec, "$slice", 6, len);
    bson_append_document_end(&push, &spec);
    bson_append_document_end(&b, &push);
    out.statements.push_back(common::Bson::steal(&b));
  }
  if (!plan.unsets.empty()) {
    bson_t b = BSON_INITIALIZER, unset;
    bson_append_document_begin(&b, "$unset", 6, &unset);
    for (const auto& p : plan.unsets) bson_append_int32(&unset, p.c_str(), static_cast<int>(p.size()), 1);
    bson_append_document_end(&b, &unset);
    out.statements.push_back(common::Bson::steal(&b));
  }
  // In-place sets and the inserts a single $set appends in their order share one statement.
  std::vector<PathValue> together = plan.sets;
  std::vector<PathValue> one_by_one = plan.singles;
  for (auto& group : plan.inserts) {
    auto& dest = set_keeps_order(group) ? together : one_by_one;
    dest.insert(dest.end(), group.begin(), group.end());
  }
  if (!together.empty()) out.statements.push_back(set_statement(together));
  for (const auto& f : one_by_one) out.statements.push_back(set_statement({f}));
  return out;
}

}  // namespace

ConvertedUpdate convert_v2_diff(const bson_t* diff) {
  Plan plan;
  walk_object(diff, "", plan);
  return finish(plan);
}

ConvertedUpdate convert_v1(const bson_t* o) {
  ConvertedUpdate out;
  bson_t b = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, o);
  while (bson_iter_next(&it)) {
    std::string_view key = bson_iter_key(&it);
    if (key == "$v") continue;
    common::append_iter(&b, key, &it);
  }
  if (bson_count_keys(&b) > 0) out.statements.push_back(common::Bson::steal(&b));
  else bson_destroy(&b);
  return out;
}

ConvertedUpdate convert_update_description(const bson_t* description) {
  Plan plan;
  bson_iter_t it;
  if (bson_iter_init_find(&it, description, "disambiguatedPaths") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_iter_t d;
    bson_iter_recurse(&it, &d);
    if (bson_iter_next(&d)) plan.needs_fetch = true;  // a path with '.' or numeric names: ambiguous
  }
  if (bson_iter_init_find(&it, description, "truncatedArrays") && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t e;
    bson_iter_recurse(&it, &e);
    while (bson_iter_next(&e)) {
      bson_iter_t f, field, size;
      if (!BSON_ITER_HOLDS_DOCUMENT(&e)) continue;
      bson_iter_recurse(&e, &f);
      field = f;
      size = f;
      if (bson_iter_find(&field, "field") && bson_iter_find(&size, "newSize") && BSON_ITER_HOLDS_UTF8(&field)) {
        plan.truncations.emplace_back(bson_iter_utf8(&field, nullptr), bson_iter_as_int64(&size));
      }
    }
  }
  if (bson_iter_init_find(&it, description, "removedFields") && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t e;
    bson_iter_recurse(&it, &e);
    while (bson_iter_next(&e)) {
      if (BSON_ITER_HOLDS_UTF8(&e)) plan.unsets.emplace_back(bson_iter_utf8(&e, nullptr));
    }
  }
  if (bson_iter_init_find(&it, description, "updatedFields") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    // Paths are dotted from the root; whether a field is new is not said, so fields go in one
    // $set when that keeps their order and one statement each otherwise.
    std::vector<PathValue> fields;
    bson_iter_t f;
    bson_iter_recurse(&it, &f);
    while (bson_iter_next(&f)) {
      std::string_view path = bson_iter_key(&f);
      if (path.empty() || path[0] == '$') plan.needs_fetch = true;
      fields.push_back({std::string(path), f});
    }
    if (set_keeps_order(fields)) {
      plan.sets = std::move(fields);
    } else {
      plan.singles = std::move(fields);
    }
  }
  return finish(plan);
}

}  // namespace change
