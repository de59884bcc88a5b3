// The task file parser: a table of fields (path, type, how to read it, how to render it)
// walked over the YAML tree, then the checks that span fields. The same table is the field
// list docs/configuration.md documents.
#include "task/task_file.h"

#include <fnmatch.h>
#include <mongoc/mongoc.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "mql/context.h"
#include "mql/expression.h"
#include "mql/matcher.h"
#include "task/names.h"
#include "task/regex_rule.h"

namespace task {

bool TaskOptions::has(MigrationType t) const {
  return std::find(migration_types.begin(), migration_types.end(), t) != migration_types.end();
}

namespace {

// The task file's names for each enum: the parser, to_string() and the documented types all
// read these tables.
template <class E>
using EnumNames = std::vector<std::pair<const char*, E>>;

const EnumNames<MigrationType> kMigrationTypes = {
    {"schema", MigrationType::kSchema}, {"full", MigrationType::kFull}, {"incremental", MigrationType::kIncremental}};
const EnumNames<IncrementalMethod> kMethods = {{"auto", IncrementalMethod::kAuto},
                                               {"oplog", IncrementalMethod::kOplog},
                                               {"change_stream", IncrementalMethod::kChangeStream}};
const EnumNames<ConflictMode> kConflictModes = {{"precheck_and_report", ConflictMode::kPrecheckAndReport},
                                                {"ignore_and_proceed", ConflictMode::kIgnoreAndProceed}};
const EnumNames<Capitalization> kCapitalizations = {{"source", Capitalization::kSource},
                                                    {"dts_default", Capitalization::kDtsDefault},
                                                    {"lower", Capitalization::kLower},
                                                    {"upper", Capitalization::kUpper}};
const EnumNames<Architecture> kArchitectures = {{"auto", Architecture::kAuto},
                                                {"replica_set", Architecture::kReplicaSet},
                                                {"sharded", Architecture::kSharded},
                                                {"standalone", Architecture::kStandalone}};
const EnumNames<IndexBuild> kIndexBuilds = {{"after_copy", IndexBuild::kAfterCopy}, {"before_copy", IndexBuild::kBeforeCopy}};
const EnumNames<VerifyMode> kVerifyModes = {
    {"full", VerifyMode::kFull}, {"sample", VerifyMode::kSample}, {"count", VerifyMode::kCount}, {"off", VerifyMode::kOff}};
const EnumNames<VerifyReference> kReferences = {
    {"both", VerifyReference::kBoth}, {"source", VerifyReference::kSource}, {"destination", VerifyReference::kDestination}};
const EnumNames<RuleTarget> kRuleTargets = {{"collection", RuleTarget::kCollection}, {"database", RuleTarget::kDatabase}};

template <class E>
const char* name_in(const EnumNames<E>& names, E v) {
  for (const auto& [n, e] : names) {
    if (e == v) return n;
  }
  return "?";
}

}  // namespace

const char* to_string(MigrationType v) { return name_in(kMigrationTypes, v); }
const char* to_string(IncrementalMethod v) { return name_in(kMethods, v); }
const char* to_string(ConflictMode v) { return name_in(kConflictModes, v); }
const char* to_string(Capitalization v) { return name_in(kCapitalizations, v); }
const char* to_string(Architecture v) { return name_in(kArchitectures, v); }
const char* to_string(IndexBuild v) { return name_in(kIndexBuilds, v); }
const char* to_string(VerifyMode v) { return name_in(kVerifyModes, v); }
const char* to_string(VerifyReference v) { return name_in(kReferences, v); }
const char* to_string(RuleTarget v) { return name_in(kRuleTargets, v); }

std::string TaskFile::where(std::string_view field) const {
  auto it = lines.find(std::string(field));
  if (it == lines.end()) return path + ": " + std::string(field);
  return path + ":" + std::to_string(it->second) + ": " + std::string(field);
}

namespace {

// ---- reading YAML values ----------------------------------------------------------------

struct Ctx {
  std::vector<std::tuple<int, int, std::string>> errors;  // line, order, "field: message"
  std::map<std::string, int> lines;
  void error(int line, const std::string& field, const std::string& msg) {
    errors.emplace_back(line, static_cast<int>(errors.size()), field + ": " + msg);
  }
};

int line_of(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

std::string describe(const YAML::Node& n) {
  if (n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "'" + n.Scalar() + "'";
}

bool plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

std::optional<int64_t> read_int(const YAML::Node& n) {
  if (!plain(n)) return std::nullopt;
  const std::string& s = n.Scalar();
  int64_t v = 0;
  const char* b = s.data();
  if (!s.empty() && s[0] == '+') ++b;
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || b == s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> read_bool(const YAML::Node& n) {
  if (!plain(n)) return std::nullopt;
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

// YAML → JSON with YAML 1.2 core-schema scalars; quoted scalars stay strings. Extended JSON
// forms ({$oid: ...}, {$date: ...}) then become BSON types in from_json.
std::optional<nlohmann::ordered_json> to_json(const YAML::Node& n, std::string* err) {
  if (n.IsNull()) return nlohmann::ordered_json(nullptr);
  if (n.IsSequence()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const auto& e : n) {
      auto v = to_json(e, err);
      if (!v) return std::nullopt;
      a.push_back(std::move(*v));
    }
    return a;
  }
  if (n.IsMap()) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        *err = "keys must be strings";
        return std::nullopt;
      }
      const std::string& k = kv.first.Scalar();
      if (o.contains(k)) {
        *err = "duplicate key '" + k + "'";
        return std::nullopt;
      }
      auto v = to_json(kv.second, err);
      if (!v) return std::nullopt;
      o[k] = std::move(*v);
    }
    return o;
  }
  const std::string& s = n.Scalar();
  if (!plain(n)) return nlohmann::ordered_json(s);
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nlohmann::ordered_json(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return nlohmann::ordered_json(true);
  if (s == "false" || s == "False" || s == "FALSE") return nlohmann::ordered_json(false);
  if (auto i = read_int(n)) return nlohmann::ordered_json(*i);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_of("xXpP") == std::string::npos) {
    return nlohmann::ordered_json(d);
  }
  return nlohmann::ordered_json(s);
}

// A document given as a YAML mapping or as an extended-JSON string.
std::optional<common::Bson> read_document(const YAML::Node& n, Ctx& ctx, const std::string& where, int line) {
  std::string json;
  if (n.IsScalar() && !n.IsNull()) {
    json = n.Scalar();
  } else if (n.IsMap()) {
    std::string err;
    auto j = to_json(n, &err);
    if (!j) {
      ctx.error(line, where, err);
      return std::nullopt;
    }
    json = j->dump();
  } else {
    ctx.error(line, where, "expected a document (a mapping or an extended JSON string), got " + describe(n));
    return std::nullopt;
  }
  auto doc = common::Bson::from_json(json);
  if (!doc.ok()) {
    ctx.error(line, where, "not a valid document: " + doc.status().message());
    return std::nullopt;
  }
  return std::move(doc).value();
}

// ---- the field table --------------------------------------------------------------------

template <class T>
struct Field {
  std::string path;  // relative to T
  std::string type;
  std::function<void(const YAML::Node&, T&, Ctx&, const std::string& where, int line)> parse;
  std::function<std::string(const T&)> render;
  std::vector<FieldInfo> items;  // a list of structures: its item fields (relative paths)
};
template <class T>
using Schema = std::vector<Field<T>>;

template <class T>
const Field<T>* find_field(const Schema<T>& s, const std::string& path) {
  for (const auto& f : s) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

template <class T>
bool is_section(const Schema<T>& s, const std::string& path) {
  std::string prefix = path + ".";
  for (const auto& f : s) {
    if (f.path.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The known keys at one level of the schema ("retry" → connection_minutes, other_minutes).
template <class T>
std::vector<std::string> keys_under(const Schema<T>& s, const std::string& prefix) {
  std::set<std::string> keys;
  std::string p = prefix.empty() ? "" : prefix + ".";
  for (const auto& f : s) {
    if (f.path.rfind(p, 0) != 0) continue;
    std::string rest = f.path.substr(p.size());
    keys.insert(rest.substr(0, rest.find('.')));
  }
  return {keys.begin(), keys.end()};
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

template <class T>
void walk(const YAML::Node& node, T& target, const Schema<T>& schema, Ctx& ctx, const std::string& prefix,
          const std::string& shown, int line) {
  if (!node.IsMap()) {
    ctx.error(line, shown.empty() ? "task" : shown, "expected a mapping of fields, got " + describe(node));
    return;
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    int kline = line_of(kv.first);
    if (!kv.first.IsScalar()) {
      ctx.error(kline, shown.empty() ? "task" : shown, "field names must be strings");
      continue;
    }
    const std::string key = kv.first.Scalar();
    const std::string path = join(prefix, key), shown_path = join(shown, key);
    if (!seen.insert(key).second) {
      ctx.error(kline, shown_path, "duplicate field");
      continue;
    }
    ctx.lines[shown_path] = kline;
    if (const Field<T>* f = find_field(schema, path)) {
      f->parse(kv.second, target, ctx, shown_path, kline);
    } else if (is_section(schema, path)) {
      if (!kv.second.IsNull()) walk(kv.second, target, schema, ctx, path, shown_path, kline);
    } else {
      std::string msg = "unknown field";
      std::string best;
      size_t best_d = 3;
      for (const std::string& k : keys_under(schema, prefix)) {
        size_t d = edit_distance(k, key);
        if (d < best_d) best_d = d, best = k;
      }
      if (!best.empty()) msg += " (did you mean '" + join(shown, best) + "'?)";
      ctx.error(kline, shown_path, msg);
    }
  }
}

// Accessors are generic lambdas `[](auto& o) -> auto& { return o.x.y; }`, used for both
// reading (non-const) and rendering (const).
template <class T, class F>
Field<T> int_field(std::string path, F acc, int64_t lo, int64_t hi) {
  Field<T> f;
  f.path = std::move(path);
  f.type = "integer " + std::to_string(lo) + ".." + std::to_string(hi);
  f.parse = [acc, lo, hi](const YAML::Node& n, T& t, Ctx& ctx, const std::string& where, int line) {
    auto v = read_int(n);
    if (!v) return ctx.error(line, where, "expected an integer, got " + describe(n));
    if (*v < lo || *v > hi) {
      return ctx.error(line, where, std::to_string(*v) + " is out of range " + std::to_string(lo) + ".." +
                                        std::to_string(hi));
    }
    using V = std::remove_reference_t<decltype(acc(t))>;
    acc(t) = static_cast<V>(*v);
  };
  f.render = [acc](const T& t) { return std::to_string(acc(t)); };
  return f;
}

template <class T, class F>
Field<T> bool_field(std::string path, F acc) {
  Field<T> f;
  f.path = std::move(path);
  f.type = "boolean";
  f.parse = [acc](const YAML::Node& n, T& t, Ctx& ctx, const std::string& where, int line) {
    auto v = read_bool(n);
    if (!v) return ctx.error(line, where, "expected true or false, got " + describe(n));
    acc(t) = *v;
  };
  f.render = [acc](const T& t) -> std::string { return acc(t) ? "true" : "false"; };
  return f;
}

std::string render_string(const std::string& s) { return s.empty() ? "none" : s; }

template <class T, class F>
Field<T> string_field(std::string path, F acc, std::function<std::string(const std::string&)> check = nullptr) {
  Field<T> f;
  f.path = std::move(path);
  f.type = "string";
  f.parse = [acc, check](const YAML::Node& n, T& t, Ctx& ctx, const std::string& where, int line) {
    if (!n.IsScalar()) return ctx.error(line, where, "expected a string, got " + describe(n));
    if (check) {
      if (std::string err = check(n.Scalar()); !err.empty()) return ctx.error(line, where, err);
    }
    acc(t) = n.Scalar();
  };
  f.render = [acc](const T& t) { return render_string(acc(t)); };
  return f;
}

template <class E>
std::string enum_choices(const EnumNames<E>& names) {
  std::string s;
  for (const auto& [n, v] : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

template <class T, class E, class F>
Field<T> enum_field(std::string path, F acc, const EnumNames<E>& names) {
  Field<T> f;
  f.path = std::move(path);
  f.type = "one of " + enum_choices(names);
  f.parse = [acc, names](const YAML::Node& n, T& t, Ctx& ctx, const std::string& where, int line) {
    if (n.IsScalar()) {
      for (const auto& [name, v] : names) {
        if (name == n.Scalar()) {
          acc(t) = v;
          return;
        }
      }
    }
    ctx.error(line, where, describe(n) + " is not one of " + enum_choices(names));
  };
  f.render = [acc](const T& t) { return std::string(to_string(acc(t))); };
  return f;
}

std::string render_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

// Walks a YAML list (nothing for null), recording each item's line as `where[i]`.
template <class Fn>
void for_each_item(const YAML::Node& n, Ctx& ctx, const std::string& where, int line, Fn fn) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) return ctx.error(line, where, "expected a list, got " + describe(n));
  for (size_t i = 0; i < n.size(); ++i) {
    std::string item_where = where + "[" + std::to_string(i) + "]";
    int item_line = line_of(n[i]) ? line_of(n[i]) : line;
    ctx.lines[item_where] = item_line;
    fn(n[i], item_where, item_line);
  }
}

// A list of strings; `check` validates each item (empty string = fine).
template <class T, class F>
Field<T> string_list_field(std::string path, F acc, std::function<std::string(const std::string&)> check = nullptr) {
  Field<T> f;
  f.path = std::move(path);
  f.type = "list of strings";
  f.parse = [acc, check](const YAML::Node& n, T& t, Ctx& ctx, const std::string& where, int line) {
    auto& out = acc(t);
    if (n.IsSequence()) out.clear();
    for_each_item(n, ctx, where, line, [&](const YAML::Node& item, const std::string& item_where, int item_line) {
      if (!item.IsScalar()) return ctx.error(item_line, item_where, "expected a string, got " + describe(item));
      if (check) {
        if (std::string err = check(item.Scalar()); !err.empty()) return ctx.error(item_line, item_where, err);
      }
      out.push_back(item.Scalar());
    });
  };
  f.render = [acc](const T& t) { return render_list(acc(t)); };
  return f;
}

// A list of structures, each walked with its own schema.
template <class T, class Item, class F>
Field<T> struct_list_field(std::string path, std::string type, F acc, std::shared_ptr<const Schema<Item>> item_schema) {
  Field<T> f;
  f.path = std::move(path);
  f.type = std::move(type);
  f.parse = [acc, item_schema](const YAML::Node& n, T& t, Ctx& ctx, const std::string& where, int line) {
    auto& out = acc(t);
    if (n.IsSequence()) out.clear();
    for_each_item(n, ctx, where, line, [&](const YAML::Node& node, const std::string& item_where, int item_line) {
      Item item;
      walk(node, item, *item_schema, ctx, "", item_where, item_line);
      out.push_back(std::move(item));
    });
  };
  f.render = [acc](const T& t) {
    size_t n = acc(t).size();
    return n == 0 ? std::string("[]") : "[" + std::to_string(n) + " items]";
  };
  for (const auto& item : *item_schema) {
    Item def;
    f.items.push_back({item.path, item.type, item.render(def)});
  }
  return f;
}

// ---- checks on single values ------------------------------------------------------------

std::string check_pattern(const std::string& s) {
  auto p = NamespacePattern::parse(s);
  return p.ok() ? "" : p.status().message();
}

std::string check_field_path(const std::string& path) {
  if (path.empty()) return "a field path cannot be empty";
  if (path[0] == '$') return "field path '" + path + "' cannot start with '$'";
  std::stringstream ss(path);
  std::string part;
  size_t parts = 0;
  while (std::getline(ss, part, '.')) {
    ++parts;
    if (part.empty()) return "field path '" + path + "' has an empty part";
  }
  if (path.back() == '.') return "field path '" + path + "' has an empty part";
  if (path == "_id" || path.rfind("_id.", 0) == 0) {
    return "'" + path + "': _id cannot be changed by a transform (documents are matched by _id)";
  }
  (void)parts;
  return "";
}

std::string check_url(const std::string& s) {
  if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) {
    if (s.find_first_of(" \t\r\n") == std::string::npos && s.size() > 8) return "";
  }
  return "'" + s + "' is not an http:// or https:// URL";
}

// ---- the schemas ------------------------------------------------------------------------

template <class F>
void add_endpoint(Schema<TaskOptions>& s, const std::string& p, F ep) {
  auto at = [ep](auto inner) { return [ep, inner](auto& o) -> auto& { return inner(ep(o)); }; };
  s.push_back(string_field<TaskOptions>(p + ".uri", at([](auto& e) -> auto& { return e.uri; })));
  s.push_back(string_field<TaskOptions>(p + ".host", at([](auto& e) -> auto& { return e.host; })));
  s.push_back(int_field<TaskOptions>(p + ".port", at([](auto& e) -> auto& { return e.port; }), 1, 65535));
  s.push_back(string_field<TaskOptions>(p + ".replica_set", at([](auto& e) -> auto& { return e.replica_set; })));
  auto auth_db = string_field<TaskOptions>(p + ".auth_db", at([](auto& e) -> auto& { return e.auth_db; }),
                                           [](const std::string& v) -> std::string {
                                             auto st = check_database_name(v);
                                             return st.ok() ? "" : st.message();
                                           });
  auth_db.render = [ep](const TaskOptions& o) {
    return ep(o).auth_db.empty() ? std::string("the URI's authSource, else admin") : ep(o).auth_db;
  };
  s.push_back(auth_db);
  s.push_back(string_field<TaskOptions>(p + ".user", at([](auto& e) -> auto& { return e.user; })));
  s.push_back(string_field<TaskOptions>(p + ".password_env", at([](auto& e) -> auto& { return e.password_env; })));
  s.push_back(string_field<TaskOptions>(p + ".password_file", at([](auto& e) -> auto& { return e.password_file; })));
  Field<TaskOptions> tls_enabled;
  tls_enabled.path = p + ".tls.enabled";
  tls_enabled.type = "boolean";
  tls_enabled.parse = [ep](const YAML::Node& n, TaskOptions& o, Ctx& ctx, const std::string& where, int line) {
    auto v = read_bool(n);
    if (!v) return ctx.error(line, where, "expected true or false, got " + describe(n));
    ep(o).tls.enabled = *v;
  };
  tls_enabled.render = [ep](const TaskOptions& o) -> std::string {
    const auto& e = ep(o).tls.enabled;
    return !e ? "from the URI" : (*e ? "true" : "false");
  };
  s.push_back(tls_enabled);
  s.push_back(string_field<TaskOptions>(p + ".tls.ca_file", at([](auto& e) -> auto& { return e.tls.ca_file; })));
  s.push_back(
      string_field<TaskOptions>(p + ".tls.cert_key_file", at([](auto& e) -> auto& { return e.tls.cert_key_file; })));
  s.push_back(bool_field<TaskOptions>(p + ".tls.allow_invalid_hostnames",
                                      at([](auto& e) -> auto& { return e.tls.allow_invalid_hostnames; })));
  s.push_back(enum_field<TaskOptions, Architecture>(p + ".architecture",
                                                    at([](auto& e) -> auto& { return e.architecture; }),
                                                    kArchitectures));
  s.push_back(int_field<TaskOptions>(p + ".connect_timeout_seconds",
                                     at([](auto& e) -> auto& { return e.connect_timeout_seconds; }), 1, 300));
}

std::shared_ptr<const Schema<RenameRule>> rename_schema() {
  auto s = std::make_shared<Schema<RenameRule>>();
  auto name_check = [](const std::string& v) -> std::string {
    if (v.find_first_of("*?[") != std::string::npos) return "a rename names one object: no wildcards in '" + v + "'";
    return "";
  };
  s->push_back(string_field<RenameRule>("from", [](auto& r) -> auto& { return r.from; }, name_check));
  s->push_back(string_field<RenameRule>("to", [](auto& r) -> auto& { return r.to; }, name_check));
  return s;
}

std::shared_ptr<const Schema<MappingRule>> rule_schema() {
  auto s = std::make_shared<Schema<MappingRule>>();
  s->push_back(string_field<MappingRule>("objects", [](auto& r) -> auto& { return r.objects; }, check_pattern));
  s->push_back(enum_field<MappingRule, RuleTarget>("on", [](auto& r) -> auto& { return r.on; },
                                                   kRuleTargets));
  s->push_back(string_field<MappingRule>("prefix", [](auto& r) -> auto& { return r.prefix; }));
  s->push_back(string_field<MappingRule>("suffix", [](auto& r) -> auto& { return r.suffix; }));
  s->push_back(string_field<MappingRule>("regex", [](auto& r) -> auto& { return r.regex; }));
  s->push_back(string_field<MappingRule>("replacement", [](auto& r) -> auto& { return r.replacement; }));
  return s;
}

std::shared_ptr<const Schema<EtlStep>> etl_schema() {
  auto s = std::make_shared<Schema<EtlStep>>();
  s->push_back(string_field<EtlStep>("objects", [](auto& r) -> auto& { return r.objects; }, check_pattern));
  Field<EtlStep> filter;
  filter.path = "filter";
  filter.type = "query filter";
  filter.parse = [](const YAML::Node& n, EtlStep& e, Ctx& ctx, const std::string& where, int line) {
    if (auto d = read_document(n, ctx, where, line)) e.filter = std::move(*d);
  };
  filter.render = [](const EtlStep& e) { return e.filter ? e.filter->json() : std::string("none"); };
  s->push_back(filter);
  Field<EtlStep> set;
  set.path = "set";
  set.type = "mapping of field to value";
  set.parse = [](const YAML::Node& n, EtlStep& e, Ctx& ctx, const std::string& where, int line) {
    if (auto d = read_document(n, ctx, where, line)) e.set = std::move(*d);
  };
  set.render = [](const EtlStep& e) { return e.set.empty() ? std::string("{}") : e.set.json(); };
  s->push_back(set);
  s->push_back(string_list_field<EtlStep>("unset", [](auto& r) -> auto& { return r.unset; }, check_field_path));
  Field<EtlStep> rename;
  rename.path = "rename";
  rename.type = "mapping of field to field";
  rename.parse = [](const YAML::Node& n, EtlStep& e, Ctx& ctx, const std::string& where, int line) {
    if (n.IsNull()) return;
    if (!n.IsMap()) return ctx.error(line, where, "expected a mapping of old field to new field, got " + describe(n));
    for (const auto& kv : n) {
      std::string k = kv.first.Scalar();
      if (!kv.second.IsScalar()) {
        ctx.error(line_of(kv.first), where + "." + k, "expected a field name, got " + describe(kv.second));
        continue;
      }
      for (const std::string& f : {k, kv.second.Scalar()}) {
        if (std::string err = check_field_path(f); !err.empty()) ctx.error(line_of(kv.first), where, err);
      }
      e.rename[k] = kv.second.Scalar();
    }
  };
  rename.render = [](const EtlStep& e) { return e.rename.empty() ? std::string("{}") : std::string("{...}"); };
  s->push_back(rename);
  Field<EtlStep> compute;
  compute.path = "compute";
  compute.type = "mapping of field to expression";
  compute.parse = [](const YAML::Node& n, EtlStep& e, Ctx& ctx, const std::string& where, int line) {
    if (auto d = read_document(n, ctx, where, line)) e.compute = std::move(*d);
  };
  compute.render = [](const EtlStep& e) { return e.compute.empty() ? std::string("{}") : e.compute.json(); };
  s->push_back(compute);
  return s;
}

Schema<TaskOptions> build_schema() {
  using O = TaskOptions;
  Schema<O> s;
  auto name = string_field<O>("name", [](auto& o) -> auto& { return o.name; });
  name.render = [](const O& o) { return o.name.empty() ? std::string("generated") : o.name; };
  s.push_back(name);
  add_endpoint(s, "source", [](auto& o) -> auto& { return o.source; });
  add_endpoint(s, "destination", [](auto& o) -> auto& { return o.destination; });

  Field<O> types;
  types.path = "migration_types";
  types.type = "list of schema, full, incremental";
  types.parse = [](const YAML::Node& n, O& o, Ctx& ctx, const std::string& where, int line) {
    if (!n.IsSequence()) return ctx.error(line, where, "expected a list, got " + describe(n));
    o.migration_types.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string v = n[i].IsScalar() ? n[i].Scalar() : "";
      std::optional<MigrationType> t;
      for (const auto& [name, c] : kMigrationTypes) {
        if (v == name) t = c;
      }
      if (!t) {
        ctx.error(line, where, describe(n[i]) + " is not one of schema, full, incremental");
        continue;
      }
      if (o.has(*t)) {
        ctx.error(line, where, std::string(to_string(*t)) + " is listed twice");
        continue;
      }
      o.migration_types.push_back(*t);
    }
    if (o.migration_types.empty() && n.size() == 0) ctx.error(line, where, "select at least one migration type");
  };
  types.render = [](const O& o) {
    std::vector<std::string> v;
    for (auto t : o.migration_types) v.push_back(to_string(t));
    return render_list(v);
  };
  s.push_back(types);

  s.push_back(enum_field<O, IncrementalMethod>("incremental.method", [](auto& o) -> auto& { return o.incremental.method; },
                                               kMethods));
  s.push_back(int_field<O>("incremental.lanes", [](auto& o) -> auto& { return o.incremental.lanes; }, 1, 64));
  s.push_back(int_field<O>("incremental.batch_ops", [](auto& o) -> auto& { return o.incremental.batch_ops; }, 1, 100000));
  s.push_back(int_field<O>("incremental.queue_mb", [](auto& o) -> auto& { return o.incremental.queue_mb; }, 16, 65536));
  s.push_back(int_field<O>("incremental.checkpoint_seconds",
                           [](auto& o) -> auto& { return o.incremental.checkpoint_seconds; }, 1, 300));
  s.push_back(enum_field<O, ConflictMode>("conflict_mode", [](auto& o) -> auto& { return o.conflict_mode; },
                                          kConflictModes));
  s.push_back(enum_field<O, Capitalization>("capitalization", [](auto& o) -> auto& { return o.capitalization; },
                                            kCapitalizations));

  auto include = string_list_field<O>("objects.include", [](auto& o) -> auto& { return o.objects.include; }, check_pattern);
  include.render = [](const O& o) {
    return o.objects.include.empty() ? std::string("every database but admin, local, config")
                                     : render_list(o.objects.include);
  };
  s.push_back(include);
  s.push_back(string_list_field<O>("objects.exclude", [](auto& o) -> auto& { return o.objects.exclude; }, check_pattern));
  Field<O> filter;
  filter.path = "objects.filter";
  filter.type = "mapping of db.collection to query filter";
  filter.parse = [](const YAML::Node& n, O& o, Ctx& ctx, const std::string& where, int line) {
    if (n.IsNull()) return;
    if (!n.IsMap()) return ctx.error(line, where, "expected a mapping of db.collection to filter, got " + describe(n));
    for (const auto& kv : n) {
      std::string ns = kv.first.Scalar();
      std::string w = where + "[" + ns + "]";
      int l = line_of(kv.first);
      ctx.lines[w] = l;
      Namespace parts = split_namespace(ns);
      if (parts.coll.empty() || ns.find_first_of("*?[") != std::string::npos) {
        ctx.error(l, w, "a filter applies to one collection: write it as db.collection");
        continue;
      }
      if (o.objects.filter.count(ns)) {
        ctx.error(l, w, "duplicate filter");
        continue;
      }
      if (auto d = read_document(kv.second, ctx, w, l)) o.objects.filter.emplace(ns, std::move(*d));
    }
  };
  filter.render = [](const O& o) { return o.objects.filter.empty() ? std::string("{}") : std::string("{...}"); };
  s.push_back(filter);

  s.push_back(bool_field<O>("mapping.allow_merge", [](auto& o) -> auto& { return o.mapping.allow_merge; }));
  s.push_back(struct_list_field<O, RenameRule>("mapping.rename", "list of renames", [](auto& o) -> auto& { return o.mapping.rename; },
                                               rename_schema()));
  s.push_back(struct_list_field<O, MappingRule>("mapping.rules", "list of rules", [](auto& o) -> auto& { return o.mapping.rules; },
                                                rule_schema()));
  s.push_back(int_field<O>("retry.connection_minutes", [](auto& o) -> auto& { return o.retry.connection_minutes; }, 10, 1440));
  s.push_back(int_field<O>("retry.other_minutes", [](auto& o) -> auto& { return o.retry.other_minutes; }, 1, 1440));
  constexpr int64_t kMax = 1'000'000'000;
  s.push_back(int_field<O>("throttle.full.source_qps", [](auto& o) -> auto& { return o.throttle.full.source_qps; }, 0, kMax));
  s.push_back(int_field<O>("throttle.full.rps", [](auto& o) -> auto& { return o.throttle.full.rps; }, 0, kMax));
  s.push_back(int_field<O>("throttle.full.mbps", [](auto& o) -> auto& { return o.throttle.full.mbps; }, 0, kMax));
  s.push_back(int_field<O>("throttle.incremental.rps", [](auto& o) -> auto& { return o.throttle.incremental.rps; }, 0, kMax));
  s.push_back(int_field<O>("throttle.incremental.mbps", [](auto& o) -> auto& { return o.throttle.incremental.mbps; }, 0, kMax));
  s.push_back(struct_list_field<O, EtlStep>("etl", "list of transforms", [](auto& o) -> auto& { return o.etl; }, etl_schema()));

  s.push_back(bool_field<O>("alerts.on_failure", [](auto& o) -> auto& { return o.alerts.on_failure; }));
  s.push_back(bool_field<O>("alerts.on_retrying", [](auto& o) -> auto& { return o.alerts.on_retrying; }));
  s.push_back(int_field<O>("alerts.lag_threshold_seconds", [](auto& o) -> auto& { return o.alerts.lag_threshold_seconds; },
                           0, 86400 * 30));
  s.push_back(int_field<O>("alerts.for_seconds", [](auto& o) -> auto& { return o.alerts.for_seconds; }, 0, 86400));
  s.push_back(int_field<O>("alerts.full_timeout_hours", [](auto& o) -> auto& { return o.alerts.full_timeout_hours; }, 0,
                           24 * 365));
  s.push_back(string_list_field<O>("alerts.webhooks", [](auto& o) -> auto& { return o.alerts.webhooks; }, check_url));
  s.push_back(string_field<O>("alerts.command", [](auto& o) -> auto& { return o.alerts.command; }));

  s.push_back(enum_field<O, VerifyMode>("verify.mode", [](auto& o) -> auto& { return o.verify.mode; },
                                        kVerifyModes));
  s.push_back(bool_field<O>("verify.after_copy", [](auto& o) -> auto& { return o.verify.after_copy; }));
  s.push_back(int_field<O>("verify.sample_percent", [](auto& o) -> auto& { return o.verify.sample_percent; }, 10, 100));
  s.push_back(bool_field<O>("verify.incremental", [](auto& o) -> auto& { return o.verify.incremental; }));
  s.push_back(int_field<O>("verify.max_read_rps", [](auto& o) -> auto& { return o.verify.max_read_rps; }, 0, kMax));
  s.push_back(int_field<O>("verify.max_read_mbps", [](auto& o) -> auto& { return o.verify.max_read_mbps; }, 0, kMax));
  s.push_back(int_field<O>("verify.timeout_hours", [](auto& o) -> auto& { return o.verify.timeout_hours; }, 1, 72));
  s.push_back(enum_field<O, VerifyReference>("verify.reference", [](auto& o) -> auto& { return o.verify.reference; },
                                             kReferences));
  s.push_back(bool_field<O>("verify.repair", [](auto& o) -> auto& { return o.verify.repair; }));

  Field<O> tags;
  tags.path = "tags";
  tags.type = "mapping of string to string";
  tags.parse = [](const YAML::Node& n, O& o, Ctx& ctx, const std::string& where, int line) {
    if (n.IsNull()) return;
    if (!n.IsMap()) return ctx.error(line, where, "expected a mapping of key to value, got " + describe(n));
    for (const auto& kv : n) {
      std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
      std::string w = where + "[" + k + "]";
      ctx.lines[w] = line_of(kv.first);
      if (k.empty() || !kv.second.IsScalar()) {
        ctx.error(line_of(kv.first), w, "a tag is a key with a text value");
        continue;
      }
      o.tags[k] = kv.second.Scalar();
    }
  };
  tags.render = [](const O& o) { return o.tags.empty() ? std::string("{}") : std::string("{...}"); };
  s.push_back(tags);

  s.push_back(int_field<O>("copy.parallel_collections", [](auto& o) -> auto& { return o.copy.parallel_collections; }, 1, 64));
  s.push_back(int_field<O>("copy.parallel_partitions", [](auto& o) -> auto& { return o.copy.parallel_partitions; }, 1, 256));
  s.push_back(int_field<O>("copy.partition_mb", [](auto& o) -> auto& { return o.copy.partition_mb; }, 1, 1 << 20));
  s.push_back(int_field<O>("copy.batch_docs", [](auto& o) -> auto& { return o.copy.batch_docs; }, 1, 100000));
  s.push_back(int_field<O>("copy.batch_mb", [](auto& o) -> auto& { return o.copy.batch_mb; }, 1, 48));
  s.push_back(int_field<O>("copy.queue_mb", [](auto& o) -> auto& { return o.copy.queue_mb; }, 16, 65536));
  s.push_back(enum_field<O, IndexBuild>("copy.index_build", [](auto& o) -> auto& { return o.copy.index_build; },
                                        kIndexBuilds));
  s.push_back(int_field<O>("precheck.assumed_copy_mbps", [](auto& o) -> auto& { return o.precheck.assumed_copy_mbps; }, 1,
                           100000));
  s.push_back(int_field<O>("precheck.scan_seconds", [](auto& o) -> auto& { return o.precheck.scan_seconds; }, 1, 3600));
  s.push_back(int_field<O>("precheck.clock_skew_seconds", [](auto& o) -> auto& { return o.precheck.clock_skew_seconds; }, 1,
                           3600));
  return s;
}

const Schema<TaskOptions>& schema() {
  static const Schema<TaskOptions> s = build_schema();
  return s;
}

// ---- checks that span fields ------------------------------------------------------------

struct Validator {
  const TaskFile& tf;
  Ctx& ctx;

  int line(const std::string& field) const {
    auto it = ctx.lines.find(field);
    return it == ctx.lines.end() ? 0 : it->second;
  }
  void error(const std::string& field, const std::string& msg) { ctx.error(line(field), field, msg); }

  void endpoint(const std::string& p, const EndpointOptions& e) {
    if (!e.configured()) {
      if (!ctx.lines.count(p)) {
        error(p, "missing: give " + p + ".uri or " + p + ".host");
      } else {
        error(p, "give " + p + ".uri or " + p + ".host");
      }
      return;
    }
    if (!e.uri.empty() && !e.host.empty()) {
      error(p + ".host", "give either " + p + ".uri or " + p + ".host, not both");
    }
    if (!e.uri.empty()) {
      for (const char* f : {"port", "replica_set"}) {
        if (ctx.lines.count(p + "." + f)) {
          error(p + "." + f, std::string("set it in ") + p + ".uri instead (" + f + " is for the host form)");
        }
      }
      bson_error_t err;
      mongoc_uri_t* uri = mongoc_uri_new_with_error(e.uri.c_str(), &err);
      if (!uri) {
        // libmongoc's messages never quote the password, but the URI is not echoed either.
        error(p + ".uri", std::string("invalid MongoDB URI: ") + err.message);
      } else {
        if (mongoc_uri_get_password(uri)) {
          error(p + ".uri", "the URI holds a password: remove it and set " + p + ".password_env or " + p +
                                ".password_file instead");
        }
        if (e.user.empty() && !mongoc_uri_get_username(uri) && (!e.password_env.empty() || !e.password_file.empty())) {
          error(ctx.lines.count(p + ".password_env") ? p + ".password_env" : p + ".password_file",
                "a password is given but no user (" + p + ".user or the URI's user)");
        }
        mongoc_uri_destroy(uri);
      }
    } else {
      if (e.host.find_first_of("/?@,") != std::string::npos) {
        error(p + ".host", "'" + e.host + "' is not a host name or address (use " + p + ".uri for a full URI)");
      }
      if (e.user.empty() && (!e.password_env.empty() || !e.password_file.empty())) {
        error(ctx.lines.count(p + ".password_env") ? p + ".password_env" : p + ".password_file",
              "a password is given but no " + p + ".user");
      }
    }
    if (!e.password_env.empty() && !e.password_file.empty()) {
      error(p + ".password_file", "give either " + p + ".password_env or " + p + ".password_file, not both");
    }
    if (!e.password_env.empty()) {
      const char* v = std::getenv(e.password_env.c_str());
      if (!v || !*v) error(p + ".password_env", "environment variable " + e.password_env + " is not set");
    }
    if (!e.password_file.empty() && access(e.password_file.c_str(), R_OK) != 0) {
      error(p + ".password_file", "cannot read " + e.password_file + ": " + std::strerror(errno));
    }
    for (const auto& [f, v] : {std::pair<std::string, std::string>{"tls.ca_file", e.tls.ca_file},
                               {"tls.cert_key_file", e.tls.cert_key_file}}) {
      if (!v.empty() && access(v.c_str(), R_OK) != 0) {
        error(p + "." + f, "cannot read " + v + ": " + std::strerror(errno));
      }
      if (!v.empty() && e.tls.enabled && !*e.tls.enabled) {
        error(p + "." + f, "is set but " + p + ".tls.enabled is false");
      }
    }
  }

  void objects(const TaskOptions& o) {
    static const mql::ExpressionContext ectx;
    for (const auto& [ns, filter] : o.objects.filter) {
      std::string w = "objects.filter[" + ns + "]";
      auto m = mql::Matcher::parse(filter.get(), ectx);
      if (!m.ok()) error(w, "invalid filter: " + m.status().message());
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < o.objects.include.size(); ++i) {
      if (!seen.insert(o.objects.include[i]).second) {
        error("objects.include[" + std::to_string(i) + "]", "'" + o.objects.include[i] + "' is listed twice");
      }
    }
  }

  void mapping(const TaskOptions& o) {
    std::set<std::string> froms;
    for (size_t i = 0; i < o.mapping.rename.size(); ++i) {
      const RenameRule& r = o.mapping.rename[i];
      std::string w = "mapping.rename[" + std::to_string(i) + "]";
      if (r.from.empty() || r.to.empty()) {
        error(w, "a rename needs from and to");
        continue;
      }
      Namespace from = split_namespace(r.from), to = split_namespace(r.to);
      if (from.coll.empty() != to.coll.empty()) {
        error(w, "a rename maps a database to a database or db.collection to db.collection ('" + r.from + "' → '" +
                     r.to + "')");
        continue;
      }
      if (!froms.insert(r.from).second) error(w + ".from", "'" + r.from + "' is renamed twice");
      if (is_system_database(from.db)) error(w + ".from", "'" + from.db + "' is a system database");
      common::Status st = check_database_name(to.db);
      if (st.ok() && !to.coll.empty()) st = check_collection_name(to.db, to.coll);
      if (st.ok() && is_system_database(to.db)) {
        st = common::Status(common::kInvalidNamespace, "'" + to.db + "' is a system database");
      }
      if (!st.ok()) error(w + ".to", st.message());
    }
    for (size_t i = 0; i < o.mapping.rules.size(); ++i) {
      const MappingRule& r = o.mapping.rules[i];
      std::string w = "mapping.rules[" + std::to_string(i) + "]";
      bool affix = !r.prefix.empty() || !r.suffix.empty();
      if (!affix && r.regex.empty()) error(w, "a rule needs prefix, suffix or regex");
      if (!r.replacement.empty() && r.regex.empty()) error(w + ".replacement", "replacement needs a regex");
      if (!r.regex.empty()) {
        auto re = RegexRule::compile(r.regex, r.replacement);
        if (!re.ok()) error(w + ".regex", re.status().message());
      }
      if (r.on == RuleTarget::kDatabase) {
        auto p = NamespacePattern::parse(r.objects);
        if (p.ok() && p->has_collection_part()) {
          error(w + ".objects", "a database rule selects databases: write '" + split_namespace(r.objects).db +
                                    "', without a collection part");
        }
      }
    }
  }

  void etl(const TaskOptions& o) {
    static const mql::ExpressionContext ectx;
    for (size_t i = 0; i < o.etl.size(); ++i) {
      const EtlStep& e = o.etl[i];
      std::string w = "etl[" + std::to_string(i) + "]";
      if (e.filter) {
        auto m = mql::Matcher::parse(e.filter->get(), ectx);
        if (!m.ok()) error(w + ".filter", "invalid filter: " + m.status().message());
      }
      bson_iter_t it;
      if (bson_iter_init(&it, e.set.get())) {
        while (bson_iter_next(&it)) {
          if (std::string err = check_field_path(bson_iter_key(&it)); !err.empty()) error(w + ".set", err);
        }
      }
      if (bson_iter_init(&it, e.compute.get())) {
        while (bson_iter_next(&it)) {
          if (std::string err = check_field_path(bson_iter_key(&it)); !err.empty()) error(w + ".compute", err);
          auto ex = mql::Expression::parse(&it, ectx);
          if (!ex.ok()) {
            error(w + ".compute", std::string("invalid expression for '") + bson_iter_key(&it) +
                                      "': " + ex.status().message());
          }
        }
      }
      if (e.set.empty() && e.unset.empty() && e.rename.empty() && e.compute.empty() && !e.filter) {
        error(w, "a transform needs filter, set, unset, rename or compute");
      }
    }
  }

  void run() {
    const TaskOptions& o = tf.options;
    endpoint("source", o.source);
    endpoint("destination", o.destination);
    if (o.retry.other_minutes >= o.retry.connection_minutes) {
      error(ctx.lines.count("retry.other_minutes") ? "retry.other_minutes" : "retry.connection_minutes",
            std::to_string(o.retry.other_minutes) + " must be less than retry.connection_minutes (" +
                std::to_string(o.retry.connection_minutes) + ")");
    }
    if (o.migration_types.empty() && ctx.lines.count("migration_types")) {
      error("migration_types", "select at least one migration type");
    }
    if (ctx.lines.count("verify.sample_percent") && o.verify.mode != VerifyMode::kSample) {
      error("verify.sample_percent", "applies only with verify.mode: sample");
    }
    objects(o);
    mapping(o);
    etl(o);
  }
};

}  // namespace

common::Result<TaskFile> parse_task(std::string_view text, const std::string& display_name) {
  TaskFile tf;
  tf.path = display_name;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return common::Status(common::kFailedToParse,
                          display_name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  Ctx ctx;
  if (root.IsNull()) {
    ctx.error(1, "task", "the task file is empty");
  } else {
    walk(root, tf.options, schema(), ctx, "", "", 1);
  }
  if (ctx.errors.empty()) {
    tf.lines = ctx.lines;
    Validator{tf, ctx}.run();
  }
  if (!ctx.errors.empty()) {
    std::sort(ctx.errors.begin(), ctx.errors.end());
    std::string msg;
    for (const auto& [line, order, text_] : ctx.errors) {
      if (!msg.empty()) msg += "\n";
      msg += display_name + (line > 0 ? ":" + std::to_string(line) : "") + ": " + text_;
    }
    return common::Status(common::kBadValue, msg);
  }
  tf.lines = std::move(ctx.lines);
  return tf;
}

common::Result<TaskFile> load_task_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::Status(common::kBadValue, path + ": cannot read the task file: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_task(ss.str(), path);
}

const std::vector<FieldInfo>& task_fields() {
  static const std::vector<FieldInfo> fields = [] {
    std::vector<FieldInfo> out;
    TaskOptions def;
    for (const auto& f : schema()) {
      out.push_back({f.path, f.type, f.render(def)});
      for (const auto& item : f.items) out.push_back({f.path + "[]." + item.path, item.type, item.default_value});
    }
    return out;
  }();
  return fields;
}

std::string render_field(const TaskOptions& options, std::string_view path) {
  if (const auto* f = find_field(schema(), std::string(path))) return f->render(options);
  return "";
}

}  // namespace task
