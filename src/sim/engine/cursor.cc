// Cursor registry and batch building (see cursor.h).
#include "sim/engine/cursor.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include <cstring>

namespace sim::engine {

using common::Result;
using common::Status;

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void BatchWriter::add(const uint8_t* data, uint32_t len) {
  auto key = common::array_key(static_cast<uint32_t>(count_), key_);
  bson_t doc;
  bson_init_static(&doc, data, len);
  bson_append_document(array_, key.data(), static_cast<int>(key.size()), &doc);
  ++count_;
  bytes_ += len;
}

int64_t CursorManager::add(std::shared_ptr<Cursor> c) {
  std::lock_guard lk(mu_);
  int64_t id = 0;
  do {
    uint64_t r = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
    id = static_cast<int64_t>(r & 0x7fffffffffffffffULL);
  } while (id == 0 || cursors_.count(id));
  c->id = id;
  c->last_used_ms = wall_now_ms();
  cursors_.emplace(id, std::move(c));
  ++total_opened_;
  return id;
}

Result<std::shared_ptr<Cursor>> CursorManager::checkout(int64_t id) {
  std::lock_guard lk(mu_);
  auto it = cursors_.find(id);
  if (it == cursors_.end() || it->second->killed) {
    return Status(common::kCursorNotFound, fmt::format("cursor id {} not found", id));
  }
  bool expected = false;
  if (!it->second->in_use.compare_exchange_strong(expected, true)) {
    return Status(kCursorInUse, fmt::format("cursor id {} is already in use", id));
  }
  return it->second;
}

void CursorManager::release(const std::shared_ptr<Cursor>& c) {
  std::lock_guard lk(mu_);
  c->last_used_ms = wall_now_ms();
  c->in_use.store(false);
}

bool CursorManager::erase(int64_t id) {
  std::lock_guard lk(mu_);
  return cursors_.erase(id) > 0;
}

bool CursorManager::kill(int64_t id) {
  std::lock_guard lk(mu_);
  auto it = cursors_.find(id);
  if (it == cursors_.end()) return false;
  it->second->killed = true;
  // A cursor in use is removed once its getMore returns (it sees `killed`).
  if (!it->second->in_use) cursors_.erase(it);
  return true;
}

void CursorManager::kill_session(const common::Bson& lsid) {
  std::lock_guard lk(mu_);
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    const auto& c = it->second;
    if (!c->lsid.empty() && c->lsid.size() == lsid.size() && std::memcmp(c->lsid.data(), lsid.data(), lsid.size()) == 0) {
      c->killed = true;
      if (!c->in_use) {
        it = cursors_.erase(it);
        continue;
      }
    }
    ++it;
  }
}

int CursorManager::reap(int64_t now_ms) {
  std::lock_guard lk(mu_);
  int n = 0;
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    const auto& c = it->second;
    if (!c->in_use && !c->no_timeout && now_ms - c->last_used_ms > timeout_ms_) {
      it = cursors_.erase(it);
      ++n;
      ++timed_out_;
    } else {
      ++it;
    }
  }
  return n;
}

bool CursorManager::exists(int64_t id) const {
  std::lock_guard lk(mu_);
  return cursors_.count(id) > 0;
}

std::shared_ptr<Cursor> CursorManager::find(int64_t id) const {
  std::lock_guard lk(mu_);
  auto it = cursors_.find(id);
  return it == cursors_.end() ? nullptr : it->second;
}

CursorManager::Stats CursorManager::stats() const {
  std::lock_guard lk(mu_);
  Stats s;
  s.open = static_cast<int64_t>(cursors_.size());
  for (const auto& [id, c] : cursors_) {
    if (c->no_timeout) ++s.no_timeout;
    if (c->in_use) ++s.pinned;
  }
  s.timed_out = timed_out_;
  s.total_opened = total_opened_;
  return s;
}

Status VectorCursorSource::fill(BatchWriter& out, bool* eof, Clock::time_point) {
  while (pos_ < docs_.size() && out.fits(docs_[pos_].size())) out.add(docs_[pos_++]);
  *eof = pos_ >= docs_.size();
  return Status::OK();
}

}  // namespace sim::engine
