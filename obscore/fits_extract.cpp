#include "obscore/fits_extract.hpp"

#include <fitsio.h>
#include <wcslib/spx.h>
#include <wcslib/wcs.h>
#include <wcslib/wcsfix.h>
#include <wcslib/wcshdr.h>
#include <wcslib/wcsmath.h>
#include <wcslib/wcsutil.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "obscore/header_text.hpp"
#include "obscore/sky_frames.hpp"

// CFITSIO's streaming gzip inflater (zcompress.c, exported by libcfitsio but
// declared only in its private fitsio2.h): reads the gzip file `indiskfile`,
// writes the inflated bytes to `outdiskfile` in chunks of 115200 bytes.
extern "C" int uncompress2file(char* filename, FILE* indiskfile, FILE* outdiskfile, int* status);

namespace vo::obscore {
namespace {

constexpr double kSpeedOfLight = 299792458.0;  // m/s
constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

/// Owns the wcsprm array returned by wcspih() and points at the chosen one
/// (copying with wcssub() is avoided: WCSLIB 7.12 reads out of bounds when it
/// copies some distortion set-ups).
struct WcsSet {
    wcsprm* array = nullptr;
    int nwcs = 0;
    int chosen = 0;
    ~WcsSet() {
        if (array) wcsvfree(&nwcs, &array);
    }
    wcsprm* get() const { return array + chosen; }
};
struct WcsDeleter {
    void operator()(wcsprm* w) const { (void)w; }
};


/// One HDU as seen by the extraction.
struct Hdu {
    int index = 0;
    FitsHeader header;
    bool is_image = false;
    std::vector<long> naxes;  ///< NAXISn (empty for NAXIS=0)
    std::unique_ptr<WcsSet> wcs_set;  ///< owner of `wcs`
    wcsprm* wcs = nullptr;            ///< fixed and set, or null when no usable WCS
    int lng = -1, lat = -1, spec = -1, stokes = -1;  ///< 0-based WCS axis indices
    std::string wcs_error;
    bool truncated = false;  ///< the file ends before this HDU's data do

    bool has_data() const {
        if (naxes.empty()) return false;
        for (long n : naxes)
            if (n <= 0) return false;
        return true;
    }
    long axis_length(int i) const { return i >= 0 && i < static_cast<int>(naxes.size()) ? naxes[i] : 1; }
    bool has_celestial() const { return wcs && lng >= 0 && lat >= 0; }
    bool has_spectral() const { return wcs && spec >= 0; }
};

bool is_length_unit(const std::string& u) {
    const std::string l = lower(trim(u));
    return l == "angstrom" || l == "angstroms" || l == "a" || l == "nm" || l == "um" || l == "m" || l == "micron" ||
           l == "microns";
}

/// A rest frequency (Hz) for headers that lack RESTFRQ/RESTFREQ: GIPSY's
/// FREQ0, else a line named in LINE/MOLECULE/IMAG_DES (HI, CO, 13CO, C18O
/// with the J transition if given; frequencies from the CDMS/JPL catalogues).
std::optional<double> fallback_rest_frequency(const FitsHeader& h, std::vector<std::string>& warnings) {
    if (auto f = h.get_double("FREQ0"); f && *f > 0) return f;
    if (auto f = h.get_double("RESTFREQ"); f && *f > 0) return f;
    if (auto f = h.get_double("RESTFRQ"); f && *f > 0) return f;
    for (const char* key : {"LINE", "MOLECULE", "TRANSITI", "IMAG_DES"}) {
        auto v = h.get_string(key);
        if (!v) continue;
        std::string t;
        for (char c : *v) t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        auto has = [&](const char* x) { return t.find(x) != std::string::npos; };
        const int j = has("3-2") ? 3 : has("2-1") ? 2 : 1;
        std::optional<double> f;
        if (has("13CO")) f = j == 3 ? 330.587965e9 : j == 2 ? 220.3986842e9 : 110.2013543e9;
        else if (has("C18O")) f = j == 3 ? 329.3305525e9 : j == 2 ? 219.5603541e9 : 109.7821734e9;
        else if (has("CO")) f = j == 3 ? 345.7959899e9 : j == 2 ? 230.538e9 : 115.2712018e9;
        else if (has("HI") || has("H I") || has("21CM") || has("21 CM")) f = 1.420405752e9;
        if (f) {
            warnings.push_back("rest frequency taken from " + std::string(key) + " = '" + *v + "'");
            return f;
        }
    }
    return std::nullopt;
}

/// Header cards without the distortion keywords (SIP, TPV-free lookup tables,
/// Paper IV DPj/DQi), for a WCS that WCSLIB cannot set up with them.
std::string without_distortion_cards(const std::string& cards) {
    std::string out;
    for (std::size_t p = 0; p + 80 <= cards.size(); p += 80) {
        const std::string key = trim(cards.substr(p, 8));
        bool drop = false;
        for (const char* pre : {"CPDIS", "CQDIS", "DP", "DQ", "D2IM", "CPERR", "CQERR", "DVERR", "A_", "B_", "AP_", "BP_"})
            if (key.rfind(pre, 0) == 0) drop = true;
        if (!drop) out += cards.substr(p, 80);
    }
    return out;
}

void build_wcs_from(Hdu& hdu, std::string cards, std::vector<std::string>& warnings);

/// Builds, repairs (wcsfix) and sets the primary WCS of an HDU; when WCSLIB
/// refuses the distortions, retries without them (with a warning).
void build_wcs(Hdu& hdu, std::vector<std::string>& warnings) {
    // Paper IV 'Lookup' distortions need image arrays from other HDUs, which
    // the header alone does not give; WCSLIB then fails (and leaks in
    // linset()), so go straight to the undistorted WCS.
    for (const char* key : {"CPDIS1", "CPDIS2", "CQDIS1", "CQDIS2"}) {
        const auto v = hdu.header.get_string(key);
        if (v && lower(*v) == "lookup") {
            build_wcs_from(hdu, without_distortion_cards(hdu.header.cards()), warnings);
            if (hdu.wcs)
                warnings.push_back("HDU " + std::to_string(hdu.index) + ": lookup-table distortion ignored");
            return;
        }
    }
    build_wcs_from(hdu, hdu.header.cards(), warnings);
    if (!hdu.wcs && hdu.wcs_error.rfind("WCSLIB wcsset failed", 0) == 0) {
        const std::string err = hdu.wcs_error;
        build_wcs_from(hdu, without_distortion_cards(hdu.header.cards()), warnings);
        if (hdu.wcs) warnings.push_back("HDU " + std::to_string(hdu.index) + ": distortion ignored (" + err + ")");
    }
}

void build_wcs_from(Hdu& hdu, std::string cards, std::vector<std::string>& warnings) {
    hdu.wcs = nullptr;
    hdu.wcs_set.reset();
    hdu.wcs_error.clear();
    // WCSLIB's header parser must only see text it can parse safely (an
    // unterminated string value made wcspih overflow a buffer and abort).
    if (const auto defect = header_defect(cards)) {
        hdu.wcs_error = "invalid header: " + *defect;
        return;
    }
    const int ncards = static_cast<int>(cards.size() / 80);
    int nreject = 0, nwcs = 0;
    wcsprm* wcss = nullptr;
    int status = wcspih(cards.data(), ncards, WCSHDR_all, 0, &nreject, &nwcs, &wcss);
    if (status != 0 || nwcs == 0 || !wcss) {
        if (wcss) wcsvfree(&nwcs, &wcss);
        hdu.wcs_error = "no WCS";
        return;
    }
    auto set = std::make_unique<WcsSet>();
    set->array = wcss;
    set->nwcs = nwcs;
    for (int i = 0; i < nwcs; ++i)
        if (wcss[i].alt[0] == ' ' || wcss[i].alt[0] == '\0') { set->chosen = i; break; }
    wcsprm* w = set->get();
    // A header with no CTYPE at all has only a default linear WCS: not useful.
    bool any_ctype = false;
    for (int i = 0; i < w->naxis; ++i)
        if (w->ctype[i][0] != '\0' && std::strncmp(w->ctype[i], "        ", 8) != 0) any_ctype = true;
    if (!any_ctype) {
        hdu.wcs_error = "no CTYPE keywords";
        return;
    }
    // IRAF spectra label a linear wavelength axis 'LINEAR' or 'LAMBDA' with a
    // length unit (or WAT units=angstroms): read it as a wavelength axis.
    for (int i = 0; i < w->naxis; ++i) {
        const std::string ct = trim(w->ctype[i]);
        if (ct == "LINEAR" || ct == "LAMBDA" || ct == "WAVELENGTH") {
            std::string unit = w->cunit[i];
            if (trim(unit).empty()) {
                const auto wat = hdu.header.get_string("WAT" + std::to_string(i + 1) + "_001");
                if (wat && lower(*wat).find("units=angstrom") != std::string::npos) unit = "Angstrom";
            }
            if (is_length_unit(unit)) {
                std::snprintf(w->ctype[i], sizeof w->ctype[i], "WAVE");
                std::snprintf(w->cunit[i], sizeof w->cunit[i], "%s",
                              lower(trim(unit)).rfind("angstrom", 0) == 0 || lower(trim(unit)) == "a" ? "Angstrom"
                                                                                                     : trim(unit).c_str());
                warnings.push_back("axis " + std::to_string(i + 1) + " CTYPE '" + ct + "' read as WAVE");
            }
        }
    }
    if (w->restfrq == 0.0 && w->restwav == 0.0) {
        bool velocity = false;
        for (int i = 0; i < w->naxis; ++i) {
            const std::string ct = std::string(w->ctype[i]).substr(0, 4);
            velocity = velocity || ct == "VRAD" || ct == "VOPT" || ct == "VELO" || ct == "FELO" || ct == "ZOPT";
        }
        if (velocity)
            if (auto f = fallback_rest_frequency(hdu.header, warnings)) w->restfrq = *f;
    }
    // wcsfix: cdfix, datfix, obsfix, unitfix, spcfix, celfix, cylfix.
    std::vector<int> naxis(static_cast<std::size_t>(w->naxis), 1);
    for (int i = 0; i < w->naxis; ++i) naxis[static_cast<std::size_t>(i)] = static_cast<int>(hdu.axis_length(i));
    int stat[NWCSFIX];
    wcserr info[NWCSFIX];
    std::memset(info, 0, sizeof info);
    wcsfixi(7, naxis.data(), w, stat, info);
    for (int i = 0; i < NWCSFIX; ++i) {
        if (info[i].msg) {
            if (stat[i] == FIXERR_SUCCESS) warnings.push_back(std::string("wcsfix: ") + info[i].msg);
            wcsdealloc(info[i].msg);
        }
    }
    status = wcsset(w);
    if (status != 0) {
        // Last resort for distortions WCSLIB refuses (e.g. SIP and TPV
        // together): drop the distortion part of the projection code.
        bool changed = false;
        for (int i = 0; i < w->naxis; ++i) {
            char* ct = w->ctype[i];
            if (std::strlen(ct) > 8 && (std::strstr(ct, "-SIP") || std::strstr(ct, "-TPV") || std::strstr(ct, "TPV"))) {
                const std::string base = std::string(ct).substr(0, 5);
                std::snprintf(ct, 72, "%s", (base + "TAN").c_str());
                changed = true;
            }
        }
        if (changed) {
            w->npv = 0;
            w->flag = 0;
            status = wcsset(w);
            if (status == 0) warnings.push_back("WCS distortion ignored (WCSLIB could not set it up)");
        }
        if (status != 0) {
            hdu.wcs_error = std::string("WCSLIB wcsset failed: ") + (w->err && w->err->msg ? w->err->msg : "?");
            return;
        }
    }
    hdu.lng = w->lng;
    hdu.lat = w->lat;
    hdu.spec = w->spec;
    for (int i = 0; i < w->naxis; ++i)
        if (std::strncmp(w->ctype[i], "STOKES", 6) == 0) hdu.stokes = i;
    // An axis beyond NAXIS (e.g. a 3rd WCS axis on a 2-D image) is degenerate.
    hdu.wcs = w;
    hdu.wcs_set = std::move(set);
}

/// World coordinates of one pixel (1-based pixel coordinates, one per WCS axis).
bool pix2world(wcsprm* w, const std::vector<double>& pixel, std::vector<double>& world) {
    const int n = w->naxis;
    std::vector<double> imgcrd(static_cast<std::size_t>(n)), phi(1), theta(1);
    world.assign(static_cast<std::size_t>(n), 0.0);
    int stat = 0;
    const int status = wcsp2s(w, 1, n, pixel.data(), imgcrd.data(), phi.data(), theta.data(), world.data(), &stat);
    if (status != 0 || stat != 0) return false;
    for (double v : world)
        if (!std::isfinite(v)) return false;
    return true;
}

/// The celestial frame of a WCS, for conversion to ICRS.
SkyFrame frame_of(const wcsprm* w) {
    const std::string lt = trim(w->lngtyp);
    if (lt == "GLON") return SkyFrame::galactic;
    if (lt == "ELON") return SkyFrame::ecliptic;
    if (lt != "RA") return SkyFrame::unknown;
    const std::string rs = trim(w->radesys);
    if (rs == "ICRS") return SkyFrame::icrs;
    if (rs == "FK5") return SkyFrame::fk5;
    if (rs == "FK4" || rs == "FK4-NO-E") return SkyFrame::fk4;
    // FITS WCS Paper II section 3.1: no RADESYS -> FK4 before 1984, FK5 after;
    // neither RADESYS nor EQUINOX -> ICRS.
    if (!undefined(w->equinox)) return w->equinox < 1984.0 ? SkyFrame::fk4 : SkyFrame::fk5;
    return SkyFrame::icrs;
}

/// World value of the spectral axis (in WCSLIB's SI units after wcsset) ->
/// vacuum wavelength in metres; nullopt when the type or rest frequency is
/// missing.
std::optional<double> to_vacuum_wavelength(const wcsprm* w, double value) {
    const std::string type = std::string(w->ctype[w->spec]).substr(0, 4);
    double restfrq = w->restfrq, restwav = w->restwav;
    if (restfrq == 0.0 && restwav != 0.0) restfrq = kSpeedOfLight / restwav;
    if (restwav == 0.0 && restfrq != 0.0) restwav = kSpeedOfLight / restfrq;
    std::optional<double> wave;
    if (type == "FREQ") {
        if (value > 0) wave = kSpeedOfLight / value;
    } else if (type == "WAVE") {
        wave = value;
    } else if (type == "AWAV") {
        wave = air_to_vacuum(value);
    } else if (type == "WAVN") {
        if (value > 0) wave = 1.0 / value;
    } else if (type == "ENER") {
        if (value > 0) wave = 6.62607015e-34 * kSpeedOfLight / value;
    } else if (type == "VRAD") {  // radio velocity: nu = nu0 (1 - v/c)
        if (restfrq > 0) wave = kSpeedOfLight / (restfrq * (1.0 - value / kSpeedOfLight));
    } else if (type == "VOPT") {  // optical velocity: lambda = lambda0 (1 + v/c)
        if (restwav > 0) wave = restwav * (1.0 + value / kSpeedOfLight);
    } else if (type == "ZOPT") {
        if (restwav > 0) wave = restwav * (1.0 + value);
    } else if (type == "VELO" || type == "VELO") {  // relativistic velocity
        if (restwav > 0 && std::abs(value) < kSpeedOfLight)
            wave = restwav * std::sqrt((kSpeedOfLight + value) / (kSpeedOfLight - value));
    } else if (type == "BETA") {
        if (restwav > 0 && std::abs(value) < 1) wave = restwav * std::sqrt((1 + value) / (1 - value));
    } else if (type == "FREQ" || type == "AFRQ") {
        if (value > 0) wave = kSpeedOfLight / value;
    }
    if (wave && (!std::isfinite(*wave) || *wave <= 0)) return std::nullopt;
    return wave;
}

std::string em_ucd_of(const std::string& type) {
    if (type == "FREQ" || type == "AFRQ") return "em.freq";
    if (type == "WAVE" || type == "AWAV") return "em.wl";
    if (type == "WAVN") return "em.wavenumber";
    if (type == "ENER") return "em.energy";
    if (type == "VRAD") return "spect.dopplerVeloc.radio";
    if (type == "VOPT" || type == "ZOPT") return "spect.dopplerVeloc.opt";
    return "spect.dopplerVeloc";
}

/// Merged keyword look-up: product HDU first, then the primary header.
struct Keywords {
    const FitsHeader* product;
    const FitsHeader* primary;
    std::optional<std::string> str(const char* key) const {
        if (auto v = product->get_string(key)) return v;
        if (primary) return primary->get_string(key);
        return std::nullopt;
    }
    std::optional<double> num(const char* key) const {
        if (auto v = product->get_double(key)) return v;
        if (primary) return primary->get_double(key);
        return std::nullopt;
    }
};

void derive_time(const Keywords& kw, ObsCoreRecord& r) {
    std::optional<double> t_min = kw.num("MJD-OBS");
    if (!t_min) t_min = kw.num("MJD-BEG");
    if (!t_min) {
        for (const char* key : {"DATE-OBS", "DATE-BEG", "DATE_OBS"}) {
            auto d = kw.str(key);
            if (!d) continue;
            std::string text = *d;
            // A date without a time may have the time in TIME-OBS / UT / UTC.
            if (text.size() <= 10 && text.find('T') == std::string::npos) {
                for (const char* tkey : {"TIME-OBS", "UT", "UTSTART", "UTC"}) {
                    auto t = kw.str(tkey);
                    if (t && t->find(':') != std::string::npos) {
                        text += "T" + *t;
                        break;
                    }
                }
            }
            t_min = mjd_from_iso(text);
            if (!t_min) t_min = mjd_from_iso(*d);
            if (t_min) break;
        }
    }
    std::optional<double> t_max = kw.num("MJD-END");
    if (!t_max) {
        if (auto d = kw.str("DATE-END")) t_max = mjd_from_iso(*d);
    }
    std::optional<double> exptime;
    for (const char* key : {"EXPTIME", "XPOSURE", "EXPOSURE", "TEXPTIME", "INTTIME", "ITIME", "ESO DET DIT"}) {
        if (auto e = kw.num(key); e && *e >= 0) {
            exptime = e;
            break;
        }
    }
    if (t_min && !t_max && exptime) t_max = *t_min + *exptime / 86400.0;
    if (t_min && t_max && *t_max < *t_min) t_max.reset();
    r.t_min = t_min;
    r.t_max = t_max;
    r.t_exptime = exptime;
}

/// s_resolution (arcsec): BMAJ (deg), else a PSF/seeing keyword (arcsec).
std::optional<double> derive_resolution(const Keywords& kw) {
    if (auto bmaj = kw.num("BMAJ"); bmaj && *bmaj > 0) return *bmaj * 3600.0;
    for (const char* key : {"PSFFWHM", "SKY_RES", "FWHM", "SEEING", "ESO TEL IA FWHM", "ESO TEL AMBI FWHM END",
                            "ESO TEL AMBI FWHM START", "ESO DRS PSF FWHM"}) {
        if (auto v = kw.num(key); v && *v > 0 && *v < 3600) return v;
    }
    return std::nullopt;
}

/// calib_level from the ESO PRODCATG convention. ESO publishes its Phase 3
/// SCIENCE.* products (reduced, calibrated, science-ready: images, cubes,
/// spectra, even survey mosaics) with calib_level 2 in its own ObsCore
/// (see ../shared/data/real-responses/eso: VVV tiles are level 2); ANCILLARY.*
/// products are derived from them (white-light images, line maps), ObsCore
/// 1.1 section 4.2 level 3 ("enhanced data products").
std::optional<int> calib_level_from_prodcatg(const std::string& prodcatg) {
    const std::string u = trim(prodcatg);
    if (u.rfind("SCIENCE.", 0) == 0 || u == "SCIENCE") return 2;
    if (u.rfind("ANCILLARY.", 0) == 0) return 3;
    return std::nullopt;
}

/// True if two HDUs carry pixels on the same grid (same shape and WCS).
bool same_grid(const Hdu& a, const Hdu& b) {
    if (a.naxes != b.naxes) return false;
    if (!a.wcs || !b.wcs) {
        // No WCS in the companion (e.g. a DQ plane): same EXTVER if any.
        if (b.wcs) return false;
        const auto va = a.header.get_int("EXTVER"), vb = b.header.get_int("EXTVER");
        return va == vb;
    }
    int equal = 0;
    const int status = wcscompare(WCSCOMPARE_ANCILLARY, 1e-9, a.wcs, b.wcs, &equal);
    return status == 0 && equal;
}

double angular_distance_deg(double ra1, double dec1, double ra2, double dec2) {
    const double a = std::sin((dec2 - dec1) * kDeg / 2), b = std::sin((ra2 - ra1) * kDeg / 2);
    const double h = a * a + std::cos(dec1 * kDeg) * std::cos(dec2 * kDeg) * b * b;
    return 2 * std::asin(std::min(1.0, std::sqrt(h))) / kDeg;
}

std::array<double, 3> unit_vector(double ra, double dec) {
    return {std::cos(dec * kDeg) * std::cos(ra * kDeg), std::cos(dec * kDeg) * std::sin(ra * kDeg),
            std::sin(dec * kDeg)};
}

/// Orders a convex footprint so that it winds counter-clockwise in the DALI
/// 1.1 section 3.3.7 sense, whose example `10 10, 10.2 10, 10.2 10.2, 10
/// 10.2` (east, then north) is the reference: (v0 x v1) . v2 > 0, the right
/// hand rule about the outward normal (also S2's loop orientation).
void orient_polygon(std::vector<std::pair<double, double>>& poly) {
    if (poly.size() < 3) return;
    double sum = 0;
    const auto c = unit_vector(poly[0].first, poly[0].second);
    for (std::size_t i = 1; i + 1 < poly.size(); ++i) {
        const auto a = unit_vector(poly[i].first, poly[i].second);
        const auto b = unit_vector(poly[i + 1].first, poly[i + 1].second);
        // Triple product c . (a x b) for the fan triangle (c, a, b).
        const std::array<double, 3> x = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
        sum += c[0] * x[0] + c[1] * x[1] + c[2] * x[2];
    }
    if (sum < 0) std::reverse(poly.begin(), poly.end());
}

/// Fills the spatial columns from the celestial axes.
void derive_spatial(const Hdu& h, ObsCoreRecord& r, std::vector<std::string>& warnings) {
    wcsprm* w = h.wcs;
    const SkyFrame frame = frame_of(w);
    if (frame == SkyFrame::unknown) {
        warnings.push_back(std::string("celestial frame ") + w->lngtyp + " not convertible to ICRS");
        return;
    }
    const double equinox = undefined(w->equinox) ? 0.0 : w->equinox;
    const int n = w->naxis;
    std::vector<double> base(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) base[static_cast<std::size_t>(i)] = (static_cast<double>(h.axis_length(i)) + 1.0) / 2.0;
    // The STOKES axis is sampled at its first pixel (centre may be between states).
    if (h.stokes >= 0) base[static_cast<std::size_t>(h.stokes)] = 1.0;
    const double nl = static_cast<double>(h.axis_length(h.lng)), nb = static_cast<double>(h.axis_length(h.lat));
    r.s_xel1 = h.axis_length(h.lng);
    r.s_xel2 = h.axis_length(h.lat);
    auto sky = [&](double pl, double pb) -> std::optional<std::pair<double, double>> {
        std::vector<double> pix = base, world;
        pix[static_cast<std::size_t>(h.lng)] = pl;
        pix[static_cast<std::size_t>(h.lat)] = pb;
        if (!pix2world(w, pix, world)) return std::nullopt;
        return to_icrs(frame, equinox, world[static_cast<std::size_t>(h.lng)], world[static_cast<std::size_t>(h.lat)]);
    };
    const double cl = (nl + 1) / 2, cb = (nb + 1) / 2;
    auto centre = sky(cl, cb);
    if (!centre) {
        warnings.push_back("pixel-grid centre is outside the projection");
        return;
    }
    r.s_ra = centre->first;
    r.s_dec = centre->second;
    // Pixel scale: mean of the steps along both axes at the centre.
    auto px = sky(cl + 1, cb), py = sky(cl, cb + 1);
    if (px && py) {
        r.s_pixel_scale = 0.5 * (angular_distance_deg(centre->first, centre->second, px->first, px->second) +
                                 angular_distance_deg(centre->first, centre->second, py->first, py->second)) * 3600.0;
    }
    std::vector<std::pair<double, double>> corners;
    const std::array<std::pair<double, double>, 4> pix = {
        {{0.5, 0.5}, {nl + 0.5, 0.5}, {nl + 0.5, nb + 0.5}, {0.5, nb + 0.5}}};
    double max_dist = 0;
    for (const auto& [pl, pb] : pix) {
        auto c = sky(pl, pb);
        if (!c) {
            corners.clear();
            warnings.push_back("a pixel-grid corner is outside the projection: no s_region");
            break;
        }
        max_dist = std::max(max_dist, angular_distance_deg(centre->first, centre->second, c->first, c->second));
        corners.push_back(*c);
    }
    if (corners.size() == 4 && max_dist < 90.0) {
        orient_polygon(corners);
        r.s_region = corners;
        r.s_fov = 2 * max_dist;
        return;
    }
    // No polygon describes the footprint (a corner outside the projection, as
    // for all-sky AIT maps, or more than a hemisphere): a bounding circle from
    // a grid of pixel positions, widened by one pixel; radius 180 = whole sky.
    double radius = 0;
    constexpr int kSteps = 64;
    for (int i = 0; i <= kSteps; ++i) {
        for (int j = 0; j <= kSteps; ++j) {
            auto c = sky(0.5 + nl * i / kSteps, 0.5 + nb * j / kSteps);
            if (c) radius = std::max(radius, angular_distance_deg(centre->first, centre->second, c->first, c->second));
        }
    }
    radius = std::min(180.0, radius + 2 * r.s_pixel_scale.value_or(0.0) / 3600.0);
    r.s_region_circle = std::array<double, 3>{centre->first, centre->second, radius};
    r.s_fov = 2 * radius;
    warnings.push_back("footprint is not a polygon: s_region is a bounding circle");
}

/// Fills the spectral columns from the spectral axis.
void derive_spectral(const Hdu& h, ObsCoreRecord& r, std::vector<std::string>& warnings) {
    wcsprm* w = h.wcs;
    const int n = w->naxis;
    const int s = h.spec;
    const long ns = h.axis_length(s);
    std::vector<double> base(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) base[static_cast<std::size_t>(i)] = (static_cast<double>(h.axis_length(i)) + 1.0) / 2.0;
    if (h.stokes >= 0) base[static_cast<std::size_t>(h.stokes)] = 1.0;
    auto wave_at = [&](double p) -> std::optional<double> {
        std::vector<double> pix = base, world;
        pix[static_cast<std::size_t>(s)] = p;
        if (!pix2world(w, pix, world)) return std::nullopt;
        return to_vacuum_wavelength(w, world[static_cast<std::size_t>(s)]);
    };
    const std::string type = std::string(w->ctype[s]).substr(0, 4);
    r.em_ucd = em_ucd_of(type);
    r.em_xel = ns;
    const auto lo = wave_at(0.5), hi = wave_at(static_cast<double>(ns) + 0.5);
    if (!lo || !hi) {
        warnings.push_back("spectral axis " + std::string(w->ctype[s]) +
                           " cannot be converted to wavelength (rest frequency missing?)");
        return;
    }
    r.em_min = std::min(*lo, *hi);
    r.em_max = std::max(*lo, *hi);
    const double pc = (static_cast<double>(ns) + 1.0) / 2.0;
    const auto c = wave_at(pc), a = wave_at(pc - 0.5), b = wave_at(pc + 0.5);
    if (c && a && b && *a != *b) r.em_res_power = *c / std::abs(*b - *a);
}

void derive_polarisation(const Hdu& h, ObsCoreRecord& r) {
    if (h.stokes < 0) return;
    wcsprm* w = h.wcs;
    const long np = h.axis_length(h.stokes);
    std::vector<int> codes;
    std::vector<double> base(static_cast<std::size_t>(w->naxis));
    for (int i = 0; i < w->naxis; ++i) base[static_cast<std::size_t>(i)] = (static_cast<double>(h.axis_length(i)) + 1.0) / 2.0;
    for (long p = 1; p <= np; ++p) {
        // Linear along STOKES: CRVAL + CDELT (p - CRPIX), read directly so a
        // failing celestial projection does not hide it.
        const int k = h.stokes;
        const double v = w->crval[k] + w->cdelt[k] * w->pc[k * w->naxis + k] * (static_cast<double>(p) - w->crpix[k]);
        codes.push_back(static_cast<int>(std::lround(v)));
    }
    const std::string states = pol_states_from_stokes(codes);
    if (states.empty()) return;
    r.pol_states = states;
    r.pol_xel = np;
}

ExtractResult extract_from_hdus(std::vector<Hdu>& hdus, const std::string& path, std::int64_t size_bytes,
                                const IngestOptions& options, bool header_only) {
    ExtractResult res;
    // Header text and data sizes are checked before any parser or size
    // computation relies on them (FITS 4.0 sections 4.1-4.2 and 4.4.1.1).
    for (const auto& h : hdus) {
        if (const auto defect = header_defect(h.header.cards())) {
            res.skip_reason = "invalid header in HDU " + std::to_string(h.index) + ": " + *defect;
            return res;
        }
        if (h.header.has("BITPIX") && h.header.has("NAXIS") && !data_unit_bytes(h.header.cards())) {
            res.skip_reason = "invalid header in HDU " + std::to_string(h.index) +
                              ": the data size |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) cannot be computed "
                              "(a negative or missing NAXISn) or does not fit in 64 bits (FITS 4.0 section 4.4.1.1)";
            return res;
        }
    }
    for (auto& h : hdus)
        if (h.is_image) build_wcs(h, res.warnings);
    // The product HDU: pixels and a celestial or spectral WCS, else pixels.
    Hdu* product = nullptr;
    for (auto& h : hdus)
        if (h.is_image && h.has_data() && (h.has_celestial() || h.has_spectral())) { product = &h; break; }
    if (!product)
        for (auto& h : hdus)
            if (h.is_image && h.has_data()) { product = &h; break; }
    if (product && product->truncated) {
        res.skip_reason = "truncated file: the data of HDU " + std::to_string(product->index) + " end beyond the end of the file";
        return res;
    }
    if (!product) {
        bool any_image = false;
        for (const auto& h : hdus) any_image = any_image || (h.is_image && h.index > 0) || (h.is_image && hdus.size() == 1);
        res.skip_reason = hdus.empty() ? "no header data unit" :
                          any_image    ? "no image HDU with pixel data (NAXIS=0 or a zero-length axis in every image HDU)"
                                       : "no image HDU with pixel data (only tables)";
        return res;
    }
    ObsCoreRecord r;
    const Keywords kw{&product->header, product->index == 0 ? nullptr : &hdus.front().header};

    // Identification (ObsCore 1.1 sections 4.1-4.5).
    r.obs_collection = options.collection;
    r.obs_id = obs_id_from_path(path);
    r.obs_publisher_did = "ivo://" + options.authority + "/" + options.collection + "?" + r.obs_id;
    r.access_url = options.base_url + "/datalink/sync?ID=" + url_encode(r.obs_publisher_did);
    r.access_format = "application/x-votable+xml;content=datalink";
    r.access_estsize = (size_bytes + 1023) / 1024;
    if (auto v = kw.str("TELESCOP")) r.facility_name = v;
    else r.facility_name = options.facility_name;
    if (auto v = kw.str("INSTRUME")) r.instrument_name = v;
    else r.instrument_name = options.instrument_name;
    for (const char* key : {"OBJECT", "TARGNAME", "ESO OBS TARG NAME"})
        if (auto v = kw.str(key)) { r.target_name = v; break; }
    if (auto v = kw.str("TITLE")) r.obs_title = v;
    for (const char* key : {"PROG_ID", "ESO OBS PROG ID", "PROPOSID", "PROPID", "GEMPRGID", "PROJECT"})
        if (auto v = kw.str(key)) { r.proposal_id = v; break; }
    std::optional<int> level;
    if (auto pc = kw.str("PRODCATG")) level = calib_level_from_prodcatg(*pc);
    r.calib_level = level.value_or(options.calib_level.value_or(2));

    // Observable (section 4.17-4.18).
    if (auto bunit = kw.str("BUNIT")) {
        r.o_unit = bunit;
        r.o_ucd = o_ucd_from_bunit(*bunit);
    }

    // Axes.
    const bool spatial = product->has_celestial() && product->axis_length(product->lng) >= 1;
    if (spatial) derive_spatial(*product, r, res.warnings);
    if (product->has_spectral()) derive_spectral(*product, r, res.warnings);
    derive_polarisation(*product, r);
    if (r.pol_states && *r.pol_states != "/I/" && r.o_ucd) *r.o_ucd += ";phys.polarisation";
    if (r.s_xel1) r.s_resolution = derive_resolution(kw);
    derive_time(kw, r);
    if (r.t_min || r.t_max) r.t_xel = 1;

    // dataproduct_type from the axes with more than one pixel.
    const long nspec = product->has_spectral() ? product->axis_length(product->spec) : 0;
    long n_big = 0;
    for (long n : product->naxes) n_big += n > 1 ? 1 : 0;
    if (product->has_celestial()) r.dataproduct_type = nspec > 1 ? "cube" : "image";
    else if (nspec > 1) r.dataproduct_type = "spectrum";
    else r.dataproduct_type = n_big >= 3 ? "cube" : n_big == 1 ? "spectrum" : "image";
    if (!product->wcs) res.warnings.push_back("HDU " + std::to_string(product->index) + ": " + product->wcs_error);

    // Companion planes for SODA.
    res.file.path = path;
    res.file.size_bytes = size_bytes;
    for (const auto& h : hdus)
        if (h.is_image && h.has_data() && (&h == product || same_grid(*product, h))) res.file.image_hdus.push_back(h.index);
    (void)header_only;
    std::vector<std::string> unique;
    for (auto& w : res.warnings)
        if (std::find(unique.begin(), unique.end(), w) == unique.end()) unique.push_back(w);
    res.warnings = std::move(unique);
    res.record = std::move(r);
    return res;
}

/// Fills is_image and naxes of an HDU from its header (text dumps).
void shape_from_header(Hdu& h) {
    const auto xt = h.header.get_string("XTENSION");
    const bool compressed = h.header.get_bool("ZIMAGE").value_or(false);
    h.is_image = (h.index == 0 && !xt) || (xt && (*xt == "IMAGE" || *xt == "IUEIMAGE")) || compressed;
    const char* prefix = compressed ? "ZNAXIS" : "NAXIS";
    const long long naxis = h.header.get_int(prefix).value_or(0);
    h.naxes.clear();
    for (long long i = 1; i <= naxis && i <= 999; ++i)
        h.naxes.push_back(static_cast<long>(h.header.get_int(prefix + std::to_string(i)).value_or(0)));
}

/// Modification time in seconds since the epoch (0 if unknown).
std::int64_t mtime_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtime);
}

/// CRC-32 of RFC 1952 section 8 (the ISO 3309 / IEEE 802.3 polynomial,
/// reflected: 0xEDB88320), updated byte by byte through a 256-entry table.
class Crc32 {
public:
    void add(const unsigned char* p, std::size_t n) {
        static const std::array<std::uint32_t, 256> table = [] {
            std::array<std::uint32_t, 256> t{};
            for (std::uint32_t i = 0; i < 256; ++i) {
                std::uint32_t c = i;
                for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            return t;
        }();
        std::uint32_t c = ~crc_;
        for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
        crc_ = ~c;
    }
    std::uint32_t value() const { return crc_; }

private:
    std::uint32_t crc_ = 0;
};

constexpr std::size_t kFitsBlock = 2880;
/// Largest header (bytes) accepted per HDU in a gzip stream: 400,000 cards,
/// a hundred times the largest real headers (ESO: a few thousand cards).
constexpr std::size_t kMaxStreamedHeaderBytes = 400000 * 80;

/// One HDU found in an inflated gzip stream.
struct StreamedHdu {
    std::string cards;            ///< header cards up to and including END
    std::uint64_t data_start = 0; ///< offset of the data unit in the inflated file
    std::optional<std::int64_t> data_bytes;  ///< data_unit_bytes() of the header
};

/// Walks the FITS structure of an inflated byte stream (FITS 4.0 section 3.3:
/// HDUs of 2880-byte header blocks ending with END, then the data unit padded
/// to 2880 bytes), keeping only the headers: memory does not grow with the
/// data. Counts bytes and the CRC-32, and stops once `limit` bytes are passed.
class FitsStreamScanner {
public:
    explicit FitsStreamScanner(std::uint64_t limit) : limit_(limit) {}

    /// Consumes n inflated bytes; false to stop (limit passed or not FITS).
    bool consume(const char* p, std::size_t n) {
        if (!error_.empty()) return false;
        total_ += n;
        crc_.add(reinterpret_cast<const unsigned char*>(p), n);
        if (total_ > limit_) {
            over_limit_ = true;
            error_ = "the decompressed size exceeds the limit of " + std::to_string(limit_) +
                     " bytes (IngestOptions::max_decompressed_bytes)";
            return false;
        }
        while (n > 0 && !done_) {
            if (skip_ > 0) {
                const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, n));
                skip_ -= k, p += k, n -= k, offset_ += k;
                continue;
            }
            const std::size_t k = std::min(n, kFitsBlock - block_.size());
            block_.append(p, k);
            p += k, n -= k, offset_ += k;
            if (block_.size() == kFitsBlock) header_block();
        }
        return error_.empty();
    }

    const std::vector<StreamedHdu>& hdus() const { return hdus_; }
    std::uint64_t total() const { return total_; }
    std::uint32_t crc() const { return crc_.value(); }
    const std::string& error() const { return error_; }
    bool over_limit() const { return over_limit_; }
    /// Marks the stream as refused with `why` (when error() is still empty).
    void fail(const std::string& why) {
        if (error_.empty()) error_ = why;
    }

private:
    void header_block() {
        const std::uint64_t block_end = offset_;
        if (header_.empty()) {
            const bool first = hdus_.empty();
            const char* expect = first ? "SIMPLE  =" : "XTENSION=";
            if (block_.compare(0, 9, expect) != 0) {
                if (first) error_ = "not a FITS file (the inflated data do not start with SIMPLE)";
                done_ = true;  // after the last HDU: padding or foreign data, ignored as CFITSIO does
                block_.clear();
                return;
            }
        }
        header_ += block_;
        block_.clear();
        for (std::size_t c = header_.size() - kFitsBlock; c < header_.size(); c += 80) {
            const std::string_view card(header_.data() + c, 80);
            if (card.substr(0, 3) == "END" && card.find_first_not_of(' ', 3) == std::string_view::npos) {
                StreamedHdu h;
                h.cards = header_.substr(0, c + 80);
                h.data_start = block_end;
                h.data_bytes = data_unit_bytes(h.cards);
                header_.clear();
                if (!h.data_bytes) done_ = true;  // the size is unknown: the next HDU cannot be found
                else skip_ = (static_cast<std::uint64_t>(*h.data_bytes) + kFitsBlock - 1) / kFitsBlock * kFitsBlock;
                hdus_.push_back(std::move(h));
                return;
            }
        }
        if (header_.size() > kMaxStreamedHeaderBytes) {
            error_ = "a header has more than " + std::to_string(kMaxStreamedHeaderBytes / 80) + " cards without END";
            done_ = true;
        }
    }

    std::uint64_t limit_;
    std::uint64_t total_ = 0;
    std::uint64_t offset_ = 0;  ///< bytes walked by the structure (headers and skipped data)
    Crc32 crc_;
    std::string block_, header_;
    std::uint64_t skip_ = 0;
    bool done_ = false;
    bool over_limit_ = false;
    std::string error_;
    std::vector<StreamedHdu> hdus_;
};

/// The compression a file's first bytes announce, or "" for none (gzip is
/// "gzip"; the others CFITSIO would inflate in memory: refused).
std::string compression_of(const std::string& path) {
    unsigned char m[4] = {0, 0, 0, 0};
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return "";
    const std::size_t n = std::fread(m, 1, 4, f);
    std::fclose(f);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return "gzip";
    if (n >= 2 && m[0] == 0x1f && (m[1] == 0x9d || m[1] == 0x1e || m[1] == 0xa0)) return "Unix compress/pack";
    if (n >= 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4) return "zip";
    if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') return "bzip2";
    return "";
}

/// Inflates a gzip file (RFC 1952) as a stream through CFITSIO's inflater and
/// walks its FITS structure (FitsStreamScanner): bounded memory, whatever
/// the inflated size; stops past `limit` bytes. The stream is complete only if
/// the CRC-32 and the size modulo 2^32 of the inflated bytes equal the
/// member's trailer (RFC 1952 section 2.3.1), which CFITSIO does not check:
/// a truncated file otherwise inflates "successfully" to fewer bytes.
/// Returns the scanner; its error() is set when the file is refused.
FitsStreamScanner scan_gzip(const std::string& path, std::uint64_t limit) {
    FitsStreamScanner scanner(limit);
    struct Sink {
        FitsStreamScanner* scanner;
    } sink{&scanner};
    cookie_io_functions_t io{};
    io.write = [](void* cookie, const char* buf, std::size_t size) -> ssize_t {
        auto* s = static_cast<Sink*>(cookie);
        return s->scanner->consume(buf, size) ? static_cast<ssize_t>(size) : 0;
    };
    FILE* in = std::fopen(path.c_str(), "rb");
    if (!in) {
        scanner.fail(std::string("cannot read file: ") + std::strerror(errno));
        return scanner;
    }
    FILE* out = fopencookie(&sink, "w", io);
    if (!out) {
        std::fclose(in);
        scanner.fail("cannot set up the gzip stream");
        return scanner;
    }
    std::setvbuf(out, nullptr, _IONBF, 0);
    int status = 0;
    std::string name = path;
    uncompress2file(name.data(), in, out, &status);
    std::fclose(out);
    // The trailer: the last 8 bytes of the file.
    unsigned char trailer[8] = {0};
    bool have_trailer = std::fseek(in, -8, SEEK_END) == 0 && std::fread(trailer, 1, 8, in) == 8;
    std::fclose(in);
    fits_clear_errmsg();
    if (!scanner.error().empty()) return scanner;
    auto le32 = [&](int at) {
        return static_cast<std::uint32_t>(trailer[at]) | static_cast<std::uint32_t>(trailer[at + 1]) << 8 |
               static_cast<std::uint32_t>(trailer[at + 2]) << 16 | static_cast<std::uint32_t>(trailer[at + 3]) << 24;
    };
    std::string problem;
    if (status != 0) problem = "the deflate data are corrupt (CFITSIO status " + std::to_string(status) + ")";
    else if (!have_trailer || le32(0) != scanner.crc() || le32(4) != static_cast<std::uint32_t>(scanner.total()))
        problem = "truncated or corrupt gzip file: the CRC-32 and size of the " + std::to_string(scanner.total()) +
                  " inflated bytes do not match the gzip trailer (RFC 1952 section 2.3.1)";
    if (!problem.empty()) scanner.fail(problem);
    return scanner;
}

}  // namespace

std::string obs_id_from_path(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    static const std::array<const char*, 9> exts = {".gz", ".fz", ".bz2", ".header", ".hdr", ".fits", ".fit", ".fts", ".FITS"};
    bool changed = true;
    while (changed) {
        changed = false;
        for (const char* e : exts) {
            const std::size_t n = std::strlen(e);
            if (name.size() > n && lower(name.substr(name.size() - n)) == lower(e)) {
                name.resize(name.size() - n);
                changed = true;
            }
        }
    }
    return name;
}

std::string url_encode(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::optional<double> mjd_from_iso(const std::string& text) {
    const std::string t = trim(text);
    int y = 0, mo = 0, d = 0, h = 0, mi = 0;
    double s = 0;
    if (t.size() >= 8 && t[2] == '/' && t[5] == '/') {  // old DD/MM/YY
        if (std::sscanf(t.c_str(), "%2d/%2d/%2d", &d, &mo, &y) != 3) return std::nullopt;
        y += 1900;
    } else {
        if (t.size() < 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
        if (std::sscanf(t.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3) return std::nullopt;
        if (t.size() > 10) {
            if (t[10] != 'T' && t[10] != ' ') return std::nullopt;
            const int got = std::sscanf(t.c_str() + 11, "%2d:%2d:%lf", &h, &mi, &s);
            if (got < 2) return std::nullopt;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 24 || mi < 0 || mi > 59 || s < 0 || s >= 61)
        return std::nullopt;
    // Gregorian calendar date -> MJD (Fliegel & Van Flandern integer form).
    const long a = (14 - mo) / 12;
    const long yy = y + 4800 - a;
    const long mm = mo + 12 * a - 3;
    const long jdn = d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045;
    const double mjd = static_cast<double>(jdn) - 2400001.0 + (h + mi / 60.0 + s / 3600.0) / 24.0;
    return mjd;
}

double air_to_vacuum(double air_wavelength_m) {
    double out = air_wavelength_m;
    int stat = 0;
    awavwave(0.0, 1, 1, 1, &air_wavelength_m, &out, &stat);
    return out;
}

std::string pol_states_from_stokes(const std::vector<int>& stokes_codes) {
    // ObsCore 1.1 B.6.5.1 order, with the FITS code of each label.
    static const std::array<std::pair<const char*, int>, 12> order = {
        {{"I", 1}, {"Q", 2}, {"U", 3}, {"V", 4}, {"RR", -1}, {"LL", -2}, {"RL", -3}, {"LR", -4},
         {"XX", -5}, {"YY", -6}, {"XY", -7}, {"YX", -8}}};
    std::string out;
    for (const auto& [label, code] : order)
        if (std::find(stokes_codes.begin(), stokes_codes.end(), code) != stokes_codes.end()) out += std::string("/") + label;
    if (!out.empty()) out += "/";
    return out;
}

std::optional<std::string> o_ucd_from_bunit(const std::string& bunit) {
    std::string u = lower(trim(bunit));
    std::string compact;
    for (char c : u)
        if (c != ' ') compact += c;
    if (compact.empty()) return std::nullopt;
    auto has = [&](const char* s) { return compact.find(s) != std::string::npos; };
    if (has("jy")) return has("/sr") || has("sr-1") ? "phot.flux.sb" : "phot.flux.density";
    if (compact == "km/s" || compact == "kms-1" || compact == "m/s" || compact == "km.s-1" || compact == "ms-1")
        return "spect.dopplerVeloc";
    if ((compact == "k" || compact.rfind("k(", 0) == 0 || compact == "kelvin")) return "phot.antennaTemp";
    if (compact.rfind("k", 0) == 0 && (has("km/s") || has("kms-1") || has("km.s-1"))) return "phot.flux";
    if (has("/sr") || has("sr-1") || has("-sr")) return "phot.flux.sb";
    if (has("erg") || has("w/m") || has("wm-2") || has("photon")) return "phot.flux.density";
    const bool rate = has("/s") || has("s-1") || has("/sec");
    for (const char* c : {"count", "electron", "adu", "dn", "cts", "e-"}) {
        if (compact.rfind(c, 0) == 0 || compact.find(std::string("*") + c) != std::string::npos ||
            compact.find(std::string(")") + c) != std::string::npos)
            return rate ? "arith.rate;phot.count" : "phot.count";
    }
    return std::nullopt;
}

ExtractResult extract_from_header_text(const std::vector<std::string>& hdu_cards, const std::string& file_name,
                                       std::int64_t size_bytes, const IngestOptions& options) {
    try {
        std::vector<Hdu> hdus;
        for (std::size_t i = 0; i < hdu_cards.size(); ++i) {
            Hdu h;
            h.index = static_cast<int>(i);
            h.header = FitsHeader(hdu_cards[i]);
            shape_from_header(h);
            hdus.push_back(std::move(h));
        }
        return extract_from_hdus(hdus, file_name, size_bytes, options, true);
    } catch (const std::exception& e) {
        ExtractResult res;
        res.skip_reason = std::string("cannot extract metadata: ") + e.what();
        return res;
    }
}

namespace {

/// The HDUs of a gzip-compressed FITS file, from one streaming pass
/// (scan_gzip); `inflated_size` is the size of the inflated file.
ExtractResult hdus_from_gzip(const std::string& path, const IngestOptions& options, std::vector<Hdu>& hdus,
                             std::uint64_t& inflated_size) {
    ExtractResult res;
    const std::uint64_t limit = options.max_decompressed_bytes > 0 ? static_cast<std::uint64_t>(options.max_decompressed_bytes) : 0;
    const FitsStreamScanner scan = scan_gzip(path, limit);
    if (!scan.error().empty()) {
        res.skip_reason = "gzip: " + scan.error();
        return res;
    }
    inflated_size = scan.total();
    for (std::size_t i = 0; i < scan.hdus().size(); ++i) {
        const StreamedHdu& s = scan.hdus()[i];
        Hdu h;
        h.index = static_cast<int>(i);
        h.header = FitsHeader(s.cards);
        shape_from_header(h);
        if (s.data_bytes && s.data_start + static_cast<std::uint64_t>(*s.data_bytes) > inflated_size) h.truncated = true;
        hdus.push_back(std::move(h));
    }
    return res;
}

/// The HDUs of an uncompressed (or tile-compressed) FITS file read with
/// CFITSIO; header text and data size are checked before CFITSIO's own
/// size arithmetic is trusted.
ExtractResult hdus_from_cfitsio(const std::string& path, std::uint64_t size, std::vector<Hdu>& hdus) {
    ExtractResult res;
    fitsfile* f = nullptr;
    int status = 0;
    if (fits_open_diskfile(&f, path.c_str(), READONLY, &status)) {
        char msg[FLEN_STATUS] = {0};
        fits_get_errstatus(status, msg);
        res.skip_reason = std::string("not a readable FITS file (CFITSIO: ") + msg + ")";
        fits_clear_errmsg();
        return res;
    }
    auto header_text = [&](bool converted, std::string& out) {
        char* header = nullptr;
        int nkeys = 0, st = 0;
        if (converted) fits_convert_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
        else fits_hdr2str(f, 0, nullptr, 0, &header, &nkeys, &st);
        if (st == 0 && header) {
            out.assign(header, std::strlen(header));
            if (out.size() < 80 || out.compare(out.size() - 80, 3, "END") != 0) out += std::string("END") + std::string(77, ' ');
        }
        int fst = 0;
        if (header) fits_free_memory(header, &fst);
        return st == 0 && header;
    };
    for (int i = 1;; ++i) {
        int hdutype = 0;
        status = 0;
        if (fits_movabs_hdu(f, i, &hdutype, &status)) break;  // end of file (or truncated)
        std::string raw;
        if (!header_text(false, raw)) {
            res.warnings.push_back("HDU " + std::to_string(i - 1) + ": header unreadable");
            break;
        }
        // The file's own header text first: nothing else parses it before.
        if (const auto defect = header_defect(raw)) {
            res.skip_reason = "invalid header in HDU " + std::to_string(i - 1) + ": " + *defect;
            break;
        }
        const auto bytes = data_unit_bytes(raw);
        if (!bytes) {
            res.skip_reason = "invalid header in HDU " + std::to_string(i - 1) +
                              ": the data size |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn) cannot be computed "
                              "or does not fit in 64 bits (FITS 4.0 section 4.4.1.1)";
            break;
        }
        Hdu h;
        h.index = i - 1;
        int s1 = 0;
        const bool compressed = fits_is_compressed_image(f, &s1) != 0;
        std::string cards = raw;
        if (compressed && !header_text(true, cards)) {
            res.warnings.push_back("HDU " + std::to_string(i - 1) + ": compressed image header unreadable");
            break;
        }
        h.header = FitsHeader(cards);
        LONGLONG head = 0, data = 0, end = 0;
        int s3 = 0;
        if (fits_get_hduaddrll(f, &head, &data, &end, &s3) == 0 &&
            (data < 0 || static_cast<std::uint64_t>(data) > size ||
             static_cast<std::uint64_t>(*bytes) > size - static_cast<std::uint64_t>(data)))
            h.truncated = true;
        shape_from_header(h);
        h.is_image = hdutype == IMAGE_HDU;
        if (!h.is_image) h.naxes.clear();
        const bool truncated = h.truncated;
        hdus.push_back(std::move(h));
        if (truncated) break;  // nothing after it can be read
    }
    status = 0;
    fits_close_file(f, &status);
    fits_clear_errmsg();
    return res;
}

}  // namespace

ExtractResult extract_product(const std::string& path, const IngestOptions& options) {
    ExtractResult res;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        res.skip_reason = "cannot read file: " + ec.message();
        return res;
    }
    const std::string lname = lower(path);
    const bool header_only = (lname.size() > 4 && lname.substr(lname.size() - 4) == ".hdr") ||
                             (lname.size() > 7 && lname.substr(lname.size() - 7) == ".header");
    try {
        if (header_only) {
            ExtractResult r = extract_from_header_text(read_header_file(path), path, static_cast<std::int64_t>(size), options);
            if (r.ok()) r.file.mtime = mtime_of(path);
            return r;
        }
        std::vector<Hdu> hdus;
        const std::string compression = compression_of(path);
        if (!compression.empty() && compression != "gzip") {
            res.skip_reason = "compressed with " + compression + ": only gzip-compressed FITS files are supported";
            return res;
        }
        std::uint64_t inflated = 0;
        ExtractResult read = compression == "gzip" ? hdus_from_gzip(path, options, hdus, inflated)
                                                   : hdus_from_cfitsio(path, size, hdus);
        if (!read.skip_reason.empty()) return read;
        ExtractResult r = extract_from_hdus(hdus, path, static_cast<std::int64_t>(size), options, false);
        r.warnings.insert(r.warnings.begin(), read.warnings.begin(), read.warnings.end());
        if (r.ok()) {
            r.file.path = std::filesystem::absolute(path).string();
            r.file.mtime = mtime_of(path);
        }
        return r;
    } catch (const std::exception& e) {
        res.skip_reason = std::string("cannot extract metadata: ") + e.what();
        return res;
    }
}

}  // namespace vo::obscore
