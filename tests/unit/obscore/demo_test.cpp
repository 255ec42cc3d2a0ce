// The PHANGS-MUSE demo generator: format, WCS, extraction and line placement.
#include <catch2/catch.hpp>

#include <fitsio.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "obscore/demo.hpp"
#include "obscore/fits_extract.hpp"
#include "obscore/phangs_muse_targets.hpp"
#include "obscore/profile.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace vo::obscore;
namespace fs = std::filesystem;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

using vo::testing::TempDir;

std::string read_key(fitsfile* f, const char* key) {
    char value[FLEN_VALUE] = {0};
    int status = 0;
    fits_read_key(f, TSTRING, key, value, nullptr, &status);
    REQUIRE(status == 0);
    return value;
}

double read_double(fitsfile* f, const char* key) {
    double v = 0;
    int status = 0;
    fits_read_key(f, TDOUBLE, key, &v, nullptr, &status);
    REQUIRE(status == 0);
    return v;
}

}  // namespace

TEST_CASE("the compiled-in target table matches conf/phangs_muse_targets.csv", "[demo]") {
    std::ifstream in(std::string(VO_SOURCE_DIR) + "/conf/phangs_muse_targets.csv");
    REQUIRE(in);
    std::string line;
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("galaxy,", 0) == 0) continue;
        std::vector<std::string> cells;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, ',')) cells.push_back(c);
        rows.push_back(cells);
    }
    const auto& t = phangs_muse_targets();
    REQUIRE(rows.size() == 19);
    REQUIRE(t.size() == 19);
    for (std::size_t i = 0; i < t.size(); ++i) {
        INFO(t[i].galaxy);
        CHECK(rows[i][0] == t[i].galaxy);
        CHECK(std::stod(rows[i][1]) == t[i].ra_deg);
        CHECK(std::stod(rows[i][2]) == t[i].dec_deg);
        CHECK(rows[i][3] == t[i].date_obs);
        CHECK(std::stod(rows[i][5]) == t[i].exptime_s);
        CHECK(std::stod(rows[i][8]) == t[i].vsys_km_s);
    }
    // Spot check against the release tables (pointings.csv): NGC0628's first
    // template is P10 on 2014-10-31T03:39:46.
    CHECK(t[1].galaxy == "NGC0628");
    CHECK(t[1].date_obs == "2014-10-31T03:39:46");
}

TEST_CASE("make_demo writes a PHANGS-MUSE cube that extraction understands", "[demo]") {
    TempDir tmp;
    DemoOptions o;
    o.out_dir = tmp.path.string();
    o.nx = 11;  // odd, so the central spaxel sits exactly on the galaxy centre
    o.ny = 11;
    o.galaxies = {"NGC0628"};
    const auto t0 = std::chrono::steady_clock::now();
    const auto files = make_demo(o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(files.size() == 1);
    CHECK(fs::path(files[0]).filename() == "NGC0628_PHANGS_DATACUBE_native.fits");
    CHECK(seconds < 5.0);
    const PhangsMuseTarget& gal = phangs_muse_targets()[1];
    REQUIRE(gal.galaxy == "NGC0628");

    fitsfile* f = nullptr;
    int status = 0;
    REQUIRE(fits_open_file(&f, files[0].c_str(), READONLY, &status) == 0);
    int nhdu = 0;
    fits_get_num_hdus(f, &nhdu, &status);
    CHECK(nhdu == 4);
    CHECK(read_key(f, "TELESCOP") == "ESO-VLT-U4");
    CHECK(read_key(f, "INSTRUME") == "MUSE");
    CHECK(read_key(f, "OBJECT") == "NGC0628");
    CHECK(read_key(f, "PRODCATG") == "SCIENCE.CUBE.IFS");
    CHECK(read_key(f, "DATE-OBS") == "2014-10-31T03:39:46");
    CHECK(read_double(f, "EXPTIME") == gal.exptime_s);
    const char* names[] = {"DATA", "STAT", "DQ"};
    const int bitpix[] = {FLOAT_IMG, FLOAT_IMG, SHORT_IMG};
    for (int h = 0; h < 3; ++h) {
        int type = 0;
        REQUIRE(fits_movabs_hdu(f, h + 2, &type, &status) == 0);
        CHECK(read_key(f, "EXTNAME") == names[h]);
        int bp = 0, naxis = 0;
        long naxes[3] = {0, 0, 0};
        fits_get_img_param(f, 3, &bp, &naxis, naxes, &status);
        CHECK(bp == bitpix[h]);
        CHECK(naxis == 3);
        CHECK(naxes[0] == 11);
        CHECK(naxes[1] == 11);
        CHECK(naxes[2] == 3681);
        CHECK(read_key(f, "CTYPE1") == "RA---TAN");
        CHECK(read_key(f, "CTYPE3") == "AWAV");
        CHECK(read_key(f, "CUNIT3") == "Angstrom");
        CHECK(read_double(f, "CRVAL3") == 4749.76);
        CHECK(read_double(f, "CD3_3") == 1.25);
        CHECK_THAT(read_double(f, "CD2_2") * 3600.0, WithinRel(0.2, 1e-12));
    }
    fits_movabs_hdu(f, 2, nullptr, &status);
    CHECK(read_key(f, "BUNIT") == "10**(-20)*erg/s/cm**2/Angstrom");

    // H-alpha at the central spaxel (6, 6): observed air wavelength
    // 6562.80 (1 + vsys/c) = 6562.80 * (1 + 651/299792.458) = 6577.0512 A,
    // channel (0-based) = (6577.0512 - 4749.76) / 1.25 = 1461.83 -> 1462.
    const double lambda_ha = 6562.80 * (1.0 + gal.vsys_km_s / 299792.458);
    const long expected = std::lround((lambda_ha - 4749.76) / 1.25);
    CHECK(expected == 1462);
    std::vector<float> spec(3681);
    long fpixel[3] = {6, 6, 1};
    long lpixel[3] = {6, 6, 3681};
    long inc[3] = {1, 1, 1};
    int anynul = 0;
    REQUIRE(fits_read_subset(f, TFLOAT, fpixel, lpixel, inc, nullptr, spec.data(), &anynul, &status) == 0);
    long best = 1400;
    for (long k = 1400; k < 1500; ++k)
        if (spec[static_cast<std::size_t>(k)] > spec[static_cast<std::size_t>(best)]) best = k;
    CHECK(std::labs(best - expected) <= 1);
    // The line stands far above the continuum and the noise given by STAT.
    std::vector<float> var(1);
    fits_movabs_hdu(f, 3, nullptr, &status);
    long fp[3] = {6, 6, best + 1};
    fits_read_subset(f, TFLOAT, fp, fp, inc, nullptr, var.data(), &anynul, &status);
    CHECK(spec[static_cast<std::size_t>(best)] > 10 * std::sqrt(var[0]));
    CHECK(var[0] > 0);
    fits_close_file(f, &status);

    // Extraction: position, vacuum em range, MUSE metadata.
    IngestOptions io;
    io.collection = "phangs-muse";
    io.authority = "voserver.example";
    const auto r = extract_product(files[0], io);
    REQUIRE(r.ok());
    const auto& x = *r.record;
    CHECK(x.dataproduct_type == "cube");
    CHECK_THAT(*x.s_ra, WithinAbs(gal.ra_deg, 1e-9));
    CHECK_THAT(*x.s_dec, WithinAbs(gal.dec_deg, 1e-9));
    // Edges of the first and last channels (air), then vacuum.
    CHECK_THAT(*x.em_min, WithinRel(air_to_vacuum((4749.76 - 0.625) * 1e-10), 1e-12));
    CHECK_THAT(*x.em_max, WithinRel(air_to_vacuum((4749.76 + 1.25 * 3680 + 0.625) * 1e-10), 1e-12));
    CHECK(*x.em_min > (4749.76 - 0.625) * 1e-10);  // vacuum, not air
    CHECK(x.em_xel == 3681);
    CHECK(x.calib_level == 2);  // PRODCATG SCIENCE.CUBE.IFS
    CHECK(x.target_name == "NGC0628");
    CHECK(x.facility_name == "ESO-VLT-U4");
    CHECK(x.s_resolution == gal.psf_fwhm_arcsec);  // SKY_RES
    CHECK(x.t_exptime == gal.exptime_s);
    CHECK(r.file.image_hdus == std::vector<int>{1, 2, 3});
    CHECK(x.obs_publisher_did == "ivo://voserver.example/phangs-muse?NGC0628_PHANGS_DATACUBE_native");

    // A second run keeps the file (same options).
    const auto mtime = fs::last_write_time(files[0]);
    make_demo(o);
    CHECK(fs::last_write_time(files[0]) == mtime);
    // Unknown galaxy: a clear error.
    DemoOptions bad = o;
    bad.galaxies = {"NGC9999"};
    CHECK_THROWS_WITH(make_demo(bad), Catch::Contains("NGC9999"));
}

TEST_CASE("the demo's NGC1087 cube is the proprietary project; release dates from a keyword or the period", "[demo]") {
    TempDir tmp;
    DemoOptions o;
    o.out_dir = tmp.path.string();
    o.nx = 4;
    o.ny = 4;
    o.nchan = 20;
    o.galaxies = {"NGC0628", kProprietaryGalaxy};
    const auto files = make_demo(o);
    REQUIRE(files.size() == 2);
    IngestOptions io;
    io.collection = "phangs-muse";
    io.authority = "voserver.example";
    io.release_date_keyword = "RELDATE";
    const auto pub = extract_product(files[0], io);
    const auto secret = extract_product(files[1], io);
    REQUIRE(pub.ok());
    REQUIRE(secret.ok());
    CHECK(pub.record->proposal_id == "1100.B-0651");
    CHECK_FALSE(pub.record->obs_release_date);  // no keyword, no period: public
    CHECK(secret.record->proposal_id == kProprietaryProject);
    CHECK(secret.record->obs_release_date == "2099-12-31T00:00:00");
    // a proprietary period counts from the end of the observation (t_max)
    io.release_date_keyword.clear();
    io.proprietary_months = 12;
    const auto period = extract_product(files[0], io);
    REQUIRE(period.ok());
    REQUIRE(period.record->t_max);
    CHECK(*period.record->t_max > *period.record->t_min);
    CHECK(period.record->obs_release_date == release_date(*period.record->t_max, 12));
    // a malformed keyword value: a warning, and the period decides
    CHECK(iso_date_time("2099-12-31") == "2099-12-31T00:00:00");
    CHECK(iso_date_time("2099-12-31T12:30:00.5Z") == "2099-12-31T12:30:00");
    CHECK_FALSE(iso_date_time("2099-13-01"));
    CHECK_FALSE(iso_date_time("2023-02-29"));
    CHECK_FALSE(iso_date_time("31/12/2099"));
    CHECK_FALSE(iso_date_time("2099-12-31 extra"));
}
