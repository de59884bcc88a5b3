// A spdlog sink that keeps recent log lines in ServerContext (as mongod's RamLog), in the
// JSON shape getLog returns and mongosh parses ({"t":{"$date":...},"s":"I","c":...,"msg":...}).
#pragma once

#include <spdlog/sinks/sink.h>

#include <memory>

#include "sim/command.h"

namespace sim::server {

std::shared_ptr<spdlog::sinks::sink> make_log_ring_sink(ServerContext& ctx);

}  // namespace sim::server
