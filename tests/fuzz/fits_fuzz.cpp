// libFuzzer target for FITS header ingestion (obscore/header_text.hpp:
// split_header_text, FitsHeader; obscore/fits_extract.hpp:
// extract_from_header_text, extract_product), i.e. what `voserver ingest`
// does with a header dump or a FITS file it finds: CFITSIO reading, WCSLIB
// wcspih/wcsfix/wcsset, and the ObsCore derivations. Every input must end in
// a row or a skip_reason (extract_* never throw for bad content), never a
// crash, a leak, a sanitizer report or an exception. Built and run by
// tests/fuzz/build_and_run.sh, seeded with the real headers and the first
// blocks of the files under ../shared/data/fits.
//
// Input layout: byte 0 selects the mode, the rest is the content.
//   bit 0 = 0: the content is a header-only dump (`.hdr` raw 80-character
//     records, or `.fits.header` text, one card per line):
//     split_header_text, look-ups in each card block, then
//     extract_from_header_text.
//   bit 0 = 1: the content is a FITS file: it is written to a memfd and
//     extract_product reads it through /proc/self/fd/N with CFITSIO.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "obscore/fits_extract.hpp"
#include "obscore/header_text.hpp"

namespace {

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "fits_fuzz: %s\n", what.c_str());
    std::abort();
}

const vo::obscore::IngestOptions& options() {
    static const vo::obscore::IngestOptions o = [] {
        vo::obscore::IngestOptions x;
        x.collection = "fuzz";
        x.authority = "fuzz.example";
        return x;
    }();
    return o;
}

void check(const vo::obscore::ExtractResult& r) {
    if (r.ok() == !r.skip_reason.empty()) fail("extraction gave both or neither of a row and a skip reason");
}

void header_text(std::string_view content) {
    const std::vector<std::string> blocks = vo::obscore::split_header_text(content);
    for (const std::string& b : blocks) {
        if (b.size() % 80 != 0 || b.size() < 80) fail("split_header_text returned a block that is not whole cards");
        const vo::obscore::FitsHeader h(b);
        for (const char* key : {"NAXIS", "NAXIS1", "CTYPE1", "CRVAL1", "BUNIT", "DATE-OBS", "ESO OBS TARG NAME",
                                "OBJECT", "SIMPLE", "ZIMAGE"}) {
            (void)h.has(key);
            (void)h.get_string(key);
            (void)h.get_double(key);
            (void)h.get_int(key);
            (void)h.get_bool(key);
        }
        if (const auto d = h.get_string("DATE-OBS")) (void)vo::obscore::mjd_from_iso(*d);
    }
    check(vo::obscore::extract_from_header_text(blocks, "fuzz.fits.header", static_cast<std::int64_t>(content.size()),
                                                options()));
}

void fits_file(std::string_view content) {
    static const int fd = [] {
        const int f = ::memfd_create("fits_fuzz", 0);
        if (f < 0) fail("memfd_create failed");
        return f;
    }();
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (::ftruncate(fd, 0) != 0) fail("ftruncate failed");
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::pwrite(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
        if (n <= 0) fail("pwrite failed");
        done += static_cast<std::size_t>(n);
    }
    check(vo::obscore::extract_product(path, options()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view content(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (data[0] & 1)
            fits_file(content);
        else
            header_text(content);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fits_fuzz: extraction threw: %s\n", e.what());
        std::abort();
    }
    return 0;
}
