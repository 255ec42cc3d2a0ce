#include "fits/spectral.hpp"

#include <wcslib/spx.h>

#include <cmath>
#include <string>

namespace vo::fits {
namespace {

constexpr double kC = kSpeedOfLight;
constexpr double kTwoPi = 6.283185307179586476925286766559;

RestFrame complete(const RestFrame& r) {
    RestFrame out = r;
    if (!(out.frequency_hz > 0) || !std::isfinite(out.frequency_hz)) out.frequency_hz = 0.0;
    if (!(out.wavelength_m > 0) || !std::isfinite(out.wavelength_m)) out.wavelength_m = 0.0;
    if (out.frequency_hz == 0.0 && out.wavelength_m != 0.0) out.frequency_hz = kC / out.wavelength_m;
    if (out.wavelength_m == 0.0 && out.frequency_hz != 0.0) out.wavelength_m = kC / out.frequency_hz;
    return out;
}

std::optional<double> positive(double v) {
    if (!std::isfinite(v) || v <= 0) return std::nullopt;
    return v;
}

std::optional<double> finite(double v) {
    if (!std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace

std::optional<double> to_vacuum_wavelength(std::string_view ctype, double v, const RestFrame& rest_in) {
    if (!std::isfinite(v)) return std::nullopt;
    const std::string t(ctype.substr(0, 4));
    const RestFrame rest = complete(rest_in);
    if (t == "WAVE") return positive(v);
    if (t == "AWAV") {
        if (!(v > 0)) return std::nullopt;
        double out = 0;
        int stat = 0;
        awavwave(0.0, 1, 1, 1, &v, &out, &stat);
        return stat ? std::nullopt : positive(out);
    }
    if (t == "FREQ") return v > 0 ? positive(kC / v) : std::nullopt;
    // AFRQ is an angular frequency (rad/s, WCS Paper III Table 1): nu = omega / 2 pi.
    if (t == "AFRQ") return v > 0 ? positive(kTwoPi * kC / v) : std::nullopt;
    if (t == "ENER") return v > 0 ? positive(kPlanck * kC / v) : std::nullopt;
    if (t == "WAVN") return v > 0 ? positive(1.0 / v) : std::nullopt;
    if (rest.frequency_hz == 0.0) return std::nullopt;
    if (t == "VRAD") return v < kC ? positive(kC / (rest.frequency_hz * (1.0 - v / kC))) : std::nullopt;
    if (t == "VOPT") return positive(rest.wavelength_m * (1.0 + v / kC));
    if (t == "ZOPT") return positive(rest.wavelength_m * (1.0 + v));
    if (t == "VELO" || t == "BETA") {
        const double beta = t == "VELO" ? v / kC : v;
        if (!(std::fabs(beta) < 1.0)) return std::nullopt;
        return positive(rest.wavelength_m * std::sqrt((1.0 + beta) / (1.0 - beta)));
    }
    return std::nullopt;
}

std::optional<double> from_vacuum_wavelength(std::string_view ctype, double lambda, const RestFrame& rest_in) {
    if (!std::isfinite(lambda) || lambda <= 0) return std::nullopt;
    const std::string t(ctype.substr(0, 4));
    const RestFrame rest = complete(rest_in);
    if (t == "WAVE") return lambda;
    if (t == "AWAV") {
        double out = 0;
        int stat = 0;
        waveawav(0.0, 1, 1, 1, &lambda, &out, &stat);
        return stat ? std::nullopt : positive(out);
    }
    if (t == "FREQ") return positive(kC / lambda);
    if (t == "AFRQ") return positive(kTwoPi * kC / lambda);
    if (t == "ENER") return positive(kPlanck * kC / lambda);
    if (t == "WAVN") return positive(1.0 / lambda);
    if (rest.frequency_hz == 0.0) return std::nullopt;
    if (t == "VRAD") return finite(kC * (1.0 - kC / (lambda * rest.frequency_hz)));
    if (t == "VOPT") return finite(kC * (lambda / rest.wavelength_m - 1.0));
    if (t == "ZOPT") return finite(lambda / rest.wavelength_m - 1.0);
    if (t == "VELO" || t == "BETA") {
        const double r2 = (lambda / rest.wavelength_m) * (lambda / rest.wavelength_m);
        const double beta = (r2 - 1.0) / (r2 + 1.0);
        return finite(t == "VELO" ? beta * kC : beta);
    }
    return std::nullopt;
}

double air_to_vacuum(double air_wavelength_m) {
    double out = air_wavelength_m;
    int stat = 0;
    awavwave(0.0, 1, 1, 1, &air_wavelength_m, &out, &stat);
    return out;
}

}  // namespace vo::fits
