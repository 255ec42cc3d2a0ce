// The SQLite job store (uws/job_store.hpp): one row per job, parameters and
// results as rows of their own, every change in one transaction, WAL mode.
#include <sqlite3.h>

#include <mutex>

#include "uws/job_store.hpp"

namespace vo::uws {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS uws_job (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, owner TEXT NOT NULL, phase TEXT NOT NULL,
  creation_time INTEGER NOT NULL, start_time INTEGER, end_time INTEGER,
  execution_duration INTEGER NOT NULL, destruction INTEGER NOT NULL, quote INTEGER,
  error_message TEXT NOT NULL, error_fatal INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS uws_job_creation ON uws_job (creation_time);
CREATE TABLE IF NOT EXISTS uws_parameter (
  job_id TEXT NOT NULL REFERENCES uws_job (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (job_id, seq));
CREATE TABLE IF NOT EXISTS uws_result (
  job_id TEXT NOT NULL REFERENCES uws_job (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  result_id TEXT NOT NULL, mime_type TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq));
)";

/// A prepared statement finalized on scope exit.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
            throw JobStoreError(std::string("job store: ") + sqlite3_errmsg(db));
    }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, const std::string& v) {
        check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        check(sqlite3_bind_int64(s_, i, v));
        return *this;
    }
    Stmt& bind(int i, const std::optional<Time>& v) {
        check(v ? sqlite3_bind_int64(s_, i, *v) : sqlite3_bind_null(s_, i));
        return *this;
    }
    /// Steps; true when a row is there.
    bool step() {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw JobStoreError(std::string("job store: ") + sqlite3_errmsg(db_));
    }
    std::string text(int i) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i))) : std::string();
    }
    std::int64_t integer(int i) const { return sqlite3_column_int64(s_, i); }
    std::optional<Time> opt(int i) const {
        if (sqlite3_column_type(s_, i) == SQLITE_NULL) return std::nullopt;
        return sqlite3_column_int64(s_, i);
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) throw JobStoreError(std::string("job store: ") + sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    sqlite3_stmt* s_ = nullptr;
};

class SqliteJobStore final : public JobStore {
public:
    explicit SqliteJobStore(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            nullptr) != SQLITE_OK) {
            std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw JobStoreError("cannot open the job store " + path + ": " + msg);
        }
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
        exec(kSchema);
    }
    ~SqliteJobStore() override { sqlite3_close(db_); }

    void insert(const Job& job) override {
        std::lock_guard lk(mutex_);
        Transaction t(*this);
        write_job(job, "INSERT INTO uws_job VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
        write_children(job);
        t.commit();
    }

    void update(const Job& job) override {
        std::lock_guard lk(mutex_);
        Transaction t(*this);
        replace(job);
        t.commit();
    }

    std::optional<Job> find(const std::string& id) const override {
        std::lock_guard lk(mutex_);
        Stmt s(db_, "SELECT * FROM uws_job WHERE id=?1");
        s.bind(1, id);
        if (!s.step()) return std::nullopt;
        Job j = read_job(s);
        read_children(j);
        return j;
    }

    std::vector<Job> list(const JobFilter& f) const override {
        std::lock_guard lk(mutex_);
        std::string sql = "SELECT * FROM uws_job WHERE 1";
        if (f.phases.empty())
            sql += " AND phase <> 'ARCHIVED'";
        else {
            sql += " AND phase IN (";
            for (std::size_t i = 0; i < f.phases.size(); ++i)
                sql += std::string(i ? "," : "") + "'" + to_string(f.phases[i]) + "'";
            sql += ")";
        }
        if (f.after) sql += " AND creation_time > ?1";
        if (f.owner) sql += " AND owner = ?2";
        sql += " ORDER BY creation_time DESC, rowid DESC";
        if (f.last) sql += " LIMIT " + std::to_string(*f.last);
        Stmt s(db_, sql.c_str());
        if (f.after) s.bind(1, *f.after);
        if (f.owner) s.bind(2, *f.owner);
        std::vector<Job> out;
        while (s.step()) out.push_back(read_job(s));
        return out;
    }

    void remove(const std::string& id) override {
        std::lock_guard lk(mutex_);
        Stmt(db_, "DELETE FROM uws_job WHERE id=?1").bind(1, id).step();
    }

    std::vector<Job> due_for_destruction(Time t) const override {
        std::lock_guard lk(mutex_);
        Stmt s(db_, "SELECT * FROM uws_job WHERE destruction <= ?1");
        s.bind(1, t);
        std::vector<Job> out;
        while (s.step()) out.push_back(read_job(s));
        for (auto& j : out) read_children(j);
        return out;
    }

    bool update_if(const Job& job, Phase expected) override {
        std::lock_guard lk(mutex_);
        Transaction t(*this);
        Stmt s(db_, "SELECT phase FROM uws_job WHERE id=?1");
        s.bind(1, job.id);
        if (!s.step() || s.text(0) != to_string(expected)) return false;
        replace(job);
        t.commit();
        return true;
    }

private:
    struct Transaction {
        SqliteJobStore& st;
        bool done = false;
        explicit Transaction(SqliteJobStore& s) : st(s) { st.exec("BEGIN IMMEDIATE"); }
        void commit() {
            st.exec("COMMIT");
            done = true;
        }
        ~Transaction() {
            if (!done) sqlite3_exec(st.db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
    };

    void exec(const char* sql) const {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : sqlite3_errmsg(db_);
            sqlite3_free(err);
            throw JobStoreError("job store: " + msg);
        }
    }

    /// Rewrites the record of `job.id` and its parameters and results.
    void replace(const Job& job) {
        write_job(job,
                  "UPDATE uws_job SET run_id=?2, owner=?3, phase=?4, creation_time=?5, start_time=?6, end_time=?7, "
                  "execution_duration=?8, destruction=?9, quote=?10, error_message=?11, error_fatal=?12 WHERE id=?1");
        Stmt(db_, "DELETE FROM uws_parameter WHERE job_id=?1").bind(1, job.id).step();
        Stmt(db_, "DELETE FROM uws_result WHERE job_id=?1").bind(1, job.id).step();
        write_children(job);
    }

    void write_job(const Job& j, const char* sql) {
        Stmt s(db_, sql);
        s.bind(1, j.id).bind(2, j.run_id).bind(3, j.owner).bind(4, std::string(to_string(j.phase)));
        s.bind(5, j.creation_time).bind(6, j.start_time).bind(7, j.end_time).bind(8, j.execution_duration);
        s.bind(9, j.destruction).bind(10, j.quote).bind(11, j.error_message).bind(12, std::int64_t{j.error_fatal});
        s.step();
    }
    void write_children(const Job& j) {
        std::int64_t seq = 0;
        for (const auto& [k, v] : j.parameters) {
            Stmt s(db_, "INSERT INTO uws_parameter VALUES (?1, ?2, ?3, ?4)");
            s.bind(1, j.id).bind(2, seq++).bind(3, k).bind(4, v).step();
        }
        seq = 0;
        for (const auto& r : j.results) {
            Stmt s(db_, "INSERT INTO uws_result VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            s.bind(1, j.id).bind(2, seq++).bind(3, r.id).bind(4, r.mime_type).bind(5, r.path).bind(6, r.size).step();
        }
    }
    static Job read_job(const Stmt& s) {
        Job j;
        j.id = s.text(0);
        j.run_id = s.text(1);
        j.owner = s.text(2);
        j.phase = parse_phase(s.text(3)).value_or(Phase::UNKNOWN);
        j.creation_time = s.integer(4);
        j.start_time = s.opt(5);
        j.end_time = s.opt(6);
        j.execution_duration = s.integer(7);
        j.destruction = s.integer(8);
        j.quote = s.opt(9);
        j.error_message = s.text(10);
        j.error_fatal = s.integer(11) != 0;
        return j;
    }
    void read_children(Job& j) const {
        Stmt p(db_, "SELECT name, value FROM uws_parameter WHERE job_id=?1 ORDER BY seq");
        p.bind(1, j.id);
        while (p.step()) j.parameters.emplace_back(p.text(0), p.text(1));
        Stmt r(db_, "SELECT result_id, mime_type, path, size FROM uws_result WHERE job_id=?1 ORDER BY seq");
        r.bind(1, j.id);
        while (r.step()) j.results.push_back({r.text(0), r.text(1), r.text(2), r.integer(3)});
    }

    sqlite3* db_ = nullptr;
    mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path) {
    return std::make_unique<SqliteJobStore>(path);
}

}  // namespace vo::uws
