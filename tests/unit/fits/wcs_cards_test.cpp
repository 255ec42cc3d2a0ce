// fits::wcs_cards (issue 14): WCSLIB's header parser reads the same WCS from
// the filtered cards as from all of them, on every HDU of ../shared/data/fits.
#include <catch2/catch.hpp>
#include <fitsio.h>
#include <wcslib/wcs.h>
#include <wcslib/wcshdr.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "fits/header_check.hpp"
#include "fits/wcs.hpp"

using namespace vo::fits;

namespace {

/// Every HDU header of the FITS files under `dir`, as card blocks ending with END.
std::vector<std::pair<std::string, std::string>> sample_headers(const std::string& dir) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string path = e.path().string();
        if (!e.is_regular_file() || path.find(".fits") == std::string::npos) continue;
        fitsfile* f = nullptr;
        int st = 0;
        if (fits_open_file(&f, path.c_str(), READONLY, &st)) continue;
        int nhdu = 0;
        fits_get_num_hdus(f, &nhdu, &st);
        for (int i = 1; i <= nhdu && st == 0; ++i) {
            int type = 0;
            if (fits_movabs_hdu(f, i, &type, &st)) break;
            char* text = nullptr;
            int nkeys = 0;
            if (fits_hdr2str(f, 0, nullptr, 0, &text, &nkeys, &st) == 0) {
                out.emplace_back(path + " HDU " + std::to_string(i - 1), std::string(text));
                int fst = 0;
                fits_free_memory(text, &fst);
            }
        }
        st = 0;
        fits_close_file(f, &st);
    }
    return out;
}

/// The values of one parsed wcsprm that a WCS depends on, as text.
std::string describe(const wcsprm& w) {
    std::string s = "naxis=" + std::to_string(w.naxis) + " alt=" + w.alt + " altlin=" + std::to_string(w.altlin);
    auto num = [&](const char* name, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s=%.17g", name, v);
        s += buf;
    };
    for (int i = 0; i < w.naxis; ++i) {
        s += std::string(" ctype=") + w.ctype[i] + " cunit=" + w.cunit[i] + " cname=" + w.cname[i];
        num("crval", w.crval[i]), num("crpix", w.crpix[i]), num("cdelt", w.cdelt[i]), num("crota", w.crota[i]);
        num("crder", w.crder[i]), num("csyer", w.csyer[i]);
        for (int j = 0; j < w.naxis; ++j) num("pc", w.pc[i * w.naxis + j]), num("cd", w.cd[i * w.naxis + j]);
    }
    num("lonpole", w.lonpole), num("latpole", w.latpole), num("restfrq", w.restfrq), num("restwav", w.restwav);
    num("equinox", w.equinox), num("velosys", w.velosys), num("zsource", w.zsource), num("velangl", w.velangl);
    num("mjdobs", w.mjdobs), num("mjdavg", w.mjdavg);
    for (int i = 0; i < 3; ++i) num("obsgeo", w.obsgeo[i]);
    for (int i = 0; i < w.npv; ++i)
        num(("pv" + std::to_string(w.pv[i].i) + "_" + std::to_string(w.pv[i].m)).c_str(), w.pv[i].value);
    for (int i = 0; i < w.nps; ++i) s += " ps=" + std::string(w.ps[i].value);
    s += std::string(" radesys=") + w.radesys + " specsys=" + w.specsys + " ssysobs=" + w.ssysobs +
         " ssyssrc=" + w.ssyssrc + " dateobs=" + w.dateobs + " wcsname=" + w.wcsname;
    return s;
}

/// wcspih of `cards` (WCSHDR_all, as Wcs::load): every WCS found, described.
std::vector<std::string> parse(const std::string& cards, int& nreject) {
    int nwcs = 0;
    nreject = 0;
    wcsprm* wcss = nullptr;
    std::vector<std::string> out;
    const int status = wcspih(const_cast<char*>(cards.data()), static_cast<int>(cards.size() / 80), WCSHDR_all, 0,
                              &nreject, &nwcs, &wcss);
    if (status == 0)
        for (int i = 0; i < nwcs; ++i) out.push_back(describe(wcss[i]));
    if (wcss) wcsvfree(&nwcs, &wcss);
    return out;
}

}  // namespace

TEST_CASE("wcspih reads the same WCS from wcs_cards as from all cards", "[fits][wcs]") {
    const auto headers = sample_headers(std::string(VO_SHARED_DIR) + "/data/fits");
    REQUIRE(headers.size() > 50);
    std::size_t compared = 0, with_wcs = 0, dropped = 0;
    for (const auto& [name, cards] : headers) {
        if (header_defect(cards)) continue;  // WCSLIB never sees these (Wcs::load step 1)
        const std::string kept = wcs_cards(cards);
        REQUIRE(kept.size() % 80 == 0);
        dropped += (cards.size() - kept.size()) / 80;
        int reject_all = 0, reject_kept = 0;
        const auto all = parse(cards, reject_all);
        const auto filtered = parse(kept, reject_kept);
        INFO(name);
        CHECK(all == filtered);
        CHECK(reject_all == reject_kept);
        ++compared;
        if (!all.empty()) ++with_wcs;
    }
    CHECK(compared > 50);
    CHECK(with_wcs > 30);
    CHECK(dropped > 1000);  // the filter does drop cards (COMMENT, HISTORY, HIERARCH are common)
}
