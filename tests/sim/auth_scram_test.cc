// SCRAM primitives and the server conversation against published vectors: RFC 5802
// (SCRAM-SHA-1), RFC 7677 (SCRAM-SHA-256), the MongoDB auth spec's SCRAM-SHA-1 example,
// and RFC 4013 SASLprep examples.
#include <gtest/gtest.h>

#include <map>

#include "sim/auth/scram.h"

namespace {

using sim::auth::ScramClientConversation;
using sim::auth::ScramCredentials;
using sim::auth::ScramMechanism;
using sim::auth::ScramServerConversation;

class FixedUsers : public sim::auth::ScramUserLookup {
 public:
  std::map<std::pair<std::string, ScramMechanism>, ScramCredentials> creds;
  std::optional<ScramCredentials> credentials(const std::string& user, ScramMechanism m) override {
    auto it = creds.find({user, m});
    if (it == creds.end()) return std::nullopt;
    return it->second;
  }
};

std::string raw(const std::string& b64) { return sim::auth::base64_decode(b64).value(); }

TEST(AuthScram, Rfc7677Sha256ConversationMatchesTheVector) {
  FixedUsers users;
  users.creds[{"user", ScramMechanism::kSha256}] =
      sim::auth::make_credentials_with_salt(ScramMechanism::kSha256, "pencil", raw("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  ScramServerConversation server(ScramMechanism::kSha256, true);
  server.set_server_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  auto first = server.step("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", users);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_FALSE(first->done);
  EXPECT_EQ(first->payload, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  auto final = server.step(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", users);
  ASSERT_TRUE(final.ok()) << final.status().to_string();
  EXPECT_TRUE(final->done);
  EXPECT_EQ(final->payload, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  EXPECT_EQ(server.principal(), "user");
}

TEST(AuthScram, Rfc5802Sha1ConversationMatchesTheVector) {
  FixedUsers users;
  users.creds[{"user", ScramMechanism::kSha1}] =
      sim::auth::make_credentials_with_salt(ScramMechanism::kSha1, "pencil", raw("QSXCR+Q6sek8bf92"), 4096);
  ScramServerConversation server(ScramMechanism::kSha1, true);
  server.set_server_nonce_for_test("3rfcNHYJY1ZVvWVs7j");
  auto first = server.step("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", users);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->payload, "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  auto final = server.step("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", users);
  ASSERT_TRUE(final.ok()) << final.status().to_string();
  EXPECT_EQ(final->payload, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

TEST(AuthScram, MongoPasswordDigestIsMd5OfUserMongoPassword) {
  EXPECT_EQ(sim::auth::mongo_password_digest("user", "pencil"), "1c33006ec1ffd90f9cadcbcc0e118200");
}

TEST(AuthScram, MongoSpecSha1ExampleUsesTheDigestedPassword) {
  FixedUsers users;
  auto prepared = sim::auth::prepare_password(ScramMechanism::kSha1, "user", "pencil");
  ASSERT_TRUE(prepared.ok());
  users.creds[{"user", ScramMechanism::kSha1}] =
      sim::auth::make_credentials_with_salt(ScramMechanism::kSha1, *prepared, raw("rQ9ZY3MntBeuP3E1TDVC4w=="), 10000);
  ScramServerConversation server(ScramMechanism::kSha1, false);
  server.set_server_nonce_for_test("Ho+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE");
  ASSERT_TRUE(server.step("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", users).ok());
  auto final =
      server.step("c=biws,r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,p=MC2T8BvbmWRckDw8oWl5IVghwCY=", users);
  ASSERT_TRUE(final.ok()) << final.status().to_string();
  EXPECT_FALSE(final->done);  // without skipEmptyExchange one empty round follows
  EXPECT_EQ(final->payload, "v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=");
  auto last = server.step("", users);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->done);
  EXPECT_EQ(last->payload, "");
  EXPECT_FALSE(server.step("", users).ok());
}

TEST(AuthScram, WrongPasswordFailsAtTheProof) {
  FixedUsers users;
  for (auto m : {ScramMechanism::kSha1, ScramMechanism::kSha256}) {
    auto prepared = sim::auth::prepare_password(m, "alice", "right");
    users.creds[{"alice", m}] = sim::auth::make_credentials(m, *prepared, 4096);
    ScramClientConversation client(m, "alice", "wrong", "clientnonce123");
    ScramServerConversation server(m, true);
    auto first = server.step(client.client_first(), users);
    ASSERT_TRUE(first.ok());
    auto cf = client.client_final(first->payload);
    ASSERT_TRUE(cf.ok());
    auto final = server.step(*cf, users);
    EXPECT_FALSE(final.ok());
    EXPECT_FALSE(server.proof_verified());
  }
}

TEST(AuthScram, ClientAndServerAgreeForBothMechanisms) {
  FixedUsers users;
  for (auto m : {ScramMechanism::kSha1, ScramMechanism::kSha256}) {
    auto prepared = sim::auth::prepare_password(m, "a=b,c", "s3cr\xC3\xA9t");
    users.creds[{"a=b,c", m}] = sim::auth::make_credentials(m, *prepared, 4096);
    ScramClientConversation client(m, "a=b,c", "s3cr\xC3\xA9t", "nonce-abcdef");
    ScramServerConversation server(m, true);
    auto first = server.step(client.client_first(), users);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    EXPECT_EQ(server.principal(), "a=b,c");  // =3D and =2C decoded
    auto cf = client.client_final(first->payload);
    ASSERT_TRUE(cf.ok());
    auto final = server.step(*cf, users);
    ASSERT_TRUE(final.ok()) << final.status().to_string();
    EXPECT_TRUE(client.verify_server_final(final->payload));
  }
}

TEST(AuthScram, MalformedMessagesAreRejectedWithTheServerReasons) {
  FixedUsers users;
  users.creds[{"u", ScramMechanism::kSha256}] = sim::auth::make_credentials(ScramMechanism::kSha256, "p", 4096);
  struct Case {
    std::string input, reason;
  };
  for (const Case& c : std::vector<Case>{
           {"garbage", "Incorrect number of arguments for first SCRAM client message, got 1 expected at least 3"},
           {"p=tls-unique,,n=u,r=abcdef", "Server does not support channel binding"},
           {"x,,n=u,r=abcdef", "Incorrect SCRAM client message prefix: x"},
           {"n,,m=ext,n=u,r=abcdef", "SCRAM mandatory extensions are not supported"},
           {"n,,u=u,r=abcdef", "Invalid SCRAM user name: u=u"},
           {"n,,n=u,r=abc", "Invalid SCRAM client nonce: r=abc"},
           {"n,a=v,n=u,r=abcdef", "SCRAM user name u does not match authzid v"},
       }) {
    ScramServerConversation server(ScramMechanism::kSha256, true);
    auto r = server.step(c.input, users);
    ASSERT_FALSE(r.ok()) << c.input;
    EXPECT_EQ(r.status().message(), c.reason);
  }
  ScramServerConversation unknown(ScramMechanism::kSha256, true);
  EXPECT_EQ(unknown.step("n,,n=nobody,r=abcdef", users).status().code(), common::kUserNotFound);
  ScramServerConversation nonce(ScramMechanism::kSha256, true);
  ASSERT_TRUE(nonce.step("n,,n=u,r=abcdef", users).ok());
  auto bad = nonce.step("c=biws,r=abcdefXYZ,p=AAAA", users);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Unmatched SCRAM nonce"), std::string::npos);
}

TEST(AuthScram, SaslprepFollowsRfc4013) {
  EXPECT_EQ(sim::auth::saslprep("I\xC2\xADX").value(), "IX");   // soft hyphen maps to nothing
  EXPECT_EQ(sim::auth::saslprep("user").value(), "user");
  EXPECT_EQ(sim::auth::saslprep("USER").value(), "USER");       // no case folding
  EXPECT_EQ(sim::auth::saslprep("\xC2\xAA").value(), "a");      // NFKC
  EXPECT_EQ(sim::auth::saslprep("\xE2\x85\xA8").value(), "IX"); // ROMAN NUMERAL NINE
  EXPECT_EQ(sim::auth::saslprep("a\xC2\xA0" "b").value(), "a b");  // non-ASCII space maps to space
  EXPECT_FALSE(sim::auth::saslprep("\x07").ok());                // prohibited control character
  EXPECT_FALSE(sim::auth::saslprep("\xD8\xA7" "1").ok());        // RandALCat not at both ends
}

TEST(AuthScram, Base64RejectsBadInput) {
  EXPECT_EQ(sim::auth::base64_encode("pencil"), "cGVuY2ls");
  EXPECT_EQ(sim::auth::base64_decode("cGVuY2ls").value(), "pencil");
  EXPECT_EQ(sim::auth::base64_decode("cGVuY2k=").value(), "penci");
  EXPECT_FALSE(sim::auth::base64_decode("cGVuY2").has_value());
  EXPECT_FALSE(sim::auth::base64_decode("cG=uY2ls").has_value());
  EXPECT_FALSE(sim::auth::base64_decode("cGVu*2ls").has_value());
}

TEST(AuthScram, StoredCredentialsRoundTrip) {
  auto c = sim::auth::make_credentials(ScramMechanism::kSha256, "pw", 15000);
  EXPECT_EQ(sim::auth::base64_decode(c.salt)->size(), 28u);
  EXPECT_EQ(sim::auth::make_credentials(ScramMechanism::kSha1, "pw", 10000).iteration_count, 10000);
  bson_t doc;
  bson_init(&doc);
  c.append_to(&doc, "x");
  bson_iter_t it, child;
  ASSERT_TRUE(bson_iter_init_find(&it, &doc, "x"));
  uint32_t len = 0;
  const uint8_t* data = nullptr;
  bson_iter_document(&it, &len, &data);
  bson_t inner;
  bson_init_static(&inner, data, len);
  ASSERT_TRUE(bson_iter_init(&child, &inner) && bson_iter_next(&child));
  EXPECT_STREQ(bson_iter_key(&child), "iterationCount");
  auto back = ScramCredentials::from_bson(&inner);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->stored_key, c.stored_key);
  bson_destroy(&doc);
}

}  // namespace
