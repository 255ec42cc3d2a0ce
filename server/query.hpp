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
#include "obscore/store.hpp"
#include "votable/writer.hpp"

struct sqlite3_stmt;

namespace vo::server {

/// A failure while running a valid query (SQLite error, time limit,
/// interruption). `client_error` marks errors caused by the query's values
/// (e.g. a geometry function given a bad polygon), answered with 400.
class QueryError : public std::runtime_error {
public:
    QueryError(std::string message, bool client_error)
        : std::runtime_error(std::move(message)), client_error_(client_error) {}
    bool client_error() const noexcept { return client_error_; }

private:
    bool client_error_;
};

/// The per-request part of a query run.
struct QueryRequest {
    std::string adql;
    std::int64_t maxrec = 10000;                ///< rows at most (0: metadata only)
    votable::Format format = votable::Format::votable;
    std::vector<votable::Info> infos;           ///< extra INFO elements
    const std::atomic<bool>* cancel = nullptr;  ///< set -> the query is interrupted
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

/// What a run did.
struct QueryOutcome {
    std::int64_t rows = 0;
    bool overflow = false;
    std::uint64_t bytes = 0;
};

/// One read-only connection to the store with caches of translations and
/// prepared statements; used by one thread at a time (one per query worker).
class QueryEngine {
public:
    /// Opens the store read-only (obscore::Store::open_read_only). Throws
    /// obscore::StoreError.
    explicit QueryEngine(const std::string& database);
    ~QueryEngine();

    obscore::Store& store() { return *store_; }

    /// Runs `request`:
    ///  1. translates the ADQL (throws adql::AdqlError) with row_limit MAXREC+1;
    ///  2. prepares and steps to the first row (throws QueryError);
    ///  3. calls `on_start` (e.g. send the HTTP status and headers), then
    ///     writes the table to `sink` with `writer`'s format, rows streamed.
    /// Errors after on_start end the table with an error INFO (DALI 1.1
    /// section 4.4.2) and are not thrown; votable::SinkClosed propagates.
    QueryOutcome run(const QueryRequest& request, const std::function<void()>& on_start, votable::Sink sink);

private:
    struct Cached {
        adql::Translation translation;
        sqlite3_stmt* stmt = nullptr;
    };
    Cached& prepare(const std::string& adql, std::int64_t row_limit);

    std::unique_ptr<obscore::Store> store_;
    // LRU cache of (row limit, ADQL text) -> translation + statement.
    std::list<std::string> lru_;
    std::unordered_map<std::string, std::pair<Cached, std::list<std::string>::iterator>> cache_;
};

/// Converts a translation's result columns to writer fields.
std::vector<votable::Field> fields_of(const std::vector<adql::ColumnInfo>& columns);

}  // namespace vo::server
