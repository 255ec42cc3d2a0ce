// Helpers of the bound tree (adql/bound.hpp).
#include "adql/bound.hpp"

#include <algorithm>

namespace vo::adql::bound {

const char* type_name(Type t) {
    switch (t) {
        case Type::Null: return "NULL";
        case Type::Integer: return "an integer";
        case Type::Double: return "a floating-point number";
        case Type::String: return "a character string";
        case Type::Geometry: return "a geometry";
        case Type::Timestamp: return "a timestamp";
        case Type::Bool: return "a condition";
        default: return "a value";
    }
}

const Expr& unparen(const Expr& e) {
    const Expr* p = &e;
    while (p->kind == Expr::Kind::Paren) p = p->args[0].get();
    return *p;
}

bool independent_of(const Expr& e, const Range& r) {
    using K = Expr::Kind;
    switch (e.kind) {
        case K::Literal: return true;
        case K::Column: return e.range.get() != &r;
        case K::Unary:
        case K::Binary:
        case K::Paren:
        case K::Cast: break;
        case K::Function:
            if (e.udf && e.name != "range_s2d") return false;
            if (e.name == "RAND") return false;
            break;
        default: return false;
    }
    return std::all_of(e.args.begin(), e.args.end(), [&](const ExprPtr& a) { return a && independent_of(*a, r); });
}

}  // namespace vo::adql::bound
