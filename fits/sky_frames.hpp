// Celestial reference frames of FITS WCS headers and their conversion to and
// from ICRS, through ERFA (the IAU SOFA algorithms; Debian liberfa-dev). One
// implementation for ObsCore footprints (ObsCore 1.1 section 4.9: s_ra, s_dec,
// s_region are ICRS) and SODA cutouts (SODA 1.0 section 3.3.1: POS, CIRCLE
// and POLYGON are ICRS). Moved from obscore/sky_frames.cpp and
// soda/sky.cpp (issue 8 item 3), which disagreed on FK4 and on the galactic
// constants.
#pragma once

#include <string>
#include <utility>

struct wcsprm;

namespace vo::fits {

/// Frames met in FITS WCS headers (WCS Paper II section 3.1: RADESYSa,
/// EQUINOXa, and the RA/GLON/ELON axis types).
enum class SkyFrame { icrs, fk5, fk4, galactic, ecliptic, unknown };

/// A frame with its equinox: Julian epoch for fk5 and ecliptic (J2000 =
/// 2000.0), Besselian epoch for fk4 (B1950 = 1950.0); ignored otherwise.
struct FrameSpec {
    SkyFrame frame = SkyFrame::icrs;
    double equinox = 2000.0;
};

/// The celestial frame of a WCS set up by wcsset() (WCS Paper II section
/// 3.1): GLON -> galactic, ELON -> ecliptic (equinox from EQUINOX, default
/// J2000), RA with RADESYS ICRS / FK5 / FK4 / FK4-NO-E; without RADESYS,
/// EQUINOX < 1984 means FK4 and EQUINOX >= 1984 FK5; neither means ICRS.
/// FK4 without EQUINOX is B1950, FK5 without EQUINOX J2000. Other longitude
/// types (e.g. planetary frames) are unknown. `w` must not be null.
FrameSpec frame_of(const wcsprm* w);

/// A short name of a frame for messages ("ICRS", "FK5 J2000", "FK4 B1950",
/// "GALACTIC", "ECLIPTIC J2000", "unknown").
std::string frame_name(const FrameSpec& frame);

/// Converts (lon, lat) in `frame`, degrees, to ICRS (ra in [0, 360), dec),
/// degrees. No proper motion, parallax or radial velocity (the positions are
/// those of a pixel grid, not of stars).
///
/// - icrs: unchanged (longitude wrapped to [0, 360)).
/// - fk5: precessed from the mean equinox to J2000 with the IAU 1976 model
///   (eraPmat76), then FK5 J2000 -> ICRS with the Hipparcos FK5
///   orientation (eraFk5hz at J2000; about 0.02 arcsec), the rotation astropy
///   uses too (USNO circular 179). (The
///   two former copies took FK5 J2000 as ICRS; on HST WFPC2's 0.04 arcsec
///   pixels the bias moves a cutout edge by one pixel.)
/// - fk4: taken at equinox B1950 whatever EQUINOX says (ERFA has no FK4
///   precession; documented limit) and converted to FK5 J2000 with the
///   E-terms removed (eraFk45z, epoch B1950), then to ICRS as fk5.
///   FK4-NO-E is treated as FK4 (the E-terms, below 0.35 arcsec, are removed
///   once more: documented limit).
/// - galactic: IAU 1958 galactic coordinates, as defined with respect to ICRS
///   by the Hipparcos catalogue (vol. 1 section 1.5.3, eraG2icrs).
/// - ecliptic: mean ecliptic and equinox of `equinox` (IAU 2006, eraEceq06).
/// - unknown: returned unchanged (wrapped).
/// Never throws; non-finite input gives non-finite output.
std::pair<double, double> to_icrs(const FrameSpec& frame, double lon_deg, double lat_deg);

/// The inverse of to_icrs(): ICRS (ra, dec) degrees -> (lon, lat) in `frame`,
/// degrees, lon in [0, 360). to_icrs(f, from_icrs(f, p)) returns p to about
/// 1e-9 degrees (FK4: eraFk54z refined by fixed-point steps on eraFk45z).
std::pair<double, double> from_icrs(const FrameSpec& frame, double ra_deg, double dec_deg);

}  // namespace vo::fits
