#include "common/status.h"

#include <algorithm>
#include <unordered_map>

namespace common {

std::string code_name(int code) {
  static const std::unordered_map<int, const char*> names = {
      {0, "OK"},
      {1, "InternalError"},
      {2, "BadValue"},
      {4, "NoSuchKey"},
      {5, "GraphContainsCycle"},
      {6, "HostUnreachable"},
      {7, "HostNotFound"},
      {8, "UnknownError"},
      {9, "FailedToParse"},
      {10, "CannotMutateObject"},
      {11, "UserNotFound"},
      {12, "UnsupportedFormat"},
      {13, "Unauthorized"},
      {14, "TypeMismatch"},
      {15, "Overflow"},
      {16, "InvalidLength"},
      {17, "ProtocolError"},
      {18, "AuthenticationFailed"},
      {20, "IllegalOperation"},
      {22, "InvalidBSON"},
      {26, "NamespaceNotFound"},
      {27, "IndexNotFound"},
      {28, "PathNotViable"},
      {29, "NonExistentPath"},
      {30, "InvalidPath"},
      {31, "RoleNotFound"},
      {40, "ConflictingUpdateOperators"},
      {43, "CursorNotFound"},
      {47, "NoMatchingDocument"},
      {48, "NamespaceExists"},
      {50, "MaxTimeMSExpired"},
      {52, "DollarPrefixedFieldName"},
      {53, "InvalidIdField"},
      {54, "NotSingleValueField"},
      {55, "InvalidDBRef"},
      {56, "EmptyFieldName"},
      {57, "DottedFieldName"},
      {59, "CommandNotFound"},
      {64, "WriteConcernFailed"},
      {66, "ImmutableField"},
      {67, "CannotCreateIndex"},
      {68, "IndexAlreadyExists"},
      {72, "InvalidOptions"},
      {73, "InvalidNamespace"},
      {85, "IndexOptionsConflict"},
      {86, "IndexKeySpecsConflict"},
      {89, "NetworkTimeout"},
      {91, "ShutdownInProgress"},
      {96, "OperationFailed"},
      {112, "WriteConflict"},
      {115, "CommandNotSupported"},
      {117, "ConflictingOperationInProgress"},
      {121, "DocumentValidationFailure"},
      {136, "CappedPositionLost"},
      {165, "ViewDepthLimitExceeded"},
      {166, "CommandNotSupportedOnView"},
      {167, "OptionNotSupportedOnView"},
      {168, "InvalidPipelineOperator"},
      {175, "QueryPlanKilled"},
      {182, "InvalidViewDefinition"},
      {189, "PrimarySteppedDown"},
      {225, "TransactionTooOld"},
      {238, "NotImplemented"},
      {251, "NoSuchTransaction"},
      {256, "TransactionCommitted"},
      {258, "IncompleteTransactionHistory"},
      {260, "InvalidResumeToken"},
      {280, "ChangeStreamFatalError"},
      {286, "ChangeStreamHistoryLost"},
      {322, "APIVersionError"},
      {323, "APIStrictError"},
      {62, "CodeNotFound"},
      {79, "UnknownReplWriteConcern"},
      {100, "UnsatisfiableWriteConcern"},
      {123, "AmbiguousIndexKeyPattern"},
      {143, "CursorInUse"},
      {171, "CannotIndexParallelArrays"},
      {197, "InvalidIndexSpecificationOption"},
      {244, "TransactionExceededLifetimeLimit"},
      {262, "ExceededTimeLimit"},
      {263, "OperationNotSupportedInTransaction"},
      {267, "PreparedTransactionInProgress"},
      {292, "QueryExceededMemoryLimitNoDiskUseAllowed"},
      {359, "CannotConvertIndexToUnique"},
      {9001, "SocketException"},
      {10107, "NotWritablePrimary"},
      {10334, "BSONObjectTooLarge"},
      {11000, "DuplicateKey"},
      {11600, "InterruptedAtShutdown"},
      {11601, "Interrupted"},
      {13435, "NotPrimaryNoSecondaryOk"},
      {13436, "NotPrimaryOrSecondary"},
      {31082, "SearchNotEnabled"},
      {40415, "Location40415"},
  };
  auto it = names.find(code);
  if (it != names.end()) return it->second;
  return "Location" + std::to_string(code);
}

bool Status::has_label(std::string_view label) const {
  return std::find(labels_.begin(), labels_.end(), label) != labels_.end();
}

Status Status::with_context(std::string_view ctx) const {
  if (ok()) return *this;
  Status s(code_, std::string(ctx) + ": " + message_);
  s.labels_ = labels_;
  s.extra_info_ = extra_info_;
  return s;
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  return code_name() + " (" + std::to_string(code_) + "): " + message_;
}

}  // namespace common
