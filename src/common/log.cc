#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace common {

void init_logging(std::string_view level, LogFormat format) {
  auto logger = spdlog::get("ms");
  if (!logger) logger = spdlog::stderr_color_mt("ms");
  spdlog::set_default_logger(logger);
  if (format == LogFormat::kJson) {
    spdlog::set_pattern(R"({"t":"%Y-%m-%dT%H:%M:%S.%e%z","s":"%l","msg":"%v"})");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace common
