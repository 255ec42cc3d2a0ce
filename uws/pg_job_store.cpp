// The PostgreSQL job store (uws/job_store.hpp, open_pg_job_store): the UWS
// jobs of several server instances in one database (issue 11 item 4).
#include <libpq-fe.h>

#include <charconv>
#include <mutex>

#include "uws/job_store.hpp"

namespace vo::uws {

namespace {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

/// The store's clock in UWS time (seconds since the epoch): heartbeats and
/// their staleness are judged by one clock, whatever the instances' clocks say.
constexpr const char* kNow = "extract(epoch from clock_timestamp())::bigint";

/// `message` on one line (libpq's end in a newline and may hold several).
std::string one_line(const char* message) {
    std::string out;
    for (const char* p = message ? message : ""; *p; ++p) out += (*p == '\n' || *p == '\t') ? ' ' : *p;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out.empty() ? "unknown error" : out;
}

std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::int64_t to_int(const char* text) {
    std::int64_t v = 0;
    std::from_chars(text, text + std::char_traits<char>::length(text), v);
    return v;
}

/// Parameters of one statement as text ($1, $2, ...; nullopt is NULL).
class Params {
public:
    Params& add(std::string v) {
        values_.emplace_back(std::move(v));
        return *this;
    }
    Params& add(std::int64_t v) { return add(std::to_string(v)); }
    Params& add(const std::optional<Time>& v) {
        if (v) return add(*v);
        values_.emplace_back(std::nullopt);
        return *this;
    }
    std::vector<const char*> pointers() const {
        std::vector<const char*> out;
        for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
        return out;
    }
    int size() const { return static_cast<int>(values_.size()); }

private:
    std::vector<std::optional<std::string>> values_;
};

class PgJobStore final : public JobStore {
public:
    PgJobStore(const std::string& url, const std::string& schema) : schema_(quote_ident(schema)) {
        const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
        const char* values[] = {"10", "voserver uws", url.c_str(), nullptr};
        conn_ = PQconnectdbParams(keys, values, 1);
        if (!conn_) throw JobStoreError("job store (PostgreSQL): cannot connect: out of memory");
        where_ = std::string("postgresql://") + PQuser(conn_) + "@" + PQhost(conn_) + ":" + PQport(conn_) + "/" +
                 PQdb(conn_);
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string why = one_line(PQerrorMessage(conn_));
            PQfinish(conn_);
            throw JobStoreError("job store " + where_ + ": cannot connect: " + why);
        }
        const std::string& s = schema_;
        // A lock makes the first instances that start together create the schema once.
        script(
            "SET client_min_messages = warning; BEGIN; SELECT pg_advisory_xact_lock(7958224571244655); "
            "CREATE SCHEMA IF NOT EXISTS " +
            s + "; CREATE SEQUENCE IF NOT EXISTS " + s +
            ".change_seq; "
            "CREATE TABLE IF NOT EXISTS " +
            s +
            ".job (id text PRIMARY KEY, run_id text NOT NULL, owner text NOT NULL, phase text NOT NULL, "
            "creation_time bigint NOT NULL, start_time bigint, end_time bigint, execution_duration bigint NOT NULL, "
            "destruction bigint NOT NULL, quote bigint, error_message text NOT NULL, error_fatal boolean NOT NULL, "
            "heartbeat bigint, seq bigserial); "
            "CREATE INDEX IF NOT EXISTS job_creation ON " +
            s + ".job (creation_time); CREATE INDEX IF NOT EXISTS job_phase ON " + s +
            ".job (phase); "
            "CREATE TABLE IF NOT EXISTS " +
            s + ".parameter (job_id text NOT NULL REFERENCES " + s +
            ".job (id) ON DELETE CASCADE, seq integer NOT NULL, name text NOT NULL, value text NOT NULL, "
            "PRIMARY KEY (job_id, seq)); "
            "CREATE TABLE IF NOT EXISTS " +
            s + ".result (job_id text NOT NULL REFERENCES " + s +
            ".job (id) ON DELETE CASCADE, seq integer NOT NULL, result_id text NOT NULL, mime_type text NOT NULL, "
            "path text NOT NULL, size bigint NOT NULL, PRIMARY KEY (job_id, seq)); COMMIT");
    }
    ~PgJobStore() override { PQfinish(conn_); }

    bool shared() const override { return true; }

    void insert(const Job& job) override {
        std::lock_guard lk(mutex_);
        Transaction t(*this);
        write_job(job, true);
        write_children(job);
        t.commit();
    }

    void update(const Job& job) override {
        std::lock_guard lk(mutex_);
        Transaction t(*this);
        replace(job);
        t.commit();
    }

    bool update_if(const Job& job, Phase expected) override {
        std::lock_guard lk(mutex_);
        Transaction t(*this);
        auto r = exec("SELECT phase FROM " + schema_ + ".job WHERE id = $1 FOR UPDATE", Params().add(job.id),
                      PGRES_TUPLES_OK);
        if (PQntuples(r.get()) != 1 || std::string(PQgetvalue(r.get(), 0, 0)) != to_string(expected)) return false;
        replace(job);
        t.commit();
        return true;
    }

    std::optional<Job> find(const std::string& id) const override {
        std::lock_guard lk(mutex_);
        auto r = exec(select_jobs() + " WHERE id = $1", Params().add(id), PGRES_TUPLES_OK);
        if (PQntuples(r.get()) != 1) return std::nullopt;
        Job j = read_job(r.get(), 0);
        read_children(j);
        return j;
    }

    std::vector<Job> list(const JobFilter& f) const override {
        std::lock_guard lk(mutex_);
        std::string sql = select_jobs() + " WHERE true";
        Params p;
        if (f.phases.empty()) {
            sql += " AND phase <> 'ARCHIVED'";
        } else {
            sql += " AND phase IN (";
            for (std::size_t i = 0; i < f.phases.size(); ++i)
                sql += std::string(i ? "," : "") + "'" + to_string(f.phases[i]) + "'";
            sql += ")";
        }
        if (f.after) {
            p.add(*f.after);
            sql += " AND creation_time > $" + std::to_string(p.size());
        }
        if (f.owner) {
            p.add(*f.owner);
            sql += " AND owner = $" + std::to_string(p.size());
        }
        sql += " ORDER BY creation_time DESC, seq DESC";
        if (f.last) sql += " LIMIT " + std::to_string(*f.last);
        auto r = exec(sql, p, PGRES_TUPLES_OK);
        std::vector<Job> out;
        for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(read_job(r.get(), i));
        return out;
    }

    void remove(const std::string& id) override {
        std::lock_guard lk(mutex_);
        exec("DELETE FROM " + schema_ + ".job WHERE id = $1; ", Params().add(id), PGRES_COMMAND_OK);
        bump();
    }

    std::vector<Job> due_for_destruction(Time t) const override { return jobs_where("destruction <= $1", t); }

    std::uint64_t change_stamp() const override {
        std::lock_guard lk(mutex_);
        // before the first nextval last_value is already 1: is_called tells them apart
        auto r = exec("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM " + schema_ + ".change_seq", {},
                      PGRES_TUPLES_OK);
        return PQntuples(r.get()) == 1 ? static_cast<std::uint64_t>(to_int(PQgetvalue(r.get(), 0, 0))) : 0;
    }

    void heartbeat(const std::vector<std::string>& ids) override {
        if (ids.empty()) return;
        std::lock_guard lk(mutex_);
        std::string list;
        Params p;
        for (const auto& id : ids) {
            p.add(id);
            list += (list.empty() ? "$" : ", $") + std::to_string(p.size());
        }
        exec("UPDATE " + schema_ + ".job SET heartbeat = " + kNow + " WHERE phase = 'EXECUTING' AND id IN (" + list +
                 ")",
             p, PGRES_COMMAND_OK);
    }

    std::vector<Job> stale_executing(std::int64_t seconds) const override {
        return jobs_where("phase = 'EXECUTING' AND heartbeat < " + std::string(kNow) + " - $1", seconds);
    }

    std::int64_t results_bytes() const override {
        std::lock_guard lk(mutex_);
        auto r = exec("SELECT coalesce(sum(r.size), 0) FROM " + schema_ + ".result r JOIN " + schema_ +
                          ".job j ON j.id = r.job_id WHERE j.phase = 'COMPLETED'",
                      {}, PGRES_TUPLES_OK);
        return to_int(PQgetvalue(r.get(), 0, 0));
    }

private:
    /// BEGIN ... COMMIT, rolled back when not committed.
    struct Transaction {
        PgJobStore& st;
        bool done = false;
        explicit Transaction(PgJobStore& s) : st(s) { st.exec("BEGIN", {}, PGRES_COMMAND_OK); }
        void commit() {
            st.exec("COMMIT", {}, PGRES_COMMAND_OK);
            done = true;
            try {
                st.bump();  // after the commit: whoever sees the new stamp reads the new rows
            } catch (const JobStoreError&) {
                // committed; the others see it at the next change (or their own polls)
            }
        }
        ~Transaction() {
            if (!done) PQclear(PQexec(st.conn_, "ROLLBACK"));
        }
    };

    /// Runs one statement; a connection found broken before it is reset
    /// first (the server restarted). Throws JobStoreError.
    Result exec(const std::string& sql, const Params& params, ExecStatusType want) const {
        if (PQstatus(conn_) != CONNECTION_OK) PQreset(conn_);
        const auto values = params.pointers();
        Result r(PQexecParams(conn_, sql.c_str(), params.size(), nullptr, values.empty() ? nullptr : values.data(),
                              nullptr, nullptr, 0),
                 PQclear);
        if (!r || PQresultStatus(r.get()) != want) {
            const char* msg = r ? PQresultErrorMessage(r.get()) : nullptr;
            throw JobStoreError("job store " + where_ + ": " + one_line(msg && *msg ? msg : PQerrorMessage(conn_)));
        }
        return r;
    }

    /// Runs several statements (the schema); throws JobStoreError.
    void script(const std::string& sql) {
        Result r(PQexec(conn_, sql.c_str()), PQclear);
        if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
            const char* msg = r ? PQresultErrorMessage(r.get()) : nullptr;
            const std::string why = one_line(msg && *msg ? msg : PQerrorMessage(conn_));
            PQfinish(conn_);
            throw JobStoreError("job store " + where_ + ": cannot create the job tables: " + why);
        }
    }

    /// Advances the change stamp (other instances' WAITs see a change).
    void bump() const { exec("SELECT nextval('" + schema_ + ".change_seq')", {}, PGRES_TUPLES_OK); }

    std::string select_jobs() const {
        return "SELECT id, run_id, owner, phase, creation_time, start_time, end_time, execution_duration, "
               "destruction, quote, error_message, error_fatal FROM " +
               schema_ + ".job";
    }

    std::vector<Job> jobs_where(const std::string& condition, std::int64_t t) const {
        std::lock_guard lk(mutex_);
        auto r = exec(select_jobs() + " WHERE " + condition, Params().add(t), PGRES_TUPLES_OK);
        std::vector<Job> out;
        for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(read_job(r.get(), i));
        for (auto& j : out) read_children(j);
        return out;
    }

    void replace(const Job& job) {
        write_job(job, false);
        exec("DELETE FROM " + schema_ + ".parameter WHERE job_id = $1; ", Params().add(job.id), PGRES_COMMAND_OK);
        exec("DELETE FROM " + schema_ + ".result WHERE job_id = $1", Params().add(job.id), PGRES_COMMAND_OK);
        write_children(job);
    }

    void write_job(const Job& j, bool insert) {
        Params p;
        p.add(j.id).add(j.run_id).add(j.owner).add(std::string(to_string(j.phase))).add(j.creation_time);
        p.add(j.start_time).add(j.end_time).add(j.execution_duration).add(j.destruction).add(j.quote);
        p.add(j.error_message).add(std::string(j.error_fatal ? "t" : "f"));
        exec(insert ? "INSERT INTO " + schema_ +
                          ".job (id, run_id, owner, phase, creation_time, start_time, end_time, execution_duration, "
                          "destruction, quote, error_message, error_fatal, heartbeat) VALUES ($1, $2, $3, $4, $5, $6, "
                          "$7, $8, $9, $10, $11, $12, " +
                          kNow + ")"
                    : "UPDATE " + schema_ +
                          ".job SET run_id = $2, owner = $3, phase = $4, creation_time = $5, start_time = $6, "
                          "end_time = $7, execution_duration = $8, destruction = $9, quote = $10, error_message = "
                          "$11, error_fatal = $12, heartbeat = " +
                          kNow + " WHERE id = $1",
             p, PGRES_COMMAND_OK);
    }

    void write_children(const Job& j) {
        std::int64_t seq = 0;
        for (const auto& [k, v] : j.parameters)
            exec("INSERT INTO " + schema_ + ".parameter VALUES ($1, $2, $3, $4)",
                 Params().add(j.id).add(seq++).add(k).add(v), PGRES_COMMAND_OK);
        seq = 0;
        for (const auto& r : j.results)
            exec("INSERT INTO " + schema_ + ".result VALUES ($1, $2, $3, $4, $5, $6)",
                 Params().add(j.id).add(seq++).add(r.id).add(r.mime_type).add(r.path).add(r.size), PGRES_COMMAND_OK);
    }

    static Job read_job(PGresult* r, int row) {
        const auto text = [&](int c) { return std::string(PQgetvalue(r, row, c)); };
        const auto opt = [&](int c) -> std::optional<Time> {
            if (PQgetisnull(r, row, c)) return std::nullopt;
            return to_int(PQgetvalue(r, row, c));
        };
        Job j;
        j.id = text(0);
        j.run_id = text(1);
        j.owner = text(2);
        j.phase = parse_phase(text(3)).value_or(Phase::UNKNOWN);
        j.creation_time = to_int(PQgetvalue(r, row, 4));
        j.start_time = opt(5);
        j.end_time = opt(6);
        j.execution_duration = to_int(PQgetvalue(r, row, 7));
        j.destruction = to_int(PQgetvalue(r, row, 8));
        j.quote = opt(9);
        j.error_message = text(10);
        j.error_fatal = text(11) == "t";
        return j;
    }

    void read_children(Job& j) const {
        auto p = exec("SELECT name, value FROM " + schema_ + ".parameter WHERE job_id = $1 ORDER BY seq",
                      Params().add(j.id), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(p.get()); ++i)
            j.parameters.emplace_back(PQgetvalue(p.get(), i, 0), PQgetvalue(p.get(), i, 1));
        auto r =
            exec("SELECT result_id, mime_type, path, size FROM " + schema_ + ".result WHERE job_id = $1 ORDER BY seq",
                 Params().add(j.id), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r.get()); ++i)
            j.results.push_back({PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1), PQgetvalue(r.get(), i, 2),
                                 to_int(PQgetvalue(r.get(), i, 3))});
    }

    std::string schema_;
    std::string where_;
    PGconn* conn_ = nullptr;
    mutable std::recursive_mutex mutex_;
};

}  // namespace

std::unique_ptr<JobStore> open_pg_job_store(const std::string& url, const std::string& schema) {
    return std::make_unique<PgJobStore>(url, schema);
}

}  // namespace vo::uws
