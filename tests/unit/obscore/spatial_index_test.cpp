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
#include <cstdint>
#include <cstring>
#include <tuple>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/spatial_index.hpp"
#include "obscore/sql_functions.hpp"
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

// ---------------------------------------------------------------- issue 14

namespace {

/// Every entry of the cell table and of the footprint table, in key order.
struct IndexDump {
    std::vector<std::tuple<long long, long long, long long>> cells;
    std::vector<std::pair<long long, std::string>> footprints;
    bool operator==(const IndexDump&) const = default;
};

IndexDump dump_index(sqlite3* db) {
    IndexDump d;
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT kind, cell, row_id FROM ivoa_obscore_s2 ORDER BY kind, cell, row_id", -1, &s,
                               nullptr) == SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        d.cells.emplace_back(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
    sqlite3_finalize(s);
    REQUIRE(sqlite3_prepare_v2(db, "SELECT row_id, fp FROM ivoa_obscore_fp ORDER BY row_id", -1, &s, nullptr) ==
            SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        d.footprints.emplace_back(sqlite3_column_int64(s, 0),
                                  std::string(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                                              static_cast<std::size_t>(sqlite3_column_bytes(s, 1))));
    sqlite3_finalize(s);
    return d;
}

long long count_of(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

void exec_sql(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) FAIL(msg << "\n" << sql);
}

/// The footprint queries of the first test case, plus random circles near
/// RA=0 and the poles.
std::vector<std::string> footprint_queries() {
    std::vector<std::string> w = {
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
        "CONTAINS(POLYGON(357, -4, 3, -4, 3, 4, 357, 4), s_region) = 1",
        "CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 3)) = 1",
    };
    std::mt19937_64 rng(23);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int k = 0; k < 30; ++k) {
        double ra = 360 * u(rng), dec = k % 3 == 0 ? 90 - 4 * u(rng) : k % 3 == 1 ? u(rng) * 6 - 3 : -90 + 4 * u(rng);
        if (k % 3 == 1) ra = wrap(ra / 90 - 2);
        char shape[160];
        std::snprintf(shape, sizeof shape, "INTERSECTS(s_region, CIRCLE(%.6f, %.6f, %.6f)) = 1", ra, dec,
                      0.05 + 3 * u(rng));
        w.push_back(shape);
    }
    return w;
}

}  // namespace

TEST_CASE("spatial index: the bulk build equals the per-row index, on any number of threads", "[spatial_index]") {
    const std::string path = make_store(3000);  // indexed row by row by the upserts
    IndexDump per_row;
    {
        auto store = Store::open_read_only(path);
        per_row = dump_index(store->db());
    }
    REQUIRE(per_row.cells.size() > 3000);
    REQUIRE(per_row.footprints.size() > 2000);  // most rows have polygon footprints
    for (unsigned threads : {1u, 2u, 3u, 0u}) {
        CAPTURE(threads);
        {
            auto store = Store::open_for_write(path);
            store->begin();
            rebuild_spatial_index(store->db(), threads);
            store->commit();
        }
        auto store = Store::open_read_only(path);
        CHECK(dump_index(store->db()) == per_row);
        // and the queries on the bulk-built index equal the exact test alone
        NoIndexCatalog plain(store->catalog());
        for (const auto& w : footprint_queries()) {
            CAPTURE(w);
            std::string adql = "SELECT obs_id FROM ivoa.obscore WHERE " + w;
            CHECK(run(store->db(), vo::adql::translate_sqlite(adql, store->catalog()).sql) ==
                  run(store->db(), vo::adql::translate_sqlite(adql, plain).sql));
        }
    }
}

TEST_CASE("spatial index: the exact tests read the binary footprint and give the text's answers", "[spatial_index]") {
    const std::string path = make_store(3000);
    auto store = Store::open_read_only(path);
    NoIndexCatalog plain(store->catalog());
    REQUIRE(store->catalog().tables().size() > 0);
    std::size_t total = 0;
    for (const auto& w : footprint_queries()) {
        CAPTURE(w);
        std::string adql = "SELECT obs_id FROM ivoa.obscore WHERE " + w;
        auto fast = vo::adql::translate_sqlite(adql, store->catalog());
        auto slow = vo::adql::translate_sqlite(adql, plain);
        if (w.find("POINT(") == std::string::npos)  // the point forms keep their own functions
            CHECK(fast.sql.find("_fp(") != std::string::npos);
        CHECK(slow.sql.find("_fp(") == std::string::npos);
        auto a = run(store->db(), fast.sql);
        CHECK(a == run(store->db(), slow.sql));
        total += a.size();
    }
    CHECK(total > 200);
    // user aliases (the SQL names ranges t1, t2, ...: no clash with the
    // footprint subquery's own alias)
    for (const char* alias : {"f", "s", "c", "voserver_fp"}) {
        CAPTURE(alias);
        const std::string adql = std::string("SELECT ") + alias + ".obs_id FROM ivoa.obscore AS " + alias +
                                 " WHERE INTERSECTS(" + alias + ".s_region, CIRCLE(0, 0, 2)) = 1";
        auto fast = vo::adql::translate_sqlite(adql, store->catalog());
        CHECK(fast.sql.find("adql_intersects_fp(") != std::string::npos);
        auto a = run(store->db(), fast.sql);
        CHECK(a == run(store->db(), vo::adql::translate_sqlite(adql, plain).sql));
        CHECK(a.size() > 5);
    }
}

TEST_CASE("binary footprints: the same answers as the text on random polygons and shapes", "[spatial_index]") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
    REQUIRE(register_sql_functions(db) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    // every predicate both ways, with the footprint of argument k
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT adql_intersects(?1, ?2), adql_intersects_fp(?3, ?1, ?2, 0), "
                               "adql_intersects(?2, ?1), adql_intersects_fp(?3, ?2, ?1, 1), "
                               "adql_contains(?1, ?2), adql_contains_fp(?3, ?1, ?2, 0), "
                               "adql_contains(?2, ?1), adql_contains_fp(?3, ?2, ?1, 1)",
                               -1, &s, nullptr) == SQLITE_OK);
    std::mt19937_64 rng(31);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    auto fmt = [](double x) {
        char b[40];
        std::snprintf(b, sizeof b, "%.9g", x);
        return std::string(b);
    };
    // footprints: 3-8 vertices around a centre (uniform, near RA=0, near the
    // poles, around a pole), either orientation, some with a repeated vertex
    double cra = 0, cdec = 0, cr = 0;  // the last polygon's centre and size
    auto polygon = [&](int k) {
        double ra = 360 * u(rng), dec = std::asin(2 * u(rng) - 1) * 180 / M_PI;
        if (k % 4 == 1) ra = wrap(u(rng) * 2 - 1), dec = u(rng) * 4 - 2;
        if (k % 4 == 2) dec = (k % 8 == 2 ? 1 : -1) * (89.5 + 0.5 * u(rng));
        const int n = 3 + static_cast<int>(u(rng) * 6);
        const double r = 0.01 + 4 * u(rng) * u(rng);
        const bool cw = k % 2 == 0;
        cra = ra, cdec = dec, cr = r;
        std::string t = k % 5 == 0 ? "Polygon ICRS" : "";
        for (int i = 0; i < n; ++i) {
            const double a = 2 * M_PI * (cw ? n - i : i) / n + 0.3 * u(rng);
            double vdec = dec + r * std::sin(a),
                   vra = ra + r * std::cos(a) / std::max(0.05, std::cos(dec * M_PI / 180));
            if (vdec > 90 || vdec < -90) vdec = dec;  // keep valid
            t += (t.empty() ? "" : " ") + fmt(wrap(vra)) + " " + fmt(vdec);
            if (k % 7 == 3 && i == 0) t += " " + fmt(wrap(vra)) + " " + fmt(vdec);  // a repeated vertex
        }
        return t;
    };
    auto shape = [&](int k) {
        double ra = 360 * u(rng), dec = std::asin(2 * u(rng) - 1) * 180 / M_PI;
        switch (k % 4) {
            case 0: return fmt(ra) + " " + fmt(dec);  // a point
            case 1: return fmt(ra) + " " + fmt(dec) + " " + fmt(0.01 + 60 * u(rng) * u(rng));
            case 2:
                return "range " + fmt(ra) + " " + fmt(ra + 30 * u(rng)) + " " + fmt(std::max(-90.0, dec - 10)) + " " +
                       fmt(std::min(90.0, dec + 10 * u(rng)));
            default: {
                double r = 0.5 + 40 * u(rng) * u(rng);
                return fmt(ra) + " " + fmt(std::max(-89.0, dec - r)) + " " + fmt(ra + r) + " " +
                       fmt(std::max(-89.0, dec - r)) + " " + fmt(ra + r) + " " + fmt(std::min(89.0, dec + r)) + " " +
                       fmt(ra) + " " + fmt(std::min(89.0, dec + r));
            }
        }
    };
    int polygons = 0, answers[2] = {0, 0};
    for (int k = 0; k < 400; ++k) {
        const std::string region = polygon(k);
        std::string error;
        auto f = index_footprint(region, error);
        if (!f) continue;  // an invalid random polygon: not indexed
        REQUIRE(!f->blob.empty());
        ++polygons;
        // shapes near the footprint (its own vertices) and anywhere
        std::vector<std::string> shapes;
        for (int j = 0; j < 12; ++j) shapes.push_back(shape(j + k));
        for (double f : {0.3, 0.9, 1.1, 2.0}) {  // circles near and across its edges
            shapes.push_back(fmt(wrap(cra + f * cr * (u(rng) - 0.5))) + " " +
                             fmt(std::clamp(cdec + f * cr * (u(rng) - 0.5), -90.0, 90.0)) + " " + fmt(f * cr));
            shapes.push_back(fmt(wrap(cra)) + " " + fmt(cdec));  // its centre
        }
        for (const std::string& sh : shapes) {
            CAPTURE(region, sh);
            sqlite3_bind_text(s, 1, region.data(), static_cast<int>(region.size()), SQLITE_STATIC);
            sqlite3_bind_text(s, 2, sh.data(), static_cast<int>(sh.size()), SQLITE_STATIC);
            sqlite3_bind_blob(s, 3, f->blob.data(), static_cast<int>(f->blob.size()), SQLITE_STATIC);
            const int rc = sqlite3_step(s);
            if (rc != SQLITE_ROW) {  // an invalid shape (a cut-off vertex list): the same error either way
                sqlite3_reset(s);
                continue;
            }
            for (int c = 0; c < 8; c += 2) {
                CAPTURE(c);
                CHECK(sqlite3_column_type(s, c) == sqlite3_column_type(s, c + 1));
                CHECK(sqlite3_column_int(s, c) == sqlite3_column_int(s, c + 1));
                ++answers[sqlite3_column_int(s, c) != 0];
            }
            sqlite3_reset(s);
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    CHECK(polygons > 300);
    CHECK(answers[0] > 1000);
    CHECK(answers[1] > 300);
}

namespace {

/// The 64-bit FNV-1a hash of a binary footprint's text (sql_functions.hpp).
std::uint64_t fnv1a(std::string_view t) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : t) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

int eval_int(sqlite3* db, const std::string& sql, const std::string& blob) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    sqlite3_bind_blob(s, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    int v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

}  // namespace

TEST_CASE("binary footprints: used only for the text they were made from", "[spatial_index]") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
    REQUIRE(register_sql_functions(db) == SQLITE_OK);
    const std::string a = "Polygon ICRS 10 10 11 10 11 11 10 11", b = "Polygon ICRS 50 50 51 50 51 51 50 51";
    std::string error;
    auto fa = index_footprint(a, error), fb = index_footprint(b, error);
    REQUIRE(fa);
    REQUIRE(fb);
    CHECK(fa->blob.size() == 9 + 24 * 4);
    CHECK(static_cast<unsigned char>(fa->blob[0]) == 1);
    const std::string near_b = "'50.5 50.5 0.1'";
    // b's blob given with a's text: the text decides (the hash differs)
    CHECK(eval_int(db, "SELECT adql_intersects_fp(?1, '" + a + "', " + near_b + ", 0)", fb->blob) == 0);
    // b's vertices under a's hash: the blob is what is tested (so it is read)
    std::string forged = fb->blob;
    const std::uint64_t h = fnv1a(a);
    std::memcpy(forged.data() + 1, &h, 8);
    CHECK(eval_int(db, "SELECT adql_intersects_fp(?1, '" + a + "', " + near_b + ", 0)", forged) == 1);
    // malformed blobs: the text
    for (std::string bad :
         {std::string(), std::string("x"), fa->blob.substr(0, 40), std::string(fa->blob).append("y")}) {
        CHECK(eval_int(db, "SELECT adql_intersects_fp(?1, '" + a + "', '10.5 10.5 0.1', 0)", bad) == 1);
    }
    std::string wrong_format = fa->blob;
    wrong_format[0] = 2;
    CHECK(eval_int(db, "SELECT adql_intersects_fp(?1, '" + a + "', '50.5 50.5 0.1', 0)", wrong_format) == 0);
    // NULL footprint (no entry): the text; NULL region: NULL
    // (CONTAINS(a, b): a lies within b, ADQL 2.1 section 4.2.12)
    CHECK(eval_int(db, "SELECT adql_contains_fp(NULL, '10.5 10.5 0.1', '" + a + "', 1)", "") == 1);
    CHECK(eval_int(db, "SELECT adql_contains_fp(NULL, '" + a + "', '10.5 10.5 0.1', 0)", "") == 0);
    CHECK(eval_int(db, "SELECT adql_intersects_fp(?1, NULL, '10.5 10.5 0.1', 0)", fa->blob) == -1);
    // the row's text (argument k) not a valid geometry: NULL, no match (a
    // stored footprint whose corners pass a pole, as bench_gen_obscore
    // once made); the other argument invalid: the error of adql_intersects,
    // argument numbers included
    CHECK(eval_int(db, "SELECT adql_intersects_fp(NULL, '1 2 3 4', '1 1 1', 0)", "") == -1);
    CHECK(eval_int(db, "SELECT adql_intersects_fp(NULL, '1 1 1', 'Polygon ICRS 10 -90.02 110 -90.02 110 -89.92', 1)",
                   "") == -1);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT adql_intersects_fp(NULL, '1 2 3 4', '1 1 1', 1)", -1, &s, nullptr) ==
            SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ERROR);
    const std::string e1 = sqlite3_errmsg(db);
    sqlite3_finalize(s);
    REQUIRE(sqlite3_prepare_v2(db, "SELECT adql_intersects('1 2 3 4', '1 1 1')", -1, &s, nullptr) == SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ERROR);
    CHECK(e1 == sqlite3_errmsg(db));
    CHECK(e1.find("INTERSECTS: argument 1") != std::string::npos);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

TEST_CASE("spatial index: upserts keep the footprint table in step; stale entries are never used", "[spatial_index]") {
    const std::string path = make_store(40);
    auto record = [](const char* id, std::vector<std::pair<double, double>> region) {
        ObsCoreRecord r;
        r.obs_collection = "test";
        r.obs_id = id;
        r.obs_publisher_did = std::string("ivo://test/t?") + id;
        r.s_ra = 200.0;
        r.s_dec = -30.0;
        for (auto& [ra, dec] : region) r.s_region.push_back({ra, dec});
        return r;
    };
    {
        auto store = Store::open_for_write(path);
        const std::string fp_of =
            "SELECT count(*) FROM ivoa_obscore_fp WHERE row_id = (SELECT rowid FROM ivoa_obscore "
            "WHERE obs_id = ";
        REQUIRE(count_of(store->db(), fp_of + "'r12')") == 1);
        REQUIRE(count_of(store->db(), fp_of + "'r16')") == 1);
        store->begin();
        store->upsert(record("r8", {{199.9, -30.1}, {200.1, -30.1}, {200.1, -29.9}, {199.9, -29.9}}), ProductFile{});
        store->upsert(record("r12", {}), ProductFile{});  // its footprint removed
        store->commit();
        // after the upserts the table equals a fresh bulk build
        IndexDump upserted = dump_index(store->db());
        store->begin();
        rebuild_spatial_index(store->db());
        store->commit();
        CHECK(dump_index(store->db()) == upserted);
        // a change of s_region behind the index's back (an older writer, a hand edit)
        exec_sql(store->db(),
                 "UPDATE ivoa_obscore SET s_region = 'Polygon ICRS 20 20 21 20 21 21 20 21' WHERE obs_id = 'r16'");
    }
    auto store = Store::open_read_only(path);
    auto count = [&](const char* sql) {
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(store->db(), sql, -1, &s, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(s) == SQLITE_ROW);
        long long n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return n;
    };
    CHECK(count("SELECT count(*) FROM ivoa_obscore_fp WHERE row_id = (SELECT rowid FROM ivoa_obscore WHERE obs_id = "
                "'r12')") == 0);
    // r16's entry is stale (made from its old text)
    CHECK(count("SELECT count(*) FROM ivoa_obscore_fp WHERE row_id = (SELECT rowid FROM ivoa_obscore WHERE obs_id = "
                "'r16')") == 1);
    CHECK(count("SELECT count(*) FROM ivoa_obscore_s2 WHERE kind = 1 AND row_id = (SELECT rowid FROM ivoa_obscore "
                "WHERE obs_id = 'r12')") == 0);
    // the fp entry of r8 is the footprint of its new text
    {
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(store->db(),
                                   "SELECT o.s_region, f.fp FROM ivoa_obscore AS o JOIN ivoa_obscore_fp AS f ON "
                                   "f.row_id = o.rowid WHERE o.obs_id = 'r8'",
                                   -1, &s, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(s) == SQLITE_ROW);
        std::string text = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        std::string blob(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
        sqlite3_finalize(s);
        std::string error;
        auto f = index_footprint(text, error);
        REQUIRE(f);
        CHECK(f->blob == blob);
    }
    // r16's stale footprint is not used: the exact test (without the cell
    // pre-filter, which knows r16 at its old place only) finds r16 at its new place
    struct FootprintOnly : vo::adql::Catalog {
        explicit FootprintOnly(const vo::adql::Catalog& c) : t(c.tables()) {
            for (auto& x : t)
                if (x.spatial_index) x.spatial_index->cell_table.clear();
        }
        const std::vector<vo::adql::TableInfo>& tables() const override { return t; }
        std::vector<vo::adql::TableInfo> t;
    } fp_only(store->catalog());
    auto sql = vo::adql::translate_sqlite(
                   "SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE(20.5, 20.5, 0.1)) = 1", fp_only)
                   .sql;
    CHECK(sql.find("adql_intersects_fp(") != std::string::npos);
    CHECK(run(store->db(), sql) == std::vector<std::string>{"r16"});
}

TEST_CASE(
    "spatial index: a store without the footprint table is queried as before, and re-indexed when opened "
    "for writing",
    "[spatial_index]") {
    const std::string path = make_store(2000);
    IndexDump fresh;
    {
        auto store = Store::open_for_write(path);
        fresh = dump_index(store->db());
        exec_sql(store->db(), "DROP TABLE ivoa_obscore_fp");  // as a store of an earlier version
    }
    {
        auto store = Store::open_read_only(path);
        const auto& tables = store->catalog().tables();
        auto t = std::find_if(tables.begin(), tables.end(), [](const auto& x) { return x.spatial_index.has_value(); });
        REQUIRE(t != tables.end());
        CHECK(t->spatial_index->footprint_table.empty());
        NoIndexCatalog plain(store->catalog());
        for (const auto& w : footprint_queries()) {
            CAPTURE(w);
            std::string adql = "SELECT obs_id FROM ivoa.obscore WHERE " + w;
            auto fast = vo::adql::translate_sqlite(adql, store->catalog());
            CHECK(fast.sql.find("ivoa_obscore_s2") != std::string::npos);
            CHECK(fast.sql.find("_fp") == std::string::npos);
            CHECK(run(store->db(), fast.sql) == run(store->db(), vo::adql::translate_sqlite(adql, plain).sql));
        }
    }
    {
        auto store = Store::open_for_write(path);  // migrates: the whole index rebuilt
        CHECK(dump_index(store->db()) == fresh);
    }
    auto store = Store::open_read_only(path);
    for (const auto& t : store->catalog().tables())
        if (t.spatial_index) CHECK(t.spatial_index->footprint_table == kFootprintTable);
}

TEST_CASE("SQLite bulk load: the first transaction into an empty store indexes as row-by-row upserts do",
          "[spatial_index][bulk]") {
    // the same rows, a DID twice among them: into an empty store in one
    // transaction (a bulk load: indexes dropped, spatial index built at the
    // commit), and one row first, then the rest (row by row)
    auto rows = [] {
        std::vector<ObsCoreRecord> out;
        for (int i = 0; i < 300; ++i) {
            ObsCoreRecord r;
            r.obs_collection = "test";
            r.obs_id = "b" + std::to_string(i % 250);  // b0..b49 twice: the last wins
            r.obs_publisher_did = "ivo://test/t?" + r.obs_id;
            r.target_name = "t" + std::to_string(i);
            const double ra = wrap(i * 1.37), dec = -80 + (i % 160);
            r.s_ra = ra;
            r.s_dec = dec;
            r.s_region = {{wrap(ra - 0.2), dec - 0.1}, {wrap(ra + 0.2), dec - 0.1}, {wrap(ra + 0.2), dec + 0.1}};
            out.push_back(r);
        }
        return out;
    }();
    auto indexes = [](sqlite3* db) {
        return run(db, "SELECT name || ': ' || sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL");
    };
    const std::string bulk_path = temp_store("bulk.sqlite"), rows_path = temp_store("rows.sqlite");
    std::vector<std::string> layout;
    {
        auto store = Store::open_for_write(bulk_path);
        layout = indexes(store->db());
        CHECK(layout.size() >= 13);
        const auto cache_size = run(store->db(), "PRAGMA cache_size");
        store->begin();
        // the load's page cache holds its unique keys (2 GiB, as used), the
        // connection's own size again after the commit
        CHECK(run(store->db(), "PRAGMA cache_size") == std::vector<std::string>{"-2097152"});
        for (const auto& r : rows) store->upsert(r, ProductFile{"/data/" + r.obs_id + ".fits", 1, 1, {0}});
        // a reader meanwhile sees the table as it was
        auto reader = Store::open_read_only(bulk_path);
        CHECK(count_of(reader->db(), "SELECT count(*) FROM ivoa_obscore") == 0);
        CHECK(indexes(reader->db()) == layout);
        store->commit();
        CHECK(indexes(store->db()) == layout);
        CHECK(run(store->db(), "PRAGMA cache_size") == cache_size);
    }
    {
        auto store = Store::open_for_write(rows_path);
        store->begin();
        store->upsert(rows[0], ProductFile{"/data/b0.fits", 1, 1, {0}});
        store->commit();
        store->begin();
        for (std::size_t i = 1; i < rows.size(); ++i)
            store->upsert(rows[i], ProductFile{"/data/" + rows[i].obs_id + ".fits", 1, 1, {0}});
        store->commit();
    }
    auto bulk = Store::open_read_only(bulk_path), by_row = Store::open_read_only(rows_path);
    CHECK(count_of(bulk->db(), "SELECT count(*) FROM ivoa_obscore") == 250);
    CHECK(run(bulk->db(), "SELECT target_name FROM ivoa_obscore WHERE obs_id = 'b7'") ==
          std::vector<std::string>{"t257"});
    CHECK(dump_index(bulk->db()) == dump_index(by_row->db()));
    for (const char* where :
         {"CONTAINS(POINT(s_ra, s_dec), CIRCLE(100, 0, 20)) = 1", "INTERSECTS(s_region, CIRCLE(137, 20, 2)) = 1"}) {
        const std::string sql =
            vo::adql::translate_sqlite(std::string("SELECT obs_id FROM ivoa.obscore WHERE ") + where, bulk->catalog())
                .sql;
        CHECK(sql.find("ivoa_obscore_s2") != std::string::npos);  // through the spatial index
        CHECK(!run(bulk->db(), sql).empty());
        CHECK(run(bulk->db(), sql) == run(by_row->db(), sql));
    }
    // an abandoned bulk load changes nothing
    {
        const std::string path = temp_store("abandoned.sqlite");
        {
            auto store = Store::open_for_write(path);
            store->begin();
            store->upsert(rows[0], ProductFile{});
        }
        auto store = Store::open_read_only(path);
        CHECK(count_of(store->db(), "SELECT count(*) FROM ivoa_obscore") == 0);
        CHECK(indexes(store->db()) == layout);
    }
}
