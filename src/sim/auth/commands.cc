// saslStart/saslContinue (sasl_commands.cpp, authentication_session.cpp), the hello
// additions (hello_auth.cpp), authenticate/logout (authentication_commands.cpp),
// connectionStatus, and the user and role commands (user_management_commands.cpp,
// authorization_backend_local.cpp for usersInfo/rolesInfo shapes).
#include "sim/auth/commands.h"

#include <openssl/rand.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "common/log.h"
#include "mql/matcher.h"
#include "sim/auth/auth.h"
#include "sim/auth/builtin_roles.h"
#include "sim/auth/scram.h"
#include "sim/auth/session.h"

namespace sim::auth {

using common::Bson;
using common::Result;
using common::Status;

namespace {

const Status kAuthenticationFailed(common::kAuthenticationFailed, "Authentication failed.");

Status bad(std::string msg) { return Status(common::kBadValue, std::move(msg)); }

bool sub_doc(const bson_iter_t* it, bson_t* out) {
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  if (BSON_ITER_HOLDS_DOCUMENT(it)) {
    bson_iter_document(it, &len, &data);
  } else if (BSON_ITER_HOLDS_ARRAY(it)) {
    bson_iter_array(it, &len, &data);
  } else {
    return false;
  }
  return bson_init_static(out, data, len);
}

// A string field, or "" when absent or not a string.
std::string text_field(const bson_t* doc, const char* key) {
  auto v = common::get_string(doc, key, "");
  return v.ok() ? *v : "";
}

Bson doc_of(const bson_iter_t* it) {
  bson_t d;
  return sub_doc(it, &d) ? Bson(&d) : Bson();
}

Status wrong_type(const std::string& cmd, const char* field, const bson_iter_t* it, const char* expected) {
  return Status(common::kTypeMismatch, "BSON field '" + cmd + "." + field + "' is the wrong type '" +
                                           common::type_alias(bson_iter_type(it)) + "', expected type '" + expected + "'");
}

// IDL strictness: every field must be known or generic.
Status check_known_fields(const bson_t* body, const std::string& cmd, std::initializer_list<std::string_view> known) {
  bson_iter_t it;
  bson_iter_init(&it, body);
  bool first = true;
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (first) {
      first = false;
      continue;
    }
    if (is_generic_argument(k) || std::find(known.begin(), known.end(), k) != known.end()) continue;
    return Status(common::kUnrecognizedCommandField, "BSON field '" + cmd + "." + std::string(k) + "' is an unknown field.");
  }
  return Status::OK();
}

Result<std::string> command_string(const CommandContext& c) {
  bson_iter_t it;
  bson_iter_init(&it, c.body());
  bson_iter_next(&it);
  if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type(c.req.name, c.req.name.c_str(), &it, "string");
  return std::string(bson_iter_utf8(&it, nullptr));
}

std::string random_uuid() {
  unsigned char u[16];
  RAND_bytes(u, sizeof u);
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | 0x40);
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);
  return std::string(reinterpret_cast<char*>(u), sizeof u);
}

void append_string_array(bson_t* b, const char* key, const std::vector<std::string>& v) {
  bson_t arr;
  bson_append_array_begin(b, key, -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& s : v) common::append_utf8(&arr, common::array_key(i++, buf), s);
  bson_append_array_end(b, &arr);
}

void append_roles(bson_t* b, const char* key, const std::vector<RoleName>& roles) {
  bson_t arr;
  bson_append_array_begin(b, key, -1, &arr);
  char buf[16];
  uint32_t i = 0;
  for (const auto& r : roles) r.append_to(&arr, common::array_key(i++, buf));
  bson_append_array_end(b, &arr);
}

// A copy of `doc` with `key` set to the value `set` appends (replaced in place, or added at
// the end as $set does) or removed when `set` is empty.
Bson with_field(const bson_t* doc, std::string_view key, const std::function<void(bson_t*, const char*)>& set) {
  bson_t out;
  bson_init(&out);
  bson_iter_t it;
  bson_iter_init(&it, doc);
  bool done = false;
  std::string k(key);
  while (bson_iter_next(&it)) {
    if (k == bson_iter_key(&it)) {
      if (set) set(&out, k.c_str());
      done = true;
    } else {
      bson_append_iter(&out, bson_iter_key(&it), -1, &it);
    }
  }
  if (!done && set) set(&out, k.c_str());
  return Bson::steal(&out);
}

std::vector<std::string> credential_mechanisms(const bson_t* user_doc) {
  std::vector<std::string> out;
  bson_iter_t it, c;
  if (common::find_field(user_doc, "credentials", &it) && bson_iter_recurse(&it, &c)) {
    while (bson_iter_next(&c)) out.emplace_back(bson_iter_key(&c));
  }
  return out;
}

// ---- credentials ---------------------------------------------------------------------------

// buildCredentials: the SCRAM entries for `password`, one per requested mechanism.
Status append_credentials(bson_t* creds, const UserName& name, std::string_view password,
                          const std::vector<std::string>& mechanisms, bool digest_password) {
  bool sha1 = mechanisms.empty(), sha256 = mechanisms.empty();
  for (const auto& m : mechanisms) {
    if (m == "SCRAM-SHA-1") {
      sha1 = true;
    } else if (m == "SCRAM-SHA-256") {
      sha256 = true;
    } else {
      return bad("Unknown auth mechanism '" + m + "'");
    }
  }
  if (sha1) {
    std::string hashed = digest_password ? mongo_password_digest(name.user, password) : std::string(password);
    make_credentials(ScramMechanism::kSha1, hashed, kDefaultSha1Iterations).append_to(creds, "SCRAM-SHA-1");
  }
  if (sha256) {
    if (!digest_password) return bad("Use of SCRAM-SHA-256 requires undigested passwords");
    MS_ASSIGN_OR_RETURN(std::string prepared, saslprep(password));
    make_credentials(ScramMechanism::kSha256, prepared, kDefaultSha256Iterations).append_to(creds, "SCRAM-SHA-256");
  }
  return Status::OK();
}

Result<std::vector<std::string>> parse_mechanisms(const CommandContext& c) {
  std::vector<std::string> out;
  bson_iter_t it, arr;
  if (!common::find_field(c.body(), "mechanisms", &it)) return out;
  if (!BSON_ITER_HOLDS_ARRAY(&it)) return wrong_type(c.req.name, "mechanisms", &it, "array");
  bson_iter_recurse(&it, &arr);
  while (bson_iter_next(&arr)) {
    if (!BSON_ITER_HOLDS_UTF8(&arr)) {
      return wrong_type(c.req.name, ("mechanisms." + std::string(bson_iter_key(&arr))).c_str(), &arr, "string");
    }
    out.emplace_back(bson_iter_utf8(&arr, nullptr));
  }
  if (out.empty()) return bad("mechanisms field must not be empty");
  return out;
}

// ---- SCRAM user lookup --------------------------------------------------------------------

class StoreLookup final : public ScramUserLookup {
 public:
  StoreLookup(UserStore& store, std::string db) : store_(store), db_(std::move(db)) {}
  std::optional<ScramCredentials> credentials(const std::string& user, ScramMechanism m) override {
    auto doc = store_.user(UserName{user, db_});
    if (!doc) return std::nullopt;
    bson_iter_t it, c;
    if (!common::find_field(doc->get(), "credentials", &it) || !bson_iter_recurse(&it, &c) ||
        !bson_iter_find(&c, mechanism_name(m))) {
      return std::nullopt;
    }
    bson_t entry;
    if (!sub_doc(&c, &entry)) return std::nullopt;
    auto creds = ScramCredentials::from_bson(&entry);
    if (!creds.ok()) return std::nullopt;
    return *creds;
  }

 private:
  UserStore& store_;
  std::string db_;
};

// ---- SASL ---------------------------------------------------------------------------------

struct SaslPayload {
  std::string bytes;
  bool as_base64 = false;  // given as a base64 string: answered the same way
};

Result<SaslPayload> parse_payload(const CommandContext& c, const bson_t* body) {
  bson_iter_t it;
  if (!common::find_field(body, "payload", &it)) {
    return Status(40414, "BSON field '" + c.req.name + ".payload' is missing but a required field");
  }
  SaslPayload p;
  if (BSON_ITER_HOLDS_BINARY(&it)) {
    bson_subtype_t sub;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
    bson_iter_binary(&it, &sub, &len, &data);
    p.bytes.assign(reinterpret_cast<const char*>(data), len);
    return p;
  }
  if (BSON_ITER_HOLDS_UTF8(&it)) {
    uint32_t len = 0;
    const char* s = bson_iter_utf8(&it, &len);
    auto raw = base64_decode(std::string_view(s, len));
    if (!raw) return bad("Invalid base64 SASL payload");
    p.bytes = std::move(*raw);
    p.as_base64 = true;
    return p;
  }
  return wrong_type(c.req.name, "payload", &it, "binData");
}

void append_sasl_reply(bson_t* reply, bool done, const std::string& payload, bool as_base64) {
  bson_append_int32(reply, "conversationId", -1, 1);
  bson_append_bool(reply, "done", -1, done);
  if (as_base64) {
    common::append_utf8(reply, "payload", base64_encode(payload));
  } else {
    bson_append_binary(reply, "payload", -1, BSON_SUBTYPE_BINARY, reinterpret_cast<const uint8_t*>(payload.data()),
                       static_cast<uint32_t>(payload.size()));
  }
}

// AuthorizationSessionImpl::addAndAuthorizeUser: one user per connection.
Status authorize_user(AccessControl& ac, ClientSession& s, const UserName& name) {
  if (const auto& current = s.user()) {
    if (current->name == name) {
      MS_LOG_WARN("Client has attempted to reauthenticate as a single user: {}", name.full());
      return Status::OK();
    }
    if (current->name.db != name.db) {
      return Status(5626701, "Each client connection may only be authenticated once. Previously authenticated as: " +
                                 current->name.full());
    }
    return Status(5626702, "Client has attempted to authenticate on multiple databases.Already authenticated as: " +
                               current->name.full());
  }
  int64_t gen = ac.users().generation();
  MS_ASSIGN_OR_RETURN(ResolvedUser u, ac.users().resolve_user(name));
  s.set_user(std::move(u), gen);
  return Status::OK();
}

// doSaslStep: one step of the conversation; any mechanism error is 18 "Authentication
// failed." without detail (the detail goes to the debug log only).
Status sasl_step(AccessControl& ac, ClientSession& s, const ClientInfo& client, const SaslPayload& payload, bson_t* reply) {
  auto& conv = *s.conversation;
  StoreLookup lookup(ac.users(), conv.db);
  auto result = conv.scram->step(payload.bytes, lookup);
  if (!result.ok()) {
    MS_LOG_DEBUG("Authentication failed: mechanism {}, speculative {}, principalName {}, authenticationDatabase {}, "
                 "remote {}: {}",
                 mechanism_name(conv.scram->mechanism()), conv.speculative, conv.scram->principal(), conv.db,
                 client.remote, result.status().to_string());
    s.conversation.reset();
    return kAuthenticationFailed;
  }
  if (result->done) {
    UserName name{conv.scram->principal(), conv.db};
    bool speculative = conv.speculative;
    ScramMechanism mech = conv.scram->mechanism();
    s.conversation.reset();
    MS_RETURN_IF_ERROR(authorize_user(ac, s, name));
    MS_LOG_INFO("Authentication succeeded: mechanism {}, speculative {}, principalName {}, authenticationDatabase {}, "
                "remote {}",
                mechanism_name(mech), speculative, name.user, name.db, client.remote);
  }
  append_sasl_reply(reply, result->done, result->payload, payload.as_base64);
  return Status::OK();
}

// runSaslStart for saslStart and for hello's speculativeAuthenticate.
Status sasl_start(AccessControl& ac, CommandContext& c, const bson_t* body, const std::string& db, bool speculative,
                  bson_t* reply) {
  MS_RETURN_IF_ERROR(check_known_fields(body, c.req.name, {"mechanism", "payload", "autoAuthorize", "options", "db"}));
  bson_iter_t it;
  if (!common::find_field(body, "mechanism", &it)) {
    return Status(40414, "BSON field '" + c.req.name + ".mechanism' is missing but a required field");
  }
  if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type(c.req.name, "mechanism", &it, "string");
  std::string mech_name = bson_iter_utf8(&it, nullptr);
  MS_ASSIGN_OR_RETURN(SaslPayload payload, parse_payload(c, body));
  ClientSession& s = session_of(c.client, ac);
  s.conversation.reset();  // a new saslStart abandons the conversation in progress
  auto mech = mechanism_from_name(mech_name);
  if (!mech || db == "$external") {
    return bad("Unsupported mechanism '" + mech_name + "' on authentication database '" + db + "'");
  }
  bool skip_empty = false;
  if (common::find_field(body, "options", &it) && BSON_ITER_HOLDS_DOCUMENT(&it)) {
    bson_t opts;
    bson_iter_t see;
    if (sub_doc(&it, &opts) && bson_iter_init_find(&see, &opts, "skipEmptyExchange")) {
      if (!BSON_ITER_HOLDS_BOOL(&see)) return bad("skipEmptyExchange must be boolean");
      skip_empty = bson_iter_bool(&see);
    }
  }
  s.conversation = ClientSession::Conversation{std::make_unique<ScramServerConversation>(*mech, skip_empty), db, speculative};
  return sasl_step(ac, s, c.client, payload, reply);
}

Status run_sasl_start(AccessControl& ac, CommandContext& c, bson_t* reply) {
  return sasl_start(ac, c, c.body(), c.req.db, false, reply);
}

Status run_sasl_continue(AccessControl& ac, CommandContext& c, bson_t* reply) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "saslContinue", {"conversationId", "payload"}));
  ClientSession& s = session_of(c.client, ac);
  if (!s.conversation) return Status(common::kProtocolError, "No SASL session state found");
  bson_iter_t it;
  if (!common::find_field(c.body(), "conversationId", &it)) {
    return Status(40414, "BSON field 'saslContinue.conversationId' is missing but a required field");
  }
  if (!BSON_ITER_HOLDS_NUMBER(&it)) return wrong_type("saslContinue", "conversationId", &it, "int");
  MS_ASSIGN_OR_RETURN(SaslPayload payload, parse_payload(c, c.body()));
  if (bson_iter_as_int64(&it) != 1) {
    s.conversation.reset();
    return Status(common::kProtocolError, "sasl: Mismatched conversation id");
  }
  return sasl_step(ac, s, c.client, payload, reply);
}

// hello's saslSupportedMechs and speculativeAuthenticate (handleHelloAuth).
Status append_hello_auth(AccessControl& ac, CommandContext& c, bson_t* reply) {
  bson_iter_t it;
  if (common::find_field(c.body(), "saslSupportedMechs", &it)) {
    UserName name;
    if (BSON_ITER_HOLDS_UTF8(&it)) {
      std::string s = bson_iter_utf8(&it, nullptr);
      auto dot = s.find('.');
      if (dot == std::string::npos) return bad("UserName must contain a '.' separated database.user pair");
      name = UserName{s.substr(dot + 1), s.substr(0, dot)};
    } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
      bson_t d;
      sub_doc(&it, &d);
      auto user = common::get_string(&d, "user", "");
      auto db = common::get_string(&d, "db", "");
      if (!user.ok() || !db.ok() || user->empty() || db->empty()) return bad("UserName must contain a field named: user");
      name = UserName{*user, *db};
    } else {
      return Status(common::kTypeMismatch, std::string("BSON field 'hello.saslSupportedMechs' is the wrong type '") +
                                               common::type_alias(bson_iter_type(&it)) + "', expected types '[string, object]'");
    }
    if (auto doc = ac.users().user(name)) {
      std::vector<std::string> mechs;
      auto have = credential_mechanisms(doc->get());
      for (const char* m : {"SCRAM-SHA-1", "SCRAM-SHA-256"}) {
        if (std::find(have.begin(), have.end(), m) != have.end()) mechs.emplace_back(m);
      }
      append_string_array(reply, "saslSupportedMechs", mechs);
    } else {
      MS_LOG_INFO("Supported SASL mechanisms requested for unknown user '{}'", name.full());
    }
  }
  if (!common::find_field(c.body(), "speculativeAuthenticate", &it)) return Status::OK();
  bson_t spec;
  bson_iter_t first;
  if (!sub_doc(&it, &spec) || bson_empty(&spec)) return bad("hello.speculativeAuthenticate must be a non-empty Object");
  bson_iter_init(&first, &spec);
  bson_iter_next(&first);
  std::string cmd = bson_iter_key(&first);
  if (cmd == "saslStart") {
    // The handshake carries the database in `db`; failures are as if nothing was sent.
    auto db = common::get_string(&spec, "db", "");
    if (!db.ok() || db->empty()) return Status::OK();
    bson_t result;
    bson_init(&result);
    Status st = sasl_start(ac, c, &spec, *db, true, &result);
    if (st.ok()) {
      bson_append_document(reply, "speculativeAuthenticate", -1, &result);
    } else {
      session_of(c.client, ac).conversation.reset();
    }
    bson_destroy(&result);
    return Status::OK();
  }
  if (cmd == "authenticate") return Status::OK();  // MONGODB-X509 is not offered
  return Status(51769, "hello.speculativeAuthenticate unknown command: " + cmd);
}

Status run_connection_status(AccessControl& ac, CommandContext& c, bson_t* reply) {
  ClientSession& s = session_of(c.client, ac);
  s.refresh();
  bson_t auth, arr, u;
  bson_append_document_begin(reply, "authInfo", -1, &auth);
  bson_append_array_begin(&auth, "authenticatedUsers", -1, &arr);
  if (const auto& user = s.user()) {
    bson_append_document_begin(&arr, "0", -1, &u);
    common::append_utf8(&u, "user", user->name.user);
    common::append_utf8(&u, "db", user->name.db);
    bson_append_document_end(&arr, &u);
  }
  bson_append_array_end(&auth, &arr);
  append_roles(&auth, "authenticatedUserRoles", s.user() ? s.user()->indirect_roles : std::vector<RoleName>{});
  bson_iter_t it;
  if (common::find_field(c.body(), "showPrivileges", &it) && common::value_truthy(&it)) {
    append_privileges(&auth, "authenticatedUserPrivileges", s.user() ? s.user()->privileges : PrivilegeVector{});
  }
  bson_append_document_end(reply, &auth);
  return Status::OK();
}

Status run_logout(AccessControl& ac, CommandContext& c, bson_t*) {
  static std::once_flag warned;
  std::call_once(warned, [] {
    MS_LOG_WARN("The logout command has been deprecated, clients should end their session instead");
  });
  ClientSession& s = session_of(c.client, ac);
  if (s.user() && s.user()->name.db == c.req.db) s.logout();
  return Status::OK();
}

// ---- users ---------------------------------------------------------------------------------

Result<std::vector<RoleName>> required_roles(const CommandContext& c) {
  bson_iter_t it;
  if (!common::find_field(c.body(), "roles", &it)) {
    return Status(40414, "BSON field '" + c.req.name + ".roles' is missing but a required field");
  }
  return parse_role_array(c.body(), "roles", c.req.db);
}

Result<std::optional<Bson>> optional_doc(const CommandContext& c, const char* field) {
  bson_iter_t it;
  if (!common::find_field(c.body(), field, &it)) return std::optional<Bson>();
  if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type(c.req.name, field, &it, "object");
  return std::optional<Bson>(doc_of(&it));
}

Result<std::optional<std::string>> optional_pwd(const CommandContext& c) {
  bson_iter_t it;
  if (!common::find_field(c.body(), "pwd", &it)) return std::optional<std::string>();
  if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type(c.req.name, "pwd", &it, "string");
  uint32_t len = 0;
  const char* s = bson_iter_utf8(&it, &len);
  return std::optional<std::string>(std::string(s, len));
}

Status run_create_user(AccessControl& ac, CommandContext& c, bson_t*) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "createUser", {"pwd", "customData", "roles", "digestPassword",
                                                                  "authenticationRestrictions", "mechanisms"}));
  MS_ASSIGN_OR_RETURN(std::string user, command_string(c));
  MS_ASSIGN_OR_RETURN(auto roles, required_roles(c));
  MS_ASSIGN_OR_RETURN(auto pwd, optional_pwd(c));
  MS_ASSIGN_OR_RETURN(auto custom, optional_doc(c, "customData"));
  MS_ASSIGN_OR_RETURN(bool digest, common::get_bool(c.body(), "digestPassword", true));
  const std::string& db = c.req.db;
  if (db == "local") return bad("Cannot create users in the local database");
  if (user.find('\0') != std::string::npos) return bad("Username cannot contain NULL characters");
  bool external = db == "$external";
  if (!pwd && !external) {
    return bad("Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db");
  }
  if (pwd && external) return bad("Cannot set the password for users defined on the '$external' database");
  MS_ASSIGN_OR_RETURN(auto mechanisms, parse_mechanisms(c));
  if (user.empty()) return bad("User document needs 'user' field to be non-empty");
  UserName name{user, db};
  bson_iter_t it;
  Bson restrictions;
  if (common::find_field(c.body(), "authenticationRestrictions", &it)) {
    if (!BSON_ITER_HOLDS_ARRAY(&it)) return wrong_type("createUser", "authenticationRestrictions", &it, "array");
    restrictions = doc_of(&it);  // stored as given; mongosim does not enforce them
  }
  MS_ASSIGN_OR_RETURN(Bson doc, make_user_document(name, pwd.value_or(""), roles, mechanisms,
                                                   custom ? custom->get() : nullptr, digest,
                                                   restrictions.empty() ? nullptr : restrictions.get()));
  MS_RETURN_IF_ERROR(ac.users().roles_exist(roles));
  return ac.users().insert_user(name, std::move(doc));
}

Status run_update_user(AccessControl& ac, CommandContext& c, bson_t*) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "updateUser", {"pwd", "customData", "roles", "digestPassword",
                                                                  "authenticationRestrictions", "mechanisms"}));
  MS_ASSIGN_OR_RETURN(std::string user, command_string(c));
  MS_ASSIGN_OR_RETURN(auto pwd, optional_pwd(c));
  MS_ASSIGN_OR_RETURN(auto custom, optional_doc(c, "customData"));
  MS_ASSIGN_OR_RETURN(bool digest, common::get_bool(c.body(), "digestPassword", true));
  bson_iter_t it;
  bool has_mechs = common::find_field(c.body(), "mechanisms", &it);
  MS_ASSIGN_OR_RETURN(auto mechanisms, parse_mechanisms(c));
  bool has_roles = common::find_field(c.body(), "roles", &it);
  std::vector<RoleName> roles;
  if (has_roles) {
    MS_ASSIGN_OR_RETURN(roles, parse_role_array(c.body(), "roles", c.req.db));
  }
  bool has_restrictions = common::find_field(c.body(), "authenticationRestrictions", &it);
  UserName name{user, c.req.db};
  if (!pwd && !has_mechs && !custom && !has_roles && !has_restrictions) {
    return bad("Must specify at least one field to update in updateUser");
  }
  auto current = ac.users().user(name);
  if (!current) return Status(common::kUserNotFound, "User " + name.full() + " not found");
  Bson doc = *current;
  if (pwd) {
    if (name.db == "$external") return bad("Cannot set the password for users defined on the '$external' database");
    bson_t creds;
    bson_init(&creds);
    Status st = append_credentials(&creds, name, *pwd, mechanisms, digest);
    Bson cdoc = Bson::steal(&creds);
    MS_RETURN_IF_ERROR(st);
    doc = with_field(doc.get(), "credentials", [&](bson_t* b, const char* k) { bson_append_document(b, k, -1, cdoc.get()); });
  } else if (has_mechs) {
    // trimCredentials: keep only the listed, previously set mechanisms.
    auto have = credential_mechanisms(doc.get());
    bool known = false;
    for (const auto& m : mechanisms) {
      if (std::find(have.begin(), have.end(), m) == have.end()) {
        return bad("mechanisms field must be a subset of previously set mechanisms");
      }
      known = known || m == "SCRAM-SHA-1" || m == "SCRAM-SHA-256";
    }
    if (!known) return bad("mechanisms field must contain at least one previously set known mechanism");
    bson_iter_t cit, ce;
    common::find_field(doc.get(), "credentials", &cit);
    bson_t kept;
    bson_init(&kept);
    if (bson_iter_recurse(&cit, &ce)) {
      while (bson_iter_next(&ce)) {
        std::string k = bson_iter_key(&ce);
        if (std::find(mechanisms.begin(), mechanisms.end(), k) != mechanisms.end()) bson_append_iter(&kept, k.c_str(), -1, &ce);
      }
    }
    Bson kdoc = Bson::steal(&kept);
    doc = with_field(doc.get(), "credentials", [&](bson_t* b, const char* k) { bson_append_document(b, k, -1, kdoc.get()); });
  }
  if (custom) {
    doc = with_field(doc.get(), "customData", [&](bson_t* b, const char* k) { bson_append_document(b, k, -1, custom->get()); });
  }
  if (has_restrictions && common::find_field(c.body(), "authenticationRestrictions", &it) && BSON_ITER_HOLDS_ARRAY(&it)) {
    Bson r = doc_of(&it);
    if (r.empty()) {
      doc = with_field(doc.get(), "authenticationRestrictions", nullptr);
    } else {
      doc = with_field(doc.get(), "authenticationRestrictions", [&](bson_t* b, const char* k) { bson_append_array(b, k, -1, r.get()); });
    }
  }
  if (has_roles) {
    MS_RETURN_IF_ERROR(ac.users().roles_exist(roles));
    doc = with_field(doc.get(), "roles", [&](bson_t* b, const char* k) { append_roles(b, k, roles); });
  }
  return ac.users().replace_user(name, std::move(doc));
}

Status run_drop_user(AccessControl& ac, CommandContext& c, bson_t*) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "dropUser", {}));
  MS_ASSIGN_OR_RETURN(std::string user, command_string(c));
  return ac.users().remove_user(UserName{user, c.req.db});
}

Status run_drop_all_users(AccessControl& ac, CommandContext& c, bson_t* reply) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "dropAllUsersFromDatabase", {}));
  MS_ASSIGN_OR_RETURN(int64_t n, ac.users().remove_users(c.req.db));
  bson_append_int32(reply, "n", -1, static_cast<int32_t>(n));
  return Status::OK();
}

// grantRolesToUser / revokeRolesFromUser.
Status change_user_roles(AccessControl& ac, CommandContext& c, bool grant) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), c.req.name, {"roles"}));
  MS_ASSIGN_OR_RETURN(std::string user, command_string(c));
  MS_ASSIGN_OR_RETURN(auto roles, required_roles(c));
  if (roles.empty()) return bad(c.req.name + " command requires a non-empty \"roles\" array");
  UserName name{user, c.req.db};
  auto doc = ac.users().user(name);
  if (!doc) return Status(common::kUserNotFound, "Could not find user \"" + user + "\" for db \"" + c.req.db + "\"");
  MS_ASSIGN_OR_RETURN(auto current, parse_role_array(doc->get(), "roles", name.db));
  MS_RETURN_IF_ERROR(ac.users().roles_exist(roles));
  for (const auto& r : roles) {
    auto pos = std::find(current.begin(), current.end(), r);
    if (grant && pos == current.end()) current.push_back(r);
    if (!grant && pos != current.end()) current.erase(pos);
  }
  return ac.users().replace_user(name, with_field(doc->get(), "roles", [&](bson_t* b, const char* k) { append_roles(b, k, current); }));
}

// inheritedRoles / inheritedPrivileges / inheritedAuthenticationRestrictions for `roles`.
void append_inherited(AccessControl& ac, bson_t* out, const std::vector<RoleName>& roles, const PrivilegeVector* own,
                      bool privileges, bool restrictions) {
  std::vector<RoleName> inherited;
  PrivilegeVector privs;
  ac.users().resolve(roles, &inherited, privileges ? &privs : nullptr);
  std::set<RoleName> all(inherited.begin(), inherited.end());
  all.insert(roles.begin(), roles.end());
  append_roles(out, "inheritedRoles", std::vector<RoleName>(all.begin(), all.end()));
  if (privileges) {
    PrivilegeVector merged = own ? *own : PrivilegeVector{};
    add_privileges(merged, privs);
    append_privileges(out, "inheritedPrivileges", merged);
  }
  if (restrictions) {
    bson_t arr;
    bson_append_array_begin(out, "inheritedAuthenticationRestrictions", -1, &arr);
    bson_append_array_end(out, &arr);
  }
}

Status run_users_info(AccessControl& ac, CommandContext& c, bson_t* reply) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "usersInfo", {"showCredentials", "showCustomData", "showPrivileges",
                                                                 "showAuthenticationRestrictions", "filter"}));
  MS_ASSIGN_OR_RETURN(NameListArg arg, parse_name_list(c.body(), c.req.db, "user"));
  MS_ASSIGN_OR_RETURN(bool show_creds, common::get_bool(c.body(), "showCredentials", false));
  MS_ASSIGN_OR_RETURN(bool show_custom, common::get_bool(c.body(), "showCustomData", true));
  MS_ASSIGN_OR_RETURN(bool show_privs, common::get_bool(c.body(), "showPrivileges", false));
  MS_ASSIGN_OR_RETURN(bool show_restr, common::get_bool(c.body(), "showAuthenticationRestrictions", false));
  bson_iter_t fit;
  bool has_filter = common::find_field(c.body(), "filter", &fit);
  if (has_filter && !BSON_ITER_HOLDS_DOCUMENT(&fit)) return wrong_type("usersInfo", "filter", &fit, "object");
  bool exact = !arg.all_on_db && !arg.all_dbs;
  bson_t users;
  bson_append_array_begin(reply, "users", -1, &users);
  char buf[16];
  uint32_t n = 0;
  if (show_privs || show_restr) {
    if (has_filter || !exact) {
      bson_append_array_end(reply, &users);
      return Status(common::kIllegalOperation, "Privilege or restriction details require exact-match usersInfo queries");
    }
    for (const auto& [user, db] : arg.names) {
      auto doc = ac.users().user(UserName{user, db});
      if (!doc) continue;
      auto roles = parse_role_array(doc->get(), "roles", db);
      bson_t u;
      auto k = common::array_key(n++, buf);
      bson_append_document_begin(&users, k.data(), static_cast<int>(k.size()), &u);
      bson_iter_t it;
      bson_iter_init(&it, doc->get());
      while (bson_iter_next(&it)) {
        std::string_view f = bson_iter_key(&it);
        if (f == "credentials") {
          append_string_array(&u, "mechanisms", credential_mechanisms(doc->get()));
          if (!show_creds) continue;
        }
        if (f == "authenticationRestrictions" && !show_restr) continue;
        if (f == "customData" && !show_custom) continue;
        bson_append_iter(&u, bson_iter_key(&it), -1, &it);
      }
      bson_iter_t ar;
      if (show_restr && !bson_iter_init_find(&ar, doc->get(), "authenticationRestrictions")) {
        bson_t empty;
        bson_append_array_begin(&u, "authenticationRestrictions", -1, &empty);
        bson_append_array_end(&u, &empty);
      }
      append_inherited(ac, &u, roles.ok() ? *roles : std::vector<RoleName>{}, nullptr, true, true);
      bson_append_document_end(&users, &u);
    }
    bson_append_array_end(reply, &users);
    return Status::OK();
  }
  std::unique_ptr<mql::Matcher> matcher;
  mql::ExpressionContext ectx;
  ectx.version = c.server.options.version();
  Bson filter;
  if (has_filter) {
    filter = doc_of(&fit);
    auto m = mql::Matcher::parse(filter.get(), ectx);
    if (!m.ok()) {
      bson_append_array_end(reply, &users);
      return m.status();
    }
    matcher = std::move(m).value();
  }
  std::vector<Bson> docs;
  if (exact) {
    std::set<UserName> wanted;
    for (const auto& [user, db] : arg.names) wanted.insert(UserName{user, db});
    for (const auto& name : wanted) {
      if (auto d = ac.users().user(name)) docs.push_back(*d);
    }
  } else {
    docs = ac.users().users(arg.all_dbs ? "" : c.req.db);
  }
  for (const auto& doc : docs) {
    bson_t u;
    bson_init(&u);
    bson_iter_t it;
    bson_iter_init(&it, doc.get());
    while (bson_iter_next(&it)) {
      std::string_view f = bson_iter_key(&it);
      if (f == "authenticationRestrictions" || (f == "credentials" && !show_creds) || (f == "customData" && !show_custom)) {
        continue;
      }
      bson_append_iter(&u, bson_iter_key(&it), -1, &it);
    }
    append_string_array(&u, "mechanisms", credential_mechanisms(doc.get()));
    if (!matcher || matcher->matches(&u)) {
      auto k = common::array_key(n++, buf);
      bson_append_document(&users, k.data(), static_cast<int>(k.size()), &u);
    }
    bson_destroy(&u);
  }
  bson_append_array_end(reply, &users);
  return Status::OK();
}

// ---- roles ---------------------------------------------------------------------------------

struct RolesInfoFormat {
  bool privileges = false;
  bool as_user_fragment = false;
  bool restrictions = false;
};

void append_builtin_role(bson_t* arr, const std::string& key, const RoleName& r, const RolesInfoFormat& f, bool listing) {
  PrivilegeVector privs;
  add_builtin_role_privileges(r.role, r.db, privs);
  bson_t d, empty;
  bson_append_document_begin(arr, key.c_str(), -1, &d);
  if (listing) {
    // getRoleDescriptionsForDB's shape.
    common::append_utf8(&d, "role", r.role);
    common::append_utf8(&d, "db", r.db);
    bson_append_bool(&d, "isBuiltin", -1, true);
    bson_append_array_begin(&d, "roles", -1, &empty);
    bson_append_array_end(&d, &empty);
    bson_append_array_begin(&d, "inheritedRoles", -1, &empty);
    bson_append_array_end(&d, &empty);
    if (f.privileges) {
      append_privileges(&d, "privileges", privs);
      append_privileges(&d, "inheritedPrivileges", privs);
    }
    if (f.restrictions) {
      for (const char* k : {"authenticationRestrictions", "inheritedAuthenticationRestrictions"}) {
        bson_append_array_begin(&d, k, -1, &empty);
        bson_append_array_end(&d, &empty);
      }
    }
  } else {
    // getRolesDescription synthesizes {db, role, roles, privileges} and resolves it.
    common::append_utf8(&d, "db", r.db);
    common::append_utf8(&d, "role", r.role);
    bson_append_array_begin(&d, "roles", -1, &empty);
    bson_append_array_end(&d, &empty);
    if (f.privileges) append_privileges(&d, "privileges", privs);
    if (f.restrictions) {
      bson_append_array_begin(&d, "authenticationRestrictions", -1, &empty);
      bson_append_array_end(&d, &empty);
    }
    bson_append_array_begin(&d, "inheritedRoles", -1, &empty);
    bson_append_array_end(&d, &empty);
    if (f.privileges) append_privileges(&d, "inheritedPrivileges", privs);
    if (f.restrictions) {
      bson_append_array_begin(&d, "inheritedAuthenticationRestrictions", -1, &empty);
      bson_append_array_end(&d, &empty);
    }
    bson_append_bool(&d, "isBuiltin", -1, true);
  }
  bson_append_document_end(arr, &d);
}

void append_user_role(AccessControl& ac, bson_t* arr, const std::string& key, const Bson& doc, const RolesInfoFormat& f,
                      bool listing) {
  bson_t d;
  bson_append_document_begin(arr, key.c_str(), -1, &d);
  std::string db = text_field(doc.get(), "db");
  bson_iter_t it;
  bson_iter_init(&it, doc.get());
  bool saw_restrictions = false;
  while (bson_iter_next(&it)) {
    std::string_view k = bson_iter_key(&it);
    if (k == "privileges" && !f.privileges) continue;
    if (k == "authenticationRestrictions") {
      saw_restrictions = true;
      if (!f.restrictions) continue;
      bson_t wrap;
      bson_append_array_begin(&d, "authenticationRestrictions", -1, &wrap);
      bson_append_iter(&wrap, "0", -1, &it);
      bson_append_array_end(&d, &wrap);
      continue;
    }
    bson_append_iter(&d, bson_iter_key(&it), -1, &it);
  }
  if (f.restrictions && !saw_restrictions) {
    bson_t empty;
    bson_append_array_begin(&d, "authenticationRestrictions", -1, &empty);
    bson_append_array_end(&d, &empty);
  }
  if (listing) bson_append_bool(&d, "isBuiltin", -1, false);
  auto subs = parse_role_array(doc.get(), "roles", db);
  PrivilegeVector own;
  if (bson_iter_init_find(&it, doc.get(), "privileges")) {
    auto p = parse_privileges(&it, nullptr);
    if (p.ok()) own = *p;
  }
  append_inherited(ac, &d, subs.ok() ? *subs : std::vector<RoleName>{}, &own, f.privileges, f.restrictions);
  if (!listing) bson_append_bool(&d, "isBuiltin", -1, false);
  bson_append_document_end(arr, &d);
}

Status run_roles_info(AccessControl& ac, CommandContext& c, bson_t* reply) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "rolesInfo", {"showPrivileges", "showBuiltinRoles",
                                                                 "showAuthenticationRestrictions"}));
  MS_ASSIGN_OR_RETURN(NameListArg arg, parse_name_list(c.body(), c.req.db, "role"));
  RolesInfoFormat f;
  bson_iter_t it;
  if (common::find_field(c.body(), "showPrivileges", &it)) {
    if (BSON_ITER_HOLDS_UTF8(&it)) {
      if (std::string_view(bson_iter_utf8(&it, nullptr)) != "asUserFragment") {
        return bad("showPrivileges must be a boolean or the string \"asUserFragment\"");
      }
      f.as_user_fragment = true;
      f.privileges = true;
    } else {
      f.privileges = common::value_truthy(&it);
    }
  }
  MS_ASSIGN_OR_RETURN(f.restrictions, common::get_bool(c.body(), "showAuthenticationRestrictions", false));
  MS_ASSIGN_OR_RETURN(bool show_builtin, common::get_bool(c.body(), "showBuiltinRoles", false));
  if (arg.all_on_db) {
    if (f.as_user_fragment) return Status(common::kIllegalOperation, "Cannot get user fragment for all roles in a database");
    bson_t roles;
    bson_append_array_begin(reply, "roles", -1, &roles);
    uint32_t n = 0;
    if (show_builtin) {
      for (const auto& name : builtin_role_names(c.req.db)) {
        append_builtin_role(&roles, std::to_string(n++), RoleName{name, c.req.db}, f, true);
      }
    }
    for (const auto& doc : ac.users().roles(c.req.db)) append_user_role(ac, &roles, std::to_string(n++), doc, f, true);
    bson_append_array_end(reply, &roles);
    return Status::OK();
  }
  std::vector<RoleName> names;
  for (const auto& [role, db] : arg.names) names.push_back(RoleName{role, db});
  if (f.as_user_fragment) {
    bson_t frag;
    bson_append_document_begin(reply, "userFragment", -1, &frag);
    append_roles(&frag, "roles", names);
    append_inherited(ac, &frag, names, nullptr, true, f.restrictions);
    bson_append_document_end(reply, &frag);
    return Status::OK();
  }
  bson_t roles;
  bson_append_array_begin(reply, "roles", -1, &roles);
  uint32_t n = 0;
  for (const auto& r : names) {
    if (is_builtin_role(r.role, r.db)) {
      append_builtin_role(&roles, std::to_string(n++), r, f, false);
    } else if (auto doc = ac.users().role(r)) {
      append_user_role(ac, &roles, std::to_string(n++), *doc, f, false);
    }
  }
  bson_append_array_end(reply, &roles);
  return Status::OK();
}

Result<PrivilegeVector> command_privileges(const CommandContext& c, bool required) {
  bson_iter_t it;
  if (!common::find_field(c.body(), "privileges", &it)) {
    if (required) return Status(40414, "BSON field '" + c.req.name + ".privileges' is missing but a required field");
    return PrivilegeVector{};
  }
  std::vector<std::string> unknown;
  MS_ASSIGN_OR_RETURN(PrivilegeVector privs, parse_privileges(&it, &unknown));
  if (!unknown.empty()) {
    std::set<std::string> uniq(unknown.begin(), unknown.end());
    std::string msg = uniq.size() > 1 ? "Unknown action types in privilege set:" : "Unknown action type in privilege set:";
    for (const auto& a : uniq) msg += " '" + a + "',";
    msg.pop_back();
    return bad(msg);
  }
  return privs;
}

// checkOkayToGrantRolesToRole and checkOkayToGrantPrivilegesToRole.
Status check_role_graph(AccessControl& ac, const RoleName& role, const std::vector<RoleName>& subs, const PrivilegeVector& privs) {
  for (const auto& s : subs) {
    if (s == role) return Status(49, "Cannot grant role " + role.full() + " to itself.");
    if (role.db != "admin" && s.db != role.db) {
      return Status(49, "Roles on the '" + role.db + "' database cannot be granted roles from other databases");
    }
  }
  Status exist = ac.users().roles_exist(subs);
  if (!exist.ok()) return Status(exist.code(), "Cannot grant roles to '" + role.full() + "': " + exist.message());
  std::vector<RoleName> reached;
  ac.users().resolve(subs, &reached, nullptr);
  if (std::find(reached.begin(), reached.end(), role) != reached.end() ||
      std::find(subs.begin(), subs.end(), role) != subs.end()) {
    return Status(49, "Granting roles to " + role.full() + " would introduce a cycle in the role graph");
  }
  if (role.db == "admin") return Status::OK();
  for (const auto& p : privs) {
    bool same_db = (p.resource.kind == Resource::Kind::kDatabase || p.resource.kind == Resource::Kind::kExactNamespace) &&
                   p.resource.db == role.db;
    if (!same_db) {
      return Status(49, "Roles on the '" + role.db +
                            "' database cannot be granted privileges that target other databases or the cluster");
    }
  }
  return Status::OK();
}

Bson role_document(const RoleName& name, const PrivilegeVector& privs, const std::vector<RoleName>& subs) {
  bson_t d;
  bson_init(&d);
  common::append_utf8(&d, "_id", name.db + "." + name.role);
  common::append_utf8(&d, "role", name.role);
  common::append_utf8(&d, "db", name.db);
  append_privileges(&d, "privileges", privs);
  append_roles(&d, "roles", subs);
  return Bson::steal(&d);
}

Status run_create_role(AccessControl& ac, CommandContext& c, bson_t*) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "createRole", {"privileges", "roles", "authenticationRestrictions"}));
  MS_ASSIGN_OR_RETURN(std::string role, command_string(c));
  MS_ASSIGN_OR_RETURN(PrivilegeVector privs, command_privileges(c, true));
  MS_ASSIGN_OR_RETURN(auto subs, required_roles(c));
  if (role.empty()) return bad("Role name must be non-empty");
  if (c.req.db == "local") return bad("Cannot create roles in the local database");
  if (c.req.db == "$external") return bad("Cannot create roles in the $external database");
  RoleName name{role, c.req.db};
  if (is_builtin_role(name.role, name.db)) return bad("Cannot create roles with the same name as a built-in role");
  MS_RETURN_IF_ERROR(check_role_graph(ac, name, subs, privs));
  return ac.users().insert_role(name, role_document(name, privs, subs));
}

Result<std::pair<RoleName, Bson>> existing_role(AccessControl& ac, const CommandContext& c) {
  MS_ASSIGN_OR_RETURN(std::string role, command_string(c));
  RoleName name{role, c.req.db};
  if (is_builtin_role(name.role, name.db)) {
    return Status(49, name.full() + " is a built-in role and cannot be modified");
  }
  auto doc = ac.users().role(name);
  if (!doc) return Status(common::kRoleNotFound, "Role " + name.full() + " not found");
  return std::make_pair(name, *doc);
}

Status replace_role_parts(AccessControl& ac, const RoleName& name, const Bson& doc, const PrivilegeVector& privs,
                          const std::vector<RoleName>& subs) {
  MS_RETURN_IF_ERROR(check_role_graph(ac, name, subs, privs));
  Bson out = with_field(doc.get(), "privileges", [&](bson_t* b, const char* k) { append_privileges(b, k, privs); });
  out = with_field(out.get(), "roles", [&](bson_t* b, const char* k) { append_roles(b, k, subs); });
  return ac.users().replace_role(name, std::move(out));
}

Status run_update_role(AccessControl& ac, CommandContext& c, bson_t*) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "updateRole", {"privileges", "roles", "authenticationRestrictions"}));
  bson_iter_t it;
  bool has_privs = common::find_field(c.body(), "privileges", &it);
  bool has_roles = common::find_field(c.body(), "roles", &it);
  bool has_restr = common::find_field(c.body(), "authenticationRestrictions", &it);
  if (!has_privs && !has_roles && !has_restr) return bad("Must specify at least one field to update in updateRole");
  MS_ASSIGN_OR_RETURN(auto found, existing_role(ac, c));
  auto& [name, doc] = found;
  PrivilegeVector privs;
  std::vector<RoleName> subs;
  bson_iter_t pit;
  if (has_privs) {
    MS_ASSIGN_OR_RETURN(privs, command_privileges(c, true));
  } else if (bson_iter_init_find(&pit, doc.get(), "privileges")) {
    MS_ASSIGN_OR_RETURN(privs, parse_privileges(&pit, nullptr));
  }
  MS_ASSIGN_OR_RETURN(subs, parse_role_array(has_roles ? c.body() : doc.get(), "roles", name.db));
  return replace_role_parts(ac, name, doc, privs, subs);
}

// grantRolesToRole / revokeRolesFromRole / grantPrivilegesToRole / revokePrivilegesFromRole.
Status change_role(AccessControl& ac, CommandContext& c, bool roles, bool grant) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), c.req.name, {roles ? "roles" : "privileges"}));
  std::vector<RoleName> given_roles;
  PrivilegeVector given_privs;
  if (roles) {
    MS_ASSIGN_OR_RETURN(given_roles, required_roles(c));
    if (given_roles.empty()) return bad(c.req.name + " command requires a non-empty \"roles\" array");
  } else {
    MS_ASSIGN_OR_RETURN(given_privs, command_privileges(c, true));
    if (given_privs.empty()) return bad(c.req.name + " command requires a non-empty \"privileges\" array");
  }
  MS_ASSIGN_OR_RETURN(auto found, existing_role(ac, c));
  auto& [name, doc] = found;
  bson_iter_t pit;
  PrivilegeVector privs;
  if (bson_iter_init_find(&pit, doc.get(), "privileges")) {
    MS_ASSIGN_OR_RETURN(privs, parse_privileges(&pit, nullptr));
  }
  MS_ASSIGN_OR_RETURN(auto subs, parse_role_array(doc.get(), "roles", name.db));
  if (roles) {
    if (!grant) MS_RETURN_IF_ERROR(ac.users().roles_exist(given_roles));
    for (const auto& r : given_roles) {
      auto pos = std::find(subs.begin(), subs.end(), r);
      if (grant && pos == subs.end()) subs.push_back(r);
      if (!grant && pos != subs.end()) subs.erase(pos);
    }
  } else if (grant) {
    add_privileges(privs, given_privs);
  } else {
    for (const auto& g : given_privs) {
      for (auto& p : privs) {
        if (p.resource == g.resource) p.actions.remove(g.actions);
      }
    }
    privs.erase(std::remove_if(privs.begin(), privs.end(), [](const Privilege& p) { return p.actions.empty(); }), privs.end());
  }
  return replace_role_parts(ac, name, doc, privs, subs);
}

// dropRole also removes the role from every user and role that has it.
Status remove_role_references(AccessControl& ac, const std::vector<RoleName>& dropped) {
  auto strip = [&](const Bson& doc, const std::string& db) -> std::optional<Bson> {
    auto roles = parse_role_array(doc.get(), "roles", db);
    if (!roles.ok()) return std::nullopt;
    std::vector<RoleName> kept;
    for (const auto& r : *roles) {
      if (std::find(dropped.begin(), dropped.end(), r) == dropped.end()) kept.push_back(r);
    }
    if (kept.size() == roles->size()) return std::nullopt;
    return with_field(doc.get(), "roles", [&](bson_t* b, const char* k) { append_roles(b, k, kept); });
  };
  for (const auto& doc : ac.users().users("")) {
    UserName n{text_field(doc.get(), "user"), text_field(doc.get(), "db")};
    if (auto changed = strip(doc, n.db)) MS_RETURN_IF_ERROR(ac.users().replace_user(n, std::move(*changed)));
  }
  for (const auto& doc : ac.users().roles("")) {
    RoleName n{text_field(doc.get(), "role"), text_field(doc.get(), "db")};
    if (auto changed = strip(doc, n.db)) MS_RETURN_IF_ERROR(ac.users().replace_role(n, std::move(*changed)));
  }
  return Status::OK();
}

Status run_drop_role(AccessControl& ac, CommandContext& c, bson_t*) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "dropRole", {}));
  MS_ASSIGN_OR_RETURN(std::string role, command_string(c));
  RoleName name{role, c.req.db};
  if (is_builtin_role(name.role, name.db)) return Status(49, name.full() + " is a built-in role and cannot be modified");
  MS_RETURN_IF_ERROR(ac.users().remove_role(name));
  return remove_role_references(ac, {name});
}

Status run_drop_all_roles(AccessControl& ac, CommandContext& c, bson_t* reply) {
  MS_RETURN_IF_ERROR(check_known_fields(c.body(), "dropAllRolesFromDatabase", {}));
  std::vector<RoleName> dropped;
  for (const auto& doc : ac.users().roles(c.req.db)) {
    dropped.push_back(RoleName{text_field(doc.get(), "role"), c.req.db});
  }
  MS_ASSIGN_OR_RETURN(int64_t n, ac.users().remove_roles(c.req.db));
  MS_RETURN_IF_ERROR(remove_role_references(ac, dropped));
  bson_append_int32(reply, "n", -1, static_cast<int32_t>(n));
  return Status::OK();
}

}  // namespace

Result<Bson> make_user_document(const UserName& name, std::string_view password, const std::vector<RoleName>& roles,
                                const std::vector<std::string>& mechanisms, const bson_t* custom_data, bool digest_password,
                                const bson_t* restrictions) {
  bson_t d, creds;
  bson_init(&d);
  common::append_utf8(&d, "_id", name.db + "." + name.user);
  std::string uuid = random_uuid();
  bson_append_binary(&d, "userId", -1, BSON_SUBTYPE_UUID, reinterpret_cast<const uint8_t*>(uuid.data()), 16);
  common::append_utf8(&d, "user", name.user);
  common::append_utf8(&d, "db", name.db);
  bson_append_document_begin(&d, "credentials", -1, &creds);
  Status st = name.db == "$external" ? Status::OK()
                                     : append_credentials(&creds, name, password, mechanisms, digest_password);
  if (name.db == "$external") bson_append_bool(&creds, "external", -1, true);
  bson_append_document_end(&d, &creds);
  if (restrictions) bson_append_array(&d, "authenticationRestrictions", -1, restrictions);
  if (custom_data) bson_append_document(&d, "customData", -1, custom_data);
  append_roles(&d, "roles", roles);
  Bson doc = Bson::steal(&d);
  MS_RETURN_IF_ERROR(st);
  return doc;
}

void register_auth_commands(AccessControl& ac, CommandRegistry& r) {
  AccessControl* a = &ac;
  auto add = [&r](std::string name, bool requires_auth, std::string help,
                  std::function<Status(CommandContext&, bson_t*)> h, bool is_write = false) {
    CommandDef d;
    d.name = std::move(name);
    d.requires_auth = requires_auth;
    d.is_write = is_write;
    d.help = std::move(help);
    d.handler = std::move(h);
    r.add(std::move(d));
  };
  add("saslStart", false, "First step in a SASL authentication conversation.",
      [a](CommandContext& c, bson_t* reply) { return run_sasl_start(*a, c, reply); });
  add("saslContinue", false, "Subsequent steps in a SASL authentication conversation.",
      [a](CommandContext& c, bson_t* reply) { return run_sasl_continue(*a, c, reply); });
  // MONGODB-X509 is the only mechanism authenticate serves; mongosim offers none.
  add("authenticate", false, "internal", [](CommandContext&, bson_t*) { return kAuthenticationFailed; });
  add("logout", false, "de-authenticate", [a](CommandContext& c, bson_t* reply) { return run_logout(*a, c, reply); });
  add("connectionStatus", false, "Returns connection-specific information such as logged-in users and their roles",
      [a](CommandContext& c, bson_t* reply) { return run_connection_status(*a, c, reply); });
  add("createUser", true, "Adds a user to the system",
      [a](CommandContext& c, bson_t* reply) { return run_create_user(*a, c, reply); }, true);
  add("updateUser", true, "Used to update a user, for example to change its password",
      [a](CommandContext& c, bson_t* reply) { return run_update_user(*a, c, reply); }, true);
  add("dropUser", true, "Drops a single user.", [a](CommandContext& c, bson_t* reply) { return run_drop_user(*a, c, reply); },
      true);
  add("dropAllUsersFromDatabase", true, "Drops all users for a single database.",
      [a](CommandContext& c, bson_t* reply) { return run_drop_all_users(*a, c, reply); }, true);
  add("grantRolesToUser", true, "Grants roles to a user.",
      [a](CommandContext& c, bson_t*) { return change_user_roles(*a, c, true); }, true);
  add("revokeRolesFromUser", true, "Revokes roles from a user.",
      [a](CommandContext& c, bson_t*) { return change_user_roles(*a, c, false); }, true);
  add("usersInfo", true, "Returns information about users.",
      [a](CommandContext& c, bson_t* reply) { return run_users_info(*a, c, reply); });
  add("rolesInfo", true, "Returns information about roles.",
      [a](CommandContext& c, bson_t* reply) { return run_roles_info(*a, c, reply); });
  add("createRole", true, "Adds a role to the system",
      [a](CommandContext& c, bson_t* reply) { return run_create_role(*a, c, reply); }, true);
  add("updateRole", true, "Used to update a role",
      [a](CommandContext& c, bson_t* reply) { return run_update_role(*a, c, reply); }, true);
  add("dropRole", true, "Drops a single role.", [a](CommandContext& c, bson_t* reply) { return run_drop_role(*a, c, reply); },
      true);
  add("dropAllRolesFromDatabase", true, "Drops all roles from the given database.",
      [a](CommandContext& c, bson_t* reply) { return run_drop_all_roles(*a, c, reply); }, true);
  add("grantRolesToRole", true, "Grants roles to another role.",
      [a](CommandContext& c, bson_t*) { return change_role(*a, c, true, true); }, true);
  add("revokeRolesFromRole", true, "Revokes roles from another role.",
      [a](CommandContext& c, bson_t*) { return change_role(*a, c, true, false); }, true);
  add("grantPrivilegesToRole", true, "Grants privileges to a role",
      [a](CommandContext& c, bson_t*) { return change_role(*a, c, false, true); }, true);
  add("revokePrivilegesFromRole", true, "Revokes privileges from a role",
      [a](CommandContext& c, bson_t*) { return change_role(*a, c, false, false); }, true);
  add("invalidateUserCache", true, "Invalidates the in-memory cache of user information",
      [](CommandContext&, bson_t*) { return Status::OK(); });

  // hello/isMaster keep their handler and gain the authentication fields at the end of the
  // reply, where mongod's handleHelloAuth appends them.
  if (const CommandDef* hello = r.find("hello")) {
    CommandDef wrapped = *hello;
    CommandHandler inner = hello->handler;
    wrapped.handler = [a, inner](CommandContext& c, bson_t* reply) {
      MS_RETURN_IF_ERROR(inner(c, reply));
      return append_hello_auth(*a, c, reply);
    };
    r.add(std::move(wrapped));
  }
}

}  // namespace sim::auth
