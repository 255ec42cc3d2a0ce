// Issue 12 on the SQLite store: the archive's clock (obscore/clock.hpp,
// VOSERVER_NOW), data_rights computed when a query runs, protected metadata
// as a filtered table in every query (obscore/access.hpp), the spatial index
// still used on it, and the product look-ups answering "not found" for rows
// the caller may not see.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

#include "obscore/access.hpp"
#include "obscore/backend.hpp"
#include "obscore/clock.hpp"
#include "obscore/profile.hpp"
#include "obscore/store.hpp"
#include "tests/unit/obscore/visibility_scenario.hpp"

using namespace vo::obscore;
namespace tv = vo::test_visibility;

namespace {

/// The details of SQLite's EXPLAIN QUERY PLAN of `sql` on `db`, one per line.
std::string query_plan(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string plan;
    while (sqlite3_step(s) == SQLITE_ROW)
        plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))) + "\n";
    sqlite3_finalize(s);
    return plan;
}

/// This test executable run again for the hidden test cases tagged
/// [clock_child] with `environment` ("NAME=value ..."); its exit status.
int run_child(const std::string& environment) {
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    REQUIRE(n > 0);
    exe[n] = '\0';
    const std::string command = "env " + environment + " '" + exe + "' '[clock_child]' >/dev/null 2>&1";
    return std::system(command.c_str());
}

}  // namespace

TEST_CASE("ISO 8601 UTC times are parsed strictly", "[clock]") {
    CHECK(parse_iso_utc("1970-01-01") == 0);
    CHECK(parse_iso_utc("1970-01-02T00:00:01") == 86401);
    CHECK(parse_iso_utc("2031-01-01T00:00:00") == 1924992000);
    CHECK(parse_iso_utc("2031-01-01T00:00:00Z") == 1924992000);
    CHECK(parse_iso_utc("2031-01-01T00:00:00.75") == 1924992000);
    CHECK(parse_iso_utc("2024-02-29T12:30") == 1709209800);
    CHECK(iso_utc(*parse_iso_utc("2024-02-29T12:30:15")) == "2024-02-29T12:30:15");
    for (const char* bad :
         {"", "2031", "2031-1-01", "2031-13-01", "2023-02-29", "2031-01-01 00:00:00", "2031-01-01T24:00:00",
          "2031-01-01T00:60", "2031-01-01T00:00:00+01:00", "2031-01-01T00:00:00.", "tomorrow"}) {
        INFO(bad);
        CHECK_FALSE(parse_iso_utc(bad));
    }
}

TEST_CASE("the clock can be set for tests and returns to the real time", "[clock]") {
    set_archive_now_for_testing(12345);
    CHECK(archive_now() == 12345);
    set_archive_now_for_testing(std::nullopt);
    if (!std::getenv(kNowVariable)) CHECK(std::abs(archive_now() - std::time(nullptr)) <= 1);
}

TEST_CASE("VOSERVER_NOW sets the clock of a process; a malformed value is an error naming it", "[clock]") {
    const std::string store = tv::temp_path("env.sqlite");
    tv::build_store(store);
    CHECK(run_child("VOSERVER_NOW=2032-01-01T00:00:00 VO_TEST_EXPECT=1956528000 VO_TEST_P2_RIGHTS=Public "
                    "VO_TEST_STORE=" +
                    store) == 0);
    CHECK(run_child("VOSERVER_NOW=2030-01-01T00:00:00 VO_TEST_EXPECT=1893456000 VO_TEST_P2_RIGHTS=Proprietary "
                    "VO_TEST_STORE=" +
                    store) == 0);
    CHECK(run_child("VOSERVER_NOW=next-year VO_TEST_EXPECT=error VO_TEST_STORE=" + store) == 0);
    // the child really checks: a wrong expectation fails it
    CHECK(run_child("VOSERVER_NOW=2030-01-01T00:00:00 VO_TEST_EXPECT=1893456000 VO_TEST_P2_RIGHTS=Public "
                    "VO_TEST_STORE=" +
                    store) != 0);
}

// Run by the test above in a process of its own (VOSERVER_NOW is read once).
TEST_CASE("clock child: archive_now(), vo_now() and data_rights under VOSERVER_NOW", "[.][clock_child]") {
    if (!std::getenv("VO_TEST_EXPECT") || !std::getenv("VO_TEST_STORE")) FAIL("run by the VOSERVER_NOW test only");
    const std::string expect = std::getenv("VO_TEST_EXPECT");
    const std::string store = std::getenv("VO_TEST_STORE");
    if (expect == "error") {
        try {
            (void)archive_now();
            FAIL("no error for a malformed VOSERVER_NOW");
        } catch (const std::runtime_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("VOSERVER_NOW='next-year'"));
        }
        // a server does not start with it
        CHECK_THROWS_WITH(open_query_backend(store), Catch::Contains("VOSERVER_NOW"));
        return;
    }
    CHECK(archive_now() == std::stoll(expect));
    auto db = open_query_backend(store);
    auto q = db->prepare(db->translate("SELECT data_rights FROM ivoa.obscore WHERE obs_id = 'p2'", {}));
    auto rows = q->execute({});
    REQUIRE(rows->next());
    CHECK(tv::joined_row(*rows) == std::getenv("VO_TEST_P2_RIGHTS"));
}

TEST_CASE("SQLite: protected rows are invisible to every query form; data_rights follows the clock", "[visibility]") {
    const std::string path = tv::temp_path("cases.sqlite");
    tv::build_store(path);
    auto db = open_query_backend(path);
    tv::check_cases(tv::backend_runner(*db));
}

TEST_CASE("SQLite: a prepared query run again computes data_rights at the new time", "[visibility]") {
    const std::string path = tv::temp_path("rerun.sqlite");
    tv::build_store(path);
    auto db = open_query_backend(path);
    auto q = db->prepare(db->translate("SELECT obs_id, data_rights FROM ivoa.obscore WHERE obs_id = 'p2'", {}));
    auto rights = [&] {
        auto c = q->execute({});
        REQUIRE(c->next());
        return tv::joined_row(*c);
    };
    set_archive_now_for_testing(tv::before());
    CHECK(rights() == "p2|Proprietary");
    set_archive_now_for_testing(tv::after());
    CHECK(rights() == "p2|Public");
    set_archive_now_for_testing(tv::before());
    CHECK(rights() == "p2|Proprietary");
    set_archive_now_for_testing(std::nullopt);
}

TEST_CASE("SQLite: a store written without data_rights declared keeps its stored values", "[visibility]") {
    const std::string path = tv::temp_path("plain.sqlite");
    tv::build_store(path);
    {
        // re-opened for writing with a profile where data_rights is not derived
        Store::open_for_write(path, column_defs({tv::data_rights_column(false)}));
    }
    auto db = open_query_backend(path);
    auto q = db->prepare(db->translate("SELECT data_rights FROM ivoa.obscore WHERE obs_id = 'p2'", {}));
    auto c = q->execute({});
    REQUIRE(c->next());
    CHECK(tv::joined_row(*c) == "stale");
}

TEST_CASE("SQLite: a cone query on the filtered table still searches the S2 index", "[visibility]") {
    const std::string path = tv::temp_path("plan.sqlite");
    tv::build_store(path);
    auto db = open_query_backend(path);
    auto reader = Store::open_read_only(path);
    for (const char* adql :
         {"SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.3, -30, 1)) = "
          "1",
          "SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 10.3, -30, 1)) = 1",
          "SELECT COUNT(*) FROM ivoa.obscore AS o WHERE 1 = CONTAINS(POINT(o.s_ra, o.s_dec), CIRCLE(10.3, -30, 1))"}) {
        vo::adql::TranslateOptions options;
        options.row_filters = db->row_filters(tv::caller());
        REQUIRE(options.row_filters.size() == 1);
        const auto t = db->translate(adql, options);
        INFO(t.sql);
        CHECK_THAT(t.sql, Catch::Contains("NOT IN ('secret')"));
        const std::string plan = query_plan(reader->db(), t.sql);
        INFO(plan);
        // the cells of the shape (ivoa_obscore_s2 AS "s"), then the rows by
        // rowid: the filtered subquery merged into the query, no scan of the table
        CHECK_THAT(plan, Catch::Contains("SEARCH s USING PRIMARY KEY (kind=? AND cell>? AND cell<?)"));
        CHECK_THAT(plan, Catch::Contains("SEARCH ivoa_obscore USING INTEGER PRIMARY KEY (rowid=?)"));
        CHECK_THAT(plan, !Catch::Contains("SCAN ivoa_obscore") && !Catch::Contains("CO-ROUTINE"));
    }
}

TEST_CASE("product look-ups answer 'not found' for rows the caller may not see", "[visibility]") {
    const std::string path = tv::temp_path("lookup.sqlite");
    tv::build_store(path);
    auto db = open_query_backend(path);
    auto writer = Store::open_for_write(path, {});  // Store itself is a ProductLookup too
    set_archive_now_for_testing(tv::before());
    for (const ProductLookup* store :
         {static_cast<const ProductLookup*>(db.get()), static_cast<const ProductLookup*>(writer.get())}) {
        const auto s2 = store->find_product("ivo://test/vis?s2", tv::caller());
        REQUIRE(s2);
        CHECK(s2->path == "/data/s2.fits");
        CHECK(s2->obs_collection == "secret");
        CHECK(s2->proposal_id == "P1");
        CHECK(s2->obs_release_date == "2031-06-01T00:00:00");
        const auto s5 = store->find_product("ivo://test/vis?s5");
        REQUIRE(s5);
        CHECK_FALSE(s5->obs_release_date);
        CHECK(s5->proposal_id == "P3");
        const auto s4 = store->find_product("ivo://test/vis?s4");
        REQUIRE(s4);
        CHECK_FALSE(s4->proposal_id);
        CHECK_FALSE(store->find_product("ivo://test/vis?s3", tv::caller()));
        CHECK(store->find_product("ivo://test/vis?s3"));  // no visibility: every row
        CHECK_FALSE(store->find_dataproduct_type("ivo://test/vis?s3", tv::caller()));
        CHECK(store->find_dataproduct_type("ivo://test/vis?s2", tv::caller()) == "cube");
        CHECK(store->find_dataproduct_type("ivo://test/vis?s3") == "cube");
        CHECK_FALSE(store->find_did_by_obs_id("s3", tv::caller()));
        CHECK(store->find_did_by_obs_id("s3") == "ivo://test/vis?s3");
        CHECK(store->find_did_by_obs_id("s1", tv::caller()) == "ivo://test/vis?s1");
    }
    // counts per collection (the landing page): of the rows the caller sees
    CHECK(db->collection_counts(tv::caller()) == std::map<std::string, long long>{{"public", 2}, {"secret", 3}});
    CHECK(db->collection_counts() == std::map<std::string, long long>{{"public", 2}, {"secret", 5}});
    set_archive_now_for_testing(tv::after());
    CHECK(db->collection_counts(tv::caller()) == std::map<std::string, long long>{{"public", 2}, {"secret", 5}});
    CHECK(db->find_product("ivo://test/vis?s3", tv::caller()));
    CHECK(db->find_did_by_obs_id("s4", tv::caller()) == "ivo://test/vis?s4");
    set_archive_now_for_testing(std::nullopt);
}

TEST_CASE("the visibility rule in C++ agrees with the SQL condition", "[visibility]") {
    const auto v = tv::caller();
    const std::time_t now = tv::before();
    CHECK(row_visible(v, std::string("public"), std::nullopt, std::string("2031-06-01T00:00:00"), now));
    CHECK(row_visible(v, std::string("secret"), std::string("P1"), std::string("2031-06-01T00:00:00"), now));
    CHECK(row_visible(v, std::string("secret"), std::string("P2"), std::string("2020-01-01T00:00:00"), now));
    CHECK(row_visible(v, std::string("secret"), std::string("P2"), std::nullopt, now));
    CHECK_FALSE(row_visible(v, std::string("secret"), std::string("P2"), std::string("2031-06-01T00:00:00"), now));
    CHECK_FALSE(row_visible(v, std::string("secret"), std::nullopt, std::string("2031-06-01T00:00:00"), now));
    CHECK(row_visible(v, std::string("secret"), std::nullopt, std::string("2031-06-01T00:00:00"), tv::after()));
    CHECK(is_released(std::string("2030-01-01T00:00:00"), now));  // not later than now
    CHECK_FALSE(is_released(std::string("2030-01-01T00:00:01"), now));
    // the cache key: sets, not lists
    RowVisibility a = v, b = v;
    b.projects = {"P1", "P1"};
    CHECK(visibility_key(a) == visibility_key(b));
    b.projects = {"P2"};
    CHECK(visibility_key(a) != visibility_key(b));
    CHECK(visibility_key(RowVisibility{}).empty());
    a.staff = true;
    CHECK(visibility_key(a).empty());
}
