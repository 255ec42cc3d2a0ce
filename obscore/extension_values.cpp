// Values of configured extension columns taken at extraction, and release
// dates (obscore/profile.hpp). Kept apart from profile.cpp, which needs the
// ADQL translator and SQLite, so that FITS extraction (and its fuzz target)
// links without them.
#include <erfa.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "fits/text.hpp"
#include "obscore/profile.hpp"

namespace vo::obscore {

std::optional<ExtraValue> typed_value(const ColumnDef& column, const std::string& text) {
    const std::string t = fits::trim(text);
    const std::string affinity = column.sql_type();
    if (affinity == "TEXT") return ExtraValue(text);
    if (t.empty()) return std::nullopt;
    if (affinity == "INTEGER") {
        if (t == "T" || t == "true") return ExtraValue(std::int64_t{1});
        if (t == "F" || t == "false") return ExtraValue(std::int64_t{0});
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
        return ExtraValue(v);
    }
    std::string d = t;  // FITS allows D exponents
    for (auto& ch : d)
        if (ch == 'D' || ch == 'd') ch = 'E';
    double v = 0;
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
    if (ec != std::errc() || p != d.data() + d.size() || !std::isfinite(v)) return std::nullopt;
    return ExtraValue(v);
}

void fill_extension_values(const std::vector<ExtensionColumn>& columns,
                           const std::function<std::optional<std::string>(const std::string&)>& lookup,
                           ObsCoreRecord& record) {
    for (const auto& c : columns) {
        std::optional<ExtraValue> value;
        for (const auto& key : c.keywords) {
            if (auto text = lookup(key)) value = typed_value(c.def, *text);
            if (value) break;
        }
        if (!value && c.default_value) value = c.default_value;
        if (value) record.extra[c.def.name] = *value;
    }
}

std::string release_date(double mjd, int months) {
    int year = 0, month = 0, day = 0;
    double fraction = 0;
    if (eraJd2cal(2400000.5, mjd, &year, &month, &day, &fraction) != 0) return "";
    int m = month - 1 + months;
    year += m >= 0 ? m / 12 : -((11 - m) / 12);
    m = ((m % 12) + 12) % 12;
    month = m + 1;
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int last = kDays[m] + (m == 1 && leap ? 1 : 0);
    if (day > last) day = last;
    const long seconds = std::lround(fraction * 86400.0);
    const long s = std::min(seconds, 86399L);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02ld:%02ld:%02ld", year, month, day, s / 3600, (s / 60) % 60,
                  s % 60);
    return buf;
}

std::optional<std::string> iso_date_time(const std::string& text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    const auto digits = [&](std::size_t at, std::size_t n, int& out) {
        if (at + n > text.size()) return false;
        out = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (text[i] < '0' || text[i] > '9') return false;
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    if (!digits(0, 4, y) || text.size() < 10 || text[4] != '-' || !digits(5, 2, mo) || text[7] != '-' ||
        !digits(8, 2, d))
        return std::nullopt;
    std::size_t at = 10;
    if (at < text.size() && text[at] == 'T') {
        if (!digits(11, 2, h) || text.size() < 19 || text[13] != ':' || !digits(14, 2, mi) || text[16] != ':' ||
            !digits(17, 2, se))
            return std::nullopt;
        at = 19;
        if (at < text.size() && text[at] == '.') {
            ++at;
            const std::size_t first = at;
            while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
            if (at == first) return std::nullopt;
        }
    }
    if (at < text.size() && text[at] == 'Z') ++at;
    if (at != text.size()) return std::nullopt;
    static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || se > 60) return std::nullopt;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return std::nullopt;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, std::min(se, 59));
    return std::string(buf);
}

}  // namespace vo::obscore
