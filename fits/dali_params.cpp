#include "fits/dali_params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace vo::fits {

DaliError::DaliError(std::string parameter, std::string message)
    : std::invalid_argument(parameter + ": " + message),
      parameter_(std::move(parameter)),
      message_(std::move(message)) {}

namespace {

[[noreturn]] void usage(const std::string& parameter, const std::string& message) {
    throw DaliError(parameter, message);
}

std::string fmt(double v) {
    std::ostringstream os;
    os.precision(12);
    os << v;
    return os.str();
}

void check_lon(const std::string& p, double lon) {
    if (!(lon >= 0.0 && lon <= 360.0)) usage(p, "longitude must be in [0,360] degrees, got " + fmt(lon));
}
void check_lat(const std::string& p, double lat) {
    if (!(lat >= -90.0 && lat <= 90.0)) usage(p, "latitude must be in [-90,90] degrees, got " + fmt(lat));
}

SkyRegion circle_of(const std::string& p, const std::vector<double>& v, const std::string& text) {
    if (v.size() != 3)
        usage(p, "a circle needs 3 numbers (longitude latitude radius), got " + std::to_string(v.size()));
    SkyRegion r;
    r.shape = SkyRegion::Shape::Circle;
    r.lon = v[0];
    r.lat = v[1];
    r.radius = v[2];
    check_lon(p, r.lon);
    check_lat(p, r.lat);
    if (!(r.radius > 0.0 && r.radius <= 180.0)) usage(p, "radius must be in (0,180] degrees, got " + fmt(r.radius));
    r.parameter = p;
    r.text = text;
    return r;
}

SkyRegion polygon_of(const std::string& p, const std::vector<double>& v, const std::string& text) {
    if (v.size() % 2 != 0)
        usage(p,
              "a polygon needs an even number of values (longitude latitude pairs), got " + std::to_string(v.size()));
    if (v.size() < 6) usage(p, "a polygon needs at least 3 vertices, got " + std::to_string(v.size() / 2));
    SkyRegion r;
    r.shape = SkyRegion::Shape::Polygon;
    for (std::size_t i = 0; i < v.size(); i += 2) {
        check_lon(p, v[i]);
        check_lat(p, v[i + 1]);
        r.vertices.emplace_back(v[i], v[i + 1]);
    }
    r.parameter = p;
    r.text = text;
    return r;
}

SkyRegion range_of(const std::string& p, const std::vector<double>& v, const std::string& text) {
    if (v.size() != 4) usage(p, "RANGE needs 4 numbers (lon1 lon2 lat1 lat2), got " + std::to_string(v.size()));
    SkyRegion r;
    r.shape = SkyRegion::Shape::Range;
    for (int i = 0; i < 2; ++i) {
        if (std::isfinite(v[i])) check_lon(p, v[i]);
        if (std::isfinite(v[2 + i])) check_lat(p, v[2 + i]);
    }
    r.lon_min = std::isinf(v[0]) ? (v[0] < 0 ? 0.0 : 360.0) : v[0];
    r.lon_max = std::isinf(v[1]) ? (v[1] < 0 ? 0.0 : 360.0) : v[1];
    if (std::isinf(v[0]) && v[0] < 0 && std::isinf(v[1]) && v[1] > 0) r.lon_min = 0, r.lon_max = 360;
    r.lat_min = std::clamp(v[2], -90.0, 90.0);
    r.lat_max = std::clamp(v[3], -90.0, 90.0);
    if (r.lat_min > r.lat_max)
        usage(p, "RANGE latitude interval has min > max (" + fmt(v[2]) + " > " + fmt(v[3]) + ")");
    r.parameter = p;
    r.text = text;
    return r;
}

std::vector<double> finite_numbers(const std::string& p, const std::string& value) {
    auto v = parse_numbers(p, value);
    for (double x : v)
        if (std::isinf(x)) usage(p, "infinite values are not allowed");
    return v;
}

}  // namespace

std::vector<double> parse_numbers(const std::string& parameter, const std::string& value) {
    std::vector<double> out;
    std::istringstream is(value);
    std::string tok;
    while (is >> tok) {
        std::string t = tok;
        if (!t.empty() && t[0] == '+') t.erase(0, 1);
        double d = 0;
        const char* b = t.data();
        const char* e = t.data() + t.size();
        auto [ptr, ec] = std::from_chars(b, e, d);
        if (t.empty() || ec != std::errc() || ptr != e) usage(parameter, "not a number: '" + tok + "'");
        if (std::isnan(d)) usage(parameter, "NaN is not allowed");
        out.push_back(d);
    }
    return out;
}

Interval parse_interval(const std::string& p, const std::string& value) {
    const auto v = parse_numbers(p, value);
    if (v.size() != 2) usage(p, "an interval needs 2 numbers (min max), got " + std::to_string(v.size()));
    if (v[0] > v[1]) usage(p, "interval min > max (" + fmt(v[0]) + " > " + fmt(v[1]) + ")");
    return {v[0], v[1]};
}

SkyRegion parse_circle(const std::string& p, const std::string& value) {
    return circle_of(p, finite_numbers(p, value), value);
}

SkyRegion parse_polygon(const std::string& p, const std::string& value) {
    return polygon_of(p, finite_numbers(p, value), value);
}

SkyRegion parse_pos(const std::string& p, const std::string& value) {
    std::istringstream is(value);
    std::string shape;
    is >> shape;
    std::string rest;
    std::getline(is, rest);
    std::string upper = shape;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    const auto nums = parse_numbers(p, rest);
    if (upper == "CIRCLE") return circle_of(p, nums, value);
    if (upper == "POLYGON") return polygon_of(p, nums, value);
    if (upper == "RANGE") return range_of(p, nums, value);
    usage(p, "unknown shape '" + shape + "' (expected CIRCLE, RANGE or POLYGON)");
}

const std::vector<std::string>& pol_state_labels() {
    static const std::vector<std::string> s{"I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX"};
    return s;
}

std::string parse_pol_state(const std::string& p, const std::string& value) {
    const auto& l = pol_state_labels();
    if (std::find(l.begin(), l.end(), value) == l.end())
        usage(p, "unknown polarization state '" + value + "' (expected one of I Q U V RR LL RL LR XX YY XY YX)");
    return value;
}

const char* stokes_label(int code) {
    switch (code) {
        case 1: return "I";
        case 2: return "Q";
        case 3: return "U";
        case 4: return "V";
        case -1: return "RR";
        case -2: return "LL";
        case -3: return "RL";
        case -4: return "LR";
        case -5: return "XX";
        case -6: return "YY";
        case -7: return "XY";
        case -8: return "YX";
        default: return nullptr;
    }
}

}  // namespace vo::fits
