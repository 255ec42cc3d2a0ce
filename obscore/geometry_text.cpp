// Geometry values as text (obscore/geometry_text.hpp).
#include "obscore/geometry_text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace vo::obscore {

namespace {

std::string shortest(double x) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

}  // namespace

std::optional<GeometryText> parse_geometry_text(std::string_view text, std::string& error) {
    GeometryText g;
    std::size_t i = 0;
    auto skip = [&] {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    };
    skip();
    // An STC-S region as ObsCore's adql:REGION columns hold it (s_region:
    // "Polygon ICRS ra1 dec1 ..."; also "Circle ICRS ra dec r", "Position ICRS
    // ra dec"): skip the shape word and the frame; the numbers decide the type.
    if (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) && text.substr(i, 5) != "range") {
        for (int word = 0; word < 2 && i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])); ++word) {
            while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
            skip();
        }
    }
    bool range = false;
    if (text.substr(i, 5) == "range") {
        range = true;
        i += 5;
    }
    while (true) {
        skip();
        if (i >= text.size()) break;
        double x;
        auto r = std::from_chars(text.data() + i, text.data() + text.size(), x);
        if (r.ec != std::errc()) {
            error = "invalid geometry value '" + std::string(text.substr(0, 60)) + "'";
            return std::nullopt;
        }
        g.values.push_back(x);
        i = static_cast<std::size_t>(r.ptr - text.data());
    }
    const auto& v = g.values;
    // S2 aborts the process on a non-finite point (found by the geometry fuzzer)
    for (double x : v)
        if (!std::isfinite(x)) {
            error = "coordinates must be finite numbers (found " + shortest(x) + ")";
            return std::nullopt;
        }
    if (range) {
        if (v.size() != 4 || !valid_latitude(v[2]) || !valid_latitude(v[3]) || v[2] > v[3]) {
            error = "invalid coordinate range";
            return std::nullopt;
        }
        g.kind = GeometryText::Kind::range;
        return g;
    }
    if (v.size() == 2) {
        if (!valid_latitude(v[1])) {
            error = "point latitude out of [-90, 90]";
            return std::nullopt;
        }
        g.kind = GeometryText::Kind::point;
        return g;
    }
    if (v.size() == 3) {
        if (!valid_latitude(v[1]) || !(v[2] >= 0)) {
            error = "invalid circle";
            return std::nullopt;
        }
        g.kind = GeometryText::Kind::circle;
        return g;
    }
    if (v.size() >= 6 && v.size() % 2 == 0) {
        for (std::size_t k = 1; k < v.size(); k += 2)
            if (!valid_latitude(v[k])) {
                error = "polygon vertex latitude out of [-90, 90]";
                return std::nullopt;
            }
        g.kind = GeometryText::Kind::polygon;
        return g;
    }
    error = "invalid geometry value '" + std::string(text.substr(0, 60)) +
            "' (expected 2, 3 or an even number >= 6 of numbers)";
    return std::nullopt;
}

}  // namespace vo::obscore
