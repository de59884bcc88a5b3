// Selection patterns, MongoDB naming rules, capitalization and the source → destination name
// mapping.
#include "task/names.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fnmatch.h>
#include <pcre2.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <map>
#include <optional>

#include "task/regex_rule.h"

namespace task {

Namespace split_namespace(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
}

bool is_system_database(std::string_view db) { return db == "admin" || db == "local" || db == "config"; }

namespace {

bool has_wildcard_chars(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

bool glob(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool is_system_collection(std::string_view coll) { return coll.rfind("system.", 0) == 0; }

}  // namespace

common::Result<NamespacePattern> NamespacePattern::parse(std::string_view text) {
  if (text.empty()) return common::Status(common::kBadValue, "a pattern cannot be empty");
  if (text.find('\0') != std::string_view::npos) {
    return common::Status(common::kBadValue, "a pattern cannot contain a NUL byte");
  }
  NamespacePattern p;
  p.text_ = std::string(text);
  Namespace ns = split_namespace(text);
  p.db_ = ns.db;
  p.coll_ = ns.coll;
  if (p.db_.empty()) return common::Status(common::kBadValue, "'" + p.text_ + "' has an empty database part");
  if (text.find('.') != std::string_view::npos && p.coll_.empty()) {
    return common::Status(common::kBadValue, "'" + p.text_ + "' has an empty collection part");
  }
  p.whole_db_ = p.coll_.empty();
  p.wildcard_ = has_wildcard_chars(p.db_) || has_wildcard_chars(p.coll_);
  if (!has_wildcard_chars(p.db_)) {
    if (is_system_database(p.db_)) {
      return common::Status(common::kBadValue,
                            "'" + p.db_ + "' is a system database and cannot be migrated (admin, local and "
                            "config hold users, the oplog and cluster metadata)");
    }
    if (auto st = check_database_name(p.db_); !st.ok()) return st;
  }
  if (is_system_collection(p.coll_)) {
    return common::Status(common::kBadValue, "'" + p.text_ +
                                                 "' is a system collection: system.* collections are managed by the "
                                                 "server and are not migrated");
  }
  return p;
}

bool NamespacePattern::matches(const Namespace& ns) const {
  if (is_system_database(ns.db)) return false;
  if (!glob(db_, ns.db)) return false;
  if (is_system_collection(ns.coll)) return false;
  return whole_db_ || glob(coll_, ns.coll);
}

bool NamespacePattern::matches_database(std::string_view db) const {
  return whole_db_ && !is_system_database(db) && glob(db_, std::string(db));
}

// NamespaceString::validDBName (DollarInDbNameBehavior::Disallow) and the 64-byte limit.
common::Status check_database_name(std::string_view db) {
  if (db.empty()) return common::Status(common::kInvalidNamespace, "database name cannot be empty");
  if (db.size() >= 64) {
    return common::Status(common::kInvalidNamespace,
                          "database name '" + std::string(db) + "' is too long (max is 63 bytes)");
  }
  for (char c : db) {
    if (c == '/' || c == '\\' || c == '.' || c == ' ' || c == '"' || c == '$' || c == '\0') {
      std::string shown = c == '\0' ? "NUL" : std::string("'") + c + "'";
      return common::Status(common::kInvalidNamespace,
                            "database name '" + std::string(db) + "' contains an invalid character " + shown);
    }
  }
  return common::Status::OK();
}

// NamespaceString::validCollectionName and the 255-byte namespace limit (4.4+); system.*
// names are reserved for the server.
common::Status check_collection_name(std::string_view db, std::string_view coll) {
  std::string ns = std::string(db) + "." + std::string(coll);
  if (coll.empty()) return common::Status(common::kInvalidNamespace, "collection name cannot be empty");
  if (coll.front() == '.') {
    return common::Status(common::kInvalidNamespace, "collection name '" + std::string(coll) + "' starts with '.'");
  }
  if (coll.find('$') != std::string_view::npos) {
    return common::Status(common::kInvalidNamespace, "collection name '" + std::string(coll) + "' contains '$'");
  }
  if (coll.find('\0') != std::string_view::npos) {
    return common::Status(common::kInvalidNamespace, "collection name contains a NUL byte");
  }
  if (is_system_collection(coll)) {
    return common::Status(common::kInvalidNamespace, "'" + ns + "' is a system collection name");
  }
  if (ns.size() > 255) {
    return common::Status(common::kInvalidNamespace,
                          "fully qualified namespace " + ns + " is too long (max is 255 bytes)");
  }
  return common::Status::OK();
}

std::string capitalize(Capitalization policy, std::string_view name) {
  if (policy == Capitalization::kSource) return std::string(name);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  if (policy == Capitalization::kUpper) {
    u.toUpper(icu::Locale::getRoot());
  } else {
    u.toLower(icu::Locale::getRoot());  // lower and dts_default
  }
  std::string out;
  u.toUTF8String(out);
  return out;
}

struct NameMapper::Impl {
  Capitalization capitalization = Capitalization::kSource;
  std::map<std::string, std::string> db_renames;
  std::map<Namespace, Namespace> ns_renames;
  struct Rule {
    NamespacePattern pattern;
    RuleTarget on;
    std::string prefix, suffix;
    std::shared_ptr<const RegexRule> regex;
    // The renamed name, or nullopt when the rule's regex does not match.
    std::optional<std::string> apply(const std::string& name) const {
      std::string out = name;
      if (regex) {
        auto replaced = regex->substitute(out);
        if (!replaced) return std::nullopt;
        out = *replaced;
      }
      return prefix + out + suffix;
    }
  };
  std::vector<Rule> rules;

  std::string database(const std::string& db) const {
    if (auto it = db_renames.find(db); it != db_renames.end()) return it->second;
    for (const Rule& r : rules) {
      if (r.on != RuleTarget::kDatabase || !r.pattern.matches_database(db)) continue;
      if (auto out = r.apply(db)) return capitalize(capitalization, *out);
    }
    return capitalize(capitalization, db);
  }
};

NameMapper::NameMapper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NameMapper::NameMapper(NameMapper&&) noexcept = default;
NameMapper& NameMapper::operator=(NameMapper&&) noexcept = default;
NameMapper::~NameMapper() = default;

common::Result<NameMapper> NameMapper::create(const TaskOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->capitalization = options.capitalization;
  for (const RenameRule& r : options.mapping.rename) {
    Namespace from = split_namespace(r.from), to = split_namespace(r.to);
    if (from.coll.empty() != to.coll.empty()) {
      return common::Status(common::kBadValue, "a rename maps a database to a database or a collection to a collection: '" +
                                                   r.from + "' → '" + r.to + "'");
    }
    if (from.coll.empty()) {
      impl->db_renames[from.db] = to.db;
    } else {
      impl->ns_renames[from] = to;
    }
  }
  for (const MappingRule& r : options.mapping.rules) {
    MS_ASSIGN_OR_RETURN(NamespacePattern pattern, NamespacePattern::parse(r.objects));
    Impl::Rule rule{std::move(pattern), r.on, r.prefix, r.suffix, nullptr};
    if (!r.regex.empty()) {
      MS_ASSIGN_OR_RETURN(rule.regex, RegexRule::compile(r.regex, r.replacement));
    }
    impl->rules.push_back(std::move(rule));
  }
  return NameMapper(std::move(impl));
}

Namespace NameMapper::map(const Namespace& source) const {
  if (auto it = impl_->ns_renames.find(source); it != impl_->ns_renames.end()) return it->second;
  Namespace out;
  out.db = impl_->database(source.db);
  if (source.coll.empty()) return out;
  for (const Impl::Rule& r : impl_->rules) {
    if (r.on != RuleTarget::kCollection || !r.pattern.matches(source)) continue;
    if (auto renamed = r.apply(source.coll)) {
      out.coll = capitalize(impl_->capitalization, *renamed);
      return out;
    }
  }
  out.coll = capitalize(impl_->capitalization, source.coll);
  return out;
}

std::string NameMapper::map_database(std::string_view db) const { return impl_->database(std::string(db)); }

}  // namespace task
