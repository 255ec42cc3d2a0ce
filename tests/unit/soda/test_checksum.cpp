// FITS 4.0 Appendix J checksums (vo::soda::OnesComplementSum, checksum_encode).
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "soda/checksum.hpp"

using namespace vo::soda;

TEST_CASE("ones' complement sum folds carries and accepts any chunking", "[soda][checksum]") {
    OnesComplementSum a;
    const char words[8] = {'\xff', '\xff', '\xff', '\xff', 0, 0, 0, 2};
    a.add(words, 8);
    CHECK(a.value() == 2u);  // 0xffffffff + 2 = 0x1'00000001 -> folded 2
    OnesComplementSum b;
    for (char c : std::string(words, 8)) b.add(&c, 1);
    CHECK(b.value() == a.value());
    CHECK(ones_complement_add(0xffffffffu, 1u) == 1u);
}

namespace {
// Reference: FITS 4.0 Appendix J as written there, one big-endian 32-bit word
// at a time (a trailing partial word zero-padded), carries folded back.
std::uint32_t reference_sum(const std::vector<unsigned char>& d) {
    std::uint64_t s = 0;
    for (std::size_t i = 0; i < d.size(); i += 4) {
        std::uint32_t w = 0;
        for (std::size_t j = 0; j < 4; ++j) w = (w << 8) | (i + j < d.size() ? d[i + j] : 0u);
        s += w;
        s = (s & 0xffffffffu) + (s >> 32);
    }
    return static_cast<std::uint32_t>(s);
}
}  // namespace

TEST_CASE("ones' complement sum equals the word-by-word definition for any data and chunking", "[soda][checksum]") {
    // The fast sum (byte-position sums with 64-bit and SSE2 loads) against the
    // reference on random data of lengths crossing the 8, 16, 2048 and 4096-byte
    // block sizes of the fast paths, fed in random chunks (odd chunk lengths
    // exercise the partial-word carry-over).
    std::mt19937 rng(20241121);
    for (int iter = 0; iter < 300; ++iter) {
        const std::size_t n = iter < 40 ? static_cast<std::size_t>(iter) : rng() % 9000;
        std::vector<unsigned char> d(n);
        const int kind = iter % 4;
        for (auto& b : d)
            b = kind == 0   ? 0xff
                : kind == 1 ? static_cast<unsigned char>(rng())
                            : static_cast<unsigned char>(rng() & 0x81);
        INFO("length " << n << " kind " << kind);
        OnesComplementSum whole;
        whole.add(reinterpret_cast<const char*>(d.data()), d.size());
        CHECK(whole.value() == reference_sum(d));
        OnesComplementSum chunked;
        for (std::size_t i = 0; i < n;) {
            const std::size_t k = std::min<std::size_t>(n - i, rng() % 700);
            chunked.add(reinterpret_cast<const char*>(d.data()) + i, k);
            i += k;
        }
        CHECK(chunked.value() == whole.value());
    }
    // Edge values: all zero -> 0 (+0); all ones -> 0xffffffff (-0); a large
    // all-ones block (> 256 SSE2 steps) still folds to -0.
    OnesComplementSum zero, ones;
    std::vector<char> z(10000, 0), o(10000, '\xff');
    zero.add(z.data(), z.size());
    ones.add(o.data(), o.size());
    CHECK(zero.value() == 0u);
    CHECK(ones.value() == 0xffffffffu);
    // 1 + 0xfffffffe = 0xffffffff: a non-zero sum that is -0.
    const char w[8] = {0, 0, 0, 1, '\xff', '\xff', '\xff', '\xfe'};
    OnesComplementSum m;
    m.add(w, 8);
    CHECK(m.value() == 0xffffffffu);
}

TEST_CASE("CHECKSUM encoding makes the HDU sum to -0", "[soda][checksum]") {
    std::string header;
    auto card = [&](std::string c) {
        c.resize(80, ' ');
        header += c;
    };
    card("SIMPLE  =                    T");
    card("BITPIX  =                    8");
    card("NAXIS   =                    0");
    card("DATASUM = '0       '");
    card("CHECKSUM= '0000000000000000'");
    card("END");
    header.resize(2880, ' ');
    OnesComplementSum s;
    s.add(header.data(), header.size());
    const std::string enc = checksum_encode(s.value());
    REQUIRE(enc.size() == 16);
    for (char c : enc) {
        CHECK(((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')));
    }
    header.replace(4 * 80 + 11, 16, enc);
    OnesComplementSum t;
    t.add(header.data(), header.size());
    CHECK(t.value() == 0xffffffffu);
}
