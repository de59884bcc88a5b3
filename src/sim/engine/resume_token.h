// Change-stream resume tokens (mongodb-reference.md §6.6), encoded exactly as the server's
// ResumeToken (src/mongo/db/pipeline/resume_token.cpp): the sequence clusterTime, version,
// [tokenType], txnOpIndex, [fromInvalidate], uuid (or null from v2), eventIdentifier,
// [fragmentNum] as a KeyString V1 (src/mongo/db/storage/key_string.cpp), shown as uppercase
// hex in `_data`, with `_typeBits` only when some type bit is set. Hex strings of one
// stream's tokens therefore sort in stream order.
//
// A token read from a client is not decoded back to BSON: its eventIdentifier stays a
// KeyString slice, and KeyString bytes compare exactly as the server compares the decoded
// values (order-preserving, numbers of every type by value), which is all the resume logic
// needs.
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/bson.h"
#include "common/status.h"
#include "sim/clock.h"

namespace sim::engine {

constexpr int kHighWaterMarkToken = 0;
constexpr int kEventToken = 128;

// What a token holds, as the server's ResumeTokenData.
struct ResumeTokenData {
  Timestamp cluster_time;
  int version = 2;                     // 0, 1 or 2
  int token_type = kEventToken;        // v1+: kHighWaterMarkToken or kEventToken
  uint64_t txn_op_index = 0;
  bool from_invalidate = false;        // v1+
  std::optional<std::string> uuid;     // 16 raw bytes
  common::Bson event_identifier;       // an object; empty document = missing
  bool has_event_identifier = false;
  std::optional<int32_t> fragment_num; // v2 split-event fragments
};

// A token in both forms: its fields and its encoding.
struct ResumeToken {
  Timestamp cluster_time;
  int version = 2;
  int token_type = kEventToken;
  uint64_t txn_op_index = 0;
  bool from_invalidate = false;
  std::optional<std::string> uuid;
  std::string event_id;                // KeyString bytes of the eventIdentifier ("" = missing)
  std::optional<int32_t> fragment_num;

  std::string key;                     // the whole KeyString
  std::string type_bits;               // serialized TypeBits ("" = all zeros)

  bool is_high_water_mark() const;
  // {_data: "<HEX>"[, _typeBits: BinData(0, ...)]}
  common::Bson to_document() const;
  void append_to(bson_t* out, const char* field) const;
  std::string hex() const;
};

// Encodes `data` (errors only for data the server refuses to encode: a fragmentNum on a v0/v1
// token, 7182504).
common::Result<ResumeToken> encode_resume_token(const ResumeTokenData& data);
ResumeToken high_water_mark_token(Timestamp ts, int version);

// Parses a client's token document with the server's checks and error codes (40647, 40648,
// FailedToParse for bad hex, 40649, 50795, 50854, 51055-51057, 50793, 50855, 50794, 50870,
// 50872, 6189500-6189504, 7182501, 40646, KeyString format errors).
common::Result<ResumeToken> parse_resume_token(const bson_t* token_doc);

// compareAgainstClientResumeToken (document_source_change_stream_check_resumability.cpp).
enum class ResumeStatus { kCheckNextDoc, kFoundToken, kSurpassedToken, kNeedsSplit };
ResumeStatus compare_against_client_token(const ResumeToken& from_stream, const ResumeToken& from_client);

// Equality as ResumeTokenData::operator== (every field, eventIdentifier by value).
bool same_token_data(const ResumeToken& a, const ResumeToken& b);

}  // namespace sim::engine
