// The storage backend interface of the query side (issue 8 item 2; DESIGN.md
// "Storage"), in the spirit of VOLLT's DBConnection: what the TAP, SIAv2,
// DataLink and SODA endpoints need of the database, with no database in
// sight. One QueryBackend is one read-only connection used by one thread at
// a time (a query worker). The SQLite implementation is
// obscore/sqlite_backend.cpp; a PostgreSQL one will sit beside it.
//
//   auto db = open_query_backend("archive.sqlite");
//   auto q = db->prepare(db->translate("SELECT TOP 5 obs_id FROM ivoa.obscore", {}));
//   auto rows = q->execute({});           // runs up to the first row
//   while (rows->next()) use(rows->cell(0));
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/access.hpp"
#include "obscore/record.hpp"

namespace vo::obscore {

/// A store failure (cannot open, corrupt file, disk full, a database string
/// no backend serves). The message names the store and the reason.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A failure while running a valid query (a database error, the time limit,
/// an interruption). `client_error` marks errors caused by the query itself
/// (a value too large, a geometry function given a bad polygon, the time
/// limit), answered with HTTP 400; the others (the client went away, a
/// database fault) are the server's, 500 (DALI 1.1 section 4.4).
class QueryError : public std::runtime_error {
public:
    QueryError(std::string message, bool client_error)
        : std::runtime_error(std::move(message)), client_error_(client_error) {}
    bool client_error() const noexcept { return client_error_; }

private:
    bool client_error_;
};

/// The database cannot be reached: the connection was refused or lost. Not
/// the client's fault and not a fault of the query: the service is
/// unavailable for now (HTTP 503) and the backend reconnects on a later call.
class DatabaseUnavailable : public QueryError {
public:
    explicit DatabaseUnavailable(std::string message) : QueryError(std::move(message), false) {}
};

/// Thrown by PreparedQuery::execute when ExecuteControl::first_row_by passed
/// before the first row: nothing has been read, the caller may run the query
/// again without that bound (the express lane hands it to a general worker).
class FirstRowExpired : public std::runtime_error {
public:
    FirstRowExpired() : std::runtime_error("no first row within the express time") {}
};

/// A foreign key as in TAP_SCHEMA.keys / key_columns (TAP 1.1 section 4.4).
struct ForeignKey {
    std::string from_table;                                    ///< qualified
    std::string target_table;                                  ///< qualified
    std::vector<std::pair<std::string, std::string>> columns;  ///< (from_column, target_column)
    std::string description;
    std::string utype;
};

/// One value of a row: of a query result (ResultCursor::cell) or of an
/// uploaded table (RequestTable::insert). `text` is a view: valid until the
/// cursor that gave it moves on, or for the duration of insert().
struct Cell {
    enum class Kind { null, integer, real, text };
    Kind kind = Kind::null;
    std::int64_t integer = 0;
    double real = 0.0;
    std::string_view text;  ///< UTF-8 (text) or raw bytes (blobs)
};

/// The cells of uploaded rows (the name obscore/upload_table.hpp has used).
using UploadCell = Cell;

/// The ADQL schema of uploaded tables (TAP 1.1 section 2.5.1).
inline constexpr const char* kUploadSchema = "TAP_UPLOAD";

/// Limits a backend connection enforces on every query it runs
/// (configuration [limits]; issue 7 item 3).
struct BackendLimits {
    /// Longest string or blob one query may build (a cell, ||,
    /// ivo_string_agg), in bytes; beyond it the query fails with a client
    /// QueryError naming limits.max_cell_bytes.
    std::int64_t max_cell_bytes = 16 * 1024 * 1024;
    /// The process-wide memory limit of queries, in bytes (0: none), only
    /// quoted in the message of a query that runs out of it; the limit itself
    /// is set once per process (set_process_memory_limit below).
    std::int64_t query_memory_bytes = 0;
};

/// How one run of a query may be stopped.
struct ExecuteControl {
    /// Set (by another thread) -> the query stops with a server QueryError
    /// "query interrupted (the client went away)". May be null.
    const std::atomic<bool>* cancel = nullptr;
    /// Past it the query stops with a client QueryError "query stopped: it
    /// ran longer than <deadline_reason>; ..." (TAP 1.1 section 2.7: sync
    /// time limit; UWS 1.1 EXECUTIONDURATION of async jobs).
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Said when `deadline` stops the query, e.g. "the 60 s execution limit
    /// of synchronous queries (limits.max_sync_seconds)".
    std::string deadline_reason = "the execution time limit";
    /// Set: no first row by then -> execute() throws FirstRowExpired.
    std::optional<std::chrono::steady_clock::time_point> first_row_by;
};

/// A forward-only cursor over the rows of one run of a PreparedQuery, the
/// shape of votable::RowSource (which server/ adapts it to): next() reads a
/// row, cell(i) gives its values without another call into the database (one
/// virtual call a row, not a cell). Ending the cursor (the destructor) ends
/// the run and frees its PreparedQuery for the next one. Must not outlive
/// its PreparedQuery.
class ResultCursor {
public:
    virtual ~ResultCursor() = default;
    /// Advances to the next row and reads its values (the first call gives
    /// the row execute() already reached); false at the end. Throws
    /// QueryError when the query fails or is stopped (cancel, deadline)
    /// between rows.
    virtual bool next() = 0;
    /// The value of column `i` (0-based, < columns()) of the row the last
    /// next() returned true for: integer (64-bit), real (double), text or
    /// null. Text views stay valid until the next call of next().
    const Cell& cell(std::size_t i) const { return row_[i]; }
    /// Columns of a row (those of the translation).
    std::size_t columns() const { return row_.size(); }

protected:
    std::vector<Cell> row_;  ///< the current row, filled by next(); sized by the implementation
};

/// One translated query made ready to run on its backend connection; may be
/// kept and run again (server/query.cpp caches them). Must not outlive the
/// backend that prepared it, nor the upload tables its query names.
class PreparedQuery {
public:
    virtual ~PreparedQuery() = default;
    /// The translation it was prepared from (SQL, result columns, TOP).
    virtual const adql::Translation& translation() const = 0;
    /// The planner's estimate of the rows the query visits (dimensionless,
    /// >= 1; 1e300 when the planner cannot tell), to send cheap queries to the
    /// express lane (issue 7 item 2). Throws StoreError on a connection failure.
    virtual double estimate_cost() = 0;
    /// Runs the query up to its first row, so that every failure before it
    /// can still become an HTTP error status; then the cursor streams the
    /// rest. One run at a time: the previous cursor must be gone. Throws
    /// QueryError (classified client/server) or FirstRowExpired.
    virtual std::unique_ptr<ResultCursor> execute(const ExecuteControl& control) = 0;
};

/// A table that exists for one request (TAP_UPLOAD.<name>, TAP 1.1 section
/// 2.5): created by QueryBackend::add_upload_table, filled with insert(),
/// closed with finish(); visible in its backend's catalog() and to its
/// queries until this object goes, which drops it.
class RequestTable {
public:
    virtual ~RequestTable() = default;
    /// Adds one row: one cell per column, in column order. Integers into
    /// boolean/short/int/long columns, reals into float/double, text into the
    /// rest (arrays as their TABLEDATA text). Throws StoreError.
    virtual void insert(const std::vector<Cell>& row) = 0;
    /// Ends the insertion. Throws StoreError.
    virtual void finish() = 0;
    /// The table as ADQL sees it: schema TAP_UPLOAD, the client's name, the
    /// physical name in the database, the columns.
    virtual const adql::TableInfo& info() const = 0;
    /// Rows inserted so far.
    virtual std::int64_t rows() const = 0;
};

/// Finding a product (DataLink 1.1 section 3.2 ID, SODA 1.0 section 3.2 ID):
/// what the download, preview, DataLink and cutout endpoints read of a store.
/// Implemented by every QueryBackend and by obscore::Store.
///
/// Each look-up takes the caller's RowVisibility (obscore/access.hpp, issue
/// 12 item 3): a row of ivoa.obscore the caller may not see is answered as
/// unknown (nullopt), exactly as if it did not exist; the release dates are
/// compared with archive_now() (obscore/clock.hpp). The forms without it see
/// every row (RowVisibility{}).
class ProductLookup {
public:
    virtual ~ProductLookup() = default;
    /// The product file of a dataset by its obs_publisher_did, or nullopt for
    /// an unknown or invisible ID or a row without a file. The ProductFile
    /// carries the row's obs_collection, proposal_id and obs_release_date
    /// (for the authorization of downloads). Throws StoreError.
    virtual std::optional<ProductFile> find_product(const std::string& obs_publisher_did,
                                                    const RowVisibility& visibility) const = 0;
    /// The dataproduct_type of the ivoa.obscore row of a dataset ("" for
    /// NULL), or nullopt when no row (the caller may see) has this
    /// obs_publisher_did. Throws StoreError.
    virtual std::optional<std::string> find_dataproduct_type(const std::string& obs_publisher_did,
                                                             const RowVisibility& visibility) const = 0;
    /// The obs_publisher_did of the one row (of those the caller may see)
    /// whose obs_id is `obs_id`, or nullopt when none or several rows have it
    /// (DataLink IDs as astroquery.alma passes them). Throws StoreError.
    virtual std::optional<std::string> find_did_by_obs_id(const std::string& obs_id,
                                                          const RowVisibility& visibility) const = 0;

    /// find_product() seeing every row.
    std::optional<ProductFile> find_product(const std::string& obs_publisher_did) const {
        return find_product(obs_publisher_did, RowVisibility{});
    }
    /// find_dataproduct_type() seeing every row.
    std::optional<std::string> find_dataproduct_type(const std::string& obs_publisher_did) const {
        return find_dataproduct_type(obs_publisher_did, RowVisibility{});
    }
    /// find_did_by_obs_id() seeing every row.
    std::optional<std::string> find_did_by_obs_id(const std::string& obs_id) const {
        return find_did_by_obs_id(obs_id, RowVisibility{});
    }
};

/// A read-only query connection to the store (DESIGN.md "Storage": reads
/// only, defended by the database itself), used by one thread at a time.
class QueryBackend : public ProductLookup {
public:
    /// The tables ADQL may name: those published in TAP_SCHEMA (TAP 1.1
    /// section 4) plus the live upload tables of this connection. The
    /// reference stays valid until refresh_if_changed() returns true or an
    /// upload table is added or dropped.
    virtual const adql::Catalog& catalog() const = 0;
    /// True when another connection (an ingest) has committed since the last
    /// call or since the backend was opened; the catalogue is then reloaded,
    /// and queries prepared before must be dropped. Cheap when nothing
    /// changed. Throws StoreError.
    virtual bool refresh_if_changed() = 0;
    /// TAP_SCHEMA.keys with their key_columns (TAP 1.1 section 4.4), in
    /// key_id order. Throws StoreError.
    virtual std::vector<ForeignKey> foreign_keys() const = 0;
    /// Rows of ivoa.obscore per obs_collection, every row counted. Throws StoreError.
    std::map<std::string, long long> collection_counts() const { return collection_counts(RowVisibility{}); }
    /// Rows of ivoa.obscore per obs_collection that `visibility` lets a
    /// caller see (issue 12 item 3: a page for everyone counts with the
    /// visibility of an anonymous caller). Throws StoreError.
    virtual std::map<std::string, long long> collection_counts(const RowVisibility& visibility) const = 0;
    /// The user-defined functions this backend's SQL dialect provides (ADQL
    /// 2.1 section 4.3), as /tap/capabilities advertises them (TAPRegExt 1.0).
    virtual const std::vector<adql::UdfDecl>& udfs() const = 0;
    /// Parses, checks and translates ADQL 2.1 text into this backend's SQL
    /// against catalog(). Throws adql::AdqlError (line, column, names).
    virtual adql::Translation translate(std::string_view adql, const adql::TranslateOptions& options) const = 0;
    /// The adql::TranslateOptions::row_filters, in this backend's SQL, that
    /// let a query see only the rows of ivoa.obscore `visibility` allows
    /// (issue 12 item 3; obscore/access.hpp visibility_row_filters, with
    /// vo_now() for the clock); empty when visibility.everything(). Throws
    /// adql::AdqlError when ivoa.obscore lacks a column the rule reads.
    virtual std::map<std::string, std::string> row_filters(const RowVisibility& visibility) const = 0;
    /// Makes a translation ready to run. Throws QueryError (a client error:
    /// "cannot run the query: <the database's reason>").
    virtual std::unique_ptr<PreparedQuery> prepare(adql::Translation translation) = 0;
    /// Creates the per-request table TAP_UPLOAD.<name> (TAP 1.1 section 2.5;
    /// `name` an ADQL regular identifier checked by the caller) with `columns`
    /// (name, datatype, arraysize, xtype, unit, ucd, utype, description;
    /// `physical` is assigned). Throws StoreError (two column names differing
    /// only in case, a database failure).
    virtual std::unique_ptr<RequestTable> add_upload_table(const std::string& name,
                                                           std::vector<adql::ColumnInfo> columns) = 0;
};

/// Bounds the memory of every query connection of the process together
/// (SQLite: its hard heap limit): a query that needs more fails with a client
/// QueryError naming BackendLimits::query_memory_bytes instead of growing
/// the process. `bytes` <= 0: no limit. Process-wide; call before queries run.
void set_process_memory_limit(long long bytes);

/// The public base URL (e.g. "http://127.0.0.1:8080", no trailing '/') that
/// queries put in front of the stored paths of ivoa.obscore's access_url
/// (ingest stores "/datalink/sync?ID=..."; DESIGN.md "one base URL, every
/// link derived from it"), through the SQL function vo_base_url() of every
/// query connection of the process. Set by the server once it knows its
/// address; URLs stored absolute by earlier versions are returned as stored.
/// Process-wide and thread-safe.
void set_public_base_url(const std::string& url);

/// The base URL last given to set_public_base_url() ("" before).
std::string public_base_url();

/// Opens a read-only query connection to `database`: the path of a SQLite
/// store file (ingested with `voserver ingest` or `build-demo`) -> the SQLite
/// backend (obscore/sqlite_backend.cpp); a `postgresql://` (or `postgres://`)
/// URL -> the PostgreSQL backend (obscore/pg_backend.cpp). Throws StoreError
/// for a file that is missing or not a voserver store, a database that cannot
/// be reached, a URL of any other scheme, and a malformed VOSERVER_NOW
/// (obscore/clock.hpp; the message names it).
std::unique_ptr<QueryBackend> open_query_backend(const std::string& database, const BackendLimits& limits = {});

}  // namespace vo::obscore
