// FITS product -> ObsCore 1.1 metadata (DESIGN.md "obscore/": FITS -> ObsCore
// metadata extraction). Headers are read with CFITSIO, coordinates computed
// with WCSLIB after its fix-ups for real-world headers (wcsfix).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fits/bounds.hpp"
#include "fits/spectral.hpp"
#include "obscore/ingest.hpp"
#include "obscore/record.hpp"

namespace vo::obscore {

/// The outcome of extracting one file: a row and its product file, or the
/// reason why the file cannot become a row.
struct ExtractResult {
    std::optional<ObsCoreRecord> record;  ///< set when the file is a product
    ProductFile file;                     ///< path, size, mtime, image HDUs (when record is set)
    std::string skip_reason;              ///< why no row (when record is unset)
    std::vector<std::string> warnings;    ///< header repairs and values that could not be derived

    bool ok() const { return record.has_value(); }
};

/// Extracts the ObsCore 1.1 row of a FITS file (single or multi-extension;
/// `.fits`, `.fit`, `.fits.gz`, tile-compressed `.fz`), or of a header-only
/// file (`*.hdr`, `*.fits.header`, read with read_header_file()).
///
/// The product HDU is the first HDU with pixel data and a celestial or
/// spectral WCS (MUSE: `DATA`; GMOS: the first `SCI`), else the first image
/// HDU with pixel data; `file.image_hdus` lists (0-based) every image HDU
/// with the same shape and WCS (MUSE DATA, STAT, DQ) for SODA. Keywords not
/// in the product HDU are looked up in the primary header (ESO inheritance).
///
/// Columns (ObsCore 1.1 section 4 and Appendix B), all from the product HDU:
/// dataproduct_type from the axes (cube: 2 celestial axes + a spectral axis
/// of >1 channel; image: celestial only; spectrum: spectral only). The WCS,
/// footprint, spectral coverage, time span and Stokes states come from the
/// fits/ core that SODA cuts with (fits/wcs.hpp, fits/bounds.hpp), so the
/// row's bounds are what a cutout can select. s_ra/s_dec
/// the ICRS position of the pixel-grid centre (GALACTIC, ECLIPTIC, FK4 and
/// FK5 frames converted with ERFA, fits/sky_frames.hpp); s_region the polygon through the four pixel-edge
/// corners (pixel 0.5 and N+0.5), ICRS, in the DALI 1.1 section 3.3.7 order;
/// s_fov the diameter of the circle centred on s_ra/s_dec through the
/// farthest corner (deg); s_pixel_scale (arcsec) and s_resolution (arcsec:
/// BMAJ, else a PSF/seeing keyword); em_min/em_max (m, vacuum wavelength)
/// from the outer edges of the first and last channels, em_xel,
/// em_res_power = lambda / delta-lambda of the central channel; t_min/t_max
/// (MJD), t_exptime (s); pol_states/pol_xel from a STOKES axis; o_ucd/o_unit
/// from BUNIT; facility_name/instrument_name/target_name from
/// TELESCOP/INSTRUME/OBJECT (options give defaults); obs_id the file name
/// without its FITS extensions; obs_publisher_did `ivo://{authority}/
/// {collection}?{obs_id}`; access_url the path of its DataLink URL
/// `/datalink/sync?ID={url-encoded did}` (the server's base URL is put in
/// front at query time, obscore::set_public_base_url); access_estsize in kB; calib_level from
/// PRODCATG, else options.calib_level, else 2.
///
/// Checks made before any parser relies on the file (issue 7), each giving a
/// skip_reason naming the HDU: every header passes header_defect()
/// (obscore/header_text.hpp: printable 80-character cards, closed string
/// values, END, finite CRVAL/CRPIX/CDELT/CROTA/CD/PC values) before WCSLIB's
/// wcspih sees it; the data size of every HDU (data_unit_bytes()) fits in 64
/// bits; the product HDU's data end within the file ("truncated file").
/// Gzip files (recognised by their magic bytes) are inflated once as a
/// stream, keeping only the headers (memory does not grow with the file),
/// refused past options.max_decompressed_bytes and when the gzip trailer
/// (CRC-32, size) does not match the inflated bytes (a truncated file);
/// other compressions (compress, zip, bzip2) are refused.
///
/// Never throws for bad content: an unreadable file, a file with only tables
/// or only header units without data (NAXIS=0) gives a skip_reason.
ExtractResult extract_product(const std::string& path, const IngestOptions& options);

/// Same as extract_product() for a header-only dump already split into card
/// blocks (split_header_text()); `file_name` gives obs_id, `size_bytes` the
/// access_estsize. The header's NAXISn describe the (absent) pixel data.
ExtractResult extract_from_header_text(const std::vector<std::string>& hdu_cards, const std::string& file_name,
                                       std::int64_t size_bytes, const IngestOptions& options);

/// The obs_id of a file: its name without directories and without the
/// extensions `.gz`, `.fz`, `.bz2`, `.header`, `.hdr`, `.fits`, `.fit`, `.fts`
/// (e.g. "udf_mosaic_subcube" for ".../udf_mosaic_subcube.fits").
std::string obs_id_from_path(const std::string& path);

/// Percent-encodes every byte outside RFC 3986 "unreserved" (A-Z a-z 0-9 - . _ ~).
std::string url_encode(const std::string& text);

/// Shared with soda/ through fits/ (issue 8 item 3): mjd_from_iso (ISO 8601
/// or DD/MM/YY -> MJD), air_to_vacuum (WCSLIB awavwave, m),
/// pol_states_from_stokes (ObsCore 1.1 B.6.5.1 list from FITS STOKES codes).
using fits::air_to_vacuum;
using fits::mjd_from_iso;
using fits::pol_states_from_stokes;

/// A UCD1+ for the observable from a FITS BUNIT (o_ucd, ObsCore 1.1 section
/// 4.17): flux densities (Jy, Jy/beam, erg/s/cm2/Angstrom, W/m2/Hz) ->
/// phot.flux.density; per steradian -> phot.flux.sb; K -> phot.antennaTemp
/// (brightness/antenna temperature of radio cubes); K km/s -> phot.flux
/// (velocity-integrated line intensity); km/s -> spect.dopplerVeloc; counts,
/// electrons, ADU, DN -> phot.count (with arith.rate when per second).
/// nullopt for an unknown or empty unit.
std::optional<std::string> o_ucd_from_bunit(const std::string& bunit);

}  // namespace vo::obscore
