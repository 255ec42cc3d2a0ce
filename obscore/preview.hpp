// Previews of products, as the ALMA Science Archive offers them (issue 10
// item 4; DataLink 1.1 section 3.2.4 #preview and #preview-plot): for a cube,
// the peak-flux image (moment 8: the maximum along the spectral axis of each
// spaxel), the mean ("white light") image and a plot of the spectra through
// the brightest spaxel and through the centre; for an image, a scaled
// rendering. PNG, at most kPreviewMaxSide pixels on a side, computed in one
// pass over the pixels with memory bounded by the preview size (a 1 GB cube
// needs a few MB), and kept on disk so that serving one is a file read.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vo::obscore {

/// Largest side of a preview image, in pixels.
inline constexpr long kPreviewMaxSide = 1024;

/// A preview that cannot be made (unreadable data, no image HDU, an image
/// too degenerate to render). The message names the file and the reason.
class PreviewError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One kind of preview: "peak", "mean", "spectrum" (cubes) or "image"
/// (images), with its DataLink semantics and a description.
struct PreviewKind {
    std::string name;
    std::string semantics;  ///< "#preview" or "#preview-plot"
    std::string description;
};

/// The previews of a product of ObsCore `dataproduct_type` ("cube" or
/// "image"; none for other types).
std::vector<PreviewKind> preview_kinds(const std::string& dataproduct_type);

/// The display stretch of the preview images (documented so that a client
/// can invert it): over the finite values v of the image, lo and hi are the
/// values of rank floor(0.005 (n-1)) and floor(0.995 (n-1)) of the sorted
/// values (numpy.percentile(..., method="lower") at 0.5 and 99.5; hi = lo +
/// 1 when they are equal); t = clamp((v - lo) / (hi - lo), 0, 1); the grey
/// level is round(255 asinh(10 t) / asinh(10)). NaN (and infinite) pixels
/// are transparent (alpha 0), all others opaque. Row 0 of the PNG is the
/// highest FITS row (north up for the usual orientation).
/// Returns the grey levels (0-255, 255 = transparent marker not used) and
/// sets `opaque` per pixel.
std::vector<std::uint8_t> stretch_grey(const std::vector<double>& values, std::vector<bool>& opaque);

/// Writes the previews of the image HDU `hdu` (0-based) of the FITS file
/// `path` as PNG files `out_prefix` + kind + ".png" for every kind of
/// `dataproduct_type` (cube: axis 3 is the spectral axis; higher axes at
/// their first pixel, e.g. ALMA's Stokes I; an image: its first plane).
/// Larger images are reduced by an integer factor f (ceil(max side / 1024))
/// per axis: the peak image takes the maximum, the mean image the mean of
/// the finite values of each f x f block. Reads the data once, plane by
/// plane (row by row), and two single-spaxel spectra for the plot. Files
/// are written to temporary names and renamed, so a reader never sees a
/// partial PNG. Throws PreviewError.
void write_previews(const std::string& path, int hdu, const std::string& dataproduct_type,
                    const std::string& out_prefix);

}  // namespace vo::obscore
