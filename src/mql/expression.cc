// Expression parsing (operands, field paths, variables, object and array expressions), the
// operator registry with version gating, and the shared node machinery. Operators live in
// expression_<family>.cc.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "mql/compare.h"
#include "mql/expression_internal.h"
#include "mql/path.h"
#include "mql/update_tostring.h"

namespace mql {

using common::Result;
using common::Status;

// ---- Variables ------------------------------------------------------------------------------

const Value* Variables::bound(const std::string& name) const {
  auto it = bound_.find(name);
  return it == bound_.end() ? nullptr : &it->second;
}

const Value* Variables::find(const std::string& name) const {
  if (auto it = bound_.find(name); it != bound_.end()) return &it->second;
  if (auto it = ctx_.let.find(name); it != ctx_.let.end()) return &it->second;
  if (name == "NOW") {
    if (now_.missing()) now_ = Value::date(ctx_.now_ms);
    return &now_;
  }
  if (name == "CLUSTER_TIME") {
    if (cluster_time_.missing()) cluster_time_ = Value::timestamp(ctx_.cluster_time_secs, ctx_.cluster_time_inc);
    return &cluster_time_;
  }
  return nullptr;
}

namespace expr {

// ---- Scope and nodes ----------------------------------------------------------------------

bool Scope::defined(const std::string& name) const {
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) return true;
  return ctx_.let.count(name) != 0;
}

bool Node::is_constant() const {
  if (!pure) return false;
  for (const auto& k : kids) {
    if (k && !k->is_constant()) return false;
  }
  return true;
}

void Node::add_dependencies(ExpressionDeps* deps) const {
  for (const auto& k : kids) {
    if (k) k->add_dependencies(deps);
  }
}

Result<Value> OpNode::arg(size_t i, const Call& c) const {
  if (i >= kids.size() || !kids[i]) return Value();
  return c.eval(*kids[i]);
}

Result<Value> OpNode::evaluate(const bson_t* root, Variables& vars) const {
  Call c{name, root, vars};
  if (lazy_fn) return lazy_fn(*this, c);
  std::vector<Value> args;
  args.reserve(kids.size());
  for (const auto& k : kids) {
    MS_ASSIGN_OR_RETURN(Value v, k->evaluate(root, vars));
    args.push_back(std::move(v));
  }
  return args_fn(args, c);
}

namespace {

// "$a.b" ($$CURRENT.a.b) or "$$var.a.b".
class FieldPathNode : public Node {
 public:
  FieldPathNode(std::string var, std::string rest) : var_(std::move(var)), path_(rest), has_path_(!rest.empty()) {}

  Result<Value> evaluate(const bson_t* root, Variables& vars) const override {
    Value base;
    const Value* bv = nullptr;
    if (var_ == "CURRENT") {
      bv = vars.bound("CURRENT");
      if (!bv) {
        if (!has_path_) return Value::document(root);
        return get_agg(root, path_);
      }
    } else if (var_ == "ROOT") {
      if (!has_path_) return Value::document(root);
      return get_agg(root, path_);
    } else if (var_ == "REMOVE") {
      return Value();
    } else {
      bv = vars.find(var_);
      if (!bv) {
        // Defined at parse time but never bound (e.g. $$SEARCH_META without a search).
        return Value();
      }
    }
    if (!has_path_) return *bv;
    if (bv->type() != BSON_TYPE_DOCUMENT && bv->type() != BSON_TYPE_ARRAY) return Value();
    if (bv->type() == BSON_TYPE_DOCUMENT) {
      bson_t d = bv->view();
      return get_agg(&d, path_);
    }
    // An array variable: map the path over its elements like a document field holding it.
    bson_t holder;
    bson_init(&holder);
    bv->append_to(&holder, "x");
    FieldPath p("x." + path_.dotted());
    Value r = get_agg(&holder, p);
    bson_destroy(&holder);
    return r;
  }

  bool is_constant() const override { return false; }
  void add_dependencies(ExpressionDeps* deps) const override {
    if (var_ == "CURRENT" || var_ == "ROOT") {
      if (has_path_) {
        deps->fields.insert(std::string(path_.part(0)));
      } else {
        deps->whole_document = true;
      }
    }
  }

 private:
  std::string var_;
  FieldPath path_;
  bool has_path_;
};

// {a: expr, b: {c: expr}}: fields in order; a field evaluating to missing is omitted.
class ObjectNode : public Node {
 public:
  std::vector<std::string> fields;
  Result<Value> evaluate(const bson_t* root, Variables& vars) const override {
    bson_t out;
    bson_init(&out);
    for (size_t i = 0; i < kids.size(); ++i) {
      auto v = kids[i]->evaluate(root, vars);
      if (!v.ok()) {
        bson_destroy(&out);
        return v.status();
      }
      v->append_to(&out, fields[i]);
    }
    Value r = Value::document(&out);
    bson_destroy(&out);
    return r;
  }
};

// [e1, e2]: elements evaluating to missing become null (the server's ExpressionArray).
class ArrayNode : public Node {
 public:
  Result<Value> evaluate(const bson_t* root, Variables& vars) const override {
    std::vector<Value> elems;
    elems.reserve(kids.size());
    for (const auto& k : kids) {
      MS_ASSIGN_OR_RETURN(Value v, k->evaluate(root, vars));
      elems.push_back(v.missing() ? Value::null() : std::move(v));
    }
    return make_array(elems);
  }
};

bool is_system_variable(std::string_view name) {
  return name == "ROOT" || name == "CURRENT" || name == "REMOVE" || name == "NOW" || name == "CLUSTER_TIME" ||
         name == "SEARCH_META" || name == "USER_ROLES" || name == "IS_MR" || name == "JS_SCOPE";
}

Status validate_name(std::string_view name, bool write) {
  if (name.empty()) return err(16866, "empty variable names are not allowed");
  auto lower = [](char ch) { return ch >= 'a' && ch <= 'z'; };
  auto upper = [](char ch) { return ch >= 'A' && ch <= 'Z'; };
  auto high = [](char ch) { return (static_cast<unsigned char>(ch) & 0x80) != 0; };
  char c0 = name[0];
  if (!(lower(c0) || high(c0) || (!write && upper(c0)))) {
    return err(16867, "'" + std::string(name) + "' starts with an invalid character for a user variable name");
  }
  for (size_t i = 1; i < name.size(); ++i) {
    char ch = name[i];
    if (!(lower(ch) || upper(ch) || (ch >= '0' && ch <= '9') || ch == '_' || high(ch))) {
      return err(16868, "'" + std::string(name) + "' contains an invalid character for a variable name: '" +
                            std::string(1, ch) + "'");
    }
  }
  return Status::OK();
}

// The server's FieldPath validation of each component.
Status validate_field_path(std::string_view path) {
  if (path.empty()) return err(40352, "FieldPath cannot be constructed with empty string");
  if (path.back() == '.') return err(40353, "FieldPath must not end with a '.'.");
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty()) return err(15998, "FieldPath field names may not be empty strings.");
    if (part[0] == '$' && part != "$id" && part != "$ref" && part != "$db") {
      return err(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Status::OK();
}

Result<ExprPtr> parse_field_path(std::string_view raw, Scope& sc) {
  if (raw.find('\0') != std::string_view::npos) {
    return err(16419, "field path must not contain embedded null characters");
  }
  if (raw.size() >= 2 && raw[1] == '$') {
    std::string_view rest = raw.substr(2);
    size_t dot = rest.find('.');
    std::string var(rest.substr(0, dot));
    MS_RETURN_IF_ERROR(validate_name(var, false));
    if (!sc.defined(var) && !is_system_variable(var)) return err(17276, "Use of undefined variable: " + var);
    std::string path;
    if (dot != std::string_view::npos) {
      path = std::string(rest.substr(dot + 1));
      MS_RETURN_IF_ERROR(validate_field_path(std::string(rest)));
    }
    return ExprPtr(new FieldPathNode(var, path));
  }
  if (raw.size() == 1) return err(16872, "'$' by itself is not a valid FieldPath");
  std::string path(raw.substr(1));
  MS_RETURN_IF_ERROR(validate_field_path(path));
  return ExprPtr(new FieldPathNode("CURRENT", path));
}

using Registry = std::unordered_map<std::string_view, OpDef>;

const Registry& registry() {
  static const Registry* r = [] {
    auto* m = new Registry;
    for (auto table : {arith_ops, array_ops, string_ops, date_ops, type_ops, misc_ops}) {
      for (const OpDef& d : table()) m->emplace(d.name, d);
    }
    return m;
  }();
  return *r;
}

Result<ExprPtr> parse_operator(const bson_t* obj, Scope& sc) {
  if (bson_count_keys(obj) != 1) {
    return err(15983, "An object representing an expression must have exactly one field: " + mongo_doc_string(obj));
  }
  bson_iter_t it;
  bson_iter_init(&it, obj);
  bson_iter_next(&it);
  std::string_view name(bson_iter_key(&it), bson_iter_key_len(&it));
  const Registry& reg = registry();
  auto f = reg.find(name);
  if (f == reg.end() || f->second.since > sc.version()) {
    return err(common::kInvalidPipelineOperator, "Unrecognized expression '" + std::string(name) + "'");
  }
  return f->second.parse(name, &it, sc);
}

}  // namespace

Status validate_variable_name(std::string_view name) {
  if (name == "CURRENT") return Status::OK();
  return validate_name(name, true);
}

Result<ExprPtr> parse_object(const bson_t* obj, Scope& sc) {
  bson_iter_t it;
  if (bson_empty(obj)) return ExprPtr(new ObjectNode());
  bson_iter_init(&it, obj);
  bson_iter_next(&it);
  if (bson_iter_key(&it)[0] == '$') return parse_operator(obj, sc);
  auto node = std::make_unique<ObjectNode>();
  bson_iter_init(&it, obj);
  while (bson_iter_next(&it)) {
    std::string key(bson_iter_key(&it), bson_iter_key_len(&it));
    // The server's ExpressionObject::parse: FieldPath::uassertValidFieldName, then duplicates.
    if (key.empty()) return err(15998, "FieldPath field names may not be empty strings.");
    if (key[0] == '$' && key != "$id" && key != "$ref" && key != "$db") {
      return err(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.");
    }
    if (key.find('\0') != std::string::npos) return err(16411, "FieldPath field names may not contain '\0'.");
    if (key.find('.') != std::string::npos) {
      return err(16412, "FieldPath field names may not contain '.'. Consider using $getField or $setField.");
    }
    if (std::find(node->fields.begin(), node->fields.end(), key) != node->fields.end()) {
      return err(16406, "duplicate field name specified in object literal: " + mongo_doc_string(obj));
    }
    MS_ASSIGN_OR_RETURN(auto e, parse_operand(&it, sc));
    node->fields.push_back(std::move(key));
    node->kids.push_back(std::move(e));
  }
  return ExprPtr(std::move(node));
}

Result<ExprPtr> parse_operand(const bson_iter_t* it, Scope& sc) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
      uint32_t len;
      const char* s = bson_iter_utf8(it, &len);
      if (len > 0 && s[0] == '$') return parse_field_path(std::string_view(s, len), sc);
      break;
    }
    case BSON_TYPE_DOCUMENT: {
      bson_t doc;
      if (!sub_doc(it, &doc)) return err(common::kInvalidBSON, "invalid BSON document");
      return parse_object(&doc, sc);
    }
    case BSON_TYPE_ARRAY: {
      bson_t arr;
      if (!sub_doc(it, &arr)) return err(common::kInvalidBSON, "invalid BSON array");
      auto node = std::make_unique<ArrayNode>();
      bson_iter_t ai;
      bson_iter_init(&ai, &arr);
      while (bson_iter_next(&ai)) {
        MS_ASSIGN_OR_RETURN(auto e, parse_operand(&ai, sc));
        node->kids.push_back(std::move(e));
      }
      return ExprPtr(std::move(node));
    }
    default:
      break;
  }
  return ExprPtr(new ConstantNode(Value::from_iter(it)));
}

// ---- argument helpers ---------------------------------------------------------------------

Result<std::vector<ExprPtr>> parse_args(std::string_view op, const bson_iter_t* arg, Scope& sc, int min, int max) {
  std::vector<ExprPtr> out;
  if (bson_iter_type(arg) == BSON_TYPE_ARRAY) {
    bson_t arr;
    if (!sub_doc(arg, &arr)) return err(common::kInvalidBSON, "invalid BSON array");
    bson_iter_t ai;
    bson_iter_init(&ai, &arr);
    while (bson_iter_next(&ai)) {
      MS_ASSIGN_OR_RETURN(auto e, parse_operand(&ai, sc));
      out.push_back(std::move(e));
    }
  } else {
    MS_ASSIGN_OR_RETURN(auto e, parse_operand(arg, sc));
    out.push_back(std::move(e));
  }
  int n = static_cast<int>(out.size());
  if (min == max && n != min) {
    return err(16020, "Expression " + std::string(op) + " takes exactly " + std::to_string(min) + " arguments. " +
                          std::to_string(n) + " were passed in.");
  }
  if (max < 0 && n < min) {
    return err(16020, "Expression " + std::string(op) + " takes at least " + std::to_string(min) + " arguments, and " +
                          std::to_string(n) + " were passed in.");
  }
  if (max >= 0 && (n < min || n > max)) {
    return err(16020, "Expression " + std::string(op) + " takes at least " + std::to_string(min) +
                          " arguments, and at most " + std::to_string(max) + ". " + std::to_string(n) +
                          " were passed in.");
  }
  return out;
}

Result<ExprPtr> make_nary(std::string_view op, const bson_iter_t* arg, Scope& sc, int min, int max, ArgsFn fn) {
  MS_ASSIGN_OR_RETURN(auto kids, parse_args(op, arg, sc, min, max));
  auto n = std::make_unique<OpNode>();
  n->name = std::string(op);
  n->kids = std::move(kids);
  n->args_fn = fn;
  return ExprPtr(std::move(n));
}

Result<ExprPtr> make_lazy(std::string_view op, std::vector<ExprPtr> kids, LazyFn fn) {
  auto n = std::make_unique<OpNode>();
  n->name = std::string(op);
  n->kids = std::move(kids);
  n->lazy_fn = fn;
  return ExprPtr(std::move(n));
}

Result<std::vector<ExprPtr>> parse_named(const bson_iter_t* arg, Scope& sc, const NamedSpec& spec) {
  if (bson_iter_type(arg) != BSON_TYPE_DOCUMENT) return err(spec.not_object_code, spec.not_object_msg);
  bson_t doc;
  if (!sub_doc(arg, &doc)) return err(common::kInvalidBSON, "invalid BSON document");
  std::vector<ExprPtr> kids(spec.fields.size());
  bson_iter_t it;
  bson_iter_init(&it, &doc);
  while (bson_iter_next(&it)) {
    std::string_view key(bson_iter_key(&it), bson_iter_key_len(&it));
    auto f = std::find(spec.fields.begin(), spec.fields.end(), key);
    if (f == spec.fields.end()) return err(spec.unknown_code, spec.unknown_msg + std::string(key) + spec.unknown_suffix);
    MS_ASSIGN_OR_RETURN(auto e, parse_operand(&it, sc));
    kids[static_cast<size_t>(f - spec.fields.begin())] = std::move(e);
  }
  return kids;
}

// ---- value helpers ------------------------------------------------------------------------

std::string_view type_name(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_DOUBLE:
      return "double";
    case BSON_TYPE_UTF8:
      return "string";
    case BSON_TYPE_DOCUMENT:
      return "object";
    case BSON_TYPE_ARRAY:
      return "array";
    case BSON_TYPE_BINARY:
      return "binData";
    case BSON_TYPE_UNDEFINED:
      return "undefined";
    case BSON_TYPE_OID:
      return "objectId";
    case BSON_TYPE_BOOL:
      return "bool";
    case BSON_TYPE_DATE_TIME:
      return "date";
    case BSON_TYPE_NULL:
      return "null";
    case BSON_TYPE_REGEX:
      return "regex";
    case BSON_TYPE_DBPOINTER:
      return "dbPointer";
    case BSON_TYPE_CODE:
      return "javascript";
    case BSON_TYPE_SYMBOL:
      return "symbol";
    case BSON_TYPE_CODEWSCOPE:
      return "javascriptWithScope";
    case BSON_TYPE_INT32:
      return "int";
    case BSON_TYPE_TIMESTAMP:
      return "timestamp";
    case BSON_TYPE_INT64:
      return "long";
    case BSON_TYPE_DECIMAL128:
      return "decimal";
    case BSON_TYPE_MINKEY:
      return "minKey";
    case BSON_TYPE_MAXKEY:
      return "maxKey";
    case BSON_TYPE_EOD:
      return "missing";
    default:
      return "unknown";
  }
}

std::vector<Value> array_elems(const Value& arr) {
  std::vector<Value> out;
  bson_t b = arr.view();
  bson_iter_t it;
  if (bson_iter_init(&it, &b)) {
    while (bson_iter_next(&it)) out.push_back(Value::from_iter(&it));
  }
  return out;
}

Value make_array(const std::vector<Value>& elems) {
  bson_t b;
  bson_init(&b);
  char buf[16];
  for (size_t i = 0; i < elems.size(); ++i) {
    const char* key;
    size_t klen = bson_uint32_to_string(static_cast<uint32_t>(i), &key, buf, sizeof buf);
    elems[i].append_to(&b, std::string_view(key, klen));
  }
  Value r = Value::array(&b);
  bson_destroy(&b);
  return r;
}

std::vector<std::pair<std::string, Value>> doc_fields(const Value& doc) {
  std::vector<std::pair<std::string, Value>> out;
  bson_t b = doc.view();
  bson_iter_t it;
  if (bson_iter_init(&it, &b)) {
    while (bson_iter_next(&it)) {
      out.emplace_back(std::string(bson_iter_key(&it), bson_iter_key_len(&it)), Value::from_iter(&it));
    }
  }
  return out;
}

Value make_doc(const std::vector<std::pair<std::string, Value>>& fields) {
  bson_t b;
  bson_init(&b);
  for (const auto& [k, v] : fields) v.append_to(&b, k);
  Value r = Value::document(&b);
  bson_destroy(&b);
  return r;
}

std::string format_g(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

int cmp(const Value& a, const Value& b, const Call& c) { return compare_values(&a.raw(), &b.raw(), c.ctx().coll()); }

std::string value_string(const Value& v) {
  if (v.missing()) return "missing";
  return mongo_value_string(&v.raw());
}

Status check_index_arg(const Value& v, std::string_view op, std::string_view what, int64_t* out) {
  auto i = as_integral(v, true);
  if (!i) {
    return err(40096, std::string(op) + "requires an integral " + std::string(what) + ", found a value of type: " +
                          std::string(type_name(v)) + ", with value: " + value_string(v));
  }
  if (*i < 0) {
    return err(40097, std::string(op) + " requires a nonnegative " + std::string(what) + ", found: " + value_string(v));
  }
  *out = *i;
  return Status::OK();
}

std::optional<int64_t> as_integral(const Value& v, bool int32_only) {
  std::optional<int64_t> r;
  switch (v.type()) {
    case BSON_TYPE_INT32:
      r = v.raw().value.v_int32;
      break;
    case BSON_TYPE_INT64:
      r = v.raw().value.v_int64;
      break;
    case BSON_TYPE_DOUBLE: {
      double d = v.raw().value.v_double;
      if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        r = static_cast<int64_t>(d);
      }
      break;
    }
    case BSON_TYPE_DECIMAL128: {
      const auto& d = v.raw().value.v_decimal128;
      if (dec::is_finite(d)) {
        auto t = dec::to_int64(d, dec::Round::kTowardZero);
        if (t && dec::compare(dec::from_int64(*t), d) == 0) r = t;
      }
      break;
    }
    default:
      break;
  }
  if (r && int32_only && (*r < INT32_MIN || *r > INT32_MAX)) return std::nullopt;
  return r;
}

}  // namespace expr

// ---- Expression -----------------------------------------------------------------------------

Result<std::unique_ptr<Expression>> Expression::parse(const bson_iter_t* spec, const ExpressionContext& ctx) {
  expr::Scope sc(ctx);
  return expr::parse_operand(spec, sc);
}

Result<std::unique_ptr<Expression>> Expression::parse_object(const bson_t* spec, const ExpressionContext& ctx) {
  expr::Scope sc(ctx);
  return expr::parse_object(spec, sc);
}

}  // namespace mql
