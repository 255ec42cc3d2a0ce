// obscore/pg_store.cpp: a SQLite store published into PostgreSQL + pgSphere
// (issue 11). Needs the cluster of `scripts/postgres start` on
// 127.0.0.1:54329 (port: VO_PG_PORT); each run makes its own database (`scripts/postgres
// createdb voserver_test_<pid>`) and drops it at exit. Without the cluster the
// tests that need it are skipped with a warning.
#include <catch2/catch.hpp>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "obscore/backend.hpp"
#include "obscore/pg_store.hpp"
#include "obscore/profile.hpp"
#include "obscore/store.hpp"
#include "obscore/writer.hpp"
#include "tests/unit/obscore/visibility_scenario.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace vo::obscore;
namespace fs = std::filesystem;

namespace {

using vo::testing::TempDir;

/// The cluster of scripts/postgres: its port is VO_PG_PORT (default 54329),
/// as for the script itself, which makes the test databases.
const std::string kHost =
    std::string("127.0.0.1:") +
    (std::getenv("VO_PG_PORT") && *std::getenv("VO_PG_PORT") ? std::getenv("VO_PG_PORT") : "54329");

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

Conn connect(const std::string& url) { return Conn(PQconnectdb(url.c_str()), PQfinish); }

/// The first value of a query's result, "<null>" for NULL; the query must succeed.
std::string value(PGconn* c, const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), PQclear);
    INFO(sql << ": " << PQerrorMessage(c));
    REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
    REQUIRE(PQntuples(r.get()) >= 1);
    return PQgetisnull(r.get(), 0, 0) ? "<null>" : PQgetvalue(r.get(), 0, 0);
}

/// The error message of a statement that must fail.
std::string error_of(PGconn* c, const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), PQclear);
    INFO(sql);
    REQUIRE(PQresultStatus(r.get()) == PGRES_FATAL_ERROR);
    return PQresultErrorMessage(r.get());
}

std::string sqlite_value(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    const auto* p = sqlite3_column_text(s, 0);
    std::string out = p ? reinterpret_cast<const char*>(p) : "<null>";
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

/// A database of this test run on the scripts/postgres cluster, dropped at exit.
class TestDatabase {
public:
    /// The database, or nullptr (and `why` set) when the cluster is not reachable.
    static const TestDatabase* get(std::string& why) {
        static std::string reason;
        static const std::unique_ptr<TestDatabase> db = [] {
            auto admin = connect(admin_url("postgres"));
            if (PQstatus(admin.get()) != CONNECTION_OK) {
                reason = std::string("PostgreSQL is not reachable on ") + kHost +
                         " (scripts/postgres start): " + PQerrorMessage(admin.get());
                return std::unique_ptr<TestDatabase>();
            }
            return std::unique_ptr<TestDatabase>(new TestDatabase());
        }();
        why = reason;
        return db.get();
    }
    ~TestDatabase() {
        auto admin = connect(admin_url("postgres"));
        PQclear(PQexec(admin.get(), ("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str()));
    }
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    /// The URL of `role` on this database.
    std::string url(const std::string& role) const { return "postgresql://" + role + "@" + kHost + "/" + name_; }

private:
    TestDatabase() : name_("voserver_test_" + std::to_string(::getpid())) {
        const std::string command = std::string(VO_SOURCE_DIR) + "/scripts/postgres createdb " + name_ + " >/dev/null";
        INFO(command);
        REQUIRE(std::system(command.c_str()) == 0);
    }
    static std::string admin_url(const std::string& db) {
        return std::string("postgresql://postgres@") + kHost + "/" + db + "?connect_timeout=5";
    }

    std::string name_;
};

#define REQUIRE_TEST_DATABASE(db)                            \
    std::string skip_reason;                                 \
    const TestDatabase* db = TestDatabase::get(skip_reason); \
    if (!db) {                                               \
        WARN("SKIPPED: " << skip_reason);                    \
        return;                                              \
    }

ObsCoreRecord record(int i) {
    ObsCoreRecord r;
    r.dataproduct_type = "cube";
    r.obs_collection = "samples";
    r.obs_id = "obs" + std::to_string(i);
    r.obs_publisher_did = "ivo://test/samples?obs" + std::to_string(i);
    r.calib_level = 2 + i % 2;
    r.access_estsize = 3350000000LL + i;  // beyond 32 bits
    r.s_ra = 156.96 + 0.1 * i;
    r.s_dec = -43.9;
    r.s_region = {{157.0, -43.95}, {156.9, -43.95}, {156.9, -43.85}, {157.0, -43.85}};
    r.em_min = 2.6e-3;
    r.em_max = 2.7e-3;
    r.t_min = 60000.123456789012;
    r.extra["snr"] = 12.5 * i;
    r.extra["is_public"] = std::int64_t{i % 2};
    return r;
}

/// A store of `rows` products, one title holding every character COPY escapes.
std::string make_store(const fs::path& dir, int rows) {
    const auto extension = [](const char* name, const char* adql_type, const char* datatype, bool indexed) {
        ColumnDef c;
        c.name = name;
        c.adql_type = adql_type;
        c.datatype = datatype;
        c.description = name;
        c.indexed = indexed;
        c.std = false;
        return c;
    };
    const ColumnDef snr = extension("snr", "DOUBLE", "double", true);
    const ColumnDef pub = extension("is_public", "SMALLINT", "boolean", false);
    const std::string path = (dir / "store.sqlite").string();
    auto store = Store::open_for_write(path, {snr, pub});
    store->begin();
    for (int i = 0; i < rows; ++i) {
        auto r = record(i);
        if (i == 1) r.obs_title = "tab\there, line\nthere\r, back\\slash, \\N, quote ' \" and \xc3\xa9";
        store->upsert(r, ProductFile{"/data/obs" + std::to_string(i) + ".fits", 1000 + i, 1700000000 + i, {0, 2}});
    }
    store->commit();
    return path;
}

/// The message of the StoreError that loading `path` into `url` throws.
std::string load_error(const std::string& path, const std::string& url) {
    try {
        load_into_postgres(path, url);
    } catch (const StoreError& e) {
        return e.what();
    }
    FAIL("no error loading into " << url);
    return "";
}

}  // namespace

TEST_CASE("an unreachable database is a StoreError naming its URL, never its password", "[pg_store]") {
    TempDir tmp;
    const auto path = make_store(tmp.path, 1);
    const auto uri =
        load_error(path, "postgresql://voserver_writer:s3cret@127.0.0.1:1/voserver?password=s3cret&connect_timeout=3");
    CHECK(uri.find("postgresql://voserver_writer@127.0.0.1:1/voserver?connect_timeout=3") != std::string::npos);
    CHECK(uri.find("s3cret") == std::string::npos);
    CHECK(uri.find("cannot connect") != std::string::npos);
    const auto keywords = load_error(path, "host=127.0.0.1 port=1 password='a b' dbname=voserver connect_timeout=3");
    CHECK(keywords.find("host=127.0.0.1 port=1 dbname=voserver") != std::string::npos);
    CHECK(keywords.find("a b") == std::string::npos);
    // A store that is not there: named, and nothing is connected to.
    CHECK_THROWS_WITH(load_into_postgres((tmp.path / "missing.sqlite").string(), "postgresql://x@127.0.0.1:1/y"),
                      Catch::Contains("missing.sqlite"));
}

TEST_CASE("a store is published into PostgreSQL: same rows, types, TAP_SCHEMA, reader grants", "[pg_store]") {
    REQUIRE_TEST_DATABASE(db);
    TempDir tmp;
    const auto path = make_store(tmp.path, 5);
    std::vector<std::string> lines;
    const auto report =
        load_into_postgres(path, db->url("voserver_writer"), [&](const std::string& l) { lines.push_back(l); });
    CHECK(report.rows == 5);
    CHECK(report.files == 5);
    CHECK(report.seconds > 0);
    CHECK(lines.size() >= 8);  // one line per step

    auto reader = connect(db->url("voserver_reader"));
    REQUIRE(PQstatus(reader.get()) == CONNECTION_OK);
    PGconn* c = reader.get();
    CHECK(value(c, "SELECT count(*) FROM ivoa.obscore") == "5");
    // text with every COPY escape, doubles exactly, integers, bigints, NULL
    CHECK(value(c, "SELECT obs_title FROM ivoa.obscore WHERE obs_id = 'obs1'") ==
          sqlite_value(path, "SELECT obs_title FROM ivoa_obscore WHERE obs_id = 'obs1'"));
    CHECK(value(c, "SELECT obs_title FROM ivoa.obscore WHERE obs_id = 'obs2'") == "<null>");
    CHECK(std::stod(value(c, "SELECT s_ra FROM ivoa.obscore WHERE obs_id = 'obs3'")) == record(3).s_ra.value());
    CHECK(std::stod(value(c, "SELECT t_min FROM ivoa.obscore WHERE obs_id = 'obs3'")) == record(3).t_min.value());
    CHECK(value(c, "SELECT calib_level FROM ivoa.obscore WHERE obs_id = 'obs3'") == "3");
    CHECK(value(c, "SELECT access_estsize FROM ivoa.obscore WHERE obs_id = 'obs4'") == "3350000004");
    CHECK(value(c, "SELECT s_region FROM ivoa.obscore WHERE obs_id = 'obs0'") ==
          "Polygon ICRS 157 -43.95 156.9 -43.95 156.9 -43.85 157 -43.85");
    CHECK(value(c, "SELECT snr FROM ivoa.obscore WHERE obs_id = 'obs3'") == "37.5");
    // types from TAP_SCHEMA's datatype/arraysize
    CHECK(value(c,
                "SELECT pg_typeof(s_ra)::text || ' ' || pg_typeof(calib_level)::text || ' ' || "
                "pg_typeof(access_estsize)::text || ' ' || pg_typeof(is_public)::text || ' ' || "
                "pg_typeof(obs_id)::text FROM ivoa.obscore LIMIT 1") ==
          "double precision integer bigint smallint text");
    CHECK(value(c,
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'ivoa' "
                "AND column_name = 'voserver_row_id'") == "0");
    // indexes: unique DID, TAP_SCHEMA's indexed columns, none on s_region
    CHECK(value(c, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'ivoa' AND indexdef LIKE '%(obs_publisher_did)'")
              .find("UNIQUE") != std::string::npos);
    CHECK(value(c, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'ivoa' AND indexdef LIKE '%(snr)'") == "1");
    CHECK(value(c, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'ivoa' AND indexdef LIKE '%(s_region)'") == "0");

    // TAP_SCHEMA copied verbatim (TAP 1.1 section 4): ADQL names, same rows
    CHECK(value(c, "SELECT count(*) FROM tap_schema.columns") ==
          sqlite_value(path, "SELECT count(*) FROM tap_schema_columns"));
    CHECK(value(c, "SELECT count(*) FROM tap_schema.columns WHERE table_name = 'TAP_SCHEMA.columns'") == "14");
    CHECK(value(c, "SELECT count(*) FROM tap_schema.tables WHERE table_name = 'ivoa.obscore'") == "1");
    CHECK(value(c,
                "SELECT datatype || ' ' || coalesce(arraysize, '') FROM tap_schema.columns "
                "WHERE column_name = 'is_public'") == "boolean ");
    CHECK(value(c, "SELECT count(*) FROM tap_schema.columns WHERE column_name = '\"size\"'") == "1");
    CHECK(value(c, "SELECT count(*) FROM tap_schema.keys") ==
          sqlite_value(path, "SELECT count(*) FROM tap_schema_keys"));

    CHECK(value(c,
                "SELECT path || ' ' || size_bytes || ' ' || image_hdus FROM voserver.files "
                "WHERE obs_publisher_did = 'ivo://test/samples?obs2'") == "/data/obs2.fits 1002 0,2");
    CHECK(value(c, "SELECT value FROM voserver.meta WHERE key = 'data_version'") == "1");
    // the function library, callable by the reader
    CHECK(value(c, "SELECT adql_fmt(0.5)") == "0.5");
    CHECK(value(c, "SELECT vo_base_url()") == "");

    // the reader can only read
    CHECK(error_of(c, "INSERT INTO ivoa.obscore (obs_id) VALUES ('x')").find("read-only") != std::string::npos);
    CHECK(error_of(c, "BEGIN READ WRITE; INSERT INTO ivoa.obscore (obs_id) VALUES ('x')").find("permission denied") !=
          std::string::npos);
    PQclear(PQexec(c, "ROLLBACK"));
    CHECK(error_of(c, "BEGIN READ WRITE; DELETE FROM voserver.files").find("permission denied") != std::string::npos);
    PQclear(PQexec(c, "ROLLBACK"));
}

TEST_CASE("loading again replaces the content and increments data_version; a failed load changes nothing",
          "[pg_store]") {
    REQUIRE_TEST_DATABASE(db);
    TempDir tmp;
    auto writer = connect(db->url("voserver_writer"));
    REQUIRE(PQstatus(writer.get()) == CONNECTION_OK);
    const auto version = [&] {
        return std::stoll(value(writer.get(), "SELECT value FROM voserver.meta WHERE key = 'data_version'"));
    };

    load_into_postgres(make_store(tmp.path, 3), db->url("voserver_writer"));
    const long long v1 = version();
    CHECK(value(writer.get(), "SELECT count(*) FROM ivoa.obscore") == "3");

    TempDir tmp2;
    const auto bigger = make_store(tmp2.path, 7);
    CHECK(load_into_postgres(bigger, db->url("voserver_writer")).rows == 7);
    CHECK(version() == v1 + 1);
    CHECK(value(writer.get(), "SELECT count(*) FROM ivoa.obscore") == "7");
    CHECK(value(writer.get(), "SELECT count(*) FROM voserver.files") == "7");
    // no staging schema is left behind
    CHECK(value(writer.get(), "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'voserver_load%'") == "0");

    // A value PostgreSQL refuses (text in an integer column): the load fails
    // naming the database, and the published content stays as it was.
    {
        sqlite3* s = nullptr;
        REQUIRE(sqlite3_open(bigger.c_str(), &s) == SQLITE_OK);
        REQUIRE(sqlite3_exec(s, "UPDATE ivoa_obscore SET calib_level = 'three' WHERE obs_id = 'obs5'", nullptr, nullptr,
                             nullptr) == SQLITE_OK);
        sqlite3_close(s);
    }
    const auto what = load_error(bigger, db->url("voserver_writer"));
    CHECK(what.find(db->url("voserver_writer")) != std::string::npos);
    CHECK(what.find("ivoa.obscore") != std::string::npos);
    CHECK(what.find("three") != std::string::npos);
    CHECK(version() == v1 + 1);
    CHECK(value(writer.get(), "SELECT count(*) FROM ivoa.obscore") == "7");
    CHECK(value(writer.get(), "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'voserver_load%'") == "0");
}

// obscore/pg_writer.cpp: `voserver ingest` straight into PostgreSQL (issue 11
// item 3) through the writer interface (obscore/writer.hpp, issue 8 item 2).
TEST_CASE("ingest writes straight into PostgreSQL: layout made once, upserts by DID, derived columns, data_version",
          "[pg_store][pg_writer]") {
    REQUIRE_TEST_DATABASE(db);
    auto admin = connect(db->url("voserver_writer"));
    REQUIRE(PQstatus(admin.get()) == CONNECTION_OK);
    PGconn* w = admin.get();
    // an empty database: no layout yet
    PQclear(PQexec(w, "DROP SCHEMA IF EXISTS ivoa, tap_schema, voserver CASCADE"));
    REQUIRE(value(w, "SELECT to_regclass('ivoa.obscore') IS NULL") == "t");

    ExtensionColumn snr;
    snr.def.name = "snr";
    snr.def.adql_type = "DOUBLE";
    snr.def.datatype = "double";
    snr.def.std = false;
    ExtensionColumn ghz;  // derived: the ADQL expression, evaluated by PostgreSQL
    ghz.def = snr.def;
    ghz.def.name = "frequency";
    ghz.adql = "299792458.0 / ((em_min + em_max) / 2) / 1e9";
    const ExtensionColumn rights = vo::test_visibility::data_rights_column(true);
    const std::vector<ExtensionColumn> columns = {snr, ghz, rights};

    auto writer = open_archive_writer(db->url("voserver_writer"), columns);
    CHECK(writer->name() == db->url("voserver_writer"));
    CHECK(writer->count_rows() == 0);
    CHECK(value(w, "SELECT value FROM voserver.meta WHERE key = 'data_version'") == "1");
    // TAP_SCHEMA lists the configured columns, the catalogue sees them
    CHECK(
        value(w, "SELECT count(*) FROM tap_schema.columns WHERE column_name IN ('snr', 'frequency', 'data_rights')") ==
        "3");
    bool frequency_in_catalog = false;
    for (const auto& t : writer->catalog().tables())
        for (const auto& c : t.columns) frequency_in_catalog |= t.name == "obscore" && c.name == "frequency";
    CHECK(frequency_in_catalog);

    // the first rows into empty tables are a direct load (pg_writer.cpp):
    // copied into a new table that gets ivoa.obscore's indexes and replaces
    // it at the end; readers are not held up meanwhile; not committed, it
    // leaves the layout as it was
    const std::string indexes = "SELECT count(*) FROM pg_index WHERE indrelid = 'ivoa.obscore'::regclass";
    const std::string files_key =
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'voserver.files'::regclass AND contype = 'p'";
    const std::string layout_indexes = value(w, indexes);
    CHECK(std::stoi(layout_indexes) >= 4);  // obs_publisher_did, two GiST, the unbounded footprints
    CHECK(value(w, files_key) == "1");
    {
        auto abandoned = open_archive_writer(db->url("voserver_writer"), columns);
        abandoned->begin();
        auto r = record(8);
        r.extra.erase("is_public");
        abandoned->upsert(r, ProductFile{"/data/obs8.fits", 1, 1, {0}});
    }
    CHECK(value(w, "SELECT count(*) FROM ivoa.obscore") == "0");
    CHECK(value(w, indexes) == layout_indexes);
    CHECK(value(w, files_key) == "1");

    writer->begin();
    for (int i = 0; i < 3; ++i) {
        auto r = record(i);
        r.extra.erase("is_public");  // not configured here
        if (i == 1) {
            r.obs_title = "tab\there, line\nthere, back\\slash, \\N";
            r.obs_release_date = "2999-01-01T00:00:00";  // proprietary for a long time
        }
        writer->upsert(r, ProductFile{"/data/obs" + std::to_string(i) + ".fits", 1000 + i, 1700000000, {1}});
    }
    auto again = record(2);  // the same DID twice in one transaction: the last wins
    again.extra.erase("is_public");
    again.calib_level = 4;
    writer->upsert(again, ProductFile{"/data/obs2-v2.fits", 5, 1700000001, {0, 3}});
    // nothing visible before the commit
    CHECK(value(w, "SELECT count(*) FROM ivoa.obscore") == "0");
    writer->commit();
    CHECK(writer->count_rows() == 3);
    CHECK(value(w, "SELECT value FROM voserver.meta WHERE key = 'data_version'") == "2");
    // the direct load (ended by the second obs2) built every index again;
    // the reader role's SELECT (used at the end of this test) was granted again
    CHECK(value(w, indexes) == layout_indexes);
    CHECK(value(w, "SELECT count(*) FROM pg_class WHERE relname = 'obscore_direct_load'") == "0");
    CHECK(value(w, files_key) == "1");
    CHECK(value(w, "SELECT count(*) FROM voserver.files") == "3");

    CHECK(value(w, "SELECT obs_title FROM ivoa.obscore WHERE obs_id = 'obs1'") ==
          "tab\there, line\nthere, back\\slash, \\N");
    CHECK(value(w, "SELECT obs_title FROM ivoa.obscore WHERE obs_id = 'obs0'") == "<null>");
    CHECK(std::stod(value(w, "SELECT t_min FROM ivoa.obscore WHERE obs_id = 'obs0'")) == record(0).t_min.value());
    CHECK(value(w, "SELECT access_estsize FROM ivoa.obscore WHERE obs_id = 'obs1'") == "3350000001");
    CHECK(value(w, "SELECT s_region FROM ivoa.obscore WHERE obs_id = 'obs0'") == stcs_region(record(0)));
    CHECK(value(w, "SELECT snr FROM ivoa.obscore WHERE obs_id = 'obs2'") == "25");
    CHECK(value(w, "SELECT calib_level FROM ivoa.obscore WHERE obs_id = 'obs2'") == "4");
    CHECK(value(w,
                "SELECT path || ' ' || image_hdus FROM voserver.files WHERE obs_publisher_did = "
                "'ivo://test/samples?obs2'") == "/data/obs2-v2.fits 0,3");

    // a later transaction updates a row in place
    writer->begin();
    auto changed = record(0);
    changed.extra.erase("is_public");
    changed.target_name = "NGC 3256";
    writer->upsert(changed, ProductFile{"/data/obs0.fits", 1000, 1700000002, {1}});
    writer->commit();
    CHECK(writer->count_rows() == 3);
    CHECK(value(w, "SELECT target_name FROM ivoa.obscore WHERE obs_id = 'obs0'") == "NGC 3256");

    // derived columns: computed by PostgreSQL from the translated ADQL
    writer->begin();
    writer->update_derived_columns(columns, "samples", 1893456000);  // 2030-01-01
    writer->commit();
    CHECK(std::stod(value(w, "SELECT frequency FROM ivoa.obscore WHERE obs_id = 'obs0'")) ==
          Approx(299792458.0 / 2.65e-3 / 1e9));
    CHECK(value(w, "SELECT data_rights FROM ivoa.obscore WHERE obs_id = 'obs0'") == "Public");
    CHECK(value(w, "SELECT data_rights FROM ivoa.obscore WHERE obs_id = 'obs1'") == "Proprietary");
    // Regression (review): a re-ingested row kept its derived values until they
    // are computed again (the upsert set them to NULL in between)
    writer->begin();
    writer->upsert(changed, ProductFile{"/data/obs0.fits", 1000, 1700000003, {1}});
    writer->commit();
    CHECK(value(w, "SELECT data_rights FROM ivoa.obscore WHERE obs_id = 'obs0'") == "Public");
    CHECK(value(w, "SELECT frequency FROM ivoa.obscore WHERE obs_id = 'obs0'") != "<null>");

    // a transaction that is not committed leaves nothing behind
    writer->begin();
    writer->upsert(record(7), ProductFile{"/data/obs7.fits", 1, 1, {0}});
    writer.reset();
    CHECK(value(w, "SELECT count(*) FROM ivoa.obscore") == "3");

    // reopening finds the layout; a configured column it lacks is named
    auto reopened = open_archive_writer(db->url("voserver_writer"), columns);
    CHECK(reopened->count_rows() == 3);
    ExtensionColumn extra = snr;
    extra.def.name = "not_there";
    CHECK_THROWS_WITH(open_archive_writer(db->url("voserver_writer"), {snr, extra}),
                      Catch::Contains("no column not_there") && Catch::Contains("pg-load"));

    // the reader role queries what the writer stored, through the query backend
    auto backend = open_query_backend(db->url("voserver_reader"));
    auto prepared = backend->prepare(backend->translate(
        "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 157.06, -43.9, "
        "0.01)) = 1",
        {}));
    auto cursor = prepared->execute({});
    std::vector<std::string> ids;
    while (cursor->next()) ids.emplace_back(cursor->cell(0).text);
    CHECK(ids == std::vector<std::string>{"obs1"});
    cursor.reset();

    // a query runs one-shot first, prepared from its second run (or once its
    // cost is asked for): the same rows every time
    auto all = [&](PreparedQuery& q) {
        std::vector<std::string> out;
        auto c = q.execute({});
        while (c->next()) out.emplace_back(c->cell(0).text);
        return out;
    };
    auto by_id = backend->prepare(backend->translate("SELECT obs_id FROM ivoa.obscore ORDER BY obs_id", {}));
    const auto first = all(*by_id);
    CHECK(first == std::vector<std::string>{"obs0", "obs1", "obs2"});
    CHECK(all(*by_id) == first);
    CHECK(all(*by_id) == first);
    auto estimated = backend->prepare(backend->translate("SELECT obs_id FROM ivoa.obscore ORDER BY obs_id", {}));
    const double cost = estimated->estimate_cost();
    CHECK(cost >= 1);
    CHECK(cost < 1e6);
    CHECK(estimated->estimate_cost() == cost);
    CHECK(all(*estimated) == first);
    // a database error of a one-shot first run is still a client error
    auto bad = backend->prepare(
        backend->translate("SELECT DISTANCE(POINT('ICRS', 10, 100), POINT('ICRS', 10, 0)) AS d FROM ivoa.obscore", {}));
    try {
        all(*bad);
        FAIL("no error");
    } catch (const QueryError& e) {
        CHECK(e.client_error());
        CHECK(std::string(e.what()).find("latitude") != std::string::npos);
    }
    // the connection serves on after it; statements dropped in batches
    // (40 prepared on the server, then all dropped) leave it usable
    {
        std::vector<std::unique_ptr<PreparedQuery>> many;
        for (int i = 0; i < 40; ++i) {
            many.push_back(backend->prepare(backend->translate(
                "SELECT obs_id FROM ivoa.obscore WHERE obs_id <> 'x" + std::to_string(i) + "' ORDER BY obs_id", {})));
            CHECK(many.back()->estimate_cost() >= 1);
        }
    }
    CHECK(all(*by_id) == first);
}

// obscore/pg_backend.cpp: a query's first run is a one-shot statement, a
// repeated one a prepared statement; both give the same values.
TEST_CASE("PostgreSQL query backend: text with tabs, newlines and backslashes, NULLs and numbers come back intact",
          "[pg_store][copy]") {
    REQUIRE_TEST_DATABASE(db);
    auto admin = connect(db->url("voserver_writer"));
    PGconn* w = admin.get();
    PQclear(PQexec(w, "DROP SCHEMA IF EXISTS ivoa, tap_schema, voserver CASCADE"));
    const std::vector<std::string> titles = {"tab\there",
                                             "two\nlines\r\n",
                                             "back\\slash \\N",
                                             "\\N",
                                             "bell\a and \b\f\v",
                                             "",
                                             "caf\xc3\xa9 \xe2\x80\x94 ok"};
    {
        auto writer = open_archive_writer(db->url("voserver_writer"), {});
        writer->begin();
        for (std::size_t i = 0; i < titles.size(); ++i) {
            ObsCoreRecord r = record(static_cast<int>(i));
            r.extra.clear();
            r.obs_title = titles[i];
            if (i == 5) r.s_ra.reset();  // NULL
            writer->upsert(r, ProductFile{"/data/obs" + std::to_string(i) + ".fits", 1, 1, {0}});
        }
        writer->commit();
    }
    auto backend = open_query_backend(db->url("voserver_reader"));
    auto q = backend->prepare(backend->translate(
        "SELECT obs_id, obs_title, s_ra, access_estsize, t_min FROM ivoa.obscore ORDER BY obs_id", {}));
    for (int run = 0; run < 3; ++run) {  // one-shot, then prepared
        INFO("run " << run);
        auto c = q->execute({});
        std::size_t i = 0;
        for (; c->next(); ++i) {
            REQUIRE(i < titles.size());
            CHECK(std::string(c->cell(0).text) == "obs" + std::to_string(i));
            CHECK(c->cell(1).kind == Cell::Kind::text);
            CHECK(std::string(c->cell(1).text) == titles[i]);
            if (i == 5) {
                CHECK(c->cell(2).kind == Cell::Kind::null);
            } else {
                CHECK(c->cell(2).kind == Cell::Kind::real);
                CHECK(c->cell(2).real == Approx(156.96 + 0.1 * static_cast<double>(i)).epsilon(1e-15));
            }
            CHECK(c->cell(3).kind == Cell::Kind::integer);
            CHECK(c->cell(3).integer == 3350000000LL + static_cast<long long>(i));
            CHECK(c->cell(4).real == 60000.123456789012);
        }
        CHECK(i == titles.size());
    }
    // an empty result, and an error while rows are read, on the first run
    auto none = backend->prepare(backend->translate("SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'none'", {}));
    CHECK_FALSE(none->execute({})->next());
    auto failing = backend->prepare(backend->translate(
        "SELECT obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 10, 100 - s_ra * 0)) AS d "
        "FROM ivoa.obscore ORDER BY obs_id",
        {}));
    CHECK_THROWS_AS(
        [&] {
            auto c = failing->execute({});
            while (c->next()) {
            }
        }(),
        QueryError);
    // the connection serves on
    auto again = q->execute({});
    CHECK(again->next());
}

TEST_CASE("PostgreSQL: protected rows are invisible to every query form; data_rights follows the clock",
          "[pg_store][visibility]") {
    REQUIRE_TEST_DATABASE(db);
    TempDir tmp;
    const std::string path = (tmp.path / "visibility.sqlite").string();
    vo::test_visibility::build_store(path);
    load_into_postgres(path, db->url("voserver_writer"));
    auto reader = connect(db->url("voserver_reader"));
    CHECK(value(reader.get(), "SELECT value FROM voserver.meta WHERE key = 'data_rights_columns'") == "data_rights\n");
    // a session that has not set the archive's clock gets the database's
    CHECK(value(reader.get(), "SELECT vo_now() = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')") ==
          "t");

    auto backend = open_query_backend(db->url("voserver_reader"));
    // the same answers as the SQLite store (tests/unit/obscore/visibility_test.cpp)
    vo::test_visibility::check_cases(vo::test_visibility::backend_runner(*backend));

    // the pgSphere index still answers a cone on the filtered table
    vo::adql::TranslateOptions options;
    options.row_filters = backend->row_filters(vo::test_visibility::caller());
    const auto t = backend->translate(
        "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.3, -30, 1)) = 1",
        options);
    PQclear(PQexec(reader.get(), "SET enable_seqscan = off"));
    std::unique_ptr<PGresult, decltype(&PQclear)> plan(PQexec(reader.get(), ("EXPLAIN " + t.sql).c_str()), PQclear);
    REQUIRE(PQresultStatus(plan.get()) == PGRES_TUPLES_OK);
    std::string lines;
    for (int i = 0; i < PQntuples(plan.get()); ++i) lines += std::string(PQgetvalue(plan.get(), i, 0)) + "\n";
    INFO(t.sql << "\n" << lines);
    CHECK(lines.find("obscore_voserver_s_point") != std::string::npos);

    // product look-ups with the caller's visibility
    set_archive_now_for_testing(vo::test_visibility::before());
    const auto s2 = backend->find_product("ivo://test/vis?s2", vo::test_visibility::caller());
    REQUIRE(s2);
    CHECK(s2->path == "/data/s2.fits");
    CHECK(s2->obs_collection == "secret");
    CHECK(s2->proposal_id == "P1");
    CHECK(s2->obs_release_date == "2031-06-01T00:00:00");
    CHECK_FALSE(backend->find_product("ivo://test/vis?s5")->obs_release_date);
    CHECK_FALSE(backend->find_product("ivo://test/vis?s3", vo::test_visibility::caller()));
    CHECK(backend->find_product("ivo://test/vis?s3"));
    CHECK_FALSE(backend->find_dataproduct_type("ivo://test/vis?s3", vo::test_visibility::caller()));
    CHECK(backend->find_dataproduct_type("ivo://test/vis?s2", vo::test_visibility::caller()) == "cube");
    CHECK_FALSE(backend->find_did_by_obs_id("s4", vo::test_visibility::caller()));
    CHECK(backend->find_did_by_obs_id("s4") == "ivo://test/vis?s4");
    CHECK(backend->collection_counts(vo::test_visibility::caller()) ==
          std::map<std::string, long long>{{"public", 2}, {"secret", 3}});
    CHECK(backend->collection_counts() == std::map<std::string, long long>{{"public", 2}, {"secret", 5}});
    set_archive_now_for_testing(vo::test_visibility::after());
    CHECK(backend->find_did_by_obs_id("s4", vo::test_visibility::caller()) == "ivo://test/vis?s4");
    set_archive_now_for_testing(std::nullopt);
}

TEST_CASE("PostgreSQL: a query backend sees a commit at once by NOTIFY, a change without one within a second",
          "[pg_store][pg_backend]") {
    REQUIRE_TEST_DATABASE(db);
    auto admin = connect(db->url("voserver_writer"));
    REQUIRE(PQstatus(admin.get()) == CONNECTION_OK);
    PQclear(PQexec(admin.get(), "DROP SCHEMA IF EXISTS ivoa, tap_schema, voserver CASCADE"));
    const std::vector<ExtensionColumn> columns = {vo::test_visibility::data_rights_column(true)};
    auto writer = open_archive_writer(db->url("voserver_writer"), columns);
    auto store_row = [&](int i) {
        writer->begin();
        auto r = record(i);
        r.extra.erase("is_public");
        writer->upsert(r, ProductFile{"/data/obs" + std::to_string(i) + ".fits", 1, 1, {0}});
        writer->commit();
    };
    store_row(0);
    auto backend = open_query_backend(db->url("voserver_reader"));
    CHECK_FALSE(backend->refresh_if_changed());
    // seen within `limit`, polling every 5 ms; how long it took
    auto seen_within = [&](std::chrono::milliseconds limit) {
        const auto start = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - start < limit) {
            if (backend->refresh_if_changed())
                return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
            usleep(5000);
        }
        return std::chrono::milliseconds::max();
    };
    // the writer's commit notifies: seen well before the polling interval
    CHECK_FALSE(backend->refresh_if_changed());
    store_row(1);
    CHECK(seen_within(std::chrono::milliseconds(400)) < std::chrono::milliseconds(400));
    CHECK_FALSE(backend->refresh_if_changed());
    // a writer that does not notify: data_version read again within a second
    CHECK(value(admin.get(),
                "UPDATE voserver.meta SET value = ((value)::bigint + 1)::text WHERE key = 'data_version' "
                "RETURNING 'ok'") == "ok");
    CHECK(seen_within(std::chrono::milliseconds(3000)) <= kPgDataVersionPoll + std::chrono::milliseconds(200));
    CHECK_FALSE(backend->refresh_if_changed());
}

TEST_CASE("PostgreSQL: the native geometry tests answer as the PL/pgSQL ones on random shapes, errors alike",
          "[pg_store][native]") {
    REQUIRE_TEST_DATABASE(db);
    TempDir tmp;
    load_into_postgres(make_store(tmp.path, 1), db->url("voserver_writer"));  // installs the function library
    auto reader = connect(db->url("voserver_reader"));
    REQUIRE(PQstatus(reader.get()) == CONNECTION_OK);
    PGconn* c = reader.get();
    // scripts/postgres installed build/voserver_pg.so, and the library uses it
    REQUIRE(value(c, "SELECT voserver_native_version()") == "1");
    for (const char* fn : {"relate", "relate_row", "contains_point", "contains_point_circle"}) {
        INFO(fn);
        CHECK(value(c, std::string("SELECT prosrc FROM pg_proc WHERE proname = 'adql_") + fn + "'")
                  .rfind(std::string("SELECT voserver_native_") + fn + "(", 0) == 0);
    }

    // 4,000 random footprints (squares of 0.02-6 degrees) against circles
    // around them (every tenth larger than a hemisphere), other squares and
    // points; each test by both implementations
    const std::string shapes =
        "WITH p AS (SELECT i, 360 * random() AS ra, 160 * random() - 80 AS dc, 0.01 + 3 * random() AS s, "
        "  CASE WHEN i % 10 = 0 THEN 90 + 80 * random() ELSE 0.01 + 5 * random() END AS r, "
        "  8 * random() - 4 AS dx, 8 * random() - 4 AS dy, 0.01 + 3 * random() AS s2 "
        "  FROM generate_series(1, 4000) i), "
        "g AS (SELECT i, ra, dc, r, ra + dx AS cra, greatest(-90, least(90, dc + dy)) AS cdc, "
        "  format('Polygon ICRS %s %s %s %s %s %s %s %s', ra - s, dc - s, ra + s, dc - s, ra + s, dc + s, ra - s, "
        "         dc + s) AS poly, "
        "  format('%s %s %s %s %s %s %s %s', ra + dx - s2, greatest(-89, dc + dy - s2), ra + dx + s2, "
        "         greatest(-89, dc + dy - s2), ra + dx + s2, least(89, dc + dy + s2), ra + dx - s2, "
        "         least(89, dc + dy + s2)) AS poly2 FROM p), "
        "h AS (SELECT *, format('%s %s %s', cra, cdc, r) AS circle FROM g) ";
    const std::pair<const char*, const char*> pairs[] = {
        {"adql_relate_row('INTERSECTS', poly, circle, 0)", "adql_relate_row_pl('INTERSECTS', poly, circle, 0)"},
        {"adql_relate_row('CONTAINS', poly, circle, 0)", "adql_relate_row_pl('CONTAINS', poly, circle, 0)"},
        {"adql_relate_row('CONTAINS', circle, poly, 1)", "adql_relate_row_pl('CONTAINS', circle, poly, 1)"},
        {"adql_relate('INTERSECTS', poly, poly2)", "adql_relate_pl('INTERSECTS', poly, poly2)"},
        {"adql_relate('CONTAINS', poly2, poly)", "adql_relate_pl('CONTAINS', poly2, poly)"},
        {"adql_contains_point_circle(ra, dc, cra, cdc, r)", "adql_contains_point_circle_pl(ra, dc, cra, cdc, r)"},
        {"adql_contains_point(cra, cdc, poly)", "adql_contains_point_pl(cra, cdc, poly)"},
    };
    for (const auto& [native, pl] : pairs) {
        const std::string sql = "SELECT setseed(0.25); " + shapes + "SELECT count(*) FILTER (WHERE (" + native +
                                ") IS DISTINCT FROM (" + pl + ")) || ' ' || count(*) FILTER (WHERE (" + native +
                                ") = 1) FROM h";
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), PQclear);
        INFO(native << ": " << PQerrorMessage(c));
        REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
        const std::string got = PQgetvalue(r.get(), PQntuples(r.get()) - 1, 0);
        const auto space = got.find(' ');
        CHECK(got.substr(0, space) == "0");  // no pair answered differently
        // and neither answer is constant: some pairs relate, some do not
        const int positives = std::stoi(got.substr(space + 1));
        CHECK(positives > 0);
        CHECK(positives < 4000);
    }

    // a row's invalid footprint matches nothing; an invalid constant fails the query, naming the function
    for (const char* fn : {"adql_relate_row", "adql_relate_row_pl"}) {
        INFO(fn);
        CHECK(value(c, std::string("SELECT ") + fn + "('INTERSECTS', 'Polygon ICRS 1 2 3 4', '10 10 1', 0)") ==
              "<null>");
        CHECK(value(c, std::string("SELECT ") + fn +
                           "('INTERSECTS', 'Polygon ICRS 10 10 11 10 11 11', '10.5 10.2 1', 0)") == "1");
        CHECK(error_of(c,
                       std::string("SELECT ") + fn + "('INTERSECTS', 'Polygon ICRS 10 10 11 10 11 11', '10 10 1 2', 0)")
                  .find("INTERSECTS") != std::string::npos);
    }
    CHECK(error_of(c, "SELECT adql_contains_point_circle('NaN', 0, 10, 10, 1)").find("right ascension") !=
          std::string::npos);

    // Regression: a constant point or circle beyond latitude 90 (or a
    // circle of negative radius) is an error in both implementations, as in
    // the SQLite store (geometry_text.cpp). The PL/pgSQL parser let pgSphere
    // wrap such a latitude round the pole and answered 0.
    for (const char* suffix : {"", "_pl"}) {
        const std::string s = suffix;
        INFO("implementation " << (s.empty() ? "native" : "PL/pgSQL"));
        const std::string circle_error = "invalid circle";
        CHECK(error_of(c, "SELECT adql_relate_row" + s +
                              "('INTERSECTS', 'Polygon ICRS 10 10 11 10 11 11', "
                              "'10 95 1', 0)")
                  .find(circle_error) != std::string::npos);
        CHECK(error_of(c,
                       "SELECT adql_relate_row" + s + "('INTERSECTS', '10 -95 1', 'Polygon ICRS 10 10 11 10 11 11', 1)")
                  .find(circle_error) != std::string::npos);
        CHECK(error_of(c, "SELECT adql_relate" + s + "('INTERSECTS', 'CIRCLE ICRS 10 -95 1', 'CIRCLE ICRS 10 10 1')")
                  .find(circle_error) != std::string::npos);
        CHECK(error_of(c, "SELECT adql_relate" + s + "('INTERSECTS', 'CIRCLE ICRS 10 10 -1', 'CIRCLE ICRS 10 10 1')")
                  .find(circle_error) != std::string::npos);
        CHECK(error_of(c, "SELECT adql_relate" + s + "('CONTAINS', 'POSITION ICRS 10 95', 'CIRCLE ICRS 10 10 1')")
                  .find("latitude") != std::string::npos);
        CHECK(error_of(c, "SELECT adql_contains_point" + s + "(10, 10, 'CIRCLE ICRS 10 95 1')").find(circle_error) !=
              std::string::npos);
        // a row's value beyond the pole still matches nothing
        CHECK(value(c, "SELECT adql_relate_row" + s +
                           "('INTERSECTS', '10 95 1', 'Polygon ICRS 10 10 11 10 11 11', 0)") == "<null>");
    }
}
