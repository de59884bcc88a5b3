#include "task/regex_rule.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <vector>

namespace task {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

}  // namespace

RegexRule::~RegexRule() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

common::Result<std::shared_ptr<const RegexRule>> RegexRule::compile(std::string_view pattern,
                                                                    std::string_view replacement) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF, &err,
                                   &off, nullptr);
  if (!code) {
    return common::Status(common::kBadValue, "invalid regex '" + std::string(pattern) + "' at offset " +
                                                 std::to_string(off) + ": " + pcre2_message(err));
  }
  std::shared_ptr<RegexRule> rule(new RegexRule());
  rule->code_ = code;
  rule->replacement_ = std::string(replacement);
  // Check the replacement's syntax and groups: the same pattern with an empty alternative
  // matches "" and keeps the group numbers, so substituting on "" processes the replacement.
  std::string probe_pattern = "(?:" + std::string(pattern) + ")|";
  pcre2_code* probe_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(probe_pattern.data()), probe_pattern.size(),
                                         PCRE2_UTF, &err, &off, nullptr);
  if (probe_code) {  // a pattern whose own syntax swallows the suffix (e.g. (?x) comments) is not probed
    RegexRule probe;
    probe.code_ = probe_code;
    probe.replacement_ = rule->replacement_;
    auto r = probe.run("");
    if (!r.ok()) return r.status();
  }
  return std::shared_ptr<const RegexRule>(std::move(rule));
}

common::Result<std::optional<std::string>> RegexRule::run(std::string_view name) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  std::vector<PCRE2_UCHAR> out(name.size() + replacement_.size() * 4 + 64);
  PCRE2_SIZE out_len = out.size();
  int rc = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    out_len = out.size();
    rc = pcre2_substitute(code, reinterpret_cast<PCRE2_SPTR>(name.data()), name.size(), 0,
                          PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY, md, nullptr,
                          reinterpret_cast<PCRE2_SPTR>(replacement_.data()), replacement_.size(), out.data(), &out_len);
    if (rc != PCRE2_ERROR_NOMEMORY) break;
    out.resize(out_len + 1);  // OVERFLOW_LENGTH reported the size needed
  }
  pcre2_match_data_free(md);
  if (rc < 0) {
    return common::Status(common::kBadValue, "invalid replacement '" + replacement_ + "': " + pcre2_message(rc));
  }
  if (rc == 0) return std::optional<std::string>();
  return std::optional<std::string>(std::string(reinterpret_cast<const char*>(out.data()), out_len));
}

std::optional<std::string> RegexRule::substitute(std::string_view name) const {
  auto r = run(name);
  if (!r.ok()) return std::nullopt;  // compile() validated the replacement
  return *r;
}

}  // namespace task
