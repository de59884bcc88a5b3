#include "apply/mapper.h"

#include <optional>
#include <string_view>

#include "task/plan.h"

namespace apply {

namespace {

using common::Bson;

std::string first_value(const bson_t* cmd) {
  bson_iter_t it;
  if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it)) return "";
  return bson_iter_utf8(&it, nullptr);
}

std::string first_key(const bson_t* cmd) {
  bson_iter_t it;
  if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it)) return "";
  return bson_iter_key(&it);
}

// The command with its first field set to `name: coll` and viewOn (if any) replaced.
Bson retarget(const bson_t* cmd, const std::string& coll, const std::string* view_on) {
  bson_t b = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, cmd);
  bool first = true;
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (first) {
      common::append_utf8(&b, k, coll);
      first = false;
    } else if (k == "viewOn" && view_on) {
      common::append_utf8(&b, k, *view_on);
    } else {
      common::append_iter(&b, k, &it);
    }
  }
  return Bson::steal(&b);
}

Mapped ddl(DdlAction a) {
  Mapped m;
  m.what = Mapped::What::kDdl;
  m.ddl.push_back(std::move(a));
  return m;
}

DdlAction drop_action(const task::Namespace& t) {
  bson_t b = BSON_INITIALIZER;
  common::append_utf8(&b, "drop", t.coll);
  return DdlAction{t.db, Bson::steal(&b), {common::kNamespaceNotFound}};
}

// createIndexes with every TTL index at the neutral value; the source values go to `ttl`.
Bson neutral_ttl_indexes(const bson_t* cmd, const task::Namespace& t, std::vector<TtlValue>* ttl) {
  bson_t b = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, cmd);
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k != "indexes" || !BSON_ITER_HOLDS_ARRAY(&it)) {
      common::append_iter(&b, k, &it);
      continue;
    }
    bson_t arr;
    bson_append_array_begin(&b, "indexes", 7, &arr);
    bson_iter_t ix;
    bson_iter_recurse(&it, &ix);
    uint32_t n = 0;
    while (bson_iter_next(&ix)) {
      char buf[16];
      auto key = common::array_key(n++, buf);
      bson_iter_t f, exp;
      if (!BSON_ITER_HOLDS_DOCUMENT(&ix) || !bson_iter_recurse(&ix, &f)) continue;
      bson_iter_t copy = f;
      if (!bson_iter_find(&copy, "expireAfterSeconds")) {
        common::append_iter(&arr, key, &ix);
        continue;
      }
      exp = copy;
      bson_t spec;
      bson_append_document_begin(&arr, key.data(), static_cast<int>(key.size()), &spec);
      std::string index_name;
      while (bson_iter_next(&f)) {
        std::string_view fk = bson_iter_key(&f);
        if (fk == "expireAfterSeconds") {
          bson_append_int64(&spec, "expireAfterSeconds", -1, kNeutralTtlSeconds);
          continue;
        }
        if (fk == "name" && BSON_ITER_HOLDS_UTF8(&f)) index_name = bson_iter_utf8(&f, nullptr);
        common::append_iter(&spec, fk, &f);
      }
      bson_append_document_end(&arr, &spec);
      ttl->push_back({t.full(), index_name, bson_iter_as_int64(&exp)});
    }
    bson_append_array_end(&b, &arr);
  }
  return Bson::steal(&b);
}

// collMod without TTL changes (recorded in `ttl` instead); empty when nothing else remains.
Bson collmod_without_ttl(const bson_t* cmd, const task::Namespace& t, std::vector<TtlValue>* ttl) {
  bson_t b = BSON_INITIALIZER;
  bson_iter_t it;
  bson_iter_init(&it, cmd);
  size_t kept = 0;
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    bson_iter_t f;
    if (k != "index" || !BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f)) {
      common::append_iter(&b, k, &it);
      ++kept;
      continue;
    }
    bson_t index = BSON_INITIALIZER;
    std::string name;
    std::optional<int64_t> seconds;
    size_t other = 0;
    while (bson_iter_next(&f)) {
      std::string_view fk = bson_iter_key(&f);
      if (fk == "expireAfterSeconds") {
        seconds = bson_iter_as_int64(&f);
        continue;
      }
      if (fk == "name" && BSON_ITER_HOLDS_UTF8(&f)) name = bson_iter_utf8(&f, nullptr);
      if (fk != "name" && fk != "keyPattern") ++other;
      common::append_iter(&index, fk, &f);
    }
    if (seconds) ttl->push_back({t.full(), name, *seconds});
    if (other > 0) {
      common::append_doc(&b, "index", &index);
      ++kept;
    }
    bson_destroy(&index);
  }
  if (kept <= 1) {
    bson_destroy(&b);
    return Bson();
  }
  return Bson::steal(&b);
}

}  // namespace

common::Result<Mapper> Mapper::create(const task::TaskOptions& options) {
  auto names = task::NameMapper::create(options);
  if (!names.ok()) return names.status();
  return Mapper(options, std::move(names).value());
}

bool Mapper::selected(const std::string& db, const std::string& coll) const {
  return task::selected(*options_, task::Namespace{db, coll});
}

task::Namespace Mapper::target(const std::string& db, const std::string& coll) const {
  return names_.map(task::Namespace{db, coll});
}

common::Result<const mql::Matcher*> Mapper::filter(const std::string& db, const std::string& coll) {
  std::string ns = db + "." + coll;
  auto f = options_->objects.filter.find(ns);
  if (f == options_->objects.filter.end()) return static_cast<const mql::Matcher*>(nullptr);
  auto& slot = filters_[ns];
  if (!slot) {
    auto m = mql::Matcher::parse(f->second.get(), *ctx_);
    if (!m.ok()) return m.status().with_context("objects.filter of " + ns);
    slot = std::move(m).value();
  }
  return static_cast<const mql::Matcher*>(slot.get());
}

common::Result<Mapped> Mapper::map(const change::ChangeEvent& e) {
  if (e.type == change::EventType::kCommand) return map_command(e);
  Mapped m;
  if (!selected(e.db, e.coll)) return m;
  MS_ASSIGN_OR_RETURN(const mql::Matcher* f, filter(e.db, e.coll));
  task::Namespace t = target(e.db, e.coll);
  ApplyOp op;
  op.db = t.db;
  op.coll = t.coll;
  op.key = e.key;
  op.ts = e.ts;
  switch (e.type) {
    case change::EventType::kInsert:
    case change::EventType::kReplace:
      if (f && !f->matches(e.doc.get())) {
        if (e.type == change::EventType::kInsert) return m;  // never on the destination
        op.kind = ApplyOp::Kind::kDelete;                      // replaced out of the filter
        op.tolerant = true;
      } else {
        op.kind = ApplyOp::Kind::kUpsert;
        op.doc = e.doc;
      }
      break;
    case change::EventType::kUpdate:
      if (f || e.needs_fetch) {
        m.what = Mapped::What::kFetch;
        m.fetch_db = e.db;
        m.fetch_coll = e.coll;
        op.kind = ApplyOp::Kind::kUpsert;
        m.ops.push_back(std::move(op));
        return m;
      }
      op.kind = ApplyOp::Kind::kUpdate;
      op.updates = e.updates;
      break;
    case change::EventType::kDelete:
      op.kind = ApplyOp::Kind::kDelete;
      op.tolerant = f != nullptr;  // filtered-out documents were never copied
      break;
    case change::EventType::kCommand:
      break;
  }
  m.what = Mapped::What::kOps;
  m.ops.push_back(std::move(op));
  return m;
}

ApplyOp Mapper::resolve_fetch(const std::string& source_db, const std::string& source_coll, ApplyOp op,
                              const bson_t* current) {
  auto f = filter(source_db, source_coll);
  bool keep = current && (!f.ok() || !*f || (*f)->matches(current));
  op.tolerant = true;
  if (keep) {
    op.kind = ApplyOp::Kind::kUpsert;
    op.doc = Bson(current);
  } else {
    op.kind = ApplyOp::Kind::kDelete;
  }
  return op;
}

common::Result<Mapped> Mapper::map_command(const change::ChangeEvent& e) {
  const bson_t* cmd = e.command.get();
  std::string name = first_key(cmd);
  Mapped skip;
  if (name == "dropDatabase") return skip;  // the drop of each collection came first
  if (name == "renameCollection") {
    task::Namespace from = task::split_namespace(first_value(cmd));
    bson_iter_t it;
    std::string to_text = bson_iter_init_find(&it, cmd, "to") && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
    task::Namespace to = task::split_namespace(to_text);
    bool drop_target = bson_iter_init_find(&it, cmd, "dropTarget") && bson_iter_as_bool(&it);
    bool from_sel = selected(from.db, from.coll), to_sel = selected(to.db, to.coll);
    if (from_sel && to_sel) {
      task::Namespace tf = target(from.db, from.coll), tt = target(to.db, to.coll);
      bson_t b = BSON_INITIALIZER;
      common::append_utf8(&b, "renameCollection", tf.full());
      common::append_utf8(&b, "to", tt.full());
      bson_append_bool(&b, "dropTarget", 10, drop_target);
      DdlAction a{"admin", Bson::steal(&b), {common::kNamespaceNotFound, common::kNamespaceExists}};
      a.recopy_when_tolerant = true;
      a.drop_db = tf.db;
      a.drop_coll = tf.coll;
      a.copy_from_db = to.db;
      a.copy_from_coll = to.coll;
      a.copy_to_db = tt.db;
      a.copy_to_coll = tt.coll;
      return ddl(std::move(a));
    }
    if (from_sel) return ddl(drop_action(target(from.db, from.coll)));
    if (to_sel) {
      task::Namespace tt = target(to.db, to.coll);
      DdlAction a = drop_action(tt);
      a.copy_in = true;
      a.copy_from_db = to.db;
      a.copy_from_coll = to.coll;
      a.copy_to_db = tt.db;
      a.copy_to_coll = tt.coll;
      return ddl(std::move(a));
    }
    return skip;
  }
  if (!selected(e.db, e.coll)) return skip;
  task::Namespace t = target(e.db, e.coll);
  bson_iter_t it;
  std::string view_on;
  const std::string* view_on_ptr = nullptr;
  if (bson_iter_init_find(&it, cmd, "viewOn") && BSON_ITER_HOLDS_UTF8(&it)) {
    view_on = target(e.db, bson_iter_utf8(&it, nullptr)).coll;
    view_on_ptr = &view_on;
  }
  DdlAction a{t.db, retarget(cmd, t.coll, view_on_ptr), {}};
  if (name == "create") {
    a.tolerated = {common::kNamespaceExists};
  } else if (name == "drop") {
    a.tolerated = {common::kNamespaceNotFound};
  } else if (name == "createIndexes") {
    a.command = neutral_ttl_indexes(a.command.get(), t, &a.ttl);
    a.tolerated = {common::kIndexAlreadyExists, common::kIndexOptionsConflict, common::kIndexKeySpecsConflict};
  } else if (name == "dropIndexes") {
    a.tolerated = {common::kIndexNotFound, common::kNamespaceNotFound};
  } else if (name == "collMod") {
    std::vector<TtlValue> ttl;
    Bson rest = collmod_without_ttl(a.command.get(), t, &ttl);
    a.ttl = ttl;
    if (rest.empty()) {
      // Only a TTL change: recorded for the end of the task, nothing to run now.
      bson_t b = BSON_INITIALIZER;
      common::append_utf8(&b, "collMod", t.coll);
      rest = Bson::steal(&b);
    }
    a.command = std::move(rest);
    a.tolerated = {common::kIndexNotFound, common::kNamespaceNotFound};
  } else if (name == "convertToCapped" || name == "emptycapped") {
    a.tolerated = {common::kNamespaceNotFound};
  } else {
    return skip;
  }
  return ddl(std::move(a));
}

}  // namespace apply
