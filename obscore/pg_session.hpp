// A libpq connection for the PostgreSQL store's writers (internal to
// obscore/: pg_store.cpp loads, pg_writer.cpp ingests): statements that throw
// StoreError naming the step and the URL without password, and the server's
// notices passed to a progress callback. PostgreSQL 15 manual chapter 34.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string>

namespace vo::obscore {

/// The advisory lock (PostgreSQL 15 manual section 9.27.10) every writer of
/// the store holds for its transaction: loads (pg_store.cpp) and ingests
/// (pg_writer.cpp) into one database run one after the other, and each reads
/// the data_version the previous one wrote.
inline constexpr const char* kPgLoadLockKey = "7958224571244654";

/// `message` on one line: libpq's messages end in a newline and may hold
/// several lines (a hint after "\n\t"); "unknown error" for null or empty.
std::string pg_one_line(const char* message);

/// A result that PQclear()s itself.
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

/// One connection, its URL without password for messages, and the progress
/// callback that also receives the server's warnings.
class PgSession {
public:
    /// Connects to `url` (a libpq URI or key/value string) with a 10 s
    /// connect timeout unless the URL sets one; `application_name` shows in
    /// pg_stat_activity. Throws StoreError "store URL: cannot connect: ...".
    PgSession(const std::string& url, const std::string& application_name,
              std::function<void(const std::string&)> progress = {});
    ~PgSession();
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    PGconn* get() const { return conn_; }
    /// The URL without its password.
    const std::string& where() const { return where_; }

    /// Throws StoreError "store URL: step: <libpq's last message>".
    [[noreturn]] void fail(const std::string& step) const;

    /// Runs `sql` (one or several statements); throws StoreError naming
    /// `step` unless the (last) result has status `want`.
    PgResult exec(const std::string& sql, const std::string& step, ExecStatusType want = PGRES_COMMAND_OK);

    /// The single value of a one-row query, or "" for NULL / no row.
    std::string value(const std::string& sql, const std::string& step);

    /// Sends `data` into the COPY ... FROM STDIN the connection is in; throws
    /// StoreError naming `step`.
    void put_copy_data(const std::string& data, const std::string& step);

    /// Ends a COPY ... FROM STDIN and checks its result; returns the rows
    /// the server stored. Throws StoreError naming `step`.
    long long end_copy(const std::string& step);

    /// Ends a COPY ... FROM STDIN with an error (the server discards what it
    /// received), so that the connection leaves the copy state; never throws.
    void abort_copy(const char* reason) noexcept;

    /// Tells the caller about a step.
    void report(const std::string& line) const {
        if (progress_) progress_(line);
    }

    /// Rolls back an open transaction (best effort: closing the connection
    /// rolls it back too).
    void rollback();

private:
    static void on_notice(void* self, const char* message);

    std::string where_;
    std::function<void(const std::string&)> progress_;
    PGconn* conn_ = nullptr;
};

}  // namespace vo::obscore
