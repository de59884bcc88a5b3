// String expression operators, including the PCRE2-based $regexFind/$regexFindAll/$regexMatch,
// with the server's UTF-8 handling and error codes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "mql/expression_internal.h"

namespace mql::expr {
namespace {

bool is_str(const Value& v) { return v.type() == BSON_TYPE_UTF8; }
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
size_t cp_len(char c) {
  auto u = static_cast<unsigned char>(c);
  if ((u & 0x80) == 0) return 1;
  if ((u & 0xE0) == 0xC0) return 2;
  if ((u & 0xF0) == 0xE0) return 3;
  if ((u & 0xF8) == 0xF0) return 4;
  // Continuation or invalid leading byte: the server counts leading ones.
  size_t n = 0;
  while (n < 8 && (u & (0x80 >> n))) ++n;
  return n;
}
size_t cp_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += is_continuation(c) ? 0 : 1;
  return n;
}

// ---- coerceToString -----------------------------------------------------------------------

Result<Value> concat_fn(std::vector<Value>& a, const Call&) {
  std::string out;
  for (const Value& v : a) {
    if (v.nullish()) return Value::null();
    if (!is_str(v)) return err(16702, "$concat only supports strings, not " + std::string(type_name(v)));
    out.append(v.as_string());
  }
  return Value::string(out);
}

Result<Value> index_of_bytes_fn(std::vector<Value>& a, const Call& c) {
  if (a[0].nullish()) return Value::null();
  if (!is_str(a[0])) {
    return err(40091, "$indexOfBytes requires a string as the first argument, found: " + std::string(type_name(a[0])));
  }
  if (!is_str(a[1])) {
    return err(40092, "$indexOfBytes requires a string as the second argument, found: " + std::string(type_name(a[1])));
  }
  std::string_view input = a[0].as_string(), token = a[1].as_string();
  int64_t start = 0, end = static_cast<int64_t>(input.size());
  if (a.size() > 2) MS_RETURN_IF_ERROR(check_index_arg(a[2], c.op, "starting index", &start));
  if (a.size() > 3) {
    int64_t e;
    MS_RETURN_IF_ERROR(check_index_arg(a[3], c.op, "ending index", &e));
    end = std::min(end, e);
  }
  if (start > static_cast<int64_t>(input.size()) || end < start) return Value::int32(-1);
  size_t pos = input.substr(0, static_cast<size_t>(end)).find(token, static_cast<size_t>(start));
  if (pos == std::string_view::npos) return Value::int32(-1);
  return Value::int32(static_cast<int32_t>(pos));
}

Result<Value> index_of_cp_fn(std::vector<Value>& a, const Call& c) {
  if (a[0].nullish()) return Value::null();
  if (!is_str(a[0])) {
    return err(40093, "$indexOfCP requires a string as the first argument, found: " + std::string(type_name(a[0])));
  }
  if (!is_str(a[1])) {
    return err(40094, "$indexOfCP requires a string as the second argument, found: " + std::string(type_name(a[1])));
  }
  std::string_view input = a[0].as_string(), token = a[1].as_string();
  int64_t start_cp = 0;
  if (a.size() > 2) MS_RETURN_IF_ERROR(check_index_arg(a[2], c.op, "starting index", &start_cp));
  size_t length = 0, start_byte = 0;
  for (size_t b = 0; b < input.size(); ++length) {
    if (static_cast<int64_t>(length) == start_cp) start_byte = b;
    if (is_continuation(input[b])) return err(40095, "$indexOfCP found bad UTF-8 in the input");
    b += cp_len(input[b]);
  }
  int64_t end_cp = static_cast<int64_t>(length);
  if (a.size() > 3) {
    int64_t e;
    MS_RETURN_IF_ERROR(check_index_arg(a[3], c.op, "ending index", &e));
    end_cp = std::min(end_cp, e);
  }
  if (end_cp < start_cp) return Value::int32(-1);
  if (start_byte == 0 && input.empty() && token.empty()) return Value::int32(0);
  size_t b = start_byte;
  for (int64_t cp = start_cp; cp < end_cp; ++cp) {
    if (token.size() + b <= input.size() && input.compare(b, token.size(), token) == 0) {
      return Value::int32(static_cast<int32_t>(cp));
    }
    b += cp_len(input[b]);
  }
  return Value::int32(-1);
}

// ---- trim ---------------------------------------------------------------------------------

const std::vector<std::string>& default_trim_chars() {
  static const std::vector<std::string> k = {
      std::string(1, '\0'), " ", "\t", "\n", "\v", "\f", "\r", "\u00A0", "\u1680", "\u2000", "\u2001",
      "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200A"};
  return k;
}

Result<Value> trim_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (input.nullish()) return Value::null();
  if (!is_str(input)) {
    return err(50699, std::string(c.op) + " requires its input to be a string, got " + value_string(input) +
                          " (of type " + std::string(type_name(input)) + ") instead.");
  }
  std::vector<std::string> chars;
  if (n.kids[1]) {
    MS_ASSIGN_OR_RETURN(Value cv, c.eval(*n.kids[1]));
    if (cv.nullish()) return Value::null();
    if (!is_str(cv)) {
      return err(50700, std::string(c.op) + " requires 'chars' to be a string, got " + value_string(cv) +
                            " (of type " + std::string(type_name(cv)) + ") instead.");
    }
    std::string_view s = cv.as_string();
    size_t i = 0;
    while (i < s.size()) {
      if (is_continuation(s[i])) {
        return err(50698, "Failed to parse \"chars\" argument to " + std::string(c.op) +
                              ": Detected invalid UTF-8. Got continuation byte when expecting the start of a new "
                              "code point.");
      }
      size_t l = cp_len(s[i]);
      l = l > 4 ? 1 : l;
      chars.emplace_back(s.substr(i, l));
      i += l;
    }
    if (i > s.size()) {
      return err(50697, "Failed to parse \"chars\" argument to " + std::string(c.op) +
                            ": Detected invalid UTF-8. Missing expected continuation byte at end of string.");
    }
  } else {
    chars = default_trim_chars();
  }
  std::string_view s = input.as_string();
  int mode = n.param.raw().value.v_int32;  // 0 both, 1 left, 2 right
  auto matches_at = [&](size_t idx, const std::string& cp) {
    return idx + cp.size() <= s.size() && s.compare(idx, cp.size(), cp) == 0;
  };
  if (mode != 2) {
    size_t left = 0;
    while (left < s.size()) {
      auto m = std::find_if(chars.begin(), chars.end(), [&](const std::string& cp) { return matches_at(left, cp); });
      if (m == chars.end()) break;
      left += m->size();
    }
    s = s.substr(left);
  }
  if (mode != 1) {
    size_t right = 0;
    while (right < s.size()) {
      size_t at = s.size() - right;
      auto m = std::find_if(chars.begin(), chars.end(),
                            [&](const std::string& cp) { return at >= cp.size() && matches_at(at - cp.size(), cp); });
      if (m == chars.end()) break;
      right += m->size();
    }
    s = s.substr(0, s.size() - right);
  }
  return Value::string(s);
}

Result<ExprPtr> parse_trim(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(50696, std::string(op) + " only supports an object as an argument, found " +
                          std::string(type_name(bson_iter_type(arg))));
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"input", "chars"}, 50696, "", 50694,
                                                       std::string(op) + " found an unknown argument: "}));
  if (!kids[0]) return err(50695, std::string(op) + " requires an 'input' field");
  MS_ASSIGN_OR_RETURN(auto e, make_lazy(op, std::move(kids), trim_fn));
  static_cast<OpNode*>(e.get())->param = Value::int32(op == "$ltrim" ? 1 : op == "$rtrim" ? 2 : 0);
  return e;
}

// ---- regex --------------------------------------------------------------------------------

struct Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

// Pattern/options after the server's _extractRegexAndOptions; nullopt pattern = nullish.
struct RegexSpec {
  std::optional<std::string> pattern;
  std::string options;
};

Result<RegexSpec> extract_regex(const Value& pattern, const Value& options, std::string_view op) {
  if (!(pattern.nullish() || is_str(pattern) || pattern.type() == BSON_TYPE_REGEX)) {
    return err(51105, std::string(op) + " needs 'regex' to be of type string or regex");
  }
  if (!(options.nullish() || is_str(options))) {
    return err(51106, std::string(op) + " needs 'options' to be of type string");
  }
  RegexSpec spec;
  if (pattern.type() == BSON_TYPE_REGEX) {
    std::string flags = pattern.raw().value.v_regex.options ? pattern.raw().value.v_regex.options : "";
    spec.pattern = pattern.raw().value.v_regex.regex;
    if (!options.nullish() && !flags.empty()) {
      return err(51107, std::string(op) + ": found regex option(s) specified in both 'regex' and 'option' fields");
    }
    spec.options = flags;
  } else if (is_str(pattern)) {
    spec.pattern = std::string(pattern.as_string());
  }
  if (!options.nullish()) spec.options = std::string(options.as_string());
  if (spec.pattern && spec.pattern->find('\0') != std::string::npos) {
    return err(51109, std::string(op) + ": regular expression cannot contain an embedded null byte");
  }
  if (spec.options.find('\0') != std::string::npos) {
    return err(51110, std::string(op) + ": regular expression options cannot contain an embedded null byte");
  }
  return spec;
}

Result<std::shared_ptr<Compiled>> compile_regex(const RegexSpec& spec, std::string_view op) {
  uint32_t flags = PCRE2_UTF;
  for (char f : spec.options) {
    switch (f) {
      case 'i':
        flags |= PCRE2_CASELESS;
        break;
      case 'm':
        flags |= PCRE2_MULTILINE;
        break;
      case 's':
        flags |= PCRE2_DOTALL;
        break;
      case 'x':
        flags |= PCRE2_EXTENDED;
        break;
      case 'u':
        break;
      default:
        return err(51108, std::string(op) + " invalid flag in regex options: " + std::string(1, f));
    }
  }
  int errcode = 0;
  PCRE2_SIZE erroff = 0;
  auto c = std::make_shared<Compiled>();
  c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(spec.pattern->data()), spec.pattern->size(), flags, &errcode,
                          &erroff, nullptr);
  if (!c->code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(errcode, buf, sizeof buf);
    return err(51111, "Invalid Regex in " + std::string(op) + ": " + reinterpret_cast<char*>(buf));
  }
  return c;
}

struct RegexState {
  std::shared_ptr<Compiled> re;  // null when nullish
  std::string input;
  bool nullish = true;
};

// Constant regex/options are compiled once at parse time (as the server's optimize()).
struct RegexCache {
  bool constant = false;
  std::shared_ptr<Compiled> re;  // null when the constant pattern is nullish
};

Result<RegexState> build_state(const OpNode& n, const Call& c) {
  RegexState st;
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  if (!(input.nullish() || is_str(input))) return err(51104, std::string(c.op) + " needs 'input' to be of type string");
  const auto* cache = static_cast<const RegexCache*>(n.extra.get());
  if (cache && cache->constant) {
    st.re = cache->re;
  } else {
    MS_ASSIGN_OR_RETURN(Value pattern, c.eval(*n.kids[1]));
    Value options = Value::null();
    if (n.kids[2]) {
      MS_ASSIGN_OR_RETURN(options, c.eval(*n.kids[2]));
    }
    MS_ASSIGN_OR_RETURN(RegexSpec spec, extract_regex(pattern, options, c.op));
    if (spec.pattern) {
      MS_ASSIGN_OR_RETURN(st.re, compile_regex(spec, c.op));
    }
  }
  if (is_str(input)) st.input = std::string(input.as_string());
  st.nullish = !is_str(input) || !st.re;
  return st;
}

// One match from byte `start`; sets *match_start/*match_end; false when no match.
Result<bool> exec(const RegexState& st, size_t start, std::vector<std::optional<std::pair<size_t, size_t>>>* groups,
                  std::string_view op) {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(st.re->code, nullptr);
  int rc = pcre2_match(st.re->code, reinterpret_cast<PCRE2_SPTR>(st.input.data()), st.input.size(), start, 0, md, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) {
    pcre2_match_data_free(md);
    return false;
  }
  if (rc < 0) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(rc, buf, sizeof buf);
    pcre2_match_data_free(md);
    return err(51156, "Error occurred while executing the regular expression in " + std::string(op) +
                          ". Result code: " + reinterpret_cast<char*>(buf));
  }
  uint32_t ncap = 0;
  pcre2_pattern_info(st.re->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  groups->clear();
  for (uint32_t i = 0; i <= ncap; ++i) {
    if (static_cast<int>(i) < rc && ov[2 * i] != PCRE2_UNSET) {
      groups->emplace_back(std::make_pair(ov[2 * i], ov[2 * i + 1]));
    } else {
      groups->emplace_back(std::nullopt);
    }
  }
  pcre2_match_data_free(md);
  return true;
}

Value match_doc(const RegexState& st, const std::vector<std::optional<std::pair<size_t, size_t>>>& g, int64_t idx) {
  std::vector<Value> caps;
  for (size_t i = 1; i < g.size(); ++i) {
    caps.push_back(g[i] ? Value::string(std::string_view(st.input).substr(g[i]->first, g[i]->second - g[i]->first))
                        : Value::null());
  }
  std::string_view m = std::string_view(st.input).substr(g[0]->first, g[0]->second - g[0]->first);
  return make_doc({{"match", Value::string(m)}, {"idx", Value::int32(static_cast<int32_t>(idx))}, {"captures", make_array(caps)}});
}

Result<Value> regex_find_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(RegexState st, build_state(n, c));
  if (st.nullish) return Value::null();
  std::vector<std::optional<std::pair<size_t, size_t>>> g;
  MS_ASSIGN_OR_RETURN(bool found, exec(st, 0, &g, c.op));
  if (!found) return Value::null();
  return match_doc(st, g, static_cast<int64_t>(cp_count(std::string_view(st.input).substr(0, g[0]->first))));
}

Result<Value> regex_find_all_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(RegexState st, build_state(n, c));
  std::vector<Value> out;
  if (st.nullish) return make_array(out);
  size_t pos = 0;
  int64_t cp_pos = 0;
  size_t total = 0;
  std::vector<std::optional<std::pair<size_t, size_t>>> g;
  do {
    MS_ASSIGN_OR_RETURN(bool found, exec(st, pos, &g, c.op));
    if (!found) break;
    cp_pos += static_cast<int64_t>(cp_count(std::string_view(st.input).substr(pos, g[0]->first - pos)));
    pos = g[0]->first;
    Value m = match_doc(st, g, cp_pos);
    total += m.raw().value.v_doc.data_len;
    if (total > 64 * 1024 * 1024) {
      return err(51151, std::string(c.op) + ": the size of buffer to store output exceeded the 64MB limit");
    }
    out.push_back(m);
    size_t mlen = g[0]->second - g[0]->first;
    if (mlen == 0) {
      pos += pos < st.input.size() ? cp_len(st.input[pos]) : 1;
      ++cp_pos;
      continue;
    }
    cp_pos += static_cast<int64_t>(cp_count(std::string_view(st.input).substr(pos, mlen)));
    pos += mlen;
  } while (pos < st.input.size());
  return make_array(out);
}

Result<Value> regex_match_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(RegexState st, build_state(n, c));
  if (st.nullish) return Value::boolean(false);
  std::vector<std::optional<std::pair<size_t, size_t>>> g;
  MS_ASSIGN_OR_RETURN(bool found, exec(st, 0, &g, c.op));
  return Value::boolean(found);
}

template <LazyFn F>
Result<ExprPtr> parse_regex(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    // The server streams the BSON type number here.
    return err(51103, std::string(op) + " expects an object of named arguments but found: " +
                          std::to_string(static_cast<int>(bson_iter_type(arg))));
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"input", "regex", "options"}, 51103, "", 31024,
                                                       std::string(op) + " found an unknown argument: "}));
  if (!kids[0]) return err(31022, std::string(op) + " requires 'input' parameter");
  if (!kids[1]) return err(31023, std::string(op) + " requires 'regex' parameter");
  auto cache = std::make_shared<RegexCache>();
  auto* pc = dynamic_cast<ConstantNode*>(kids[1].get());
  auto* oc = kids[2] ? dynamic_cast<ConstantNode*>(kids[2].get()) : nullptr;
  if (pc && (!kids[2] || oc)) {
    MS_ASSIGN_OR_RETURN(RegexSpec spec, extract_regex(pc->value, oc ? oc->value : Value::null(), op));
    cache->constant = true;
    if (spec.pattern) {
      MS_ASSIGN_OR_RETURN(cache->re, compile_regex(spec, op));
    }
  }
  MS_ASSIGN_OR_RETURN(auto e, make_lazy(op, std::move(kids), F));
  static_cast<OpNode*>(e.get())->extra = cache;
  return e;
}

// ---- replace / split ----------------------------------------------------------------------

template <bool kAll>
Result<Value> replace_fn(const OpNode& n, const Call& c) {
  MS_ASSIGN_OR_RETURN(Value input, c.eval(*n.kids[0]));
  MS_ASSIGN_OR_RETURN(Value find, c.eval(*n.kids[1]));
  MS_ASSIGN_OR_RETURN(Value repl, c.eval(*n.kids[2]));
  if (!(is_str(input) || input.nullish())) {
    return err(51746, std::string(c.op) + " requires that 'input' be a string, found: " + value_string(input));
  }
  if (!(is_str(find) || find.nullish())) {
    return err(51745, std::string(c.op) + " requires that 'find' be a string, found: " + value_string(find));
  }
  if (!(is_str(repl) || repl.nullish())) {
    return err(51744, std::string(c.op) + " requires that 'replacement' be a string, found: " + value_string(repl));
  }
  if (input.nullish() || find.nullish() || repl.nullish()) return Value::null();
  std::string_view in = input.as_string(), f = find.as_string(), r = repl.as_string();
  std::string out;
  if (!kAll) {
    size_t pos = in.find(f);
    if (pos == std::string_view::npos) return input;
    out.append(in.substr(0, pos)).append(r).append(in.substr(pos + f.size()));
    return Value::string(out);
  }
  if (f.empty()) {
    for (char ch : in) out.append(r).push_back(ch);
    out.append(r);
    return Value::string(out);
  }
  for (;;) {
    size_t pos = in.find(f);
    if (pos == std::string_view::npos) {
      out.append(in);
      break;
    }
    out.append(in.substr(0, pos)).append(r);
    in = in.substr(pos + f.size());
  }
  return Value::string(out);
}

template <LazyFn F>
Result<ExprPtr> parse_replace(std::string_view op, const bson_iter_t* arg, Scope& sc) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) {
    return err(51751, std::string(op) + " requires an object as an argument, found: " +
                          std::string(type_name(bson_iter_type(arg))));
  }
  MS_ASSIGN_OR_RETURN(auto kids, parse_named(arg, sc, {{"input", "find", "replacement"}, 51751, "", 51750,
                                                       std::string(op) + " found an unknown argument: "}));
  if (!kids[0]) return err(51749, std::string(op) + " requires 'input' to be specified");
  if (!kids[1]) return err(51748, std::string(op) + " requires 'find' to be specified");
  if (!kids[2]) return err(51747, std::string(op) + " requires 'replacement' to be specified");
  return make_lazy(op, std::move(kids), F);
}

Result<Value> split_fn(std::vector<Value>& a, const Call&) {
  if (a[0].nullish() || a[1].nullish()) return Value::null();
  if (!is_str(a[0])) {
    return err(40085, "$split requires an expression that evaluates to a string as a first argument, found: " +
                          std::string(type_name(a[0])));
  }
  if (!is_str(a[1])) {
    return err(40086, "$split requires an expression that evaluates to a string as a second argument, found: " +
                          std::string(type_name(a[1])));
  }
  std::string_view in = a[0].as_string(), sep = a[1].as_string();
  if (sep.empty()) return err(40087, "$split requires a non-empty separator");
  std::vector<Value> out;
  size_t pos;
  while ((pos = in.find(sep)) != std::string_view::npos) {
    out.push_back(Value::string(in.substr(0, pos)));
    in = in.substr(pos + sep.size());
  }
  out.push_back(Value::string(in));
  return make_array(out);
}

// ---- lengths, substrings, case ------------------------------------------------------------

Result<Value> str_len_bytes_fn(std::vector<Value>& a, const Call&) {
  if (!is_str(a[0])) {
    return err(34473, "$strLenBytes requires a string argument, found: " + std::string(type_name(a[0])));
  }
  size_t n = a[0].as_string().size();
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return err(34470, "string length could not be represented as an int.");
  }
  return Value::int32(static_cast<int32_t>(n));
}

Result<Value> str_len_cp_fn(std::vector<Value>& a, const Call&) {
  if (!is_str(a[0])) return err(34471, "$strLenCP requires a string argument, found: " + std::string(type_name(a[0])));
  return Value::int32(static_cast<int32_t>(cp_count(a[0].as_string())));
}

Result<Value> substr_bytes_fn(std::vector<Value>& a, const Call&) {
  MS_ASSIGN_OR_RETURN(std::string str, coerce_to_string(a[0]));
  const std::string op = "$substrBytes";
  if (!a[1].is_number()) {
    return err(16034, op + ":  starting index must be a numeric type (is BSON type " + std::string(type_name(a[1])) + ")");
  }
  if (!a[2].is_number()) {
    return err(16035, op + ":  length must be a numeric type (is BSON type " + std::string(type_name(a[2])) + ")");
  }
  int64_t lower_s = num_to_int64(a[1].raw());
  if (lower_s < 0) {
    return err(50752, op + ":  starting index must be non-negative (got: " + std::to_string(lower_s) + ")");
  }
  size_t lower = static_cast<size_t>(lower_s);
  int64_t len_s = num_to_int64(a[2].raw());
  size_t length = len_s < 0 ? str.size() : static_cast<size_t>(len_s);
  if (!(lower >= str.size() || !is_continuation(str[lower]))) {
    return err(28656, op + ":  Invalid range, starting index is a UTF-8 continuation byte.");
  }
  if (!(length >= str.size() - std::min(lower, str.size()) || !is_continuation(str[lower + length]))) {
    return err(28657, op + ":  Invalid range, ending index is in the middle of a UTF-8 character.");
  }
  if (lower >= str.size()) return Value::string("");
  return Value::string(str.substr(lower, length));
}

Result<Value> substr_cp_fn(std::vector<Value>& a, const Call& c) {
  MS_ASSIGN_OR_RETURN(std::string str, coerce_to_string(a[0]));
  std::string op(c.op);
  if (!a[1].is_number()) {
    return err(34450, op + ": starting index must be a numeric type (is BSON type " + std::string(type_name(a[1])) + ")");
  }
  auto start = as_integral(a[1], true);
  if (!start) {
    return err(34451, op + ": starting index cannot be represented as a 32-bit integral value: " + value_string(a[1]));
  }
  if (!a[2].is_number()) {
    return err(34452, op + ": length must be a numeric type (is BSON type " + std::string(type_name(a[2])) + ")");
  }
  auto len = as_integral(a[2], true);
  if (!len) return err(34453, op + ": length cannot be represented as a 32-bit integral value: " + value_string(a[2]));
  if (*len < 0) return err(34454, op + ": length must be a nonnegative integer.");
  if (*start < 0) return err(34455, op + ": the starting index must be nonnegative integer.");
  size_t sb = 0;
  for (int64_t i = 0; i < *start; ++i) {
    if (sb >= str.size()) return Value::string("");
    if (is_continuation(str[sb])) return err(34456, op + ": invalid UTF-8 string");
    size_t l = cp_len(str[sb]);
    if (l > 4) return err(34457, op + ": invalid UTF-8 string");
    sb += l;
  }
  size_t eb = sb;
  for (int64_t i = 0; i < *len && eb < str.size(); ++i) {
    if (is_continuation(str[eb])) return err(34458, op + ": invalid UTF-8 string");
    size_t l = cp_len(str[eb]);
    if (l > 4) return err(34459, op + ": invalid UTF-8 string");
    eb += l;
  }
  return Value::string(std::string_view(str).substr(std::min(sb, str.size()), std::min(eb, str.size()) - std::min(sb, str.size())));
}

template <bool kUpper>
Result<Value> case_fn(std::vector<Value>& a, const Call&) {
  MS_ASSIGN_OR_RETURN(std::string s, coerce_to_string(a[0]));
  // ASCII only, as boost::to_lower/to_upper in the C locale.
  for (char& ch : s) {
    if (kUpper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
    if (!kUpper && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  }
  return Value::string(s);
}

Result<Value> strcasecmp_fn(std::vector<Value>& a, const Call& c) {
  std::vector<Value> x{a[0]}, y{a[1]};
  MS_ASSIGN_OR_RETURN(Value s1, case_fn<true>(x, c));
  MS_ASSIGN_OR_RETURN(Value s2, case_fn<true>(y, c));
  int r = s1.as_string().compare(s2.as_string());
  return Value::int32(r == 0 ? 0 : r > 0 ? 1 : -1);
}

// $substr is an alias that parses into $substrBytes (arity messages name $substrBytes).
Result<ExprPtr> parse_substr(std::string_view, const bson_iter_t* arg, Scope& sc) {
  return make_nary("$substrBytes", arg, sc, 3, 3, substr_bytes_fn);
}

}  // namespace

std::vector<OpDef> string_ops() {
  return {
      {"$concat", 0, nary<0, -1, concat_fn>},
      {"$indexOfBytes", 0, nary<2, 4, index_of_bytes_fn>},
      {"$indexOfCP", 0, nary<2, 4, index_of_cp_fn>},
      {"$trim", 0, parse_trim},
      {"$ltrim", 0, parse_trim},
      {"$rtrim", 0, parse_trim},
      {"$regexFind", 0, parse_regex<regex_find_fn>},
      {"$regexFindAll", 0, parse_regex<regex_find_all_fn>},
      {"$regexMatch", 0, parse_regex<regex_match_fn>},
      {"$replaceOne", 44, parse_replace<replace_fn<false>>},
      {"$replaceAll", 44, parse_replace<replace_fn<true>>},
      {"$split", 0, nary<2, 2, split_fn>},
      {"$strLenBytes", 0, nary<1, 1, str_len_bytes_fn>},
      {"$strLenCP", 0, nary<1, 1, str_len_cp_fn>},
      {"$strcasecmp", 0, nary<2, 2, strcasecmp_fn>},
      {"$substr", 0, parse_substr},
      {"$substrBytes", 0, nary<3, 3, substr_bytes_fn>},
      {"$substrCP", 0, nary<3, 3, substr_cp_fn>},
      {"$toLower", 0, nary<1, 1, case_fn<false>>},
      {"$toUpper", 0, nary<1, 1, case_fn<true>>},
  };
}

}  // namespace mql::expr
