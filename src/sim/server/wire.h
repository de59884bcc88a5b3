// The MongoDB wire protocol as mongosim speaks it (mongodb-reference.md §1): message
// headers, OP_MSG, legacy OP_QUERY/OP_REPLY, OP_COMPRESSED (snappy, zlib, zstd) and CRC-32C.
// Pure functions over byte strings, so they are unit- and fuzz-testable without sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bson.h"
#include "common/status.h"

namespace sim::server {

inline constexpr int32_t kOpReply = 1;
inline constexpr int32_t kOpUpdate = 2001;
inline constexpr int32_t kOpInsert = 2002;
inline constexpr int32_t kOpQuery = 2004;
inline constexpr int32_t kOpGetMore = 2005;
inline constexpr int32_t kOpDelete = 2006;
inline constexpr int32_t kOpKillCursors = 2007;
inline constexpr int32_t kOpCompressed = 2012;
inline constexpr int32_t kOpMsg = 2013;

inline constexpr int32_t kMaxMessageSizeBytes = 48000000;
inline constexpr int32_t kMaxBsonObjectSize = 16 * 1024 * 1024;
// A command document may exceed maxBsonObjectSize by this much (§1.1).
inline constexpr int32_t kCommandOverhead = 16 * 1024;

inline constexpr uint32_t kFlagChecksumPresent = 1u << 0;
inline constexpr uint32_t kFlagMoreToCome = 1u << 1;
inline constexpr uint32_t kFlagExhaustAllowed = 1u << 16;

// OP_REPLY responseFlags.
inline constexpr int32_t kReplyAwaitCapable = 8;

// Server error codes of the protocol layer that common::ErrorCode does not name.
inline constexpr int kIllegalOpMsgFlag = 223;
inline constexpr int kChecksumMismatch = 288;
inline constexpr int kUnsupportedOpQueryCommand = 352;
inline constexpr int kOpMsgMissingDb = 40571;
inline constexpr int kOpQueryNoLongerSupported = 5739101;

enum class Compressor : uint8_t { kNoop = 0, kSnappy = 1, kZlib = 2, kZstd = 3 };

// "snappy" → kSnappy; nullopt for names the server does not support.
std::optional<Compressor> compressor_from_name(std::string_view name);
const char* compressor_name(Compressor c);
// The server's preference order (mongod's default: snappy, zstd, zlib).
const std::vector<Compressor>& server_compressors();

common::Result<std::string> compress(Compressor c, std::string_view data);
// Fails (ProtocolError) unless the output is exactly `expected_size` bytes.
common::Result<std::string> decompress(Compressor c, std::string_view data, size_t expected_size);

// CRC-32C (Castagnoli), as OP_MSG checksums use.
uint32_t crc32c(std::string_view data);

struct MsgHeader {
  int32_t message_length = 0;
  int32_t request_id = 0;
  int32_t response_to = 0;
  int32_t op_code = 0;
};

// Reads the 16-byte header; checks that the declared length is within [16, 48000000].
common::Result<MsgHeader> parse_header(std::string_view bytes);

struct DocumentSequence {
  std::string identifier;
  std::vector<common::Bson> documents;
};

struct OpMsg {
  uint32_t flags = 0;
  common::Bson body;
  std::vector<DocumentSequence> sequences;
  bool checksum_present() const { return flags & kFlagChecksumPresent; }
  bool more_to_come() const { return flags & kFlagMoreToCome; }
};

struct OpQuery {
  int32_t flags = 0;
  std::string full_collection_name;  // "admin.$cmd"
  int32_t number_to_skip = 0;
  int32_t number_to_return = 0;
  common::Bson query;
  std::optional<common::Bson> return_fields;
};

// A message after OP_COMPRESSED has been unwrapped.
struct Message {
  MsgHeader header;               // op_code is the original (uncompressed) opcode
  std::optional<Compressor> compressor;  // set when the message arrived compressed
  std::string body;               // bytes after the 16-byte header
};

// Splits a whole message (header included) and unwraps OP_COMPRESSED.
common::Result<Message> decode_message(std::string_view bytes);

// Parses an OP_MSG: flags, sections, checksum. Codes: 223 for unknown required flags, 288
// for a bad checksum, 22 for invalid BSON, 15 for nesting deeper than 200, 17 for
// structural problems, 10334 for oversized documents.
// The checksum covers the uncompressed message with its original header.
common::Result<OpMsg> parse_op_msg(const Message& msg);
common::Result<OpQuery> parse_op_query(std::string_view body);

// An owning copy of the document at data/len (already known to be well-formed).
// common::Bson(const uint8_t*, size_t) must not be used: it leaves documents over 120 bytes
// pointing at a dead stack copy (see the report of this change).
common::Bson bson_copy_of(const uint8_t* data, size_t len);

// Validates untrusted BSON bytes (exactly one document spanning `len`): structure, UTF-8,
// and a nesting depth of at most 200 levels (checked iteratively, before any recursion).
common::Result<common::Bson> parse_untrusted_bson(const uint8_t* data, size_t len);

// Encoders. Each returns a whole message including its header.
std::string encode_op_msg(const bson_t* body, int32_t request_id, int32_t response_to, uint32_t flags = 0,
                          const std::vector<DocumentSequence>& sequences = {});
std::string encode_op_reply(const bson_t* doc, int32_t request_id, int32_t response_to,
                            int32_t response_flags = kReplyAwaitCapable);
std::string encode_op_query(const bson_t* query, std::string_view full_collection_name, int32_t request_id,
                            int32_t flags = 0, int32_t number_to_return = -1);
// Wraps a whole message in OP_COMPRESSED (keeping its requestID/responseTo).
common::Result<std::string> encode_compressed(std::string_view whole_message, Compressor c);

// Reads an OP_REPLY's first document (for clients and tests).
common::Result<common::Bson> parse_op_reply_document(std::string_view body);

}  // namespace sim::server
