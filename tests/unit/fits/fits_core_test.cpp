// The fits/ core shared by obscore/ and soda/ (issue 8 item 3): spectral
// conversions, sky frames (reference values from astropy 5.2, computed
// independently of ERFA's C entry points used here), the DALI literal
// parsers and the WCS loader's fall-backs.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "fits/bounds.hpp"
#include "fits/dali_params.hpp"
#include "fits/sky_frames.hpp"
#include "fits/spectral.hpp"
#include "fits/wcs.hpp"

using namespace vo::fits;

namespace {

constexpr double kC = 299792458.0;
constexpr double kPi = 3.14159265358979323846;

std::string card(const std::string& text) {
    std::string c = text;
    c.resize(80, ' ');
    return c;
}

/// A header of `cards` (each "KEY = value" text) followed by END.
FitsHeader header(std::initializer_list<std::string> cards) {
    std::string s;
    for (const auto& c : cards) s += card(c);
    s += card("END");
    return FitsHeader(s);
}

}  // namespace

TEST_CASE("spectral types convert to vacuum wavelength and back", "[fits][spectral]") {
    const RestFrame co{115.2712018e9, 0.0};
    const double lambda = 2.6e-3;
    for (const char* t : {"WAVE", "AWAV", "FREQ", "AFRQ", "ENER", "WAVN", "VRAD", "VOPT", "ZOPT", "VELO", "BETA"}) {
        INFO(t);
        const auto native = from_vacuum_wavelength(t, lambda, co);
        REQUIRE(native);
        const auto back = to_vacuum_wavelength(t, *native, co);
        REQUIRE(back);
        CHECK(*back == Approx(lambda).epsilon(1e-12));
    }
    // AFRQ is an angular frequency, rad/s (WCS Paper III Table 1): obscore/
    // used to read it as Hz, 2 pi off.
    CHECK(*to_vacuum_wavelength("AFRQ", 2 * kPi * kC / 5e-7, {}) == Approx(5e-7).epsilon(1e-14));
    CHECK(*to_vacuum_wavelength("FREQ", kC / 5e-7, {}) == Approx(5e-7).epsilon(1e-14));
    // Radio velocity: nu = nu0 (1 - v/c).
    CHECK(*to_vacuum_wavelength("VRAD", 1000.0, co) ==
          Approx(kC / (co.frequency_hz * (1 - 1000.0 / kC))).epsilon(1e-14));
    // Air -> vacuum at 500 nm: 1.000279 (Cox 2000 as in WCSLIB).
    CHECK(*to_vacuum_wavelength("AWAV", 5000e-10, {}) == Approx(5001.394e-10).margin(0.002e-10));
    // Refused: no rest frequency, unknown type, unphysical values, NaN.
    CHECK_FALSE(to_vacuum_wavelength("VRAD", 1000.0, {}));
    CHECK_FALSE(to_vacuum_wavelength("FDEP", 1.0, co));
    CHECK_FALSE(to_vacuum_wavelength("FREQ", 0.0, {}));
    CHECK_FALSE(to_vacuum_wavelength("VELO", kC, co));
    CHECK_FALSE(to_vacuum_wavelength("WAVE", std::nan(""), {}));
    CHECK_FALSE(from_vacuum_wavelength("WAVE", -1.0, {}));
}

TEST_CASE("sky frames convert to ICRS as astropy does", "[fits][frames]") {
    // astropy: SkyCoord(0, 0, frame='galactic').icrs
    auto g = to_icrs({SkyFrame::galactic, 2000}, 0.0, 0.0);
    CHECK(g.first == Approx(266.4049882865447).margin(1e-8));
    CHECK(g.second == Approx(-28.936177761791456).margin(1e-8));
    // astropy: SkyCoord(10, 20, frame=FK5(equinox='J2000')).icrs
    auto f5 = to_icrs({SkyFrame::fk5, 2000}, 10.0, 20.0);
    CHECK(f5.first == Approx(9.999991497745736).margin(1e-9));
    CHECK(f5.second == Approx(19.999998470513287).margin(1e-9));
    // astropy: SkyCoord(10, 20, frame=FK4(equinox='B1950')).icrs (obstime B1950)
    auto f4 = to_icrs({SkyFrame::fk4, 1950}, 10.0, 20.0);
    CHECK(f4.first == Approx(10.658967275715431).margin(3e-6));
    CHECK(f4.second == Approx(20.2738672156196).margin(3e-6));
    // Round trips for every frame.
    for (const FrameSpec f :
         {FrameSpec{SkyFrame::icrs, 2000}, FrameSpec{SkyFrame::fk5, 2000}, FrameSpec{SkyFrame::fk5, 1975},
          FrameSpec{SkyFrame::fk4, 1950}, FrameSpec{SkyFrame::galactic, 2000}, FrameSpec{SkyFrame::ecliptic, 2000}}) {
        INFO(frame_name(f));
        for (const auto& [ra, dec] : {std::pair{0.5, 0.0}, std::pair{123.4, -56.7}, std::pair{359.9, 89.0}}) {
            const auto native = from_icrs(f, ra, dec);
            const auto back = to_icrs(f, native.first, native.second);
            CHECK(std::fmod(back.first - ra + 540.0, 360.0) - 180.0 == Approx(0.0).margin(1e-9));
            CHECK(back.second == Approx(dec).margin(1e-9));
        }
    }
}

TEST_CASE("the WCS frame follows WCS Paper II section 3.1", "[fits][frames]") {
    auto frame = [](std::initializer_list<std::string> extra) {
        std::string s;
        for (const char* c :
             {"SIMPLE  =                    T", "BITPIX  =                  -32", "NAXIS   =                    2",
              "NAXIS1  =                   10", "NAXIS2  =                   10", "CTYPE1  = 'RA---TAN'",
              "CTYPE2  = 'DEC--TAN'", "CRVAL1  =                 10.0", "CRVAL2  =                 20.0",
              "CRPIX1  =                  5.0", "CRPIX2  =                  5.0", "CDELT1  =               -0.001",
              "CDELT2  =                0.001"})
            s += card(c);
        for (const auto& c : extra) s += card(c);
        s += card("END");
        const Wcs w = Wcs::load(FitsHeader(s), {10, 10});
        REQUIRE(w.get());
        return frame_of(w.get());
    };
    CHECK(frame({}).frame == SkyFrame::icrs);
    CHECK(frame({"EQUINOX =               1950.0"}).frame == SkyFrame::fk4);
    CHECK(frame({"EQUINOX =               2000.0"}).frame == SkyFrame::fk5);
    CHECK(frame({"RADESYS = 'FK4     '"}).equinox == 1950.0);
    CHECK(frame({"RADESYS = 'ICRS    '", "EQUINOX =               2000.0"}).frame == SkyFrame::icrs);
}

TEST_CASE("the WCS loader reads IRAF wavelength axes and finds rest frequencies", "[fits][wcs]") {
    std::vector<std::string> warnings;
    // IRAF 'LINEAR' with CUNIT1 (the Keck DEIMOS spectra), and with only WAT1_001.
    const Wcs a = Wcs::load(header({"NAXIS   =                    1", "NAXIS1  =                  100",
                                    "CTYPE1  = 'LINEAR  '", "CUNIT1  = 'Angstrom'", "CRVAL1  =               4600.0",
                                    "CRPIX1  =                  1.0", "CDELT1  =                  0.5"}),
                            {100}, 0, &warnings);
    REQUIRE(a.get());
    CHECK(a.spec() == 0);
    CHECK(a.ctype(0) == "WAVE");
    const auto band = spectral_bounds(a, {100});
    REQUIRE(band);
    CHECK(band->lo == Approx(4599.75e-10).epsilon(1e-12));
    CHECK(band->hi == Approx(4649.75e-10).epsilon(1e-12));
    const Wcs b =
        Wcs::load(header({"NAXIS   =                    1", "NAXIS1  =                  100", "CTYPE1  = 'LAMBDA  '",
                          "WAT1_001= 'wtype=linear label=Wavelength units=angstroms'", "CRVAL1  =               4600.0",
                          "CRPIX1  =                  1.0", "CDELT1  =                  0.5"}),
                  {100});
    REQUIRE(b.get());
    CHECK(b.spec() == 0);
    // A velocity axis without RESTFRQ: FREQ0 (GIPSY), else LINE.
    const Wcs c =
        Wcs::load(header({"NAXIS   =                    1", "NAXIS1  =                   10", "CTYPE1  = 'VRAD    '",
                          "CUNIT1  = 'm/s     '", "CRVAL1  =                  0.0", "CRPIX1  =                  1.0",
                          "CDELT1  =               1000.0", "LINE    = 'CO(2-1) '"}),
                  {10});
    REQUIRE(c.get());
    CHECK(c.rest().frequency_hz == 230.538e9);
    CHECK(spectral_bounds(c, {10}));
    const Wcs d =
        Wcs::load(header({"NAXIS   =                    1", "NAXIS1  =                   10", "CTYPE1  = 'VRAD    '",
                          "CRVAL1  =                  0.0", "CRPIX1  =                  1.0",
                          "CDELT1  =               1000.0", "FREQ0   =          1.420405752E9"}),
                  {10});
    REQUIRE(d.get());
    CHECK(d.rest().frequency_hz == 1.420405752e9);
    // Failures are reasons, not crashes.
    CHECK(Wcs::load(header({"NAXIS   =                    1", "NAXIS1  =                   10"}), {10}).error() ==
          "no CTYPE keywords");
    CHECK(Wcs::load(FitsHeader(card("CTYPE1  = 'RA---TAN") + card("END")), {10}).error().rfind("invalid header", 0) ==
          0);
    CHECK(Wcs::load(FitsHeader(""), {}).get() == nullptr);
}

TEST_CASE("DALI literal parsers", "[fits][dali]") {
    CHECK(parse_interval("BAND", "-Inf +Inf").lo == -std::numeric_limits<double>::infinity());
    CHECK(parse_interval("BAND", "1e-7 2e-7").hi == 2e-7);
    CHECK_THROWS_AS(parse_interval("BAND", "2 1"), DaliError);
    CHECK_THROWS_AS(parse_interval("BAND", "1 NaN"), DaliError);
    const auto c = parse_circle("CIRCLE", "10 20 0.5");
    CHECK(c.shape == SkyRegion::Shape::Circle);
    CHECK(c.radius == 0.5);
    CHECK_THROWS_AS(parse_circle("CIRCLE", "10 20 +Inf"), DaliError);
    CHECK(parse_polygon("POLYGON", "10 10 10.2 10 10.2 10.2").vertices.size() == 3);
    CHECK(parse_pos("POS", "range 350 10 -Inf +Inf").lat_max == 90.0);
    CHECK(parse_pos("POS", "CIRCLE 1 2 3").shape == SkyRegion::Shape::Circle);
    try {
        parse_pos("POS", "BOX 1 2 3 4");
        FAIL("no error");
    } catch (const DaliError& e) {
        CHECK(e.parameter() == "POS");
        CHECK(e.message() == "unknown shape 'BOX' (expected CIRCLE, RANGE or POLYGON)");
    }
    CHECK(parse_pol_state("POL", "XY") == "XY");
    CHECK_THROWS_AS(parse_pol_state("POL", "i"), DaliError);
    CHECK(std::string(stokes_label(-5)) == "XX");
    CHECK(stokes_label(0) == nullptr);
    CHECK(pol_states_from_stokes({4, 1, 3, 2}) == "/I/Q/U/V/");
}

TEST_CASE("time spans: MJD keywords, ISO dates, exposure", "[fits][time]") {
    const auto t = time_span(
        header({"DATE-OBS= '2012-03-01'", "UT      = '05:24:51'", "EXPTIME =                900.0"}), nullptr);
    REQUIRE(t.t_min);
    CHECK(*t.t_min == Approx(55987.0 + (5 + 24 / 60.0 + 51 / 3600.0) / 24).epsilon(1e-12));
    CHECK(*t.t_max == Approx(*t.t_min + 900.0 / 86400).epsilon(1e-12));
    const FitsHeader primary = header({"MJD-OBS =              58000.5"});
    CHECK(*time_span(header({"EXTNAME = 'SCI     '"}), &primary).t_min == 58000.5);
    CHECK_FALSE(time_span(header({"DATE-OBS= 'yesterday'"}), nullptr).t_min);
}

TEST_CASE("a header claiming 10^12 channels is not given 10^12 channel edges", "[fits][bounds]") {
    // Found by fits_fuzz (CI, 2026-12-03): a header-only dump with a spectral
    // NAXIS of 1.7e11 made channel_edges allocate 1.7 TB and abort. No data
    // need back a header dump, so the channel count must be bounded here.
    const long huge = 1000000000000L;
    const Wcs w = Wcs::load(header({"NAXIS   =                    1", "NAXIS1  =        1000000000000",
                                    "CTYPE1  = 'WAVE    '", "CUNIT1  = 'm       '", "CRVAL1  =               4.6E-7",
                                    "CRPIX1  =                  1.0", "CDELT1  =               1.0E-10"}),
                            {huge});
    REQUIRE(w.get());
    CHECK(channel_edges(w, {huge}).empty());
    CHECK_FALSE(spectral_bounds(w, {huge}).has_value());
    // a spectral axis of a realistic length still has its edges
    CHECK(channel_edges(w, {kMaxChannels}).size() == static_cast<std::size_t>(kMaxChannels) + 1);
}

TEST_CASE("a header claiming 10^12 Stokes planes gets no states, not 10^12 of them", "[fits][bounds]") {
    const long huge = 1000000000000L;
    const Wcs w = Wcs::load(
        header({"NAXIS   =                    1", "NAXIS1  =        1000000000000", "CTYPE1  = 'STOKES  '",
                "CRVAL1  =                  1.0", "CRPIX1  =                  1.0", "CDELT1  =                  1.0"}),
        {huge});
    REQUIRE(w.get());
    CHECK(stokes_codes(w, {huge}).empty());
    CHECK(stokes_codes(w, {4}) == std::vector<int>{1, 2, 3, 4});
}
