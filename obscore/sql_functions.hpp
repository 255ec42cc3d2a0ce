// SQL functions that give ADQL its semantics on SQLite (geometry with S2,
// math as ADQL defines it). The SQLite dialect of adql/ emits calls to them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct sqlite3;
class S2Region;

namespace vo::obscore {

/// Registers every function the SQLite dialect of adql/ may emit on `db`
/// (deterministic ones flagged SQLITE_DETERMINISTIC). Returns SQLITE_OK or the
/// SQLite error code.
int register_sql_functions(sqlite3* db);

/// The S2 region of a geometry value in the DALI 1.1 text form these functions
/// exchange (section 3.3: "ra dec" point, "ra dec r" circle, "ra1 dec1 ..."
/// polygon whose interior is the smaller region, "range ra_min ra_max dec_min
/// dec_max" for RANGE_S2D); degrees, ICRS. The same parsing as the geometry
/// SQL functions, so the spatial index (obscore/spatial_index.hpp) covers
/// exactly what they test. Returns nullptr and sets `error` for an invalid value.
std::unique_ptr<S2Region> geometry_region(std::string_view dali, std::string& error);

}  // namespace vo::obscore
