#include "soda/params.hpp"
#include "fits/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

namespace vo::soda {

SodaError::SodaError(int http_status, std::string code, std::string parameter, const std::string& message)
    : std::runtime_error(code + ": " + (parameter.empty() ? std::string() : parameter + ": ") + message),
      http_status_(http_status),
      code_(std::move(code)),
      parameter_(std::move(parameter)) {}

namespace {

using fits::trim;

[[noreturn]] void usage(const std::string& parameter, const std::string& message) {
    throw SodaError(400, "UsageError", parameter, message);
}

/// Runs a fits/ DALI parser, turning its DaliError into the SODA UsageError.
template <typename F>
auto dali(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const fits::DaliError& e) {
        throw SodaError(400, "UsageError", e.parameter(), e.message());
    }
}

}  // namespace

std::vector<double> parse_numbers(const std::string& parameter, const std::string& value) {
    return dali([&] { return fits::parse_numbers(parameter, value); });
}

long parse_pixel_index(const std::string& parameter, const std::string& token) {
    std::string t = token;
    if (!t.empty() && t[0] == '+') t.erase(0, 1);
    const char* b = t.data();
    const char* e = t.data() + t.size();
    constexpr long kMax = std::numeric_limits<long>::max(), kMin = std::numeric_limits<long>::min();
    // An integer literal, exact, saturated when out of range.
    long n = 0;
    const auto [iptr, iec] = std::from_chars(b, e, n);
    if (!t.empty() && iptr == e) {
        if (iec == std::errc()) return n;
        if (iec == std::errc::result_out_of_range) return t[0] == '-' ? kMin : kMax;
    }
    // A real literal with an integral value (1e300, +Inf), saturated.
    double d = 0;
    const auto [dptr, dec] = std::from_chars(b, e, d);
    if (t.empty() || dptr != e || (dec != std::errc() && dec != std::errc::result_out_of_range))
        usage(parameter, "not a pixel index: '" + token + "'");
    if (dec == std::errc::result_out_of_range) {
        // Too large or too small for a double: 1e999 saturates, 1e-999 is no integer.
        const auto epos = t.find_first_of("eE");
        if (epos == std::string::npos || t.find('-', epos) != std::string::npos)
            usage(parameter, "pixel indices must be integers, got '" + token + "'");
        return t[0] == '-' ? kMin : kMax;
    }
    if (std::isnan(d)) usage(parameter, "NaN is not allowed");
    if (d != std::floor(d)) usage(parameter, "pixel indices must be integers, got '" + token + "'");
    // 2^63 (exactly representable) and above saturate; below, the cast is exact.
    if (d >= 9223372036854775808.0) return kMax;
    if (d < -9223372036854775808.0) return kMin;
    return static_cast<long>(d);
}

bool Params::empty() const { return regions.empty() && !band && !time && pol.empty() && pixel.empty(); }

std::string Params::describe() const {
    std::ostringstream os;
    os.precision(15);
    for (const auto& r : regions) os << r.parameter << "=" << r.text << " ";
    if (band) os << "BAND=" << band->lo << " " << band->hi << " ";
    if (time) os << "TIME=" << time->lo << " " << time->hi << " ";
    for (const auto& p : pol) os << "POL=" << p << " ";
    for (const auto& [axis, range] : pixel) os << "PIXEL_" << axis << "=" << range.first << " " << range.second << " ";
    if (meta) os << "META=true ";
    std::string s = os.str();
    if (!s.empty()) s.pop_back();
    return s;
}

Params parse_params(const std::multimap<std::string, std::string>& dali_params) {
    Params params;
    std::map<std::string, int> seen;
    for (const auto& entry : dali_params) {
        // Plain references, not a structured binding: the lambdas below capture
        // them (clang 14, which builds the fuzz targets, cannot capture bindings).
        const std::string& name = entry.first;
        const std::string& raw = entry.second;
        const std::string value = trim(raw);
        if (value.empty()) continue;
        const bool is_pixel = name.rfind("PIXEL_", 0) == 0;
        const bool filter = name == "POS" || name == "CIRCLE" || name == "POLYGON" || name == "BAND" ||
                            name == "TIME" || name == "META" || is_pixel;
        if (filter && ++seen[name] > 1)
            throw SodaError(400, "MultiValuedParamNotSupported", name,
                            "only one value is supported by the sync service (one request gives one FITS file)");
        if (name == "POS") {
            params.regions.push_back(dali([&] { return fits::parse_pos(name, value); }));
        } else if (name == "CIRCLE") {
            params.regions.push_back(dali([&] { return fits::parse_circle(name, value); }));
        } else if (name == "POLYGON") {
            params.regions.push_back(dali([&] { return fits::parse_polygon(name, value); }));
        } else if (name == "BAND") {
            params.band = dali([&] { return fits::parse_interval(name, value); });
        } else if (name == "TIME") {
            params.time = dali([&] { return fits::parse_interval(name, value); });
        } else if (name == "POL") {
            const std::string state = dali([&] { return fits::parse_pol_state(name, value); });
            if (std::find(params.pol.begin(), params.pol.end(), state) == params.pol.end()) params.pol.push_back(state);
        } else if (is_pixel) {
            const std::string n = name.substr(6);
            int axis = 0;
            auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), axis);
            if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || axis < 1 || axis > 999)
                usage(name, "expected PIXEL_n with n an axis number >= 1");
            std::vector<long> v;
            {
                std::istringstream is(value);
                std::string tok;
                while (is >> tok) v.push_back(parse_pixel_index(name, tok));
            }
            if (v.size() != 2)
                usage(name,
                      "expected two 1-based pixel indices 'first last', got " + std::to_string(v.size()) + " values");
            if (v[0] < 1 || v[0] > v[1])
                usage(name, "need 1 <= first <= last, got " + std::to_string(v[0]) + " " + std::to_string(v[1]));
            params.pixel[axis] = {v[0], v[1]};
        } else if (name == "META") {
            if (value == "true" || value == "1" || value == "TRUE" || value == "True")
                params.meta = true;
            else if (value == "false" || value == "0" || value == "FALSE" || value == "False")
                params.meta = false;
            else
                usage(name, "expected a DALI boolean (true, false, 1, 0), got '" + value + "'");
        }
    }
    return params;
}

}  // namespace vo::soda
