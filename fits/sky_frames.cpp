#include "fits/sky_frames.hpp"

#include <erfa.h>
#include <erfam.h>
#include <wcslib/wcs.h>
#include <wcslib/wcsmath.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace vo::fits {
namespace {

constexpr double kDeg = ERFA_DD2R;

std::string trim(const char* s) {
    std::string t(s);
    while (!t.empty() && t.back() == ' ') t.pop_back();
    while (!t.empty() && t.front() == ' ') t.erase(0, 1);
    return t;
}

double wrap360(double lon) {
    double l = std::fmod(lon, 360.0);
    if (l < 0) l += 360.0;
    if (l >= 360.0) l -= 360.0;
    return l;
}

std::pair<double, double> degrees(double lon_rad, double lat_rad) { return {wrap360(lon_rad / kDeg), lat_rad / kDeg}; }

/// JD (two parts) of a Julian epoch.
void julian(double epoch, double& d1, double& d2) { eraEpj2jd(epoch, &d1, &d2); }

/// FK5 at mean equinox `equinox` (Julian epoch) -> FK5 J2000, radians.
void fk5_to_j2000(double equinox, double& ra, double& dec) {
    if (std::fabs(equinox - 2000.0) < 1e-9) return;
    double d1 = 0, d2 = 0, p[3], rm[3][3], q[3];
    julian(equinox, d1, d2);
    eraPmat76(d1, d2, rm);  // J2000 -> mean of date: q = rm p
    eraS2c(ra, dec, p);
    eraTrxp(rm, p, q);  // mean of date -> J2000
    eraC2s(q, &ra, &dec);
}

void j2000_to_fk5(double equinox, double& ra, double& dec) {
    if (std::fabs(equinox - 2000.0) < 1e-9) return;
    double d1 = 0, d2 = 0, p[3], rm[3][3], q[3];
    julian(equinox, d1, d2);
    eraPmat76(d1, d2, rm);
    eraS2c(ra, dec, p);
    eraRxp(rm, p, q);
    eraC2s(q, &ra, &dec);
}

/// FK5 J2000 -> ICRS (radians): the FK5 -> Hipparcos orientation of the
/// Hipparcos catalogue (eraFk5hz at epoch J2000, no spin), the same
/// rotation as astropy's (USNO circular 179 B-matrix: -19.9, 9.1, -22.9 mas).
void fk5j2000_to_icrs(double lon, double lat, double& ra, double& dec) {
    eraFk5hz(lon, lat, ERFA_DJ00, 0.0, &ra, &dec);
}

/// ICRS -> FK5 J2000 (radians), the inverse (eraHfk5z).
void icrs_to_fk5j2000(double ra, double dec, double& lon, double& lat) {
    double dr = 0, dd = 0;
    eraHfk5z(ra, dec, ERFA_DJ00, 0.0, &lon, &lat, &dr, &dd);
}

}  // namespace

FrameSpec frame_of(const wcsprm* w) {
    const std::string lt = trim(w->lngtyp);
    const bool has_equinox = !undefined(w->equinox) && w->equinox != 0.0;
    if (lt == "GLON") return {SkyFrame::galactic, 2000.0};
    if (lt == "ELON") return {SkyFrame::ecliptic, has_equinox ? w->equinox : 2000.0};
    if (lt != "RA") return {SkyFrame::unknown, 0.0};
    const std::string rs = trim(w->radesys);
    if (rs == "ICRS") return {SkyFrame::icrs, 2000.0};
    if (rs == "FK5") return {SkyFrame::fk5, has_equinox ? w->equinox : 2000.0};
    if (rs == "FK4" || rs == "FK4-NO-E") return {SkyFrame::fk4, has_equinox ? w->equinox : 1950.0};
    if (rs.empty() || rs == "GAPPT") {
        // WCS Paper II section 3.1: no RADESYS -> FK4 before 1984, FK5 after;
        // neither RADESYS nor EQUINOX -> ICRS.
        if (has_equinox)
            return w->equinox < 1984.0 ? FrameSpec{SkyFrame::fk4, w->equinox} : FrameSpec{SkyFrame::fk5, w->equinox};
        return {SkyFrame::icrs, 2000.0};
    }
    return {SkyFrame::unknown, 0.0};
}

std::string frame_name(const FrameSpec& f) {
    char buf[32];
    switch (f.frame) {
        case SkyFrame::icrs: return "ICRS";
        case SkyFrame::galactic: return "GALACTIC";
        case SkyFrame::fk5: std::snprintf(buf, sizeof buf, "FK5 J%g", f.equinox); return buf;
        case SkyFrame::fk4: std::snprintf(buf, sizeof buf, "FK4 B%g", f.equinox); return buf;
        case SkyFrame::ecliptic: std::snprintf(buf, sizeof buf, "ECLIPTIC J%g", f.equinox); return buf;
        case SkyFrame::unknown: break;
    }
    return "unknown";
}

std::pair<double, double> to_icrs(const FrameSpec& f, double lon_deg, double lat_deg) {
    double lon = lon_deg * kDeg, lat = lat_deg * kDeg, ra = 0, dec = 0;
    switch (f.frame) {
        case SkyFrame::galactic: eraG2icrs(lon, lat, &ra, &dec); return degrees(ra, dec);
        case SkyFrame::fk5: {
            fk5_to_j2000(f.equinox, lon, lat);
            fk5j2000_to_icrs(lon, lat, ra, dec);
            return degrees(ra, dec);
        }
        case SkyFrame::fk4: {
            double r5 = 0, d5 = 0;
            eraFk45z(lon, lat, 1950.0, &r5, &d5);
            fk5j2000_to_icrs(r5, d5, ra, dec);
            return degrees(ra, dec);
        }
        case SkyFrame::ecliptic: {
            double d1 = 0, d2 = 0;
            julian(f.equinox, d1, d2);
            eraEceq06(d1, d2, lon, lat, &ra, &dec);
            return degrees(ra, dec);
        }
        case SkyFrame::icrs:
        case SkyFrame::unknown: break;
    }
    return {wrap360(lon_deg), lat_deg};
}

std::pair<double, double> from_icrs(const FrameSpec& f, double ra_deg, double dec_deg) {
    const double ra = ra_deg * kDeg, dec = dec_deg * kDeg;
    double lon = 0, lat = 0;
    switch (f.frame) {
        case SkyFrame::galactic: eraIcrs2g(ra, dec, &lon, &lat); return degrees(lon, lat);
        case SkyFrame::fk5: {
            icrs_to_fk5j2000(ra, dec, lon, lat);
            j2000_to_fk5(f.equinox, lon, lat);
            return degrees(lon, lat);
        }
        case SkyFrame::fk4: {
            double r5 = 0, d5 = 0, dr = 0, dd = 0;
            icrs_to_fk5j2000(ra, dec, r5, d5);
            eraFk54z(r5, d5, 1950.0, &lon, &lat, &dr, &dd);
            // eraFk54z is not the exact inverse of eraFk45z (about 1e-8 deg):
            // a few fixed-point steps make to_icrs(from_icrs(p)) = p, so that
            // pixel <-> sky round trips of a cutout stay consistent.
            for (int i = 0; i < 4; ++i) {
                double r = 0, d = 0, f5r = 0, f5d = 0;
                eraFk45z(lon, lat, 1950.0, &f5r, &f5d);
                fk5j2000_to_icrs(f5r, f5d, r, d);
                const double dra = eraAnpm(ra - r), ddec = dec - d;
                if (std::fabs(dra) < 1e-15 && std::fabs(ddec) < 1e-15) break;
                lon += dra;
                lat = std::clamp(lat + ddec, -ERFA_DPI / 2, ERFA_DPI / 2);
            }
            return degrees(lon, lat);
        }
        case SkyFrame::ecliptic: {
            double d1 = 0, d2 = 0;
            julian(f.equinox, d1, d2);
            eraEqec06(d1, d2, ra, dec, &lon, &lat);
            return degrees(lon, lat);
        }
        case SkyFrame::icrs:
        case SkyFrame::unknown: break;
    }
    return {wrap360(ra_deg), dec_deg};
}

}  // namespace vo::fits
