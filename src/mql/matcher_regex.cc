// PCRE2-backed query regexes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "mql/matcher_regex.h"

#include <pcre2.h>

namespace mql::internal {

using common::Result;
using common::Status;

namespace {

// One match-data block per thread, reused by every match (only the overall result is needed).
struct MatchData {
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  ~MatchData() { pcre2_match_data_free(md); }
};

pcre2_match_data* thread_match_data() {
  thread_local MatchData data;
  return data.md;
}

}  // namespace

Result<std::shared_ptr<const Regex>> Regex::compile(std::string_view pattern, std::string_view options) {
  uint32_t flags = PCRE2_UTF;
  for (char c : options) {
    switch (c) {
      case 'i': flags |= PCRE2_CASELESS; break;
      case 'm': flags |= PCRE2_MULTILINE; break;
      case 's': flags |= PCRE2_DOTALL; break;
      case 'x': flags |= PCRE2_EXTENDED; break;
      case 'u': break;  // UTF-8 is always on
      default: return Status(51108, std::string("invalid flag in regex options: ") + c);
    }
  }
  if (pattern.find('\0') != std::string_view::npos) {
    return Status(common::kBadValue, "Regular expression cannot contain an embedded null byte");
  }
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags, &err, &off,
                                   nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    return Status(51091, std::string("Regular expression is invalid: ") + reinterpret_cast<const char*>(buf));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort; falls back to the interpreter
  std::shared_ptr<Regex> r(new Regex());
  r->pattern_ = std::string(pattern);
  r->options_ = std::string(options);
  r->code_ = code;
  return std::shared_ptr<const Regex>(std::move(r));
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool Regex::matches(std::string_view subject) const {
  int rc = pcre2_match(static_cast<pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                       0, 0, thread_match_data(), nullptr);
  return rc >= 0;  // no match, bad UTF-8 and limits all count as "does not match"
}

}  // namespace mql::internal
