// Issue 7 regressions: nothing a FITS file contains crashes, stalls or starves
// the extraction and the ingest (header text checked before WCSLIB sees it,
// data sizes computed without overflow, gzip streamed with a size limit,
// non-finite WCS values refused, a failing batch still reports and commits).
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "obscore/fits_extract.hpp"
#include "obscore/header_text.hpp"
#include "obscore/ingest.hpp"
#include "obscore/store.hpp"
#include "raw_fits.hpp"

using namespace vo::obscore;
using namespace vo::testing;
namespace fs = std::filesystem;

namespace {

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits/";

IngestOptions options() {
    IngestOptions o;
    o.collection = "samples";
    o.authority = "voserver.example";
    return o;
}

/// A small valid image: 8 x 8 float pixels.
std::string pixels(long long n) { return std::string(static_cast<std::size_t>(n) * 4, '\0'); }

void write_unterminated(const fs::path& p) {
    write_raw_fits(p, {{image_cards({8, 8}, {}, {{"CTYPE1", "CTYPE1  = 'RA---TAN"}}), pixels(64)}});
}

long peak_rss_kb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

}  // namespace

TEST_CASE("header_defect: FITS 4.0 card rules checked before any parser", "[extract][reliability]") {
    auto block = [](std::vector<std::string> cards) {
        std::string s;
        for (auto& c : cards) s += card(c);
        return s;
    };
    // A correct header, with a quote inside a string, a HIERARCH string, a
    // CONTINUE card and free text with a lone quote in COMMENT/HISTORY.
    CHECK_FALSE(
        header_defect(block({"SIMPLE  =                    T", "OBJECT  = 'O''Brien'  / x",
                             "HIERARCH ESO OBS NAME = 'run 1' / y", "LONG    = 'abc&'", "CONTINUE  'def'",
                             "COMMENT it's fine", "HISTORY 'unclosed in free text", "CRVAL1  =   1.5D+02", "END"}))
            .has_value());
    // NAXIS beyond FITS's 999 axes made WCSLIB allocate gigabytes or crash (fits_fuzz)
    for (const char* naxis : {"NAXIS   =                66048", "NAXIS   =                11311",
                              "NAXIS   =                   -1", "WCSAXES =                 5000"}) {
        const auto d = header_defect(block({"SIMPLE  =                    T", naxis, "END"}));
        REQUIRE(d);
        CHECK(d->find("0..999") != std::string::npos);
    }
    CHECK_FALSE(header_defect(block({"SIMPLE  =                    T", "NAXIS   =                  999", "END"})));
    // a SIP coefficient card without a value crashed wcspih (SEGV, fits_fuzz)
    for (const char* sip : {"B_2_2", "A_2_2   =", "BP_1_1  x", "AP_0_1  = 'text'"}) {
        INFO(sip);
        const auto d =
            header_defect(block({"SIMPLE  =                    T", "NAXIS   =                    2", sip, "END"}));
        REQUIRE(d);
        CHECK((d->find("SIP coefficient") != std::string::npos || d->find("finite number") != std::string::npos));
    }
    CHECK_FALSE(header_defect(
        block({"SIMPLE  =                    T", "A_ORDER =                    2", "A_2_0   = -1.5E-06", "END"})));
    const auto unterminated = header_defect(block({"SIMPLE  =                    T", "CTYPE1  = 'RA---TAN", "END"}));
    REQUIRE(unterminated);
    CHECK(unterminated->find("card 2 (CTYPE1)") != std::string::npos);
    CHECK(unterminated->find("closing quote") != std::string::npos);
    const auto hierarch = header_defect(block({"SIMPLE  =                    T", "HIERARCH ESO X = 'abc", "END"}));
    REQUIRE(hierarch);
    CHECK(hierarch->find("closing quote") != std::string::npos);
    const auto cont =
        header_defect(block({"SIMPLE  =                    T", "LONG    = 'abc&'", "CONTINUE  'def", "END"}));
    REQUIRE(cont);
    CHECK(cont->find("card 3 (CONTINUE)") != std::string::npos);
    // Non-printable characters (a tab, a byte above 126).
    std::string tab = block({"SIMPLE  =                    T", "OBJECT  = 'a b'", "END"});
    tab[80 + 12] = '\t';
    const auto t = header_defect(tab);
    REQUIRE(t);
    CHECK(t->find("character 9 in column 13") != std::string::npos);
    std::string high = block({"SIMPLE  =                    T", "OBJECT  = 'ab'", "END"});
    high[80 + 11] = static_cast<char>(0xE9);
    CHECK(header_defect(high).has_value());
    // No END card; a length that is not a multiple of 80.
    CHECK(header_defect(block({"SIMPLE  =                    T"}))->find("no END") != std::string::npos);
    CHECK(header_defect(block({"SIMPLE  =                    T", "END"}).substr(0, 150)).has_value());
    // Non-finite or non-numeric WCS values, named by keyword.
    for (const char* bad : {"CRVAL1  =                  NaN", "CRVAL2  =               1E+999",
                            "CDELT1  =                  INF", "CD1_1   =                 -nan", "PC2_2   = 'one'",
                            "CRPIX1A =                  NaN", "CROTA2  =              1.0D999"}) {
        INFO(bad);
        const auto d = header_defect(block({"SIMPLE  =                    T", bad, "END"}));
        REQUIRE(d);
        CHECK(d->find(std::string(bad).substr(0, std::string(bad).find(' '))) != std::string::npos);
        CHECK(d->find("not a finite number") != std::string::npos);
    }
    // Every real header of ../shared/data/fits passes (header dumps included).
    for (const auto& entry : fs::recursive_directory_iterator(kFits)) {
        const std::string name = entry.path().filename().string();
        if (name.size() < 4 || (name.find(".hdr") == std::string::npos && name.find(".header") == std::string::npos))
            continue;
        for (const auto& b : read_header_file(entry.path().string())) {
            INFO(name);
            CHECK(header_defect(b) == std::nullopt);
        }
    }
}

TEST_CASE("data_unit_bytes: FITS 4.0 eq. 2 without overflow", "[extract][reliability]") {
    auto block = [](std::vector<std::string> cards) {
        std::string s;
        for (auto& c : cards) s += card(c);
        return s + card("END");
    };
    CHECK(data_unit_bytes(block({"SIMPLE  =                    T", "BITPIX  =                  -32",
                                 "NAXIS   =                    2", "NAXIS1  =                  100",
                                 "NAXIS2  =                   50"})) == 20000);
    CHECK(data_unit_bytes(
              block({"XTENSION= 'BINTABLE'", "BITPIX  =                    8", "NAXIS   =                    2",
                     "NAXIS1  =                   12", "NAXIS2  =                   10",
                     "PCOUNT  =                  100", "GCOUNT  =                    1"})) == 220);
    CHECK(data_unit_bytes(block({"SIMPLE  =                    T", "BITPIX  =                    8",
                                 "NAXIS   =                    0"})) == 0);
    // 2^62 x 4 x 4 bytes wraps to 0 in 64 bits: must be refused, not accepted.
    CHECK_FALSE(data_unit_bytes(block({"SIMPLE  =                    T", "BITPIX  =                  -32",
                                       "NAXIS   =                    2", "NAXIS1  =  4611686018427387904",
                                       "NAXIS2  =                    4"}))
                    .has_value());
    CHECK_FALSE(data_unit_bytes(block({"SIMPLE  =                    T", "BITPIX  =                  -32",
                                       "NAXIS   =                    1", "NAXIS1  =                   -5"}))
                    .has_value());
}

TEST_CASE("extract: an unterminated string in a header is refused, not a crash", "[extract][reliability]") {
    TempDir tmp("extract_rel");
    write_unterminated(tmp.path / "unterminated.fits");
    const auto r = extract_product((tmp.path / "unterminated.fits").string(), options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.skip_reason.find("CTYPE1") != std::string::npos);
    CHECK(r.skip_reason.find("closing quote") != std::string::npos);
    // The same header as a header-only dump.
    std::string text;
    for (const auto& c : image_cards({8, 8}, {}, {{"CTYPE1", "CTYPE1  = 'RA---TAN"}})) text += c + "\n";
    const auto h = extract_from_header_text(split_header_text(text), "dump.hdr", 100, options());
    REQUIRE_FALSE(h.ok());
    CHECK(h.skip_reason.find("closing quote") != std::string::npos);
}

TEST_CASE("extract: NaN or Inf WCS values are refused with the keyword named", "[extract][reliability]") {
    TempDir tmp("extract_nan");
    const std::vector<std::pair<std::string, std::string>> cases = {{"CRVAL1", "CRVAL1  =                  NaN"},
                                                                    {"CRVAL2", "CRVAL2  =               1E+999"},
                                                                    {"CDELT1", "CDELT1  =                 -INF"}};
    for (const auto& [key, text] : cases) {
        INFO(text);
        const fs::path p = tmp.path / (key + ".fits");
        write_raw_fits(p, {{image_cards({8, 8}, {}, {{key, text}}), pixels(64)}});
        const auto r = extract_product(p.string(), options());
        CHECK_FALSE(r.ok());
        if (r.ok()) CHECK(r.record->s_ra.value_or(-1) != 0.0);
        CHECK(r.skip_reason.find(key) != std::string::npos);
    }
    // PC and CD matrices.
    const fs::path pc = tmp.path / "pc.fits";
    write_raw_fits(pc, {{image_cards({8, 8}, {"PC1_1   =                  NaN"}), pixels(64)}});
    CHECK(extract_product(pc.string(), options()).skip_reason.find("PC1_1") != std::string::npos);
    // The control: the same file with finite values is a product at RA 150, Dec 2.
    const fs::path good = tmp.path / "good.fits";
    write_raw_fits(good, {{image_cards({8, 8}), pixels(64)}});
    const auto g = extract_product(good.string(), options());
    REQUIRE(g.ok());
    CHECK(std::abs(*g.record->s_ra - 150.0) < 0.01);
}

TEST_CASE("extract: NAXISn whose data size overflows 64 bits is refused", "[extract][reliability]") {
    TempDir tmp("extract_naxis");
    const fs::path p = tmp.path / "huge.fits";
    // 2^62 x 4 pixels of 4 bytes: 2^66 bytes, 0 modulo 2^64.
    write_raw_fits(p, {{image_cards({4611686018427387904LL, 4}), pixels(64)}});
    const auto r = extract_product(p.string(), options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.skip_reason.find("data size") != std::string::npos);
    // No overflow, but far more data than the file holds: truncated.
    const fs::path q = tmp.path / "big.fits";
    write_raw_fits(q, {{image_cards({1LL << 40, 4}), pixels(64)}});
    const auto t = extract_product(q.string(), options());
    REQUIRE_FALSE(t.ok());
    CHECK(t.skip_reason.find("truncated") != std::string::npos);
}

TEST_CASE("extract: a truncated .fits.gz is refused", "[extract][reliability]") {
    TempDir tmp("extract_gz");
    const std::string bytes = raw_fits_bytes({{image_cards({200, 200}), pixels(200 * 200)}});
    write_gzip(tmp.path / "whole.fits.gz", bytes);
    const auto whole = extract_product((tmp.path / "whole.fits.gz").string(), options());
    REQUIRE(whole.ok());
    // Cut the compressed file: (a) inside the data, (b) just before the trailer.
    std::ifstream in(tmp.path / "whole.fits.gz", std::ios::binary);
    const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::size_t keep : {gz.size() / 2, gz.size() - 8, gz.size() - 1}) {
        INFO(keep);
        write_bytes(tmp.path / "cut.fits.gz", gz.substr(0, keep));
        const auto r = extract_product((tmp.path / "cut.fits.gz").string(), options());
        CHECK_FALSE(r.ok());
        CHECK((r.skip_reason.find("truncated") != std::string::npos ||
               r.skip_reason.find("corrupt") != std::string::npos));
    }
    // The real gzip product still extracts.
    CHECK(extract_product(kFits + "other/dss_plate_14.29.56-62.41.05.fits.gz", options()).ok());
}

TEST_CASE("extract: a gzip bomb is streamed with a size limit, not inflated in memory", "[extract][reliability]") {
    TempDir tmp("extract_bomb");
    // A valid header announcing 96 MiB of pixels, then 96 MiB of zeros
    // (about 100 kB compressed).
    const long long n = 96LL << 20;
    const std::string header = raw_fits_bytes({{image_cards({n / 4}), ""}});
    write_gzip(tmp.path / "bomb.fits.gz", header, static_cast<std::uint64_t>(n));
    CHECK(fs::file_size(tmp.path / "bomb.fits.gz") < 1'000'000);
    // A lowered limit: refused, and the message states the limit.
    IngestOptions limited = options();
    limited.max_decompressed_bytes = 16LL << 20;
    const auto r = extract_product((tmp.path / "bomb.fits.gz").string(), limited);
    REQUIRE_FALSE(r.ok());
    CHECK(r.skip_reason.find("16777216") != std::string::npos);
    CHECK(r.skip_reason.find("limit") != std::string::npos);
    // The default limit: accepted, and read as a stream (resident memory does
    // not grow by the 96 MiB the file decompresses to).
    const long before = peak_rss_kb();
    const auto ok = extract_product((tmp.path / "bomb.fits.gz").string(), options());
    const long after = peak_rss_kb();
    CHECK(ok.ok());
    CHECK(after - before < 32 * 1024);
}

TEST_CASE("ingest: a batch with bad files commits the good ones and reports each bad one", "[ingest][reliability]") {
    TempDir tmp("ingest_batch");
    const fs::path dir = tmp.path / "batch";
    fs::create_directories(dir);
    fs::copy_file(kFits + "other/cfht_megaprime_cutout.fits", dir / "a_good.fits");
    write_unterminated(dir / "b_unterminated.fits");
    write_raw_fits(dir / "c_nan.fits",
                   {{image_cards({8, 8}, {}, {{"CRVAL1", "CRVAL1  =                  NaN"}}), pixels(64)}});
    write_raw_fits(dir / "d_huge.fits", {{image_cards({4611686018427387904LL, 4}), pixels(64)}});
    {
        const std::string bytes = raw_fits_bytes({{image_cards({200, 200}), pixels(200 * 200)}});
        write_gzip(tmp.path / "e.fits.gz", bytes);
        std::ifstream in(tmp.path / "e.fits.gz", std::ios::binary);
        const std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        write_bytes(dir / "e_truncated.fits.gz", gz.substr(0, gz.size() / 2));
    }
    fs::copy_file(kFits + "other/skyview_dss_m13.fits", dir / "f_good.fits");
    const std::string db = (tmp.path / "store.sqlite").string();
    std::vector<IngestEvent> seen;
    {
        auto store = Store::open_for_write(db);
        const auto s = ingest(*store, {dir.string()}, options(), [&](const IngestEvent& e) { seen.push_back(e); });
        CHECK(s.ingested == 2);
        CHECK(s.skipped == 4);
        CHECK(seen.size() == 6);
        std::map<std::string, std::string> reasons;
        for (const auto& e : s.events)
            if (!e.ingested) reasons[fs::path(e.path).filename().string()] = e.reason;
        CHECK(reasons["b_unterminated.fits"].find("closing quote") != std::string::npos);
        CHECK(reasons["c_nan.fits"].find("CRVAL1") != std::string::npos);
        CHECK(reasons["d_huge.fits"].find("data size") != std::string::npos);
        CHECK((reasons["e_truncated.fits.gz"].find("truncated") != std::string::npos ||
               reasons["e_truncated.fits.gz"].find("corrupt") != std::string::npos));
    }
    auto reopened = Store::open_for_write(db);
    CHECK(reopened->count_rows() == 2);
    CHECK(reopened->find_product("ivo://voserver.example/samples?a_good"));
    CHECK(reopened->find_product("ivo://voserver.example/samples?f_good"));
}

TEST_CASE("ingest: a store failure mid-batch keeps the rows so far and the summary", "[ingest][reliability]") {
    TempDir tmp("ingest_abort");
    const fs::path dir = tmp.path / "batch";
    fs::create_directories(dir);
    fs::copy_file(kFits + "other/cfht_megaprime_cutout.fits", dir / "a.fits");
    write_unterminated(dir / "b_bad.fits");
    fs::copy_file(kFits + "other/skyview_dss_m13.fits", dir / "c.fits");
    fs::copy_file(kFits + "other/msx_e_gc.fits", dir / "d.fits");
    const std::string db = (tmp.path / "store.sqlite").string();
    {
        auto store = Store::open_for_write(db);
        // The store refuses the row of c.fits (as a full disk or a broken
        // file would refuse a write).
        REQUIRE(sqlite3_exec(store->db(),
                             "CREATE TEMP TRIGGER fail_c BEFORE INSERT ON main.ivoa_obscore WHEN NEW.obs_id = 'c' "
                             "BEGIN SELECT RAISE(ABORT, 'simulated store failure'); END;",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        bool thrown = false;
        try {
            ingest(*store, {dir.string()}, options());
        } catch (const IngestAborted& e) {
            thrown = true;
            const IngestSummary& s = e.summary();
            CHECK(s.ingested == 1);
            CHECK(s.skipped == 2);  // b (bad header) and c (store failure)
            REQUIRE(s.events.size() == 3);
            CHECK(s.events[1].reason.find("closing quote") != std::string::npos);
            CHECK(s.events[2].reason.find("simulated store failure") != std::string::npos);
            // The message alone tells the totals (the CLI prints it).
            CHECK(std::string(e.what()).find("ingested 1, skipped 2") != std::string::npos);
            CHECK(std::string(e.what()).find("simulated store failure") != std::string::npos);
        }
        CHECK(thrown);
    }
    auto reopened = Store::open_for_write(db);
    CHECK(reopened->count_rows() == 1);
    CHECK(reopened->find_product("ivo://voserver.example/samples?a"));
}

TEST_CASE("extract: the streamed gzip path gives the row of the same file uncompressed", "[extract][reliability]") {
    TempDir tmp("extract_gz_same");
    const std::string gz = kFits + "other/dss_plate_14.29.56-62.41.05.fits.gz";
    const fs::path plain = tmp.path / "dss_plate_14.29.56-62.41.05.fits";
    REQUIRE(std::system(("gzip -dc '" + gz + "' > '" + plain.string() + "'").c_str()) == 0);
    const auto a = extract_product(gz, options());
    const auto b = extract_product(plain.string(), options());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.record->obs_id == b.record->obs_id);
    CHECK(a.record->dataproduct_type == b.record->dataproduct_type);
    CHECK(a.record->s_ra == b.record->s_ra);
    CHECK(a.record->s_dec == b.record->s_dec);
    CHECK(a.record->s_region == b.record->s_region);
    CHECK(a.record->s_xel1 == b.record->s_xel1);
    CHECK(a.record->s_xel2 == b.record->s_xel2);
    CHECK(a.record->t_min == b.record->t_min);
    CHECK(a.file.image_hdus == b.file.image_hdus);
}

TEST_CASE("extract: a degenerate STOKES axis beyond NAXIS is published (SODA POL must agree)",
          "[extract][reliability]") {
    // The contract tests/unit/soda/test_reliability.cpp checks on the SODA side.
    const auto r = extract_product(kFits + "radio/first_vla_cutout.fits", options());
    REQUIRE(r.ok());
    CHECK(r.record->pol_states == std::optional<std::string>("/I/"));
    TempDir tmp("extract_pol");
    const fs::path p = tmp.path / "stokes4.fits";
    write_raw_fits(
        p, {{image_cards({8, 8, 2},
                         {"WCSAXES =                    4", "CTYPE3  = 'FREQ    '", "CRVAL3  =         1.4E9",
                          "CDELT3  =           1.0E6", "CRPIX3  =             1.0", "CTYPE4  = 'STOKES  '",
                          "CRVAL4  =             2.0", "CDELT4  =             1.0", "CRPIX4  =             1.0"}),
             pixels(128)}});
    const auto q = extract_product(p.string(), options());
    REQUIRE(q.ok());
    CHECK(q.record->pol_states == std::optional<std::string>("/Q/"));
}
