// FITS checksum convention (FITS Standard 4.0, Appendix J): the 32-bit ones'
// complement sum of an HDU's bytes read as big-endian unsigned integers, the
// DATASUM keyword (sum of the data unit, as an unsigned decimal string) and the
// 16-character ASCII encoding written in CHECKSUM so that the whole HDU sums to
// -0 (all bits set).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vo::soda {

/// Incremental 32-bit ones' complement sum over a byte stream (FITS 4.0
/// Appendix J). Bytes may be fed in chunks of any length (the position modulo 4
/// is tracked); the stream is taken as starting on a 4-byte boundary, which
/// holds for FITS headers and data units (2880 = 4 x 720).
///
/// The ones' complement sum of 32-bit words is their sum modulo 2^32 - 1 (0
/// only for an all-zero stream, otherwise in [1, 2^32 - 1]). Since
/// 2^32 = 1 (mod 2^32 - 1), a big-endian word b0 b1 b2 b3 contributes
/// 2^24 b0 + 2^16 b1 + 2^8 b2 + b3 whatever its position, so add() sums the
/// bytes of each position within the word with native 64-bit loads and masks
/// (no byte swapping, several GB/s) and weights the four sums at the end.
class OnesComplementSum {
public:
    /// Adds n bytes.
    void add(const char* data, std::size_t n);
    /// The folded 32-bit sum of all bytes added so far (a trailing partial word is
    /// zero-padded, as FITS zero padding of the data unit would do).
    std::uint32_t value() const;

private:
    void add_word(std::uint32_t big_endian_value);
    std::uint32_t residue_ = 0;  // sum modulo 2^32 - 1 (0xffffffff also stands for 0)
    bool nonzero_ = false;       // any non-zero byte added
    std::uint32_t partial_ = 0;  // bytes of the current incomplete word
    unsigned pos_ = 0;           // bytes in partial_ (0..3)
};

/// Ones' complement addition of two 32-bit sums.
std::uint32_t ones_complement_add(std::uint32_t a, std::uint32_t b);

/// The 16 characters to put in CHECKSUM (FITS 4.0 Appendix J) for an HDU whose
/// ones' complement sum, computed with CHECKSUM = '0000000000000000', is
/// `hdu_sum`. The returned string is already rotated for its place in the card
/// (value starting at byte 11 of an 80-byte card).
std::string checksum_encode(std::uint32_t hdu_sum);

}  // namespace vo::soda
