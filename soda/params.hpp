// SODA 1.0 request parameters: parsing of the DALI/SODA parameter values into
// a checked, typed request (vo::soda::Params).
//
// Implements SODA 1.0 section 3 (POS, CIRCLE, POLYGON, BAND, TIME, POL and
// their multiplicity, section 3.1) on top of the DALI 1.1 literal parsers of
// fits/dali_params.hpp (section 3.3: intervals, circle, polygon), plus two
// widely used non-standard extras: PIXEL_n (DaCHS) and META=true.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fits/dali_params.hpp"

namespace vo::soda {

/// An error a SODA request can produce, carrying what the HTTP layer needs.
///
/// - http_status: 400 for UsageError / MultiValuedParamNotSupported (DALI 1.1
///   section 4.2: 4xx = problem with the client request), 204 for a cutout that
///   overlaps the data nowhere (SODA 1.0 section 5.1: "204 (No Content) and no
///   response body"), 500 for a failure of the service on a valid request
///   (unreadable file...).
/// - code: the SODA 1.0 section 5.2 error label the text/plain error document
///   must start with ("UsageError", "MultiValuedParamNotSupported", "Error").
///   For 204 the code is "NoOverlap" (not sent to a sync client, which gets an
///   empty body; an async job can use what() as its result document).
/// - parameter: the offending parameter name (upper case, e.g. "CIRCLE"), or
///   empty when no single parameter is to blame.
/// what() is a complete message that already starts with the code, e.g.
/// "UsageError: CIRCLE: radius must be in (0,180] degrees, got -1".
class SodaError : public std::runtime_error {
public:
    SodaError(int http_status, std::string code, std::string parameter, const std::string& message);
    int http_status() const noexcept { return http_status_; }
    const std::string& code() const noexcept { return code_; }
    const std::string& parameter() const noexcept { return parameter_; }

private:
    int http_status_;
    std::string code_;
    std::string parameter_;
};

/// The DALI interval and sky region types (fits/dali_params.hpp, shared with
/// SIAv2 and DataLink).
using fits::Interval;
using fits::SkyRegion;

/// A parsed SODA request (everything except ID, which the server resolves).
///
/// All filters are conjunctive: the cutout is the part of the product that
/// satisfies every given filter (e.g. CIRCLE and BAND).
struct Params {
    /// Spatial filters (POS, CIRCLE, POLYGON: at most one value each, see
    /// parse_params). Several different ones are intersected.
    std::vector<SkyRegion> regions;
    /// BAND: vacuum (barycentric) wavelength interval in metres (SODA 3.3.4).
    std::optional<Interval> band;
    /// TIME: MJD (UTC) interval (SODA 3.3.5).
    std::optional<Interval> time;
    /// POL: Stokes/correlation labels (I Q U V RR LL RL LR XX YY XY YX), all
    /// values combined into one filter (SODA 3.3.6). Duplicates removed.
    std::vector<std::string> pol;
    /// PIXEL_n (non-standard, DaCHS): axis number n (1-based, FITS NAXISn order)
    /// -> inclusive 1-based pixel range [first, last].
    std::map<int, std::pair<long, long>> pixel;
    /// META=true (non-standard): return the headers the cutout would have, not
    /// the data (see Cutout::write).
    bool meta = false;

    /// True if no filter at all was given (the whole product is returned).
    bool empty() const;
    /// A one-line description of the request ("CIRCLE=... BAND=..."), for the
    /// HISTORY card and logs.
    std::string describe() const;
};

/// Parses SODA parameters.
///
/// dali_params: parameter name (already upper-cased by the caller, DALI 1.1
/// section 3.1) -> value, one entry per occurrence. Names that are not SODA
/// filter parameters (ID, RESPONSEFORMAT, REQUEST, RUNID, ...) are ignored.
/// Empty values are treated as absent (clients filling a service descriptor
/// send "CIRCLE=" for unused fields).
///
/// Multiplicity (SODA 1.0 section 3.1): POL may be repeated and its values are
/// combined (section 3.3.6). For the sync resource one request produces one
/// FITS file, so the "one result per combination" semantics of multiple POS,
/// CIRCLE, POLYGON, BAND, TIME or PIXEL_n values cannot be honoured: a
/// repeated value of any of them is rejected with
/// MultiValuedParamNotSupported (HTTP 400, SODA 1.0 section 5.2). Different
/// spatial parameters (e.g. CIRCLE and POLYGON) may be combined; they are
/// intersected.
///
/// Throws SodaError (400, "UsageError") naming the parameter for any malformed
/// value: wrong number of values, non-numeric text, NaN, longitudes outside
/// [0,360], latitudes outside [-90,90], a radius outside (0,180], a polygon
/// with fewer than 3 vertices, an interval with lo > hi, an unknown Stokes
/// label, a PIXEL_n range not of the form "first last" with 1 <= first <=
/// last (integers, see parse_pixel_index: larger values saturate), META not
/// a DALI boolean.
Params parse_params(const std::multimap<std::string, std::string>& dali_params);

/// Parses one PIXEL_n bound (a 1-based pixel index) as an integer with
/// saturation: an integer literal ("17", "+3", "9223372036854775807") is
/// exact, one beyond the range of long becomes LONG_MAX / LONG_MIN; a real
/// literal with an integral value ("1e300", "+Inf") saturates the same way (a
/// double -> long conversion of such a value is undefined and gave LONG_MIN,
/// i.e. no overlap instead of the whole axis).
/// Throws SodaError(400, "UsageError", parameter) for NaN, a non-integral
/// value ("1.5") or a non-number.
long parse_pixel_index(const std::string& parameter, const std::string& token);

/// fits::parse_numbers() with its DaliError turned into SodaError(400,
/// "UsageError", parameter): a whitespace-separated list of DALI numbers
/// ("12 -Inf +Inf 3.5e-7"); any non-number or NaN is refused.
std::vector<double> parse_numbers(const std::string& parameter, const std::string& value);

}  // namespace vo::soda
