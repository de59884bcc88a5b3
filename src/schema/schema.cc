#include "schema/schema.h"

#include <algorithm>
#include <map>
#include <optional>

#include "client/catalog.h"
#include "common/log.h"
#include "state/sql.h"

namespace schema {

namespace {

using common::Status;

// Fields sorted by name → canonical JSON of their values.
std::map<std::string, std::string> fields_of(const bson_t* doc) {
  std::map<std::string, std::string> out;
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return out;
  while (bson_iter_next(&it)) {
    bson_t one = BSON_INITIALIZER;
    bson_append_iter(&one, "v", 1, &it);
    out[bson_iter_key(&it)] = common::to_canonical_json(&one);
    bson_destroy(&one);
  }
  return out;
}

bool is_ttl_holder(const task::PlannedObject& o) {
  bson_iter_t it;
  return common::find_field(o.source.options.get(), "expireAfterSeconds", &it) && BSON_ITER_HOLDS_NUMBER(&it);
}

int64_t collection_ttl(const task::PlannedObject& o) {
  bson_iter_t it;
  return common::find_field(o.source.options.get(), "expireAfterSeconds", &it) && BSON_ITER_HOLDS_NUMBER(&it)
             ? bson_iter_as_int64(&it)
             : -1;
}

Status record_ttl(Context& ctx, const std::string& ns, const std::string& index, int64_t seconds) {
  return ctx.store.write_transaction([&](sqlite3* db) {
    state::Stmt s(db,
                  "INSERT INTO ttl_indexes(task_id, target_ns, index_name, expire_after_seconds, restored) "
                  "VALUES(?,?,?,?,0) ON CONFLICT(task_id, target_ns, index_name) DO UPDATE SET "
                  "expire_after_seconds=excluded.expire_after_seconds");
    s.bind(1, ctx.task_id).bind(2, ns).bind(3, index).bind(4, seconds);
    return s.run("recording a TTL value");
  });
}

// The destination's collections of one database, by name (cached per call).
class DestinationCatalog {
 public:
  explicit DestinationCatalog(client::Connection& c) : c_(c) {}
  common::Result<const client::CollectionInfo*> find(const std::string& db, const std::string& name) {
    auto it = dbs_.find(db);
    if (it == dbs_.end()) {
      auto list = client::list_collections(c_, db);
      if (!list.ok()) return list.status().with_context("listing the destination's collections in " + db);
      it = dbs_.emplace(db, std::move(list).value()).first;
    }
    for (const auto& c : it->second) {
      if (c.name == name) return &c;
    }
    return static_cast<const client::CollectionInfo*>(nullptr);
  }
  void forget(const std::string& db) { dbs_.erase(db); }

 private:
  client::Connection& c_;
  std::map<std::string, std::vector<client::CollectionInfo>> dbs_;
};

Status create_one(Context& ctx, DestinationCatalog& cat, const task::PlannedObject& o) {
  common::Bson cmd = create_command(o);
  std::string ns = o.target.full();
  MS_ASSIGN_OR_RETURN(const client::CollectionInfo* existing, cat.find(o.target.db, o.target.coll));
  if (existing) {
    // What create would have been given, without the command name.
    common::Bson wanted;
    bson_iter_t it;
    bson_iter_init(&it, cmd.get());
    bson_iter_next(&it);
    while (bson_iter_next(&it)) common::append_iter(wanted.mut(), bson_iter_key(&it), &it);
    if (existing->type != o.source.type || !same_options(existing->options.get(), wanted.get())) {
      std::string msg = "destination " + existing->type + " " + ns + " exists with options " + existing->options.json() +
                        ", the source " + o.source.type + " " + o.source.full_name() + " has " + wanted.json();
      if (ctx.options.conflict_mode == task::ConflictMode::kPrecheckAndReport) {
        return Status(common::kNamespaceExists, msg + " (conflict_mode precheck_and_report; drop it or use ignore_and_proceed)");
      }
      MS_LOG_WARN("{} (ignore_and_proceed: kept as it is)", msg);
    }
    return Status::OK();
  }
  auto r = ctx.destination.run(o.target.db, cmd.get());
  if (!r.ok()) return r.status().with_context("creating " + o.kind() + " " + ns);
  cat.forget(o.target.db);
  return Status::OK();
}

// listCollections reports the bucket span derived from a granularity; create takes one or
// the other.
common::Bson timeseries_for_create(const bson_iter_t* ts) {
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(ts, &len, &data);
  common::BsonView src(data, len);
  bson_iter_t it;
  bool granularity = common::find_field(src.get(), "granularity", &it);
  common::Bson out;
  bson_iter_init(&it, src.get());
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (granularity && (k == "bucketMaxSpanSeconds" || k == "bucketRoundingSeconds")) continue;
    common::append_iter(out.mut(), k, &it);
  }
  return out;
}

// A text index's key as listIndexes shows it ({_fts: "text", _ftsx: 1} around the other
// fields) back in the form createIndexes is given: each weighted field as "text".
common::Bson text_key_for_create(const bson_t* key, const bson_t* spec) {
  common::Bson out;
  bson_iter_t it, w;
  bson_iter_init(&it, key);
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (k == "_ftsx") continue;
    if (k != "_fts") {
      common::append_iter(out.mut(), k, &it);
      continue;
    }
    bson_iter_t weights;
    if (common::find_field(spec, "weights", &w) && BSON_ITER_HOLDS_DOCUMENT(&w) && bson_iter_recurse(&w, &weights)) {
      while (bson_iter_next(&weights)) common::append_utf8(out.mut(), bson_iter_key(&weights), "text");
    }
  }
  return out;
}

}  // namespace

common::Bson create_command(const task::PlannedObject& o) {
  common::Bson cmd;
  common::append_utf8(cmd.mut(), "create", o.target.coll);
  bson_iter_t it;
  if (bson_iter_init(&it, o.source.options.get())) {
    while (bson_iter_next(&it)) {
      std::string key = bson_iter_key(&it);
      if (key == "viewOn" && o.source.is_view()) {
        common::append_utf8(cmd.mut(), "viewOn", o.target_view_on.empty() ? o.source.view_on() : o.target_view_on);
      } else if (key == "expireAfterSeconds" && BSON_ITER_HOLDS_NUMBER(&it)) {
        common::append_int64(cmd.mut(), key, kParkedExpireAfterSeconds);
      } else if (key == "timeseries" && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        common::Bson ts = timeseries_for_create(&it);
        common::append_doc(cmd.mut(), key, ts.get());
      } else {
        common::append_iter(cmd.mut(), key, &it);
      }
    }
  }
  return cmd;
}

common::Bson index_spec_for_create(const bson_t* source_spec, int64_t* ttl) {
  common::Bson spec;
  *ttl = -1;
  bson_iter_t it;
  if (!bson_iter_init(&it, source_spec)) return spec;
  while (bson_iter_next(&it)) {
    std::string key = bson_iter_key(&it);
    if (key == "ns") continue;
    if (key == "key" && BSON_ITER_HOLDS_DOCUMENT(&it)) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&it, &len, &data);
      common::BsonView k(data, len);
      bson_iter_t fts;
      if (common::find_field(k.get(), "_fts", &fts)) {
        common::Bson fixed = text_key_for_create(k.get(), source_spec);
        common::append_doc(spec.mut(), key, fixed.get());
        continue;
      }
    }
    if (key == "expireAfterSeconds" && BSON_ITER_HOLDS_NUMBER(&it)) {
      *ttl = bson_iter_as_int64(&it);
      common::append_int32(spec.mut(), key, static_cast<int32_t>(kParkedExpireAfterSeconds));
      continue;
    }
    common::append_iter(spec.mut(), key, &it);
  }
  return spec;
}

bool same_options(const bson_t* a, const bson_t* b) {
  auto fa = fields_of(a), fb = fields_of(b);
  // A number's type may differ (size: 4096 vs 4096.0) where the server normalizes it.
  for (auto* f : {&fa, &fb}) {
    for (const char* k : {"size", "max", "expireAfterSeconds"}) {
      bson_iter_t it;
      if (common::find_field(f == &fa ? a : b, k, &it) && BSON_ITER_HOLDS_NUMBER(&it)) {
        (*f)[k] = std::to_string(bson_iter_as_int64(&it));
      }
    }
  }
  return fa == fb;
}

Status create_collections(Context& ctx) {
  DestinationCatalog cat(ctx.destination);
  for (const auto& o : ctx.plan.objects) {
    if (o.source.is_view()) continue;
    MS_RETURN_IF_ERROR(create_one(ctx, cat, o));
    if (is_ttl_holder(o)) MS_RETURN_IF_ERROR(record_ttl(ctx, o.target.full(), "", collection_ttl(o)));
  }
  return Status::OK();
}

Status create_views(Context& ctx) {
  DestinationCatalog cat(ctx.destination);
  // A view may read another view: create in rounds until nothing is left or no progress.
  std::vector<const task::PlannedObject*> left;
  for (const auto& o : ctx.plan.objects) {
    if (o.source.is_view()) left.push_back(&o);
  }
  while (!left.empty()) {
    std::vector<const task::PlannedObject*> next;
    Status last;
    for (const auto* o : left) {
      Status st = create_one(ctx, cat, *o);
      if (!st.ok()) {
        last = st;
        next.push_back(o);
      }
    }
    if (next.size() == left.size()) return last;
    left = std::move(next);
  }
  return Status::OK();
}

Status create_indexes(Context& ctx) {
  for (const auto& o : ctx.plan.objects) {
    if (o.source.is_view()) continue;
    bson_t cmd = BSON_INITIALIZER, arr;
    common::append_utf8(&cmd, "createIndexes", o.target.coll);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    uint32_t n = 0;
    for (const auto& ix : o.source.indexes) {
      auto name = common::get_string(ix.get(), "name", "");
      if (!name.ok() || *name == "_id_") continue;
      // Time-series and clustered collections list their implicit indexes too.
      bson_iter_t it;
      if (common::find_field(ix.get(), "clustered", &it) && common::value_truthy(&it)) continue;
      int64_t ttl = -1;
      common::Bson spec = index_spec_for_create(ix.get(), &ttl);
      char key[16];
      common::append_doc(&arr, common::array_key(n++, key), spec.get());
      if (ttl >= 0) {
        Status st = record_ttl(ctx, o.target.full(), *name, ttl);
        if (!st.ok()) {
          bson_destroy(&cmd);
          return st;
        }
      }
    }
    bson_append_array_end(&cmd, &arr);
    common::Result<common::Bson> r = common::Bson();
    if (n > 0) r = ctx.destination.run(o.target.db, &cmd);
    bson_destroy(&cmd);
    if (!r.ok()) {
      bool conflict = r.status().code() == common::kIndexOptionsConflict ||
                      r.status().code() == common::kIndexKeySpecsConflict;
      Status st = r.status().with_context("creating the indexes of " + o.target.full());
      if (!conflict || ctx.options.conflict_mode == task::ConflictMode::kPrecheckAndReport) return st;
      MS_LOG_WARN("{} (ignore_and_proceed: the destination's index is kept)", st.message());
    }
  }
  return Status::OK();
}

Status restore_ttl(Context& ctx) {
  struct Ttl {
    std::string ns, index;
    int64_t seconds;
  };
  std::vector<Ttl> todo;
  {
    state::Stmt s(ctx.store.db(),
                  "SELECT target_ns, index_name, expire_after_seconds FROM ttl_indexes WHERE task_id=? AND restored=0");
    if (!s.ok()) return s.error("reading TTL values");
    s.bind(1, ctx.task_id);
    while (s.step() == SQLITE_ROW) todo.push_back({s.text(0), s.text(1), s.integer(2)});
  }
  for (const auto& t : todo) {
    auto dot = t.ns.find('.');
    std::string db = t.ns.substr(0, dot), coll = t.ns.substr(dot + 1);
    bson_t cmd = BSON_INITIALIZER, ix;
    common::append_utf8(&cmd, "collMod", coll);
    if (t.index.empty()) {
      common::append_int64(&cmd, "expireAfterSeconds", t.seconds);
    } else {
      BSON_APPEND_DOCUMENT_BEGIN(&cmd, "index", &ix);
      common::append_utf8(&ix, "name", t.index);
      common::append_int64(&ix, "expireAfterSeconds", t.seconds);
      bson_append_document_end(&cmd, &ix);
    }
    auto r = ctx.destination.run(db, &cmd);
    bson_destroy(&cmd);
    if (!r.ok()) return r.status().with_context("restoring expireAfterSeconds of " + t.ns + " " + t.index);
    MS_RETURN_IF_ERROR(ctx.store.write_transaction([&](sqlite3* db3) {
      state::Stmt u(db3, "UPDATE ttl_indexes SET restored=1 WHERE task_id=? AND target_ns=? AND index_name=?");
      u.bind(1, ctx.task_id).bind(2, t.ns).bind(3, t.index);
      return u.run("recording a restored TTL value");
    }));
  }
  return Status::OK();
}

}  // namespace schema
