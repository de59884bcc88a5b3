// Test support for the change-stream suites: a mongosim replica-set primary of one emulated
// version on port 0, commands through libmongoc, change-stream cursors driven with raw
// aggregate/getMore, masking of the fields that differ between runs (tokens, times, UUIDs)
// and the expected resume-token hex built from the server's KeyString layout.
#pragma once

#include <gtest/gtest.h>
#include <mongoc/mongoc.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/bson.h"
#include "common/status.h"
#include "support/mongosim_process.h"
#include "support/sim_client.h"

namespace cstest {

using common::Bson;
using common::Result;
using common::Status;

inline Bson json(const std::string& j) {
  auto r = Bson::from_json(j);
  EXPECT_TRUE(r.ok()) << j << ": " << r.status().to_string();
  return r.ok() ? std::move(r).value() : Bson();
}

inline std::string hex_of(const uint8_t* data, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02X", data[i]);
    out += buf;
  }
  return out;
}

// A command reply, or the error with its code, message and labels.
using testsupport::Reply;

// One batch of a change-stream cursor.
struct Batch {
  std::vector<Bson> events;
  Bson pbrt;
  int64_t cursor_id = 0;
  std::string ns;
};

inline Batch batch_of(const Bson& reply, const char* array) {
  Batch b;
  bson_iter_t it, cur;
  if (!bson_iter_init_find(&it, reply.get(), "cursor") || !bson_iter_recurse(&it, &cur)) return b;
  while (bson_iter_next(&cur)) {
    std::string k = bson_iter_key(&cur);
    uint32_t len;
    const uint8_t* data;
    if (k == array && BSON_ITER_HOLDS_ARRAY(&cur)) {
      bson_iter_t e;
      bson_iter_recurse(&cur, &e);
      while (bson_iter_next(&e)) {
        bson_iter_document(&e, &len, &data);
        b.events.emplace_back(data, len);
      }
    } else if (k == "postBatchResumeToken" && BSON_ITER_HOLDS_DOCUMENT(&cur)) {
      bson_iter_document(&cur, &len, &data);
      b.pbrt = Bson(data, len);
    } else if (k == "id") {
      b.cursor_id = bson_iter_as_int64(&cur);
    } else if (k == "ns") {
      b.ns = bson_iter_utf8(&cur, nullptr);
    }
  }
  return b;
}

inline std::string token_hex(const Bson& token_doc) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, token_doc.get(), "_data") || !BSON_ITER_HOLDS_UTF8(&it)) return {};
  return bson_iter_utf8(&it, nullptr);
}

inline Bson field_doc(const Bson& doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc.get(), key) || !BSON_ITER_HOLDS_DOCUMENT(&it)) return Bson();
  uint32_t len;
  const uint8_t* data;
  bson_iter_document(&it, &len, &data);
  return Bson(data, len);
}

inline std::string field_string(const Bson& doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc.get(), key) || !BSON_ITER_HOLDS_UTF8(&it)) return {};
  return bson_iter_utf8(&it, nullptr);
}

inline std::pair<uint32_t, uint32_t> field_ts(const Bson& doc, const char* key) {
  bson_iter_t it;
  uint32_t t = 0, i = 0;
  if (bson_iter_init_find(&it, doc.get(), key) && BSON_ITER_HOLDS_TIMESTAMP(&it)) bson_iter_timestamp(&it, &t, &i);
  return {t, i};
}

inline std::vector<std::string> field_names(const Bson& doc) {
  std::vector<std::string> out;
  bson_iter_t it;
  bson_iter_init(&it, doc.get());
  while (bson_iter_next(&it)) out.emplace_back(bson_iter_key(&it));
  return out;
}

// Replaces what differs between runs: the top-level `_id` (the resume token) by "TOKEN",
// timestamps by "TS", dates by "DATE", UUIDs by "UUID", lsid by "LSID".
inline void mask_into(bson_t* out, const bson_t* in, bool top) {
  bson_iter_t it;
  bson_iter_init(&it, in);
  while (bson_iter_next(&it)) {
    const char* k = bson_iter_key(&it);
    std::string key = k;
    if (top && (key == "_id" || key == "lsid")) {
      BSON_APPEND_UTF8(out, k, key == "_id" ? "TOKEN" : "LSID");
      continue;
    }
    switch (bson_iter_type(&it)) {
      case BSON_TYPE_TIMESTAMP:
        BSON_APPEND_UTF8(out, k, "TS");
        break;
      case BSON_TYPE_DATE_TIME:
        BSON_APPEND_UTF8(out, k, "DATE");
        break;
      case BSON_TYPE_BINARY: {
        bson_subtype_t st;
        bson_iter_binary(&it, &st, nullptr, nullptr);
        if (st == BSON_SUBTYPE_UUID) {
          BSON_APPEND_UTF8(out, k, "UUID");
        } else {
          bson_append_iter(out, k, -1, &it);
        }
        break;
      }
      case BSON_TYPE_DOCUMENT:
      case BSON_TYPE_ARRAY: {
        uint32_t len;
        const uint8_t* data;
        bool doc = bson_iter_type(&it) == BSON_TYPE_DOCUMENT;
        if (doc) {
          bson_iter_document(&it, &len, &data);
        } else {
          bson_iter_array(&it, &len, &data);
        }
        bson_t sub, child;
        bson_init_static(&sub, data, len);
        if (doc) {
          bson_append_document_begin(out, k, -1, &child);
          mask_into(&child, &sub, false);
          bson_append_document_end(out, &child);
        } else {
          bson_append_array_begin(out, k, -1, &child);
          mask_into(&child, &sub, false);
          bson_append_array_end(out, &child);
        }
        break;
      }
      default:
        bson_append_iter(out, k, -1, &it);
    }
  }
}

// The event as canonical extended JSON with the run-dependent values masked.
inline std::string masked(const Bson& event) {
  bson_t out = BSON_INITIALIZER;
  mask_into(&out, event.get(), true);
  Bson b = Bson::steal(&out);
  return b.canonical_json();
}

inline std::string ts_hex(std::pair<uint32_t, uint32_t> ts) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "82%08X%08X", ts.first, ts.second);
  return buf;
}

// KeyString of a string value: 3C + bytes + 00.
inline std::string ks_string(const std::string& s) { return "3C" + hex_of(reinterpret_cast<const uint8_t*>(s.data()), s.size()) + "00"; }
// A field of an object: ctype, name, NUL, value.
inline std::string ks_field(const char* ctype, const std::string& name, const std::string& value) {
  return std::string(ctype) + hex_of(reinterpret_cast<const uint8_t*>(name.data()), name.size()) + "00" + value;
}

// A mongosim process and a client (testsupport::SimServer) with change-stream helpers.
class StreamServer : public testsupport::SimServer {
 public:
  static void init() { mongoc_init(); }
  using SimServer::SimServer;

  // {aggregate: coll|1, pipeline: [{$changeStream: spec}, extra...], cursor: {batchSize}}.
  Reply open(const std::string& db, const std::string& coll, const std::string& spec_json,
             const std::string& extra_stages = "", const std::string& extra_fields = "", int batch_size = -1) {
    std::string target = coll.empty() ? "1" : "\"" + coll + "\"";
    std::string cmd = "{\"aggregate\": " + target + ", \"pipeline\": [{\"$changeStream\": " + spec_json + "}" +
                      (extra_stages.empty() ? "" : ", " + extra_stages) + "], \"cursor\": {" +
                      (batch_size >= 0 ? "\"batchSize\": " + std::to_string(batch_size) : "") + "}" +
                      (extra_fields.empty() ? "" : ", " + extra_fields) + "}";
    return run(db, cmd);
  }

  Reply get_more(const std::string& db, const Batch& b, int max_time_ms = 100, int batch_size = 0) {
    std::string coll = b.ns.substr(b.ns.find('.') + 1);
    bson_t cmd = BSON_INITIALIZER;
    bson_append_int64(&cmd, "getMore", -1, b.cursor_id);
    BSON_APPEND_UTF8(&cmd, "collection", coll.c_str());
    bson_append_int64(&cmd, "maxTimeMS", -1, max_time_ms);
    if (batch_size > 0) bson_append_int64(&cmd, "batchSize", -1, batch_size);
    Bson c = Bson::steal(&cmd);
    return run(db, c);
  }

  // Collects events with getMore until `n` arrived (or `tries` empty batches passed).
  std::vector<Bson> drain(const std::string& db, Batch& b, size_t n, int tries = 30) {
    std::vector<Bson> out = b.events;
    while (out.size() < n && b.cursor_id != 0 && tries-- > 0) {
      Reply r = get_more(db, b);
      EXPECT_TRUE(r.ok()) << r.status.to_string();
      if (!r.ok()) break;
      Batch next = batch_of(r.doc, "nextBatch");
      for (auto& e : next.events) out.push_back(e);
      b.events = next.events;
      b.pbrt = next.pbrt;
      b.cursor_id = next.cursor_id;
    }
    return out;
  }

  std::string collection_uuid_hex(const std::string& db, const std::string& coll) {
    Bson reply = must(db, "{\"listCollections\": 1, \"filter\": {\"name\": \"" + coll + "\"}}").doc;
    Batch b = batch_of(reply, "firstBatch");
    if (b.events.empty()) return {};
    Bson info = field_doc(b.events[0], "info");
    bson_iter_t it;
    if (!bson_iter_init_find(&it, info.get(), "uuid")) return {};
    bson_subtype_t st;
    uint32_t len;
    const uint8_t* data;
    bson_iter_binary(&it, &st, &len, &data);
    return hex_of(data, len);
  }
};

// The emulated versions, as --server-version arguments.
inline const std::vector<std::string>& all_versions() {
  static const std::vector<std::string> v = {"4.4", "5.0", "6.0", "7.0", "8.0"};
  return v;
}

inline int version_number(const std::string& v) { return (v[0] - '0') * 10 + (v[2] - '0'); }

// A fresh server of the parameter's version for each test.
class VersionedStreamTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { StreamServer::init(); }
  void SetUp() override {
    server = std::make_unique<StreamServer>(std::vector<std::string>{"--server-version", GetParam()});
    ASSERT_TRUE(server->up());
    v = version_number(GetParam());
  }
  std::unique_ptr<StreamServer> server;
  int v = 70;
};

inline std::string version_test_name(const ::testing::TestParamInfo<std::string>& info) {
  return "v" + info.param.substr(0, 1) + info.param.substr(2, 1);
}

}  // namespace cstest
