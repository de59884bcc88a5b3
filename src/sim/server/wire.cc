// Wire message parsing and encoding (mongodb-reference.md §1). Every length read from the
// network is checked against the bytes actually present before it is used.
#include "sim/server/wire.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <fmt/format.h>

#include <cstring>

#include "common/bson_scan.h"
#include "common/crc32c.h"

namespace sim::server {

using common::Bson;
using common::Result;
using common::Status;

namespace {

constexpr int kMaxBsonDepth = 200;

int32_t read_i32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<int32_t>(BSON_UINT32_FROM_LE(v));
}

void put_i32(std::string& out, int32_t v) {
  uint32_t le = BSON_UINT32_TO_LE(static_cast<uint32_t>(v));
  out.append(reinterpret_cast<const char*>(&le), 4);
}

void put_i64(std::string& out, int64_t v) {
  uint64_t le = BSON_UINT64_TO_LE(static_cast<uint64_t>(v));
  out.append(reinterpret_cast<const char*>(&le), 8);
}

void patch_i32(std::string& out, size_t at, int32_t v) {
  uint32_t le = BSON_UINT32_TO_LE(static_cast<uint32_t>(v));
  std::memcpy(out.data() + at, &le, 4);
}

void put_header(std::string& out, int32_t request_id, int32_t response_to, int32_t op_code) {
  put_i32(out, 0);  // patched once the length is known
  put_i32(out, request_id);
  put_i32(out, response_to);
  put_i32(out, op_code);
}

// The declared length of the BSON document at `p` (with `avail` bytes available), or a
// Status when it cannot be a document.
Result<size_t> bson_doc_len(const char* p, size_t avail) {
  if (avail < 5) return Status(common::kInvalidBSON, "invalid BSON: document is truncated");
  int32_t len = read_i32(p);
  if (len < 5) return Status(common::kInvalidBSON, "invalid BSON: document length " + std::to_string(len) + " is too small");
  if (static_cast<size_t>(len) > avail) {
    return Status(common::kInvalidBSON, "invalid BSON: document length " + std::to_string(len) +
                                            " exceeds the " + std::to_string(avail) + " bytes left in the message");
  }
  return static_cast<size_t>(len);
}

}  // namespace

std::optional<Compressor> compressor_from_name(std::string_view name) {
  if (name == "snappy") return Compressor::kSnappy;
  if (name == "zlib") return Compressor::kZlib;
  if (name == "zstd") return Compressor::kZstd;
  if (name == "noop") return Compressor::kNoop;
  return std::nullopt;
}

const char* compressor_name(Compressor c) {
  switch (c) {
    case Compressor::kNoop: return "noop";
    case Compressor::kSnappy: return "snappy";
    case Compressor::kZlib: return "zlib";
    case Compressor::kZstd: return "zstd";
  }
  return "unknown";
}

const std::vector<Compressor>& server_compressors() {
  static const std::vector<Compressor> kOrder = {Compressor::kSnappy, Compressor::kZstd, Compressor::kZlib};
  return kOrder;
}

Result<std::string> compress(Compressor c, std::string_view data) {
  switch (c) {
    case Compressor::kNoop: return std::string(data);
    case Compressor::kSnappy: {
      std::string out;
      snappy::Compress(data.data(), data.size(), &out);
      return out;
    }
    case Compressor::kZlib: {
      uLongf cap = compressBound(static_cast<uLong>(data.size()));
      std::string out(cap, '\0');
      int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &cap, reinterpret_cast<const Bytef*>(data.data()),
                         static_cast<uLong>(data.size()), Z_DEFAULT_COMPRESSION);
      if (rc != Z_OK) return Status(common::kInternalError, "zlib compression failed");
      out.resize(cap);
      return out;
    }
    case Compressor::kZstd: {
      size_t cap = ZSTD_compressBound(data.size());
      std::string out(cap, '\0');
      size_t n = ZSTD_compress(out.data(), cap, data.data(), data.size(), 1);
      if (ZSTD_isError(n)) return Status(common::kInternalError, std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      out.resize(n);
      return out;
    }
  }
  return Status(common::kBadValue, "unknown compressor");
}

Result<std::string> decompress(Compressor c, std::string_view data, size_t expected_size) {
  const std::string name = compressor_name(c);
  auto mismatch = [&](size_t got) {
    return Status(common::kProtocolError, "Decompressing message returned less data than expected: " + name +
                                              " produced " + std::to_string(got) + " bytes, the header declared " +
                                              std::to_string(expected_size));
  };
  switch (c) {
    case Compressor::kNoop:
      if (data.size() != expected_size) return mismatch(data.size());
      return std::string(data);
    case Compressor::kSnappy: {
      size_t n = 0;
      if (!snappy::GetUncompressedLength(data.data(), data.size(), &n) ||
          !snappy::IsValidCompressedBuffer(data.data(), data.size())) {
        return Status(common::kProtocolError, "Invalid snappy compressed data");
      }
      if (n != expected_size) return mismatch(n);
      std::string out(n, '\0');
      if (!snappy::RawUncompress(data.data(), data.size(), out.data())) {
        return Status(common::kProtocolError, "Invalid snappy compressed data");
      }
      return out;
    }
    case Compressor::kZlib: {
      std::string out(expected_size, '\0');
      uLongf n = static_cast<uLongf>(expected_size);
      int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(data.data()),
                          static_cast<uLong>(data.size()));
      if (rc == Z_BUF_ERROR && n == expected_size) return mismatch(expected_size + 1);
      if (rc != Z_OK) return Status(common::kProtocolError, std::string("Invalid zlib compressed data: ") + zError(rc));
      if (n != expected_size) return mismatch(n);
      return out;
    }
    case Compressor::kZstd: {
      std::string out(expected_size, '\0');
      size_t n = ZSTD_decompress(out.data(), expected_size, data.data(), data.size());
      if (ZSTD_isError(n)) return Status(common::kProtocolError, std::string("Invalid zstd compressed data: ") + ZSTD_getErrorName(n));
      if (n != expected_size) return mismatch(n);
      return out;
    }
  }
  return Status(common::kProtocolError, "unknown compressor");
}

uint32_t crc32c(std::string_view data) {
  return common::crc32c(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

Result<MsgHeader> parse_header(std::string_view bytes) {
  if (bytes.size() < 16) return Status(common::kProtocolError, "message is shorter than its 16-byte header");
  MsgHeader h;
  h.message_length = read_i32(bytes.data());
  h.request_id = read_i32(bytes.data() + 4);
  h.response_to = read_i32(bytes.data() + 8);
  h.op_code = read_i32(bytes.data() + 12);
  if (h.message_length < 16 || h.message_length > kMaxMessageSizeBytes) {
    return Status(common::kProtocolError, "recv(): message msgLen " + std::to_string(h.message_length) +
                                              " is invalid. Min 16 Max: " + std::to_string(kMaxMessageSizeBytes));
  }
  return h;
}

Result<Bson> parse_untrusted_bson(const uint8_t* data, size_t len) {
  bson_t root;
  if (len < 5 || !bson_init_static(&root, data, len)) {
    return Status(common::kInvalidBSON, "invalid BSON: bad document length");
  }
  // Plain documents (common types, ASCII text) are checked in one pass; the rest below.
  if (common::quick_valid(data, len, kMaxBsonDepth)) return Bson(&root);
  // Depth check without recursion: libbson's validator recurses, so a hostile document
  // nested a million levels deep must be refused before it gets there.
  // bson_iter_t is declared 128-byte aligned; a wrapper keeps that alignment inside the
  // vector (the attribute is dropped when bson_iter_t itself is a template argument).
  struct alignas(128) Frame {
    bson_iter_t it;
  };
  std::vector<Frame> stack;
  stack.reserve(16);
  Frame first;
  if (!bson_iter_init(&first.it, &root)) return Status(common::kInvalidBSON, "invalid BSON: bad document length");
  stack.push_back(first);
  while (!stack.empty()) {
    bson_iter_t& top = stack.back().it;
    if (!bson_iter_next(&top)) {
      if (top.err_off != 0) {
        return Status(common::kInvalidBSON, "invalid BSON: malformed element at byte " + std::to_string(top.err_off));
      }
      stack.pop_back();
      continue;
    }
    bson_type_t t = bson_iter_type(&top);
    if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY || t == BSON_TYPE_CODEWSCOPE) {
      if (static_cast<int>(stack.size()) >= kMaxBsonDepth) {
        return Status(common::kOverflow, "BSONObj exceeded maximum nested object depth: " + std::to_string(kMaxBsonDepth));
      }
      Frame frame;
      bson_iter_t& child = frame.it;
      if (t == BSON_TYPE_CODEWSCOPE) {
        uint32_t code_len = 0, scope_len = 0;
        const uint8_t* scope = nullptr;
        bson_iter_codewscope(&top, &code_len, &scope_len, &scope);
        bson_t scope_doc;
        if (!scope || !bson_init_static(&scope_doc, scope, scope_len) || !bson_iter_init(&child, &scope_doc)) {
          return Status(common::kInvalidBSON, "invalid BSON: bad code-with-scope");
        }
      } else if (!bson_iter_recurse(&top, &child)) {
        return Status(common::kInvalidBSON, "invalid BSON: bad nested document");
      }
      stack.push_back(frame);
    }
  }
  size_t err_off = 0;
  if (!bson_validate(&root, BSON_VALIDATE_UTF8_ALLOW_NULL, &err_off)) {
    return Status(common::kInvalidBSON, "invalid BSON document: malformed at byte " + std::to_string(err_off));
  }
  return Bson(&root);
}

Bson bson_copy_of(const uint8_t* data, size_t len) {
  bson_t view;
  if (!bson_init_static(&view, data, len)) return Bson();
  return Bson(&view);
}

Result<Message> decode_message(std::string_view bytes) {
  MS_ASSIGN_OR_RETURN(MsgHeader h, parse_header(bytes));
  if (static_cast<size_t>(h.message_length) != bytes.size()) {
    return Status(common::kProtocolError, "message length " + std::to_string(h.message_length) +
                                              " does not match the " + std::to_string(bytes.size()) + " bytes received");
  }
  Message m;
  m.header = h;
  std::string_view rest = bytes.substr(16);
  if (h.op_code != kOpCompressed) {
    m.body.assign(rest);
    return m;
  }
  if (rest.size() < 9) return Status(common::kProtocolError, "OP_COMPRESSED message is truncated");
  int32_t original = read_i32(rest.data());
  int32_t size = read_i32(rest.data() + 4);
  auto id = static_cast<uint8_t>(rest[8]);
  if (original == kOpCompressed) return Status(common::kProtocolError, "OP_COMPRESSED cannot wrap OP_COMPRESSED");
  if (size < 0 || size > kMaxMessageSizeBytes - 16) {
    return Status(common::kProtocolError, "OP_COMPRESSED declares an invalid uncompressed size " + std::to_string(size));
  }
  if (id > static_cast<uint8_t>(Compressor::kZstd)) {
    return Status(common::kProtocolError, "Cannot find compressor for compressor id " + std::to_string(id));
  }
  auto c = static_cast<Compressor>(id);
  MS_ASSIGN_OR_RETURN(m.body, decompress(c, rest.substr(9), static_cast<size_t>(size)));
  m.header.op_code = original;
  m.header.message_length = size + 16;
  m.compressor = c;
  return m;
}

Result<OpMsg> parse_op_msg(const Message& msg) {
  std::string_view b = msg.body;
  if (b.size() < 5) return Status(common::kProtocolError, "OP_MSG is too short to hold flags and a section");
  OpMsg out;
  out.flags = static_cast<uint32_t>(read_i32(b.data()));
  // Bits 0-15 are required: an unknown one set is an error (§1.2).
  uint32_t unknown_required = out.flags & 0xFFFFu & ~(kFlagChecksumPresent | kFlagMoreToCome);
  if (unknown_required != 0) {
    return Status(kIllegalOpMsgFlag, "Message contains illegal flags value: Flag " + std::to_string(out.flags));
  }
  size_t end = b.size();
  if (out.checksum_present()) {
    if (b.size() < 4 + 1 + 4) return Status(common::kProtocolError, "OP_MSG with checksum is truncated");
    end -= 4;
    auto expected = static_cast<uint32_t>(read_i32(b.data() + end));
    std::string hdr;
    put_header(hdr, msg.header.request_id, msg.header.response_to, msg.header.op_code);
    patch_i32(hdr, 0, static_cast<int32_t>(16 + b.size()));
    // CRC of header + body-without-checksum, computed incrementally over the two pieces.
    std::string whole = hdr;
    whole.append(b.data(), end);
    if (crc32c(whole) != expected) return Status(kChecksumMismatch, "Invalid checksum in OP_MSG message");
  }
  size_t pos = 4;
  bool have_body = false;
  while (pos < end) {
    auto kind = static_cast<uint8_t>(b[pos++]);
    if (kind == 0) {
      if (have_body) return Status(common::kProtocolError, "Multiple body sections in message");
      MS_ASSIGN_OR_RETURN(size_t len, bson_doc_len(b.data() + pos, end - pos));
      if (len > static_cast<size_t>(kMaxBsonObjectSize + kCommandOverhead)) {
        return Status(common::kBSONObjectTooLarge, "BSONObj size: " + std::to_string(len) +
                                                      " (0x" + fmt::format("{:X}", len) + ") is invalid. Size must be between 0 and 16793600(16MB)");
      }
      MS_ASSIGN_OR_RETURN(out.body, parse_untrusted_bson(reinterpret_cast<const uint8_t*>(b.data() + pos), len));
      have_body = true;
      pos += len;
    } else if (kind == 1) {
      if (end - pos < 4) return Status(common::kProtocolError, "OP_MSG document sequence is truncated");
      int32_t size = read_i32(b.data() + pos);
      if (size < 5 || static_cast<size_t>(size) > end - pos) {
        return Status(common::kProtocolError, "OP_MSG document sequence size " + std::to_string(size) + " is invalid");
      }
      size_t seq_end = pos + static_cast<size_t>(size);
      size_t p = pos + 4;
      const void* nul = std::memchr(b.data() + p, '\0', seq_end - p);
      if (!nul) return Status(common::kProtocolError, "OP_MSG document sequence identifier is not terminated");
      DocumentSequence seq;
      seq.identifier.assign(b.data() + p, static_cast<const char*>(nul));
      if (seq.identifier.empty()) return Status(common::kProtocolError, "OP_MSG document sequence identifier is empty");
      p = static_cast<size_t>(static_cast<const char*>(nul) - b.data()) + 1;
      while (p < seq_end) {
        MS_ASSIGN_OR_RETURN(size_t len, bson_doc_len(b.data() + p, seq_end - p));
        if (len > static_cast<size_t>(kMaxBsonObjectSize)) {
          return Status(common::kBSONObjectTooLarge, "BSONObj size: " + std::to_string(len) +
                                                        " is invalid. Size must be between 0 and 16793600(16MB)");
        }
        MS_ASSIGN_OR_RETURN(Bson d, parse_untrusted_bson(reinterpret_cast<const uint8_t*>(b.data() + p), len));
        seq.documents.push_back(std::move(d));
        p += len;
      }
      for (const auto& s : out.sequences) {
        if (s.identifier == seq.identifier) {
          return Status(common::kProtocolError, "Duplicate document sequence: " + seq.identifier);
        }
      }
      out.sequences.push_back(std::move(seq));
      pos = seq_end;
    } else {
      return Status(common::kProtocolError, "Unknown section kind " + std::to_string(kind));
    }
  }
  if (!have_body) return Status(common::kProtocolError, "OP_MSG messages must have a body");
  return out;
}

Result<OpQuery> parse_op_query(std::string_view b) {
  OpQuery q;
  if (b.size() < 4) return Status(common::kProtocolError, "OP_QUERY is truncated");
  q.flags = read_i32(b.data());
  size_t pos = 4;
  const void* nul = std::memchr(b.data() + pos, '\0', b.size() - pos);
  if (!nul) return Status(common::kProtocolError, "OP_QUERY collection name is not terminated");
  q.full_collection_name.assign(b.data() + pos, static_cast<const char*>(nul));
  pos = static_cast<size_t>(static_cast<const char*>(nul) - b.data()) + 1;
  if (b.size() - pos < 8) return Status(common::kProtocolError, "OP_QUERY is truncated");
  q.number_to_skip = read_i32(b.data() + pos);
  q.number_to_return = read_i32(b.data() + pos + 4);
  pos += 8;
  MS_ASSIGN_OR_RETURN(size_t len, bson_doc_len(b.data() + pos, b.size() - pos));
  MS_ASSIGN_OR_RETURN(q.query, parse_untrusted_bson(reinterpret_cast<const uint8_t*>(b.data() + pos), len));
  pos += len;
  if (pos < b.size()) {
    MS_ASSIGN_OR_RETURN(size_t flen, bson_doc_len(b.data() + pos, b.size() - pos));
    MS_ASSIGN_OR_RETURN(Bson f, parse_untrusted_bson(reinterpret_cast<const uint8_t*>(b.data() + pos), flen));
    q.return_fields = std::move(f);
    pos += flen;
  }
  if (pos != b.size()) return Status(common::kProtocolError, "OP_QUERY has trailing bytes");
  return q;
}

std::string encode_op_msg(const bson_t* body, int32_t request_id, int32_t response_to, uint32_t flags,
                          const std::vector<DocumentSequence>& sequences) {
  std::string out;
  put_header(out, request_id, response_to, kOpMsg);
  put_i32(out, static_cast<int32_t>(flags));
  out.push_back('\0');
  out.append(reinterpret_cast<const char*>(bson_get_data(body)), body->len);
  for (const auto& s : sequences) {
    out.push_back('\1');
    size_t at = out.size();
    put_i32(out, 0);
    out.append(s.identifier);
    out.push_back('\0');
    for (const auto& d : s.documents) out.append(d.bytes());
    patch_i32(out, at, static_cast<int32_t>(out.size() - at));
  }
  if (flags & kFlagChecksumPresent) {
    patch_i32(out, 0, static_cast<int32_t>(out.size() + 4));
    put_i32(out, static_cast<int32_t>(crc32c(out)));
  }
  patch_i32(out, 0, static_cast<int32_t>(out.size()));
  return out;
}

std::string encode_op_reply(const bson_t* doc, int32_t request_id, int32_t response_to, int32_t response_flags) {
  std::string out;
  put_header(out, request_id, response_to, kOpReply);
  put_i32(out, response_flags);
  put_i64(out, 0);  // cursorID
  put_i32(out, 0);  // startingFrom
  put_i32(out, 1);  // numberReturned
  out.append(reinterpret_cast<const char*>(bson_get_data(doc)), doc->len);
  patch_i32(out, 0, static_cast<int32_t>(out.size()));
  return out;
}

std::string encode_op_query(const bson_t* query, std::string_view full_collection_name, int32_t request_id,
                            int32_t flags, int32_t number_to_return) {
  std::string out;
  put_header(out, request_id, 0, kOpQuery);
  put_i32(out, flags);
  out.append(full_collection_name);
  out.push_back('\0');
  put_i32(out, 0);
  put_i32(out, number_to_return);
  out.append(reinterpret_cast<const char*>(bson_get_data(query)), query->len);
  patch_i32(out, 0, static_cast<int32_t>(out.size()));
  return out;
}

Result<std::string> encode_compressed(std::string_view whole, Compressor c) {
  MS_ASSIGN_OR_RETURN(MsgHeader h, parse_header(whole));
  MS_ASSIGN_OR_RETURN(std::string payload, compress(c, whole.substr(16)));
  std::string out;
  put_header(out, h.request_id, h.response_to, kOpCompressed);
  put_i32(out, h.op_code);
  put_i32(out, static_cast<int32_t>(whole.size() - 16));
  out.push_back(static_cast<char>(c));
  out.append(payload);
  patch_i32(out, 0, static_cast<int32_t>(out.size()));
  return out;
}

Result<Bson> parse_op_reply_document(std::string_view b) {
  if (b.size() < 20) return Status(common::kProtocolError, "OP_REPLY is truncated");
  int32_t n = read_i32(b.data() + 16);
  if (n < 1) return Status(common::kProtocolError, "OP_REPLY has no documents");
  MS_ASSIGN_OR_RETURN(size_t len, bson_doc_len(b.data() + 20, b.size() - 20));
  return parse_untrusted_bson(reinterpret_cast<const uint8_t*>(b.data() + 20), len);
}

}  // namespace sim::server
