// SIAv2 {query} endpoint (server/sia_endpoint.hpp).
#include "server/sia_endpoint.hpp"

#include "fits/dali_params.hpp"
#include "obscore/sia.hpp"
#include "server/datalink.hpp"
#include "server/vosi.hpp"
#include "votable/writer.hpp"

namespace vo::server {

namespace {

/// A standard query parameter of SIA 2.0 section 3.1.2 (datatype, xtype, unit).
struct SiaParam {
    const char* name;
    const char* datatype;
    const char* xtype;
    const char* unit;
    const char* description;
};

const SiaParam kParams[] = {
    {"POS", "char", "", "deg",
     "a region intersecting s_region (ICRS, degrees): CIRCLE lon lat radius, RANGE lon1 lon2 lat1 lat2 "
     "(-Inf/+Inf for open ends) or POLYGON lon1 lat1 lon2 lat2 ... (at least 3 vertices)"},
    {"BAND", "double", "interval", "m", "vacuum wavelength interval overlapping [em_min, em_max]"},
    {"TIME", "double", "interval", "d", "MJD interval overlapping [t_min, t_max]"},
    {"POL", "char", "", "", "a polarization state of pol_states (I Q U V RR LL RL LR XX YY XY YX)"},
    {"FOV", "double", "interval", "deg", "range of s_fov"},
    {"SPATRES", "double", "interval", "arcsec", "range of s_resolution"},
    {"EXPTIME", "double", "interval", "s", "range of t_exptime"},
    {"ID", "char", "", "", "obs_publisher_did, compared ignoring case"},
    {"COLLECTION", "char", "", "", "obs_collection"},
    {"FACILITY", "char", "", "", "facility_name"},
    {"INSTRUMENT", "char", "", "", "instrument_name"},
    {"DPTYPE", "char", "", "", "dataproduct_type (image or cube)"},
    {"CALIB", "int", "", "", "calib_level"},
    {"TARGET", "char", "", "", "target_name"},
    {"TIMERES", "double", "interval", "s", "range of t_resolution"},
    {"SPECRP", "double", "interval", "", "range of em_res_power"},
    {"FORMAT", "char", "", "", "access_format"},
    {"MAXREC", "int", "", "", "at most this many rows (0: the metadata only)"},
    {"RESPONSEFORMAT", "char", "", "", "votable (default), csv, tsv, fits or their MIME types"},
};

}  // namespace

TapRequest parse_sia_request(const DaliParams& params, const LimitsConfig& limits, const std::string& base_url) {
    TapRequest t;
    try {
        t.query.adql = obscore::sia_adql(params.pairs());
        apply_responseformat(params.single("RESPONSEFORMAT").value_or(""), t);
        t.query.maxrec = parse_maxrec(params, limits.maxrec_default, limits.maxrec_hard);
    } catch (const fits::DaliError& e) {
        throw ParamError(std::string("UsageFault: ") + e.what());
    } catch (const ParamError& e) {
        throw ParamError(std::string("UsageFault: ") + e.what());
    }
    t.query.infos.push_back({"QUERY", t.query.adql});
    t.query.extra_resources = sia_self_descriptor(base_url);
    return t;
}

std::string sia_self_descriptor(const std::string& base_url) {
    std::string r =
        "<RESOURCE type=\"meta\" utype=\"adhoc:service\" name=\"this\">\n"
        "<DESCRIPTION>This SIAv2 {query} service and its parameters (SIA 2.0 section 3.1.2)</DESCRIPTION>\n";
    r += descriptor_param("standardID", "char", "*", kSiaStandardId, "", "", "", "");
    r += descriptor_param("accessURL", "char", "*", base_url + "/sia2/query", "meta.ref.url", "", "", "");
    r += "<GROUP name=\"inputParams\">\n";
    for (const auto& p : kParams) {
        const std::string type = p.datatype;
        // DALI 1.1 section 3.3.4: an interval is a pair of doubles
        // (no default: "NaN NaN", the VOTable null of a double array, which
        // astropy reads without the E02 warning an empty value of arraysize 2 gives)
        const bool interval = *p.xtype != '\0';
        r += descriptor_param(p.name, p.datatype,
                              type == "int" ? ""
                              : interval    ? "2"
                                            : "*",
                              interval ? "NaN NaN" : "", "", p.unit, p.xtype, p.description);
    }
    r += "</GROUP>\n</RESOURCE>\n";
    return r;
}

std::string sia_capabilities_document(const Config& config) {
    const std::string sia = config.base_url() + "/sia2";
    return service_capabilities_document(
        sia, std::string("  <capability standardID=\"") + kSiaStandardId +
                 "\">\n"
                 "    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"2.0\">\n"
                 "      <accessURL use=\"base\">" +
                 votable::xml_escape(sia) + "/query</accessURL>\n" + security_methods_xml(config) +
                 // one queryType (GET; POST works as well): pyvo 1.2 warns (W17) on a second
                 // one; the parameters are described by every response (section 3.1.2)
                 "      <queryType>GET</queryType>\n"
                 "      <resultType>application/x-votable+xml</resultType>\n"
                 "    </interface>\n  </capability>\n");
}

}  // namespace vo::server
