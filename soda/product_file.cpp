// The product file: opening it, the facts of its HDUs (each header checked
// before anything parses it), the choice of the HDUs to cut and their WCS.
// SODA 1.0 section 3.3 (what the filters apply to). See cutout_internal.hpp.
#include <fitsio.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "fits/cfitsio_open.hpp"
#include "fits/header.hpp"
#include "fits/header_check.hpp"
#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {
using fits::data_unit_bytes;
using fits::header_defect;

[[noreturn]] void fits_fail(const std::string& what, int status) {
    char msg[FLEN_STATUS];
    fits_get_errstatus(status, msg);
    fits_clear_errmsg();
    throw SodaError(500, "Error", "", what + ": CFITSIO: " + msg);
}

bool is_gzip(const std::string& path) {
    unsigned char magic[2] = {0, 0};
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    const std::size_t n = std::fread(magic, 1, 2, f);
    std::fclose(f);
    return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

FitsPtr open_fits(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw SodaError(404, "UsageError", "ID", "the product file is not available");
    fitsfile* f = nullptr;
    int status = 0;
    // fits_open_diskfile: no extended-filename parsing (paths may contain [ ] :),
    // but it does not decompress; gzip files go through fits_open_file.
    if (is_gzip(path)) {
        fits::open_compressed_file(&f, path, &status);
    } else {
        fits::open_diskfile(&f, path, &status);
    }
    if (status) fits_fail("cannot open the product file", status);
    return FitsPtr(f);
}

namespace {

/// Throws SodaError(500, "Error") "the product file is damaged: HDU <hdu>: <why>".
[[noreturn]] void damaged(int hdu, const std::string& why) {
    throw SodaError(500, "Error", "", "the product file is damaged: HDU " + std::to_string(hdu) + ": " + why);
}

/// Reads the facts of one HDU. The header text is checked (header_defect)
/// and the data size computed without overflow before anything relies on
/// them; `file_size` (nullopt for a gzip file, inflated by CFITSIO) bounds the
/// data unit. Throws SodaError(500) for a damaged file.
HduInfo read_hdu(fitsfile* f, int hdu, std::optional<std::uint64_t> file_size) {
    HduInfo h;
    h.hdu = hdu;
    int status = 0, type = 0;
    fits_movabs_hdu(f, hdu + 1, &type, &status);
    if (status) fits_fail("cannot read HDU " + std::to_string(hdu), status);
    auto header_cards = [&](bool converted) {
        char* header = nullptr;
        int nkeys = 0, st = 0;
        if (converted)
            fits_convert_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
        else
            fits_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
        if (st) fits_fail("cannot read the header of HDU " + std::to_string(hdu), st);
        std::vector<std::string> cards;
        for (int i = 0; i < nkeys; ++i) cards.emplace_back(header + 80 * i, 80);
        fits_free_memory(header, &st);
        return cards;
    };
    // The file's own header first: nothing parses it before this check.
    const std::vector<std::string> raw = header_cards(false);
    const std::string raw_text = card_block(raw);
    if (const auto defect = header_defect(raw_text)) damaged(hdu, "invalid header: " + *defect);
    const auto raw_bytes = data_unit_bytes(raw_text);
    if (!raw_bytes)
        damaged(hdu,
                "the data size |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) cannot be computed or does not "
                "fit in 64 bits (FITS 4.0 section 4.4.1.1)");
    status = 0;
    const bool compressed = type == IMAGE_HDU && fits_is_compressed_image(f, &status) != 0;
    status = 0;
    h.cards = compressed ? header_cards(true) : raw;
    if (compressed) {
        const std::string text = card_block(h.cards);
        if (const auto defect = header_defect(text)) damaged(hdu, "invalid header: " + *defect);
        if (!data_unit_bytes(text)) damaged(hdu, "the uncompressed image size does not fit in 64 bits");
    }
    LONGLONG headstart = 0, datastart = 0, dataend = 0;
    fits_get_hduaddrll(f, &headstart, &datastart, &dataend, &status);
    if (status) fits_fail("cannot locate the data of HDU " + std::to_string(hdu), status);
    status = 0;
    h.data_start = datastart;
    if (file_size && (datastart < 0 || static_cast<std::uint64_t>(datastart) > *file_size ||
                      static_cast<std::uint64_t>(*raw_bytes) > *file_size - static_cast<std::uint64_t>(datastart)))
        damaged(hdu, "truncated: the data unit (" + std::to_string(*raw_bytes) + " bytes from byte " +
                         std::to_string(datastart) + ") ends beyond the end of the file (" +
                         std::to_string(*file_size) + " bytes)");
    h.extname = find_string(h.cards, "EXTNAME");
    if (type == IMAGE_HDU) {
        int naxis = 0;
        long naxes[9] = {0};
        fits_get_img_param(f, 9, &h.bitpix, &naxis, naxes, &status);
        if (status) fits_fail("cannot read the image parameters of HDU " + std::to_string(hdu), status);
        h.naxes.assign(naxes, naxes + std::min(naxis, 9));
        h.compressed = compressed;
        h.image = !h.naxes.empty() && std::all_of(h.naxes.begin(), h.naxes.end(), [](long n) { return n > 0; });
    }
    return h;
}

/// True unless both HDUs have CRPIX1/2 or CRVAL1/2 values that differ by more
/// than 1e-9 relative (absolute below 1): the same celestial grid.
bool same_celestial_reference(const HduInfo& a, const HduInfo& b) {
    for (const char* base : {"CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2"}) {
        const auto va = find_number(a.cards, base), vb = find_number(b.cards, base);
        if (va && vb && std::fabs(*va - *vb) > 1e-9 * std::max(1.0, std::fabs(*va))) return false;
    }
    return true;
}

/// True if CTYPE1 starts with 'RA--' or 'GLON' (a celestial image).
bool has_celestial_ctype(const HduInfo& h) {
    const std::string c1 = find_string(h.cards, "CTYPE1");
    return c1.rfind("RA--", 0) == 0 || c1.rfind("GLON", 0) == 0;
}

}  // namespace

std::vector<HduInfo> select_hdus(fitsfile* f, const std::string& path, const std::vector<int>& image_hdus,
                                 HduInfo& primary) {
    std::optional<std::uint64_t> file_size;
    if (!is_gzip(path)) {
        std::error_code ec;
        const auto n = std::filesystem::file_size(path, ec);
        if (!ec) file_size = n;
    }
    int nhdu = 0, status = 0;
    fits_get_num_hdus(f, &nhdu, &status);
    if (status) fits_fail("cannot count HDUs", status);
    std::vector<HduInfo> all;
    for (int i = 0; i < nhdu; ++i) all.push_back(read_hdu(f, i, file_size));
    primary = all[0];
    std::vector<HduInfo> out;
    if (!image_hdus.empty()) {
        for (int i : image_hdus) {
            if (i < 0 || i >= nhdu || !all[i].image)
                throw SodaError(500, "Error", "", "HDU " + std::to_string(i) + " is not an image with data");
            if (!out.empty() && all[i].naxes != out.front().naxes)
                throw SodaError(
                    500, "Error", "",
                    "HDU " + std::to_string(i) + " has another shape than HDU " + std::to_string(out.front().hdu));
            out.push_back(all[i]);
        }
    } else {
        const HduInfo* ref = nullptr;
        for (const auto& h : all)
            if (h.image && h.naxes.size() >= 2 && has_celestial_ctype(h)) {
                ref = &h;
                break;
            }
        if (!ref)
            for (const auto& h : all)
                if (h.image) {
                    ref = &h;
                    break;
                }
        if (!ref) throw SodaError(400, "UsageError", "ID", "the product has no image HDU with data to cut");
        out.push_back(*ref);
        for (const auto& h : all)
            if (h.hdu != ref->hdu && h.image && h.naxes == ref->naxes && same_celestial_reference(*ref, h))
                out.push_back(h);
    }
    // HDU 0 (if cut) must stay first: it is the only one that can be primary.
    std::stable_sort(out.begin(), out.end(),
                     [](const HduInfo& a, const HduInfo& b) { return (a.hdu == 0) > (b.hdu == 0); });
    return out;
}

fits::Wcs load_wcs(const HduInfo& h) { return fits::Wcs::load(fits::FitsHeader(card_block(h.cards)), h.naxes, h.hdu); }

}  // namespace vo::soda::detail
