#include "fits/header_check.hpp"
#include "fits/text.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace vo::fits {
namespace {

bool is_end_card(std::string_view card) {
    return card.size() >= 3 && card.substr(0, 3) == "END" && trim(card.substr(3)).empty();
}

/// The integer value of the first value card `key` (8-character keyword),
/// nullopt if absent or not an integer.
std::optional<long long> int_value(std::string_view cards, std::string_view key) {
    for (std::size_t p = 0; p + 80 <= cards.size(); p += 80) {
        const std::string_view card = cards.substr(p, 80);
        if (trim(card.substr(0, 8)) != key || card.substr(8, 2) != "= ") continue;
        std::string v(card.substr(10));
        const std::size_t slash = v.find('/');
        if (slash != std::string::npos) v.resize(slash);
        v = trim(v);
        if (v.empty()) return std::nullopt;
        char* end = nullptr;
        errno = 0;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (end == v.c_str() || !trim(end).empty() || errno == ERANGE) return std::nullopt;
        return n;
    }
    return std::nullopt;
}

}  // namespace

namespace {

/// True for the keyword of a WCS card whose value must be a finite number:
/// CRVALia, CRPIXja, CDELTia, CROTAi (axis number 1-99, optional alternate
/// letter A-Z) and CDi_ja, PCi_ja.
bool is_numeric_wcs_keyword(std::string_view key) {
    auto digits = [](std::string_view s, std::size_t& pos) {
        const std::size_t start = pos;
        while (pos < s.size() && pos - start < 2 && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
        return pos > start;
    };
    auto alt_then_end = [](std::string_view s, std::size_t pos) {
        if (pos < s.size() && s[pos] >= 'A' && s[pos] <= 'Z') ++pos;
        return pos == s.size();
    };
    for (std::string_view prefix : {"CRVAL", "CRPIX", "CDELT", "CROTA"}) {
        if (key.substr(0, prefix.size()) != prefix) continue;
        std::size_t pos = prefix.size();
        return digits(key, pos) && alt_then_end(key, pos);
    }
    for (std::string_view prefix : {"CD", "PC"}) {
        if (key.substr(0, 2) != prefix) continue;
        std::size_t pos = 2;
        if (!digits(key, pos) || pos >= key.size() || key[pos] != '_') return false;
        ++pos;
        return digits(key, pos) && alt_then_end(key, pos);
    }
    return false;
}

/// True for a SIP distortion coefficient keyword A_p_q, B_p_q, AP_p_q or
/// BP_p_q (Shupe et al. 2005), which WCSLIB's header parser reads as a number:
/// such a card without a value crashed wcspih (found by fits_fuzz).
bool is_sip_coefficient(std::string_view key) {
    std::size_t pos;
    if (key.rfind("AP_", 0) == 0 || key.rfind("BP_", 0) == 0)
        pos = 3;
    else if (key.rfind("A_", 0) == 0 || key.rfind("B_", 0) == 0)
        pos = 2;
    else
        return false;
    const auto digits = [&] {
        const std::size_t start = pos;
        while (pos < key.size() && std::isdigit(static_cast<unsigned char>(key[pos]))) ++pos;
        return pos > start;
    };
    if (!digits() || pos >= key.size() || key[pos] != '_') return false;
    ++pos;
    return digits() && pos == key.size();
}

/// Position just after the closing quote of a string value starting at
/// text[open] == '\'', or npos when the string is not closed.
std::size_t string_end(std::string_view text, std::size_t open) {
    for (std::size_t i = open + 1; i < text.size(); ++i) {
        if (text[i] != '\'') continue;
        if (i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;  // '' is a quote inside the text
            continue;
        }
        return i + 1;
    }
    return std::string_view::npos;
}

}  // namespace

std::optional<std::string> header_defect(std::string_view cards) {
    if (cards.empty()) return std::string("empty header (no END card, FITS 4.0 section 4.4.1)");
    if (cards.size() % 80 != 0)
        return "header length " + std::to_string(cards.size()) +
               " is not a whole number of 80-character cards (FITS 4.0 section 4.1.1)";
    const std::size_t ncards = cards.size() / 80;
    bool end_seen = false;
    for (std::size_t n = 0; n < ncards; ++n) {
        const std::string_view card = cards.substr(n * 80, 80);
        const std::string key = trim(card.substr(0, 8));
        auto where = [&]() {
            std::string k;
            for (char c : key) k += (c >= 32 && c <= 126) ? c : '?';
            return "card " + std::to_string(n + 1) + " (" + (k.empty() ? std::string("blank keyword") : k) + "): ";
        };
        for (std::size_t i = 0; i < card.size(); ++i) {
            const auto c = static_cast<unsigned char>(card[i]);
            if (c < 32 || c > 126)
                return where() + "character " + std::to_string(static_cast<int>(c)) + " in column " +
                       std::to_string(i + 1) + " is not printable ASCII (FITS 4.0 section 4.1.1)";
        }
        if (is_end_card(card)) {
            if (n + 1 != ncards) return where() + "cards follow the END card (FITS 4.0 section 4.4.1)";
            end_seen = true;
            break;
        }
        // Where a value may start: after "= " of a value card, after the '='
        // of a HIERARCH card, after column 10 of a CONTINUE card.
        std::size_t value_start = std::string_view::npos;
        if (card.substr(0, 9) == "HIERARCH ") {
            const std::size_t eq = card.find('=');
            if (eq != std::string_view::npos) value_start = eq + 1;
        } else if (card.substr(8, 2) == "= ") {
            value_start = 10;
        } else if (card.substr(0, 8) == "CONTINUE") {
            value_start = 8;
        }
        if (key == "COMMENT" || key == "HISTORY" || key.empty()) value_start = std::string_view::npos;
        if (value_start != 10 && is_sip_coefficient(key))
            return where() + "SIP coefficient without a value (FITS 4.0 section 4.1.2.2; SIP convention)";
        if (value_start == std::string_view::npos) continue;  // commentary card: free text (section 4.4.2.4)
        std::size_t v = value_start;
        while (v < card.size() && card[v] == ' ') ++v;
        if (v < card.size() && card[v] == '\'' && string_end(card, v) == std::string_view::npos)
            return where() + "string value has no closing quote (FITS 4.0 section 4.2.1.1)";
        if (value_start == 10 && (is_numeric_wcs_keyword(key) || is_sip_coefficient(key))) {
            std::string text(card.substr(10));
            const std::size_t slash = text.find('/');
            if (slash != std::string::npos) text.resize(slash);
            text = trim(text);
            for (auto& c : text)
                if (c == 'D' || c == 'd') c = 'E';
            char* end = nullptr;
            const double d = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
            const bool number = !text.empty() && end != text.c_str() && trim(end).empty();
            const bool literal = number && text.find_first_not_of("0123456789+-.Ee") == std::string::npos;
            if (!literal || !std::isfinite(d))
                return where() + "value '" + trim(card.substr(10, 70)) +
                       "' is not a finite number (FITS 4.0 section 4.2.4, WCS Paper I section 2.1.2)";
        }
        // NAXIS and WCSAXES count axes: 0..999 (FITS 4.0 section 4.4.1.1,
        // WCS Paper I section 2.2). WCSLIB allocates per axis: NAXIS = 66048
        // crashed it (found by fits_fuzz).
        if (value_start == 10 && (key == "NAXIS" || key.rfind("WCSAXES", 0) == 0)) {
            std::string text(card.substr(10));
            const std::size_t slash = text.find('/');
            if (slash != std::string::npos) text.resize(slash);
            text = trim(text);
            char* end = nullptr;
            const long n = text.empty() ? -1 : std::strtol(text.c_str(), &end, 10);
            if (text.empty() || !trim(end).empty() || n < 0 || n > 999)
                return where() + "value '" + text + "' is not a number of axes in 0..999 (FITS 4.0 section 4.4.1.1)";
        }
    }
    if (!end_seen) return std::string("no END card (FITS 4.0 section 4.4.1)");
    return std::nullopt;
}

std::optional<std::int64_t> data_unit_bytes(std::string_view cards) {
    const auto bitpix = int_value(cards, "BITPIX");
    const auto naxis = int_value(cards, "NAXIS");
    if (!bitpix || !naxis || *naxis < 0 || *naxis > 999) return std::nullopt;
    if (*bitpix != 8 && *bitpix != 16 && *bitpix != 32 && *bitpix != 64 && *bitpix != -32 && *bitpix != -64)
        return std::nullopt;
    if (*naxis == 0) return 0;
    const long long pcount = int_value(cards, "PCOUNT").value_or(0), gcount = int_value(cards, "GCOUNT").value_or(1);
    if (pcount < 0 || gcount < 0) return std::nullopt;
    long long elements = 1;
    for (long long i = 1; i <= *naxis; ++i) {
        const auto n = int_value(cards, "NAXIS" + std::to_string(i));
        if (!n || *n < 0) return std::nullopt;
        if (__builtin_mul_overflow(elements, *n, &elements)) return std::nullopt;
    }
    long long bytes = 0;
    if (__builtin_add_overflow(elements, pcount, &elements) || __builtin_mul_overflow(elements, gcount, &elements) ||
        __builtin_mul_overflow(elements, static_cast<long long>(std::llabs(*bitpix) / 8), &bytes))
        return std::nullopt;
    return static_cast<std::int64_t>(bytes);
}

}  // namespace vo::fits
