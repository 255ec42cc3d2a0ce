// FITS 4.0 Appendix J checksums (vo::soda::OnesComplementSum, checksum_encode).
#include <catch2/catch.hpp>

#include <string>

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

TEST_CASE("CHECKSUM encoding makes the HDU sum to -0", "[soda][checksum]") {
  std::string header;
  auto card = [&](std::string c) { c.resize(80, ' '); header += c; };
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
