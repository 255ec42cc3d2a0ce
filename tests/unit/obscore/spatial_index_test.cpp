// The S2 spatial index (obscore/spatial_index.hpp, issue 3 item 3): the
// translated query uses it (EXPLAIN QUERY PLAN), and the results with the
// index pre-filter are exactly those of the same query without it, on a few
// thousand random rows including footprints that cross RA=0 and contain or
// approach the poles. The reference is the exact test alone (the translator
// given a catalogue without index information), which the semantic tests
// check against astropy values.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/spatial_index.hpp"
#include "obscore/store.hpp"
#include "obscore/upload_table.hpp"

using namespace vo::obscore;

namespace {

std::string temp_store(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / ("voserver-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = dir / name;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    return path.string();
}

/// The store's catalogue with the spatial index information removed.
class NoIndexCatalog : public vo::adql::Catalog {
public:
    explicit NoIndexCatalog(const vo::adql::Catalog& c) : tables_(c.tables()) {
        for (auto& t : tables_) t.spatial_index.reset();
    }
    const std::vector<vo::adql::TableInfo>& tables() const override { return tables_; }

private:
    std::vector<vo::adql::TableInfo> tables_;
};

std::vector<std::string> run(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
        FAIL("prepare failed: " << sqlite3_errmsg(db) << "\n" << sql);
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        auto p = sqlite3_column_text(s, 0);
        out.push_back(p ? reinterpret_cast<const char*>(p) : "<null>");
    }
    std::string err = sqlite3_errmsg(db);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) FAIL("query failed: " << err << "\n" << sql);
    std::sort(out.begin(), out.end());
    return out;
}

std::string plan(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    while (sqlite3_step(s) == SQLITE_ROW)
        out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))) + "\n";
    sqlite3_finalize(s);
    return out;
}

double wrap(double a) { return a < 0 ? a + 360 : (a >= 360 ? a - 360 : a); }

/// A store of random rows: uniform over the sphere, plus clusters near RA=0
/// and near both poles; footprints are squares of 0.02-6 degrees (RA extent
/// widened by 1/cos(dec)), some around a pole (vertices on one latitude
/// circle), some NULL.
std::string make_store(int n) {
    std::string path = temp_store("spatial.sqlite");
    auto store = Store::open_for_write(path);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    store->begin();
    for (int i = 0; i < n; ++i) {
        ObsCoreRecord r;
        r.obs_collection = "test";
        r.obs_id = "r" + std::to_string(i);
        r.obs_publisher_did = "ivo://test/t?" + r.obs_id;
        double ra, dec;
        switch (i % 4) {
            case 0:
                ra = wrap(u(rng) * 4 - 2);
                dec = u(rng) * 10 - 5;
                break;  // around RA=0
            case 1:
                ra = 360 * u(rng);
                dec = 90 - 3 * u(rng);
                break;  // north pole
            case 2:
                ra = 360 * u(rng);
                dec = -90 + 3 * u(rng);
                break;  // south pole
            default: ra = 360 * u(rng); dec = std::asin(2 * u(rng) - 1) * 180 / M_PI;
        }
        if (i % 97 != 5) {
            r.s_ra = ra;
            r.s_dec = dec;
        }
        double half = 0.01 + 3 * u(rng) * u(rng);
        if (i % 53 == 7) {
            // a cap around the pole, as a polygon with vertices on one latitude
            double lat = dec > 0 ? 90 - half : -90 + half;
            for (int k = 0; k < 6; ++k) r.s_region.push_back({60.0 * k + ra, lat});
        } else if (i % 31 != 3 && std::abs(dec) + half < 89.9) {
            double dra = half / std::cos(dec * M_PI / 180);
            r.s_region = {{wrap(ra - dra), dec - half},
                          {wrap(ra + dra), dec - half},
                          {wrap(ra + dra), dec + half},
                          {wrap(ra - dra), dec + half}};
        }
        store->upsert(r, ProductFile{});
    }
    // re-ingesting a row changes its position: the index must follow
    ObsCoreRecord moved;
    moved.obs_collection = "test";
    moved.obs_id = "r3";
    moved.obs_publisher_did = "ivo://test/t?r3";
    moved.s_ra = 123.0;
    moved.s_dec = 45.0;
    moved.s_region = {{122.9, 44.9}, {123.1, 44.9}, {123.1, 45.1}, {122.9, 45.1}};
    store->upsert(moved, ProductFile{});
    store->commit();
    return path;
}

}  // namespace

TEST_CASE("spatial index: pre-filtered results equal the exact test alone", "[spatial_index]") {
    const std::string path = make_store(4000);
    auto store = Store::open_read_only(path);
    sqlite3* db = store->db();
    const auto& indexed = store->catalog();
    NoIndexCatalog plain(indexed);
    REQUIRE(std::any_of(indexed.tables().begin(), indexed.tables().end(),
                        [](const vo::adql::TableInfo& t) { return t.spatial_index.has_value(); }));

    const std::vector<std::string> where = {
        // cones, point in circle, in both orders of `= 1`
        "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0.5, 1, 1)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(359.8, -1.5, 2.5)) = 1",
        "1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 90, 2))",
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(180, -89.5, 1.5)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(POINT(10, 88.9), 0.7)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(123, 45, 0.1)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(200, 10, 40)) = 1",
        // polygons crossing RA=0 and around a pole, boxes, ranges
        "CONTAINS(POINT(s_ra, s_dec), POLYGON(358, -3, 2, -3, 2, 3, 358, 3)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), POLYGON(0, 88, 90, 88, 180, 88, 270, 88)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), BOX(0, 0, 3, 4)) = 1",
        "CONTAINS(POINT(s_ra, s_dec), RANGE_S2D(359, 1, -2, 2)) = 1",
        "INTERSECTS(POINT(s_ra, s_dec), CIRCLE(1, 1, 1)) = 1",
        "INTERSECTS(CIRCLE(1, 1, 1), POINT(s_ra, s_dec)) = 1",
        // footprints
        "INTERSECTS(s_region, CIRCLE(0, 0, 0.5)) = 1",
        "INTERSECTS(CIRCLE(359.9, 2, 1), s_region) = 1",
        "1 = INTERSECTS(s_region, CIRCLE(45, 89.8, 0.3))",
        "INTERSECTS(s_region, CIRCLE(0, -90, 1)) = 1",
        "INTERSECTS(s_region, POLYGON(359, -1, 1, -1, 1, 1, 359, 1)) = 1",
        "INTERSECTS(s_region, POLYGON(0, -87, 120, -87, 240, -87)) = 1",
        "INTERSECTS(s_region, BOX(1, 1, 0.5, 0.5)) = 1",
        "INTERSECTS(s_region, RANGE_S2D(358, 2, 85, 90)) = 1",
        "INTERSECTS(s_region, POINT(0.2, 0.3)) = 1",
        "CONTAINS(s_region, POINT(0.2, 0.3)) = 1",
        "CONTAINS(CIRCLE(0, 0, 5), s_region) = 1",
        "CONTAINS(s_region, CIRCLE(0, 89.9, 0.05)) = 1",
        // DISTANCE, both forms and both orders
        "DISTANCE(POINT(s_ra, s_dec), POINT(0, 0)) < 1.5",
        "DISTANCE(POINT(0, 89), POINT(s_ra, s_dec)) <= 2",
        "2 > DISTANCE(s_ra, s_dec, 359.5, -1)",
        "DISTANCE(0.5, -89.5, s_ra, s_dec) < 0.8",
        // mixed with other conditions
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 3)) = 1 AND obs_id LIKE 'r1%'",
        "(INTERSECTS(s_region, CIRCLE(0, 0, 2)) = 1 AND s_dec > 0) AND CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 3)) = "
        "1",
    };
    std::size_t total = 0;
    for (const auto& w : where) {
        CAPTURE(w);
        std::string adql = "SELECT obs_id FROM ivoa.obscore WHERE " + w;
        auto fast = vo::adql::translate_sqlite(adql, indexed);
        auto slow = vo::adql::translate_sqlite(adql, plain);
        CHECK(fast.sql.find("ivoa_obscore_s2") != std::string::npos);
        CHECK(slow.sql.find("ivoa_obscore_s2") == std::string::npos);
        auto a = run(db, fast.sql);
        auto b = run(db, slow.sql);
        CHECK(a == b);
        total += b.size();
        std::string p = plan(db, fast.sql);
        CAPTURE(p);
        // the cell table is read through its primary key, the obscore table by rowid
        CHECK(p.find("SEARCH s USING PRIMARY KEY (kind=? AND cell>? AND cell<?)") != std::string::npos);
        CHECK(p.find("USING INTEGER PRIMARY KEY (rowid=?)") != std::string::npos);
    }
    // the queries do select something (a few hundred rows in all)
    CHECK(total > 300);
}

TEST_CASE("spatial index: random cones and footprint searches agree with the exact test", "[spatial_index]") {
    const std::string path = make_store(3000);
    auto store = Store::open_read_only(path);
    NoIndexCatalog plain(store->catalog());
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int k = 0; k < 60; ++k) {
        double ra = 360 * u(rng), dec = k % 3 == 0 ? 90 - 4 * u(rng) : k % 3 == 1 ? u(rng) * 6 - 3 : -90 + 4 * u(rng);
        if (k % 3 == 1) ra = wrap(ra / 90 - 2);
        double r = 0.05 + 3 * u(rng);
        char shape[120];
        std::snprintf(shape, sizeof shape, "CIRCLE(%.6f, %.6f, %.6f)", ra, dec, r);
        for (std::string w : {"CONTAINS(POINT(s_ra, s_dec), " + std::string(shape) + ") = 1",
                              "INTERSECTS(s_region, " + std::string(shape) + ") = 1"}) {
            CAPTURE(w);
            std::string adql = "SELECT obs_id FROM ivoa.obscore WHERE " + w;
            auto a = run(store->db(), vo::adql::translate_sqlite(adql, store->catalog()).sql);
            auto b = run(store->db(), vo::adql::translate_sqlite(adql, plain).sql);
            CHECK(a == b);
        }
    }
}

TEST_CASE("spatial index: not used where it would change the result", "[spatial_index]") {
    const std::string path = make_store(50);
    auto store = Store::open_read_only(path);
    auto sql = [&](const std::string& w) {
        return vo::adql::translate_sqlite("SELECT obs_id FROM ivoa.obscore WHERE " + w, store->catalog()).sql;
    };
    // = 0, OR, a non-constant shape, a non-indexed column: no pre-filter
    CHECK(sql("CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 1)) = 0").find("_s2") == std::string::npos);
    CHECK(sql("CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 1)) = 1 OR s_dec > 80").find("_s2") == std::string::npos);
    CHECK(sql("CONTAINS(POINT(s_ra, s_dec), CIRCLE(s_ra, 0, 1)) = 1").find("_s2") == std::string::npos);
    CHECK(sql("CONTAINS(POINT(s_dec, s_ra), CIRCLE(0, 0, 1)) = 1").find("_s2") == std::string::npos);
    CHECK(sql("DISTANCE(POINT(s_ra, s_dec), POINT(0, 0)) > 1").find("_s2") == std::string::npos);
    // a derived table hides the index
    CHECK(vo::adql::translate_sqlite("SELECT obs_id FROM (SELECT * FROM ivoa.obscore) AS q WHERE "
                                     "CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 1)) = 1",
                                     store->catalog())
              .sql.find("_s2") == std::string::npos);
    // an invalid shape is the same clear error as without the index
    auto bad = vo::adql::translate_sqlite(
        "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 95, 1)) = 1", store->catalog());
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(store->db(), bad.sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ERROR);
    CAPTURE(sqlite3_errmsg(store->db()));
    CHECK(std::string(sqlite3_errmsg(store->db())).find("CIRCLE: latitude 95") != std::string::npos);
    sqlite3_finalize(s);
}

TEST_CASE("spatial index: a re-ingested row is found at its new place only", "[spatial_index]") {
    const std::string path = make_store(20);
    auto store = Store::open_read_only(path);
    auto ids = run(store->db(), vo::adql::translate_sqlite("SELECT obs_id FROM ivoa.obscore WHERE "
                                                           "CONTAINS(POINT(s_ra, s_dec), CIRCLE(123, 45, 0.01)) = 1",
                                                           store->catalog())
                                    .sql);
    CHECK(ids == std::vector<std::string>{"r3"});
    // one point cell: the old one was removed when the row was re-ingested
    long long cells = 0;
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(store->db(),
                               "SELECT count(*) FROM ivoa_obscore_s2 WHERE row_id = "
                               "(SELECT rowid FROM ivoa_obscore WHERE obs_id = 'r3') AND kind = 0",
                               -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    cells = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    CHECK(cells == 1);
}

namespace {

/// A catalogue plus extra tables (the uploads of one query).
class WithTables : public vo::adql::Catalog {
public:
    WithTables(const vo::adql::Catalog& c, const std::vector<const vo::adql::TableInfo*>& extra) : tables_(c.tables()) {
        for (auto* t : extra) tables_.push_back(*t);
    }
    const std::vector<vo::adql::TableInfo>& tables() const override { return tables_; }

private:
    std::vector<vo::adql::TableInfo> tables_;
};

}  // namespace

TEST_CASE("spatial index: cross-matches with an uploaded table use the index row by row", "[spatial_index][upload]") {
    const std::string path = make_store(3000);
    auto store = Store::open_read_only(path);
    auto column = [](const char* name, const char* type) {
        vo::adql::ColumnInfo c;
        c.name = name;
        c.datatype = type;
        if (std::string(type) == "char") c.arraysize = "*";
        return c;
    };
    auto upload =
        UploadTable::create(*store, "src", {column("name", "char"), column("ra", "double"), column("dec", "double")});
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<std::string> names;
    for (int i = 0; i < 300; ++i) {
        // near RA=0, near the poles, anywhere
        const double ra = i % 3 == 0 ? wrap(u(rng) * 4 - 2) : 360 * u(rng);
        const double dec = i % 3 == 0 ? u(rng) * 10 - 5 : i % 3 == 1 ? 90 - 3 * u(rng) : -90 + 3 * u(rng);
        names.push_back("s" + std::to_string(i));
        UploadCell n, a, d;
        n.kind = UploadCell::Kind::text;
        n.text = names.back();
        a.kind = d.kind = UploadCell::Kind::real;
        a.real = ra;
        d.real = dec;
        upload->insert({n, a, d});
    }
    upload->finish();
    // the store itself stays read-only
    CHECK(sqlite3_exec(store->db(), "DELETE FROM ivoa_obscore", nullptr, nullptr, nullptr) != SQLITE_OK);
    CHECK(sqlite3_exec(store->db(), "CREATE TEMP TABLE x(a)", nullptr, nullptr, nullptr) != SQLITE_OK);

    const WithTables indexed(store->catalog(), {&upload->info()});
    const NoIndexCatalog no_index(store->catalog());
    const WithTables plain(no_index, {&upload->info()});
    const std::string pair = "SELECT t.name || ' ' || o.obs_id FROM TAP_UPLOAD.src AS t ";
    const std::vector<std::string> queries = {
        pair +
            "JOIN ivoa.obscore AS o ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', t.ra, t.dec, 0.3)) = 1",
        pair + "JOIN ivoa.obscore AS o ON CONTAINS(POINT(t.ra, t.dec), CIRCLE(o.s_ra, o.s_dec, 0.3)) = 1",
        pair + "JOIN ivoa.obscore AS o ON 1 = CONTAINS(POINT(t.ra, t.dec), CIRCLE(POINT(o.s_ra, o.s_dec), 0.3))",
        pair + ", ivoa.obscore AS o WHERE DISTANCE(POINT(t.ra, t.dec), POINT(o.s_ra, o.s_dec)) < 0.3",
        pair + ", ivoa.obscore AS o WHERE DISTANCE(t.ra, t.dec, o.s_ra, o.s_dec) <= 0.3 AND o.obs_id LIKE 'r%'",
        pair + "JOIN ivoa.obscore AS o ON INTERSECTS(o.s_region, CIRCLE(t.ra, t.dec, 0.1)) = 1",
        pair + "LEFT JOIN ivoa.obscore AS o ON CONTAINS(POINT(o.s_ra, o.s_dec), CIRCLE(t.ra, t.dec, 0.3)) = 1",
    };
    std::size_t total = 0;
    for (const auto& q : queries) {
        CAPTURE(q);
        auto fast = vo::adql::translate_sqlite(q, indexed);
        auto slow = vo::adql::translate_sqlite(q, plain);
        CHECK(fast.sql.find("ivoa_obscore_s2") != std::string::npos);
        const auto a = run(store->db(), fast.sql);
        CHECK(a == run(store->db(), slow.sql));
        total += a.size();
        const std::string p = plan(store->db(), fast.sql);
        CAPTURE(p);
        // the upload is scanned once; obscore is reached through the cells
        CHECK(p.find("SEARCH s USING PRIMARY KEY (kind=? AND cell>? AND cell<?)") != std::string::npos);
        CHECK(p.find("USING INTEGER PRIMARY KEY (rowid=?)") != std::string::npos);
        CHECK(p.find("CORRELATED LIST SUBQUERY") != std::string::npos);
        std::size_t scans = 0;  // of tables (the cover function is a virtual table)
        for (std::size_t at = p.find("SCAN "); at != std::string::npos; at = p.find("SCAN ", at + 5))
            if (p.compare(at, 6, "SCAN c") != 0) ++scans;
        CHECK(scans == 1);
    }
    CHECK(total > 300 + 100);  // the LEFT JOIN alone gives 300 rows

    // a shape that depends on the indexed row itself: no pre-filter
    CHECK(vo::adql::translate_sqlite(pair + "JOIN ivoa.obscore AS o ON CONTAINS(POINT(o.s_ra, o.s_dec), "
                                            "CIRCLE(o.s_ra, t.dec, 1)) = 1",
                                     indexed)
              .sql.find("_s2") == std::string::npos);
}
