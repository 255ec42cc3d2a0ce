// Configured extension columns (obscore/profile.hpp): typed keyword values,
// defaults, ADQL expressions evaluated on a real store, data_rights, release dates.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "obscore/profile.hpp"
#include "obscore/store.hpp"

using namespace vo::obscore;

namespace {

ExtensionColumn column(const std::string& name, const std::string& datatype) {
    ExtensionColumn c;
    c.def.name = name;
    c.def.datatype = datatype;
    c.def.adql_type = datatype == "char" ? "VARCHAR" : datatype == "double" ? "DOUBLE" : "INTEGER";
    c.def.arraysize = datatype == "char" ? "*" : "";
    c.def.std = false;
    return c;
}

std::string temp_store(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / ("voserver-profile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = (dir / name).string();
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
    return path;
}

std::string text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    auto p = sqlite3_column_text(s, 0);
    std::string v = p ? reinterpret_cast<const char*>(p) : "<null>";
    sqlite3_finalize(s);
    return v;
}

}  // namespace

TEST_CASE("keyword values take the column's type; defaults fill the rest", "[profile]") {
    const auto pwv = column("pwv", "double");
    const auto year = column("publication_year", "int");
    CHECK(std::get<double>(*typed_value(pwv.def, " 1.25D0 ")) == 1.25);
    CHECK_FALSE(typed_value(pwv.def, "wet"));
    CHECK_FALSE(typed_value(pwv.def, ""));
    CHECK(std::get<std::int64_t>(*typed_value(year.def, "2019")) == 2019);
    CHECK(std::get<std::int64_t>(*typed_value(year.def, "T")) == 1);
    CHECK_FALSE(typed_value(year.def, "2019.5"));

    auto pi = column("obs_creator_name", "char");
    pi.keywords = {"PI", "OBSERVER"};
    auto science = column("science_observation", "char");
    science.default_value = ExtraValue(std::string("T"));
    auto bad = column("pwv", "double");
    bad.keywords = {"PWV"};
    const std::map<std::string, std::string> header = {{"OBSERVER", "almagal"}, {"PWV", "dry"}};
    ObsCoreRecord r;
    fill_extension_values(
        {pi, science, bad},
        [&](const std::string& k) -> std::optional<std::string> {
            auto it = header.find(k);
            if (it == header.end()) return std::nullopt;
            return it->second;
        },
        r);
    CHECK(std::get<std::string>(r.extra.at("obs_creator_name")) == "almagal");  // PI absent: the next keyword
    CHECK(std::get<std::string>(r.extra.at("science_observation")) == "T");
    CHECK(r.extra.count("pwv") == 0);  // "dry" is no number: left NULL
}

TEST_CASE("ADQL expressions and data_rights are computed from the stored rows", "[profile]") {
    auto frequency = column("frequency", "double");
    frequency.adql = "(299792458.0 / em_min + 299792458.0 / em_max) / 2e9";
    auto rights = column("data_rights", "char");
    rights.data_rights = true;
    auto broken = column("broken", "double");
    broken.adql = "no_such_column + 1";

    const std::string path = temp_store("derived.sqlite");
    auto store = Store::open_for_write(path, column_defs({frequency, rights, broken}));
    ObsCoreRecord r;
    r.obs_collection = "alma";
    r.obs_id = "cube";
    r.obs_publisher_did = "ivo://test/alma?cube";
    r.em_min = 2.6e-3;
    r.em_max = 2.7e-3;
    r.obs_release_date = "2030-01-01T00:00:00";
    store->upsert(r, ProductFile{"/x", 1, 1, {0}});
    r.obs_collection = "other";
    r.obs_id = "old";
    r.obs_publisher_did = "ivo://test/other?old";
    r.obs_release_date = std::nullopt;
    store->upsert(r, ProductFile{"/y", 1, 1, {0}});

    CHECK_THROWS_WITH(check_extension_expressions(store->catalog(), {frequency, broken}),
                      Catch::Contains("broken") && Catch::Contains("no_such_column"));
    const std::time_t now = 1893456000;  // 2030-01-01T00:00:00Z
    evaluate_derived_columns(*store, {frequency, rights}, "alma", now - 1);
    sqlite3* db = store->db();
    CHECK(std::stod(text(db, "SELECT frequency FROM ivoa_obscore WHERE obs_id = 'cube'")) ==
          Approx((299792458.0 / 2.6e-3 + 299792458.0 / 2.7e-3) / 2e9));
    CHECK(text(db, "SELECT data_rights FROM ivoa_obscore WHERE obs_id = 'cube'") == "Proprietary");
    // only the collection of the run is touched
    CHECK(text(db, "SELECT frequency FROM ivoa_obscore WHERE obs_id = 'old'") == "<null>");
    evaluate_derived_columns(*store, {rights}, "alma", now);  // the release date has come
    CHECK(text(db, "SELECT data_rights FROM ivoa_obscore WHERE obs_id = 'cube'") == "Public");
    evaluate_derived_columns(*store, {rights}, "other", now);
    CHECK(text(db, "SELECT data_rights FROM ivoa_obscore WHERE obs_id = 'old'") == "Public");  // no release date
}

TEST_CASE("release dates add calendar months to the observation date", "[profile]") {
    CHECK(release_date(55667.134608333334, 12) == "2012-04-16T03:13:50");  // ALMA: 12 months
    CHECK(release_date(58778.92002888889, 12) == "2020-10-22T22:04:50");
    CHECK(release_date(51544.0, 0) == "2000-01-01T00:00:00");
    CHECK(release_date(51573.5, 1) == "2000-02-29T12:00:00");  // 31 January + 1 month: the end of February
    CHECK(release_date(51544.0, 25) == "2002-02-01T00:00:00");
}
