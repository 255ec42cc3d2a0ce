#include "soda/params.hpp"

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

[[noreturn]] void usage(const std::string& parameter, const std::string& message) {
  throw SodaError(400, "UsageError", parameter, message);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
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

SkyRegion parse_circle(const std::string& p, const std::vector<double>& v, const std::string& text) {
  if (v.size() != 3) usage(p, "a circle needs 3 numbers (longitude latitude radius), got " + std::to_string(v.size()));
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

SkyRegion parse_polygon(const std::string& p, const std::vector<double>& v, const std::string& text) {
  if (v.size() % 2 != 0) usage(p, "a polygon needs an even number of values (longitude latitude pairs), got " + std::to_string(v.size()));
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

SkyRegion parse_range(const std::string& p, const std::vector<double>& v, const std::string& text) {
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
  if (r.lat_min > r.lat_max) usage(p, "RANGE latitude interval has min > max (" + fmt(v[2]) + " > " + fmt(v[3]) + ")");
  r.parameter = p;
  r.text = text;
  return r;
}

Interval parse_interval(const std::string& p, const std::string& value) {
  const auto v = parse_numbers(p, value);
  if (v.size() != 2) usage(p, "an interval needs 2 numbers (min max), got " + std::to_string(v.size()));
  if (v[0] > v[1]) usage(p, "interval min > max (" + fmt(v[0]) + " > " + fmt(v[1]) + ")");
  return {v[0], v[1]};
}

const std::set<std::string>& stokes_labels() {
  static const std::set<std::string> s{"I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX"};
  return s;
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

bool Params::empty() const {
  return regions.empty() && !band && !time && pol.empty() && pixel.empty();
}

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
  for (const auto& [name, raw] : dali_params) {
    const std::string value = trim(raw);
    if (value.empty()) continue;
    const bool is_pixel = name.rfind("PIXEL_", 0) == 0;
    const bool filter = name == "POS" || name == "CIRCLE" || name == "POLYGON" || name == "BAND" || name == "TIME" ||
                        name == "META" || is_pixel;
    if (filter && ++seen[name] > 1)
      throw SodaError(400, "MultiValuedParamNotSupported", name,
                      "only one value is supported by the sync service (one request gives one FITS file)");
    if (name == "POS") {
      std::istringstream is(value);
      std::string shape;
      is >> shape;
      std::string rest;
      std::getline(is, rest);
      std::string upper = shape;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
      const auto nums = parse_numbers(name, rest);
      if (upper == "CIRCLE") {
        params.regions.push_back(parse_circle(name, nums, value));
      } else if (upper == "POLYGON") {
        params.regions.push_back(parse_polygon(name, nums, value));
      } else if (upper == "RANGE") {
        params.regions.push_back(parse_range(name, nums, value));
      } else {
        usage(name, "unknown shape '" + shape + "' (expected CIRCLE, RANGE or POLYGON)");
      }
    } else if (name == "CIRCLE") {
      for (double v : parse_numbers(name, value))
        if (std::isinf(v)) usage(name, "infinite values are not allowed");
      params.regions.push_back(parse_circle(name, parse_numbers(name, value), value));
    } else if (name == "POLYGON") {
      for (double v : parse_numbers(name, value))
        if (std::isinf(v)) usage(name, "infinite values are not allowed");
      params.regions.push_back(parse_polygon(name, parse_numbers(name, value), value));
    } else if (name == "BAND") {
      params.band = parse_interval(name, value);
    } else if (name == "TIME") {
      params.time = parse_interval(name, value);
    } else if (name == "POL") {
      if (!stokes_labels().count(value))
        usage(name, "unknown polarization state '" + value + "' (expected one of I Q U V RR LL RL LR XX YY XY YX)");
      if (std::find(params.pol.begin(), params.pol.end(), value) == params.pol.end()) params.pol.push_back(value);
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
      if (v.size() != 2) usage(name, "expected two 1-based pixel indices 'first last', got " + std::to_string(v.size()) + " values");
      if (v[0] < 1 || v[0] > v[1])
        usage(name, "need 1 <= first <= last, got " + std::to_string(v[0]) + " " + std::to_string(v[1]));
      params.pixel[axis] = {v[0], v[1]};
    } else if (name == "META") {
      if (value == "true" || value == "1" || value == "TRUE" || value == "True") params.meta = true;
      else if (value == "false" || value == "0" || value == "FALSE" || value == "False") params.meta = false;
      else usage(name, "expected a DALI boolean (true, false, 1, 0), got '" + value + "'");
    }
  }
  return params;
}

}  // namespace vo::soda
