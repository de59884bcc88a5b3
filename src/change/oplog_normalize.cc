#include "change/oplog_normalize.h"

#include <string_view>

#include "change/cursor_reply.h"
#include "change/update_convert.h"

namespace change {

namespace {


bool internal_db(std::string_view db) { return db == "admin" || db == "local" || db == "config"; }

// A copy of `o` with its first field renamed or replaced by `name: value`.
common::Bson with_first(const bson_t* o, std::string_view name, std::string_view value) {
  bson_t b = BSON_INITIALIZER;
  common::append_utf8(&b, name, value);
  bson_iter_t it;
  bson_iter_init(&it, o);
  bool first = true;
  while (bson_iter_next(&it)) {
    if (first) {
      first = false;
      continue;
    }
    common::append_iter(&b, bson_iter_key(&it), &it);
  }
  return common::Bson::steal(&b);
}

ChangeEvent command_event(const std::string& db, const std::string& coll, common::Bson cmd, OpTime ts) {
  ChangeEvent e;
  e.type = EventType::kCommand;
  e.ts = ts;
  e.db = db;
  e.coll = coll;
  e.command = std::move(cmd);
  return e;
}

constexpr std::string_view kBuckets = "system.buckets.";

}  // namespace

common::Bson id_key(const bson_t* doc) {
  bson_t b = BSON_INITIALIZER;
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, "_id")) bson_append_iter(&b, "_id", 3, &it);
  return common::Bson::steal(&b);
}

std::optional<OpTime> OplogNormalizer::oldest_open() const {
  std::optional<OpTime> oldest;
  for (const auto& [k, t] : open_) {
    if (!oldest || t.first < *oldest) oldest = t.first;
  }
  return oldest;
}

void OplogNormalizer::append_inner(const bson_t* apply_ops, std::vector<common::Bson>* ops) {
  bson_t arr;
  if (!sub_document(apply_ops, "applyOps", &arr)) return;
  bson_iter_t it;
  bson_iter_init(&it, &arr);
  while (bson_iter_next(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) continue;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_document(&it, &len, &data);
    ops->emplace_back(data, len);
  }
}

common::Status OplogNormalizer::add(const bson_t* entry, std::vector<ChangeEvent>* out) {
  bson_iter_t it;
  OpTime ts;
  if (bson_iter_init_find(&it, entry, "ts") && BSON_ITER_HOLDS_TIMESTAMP(&it)) bson_iter_timestamp(&it, &ts.t, &ts.i);
  std::string op = common::string_or_empty(entry, "op");
  std::string ns = common::string_or_empty(entry, "ns");
  if (op != "c" || ns != "admin.$cmd") return add_op(entry, ts, out);

  bson_t o;
  if (!sub_document(entry, "o", &o)) return common::Status::OK();
  // Transactions are keyed by session and transaction number.
  std::string key;
  bson_t lsid;
  if (sub_document(entry, "lsid", &lsid)) {
    key = std::string(reinterpret_cast<const char*>(bson_get_data(&lsid)), lsid.len);
    if (bson_iter_init_find(&it, entry, "txnNumber")) key += "#" + std::to_string(bson_iter_as_int64(&it));
  }
  bson_iter_t first;
  if (!bson_iter_init(&first, &o) || !bson_iter_next(&first)) return common::Status::OK();
  std::string_view cmd = bson_iter_key(&first);

  std::vector<common::Bson> ops;
  if (cmd == "applyOps") {
    bool partial = common::field_is_true(&o, "partialTxn");
    bool prepare = common::field_is_true(&o, "prepare");
    if (!key.empty() && (partial || prepare || open_.count(key))) {
      auto& txn = open_[key];
      if (txn.ops.empty() && txn.first.empty()) txn.first = ts;
      append_inner(&o, &txn.ops);
      if (partial) return common::Status::OK();
      if (prepare) {
        txn.prepared = true;
        return common::Status::OK();
      }
      ops = std::move(txn.ops);
      open_.erase(key);
    } else {
      append_inner(&o, &ops);
    }
  } else if (cmd == "commitTransaction") {
    auto found = open_.find(key);
    if (found == open_.end()) return common::Status::OK();
    ops = std::move(found->second.ops);
    open_.erase(found);
  } else if (cmd == "abortTransaction") {
    open_.erase(key);
    return common::Status::OK();
  } else {
    return common::Status::OK();
  }
  for (const auto& inner : ops) MS_RETURN_IF_ERROR(add_op(inner.get(), ts, out));
  return common::Status::OK();
}

common::Status OplogNormalizer::add_op(const bson_t* entry, OpTime ts, std::vector<ChangeEvent>* out) {
  std::string op = common::string_or_empty(entry, "op");
  std::string ns = common::string_or_empty(entry, "ns");
  if (op.size() != 1 || op == "n" || common::field_is_true(entry, "fromMigrate")) return common::Status::OK();
  auto dot = ns.find('.');
  if (dot == std::string::npos) return common::Status::OK();
  std::string db = ns.substr(0, dot), coll = ns.substr(dot + 1);
  if (internal_db(db)) return common::Status::OK();
  bson_t o;
  if (!sub_document(entry, "o", &o)) return common::Status::OK();

  if (op == "c") {
    if (coll != "$cmd") return common::Status::OK();
    bson_iter_t it;
    if (bson_iter_init(&it, &o) && bson_iter_next(&it) && std::string_view(bson_iter_key(&it)) == "applyOps") {
      std::vector<common::Bson> ops;
      append_inner(&o, &ops);
      for (const auto& inner : ops) MS_RETURN_IF_ERROR(add_op(inner.get(), ts, out));
      return common::Status::OK();
    }
    return add_command(db, &o, ts, out);
  }
  if (coll == "system.views") return add_view_write(op[0], db, &o, ts, out);
  if (coll.rfind("system.", 0) == 0) return common::Status::OK();

  ChangeEvent e;
  e.ts = ts;
  e.db = db;
  e.coll = coll;
  bson_t o2;
  switch (op[0]) {
    case 'i':
      e.type = EventType::kInsert;
      e.key = id_key(&o);
      e.doc = common::Bson(&o);
      break;
    case 'd':
      e.type = EventType::kDelete;
      e.key = id_key(&o);
      break;
    case 'u': {
      if (!sub_document(entry, "o2", &o2)) return common::Status(common::kBadValue, "update entry without o2 on " + ns);
      e.key = id_key(&o2);
      bson_iter_t it;
      bool modifier = bson_iter_init(&it, &o) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$';
      if (!modifier) {
        e.type = EventType::kReplace;
        e.doc = common::Bson(&o);
        break;
      }
      e.type = EventType::kUpdate;
      bson_iter_t v;
      bson_t diff;
      ConvertedUpdate c = bson_iter_init_find(&v, &o, "$v") && bson_iter_as_int64(&v) == 2 && sub_document(&o, "diff", &diff)
                              ? convert_v2_diff(&diff)
                              : convert_v1(&o);
      e.updates = std::move(c.statements);
      e.needs_fetch = c.needs_fetch;
      if (e.updates.empty() && !e.needs_fetch) return common::Status::OK();  // an empty diff changes nothing
      break;
    }
    default:
      return common::Status::OK();
  }
  out->push_back(std::move(e));
  return common::Status::OK();
}

common::Status OplogNormalizer::add_command(const std::string& db, const bson_t* o, OpTime ts,
                                            std::vector<ChangeEvent>* out) {
  bson_iter_t it;
  if (!bson_iter_init(&it, o) || !bson_iter_next(&it)) return common::Status::OK();
  std::string_view cmd = bson_iter_key(&it);
  std::string target = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
  bool buckets = target.rfind(kBuckets, 0) == 0;
  std::string user_name = buckets ? target.substr(kBuckets.size()) : target;

  if (cmd == "create") {
    if (target == "system.views" || (target.rfind("system.", 0) == 0 && !buckets)) return common::Status::OK();
    if (buckets) {
      // A time-series collection: created by its measurement name with its options.
      bson_t b = BSON_INITIALIZER;
      common::append_utf8(&b, "create", user_name);
      bson_iter_t f;
      if (bson_iter_init_find(&f, o, "timeseries")) bson_append_iter(&b, "timeseries", -1, &f);
      if (bson_iter_init_find(&f, o, "expireAfterSeconds")) bson_append_iter(&b, "expireAfterSeconds", -1, &f);
      out->push_back(command_event(db, user_name, common::Bson::steal(&b), ts));
      return common::Status::OK();
    }
    out->push_back(command_event(db, target, common::Bson(o), ts));
  } else if (cmd == "drop") {
    if (target == "system.views" || (target.rfind("system.", 0) == 0 && !buckets)) return common::Status::OK();
    out->push_back(command_event(db, user_name, with_first(o, "drop", user_name), ts));
  } else if (cmd == "renameCollection") {
    std::string from = target, to = common::string_or_empty(o, "to");
    auto fd = from.find('.');
    if (fd == std::string::npos) return common::Status::OK();
    bson_t b = BSON_INITIALIZER;
    common::append_utf8(&b, "renameCollection", from);
    common::append_utf8(&b, "to", to);
    bson_iter_t f;
    bool drop_target = bson_iter_init_find(&f, o, "dropTarget") &&
                       (BSON_ITER_HOLDS_BINARY(&f) || bson_iter_as_bool(&f));
    bson_append_bool(&b, "dropTarget", 10, drop_target);
    out->push_back(command_event(from.substr(0, fd), from.substr(fd + 1), common::Bson::steal(&b), ts));
  } else if (cmd == "createIndexes") {
    // One entry per index: {createIndexes: c, v, key, name, ...} → {createIndexes: c, indexes: [spec]}.
    bson_t b = BSON_INITIALIZER, arr, spec;
    common::append_utf8(&b, "createIndexes", target);
    bson_append_array_begin(&b, "indexes", 7, &arr);
    bson_append_document_begin(&arr, "0", 1, &spec);
    bson_iter_t f;
    bson_iter_init(&f, o);
    bson_iter_next(&f);
    while (bson_iter_next(&f)) common::append_iter(&spec, bson_iter_key(&f), &f);
    bson_append_document_end(&arr, &spec);
    bson_append_array_end(&b, &arr);
    out->push_back(command_event(db, target, common::Bson::steal(&b), ts));
  } else if (cmd == "commitIndexBuild") {
    bson_t b = BSON_INITIALIZER;
    common::append_utf8(&b, "createIndexes", target);
    bson_iter_t f;
    if (bson_iter_init_find(&f, o, "indexes")) bson_append_iter(&b, "indexes", 7, &f);
    out->push_back(command_event(db, target, common::Bson::steal(&b), ts));
  } else if (cmd == "dropIndexes" || cmd == "deleteIndexes" || cmd == "dropIndex") {
    out->push_back(command_event(db, target, with_first(o, "dropIndexes", target), ts));
  } else if (cmd == "collMod" || cmd == "convertToCapped" || cmd == "emptycapped") {
    out->push_back(command_event(db, user_name, with_first(o, cmd, user_name), ts));
  } else if (cmd == "dropDatabase") {
    bson_t b = BSON_INITIALIZER;
    bson_append_int32(&b, "dropDatabase", 12, 1);
    out->push_back(command_event(db, "", common::Bson::steal(&b), ts));
  }
  // startIndexBuild, abortIndexBuild and anything else: nothing to replay.
  return common::Status::OK();
}

common::Status OplogNormalizer::add_view_write(char op, const std::string& db, const bson_t* o, OpTime ts,
                                               std::vector<ChangeEvent>* out) {
  // The view's document: {_id: "db.view", viewOn, pipeline[, collation]}.
  std::string id = common::string_or_empty(o, "_id");
  auto dot = id.find('.');
  if (dot == std::string::npos) return common::Status::OK();
  std::string view = id.substr(dot + 1);
  if (op == 'd') {
    bson_t b = BSON_INITIALIZER;
    common::append_utf8(&b, "drop", view);
    out->push_back(command_event(db, view, common::Bson::steal(&b), ts));
    return common::Status::OK();
  }
  if (op != 'i' && op != 'u') return common::Status::OK();
  std::string view_on = common::string_or_empty(o, "viewOn");
  if (view_on.empty() || view_on.rfind(kBuckets, 0) == 0) return common::Status::OK();  // time series: its bucket create
  bson_t b = BSON_INITIALIZER;
  common::append_utf8(&b, op == 'i' ? "create" : "collMod", view);
  bson_iter_t f;
  bson_iter_init(&f, o);
  while (bson_iter_next(&f)) {
    std::string_view k = bson_iter_key(&f);
    if (k == "_id") continue;
    if (op == 'u' && k == "collation") continue;  // collMod cannot change a view's collation
    common::append_iter(&b, k, &f);
  }
  out->push_back(command_event(db, view, common::Bson::steal(&b), ts));
  return common::Status::OK();
}

}  // namespace change
