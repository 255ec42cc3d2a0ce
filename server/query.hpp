// Running one ADQL query on a read-only store and streaming its rows into a
// table writer (TAP 1.1 section 2.7; DESIGN.md "How a request flows").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "adql/adql.hpp"
#include "obscore/backend.hpp"
#include "server/upload.hpp"
#include "votable/writer.hpp"

namespace vo::server {

/// A failure while running a valid query, classified client (400) or server
/// (500) error by the backend (obscore/backend.hpp).
using QueryError = obscore::QueryError;

/// Thrown by QueryEngine::run when an express run (QueryRequest::first_row_by)
/// found no first row in time: nothing has been sent, the caller runs the
/// query again on a general query worker (issue 7 item 2).
using ExpressExpired = obscore::FirstRowExpired;

/// Limits of one QueryEngine (issue 7 items 1 and 3; configuration [limits]).
struct EngineLimits {
    adql::QueryLimits adql;                          ///< text size, tree depth and nodes
    std::int64_t max_cell_bytes = 16 * 1024 * 1024;  ///< longest string/blob a query may build (obscore::BackendLimits)
    std::size_t cache_bytes = 4 * 1024 * 1024;       ///< translations + SQL kept in the cache, in bytes
    std::int64_t query_memory_bytes = 0;             ///< process-wide query memory limit, for messages (0: none)
};

/// The per-request part of a query run.
struct QueryRequest {
    std::string adql;
    std::int64_t maxrec = 10000;  ///< rows at most (0: metadata only)
    votable::Format format = votable::Format::votable;
    std::vector<votable::Info> infos;  ///< extra INFO elements
    /// Non-empty: a VOTable result with an obs_publisher_did column carries
    /// the DataLink service descriptor of {links} at this base URL
    /// (server/datalink.hpp datalink_service_descriptor, DataLink 1.1
    /// section 4.5), whose ID PARAM refers to that FIELD's XML ID.
    std::string datalink_base_url;
    /// Further `<RESOURCE>` elements written after the results of a VOTable
    /// (e.g. the SIAv2 self-description, SIA 2.0 section 3.1.2), already XML.
    std::string extra_resources;
    const std::atomic<bool>* cancel = nullptr;  ///< set -> the query is interrupted
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Said when `deadline` interrupts the query, e.g. "the 60 s execution
    /// limit of synchronous queries (limits.max_sync_seconds)".
    std::string deadline_reason = "the execution time limit";
    /// Set on express workers: no first row by then -> ExpressExpired.
    std::optional<std::chrono::steady_clock::time_point> first_row_by;
    /// Set by a caller that has just called QueryEngine::estimate_cost for
    /// this query on the same engine (the express lane, issue 14): run()
    /// then does not look for a committed ingest again (that look is a read
    /// transaction of its own, a tenth of a small query's work). An ingest
    /// committing between the two calls is seen by the next query.
    bool store_checked = false;
    /// Tables uploaded with the query (TAP 1.1 section 2.5), visible to it
    /// as TAP_UPLOAD.<table> and dropped when it ends.
    std::vector<UploadRequest> uploads;
    UploadLimits upload_limits;
    /// The rows of ivoa.obscore the caller may see (issue 12 item 3; default:
    /// every row). Every reference to the table in the query (subqueries,
    /// joins, set operations, WITH, COUNT(*), joins with TAP_UPLOAD tables)
    /// reads only those rows (obscore::QueryBackend::row_filters).
    obscore::RowVisibility visibility;
};

/// What a run did.
struct QueryOutcome {
    std::int64_t rows = 0;
    bool overflow = false;
    std::uint64_t bytes = 0;
    /// Set when the query failed after the first row was written: the table
    /// then ends with an error INFO (DALI 1.1 section 4.4.2) carrying this message.
    std::optional<std::string> error;
};

/// One read-only backend connection to the store (obscore::QueryBackend) with
/// an LRU cache of prepared queries, bounded in bytes; used by one thread at
/// a time (one per query worker).
class QueryEngine {
public:
    /// Opens the store read-only (obscore::open_query_backend). Throws
    /// obscore::StoreError.
    explicit QueryEngine(const std::string& database, EngineLimits limits = {});
    ~QueryEngine();

    /// The backend connection, for the product look-ups of the SODA and
    /// download workers.
    obscore::QueryBackend& backend() { return *backend_; }

    /// The backend's estimate of the rows a query visits
    /// (obscore::PreparedQuery::estimate_cost; computed once per cached
    /// query) for a caller with `visibility` (QueryRequest::visibility; pass
    /// the request's, so that run() finds the query prepared). Throws as run()
    /// does for a query that cannot be translated or prepared.
    double estimate_cost(const std::string& adql, std::int64_t maxrec, const obscore::RowVisibility& visibility = {});

    /// Runs `request` (after an ingest into the store has committed, first
    /// reloads the catalogue: new columns and tables are seen at once; not
    /// looked for with QueryRequest::store_checked):
    ///  0. loads the uploads, if any, into TAP_UPLOAD tables of this run
    ///     (throws QueryError, a client error, naming a bad upload);
    ///  1. translates the ADQL (throws adql::AdqlError) with row_limit MAXREC+1;
    ///  2. prepares and steps to the first row (throws QueryError);
    ///  3. calls `on_start` (e.g. send the HTTP status and headers), then
    ///     writes the table to `sink` with `writer`'s format, rows streamed.
    /// Errors after on_start end the table with an error INFO (DALI 1.1
    /// section 4.4.2) and are not thrown; votable::SinkClosed propagates.
    QueryOutcome run(const QueryRequest& request, const std::function<void()>& on_start, votable::Sink sink);

private:
    struct Cached {
        std::unique_ptr<obscore::PreparedQuery> query;
        std::optional<double> cost;  ///< estimate_cost(), computed once per cached query
        /// The writer fields of the translation (fields_of), made at the
        /// first run and kept with the query (issue 14: per request they
        /// were a tenth of a small result's work).
        std::optional<std::vector<votable::Field>> fields;
        /// The same with the obs_publisher_did FIELD's XML ID, and the
        /// DataLink service descriptor referring to it, for `link_base`
        /// (QueryRequest::datalink_base_url); "" descriptor: no such column.
        std::optional<std::vector<votable::Field>> linked_fields;
        std::string link_base;
        std::string link_descriptor;
    };
    Cached& prepare(const std::string& adql, std::int64_t row_limit, const obscore::RowVisibility& visibility);
    adql::TranslateOptions translate_options(std::int64_t row_limit, const obscore::RowVisibility& visibility) const;
    /// Drops the cache after an ingest committed (the backend has reloaded
    /// its catalogue: obscore::QueryBackend::refresh_if_changed), so that new
    /// tables and columns are queryable without a restart.
    void refresh();
    QueryOutcome run_prepared(Cached& entry, const QueryRequest& request, const std::function<void()>& on_start,
                              votable::Sink sink);

    // Declared first: destroyed after every prepared query of it.
    std::unique_ptr<obscore::QueryBackend> backend_;
    EngineLimits limits_;
    std::size_t cache_used_ = 0;  // bytes of keys + SQL in cache_
    Cached transient_;            // the last query too large for the cache
    // LRU cache of (row limit, visibility, ADQL text) -> prepared query; the
    // visibility is part of the key (obscore::visibility_key), so callers who
    // may see different rows never share a translation.
    std::list<std::string> lru_;
    std::unordered_map<std::string, std::pair<Cached, std::list<std::string>::iterator>> cache_;
};

/// Converts a translation's result columns to writer fields.
std::vector<votable::Field> fields_of(const std::vector<adql::ColumnInfo>& columns);

}  // namespace vo::server
