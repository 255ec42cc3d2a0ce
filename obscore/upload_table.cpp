// Upload tables (obscore/upload_table.hpp): TAP 1.1 section 2.5.
#include "obscore/upload_table.hpp"
#include "fits/text.hpp"

#include <sqlite3.h>

#include <atomic>
#include <set>

namespace vo::obscore {

namespace {

using fits::lower;

std::string sql_type(const adql::ColumnInfo& c) {
    if (!c.arraysize.empty() && c.datatype != "char" && c.datatype != "unicodeChar") return "TEXT";
    const std::string& d = c.datatype;
    if (d == "boolean" || d == "unsignedByte" || d == "short" || d == "int" || d == "long") return "INTEGER";
    if (d == "float" || d == "double") return "REAL";
    return "TEXT";
}

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    throw StoreError("upload table: " + what + ": " + sqlite3_errmsg(db));
}

std::atomic<unsigned long long> next_id{0};

}  // namespace

struct UploadTable::Insert {
    sqlite3_stmt* stmt = nullptr;
    ~Insert() { sqlite3_finalize(stmt); }
};

UploadTable::UploadTable(Store& store, std::string physical) : store_(store), physical_(std::move(physical)) {}

std::unique_ptr<UploadTable> UploadTable::create(Store& store, const std::string& name,
                                                 std::vector<adql::ColumnInfo> columns) {
    std::set<std::string> seen;
    for (const auto& c : columns)
        if (!seen.insert(lower(c.name)).second)
            throw StoreError("the uploaded table " + name + " has two columns named \"" + c.name +
                             "\" (ADQL names are case-insensitive)");
    const std::string physical = "voserver_upload_" + std::to_string(++next_id);
    std::unique_ptr<UploadTable> t(new UploadTable(store, physical));
    t->info_.schema = kUploadSchema;
    t->info_.name = name;
    t->info_.physical = physical;
    t->info_.description = "table uploaded with this query (TAP 1.1 section 2.5)";
    std::string sql = "CREATE TEMP TABLE \"" + physical + "\" (";
    std::string insert = "INSERT INTO temp.\"" + physical + "\" VALUES (";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        auto& c = columns[i];
        c.physical = "c" + std::to_string(i + 1);
        if (i) sql += ", ", insert += ", ";
        sql += c.physical + " " + sql_type(c);
        insert += "?";
    }
    sql += ")";
    insert += ")";
    t->info_.columns = std::move(columns);
    sqlite3* db = store.db();
    // temp writes stay allowed until finish() (or the destructor): no other
    // statement runs on the connection while the table is being filled
    store.allow_temp_writes(true);
    t->writable_ = true;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, "cannot create it");
    t->insert_ = std::make_unique<Insert>();
    if (sqlite3_prepare_v2(db, insert.c_str(), -1, &t->insert_->stmt, nullptr) != SQLITE_OK)
        fail(db, "cannot prepare its insert");
    return t;
}

void UploadTable::insert(const std::vector<UploadCell>& row) {
    sqlite3* db = store_.db();
    if (!insert_) throw StoreError("upload table " + info_.name + ": insert after finish");
    if (row.size() != info_.columns.size()) throw StoreError("upload table " + info_.name + ": wrong number of cells");
    if (!in_transaction_) {
        if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, "cannot begin");
        in_transaction_ = true;
    }
    sqlite3_stmt* s = insert_->stmt;
    for (std::size_t i = 0; i < row.size(); ++i) {
        const auto& c = row[i];
        const int k = static_cast<int>(i + 1);
        int rc = SQLITE_OK;
        switch (c.kind) {
            case UploadCell::Kind::null: rc = sqlite3_bind_null(s, k); break;
            case UploadCell::Kind::integer: rc = sqlite3_bind_int64(s, k, c.integer); break;
            case UploadCell::Kind::real: rc = sqlite3_bind_double(s, k, c.real); break;
            case UploadCell::Kind::text:
                rc = sqlite3_bind_text64(s, k, c.text.data(), c.text.size(), SQLITE_STATIC, SQLITE_UTF8);
                break;
        }
        if (rc != SQLITE_OK) fail(db, "cannot bind a value");
    }
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) fail(db, "cannot insert a row");
    ++rows_;
}

void UploadTable::finish() {
    sqlite3* db = store_.db();
    insert_.reset();
    if (in_transaction_) {
        in_transaction_ = false;
        if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, "cannot commit");
    }
    writable_ = false;
    store_.allow_temp_writes(false);
}

UploadTable::~UploadTable() {
    sqlite3* db = store_.db();
    insert_.reset();
    try {
        if (!writable_) store_.allow_temp_writes(true);
        if (in_transaction_) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        const std::string drop = "DROP TABLE IF EXISTS temp.\"" + physical_ + "\"";
        sqlite3_exec(db, drop.c_str(), nullptr, nullptr, nullptr);
        store_.allow_temp_writes(false);
    } catch (...) {
        // a TEMP table goes with its connection in any case; the authorizer
        // keeps the store's own tables read-only whatever query_only says
    }
}

}  // namespace vo::obscore
