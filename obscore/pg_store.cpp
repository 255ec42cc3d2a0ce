// Publishing a SQLite store into PostgreSQL + pgSphere (obscore/pg_store.hpp;
// issue 11): the tables TAP_SCHEMA lists (TAP 1.1 section 4) and the files
// table are built in staging schemas (voserver_load_*), bulk-loaded with COPY,
// indexed, analyzed and granted, and then swapped in for the published schemas
// (ivoa, tap_schema, voserver) by DROP + ALTER SCHEMA RENAME, all in one
// transaction: queries read the old content while a load runs and wait only
// for the swap and the commit.
#include "obscore/pg_store.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adql/sql_writer.hpp"
#include "fits/text.hpp"
#include "obscore/access.hpp"
#include "obscore/backend.hpp"
#include "obscore/geometry_text.hpp"
#include "obscore/pg_functions.hpp"
#include "obscore/pg_session.hpp"
#include "obscore/tap_schema.hpp"

namespace vo::obscore {

namespace {

using fits::lower;
constexpr auto quote_ident = adql::SqlWriter::quote_ident;
using Clock = std::chrono::steady_clock;

/// The published schemas of the layout (pg_store.hpp), and the staging
/// schema each is built in before the swap at the end of the load.
struct SchemaPair {
    const char* published;
    const char* staging;
};
constexpr SchemaPair kSchemas[] = {
    {"ivoa", "voserver_load_ivoa"}, {"tap_schema", "voserver_load_tap_schema"}, {"voserver", "voserver_load_voserver"}};

/// COPY data is sent to the server in chunks of about this many bytes.
constexpr std::size_t kCopyChunk = std::size_t{1} << 20;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// "0.12 s": a duration for the progress lines.
std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

/// `url` without its password (a URI's "user:password@", a `password`
/// query parameter or a `password=...` keyword of a key/value connection
/// string; PostgreSQL 15 manual section 34.1.1), for messages.
std::string without_password(const std::string& url) {
    std::string out = url;
    const auto scheme = out.find("://");
    if (scheme != std::string::npos) {
        const auto start = scheme + 3;
        auto end = out.find_first_of("/?", start);
        if (end == std::string::npos) end = out.size();
        const auto at = out.rfind('@', end == 0 ? 0 : end - 1);
        if (at != std::string::npos && at >= start) {
            const auto colon = out.find(':', start);
            if (colon < at) out.erase(colon, at - colon);
        }
        const auto query = out.find('?', start);
        if (query == std::string::npos) return out;
        std::string kept;
        std::size_t pos = query + 1;
        while (pos <= out.size()) {
            auto amp = out.find('&', pos);
            if (amp == std::string::npos) amp = out.size();
            const std::string param = out.substr(pos, amp - pos);
            if (!param.empty() && lower(param.substr(0, param.find('='))) != "password")
                kept += (kept.empty() ? "" : "&") + param;
            pos = amp + 1;
        }
        return out.substr(0, query) + (kept.empty() ? "" : "?" + kept);
    }
    // key/value form: drop `password = value` (value quoted or not)
    std::string kept;
    std::size_t i = 0;
    while (i < out.size()) {
        const auto key_start = out.find_first_not_of(" \t\n", i);
        if (key_start == std::string::npos) break;
        auto eq = out.find('=', key_start);
        if (eq == std::string::npos) {
            kept += (kept.empty() ? "" : " ") + out.substr(key_start);
            break;
        }
        std::string key = fits::trim(out.substr(key_start, eq - key_start));
        auto value_start = out.find_first_not_of(" \t\n", eq + 1);
        if (value_start == std::string::npos) value_start = out.size();
        auto value_end = value_start;
        if (value_end < out.size() && out[value_end] == '\'') {
            for (++value_end; value_end < out.size() && out[value_end] != '\''; ++value_end)
                if (out[value_end] == '\\') ++value_end;
            value_end = std::min(value_end + 1, out.size());
        } else {
            while (value_end < out.size() && out[value_end] != ' ' && out[value_end] != '\t' && out[value_end] != '\n')
                ++value_end;
        }
        if (lower(key) != "password")
            kept += (kept.empty() ? "" : " ") + key + "=" + out.substr(value_start, value_end - value_start);
        i = value_end;
    }
    return kept;
}

/// Strips ADQL delimiters from a TAP_SCHEMA name ("size" -> size).
std::string undelimit(const std::string& name) {
    if (name.size() < 2 || name.front() != '"' || name.back() != '"') return name;
    std::string out;
    for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        out += name[i];
        if (name[i] == '"' && name[i + 1] == '"') ++i;
    }
    return out;
}

/// The PostgreSQL type of a column from its VOTable datatype and arraysize
/// (TAP_SCHEMA.columns, TAP 1.1 section 4.3), as pg_store.hpp maps them.
std::string pg_type(const std::string& datatype, const std::string& arraysize) {
    if (datatype == "char" || datatype == "unicodeChar") return "text";
    if (!arraysize.empty() && arraysize != "1") return "text";  // arrays: their TABLEDATA text
    if (datatype == "short" || datatype == "boolean" || datatype == "unsignedByte") return "smallint";
    if (datatype == "int") return "integer";
    if (datatype == "long") return "bigint";
    if (datatype == "float") return "double precision";  // SQLite keeps 8 bytes: the same values on both
    if (datatype == "double") return "double precision";
    return "text";
}

// ---------------------------------------------------------------- the spatial companions

/// The margin every bound adds (kBoundMargin of pg_functions.sql), radians.
constexpr double kBoundMargin = 1e-7;
constexpr double kRadPerDeg = M_PI / 180.0;  // PostgreSQL's radians() multiplies by the same double

void append_number(std::string& out, double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
    out.append(buf, r.ptr);
}

/// "(lon , lat)" in radians, lon reduced to [0, 2 pi) as pgSphere keeps it.
std::string spoint_text(double ra_deg, double dec_deg) {
    double lon = std::fmod(ra_deg, 360.0);
    if (lon < 0) lon += 360.0;
    std::string out = "(";
    append_number(out, lon * kRadPerDeg);
    out += " , ";
    append_number(out, dec_deg * kRadPerDeg);
    return out + ")";
}

/// voserver_bound_circle(): the circle (ra, dec, r degrees) plus the margin;
/// nullopt when invalid or larger than 90 degrees.
std::optional<std::string> bound_circle_text(double ra, double dec, double r) {
    if (!std::isfinite(ra) || !(dec >= -90 && dec <= 90) || !(r >= 0) || r * kRadPerDeg + kBoundMargin > M_PI / 2)
        return std::nullopt;
    std::string out = "<" + spoint_text(ra, dec) + " , ";
    append_number(out, r * kRadPerDeg + kBoundMargin);
    return out + ">";
}

// ---------------------------------------------------------------- PostgreSQL

// ---------------------------------------------------------------- SQLite

using SqliteStmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

/// The store being published, opened read-only, read in one transaction so
/// that an ingest committing meanwhile is seen entirely or not at all.
class SourceStore {
public:
    explicit SourceStore(const std::string& path) : path_(path) {
        sqlite3* db = nullptr;
        const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
        db_.reset(db);  // closed (ending the read transaction) with the object, also if this throws
        if (rc != SQLITE_OK) fail("cannot open read-only");
        sqlite3_busy_timeout(db_.get(), 10000);
        sqlite3_stmt* probe = nullptr;
        const bool ours = sqlite3_prepare_v2(db_.get(), "SELECT value FROM voserver_meta WHERE key='store_version'", -1,
                                             &probe, nullptr) == SQLITE_OK;
        sqlite3_finalize(probe);
        if (!ours)
            throw StoreError("store " + path +
                             " is not a voserver store (run `voserver ingest` or `voserver build-demo`)");
        if (sqlite3_exec(db_.get(), "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK)
            fail("cannot begin a read transaction");
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw StoreError("store " + path_ + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_.get()) : "out of memory"));
    }

    SqliteStmt prepare(const std::string& sql) const {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
            sqlite3_finalize(s);
            fail("cannot read (" + sql.substr(0, 160) + ")");
        }
        return SqliteStmt(s, sqlite3_finalize);
    }

    /// Steps `s`: true on a row, false when done; throws StoreError.
    bool step(sqlite3_stmt* s) const {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail("read failed");
    }

    static std::string text(sqlite3_stmt* s, int i) {
        const auto* p = sqlite3_column_text(s, i);
        return p ? reinterpret_cast<const char*>(p) : "";
    }

    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> db_{nullptr, &sqlite3_close_v2};
};

// ---------------------------------------------------------------- the plan

struct PgColumn {
    std::string name;  ///< physical name, the same in both databases
    std::string type;  ///< PostgreSQL type
    bool not_null = false;
    bool indexed = false;  ///< TAP_SCHEMA.columns.indexed, not s_region
};

/// One table to copy: where it is in SQLite, where it goes in PostgreSQL.
struct TablePlan {
    std::string source;  ///< SQLite table, e.g. ivoa_obscore
    std::string schema;  ///< published PostgreSQL schema, e.g. ivoa
    std::string name;    ///< PostgreSQL table in that schema, e.g. obscore
    std::vector<PgColumn> columns;

    std::string label() const { return schema + "." + name; }
    /// The table while it is loaded: "staging schema"."name".
    std::string staging() const;
};

/// The staging schema of a published one.
std::string staging_schema(const std::string& published) {
    for (const auto& s : kSchemas)
        if (published == s.published) return s.staging;
    throw StoreError("no staging schema for " + published);
}

std::string TablePlan::staging() const { return quote_ident(staging_schema(schema)) + "." + quote_ident(name); }

/// The tables TAP_SCHEMA publishes (TAP 1.1 section 4.2), each with the
/// columns TAP_SCHEMA.columns lists (section 4.3) in column_index order,
/// typed from their datatype/arraysize; then voserver.files.
std::vector<TablePlan> read_plan(const SourceStore& store) {
    std::vector<TablePlan> plan;
    auto tables =
        store.prepare("SELECT schema_name, table_name FROM tap_schema_tables ORDER BY table_index, table_name");
    auto columns = store.prepare(
        "SELECT column_name, datatype, COALESCE(arraysize, ''), COALESCE(xtype, ''), indexed "
        "FROM tap_schema_columns WHERE table_name = ?1 ORDER BY column_index, column_name");
    while (store.step(tables.get())) {
        const std::string schema = SourceStore::text(tables.get(), 0);
        const std::string qualified = SourceStore::text(tables.get(), 1);
        std::string name = qualified;
        if (name.size() > schema.size() && lower(name.substr(0, schema.size() + 1)) == lower(schema) + ".")
            name = name.substr(schema.size() + 1);
        name = undelimit(name);

        TablePlan t;
        t.schema = lower(schema);
        t.name = lower(name);
        t.source = physical_table_name(schema, name);
        if (t.schema != "ivoa" && t.schema != "tap_schema")
            throw StoreError("store " + store.path() + ": table " + qualified + " is in schema " + schema +
                             "; the PostgreSQL layout publishes ivoa and TAP_SCHEMA only");

        // NOT NULL as the SQLite table declares it (TAP_SCHEMA does not say).
        std::map<std::string, bool> physical;
        {
            auto info = store.prepare("PRAGMA table_info(" + quote_ident(t.source) + ")");
            while (store.step(info.get()))
                physical[lower(SourceStore::text(info.get(), 1))] = sqlite3_column_int(info.get(), 3) != 0;
        }
        if (physical.empty())
            throw StoreError("store " + store.path() + ": TAP_SCHEMA lists " + qualified + " but there is no table " +
                             t.source);

        sqlite3_reset(columns.get());
        sqlite3_bind_text(columns.get(), 1, qualified.c_str(), -1, SQLITE_TRANSIENT);
        while (store.step(columns.get())) {
            PgColumn c;
            c.name = undelimit(SourceStore::text(columns.get(), 0));
            c.type = pg_type(SourceStore::text(columns.get(), 1), SourceStore::text(columns.get(), 2));
            const bool region = SourceStore::text(columns.get(), 3) == "adql:REGION" || lower(c.name) == "s_region";
            c.indexed = sqlite3_column_int(columns.get(), 4) != 0 && !region;
            auto it = physical.find(lower(c.name));
            if (it == physical.end())
                throw StoreError("store " + store.path() + ": TAP_SCHEMA lists column " + c.name + " of " + qualified +
                                 " but " + t.source + " has no such column");
            c.not_null = it->second;
            t.columns.push_back(std::move(c));
        }
        if (t.columns.empty())
            throw StoreError("store " + store.path() + ": TAP_SCHEMA lists no column of " + qualified);
        plan.push_back(std::move(t));
    }

    bool obscore = false;
    for (auto& t : plan) {
        if (t.label() != "ivoa.obscore") continue;
        obscore = true;
        bool did = false;
        for (auto& c : t.columns)
            if (c.name == "obs_publisher_did") {
                did = true;
                c.indexed = false;  // the unique index below
            }
        if (!did) throw StoreError("store " + store.path() + ": ivoa.obscore has no obs_publisher_did column");
    }
    if (!obscore) throw StoreError("store " + store.path() + ": TAP_SCHEMA does not publish ivoa.obscore");

    TablePlan files;
    files.source = "voserver_files";
    files.schema = "voserver";
    files.name = "files";
    files.columns = {{"obs_publisher_did", "text", true, false},
                     {"path", "text", true, false},
                     {"size_bytes", "bigint", false, false},
                     {"mtime", "bigint", false, false},
                     {"image_hdus", "text", false, false}};
    plan.push_back(std::move(files));
    return plan;
}

// ---------------------------------------------------------------- COPY

/// Appends one SQLite value as a field of COPY's text format (PostgreSQL 15
/// manual, COPY "File Formats"): \N for NULL; backslash, newline, carriage
/// return and tab escaped; reals in their shortest exact form.
void append_copy_field(std::string& out, sqlite3_stmt* s, int i) {
    switch (sqlite3_column_type(s, i)) {
        case SQLITE_NULL: out += "\\N"; return;
        case SQLITE_INTEGER: {
            char buf[32];
            const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(sqlite3_column_int64(s, i)));
            out.append(buf, r.ptr);
            return;
        }
        case SQLITE_FLOAT: {
            const double v = sqlite3_column_double(s, i);
            if (std::isnan(v)) {
                out += "NaN";
            } else if (std::isinf(v)) {
                out += v > 0 ? "Infinity" : "-Infinity";
            } else {
                char buf[64];
                const auto r = std::to_chars(buf, buf + sizeof buf, v);
                out.append(buf, r.ptr);
            }
            return;
        }
        default: {  // text (and a blob as its bytes)
            const bool blob = sqlite3_column_type(s, i) == SQLITE_BLOB;
            const char* p = blob ? static_cast<const char*>(sqlite3_column_blob(s, i))
                                 : reinterpret_cast<const char*>(sqlite3_column_text(s, i));
            const int n = sqlite3_column_bytes(s, i);
            for (int k = 0; k < n; ++k) {
                switch (p[k]) {
                    case '\\': out += "\\\\"; break;
                    case '\n': out += "\\n"; break;
                    case '\r': out += "\\r"; break;
                    case '\t': out += "\\t"; break;
                    default: out += p[k];
                }
            }
        }
    }
}

bool has_spatial_columns(const TablePlan& t);

/// Appends the spatial companion values (pg_store.hpp) of the row `s` is on
/// as two COPY fields ("\tPOINT\tCIRCLE"); `at` holds the positions of
/// s_ra, s_dec and s_region in the row.
void append_companions(std::string& out, sqlite3_stmt* s, const std::array<int, 3>& at) {
    const auto real = [&](int i) -> std::optional<double> {
        const int type = sqlite3_column_type(s, i);
        if (type != SQLITE_FLOAT && type != SQLITE_INTEGER) return std::nullopt;
        return sqlite3_column_double(s, i);
    };
    const auto point = pg_point_text(real(at[0]), real(at[1]));
    out += '\t';
    out += point ? *point : "\\N";
    std::optional<std::string> bound;
    if (sqlite3_column_type(s, at[2]) == SQLITE_TEXT)
        bound = pg_bound_text(std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(s, at[2])),
                                               static_cast<std::size_t>(sqlite3_column_bytes(s, at[2]))));
    out += '\t';
    out += bound ? *bound : "\\N";
}

/// Copies one table from the store into its staging table with COPY FROM
/// STDIN, with the spatial companion columns computed on the way; returns
/// the rows copied. Throws StoreError.
long long copy_table(PgSession& pg, const SourceStore& store, const TablePlan& t) {
    std::string columns;  // the same names in both databases
    std::array<int, 3> spatial{-1, -1, -1};
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const auto& name = t.columns[i].name;
        columns += (columns.empty() ? "" : ", ") + quote_ident(name);
        if (name == "s_ra" || name == "s_dec" || name == "s_region")
            spatial[name == "s_ra" ? 0 : name == "s_dec" ? 1 : 2] = static_cast<int>(i);
    }
    const bool companions = has_spatial_columns(t);
    auto rows = store.prepare("SELECT " + columns + " FROM " + quote_ident(t.source));
    // FREEZE: the table was created in this transaction, so its rows need no
    // later hint-bit or freeze pass.
    pg.exec("COPY " + t.staging() + " (" + columns +
                (companions ? std::string(", ") + kPgPointColumn + ", " + kPgRegionColumn : "") +
                ") FROM STDIN WITH (FREEZE)",
            "COPY " + t.label(), PGRES_COPY_IN);

    const int ncols = static_cast<int>(t.columns.size());
    long long sent = 0;
    std::string buffer;
    buffer.reserve(kCopyChunk + 65536);
    const auto flush = [&] {
        pg.put_copy_data(buffer, "COPY " + t.label());
        buffer.clear();
    };
    try {
        while (store.step(rows.get())) {
            for (int i = 0; i < ncols; ++i) {
                if (i) buffer += '\t';
                append_copy_field(buffer, rows.get(), i);
            }
            if (companions) append_companions(buffer, rows.get(), spatial);
            buffer += '\n';
            ++sent;
            if (buffer.size() >= kCopyChunk) flush();
        }
        flush();
    } catch (...) {
        pg.abort_copy("voserver: reading the source store failed");
        throw;
    }
    const long long copied = pg.end_copy("COPY " + t.label());
    if (copied != sent)
        throw StoreError("store " + pg.where() + ": COPY " + t.label() + ": " + std::to_string(copied) +
                         " rows stored of " + std::to_string(sent) + " sent");
    return sent;
}

// ---------------------------------------------------------------- DDL

/// True when `t` is ivoa.obscore with s_ra and s_dec (double precision) and
/// s_region (text): the table gets the pgSphere companion columns.
bool has_spatial_columns(const TablePlan& t) {
    if (t.label() != "ivoa.obscore") return false;
    int found = 0;
    for (const auto& c : t.columns) {
        if ((c.name == "s_ra" || c.name == "s_dec") && c.type == "double precision") ++found;
        if (c.name == "s_region" && c.type == "text") ++found;
    }
    return found == 3;
}

std::string create_table_sql(const TablePlan& t) {
    std::string sql = "CREATE TABLE " + t.staging() + " (";
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const auto& c = t.columns[i];
        sql += (i ? ", " : "") + quote_ident(c.name) + " " + c.type + (c.not_null ? " NOT NULL" : "");
    }
    // the companion columns of the spatial index (pg_store.hpp), filled by
    // the writers (copy_table below, pg_writer.cpp)
    if (has_spatial_columns(t)) sql += std::string(", ") + kPgPointColumn + " spoint, " + kPgRegionColumn + " scircle";
    return sql + ")";
}

/// The index statements of a table: the unique obs_publisher_did of
/// ivoa.obscore, the primary key of voserver.files, a B-tree per column
/// TAP_SCHEMA marks indexed, the GiST indexes of the spatial companion
/// columns and the partial index of the unbounded footprints.
std::vector<std::string> index_sql(const TablePlan& t) {
    const std::string table = t.staging();
    std::vector<std::string> out;
    const auto name = [&](const std::string& column, std::size_t index) {
        std::string n = t.name + "_" + column;
        // PostgreSQL truncates names at 63 bytes; keep truncated names distinct.
        if (n.size() > 63) n = t.name.substr(0, 40) + "_col" + std::to_string(index);
        return quote_ident(n);
    };
    if (t.label() == "ivoa.obscore")
        out.push_back("CREATE UNIQUE INDEX " + name("obs_publisher_did", 0) + " ON " + table + " (obs_publisher_did)");
    if (t.label() == "voserver.files") out.push_back("ALTER TABLE " + table + " ADD PRIMARY KEY (obs_publisher_did)");
    for (std::size_t i = 0; i < t.columns.size(); ++i)
        if (t.columns[i].indexed)
            out.push_back("CREATE INDEX " + name(t.columns[i].name, i + 1) + " ON " + table + " (" +
                          quote_ident(t.columns[i].name) + ")");
    if (has_spatial_columns(t)) {
        // buffering on: the buffered build (pgSphere's GiST has no sorted
        // build), measured 17 % faster than the default on 1,000,000 rows
        out.push_back("CREATE INDEX obscore_voserver_s_point ON " + table + " USING gist (" + kPgPointColumn +
                      ") WITH (buffering = on)");
        out.push_back("CREATE INDEX obscore_voserver_s_region ON " + table + " USING gist (" + kPgRegionColumn +
                      ") WITH (buffering = on)");
        // the footprints without a bound, which every footprint pre-filter keeps
        out.push_back("CREATE INDEX obscore_voserver_s_region_unbounded ON " + table + " (obs_publisher_did) WHERE " +
                      kPgRegionColumn + " IS NULL AND s_region IS NOT NULL");
    }
    return out;
}

/// The data_version the previous load wrote, 0 when none did.
long long previous_data_version(PgSession& pg) {
    if (pg.value("SELECT to_regclass('voserver.meta') IS NOT NULL", "read data_version") != "t") return 0;
    const std::string v = pg.value("SELECT value FROM voserver.meta WHERE key = 'data_version'", "read data_version");
    long long n = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    return r.ec == std::errc() && n > 0 ? n : 0;
}

/// The whole load inside the open transaction; returns the report.
PgLoadReport load(PgSession& pg, const SourceStore& store, Clock::time_point start) {
    PgLoadReport report;
    auto step_start = Clock::now();
    const auto done = [&](const std::string& what) {
        pg.report(what + " (" + format_seconds(seconds_since(step_start)) + ")");
        step_start = Clock::now();
    };

    pg.exec(
        "SET LOCAL search_path = public; SET LOCAL client_min_messages = warning; "
        "SET LOCAL maintenance_work_mem = '256MB'; SELECT pg_advisory_xact_lock(" +
            std::string(kPgLoadLockKey) + ")",
        "begin the load", PGRES_TUPLES_OK);
    if (pg.value("SELECT to_regtype('spoint') IS NOT NULL", "look for pgSphere") != "t")
        throw StoreError("store " + pg.where() +
                         ": pgSphere is not installed in this database (scripts/postgres createdb NAME installs it)");
    const long long version = previous_data_version(pg) + 1;

    const auto plan = read_plan(store);
    pg.report("store " + store.path() + ": " + std::to_string(plan.size()) + " tables to load");

    // first: the generated columns of the tables call it
    pg.exec(pg_function_library(), "install the function library");
    done("function library installed");

    std::string ddl;
    for (const auto& s : kSchemas)
        ddl += std::string("DROP SCHEMA IF EXISTS ") + s.staging + " CASCADE; CREATE SCHEMA " + s.staging + "; ";
    for (const auto& t : plan) ddl += create_table_sql(t) + "; ";
    ddl += std::string("CREATE TABLE voserver_load_voserver.meta (key text PRIMARY KEY, value text NOT NULL); ") +
           "INSERT INTO voserver_load_voserver.meta VALUES ('data_version', '" + std::to_string(version) + "')";
    // the columns queries compute as data_rights (obscore/access.hpp), as the store records them
    {
        auto m =
            store.prepare(std::string("SELECT value FROM voserver_meta WHERE key = '") + kDataRightsColumnsKey + "'");
        if (store.step(m.get()))
            ddl += std::string("; INSERT INTO voserver_load_voserver.meta VALUES (") +
                   adql::SqlWriter::quote_string(kDataRightsColumnsKey) + ", " +
                   adql::SqlWriter::quote_string(SourceStore::text(m.get(), 0)) + ")";
    }
    pg.exec(ddl, "create the tables");
    done("tables created");

    for (const auto& t : plan) {
        const long long n = copy_table(pg, store, t);
        if (t.label() == "ivoa.obscore") report.rows = n;
        if (t.label() == "voserver.files") report.files = n;
        done(t.label() + ": " + std::to_string(n) + " rows copied");
    }

    std::size_t indexes = 0;
    for (const auto& t : plan)
        for (const auto& sql : index_sql(t)) {
            pg.exec(sql, "index " + t.label());
            ++indexes;
        }
    std::string analyze;
    for (const auto& t : plan) analyze += (analyze.empty() ? "ANALYZE " : ", ") + t.staging();
    pg.exec(analyze, "analyze the tables");
    done(std::to_string(indexes) + " indexes built, tables analyzed");

    // The swap: readers of the published schemas wait for the commit and
    // then see the new tables; nothing they see is half-loaded.
    std::string swap, schemas;
    for (const auto& s : kSchemas) {
        swap += std::string("DROP SCHEMA IF EXISTS ") + s.published + " CASCADE; ALTER SCHEMA " + s.staging +
                " RENAME TO " + s.published + "; ";
        schemas += (schemas.empty() ? "" : ", ") + std::string(s.published);
    }
    const std::string reader = quote_ident(kPgReaderRole);
    swap += "GRANT USAGE ON SCHEMA " + schemas + " TO " + reader + "; GRANT SELECT ON ALL TABLES IN SCHEMA " + schemas +
            " TO " + reader;
    swap += std::string("; NOTIFY ") + kPgDataVersionChannel;
    pg.exec(swap, "publish the schemas");
    done("schemas " + schemas + " replaced, SELECT granted to " + kPgReaderRole);

    pg.exec("COMMIT", "commit");
    done("committed data_version " + std::to_string(version));
    report.seconds = seconds_since(start);
    pg.report("loaded " + std::to_string(report.rows) + " rows into " + pg.where() + " in " +
              format_seconds(report.seconds));
    return report;
}

}  // namespace

PgLoadReport load_into_postgres(const std::string& sqlite_path, const std::string& url,
                                const std::function<void(const std::string&)>& progress) {
    const auto start = Clock::now();
    SourceStore store(sqlite_path);
    PgSession pg(url, "voserver pg-load", progress);
    const int v = PQserverVersion(pg.get());
    pg.report("connected to " + pg.where() + " (PostgreSQL " + std::to_string(v / 10000) + "." +
              std::to_string(v % 10000) + ")");
    pg.exec("BEGIN", "begin");
    try {
        return load(pg, store, start);
    } catch (...) {
        pg.rollback();
        throw;
    }
}

std::string pg_column_type(const std::string& datatype, const std::string& arraysize) {
    return pg_type(datatype, arraysize);
}

std::string url_without_password(const std::string& url) { return without_password(url); }

std::optional<std::string> pg_point_text(std::optional<double> ra, std::optional<double> dec) {
    if (!ra || !dec || !std::isfinite(*ra) || !(*dec >= -90 && *dec <= 90)) return std::nullopt;
    return spoint_text(*ra, *dec);
}

std::optional<std::string> pg_bound_text(std::string_view s_region) {
    std::string error;
    const auto g = parse_geometry_text(s_region, error);
    if (!g) return std::nullopt;
    const auto& v = g->values;
    switch (g->kind) {
        case GeometryText::Kind::point: return bound_circle_text(v[0], v[1], 0);
        case GeometryText::Kind::circle: return bound_circle_text(v[0], v[1], v[2]);
        case GeometryText::Kind::range: return std::nullopt;  // kept by the pre-filter, decided by the exact test
        case GeometryText::Kind::polygon: break;
    }
    // the cap centred on the normalised sum of the vertices through the
    // farthest vertex: it holds the polygon when its radius is below 90
    // degrees (pg_functions.sql, voserver_bound)
    const std::size_t n = v.size() / 2;
    std::vector<std::array<double, 3>> xyz(n);
    double cx = 0, cy = 0, cz = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const double ra = v[2 * k] * kRadPerDeg, dec = v[2 * k + 1] * kRadPerDeg;
        xyz[k] = {std::cos(dec) * std::cos(ra), std::cos(dec) * std::sin(ra), std::sin(dec)};
        cx += xyz[k][0];
        cy += xyz[k][1];
        cz += xyz[k][2];
    }
    const double len = std::sqrt(cx * cx + cy * cy + cz * cz);
    if (len < 1e-9) return std::nullopt;
    cx /= len;
    cy /= len;
    cz /= len;
    double cosmin = 1;
    for (const auto& p : xyz) cosmin = std::min(cosmin, p[0] * cx + p[1] * cy + p[2] * cz);
    if (cosmin <= 0) return std::nullopt;
    return bound_circle_text(std::atan2(cy, cx) / kRadPerDeg, std::asin(std::clamp(cz, -1.0, 1.0)) / kRadPerDeg,
                             std::acos(std::min(1.0, cosmin)) / kRadPerDeg);
}

}  // namespace vo::obscore
