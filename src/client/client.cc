// Pools, the command runner, libmongoc error conversion and the error classification.
#include "client/client.h"

#include <algorithm>
#include <mutex>
#include <regex>

#include "common/log.h"

namespace client {

namespace {

// libmongoc logs through this handler into spdlog (at debug: the driver's warnings are
// about its own internals); URIs in its messages are redacted.
void mongoc_log_to_spdlog(mongoc_log_level_t level, const char* domain, const char* message, void*) {
  if (level == MONGOC_LOG_LEVEL_TRACE) return;
  std::string text = redact_uri(message ? message : "");
  if (level <= MONGOC_LOG_LEVEL_CRITICAL) {
    MS_LOG_WARN("libmongoc {}: {}", domain ? domain : "", text);
  } else {
    MS_LOG_DEBUG("libmongoc {}: {}", domain ? domain : "", text);
  }
}

void init_driver() {
  static std::once_flag once;
  std::call_once(once, [] {
    mongoc_init();
    mongoc_log_set_handler(mongoc_log_to_spdlog, nullptr);
  });
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

std::string redact_uri(std::string_view text) {
  // Any "scheme://user:password@" in the text: the password part becomes ****.
  static const std::regex userinfo(R"(([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):[^@/\s]*@)");
  return std::regex_replace(std::string(text), userinfo, "$1:****@");
}

common::Result<mongoc_uri_t*> make_uri(const ConnectSpec& spec) {
  init_driver();
  bson_error_t err;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(spec.uri.c_str(), &err);
  if (!uri) return common::Status(common::kBadValue, std::string("invalid MongoDB URI: ") + err.message);
  if (!spec.username.empty()) mongoc_uri_set_username(uri, spec.username.c_str());
  if (!spec.auth_source.empty()) mongoc_uri_set_auth_source(uri, spec.auth_source.c_str());
  if (!spec.password.empty()) mongoc_uri_set_password(uri, spec.password.c_str());
  if (spec.tls) mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, *spec.tls);
  if (!spec.tls_ca_file.empty()) mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, spec.tls_ca_file.c_str());
  if (!spec.tls_cert_key_file.empty()) {
    mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILE, spec.tls_cert_key_file.c_str());
  }
  if (spec.tls_allow_invalid_hostnames) mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, true);
  mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, spec.connect_timeout_ms);
  mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, spec.connect_timeout_ms);
  if (spec.socket_timeout_ms > 0) mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, spec.socket_timeout_ms);
  mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, spec.max_pool_size);
  if (!spec.app_name.empty() && !mongoc_uri_get_appname(uri)) mongoc_uri_set_appname(uri, spec.app_name.c_str());
  return uri;
}

const char* to_string(ErrorClass c) {
  switch (c) {
    case ErrorClass::kConnection: return "connection";
    case ErrorClass::kTransient: return "transient";
    case ErrorClass::kFatal: return "fatal";
  }
  return "?";
}

ErrorClass classify(const common::Status& s) {
  switch (s.code()) {
    // Network (error_codes.yml category NetworkError) and server selection.
    case common::kHostUnreachable:
    case common::kHostNotFound:
    case common::kNetworkTimeout:
    case common::kSocketException:
    // NotPrimaryError and ShutdownError: the set is electing or the node is going away.
    case common::kNotWritablePrimary:
    case common::kNotPrimaryNoSecondaryOk:
    case common::kNotPrimaryOrSecondary:
    case common::kPrimarySteppedDown:
    case 11602:  // InterruptedDueToReplStateChange
    case 10058:  // LegacyNotPrimary
    case common::kShutdownInProgress:
    case common::kInterruptedAtShutdown:
      return ErrorClass::kConnection;
    case common::kWriteConflict:
    case common::kMaxTimeMSExpired:
    case 262:  // ExceededTimeLimit
    case 24:   // LockTimeout
    case common::kWriteConcernFailed:
    case 133:  // FailedToSatisfyReadPreference
    case 134:  // ReadConcernMajorityNotAvailableYet
    case common::kCursorNotFound:
    case common::kQueryPlanKilled:
    case 237:  // CursorKilled
    case 234:  // RetryChangeStream
    case common::kInterrupted:
      return ErrorClass::kTransient;
    default:
      break;
  }
  if (s.has_label("RetryableWriteError") || s.has_label("TransientTransactionError") ||
      s.has_label("ResumableChangeStreamError")) {
    return ErrorClass::kTransient;
  }
  return ErrorClass::kFatal;
}

common::Status status_from_error(const bson_error_t& error, const bson_t* reply) {
  std::string msg = redact_uri(error.message);
  int code = common::kInternalError;
  switch (error.domain) {
    case MONGOC_ERROR_SERVER:
    case MONGOC_ERROR_WRITE_CONCERN:
    case MONGOC_ERROR_QUERY:
      code = static_cast<int>(error.code);
      break;
    case MONGOC_ERROR_STREAM:
      if (error.code == MONGOC_ERROR_STREAM_NAME_RESOLUTION) {
        code = common::kHostNotFound;
      } else if (error.code == MONGOC_ERROR_STREAM_CONNECT) {
        code = common::kHostUnreachable;
      } else if (contains(msg, "timed out") || contains(msg, "timeout")) {
        code = common::kNetworkTimeout;
      } else {
        code = common::kSocketException;
      }
      break;
    case MONGOC_ERROR_SERVER_SELECTION:
      code = contains(msg, "timed out") ? common::kNetworkTimeout : common::kHostUnreachable;
      break;
    case MONGOC_ERROR_CLIENT:
      code = error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE ? common::kAuthenticationFailed : common::kInternalError;
      break;
    case MONGOC_ERROR_SASL:
    case MONGOC_ERROR_SCRAM:
      code = common::kAuthenticationFailed;
      break;
    case MONGOC_ERROR_PROTOCOL:
      code = common::kProtocolError;
      break;
    case MONGOC_ERROR_BSON:
    case MONGOC_ERROR_COMMAND:
    case MONGOC_ERROR_NAMESPACE:
      code = error.code == MONGOC_ERROR_QUERY_COMMAND_NOT_FOUND ? common::kCommandNotFound : common::kBadValue;
      break;
    case MONGOC_ERROR_CURSOR:
      code = common::kCursorNotFound;
      break;
    default:
      break;
  }
  if (code == 0) code = common::kUnknownError;
  common::Status st(code, msg);
  bson_iter_t it, labels;
  if (reply && bson_iter_init_find(&it, reply, "errorLabels") && BSON_ITER_HOLDS_ARRAY(&it) &&
      bson_iter_recurse(&it, &labels)) {
    while (bson_iter_next(&labels)) {
      if (BSON_ITER_HOLDS_UTF8(&labels)) st.with_label(bson_iter_utf8(&labels, nullptr));
    }
  }
  return st;
}

Connection::Connection(Connection&& o) noexcept : pool_(o.pool_), client_(o.client_), owned_(o.owned_) {
  o.client_ = nullptr;
}

Connection::~Connection() {
  if (!client_) return;
  if (pool_) {
    mongoc_client_pool_push(pool_->pool_, client_);
  } else if (owned_) {
    mongoc_client_destroy(client_);
  }
}

common::Result<Connection> Connection::open(const ConnectSpec& spec) {
  MS_ASSIGN_OR_RETURN(mongoc_uri_t * uri, make_uri(spec));
  bson_error_t err;
  mongoc_client_t* c = mongoc_client_new_from_uri_with_error(uri, &err);
  mongoc_uri_destroy(uri);
  if (!c) return status_from_error(err, nullptr);
  mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
  return Connection(nullptr, c, true);
}

common::Result<common::Bson> Connection::run(std::string_view db, const bson_t* command) {
  bson_t reply;
  bson_error_t err;
  std::string dbname(db);
  bool ok = mongoc_client_command_with_opts(client_, dbname.c_str(), command, nullptr, nullptr, &reply, &err);
  common::Bson out = common::Bson::steal(&reply);
  if (!ok) return status_from_error(err, out.get());
  return out;
}

common::Result<std::vector<common::Bson>> Connection::run_cursor(std::string_view db, const bson_t* command,
                                                                 size_t limit) {
  bson_error_t err;
  // The cursor's getMores must go to the server that opened it.
  mongoc_server_description_t* sd = mongoc_client_select_server(client_, false, nullptr, &err);
  if (!sd) return status_from_error(err, nullptr);
  uint32_t server_id = mongoc_server_description_id(sd);
  mongoc_server_description_destroy(sd);
  bson_t opts = BSON_INITIALIZER;
  BSON_APPEND_INT32(&opts, "serverId", static_cast<int32_t>(server_id));
  bson_t reply;
  std::string dbname(db);
  bool ok = mongoc_client_command_with_opts(client_, dbname.c_str(), command, nullptr, &opts, &reply, &err);
  if (!ok) {
    common::Status st = status_from_error(err, &reply);
    bson_destroy(&reply);
    bson_destroy(&opts);
    return st;
  }
  mongoc_cursor_t* cursor = mongoc_cursor_new_from_command_reply_with_opts(client_, &reply, &opts);
  bson_destroy(&opts);
  std::vector<common::Bson> docs;
  const bson_t* doc;
  while ((limit == 0 || docs.size() < limit) && mongoc_cursor_next(cursor, &doc)) docs.emplace_back(doc);
  const bson_t* err_reply = nullptr;
  if (mongoc_cursor_error_document(cursor, &err, &err_reply)) {
    common::Status st = status_from_error(err, err_reply);
    mongoc_cursor_destroy(cursor);
    return st;
  }
  mongoc_cursor_destroy(cursor);
  return docs;
}

common::Result<std::unique_ptr<Pool>> Pool::open(const ConnectSpec& spec) {
  MS_ASSIGN_OR_RETURN(mongoc_uri_t * uri, make_uri(spec));
  bson_error_t err;
  mongoc_client_pool_t* raw = mongoc_client_pool_new_with_error(uri, &err);
  mongoc_uri_destroy(uri);
  if (!raw) return common::Status(common::kBadValue, redact_uri(err.message));
  mongoc_client_pool_set_error_api(raw, MONGOC_ERROR_API_VERSION_2);
  std::unique_ptr<Pool> pool(new Pool());
  pool->pool_ = raw;
  pool->redacted_uri_ = redact_uri(spec.uri);
  return pool;
}

Pool::~Pool() {
  if (pool_) mongoc_client_pool_destroy(pool_);
}

Connection Pool::acquire() { return Connection(this, mongoc_client_pool_pop(pool_), true); }

}  // namespace client
