// ADQL query execution on a read-only SQLite store, rows streamed to a writer.
#include "server/query.hpp"

#include <sqlite3.h>

namespace vo::server {

namespace {

/// RowSource over a stepped sqlite3_stmt. The first step is done by
/// `prime()` so that errors before the first row can still become an HTTP
/// error status.
class StatementSource final : public votable::RowSource {
public:
    StatementSource(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

    /// Steps to the first row. Throws QueryError.
    void prime() {
        have_row_ = step();
        primed_ = true;
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
        if (rc == SQLITE_INTERRUPT) throw QueryError("query interrupted (time limit reached or client gone)", false);
        // Errors raised by the ADQL SQL functions (sqlite3_result_error) come
        // back as SQLITE_ERROR with the function's message: the query's fault.
        throw QueryError(sqlite3_errmsg(db_), rc == SQLITE_ERROR);
    }

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    bool have_row_ = false;
    bool primed_ = false;
};

struct ProgressContext {
    const std::atomic<bool>* cancel;
    std::chrono::steady_clock::time_point deadline;
};

int progress_handler(void* p) {
    const auto* ctx = static_cast<const ProgressContext*>(p);
    if (ctx->cancel && ctx->cancel->load(std::memory_order_relaxed)) return 1;
    return std::chrono::steady_clock::now() > ctx->deadline ? 1 : 0;
}

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

QueryEngine::QueryEngine(const std::string& database) : store_(obscore::Store::open_read_only(database)) {}

QueryEngine::~QueryEngine() {
    for (auto& [key, entry] : cache_) sqlite3_finalize(entry.first.stmt);
}

QueryEngine::Cached& QueryEngine::prepare(const std::string& adql, std::int64_t row_limit) {
    std::string key = std::to_string(row_limit) + '\n' + adql;
    if (auto it = cache_.find(key); it != cache_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.second);
        return it->second.first;
    }
    adql::TranslateOptions options;
    options.row_limit = row_limit;
    Cached entry;
    entry.translation = adql::translate_sqlite(adql, store_->catalog(), options);
    sqlite3* db = store_->db();
    if (sqlite3_prepare_v2(db, entry.translation.sql.c_str(), static_cast<int>(entry.translation.sql.size()),
                           &entry.stmt, nullptr) != SQLITE_OK) {
        std::string msg = sqlite3_errmsg(db);
        sqlite3_finalize(entry.stmt);
        throw QueryError("cannot run the query: " + msg, true);
    }
    constexpr std::size_t kCacheSize = 64;
    if (cache_.size() >= kCacheSize) {
        auto victim = cache_.find(lru_.back());
        sqlite3_finalize(victim->second.first.stmt);
        cache_.erase(victim);
        lru_.pop_back();
    }
    lru_.push_front(key);
    auto [it, _] = cache_.emplace(std::move(key), std::make_pair(std::move(entry), lru_.begin()));
    return it->second.first;
}

QueryOutcome QueryEngine::run(const QueryRequest& request, const std::function<void()>& on_start, votable::Sink sink) {
    const std::int64_t maxrec = std::max<std::int64_t>(0, request.maxrec);
    Cached& q = prepare(request.adql, maxrec == INT64_MAX ? maxrec : maxrec + 1);
    const auto fields = fields_of(q.translation.columns);
    sqlite3* db = store_->db();
    QueryOutcome outcome;

    // MAXREC=0: metadata only, with the overflow marker (DALI 1.1 section
    // 3.4.4); the query is translated (so it is checked) but not executed.
    if (maxrec == 0) {
        if (on_start) on_start();
        auto writer = votable::make_writer(request.format, std::move(sink));
        writer->begin(fields, request.infos);
        writer->end(true);
        outcome.overflow = true;
        outcome.bytes = writer->bytes();
        return outcome;
    }

    ProgressContext ctx{request.cancel, request.deadline};
    sqlite3_progress_handler(db, 20000, progress_handler, &ctx);
    RunGuard guard{db, q.stmt};
    StatementSource source(db, q.stmt);
    source.prime();  // errors here are still reported with an HTTP error status

    if (on_start) on_start();
    auto writer = votable::make_writer(request.format, std::move(sink));
    writer->begin(fields, request.infos);
    try {
        // Overflow only when MAXREC cut the result, not TOP (TAP 1.1 section 2.7.4).
        const bool top_limits = q.translation.top && *q.translation.top <= maxrec;
        const auto r = votable::stream_rows(source, *writer, top_limits ? std::nullopt : std::optional(maxrec));
        outcome.rows = r.rows;
        outcome.overflow = r.overflow;
        writer->end(r.overflow);
    } catch (const QueryError& e) {
        writer->end_with_error(e.what());
    }
    outcome.bytes = writer->bytes();
    return outcome;
}

}  // namespace vo::server
