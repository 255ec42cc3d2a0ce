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

    /// CONTAINS/INTERSECTS of two geometries one of which is the indexed
    /// footprint column of a table with a footprint table (also when the
    /// other is a POINT): the same test given the row's binary footprint
    /// (adql_contains_fp(fp, a, b, k), k the position of the column), so the
    /// candidate's text is not parsed, and a stored footprint that is not a
    /// valid geometry matches nothing (NULL) rather than failing the query.
    /// The other point forms (adql_contains_point...) are the library's.
    std::string function(const Expr& e) override {
        if (auto [k, range] = footprint_argument(e); range && !range->spatial_index->footprint_table.empty()) {
            const std::string fp = "(SELECT \"f\".fp FROM " + quote_ident(range->spatial_index->footprint_table) +
                                   " AS \"f\" WHERE \"f\".row_id = " + quote_ident(range->alias) + ".rowid)";
            return "adql_" + ascii_lower(e.name) + "_fp(" + fp + ", " + arg_text(*e.args[0]) + ", " +
                   arg_text(*e.args[1]) + ", " + std::to_string(k) + ")";
        }
        return LibraryWriter::function(e);
    }

    // ------------------------------------------------------------ spatial index

    // Issue 3 item 3: for each WHERE (and ON) conjunct that spatial_filters()
    // (adql/library_writer.hpp) lists on a table with an S2 cell table, adds
    //   AND alias.rowid IN (SELECT row_id FROM cells matching the shape's covering)
    // (point cells for the point, region cells for the footprint; a circle
    // given by centre and radius as adql_circle(x, y, max(r, 0))). The exact
    // test stays, so the result is unchanged.
    std::string condition_extra(const Expr& where) override {
        std::string out;
        std::set<std::string> seen;
        for (const SpatialFilter& f : spatial_filters(where)) {
            if (f.range->spatial_index->cell_table.empty()) continue;
            std::string p =
                f.shape
                    ? lookup(*f.range, expr(*f.shape), f.region ? 1 : 0)
                    : lookup(*f.range,
                             "adql_circle(" + expr(*f.x) + ", " + expr(*f.y) + ", max(" + expr(*f.radius) + ", 0))", 0);
            if (seen.insert(p).second) out += " AND " + p;
        }
        return out;
    }

    /// A filtered table (TranslateOptions::row_filters) keeps the rowid the
    /// index look-ups below compare with (SQLite merges the subquery into
    /// the query, so that they still search by rowid).
    std::string filtered_columns() override { return "rowid AS \"rowid\", *"; }

    std::string lookup(const bound::Range& r, const std::string& shape_sql, int kind) {
        const SpatialIndexInfo& si = *r.spatial_index;
        std::string k = std::to_string(kind);
        return quote_ident(r.alias) + ".rowid IN (SELECT \"s\".row_id FROM " + si.cover_function + "(" + shape_sql +
               ", " + k + ") AS \"c\" CROSS JOIN " + quote_ident(si.cell_table) + " AS \"s\" ON \"s\".kind = " + k +
               " AND \"s\".cell BETWEEN \"c\".lo AND \"c\".hi)";
    }
};

class SqliteDialect final : public Dialect {
public:
    std::string_view name() const override { return "sqlite"; }
    std::string sql(const bound::Statement& query, const EmitOptions& options) const override {
        SqliteWriter w(options.row_limit, options.row_filters);
        return w.statement(query);
    }
};

Translation emit(const bound::Statement& st, const Dialect& dialect, const TranslateOptions& options) {
    Translation tr;
    EmitOptions emit_options;
    emit_options.row_limit = options.row_limit;
    emit_options.row_filters = options.row_filters;
    tr.sql = dialect.sql(st, emit_options);
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
