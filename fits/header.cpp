#include "fits/header.hpp"
#include "fits/header_check.hpp"
#include "fits/text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace vo::fits {
namespace {}  // namespace

FitsHeader::FitsHeader(std::string cards) : cards_(std::move(cards)), defect_(header_defect(cards_)) {
    const std::size_t n = cards_.size();
    for (std::size_t pos = 0; pos < n; pos += 80) {
        std::string_view card = std::string_view(cards_).substr(pos, 80);
        std::string key;
        std::string_view rest;
        if (card.size() > 9 && card.substr(0, 9) == "HIERARCH ") {
            const std::size_t eq = card.find('=');
            if (eq == std::string_view::npos) continue;
            key = upper(trim(card.substr(9, eq - 9)));
            rest = card.substr(eq + 1);
        } else {
            if (card.size() < 10 || card.substr(8, 2) != "= ") continue;
            key = upper(trim(card.substr(0, 8)));
            rest = card.substr(10);
        }
        Entry e;
        e.key = key;
        const std::string r = trim(rest);
        if (!r.empty() && r[0] == '\'') {
            e.is_string = true;
            // String value: '' is an escaped quote; the closing quote ends it.
            std::string v;
            std::size_t i = 1;
            for (; i < r.size(); ++i) {
                if (r[i] == '\'') {
                    if (i + 1 < r.size() && r[i + 1] == '\'') {
                        v += '\'';
                        ++i;
                    } else
                        break;
                } else {
                    v += r[i];
                }
            }
            // Long-string convention: '&' at the end, continued by CONTINUE cards.
            std::size_t next = pos + 80;
            while (!v.empty() && v.back() == '&' && next + 80 <= n &&
                   std::string_view(cards_).substr(next, 8) == "CONTINUE") {
                v.pop_back();
                const std::string cr = trim(std::string_view(cards_).substr(next + 8, 72));
                if (cr.empty() || cr[0] != '\'') break;
                for (std::size_t j = 1; j < cr.size(); ++j) {
                    if (cr[j] == '\'') {
                        if (j + 1 < cr.size() && cr[j + 1] == '\'') {
                            v += '\'';
                            ++j;
                        } else
                            break;
                    } else {
                        v += cr[j];
                    }
                }
                next += 80;
            }
            while (!v.empty() && v.back() == ' ') v.pop_back();
            e.value = v;
        } else {
            const std::size_t slash = r.find('/');
            e.value = trim(std::string_view(r).substr(0, slash));
        }
        entries_.push_back(std::move(e));
    }
}

const FitsHeader::Entry* FitsHeader::find(std::string_view key) const {
    const std::string k = upper(std::string(key));
    for (const auto& e : entries_)
        if (e.key == k) return &e;
    return nullptr;
}

bool FitsHeader::has(std::string_view key) const { return find(key) != nullptr; }

std::optional<std::string> FitsHeader::get_string(std::string_view key) const {
    const Entry* e = find(key);
    if (!e) return std::nullopt;
    std::string v = trim(e->value);
    if (v.empty()) return std::nullopt;
    return v;
}

std::optional<double> FitsHeader::get_double(std::string_view key) const {
    const Entry* e = find(key);
    if (!e) return std::nullopt;  // quoted numbers ('900.0') are accepted too
    std::string v = trim(e->value);
    if (v.empty()) return std::nullopt;
    for (auto& c : v)
        if (c == 'D' || c == 'd') c = 'E';
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || !trim(end).empty()) return std::nullopt;
    return d;
}

std::optional<long long> FitsHeader::get_int(std::string_view key) const {
    const Entry* e = find(key);
    if (!e || e->is_string) return std::nullopt;
    const std::string v = trim(e->value);
    if (v.empty()) return std::nullopt;
    char* end = nullptr;
    const long long i = std::strtoll(v.c_str(), &end, 10);
    if (end == v.c_str() || !trim(end).empty()) return std::nullopt;
    return i;
}

std::optional<bool> FitsHeader::get_bool(std::string_view key) const {
    const Entry* e = find(key);
    if (!e || e->is_string) return std::nullopt;
    if (e->value == "T") return true;
    if (e->value == "F") return false;
    return std::nullopt;
}

}  // namespace vo::fits
