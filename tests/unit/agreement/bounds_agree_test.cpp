// ObsCore rows and SODA cutouts agree on every real file with pixel data
// (issue 8 item 3): the row's s_region, em_min/em_max, t_min/t_max and
// pol_states (obscore::extract_product) are the bounds SODA describes
// (soda::describe_bounds, the DataLink service descriptor's VALUES) and cuts
// to (soda::plan_cutout): a BAND, TIME, POL or CIRCLE inside what the row
// publishes never answers "no spectral axis" / "no STOKES axis" / no overlap.
// 1-D spectra are cut by BAND.
#include <catch2/catch.hpp>

#include <fitsio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "obscore/fits_extract.hpp"
#include "soda/cutout.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits";

std::vector<std::string> sample_files() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(kFits)) {
        if (!e.is_regular_file()) continue;
        const std::string p = e.path().string();
        const std::string ext = e.path().extension().string();
        // Header-only dumps have no pixel data, so nothing SODA could cut.
        if (ext == ".md" || ext == ".hdr" || ext == ".header") continue;
        out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string fmt(double v) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", v);
    return b;
}

/// Plans a cutout; returns "" on success, else the SODA status and error text.
std::string try_cut(const std::string& path, const std::vector<int>& hdus,
                    const std::multimap<std::string, std::string>& req) {
    try {
        (void)vo::soda::plan_cutout(path, hdus, vo::soda::parse_params(req));
        return "";
    } catch (const vo::soda::SodaError& e) {
        return std::to_string(e.http_status()) + " " + e.what();
    }
}

std::string pol_list(const std::vector<std::string>& labels) {
    std::vector<int> codes;
    for (int c = -8; c <= 4; ++c)
        if (const char* l = vo::fits::stokes_label(c))
            if (std::find(labels.begin(), labels.end(), l) != labels.end()) codes.push_back(c);
    return vo::obscore::pol_states_from_stokes(codes);
}

}  // namespace

TEST_CASE("ObsCore bounds equal the bounds SODA cuts to, for every sample file with pixels", "[agreement]") {
    vo::obscore::IngestOptions options;
    options.collection = "samples";
    options.authority = "voserver.example";
    int rows = 0, spectra = 0, bands = 0, times = 0, pols = 0, regions = 0;
    for (const auto& path : sample_files()) {
        const auto res = vo::obscore::extract_product(path, options);
        if (!res.ok()) continue;
        const auto& r = *res.record;
        ++rows;
        INFO(path);
        const std::vector<int>& hdus = res.file.image_hdus;
        vo::soda::Bounds b;
        REQUIRE_NOTHROW(b = vo::soda::describe_bounds(path, hdus));

        // em_min/em_max <-> BAND.
        REQUIRE(r.em_min.has_value() == b.band.has_value());
        if (r.em_min) {
            ++bands;
            CHECK(b.band->lo == Approx(*r.em_min).epsilon(1e-12));
            CHECK(b.band->hi == Approx(*r.em_max).epsilon(1e-12));
            // The middle fifth of the published coverage cuts, never a 400 or 204.
            const double w = *r.em_max - *r.em_min;
            const std::string band = fmt(*r.em_min + 0.4 * w) + " " + fmt(*r.em_min + 0.6 * w);
            INFO("BAND=" << band);
            CHECK(try_cut(path, hdus, {{"BAND", band}}) == "");
            if (r.dataproduct_type == "spectrum") ++spectra;
        }

        // t_min/t_max <-> TIME.
        REQUIRE(r.t_min.has_value() == b.time.has_value());
        if (r.t_min) {
            ++times;
            CHECK(b.time->lo == *r.t_min);
            CHECK(b.time->hi == r.t_max.value_or(*r.t_min));
            const std::string t = fmt(*r.t_min - 1e-3) + " " + fmt(r.t_max.value_or(*r.t_min) + 1e-3);
            INFO("TIME=" << t);
            CHECK(try_cut(path, hdus, {{"TIME", t}}) == "");
        }

        // pol_states <-> POL.
        CHECK(r.pol_states.value_or("") == pol_list(b.pol));
        if (r.pol_states) {
            ++pols;
            INFO("POL=" << b.pol.front());
            CHECK(try_cut(path, hdus, {{"POL", b.pol.front()}}) == "");
        }

        // s_region <-> POS/CIRCLE/POLYGON (celestial axes within NAXIS).
        // (No sample has degenerate celestial axes: every s_region is cut-able.)
        CHECK((r.s_region.empty() == b.polygon.empty() || r.s_region_circle.has_value()));
        if (r.s_region_circle) {
            // All-sky maps: the bounding circle is the descriptor's circle.
            CHECK(b.circle_lon == Approx((*r.s_region_circle)[0]).margin(1e-9));
            CHECK(b.circle_lat == Approx((*r.s_region_circle)[1]).margin(1e-9));
            CHECK(b.circle_radius == Approx((*r.s_region_circle)[2]).margin(1e-9));
        }
        if (!r.s_region.empty() && !b.polygon.empty()) {
            ++regions;
            REQUIRE(r.s_region.size() == b.polygon.size());
            for (std::size_t i = 0; i < r.s_region.size(); ++i) {
                CHECK(b.polygon[i].first == Approx(r.s_region[i].first).margin(1e-9));
                CHECK(b.polygon[i].second == Approx(r.s_region[i].second).margin(1e-9));
            }
            REQUIRE(r.s_ra);
            const double radius = std::max(1e-4, std::min(1.0, r.s_fov.value_or(0.01) / 10));
            const std::string circle = fmt(*r.s_ra) + " " + fmt(*r.s_dec) + " " + fmt(radius);
            INFO("CIRCLE=" << circle);
            CHECK(try_cut(path, hdus, {{"CIRCLE", circle}}) == "");
        }
    }
    // The corpus does hold every kind of bound (PROVENANCE.md).
    CHECK(rows >= 29);
    CHECK(spectra >= 3);
    CHECK(bands >= 7);
    CHECK(times >= 10);
    CHECK(pols >= 1);
    CHECK(regions >= 15);
    WARN("rows " << rows << ", spectra " << spectra << ", BAND " << bands << ", TIME " << times << ", POL " << pols
                 << ", regions " << regions);
}

namespace {

/// Writes a 60 x 60 float image on an FK4 B1950 TAN grid centred on
/// (10, 20) at pixel (30.5, 30.5), 2 arcsec pixels.
std::string write_fk4_image(const std::string& radesys_card) {
    const auto path = fs::temp_directory_path() / ("voserver_fk4_" + std::to_string(::getpid()) + ".fits");
    fs::remove(path);
    fitsfile* f = nullptr;
    int status = 0;
    long naxes[2] = {60, 60};
    fits_create_diskfile(&f, path.c_str(), &status);
    fits_create_img(f, FLOAT_IMG, 2, naxes, &status);
    for (const std::string& c :
         {std::string("CTYPE1  = 'RA---TAN'"), std::string("CTYPE2  = 'DEC--TAN'"),
          std::string("CRVAL1  =                 10.0"), std::string("CRVAL2  =                 20.0"),
          std::string("CRPIX1  =                 30.5"), std::string("CRPIX2  =                 30.5"),
          std::string("CDELT1  =   -5.55555555555556E-4"), std::string("CDELT2  =    5.55555555555556E-4"),
          std::string("EQUINOX =               1950.0"), radesys_card})
        if (!c.empty()) fits_write_record(f, c.c_str(), &status);
    std::vector<float> pix(3600, 1.0f);
    fits_write_img(f, TFLOAT, 1, 3600, pix.data(), &status);
    fits_close_file(f, &status);
    REQUIRE(status == 0);
    return path.string();
}

}  // namespace

TEST_CASE("FK4 products: ObsCore converts them and SODA cuts them (no longer 'not supported')", "[agreement][fk4]") {
    // astropy: SkyCoord(10, 20, frame=FK4(equinox='B1950')).icrs
    const double ra = 10.658967275715431, dec = 20.2738672156196;
    for (const std::string& radesys : {std::string("RADESYS = 'FK4     '"), std::string()}) {
        INFO(radesys);
        const std::string path = write_fk4_image(radesys);
        vo::obscore::IngestOptions options;
        options.collection = "test";
        options.authority = "voserver.example";
        const auto res = vo::obscore::extract_product(path, options);
        REQUIRE(res.ok());
        CHECK(*res.record->s_ra == Approx(ra).margin(3e-6));
        CHECK(*res.record->s_dec == Approx(dec).margin(3e-6));
        // A 9-arcsec circle on the ICRS position of the grid centre: pixel
        // coordinates 30.5 +- 4.5 (2-arcsec pixels), i.e. pixels 26..35, where
        // taking FK4 as ICRS would miss the image by 0.6 deg.
        const auto cut = vo::soda::plan_cutout(
            path, {}, vo::soda::parse_params({{"CIRCLE", fmt(ra) + " " + fmt(dec) + " " + fmt(9.0 / 3600)}}));
        REQUIRE(cut.axes().size() == 2);
        for (const auto& a : cut.axes()) {
            CHECK(a.fits_first() == 26);
            CHECK(a.fits_last() == 35);
        }
        fs::remove(path);
    }
}
