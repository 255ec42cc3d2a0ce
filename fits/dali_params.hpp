// DALI 1.1 literal parsers (DALI 1.1 section 3.3: numbers with +Inf/-Inf,
// intervals, circle, polygon; SODA 1.0 section 3.3.1 POS with CIRCLE, RANGE
// and POLYGON; SODA 1.0 section 3.3.6 / ObsCore 1.1 B.6.5.1 polarization
// states), shared by SODA (soda/), SIAv2 and DataLink (server/, obscore/).
// Moved from soda/params.cpp (issue 8 item 3).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vo::fits {

/// A malformed DALI value. parameter(): the parameter named by the caller
/// (e.g. "CIRCLE"); message(): what is wrong, without the parameter (e.g.
/// "radius must be in (0,180] degrees, got -1"); what() is
/// "<parameter>: <message>".
class DaliError : public std::invalid_argument {
public:
    DaliError(std::string parameter, std::string message);
    const std::string& parameter() const noexcept { return parameter_; }
    const std::string& message() const noexcept { return message_; }

private:
    std::string parameter_;
    std::string message_;
};

/// A closed numeric interval [lo, hi] (DALI 1.1 section 3.3.4). Either limit
/// may be -inf/+inf for an open interval; lo <= hi always holds after parsing.
struct Interval {
    double lo = 0.0;
    double hi = 0.0;
};

/// A sky region in ICRS degrees, from POS (SODA 1.0 section 3.3.1), CIRCLE
/// (3.3.2) or POLYGON (3.3.3).
///
/// - Circle: center (lon, lat) in degrees, radius in degrees, (0, 180].
/// - Range: lon_min..lon_max, lat_min..lat_max in degrees (POS=RANGE). Infinite
///   limits are clamped to the sphere ([0,360], [-90,90]). lon_min > lon_max
///   denotes a range crossing longitude 0 (e.g. 350 10).
/// - Polygon: >= 3 vertices (lon, lat) in degrees joined by great circles. The
///   region is the smaller of the two areas the boundary encloses, whatever the
///   winding (DALI asks counter-clockwise, but many clients send clockwise).
struct SkyRegion {
    enum class Shape { Circle, Range, Polygon };
    Shape shape = Shape::Circle;
    double lon = 0, lat = 0, radius = 0;                             ///< Circle
    double lon_min = 0, lon_max = 360, lat_min = -90, lat_max = 90;  ///< Range
    std::vector<std::pair<double, double>> vertices;                 ///< Polygon (lon, lat)
    std::string parameter;  ///< where it came from: "POS", "CIRCLE" or "POLYGON"
    std::string text;       ///< the value as received, for the HISTORY card
};

/// Parses a whitespace-separated list of DALI numbers ("12 -Inf +Inf 3.5e-7";
/// DALI 1.1 section 3.2.3 double, with a leading '+' accepted).
/// Throws DaliError(parameter) on any non-number ("not a number: 'x'") or NaN.
std::vector<double> parse_numbers(const std::string& parameter, const std::string& value);

/// Parses a DALI interval "lo hi" (DALI 1.1 section 3.3.4; -Inf/+Inf for open
/// ends). Throws DaliError for a count other than 2, NaN, or lo > hi.
Interval parse_interval(const std::string& parameter, const std::string& value);

/// Parses a DALI circle "lon lat radius" (degrees; DALI 1.1 section 3.3.6,
/// SODA 1.0 section 3.3.2). Throws DaliError for a count other than 3, an
/// infinite value, lon outside [0,360], lat outside [-90,90] or a radius
/// outside (0,180].
SkyRegion parse_circle(const std::string& parameter, const std::string& value);

/// Parses a DALI polygon "lon1 lat1 lon2 lat2 ..." (degrees; DALI 1.1 section
/// 3.3.7, SODA 1.0 section 3.3.3). Throws DaliError for an odd count, fewer
/// than 3 vertices, an infinite value or a coordinate off the sphere.
SkyRegion parse_polygon(const std::string& parameter, const std::string& value);

/// Parses a SODA 1.0 section 3.3.1 POS value: "CIRCLE lon lat r", "RANGE lon1
/// lon2 lat1 lat2" (limits may be -Inf/+Inf: clamped to the sphere; lon1 > lon2
/// crosses longitude 0) or "POLYGON lon lat ..." (shape name case-insensitive).
/// Throws DaliError for an unknown shape or bad numbers as above.
SkyRegion parse_pos(const std::string& parameter, const std::string& value);

/// The polarization state labels of SODA 1.0 section 3.3.6 / ObsCore 1.1
/// B.6.5.1 in their canonical order: I Q U V RR LL RL LR XX YY XY YX.
const std::vector<std::string>& pol_state_labels();

/// Checks one POL value (case-sensitive label) and returns it. Throws
/// DaliError ("unknown polarization state 'x' (expected one of ...)").
std::string parse_pol_state(const std::string& parameter, const std::string& value);

/// The label of a FITS STOKES axis value (WCS Paper I Table 7: 1..4 = I Q U
/// V, -1..-8 = RR LL RL LR XX YY XY YX), or nullptr for another code.
const char* stokes_label(int code);

}  // namespace vo::fits
