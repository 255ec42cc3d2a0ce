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
class OnesComplementSum {
 public:
  /// Adds n bytes.
  void add(const char* data, std::size_t n);
  /// The folded 32-bit sum of all bytes added so far (a trailing partial word is
  /// zero-padded, as FITS zero padding of the data unit would do).
  std::uint32_t value() const;

 private:
  std::uint64_t sum_ = 0;      // unfolded sum of 32-bit words
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
