// `ingest` over the real files of ../shared/data/fits into a temporary store.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "obscore/ingest.hpp"
#include "obscore/store.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace vo::obscore;
namespace fs = std::filesystem;

namespace {

using vo::testing::TempDir;

const std::string kFits = std::string(VO_SHARED_DIR) + "/data/fits";

IngestOptions options() {
    IngestOptions o;
    o.collection = "samples";
    o.authority = "voserver.example";
    return o;
}

std::string query_text(Store& store, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(store.db(), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

}  // namespace

TEST_CASE("ingest ../shared/data/fits: every product with pixel data, bad files skipped", "[ingest]") {
    TempDir tmp;
    auto store = Store::open_for_write((tmp.path / "store.sqlite").string());
    int events_seen = 0;
    const IngestSummary s = ingest(*store, {kFits}, options(), [&](const IngestEvent&) { ++events_seen; });

    // 34 FITS files (.fits/.fit/.fits.gz) in the folder; header dumps are not walked.
    // Skipped (no image HDU with pixel data): alfalfa_hi_spectrum (tables only),
    // gemini_igrins2 and MUSE IMAGE_FOV header-only files, the WFC3 headerlet,
    // the astrometry.net solution (NAXIS=0).
    CHECK(s.ingested + s.skipped == 34);
    CHECK(events_seen == 34);
    CHECK(s.skipped == 5);
    CHECK(s.ingested == 29);
    CHECK(store->count_rows() == 29);
    std::set<std::string> skipped;
    for (const auto& e : s.events) {
        if (!e.ingested) {
            skipped.insert(fs::path(e.path).filename().string());
            CHECK_FALSE(e.reason.empty());
        }
    }
    CHECK(skipped == std::set<std::string>{"alfalfa_hi_spectrum.fits", "gemini_igrins2_N20240429S0122_hdronly.fits",
                                           "MUSE.2017-06-16T01:34:56.867_IMAGE_FOV_hdronly.fits",
                                           "wfc3_ia1d23dmq_flt_hlet.fits", "astrometry_net_wcs_sol.fit"});

    // The four cubes.
    for (const char* id :
         {"ngc3256_alma_sv_co10_cube", "udf_mosaic_subcube", "l1448_13co_fcrao_cube", "ngc6946_wsrt_hi_cube"}) {
        INFO(id);
        const std::string did = std::string("ivo://voserver.example/samples?") + id;
        CHECK(query_text(*store, "SELECT dataproduct_type FROM ivoa_obscore WHERE obs_publisher_did='" + did + "'") ==
              "cube");
        const auto pf = store->find_product(did);
        REQUIRE(pf.has_value());
        CHECK(fs::exists(pf->path));
        CHECK_FALSE(pf->image_hdus.empty());
    }
    const auto muse = store->find_product("ivo://voserver.example/samples?udf_mosaic_subcube");
    REQUIRE(muse);
    CHECK(muse->image_hdus == std::vector<int>{1, 2});
    // A stored value from the extraction (ALMA NGC3256: FREQ axis, Stokes I).
    CHECK(query_text(*store, "SELECT pol_states FROM ivoa_obscore WHERE obs_id='ngc3256_alma_sv_co10_cube'") == "/I/");
}

TEST_CASE("re-ingesting updates rows instead of duplicating them", "[ingest]") {
    TempDir tmp;
    const std::string db = (tmp.path / "store.sqlite").string();
    {
        auto store = Store::open_for_write(db);
        const auto s1 = ingest(*store, {kFits + "/muse", kFits + "/radio"}, options());
        const long long n1 = store->count_rows();
        CHECK(n1 == s1.ingested);
        const auto s2 = ingest(*store, {kFits + "/muse"}, options());
        CHECK(s2.ingested > 0);
        CHECK(store->count_rows() == n1);
    }
    // Reopening the file keeps the rows.
    auto store = Store::open_for_write(db);
    const long long before = store->count_rows();
    ingest(*store, {kFits + "/radio/ngc6946_wsrt_hi_cube.fits"}, options());
    CHECK(store->count_rows() == before);
}

TEST_CASE("bad inputs are events, not crashes", "[ingest]") {
    TempDir tmp;
    auto store = Store::open_for_write((tmp.path / "store.sqlite").string());
    // A truncated FITS file and a text file with a FITS name.
    {
        std::ifstream in(kFits + "/alma/ngc3256_alma_sv_co10_cube.fits", std::ios::binary);
        std::string head(3 * 2880, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        std::ofstream(tmp.path / "truncated.fits", std::ios::binary) << head;
        std::ofstream(tmp.path / "notfits.fits") << "this is not FITS\n";
        std::ofstream(tmp.path / "empty.fits") << "";
    }
    std::vector<IngestEvent> events;
    const auto s =
        ingest(*store,
               {tmp.path.string(), (tmp.path / "missing.fits").string(), kFits + "/radio/vla_m33_hi_header_jybeam.hdr"},
               options(), [&](const IngestEvent& e) { events.push_back(e); });
    CHECK(s.ingested + s.skipped == 5);
    CHECK(events.size() == 5);
    std::map<std::string, std::string> reasons;
    for (const auto& e : s.events) reasons[fs::path(e.path).filename().string()] = e.reason;
    CHECK(reasons["missing.fits"] == "no such file or directory");
    CHECK(reasons["vla_m33_hi_header_jybeam.hdr"].find("header-only") != std::string::npos);
    CHECK(reasons["notfits.fits"].find("FITS") != std::string::npos);
    CHECK(reasons["empty.fits"].find("FITS") != std::string::npos);
    // The truncated cube: CFITSIO reads the header but the data are incomplete.
    // CFITSIO itself refuses it ("tried to move past end of file"), else our
    // own data-size check reports "truncated file".
    const std::string& tr = reasons["truncated.fits"];
    CHECK((tr.find("truncated") != std::string::npos || tr.find("end of file") != std::string::npos));
    CHECK(s.ingested == 0);
    CHECK(store->count_rows() == 0);
}

namespace {

/// A store that accepts upserts and fails at commit (as the PostgreSQL
/// writer reports a bad row only when it sends the transaction's rows).
class FailingAtCommit : public ArchiveWriter {
public:
    explicit FailingAtCommit(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
    std::string name() const override { return "failing"; }
    void begin() override {}
    void upsert(const ObsCoreRecord&, const ProductFile&) override { ++upserts; }
    void commit() override { throw StoreError("store failing: COPY: invalid byte sequence (test)"); }
    const vo::adql::Catalog& catalog() const override { return inner_->catalog(); }
    long long count_rows() const override { return 0; }
    void update_derived_columns(const std::vector<ExtensionColumn>&, const std::string&, std::time_t) override {}
    int upserts = 0;

private:
    std::unique_ptr<Store> inner_;
};

}  // namespace

// Regression (review): files upserted into a transaction whose commit failed
// were still counted as ingested in the summary and the error message.
TEST_CASE("a failed commit takes back the files of its transaction from the summary", "[ingest]") {
    TempDir tmp;
    FailingAtCommit store(Store::open_for_write((tmp.path / "store.sqlite").string()));
    try {
        ingest(store, {kFits + "/muse"}, options());
        FAIL("no IngestAborted");
    } catch (const IngestAborted& e) {
        REQUIRE(store.upserts > 0);
        CHECK(e.summary().ingested == 0);
        int taken_back = 0;
        for (const auto& ev : e.summary().events)
            if (ev.reason.find("not stored: the transaction holding it failed") != std::string::npos) ++taken_back;
        CHECK(taken_back == store.upserts);
        CHECK_THAT(std::string(e.what()), Catch::Contains("ingested 0") && Catch::Contains("invalid byte sequence"));
    }
}

TEST_CASE("extraction threads store the same rows, in the same order, as one thread", "[ingest]") {
    // issue 14: files are extracted ahead of the storing thread; the result
    // must not depend on the number of threads. The sample set is ingested
    // twice over (68 files: more than the 16-file window) with 0 and 3
    // extraction threads, and every column of every row is compared.
    auto run = [](unsigned threads, const fs::path& dir) {
        auto store = Store::open_for_write((dir / "store.sqlite").string());
        IngestOptions o = options();
        o.extraction_threads = threads;
        const IngestSummary s = ingest(*store, {kFits, kFits}, o);
        std::vector<std::string> events;
        for (const auto& e : s.events)
            events.push_back(e.path + (e.ingested ? " ingested " + e.obs_publisher_did : " skipped: " + e.reason));
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(store->db(), "SELECT * FROM ivoa_obscore ORDER BY obs_publisher_did", -1, &st,
                                   nullptr) == SQLITE_OK);
        std::vector<std::string> rows;
        while (sqlite3_step(st) == SQLITE_ROW) {
            std::string row;
            for (int c = 0; c < sqlite3_column_count(st); ++c) {
                const unsigned char* t = sqlite3_column_text(st, c);
                row += (t ? reinterpret_cast<const char*>(t) : "NULL") + std::string("|");
            }
            rows.push_back(row);
        }
        sqlite3_finalize(st);
        return std::make_pair(events, rows);
    };
    TempDir one, many;
    const auto [events1, rows1] = run(0, one.path);
    const auto [events3, rows3] = run(3, many.path);
    CHECK(events1.size() == 68);
    CHECK(rows1.size() == 29);
    CHECK(events3 == events1);
    CHECK(rows3 == rows1);
}
