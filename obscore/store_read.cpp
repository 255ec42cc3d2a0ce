// The read-only side of the store, kept apart so that ingestion tools do not
// pull in the ADQL SQL functions.
#include <sqlite3.h>

#include <string_view>

#include "obscore/sql_functions.hpp"
#include "obscore/store.hpp"

namespace vo::obscore {

namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& path, const std::string& what) {
    throw StoreError("store " + path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

/// Denies every write: the query connection may only read (DESIGN.md "Storage").
/// `flag` points to Store::temp_writes_: while it is set (an upload table is
/// being made or dropped), statements on the temp database are allowed too.
int authorize_read_only(void* flag, int action, const char* arg1, const char*, const char* database, const char*) {
    // PRAGMA data_version only reads a counter: how refresh_if_changed() sees an ingest.
    if (action == SQLITE_PRAGMA && arg1 && std::string_view(arg1) == "data_version") return SQLITE_OK;
    if (flag && *static_cast<const bool*>(flag)) {
        switch (action) {
            case SQLITE_CREATE_TEMP_TABLE:
            case SQLITE_DROP_TEMP_TABLE:
            case SQLITE_TRANSACTION:
            case SQLITE_PRAGMA: return SQLITE_OK;
            default:
                if (database && std::string_view(database) == "temp") return SQLITE_OK;
                break;
        }
    }
    switch (action) {
        case SQLITE_SELECT:
        case SQLITE_READ:
        case SQLITE_FUNCTION:
        case SQLITE_RECURSIVE: return SQLITE_OK;
        default: return SQLITE_DENY;
    }
}

}  // namespace

std::unique_ptr<Store> Store::open_read_only(const std::string& path) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<Store> store(new Store(db, path));
    if (rc != SQLITE_OK) fail(db, path, "cannot open read-only");
    sqlite3_busy_timeout(db, 5000);
    {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT value FROM voserver_meta WHERE key='store_version'", -1, &s, nullptr) !=
            SQLITE_OK) {
            sqlite3_finalize(s);
            throw StoreError("store " + path +
                             " is not a voserver store (run `voserver ingest` or `voserver build-demo`)");
        }
        sqlite3_finalize(s);
    }
    if (sqlite3_exec(db, "PRAGMA query_only=1", nullptr, nullptr, nullptr) != SQLITE_OK)
        fail(db, path, "cannot make the connection query-only");
    if (register_sql_functions(db) != SQLITE_OK) fail(db, path, "cannot register the ADQL SQL functions");
    store->load_catalog();
    sqlite3_set_authorizer(db, authorize_read_only, &store->temp_writes_);
    store->refresh_if_changed();  // the baseline data version
    return store;
}

void set_process_memory_limit(long long bytes) { sqlite3_hard_heap_limit64(bytes > 0 ? bytes : 0); }

bool Store::refresh_if_changed() {
    if (!data_version_stmt_ && sqlite3_prepare_v3(db_, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                                                  &data_version_stmt_, nullptr) != SQLITE_OK)
        fail(db_, path_, "cannot read the data version");
    long long version = -1;
    if (sqlite3_step(data_version_stmt_) == SQLITE_ROW) version = sqlite3_column_int64(data_version_stmt_, 0);
    sqlite3_reset(data_version_stmt_);
    if (version < 0) fail(db_, path_, "cannot read the data version");
    if (data_version_ < 0) {  // first call: the baseline, taken right after open
        data_version_ = version;
        return false;
    }
    if (version == data_version_) return false;
    data_version_ = version;
    load_catalog();
    return true;
}

void Store::allow_temp_writes(bool allow) {
    // the flag is set while the PRAGMA runs, so that the authorizer lets it
    temp_writes_ = true;
    const int rc = sqlite3_exec(db_, allow ? "PRAGMA query_only=0" : "PRAGMA query_only=1", nullptr, nullptr, nullptr);
    temp_writes_ = allow;
    if (rc != SQLITE_OK) fail(db_, path_, "cannot switch query_only");
}

}  // namespace vo::obscore
