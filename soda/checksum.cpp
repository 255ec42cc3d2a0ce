#include "soda/checksum.hpp"

namespace vo::soda {

void OnesComplementSum::add(const char* data, std::size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  // Finish an incomplete word first.
  while (n > 0 && pos_ != 0) {
    partial_ |= static_cast<std::uint32_t>(*p) << (8 * (3 - pos_));
    ++p, --n;
    if (++pos_ == 4) {
      sum_ += partial_;
      partial_ = 0;
      pos_ = 0;
    }
  }
  // Whole words: big-endian loads. The 64-bit accumulator cannot overflow for
  // fewer than 2^32 words per fold; fold every 2^30 words to stay safe.
  std::uint64_t s = sum_;
  std::size_t words = n / 4;
  std::size_t since_fold = 0;
  for (std::size_t i = 0; i < words; ++i) {
    s += (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
    p += 4;
    if (++since_fold == (std::size_t(1) << 30)) {
      s = (s & 0xffffffffu) + (s >> 32);
      since_fold = 0;
    }
  }
  sum_ = s;
  n -= words * 4;
  for (std::size_t i = 0; i < n; ++i) {
    partial_ |= static_cast<std::uint32_t>(p[i]) << (8 * (3 - pos_));
    ++pos_;
  }
}

std::uint32_t OnesComplementSum::value() const {
  std::uint64_t s = sum_ + (pos_ ? partial_ : 0);
  while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
  return static_cast<std::uint32_t>(s);
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
