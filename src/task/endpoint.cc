#include "task/endpoint.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace task {

namespace {

std::string host_uri(const EndpointOptions& e) {
  std::string host = e.host.find(':') != std::string::npos && e.host.front() != '[' ? "[" + e.host + "]" : e.host;
  std::string uri = "mongodb://" + host + ":" + std::to_string(e.port) + "/";
  // The guide connects to one named server (the primary); with a set name the driver
  // discovers the set from it.
  uri += e.replica_set.empty() ? "?directConnection=true" : "?replicaSet=" + e.replica_set;
  return uri;
}

common::Result<std::string> read_password(const EndpointOptions& e) {
  if (!e.password_env.empty()) {
    const char* v = std::getenv(e.password_env.c_str());
    if (!v || !*v) {
      return common::Status(common::kBadValue, "environment variable " + e.password_env + " is not set");
    }
    return std::string(v);
  }
  if (!e.password_file.empty()) {
    std::ifstream in(e.password_file, std::ios::binary);
    if (!in) return common::Status(common::kBadValue, "cannot read " + e.password_file + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string pw = ss.str();
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    if (pw.empty()) return common::Status(common::kBadValue, e.password_file + " is empty");
    return pw;
  }
  return std::string();
}

}  // namespace

common::Result<client::ConnectSpec> connect_spec(const EndpointOptions& e) {
  client::ConnectSpec spec;
  spec.uri = e.uri.empty() ? host_uri(e) : e.uri;
  spec.username = e.user;
  spec.auth_source = e.auth_db;
  // A user without auth_db: the host form authenticates against admin; a URI keeps its own
  // authSource (or its database), as libmongoc decides.
  if (!e.user.empty() && e.auth_db.empty() && e.uri.empty()) spec.auth_source = "admin";
  MS_ASSIGN_OR_RETURN(spec.password, read_password(e));
  spec.tls = e.tls.enabled;
  spec.tls_ca_file = e.tls.ca_file;
  spec.tls_cert_key_file = e.tls.cert_key_file;
  spec.tls_allow_invalid_hostnames = e.tls.allow_invalid_hostnames;
  spec.connect_timeout_ms = e.connect_timeout_seconds * 1000;
  return spec;
}

std::string describe(const EndpointOptions& e) {
  std::string out = client::redact_uri(e.uri.empty() ? host_uri(e) : e.uri);
  if (!e.user.empty()) out += " as " + e.user + (e.auth_db.empty() ? "" : "@" + e.auth_db);
  return out;
}

}  // namespace task
