// The units of the cutout engine on their own (soda/cutout_internal.hpp,
// soda/reading.hpp), without a product file: the box walk of reading.hpp
// against a brute-force enumeration, PIXEL_n on plain and strided axes, and
// the header rewriting of a strided cut. plan_cutout and Cutout::write on real
// files are test_cutout.cpp's and test_reading.cpp's.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "soda/cutout_internal.hpp"
#include "soda/reading.hpp"

using namespace vo::soda;
using namespace vo::soda::detail;

namespace {

/// Pixel offsets of the box in file order, enumerated directly (axis 1
/// fastest), for up to 3 axes.
std::vector<std::uint64_t> expected_offsets(const std::vector<long>& naxes, const std::vector<AxisCut>& axes) {
    std::vector<std::uint64_t> out;
    const long n0 = naxes[0], n1 = naxes.size() > 1 ? naxes[1] : 1;
    const AxisCut one{0, 1, 1};
    const AxisCut& a1 = axes.size() > 1 ? axes[1] : one;
    const AxisCut& a2 = axes.size() > 2 ? axes[2] : one;
    for (long k = 0; k < a2.count; ++k)
        for (long j = 0; j < a1.count; ++j)
            for (long i = 0; i < axes[0].count; ++i) {
                const long x = axes[0].first + i * axes[0].step, y = a1.first + j * a1.step, z = a2.first + k * a2.step;
                out.push_back(static_cast<std::uint64_t>(x + n0 * (y + n1 * z)));
            }
    return out;
}

/// Walks `cursor` in pieces of `piece` pixels (8-byte "pixels" holding their
/// own offset), checking each copy's group_end.
std::vector<std::uint64_t> walk(BoxCursor& cursor, std::uint64_t piece) {
    std::vector<std::uint64_t> out;
    std::vector<char> buf(piece * 8);
    auto copy = [](char* dst, std::uint64_t off, std::uint64_t n, std::uint64_t group_end) {
        CHECK(group_end >= off + n);
        for (std::uint64_t t = 0; t < n; ++t) {
            const std::uint64_t v = off + t;
            std::memcpy(dst + 8 * t, &v, 8);
        }
    };
    while (const std::uint64_t n = cursor.fill(buf.data(), piece, 8, copy)) {
        for (std::uint64_t t = 0; t < n; ++t) {
            std::uint64_t v = 0;
            std::memcpy(&v, buf.data() + 8 * t, 8);
            out.push_back(v);
        }
    }
    return out;
}

std::string card(const std::string& text) { return pad80(text); }

std::vector<std::string> with_key(const std::vector<std::string>& cards, const std::string& key) {
    std::vector<std::string> out;
    for (const auto& c : cards)
        if (card_key(c) == key) out.push_back(c);
    return out;
}

}  // namespace

TEST_CASE("BoxCursor visits exactly the box's pixels in file order", "[soda][reading]") {
    std::mt19937 rng(8);
    const std::vector<std::vector<long>> shapes = {{1}, {9}, {6, 5}, {1, 7}, {5, 4, 3}, {8, 1, 6}, {3, 3, 7}};
    for (const auto& naxes : shapes) {
        for (int trial = 0; trial < 40; ++trial) {
            std::vector<AxisCut> axes;
            for (std::size_t i = 0; i < naxes.size(); ++i) {
                const long first = std::uniform_int_distribution<long>(0, naxes[i] - 1)(rng);
                // a step only on axes after the first (as POL on a STOKES axis)
                const long step = i > 0 && trial % 3 == 0 ? std::uniform_int_distribution<long>(1, 3)(rng) : 1;
                const long room = (naxes[i] - 1 - first) / step + 1;
                axes.push_back({first, std::uniform_int_distribution<long>(1, room)(rng), step});
            }
            const auto expected = expected_offsets(naxes, axes);
            const std::uint64_t piece = std::uniform_int_distribution<std::uint64_t>(1, 12)(rng);
            INFO("shape " << naxes.size() << " axes, trial " << trial << ", pieces of " << piece);
            BoxCursor cursor(naxes, axes);
            CHECK(walk(cursor, piece) == expected);
            // A copy taken half-way resumes where the original was.
            BoxCursor again(naxes, axes);
            std::vector<char> buf(8 * (expected.size() / 2 + 1));
            const std::uint64_t done = again.fill(buf.data(), expected.size() / 2, 8,
                                                  [](char*, std::uint64_t, std::uint64_t, std::uint64_t) {});
            BoxCursor resumed = again;
            const auto rest = walk(resumed, piece);
            CHECK(std::vector<std::uint64_t>(expected.begin() + static_cast<long>(done), expected.end()) == rest);
        }
    }
}

TEST_CASE("PIXEL_n narrows plain and strided axes", "[soda][filters]") {
    const std::vector<AxisCut> plain = {{0, 10, 1}};
    const AxisCut a = pixel_bounds(1, {3, 5}, plain);
    CHECK((a.first == 2 && a.count == 3 && a.step == 1));
    const AxisCut clipped = pixel_bounds(1, {8, 1000}, plain);
    CHECK((clipped.first == 7 && clipped.count == 3));

    // Planes 0, 2, 4, 6 (0-based) kept by POL with step 2.
    const std::vector<AxisCut> strided = {{0, 4, 2}};
    const AxisCut s = pixel_bounds(1, {3, 7}, strided);  // 1-based 3..7: planes 2, 4, 6
    CHECK((s.first == 2 && s.count == 3 && s.step == 2));
    const AxisCut single = pixel_bounds(1, {3, 3}, strided);
    CHECK((single.first == 2 && single.count == 1 && single.step == 1));

    try {
        pixel_bounds(1, {2, 2}, strided);  // plane 1 is not among the kept ones
        FAIL("no NoOverlap");
    } catch (const SodaError& e) {
        CHECK(e.http_status() == 204);
        CHECK(std::string(e.what()).find("PIXEL_1") != std::string::npos);
    }
    try {
        pixel_bounds(2, {1, 1}, plain);
        FAIL("no UsageError");
    } catch (const SodaError& e) {
        CHECK(e.http_status() == 400);
        CHECK(e.parameter() == "PIXEL_2");
    }
}

TEST_CASE("cut_header rewrites the axes of a strided cut and ends with checksum placeholders", "[soda][header]") {
    const std::vector<std::string> in = {
        card("SIMPLE  =                    T"),
        card("BITPIX  =                  -32"),
        card("NAXIS   =                    3"),
        card("NAXIS1  =                   10"),
        card("NAXIS2  =                   10"),
        card("NAXIS3  =                    4"),
        card("CTYPE1  = 'RA---TAN'"),
        card("WCSAXES =                    3"),
        card("CRPIX1  =                  5.0 / reference pixel"),
        card("CRPIX3A =                  1.0"),
        card("CDELT3  =                  1.0"),
        card("CD1_1   =               -0.001"),
        card("DATE-OBS= '2020-01-02 03:04:05'"),
        card("CHECKSUM= 'old'"),
        card("END"),
    };
    // x: pixels 3..7, y: whole, third axis: planes 2 and 4 (1-based) by a step of 2.
    const std::vector<AxisCut> axes = {{2, 5, 1}, {0, 10, 1}, {1, 2, 2}};
    const std::vector<std::string> out = cut_header(in, axes, history_cards("line one\nline two"));

    CHECK(find_number(out, "NAXIS1") == 5.0);
    CHECK(find_number(out, "NAXIS2") == 10.0);
    CHECK(find_number(out, "NAXIS3") == 2.0);
    CHECK(find_number(out, "CRPIX1") == 3.0);   // (5 - 1 - 2) / 1 + 1
    CHECK(find_number(out, "CRPIX3A") == 0.5);  // (1 - 1 - 1) / 2 + 1
    CHECK(find_number(out, "CDELT3") == 2.0);
    CHECK(find_number(out, "CD1_1") == -0.001);  // axis 1 not strided: unchanged
    CHECK(card_comment(with_key(out, "CRPIX1").at(0)) == "reference pixel");
    CHECK(find_string(out, "DATE-OBS") == "2020-01-02T03:04:05");
    CHECK(card_key(out.at(6)) == "WCSAXES");  // moved up after the structural keywords
    CHECK(with_key(out, "END").empty());
    CHECK(with_key(out, "HISTORY").size() == 2);
    REQUIRE(out.size() >= 2);
    CHECK(with_key(out, "CHECKSUM").size() == 1);
    CHECK(card_key(out[out.size() - 2]) == "DATASUM");
    CHECK(out.back().rfind("CHECKSUM= '0000000000000000'", 0) == 0);
    for (const auto& c : out) CHECK(c.size() == 80);

    const std::vector<std::string> prim = primary_header(in, {});
    CHECK(find_number(prim, "NAXIS") == 0.0);
    CHECK(with_key(prim, "NAXIS1").empty());
    CHECK(find_number(prim, "CRPIX1") == 5.0);
}
