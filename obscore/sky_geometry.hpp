// Exact spherical geometry of ADQL's region values on the unit sphere, with
// S2: what CONTAINS and INTERSECTS (ADQL 2.1 sections 4.2.7, 4.2.11) answer
// for points, circles, polygons and coordinate ranges given as DALI 1.1 text
// (section 3.3; obscore/geometry_text.hpp). The SQLite store's SQL functions
// (obscore/sql_functions.cpp) and the PostgreSQL native functions
// (pgext/voserver_pg.cpp) both evaluate through this unit, so both backends
// answer the same.
//
// Polygon interior: DALI 1.1 section 3.3.7 asks for counter-clockwise
// vertices, but real archives and clients send both orders, so the interior
// is the smaller of the two regions the boundary defines (S2Loop::Normalize),
// the same for every polygon smaller than a hemisphere, whatever its order,
// including polygons that contain a pole or cross RA = 0.
#pragma once

#include <s2/s2cap.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2point.h>
#include <s2/s2polygon.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vo::obscore::sky {

/// A parsed geometry value and its S2 form.
struct Shape {
    enum class Type { Point, Circle, Polygon, Range };
    Type type = Type::Point;
    std::vector<double> values;          ///< the numbers as given (degrees), as GeometryText::values
    S2Point point;                       ///< Point; Circle centre
    S2Cap cap;                           ///< Circle (radius capped at 180 degrees)
    std::unique_ptr<S2Polygon> polygon;  ///< Polygon: one normalized loop
    S2LatLngRect rect;                   ///< Range
};

/// The unit vector of (ra, dec) in degrees; both must be finite (S2 aborts
/// on NaN), dec within [-90, 90].
S2Point to_point(double ra, double dec);

/// Builds a polygon from vertices (ra1, dec1, ra2, dec2, ...) in degrees:
/// consecutive duplicate vertices (and a closing one) dropped, at least 3
/// distinct vertices, a valid S2 loop, then normalized (the smaller region).
/// Returns nullptr with `error` set otherwise. When `points` is given it
/// receives the vertices as the loop was built from them (before Normalize).
std::unique_ptr<S2Polygon> make_polygon(const std::vector<double>& v, std::string& error,
                                        std::vector<S2Point>* points = nullptr);

/// Parses a geometry value (DALI text or STC-S, obscore/geometry_text.hpp)
/// and builds its shape; nullptr and `error` set (a message naming the
/// problem) for an invalid value.
std::unique_ptr<Shape> parse(std::string_view text, std::string& error);

/// True when point `p` lies in `b` (a point: within 1e-13 radians).
bool point_in(const S2Point& p, const Shape& b);

/// ADQL 2.1 section 4.2.7: every point of `a` lies in `b`.
bool contains(const Shape& a, const Shape& b);

/// ADQL 2.1 section 4.2.11: `a` and `b` share a point.
bool intersects(const Shape& a, const Shape& b);

/// The cone test CONTAINS(POINT(ra, dec), CIRCLE(cra, cdec, r)), degrees:
/// false when either latitude is outside [-90, 90]; a radius below 0 counts
/// as 0, above 180 as 180. Both right ascensions must be finite.
bool point_in_circle(double ra, double dec, double cra, double cdec, double r);

}  // namespace vo::obscore::sky
