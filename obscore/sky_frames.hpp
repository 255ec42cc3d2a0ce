// Celestial reference frames -> ICRS for footprints (ObsCore 1.1 section 4.9:
// s_ra/s_dec/s_region are ICRS).
#pragma once

#include <utility>

namespace vo::obscore {

/// Frames met in FITS WCS headers (WCS Paper II section 3.1: RADESYS, and
/// the GLON/ELON axis types).
enum class SkyFrame { icrs, fk5, fk4, galactic, ecliptic, unknown };

/// Converts (lon, lat) in degrees from `frame` to ICRS (ra in [0, 360), dec),
/// degrees.
///
/// - icrs: unchanged.
/// - fk5 (J2000): taken as ICRS; the frame bias is below 0.03 arcsec. Other
///   equinoxes are not precessed (`equinox` is ignored; documented limit).
/// - galactic: the IAU 1958 system through its J2000 pole (RA 192.85948,
///   Dec 27.12825 deg, l of the celestial pole 122.93192 deg), the constants
///   astropy and SLALIB use; accurate to about 0.1 arcsec.
/// - fk4 (B1950): rotated to galactic with the B1950 definition (pole RA
///   192.25, Dec 27.4, l of the pole 123.0) then to J2000; E-terms and
///   proper motion are ignored, so the result is good to about 1 arcsec.
/// - ecliptic: mean ecliptic of J2000 (obliquity 23.4392911 deg).
/// - unknown: returned unchanged.
std::pair<double, double> to_icrs(SkyFrame frame, double equinox, double lon_deg, double lat_deg);

}  // namespace vo::obscore
