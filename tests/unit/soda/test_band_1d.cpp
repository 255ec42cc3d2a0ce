// BAND on 1-D spectra whose spectral axis only the shared fits/ core
// recognises (issue 8 item 3). Regression: the Keck DEIMOS spectrum (IRAF
// CTYPE1 = 'LINEAR', CUNIT1 = 'Angstrom') had em_min/em_max in ObsCore, but
// SODA BAND=4.7e-7 5.0e-7 answered 400 "the product has no spectral axis".
// The expected pixel range is computed here from the header alone (CRVAL1,
// CRPIX1, CDELT1 read with CFITSIO, channel k covering the wavelengths of
// pixel k-0.5 .. k+0.5), not with the library under test.
#include <catch2/catch.hpp>

#include <fitsio.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "soda/cutout.hpp"

using namespace vo::soda;

namespace {

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits/";

struct LinearAxis {
    double crval = 0, crpix = 0, cdelt = 0;
    long naxis1 = 0;
    std::vector<float> data;
};

LinearAxis read_axis(const std::string& path, int hdu) {
    fitsfile* f = nullptr;
    int status = 0;
    REQUIRE(fits_open_diskfile(&f, path.c_str(), READONLY, &status) == 0);
    int type = 0;
    fits_movabs_hdu(f, hdu + 1, &type, &status);
    LinearAxis a;
    fits_read_key(f, TDOUBLE, "CRVAL1", &a.crval, nullptr, &status);
    fits_read_key(f, TDOUBLE, "CRPIX1", &a.crpix, nullptr, &status);
    fits_read_key(f, TDOUBLE, "CDELT1", &a.cdelt, nullptr, &status);
    fits_read_key(f, TLONG, "NAXIS1", &a.naxis1, nullptr, &status);
    REQUIRE(status == 0);
    a.data.resize(static_cast<std::size_t>(a.naxis1));
    int anynul = 0;
    fits_read_img(f, TFLOAT, 1, a.naxis1, nullptr, a.data.data(), &anynul, &status);
    REQUIRE(status == 0);
    fits_close_file(f, &status);
    return a;
}

}  // namespace

TEST_CASE("BAND cuts the Keck DEIMOS IRAF 'LINEAR' spectrum (regression: 'no spectral axis')", "[soda][band]") {
    const std::string path = kFits + "other/keck_deimos_spectrum_variance.fits";
    const LinearAxis ax = read_axis(path, 0);
    REQUIRE(ax.naxis1 == 4096);
    // Angstrom -> m; pixel k (1-based) spans wavelengths at k-0.5 .. k+0.5.
    const double band_lo = 4.7e-7, band_hi = 5.0e-7;
    auto edge = [&](double p) { return (ax.crval + (p - ax.crpix) * ax.cdelt) * 1e-10; };
    long first = 0, last = 0;
    for (long k = 1; k <= ax.naxis1; ++k) {
        const double lo = edge(k - 0.5), hi = edge(k + 0.5);
        if (lo <= band_hi && hi > band_lo) {
            if (!first) first = k;
            last = k;
        }
    }
    REQUIRE(first == 155);
    REQUIRE(last == 631);

    const Params params = parse_params({{"BAND", "4.7e-7 5.0e-7"}});
    Cutout cut = plan_cutout(path, {}, params);
    REQUIRE(cut.axes().size() == 1);
    CHECK(cut.axes()[0].fits_first() == first);
    CHECK(cut.axes()[0].fits_last() == last);

    // The written file: the same pixels, CRPIX1 shifted so that the wavelength
    // of every kept pixel is unchanged.
    const auto out = std::filesystem::temp_directory_path() / "voserver_deimos_band_cut.fits";
    {
        std::ofstream os(out, std::ios::binary);
        REQUIRE(cut.write([&](const char* p, std::size_t n) {
            os.write(p, static_cast<std::streamsize>(n));
            return true;
        }));
    }
    const LinearAxis got = read_axis(out.string(), 0);
    CHECK(got.naxis1 == last - first + 1);
    CHECK(got.crpix == Approx(ax.crpix - (first - 1)));
    CHECK(got.crval == ax.crval);
    for (long k = first; k <= last; ++k) {
        const float a = ax.data[static_cast<std::size_t>(k - 1)], b = got.data[static_cast<std::size_t>(k - first)];
        if (!(std::isnan(a) && std::isnan(b))) REQUIRE(a == b);
    }
    std::filesystem::remove(out);

    // describe_bounds gives the same coverage as the header: 4602.6 A + 4096 pixels.
    const Bounds b = describe_bounds(path, {});
    REQUIRE(b.band);
    CHECK(b.band->lo == Approx(edge(0.5)).epsilon(1e-12));
    CHECK(b.band->hi == Approx(edge(ax.naxis1 + 0.5)).epsilon(1e-12));
}
