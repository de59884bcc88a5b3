// Implementation of the unified test format's matching rules.
#include "match.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

namespace spec {
namespace {

// The single "$$..." key of an expected document, or empty.
std::string special_key(const bson_iter_t* expected) {
  if (!BSON_ITER_HOLDS_DOCUMENT(expected)) return "";
  bson_iter_t child;
  if (!bson_iter_recurse(expected, &child) || !bson_iter_next(&child)) return "";
  std::string k = bson_iter_key(&child);
  if (k.rfind("$$", 0) != 0) return "";
  if (bson_iter_next(&child)) return "";
  return k;
}

bson_iter_t special_arg(const bson_iter_t* expected) {
  bson_iter_t child;
  bson_iter_recurse(expected, &child);
  bson_iter_next(&child);
  return child;
}

std::string where(const std::string& path) { return path.empty() ? "<root>" : path; }

bool scalar_equal(const bson_iter_t* e, const bson_iter_t* a) {
  bson_type_t te = bson_iter_type(e), ta = bson_iter_type(a);
  if (is_number(te) && is_number(ta)) {
    // int, long and double compare by value; two integers exactly (a double cannot hold
    // every long).
    if (te != BSON_TYPE_DOUBLE && ta != BSON_TYPE_DOUBLE) return bson_iter_as_int64(e) == bson_iter_as_int64(a);
    return *iter_number(e) == *iter_number(a);
  }
  if (te != ta) return false;
  Doc de, da;
  bson_append_iter(de.get(), "v", 1, e);
  bson_append_iter(da.get(), "v", 1, a);
  return de.get()->len == da.get()->len && std::memcmp(bson_get_data(de.get()), bson_get_data(da.get()), de.get()->len) == 0;
}

bool type_matches(const std::string& name, bson_type_t t) {
  if (name == "number") return is_number(t) || t == BSON_TYPE_DECIMAL128;
  return name == type_alias(t);
}

std::string special(const std::string& op, const bson_iter_t* arg, const bson_iter_t* actual, bool root,
                    const MatchContext& ctx, const std::string& path) {
  if (op == "$$unsetOrMatches") {
    if (!actual) return "";
    return match(arg, actual, root, ctx, path);
  }
  if (op == "$$exists") {
    // Only meaningful as a field value; handled by the caller. At value level it means the
    // value itself must (not) be present.
    bool want = bson_iter_as_bool(arg);
    if (want && !actual) return where(path) + ": expected to exist";
    if (!want && actual) return where(path) + ": expected not to exist, got " + iter_json(actual);
    return "";
  }
  if (!actual) return where(path) + ": missing (expected " + op + " " + iter_json(arg) + ")";
  if (op == "$$type") {
    bson_type_t t = bson_iter_type(actual);
    if (BSON_ITER_HOLDS_UTF8(arg)) {
      if (type_matches(bson_iter_utf8(arg, nullptr), t)) return "";
    } else if (BSON_ITER_HOLDS_ARRAY(arg)) {
      bson_iter_t c;
      bson_iter_recurse(arg, &c);
      while (bson_iter_next(&c)) {
        if (BSON_ITER_HOLDS_UTF8(&c) && type_matches(bson_iter_utf8(&c, nullptr), t)) return "";
      }
    } else {
      return where(path) + ": malformed $$type argument";
    }
    return where(path) + ": type " + type_alias(t) + " is not " + iter_json(arg);
  }
  if (op == "$$matchesEntity") {
    if (!BSON_ITER_HOLDS_UTF8(arg)) return "malformed $$matchesEntity";
    std::string name = bson_iter_utf8(arg, nullptr);
    auto v = ctx.entity ? ctx.entity(name) : std::nullopt;
    if (!v) return "$$matchesEntity: undefined entity " + name;
    bson_iter_t vi = v->iter();
    return match(&vi, actual, root, ctx, path);
  }
  if (op == "$$matchesHexBytes") {
    if (!BSON_ITER_HOLDS_UTF8(arg)) return "malformed $$matchesHexBytes";
    std::string hex = bson_iter_utf8(arg, nullptr);
    if (hex.size() % 2) return "malformed $$matchesHexBytes (odd length)";
    std::string bytes;
    for (size_t i = 0; i < hex.size(); i += 2) {
      if (!std::isxdigit(static_cast<unsigned char>(hex[i])) || !std::isxdigit(static_cast<unsigned char>(hex[i + 1])))
        return "malformed $$matchesHexBytes";
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    const uint8_t* data = nullptr;
    uint32_t len = 0;
    if (BSON_ITER_HOLDS_BINARY(actual)) {
      bson_subtype_t st;
      bson_iter_binary(actual, &st, &len, &data);
    } else if (BSON_ITER_HOLDS_UTF8(actual)) {
      data = reinterpret_cast<const uint8_t*>(bson_iter_utf8(actual, &len));
    } else {
      return where(path) + ": $$matchesHexBytes needs a string or binary";
    }
    if (bytes.size() == len && std::memcmp(bytes.data(), data, len) == 0) return "";
    return where(path) + ": bytes differ from " + hex;
  }
  if (op == "$$sessionLsid") {
    if (!BSON_ITER_HOLDS_UTF8(arg)) return "malformed $$sessionLsid";
    std::string name = bson_iter_utf8(arg, nullptr);
    auto lsid = ctx.session_lsid ? ctx.session_lsid(name) : std::nullopt;
    if (!lsid) return "$$sessionLsid: undefined session entity " + name;
    if (!BSON_ITER_HOLDS_DOCUMENT(actual)) return where(path) + ": lsid is not a document";
    Doc a = iter_doc(actual);
    if (exact_equal_docs(lsid->get(), a.get())) return "";
    return where(path) + ": lsid " + a.json() + " is not session " + name + "'s " + lsid->json();
  }
  if (op == "$$lte") {
    auto e = iter_number(arg);
    auto a = iter_number(actual);
    if (!e) return "malformed $$lte";
    if (!a) return where(path) + ": $$lte needs a number, got " + iter_json(actual);
    if (*a <= *e) return "";
    return where(path) + ": " + iter_json(actual) + " is not <= " + iter_json(arg);
  }
  if (op == "$$matchAsDocument") {
    if (!BSON_ITER_HOLDS_UTF8(actual)) return where(path) + ": $$matchAsDocument needs a string";
    // The string must hold a JSON object; libbson would also accept a top-level array.
    std::string text = bson_iter_utf8(actual, nullptr);
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] != '{')
      return where(path) + ": $$matchAsDocument: actual is not an Extended JSON object";
    auto d = Doc::from_json(text);
    if (!d) return where(path) + ": $$matchAsDocument: actual is not Extended JSON";
    Val v = Val::from_doc(d->get());
    bson_iter_t vi = v.iter();
    return match(arg, &vi, false, ctx, path);
  }
  if (op == "$$matchAsRoot") {
    return match(arg, actual, true, ctx, path);
  }
  return "unsupported special operator " + op;
}

}  // namespace

std::string match(const bson_iter_t* expected, const bson_iter_t* actual, bool root, const MatchContext& ctx,
                  const std::string& path) {
  std::string op = special_key(expected);
  if (!op.empty()) {
    bson_iter_t arg = special_arg(expected);
    return special(op, &arg, actual, root, ctx, path);
  }
  if (!actual) return where(path) + ": missing, expected " + iter_json(expected);
  if (BSON_ITER_HOLDS_DOCUMENT(expected)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(actual))
      return where(path) + ": expected a document, got " + iter_json(actual);
    bson_iter_t e;
    bson_iter_recurse(expected, &e);
    std::set<std::string> seen;
    while (bson_iter_next(&e)) {
      std::string key = bson_iter_key(&e);
      seen.insert(key);
      std::string sub = path.empty() ? key : path + "." + key;
      bson_iter_t a;
      bool present = bson_iter_recurse(actual, &a) && bson_iter_find(&a, key.c_str());
      std::string r = match(&e, present ? &a : nullptr, false, ctx, sub);
      if (!r.empty()) return r;
    }
    if (!root) {
      bson_iter_t a;
      bson_iter_recurse(actual, &a);
      while (bson_iter_next(&a)) {
        if (!seen.count(bson_iter_key(&a)))
          return where(path) + ": unexpected extra field '" + bson_iter_key(&a) + "' in nested document " +
                 iter_json(actual);
      }
    }
    return "";
  }
  if (BSON_ITER_HOLDS_ARRAY(expected)) {
    if (!BSON_ITER_HOLDS_ARRAY(actual)) return where(path) + ": expected an array, got " + iter_json(actual);
    bson_iter_t e, a;
    bson_iter_recurse(expected, &e);
    bson_iter_recurse(actual, &a);
    size_t i = 0;
    while (true) {
      bool he = bson_iter_next(&e), ha = bson_iter_next(&a);
      if (!he && !ha) return "";
      if (he != ha)
        return where(path) + ": array length differs: expected " + iter_json(expected) + ", got " + iter_json(actual);
      std::string r = match(&e, &a, false, ctx, path + "[" + std::to_string(i) + "]");
      if (!r.empty()) return r;
      ++i;
    }
  }
  if (scalar_equal(expected, actual)) return "";
  return where(path) + ": expected " + iter_json(expected) + " (" + type_alias(bson_iter_type(expected)) + "), got " +
         iter_json(actual) + " (" + type_alias(bson_iter_type(actual)) + ")";
}

std::string match_val(const Val& expected, const Val& actual, bool root, const MatchContext& ctx) {
  if (expected.missing()) return "";
  bson_iter_t e = expected.iter();
  if (actual.missing()) return match(&e, nullptr, root, ctx);
  bson_iter_t a = actual.iter();
  return match(&e, &a, root, ctx);
}

std::string match_doc(const bson_t* expected, const bson_t* actual, const MatchContext& ctx) {
  return match_val(Val::from_doc(expected), Val::from_doc(actual), true, ctx);
}

bool exact_equal(const bson_iter_t* a, const bson_iter_t* b) {
  bson_type_t ta = bson_iter_type(a), tb = bson_iter_type(b);
  if (ta != tb) return false;
  if (ta == BSON_TYPE_DOCUMENT) {
    Doc da = iter_doc(a), db = iter_doc(b);
    return exact_equal_docs(da.get(), db.get());
  }
  if (ta == BSON_TYPE_ARRAY) {
    bson_iter_t ca, cb;
    bson_iter_recurse(a, &ca);
    bson_iter_recurse(b, &cb);
    while (true) {
      bool ha = bson_iter_next(&ca), hb = bson_iter_next(&cb);
      if (ha != hb) return false;
      if (!ha) return true;
      if (!exact_equal(&ca, &cb)) return false;
    }
  }
  if (ta == BSON_TYPE_DOUBLE) {
    double x = bson_iter_double(a), y = bson_iter_double(b);
    return x == y || (std::isnan(x) && std::isnan(y));
  }
  return scalar_equal(a, b);
}

bool exact_equal_docs(const bson_t* a, const bson_t* b) {
  if (bson_count_keys(a) != bson_count_keys(b)) return false;
  bson_iter_t ia;
  if (!bson_iter_init(&ia, a)) return false;
  while (bson_iter_next(&ia)) {
    bson_iter_t ib;
    if (!bson_iter_init_find(&ib, b, bson_iter_key(&ia))) return false;
    if (!exact_equal(&ia, &ib)) return false;
  }
  return true;
}

}  // namespace spec
