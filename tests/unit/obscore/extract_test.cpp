// FITS -> ObsCore extraction on the real files of ../shared/data/fits.
//
// Expected values were computed independently with astropy 5.2 (astropy.wcs
// built on the same header, astropy.coordinates for frame conversions); the
// computation is quoted above each value. Pixel conventions: astropy 0-based,
// so the pixel-grid centre is ((N-1)/2) and the outer channel edges are -0.5
// and N-0.5.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "obscore/fits_extract.hpp"
#include "obscore/header_text.hpp"

using namespace vo::obscore;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits/";

IngestOptions options() {
    IngestOptions o;
    o.collection = "samples";
    o.authority = "voserver.example";
    return o;
}

ExtractResult extract(const std::string& rel) { return extract_product(kFits + rel, options()); }

/// Angular separation in arcsec between two nearby positions (deg).
double sep_arcsec(double ra1, double dec1, double ra2, double dec2) {
    const double d2r = 3.14159265358979323846 / 180.0;
    const double dra = (ra1 - ra2) * std::cos(0.5 * (dec1 + dec2) * d2r);
    return std::hypot(dra, dec1 - dec2) * 3600.0;
}

}  // namespace

TEST_CASE("header text: the two dump formats split into card blocks", "[extract]") {
    // Text dump, one card per line, "# HDU n in file:" separators (2 HDUs).
    const auto possum = read_header_file(kFits + "radio/possum_pilot1_1368MHz_q_cube.fits.header");
    REQUIRE(possum.size() == 2);
    CHECK(FitsHeader(possum[0]).get_int("NAXIS3") == 144);
    CHECK(FitsHeader(possum[1]).get_string("XTENSION") == "BINTABLE");
    // Gemini dump with Filename:/AstroData Types: lines and "--- HDU n ---".
    const auto gmos = read_header_file(kFits + "gmos/N20110927S0170_fringe_SCI_VAR_DQ.fits.header");
    REQUIRE(gmos.size() >= 4);
    CHECK(FitsHeader(gmos[0]).get_string("INSTRUME") == "GMOS-N");
    CHECK(FitsHeader(gmos[1]).get_string("EXTNAME") == "SCI");
    // Raw 80-character cards without newlines.
    const auto raw = read_header_file(kFits + "radio/vla_m33_hi_header_jybeam.hdr");
    REQUIRE(raw.size() == 1);
    CHECK(FitsHeader(raw[0]).get_int("NAXIS1") == 1884);
    CHECK(FitsHeader(raw[0]).get_string("BUNIT") == "JY/BEAM");
}

TEST_CASE("FitsHeader: strings, numbers, HIERARCH, CONTINUE", "[extract]") {
    auto card = [](std::string s) {
        s.resize(80, ' ');
        return s;
    };
    const FitsHeader h(card("OBJECT  = 'NGC 628 '           / target") + card("EXPTIME =   1.5D+03") +
                       card("HIERARCH ESO TEL AIRM START = 1.234 / airmass") + card("LONG    = 'abc&'") +
                       card("CONTINUE  'def'") + card("FLAG    =                    T") + card("END"));
    CHECK(h.get_string("OBJECT") == "NGC 628");
    CHECK(h.get_double("EXPTIME") == 1500.0);
    CHECK(h.get_double("ESO TEL AIRM START") == 1.234);
    CHECK(h.get_string("LONG") == "abcdef");
    CHECK(h.get_bool("FLAG") == true);
    CHECK_FALSE(h.get_double("OBJECT").has_value());
    CHECK_FALSE(h.has("MISSING"));
}

TEST_CASE("PHANGS-ALMA NGC2903 cube header: VRAD axis with rest frequency", "[extract]") {
    const auto r = extract("alma/phangs_ngc2903_12m+7m+tp_co21.fits.header");
    REQUIRE(r.ok());
    const auto& x = *r.record;
    CHECK(x.dataproduct_type == "cube");
    // astropy: w = WCS(hdr); w.celestial.pixel_to_world(406, 550).icrs
    //   -> 143.041179689 21.503575856
    CHECK(sep_arcsec(*x.s_ra, *x.s_dec, 143.041179689, 21.503575856) < 0.01);
    // astropy: ws = w.sub([3]); ws.wcs.sptr('WAVE-???');
    //   ws.wcs_pix2world([[-0.5],[389.5]], 0) -> 1.300637801253e-03, 1.304951551308e-03 m
    CHECK_THAT(*x.em_min, WithinRel(1.300637801253e-03, 1e-9));
    CHECK_THAT(*x.em_max, WithinRel(1.304951551308e-03, 1e-9));
    CHECK(x.em_xel == 390);
    // astropy: lambda(centre) / |lambda(c+0.5) - lambda(c-0.5)| = 117783.811588
    CHECK_THAT(*x.em_res_power, WithinRel(117783.811588, 1e-6));
    CHECK(x.s_xel1 == 813);
    CHECK(x.s_xel2 == 1101);
    CHECK(x.o_unit == "K");
    CHECK(x.o_ucd == "phot.antennaTemp");
    CHECK(x.facility_name == "ALMA");
    CHECK(x.target_name == "NGC2903");
    CHECK(x.obs_id == "phangs_ngc2903_12m+7m+tp_co21");
    CHECK(x.obs_publisher_did == "ivo://voserver.example/samples?phangs_ngc2903_12m+7m+tp_co21");
    CHECK(x.access_url ==  // a path; the server puts its base URL in front at query time
          "/datalink/sync?ID=ivo%3A%2F%2Fvoserver.example%2Fsamples%3Fphangs_ngc2903_12m%2B7m%2Btp_co21");
    CHECK(x.access_format == "application/x-votable+xml;content=datalink");
    // BMAJ = 4.041628543609E-04 deg -> 1.4549862757 arcsec
    CHECK_THAT(*x.s_resolution, WithinRel(1.45498627, 1e-6));
    CHECK_THAT(*x.s_pixel_scale, WithinRel(0.3, 1e-4));  // CDELT2 = 8.333e-05 deg
}

TEST_CASE("ALMA NGC3256 cube: FREQ + STOKES", "[extract]") {
    const auto r = extract("alma/ngc3256_alma_sv_co10_cube.fits");
    REQUIRE(r.ok());
    const auto& x = *r.record;
    CHECK(x.dataproduct_type == "cube");
    // astropy: WCS(h).celestial.pixel_to_world(63.5, 63.5).icrs -> 156.965182465 -43.905134400
    CHECK(sep_arcsec(*x.s_ra, *x.s_dec, 156.965182465, -43.905134400) < 1.0);
    // (RADESYS FK5: astropy applies the FK5->ICRS frame bias, ~0.03 arcsec, which we neglect)
    CHECK(sep_arcsec(*x.s_ra, *x.s_dec, 156.965182465, -43.905134400) < 0.05);
    // astropy: sub([3]).sptr('WAVE-???') at pixels -0.5 and 49.5
    CHECK_THAT(*x.em_min, WithinRel(2.616291656437e-03, 1e-9));
    CHECK_THAT(*x.em_max, WithinRel(2.634253125036e-03, 1e-9));
    CHECK(x.em_xel == 50);
    CHECK(x.em_ucd == "em.freq");
    // astropy: sub([4]).wcs_pix2world([[0]], 0) -> 1 (Stokes I)
    CHECK(x.pol_states == "/I/");
    CHECK(x.pol_xel == 1);
    CHECK(x.o_ucd == "phot.flux.density");
    REQUIRE(x.s_region.size() == 4);
    CHECK(x.access_estsize == (3346560 + 1023) / 1024);
    CHECK(r.file.image_hdus == std::vector<int>{0});
    CHECK(x.t_min.has_value());
}

TEST_CASE("MUSE UDF sub-cube: AWAV axis converted to vacuum, DATA+STAT planes", "[extract]") {
    const auto r = extract("muse/udf_mosaic_subcube.fits");
    REQUIRE(r.ok());
    const auto& x = *r.record;
    CHECK(x.dataproduct_type == "cube");
    // astropy: WCS(getheader(f,1)).celestial.pixel_to_world(14.5, 14.5).icrs -> 53.175247643 -27.807878288
    CHECK(sep_arcsec(*x.s_ra, *x.s_dec, 53.175247643, -27.807878288) < 0.01);
    // astropy: air edges WCS(h).sub([3]).wcs_pix2world([[-0.5],[499.5]],0) = 4.749375e-07, 5.374375e-07 m;
    // vacuum with the IAU (Edlen 1953) relation WCSLIB documents in spx.h,
    // sigma = 1/lambda_air[um]: lambda * (1 + 1e-6 (64.328 + 29498.1/(146-s2) + 255.4/(41-s2)))
    //   -> 4.750703311912e-07, 5.375869511669e-07
    CHECK_THAT(*x.em_min, WithinRel(4.750703311912e-07, 1e-9));
    CHECK_THAT(*x.em_max, WithinRel(5.375869511669e-07, 1e-9));
    CHECK(*x.em_min > 4.749375e-07);  // vacuum is longer than air
    CHECK(x.em_xel == 500);
    CHECK(x.em_ucd == "em.wl");
    CHECK(x.facility_name == "ESO-VLT-U4");
    CHECK(x.instrument_name == "MUSE");
    CHECK(r.file.image_hdus == std::vector<int>{1, 2});  // DATA, STAT (FIELDMAP is 2-D)
    CHECK_THAT(*x.s_pixel_scale, WithinRel(0.2, 1e-4));
    CHECK(x.o_ucd == "phot.flux.density");
}

TEST_CASE("MUSE 1-D spectrum: spectrum with vacuum em range", "[extract]") {
    const auto r = extract("muse/udf10_00002_spectrum.fits");
    REQUIRE(r.ok());
    const auto& x = *r.record;
    CHECK(x.dataproduct_type == "spectrum");
    // astropy: air edges 4.749375e-07, 9.350625e-07 m -> Edlen vacuum as above
    CHECK_THAT(*x.em_min, WithinRel(4.750703311912e-07, 1e-9));
    CHECK_THAT(*x.em_max, WithinRel(9.353190559330e-07, 1e-9));
    CHECK(x.em_xel == 3681);
    CHECK_FALSE(x.s_ra.has_value());
    CHECK(r.file.image_hdus == std::vector<int>{1, 2});
}

TEST_CASE("WSRT NGC6946 HI cube: AIPS VELO-HEL axis with FREQ0", "[extract]") {
    const auto r = extract("radio/ngc6946_wsrt_hi_cube.fits");
    REQUIRE(r.ok());
    const auto& x = *r.record;
    CHECK(x.dataproduct_type == "cube");
    // astropy: WCS translates VELO-HEL to VOPT (m/s); with restfrq = FREQ0 = 1.42040575837e9,
    // sub([3]).wcs_pix2world([[-0.5],[100.5]],0) = -156900.004, 267299.977 m/s;
    // lambda = c/FREQ0 (1 + v/c) -> 2.109506781639e-01, 2.112493252077e-01 m
    CHECK_THAT(*x.em_min, WithinRel(2.109506781639e-01, 1e-9));
    CHECK_THAT(*x.em_max, WithinRel(2.112493252077e-01, 1e-9));
    // astropy: celestial.pixel_to_world(49.5, 49.5).icrs -> 308.725104986 60.150298804
    CHECK(sep_arcsec(*x.s_ra, *x.s_dec, 308.725104986, 60.150298804) < 0.05);
    // BMAJ = 1.82215739042E-02 deg
    CHECK_THAT(*x.s_resolution, WithinRel(1.82215739042e-02 * 3600, 1e-9));
    CHECK(x.instrument_name == "WSRT");
}

TEST_CASE("FCRAO L1448 cube (VOPT without a rest frequency) is still ingested", "[extract]") {
    const auto r = extract("radio/l1448_13co_fcrao_cube.fits");
    REQUIRE(r.ok());
    CHECK(r.record->dataproduct_type == "cube");
    CHECK(r.record->em_xel == 53);
    CHECK_FALSE(r.record->em_min.has_value());  // no RESTFRQ/RESTWAV/line keyword in the header
}

TEST_CASE("galactic-frame images are converted to ICRS", "[extract]") {
    // astropy: WCS(h).celestial.pixel_to_world(74, 74) (galactic) .icrs -> 266.407603002 -28.930490433
    const auto msx = extract("other/msx_e_gc.fits");
    REQUIRE(msx.ok());
    CHECK(sep_arcsec(*msx.record->s_ra, *msx.record->s_dec, 266.407603002, -28.930490433) < 0.1);
    // corners at pixel edges, astropy pixel_to_world(-0.5/148.5, ...).icrs:
    // (267.1863941, -28.7631024) (266.5975874, -29.6130482) (265.6263267, -29.0933822) (266.2201045, -28.2476695)
    const auto& reg = msx.record->s_region;
    REQUIRE(reg.size() == 4);
    const std::vector<std::pair<double, double>> expected = {
        {267.1863941, -28.7631024}, {266.5975874, -29.6130482}, {265.6263267, -29.0933822}, {266.2201045, -28.2476695}};
    for (const auto& e : expected) {
        double best = 1e9;
        for (const auto& v : reg) best = std::min(best, sep_arcsec(v.first, v.second, e.first, e.second));
        CHECK(best < 0.1);
    }
    // astropy: magpis_vla_20cm centre -> 272.198765193 -19.853053909
    const auto magpis = extract("radio/magpis_vla_20cm.fits");
    REQUIRE(magpis.ok());
    CHECK(sep_arcsec(*magpis.record->s_ra, *magpis.record->s_dec, 272.198765193, -19.853053909) < 0.1);
}

TEST_CASE("s_region winds counter-clockwise as in the DALI 1.1 example", "[extract]") {
    const auto r = extract("alma/ngc3256_alma_sv_co10_cube.fits");
    REQUIRE(r.ok());
    const auto& p = r.record->s_region;
    REQUIRE(p.size() == 4);
    // DALI 3.3.7 example (10 10, 10.2 10, 10.2 10.2, 10 10.2): RA increases
    // first, then Dec. Our polygon must turn the same way: the cross product
    // of the first two edges (in a local RA-east/Dec-north plane) is positive.
    const double c = std::cos(p[0].second * 3.14159265358979 / 180);
    const double e1x = (p[1].first - p[0].first) * c, e1y = p[1].second - p[0].second;
    const double e2x = (p[2].first - p[1].first) * c, e2y = p[2].second - p[1].second;
    CHECK(e1x * e2y - e1y * e2x > 0);
}

TEST_CASE("multi-extension products list their companion planes", "[extract]") {
    const auto gmos = extract("gmos/N20110927S0170_fringe_SCI_VAR_DQ.fits.header");
    REQUIRE(gmos.ok());
    CHECK(gmos.file.image_hdus == std::vector<int>{1, 2, 3});  // SCI, VAR, DQ of the first CCD
    const auto muse = extract("muse/IMAGE-HDFS-1.34.fits");
    REQUIRE(muse.ok());
    CHECK(muse.file.image_hdus == std::vector<int>{1, 2, 3});
    CHECK(muse.record->dataproduct_type == "image");
}

TEST_CASE("radio cube headers with STOKES and FREQ; polarisation list", "[extract]") {
    const auto q = extract("radio/possum_pilot1_1368MHz_q_cube.fits.header");
    REQUIRE(q.ok());
    CHECK(q.record->pol_states == "/Q/");
    CHECK(q.record->o_ucd == "phot.flux.density;phys.polarisation");
    CHECK(pol_states_from_stokes({4, 1, 3, 2}) == "/I/Q/U/V/");
    CHECK(pol_states_from_stokes({-6, -5}) == "/XX/YY/");
    CHECK(pol_states_from_stokes({0}) == "");
}

TEST_CASE("headers with real-world defects do not stop extraction", "[extract]") {
    for (const char* f :
         {"other/ptf_too_many_pv.hdr", "other/ptf_siponly.hdr", "other/ptf_tpvonly.hdr", "other/spitzer_irac_sip.hdr",
          "other/zpn-hole.hdr", "radio/sin_pv_outside_sky.hdr", "other/int_wfc_zpn_2wcses.hdr", "hst/acs_hst_sip.hdr",
          "radio/apex_cmz_h2co_cubewcs1.hdr", "other/cfht_sitelle_2384125p_cube.fits.header", "muse/origin-00026.fits",
          "hst/acs_dist_lookup.fits.gz", "other/rosat_allsky_ait.fits", "radio/ngc6946_wsrt_hi_cube.fits",
          "radio/cgps_MC2_HI_line_image.fits.header", "other/keck_deimos_spectrum_variance.fits"}) {
        INFO(f);
        ExtractResult r;
        REQUIRE_NOTHROW(r = extract(f));
        CHECK(r.ok());
    }
    // TPV+SIP: still a position (astropy: WCS(h) centre of ptf_too_many_pv within arcsec of CRVAL)
    const auto pv = extract("other/ptf_too_many_pv.hdr");
    REQUIRE(pv.record->s_ra.has_value());
    // origin-00026: STAT has a 3rd (AWAV) axis on a 2-D image; product is the 25x25 white-light image
    const auto origin = extract("muse/origin-00026.fits");
    CHECK(origin.record->dataproduct_type == "image");
    CHECK(origin.record->s_xel1 == 25);
}

TEST_CASE("files that cannot be products are skipped with a reason", "[extract]") {
    for (const char* f :
         {"radio/alfalfa_hi_spectrum.fits", "other/gemini_igrins2_N20240429S0122_hdronly.fits",
          "muse/MUSE.2017-06-16T01:34:56.867_IMAGE_FOV_hdronly.fits", "radio/vlass1.2_ql_image.fits.header",
          "hst/wfc3_ia1d23dmq_flt_hlet.fits", "radio/casa_322MHz_sub-segfault.hdr"}) {
        INFO(f);
        const auto r = extract(f);
        CHECK_FALSE(r.ok());
        CHECK(r.skip_reason.find("no image HDU with pixel data") != std::string::npos);
    }
    const auto missing = extract_product("/nonexistent/file.fits", options());
    CHECK_FALSE(missing.ok());
    CHECK_FALSE(missing.skip_reason.empty());
    // A text file that is not FITS.
    const auto bad = extract_product(std::string(VO_SHARED_DIR) + "/data/fits/PROVENANCE.md", options());
    CHECK_FALSE(bad.ok());
    CHECK(bad.skip_reason.find("FITS") != std::string::npos);
}

TEST_CASE("helpers: MJD, obs_id, URL encoding, o_ucd", "[extract]") {
    // astropy: Time('2014-10-31T03:39:46', scale='utc').mjd = 56961.15261574074
    CHECK_THAT(*mjd_from_iso("2014-10-31T03:39:46"), WithinAbs(56961.15261574074, 1e-9));
    CHECK_THAT(*mjd_from_iso("2016-06-16 10:26:20"), WithinAbs(57555.434953703704, 1e-9));
    CHECK(mjd_from_iso("2000-01-01") == 51544.0);
    CHECK(mjd_from_iso("12/05/98") == *mjd_from_iso("1998-05-12"));
    CHECK_FALSE(mjd_from_iso("yesterday").has_value());
    CHECK(obs_id_from_path("/a/b/udf_mosaic_subcube.fits") == "udf_mosaic_subcube");
    CHECK(obs_id_from_path("dss.fits.gz") == "dss");
    CHECK(obs_id_from_path("x/phangs_ngc2903_7m+tp_co21.fits.header") == "phangs_ngc2903_7m+tp_co21");
    CHECK(url_encode("ivo://a/b?c d") == "ivo%3A%2F%2Fa%2Fb%3Fc%20d");
    CHECK(o_ucd_from_bunit("Jy/beam") == "phot.flux.density");
    CHECK(o_ucd_from_bunit("10**(-20)*erg/s/cm**2/Angstrom") == "phot.flux.density");
    CHECK(o_ucd_from_bunit("MJy/sr") == "phot.flux.sb");
    CHECK(o_ucd_from_bunit("ELECTRONS/S") == "arith.rate;phot.count");
    CHECK(o_ucd_from_bunit("km/s") == "spect.dopplerVeloc");
    CHECK_FALSE(o_ucd_from_bunit("").has_value());
    // astropy-independent: air 5000 A -> vacuum, Edlen: 5001.394 A
    CHECK_THAT(air_to_vacuum(5000e-10), WithinAbs(5001.394e-10, 0.002e-10));
}
