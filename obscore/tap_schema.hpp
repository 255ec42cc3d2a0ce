// TAP_SCHEMA 1.1 (TAP 1.1 section 4), generated from the column tables.
#pragma once

#include <string>
#include <vector>

#include "obscore/columns.hpp"

struct sqlite3;

namespace vo::obscore {

/// The SQLite table behind the ADQL table `schema.name`: lower-cased
/// `schema_name` (e.g. ivoa.obscore -> ivoa_obscore, TAP_SCHEMA.columns ->
/// tap_schema_columns).
std::string physical_table_name(const std::string& schema, const std::string& name);

/// The columns of the five TAP_SCHEMA tables themselves (TAP 1.1 sections
/// 4.1-4.5), so that TAP_SCHEMA describes itself. `table` is e.g. "columns".
const std::vector<ColumnDef>& tap_schema_columns(const std::string& table);

/// (Re)creates the tap_schema_* tables in `db` and fills them: schemas ivoa
/// and TAP_SCHEMA; tables ivoa.obscore (lower case, as the ALMA archive
/// publishes it) and the five TAP_SCHEMA tables; one TAP_SCHEMA.columns row per
/// column of `obscore` and of the TAP_SCHEMA tables. Must run inside a
/// transaction. Throws StoreError.
void write_tap_schema(sqlite3* db, const std::string& path, const std::vector<ColumnDef>& obscore);

}  // namespace vo::obscore
