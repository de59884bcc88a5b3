// Test support for the pipeline tests: JSON helpers, a shell-like value formatter that shows
// numeric types, and an in-memory PipelineHost.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/bson.h"
#include "mql/compare.h"
#include "mql/pipeline.h"

namespace mql::testing {

using common::Bson;

inline Bson J(const std::string& json) {
  auto r = Bson::from_json(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().to_string();
  return r.ok() ? std::move(*r) : Bson();
}

// The elements of a JSON array of documents.
inline std::vector<Bson> Docs(const std::string& json_array) {
  Bson holder = J("{\"d\": " + json_array + "}");
  std::vector<Bson> out;
  bson_iter_t it, e;
  if (!bson_iter_init_find(&it, holder.get(), "d") || !bson_iter_recurse(&it, &e)) return out;
  while (bson_iter_next(&e)) {
    uint32_t len;
    const uint8_t* data;
    bson_iter_document(&e, &len, &data);
    bson_t d;
    bson_init_static(&d, data, len);
    out.emplace_back(&d);
  }
  return out;
}

// Shell-like rendering that keeps numeric types apart: 1 (int), NumberLong(1), 1.5 / 2.0
// (double), NumberDecimal("1.5").
inline void Show(std::string& s, const bson_value_t& v);

inline void ShowDoc(std::string& s, const uint8_t* data, uint32_t len, bool array) {
  bson_t b;
  bson_init_static(&b, data, len);
  bson_iter_t it;
  bson_iter_init(&it, &b);
  s += array ? "[" : "{";
  bool first = true;
  while (bson_iter_next(&it)) {
    if (!first) s += ", ";
    first = false;
    if (!array) {
      s += bson_iter_key(&it);
      s += ": ";
    }
    Show(s, *bson_iter_value(&it));
  }
  s += array ? "]" : "}";
}

inline void Show(std::string& s, const bson_value_t& v) {
  switch (v.value_type) {
    case BSON_TYPE_INT32: s += std::to_string(v.value.v_int32); break;
    case BSON_TYPE_INT64: s += "NumberLong(" + std::to_string(v.value.v_int64) + ")"; break;
    case BSON_TYPE_DOUBLE: {
      double d = v.value.v_double;
      std::ostringstream os;
      os.precision(15);
      os << d;
      std::string t = os.str();
      if (std::isfinite(d) && t.find_first_of(".e") == std::string::npos) t += ".0";
      s += t;
      break;
    }
    case BSON_TYPE_DECIMAL128: {
      char buf[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&v.value.v_decimal128, buf);
      s += std::string("NumberDecimal(\"") + buf + "\")";
      break;
    }
    case BSON_TYPE_UTF8: s += "\"" + std::string(v.value.v_utf8.str, v.value.v_utf8.len) + "\""; break;
    case BSON_TYPE_NULL: s += "null"; break;
    case BSON_TYPE_UNDEFINED: s += "undefined"; break;
    case BSON_TYPE_BOOL: s += v.value.v_bool ? "true" : "false"; break;
    case BSON_TYPE_DOCUMENT: ShowDoc(s, v.value.v_doc.data, v.value.v_doc.data_len, false); break;
    case BSON_TYPE_ARRAY: ShowDoc(s, v.value.v_doc.data, v.value.v_doc.data_len, true); break;
    case BSON_TYPE_DATE_TIME: s += "Date(" + std::to_string(v.value.v_datetime) + ")"; break;
    case BSON_TYPE_OID: s += "ObjectId"; break;
    default: s += common::value_to_json(&v); break;
  }
}

inline std::string Show(const bson_t* doc) {
  std::string s;
  ShowDoc(s, bson_get_data(doc), doc->len, false);
  return s;
}

// An in-memory server: collections by "db.coll", with call counters.
class FakeHost : public PipelineHost {
 public:
  std::map<std::string, std::vector<Bson>> colls;
  int opens = 0;
  int finds = 0;

  void Put(const std::string& ns, const std::string& json_array) { colls[ns] = Docs(json_array); }

  common::Result<std::unique_ptr<DocumentSource>> open_collection(const std::string& db,
                                                                  const std::string& coll) override {
    ++opens;
    auto it = colls.find(db + "." + coll);
    return make_vector_source(it == colls.end() ? std::vector<Bson>{} : it->second);
  }
  common::Result<std::unique_ptr<DocumentSource>> find_equal(const std::string& db, const std::string& coll,
                                                             const std::string& path, const std::vector<Value>& values,
                                                             const ExpressionContext& ctx) override {
    ++finds;
    return PipelineHost::find_equal(db, coll, path, values, ctx);
  }
  common::Status replace_collection(const std::string& db, const std::string& coll,
                                    std::vector<Bson> docs) override {
    colls[db + "." + coll] = std::move(docs);
    return common::Status::OK();
  }
  common::Status merge_document(const MergeSpec& spec, const bson_t* doc, const bson_t* let_values,
                                const ExpressionContext& ctx) override {
    auto& target = colls[spec.db + "." + spec.coll];
    for (auto& existing : target) {
      bool match = true;
      for (const auto& f : spec.on) {
        bson_iter_t a, b;
        bool ha = bson_iter_init(&a, existing.get()) && bson_iter_find_descendant(&a, f.c_str(), &a);
        bool hb = bson_iter_init(&b, doc) && bson_iter_find_descendant(&b, f.c_str(), &b);
        if (!ha || !hb || compare_elements(&a, &b) != 0) match = false;
      }
      if (!match) continue;
      auto r = merge_matched(spec, existing.get(), doc, let_values, ctx);
      if (!r.ok()) return r.status();
      if (*r) existing = std::move(**r);
      return common::Status::OK();
    }
    switch (spec.when_not_matched) {
      case MergeSpec::WhenNotMatched::kInsert: target.emplace_back(doc); break;
      case MergeSpec::WhenNotMatched::kDiscard: break;
      case MergeSpec::WhenNotMatched::kFail:
        return common::Status(13113, "$merge could not find a matching document in the target collection for at "
                                     "least one document in the source collection");
    }
    return common::Status::OK();
  }
  common::Result<std::vector<Bson>> coll_stats(const std::string& db, const std::string& coll,
                                               const bson_t* spec) override {
    Bson out;
    std::string ns = db + "." + coll;
    common::append_utf8(out.mut(), "ns", ns);
    bson_iter_t it;
    if (bson_iter_init_find(&it, spec, "count")) {
      common::append_int64(out.mut(), "count", static_cast<int64_t>(colls[ns].size()));
    }
    return std::vector<Bson>{out};
  }
  common::Result<std::vector<Bson>> index_stats(const std::string&, const std::string&) override {
    return std::vector<Bson>{J("{\"name\": \"_id_\", \"key\": {\"_id\": 1}}")};
  }
};

// `n` documents {_id: i, s: <`bytes` characters>}, for memory-limit tests.
inline std::vector<Bson> BigDocs(int n, size_t bytes) {
  std::string big(bytes, 'x');
  std::vector<Bson> docs;
  for (int i = 0; i < n; ++i) {
    Bson d;
    common::append_int32(d.mut(), "_id", i);
    common::append_utf8(d.mut(), "s", big);
    docs.push_back(std::move(d));
  }
  return docs;
}

// Parses and runs `pipeline` (a JSON array) over `input` (a JSON array of documents); the
// output documents one per line, or "ERR <code> <message>".
class PipelineFixture : public ::testing::Test {
 protected:
  PipelineFixture() {
    ctx_.db = "test";
    ctx_.collection = "c";
  }

  common::Result<std::unique_ptr<Pipeline>> Parse(const std::string& pipeline) { return Parse(pipeline, &host_); }
  common::Result<std::unique_ptr<Pipeline>> Parse(const std::string& pipeline, PipelineHost* host) {
    holder_ = J("{\"p\": " + pipeline + "}");
    bson_iter_t it;
    bson_iter_init_find(&it, holder_.get(), "p");
    uint32_t len;
    const uint8_t* data;
    bson_iter_array(&it, &len, &data);
    bson_t arr;
    bson_init_static(&arr, data, len);
    return Pipeline::parse(&arr, ctx_, host);
  }

  std::string Run(const std::string& pipeline, const std::string& input = "[]") {
    return RunDocs(pipeline, Docs(input));
  }

  // As Run() over documents built by the test.
  std::string RunDocs(const std::string& pipeline, std::vector<Bson> input) {
    auto p = Parse(pipeline);
    if (!p.ok()) return "ERR " + std::to_string(p.status().code()) + " " + p.status().message();
    auto src = (*p)->run(make_vector_source(std::move(input)));
    if (!src.ok()) return "ERR " + std::to_string(src.status().code()) + " " + src.status().message();
    std::string out;
    while (true) {
      auto d = (*src)->next();
      if (!d.ok()) return out + "ERR " + std::to_string(d.status().code()) + " " + d.status().message();
      if (!*d) break;
      if (!out.empty()) out += "\n";
      out += Show((*d)->get());
    }
    return out;
  }

  // The parse error ("OK" when the pipeline parses).
  std::string ParseErr(const std::string& pipeline) {
    auto p = Parse(pipeline);
    if (p.ok()) return "OK";
    return "ERR " + std::to_string(p.status().code()) + " " + p.status().message();
  }

  ExpressionContext ctx_;
  FakeHost host_;
  Bson holder_;
};

}  // namespace mql::testing
