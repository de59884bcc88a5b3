// Hand-written structural checks mirroring the unified test format schema (schema-1.x.json).
#include "schema_check.h"

#include <functional>
#include <map>
#include <regex>
#include <set>

#include "bson_util.h"

namespace spec {
namespace {

enum Ty : unsigned { kStr = 1, kInt = 2, kBool = 4, kObj = 8, kArr = 16, kNum = 32, kAny = 0xff };

class Checker {
 public:
  std::vector<std::string> errors;

  void err(const std::string& path, const std::string& m) { errors.push_back(path + ": " + m); }

  bool is(const bson_iter_t* it, unsigned types) {
    switch (bson_iter_type(it)) {
      case BSON_TYPE_UTF8: return types & kStr;
      case BSON_TYPE_INT32:
      case BSON_TYPE_INT64: return types & (kInt | kNum);
      case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        return (types & kNum) || ((types & kInt) && d == static_cast<double>(static_cast<int64_t>(d)));
      }
      case BSON_TYPE_BOOL: return types & kBool;
      case BSON_TYPE_DOCUMENT: return types & kObj;
      case BSON_TYPE_ARRAY: return types & kArr;
      default: return types == kAny;
    }
  }

  // Checks `d` (an object) has only `allowed` keys and all `required` keys.
  void object(const std::string& path, const bson_t* d, const std::set<std::string>& allowed,
              const std::set<std::string>& required) {
    for (auto& k : keys(d))
      if (!allowed.count(k)) err(path, "additional property '" + k + "'");
    for (auto& k : required)
      if (!has_key(d, k.c_str())) err(path, "missing required '" + k + "'");
  }

  // Type of an optional field; returns true when present and of the right type.
  bool field(const std::string& path, const bson_t* d, const char* key, unsigned types) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, key)) return false;
    if (!is(&it, types)) {
      err(path + "." + key, "wrong type");
      return false;
    }
    return true;
  }

  void enum_field(const std::string& path, const bson_t* d, const char* key, const std::set<std::string>& vals) {
    if (!field(path, d, key, kStr)) return;
    if (!vals.count(*get_str(d, key))) err(path + "." + key, "not one of the allowed values");
  }

  void pattern_field(const std::string& path, const bson_t* d, const char* key, const std::regex& re) {
    if (!field(path, d, key, kStr)) return;
    if (!std::regex_match(*get_str(d, key), re)) err(path + "." + key, "does not match the pattern");
  }

  // Array field whose items are each checked by `item` (given path and iterator).
  void array(const std::string& path, const bson_t* d, const char* key, size_t min_items,
             const std::function<void(const std::string&, const bson_iter_t*)>& item) {
    if (!field(path, d, key, kArr)) return;
    Doc a = *get_doc(d, key);
    if (bson_count_keys(a.get()) < min_items) err(path + "." + key, "fewer than " + std::to_string(min_items) + " items");
    bson_iter_t it;
    bson_iter_init(&it, a.get());
    while (bson_iter_next(&it)) item(path + "." + key + "[" + bson_iter_key(&it) + "]", &it);
  }

  std::function<void(const std::string&, const bson_iter_t*)> items_of(unsigned types) {
    return [this, types](const std::string& p, const bson_iter_t* it) {
      if (!is(it, types)) err(p, "wrong item type");
    };
  }

  template <typename F>
  std::function<void(const std::string&, const bson_iter_t*)> objects(F f) {
    return [this, f](const std::string& p, const bson_iter_t* it) {
      if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
        err(p, "item is not an object");
        return;
      }
      Doc d = iter_doc(it);
      f(p, d.get());
    };
  }

  // ---- schema objects ----

  void run_on_requirement(const std::string& p, const bson_t* d) {
    static const std::regex ver("^[0-9]+(\\.[0-9]+){1,2}$");
    object(p, d, {"minServerVersion", "maxServerVersion", "topologies", "serverless", "serverParameters", "auth",
                  "authMechanism", "csfle"},
           {});
    if (bson_count_keys(d) == 0) err(p, "runOnRequirement needs at least one property");
    pattern_field(p, d, "minServerVersion", ver);
    pattern_field(p, d, "maxServerVersion", ver);
    array(p, d, "topologies", 1, [this](const std::string& ip, const bson_iter_t* it) {
      static const std::set<std::string> t = {"single", "replicaset", "sharded", "sharded-replicaset", "load-balanced"};
      if (!BSON_ITER_HOLDS_UTF8(it) || !t.count(bson_iter_utf8(it, nullptr))) err(ip, "invalid topology");
    });
    enum_field(p, d, "serverless", {"require", "forbid", "allow"});
    field(p, d, "serverParameters", kObj);
    field(p, d, "auth", kBool);
    field(p, d, "authMechanism", kStr);
    if (field(p, d, "csfle", kBool | kObj)) {
      if (auto c = get_doc(d, "csfle"); c && !get_bool(d, "csfle")) {
        static const std::regex lv("^[0-9]+(\\.[0-9]+){1,2}$");
        object(p + ".csfle", c->get(), {"minLibmongocryptVersion"}, {});
        pattern_field(p + ".csfle", c->get(), "minLibmongocryptVersion", lv);
      }
    }
  }

  void coll_or_db_options(const std::string& p, const bson_t* d) {
    object(p, d, {"readConcern", "readPreference", "writeConcern", "timeoutMS"}, {});
    field(p, d, "readConcern", kObj);
    field(p, d, "readPreference", kObj);
    field(p, d, "writeConcern", kObj);
    field(p, d, "timeoutMS", kInt);
  }

  void kms_providers(const std::string& p, const bson_t* d) {
    static const std::regex name("^(aws|azure|gcp|kmip|local)(:[a-zA-Z0-9_]+)?$");
    static const std::map<std::string, std::set<std::string>> fields = {
        {"aws", {"accessKeyId", "secretAccessKey", "sessionToken"}},
        {"azure", {"tenantId", "clientId", "clientSecret", "identityPlatformEndpoint", "accessToken"}},
        {"gcp", {"email", "privateKey", "endpoint", "accessToken"}},
        {"kmip", {"endpoint"}},
        {"local", {"key"}}};
    for (auto& k : keys(d)) {
      std::smatch m;
      if (!std::regex_match(k, m, name)) {
        err(p, "invalid KMS provider name '" + k + "'");
        continue;
      }
      if (!field(p, d, k.c_str(), kObj)) continue;
      Doc prov = *get_doc(d, k.c_str());
      const auto& allowed = fields.at(m[1].str());
      object(p + "." + k, prov.get(), allowed, {});
      for (auto& f : allowed) field(p + "." + k, prov.get(), f.c_str(), kStr | kObj);
    }
  }

  void entity(const std::string& p, const bson_t* d) {
    static const std::set<std::string> kinds = {"client", "clientEncryption", "database", "collection",
                                                "bucket", "stream",           "session",  "thread"};
    object(p, d, kinds, {});
    if (bson_count_keys(d) != 1) err(p, "an entity has exactly one property");
    for (auto& k : keys(d)) {
      if (!kinds.count(k)) continue;
      if (!field(p, d, k.c_str(), kObj)) continue;
      Doc e = *get_doc(d, k.c_str());
      std::string q = p + "." + k;
      const bson_t* x = e.get();
      field(q, x, "id", kStr);
      if (k == "client") {
        object(q, x, {"id", "uriOptions", "useMultipleMongoses", "observeEvents", "ignoreCommandMonitoringEvents",
                      "storeEventsAsEntities", "observeLogMessages", "observeTracingMessages", "serverApi",
                      "observeSensitiveCommands", "awaitMinPoolSizeMS", "autoEncryptOpts"},
               {"id"});
        field(q, x, "uriOptions", kObj);
        field(q, x, "useMultipleMongoses", kBool);
        array(q, x, "observeEvents", 1, [this](const std::string& ip, const bson_iter_t* it) {
          static const std::set<std::string> ev = {
              "commandStartedEvent",          "commandSucceededEvent",          "commandFailedEvent",
              "poolCreatedEvent",             "poolReadyEvent",                 "poolClearedEvent",
              "poolClosedEvent",              "connectionCreatedEvent",         "connectionReadyEvent",
              "connectionClosedEvent",        "connectionCheckOutStartedEvent", "connectionCheckOutFailedEvent",
              "connectionCheckedOutEvent",    "connectionCheckedInEvent",       "serverDescriptionChangedEvent",
              "topologyDescriptionChangedEvent", "serverHeartbeatStartedEvent", "serverHeartbeatSucceededEvent",
              "serverHeartbeatFailedEvent",   "topologyOpeningEvent",           "topologyClosedEvent",
              "serverOpeningEvent",           "serverClosedEvent"};
          if (!BSON_ITER_HOLDS_UTF8(it) || !ev.count(bson_iter_utf8(it, nullptr))) err(ip, "invalid event name");
        });
        array(q, x, "ignoreCommandMonitoringEvents", 1, items_of(kStr));
        field(q, x, "storeEventsAsEntities", kArr);
        if (field(q, x, "observeLogMessages", kObj)) {
          Doc o = *get_doc(x, "observeLogMessages");
          if (o.empty()) err(q + ".observeLogMessages", "needs at least one property");
          static const std::set<std::string> comps = {"command", "topology", "serverSelection", "connection"};
          static const std::set<std::string> levels = {"off",     "emergency", "alert", "critical", "error",
                                                       "warning", "notice",    "info",  "debug",    "trace"};
          for (auto& c : keys(o.get())) {
            if (!comps.count(c)) err(q + ".observeLogMessages", "unknown component " + c);
            enum_field(q + ".observeLogMessages", o.get(), c.c_str(), levels);
          }
        }
        if (field(q, x, "observeTracingMessages", kObj)) {
          Doc o = *get_doc(x, "observeTracingMessages");
          object(q + ".observeTracingMessages", o.get(), {"enableCommandPayload"}, {});
          field(q + ".observeTracingMessages", o.get(), "enableCommandPayload", kBool);
        }
        if (field(q, x, "serverApi", kObj)) {
          Doc o = *get_doc(x, "serverApi");
          object(q + ".serverApi", o.get(), {"version", "strict", "deprecationErrors"}, {"version"});
          field(q + ".serverApi", o.get(), "version", kStr);
          field(q + ".serverApi", o.get(), "strict", kBool);
          field(q + ".serverApi", o.get(), "deprecationErrors", kBool);
        }
        field(q, x, "observeSensitiveCommands", kBool);
        field(q, x, "awaitMinPoolSizeMS", kInt);
      } else if (k == "clientEncryption") {
        object(q, x, {"id", "clientEncryptionOpts"}, {"id", "clientEncryptionOpts"});
        if (field(q, x, "clientEncryptionOpts", kObj)) {
          Doc o = *get_doc(x, "clientEncryptionOpts");
          std::string r = q + ".clientEncryptionOpts";
          object(r, o.get(), {"keyVaultClient", "keyVaultNamespace", "kmsProviders"},
                 {"keyVaultClient", "keyVaultNamespace", "kmsProviders"});
          field(r, o.get(), "keyVaultClient", kStr);
          field(r, o.get(), "keyVaultNamespace", kStr);
          if (field(r, o.get(), "kmsProviders", kObj)) kms_providers(r + ".kmsProviders", get_doc(o.get(), "kmsProviders")->get());
        }
      } else if (k == "database") {
        object(q, x, {"id", "client", "databaseName", "databaseOptions"}, {"id", "client", "databaseName"});
        field(q, x, "client", kStr);
        field(q, x, "databaseName", kStr);
        if (field(q, x, "databaseOptions", kObj)) coll_or_db_options(q + ".databaseOptions", get_doc(x, "databaseOptions")->get());
      } else if (k == "collection") {
        object(q, x, {"id", "database", "collectionName", "collectionOptions"}, {"id", "database", "collectionName"});
        field(q, x, "database", kStr);
        field(q, x, "collectionName", kStr);
        if (field(q, x, "collectionOptions", kObj))
          coll_or_db_options(q + ".collectionOptions", get_doc(x, "collectionOptions")->get());
      } else if (k == "session") {
        object(q, x, {"id", "client", "sessionOptions"}, {"id", "client"});
        field(q, x, "client", kStr);
        field(q, x, "sessionOptions", kObj);
      } else if (k == "bucket") {
        object(q, x, {"id", "database", "bucketOptions"}, {"id", "database"});
        field(q, x, "database", kStr);
        field(q, x, "bucketOptions", kObj);
      } else if (k == "stream") {
        object(q, x, {"id", "hexBytes"}, {"id", "hexBytes"});
        static const std::regex hex("^([0-9A-Fa-f]{2})*$");
        pattern_field(q, x, "hexBytes", hex);
      } else if (k == "thread") {
        object(q, x, {"id"}, {"id"});
      }
    }
  }

  void collection_data(const std::string& p, const bson_t* d) {
    object(p, d, {"collectionName", "databaseName", "createOptions", "documents"},
           {"collectionName", "databaseName", "documents"});
    field(p, d, "collectionName", kStr);
    field(p, d, "databaseName", kStr);
    field(p, d, "createOptions", kObj);
    array(p, d, "documents", 0, items_of(kObj));
  }

  void expected_error(const std::string& p, const bson_t* d) {
    object(p, d, {"isError", "isClientError", "isTimeoutError", "errorContains", "errorCode", "errorCodeName",
                  "errorLabelsContain", "errorLabelsOmit", "writeErrors", "writeConcernErrors", "errorResponse",
                  "expectResult"},
           {});
    if (bson_count_keys(d) == 0) err(p, "expectError needs at least one property");
    if (field(p, d, "isError", kBool) && !*get_bool(d, "isError")) err(p + ".isError", "must be true");
    field(p, d, "isClientError", kBool);
    field(p, d, "isTimeoutError", kBool);
    field(p, d, "errorContains", kStr);
    field(p, d, "errorCode", kInt);
    field(p, d, "errorCodeName", kStr);
    array(p, d, "errorLabelsContain", 1, items_of(kStr));
    array(p, d, "errorLabelsOmit", 1, items_of(kStr));
    field(p, d, "writeErrors", kObj);
    field(p, d, "writeConcernErrors", kArr);
    field(p, d, "errorResponse", kObj);
  }

  void operation(const std::string& p, const bson_t* d) {
    object(p, d, {"name", "object", "arguments", "ignoreResultAndError", "expectError", "expectResult",
                  "saveResultAsEntity"},
           {"name", "object"});
    field(p, d, "name", kStr);
    field(p, d, "object", kStr);
    field(p, d, "arguments", kObj);
    field(p, d, "ignoreResultAndError", kBool);
    if (field(p, d, "expectError", kObj)) expected_error(p + ".expectError", get_doc(d, "expectError")->get());
    field(p, d, "saveResultAsEntity", kStr);
    bool ee = has_key(d, "expectError"), er = has_key(d, "expectResult"), sr = has_key(d, "saveResultAsEntity"),
         ig = has_key(d, "ignoreResultAndError");
    if (ee && (er || sr)) err(p, "expectError conflicts with expectResult/saveResultAsEntity");
    if (ig && (ee || er || sr)) err(p, "ignoreResultAndError conflicts with expectError/expectResult/saveResultAsEntity");
  }

  void command_event(const std::string& p, const bson_t* d) {
    static const std::set<std::string> kinds = {"commandStartedEvent", "commandSucceededEvent", "commandFailedEvent"};
    object(p, d, kinds, {});
    if (bson_count_keys(d) != 1) err(p, "an expected event has exactly one property");
    for (auto& k : keys(d)) {
      if (!kinds.count(k) || !field(p, d, k.c_str(), kObj)) continue;
      Doc e = *get_doc(d, k.c_str());
      std::string q = p + "." + k;
      std::set<std::string> allowed = {"commandName", "databaseName", "hasServiceId", "hasServerConnectionId"};
      if (k == "commandStartedEvent") allowed.insert("command");
      if (k == "commandSucceededEvent") allowed.insert("reply");
      object(q, e.get(), allowed, {});
      field(q, e.get(), "command", kObj);
      field(q, e.get(), "reply", kObj);
      field(q, e.get(), "commandName", kStr);
      field(q, e.get(), "databaseName", kStr);
      field(q, e.get(), "hasServiceId", kBool);
      field(q, e.get(), "hasServerConnectionId", kBool);
    }
  }

  void cmap_event(const std::string& p, const bson_t* d) {
    static const std::map<std::string, std::set<std::string>> kinds = {
        {"poolCreatedEvent", {}},
        {"poolReadyEvent", {}},
        {"poolClearedEvent", {"hasServiceId", "interruptInUseConnections"}},
        {"poolClosedEvent", {}},
        {"connectionCreatedEvent", {}},
        {"connectionReadyEvent", {}},
        {"connectionClosedEvent", {"reason"}},
        {"connectionCheckOutStartedEvent", {}},
        {"connectionCheckOutFailedEvent", {"reason"}},
        {"connectionCheckedOutEvent", {}},
        {"connectionCheckedInEvent", {}}};
    if (bson_count_keys(d) != 1) err(p, "an expected event has exactly one property");
    for (auto& k : keys(d)) {
      auto kind = kinds.find(k);
      if (kind == kinds.end()) {
        err(p, "additional property '" + k + "'");
        continue;
      }
      if (!field(p, d, k.c_str(), kObj)) continue;
      Doc e = *get_doc(d, k.c_str());
      object(p + "." + k, e.get(), kind->second, {});
      field(p + "." + k, e.get(), "hasServiceId", kBool);
      field(p + "." + k, e.get(), "interruptInUseConnections", kBool);
      field(p + "." + k, e.get(), "reason", kStr);
    }
  }

  void server_description(const std::string& p, const bson_t* d) {
    object(p, d, {"type"}, {});
    enum_field(p, d, "type",
               {"Standalone", "Mongos", "PossiblePrimary", "RSPrimary", "RSSecondary", "RSOther", "RSArbiter",
                "RSGhost", "LoadBalancer", "Unknown"});
  }

  void sdam_event(const std::string& p, const bson_t* d) {
    static const std::map<std::string, std::set<std::string>> kinds = {
        {"serverDescriptionChangedEvent", {"previousDescription", "newDescription"}},
        {"topologyDescriptionChangedEvent", {"previousDescription", "newDescription"}},
        {"serverHeartbeatStartedEvent", {"awaited"}},
        {"serverHeartbeatSucceededEvent", {"awaited"}},
        {"serverHeartbeatFailedEvent", {"awaited"}},
        {"topologyOpeningEvent", {}},
        {"topologyClosedEvent", {}}};
    if (bson_count_keys(d) != 1) err(p, "an expected event has exactly one property");
    for (auto& k : keys(d)) {
      auto kind = kinds.find(k);
      if (kind == kinds.end()) {
        err(p, "additional property '" + k + "'");
        continue;
      }
      if (!field(p, d, k.c_str(), kObj)) continue;
      Doc e = *get_doc(d, k.c_str());
      object(p + "." + k, e.get(), kind->second, {});
      field(p + "." + k, e.get(), "awaited", kBool);
      for (const char* sd : {"previousDescription", "newDescription"}) {
        if (!field(p + "." + k, e.get(), sd, kObj)) continue;
        Doc desc = *get_doc(e.get(), sd);
        if (k == "topologyDescriptionChangedEvent") {
          object(p + "." + k + "." + sd, desc.get(), {"type"}, {});
          enum_field(p + "." + k + "." + sd, desc.get(), "type",
                     {"Single", "Unknown", "ReplicaSetNoPrimary", "ReplicaSetWithPrimary", "Sharded", "LoadBalanced"});
        } else {
          server_description(p + "." + k + "." + sd, desc.get());
        }
      }
    }
  }

  void events_for_client(const std::string& p, const bson_t* d) {
    object(p, d, {"client", "eventType", "events", "ignoreExtraEvents"}, {"client", "events"});
    field(p, d, "client", kStr);
    enum_field(p, d, "eventType", {"command", "cmap", "sdam"});
    field(p, d, "ignoreExtraEvents", kBool);
    std::string type = get_str(d, "eventType").value_or("command");
    array(p, d, "events", 0, objects([this, type](const std::string& ip, const bson_t* e) {
            if (type == "cmap") cmap_event(ip, e);
            else if (type == "sdam") sdam_event(ip, e);
            else command_event(ip, e);
          }));
  }

  void log_message(const std::string& p, const bson_t* d) {
    object(p, d, {"level", "component", "failureIsRedacted", "data"}, {"level", "component", "data"});
    enum_field(p, d, "level",
               {"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", "trace"});
    enum_field(p, d, "component", {"command", "topology", "serverSelection", "connection"});
    field(p, d, "failureIsRedacted", kBool);
    field(p, d, "data", kObj);
  }

  void log_messages_for_client(const std::string& p, const bson_t* d) {
    object(p, d, {"client", "messages", "ignoreMessages", "ignoreExtraMessages"}, {"client", "messages"});
    field(p, d, "client", kStr);
    field(p, d, "ignoreExtraMessages", kBool);
    array(p, d, "messages", 0, objects([this](const std::string& ip, const bson_t* e) { log_message(ip, e); }));
    array(p, d, "ignoreMessages", 0, objects([this](const std::string& ip, const bson_t* e) { log_message(ip, e); }));
  }

  void span(const std::string& p, const bson_t* d) {
    object(p, d, {"name", "tags", "nested"}, {"name", "tags"});
    field(p, d, "name", kStr);
    field(p, d, "tags", kObj);
    array(p, d, "nested", 1, objects([this](const std::string& ip, const bson_t* e) { span(ip, e); }));
  }

  void tracing(const std::string& p, const bson_t* d) {
    object(p, d, {"client", "ignoreExtraSpans", "spans"}, {"client", "spans"});
    field(p, d, "client", kStr);
    field(p, d, "ignoreExtraSpans", kBool);
    array(p, d, "spans", 0, objects([this](const std::string& ip, const bson_t* e) { span(ip, e); }));
  }

  void test(const std::string& p, const bson_t* d) {
    object(p, d, {"description", "runOnRequirements", "skipReason", "operations", "expectEvents",
                  "expectLogMessages", "expectTracingMessages", "outcome"},
           {"description", "operations"});
    field(p, d, "description", kStr);
    array(p, d, "runOnRequirements", 1, objects([this](const std::string& ip, const bson_t* e) { run_on_requirement(ip, e); }));
    field(p, d, "skipReason", kStr);
    array(p, d, "operations", 0, objects([this](const std::string& ip, const bson_t* e) { operation(ip, e); }));
    array(p, d, "expectEvents", 1, objects([this](const std::string& ip, const bson_t* e) { events_for_client(ip, e); }));
    array(p, d, "expectLogMessages", 1,
          objects([this](const std::string& ip, const bson_t* e) { log_messages_for_client(ip, e); }));
    if (field(p, d, "expectTracingMessages", kObj)) tracing(p + ".expectTracingMessages", get_doc(d, "expectTracingMessages")->get());
    array(p, d, "outcome", 1, objects([this](const std::string& ip, const bson_t* e) { collection_data(ip, e); }));
  }

  void file(const bson_t* d) {
    object("<file>", d, {"description", "schemaVersion", "runOnRequirements", "createEntities", "initialData", "tests",
                         "_yamlAnchors"},
           {"description", "schemaVersion", "tests"});
    field("<file>", d, "description", kStr);
    static const std::regex sv("^[0-9]+(\\.[0-9]+){1,2}$");
    pattern_field("<file>", d, "schemaVersion", sv);
    array("<file>", d, "runOnRequirements", 1,
          objects([this](const std::string& ip, const bson_t* e) { run_on_requirement(ip, e); }));
    array("<file>", d, "createEntities", 1, objects([this](const std::string& ip, const bson_t* e) { entity(ip, e); }));
    array("<file>", d, "initialData", 1, objects([this](const std::string& ip, const bson_t* e) { collection_data(ip, e); }));
    field("<file>", d, "_yamlAnchors", kObj);
    array("<file>", d, "tests", 1, objects([this](const std::string& ip, const bson_t* e) { test(ip, e); }));
  }
};

}  // namespace

std::vector<std::string> validate_test_file(const bson_t* file) {
  Checker c;
  c.file(file);
  return c.errors;
}

}  // namespace spec
