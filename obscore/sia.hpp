// SIAv2 {query} parameters -> one ADQL query over ivoa.obscore (SIA 2.0
// section 2.1; DESIGN.md "How a request flows": SIAv2 parameters go through
// the same ADQL/ObsCore path as TAP). Values never reach SQL: numbers are
// parsed and written back as ADQL numeric literals, strings as ADQL string
// literals (quotes doubled), and the ADQL is then parsed, checked and
// translated like any TAP query.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vo::obscore {

/// The SIAv2 query parameters this mapping reads (SIA 2.0 sections
/// 2.1.1-2.1.17), upper case: POS BAND TIME POL FOV SPATRES EXPTIME ID
/// COLLECTION FACILITY INSTRUMENT DPTYPE CALIB TARGET TIMERES SPECRP FORMAT.
/// MAXREC and RESPONSEFORMAT are DALI's (the caller reads them); other names
/// are ignored.
const std::vector<std::string>& sia_parameter_names();

/// Builds the ADQL of a SIAv2 query from the request's (name, value) pairs
/// (names compared ignoring ASCII case, DALI 1.1 section 3.1; values as
/// decoded). Every parameter may repeat: the constraints of one parameter
/// are OR-ed, those of different parameters AND-ed (SIA 2.0 section 2.1).
///
/// - POS: CIRCLE lon lat r | RANGE lon1 lon2 lat1 lat2 | POLYGON lon lat ...
///   (ICRS degrees, fits::parse_pos) intersecting s_region (section 2.1.1).
/// - BAND (m, wavelength) and TIME (MJD): an interval "lo hi" or one value,
///   -Inf/+Inf (and pyvo's inf/-inf) for open ends, matched when it overlaps
///   [em_min, em_max] / [t_min, t_max] (2.1.2, 2.1.3).
/// - FOV (deg, s_fov), SPATRES (arcsec, s_resolution), EXPTIME (s,
///   t_exptime), TIMERES (s, t_resolution), SPECRP (em_res_power): the
///   column's value lies in the interval (2.1.5-2.1.9).
/// - POL: one ObsCore polarization state, contained in pol_states (2.1.4).
/// - ID: obs_publisher_did compared ignoring case, as IVOIDs are (2.1.10).
/// - COLLECTION, FACILITY, INSTRUMENT, DPTYPE, TARGET, FORMAT: exact,
///   case-sensitive matches of obs_collection, facility_name,
///   instrument_name, dataproduct_type, target_name, access_format.
/// - CALIB: an integer calib_level (2.1.15).
/// A column that is NULL never satisfies a constraint on it (section 2.1).
/// Only images and cubes are searched (section 2.1.14).
///
/// Returns e.g. "SELECT * FROM ivoa.obscore WHERE dataproduct_type IN
/// ('image', 'cube') AND (INTERSECTS(s_region, CIRCLE('ICRS', 53.16, -27.78,
/// 0.1)) = 1)". Throws fits::DaliError naming the parameter for a malformed
/// value (e.g. "BAND: lower limit 2 exceeds upper limit 1").
std::string sia_adql(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace vo::obscore
