// The bind stage, functions: the mathematical and string functions of ADQL
// 2.1 section 2.3, the geometry functions of section 4.2 (REGION's STC-S
// read here, section 4.2.20), IN_UNIT (4.8), CAST (4.7), the aggregates and
// the UDFs (4.3). Each function's argument types are checked and its result
// typed, with unit and UCD where the function defines them, as the function
// catalogue (adql/functions.hpp) declares; functions with forms of their own
// (ArgKind::Special, Result::Special) are checked and typed here form by form.
#include <algorithm>
#include <cstdio>

#include "adql/bind.hpp"
#include "adql/binder.hpp"
#include "adql/functions.hpp"
#include "adql/stcs.hpp"
#include "adql/units.hpp"

namespace vo::adql::detail {

using bound::Expr;
using BK = bound::Expr::Kind;

namespace {

std::string number_text(double x) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

Node literal_double(double x, const ast::Expr& at) {
    Node n = scalar(BK::Literal, Type::Double, at);
    n->text = number_text(x);
    return n;
}

Node function_node(Node n, const std::string& name, std::vector<ExprPtr> args) {
    n->name = name;
    n->args = std::move(args);
    for (auto& a : n->args) n->aggregate |= a->aggregate;
    return n;
}

/// ICRS (or the empty string) is the only coordinate system (ADQL 2.1
/// section 4.2.5 leaves the others to the service).
void check_coordsys(const ast::Expr& e) {
    if (!e.coordsys) return;
    std::string c = lower(*e.coordsys);
    while (!c.empty() && c.back() == ' ') c.pop_back();
    if (c.empty() || c == "icrs" || c.rfind("icrs ", 0) == 0) return;
    Binder::error_at(AdqlError::Kind::Unsupported, e,
                     e.text + ": coordinate system '" + *e.coordsys +
                         "' is not supported; use 'ICRS' (or '') with coordinates in degrees");
}

/// A node of `kind` typed as the catalogue entry `f` declares for the
/// arguments `a`: the type of f.result, then the unit (the first argument's
/// or the entry's), UCD and VOTable datatype the entry gives.
Node typed_result(BK kind, const FunctionEntry& f, const std::vector<ExprPtr>& a, const ast::Expr& e) {
    Node t;
    switch (f.result) {
        case Result::Double: t = scalar(kind, Type::Double, e); break;
        case Result::Integer: t = scalar(kind, Type::Integer, e); break;
        case Result::IntegerIfAllIntegerArgs: {
            const bool ints = !a.empty() && std::all_of(a.begin(), a.end(),
                                                        [](const ExprPtr& x) { return x->type == Type::Integer; });
            t = scalar(kind, ints ? Type::Integer : Type::Double, e);
            break;
        }
        case Result::SameAsFirstArg:
            t = std::make_shared<Expr>();
            t->kind = kind;
            t->type = a.at(0)->type;
            t->geom = a[0]->geom;
            t->info = a[0]->info;
            t->info.name.clear();
            t->line = e.line;
            t->column = e.column;
            break;
        case Result::String: t = scalar(kind, Type::String, e); break;
        case Result::Point: t = geometry(kind, "point", e); break;
        case Result::Circle: t = geometry(kind, "circle", e); break;
        case Result::Polygon: t = geometry(kind, "polygon", e); break;
        case Result::Special: Binder::error_at(AdqlError::Kind::Unsupported, e, "unsupported function " + e.text);
    }
    if (f.unit_of_first_arg && !a.empty()) t->info.unit = a[0]->info.unit;
    if (!f.unit.empty()) t->info.unit = f.unit;
    if (!f.ucd.empty()) t->info.ucd = f.ucd;
    if (!f.datatype.empty()) t->info.datatype = f.datatype;
    return t;
}

}  // namespace

ExprPtr Binder::function(const ast::Expr& e, const Scope& scope, bool allow_alias) {
    const std::string& n = e.text;
    std::vector<ExprPtr> a;
    for (auto& x : e.args) a.push_back(expr(*x, scope, allow_alias));
    if (e.is_udf) return udf(e, a);
    const FunctionEntry* f = find_function(n);
    if (!f) error_at(AdqlError::Kind::Unsupported, e, "unsupported function " + n);
    if (n == "COALESCE") {
        ExprPtr first = a[0];
        for (auto& x : a)
            if (first->type == Type::Null) first = x;
        auto t = std::make_shared<Expr>();
        t->kind = BK::Function;
        t->type = first->type;
        t->geom = first->geom;
        t->info = first->info;
        t->line = e.line;
        t->column = e.column;
        return function_node(t, n, a);
    }
    if (n == "IN_UNIT") {
        need_numeric(*a[0], *e.args[0], "the first argument of IN_UNIT");
        const std::string& from = a[0]->info.unit;
        if (from.empty())
            error_at(AdqlError::Kind::Type, e,
                     "IN_UNIT: the value has no unit (only a column with a unit, or MIN/MAX/AVG/SUM of one, can be "
                     "converted)");
        double factor;
        try {
            factor = unit_conversion_factor(from, e.args[1]->text);
        } catch (const AdqlError& err) {
            error_at(AdqlError::Kind::Type, e, err.what());
        }
        // the value times the factor
        Node t = scalar(BK::Binary, Type::Double, e);
        t->op = "*";
        t->args = {a[0], literal_double(factor, e)};
        t->aggregate = a[0]->aggregate;
        t->info.unit = e.args[1]->text;
        t->info.ucd = a[0]->info.ucd;
        return t;
    }
    if (f->geometry) check_coordsys(e);
    if (f->args == ArgKind::Special) return geometry_function(e, *f, a);
    check_args(e, *f, a);
    return function_node(typed_result(BK::Function, *f, a, e), n, a);
}

void Binder::check_args(const ast::Expr& e, const FunctionEntry& f, const std::vector<ExprPtr>& a) {
    const std::string& n = e.text;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string what = "argument " + std::to_string(i + 1) + " of " + n;
        switch (f.args) {
            case ArgKind::Any:
            case ArgKind::Special: break;
            case ArgKind::Numeric: need_numeric(*a[i], *e.args[i], what); break;
            case ArgKind::String:
                if (a[i]->type == Type::Geometry) error_at(AdqlError::Kind::Type, e, n + " of a geometry");
                break;
            case ArgKind::Geometry: need_geometry(*a[i], *e.args[i], what); break;
            case ArgKind::Point: need_point(*a[i], *e.args[i], what); break;
        }
    }
}

void Binder::need_point(const bound::Expr& t, const ast::Expr& e, const std::string& what) {
    need_geometry(t, e, what);
    if (t.type == Type::Geometry && !t.geom.empty() && t.geom != "point")
        error_at(AdqlError::Kind::Type, e, what + " must be a point, found a " + t.geom);
}

ExprPtr Binder::geometry_function(const ast::Expr& e, const FunctionEntry& f, std::vector<ExprPtr>& a) {
    const std::string& n = e.text;
    auto num = [&](std::size_t i, const std::string& what) { need_numeric(*a[i], *e.args[i], what + " of " + n); };
    auto point_arg = [&](std::size_t i) {
        need_point(*a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
    };
    if (n == "POINT") {
        num(0, "the longitude");
        num(1, "the latitude");
    } else if (n == "CIRCLE") {
        if (a.size() == 3) {
            num(0, "the centre longitude");
            num(1, "the centre latitude");
            num(2, "the radius");
        } else {
            point_arg(0);
            num(1, "the radius");
        }
    } else if (n == "BOX") {
        if (a.size() == 4) {
            for (std::size_t i = 0; i < 4; ++i) num(i, "argument " + std::to_string(i + 1));
        } else {
            point_arg(0);
            num(1, "the width");
            num(2, "the height");
        }
    } else if (n == "POLYGON") {
        bool points = std::all_of(a.begin(), a.end(), [](const ExprPtr& t) { return t->type == Type::Geometry; });
        if (points && a.size() >= 3)
            for (std::size_t i = 0; i < a.size(); ++i) point_arg(i);
        else
            for (std::size_t i = 0; i < a.size(); ++i) num(i, "vertex coordinate " + std::to_string(i + 1));
    } else if (n == "REGION") {
        return region(e);
    } else if (n == "DISTANCE") {
        if (a.size() == 4) {
            for (std::size_t i = 0; i < 4; ++i) num(i, "argument " + std::to_string(i + 1));
        } else {
            point_arg(0);
            point_arg(1);
        }
    } else {
        error_at(AdqlError::Kind::Unsupported, e, "unsupported function " + n);
    }
    return function_node(typed_result(BK::Function, f, a, e), n, a);
}

/// REGION('<STC-S>') (ADQL 2.1 section 4.2.20): the constant string read at
/// bind time (adql/stcs.hpp) into the equivalent POINT, CIRCLE, BOX or
/// POLYGON with literal arguments, so that it evaluates, and pre-filters,
/// like those.
ExprPtr Binder::region(const ast::Expr& e) {
    StcsShape s;
    try {
        s = parse_stcs_region(e.args.at(0)->text);
    } catch (const AdqlError& err) {
        error_at(err.kind(), e, err.what());
    }
    std::vector<ExprPtr> args;
    for (double x : s.values) args.push_back(literal_double(x, e));
    if (s.kind == "point") return function_node(geometry(BK::Function, "point", e), "POINT", args);
    if (s.kind == "circle") return function_node(geometry(BK::Function, "circle", e), "CIRCLE", args);
    if (s.kind == "box") return function_node(geometry(BK::Function, "polygon", e), "BOX", args);
    return function_node(geometry(BK::Function, "polygon", e), "POLYGON", args);
}

ExprPtr Binder::udf(const ast::Expr& e, std::vector<ExprPtr>& a) {
    const std::string& n = e.text;  // lower case
    auto num = [&](std::size_t i) {
        need_numeric(*a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
    };
    auto arity = [&](std::size_t k) {
        if (a.size() != k)
            error_at(AdqlError::Kind::Type, e,
                     n + " takes " + std::to_string(k) + " arguments, found " + std::to_string(a.size()));
    };
    auto value = [&](Type t) {
        Node r = function_node(scalar(BK::Function, t, e), n, a);
        r->udf = true;
        return r;
    };
    if (n == "ivo_healpix_index") {
        arity(3);
        num(0), num(1), num(2);
        Node t = value(Type::Integer);
        t->info.ucd = "pos.healpix";
        return t;
    }
    if (n == "ivo_healpix_center") {
        arity(2);
        num(0), num(1);
        Node t = function_node(geometry(BK::Function, "point", e), n, a);
        t->udf = true;
        return t;
    }
    if (n == "ivo_hasword" || n == "ivo_nocasematch") {
        arity(2);
        return value(Type::Integer);
    }
    if (n == "ivo_interval_overlaps") {
        arity(4);
        for (std::size_t i = 0; i < 4; ++i) num(i);
        return value(Type::Integer);
    }
    if (n == "ivo_string_agg") {
        arity(2);
        Node t = value(Type::String);
        t->aggregate = true;
        return t;
    }
    if (n == "range_s2d") {
        arity(4);
        for (std::size_t i = 0; i < 4; ++i) num(i);
        Node t = function_node(geometry(BK::Function, "range", e), n, a);
        t->udf = true;
        return t;
    }
    for (auto& d : udfs_)
        if (d.name == n) {
            const std::string& rt = d.return_type;
            if (rt == "POINT" || rt == "CIRCLE" || rt == "POLYGON" || rt == "REGION") {
                Node t = function_node(geometry(BK::Function, lower(rt), e), n, a);
                t->udf = true;
                return t;
            }
            return value(rt.find("INT") != std::string::npos                      ? Type::Integer
                         : (rt.find("CHAR") != std::string::npos || rt == "TEXT") ? Type::String
                                                                                  : Type::Double);
        }
    error_at(AdqlError::Kind::UnknownName, e, "unknown function " + n);
}

ExprPtr Binder::cast(const ast::Expr& e, ExprPtr a) {
    const std::string& ty = e.cast_type;
    Node t;
    if (ty == "SMALLINT" || ty == "INTEGER" || ty == "BIGINT") {
        t = scalar(BK::Cast, Type::Integer, e);
        t->info.datatype = ty == "SMALLINT" ? "short" : ty == "INTEGER" ? "int" : "long";
    } else if (ty == "REAL" || ty == "DOUBLE PRECISION") {
        t = scalar(BK::Cast, Type::Double, e);
        t->info.datatype = ty == "REAL" ? "float" : "double";
        t->info.unit = a->info.unit;
    } else if (ty == "CHAR" || ty == "VARCHAR") {
        t = scalar(BK::Cast, Type::String, e);
        if (e.cast_length) t->info.arraysize = std::to_string(*e.cast_length) + (ty == "VARCHAR" ? "*" : "");
    } else if (ty == "TIMESTAMP") {
        if (a->type != Type::String && a->type != Type::Timestamp && a->type != Type::Null)
            error_at(AdqlError::Kind::Type, e, "CAST AS TIMESTAMP: only a character string can be cast to a timestamp");
        t = scalar(BK::Cast, Type::Timestamp, e);
    } else {
        // POINT / CIRCLE / POLYGON from a DALI string (ADQL 2.1 section 4.7.1, Geometry)
        t = geometry(BK::Cast, lower(ty), e);
    }
    t->cast_type = ty;
    t->cast_length = e.cast_length;
    t->aggregate = a->aggregate;
    t->args = {std::move(a)};
    return t;
}

ExprPtr Binder::aggregate(const ast::Expr& e, const Scope& scope, bool allow_alias) {
    const std::string f = lower(e.text);
    const FunctionEntry* entry = find_function(e.text);
    if (!entry || !entry->aggregate) error_at(AdqlError::Kind::Unsupported, e, "unsupported function " + e.text);
    if (e.args.empty()) {  // COUNT(*)
        Node t = typed_result(BK::Aggregate, *entry, {}, e);
        t->name = "count";
        t->aggregate = true;
        return t;
    }
    ExprPtr a = expr(*e.args[0], scope, allow_alias);
    if (entry->args == ArgKind::Numeric) need_numeric(*a, *e.args[0], "the argument of " + e.text);
    Node t = typed_result(BK::Aggregate, *entry, {a}, e);
    // the statistic of a quantity (UCD1+: stat.mean, stat.min, stat.max)
    if (f == "avg" || f == "min" || f == "max")
        t->info.ucd = a->info.ucd.empty() ? "" : (f == "avg" ? "stat.mean;" : "stat." + f + ";") + a->info.ucd;
    t->name = f;
    t->distinct = e.distinct;
    t->args = {std::move(a)};
    t->aggregate = true;
    return t;
}

}  // namespace vo::adql::detail
