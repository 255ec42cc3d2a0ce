// SIAv2 parameters -> ADQL (obscore/sia.hpp, SIA 2.0 section 2.1), run on a
// real store through the real translation: which rows a parameter set selects.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "adql/adql.hpp"
#include "fits/dali_params.hpp"
#include "obscore/sia.hpp"
#include "obscore/store.hpp"

using namespace vo::obscore;

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

ObsCoreRecord row(const std::string& id, const std::string& type, double ra, double dec) {
    ObsCoreRecord r;
    r.dataproduct_type = type;
    r.obs_collection = "samples";
    r.obs_id = id;
    r.obs_publisher_did = "ivo://Test/samples?" + id;
    r.s_ra = ra;
    r.s_dec = dec;
    r.s_region = {{ra + 0.01, dec - 0.01}, {ra + 0.01, dec + 0.01}, {ra - 0.01, dec + 0.01}, {ra - 0.01, dec - 0.01}};
    return r;
}

/// Four rows: a MUSE-like cube, an ALMA-like cube, an image with NULL
/// spectral and time coverage, and a spectrum (never an SIA result).
std::unique_ptr<Store> sample_store() {
    auto dir = std::filesystem::temp_directory_path() / ("voserver-sia-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "sia.sqlite").string();
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
    {
        auto w = Store::open_for_write(path);
        auto muse = row("muse", "cube", 53.16, -27.78);
        muse.em_min = 4.75e-7, muse.em_max = 9.35e-7;
        muse.t_min = 57000.0, muse.t_max = 57000.5;
        muse.t_exptime = 3600, muse.s_fov = 0.02, muse.s_resolution = 0.7, muse.em_res_power = 3000;
        muse.pol_states = std::nullopt;
        muse.facility_name = "ESO-VLT-U4", muse.instrument_name = "MUSE", muse.calib_level = 3;
        muse.target_name = "UDF", muse.access_format = "application/fits";
        auto alma = row("alma", "cube", 150.0, 2.2);
        alma.em_min = 2.6e-3, alma.em_max = 2.7e-3;
        alma.t_min = 58000.0, alma.t_max = 58000.1;
        alma.t_exptime = 1200, alma.s_fov = 0.007, alma.s_resolution = 0.1;
        alma.pol_states = "/XX/YY/", alma.facility_name = "JAO", alma.instrument_name = "ALMA";
        alma.calib_level = 2, alma.target_name = "COSMOS O'Brien";
        auto image = row("image", "image", 359.995, 0.0);  // straddles RA 0
        image.facility_name = "HST", image.instrument_name = "WFC3", image.pol_states = "/I/";
        auto spectrum = row("spectrum", "spectrum", 53.16, -27.78);
        spectrum.em_min = 5e-7, spectrum.em_max = 6e-7;
        w->begin();
        for (const auto& r : {muse, alma, image, spectrum}) w->upsert(r, ProductFile{"/x/" + r.obs_id, 1, 1, {0}});
        w->commit();
    }
    return Store::open_read_only(path);
}

std::set<std::string> found(Store& store, const Params& params) {
    const std::string adql = sia_adql(params);
    const auto t = vo::adql::translate_sqlite(adql, store.catalog());
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(store.db(), t.sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    int col = -1;
    for (int i = 0; i < sqlite3_column_count(s); ++i)
        if (std::string(sqlite3_column_name(s, i)) == "obs_id") col = i;
    REQUIRE(col >= 0);
    std::set<std::string> ids;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, col)));
    sqlite3_finalize(s);
    REQUIRE(rc == SQLITE_DONE);
    return ids;
}

using Ids = std::set<std::string>;

}  // namespace

TEST_CASE("SIAv2: no parameter finds every image and cube, never a spectrum", "[sia]") {
    auto store = sample_store();
    CHECK(found(*store, {}) == Ids{"muse", "alma", "image"});
    CHECK(found(*store, {{"MAXREC", "5"}, {"RESPONSEFORMAT", "csv"}, {"UNKNOWN", "x"}}) ==
          Ids{"muse", "alma", "image"});
}

TEST_CASE("SIAv2 POS: circle, range (also across RA 0 and open-ended), polygon intersect s_region", "[sia]") {
    auto store = sample_store();
    CHECK(found(*store, {{"POS", "CIRCLE 53.16 -27.78 0.001"}}) == Ids{"muse"});
    CHECK(found(*store, {{"pos", "circle 53.2 -27.78 0.04"}}) == Ids{"muse"});  // names and shapes ignore case
    CHECK(found(*store, {{"POS", "CIRCLE 53.2 -27.78 0.02"}}).empty());         // 0.04 deg away: no overlap
    CHECK(found(*store, {{"POS", "RANGE 149 151 2 3"}}) == Ids{"alma"});
    CHECK(found(*store, {{"POS", "RANGE 359.99 0.5 -1 1"}}) == Ids{"image"});  // crosses longitude 0
    CHECK(found(*store, {{"POS", "RANGE -Inf +Inf -Inf 0"}}) == Ids{"muse", "image"});
    CHECK(found(*store, {{"POS", "RANGE -Inf +Inf -Inf +Inf"}}) == Ids{"muse", "alma", "image"});
    CHECK(found(*store, {{"POS", "POLYGON 149.9 2.1 150.1 2.1 150.1 2.3"}}) == Ids{"alma"});
    // OR within one parameter
    CHECK(found(*store, {{"POS", "CIRCLE 53.16 -27.78 0.1"}, {"POS", "CIRCLE 150 2.2 0.1"}}) == Ids{"muse", "alma"});
}

TEST_CASE("SIAv2 BAND and TIME: overlap, single values, open ends; NULL coverage never matches", "[sia]") {
    auto store = sample_store();
    CHECK(found(*store, {{"BAND", "5e-7 5.5e-7"}}) == Ids{"muse"});
    CHECK(found(*store, {{"BAND", "0.0026"}}) == Ids{"alma"});   // a scalar inside
    CHECK(found(*store, {{"BAND", "9.35e-7"}}) == Ids{"muse"});  // bounds included
    CHECK(found(*store, {{"BAND", "1e-3 +Inf"}}) == Ids{"alma"});
    CHECK(found(*store, {{"BAND", "-inf inf"}}) == Ids{"muse", "alma"});  // pyvo's spelling; image has NULL
    CHECK(found(*store, {{"BAND", "-Inf 1e-6"}, {"BAND", "2.65e-3 2.66e-3"}}) == Ids{"muse", "alma"});
    CHECK(found(*store, {{"TIME", "57000.25"}}) == Ids{"muse"});
    CHECK(found(*store, {{"TIME", "57999 +Inf"}}) == Ids{"alma"});
    // AND across parameters
    CHECK(found(*store, {{"TIME", "57999 +Inf"}, {"BAND", "5e-7 5.5e-7"}}).empty());
}

TEST_CASE("SIAv2 ranges of FOV, SPATRES, EXPTIME, TIMERES, SPECRP hold the column's value", "[sia]") {
    auto store = sample_store();
    CHECK(found(*store, {{"FOV", "0.01 +Inf"}}) == Ids{"muse"});
    CHECK(found(*store, {{"SPATRES", "-Inf 0.2"}}) == Ids{"alma"});  // arcsec, as s_resolution
    CHECK(found(*store, {{"EXPTIME", "0 inf"}}) == Ids{"muse", "alma"});
    CHECK(found(*store, {{"EXPTIME", "-Inf 60"}, {"EXPTIME", "3000 4000"}}) == Ids{"muse"});
    CHECK(found(*store, {{"SPECRP", "1000 +Inf"}}) == Ids{"muse"});
    CHECK(found(*store, {{"TIMERES", "-Inf +Inf"}}).empty());  // no row has t_resolution
}

TEST_CASE("SIAv2 string parameters: exact matches, ID ignoring case, POL as a state of pol_states", "[sia]") {
    auto store = sample_store();
    CHECK(found(*store, {{"INSTRUMENT", "MUSE"}}) == Ids{"muse"});
    CHECK(found(*store, {{"INSTRUMENT", "muse"}}).empty());  // case-sensitive (section 2.1)
    CHECK(found(*store, {{"FACILITY", "JAO"}, {"FACILITY", "HST"}}) == Ids{"alma", "image"});
    CHECK(found(*store, {{"COLLECTION", "samples"}, {"DPTYPE", "image"}}) == Ids{"image"});
    CHECK(found(*store, {{"CALIB", "3"}}) == Ids{"muse"});
    CHECK(found(*store, {{"TARGET", "COSMOS O'Brien"}}) == Ids{"alma"});  // a quote stays a value
    CHECK(found(*store, {{"TARGET", "x') OR 1=1 OR ('"}}).empty());
    CHECK(found(*store, {{"FORMAT", "application/fits"}}) == Ids{"muse"});
    CHECK(found(*store, {{"ID", "IVO://test/SAMPLES?muse"}}) == Ids{"muse"});  // section 2.1.10
    CHECK(found(*store, {{"ID", "ivo://test/samples?spectrum"}}).empty());
    CHECK(found(*store, {{"POL", "XX"}}) == Ids{"alma"});
    CHECK(found(*store, {{"POL", "I"}}) == Ids{"image"});
    CHECK(found(*store, {{"POL", "Q"}}).empty());
}

TEST_CASE("SIAv2: malformed values name their parameter", "[sia]") {
    const auto message = [](const Params& p) {
        try {
            sia_adql(p);
        } catch (const vo::fits::DaliError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message({{"BAND", "2 1"}}).rfind("BAND:", 0) == 0);
    CHECK(message({{"BAND", "abc"}}).rfind("BAND:", 0) == 0);
    CHECK(message({{"BAND", ""}}).rfind("BAND:", 0) == 0);
    CHECK(message({{"TIME", "+Inf"}}).rfind("TIME:", 0) == 0);
    CHECK(message({{"TIME", "1 2 3"}}).rfind("TIME:", 0) == 0);
    CHECK(message({{"POS", "CIRCLE 10 100 1"}}).rfind("POS:", 0) == 0);
    CHECK(message({{"POS", "BOX 10 10 1 1"}}).rfind("POS:", 0) == 0);
    CHECK(message({{"POS", "POLYGON 1 2 3 4"}}).rfind("POS:", 0) == 0);
    CHECK(message({{"POL", "Z"}}).rfind("POL:", 0) == 0);
    CHECK(message({{"CALIB", "two"}}).rfind("CALIB:", 0) == 0);
    CHECK(message({{"TARGET", std::string("a\0b", 3)}}).rfind("TARGET:", 0) == 0);
    CHECK(message({{"FOV", "NaN 1"}}).rfind("FOV:", 0) == 0);
}
