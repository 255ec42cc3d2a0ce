#include "fits/bounds.hpp"
#include "fits/text.hpp"

#include <wcslib/wcs.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "fits/sky_frames.hpp"

namespace vo::fits {
namespace {

constexpr double kDeg = 3.14159265358979323846 / 180.0;

double angular_distance_deg(double ra1, double dec1, double ra2, double dec2) {
    const double a = std::sin((dec2 - dec1) * kDeg / 2), b = std::sin((ra2 - ra1) * kDeg / 2);
    const double h = a * a + std::cos(dec1 * kDeg) * std::cos(dec2 * kDeg) * b * b;
    return 2 * std::asin(std::min(1.0, std::sqrt(h))) / kDeg;
}

std::array<double, 3> unit_vector(double ra, double dec) {
    return {std::cos(dec * kDeg) * std::cos(ra * kDeg), std::cos(dec * kDeg) * std::sin(ra * kDeg),
            std::sin(dec * kDeg)};
}

/// Orders a convex footprint so that it winds counter-clockwise in the DALI
/// 1.1 section 3.3.7 sense, whose example `10 10, 10.2 10, 10.2 10.2, 10
/// 10.2` (east, then north) is the reference: (v0 x v1) . v2 > 0, the right
/// hand rule about the outward normal (also S2's loop orientation).
void orient_polygon(std::vector<std::pair<double, double>>& poly) {
    if (poly.size() < 3) return;
    double sum = 0;
    const auto c = unit_vector(poly[0].first, poly[0].second);
    for (std::size_t i = 1; i + 1 < poly.size(); ++i) {
        const auto a = unit_vector(poly[i].first, poly[i].second);
        const auto b = unit_vector(poly[i + 1].first, poly[i + 1].second);
        const std::array<double, 3> x = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                                         a[0] * b[1] - a[1] * b[0]};
        sum += c[0] * x[0] + c[1] * x[1] + c[2] * x[2];
    }
    if (sum < 0) std::reverse(poly.begin(), poly.end());
}

long axis_length(const std::vector<long>& naxes, int i) {
    return i >= 0 && i < static_cast<int>(naxes.size()) ? naxes[static_cast<std::size_t>(i)] : 1;
}

bool within_naxis(int axis, const std::vector<long>& naxes) {
    return axis >= 0 && axis < static_cast<int>(naxes.size());
}

}  // namespace

std::vector<double> base_pixel(const Wcs& wcs, const std::vector<long>& naxes) {
    std::vector<double> p(static_cast<std::size_t>(wcs.naxis()), 1.0);
    for (int i = 0; i < wcs.naxis(); ++i)
        p[static_cast<std::size_t>(i)] = (static_cast<double>(axis_length(naxes, i)) + 1.0) / 2.0;
    if (wcs.stokes() >= 0) p[static_cast<std::size_t>(wcs.stokes())] = 1.0;
    return p;
}

std::vector<double> channel_edges(const Wcs& wcs, const std::vector<long>& naxes) {
    const wcsprm* w = wcs.get();
    if (!w || !within_naxis(w->spec, naxes)) return {};
    const int s = w->spec;
    const long n = naxes[static_cast<std::size_t>(s)];
    if (n < 1 || n > kMaxChannels) return {};
    const auto un = static_cast<std::size_t>(n + 1);
    std::vector<double> world(un);
    std::vector<int> stat(un, 0);
    // When the spectral axis is separable (no distortion), a 1-D WCS of that
    // axis alone (wcssub) gives the same spectral values without transforming
    // the celestial axes at every channel; otherwise all axes are transformed
    // at the base pixel.
    bool done = false;
    if (!w->lin.dispre && !w->lin.disseq) {
        wcsprm sub{};
        sub.flag = -1;
        int nsub = 1, axes[1] = {s + 1};
        if (wcssub(1, w, &nsub, axes, &sub) == 0 && wcsset(&sub) == 0) {
            std::vector<double> pix(un), img(un), phi(un), theta(un);
            for (long k = 0; k <= n; ++k) pix[static_cast<std::size_t>(k)] = static_cast<double>(k) + 0.5;
            wcsp2s(&sub, static_cast<int>(n + 1), 1, pix.data(), img.data(), phi.data(), theta.data(), world.data(),
                   stat.data());
            done = true;
        }
        wcsfree(&sub);
    }
    if (!done) {
        const int na = wcs.naxis();
        const auto base = base_pixel(wcs, naxes);
        std::vector<double> pix, all;
        pix.reserve(un * static_cast<std::size_t>(na));
        for (long k = 0; k <= n; ++k) {
            auto p = base;
            p[static_cast<std::size_t>(s)] = static_cast<double>(k) + 0.5;
            pix.insert(pix.end(), p.begin(), p.end());
        }
        wcs.p2s(pix, all, stat);
        for (long k = 0; k <= n; ++k) world[static_cast<std::size_t>(k)] = all[static_cast<std::size_t>(k * na + s)];
    }
    const std::string type = wcs.ctype(s);
    const RestFrame rest = wcs.rest();
    std::vector<double> edges(un);
    for (std::size_t k = 0; k < un; ++k) {
        const auto v = stat[k] ? std::nullopt : to_vacuum_wavelength(type, world[k], rest);
        edges[k] = v ? *v : std::nan("");
    }
    return edges;
}

std::optional<Interval> spectral_bounds(const Wcs& wcs, const std::vector<long>& naxes) {
    const auto edges = channel_edges(wcs, naxes);
    if (edges.empty() || std::any_of(edges.begin(), edges.end(), [](double v) { return std::isnan(v); }))
        return std::nullopt;
    const auto [mn, mx] = std::minmax_element(edges.begin(), edges.end());
    return Interval{*mn, *mx};
}

std::optional<double> mjd_from_iso(const std::string& text) {
    const std::string t = trim(text);
    int y = 0, mo = 0, d = 0, h = 0, mi = 0;
    double s = 0;
    if (t.size() >= 8 && t[2] == '/' && t[5] == '/') {  // old DD/MM/YY
        if (std::sscanf(t.c_str(), "%2d/%2d/%2d", &d, &mo, &y) != 3) return std::nullopt;
        y += 1900;
    } else {
        if (t.size() < 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
        if (std::sscanf(t.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3) return std::nullopt;
        if (t.size() > 10) {
            if (t[10] != 'T' && t[10] != ' ') return std::nullopt;
            const int got = std::sscanf(t.c_str() + 11, "%2d:%2d:%lf", &h, &mi, &s);
            if (got < 2) return std::nullopt;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 24 || mi < 0 || mi > 59 || s < 0 || s >= 61)
        return std::nullopt;
    // Gregorian calendar date -> MJD (Fliegel & Van Flandern integer form).
    const long a = (14 - mo) / 12;
    const long yy = y + 4800 - a;
    const long mm = mo + 12 * a - 3;
    const long jdn = d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045;
    return static_cast<double>(jdn) - 2400001.0 + (h + mi / 60.0 + s / 3600.0) / 24.0;
}

TimeSpan time_span(const FitsHeader& product, const FitsHeader* primary) {
    auto str = [&](const char* key) -> std::optional<std::string> {
        if (auto v = product.get_string(key)) return v;
        if (primary) return primary->get_string(key);
        return std::nullopt;
    };
    auto num = [&](const char* key) -> std::optional<double> {
        if (auto v = product.get_double(key)) return v;
        if (primary) return primary->get_double(key);
        return std::nullopt;
    };
    TimeSpan out;
    std::optional<double> t_min = num("MJD-OBS");
    if (!t_min) t_min = num("MJD-BEG");
    if (!t_min) {
        for (const char* key : {"DATE-OBS", "DATE-BEG", "DATE_OBS"}) {
            auto d = str(key);
            if (!d) continue;
            std::string text = *d;
            // A date without a time may have the time in TIME-OBS / UT / UTC.
            if (text.size() <= 10 && text.find('T') == std::string::npos) {
                for (const char* tkey : {"TIME-OBS", "UT", "UTSTART", "UTC"}) {
                    auto t = str(tkey);
                    if (t && t->find(':') != std::string::npos) {
                        text += "T" + *t;
                        break;
                    }
                }
            }
            t_min = mjd_from_iso(text);
            if (!t_min) t_min = mjd_from_iso(*d);
            if (t_min) break;
        }
    }
    std::optional<double> t_max = num("MJD-END");
    if (!t_max)
        if (auto d = str("DATE-END")) t_max = mjd_from_iso(*d);
    for (const char* key : {"EXPTIME", "XPOSURE", "EXPOSURE", "TEXPTIME", "INTTIME", "ITIME", "ESO DET DIT"}) {
        if (auto e = num(key); e && *e >= 0) {
            out.exptime = e;
            break;
        }
    }
    if (t_min && !t_max && out.exptime) t_max = *t_min + *out.exptime / 86400.0;
    if (t_min && !std::isfinite(*t_min)) t_min.reset();
    if (t_max && !std::isfinite(*t_max)) t_max.reset();
    if (t_min && t_max && *t_max < *t_min) t_max.reset();
    out.t_min = t_min;
    out.t_max = t_max;
    return out;
}

std::vector<int> stokes_codes(const Wcs& wcs, const std::vector<long>& naxes) {
    const wcsprm* w = wcs.get();
    const int k = wcs.stokes();
    if (!w || k < 0) return {};
    const long np = axis_length(naxes, k);
    // FITS WCS Paper I table 7 defines 12 Stokes codes: a longer STOKES axis
    // (a header-only dump may claim any NAXIS) carries no usable states.
    if (np < 1 || np > kMaxStokesPlanes) return {};
    std::vector<int> codes;
    for (long p = 1; p <= np; ++p) {
        // Linear along STOKES: CRVAL + CDELT (p - CRPIX), read directly so a
        // failing celestial projection does not hide it.
        const double v = w->crval[k] + w->cdelt[k] * w->pc[k * w->naxis + k] * (static_cast<double>(p) - w->crpix[k]);
        codes.push_back(std::isfinite(v) && std::fabs(v) < 1000 ? static_cast<int>(std::lround(v)) : 0);
    }
    return codes;
}

std::string pol_states_from_stokes(const std::vector<int>& codes) {
    static const std::array<std::pair<const char*, int>, 12> order = {{{"I", 1},
                                                                       {"Q", 2},
                                                                       {"U", 3},
                                                                       {"V", 4},
                                                                       {"RR", -1},
                                                                       {"LL", -2},
                                                                       {"RL", -3},
                                                                       {"LR", -4},
                                                                       {"XX", -5},
                                                                       {"YY", -6},
                                                                       {"XY", -7},
                                                                       {"YX", -8}}};
    std::string out;
    for (const auto& [label, code] : order)
        if (std::find(codes.begin(), codes.end(), code) != codes.end()) out += std::string("/") + label;
    if (!out.empty()) out += "/";
    return out;
}

std::optional<Footprint> sky_footprint(const Wcs& wcs, const std::vector<long>& naxes) {
    const wcsprm* w = wcs.get();
    if (!w || w->lng < 0 || w->lat < 0) return std::nullopt;
    Footprint fp;
    const FrameSpec frame = frame_of(w);
    if (frame.frame == SkyFrame::unknown) {
        fp.warnings.push_back(std::string("celestial frame ") + w->lngtyp + " not convertible to ICRS");
        return fp;
    }
    const int lng = w->lng, lat = w->lat, n = wcs.naxis();
    const auto base = base_pixel(wcs, naxes);
    const double nl = static_cast<double>(axis_length(naxes, lng)), nb = static_cast<double>(axis_length(naxes, lat));
    auto sky = [&](const std::vector<std::pair<double, double>>& pts) {
        std::vector<double> pix, world;
        std::vector<int> stat;
        pix.reserve(pts.size() * static_cast<std::size_t>(n));
        for (const auto& [pl, pb] : pts) {
            auto p = base;
            p[static_cast<std::size_t>(lng)] = pl;
            p[static_cast<std::size_t>(lat)] = pb;
            pix.insert(pix.end(), p.begin(), p.end());
        }
        wcs.p2s(pix, world, stat);
        std::vector<std::optional<std::pair<double, double>>> out(pts.size());
        for (std::size_t i = 0; i < pts.size(); ++i) {
            const double lo = world[i * static_cast<std::size_t>(n) + static_cast<std::size_t>(lng)];
            const double la = world[i * static_cast<std::size_t>(n) + static_cast<std::size_t>(lat)];
            if (stat[i] || !std::isfinite(lo) || !std::isfinite(la)) continue;
            out[i] = to_icrs(frame, lo, la);
        }
        return out;
    };
    const double cl = (nl + 1) / 2, cb = (nb + 1) / 2;
    const auto c3 = sky({{cl, cb}, {cl + 1, cb}, {cl, cb + 1}});
    if (!c3[0]) {
        fp.warnings.push_back("pixel-grid centre is outside the projection");
        return fp;
    }
    const auto centre = *c3[0];
    fp.centre = centre;
    if (c3[1] && c3[2])
        fp.pixel_scale_arcsec = 0.5 *
                                (angular_distance_deg(centre.first, centre.second, c3[1]->first, c3[1]->second) +
                                 angular_distance_deg(centre.first, centre.second, c3[2]->first, c3[2]->second)) *
                                3600.0;
    const auto corners = sky({{0.5, 0.5}, {nl + 0.5, 0.5}, {nl + 0.5, nb + 0.5}, {0.5, nb + 0.5}});
    double max_dist = 0;
    bool all = true;
    for (const auto& c : corners) {
        if (!c) {
            all = false;
            break;
        }
        max_dist = std::max(max_dist, angular_distance_deg(centre.first, centre.second, c->first, c->second));
    }
    if (!all) fp.warnings.push_back("a pixel-grid corner is outside the projection: no s_region");
    if (all && max_dist < 90.0) {
        for (const auto& c : corners) fp.polygon.push_back(*c);
        orient_polygon(fp.polygon);
        fp.radius = max_dist;
        return fp;
    }
    // No polygon describes the footprint (a corner outside the projection, as
    // for all-sky AIT maps, or more than a hemisphere): a bounding circle from
    // a grid of pixel positions, widened by two pixels; radius 180 = whole sky.
    constexpr int kSteps = 64;
    std::vector<std::pair<double, double>> grid;
    grid.reserve((kSteps + 1) * (kSteps + 1));
    for (int i = 0; i <= kSteps; ++i)
        for (int j = 0; j <= kSteps; ++j) grid.emplace_back(0.5 + nl * i / kSteps, 0.5 + nb * j / kSteps);
    double radius = 0;
    for (const auto& c : sky(grid))
        if (c) radius = std::max(radius, angular_distance_deg(centre.first, centre.second, c->first, c->second));
    fp.radius = std::min(180.0, radius + 2 * fp.pixel_scale_arcsec.value_or(0.0) / 3600.0);
    fp.warnings.push_back("footprint is not a polygon: s_region is a bounding circle");
    return fp;
}

ProductBounds product_bounds(const Wcs& wcs, const std::vector<long>& naxes, const FitsHeader& product,
                             const FitsHeader* primary) {
    ProductBounds b;
    if (wcs.get()) {
        b.footprint = sky_footprint(wcs, naxes);
        b.band = spectral_bounds(wcs, naxes);
        for (int code : stokes_codes(wcs, naxes))
            if (const char* l = stokes_label(code)) b.pol.push_back(l);
    }
    const TimeSpan t = time_span(product, primary);
    if (t.t_min) b.time = Interval{*t.t_min, t.t_max.value_or(*t.t_min)};
    return b;
}

}  // namespace vo::fits
