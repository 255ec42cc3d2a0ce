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
// written as two identifiers ("ivoa"."obscore").
#include <cstdlib>

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

    std::string range(const bound::Range& r) override {
        if (r.kind != bound::Range::Kind::Table) return LibraryWriter::range(r);
        const std::string& p = r.table->physical;
        const auto dot = p.find('.');
        std::string name = dot == std::string::npos
                               ? quote_ident(p)
                               : quote_ident(p.substr(0, dot)) + "." + quote_ident(p.substr(dot + 1));
        return name + " AS " + quote_ident(r.alias);
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
    std::string sql(const bound::Statement& query, std::optional<std::int64_t> row_limit) const override {
        PostgresWriter w(row_limit);
        return w.statement(query);
    }
};

}  // namespace

const Dialect& postgres_dialect() {
    static const PostgresDialect d;
    return d;
}

}  // namespace vo::adql
