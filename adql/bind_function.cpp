// The bind stage, functions: the mathematical and string functions of ADQL
// 2.1 section 2.3, the geometry functions of section 4.2 (REGION's STC-S
// read here, section 4.2.20), IN_UNIT (4.8), CAST (4.7), the aggregates and
// the UDFs (4.3). Each function's argument types are checked and its result
// typed, with unit and UCD where the function defines them.
#include <algorithm>
#include <cstdio>
#include <set>

#include "adql/bind.hpp"
#include "adql/binder.hpp"
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

}  // namespace

ExprPtr Binder::function(const ast::Expr& e, const Scope& scope, bool allow_alias) {
    const std::string& n = e.text;
    std::vector<ExprPtr> a;
    for (auto& x : e.args) a.push_back(expr(*x, scope, allow_alias));
    auto numeric_args = [&]() {
        for (std::size_t i = 0; i < a.size(); ++i)
            need_numeric(*a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
    };
    auto fn = [&](Type t) { return function_node(scalar(BK::Function, t, e), n, a); };
    if (e.is_udf) return udf(e, a);
    if (n == "ABS") {
        numeric_args();
        Node t = fn(a[0]->type == Type::Integer ? Type::Integer : Type::Double);
        t->info.unit = a[0]->info.unit;
        return t;
    }
    if (n == "PI" || n == "RAND") return fn(Type::Double);
    if (n == "MOD") {
        numeric_args();
        return fn(a[0]->type == Type::Integer && a[1]->type == Type::Integer ? Type::Integer : Type::Double);
    }
    if (n == "ROUND" || n == "TRUNCATE") {
        numeric_args();
        Node t = fn(Type::Double);
        t->info.unit = a[0]->info.unit;
        return t;
    }
    if (n == "LOWER" || n == "UPPER") {
        if (a[0]->type == Type::Geometry) error_at(AdqlError::Kind::Type, e, n + " of a geometry");
        return fn(Type::String);
    }
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
        double f;
        try {
            f = unit_conversion_factor(from, e.args[1]->text);
        } catch (const AdqlError& err) {
            error_at(AdqlError::Kind::Type, e, err.what());
        }
        // the value times the factor
        Node t = scalar(BK::Binary, Type::Double, e);
        t->op = "*";
        t->args = {a[0], literal_double(f, e)};
        t->aggregate = a[0]->aggregate;
        t->info.unit = e.args[1]->text;
        t->info.ucd = a[0]->info.ucd;
        return t;
    }
    static const std::set<std::string> math = {"CEILING", "FLOOR", "DEGREES", "RADIANS", "EXP",  "LOG",
                                               "LOG10",   "POWER", "SQRT",    "ACOS",    "ASIN", "ATAN",
                                               "ATAN2",   "COS",   "COT",     "SIN",     "TAN"};
    if (math.count(n)) {
        numeric_args();
        Node t = fn(Type::Double);
        if (n == "DEGREES") t->info.unit = "deg";
        if (n == "RADIANS") t->info.unit = "rad";
        if (n == "CEILING" || n == "FLOOR") t->info.unit = a[0]->info.unit;
        return t;
    }
    return geometry_function(e, a);
}

ExprPtr Binder::geometry_function(const ast::Expr& e, std::vector<ExprPtr>& a) {
    const std::string& n = e.text;
    check_coordsys(e);
    auto num = [&](std::size_t i, const std::string& what) { need_numeric(*a[i], *e.args[i], what + " of " + n); };
    auto geo = [&](std::size_t i) {
        need_geometry(*a[i], *e.args[i], "argument " + std::to_string(i + 1) + " of " + n);
    };
    auto point_arg = [&](std::size_t i) {
        geo(i);
        if (a[i]->type == Type::Geometry && !a[i]->geom.empty() && a[i]->geom != "point")
            error_at(AdqlError::Kind::Type, *e.args[i],
                     "argument " + std::to_string(i + 1) + " of " + n + " must be a point, found a " + a[i]->geom);
    };
    auto shape = [&](const std::string& geom) { return function_node(geometry(BK::Function, geom, e), n, a); };
    auto value = [&](Type t) { return function_node(scalar(BK::Function, t, e), n, a); };
    if (n == "POINT") {
        num(0, "the longitude");
        num(1, "the latitude");
        return shape("point");
    }
    if (n == "CIRCLE") {
        if (a.size() == 3) {
            num(0, "the centre longitude");
            num(1, "the centre latitude");
            num(2, "the radius");
        } else {
            point_arg(0);
            num(1, "the radius");
        }
        return shape("circle");
    }
    if (n == "BOX") {
        if (a.size() == 4) {
            for (std::size_t i = 0; i < 4; ++i) num(i, "argument " + std::to_string(i + 1));
        } else {
            point_arg(0);
            num(1, "the width");
            num(2, "the height");
        }
        return shape("polygon");
    }
    if (n == "POLYGON") {
        bool points = std::all_of(a.begin(), a.end(), [](const ExprPtr& t) { return t->type == Type::Geometry; });
        if (points && a.size() >= 3)
            for (std::size_t i = 0; i < a.size(); ++i) point_arg(i);
        else
            for (std::size_t i = 0; i < a.size(); ++i) num(i, "vertex coordinate " + std::to_string(i + 1));
        return shape("polygon");
    }
    if (n == "REGION") return region(e);
    if (n == "CENTROID") {
        geo(0);
        return shape("point");
    }
    if (n == "AREA") {
        geo(0);
        Node t = value(Type::Double);
        t->info.unit = "deg**2";
        t->info.ucd = "phys.angArea";
        return t;
    }
    if (n == "COORD1" || n == "COORD2") {
        point_arg(0);
        Node t = value(Type::Double);
        t->info.unit = "deg";
        t->info.ucd = n == "COORD1" ? "pos.eq.ra" : "pos.eq.dec";
        return t;
    }
    if (n == "COORDSYS") {
        geo(0);
        return value(Type::String);
    }
    if (n == "DISTANCE") {
        if (a.size() == 4) {
            for (std::size_t i = 0; i < 4; ++i) num(i, "argument " + std::to_string(i + 1));
        } else {
            point_arg(0);
            point_arg(1);
        }
        Node t = value(Type::Double);
        t->info.unit = "deg";
        t->info.ucd = "pos.angDistance";
        return t;
    }
    if (n == "CONTAINS" || n == "INTERSECTS") {
        geo(0);
        geo(1);
        Node t = value(Type::Integer);
        t->info.datatype = "int";
        return t;
    }
    error_at(AdqlError::Kind::Unsupported, e, "unsupported function " + n);
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
    Node t;
    if (e.args.empty()) {
        t = scalar(BK::Aggregate, Type::Integer, e);
        t->name = "count";
        t->info.ucd = "meta.number";
        t->aggregate = true;
        return t;
    }
    ExprPtr a = expr(*e.args[0], scope, allow_alias);
    const std::string f = lower(e.text);
    if (f == "count") {
        t = scalar(BK::Aggregate, Type::Integer, e);
        t->info.ucd = "meta.number";
    } else if (f == "avg") {
        need_numeric(*a, *e.args[0], "the argument of AVG");
        t = scalar(BK::Aggregate, Type::Double, e);
        t->info.unit = a->info.unit;
        t->info.ucd = a->info.ucd.empty() ? "" : "stat.mean;" + a->info.ucd;
    } else if (f == "sum") {
        need_numeric(*a, *e.args[0], "the argument of SUM");
        t = scalar(BK::Aggregate, a->type == Type::Integer ? Type::Integer : Type::Double, e);
        t->info.unit = a->info.unit;
    } else {  // min, max
        t = std::make_shared<Expr>();
        t->kind = BK::Aggregate;
        t->type = a->type;
        t->geom = a->geom;
        t->info = a->info;
        t->info.ucd = a->info.ucd.empty() ? "" : (f == "min" ? "stat.min;" : "stat.max;") + a->info.ucd;
        t->info.name.clear();
        t->line = e.line;
        t->column = e.column;
    }
    t->name = f;
    t->distinct = e.distinct;
    t->args = {std::move(a)};
    t->aggregate = true;
    return t;
}

}  // namespace vo::adql::detail
