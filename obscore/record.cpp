// ObsCore rows (obscore/record.hpp): the s_region serialisations.
#include "obscore/record.hpp"

#include <charconv>

namespace vo::obscore {

namespace {

/// The shortest text that reads back as exactly `v`.
std::string shortest(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

}  // namespace

std::string stcs_region(const ObsCoreRecord& r) {
    if (!r.s_region.empty()) return "Polygon ICRS " + dali_polygon(r.s_region);
    if (r.s_region_circle) {
        const auto& c = *r.s_region_circle;
        return "Circle ICRS " + shortest(c[0]) + " " + shortest(c[1]) + " " + shortest(c[2]);
    }
    return "";
}

std::string dali_polygon(const std::vector<std::pair<double, double>>& vertices) {
    std::string out;
    for (const auto& [ra, dec] : vertices) {
        for (double v : {ra, dec}) {
            if (!out.empty()) out += ' ';
            out += shortest(v);
        }
    }
    return out;
}

}  // namespace vo::obscore
