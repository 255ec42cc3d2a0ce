// The SIAv2 {query} endpoint (/sia2/query) and its VOSI resources (SIA 2.0
// sections 2-3). The parameters become one ADQL query over ivoa.obscore
// (obscore/sia.hpp), run by the TAP query path (server/query.hpp) with the
// same lanes, limits and writers, so a SIAv2 result has the ObsCore FIELD
// metadata, the DataLink service descriptor and any TAP output format.
#pragma once

#include <string>

#include "server/config.hpp"
#include "server/params.hpp"
#include "server/tap_request.hpp"

namespace vo::server {

/// The standardID of the SIAv2 {query} capability (SIA 2.0 section 2.3).
inline constexpr const char* kSiaStandardId = "ivo://ivoa.net/std/SIA#query-2.0";

/// Checks a SIAv2 {query} request and builds its query:
/// - the SIA parameters -> `query.adql` (obscore::sia_adql);
/// - MAXREC (DALI 1.1 section 3.4.4; SIA 2.0 section 2.1.18: 0 gives the
///   metadata only), default limits.maxrec_default, at most limits.maxrec_hard;
/// - RESPONSEFORMAT (apply_responseformat; FORMAT is SIA's access_format
///   constraint here, not TAP's alias).
/// `query.extra_resources` holds the self-description of section 3.1.2 at
/// `base_url`/sia2/query; `query.infos` the ADQL run (INFO name="QUERY").
/// Throws ParamError whose message starts with "UsageFault: " (section 3.2)
/// and names the parameter, e.g. "UsageFault: BAND: interval min > max (2 > 1)".
TapRequest parse_sia_request(const DaliParams& params, const LimitsConfig& limits, const std::string& base_url);

/// The `<RESOURCE type="meta" utype="adhoc:service" name="this">` of SIA 2.0
/// section 3.1.2: standardID, accessURL `base_url`/sia2/query and every
/// standard query parameter with its datatype, xtype and unit.
std::string sia_self_descriptor(const std::string& base_url);

/// The VOSI capabilities of /sia2 (SIA 2.0 section 2.3, VOSI 1.1 section
/// 4): the {query} capability with absolute accessURL (pyvo builds its
/// SIA2Service from it) and its parameters, VOSI capabilities and availability.
std::string sia_capabilities_document(const Config& config);

}  // namespace vo::server
