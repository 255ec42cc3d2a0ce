#include "obscore/store.hpp"
#include "fits/text.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <set>

#include "obscore/access.hpp"
#include "obscore/clock.hpp"
#include "obscore/profile.hpp"
#include "obscore/spatial_index.hpp"
#include "obscore/tap_schema.hpp"

namespace vo::obscore {

namespace {

using fits::lower;

constexpr int kStoreVersion = 1;

/// Quotes an SQL identifier for SQLite ("a""b").
std::string quote_ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

[[noreturn]] void fail(sqlite3* db, const std::string& path, const std::string& what) {
    throw StoreError("store " + path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

void exec(sqlite3* db, const std::string& path, const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw StoreError("store " + path + ": " + msg + " (in: " + sql.substr(0, 120) + ")");
    }
}

/// Binds values to a statement and steps it; errors name the store.
class Binder {
public:
    Binder(sqlite3* db, const std::string& path, sqlite3_stmt* stmt) : db_(db), path_(path), stmt_(stmt) {}
    Binder(const Binder&) = delete;
    Binder& operator=(const Binder&) = delete;
    sqlite3_stmt* get() const { return stmt_; }

    // Every bind checks its return code (a wrong index or a value too large
    // for SQLITE_LIMIT_LENGTH must not leave a silently NULL column).
    void bind_null(int i) { check(sqlite3_bind_null(stmt_, i), i); }
    void bind(int i, const std::string& v) {
        check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8), i);
    }
    void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(stmt_, i, v), i); }
    void bind(int i, double v) { check(sqlite3_bind_double(stmt_, i, v), i); }
    template <class T>
    void bind(int i, const std::optional<T>& v) {
        if (v)
            bind(i, *v);
        else
            bind_null(i);
    }
    /// Steps once; returns true while rows come. Throws StoreError.
    bool step() {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(db_, path_, "statement failed");
    }
    std::string text(int i) const {
        auto p = sqlite3_column_text(stmt_, i);
        return p ? reinterpret_cast<const char*>(p) : "";
    }

protected:
    void check(int rc, int index) {
        if (rc != SQLITE_OK) fail(db_, path_, "cannot bind value " + std::to_string(index));
    }

    sqlite3* db_;
    const std::string& path_;
    sqlite3_stmt* stmt_;
};

/// A statement prepared for one use, finalized at the end of the scope.
class Stmt : public Binder {
public:
    Stmt(sqlite3* db, const std::string& path, const std::string& sql) : Binder(db, path, nullptr) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
            fail(db, path, "cannot prepare \"" + sql.substr(0, 120) + "\"");
    }
    ~Stmt() { sqlite3_finalize(stmt_); }
};

/// A statement the Store keeps prepared, reset at the end of the scope.
class Bound : public Binder {
public:
    using Binder::Binder;
    ~Bound() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
};

/// The catalogue read back from TAP_SCHEMA.
class TapSchemaCatalog : public adql::Catalog {
public:
    explicit TapSchemaCatalog(std::vector<adql::TableInfo> tables) : tables_(std::move(tables)) {}
    const std::vector<adql::TableInfo>& tables() const override { return tables_; }

private:
    std::vector<adql::TableInfo> tables_;
};

/// Strips ADQL delimiters from a TAP_SCHEMA name ("size" -> size).
std::string undelimit(const std::string& name) {
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
        std::string out;
        for (size_t i = 1; i + 1 < name.size(); ++i) {
            out += name[i];
            if (name[i] == '"' && i + 2 < name.size() && name[i + 1] == '"') ++i;
        }
        return out;
    }
    return name;
}

std::vector<ColumnDef> all_obscore_columns(const std::vector<ColumnDef>& extension) {
    std::vector<ColumnDef> cols = obscore_columns();
    for (const auto& c : extension) {
        if (find_obscore_column(c.name))
            throw StoreError("extension column '" + c.name + "' clashes with an ObsCore column");
        cols.push_back(c);
    }
    return cols;
}

}  // namespace

Store::Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

Store::~Store() {
    spatial_writer_.reset();
    sqlite3_finalize(upsert_stmt_);
    sqlite3_finalize(file_stmt_);
    sqlite3_finalize(data_version_stmt_);
    if (db_) sqlite3_close_v2(db_);
}

std::unique_ptr<Store> Store::open_for_write(const std::string& path, const std::vector<ColumnDef>& extension_columns) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    std::unique_ptr<Store> store(new Store(db, path));
    if (rc != SQLITE_OK) fail(db, path, "cannot open for writing");
    sqlite3_busy_timeout(db, 10000);
    exec(db, path, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");

    const auto columns = all_obscore_columns(extension_columns);
    exec(db, path, "BEGIN IMMEDIATE");
    try {
        exec(db, path, "CREATE TABLE IF NOT EXISTS voserver_meta (key TEXT PRIMARY KEY, value TEXT)");
        {
            Stmt s(db, path, "SELECT value FROM voserver_meta WHERE key='store_version'");
            if (s.step() && std::stoi(s.text(0)) > kStoreVersion)
                throw StoreError("store " + path + " was written by a newer voserver (version " + s.text(0) + ")");
        }
        exec(db, path,
             "INSERT OR REPLACE INTO voserver_meta VALUES ('store_version', '" + std::to_string(kStoreVersion) + "')");

        // ivoa.obscore: create, or add columns that a new configuration declares.
        std::set<std::string> existing;
        {
            Stmt s(db, path, std::string("PRAGMA table_info(") + kObsCoreTable + ")");
            while (s.step()) existing.insert(lower(s.text(1)));
        }
        if (existing.empty()) {
            // An explicit INTEGER PRIMARY KEY keeps row ids stable across VACUUM,
            // which the spatial index (ivoa_obscore_s2.row_id) relies on. It is
            // not an ObsCore column and is not published in TAP_SCHEMA.
            std::string sql = std::string("CREATE TABLE ") + kObsCoreTable + " (voserver_row_id INTEGER PRIMARY KEY, ";
            for (const auto& c : columns) {
                sql += quote_ident(c.name) + " " + c.sql_type();
                if (c.not_null) sql += " NOT NULL";
                sql += ", ";
            }
            sql += "UNIQUE (obs_publisher_did))";
            exec(db, path, sql);
        } else {
            for (const auto& c : columns)
                if (!existing.count(lower(c.name)))
                    exec(db, path,
                         std::string("ALTER TABLE ") + kObsCoreTable + " ADD COLUMN " + quote_ident(c.name) + " " +
                             c.sql_type());
        }
        for (const auto& c : columns) {
            if (!c.indexed || c.name == "obs_publisher_did" || c.adql_type == "REGION") continue;
            exec(db, path,
                 std::string("CREATE INDEX IF NOT EXISTS ") + kObsCoreTable + "_" + c.name + " ON " + kObsCoreTable +
                     " (" + quote_ident(c.name) + ")");
        }
        exec(db, path,
             "CREATE TABLE IF NOT EXISTS voserver_files (obs_publisher_did TEXT PRIMARY KEY, path TEXT NOT NULL, "
             "size_bytes INTEGER, mtime INTEGER, image_hdus TEXT)");
        write_tap_schema(db, path, columns);
        // issue 12: the columns queries compute as data_rights (obscore/access.hpp)
        {
            std::string names;
            for (const auto& c : extension_columns)
                if (c.data_rights) names += c.name + "\n";
            Stmt s(db, path, "INSERT OR REPLACE INTO voserver_meta VALUES (?1, ?2)");
            s.bind(1, std::string(kDataRightsColumnsKey));
            s.bind(2, names);
            s.step();
        }
        create_spatial_index_schema(db);  // issue 3 item 3: S2 cells of s_ra/s_dec and s_region
        exec(db, path, "COMMIT");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    store->load_catalog();
    return store;
}

void Store::load_catalog() {
    std::vector<adql::TableInfo> tables;
    {
        Stmt s(db_, path_,
               "SELECT schema_name, table_name, COALESCE(description, '') FROM tap_schema_tables "
               "ORDER BY table_index, table_name");
        while (s.step()) {
            adql::TableInfo t;
            t.schema = s.text(0);
            std::string qualified = s.text(1);
            auto dot = qualified.rfind('.');
            t.name = undelimit(dot == std::string::npos ? qualified : qualified.substr(dot + 1));
            t.physical = physical_table_name(t.schema, t.name);
            t.description = s.text(2);
            tables.push_back(std::move(t));
        }
    }
    Stmt s(db_, path_,
           "SELECT table_name, column_name, datatype, COALESCE(arraysize,''), COALESCE(xtype,''), "
           "COALESCE(unit,''), COALESCE(ucd,''), COALESCE(utype,''), COALESCE(description,''), indexed, "
           "principal, std FROM tap_schema_columns ORDER BY column_index");
    while (s.step()) {
        std::string table = s.text(0);
        auto it = std::find_if(tables.begin(), tables.end(),
                               [&](const adql::TableInfo& t) { return t.schema + "." + t.name == table; });
        if (it == tables.end()) continue;
        adql::ColumnInfo c;
        c.name = undelimit(s.text(1));
        c.physical = c.name;
        c.datatype = s.text(2);
        c.arraysize = s.text(3);
        c.xtype = s.text(4);
        c.unit = s.text(5);
        c.ucd = s.text(6);
        c.utype = s.text(7);
        c.description = s.text(8);
        c.indexed = sqlite3_column_int(s.get(), 9) != 0;
        c.principal = sqlite3_column_int(s.get(), 10) != 0;
        c.std = sqlite3_column_int(s.get(), 11) != 0;
        // access_url is stored as a path below the server's base URL (or, by
        // stores of earlier versions, absolute): completed at query time
        if (it->physical == kObsCoreTable && c.name == "access_url")
            c.sql_template = "CASE WHEN substr({}, 1, 1) = '/' THEN vo_base_url() || {} ELSE {} END";
        it->columns.push_back(std::move(c));
    }
    // data_rights computed at query time from obs_release_date (issue 12);
    // stores written before it keep their stored values
    {
        Stmt m(db_, path_, "SELECT value FROM voserver_meta WHERE key = ?1");
        m.bind(1, std::string(kDataRightsColumnsKey));
        if (m.step()) apply_data_rights_templates(tables, m.text(0), "");
    }
    for (auto& t : tables)
        if (t.physical == kObsCoreTable) t.spatial_index = spatial_index_info(db_);
    catalog_ = std::make_unique<TapSchemaCatalog>(std::move(tables));
}

const adql::Catalog& Store::catalog() const { return *catalog_; }

void Store::begin() {
    exec(db_, path_, "BEGIN IMMEDIATE");
    // into an empty table: a bulk load (finish_bulk_load())
    {
        Stmt empty(db_, path_, std::string("SELECT NOT EXISTS (SELECT 1 FROM ") + kObsCoreTable + ")");
        bulk_load_ = empty.step() && sqlite3_column_int(empty.get(), 0) == 1;
    }
    if (!bulk_load_) return;
    // The unique keys on obs_publisher_did (ivoa_obscore's and
    // voserver_files') take rows in the order the files come, i.e. at random
    // places: in SQLite's default 2 MB page cache their pages are spilled to
    // the WAL and read again for every few rows once they outgrow it (a
    // 10,000,000-row load wrote a 12.5 GB WAL in 17 minutes). The page cache
    // grows to kBulkLoadCacheKiB for the load (pages are allocated as used).
    {
        Stmt size(db_, path_, "PRAGMA cache_size");
        bulk_cache_size_ = size.step() ? sqlite3_column_int64(size.get(), 0) : -2000;
    }
    exec(db_, path_, "PRAGMA cache_size = -" + std::to_string(kBulkLoadCacheKiB));
    Stmt indexes(db_, path_,
                 std::string("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '") +
                     kObsCoreTable + "' AND sql IS NOT NULL ORDER BY name");
    std::string drop;
    while (indexes.step()) {
        drop += "DROP INDEX " + quote_ident(indexes.text(0)) + "; ";
        bulk_indexes_.push_back(indexes.text(1));
    }
    if (!drop.empty()) exec(db_, path_, drop);
}

void Store::finish_bulk_load() {
    if (!bulk_load_) return;
    bulk_load_ = false;
    rebuild_spatial_index(db_);
    for (const auto& sql : bulk_indexes_) exec(db_, path_, sql);
    bulk_indexes_.clear();
    exec(db_, path_, "PRAGMA cache_size = " + std::to_string(bulk_cache_size_));
}

void Store::update_derived_columns(const std::vector<ExtensionColumn>& columns, const std::string& collection,
                                   std::time_t now) {
    finish_bulk_load();  // the expressions may use the indexes
    evaluate_derived_columns(*this, columns, collection, now);
}
void Store::commit() {
    finish_bulk_load();
    exec(db_, path_, "COMMIT");
}

void Store::upsert(const ObsCoreRecord& r, const ProductFile& file) {
    if (r.obs_publisher_did.empty()) throw StoreError("a row needs an obs_publisher_did");
    // Column list: every ObsCore column, then the extension columns the record carries.
    const auto& cols = obscore_columns();
    std::vector<std::string> names;
    for (const auto& c : cols) names.push_back(c.name);
    for (const auto& [name, value] : r.extra) names.push_back(name);

    std::string sql = std::string("INSERT INTO ") + kObsCoreTable + " (";
    std::string values, updates;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) {
            sql += ", ";
            values += ", ";
        }
        sql += quote_ident(names[i]);
        values += "?" + std::to_string(i + 1);
        if (names[i] != "obs_publisher_did") {
            if (!updates.empty()) updates += ", ";
            updates += quote_ident(names[i]) + " = excluded." + quote_ident(names[i]);
        }
    }
    sql += ") VALUES (" + values + ") ON CONFLICT (obs_publisher_did) DO UPDATE SET " + updates;
    if (sql != upsert_sql_ || !upsert_stmt_) {
        sqlite3_finalize(upsert_stmt_);
        upsert_stmt_ = nullptr;
        if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &upsert_stmt_, nullptr) != SQLITE_OK)
            fail(db_, path_, "cannot prepare the upsert");
        upsert_sql_ = sql;
    }
    Bound s(db_, path_, upsert_stmt_);

    // Values: each ObsCore column's accessor (obscore/columns.hpp), then the
    // extension columns, in the order of `names`.
    int i = 0;
    auto bind_value = [&](const ExtraValue& value) {
        ++i;
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>)
                    s.bind_null(i);
                else
                    s.bind(i, v);
            },
            value);
    };
    for (const auto& c : cols) bind_value(c.value(r));
    for (const auto& [name, value] : r.extra) bind_value(value);
    s.step();
    if (!bulk_load_) {  // a bulk load indexes every row at its end
        if (!spatial_writer_) spatial_writer_ = std::make_unique<SpatialIndexWriter>(db_);
        spatial_writer_->index_product(r.obs_publisher_did, r.s_ra, r.s_dec, stcs_region(r));
    }

    if (!file_stmt_ &&
        sqlite3_prepare_v3(db_,
                           "INSERT OR REPLACE INTO voserver_files (obs_publisher_did, path, size_bytes, mtime, "
                           "image_hdus) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, SQLITE_PREPARE_PERSISTENT, &file_stmt_, nullptr) != SQLITE_OK)
        fail(db_, path_, "cannot prepare the file upsert");
    Bound f(db_, path_, file_stmt_);
    f.bind(1, r.obs_publisher_did);
    f.bind(2, file.path);
    f.bind(3, static_cast<std::int64_t>(file.size_bytes));
    f.bind(4, static_cast<std::int64_t>(file.mtime));
    std::string hdus;
    for (int h : file.image_hdus) hdus += (hdus.empty() ? "" : ",") + std::to_string(h);
    f.bind(5, hdus);
    f.step();
}

std::string Store::visible_rows(const RowVisibility& visibility, const std::string& qualifier) const {
    if (visibility.everything()) return {};
    const adql::TableInfo* obscore = nullptr;
    for (const auto& t : catalog_->tables())
        if (t.physical == kObsCoreTable) obscore = &t;
    if (!obscore) throw StoreError("store " + path_ + ": TAP_SCHEMA does not publish ivoa.obscore");
    AccessSql sql;
    sql.now = "'" + iso_utc(archive_now()) + "'";  // digits, '-', 'T' and ':' only
    try {
        return " AND " + visibility_condition(visibility, *obscore, qualifier, sql);
    } catch (const adql::AdqlError& e) {
        throw StoreError("store " + path_ + ": " + e.what());
    }
}

std::optional<ProductFile> Store::find_product(const std::string& obs_publisher_did,
                                               const RowVisibility& visibility) const {
    Stmt s(db_, path_,
           std::string("SELECT f.path, f.size_bytes, f.mtime, f.image_hdus, o.obs_collection, o.proposal_id, "
                       "o.obs_release_date FROM voserver_files AS f LEFT JOIN ") +
               kObsCoreTable + " AS o ON o.obs_publisher_did = f.obs_publisher_did WHERE f.obs_publisher_did = ?1" +
               visible_rows(visibility, "o."));
    s.bind(1, obs_publisher_did);
    if (!s.step()) return std::nullopt;
    ProductFile p;
    p.path = s.text(0);
    p.size_bytes = sqlite3_column_int64(s.get(), 1);
    p.mtime = sqlite3_column_int64(s.get(), 2);
    std::string hdus = s.text(3);
    size_t pos = 0;
    while (pos < hdus.size()) {
        size_t comma = hdus.find(',', pos);
        if (comma == std::string::npos) comma = hdus.size();
        int v = 0;
        std::from_chars(hdus.data() + pos, hdus.data() + comma, v);
        p.image_hdus.push_back(v);
        pos = comma + 1;
    }
    auto optional_text = [&](int i) -> std::optional<std::string> {
        if (sqlite3_column_type(s.get(), i) == SQLITE_NULL) return std::nullopt;
        return s.text(i);
    };
    p.obs_collection = optional_text(4);
    p.proposal_id = optional_text(5);
    p.obs_release_date = optional_text(6);
    return p;
}

std::optional<std::string> Store::find_dataproduct_type(const std::string& obs_publisher_did,
                                                        const RowVisibility& visibility) const {
    Stmt s(db_, path_,
           std::string("SELECT COALESCE(dataproduct_type, '') FROM ") + kObsCoreTable +
               " WHERE obs_publisher_did = ?1" + visible_rows(visibility, ""));
    s.bind(1, obs_publisher_did);
    if (!s.step()) return std::nullopt;
    return s.text(0);
}

std::optional<std::string> Store::find_did_by_obs_id(const std::string& obs_id, const RowVisibility& visibility) const {
    Stmt s(db_, path_,
           std::string("SELECT obs_publisher_did FROM ") + kObsCoreTable + " WHERE obs_id = ?1" +
               visible_rows(visibility, "") + " LIMIT 2");
    s.bind(1, obs_id);
    if (!s.step()) return std::nullopt;
    std::string did = s.text(0);
    if (s.step()) return std::nullopt;  // ambiguous: the same obs_id in two collections
    return did;
}

long long Store::count_rows() const {
    Stmt s(db_, path_, std::string("SELECT COUNT(*) FROM ") + kObsCoreTable);
    s.step();
    return sqlite3_column_int64(s.get(), 0);
}

std::vector<ForeignKey> Store::foreign_keys() const {
    std::vector<ForeignKey> keys;
    {
        Stmt has(db_, path_,
                 "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('tap_schema_keys', 'tap_schema_key_columns')");
        has.step();
        if (sqlite3_column_int64(has.get(), 0) < 2) return keys;  // a store written before keys existed
    }
    std::vector<std::string> ids;
    {
        Stmt s(db_, path_,
               "SELECT key_id, from_table, target_table, COALESCE(description,''), COALESCE(utype,'') "
               "FROM tap_schema_keys ORDER BY key_id");
        while (s.step()) {
            ids.push_back(s.text(0));
            keys.push_back({s.text(1), s.text(2), {}, s.text(3), s.text(4)});
        }
    }
    Stmt s(db_, path_, "SELECT key_id, from_column, target_column FROM tap_schema_key_columns");
    while (s.step()) {
        const std::string id = s.text(0);
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (ids[i] == id) keys[i].columns.emplace_back(s.text(1), s.text(2));
    }
    return keys;
}

std::map<std::string, long long> Store::collection_counts(const RowVisibility& visibility) const {
    std::map<std::string, long long> counts;
    Stmt s(db_, path_,
           std::string("SELECT obs_collection, COUNT(*) FROM ") + kObsCoreTable + " WHERE 1" +
               visible_rows(visibility, "") + " GROUP BY obs_collection");
    while (s.step()) counts[s.text(0)] = sqlite3_column_int64(s.get(), 1);
    return counts;
}

}  // namespace vo::obscore
