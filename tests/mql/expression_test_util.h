// Helpers for the expression tests: parse an expression from JSON, evaluate it against a
// document, and compare the result (type included) with an extended-JSON value.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/bson.h"
#include "mql/compare.h"
#include "mql/expression.h"

namespace mql::testing {

// Copies `src` into `dst`, renaming keys that start with '%' to start with '$' (libbson's
// extended-JSON parser reserves "$type", "$regex" and "$options").
inline void rename_keys(const bson_t* src, bson_t* dst) {
  bson_iter_t it;
  bson_iter_init(&it, src);
  while (bson_iter_next(&it)) {
    std::string k = bson_iter_key(&it);
    if (!k.empty() && k[0] == '%') k[0] = '$';
    bson_type_t t = bson_iter_type(&it);
    if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      if (t == BSON_TYPE_DOCUMENT) {
        bson_iter_document(&it, &len, &data);
      } else {
        bson_iter_array(&it, &len, &data);
      }
      bson_t sub, child;
      bson_init_static(&sub, data, len);
      if (t == BSON_TYPE_DOCUMENT) {
        bson_append_document_begin(dst, k.c_str(), -1, &child);
        rename_keys(&sub, &child);
        bson_append_document_end(dst, &child);
      } else {
        bson_append_array_begin(dst, k.c_str(), -1, &child);
        rename_keys(&sub, &child);
        bson_append_array_end(dst, &child);
      }
    } else {
      bson_append_iter(dst, k.c_str(), -1, &it);
    }
  }
}

inline common::Bson doc(const std::string& json) {
  auto r = common::Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  if (!r.ok()) return common::Bson();
  common::Bson out;
  rename_keys(r.value().get(), out.mut());
  return out;
}

struct ExprHarness {
  ExpressionContext ctx;
  ExprHarness() { ctx.now_ms = 1700000000000; }

  // Parses {"e": <expr>} and evaluates it against `document`.
  common::Result<Value> eval(const std::string& expr, const std::string& document = "{}") {
    common::Bson spec = doc("{\"e\": " + expr + "}");
    bson_iter_t it;
    if (!bson_iter_init_find(&it, spec.get(), "e")) return common::Status(2, "bad test spec");
    auto e = Expression::parse(&it, ctx);
    if (!e.ok()) return e.status();
    common::Bson d = doc(document);
    Variables vars(ctx);
    return (*e)->evaluate(d.get(), vars);
  }
};

// Same type and same value (decimals and doubles compared by their exact representation).
inline ::testing::AssertionResult same_value(const Value& actual, const Value& expected) {
  if (actual.type() != expected.type()) {
    return ::testing::AssertionFailure() << "type " << actual.type() << " vs " << expected.type() << ": " << actual.json()
                                         << " vs " << expected.json();
  }
  if (actual.missing()) return ::testing::AssertionSuccess();
  if (actual.json() != expected.json() || compare_values(&actual.raw(), &expected.raw()) != 0) {
    return ::testing::AssertionFailure() << actual.json() << " vs expected " << expected.json();
  }
  return ::testing::AssertionSuccess();
}

inline Value json_value(const std::string& json) {
  common::Bson d = doc("{\"v\": " + json + "}");
  bson_iter_t it;
  if (!bson_iter_init_find(&it, d.get(), "v")) return Value();
  return Value::from_iter(&it);
}

// Evaluates and compares in a function, so that each check expands to one small assertion.
inline ::testing::AssertionResult check_expr(ExprHarness& h, const std::string& expr, const std::string& document,
                                             const std::string& expected) {
  auto r = h.eval(expr, document);
  if (!r.ok()) return ::testing::AssertionFailure() << expr << ": " << r.status().to_string();
  Value want = expected == "missing" ? Value() : json_value(expected);
  auto same = same_value(*r, want);
  if (!same) return ::testing::AssertionFailure() << expr << " on " << document << ": " << same.message();
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult check_expr_error(ExprHarness& h, const std::string& expr, const std::string& document,
                                                   int want_code) {
  auto r = h.eval(expr, document);
  if (r.ok()) return ::testing::AssertionFailure() << expr << " gave " << r->json();
  if (r.status().code() != want_code) {
    return ::testing::AssertionFailure() << expr << ": expected code " << want_code << ", got "
                                         << r.status().to_string();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mql::testing

// EXPECT_EXPR(harness, expr, doc, expected-json); expected "missing" checks a missing value.
#define EXPECT_EXPR(h, expr, document, expected) \
  EXPECT_TRUE(::mql::testing::check_expr((h), (expr), (document), (expected)))
#define EXPECT_EXPR_ERROR(h, expr, document, want_code) \
  EXPECT_TRUE(::mql::testing::check_expr_error((h), (expr), (document), (want_code)))
