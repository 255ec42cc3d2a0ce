// The SQLite dialect (adql/dialect.hpp): what SQLite spells differently from
// SQL-92, and the S2 spatial-index pre-filter.
//
// Every construct whose SQLite meaning differs from ADQL's is mapped to a
// function registered by vo::obscore::register_sql_functions
// (obscore/sql_functions.cpp): geometry (adql_point, adql_contains, ...),
// LOG natural, case-sensitive LIKE, ROUND/TRUNCATE/MOD as ADQL defines them.
// Geometry values travel between those functions as DALI 1.1 text (section
// 3.3): "ra dec" (point), "ra dec r" (circle), "ra1 dec1 ra2 dec2 ra3 dec3
// ..." (polygon) and, for RANGE_S2D, "range ra_min ra_max dec_min dec_max";
// a geometry in the select list therefore reaches the client in its DALI
// serialisation.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "adql/bind.hpp"
#include "adql/dialect.hpp"
#include "adql/parser.hpp"
#include "adql/library_writer.hpp"

namespace vo::adql {
namespace {

using bound::Expr;
using bound::unparen;
using BK = bound::Expr::Kind;

class SqliteWriter : public LibraryWriter {
public:
    using LibraryWriter::LibraryWriter;

protected:
    std::string set_operation(const bound::Query& q, const std::string& left, const std::string& right) override {
        if (!q.all || q.kind == bound::Query::Kind::Union) return LibraryWriter::set_operation(q, left, right);
        // SQLite has no INTERSECT ALL / EXCEPT ALL: number the duplicates and
        // compare (row, occurrence) pairs, which is the multiset rule.
        const char* op = q.kind == bound::Query::Kind::Except ? "EXCEPT" : "INTERSECT";
        auto names = [](const bound::Query& s) {
            std::string part;
            for (auto& c : s.columns) part += (part.empty() ? "" : ", ") + quote_ident(c.name);
            return part;
        };
        auto numbered = [&](const bound::Query& s, const std::string& sql) {
            return "SELECT *, row_number() OVER (PARTITION BY " + names(s) + ") AS \"__occ\" FROM (" + sql +
                   ") AS \"m\"";
        };
        return "SELECT " + names(*q.left) + " FROM (" + numbered(*q.left, left) + " " + op + " " +
               numbered(*q.right, right) + ") AS \"s\"";
    }

    std::string limit_clause(std::optional<std::int64_t> limit, std::optional<std::int64_t> offset) override {
        // SQLite needs a LIMIT before an OFFSET; -1 is none.
        if (offset && !limit) return " LIMIT -1 OFFSET " + std::to_string(*offset);
        return LibraryWriter::limit_clause(limit, offset);
    }

    /// CONTAINS(...) = 1 / INTERSECTS(...) = 1: the predicate itself (its
    /// function returns 1 or 0), which SQLite can use as a condition.
    std::string compare(const Expr& e) override {
        auto is_one = [](const Expr& x) {
            return x.kind == BK::Literal && x.type == bound::Type::Integer && x.text == "1";
        };
        if (e.op == "=" && is_one(*e.args[1]) && is_predicate_fn(*e.args[0])) return expr(*e.args[0]);
        if (e.op == "=" && is_one(*e.args[0]) && is_predicate_fn(*e.args[1])) return expr(*e.args[1]);
        return LibraryWriter::compare(e);
    }

    std::string string_aggregate(const Expr& e) override { return "group_concat(" + args(e) + ")"; }
    std::string rand(const Expr& e) override {
        return e.args.empty() ? "adql_rand()" : "adql_rand(" + expr(*e.args[0]) + ")";
    }

    /// ADQL 2.1 section 2.2.3: LIKE is case-sensitive; ILIKE (4.4.4) is not.
    std::string like(const Expr& e) override {
        const char* f = e.op == "ILIKE" ? "adql_ilike" : "adql_like";
        return std::string("(") + (e.negated ? "NOT " : "") + f + "(" + expr(*e.args[0]) + ", " + expr(*e.args[1]) +
               "))";
    }

    // ------------------------------------------------------------ spatial index

    // Issue 3 item 3: WHERE (and ON) conjuncts that a spatial index can
    // pre-filter. For each conjunct
    //   CONTAINS(POINT(ra, dec), shape) = 1, INTERSECTS(POINT(ra, dec), shape) = 1
    //     (either order for INTERSECTS)                          -> point cells
    //   INTERSECTS(region, shape) = 1, CONTAINS(region, shape) = 1,
    //   CONTAINS(shape, region) = 1 (either order of INTERSECTS)  -> region cells
    //   DISTANCE(POINT(ra, dec), POINT(x, y)) < r (or <=, either order, the
    //     4-argument form, also r > DISTANCE(..))                 -> point cells of CIRCLE(x, y, r)
    // (also `1 = ...`), where ra/dec/region are the indexed columns of one
    // base table and the shape does not depend on that table's row, adds
    //   AND alias.rowid IN (SELECT row_id FROM cells matching the shape's covering)
    // The exact test stays, so the result is unchanged. `= 0` cannot be
    // pre-filtered (the complement of a covering is not a superset).
    std::string condition_extra(const Expr& where) override {
        std::vector<const Expr*> conj;
        std::function<void(const Expr&)> flatten = [&](const Expr& e) {
            if (e.kind == BK::And) {
                flatten(*e.args[0]);
                flatten(*e.args[1]);
            } else if (e.kind == BK::Paren) {
                flatten(*e.args[0]);
            } else {
                conj.push_back(&e);
            }
        };
        flatten(where);
        std::string out;
        std::set<std::string> seen;
        for (const Expr* c : conj) {
            std::string p = prefilter_one(*c);
            if (!p.empty() && seen.insert(p).second) out += " AND " + p;
        }
        return out;
    }

    // The base-table range whose spatial index covers column `e` as `which`
    // (0: ra, 1: dec, 2: region), or nullptr.
    static const bound::Range* indexed_column(const Expr& e0, int which) {
        const Expr& e = unparen(e0);
        if (e.kind != BK::Column || !e.range || !e.range->spatial_index) return nullptr;
        const SpatialIndexInfo& si = *e.range->spatial_index;
        const std::string& want = which == 0 ? si.ra : which == 1 ? si.dec : si.region;
        if (want.empty() || ascii_lower(e.info.name) != ascii_lower(want)) return nullptr;
        return e.range.get();
    }
    static const bound::Range* indexed_pair(const Expr& ra, const Expr& dec) {
        const bound::Range* r1 = indexed_column(ra, 0);
        return r1 && r1 == indexed_column(dec, 1) ? r1 : nullptr;
    }
    static const bound::Range* indexed_point(const Expr& e0) {
        const Expr& p = unparen(e0);
        return is_function(p, "POINT", 2) ? indexed_pair(*p.args[0], *p.args[1]) : nullptr;
    }

    std::string lookup(const bound::Range& r, const std::string& shape_sql, int kind) {
        const SpatialIndexInfo& si = *r.spatial_index;
        std::string k = std::to_string(kind);
        return quote_ident(r.alias) + ".rowid IN (SELECT \"s\".row_id FROM " + si.cover_function + "(" + shape_sql +
               ", " + k + ") AS \"c\" CROSS JOIN " + quote_ident(si.cell_table) + " AS \"s\" ON \"s\".kind = " + k +
               " AND \"s\".cell BETWEEN \"c\".lo AND \"c\".hi)";
    }
    std::string circle_lookup(const bound::Range& r, const Expr& x, const Expr& y, const Expr& radius) {
        if (!bound::independent_of(x, r) || !bound::independent_of(y, r) || !bound::independent_of(radius, r))
            return {};
        return lookup(r, "adql_circle(" + expr(x) + ", " + expr(y) + ", max(" + expr(radius) + ", 0))", 0);
    }

    // `pt` = POINT(x, y) and `circ` = CIRCLE(ra, dec, r) or CIRCLE(POINT(ra,
    // dec), r) with (ra, dec) the indexed point of a range that x, y and r do
    // not depend on: the lookup of CIRCLE(x, y, r) in its point cells.
    std::string circle_on_index(const Expr& pt0, const Expr& circ0) {
        const Expr& pt = unparen(pt0);
        const Expr& circ = unparen(circ0);
        if (!is_function(pt, "POINT", 2) || circ.kind != BK::Function || circ.udf || circ.name != "CIRCLE") return {};
        const bound::Range* rg = nullptr;
        const Expr* radius = nullptr;
        if (circ.args.size() == 3) {
            rg = indexed_pair(*circ.args[0], *circ.args[1]);
            radius = circ.args[2].get();
        } else if (circ.args.size() == 2) {
            rg = indexed_point(*circ.args[0]);
            radius = circ.args[1].get();
        }
        if (!rg) return {};
        return circle_lookup(*rg, *pt.args[0], *pt.args[1], *radius);
    }

    std::string prefilter_one(const Expr& c0) {
        const Expr& c = unparen(c0);
        if (c.kind != BK::Compare) return {};
        const Expr& l = unparen(*c.args[0]);
        const Expr& r = unparen(*c.args[1]);
        auto is_one = [](const Expr& e) {
            return e.kind == BK::Literal && e.type == bound::Type::Integer && std::atoll(e.text.c_str()) == 1;
        };
        if (c.op == "=") {
            const Expr* f = is_one(r) && is_predicate_fn(l) ? &l : is_one(l) && is_predicate_fn(r) ? &r : nullptr;
            if (!f || f->args.size() != 2) return {};
            const Expr& a = unparen(*f->args[0]);
            const Expr& b = unparen(*f->args[1]);
            const bool contains = f->name == "CONTAINS";
            if (const auto* rg = indexed_point(a); rg && bound::independent_of(b, *rg)) return lookup(*rg, expr(b), 0);
            if (!contains)
                if (const auto* rg = indexed_point(b); rg && bound::independent_of(a, *rg))
                    return lookup(*rg, expr(a), 0);
            if (const auto* rg = indexed_column(a, 2); rg && bound::independent_of(b, *rg))
                return lookup(*rg, expr(b), 1);
            if (const auto* rg = indexed_column(b, 2); rg && bound::independent_of(a, *rg))
                return lookup(*rg, expr(a), 1);
            // POINT(x, y) in a CIRCLE centred on the indexed point: the same as
            // the indexed point in the CIRCLE of that radius around (x, y).
            if (std::string p = circle_on_index(a, b); !p.empty()) return p;
            if (!contains)
                if (std::string p = circle_on_index(b, a); !p.empty()) return p;
            return {};
        }
        // DISTANCE(...) < r
        const Expr* dist = nullptr;
        const Expr* radius = nullptr;
        auto is_distance = [](const Expr& e) { return e.kind == BK::Function && !e.udf && e.name == "DISTANCE"; };
        if ((c.op == "<" || c.op == "<=") && is_distance(l)) dist = &l, radius = &r;
        if ((c.op == ">" || c.op == ">=") && is_distance(r)) dist = &r, radius = &l;
        if (!dist) return {};
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
        if (!rg || !cx || !cy) return {};
        return circle_lookup(*rg, *cx, *cy, *radius);
    }
};

class SqliteDialect final : public Dialect {
public:
    std::string_view name() const override { return "sqlite"; }
    std::string sql(const bound::Statement& query, std::optional<std::int64_t> row_limit) const override {
        SqliteWriter w(row_limit);
        return w.statement(query);
    }
};

Translation emit(const bound::Statement& st, const Dialect& dialect, const TranslateOptions& options) {
    Translation tr;
    tr.sql = dialect.sql(st, options.row_limit);
    tr.columns = st.columns;
    tr.top = st.top;
    return tr;
}

}  // namespace

const Dialect& sqlite_dialect() {
    static const SqliteDialect d;
    return d;
}

Translation translate(std::string_view adql, const Catalog& catalog, const Dialect& dialect,
                      const TranslateOptions& options) {
    ParseOptions po;
    po.udfs = builtin_udfs();
    for (auto& u : options.udfs) po.udfs.push_back(u);
    po.limits = options.limits;
    ast::Statement st = parse(adql, po);
    return emit(adql::bind(st, catalog, options.udfs), dialect, options);
}

Translation translate(const ast::Statement& query, const Catalog& catalog, const Dialect& dialect,
                      const TranslateOptions& options) {
    if (!query.body) throw AdqlError(AdqlError::Kind::Syntax, "empty query");
    check_depth(query, options.limits.max_depth);
    return emit(adql::bind(query, catalog, options.udfs), dialect, options);
}

const std::vector<UdfDecl>& sqlite_udfs() { return builtin_udfs(); }

Translation translate_sqlite(std::string_view adql, const Catalog& catalog, const TranslateOptions& options) {
    return translate(adql, catalog, sqlite_dialect(), options);
}

Translation translate_sqlite(const ast::Statement& query, const Catalog& catalog, const TranslateOptions& options) {
    return translate(query, catalog, sqlite_dialect(), options);
}

}  // namespace vo::adql
