// The SQLite query backend (obscore/sqlite_backend.hpp): prepared statements
// stepped under a progress handler (cancellation, deadlines), the plan-based
// cost estimate, TEMP upload tables in the catalogue while they live.
#include "obscore/sqlite_backend.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "obscore/store.hpp"
#include "obscore/upload_table.hpp"

namespace vo::obscore {

namespace {

/// What the progress handler checks during one run.
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

/// SQLite VM steps between two checks of the progress handler.
constexpr int kProgressSteps = 20000;

/// One run of a prepared statement. The constructor installs the progress
/// handler, the destructor resets the statement and removes the handler,
/// whatever happens. prime() does the first step, so that errors before the
/// first row are thrown by PreparedQuery::execute.
class SqliteCursor final : public ResultCursor {
public:
    SqliteCursor(sqlite3* db, sqlite3_stmt* stmt, const ExecuteControl& control, const BackendLimits& limits)
        : db_(db),
          stmt_(stmt),
          ctx_{control.cancel, control.deadline, control.first_row_by},
          deadline_reason_(control.deadline_reason),
          limits_(limits) {
        row_.resize(static_cast<std::size_t>(sqlite3_column_count(stmt_)));
        sqlite3_progress_handler(db_, kProgressSteps, progress_handler, &ctx_);
    }
    ~SqliteCursor() override {
        sqlite3_reset(stmt_);
        sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    }
    SqliteCursor(const SqliteCursor&) = delete;
    SqliteCursor& operator=(const SqliteCursor&) = delete;

    /// Steps to the first row. Throws QueryError, or FirstRowExpired when the
    /// first-row time ran out first.
    void prime() {
        have_row_ = step();
        primed_ = true;
        ctx_.first_row_by.reset();  // from now on the query runs to its end
    }

    bool next() override {
        if (primed_) {
            primed_ = false;
        } else {
            if (!have_row_) return false;
            have_row_ = step();
        }
        if (have_row_) read_row();
        return have_row_;
    }

private:
    /// The values of the current row into row_ (text views valid until the next step).
    ///
    /// Read through sqlite3_column_value and the sqlite3_value_* accessors:
    /// the sqlite3_column_* calls each enter the connection's mutex and check
    /// for a failed allocation, four calls per cell; the connection is opened
    /// SQLITE_OPEN_NOMUTEX and used by one thread (Store::open_read_only), so
    /// the value is as protected as the column calls would make it, and the
    /// result is the same (issue 14: a third of the stepping time went there).
    void read_row() {
        for (std::size_t i = 0; i < row_.size(); ++i) {
            sqlite3_value* v = sqlite3_column_value(stmt_, static_cast<int>(i));
            Cell& c = row_[i];
            switch (sqlite3_value_type(v)) {
                case SQLITE_INTEGER:
                    c.kind = Cell::Kind::integer;
                    c.integer = sqlite3_value_int64(v);
                    break;
                case SQLITE_FLOAT:
                    c.kind = Cell::Kind::real;
                    c.real = sqlite3_value_double(v);
                    break;
                case SQLITE_TEXT:
                case SQLITE_BLOB: {
                    // text first, then its length (SQLite's documented order)
                    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
                    c.kind = Cell::Kind::text;
                    c.text = std::string_view(p ? p : "", p ? static_cast<std::size_t>(sqlite3_value_bytes(v)) : 0);
                    break;
                }
                default: c.kind = Cell::Kind::null; break;
            }
        }
    }

    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        if (rc == SQLITE_INTERRUPT) {
            if (ctx_.express_expired) throw FirstRowExpired();
            if (ctx_.deadline_passed)
                throw QueryError("query stopped: it ran longer than " + deadline_reason_ +
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
    ProgressContext ctx_;
    std::string deadline_reason_;
    const BackendLimits& limits_;
    bool have_row_ = false;
    bool primed_ = false;
};

/// The published tables plus the live upload tables (TAP 1.1 section 2.5).
class CombinedCatalog final : public adql::Catalog {
public:
    const std::vector<adql::TableInfo>& tables() const override { return tables_; }
    std::vector<adql::TableInfo> tables_;
};

class SqliteBackend;

/// A statement prepared from one translation; finalized with this object.
class SqlitePrepared final : public PreparedQuery {
public:
    SqlitePrepared(SqliteBackend& backend, adql::Translation translation, sqlite3_stmt* stmt)
        : backend_(backend), translation_(std::move(translation)), stmt_(stmt) {}
    ~SqlitePrepared() override { sqlite3_finalize(stmt_); }
    SqlitePrepared(const SqlitePrepared&) = delete;
    SqlitePrepared& operator=(const SqlitePrepared&) = delete;

    const adql::Translation& translation() const override { return translation_; }
    double estimate_cost() override;
    std::unique_ptr<ResultCursor> execute(const ExecuteControl& control) override;

private:
    SqliteBackend& backend_;
    adql::Translation translation_;
    sqlite3_stmt* stmt_;
};

/// An upload table registered in its backend's catalogue while it lives.
class LiveUpload final : public RequestTable {
public:
    LiveUpload(SqliteBackend& backend, std::unique_ptr<UploadTable> table)
        : backend_(backend), table_(std::move(table)) {}
    ~LiveUpload() override;
    LiveUpload(const LiveUpload&) = delete;
    LiveUpload& operator=(const LiveUpload&) = delete;

    void insert(const std::vector<Cell>& row) override { table_->insert(row); }
    void finish() override { table_->finish(); }
    const adql::TableInfo& info() const override { return table_->info(); }
    std::int64_t rows() const override { return table_->rows(); }

private:
    SqliteBackend& backend_;
    std::unique_ptr<UploadTable> table_;  // dropped after the catalogue forgot it
};

class SqliteBackend final : public QueryBackend {
public:
    SqliteBackend(std::unique_ptr<Store> store, const BackendLimits& limits)
        : store_(std::move(store)), limits_(limits) {
        // Issue 7 item 3: no string or blob (ivo_string_agg, ||, a cell) beyond
        // the configured size; SQLite answers SQLITE_TOOBIG.
        sqlite3_limit(store_->db(), SQLITE_LIMIT_LENGTH,
                      static_cast<int>(std::min<std::int64_t>(limits_.max_cell_bytes, 0x7fffffff)));
    }

    const adql::Catalog& catalog() const override {
        return uploads_.empty() ? store_->catalog() : static_cast<const adql::Catalog&>(combined_);
    }

    bool refresh_if_changed() override {
        if (!store_->refresh_if_changed()) return false;
        // An ingest committed: the catalogue was reloaded; row counts made
        // before it are dropped.
        table_rows_.clear();
        rebuild_catalog();
        return true;
    }

    std::vector<ForeignKey> foreign_keys() const override { return store_->foreign_keys(); }
    using QueryBackend::collection_counts;
    std::map<std::string, long long> collection_counts(const RowVisibility& visibility) const override {
        return store_->collection_counts(visibility);
    }
    const std::vector<adql::UdfDecl>& udfs() const override { return adql::sqlite_udfs(); }

    adql::Translation translate(std::string_view adql, const adql::TranslateOptions& options) const override {
        return adql::translate_sqlite(adql, catalog(), options);
    }

    std::unique_ptr<PreparedQuery> prepare(adql::Translation translation) override {
        sqlite3* db = store_->db();
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, translation.sql.c_str(), static_cast<int>(translation.sql.size()), &stmt, nullptr) !=
            SQLITE_OK) {
            std::string msg = sqlite3_errmsg(db);
            sqlite3_finalize(stmt);
            throw QueryError("cannot run the query: " + msg, true);
        }
        return std::make_unique<SqlitePrepared>(*this, std::move(translation), stmt);
    }

    std::unique_ptr<RequestTable> add_upload_table(const std::string& name,
                                                   std::vector<adql::ColumnInfo> columns) override {
        auto table = std::make_unique<LiveUpload>(*this, UploadTable::create(*store_, name, std::move(columns)));
        uploads_.push_back(table.get());
        rebuild_catalog();
        return table;
    }

    std::map<std::string, std::string> row_filters(const RowVisibility& visibility) const override {
        return visibility_row_filters(visibility, store_->catalog(), AccessSql{});
    }

    using ProductLookup::find_dataproduct_type;
    using ProductLookup::find_did_by_obs_id;
    using ProductLookup::find_product;
    std::optional<ProductFile> find_product(const std::string& did, const RowVisibility& v) const override {
        return store_->find_product(did, v);
    }
    std::optional<std::string> find_dataproduct_type(const std::string& did, const RowVisibility& v) const override {
        return store_->find_dataproduct_type(did, v);
    }
    std::optional<std::string> find_did_by_obs_id(const std::string& obs_id, const RowVisibility& v) const override {
        return store_->find_did_by_obs_id(obs_id, v);
    }

    // For SqlitePrepared and LiveUpload.
    sqlite3* db() const { return store_->db(); }
    const BackendLimits& limits() const { return limits_; }
    void forget(const RequestTable* table) {
        uploads_.erase(std::remove(uploads_.begin(), uploads_.end(), table), uploads_.end());
        rebuild_catalog();
    }
    double plan_cost(const adql::Translation& translation);

private:
    void rebuild_catalog() {
        combined_.tables_.clear();
        if (uploads_.empty()) return;
        combined_.tables_ = store_->catalog().tables();
        for (const auto* u : uploads_) combined_.tables_.push_back(u->info());
    }
    std::int64_t table_rows(const std::string& table);

    std::unique_ptr<Store> store_;
    BackendLimits limits_;
    std::unordered_map<std::string, std::int64_t> table_rows_;
    std::vector<const RequestTable*> uploads_;  // live, in creation order
    CombinedCatalog combined_;                  // used while uploads_ is not empty
};

LiveUpload::~LiveUpload() { backend_.forget(this); }

std::int64_t SqliteBackend::table_rows(const std::string& table) {
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

/// The product, over every full scan of a table in SQLite's EXPLAIN QUERY
/// PLAN, of that table's row count (1,000 for scans of subqueries and virtual
/// tables); indexed searches count 1. An over-estimate for compound queries
/// (their parts multiply), which errs towards the general workers.
double SqliteBackend::plan_cost(const adql::Translation& translation) {
    const std::string sql = "EXPLAIN QUERY PLAN " + translation.sql;
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
        std::string table =
            detail.substr(5, detail.find(' ', 5) == std::string::npos ? std::string::npos : detail.find(' ', 5) - 5);
        const bool virtual_or_sub = detail.find("VIRTUAL TABLE") != std::string::npos || table.empty() ||
                                    table[0] == '(' || detail.find("CO-ROUTINE") != std::string::npos;
        double rows = 1000;
        if (!virtual_or_sub) {
            // The plan names the alias when there is one ("obscore" AS "t0"):
            // map it back to the published table it stands for.
            for (const auto& t : store_->catalog().tables())
                if (translation.sql.find('"' + t.physical + "\" AS \"" + table + '"') != std::string::npos) {
                    table = t.physical;
                    break;
                }
            rows = static_cast<double>(table_rows(table));
        }
        cost *= rows;
    }
    sqlite3_finalize(s);
    return cost;
}

double SqlitePrepared::estimate_cost() { return backend_.plan_cost(translation_); }

std::unique_ptr<ResultCursor> SqlitePrepared::execute(const ExecuteControl& control) {
    auto cursor = std::make_unique<SqliteCursor>(backend_.db(), stmt_, control, backend_.limits());
    cursor->prime();  // errors here are still reported with an HTTP error status
    return cursor;
}

}  // namespace

std::unique_ptr<QueryBackend> open_sqlite_query_backend(const std::string& path, const BackendLimits& limits) {
    return std::make_unique<SqliteBackend>(Store::open_read_only(path), limits);
}

}  // namespace vo::obscore
