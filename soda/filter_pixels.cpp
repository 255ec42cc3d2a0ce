// PIXEL_n (non-standard, DaCHS): a 1-based inclusive pixel range on axis n,
// intersected with what the other filters kept. See cutout_internal.hpp.
#include <vector>

#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

AxisCut pixel_bounds(int axis, const std::pair<long, long>& range, const std::vector<AxisCut>& axes) {
    const long naxis = static_cast<long>(axes.size());
    if (axis > naxis)
        throw SodaError(400, "UsageError", "PIXEL_" + std::to_string(axis),
                        "the product has only " + std::to_string(naxis) + " axes");
    const AxisCut& cut = axes[axis - 1];
    if (cut.step != 1) {
        // Stokes axis already strided by POL: keep the planes within range.
        std::vector<long> keep;
        for (long m = 0; m < cut.count; ++m) {
            const long k = cut.first + m * cut.step;
            if (k + 1 >= range.first && k + 1 <= range.second) keep.push_back(k);
        }
        if (keep.empty()) no_overlap("PIXEL_" + std::to_string(axis));
        return AxisCut{keep.front(), static_cast<long>(keep.size()), keep.size() > 1 ? cut.step : 1};
    }
    return intersect_cut(cut, range.first, range.second, "PIXEL_" + std::to_string(axis));
}

}  // namespace vo::soda::detail
