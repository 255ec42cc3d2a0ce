// The output headers of a cutout (SODA 1.0 section 5.1, "application/fits"):
// the cut HDU's NAXISn, CRPIXja and, for a strided Stokes axis, CDELTja/CDi_ja;
// the kept primary header of a multi-extension product; two repairs of
// real-world faults; the HISTORY of the request and the DATASUM/CHECKSUM
// placeholders Cutout::write fills (FITS 4.0 Appendix J). See
// cutout_internal.hpp.
#include <algorithm>
#include <cctype>

#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

namespace {

/// Repairs two common real-world header faults that would make the output fail
/// fitsverify: DATE* values written "YYYY-MM-DD hh:mm:ss" (MPDAF) get the
/// standard 'T' separator, and WCSAXESa cards placed after other WCS keywords
/// (HST drizzlepac) move up right after the structural keywords (FITS WCS
/// Paper I section 2.2: WCSAXES must precede all other WCS keywords).
void repair_cards(std::vector<std::string>& cards) {
    for (auto& c : cards) {
        const std::string key = card_key(c);
        if (key.rfind("DATE", 0) != 0 || !has_value(c)) continue;
        const std::string raw = card_value(c);
        if (raw.empty() || raw.front() != '\'') continue;
        std::string v = string_value(raw);
        if (v.size() >= 19 && v[4] == '-' && v[7] == '-' && v[10] == ' ' && v[13] == ':') {
            v[10] = 'T';
            c = string_card(key, v, card_comment(c));
        }
    }
    std::vector<std::string> wcsaxes;
    std::size_t structural_end = 0;
    for (std::size_t i = 0; i < cards.size(); ++i) {
        const std::string key = card_key(cards[i]);
        if (key == "SIMPLE" || key == "XTENSION" || key == "BITPIX" || key.rfind("NAXIS", 0) == 0 || key == "PCOUNT" ||
            key == "GCOUNT")
            structural_end = i + 1;
        else
            break;
    }
    for (std::size_t i = structural_end; i < cards.size();) {
        if (card_key(cards[i]).rfind("WCSAXES", 0) == 0) {
            wcsaxes.push_back(cards[i]);
            cards.erase(cards.begin() + static_cast<long>(i));
        } else {
            ++i;
        }
    }
    cards.insert(cards.begin() + static_cast<long>(structural_end), wcsaxes.begin(), wcsaxes.end());
}

/// Ends an output header: repair_cards, the `history` cards, then the DATASUM
/// and CHECKSUM placeholders (FITS 4.0 Appendix J) that Cutout::write fills.
void finish_header(std::vector<std::string>& out, const std::vector<std::string>& history) {
    repair_cards(out);
    for (const auto& h : history) out.push_back(h);
    out.push_back(string_card("DATASUM", "0", "data unit checksum"));
    out.push_back(string_card("CHECKSUM", "0000000000000000", "HDU checksum (FITS 4.0 Appendix J)"));
}

}  // namespace

std::vector<std::string> cut_header(const std::vector<std::string>& in, const std::vector<AxisCut>& axes,
                                    const std::vector<std::string>& history) {
    std::vector<std::string> out;
    for (const auto& card : in) {
        const std::string key = card_key(card);
        if (key == "CHECKSUM" || key == "DATASUM" || key == "END") continue;
        if (has_value(card)) {
            auto axis_of = [&](const std::string& prefix) -> int {  // PREFIX<j>[a] -> j (1-based) or 0
                if (key.rfind(prefix, 0) != 0) return 0;
                std::string rest = key.substr(prefix.size());
                if (!rest.empty() && std::isupper(static_cast<unsigned char>(rest.back())) && rest.size() > 1)
                    rest.pop_back();
                if (rest.empty() || !std::all_of(rest.begin(), rest.end(), ::isdigit)) return 0;
                return std::stoi(rest);
            };
            const int jn = axis_of("NAXIS");
            if (jn >= 1 && jn <= static_cast<int>(axes.size()) && key == "NAXIS" + std::to_string(jn)) {
                out.push_back(value_card(key, std::to_string(axes[jn - 1].count), card_comment(card)));
                continue;
            }
            const int jp = axis_of("CRPIX");
            if (jp >= 1 && jp <= static_cast<int>(axes.size())) {
                if (auto v = number_value(card_value(card))) {
                    const auto& a = axes[jp - 1];
                    const double nv = (*v - 1.0 - a.first) / a.step + 1.0;
                    out.push_back(value_card(key, format_real(nv), card_comment(card)));
                    continue;
                }
            }
            const int jd = axis_of("CDELT");
            if (jd >= 1 && jd <= static_cast<int>(axes.size()) && axes[jd - 1].step != 1) {
                if (auto v = number_value(card_value(card))) {
                    out.push_back(value_card(key, format_real(*v * axes[jd - 1].step), card_comment(card)));
                    continue;
                }
            }
            if (key.rfind("CD", 0) == 0 && key.size() >= 5 && key.find('_') != std::string::npos && key[2] != 'E') {
                // CDi_j[a]: scale column j by the step.
                std::string j = key.substr(key.find('_') + 1);
                if (!j.empty() && std::isupper(static_cast<unsigned char>(j.back()))) j.pop_back();
                if (!j.empty() && std::all_of(j.begin(), j.end(), ::isdigit)) {
                    const int jj = std::stoi(j);
                    if (jj >= 1 && jj <= static_cast<int>(axes.size()) && axes[jj - 1].step != 1)
                        if (auto v = number_value(card_value(card))) {
                            out.push_back(value_card(key, format_real(*v * axes[jj - 1].step), card_comment(card)));
                            continue;
                        }
                }
            }
        }
        out.push_back(card);
    }
    finish_header(out, history);
    return out;
}

std::vector<std::string> primary_header(const std::vector<std::string>& in, const std::vector<std::string>& history) {
    std::vector<std::string> out;
    for (const auto& card : in) {
        const std::string key = card_key(card);
        if (key == "CHECKSUM" || key == "DATASUM" || key == "END") continue;
        if (key == "NAXIS") {
            out.push_back(value_card("NAXIS", "0", card_comment(card)));
            continue;
        }
        if (key.rfind("NAXIS", 0) == 0 && key.size() > 5 && std::all_of(key.begin() + 5, key.end(), ::isdigit))
            continue;
        if (key == "BZERO" || key == "BSCALE" || key == "BLANK") continue;
        out.push_back(card);
    }
    finish_header(out, history);
    return out;
}

}  // namespace vo::soda::detail
