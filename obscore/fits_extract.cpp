#include "obscore/fits_extract.hpp"
#include "fits/text.hpp"

#include <fitsio.h>
#include <wcslib/wcs.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "fits/bounds.hpp"
#include "fits/cfitsio_open.hpp"
#include "fits/sky_frames.hpp"
#include "fits/spectral.hpp"
#include "fits/wcs.hpp"
#include "obscore/header_text.hpp"

// CFITSIO's streaming gzip inflater (zcompress.c, exported by libcfitsio but
// declared only in its private fitsio2.h): reads the gzip file `indiskfile`,
// writes the inflated bytes to `outdiskfile` in chunks of 115200 bytes.
extern "C" int uncompress2file(char* filename, FILE* indiskfile, FILE* outdiskfile, int* status);

namespace vo::obscore {
namespace {

using fits::lower;
using fits::trim;

/// One HDU as seen by the extraction.
struct Hdu {
    int index = 0;
    FitsHeader header;
    bool is_image = false;
    std::vector<long> naxes;                         ///< NAXISn (empty for NAXIS=0)
    fits::Wcs wcs_owner;                             ///< the loaded WCS (fits/wcs.hpp), owner of `wcs`
    wcsprm* wcs = nullptr;                           ///< fixed and set, or null when no usable WCS
    int lng = -1, lat = -1, spec = -1, stokes = -1;  ///< 0-based WCS axis indices
    std::string wcs_error;
    bool truncated = false;  ///< the file ends before this HDU's data do

    bool has_data() const {
        if (naxes.empty()) return false;
        for (long n : naxes)
            if (n <= 0) return false;
        return true;
    }
    long axis_length(int i) const { return i >= 0 && i < static_cast<int>(naxes.size()) ? naxes[i] : 1; }
    bool has_celestial() const { return wcs && lng >= 0 && lat >= 0; }
    bool has_spectral() const { return wcs && spec >= 0; }
};

/// Loads the primary WCS of an HDU with the loader SODA uses too
/// (fits::Wcs::load: wcsfix, IRAF 'LINEAR' axes, rest-frequency fall-backs,
/// distortions WCSLIB refuses dropped with a warning).
void build_wcs(Hdu& hdu, std::vector<std::string>& warnings) {
    hdu.wcs_owner = fits::Wcs::load(hdu.header, hdu.naxes, hdu.index, &warnings);
    hdu.wcs = hdu.wcs_owner.get();
    hdu.wcs_error = hdu.wcs_owner.error();
    hdu.lng = hdu.wcs_owner.lng();
    hdu.lat = hdu.wcs_owner.lat();
    hdu.spec = hdu.wcs_owner.spec();
    hdu.stokes = hdu.wcs_owner.stokes();
}

/// World coordinates of one pixel (1-based pixel coordinates, one per WCS axis).
bool pix2world(const fits::Wcs& w, const std::vector<double>& pixel, std::vector<double>& world) {
    std::vector<int> stat;
    w.p2s(pixel, world, stat);
    if (stat.size() != 1 || stat[0] != 0) return false;
    for (double v : world)
        if (!std::isfinite(v)) return false;
    return true;
}

std::string em_ucd_of(const std::string& type) {
    if (type == "FREQ" || type == "AFRQ") return "em.freq";
    if (type == "WAVE" || type == "AWAV") return "em.wl";
    if (type == "WAVN") return "em.wavenumber";
    if (type == "ENER") return "em.energy";
    if (type == "VRAD") return "spect.dopplerVeloc.radio";
    if (type == "VOPT" || type == "ZOPT") return "spect.dopplerVeloc.opt";
    return "spect.dopplerVeloc";
}

/// Merged keyword look-up: product HDU first, then the primary header.
struct Keywords {
    const FitsHeader* product;
    const FitsHeader* primary;
    std::optional<std::string> str(const char* key) const {
        if (auto v = product->get_string(key)) return v;
        if (primary) return primary->get_string(key);
        return std::nullopt;
    }
    std::optional<double> num(const char* key) const {
        if (auto v = product->get_double(key)) return v;
        if (primary) return primary->get_double(key);
        return std::nullopt;
    }
};

/// t_min, t_max, t_exptime: fits::time_span(), the span SODA's TIME filter
/// uses too.
void derive_time(const Keywords& kw, ObsCoreRecord& r) {
    const fits::TimeSpan t = fits::time_span(*kw.product, kw.primary);
    r.t_min = t.t_min;
    r.t_max = t.t_max;
    r.t_exptime = t.exptime;
}

/// s_resolution (arcsec): BMAJ (deg), else a PSF/seeing keyword (arcsec).
std::optional<double> derive_resolution(const Keywords& kw) {
    if (auto bmaj = kw.num("BMAJ"); bmaj && *bmaj > 0) return *bmaj * 3600.0;
    for (const char* key : {"PSFFWHM", "SKY_RES", "FWHM", "SEEING", "ESO TEL IA FWHM", "ESO TEL AMBI FWHM END",
                            "ESO TEL AMBI FWHM START", "ESO DRS PSF FWHM"}) {
        if (auto v = kw.num(key); v && *v > 0 && *v < 3600) return v;
    }
    return std::nullopt;
}

/// calib_level from the ESO PRODCATG convention. ESO publishes its Phase 3
/// SCIENCE.* products (reduced, calibrated, science-ready: images, cubes,
/// spectra, even survey mosaics) with calib_level 2 in its own ObsCore
/// (see ../shared/data/real-responses/eso: VVV tiles are level 2); ANCILLARY.*
/// products are derived from them (white-light images, line maps), ObsCore
/// 1.1 section 4.2 level 3 ("enhanced data products").
std::optional<int> calib_level_from_prodcatg(const std::string& prodcatg) {
    const std::string u = trim(prodcatg);
    if (u.rfind("SCIENCE.", 0) == 0 || u == "SCIENCE") return 2;
    if (u.rfind("ANCILLARY.", 0) == 0) return 3;
    return std::nullopt;
}

/// True if two HDUs carry pixels on the same grid (same shape and WCS).
bool same_grid(const Hdu& a, const Hdu& b) {
    if (a.naxes != b.naxes) return false;
    if (!a.wcs || !b.wcs) {
        // No WCS in the companion (e.g. a DQ plane): same EXTVER if any.
        if (b.wcs) return false;
        const auto va = a.header.get_int("EXTVER"), vb = b.header.get_int("EXTVER");
        return va == vb;
    }
    int equal = 0;
    const int status = wcscompare(WCSCOMPARE_ANCILLARY, 1e-9, a.wcs, b.wcs, &equal);
    return status == 0 && equal;
}

/// Fills the spatial columns from the celestial axes: fits::sky_footprint(),
/// the footprint SODA's describe_bounds() gives too.
void derive_spatial(const Hdu& h, ObsCoreRecord& r, std::vector<std::string>& warnings) {
    const auto fp = fits::sky_footprint(h.wcs_owner, h.naxes);
    if (!fp) return;
    warnings.insert(warnings.end(), fp->warnings.begin(), fp->warnings.end());
    if (fits::frame_of(h.wcs).frame == fits::SkyFrame::unknown) return;
    r.s_xel1 = h.axis_length(h.lng);
    r.s_xel2 = h.axis_length(h.lat);
    if (!fp->centre) return;
    r.s_ra = fp->centre->first;
    r.s_dec = fp->centre->second;
    r.s_pixel_scale = fp->pixel_scale_arcsec;
    if (!fp->polygon.empty())
        r.s_region = fp->polygon;
    else
        r.s_region_circle = std::array<double, 3>{fp->centre->first, fp->centre->second, fp->radius};
    r.s_fov = 2 * fp->radius;
}

/// Fills the spectral columns from the spectral axis: em_min/em_max are
/// fits::spectral_bounds(), the coverage SODA's BAND filter cuts in.
void derive_spectral(const Hdu& h, ObsCoreRecord& r, std::vector<std::string>& warnings) {
    const int s = h.spec;
    const long ns = h.axis_length(s);
    const std::string type = h.wcs_owner.ctype(s).substr(0, 4);
    r.em_ucd = em_ucd_of(type);
    r.em_xel = ns;
    const auto band = fits::spectral_bounds(h.wcs_owner, h.naxes);
    if (!band) {
        warnings.push_back("spectral axis " + std::string(h.wcs->ctype[s]) +
                           " cannot be converted to wavelength (rest frequency missing?)");
        return;
    }
    r.em_min = band->lo;
    r.em_max = band->hi;
    const auto base = fits::base_pixel(h.wcs_owner, h.naxes);
    auto wave_at = [&](double p) -> std::optional<double> {
        std::vector<double> pix = base, world;
        pix[static_cast<std::size_t>(s)] = p;
        if (!pix2world(h.wcs_owner, pix, world)) return std::nullopt;
        return fits::to_vacuum_wavelength(type, world[static_cast<std::size_t>(s)], h.wcs_owner.rest());
    };
    const double pc = (static_cast<double>(ns) + 1.0) / 2.0;
    const auto c = wave_at(pc), a = wave_at(pc - 0.5), b = wave_at(pc + 0.5);
    if (c && a && b && *a != *b) r.em_res_power = *c / std::abs(*b - *a);
}

/// pol_states/pol_xel from the STOKES axis (fits::stokes_codes(), the planes
/// SODA's POL filter picks from).
void derive_polarisation(const Hdu& h, ObsCoreRecord& r) {
    if (h.stokes < 0) return;
    const std::string states = pol_states_from_stokes(fits::stokes_codes(h.wcs_owner, h.naxes));
    if (states.empty()) return;
    r.pol_states = states;
    r.pol_xel = h.axis_length(h.stokes);
}

ExtractResult extract_from_hdus(std::vector<Hdu>& hdus, const std::string& path, std::int64_t size_bytes,
                                const IngestOptions& options, bool header_only) {
    ExtractResult res;
    // Header text and data sizes are checked before any parser or size
    // computation relies on them (FITS 4.0 sections 4.1-4.2 and 4.4.1.1).
    for (const auto& h : hdus) {
        if (const auto& defect = h.header.defect()) {
            res.skip_reason = "invalid header in HDU " + std::to_string(h.index) + ": " + *defect;
            return res;
        }
        if (h.header.has("BITPIX") && h.header.has("NAXIS") && !data_unit_bytes(h.header.cards())) {
            res.skip_reason =
                "invalid header in HDU " + std::to_string(h.index) +
                ": the data size |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) cannot be computed "
                "(a negative or missing NAXISn) or does not fit in 64 bits (FITS 4.0 section 4.4.1.1)";
            return res;
        }
    }
    for (auto& h : hdus)
        if (h.is_image) build_wcs(h, res.warnings);
    // The product HDU: pixels and a celestial or spectral WCS, else pixels.
    Hdu* product = nullptr;
    for (auto& h : hdus)
        if (h.is_image && h.has_data() && (h.has_celestial() || h.has_spectral())) {
            product = &h;
            break;
        }
    if (!product)
        for (auto& h : hdus)
            if (h.is_image && h.has_data()) {
                product = &h;
                break;
            }
    if (product && product->truncated) {
        res.skip_reason =
            "truncated file: the data of HDU " + std::to_string(product->index) + " end beyond the end of the file";
        return res;
    }
    if (!product) {
        bool any_image = false;
        for (const auto& h : hdus)
            any_image = any_image || (h.is_image && h.index > 0) || (h.is_image && hdus.size() == 1);
        res.skip_reason = hdus.empty() ? "no header data unit"
                          : any_image
                              ? "no image HDU with pixel data (NAXIS=0 or a zero-length axis in every image HDU)"
                              : "no image HDU with pixel data (only tables)";
        return res;
    }
    ObsCoreRecord r;
    const Keywords kw{&product->header, product->index == 0 ? nullptr : &hdus.front().header};

    // Identification (ObsCore 1.1 sections 4.1-4.5).
    r.obs_collection = options.collection;
    r.obs_id = obs_id_from_path(path);
    r.obs_publisher_did = "ivo://" + options.authority + "/" + options.collection + "?" + r.obs_id;
    // a path below the server's base URL, completed at query time (obscore::set_public_base_url)
    r.access_url = "/datalink/sync?ID=" + url_encode(r.obs_publisher_did);
    r.access_format = "application/x-votable+xml;content=datalink";
    r.access_estsize = (size_bytes + 1023) / 1024;
    if (auto v = kw.str("TELESCOP"))
        r.facility_name = v;
    else
        r.facility_name = options.facility_name;
    if (auto v = kw.str("INSTRUME"))
        r.instrument_name = v;
    else
        r.instrument_name = options.instrument_name;
    for (const char* key : {"OBJECT", "TARGNAME", "ESO OBS TARG NAME"})
        if (auto v = kw.str(key)) {
            r.target_name = v;
            break;
        }
    if (auto v = kw.str("TITLE")) r.obs_title = v;
    for (const char* key : {"PROG_ID", "ESO OBS PROG ID", "PROPOSID", "PROPID", "GEMPRGID", "PROJECT"})
        if (auto v = kw.str(key)) {
            r.proposal_id = v;
            break;
        }
    std::optional<int> level;
    if (auto pc = kw.str("PRODCATG")) level = calib_level_from_prodcatg(*pc);
    r.calib_level = level.value_or(options.calib_level.value_or(2));

    // Observable (section 4.17-4.18).
    if (auto bunit = kw.str("BUNIT")) {
        r.o_unit = bunit;
        r.o_ucd = o_ucd_from_bunit(*bunit);
    }

    // Axes.
    const bool spatial = product->has_celestial() && product->axis_length(product->lng) >= 1;
    if (spatial) derive_spatial(*product, r, res.warnings);
    if (product->has_spectral()) derive_spectral(*product, r, res.warnings);
    derive_polarisation(*product, r);
    if (r.pol_states && *r.pol_states != "/I/" && r.o_ucd) *r.o_ucd += ";phys.polarisation";
    if (r.s_xel1) r.s_resolution = derive_resolution(kw);
    derive_time(kw, r);
    if (r.t_min || r.t_max) r.t_xel = 1;
    // ObsCore 1.1 section 4.26: released a proprietary period after the end
    // of the observation (issue 12 item 1), or on the date a configured
    // keyword gives
    const auto end = r.t_max ? r.t_max : r.t_min;
    if (options.proprietary_months && end) r.obs_release_date = release_date(*end, *options.proprietary_months);
    if (!options.release_date_keyword.empty())
        if (auto v = kw.str(options.release_date_keyword.c_str())) {
            if (auto iso = iso_date_time(*v))
                r.obs_release_date = *iso;
            else
                res.warnings.push_back(options.release_date_keyword + " = '" + *v +
                                       "' is not an ISO 8601 date; the release date follows the proprietary period");
        }
    fill_extension_values(
        options.extension_columns, [&](const std::string& key) { return kw.str(key.c_str()); }, r);

    // dataproduct_type from the axes with more than one pixel.
    const long nspec = product->has_spectral() ? product->axis_length(product->spec) : 0;
    long n_big = 0;
    for (long n : product->naxes) n_big += n > 1 ? 1 : 0;
    if (product->has_celestial())
        r.dataproduct_type = nspec > 1 ? "cube" : "image";
    else if (nspec > 1)
        r.dataproduct_type = "spectrum";
    else
        r.dataproduct_type = n_big >= 3 ? "cube" : n_big == 1 ? "spectrum" : "image";
    if (!product->wcs) res.warnings.push_back("HDU " + std::to_string(product->index) + ": " + product->wcs_error);

    // Companion planes for SODA.
    res.file.path = path;
    res.file.size_bytes = size_bytes;
    for (const auto& h : hdus)
        if (h.is_image && h.has_data() && (&h == product || same_grid(*product, h)))
            res.file.image_hdus.push_back(h.index);
    (void)header_only;
    std::vector<std::string> unique;
    for (auto& w : res.warnings)
        if (std::find(unique.begin(), unique.end(), w) == unique.end()) unique.push_back(w);
    res.warnings = std::move(unique);
    res.record = std::move(r);
    return res;
}

/// Fills is_image and naxes of an HDU from its header (text dumps).
void shape_from_header(Hdu& h) {
    const auto xt = h.header.get_string("XTENSION");
    const bool compressed = h.header.get_bool("ZIMAGE").value_or(false);
    h.is_image = (h.index == 0 && !xt) || (xt && (*xt == "IMAGE" || *xt == "IUEIMAGE")) || compressed;
    const char* prefix = compressed ? "ZNAXIS" : "NAXIS";
    const long long naxis = h.header.get_int(prefix).value_or(0);
    h.naxes.clear();
    for (long long i = 1; i <= naxis && i <= 999; ++i)
        h.naxes.push_back(static_cast<long>(h.header.get_int(prefix + std::to_string(i)).value_or(0)));
}

/// Modification time in seconds since the epoch (0 if unknown).
std::int64_t mtime_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtime);
}

/// CRC-32 of RFC 1952 section 8 (the ISO 3309 / IEEE 802.3 polynomial,
/// reflected: 0xEDB88320), updated byte by byte through a 256-entry table.
class Crc32 {
public:
    void add(const unsigned char* p, std::size_t n) {
        static const std::array<std::uint32_t, 256> table = [] {
            std::array<std::uint32_t, 256> t{};
            for (std::uint32_t i = 0; i < 256; ++i) {
                std::uint32_t c = i;
                for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            return t;
        }();
        std::uint32_t c = ~crc_;
        for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
        crc_ = ~c;
    }
    std::uint32_t value() const { return crc_; }

private:
    std::uint32_t crc_ = 0;
};

constexpr std::size_t kFitsBlock = 2880;
/// Largest header (bytes) accepted per HDU in a gzip stream: 400,000 cards,
/// a hundred times the largest real headers (ESO: a few thousand cards).
constexpr std::size_t kMaxStreamedHeaderBytes = 400000 * 80;

/// One HDU found in an inflated gzip stream.
struct StreamedHdu {
    std::string cards;                       ///< header cards up to and including END
    std::uint64_t data_start = 0;            ///< offset of the data unit in the inflated file
    std::optional<std::int64_t> data_bytes;  ///< data_unit_bytes() of the header
};

/// Walks the FITS structure of an inflated byte stream (FITS 4.0 section 3.3:
/// HDUs of 2880-byte header blocks ending with END, then the data unit padded
/// to 2880 bytes), keeping only the headers: memory does not grow with the
/// data. Counts bytes and the CRC-32, and stops once `limit` bytes are passed.
class FitsStreamScanner {
public:
    explicit FitsStreamScanner(std::uint64_t limit) : limit_(limit) {}

    /// Consumes n inflated bytes; false to stop (limit passed or not FITS).
    bool consume(const char* p, std::size_t n) {
        if (!error_.empty()) return false;
        total_ += n;
        crc_.add(reinterpret_cast<const unsigned char*>(p), n);
        if (total_ > limit_) {
            over_limit_ = true;
            error_ = "the decompressed size exceeds the limit of " + std::to_string(limit_) +
                     " bytes (IngestOptions::max_decompressed_bytes)";
            return false;
        }
        while (n > 0 && !done_) {
            if (skip_ > 0) {
                const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, n));
                skip_ -= k, p += k, n -= k, offset_ += k;
                continue;
            }
            const std::size_t k = std::min(n, kFitsBlock - block_.size());
            block_.append(p, k);
            p += k, n -= k, offset_ += k;
            if (block_.size() == kFitsBlock) header_block();
        }
        return error_.empty();
    }

    const std::vector<StreamedHdu>& hdus() const { return hdus_; }
    std::uint64_t total() const { return total_; }
    std::uint32_t crc() const { return crc_.value(); }
    const std::string& error() const { return error_; }
    bool over_limit() const { return over_limit_; }
    /// Marks the stream as refused with `why` (when error() is still empty).
    void fail(const std::string& why) {
        if (error_.empty()) error_ = why;
    }

private:
    void header_block() {
        const std::uint64_t block_end = offset_;
        if (header_.empty()) {
            const bool first = hdus_.empty();
            const char* expect = first ? "SIMPLE  =" : "XTENSION=";
            if (block_.compare(0, 9, expect) != 0) {
                if (first) error_ = "not a FITS file (the inflated data do not start with SIMPLE)";
                done_ = true;  // after the last HDU: padding or foreign data, ignored as CFITSIO does
                block_.clear();
                return;
            }
        }
        header_ += block_;
        block_.clear();
        for (std::size_t c = header_.size() - kFitsBlock; c < header_.size(); c += 80) {
            const std::string_view card(header_.data() + c, 80);
            if (card.substr(0, 3) == "END" && card.find_first_not_of(' ', 3) == std::string_view::npos) {
                StreamedHdu h;
                h.cards = header_.substr(0, c + 80);
                h.data_start = block_end;
                h.data_bytes = data_unit_bytes(h.cards);
                header_.clear();
                if (!h.data_bytes)
                    done_ = true;  // the size is unknown: the next HDU cannot be found
                else
                    skip_ = (static_cast<std::uint64_t>(*h.data_bytes) + kFitsBlock - 1) / kFitsBlock * kFitsBlock;
                hdus_.push_back(std::move(h));
                return;
            }
        }
        if (header_.size() > kMaxStreamedHeaderBytes) {
            error_ = "a header has more than " + std::to_string(kMaxStreamedHeaderBytes / 80) + " cards without END";
            done_ = true;
        }
    }

    std::uint64_t limit_;
    std::uint64_t total_ = 0;
    std::uint64_t offset_ = 0;  ///< bytes walked by the structure (headers and skipped data)
    Crc32 crc_;
    std::string block_, header_;
    std::uint64_t skip_ = 0;
    bool done_ = false;
    bool over_limit_ = false;
    std::string error_;
    std::vector<StreamedHdu> hdus_;
};

/// The compression a file's first bytes announce, or "" for none (gzip is
/// "gzip"; the others CFITSIO would inflate in memory: refused).
std::string compression_of(const std::string& path) {
    unsigned char m[4] = {0, 0, 0, 0};
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return "";
    const std::size_t n = std::fread(m, 1, 4, f);
    std::fclose(f);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return "gzip";
    if (n >= 2 && m[0] == 0x1f && (m[1] == 0x9d || m[1] == 0x1e || m[1] == 0xa0)) return "Unix compress/pack";
    if (n >= 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4) return "zip";
    if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') return "bzip2";
    return "";
}

/// Inflates a gzip file (RFC 1952) as a stream through CFITSIO's inflater and
/// walks its FITS structure (FitsStreamScanner): bounded memory, whatever
/// the inflated size; stops past `limit` bytes. The stream is complete only if
/// the CRC-32 and the size modulo 2^32 of the inflated bytes equal the
/// member's trailer (RFC 1952 section 2.3.1), which CFITSIO does not check:
/// a truncated file otherwise inflates "successfully" to fewer bytes.
/// Returns the scanner; its error() is set when the file is refused.
FitsStreamScanner scan_gzip(const std::string& path, std::uint64_t limit) {
    FitsStreamScanner scanner(limit);
    struct Sink {
        FitsStreamScanner* scanner;
    } sink{&scanner};
    cookie_io_functions_t io{};
    io.write = [](void* cookie, const char* buf, std::size_t size) -> ssize_t {
        auto* s = static_cast<Sink*>(cookie);
        return s->scanner->consume(buf, size) ? static_cast<ssize_t>(size) : 0;
    };
    FILE* in = std::fopen(path.c_str(), "rb");
    if (!in) {
        scanner.fail(std::string("cannot read file: ") + std::strerror(errno));
        return scanner;
    }
    FILE* out = fopencookie(&sink, "w", io);
    if (!out) {
        std::fclose(in);
        scanner.fail("cannot set up the gzip stream");
        return scanner;
    }
    std::setvbuf(out, nullptr, _IONBF, 0);
    int status = 0;
    std::string name = path;
    uncompress2file(name.data(), in, out, &status);
    std::fclose(out);
    // The trailer: the last 8 bytes of the file.
    unsigned char trailer[8] = {0};
    bool have_trailer = std::fseek(in, -8, SEEK_END) == 0 && std::fread(trailer, 1, 8, in) == 8;
    std::fclose(in);
    fits_clear_errmsg();
    if (!scanner.error().empty()) return scanner;
    auto le32 = [&](int at) {
        return static_cast<std::uint32_t>(trailer[at]) | static_cast<std::uint32_t>(trailer[at + 1]) << 8 |
               static_cast<std::uint32_t>(trailer[at + 2]) << 16 | static_cast<std::uint32_t>(trailer[at + 3]) << 24;
    };
    std::string problem;
    if (status != 0)
        problem = "the deflate data are corrupt (CFITSIO status " + std::to_string(status) + ")";
    else if (!have_trailer || le32(0) != scanner.crc() || le32(4) != static_cast<std::uint32_t>(scanner.total()))
        problem = "truncated or corrupt gzip file: the CRC-32 and size of the " + std::to_string(scanner.total()) +
                  " inflated bytes do not match the gzip trailer (RFC 1952 section 2.3.1)";
    if (!problem.empty()) scanner.fail(problem);
    return scanner;
}

}  // namespace

std::string obs_id_from_path(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    static const std::array<const char*, 9> exts = {".gz",   ".fz",  ".bz2", ".header", ".hdr",
                                                    ".fits", ".fit", ".fts", ".FITS"};
    bool changed = true;
    while (changed) {
        changed = false;
        for (const char* e : exts) {
            const std::size_t n = std::strlen(e);
            if (name.size() > n && lower(name.substr(name.size() - n)) == lower(e)) {
                name.resize(name.size() - n);
                changed = true;
            }
        }
    }
    return name;
}

std::string url_encode(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::optional<std::string> o_ucd_from_bunit(const std::string& bunit) {
    std::string u = lower(trim(bunit));
    std::string compact;
    for (char c : u)
        if (c != ' ') compact += c;
    if (compact.empty()) return std::nullopt;
    auto has = [&](const char* s) { return compact.find(s) != std::string::npos; };
    if (has("jy")) return has("/sr") || has("sr-1") ? "phot.flux.sb" : "phot.flux.density";
    if (compact == "km/s" || compact == "kms-1" || compact == "m/s" || compact == "km.s-1" || compact == "ms-1")
        return "spect.dopplerVeloc";
    if ((compact == "k" || compact.rfind("k(", 0) == 0 || compact == "kelvin")) return "phot.antennaTemp";
    if (compact.rfind("k", 0) == 0 && (has("km/s") || has("kms-1") || has("km.s-1"))) return "phot.flux";
    if (has("/sr") || has("sr-1") || has("-sr")) return "phot.flux.sb";
    if (has("erg") || has("w/m") || has("wm-2") || has("photon")) return "phot.flux.density";
    const bool rate = has("/s") || has("s-1") || has("/sec");
    for (const char* c : {"count", "electron", "adu", "dn", "cts", "e-"}) {
        if (compact.rfind(c, 0) == 0 || compact.find(std::string("*") + c) != std::string::npos ||
            compact.find(std::string(")") + c) != std::string::npos)
            return rate ? "arith.rate;phot.count" : "phot.count";
    }
    return std::nullopt;
}

ExtractResult extract_from_header_text(const std::vector<std::string>& hdu_cards, const std::string& file_name,
                                       std::int64_t size_bytes, const IngestOptions& options) {
    try {
        std::vector<Hdu> hdus;
        for (std::size_t i = 0; i < hdu_cards.size(); ++i) {
            Hdu h;
            h.index = static_cast<int>(i);
            h.header = FitsHeader(hdu_cards[i]);
            shape_from_header(h);
            hdus.push_back(std::move(h));
        }
        return extract_from_hdus(hdus, file_name, size_bytes, options, true);
    } catch (const std::exception& e) {
        ExtractResult res;
        res.skip_reason = std::string("cannot extract metadata: ") + e.what();
        return res;
    }
}

namespace {

/// The HDUs of a gzip-compressed FITS file, from one streaming pass
/// (scan_gzip); `inflated_size` is the size of the inflated file.
ExtractResult hdus_from_gzip(const std::string& path, const IngestOptions& options, std::vector<Hdu>& hdus,
                             std::uint64_t& inflated_size) {
    ExtractResult res;
    const std::uint64_t limit =
        options.max_decompressed_bytes > 0 ? static_cast<std::uint64_t>(options.max_decompressed_bytes) : 0;
    const FitsStreamScanner scan = scan_gzip(path, limit);
    if (!scan.error().empty()) {
        res.skip_reason = "gzip: " + scan.error();
        return res;
    }
    inflated_size = scan.total();
    for (std::size_t i = 0; i < scan.hdus().size(); ++i) {
        const StreamedHdu& s = scan.hdus()[i];
        Hdu h;
        h.index = static_cast<int>(i);
        h.header = FitsHeader(s.cards);
        shape_from_header(h);
        if (s.data_bytes && s.data_start + static_cast<std::uint64_t>(*s.data_bytes) > inflated_size)
            h.truncated = true;
        hdus.push_back(std::move(h));
    }
    return res;
}

/// The HDUs of an uncompressed (or tile-compressed) FITS file read with
/// CFITSIO; header text and data size are checked before CFITSIO's own
/// size arithmetic is trusted.
ExtractResult hdus_from_cfitsio(const std::string& path, std::uint64_t size, std::vector<Hdu>& hdus) {
    ExtractResult res;
    fitsfile* f = nullptr;
    int status = 0;
    if (fits::open_diskfile(&f, path, &status)) {
        char msg[FLEN_STATUS] = {0};
        fits_get_errstatus(status, msg);
        res.skip_reason = std::string("not a readable FITS file (CFITSIO: ") + msg + ")";
        fits_clear_errmsg();
        return res;
    }
    auto header_text = [&](bool converted, std::string& out) {
        char* header = nullptr;
        int nkeys = 0, st = 0;
        if (converted)
            fits_convert_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
        else
            fits_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
        if (st == 0 && header) {
            out.assign(header, std::strlen(header));
            if (out.size() < 80 || out.compare(out.size() - 80, 3, "END") != 0)
                out += std::string("END") + std::string(77, ' ');
        }
        int fst = 0;
        if (header) fits_free_memory(header, &fst);
        return st == 0 && header;
    };
    for (int i = 1;; ++i) {
        int hdutype = 0;
        status = 0;
        if (fits_movabs_hdu(f, i, &hdutype, &status)) break;  // end of file (or truncated)
        std::string raw;
        if (!header_text(false, raw)) {
            res.warnings.push_back("HDU " + std::to_string(i - 1) + ": header unreadable");
            break;
        }
        // The file's own header text is checked first (by FitsHeader, once):
        // nothing else parses it before.
        FitsHeader header(std::move(raw));
        if (const auto& defect = header.defect()) {
            res.skip_reason = "invalid header in HDU " + std::to_string(i - 1) + ": " + *defect;
            break;
        }
        const auto bytes = data_unit_bytes(header.cards());
        if (!bytes) {
            res.skip_reason =
                "invalid header in HDU " + std::to_string(i - 1) +
                ": the data size |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) cannot be computed "
                "or does not fit in 64 bits (FITS 4.0 section 4.4.1.1)";
            break;
        }
        Hdu h;
        h.index = i - 1;
        int s1 = 0;
        const bool compressed = fits_is_compressed_image(f, &s1) != 0;
        if (compressed) {
            // The image's header as CFITSIO converts it (ZNAXISn -> NAXISn...).
            std::string cards;
            if (!header_text(true, cards)) {
                res.warnings.push_back("HDU " + std::to_string(i - 1) + ": compressed image header unreadable");
                break;
            }
            h.header = FitsHeader(std::move(cards));
        } else {
            h.header = std::move(header);
        }
        LONGLONG head = 0, data = 0, end = 0;
        int s3 = 0;
        if (fits_get_hduaddrll(f, &head, &data, &end, &s3) == 0 &&
            (data < 0 || static_cast<std::uint64_t>(data) > size ||
             static_cast<std::uint64_t>(*bytes) > size - static_cast<std::uint64_t>(data)))
            h.truncated = true;
        shape_from_header(h);
        h.is_image = hdutype == IMAGE_HDU;
        if (!h.is_image) h.naxes.clear();
        const bool truncated = h.truncated;
        hdus.push_back(std::move(h));
        if (truncated) break;  // nothing after it can be read
    }
    status = 0;
    fits_close_file(f, &status);
    fits_clear_errmsg();
    return res;
}

}  // namespace

ExtractResult extract_product(const std::string& path, const IngestOptions& options) {
    ExtractResult res;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        res.skip_reason = "cannot read file: " + ec.message();
        return res;
    }
    const std::string lname = lower(path);
    const bool header_only = (lname.size() > 4 && lname.substr(lname.size() - 4) == ".hdr") ||
                             (lname.size() > 7 && lname.substr(lname.size() - 7) == ".header");
    try {
        if (header_only) {
            ExtractResult r =
                extract_from_header_text(read_header_file(path), path, static_cast<std::int64_t>(size), options);
            if (r.ok()) r.file.mtime = mtime_of(path);
            return r;
        }
        std::vector<Hdu> hdus;
        const std::string compression = compression_of(path);
        if (!compression.empty() && compression != "gzip") {
            res.skip_reason = "compressed with " + compression + ": only gzip-compressed FITS files are supported";
            return res;
        }
        std::uint64_t inflated = 0;
        ExtractResult read =
            compression == "gzip" ? hdus_from_gzip(path, options, hdus, inflated) : hdus_from_cfitsio(path, size, hdus);
        if (!read.skip_reason.empty()) return read;
        ExtractResult r = extract_from_hdus(hdus, path, static_cast<std::int64_t>(size), options, false);
        r.warnings.insert(r.warnings.begin(), read.warnings.begin(), read.warnings.end());
        if (r.ok()) {
            r.file.path = std::filesystem::absolute(path).string();
            r.file.mtime = mtime_of(path);
        }
        return r;
    } catch (const std::exception& e) {
        res.skip_reason = std::string("cannot extract metadata: ") + e.what();
        return res;
    }
}

}  // namespace vo::obscore
