// The spatial index of the store: S2 cells covering each ObsCore row's
// position (s_ra, s_dec) and footprint (s_region), so that a cone or polygon
// search reads only the rows near the searched region (issue 3 item 3,
// DESIGN.md "Storage").
//
// Layout: `ivoa_obscore_s2 (kind, cell, row_id)`, primary key (kind, cell,
// row_id), WITHOUT ROWID, plus an index on row_id for re-indexing a row.
//   kind 0: the point (s_ra, s_dec), one leaf cell (level 30) per row;
//   kind 1: the footprint s_region, at most kRegionCells cells of levels
//           0..kMaxLevel covering it (S2RegionCoverer).
// `cell` is the S2 cell id reinterpreted as a signed 64-bit integer (SQLite
// INTEGER); the order of ids inside one cube face, hence inside the range of
// any cell, is kept by that reinterpretation.
//
// A lookup covers the searched shape with cells q and reads, for each q, the
// stored cells whose id lies in [q.range_min, q.range_max] (q and its
// descendants) and, for kind 1, the ancestors of q; two regions that intersect
// share a point whose leaf cell lies in a stored cell and in a query cell, and
// of two S2 cells containing one point one contains the other, so no match is
// missed. The cost grows with the number of rows near the shape, not with the
// table. The candidates are then tested exactly (adql_contains, ...).
//
// The lookup is the eponymous table-valued function
//   adql_s2_cover(shape TEXT, kind INTEGER) -> rows (lo INTEGER, hi INTEGER)
// registered with the other ADQL SQL functions; the SQLite dialect of adql/
// emits `t.rowid IN (SELECT s.row_id FROM adql_s2_cover(shape, k) AS c JOIN
// ivoa_obscore_s2 AS s ON s.kind = k AND s.cell BETWEEN c.lo AND c.hi)`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adql/adql.hpp"

struct sqlite3;

namespace vo::obscore {

/// Physical name of the cell table.
inline constexpr const char* kSpatialIndexTable = "ivoa_obscore_s2";
/// Kinds of entries in the cell table.
inline constexpr int kIndexPoint = 0;   ///< (s_ra, s_dec)
inline constexpr int kIndexRegion = 1;  ///< s_region
/// Covering parameters of footprints (stored) and searched shapes (lookups).
inline constexpr int kRegionCells = 8;
inline constexpr int kQueryCells = 12;
inline constexpr int kMaxLevel = 24;  ///< about 0.5 arcsec cells; finer gains nothing for footprints

/// Creates the cell table and its index if missing, in the open write
/// transaction of `db`. If the table is new and ivoa_obscore already has rows
/// (a store written before the index existed), indexes them all. Throws
/// std::runtime_error with SQLite's message on failure.
void create_spatial_index_schema(sqlite3* db);

/// (Re)indexes one row of ivoa_obscore: removes its old cells and stores the
/// cells of its point (degrees; skipped when missing, not finite or the
/// latitude is outside [-90, 90], since no ADQL spatial test can then be
/// true) and of its footprint `s_region` (DALI 1.1 polygon text, "" for NULL;
/// an invalid polygon is not indexed). Throws std::runtime_error on a SQLite
/// failure.
void index_row(sqlite3* db, std::int64_t rowid, std::optional<double> s_ra, std::optional<double> s_dec,
               std::string_view s_region);

/// index_row() for the row whose obs_publisher_did is given (looks its rowid
/// up; the rowid of an upserted row is stable). No-op for an unknown ID.
void index_product(sqlite3* db, const std::string& obs_publisher_did, std::optional<double> s_ra,
                   std::optional<double> s_dec, std::string_view s_region);

/// Re-indexes every row of ivoa_obscore (e.g. after a VACUUM, which may
/// renumber the rowids of a table without INTEGER PRIMARY KEY).
void rebuild_spatial_index(sqlite3* db);

/// What the ADQL translator needs to use the index of ivoa_obscore, or
/// nullopt when the store has no cell table (an older store).
std::optional<adql::SpatialIndexInfo> spatial_index_info(sqlite3* db);

/// Registers the table-valued function adql_s2_cover (see above) on `db`.
/// Returns SQLITE_OK or the SQLite error code. Called by register_sql_functions.
int register_spatial_index_module(sqlite3* db);

}  // namespace vo::obscore
