// A compiled MongoDB query regex over PCRE2 (options i m s x u), shared by the matcher and
// $jsonSchema `pattern`. Matching never allocates.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mql::internal {

class Regex {
 public:
  // Errors use the server's codes: 51108 invalid flag, 51091 invalid pattern, 2 NUL byte.
  static common::Result<std::shared_ptr<const Regex>> compile(std::string_view pattern, std::string_view options);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  bool matches(std::string_view subject) const;
  const std::string& pattern() const { return pattern_; }
  const std::string& options() const { return options_; }

 private:
  Regex() = default;
  std::string pattern_;
  std::string options_;
  void* code_ = nullptr;  // pcre2_code_8*
};

}  // namespace mql::internal
