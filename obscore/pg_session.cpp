// obscore/pg_session.hpp: a libpq connection for the PostgreSQL store's writers.
#include "obscore/pg_session.hpp"

#include <charconv>

#include "obscore/backend.hpp"
#include "obscore/pg_store.hpp"

namespace vo::obscore {

std::string pg_one_line(const char* message) {
    std::string out;
    bool space = false;
    for (const char* p = message ? message : ""; *p; ++p) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += *p;
    }
    return out.empty() ? "unknown error" : out;
}

PgSession::PgSession(const std::string& url, const std::string& application_name,
                     std::function<void(const std::string&)> progress)
    : where_(url_without_password(url)), progress_(std::move(progress)) {
    // connect_timeout before dbname: the URL's own setting, if any, wins.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", application_name.c_str(), url.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (!conn_) throw StoreError("store " + where_ + ": cannot connect: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = pg_one_line(PQerrorMessage(conn_));
        PQfinish(conn_);
        throw StoreError("store " + where_ + ": cannot connect: " + why);
    }
    PQsetNoticeProcessor(conn_, &PgSession::on_notice, this);
}

PgSession::~PgSession() { PQfinish(conn_); }

void PgSession::fail(const std::string& step) const {
    throw StoreError("store " + where_ + ": " + step + ": " + pg_one_line(PQerrorMessage(conn_)));
}

PgResult PgSession::exec(const std::string& sql, const std::string& step, ExecStatusType want) {
    PgResult r(PQexec(conn_, sql.c_str()), PQclear);
    if (!r || PQresultStatus(r.get()) != want) {
        const char* msg = r ? PQresultErrorMessage(r.get()) : nullptr;
        throw StoreError("store " + where_ + ": " + step + ": " +
                         pg_one_line(msg && *msg ? msg : PQerrorMessage(conn_)));
    }
    return r;
}

std::string PgSession::value(const std::string& sql, const std::string& step) {
    auto r = exec(sql, step, PGRES_TUPLES_OK);
    if (PQntuples(r.get()) < 1 || PQgetisnull(r.get(), 0, 0)) return "";
    return PQgetvalue(r.get(), 0, 0);
}

void PgSession::put_copy_data(const std::string& data, const std::string& step) {
    if (!data.empty() && PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) fail(step);
}

long long PgSession::end_copy(const std::string& step) {
    if (PQputCopyEnd(conn_, nullptr) != 1) fail(step);
    std::string error;
    long long copied = -1;
    while (PGresult* r = PQgetResult(conn_)) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            if (error.empty()) error = pg_one_line(PQresultErrorMessage(r));
        } else {
            const char* n = PQcmdTuples(r);
            std::from_chars(n, n + std::char_traits<char>::length(n), copied);
        }
        PQclear(r);
    }
    if (!error.empty()) throw StoreError("store " + where_ + ": " + step + ": " + error);
    return copied;
}

void PgSession::abort_copy(const char* reason) noexcept {
    PQputCopyEnd(conn_, reason);
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
}

void PgSession::rollback() {
    const auto status = PQtransactionStatus(conn_);
    if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) PQclear(PQexec(conn_, "ROLLBACK"));
}

void PgSession::on_notice(void* self, const char* message) {
    static_cast<PgSession*>(self)->report("postgresql: " + pg_one_line(message));
}

}  // namespace vo::obscore
