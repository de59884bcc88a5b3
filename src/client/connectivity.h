// Connectivity diagnosis of one endpoint, step by step: name resolution (SRV included), TCP,
// TLS, authentication, server version and topology, and the privileges found. Each kind of
// failure has its own message naming the host (refused, timed out, certificate rejected,
// authentication failed, not authorized...). The whole diagnosis is bounded by the
// endpoint's connect timeout, never by a retry window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/privileges.h"

namespace client {

enum class Topology { kUnknown, kStandalone, kReplicaSet, kSharded };
const char* to_string(Topology t);

enum class Failure {
  kNone,
  kResolution,         // the name (or SRV record) does not resolve
  kRefused,            // nothing listens on the port
  kTimeout,            // no answer within the connect timeout
  kUnreachable,        // no route to the host
  kTlsRequired,        // the server wants TLS and the endpoint has it off
  kTlsNotOffered,      // the endpoint wants TLS and the server does not speak it
  kCertificate,        // the server's certificate was rejected
  kClientCertificate,  // the server rejected (or needs) our client certificate
  kAuthentication,     // wrong user or password
  kNotAuthorized,      // authenticated, but lacking a needed privilege
  kProtocol,           // something answered that is not a MongoDB server
  kOther,
};
const char* to_string(Failure f);

enum class StepStatus { kPassed, kFailed, kSkipped };
const char* to_string(StepStatus s);

struct Step {
  std::string name;  // resolution, tcp, tls, authentication, server, topology, privileges
  StepStatus status = StepStatus::kSkipped;
  std::string detail;
};

struct ServerFacts {
  std::string version;            // buildInfo.version, "7.0.14"
  std::vector<int> version_array;  // {7, 0, 14}
  int max_wire_version = 0;
  Topology topology = Topology::kUnknown;
  std::string set_name;
  std::string host;               // the host that answered (the primary of a set)
  std::vector<std::string> members;
  int64_t clock_skew_ms = 0;      // server clock (hello.localTime) minus ours
  bool clock_known = false;
};

struct ConnectivityReport {
  std::string uri;  // redacted
  std::vector<Step> steps;
  Failure failure = Failure::kNone;
  std::string message;  // one line naming the host and the cause; empty when ok
  ServerFacts server;
  std::optional<Privileges> privileges;
  bool ok() const { return failure == Failure::kNone; }
};

// `requirements` (possibly empty) are checked against the privileges found; the first
// unmet one fails the privileges step as kNotAuthorized. A requirement group lists
// alternatives: it is met when any one of them is.
using RequirementGroup = std::vector<Requirement>;
ConnectivityReport test_connectivity(const ConnectSpec& spec, const std::vector<RequirementGroup>& requirements = {});

// The major.minor of a version string as a comparable number (7.0 → 70, 4.4 → 44).
int version_number(const std::vector<int>& version_array);

}  // namespace client
