// $project, $addFields/$set and $unset: aggregation projections parsed with the server's
// projection_ast rules for aggregate() (projection_parser.cpp with aggregation policies,
// add_fields_projection_executor.cpp) and applied as its inclusion/exclusion/add-fields nodes.
#include <algorithm>
#include <set>

#include "mql/pipeline_internal.h"
#include "mql/update_tostring.h"

namespace mql::pipe {

namespace {

// A node of a projection tree. Children keep specification order.
struct PNode {
  enum class Kind { kPath, kInclude, kExclude, kExpr };
  Kind kind = Kind::kPath;
  ExprPtr expr;
  std::vector<std::pair<std::string, std::unique_ptr<PNode>>> children;
  bool has_computed = false;  // kPath: some descendant is kExpr

  PNode* find(std::string_view n) const {
    for (const auto& [k, c] : children) {
      if (k == n) return c.get();
    }
    return nullptr;
  }
  bool remove(std::string_view n) {
    auto it = std::find_if(children.begin(), children.end(), [&](const auto& c) { return c.first == n; });
    if (it == children.end()) return false;
    children.erase(it);
    return true;
  }
  void mark_computed() {
    has_computed = false;
    for (auto& [k, c] : children) {
      if (c->kind == Kind::kExpr) has_computed = true;
      if (c->kind == Kind::kPath) {
        c->mark_computed();
        if (c->has_computed) has_computed = true;
      }
    }
  }
};

// The server's addNodeAtPath: 31250 for a path already present, 31249 through a leaf.
Status add_node(PNode* root, const FieldPath& path, size_t i, std::unique_ptr<PNode> leaf) {
  std::string_view part = path.part(i);
  PNode* child = root->find(part);
  if (i + 1 == path.size()) {
    if (child) return Status(31250, "Path collision at " + path.dotted());
    root->children.emplace_back(std::string(part), std::move(leaf));
    return Status::OK();
  }
  if (!child) {
    root->children.emplace_back(std::string(part), std::make_unique<PNode>());
    child = root->children.back().second.get();
  } else if (child->kind != PNode::Kind::kPath) {
    std::string rest;
    for (size_t j = i + 1; j < path.size(); ++j) {
      if (!rest.empty()) rest += '.';
      rest += path.part(j);
    }
    return Status(31249, "Path collision at " + path.dotted() + " remaining portion " + rest);
  }
  return add_node(child, path, i + 1, std::move(leaf));
}

std::unique_ptr<PNode> leaf(PNode::Kind k, ExprPtr e = nullptr) {
  auto n = std::make_unique<PNode>();
  n->kind = k;
  n->expr = std::move(e);
  return n;
}

// ---- applying -------------------------------------------------------------------------------

Result<Value> apply_expr_value(const PNode& node, const Value& v, const bson_t* root, Variables& vars);

// Evaluates the computed fields of `node` into `out`, in specification order.
Status apply_exprs(const PNode& node, OutDoc& out, const bson_t* root, Variables& vars) {
  for (const auto& [name, c] : node.children) {
    if (c->kind == PNode::Kind::kExpr) {
      MS_ASSIGN_OR_RETURN(Value v, c->expr->evaluate(root, vars));
      out.set(name, std::move(v));
    } else if (c->kind == PNode::Kind::kPath && c->has_computed) {
      const Value* cur = out.get(name);
      MS_ASSIGN_OR_RETURN(Value v, apply_expr_value(*c, cur ? *cur : Value(), root, vars));
      out.set(name, std::move(v));
    }
  }
  return Status::OK();
}

// The server's ProjectionNode::applyExpressionsToValue: documents get the fields, arrays map
// over their elements (nested arrays too), anything else becomes a document of the fields.
Result<Value> apply_expr_value(const PNode& node, const Value& v, const bson_t* root, Variables& vars) {
  if (v.type() == BSON_TYPE_DOCUMENT) {
    OutDoc out = OutDoc::from(v);
    MS_RETURN_IF_ERROR(apply_exprs(node, out, root, vars));
    return out.value();
  }
  if (v.type() == BSON_TYPE_ARRAY) {
    std::vector<Value> elems = array_elems(v);
    for (auto& e : elems) {
      MS_ASSIGN_OR_RETURN(e, apply_expr_value(node, e, root, vars));
    }
    return make_array(elems);
  }
  if (!node.has_computed) return v;
  OutDoc out;
  MS_RETURN_IF_ERROR(apply_exprs(node, out, root, vars));
  return out.value();
}

// Inclusion: keeps the included fields in input order, then adds the computed ones. Values
// reached through the tree that are not documents are dropped (array elements included); a
// node with computed fields turns them into documents of those fields.
Result<Value> apply_inclusion(const PNode& node, const Value& v, const bson_t* root, Variables& vars) {
  if (v.type() == BSON_TYPE_DOCUMENT) {
    OutDoc out;
    bson_t d = v.view();
    bson_iter_t it;
    bson_iter_init(&it, &d);
    while (bson_iter_next(&it)) {
      const PNode* c = node.find(key_of(&it));
      if (!c) continue;
      if (c->kind == PNode::Kind::kInclude) {
        out.push(std::string(key_of(&it)), Value::from_iter(&it));
      } else if (c->kind == PNode::Kind::kPath) {
        MS_ASSIGN_OR_RETURN(Value sub, apply_inclusion(*c, Value::from_iter(&it), root, vars));
        if (!sub.missing()) out.push(std::string(key_of(&it)), std::move(sub));
      }
    }
    for (const auto& [name, c] : node.children) {
      if (c->kind == PNode::Kind::kExpr) {
        MS_ASSIGN_OR_RETURN(Value x, c->expr->evaluate(root, vars));
        out.set(name, std::move(x));
      } else if (c->kind == PNode::Kind::kPath && c->has_computed && !out.get(name)) {
        // The field was absent: its computed sub-fields still appear.
        MS_ASSIGN_OR_RETURN(Value x, apply_expr_value(*c, Value(), root, vars));
        out.set(name, std::move(x));
      }
    }
    return out.value();
  }
  if (v.type() == BSON_TYPE_ARRAY) {
    std::vector<Value> elems;
    for (const auto& e : array_elems(v)) {
      if (e.type() == BSON_TYPE_DOCUMENT || e.type() == BSON_TYPE_ARRAY) {
        MS_ASSIGN_OR_RETURN(Value x, apply_inclusion(node, e, root, vars));
        elems.push_back(std::move(x));
      } else if (node.has_computed) {
        MS_ASSIGN_OR_RETURN(Value x, apply_expr_value(node, Value(), root, vars));
        elems.push_back(std::move(x));
      }
    }
    return make_array(elems);
  }
  if (!node.has_computed) return Value();
  return apply_expr_value(node, Value(), root, vars);
}

// Exclusion: drops the excluded fields; arrays map over their elements, scalars stay.
Value apply_exclusion(const PNode& node, const Value& v) {
  if (v.type() == BSON_TYPE_DOCUMENT) {
    OutDoc out;
    bson_t d = v.view();
    bson_iter_t it;
    bson_iter_init(&it, &d);
    while (bson_iter_next(&it)) {
      const PNode* c = node.find(key_of(&it));
      if (!c) {
        out.push(std::string(key_of(&it)), Value::from_iter(&it));
      } else if (c->kind == PNode::Kind::kPath) {
        out.push(std::string(key_of(&it)), apply_exclusion(*c, Value::from_iter(&it)));
      }
    }
    return out.value();
  }
  if (v.type() == BSON_TYPE_ARRAY) {
    std::vector<Value> elems = array_elems(v);
    for (auto& e : elems) e = apply_exclusion(node, e);
    return make_array(elems);
  }
  return v;
}

// ---- $project / $unset ----------------------------------------------------------------------

class ProjectStage : public TransformStage {
 public:
  ProjectStage(std::string name, std::unique_ptr<PNode> root, bool inclusion, const ExpressionContext& ctx)
      : TransformStage(std::move(name)), root_(std::move(root)), inclusion_(inclusion), ctx_(ctx) {}
  Result<Bson> transform(const bson_t* doc) const override {
    Value in = Value::document(doc);
    if (!inclusion_) return *to_bson(apply_exclusion(*root_, in));
    Variables vars(ctx_);
    MS_ASSIGN_OR_RETURN(Value out, apply_inclusion(*root_, in, doc, vars));
    return *to_bson(out);
  }

 private:
  std::unique_ptr<PNode> root_;
  bool inclusion_;
  const ExpressionContext& ctx_;
};

enum class PType { kUnknown, kInclusion, kExclusion };

struct ProjParse {
  const ExpressionContext& ctx;
  PType type = PType::kUnknown;
  bool id_included = false;
  bool id_excluded = false;
  bool has_meta = false;
};

bool is_inclusion_type(bson_type_t t) {
  return t == BSON_TYPE_BOOL || t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
         t == BSON_TYPE_DECIMAL128;
}

Status parse_element(ProjParse& pc, const bson_iter_t* it, PNode* parent, bool at_root);

// {name: {...}}: an expression ({$op: ...}) or a sub-projection.
Status parse_sub_object(ProjParse& pc, const bson_iter_t* it, PNode* parent, const FieldPath& path) {
  bson_t obj;
  sub_doc(it, &obj);
  bson_iter_t first;
  if (bson_count_keys(&obj) == 1 && bson_iter_init(&first, &obj) && bson_iter_next(&first) &&
      bson_iter_key(&first)[0] == '$') {
    std::string op(key_of(&first));
    auto e = Expression::parse(it, pc.ctx);
    const bool unknown_top = !e.ok() && e.status().code() == common::kInvalidPipelineOperator &&
                             e.status().message() == "Unrecognized expression '" + op + "'";
    if (!unknown_top) {
      if (!e.ok()) return e.status();
      const bool meta = op == "$meta";
      if (pc.type == PType::kExclusion && !meta) {
        return Status(31252, "Cannot use expression other than $meta in exclusion projection");
      }
      if (!meta) pc.type = PType::kInclusion;
      pc.has_meta = pc.has_meta || meta;
      return add_node(parent, path, 0, leaf(PNode::Kind::kExpr, std::move(e).value()));
    }
    // Not an operator: a field path component is allowed ($id, $ref, $db), anything else is
    // an unknown expression.
    if (!validate_field_path(op, pc.ctx).ok()) return Status(31325, "Unknown expression " + op);
  }
  if (bson_empty(&obj)) {
    return Status(51270, "An empty sub-projection is not a valid value. Found empty object at path");
  }
  PNode* node = nullptr;
  if (path.size() == 1) {
    node = parent->find(path.part(0));
    if (node && node->kind != PNode::Kind::kPath) return Status(31250, "Path collision at " + path.dotted());
  }
  if (!node) {
    auto n = std::make_unique<PNode>();
    node = n.get();
    MS_RETURN_IF_ERROR(add_node(parent, path, 0, std::move(n)));
  }
  bson_iter_t c;
  bson_iter_init(&c, &obj);
  while (bson_iter_next(&c)) MS_RETURN_IF_ERROR(parse_element(pc, &c, node, false));
  return Status::OK();
}

Status parse_element(ProjParse& pc, const bson_iter_t* it, PNode* parent, bool at_root) {
  std::string key(key_of(it));
  // Positional projection ("a.$") is find-only; "a.$.b" is refused with the 4.4 wording.
  const bool ends_positional = key.size() >= 2 && key.compare(key.size() - 2, 2, ".$") == 0;
  if (ends_positional) return Status(31324, "Cannot use positional projection in aggregation projection");
  if (key.find(".$.") != std::string::npos) {
    return Status(31394,
                  "As of 4.4, it's illegal to specify positional operator in the middle of a path.Positional "
                  "projection may only be used at the end, for example: a.b.$. If the query previously used a "
                  "form like a.b.$.d, remove the parts following the '$' and the results will be equivalent.");
  }
  MS_RETURN_IF_ERROR(validate_field_path(key, pc.ctx));
  FieldPath path(key);
  const bool top_id = at_root && key == "_id";
  bson_type_t t = bson_iter_type(it);
  if (t == BSON_TYPE_DOCUMENT) return parse_sub_object(pc, it, parent, path);
  if (is_inclusion_type(t)) {
    const bool include = common::value_truthy(it);
    MS_RETURN_IF_ERROR(add_node(parent, path, 0, leaf(include ? PNode::Kind::kInclude : PNode::Kind::kExclude)));
    if (top_id) {
      (include ? pc.id_included : pc.id_excluded) = true;
      return Status::OK();
    }
    if (include) {
      if (pc.type == PType::kExclusion) {
        return Status(31253, "Cannot do inclusion on field " + key + " in exclusion projection");
      }
      pc.type = PType::kInclusion;
    } else {
      if (pc.type == PType::kInclusion) {
        return Status(31254, "Cannot do exclusion on field " + key + " in inclusion projection");
      }
      pc.type = PType::kExclusion;
    }
    return Status::OK();
  }
  // A literal or "$path": a computed field.
  MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, pc.ctx));
  MS_RETURN_IF_ERROR(add_node(parent, path, 0, leaf(PNode::Kind::kExpr, std::move(e))));
  if (pc.type == PType::kExclusion) {
    return Status(31310, "Cannot use an expression " + mongo_elem_string(key, bson_iter_value(const_cast<bson_iter_t*>(it))) +
                             " in an exclusion projection");
  }
  pc.type = PType::kInclusion;
  return Status::OK();
}

Result<Stages> build_projection(std::string name, const bson_t* spec, const ParseState& ps) {
  ProjParse pc{*ps.ctx};
  auto root = std::make_unique<PNode>();
  bool id_specified = false;
  bson_iter_t it;
  bson_iter_init(&it, spec);
  while (bson_iter_next(&it)) {
    std::string_view k = key_of(&it);
    id_specified = id_specified || k == "_id" || k.substr(0, 4) == "_id.";
    MS_RETURN_IF_ERROR(parse_element(pc, &it, root.get(), true));
  }
  if (pc.type == PType::kUnknown) {
    // computeProjectionType for aggregate(): $meta or {_id: 1} make an inclusion.
    pc.type = (pc.has_meta || pc.id_included) ? PType::kInclusion : PType::kExclusion;
  }
  const bool inclusion = pc.type == PType::kInclusion;
  if (inclusion && !id_specified) {
    // _id is included by default, first.
    root->children.insert(root->children.begin(), {"_id", leaf(PNode::Kind::kInclude)});
  }
  if (!inclusion && pc.id_included) root->remove("_id");
  root->mark_computed();
  return one<ProjectStage>(std::move(name), std::move(root), inclusion, *ps.ctx);
}

Result<Stages> parse_project(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(15969, "$project specification must be an object");
  }
  if (bson_empty(&s)) {
    return with_stage_context(Status(51272, "projection specification must have at least one field"), "$project");
  }
  auto r = build_projection("$project", &s, ps);
  if (!r.ok()) return with_stage_context(r.status(), "$project");
  return r;
}

Result<Stages> parse_unset(std::string_view, const bson_iter_t* spec, const ParseState& ps) {
  if (!BSON_ITER_HOLDS_UTF8(spec) && !BSON_ITER_HOLDS_ARRAY(spec)) {
    return Status(31002, "$unset specification must be a string or an array");
  }
  // {$unset: "a"} / {$unset: ["a", "b"]} is {$project: {a: 0, b: 0}}.
  Bson proj;
  if (BSON_ITER_HOLDS_UTF8(spec)) {
    uint32_t len = 0;
    const char* p = bson_iter_utf8(spec, &len);
    bson_append_int32(proj.mut(), p, static_cast<int>(len), 0);
  } else {
    bson_t arr;
    sub_doc(spec, &arr);
    if (bson_empty(&arr)) return Status(31119, "$unset specification must be a string or an array with at least one field");
    bson_iter_t it;
    bson_iter_init(&it, &arr);
    while (bson_iter_next(&it)) {
      if (!BSON_ITER_HOLDS_UTF8(&it)) {
        return Status(31120, "$unset specification must be a string or an array containing only string values");
      }
    }
    bson_iter_init(&it, &arr);
    while (bson_iter_next(&it)) {
      uint32_t len = 0;
      const char* p = bson_iter_utf8(&it, &len);
      bson_append_int32(proj.mut(), p, static_cast<int>(len), 0);
    }
  }
  // Parsed key by key so that duplicates report path collisions (a document would merge them).
  ProjParse pc{*ps.ctx};
  auto root = std::make_unique<PNode>();
  bson_iter_t it;
  bson_iter_init(&it, proj.get());
  while (bson_iter_next(&it)) {
    Status st = parse_element(pc, &it, root.get(), true);
    if (!st.ok()) return with_stage_context(st, "$unset");
  }
  return one<ProjectStage>("$unset", std::move(root), false, *ps.ctx);
}

// ---- $addFields / $set ----------------------------------------------------------------------

class AddFieldsStage : public TransformStage {
 public:
  AddFieldsStage(std::string name, std::unique_ptr<PNode> root, const ExpressionContext& ctx)
      : TransformStage(std::move(name)), root_(std::move(root)), ctx_(ctx) {}
  Result<Bson> transform(const bson_t* doc) const override {
    Variables vars(ctx_);
    OutDoc out = OutDoc::from(doc);
    MS_RETURN_IF_ERROR(apply_exprs(*root_, out, doc, vars));
    return out.bson();
  }

 private:
  std::unique_ptr<PNode> root_;
  const ExpressionContext& ctx_;
};

// The server's ProjectionSpecValidator: conflicting paths (40176), expression objects with
// more than one field (40181), dotted names in sub-objects (40183).
class SpecValidator {
 public:
  explicit SpecValidator(const bson_t* spec) : raw_(doc_string_for(spec)) {}
  Status validate(const bson_t* spec) {
    bson_iter_t it;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) MS_RETURN_IF_ERROR(element(&it, std::string(key_of(&it))));
    return Status::OK();
  }

 private:
  static std::string doc_string_for(const bson_t* spec) { return mongo_doc_string(spec); }
  Status element(const bson_iter_t* it, const std::string& path) {
    if (BSON_ITER_HOLDS_DOCUMENT(it)) return nested(it, path);
    return seen(path);
  }
  Status nested(const bson_iter_t* it, const std::string& prefix) {
    bson_t obj;
    sub_doc(it, &obj);
    bson_iter_t c;
    bson_iter_init(&c, &obj);
    while (bson_iter_next(&c)) {
      std::string_view k = key_of(&c);
      if (!k.empty() && k[0] == '$') {
        if (bson_count_keys(&obj) != 1) {
          return Status(40181, "an expression specification must contain exactly one field, the name of the "
                               "expression. Found " +
                                   std::to_string(bson_count_keys(&obj)) + " fields in " + mongo_doc_string(&obj) +
                                   ", while parsing object " + raw_);
        }
        MS_RETURN_IF_ERROR(seen(prefix));
        continue;
      }
      if (k.find('.') != std::string_view::npos) {
        return Status(40183, "cannot use dotted field name '" + std::string(k) + "' in a sub object: " + raw_);
      }
      MS_RETURN_IF_ERROR(element(&c, prefix + "." + std::string(k)));
    }
    return Status::OK();
  }
  Status seen(const std::string& path) {
    auto conflict = [&](const std::string& a, const std::string& b) {
      return a == b || (b.size() > a.size() && b.compare(0, a.size(), a) == 0 && b[a.size()] == '.') ||
             (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '.');
    };
    for (const auto& p : paths_) {
      if (conflict(p, path)) {
        return Status(40176, "specification contains two conflicting paths. Cannot specify both '" + path + "' and '" +
                                 p + "': " + raw_);
      }
    }
    paths_.push_back(path);
    return Status::OK();
  }
  std::string raw_;
  std::vector<std::string> paths_;
};

Status parse_add_fields_object(const bson_iter_t* it, PNode* parent, const FieldPath& path, const ExpressionContext& ctx);

Status parse_add_fields_value(const bson_iter_t* it, PNode* parent, const FieldPath& path,
                              const ExpressionContext& ctx) {
  if (BSON_ITER_HOLDS_DOCUMENT(it)) return parse_add_fields_object(it, parent, path, ctx);
  MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, ctx));
  return add_node(parent, path, 0, leaf(PNode::Kind::kExpr, std::move(e)));
}

Status parse_add_fields_object(const bson_iter_t* it, PNode* parent, const FieldPath& path,
                               const ExpressionContext& ctx) {
  bson_t obj;
  sub_doc(it, &obj);
  bson_iter_t c;
  if (bson_empty(&obj) || (bson_iter_init(&c, &obj) && bson_iter_next(&c) && bson_iter_key(&c)[0] == '$')) {
    // {$op: ...} is an expression; {} is the empty document.
    MS_ASSIGN_OR_RETURN(auto e, Expression::parse(it, ctx));
    return add_node(parent, path, 0, leaf(PNode::Kind::kExpr, std::move(e)));
  }
  // A nested specification: its fields are set inside the existing sub-document.
  PNode* node = nullptr;
  {
    PNode* cur = parent;
    for (size_t i = 0; i < path.size(); ++i) {
      PNode* next = cur->find(path.part(i));
      if (!next) {
        cur->children.emplace_back(std::string(path.part(i)), std::make_unique<PNode>());
        next = cur->children.back().second.get();
      }
      cur = next;
    }
    node = cur;
  }
  bson_iter_init(&c, &obj);
  while (bson_iter_next(&c)) {
    std::string k(key_of(&c));
    MS_RETURN_IF_ERROR(validate_field_path(k, ctx));
    MS_RETURN_IF_ERROR(parse_add_fields_value(&c, node, FieldPath(k), ctx));
  }
  return Status::OK();
}

Result<Stages> parse_add_fields(std::string_view name, const bson_iter_t* spec, const ParseState& ps) {
  bson_t s;
  if (!BSON_ITER_HOLDS_DOCUMENT(spec) || !sub_doc(spec, &s)) {
    return Status(40272, std::string(name) + " specification stage must be an object, got " +
                             type_name(bson_iter_type(spec)));
  }
  auto build = [&]() -> Result<std::unique_ptr<PNode>> {
    SpecValidator v(&s);
    MS_RETURN_IF_ERROR(v.validate(&s));
    auto root = std::make_unique<PNode>();
    bson_iter_t it;
    bson_iter_init(&it, &s);
    while (bson_iter_next(&it)) {
      std::string k(key_of(&it));
      MS_RETURN_IF_ERROR(validate_field_path(k, *ps.ctx));
      MS_RETURN_IF_ERROR(parse_add_fields_value(&it, root.get(), FieldPath(k), *ps.ctx));
    }
    root->mark_computed();
    return root;
  };
  auto root = build();
  if (!root.ok()) return with_stage_context(root.status(), name);
  return one<AddFieldsStage>(std::string(name), std::move(root).value(), *ps.ctx);
}

}  // namespace

std::vector<StageDef> project_stages() {
  return {
      {"$project", 0, parse_project},
      {"$unset", 0, parse_unset},
      {"$addFields", 0, parse_add_fields},
      {"$set", 0, parse_add_fields},
  };
}

}  // namespace mql::pipe
