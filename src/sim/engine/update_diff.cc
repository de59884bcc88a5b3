// update_diff: which form of `o` an update entry takes on each version, the check that it
// reproduces the stored document, and the change-stream reading of it
// (change_stream_document_diff_parser.cpp, change_stream_event_transform.cpp).
#include "sim/engine/update_diff.h"

#include <cstring>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "mql/pipeline.h"
#include "sim/engine/update_diff_internal.h"

namespace sim::engine::update_diff {
namespace {

using common::Bson;
using common::Result;
using common::Status;

std::string_view key_of(const bson_iter_t* it) { return {bson_iter_key(it), bson_iter_key_len(it)}; }

bool reproduces(const bson_t* pre, const Bson& o, const bson_t* post) {
  auto applied = apply_update_entry(pre, o.get());
  return applied.ok() && applied->size() == post->len &&
         std::memcmp(applied->data(), bson_get_data(post), post->len) == 0;
}

Bson delta_entry(const Bson& diff) {
  bson_t out = BSON_INITIALIZER;
  bson_append_int32(&out, "$v", 2, 2);
  bson_append_document(&out, "diff", 4, diff.get());
  return Bson::steal(&out);
}

// Stages that can leave _id out of a pipeline's output (the stored document then keeps the
// old _id, but the server diffs against the output, so its diff deletes _id).
bool may_drop_id(const bson_t* pipeline) {
  bson_iter_t st;
  if (!bson_iter_init(&st, pipeline)) return false;
  while (bson_iter_next(&st)) {
    bson_iter_t stage;
    if (!BSON_ITER_HOLDS_DOCUMENT(&st) || !bson_iter_recurse(&st, &stage) || !bson_iter_next(&stage)) continue;
    std::string_view name = key_of(&stage);
    if (name == "$replaceRoot" || name == "$replaceWith" || name == "$project" || name == "$unset") return true;
    if ((name == "$set" || name == "$addFields") && BSON_ITER_HOLDS_DOCUMENT(&stage)) {
      bson_iter_t f;
      bson_iter_recurse(&stage, &f);
      while (bson_iter_next(&f)) {
        std::string_view k = key_of(&f);
        if (k == "_id" || k.substr(0, 4) == "_id.") return true;
      }
    }
  }
  return false;
}

// The document the update pipeline produced (PipelineExecutor diffs against it, not against
// the stored document): `post` without its _id when the pipeline dropped _id. Learned by
// running the pipeline again on `pre`; when that cannot reproduce `post` (a non-deterministic
// expression, no context), the output is taken to be `post`.
Bson pipeline_output(const bson_t* pre, const bson_t* post, const bson_t* pipeline, const UpdateContext& ctx,
                     mql::ServerVersion version) {
  Bson out(post);
  if (!pipeline || !may_drop_id(pipeline)) return out;
  mql::ExpressionContext local;
  local.version = version;
  const mql::ExpressionContext& ectx = ctx.expr_ctx ? *ctx.expr_ctx : local;
  auto parsed = mql::Pipeline::parse(pipeline, ectx, nullptr);
  if (!parsed.ok()) return out;
  auto result = mql::apply_update_pipeline(**parsed, pre);
  if (!result.ok()) return out;
  bson_iter_t id;
  if (bson_iter_init_find(&id, result->get(), "_id")) return out;
  // The output has no _id: the stored document is the old _id followed by the output.
  bson_t expected = BSON_INITIALIZER;
  if (bson_iter_init_find(&id, pre, "_id")) bson_append_iter(&expected, "_id", 3, &id);
  bson_iter_t it;
  bson_iter_init(&it, result->get());
  while (bson_iter_next(&it)) bson_append_iter(&expected, nullptr, 0, &it);
  const bool same = expected.len == post->len && std::memcmp(bson_get_data(&expected), bson_get_data(post), post->len) == 0;
  bson_destroy(&expected);
  return same ? std::move(*result) : out;
}

// 4.4's fallback: $set of every changed or new top-level field, $unset of every removed one.
Bson top_level_v1(const bson_t* pre, const bson_t* post) {
  bson_t sets = BSON_INITIALIZER, unsets = BSON_INITIALIZER;
  bson_iter_t it, other;
  bson_iter_init(&it, post);
  while (bson_iter_next(&it)) {
    if (bson_iter_init_find_w_len(&other, pre, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it))) &&
        detail::same_value(&it, &other)) {
      continue;
    }
    bson_append_iter(&sets, nullptr, 0, &it);
  }
  bson_iter_init(&it, pre);
  while (bson_iter_next(&it)) {
    if (!bson_iter_init_find_w_len(&other, post, bson_iter_key(&it), static_cast<int>(bson_iter_key_len(&it)))) {
      common::append_bool(&unsets, key_of(&it), true);
    }
  }
  bson_t out = BSON_INITIALIZER;
  bson_append_int32(&out, "$v", 2, 1);
  if (!bson_empty(&sets)) bson_append_document(&out, "$set", 4, &sets);
  if (!bson_empty(&unsets)) bson_append_document(&out, "$unset", 6, &unsets);
  bson_destroy(&sets);
  bson_destroy(&unsets);
  return Bson::steal(&out);
}

Bson modifier_entry(const bson_t* pre, const bson_t* post, const bson_t* spec, mql::ServerVersion version,
                    const UpdateContext& ctx) {
  auto logged = detail::modifier_log(pre, post, spec, ctx, version);
  if (logged.ok() && reproduces(pre, *logged, post)) return std::move(*logged);
  MS_LOG_WARN("update_diff: the emulated oplog entry for {} does not reproduce the update ({}); logging a full diff",
              common::to_json(spec), logged.ok() ? "it applies differently" : logged.status().to_string());
  if (version >= 50) {
    if (auto diff = detail::compute_oplog_diff(pre, post, 0, version, true); diff && !diff->empty()) {
      Bson o = delta_entry(*diff);
      if (reproduces(pre, o, post)) return o;
    }
  } else {
    Bson o = top_level_v1(pre, post);
    if (reproduces(pre, o, post)) return o;
  }
  return Bson(post);
}

// ---------------------------------------------------------------------------------------------
// updateDescription

// FieldRef::isNumericPathComponentStrict: digits without a leading zero.
bool strict_numeric(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// DeltaUpdateDescriptionBuilder: the dotted path of the current level, and whether a
// component so far was a numeric or dotted field name (then the path needs spelling out).
class DescriptionBuilder {
 public:
  DescriptionBuilder() {
    bson_init(&updated_);
    bson_init(&removed_);
    bson_init(&truncated_);
    bson_init(&disambiguated_);
  }
  ~DescriptionBuilder() {
    bson_destroy(&updated_);
    bson_destroy(&removed_);
    bson_destroy(&truncated_);
    bson_destroy(&disambiguated_);
  }
  DescriptionBuilder(const DescriptionBuilder&) = delete;
  DescriptionBuilder& operator=(const DescriptionBuilder&) = delete;

  void push(std::string name, bool index) {
    bool ambiguous = !comps_.empty() && comps_.back().ambiguous;
    if (!ambiguous && !index) {
      const bool numeric = !comps_.empty() && strict_numeric(name);
      ambiguous = numeric || name.find('.') != std::string::npos;
    }
    comps_.push_back({std::move(name), index, ambiguous});
  }
  void pop() { comps_.pop_back(); }
  size_t depth() const { return comps_.size(); }

  void updated(std::string name, bool index, const bson_iter_t* value) {
    push(std::move(name), index);
    std::string p = path();
    common::append_iter(&updated_, p, value);
    disambiguate(p);
    pop();
  }
  void removed(std::string name) {
    push(std::move(name), false);
    std::string p = path();
    char buf[16];
    common::append_utf8(&removed_, common::array_key(removed_count_++, buf), p);
    disambiguate(p);
    pop();
  }
  void truncated(int32_t size) {
    std::string p = path();
    bson_t entry = BSON_INITIALIZER;
    common::append_utf8(&entry, "field", p);
    bson_append_int32(&entry, "newSize", 7, size);
    char buf[16];
    common::append_doc(&truncated_, common::array_key(truncated_count_++, buf), &entry);
    bson_destroy(&entry);
    disambiguate(p);
  }

  Bson build(bool with_truncated, bool with_disambiguated) const {
    bson_t out = BSON_INITIALIZER;
    bson_append_document(&out, "updatedFields", 13, &updated_);
    bson_append_array(&out, "removedFields", 13, &removed_);
    if (with_truncated) bson_append_array(&out, "truncatedArrays", 15, &truncated_);
    if (with_disambiguated) bson_append_document(&out, "disambiguatedPaths", 18, &disambiguated_);
    return Bson::steal(&out);
  }

 private:
  struct Comp {
    std::string name;
    bool index;
    bool ambiguous;
  };

  std::string path() const {
    std::string p;
    for (const auto& c : comps_) {
      if (!p.empty()) p += '.';
      p += c.name;
    }
    return p;
  }

  // The path's components, array indexes as int32 and field names as strings.
  void disambiguate(const std::string& p) {
    if (comps_.empty() || !comps_.back().ambiguous) return;
    bson_t parts;
    bson_append_array_begin(&disambiguated_, p.data(), static_cast<int>(p.size()), &parts);
    uint32_t i = 0;
    char buf[16];
    for (const auto& c : comps_) {
      std::string_view k = common::array_key(i++, buf);
      if (c.index) {
        bson_append_int32(&parts, k.data(), static_cast<int>(k.size()), static_cast<int32_t>(std::stol(c.name)));
      } else {
        common::append_utf8(&parts, k, c.name);
      }
    }
    bson_append_array_end(&disambiguated_, &parts);
  }

  std::vector<Comp> comps_;
  bson_t updated_, removed_, truncated_, disambiguated_;
  uint32_t removed_count_ = 0, truncated_count_ = 0;
};

Status describe_array(const bson_t* diff, DescriptionBuilder* b, int depth);

Status describe_object(const bson_t* diff, DescriptionBuilder* b, int depth) {
  if (depth > detail::kMaxDiffDepth) return Status(common::kBadValue, "diff is nested too deeply");
  detail::DocSections sec;
  MS_RETURN_IF_ERROR(detail::read_doc_sections(diff, &sec));
  for (const auto* section : {&sec.updates, &sec.inserts}) {
    if (!*section) continue;
    bson_iter_t f;
    bson_iter_recurse(&(*section)->it, &f);
    while (bson_iter_next(&f)) b->updated(std::string(key_of(&f)), false, &f);
  }
  if (sec.deletes) {
    bson_iter_t f;
    bson_iter_recurse(&sec.deletes->it, &f);
    while (bson_iter_next(&f)) b->removed(std::string(key_of(&f)));
  }
  for (const detail::Elem& e : sec.subdiffs) {
    const bson_iter_t* s = &e.it;
    bson_t sub;
    if (!detail::sub_view(s, &sub)) return Status(common::kInvalidBSON, "invalid sub-diff");
    b->push(std::string(key_of(s).substr(1)), false);
    Status st = detail::is_array_diff(&sub) ? describe_array(&sub, b, depth + 1) : describe_object(&sub, b, depth + 1);
    b->pop();
    MS_RETURN_IF_ERROR(st);
  }
  return Status::OK();
}

Status describe_array(const bson_t* diff, DescriptionBuilder* b, int depth) {
  if (depth > detail::kMaxDiffDepth) return Status(common::kBadValue, "diff is nested too deeply");
  std::optional<int32_t> resize;
  std::vector<detail::ArrayMod> mods;
  MS_RETURN_IF_ERROR(detail::read_array_diff(diff, &resize, &mods));
  if (resize) b->truncated(*resize);
  for (const auto& m : mods) {
    if (m.update) {
      b->updated(std::to_string(m.index), true, &m.elem);
      continue;
    }
    bson_t sub;
    if (!detail::sub_view(&m.elem, &sub)) return Status(common::kInvalidBSON, "invalid sub-diff");
    b->push(std::to_string(m.index), true);
    Status st = detail::is_array_diff(&sub) ? describe_array(&sub, b, depth + 1) : describe_object(&sub, b, depth + 1);
    b->pop();
    MS_RETURN_IF_ERROR(st);
  }
  return Status::OK();
}

}  // namespace

Bson update_entry_object(const bson_t* pre, const bson_t* post, const bson_t* update_spec, UpdateKind kind,
                         mql::ServerVersion version, const UpdateContext& ctx) {
  switch (kind) {
    case UpdateKind::kReplacement:
      return Bson(post);
    case UpdateKind::kPipeline: {
      // 4.4 logs pipeline updates as replacements.
      if (version < 50) return Bson(post);
      Bson output = pipeline_output(pre, post, update_spec, ctx, version);
      auto diff = detail::compute_oplog_diff(pre, output.get(), detail::kDeltaEntryMetadataSize, version);
      if (!diff || diff->empty()) return Bson(post);
      Bson o = delta_entry(*diff);
      if (reproduces(pre, o, post)) return o;
      MS_LOG_WARN("update_diff: the pipeline diff does not reproduce the update; logging a replacement");
      return Bson(post);
    }
    case UpdateKind::kModifier:
      break;
  }
  return modifier_entry(pre, post, update_spec, version, ctx);
}

bool is_replacement(const bson_t* o) {
  bson_iter_t it;
  if (!o || !bson_iter_init(&it, o)) return false;
  bool dollar = false;
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "_id") return true;
    if (!k.empty() && k[0] == '$') dollar = true;
  }
  return !dollar;
}

Result<Bson> update_description(const bson_t* o, mql::ServerVersion version, bool show_expanded_events) {
  if (!o || is_replacement(o)) {
    return Status(common::kBadValue, "a replacement update entry has no updateDescription");
  }
  bson_iter_t v;
  const bool has_v = bson_iter_init_find(&v, o, "$v");
  const bool delta = has_v && BSON_ITER_HOLDS_INT32(&v) && bson_iter_int32(&v) == 2;
  if (delta) {
    bson_iter_t d;
    bson_t diff;
    if (!bson_iter_init_find(&d, o, "diff") || !BSON_ITER_HOLDS_DOCUMENT(&d) || !detail::sub_view(&d, &diff)) {
      return Status(common::kTypeMismatch, "Expected o.diff to be an object in a $v: 2 update entry");
    }
    DescriptionBuilder b;
    MS_RETURN_IF_ERROR(describe_object(&diff, &b, 0));
    return b.build(version >= 50, show_expanded_events && version >= 61);
  }
  if (version >= 61) {
    return Status(6741200, "Expected _id field, or $v field missing, or $v equal to 2 (kDeltaV2), but got oplog "
                           "version $v: " +
                               (has_v ? common::value_to_server_string(bson_iter_value(&v)) : std::string("missing")));
  }
  // $v:1: the $set object as it is and the names of the $unset fields.
  bson_t updated = BSON_INITIALIZER, removed = BSON_INITIALIZER;
  bson_iter_t f;
  if (bson_iter_init_find(&f, o, "$set") && BSON_ITER_HOLDS_DOCUMENT(&f)) {
    bson_t set;
    detail::sub_view(&f, &set);
    bson_destroy(&updated);
    bson_copy_to(&set, &updated);
  }
  if (bson_iter_init_find(&f, o, "$unset") && BSON_ITER_HOLDS_DOCUMENT(&f)) {
    bson_iter_t u;
    bson_iter_recurse(&f, &u);
    uint32_t i = 0;
    char buf[16];
    while (bson_iter_next(&u)) common::append_utf8(&removed, common::array_key(i++, buf), key_of(&u));
  }
  bson_t out = BSON_INITIALIZER;
  bson_append_document(&out, "updatedFields", 13, &updated);
  bson_append_array(&out, "removedFields", 13, &removed);
  bson_destroy(&updated);
  bson_destroy(&removed);
  return Bson::steal(&out);
}

}  // namespace sim::engine::update_diff
