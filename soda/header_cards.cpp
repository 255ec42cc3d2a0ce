// FITS header card text (FITS 4.0 section 4): the keyword, value and comment
// of an 80-character card, and cards written anew (value, string, HISTORY).
// Used by the HDU reader, the header rewriting and the output. See
// cutout_internal.hpp.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

std::string card_key(const std::string& card) {
    if (card.compare(0, 8, "HIERARCH") == 0) return card.substr(0, card.find('='));
    std::string k = card.substr(0, 8);
    while (!k.empty() && k.back() == ' ') k.pop_back();
    return k;
}

bool has_value(const std::string& card) { return card.size() >= 10 && card[8] == '=' && card[9] == ' '; }

// Raw value text of a "KEY     = value / comment" card (quotes kept).
std::string card_value(const std::string& card) {
    if (!has_value(card)) return {};
    std::size_t i = 10;
    while (i < card.size() && card[i] == ' ') ++i;
    std::size_t end = i;
    if (i < card.size() && card[i] == '\'') {
        end = i + 1;
        while (end < card.size()) {
            if (card[end] == '\'') {
                if (end + 1 < card.size() && card[end + 1] == '\'') {
                    end += 2;
                    continue;
                }
                ++end;
                break;
            }
            ++end;
        }
    } else {
        end = card.find('/', i);
        if (end == std::string::npos) end = card.size();
    }
    std::string v = card.substr(i, end - i);
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
}

std::string card_comment(const std::string& card) {
    const std::string v = card_value(card);
    const std::size_t start = card.find(v, 10);
    std::size_t slash = card.find('/', start == std::string::npos ? 10 : start + v.size());
    if (slash == std::string::npos) return {};
    std::string c = card.substr(slash + 1);
    while (!c.empty() && c.front() == ' ') c.erase(0, 1);
    while (!c.empty() && c.back() == ' ') c.pop_back();
    return c;
}

std::string string_value(const std::string& raw) {
    if (raw.size() < 2 || raw.front() != '\'') return raw;
    std::string s;
    for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
        s += raw[i];
        if (raw[i] == '\'' && raw[i + 1] == '\'') ++i;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

std::optional<double> number_value(const std::string& raw) {
    if (raw.empty() || raw.front() == '\'') return std::nullopt;
    std::string t = raw;
    std::replace(t.begin(), t.end(), 'D', 'E');
    char* end = nullptr;
    const double d = std::strtod(t.c_str(), &end);
    if (end == t.c_str()) return std::nullopt;
    return d;
}

std::string pad80(std::string s) {
    s.resize(80, ' ');
    return s;
}

std::string format_real(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17G", v);
    std::string s = buf;
    if (s.size() > 20) {
        std::snprintf(buf, sizeof buf, "%.15G", v);
        s = buf;
    }
    if (s.find_first_of(".E") == std::string::npos)
        s += ".0";
    else if (s.find('.') == std::string::npos)
        s.insert(s.find('E'), ".0");
    return s;
}

std::string value_card(const std::string& key, const std::string& value, const std::string& comment) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%-8.8s= %20s", key.c_str(), value.c_str());
    std::string c = buf;
    if (!comment.empty() && c.size() < 77) c += " / " + comment;
    return pad80(c);
}

std::string string_card(const std::string& key, const std::string& value, const std::string& comment) {
    std::string v = "'" + value;
    while (v.size() < 9) v += ' ';
    v += "'";
    char buf[128];
    std::snprintf(buf, sizeof buf, "%-8.8s= %-20s", key.c_str(), v.c_str());
    std::string c = buf;
    if (!comment.empty() && c.size() < 77) c += " / " + comment;
    return pad80(c);
}

std::vector<std::string> history_cards(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream is(text);
    std::string line;
    while (std::getline(is, line)) {
        for (std::size_t i = 0; i < line.size() || i == 0; i += 72) {
            out.push_back(pad80("HISTORY " + line.substr(i, 72)));
            if (line.empty()) break;
        }
    }
    return out;
}

std::optional<double> find_number(const std::vector<std::string>& cards, const std::string& key) {
    for (const auto& c : cards)
        if (card_key(c) == key && has_value(c)) return number_value(card_value(c));
    return std::nullopt;
}

std::string find_string(const std::vector<std::string>& cards, const std::string& key) {
    for (const auto& c : cards)
        if (card_key(c) == key && has_value(c)) return string_value(card_value(c));
    return {};
}

/// The cards as one block ending with an END card, for header_defect().
std::string card_block(const std::vector<std::string>& cards) {
    std::string text;
    for (const auto& c : cards) text += c;
    if (cards.empty() || card_key(cards.back()) != "END") text += pad80("END");
    return text;
}

}  // namespace vo::soda::detail
