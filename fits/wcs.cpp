#include "fits/wcs.hpp"
#include "fits/text.hpp"

#include <wcslib/wcs.h>
#include <wcslib/wcsfix.h>
#include <wcslib/wcshdr.h>
#include <wcslib/wcsmath.h>
#include <wcslib/wcsutil.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "fits/header_check.hpp"

namespace vo::fits {
namespace {

bool is_length_unit(const std::string& u) {
    const std::string l = lower(trim(u));
    return l == "angstrom" || l == "angstroms" || l == "a" || l == "nm" || l == "um" || l == "m" || l == "micron" ||
           l == "microns";
}

/// A rest frequency (Hz) for headers that lack RESTFRQ/RESTFREQ: GIPSY's
/// FREQ0, else a line named in LINE/MOLECULE/TRANSITI/IMAG_DES (HI, CO, 13CO,
/// C18O with the J transition if given; frequencies from the CDMS/JPL
/// catalogues).
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
        if (has("13CO"))
            f = j == 3 ? 330.587965e9 : j == 2 ? 220.3986842e9 : 110.2013543e9;
        else if (has("C18O"))
            f = j == 3 ? 329.3305525e9 : j == 2 ? 219.5603541e9 : 109.7821734e9;
        else if (has("CO"))
            f = j == 3 ? 345.7959899e9 : j == 2 ? 230.538e9 : 115.2712018e9;
        else if (has("HI") || has("H I") || has("21CM") || has("21 CM"))
            f = 1.420405752e9;
        if (f) {
            warnings.push_back("rest frequency taken from " + std::string(key) + " = '" + *v + "'");
            return f;
        }
    }
    return std::nullopt;
}

/// Header cards without the distortion keywords (SIP, Paper IV DPj/DQi and
/// lookup tables), for a WCS that WCSLIB cannot set up with them.
std::string without_distortion_cards(const std::string& cards) {
    std::string out;
    for (std::size_t p = 0; p + 80 <= cards.size(); p += 80) {
        const std::string key = trim(cards.substr(p, 8));
        bool drop = false;
        for (const char* pre :
             {"CPDIS", "CQDIS", "DP", "DQ", "D2IM", "CPERR", "CQERR", "DVERR", "A_", "B_", "AP_", "BP_"})
            if (key.rfind(pre, 0) == 0) drop = true;
        if (!drop) out += cards.substr(p, 80);
    }
    return out;
}

}  // namespace

std::string wcs_cards(std::string_view cards) {
    std::string out;
    out.reserve(cards.size());
    for (std::size_t p = 0; p + 80 <= cards.size(); p += 80) {
        const std::string_view key = cards.substr(p, 8);
        if (key == "COMMENT " || key == "HISTORY " || key == "        " || key == "HIERARCH") continue;
        out.append(cards.substr(p, 80));
    }
    return out;
}

/// Owns the wcsprm array returned by wcspih() (copying with wcssub() is
/// avoided: WCSLIB 7.12 reads out of bounds when it copies some distortion
/// set-ups).
struct Wcs::Set {
    wcsprm* array = nullptr;
    int nwcs = 0;
    ~Set() {
        if (array) wcsvfree(&nwcs, &array);
    }
};

Wcs::Wcs() = default;
Wcs::~Wcs() = default;
Wcs::Wcs(Wcs&&) noexcept = default;
Wcs& Wcs::operator=(Wcs&&) noexcept = default;

int Wcs::naxis() const { return wcs_ ? wcs_->naxis : 0; }
int Wcs::lng() const { return wcs_ ? wcs_->lng : -1; }
int Wcs::lat() const { return wcs_ ? wcs_->lat : -1; }
int Wcs::spec() const { return wcs_ ? wcs_->spec : -1; }

std::string Wcs::ctype(int i) const {
    if (!wcs_ || i < 0 || i >= wcs_->naxis) return {};
    std::string s = wcs_->ctype[i];
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

RestFrame Wcs::rest() const {
    RestFrame r;
    if (!wcs_) return r;
    if (!undefined(wcs_->restfrq)) r.frequency_hz = wcs_->restfrq;
    if (!undefined(wcs_->restwav)) r.wavelength_m = wcs_->restwav;
    return r;
}

namespace {

/// One attempt at loading: `cards` (checked here) -> a set-up WCS, or an error.
void load_from(std::unique_ptr<Wcs::Set>& set, wcsprm*& wcs, std::string& error, const FitsHeader& header,
               std::string cards, const std::vector<long>& naxes, std::vector<std::string>& warnings);

}  // namespace

Wcs Wcs::load(const FitsHeader& header, const std::vector<long>& naxes, int hdu_index,
              std::vector<std::string>* warnings) {
    std::vector<std::string> local;
    std::vector<std::string>& warn = warnings ? *warnings : local;
    Wcs out;
    auto attempt = [&](const std::string& cards) {
        out.set_.reset();
        out.wcs_ = nullptr;
        out.error_.clear();
        load_from(out.set_, out.wcs_, out.error_, header, cards, naxes, warn);
    };
    // Paper IV 'Lookup' distortions need image arrays from other HDUs, which
    // the header alone does not give; WCSLIB then fails (and leaks in
    // linset()), so go straight to the undistorted WCS.
    bool lookup = false;
    for (const char* key : {"CPDIS1", "CPDIS2", "CQDIS1", "CQDIS2"}) {
        const auto v = header.get_string(key);
        if (v && lower(*v) == "lookup") lookup = true;
    }
    if (lookup) {
        attempt(without_distortion_cards(header.cards()));
        if (out.wcs_) warn.push_back("HDU " + std::to_string(hdu_index) + ": lookup-table distortion ignored");
    } else {
        attempt(header.cards());
        if (!out.wcs_ && out.error_.rfind("WCSLIB wcsset failed", 0) == 0) {
            const std::string err = out.error_;
            attempt(without_distortion_cards(header.cards()));
            if (out.wcs_) warn.push_back("HDU " + std::to_string(hdu_index) + ": distortion ignored (" + err + ")");
        }
    }
    if (out.wcs_)
        for (int i = 0; i < out.wcs_->naxis; ++i)
            if (std::strncmp(out.wcs_->ctype[i], "STOKES", 6) == 0) out.stokes_ = i;
    return out;
}

namespace {

void load_from(std::unique_ptr<Wcs::Set>& owner, wcsprm*& chosen, std::string& error, const FitsHeader& header,
               std::string cards, const std::vector<long>& naxes, std::vector<std::string>& warnings) {
    // WCSLIB's header parser must only see text it can parse safely (an
    // unterminated string value made wcspih overflow a buffer and abort).
    if (const auto& defect = header.defect()) {  // checked once, by FitsHeader (`cards` are a subset)
        error = "invalid header: " + *defect;
        return;
    }
    // only the cards WCSLIB can use (after the check, whose messages count all cards)
    cards = wcs_cards(cards);
    const int ncards = static_cast<int>(cards.size() / 80);
    int nreject = 0, nwcs = 0;
    wcsprm* wcss = nullptr;
    int status = 0;
    // No lock: WCSLIB's Flex header scanners are reentrant since 7.0 and
    // their last thread hazard was fixed in 7.5 (WCSLIB's CHANGES; Debian
    // bookworm ships 7.12), so ingest's extraction threads parse at once.
    status = wcspih(cards.data(), ncards, WCSHDR_all, 0, &nreject, &nwcs, &wcss);
    if ((status != 0 || nwcs == 0 || !wcss) && wcss) wcsvfree(&nwcs, &wcss);
    if (status != 0 || nwcs == 0 || !wcss) {
        error = "no WCS";
        return;
    }
    auto set = std::make_unique<Wcs::Set>();
    set->array = wcss;
    set->nwcs = nwcs;
    wcsprm* w = nullptr;
    for (int i = 0; i < nwcs; ++i)
        if (wcss[i].alt[0] == ' ' || wcss[i].alt[0] == '\0') {
            w = wcss + i;
            break;
        }
    if (!w) {
        error = "no primary WCS";
        return;
    }
    // A header with no CTYPE at all has only a default linear WCS: not useful.
    bool any_ctype = false;
    for (int i = 0; i < w->naxis; ++i)
        if (w->ctype[i][0] != '\0' && std::strncmp(w->ctype[i], "        ", 8) != 0) any_ctype = true;
    if (!any_ctype) {
        error = "no CTYPE keywords";
        return;
    }
    // IRAF spectra label a linear wavelength axis 'LINEAR' or 'LAMBDA' with a
    // length unit (or WAT units=angstroms): read it as a wavelength axis.
    for (int i = 0; i < w->naxis; ++i) {
        const std::string ct = trim(w->ctype[i]);
        if (ct == "LINEAR" || ct == "LAMBDA" || ct == "WAVELENGTH") {
            std::string unit = w->cunit[i];
            if (trim(unit).empty()) {
                const auto wat = header.get_string("WAT" + std::to_string(i + 1) + "_001");
                if (wat && lower(*wat).find("units=angstrom") != std::string::npos) unit = "Angstrom";
            }
            if (is_length_unit(unit)) {
                std::snprintf(w->ctype[i], sizeof w->ctype[i], "WAVE");
                const std::string lu = lower(trim(unit));
                std::snprintf(w->cunit[i], sizeof w->cunit[i], "%s",
                              lu.rfind("angstrom", 0) == 0 || lu == "a" ? "Angstrom" : trim(unit).c_str());
                warnings.push_back("axis " + std::to_string(i + 1) + " CTYPE '" + ct + "' read as WAVE");
            }
        }
    }
    if ((w->restfrq == 0.0 || undefined(w->restfrq)) && (w->restwav == 0.0 || undefined(w->restwav))) {
        bool velocity = false;
        for (int i = 0; i < w->naxis; ++i) {
            const std::string ct = std::string(w->ctype[i]).substr(0, 4);
            velocity = velocity || ct == "VRAD" || ct == "VOPT" || ct == "VELO" || ct == "FELO" || ct == "ZOPT";
        }
        if (velocity)
            if (auto f = fallback_rest_frequency(header, warnings)) w->restfrq = *f;
    }
    // wcsfix: cdfix, datfix, obsfix, unitfix, spcfix, celfix, cylfix.
    std::vector<int> naxis(static_cast<std::size_t>(w->naxis), 1);
    for (int i = 0; i < w->naxis && i < static_cast<int>(naxes.size()); ++i)
        naxis[static_cast<std::size_t>(i)] =
            static_cast<int>(std::min<long>(naxes[static_cast<std::size_t>(i)], 1L << 30));
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
            error = std::string("WCSLIB wcsset failed: ") + (w->err && w->err->msg ? w->err->msg : "?");
            return;
        }
    }
    chosen = w;
    owner = std::move(set);
}

}  // namespace

void Wcs::p2s(const std::vector<double>& pix, std::vector<double>& world, std::vector<int>& stat) const {
    const int n = naxis();
    world.assign(pix.size(), 0.0);
    if (n == 0) {
        stat.assign(0, 0);
        return;
    }
    const int ncoord = static_cast<int>(pix.size() / static_cast<std::size_t>(n));
    std::vector<double> img(pix.size()), phi(static_cast<std::size_t>(ncoord)), theta(static_cast<std::size_t>(ncoord));
    stat.assign(static_cast<std::size_t>(ncoord), 0);
    if (ncoord == 0) return;
    const int status =
        wcsp2s(wcs_, ncoord, n, pix.data(), img.data(), phi.data(), theta.data(), world.data(), stat.data());
    // WCSSET/WCSERR_NULL_POINTER etc.: every point invalid (wcsp2s sets stat
    // only for WCSERR_BAD_PIX).
    if (status != 0 && status != 8)
        for (auto& s : stat) s = 1;
}

void Wcs::s2p(const std::vector<double>& world, std::vector<double>& pix, std::vector<int>& stat) const {
    const int n = naxis();
    pix.assign(world.size(), 0.0);
    if (n == 0) {
        stat.assign(0, 0);
        return;
    }
    const int ncoord = static_cast<int>(world.size() / static_cast<std::size_t>(n));
    std::vector<double> img(world.size()), phi(static_cast<std::size_t>(ncoord)),
        theta(static_cast<std::size_t>(ncoord));
    stat.assign(static_cast<std::size_t>(ncoord), 0);
    if (ncoord == 0) return;
    const int status =
        wcss2p(wcs_, ncoord, n, world.data(), phi.data(), theta.data(), img.data(), pix.data(), stat.data());
    if (status != 0 && status != 9)
        for (auto& s : stat) s = 1;
}

}  // namespace vo::fits
