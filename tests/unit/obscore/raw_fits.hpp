// Test helper: FITS files written byte by byte (2880-byte blocks of
// 80-character cards, FITS 4.0 sections 3.1 and 4.1), so that a test can build
// headers that CFITSIO would refuse to write (an unterminated string, NaN
// values, a NAXISn that overflows the data size). Shared by obscore_tests and
// soda_tests (header-only, standard library + POSIX popen for gzip).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.hpp"

namespace vo::testing {

/// One card, padded (or cut) to 80 characters.
inline std::string card(std::string text) {
    text.resize(80, ' ');
    return text;
}

/// A value card "KEY     = value" (value right-justified to column 30 like
/// CFITSIO writes numbers, or as given for strings).
inline std::string value_card(const std::string& key, const std::string& value) {
    std::string k = key;
    k.resize(8, ' ');
    std::string v = value;
    if (!v.empty() && v[0] != '\'' && v.size() < 20) v = std::string(20 - v.size(), ' ') + v;
    return card(k + "= " + v);
}

/// One HDU: its cards (END is appended by write_raw_fits unless `no_end`)
/// and its data bytes (padded with zeros to 2880).
struct RawHdu {
    std::vector<std::string> cards;
    std::string data;
    bool no_end = false;
};

/// The bytes of a FITS file made of `hdus`.
inline std::string raw_fits_bytes(const std::vector<RawHdu>& hdus) {
    std::string out;
    for (const auto& h : hdus) {
        std::string header;
        for (const auto& c : h.cards) header += card(c);
        if (!h.no_end) header += card("END");
        header.resize((header.size() + 2879) / 2880 * 2880, ' ');
        out += header;
        std::string data = h.data;
        data.resize((data.size() + 2879) / 2880 * 2880, '\0');
        out += data;
    }
    return out;
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream os(path, std::ios::binary);
    os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!os) throw std::runtime_error("cannot write " + path.string());
}

/// Writes a FITS file made of `hdus`.
inline void write_raw_fits(const std::filesystem::path& path, const std::vector<RawHdu>& hdus) {
    write_bytes(path, raw_fits_bytes(hdus));
}

/// Header of a primary image with a TAN celestial WCS around (150, 2) deg,
/// BITPIX -32, axes `naxes`; `extra` cards are inserted before the WCS
/// cards, `replace` (keyword -> full card) replaces a WCS card.
inline std::vector<std::string> image_cards(const std::vector<long long>& naxes,
                                            const std::vector<std::string>& extra = {},
                                            const std::vector<std::pair<std::string, std::string>>& replace = {}) {
    std::vector<std::string> c = {value_card("SIMPLE", "T"), value_card("BITPIX", "-32"),
                                  value_card("NAXIS", std::to_string(naxes.size()))};
    for (std::size_t i = 0; i < naxes.size(); ++i)
        c.push_back(value_card("NAXIS" + std::to_string(i + 1), std::to_string(naxes[i])));
    for (const auto& e : extra) c.push_back(card(e));
    std::vector<std::pair<std::string, std::string>> wcs = {
        {"CTYPE1", value_card("CTYPE1", "'RA---TAN'")},  {"CTYPE2", value_card("CTYPE2", "'DEC--TAN'")},
        {"CRVAL1", value_card("CRVAL1", "150.0")},       {"CRVAL2", value_card("CRVAL2", "2.0")},
        {"CRPIX1", value_card("CRPIX1", "5.0")},         {"CRPIX2", value_card("CRPIX2", "5.0")},
        {"CDELT1", value_card("CDELT1", "-0.001")},      {"CDELT2", value_card("CDELT2", "0.001")},
        {"RADESYS", value_card("RADESYS", "'ICRS    '")}};
    for (auto& [key, text] : wcs) {
        for (const auto& [rk, rt] : replace)
            if (rk == key) text = rt;
        c.push_back(card(text));
    }
    return c;
}

/// Compresses `bytes` plus `zeros` zero bytes with the gzip program (RFC
/// 1952), streaming the zeros so that a large "gzip bomb" needs no memory.
inline void write_gzip(const std::filesystem::path& path, const std::string& bytes, std::uint64_t zeros = 0) {
    const std::string cmd = "gzip -1 -c > '" + path.string() + "'";
    FILE* p = ::popen(cmd.c_str(), "w");
    if (!p) throw std::runtime_error("cannot run gzip");
    std::fwrite(bytes.data(), 1, bytes.size(), p);
    const std::string block(1 << 20, '\0');
    while (zeros > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros, block.size()));
        std::fwrite(block.data(), 1, n, p);
        zeros -= n;
    }
    if (::pclose(p) != 0) throw std::runtime_error("gzip failed");
}

/// A fresh temporary directory, removed with its content at destruction.
}  // namespace vo::testing
