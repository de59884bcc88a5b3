// Logging over spdlog. One process-wide logger, configured once in main(); library code logs
// through these helpers and never prints secrets (URIs are redacted by their owners).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace common {

enum class LogFormat { kText, kJson };

// Sets the level ("trace".."off") and output (stderr). Safe to call more than once.
void init_logging(std::string_view level, LogFormat format = LogFormat::kText);

}  // namespace common

#define MS_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define MS_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define MS_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define MS_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define MS_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
