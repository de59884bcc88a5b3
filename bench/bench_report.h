// Helpers the benchmark programs share: process CPU time and load average from /proc, and
// replacing one marked section of docs/benchmarks.md.
#pragma once

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace bench {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// CPU seconds (user + system) process `pid` has used so far.
inline double cpu_seconds(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields after the command name start at 3 (state); utime and stime are 14 and 15.
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// "1-min 5-min 15-min".
inline std::string load_average() {
  std::istringstream in(read_text("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Replaces the text from `begin` through `end` (markers included) in `file` with `section`
// (which carries the markers), or appends it when the markers are missing.
inline bool replace_section(const std::string& file, const char* begin, const char* end, const std::string& section) {
  std::string text = read_text(file);
  auto b = text.find(begin);
  auto e = text.find(end);
  if (b != std::string::npos && e != std::string::npos && e > b) {
    size_t stop = e + std::strlen(end);
    if (stop < text.size() && text[stop] == '\n') ++stop;
    text.replace(b, stop - b, section);
  } else {
    text += "\n" + section;
  }
  std::ofstream out(file);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace bench
