// ADQL query execution on a read-only SQLite store, rows streamed to a writer.
#include "server/query.hpp"

#include <sqlite3.h>

#include "server/datalink.hpp"
#include "server/params.hpp"

#include <algorithm>

namespace vo::server {

namespace {

/// RowSource over a stepped sqlite3_stmt. The first step is done by
/// `prime()` so that errors before the first row can still become an HTTP
/// error status.
struct ProgressContext {
    const std::atomic<bool>* cancel;
    std::chrono::steady_clock::time_point deadline;
    std::optional<std::chrono::steady_clock::time_point> first_row_by;  // cleared once a row is there
    bool express_expired = false;
    bool deadline_passed = false;
};

int progress_handler(void* p) {
    auto* ctx = static_cast<ProgressContext*>(p);
    if (ctx->cancel && ctx->cancel->load(std::memory_order_relaxed)) return 1;
    const auto now = std::chrono::steady_clock::now();
    if (ctx->first_row_by && now > *ctx->first_row_by) {
        ctx->express_expired = true;
        return 1;
    }
    if (now > ctx->deadline) {
        ctx->deadline_passed = true;
        return 1;
    }
    return 0;
}

class StatementSource final : public votable::RowSource {
public:
    StatementSource(sqlite3* db, sqlite3_stmt* stmt, ProgressContext& ctx, const QueryRequest& request,
                    const EngineLimits& limits)
        : db_(db), stmt_(stmt), ctx_(ctx), request_(request), limits_(limits) {}

    /// Steps to the first row. Throws QueryError, or ExpressExpired when the
    /// express time ran out first.
    void prime() {
        have_row_ = step();
        primed_ = true;
        ctx_.first_row_by.reset();  // from now on the query runs to its end
    }

    bool next() override {
        if (primed_) {
            primed_ = false;
            return have_row_;
        }
        if (!have_row_) return false;
        have_row_ = step();
        return have_row_;
    }

    votable::Cell cell(std::size_t i) override {
        const int col = static_cast<int>(i);
        votable::Cell c;
        switch (sqlite3_column_type(stmt_, col)) {
        case SQLITE_INTEGER:
            c.kind = votable::CellKind::integer;
            c.integer = sqlite3_column_int64(stmt_, col);
            break;
        case SQLITE_FLOAT:
            c.kind = votable::CellKind::real;
            c.real = sqlite3_column_double(stmt_, col);
            break;
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
            c.kind = votable::CellKind::text;
            c.text = std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
            break;
        }
        default:
            break;
        }
        return c;
    }

private:
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        if (rc == SQLITE_INTERRUPT) {
            if (ctx_.express_expired) throw ExpressExpired();
            if (ctx_.deadline_passed)
                throw QueryError("query stopped: it ran longer than " + request_.deadline_reason +
                                     "; narrow it (TOP, a tighter WHERE) or run it asynchronously",
                                 true);
            throw QueryError("query interrupted (the client went away)", false);
        }
        if (rc == SQLITE_TOOBIG)
            throw QueryError("query stopped: a value it computes is larger than the limit of " +
                                 std::to_string(limits_.max_cell_bytes) + " bytes per value (limits.max_cell_bytes)",
                             true);
        if (rc == SQLITE_NOMEM)
            throw QueryError("query stopped: it needs more memory than the limit of " +
                                 std::to_string(limits_.query_memory_bytes) +
                                 " bytes shared by all running queries (limits.query_memory_bytes)",
                             true);
        // Errors raised by the ADQL SQL functions (sqlite3_result_error) come
        // back as SQLITE_ERROR with the function's message: the query's fault.
        throw QueryError(sqlite3_errmsg(db_), rc == SQLITE_ERROR);
    }

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    ProgressContext& ctx_;
    const QueryRequest& request_;
    const EngineLimits& limits_;
    bool have_row_ = false;
    bool primed_ = false;
};

/// Resets the statement and the progress handler whatever happens.
struct RunGuard {
    sqlite3* db;
    sqlite3_stmt* stmt;
    ~RunGuard() {
        sqlite3_reset(stmt);
        sqlite3_progress_handler(db, 0, nullptr, nullptr);
    }
};

}  // namespace

std::vector<votable::Field> fields_of(const std::vector<adql::ColumnInfo>& columns) {
    std::vector<votable::Field> fields;
    fields.reserve(columns.size());
    for (const auto& c : columns)
        fields.push_back({c.name, c.datatype, c.arraysize, c.xtype, c.unit, c.ucd, c.utype, c.description});
    return fields;
}

QueryEngine::QueryEngine(const std::string& database, EngineLimits limits)
    : store_(obscore::Store::open_read_only(database)), limits_(limits) {
    // Issue 7 item 3: no string or blob (ivo_string_agg, ||, a cell) beyond
    // the configured size; SQLite answers SQLITE_TOOBIG.
    sqlite3_limit(store_->db(), SQLITE_LIMIT_LENGTH,
                  static_cast<int>(std::min<std::int64_t>(limits_.max_cell_bytes, 0x7fffffff)));
}

QueryEngine::~QueryEngine() {
    for (auto& [key, entry] : cache_) sqlite3_finalize(entry.first.stmt);
    sqlite3_finalize(transient_.stmt);
}

namespace {
std::size_t entry_bytes(const std::string& key, const adql::Translation& t) {
    return key.size() + t.sql.size() + 256 * t.columns.size() + 512;
}
}  // namespace

QueryEngine::Cached& QueryEngine::prepare(const std::string& adql, std::int64_t row_limit) {
    std::string key = std::to_string(row_limit) + '\n' + adql;
    if (auto it = cache_.find(key); it != cache_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.second);
        return it->second.first;
    }
    adql::TranslateOptions options;
    options.row_limit = row_limit;
    options.limits = limits_.adql;
    Cached entry;
    entry.translation = adql::translate_sqlite(adql, store_->catalog(), options);
    sqlite3* db = store_->db();
    if (sqlite3_prepare_v2(db, entry.translation.sql.c_str(), static_cast<int>(entry.translation.sql.size()),
                           &entry.stmt, nullptr) != SQLITE_OK) {
        std::string msg = sqlite3_errmsg(db);
        sqlite3_finalize(entry.stmt);
        throw QueryError("cannot run the query: " + msg, true);
    }
    // Issue 7 item 3: the cache is bounded in bytes; a query larger than an
    // eighth of it is not kept at all (its statement lives until the next one).
    const std::size_t bytes = entry_bytes(key, entry.translation);
    if (bytes > limits_.cache_bytes / 8) {
        sqlite3_finalize(transient_.stmt);
        transient_ = std::move(entry);
        return transient_;
    }
    while (!cache_.empty() && cache_used_ + bytes > limits_.cache_bytes) {
        auto victim = cache_.find(lru_.back());
        cache_used_ -= entry_bytes(victim->first, victim->second.first.translation);
        sqlite3_finalize(victim->second.first.stmt);
        cache_.erase(victim);
        lru_.pop_back();
    }
    cache_used_ += bytes;
    lru_.push_front(key);
    auto [it, _] = cache_.emplace(std::move(key), std::make_pair(std::move(entry), lru_.begin()));
    return it->second.first;
}

std::int64_t QueryEngine::table_rows(const std::string& table) {
    if (auto it = table_rows_.find(table); it != table_rows_.end()) return it->second;
    std::int64_t n = 1000;
    sqlite3_stmt* s = nullptr;
    std::string quoted = "\"";
    for (char c : table) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    quoted += '"';
    const std::string sql = "SELECT COUNT(*) FROM " + quoted;
    if (sqlite3_prepare_v2(store_->db(), sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = std::max<std::int64_t>(1, sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    table_rows_[table] = n;
    return n;
}

void QueryEngine::refresh() {
    if (!store_->refresh_if_changed()) return;
    // An ingest committed: the catalogue was reloaded; translations, plans
    // and row counts made before it are dropped.
    for (auto& [key, entry] : cache_) sqlite3_finalize(entry.first.stmt);
    cache_.clear();
    lru_.clear();
    cache_used_ = 0;
    sqlite3_finalize(transient_.stmt);
    transient_ = Cached{};
    table_rows_.clear();
}

double QueryEngine::estimate_cost(const std::string& adql, std::int64_t maxrec) {
    refresh();
    maxrec = std::max<std::int64_t>(0, maxrec);
    Cached& q = prepare(adql, maxrec == INT64_MAX ? maxrec : maxrec + 1);
    if (q.cost) return *q.cost;  // a repeated query: no second EXPLAIN
    const std::string sql = "EXPLAIN QUERY PLAN " + q.translation.sql;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(store_->db(), sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK) {
        sqlite3_finalize(s);
        return 1e300;  // cannot tell: not express
    }
    double cost = 1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const auto* d = reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
        const std::string detail = d ? d : "";
        // "SCAN obscore", "SCAN t0", "SCAN (subquery-1)", "SCAN adql_s2_cover VIRTUAL TABLE ..."
        if (detail.rfind("SCAN ", 0) != 0 || detail.rfind("SCAN CONSTANT ROW", 0) == 0) continue;
        std::string table = detail.substr(5, detail.find(' ', 5) == std::string::npos ? std::string::npos
                                                                                           : detail.find(' ', 5) - 5);
        const bool virtual_or_sub = detail.find("VIRTUAL TABLE") != std::string::npos || table.empty() ||
                                    table[0] == '(' || detail.find("CO-ROUTINE") != std::string::npos;
        double rows = 1000;
        if (!virtual_or_sub) {
            // The plan names the alias when there is one ("obscore" AS "t0"):
            // map it back to the published table it stands for.
            for (const auto& t : store_->catalog().tables())
                if (q.translation.sql.find('"' + t.physical + "\" AS \"" + table + '"') != std::string::npos) {
                    table = t.physical;
                    break;
                }
            rows = static_cast<double>(table_rows(table));
        }
        cost *= rows;
    }
    sqlite3_finalize(s);
    q.cost = cost;
    return cost;
}

namespace {

/// The store's tables and a query's TAP_UPLOAD tables (TAP 1.1 section 2.5).
class UploadCatalog final : public adql::Catalog {
public:
    UploadCatalog(const adql::Catalog& base, const std::vector<std::unique_ptr<obscore::UploadTable>>& uploads)
        : tables_(base.tables()) {
        for (const auto& u : uploads) tables_.push_back(u->info());
    }
    const std::vector<adql::TableInfo>& tables() const override { return tables_; }

private:
    std::vector<adql::TableInfo> tables_;
};

/// A statement of one run only (queries with uploads are never cached: the
/// tables they name exist for that run).
struct OwnedStatement {
    sqlite3_stmt* stmt = nullptr;
    ~OwnedStatement() { sqlite3_finalize(stmt); }
};

}  // namespace

QueryOutcome QueryEngine::run(const QueryRequest& request, const std::function<void()>& on_start, votable::Sink sink) {
    refresh();
    const std::int64_t maxrec = std::max<std::int64_t>(0, request.maxrec);
    const std::int64_t row_limit = maxrec == INT64_MAX ? maxrec : maxrec + 1;
    if (request.uploads.empty()) return run_prepared(prepare(request.adql, row_limit), request, on_start, std::move(sink));

    // Declared before the statement, so that the statement is finalized
    // before its tables are dropped.
    std::vector<std::unique_ptr<obscore::UploadTable>> tables;
    for (const auto& u : request.uploads) {
        try {
            tables.push_back(load_upload(*store_, u, request.upload_limits));
        } catch (const UploadError& e) {
            throw QueryError(e.what(), true);
        }
        if (request.cancel && request.cancel->load()) throw QueryError("query interrupted (the client went away)", false);
    }
    const UploadCatalog catalog(store_->catalog(), tables);
    adql::TranslateOptions options;
    options.row_limit = row_limit;
    options.limits = limits_.adql;
    Cached q;
    q.translation = adql::translate_sqlite(request.adql, catalog, options);
    OwnedStatement owned;
    sqlite3* db = store_->db();
    if (sqlite3_prepare_v2(db, q.translation.sql.c_str(), static_cast<int>(q.translation.sql.size()), &owned.stmt,
                           nullptr) != SQLITE_OK)
        throw QueryError(std::string("cannot run the query: ") + sqlite3_errmsg(db), true);
    q.stmt = owned.stmt;
    return run_prepared(q, request, on_start, std::move(sink));
}

QueryOutcome QueryEngine::run_prepared(Cached& q, const QueryRequest& request, const std::function<void()>& on_start,
                                       votable::Sink sink) {
    const std::int64_t maxrec = std::max<std::int64_t>(0, request.maxrec);
    auto fields = fields_of(q.translation.columns);
    // DataLink 1.1 section 4.5: the {links} descriptor refers to the
    // obs_publisher_did FIELD by its XML ID (VOTable writers only emit it).
    std::string descriptor;
    if (!request.datalink_base_url.empty()) {
        for (auto& f : fields) {
            if (!iequals(f.name, "obs_publisher_did")) continue;
            f.id = "obs_publisher_did";
            descriptor = datalink_service_descriptor(request.datalink_base_url, f.id);
            break;
        }
    }
    descriptor += request.extra_resources;
    sqlite3* db = store_->db();
    QueryOutcome outcome;

    // MAXREC=0: metadata only, with the overflow marker (DALI 1.1 section
    // 3.4.4); the query is translated (so it is checked) but not executed.
    if (maxrec == 0) {
        if (on_start) on_start();
        auto writer = votable::make_writer(request.format, std::move(sink));
        writer->begin(fields, request.infos);
        writer->set_extra_resources(descriptor);
        writer->end(true);
        outcome.overflow = true;
        outcome.bytes = writer->bytes();
        return outcome;
    }

    ProgressContext ctx{request.cancel, request.deadline, request.first_row_by};
    sqlite3_progress_handler(db, 20000, progress_handler, &ctx);
    RunGuard guard{db, q.stmt};
    StatementSource source(db, q.stmt, ctx, request, limits_);
    source.prime();  // errors here are still reported with an HTTP error status

    if (on_start) on_start();
    auto writer = votable::make_writer(request.format, std::move(sink));
    writer->begin(fields, request.infos);
    writer->set_extra_resources(descriptor);
    try {
        // Overflow only when MAXREC cut the result, not TOP (TAP 1.1 section 2.7.4).
        const bool top_limits = q.translation.top && *q.translation.top <= maxrec;
        const auto r = votable::stream_rows(source, *writer, top_limits ? std::nullopt : std::optional(maxrec));
        outcome.rows = r.rows;
        outcome.overflow = r.overflow;
        writer->end(r.overflow);
    } catch (const QueryError& e) {
        writer->end_with_error(e.what());
        outcome.error = e.what();
    }
    outcome.bytes = writer->bytes();
    return outcome;
}

}  // namespace vo::server
