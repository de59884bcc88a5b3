// TaskOptions: every setting of a migration task, with its default, in one place. The task
// file (task_file.h) fills it; docs/configuration.md documents each field with the same
// default (tests/task/config_doc_test.cc keeps the three in step). Passwords are never held
// here: an endpoint names the environment variable or file that holds its password.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bson.h"

namespace task {

enum class MigrationType { kSchema, kFull, kIncremental };
enum class IncrementalMethod { kAuto, kOplog, kChangeStream };
enum class ConflictMode { kPrecheckAndReport, kIgnoreAndProceed };
// Database and collection names only; field names are never changed.
enum class Capitalization { kSource, kDtsDefault, kLower, kUpper };
// kAuto: whatever the server reports; otherwise test-connection and precheck check it.
enum class Architecture { kAuto, kReplicaSet, kSharded, kStandalone };
enum class IndexBuild { kAfterCopy, kBeforeCopy };
enum class VerifyMode { kFull, kSample, kCount, kOff };
enum class VerifyReference { kBoth, kSource, kDestination };
enum class RuleTarget { kCollection, kDatabase };

struct TlsOptions {
  std::optional<bool> enabled;  // unset: the URI decides (off, on for mongodb+srv://)
  std::string ca_file;
  std::string cert_key_file;
  bool allow_invalid_hostnames = false;
};

// One side of the migration: a URI, or host/port; credentials by reference only.
struct EndpointOptions {
  std::string uri;              // mongodb:// or mongodb+srv://, without a password
  std::string host;             // instead of uri
  int port = 27017;
  std::string replica_set;      // with host: the set name (else a direct connection)
  std::string auth_db;          // empty: the URI's authSource, else "admin"
  std::string user;
  std::string password_env;     // name of an environment variable holding the password
  std::string password_file;    // path of a file holding the password (trailing newline dropped)
  TlsOptions tls;
  Architecture architecture = Architecture::kAuto;
  int connect_timeout_seconds = 10;

  bool configured() const { return !uri.empty() || !host.empty(); }
};

struct RenameRule {
  std::string from;  // "db" or "db.collection"
  std::string to;
};

// A batch rule: renames every database or collection name the `objects` pattern selects.
struct MappingRule {
  std::string objects = "*";    // namespace pattern over source names
  RuleTarget on = RuleTarget::kCollection;
  std::string prefix;
  std::string suffix;
  std::string regex;            // PCRE2; the first match is replaced
  std::string replacement;      // may use $1, ${name}
};

struct MappingOptions {
  bool allow_merge = false;
  std::vector<RenameRule> rename;
  std::vector<MappingRule> rules;
};

struct ObjectsOptions {
  std::vector<std::string> include;        // empty: every database but admin, local, config
  std::vector<std::string> exclude;
  std::map<std::string, common::Bson> filter;  // "db.collection" → query filter
};

struct RetryOptions {
  int connection_minutes = 720;  // 10..1440
  int other_minutes = 10;        // 1..1440, less than connection_minutes
};

struct FullThrottle {
  int64_t source_qps = 0;  // 0 = unlimited
  int64_t rps = 0;
  int64_t mbps = 0;
};
struct IncrementalThrottle {
  int64_t rps = 0;
  int64_t mbps = 0;
};
struct ThrottleOptions {
  FullThrottle full;
  IncrementalThrottle incremental;
};

// A per-document transform, the same in the full and the incremental phase.
struct EtlStep {
  std::string objects = "*";               // namespace pattern over source names
  std::optional<common::Bson> filter;      // keep only documents matching this query
  common::Bson set;                        // field → constant value
  std::vector<std::string> unset;
  std::map<std::string, std::string> rename;  // old field → new field
  common::Bson compute;                    // field → aggregation expression
};

struct AlertOptions {
  bool on_failure = true;
  bool on_retrying = false;
  int64_t lag_threshold_seconds = 0;  // 0 = no lag alert
  int64_t for_seconds = 60;           // the lag must last this long
  int64_t full_timeout_hours = 24;    // 0 = no timeout alert
  std::vector<std::string> webhooks;
  std::string command;
};

struct VerifyOptions {
  VerifyMode mode = VerifyMode::kFull;
  bool after_copy = true;
  int sample_percent = 10;   // 10..100, for mode sample
  bool incremental = true;   // re-check documents changed during the incremental phase
  int64_t max_read_rps = 0;
  int64_t max_read_mbps = 0;
  int timeout_hours = 24;    // 1..72
  VerifyReference reference = VerifyReference::kBoth;
  bool repair = false;
};

struct CopyOptions {
  int parallel_collections = 4;  // collections copied at once
  int parallel_partitions = 8;   // partitions of one collection copied at once
  int64_t partition_mb = 256;    // target partition size
  int batch_docs = 1000;         // documents per insert batch
  int64_t batch_mb = 16;         // bytes per insert batch
  int64_t queue_mb = 256;        // reader → writer queue bound
  IndexBuild index_build = IndexBuild::kAfterCopy;
};

struct IncrementalOptions {
  IncrementalMethod method = IncrementalMethod::kAuto;
  int lanes = 8;                 // parallel apply lanes
  int batch_ops = 1000;          // operations per apply batch
  int64_t queue_mb = 64;         // change reader → applier queue bound (keeps the phase under 256 MB)
  int checkpoint_seconds = 5;
};

struct PrecheckOptions {
  int64_t assumed_copy_mbps = 50;  // copy speed assumed for the oplog-window estimate
  int scan_seconds = 60;           // time limit for per-collection scans (large documents)
  int clock_skew_seconds = 30;     // larger skew between the hosts is a warning
};

struct TaskOptions {
  std::string name;  // empty: generated when the task is registered (task-<date>-<n>)
  EndpointOptions source;
  EndpointOptions destination;
  std::vector<MigrationType> migration_types = {MigrationType::kSchema, MigrationType::kFull,
                                                MigrationType::kIncremental};
  IncrementalOptions incremental;
  ConflictMode conflict_mode = ConflictMode::kPrecheckAndReport;
  Capitalization capitalization = Capitalization::kSource;
  ObjectsOptions objects;
  MappingOptions mapping;
  RetryOptions retry;
  ThrottleOptions throttle;
  std::vector<EtlStep> etl;
  AlertOptions alerts;
  VerifyOptions verify;
  std::map<std::string, std::string> tags;
  CopyOptions copy;
  PrecheckOptions precheck;

  bool has(MigrationType t) const;
};

// The names used in the task file ("precheck_and_report", "change_stream", ...).
const char* to_string(MigrationType v);
const char* to_string(IncrementalMethod v);
const char* to_string(ConflictMode v);
const char* to_string(Capitalization v);
const char* to_string(Architecture v);
const char* to_string(IndexBuild v);
const char* to_string(VerifyMode v);
const char* to_string(VerifyReference v);
const char* to_string(RuleTarget v);

}  // namespace task
