// FITS header text: header-only dump files -> card blocks, and keyword look-up
// in a card block (FITS 4.0 section 4: 80-character keyword records).
#pragma once

#include "fits/header.hpp"
#include "fits/header_check.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vo::obscore {

/// Splits the content of a header-only file into one card block per HDU.
///
/// Two formats are understood (see ../shared/data/fits/PROVENANCE.md):
/// - raw FITS records: 80-character cards with no newlines (astropy `.hdr`
///   files); a block ends at its `END` card, several blocks may follow;
/// - text, one card per line (`.fits.header` dumps): lines `# HDU n in file:`
///   (CADC tools) or `--- HDU n ---` (Gemini AstroData) separate HDUs;
///   `Filename:` and `AstroData Types:` lines and blank lines are ignored; an
///   `END` line also closes an HDU.
///
/// Returns the blocks in file order, each a concatenation of 80-character
/// cards (lines padded with spaces or cut to 80 characters) ending with an
/// `END` card, ready for WCSLIB's wcspih(). Blocks without any card are
/// dropped. Never throws on odd content (unknown lines become cards as is).
std::vector<std::string> split_header_text(std::string_view content);

/// Reads a header-only file and splits it with split_header_text().
/// Throws std::runtime_error naming the file if it cannot be read.
std::vector<std::string> read_header_file(const std::string& path);

/// The FITS header checks of fits/header_check.hpp (header_defect: card
/// rules, closed strings, finite WCS values, axis counts; data_unit_bytes: the
/// data size without overflow), shared with soda/.
using fits::data_unit_bytes;
using fits::header_defect;

/// Keyword look-up in a card block; moved to fits/header.hpp (issue 8 item 3).
using fits::FitsHeader;

}  // namespace vo::obscore
