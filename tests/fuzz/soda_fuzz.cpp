// libFuzzer target for the SODA 1.0 request parameters (soda/params.hpp:
// parse_params, parse_numbers, Params::describe), the sky-region geometry
// built from them (soda/sky.hpp: RegionGeometry), and, for some inputs, a
// cutout planned and written with them from a small real FITS file of
// ../shared/data/fits (soda/cutout.hpp: plan_cutout, Cutout::write). Every
// input must end in success or a SodaError, never a crash, a leak, a
// sanitizer report or another exception; a written cutout must be exactly
// size_bytes() long. Built and run by tests/fuzz/build_and_run.sh.
//
// Input layout: byte 0 selects what runs; the rest is one parameter per line,
// "NAME=value" (no URL decoding: the value reaches parse_params as sent, the
// name is upper-cased as the server's soda_parameter_map does).
//   bits 0 and 5 both set: also plan and write a cutout (a quarter of the
//   inputs, so that the fast parameter checks get most of the executions);
//   bits 1-3: which product file (see kProducts); bit 4: force META=true
//   (headers only, no pixel read).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

#include "soda/cutout.hpp"
#include "soda/params.hpp"
#include "soda/sky.hpp"

namespace {

using vo::soda::SodaError;

// Small products of different kinds: SIN image, TAN image, TAN-SIP image,
// AWAV spectrum in an extension, WFPC2 image extension, and an ALMA cube
// (cut with META=true only: its data are 3 MB).
constexpr const char* kProducts[] = {
    "radio/first_vla_cutout.fits", "radio/jcmt_harp_13CO_3-2_integ.fits",
    "other/apogee_sip-wcs.fits",   "muse/udf10_00002_spectrum.fits",
    "hst/wfpc2_test0.fits",        "alma/ngc3256_alma_sv_co10_cube.fits",
    "radio/first_vla_cutout.fits", "other/apogee_sip-wcs.fits",
};
constexpr int kMetaOnlyProduct = 5;

std::string fits_dir() {
    if (const char* d = std::getenv("VO_FUZZ_FITS_DIR")) return d;
#ifdef VO_FUZZ_FITS_DIR_DEFAULT
    return VO_FUZZ_FITS_DIR_DEFAULT;
#else
    return "../shared/data/fits";
#endif
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "soda_fuzz: %s\n", what.c_str());
    std::abort();
}

void exercise_geometry(const vo::soda::Params& params) {
    for (const auto& region : params.regions) {
        try {
            vo::soda::RegionGeometry g(region);
            for (double t = 0.0; t <= 1.0; t += 0.125) {
                const auto [lon, lat] = g.boundary_point(t);
                (void)g.contains(lon, lat);
            }
            for (const auto& [lon, lat] : g.anchors()) (void)g.contains(lon, lat);
            (void)g.contains(0.0, 90.0);
            (void)g.contains(359.999, -89.0);
        } catch (const SodaError&) {
        }
    }
}

void exercise_cutout(const vo::soda::Params& params, std::uint8_t mode) {
    const int which = (mode >> 1) & 7;
    const std::string path = fits_dir() + "/" + kProducts[which];
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;  // no shared data: parameters only
    vo::soda::Params p = params;
    if ((mode & 0x10) || which == kMetaOnlyProduct) p.meta = true;
    try {
        vo::soda::Cutout cut = vo::soda::plan_cutout(path, {}, p);
        (void)cut.filename();
        (void)cut.content_type();
        std::uint64_t written = 0;
        const bool done = cut.write([&](const char*, std::size_t n) {
            written += n;
            return true;
        });
        if (!done || written != cut.size_bytes())
            fail("cutout wrote " + std::to_string(written) + " bytes, planned " + std::to_string(cut.size_bytes()));
    } catch (const SodaError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    std::multimap<std::string, std::string> dali;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        const std::size_t eq = line.find('=');
        std::string name(line.substr(0, eq));
        for (char& c : name)
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        dali.emplace(std::move(name), eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1)));
    }
    try {
        const vo::soda::Params params = vo::soda::parse_params(dali);
        (void)params.describe();
        (void)params.empty();
        exercise_geometry(params);
        if ((mode & 0x21) == 0x21) exercise_cutout(params, mode);
    } catch (const SodaError&) {
        // the expected outcome for a bad request
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception (not SodaError): %s\n", e.what());
        std::abort();
    }
    return 0;
}
