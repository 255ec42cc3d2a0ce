// The spatial index of the store: S2 cells covering each ObsCore row's
// position (s_ra, s_dec) and footprint (s_region), so that a cone or polygon
// search reads only the rows near the searched region (issue 3 item 3,
// DESIGN.md "Storage"), and each polygon footprint in binary form, so that
// the exact test of a candidate does not parse its text (issue 14).
//
// Layout: `ivoa_obscore_s2 (kind, cell, row_id)`, primary key (kind, cell,
// row_id), WITHOUT ROWID, plus an index on row_id for re-indexing a row.
//   kind 0: the point (s_ra, s_dec), one leaf cell (level 30) per row;
//   kind 1: the footprint s_region, at most kRegionCells cells of levels
//           0..kMaxLevel covering it (S2RegionCoverer; a polygon's cells
//           cover its bounding cap, S2Polygon::GetCapBound, which costs a
//           third of covering the polygon (S2Cell tests against a cap need no
//           trigonometry) for cells of about 1.6 times the area; the exact
//           test after the look-up keeps the result exact).
// `cell` is the S2 cell id reinterpreted as a signed 64-bit integer (SQLite
// INTEGER); the order of ids inside one cube face, hence inside the range of
// any cell, is kept by that reinterpretation.
// `ivoa_obscore_fp (row_id INTEGER PRIMARY KEY, fp BLOB NOT NULL)`: the
// binary footprint (obscore/sql_functions.hpp, IndexedFootprint::blob) of
// each row whose s_region is a valid polygon. A blob carries a hash of the
// text it was made from and is used only for that text, so a stale entry
// costs a parse, never a wrong answer. Stores written before issue 14 lack
// this table: read-only they are queried as before (spatial_index_info()
// names no footprint table), opened for writing they are re-indexed.
//
// A lookup covers the searched shape with cells q and reads, for each q, the
// stored cells whose id lies in [q.range_min, q.range_max] (q and its
// descendants) and, for kind 1, the ancestors of q; two regions that intersect
// share a point whose leaf cell lies in a stored cell and in a query cell, and
// of two S2 cells containing one point one contains the other, so no match is
// missed. The cost grows with the number of rows near the shape, not with the
// table. The candidates are then tested exactly (adql_contains, ...,
// adql_intersects_fp with the row's binary footprint).
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
#include <vector>

#include "adql/adql.hpp"

struct sqlite3;

namespace vo::obscore {

/// Physical name of the cell table.
inline constexpr const char* kSpatialIndexTable = "ivoa_obscore_s2";
/// Physical name of the binary footprint table.
inline constexpr const char* kFootprintTable = "ivoa_obscore_fp";
/// Kinds of entries in the cell table.
inline constexpr int kIndexPoint = 0;   ///< (s_ra, s_dec)
inline constexpr int kIndexRegion = 1;  ///< s_region
/// Covering parameters of footprints (stored) and searched shapes (lookups).
inline constexpr int kRegionCells = 8;
inline constexpr int kQueryCells = 32;
inline constexpr int kMaxLevel = 24;  ///< about 0.5 arcsec cells; finer gains nothing for footprints

/// One entry of the cell table.
struct IndexCell {
    int kind;           ///< kIndexPoint or kIndexRegion
    std::int64_t cell;  ///< S2 cell id as a signed integer
    friend bool operator==(const IndexCell&, const IndexCell&) = default;
};

/// The index entries of one row: the cells of its point (degrees; none when
/// missing, not finite or the latitude is outside [-90, 90], since no ADQL
/// spatial test can then be true) and of its footprint `s_region` (STC-S or
/// DALI polygon text, "" for NULL; none for an invalid value), and the
/// binary footprint of a polygon ("" otherwise). Pure and thread-safe; the
/// same for rows indexed one by one and in bulk.
void row_index_entries(std::optional<double> s_ra, std::optional<double> s_dec, std::string_view s_region,
                       std::vector<IndexCell>& cells, std::string& footprint);

/// Creates the cell and footprint tables and the cell table's row_id index if
/// missing, in the open write transaction of `db`. If either table is new and
/// ivoa_obscore already has rows (a store written before the index, or
/// before the footprint table, existed), indexes them all
/// (rebuild_spatial_index). Throws std::runtime_error with SQLite's message
/// on failure.
void create_spatial_index_schema(sqlite3* db);

/// Keeps the index of single rows up to date (ingest's upserts) with
/// statements prepared once. Use inside the write transaction of `db`; the
/// tables must exist (create_spatial_index_schema). Not thread-safe.
class SpatialIndexWriter {
public:
    /// Throws std::runtime_error when a statement cannot be prepared.
    explicit SpatialIndexWriter(sqlite3* db);
    ~SpatialIndexWriter();
    SpatialIndexWriter(const SpatialIndexWriter&) = delete;
    SpatialIndexWriter& operator=(const SpatialIndexWriter&) = delete;

    /// (Re)indexes the row `rowid` of ivoa_obscore (row_index_entries()):
    /// replaces its cells and its binary footprint. Throws
    /// std::runtime_error on a SQLite failure.
    void index_row(std::int64_t rowid, std::optional<double> s_ra, std::optional<double> s_dec,
                   std::string_view s_region);
    /// index_row() for the row whose obs_publisher_did is given (the rowid of
    /// an upserted row is stable). No-op for an unknown ID.
    void index_product(std::string_view obs_publisher_did, std::optional<double> s_ra, std::optional<double> s_dec,
                       std::string_view s_region);

private:
    struct Statements;
    sqlite3* db_;
    Statements* s_;
    std::vector<IndexCell> cells_;
    std::string footprint_;
};

/// SpatialIndexWriter::index_row with statements prepared for this call.
void index_row(sqlite3* db, std::int64_t rowid, std::optional<double> s_ra, std::optional<double> s_dec,
               std::string_view s_region);

/// SpatialIndexWriter::index_product with statements prepared for this call.
void index_product(sqlite3* db, const std::string& obs_publisher_did, std::optional<double> s_ra,
                   std::optional<double> s_dec, std::string_view s_region);

/// Re-indexes every row of ivoa_obscore in bulk (a store without the index,
/// or after a VACUUM, which may renumber the rowids of a table without
/// INTEGER PRIMARY KEY): the same entries as index_row() on each row, with
/// the entries computed on up to `threads` threads (0: one per hardware
/// thread, at most 8), then inserted in key order and the row_id index made
/// afterwards. Runs in the open write transaction of `db`. Throws
/// std::runtime_error on a SQLite failure.
void rebuild_spatial_index(sqlite3* db, unsigned threads = 0);

/// What the ADQL translator needs to use the index of ivoa_obscore, or
/// nullopt when the store has no cell table (an older store); the footprint
/// table is named only when the store has it.
std::optional<adql::SpatialIndexInfo> spatial_index_info(sqlite3* db);

/// Registers the table-valued function adql_s2_cover (see above) on `db`.
/// Returns SQLITE_OK or the SQLite error code. Called by register_sql_functions.
int register_spatial_index_module(sqlite3* db);

}  // namespace vo::obscore
