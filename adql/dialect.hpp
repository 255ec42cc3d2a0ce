// SQL dialects: a bound ADQL query (adql/bound.hpp) -> the SQL of one
// database (DESIGN.md: parse -> bind -> emit; issue 8 item 1). The SQLite
// dialect is the first implementation; a PostgreSQL + pgSphere dialect is the
// second (issue 11). Each dialect is a subclass of SqlWriter
// (adql/sql_writer.hpp) that overrides what its database spells differently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adql/adql.hpp"
#include "adql/ast.hpp"
#include "adql/bound.hpp"

namespace vo::adql {

/// What the emit stage takes of TranslateOptions (adql/adql.hpp).
struct EmitOptions {
    /// TranslateOptions::row_limit.
    std::optional<std::int64_t> row_limit;
    /// TranslateOptions::row_filters (physical table -> SQL condition).
    std::map<std::string, std::string> row_filters;
};

/// One SQL dialect.
class Dialect {
public:
    virtual ~Dialect() = default;
    /// A short name for messages and logs ("sqlite").
    virtual std::string_view name() const = 0;
    /// One SELECT statement computing `query`, returning its result columns
    /// in order with the names of `query.columns`. `options.row_limit`: stop
    /// after this many rows (TAP MAXREC + 1, TAP 1.1 section 2.7.4), combined
    /// with the outermost TOP as min(TOP, row_limit); `options.row_filters`:
    /// the tables read through a filter (TranslateOptions::row_filters).
    virtual std::string sql(const bound::Statement& query, const EmitOptions& options) const = 0;
    /// sql() with a row limit and no row filters.
    std::string sql(const bound::Statement& query, std::optional<std::int64_t> row_limit) const {
        EmitOptions options;
        options.row_limit = row_limit;
        return sql(query, options);
    }
};

/// The SQLite dialect: geometry, LOG, LIKE, ROUND/TRUNCATE, MOD, CAST to
/// integers... as functions that obscore/sql_functions.cpp registers on every
/// connection (adql_point, adql_contains, ...); geometry values are DALI 1.1
/// text (section 3.3); the S2 spatial index (SpatialIndexInfo) pre-filters
/// CONTAINS/INTERSECTS/DISTANCE conditions on indexed columns.
const Dialect& sqlite_dialect();

/// The PostgreSQL dialect (issue 11): the same adql_* function library,
/// installed in the database over pgSphere (obscore/pg_functions.sql);
/// arguments cast to the types its overloads take; LIKE/ILIKE without an
/// escape character; x / 0 is NULL as in SQLite; native INTERSECT/EXCEPT ALL;
/// tables named "schema"."table".
const Dialect& postgres_dialect();

/// parse -> bind -> emit with `dialect`: the whole translation of one query
/// text. Throws AdqlError (syntax, names, types, limits).
Translation translate(std::string_view adql, const Catalog& catalog, const Dialect& dialect,
                      const TranslateOptions& options = {});

/// bind -> emit of a query built as a syntax tree (see translate_sqlite).
Translation translate(const ast::Statement& query, const Catalog& catalog, const Dialect& dialect,
                      const TranslateOptions& options = {});

}  // namespace vo::adql
