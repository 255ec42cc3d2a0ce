// Hidden benchmark (run explicitly: build-soda/soda_tests "[.bench]"), see
// bench/soda/run.sh. Issue 4 benchmark on a PHANGS/MUSE-format cube of
// 160 x 160 x 3681 (DATA float32, STAT float32, DQ int16; ~0.94 GB), written
// once to $VO_SODA_BENCH_FILE (default /tmp/voserver_soda_bench.fits):
// (a) CIRCLE 5 arcsec over all channels, (b) the same with a 5 nm BAND.
// Output goes to a counting sink (no HTTP): engine time only. In the same
// run, interleaved with (a), read() of the same number of bytes from the same
// file (the dd/cat reference of the issue). Wall and CPU (user + system) times.
#include <catch2/catch.hpp>

#include <fitsio.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "soda/cutout.hpp"

using namespace vo::soda;

namespace {
std::string bench_file() {
    const char* e = std::getenv("VO_SODA_BENCH_FILE");
    return e && *e ? e : "/tmp/voserver_soda_bench.fits";
}

void make_cube(const std::string& path) {
    if (std::filesystem::exists(path)) return;
    fitsfile* f = nullptr;
    int status = 0;
    fits_create_file(&f, path.c_str(), &status);
    fits_create_img(f, 8, 0, nullptr, &status);
    long naxes[3] = {160, 160, 3681};
    const char* names[3] = {"DATA", "STAT", "DQ"};
    for (int e = 0; e < 3; ++e) {
        fits_create_img(f, e == 2 ? SHORT_IMG : FLOAT_IMG, 3, naxes, &status);
        fits_write_key_str(f, "EXTNAME", names[e], nullptr, &status);
        const char* ct[3] = {"RA---TAN", "DEC--TAN", "AWAV"};
        double crval[3] = {150.0, 2.0, 4749.75}, crpix[3] = {80.5, 80.5, 1}, cdelt[3] = {-0.2 / 3600, 0.2 / 3600, 1.25};
        const char* cu[3] = {"deg", "deg", "Angstrom"};
        for (int i = 0; i < 3; ++i) {
            std::string n = std::to_string(i + 1);
            fits_write_key_str(f, ("CTYPE" + n).c_str(), ct[i], nullptr, &status);
            fits_write_key_dbl(f, ("CRVAL" + n).c_str(), crval[i], 15, nullptr, &status);
            fits_write_key_dbl(f, ("CRPIX" + n).c_str(), crpix[i], 15, nullptr, &status);
            fits_write_key_dbl(f, ("CDELT" + n).c_str(), cdelt[i], 15, nullptr, &status);
            fits_write_key_str(f, ("CUNIT" + n).c_str(), cu[i], nullptr, &status);
        }
        std::vector<float> plane(160 * 160);
        std::vector<short> splane(plane.size());
        for (long z = 0; z < 3681; ++z) {
            for (std::size_t k = 0; k < plane.size(); ++k)
                plane[k] = static_cast<float>(k + z), splane[k] = static_cast<short>(k % 3);
            const LONGLONG first = z * 160 * 160 + 1;
            if (e == 2)
                fits_write_img(f, TSHORT, first, 160 * 160, splane.data(), &status);
            else
                fits_write_img(f, TFLOAT, first, 160 * 160, plane.data(), &status);
        }
    }
    fits_close_file(f, &status);
    REQUIRE(status == 0);
}

long peak_rss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/// CPU time (user + system) of this process so far, in seconds: on a loaded
/// shared machine it varies much less than wall time.
double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

struct Timing {
    double wall = 0, cpu = 0;
};

Timing run(const std::string& file, const Params& p, std::uint64_t& bytes) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    auto cut = plan_cutout(file, {}, p);
    bytes = 0;
    cut.write([&](const char*, std::size_t n) {
        bytes += n;
        return true;
    });
    const Timing t{std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_seconds() - c0};
    REQUIRE(bytes == cut.size_bytes());
    return t;
}

/// The physical reference of the issue (dd bs=1M / cat): read() of `bytes`
/// bytes from the start of the file into a 1 MiB buffer.
Timing read_reference(const std::string& file, std::uint64_t bytes) {
    std::vector<char> buf(1u << 20);
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = ::open(file.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::uint64_t done = 0;
    while (done < bytes) {
        const ssize_t n =
            ::read(fd, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), bytes - done)));
        if (n <= 0) break;
        done += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    REQUIRE(done == bytes);
    return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_seconds() - c0};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
}  // namespace

TEST_CASE("issue 4 benchmark", "[.bench]") {
    const std::string file = bench_file();
    make_cube(file);
    Params a = parse_params({{"CIRCLE", "150.0 2.0 0.00138889"}});
    Params b = parse_params({{"CIRCLE", "150.0 2.0 0.00138889"}, {"BAND", "6.5e-7 6.55e-7"}});
    std::uint64_t bytes_a = 0, bytes_b = 0;
    run(file, a, bytes_a);  // warm the page cache
    const int na = 7, nb = 30;
    std::vector<double> wa, ca, wr, cr, wb, cb;
    for (int i = 0; i < na; ++i) {
        const Timing t = run(file, a, bytes_a);
        wa.push_back(t.wall), ca.push_back(t.cpu);
        const Timing r = read_reference(file, bytes_a);  // interleaved: same machine load
        wr.push_back(r.wall), cr.push_back(r.cpu);
    }
    for (int i = 0; i < nb; ++i) {
        const Timing t = run(file, b, bytes_b);
        wb.push_back(t.wall), cb.push_back(t.cpu);
    }
    const double mb_a = bytes_a / 1e6;
    const double best_a = *std::min_element(wa.begin(), wa.end()), best_r = *std::min_element(wr.begin(), wr.end());
    std::printf("(a) CIRCLE 5\": %.1f MB out; wall best %.1f ms (%.0f MB/s), median %.1f ms; cpu median %.1f ms\n",
                mb_a, best_a * 1e3, mb_a / best_a, median(wa) * 1e3, median(ca) * 1e3);
    std::printf("    read() of the same bytes: wall best %.1f ms (%.0f MB/s), median %.1f ms; cpu median %.1f ms\n",
                best_r * 1e3, mb_a / best_r, median(wr) * 1e3, median(cr) * 1e3);
    std::printf("    throughput ratio cutout/read: best %.2f, median %.2f\n", best_r / best_a, median(wr) / median(wa));
    std::printf("(b) CIRCLE 5\" + BAND 5 nm: %.2f MB out; wall best %.3f ms, median %.3f ms; cpu median %.3f ms\n",
                bytes_b / 1e6, *std::min_element(wb.begin(), wb.end()) * 1e3, median(wb) * 1e3, median(cb) * 1e3);
    std::printf("peak RSS of the test process: %.1f MB\n", peak_rss_kb() / 1024.0);
    std::printf("BYTES_A=%llu\n", static_cast<unsigned long long>(bytes_a));
}

// Case (b) alone, 5 times, for instruction counts that the machine's load does
// not disturb: valgrind --tool=callgrind build-soda2/soda_tests "[.bench-b]"
TEST_CASE("issue 4 benchmark, case (b) only", "[.bench-b]") {
    const std::string file = bench_file();
    make_cube(file);
    Params b = parse_params({{"CIRCLE", "150.0 2.0 0.00138889"}, {"BAND", "6.5e-7 6.55e-7"}});
    std::uint64_t bytes = 0;
    for (int i = 0; i < 5; ++i) run(file, b, bytes);
    // 51 x 51 x 41 pixels: DATA and STAT 426564 bytes each, DQ 213282, each padded
    // to 2880-byte blocks (429120, 429120, 216000), plus 4 headers of 4 blocks.
    CHECK(bytes == 1120320);
}
