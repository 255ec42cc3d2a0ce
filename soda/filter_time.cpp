// TIME (SODA 1.0 section 3.3.5): the product's own time span (fits::time_span,
// the ObsCore t_min/t_max) against an MJD interval. No pixel axis is cut: the
// product is kept whole or not at all. See cutout_internal.hpp.
#include <cmath>

#include "fits/bounds.hpp"
#include "fits/header.hpp"
#include "soda/cutout_internal.hpp"

namespace vo::soda::detail {

namespace {

/// The product's own time span (MJD; fits::time_span, the ObsCore t_min and
/// t_max), NaN where unknown; hi = lo when only the start is known.
Interval product_time(const HduInfo& primary, const HduInfo& ref) {
    const fits::FitsHeader product(card_block(ref.cards));
    const fits::FitsHeader prim(card_block(primary.cards));
    const fits::TimeSpan t = fits::time_span(product, ref.hdu == 0 ? nullptr : &prim);
    Interval out{std::nan(""), std::nan("")};
    if (t.t_min) out = {*t.t_min, t.t_max.value_or(*t.t_min)};
    return out;
}

}  // namespace

std::optional<std::string> time_filter(const HduInfo& primary, const HduInfo& ref, const Interval& time) {
    const Interval t = product_time(primary, ref);
    if (std::isnan(t.lo)) return std::string("TIME not applied: the product has no time metadata");
    const double hi = std::isnan(t.hi) ? t.lo : t.hi;
    if (t.lo > time.hi || hi < time.lo) no_overlap("TIME outside the product's time span");
    return std::nullopt;
}

}  // namespace vo::soda::detail
