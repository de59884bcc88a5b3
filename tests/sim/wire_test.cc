// Unit tests of mongosim's message framing: OP_MSG sections and checksums, OP_QUERY,
// OP_COMPRESSED round trips for every compressor, and rejection of malformed input.
#include "sim/server/wire.h"

#include <gtest/gtest.h>

#include <cstring>

#include "sim/raw_wire_client.h"

namespace {

using namespace sim::server;
using simtest::doc;

void set_i32(std::string& m, size_t at, int32_t v) { std::memcpy(m.data() + at, &v, 4); }

TEST(WireCrc32c, MatchesTheCastagnoliCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(WireOpMsg, BodyAndDocumentSequenceRoundTrip) {
  auto body = doc(R"({"insert": "c", "$db": "test"})");
  DocumentSequence seq{"documents", {}};
  seq.documents.push_back(doc(R"({"_id": 1})"));
  seq.documents.push_back(doc(R"({"_id": 2, "a": "x"})"));
  std::string msg = encode_op_msg(body.get(), 7, 0, 0, {seq});
  auto m = decode_message(msg);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->header.op_code, kOpMsg);
  EXPECT_EQ(m->header.request_id, 7);
  auto parsed = parse_op_msg(*m);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->body.json(), body.json());
  ASSERT_EQ(parsed->sequences.size(), 1u);
  EXPECT_EQ(parsed->sequences[0].identifier, "documents");
  ASSERT_EQ(parsed->sequences[0].documents.size(), 2u);
  EXPECT_EQ(parsed->sequences[0].documents[1].json(), seq.documents[1].json());
}

TEST(WireOpMsg, ChecksumIsProducedAndVerified) {
  auto body = doc(R"({"ping": 1, "$db": "admin"})");
  std::string msg = encode_op_msg(body.get(), 1, 0, kFlagChecksumPresent);
  auto m = decode_message(msg);
  ASSERT_TRUE(m.ok());
  auto ok = parse_op_msg(*m);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_TRUE(ok->checksum_present());

  std::string bad = msg;
  bad[bad.size() - 10] ^= 0x01;  // a byte inside the body
  auto m2 = decode_message(bad);
  ASSERT_TRUE(m2.ok());
  auto r = parse_op_msg(*m2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), kChecksumMismatch);
}

TEST(WireOpMsg, UnknownRequiredFlagIsIllegal) {
  auto body = doc(R"({"ping": 1, "$db": "admin"})");
  std::string msg = encode_op_msg(body.get(), 1, 0, 1u << 4);
  auto r = parse_op_msg(*decode_message(msg));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), kIllegalOpMsgFlag);
}

TEST(WireOpMsg, UnknownOptionalFlagIsIgnored) {
  auto body = doc(R"({"ping": 1, "$db": "admin"})");
  std::string msg = encode_op_msg(body.get(), 1, 0, kFlagExhaustAllowed | (1u << 20));
  EXPECT_TRUE(parse_op_msg(*decode_message(msg)).ok());
}

TEST(WireOpMsg, TruncatedBodyIsInvalidBson) {
  auto body = doc(R"({"ping": 1, "$db": "admin"})");
  std::string msg = encode_op_msg(body.get(), 1, 0);
  msg.resize(msg.size() - 3);
  set_i32(msg, 0, static_cast<int32_t>(msg.size()));
  auto r = parse_op_msg(*decode_message(msg));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::kInvalidBSON);
}

TEST(WireOpMsg, MissingBodyIsAProtocolError) {
  std::string msg = encode_op_msg(doc("{}").get(), 1, 0, 0, {DocumentSequence{"documents", {doc(R"({"a":1})")}}});
  // Drop the kind-0 section (flags at 16..19, kind byte at 20, empty doc 21..25).
  msg.erase(20, 6);
  set_i32(msg, 0, static_cast<int32_t>(msg.size()));
  auto r = parse_op_msg(*decode_message(msg));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::kProtocolError);
}

TEST(WireOpMsg, UnknownSectionKindIsAProtocolError) {
  std::string msg = encode_op_msg(doc(R"({"ping":1,"$db":"a"})").get(), 1, 0);
  msg[20] = 5;
  auto r = parse_op_msg(*decode_message(msg));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::kProtocolError);
}

TEST(WireOpMsg, SequenceSizeBeyondMessageIsRejected) {
  std::string msg = encode_op_msg(doc(R"({"insert":"c","$db":"a"})").get(), 1, 0, 0,
                                  {DocumentSequence{"documents", {doc(R"({"a":1})")}}});
  size_t seq_at = 20 + 1 + doc(R"({"insert":"c","$db":"a"})").size() + 1;
  set_i32(msg, seq_at, 100000);
  auto r = parse_op_msg(*decode_message(msg));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::kProtocolError);
}

std::string nested_document(int depth) {
  std::string out;
  out.reserve(static_cast<size_t>(depth) * 8 + 5);
  for (int i = 0; i < depth; ++i) {
    int32_t len = 5 + 8 * (depth - i);
    out.append(reinterpret_cast<const char*>(&len), 4);
    out.append("\x03" "a", 3);  // type, key "a" and its NUL
  }
  out.append(std::string("\x05\0\0\0\0", 5));
  out.append(static_cast<size_t>(depth), '\0');
  return out;
}

TEST(WireOpMsg, NestingWithinTheLimitIsAccepted) {
  std::string d = nested_document(150);
  EXPECT_TRUE(parse_untrusted_bson(reinterpret_cast<const uint8_t*>(d.data()), d.size()).ok());
}

TEST(WireOpMsg, DeeplyNestedDocumentIsRefusedWithoutRecursion) {
  // 100000 levels of {"a": {...}}: far past the 200-level limit; must not overflow the stack.
  std::string inner = nested_document(100000);
  auto r = parse_untrusted_bson(reinterpret_cast<const uint8_t*>(inner.data()), inner.size());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), common::kOverflow);
}

TEST(WireHeader, LengthsOutsideTheLimitsAreRejected) {
  std::string msg = encode_op_msg(doc(R"({"ping":1,"$db":"a"})").get(), 1, 0);
  std::string big = msg;
  set_i32(big, 0, kMaxMessageSizeBytes + 1);
  EXPECT_EQ(parse_header(big).status().code(), common::kProtocolError);
  std::string small = msg;
  set_i32(small, 0, 15);
  EXPECT_FALSE(parse_header(small).ok());
  EXPECT_FALSE(parse_header(std::string_view(msg).substr(0, 10)).ok());
  // A declared length that disagrees with the bytes present.
  std::string mism = msg;
  set_i32(mism, 0, static_cast<int32_t>(msg.size() + 4));
  EXPECT_FALSE(decode_message(mism).ok());
}

TEST(WireOpQuery, RoundTripWithQueryWrapper) {
  auto q = doc(R"({"$query": {"isMaster": 1}, "$readPreference": {"mode": "primary"}})");
  std::string msg = encode_op_query(q.get(), "admin.$cmd", 3, 0, -1);
  auto m = decode_message(msg);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.op_code, kOpQuery);
  auto parsed = parse_op_query(m->body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->full_collection_name, "admin.$cmd");
  EXPECT_EQ(parsed->number_to_return, -1);
  EXPECT_EQ(parsed->query.json(), q.json());
}

TEST(WireOpQuery, UnterminatedNameIsRejected) {
  std::string body = std::string("\0\0\0\0admin", 9);
  EXPECT_EQ(parse_op_query(body).status().code(), common::kProtocolError);
}

TEST(WireOpReply, DocumentIsReadBack) {
  auto d = doc(R"({"ok": 1.0, "ismaster": true})");
  std::string msg = encode_op_reply(d.get(), 9, 3);
  auto m = decode_message(msg);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.response_to, 3);
  auto body = parse_op_reply_document(m->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->json(), d.json());
}

class WireCompression : public ::testing::TestWithParam<Compressor> {};

TEST_P(WireCompression, CompressedMessageRoundTrips) {
  DocumentSequence seq{"documents", {}};
  for (int i = 0; i < 50; ++i) seq.documents.push_back(doc(R"({"x": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})"));
  std::string msg = encode_op_msg(doc(R"({"insert":"c","$db":"t"})").get(), 11, 0, 0, {seq});
  auto wrapped = encode_compressed(msg, GetParam());
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().to_string();
  if (GetParam() != Compressor::kNoop) {
    EXPECT_LT(wrapped->size(), msg.size());
  }
  auto m = decode_message(*wrapped);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_TRUE(m->compressor.has_value());
  EXPECT_EQ(*m->compressor, GetParam());
  EXPECT_EQ(m->header.op_code, kOpMsg);
  EXPECT_EQ(m->header.request_id, 11);
  EXPECT_EQ(m->body, msg.substr(16));
  auto parsed = parse_op_msg(*m);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->sequences[0].documents.size(), 50u);
}

TEST_P(WireCompression, CorruptPayloadIsAnError) {
  std::string msg = encode_op_msg(doc(R"({"ping":1,"$db":"t"})").get(), 1, 0);
  auto wrapped = encode_compressed(msg, GetParam());
  ASSERT_TRUE(wrapped.ok());
  std::string bad = *wrapped;
  // Claim a larger uncompressed size than the payload yields.
  set_i32(bad, 20, static_cast<int32_t>(msg.size() - 16 + 7));
  EXPECT_FALSE(decode_message(bad).ok());
  // Garbage payload.
  std::string garbage = bad.substr(0, 25) + std::string(40, '\x7f');
  set_i32(garbage, 0, static_cast<int32_t>(garbage.size()));
  EXPECT_FALSE(decode_message(garbage).ok());
}

TEST_P(WireCompression, ChecksumSurvivesCompression) {
  std::string msg = encode_op_msg(doc(R"({"ping":1,"$db":"t"})").get(), 5, 0, kFlagChecksumPresent);
  auto wrapped = encode_compressed(msg, GetParam());
  ASSERT_TRUE(wrapped.ok());
  auto m = decode_message(*wrapped);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(parse_op_msg(*m).ok());
}

INSTANTIATE_TEST_SUITE_P(AllCompressors, WireCompression,
                         ::testing::Values(Compressor::kNoop, Compressor::kSnappy, Compressor::kZlib, Compressor::kZstd),
                         [](const auto& info) { return std::string(compressor_name(info.param)); });

TEST(WireCompressedHeader, UnknownCompressorIdAndNestingAreRejected) {
  std::string msg = encode_op_msg(doc(R"({"ping":1,"$db":"t"})").get(), 1, 0);
  auto wrapped = encode_compressed(msg, Compressor::kNoop);
  ASSERT_TRUE(wrapped.ok());
  std::string bad_id = *wrapped;
  bad_id[24] = 9;
  EXPECT_EQ(decode_message(bad_id).status().code(), common::kProtocolError);
  std::string nested = *wrapped;
  set_i32(nested, 16, kOpCompressed);
  EXPECT_FALSE(decode_message(nested).ok());
  std::string huge = *wrapped;
  set_i32(huge, 20, kMaxMessageSizeBytes);
  EXPECT_FALSE(decode_message(huge).ok());
}

TEST(WireCompressorNames, MapBothWays) {
  for (auto c : {Compressor::kNoop, Compressor::kSnappy, Compressor::kZlib, Compressor::kZstd}) {
    auto back = compressor_from_name(compressor_name(c));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, c);
  }
  EXPECT_FALSE(compressor_from_name("lz4").has_value());
}

}  // namespace
