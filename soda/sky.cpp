#include "soda/sky.hpp"

#include <s2/s2latlng.h>
#include <s2/s2loop.h>
#include <s2/s2point.h>

#include <algorithm>
#include <cmath>

namespace vo::soda {

namespace {

constexpr double kDeg = M_PI / 180.0;

// S2LatLng wants longitudes in [-180, 180].
S2Point s2_point(double lon, double lat) {
    if (lon > 180.0) lon -= 360.0;
    return S2LatLng::FromDegrees(lat, lon).ToPoint();
}

struct V3 {
    double x, y, z;
};

V3 to_v3(double lon, double lat) {
    const double cl = std::cos(lat * kDeg);
    return {cl * std::cos(lon * kDeg), cl * std::sin(lon * kDeg), std::sin(lat * kDeg)};
}

std::pair<double, double> to_lonlat(const V3& v) {
    double lon = std::atan2(v.y, v.x) / kDeg;
    if (lon < 0) lon += 360.0;
    if (lon >= 360.0) lon -= 360.0;
    const double r = std::sqrt(v.x * v.x + v.y * v.y);
    const double lat = std::atan2(v.z, r) / kDeg;
    return {lon, lat};
}

}  // namespace

UnitVector unit_vector(double lon, double lat) {
    const V3 v = to_v3(lon, lat);
    return {v.x, v.y, v.z};
}

double angular_distance_deg(double lon1, double lat1, double lon2, double lat2) {
    return angular_distance_deg(unit_vector(lon1, lat1), unit_vector(lon2, lat2));
}

double angular_distance_deg(const UnitVector& a, const UnitVector& b) {
    // Haversine-free robust form: atan2(|a x b|, a.b).
    const double cx = a.y * b.z - a.z * b.y, cy = a.z * b.x - a.x * b.z, cz = a.x * b.y - a.y * b.x;
    const double s = std::sqrt(cx * cx + cy * cy + cz * cz);
    const double c = a.x * b.x + a.y * b.y + a.z * b.z;
    return std::atan2(s, c) / kDeg;
}

RegionGeometry::RegionGeometry(const SkyRegion& region) : region_(region) {
    if (region_.shape == SkyRegion::Shape::Circle) {
        // Orthonormal basis (c, e1, e2) for boundary_point: valid at the poles too.
        const V3 c = to_v3(region_.lon, region_.lat);
        V3 e1{-c.y, c.x, 0.0};  // z x c: towards increasing longitude
        double n1 = std::sqrt(e1.x * e1.x + e1.y * e1.y);
        if (n1 < 1e-12) e1 = {0.0, 1.0, 0.0}, n1 = 1.0;
        e1 = {e1.x / n1, e1.y / n1, 0.0};
        const V3 e2{c.y * e1.z - c.z * e1.y, c.z * e1.x - c.x * e1.z, c.x * e1.y - c.y * e1.x};  // c x e1
        c_[0] = c.x, c_[1] = c.y, c_[2] = c.z;
        e1_[0] = e1.x, e1_[1] = e1.y, e1_[2] = e1.z;
        e2_[0] = e2.x, e2_[1] = e2.y, e2_[2] = e2.z;
        const double r = region_.radius * kDeg;
        cos_r_ = std::cos(r), sin_r_ = std::sin(r);
    }
    if (region_.shape != SkyRegion::Shape::Polygon) return;
    std::vector<S2Point> pts;
    for (const auto& [lon, lat] : region_.vertices) {
        S2Point p = s2_point(lon, lat);
        if (!pts.empty() && (pts.back() == p)) continue;  // drop repeated vertices
        pts.push_back(p);
    }
    while (pts.size() > 1 && pts.front() == pts.back()) pts.pop_back();  // explicitly closed polygon
    if (pts.size() < 3)
        throw SodaError(400, "UsageError", region_.parameter, "polygon has fewer than 3 distinct vertices");
    loop_ = std::make_unique<S2Loop>(pts, S2Debug::DISABLE);
    S2Error error;
    if (loop_->FindValidationError(&error))
        throw SodaError(400, "UsageError", region_.parameter, "invalid polygon: " + error.text());
    loop_->Normalize();  // the smaller of the two regions, whatever the winding
}

RegionGeometry::~RegionGeometry() = default;
RegionGeometry::RegionGeometry(RegionGeometry&&) noexcept = default;

bool RegionGeometry::contains(double lon, double lat) const {
    constexpr double eps = 1e-9;
    switch (region_.shape) {
        case SkyRegion::Shape::Circle:
            return angular_distance_deg(lon, lat, region_.lon, region_.lat) <= region_.radius + eps;
        case SkyRegion::Shape::Range: {
            if (lat < region_.lat_min - eps || lat > region_.lat_max + eps) return false;
            double span = region_.lon_max - region_.lon_min;
            if (span < 0) span += 360.0;
            if (region_.lon_max - region_.lon_min >= 360.0) return true;
            double d = std::fmod(lon - region_.lon_min, 360.0);
            if (d < 0) d += 360.0;
            return d <= span + eps || d >= 360.0 - eps;
        }
        case SkyRegion::Shape::Polygon: {
            const S2Point p = s2_point(lon, lat);
            if (loop_->Contains(p)) return true;
            // Points on the boundary count as inside: test the distance to each edge.
            const int n = loop_->num_vertices();
            for (int i = 0; i < n; ++i) {
                const S2Point& a = loop_->vertex(i);
                const S2Point& b = loop_->vertex(i + 1);
                S2Point normal = a.CrossProd(b).Normalize();
                const double sd = std::asin(std::clamp(p.DotProd(normal), -1.0, 1.0));
                if (std::fabs(sd) > eps * kDeg) continue;
                // within the edge's span?
                if (a.CrossProd(p).DotProd(normal) >= 0 && p.CrossProd(b).DotProd(normal) >= 0) return true;
            }
            return false;
        }
    }
    return false;
}

std::pair<double, double> RegionGeometry::boundary_point(double t) const {
    t = std::clamp(t, 0.0, 1.0);
    switch (region_.shape) {
        case SkyRegion::Shape::Circle: {
            // Point at angular distance r from the centre c, position angle theta.
            const double theta = 2 * M_PI * t, cr = cos_r_, sr = sin_r_, ct = std::cos(theta), st = std::sin(theta);
            return to_lonlat({cr * c_[0] + sr * (ct * e2_[0] + st * e1_[0]),
                              cr * c_[1] + sr * (ct * e2_[1] + st * e1_[1]),
                              cr * c_[2] + sr * (ct * e2_[2] + st * e1_[2])});
        }
        case SkyRegion::Shape::Range: {
            double span = region_.lon_max - region_.lon_min;
            if (span < 0) span += 360.0;
            if (region_.lon_max - region_.lon_min >= 360.0) span = 360.0;
            const double b1 = region_.lat_min, b2 = region_.lat_max, l1 = region_.lon_min;
            const double u = t * 4.0;
            const int edge = std::min(3, static_cast<int>(u));
            const double f = u - edge;
            double lon = 0, lat = 0;
            switch (edge) {
                case 0: lon = l1 + f * span, lat = b1; break;
                case 1: lon = l1 + span, lat = b1 + f * (b2 - b1); break;
                case 2: lon = l1 + (1 - f) * span, lat = b2; break;
                default: lon = l1, lat = b2 + f * (b1 - b2); break;
            }
            lon = std::fmod(lon, 360.0);
            if (lon < 0) lon += 360.0;
            return {lon, lat};
        }
        case SkyRegion::Shape::Polygon: {
            const int n = loop_->num_vertices();
            const double u = t * n;
            const int i = std::min(n - 1, static_cast<int>(u));
            const double f = u - i;
            const S2Point& a = loop_->vertex(i);
            const S2Point& b = loop_->vertex(i + 1);
            // Spherical linear interpolation along the great circle a -> b.
            const double omega = std::atan2(a.CrossProd(b).Norm(), a.DotProd(b));
            S2Point p;
            if (omega < 1e-15) {
                p = a;
            } else {
                const double s = std::sin(omega);
                p = a * (std::sin((1 - f) * omega) / s) + b * (std::sin(f * omega) / s);
            }
            const S2LatLng ll(p);
            double lon = ll.lng().degrees();
            if (lon < 0) lon += 360.0;
            return {lon, ll.lat().degrees()};
        }
    }
    return {0, 0};
}

std::vector<std::pair<double, double>> RegionGeometry::anchors() const {
    std::vector<std::pair<double, double>> out;
    switch (region_.shape) {
        case SkyRegion::Shape::Circle: out.emplace_back(region_.lon, region_.lat); break;
        case SkyRegion::Shape::Range: {
            double span = region_.lon_max - region_.lon_min;
            if (span < 0) span += 360.0;
            for (double lon : {region_.lon_min, region_.lon_min + span / 2, region_.lon_min + span})
                for (double lat : {region_.lat_min, (region_.lat_min + region_.lat_max) / 2, region_.lat_max})
                    out.emplace_back(std::fmod(lon, 360.0), lat);
            break;
        }
        case SkyRegion::Shape::Polygon:
            for (int i = 0; i < loop_->num_vertices(); ++i) {
                const S2LatLng ll(loop_->vertex(i));
                double lon = ll.lng().degrees();
                if (lon < 0) lon += 360.0;
                out.emplace_back(lon, ll.lat().degrees());
            }
            break;
    }
    return out;
}

}  // namespace vo::soda
