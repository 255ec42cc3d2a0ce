// The ADQL SQL functions that need no spherical geometry library: math
// (ADQL 2.1 section 2.3), RAND, LIKE/ILIKE and ivo_hasword, interval overlap,
// HEALPix NESTED indices (ivo_healpix_index/center), CAST to integer,
// TIMESTAMP. Split from obscore/sql_functions.cpp so that these parsers of
// client-supplied text (LIKE patterns, words) are built and fuzzed under
// AddressSanitizer; the S2 adapter keeps only the geometry functions.
// Internal to obscore/: the server calls register_sql_functions.
#pragma once

#include "obscore/geometry_text.hpp"

#include <sqlite3.h>

#include <charconv>
#include <cmath>
#include <string>

namespace vo::obscore::sqlfn {

using vo::obscore::kDeg;
using vo::obscore::kPi;
using vo::obscore::valid_latitude;

/// True for an SQL NULL argument.
inline bool is_null(sqlite3_value* v) { return sqlite3_value_type(v) == SQLITE_NULL; }

/// True when any of the `argc` arguments is NULL (the function's result is then NULL).
inline bool any_null(int argc, sqlite3_value** argv) {
    for (int i = 0; i < argc; ++i)
        if (is_null(argv[i])) return true;
    return false;
}

/// The shortest decimal text that reads back to `x`.
inline std::string fmt(double x) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

/// Sets a text result (copied).
inline void result_text(sqlite3_context* ctx, const std::string& s) {
    sqlite3_result_text(ctx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

/// Registers the functions of this unit (adql_log ... adql_healpix_center)
/// on `db`; returns SQLITE_OK or the first error code.
int register_scalar_functions(sqlite3* db);

}  // namespace vo::obscore::sqlfn
