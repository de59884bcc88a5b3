// The getLog ring: every log record becomes one mongod-style JSON line.
#include "sim/server/log_ring.h"

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <ctime>
#include <mutex>

namespace sim::server {

namespace {

char severity(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical: return 'F';
    case spdlog::level::err: return 'E';
    case spdlog::level::warn: return 'W';
    case spdlog::level::debug:
    case spdlog::level::trace: return 'D';
    default: return 'I';
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

class LogRingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogRingSink(ServerContext& ctx) : ctx_(ctx) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char date[40];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string line = std::string(R"({"t":{"$date":")") + date + "." + fmt::format("{:03d}", ms % 1000) +
                       R"(Z"},"s":")" + severity(msg.level) + R"(","c":"-","id":0,"ctx":"mongosim","msg":")" +
                       json_escape(std::string_view(msg.payload.data(), msg.payload.size())) + "\"}";
    ctx_.add_log_line(std::move(line));
  }
  void flush_() override {}

 private:
  ServerContext& ctx_;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> make_log_ring_sink(ServerContext& ctx) {
  return std::make_shared<LogRingSink>(ctx);
}

}  // namespace sim::server
