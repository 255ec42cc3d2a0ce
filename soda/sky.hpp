// Spherical geometry of SODA sky regions (SODA 1.0 sections 3.3.1-3.3.3):
// point containment and boundary parametrisation for sampling. The frame
// conversions between ICRS and the product's frame are in fits/sky_frames.hpp.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "soda/params.hpp"

class S2Loop;

namespace vo::soda {

/// Angular distance in degrees between two (lon, lat) points in degrees.
double angular_distance_deg(double lon1, double lat1, double lon2, double lat2);

/// A direction as a Cartesian unit vector (x towards lon 0 lat 0, z towards
/// lat +90), for repeated distance computations without trigonometry.
struct UnitVector {
    double x = 0, y = 0, z = 1;
};
/// The unit vector of (lon, lat) in degrees.
UnitVector unit_vector(double lon, double lat);
/// Angular distance in degrees between two unit vectors; equal to
/// angular_distance_deg of their (lon, lat) to the last bit.
double angular_distance_deg(const UnitVector& a, const UnitVector& b);

/// A SkyRegion ready for geometric queries (all in ICRS degrees).
class RegionGeometry {
public:
    /// Throws SodaError(400, "UsageError", region.parameter) for a polygon S2
    /// rejects (self-intersecting, degenerate edges).
    explicit RegionGeometry(const SkyRegion& region);
    ~RegionGeometry();
    RegionGeometry(RegionGeometry&&) noexcept;

    /// True if (lon, lat) is inside or on the boundary (within 1e-9 deg).
    bool contains(double lon, double lat) const;
    /// The boundary as a closed curve parametrised on t in [0, 1]: circle by
    /// position angle, polygon by great-circle edges, range by its 4 edges
    /// (parallels and meridians).
    std::pair<double, double> boundary_point(double t) const;
    /// Points that must be inside the cut if inside the image: the circle
    /// centre, the polygon vertices, the range corners and centre.
    std::vector<std::pair<double, double>> anchors() const;

private:
    SkyRegion region_;
    std::unique_ptr<S2Loop> loop_;
    // Circle: centre c and the orthonormal basis (e1 towards increasing
    // longitude, e2 = c x e1), cos and sin of the radius.
    double c_[3] = {0, 0, 1}, e1_[3] = {0, 1, 0}, e2_[3] = {1, 0, 0};
    double cos_r_ = 1, sin_r_ = 0;
};

}  // namespace vo::soda
