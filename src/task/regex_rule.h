// A batch-rename regex over PCRE2: the first match in a name is replaced, with $1 / ${name}
// captures (pcre2_substitute syntax). Internal to the task module.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace task {

class RegexRule {
 public:
  // Compiles the pattern and checks the replacement against it (unknown groups are errors).
  static common::Result<std::shared_ptr<const RegexRule>> compile(std::string_view pattern,
                                                                  std::string_view replacement);
  ~RegexRule();
  RegexRule(const RegexRule&) = delete;
  RegexRule& operator=(const RegexRule&) = delete;

  // The name with its first match replaced; nullopt when the pattern does not match.
  std::optional<std::string> substitute(std::string_view name) const;

 private:
  RegexRule() = default;
  common::Result<std::optional<std::string>> run(std::string_view name) const;
  void* code_ = nullptr;  // pcre2_code_8*
  std::string replacement_;
};

}  // namespace task
