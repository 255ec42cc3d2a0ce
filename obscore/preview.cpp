// Product previews (obscore/preview.hpp): CFITSIO reads, libpng writes the
// images, cairo draws the spectrum plot.
#include "obscore/preview.hpp"

#include <cairo.h>
#include <fitsio.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>

#include "fits/cfitsio_open.hpp"

namespace vo::obscore {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// A FITS file open on one HDU; closed on scope exit.
class Fits {
public:
    Fits(const std::string& path, int hdu) : path_(path) {
        int status = 0;
        if (fits::open_diskfile(&f_, path, &status)) {
            f_ = nullptr;
            fail("cannot open", status);
        }
        try {
            check_image(hdu);
        } catch (...) {
            close();  // the destructor does not run for a constructor that throws
            throw;
        }
    }
    ~Fits() { close(); }
    Fits(const Fits&) = delete;
    Fits& operator=(const Fits&) = delete;

    long axis(std::size_t i) const { return i < naxes_.size() ? naxes_[i] : 1; }

    /// Rows y .. y+n-1 (0-based) of plane `z` (0-based), higher axes at pixel 1; NaN for blanks.
    void read_rows(long y, long n, long z, std::vector<double>& rows) {
        std::vector<long> first(naxes_.size(), 1);
        first[0] = 1;
        first[1] = y + 1;
        if (naxes_.size() > 2) first[2] = z + 1;
        rows.resize(static_cast<std::size_t>(naxes_[0] * n));
        double nul = kNaN;
        int anynul = 0, status = 0;
        if (fits_read_pix(f_, TDOUBLE, first.data(), naxes_[0] * n, &nul, rows.data(), &anynul, &status))
            fail("cannot read the pixels", status);
    }

    /// The values along axis 3 at spaxel (x, y) (0-based).
    std::vector<double> spectrum(long x, long y) {
        std::vector<long> lo(naxes_.size(), 1), hi(naxes_.size(), 1), inc(naxes_.size(), 1);
        lo[0] = hi[0] = x + 1;
        lo[1] = hi[1] = y + 1;
        lo[2] = 1;
        hi[2] = naxes_[2];
        std::vector<double> out(static_cast<std::size_t>(naxes_[2]));
        double nul = kNaN;
        int anynul = 0, status = 0;
        if (fits_read_subset(f_, TDOUBLE, lo.data(), hi.data(), inc.data(), &nul, out.data(), &anynul, &status))
            fail("cannot read a spectrum", status);
        return out;
    }

    /// The linear world coordinate of 1-based pixel p along axis 3, and its label.
    double spectral_value(double p) const { return crval3_ + (p - crpix3_) * cdelt3_; }
    void read_spectral_axis() {
        int status = 0;
        double v = 0;
        if (fits_read_key(f_, TDOUBLE, "CRVAL3", &v, nullptr, &status) == 0) crval3_ = v;
        status = 0;
        if (fits_read_key(f_, TDOUBLE, "CRPIX3", &v, nullptr, &status) == 0) crpix3_ = v;
        status = 0;
        if (fits_read_key(f_, TDOUBLE, "CD3_3", &v, nullptr, &status) == 0)
            cdelt3_ = v;
        else {
            status = 0;
            if (fits_read_key(f_, TDOUBLE, "CDELT3", &v, nullptr, &status) == 0) cdelt3_ = v;
        }
        char text[FLEN_VALUE] = "";
        status = 0;
        if (fits_read_key(f_, TSTRING, "CTYPE3", text, nullptr, &status) == 0) label_ = text;
        status = 0;
        if (fits_read_key(f_, TSTRING, "CUNIT3", text, nullptr, &status) == 0 && *text)
            label_ += std::string(" [") + text + "]";
        status = 0;
        if (fits_read_key(f_, TSTRING, "BUNIT", text, nullptr, &status) == 0) bunit_ = text;
        if (label_.empty()) label_ = "channel";
    }
    const std::string& label() const { return label_; }
    const std::string& bunit() const { return bunit_; }

private:
    void close() {
        int status = 0;
        if (f_) fits_close_file(f_, &status);
        f_ = nullptr;
    }
    void check_image(int hdu) {
        int status = 0, type = 0;
        if (fits_movabs_hdu(f_, hdu + 1, &type, &status)) fail("cannot move to HDU " + std::to_string(hdu), status);
        if (type != IMAGE_HDU) throw PreviewError(path_ + ": HDU " + std::to_string(hdu) + " is not an image");
        int naxis = 0;
        if (fits_get_img_dim(f_, &naxis, &status)) fail("cannot read NAXIS", status);
        if (naxis < 2) throw PreviewError(path_ + ": HDU " + std::to_string(hdu) + " has fewer than 2 axes");
        naxes_.assign(static_cast<std::size_t>(naxis), 0);
        if (fits_get_img_size(f_, naxis, naxes_.data(), &status)) fail("cannot read the axis lengths", status);
        for (long n : naxes_)
            if (n < 1) throw PreviewError(path_ + ": an axis of length 0");
    }
    [[noreturn]] void fail(const std::string& what, int status) const {
        char text[FLEN_STATUS] = "";
        fits_get_errstatus(status, text);
        throw PreviewError(path_ + ": " + what + ": " + text);
    }
    fitsfile* f_ = nullptr;
    std::string path_;
    std::vector<long> naxes_;
    double crval3_ = 1, crpix3_ = 1, cdelt3_ = 1;
    std::string label_, bunit_;
};

/// Writes `path` via a temporary file and a rename.
template <class Write>
void write_atomically(const std::string& path, Write write) {
    static std::atomic<unsigned> serial{0};  // two workers may make the same product's previews
    const std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(++serial);
    write(tmp);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw PreviewError("cannot store the preview " + path);
    }
}

/// A grey + alpha PNG of `values` (w x h, row 0 = lowest FITS row) with the documented stretch.
void write_image_png(const std::vector<double>& values, long w, long h, const std::string& path) {
    std::vector<bool> opaque;
    const auto grey = stretch_grey(values, opaque);
    std::vector<png_byte> ga(static_cast<std::size_t>(w * h * 2));
    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x) {
            const auto src = static_cast<std::size_t>(y * w + x);
            const auto dst = static_cast<std::size_t>(((h - 1 - y) * w + x) * 2);  // north up
            ga[dst] = grey[src];
            ga[dst + 1] = opaque[src] ? 255 : 0;
        }
    write_atomically(path, [&](const std::string& tmp) {
        png_image image{};
        image.version = PNG_IMAGE_VERSION;
        image.width = static_cast<png_uint_32>(w);
        image.height = static_cast<png_uint_32>(h);
        image.format = PNG_FORMAT_GA;
        if (!png_image_write_to_file(&image, tmp.c_str(), 0, ga.data(), static_cast<png_int_32>(w * 2), nullptr)) {
            std::string why = image.message;
            png_image_free(&image);
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw PreviewError("cannot write " + path + ": " + why);
        }
    });
}

std::string number_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.5g", v);
    return buf;
}

/// The spectrum plot: two lines over the spectral axis, axes with their end values.
void write_spectrum_png(Fits& fits, const std::vector<double>& bright, const std::vector<double>& centre,
                        const std::string& bright_label, const std::string& centre_label, const std::string& path) {
    const int W = 900, H = 450, left = 90, right = 20, top = 40, bottom = 60;
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H), cairo_surface_destroy);
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()), cairo_destroy);
    cairo_t* c = cr.get();
    cairo_set_source_rgb(c, 1, 1, 1);
    cairo_paint(c);

    const std::size_t n = bright.size();
    double ymin = std::numeric_limits<double>::infinity(), ymax = -ymin;
    for (const auto* s : {&bright, &centre})
        for (double v : *s)
            if (std::isfinite(v)) ymin = std::min(ymin, v), ymax = std::max(ymax, v);
    if (!std::isfinite(ymin)) ymin = 0, ymax = 1;
    if (ymax <= ymin) ymax = ymin + 1;
    const double x0 = fits.spectral_value(1), x1 = fits.spectral_value(static_cast<double>(n));
    const auto px = [&](std::size_t i) {
        return left + (n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.5) * (W - left - right);
    };
    const auto py = [&](double v) { return top + (1 - (v - ymin) / (ymax - ymin)) * (H - top - bottom); };

    cairo_set_source_rgb(c, 0, 0, 0);
    cairo_set_line_width(c, 1);
    cairo_rectangle(c, left, top, W - left - right, H - top - bottom);
    cairo_stroke(c);
    cairo_select_font_face(c, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(c, 13);
    const auto text = [&](double x, double y, const std::string& s) {
        cairo_move_to(c, x, y);
        cairo_show_text(c, s.c_str());
    };
    text(left, H - bottom + 18, number_label(x0));
    text(W - right - 70, H - bottom + 18, number_label(x1));
    text(left + (W - left - right) / 2.0 - 60, H - 15, fits.label());
    text(5, top + 10, number_label(ymax));
    text(5, H - bottom, number_label(ymin));
    text(5, top - 6, fits.bunit().empty() ? "value" : fits.bunit());

    const auto line = [&](const std::vector<double>& s, double r, double g, double b) {
        cairo_set_source_rgb(c, r, g, b);
        cairo_set_line_width(c, 1.2);
        bool pen = false;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (!std::isfinite(s[i])) {
                pen = false;
                continue;
            }
            if (pen)
                cairo_line_to(c, px(i), py(s[i]));
            else
                cairo_move_to(c, px(i), py(s[i]));
            pen = true;
        }
        cairo_stroke(c);
    };
    line(centre, 0.1, 0.3, 0.9);
    line(bright, 0.85, 0.1, 0.1);
    cairo_set_source_rgb(c, 0.85, 0.1, 0.1);
    text(left + 10, 18, bright_label);
    cairo_set_source_rgb(c, 0.1, 0.3, 0.9);
    text(left + 10 + (W - left - right) / 2.0, 18, centre_label);
    cairo_surface_flush(surface.get());
    write_atomically(path, [&](const std::string& tmp) {
        if (cairo_surface_write_to_png(surface.get(), tmp.c_str()) != CAIRO_STATUS_SUCCESS)
            throw PreviewError("cannot write " + path);
    });
}

}  // namespace

std::vector<PreviewKind> preview_kinds(const std::string& dataproduct_type) {
    if (dataproduct_type == "cube")
        return {{"peak", "#preview", "Peak flux image (moment 8: the maximum along the spectral axis), PNG"},
                {"mean", "#preview", "Mean (white-light) image along the spectral axis, PNG"},
                {"spectrum", "#preview-plot", "Spectra through the brightest spaxel and the centre, PNG plot"}};
    if (dataproduct_type == "image") return {{"image", "#preview", "Scaled rendering of the image, PNG"}};
    return {};
}

std::vector<std::uint8_t> stretch_grey(const std::vector<double>& values, std::vector<bool>& opaque) {
    std::vector<double> finite;
    finite.reserve(values.size());
    for (double v : values)
        if (std::isfinite(v)) finite.push_back(v);
    std::sort(finite.begin(), finite.end());
    double lo = 0, hi = 1;
    if (!finite.empty()) {
        const auto rank = [&](double q) {
            return finite[static_cast<std::size_t>(std::floor(q * static_cast<double>(finite.size() - 1)))];
        };
        lo = rank(0.005);
        hi = rank(0.995);
        if (!(hi > lo)) hi = lo + 1;
    }
    std::vector<std::uint8_t> grey(values.size(), 0);
    opaque.assign(values.size(), false);
    const double norm = std::asinh(10.0);
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) continue;
        const double t = std::clamp((values[i] - lo) / (hi - lo), 0.0, 1.0);
        grey[i] = static_cast<std::uint8_t>(std::lround(255.0 * std::asinh(10.0 * t) / norm));
        opaque[i] = true;
    }
    return grey;
}

void write_previews(const std::string& path, int hdu, const std::string& dataproduct_type,
                    const std::string& out_prefix) {
    const auto kinds = preview_kinds(dataproduct_type);
    if (kinds.empty()) return;
    Fits fits(path, hdu);
    const long nx = fits.axis(0), ny = fits.axis(1);
    const bool cube = dataproduct_type == "cube";
    const long nz = cube ? fits.axis(2) : 1;
    const long f = std::max<long>(1, (std::max(nx, ny) + kPreviewMaxSide - 1) / kPreviewMaxSide);
    const long w = (nx + f - 1) / f, h = (ny + f - 1) / f;
    const auto cells = static_cast<std::size_t>(w * h);
    std::vector<double> peak(cells, -std::numeric_limits<double>::infinity()), sum(cells, 0.0);
    std::vector<std::int64_t> count(cells, 0);
    // a few MB of rows per read (whole planes of cubes like MUSE's), whatever the file's size
    const long rows_per_read = std::clamp<long>((1L << 19) / nx, 1, ny);
    std::vector<double> rows;
    for (long z = 0; z < nz; ++z)
        for (long y0 = 0; y0 < ny; y0 += rows_per_read) {
            const long n = std::min(rows_per_read, ny - y0);
            fits.read_rows(y0, n, z, rows);
            for (long y = y0; y < y0 + n; ++y) {
                const auto base = static_cast<std::size_t>((y / f) * w);
                const double* row = rows.data() + (y - y0) * nx;
                for (long x = 0; x < nx; ++x) {
                    const double v = row[x];
                    if (!std::isfinite(v)) continue;
                    const std::size_t i = base + static_cast<std::size_t>(x / f);
                    peak[i] = std::max(peak[i], v);
                    sum[i] += v;
                    ++count[i];
                }
            }
        }
    std::vector<double> mean(cells, kNaN);
    for (std::size_t i = 0; i < cells; ++i) {
        if (count[i] == 0)
            peak[i] = kNaN;
        else
            mean[i] = sum[i] / static_cast<double>(count[i]);
    }
    if (!cube) return write_image_png(mean, w, h, out_prefix + "image.png");

    write_image_png(peak, w, h, out_prefix + "peak.png");
    write_image_png(mean, w, h, out_prefix + "mean.png");
    // the brightest spaxel: the largest mean (the block's first pixel at full resolution)
    std::size_t best = 0;
    for (std::size_t i = 0; i < cells; ++i)
        if (std::isfinite(mean[i]) && (!std::isfinite(mean[best]) || mean[i] > mean[best])) best = i;
    const long bx = static_cast<long>(best % static_cast<std::size_t>(w)) * f;
    const long by = static_cast<long>(best / static_cast<std::size_t>(w)) * f;
    const long cx = (nx - 1) / 2, cy = (ny - 1) / 2;
    fits.read_spectral_axis();
    write_spectrum_png(fits, fits.spectrum(bx, by), fits.spectrum(cx, cy),
                       "brightest spaxel (" + std::to_string(bx + 1) + ", " + std::to_string(by + 1) + ")",
                       "centre (" + std::to_string(cx + 1) + ", " + std::to_string(cy + 1) + ")",
                       out_prefix + "spectrum.png");
}

}  // namespace vo::obscore
