// Gap filling: $densify (numeric and date ranges, full/partition/explicit bounds) and $fill
// (value, locf and linear outputs, desugared to $addFields/$setWindowFields as the server
// does) (server: document_source_densify.cpp, document_source_fill.cpp).
#include <algorithm>
#include <cmath>

#include "common/stable_sort.h"
#include "mql/arith.h"
#include "mql/compare.h"
#include "mql/pipeline_internal.h"

namespace mql::pipe {

namespace {

// internalQueryMaxDensifyDocs.
constexpr size_t kMaxDensifyDocs = 500000;

Status parse_error(std::string msg) { return Status(common::kFailedToParse, std::move(msg)); }

// ---- $densify -------------------------------------------------------------------------------

class DensifyStage : public Stage {
 public:
  enum class Bounds { kFull, kPartition, kExplicit };
  DensifyStage(FieldPath field, std::vector<FieldPath> parts, Value step, std::optional<TimeUnit> unit, Bounds b, Value lo, Value hi,
               const ExpressionContext& ctx)
      : Stage("$densify"), field_(std::move(field)), parts_(std::move(parts)), step_(std::move(step)), unit_(unit),
        bounds_(b), lo_(std::move(lo)), hi_(std::move(hi)), ctx_(ctx) {}

  Result<SourcePtr> open(SourcePtr input) const override {
    return make_blocking_source(std::move(input), [this](DocumentSource& in) { return compute(in); });
  }

 private:
  struct Row {
    Value partition;  // document of the partition fields (missing ones left out)
    Value v;          // the field's value; nullish rows pass through
    uint64_t seq;
    Bson doc;
  };

  Value next(const Value& v) const {
    if (unit_) return Value::date(add_time_units(v.raw().value.v_datetime, *unit_, step_.as_int64()));
    return Value(agg_add(v.raw(), step_.raw()));
  }
  int cmp(const Value& a, const Value& b) const { return compare_values(&a.raw(), &b.raw(), nullptr); }

  // The field's value of one document through documents only (no arrays).
  static Value nested(const bson_t* doc, const FieldPath& p) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc)) return Value();
    for (size_t i = 0; i < p.size(); ++i) {
      std::string_view part = p.part(i);
      if (!bson_iter_find_w_len(&it, part.data(), static_cast<int>(part.size()))) return Value();
      if (i + 1 == p.size()) return Value::from_iter(&it);
      bson_iter_t c;
      if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &c)) return Value();
      it = c;
    }
    return Value();
  }

  Result<std::vector<Bson>> compute(DocumentSource& in) const {
    const Collator* coll = ctx_.coll();
    MemoryBudget budget(ctx_, kStageMemoryLimit, [] { return sort_memory_exceeded(kStageMemoryLimit); });
    std::vector<Row> rows;
    uint64_t seq = 0;
    while (true) {
      MS_ASSIGN_OR_RETURN(auto d, in.next());
      if (!d) break;
      Row r;
      r.v = nested(d->get(), field_);
      if (!r.v.nullish()) {
        if (!r.v.is_number() && r.v.type() != BSON_TYPE_DATE_TIME) {
          return Status(5733201, "Densify field type must be numeric or a date");
        }
        if (unit_ && r.v.is_number()) {
          return Status(6053600, "Encountered numeric densify value in collection when step has a date unit.");
        }
        if (!unit_ && r.v.type() == BSON_TYPE_DATE_TIME) {
          return Status(6053600, "Encountered date densify value in collection when step does not have a date unit.");
        }
      }
      OutDoc pd;
      for (const auto& p : parts_) {
        Value pv = nested(d->get(), p);
        if (!pv.missing()) set_path(pd, p, 0, std::move(pv));
      }
      r.partition = pd.value();
      r.seq = seq++;
      MS_RETURN_IF_ERROR(budget.add(d->size()));
      r.doc = std::move(*d);
      rows.push_back(std::move(r));
    }
    // Sorted by {partition fields..., field} (the server's generated $sort).
    common::stable_sort(rows, [&](const Row& a, const Row& b) {
      int c = compare_values(&a.partition.raw(), &b.partition.raw(), coll);
      if (c != 0) return c < 0;
      Value va = a.v.missing() ? Value::null() : a.v, vb = b.v.missing() ? Value::null() : b.v;
      return compare_values(&va.raw(), &vb.raw(), coll) < 0;
    });
    std::optional<Value> gmin, gmax;
    for (const auto& r : rows) {
      if (r.v.nullish()) continue;
      if (!gmin || cmp(r.v, *gmin) < 0) gmin = r.v;
      if (!gmax || cmp(r.v, *gmax) > 0) gmax = r.v;
    }
    std::vector<Bson> out;
    size_t generated = 0;
    size_t start = 0;
    while (start < rows.size()) {
      size_t end = start + 1;
      while (end < rows.size() && compare_values(&rows[end].partition.raw(), &rows[start].partition.raw(), coll) == 0) {
        ++end;
      }
      std::optional<Value> lo, hi;
      bool hi_inclusive = true;
      if (bounds_ == Bounds::kFull) {
        lo = gmin;
        hi = gmax;
      } else if (bounds_ == Bounds::kPartition) {
        for (size_t i = start; i < end; ++i) {
          if (rows[i].v.nullish()) continue;
          if (!lo || cmp(rows[i].v, *lo) < 0) lo = rows[i].v;
          if (!hi || cmp(rows[i].v, *hi) > 0) hi = rows[i].v;
        }
      } else {
        lo = lo_;
        hi = hi_;
        hi_inclusive = false;
      }
      // Values on the grid lo, lo + step, ... within the bounds that no document holds.
      auto emit_generated = [&](const Value& v) -> Status {
        if (++generated > kMaxDensifyDocs) {
          return Status(5897900, "Generated " + std::to_string(generated) +
                                     " documents in $densify, which is over the limit of " +
                                     std::to_string(kMaxDensifyDocs) +
                                     ". Increase the 'internalQueryMaxDensifyDocs' parameter to allow more generated "
                                     "documents");
        }
        OutDoc d = OutDoc::from(rows[start].partition);
        set_path(d, field_, 0, v);
        Bson b = d.bson();
        MS_RETURN_IF_ERROR(budget.add(b.size()));
        out.push_back(std::move(b));
        return Status::OK();
      };
      std::optional<Value> grid = lo;
      auto in_range = [&](const Value& v) {
        if (!hi) return false;
        int c = cmp(v, *hi);
        return hi_inclusive ? c <= 0 : c < 0;
      };
      for (size_t i = start; i < end; ++i) {
        const Row& r = rows[i];
        if (!r.v.nullish() && grid) {
          while (grid && in_range(*grid) && cmp(*grid, r.v) < 0) {
            MS_RETURN_IF_ERROR(emit_generated(*grid));
            grid = next(*grid);
          }
          if (grid && cmp(*grid, r.v) == 0) grid = next(*grid);
        }
        out.push_back(r.doc);
      }
      while (grid && in_range(*grid)) {
        if (hi_inclusive && cmp(*grid, *hi) == 0) break;  // the maximum exists as a document
        MS_RETURN_IF_ERROR(emit_generated(*grid));
        grid = next(*grid);
      }
      start = end;
    }
    return out;
  }

  FieldPath field_;
  std::vector<FieldPath> parts_;
  Value step_;
  std::optional<TimeUnit> unit_;
  Bounds bounds_;
  Value lo_, hi_;
  const ExpressionContext& ctx_;
};

Result<Stages> parse_densify(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  const ExpressionContext& ctx = *ps.ctx;
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return parse_error("The $densify stage specification must be an object, found " + type_name(bson_iter_type(spec)));
  }
  std::optional<std::string> field;
  std::vector<std::string> parts;
  std::optional<bson_iter_t> range;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "field") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type("$densify.field", &it, "string");
      field = bson_iter_utf8(&it, nullptr);
    } else if (k == "partitionByFields") {
      if (!BSON_ITER_HOLDS_ARRAY(&it)) return wrong_type("$densify.partitionByFields", &it, "array");
      bson_t arr;
      sub_doc(&it, &arr);
      bson_iter_t e;
      bson_iter_init(&e, &arr);
      while (bson_iter_next(&e)) {
        if (!BSON_ITER_HOLDS_UTF8(&e)) return wrong_type("$densify.partitionByFields." + std::string(key_of(&e)), &e, "string");
        parts.emplace_back(bson_iter_utf8(&e, nullptr));
      }
    } else if (k == "range") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type("$densify.range", &it, "object");
      range = it;
    } else {
      return Status(common::kUnrecognizedCommandField, "BSON field '$densify." + std::string(k) + "' is an unknown field.");
    }
  }
  if (!field) return Status(40414, "BSON field '$densify.field' is missing but a required field");
  if (!range) return Status(40414, "BSON field '$densify.range' is missing but a required field");
  // range: {step, unit, bounds}
  bson_t r;
  sub_doc(&*range, &r);
  std::optional<Value> step;
  std::optional<bson_iter_t> bounds;
  std::optional<TimeUnit> unit;
  bson_iter_init(&it, &r);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "step") {
      if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        return wrong_types("$densify.range.step", &it, "[int, decimal, double, long]");
      }
      step = Value::from_iter(&it);
    } else if (k == "unit") {
      if (!BSON_ITER_HOLDS_UTF8(&it)) return wrong_type("$densify.range.unit", &it, "string");
      MS_ASSIGN_OR_RETURN(unit, parse_time_unit(bson_iter_utf8(&it, nullptr)));
    } else if (k == "bounds") {
      bounds = it;
    } else {
      return Status(common::kUnrecognizedCommandField, "BSON field '$densify.range." + std::string(k) + "' is an unknown field.");
    }
  }
  if (!step) return Status(40414, "BSON field '$densify.range.step' is missing but a required field");
  if (!bounds) return Status(40414, "BSON field '$densify.range.bounds' is missing but a required field");
  bson_value_t zero;
  zero.value_type = BSON_TYPE_INT32;
  zero.value.v_int32 = 0;
  if (compare_values(&step->raw(), &zero, nullptr) <= 0 || std::isnan(step->as_double())) {
    return Status(5733401, "The step parameter in a range statement must be a strictly positive numeric value");
  }
  if (unit && static_cast<double>(step->as_int64()) != step->as_double()) {
    return Status(6586400, "The step parameter in a range statement must be a whole number when densifying a date range");
  }
  DensifyStage::Bounds b = DensifyStage::Bounds::kFull;
  Value lo, hi;
  if (BSON_ITER_HOLDS_UTF8(&*bounds)) {
    std::string bs = bson_iter_utf8(&*bounds, nullptr);
    if (bs == "full") {
      b = DensifyStage::Bounds::kFull;
    } else if (bs == "partition") {
      b = DensifyStage::Bounds::kPartition;
    } else {
      return Status(5946802, "Bounds string must either be 'full' or 'partition'");
    }
  } else if (BSON_ITER_HOLDS_ARRAY(&*bounds)) {
    auto elems = array_elems(Value::from_iter(&*bounds));
    if (elems.size() != 2) return Status(5733403, "A bounding array in a range statement must have exactly two elements");
    if (compare_values(&elems[0].raw(), &elems[1].raw(), nullptr) > 0) {
      return Status(5733402, "A bounding array must be an ascending array of either two dates or two numbers");
    }
    if (elems[0].is_number()) {
      if (!elems[1].is_number()) return Status(5733406, "A bounding array must contain either both dates or both numeric types");
      if (elems[0].type() != elems[1].type() || elems[0].type() != step->type()) {
        return Status(5876900, "Upper bound, lower bound, and step must all have the same type");
      }
    } else if (elems[0].type() == BSON_TYPE_DATE_TIME) {
      if (elems[1].type() != BSON_TYPE_DATE_TIME) {
        return Status(5733405, "A bounding array must contain either both dates or both numeric types");
      }
      if (!unit) return Status(5733410, "A bounding array of dates must specify a unit");
    } else {
      return Status(5946800, "Explicit bounds must be numeric or dates");
    }
    b = DensifyStage::Bounds::kExplicit;
    lo = elems[0];
    hi = elems[1];
  } else {
    return Status(5733404, "The bounds in a range statement must be the string 'full', 'partition', or an ascending "
                           "array of two numbers or two dates");
  }
  MS_RETURN_IF_ERROR(validate_field_path(*field, ctx));
  std::vector<FieldPath> part_paths;
  for (const auto& p : parts) {
    MS_RETURN_IF_ERROR(validate_field_path(p, ctx));
    if (p.compare(0, field->size(), *field) == 0) {
      return Status(8993000, "partitionByFields '" + p + "' cannot include field '" + *field + "' that is being densified.");
    }
    if (field->compare(0, p.size(), p) == 0) {
      return Status(9554500, "field '" + *field + "' that is being densified cannot include partitionByFields '" + p + "'.");
    }
    part_paths.emplace_back(p);
  }
  if (b == DensifyStage::Bounds::kPartition && part_paths.empty()) {
    return Status(5733408, "One cannot specify the bounds as 'partition' without specifying a non-empty array of "
                           "partitionByFields. You may have meant to specify 'full' bounds.");
  }
  return one<DensifyStage>(FieldPath(*field), std::move(part_paths), std::move(*step), unit, b, std::move(lo),
                           std::move(hi), ctx);
}

// ---- $fill ----------------------------------------------------------------------------------

Result<Stages> parse_fill(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return parse_error("The $fill stage specification must be an object, found " + type_name(bson_iter_type(spec)));
  }
  std::optional<bson_iter_t> sort_by, partition_by, partition_fields, output;
  bson_iter_t it;
  bson_iter_init(&it, &s);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    if (k == "sortBy") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type("$fill.sortBy", &it, "object");
      sort_by = it;
    } else if (k == "partitionBy") {
      partition_by = it;
    } else if (k == "partitionByFields") {
      if (!BSON_ITER_HOLDS_ARRAY(&it)) return wrong_type("$fill.partitionByFields", &it, "array");
      partition_fields = it;
    } else if (k == "output") {
      if (!BSON_ITER_HOLDS_DOCUMENT(&it)) return wrong_type("$fill.output", &it, "object");
      output = it;
    } else {
      return Status(common::kUnrecognizedCommandField, "BSON field '$fill." + std::string(k) + "' is an unknown field.");
    }
  }
  if (!output) return Status(40414, "BSON field '$fill.output' is missing but a required field");
  if (partition_by && partition_fields) {
    return Status(6050204, "Maximum one of 'partitionBy' and 'partitionByFields can be specified in '$fill'");
  }
  // Outputs: {f: {value: <expr>}} → $addFields {f: {$ifNull: ["$f", <expr>]}};
  //          {f: {method: "locf"|"linear"}} → $setWindowFields {output: {f: {$locf|$linearFill: "$f"}}}.
  Bson add_fields, window_out;
  bson_t o;
  sub_doc(&*output, &o);
  bson_iter_init(&it, &o);
  while (bson_iter_next(&it)) {
    std::string f(key_of(&it));
    MS_RETURN_IF_ERROR(validate_field_path(f, *ps.ctx));
    bson_t fs;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !sub_doc(&it, &fs)) {
      return wrong_type("$fill.output." + f, &it, "object");
    }
    bson_iter_t value, method;
    const bool has_value = bson_iter_init_find(&value, &fs, "value");
    const bool has_method = bson_iter_init_find(&method, &fs, "method");
    if (has_value == has_method || bson_count_keys(&fs) != 1) {
      return Status(6050203, "Exactly one of 'value' and 'method' must be specified.");
    }
    const std::string path = "$" + f;
    if (has_value) {
      bson_t e, args;
      bson_append_document_begin(add_fields.mut(), f.c_str(), static_cast<int>(f.size()), &e);
      bson_append_array_begin(&e, "$ifNull", 7, &args);
      bson_append_utf8(&args, "0", 1, path.c_str(), static_cast<int>(path.size()));
      bson_append_iter(&args, "1", 1, &value);
      bson_append_array_end(&e, &args);
      bson_append_document_end(add_fields.mut(), &e);
    } else {
      std::string m = BSON_ITER_HOLDS_UTF8(&method) ? bson_iter_utf8(&method, nullptr) : "";
      if (m != "locf" && m != "linear") return Status(6050202, "Method must be either locf or linear");
      bson_t e;
      bson_append_document_begin(window_out.mut(), f.c_str(), static_cast<int>(f.size()), &e);
      const char* fn = m == "locf" ? "$locf" : "$linearFill";
      bson_append_utf8(&e, fn, -1, path.c_str(), static_cast<int>(path.size()));
      bson_append_document_end(window_out.mut(), &e);
    }
  }
  Bson pipeline;
  uint32_t n = 0;
  auto push = [&](const char* name, const bson_t* body) {
    Bson stage;
    bson_append_document(stage.mut(), name, -1, body);
    char buf[16];
    std::string_view k = common::array_key(n++, buf);
    bson_append_document(pipeline.mut(), k.data(), static_cast<int>(k.size()), stage.get());
  };
  if (!window_out.empty()) {
    Bson swf;
    if (partition_by) bson_append_iter(swf.mut(), "partitionBy", -1, &*partition_by);
    if (partition_fields) {
      bson_t pb;
      bson_append_document_begin(swf.mut(), "partitionBy", -1, &pb);
      bson_t arr;
      sub_doc(&*partition_fields, &arr);
      bson_iter_t e;
      bson_iter_init(&e, &arr);
      while (bson_iter_next(&e)) {
        if (!BSON_ITER_HOLDS_UTF8(&e)) return wrong_type("$fill.partitionByFields." + std::string(key_of(&e)), &e, "string");
        std::string pf = bson_iter_utf8(&e, nullptr);
        MS_RETURN_IF_ERROR(validate_field_path(pf, *ps.ctx));
        std::string ref = "$" + pf;
        // Dotted partition fields become nested keys of the partition document.
        std::string key = pf;
        std::replace(key.begin(), key.end(), '.', '_');
        bson_append_utf8(&pb, key.c_str(), static_cast<int>(key.size()), ref.c_str(), static_cast<int>(ref.size()));
      }
      bson_append_document_end(swf.mut(), &pb);
    }
    if (sort_by) bson_append_iter(swf.mut(), "sortBy", -1, &*sort_by);
    bson_append_document(swf.mut(), "output", -1, window_out.get());
    push("$setWindowFields", swf.get());
  } else if (sort_by) {
    bson_t sb;
    sub_doc(&*sort_by, &sb);
    push("$sort", &sb);
  }
  if (!add_fields.empty()) push("$addFields", add_fields.get());
  auto l = parse_stage_list(pipeline.get(), ps);
  if (!l.ok()) return l.status();
  return std::move(l->stages);
}

}  // namespace

std::vector<StageDef> fill_stages() {
  return {
      {"$densify", 60, parse_densify},
      {"$fill", 60, parse_fill},
  };
}

}  // namespace mql::pipe
