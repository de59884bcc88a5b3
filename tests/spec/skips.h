// The spec-test skip file: lines "suite/file.json:test description # reason" ("*" as the
// description skips a whole file). Blank lines and lines starting with '#' are ignored.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace spec {

class SkipList {
 public:
  bool load(const std::string& path, std::string* err);
  // The reason when (file, description) or (file, "*") is listed.
  std::optional<std::string> find(const std::string& file, const std::string& description) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, std::string> entries_;  // "file:description" -> reason
};

}  // namespace spec
