// The shared part of the SQL dialects: a writer of SQL-92 from a bound tree
// (adql/bound.hpp) with one virtual method per construct that databases
// spell differently, in the manner of VOLLT's ADQLTranslator hierarchy. A
// dialect (adql/dialect.hpp) subclasses it and overrides those; the query
// structure (WITH, SELECT blocks, joins, ORDER BY) and the operators SQL-92
// defines are written here once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "adql/bound.hpp"

namespace vo::adql {

/// Writes one statement; one object per statement (it holds the row limit).
class SqlWriter {
public:
    /// `row_limit`: rows at most of the outermost query (TAP MAXREC + 1), see
    /// Dialect::sql; `row_filters`: physical table -> the condition its rows
    /// must meet (TranslateOptions::row_filters).
    explicit SqlWriter(std::optional<std::int64_t> row_limit, std::map<std::string, std::string> row_filters = {})
        : row_limit_(row_limit), row_filters_(std::move(row_filters)) {}
    virtual ~SqlWriter() = default;

    /// The SQL of `st`: WITH queries, then the body.
    std::string statement(const bound::Statement& st);

    /// `s` as a delimited SQL identifier ("..." with " doubled).
    static std::string quote_ident(std::string_view s);
    /// `s` as an SQL character string literal ('...' with ' doubled).
    static std::string quote_string(std::string_view s);

protected:
    // ---- queries
    virtual std::string query(const bound::Query& q, bool outermost);
    virtual std::string select(const bound::Query& q, bool outermost);
    /// A set operation of two queries already written.
    virtual std::string set_operation(const bound::Query& q, const std::string& left, const std::string& right);
    /// " LIMIT n OFFSET m" (SQLite and PostgreSQL); `top` already combined
    /// with the row limit by the caller.
    virtual std::string limit_clause(std::optional<std::int64_t> limit, std::optional<std::int64_t> offset);
    virtual std::string from_item(const bound::FromItem& f);
    /// The SQL of a range in FROM: "physical" AS "t1", (subquery) AS "t2";
    /// a base table as table_source() gives it.
    virtual std::string range(const bound::Range& r);
    /// A base table in FROM, without its correlation name: table_name() of
    /// its physical name, or, when a row filter names the table
    /// (TranslateOptions::row_filters), the filtered table
    /// "(SELECT filtered_columns() FROM name WHERE condition)", whose
    /// columns have the table's physical names.
    std::string table_source(const TableInfo& table);
    /// The SQL name of a physical table: "physical" (quoted).
    virtual std::string table_name(const std::string& physical);
    /// The select list of a filtered table: "*" (a dialect adds what its
    /// index pre-filters read, e.g. SQLite's rowid).
    virtual std::string filtered_columns() { return "*"; }
    /// Conjuncts added to a WHERE or explicit ON condition ("" for none;
    /// otherwise starting with " AND "), e.g. a spatial index pre-filter.
    virtual std::string condition_extra(const bound::Expr& condition);
    /// " ASC NULLS LAST" / " DESC NULLS FIRST": NULLs sort after every value
    /// in ascending order, on every backend (PostgreSQL's and Oracle's rule;
    /// issue 11 item 2).
    virtual std::string order_direction(bool desc);
    /// The condition that is always true (an ON for a cross join).
    virtual std::string true_condition() { return "1"; }

    // ---- expressions
    virtual std::string expr(const bound::Expr& e);
    virtual std::string literal(const bound::Expr& e);
    virtual std::string column(const bound::Expr& e);
    virtual std::string compare(const bound::Expr& e);
    virtual std::string like(const bound::Expr& e) = 0;
    virtual std::string function(const bound::Expr& e) = 0;
    virtual std::string cast(const bound::Expr& e) = 0;
    virtual std::string aggregate(const bound::Expr& e);

    /// "a, b, c" of the SQL of `e.args` from index `from`.
    std::string args(const bound::Expr& e, std::size_t from = 0);

    std::optional<std::int64_t> row_limit_;
    std::map<std::string, std::string> row_filters_;
};

}  // namespace vo::adql
