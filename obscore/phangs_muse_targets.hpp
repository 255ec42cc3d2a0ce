// The PHANGS-MUSE targets used by the demo generator (obscore/demo.hpp).
#pragma once

#include <string>
#include <vector>

namespace vo::obscore {

/// One PHANGS-MUSE galaxy. The table is conf/phangs_muse_targets.csv (its
/// header comment says how each column was derived from the release's
/// Tables 1 and 2), compiled in so the demo needs no file at run time; a unit
/// test checks that both agree.
struct PhangsMuseTarget {
    std::string galaxy;  ///< e.g. "NGC0628" (OBJECT, file name prefix)
    double ra_deg;       ///< mosaic centre, ICRS
    double dec_deg;
    std::string date_obs;    ///< first template start, UTC ISO 8601
    int n_exposures;         ///< science exposures in the mosaic
    double exptime_s;        ///< total exposure time (s)
    double psf_fwhm_arcsec;  ///< native PSF FWHM
    double distance_mpc;
    double vsys_km_s;  ///< systemic velocity (optical convention), literature value
};

/// The 19 galaxies, in the order of the release's Table 1.
const std::vector<PhangsMuseTarget>& phangs_muse_targets();

}  // namespace vo::obscore
