// Collation over ICU: parsing/validating the `collation` document like the server's
// CollatorFactoryICU, comparison and sort keys.
#include "mql/collation.h"

#include <unicode/ucol.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "mql/value.h"

namespace mql {

using common::Result;
using common::Status;

namespace {

// The server reports the ICU version it bundles, not the system's.
constexpr const char* kIcuVersion = "57.1";
constexpr int kIncompatibleCollationVersion = 174;

struct Spec {
  std::string locale;
  bool case_level = false;
  std::string case_first = "off";
  int strength = 3;
  bool numeric_ordering = false;
  std::string alternate = "non-ignorable";
  std::string max_variable = "punct";
  bool normalization = false;
  bool backwards = false;
};

// The server's BSONObj::toString form ({ locale: "xx", strength: 1 }) used in its messages.
std::string spec_string(const bson_t* spec) {
  std::string out = "{";
  bson_iter_t it;
  bool first = true;
  if (bson_iter_init(&it, spec)) {
    while (bson_iter_next(&it)) {
      out += first ? " " : ", ";
      first = false;
      out += bson_iter_key(&it);
      out += ": ";
      out += common::value_to_json(bson_iter_value(&it));
    }
  }
  out += first ? "}" : " }";
  return out;
}

const char* bson_type_name(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_BOOL: return "bool";
    case BSON_TYPE_UTF8: return "string";
    case BSON_TYPE_INT32: return "int";
    case BSON_TYPE_INT64: return "long";
    case BSON_TYPE_DOUBLE: return "double";
    case BSON_TYPE_DECIMAL128: return "decimal";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_DOCUMENT: return "object";
    case BSON_TYPE_ARRAY: return "array";
    default: return common::type_alias(t);
  }
}

Status wrong_type(const char* field, const char* expected, bson_type_t found) {
  return Status(common::kTypeMismatch, std::string("\"") + field + "\" had the wrong type. Expected " + expected +
                                           ", found " + bson_type_name(found));
}

class IcuCollator final : public Collator {
 public:
  IcuCollator(Spec spec, UCollator* coll) : spec_(std::move(spec)), coll_(coll) {}
  ~IcuCollator() override { ucol_close(coll_); }
  IcuCollator(const IcuCollator&) = delete;
  IcuCollator& operator=(const IcuCollator&) = delete;

  int compare(std::string_view a, std::string_view b) const override {
    UErrorCode st = U_ZERO_ERROR;
    UCollationResult r = ucol_strcollUTF8(coll_, a.data(), static_cast<int32_t>(a.size()), b.data(),
                                          static_cast<int32_t>(b.size()), &st);
    if (U_FAILURE(st)) {  // invalid UTF-8 and the like: fall back to binary order
      int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
      if (c != 0) return c < 0 ? -1 : 1;
      return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
    }
    return r == UCOL_LESS ? -1 : (r == UCOL_GREATER ? 1 : 0);
  }

  std::string sort_key(std::string_view s) const override {
    std::vector<UChar> u16(s.size() + 1);
    int32_t len = 0;
    UErrorCode st = U_ZERO_ERROR;
    u_strFromUTF8WithSub(u16.data(), static_cast<int32_t>(u16.size()), &len, s.data(), static_cast<int32_t>(s.size()),
                         0xFFFD, nullptr, &st);
    if (U_FAILURE(st)) return std::string(s);
    std::string key(64, '\0');
    int32_t n = ucol_getSortKey(coll_, u16.data(), len, reinterpret_cast<uint8_t*>(key.data()),
                                static_cast<int32_t>(key.size()));
    if (n > static_cast<int32_t>(key.size())) {
      key.resize(static_cast<size_t>(n));
      n = ucol_getSortKey(coll_, u16.data(), len, reinterpret_cast<uint8_t*>(key.data()), n);
    }
    // ucol_getSortKey counts the trailing NUL; drop it so keys compare as plain bytes.
    key.resize(n > 0 ? static_cast<size_t>(n - 1) : 0);
    return key;
  }

  common::Bson spec() const override {
    common::Bson b;
    bson_t* d = b.mut();
    common::append_utf8(d, "locale", spec_.locale);
    common::append_bool(d, "caseLevel", spec_.case_level);
    common::append_utf8(d, "caseFirst", spec_.case_first);
    common::append_int32(d, "strength", spec_.strength);
    common::append_bool(d, "numericOrdering", spec_.numeric_ordering);
    common::append_utf8(d, "alternate", spec_.alternate);
    common::append_utf8(d, "maxVariable", spec_.max_variable);
    common::append_bool(d, "normalization", spec_.normalization);
    common::append_bool(d, "backwards", spec_.backwards);
    common::append_utf8(d, "version", kIcuVersion);
    return b;
  }

  const std::string& locale() const override { return spec_.locale; }

 private:
  Spec spec_;
  UCollator* coll_;
};

bool get_attr_bool(UCollator* c, UColAttribute a) {
  UErrorCode st = U_ZERO_ERROR;
  return ucol_getAttribute(c, a, &st) == UCOL_ON;
}

Status set_attr(UCollator* c, UColAttribute a, UColAttributeValue v, const char* field) {
  UErrorCode st = U_ZERO_ERROR;
  ucol_setAttribute(c, a, v, &st);
  if (U_FAILURE(st)) {
    return Status(common::kOperationFailed,
                  std::string("Failed to set '") + field + "' attribute: " + u_errorName(st));
  }
  return Status::OK();
}

struct UCollatorCloser {
  UCollator* c;
  ~UCollatorCloser() {
    if (c) ucol_close(c);
  }
};

}  // namespace

Result<std::shared_ptr<const Collator>> Collator::make(const bson_t* spec) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, spec, "locale")) {
    return Status(common::kNoSuchKey, "Missing expected field \"locale\"");
  }
  if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type("locale", "string", bson_iter_type(&it));
  uint32_t llen = 0;
  const char* lstr = bson_iter_utf8(&it, &llen);
  std::string locale(lstr, llen);
  std::string shown = spec_string(spec);
  if (locale.find('\0') != std::string::npos) {
    return Status(common::kBadValue, "Field 'locale' cannot contain null byte. Collation spec: " + shown);
  }
  uint32_t nfields = bson_count_keys(spec);
  if (locale == "simple") {
    if (nfields > 1) {
      return Status(common::kFailedToParse, "If locale=simple, no other fields should be present in: " + shown);
    }
    return std::shared_ptr<const Collator>();
  }
  if (locale.empty()) {
    return Status(common::kBadValue, "Field 'locale' cannot be the empty string in: " + shown);
  }

  // Canonical ICU name (keywords such as "@collation=phonebook" are kept).
  char canon[ULOC_FULLNAME_CAPACITY];
  UErrorCode st = U_ZERO_ERROR;
  uloc_getName(locale.c_str(), canon, sizeof canon, &st);
  if (U_FAILURE(st)) return Status(common::kBadValue, "Field 'locale' is not valid in: " + shown);

  st = U_ZERO_ERROR;
  UCollator* raw = ucol_open(locale.c_str(), &st);
  if (U_FAILURE(st) || raw == nullptr) {
    return Status(common::kOperationFailed, std::string("Failed to create collator: ") + u_errorName(st) +
                                                ". Collation spec: " + shown);
  }
  UCollatorCloser guard{raw};

  // The locale must be one ICU has data for, spelled the way ICU spells it.
  st = U_ZERO_ERROR;
  const char* valid = ucol_getLocaleByType(raw, ULOC_VALID_LOCALE, &st);
  std::string valid_name = (U_SUCCESS(st) && valid) ? valid : "";
  std::string base = locale.substr(0, locale.find('@'));
  if (valid_name != base) {
    std::string msg = "Field 'locale' is invalid in: " + shown;
    if (!valid_name.empty() && valid_name != "root") msg += ". Did you mean '" + valid_name + "'?";
    return Status(common::kBadValue, msg);
  }

  Spec s;
  s.locale = canon;
  int parsed = 1;

  auto bool_field = [&](const char* name, UColAttribute attr, bool* out) -> Status {
    bson_iter_t f;
    if (!bson_iter_init_find(&f, spec, name)) {
      *out = get_attr_bool(raw, attr);
      return Status::OK();
    }
    if (!BSON_ITER_HOLDS_BOOL(&f)) return wrong_type(name, "bool", bson_iter_type(&f));
    ++parsed;
    *out = bson_iter_bool(&f);
    return set_attr(raw, attr, *out ? UCOL_ON : UCOL_OFF, name);
  };
  auto string_field = [&](const char* name, std::string* out, bool* present) -> Status {
    bson_iter_t f;
    *present = false;
    if (!bson_iter_init_find(&f, spec, name)) return Status::OK();
    if (!BSON_ITER_HOLDS_UTF8(&f)) return wrong_type(name, "string", bson_iter_type(&f));
    ++parsed;
    *present = true;
    *out = bson_iter_utf8(&f, nullptr);
    return Status::OK();
  };

  MS_RETURN_IF_ERROR(bool_field("caseLevel", UCOL_CASE_LEVEL, &s.case_level));

  {
    std::string v;
    bool present = false;
    MS_RETURN_IF_ERROR(string_field("caseFirst", &v, &present));
    if (present) {
      UColAttributeValue a;
      if (v == "upper") {
        a = UCOL_UPPER_FIRST;
      } else if (v == "lower") {
        a = UCOL_LOWER_FIRST;
      } else if (v == "off") {
        a = UCOL_OFF;
      } else {
        return Status(common::kFailedToParse, "Field 'caseFirst' must be 'upper', 'lower', or 'off'. Got: " + v);
      }
      s.case_first = v;
      MS_RETURN_IF_ERROR(set_attr(raw, UCOL_CASE_FIRST, a, "caseFirst"));
    } else {
      st = U_ZERO_ERROR;
      UColAttributeValue a = ucol_getAttribute(raw, UCOL_CASE_FIRST, &st);
      s.case_first = a == UCOL_UPPER_FIRST ? "upper" : (a == UCOL_LOWER_FIRST ? "lower" : "off");
    }
  }

  {
    bson_iter_t f;
    if (bson_iter_init_find(&f, spec, "strength")) {
      bson_type_t t = bson_iter_type(&f);
      if (t != BSON_TYPE_INT32 && t != BSON_TYPE_INT64 && t != BSON_TYPE_DOUBLE && t != BSON_TYPE_DECIMAL128) {
        return Status(common::kTypeMismatch, std::string("Expected field \"strength\" to have numeric type, but found ") +
                                                 bson_type_name(t));
      }
      Value v = Value::from_iter(&f);
      double d = v.as_double();
      if (t != BSON_TYPE_INT32 && t != BSON_TYPE_INT64 &&
          (std::isnan(d) || std::trunc(d) != d || std::fabs(d) >= 9.2e18)) {
        return Status(common::kBadValue,
                      "Expected field \"strength\" to have a value exactly representable as a 64-bit integer, but found " +
                          v.json());
      }
      int64_t n = v.as_int64();
      ++parsed;
      UColAttributeValue a;
      switch (n) {
        case 1: a = UCOL_PRIMARY; break;
        case 2: a = UCOL_SECONDARY; break;
        case 3: a = UCOL_TERTIARY; break;
        case 4: a = UCOL_QUATERNARY; break;
        case 5: a = UCOL_IDENTICAL; break;
        default:
          return Status(common::kFailedToParse,
                        "Field 'strength' must be an integer 1 through 5. Got: " + std::to_string(n));
      }
      s.strength = static_cast<int>(n);
      MS_RETURN_IF_ERROR(set_attr(raw, UCOL_STRENGTH, a, "strength"));
    } else {
      st = U_ZERO_ERROR;
      switch (ucol_getAttribute(raw, UCOL_STRENGTH, &st)) {
        case UCOL_PRIMARY: s.strength = 1; break;
        case UCOL_SECONDARY: s.strength = 2; break;
        case UCOL_QUATERNARY: s.strength = 4; break;
        case UCOL_IDENTICAL: s.strength = 5; break;
        default: s.strength = 3; break;
      }
    }
  }

  MS_RETURN_IF_ERROR(bool_field("numericOrdering", UCOL_NUMERIC_COLLATION, &s.numeric_ordering));

  {
    std::string v;
    bool present = false;
    MS_RETURN_IF_ERROR(string_field("alternate", &v, &present));
    if (present) {
      UColAttributeValue a;
      if (v == "non-ignorable") {
        a = UCOL_NON_IGNORABLE;
      } else if (v == "shifted") {
        a = UCOL_SHIFTED;
      } else {
        return Status(common::kFailedToParse,
                      "Field 'alternate' must be 'non-ignorable' or 'shifted'. Got: " + v);
      }
      s.alternate = v;
      MS_RETURN_IF_ERROR(set_attr(raw, UCOL_ALTERNATE_HANDLING, a, "alternate"));
    } else {
      st = U_ZERO_ERROR;
      s.alternate = ucol_getAttribute(raw, UCOL_ALTERNATE_HANDLING, &st) == UCOL_SHIFTED ? "shifted" : "non-ignorable";
    }
  }

  {
    std::string v;
    bool present = false;
    MS_RETURN_IF_ERROR(string_field("maxVariable", &v, &present));
    if (present) {
      UColReorderCode code;
      if (v == "punct") {
        code = UCOL_REORDER_CODE_PUNCTUATION;
      } else if (v == "space") {
        code = UCOL_REORDER_CODE_SPACE;
      } else {
        return Status(common::kFailedToParse, "Field 'maxVariable' must be 'punct' or 'space'. Got: " + v);
      }
      s.max_variable = v;
      st = U_ZERO_ERROR;
      ucol_setMaxVariable(raw, code, &st);
      if (U_FAILURE(st)) {
        return Status(common::kOperationFailed, std::string("Failed to set 'maxVariable' attribute: ") + u_errorName(st));
      }
    } else {
      s.max_variable = ucol_getMaxVariable(raw) == UCOL_REORDER_CODE_SPACE ? "space" : "punct";
    }
  }

  MS_RETURN_IF_ERROR(bool_field("normalization", UCOL_NORMALIZATION_MODE, &s.normalization));
  MS_RETURN_IF_ERROR(bool_field("backwards", UCOL_FRENCH_COLLATION, &s.backwards));

  {
    std::string v;
    bool present = false;
    MS_RETURN_IF_ERROR(string_field("version", &v, &present));
    if (present && v != kIcuVersion) {
      return Status(kIncompatibleCollationVersion, "Requested collation version " + v +
                                                       " but the only available collator version was " + kIcuVersion +
                                                       ". Requested collation spec: " + shown);
    }
  }

  if (static_cast<uint32_t>(parsed) < nfields) {
    return Status(common::kFailedToParse, "Collation spec contains unknown field. Collation spec: " + shown);
  }

  if (s.backwards && s.strength == 1) {
    return Status(common::kBadValue, "'backwards' is invalid with 'strength' of 1 in: " + shown);
  }
  if (s.case_first != "off" && !s.case_level && s.strength <= 2) {
    return Status(common::kBadValue,
                  "'caseFirst' is invalid unless 'caseLevel' is on or 'strength' is greater than 2 in: " + shown);
  }

  guard.c = nullptr;
  return std::shared_ptr<const Collator>(std::make_shared<IcuCollator>(std::move(s), raw));
}

bool same_collation(const Collator* a, const Collator* b) {
  if (a == nullptr || b == nullptr) return a == b;
  if (a == b) return true;
  common::Bson sa = a->spec();
  common::Bson sb = b->spec();
  return sa.size() == sb.size() && std::memcmp(sa.data(), sb.data(), sa.size()) == 0;
}

}  // namespace mql
