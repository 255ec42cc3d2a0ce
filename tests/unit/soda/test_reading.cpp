// Exactness of the cutout data path of Cutout::write (soda/output.cpp,
// soda/reading.hpp) on generated cubes large enough to use every reading
// strategy:
// - data of one HDU larger than the part kept from the checksum pass (24 MiB),
//   so the rest is read a second time from a saved cursor;
// - box rows with small gaps (one pread over the rows of a plane), full rows
//   merged into long runs (read straight into the output), and rows too far
//   apart (one pread per row);
// - the same through CFITSIO for a tile-compressed copy.
// The reference is CFITSIO itself: fits_read_subset of the input over the same
// 1-based ranges, and fits_verify_chksum of every output HDU.
#include <catch2/catch.hpp>

#include <fitsio.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "soda/cutout.hpp"

using namespace vo::soda;

namespace {

std::filesystem::path work_dir() {
    const char* env = std::getenv("VO_SODA_OUT");
    std::filesystem::path d = env && *env ? env : "/tmp/voserver_soda_out";
    std::filesystem::create_directories(d);
    return d;
}

/// Primary HDU without data, then IMAGE extensions "DATA" (BITPIX 32, value
/// 7 * k + 3 at 0-based linear index k) and "DQ" (BITPIX 16, k % 30011 - 15000),
/// both of shape nx x ny x nz.
void make_cube(const std::string& path, long nx, long ny, long nz) {
    std::filesystem::remove(path);
    fitsfile* f = nullptr;
    int status = 0;
    fits_create_file(&f, path.c_str(), &status);
    fits_create_img(f, 8, 0, nullptr, &status);
    long naxes[3] = {nx, ny, nz};
    for (int e = 0; e < 2; ++e) {
        fits_create_img(f, e == 0 ? LONG_IMG : SHORT_IMG, 3, naxes, &status);
        fits_write_key_str(f, "EXTNAME", e == 0 ? "DATA" : "DQ", nullptr, &status);
        std::vector<int> iv(static_cast<std::size_t>(nx * ny));
        std::vector<short> sv(iv.size());
        for (long z = 0; z < nz; ++z) {
            for (std::size_t j = 0; j < iv.size(); ++j) {
                const long long k = z * nx * ny + static_cast<long long>(j);
                iv[j] = static_cast<int>(7 * k + 3);
                sv[j] = static_cast<short>(k % 30011 - 15000);
            }
            const LONGLONG first = z * nx * ny + 1;
            if (e == 0)
                fits_write_img(f, TINT, first, static_cast<LONGLONG>(iv.size()), iv.data(), &status);
            else
                fits_write_img(f, TSHORT, first, static_cast<LONGLONG>(sv.size()), sv.data(), &status);
        }
    }
    fits_close_file(f, &status);
    REQUIRE(status == 0);
}

/// Writes the cutout of `input` by PIXEL_1..3 = [lo[i], hi[i]] to `output` and
/// checks it against CFITSIO: both extensions, values and checksums.
void check_cut(const std::string& input, const std::string& output, const long lo[3], const long hi[3]) {
    INFO("input " << input << " box " << lo[0] << ":" << hi[0] << "," << lo[1] << ":" << hi[1] << "," << lo[2] << ":"
                  << hi[2]);
    std::multimap<std::string, std::string> req;
    for (int i = 0; i < 3; ++i)
        req.emplace("PIXEL_" + std::to_string(i + 1), std::to_string(lo[i]) + " " + std::to_string(hi[i]));
    Cutout cut = plan_cutout(input, {}, parse_params(req));
    REQUIRE(cut.hdus().size() == 3);
    {
        std::ofstream os(output, std::ios::binary);
        std::uint64_t n = 0;
        REQUIRE(cut.write([&](const char* p, std::size_t k) {
            os.write(p, static_cast<std::streamsize>(k));
            n += k;
            return true;
        }));
        CHECK(n == cut.size_bytes());
    }
    fitsfile *in = nullptr, *out = nullptr;
    int status = 0, type = 0;
    fits_open_file(&in, input.c_str(), READONLY, &status);
    fits_open_file(&out, output.c_str(), READONLY, &status);
    REQUIRE(status == 0);
    const LONGLONG npix = (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1);
    for (int hdu = 1; hdu <= 3; ++hdu) {
        fits_movabs_hdu(out, hdu, &type, &status);
        int dataok = 0, hduok = 0;
        fits_verify_chksum(out, &dataok, &hduok, &status);
        CHECK(dataok == 1);
        CHECK(hduok == 1);
    }
    for (int hdu = 2; hdu <= 3; ++hdu) {
        fits_movabs_hdu(in, hdu, &type, &status);
        fits_movabs_hdu(out, hdu, &type, &status);
        long fpixel[3] = {lo[0], lo[1], lo[2]}, lpixel[3] = {hi[0], hi[1], hi[2]}, inc[3] = {1, 1, 1};
        std::vector<long long> expected(static_cast<std::size_t>(npix)), got(static_cast<std::size_t>(npix));
        int anynul = 0;
        fits_read_subset(in, TLONGLONG, fpixel, lpixel, inc, nullptr, expected.data(), &anynul, &status);
        fits_read_img(out, TLONGLONG, 1, npix, nullptr, got.data(), &anynul, &status);
        REQUIRE(status == 0);
        CHECK(got == expected);
    }
    fits_close_file(out, &status);
    fits_close_file(in, &status);
    std::filesystem::remove(output);
}

}  // namespace

TEST_CASE("large and sparse cutouts are read exactly with valid checksums", "[soda][cutout][reading]") {
    const auto dir = work_dir();
    // 200 x 200 x 220 int32 = 35.2 MB of DATA.
    const std::string big = (dir / "gen_big_input.fits").string();
    make_cube(big, 200, 200, 220);
    {
        // DATA out: 180 x 192 x 220 x 4 = 30.4 MB > 24 MiB: second read from the
        // saved cursor; rows 80 bytes apart: one pread per plane's rows.
        const long lo[3] = {11, 5, 1}, hi[3] = {190, 196, 220};
        check_cut(big, (dir / "gen_big_cut1.fits").string(), lo, hi);
    }
    {
        // Full rows: each plane's 101 rows merge into one 80.8 kB run, read
        // straight into the output; a single odd plane range.
        const long lo[3] = {1, 50, 3}, hi[3] = {200, 150, 217};
        check_cut(big, (dir / "gen_big_cut2.fits").string(), lo, hi);
    }
    {
        // The same through CFITSIO for a Rice tile-compressed copy (lossless for
        // integers), also larger than the retained part.
        const std::string packed = (dir / "gen_big_input_rice.fits").string();
        std::filesystem::remove(packed);
        fitsfile *in = nullptr, *out = nullptr;
        int status = 0;
        fits_open_file(&in, big.c_str(), READONLY, &status);
        fits_create_file(&out, (packed + "[compress R 200,200,1]").c_str(), &status);
        fits_copy_file(in, out, 1, 1, 1, &status);
        fits_close_file(out, &status);
        fits_close_file(in, &status);
        REQUIRE(status == 0);
        const long lo[3] = {11, 5, 1}, hi[3] = {190, 196, 220};
        check_cut(packed, (dir / "gen_big_cut3.fits").string(), lo, hi);
        std::filesystem::remove(packed);
    }
    std::filesystem::remove(big);

    // 6000 x 30 x 3: rows of 24 kB.
    const std::string wide = (dir / "gen_wide_input.fits").string();
    make_cube(wide, 6000, 30, 3);
    {
        // 21-pixel rows 23.9 kB apart (more than the 16 kB read over): one pread
        // per row.
        const long lo[3] = {100, 2, 1}, hi[3] = {120, 29, 3};
        check_cut(wide, (dir / "gen_wide_cut1.fits").string(), lo, hi);
    }
    {
        // 5000-pixel rows 4 kB apart, odd start: the rows of a plane (about
        // 100 kB for DQ, over 300 kB for DATA) through the 1 MiB span buffer.
        const long lo[3] = {3, 1, 2}, hi[3] = {5002, 30, 3};
        check_cut(wide, (dir / "gen_wide_cut2.fits").string(), lo, hi);
    }
    std::filesystem::remove(wide);
}
