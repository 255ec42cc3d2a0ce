// REGION with an STC-S string (ADQL 2.1 section 4.2.20): the shapes the other
// geometry functions express are translated like them; what the service
// cannot evaluate is refused with a message naming it. /tap/capabilities
// declares REGION (features-adqlgeo), so it must work.
#include <catch2/catch.hpp>

#include <string>

#include "adql/adql.hpp"
#include "test_catalog.hpp"
#include "adql/stcs.hpp"

using namespace vo::adql;

namespace {

using test::Obscore;

std::string sql_of(const std::string& region) {
    Obscore cat;
    return translate_sqlite(
               "SELECT s_region FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, REGION('" + region + "'))", cat)
        .sql;
}

std::string error_of(const std::string& region) {
    try {
        sql_of(region);
    } catch (const AdqlError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("STC-S shapes are read with their numbers in degrees", "[adql][region]") {
    auto c = parse_stcs_region("Circle ICRS 10.5 -20 1");
    CHECK(c.kind == "circle");
    CHECK(c.values == std::vector<double>{10.5, -20, 1});
    auto p = parse_stcs_region("  polygon icrs barycenter spherical2 0 0 10 0 10 10 unit deg ");
    CHECK(p.kind == "polygon");
    CHECK(p.values.size() == 6);
    CHECK(parse_stcs_region("Position 1 2").kind == "point");      // frame omitted: ICRS
    auto b = parse_stcs_region("Box UNKNOWNFrame 180 0 100 120");  // a height beyond 90 is not a latitude
    CHECK(b.kind == "box");
    CHECK(b.values[3] == 120);
}

TEST_CASE("REGION translates to the equivalent geometry function", "[adql][region]") {
    CHECK_THAT(sql_of("Circle ICRS 10 20 1"), Catch::Contains("adql_circle(10, 20, 1)"));
    CHECK_THAT(sql_of("Box ICRS 180 0 100 60"), Catch::Contains("adql_box(180, 0, 100, 60)"));
    CHECK_THAT(sql_of("Polygon ICRS 0 0 10 0 10 10"), Catch::Contains("adql_polygon(0, 0, 10, 0, 10, 10)"));
    CHECK_THAT(sql_of("Position ICRS 1.25 2.5"), Catch::Contains("1.25") && Catch::Contains("2.5"));
}

TEST_CASE("REGION strings the service cannot evaluate are refused naming the problem", "[adql][region]") {
    CHECK_THAT(error_of("Union ICRS (Circle 1 2 3 Circle 4 5 6)"),
               Catch::Contains("REGION") && Catch::Contains("Union") && Catch::Contains("not supported"));
    CHECK_THAT(error_of("Circle GALACTIC 10 20 1"), Catch::Contains("GALACTIC"));
    CHECK_THAT(error_of("Circle ICRS 10 20"), Catch::Contains("3 numbers") && Catch::Contains("found 2"));
    CHECK_THAT(error_of("Circle ICRS 10 x 1"), Catch::Contains("'x' is not a number"));
    CHECK_THAT(error_of("Polygon ICRS 0 0 10 0 10"), Catch::Contains("at least 6"));
    CHECK_THAT(error_of("Circle ICRS 10 95 1"), Catch::Contains("latitude 95"));
    CHECK_THAT(error_of("Triangle 1 2 3"), Catch::Contains("not an STC-S shape"));
    CHECK_THAT(error_of(""), Catch::Contains("empty"));
    CHECK_THAT(error_of("Circle ICRS 1 2 3 unit arcsec"), Catch::Contains("arcsec"));
    // the position is that of the REGION call
    Obscore cat;
    try {
        translate_sqlite(
            "SELECT s_region FROM ivoa.obscore\nWHERE 1 = INTERSECTS(s_region, REGION('Not (Circle 1 2 3)'))", cat);
        FAIL("no error");
    } catch (const AdqlError& e) {
        CHECK(e.line() == 2);
        CHECK(e.column() > 20);
        CHECK(e.kind() == AdqlError::Kind::Unsupported);
    }
}
