// SCRAM-SHA-1 and SCRAM-SHA-256 as mongod speaks them (RFC 5802, RFC 7677;
// mongodb-reference.md §10.2; the server's sasl_scram_server_conversation.cpp and
// mechanism_scram.h): stored credentials, the password digests, SASLprep, and the server
// side of the conversation. Internal to sim/auth (tests use it directly).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bson/bson.h>

#include "common/status.h"

namespace sim::auth {

enum class ScramMechanism { kSha1, kSha256 };

const char* mechanism_name(ScramMechanism m);  // "SCRAM-SHA-1" / "SCRAM-SHA-256"
std::optional<ScramMechanism> mechanism_from_name(std::string_view name);

// One mechanism's entry in a user's `credentials` document (base64 strings, as stored).
struct ScramCredentials {
  int iteration_count = 0;
  std::string salt;        // base64
  std::string stored_key;  // base64
  std::string server_key;  // base64
  // {iterationCount, salt, storedKey, serverKey}
  void append_to(bson_t* doc, const char* key) const;
  static common::Result<ScramCredentials> from_bson(const bson_t* doc);
};

// The server's iteration defaults (scramIterationCount / scramSHA256IterationCount).
constexpr int kDefaultSha1Iterations = 10000;
constexpr int kDefaultSha256Iterations = 15000;

// hex(MD5(user + ":mongo:" + password)): the SCRAM-SHA-1 "password" (createPasswordDigest).
std::string mongo_password_digest(std::string_view user, std::string_view password);
// RFC 4013 SASLprep (ICU's usprep RFC 4013 profile, unassigned code points rejected).
common::Result<std::string> saslprep(std::string_view input);
// The password the mechanism hashes: the MD5 digest for SHA-1, SASLprep for SHA-256.
common::Result<std::string> prepare_password(ScramMechanism m, std::string_view user, std::string_view password);

// Credentials with a fresh random salt (16 bytes for SHA-1, 28 for SHA-256, as mongod).
ScramCredentials make_credentials(ScramMechanism m, std::string_view prepared_password, int iterations);
// Same, from a given raw salt (test vectors).
ScramCredentials make_credentials_with_salt(ScramMechanism m, std::string_view prepared_password,
                                            std::string_view raw_salt, int iterations);

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view b64);

// Looks up a user's credentials for the mechanism; nullopt = unknown user or no such
// credentials. Called once, in the first step.
struct ScramUserLookup {
  virtual ~ScramUserLookup() = default;
  virtual std::optional<ScramCredentials> credentials(const std::string& user, ScramMechanism m) = 0;
};

// The server side of one conversation. Every failure is reported with its detailed reason;
// the command layer answers every one of them with 18 "Authentication failed." as mongod.
class ScramServerConversation {
 public:
  ScramServerConversation(ScramMechanism m, bool skip_empty_exchange)
      : mech_(m), skip_empty_exchange_(skip_empty_exchange) {}

  struct StepResult {
    bool done = false;
    std::string payload;
  };
  common::Result<StepResult> step(std::string_view input, ScramUserLookup& users);

  // Set after the client-first message: the (decoded) user name it named.
  const std::string& principal() const { return principal_; }
  // The proof was verified (the conversation may still need the empty final exchange).
  bool proof_verified() const { return verified_; }
  ScramMechanism mechanism() const { return mech_; }
  // For tests: a fixed server nonce instead of a random one.
  void set_server_nonce_for_test(std::string nonce) { fixed_nonce_ = std::move(nonce); }

 private:
  common::Result<StepResult> first(std::string_view input, ScramUserLookup& users);
  common::Result<StepResult> second(std::string_view input);

  ScramMechanism mech_;
  bool skip_empty_exchange_;
  int step_ = 0;
  std::string principal_;
  std::string nonce_;
  std::string auth_message_;
  ScramCredentials creds_;
  bool verified_ = false;
  std::string fixed_nonce_;
};

// The client side, for tests and for the --admin-user self check: produces client-first,
// and client-final from server-first; verifies server-final.
class ScramClientConversation {
 public:
  ScramClientConversation(ScramMechanism m, std::string user, std::string password, std::string client_nonce);
  std::string client_first() const;
  common::Result<std::string> client_final(std::string_view server_first);
  bool verify_server_final(std::string_view server_final) const;

 private:
  ScramMechanism mech_;
  std::string user_, password_, nonce_;
  std::string server_signature_;
};

}  // namespace sim::auth
