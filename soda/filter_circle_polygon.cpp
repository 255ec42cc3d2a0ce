// POS, CIRCLE and POLYGON (SODA 1.0 sections 3.3.1-3.3.3): a sky region in
// ICRS degrees -> the smallest pixel box of the celestial axes holding the
// part of the region on the image, through the product's WCS and frame. See
// cutout_internal.hpp and, for the method, plan_cutout in soda/cutout.hpp.
#include <wcslib/wcs.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <optional>
#include <vector>

#include "fits/sky_frames.hpp"
#include "soda/cutout_internal.hpp"
#include "soda/sky.hpp"

namespace vo::soda::detail {
using fits::Wcs;

namespace {

/// Reference pixel coordinates (centre of the image) for all WCS axes.
std::vector<double> centre_pixel(const Wcs& w, const std::vector<long>& naxes) {
    std::vector<double> p(w.naxis(), 1.0);
    for (int i = 0; i < w.naxis() && i < static_cast<int>(naxes.size()); ++i) p[i] = (naxes[i] + 1) / 2.0;
    return p;
}

/// The product's celestial frame (fits::frame_of: ICRS, FK5, FK4, galactic,
/// ecliptic, all converted with ERFA); 400 naming `parameter` for a frame
/// that cannot be converted to ICRS.
fits::FrameSpec sky_frame(const Wcs& w, const std::string& parameter) {
    const fits::FrameSpec f = fits::frame_of(w.get());
    if (f.frame == fits::SkyFrame::unknown)
        throw SodaError(400, "UsageError", parameter,
                        "the product's celestial frame (" + w.ctype(w.lng()).substr(0, 4) + ") is not supported");
    return f;
}

/// Bounding box of pixel coordinates (1-based, continuous); empty until add().
struct PixBox {
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    void add(double x, double y) {
        xmin = std::min(xmin, x), xmax = std::max(xmax, x);
        ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
    bool empty() const { return xmin > xmax; }
};

/// Liang-Barsky clip of segment (x0,y0)-(x1,y1) to [lo_x,hi_x]x[lo_y,hi_y].
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double lox, double hix, double loy, double hiy) {
    double t0 = 0, t1 = 1;
    const double dx = x1 - x0, dy = y1 - y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {x0 - lox, hix - x0, y0 - loy, hiy - y0};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
        } else {
            const double r = q[i] / p[i];
            if (p[i] < 0)
                t0 = std::max(t0, r);
            else
                t1 = std::min(t1, r);
        }
    }
    if (t0 > t1) return false;
    const double ax = x0 + t0 * dx, ay = y0 + t0 * dy, bx = x0 + t1 * dx, by = y0 + t1 * dy;
    x0 = ax, y0 = ay, x1 = bx, y1 = by;
    return true;
}

/// Smallest 1-based pixel box [x1,x2]x[y1,y2] of the celestial axes holding
/// region ∩ image; nullopt if empty. See plan_cutout for the method.
std::optional<std::array<long, 4>> spatial_box(const Wcs& w, const std::vector<long>& naxes, const SkyRegion& region) {
    const wcsprm* x = w.get();
    const int lng = x->lng, lat = x->lat, na = w.naxis();
    const fits::FrameSpec frame = sky_frame(w, region.parameter);
    const RegionGeometry geom(region);
    const long nx = naxes[lng], ny = naxes[lat];
    const double lox = 0.5, hix = nx + 0.5, loy = 0.5, hiy = ny + 0.5;
    const auto centre = centre_pixel(w, naxes);

    // World values of the non-celestial axes at the image centre.
    std::vector<double> world_centre;
    std::vector<int> st;
    w.p2s(centre, world_centre, st);

    auto pix_to_icrs = [&](const std::vector<std::pair<double, double>>& pts) {
        std::vector<double> pix;
        pix.reserve(pts.size() * na);
        for (const auto& [px, py] : pts) {
            auto p = centre;
            p[lng] = px, p[lat] = py;
            pix.insert(pix.end(), p.begin(), p.end());
        }
        std::vector<double> world;
        std::vector<int> stat;
        w.p2s(pix, world, stat);
        std::vector<std::optional<std::pair<double, double>>> out(pts.size());
        for (std::size_t i = 0; i < pts.size(); ++i)
            if (!stat[i]) out[i] = fits::to_icrs(frame, world[i * na + lng], world[i * na + lat]);
        return out;
    };
    auto icrs_to_pix = [&](const std::vector<std::pair<double, double>>& pts) {
        std::vector<double> world;
        world.reserve(pts.size() * na);
        for (const auto& [lo, la] : pts) {
            auto wv = world_centre;
            const auto f = fits::from_icrs(frame, lo, la);
            wv[lng] = f.first, wv[lat] = f.second;
            world.insert(world.end(), wv.begin(), wv.end());
        }
        std::vector<double> pix;
        std::vector<int> stat;
        w.s2p(world, pix, stat);
        std::vector<std::optional<std::pair<double, double>>> out(pts.size());
        for (std::size_t i = 0; i < pts.size(); ++i)
            if (!stat[i] && std::isfinite(pix[i * na + lng]) && std::isfinite(pix[i * na + lat]))
                out[i] = std::make_pair(pix[i * na + lng], pix[i * na + lat]);
        return out;
    };

    // Pixel scale (deg) at the centre.
    double scale = 1.0 / 3600.0;
    {
        const auto s =
            pix_to_icrs({{centre[lng], centre[lat]}, {centre[lng] + 1, centre[lat]}, {centre[lng], centre[lat] + 1}});
        if (s[0] && s[1] && s[2])
            scale = std::min(angular_distance_deg(s[0]->first, s[0]->second, s[1]->first, s[1]->second),
                             angular_distance_deg(s[0]->first, s[0]->second, s[2]->first, s[2]->second));
        if (!(scale > 0)) scale = 1.0 / 3600.0;
    }
    const double step = scale / 4.0;
    auto idx = [](double v) { return static_cast<long>(std::floor(v + 0.5)); };

    // Fast path, for a region whose boundary lies well inside the image (the
    // usual small CIRCLE or POLYGON): the boundary is sampled exactly as in (a)
    // below but without pruning (so at most kFastBudget points are tried). If
    // every sample maps at least 1 pixel inside the image, consecutive samples are
    // < 4 pixels apart (no projection discontinuity), and 8 probes on the image
    // border (corners and edge middles) are on the sky and outside the region,
    // then the border, which is connected and never meets the region's boundary,
    // lies wholly outside the region; so region and image meet exactly in the
    // interior of the sampled curve, and the box is the curve's bounding box. The
    // border ring and interior grid of (c) can only add points inside that box.
    {
        constexpr std::size_t kFastBudget = 1u << 15;
        constexpr int kInitial = 256;
        std::vector<std::pair<double, double>> curve;
        curve.reserve(4 * kInitial);
        bool within = true;
        struct Sample {
            std::pair<double, double> p;
            UnitVector v;
        };
        auto sample = [&](double t) {
            const auto p = geom.boundary_point(t);
            return Sample{p, unit_vector(p.first, p.second)};
        };
        // Same subdivision rule as (a) below, with the distances computed from
        // cached unit vectors (identical values, fewer trigonometric calls).
        auto rec = [&](auto& self, double t0, double t1, const Sample& s0, const Sample& s1, int depth) -> void {
            if (!within) return;
            const double len = angular_distance_deg(s0.v, s1.v);
            const double tm = 0.5 * (t0 + t1);
            const Sample sm = sample(tm);
            const double half = std::max(len, angular_distance_deg(s0.v, sm.v) * 2);
            if (half <= step || depth > 48) {
                curve.push_back(s0.p);
                if (curve.size() > kFastBudget) within = false;
                return;
            }
            self(self, t0, tm, s0, sm, depth + 1);
            self(self, tm, t1, sm, s1, depth + 1);
        };
        Sample prev = sample(0.0);
        const std::pair<double, double> first = prev.p;
        for (int i = 0; i < kInitial && within; ++i) {
            const double t0 = static_cast<double>(i) / kInitial, t1 = static_cast<double>(i + 1) / kInitial;
            const Sample next = sample(t1);
            rec(rec, t0, t1, prev, next, 0);
            prev = next;
        }
        if (within) {
            curve.push_back(prev.p);  // t = 1
            curve.push_back(first);   // close the curve
            const auto cpix = icrs_to_pix(curve);
            PixBox fast_box;
            bool inside = true;
            for (std::size_t i = 0; i < cpix.size() && inside; ++i) {
                const auto& q = cpix[i];
                if (!q || q->first < lox + 1 || q->first > hix - 1 || q->second < loy + 1 || q->second > hiy - 1)
                    inside = false;
                else if (i > 0 && std::hypot(q->first - cpix[i - 1]->first, q->second - cpix[i - 1]->second) >= 4.0)
                    inside = false;
                else
                    fast_box.add(q->first, q->second);
            }
            if (inside) {
                const double mx = 0.5 * (lox + hix), my = 0.5 * (loy + hiy);
                const auto probes = pix_to_icrs(
                    {{lox, loy}, {hix, loy}, {hix, hiy}, {lox, hiy}, {mx, loy}, {hix, my}, {mx, hiy}, {lox, my}});
                for (const auto& q : probes)
                    if (!q || geom.contains(q->first, q->second)) inside = false;
            }
            if (inside) {
                for (const auto& p : icrs_to_pix(geom.anchors()))
                    if (p && p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy)
                        fast_box.add(p->first, p->second);
                return std::array<long, 4>{
                    std::clamp(idx(fast_box.xmin), 1L, nx), std::clamp(idx(fast_box.xmax), 1L, nx),
                    std::clamp(idx(fast_box.ymin), 1L, ny), std::clamp(idx(fast_box.ymax), 1L, ny)};
            }
        }
    }

    PixBox box;
    // (c) image border (corners included) and an interior grid, kept where inside.
    std::vector<std::pair<double, double>> border;
    const long per_edge_x = std::min<long>(2 * nx, 2000), per_edge_y = std::min<long>(2 * ny, 2000);
    for (long i = 0; i <= per_edge_x; ++i) {
        const double px = lox + (hix - lox) * i / per_edge_x;
        border.emplace_back(px, loy), border.emplace_back(px, hiy);
    }
    for (long i = 0; i <= per_edge_y; ++i) {
        const double py = loy + (hiy - loy) * i / per_edge_y;
        border.emplace_back(lox, py), border.emplace_back(hix, py);
    }
    const std::size_t nborder = border.size();
    constexpr int kGrid = 33;
    for (int i = 0; i < kGrid; ++i)
        for (int j = 0; j < kGrid; ++j)
            border.emplace_back(lox + (hix - lox) * (i + 0.5) / kGrid, loy + (hiy - loy) * (j + 0.5) / kGrid);
    border.emplace_back(centre[lng], centre[lat]);
    const auto border_world = pix_to_icrs(border);
    const auto& c_world = border_world.back();
    double rho = 0;  // angular radius of the image around its centre
    for (std::size_t i = 0; i < border.size(); ++i) {
        if (!border_world[i]) continue;
        if (geom.contains(border_world[i]->first, border_world[i]->second)) box.add(border[i].first, border[i].second);
        if (c_world && i < nborder)
            rho = std::max(rho, angular_distance_deg(c_world->first, c_world->second, border_world[i]->first,
                                                     border_world[i]->second));
    }
    if (!c_world) rho = 180.0;
    const double margin = 4 * scale;

    // (a) boundary, adaptively: refine only segments that may cross the image.
    std::vector<std::pair<double, double>> seg_pts;  // pairs of ICRS end points
    auto near_image = [&](const std::pair<double, double>& m, double len) {
        if (!c_world) return true;
        return angular_distance_deg(m.first, m.second, c_world->first, c_world->second) <= rho + len + margin;
    };
    std::size_t budget = 4'000'000;
    std::function<void(double, double, const std::pair<double, double>&, const std::pair<double, double>&, int)>
        refine = [&](double t0, double t1, const std::pair<double, double>& p0, const std::pair<double, double>& p1,
                     int depth) {
            const double len = angular_distance_deg(p0.first, p0.second, p1.first, p1.second);
            const double tm = 0.5 * (t0 + t1);
            const auto pm = geom.boundary_point(tm);
            const double half = std::max(len, angular_distance_deg(p0.first, p0.second, pm.first, pm.second) * 2);
            if (!near_image(pm, half)) return;
            if (half <= step || depth > 48 || seg_pts.size() > budget) {
                seg_pts.push_back(p0), seg_pts.push_back(p1);
                return;
            }
            refine(t0, tm, p0, pm, depth + 1);
            refine(tm, t1, pm, p1, depth + 1);
        };
    constexpr int kInitial = 256;
    std::vector<std::pair<double, double>> init(kInitial + 1);
    for (int i = 0; i <= kInitial; ++i) init[i] = geom.boundary_point(static_cast<double>(i) / kInitial);
    for (int i = 0; i < kInitial; ++i)
        refine(static_cast<double>(i) / kInitial, static_cast<double>(i + 1) / kInitial, init[i], init[i + 1], 0);
    const auto seg_pix = icrs_to_pix(seg_pts);
    for (std::size_t i = 0; i + 1 < seg_pix.size(); i += 2) {
        const auto& a = seg_pix[i];
        const auto& b = seg_pix[i + 1];
        if (a && b) {
            double x0 = a->first, y0 = a->second, x1 = b->first, y1 = b->second;
            // Segments spanning a projection discontinuity (e.g. lon=180 of an all-sky
            // map) are not lines in pixel space: keep only their end points.
            if (std::hypot(x1 - x0, y1 - y0) > 4.0) {
                for (const auto& p : {a, b})
                    if (p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy)
                        box.add(p->first, p->second);
                continue;
            }
            if (clip_segment(x0, y0, x1, y1, lox, hix, loy, hiy)) box.add(x0, y0), box.add(x1, y1);
        } else {
            for (const auto& p : {a, b})
                if (p && p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy)
                    box.add(p->first, p->second);
        }
    }
    // (b) anchors.
    const auto anchor_pix = icrs_to_pix(geom.anchors());
    for (const auto& p : anchor_pix)
        if (p && p->first >= lox && p->first <= hix && p->second >= loy && p->second <= hiy) {
            // an anchor counts only if that sky point really is in the region
            box.add(p->first, p->second);
        }
    if (box.empty()) return std::nullopt;
    std::array<long, 4> r{std::clamp(idx(box.xmin), 1L, nx), std::clamp(idx(box.xmax), 1L, nx),
                          std::clamp(idx(box.ymin), 1L, ny), std::clamp(idx(box.ymax), 1L, ny)};
    return r;
}

}  // namespace

std::pair<PixelRange, PixelRange> circle_polygon_bounds(const Wcs& wcs, const std::vector<long>& naxes,
                                                        const SkyRegion& region) {
    const wcsprm* w = wcs.get();
    const long naxis = static_cast<long>(naxes.size());
    if (!w || w->lng < 0 || w->lat < 0 || w->lng >= naxis || w->lat >= naxis)
        throw SodaError(400, "UsageError", region.parameter, "the product has no celestial WCS to cut on");
    const auto box = spatial_box(wcs, naxes, region);
    if (!box) no_overlap(region.parameter + " outside the image");
    return {PixelRange{w->lng, (*box)[0], (*box)[1]}, PixelRange{w->lat, (*box)[2], (*box)[3]}};
}

}  // namespace vo::soda::detail
