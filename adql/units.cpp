// VOUnits 1.0 subset: SI base dimensions plus angle, enough for the units of
// astronomical catalogues (ObsCore's deg, m, d, s, Hz, Jy, ...).
#include "adql/units.hpp"

#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <string>

#include "adql/adql.hpp"

namespace vo::adql {
namespace {

// dimensions: m kg s A K mol cd rad
using Dim = std::array<int, 8>;
struct Quantity {
    double factor = 1;  // SI value of one unit
    Dim dim{};
};

const std::map<std::string, Quantity, std::less<>>& base_units() {
    constexpr double pi = 3.14159265358979323846;
    static const std::map<std::string, Quantity, std::less<>> u = {
        {"m", {1, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"g", {1e-3, {0, 1, 0, 0, 0, 0, 0, 0}}},
        {"s", {1, {0, 0, 1, 0, 0, 0, 0, 0}}},
        {"A", {1, {0, 0, 0, 1, 0, 0, 0, 0}}},
        {"K", {1, {0, 0, 0, 0, 1, 0, 0, 0}}},
        {"mol", {1, {0, 0, 0, 0, 0, 1, 0, 0}}},
        {"cd", {1, {0, 0, 0, 0, 0, 0, 1, 0}}},
        {"rad", {1, {0, 0, 0, 0, 0, 0, 0, 1}}},
        {"deg", {pi / 180, {0, 0, 0, 0, 0, 0, 0, 1}}},
        {"arcmin", {pi / 180 / 60, {0, 0, 0, 0, 0, 0, 0, 1}}},
        {"arcsec", {pi / 180 / 3600, {0, 0, 0, 0, 0, 0, 0, 1}}},
        {"mas", {pi / 180 / 3600e3, {0, 0, 0, 0, 0, 0, 0, 1}}},
        {"sr", {1, {0, 0, 0, 0, 0, 0, 0, 2}}},
        {"Hz", {1, {0, 0, -1, 0, 0, 0, 0, 0}}},
        {"N", {1, {1, 1, -2, 0, 0, 0, 0, 0}}},
        {"J", {1, {2, 1, -2, 0, 0, 0, 0, 0}}},
        {"W", {1, {2, 1, -3, 0, 0, 0, 0, 0}}},
        {"Pa", {1, {-1, 1, -2, 0, 0, 0, 0, 0}}},
        {"erg", {1e-7, {2, 1, -2, 0, 0, 0, 0, 0}}},
        {"eV", {1.602176634e-19, {2, 1, -2, 0, 0, 0, 0, 0}}},
        {"Jy", {1e-26, {0, 1, -2, 0, 0, 0, 0, 0}}},
        {"Angstrom", {1e-10, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"angstrom", {1e-10, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"AU", {1.495978707e11, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"au", {1.495978707e11, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"pc", {3.0856775814913673e16, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"lyr", {9.4607304725808e15, {1, 0, 0, 0, 0, 0, 0, 0}}},
        {"min", {60, {0, 0, 1, 0, 0, 0, 0, 0}}},
        {"h", {3600, {0, 0, 1, 0, 0, 0, 0, 0}}},
        {"d", {86400, {0, 0, 1, 0, 0, 0, 0, 0}}},
        {"a", {365.25 * 86400, {0, 0, 1, 0, 0, 0, 0, 0}}},
        {"yr", {365.25 * 86400, {0, 0, 1, 0, 0, 0, 0, 0}}},
        {"solMass", {1.98847e30, {0, 1, 0, 0, 0, 0, 0, 0}}},
        {"V", {1, {2, 1, -3, -1, 0, 0, 0, 0}}},
        {"T", {1, {0, 1, -2, -1, 0, 0, 0, 0}}},
    };
    return u;
}

double prefix_factor(std::string_view p) {
    static const std::map<std::string, double, std::less<>> prefixes = {
        {"y", 1e-24}, {"z", 1e-21}, {"a", 1e-18}, {"f", 1e-15}, {"p", 1e-12}, {"n", 1e-9}, {"u", 1e-6},
        {"m", 1e-3},  {"c", 1e-2},  {"d", 1e-1},  {"da", 1e1},  {"h", 1e2},   {"k", 1e3},  {"M", 1e6},
        {"G", 1e9},   {"T", 1e12},  {"P", 1e15},  {"E", 1e18},  {"Z", 1e21},  {"Y", 1e24}};
    auto it = prefixes.find(p);
    return it == prefixes.end() ? 0 : it->second;
}

[[noreturn]] void bad_unit(std::string_view u, const std::string& why) {
    throw AdqlError(AdqlError::Kind::Type, "IN_UNIT: '" + std::string(u) + "' " + why);
}

Quantity parse_symbol(std::string_view whole, std::string_view sym) {
    auto& bu = base_units();
    if (auto it = bu.find(sym); it != bu.end()) return it->second;
    for (std::size_t n : {2u, 1u}) {
        if (sym.size() > n) {
            double f = prefix_factor(sym.substr(0, n));
            auto it = bu.find(sym.substr(n));
            if (f != 0 && it != bu.end()) {
                Quantity q = it->second;
                q.factor *= f;
                return q;
            }
        }
    }
    bad_unit(whole, "is not a valid VOUnits unit (unknown symbol '" + std::string(sym) + "')");
}

Quantity parse_unit(std::string_view u) {
    if (u.empty()) bad_unit(u, "is unitless and cannot be converted");
    Quantity total;
    std::size_t i = 0;
    int sign = 1;
    while (i < u.size()) {
        std::size_t j = i;
        while (j < u.size() && u[j] != '.' && u[j] != '/' && u[j] != '*') ++j;
        std::string_view sym = u.substr(i, j - i);
        if (sym.empty()) bad_unit(u, "is not a valid VOUnits unit");
        Quantity q = parse_symbol(u, sym);
        int power = 1;
        if (j + 1 < u.size() && u[j] == '*' && u[j + 1] == '*') {
            j += 2;
            std::size_t k = j;
            if (k < u.size() && (u[k] == '-' || u[k] == '+')) ++k;
            while (k < u.size() && std::isdigit(static_cast<unsigned char>(u[k]))) ++k;
            if (k == j) bad_unit(u, "has a malformed exponent");
            power = std::atoi(std::string(u.substr(j, k - j)).c_str());
            j = k;
        } else if (j < u.size() && u[j] == '*') {
            bad_unit(u, "is not a valid VOUnits unit");
        }
        power *= sign;
        total.factor *= std::pow(q.factor, power);
        for (int d = 0; d < 8; ++d) total.dim[d] += q.dim[d] * power;
        if (j < u.size()) sign = (u[j] == '/') ? -1 : 1;
        i = j + (j < u.size() ? 1 : 0);
        if (j < u.size() && j + 1 == u.size()) bad_unit(u, "ends with an operator");
    }
    return total;
}

}  // namespace

double unit_conversion_factor(std::string_view from, std::string_view to) {
    Quantity a = parse_unit(from), b = parse_unit(to);
    if (a.dim != b.dim)
        throw AdqlError(AdqlError::Kind::Type, "IN_UNIT: cannot convert '" + std::string(from) + "' into '" +
                                                   std::string(to) + "' (different dimensions)");
    return a.factor / b.factor;
}

}  // namespace vo::adql
