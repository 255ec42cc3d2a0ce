// SQL functions that give ADQL its semantics on SQLite (geometry with S2,
// math as ADQL defines it). The SQLite dialect of adql/ emits calls to them.
#pragma once

#include <memory>
#include <optional>
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

/// A footprint (ObsCore s_region) parsed once for the spatial index.
struct IndexedFootprint {
    IndexedFootprint();
    IndexedFootprint(IndexedFootprint&&) noexcept;
    IndexedFootprint& operator=(IndexedFootprint&&) noexcept;
    ~IndexedFootprint();  // out of line: S2Region is complete only there
    /// The S2 region the geometry functions test (as geometry_region()).
    std::unique_ptr<S2Region> region;
    /// For a polygon, its binary footprint, which adql_contains_fp and
    /// adql_intersects_fp read instead of parsing the text: format byte 1,
    /// the 64-bit FNV-1a hash of the text (so a blob made from another text is
    /// never used: such calls parse the text), then the loop's vertices as
    /// the text parser builds them (consecutive duplicates dropped, before
    /// S2Loop::Normalize, validated), each 3 IEEE doubles x, y, z of the unit
    /// vector, all little-endian: 9 + 24 n bytes, n >= 3. Empty for a circle
    /// or point (those parse cheaply).
    std::string blob;
};

/// Parses an s_region value (STC-S or DALI text, as geometry_region()) for
/// the spatial index. Returns nullopt and sets `error` for an invalid value
/// (which is not indexed; the geometry functions then report the error).
std::optional<IndexedFootprint> index_footprint(std::string_view s_region, std::string& error);

}  // namespace vo::obscore
