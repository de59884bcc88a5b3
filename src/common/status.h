// Status and Result<T>: the one way code below main() reports failure.
// A Status carries a MongoDB error code (the server's numeric codes, see
// mongodb-reference.md §4.2), its codeName, a message and the server's error labels, so
// mongosim can reply with it and mongoshift can classify it without string matching.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace common {

// MongoDB error codes used by both programs. Names follow the server's error_codes.yml.
enum ErrorCode : int {
  kOK = 0,
  kInternalError = 1,
  kBadValue = 2,
  kNoSuchKey = 4,
  kGraphContainsCycle = 5,
  kHostUnreachable = 6,
  kHostNotFound = 7,
  kUnknownError = 8,
  kFailedToParse = 9,
  kCannotMutateObject = 10,
  kUserNotFound = 11,
  kUnsupportedFormat = 12,
  kUnauthorized = 13,
  kTypeMismatch = 14,
  kOverflow = 15,
  kInvalidLength = 16,
  kProtocolError = 17,
  kAuthenticationFailed = 18,
  kIllegalOperation = 20,
  kNamespaceNotFound = 26,
  kIndexNotFound = 27,
  kPathNotViable = 28,
  kNonExistentPath = 29,
  kInvalidPath = 30,
  kRoleNotFound = 31,
  kConflictingUpdateOperators = 40,
  kCursorNotFound = 43,
  kNamespaceExists = 48,
  kMaxTimeMSExpired = 50,
  kDollarPrefixedFieldName = 52,
  kInvalidIdField = 53,
  kNotSingleValueField = 54,
  kInvalidDBRef = 55,
  kEmptyFieldName = 56,
  kDottedFieldName = 57,
  kCommandNotFound = 59,
  kImmutableField = 66,
  kCannotCreateIndexCode = 67,
  kIndexAlreadyExists = 68,
  kInvalidOptions = 72,
  kInvalidNamespace = 73,
  kIndexOptionsConflict = 85,
  kIndexKeySpecsConflict = 86,
  kNetworkTimeout = 89,
  kShutdownInProgress = 91,
  kOperationFailed = 96,
  kWriteConcernFailed = 64,
  kNoSuchTransaction = 251,
  kOperationNotSupportedInTransaction = 263,
  kWriteConflict = 112,
  kAmbiguousIndexKeyPattern = 123,
  kCommandNotSupported = 115,
  kConflictingOperationInProgress = 117,
  kDocumentValidationFailure = 121,
  kNotImplemented = 238,
  kCappedPositionLost = 136,
  kInvalidPipelineOperator = 168,
  kCommandNotSupportedOnView = 166,
  kOptionNotSupportedOnView = 167,
  kViewDepthLimitExceeded = 165,
  kInvalidViewDefinition = 182,
  kInterrupted = 11601,
  kDuplicateKey = 11000,
  kNotWritablePrimary = 10107,
  kBSONObjectTooLarge = 10334,
  kNotPrimaryNoSecondaryOk = 13435,
  kNotPrimaryOrSecondary = 13436,
  kInterruptedAtShutdown = 11600,
  kPrimarySteppedDown = 189,
  kSocketException = 9001,
  kChangeStreamHistoryLost = 286,
  kLocation16755 = 16755,
  kTransactionTooOld = 225,
  kTransactionCommitted = 256,
  kInvalidBSON = 22,
  kQueryPlanKilled = 175,
  kAPIStrictError = 323,
  kAPIVersionError = 322,
  kUnrecognizedCommandField = 40415,
};

// The server's codeName for a code ("BadValue", "DuplicateKey", ...); "Location<N>" when the
// code has no name.
std::string code_name(int code);

class Status {
 public:
  Status() = default;
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }

  bool ok() const { return code_ == kOK; }
  int code() const { return code_; }
  std::string code_name() const { return common::code_name(code_); }
  const std::string& message() const { return message_; }
  const std::vector<std::string>& labels() const { return labels_; }

  Status& with_label(std::string label) {
    labels_.push_back(std::move(label));
    return *this;
  }
  bool has_label(std::string_view label) const;

  // Prefixes the message with context ("while copying db.c: ...").
  Status with_context(std::string_view ctx) const;

  std::string to_string() const;  // "BadValue (2): message"

  // Extra fields for the error reply, as the raw bytes of a BSON document (for example
  // DuplicateKey's keyPattern/keyValue, or errInfo of DocumentValidationFailure).
  const std::string& extra_info() const { return extra_info_; }
  Status& with_extra_info(std::string bson_bytes) {
    extra_info_ = std::move(bson_bytes);
    return *this;
  }

 private:
  int code_ = kOK;
  std::string message_;
  std::vector<std::string> labels_;
  std::string extra_info_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace common

// Propagates a non-OK Status from an expression returning Status.
#define MS_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::common::Status _ms_st = (expr);            \
    if (!_ms_st.ok()) return _ms_st;             \
  } while (0)

#define MS_CONCAT_INNER(a, b) a##b
#define MS_CONCAT(a, b) MS_CONCAT_INNER(a, b)
// MS_ASSIGN_OR_RETURN(auto x, expr_returning_result);
#define MS_ASSIGN_OR_RETURN(lhs, rexpr) MS_ASSIGN_OR_RETURN_IMPL(MS_CONCAT(_ms_r, __LINE__), lhs, rexpr)
#define MS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                             \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
