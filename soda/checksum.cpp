#include "soda/checksum.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vo::soda {

namespace {

constexpr std::uint64_t kMod = 0xffffffffu;  // 2^32 - 1

/// x modulo 2^32 - 1, as a value in [0, 2^32 - 1] (0xffffffff and 0 both stand
/// for the residue 0).
std::uint32_t fold(std::uint64_t x) {
    while (x >> 32) x = (x & kMod) + (x >> 32);
    return static_cast<std::uint32_t>(x);
}

/// (a + b) modulo 2^32 - 1.
std::uint32_t add_mod(std::uint32_t a, std::uint32_t b) { return fold(std::uint64_t(a) + b); }

/// x * 2^k modulo 2^32 - 1 (0 < k < 32): a 32-bit left rotation.
std::uint32_t times_pow2(std::uint32_t x, unsigned k) { return (x << k) | (x >> (32 - k)); }

bool little_endian() {
    const std::uint16_t one = 1;
    unsigned char b = 0;
    std::memcpy(&b, &one, 1);
    return b == 1;
}

}  // namespace

void OnesComplementSum::add_word(std::uint32_t v) {
    if (v) nonzero_ = true;
    residue_ = add_mod(residue_, v);
}

void OnesComplementSum::add(const char* data, std::size_t n) {
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    // Finish an incomplete word first.
    while (n > 0 && pos_ != 0) {
        partial_ |= static_cast<std::uint32_t>(*p) << (8 * (3 - pos_));
        ++p, --n;
        if (++pos_ == 4) {
            add_word(partial_);
            partial_ = 0;
            pos_ = 0;
        }
    }
    // Whole 8-byte groups (two words). Byte i of a group sits at position i % 4
    // of its word. With little-endian 64-bit loads q, (q & M) holds the bytes
    // 0, 2, 4, 6 at weights 2^0, 2^16, 2^32, 2^48, i.e. (mod 2^32 - 1) position-0
    // bytes at 1 and position-2 bytes at 2^16; times 2^24 that is their FITS
    // weight (2^24 and 2^40 = 2^8). Likewise ((q >> 8) & M) holds positions 1 and
    // 3 at 1 and 2^16, times 2^16 their weights 2^16 and 2^32 = 1. Each masked
    // value is < 2^56, so 256 of them fit a 64-bit sum.
    if (little_endian()) {
        constexpr std::uint64_t kMask = 0x00ff00ff00ff00ffull;
        auto accumulate = [&](std::uint64_t even, std::uint64_t odd) {
            if (even | odd) {
                nonzero_ = true;
                residue_ = add_mod(residue_, add_mod(times_pow2(fold(even), 24), times_pow2(fold(odd), 16)));
            }
        };
#if defined(__SSE2__)
        // The same with two 64-bit lanes (x86-64 baseline SSE2): 16 bytes a step.
        std::size_t pairs = n / 16;
        const __m128i mask = _mm_set1_epi16(0x00ff);
        while (pairs > 0) {
            const std::size_t k = pairs < 256 ? pairs : 256;
            __m128i even = _mm_setzero_si128(), odd = _mm_setzero_si128();
            for (std::size_t i = 0; i < k; ++i) {
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
                even = _mm_add_epi64(even, _mm_and_si128(v, mask));
                odd = _mm_add_epi64(odd, _mm_and_si128(_mm_srli_epi64(v, 8), mask));
            }
            std::uint64_t e[2], o[2];
            _mm_storeu_si128(reinterpret_cast<__m128i*>(e), even);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o), odd);
            accumulate(e[0], o[0]);
            accumulate(e[1], o[1]);
            p += 16 * k, n -= 16 * k, pairs -= k;
        }
#endif
        std::size_t groups = n / 8;
        while (groups > 0) {
            const std::size_t k = groups < 256 ? groups : 256;
            std::uint64_t even = 0, odd = 0;
            for (std::size_t i = 0; i < k; ++i) {
                std::uint64_t q;
                std::memcpy(&q, p + 8 * i, 8);
                even += q & kMask;
                odd += (q >> 8) & kMask;
            }
            accumulate(even, odd);
            p += 8 * k, n -= 8 * k, groups -= k;
        }
    }
    // Remaining whole words (all of them on a big-endian host).
    while (n >= 4) {
        add_word((static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
                 (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]));
        p += 4, n -= 4;
    }
    for (std::size_t i = 0; i < n; ++i) {
        partial_ |= static_cast<std::uint32_t>(p[i]) << (8 * (3 - pos_));
        ++pos_;
    }
}

std::uint32_t OnesComplementSum::value() const {
    std::uint32_t r = residue_;
    bool nz = nonzero_;
    if (pos_ && partial_) {
        r = add_mod(r, partial_);
        nz = true;
    }
    if (!nz) return 0;
    // A non-zero ones' complement sum is in [1, 2^32 - 1]: residue 0 is 0xffffffff.
    return r == 0 ? 0xffffffffu : r;
}

std::uint32_t ones_complement_add(std::uint32_t a, std::uint32_t b) {
    std::uint64_t s = std::uint64_t(a) + b;
    while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
    return static_cast<std::uint32_t>(s);
}
std::string checksum_encode(std::uint32_t hdu_sum) {
    // FITS 4.0 Appendix J: encode the complement so that the HDU sums to -0.
    const std::uint32_t value = ~hdu_sum;
    static const unsigned char excluded[] = {0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
                                             0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60};
    auto is_excluded = [](int c) {
        for (unsigned char x : excluded)
            if (c == x) return true;
        return false;
    };
    char ascii[16];
    for (int byte_index = 0; byte_index < 4; ++byte_index) {
        const int byte = static_cast<int>((value >> (8 * (3 - byte_index))) & 0xffu);
        const int quotient = byte / 4 + 0x30;
        const int remainder = byte % 4;
        int ch[4] = {quotient + remainder, quotient, quotient, quotient};
        // Shift pairs away from punctuation while keeping each pair's sum.
        bool changed = true;
        while (changed) {
            changed = false;
            for (int j = 0; j < 4; j += 2) {
                if (is_excluded(ch[j]) || is_excluded(ch[j + 1])) {
                    ++ch[j];
                    --ch[j + 1];
                    changed = true;
                }
            }
        }
        for (int j = 0; j < 4; ++j) ascii[4 * j + byte_index] = static_cast<char>(ch[j]);
    }
    // The value starts at byte 11 of the card, i.e. at word position 3: rotate
    // right by one so every character lands in its byte position.
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[i] = ascii[(i + 15) % 16];
    return out;
}

}  // namespace vo::soda
