// SODA cutouts: a parsed request (Params) -> pixel ranges through the file's
// WCS -> a new FITS file streamed out in bounded memory.
//
// SODA 1.0 sections 3.3 (filtering parameters) and 5 ({sync} responses).
// No server dependency: fits/ (WCS, frames, spectral axes, bounds), CFITSIO,
// WCSLIB and S2. The implementation is split by concern (planning, one unit
// per filter, header rewriting, reading, output, bounds): see the list in
// soda/cutout_internal.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "soda/params.hpp"

namespace vo::soda {

/// The selected pixels along one FITS axis: 0-based `first`, `count` pixels,
/// every `step`-th pixel (step > 1 only for a STOKES axis when POL picks
/// evenly spaced planes, e.g. I and U of IQUV).
struct AxisCut {
    long first = 0;
    long count = 0;
    long step = 1;
    /// 1-based inclusive FITS range of this cut: [first+1, first+1+(count-1)*step].
    long fits_first() const { return first + 1; }
    long fits_last() const { return first + 1 + (count - 1) * step; }
};

/// One HDU of the output.
struct CutHdu {
    int hdu = 0;                     ///< 0-based HDU number in the input file
    std::string extname;             ///< EXTNAME ("" if none)
    int bitpix = 0;                  ///< BITPIX of the output (= input, or ZBITPIX for tile-compressed input)
    std::vector<long> naxes;         ///< input NAXISn, FITS order (NAXIS1 first)
    bool cut = false;                ///< false: header-only HDU (the kept primary header of a multi-extension product)
    std::uint64_t header_bytes = 0;  ///< output header size, multiple of 2880
    std::uint64_t data_bytes = 0;    ///< output data size without padding
};

/// A planned cutout: everything is decided (pixel box per axis, output
/// headers, exact byte size) before the first byte is written.
///
/// Output layout (SODA 1.0 section 5.1, "application/fits"): if the cut images
/// are extensions (MUSE DATA/STAT/DQ, GMOS SCI/VAR/DQ), the primary header is
/// kept (data dropped if any) and every cut image follows as an IMAGE
/// extension with its EXTNAME/EXTVER; if the product is a primary-HDU image
/// (ALMA, radio cubes), the output primary HDU is the cut image. Each cut
/// header has NAXISn, CRPIXja (all alternate WCSs) and, for a strided Stokes
/// cut, CDELTj/CDj_j updated; a HISTORY card records the request; CHECKSUM and
/// DATASUM (FITS 4.0 Appendix J) are written for every HDU. BITPIX, BZERO,
/// BSCALE and BLANK are kept and the stored values copied unchanged.
class Cutout {
public:
    Cutout();
    ~Cutout();
    Cutout(Cutout&&) noexcept;
    Cutout& operator=(Cutout&&) noexcept;

    /// Exact number of bytes write() produces (FITS: headers and data padded to
    /// 2880-byte blocks; META: text length). Known before writing, for
    /// Content-Length.
    std::uint64_t size_bytes() const;
    /// "application/fits", or "text/plain" for META=true.
    std::string content_type() const;
    /// Suggested file name for Content-Disposition: product stem + 1-based
    /// inclusive pixel ranges per axis, e.g.
    /// "udf_mosaic_subcube_cut_3-17_5-19_101-140.fits" (".txt" for META).
    std::string filename() const;
    /// The pixel selection, one entry per axis of the reference image (FITS
    /// order, 0-based first).
    const std::vector<AxisCut>& axes() const;
    /// The HDUs written, in output order (the first is the output primary HDU).
    const std::vector<CutHdu>& hdus() const;
    /// The HISTORY text recording the request.
    const std::string& history() const;
    /// True if this is a META=true (headers only) response.
    bool is_meta() const;

    /// Streams the output to `sink` in chunks of at most 1 MiB. `sink` returns
    /// false to stop (client gone): write() then returns false at once without
    /// reading further. Returns true when all size_bytes() bytes were passed.
    ///
    /// FITS output: DATASUM must be in each header before its data, so each
    /// HDU's selected data are read twice: once to checksum them (through a
    /// 1 MiB scratch buffer), then, after the header, into the output buffer
    /// (data that fit in the scratch buffer are sent from it, read once).
    /// The box is read as contiguous runs (a run is a row of the box;
    /// consecutive rows merge into one run when the box spans full rows or
    /// planes). Uncompressed files are read with pread(): runs of 64 kB or
    /// more straight into the output buffer; shorter runs through a 1 MiB
    /// buffer filled by one read over the remaining rows of the box in the
    /// current plane when rows are at most 16 kB apart, else one read per run.
    /// Tile-compressed and gzip files are read through CFITSIO (fits_read_pix,
    /// stored values, no scaling) and written as uncompressed images. Memory:
    /// 3 x 1 MiB buffers, kept per thread between cutouts (PooledBuffer),
    /// whatever the cube size (gzip input excepted: CFITSIO decompresses it in
    /// memory).
    ///
    /// META output: text/plain, the headers the FITS output would have (without
    /// CHECKSUM/DATASUM), one 80-character card per line, HDUs separated by a
    /// line "# HDU n" (the format of the CADC/astropy header dumps). DaCHS
    /// offers the same information through its non-standard KIND=HEADER.
    ///
    /// Throws SodaError(500, "Error") if the file can no longer be read.
    bool write(const std::function<bool(const char* data, std::size_t n)>& sink);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
    friend Cutout plan_cutout(const std::string&, const std::vector<int>&, const Params&);
};

/// Plans a cutout of the FITS file `fits_path` (SODA 1.0 section 3.3).
///
/// image_hdus: 0-based HDU numbers to cut; the first is the reference whose
/// WCS defines the pixel box. Empty = auto-detect: the reference is the first
/// image HDU with data (NAXIS >= 1, all NAXISn > 0), preferring one with a
/// celestial WCS; every other image HDU with the same NAXISn and, if it has
/// celestial CRPIX/CRVAL, the same values (MUSE DATA/STAT/DQ, GMOS SCI/VAR/DQ,
/// HST SCI/ERR/DQ) is cut alike.
///
/// Semantics (all filters intersected):
/// - POS/CIRCLE/POLYGON (ICRS degrees, converted to the WCS's own frame by
///   fits/sky_frames.hpp through ERFA: FK5 at its equinox, FK4 B1950,
///   galactic, ecliptic; other longitude types are a 400): the smallest pixel box
///   containing the region, clipped to the data. Pixel (1-based) i covers
///   [i-0.5, i+0.5); the box is found from (a) the region's boundary sampled
///   adaptively (<= 1/4 pixel steps wherever it may cross the image) mapped
///   with wcss2p, (b) the region's centre/vertices, (c) the image border
///   (1/2-pixel steps) and a 33x33 interior grid mapped with wcsp2s and kept
///   where inside the region — so a region containing a pole, or larger than
///   the image, is never under-cut. When the whole sampled boundary lies at
///   least 1 pixel inside the image and 8 border probes (corners, edge
///   middles) are outside the region, (c) cannot change the box and is
///   skipped. Distortions handled by WCSLIB (SIP, TPV, TPD via
///   wcspih/wcsset) are honoured.
/// - BAND (vacuum wavelength, m): channel k (edges k-0.5, k+0.5) is kept if its
///   wavelength extent [lo, hi) meets [BAND lo, BAND hi]; the channel edges
///   are fits::channel_edges() (fits/bounds.hpp), the same numbers as the
///   ObsCore row's em_min/em_max: the WCS loaded by fits::Wcs::load (IRAF
///   'LINEAR'/'LAMBDA' wavelength axes of 1-D spectra, rest frequency from
///   RESTFRQ/RESTFREQ/RESTWAV, else FREQ0 or a LINE/MOLECULE name; AIPS
///   FELO-HEL, VELO-LSR... translated by wcsfix) and every spectral type
///   converted by fits::to_vacuum_wavelength (WAVE, AWAV, FREQ, AFRQ, ENER,
///   WAVN, VRAD, VOPT, ZOPT, VELO, BETA).
/// - TIME (MJD): the product's own time span, fits::time_span() (the ObsCore
///   t_min/t_max: MJD-OBS, else MJD-BEG, else DATE-OBS...; MJD-END, else
///   DATE-END, else start + EXPTIME/XPOSURE/...) must meet the interval; if the
///   product has no time metadata at all the filter cannot exclude it and is
///   ignored (noted in HISTORY).
/// - POL: planes of the STOKES axis with those labels; evenly spaced planes
///   are cut with a step, otherwise the span first..last is kept. A STOKES
///   axis beyond NAXIS (degenerate: WCSAXES > NAXIS, or CTYPEn = 'STOKES' with
///   n > NAXIS) holds the product's one state, its value at pixel 1, as the
///   ObsCore row's pol_states says: POL with that state keeps the whole
///   product, without it the answer is NoOverlap.
/// - PIXEL_n: 1-based inclusive range on axis n, clipped to NAXISn (bounds
///   beyond the range of long were saturated by parse_params).
///
/// Errors (SodaError): 404 "UsageError" if the file is missing; 400
/// "UsageError" naming the parameter for a spatial filter on a product without
/// celestial WCS, BAND without spectral axis or rest frequency for a velocity
/// axis, POL without STOKES axis, PIXEL_n with n > NAXIS; 204 "NoOverlap"
/// (SODA 1.0 section 5.1: the sync response is then 204 No Content with no
/// body) when the selection contains no pixel; 500 "Error" for unreadable FITS
/// or WCS, and for a damaged file, refused before WCSLIB or any offset
/// computation sees it (message "the product file is damaged: HDU n: ..."):
/// a header failing header_defect() (fits/header_check.hpp: unterminated
/// string, non-printable character, no END, NaN/Inf WCS value), a data size
/// that does not fit in 64 bits, or a data unit ending beyond the end of the
/// file (uncompressed files; gzip files are inflated by CFITSIO).
Cutout plan_cutout(const std::string& fits_path, const std::vector<int>& image_hdus, const Params& params);

/// The cut-able bounds of a product, for a DataLink SODA service descriptor
/// (SODA 1.0 section 4.2: VALUES MIN/MAX of BAND and TIME, MAX of CIRCLE and
/// POLYGON, OPTIONs of POL).
struct Bounds {
    /// Footprint polygon (lon, lat) in ICRS degrees: the image corners (pixel
    /// edges) wound counter-clockwise, the ObsCore s_region
    /// (fits::sky_footprint), or a sampled border when corners are off the sky.
    /// Empty if there is no celestial WCS within NAXIS.
    std::vector<std::pair<double, double>> polygon;
    /// Covering circle (ICRS degrees): centre of the pixel grid (ObsCore s_ra,
    /// s_dec), radius to the farthest corner (half of s_fov), or of a grid of
    /// the image when corners are off the sky. Only meaningful if polygon is not
    /// empty.
    double circle_lon = 0, circle_lat = 0, circle_radius = 0;
    std::optional<Interval> band;  ///< vacuum wavelength in m, if a spectral axis exists and converts
    std::optional<Interval> time;  ///< MJD, if known
    std::vector<std::string> pol;  ///< Stokes labels present on a STOKES axis
    std::vector<long> naxes;       ///< NAXISn of the reference image (FITS order)
    std::vector<int> image_hdus;   ///< 0-based HDUs a cutout would include
};

/// Describes what plan_cutout can cut in `fits_path` (same HDU selection
/// rules): fits::product_bounds() of the reference HDU, the numbers of the
/// ObsCore row (tests/unit/agreement checks them on every sample file).
/// Throws SodaError like plan_cutout for unreadable files.
Bounds describe_bounds(const std::string& fits_path, const std::vector<int>& image_hdus);

}  // namespace vo::soda
