// Issue 7 regressions for SODA: a damaged product file gives a SODA error,
// never a crash or reads at wrapped offsets; PIXEL_n ranges saturate instead
// of overflowing; POL agrees with what the ObsCore row publishes for a
// degenerate STOKES axis.
#include <catch2/catch.hpp>

#include <climits>
#include <filesystem>
#include <string>

#include "../obscore/raw_fits.hpp"
#include "soda/cutout.hpp"

using namespace vo::soda;
using namespace vo::testing;
using M = std::multimap<std::string, std::string>;

namespace {

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits/";

SodaError plan_error(const std::string& file, const M& request) {
    try {
        plan_cutout(file, {}, parse_params(request));
    } catch (const SodaError& e) {
        return e;
    }
    FAIL("no SodaError thrown");
    return SodaError(0, "", "", "");
}

SodaError params_error(const M& request) {
    try {
        parse_params(request);
    } catch (const SodaError& e) {
        return e;
    }
    FAIL("no SodaError thrown");
    return SodaError(0, "", "", "");
}

std::string pixels(long long n) { return std::string(static_cast<std::size_t>(n) * 4, '\0'); }

}  // namespace

TEST_CASE("SODA: an unterminated string in the product header is a 500, not a crash", "[soda][reliability]") {
    TempDir tmp("soda_rel");
    const auto p = (tmp.path / "unterminated.fits").string();
    write_raw_fits(p, {{image_cards({8, 8}, {}, {{"CTYPE1", "CTYPE1  = 'RA---TAN"}}), pixels(64)}});
    for (const M& request : {M{{"CIRCLE", "150 2 0.001"}}, M{{"PIXEL_1", "1 4"}}, M{}}) {
        const SodaError e = plan_error(p, request);
        CHECK(e.http_status() == 500);
        CHECK(std::string(e.what()).find("CTYPE1") != std::string::npos);
        CHECK(std::string(e.what()).find("closing quote") != std::string::npos);
    }
    bool thrown = false;
    try {
        describe_bounds(p, {});
    } catch (const SodaError& e) {
        thrown = e.http_status() == 500;
    }
    CHECK(thrown);
}

TEST_CASE("SODA: NaN WCS values in the product header are a 500 naming the keyword", "[soda][reliability]") {
    TempDir tmp("soda_nan");
    const auto p = (tmp.path / "nan.fits").string();
    write_raw_fits(p, {{image_cards({8, 8}, {}, {{"CRVAL2", "CRVAL2  =                  NaN"}}), pixels(64)}});
    const SodaError e = plan_error(p, {{"CIRCLE", "150 2 0.001"}});
    CHECK(e.http_status() == 500);
    CHECK(std::string(e.what()).find("CRVAL2") != std::string::npos);
}

TEST_CASE("SODA: a data size that overflows, or data beyond the file, is a 500", "[soda][reliability]") {
    TempDir tmp("soda_naxis");
    const auto huge = (tmp.path / "huge.fits").string();
    write_raw_fits(huge, {{image_cards({4611686018427387904LL, 4}), pixels(64)}});
    const SodaError e = plan_error(huge, {{"PIXEL_1", "1 4"}});
    CHECK(e.http_status() == 500);
    CHECK(std::string(e.what()).find("data size") != std::string::npos);
    const auto big = (tmp.path / "big.fits").string();
    write_raw_fits(big, {{image_cards({1LL << 40, 4}), pixels(64)}});
    const SodaError t = plan_error(big, {{"PIXEL_1", "1 4"}});
    CHECK(t.http_status() == 500);
    CHECK(std::string(t.what()).find("truncated") != std::string::npos);
}

TEST_CASE("SODA: PIXEL_n parses integers with saturation, refuses non-integers", "[soda][reliability][params]") {
    for (const char* v : {"1 1e300", "1 9223372036854775807", "1 99999999999999999999999", "1 +Inf"}) {
        INFO(v);
        const Params p = parse_params(M{{"PIXEL_1", v}});
        REQUIRE(p.pixel.count(1));
        CHECK(p.pixel.at(1).first == 1);
        CHECK(p.pixel.at(1).second == LONG_MAX);
    }
    CHECK(parse_params(M{{"PIXEL_2", "+3 17"}}).pixel.at(2) == std::pair<long, long>{3, 17});
    for (const char* v : {"1 1.5", "1 NaN", "nan 4", "1 x", "0.5 2"}) {
        INFO(v);
        const SodaError e = params_error(M{{"PIXEL_1", v}});
        CHECK(e.http_status() == 400);
        CHECK(e.parameter() == "PIXEL_1");
    }
    // The whole axis, not 204 (a double -> long overflow gave LONG_MIN).
    const std::string f = kFits + "alma/ngc3256_alma_sv_co10_cube.fits";
    for (const char* v : {"1 1e300", "1 9223372036854775807"}) {
        INFO(v);
        const Cutout c = plan_cutout(f, {}, parse_params(M{{"PIXEL_1", v}, {"PIXEL_3", "2 1e300"}}));
        CHECK(c.axes().at(0).fits_first() == 1);
        CHECK(c.axes().at(0).fits_last() == 128);
        CHECK(c.axes().at(2).fits_first() == 2);
        CHECK(c.axes().at(2).fits_last() == 50);
    }
    CHECK(plan_error(f, {{"PIXEL_1", "1e300 1e300"}}).http_status() == 204);
}

TEST_CASE("SODA: POL on a degenerate STOKES axis beyond NAXIS matches the ObsCore pol_states", "[soda][reliability]") {
    // VLA FIRST cut-out: NAXIS = 2, but CTYPE3 = FREQ and CTYPE4 = STOKES
    // (CRVAL4 = 1, I) in the header; ObsCore publishes pol_states = /I/.
    const std::string f = kFits + "radio/first_vla_cutout.fits";
    const Cutout i = plan_cutout(f, {}, parse_params(M{{"POL", "I"}}));
    REQUIRE(i.axes().size() == 2);
    CHECK(i.axes()[0].fits_first() == 1);
    CHECK(i.axes()[0].fits_last() == 33);
    CHECK(i.axes()[1].fits_last() == 33);
    CHECK(plan_error(f, {{"POL", "Q"}}).http_status() == 204);
    CHECK(describe_bounds(f, {}).pol == std::vector<std::string>{"I"});
    // Built here: WCSAXES = 4 with NAXIS = 3 and the STOKES axis only in the WCS.
    TempDir tmp("soda_pol");
    const auto p = (tmp.path / "stokes4.fits").string();
    write_raw_fits(
        p, {{image_cards({8, 8, 2},
                         {"WCSAXES =                    4", "CTYPE3  = 'FREQ    '", "CRVAL3  =         1.4E9",
                          "CDELT3  =           1.0E6", "CRPIX3  =             1.0", "CTYPE4  = 'STOKES  '",
                          "CRVAL4  =             2.0", "CDELT4  =             1.0", "CRPIX4  =             1.0"}),
             pixels(128)}});
    const Cutout q = plan_cutout(p, {}, parse_params(M{{"POL", "Q"}}));
    CHECK(q.axes().size() == 3);
    CHECK(q.axes()[2].count == 2);
    CHECK(plan_error(p, {{"POL", "I"}}).http_status() == 204);
    CHECK(describe_bounds(p, {}).pol == std::vector<std::string>{"Q"});
}
