// Unified test format runner: entities, operations, expectations (over libmongoc 1.23).
#include "runner.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "match.h"
#include "schema_check.h"

namespace spec {

int compare_versions(const std::string& a, const std::string& b) {
  auto parts = [](const std::string& s) {
    std::vector<long> out;
    std::stringstream ss(s);
    std::string p;
    while (std::getline(ss, p, '.')) out.push_back(std::strtol(p.c_str(), nullptr, 10));
    while (out.size() < 3) out.push_back(0);
    return out;
  };
  auto pa = parts(a), pb = parts(b);
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    long x = i < pa.size() ? pa[i] : 0, y = i < pb.size() ? pb[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

namespace {

// Highest schema version this runner accepts (features it lacks fail the test that uses them).
constexpr const char* kMaxSchema = "1.23";

// A failure inside a test: thrown nowhere, carried as a string.
struct Err {
  bool is_error = false;
  bool client_error = false;
  uint32_t domain = 0;
  uint32_t code = 0;
  std::string message;
  Doc reply;             // the server reply / write result, when there is one
  // The server's own reply to the failed command, as command monitoring saw it (libmongoc's
  // write helpers hand back a write result instead); empty when none.
  Doc server_reply;
  Val partial_result;    // e.g. the BulkWriteResult carried by a bulk write exception
};

struct OpResult {
  Val value;  // missing for void operations
  Err err;
  mongoc_cursor_t* cursor = nullptr;  // createFindCursor: the cursor entity to save
  std::optional<Doc> first;           // its first document, read at creation
  mongoc_client_session_t* own_session = nullptr;  // see CursorEntity
  mongoc_change_stream_t* stream = nullptr;        // createChangeStream
};

Err from_bson_error(const bson_error_t& e, const bson_t* reply) {
  Err r;
  r.is_error = true;
  r.domain = e.domain;
  r.code = e.code;
  r.message = e.message;
  r.client_error = !(e.domain == MONGOC_ERROR_SERVER || e.domain == MONGOC_ERROR_WRITE_CONCERN);
  if (reply) r.reply = Doc(reply);
  return r;
}

Err client_err(const std::string& msg) {
  Err r;
  r.is_error = true;
  r.client_error = true;
  r.message = msg;
  return r;
}

struct Event {
  std::string type;  // commandStartedEvent, commandSucceededEvent, commandFailedEvent
  std::string command_name;
  std::string database_name;
  Doc command;
  Doc reply;
  bool has_service_id = false;
  bool has_server_connection_id = false;
};

const std::set<std::string> kSensitive = {"authenticate", "saslstart",      "saslcontinue", "getnonce",
                                          "createuser",   "updateuser",     "copydbgetnonce",
                                          "copydbsaslstart", "copydb"};

// An SDAM event as the unified format compares it: its name and the types of the previous
// and new descriptions.
struct SdamEvent {
  std::string type;  // topologyDescriptionChangedEvent, serverDescriptionChangedEvent
  std::string previous, current;
};

struct ClientEntity {
  mongoc_client_t* client = nullptr;
  bool started = false, succeeded = false, failed = false;
  bool topology_events = false, server_events = false;
  std::vector<SdamEvent> sdam;
  std::set<std::string> ignore;
  bool observe_sensitive = false;
  bool listening = true;
  std::vector<Event> events;
  std::set<int64_t> sensitive_request_ids;
  std::map<int64_t, std::string> database_of_request;  // libmongoc 1.23 reports it only on start
  // The last reply any command of this client got, observed or not (for errorResponse).
  Doc last_reply;

  bool want(const std::string& name, bool speculative) const {
    if (!listening) return false;
    if (ignore.count(name) || name == "configureFailPoint") return false;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    bool sensitive = kSensitive.count(lower) ||
                     ((lower == "hello" || lower == "ismaster") && speculative);
    return !sensitive || observe_sensitive;
  }
};

void on_started(const mongoc_apm_command_started_t* e) {
  auto* c = static_cast<ClientEntity*>(mongoc_apm_command_started_get_context(e));
  std::string name = mongoc_apm_command_started_get_command_name(e);
  const bson_t* cmd = mongoc_apm_command_started_get_command(e);
  // libmongoc redacts a hello carrying speculativeAuthenticate to an empty command before the
  // event, so an empty hello is the speculative one.
  bool speculative = bson_has_field(cmd, "speculativeAuthenticate") || bson_empty(cmd);
  if (!c->want(name, speculative)) {
    c->sensitive_request_ids.insert(mongoc_apm_command_started_get_request_id(e));
    return;
  }
  c->database_of_request[mongoc_apm_command_started_get_request_id(e)] =
      mongoc_apm_command_started_get_database_name(e);
  if (!c->started) return;
  Event ev;
  ev.type = "commandStartedEvent";
  ev.command_name = name;
  ev.database_name = mongoc_apm_command_started_get_database_name(e);
  ev.command = Doc(cmd);
  ev.has_service_id = mongoc_apm_command_started_get_service_id(e) != nullptr;
  ev.has_server_connection_id = mongoc_apm_command_started_get_server_connection_id(e) != -1;
  c->events.push_back(std::move(ev));
}

void on_succeeded(const mongoc_apm_command_succeeded_t* e) {
  auto* c = static_cast<ClientEntity*>(mongoc_apm_command_succeeded_get_context(e));
  c->last_reply = Doc(mongoc_apm_command_succeeded_get_reply(e));
  if (c->sensitive_request_ids.count(mongoc_apm_command_succeeded_get_request_id(e))) return;
  if (!c->succeeded) return;
  Event ev;
  ev.type = "commandSucceededEvent";
  ev.command_name = mongoc_apm_command_succeeded_get_command_name(e);
  ev.database_name = c->database_of_request[mongoc_apm_command_succeeded_get_request_id(e)];
  ev.reply = Doc(mongoc_apm_command_succeeded_get_reply(e));
  ev.has_service_id = mongoc_apm_command_succeeded_get_service_id(e) != nullptr;
  ev.has_server_connection_id = mongoc_apm_command_succeeded_get_server_connection_id(e) != -1;
  c->events.push_back(std::move(ev));
}

void on_failed(const mongoc_apm_command_failed_t* e) {
  auto* c = static_cast<ClientEntity*>(mongoc_apm_command_failed_get_context(e));
  if (const bson_t* reply = mongoc_apm_command_failed_get_reply(e)) c->last_reply = Doc(reply);
  if (c->sensitive_request_ids.count(mongoc_apm_command_failed_get_request_id(e))) return;
  if (!c->failed) return;
  Event ev;
  ev.type = "commandFailedEvent";
  ev.command_name = mongoc_apm_command_failed_get_command_name(e);
  ev.database_name = c->database_of_request[mongoc_apm_command_failed_get_request_id(e)];
  ev.has_service_id = mongoc_apm_command_failed_get_service_id(e) != nullptr;
  ev.has_server_connection_id = mongoc_apm_command_failed_get_server_connection_id(e) != -1;
  c->events.push_back(std::move(ev));
}

void on_topology_changed(const mongoc_apm_topology_changed_t* e) {
  auto* c = static_cast<ClientEntity*>(mongoc_apm_topology_changed_get_context(e));
  if (!c->topology_events) return;
  SdamEvent ev;
  ev.type = "topologyDescriptionChangedEvent";
  ev.previous = mongoc_topology_description_type(mongoc_apm_topology_changed_get_previous_description(e));
  ev.current = mongoc_topology_description_type(mongoc_apm_topology_changed_get_new_description(e));
  c->sdam.push_back(ev);
}

void on_server_changed(const mongoc_apm_server_changed_t* e) {
  auto* c = static_cast<ClientEntity*>(mongoc_apm_server_changed_get_context(e));
  if (!c->server_events) return;
  SdamEvent ev;
  ev.type = "serverDescriptionChangedEvent";
  ev.previous = mongoc_server_description_type(mongoc_apm_server_changed_get_previous_description(e));
  ev.current = mongoc_server_description_type(mongoc_apm_server_changed_get_new_description(e));
  c->sdam.push_back(ev);
}

// Whether an SDAM event matches an expected one ({previousDescription: {type}, newDescription:
// {type}}, either optional).
bool sdam_matches(const SdamEvent& ev, const std::string& type, const bson_t* want) {
  if (ev.type != type) return false;
  for (const char* k : {"previousDescription", "newDescription"}) {
    if (auto d = get_doc(want, k)) {
      if (auto t = get_str(d->get(), "type"); t && *t != (std::string_view(k) == "newDescription" ? ev.current : ev.previous))
        return false;
    }
  }
  return true;
}

struct DatabaseEntity {
  mongoc_database_t* db = nullptr;
  std::string client;
};
struct CollectionEntity {
  mongoc_collection_t* coll = nullptr;
  std::string client;
  std::string db_name;
};
struct SessionEntity {
  mongoc_client_session_t* session = nullptr;
  std::string client;
  Doc lsid;
};
struct CursorEntity {
  mongoc_cursor_t* cursor = nullptr;
  mongoc_change_stream_t* stream = nullptr;  // a change stream entity instead of a cursor
  std::optional<Doc> first;  // read when the cursor was created (so creation surfaces errors)
  // The runner's own session of a command cursor opened without one, so that its getMores
  // carry the command's lsid; ended after the cursor.
  mongoc_client_session_t* own_session = nullptr;
  void destroy() {
    if (cursor) mongoc_cursor_destroy(cursor);
    if (stream) mongoc_change_stream_destroy(stream);
    if (own_session) mongoc_client_session_destroy(own_session);
    cursor = nullptr;
    stream = nullptr;
    own_session = nullptr;
  }
};

struct BucketEntity {
  mongoc_gridfs_bucket_t* bucket = nullptr;
};

// Everything one test creates. Destroyed in dependency order.
class TestState {
 public:
  ~TestState() {
    for (auto& [k, v] : cursors) v.destroy();
    for (auto& [k, v] : buckets) mongoc_gridfs_bucket_destroy(v.bucket);
    for (auto& [k, v] : sessions)
      if (v.session) mongoc_client_session_destroy(v.session);
    for (auto& [k, v] : collections) mongoc_collection_destroy(v.coll);
    for (auto& [k, v] : databases) mongoc_database_destroy(v.db);
    for (auto& [k, v] : clients) mongoc_client_destroy(v->client);
  }
  bool exists(const std::string& id) const {
    return clients.count(id) || databases.count(id) || collections.count(id) || sessions.count(id) ||
           cursors.count(id) || buckets.count(id) || values.count(id);
  }
  std::map<std::string, std::unique_ptr<ClientEntity>> clients;
  std::map<std::string, DatabaseEntity> databases;
  std::map<std::string, CollectionEntity> collections;
  std::map<std::string, SessionEntity> sessions;
  std::map<std::string, CursorEntity> cursors;
  std::map<std::string, BucketEntity> buckets;
  std::map<std::string, Val> values;
  std::vector<std::pair<std::string, Doc>> failpoints;  // (client id, failpoint name)
};

std::string uri_with_option(std::string uri, const std::string& key, const std::string& value) {
  if (uri.find('?') == std::string::npos) {
    // mongodb://host:port -> needs "/?" before options.
    size_t scheme = uri.find("://");
    size_t slash = uri.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    uri += slash == std::string::npos ? "/?" : "?";
  } else if (uri.back() != '?' && uri.back() != '&') {
    uri += "&";
  }
  return uri + key + "=" + value;
}

std::string scalar_to_string(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_BOOL: return bson_iter_bool(it) ? "true" : "false";
    case BSON_TYPE_INT32: return std::to_string(bson_iter_int32(it));
    case BSON_TYPE_INT64: return std::to_string(bson_iter_int64(it));
    case BSON_TYPE_DOUBLE: return std::to_string(static_cast<int64_t>(bson_iter_double(it)));
    case BSON_TYPE_UTF8: return bson_iter_utf8(it, nullptr);
    default: return iter_json(it);
  }
}

mongoc_read_concern_t* make_read_concern(const bson_t* d) {
  auto* rc = mongoc_read_concern_new();
  if (auto l = get_str(d, "level")) mongoc_read_concern_set_level(rc, l->c_str());
  return rc;
}

mongoc_write_concern_t* make_write_concern(const bson_t* d) {
  auto* wc = mongoc_write_concern_new();
  bson_iter_t it;
  if (bson_iter_init_find(&it, d, "w")) {
    if (BSON_ITER_HOLDS_UTF8(&it)) {
      std::string w = bson_iter_utf8(&it, nullptr);
      if (w == "majority") mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
      else mongoc_write_concern_set_wtag(wc, w.c_str());
    } else if (auto n = iter_number(&it)) {
      mongoc_write_concern_set_w(wc, static_cast<int32_t>(*n));
    }
  }
  if (auto j = get_bool(d, "journal")) mongoc_write_concern_set_journal(wc, *j);
  if (auto j = get_bool(d, "j")) mongoc_write_concern_set_journal(wc, *j);
  if (auto t = get_int(d, "wtimeoutMS")) mongoc_write_concern_set_wtimeout_int64(wc, *t);
  return wc;
}

mongoc_read_prefs_t* make_read_prefs(const bson_t* d) {
  std::string mode = get_str(d, "mode").value_or("primary");
  std::transform(mode.begin(), mode.end(), mode.begin(), [](unsigned char c) { return std::tolower(c); });
  mongoc_read_mode_t m = MONGOC_READ_PRIMARY;
  if (mode == "primarypreferred") m = MONGOC_READ_PRIMARY_PREFERRED;
  else if (mode == "secondary") m = MONGOC_READ_SECONDARY;
  else if (mode == "secondarypreferred") m = MONGOC_READ_SECONDARY_PREFERRED;
  else if (mode == "nearest") m = MONGOC_READ_NEAREST;
  auto* rp = mongoc_read_prefs_new(m);
  if (auto ms = get_int(d, "maxStalenessSeconds")) mongoc_read_prefs_set_max_staleness_seconds(rp, *ms);
  if (auto tags = get_doc(d, "tagSets")) mongoc_read_prefs_set_tags(rp, tags->get());
  return rp;
}

// TransactionOptions (readConcern, writeConcern, readPreference, maxCommitTimeMS).
mongoc_transaction_opt_t* transaction_opts(const bson_t* d) {
  mongoc_transaction_opt_t* to = mongoc_transaction_opts_new();
  if (auto rc = get_doc(d, "readConcern")) {
    auto* r = make_read_concern(rc->get());
    mongoc_transaction_opts_set_read_concern(to, r);
    mongoc_read_concern_destroy(r);
  }
  if (auto wc = get_doc(d, "writeConcern")) {
    auto* w = make_write_concern(wc->get());
    mongoc_transaction_opts_set_write_concern(to, w);
    mongoc_write_concern_destroy(w);
  }
  if (auto rp = get_doc(d, "readPreference")) {
    auto* p = make_read_prefs(rp->get());
    mongoc_transaction_opts_set_read_prefs(to, p);
    mongoc_read_prefs_destroy(p);
  }
  if (auto ms = get_int(d, "maxCommitTimeMS")) mongoc_transaction_opts_set_max_commit_time_ms(to, *ms);
  return to;
}

// Options document for collections/databases applied through setters.
template <typename SetRc, typename SetWc, typename SetRp>
void apply_rw_options(const bson_t* opts, SetRc set_rc, SetWc set_wc, SetRp set_rp) {
  if (auto rc = get_doc(opts, "readConcern")) {
    auto* r = make_read_concern(rc->get());
    set_rc(r);
    mongoc_read_concern_destroy(r);
  }
  if (auto wc = get_doc(opts, "writeConcern")) {
    auto* w = make_write_concern(wc->get());
    set_wc(w);
    mongoc_write_concern_destroy(w);
  }
  if (auto rp = get_doc(opts, "readPreference")) {
    auto* p = make_read_prefs(rp->get());
    set_rp(p);
    mongoc_read_prefs_destroy(p);
  }
}

// Matching error codes to names when a reply does not carry codeName (libmongoc's write results
// drop it). Only the codes the suites assert by name.
const char* code_name(int64_t code) {
  switch (code) {
    case 2: return "BadValue";
    case 9: return "FailedToParse";
    case 11: return "UserNotFound";
    case 13: return "Unauthorized";
    case 14: return "TypeMismatch";
    case 26: return "NamespaceNotFound";
    case 27: return "IndexNotFound";
    case 40: return "ConflictingUpdateOperators";
    case 48: return "NamespaceExists";
    case 50: return "MaxTimeMSExpired";
    case 52: return "DollarPrefixedFieldName";
    case 56: return "EmptyFieldName";
    case 59: return "CommandNotFound";
    case 66: return "ImmutableField";
    case 72: return "InvalidOptions";
    case 85: return "IndexOptionsConflict";
    case 86: return "IndexKeySpecsConflict";
    case 91: return "ShutdownInProgress";
    case 112: return "WriteConflict";
    case 121: return "DocumentValidationFailure";
    case 166: return "CommandNotSupportedOnView";
    case 189: return "PrimarySteppedDown";
    case 251: return "NoSuchTransaction";
    case 256: return "TransactionCommitted";
    case 263: return "OperationNotSupportedInTransaction";
    case 10107: return "NotWritablePrimary";
    case 11000: return "DuplicateKey";
    case 11600: return "InterruptedAtShutdown";
    case 11602: return "InterruptedDueToReplStateChange";
    case 13435: return "NotPrimaryNoSecondaryOk";
    case 13436: return "NotPrimaryOrSecondary";
    default: return "";
  }
}

std::vector<std::string> error_labels(const Err& e) {
  std::vector<std::string> out;
  auto add_from = [&](const bson_t* d) {
    bson_iter_t it, c;
    if (bson_iter_init_find(&it, d, "errorLabels") && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &c)) {
      while (bson_iter_next(&c))
        if (BSON_ITER_HOLDS_UTF8(&c)) out.emplace_back(bson_iter_utf8(&c, nullptr));
    }
  };
  add_from(e.reply.get());
  return out;
}

std::string error_code_name(const Err& e) {
  if (auto n = get_str(e.reply.get(), "codeName")) return *n;
  for (const char* arr : {"writeErrors", "writeConcernErrors"}) {
    bson_iter_t it, c;
    if (bson_iter_init_find(&it, e.reply.get(), arr) && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &c) &&
        bson_iter_next(&c) && BSON_ITER_HOLDS_DOCUMENT(&c)) {
      Doc d = iter_doc(&c);
      if (auto n = get_str(d.get(), "codeName")) return *n;
      if (auto code = get_int(d.get(), "code")) return code_name(*code);
    }
  }
  if (auto wce = get_doc(e.reply.get(), "writeConcernError")) {
    if (auto n = get_str(wce->get(), "codeName")) return *n;
  }
  return code_name(e.code);
}

class TestRun;

using OpFn = std::function<OpResult(TestRun&, const std::string& object, const Doc& args)>;

class TestRun {
 public:
  TestRun(const std::string& uri, mongoc_client_t* internal, const ServerInfo& server)
      : uri_(uri), internal_(internal), server_(server) {}

  std::string create_entities(const bson_t* list);
  std::string run_operations(const bson_t* ops);
  std::string check_events(const bson_t* expect_events);
  void disable_failpoints();
  std::string error;  // first failure

  MatchContext match_ctx() {
    MatchContext ctx;
    ctx.entity = [this](const std::string& n) -> std::optional<Val> {
      auto it = st_.values.find(n);
      if (it == st_.values.end()) return std::nullopt;
      return it->second;
    };
    ctx.session_lsid = [this](const std::string& n) -> std::optional<Doc> {
      auto it = st_.sessions.find(n);
      if (it == st_.sessions.end()) return std::nullopt;
      return it->second.lsid;
    };
    return ctx;
  }

  // Operation helpers.
  std::string run_operation(const Doc& op);
  OpResult dispatch(const std::string& name, const std::string& object, const Doc& args);
  OpResult collection_op(const std::string& name, CollectionEntity& c, const Doc& args);
  OpResult database_op(const std::string& name, DatabaseEntity& d, const Doc& args);
  OpResult client_op(const std::string& name, ClientEntity& c, const Doc& args);
  OpResult session_op(const std::string& name, SessionEntity& s, const Doc& args);
  OpResult cursor_op(const std::string& name, const std::string& id, const Doc& args);
  OpResult bucket_op(const std::string& name, BucketEntity& b, const Doc& args);
  OpResult open_change_stream(mongoc_client_t* client, mongoc_database_t* db, mongoc_collection_t* coll,
                              const Doc& args);
  OpResult command_cursor(const std::string& name, DatabaseEntity& d, const Doc& args);
  // Runs a cursor-returning command on one server and session and wraps its reply in a
  // cursor (drained at once when `drain_now`). `args` give session, batchSize, comment.
  OpResult cursor_command(mongoc_database_t* db, const std::string& client_id, const Doc& cmd, const Doc& args,
                          bool drain_now);
  // Collection writes sent as insert/update/delete commands built here, for options
  // libmongoc 1.23's write helpers drop or refuse (bypassDocumentValidation: false, sort).
  OpResult bulk_via_commands(CollectionEntity& c, const std::vector<std::pair<std::string, Doc>>& requests,
                             const Doc& args);
  OpResult single_write_via_commands(const std::string& name, CollectionEntity& c, const Doc& args);
  OpResult runner_op(const std::string& name, const Doc& args);
  // The search index helpers libmongoc 1.23 lacks, sent as the commands the spec names
  // (createSearchIndexes, updateSearchIndex, dropSearchIndex, aggregate $listSearchIndexes).
  OpResult search_index_op(const std::string& name, CollectionEntity& c, const Doc& args);
  std::string check_error(const bson_t* expected, const Err& actual);
  // Copies args minus `exclude` into opts; appends the session (lsid) if named. Empty string on
  // success.
  std::string build_opts(const Doc& args, const std::set<std::string>& exclude, Doc* opts,
                         mongoc_client_session_t** session = nullptr);
  OpResult drain(mongoc_cursor_t* cursor);
  bool raw_data_supported() const { return compare_versions(server_.version, "8.2") >= 0; }

 private:
  std::string uri_;
  mongoc_client_t* internal_;
  const ServerInfo& server_;
  TestState st_;
};

std::string TestRun::build_opts(const Doc& args, const std::set<std::string>& exclude, Doc* opts,
                                mongoc_client_session_t** session_out) {
  bson_iter_t it;
  bson_iter_init(&it, args.get());
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (exclude.count(k)) continue;
    if (k == "session") {
      std::string sid = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
      auto s = st_.sessions.find(sid);
      if (s == st_.sessions.end() || !s->second.session) return "session entity '" + sid + "' is not defined";
      bson_error_t e;
      if (!mongoc_client_session_append(s->second.session, opts->get(), &e)) return e.message;
      if (session_out) *session_out = s->second.session;
      continue;
    }
    if (k == "timeoutMS") return "timeoutMS (CSOT) is not supported by libmongoc 1.23";
    // Drivers send rawData only to servers that know it (8.2+); older servers never see it.
    if (k == "rawData" && !raw_data_supported()) continue;
    bson_append_iter(opts->get(), k.c_str(), static_cast<int>(k.size()), &it);
  }
  return "";
}

OpResult TestRun::drain(mongoc_cursor_t* cursor) {
  OpResult r;
  bson_t arr;
  Doc out;
  bson_init(&arr);
  const bson_t* doc;
  uint32_t i = 0;
  while (mongoc_cursor_next(cursor, &doc)) {
    std::string k = std::to_string(i++);
    bson_append_document(&arr, k.c_str(), static_cast<int>(k.size()), doc);
  }
  bson_error_t e;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor, &e, &reply)) {
    r.err = from_bson_error(e, reply);
  } else {
    r.value = Val::from_array(&arr);
  }
  bson_destroy(&arr);
  mongoc_cursor_destroy(cursor);
  return r;
}

std::string TestRun::create_entities(const bson_t* list) {
  bson_iter_t it;
  bson_iter_init(&it, list);
  while (bson_iter_next(&it)) {
    Doc ent = iter_doc(&it);
    auto ks = keys(ent.get());
    if (ks.size() != 1) return "entity must have exactly one key";
    const std::string kind = ks[0];
    Doc spec = *get_doc(ent.get(), kind.c_str());
    auto id = get_str(spec.get(), "id");
    if (!id) return "entity without id";
    if (st_.exists(*id)) return "duplicate entity id " + *id;
    if (kind == "client") {
      std::string uri = uri_;
      bool has_ssto = false;
      if (auto uo = get_doc(spec.get(), "uriOptions")) {
        bson_iter_t u;
        bson_iter_init(&u, uo->get());
        while (bson_iter_next(&u)) {
          std::string k = bson_iter_key(&u);
          if (k == "serverSelectionTimeoutMS") has_ssto = true;
          if (BSON_ITER_HOLDS_DOCUMENT(&u)) return "unsupported uriOption " + k;
          uri = uri_with_option(uri, k, scalar_to_string(&u));
        }
      }
      if (!has_ssto) uri = uri_with_option(uri, "serverSelectionTimeoutMS", "5000");
      bson_error_t e;
      mongoc_uri_t* muri = mongoc_uri_new_with_error(uri.c_str(), &e);
      if (!muri) return "bad uri " + uri + ": " + e.message;
      auto ce = std::make_unique<ClientEntity>();
      ce->client = mongoc_client_new_from_uri_with_error(muri, &e);
      mongoc_uri_destroy(muri);
      if (!ce->client) return std::string("cannot create client: ") + e.message;
      mongoc_client_set_error_api(ce->client, MONGOC_ERROR_API_VERSION_2);
      if (auto api = get_doc(spec.get(), "serverApi")) {
        auto ver = get_str(api->get(), "version").value_or("");
        mongoc_server_api_version_t v;
        if (!mongoc_server_api_version_from_string(ver.c_str(), &v)) {
          mongoc_client_destroy(ce->client);
          return "unsupported serverApi version " + ver;
        }
        auto* sa = mongoc_server_api_new(v);
        if (auto s = get_bool(api->get(), "strict")) mongoc_server_api_strict(sa, *s);
        if (auto d = get_bool(api->get(), "deprecationErrors")) mongoc_server_api_deprecation_errors(sa, *d);
        bool ok = mongoc_client_set_server_api(ce->client, sa, &e);
        mongoc_server_api_destroy(sa);
        if (!ok) {
          mongoc_client_destroy(ce->client);
          return std::string("serverApi: ") + e.message;
        }
      }
      if (auto obs = get_doc(spec.get(), "observeEvents")) {
        bson_iter_t o;
        bson_iter_init(&o, obs->get());
        while (bson_iter_next(&o)) {
          std::string ev = BSON_ITER_HOLDS_UTF8(&o) ? bson_iter_utf8(&o, nullptr) : "";
          if (ev == "commandStartedEvent") ce->started = true;
          else if (ev == "commandSucceededEvent") ce->succeeded = true;
          else if (ev == "commandFailedEvent") ce->failed = true;
          else if (ev == "topologyDescriptionChangedEvent") ce->topology_events = true;
          else if (ev == "serverDescriptionChangedEvent") ce->server_events = true;
          // libmongoc 1.23 has no CMAP events: tests asserting them fail in check_events.
        }
      }
      if (auto ign = get_doc(spec.get(), "ignoreCommandMonitoringEvents")) {
        for (auto& k : keys(ign->get())) {
          bson_iter_t x;
          if (bson_iter_init_find(&x, ign->get(), k.c_str()) && BSON_ITER_HOLDS_UTF8(&x))
            ce->ignore.insert(bson_iter_utf8(&x, nullptr));
        }
      }
      ce->observe_sensitive = get_bool(spec.get(), "observeSensitiveCommands").value_or(false);
      if (has_key(spec.get(), "storeEventsAsEntities")) {
        mongoc_client_destroy(ce->client);
        return "storeEventsAsEntities is not supported";
      }
      if (has_key(spec.get(), "observeLogMessages")) {
        mongoc_client_destroy(ce->client);
        return "observeLogMessages is not supported";
      }
      mongoc_apm_callbacks_t* cbs = mongoc_apm_callbacks_new();
      mongoc_apm_set_command_started_cb(cbs, on_started);
      mongoc_apm_set_command_succeeded_cb(cbs, on_succeeded);
      mongoc_apm_set_command_failed_cb(cbs, on_failed);
      mongoc_apm_set_topology_changed_cb(cbs, on_topology_changed);
      mongoc_apm_set_server_changed_cb(cbs, on_server_changed);
      mongoc_client_set_apm_callbacks(ce->client, cbs, ce.get());
      mongoc_apm_callbacks_destroy(cbs);
      st_.clients[*id] = std::move(ce);
    } else if (kind == "database") {
      auto cid = get_str(spec.get(), "client").value_or("");
      auto c = st_.clients.find(cid);
      if (c == st_.clients.end()) return "database " + *id + ": client entity '" + cid + "' is not defined";
      auto name = get_str(spec.get(), "databaseName").value_or("");
      DatabaseEntity d;
      d.db = mongoc_client_get_database(c->second->client, name.c_str());
      d.client = cid;
      if (auto o = get_doc(spec.get(), "databaseOptions")) {
        apply_rw_options(
            o->get(), [&](auto* r) { mongoc_database_set_read_concern(d.db, r); },
            [&](auto* w) { mongoc_database_set_write_concern(d.db, w); },
            [&](auto* p) { mongoc_database_set_read_prefs(d.db, p); });
      }
      st_.databases[*id] = d;
    } else if (kind == "collection") {
      auto did = get_str(spec.get(), "database").value_or("");
      auto d = st_.databases.find(did);
      if (d == st_.databases.end()) return "collection " + *id + ": database entity '" + did + "' is not defined";
      auto name = get_str(spec.get(), "collectionName").value_or("");
      CollectionEntity c;
      c.coll = mongoc_database_get_collection(d->second.db, name.c_str());
      c.client = d->second.client;
      c.db_name = mongoc_database_get_name(d->second.db);
      if (auto o = get_doc(spec.get(), "collectionOptions")) {
        apply_rw_options(
            o->get(), [&](auto* r) { mongoc_collection_set_read_concern(c.coll, r); },
            [&](auto* w) { mongoc_collection_set_write_concern(c.coll, w); },
            [&](auto* p) { mongoc_collection_set_read_prefs(c.coll, p); });
      }
      st_.collections[*id] = c;
    } else if (kind == "bucket") {
      auto did = get_str(spec.get(), "database").value_or("");
      auto d = st_.databases.find(did);
      if (d == st_.databases.end()) return "bucket " + *id + ": database entity '" + did + "' is not defined";
      Doc opts;
      if (auto bo = get_doc(spec.get(), "bucketOptions")) opts = *bo;
      bson_error_t e;
      BucketEntity b;
      b.bucket = mongoc_gridfs_bucket_new(d->second.db, opts.get(), nullptr, &e);
      if (!b.bucket) return std::string("bucket: ") + e.message;
      st_.buckets[*id] = b;
    } else if (kind == "session") {
      auto cid = get_str(spec.get(), "client").value_or("");
      auto c = st_.clients.find(cid);
      if (c == st_.clients.end()) return "session " + *id + ": client entity '" + cid + "' is not defined";
      mongoc_session_opt_t* so = mongoc_session_opts_new();
      if (auto o = get_doc(spec.get(), "sessionOptions")) {
        if (auto cc = get_bool(o->get(), "causalConsistency")) mongoc_session_opts_set_causal_consistency(so, *cc);
        if (auto sn = get_bool(o->get(), "snapshot")) mongoc_session_opts_set_snapshot(so, *sn);
        if (auto dt = get_doc(o->get(), "defaultTransactionOptions")) {
          mongoc_transaction_opt_t* to = transaction_opts(dt->get());
          mongoc_session_opts_set_default_transaction_opts(so, to);
          mongoc_transaction_opts_destroy(to);
        }
      }
      bson_error_t e;
      SessionEntity s;
      s.session = mongoc_client_start_session(c->second->client, so, &e);
      mongoc_session_opts_destroy(so);
      if (!s.session) return std::string("startSession: ") + e.message;
      s.client = cid;
      s.lsid = Doc(mongoc_client_session_get_lsid(s.session));
      st_.sessions[*id] = std::move(s);
    } else {
      return "unsupported entity type " + kind;
    }
  }
  return "";
}

std::string TestRun::run_operations(const bson_t* ops) {
  bson_iter_t it;
  bson_iter_init(&it, ops);
  size_t i = 0;
  while (bson_iter_next(&it)) {
    Doc op = iter_doc(&it);
    std::string r = run_operation(op);
    if (!r.empty()) return "operation " + std::to_string(i) + " (" + get_str(op.get(), "name").value_or("?") + "): " + r;
    ++i;
  }
  return "";
}

std::string TestRun::run_operation(const Doc& op) {
  std::string name = get_str(op.get(), "name").value_or("");
  std::string object = get_str(op.get(), "object").value_or("");
  Doc args = get_doc(op.get(), "arguments").value_or(Doc());
  OpResult r = dispatch(name, object, args);
  if (!error.empty()) return error;
  if (r.cursor || r.stream) {
    CursorEntity ce{r.cursor, r.stream, std::move(r.first), r.own_session};
    auto save = get_str(op.get(), "saveResultAsEntity");
    if (!save || st_.exists(*save)) {
      ce.destroy();
      return save ? "entity " + *save + " already exists" : "";
    }
    st_.cursors[*save] = std::move(ce);
    return "";
  }
  auto ctx = match_ctx();
  bool ignore = get_bool(op.get(), "ignoreResultAndError").value_or(false);
  if (auto ee = get_doc(op.get(), "expectError")) {
    if (!r.err.is_error) return "expected an error, got result " + r.value.json();
    return check_error(ee->get(), r.err);
  }
  if (r.err.is_error) {
    if (ignore && !r.err.client_error) return "";
    if (ignore) return "ignoreResultAndError does not cover client errors: " + r.err.message;
    return "unexpected error: " + r.err.message + (r.err.reply.empty() ? "" : " reply " + r.err.reply.json());
  }
  if (auto er = op.find("expectResult")) {
    Val expected(&*er);
    bson_type_t t = expected.type();
    // Iterable results: each array element is a root-level document; single documents from
    // findOneAnd*, iterate*, are root-level.
    static const std::set<std::string> kIterable = {"find", "aggregate", "listCollections", "listDatabases",
                                                    "listIndexes", "runCursorCommand", "listSearchIndexes"};
    static const std::set<std::string> kRootDoc = {"findOneAndDelete", "findOneAndReplace", "findOneAndUpdate",
                                                   "iterateUntilDocumentOrError", "iterateOnce", "findOne",
                                                   "runCommand", "bulkWrite", "insertOne", "insertMany",
                                                   "updateOne", "updateMany", "replaceOne", "deleteOne",
                                                   "deleteMany", "clientBulkWrite"};
    std::string m;
    if (t == BSON_TYPE_ARRAY && kIterable.count(name) && r.value.type() == BSON_TYPE_ARRAY) {
      Doc e = expected.as_doc(), a = r.value.as_doc();
      if (bson_count_keys(e.get()) != bson_count_keys(a.get())) {
        m = "expected " + std::to_string(bson_count_keys(e.get())) + " results " + expected.json() + ", got " +
            std::to_string(bson_count_keys(a.get())) + ": " + r.value.json();
      } else {
        bson_iter_t ei, ai;
        bson_iter_init(&ei, e.get());
        bson_iter_init(&ai, a.get());
        while (m.empty() && bson_iter_next(&ei) && bson_iter_next(&ai)) m = match(&ei, &ai, true, ctx, "[" + std::string(bson_iter_key(&ei)) + "]");
      }
    } else {
      m = match_val(expected, r.value, kRootDoc.count(name) > 0, ctx);
    }
    if (!m.empty()) return "result mismatch: " + m + " (actual " + r.value.json() + ")";
  }
  if (auto save = get_str(op.get(), "saveResultAsEntity")) {
    if (st_.exists(*save)) return "entity " + *save + " already exists";
    st_.values[*save] = r.value;
  }
  return "";
}

std::string TestRun::check_error(const bson_t* expected, const Err& e) {
  auto ctx = match_ctx();
  bson_iter_t it;
  bson_iter_init(&it, expected);
  auto labels = error_labels(e);
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (k == "isError") continue;
    if (k == "isClientError") {
      if (bson_iter_as_bool(&it) != e.client_error)
        return std::string("expected ") + (bson_iter_as_bool(&it) ? "a client" : "a server") + " error, got: " +
               e.message + " (domain " + std::to_string(e.domain) + ")";
    } else if (k == "isTimeoutError") {
      bool timeout = e.code == 50 || (e.client_error && std::string(e.message).find("timed out") != std::string::npos);
      if (bson_iter_as_bool(&it) != timeout) return "timeout error expectation not met: " + e.message;
    } else if (k == "errorContains") {
      std::string want = bson_iter_utf8(&it, nullptr), msg = e.message;
      auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
        return s;
      };
      if (lower(msg).find(lower(want)) == std::string::npos)
        return "error '" + msg + "' does not contain '" + want + "'";
    } else if (k == "errorCode") {
      auto want = iter_number(&it);
      if (e.client_error || !want || static_cast<int64_t>(*want) != e.code)
        return "expected error code " + iter_json(&it) + ", got " + std::to_string(e.code) + ": " + e.message;
    } else if (k == "errorCodeName") {
      std::string want = bson_iter_utf8(&it, nullptr);
      std::string got = error_code_name(e);
      if (want != got) return "expected codeName " + want + ", got '" + got + "': " + e.message;
    } else if (k == "errorLabelsContain" || k == "errorLabelsOmit") {
      bson_iter_t c;
      bson_iter_recurse(&it, &c);
      while (bson_iter_next(&c)) {
        std::string l = bson_iter_utf8(&c, nullptr);
        bool has = std::find(labels.begin(), labels.end(), l) != labels.end();
        if (k == "errorLabelsContain" && !has) return "error lacks label " + l + ": reply " + e.reply.json();
        if (k == "errorLabelsOmit" && has) return "error has label " + l;
      }
    } else if (k == "errorResponse") {
      Doc want = iter_doc(&it);
      const Doc& response = e.server_reply.empty() ? e.reply : e.server_reply;
      std::string m = match_doc(want.get(), response.get(), ctx);
      if (!m.empty()) return "errorResponse mismatch: " + m + " (reply " + response.json() + ")";
    } else if (k == "expectResult") {
      Val want(&it);
      std::string m = match_val(want, e.partial_result, true, ctx);
      if (!m.empty()) return "expectError.expectResult mismatch: " + m;
    } else {
      return "unsupported expectError field " + k;
    }
  }
  return "";
}

std::string TestRun::check_events(const bson_t* expect_events) {
  auto ctx = match_ctx();
  bson_iter_t it;
  bson_iter_init(&it, expect_events);
  while (bson_iter_next(&it)) {
    Doc exp = iter_doc(&it);
    std::string cid = get_str(exp.get(), "client").value_or("");
    std::string type = get_str(exp.get(), "eventType").value_or("command");
    if (type != "command" && type != "sdam")
      return "expectEvents of eventType " + type + " are not supported (libmongoc 1.23 has no CMAP events)";
    auto c = st_.clients.find(cid);
    if (c == st_.clients.end()) return "expectEvents: client entity '" + cid + "' is not defined";
    bool ignore_extra = get_bool(exp.get(), "ignoreExtraEvents").value_or(false);
    if (type == "sdam") {
      Doc events = get_doc(exp.get(), "events").value_or(Doc());
      const auto& actual = c->second->sdam;
      size_t n = bson_count_keys(events.get());
      if (actual.size() < n || (!ignore_extra && actual.size() != n))
        return "client " + cid + ": expected " + std::to_string(n) + " SDAM events, got " + std::to_string(actual.size());
      bson_iter_t ei;
      bson_iter_init(&ei, events.get());
      for (size_t i = 0; bson_iter_next(&ei); ++i) {
        Doc ev = iter_doc(&ei);
        auto ks = keys(ev.get());
        if (ks.size() != 1) return "malformed expected event";
        Doc body = get_doc(ev.get(), ks[0].c_str()).value_or(Doc());
        if (!sdam_matches(actual[i], ks[0], body.get()))
          return "SDAM event " + std::to_string(i) + ": got " + actual[i].type + " " + actual[i].previous + " -> " +
                 actual[i].current + ", expected " + ev.json();
      }
      continue;
    }
    Doc events = get_doc(exp.get(), "events").value_or(Doc());
    auto& actual = c->second->events;
    size_t n = bson_count_keys(events.get());
    auto summary = [&]() {
      std::string s;
      for (auto& a : actual) s += " " + a.type.substr(7, a.type.size() - 12) + ":" + a.command_name;
      return s;
    };
    if (actual.size() < n || (!ignore_extra && actual.size() != n))
      return "client " + cid + ": expected " + std::to_string(n) + " events, got " + std::to_string(actual.size()) +
             " [" + summary() + " ]";
    bson_iter_t ei;
    bson_iter_init(&ei, events.get());
    size_t i = 0;
    while (bson_iter_next(&ei)) {
      Doc ev = iter_doc(&ei);
      auto ks = keys(ev.get());
      if (ks.size() != 1) return "malformed expected event";
      const Event& a = actual[i];
      std::string where = "event " + std::to_string(i) + " (" + ks[0] + ")";
      if (a.type != ks[0]) return where + ": got " + a.type + " " + a.command_name + " [" + summary() + " ]";
      Doc body = *get_doc(ev.get(), ks[0].c_str());
      bson_iter_t f;
      bson_iter_init(&f, body.get());
      while (bson_iter_next(&f)) {
        std::string k = bson_iter_key(&f);
        if (k == "command" || k == "reply") {
          Doc want = iter_doc(&f);
          std::string m = match_doc(want.get(), k == "command" ? a.command.get() : a.reply.get(), ctx);
          if (!m.empty()) return where + " " + k + " mismatch: " + m + " (actual " + (k == "command" ? a.command.json() : a.reply.json()) + ")";
        } else if (k == "commandName") {
          if (a.command_name != bson_iter_utf8(&f, nullptr))
            return where + ": commandName " + a.command_name + " != " + bson_iter_utf8(&f, nullptr);
        } else if (k == "databaseName") {
          if (a.database_name != bson_iter_utf8(&f, nullptr))
            return where + ": databaseName " + a.database_name + " != " + bson_iter_utf8(&f, nullptr);
        } else if (k == "hasServiceId") {
          if (bson_iter_as_bool(&f) != a.has_service_id) return where + ": hasServiceId mismatch";
        } else if (k == "hasServerConnectionId") {
          if (bson_iter_as_bool(&f) != a.has_server_connection_id) return where + ": hasServerConnectionId mismatch";
        } else {
          return where + ": unsupported expected event field " + k;
        }
      }
      ++i;
    }
  }
  return "";
}

void TestRun::disable_failpoints() {
  for (auto& [cid, fp] : st_.failpoints) {
    bson_error_t e;
    mongoc_client_command_simple(internal_, "admin", fp.get(), nullptr, nullptr, &e);
  }
  st_.failpoints.clear();
}

// Results in the CRUD spec's shapes.
Val insert_many_result(const std::vector<Val>& ids, size_t count) {
  Doc ins;
  for (size_t i = 0; i < count && i < ids.size(); ++i) {
    bson_iter_t v = ids[i].iter();
    std::string k = std::to_string(i);
    bson_append_iter(ins.get(), k.c_str(), static_cast<int>(k.size()), &v);
  }
  Doc r;
  BSON_APPEND_DOCUMENT(r.get(), "insertedIds", ins.get());
  return Val::from_doc(r.get());
}

// A BulkWriteResult from libmongoc's bulk reply; insert_ids maps request index -> _id.
Val bulk_result(const bson_t* reply, const std::map<size_t, Val>& insert_ids, bool ordered) {
  Doc r;
  // A bulk reply counts in nInserted..., insert_many's and update_*'s in insertedCount...
  auto count = [&](const char* bulk_key, const char* crud_key) {
    return get_int(reply, bulk_key).value_or(get_int(reply, crud_key).value_or(0));
  };
  BSON_APPEND_INT64(r.get(), "deletedCount", count("nRemoved", "deletedCount"));
  BSON_APPEND_INT64(r.get(), "insertedCount", count("nInserted", "insertedCount"));
  BSON_APPEND_INT64(r.get(), "matchedCount", count("nMatched", "matchedCount"));
  BSON_APPEND_INT64(r.get(), "modifiedCount", count("nModified", "modifiedCount"));
  BSON_APPEND_INT64(r.get(), "upsertedCount", count("nUpserted", "upsertedCount"));
  std::set<int64_t> failed;
  int64_t first_failed = -1;
  if (auto we = get_doc(reply, "writeErrors")) {
    bson_iter_t it;
    bson_iter_init(&it, we->get());
    while (bson_iter_next(&it)) {
      Doc d = iter_doc(&it);
      int64_t idx = get_int(d.get(), "index").value_or(-1);
      failed.insert(idx);
      if (first_failed < 0 || idx < first_failed) first_failed = idx;
    }
  }
  Doc ins;
  for (auto& [idx, v] : insert_ids) {
    if (failed.count(static_cast<int64_t>(idx))) continue;
    if (ordered && first_failed >= 0 && static_cast<int64_t>(idx) > first_failed) continue;
    std::string k = std::to_string(idx);
    bson_iter_t vi = v.iter();
    bson_append_iter(ins.get(), k.c_str(), static_cast<int>(k.size()), &vi);
  }
  BSON_APPEND_DOCUMENT(r.get(), "insertedIds", ins.get());
  Doc ups;
  if (auto up = get_doc(reply, "upserted")) {
    bson_iter_t it;
    bson_iter_init(&it, up->get());
    while (bson_iter_next(&it)) {
      Doc d = iter_doc(&it);
      std::string k = std::to_string(get_int(d.get(), "index").value_or(0));
      if (auto id = d.find("_id")) bson_append_iter(ups.get(), k.c_str(), static_cast<int>(k.size()), &*id);
    }
  }
  BSON_APPEND_DOCUMENT(r.get(), "upsertedIds", ups.get());
  return Val::from_doc(r.get());
}

// Adds an ObjectId _id first when the document has none; returns the _id.
Val ensure_id(Doc* d) {
  if (auto id = d->find("_id")) return Val(&*id);
  bson_oid_t oid;
  bson_oid_init(&oid, nullptr);
  Doc n;
  BSON_APPEND_OID(n.get(), "_id", &oid);
  bson_concat(n.get(), d->get());
  *d = n;
  auto id = d->find("_id");
  return Val(&*id);
}

OpResult TestRun::dispatch(const std::string& name, const std::string& object, const Doc& args) {
  if (object == "testRunner") return runner_op(name, args);
  // The server's reply to an operation's failed command, for errorResponse.
  auto with_server_reply = [this](const std::string& client, OpResult r) {
    auto c = st_.clients.find(client);
    if (r.err.is_error && !r.err.client_error && c != st_.clients.end()) r.err.server_reply = c->second->last_reply;
    return r;
  };
  auto clear_reply = [this](const std::string& client) {
    if (auto c = st_.clients.find(client); c != st_.clients.end()) c->second->last_reply = Doc();
  };
  if (auto c = st_.collections.find(object); c != st_.collections.end()) {
    clear_reply(c->second.client);
    return with_server_reply(c->second.client, collection_op(name, c->second, args));
  }
  if (auto d = st_.databases.find(object); d != st_.databases.end()) {
    clear_reply(d->second.client);
    return with_server_reply(d->second.client, database_op(name, d->second, args));
  }
  if (auto c = st_.clients.find(object); c != st_.clients.end()) return client_op(name, *c->second, args);
  if (auto s = st_.sessions.find(object); s != st_.sessions.end()) return session_op(name, s->second, args);
  if (st_.cursors.count(object)) return cursor_op(name, object, args);
  if (auto b = st_.buckets.find(object); b != st_.buckets.end()) return bucket_op(name, b->second, args);
  OpResult r;
  r.err = client_err("entity '" + object + "' is not defined");
  r.err.client_error = false;  // a runner error, never an expected client error
  error = r.err.message;
  return r;
}

// Whether a write must bypass libmongoc's helpers: they omit bypassDocumentValidation: false,
// and the bulk API refuses `sort` in update requests (CRUD spec, 8.0).
bool needs_command_path(const std::string& name, const Doc& args) {
  if (auto b = get_bool(args.get(), "bypassDocumentValidation"); b && !*b) return true;
  if (name != "bulkWrite") return false;
  auto reqs = get_doc(args.get(), "requests").value_or(Doc());
  bson_iter_t it;
  bson_iter_init(&it, reqs.get());
  while (bson_iter_next(&it)) {
    Doc req = iter_doc(&it);
    for (auto& k : keys(req.get())) {
      auto body = get_doc(req.get(), k.c_str()).value_or(Doc());
      if (has_key(body.get(), "sort")) return true;
    }
  }
  return false;
}

OpResult TestRun::bulk_via_commands(CollectionEntity& c, const std::vector<std::pair<std::string, Doc>>& requests,
                                    const Doc& args) {
  OpResult r;
  bool ordered = get_bool(args.get(), "ordered").value_or(true);
  Doc send_opts;
  Doc send_args;  // session and writeConcern travel as opts; the rest goes into the command
  Doc cmd_extra;
  bson_iter_t it;
  bson_iter_init(&it, args.get());
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (k == "requests" || k == "ordered") continue;
    if (k == "rawData" && !raw_data_supported()) continue;
    if (k == "session" || k == "writeConcern") bson_append_iter(send_args.get(), k.c_str(), -1, &it);
    else bson_append_iter(cmd_extra.get(), k.c_str(), -1, &it);
  }
  if (auto m = build_opts(send_args, {}, &send_opts); !m.empty()) {
    r.err = client_err(m);
    return r;
  }
  const std::string coll_name = mongoc_collection_get_name(c.coll);
  int64_t n_inserted = 0, n_matched = 0, n_modified = 0, n_removed = 0, n_upserted = 0;
  std::map<size_t, Val> insert_ids;
  Doc upserted_ids, write_errors, wc_errors;
  uint32_t n_errors = 0, n_wc_errors = 0;
  std::optional<Err> failure;
  auto command_of = [](const std::string& kind) {
    if (kind == "insertOne") return std::string("insert");
    if (kind == "deleteOne" || kind == "deleteMany") return std::string("delete");
    return std::string("update");
  };
  size_t i = 0;
  while (i < requests.size()) {
    // One command per run of consecutive requests of the same kind, as libmongoc batches.
    std::string cmd_name = command_of(requests[i].first);
    size_t start = i;
    Doc stmts;
    uint32_t n = 0;
    for (; i < requests.size() && command_of(requests[i].first) == cmd_name; ++i, ++n) {
      const auto& [kind, body] = requests[i];
      std::string key = std::to_string(n);
      if (cmd_name == "insert") {
        Doc d = get_doc(body.get(), "document").value_or(Doc());
        insert_ids[i] = ensure_id(&d);
        BSON_APPEND_DOCUMENT(stmts.get(), key.c_str(), d.get());
        continue;
      }
      Doc st;
      BSON_APPEND_DOCUMENT(st.get(), "q", get_doc(body.get(), "filter").value_or(Doc()).get());
      if (cmd_name == "update") {
        bson_iter_t u;
        if (bson_iter_init_find(&u, body.get(), kind == "replaceOne" ? "replacement" : "update"))
          bson_append_iter(st.get(), "u", 1, &u);
        if (kind == "updateMany") BSON_APPEND_BOOL(st.get(), "multi", true);
      } else {
        BSON_APPEND_INT32(st.get(), "limit", kind == "deleteOne" ? 1 : 0);
      }
      bson_iter_t f;
      bson_iter_init(&f, body.get());
      while (bson_iter_next(&f)) {
        std::string k = bson_iter_key(&f);
        if (k == "filter" || k == "update" || k == "replacement") continue;
        if (k == "rawData" && !raw_data_supported()) continue;
        bson_append_iter(st.get(), k.c_str(), -1, &f);
      }
      BSON_APPEND_DOCUMENT(stmts.get(), key.c_str(), st.get());
    }
    Doc cmd;
    BSON_APPEND_UTF8(cmd.get(), cmd_name.c_str(), coll_name.c_str());
    BSON_APPEND_BOOL(cmd.get(), "ordered", ordered);
    bson_concat(cmd.get(), cmd_extra.get());
    const char* arr = cmd_name == "insert" ? "documents" : cmd_name == "update" ? "updates" : "deletes";
    BSON_APPEND_ARRAY(cmd.get(), arr, stmts.get());
    bson_t rep;
    bson_error_t e;
    bool ok = mongoc_collection_write_command_with_opts(c.coll, cmd.get(), send_opts.get(), &rep, &e);
    Doc reply(&rep);
    bson_destroy(&rep);
    if (!ok && e.domain != MONGOC_ERROR_WRITE_CONCERN) {
      // A command error (ok: 0) or a network error ends the bulk write.
      failure = from_bson_error(e, reply.get());
      break;
    }
    int64_t got = get_int(reply.get(), "n").value_or(0);
    int64_t ups = 0;
    if (auto up = get_doc(reply.get(), "upserted")) {
      bson_iter_t ui;
      bson_iter_init(&ui, up->get());
      while (bson_iter_next(&ui)) {
        Doc u = iter_doc(&ui);
        ++ups;
        std::string k = std::to_string(start + get_int(u.get(), "index").value_or(0));
        if (auto id = u.find("_id")) bson_append_iter(upserted_ids.get(), k.c_str(), -1, &*id);
      }
    }
    if (cmd_name == "insert") n_inserted += got;
    if (cmd_name == "delete") n_removed += got;
    if (cmd_name == "update") {
      n_matched += got - ups;
      n_upserted += ups;
      n_modified += get_int(reply.get(), "nModified").value_or(0);
    }
    bool stop = false;
    if (auto we = get_doc(reply.get(), "writeErrors")) {
      bson_iter_t wi;
      bson_iter_init(&wi, we->get());
      while (bson_iter_next(&wi)) {
        Doc w = iter_doc(&wi);
        Doc shifted;
        bson_iter_t f;
        bson_iter_init(&f, w.get());
        while (bson_iter_next(&f)) {
          if (std::string_view(bson_iter_key(&f)) == "index")
            BSON_APPEND_INT32(shifted.get(), "index", static_cast<int32_t>(start + bson_iter_as_int64(&f)));
          else bson_append_iter(shifted.get(), bson_iter_key(&f), -1, &f);
        }
        std::string k = std::to_string(n_errors++);
        BSON_APPEND_DOCUMENT(write_errors.get(), k.c_str(), shifted.get());
        stop = ordered;
      }
    }
    if (auto wce = get_doc(reply.get(), "writeConcernError")) {
      std::string k = std::to_string(n_wc_errors++);
      BSON_APPEND_DOCUMENT(wc_errors.get(), k.c_str(), wce->get());
    }
    if (stop) break;
  }
  Doc result;
  BSON_APPEND_INT64(result.get(), "nInserted", n_inserted);
  BSON_APPEND_INT64(result.get(), "nMatched", n_matched);
  BSON_APPEND_INT64(result.get(), "nModified", n_modified);
  BSON_APPEND_INT64(result.get(), "nRemoved", n_removed);
  BSON_APPEND_INT64(result.get(), "nUpserted", n_upserted);
  if (n_errors) BSON_APPEND_ARRAY(result.get(), "writeErrors", write_errors.get());
  if (n_wc_errors) BSON_APPEND_ARRAY(result.get(), "writeConcernErrors", wc_errors.get());
  // bulk_result reads upserted ids as libmongoc reports them: [{index, _id}].
  Doc upserted;
  bson_iter_t ui;
  bson_iter_init(&ui, upserted_ids.get());
  uint32_t un = 0;
  while (bson_iter_next(&ui)) {
    Doc u;
    BSON_APPEND_INT32(u.get(), "index", std::atoi(bson_iter_key(&ui)));
    bson_append_iter(u.get(), "_id", 3, &ui);
    std::string k = std::to_string(un++);
    BSON_APPEND_DOCUMENT(upserted.get(), k.c_str(), u.get());
  }
  BSON_APPEND_ARRAY(result.get(), "upserted", upserted.get());
  Val summary = bulk_result(result.get(), insert_ids, ordered);
  if (failure) {
    r.err = *failure;
    r.err.partial_result = summary;
    return r;
  }
  if (n_errors || n_wc_errors) {
    Err err;
    err.is_error = true;
    bson_iter_t fi = *(n_errors ? write_errors : wc_errors).find("0");
    Doc first = iter_doc(&fi);
    err.domain = n_errors ? MONGOC_ERROR_SERVER : MONGOC_ERROR_WRITE_CONCERN;
    err.code = static_cast<uint32_t>(get_int(first.get(), "code").value_or(0));
    err.message = get_str(first.get(), "errmsg").value_or("");
    err.reply = result;
    err.partial_result = summary;
    r.err = err;
    return r;
  }
  r.value = summary;
  return r;
}

// insertOne/insertMany/updateOne/updateMany/replaceOne/deleteOne/deleteMany through
// bulk_via_commands, with each operation's own result shape.
OpResult TestRun::single_write_via_commands(const std::string& name, CollectionEntity& c, const Doc& args) {
  std::vector<std::pair<std::string, Doc>> reqs;
  Doc rest;
  std::set<std::string> statement_keys = {"document", "filter",    "update", "replacement", "upsert",
                                          "hint",     "collation", "sort",   "arrayFilters"};
  Doc body;
  bson_iter_t it;
  bson_iter_init(&it, args.get());
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (statement_keys.count(k)) bson_append_iter(body.get(), k.c_str(), -1, &it);
    else if (k != "documents") bson_append_iter(rest.get(), k.c_str(), -1, &it);
  }
  if (name == "insertMany") {
    auto docs = get_doc(args.get(), "documents").value_or(Doc());
    bson_iter_init(&it, docs.get());
    while (bson_iter_next(&it)) {
      Doc b;
      bson_append_iter(b.get(), "document", -1, &it);
      reqs.emplace_back("insertOne", b);
    }
  } else {
    reqs.emplace_back(name, body);
  }
  OpResult r = bulk_via_commands(c, reqs, rest);
  if (r.err.is_error || name == "insertMany") {
    if (!r.err.is_error) {
      Doc v = r.value.as_doc();
      Doc out;
      if (auto ids = v.find("insertedIds")) bson_append_iter(out.get(), "insertedIds", -1, &*ids);
      r.value = Val::from_doc(out.get());
    }
    return r;
  }
  Doc v = r.value.as_doc(), out;
  if (name == "insertOne") {
    Doc ids = get_doc(v.get(), "insertedIds").value_or(Doc());
    if (auto id = ids.find("0")) bson_append_iter(out.get(), "insertedId", -1, &*id);
  } else if (name == "deleteOne" || name == "deleteMany") {
    BSON_APPEND_INT64(out.get(), "deletedCount", get_int(v.get(), "deletedCount").value_or(0));
  } else {
    BSON_APPEND_INT64(out.get(), "matchedCount", get_int(v.get(), "matchedCount").value_or(0));
    BSON_APPEND_INT64(out.get(), "modifiedCount", get_int(v.get(), "modifiedCount").value_or(0));
    BSON_APPEND_INT64(out.get(), "upsertedCount", get_int(v.get(), "upsertedCount").value_or(0));
    Doc ups = get_doc(v.get(), "upsertedIds").value_or(Doc());
    if (auto id = ups.find("0")) bson_append_iter(out.get(), "upsertedId", -1, &*id);
  }
  r.value = Val::from_doc(out.get());
  return r;
}

OpResult TestRun::collection_op(const std::string& name, CollectionEntity& c, const Doc& args) {
  OpResult r;
  bson_error_t e;
  Doc opts, reply;
  auto fail_opts = [&](const std::string& m) {
    r.err = client_err(m);
    return r;
  };
  auto filter = get_doc(args.get(), "filter").value_or(Doc());
  const std::string coll_name = mongoc_collection_get_name(c.coll);
  static const std::set<std::string> kWrites = {"insertOne",  "insertMany", "updateOne", "updateMany",
                                                "replaceOne", "deleteOne",  "deleteMany"};
  if (kWrites.count(name) && needs_command_path(name, args)) return single_write_via_commands(name, c, args);
  if (name == "bulkWrite" && needs_command_path(name, args)) {
    std::vector<std::pair<std::string, Doc>> reqs;
    auto list = get_doc(args.get(), "requests").value_or(Doc());
    bson_iter_t it;
    bson_iter_init(&it, list.get());
    while (bson_iter_next(&it)) {
      Doc req = iter_doc(&it);
      auto ks = keys(req.get());
      if (ks.size() != 1) return fail_opts("malformed bulkWrite request");
      reqs.emplace_back(ks[0], get_doc(req.get(), ks[0].c_str()).value_or(Doc()));
    }
    return bulk_via_commands(c, reqs, args);
  }

  if (name == "insertOne") {
    auto doc = get_doc(args.get(), "document");
    if (!doc) return fail_opts("insertOne needs document");
    Val id = ensure_id(&*doc);
    if (auto m = build_opts(args, {"document"}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = mongoc_collection_insert_one(c.coll, doc->get(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) {
      r.err = from_bson_error(e, reply.get());
      return r;
    }
    Doc res;
    bson_iter_t ii = id.iter();
    bson_append_iter(res.get(), "insertedId", -1, &ii);
    r.value = Val::from_doc(res.get());
    return r;
  }
  if (name == "insertMany") {
    auto docs = get_doc(args.get(), "documents");
    if (!docs) return fail_opts("insertMany needs documents");
    std::vector<Doc> ds;
    std::vector<Val> ids;
    bson_iter_t it;
    bson_iter_init(&it, docs->get());
    while (bson_iter_next(&it)) {
      ds.push_back(iter_doc(&it));
      ids.push_back(ensure_id(&ds.back()));
    }
    std::vector<const bson_t*> ptrs;
    for (auto& d : ds) ptrs.push_back(d.get());
    if (auto m = build_opts(args, {"documents"}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = mongoc_collection_insert_many(c.coll, ptrs.data(), ptrs.size(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) {
      r.err = from_bson_error(e, reply.get());
      std::map<size_t, Val> m;
      for (size_t i = 0; i < ids.size(); ++i) m[i] = ids[i];
      r.err.partial_result = bulk_result(reply.get(), m, get_bool(args.get(), "ordered").value_or(true));
      return r;
    }
    r.value = insert_many_result(ids, ids.size());
    return r;
  }
  if (name == "updateOne" || name == "updateMany" || name == "replaceOne") {
    bool replace = name == "replaceOne";
    auto upd = get_doc(args.get(), replace ? "replacement" : "update");
    if (!upd) return fail_opts(name + " needs " + (replace ? "replacement" : "update"));
    if (auto m = build_opts(args, {"filter", "update", "replacement"}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = replace ? mongoc_collection_replace_one(c.coll, filter.get(), upd->get(), opts.get(), &rep, &e)
              : name == "updateOne"
                  ? mongoc_collection_update_one(c.coll, filter.get(), upd->get(), opts.get(), &rep, &e)
                  : mongoc_collection_update_many(c.coll, filter.get(), upd->get(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) {
      r.err = from_bson_error(e, reply.get());
      return r;
    }
    r.value = Val::from_doc(reply.get());
    return r;
  }
  if (name == "deleteOne" || name == "deleteMany") {
    if (auto m = build_opts(args, {"filter"}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = name == "deleteOne" ? mongoc_collection_delete_one(c.coll, filter.get(), opts.get(), &rep, &e)
                                  : mongoc_collection_delete_many(c.coll, filter.get(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) {
      r.err = from_bson_error(e, reply.get());
      return r;
    }
    r.value = Val::from_doc(reply.get());
    return r;
  }
  if (name == "bulkWrite") {
    Doc bopts;
    if (auto m = build_opts(args, {"requests"}, &bopts); !m.empty()) return fail_opts(m);
    bool ordered = get_bool(args.get(), "ordered").value_or(true);
    mongoc_bulk_operation_t* bulk = mongoc_collection_create_bulk_operation_with_opts(c.coll, bopts.get());
    std::map<size_t, Val> insert_ids;
    auto reqs = get_doc(args.get(), "requests").value_or(Doc());
    bson_iter_t it;
    bson_iter_init(&it, reqs.get());
    size_t idx = 0;
    std::string bad;
    while (bad.empty() && bson_iter_next(&it)) {
      Doc req = iter_doc(&it);
      auto ks = keys(req.get());
      if (ks.size() != 1) {
        bad = "malformed bulkWrite request";
        break;
      }
      std::string kind = ks[0];
      Doc body = get_doc(req.get(), kind.c_str()).value_or(Doc());
      Doc f = get_doc(body.get(), "filter").value_or(Doc());
      Doc o;
      bool ok = true;
      if (kind == "insertOne") {
        Doc d = get_doc(body.get(), "document").value_or(Doc());
        insert_ids[idx] = ensure_id(&d);
        ok = mongoc_bulk_operation_insert_with_opts(bulk, d.get(), nullptr, &e);
      } else if (kind == "updateOne" || kind == "updateMany" || kind == "replaceOne") {
        const char* uk = kind == "replaceOne" ? "replacement" : "update";
        Doc u = get_doc(body.get(), uk).value_or(Doc());
        build_opts(body, {"filter", "update", "replacement"}, &o);
        ok = kind == "updateOne"    ? mongoc_bulk_operation_update_one_with_opts(bulk, f.get(), u.get(), o.get(), &e)
             : kind == "updateMany" ? mongoc_bulk_operation_update_many_with_opts(bulk, f.get(), u.get(), o.get(), &e)
                                    : mongoc_bulk_operation_replace_one_with_opts(bulk, f.get(), u.get(), o.get(), &e);
      } else if (kind == "deleteOne" || kind == "deleteMany") {
        build_opts(body, {"filter"}, &o);
        ok = kind == "deleteOne" ? mongoc_bulk_operation_remove_one_with_opts(bulk, f.get(), o.get(), &e)
                                 : mongoc_bulk_operation_remove_many_with_opts(bulk, f.get(), o.get(), &e);
      } else {
        bad = "unsupported bulkWrite request " + kind;
      }
      if (!ok) bad = e.message;
      ++idx;
    }
    if (!bad.empty()) {
      mongoc_bulk_operation_destroy(bulk);
      return fail_opts(bad);
    }
    bson_t rep;
    uint32_t sid = mongoc_bulk_operation_execute(bulk, &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    mongoc_bulk_operation_destroy(bulk);
    if (!sid) {
      r.err = from_bson_error(e, reply.get());
      r.err.partial_result = bulk_result(reply.get(), insert_ids, ordered);
      return r;
    }
    r.value = bulk_result(reply.get(), insert_ids, ordered);
    return r;
  }
  if (name == "find" || name == "findOne" || name == "createFindCursor") {
    // The CRUD spec's find(filter, options): the filter is a required argument.
    if (!has_key(args.get(), "filter")) return fail_opts(name + " needs filter");
    std::set<std::string> exclude = {"filter", "cursorType"};
    if (name == "findOne") exclude.insert("batchSize");  // findOne is one singleBatch of one document
    if (auto m = build_opts(args, exclude, &opts); !m.empty()) return fail_opts(m);
    if (auto ct = get_str(args.get(), "cursorType")) {
      if (*ct == "tailable" || *ct == "tailableAwait") BSON_APPEND_BOOL(opts.get(), "tailable", true);
      if (*ct == "tailableAwait") BSON_APPEND_BOOL(opts.get(), "awaitData", true);
    }
    if (name == "findOne") {
      // As drivers send findOne: {limit: 1, singleBatch: true}, no batchSize.
      if (!has_key(opts.get(), "limit")) BSON_APPEND_INT64(opts.get(), "limit", 1);
      if (!has_key(opts.get(), "singleBatch")) BSON_APPEND_BOOL(opts.get(), "singleBatch", true);
    } else {
      // CRUD spec: when batchSize equals limit, drivers send batchSize limit + 1 so that the
      // first batch closes the cursor without a getMore.
      auto limit = get_int(opts.get(), "limit"), batch = get_int(opts.get(), "batchSize");
      if (limit && batch && *limit > 0 && *limit == *batch) {
        Doc adjusted;
        bson_iter_t it;
        bson_iter_init(&it, opts.get());
        while (bson_iter_next(&it)) {
          if (std::string_view(bson_iter_key(&it)) == "batchSize") BSON_APPEND_INT64(adjusted.get(), "batchSize", *batch + 1);
          else bson_append_iter(adjusted.get(), bson_iter_key(&it), -1, &it);
        }
        opts = adjusted;
      }
    }
    mongoc_cursor_t* cur = mongoc_collection_find_with_opts(c.coll, filter.get(), opts.get(), nullptr);
    if (name == "createFindCursor") {
      // Run the initial find now so that its errors surface here; buffer the first document.
      const bson_t* first = nullptr;
      if (mongoc_cursor_next(cur, &first)) {
        r.first = Doc(first);
      } else {
        const bson_t* rep = nullptr;
        if (mongoc_cursor_error_document(cur, &e, &rep)) {
          r.err = from_bson_error(e, rep);
          mongoc_cursor_destroy(cur);
          return r;
        }
      }
      r.cursor = cur;
      return r;
    }
    OpResult d = drain(cur);
    if (name == "findOne" && !d.err.is_error) {
      Doc arr = d.value.as_doc();
      bson_iter_t it;
      if (bson_iter_init(&it, arr.get()) && bson_iter_next(&it)) d.value = Val(&it);
      else d.value = Val::null();
    }
    return d;
  }
  if (name == "aggregate") {
    auto pipeline = get_doc(args.get(), "pipeline").value_or(Doc());
    if (needs_command_path(name, args)) {
      // The aggregate command as a driver builds it; options other than session, batchSize
      // and comment go into the command.
      Doc cmd, cursor;
      BSON_APPEND_UTF8(cmd.get(), "aggregate", coll_name.c_str());
      BSON_APPEND_ARRAY(cmd.get(), "pipeline", pipeline.get());
      if (auto bs = get_int(args.get(), "batchSize")) BSON_APPEND_INT64(cursor.get(), "batchSize", *bs);
      BSON_APPEND_DOCUMENT(cmd.get(), "cursor", cursor.get());
      Doc cursor_args;
      bson_iter_t it;
      bson_iter_init(&it, args.get());
      while (bson_iter_next(&it)) {
        std::string k = bson_iter_key(&it);
        if (k == "pipeline" || k == "batchSize") continue;
        if (k == "session" || k == "comment") bson_append_iter(cursor_args.get(), k.c_str(), -1, &it);
        if (k != "session") bson_append_iter(cmd.get(), k.c_str(), -1, &it);
      }
      mongoc_database_t* db = mongoc_client_get_database(st_.clients[c.client]->client, c.db_name.c_str());
      OpResult out = cursor_command(db, c.client, cmd, cursor_args, true);
      mongoc_database_destroy(db);
      return out;
    }
    if (auto m = build_opts(args, {"pipeline"}, &opts); !m.empty()) return fail_opts(m);
    return drain(mongoc_collection_aggregate(c.coll, MONGOC_QUERY_NONE, pipeline.get(), opts.get(), nullptr));
  }
  if (name == "countDocuments") {
    if (auto m = build_opts(args, {"filter"}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    int64_t n = mongoc_collection_count_documents(c.coll, filter.get(), opts.get(), nullptr, &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (n < 0) r.err = from_bson_error(e, reply.get());
    else r.value = Val::from_int64(n);
    return r;
  }
  if (name == "estimatedDocumentCount") {
    if (auto m = build_opts(args, {}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    int64_t n = mongoc_collection_estimated_document_count(c.coll, opts.get(), nullptr, &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (n < 0) r.err = from_bson_error(e, reply.get());
    else r.value = Val::from_int64(n);
    return r;
  }
  if (name == "count") {
    if (auto m = build_opts(args, {"filter", "skip", "limit"}, &opts); !m.empty()) return fail_opts(m);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // The deprecated count helper is what the spec's "count" operation maps to.
    int64_t n = mongoc_collection_count_with_opts(c.coll, MONGOC_QUERY_NONE, filter.get(),
                                                  get_int(args.get(), "skip").value_or(0),
                                                  get_int(args.get(), "limit").value_or(0), opts.get(), nullptr, &e);
#pragma GCC diagnostic pop
    if (n < 0) r.err = from_bson_error(e, nullptr);
    else r.value = Val::from_int64(n);
    return r;
  }
  if (name == "distinct") {
    Doc cmd;
    BSON_APPEND_UTF8(cmd.get(), "distinct", coll_name.c_str());
    BSON_APPEND_UTF8(cmd.get(), "key", get_str(args.get(), "fieldName").value_or("").c_str());
    BSON_APPEND_DOCUMENT(cmd.get(), "query", filter.get());
    if (auto m = build_opts(args, {"filter", "fieldName"}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = mongoc_collection_read_command_with_opts(c.coll, cmd.get(), nullptr, opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) {
      r.err = from_bson_error(e, reply.get());
      return r;
    }
    auto vals = get_doc(reply.get(), "values");
    if (!vals) return fail_opts("distinct reply without values: " + reply.json());
    r.value = Val::from_array(vals->get());
    return r;
  }
  if (name == "findOneAndUpdate" || name == "findOneAndReplace" || name == "findOneAndDelete") {
    mongoc_find_and_modify_opts_t* fam = mongoc_find_and_modify_opts_new();
    int flags = 0;
    if (name == "findOneAndDelete") flags |= MONGOC_FIND_AND_MODIFY_REMOVE;
    if (get_bool(args.get(), "upsert").value_or(false)) flags |= MONGOC_FIND_AND_MODIFY_UPSERT;
    if (get_str(args.get(), "returnDocument").value_or("Before") == "After") flags |= MONGOC_FIND_AND_MODIFY_RETURN_NEW;
    auto rd = get_str(args.get(), "returnDocument");
    if (rd && *rd != "Before" && *rd != "After") {
      mongoc_find_and_modify_opts_destroy(fam);
      return fail_opts("invalid returnDocument " + *rd);
    }
    mongoc_find_and_modify_opts_set_flags(fam, static_cast<mongoc_find_and_modify_flags_t>(flags));
    if (auto s = get_doc(args.get(), "sort")) mongoc_find_and_modify_opts_set_sort(fam, s->get());
    if (auto p = get_doc(args.get(), "projection")) mongoc_find_and_modify_opts_set_fields(fam, p->get());
    Doc extra;
    bson_iter_t ui;
    const char* uk = name == "findOneAndReplace" ? "replacement" : "update";
    if (bson_iter_init_find(&ui, args.get(), uk)) {
      if (BSON_ITER_HOLDS_ARRAY(&ui)) {
        bson_append_iter(extra.get(), "update", -1, &ui);  // pipeline update
      } else {
        Doc u = iter_doc(&ui);
        mongoc_find_and_modify_opts_set_update(fam, u.get());
      }
    }
    std::string m = build_opts(args, {"filter", "update", "replacement", "upsert", "returnDocument", "sort", "projection"},
                               &extra);
    if (!m.empty()) {
      mongoc_find_and_modify_opts_destroy(fam);
      return fail_opts(m);
    }
    mongoc_find_and_modify_opts_append(fam, extra.get());
    bson_t rep;
    bool ok = mongoc_collection_find_and_modify_with_opts(c.coll, filter.get(), fam, &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    mongoc_find_and_modify_opts_destroy(fam);
    if (!ok) {
      r.err = from_bson_error(e, reply.get());
      return r;
    }
    if (auto v = reply.find("value")) r.value = Val(&*v);
    else r.value = Val::null();
    return r;
  }
  if (name == "listIndexes" || name == "listIndexNames") {
    if (auto m = build_opts(args, {}, &opts); !m.empty()) return fail_opts(m);
    OpResult d = drain(mongoc_collection_find_indexes_with_opts(c.coll, opts.get()));
    if (name == "listIndexNames" && !d.err.is_error) {
      Doc arr = d.value.as_doc(), names;
      bson_iter_t it;
      bson_iter_init(&it, arr.get());
      while (bson_iter_next(&it)) {
        Doc ix = iter_doc(&it);
        BSON_APPEND_UTF8(names.get(), bson_iter_key(&it), get_str(ix.get(), "name").value_or("").c_str());
      }
      d.value = Val::from_array(names.get());
    }
    return d;
  }
  if (name == "createIndex") {
    auto keys_doc = get_doc(args.get(), "keys");
    if (!keys_doc) return fail_opts("createIndex needs keys");
    Doc index;
    BSON_APPEND_DOCUMENT(index.get(), "key", keys_doc->get());
    std::string iname;
    if (auto n = get_str(args.get(), "name")) {
      iname = *n;
    } else {
      char* s = mongoc_collection_keys_to_index_string(keys_doc->get());
      iname = s ? s : "";
      bson_free(s);
    }
    BSON_APPEND_UTF8(index.get(), "name", iname.c_str());
    Doc cmd_opts;
    bson_iter_t it;
    bson_iter_init(&it, args.get());
    while (bson_iter_next(&it)) {
      std::string k = bson_iter_key(&it);
      if (k == "keys" || k == "name" || k == "session" || k == "maxTimeMS" || k == "commitQuorum" || k == "comment" ||
          k == "rawData")
        continue;
      bson_append_iter(index.get(), k.c_str(), static_cast<int>(k.size()), &it);
    }
    Doc cmd, arr;
    BSON_APPEND_UTF8(cmd.get(), "createIndexes", coll_name.c_str());
    BSON_APPEND_DOCUMENT(arr.get(), "0", index.get());
    BSON_APPEND_ARRAY(cmd.get(), "indexes", arr.get());
    for (const char* k : {"maxTimeMS", "commitQuorum", "comment", "rawData"}) {
      if (std::string_view(k) == "rawData" && !raw_data_supported()) continue;
      bson_iter_t x;
      if (bson_iter_init_find(&x, args.get(), k)) bson_append_iter(cmd.get(), k, -1, &x);
    }
    Doc sess_args;
    if (auto s = args.find("session")) bson_append_iter(sess_args.get(), "session", -1, &*s);
    if (auto m = build_opts(sess_args, {}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = mongoc_collection_write_command_with_opts(c.coll, cmd.get(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) r.err = from_bson_error(e, reply.get());
    else r.value = Val::from_utf8(iname);
    return r;
  }
  if (name == "dropIndex") {
    auto iname = get_str(args.get(), "name");
    if (!iname) return fail_opts("dropIndex needs name");
    if (auto m = build_opts(args, {"name"}, &opts); !m.empty()) return fail_opts(m);
    if (!mongoc_collection_drop_index_with_opts(c.coll, iname->c_str(), opts.get(), &e))
      r.err = from_bson_error(e, nullptr);
    return r;
  }
  if (name == "dropIndexes") {
    Doc cmd;
    BSON_APPEND_UTF8(cmd.get(), "dropIndexes", coll_name.c_str());
    BSON_APPEND_UTF8(cmd.get(), "index", "*");
    if (auto m = build_opts(args, {}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = mongoc_collection_write_command_with_opts(c.coll, cmd.get(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) r.err = from_bson_error(e, reply.get());
    return r;
  }
  if (name == "rename") {
    auto to = get_str(args.get(), "to");
    if (!to) return fail_opts("rename needs to");
    if (auto m = build_opts(args, {"to", "dropTarget"}, &opts); !m.empty()) return fail_opts(m);
    // rename_with_opts renames the handle in place; rename a copy so the entity keeps its name.
    mongoc_collection_t* copy = mongoc_collection_copy(c.coll);
    bool ok = mongoc_collection_rename_with_opts(copy, c.db_name.c_str(), to->c_str(),
                                                 get_bool(args.get(), "dropTarget").value_or(false), opts.get(), &e);
    mongoc_collection_destroy(copy);
    if (!ok) r.err = from_bson_error(e, nullptr);
    return r;
  }
  if (name == "createChangeStream") return open_change_stream(nullptr, nullptr, c.coll, args);
  if (name.find("SearchIndex") != std::string::npos) return search_index_op(name, c, args);
  return fail_opts("unsupported collection operation " + name);
}

OpResult TestRun::search_index_op(const std::string& name, CollectionEntity& c, const Doc& args) {
  OpResult r;
  const char* coll = mongoc_collection_get_name(c.coll);
  Doc cmd;
  if (name == "listSearchIndexes") {
    BSON_APPEND_UTF8(cmd.get(), "aggregate", coll);
    bson_t pipeline, stage, spec, cursor;
    BSON_APPEND_ARRAY_BEGIN(cmd.get(), "pipeline", &pipeline);
    BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$listSearchIndexes", &spec);
    if (auto n = get_str(args.get(), "name")) BSON_APPEND_UTF8(&spec, "name", n->c_str());
    bson_append_document_end(&stage, &spec);
    bson_append_document_end(&pipeline, &stage);
    bson_append_array_end(cmd.get(), &pipeline);
    auto agg = get_doc(args.get(), "aggregationOptions").value_or(Doc());
    BSON_APPEND_DOCUMENT_BEGIN(cmd.get(), "cursor", &cursor);
    if (auto bs = get_int(agg.get(), "batchSize")) BSON_APPEND_INT64(&cursor, "batchSize", *bs);
    bson_append_document_end(cmd.get(), &cursor);
    bson_iter_t it;
    bson_iter_init(&it, agg.get());
    while (bson_iter_next(&it)) {
      if (std::string(bson_iter_key(&it)) != "batchSize") bson_append_iter(cmd.get(), bson_iter_key(&it), -1, &it);
    }
    mongoc_database_t* db = mongoc_client_get_database(st_.clients[c.client]->client, c.db_name.c_str());
    Doc cursor_args;
    if (auto bs = get_int(agg.get(), "batchSize")) BSON_APPEND_INT64(cursor_args.get(), "batchSize", *bs);
    OpResult out = cursor_command(db, c.client, cmd, cursor_args, true);
    mongoc_database_destroy(db);
    return out;
  }
  if (name == "createSearchIndex" || name == "createSearchIndexes") {
    BSON_APPEND_UTF8(cmd.get(), "createSearchIndexes", coll);
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(cmd.get(), "indexes", &arr);
    if (name == "createSearchIndex") {
      auto m = get_doc(args.get(), "model");
      if (!m) {
        r.err = client_err("createSearchIndex needs model");
        return r;
      }
      BSON_APPEND_DOCUMENT(&arr, "0", m->get());
    } else if (auto ms = get_doc(args.get(), "models")) {
      bson_iter_t it;
      bson_iter_init(&it, ms->get());
      while (bson_iter_next(&it)) bson_append_iter(&arr, bson_iter_key(&it), -1, &it);
    }
    bson_append_array_end(cmd.get(), &arr);
  } else if (name == "dropSearchIndex" || name == "updateSearchIndex") {
    BSON_APPEND_UTF8(cmd.get(), name.c_str(), coll);
    auto n = get_str(args.get(), "name");
    if (!n) {
      r.err = client_err(name + " needs name");
      return r;
    }
    BSON_APPEND_UTF8(cmd.get(), "name", n->c_str());
    if (name == "updateSearchIndex") {
      auto def = get_doc(args.get(), "definition");
      if (!def) {
        r.err = client_err("updateSearchIndex needs definition");
        return r;
      }
      BSON_APPEND_DOCUMENT(cmd.get(), "definition", def->get());
    }
  } else {
    r.err = client_err("unsupported collection operation " + name);
    return r;
  }
  // A raw command: the collection's read and write concerns are not applied, as the spec asks.
  bson_t rep;
  bson_error_t e;
  bool ok = mongoc_collection_command_with_opts(c.coll, cmd.get(), nullptr, nullptr, &rep, &e);
  Doc reply(&rep);
  bson_destroy(&rep);
  if (!ok) {
    r.err = from_bson_error(e, reply.get());
  } else if (name == "createSearchIndex") {
    bson_iter_t it;
    if (bson_iter_init(&it, reply.get()) && bson_iter_find_descendant(&it, "indexesCreated.0.name", &it) &&
        BSON_ITER_HOLDS_UTF8(&it))
      r.value = Val::from_utf8(bson_iter_utf8(&it, nullptr));
  } else {
    r.value = Val::from_doc(reply.get());
  }
  return r;
}

OpResult TestRun::database_op(const std::string& name, DatabaseEntity& d, const Doc& args) {
  OpResult r;
  bson_error_t e;
  Doc opts, reply;
  auto fail_opts = [&](const std::string& m) {
    r.err = client_err(m);
    return r;
  };
  if (name == "runCommand") {
    auto cmd = get_doc(args.get(), "command");
    if (!cmd) return fail_opts("runCommand needs command");
    mongoc_read_prefs_t* rp = nullptr;
    if (auto p = get_doc(args.get(), "readPreference")) rp = make_read_prefs(p->get());
    std::string m = build_opts(args, {"command", "commandName", "readPreference"}, &opts);
    if (!m.empty()) {
      if (rp) mongoc_read_prefs_destroy(rp);
      return fail_opts(m);
    }
    bson_t rep;
    bool ok = mongoc_database_command_with_opts(d.db, cmd->get(), rp, opts.get(), &rep, &e);
    if (rp) mongoc_read_prefs_destroy(rp);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) r.err = from_bson_error(e, reply.get());
    else r.value = Val::from_doc(reply.get());
    return r;
  }
  if (name == "aggregate") {
    auto pipeline = get_doc(args.get(), "pipeline").value_or(Doc());
    if (auto m = build_opts(args, {"pipeline"}, &opts); !m.empty()) return fail_opts(m);
    return drain(mongoc_database_aggregate(d.db, pipeline.get(), opts.get(), nullptr));
  }
  if (name == "listCollections") {
    if (auto m = build_opts(args, {}, &opts); !m.empty()) return fail_opts(m);
    return drain(mongoc_database_find_collections_with_opts(d.db, opts.get()));
  }
  if (name == "listCollectionNames") {
    if (auto m = build_opts(args, {}, &opts); !m.empty()) return fail_opts(m);
    char** names = mongoc_database_get_collection_names_with_opts(d.db, opts.get(), &e);
    if (!names) {
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    Doc arr;
    for (int i = 0; names[i]; ++i) BSON_APPEND_UTF8(arr.get(), std::to_string(i).c_str(), names[i]);
    bson_strfreev(names);
    r.value = Val::from_array(arr.get());
    return r;
  }
  if (name == "createCollection") {
    auto cname = get_str(args.get(), "collection");
    if (!cname) return fail_opts("createCollection needs collection");
    if (auto m = build_opts(args, {"collection"}, &opts); !m.empty()) return fail_opts(m);
    mongoc_collection_t* c = mongoc_database_create_collection(d.db, cname->c_str(), opts.get(), &e);
    if (!c) r.err = from_bson_error(e, nullptr);
    else mongoc_collection_destroy(c);
    return r;
  }
  if (name == "dropCollection") {
    auto cname = get_str(args.get(), "collection");
    if (!cname) return fail_opts("dropCollection needs collection");
    if (auto m = build_opts(args, {"collection"}, &opts); !m.empty()) return fail_opts(m);
    mongoc_collection_t* c = mongoc_database_get_collection(d.db, cname->c_str());
    bool ok = mongoc_collection_drop_with_opts(c, opts.get(), &e);
    mongoc_collection_destroy(c);
    // Drivers ignore NamespaceNotFound from drop.
    if (!ok && !(e.domain == MONGOC_ERROR_SERVER && e.code == 26) &&
        std::string(e.message).find("ns not found") == std::string::npos)
      r.err = from_bson_error(e, nullptr);
    return r;
  }
  if (name == "modifyCollection") {
    auto cname = get_str(args.get(), "collection");
    if (!cname) return fail_opts("modifyCollection needs collection");
    Doc cmd;
    BSON_APPEND_UTF8(cmd.get(), "collMod", cname->c_str());
    bson_iter_t it;
    bson_iter_init(&it, args.get());
    while (bson_iter_next(&it)) {
      std::string k = bson_iter_key(&it);
      if (k != "collection" && k != "session") bson_append_iter(cmd.get(), k.c_str(), static_cast<int>(k.size()), &it);
    }
    Doc sess_args;
    if (auto s = args.find("session")) bson_append_iter(sess_args.get(), "session", -1, &*s);
    if (auto m = build_opts(sess_args, {}, &opts); !m.empty()) return fail_opts(m);
    bson_t rep;
    bool ok = mongoc_database_write_command_with_opts(d.db, cmd.get(), opts.get(), &rep, &e);
    reply = Doc(&rep);
    bson_destroy(&rep);
    if (!ok) r.err = from_bson_error(e, reply.get());
    else r.value = Val::from_doc(reply.get());
    return r;
  }
  if (name == "createCommandCursor" || name == "runCursorCommand") return command_cursor(name, d, args);
  if (name == "createChangeStream") return open_change_stream(nullptr, d.db, nullptr, args);
  return fail_opts("unsupported database operation " + name);
}

// runCursorCommand / createCommandCursor: the command runs on a selected server, then a
// cursor over its reply iterates with getMore (batchSize, comment) on that server and session.
OpResult TestRun::command_cursor(const std::string& name, DatabaseEntity& d, const Doc& args) {
  auto cmd = get_doc(args.get(), "command");
  if (!cmd) {
    OpResult r;
    r.err = client_err(name + " needs command");
    return r;
  }
  if (has_key(args.get(), "timeoutMode")) {
    OpResult r;
    r.err = client_err("timeoutMode (CSOT) is not supported by libmongoc 1.23");
    return r;
  }
  return cursor_command(d.db, d.client, *cmd, args, name == "runCursorCommand");
}

OpResult TestRun::cursor_command(mongoc_database_t* db, const std::string& client_id, const Doc& cmd,
                                 const Doc& args, bool drain_now) {
  OpResult r;
  mongoc_client_t* client = st_.clients[client_id]->client;
  bson_error_t e;
  mongoc_server_description_t* sd = mongoc_client_select_server(client, false, nullptr, &e);
  if (!sd) {
    r.err = from_bson_error(e, nullptr);
    return r;
  }
  uint32_t server_id = mongoc_server_description_id(sd);
  mongoc_server_description_destroy(sd);
  Doc cmd_opts, cursor_opts;
  mongoc_client_session_t* session = nullptr;
  if (auto m = build_opts(args, {"command", "commandName", "batchSize", "comment", "maxTimeMS", "cursorType", "pipeline"},
                          &cmd_opts, &session);
      !m.empty()) {
    r.err = client_err(m);
    return r;
  }
  if (!session) {
    session = mongoc_client_start_session(client, nullptr, &e);
    if (!session) {
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    r.own_session = session;
    mongoc_client_session_append(session, cmd_opts.get(), &e);
  }
  mongoc_client_session_append(session, cursor_opts.get(), &e);
  BSON_APPEND_INT32(cmd_opts.get(), "serverId", static_cast<int32_t>(server_id));
  BSON_APPEND_INT32(cursor_opts.get(), "serverId", static_cast<int32_t>(server_id));
  if (auto bs = get_int(args.get(), "batchSize")) BSON_APPEND_INT64(cursor_opts.get(), "batchSize", *bs);
  if (auto c = args.find("comment")) bson_append_iter(cursor_opts.get(), "comment", -1, &*c);
  if (auto mt = get_int(args.get(), "maxTimeMS")) BSON_APPEND_INT64(cursor_opts.get(), "maxAwaitTimeMS", *mt);
  // The command functions initialize `rep` themselves (a bson_new()'d reply would leak).
  bson_t rep;
  bool ok = mongoc_database_command_with_opts(db, cmd.get(), nullptr, cmd_opts.get(), &rep, &e);
  if (!ok) {
    r.err = from_bson_error(e, &rep);
    bson_destroy(&rep);
    if (r.own_session) mongoc_client_session_destroy(r.own_session);
    r.own_session = nullptr;
    return r;
  }
  bson_t* reply = bson_copy(&rep);
  bson_destroy(&rep);
  // Takes ownership of reply.
  mongoc_cursor_t* cur = mongoc_cursor_new_from_command_reply_with_opts(client, reply, cursor_opts.get());
  if (drain_now) {
    OpResult out = drain(cur);
    if (r.own_session) mongoc_client_session_destroy(r.own_session);
    return out;
  }
  r.cursor = cur;
  return r;
}

// createChangeStream on a client, database or collection (exactly one non-null): libmongoc's
// watch helpers, which also resume as the change streams spec says.
OpResult TestRun::open_change_stream(mongoc_client_t* client, mongoc_database_t* db, mongoc_collection_t* coll,
                                     const Doc& args) {
  OpResult r;
  Doc pipeline, opts;
  Doc stages = get_doc(args.get(), "pipeline").value_or(Doc());
  BSON_APPEND_ARRAY(pipeline.get(), "pipeline", stages.get());
  if (auto m = build_opts(args, {"pipeline"}, &opts); !m.empty()) {
    r.err = client_err(m);
    return r;
  }
  mongoc_change_stream_t* cs = client ? mongoc_client_watch(client, pipeline.get(), opts.get())
                               : db   ? mongoc_database_watch(db, pipeline.get(), opts.get())
                                      : mongoc_collection_watch(coll, pipeline.get(), opts.get());
  bson_error_t e;
  const bson_t* reply = nullptr;
  if (mongoc_change_stream_error_document(cs, &e, &reply)) {
    r.err = from_bson_error(e, reply);
    mongoc_change_stream_destroy(cs);
    return r;
  }
  r.stream = cs;
  return r;
}

OpResult TestRun::client_op(const std::string& name, ClientEntity& c, const Doc& args) {
  OpResult r;
  Doc opts;
  bson_error_t e;
  if (name == "createChangeStream") return open_change_stream(c.client, nullptr, nullptr, args);
  if (name == "listDatabases") {
    if (auto m = build_opts(args, {}, &opts); !m.empty()) {
      r.err = client_err(m);
      return r;
    }
    return drain(mongoc_client_find_databases_with_opts(c.client, opts.get()));
  }
  if (name == "listDatabaseNames") {
    if (auto m = build_opts(args, {}, &opts); !m.empty()) {
      r.err = client_err(m);
      return r;
    }
    char** names = mongoc_client_get_database_names_with_opts(c.client, opts.get(), &e);
    if (!names) {
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    Doc arr;
    for (int i = 0; names[i]; ++i) BSON_APPEND_UTF8(arr.get(), std::to_string(i).c_str(), names[i]);
    bson_strfreev(names);
    r.value = Val::from_array(arr.get());
    return r;
  }
  r.err = client_err(name == "clientBulkWrite" ? "clientBulkWrite needs libmongoc >= 1.28 (bulkWrite command API)"
                                                : "unsupported client operation " + name);
  return r;
}

OpResult TestRun::session_op(const std::string& name, SessionEntity& s, const Doc& args) {
  OpResult r;
  bson_error_t e;
  if (!s.session) {
    r.err = client_err("session has ended");
    return r;
  }
  if (name == "endSession") {
    mongoc_client_session_destroy(s.session);
    s.session = nullptr;
    return r;
  }
  if (name == "withTransaction") {
    // The convenient API: libmongoc runs the callback (the nested operations) and commits,
    // retrying as the transactions spec says.
    struct Callback {
      TestRun* run;
      Doc ops;
      std::string failure;
    } cb{this, get_doc(args.get(), "callback").value_or(Doc()), ""};
    auto fn = [](mongoc_client_session_t*, void* ctx, bson_t**, bson_error_t* err) -> bool {
      auto* c = static_cast<Callback*>(ctx);
      std::string m = c->run->run_operations(c->ops.get());
      if (m.empty()) return true;
      c->failure = m;
      bson_set_error(err, MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG, "%s", m.c_str());
      return false;
    };
    mongoc_transaction_opt_t* to = transaction_opts(args.get());
    bson_t rep;
    bool ok = mongoc_client_session_with_transaction(s.session, fn, to, &cb, &rep, &e);
    mongoc_transaction_opts_destroy(to);
    Doc reply(&rep);
    bson_destroy(&rep);
    if (!cb.failure.empty()) {
      // A failed expectation inside the callback fails the test, not just the operation.
      error = "withTransaction callback: " + cb.failure;
      r.err = client_err(error);
      return r;
    }
    if (!ok) r.err = from_bson_error(e, reply.get());
    return r;
  }
  if (name == "startTransaction") {
    mongoc_transaction_opt_t* to = transaction_opts(args.get());
    bool ok = mongoc_client_session_start_transaction(s.session, to, &e);
    mongoc_transaction_opts_destroy(to);
    if (!ok) r.err = from_bson_error(e, nullptr);
    return r;
  }
  if (name == "commitTransaction" || name == "abortTransaction") {
    bson_t rep;
    bool ok;
    if (name == "commitTransaction") {
      ok = mongoc_client_session_commit_transaction(s.session, &rep, &e);
    } else {
      bson_init(&rep);
      ok = mongoc_client_session_abort_transaction(s.session, &e);
    }
    Doc reply(&rep);
    bson_destroy(&rep);
    if (!ok) r.err = from_bson_error(e, reply.get());
    return r;
  }
  r.err = client_err("unsupported session operation " + name);
  return r;
}

OpResult TestRun::cursor_op(const std::string& name, const std::string& id, const Doc&) {
  OpResult r;
  auto& cur = st_.cursors[id];
  if (cur.stream && (name == "iterateUntilDocumentOrError" || name == "iterateOnce")) {
    // A change stream's next() returns nothing while a getMore comes back empty; iterate
    // until an event or an error (bounded, so a missing event fails the test).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      const bson_t* doc = nullptr;
      bson_error_t e;
      const bson_t* reply = nullptr;
      if (mongoc_change_stream_next(cur.stream, &doc)) {
        r.value = Val::from_doc(doc);
        return r;
      }
      if (mongoc_change_stream_error_document(cur.stream, &e, &reply)) {
        r.err = from_bson_error(e, reply);
        return r;
      }
      if (name == "iterateOnce") return r;
      if (std::chrono::steady_clock::now() > deadline) {
        r.err = client_err("no change event within 10 seconds");
        error = r.err.message;
        return r;
      }
    }
  }
  if (name == "iterateUntilDocumentOrError" || name == "iterateOnce") {
    const bson_t* doc = nullptr;
    bson_error_t e;
    const bson_t* reply = nullptr;
    if (cur.first) {
      r.value = Val::from_doc(cur.first->get());
      cur.first.reset();
      return r;
    }
    while (true) {
      if (mongoc_cursor_next(cur.cursor, &doc)) {
        r.value = Val::from_doc(doc);
        return r;
      }
      if (mongoc_cursor_error_document(cur.cursor, &e, &reply)) {
        r.err = from_bson_error(e, reply);
        return r;
      }
      if (name == "iterateOnce" || !mongoc_cursor_more(cur.cursor)) {
        if (name == "iterateUntilDocumentOrError") r.err = client_err("cursor exhausted without a document");
        return r;
      }
    }
  }
  if (name == "close") {
    cur.destroy();
    st_.cursors.erase(id);
    return r;
  }
  r.err = client_err("unsupported cursor operation " + name);
  return r;
}

// GridFS bucket operations (GridFS spec: delete, download, upload) over libmongoc's bucket.
OpResult TestRun::bucket_op(const std::string& name, BucketEntity& b, const Doc& args) {
  OpResult r;
  bson_error_t e;
  auto id = args.find("id");
  if (name == "delete" || name == "download") {
    if (!id) {
      r.err = client_err(name + " needs id");
      return r;
    }
    const bson_value_t* idv = bson_iter_value(&*id);
    if (name == "delete") {
      if (!mongoc_gridfs_bucket_delete_by_id(b.bucket, idv, &e)) r.err = from_bson_error(e, nullptr);
      return r;
    }
    mongoc_stream_t* st = mongoc_gridfs_bucket_open_download_stream(b.bucket, idv, &e);
    if (!st) {
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    std::string bytes;
    char buf[4096];
    while (true) {
      ssize_t n = mongoc_stream_read(st, buf, sizeof buf, 1, 0);
      if (n <= 0) break;
      bytes.append(buf, static_cast<size_t>(n));
    }
    bool failed = mongoc_gridfs_bucket_stream_error(st, &e);
    mongoc_stream_destroy(st);
    if (failed) {
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    Doc d;
    bson_append_binary(d.get(), "v", 1, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(bytes.data()),
                       static_cast<uint32_t>(bytes.size()));
    bson_iter_t vi;
    bson_iter_init_find(&vi, d.get(), "v");
    r.value = Val(&vi);
    return r;
  }
  if (name == "upload") {
    auto filename = get_str(args.get(), "filename").value_or("");
    // source: {$$hexBytes: "..."}
    std::string hex;
    if (auto src = get_doc(args.get(), "source")) hex = get_str(src->get(), "$$hexBytes").value_or("");
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    Doc opts;
    if (auto cs = get_int(args.get(), "chunkSizeBytes")) BSON_APPEND_INT32(opts.get(), "chunkSizeBytes", static_cast<int32_t>(*cs));
    if (auto md = get_doc(args.get(), "metadata")) BSON_APPEND_DOCUMENT(opts.get(), "metadata", md->get());
    bson_value_t file_id;
    mongoc_stream_t* st = mongoc_gridfs_bucket_open_upload_stream(b.bucket, filename.c_str(), opts.get(), &file_id, &e);
    if (!st) {
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    ssize_t w = bytes.empty() ? 0 : mongoc_stream_write(st, bytes.data(), bytes.size(), 0);
    bool failed = w < 0 || mongoc_gridfs_bucket_stream_error(st, &e);
    if (!failed) {
      mongoc_stream_close(st);
      failed = mongoc_gridfs_bucket_stream_error(st, &e);
    }
    mongoc_stream_destroy(st);
    if (failed) {
      bson_value_destroy(&file_id);
      r.err = from_bson_error(e, nullptr);
      return r;
    }
    r.value = Val::from_value(&file_id);
    bson_value_destroy(&file_id);
    return r;
  }
  r.err = client_err("unsupported bucket operation " + name);
  return r;
}

OpResult TestRun::runner_op(const std::string& name, const Doc& args) {
  OpResult r;
  auto fail = [&](const std::string& m) {
    // Runner assertions fail the test; they are never "expected errors".
    r.err = client_err(m);
    error = m;
    return r;
  };
  bson_error_t e;
  auto db = get_str(args.get(), "databaseName").value_or("");
  auto coll = get_str(args.get(), "collectionName").value_or("");
  if (name == "assertCollectionExists" || name == "assertCollectionNotExists") {
    mongoc_database_t* d = mongoc_client_get_database(internal_, db.c_str());
    char** names = mongoc_database_get_collection_names_with_opts(d, nullptr, &e);
    mongoc_database_destroy(d);
    if (!names) return fail(std::string("listCollections: ") + e.message);
    bool found = false;
    for (int i = 0; names[i]; ++i) found |= coll == names[i];
    bson_strfreev(names);
    if (found != (name == "assertCollectionExists"))
      return fail("collection " + db + "." + coll + (found ? " exists" : " does not exist"));
    return r;
  }
  if (name == "assertIndexExists" || name == "assertIndexNotExists") {
    auto iname = get_str(args.get(), "indexName").value_or("");
    mongoc_collection_t* c = mongoc_client_get_collection(internal_, db.c_str(), coll.c_str());
    OpResult list = drain(mongoc_collection_find_indexes_with_opts(c, nullptr));
    mongoc_collection_destroy(c);
    bool found = false;
    if (!list.err.is_error) {
      Doc arr = list.value.as_doc();
      bson_iter_t it;
      bson_iter_init(&it, arr.get());
      while (bson_iter_next(&it)) {
        Doc ix = iter_doc(&it);
        found |= get_str(ix.get(), "name").value_or("") == iname;
      }
    }
    if (found != (name == "assertIndexExists"))
      return fail("index " + iname + " on " + db + "." + coll + (found ? " exists" : " does not exist"));
    return r;
  }
  if (name == "failPoint") {
    auto fp = get_doc(args.get(), "failPoint");
    if (!fp) return fail("failPoint needs failPoint");
    // Run through the internal client so that configureFailPoint never shows in events.
    bson_t rep;
    bool ok = mongoc_client_command_simple(internal_, "admin", fp->get(), nullptr, &rep, &e);
    bson_destroy(&rep);
    if (!ok) return fail(std::string("configureFailPoint failed: ") + e.message);
    Doc off;
    BSON_APPEND_UTF8(off.get(), "configureFailPoint", get_str(fp->get(), "configureFailPoint").value_or("").c_str());
    BSON_APPEND_UTF8(off.get(), "mode", "off");
    st_.failpoints.emplace_back(get_str(args.get(), "client").value_or(""), off);
    return r;
  }
  if (name == "targetedFailPoint") return fail("targetedFailPoint needs a pinned mongos (sharded only)");
  if (name == "createEntities") {
    auto list = get_doc(args.get(), "entities");
    if (!list) return fail("createEntities needs entities");
    std::string m = create_entities(list->get());
    if (!m.empty()) return fail(m);
    return r;
  }
  if (name == "assertSessionTransactionState") {
    auto sid = get_str(args.get(), "session").value_or("");
    auto s = st_.sessions.find(sid);
    if (s == st_.sessions.end() || !s->second.session) return fail("no session " + sid);
    auto want = get_str(args.get(), "state").value_or("");
    const char* states[] = {"none", "starting", "in_progress", "committed", "aborted"};
    int st = mongoc_client_session_get_transaction_state(s->second.session);
    std::string got = st >= 0 && st < 5 ? states[st] : "?";
    if (got != want) return fail("transaction state " + got + " != " + want);
    return r;
  }
  if (name == "assertSessionDirty" || name == "assertSessionNotDirty") {
    auto sid = get_str(args.get(), "session").value_or("");
    auto s = st_.sessions.find(sid);
    if (s == st_.sessions.end() || !s->second.session) return fail("no session " + sid);
    bool dirty = mongoc_client_session_get_dirty(s->second.session);
    if (dirty != (name == "assertSessionDirty")) return fail(std::string("session is ") + (dirty ? "dirty" : "not dirty"));
    return r;
  }
  if (name == "assertSessionPinned" || name == "assertSessionUnpinned") {
    auto sid = get_str(args.get(), "session").value_or("");
    auto s = st_.sessions.find(sid);
    if (s == st_.sessions.end() || !s->second.session) return fail("no session " + sid);
    // Sessions pin only to mongos; against a replica set they are never pinned.
    bool pinned = server_.topology == "sharded" && mongoc_client_session_get_server_id(s->second.session) != 0;
    if (pinned != (name == "assertSessionPinned")) return fail(std::string("session is ") + (pinned ? "" : "not ") + "pinned");
    return r;
  }
  if (name == "assertSameLsidOnLastTwoCommands" || name == "assertDifferentLsidOnLastTwoCommands") {
    auto cid = get_str(args.get(), "client").value_or("");
    auto c = st_.clients.find(cid);
    if (c == st_.clients.end()) return fail("no client " + cid);
    std::vector<const Event*> started;
    for (auto& ev : c->second->events)
      if (ev.type == "commandStartedEvent") started.push_back(&ev);
    if (started.size() < 2) return fail("fewer than two commandStartedEvents");
    auto a = get_doc(started[started.size() - 2]->command.get(), "lsid");
    auto b = get_doc(started.back()->command.get(), "lsid");
    if (!a || !b) return fail("command without lsid");
    bool same = exact_equal_docs(a->get(), b->get());
    if (same != (name == "assertSameLsidOnLastTwoCommands")) return fail(same ? "lsids are the same" : "lsids differ");
    return r;
  }
  if (name == "assertNumberConnectionsCheckedOut") {
    // libmongoc's single-threaded client owns its connections; none is ever "checked out"
    // between operations.
    int64_t want = get_int(args.get(), "connections").value_or(-1);
    if (want != 0) return fail("expected " + std::to_string(want) + " connections checked out, single-threaded client has 0");
    return r;
  }
  if (name == "waitForEvent") {
    auto cid = get_str(args.get(), "client").value_or("");
    auto c = st_.clients.find(cid);
    if (c == st_.clients.end()) return fail("no client " + cid);
    Doc ev = get_doc(args.get(), "event").value_or(Doc());
    auto ks = keys(ev.get());
    if (ks.size() != 1) return fail("waitForEvent needs one event");
    Doc want = get_doc(ev.get(), ks[0].c_str()).value_or(Doc());
    int64_t count = get_int(args.get(), "count").value_or(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      int64_t seen = 0;
      for (const auto& s : c->second->sdam) seen += sdam_matches(s, ks[0], want.get());
      for (const auto& e : c->second->events) seen += e.type == ks[0];
      if (seen >= count) return r;
      if (std::chrono::steady_clock::now() > deadline)
        return fail("waitForEvent: " + std::to_string(seen) + " of " + std::to_string(count) + " " + ks[0]);
      // A single-threaded client monitors its servers when it selects one.
      mongoc_server_description_t* sd = mongoc_client_select_server(c->second->client, false, nullptr, &e);
      if (sd) mongoc_server_description_destroy(sd);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (name == "wait") {
    std::this_thread::sleep_for(std::chrono::milliseconds(get_int(args.get(), "ms").value_or(0)));
    return r;
  }
  return fail("unsupported testRunner operation " + name);
}

std::string requirement_met(const bson_t* req, const ServerInfo& s, mongoc_client_t* internal) {
  bson_iter_t it;
  bson_iter_init(&it, req);
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (k == "minServerVersion") {
      if (compare_versions(s.version, bson_iter_utf8(&it, nullptr)) < 0) return "server older than " + iter_json(&it);
    } else if (k == "maxServerVersion") {
      if (compare_versions(s.version, bson_iter_utf8(&it, nullptr)) > 0) return "server newer than " + iter_json(&it);
    } else if (k == "topologies") {
      bool ok = false;
      bson_iter_t c;
      bson_iter_recurse(&it, &c);
      while (bson_iter_next(&c)) {
        std::string t = bson_iter_utf8(&c, nullptr);
        ok |= t == s.topology || (t == "sharded-replicaset" && s.topology == "sharded");
      }
      if (!ok) return "topology " + s.topology + " not in " + iter_json(&it);
    } else if (k == "serverless") {
      if (std::string(bson_iter_utf8(&it, nullptr)) == "require") return "requires serverless";
    } else if (k == "auth") {
      if (bson_iter_as_bool(&it) != s.auth) return std::string("requires auth ") + (s.auth ? "off" : "on");
    } else if (k == "authMechanism") {
      if (!s.auth) return "requires an auth mechanism";
    } else if (k == "csfle") {
      if (!(BSON_ITER_HOLDS_BOOL(&it) && !bson_iter_bool(&it))) return "requires CSFLE (not implemented by this runner)";
    } else if (k == "serverParameters") {
      Doc want = iter_doc(&it);
      for (auto& p : keys(want.get())) {
        Doc cmd, reply;
        BSON_APPEND_INT32(cmd.get(), "getParameter", 1);
        BSON_APPEND_INT32(cmd.get(), p.c_str(), 1);
        bson_t rep;
        bson_error_t e;
        bool ok = mongoc_client_command_simple(internal, "admin", cmd.get(), nullptr, &rep, &e);
        reply = Doc(&rep);
        bson_destroy(&rep);
        if (!ok) return "getParameter " + p + " failed: " + e.message;
        bson_iter_t w, a;
        bson_iter_init_find(&w, want.get(), p.c_str());
        bool has = bson_iter_init_find(&a, reply.get(), p.c_str());
        if (!has || !match(&w, &a, false, MatchContext{}).empty())
          return "server parameter " + p + " is not " + iter_json(&w);
      }
    } else {
      return "unknown requirement " + k;
    }
  }
  return "";
}

// Empty when any requirement in the list is met (or the list is absent); else the reasons.
std::string requirements_met(const bson_t* parent, const ServerInfo& s, mongoc_client_t* internal) {
  auto reqs = get_doc(parent, "runOnRequirements");
  if (!reqs) return "";
  std::string why;
  bson_iter_t it;
  bson_iter_init(&it, reqs->get());
  bool any = false;
  while (bson_iter_next(&it)) {
    any = true;
    Doc r = iter_doc(&it);
    std::string m = requirement_met(r.get(), s, internal);
    if (m.empty()) return "";
    why += (why.empty() ? "" : "; ") + m;
  }
  return any ? why : "";
}

}  // namespace

Runner::Runner(std::string uri) : uri_(std::move(uri)) {}

Runner::~Runner() {
  if (internal_) mongoc_client_destroy(internal_);
}

std::string Runner::connect() {
  bson_error_t e;
  std::string uri = uri_;
  if (uri.find("serverSelectionTimeoutMS") == std::string::npos)
    uri = uri_with_option(uri, "serverSelectionTimeoutMS", "5000");
  mongoc_uri_t* muri = mongoc_uri_new_with_error(uri.c_str(), &e);
  if (!muri) return std::string("bad URI: ") + e.message;
  server_.auth = mongoc_uri_get_username(muri) != nullptr;
  internal_ = mongoc_client_new_from_uri_with_error(muri, &e);
  mongoc_uri_destroy(muri);
  if (!internal_) return e.message;
  mongoc_client_set_error_api(internal_, MONGOC_ERROR_API_VERSION_2);
  Doc cmd;
  BSON_APPEND_INT32(cmd.get(), "buildInfo", 1);
  bson_t rep;
  if (!mongoc_client_command_simple(internal_, "admin", cmd.get(), nullptr, &rep, &e)) {
    bson_destroy(&rep);
    return std::string("buildInfo: ") + e.message;
  }
  Doc bi(&rep);
  bson_destroy(&rep);
  server_.version = get_str(bi.get(), "version").value_or("0.0.0");
  Doc hello;
  BSON_APPEND_INT32(hello.get(), "hello", 1);
  if (!mongoc_client_command_simple(internal_, "admin", hello.get(), nullptr, &rep, &e)) {
    bson_destroy(&rep);
    return std::string("hello: ") + e.message;
  }
  Doc h(&rep);
  bson_destroy(&rep);
  if (has_key(h.get(), "setName")) server_.topology = "replicaset";
  else if (get_str(h.get(), "msg").value_or("") == "isdbgrid") server_.topology = "sharded";
  else server_.topology = "single";
  return "";
}

bool Runner::ping() {
  Doc cmd;
  BSON_APPEND_INT32(cmd.get(), "ping", 1);
  bson_error_t e;
  return mongoc_client_command_simple(internal_, "admin", cmd.get(), nullptr, nullptr, &e);
}

void Runner::reset_server() {
  bson_error_t e;
  char** names = mongoc_client_get_database_names_with_opts(internal_, nullptr, &e);
  if (!names) return;
  for (int i = 0; names[i]; ++i) {
    std::string n = names[i];
    if (n == "admin" || n == "local" || n == "config") continue;
    mongoc_database_t* d = mongoc_client_get_database(internal_, n.c_str());
    mongoc_database_drop_with_opts(d, nullptr, &e);
    mongoc_database_destroy(d);
  }
  bson_strfreev(names);
}

FileOutcome Runner::run_file(const Doc& file, const std::string& filter) {
  FileOutcome out;
  std::vector<std::string> problems = validate_test_file(file.get());
  if (!problems.empty()) {
    out.load_error = "invalid test file: " + problems.front();
    return out;
  }
  std::string sv = get_str(file.get(), "schemaVersion").value_or("");
  if (sv.rfind("1.", 0) != 0 || compare_versions(sv, kMaxSchema) > 0) {
    out.load_error = "unsupported schemaVersion " + sv + " (runner supports 1.0 to " + kMaxSchema + ")";
    return out;
  }
  Doc tests = *get_doc(file.get(), "tests");
  std::string file_skip = requirements_met(file.get(), server_, internal_);
  bson_iter_t it;
  bson_iter_init(&it, tests.get());
  while (bson_iter_next(&it)) {
    Doc test = iter_doc(&it);
    TestOutcome t;
    t.description = get_str(test.get(), "description").value_or("");
    if (!filter.empty() && t.description.find(filter) == std::string::npos) continue;
    if (!file_skip.empty()) {
      t.kind = TestOutcome::kSkip;
      t.reason = "runOnRequirements: " + file_skip;
      out.tests.push_back(t);
      continue;
    }
    if (auto sr = get_str(test.get(), "skipReason")) {
      t.kind = TestOutcome::kSkip;
      t.reason = "skipReason: " + *sr;
      out.tests.push_back(t);
      continue;
    }
    if (std::string m = requirements_met(test.get(), server_, internal_); !m.empty()) {
      t.kind = TestOutcome::kSkip;
      t.reason = "runOnRequirements: " + m;
      out.tests.push_back(t);
      continue;
    }
    std::string failure;
    // initialData, with majority write concern through the internal client.
    if (auto init = get_doc(file.get(), "initialData")) {
      bson_iter_t ci;
      bson_iter_init(&ci, init->get());
      while (failure.empty() && bson_iter_next(&ci)) {
        Doc cd = iter_doc(&ci);
        auto dbn = get_str(cd.get(), "databaseName").value_or("");
        auto cn = get_str(cd.get(), "collectionName").value_or("");
        mongoc_database_t* d = mongoc_client_get_database(internal_, dbn.c_str());
        mongoc_collection_t* c = mongoc_database_get_collection(d, cn.c_str());
        Doc wc_opts;
        mongoc_write_concern_t* wc = mongoc_write_concern_new();
        mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
        mongoc_write_concern_append(wc, wc_opts.get());
        mongoc_write_concern_destroy(wc);
        bson_error_t e;
        if (!mongoc_collection_drop_with_opts(c, wc_opts.get(), &e) && e.code != 26 &&
            std::string(e.message).find("ns not found") == std::string::npos)
          failure = std::string("initialData drop: ") + e.message;
        auto docs = get_doc(cd.get(), "documents").value_or(Doc());
        auto create_opts = get_doc(cd.get(), "createOptions");
        if (failure.empty() && (create_opts || docs.empty())) {
          Doc o = create_opts.value_or(Doc());
          bson_concat(o.get(), wc_opts.get());
          mongoc_collection_t* made = mongoc_database_create_collection(d, cn.c_str(), o.get(), &e);
          if (!made) failure = std::string("initialData create: ") + e.message;
          else mongoc_collection_destroy(made);
        }
        if (failure.empty() && !docs.empty()) {
          std::vector<Doc> ds;
          bson_iter_t di;
          bson_iter_init(&di, docs.get());
          while (bson_iter_next(&di)) ds.push_back(iter_doc(&di));
          std::vector<const bson_t*> ptrs;
          for (auto& x : ds) ptrs.push_back(x.get());
          if (!mongoc_collection_insert_many(c, ptrs.data(), ptrs.size(), wc_opts.get(), nullptr, &e))
            failure = std::string("initialData insert: ") + e.message;
        }
        mongoc_collection_destroy(c);
        mongoc_database_destroy(d);
      }
    }
    {
      TestRun run(uri_, internal_, server_);
      if (failure.empty()) {
        if (auto ents = get_doc(file.get(), "createEntities")) {
          std::string m = run.create_entities(ents->get());
          if (!m.empty()) failure = "createEntities: " + m;
        }
      }
      if (failure.empty()) {
        Doc ops = get_doc(test.get(), "operations").value_or(Doc());
        failure = run.run_operations(ops.get());
      }
      run.disable_failpoints();
      if (failure.empty()) {
        if (auto ee = get_doc(test.get(), "expectEvents")) failure = run.check_events(ee->get());
      }
    }
    if (failure.empty()) {
      if (auto outcome = get_doc(test.get(), "outcome")) {
        bson_iter_t ci;
        bson_iter_init(&ci, outcome->get());
        while (failure.empty() && bson_iter_next(&ci)) {
          Doc cd = iter_doc(&ci);
          auto dbn = get_str(cd.get(), "databaseName").value_or("");
          auto cn = get_str(cd.get(), "collectionName").value_or("");
          mongoc_collection_t* c = mongoc_client_get_collection(internal_, dbn.c_str(), cn.c_str());
          auto* rc = mongoc_read_concern_new();
          mongoc_read_concern_set_level(rc, "local");
          mongoc_collection_set_read_concern(c, rc);
          mongoc_read_concern_destroy(rc);
          Doc fopts;
          bson_t sort;
          bson_init(&sort);
          BSON_APPEND_INT32(&sort, "_id", 1);
          BSON_APPEND_DOCUMENT(fopts.get(), "sort", &sort);
          bson_destroy(&sort);
          Doc empty;
          mongoc_cursor_t* cur = mongoc_collection_find_with_opts(c, empty.get(), fopts.get(), nullptr);
          std::vector<Doc> got;
          const bson_t* d;
          while (mongoc_cursor_next(cur, &d)) got.emplace_back(d);
          bson_error_t e;
          if (mongoc_cursor_error(cur, &e)) failure = std::string("outcome find: ") + e.message;
          mongoc_cursor_destroy(cur);
          mongoc_collection_destroy(c);
          auto want = get_doc(cd.get(), "documents").value_or(Doc());
          std::vector<Doc> exp;
          bson_iter_t wi;
          bson_iter_init(&wi, want.get());
          while (bson_iter_next(&wi)) exp.push_back(iter_doc(&wi));
          if (failure.empty()) {
            auto dump = [](const std::vector<Doc>& v) {
              std::string s = "[";
              for (auto& x : v) s += (s.size() > 1 ? ", " : "") + x.json();
              return s + "]";
            };
            bool same = exp.size() == got.size();
            for (size_t i = 0; same && i < exp.size(); ++i) same = exact_equal_docs(exp[i].get(), got[i].get());
            if (!same)
              failure = "outcome " + dbn + "." + cn + ": expected " + dump(exp) + ", got " + dump(got);
          }
        }
      }
    }
    if (!failure.empty()) {
      t.kind = TestOutcome::kFail;
      t.reason = failure;
    }
    out.tests.push_back(t);
  }
  return out;
}

}  // namespace spec
