// Small SQLite helpers shared by the state store and the phases' own tables: a prepared
// statement that binds by position from 1, and errors as common::Status (busy/locked become
// ConflictingOperationInProgress, anything else InternalError).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace state {

inline common::Status sqlite_error(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  int mongo = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? common::kConflictingOperationInProgress
                                                            : common::kInternalError;
  return common::Status(mongo, "state store: " + what + ": " + sqlite3_errmsg(db));
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // Bytes as a BLOB; nullopt as NULL.
  Stmt& bind_blob(int i, const std::optional<std::string>& v) {
    if (v) {
      sqlite3_bind_blob(s_, i, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(s_, i);
    }
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, col)) : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  std::optional<std::string> blob(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    const void* p = sqlite3_column_blob(s_, col);
    return std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }
  common::Status error(const std::string& what) const { return sqlite_error(db_, what); }
  // Steps a statement that returns no rows.
  common::Status run(const std::string& what) {
    if (!ok()) return error(what);
    int rc = step();
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? common::Status::OK() : error(what);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

}  // namespace state
