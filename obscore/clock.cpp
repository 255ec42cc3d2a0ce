// The archive's clock (obscore/clock.hpp).
#include "obscore/clock.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace vo::obscore {

namespace {

/// The value of VOSERVER_NOW, parsed once (nullopt: not set).
std::optional<std::time_t> simulated_from_environment() {
    static const std::optional<std::time_t> value = []() -> std::optional<std::time_t> {
        const char* text = std::getenv(kNowVariable);
        if (!text || !*text) return std::nullopt;
        auto t = parse_iso_utc(text);
        if (!t)
            throw std::runtime_error(std::string(kNowVariable) + "='" + text +
                                     "' is not an ISO 8601 UTC date-time such as 2031-01-01T00:00:00 (" + kNowVariable +
                                     " simulates the archive's clock, for testing only)");
        return t;
    }();
    return value;
}

std::atomic<bool> overridden{false};
std::atomic<std::time_t> override_value{0};

/// The digits text[at, at+n) as a number, or -1.
int digits(std::string_view text, std::size_t at, std::size_t n) {
    if (at + n > text.size()) return -1;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (text[i] < '0' || text[i] > '9') return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/// Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian).
long long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const long long yoe = y - era * 400;
    const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<std::time_t> parse_iso_utc(std::string_view text) {
    if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
    const int y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    if (text.size() < 10 || y < 0 || mo < 0 || d < 0 || text[4] != '-' || text[7] != '-') return std::nullopt;
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0)) return std::nullopt;
    int h = 0, mi = 0, s = 0;
    if (text.size() > 10) {
        h = digits(text, 11, 2);
        mi = digits(text, 14, 2);
        if (text[10] != 'T' || text.size() < 16 || h < 0 || mi < 0 || text[13] != ':' || h > 23 || mi > 59)
            return std::nullopt;
        if (text.size() > 16) {
            s = digits(text, 17, 2);
            if (text[16] != ':' || s < 0 || s > 59) return std::nullopt;
            if (text.size() > 19) {
                if (text[19] != '.' || text.size() == 20) return std::nullopt;
                for (std::size_t i = 20; i < text.size(); ++i)
                    if (text[i] < '0' || text[i] > '9') return std::nullopt;
            }
        }
    }
    return static_cast<std::time_t>(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
}

std::time_t archive_now() {
    if (overridden.load()) return override_value.load();
    if (auto t = simulated_from_environment()) return *t;
    return std::time(nullptr);
}

void set_archive_now_for_testing(std::optional<std::time_t> now) {
    if (now) override_value.store(*now);
    overridden.store(now.has_value());
}

std::string iso_utc(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

}  // namespace vo::obscore
