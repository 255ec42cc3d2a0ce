// The computations behind voserver's native PostgreSQL functions
// (pgext/voserver_pg.cpp), in a unit of their own: PostgreSQL's c.h and S2's
// headers declare int64/uint64 differently and cannot meet in one
// translation unit. Plain data cross this interface, and nothing throws.
#pragma once

#include <string_view>

namespace vo::pgext {

/// Raised with voserver_native_version(); pg_functions.sql uses the native
/// functions only when it finds this version.
inline constexpr int kNativeVersion = 1;

/// What a test answers: an integer, NULL, or an error message for SQLSTATE
/// 22023 (a client's invalid value).
struct Outcome {
    int value = 0;
    bool is_null = false;
    char error[512] = {};
};

/// The last parsed value of each geometry argument of one call site (one
/// PostgreSQL FmgrInfo), so a query's constant region is parsed once, not
/// per row. Opaque here.
struct Cache;
/// A new cache, nullptr when memory is short (the tests then parse every call).
Cache* new_cache() noexcept;
/// Frees a cache of new_cache (a PostgreSQL memory-context callback; void* for it).
void free_cache(void* cache) noexcept;

/// CONTAINS (fn "CONTAINS", ADQL 2.1 section 4.2.7) or INTERSECTS (fn
/// "INTERSECTS", section 4.2.11) of the geometry values a and b (DALI 1.1
/// text or STC-S, degrees), as the SQLite store's adql_contains /
/// adql_intersects (row < 0) and adql_*_fp (row 0 or 1: that argument is a
/// row's stored footprint, and an invalid one answers NULL, no match,
/// instead of an error): 1 or 0; an error naming fn and the argument.
Outcome relate(Cache* cache, std::string_view fn, std::string_view a, std::string_view b, int row) noexcept;

/// CONTAINS(POINT(ra, dec), g), numeric coordinates in degrees
/// (adql_contains_point): an error for a right ascension that is not finite,
/// 0 for a latitude outside [-90, 90].
Outcome contains_point(Cache* cache, double ra, double dec, std::string_view g) noexcept;

/// CONTAINS(POINT(ra, dec), CIRCLE(cra, cdec, r)), degrees: the cone test
/// (adql_contains_point_circle); errors for right ascensions that are not finite.
Outcome contains_point_circle(double ra, double dec, double cra, double cdec, double r) noexcept;

}  // namespace vo::pgext
