// Fail point registry and the failCommand evaluation, after mongod's FailPoint
// (src/mongo/util/fail_point.cpp) and CommandHelpers::evaluateFailCommandFailPoint /
// shouldActivateFailCommandFailPoint (src/mongo/db/commands.cpp).
#include "sim/server/failpoints.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "common/log.h"
#include "sim/engine/engine.h"
#include "sim/server/error_labels.h"
#include "sim/server/server_state.h"

namespace sim::server {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr int kFailPointSetFailed = 266;
constexpr int kCloseConnectionAfterFailPoint = 50985;

// The fail points this server knows; configureFailPoint refuses any other name, as mongod
// refuses names it has no FailPoint for.
constexpr std::string_view kSupported[] = {"failCommand", "failGetMoreAfterCursorCheckout",
                                           "maxTimeAlwaysTimeOut", "onPrimaryTransactionalWrite"};

enum class Mode { kOff, kAlwaysOn, kRandom, kTimes, kSkip };

// bsonExtractIntegerField: any number holding an exact 64-bit integer.
Result<int64_t> extract_integer(const bson_t* obj, const char* field) {
  bson_iter_t it;
  if (!common::find_field(obj, field, &it)) return Status(common::kNoSuchKey, std::string("Missing expected field \"") + field + "\"");
  if (!BSON_ITER_HOLDS_NUMBER(&it)) {
    return Status(common::kTypeMismatch, std::string("Expected field \"") + field + "\" to have numeric type, but found " +
                                             common::type_alias(bson_iter_type(&it)));
  }
  double d = BSON_ITER_HOLDS_DOUBLE(&it) ? bson_iter_double(&it) : static_cast<double>(bson_iter_as_int64(&it));
  if (BSON_ITER_HOLDS_DOUBLE(&it) &&
      (!std::isfinite(d) || d != std::trunc(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)) {
    return Status(common::kBadValue, std::string("Expected field \"") + field +
                                         "\" to have a value exactly representable as a 64-bit integer, but found " +
                                         field + ": " + common::value_to_server_string(bson_iter_value(&it)));
  }
  return BSON_ITER_HOLDS_DOUBLE(&it) ? static_cast<int64_t>(d) : bson_iter_as_int64(&it);
}

// bsonExtractBooleanField: a bool or a number (non-zero is true); nullopt otherwise.
std::optional<bool> extract_bool(const bson_t* obj, const char* field) {
  bson_iter_t it;
  if (!common::find_field(obj, field, &it)) return std::nullopt;
  if (BSON_ITER_HOLDS_BOOL(&it)) return bson_iter_bool(&it);
  if (BSON_ITER_HOLDS_NUMBER(&it)) return bson_iter_as_double(&it) != 0;
  return std::nullopt;
}

// BSONObj::getStringField: the string, or "" for any other type.
std::string string_field(const bson_t* obj, const char* field) {
  bson_iter_t it;
  if (common::find_field(obj, field, &it) && BSON_ITER_HOLDS_UTF8(&it)) return bson_iter_utf8(&it, nullptr);
  return "";
}

bool has_field(const bson_t* obj, const char* field) {
  bson_iter_t it;
  return common::find_field(obj, field, &it);
}

// The options mongod's evaluateFailCommandFailPoint reads before deciding to fire.
struct FailCommandActions {
  bool close = false;
  bool block = false;
  bool has_error_code = false;
  int64_t error_code = 0;
};

FailCommandActions read_actions(const bson_t* data) {
  FailCommandActions a;
  a.close = extract_bool(data, "closeConnection").value_or(false);
  a.block = extract_bool(data, "blockConnection").value_or(false);
  if (has_field(data, "errorCode")) {
    auto code = extract_integer(data, "errorCode");
    if (code.ok()) {
      a.has_error_code = true;
      a.error_code = *code;
    }
  }
  return a;
}

// Codes whose errors carry extra info on mongod (error_codes.yml `extra`): only these keep
// failCommand's errorExtraInfo fields in the reply, as Status drops extra info for others.
bool code_has_extra_info(int code) {
  static constexpr int kCodes[] = {65,  91,  121, 143, 150, 169, 227, 236, 249,  271,   283,  284,     318,
                                   343, 346, 348, 351, 356, 359, 361, 382, 409, 413, 446, 11000, 13388, 1003141};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

Status error_with_extra(int code, std::string msg, const bson_t* extra) {
  Status st(code, std::move(msg));
  if (extra && !bson_empty(extra)) st.with_extra_info(std::string(reinterpret_cast<const char*>(bson_get_data(extra)), extra->len));
  return st;
}

bool is_retryable_write_command(std::string_view name) {
  return name == "insert" || name == "update" || name == "delete" || name == "findAndModify" ||
         name == "findandmodify" || name == "bulkWrite";
}

// Whether the command waits for write concern (supportsWriteConcern): writes, DDL, user
// management, transaction commit/abort, and aggregations ending in $out or $merge.
bool supports_write_concern(const CommandRequest& req, const CommandDef& def) {
  if (def.is_write) return true;
  if (def.name != "aggregate") return false;
  bson_iter_t it, stages, stage;
  if (!common::find_field(req.body.get(), "pipeline", &it) || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &stages)) {
    return false;
  }
  std::string last;
  while (bson_iter_next(&stages)) {
    if (BSON_ITER_HOLDS_DOCUMENT(&stages) && bson_iter_recurse(&stages, &stage) && bson_iter_next(&stage)) {
      last = bson_iter_key(&stage);
    }
  }
  return last == "$out" || last == "$merge";
}

}  // namespace

struct FailPointRegistry::Point {
  Mode mode = Mode::kOff;
  int64_t value = 0;  // times or skip left; the activation threshold for kRandom
  Bson data;
  int64_t entered = 0;
};

FailPointRegistry::FailPointRegistry() {
  for (auto name : kSupported) points_.emplace(std::string(name), std::make_unique<Point>());
}

FailPointRegistry::~FailPointRegistry() = default;

std::vector<std::string> FailPointRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : points_) out.push_back(name);
  return out;
}

Result<int64_t> FailPointRegistry::configure(const bson_t* cmd) {
  bson_iter_t it;
  std::string name;
  if (bson_iter_init(&it, cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it)) name = bson_iter_utf8(&it, nullptr);
  auto found = points_.find(name);
  if (found == points_.end()) return Status(kFailPointSetFailed, name + " not found");

  // FailPoint::parseBSON.
  Mode mode = Mode::kAlwaysOn;
  int64_t value = 0;
  if (!common::find_field(cmd, "mode", &it)) {
    return Status(common::kIllegalOperation, "When setting a failpoint, you must supply a 'mode'");
  }
  if (BSON_ITER_HOLDS_UTF8(&it)) {
    std::string m = bson_iter_utf8(&it, nullptr);
    if (m == "off") {
      mode = Mode::kOff;
    } else if (m == "alwaysOn") {
      mode = Mode::kAlwaysOn;
    } else {
      return Status(common::kBadValue, "unknown mode: " + m);
    }
  } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
    uint32_t len = 0;
    const uint8_t* bytes = nullptr;
    bson_iter_document(&it, &len, &bytes);
    bson_t mobj;
    if (!bson_init_static(&mobj, bytes, len)) return Status(common::kInvalidBSON, "invalid mode document");
    auto counted = [&](const char* field, Mode m) -> Status {
      MS_ASSIGN_OR_RETURN(int64_t n, extract_integer(&mobj, field));
      if (n < 0) return Status(common::kBadValue, std::string("'") + field + "' option to 'mode' must be positive");
      if (n > std::numeric_limits<int32_t>::max()) {
        return Status(common::kBadValue, std::string("'") + field + "' option to 'mode' is too large");
      }
      mode = m;
      value = n;
      return Status::OK();
    };
    bson_iter_t p;
    if (has_field(&mobj, "times")) {
      MS_RETURN_IF_ERROR(counted("times", Mode::kTimes));
    } else if (has_field(&mobj, "skip")) {
      MS_RETURN_IF_ERROR(counted("skip", Mode::kSkip));
    } else if (common::find_field(&mobj, "activationProbability", &p)) {
      if (!BSON_ITER_HOLDS_NUMBER(&p)) {
        return Status(common::kTypeMismatch,
                      "the 'activationProbability' option to 'mode' must be a double between 0 and 1");
      }
      double prob = bson_iter_as_double(&p);
      if (!(prob >= 0 && prob <= 1)) {
        return Status(common::kBadValue, "activationProbability must be between 0.0 and 1.0; found " +
                                             common::value_to_server_string(bson_iter_value(&p)));
      }
      mode = Mode::kRandom;
      value = static_cast<int32_t>(std::numeric_limits<int32_t>::max() * prob);
    } else {
      return Status(common::kBadValue,
                    "'mode' must be one of 'off', 'alwaysOn', '{times:n}', '{skip:n}' or '{activationProbability:p}'");
    }
  } else {
    return Status(common::kTypeMismatch, "'mode' must be a string or JSON object");
  }
  Bson data;
  if (common::find_field(cmd, "data", &it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_ARRAY(&it)) {
      return Status(common::kTypeMismatch, "the 'data' option must be a JSON object");
    }
    uint32_t len = 0;
    const uint8_t* bytes = nullptr;
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
      bson_iter_document(&it, &len, &bytes);
    } else {
      bson_iter_array(&it, &len, &bytes);
    }
    data = Bson(bytes, len);
  }

  std::lock_guard lk(mu_);
  Point& pt = *found->second;
  bool was_on = pt.mode != Mode::kOff;
  bool now_on = mode != Mode::kOff;
  pt.mode = mode;
  pt.value = value;
  pt.data = std::move(data);
  if (was_on != now_on) active_.fetch_add(now_on ? 1 : -1, std::memory_order_release);
  MS_LOG_WARN("Set failpoint {}: {}", name, common::to_json(cmd));
  return pt.entered;
}

Result<int64_t> FailPointRegistry::times_entered(std::string_view name) const {
  auto found = points_.find(name);
  if (found == points_.end()) return Status(kFailPointSetFailed, std::string(name) + " not found");
  std::lock_guard lk(mu_);
  return found->second->entered;
}

std::optional<Bson> FailPointRegistry::evaluate(std::string_view name, const std::function<bool(const bson_t*)>& pred) {
  if (!any_active()) return std::nullopt;
  auto found = points_.find(name);
  if (found == points_.end()) return std::nullopt;
  std::lock_guard lk(mu_);
  Point& pt = *found->second;
  if (pt.mode == Mode::kOff || !pred(pt.data.get())) return std::nullopt;
  switch (pt.mode) {
    case Mode::kAlwaysOn:
      break;
    case Mode::kRandom: {
      thread_local std::mt19937 rng{std::random_device{}()};
      if (std::uniform_int_distribution<int32_t>{0, std::numeric_limits<int32_t>::max()}(rng) >= pt.value) {
        return std::nullopt;
      }
      break;
    }
    case Mode::kTimes:
      // {times: n} fires n times (a first pass even for n = 0, as mongod), then turns off.
      if (--pt.value <= 0) {
        pt.mode = Mode::kOff;
        active_.fetch_sub(1, std::memory_order_release);
      }
      break;
    case Mode::kSkip:
      // {skip: n} lets n passes through, then fires on every pass.
      if (pt.value > 0 && --pt.value >= 0) return std::nullopt;
      break;
    case Mode::kOff:
      return std::nullopt;
  }
  ++pt.entered;
  return pt.data;
}

Status with_error_labels(const Status& st, const bson_t* labels) {
  bson_t extra = BSON_INITIALIZER;
  bson_append_array(&extra, "errorLabels", -1, labels);
  if (!st.extra_info().empty()) {
    bson_t old;
    if (bson_init_static(&old, reinterpret_cast<const uint8_t*>(st.extra_info().data()), st.extra_info().size())) {
      bson_iter_t it;
      if (bson_iter_init(&it, &old)) {
        while (bson_iter_next(&it)) {
          if (std::string_view(bson_iter_key(&it)) != "errorLabels") bson_append_iter(&extra, bson_iter_key(&it), -1, &it);
        }
      }
    }
  }
  Status out(st.code(), st.message());
  out.with_extra_info(std::string(reinterpret_cast<const char*>(bson_get_data(&extra)), extra.len));
  bson_destroy(&extra);
  return out;
}

CommandFailPoints::CommandFailPoints(ServerState& state, ClientInfo& client, const CommandRequest& req,
                                     const CommandDef& def)
    : state_(state), client_(client), req_(req), def_(def) {}

std::string CommandFailPoints::ns() const {
  // invocation->ns(): <db>.<collection> for commands naming a collection (getMore names it
  // in `collection`), the database alone otherwise.
  bson_iter_t it;
  if (def_.name == "getMore") {
    if (common::find_field(req_.body.get(), "collection", &it) && BSON_ITER_HOLDS_UTF8(&it)) {
      return req_.db + "." + bson_iter_utf8(&it, nullptr);
    }
    return req_.db;
  }
  if (bson_iter_init(&it, req_.body.get()) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it)) {
    std::string v = bson_iter_utf8(&it, nullptr);
    if (def_.name == "renameCollection") return v;
    if (!v.empty()) return req_.db + "." + v;
  }
  return req_.db;
}

bool CommandFailPoints::matches(const bson_t* data, bool for_get_more) const {
  if (def_.name == "configureFailPoint") return false;  // never, even when listed
  if (has_field(data, "threadName") && "conn" + std::to_string(client_.connection_id) != string_field(data, "threadName")) {
    return false;
  }
  if (has_field(data, "appName") && client_.app_name != string_field(data, "appName")) return false;
  if (has_field(data, "namespace") && ns() != string_field(data, "namespace")) return false;
  // Every mongosim client is external, so failInternalCommands changes nothing here.
  if (has_field(data, "failAllCommands")) return true;
  if (for_get_more) return def_.name == "getMore";
  bson_iter_t it, names;
  if (!common::find_field(data, "failCommands", &it) || !(BSON_ITER_HOLDS_ARRAY(&it) || BSON_ITER_HOLDS_DOCUMENT(&it)) ||
      !bson_iter_recurse(&it, &names)) {
    return false;
  }
  while (bson_iter_next(&names)) {
    if (!BSON_ITER_HOLDS_UTF8(&names)) continue;
    std::string_view n = bson_iter_utf8(&names, nullptr);
    if (n == def_.name || std::find(def_.aliases.begin(), def_.aliases.end(), n) != def_.aliases.end()) return true;
  }
  return false;
}

Status CommandFailPoints::before_auth(bool* close) {
  auto data = state_.failpoints.evaluate("failCommand", [&](const bson_t* d) {
    FailCommandActions a = read_actions(d);
    return matches(d, false) && (a.close || a.block || a.has_error_code);
  });
  if (!data) return Status::OK();
  const bson_t* d = data->get();
  FailCommandActions a = read_actions(d);
  bson_iter_t it;
  if (common::find_field(d, "errorLabels", &it) && BSON_ITER_HOLDS_ARRAY(&it)) {
    uint32_t len = 0;
    const uint8_t* bytes = nullptr;
    bson_iter_array(&it, &len, &bytes);
    labels_override_ = Bson(bytes, len);
  }
  if (a.block) {
    auto ms = extract_integer(d, "blockTimeMS");
    if (!ms.ok()) return Status(common::kInvalidOptions, "must specify 'blockTimeMS' when 'blockConnection' is true");
    if (*ms < 0) return Status(common::kInvalidOptions, "'blockTimeMS' must be non-negative");
    MS_LOG_INFO("Blocking {} via 'failCommand' failpoint for {}ms", def_.name, *ms);
    state_.sleep_for(std::chrono::milliseconds(*ms));
    MS_LOG_INFO("Unblocking {} via 'failCommand' failpoint", def_.name);
  }
  static constexpr const char* kMessage = "Failing command via 'failCommand' failpoint";
  if (a.close) {
    MS_LOG_INFO("Failing {} via 'failCommand' failpoint: closing connection", def_.name);
    *close = true;
    return Status(kCloseConnectionAfterFailPoint, kMessage);
  }
  if (common::find_field(d, "errorExtraInfo", &it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
      return Status(common::kTypeMismatch, std::string("\"errorExtraInfo\" had the wrong type. Expected object, found ") +
                                               common::type_alias(bson_iter_type(&it)));
    }
    if (!a.has_error_code || a.error_code == 0) return Status::OK();
    uint32_t len = 0;
    const uint8_t* bytes = nullptr;
    bson_iter_document(&it, &len, &bytes);
    bson_t extra;
    int code = static_cast<int>(a.error_code);
    bool keep = code_has_extra_info(code) && bson_init_static(&extra, bytes, len);
    return error_with_extra(code, kMessage, keep ? &extra : nullptr);
  }
  if (a.has_error_code && a.error_code != 0) return Status(static_cast<int>(a.error_code), kMessage);
  return Status::OK();
}

Status CommandFailPoints::before_run(bool* close, bson_t* reply, bool* replied) {
  if (!state_.failpoints.any_active()) return Status::OK();
  const bson_t* body = req_.body.get();
  bson_iter_t it;
  // A deadline (maxTimeMS; on getMore it only bounds awaitData) that has "expired" at once.
  if (def_.name != "getMore" && common::find_field(body, "maxTimeMS", &it) && BSON_ITER_HOLDS_NUMBER(&it) &&
      bson_iter_as_int64(&it) > 0 && state_.failpoints.evaluate("maxTimeAlwaysTimeOut", [](const bson_t*) { return true; })) {
    return Status(common::kMaxTimeMSExpired, "operation exceeded time limit");
  }
  if (def_.name == "getMore") {
    auto data = state_.failpoints.evaluate("failGetMoreAfterCursorCheckout",
                                           [&](const bson_t* d) { return matches(d, true); });
    if (data) {
      // The failed getMore deletes its cursor (getmore_cmd.cpp's cursorDeleter); a cursor
      // that does not exist is left to the getMore's own CursorNotFound.
      const CommandDef* kill = state_.ctx.commands.find("killCursors");
      bson_iter_t id;
      if (kill && bson_iter_init(&id, body) && bson_iter_next(&id) && BSON_ITER_HOLDS_INT64(&id)) {
        std::string coll = ns().substr(std::min(ns().size(), req_.db.size() + 1));
        bson_t kc = BSON_INITIALIZER, arr;
        common::append_utf8(&kc, "killCursors", coll);
        bson_append_array_begin(&kc, "cursors", -1, &arr);
        bson_append_int64(&arr, "0", -1, bson_iter_int64(&id));
        bson_append_array_end(&kc, &arr);
        common::append_utf8(&kc, "$db", req_.db);
        // Checked before the kill: mongod labels errors of a checked-out change stream cursor.
        const bool change_stream = state_.engine && state_.engine->is_change_stream_cursor(bson_iter_int64(&id));
        CommandRequest kreq{"killCursors", req_.db, Bson::steal(&kc), false};
        CommandContext kctx{state_.ctx, client_, kreq};
        bson_t kreply = BSON_INITIALIZER;
        Status kst = kill->handler(kctx, &kreply);
        bool killed = false;
        bson_iter_t k, arr_it;
        if (kst.ok() && bson_iter_init_find(&k, &kreply, "cursorsKilled") && bson_iter_recurse(&k, &arr_it)) {
          killed = bson_iter_next(&arr_it);
        }
        bson_destroy(&kreply);
        if (killed) {
          int64_t code = common::kInternalError;
          if (common::find_field(data->get(), "errorCode", &it) && BSON_ITER_HOLDS_NUMBER(&it)) code = bson_iter_as_int64(&it);
          Status hit(static_cast<int>(code), "Hit the 'failGetMoreAfterCursorCheckout' failpoint");
          if (change_stream) {
            LabelContext lc;
            lc.command = "getMore";
            lc.change_stream_aggregate = true;
            for (const auto& l : server_error_labels(lc, hit.code(), std::nullopt)) hit.with_label(l);
          }
          return hit;
        }
      }
    }
  }
  if (is_retryable_write_command(def_.name) && common::find_field(body, "txnNumber", &it) &&
      !common::find_field(body, "autocommit", &it)) {
    // mongod evaluates it after each statement it writes; mongosim once per command that
    // writes something, which gives the same outcome for the spec tests' single-statement and
    // ordered writes. A retry of statements already done writes nothing and does not fire it.
    CommandContext cctx{state_.ctx, client_, req_};
    auto data = state_.failpoints.evaluate("onPrimaryTransactionalWrite", [&](const bson_t*) {
      return !(state_.engine && state_.engine->is_retry_of_executed_write(cctx));
    });
    if (data) {
      retryable_write_hit_ = true;
      retryable_write_close_ = extract_bool(data->get(), "closeConnection").value_or(true);
      if (common::find_field(data->get(), "failBeforeCommitExceptionCode", &it) && BSON_ITER_HOLDS_NUMBER(&it)) {
        int code = static_cast<int>(bson_iter_as_int64(&it));
        if (retryable_write_close_) *close = true;
        retryable_write_hit_ = false;
        bson_iter_t txn;
        int64_t txn_number = common::find_field(body, "txnNumber", &txn) ? bson_iter_as_int64(&txn) : 0;
        std::string msg = "Failing write for txnNumber " + std::to_string(txn_number) + " due to failPoint";
        if (def_.name == "insert" || def_.name == "update" || def_.name == "delete") {
          // The first statement fails; an ordered batch stops there.
          bson_append_int32(reply, "n", -1, 0);
          if (def_.name == "update") bson_append_int32(reply, "nModified", -1, 0);
          bson_t errs, e;
          bson_append_array_begin(reply, "writeErrors", -1, &errs);
          bson_append_document_begin(&errs, "0", -1, &e);
          bson_append_int32(&e, "index", -1, 0);
          bson_append_int32(&e, "code", -1, code);
          common::append_utf8(&e, "errmsg", msg);
          bson_append_document_end(&errs, &e);
          bson_append_array_end(reply, &errs);
          *replied = true;
          return Status::OK();
        }
        return Status(code, msg);
      }
    }
  }
  return Status::OK();
}

std::optional<Bson> CommandFailPoints::after_run(bool* close) {
  if (retryable_write_hit_ && retryable_write_close_) *close = true;
  if (!state_.failpoints.any_active() || !supports_write_concern(req_, def_)) return std::nullopt;
  auto data = state_.failpoints.evaluate(
      "failCommand", [&](const bson_t* d) { return matches(d, false) && has_field(d, "writeConcernError"); });
  if (!data) return std::nullopt;
  bson_iter_t it;
  if (common::find_field(data->get(), "errorLabels", &it) && BSON_ITER_HOLDS_ARRAY(&it)) {
    uint32_t len = 0;
    const uint8_t* bytes = nullptr;
    bson_iter_array(&it, &len, &bytes);
    labels_override_ = Bson(bytes, len);
  }
  bson_t wce = BSON_INITIALIZER;
  if (common::find_field(data->get(), "writeConcernError", &it)) bson_append_iter(&wce, "writeConcernError", -1, &it);
  return Bson::steal(&wce);
}

}  // namespace sim::server
