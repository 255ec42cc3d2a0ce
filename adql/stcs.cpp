// STC-S region strings for REGION (adql/stcs.hpp).
#include "adql/stcs.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>

#include "adql/adql.hpp"

namespace vo::adql {

namespace {

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        std::size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
        if (j > i) out.push_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

bool number(std::string_view w, double& v) {
    if (!w.empty() && w[0] == '+') w.remove_prefix(1);
    auto r = std::from_chars(w.data(), w.data() + w.size(), v);
    return r.ec == std::errc() && r.ptr == w.data() + w.size() && std::isfinite(v);
}

[[noreturn]] void bad(const std::string& what) { throw AdqlError(AdqlError::Kind::Type, "REGION: " + what); }
[[noreturn]] void unsupported(const std::string& what) {
    throw AdqlError(AdqlError::Kind::Unsupported, "REGION: " + what);
}

}  // namespace

StcsShape parse_stcs_region(std::string_view text) {
    const auto w = words(text);
    if (w.empty()) bad("empty STC-S string; expected e.g. 'Circle ICRS 10 20 1'");
    StcsShape s;
    const std::string shape = lower(w[0]);
    if (shape == "position")
        s.kind = "point";
    else if (shape == "circle" || shape == "box" || shape == "polygon")
        s.kind = shape;
    else if (shape == "union" || shape == "intersection" || shape == "not" || shape == "convex" || shape == "ellipse" ||
             shape == "sector")
        unsupported("the STC-S shape '" + std::string(w[0]) +
                    "' is not supported; use Position, Circle, Box or Polygon (or the ADQL geometry functions)");
    else
        bad("'" + std::string(w[0]) + "' is not an STC-S shape; expected Position, Circle, Box or Polygon");

    std::size_t i = 1;
    auto word_is = [&](std::initializer_list<const char*> options) {
        if (i >= w.size()) return false;
        const std::string x = lower(w[i]);
        for (const char* o : options)
            if (x == lower(o)) return true;
        return false;
    };
    if (word_is({"ICRS", "UNKNOWNFrame"}))
        ++i;
    else if (word_is({"FK5", "FK4", "J2000", "B1950", "ECLIPTIC", "GALACTIC", "GALACTIC_II", "SUPER_GALACTIC", "GEO_C",
                      "GEO_D", "ICRF"}))
        unsupported("coordinate frame '" + std::string(w[i]) + "' is not supported; use ICRS (coordinates in degrees)");
    if (word_is({"BARYCENTER", "GEOCENTER",    "HELIOCENTER",     "LSR",
                 "LSRK",       "LSRD",         "GALACTIC_CENTER", "LOCAL_GROUP_CENTER",
                 "MOON",       "EMBARYCENTER", "MERCURY",         "VENUS",
                 "MARS",       "JUPITER",      "SATURN",          "URANUS",
                 "NEPTUNE",    "PLUTO",        "RELOCATABLE",     "UNKNOWNRefPos",
                 "TOPOCENTER"}))
        ++i;
    if (word_is({"SPHERICAL2"}))
        ++i;
    else if (word_is({"CARTESIAN1", "CARTESIAN2", "CARTESIAN3", "UNITSPHERE", "SPHERICAL3"}))
        unsupported("coordinate flavor '" + std::string(w[i]) + "' is not supported; use SPHERICAL2");

    std::size_t end = w.size();
    if (end >= 2 && lower(w[end - 2]) == "unit") {
        if (lower(w[end - 1]) != "deg")
            unsupported("unit '" + std::string(w[end - 1]) + "' is not supported; give the coordinates in degrees");
        end -= 2;
    }
    for (; i < end; ++i) {
        double v;
        if (!number(w[i], v)) bad("'" + std::string(w[i]) + "' is not a number (in '" + std::string(text) + "')");
        s.values.push_back(v);
    }
    const std::size_t n = s.values.size();
    const bool ok = s.kind == "point"    ? n == 2
                    : s.kind == "circle" ? n == 3
                    : s.kind == "box"    ? n == 4
                                         : n >= 6 && n % 2 == 0;
    if (!ok)
        bad(std::string(w[0]) + " takes " +
            (s.kind == "point"    ? "2 numbers (ra dec)"
             : s.kind == "circle" ? "3 numbers (ra dec radius)"
             : s.kind == "box"    ? "4 numbers (ra dec width height)"
                                  : "an even number of at least 6 (three or more vertices)") +
            ", found " + std::to_string(n));
    // latitudes: every second number of a Position or Polygon, the centre's of a Circle or Box
    const std::size_t last = s.kind == "circle" || s.kind == "box" ? 2 : n;
    for (std::size_t k = 1; k < last; k += 2)
        if (s.values[k] < -90 || s.values[k] > 90) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%g", s.values[k]);
            bad(std::string("latitude ") + buf + " is outside [-90, 90] degrees");
        }
    return s;
}

}  // namespace vo::adql
