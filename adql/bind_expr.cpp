// The bind stage, expressions: literals, operators, conditions, CASE,
// subqueries, with the type checks of ADQL 2.1 sections 2.2-2.3 and SQL-92
// sections 8.2 (comparisons) and 9.3 (CASE results).
#include "adql/binder.hpp"

namespace vo::adql::detail {

using bound::Expr;
using BK = bound::Expr::Kind;
using K = ast::Expr::Kind;

Type type_of(const ColumnInfo& c) {
    // DALI 1.1 geometry xtypes, and adql:REGION (ObsCore's s_region as STC-S text).
    if (c.xtype == "point" || c.xtype == "circle" || c.xtype == "polygon" || c.xtype == "region" || c.xtype == "moc" ||
        c.xtype == "adql:REGION" || c.xtype == "adql:region")
        return Type::Geometry;
    if (c.xtype == "timestamp") return Type::Timestamp;
    if (c.datatype == "char" || c.datatype == "unicodeChar") return Type::String;
    if (!c.arraysize.empty()) return Type::Unknown;
    if (c.datatype == "short" || c.datatype == "int" || c.datatype == "long" || c.datatype == "boolean" ||
        c.datatype == "unsignedByte")
        return Type::Integer;
    if (c.datatype == "float" || c.datatype == "double") return Type::Double;
    return Type::Unknown;
}

void set_scalar_meta(Expr& n, Type t) {
    n.type = t;
    n.geom.clear();
    n.info.xtype.clear();
    n.info.arraysize.clear();
    switch (t) {
        case Type::Integer: n.info.datatype = "long"; break;
        case Type::Double:
        case Type::Null:
        case Type::Unknown: n.info.datatype = "double"; break;
        case Type::String:
            n.info.datatype = "char";
            n.info.arraysize = "*";
            break;
        case Type::Timestamp:
            n.info.datatype = "char";
            n.info.arraysize = "*";
            n.info.xtype = "timestamp";
            break;
        case Type::Bool: n.info.datatype = "boolean"; break;
        case Type::Geometry:
            n.info.datatype = "double";
            n.info.arraysize = "*";
            break;
    }
}

Node scalar(BK kind, Type t, const ast::Expr& at) {
    auto n = std::make_shared<Expr>();
    n->kind = kind;
    n->line = at.line;
    n->column = at.column;
    set_scalar_meta(*n, t);
    return n;
}

Node geometry(BK kind, const std::string& geom, const ast::Expr& at) {
    auto n = std::make_shared<Expr>();
    n->kind = kind;
    n->line = at.line;
    n->column = at.column;
    n->type = Type::Geometry;
    n->geom = geom;
    n->info.datatype = "double";
    n->info.arraysize = geom == "point" ? "2" : geom == "circle" ? "3" : "*";
    n->info.xtype = geom == "range" ? "" : geom;
    n->info.unit = "deg";
    if (geom == "point") n->info.ucd = "pos.eq";
    return n;
}

int type_class(Type x) {
    switch (x) {
        case Type::Integer:
        case Type::Double: return 1;
        case Type::String:
        case Type::Timestamp: return 2;
        case Type::Geometry: return 3;
        case Type::Bool: return 4;
        default: return 0;
    }
}

void Binder::need_numeric(const Expr& t, const ast::Expr& e, const std::string& what) {
    if (t.type == Type::String || t.type == Type::Geometry || t.type == Type::Bool || t.type == Type::Timestamp)
        error_at(AdqlError::Kind::Type, e, what + " must be numeric, found " + bound::type_name(t.type));
}

void Binder::need_geometry(const Expr& t, const ast::Expr& e, const std::string& what) {
    if (t.type == Type::Null || t.type == Type::Geometry || t.type == Type::Unknown) return;
    error_at(AdqlError::Kind::Type, e,
             what + " must be a geometry (POINT, CIRCLE, BOX, POLYGON or a geometry column), found " +
                 bound::type_name(t.type));
}

/// ADQL 2.1 section 2.2 (and SQL-92 8.2): comparison operands must be of
/// comparable types: numbers with numbers, character strings (and timestamps,
/// written as ISO 8601 strings) with strings. NULL and values of unknown type
/// compare with anything. Geometries are not comparable.
void Binder::need_comparable(const Expr& a, const Expr& b, const ast::Expr& at, const std::string& where) {
    const int ca = type_class(a.type), cb = type_class(b.type);
    if (ca == 3 || cb == 3)
        error_at(AdqlError::Kind::Type, at,
                 "cannot compare geometry values " + where + " (use CONTAINS, INTERSECTS or DISTANCE)");
    if (ca && cb && ca != cb)
        error_at(AdqlError::Kind::Type, at,
                 std::string("cannot compare ") + bound::type_name(a.type) + " with " + bound::type_name(b.type) + " " +
                     where);
}

namespace {
bool any_aggregate(const std::vector<ExprPtr>& args) {
    for (auto& a : args)
        if (a->aggregate) return true;
    return false;
}
}  // namespace

ExprPtr Binder::expr(const ast::Expr& e, const Scope& scope, bool allow_alias) {
    auto sub = [&](const ast::ExprPtr& x) { return expr(*x, scope, allow_alias); };
    switch (e.kind) {
        case K::Null: {
            Node n = scalar(BK::Literal, Type::Null, e);
            n->text = "NULL";
            return n;
        }
        case K::Number: {
            Node n;
            if (e.is_integer) {
                n = scalar(BK::Literal, e.text.size() < 19 ? Type::Integer : Type::Double, e);
                n->text = e.text.size() < 19 ? e.text : e.text + ".0";
            } else {
                n = scalar(BK::Literal, Type::Double, e);
                n->text = e.text[0] == '.' ? "0" + e.text : e.text;
            }
            return n;
        }
        case K::String: {
            Node n = scalar(BK::Literal, Type::String, e);
            n->text = e.text;
            return n;
        }
        case K::Column: return column(e, scope, allow_alias);
        case K::Paren: {
            ExprPtr a = sub(e.args[0]);
            auto n = std::make_shared<Expr>();
            n->kind = BK::Paren;
            n->type = a->type;
            n->geom = a->geom;
            n->info = a->info;
            n->aggregate = a->aggregate;
            n->line = e.line;
            n->column = e.column;
            n->args = {a};
            return n;
        }
        case K::Unary: {
            ExprPtr a = sub(e.args[0]);
            need_numeric(*a, *e.args[0], "the operand of " + e.op);
            auto n = std::make_shared<Expr>();
            n->info = a->info;
            n->type = a->type;
            if (a->type == Type::String || a->type == Type::Unknown || a->type == Type::Null)
                set_scalar_meta(*n, Type::Double);
            n->kind = BK::Unary;
            n->op = e.op;
            n->line = e.line;
            n->column = e.column;
            n->aggregate = a->aggregate;
            n->args = {a};
            return n;
        }
        case K::Binary: {
            ExprPtr a = sub(e.args[0]), b = sub(e.args[1]);
            Node n;
            if (e.op == "||") {
                n = scalar(BK::Binary, Type::String, e);
            } else {
                if (a->type == Type::Geometry || b->type == Type::Geometry)
                    error_at(AdqlError::Kind::Type, e, "arithmetic on a geometry value");
                // ADQL 2.1 section 2.3: arithmetic on numeric values only
                need_numeric(*a, *e.args[0], "the left operand of " + e.op);
                need_numeric(*b, *e.args[1], "the right operand of " + e.op);
                n = scalar(BK::Binary,
                           a->type == Type::Integer && b->type == Type::Integer ? Type::Integer : Type::Double, e);
                // keep the unit of a sum/difference of like quantities
                if ((e.op == "+" || e.op == "-") && a->info.unit == b->info.unit) n->info.unit = a->info.unit;
            }
            n->op = e.op;
            n->args = {a, b};
            n->aggregate = any_aggregate(n->args);
            return n;
        }
        case K::Compare: {
            ExprPtr a = sub(e.args[0]), b = sub(e.args[1]);
            need_comparable(*a, *b, e, "with " + e.op);
            Node n = scalar(BK::Compare, Type::Bool, e);
            n->op = e.op;
            n->args = {a, b};
            n->aggregate = any_aggregate(n->args);
            return n;
        }
        case K::Between: {
            ExprPtr a = sub(e.args[0]), lo = sub(e.args[1]), hi = sub(e.args[2]);
            need_comparable(*a, *lo, e, "in BETWEEN");
            need_comparable(*a, *hi, e, "in BETWEEN");
            Node n = scalar(BK::Between, Type::Bool, e);
            n->negated = e.negated;
            n->args = {a, lo, hi};
            n->aggregate = any_aggregate(n->args);
            return n;
        }
        case K::In: {
            ExprPtr a = sub(e.args[0]);
            Node n = scalar(e.query ? BK::InQuery : BK::InList, Type::Bool, e);
            n->negated = e.negated;
            n->args = {a};
            if (e.query) {
                n->query = query(*e.query, &scope, false);
                if (n->query->columns.size() != 1)
                    error_at(AdqlError::Kind::Type, e, "the subquery of IN must select exactly one column");
            } else {
                for (std::size_t i = 1; i < e.args.size(); ++i) {
                    ExprPtr v = sub(e.args[i]);
                    need_comparable(*a, *v, *e.args[i], "in the IN list");
                    n->args.push_back(v);
                }
            }
            n->aggregate = any_aggregate(n->args);
            return n;
        }
        case K::Like: {
            ExprPtr a = sub(e.args[0]), p = sub(e.args[1]);
            for (const Expr* x : {a.get(), p.get()})
                if (x->type != Type::String && x->type != Type::Timestamp && x->type != Type::Null &&
                    x->type != Type::Unknown)
                    error_at(AdqlError::Kind::Type, e,
                             e.op + " compares character strings, found " + std::string(bound::type_name(x->type)) +
                                 " (CAST it to VARCHAR first)");
            Node n = scalar(BK::Like, Type::Bool, e);
            n->op = e.op;
            n->negated = e.negated;
            n->args = {a, p};
            n->aggregate = any_aggregate(n->args);
            return n;
        }
        case K::IsNull: {
            Node n = scalar(BK::IsNull, Type::Bool, e);
            n->negated = e.negated;
            n->args = {sub(e.args[0])};
            n->aggregate = n->args[0]->aggregate;
            return n;
        }
        case K::Exists: {
            Node n = scalar(BK::Exists, Type::Bool, e);
            n->query = query(*e.query, &scope, false);
            return n;
        }
        case K::And:
        case K::Or: {
            Node n = scalar(e.kind == K::And ? BK::And : BK::Or, Type::Bool, e);
            n->args = {sub(e.args[0]), sub(e.args[1])};
            n->aggregate = any_aggregate(n->args);
            return n;
        }
        case K::Not: {
            Node n = scalar(BK::Not, Type::Bool, e);
            n->args = {sub(e.args[0])};
            n->aggregate = n->args[0]->aggregate;
            return n;
        }
        case K::Subquery: {
            bound::QueryPtr q = query(*e.query, &scope, false);
            if (q->columns.size() != 1)
                error_at(AdqlError::Kind::Type, e, "a scalar subquery must select exactly one column");
            const Expr& c = *q->columns[0].expr;
            auto n = std::make_shared<Expr>();
            n->kind = BK::Subquery;
            n->type = c.type;
            n->geom = c.geom;
            n->info = c.info;
            n->line = e.line;
            n->column = e.column;
            n->query = std::move(q);
            return n;
        }
        case K::Case: return case_expr(e, scope, allow_alias);
        case K::Cast: return cast(e, sub(e.args[0]));
        case K::Aggregate: return aggregate(e, scope, allow_alias);
        case K::Function: return function(e, scope, allow_alias);
    }
    error_at(AdqlError::Kind::Unsupported, e, "unsupported expression");
}

/// SQL-92 9.3 (result of CASE): every THEN/ELSE value of one type class;
/// integers and floating-point numbers give a double.
ExprPtr Binder::case_expr(const ast::Expr& e, const Scope& scope, bool allow_alias) {
    auto n = std::make_shared<Expr>();
    n->kind = BK::Case;
    n->case_has_operand = e.case_has_operand;
    n->case_has_else = e.case_has_else;
    std::size_t i = 0;
    if (e.case_has_operand) n->args.push_back(expr(*e.args[i++], scope, allow_alias));
    const std::size_t end = e.args.size() - (e.case_has_else ? 1 : 0);
    ExprPtr result;
    bool numeric_mix = false;
    auto take = [&](const ExprPtr& v, const ast::Expr& at) {
        if (v->type == Type::Null) return;
        if (!result) {
            result = v;
            return;
        }
        const int cr = type_class(result->type), cv = type_class(v->type);
        if (cr && cv && cr != cv)
            error_at(AdqlError::Kind::Type, at,
                     std::string("the results of one CASE must be of one type: found ") +
                         bound::type_name(result->type) + " and " + bound::type_name(v->type));
        if (cr == 1 && result->type != v->type) numeric_mix = true;
    };
    for (; i < end; i += 2) {
        n->args.push_back(expr(*e.args[i], scope, allow_alias));
        ExprPtr v = expr(*e.args[i + 1], scope, allow_alias);
        n->args.push_back(v);
        take(v, *e.args[i + 1]);
    }
    if (e.case_has_else) {
        ExprPtr v = expr(*e.args.back(), scope, allow_alias);
        n->args.push_back(v);
        take(v, *e.args.back());
    }
    if (!result || numeric_mix) {
        set_scalar_meta(*n, result ? Type::Double : Type::Null);
    } else {
        n->type = result->type;
        n->geom = result->geom;
        n->info = result->info;
    }
    n->aggregate = any_aggregate(n->args);
    n->line = e.line;
    n->column = e.column;
    return n;
}

}  // namespace vo::adql::detail
