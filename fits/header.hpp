// FITS header keyword look-up shared by ingest (obscore/) and cutouts (soda/):
// FITS 4.0 sections 4.1-4.2 (80-character keyword records, HIERARCH, CONTINUE).
// Moved from obscore/header_text.hpp (issue 8 item 3).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vo::fits {

/// Keyword look-up in one card block (FITS 4.0 sections 4.1-4.2), including
/// ESO `HIERARCH` keywords (looked up without the `HIERARCH ` prefix, e.g.
/// "ESO TEL AIRM START") and long strings continued with `CONTINUE` cards.
/// The first occurrence of a keyword wins.
class FitsHeader {
public:
    FitsHeader() = default;
    /// `cards`: concatenated 80-character cards (a shorter tail is accepted).
    /// The text is checked with header_defect() once, here (FITS 4.0
    /// sections 4.1-4.2): defect() gives the result to the parsers that must
    /// not see unchecked text (WCSLIB's, in Wcs::load) without a second
    /// pass. The keyword parsing here is bounds-safe on any text.
    explicit FitsHeader(std::string cards);

    /// Why the card block is not a valid FITS header (header_defect's
    /// message), or nullopt when it is.
    const std::optional<std::string>& defect() const { return defect_; }

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
    std::optional<std::string> defect_;
    std::vector<Entry> entries_;
};

}  // namespace vo::fits
