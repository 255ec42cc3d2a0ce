// The ObsCore store: schema, TAP_SCHEMA 1.1 rows, upsert semantics.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>

#include "obscore/store.hpp"
#include "obscore/tap_schema.hpp"

using namespace vo::obscore;

namespace {

std::string temp_store(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / ("voserver-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = dir / name;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    return path.string();
}

long long scalar(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

std::string text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    auto p = sqlite3_column_text(s, 0);
    std::string v = p ? reinterpret_cast<const char*>(p) : "<null>";
    sqlite3_finalize(s);
    return v;
}

ObsCoreRecord sample_record() {
    ObsCoreRecord r;
    r.dataproduct_type = "cube";
    r.obs_collection = "samples";
    r.obs_id = "ngc3256";
    r.obs_publisher_did = "ivo://test/samples?ngc3256";
    r.s_ra = 156.96;
    r.s_dec = -43.9;
    r.s_region = {{157.0, -43.95}, {156.9, -43.95}, {156.9, -43.85}, {157.0, -43.85}};
    r.em_min = 2.6e-3;
    r.em_max = 2.7e-3;
    return r;
}

}  // namespace

TEST_CASE("a new store holds ivoa.obscore and a TAP_SCHEMA describing it", "[store]") {
    auto path = temp_store("schema.sqlite");
    auto store = Store::open_for_write(path);
    sqlite3* db = store->db();

    // TAP 1.1 section 4.2: ivoa.obscore listed in lower case (astroquery compares it exactly).
    CHECK(scalar(db, "SELECT COUNT(*) FROM tap_schema_tables WHERE table_name = 'ivoa.obscore'") == 1);
    CHECK(scalar(db, "SELECT COUNT(*) FROM tap_schema_tables WHERE schema_name = 'TAP_SCHEMA'") == 5);
    // Every ObsCore column is described, with the Appendix C.2 utype, UCD and unit.
    CHECK(scalar(db, "SELECT COUNT(*) FROM tap_schema_columns WHERE table_name = 'ivoa.obscore'") ==
          static_cast<long long>(obscore_columns().size()));
    CHECK(text(db, "SELECT utype FROM tap_schema_columns WHERE column_name = 'em_min'") ==
          "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit");
    CHECK(text(db, "SELECT ucd FROM tap_schema_columns WHERE column_name = 's_region'") == "pos.outline;obs.field");
    CHECK(text(db, "SELECT unit FROM tap_schema_columns WHERE column_name = 'access_estsize'") == "kbyte");
    CHECK(text(db, "SELECT xtype FROM tap_schema_columns WHERE column_name = 's_region'") == "adql:REGION");
    CHECK(text(db, "SELECT datatype FROM tap_schema_columns WHERE column_name = 's_region'") == "char");
    // The TAP_SCHEMA tables describe themselves, "size" delimited (a reserved word).
    CHECK(scalar(db, "SELECT COUNT(*) FROM tap_schema_columns WHERE table_name = 'TAP_SCHEMA.columns'") == 14);
    CHECK(scalar(db, "SELECT COUNT(*) FROM tap_schema_columns WHERE column_name = '\"size\"'") == 1);

    // The catalogue read back from TAP_SCHEMA resolves names for the ADQL layer.
    const auto& tables = store->catalog().tables();
    REQUIRE(tables.size() == 6);
    CHECK(tables[0].schema == "ivoa");
    CHECK(tables[0].name == "obscore");
    CHECK(tables[0].physical == "ivoa_obscore");
    auto cols = std::find_if(tables.begin(), tables.end(), [](auto& t) { return t.name == "columns"; });
    REQUIRE(cols != tables.end());
    CHECK(cols->physical == "tap_schema_columns");
    CHECK(std::any_of(cols->columns.begin(), cols->columns.end(), [](auto& c) { return c.name == "size"; }));
}

TEST_CASE("re-ingesting a product updates its row instead of duplicating it", "[store]") {
    auto path = temp_store("upsert.sqlite");
    auto store = Store::open_for_write(path);
    ProductFile file{"/data/ngc3256.fits", 3350000, 1700000000, {0}};
    auto r = sample_record();
    store->upsert(r, file);
    r.target_name = "NGC 3256";
    file.image_hdus = {1, 2, 3};
    store->upsert(r, file);
    CHECK(store->count_rows() == 1);
    CHECK(text(store->db(), "SELECT target_name FROM ivoa_obscore") == "NGC 3256");
    CHECK(text(store->db(), "SELECT s_region FROM ivoa_obscore") ==
          "Polygon ICRS 157 -43.95 156.9 -43.95 156.9 -43.85 157 -43.85");

    auto product = store->find_product("ivo://test/samples?ngc3256");
    REQUIRE(product);
    CHECK(product->path == "/data/ngc3256.fits");
    CHECK(product->image_hdus == std::vector<int>{1, 2, 3});
    CHECK_FALSE(store->find_product("ivo://test/samples?nothing"));

    // Reopening keeps rows (TAP_SCHEMA is rewritten, data is not).
    store.reset();
    store = Store::open_for_write(path);
    CHECK(store->count_rows() == 1);
}

TEST_CASE("extension columns are added by configuration and published", "[store]") {
    auto path = temp_store("ext.sqlite");
    ColumnDef band;
    band.name = "band_list";
    band.adql_type = "VARCHAR";
    band.datatype = "char";
    band.arraysize = "*";
    band.description = "ALMA receiver bands";
    band.std = false;
    auto store = Store::open_for_write(path, {band});
    auto r = sample_record();
    r.extra["band_list"] = std::string("3");
    store->upsert(r, ProductFile{"/x.fits", 1, 1, {0}});
    CHECK(text(store->db(), "SELECT band_list FROM ivoa_obscore") == "3");
    CHECK(scalar(store->db(), "SELECT std FROM tap_schema_columns WHERE column_name = 'band_list'") == 0);

    ColumnDef clash = band;
    clash.name = "s_ra";
    CHECK_THROWS_AS(Store::open_for_write(temp_store("clash.sqlite"), {clash}), StoreError);
}

TEST_CASE("access_url is completed at query time from the public base URL", "[store]") {
    auto path = temp_store("access.sqlite");
    {
        auto store = Store::open_for_write(path);
        auto r = sample_record();
        r.access_url = "/datalink/sync?ID=x";
        store->upsert(r, ProductFile{"/x.fits", 1, 1, {0}});
        auto old = sample_record();  // a row as earlier versions stored it
        old.obs_id = "old";
        old.obs_publisher_did = "ivo://test/samples?old";
        old.access_url = "http://elsewhere/datalink/sync?ID=old";
        store->upsert(old, ProductFile{"/y.fits", 1, 1, {0}});
    }
    auto store = Store::open_read_only(path);
    const auto run = [&](const std::string& adql) {
        const auto t = vo::adql::translate_sqlite(adql, store->catalog());
        return text(store->db(), t.sql);
    };
    set_public_base_url("http://archive.test:8080");
    CHECK(run("SELECT access_url FROM ivoa.obscore WHERE obs_id = 'ngc3256'") ==
          "http://archive.test:8080/datalink/sync?ID=x");
    CHECK(run("SELECT a.access_url FROM ivoa.obscore AS a WHERE a.obs_id = 'old'") ==
          "http://elsewhere/datalink/sync?ID=old");
    CHECK(run("SELECT COUNT(*) FROM ivoa.obscore WHERE access_url = 'http://archive.test:8080/datalink/sync?ID=x'") ==
          "1");
    set_public_base_url("https://moved.example");  // the same store behind another address
    CHECK(run("SELECT access_url FROM ivoa.obscore WHERE obs_id = 'ngc3256'") ==
          "https://moved.example/datalink/sync?ID=x");
    set_public_base_url("");
}
