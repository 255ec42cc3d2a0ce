// SODA 1.0 section 3 parameter parsing (vo::soda::parse_params).
#include <catch2/catch.hpp>

#include <cmath>

#include "soda/params.hpp"

using vo::soda::parse_params;
using vo::soda::SodaError;
using M = std::multimap<std::string, std::string>;

namespace {
SodaError error_of(const M& m) {
    try {
        parse_params(m);
    } catch (const SodaError& e) {
        return e;
    }
    FAIL("no SodaError thrown");
    return SodaError(0, "", "", "");
}
}  // namespace

TEST_CASE("POS, CIRCLE and POLYGON values parse to ICRS regions", "[soda][params]") {
    const auto p =
        parse_params(M{{"POS", "CIRCLE 12 34 0.5"}, {"POLYGON", "12 34 14 34 14 36 12 36"}, {"ID", "ivo://x"}});
    REQUIRE(p.regions.size() == 2);
    // std::multimap orders by name: POLYGON before POS.
    CHECK(p.regions[1].parameter == "POS");
    CHECK(p.regions[1].shape == vo::soda::SkyRegion::Shape::Circle);
    CHECK(p.regions[1].lon == 12);
    CHECK(p.regions[1].radius == 0.5);
    CHECK(p.regions[0].vertices.size() == 4);
    const auto r = parse_params(M{{"POS", "RANGE 0 360 89 +Inf"}});
    CHECK(r.regions[0].shape == vo::soda::SkyRegion::Shape::Range);
    CHECK(r.regions[0].lat_max == 90);
    const auto all = parse_params(M{{"POS", "RANGE -Inf +Inf -2 2"}});
    CHECK(all.regions[0].lon_min == 0);
    CHECK(all.regions[0].lon_max == 360);
}

TEST_CASE("BAND, TIME, POL, PIXEL_n and META parse", "[soda][params]") {
    const auto p = parse_params(M{{"BAND", "5e-7 +Inf"},
                                  {"TIME", "55100 55101"},
                                  {"POL", "I"},
                                  {"POL", "V"},
                                  {"POL", "I"},
                                  {"PIXEL_3", "10 20"},
                                  {"META", "true"},
                                  {"CIRCLE", ""}});
    REQUIRE(p.band);
    CHECK(p.band->lo == 5e-7);
    CHECK(std::isinf(p.band->hi));
    CHECK(p.time->hi == 55101);
    CHECK(p.pol == std::vector<std::string>{"I", "V"});
    CHECK(p.pixel.at(3) == std::make_pair(10L, 20L));
    CHECK(p.meta);
    CHECK(p.regions.empty());  // empty CIRCLE= is ignored
    CHECK(p.describe() == "BAND=5e-07 inf TIME=55100 55101 POL=I POL=V PIXEL_3=10 20 META=true");
}

TEST_CASE("malformed values are UsageErrors naming the parameter", "[soda][params]") {
    auto e = error_of(M{{"CIRCLE", "12 34"}});
    CHECK(e.http_status() == 400);
    CHECK(e.code() == "UsageError");
    CHECK(e.parameter() == "CIRCLE");
    CHECK(error_of(M{{"CIRCLE", "12 abc 1"}}).parameter() == "CIRCLE");
    CHECK(error_of(M{{"CIRCLE", "12 34 -1"}}).parameter() == "CIRCLE");
    CHECK(error_of(M{{"CIRCLE", "400 34 1"}}).parameter() == "CIRCLE");
    CHECK(error_of(M{{"CIRCLE", "12 34 NaN"}}).parameter() == "CIRCLE");
    CHECK(error_of(M{{"POS", "BOX 1 2 3 4"}}).parameter() == "POS");
    CHECK(error_of(M{{"POLYGON", "1 2 3 4"}}).parameter() == "POLYGON");
    CHECK(error_of(M{{"POLYGON", "1 2 3 4 5"}}).parameter() == "POLYGON");
    auto band = error_of(M{{"BAND", "6e-7 5e-7"}});
    CHECK(band.parameter() == "BAND");
    CHECK(std::string(band.what()).rfind("UsageError: BAND: interval min > max", 0) == 0);
    CHECK(error_of(M{{"BAND", "5e-7"}}).parameter() == "BAND");
    CHECK(error_of(M{{"POL", "Z"}}).parameter() == "POL");
    CHECK(error_of(M{{"PIXEL_1", "0 5"}}).parameter() == "PIXEL_1");
    CHECK(error_of(M{{"PIXEL_x", "1 5"}}).parameter() == "PIXEL_x");
    CHECK(error_of(M{{"META", "maybe"}}).parameter() == "META");
}

TEST_CASE("repeated filter values are MultiValuedParamNotSupported (SODA 3.1)", "[soda][params]") {
    auto e = error_of(M{{"CIRCLE", "1 2 0.1"}, {"CIRCLE", "3 4 0.1"}});
    CHECK(e.http_status() == 400);
    CHECK(e.code() == "MultiValuedParamNotSupported");
    CHECK(e.parameter() == "CIRCLE");
    CHECK(error_of(M{{"BAND", "1 2"}, {"BAND", "3 4"}}).code() == "MultiValuedParamNotSupported");
}
