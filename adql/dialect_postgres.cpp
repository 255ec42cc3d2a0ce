// The PostgreSQL dialect (adql/dialect.hpp; issue 11 item 2): what
// PostgreSQL spells differently from SQLite, with the same meaning.
//
// ADQL's functions are calls of the adql_* library (adql/library_writer.hpp)
// that a PostgreSQL store installs with its schema (obscore/pg_functions.sql,
// over pgSphere), so both stores answer a query alike: LOG natural, LIKE
// case-sensitive with no escape character, ROUND half away from zero,
// division by zero NULL (SQLite's rule), geometry as DALI 1.1 text between
// functions. PostgreSQL picks overloads by type, so every argument is cast
// to the type the library function takes. Tables named schema.table are
// written as two identifiers ("ivoa"."obscore"). Geometry predicates on
// ivoa.obscore's position and footprint get a pre-filter its pgSphere GiST
// indexes answer (condition_extra below).
#include <cstdlib>
#include <set>

#include "adql/dialect.hpp"
#include "adql/library_writer.hpp"

namespace vo::adql {
namespace {

using bound::Expr;
using BK = bound::Expr::Kind;

class PostgresWriter : public LibraryWriter {
public:
    using LibraryWriter::LibraryWriter;

protected:
    std::string true_condition() override { return "TRUE"; }

    std::string table_name(const std::string& p) override {
        const auto dot = p.find('.');
        return dot == std::string::npos ? quote_ident(p)
                                        : quote_ident(p.substr(0, dot)) + "." + quote_ident(p.substr(dot + 1));
    }

    std::string literal(const Expr& e) override {
        // a numeric literal with a point or exponent is NUMERIC in PostgreSQL;
        // ADQL's approximate numbers are doubles (ADQL 2.1 section 2.1.2)
        if (e.type == bound::Type::Double) return "CAST(" + e.text + " AS double precision)";
        if (e.type == bound::Type::String) return "CAST(" + quote_string(e.text) + " AS text)";
        return LibraryWriter::literal(e);
    }

    std::string expr(const Expr& e) override {
        if (e.kind == BK::Binary && e.op == "/")  // x / 0 is NULL, as in SQLite
            return "(" + expr(*e.args[0]) + " / NULLIF(" + expr(*e.args[1]) + ", 0))";
        if (e.kind == BK::Binary && e.op == "||")
            return "(" + arg_text(*e.args[0]) + " || " + arg_text(*e.args[1]) + ")";
        return LibraryWriter::expr(e);
    }

    /// ADQL 2.1 section 2.2.3: LIKE is case-sensitive; ILIKE (4.4.4) is not;
    /// neither has an escape character (PostgreSQL's default is '\').
    std::string like(const Expr& e) override {
        return "(" + arg_text(*e.args[0]) + (e.negated ? " NOT " : " ") + (e.op == "ILIKE" ? "ILIKE " : "LIKE ") +
               arg_text(*e.args[1]) + " ESCAPE '')";
    }

    std::string arg_double(const Expr& e) override { return "CAST(" + expr(e) + " AS double precision)"; }
    std::string arg_integer(const Expr& e) override { return "CAST(" + expr(e) + " AS bigint)"; }
    std::string arg_text(const Expr& e) override {
        if (e.type == bound::Type::String || e.type == bound::Type::Geometry || e.type == bound::Type::Timestamp)
            return expr(e);
        return "CAST(" + expr(e) + " AS text)";
    }
    std::string type_double(bool single) override { return single ? "real" : "double precision"; }
    std::string type_text() override { return "text"; }
    std::string integer_cast(const std::string& sql, const std::string& adql_type) override {
        return "CAST(" + sql + " AS " +
               (adql_type == "SMALLINT"  ? "smallint"
                : adql_type == "INTEGER" ? "integer"
                                         : "bigint") +
               ")";
    }
    std::string string_aggregate(const Expr& e) override {
        return "string_agg(" + arg_text(*e.args[0]) + ", " + arg_text(*e.args[1]) + ")";
    }
    /// CONTAINS/INTERSECTS where one argument is the indexed footprint column
    /// (footprint_argument): adql_relate_row('CONTAINS' | 'INTERSECTS', a, b,
    /// k), k the position of the column, which answers NULL (no match)
    /// rather than failing the query when the row's stored footprint is not a
    /// valid geometry, as the SQLite store's adql_*_fp do.
    std::string function(const Expr& e) override {
        if (auto [k, range] = footprint_argument(e); range && !range->spatial_index->region_column.empty())
            return "adql_relate_row(" + quote_string(e.name) + ", " + arg_text(*e.args[0]) + ", " +
                   arg_text(*e.args[1]) + ", " + std::to_string(k) + ")";
        return LibraryWriter::function(e);
    }

    // ------------------------------------------------------------ spatial index

    /// Issue 11 item 2: for each WHERE (and ON) conjunct that
    /// spatial_filters() (adql/library_writer.hpp) lists on a table with the
    /// pgSphere companion columns (obscore/pg_store.hpp), adds a test those
    /// columns' GiST indexes answer, true for every row the exact predicate
    /// (ADQL 2.1 sections 4.2.7, 4.2.11, 4.2.16) is true for:
    ///   the point:     (B IS NULL OR alias.point_column <@ B)
    ///   the footprint: (B IS NULL OR alias.region_column && B
    ///                   OR (alias.region_column IS NULL AND region IS NOT NULL))
    /// where B = voserver_bound(shape) (or voserver_bound_circle(x, y, r)) is
    /// a circle enclosing the shape, NULL when none of at most 90 degrees does
    /// (then nothing is filtered). With a constant shape PostgreSQL computes B
    /// when it plans the query, the IS NULL test folds away and the index
    /// condition remains; footprints without a bound (region_column NULL) are
    /// kept through their partial index. The exact test stays, so the result
    /// is unchanged.
    std::string condition_extra(const Expr& where) override {
        std::string out;
        std::set<std::string> seen;
        for (const SpatialFilter& f : spatial_filters(where)) {
            const SpatialIndexInfo& si = *f.range->spatial_index;
            const std::string& column = f.region ? si.region_column : si.point_column;
            if (column.empty()) continue;
            const std::string bound = f.shape ? "voserver_bound(" + arg_text(*f.shape) + ")"
                                              : "voserver_bound_circle(" + arg_double(*f.x) + ", " + arg_double(*f.y) +
                                                    ", greatest(" + arg_double(*f.radius) + ", 0))";
            const std::string col = quote_ident(f.range->alias) + "." + quote_ident(column);
            std::string p = "(" + bound + " IS NULL OR " + col + (f.region ? " && " : " <@ ") + bound;
            if (f.region) p += " OR (" + col + " IS NULL AND " + expr(*f.region_column) + " IS NOT NULL)";
            p += ")";
            if (seen.insert(p).second) out += " AND " + p;
        }
        return out;
    }

    std::string pi() override { return "pi()"; }
    /// RAND(): random(); RAND(seed): adql_rand, which seeds the generator
    /// once per statement, so that a query gives the same values when run
    /// again (as the SQLite store's RAND(seed) does).
    std::string rand(const Expr& e) override {
        return e.args.empty() ? "random()" : "adql_rand(" + arg_double(*e.args[0]) + ")";
    }
};

class PostgresDialect final : public Dialect {
public:
    std::string_view name() const override { return "postgresql"; }
    std::string sql(const bound::Statement& query, const EmitOptions& options) const override {
        PostgresWriter w(options.row_limit, options.row_filters);
        return w.statement(query);
    }
};

}  // namespace

const Dialect& postgres_dialect() {
    static const PostgresDialect d;
    return d;
}

}  // namespace vo::adql
