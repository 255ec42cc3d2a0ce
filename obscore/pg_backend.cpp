// The PostgreSQL query backend (obscore/pg_backend.hpp).
#include "obscore/pg_backend.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <set>
#include <thread>

#include "adql/bind.hpp"
#include "adql/dialect.hpp"
#include "adql/sql_writer.hpp"
#include "obscore/clock.hpp"
#include "obscore/pg_store.hpp"
#include "obscore/profile.hpp"

namespace vo::obscore {

namespace {

using Clock = std::chrono::steady_clock;

/// Text compared as SQLite compares it (bytes), whatever the database's
/// collation: the release dates against vo_now() (obscore/access.hpp).
constexpr const char* kCollate = " COLLATE \"C\"";

/// SQL quoting as the dialects write it (adql/sql_writer.hpp).
std::string quote_ident(std::string_view s) { return adql::SqlWriter::quote_ident(s); }
std::string quote_literal(std::string_view s) { return adql::SqlWriter::quote_string(s); }

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// A TAP_SCHEMA name without ADQL delimiters ("size" -> size).
std::string undelimit(const std::string& s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
    return s;
}

/// Owns a PGresult.
struct Result {
    PGresult* r = nullptr;
    explicit Result(PGresult* p = nullptr) : r(p) {}
    ~Result() { PQclear(r); }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result(Result&& o) noexcept : r(o.r) { o.r = nullptr; }
    Result& operator=(Result&& o) noexcept {
        if (this != &o) {
            PQclear(r);
            r = o.r;
            o.r = nullptr;
        }
        return *this;
    }
    ExecStatusType status() const { return r ? PQresultStatus(r) : PGRES_FATAL_ERROR; }
    std::string sqlstate() const {
        const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        return s ? s : "";
    }
    std::string message() const {
        const char* s = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
        return s ? s : "";
    }
    std::string text(int row, int col) const { return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col); }
    int rows() const { return PQntuples(r); }
};

/// How a result column is read: integers, reals, or text.
enum class Read { integer, real, text };
Read read_as(const adql::ColumnInfo& c) {
    if (!c.arraysize.empty() && c.arraysize != "1") return Read::text;
    const std::string& t = c.datatype;
    if (t == "short" || t == "int" || t == "long" || t == "boolean" || t == "unsignedByte") return Read::integer;
    if (t == "float" || t == "double") return Read::real;
    return Read::text;
}

/// The catalogue read from TAP_SCHEMA (TAP 1.1 section 4).
class PgCatalog final : public adql::Catalog {
public:
    std::vector<adql::TableInfo> tables_;
    const std::vector<adql::TableInfo>& tables() const override { return tables_; }
};

class PgBackend;

/// One run of a query in single-row mode: of the prepared statement
/// `statement`, or, when `statement` is empty, of translation.sql as a
/// one-shot statement (the extended protocol's unnamed statement: parsed,
/// planned and run in one round trip).
class PgCursor final : public ResultCursor {
public:
    PgCursor(PgBackend& backend, const std::string& statement, const adql::Translation& translation,
             const ExecuteControl& control);
    ~PgCursor() override;
    PgCursor(const PgCursor&) = delete;
    PgCursor& operator=(const PgCursor&) = delete;

    /// Waits for the first row (or the end). Throws QueryError or FirstRowExpired.
    void prime();
    bool next() override;

private:
    /// The next result of the connection, waiting with cancellation checks;
    /// nullptr at the end.
    PGresult* wait_result();
    void fail(const Result& r);

    PgBackend& backend_;
    const adql::Translation& translation_;
    std::vector<Read> reads_;
    ExecuteControl control_;
    Result res_;
    /// The cells of res_'s row into res_.
    void read_row();
    Cell cell_of(std::size_t i);
    bool primed_ = false;
    bool done_ = false;
    bool cancelled_for_ = false;  // PQcancel sent
    enum class Why { none, cancel, deadline, express } why_ = Why::none;
    std::string text_;
};

/// A translation ready to run. It becomes a server-side prepared statement
/// (PREPARE, with its generic plan made by EXPLAIN EXECUTE in the same round
/// trip) only when it is worth it: when the express lane asks for its cost,
/// or when it runs a second time (a repeated query then skips parse and
/// plan). A first run without a cost estimate is a one-shot statement: one
/// round trip, one plan, where PREPARE + EXPLAIN EXECUTE + EXECUTE took two
/// and about 0.4 ms more of the server's time (bench/README.md, issue 11).
class PgPrepared final : public PreparedQuery {
public:
    PgPrepared(PgBackend& backend, adql::Translation translation, std::string name)
        : backend_(backend), translation_(std::move(translation)), name_(std::move(name)) {}
    ~PgPrepared() override;
    const adql::Translation& translation() const override { return translation_; }
    double estimate_cost() override;
    std::unique_ptr<ResultCursor> execute(const ExecuteControl& control) override {
        if (!prepared_ && ran_) prepare_on_server();
        ran_ = true;
        auto c = std::make_unique<PgCursor>(backend_, prepared_ ? name_ : std::string(), translation_, control);
        c->prime();
        return c;
    }
    const std::string& name() const { return name_; }

private:
    /// PREPARE + EXPLAIN EXECUTE (one round trip); cost_ set. Throws
    /// DatabaseUnavailable or QueryError (a client error) as
    /// QueryBackend::prepare documents.
    void prepare_on_server();
    PgBackend& backend_;
    adql::Translation translation_;
    std::string name_;
    bool prepared_ = false;  // the statement name_ exists on the connection
    bool ran_ = false;       // run once already (one-shot)
    double cost_ = 1e300;    // the planner's estimate, once prepared_
};

class PgUpload;

class PgBackend final : public QueryBackend {
public:
    PgBackend(std::string url, BackendLimits limits) : url_(std::move(url)), limits_(limits) {
        try {
            connect();
            load_catalog();  // also fails on a database without the voserver layout
        } catch (...) {
            PQfinish(conn_);  // the destructor does not run for a constructor that throws
            conn_ = nullptr;
            throw;
        }
    }
    ~PgBackend() override { PQfinish(conn_); }

    const adql::Catalog& catalog() const override {
        return uploads_.empty() ? static_cast<const adql::Catalog&>(catalog_) : combined_;
    }
    /// Reads data_version only when a writer said it changed (NOTIFY
    /// kPgDataVersionChannel, which every writer of ours sends with its
    /// commit), when the connection is new, when LISTEN is impossible (a
    /// hot standby), or when kPgDataVersionPoll has passed since the last
    /// read (a writer that does not notify); otherwise no round trip.
    bool refresh_if_changed() override {
        ensure_connected();
        bool notified = false;
        if (PQconsumeInput(conn_) == 1)
            while (PGnotify* n = PQnotifies(conn_)) {
                notified = true;
                PQfreemem(n);
            }
        const auto now = Clock::now();
        if (listening_ && !notified && version_ >= 0 && now - version_read_ < kPgDataVersionPoll) return false;
        version_read_ = now;
        const long long v = data_version();
        if (v == version_) return false;
        load_catalog();
        return true;
    }
    std::vector<ForeignKey> foreign_keys() const override;
    using QueryBackend::collection_counts;
    std::map<std::string, long long> collection_counts(const RowVisibility& visibility) const override {
        std::map<std::string, long long> out;
        Result r = query("SELECT coalesce(obs_collection, ''), count(*) FROM ivoa.obscore WHERE TRUE" +
                         visible_rows(visibility, "") + " GROUP BY 1");
        for (int i = 0; i < r.rows(); ++i) out[r.text(i, 0)] = std::stoll(r.text(i, 1));
        return out;
    }
    const std::vector<adql::UdfDecl>& udfs() const override { return adql::builtin_udfs(); }
    adql::Translation translate(std::string_view adql, const adql::TranslateOptions& options) const override {
        return adql::translate(adql, catalog(), adql::postgres_dialect(), options);
    }
    /// No round trip: the statement is prepared on the server when its cost
    /// is asked for or it runs again (PgPrepared); the database's errors come
    /// from those, or from the run.
    std::unique_ptr<PreparedQuery> prepare(adql::Translation translation) override {
        return std::make_unique<PgPrepared>(*this, std::move(translation), "vo" + std::to_string(++statements_));
    }
    std::unique_ptr<RequestTable> add_upload_table(const std::string& name,
                                                   std::vector<adql::ColumnInfo> columns) override;

    std::map<std::string, std::string> row_filters(const RowVisibility& visibility) const override {
        AccessSql sql;
        sql.collate = kCollate;
        return visibility_row_filters(visibility, catalog_, sql);
    }

    using ProductLookup::find_dataproduct_type;
    using ProductLookup::find_did_by_obs_id;
    using ProductLookup::find_product;
    std::optional<ProductFile> find_product(const std::string& did, const RowVisibility& v) const override {
        Result r = query(
            "SELECT f.path, f.size_bytes, f.mtime, coalesce(f.image_hdus, ''), o.obs_collection, o.proposal_id, "
            "o.obs_release_date FROM voserver.files AS f LEFT JOIN ivoa.obscore AS o "
            "ON o.obs_publisher_did = f.obs_publisher_did WHERE f.obs_publisher_did = " +
            quote_literal(did) + visible_rows(v, "o."));
        if (r.rows() == 0) return std::nullopt;
        ProductFile f;
        f.path = r.text(0, 0);
        f.size_bytes = std::stoll(r.text(0, 1).empty() ? "0" : r.text(0, 1));
        f.mtime = std::stoll(r.text(0, 2).empty() ? "0" : r.text(0, 2));
        const std::string hdus = r.text(0, 3);
        for (std::size_t at = 0; at < hdus.size();) {
            std::size_t end = hdus.find_first_of(", ", at);
            if (end == std::string::npos) end = hdus.size();
            if (end > at) f.image_hdus.push_back(std::stoi(hdus.substr(at, end - at)));
            at = end + 1;
        }
        auto optional_text = [&](int col) -> std::optional<std::string> {
            if (PQgetisnull(r.r, 0, col)) return std::nullopt;
            return r.text(0, col);
        };
        f.obs_collection = optional_text(4);
        f.proposal_id = optional_text(5);
        f.obs_release_date = optional_text(6);
        return f;
    }
    std::optional<std::string> find_dataproduct_type(const std::string& did, const RowVisibility& v) const override {
        Result r = query("SELECT coalesce(dataproduct_type, '') FROM ivoa.obscore WHERE obs_publisher_did = " +
                         quote_literal(did) + visible_rows(v, ""));
        if (r.rows() == 0) return std::nullopt;
        return r.text(0, 0);
    }
    std::optional<std::string> find_did_by_obs_id(const std::string& obs_id, const RowVisibility& v) const override {
        Result r = query("SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = " + quote_literal(obs_id) +
                         visible_rows(v, "") + " LIMIT 2");
        if (r.rows() != 1) return std::nullopt;
        return r.text(0, 0);
    }

    // For the cursor, prepared queries and uploads.
    PGconn* conn() { return conn_; }
    /// Reconnects after a lost connection (prepared statements are lost with
    /// it: the catalogue is reloaded, so the server drops its cached ones).
    void ensure_connected() {
        if (!connection_lost()) return;
        PQreset(conn_);
        if (PQstatus(conn_) != CONNECTION_OK)
            throw DatabaseUnavailable("the database is unavailable (" + url_without_password(url_) + ")");
        connect();
        version_ = -2;  // refresh_if_changed() reloads
    }
    const BackendLimits& limits() const { return limits_; }
    bool connection_lost() const { return PQstatus(conn_) != CONNECTION_OK; }
    /// Runs `sql` (no rows expected, or few); throws StoreError on failure.
    Result query(const std::string& sql) const {
        const_cast<PgBackend*>(this)->ensure_connected();
        Result r(PQexec(conn_, sql.c_str()));
        if (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK && r.status() != PGRES_COPY_IN)
            throw StoreError("PostgreSQL store " + url_without_password(url_) + ": " + r.message());
        return r;
    }
    /// Before each run: the base URL of access_url, the archive's clock of
    /// vo_now() (issue 12; set when it changed, i.e. at most once a second)
    /// and the time limit.
    void before_run(const ExecuteControl& control) {
        ensure_connected();
        std::string set;
        const std::string base = public_base_url();
        if (base != base_url_) {
            set += "SELECT set_config('voserver.base_url', " + quote_literal(base) + ", false);";
            base_url_ = base;
        }
        const std::string now = iso_utc(archive_now());
        if (now != now_) {
            set += "SELECT set_config('voserver.now', " + quote_literal(now) + ", false);";
            now_ = now;
        }
        // statement_timeout: a backstop for the deadline (0: none), 1-2 s
        // after it, in whole seconds, so that queries with the same time
        // limit set it once, not with every run (a round trip each)
        long long ms = 0;
        if (control.deadline != Clock::time_point::max()) {
            const long long left =
                std::chrono::duration_cast<std::chrono::milliseconds>(control.deadline - Clock::now()).count();
            ms = (std::max<long long>(0, left) / 1000 + 2) * 1000;
        }
        if (ms != timeout_ms_) {
            set += "SET statement_timeout = " + std::to_string(ms) + ";";
            timeout_ms_ = ms;
        }
        if (!set.empty()) query(set);
    }
    void forget(const PgUpload* u);
    /// Prepares `sql` as statement `name` (the extended protocol: one
    /// statement only) and plans it with EXPLAIN EXECUTE in the same round
    /// trip (libpq pipeline mode, PostgreSQL 15 manual section 34.5): the
    /// statement keeps that plan (a statement without parameters has one
    /// generic plan), so the run that follows does not plan it again.
    /// Returns the PREPARE's result; `cost` gets the plan's total cost, 1e300
    /// when it cannot tell (the run then reports a planning error).
    Result prepare_and_explain(const std::string& name, const std::string& sql, double& cost);
    /// Drops prepared statement `name`: with the next ones, in one round
    /// trip for kDeallocateBatch of them (a query cache that is full evicts
    /// a statement for every new one).
    void deallocate(const std::string& name) {
        if (connection_lost()) return;
        unused_statements_ += "DEALLOCATE " + name + ";";
        if (++unused_count_ < kDeallocateBatch) return;
        PQclear(PQexec(conn_, unused_statements_.c_str()));
        unused_statements_.clear();
        unused_count_ = 0;
    }
    const std::string& url() const { return url_; }

private:
    void connect() {
        if (conn_) PQfinish(conn_);
        unused_statements_.clear();  // they went with the old connection
        unused_count_ = 0;
        conn_ = PQconnectdb(url_.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            std::string msg = PQerrorMessage(conn_);
            while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
            PQfinish(conn_);  // a failed connection still owns memory
            conn_ = nullptr;
            throw StoreError("cannot connect to the PostgreSQL store " + url_without_password(url_) + ": " + msg);
        }
        // Queries only read (the reader role can only SELECT anyway); floats
        // print in their shortest exact form.
        Result r(PQexec(conn_,
                        "SET default_transaction_read_only = on; SET extra_float_digits = 1; "
                        "SET client_encoding = 'UTF8'"));
        if (r.status() != PGRES_COMMAND_OK)
            throw StoreError("PostgreSQL store " + url_without_password(url_) + ": " + r.message());
        // the writers' commits (refresh_if_changed); refused on a hot standby
        listening_ = Result(PQexec(conn_, (std::string("LISTEN ") + kPgDataVersionChannel).c_str())).status() ==
                     PGRES_COMMAND_OK;
        base_url_ = "\x01";  // unknown: set before the next run
        now_.clear();
        timeout_ms_ = -1;
    }
    long long data_version() const {
        Result r = query("SELECT value FROM voserver.meta WHERE key = 'data_version'");
        return r.rows() ? std::stoll(r.text(0, 0)) : 0;
    }
    void load_catalog();
    void rebuild_combined();
    /// " AND <visibility_condition>" over `qualifier`'s columns with the
    /// archive's time as a literal, or "" when everything is visible.
    std::string visible_rows(const RowVisibility& visibility, const std::string& qualifier) const {
        if (visibility.everything()) return {};
        const adql::TableInfo* obscore = nullptr;
        for (const auto& t : catalog_.tables_)
            if (t.physical == "ivoa.obscore") obscore = &t;
        if (!obscore)
            throw StoreError("PostgreSQL store " + url_without_password(url_) +
                             ": TAP_SCHEMA does not publish ivoa.obscore");
        AccessSql sql;
        sql.now = quote_literal(iso_utc(archive_now()));
        sql.collate = kCollate;
        try {
            return " AND " + visibility_condition(visibility, *obscore, qualifier, sql);
        } catch (const adql::AdqlError& e) {
            throw StoreError("PostgreSQL store " + url_without_password(url_) + ": " + e.what());
        }
    }

    std::string url_;
    BackendLimits limits_;
    PGconn* conn_ = nullptr;
    PgCatalog catalog_;
    PgCatalog combined_;
    long long version_ = -1;
    Clock::time_point version_read_{};  // when data_version was last read
    bool listening_ = false;            // LISTEN kPgDataVersionChannel succeeded
    long long statements_ = 0;
    static constexpr int kDeallocateBatch = 16;
    std::string unused_statements_;  // DEALLOCATE statements not sent yet
    int unused_count_ = 0;
    std::string base_url_;
    std::string now_;  // voserver.now as last set ("": not set on this connection)
    long long timeout_ms_ = -1;
    std::vector<const PgUpload*> uploads_;
    friend class PgUpload;
};

/// An uploaded table: a TEMP table of the connection (TAP 1.1 section 2.5).
class PgUpload final : public RequestTable {
public:
    PgUpload(PgBackend& backend, const std::string& name, std::vector<adql::ColumnInfo> columns) : backend_(backend) {
        std::set<std::string> seen;
        physical_ = "tap_upload_" + lower(name);
        std::string cols;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            auto& c = columns[i];
            if (!seen.insert(lower(c.name)).second)
                throw StoreError("upload " + name + ": two columns are named " + c.name +
                                 " (names are case-insensitive)");
            c.physical = "c" + std::to_string(i + 1);
            cols += (i ? ", " : "") + quote_ident(c.physical) + " " + pg_column_type(c.datatype, c.arraysize);
        }
        info_.schema = kUploadSchema;
        info_.name = name;
        info_.physical = "pg_temp." + physical_;
        info_.columns = std::move(columns);
        backend_.query("BEGIN READ WRITE; DROP TABLE IF EXISTS pg_temp." + quote_ident(physical_) +
                       "; CREATE TEMP TABLE " + quote_ident(physical_) + " (" + cols + ")");
        Result r = backend_.query("COPY pg_temp." + quote_ident(physical_) + " FROM STDIN");
        copying_ = true;
    }
    ~PgUpload() override {
        if (copying_) {
            PQputCopyEnd(backend_.conn(), "abandoned");
            PQclear(PQgetResult(backend_.conn()));
            PQclear(PQexec(backend_.conn(), "ROLLBACK"));
        } else if (!backend_.connection_lost()) {
            PQclear(PQexec(
                backend_.conn(),
                ("BEGIN READ WRITE; DROP TABLE IF EXISTS pg_temp." + quote_ident(physical_) + "; COMMIT").c_str()));
        }
        backend_.forget(this);
    }
    void insert(const std::vector<Cell>& row) override {
        line_.clear();
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) line_ += '\t';
            const Cell& c = row[i];
            switch (c.kind) {
                case Cell::Kind::null: line_ += "\\N"; break;
                case Cell::Kind::integer: line_ += std::to_string(c.integer); break;
                case Cell::Kind::real: {
                    char buf[32];
                    auto r = std::to_chars(buf, buf + sizeof buf, c.real);
                    line_.append(buf, r.ptr);
                    break;
                }
                case Cell::Kind::text:
                    for (char ch : c.text) {
                        if (ch == '\\')
                            line_ += "\\\\";
                        else if (ch == '\t')
                            line_ += "\\t";
                        else if (ch == '\n')
                            line_ += "\\n";
                        else if (ch == '\r')
                            line_ += "\\r";
                        else
                            line_ += ch;
                    }
                    break;
            }
        }
        line_ += '\n';
        if (PQputCopyData(backend_.conn(), line_.data(), static_cast<int>(line_.size())) != 1)
            throw StoreError(std::string("upload: ") + PQerrorMessage(backend_.conn()));
        ++rows_;
    }
    void finish() override {
        if (!copying_) return;
        copying_ = false;
        if (PQputCopyEnd(backend_.conn(), nullptr) != 1)
            throw StoreError(std::string("upload: ") + PQerrorMessage(backend_.conn()));
        Result r(PQgetResult(backend_.conn()));
        while (PGresult* more = PQgetResult(backend_.conn())) PQclear(more);
        if (r.status() != PGRES_COMMAND_OK) {
            PQclear(PQexec(backend_.conn(), "ROLLBACK"));
            throw StoreError("upload " + info_.name + ": " + r.message());
        }
        backend_.query("ANALYZE pg_temp." + quote_ident(physical_) + "; COMMIT");
    }
    const adql::TableInfo& info() const override { return info_; }
    std::int64_t rows() const override { return rows_; }

private:
    PgBackend& backend_;
    std::string physical_;
    adql::TableInfo info_;
    std::string line_;
    std::int64_t rows_ = 0;
    bool copying_ = false;
};

void PgBackend::rebuild_combined() {
    combined_.tables_.clear();
    if (uploads_.empty()) return;
    combined_.tables_ = catalog_.tables_;
    for (const auto* u : uploads_) combined_.tables_.push_back(u->info());
}

void PgBackend::forget(const PgUpload* u) {
    uploads_.erase(std::remove(uploads_.begin(), uploads_.end(), u), uploads_.end());
    rebuild_combined();
}

std::unique_ptr<RequestTable> PgBackend::add_upload_table(const std::string& name,
                                                          std::vector<adql::ColumnInfo> columns) {
    auto u = std::make_unique<PgUpload>(*this, name, std::move(columns));
    uploads_.push_back(u.get());
    rebuild_combined();
    return u;
}

void PgBackend::load_catalog() {
    const long long version = data_version();
    std::vector<adql::TableInfo> tables;
    {
        Result r = query(
            "SELECT schema_name, table_name, coalesce(description, '') FROM tap_schema.tables "
            "ORDER BY table_index, table_name");
        for (int i = 0; i < r.rows(); ++i) {
            adql::TableInfo t;
            t.schema = r.text(i, 0);
            const std::string qualified = r.text(i, 1);
            const auto dot = qualified.rfind('.');
            t.name = undelimit(dot == std::string::npos ? qualified : qualified.substr(dot + 1));
            t.physical = lower(t.schema) + "." + lower(t.name);
            t.description = r.text(i, 2);
            tables.push_back(std::move(t));
        }
    }
    Result r = query(
        "SELECT table_name, column_name, datatype, coalesce(arraysize, ''), coalesce(xtype, ''), "
        "coalesce(unit, ''), coalesce(ucd, ''), coalesce(utype, ''), coalesce(description, ''), "
        "indexed, principal, std FROM tap_schema.columns ORDER BY column_index");
    for (int i = 0; i < r.rows(); ++i) {
        const std::string table = r.text(i, 0);
        auto it = std::find_if(tables.begin(), tables.end(),
                               [&](const adql::TableInfo& t) { return t.schema + "." + t.name == table; });
        if (it == tables.end()) continue;
        adql::ColumnInfo c;
        c.name = undelimit(r.text(i, 1));
        c.physical = c.name;
        c.datatype = r.text(i, 2);
        c.arraysize = r.text(i, 3);
        c.xtype = r.text(i, 4);
        c.unit = r.text(i, 5);
        c.ucd = r.text(i, 6);
        c.utype = r.text(i, 7);
        c.description = r.text(i, 8);
        c.indexed = r.text(i, 9) == "1";
        c.principal = r.text(i, 10) == "1";
        c.std = r.text(i, 11) == "1";
        // access_url: a stored path completed with the server's base URL (as in the SQLite store)
        if (it->physical == "ivoa.obscore" && c.name == "access_url")
            c.sql_template = "CASE WHEN substr({}, 1, 1) = '/' THEN vo_base_url() || {} ELSE {} END";
        it->columns.push_back(std::move(c));
    }
    // data_rights computed at query time from obs_release_date (issue 12);
    // layouts loaded before it keep their stored values
    {
        Result m =
            query(std::string("SELECT value FROM voserver.meta WHERE key = ") + quote_literal(kDataRightsColumnsKey));
        if (m.rows() == 1) apply_data_rights_templates(tables, m.text(0, 0), kCollate);
    }
    // the spatial index (pg_store.hpp): the companion columns pg-load adds
    // to ivoa.obscore, which TAP_SCHEMA does not list
    Result spatial = query(std::string("SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('ivoa.obscore') "
                                       "AND NOT attisdropped AND attname IN ('") +
                           kPgPointColumn + "', '" + kPgRegionColumn + "')");
    if (spatial.rows() == 1 && spatial.text(0, 0) == "2")
        for (auto& t : tables)
            if (t.physical == "ivoa.obscore") {
                adql::SpatialIndexInfo si;
                si.ra = "s_ra";
                si.dec = "s_dec";
                si.region = "s_region";
                si.point_column = kPgPointColumn;
                si.region_column = kPgRegionColumn;
                t.spatial_index = si;
            }
    catalog_.tables_ = std::move(tables);
    version_ = version;
    rebuild_combined();
}

std::vector<ForeignKey> PgBackend::foreign_keys() const {
    std::vector<ForeignKey> out;
    Result keys = query(
        "SELECT key_id, from_table, target_table, coalesce(description, ''), coalesce(utype, '') "
        "FROM tap_schema.keys ORDER BY key_id");
    Result cols = query("SELECT key_id, from_column, target_column FROM tap_schema.key_columns");
    for (int i = 0; i < keys.rows(); ++i) {
        ForeignKey k;
        k.from_table = keys.text(i, 1);
        k.target_table = keys.text(i, 2);
        k.description = keys.text(i, 3);
        k.utype = keys.text(i, 4);
        for (int j = 0; j < cols.rows(); ++j)
            if (cols.text(j, 0) == keys.text(i, 0)) k.columns.emplace_back(cols.text(j, 1), cols.text(j, 2));
        out.push_back(std::move(k));
    }
    return out;
}

/// The planner's total cost of the plan's top node (PostgreSQL's cost units,
/// about one per page read) on the first line of an EXPLAIN result, 1e300
/// when it cannot tell.
double explained_cost(const Result& r) {
    if (r.status() != PGRES_TUPLES_OK || r.rows() == 0) return 1e300;
    const std::string line = r.text(0, 0);
    const auto at = line.find("..");
    if (at == std::string::npos) return 1e300;
    try {
        return std::stod(line.substr(at + 2));
    } catch (const std::exception&) {
        return 1e300;
    }
}

Result PgBackend::prepare_and_explain(const std::string& name, const std::string& sql, double& cost) {
    cost = 1e300;
    if (PQenterPipelineMode(conn_) != 1) return Result(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    const std::string explain = "EXPLAIN EXECUTE " + name;
    Result prepared, planned;
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 1 &&
        PQsendQueryParams(conn_, explain.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
        PQpipelineSync(conn_) == 1) {
        // each command's results end with a null; the sync point ends the pipeline
        int command = 0;
        for (int nulls = 0; nulls < 4;) {
            PGresult* got = PQgetResult(conn_);
            if (!got) {
                ++nulls;
                ++command;
                if (connection_lost()) break;
                continue;
            }
            nulls = 0;
            if (PQresultStatus(got) == PGRES_PIPELINE_SYNC) {
                PQclear(got);
                break;
            }
            Result& into = command == 0 ? prepared : planned;
            if (!into.r)
                into = Result(got);
            else
                PQclear(got);
        }
    }
    PQexitPipelineMode(conn_);
    if (!prepared.r) prepared = Result(PQmakeEmptyPGresult(conn_, PGRES_FATAL_ERROR));
    cost = explained_cost(planned);
    return prepared;
}

void PgPrepared::prepare_on_server() {
    backend_.ensure_connected();
    double cost = 1e300;
    Result r = backend_.prepare_and_explain(name_, translation_.sql, cost);
    if (r.status() != PGRES_COMMAND_OK) {
        if (backend_.connection_lost()) throw DatabaseUnavailable("the database is unavailable: " + r.message());
        throw QueryError("cannot run the query: " + r.message(), true);
    }
    prepared_ = true;
    cost_ = cost;
}

double PgPrepared::estimate_cost() {
    if (!prepared_) prepare_on_server();
    return cost_;
}

PgPrepared::~PgPrepared() {
    if (prepared_) backend_.deallocate(name_);
}

// ---------------------------------------------------------------- cursor

PgCursor::PgCursor(PgBackend& backend, const std::string& statement, const adql::Translation& translation,
                   const ExecuteControl& control)
    : backend_(backend), translation_(translation), control_(control) {
    for (const auto& c : translation.columns) reads_.push_back(read_as(c));
    row_.resize(translation.columns.size());
    backend_.before_run(control_);
    PGconn* conn = backend_.conn();
    const int sent = statement.empty()
                         ? PQsendQueryParams(conn, translation.sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
                         : PQsendQueryPrepared(conn, statement.c_str(), 0, nullptr, nullptr, nullptr, 0);
    if (!sent || !PQsetSingleRowMode(conn)) {
        done_ = true;
        if (backend_.connection_lost())
            throw DatabaseUnavailable("the database is unavailable (" + url_without_password(backend_.url()) + ")");
        throw QueryError(std::string("cannot run the query: ") + PQerrorMessage(conn), false);
    }
}

void PgCursor::prime() {
    res_ = Result(wait_result());
    primed_ = true;
    control_.first_row_by.reset();
    if (why_ == Why::express) {
        // The express time ran out and the cancel went out just before this
        // first result arrived: the next rows would fail ("canceling
        // statement"), after the caller had started its response. Nothing
        // has been read yet, so hand the whole query on now.
        res_ = Result();
        while (PGresult* more = wait_result()) PQclear(more);
        done_ = true;
        throw FirstRowExpired();
    }
    if (!res_.r) {
        done_ = true;
        return;
    }
    if (res_.status() == PGRES_TUPLES_OK) {  // no rows at all
        res_ = Result();
        while (PGresult* more = wait_result()) PQclear(more);
        done_ = true;
        return;
    }
    if (res_.status() != PGRES_SINGLE_TUPLE) fail(res_);
    read_row();
}

bool PgCursor::next() {
    if (primed_) {
        primed_ = false;
        return !done_;
    }
    if (done_) return false;
    res_ = Result(wait_result());
    if (!res_.r) {
        done_ = true;
        return false;
    }
    if (res_.status() == PGRES_SINGLE_TUPLE) {
        read_row();
        return true;
    }
    if (res_.status() == PGRES_TUPLES_OK) {
        res_ = Result();
        while (PGresult* more = wait_result()) PQclear(more);
        done_ = true;
        return false;
    }
    fail(res_);
    return false;
}

void PgCursor::read_row() {
    for (std::size_t i = 0; i < row_.size(); ++i) row_[i] = cell_of(i);
}

Cell PgCursor::cell_of(std::size_t i) {
    Cell c;
    const int col = static_cast<int>(i);
    if (!res_.r || PQgetisnull(res_.r, 0, col)) return c;
    const char* v = PQgetvalue(res_.r, 0, col);
    const std::size_t n = static_cast<std::size_t>(PQgetlength(res_.r, 0, col));
    const Read how = i < reads_.size() ? reads_[i] : Read::text;
    if (how == Read::integer) {
        std::int64_t x = 0;
        auto r = std::from_chars(v, v + n, x);
        if (r.ec == std::errc() && r.ptr == v + n) {
            c.kind = Cell::Kind::integer;
            c.integer = x;
            return c;
        }
        if (n == 1 && (v[0] == 't' || v[0] == 'f')) {  // a boolean
            c.kind = Cell::Kind::integer;
            c.integer = v[0] == 't';
            return c;
        }
    }
    if (how == Read::real || how == Read::integer) {
        double x = 0;
        auto r = std::from_chars(v, v + n, x);
        if (r.ec == std::errc() && r.ptr == v + n) {
            c.kind = Cell::Kind::real;
            c.real = x;
            return c;
        }
        if (std::strcmp(v, "NaN") == 0 || std::strcmp(v, "Infinity") == 0 || std::strcmp(v, "-Infinity") == 0) {
            c.kind = Cell::Kind::real;
            c.real = v[0] == 'N'   ? std::numeric_limits<double>::quiet_NaN()
                     : v[0] == '-' ? -std::numeric_limits<double>::infinity()
                                   : std::numeric_limits<double>::infinity();
            return c;
        }
    }
    c.kind = Cell::Kind::text;
    c.text = std::string_view(v, n);
    return c;
}

PGresult* PgCursor::wait_result() {
    PGconn* conn = backend_.conn();
    for (;;) {
        if (!PQisBusy(conn)) return PQgetResult(conn);
        const auto now = Clock::now();
        if (why_ == Why::none) {
            if (control_.cancel && control_.cancel->load())
                why_ = Why::cancel;
            else if (now >= control_.deadline)
                why_ = Why::deadline;
            else if (control_.first_row_by && now >= *control_.first_row_by)
                why_ = Why::express;
            if (why_ != Why::none && !cancelled_for_) {
                cancelled_for_ = true;
                if (PGcancel* c = PQgetCancel(conn)) {
                    char err[256];
                    PQcancel(c, err, sizeof err);
                    PQfreeCancel(c);
                }
            }
        }
        pollfd p{PQsocket(conn), POLLIN, 0};
        ::poll(&p, 1, 20);
        if (!PQconsumeInput(conn)) return PQgetResult(conn);
    }
}

void PgCursor::fail(const Result& r) {
    const std::string state = r.sqlstate();
    const std::string msg = r.message();
    // drain the rest, so that the connection is ready for the next query
    while (PGresult* more = wait_result()) PQclear(more);
    done_ = true;
    if (why_ == Why::express) throw FirstRowExpired();
    if (why_ == Why::cancel) throw QueryError("query interrupted (the client went away)", false);
    if (why_ == Why::deadline || state == "57014")  // 57014: statement_timeout
        throw QueryError("query stopped: it ran longer than " + control_.deadline_reason +
                             "; narrow it (TOP, a tighter WHERE) or run it asynchronously",
                         true);
    if (backend_.connection_lost() || state.rfind("08", 0) == 0)
        throw DatabaseUnavailable("the database is unavailable: " + msg);
    if (state == "54000" || state == "53200")
        throw QueryError("query stopped: it needs more memory or a larger value than the service allows: " + msg, true);
    const bool client = state.rfind("22", 0) == 0 || state.rfind("42", 0) == 0 || state.rfind("54", 0) == 0 ||
                        state.rfind("P0001", 0) == 0 || state.rfind("2F", 0) == 0;
    throw QueryError(msg, client);
}

PgCursor::~PgCursor() {
    if (done_) return;
    // an abandoned run: cancel it and drain the connection
    if (PGcancel* c = PQgetCancel(backend_.conn())) {
        char err[256];
        PQcancel(c, err, sizeof err);
        PQfreeCancel(c);
    }
    while (PGresult* more = PQgetResult(backend_.conn())) PQclear(more);
}

}  // namespace

std::unique_ptr<QueryBackend> open_pg_query_backend(const std::string& url, const BackendLimits& limits) {
    try {
        return std::make_unique<PgBackend>(url, limits);
    } catch (const QueryError& e) {
        throw StoreError(e.what());
    }
}

}  // namespace vo::obscore
