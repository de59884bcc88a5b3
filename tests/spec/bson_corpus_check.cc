// bson_corpus_check: the BSON corpus (../shared/spec-tests/bson-corpus) against a server.
//  - every `valid` case (and its degenerate form, when it has one) is wrapped as the fields of
//    a document {_id: N, ...case fields}, inserted, read back by _id, and must come back
//    byte for byte (a server stores and returns BSON as it was sent);
//  - every `decodeErrors` case is sent as the document of an insert (an OP_MSG document
//    sequence built here, so no client library reshapes it) and must get an error reply, and
//    the server must keep serving afterwards. The server checks BSON structure only, not
//    UTF-8 (mongo/bson/bson_validate.h: "The checks are structural only"), so a case that is
//    structurally valid (only its strings are bad UTF-8) must instead be stored and read
//    back unchanged, as mongod does.
// Prints one line per failure and "N passed, N failed, N skipped"; exit 0 when all pass, 1 on
// a failure, 77 when the corpus is absent (ctest SKIP_RETURN_CODE).
#include <mongoc/mongoc.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "bson_util.h"
#include "support/mongosim_process.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kDb = "bson_corpus";

std::string corpus_dir() {
  if (const char* e = std::getenv("MONGOSHIFT_SPEC_TESTS"); e && *e) return std::string(e) + "/bson-corpus";
  return std::string(MONGOSHIFT_SOURCE_DIR) + "/../shared/spec-tests/bson-corpus";
}

std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789ABCDEF";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

void put_i32(std::string* out, int32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((static_cast<uint32_t>(v) >> (8 * i)) & 0xff));
}

int32_t get_i32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return static_cast<int32_t>(v);
}

// A raw TCP connection for messages libmongoc will not send (invalid BSON).
class RawSocket {
 public:
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(const std::string& host_port) {
    auto colon = host_port.rfind(':');
    std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
    for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) fd_ = fd;
      else ::close(fd);
    }
    freeaddrinfo(res);
    return fd_ >= 0;
  }
  bool send_all(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads one whole message (header's length), or nullopt on close/timeout.
  std::optional<std::string> read_message(int timeout_ms) {
    std::string buf;
    while (buf.size() < 4 || buf.size() < static_cast<size_t>(get_i32(buf, 0))) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return std::nullopt;
      buf.append(tmp, static_cast<size_t>(n));
      if (buf.size() >= 4 && get_i32(buf, 0) < 16) return std::nullopt;
    }
    return buf;
  }

 private:
  int fd_ = -1;
};

// OP_MSG {insert: coll, $db} with one document sequence "documents" holding `doc` as given.
std::string insert_message(const std::string& coll, const std::string& doc, int32_t request_id) {
  spec::Doc body;
  BSON_APPEND_UTF8(body.get(), "insert", coll.c_str());
  BSON_APPEND_UTF8(body.get(), "$db", kDb);
  std::string msg;
  put_i32(&msg, 0);  // length, patched below
  put_i32(&msg, request_id);
  put_i32(&msg, 0);
  put_i32(&msg, 2013);  // OP_MSG
  put_i32(&msg, 0);     // flagBits
  msg.push_back(0);     // kind 0: body
  msg.append(reinterpret_cast<const char*>(bson_get_data(body.get())), body.get()->len);
  msg.push_back(1);  // kind 1: document sequence
  const std::string ident = "documents";
  put_i32(&msg, static_cast<int32_t>(4 + ident.size() + 1 + doc.size()));
  msg.append(ident);
  msg.push_back(0);
  msg.append(doc);
  std::string len;
  put_i32(&len, static_cast<int32_t>(msg.size()));
  msg.replace(0, 4, len);
  return msg;
}

// The body (kind-0 section) of an OP_MSG reply, when the message is one.
std::optional<spec::Doc> reply_body(const std::string& msg) {
  if (msg.size() < 16 + 4 + 1 + 5 || get_i32(msg, 12) != 2013 || msg[20] != 0) return std::nullopt;
  int32_t len = get_i32(msg, 21);
  bson_t b;
  if (len < 5 || static_cast<size_t>(len) > msg.size() - 21 ||
      !bson_init_static(&b, reinterpret_cast<const uint8_t*>(msg.data()) + 21, static_cast<size_t>(len)))
    return std::nullopt;
  return spec::Doc(&b);
}

struct Counts {
  int passed = 0, failed = 0;
};

void fail(Counts* c, const std::string& what) {
  ++c->failed;
  std::cout << "FAIL " << what << "\n";
}

bool ping(mongoc_client_t* client) {
  spec::Doc cmd;
  BSON_APPEND_INT32(cmd.get(), "ping", 1);
  bson_error_t e;
  return mongoc_client_command_simple(client, "admin", cmd.get(), nullptr, nullptr, &e);
}

// Inserts {_id: id, <fields of case_doc>} and reads it back; empty on a byte-exact round trip.
std::string round_trip(mongoc_collection_t* coll, int32_t id, const bson_t* case_doc) {
  spec::Doc doc;
  BSON_APPEND_INT32(doc.get(), "_id", id);
  bson_concat(doc.get(), case_doc);
  // validate: false: the corpus has $-prefixed and dotted keys, which libmongoc refuses
  // client-side by default but a 5.0+ server stores.
  spec::Doc opts;
  BSON_APPEND_BOOL(opts.get(), "validate", false);
  bson_error_t e;
  if (!mongoc_collection_insert_one(coll, doc.get(), opts.get(), nullptr, &e))
    return std::string("insert failed: ") + e.message;
  spec::Doc filter, fopts;
  BSON_APPEND_INT32(filter.get(), "_id", id);
  mongoc_cursor_t* cur = mongoc_collection_find_with_opts(coll, filter.get(), fopts.get(), nullptr);
  const bson_t* got = nullptr;
  std::string why;
  if (!mongoc_cursor_next(cur, &got)) {
    why = mongoc_cursor_error(cur, &e) ? std::string("find failed: ") + e.message : "document not found";
  } else if (got->len != doc.get()->len || std::memcmp(bson_get_data(got), bson_get_data(doc.get()), got->len) != 0) {
    why = "sent " + to_hex(bson_get_data(doc.get()), doc.get()->len) + ", got " + to_hex(bson_get_data(got), got->len);
  }
  mongoc_cursor_destroy(cur);
  return why;
}

}  // namespace

int main() {
  fs::path dir = corpus_dir();
  if (!fs::is_directory(dir)) {
    std::cout << "SKIPPED bson-corpus: not found at " << dir.string()
              << " (set MONGOSHIFT_SPEC_TESTS)\n0 passed, 0 failed, 0 skipped\n";
    return 77;
  }
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());

  mongoc_init();
  std::optional<testsupport::MongosimProcess> proc;
  std::string uri = testsupport::external_uri(), host_port;
  if (uri.empty()) {
    auto p = testsupport::MongosimProcess::start({"--enable-test-commands"});
    if (!p.ok()) {
      std::cout << "cannot start mongosim: " << p.status().message() << "\n0 passed, 1 failed, 0 skipped\n";
      return 1;
    }
    proc.emplace(std::move(p).value());
    uri = proc->uri();
    host_port = proc->host_port();
  }
  bson_error_t err;
  mongoc_uri_t* muri = mongoc_uri_new_with_error(uri.c_str(), &err);
  mongoc_client_t* client = muri ? mongoc_client_new_from_uri(muri) : nullptr;
  if (muri) mongoc_uri_destroy(muri);
  if (!client || !ping(client)) {
    std::cout << "cannot reach " << uri << "\n0 passed, 1 failed, 0 skipped\n";
    return 1;
  }
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  if (host_port.empty()) {
    const mongoc_host_list_t* hosts = mongoc_uri_get_hosts(mongoc_client_get_uri(client));
    host_port = hosts ? hosts->host_and_port : "";
  }
  {
    mongoc_database_t* d = mongoc_client_get_database(client, kDb);
    mongoc_database_drop_with_opts(d, nullptr, &err);
    mongoc_database_destroy(d);
  }

  Counts counts;
  int skipped = 0;
  int32_t next_id = 0, request_id = 1;
  for (const auto& f : files) {
    std::string load_err;
    auto file = spec::load_json_file(f.string(), &load_err);
    const std::string name = f.stem().string();
    if (!file) {
      fail(&counts, name + ": cannot parse: " + load_err);
      continue;
    }
    mongoc_collection_t* coll = mongoc_client_get_collection(client, kDb, name.c_str());
    auto valid = spec::get_doc(file->get(), "valid").value_or(spec::Doc());
    bson_iter_t it;
    bson_iter_init(&it, valid.get());
    while (bson_iter_next(&it)) {
      spec::Doc c = spec::iter_doc(&it);
      std::string desc = name + ": " + spec::get_str(c.get(), "description").value_or("?");
      for (const char* field : {"canonical_bson", "degenerate_bson"}) {
        auto hex = spec::get_str(c.get(), field);
        if (!hex) continue;
        auto bytes = from_hex(*hex);
        bson_t cb;
        if (!bytes || !bson_init_static(&cb, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size())) {
          fail(&counts, desc + " (" + field + "): not a BSON document in the corpus");
          continue;
        }
        std::string why = round_trip(coll, ++next_id, &cb);
        if (why.empty()) ++counts.passed;
        else fail(&counts, desc + " (" + field + "): " + why);
      }
    }
    mongoc_collection_destroy(coll);

    auto decode_errors = spec::get_doc(file->get(), "decodeErrors").value_or(spec::Doc());
    bson_iter_init(&it, decode_errors.get());
    while (bson_iter_next(&it)) {
      spec::Doc c = spec::iter_doc(&it);
      std::string desc = name + ": decode error: " + spec::get_str(c.get(), "description").value_or("?");
      auto bytes = from_hex(spec::get_str(c.get(), "bson").value_or(""));
      if (!bytes) {
        fail(&counts, desc + ": bad hex in the corpus");
        continue;
      }
      bson_t structural;
      if (bson_init_static(&structural, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()) &&
          bson_validate(&structural, BSON_VALIDATE_NONE, nullptr)) {
        mongoc_collection_t* dc = mongoc_client_get_collection(client, kDb, (name + "_decode_errors").c_str());
        std::string why = round_trip(dc, ++next_id, &structural);
        mongoc_collection_destroy(dc);
        if (why.empty()) ++counts.passed;
        else fail(&counts, desc + " (structurally valid, so stored as sent): " + why);
        continue;
      }
      RawSocket s;
      if (!s.connect(host_port) || !s.send_all(insert_message(name + "_decode_errors", *bytes, request_id++))) {
        fail(&counts, desc + ": cannot send to " + host_port);
        continue;
      }
      auto reply = s.read_message(5000);
      std::optional<spec::Doc> body = reply ? reply_body(*reply) : std::nullopt;
      std::string why;
      if (!reply) why = "no reply (connection closed or timed out)";
      else if (!body) why = "reply is not an OP_MSG";
      else if (spec::get_int(body->get(), "ok").value_or(1) != 0) why = "accepted: " + body->json();
      else if (spec::get_int(body->get(), "code").value_or(0) == 0) why = "error reply without a code: " + body->json();
      if (!ping(client)) {
        fail(&counts, desc + ": the server stopped answering");
        break;
      }
      if (why.empty()) ++counts.passed;
      else fail(&counts, desc + ": " + why);
    }
    if (bson_count_keys(valid.get()) == 0 && bson_count_keys(decode_errors.get()) == 0) ++skipped;
  }
  mongoc_client_destroy(client);
  mongoc_cleanup();
  std::cout << counts.passed << " passed, " << counts.failed << " failed, " << skipped
            << " skipped (files with no valid or decodeErrors cases)\n";
  return counts.failed ? 1 : 0;
}
