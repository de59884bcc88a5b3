// From an endpoint of the task file to a client::ConnectSpec: the URI (or one built from
// host/port), the credentials with the password read from its environment variable or file,
// TLS options and the connect timeout. The password exists only in the returned spec.
#pragma once

#include <string>

#include "client/client.h"
#include "common/status.h"
#include "task/options.h"

namespace task {

common::Result<client::ConnectSpec> connect_spec(const EndpointOptions& endpoint);

// What to show for an endpoint: its redacted URI and user ("mongodb://h:1/ as alice@admin").
std::string describe(const EndpointOptions& endpoint);

}  // namespace task
