// SQL functions that give ADQL its semantics on SQLite (geometry with S2,
// math as ADQL defines it). The SQLite dialect of adql/ emits calls to them.
#pragma once

struct sqlite3;

namespace vo::obscore {

/// Registers every function the SQLite dialect of adql/ may emit on `db`
/// (deterministic ones flagged SQLITE_DETERMINISTIC). Returns SQLITE_OK or the
/// SQLite error code.
int register_sql_functions(sqlite3* db);

}  // namespace vo::obscore
