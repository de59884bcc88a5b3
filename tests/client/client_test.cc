#include "client/client.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

using client::ErrorClass;

TEST(RedactUri, HidesPasswordsKeepsEverythingElse) {
  EXPECT_EQ(client::redact_uri("mongodb://alice:s3cret@h1:27017,h2/?replicaSet=rs0"),
            "mongodb://alice:****@h1:27017,h2/?replicaSet=rs0");
  EXPECT_EQ(client::redact_uri("mongodb+srv://bob:p%40ss@cluster0.example.net/db"),
            "mongodb+srv://bob:****@cluster0.example.net/db");
  EXPECT_EQ(client::redact_uri("mongodb://h:27017/?tls=true"), "mongodb://h:27017/?tls=true");
  EXPECT_EQ(client::redact_uri("mongodb://carol@h/"), "mongodb://carol@h/");
  EXPECT_EQ(client::redact_uri("failed: mongodb://u:pw@a and mongodb://v:pw2@b"),
            "failed: mongodb://u:****@a and mongodb://v:****@b");
}

TEST(MakeUri, AppliesCredentialsTlsAndTimeouts) {
  client::ConnectSpec spec;
  spec.uri = "mongodb://h:27017/?replicaSet=rs0";
  spec.username = "alice";
  spec.auth_source = "admin";
  spec.password = "pw";
  spec.tls = true;
  spec.tls_ca_file = "/ca.pem";
  spec.connect_timeout_ms = 1234;
  auto uri = client::make_uri(spec);
  ASSERT_TRUE(uri.ok()) << uri.status().message();
  EXPECT_STREQ(mongoc_uri_get_username(*uri), "alice");
  EXPECT_STREQ(mongoc_uri_get_password(*uri), "pw");
  EXPECT_STREQ(mongoc_uri_get_auth_source(*uri), "admin");
  EXPECT_TRUE(mongoc_uri_get_tls(*uri));
  EXPECT_STREQ(mongoc_uri_get_option_as_utf8(*uri, MONGOC_URI_TLSCAFILE, ""), "/ca.pem");
  EXPECT_EQ(mongoc_uri_get_option_as_int32(*uri, MONGOC_URI_CONNECTTIMEOUTMS, 0), 1234);
  EXPECT_EQ(mongoc_uri_get_option_as_int32(*uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0), 1234);
  mongoc_uri_destroy(*uri);
  spec.uri = "postgres://x";
  auto bad = client::make_uri(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), common::kBadValue);
}

common::Status st(int code, std::string label = "") {
  common::Status s(code, "x");
  if (!label.empty()) s.with_label(label);
  return s;
}

TEST(Classify, ConnectionTransientFatal) {
  for (int c : {6, 7, 89, 9001, 10107, 13435, 13436, 189, 11602, 91, 11600}) {
    EXPECT_EQ(client::classify(st(c)), ErrorClass::kConnection) << c;
  }
  for (int c : {112, 50, 262, 24, 64, 43}) EXPECT_EQ(client::classify(st(c)), ErrorClass::kTransient) << c;
  EXPECT_EQ(client::classify(st(11000, "RetryableWriteError")), ErrorClass::kTransient);
  EXPECT_EQ(client::classify(st(251, "TransientTransactionError")), ErrorClass::kTransient);
  for (int c : {18, 13, 2, 286, 26, 11000, 121}) EXPECT_EQ(client::classify(st(c)), ErrorClass::kFatal) << c;
}

bson_error_t error(uint32_t domain, uint32_t code, const char* msg) {
  bson_error_t e;
  e.domain = domain;
  e.code = code;
  std::strncpy(e.message, msg, sizeof e.message - 1);
  e.message[sizeof e.message - 1] = '\0';
  return e;
}

TEST(StatusFromError, ServerErrorsKeepCodeAndLabels) {
  auto reply = common::Bson::from_json(R"({"ok": 0, "code": 112, "errmsg": "conflict", "errorLabels": ["TransientTransactionError"]})")
                   .value();
  common::Status s = client::status_from_error(error(MONGOC_ERROR_SERVER, 112, "WriteConflict"), reply.get());
  EXPECT_EQ(s.code(), common::kWriteConflict);
  EXPECT_TRUE(s.has_label("TransientTransactionError"));
}

TEST(StatusFromError, DriverErrorsGetMongoCodes) {
  EXPECT_EQ(client::status_from_error(error(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_NAME_RESOLUTION, "x"), nullptr).code(),
            common::kHostNotFound);
  EXPECT_EQ(client::status_from_error(error(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, "x"), nullptr).code(),
            common::kHostUnreachable);
  EXPECT_EQ(client::status_from_error(error(MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, "socket timed out"), nullptr).code(),
            common::kNetworkTimeout);
  EXPECT_EQ(client::status_from_error(error(MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_AUTHENTICATE, "Authentication failed."),
                                      nullptr)
                .code(),
            common::kAuthenticationFailed);
  common::Status sel = client::status_from_error(
      error(MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE,
            "No suitable servers found: [connection refused calling hello on 'mongodb://u:pw@h:1']"),
      nullptr);
  EXPECT_EQ(client::classify(sel), ErrorClass::kConnection);
  EXPECT_EQ(sel.message().find("pw@"), std::string::npos);
}

}  // namespace
