// SIAv2 parameters -> ADQL (obscore/sia.hpp; SIA 2.0 section 2.1).
#include "obscore/sia.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "adql/adql.hpp"
#include "fits/dali_params.hpp"
#include "fits/text.hpp"

namespace vo::obscore {

namespace {

using fits::DaliError;

/// An ADQL numeric literal for a finite double that reads back exactly.
std::string number(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, r.ptr);
    // "1e-07" is an ADQL approximate literal; "5" an exact one: both parse
    return s;
}

/// An ADQL character string literal of parameter `p`'s value (no control characters).
std::string quoted(const std::string& p, const std::string& v) {
    for (char c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            throw DaliError(p, "control characters are not allowed in the value");
    return adql::string_literal(v);
}

/// A numeric SIA value: one number (a degenerate interval) or "lo hi".
fits::Interval interval_or_value(const std::string& p, const std::string& value) {
    const auto v = fits::parse_numbers(p, value);
    if (v.size() == 1) {
        if (std::isinf(v[0])) throw DaliError(p, "a single value must be finite, got " + fits::trim(value));
        return {v[0], v[0]};
    }
    return fits::parse_interval(p, value);
}

/// `column` within [lo, hi]; infinite ends impose only "not NULL".
std::string within(const std::string& column, const fits::Interval& i, double scale = 1.0) {
    std::string out;
    if (std::isfinite(i.lo)) out = column + " >= " + number(i.lo * scale);
    if (std::isfinite(i.hi)) out += (out.empty() ? "" : " AND ") + column + " <= " + number(i.hi * scale);
    return out.empty() ? column + " IS NOT NULL" : out;
}

/// [lo_col, hi_col] overlaps [lo, hi] (both closed); NULL ends never match.
std::string overlaps(const std::string& lo_col, const std::string& hi_col, const fits::Interval& i) {
    std::string out = std::isfinite(i.hi) ? lo_col + " <= " + number(i.hi) : lo_col + " IS NOT NULL";
    out += " AND ";
    out += std::isfinite(i.lo) ? hi_col + " >= " + number(i.lo) : hi_col + " IS NOT NULL";
    return out;
}

std::string pos_constraint(const std::string& p, const std::string& value) {
    const fits::SkyRegion r = fits::parse_pos(p, value);
    switch (r.shape) {
        case fits::SkyRegion::Shape::Circle:
            return "INTERSECTS(s_region, CIRCLE('ICRS', " + number(r.lon) + ", " + number(r.lat) + ", " +
                   number(r.radius) + ")) = 1";
        case fits::SkyRegion::Shape::Range:
            if (r.lon_max - r.lon_min >= 360.0 && r.lat_min <= -90.0 && r.lat_max >= 90.0)
                return "s_region IS NOT NULL";  // the whole sky
            return "INTERSECTS(s_region, RANGE_S2D(" + number(r.lon_min) + ", " + number(r.lon_max) + ", " +
                   number(r.lat_min) + ", " + number(r.lat_max) + ")) = 1";
        case fits::SkyRegion::Shape::Polygon: {
            std::string out = "INTERSECTS(s_region, POLYGON('ICRS'";
            for (const auto& [lon, lat] : r.vertices) out += ", " + number(lon) + ", " + number(lat);
            return out + ")) = 1";
        }
    }
    return "1 = 0";
}

std::string calib_constraint(const std::string& p, const std::string& value) {
    const std::string t = fits::trim(value);
    int level = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), level);
    if (t.empty() || ec != std::errc() || ptr != t.data() + t.size())
        throw DaliError(p, "an integer calibration level (0-4, ObsCore calib_level) is expected, got '" + t + "'");
    return "calib_level = " + std::to_string(level);
}

/// One parameter's constraint for one value.
std::string constraint(const std::string& name, const std::string& value) {
    if (name == "POS") return pos_constraint(name, value);
    if (name == "BAND") return overlaps("em_min", "em_max", interval_or_value(name, value));
    if (name == "TIME") return overlaps("t_min", "t_max", interval_or_value(name, value));
    if (name == "FOV") return within("s_fov", interval_or_value(name, value));
    if (name == "SPATRES") return within("s_resolution", interval_or_value(name, value));
    if (name == "EXPTIME") return within("t_exptime", interval_or_value(name, value));
    if (name == "TIMERES") return within("t_resolution", interval_or_value(name, value));
    if (name == "SPECRP") return within("em_res_power", interval_or_value(name, value));
    if (name == "POL") {
        // pol_states is "/I/Q/U/V/" (ObsCore 1.1 B.6.5.1): the state between slashes
        const std::string state = fits::parse_pol_state(name, fits::trim(value));
        return "pol_states LIKE " + quoted(name, "%/" + state + "/%");
    }
    if (name == "ID") return "LOWER(obs_publisher_did) = " + quoted(name, fits::lower(value));
    if (name == "CALIB") return calib_constraint(name, value);
    static const std::pair<const char*, const char*> kStrings[] = {
        {"COLLECTION", "obs_collection"}, {"FACILITY", "facility_name"}, {"INSTRUMENT", "instrument_name"},
        {"DPTYPE", "dataproduct_type"},   {"TARGET", "target_name"},     {"FORMAT", "access_format"}};
    for (const auto& [param, column] : kStrings)
        if (name == param) return std::string(column) + " = " + quoted(name, value);
    return {};
}

}  // namespace

const std::vector<std::string>& sia_parameter_names() {
    static const std::vector<std::string> names = {
        "POS",      "BAND",       "TIME",   "POL",   "FOV",    "SPATRES", "EXPTIME", "ID",    "COLLECTION",
        "FACILITY", "INSTRUMENT", "DPTYPE", "CALIB", "TARGET", "TIMERES", "SPECRP",  "FORMAT"};
    return names;
}

std::string sia_adql(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string where = "dataproduct_type IN ('image', 'cube')";
    for (const auto& name : sia_parameter_names()) {
        std::string any;
        for (const auto& [n, v] : params) {
            if (fits::upper(n) != name) continue;
            const std::string c = constraint(name, v);
            any += (any.empty() ? "(" : ") OR (") + c;
        }
        if (!any.empty()) where += " AND (" + any + "))";
    }
    return "SELECT * FROM ivoa.obscore WHERE " + where;
}

}  // namespace vo::obscore
