// One ObsCore 1.1 row as extracted from a product, before it is stored.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vo::obscore {

/// A value of an archive extension column (configured, not in ObsCore).
using ExtraValue = std::variant<std::monostate, std::int64_t, double, std::string>;

/// One ObsCore 1.1 row (ObsCore 1.1 section 3.2 and Appendix B). Field names
/// are the ObsCore column names; units are the ObsCore ones: degrees for
/// s_ra/s_dec/s_fov, arcsec for s_resolution/s_pixel_scale, MJD (days) for
/// t_min/t_max, seconds for t_exptime/t_resolution, metres (vacuum wavelength)
/// for em_min/em_max, kilobytes for access_estsize. Unset optionals are NULL.
///
/// `s_region` is the footprint as a list of (ra, dec) vertices in degrees,
/// ICRS, counter-clockwise as seen from inside the sphere (DALI 1.1 section
/// 3.3.7 polygon); the store serialises it as the STC-S string
/// "Polygon ICRS ra1 dec1 ..." of ObsCore's adql:REGION type.
struct ObsCoreRecord {
    std::optional<std::string> dataproduct_type;  ///< image, cube, spectrum, ...
    std::optional<std::string> dataproduct_subtype;
    std::int64_t calib_level = 2;
    std::string obs_collection;
    std::string obs_id;
    std::optional<std::string> obs_title;
    std::string obs_publisher_did;  ///< ivo://{authority}/{collection}?{obs_id}
    std::optional<std::string> obs_creator_did;
    std::optional<std::string> access_url;
    std::optional<std::string> access_format;
    std::optional<std::int64_t> access_estsize;  ///< kB
    std::optional<std::string> target_name;
    std::optional<double> s_ra, s_dec, s_fov;         ///< deg
    std::vector<std::pair<double, double>> s_region;  ///< (ra, dec) deg vertices; empty = NULL
    /// A bounding circle (ra, dec, radius; deg) used as s_region when no
    /// polygon describes the footprint (all-sky maps whose pixel-grid corners
    /// lie outside the projection; radius 180 is the whole sky). Stored as
    /// "Circle ICRS ra dec r"; ignored when `s_region` is set.
    std::optional<std::array<double, 3>> s_region_circle;
    std::optional<double> s_resolution;  ///< arcsec FWHM
    std::optional<std::int64_t> s_xel1, s_xel2;
    std::optional<double> s_pixel_scale;            ///< arcsec
    std::optional<double> t_min, t_max;             ///< MJD
    std::optional<double> t_exptime, t_resolution;  ///< s
    std::optional<std::int64_t> t_xel;
    std::optional<double> em_min, em_max;  ///< m, vacuum wavelength
    std::optional<double> em_res_power;
    std::optional<std::int64_t> em_xel;
    std::optional<std::string> em_ucd;
    std::optional<std::string> o_ucd;
    std::optional<std::string> o_unit;
    std::optional<std::string> pol_states;  ///< e.g. "/I/Q/U/V/"
    std::optional<std::int64_t> pol_xel;
    std::optional<std::string> facility_name;
    std::optional<std::string> instrument_name;
    std::optional<std::string> proposal_id;
    std::optional<std::string> obs_release_date;  ///< ISO 8601

    /// Archive extension columns declared in the configuration, by name.
    std::map<std::string, ExtraValue> extra;
};

/// Where the product behind a row lives (never exposed to clients; SODA and
/// DataLink resolve obs_publisher_did to it).
struct ProductFile {
    std::string path;  ///< absolute path of the FITS file
    std::int64_t size_bytes = 0;
    std::int64_t mtime = 0;       ///< seconds since the epoch
    std::vector<int> image_hdus;  ///< 0-based HDU numbers that carry the product's pixels
    /// Of the product's ivoa.obscore row, as stored (nullopt: NULL, or no
    /// row), filled by ProductLookup::find_product (obscore/backend.hpp) for
    /// the authorization of downloads (issue 12); not written by upserts.
    std::optional<std::string> obs_collection = std::nullopt;
    std::optional<std::string> proposal_id = std::nullopt;
    std::optional<std::string> obs_release_date = std::nullopt;  ///< ISO 8601 UTC text, e.g. "2031-01-01T00:00:00"
};

/// The s_region value of a row: the STC-S string of ObsCore's adql:REGION
/// ("Polygon ICRS ra1 dec1 ...", or "Circle ICRS ra dec r" for a bounding
/// circle), "" for NULL. Degrees, ICRS.
std::string stcs_region(const ObsCoreRecord& record);

/// Serialises a footprint as the DALI 1.1 polygon value "ra1 dec1 ra2 dec2 ..."
/// (degrees, each number in the shortest form that reads back exactly).
std::string dali_polygon(const std::vector<std::pair<double, double>>& vertices);

}  // namespace vo::obscore
