// The cutout planner (SODA 1.0 section 3.3): plan_cutout ties the units of
// the engine together: the product's HDUs and WCS (product_file.cpp), one
// pixel selection narrowed by each filter in turn (filter_*.cpp), the output
// headers (header_rewrite.cpp), the exact output size and the file name; the
// bytes are written later by Cutout::write (output.cpp). The split is
// described in cutout_internal.hpp.
#include "soda/cutout.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "soda/cutout_internal.hpp"

namespace vo::soda {
using namespace detail;

namespace detail {

[[noreturn]] void no_overlap(const std::string& what) {
    throw SodaError(204, "NoOverlap", "", "the cutout contains no pixel of the product (" + what + ")");
}

AxisCut intersect_cut(const AxisCut& cut, long first1, long last1, const std::string& what) {
    const long a = std::max(first1, cut.first + 1), b = std::min(last1, cut.first + cut.count);
    if (a > b) no_overlap(what);
    AxisCut out = cut;
    out.first = a - 1;
    out.count = b - a + 1;
    return out;
}

}  // namespace detail

Cutout::Cutout() : impl_(std::make_unique<Impl>()) {}
Cutout::~Cutout() = default;
Cutout::Cutout(Cutout&&) noexcept = default;
Cutout& Cutout::operator=(Cutout&&) noexcept = default;

std::uint64_t Cutout::size_bytes() const { return impl_->size; }
std::string Cutout::content_type() const { return impl_->meta ? "text/plain" : "application/fits"; }
std::string Cutout::filename() const { return impl_->filename; }
const std::vector<AxisCut>& Cutout::axes() const { return impl_->axes; }
const std::vector<CutHdu>& Cutout::hdus() const { return impl_->hdus; }
const std::string& Cutout::history() const { return impl_->history; }
bool Cutout::is_meta() const { return impl_->meta; }

namespace {

/// The product file's name without .gz/.fz/.fits/.fit/.fts, characters other
/// than [A-Za-z0-9._+-] replaced by '_' (for Content-Disposition).
std::string file_stem(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    for (const char* ext : {".gz", ".fz", ".fits", ".fit", ".fts"}) {
        const std::string e = ext;
        if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
            name.erase(name.size() - e.size());
    }
    for (auto& c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+')) c = '_';
    return name;
}

/// The pixel selection of every filter of `params` intersected (SODA 1.0
/// section 3.3: filters are conjunctive), in the order spatial (each of POS,
/// CIRCLE, POLYGON), BAND, TIME, POL, PIXEL_n; one AxisCut per axis of the
/// reference image `ref`, starting from the whole image. HISTORY notes of the
/// filters are appended to `notes`. Errors: the filters' SodaErrors (400
/// naming the parameter, 204 NoOverlap).
std::vector<AxisCut> select_pixels(const HduInfo& primary, const HduInfo& ref, const fits::Wcs& wcs,
                                   const Params& params, std::vector<std::string>& notes) {
    const long naxis = static_cast<long>(ref.naxes.size());
    std::vector<AxisCut> axes(naxis);
    for (long i = 0; i < naxis; ++i) axes[i] = {0, ref.naxes[i], 1};
    auto narrow = [&](const PixelRange& r, const std::string& what) {
        axes[r.axis] = intersect_cut(axes[r.axis], r.first, r.last, what);
    };
    for (const auto& region : params.regions) {
        const auto [lon, lat] = circle_polygon_bounds(wcs, ref.naxes, region);
        narrow(lon, region.parameter);
        narrow(lat, region.parameter);
    }
    if (params.band) narrow(band_bounds(wcs, ref.naxes, *params.band), "BAND");
    if (params.time)
        if (auto note = time_filter(primary, ref, *params.time)) notes.push_back(*note);
    if (!params.pol.empty())
        if (const auto cut = pol_bounds(wcs, ref.naxes, params.pol, axes, notes)) axes[wcs.stokes()] = *cut;
    for (const auto& [axis, range] : params.pixel) axes[axis - 1] = pixel_bounds(axis, range, axes);
    return axes;
}

/// The HISTORY text of a cutout (lines separated by '\n'): the product file's
/// name, the request (Params::describe, "(whole product)" if empty), the kept
/// 1-based inclusive ranges "first:last" per axis in FITS order (", with
/// step" when an axis is strided), then the filters' `notes`.
std::string history_text(const std::string& fits_path, const Params& params, const std::vector<AxisCut>& axes,
                         const std::vector<std::string>& notes) {
    const long naxis = static_cast<long>(axes.size());
    std::ostringstream ranges;
    for (long i = 0; i < naxis; ++i) ranges << (i ? "," : "") << axes[i].fits_first() << ":" << axes[i].fits_last();
    const std::string req = params.describe();
    const bool strided = std::any_of(axes.begin(), axes.end(), [](const AxisCut& a) { return a.step != 1; });
    std::string history = "voserver SODA cutout of " + std::filesystem::path(fits_path).filename().string() + "\n" +
                          "request: " + (req.empty() ? std::string("(whole product)") : req) + "\n" +
                          "kept pixels (1-based, FITS axis order" + std::string(strided ? ", with step" : "") + "): [" +
                          ranges.str() + "]";
    for (const auto& n : notes) history += "\n" + n;
    return history;
}

}  // namespace

Cutout plan_cutout(const std::string& fits_path, const std::vector<int>& image_hdus, const Params& params) {
    auto f = open_fits(fits_path);
    HduInfo primary;
    const std::vector<HduInfo> hdus = select_hdus(f.get(), fits_path, image_hdus, primary);
    const HduInfo& ref = hdus.front();
    const fits::Wcs wcs = load_wcs(ref);
    std::vector<std::string> notes;
    const std::vector<AxisCut> axes = select_pixels(primary, ref, wcs, params, notes);

    Cutout cut;
    auto& im = *cut.impl_;
    im.path = fits_path;
    im.gzip = is_gzip(fits_path);
    im.meta = params.meta;
    im.axes = axes;
    im.history = history_text(fits_path, params, axes, notes);
    const auto hist = history_cards(im.history);

    if (ref.hdu != 0) {
        CutHdu p;
        p.hdu = 0;
        p.extname = primary.extname;
        p.bitpix = primary.bitpix;
        p.cut = false;
        im.headers.push_back(primary_header(primary.cards, hist));
        im.hdus.push_back(p);
        im.data_start.push_back(0);
        im.compressed.push_back(false);
    }
    for (const auto& h : hdus) {
        CutHdu c;
        c.hdu = h.hdu;
        c.extname = h.extname;
        c.bitpix = h.bitpix;
        c.naxes = h.naxes;
        c.cut = true;
        std::uint64_t npix = 1;
        for (const auto& a : axes) npix *= static_cast<std::uint64_t>(a.count);
        c.data_bytes = npix * static_cast<std::uint64_t>(std::abs(h.bitpix) / 8);
        im.headers.push_back(cut_header(h.cards, axes, hist));
        im.hdus.push_back(c);
        im.data_start.push_back(h.data_start);
        im.compressed.push_back(h.compressed);
    }
    im.size = 0;
    for (std::size_t i = 0; i < im.hdus.size(); ++i) {
        im.hdus[i].header_bytes = pad_block((im.headers[i].size() + 1) * 80);
        im.size += im.hdus[i].header_bytes + pad_block(im.hdus[i].data_bytes);
    }
    std::ostringstream fn;
    fn << file_stem(fits_path) << "_cut";
    for (const auto& a : axes) fn << "_" << a.fits_first() << "-" << a.fits_last();
    fn << (im.meta ? ".txt" : ".fits");
    im.filename = fn.str();
    if (im.meta) im.size = im.meta_size();
    return cut;
}

}  // namespace vo::soda
