// The geometry text parser (obscore/geometry_text.hpp): every kind, STC-S
// as s_region holds it, and each class of bad value with its message. Built
// with ASan in build-asan (the unit includes no S2 header).
#include <catch2/catch.hpp>

#include <string>

#include "obscore/geometry_text.hpp"

using vo::obscore::GeometryText;
using vo::obscore::parse_geometry_text;

namespace {
std::string error_of(std::string_view text) {
    std::string error;
    CHECK_FALSE(parse_geometry_text(text, error).has_value());
    return error;
}
}  // namespace

TEST_CASE("geometry text: points, circles, polygons, ranges and STC-S", "[geometry_text]") {
    std::string error;
    auto p = parse_geometry_text(" 10.5 -20 ", error);
    REQUIRE(p);
    CHECK(p->kind == GeometryText::Kind::point);
    CHECK(p->values == std::vector<double>{10.5, -20});
    auto c = parse_geometry_text("53.16 -27.78 0.01", error);
    REQUIRE(c);
    CHECK(c->kind == GeometryText::Kind::circle);
    auto poly = parse_geometry_text("Polygon ICRS 10 10 11 10 11 11 10 11", error);
    REQUIRE(poly);
    CHECK(poly->kind == GeometryText::Kind::polygon);
    CHECK(poly->values.size() == 8);
    auto circle_stcs = parse_geometry_text("Circle ICRS 1 2 3", error);
    REQUIRE(circle_stcs);
    CHECK(circle_stcs->kind == GeometryText::Kind::circle);
    auto r = parse_geometry_text("range 0 360 -5 5", error);
    REQUIRE(r);
    CHECK(r->kind == GeometryText::Kind::range);
    CHECK(r->values == std::vector<double>{0, 360, -5, 5});
}

TEST_CASE("geometry text: bad values are refused with a message", "[geometry_text]") {
    CHECK(error_of("10 91") == "point latitude out of [-90, 90]");
    CHECK(error_of("10 20 -1") == "invalid circle");
    CHECK(error_of("10 nan") == "coordinates must be finite numbers (found nan)");
    CHECK(error_of("1e999 0").find("invalid geometry value") == 0);  // from_chars: out of range
    CHECK(error_of("10 20 30 40").find("expected 2, 3 or an even number >= 6") != std::string::npos);
    CHECK(error_of("10 20 11 95 12 20") == "polygon vertex latitude out of [-90, 90]");
    CHECK(error_of("range 0 10 5 -5") == "invalid coordinate range");
    CHECK(error_of("range 0 10 5") == "invalid coordinate range");
    CHECK(error_of("").find("expected 2, 3") != std::string::npos);
    CHECK(error_of("Polygon ICRS 1 2 x").find("invalid geometry value") == 0);
    // a long value is quoted cut to 60 characters, not whole
    CHECK(error_of(std::string(500, '7') + " x").size() < 120);
}
