// Checkpoint + journal persistence (see persist.h).
#include "sim/engine/persist.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "common/crc32c.h"
#include "common/log.h"
#include "sim/engine/catalog_ops.h"
#include "sim/engine/engine_impl.h"
#include "sim/engine/raw_bson.h"
#include "sim/engine/update_diff.h"

namespace sim::engine {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr const char* kLockFile = "mongosim.lock";
constexpr const char* kCheckpoint = "mongosim.checkpoint";
constexpr const char* kJournal = "mongosim.journal";
constexpr uint32_t kMaxRecord = 64 * 1024 * 1024;
constexpr const char* kMagic = "mongosim-checkpoint-v1";

uint32_t crc_of(const uint8_t* data, size_t len) {
  return common::crc32c(data, len);
}

void store_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  store_u32(b, v);
  out.append(b, 4);
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void frame(std::string& out, const bson_t* doc) {
  put_u32(out, doc->len);
  put_u32(out, crc_of(bson_get_data(doc), doc->len));
  out.append(reinterpret_cast<const char*>(bson_get_data(doc)), doc->len);
}

Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(common::kInternalError, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}

// Reads framed records from a file. `torn_ok`: a truncated or garbled tail ends the stream
// (the journal of a killed process); otherwise it is an error (a checkpoint is written whole).
class RecordReader {
 public:
  RecordReader(std::string path, bool torn_ok) : path_(std::move(path)), torn_ok_(torn_ok) {}
  Status open() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return Status(common::kInternalError, fmt::format("cannot read {}", path_));
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return Status::OK();
  }
  // Next record; nullopt at the end.
  Result<std::optional<Bson>> next() {
    if (pos_ == data_.size()) return std::optional<Bson>();
    auto bad = [&](const std::string& why) -> Result<std::optional<Bson>> {
      if (torn_ok_) {
        MS_LOG_WARN("{}: {} at byte {}; the records before it are used (an unacknowledged write was cut off)", path_, why,
                    pos_);
        torn_at_ = pos_;
        pos_ = data_.size();
        return std::optional<Bson>();
      }
      return Status(common::kInternalError, fmt::format("{} is corrupt: {} at byte {}", path_, why, pos_));
    };
    if (data_.size() - pos_ < 8) return bad("truncated record header");
    uint32_t len = get_u32(data_.data() + pos_);
    uint32_t crc = get_u32(data_.data() + pos_ + 4);
    if (len < 5 || len > kMaxRecord) return bad("bad record length");
    if (data_.size() - pos_ - 8 < len) return bad("truncated record");
    const auto* p = reinterpret_cast<const uint8_t*>(data_.data() + pos_ + 8);
    if (crc_of(p, len) != crc) return bad("checksum mismatch");
    auto doc = Bson::parse(p, len);
    if (!doc.ok()) return bad("invalid BSON");
    pos_ += 8 + len;
    return std::optional<Bson>(std::move(doc).value());
  }
  size_t torn_at() const { return torn_at_; }

 private:
  std::string path_;
  bool torn_ok_;
  std::string data_;
  size_t pos_ = 0;
  size_t torn_at_ = std::string::npos;
};

std::string uuid_of(const bson_t* doc, const char* field) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, field) || !BSON_ITER_HOLDS_BINARY(&it)) return "";
  bson_subtype_t st;
  uint32_t len;
  const uint8_t* data;
  bson_iter_binary(&it, &st, &len, &data);
  return len == 16 ? std::string(reinterpret_cast<const char*>(data), 16) : "";
}

std::string str_of(const bson_t* doc, const char* field) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, field) || !BSON_ITER_HOLDS_UTF8(&it)) return "";
  return bson_iter_utf8(&it, nullptr);
}

}  // namespace

Bson collection_metadata(const Collection& coll) {
  bson_t m = BSON_INITIALIZER, arr;
  bson_append_binary(&m, "uuid", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(coll.uuid().data()), 16);
  common::append_utf8(&m, "db", coll.db());
  common::append_utf8(&m, "name", coll.name());
  bson_append_document(&m, "options", -1, coll.options().raw.get());
  bson_append_array_begin(&m, "indexes", -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& ix : coll.indexes()) {
    if (ix.get() == coll.id_index()) continue;
    auto k = common::array_key(i++, buf);
    bson_append_document(&arr, k.data(), static_cast<int>(k.size()), ix->desc().spec.get());
  }
  bson_append_array_end(&m, &arr);
  return Bson::steal(&m);
}

Result<OplogRecord> OplogRecord::from_bson(const bson_t* entry) {
  OplogRecord r;
  bson_t session = BSON_INITIALIZER, tail = BSON_INITIALIZER;
  std::string ns, ui;
  bool after_wall = false;
  bson_iter_t it;
  bson_iter_init(&it, entry);
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "lsid" || k == "txnNumber") {
      bson_append_iter(&session, k.data(), static_cast<int>(k.size()), &it);
    } else if (k == "op" && BSON_ITER_HOLDS_UTF8(&it)) {
      r.op = bson_iter_utf8(&it, nullptr)[0];
    } else if (k == "ns" && BSON_ITER_HOLDS_UTF8(&it)) {
      ns = bson_iter_utf8(&it, nullptr);
    } else if (k == "ui") {
      ui = uuid_of(entry, "ui");
    } else if (k == "o" && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      r.o = DocRef::copy(data, len);
    } else if (k == "o2" && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      r.o2 = DocRef::copy(data, len);
    } else if (k == "ts" && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
      bson_iter_timestamp(&it, &r.ts.t, &r.ts.i);
    } else if (k == "t") {
      r.term = bson_iter_as_int64(&it);
    } else if (k == "v") {
    } else if (k == "wall" && BSON_ITER_HOLDS_DATE_TIME(&it)) {
      r.wall_ms = bson_iter_date_time(&it);
      after_wall = true;
    } else if (after_wall) {
      bson_append_iter(&tail, k.data(), static_cast<int>(k.size()), &it);
    }
  }
  r.session = session.len > 5 ? DocRef::copy(&session) : DocRef();
  r.tail = tail.len > 5 ? DocRef::copy(&tail) : DocRef();
  bson_destroy(&session);
  bson_destroy(&tail);
  if (!ns.empty() || !ui.empty()) r.ns = std::make_shared<NsRef>(NsRef{ns, ui});
  if (!r.o) return Status(common::kFailedToParse, "oplog entry without o");
  return r;
}

Persistence::~Persistence() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Persistence::lock_dbpath() {
  std::string path = dir_ + "/" + kLockFile;
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock_fd_ < 0) {
    return Status(common::kInternalError, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status(common::kConflictingOperationInProgress,
                  fmt::format("dbpath {} is in use by another mongosim process (lock file {})", dir_, path));
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) (void)!::write(lock_fd_, pid.data(), pid.size());
  return Status::OK();
}

Status Persistence::check_foreign_files() {
  static const std::set<std::string> ours = {kLockFile, kCheckpoint, std::string(kCheckpoint) + ".tmp", kJournal,
                                             "mongosim-auth.bson", "mongosim-auth.bson.tmp"};
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (ours.count(name)) continue;
    std::string hint;
    if (name == "WiredTiger" || name == "mongod.lock" || name == "storage.bson" ||
        (name.size() > 3 && name.substr(name.size() - 3) == ".wt")) {
      hint = " (it looks like a mongod data directory)";
    }
    return Status(common::kInvalidOptions,
                  fmt::format("dbpath {} holds '{}', a file mongosim did not write{}; use an empty directory or a "
                              "mongosim dbpath",
                              dir_, name, hint));
  }
  return Status::OK();
}

Status Persistence::open() {
  dir_ = e_.server.options.dbpath;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (!std::filesystem::is_directory(dir_, ec)) {
    return Status(common::kInvalidOptions, fmt::format("dbpath {} is not a directory", dir_));
  }
  MS_RETURN_IF_ERROR(check_foreign_files());
  MS_RETURN_IF_ERROR(lock_dbpath());
  std::string cp = dir_ + "/" + kCheckpoint;
  std::string jp = dir_ + "/" + kJournal;
  replaying_ = true;
  {
    // Recovery re-creates state; nothing it does is logged again.
    OpBuffer discard;
    ScopedOpBuffer no_log(&discard);
    if (std::filesystem::exists(cp, ec)) MS_RETURN_IF_ERROR(load_checkpoint(cp));
    if (std::filesystem::exists(jp, ec)) MS_RETURN_IF_ERROR(replay_journal(jp));
  }
  replaying_ = false;
  // Views come from the restored system.views collections.
  for (const auto& db : e_.catalog.database_names()) {
    auto sv = e_.catalog.find_committed(db, "system.views");
    if (!sv) continue;
    std::shared_lock lk(sv->mu);
    for (const auto& [rid, doc] : sv->records()) {
      bson_t v = doc.view();
      std::string id = str_of(&v, "_id");
      auto dot = id.find('.');
      if (dot == std::string::npos) continue;
      ViewDef vd;
      vd.db = id.substr(0, dot);
      vd.name = id.substr(dot + 1);
      vd.view_on = str_of(&v, "viewOn");
      bson_iter_t it;
      if (bson_iter_init_find(&it, &v, "pipeline") && BSON_ITER_HOLDS_ARRAY(&it)) {
        uint32_t len;
        const uint8_t* data;
        bson_iter_array(&it, &len, &data);
        vd.pipeline = Bson(data, len);
      }
      if (bson_iter_init_find(&it, &v, "collation") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&it, &len, &data);
        vd.collation_spec = Bson(data, len);
        auto c = mql::Collator::make(vd.collation_spec.get());
        if (c.ok()) vd.collator = *c;
      }
      std::unique_lock clk(e_.catalog.mu);
      e_.catalog.restore_view(std::move(vd));
    }
  }
  MS_RETURN_IF_ERROR(write_checkpoint());
  MS_RETURN_IF_ERROR(open_journal(true));
  opened_ = true;
  return Status::OK();
}

namespace {

// A Collection rebuilt from its metadata (by UUID, with its options and indexes).
Result<std::shared_ptr<Collection>> build_collection(EngineImpl& e, const bson_t* meta) {
  std::string uuid = uuid_of(meta, "uuid");
  std::string db = str_of(meta, "db"), name = str_of(meta, "name");
  if (uuid.empty() || db.empty() || name.empty()) {
    return Status(common::kFailedToParse, "collection metadata without uuid/db/name");
  }
  bson_iter_t it;
  Bson raw;
  if (bson_iter_init_find(&it, meta, "options") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&it, &len, &data);
    raw = Bson(data, len);
  }
  bson_t cmd = BSON_INITIALIZER;
  common::append_utf8(&cmd, "create", name);
  bson_concat(&cmd, raw.get());
  Bson cmd_doc = Bson::steal(&cmd);
  ViewRequest vr;
  MS_ASSIGN_OR_RETURN(CollectionOptions opts, parse_create_options(cmd_doc.get(), e.version(), &vr));
  opts.raw = raw;
  if (bson_iter_init_find(&it, raw.get(), "clusteredIndex") && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it)) {
    opts.clustered = true;
  }
  auto c = std::make_shared<Collection>(db, name, uuid, std::move(opts), e.version(), e.observer.get());
  if (bson_iter_init_find(&it, meta, "indexes") && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t arr;
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&arr, &len, &data);
      bson_t spec;
      bson_init_static(&spec, data, len);
      MS_ASSIGN_OR_RETURN(IndexDescriptor d, parse_index_spec(&spec, c->options().collator, e.version()));
      d.spec = Bson(&spec);  // exactly as it was listed
      std::unique_lock lk(c->mu);
      MS_RETURN_IF_ERROR(c->add_index(std::move(d)));
    }
  }
  return c;
}

// Brings the catalog's collection with `meta`'s UUID to `meta` (creating, renaming, options,
// index set) keeping its documents.
Status apply_metadata(EngineImpl& e, const bson_t* meta) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, meta, "dropDatabase")) {
    std::string db = str_of(meta, "dropDatabase");
    std::unique_lock lk(e.catalog.mu);
    e.catalog.forget_database(db);
    return Status::OK();
  }
  std::string dropped = uuid_of(meta, "dropped");
  if (!dropped.empty()) {
    std::unique_lock lk(e.catalog.mu);
    e.catalog.forget_collection(dropped);
    return Status::OK();
  }
  if (bson_iter_init_find(&it, meta, "inner") && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t arr;
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) {
      if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&arr, &len, &data);
      bson_t m;
      bson_init_static(&m, data, len);
      MS_RETURN_IF_ERROR(apply_metadata(e, &m));
    }
    return Status::OK();
  }
  std::string target_dropped = uuid_of(meta, "droppedTarget");
  std::string from = uuid_of(meta, "renamedFrom");
  std::string uuid = uuid_of(meta, "uuid");
  MS_ASSIGN_OR_RETURN(auto fresh, build_collection(e, meta));
  std::unique_lock lk(e.catalog.mu);
  if (!target_dropped.empty()) e.catalog.forget_collection(target_dropped);
  std::shared_ptr<Collection> old = e.catalog.find_by_uuid_locked(from.empty() ? uuid : from);
  if (old) {
    // Keep the documents; take the new name, UUID, options and indexes.
    std::unique_lock olk(old->mu);
    std::unique_lock flk(fresh->mu);
    for (const auto& [rid, doc] : old->records()) {
      auto r = fresh->insert(doc, WriteContext{});
      if (!r.ok()) return r.status();
    }
    e.catalog.forget_collection(old->uuid());
  }
  e.catalog.restore_collection(fresh);
  return Status::OK();
}

std::shared_ptr<Collection> collection_for(EngineImpl& e, const OplogRecord& r) {
  if (!r.ns) return nullptr;
  if (!r.ns->uuid.empty()) {
    if (auto c = e.catalog.find_by_uuid(r.ns->uuid)) return c;
  }
  auto dot = r.ns->ns.find('.');
  if (dot == std::string::npos) return nullptr;
  return e.catalog.find_committed(r.ns->ns.substr(0, dot), r.ns->ns.substr(dot + 1));
}

Status apply_crud(EngineImpl& e, const OplogRecord& r) {
  auto coll = collection_for(e, r);
  if (!coll) return Status::OK();  // dropped later in the journal, or internal
  std::unique_lock lk(coll->mu);
  bson_t o = r.o.view();
  bson_iter_t id;
  WriteContext wc;
  wc.bypass_validation = true;
  if (r.op == 'i') {
    if (!bson_iter_init_find(&id, &o, "_id")) return Status::OK();
    int64_t rid = coll->find_by_id(bson_iter_value(&id));
    if (rid >= 0) return coll->update(rid, r.o, UpdateInfo{}, wc);
    return coll->insert(r.o, wc).status();
  }
  if (r.op == 'u') {
    if (!r.o2) return Status::OK();
    bson_t o2 = r.o2.view();
    if (!bson_iter_init_find(&id, &o2, "_id")) return Status::OK();
    int64_t rid = coll->find_by_id(bson_iter_value(&id));
    if (rid < 0) return Status::OK();
    bson_t cur = coll->find(rid)->view();
    MS_ASSIGN_OR_RETURN(Bson next, update_diff::apply_update_entry(&cur, &o));
    return coll->update(rid, DocRef::copy(next.get()), UpdateInfo{}, wc);
  }
  if (r.op == 'd') {
    if (!bson_iter_init_find(&id, &o, "_id")) return Status::OK();
    int64_t rid = coll->find_by_id(bson_iter_value(&id));
    if (rid >= 0) coll->remove(rid, wc);
  }
  return Status::OK();
}

}  // namespace

Status Persistence::apply_entry(const bson_t* entry, const bson_t* meta) {
  MS_ASSIGN_OR_RETURN(OplogRecord r, OplogRecord::from_bson(entry));
  e_.server.clock.advance_to(r.ts);
  if (r.term > e_.server.clock.term()) e_.server.clock.set_term(r.term);
  if (OplogStore* store = e_.oplog_writer->store()) {
    OplogRecord copy = r;
    store->restore(std::move(copy));
  }
  switch (r.op) {
    case 'i':
    case 'u':
    case 'd': return apply_crud(e_, r);
    case 'c': {
      if (meta && !bson_empty(meta)) MS_RETURN_IF_ERROR(apply_metadata(e_, meta));
      // Operations inside applyOps (transactions, batched deletes).
      bson_t o = r.o.view();
      bson_iter_t it;
      if (bson_iter_init_find(&it, &o, "applyOps") && BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_iter_t arr;
        bson_iter_recurse(&it, &arr);
        while (bson_iter_next(&arr)) {
          if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
          uint32_t len;
          const uint8_t* data;
          bson_iter_document(&arr, &len, &data);
          bson_t inner;
          bson_init_static(&inner, data, len);
          bson_t with_ts = BSON_INITIALIZER;
          bson_concat(&with_ts, &inner);
          bson_append_timestamp(&with_ts, "ts", 2, r.ts.t, r.ts.i);
          auto ir = OplogRecord::from_bson(&with_ts);
          bson_destroy(&with_ts);
          if (!ir.ok()) continue;
          if (ir->op == 'i' || ir->op == 'u' || ir->op == 'd') MS_RETURN_IF_ERROR(apply_crud(e_, *ir));
        }
      }
      return Status::OK();
    }
    default: return Status::OK();
  }
}

Status Persistence::apply_record(const Bson& rec, bool* stop) {
  *stop = false;
  bson_iter_t it;
  if (!bson_iter_init_find(&it, rec.get(), "e") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
    return Status(common::kFailedToParse, "journal record without an entry");
  }
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&it, &len, &data);
  bson_t entry;
  bson_init_static(&entry, data, len);
  bson_t meta;
  bool has_meta = false;
  if (bson_iter_init_find(&it, rec.get(), "m") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_iter_document(&it, &len, &data);
    bson_init_static(&meta, data, len);
    has_meta = true;
  }
  if (bson_iter_init_find(&it, rec.get(), "s")) {
    // The session fields of the previous entry that had them, put back in front.
    if (replay_session_.empty()) return Status(common::kFailedToParse, "journal record refers to session fields never written");
    std::string full;
    RawBsonWriter w(full);
    size_t at = w.open();
    full.append(replay_session_);
    w.elements_of(std::string_view(reinterpret_cast<const char*>(data), len));
    w.close(at);
    bson_t whole;
    bson_init_static(&whole, reinterpret_cast<const uint8_t*>(full.data()), full.size());
    return apply_entry(&whole, has_meta ? &meta : nullptr);
  }
  // The elements before `op` are the entry's session fields.
  bson_iter_t op;
  if (bson_iter_init_find(&op, &entry, "op") && bson_iter_offset(&op) > 4) {
    replay_session_.assign(reinterpret_cast<const char*>(data) + 4, bson_iter_offset(&op) - 4);
  }
  return apply_entry(&entry, has_meta ? &meta : nullptr);
}

Status Persistence::replay_journal(const std::string& path) {
  replay_session_.clear();
  RecordReader rd(path, true);
  MS_RETURN_IF_ERROR(rd.open());
  int64_t n = 0;
  while (true) {
    MS_ASSIGN_OR_RETURN(auto rec, rd.next());
    if (!rec) break;
    bool stop = false;
    Status st = apply_record(*rec, &stop);
    if (!st.ok()) return Status(st.code(), fmt::format("{}: record {}: {}", path, n, st.message()));
    ++n;
  }
  if (n > 0) MS_LOG_INFO("recovered {} journal record(s) from {}", n, path);
  return Status::OK();
}

Status Persistence::load_checkpoint(const std::string& path) {
  RecordReader rd(path, false);
  MS_RETURN_IF_ERROR(rd.open());
  MS_ASSIGN_OR_RETURN(auto head, rd.next());
  if (!head || str_of(head->get(), "magic") != kMagic) {
    return Status(common::kInvalidOptions, fmt::format("{} is not a mongosim checkpoint", path));
  }
  std::string replset = str_of(head->get(), "replset");
  if (replset != e_.server.options.replset) {
    return Status(common::kInvalidOptions,
                  fmt::format("{} was written by a {} but this mongosim runs as {}", path,
                              replset.empty() ? "standalone" : "replica set '" + replset + "'",
                              e_.server.options.replset.empty() ? "a standalone"
                                                                : "replica set '" + e_.server.options.replset + "'"));
  }
  bson_iter_t it;
  if (bson_iter_init_find(&it, head->get(), "clock") && BSON_ITER_HOLDS_TIMESTAMP(&it)) {
    Timestamp ts;
    bson_iter_timestamp(&it, &ts.t, &ts.i);
    e_.server.clock.advance_to(ts);
  }
  if (bson_iter_init_find(&it, head->get(), "term")) e_.server.clock.set_term(bson_iter_as_int64(&it));
  std::string ou = uuid_of(head->get(), "oplogUuid");
  if (!ou.empty()) e_.oplog_uuid = ou;
  std::shared_ptr<Collection> cur;
  bool saw_end = false;
  while (true) {
    MS_ASSIGN_OR_RETURN(auto rec, rd.next());
    if (!rec) break;
    std::string k = str_of(rec->get(), "k");
    if (k == "coll") {
      if (!bson_iter_init_find(&it, rec->get(), "meta") || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return Status(common::kInvalidOptions, fmt::format("{} is corrupt: collection record without metadata", path));
      }
      uint32_t len;
      const uint8_t* data;
      bson_iter_document(&it, &len, &data);
      bson_t meta;
      bson_init_static(&meta, data, len);
      auto c = build_collection(e_, &meta);
      if (!c.ok()) return Status(c.status().code(), fmt::format("{}: {}", path, c.status().message()));
      cur = *c;
      std::unique_lock lk(e_.catalog.mu);
      e_.catalog.restore_collection(cur);
    } else if (k == "docs") {
      if (!cur) return Status(common::kInvalidOptions, fmt::format("{} is corrupt: documents before a collection", path));
      if (!bson_iter_init_find(&it, rec->get(), "docs") || !BSON_ITER_HOLDS_ARRAY(&it)) continue;
      bson_iter_t arr;
      bson_iter_recurse(&it, &arr);
      std::unique_lock lk(cur->mu);
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&arr, &len, &data);
        auto r = cur->insert(DocRef::copy(data, len), WriteContext{});
        if (!r.ok()) return Status(r.status().code(), fmt::format("{}: {}: {}", path, cur->ns(), r.status().message()));
      }
    } else if (k == "oplog") {
      if (!bson_iter_init_find(&it, rec->get(), "entries") || !BSON_ITER_HOLDS_ARRAY(&it)) continue;
      bson_iter_t arr;
      bson_iter_recurse(&it, &arr);
      OplogStore* store = e_.oplog_writer->store();
      while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !store) continue;
        uint32_t len;
        const uint8_t* data;
        bson_iter_document(&arr, &len, &data);
        bson_t entry;
        bson_init_static(&entry, data, len);
        MS_ASSIGN_OR_RETURN(OplogRecord r, OplogRecord::from_bson(&entry));
        store->restore(std::move(r));
      }
    } else if (k == "end") {
      saw_end = true;
    }
  }
  if (!saw_end) return Status(common::kInvalidOptions, fmt::format("{} is incomplete (no end record)", path));
  return Status::OK();
}

namespace {

// Documents written as framed checkpoint records {k: <kind>, <field>: [doc, ...]} of about
// 8 MB each (a reader refuses records over kMaxRecord), with `out` handed to `flush` once it
// holds more than 32 MB.
class ChunkWriter {
 public:
  ChunkWriter(std::string& out, const char* kind, const char* field, const std::function<Status()>& flush)
      : out_(out), kind_(kind), field_(field), flush_(flush) {
    start();
  }
  ~ChunkWriter() { bson_destroy(&chunk_); }
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  Status add(const bson_t* doc) {
    auto key = common::array_key(count_++, key_);
    bson_append_document(&arr_, key.data(), static_cast<int>(key.size()), doc);
    // The open array holds the chunk's bytes (its parent is only updated when it closes).
    if (arr_.len <= 8 * 1024 * 1024) return Status::OK();
    bson_append_array_end(&chunk_, &arr_);
    frame(out_, &chunk_);
    start();
    return out_.size() > 32 * 1024 * 1024 ? flush_() : Status::OK();
  }
  // Frames the last, partly filled chunk.
  void finish() {
    bson_append_array_end(&chunk_, &arr_);
    if (count_ > 0) frame(out_, &chunk_);
    count_ = 0;
    bson_reinit(&chunk_);
  }

 private:
  void start() {
    bson_reinit(&chunk_);
    common::append_utf8(&chunk_, "k", kind_);
    bson_append_array_begin(&chunk_, field_, -1, &arr_);
    count_ = 0;
  }

  std::string& out_;
  const char* kind_;
  const char* field_;
  const std::function<Status()>& flush_;
  bson_t chunk_ = BSON_INITIALIZER;
  bson_t arr_;
  uint32_t count_ = 0;
  char key_[16];
};

}  // namespace

Status Persistence::write_checkpoint() {
  std::string tmp = dir_ + "/" + kCheckpoint + ".tmp";
  std::string final_path = dir_ + "/" + kCheckpoint;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Status(common::kInternalError, fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  std::string out;
  const std::function<Status()> flush_out = [&]() -> Status {
    Status st = write_all(fd, out, tmp);
    out.clear();
    return st;
  };
  {
    bson_t h = BSON_INITIALIZER;
    common::append_utf8(&h, "magic", kMagic);
    common::append_utf8(&h, "replset", e_.server.options.replset);
    common::append_utf8(&h, "serverVersion", e_.server.options.server_version);
    Timestamp now = e_.server.clock.now();
    bson_append_timestamp(&h, "clock", -1, now.t, now.i);
    bson_append_int64(&h, "term", -1, e_.server.clock.term());
    bson_append_binary(&h, "oplogUuid", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(e_.oplog_uuid.data()), 16);
    frame(out, &h);
    bson_destroy(&h);
  }
  Status st;
  for (const auto& db : e_.catalog.database_names()) {
    for (const auto& coll : e_.catalog.collections(db)) {
      if (!coll->observer()) continue;  // internal: recreated at start
      std::shared_lock lk(coll->mu);
      bson_t rec = BSON_INITIALIZER;
      common::append_utf8(&rec, "k", "coll");
      Bson meta = collection_metadata(*coll);
      bson_append_document(&rec, "meta", -1, meta.get());
      frame(out, &rec);
      bson_destroy(&rec);
      ChunkWriter chunks(out, "docs", "docs", flush_out);
      for (const auto& [rid, doc] : coll->records()) {
        bson_t v = doc.view();
        if (!(st = chunks.add(&v)).ok()) break;
      }
      chunks.finish();
      if (!st.ok() || !(st = flush_out()).ok()) break;
    }
    if (!st.ok()) break;
  }
  if (st.ok()) {
    if (OplogStore* store = e_.oplog_writer->store()) {
      std::shared_lock lk(store->mu);
      ChunkWriter chunks(out, "oplog", "entries", flush_out);
      for (const auto& r : store->records()) {
        Bson b = r.to_bson(store->version());
        if (!(st = chunks.add(b.get())).ok()) break;
      }
      chunks.finish();
    }
  }
  if (st.ok()) {
    bson_t end = BSON_INITIALIZER;
    common::append_utf8(&end, "k", "end");
    frame(out, &end);
    bson_destroy(&end);
    st = flush_out();
  }
  if (st.ok() && ::fsync(fd) != 0) st = Status(common::kInternalError, fmt::format("cannot fsync {}", tmp));
  ::close(fd);
  if (!st.ok()) return st;
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return Status(common::kInternalError, fmt::format("cannot rename {} to {}: {}", tmp, final_path, std::strerror(errno)));
  }
  int dfd = ::open(dir_.c_str(), O_RDONLY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

Status Persistence::open_journal(bool truncate) {
  journal_session_ = DocRef();
  std::string path = dir_ + "/" + kJournal;
  int flags = O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0);
  journal_fd_ = ::open(path.c_str(), flags, 0644);
  if (journal_fd_ < 0) return Status(common::kInternalError, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  return Status::OK();
}

void Persistence::append(const OplogRecord& rec) {
  if (replaying_) return;
  // The record {e: <entry>, m: <metadata>} is written straight into the buffer behind its
  // frame header, which is filled in once the payload is complete.
  std::lock_guard lk(mu_);
  // (Replay takes the session fields from the elements before `op`: an empty one is none.)
  bool has_session = rec.session.size() > 5;
  bool same_session = has_session && journal_session_ && rec.session.bytes() == journal_session_.bytes();
  if (has_session && !same_session) journal_session_ = rec.session;
  size_t frame_at = buffer_.size();
  buffer_.append(8, '\0');
  RawBsonWriter w(buffer_);
  size_t doc_at = w.open();
  size_t entry_at = w.begin_document("e");
  if (same_session) {
    OplogRecord without = rec;
    without.session = DocRef();
    without.write_fields(w, e_.version());
  } else {
    rec.write_fields(w, e_.version());
  }
  w.close(entry_at);
  if (rec.meta) w.document("m", rec.meta.bytes());
  if (same_session) w.int32("s", 1);
  w.close(doc_at);
  const auto* payload = reinterpret_cast<const uint8_t*>(buffer_.data() + doc_at);
  uint32_t len = static_cast<uint32_t>(buffer_.size() - doc_at);
  store_u32(buffer_.data() + frame_at, len);
  store_u32(buffer_.data() + frame_at + 4, crc_of(payload, len));
}

bool Persistence::dirty() const {
  std::lock_guard lk(mu_);
  return !buffer_.empty();
}

Status Persistence::flush(bool sync) {
  // Written under the lock so records stay in order across flushing threads. The buffer
  // keeps its capacity for the next command's records (unless one was unusually large).
  constexpr size_t kKeptCapacity = 8 * 1024 * 1024;
  std::lock_guard lk(mu_);
  if (buffer_.empty() && !sync) return Status::OK();
  if (journal_fd_ < 0) {
    buffer_.clear();
    return Status::OK();
  }
  Status st = write_all(journal_fd_, buffer_, dir_ + "/" + kJournal);
  journal_bytes_ += static_cast<int64_t>(buffer_.size());
  if (buffer_.capacity() > kKeptCapacity) {
    std::string().swap(buffer_);
  } else {
    buffer_.clear();
  }
  if (!st.ok()) {
    journal_session_ = DocRef();  // the next entry carries its session fields again
    return st;
  }
  if (sync && ::fdatasync(journal_fd_) != 0) {
    return Status(common::kInternalError, fmt::format("cannot fsync the journal: {}", std::strerror(errno)));
  }
  return Status::OK();
}

Status Persistence::close() {
  // A start that failed (a corrupt file, a dbpath in use) must leave the files as they were:
  // a checkpoint of what was loaded before the failure would replace the data with a part of it.
  if (!opened_) return Status::OK();
  MS_RETURN_IF_ERROR(flush(true));
  MS_RETURN_IF_ERROR(write_checkpoint());
  if (journal_fd_ >= 0) {
    if (::ftruncate(journal_fd_, 0) != 0) {
      return Status(common::kInternalError, fmt::format("cannot truncate the journal: {}", std::strerror(errno)));
    }
    ::fsync(journal_fd_);
  }
  return Status::OK();
}

}  // namespace sim::engine
