// Parsing of tests/spec/skips.txt.
#include "skips.h"

#include <fstream>

namespace spec {

bool SkipList::load(const std::string& path, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open " + path;
    return false;
  }
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    auto sep = line.find(".json:");
    auto hash = line.rfind(" # ");
    if (sep == std::string::npos || hash == std::string::npos || hash < sep) {
      *err = path + ":" + std::to_string(n) + ": expected 'suite/file.json:description # reason'";
      return false;
    }
    std::string key = line.substr(0, hash);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    entries_[key] = line.substr(hash + 3);
  }
  return true;
}

std::optional<std::string> SkipList::find(const std::string& file, const std::string& description) const {
  auto it = entries_.find(file + ":" + description);
  if (it == entries_.end()) it = entries_.find(file + ":*");
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

}  // namespace spec
