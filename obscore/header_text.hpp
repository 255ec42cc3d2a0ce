// FITS header text: header-only dump files -> card blocks, and keyword look-up
// in a card block (FITS 4.0 section 4: 80-character keyword records).
#pragma once

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

/// Checks a card block (concatenated 80-character cards) against the FITS
/// rules that header parsers such as WCSLIB's wcspih() rely on, BEFORE any of
/// them sees it (a header violating them has crashed wcspih with a glibc
/// "buffer overflow detected" abort):
/// - the block is a whole number of 80-character cards and ends with an END
///   card (FITS 4.0 sections 4.1.1, 4.4.1);
/// - every character is printable ASCII, decimal 32 to 126 (section 4.1.1);
/// - a character-string value (a value card, `KEYWORD = 'text'`, section
///   4.1.2.2; an ESO `HIERARCH ... = 'text'` card; a `CONTINUE  'text'` card,
///   section 4.2.1.2) has its closing quote on the same card (section
///   4.2.1.1: a quote inside the text is written as two quotes);
/// - the WCS keywords CRVALia, CRPIXja, CDELTia, CROTAi, CDi_ja and PCi_ja
///   (WCS Paper I section 2.1.2; Paper II section 6.1) have a finite numeric
///   value (section 4.2.4; NaN, Inf, 1E999 or a string are refused: WCSLIB
///   would silently drop the card and use a default, publishing e.g. RA 0,
///   Dec 0).
/// Returns nullopt when the block is acceptable, else a one-line reason naming
/// the 1-based card number and its keyword, e.g. "card 12 (CTYPE1): string
/// value has no closing quote (FITS 4.0 section 4.2.1.1)". Never throws.
std::optional<std::string> header_defect(std::string_view cards);

/// Size in bytes of the data unit an HDU header describes (FITS 4.0 section
/// 4.4.1.1, equation 2: |BITPIX| x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISm)
/// / 8, without the padding to 2880 bytes; 0 for NAXIS = 0), from the header's
/// own BITPIX, NAXIS, NAXISn, PCOUNT (default 0) and GCOUNT (default 1).
/// nullopt if a keyword is missing or negative, or if the size does not fit in
/// a signed 64-bit integer (e.g. NAXIS1 = 2^62 with BITPIX = -32): such a
/// header is damaged, and computing the size in a wrapping type would accept
/// it.
std::optional<std::int64_t> data_unit_bytes(std::string_view cards);

/// Keyword look-up in one card block (FITS 4.0 sections 4.1-4.2), including
/// ESO `HIERARCH` keywords (looked up without the `HIERARCH ` prefix, e.g.
/// "ESO TEL AIRM START") and long strings continued with `CONTINUE` cards.
/// The first occurrence of a keyword wins.
class FitsHeader {
public:
    FitsHeader() = default;
    /// `cards`: concatenated 80-character cards (a shorter tail is accepted).
    explicit FitsHeader(std::string cards);

    /// The card block as given.
    const std::string& cards() const { return cards_; }
    /// Number of cards (including END).
    int card_count() const { return static_cast<int>(cards_.size() / 80); }

    /// True if the keyword has a value card.
    bool has(std::string_view key) const;
    /// The value of a character-string keyword without quotes and trailing
    /// blanks; for a non-string value, its literal text. nullopt if absent or
    /// empty.
    std::optional<std::string> get_string(std::string_view key) const;
    /// A numeric value (integer or real, `D` exponents accepted); nullopt if
    /// absent or not a number.
    std::optional<double> get_double(std::string_view key) const;
    /// An integer value; nullopt if absent or not an integer.
    std::optional<long long> get_int(std::string_view key) const;
    /// A logical value (T/F); nullopt if absent or not logical.
    std::optional<bool> get_bool(std::string_view key) const;

private:
    struct Entry {
        std::string key;    ///< upper-case keyword name (HIERARCH prefix removed)
        std::string value;  ///< decoded string or the literal of other values
        bool is_string = false;
    };
    const Entry* find(std::string_view key) const;

    std::string cards_;
    std::vector<Entry> entries_;
};

}  // namespace vo::obscore
