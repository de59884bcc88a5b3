// Randomized robustness tests: thousands of random and mutated wire messages (bad lengths,
// truncated sections, bad BSON, random opcodes, huge declared sizes, corrupt compressed
// payloads) fed to the parsers and dispatcher in process, and over raw sockets to a live
// mongosim, which must keep answering ping.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <random>

#include "common/log.h"

#include "sim/dispatch_harness.h"
#include "sim/raw_wire_client.h"
#include "support/mongosim_process.h"

namespace {

using namespace sim::server;

void set_i32(std::string& m, size_t at, int32_t v) {
  if (at + 4 <= m.size()) std::memcpy(m.data() + at, &v, 4);
}

// Well-formed seeds the mutator starts from.
std::vector<std::string> seed_messages() {
  std::vector<std::string> seeds;
  seeds.push_back(simtest::op_msg(R"({"ping": 1, "$db": "admin"})"));
  seeds.push_back(simtest::op_msg(R"({"hello": 1, "helloOk": true, "compression": ["zstd"], "$db": "admin"})"));
  seeds.push_back(simtest::op_msg(R"({"buildInfo": 1, "$db": "admin"})", kFlagChecksumPresent));
  seeds.push_back(simtest::op_msg(R"({"getParameter": "*", "$db": "admin"})"));
  auto body = simtest::doc(R"({"insert": "c", "$db": "test"})");
  DocumentSequence seq{"documents", {simtest::doc(R"({"_id": 1, "a": [1, {"b": "x"}]})"), simtest::doc(R"({"_id": 2})")}};
  seeds.push_back(encode_op_msg(body.get(), 3, 0, 0, {seq}));
  auto q = simtest::doc(R"({"$query": {"isMaster": 1}, "$readPreference": {"mode": "primary"}})");
  seeds.push_back(encode_op_query(q.get(), "admin.$cmd", 4));
  for (auto c : {Compressor::kSnappy, Compressor::kZlib, Compressor::kZstd, Compressor::kNoop}) {
    auto m = encode_compressed(seeds[0], c);
    if (m.ok()) seeds.push_back(*m);
  }
  return seeds;
}

// One mutation of a seed; keeps the header length honest unless the mutation is about it.
std::string mutate(const std::string& seed, std::mt19937& rng) {
  std::string m = seed;
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int kind = static_cast<int>(pick(10));
  bool fix_length = true;
  switch (kind) {
    case 0:  // flip random bytes after the header
      for (int i = 0, n = 1 + static_cast<int>(pick(8)); i < n && m.size() > 16; ++i) m[16 + pick(m.size() - 16)] ^= static_cast<char>(1 + pick(255));
      break;
    case 1:  // truncate
      m.resize(16 + pick(m.size() - 16));
      break;
    case 2:  // random opcode
      set_i32(m, 12, static_cast<int32_t>(rng()));
      break;
    case 3:  // bad declared message length
      set_i32(m, 0, static_cast<int32_t>(rng()));
      fix_length = false;
      break;
    case 4:  // bad inner BSON length
      set_i32(m, 16 + 5, static_cast<int32_t>(rng() % 100000));
      break;
    case 5:  // random tail garbage
      for (size_t i = 0, n = pick(64); i < n; ++i) m.push_back(static_cast<char>(rng()));
      break;
    case 6:  // random flags
      set_i32(m, 16, static_cast<int32_t>(rng()));
      break;
    case 7:  // OP_COMPRESSED with a random compressor id / size
      if (m.size() > 25) {
        m[24] = static_cast<char>(pick(6));
        set_i32(m, 20, static_cast<int32_t>(rng() % 1000));
      }
      break;
    case 8: {  // completely random message
      m.assign(16 + pick(200), '\0');
      for (auto& ch : m) ch = static_cast<char>(rng());
      static const int32_t kOps[] = {kOpMsg, kOpQuery, kOpCompressed, kOpReply, kOpInsert, kOpGetMore, 1234};
      set_i32(m, 12, kOps[pick(7)]);
      break;
    }
    default:  // splice two seeds' bodies
      m.insert(16 + pick(m.size() - 16), seed.substr(16, pick(seed.size() - 16)));
      break;
  }
  if (fix_length && m.size() >= 16) set_i32(m, 0, static_cast<int32_t>(m.size()));
  return m;
}

TEST(Fuzz, InProcessParsersAndDispatcherSurviveMutatedMessages) {
  spdlog::set_level(spdlog::level::off);  // every rejected message logs a warning
  simtest::DispatchHarness h;
  std::mt19937 rng(20260521);
  auto seeds = seed_messages();
  int replies = 0, closes = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = mutate(seeds[i % seeds.size()], rng);
    // The raw parsers directly...
    auto decoded = decode_message(m);
    if (decoded.ok()) {
      (void)parse_op_msg(*decoded);
      (void)parse_op_query(decoded->body);
    }
    // ...and the whole request path.
    sim::ClientInfo client;
    client.connection_id = i + 2;
    auto out = h.dispatcher.handle_message(client, m);
    if (!out.reply.empty()) {
      ++replies;
      EXPECT_TRUE(decode_message(out.reply).ok());
    }
    if (out.close) ++closes;
  }
  EXPECT_GT(replies, 0);
  EXPECT_GT(closes, 0);
  auto ping = h.command(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(simtest::int_field(ping, "ok"), 1);
}

TEST(Fuzz, InProcessRandomBytesAsBsonNeverCrash) {
  std::mt19937 rng(7);
  auto seed = simtest::doc(R"({"a": {"b": [1, 2, {"c": "d"}]}, "e": {"$oid": "000000000000000000000001"}, "f": 1.5})");
  std::string bytes(seed.bytes());
  for (int i = 0; i < 20000; ++i) {
    std::string b = bytes;
    for (int k = 0; k < 3; ++k) b[4 + rng() % (b.size() - 4)] = static_cast<char>(rng());
    auto r = parse_untrusted_bson(reinterpret_cast<const uint8_t*>(b.data()), b.size());
    if (r.ok()) {
      EXPECT_FALSE(r->json().empty());
    }
  }
}

TEST(Fuzz, LiveServerSurvivesThousandsOfBadMessages) {
  auto started = testsupport::MongosimProcess::start();
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  auto& p = *started;
  std::mt19937 rng(99);
  auto seeds = seed_messages();
  const int kMessages = 3000, kPerConnection = 10;
  for (int sent = 0; sent < kMessages;) {
    simtest::RawConnection conn;
    ASSERT_TRUE(conn.connect(p.host_port()));
    for (int k = 0; k < kPerConnection && sent < kMessages; ++k, ++sent) {
      std::string m = mutate(seeds[static_cast<size_t>(sent) % seeds.size()], rng);
      if (sent % 97 == 0) {
        // A huge declared size with nothing behind it.
        set_i32(m, 0, kMaxMessageSizeBytes - static_cast<int32_t>(rng() % 1000));
      }
      if (!conn.send(m)) break;  // the server closed this connection
    }
    // End the stream; the server finishes (or drops) what it has and closes.
    conn.shutdown_write();
    EXPECT_TRUE(conn.wait_closed(5000)) << "server kept a half-closed connection open";
  }
  simtest::RawConnection check;
  ASSERT_TRUE(check.connect(p.host_port()));
  EXPECT_EQ(simtest::int_field(check.command(R"({"ping": 1, "$db": "admin"})"), "ok"), 1);
  EXPECT_EQ(p.stop(), 0);
}

}  // namespace
