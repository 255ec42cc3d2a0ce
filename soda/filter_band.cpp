// BAND (SODA 1.0 section 3.3.4): a vacuum-wavelength interval -> the channels
// of the spectral axis it meets. The channel edges are fits::channel_edges(),
// the numbers of the ObsCore row's em_min/em_max. See cutout_internal.hpp.
#include <wcslib/wcs.h>

#include <algorithm>
#include <cmath>

#include "fits/bounds.hpp"
#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

PixelRange band_bounds(const fits::Wcs& wcs, const std::vector<long>& naxes, const Interval& band) {
    const wcsprm* w = wcs.get();
    const long naxis = static_cast<long>(naxes.size());
    if (!w || w->spec < 0 || w->spec >= naxis)
        throw SodaError(400, "UsageError", "BAND", "the product has no spectral axis");
    const auto edges = fits::channel_edges(wcs, naxes);
    const int s = w->spec;
    long lo = -1, hi = -1;
    for (long k = 0; k < naxes[s]; ++k) {
        const double a = std::min(edges[k], edges[k + 1]), b = std::max(edges[k], edges[k + 1]);
        if (std::isnan(a) || std::isnan(b))
            throw SodaError(400, "UsageError", "BAND",
                            "the spectral axis (" + wcs.ctype(s) + ") cannot be converted to vacuum wavelength" +
                                (wcs.ctype(s).rfind("V", 0) == 0 ? " (no rest frequency in the header)" : ""));
        if (a <= band.hi && b > band.lo) {
            if (lo < 0) lo = k;
            hi = k;
        }
    }
    if (lo < 0) no_overlap("BAND outside the spectral coverage");
    return PixelRange{s, lo + 1, hi + 1};
}

}  // namespace vo::soda::detail
