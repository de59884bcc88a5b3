// The catalog of databases, collections and views (see catalog.h).
#include "sim/engine/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "sim/engine/session.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

Status validate_db_name(std::string_view db) {
  if (db.empty()) return Status(common::kInvalidNamespace, "Invalid empty database name");
  if (db.size() >= 64) {
    return Status(common::kInvalidNamespace, fmt::format("Invalid database name: '{}': database name is too long", db));
  }
  for (char c : db) {
    if (c == '/' || c == '\\' || c == '.' || c == ' ' || c == '"' || c == '$' || c == '*' || c == '<' || c == '>' ||
        c == ':' || c == '|' || c == '?' || c == '\0') {
      return Status(common::kInvalidNamespace, fmt::format("Invalid database name: '{}'", db));
    }
  }
  return Status::OK();
}

bool is_system_collection(std::string_view coll) { return coll.substr(0, 7) == "system."; }

Status validate_collection_name(std::string_view db, std::string_view coll) {
  MS_RETURN_IF_ERROR(validate_db_name(db));
  if (coll.empty()) return Status(common::kInvalidNamespace, fmt::format("Invalid namespace specified '{}.'", db));
  if (coll.find('\0') != std::string_view::npos || coll[0] == '.') {
    return Status(common::kInvalidNamespace, fmt::format("Invalid collection name: {}", coll));
  }
  if (coll.find('$') != std::string_view::npos) {
    // Only the legacy oplog.$main and $cmd-style names contain '$'; none can be created.
    return Status(common::kInvalidNamespace, fmt::format("Invalid collection name: {}", coll));
  }
  if (db.size() + 1 + coll.size() > 255) {
    return Status(common::kInvalidNamespace,
                  fmt::format("Fully qualified namespace is too long. Namespace: {}.{} Max: 255", db, coll));
  }
  return Status::OK();
}

std::shared_ptr<Collection> Catalog::find(std::string_view db, std::string_view coll) const {
  if (OperationSession* op = current_operation(); op && op->txn) return op->txn->resolve(std::string(db), std::string(coll));
  return find_committed(db, coll);
}

std::shared_ptr<Collection> Catalog::find_committed(std::string_view db, std::string_view coll) const {
  std::shared_lock lk(mu);
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return nullptr;
  auto c = d->second.collections.find(coll);
  return c == d->second.collections.end() ? nullptr : c->second;
}

std::shared_ptr<Collection> Catalog::find_by_uuid(const std::string& uuid) const {
  std::shared_lock lk(mu);
  for (const auto& [name, d] : dbs_) {
    for (const auto& [cname, c] : d.collections) {
      if (c->uuid() == uuid) return c;
    }
  }
  return nullptr;
}

std::optional<ViewDef> Catalog::find_view(std::string_view db, std::string_view name) const {
  std::shared_lock lk(mu);
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return std::nullopt;
  auto v = d->second.views.find(name);
  if (v == d->second.views.end()) return std::nullopt;
  return v->second;
}

bool Catalog::database_exists(std::string_view db) const {
  std::shared_lock lk(mu);
  return dbs_.count(db) > 0;
}

std::vector<std::string> Catalog::database_names() const {
  std::shared_lock lk(mu);
  std::vector<std::string> out;
  for (const auto& [name, d] : dbs_) out.push_back(name);
  return out;
}

std::vector<std::shared_ptr<Collection>> Catalog::collections(std::string_view db) const {
  std::shared_lock lk(mu);
  std::vector<std::shared_ptr<Collection>> out;
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return out;
  for (const auto& [name, c] : d->second.collections) out.push_back(c);
  return out;
}

std::vector<ViewDef> Catalog::views(std::string_view db) const {
  std::shared_lock lk(mu);
  std::vector<ViewDef> out;
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return out;
  for (const auto& [name, v] : d->second.views) out.push_back(v);
  return out;
}

std::shared_ptr<Collection> Catalog::create_locked(const std::string& db, const std::string& name,
                                                   CollectionOptions options) {
  auto c = std::make_shared<Collection>(db, name, new_uuid(), std::move(options), version_, observer_);
  dbs_[db].collections.emplace(name, c);
  ++epoch_;
  return c;
}

Result<std::shared_ptr<Collection>> Catalog::create_collection(const std::string& db, const std::string& name,
                                                               CollectionOptions options,
                                                               std::vector<IndexDescriptor> extra_indexes) {
  if (OperationSession* op = current_operation(); op && op->txn) {
    if (op->txn->resolve(db, name)) {
      return Status(common::kNamespaceExists, fmt::format("Collection {}.{} already exists.", db, name));
    }
    return op->txn->create(db, name, std::move(options));
  }
  return create_collection_committed(db, name, std::move(options), std::move(extra_indexes));
}

Result<std::shared_ptr<Collection>> Catalog::create_collection_committed(const std::string& db, const std::string& name,
                                                                         CollectionOptions options,
                                                                         std::vector<IndexDescriptor> extra_indexes) {
  std::unique_lock lk(mu);
  auto d = dbs_.find(db);
  if (d != dbs_.end()) {
    if (d->second.collections.count(name) || d->second.views.count(name)) {
      return Status(common::kNamespaceExists, fmt::format("Collection {}.{} already exists.", db, name));
    }
  }
  auto c = create_locked(db, name, std::move(options));
  std::unique_lock clk(c->mu);
  if (observer_ && c->observer()) observer_->on_create_collection(*c);
  std::vector<IndexDescriptor> built = extra_indexes;
  for (auto& ix : extra_indexes) MS_RETURN_IF_ERROR(c->add_index(std::move(ix)));
  if (observer_ && c->observer() && !built.empty()) observer_->on_create_indexes(*c, built, true);
  return c;
}

Result<std::shared_ptr<Collection>> Catalog::get_or_create(const std::string& db, const std::string& name) {
  if (OperationSession* op = current_operation(); op && op->txn) return op->txn->resolve_or_create(db, name);
  if (auto c = find(db, name)) return c;
  std::unique_lock lk(mu);
  auto d = dbs_.find(db);
  if (d != dbs_.end()) {
    auto it = d->second.collections.find(name);
    if (it != d->second.collections.end()) return it->second;
    if (d->second.views.count(name)) {
      return Status(common::kCommandNotSupportedOnView, fmt::format("Namespace {}.{} is a view, not a collection", db, name));
    }
  }
  auto c = create_locked(db, name, CollectionOptions{});
  std::unique_lock clk(c->mu);
  if (observer_ && c->observer()) observer_->on_create_collection(*c);
  return c;
}

Status Catalog::write_view_doc_locked(const ViewDef& view) {
  auto& d = dbs_[view.db];
  std::shared_ptr<Collection> sv;
  auto it = d.collections.find("system.views");
  if (it == d.collections.end()) {
    sv = create_locked(view.db, "system.views", CollectionOptions{});
    std::unique_lock slk(sv->mu);
    if (observer_) observer_->on_create_collection(*sv);
  } else {
    sv = it->second;
  }
  std::unique_lock clk(sv->mu);
  bson_t doc = BSON_INITIALIZER;
  common::append_utf8(&doc, "_id", view.ns());
  common::append_utf8(&doc, "viewOn", view.view_on);
  bson_append_array(&doc, "pipeline", -1, view.pipeline.get());
  if (!view.collation_spec.empty()) bson_append_document(&doc, "collation", -1, view.collation_spec.get());
  Bson b = Bson::steal(&doc);
  bson_value_t id;
  id.value_type = BSON_TYPE_UTF8;
  std::string ns = view.ns();
  id.value.v_utf8.str = ns.data();
  id.value.v_utf8.len = static_cast<uint32_t>(ns.size());
  int64_t rid = sv->find_by_id(&id);
  WriteContext wc;
  if (rid >= 0) return sv->update(rid, DocRef::copy(b.get()), UpdateInfo{}, wc);
  auto r = sv->insert(DocRef::copy(b.get()), wc);
  return r.ok() ? Status::OK() : r.status();
}

void Catalog::remove_view_doc_locked(const std::string& db, const std::string& name) {
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return;
  auto it = d->second.collections.find("system.views");
  if (it == d->second.collections.end()) return;
  std::unique_lock clk(it->second->mu);
  std::string ns = db + "." + name;
  bson_value_t id;
  id.value_type = BSON_TYPE_UTF8;
  id.value.v_utf8.str = ns.data();
  id.value.v_utf8.len = static_cast<uint32_t>(ns.size());
  int64_t rid = it->second->find_by_id(&id);
  if (rid >= 0) it->second->remove(rid, WriteContext{});
}

Status Catalog::create_view(ViewDef view) {
  std::unique_lock lk(mu);
  auto d = dbs_.find(view.db);
  if (d != dbs_.end() && (d->second.collections.count(view.name) || d->second.views.count(view.name))) {
    return Status(common::kNamespaceExists, fmt::format("Collection {} already exists.", view.ns()));
  }
  MS_RETURN_IF_ERROR(write_view_doc_locked(view));
  std::string db = view.db, name = view.name;
  dbs_[db].views.emplace(name, std::move(view));
  ++epoch_;
  return Status::OK();
}

Status Catalog::modify_view(const std::string& db, const std::string& name, const std::string& view_on, Bson pipeline) {
  std::unique_lock lk(mu);
  auto d = dbs_.find(db);
  if (d == dbs_.end() || !d->second.views.count(name)) {
    return Status(common::kNamespaceNotFound, fmt::format("ns does not exist: {}.{}", db, name));
  }
  ViewDef& v = d->second.views.find(name)->second;
  v.view_on = view_on;
  v.pipeline = std::move(pipeline);
  MS_RETURN_IF_ERROR(write_view_doc_locked(v));
  ++epoch_;
  return Status::OK();
}

bool Catalog::drop_collection(const std::string& db, const std::string& name) {
  std::unique_lock lk(mu);
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return false;
  auto it = d->second.collections.find(name);
  if (it == d->second.collections.end()) return false;
  std::shared_ptr<Collection> c = it->second;
  {
    std::unique_lock clk(c->mu);
    c->mark_dropped();
    if (observer_ && c->observer()) observer_->on_drop_collection(*c);
  }
  d->second.collections.erase(it);
  if (name == "system.views") d->second.views.clear();
  if (d->second.collections.empty() && d->second.views.empty()) dbs_.erase(d);
  ++epoch_;
  return true;
}

bool Catalog::drop_view(const std::string& db, const std::string& name) {
  std::unique_lock lk(mu);
  auto d = dbs_.find(db);
  if (d == dbs_.end() || !d->second.views.count(name)) return false;
  remove_view_doc_locked(db, name);
  d->second.views.erase(d->second.views.find(name));
  ++epoch_;
  return true;
}

bool Catalog::drop_database(const std::string& db) {
  std::unique_lock lk(mu);
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return false;
  // Each collection (system.views with the views in it) is replicated as its own drop, and
  // dropDatabase is logged at the end.
  for (auto& [name, c] : d->second.collections) {
    std::unique_lock clk(c->mu);
    c->mark_dropped();
    if (observer_ && c->observer()) observer_->on_drop_collection(*c);
  }
  dbs_.erase(d);
  ++epoch_;
  if (observer_) observer_->on_drop_database(db);
  return true;
}

Status Catalog::rename_collection(const std::string& from_db, const std::string& from_name, const std::string& to_db,
                                  const std::string& to_name, bool drop_target, bool stay_temp) {
  std::unique_lock lk(mu);
  auto fd = dbs_.find(from_db);
  if (fd == dbs_.end() || !fd->second.collections.count(from_name)) {
    if (fd != dbs_.end() && fd->second.views.count(from_name)) {
      return Status(common::kCommandNotSupportedOnView, fmt::format("cannot rename view: {}.{}", from_db, from_name));
    }
    return Status(common::kNamespaceNotFound, "Source collection " + from_db + "." + from_name + " does not exist");
  }
  std::shared_ptr<Collection> src = fd->second.collections.find(from_name)->second;
  std::string dropped_uuid;
  auto td = dbs_.find(to_db);
  if (td != dbs_.end()) {
    if (td->second.views.count(to_name)) {
      return Status(common::kNamespaceExists, fmt::format("a view already exists with that name: {}.{}", to_db, to_name));
    }
    auto t = td->second.collections.find(to_name);
    if (t != td->second.collections.end()) {
      if (!drop_target) return Status(common::kNamespaceExists, "target namespace exists");
      std::shared_ptr<Collection> target = t->second;
      if (target.get() == src.get()) return Status::OK();
      std::unique_lock tlk(target->mu);
      target->mark_dropped();
      dropped_uuid = target->uuid();
      td->second.collections.erase(t);
    }
  }
  std::string from_ns = from_db + "." + from_name;
  {
    std::unique_lock clk(src->mu);
    std::string from_uuid = src->uuid();
    fd = dbs_.find(from_db);
    fd->second.collections.erase(fd->second.collections.find(from_name));
    src->rename(to_db, to_name);
    dbs_[to_db].collections.emplace(to_name, src);
    if (observer_ && src->observer()) {
      observer_->on_rename_collection(*src, from_ns, to_db + "." + to_name, from_uuid, dropped_uuid, stay_temp);
    }
  }
  fd = dbs_.find(from_db);
  if (fd != dbs_.end() && fd->second.collections.empty() && fd->second.views.empty()) dbs_.erase(fd);
  ++epoch_;
  return Status::OK();
}

Status Catalog::adopt(std::shared_ptr<Collection> coll) {
  std::unique_lock lk(mu);
  auto& d = dbs_[coll->db()];
  if (d.collections.count(coll->name()) || d.views.count(coll->name())) {
    return Status(common::kNamespaceExists, fmt::format("Collection {} already exists.", coll->ns()));
  }
  d.collections.emplace(coll->name(), coll);
  ++epoch_;
  return Status::OK();
}

void Catalog::restore_collection(std::shared_ptr<Collection> coll) {
  dbs_[coll->db()].collections[coll->name()] = std::move(coll);
  ++epoch_;
}

void Catalog::forget_collection(const std::string& uuid) {
  for (auto d = dbs_.begin(); d != dbs_.end();) {
    for (auto c = d->second.collections.begin(); c != d->second.collections.end();) {
      if (c->second->uuid() == uuid) {
        c->second->mark_dropped();
        if (c->first == "system.views") d->second.views.clear();
        c = d->second.collections.erase(c);
      } else {
        ++c;
      }
    }
    if (d->second.collections.empty() && d->second.views.empty()) {
      d = dbs_.erase(d);
    } else {
      ++d;
    }
  }
  ++epoch_;
}

void Catalog::forget_database(const std::string& db) {
  auto d = dbs_.find(db);
  if (d == dbs_.end()) return;
  for (auto& [name, c] : d->second.collections) c->mark_dropped();
  dbs_.erase(d);
  ++epoch_;
}

std::shared_ptr<Collection> Catalog::find_by_uuid_locked(const std::string& uuid) const {
  for (const auto& [name, d] : dbs_) {
    for (const auto& [cname, c] : d.collections) {
      if (c->uuid() == uuid) return c;
    }
  }
  return nullptr;
}

void Catalog::restore_view(ViewDef view) {
  std::string db = view.db, name = view.name;
  dbs_[db].views[name] = std::move(view);
  ++epoch_;
}

}  // namespace sim::engine
