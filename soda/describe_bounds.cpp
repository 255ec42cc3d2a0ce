// describe_bounds (soda/cutout.hpp): what a cutout of a product can select,
// for the DataLink SODA service descriptor (SODA 1.0 section 4.2: VALUES of
// BAND and TIME, MAX of CIRCLE and POLYGON, OPTIONs of POL). The numbers are
// fits::product_bounds(), those of the ObsCore row.
#include "fits/bounds.hpp"
#include "fits/header.hpp"
#include "fits/sky_frames.hpp"
#include "soda/cutout_internal.hpp"

namespace vo::soda {
using namespace detail;
using fits::Wcs;

Bounds describe_bounds(const std::string& fits_path, const std::vector<int>& image_hdus) {
    auto f = open_fits(fits_path);
    HduInfo primary;
    const auto hdus = select_hdus(f.get(), fits_path, image_hdus, primary);
    const HduInfo& ref = hdus.front();
    Bounds b;
    b.naxes = ref.naxes;
    for (const auto& h : hdus) b.image_hdus.push_back(h.hdu);
    const Wcs wcs = load_wcs(ref);
    // The same bounds as the ObsCore row (fits::product_bounds for both).
    const fits::FitsHeader product(card_block(ref.cards)), prim(card_block(primary.cards));
    const fits::ProductBounds pb = fits::product_bounds(wcs, ref.naxes, product, ref.hdu == 0 ? nullptr : &prim);
    const long naxis = static_cast<long>(ref.naxes.size());
    if (pb.footprint && pb.footprint->centre && wcs.lng() < naxis && wcs.lat() < naxis) {
        b.polygon = pb.footprint->polygon;
        b.circle_lon = pb.footprint->centre->first;
        b.circle_lat = pb.footprint->centre->second;
        b.circle_radius = pb.footprint->radius;
        if (b.polygon.empty()) {
            // No corner polygon (all-sky maps): a sampled border, for MAX of POLYGON.
            const int lng = wcs.lng(), lat = wcs.lat(), na = wcs.naxis();
            const double x0 = 0.5, x1 = ref.naxes[lng] + 0.5, y0 = 0.5, y1 = ref.naxes[lat] + 0.5;
            const auto base = fits::base_pixel(wcs, ref.naxes);
            const fits::FrameSpec frame = fits::frame_of(wcs.get());
            std::vector<double> pix, world;
            std::vector<int> stat;
            constexpr int k = 16;
            auto add = [&](double x, double y) {
                auto p = base;
                p[lng] = x, p[lat] = y;
                pix.insert(pix.end(), p.begin(), p.end());
            };
            for (int i = 0; i < k; ++i) add(x0 + (x1 - x0) * i / k, y0);
            for (int i = 0; i < k; ++i) add(x1, y0 + (y1 - y0) * i / k);
            for (int i = 0; i < k; ++i) add(x1 - (x1 - x0) * i / k, y1);
            for (int i = 0; i < k; ++i) add(x0, y1 - (y1 - y0) * i / k);
            wcs.p2s(pix, world, stat);
            for (std::size_t i = 0; i < stat.size(); ++i)
                if (!stat[i]) b.polygon.push_back(fits::to_icrs(frame, world[i * na + lng], world[i * na + lat]));
        }
    }
    b.band = pb.band;
    b.time = pb.time;
    b.pol = pb.pol;
    return b;
}

}  // namespace vo::soda
