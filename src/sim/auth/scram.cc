// SCRAM primitives over OpenSSL (digests, HMAC, PBKDF2, base64) and ICU (SASLprep), and the
// server conversation, step by step as sasl_scram_server_conversation.cpp parses it.
#include "sim/auth/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unicode/usprep.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <cstring>

#include "common/bson.h"

namespace sim::auth {

using common::Result;
using common::Status;

namespace {

const EVP_MD* digest_for(ScramMechanism m) { return m == ScramMechanism::kSha1 ? EVP_sha1() : EVP_sha256(); }

std::string hash(ScramMechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, digest_for(m), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hmac(ScramMechanism m, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(digest_for(m), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string salted_password(ScramMechanism m, std::string_view password, std::string_view salt, int iterations) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(digest_for(m))), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                    digest_for(m), static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a.size(), '\0');
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // RAND_bytes fails only when its DRBG cannot be seeded; try the private DRBG once more
    // rather than use a predictable value.
    RAND_priv_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  }
  return out;
}

std::vector<std::string> split_skip_empty(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

Status bad(std::string msg) { return Status(common::kBadValue, std::move(msg)); }

}  // namespace

const char* mechanism_name(ScramMechanism m) { return m == ScramMechanism::kSha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256"; }

std::optional<ScramMechanism> mechanism_from_name(std::string_view name) {
  if (name == "SCRAM-SHA-1") return ScramMechanism::kSha1;
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  return std::nullopt;
}

void ScramCredentials::append_to(bson_t* doc, const char* key) const {
  bson_t c;
  bson_append_document_begin(doc, key, -1, &c);
  bson_append_int32(&c, "iterationCount", -1, iteration_count);
  common::append_utf8(&c, "salt", salt);
  common::append_utf8(&c, "storedKey", stored_key);
  common::append_utf8(&c, "serverKey", server_key);
  bson_append_document_end(doc, &c);
}

Result<ScramCredentials> ScramCredentials::from_bson(const bson_t* doc) {
  ScramCredentials c;
  MS_ASSIGN_OR_RETURN(int64_t n, common::get_int(doc, "iterationCount", 0));
  MS_ASSIGN_OR_RETURN(c.salt, common::get_string(doc, "salt", ""));
  MS_ASSIGN_OR_RETURN(c.stored_key, common::get_string(doc, "storedKey", ""));
  MS_ASSIGN_OR_RETURN(c.server_key, common::get_string(doc, "serverKey", ""));
  if (n <= 0 || n > (1 << 30) || c.salt.empty() || c.stored_key.empty() || c.server_key.empty()) {
    return Status(common::kUnsupportedFormat, "corrupted SCRAM credentials");
  }
  c.iteration_count = static_cast<int>(n);
  return c;
}

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

std::optional<std::string> base64_decode(std::string_view b64) {
  if (b64.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  for (size_t i = 0; i < b64.size(); ++i) {
    char c = b64[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      if (i + 2 < b64.size()) return std::nullopt;  // padding only in the last two places
      ++pad;
    } else if (!alpha || pad > 0) {
      return std::nullopt;
    }
  }
  if (b64.empty()) return std::string();
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string mongo_password_digest(std::string_view user, std::string_view password) {
  std::string in = std::string(user) + ":mongo:" + std::string(password);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_md5(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

Result<std::string> saslprep(std::string_view input) {
  UErrorCode err = U_ZERO_ERROR;
  // The profile is immutable once opened and safe to share between threads.
  static UStringPrepProfile* profile = [] {
    UErrorCode e = U_ZERO_ERROR;
    UStringPrepProfile* p = usprep_openByType(USPREP_RFC4013_SASLPREP, &e);
    return U_FAILURE(e) ? nullptr : p;
  }();
  if (!profile) return Status(common::kInternalError, "SASLprep profile is unavailable");
  int32_t ulen = 0;
  u_strFromUTF8(nullptr, 0, &ulen, input.data(), static_cast<int32_t>(input.size()), &err);
  if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) {
    return Status(common::kBadValue, std::string("Error preparing SASL string: ") + u_errorName(err));
  }
  err = U_ZERO_ERROR;
  std::vector<UChar> src(static_cast<size_t>(ulen) + 1);
  u_strFromUTF8(src.data(), ulen + 1, nullptr, input.data(), static_cast<int32_t>(input.size()), &err);
  if (U_FAILURE(err)) return Status(common::kBadValue, std::string("Error preparing SASL string: ") + u_errorName(err));
  int32_t cap = ulen * 4 + 16;
  std::vector<UChar> prepared(static_cast<size_t>(cap));
  int32_t plen = usprep_prepare(profile, src.data(), ulen, prepared.data(), cap, USPREP_DEFAULT, nullptr, &err);
  if (U_FAILURE(err)) return Status(common::kBadValue, std::string("Error preparing SASL string: ") + u_errorName(err));
  int32_t olen = 0;
  u_strToUTF8(nullptr, 0, &olen, prepared.data(), plen, &err);
  err = U_ZERO_ERROR;
  std::string out(static_cast<size_t>(olen), '\0');
  u_strToUTF8(out.data(), olen, nullptr, prepared.data(), plen, &err);
  if (U_FAILURE(err) && err != U_STRING_NOT_TERMINATED_WARNING) {
    return Status(common::kBadValue, std::string("Error preparing SASL string: ") + u_errorName(err));
  }
  return out;
}

Result<std::string> prepare_password(ScramMechanism m, std::string_view user, std::string_view password) {
  if (m == ScramMechanism::kSha1) return mongo_password_digest(user, password);
  return saslprep(password);
}

ScramCredentials make_credentials_with_salt(ScramMechanism m, std::string_view prepared_password,
                                            std::string_view raw_salt, int iterations) {
  std::string salted = salted_password(m, prepared_password, raw_salt, iterations);
  ScramCredentials c;
  c.iteration_count = iterations;
  c.salt = base64_encode(raw_salt);
  c.stored_key = base64_encode(hash(m, hmac(m, salted, "Client Key")));
  c.server_key = base64_encode(hmac(m, salted, "Server Key"));
  return c;
}

ScramCredentials make_credentials(ScramMechanism m, std::string_view prepared_password, int iterations) {
  // mechanism_scram.h: the salt is the hash length minus 4 bytes.
  size_t salt_len = m == ScramMechanism::kSha1 ? 16 : 28;
  return make_credentials_with_salt(m, prepared_password, random_bytes(salt_len), iterations);
}

Result<ScramServerConversation::StepResult> ScramServerConversation::step(std::string_view input, ScramUserLookup& users) {
  ++step_;
  const int total = skip_empty_exchange_ ? 2 : 3;
  if (step_ > total) {
    return Status(common::kAuthenticationFailed, "Invalid SCRAM authentication step: " + std::to_string(step_));
  }
  if (step_ == 1) return first(input, users);
  if (step_ == 2) return second(input);
  return StepResult{true, ""};
}

Result<ScramServerConversation::StepResult> ScramServerConversation::first(std::string_view input, ScramUserLookup& users) {
  auto bad_count = [](size_t got) {
    return bad("Incorrect number of arguments for first SCRAM client message, got " + std::to_string(got) +
               " expected at least 3");
  };
  size_t c1 = input.find(',');
  if (c1 == std::string_view::npos) return bad_count(1);
  std::string_view cbind = input.substr(0, c1);
  if (cbind.rfind("p=", 0) == 0) return bad("Server does not support channel binding");
  if (cbind != "y" && cbind != "n") return bad("Incorrect SCRAM client message prefix: " + std::string(cbind));
  size_t c2 = input.find(',', c1 + 1);
  if (c2 == std::string_view::npos) return bad_count(2);
  std::string_view authzid = input.substr(c1 + 1, c2 - c1 - 1);
  if (!authzid.empty()) {
    if (authzid.rfind("a=", 0) != 0) return bad("Incorrect SCRAM authzid: " + std::string(authzid));
    authzid.remove_prefix(2);
  }
  std::string_view bare = input.substr(c2 + 1);
  if (bare.rfind("m=", 0) == 0) return bad("SCRAM mandatory extensions are not supported");
  auto parts = split_skip_empty(bare);
  if (parts.size() < 2) return bad_count(parts.size() + 2);
  if (parts[0].rfind("n=", 0) != 0 || parts[0].size() < 3) return bad("Invalid SCRAM user name: " + parts[0]);
  principal_ = parts[0].substr(2);
  replace_all(principal_, "=2C", ",");
  replace_all(principal_, "=3D", "=");
  if (!authzid.empty() && principal_ != authzid) {
    return bad("SCRAM user name " + principal_ + " does not match authzid " + std::string(authzid));
  }
  if (parts[1].rfind("r=", 0) != 0 || parts[1].size() < 6) return bad("Invalid SCRAM client nonce: " + parts[1]);
  std::string client_nonce = parts[1].substr(2);

  auto creds = users.credentials(principal_, mech_);
  if (!creds) return Status(common::kUserNotFound, "Could not find user \"" + principal_ + "\"");
  creds_ = *creds;

  nonce_ = client_nonce + (fixed_nonce_.empty() ? base64_encode(random_bytes(24)) : fixed_nonce_);
  std::string out = "r=" + nonce_ + ",s=" + creds_.salt + ",i=" + std::to_string(creds_.iteration_count);
  auth_message_ = std::string(bare) + "," + out;
  return StepResult{false, out};
}

Result<ScramServerConversation::StepResult> ScramServerConversation::second(std::string_view input) {
  auto bad_count = [](size_t got) {
    return bad("Incorrect number of arguments for second SCRAM client message, got " + std::to_string(got) +
               " expected at least 3");
  };
  size_t last = input.rfind(',');
  if (last == std::string_view::npos) return bad_count(1);
  std::string_view without_proof = input.substr(0, last);
  auth_message_ += "," + std::string(without_proof);
  std::string_view last_field = input.substr(last + 1);
  if (last_field.size() < 3 || last_field.rfind("p=", 0) != 0) {
    return bad("Incorrect SCRAM ClientProof: " + std::string(last_field));
  }
  auto parts = split_skip_empty(without_proof);
  if (parts.size() < 2) return bad_count(parts.size() + 1);
  if (parts[0].rfind("c=", 0) != 0 || parts[0].size() < 3) return bad("Incorrect SCRAM channel binding: " + parts[0]);
  if (parts[1].rfind("r=", 0) != 0 || parts[1].size() < 6) return bad("Incorrect SCRAM client|server nonce: " + parts[1]);
  if (parts[1].substr(2) != nonce_) {
    return bad("Unmatched SCRAM nonce received from client in second step, expected " + nonce_ + " but received " +
               parts[1].substr(2));
  }
  auto proof = base64_decode(last_field.substr(2));
  auto stored_key = base64_decode(creds_.stored_key);
  auto server_key = base64_decode(creds_.server_key);
  if (!proof || !stored_key || !server_key || proof->size() != stored_key->size()) {
    return Status(common::kAuthenticationFailed, "SCRAM authentication failed, storedKey mismatch");
  }
  std::string client_key = xor_bytes(*proof, hmac(mech_, *stored_key, auth_message_));
  std::string computed = hash(mech_, client_key);
  if (CRYPTO_memcmp(computed.data(), stored_key->data(), computed.size()) != 0) {
    return Status(common::kAuthenticationFailed, "SCRAM authentication failed, storedKey mismatch");
  }
  verified_ = true;
  return StepResult{skip_empty_exchange_, "v=" + base64_encode(hmac(mech_, *server_key, auth_message_))};
}

ScramClientConversation::ScramClientConversation(ScramMechanism m, std::string user, std::string password,
                                                 std::string client_nonce)
    : mech_(m), user_(std::move(user)), password_(std::move(password)), nonce_(std::move(client_nonce)) {}

std::string ScramClientConversation::client_first() const {
  std::string name = user_;
  replace_all(name, "=", "=3D");
  replace_all(name, ",", "=2C");
  return "n,,n=" + name + ",r=" + nonce_;
}

Result<std::string> ScramClientConversation::client_final(std::string_view server_first) {
  auto parts = split_skip_empty(server_first);
  if (parts.size() < 3 || parts[0].rfind("r=", 0) != 0 || parts[1].rfind("s=", 0) != 0 || parts[2].rfind("i=", 0) != 0) {
    return bad("malformed server-first message");
  }
  std::string nonce = parts[0].substr(2);
  if (nonce.rfind(nonce_, 0) != 0) return bad("server nonce does not extend the client nonce");
  auto salt = base64_decode(parts[1].substr(2));
  int iterations = std::atoi(parts[2].c_str() + 2);
  if (!salt || iterations <= 0) return bad("malformed server-first message");
  MS_ASSIGN_OR_RETURN(std::string prepared, prepare_password(mech_, user_, password_));
  std::string salted = salted_password(mech_, prepared, *salt, iterations);
  std::string client_key = hmac(mech_, salted, "Client Key");
  std::string stored_key = hash(mech_, client_key);
  std::string without_proof = "c=biws,r=" + nonce;
  std::string first_bare = client_first().substr(3);
  std::string auth_message = first_bare + "," + std::string(server_first) + "," + without_proof;
  std::string proof = xor_bytes(client_key, hmac(mech_, stored_key, auth_message));
  server_signature_ = base64_encode(hmac(mech_, hmac(mech_, salted, "Server Key"), auth_message));
  return without_proof + ",p=" + base64_encode(proof);
}

bool ScramClientConversation::verify_server_final(std::string_view server_final) const {
  return server_final == "v=" + server_signature_;
}

}  // namespace sim::auth
