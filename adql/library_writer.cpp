// ADQL functions as calls of the adql_* SQL function library (adql/library_writer.hpp).
#include "adql/library_writer.hpp"

#include "adql/functions.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

namespace vo::adql {

using bound::Expr;
using bound::unparen;
using BK = bound::Expr::Kind;

bool is_function(const Expr& e, std::string_view name, std::size_t nargs) {
    return e.kind == BK::Function && !e.udf && e.name == name && e.args.size() == nargs;
}

bool is_predicate_fn(const Expr& e) {
    return e.kind == BK::Function && !e.udf && (e.name == "CONTAINS" || e.name == "INTERSECTS");
}

namespace {

// The base-table range whose spatial index covers column `e` as `which`
// (0: ra, 1: dec, 2: region), or nullptr.
const bound::Range* indexed_column(const Expr& e0, int which) {
    const Expr& e = unparen(e0);
    if (e.kind != BK::Column || !e.range || !e.range->spatial_index) return nullptr;
    const SpatialIndexInfo& si = *e.range->spatial_index;
    const std::string& want = which == 0 ? si.ra : which == 1 ? si.dec : si.region;
    if (want.empty() || ascii_lower(e.info.name) != ascii_lower(want)) return nullptr;
    return e.range.get();
}
}  // namespace

std::pair<int, const bound::Range*> footprint_argument(const Expr& e) {
    if (!is_predicate_fn(e) || e.args.size() != 2) return {-1, nullptr};
    for (int k = 0; k < 2; ++k)
        if (const bound::Range* r = indexed_column(*e.args[k], 2)) return {k, r};
    return {-1, nullptr};
}

namespace {

const bound::Range* indexed_pair(const Expr& ra, const Expr& dec) {
    const bound::Range* r1 = indexed_column(ra, 0);
    return r1 && r1 == indexed_column(dec, 1) ? r1 : nullptr;
}
const bound::Range* indexed_point(const Expr& e0) {
    const Expr& p = unparen(e0);
    return is_function(p, "POINT", 2) ? indexed_pair(*p.args[0], *p.args[1]) : nullptr;
}

std::optional<SpatialFilter> circle_filter(const bound::Range& r, const Expr& x, const Expr& y, const Expr& radius) {
    if (!bound::independent_of(x, r) || !bound::independent_of(y, r) || !bound::independent_of(radius, r))
        return std::nullopt;
    SpatialFilter f;
    f.range = &r;
    f.x = &x;
    f.y = &y;
    f.radius = &radius;
    return f;
}

// `pt` = POINT(x, y) and `circ` = CIRCLE(ra, dec, r) or CIRCLE(POINT(ra,
// dec), r) with (ra, dec) the indexed point of a range that x, y and r do
// not depend on: the indexed point within r of (x, y).
std::optional<SpatialFilter> circle_on_index(const Expr& pt0, const Expr& circ0) {
    const Expr& pt = unparen(pt0);
    const Expr& circ = unparen(circ0);
    if (!is_function(pt, "POINT", 2) || circ.kind != BK::Function || circ.udf || circ.name != "CIRCLE")
        return std::nullopt;
    const bound::Range* rg = nullptr;
    const Expr* radius = nullptr;
    if (circ.args.size() == 3) {
        rg = indexed_pair(*circ.args[0], *circ.args[1]);
        radius = circ.args[2].get();
    } else if (circ.args.size() == 2) {
        rg = indexed_point(*circ.args[0]);
        radius = circ.args[1].get();
    }
    if (!rg) return std::nullopt;
    return circle_filter(*rg, *pt.args[0], *pt.args[1], *radius);
}

SpatialFilter shape_filter(const bound::Range& r, const Expr& shape, const Expr* region_column) {
    SpatialFilter f;
    f.range = &r;
    f.shape = &shape;
    f.region = region_column != nullptr;
    f.region_column = region_column;
    return f;
}

std::optional<SpatialFilter> filter_one(const Expr& c0) {
    const Expr& c = unparen(c0);
    if (c.kind != BK::Compare) return std::nullopt;
    const Expr& l = unparen(*c.args[0]);
    const Expr& r = unparen(*c.args[1]);
    auto is_one = [](const Expr& e) {
        return e.kind == BK::Literal && e.type == bound::Type::Integer && std::atoll(e.text.c_str()) == 1;
    };
    if (c.op == "=") {
        const Expr* f = is_one(r) && is_predicate_fn(l) ? &l : is_one(l) && is_predicate_fn(r) ? &r : nullptr;
        if (!f || f->args.size() != 2) return std::nullopt;
        const Expr& a = unparen(*f->args[0]);
        const Expr& b = unparen(*f->args[1]);
        const bool contains = f->name == "CONTAINS";
        if (const auto* rg = indexed_point(a); rg && bound::independent_of(b, *rg))
            return shape_filter(*rg, b, nullptr);
        if (!contains)
            if (const auto* rg = indexed_point(b); rg && bound::independent_of(a, *rg))
                return shape_filter(*rg, a, nullptr);
        if (const auto* rg = indexed_column(a, 2); rg && bound::independent_of(b, *rg)) return shape_filter(*rg, b, &a);
        if (const auto* rg = indexed_column(b, 2); rg && bound::independent_of(a, *rg)) return shape_filter(*rg, a, &b);
        // POINT(x, y) in a CIRCLE centred on the indexed point: the same as
        // the indexed point in the CIRCLE of that radius around (x, y).
        if (auto p = circle_on_index(a, b)) return p;
        if (!contains)
            if (auto p = circle_on_index(b, a)) return p;
        return std::nullopt;
    }
    // DISTANCE(...) < r
    const Expr* dist = nullptr;
    const Expr* radius = nullptr;
    auto is_distance = [](const Expr& e) { return e.kind == BK::Function && !e.udf && e.name == "DISTANCE"; };
    if ((c.op == "<" || c.op == "<=") && is_distance(l)) dist = &l, radius = &r;
    if ((c.op == ">" || c.op == ">=") && is_distance(r)) dist = &r, radius = &l;
    if (!dist) return std::nullopt;
    const bound::Range* rg = nullptr;
    const Expr* cx = nullptr;
    const Expr* cy = nullptr;
    const auto& d = dist->args;
    if (d.size() == 4) {
        if ((rg = indexed_pair(*d[0], *d[1])))
            cx = d[2].get(), cy = d[3].get();
        else if ((rg = indexed_pair(*d[2], *d[3])))
            cx = d[0].get(), cy = d[1].get();
    } else if (d.size() == 2) {
        auto centre = [&](const Expr& p) {
            const Expr& q = unparen(p);
            if (is_function(q, "POINT", 2)) cx = q.args[0].get(), cy = q.args[1].get();
        };
        if ((rg = indexed_point(*d[0])))
            centre(*d[1]);
        else if ((rg = indexed_point(*d[1])))
            centre(*d[0]);
    }
    if (!rg || !cx || !cy) return std::nullopt;
    return circle_filter(*rg, *cx, *cy, *radius);
}

void flatten_and(const Expr& e, std::vector<const Expr*>& out) {
    if (e.kind == BK::And) {
        flatten_and(*e.args[0], out);
        flatten_and(*e.args[1], out);
    } else if (e.kind == BK::Paren) {
        flatten_and(*e.args[0], out);
    } else {
        out.push_back(&e);
    }
}

}  // namespace

std::vector<SpatialFilter> spatial_filters(const Expr& condition) {
    std::vector<const Expr*> conj;
    flatten_and(condition, conj);
    std::vector<SpatialFilter> out;
    for (const Expr* c : conj)
        if (auto f = filter_one(*c)) out.push_back(*f);
    return out;
}

std::string ascii_lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string LibraryWriter::double_args(const Expr& e, std::size_t from) {
    std::string s;
    for (std::size_t i = from; i < e.args.size(); ++i) s += (i > from ? ", " : "") + arg_double(*e.args[i]);
    return s;
}

std::optional<std::pair<std::string, std::string>> LibraryWriter::point_xy(const Expr& e0) {
    const Expr& e = unparen(e0);
    if (!is_function(e, "POINT", 2)) return std::nullopt;
    return std::make_pair(arg_double(*e.args[0]), arg_double(*e.args[1]));
}

std::optional<std::array<std::string, 3>> LibraryWriter::circle_xyr(const Expr& e0) {
    const Expr& e = unparen(e0);
    if (is_function(e, "CIRCLE", 3))
        return std::array<std::string, 3>{arg_double(*e.args[0]), arg_double(*e.args[1]), arg_double(*e.args[2])};
    if (is_function(e, "CIRCLE", 2))
        if (auto p = point_xy(*e.args[0]))
            return std::array<std::string, 3>{p->first, p->second, arg_double(*e.args[1])};
    return std::nullopt;
}

std::string LibraryWriter::cast(const Expr& e) {
    const std::string& ty = e.cast_type;
    const Expr& a = *e.args[0];
    // Approximate -> exact: rounding is implementation-defined (ADQL 2.1
    // section 4.7.1); adql_cast_integer rounds half away from zero like PostgreSQL.
    if (ty == "SMALLINT" || ty == "INTEGER" || ty == "BIGINT")
        return integer_cast("adql_cast_integer(" + expr(a) + ")", ty);
    if (ty == "REAL" || ty == "DOUBLE PRECISION") return "CAST(" + expr(a) + " AS " + type_double(ty == "REAL") + ")";
    if (ty == "CHAR" || ty == "VARCHAR") {
        std::string s = a.type == bound::Type::Geometry ? expr(a) : "CAST(" + expr(a) + " AS " + type_text() + ")";
        if (e.cast_length) s = "substr(" + s + ", 1, " + std::to_string(*e.cast_length) + ")";
        return s;
    }
    if (ty == "TIMESTAMP") return "adql_timestamp(" + arg_text(a) + ")";
    return "adql_geometry(" + arg_text(a) + ", '" + ascii_lower(ty) + "')";
}

std::string LibraryWriter::function(const Expr& e) {
    const std::string& n = e.name;
    if (e.udf) {
        if (n == "ivo_string_agg") return string_aggregate(e);
        if (n == "ivo_healpix_index")
            return "adql_healpix_index(" + arg_integer(*e.args[0]) + ", " + double_args(e, 1) + ")";
        if (n == "ivo_healpix_center")
            return "adql_healpix_center(" + arg_integer(*e.args[0]) + ", " + arg_integer(*e.args[1]) + ")";
        if (n == "ivo_hasword" || n == "ivo_nocasematch")
            return std::string(n == "ivo_hasword" ? "adql_hasword(" : "adql_nocasematch(") + arg_text(*e.args[0]) +
                   ", " + arg_text(*e.args[1]) + ")";
        if (n == "ivo_interval_overlaps") return "adql_interval_overlaps(" + double_args(e) + ")";
        if (n == "range_s2d") return "adql_range(" + double_args(e) + ")";
        return n + "(" + args(e) + ")";  // a UDF the service declared; the store provides it
    }
    if (n == "ABS") return "abs(" + expr(*e.args[0]) + ")";
    if (n == "PI") return pi();
    if (n == "RAND") return rand(e);
    if (n == "MOD") {
        const bool integers = e.args[0]->type == bound::Type::Integer && e.args[1]->type == bound::Type::Integer;
        if (integers) return "adql_mod(" + arg_integer(*e.args[0]) + ", " + arg_integer(*e.args[1]) + ")";
        return "adql_mod(" + double_args(e) + ")";
    }
    if (n == "ROUND" || n == "TRUNCATE")
        return "adql_" + ascii_lower(n) + "(" + arg_double(*e.args[0]) + ", " +
               (e.args.size() > 1 ? arg_integer(*e.args[1]) : "0") + ")";
    if (n == "LOWER" || n == "UPPER") return ascii_lower(n) + "(" + arg_text(*e.args[0]) + ")";
    if (n == "COALESCE") return e.args.size() == 1 ? "(" + expr(*e.args[0]) + ")" : "coalesce(" + args(e) + ")";
    // The other mathematical and trigonometric functions (ADQL 2.1 sections
    // 2.3.1-2.3.2), as the catalogue declares them (numbers in, a double
    // out): the library function adql_<name> of the same arguments.
    if (const FunctionEntry* f = find_function(n);
        f && f->args == ArgKind::Numeric && f->result == Result::Double && !f->geometry && !f->aggregate)
        return "adql_" + ascii_lower(n) + "(" + double_args(e) + ")";
    return geometry_function(e);
}

std::string LibraryWriter::geometry_function(const Expr& e) {
    const std::string& n = e.name;
    const auto& a = e.args;
    auto texts = [&](std::size_t from = 0) {
        std::string s;
        for (std::size_t i = from; i < a.size(); ++i) s += (i > from ? ", " : "") + arg_text(*a[i]);
        return s;
    };
    if (n == "POINT") return "adql_point(" + double_args(e) + ")";
    if (n == "CIRCLE") {
        if (a.size() == 3) return "adql_circle(" + double_args(e) + ")";
        if (auto p = point_xy(*a[0]))
            return "adql_circle(" + p->first + ", " + p->second + ", " + arg_double(*a[1]) + ")";
        return "adql_circle_p(" + arg_text(*a[0]) + ", " + arg_double(*a[1]) + ")";
    }
    if (n == "BOX") {
        if (a.size() == 4) return "adql_box(" + double_args(e) + ")";
        return "adql_box_p(" + arg_text(*a[0]) + ", " + double_args(e, 1) + ")";
    }
    if (n == "POLYGON") {
        bool points = a.size() >= 3 && std::all_of(a.begin(), a.end(), [](const bound::ExprPtr& x) {
                          return x->type == bound::Type::Geometry;
                      });
        return points ? "adql_polygon_p(" + texts() + ")" : "adql_polygon(" + double_args(e) + ")";
    }
    if (n == "CENTROID") return "adql_centroid(" + texts() + ")";
    if (n == "AREA") return "adql_area(" + texts() + ")";
    if (n == "COORD1" || n == "COORD2") {
        if (auto p = point_xy(*a[0]))
            return "CAST(" + (n == "COORD1" ? p->first : p->second) + " AS " + type_double(false) + ")";
        return "adql_" + ascii_lower(n) + "(" + texts() + ")";
    }
    if (n == "COORDSYS") return "CASE WHEN " + expr(*a[0]) + " IS NULL THEN NULL ELSE 'ICRS' END";
    if (n == "DISTANCE") {
        if (a.size() == 4) return "adql_distance(" + double_args(e) + ")";
        auto p = point_xy(*a[0]), q = point_xy(*a[1]);
        if (p && q) return "adql_distance(" + p->first + ", " + p->second + ", " + q->first + ", " + q->second + ")";
        return "adql_distance_p(" + texts() + ")";
    }
    if (n == "CONTAINS" || n == "INTERSECTS") {
        // a point in a shape: the specialised functions skip building the point
        std::optional<std::pair<std::string, std::string>> pt;
        std::size_t pi = 2;
        if ((pt = point_xy(*a[0])))
            pi = 0;
        else if (n == "INTERSECTS" && (pt = point_xy(*a[1])))
            pi = 1;
        if (pi < 2) {
            const Expr& other = *a[1 - pi];
            if (auto c = circle_xyr(other))
                return "adql_contains_point_circle(" + pt->first + ", " + pt->second + ", " + (*c)[0] + ", " + (*c)[1] +
                       ", " + (*c)[2] + ")";
            return "adql_contains_point(" + pt->first + ", " + pt->second + ", " + arg_text(other) + ")";
        }
        return "adql_" + ascii_lower(n) + "(" + texts() + ")";
    }
    return n + "(" + args(e) + ")";
}

}  // namespace vo::adql
