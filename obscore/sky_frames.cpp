#include "obscore/sky_frames.hpp"

#include <array>
#include <cmath>

namespace vo::obscore {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;
using Vec = std::array<double, 3>;

Vec unit(double lon, double lat) {
    return {std::cos(lat * kDeg) * std::cos(lon * kDeg), std::cos(lat * kDeg) * std::sin(lon * kDeg),
            std::sin(lat * kDeg)};
}

std::pair<double, double> angles(const Vec& v) {
    double lon = std::atan2(v[1], v[0]) / kDeg;
    if (lon < 0) lon += 360.0;
    if (lon >= 360.0) lon -= 360.0;
    const double r = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    return {lon, std::asin(std::max(-1.0, std::min(1.0, v[2] / r))) / kDeg};
}

/// Galactic -> equatorial for a galactic frame given by its pole (ra, dec)
/// and the galactic longitude of the equatorial north pole, all degrees.
/// Builds the galactic basis vectors e1 (l=0,b=0), e2 (l=90,b=0), e3 (pole)
/// in equatorial coordinates: u, the unit vector of the celestial pole
/// projected on the galactic plane, lies at longitude l_ncp, and w = e3 x u.
Vec galactic_to_equatorial(const Vec& g, double pole_ra, double pole_dec, double l_ncp) {
    const Vec e3 = unit(pole_ra, pole_dec);
    const Vec ncp = {0, 0, 1};
    const double d = e3[2];
    Vec u = {ncp[0] - d * e3[0], ncp[1] - d * e3[1], ncp[2] - d * e3[2]};
    const double n = std::sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
    for (auto& x : u) x /= n;
    const Vec w = {e3[1] * u[2] - e3[2] * u[1], e3[2] * u[0] - e3[0] * u[2], e3[0] * u[1] - e3[1] * u[0]};
    const double c = std::cos(l_ncp * kDeg), s = std::sin(l_ncp * kDeg);
    Vec e1, e2;
    for (int i = 0; i < 3; ++i) {
        e1[i] = c * u[i] - s * w[i];
        e2[i] = s * u[i] + c * w[i];
    }
    return {g[0] * e1[0] + g[1] * e2[0] + g[2] * e3[0], g[0] * e1[1] + g[1] * e2[1] + g[2] * e3[1],
            g[0] * e1[2] + g[1] * e2[2] + g[2] * e3[2]};
}

/// Equatorial -> galactic for the same frame definition (transpose).
Vec equatorial_to_galactic(const Vec& q, double pole_ra, double pole_dec, double l_ncp) {
    // Columns of the galactic->equatorial matrix are the images of the basis.
    const Vec c1 = galactic_to_equatorial({1, 0, 0}, pole_ra, pole_dec, l_ncp);
    const Vec c2 = galactic_to_equatorial({0, 1, 0}, pole_ra, pole_dec, l_ncp);
    const Vec c3 = galactic_to_equatorial({0, 0, 1}, pole_ra, pole_dec, l_ncp);
    return {q[0] * c1[0] + q[1] * c1[1] + q[2] * c1[2], q[0] * c2[0] + q[1] * c2[1] + q[2] * c2[2],
            q[0] * c3[0] + q[1] * c3[1] + q[2] * c3[2]};
}

constexpr double kJ2000PoleRa = 192.85948, kJ2000PoleDec = 27.12825, kJ2000LNcp = 122.93192;
constexpr double kB1950PoleRa = 192.25, kB1950PoleDec = 27.4, kB1950LNcp = 123.0;

}  // namespace

std::pair<double, double> to_icrs(SkyFrame frame, double equinox, double lon_deg, double lat_deg) {
    (void)equinox;
    switch (frame) {
        case SkyFrame::galactic:
            return angles(galactic_to_equatorial(unit(lon_deg, lat_deg), kJ2000PoleRa, kJ2000PoleDec, kJ2000LNcp));
        case SkyFrame::fk4: {
            const Vec g = equatorial_to_galactic(unit(lon_deg, lat_deg), kB1950PoleRa, kB1950PoleDec, kB1950LNcp);
            return angles(galactic_to_equatorial(g, kJ2000PoleRa, kJ2000PoleDec, kJ2000LNcp));
        }
        case SkyFrame::ecliptic: {
            const double eps = 23.4392911 * kDeg;
            const Vec e = unit(lon_deg, lat_deg);
            return angles({e[0], e[1] * std::cos(eps) - e[2] * std::sin(eps), e[1] * std::sin(eps) + e[2] * std::cos(eps)});
        }
        case SkyFrame::icrs:
        case SkyFrame::fk5:
        case SkyFrame::unknown:
        default: {
            double lon = std::fmod(lon_deg, 360.0);
            if (lon < 0) lon += 360.0;
            return {lon, lat_deg};
        }
    }
}

}  // namespace vo::obscore
