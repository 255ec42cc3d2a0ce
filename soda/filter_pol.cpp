// POL (SODA 1.0 section 3.3.6): Stokes/correlation labels -> the planes of the
// STOKES axis holding them (fits::stokes_codes, as ObsCore's pol_states), with
// a step when they are evenly spaced. See cutout_internal.hpp.
#include <algorithm>

#include "fits/bounds.hpp"
#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

namespace {

/// The Stokes labels of the planes 1..n of the STOKES axis (nullptr where the
/// value is not a known code); n = 1 for a degenerate axis (beyond NAXIS), as
/// ObsCore's pol_states (fits::stokes_codes for both).
std::vector<const char*> stokes_planes(const fits::Wcs& wcs, const std::vector<long>& naxes) {
    std::vector<const char*> labels;
    for (int code : fits::stokes_codes(wcs, naxes)) labels.push_back(fits::stokes_label(code));
    return labels;
}

}  // namespace

std::optional<AxisCut> pol_bounds(const fits::Wcs& wcs, const std::vector<long>& naxes,
                                  const std::vector<std::string>& pol, const std::vector<AxisCut>& axes,
                                  std::vector<std::string>& notes) {
    const long naxis = static_cast<long>(naxes.size());
    const int si = wcs.stokes();
    if (si < 0) throw SodaError(400, "UsageError", "POL", "the product has no STOKES axis");
    const auto labels = stokes_planes(wcs, naxes);
    auto wanted = [&](const char* label) { return label && std::find(pol.begin(), pol.end(), label) != pol.end(); };
    if (si >= naxis) {
        // Degenerate STOKES axis: the whole product is in its one state.
        if (!wanted(labels.front())) no_overlap("POL states not in the product");
        notes.push_back(std::string("POL: the product holds the single state ") + labels.front() + " (STOKES axis " +
                        std::to_string(si + 1) + " beyond NAXIS)");
        return std::nullopt;
    }
    const long n = naxes[si];
    std::vector<long> picked;
    for (long k = 0; k < n; ++k) {
        if (wanted(labels[k]) && k >= axes[si].first && k < axes[si].first + axes[si].count) picked.push_back(k);
    }
    if (picked.empty()) no_overlap("POL states not in the product");
    long step = picked.size() > 1 ? picked[1] - picked[0] : 1;
    for (std::size_t i = 1; i < picked.size(); ++i)
        if (picked[i] - picked[i - 1] != step) step = 0;
    if (step <= 0) {
        notes.push_back("POL: the requested planes are not evenly spaced; planes in between are included");
        return AxisCut{picked.front(), picked.back() - picked.front() + 1, 1};
    }
    return AxisCut{picked.front(), static_cast<long>(picked.size()), step};
}

}  // namespace vo::soda::detail
