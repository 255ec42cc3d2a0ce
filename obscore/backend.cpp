// Choosing the query backend of a database string (obscore/backend.hpp).
#include "obscore/backend.hpp"

#include "obscore/clock.hpp"
#include "obscore/pg_backend.hpp"
#include "obscore/pg_writer.hpp"
#include "obscore/sqlite_backend.hpp"
#include "obscore/store.hpp"
#include "obscore/writer.hpp"

namespace vo::obscore {

namespace {

/// The scheme of a URL ("postgresql" of "postgresql://host/db"), or "" when
/// `database` is not `scheme://...` (RFC 3986 section 3.1: a letter, then
/// letters, digits, '+', '-', '.'), i.e. a file path.
std::string url_scheme(const std::string& database) {
    const auto end = database.find("://");
    if (end == std::string::npos || end == 0) return "";
    const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!letter(database[0])) return "";
    for (std::size_t i = 1; i < end; ++i) {
        const char c = database[i];
        if (!letter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return "";
    }
    return database.substr(0, end);
}

}  // namespace

std::unique_ptr<QueryBackend> open_query_backend(const std::string& database, const BackendLimits& limits) {
    if (database.empty()) throw StoreError("no store configured ([archive] database is empty)");
    // a malformed VOSERVER_NOW (obscore/clock.hpp) stops the server at start,
    // not its first query of data_rights or of protected metadata
    try {
        (void)archive_now();
    } catch (const std::runtime_error& e) {
        throw StoreError(e.what());
    }
    if (const std::string scheme = url_scheme(database); !scheme.empty()) {
        if (scheme == "postgresql" || scheme == "postgres") return open_pg_query_backend(database, limits);
        // the URL itself is not repeated: it may hold a password
        throw StoreError("the store is a " + scheme + ":// URL, and this build has no backend for " + scheme +
                         "; the store must be the path of a SQLite store file or a postgresql:// URL");
    }
    return open_sqlite_query_backend(database, limits);
}

bool is_postgresql_url(const std::string& database) {
    const std::string scheme = url_scheme(database);
    return scheme == "postgresql" || scheme == "postgres";
}

std::unique_ptr<ArchiveWriter> open_archive_writer(const std::string& database,
                                                   const std::vector<ExtensionColumn>& extension_columns) {
    if (database.empty()) throw StoreError("no store configured ([archive] database is empty)");
    if (is_postgresql_url(database)) return open_pg_archive_writer(database, extension_columns);
    if (const std::string scheme = url_scheme(database); !scheme.empty())
        throw StoreError("the store is a " + scheme + ":// URL, and this build has no backend for " + scheme +
                         "; the store must be the path of a SQLite store file or a postgresql:// URL");
    return Store::open_for_write(database, column_defs(extension_columns));
}

}  // namespace vo::obscore
