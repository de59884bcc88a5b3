// Conditionals, variables, objects, literals and miscellaneous operators.
#include "mql/expression_internal.h"

namespace mql::expr {
namespace {

Result<ExprPtr> parse_literal(std::string_view, const bson_iter_t* arg, Scope&) {
  return ExprPtr(new ConstantNode(Value::from_iter(arg)));
}

}  // namespace

std::vector<OpDef> misc_ops() {
  return {
      {"$literal", 0, parse_literal},
  };
}

std::vector<OpDef> array_ops() { return {}; }
std::vector<OpDef> string_ops() { return {}; }
std::vector<OpDef> date_ops() { return {}; }
std::vector<OpDef> type_ops() { return {}; }

}  // namespace mql::expr
