// Spectral axes: world values of a FITS spectral axis (WCS Paper III, in the
// SI units WCSLIB uses after wcsset) to and from vacuum wavelength, the
// quantity of ObsCore em_min/em_max (ObsCore 1.1 section 4.14) and of SODA
// BAND (SODA 1.0 section 3.3.4). One implementation for obscore/ and soda/
// (issue 8 item 3: AFRQ differed by 2 pi between the two copies).
#pragma once

#include <optional>
#include <string_view>

namespace vo::fits {

constexpr double kSpeedOfLight = 299792458.0;  ///< m/s (exact, SI)
constexpr double kPlanck = 6.62607015e-34;     ///< J s (exact, SI)

/// Rest frequency and wavelength of a velocity axis (RESTFRQa, RESTWAVa, or a
/// fallback, see load_wcs()); 0 = unknown. Either one gives the other.
struct RestFrame {
    double frequency_hz = 0.0;
    double wavelength_m = 0.0;
};

/// Native spectral world value -> vacuum wavelength in metres, for the
/// spectral type `ctype` (its first 4 characters: WCS Paper III Table 1):
/// FREQ (Hz), AFRQ (angular frequency, rad/s: lambda = 2 pi c / omega), ENER
/// (J), WAVN (1/m), WAVE (m), AWAV (air wavelength, m; WCSLIB awavwave, the
/// Cox 2000 index of Paper III eq. 65), VRAD (radio velocity, m/s: nu = nu0
/// (1 - v/c)), VOPT (optical velocity, m/s: lambda = lambda0 (1 + v/c)), ZOPT
/// (redshift), VELO (relativistic velocity, m/s) and BETA (v/c).
/// Velocity types need `rest`. nullopt for an unknown type, a missing rest
/// frequency, a non-physical value (frequency <= 0, |v| >= c) or a result that
/// is not finite and positive. Never throws.
std::optional<double> to_vacuum_wavelength(std::string_view ctype, double value, const RestFrame& rest);

/// The inverse of to_vacuum_wavelength(): vacuum wavelength (m) -> native
/// world value of type `ctype` (AWAV through WCSLIB waveawav). nullopt under
/// the same conditions (and for a wavelength <= 0).
std::optional<double> from_vacuum_wavelength(std::string_view ctype, double wavelength_m, const RestFrame& rest);

/// Air wavelength -> vacuum wavelength (both m), WCSLIB's awavwave().
double air_to_vacuum(double air_wavelength_m);

}  // namespace vo::fits
