// The text form of ADQL/DALI geometry values as voserver's SQL functions
// exchange them (space-separated degrees: "ra dec" a point, "ra dec r" a
// circle, "ra1 dec1 ra2 dec2 ..." a polygon, "range lo hi lo hi" a
// coordinate range), and STC-S as ObsCore's s_region holds it ("Polygon
// ICRS ...", "Circle ICRS ...", "Position ICRS ..."). Parsing and checking
// needs no spherical-geometry library, so this unit (a parser of
// client-supplied text) is built and fuzzed under AddressSanitizer; the S2
// adapter (obscore/sql_functions.cpp) builds shapes from what it returns.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vo::obscore {

inline constexpr double kPi = 3.14159265358979323846;
/// Radians per degree.
inline constexpr double kDeg = kPi / 180.0;

/// A latitude in degrees within [-90, 90] (and finite).
inline bool valid_latitude(double dec) { return std::isfinite(dec) && dec >= -90.0 && dec <= 90.0; }

/// A parsed geometry value: its kind and its numbers in degrees, as given.
struct GeometryText {
    enum class Kind { point, circle, polygon, range };
    Kind kind = Kind::point;
    /// point: ra, dec; circle: ra, dec, radius; polygon: ra1, dec1, ... (at
    /// least 3 vertices); range: ra_lo, ra_hi, dec_lo, dec_hi.
    std::vector<double> values;
};

/// Parses `text` (see above). Every number finite; latitudes within [-90,
/// 90]; a circle's radius >= 0; a range's latitudes ordered; a polygon an
/// even count >= 6. On failure returns nullopt and sets `error` to a message
/// naming the problem (e.g. "point latitude out of [-90, 90]").
std::optional<GeometryText> parse_geometry_text(std::string_view text, std::string& error);

}  // namespace vo::obscore
