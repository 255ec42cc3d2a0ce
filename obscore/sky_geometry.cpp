// Exact spherical geometry of ADQL's region values (obscore/sky_geometry.hpp).
#include "obscore/sky_geometry.hpp"
#include "obscore/geometry_text.hpp"

#include <s2/s1angle.h>
#include <s2/s1chord_angle.h>
#include <s2/s2latlng.h>
#include <s2/s2loop.h>

#include <algorithm>
#include <cmath>

namespace vo::obscore::sky {

S2Point to_point(double ra, double dec) { return S2LatLng::FromDegrees(dec, ra).Normalized().ToPoint(); }

/// Builds a polygon from vertices in degrees; error text on failure. When
/// `points` is given, it receives the vertices as the loop was built from
/// them (unit vectors, consecutive duplicates dropped, before Normalize), the
/// content of a binary footprint (encode_footprint).
std::unique_ptr<S2Polygon> make_polygon(const std::vector<double>& v, std::string& error,
                                        std::vector<S2Point>* points) {
    std::vector<S2Point> pts;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
        if (!valid_latitude(v[i + 1]) || !std::isfinite(v[i])) {
            error = std::isfinite(v[i]) ? "polygon vertex latitude out of [-90, 90]"
                                        : "polygon vertex right ascension is not a finite number";
            return nullptr;
        }
        S2Point p = to_point(v[i], v[i + 1]);
        if (!pts.empty() && S1Angle(pts.back(), p).radians() < 1e-15) continue;
        pts.push_back(p);
    }
    if (pts.size() > 3 && S1Angle(pts.front(), pts.back()).radians() < 1e-15) pts.pop_back();
    if (pts.size() < 3) {
        error = "a polygon needs at least three distinct vertices";
        return nullptr;
    }
    auto loop = std::make_unique<S2Loop>(pts, S2Debug::DISABLE);
    S2Error err;
    if (loop->FindValidationError(&err)) {
        error = "invalid polygon (" + err.text() + ")";
        return nullptr;
    }
    if (points) *points = std::move(pts);
    loop->Normalize();  // the smaller of the two regions
    return std::make_unique<S2Polygon>(std::move(loop), S2Debug::DISABLE);
}

/// Parses a geometry value (obscore/geometry_text.hpp) and builds its S2
/// form; nullptr and `error` set on failure.
std::unique_ptr<Shape> parse(std::string_view text, std::string& error) {
    auto parsed = parse_geometry_text(text, error);
    if (!parsed) return nullptr;
    auto g = std::make_unique<Shape>();
    g->values = std::move(parsed->values);
    const auto& v = g->values;
    switch (parsed->kind) {
        case GeometryText::Kind::range: {
            g->type = Shape::Type::Range;
            double lo = std::remainder(v[0] * kDeg, 2 * kPi), hi = std::remainder(v[1] * kDeg, 2 * kPi);
            S1Interval lng = (v[1] - v[0] >= 360.0) ? S1Interval::Full() : S1Interval(lo, hi);
            g->rect = S2LatLngRect(R1Interval(v[2] * kDeg, v[3] * kDeg), lng);
            return g;
        }
        case GeometryText::Kind::point:
            g->type = Shape::Type::Point;
            g->point = to_point(v[0], v[1]);
            return g;
        case GeometryText::Kind::circle:
            g->type = Shape::Type::Circle;
            g->point = to_point(v[0], v[1]);
            g->cap = S2Cap(g->point, S1Angle::Degrees(std::min(v[2], 180.0)));
            return g;
        case GeometryText::Kind::polygon:
            g->type = Shape::Type::Polygon;
            g->polygon = make_polygon(v, error);
            if (!g->polygon) return nullptr;
            return g;
    }
    return nullptr;
}

// Fallback polygon approximations for rare combinations (range vs polygon
// containment): a circle as a 256-gon, a range with 0.25 degree steps.
static std::unique_ptr<S2Polygon> approx_polygon(const Shape& g) {
    std::vector<S2Point> pts;
    if (g.type == Shape::Type::Circle) {
        // A regular loop of 256 vertices; a radius of 0 or 180 degrees would
        // make it degenerate, which the Debian libs2 aborts on (S2 check
        // IsValid(); found by geometry_fuzz): 180 and more is the whole sky,
        // and the radius is kept within [1e-5, 179.99] degrees.
        const double r = g.cap.radius().ToAngle().degrees();
        if (r >= 180.0) return std::make_unique<S2Polygon>(std::make_unique<S2Loop>(S2Loop::kFull()));
        auto loop = S2Loop::MakeRegularLoop(g.point, S1Angle::Degrees(std::clamp(r, 1e-5, 179.99)), 256);
        return std::make_unique<S2Polygon>(std::move(loop));
    }
    if (g.type == Shape::Type::Range) {
        const auto& r = g.rect;
        double lo = r.lng_lo().degrees(), width = r.lng().GetLength() / kDeg;
        double la = r.lat_lo().degrees(), lb = r.lat_hi().degrees();
        int n = std::max(2, static_cast<int>(width / 0.25));
        for (int k = 0; k <= n; ++k) pts.push_back(to_point(lo + width * k / n, la));
        for (int k = n; k >= 0; --k) pts.push_back(to_point(lo + width * k / n, lb));
        auto loop = std::make_unique<S2Loop>(pts, S2Debug::DISABLE);
        loop->Normalize();
        return std::make_unique<S2Polygon>(std::move(loop), S2Debug::DISABLE);
    }
    return nullptr;
}

static std::unique_ptr<S2Polygon> approx_polygon_or_self(const Shape& g);

bool point_in(const S2Point& p, const Shape& b) {
    switch (b.type) {
        case Shape::Type::Point: return S1Angle(p, b.point).radians() < 1e-13;
        case Shape::Type::Circle: return b.cap.Contains(p);
        case Shape::Type::Polygon: return b.polygon->Contains(p);
        case Shape::Type::Range: return b.rect.Contains(S2LatLng(p));
    }
    return false;
}

/// ADQL 2.1 section 4.2.12: a is wholly inside b.
bool contains(const Shape& a, const Shape& b) {
    if (a.type == Shape::Type::Point) return point_in(a.point, b);
    if (b.type == Shape::Type::Point) return false;
    switch (b.type) {
        case Shape::Type::Circle:
            if (a.type == Shape::Type::Circle) return b.cap.Contains(a.cap);
            if (a.type == Shape::Type::Polygon) {
                // great-circle edges between points of a cap of radius <= 90 deg stay inside it
                if (b.cap.radius().ToAngle().degrees() <= 90.0) {
                    const S2Loop* l = a.polygon->loop(0);
                    for (int k = 0; k < l->num_vertices(); ++k)
                        if (!b.cap.Contains(l->vertex(k))) return false;
                    return true;
                }
            }
            return approx_polygon(b)->Contains(*approx_polygon_or_self(a));
        case Shape::Type::Polygon:
            if (a.type == Shape::Type::Circle)
                return b.polygon->Contains(a.point) &&
                       b.polygon->GetDistanceToBoundary(a.point) >= a.cap.radius().ToAngle();
            if (a.type == Shape::Type::Polygon) return b.polygon->Contains(*a.polygon);
            return b.polygon->Contains(*approx_polygon(a));
        case Shape::Type::Range:
            if (a.type == Shape::Type::Circle) return b.rect.Contains(a.cap.GetRectBound());
            if (a.type == Shape::Type::Polygon) return b.rect.Contains(a.polygon->GetRectBound());
            return b.rect.Contains(a.rect);
        default: return false;
    }
}

static bool range_intersects_polygon(const S2LatLngRect& r, const S2Polygon& p) {
    const S2Loop* l = p.loop(0);
    int n = l->num_vertices();
    for (int k = 0; k < n; ++k)
        if (r.Contains(S2LatLng(l->vertex(k)))) return true;
    for (int k = 0; k < 4; ++k)
        if (p.Contains(r.GetVertex(k).ToPoint())) return true;
    for (int k = 0; k < n; ++k)
        if (r.BoundaryIntersects(l->vertex(k), l->vertex((k + 1) % n))) return true;
    return false;
}

/// ADQL 2.1 section 4.2.17.
bool intersects(const Shape& a, const Shape& b) {
    if (a.type == Shape::Type::Point) return point_in(a.point, b);
    if (b.type == Shape::Type::Point) return point_in(b.point, a);
    const Shape* x = &a;
    const Shape* y = &b;
    if (static_cast<int>(x->type) > static_cast<int>(y->type)) std::swap(x, y);
    // now x->type <= y->type in Circle < Polygon < Range
    if (x->type == Shape::Type::Circle) {
        S1Angle r = x->cap.radius().ToAngle();
        if (y->type == Shape::Type::Circle) return S1Angle(x->point, y->point) <= r + y->cap.radius().ToAngle();
        if (y->type == Shape::Type::Polygon) return y->polygon->GetDistance(x->point) <= r;
        return y->rect.GetDistance(S2LatLng(x->point)) <= r;
    }
    if (x->type == Shape::Type::Polygon) {
        if (y->type == Shape::Type::Polygon) return x->polygon->Intersects(*y->polygon);
        return range_intersects_polygon(y->rect, *x->polygon);
    }
    return x->rect.Intersects(y->rect);
}

static std::unique_ptr<S2Polygon> approx_polygon_or_self(const Shape& g) {
    if (g.type == Shape::Type::Polygon)
        return std::make_unique<S2Polygon>(std::unique_ptr<S2Loop>(g.polygon->loop(0)->Clone()));
    return approx_polygon(g);
}

bool point_in_circle(double ra, double dec, double cra, double cdec, double r) {
    if (!valid_latitude(dec) || !valid_latitude(cdec)) return false;
    S1ChordAngle radius(S1Angle::Degrees(std::min(std::max(r, 0.0), 180.0)));
    return S1ChordAngle(to_point(ra, dec), to_point(cra, cdec)) <= radius;
}

}  // namespace vo::obscore::sky
