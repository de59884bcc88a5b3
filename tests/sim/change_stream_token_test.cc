// Resume tokens: the server's KeyString V1 bytes for the worked examples of
// mongodb-reference.md §6.6 (checked against resume_token.cpp / key_string.cpp), _typeBits for
// the types KeyString cannot tell apart, ordering of hex strings, parsing with the server's
// errors, and compareAgainstClientResumeToken.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/bson.h"
#include "sim/engine/resume_token.h"

namespace {

using common::Bson;
using sim::Timestamp;
using namespace sim::engine;

std::string uuid_bytes() {
  const unsigned char u[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  return std::string(reinterpret_cast<const char*>(u), 16);
}

Bson json(const char* j) {
  auto r = Bson::from_json(j);
  EXPECT_TRUE(r.ok()) << j;
  return r.ok() ? std::move(r).value() : Bson();
}

ResumeTokenData event(Timestamp ts, int version, const char* event_identifier_json) {
  ResumeTokenData d;
  d.cluster_time = ts;
  d.version = version;
  d.uuid = uuid_bytes();
  d.event_identifier = json(event_identifier_json);
  d.has_event_identifier = true;
  return d;
}

ResumeToken encode(const ResumeTokenData& d) {
  auto r = encode_resume_token(d);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

const Timestamp kTs{0x65A0C0DE, 1};

TEST(ResumeToken, V2InsertEventMatchesTheServerBytes) {
  ResumeToken t = encode(event(kTs, 2, R"({"operationType": "insert", "documentKey": {"_id": 1}})"));
  EXPECT_EQ(t.hex(),
            "8265A0C0DE000000012B042C0100296E5A100400112233445566778899AABBCCDDEEFF463C6F7065726174696F6E54797065003C"
            "696E736572740046646F63756D656E744B657900461E5F6964002B02000004");
  EXPECT_TRUE(t.type_bits.empty());
  Bson doc = t.to_document();
  EXPECT_EQ(bson_count_keys(doc.get()), 1u);
}

TEST(ResumeToken, V2ObjectIdDocumentKey) {
  ResumeToken t = encode(event(
      kTs, 2, R"({"operationType": "insert", "documentKey": {"_id": {"$oid": "65a0c0de0123456789abcdef"}}})"));
  EXPECT_NE(t.hex().find("46646F63756D656E744B65790046645F6964006465A0C0DE0123456789ABCDEF000004"), std::string::npos)
      << t.hex();
}

TEST(ResumeToken, V1EventUsesTheDocumentKeyAsIdentifier) {
  ResumeToken t = encode(event(kTs, 1, R"({"_id": 1})"));
  EXPECT_EQ(t.hex(), "8265A0C0DE000000012B022C0100296E5A100400112233445566778899AABBCCDDEEFF461E5F6964002B020004");
}

TEST(ResumeToken, HighWaterMarks) {
  EXPECT_EQ(high_water_mark_token(kTs, 2).hex(), "8265A0C0DE000000012B0429296E1404");
  EXPECT_EQ(high_water_mark_token(kTs, 1).hex(), "8265A0C0DE000000012B0229296E04");
  EXPECT_TRUE(high_water_mark_token(kTs, 2).is_high_water_mark());
}

TEST(ResumeToken, TypeBitsForLongAndDoubleIds) {
  // version, tokenType, txnOpIndex (int32: 00 each), "insert" (string: 0), then the _id.
  ResumeToken l = encode(event(kTs, 2, R"({"operationType": "insert", "documentKey": {"_id": {"$numberLong": "5"}}})"));
  ASSERT_EQ(l.type_bits.size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(l.type_bits[0]), 0x82);  // two data bytes follow
  EXPECT_EQ(static_cast<uint8_t>(l.type_bits[1]), 0x00);
  EXPECT_EQ(static_cast<uint8_t>(l.type_bits[2]), 0x01);  // bit 8 = low bit of kLong (01)
  ResumeToken i = encode(event(kTs, 2, R"({"operationType": "insert", "documentKey": {"_id": 5}})"));
  ResumeToken d = encode(event(kTs, 2, R"({"operationType": "insert", "documentKey": {"_id": 5.0}})"));
  // Numbers encode by value: the keys are equal, only the type bits differ.
  EXPECT_EQ(l.key, i.key);
  EXPECT_EQ(d.key, i.key);
  EXPECT_TRUE(i.type_bits.empty());
  EXPECT_FALSE(d.type_bits.empty());
  // v1: bits 6,7 hold the _id's type; kLong sets bit 7 → one byte 0x80 needs a size byte.
  ResumeToken v1 = encode(event(kTs, 1, R"({"_id": {"$numberLong": "5"}})"));
  ASSERT_EQ(v1.type_bits.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(v1.type_bits[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(v1.type_bits[1]), 0x80);
}

TEST(ResumeToken, ParsesWhatItEncodes) {
  for (const char* id : {R"(1)", R"({"$numberLong": "-77"})", R"(2.5)", R"(-0.0)", R"("a\u0000b")",
                         R"({"$oid": "65a0c0de0123456789abcdef"})", R"([1, {"x": null}, true])",
                         R"({"$date": {"$numberLong": "-5"}})", R"({"$numberDecimal": "1.5"})",
                         R"({"$numberDecimal": "0.1000000000000000000000000000000001"})",
                         R"({"$numberDecimal": "-1E-6000"})", R"({"$numberDecimal": "Infinity"})",
                         R"({"$numberDecimal": "0E+10"})", R"({"$binary": {"base64": "AQID", "subType": "00"}})",
                         R"({"$regularExpression": {"pattern": "a+", "options": "i"}})", R"({"$minKey": 1})",
                         R"({"$maxKey": 1})", R"({"$timestamp": {"t": 5, "i": 6}})", R"(1e300)", R"(-3e-310)"}) {
    std::string j = std::string(R"({"operationType": "insert", "documentKey": {"_id": )") + id + "}}";
    ResumeTokenData d = event(kTs, 2, j.c_str());
    d.txn_op_index = 3;
    ResumeToken t = encode(d);
    Bson doc = t.to_document();
    auto parsed = parse_resume_token(doc.get());
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.status().to_string();
    EXPECT_TRUE(same_token_data(*parsed, t)) << id;
    EXPECT_EQ(parsed->txn_op_index, 3u);
    EXPECT_EQ(parsed->cluster_time, kTs);
    EXPECT_EQ(parsed->hex(), t.hex());
  }
}

TEST(ResumeToken, FragmentNumOnlyOnV2) {
  ResumeTokenData d = event(kTs, 2, R"({"operationType": "update", "documentKey": {"_id": 1}})");
  d.fragment_num = 2;
  ResumeToken t = encode(d);
  Bson doc = t.to_document();
  auto parsed = parse_resume_token(doc.get());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->fragment_num, 2);
  d.version = 1;
  auto bad = encode_resume_token(d);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), 7182504);
}

TEST(ResumeToken, HexStringsSortInStreamOrder) {
  std::vector<ResumeToken> in_order;
  in_order.push_back(high_water_mark_token({100, 1}, 2));
  in_order.push_back(encode(event({100, 1}, 2, R"({"operationType": "insert", "documentKey": {"_id": 1}})")));
  ResumeTokenData second = event({100, 1}, 2, R"({"operationType": "insert", "documentKey": {"_id": 2}})");
  second.txn_op_index = 1;
  in_order.push_back(encode(second));
  ResumeTokenData drop = event({100, 2}, 2, R"({"operationType": "drop"})");
  in_order.push_back(encode(drop));
  drop.from_invalidate = true;
  in_order.push_back(encode(drop));
  in_order.push_back(high_water_mark_token({100, 3}, 2));
  in_order.push_back(encode(event({101, 0}, 2, R"({"operationType": "insert", "documentKey": {"_id": -5}})")));
  in_order.push_back(encode(event({0x80000000u, 0}, 2, R"({"operationType": "insert", "documentKey": {"_id": 0}})")));
  for (size_t i = 1; i < in_order.size(); ++i) {
    EXPECT_LT(in_order[i - 1].hex(), in_order[i].hex()) << i;
  }
}

TEST(ResumeToken, KeyOrderFollowsBsonOrderForMixedIds) {
  // Canonical order: numbers by value across types, then strings, objects, ObjectIds, dates.
  std::vector<const char*> ids = {R"({"$numberDecimal": "-1E+400"})", R"(-1e300)", R"({"$numberLong": "-10"})",
                                  R"(-2.5)", R"({"$numberDecimal": "-0.1"})", R"(0)", R"(1e-300)",
                                  R"({"$numberDecimal": "0.3"})", R"(0.5)", R"(1)", R"({"$numberDecimal": "1.25"})",
                                  R"(1.5)", R"({"$numberLong": "9007199254740993"})", R"(1e19)",
                                  R"({"$numberDecimal": "1E+30"})", R"({"$numberDecimal": "Infinity"})", R"("")",
                                  R"("a")", R"({})", R"({"$oid": "000000000000000000000000"})",
                                  R"({"$date": {"$numberLong": "0"}})"};
  std::string prev;
  for (const char* id : ids) {
    std::string j = std::string(R"({"_id": )") + id + "}";
    ResumeToken t = encode(event(kTs, 1, j.c_str()));
    if (!prev.empty()) {
      EXPECT_LT(prev, t.hex()) << id;
    }
    prev = t.hex();
  }
}

TEST(ResumeToken, ParseErrorsAsTheServer) {
  struct Case {
    const char* doc;
    int code;
  };
  const Case cases[] = {
      {R"({"_data": 1})", 40647},
      {R"({})", 40647},
      {R"({"_data": "82", "_typeBits": 1})", 40648},
      {R"({"_data": "8G"})", 9},
      {R"({"_data": "823"})", 9},
      {R"({"_data": "04"})", 40649},
      {R"({"_data": "8265A0C0DE0000000104"})", 50796},
      {R"({"_data": "8265A0C0DE000000012B0604"})", 50795},
      {R"({"_data": "8265A0C0DE000000012B042B0204"})", 51057},
      {R"({"_data": "8265A0C0DE000000012B0429296E04"})", 6189500},
      {R"({"_data": "8265A0C0DE000000012B0429296E14461E5F6964002B020004"})", 6189504},
  };
  for (const auto& c : cases) {
    Bson doc = json(c.doc);
    auto r = parse_resume_token(doc.get());
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_EQ(r.status().code(), c.code) << c.doc << ": " << r.status().to_string();
  }
  // A v1 high-water mark parses; so does lowercase hex.
  Bson hwm = json(R"({"_data": "8265a0c0de000000012b0229296e04"})");
  auto r = parse_resume_token(hwm.get());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->is_high_water_mark());
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->hex(), "8265A0C0DE000000012B0229296E04");
}

TEST(ResumeToken, CompareAgainstClientToken) {
  ResumeToken client = encode(event({100, 1}, 2, R"({"operationType": "insert", "documentKey": {"_id": 2}})"));
  EXPECT_EQ(compare_against_client_token(client, client), ResumeStatus::kFoundToken);
  EXPECT_EQ(compare_against_client_token(
                encode(event({100, 1}, 2, R"({"operationType": "insert", "documentKey": {"_id": 1}})")), client),
            ResumeStatus::kCheckNextDoc);
  EXPECT_EQ(compare_against_client_token(
                encode(event({100, 1}, 2, R"({"operationType": "insert", "documentKey": {"_id": 3}})")), client),
            ResumeStatus::kSurpassedToken);
  EXPECT_EQ(compare_against_client_token(
                encode(event({100, 2}, 2, R"({"operationType": "insert", "documentKey": {"_id": 0}})")), client),
            ResumeStatus::kSurpassedToken);
  // An event token is past a high-water mark at the same time.
  EXPECT_EQ(compare_against_client_token(client, high_water_mark_token({100, 1}, 2)), ResumeStatus::kSurpassedToken);
  ResumeTokenData frag = event({100, 1}, 2, R"({"operationType": "insert", "documentKey": {"_id": 2}})");
  frag.fragment_num = 1;
  EXPECT_EQ(compare_against_client_token(client, encode(frag)), ResumeStatus::kNeedsSplit);
}

}  // namespace
