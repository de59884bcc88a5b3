// Collection storage and its write primitives (see collection.h).
#include "sim/engine/collection.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "sim/engine/key_string.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

std::string new_uuid() {
  std::string u(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(u.data()), 16);
  u[6] = static_cast<char>((u[6] & 0x0f) | 0x40);
  u[8] = static_cast<char>((u[8] & 0x3f) | 0x80);
  return u;
}

Collection::Collection(std::string db, std::string name, std::string uuid, CollectionOptions options,
                       mql::ServerVersion version, OpObserver* observer)
    : db_(std::move(db)), name_(std::move(name)), ns_(db_ + "." + name_), uuid_(std::move(uuid)),
      options_(std::move(options)), version_(version), observer_(observer) {
  validator_ctx_.version = version_;
  validator_ctx_.collator = options_.collator;
  (void)rebuild_validator();
  // Every collection but capped ones created with autoIndexId:false (long gone) and views has
  // an _id index; a clustered collection's clustered index plays that role.
  indexes_.push_back(std::make_unique<Index>(id_index_descriptor(options_.collator), version_));
  if (options_.clustered) {
    IndexDescriptor& d = indexes_.front()->mutable_desc();
    d.spec = options_.clustered_index;
    bson_iter_t it;
    if (bson_iter_init_find(&it, d.spec.get(), "name") && BSON_ITER_HOLDS_UTF8(&it)) d.name = bson_iter_utf8(&it, nullptr);
    d.unique = true;
  }
}

std::shared_ptr<Collection> Collection::snapshot_copy() const {
  auto c = std::make_shared<Collection>(db_, name_, uuid_, options_, version_, observer_);
  c->records_ = records_;
  c->next_rid_ = next_rid_;
  c->data_size_ = data_size_;
  c->indexes_.clear();
  for (const auto& ix : indexes_) c->indexes_.push_back(ix->clone());
  return c;
}

void Collection::rename(std::string db, std::string name) {
  // Across databases the server copies into a new collection: a new UUID.
  if (db != db_) uuid_ = new_uuid();
  db_ = std::move(db);
  name_ = std::move(name);
  ns_ = db_ + "." + name_;
}

const DocRef* Collection::find(int64_t rid) const {
  return records_.find_ptr(rid);
}

Index* Collection::find_index(std::string_view name) const {
  for (const auto& ix : indexes_) {
    if (ix->desc().name == name) return ix.get();
  }
  return nullptr;
}

int64_t Collection::find_by_id(const bson_value_t* id) const {
  Index* ix = id_index();
  if (!ix) return -1;
  return ix->find_unique(keystring::encode(id, ix->desc().collator.get()));
}

int64_t Collection::storage_size() const {
  // WiredTiger compresses; report the data size rounded to 4 KiB pages, never zero.
  return std::max<int64_t>(4096, (data_size_ + 4095) / 4096 * 4096);
}

int64_t Collection::total_index_size() const {
  int64_t total = 0;
  for (const auto& ix : indexes_) total += ix->approximate_size();
  return total;
}

Status Collection::rebuild_validator() {
  validator_.reset();
  if (options_.validator.empty()) return Status::OK();
  MS_ASSIGN_OR_RETURN(validator_, mql::Matcher::parse(options_.validator.get(), validator_ctx_));
  return Status::OK();
}

Status Collection::set_options(CollectionOptions options) {
  options_ = std::move(options);
  validator_ctx_.collator = options_.collator;
  return rebuild_validator();
}

Status Collection::check_validator(const bson_t* doc, const bson_t* old_doc, bool bypass) const {
  if (!validator_ || bypass || options_.validation_level == "off") return Status::OK();
  if (validator_->matches(doc)) return Status::OK();
  // moderate: updates to documents that already failed validation are allowed.
  if (options_.validation_level == "moderate" && old_doc && !validator_->matches(old_doc)) return Status::OK();
  if (options_.validation_action == "warn") return Status::OK();
  bson_t info = BSON_INITIALIZER, err, details;
  bson_append_document_begin(&info, "errInfo", -1, &err);
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, "_id")) bson_append_iter(&err, "failingDocumentId", -1, &it);
  bson_append_document_begin(&err, "details", -1, &details);
  bson_iter_t v;
  std::string op = "$and";
  if (bson_iter_init(&v, options_.validator.get()) && bson_iter_next(&v)) {
    std::string_view k = bson_iter_key(&v);
    if (k == "$jsonSchema" || k == "$expr" || k == "$or" || k == "$nor") op = std::string(k);
  }
  common::append_utf8(&details, "operatorName", op);
  if (op == "$jsonSchema" || op == "$expr") {
    bson_iter_t first;
    bson_iter_init(&first, options_.validator.get());
    bson_iter_next(&first);
    bson_t spec = BSON_INITIALIZER;
    bson_append_iter(&spec, op.c_str(), -1, &first);
    bson_append_document(&details, "specifiedAs", -1, &spec);
    bson_destroy(&spec);
  } else {
    bson_append_document(&details, "specifiedAs", -1, options_.validator.get());
  }
  bson_append_document_end(&err, &details);
  bson_append_document_end(&info, &err);
  Status st(common::kDocumentValidationFailure, "Document failed validation");
  Bson e = Bson::steal(&info);
  st.with_extra_info(std::string(e.bytes()));
  return st;
}

Status Collection::compute_keys(const bson_t* doc, std::vector<IndexKeys>* out) const {
  out->resize(indexes_.size());
  for (size_t i = 0; i < indexes_.size(); ++i) {
    MS_RETURN_IF_ERROR(indexes_[i]->keys_for(doc, &(*out)[i].keys, &(*out)[i].multikey));
  }
  return Status::OK();
}

Status Collection::check_unique(const bson_t* doc, const std::vector<IndexKeys>& keys, int64_t self_rid) const {
  for (size_t i = 0; i < indexes_.size(); ++i) {
    const Index& ix = *indexes_[i];
    if (!ix.desc().unique && !ix.desc().prepare_unique) continue;
    for (const auto& k : keys[i].keys) {
      int64_t other = ix.desc().unique ? ix.find_unique(k) : ix.find_other_with_prefix(k, self_rid);
      if (other >= 0 && other != self_rid) {
        std::vector<GeneratedKey> gk;
        MS_RETURN_IF_ERROR(ix.keys_with_values(doc, &gk));
        for (const auto& g : gk) {
          if (g.bytes == k) return ix.duplicate_key_error(ns_, g.values);
        }
        return ix.duplicate_key_error(ns_, Bson());
      }
    }
  }
  return Status::OK();
}

Result<int64_t> Collection::insert(DocRef doc, const WriteContext& wc) {
  bson_t view = doc.view();
  if (options_.capped && options_.capped_size > 0 && static_cast<int64_t>(doc.size()) > options_.capped_size) {
    return Status(common::kBadValue, fmt::format("document is larger than capped size {} > {}", doc.size(),
                                                 options_.capped_size));
  }
  MS_RETURN_IF_ERROR(check_validator(&view, nullptr, wc.bypass_validation));
  std::vector<IndexKeys> keys;
  MS_RETURN_IF_ERROR(compute_keys(&view, &keys));
  MS_RETURN_IF_ERROR(check_unique(&view, keys, -1));
  int64_t rid = next_rid_++;
  for (size_t i = 0; i < indexes_.size(); ++i) indexes_[i]->add(keys[i].keys, rid, keys[i].multikey);
  data_size_ += doc.size();
  ++generation_;
  const DocRef& stored = records_.emplace(rid, std::move(doc));
  if (observer_) observer_->on_insert(*this, stored, wc);
  if (options_.capped) evict_for_capped();
  return rid;
}

Status Collection::update(int64_t rid, DocRef post, const UpdateInfo& how, const WriteContext& wc) {
  DocRef* cur = records_.find_ptr(rid);
  if (!cur) return Status(common::kInternalError, "update of a missing record");
  bson_t pre_view = cur->view();
  bson_t post_view = post.view();
  MS_RETURN_IF_ERROR(check_validator(&post_view, &pre_view, wc.bypass_validation));
  std::vector<IndexKeys> old_keys, new_keys;
  MS_RETURN_IF_ERROR(compute_keys(&post_view, &new_keys));
  MS_RETURN_IF_ERROR(check_unique(&post_view, new_keys, rid));
  MS_RETURN_IF_ERROR(compute_keys(&pre_view, &old_keys));
  for (size_t i = 0; i < indexes_.size(); ++i) {
    if (old_keys[i].keys == new_keys[i].keys) continue;
    indexes_[i]->remove(old_keys[i].keys, rid);
    indexes_[i]->add(new_keys[i].keys, rid, new_keys[i].multikey);
  }
  DocRef pre = std::move(*cur);
  data_size_ += static_cast<int64_t>(post.size()) - static_cast<int64_t>(pre.size());
  *cur = std::move(post);
  ++generation_;
  if (observer_) observer_->on_update(*this, pre, *cur, how, wc);
  return Status::OK();
}

void Collection::remove(int64_t rid, const WriteContext& wc) {
  const DocRef* cur = records_.find_ptr(rid);
  if (!cur) return;
  bson_t view = cur->view();
  std::vector<IndexKeys> keys;
  if (compute_keys(&view, &keys).ok()) {
    for (size_t i = 0; i < indexes_.size(); ++i) indexes_[i]->remove(keys[i].keys, rid);
  }
  DocRef pre = records_.erase(rid);
  data_size_ -= pre.size();
  ++generation_;
  if (observer_) observer_->on_delete(*this, pre, wc);
}

void Collection::evict_for_capped() {
  // Capped deletes are not replicated: every member trims its own copy.
  while (records_.size() > 1 &&
         ((options_.capped_size > 0 && data_size_ > options_.capped_size) ||
          (options_.capped_max > 0 && static_cast<int64_t>(records_.size()) > options_.capped_max))) {
    auto it = records_.begin();
    const int64_t rid = it->first;
    bson_t view = it->second.view();
    std::vector<IndexKeys> keys;
    if (compute_keys(&view, &keys).ok()) {
      for (size_t i = 0; i < indexes_.size(); ++i) indexes_[i]->remove(keys[i].keys, rid);
    }
    data_size_ -= records_.erase(rid).size();
    ++generation_;
  }
}

void Collection::truncate() {
  records_.clear();
  ++generation_;
  data_size_ = 0;
  for (auto& ix : indexes_) ix->clear();
}

Status Collection::add_index(IndexDescriptor desc) {
  auto ix = std::make_unique<Index>(std::move(desc), version_);
  std::vector<std::string> keys;
  for (const auto& [rid, doc] : records_) {
    bson_t view = doc.view();
    bool mk = false;
    MS_RETURN_IF_ERROR(ix->keys_for(&view, &keys, &mk));
    if (ix->desc().unique) {
      for (const auto& k : keys) {
        if (ix->find_unique(k) >= 0) {
          std::vector<GeneratedKey> gk;
          MS_RETURN_IF_ERROR(ix->keys_with_values(&view, &gk));
          for (const auto& g : gk) {
            if (g.bytes == k) return ix->duplicate_key_error(ns_, g.values);
          }
        }
      }
    }
    ix->add(keys, rid, mk);
  }
  indexes_.push_back(std::move(ix));
  ++generation_;  // scanners holding positions in an index re-seek (see Scanner)
  return Status::OK();
}

Status Collection::drop_index(std::string_view name) {
  auto it = std::find_if(indexes_.begin(), indexes_.end(), [&](const auto& ix) { return ix->desc().name == name; });
  if (it == indexes_.end()) return Status(common::kIndexNotFound, fmt::format("index not found with name [{}]", name));
  indexes_.erase(it);
  ++generation_;
  return Status::OK();
}

}  // namespace sim::engine
