// A product's cut-able bounds: what ObsCore publishes about a FITS product
// (s_region, em_min/em_max, t_min/t_max, pol_states: ObsCore 1.1 sections
// 4.7-4.16) and what SODA can cut it to (SODA 1.0 section 3.3; the VALUES of
// a DataLink service descriptor, SODA 1.0 section 4.2) are the same numbers,
// computed here once for both (issue 8 item 3).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fits/dali_params.hpp"
#include "fits/header.hpp"
#include "fits/wcs.hpp"

namespace vo::fits {

/// Pixel-grid base point for sampling one axis at a time: the centre
/// (NAXISi + 1) / 2 of every WCS axis (1 beyond NAXIS), except a STOKES axis,
/// sampled at its first pixel (the centre may fall between two states).
/// Returns wcs.naxis() 1-based pixel coordinates.
std::vector<double> base_pixel(const Wcs& wcs, const std::vector<long>& naxes);

/// The longest spectral axis given channel edges (2^20 channels: far beyond
/// real cubes, MUSE 3681, ALMA and HI cubes tens of thousands; ~60 MB of
/// work). A header claiming more (header-only dumps need no data to back it)
/// is treated as having no usable spectral axis.
inline constexpr long kMaxChannels = 1L << 20;

/// The longest STOKES axis given states (FITS WCS Paper I defines 12 codes);
/// stokes_codes() of a longer one is empty.
inline constexpr long kMaxStokesPlanes = 64;

/// Vacuum wavelength (m) at the n+1 channel edges 0.5, 1.5, ..., n+0.5 of the
/// spectral axis (n = its NAXIS; channel k, 1-based, covers edges k-1 and k),
/// through to_vacuum_wavelength() with the WCS's rest frequency; NaN where a
/// value cannot be converted. When the spectral axis is separable (no
/// distortion) it is evaluated alone (wcssub), otherwise at base_pixel().
/// Empty if the WCS has no spectral axis within NAXIS, or if n is not in
/// 1..kMaxChannels.
std::vector<double> channel_edges(const Wcs& wcs, const std::vector<long>& naxes);

/// [min, max] of channel_edges() in m, nullopt if there is no spectral axis
/// within NAXIS or any edge cannot be converted (ObsCore em_min/em_max;
/// SODA BAND coverage).
std::optional<Interval> spectral_bounds(const Wcs& wcs, const std::vector<long>& naxes);

/// The time metadata of a product (ObsCore 1.1 sections 4.15-4.16), keywords
/// looked up in the product HDU, then in `primary` (may be null):
/// t_min: MJD-OBS, else MJD-BEG, else DATE-OBS / DATE-BEG / DATE_OBS (ISO
/// 8601 or DD/MM/YY; a date without a time takes TIME-OBS, UT, UTSTART or UTC);
/// t_max: MJD-END, else DATE-END, else t_min + the exposure; exptime (s):
/// EXPTIME, XPOSURE, EXPOSURE, TEXPTIME, INTTIME, ITIME or ESO DET DIT (first
/// >= 0). t_max < t_min is dropped. All nullopt when unknown.
struct TimeSpan {
    std::optional<double> t_min, t_max, exptime;
};
TimeSpan time_span(const FitsHeader& product, const FitsHeader* primary);

/// Modified Julian Date of an ISO 8601 date or date-time (`YYYY-MM-DD`,
/// `YYYY-MM-DDThh:mm:ss[.s]`, also with a space instead of `T`) or of the old
/// FITS form `DD/MM/YY` (19YY). nullopt if the text is not a date.
std::optional<double> mjd_from_iso(const std::string& text);

/// The STOKES values of planes 1..n of the STOKES axis (n = its NAXIS, 1 for a
/// degenerate axis beyond NAXIS), read linearly (CRVAL + CDELT PC (p - CRPIX))
/// so that a failing celestial projection cannot hide them; rounded to
/// integers. Empty when the WCS has no STOKES axis or n > kMaxStokesPlanes.
std::vector<int> stokes_codes(const Wcs& wcs, const std::vector<long>& naxes);

/// The ObsCore 1.1 section B.6.5.1 pol_states list ("/I/Q/U/V/", ordered as
/// I Q U V RR LL RL LR XX YY XY YX) for FITS STOKES axis values (WCS Paper I
/// Table 7). Unknown codes are ignored; empty string when none is known.
std::string pol_states_from_stokes(const std::vector<int>& stokes_codes);

/// The sky footprint of the celestial axes, ICRS degrees (to_icrs() of the
/// WCS's frame, fits/sky_frames.hpp).
struct Footprint {
    /// The four pixel-edge corners (pixel 0.5 and N+0.5), wound counter-
    /// clockwise as DALI 1.1 section 3.3.7 asks; empty when a corner is off
    /// the projection or the footprint exceeds a hemisphere.
    std::vector<std::pair<double, double>> polygon;
    /// The centre of the pixel grid (ObsCore s_ra, s_dec).
    std::optional<std::pair<double, double>> centre;
    /// Mean pixel step at the centre, arcsec.
    std::optional<double> pixel_scale_arcsec;
    /// Radius (deg) of the circle about `centre` through the farthest corner
    /// (polygon case) or through a 65 x 65 grid of the pixel grid widened by
    /// two pixels (no polygon; 180 = whole sky).
    double radius = 0.0;
    /// Why no footprint (frame not convertible, centre off the projection), or
    /// a note on the circle fall-back; empty otherwise.
    std::vector<std::string> warnings;
};
/// nullopt when the WCS has no celestial axes. A celestial axis beyond NAXIS
/// (degenerate, e.g. the position of a 1-D spectrum) counts as one pixel.
std::optional<Footprint> sky_footprint(const Wcs& wcs, const std::vector<long>& naxes);

/// All cut-able bounds of one product HDU at once.
struct ProductBounds {
    std::optional<Footprint> footprint;  ///< celestial axes (POS, CIRCLE, POLYGON)
    std::optional<Interval> band;        ///< vacuum wavelength, m (BAND)
    std::optional<Interval> time;        ///< MJD [t_min, t_max or t_min] (TIME)
    std::vector<std::string> pol;        ///< labels of the STOKES planes, in plane order (POL)
};
/// `wcs` may be unloaded (get() == nullptr): then only `time` can be set.
ProductBounds product_bounds(const Wcs& wcs, const std::vector<long>& naxes, const FitsHeader& product,
                             const FitsHeader* primary);

}  // namespace vo::fits
