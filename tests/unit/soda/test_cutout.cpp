// SODA cutouts on the real files of ../shared/data/fits (vo::soda::plan_cutout,
// Cutout::write, describe_bounds).
//
// Every cutout written here is also saved, with a manifest line, in the
// directory $VO_SODA_OUT (default /tmp/voserver_soda_out), so that
// tests/soda/check_cutouts.py can compare it with an independent astropy
// computation (pixel values exactly, corner world coordinates to 1e-9 deg) and
// run fitsverify on it. The pixel boxes asserted below were computed by that
// script (astropy all_world2pix of the region boundary sampled every 1/8
// pixel, image border and grid tested against the region, index = floor(p+0.5)
// on 1-based pixel coordinates; see check_cutouts.py --print-boxes).
#include <catch2/catch.hpp>

#include <fitsio.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "soda/cutout.hpp"

using namespace vo::soda;
using M = std::multimap<std::string, std::string>;

namespace {

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits/";

std::filesystem::path out_dir() {
    const char* env = std::getenv("VO_SODA_OUT");
    std::filesystem::path d = env && *env ? env : "/tmp/voserver_soda_out";
    std::filesystem::create_directories(d);
    return d;
}

/// The manifest of this process's cutouts, out_dir()/manifest.jsonl: emptied
/// when the first cutout of the process is written (so it lists exactly the
/// cases this run wrote, whichever test cases Catch2 selected), then appended to.
std::ofstream& manifest_file() {
    static std::ofstream m(out_dir() / "manifest.jsonl", std::ios::trunc);
    return m;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o;
}

/// Plans and writes a cutout into out_dir()/<name>.fits, appends the manifest
/// line, and returns the plan. Checks that size_bytes() is what was written.
Cutout run_case(const std::string& name, const std::string& file, const M& request, std::vector<int> hdus = {}) {
    const Params params = parse_params(request);
    Cutout cut = plan_cutout(file, hdus, params);
    const auto path = out_dir() / (name + (cut.is_meta() ? ".txt" : ".fits"));
    std::ofstream os(path, std::ios::binary);
    std::uint64_t written = 0;
    REQUIRE(cut.write([&](const char* p, std::size_t n) {
        os.write(p, static_cast<std::streamsize>(n));
        written += n;
        return true;
    }));
    os.close();
    CHECK(written == cut.size_bytes());
    std::ofstream& manifest = manifest_file();
    REQUIRE(manifest.good());
    manifest << "{\"name\":\"" << name << "\",\"input\":\"" << json_escape(file) << "\",\"output\":\""
             << json_escape(path.string()) << "\",\"params\":{";
    bool first = true;
    for (const auto& [k, v] : request) {
        manifest << (first ? "" : ",") << "\"" << k << "\":\"" << json_escape(v) << "\"";
        first = false;
    }
    manifest << "},\"hdus\":[";
    for (std::size_t i = 0; i < cut.hdus().size(); ++i) manifest << (i ? "," : "") << cut.hdus()[i].hdu;
    manifest << "],\"axes\":[";
    for (std::size_t i = 0; i < cut.axes().size(); ++i)
        manifest << (i ? "," : "") << "[" << cut.axes()[i].fits_first() << "," << cut.axes()[i].fits_last() << ","
                 << cut.axes()[i].step << "]";
    manifest << "]}" << std::endl;  // flushed: check_cutouts.py reads it after this process
    return cut;
}

struct Box {
    long a1, b1, a2, b2;
};

void check_box(const Cutout& c, std::size_t axis, long first1, long last1) {
    INFO("axis " << axis + 1);
    CHECK(c.axes().at(axis).fits_first() == first1);
    CHECK(c.axes().at(axis).fits_last() == last1);
}

int status_of(const std::string& file, const M& request) {
    try {
        plan_cutout(file, {}, parse_params(request));
    } catch (const SodaError& e) {
        return e.http_status();
    }
    return 200;
}

std::string param_of(const std::string& file, const M& request) {
    try {
        plan_cutout(file, {}, parse_params(request));
    } catch (const SodaError& e) {
        return e.parameter();
    }
    return "";
}

}  // namespace

TEST_CASE("ALMA cube: SIN / FREQ / STOKES", "[soda][cutout]") {
    const std::string f = kFits + "alma/ngc3256_alma_sv_co10_cube.fits";
    auto c = run_case("alma_circle", f, {{"CIRCLE", "156.965 -43.905 0.005"}});
    REQUIRE(c.axes().size() == 4);
    check_box(c, 0, 47, 83);
    check_box(c, 1, 47, 83);
    check_box(c, 2, 1, 50);
    CHECK(c.hdus().size() == 1);
    CHECK(c.filename() == "ngc3256_alma_sv_co10_cube_cut_47-83_47-83_1-50_1-1.fits");
    // BAND 2.62..2.625 mm: FREQ = c/lambda = 114.2059..114.4238 GHz.
    auto b = run_case("alma_circle_band_pol", f,
                      {{"CIRCLE", "156.965 -43.905 0.005"}, {"BAND", "2.62e-3 2.625e-3"}, {"POL", "I"}});
    check_box(b, 2, 26, 40);
    check_box(b, 3, 1, 1);
    run_case("alma_polygon", f, {{"POLYGON", "156.96 -43.91 156.975 -43.91 156.97 -43.895"}});
    run_case("alma_range", f, {{"POS", "RANGE 156.95 156.96 -43.92 -43.90"}});
    CHECK(status_of(f, {{"POL", "V"}}) == 204);
}

TEST_CASE("a region whose boundary lies inside the image but which holds the border is not cut to the boundary",
          "[soda][cutout]") {
    // Regression test of the fast path of the spatial box (boundary well inside
    // the image -> bounding box of the boundary): the circle of radius
    // 179.995 deg centred on the antipode of (156.965, -43.905) is the whole
    // sky except the 0.005 deg cap of "alma_circle" above (box 47..83). Its
    // boundary is that cap's circle, wholly inside the 128 x 128 image, but the
    // region holds everything around it, corners included: the box must be the
    // whole image (also recomputed with astropy by check_cutouts.py).
    const std::string f = kFits + "alma/ngc3256_alma_sv_co10_cube.fits";
    auto c = run_case("alma_anti_cap", f, {{"CIRCLE", "336.965 43.905 179.995"}});
    check_box(c, 0, 1, 128);
    check_box(c, 1, 1, 128);
}

TEST_CASE("MUSE cube: TAN / AWAV with DATA and STAT cut alike", "[soda][cutout]") {
    const std::string f = kFits + "muse/udf_mosaic_subcube.fits";
    auto c = run_case("muse_circle_band", f, {{"CIRCLE", "53.1752 -27.8079 0.0005"}, {"BAND", "5.0e-7 5.05e-7"}});
    check_box(c, 0, 7, 25);
    check_box(c, 1, 6, 24);
    check_box(c, 2, 200, 240);
    REQUIRE(c.hdus().size() == 3);  // kept primary header + DATA + STAT (FIELDMAP is 2-D)
    CHECK(c.hdus()[0].cut == false);
    CHECK(c.hdus()[1].extname == "DATA");
    CHECK(c.hdus()[2].extname == "STAT");
    run_case("muse_range", f, {{"POS", "RANGE 53.174 53.176 -27.809 -27.807"}});
    run_case("muse_pixel", f, {{"PIXEL_1", "3 12"}, {"PIXEL_3", "100 120"}});
    run_case("muse_polygon", f, {{"POLYGON", "53.1745 -27.8085 53.1760 -27.8085 53.1752 -27.8070"}});
    CHECK(param_of(f, {{"POL", "I"}}) == "POL");
    CHECK(status_of(f, {{"POL", "I"}}) == 400);
    CHECK(status_of(f, {{"CIRCLE", "10 10 0.01"}}) == 204);
    CHECK(status_of(f, {{"BAND", "1e-6 2e-6"}}) == 204);
}

TEST_CASE("MUSE white-light image with DATA / STAT / DQ", "[soda][cutout]") {
    const std::string f = kFits + "muse/IMAGE-HDFS-1.34.fits";
    auto c = run_case("muse_hdfs_circle", f, {{"CIRCLE", "338.2314 -60.5636 0.002"}});
    REQUIRE(c.hdus().size() == 4);
    CHECK(c.hdus()[3].extname == "DQ");
}

TEST_CASE("FCRAO cube: SFL / VOPT without rest frequency", "[soda][cutout]") {
    const std::string f = kFits + "radio/l1448_13co_fcrao_cube.fits";
    run_case("fcrao_circle", f, {{"CIRCLE", "51.33 30.63 0.1"}});
    run_case("fcrao_polygon", f, {{"POLYGON", "51.2 30.5 51.5 30.5 51.5 30.8 51.2 30.8"}});
    // A velocity axis cannot be turned into wavelength without RESTFRQ.
    CHECK(param_of(f, {{"BAND", "2.7e-3 2.8e-3"}}) == "BAND");
}

TEST_CASE("WSRT cube: NCP / VELO-HEL with FREQ0, BITPIX 16 scaled", "[soda][cutout]") {
    const std::string f = kFits + "radio/ngc6946_wsrt_hi_cube.fits";
    auto c = run_case("wsrt_circle_band", f, {{"CIRCLE", "308.72 60.15 0.1"}, {"BAND", "0.21105 0.2112"}});
    check_box(c, 0, 37, 65);
    check_box(c, 1, 37, 64);
    check_box(c, 2, 34, 85);
    run_case("wsrt_range", f, {{"POS", "RANGE 308.5 309.0 60.0 60.3"}});
}

TEST_CASE("images with ZPN, SIP, AIT and CAR projections", "[soda][cutout]") {
    auto z = run_case("ukidss_zpn_circle", kFits + "other/ukidss_wfcam_zpn.fits", {{"CIRCLE", "83.633 22.0145 0.003"}});
    check_box(z, 0, 96, 203);
    check_box(z, 1, 97, 204);
    run_case("ukidss_zpn_polygon", kFits + "other/ukidss_wfcam_zpn.fits",
             {{"POLYGON", "83.625 22.008 83.64 22.01 83.63 22.02"}});
    auto a = run_case("apogee_sip_circle", kFits + "other/apogee_sip-wcs.fits", {{"CIRCLE", "280.546 0.1126 0.002"}});
    check_box(a, 0, 37, 63);
    check_box(a, 1, 13, 38);
    auto h = run_case("wfc3_sip_circle", kFits + "hst/wfc3_ir_sample_svm_flt.fits",
                      {{"CIRCLE", "137.8524 -64.8864 0.00015"}});
    // ERR/DQ/SAMP/TIME are 10x10 too but carry the pre-alignment WCS (CRVAL
    // differs by 0.4 arcsec, ~3 pixels): not the same WCS, so only SCI is cut.
    CHECK(h.hdus().size() == 2);
    run_case("rosat_ait_ngp", kFits + "other/rosat_allsky_ait.fits", {{"CIRCLE", "192.86 27.13 20"}});
    // A circle around the celestial north pole: in galactic AIT it is at l=122.9, b=27.1.
    // Regression: a circle centred on the pole was sampled as a single point.
    auto p = run_case("rosat_ait_ncp", kFits + "other/rosat_allsky_ait.fits", {{"CIRCLE", "0 90 10"}});
    check_box(p, 0, 67, 102);
    check_box(p, 1, 150, 182);
    run_case("rosat_ait_band", kFits + "other/rosat_allsky_ait.fits", {{"POS", "RANGE 0 360 -10 10"}});
    run_case("msx_car_circle", kFits + "other/msx_e_gc.fits", {{"CIRCLE", "266.4 -28.94 0.2"}});
    run_case("wfpc2_polygon", kFits + "hst/wfpc2_hdfs_f606w.fits",
             {{"POLYGON", "338.236 -60.559 338.243 -60.559 338.243 -60.556 338.236 -60.556"}});
}

TEST_CASE("META=true returns the cut headers as text", "[soda][cutout]") {
    const std::string f = kFits + "muse/udf_mosaic_subcube.fits";
    auto c = plan_cutout(f, {}, parse_params({{"PIXEL_1", "3 12"}, {"META", "true"}}));
    CHECK(c.content_type() == "text/plain");
    std::string text;
    c.write([&](const char* p, std::size_t n) {
        text.append(p, n);
        return true;
    });
    CHECK(text.size() == c.size_bytes());
    CHECK(text.find("# HDU 2") != std::string::npos);
    CHECK(text.find("NAXIS1  =                   10") != std::string::npos);
    CHECK(text.find("CRPIX1  =                -43.0") != std::string::npos);  // -41 - 2
}

TEST_CASE("a sink returning false stops the writing", "[soda][cutout]") {
    auto c = plan_cutout(kFits + "alma/ngc3256_alma_sv_co10_cube.fits", {}, Params{});
    std::size_t calls = 0;
    CHECK_FALSE(c.write([&](const char*, std::size_t) { return ++calls < 1; }));
    CHECK(calls == 1);
}

TEST_CASE("describe_bounds gives the product's cut-able ranges", "[soda][bounds]") {
    const auto b = describe_bounds(kFits + "alma/ngc3256_alma_sv_co10_cube.fits", {});
    CHECK(b.naxes == std::vector<long>{128, 128, 50, 1});
    CHECK(b.pol == std::vector<std::string>{"I"});
    REQUIRE(b.band);
    // FREQ edges: 113813299344.9 + (k - 1) * 15626038.20624 Hz for k = 0.5, 50.5;
    // lambda = c / nu.
    CHECK(b.band->lo == Approx(299792458.0 / (113813299344.9 + 49.5 * 15626038.20624)).epsilon(1e-12));
    CHECK(b.band->hi == Approx(299792458.0 / (113813299344.9 - 0.5 * 15626038.20624)).epsilon(1e-12));
    CHECK(b.polygon.size() == 4);
    CHECK(b.circle_lon == Approx(156.96519).margin(1e-4));
    REQUIRE(b.time);  // DATE-OBS = 2011-04-16T03:13:50.16 -> MJD 55667.13460833
    CHECK(b.time->lo == Approx(55667.1346083).margin(1e-6));
    const auto m = describe_bounds(kFits + "muse/udf_mosaic_subcube.fits", {});
    CHECK(m.image_hdus == std::vector<int>{1, 2});
    REQUIRE(m.band);
    // AWAV edge 4749.375 A in vacuum: lambda_vac = lambda_air * n(lambda_vac) with
    // n - 1 = 1e-6 (64.328 + 29498.1/(146 - s^2) + 255.4/(41 - s^2)), s = 1/lambda_vac[um]
    // (Edlen 1953 / Cox 2000 as in FITS WCS Paper III), fixed-point iteration in
    // Python: 4.7507032923365976e-07 m.
    CHECK(m.band->lo == Approx(4.7507032923365976e-07).epsilon(1e-8));
}

namespace {
/// Writes a MUSE-like product: empty primary, DATA (float), STAT (float), DQ
/// (int16) 20x16x30 on a TAN/AWAV WCS, values = a function of (x, y, z).
void make_muse_like(const std::string& path) {
    std::filesystem::remove(path);
    fitsfile* f = nullptr;
    int status = 0;
    fits_create_file(&f, path.c_str(), &status);
    fits_create_img(f, 8, 0, nullptr, &status);
    long naxes[3] = {20, 16, 30};
    const char* names[3] = {"DATA", "STAT", "DQ"};
    for (int e = 0; e < 3; ++e) {
        fits_create_img(f, e == 2 ? SHORT_IMG : FLOAT_IMG, 3, naxes, &status);
        fits_write_key_str(f, "EXTNAME", names[e], nullptr, &status);
        const char* ct[3] = {"RA---TAN", "DEC--TAN", "AWAV"};
        double crval[3] = {150.0, 2.0, 4.75e-7}, crpix[3] = {10.5, 8.5, 1},
               cdelt[3] = {-0.2 / 3600, 0.2 / 3600, 1.25e-10};
        for (int i = 0; i < 3; ++i) {
            std::string n = std::to_string(i + 1);
            fits_write_key_str(f, ("CTYPE" + n).c_str(), ct[i], nullptr, &status);
            fits_write_key_dbl(f, ("CRVAL" + n).c_str(), crval[i], 15, nullptr, &status);
            fits_write_key_dbl(f, ("CRPIX" + n).c_str(), crpix[i], 15, nullptr, &status);
            fits_write_key_dbl(f, ("CDELT" + n).c_str(), cdelt[i], 15, nullptr, &status);
            fits_write_key_str(f, ("CUNIT" + n).c_str(), i < 2 ? "deg" : "m", nullptr, &status);
        }
        std::vector<float> fv(20 * 16 * 30);
        std::vector<short> sv(fv.size());
        for (std::size_t k = 0; k < fv.size(); ++k) {
            fv[k] = static_cast<float>(k) * (e + 1) + 0.5f;
            sv[k] = static_cast<short>(k % 7);
        }
        if (e == 2)
            fits_write_img(f, TSHORT, 1, static_cast<LONGLONG>(sv.size()), sv.data(), &status);
        else
            fits_write_img(f, TFLOAT, 1, static_cast<LONGLONG>(fv.size()), fv.data(), &status);
    }
    fits_close_file(f, &status);
    REQUIRE(status == 0);
}
}  // namespace

TEST_CASE("generated MUSE-like cube: DATA, STAT, DQ cut alike, also tile-compressed and gzip", "[soda][cutout]") {
    const auto dir = out_dir();
    const std::string plain = (dir / "gen_muse_input.fits").string();
    make_muse_like(plain);
    // Tile-compressed copy (CFITSIO [compress] syntax) and a gzip copy.
    const std::string packed = (dir / "gen_muse_input_rice.fits").string();
    std::filesystem::remove(packed);
    {
        fitsfile *in = nullptr, *out = nullptr;
        int status = 0;
        fits_open_file(&in, plain.c_str(), READONLY, &status);
        fits_create_file(&out, (packed + "[compress R 5,4,3]").c_str(), &status);
        fits_copy_file(in, out, 1, 1, 1, &status);
        fits_close_file(out, &status);
        fits_close_file(in, &status);
        REQUIRE(status == 0);
    }
    const std::string gz = (dir / "gen_muse_input.fits.gz").string();
    std::filesystem::remove(gz);
    REQUIRE(std::system(("gzip -c '" + plain + "' > '" + gz + "'").c_str()) == 0);

    const M req{{"CIRCLE", "150.0 2.0 0.0002"}, {"BAND", "4.76e-7 4.77e-7"}};
    for (const auto& [name, file] :
         {std::pair{"gen_muse_plain", plain}, {"gen_muse_rice", packed}, {"gen_muse_gzip", gz}}) {
        INFO(name);
        auto c = run_case(name, file, req);
        REQUIRE(c.hdus().size() == 4);
        CHECK(c.hdus()[3].extname == "DQ");
        CHECK(c.hdus()[3].bitpix == 16);
    }
    // The three outputs are identical apart from the file name in HISTORY: the
    // data units must be byte-identical.
    auto data_of = [&](const std::string& name) {
        fitsfile* f = nullptr;
        int status = 0, type = 0;
        const std::string p = (dir / (name + ".fits")).string();
        fits_open_file(&f, p.c_str(), READONLY, &status);
        std::vector<float> all;
        for (int e = 2; e <= 3; ++e) {
            fits_movabs_hdu(f, e, &type, &status);
            long n[3] = {0, 0, 0};
            int naxis = 0, bitpix = 0;
            fits_get_img_param(f, 3, &bitpix, &naxis, n, &status);
            std::vector<float> v(n[0] * n[1] * n[2]);
            int anynul = 0;
            fits_read_img(f, TFLOAT, 1, static_cast<LONGLONG>(v.size()), nullptr, v.data(), &anynul, &status);
            all.insert(all.end(), v.begin(), v.end());
        }
        fits_close_file(f, &status);
        REQUIRE(status == 0);
        return all;
    };
    const auto a = data_of("gen_muse_plain");
    CHECK(!a.empty());
    CHECK(a == data_of("gen_muse_rice"));
    CHECK(a == data_of("gen_muse_gzip"));
}
