// The PostgreSQL + pgSphere store (issue 11): its layout, shared by the
// writer (obscore/pg_store.cpp: loading) and the query backend
// (obscore/pg_backend.cpp), and the loading entry point.
//
// Layout of the database (pgSphere and the roles from `scripts/postgres`):
//  - `ivoa.obscore`: one row per product, the columns of the SQLite store's
//    `ivoa_obscore` (obscore_columns() plus configured extension columns)
//    with the same names, typed by their VOTable datatype: char/unicodeChar
//    -> text, short -> smallint, int -> integer, long -> bigint, boolean ->
//    smallint, float and double -> double precision (the SQLite store keeps
//    8-byte values for both: the same values on both stores), any other
//    array -> text; unique obs_publisher_did; B-tree indexes where the column table
//    says `indexed`. The spatial index (issue 11 item 2), when the table has
//    s_ra, s_dec and s_region: two companion columns, filled by the writers
//    (pg-load and the ingest writer compute them in C++ while they copy the
//    rows: pg_point_text(), pg_bound_text(); a row written by other SQL must
//    set them with the function library's voserver_point() and
//    voserver_bound(), which compute the same values) and not published
//    (TAP_SCHEMA does not list them, so neither ADQL nor SELECT * sees
//    them). Layouts loaded before this were STORED GENERATED columns computed
//    by those SQL functions (about 30 us a row in PL/pgSQL, the largest cost
//    of a bulk load); the writer still accepts them:
//      voserver_s_point spoint = voserver_point(s_ra, s_dec): the position,
//        NULL when s_ra/s_dec are NULL or not a valid position;
//      voserver_s_region scircle = voserver_bound(s_region): a circle that
//        encloses the footprint (a polygon's vertices' cap, a circle itself,
//        enlarged by 1e-7 rad), NULL when s_region is NULL, unreadable or
//        has no enclosing circle of at most 90 degrees ("unbounded");
//    each with a GiST index (pgSphere), plus a partial B-tree index of the
//    unbounded footprints (WHERE voserver_s_region IS NULL AND s_region IS
//    NOT NULL). One bounding circle for every kind of footprint keeps one
//    column, one index and one operator (scircle && scircle) whatever the
//    footprint is; the exact test (adql_relate over the text) stays, so the
//    circle only has to enclose. The PostgreSQL dialect
//    (adql/dialect_postgres.cpp) tests them before the exact predicate.
//  - `tap_schema.schemas`, `.tables`, `.columns`, `.keys`, `.key_columns`:
//    TAP 1.1 section 4, the same columns and rows as the SQLite store's
//    `tap_schema_*` tables (TAP_SCHEMA names the tables as ADQL sees them;
//    the physical name of an ADQL table schema.name is "schema.name" in
//    lower case, written "schema"."name" by the PostgreSQL dialect).
//  - `voserver.files` (obs_publisher_did primary key, path, size_bytes,
//    mtime, image_hdus) and `voserver.meta` (key primary key, value), whose
//    key 'data_version' grows by one with every load (queries reload their
//    catalogue when it changed) and whose key 'data_rights_columns' (copied
//    from the SQLite store) names the columns queries compute as data_rights
//    (obscore/access.hpp).
//  - the adql_* function library (obscore/pg_functions.hpp),
//    `vo_base_url()` (text: current_setting('voserver.base_url', true), set
//    by each query connection) and `vo_now()` (text: the archive's clock,
//    current_setting('voserver.now', true), set by each query connection
//    before a run; the database's clock where not set), all in schema `public`.
//  - SELECT on every table and USAGE on the schemas granted to the reader
//    role (`voserver_reader`), which runs queries in read-only transactions.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vo::obscore {

/// The reader role of the layout above (scripts/postgres creates it).
inline constexpr const char* kPgReaderRole = "voserver_reader";
/// The channel every writer NOTIFYs in the transaction that increments
/// voserver.meta's data_version; query backends LISTEN on it and read
/// data_version only after a notification, or every kPgDataVersionPoll
/// (PostgreSQL 15 manual, NOTIFY: delivered at commit).
inline constexpr const char* kPgDataVersionChannel = "voserver_data_version";
inline constexpr std::chrono::milliseconds kPgDataVersionPoll{1000};

/// The spatial companion columns of ivoa.obscore (the layout above): the
/// pgSphere position of (s_ra, s_dec) and the circle enclosing s_region.
inline constexpr const char* kPgPointColumn = "voserver_s_point";
inline constexpr const char* kPgRegionColumn = "voserver_s_region";

/// The value of the companion column kPgPointColumn for a row's (s_ra,
/// s_dec) in degrees, as pgSphere spoint input text "(lon , lat)" in radians
/// (what voserver_point() in pg_functions.sql computes); nullopt (NULL) when
/// either is missing, ra is not finite or dec is outside [-90, 90].
std::optional<std::string> pg_point_text(std::optional<double> ra, std::optional<double> dec);

/// The value of the companion column kPgRegionColumn for a row's s_region
/// (STC-S or DALI text, obscore/geometry_text.hpp), as pgSphere scircle
/// input text "<(lon , lat) , r>" in radians: a circle enclosing the
/// footprint with a margin of 1e-7 rad, built as voserver_bound() in
/// pg_functions.sql builds it (a point or circle itself; a polygon: the cap
/// centred on the normalised sum of its vertices through the farthest
/// vertex). nullopt ("no bound": the footprint pre-filter keeps the row)
/// when the text cannot be read, is a coordinate range, or no circle of at
/// most 90 degrees encloses it. The circle only has to enclose: the exact
/// test decides.
std::optional<std::string> pg_bound_text(std::string_view s_region);

/// The PostgreSQL type of a column of VOTable `datatype` and `arraysize`
/// (TAP 1.1 section 4.3), by the mapping above.
std::string pg_column_type(const std::string& datatype, const std::string& arraysize);

/// `url` without its password (a URI's "user:password@", a `password` query
/// parameter, a `password=...` keyword of a key/value connection string;
/// PostgreSQL 15 manual section 34.1.1), for messages and logs.
std::string url_without_password(const std::string& url);

/// What load_into_postgres() did.
struct PgLoadReport {
    long long rows = 0;   ///< ivoa.obscore rows loaded
    long long files = 0;  ///< voserver.files rows loaded
    double seconds = 0;   ///< wall time of the load
};

/// Publishes the SQLite store at `sqlite_path` (written by `voserver ingest`
/// or `build-demo`) into the PostgreSQL database at `url` (a libpq
/// connection URI, e.g. "postgresql://voserver_writer@127.0.0.1:54329/voserver",
/// connecting as a role that owns the schemas): in one transaction, creates or
/// replaces the layout above, installs the function library, bulk-loads
/// ivoa.obscore, TAP_SCHEMA and the files table with COPY, creates the
/// indexes, grants the reader role, increments meta.data_version, commits.
/// Queries running meanwhile see the old or the new content, never a mix.
/// `progress` (may be empty) gets one line per step. Throws StoreError naming
/// the URL (without password) and the database's message.
PgLoadReport load_into_postgres(const std::string& sqlite_path, const std::string& url,
                                const std::function<void(const std::string&)>& progress = {});

}  // namespace vo::obscore
