// Fail points, as mongod's FailPoint registry and its test commands run them
// (mongodb-reference.md §3.11; the server's src/mongo/util/fail_point.cpp and
// CommandHelpers::evaluateFailCommandFailPoint in src/mongo/db/commands.cpp).
//
// configureFailPoint sets a fail point's mode (off, alwaysOn, {times: n}, {skip: n},
// {activationProbability: p}) and data; every firing counts one "entry", and the command
// replies with the entries counted before the change ({count: n}). The fail points mongosim
// implements, and where a command meets them:
//   failCommand                     before authorization: errorLabels, blockConnection,
//                                   closeConnection, errorCode (+ errorExtraInfo), filtered by
//                                   failCommands / failAllCommands, appName, namespace,
//                                   threadName; after the command ran: writeConcernError
//   failGetMoreAfterCursorCheckout  a getMore whose cursor exists fails with data.errorCode
//                                   (InternalError by default); the cursor is deleted
//   onPrimaryTransactionalWrite     a retryable write: the connection is closed after it
//                                   committed (closeConnection, default true), or
//                                   failBeforeCommitExceptionCode fails it before it commits
//   maxTimeAlwaysTimeOut            a command with maxTimeMS fails with MaxTimeMSExpired
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/bson.h"
#include "common/status.h"
#include "sim/command.h"

namespace sim::server {

class ServerState;

class FailPointRegistry {
 public:
  FailPointRegistry();
  ~FailPointRegistry();
  FailPointRegistry(const FailPointRegistry&) = delete;
  FailPointRegistry& operator=(const FailPointRegistry&) = delete;

  // configureFailPoint: {configureFailPoint: name, mode, data?}. Returns the times the fail
  // point had been entered before this call; FailPointSetFailed (266) for an unknown name and
  // the server's errors for a bad mode or data.
  common::Result<int64_t> configure(const bson_t* cmd);
  // Times the named fail point has fired so far (waitForFailPoint).
  common::Result<int64_t> times_entered(std::string_view name) const;
  // One pass through a fail point: when it is on and `pred(data)` holds, its mode decides
  // whether it fires; a firing counts one entry and returns a copy of its data.
  std::optional<common::Bson> evaluate(std::string_view name, const std::function<bool(const bson_t*)>& pred);
  // True while any fail point is on: commands skip all fail point work otherwise.
  bool any_active() const { return active_.load(std::memory_order_acquire) > 0; }
  // The supported names, sorted.
  std::vector<std::string> names() const;

 private:
  struct Point;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Point>, std::less<>> points_;
  std::atomic<int> active_{0};
};

// What the fail points do to one command, in the order mongod meets them. The dispatcher
// creates one per command and calls the steps it reaches; every step is a no-op while no
// fail point is on.
class CommandFailPoints {
 public:
  CommandFailPoints(ServerState& state, ClientInfo& client, const CommandRequest& req, const CommandDef& def);

  // failCommand, before authorization: may sleep (blockConnection), ask for the connection
  // to be closed without a reply (*close), or return the error to reply with instead of
  // running the command. A bad blockTimeMS is InvalidOptions (72), as on mongod.
  common::Status before_auth(bool* close);
  // Inside the command, before it does its work: maxTimeAlwaysTimeOut,
  // failGetMoreAfterCursorCheckout (deletes the cursor), and onPrimaryTransactionalWrite's
  // failBeforeCommitExceptionCode (with its closeConnection). For insert/update/delete that
  // failure is the first statement's write error: the OK reply is written to `reply` and
  // *replied set, and the command must not run.
  common::Status before_run(bool* close, bson_t* reply, bool* replied);
  // After the command ran: the writeConcernError document to attach to its reply (OK or
  // not) when failCommand asks for one and the command takes a write concern; and
  // onPrimaryTransactionalWrite's closeConnection after a committed retryable write.
  std::optional<common::Bson> after_run(bool* close);

  // failCommand's errorLabels once it applied to this command: the labels every error (or
  // writeConcernError) reply of the command carries instead of the server's, possibly none.
  const std::optional<common::Bson>& labels_override() const { return labels_override_; }

 private:
  bool matches(const bson_t* data, bool for_get_more) const;
  std::string ns() const;

  ServerState& state_;
  ClientInfo& client_;
  const CommandRequest& req_;
  const CommandDef& def_;
  std::optional<common::Bson> labels_override_;
  bool retryable_write_hit_ = false;  // onPrimaryTransactionalWrite fired before the command ran
  bool retryable_write_close_ = false;
};

// `st` with `labels` (a BSON array) as its errorLabels, which the dispatcher's error reply
// uses instead of the server's own labels (an empty array: no labels).
common::Status with_error_labels(const common::Status& st, const bson_t* labels);

}  // namespace sim::server
