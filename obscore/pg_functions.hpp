// voserver's ADQL SQL function library for PostgreSQL + pgSphere
// (obscore/pg_functions.sql, embedded at build time; issue 11 item 2).
#pragma once

namespace vo::obscore {

/// The SQL script that installs the adql_* functions the PostgreSQL dialect
/// (adql/dialect_postgres.cpp) calls, with the names, arguments, results,
/// NULL rules and error messages of the SQLite store's functions
/// (obscore/sql_functions.cpp). Needs pgSphere in the database; every
/// statement is CREATE OR REPLACE, so running it again upgrades the library.
/// Errors a client causes are raised with SQLSTATE class 22 (data exception).
const char* pg_function_library();

}  // namespace vo::obscore
