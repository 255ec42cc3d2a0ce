// The query backend interface (obscore/backend.hpp) on a real SQLite store:
// rows streamed through a cursor, errors classified client/server, runs
// stopped by cancellation and deadlines, TAP_UPLOAD tables living for one
// run, the catalogue following an ingest, the factory's refusals.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>

#include "adql/adql.hpp"
#include "obscore/backend.hpp"
#include "obscore/store.hpp"

using namespace vo::obscore;

namespace {

constexpr int kRows = 40;

ObsCoreRecord row(int i) {
    ObsCoreRecord r;
    r.dataproduct_type = "cube";
    r.obs_collection = i % 4 == 0 ? "alma" : "muse";
    r.obs_id = "obs" + std::to_string(100 + i);  // sorts as i does
    r.obs_publisher_did = "ivo://test/backend?" + r.obs_id;
    const double ra = 10.0 + i, dec = -30.0 + i * 0.5;
    r.s_ra = ra;
    r.s_dec = dec;
    r.s_region = {{ra + 0.01, dec - 0.01}, {ra + 0.01, dec + 0.01}, {ra - 0.01, dec + 0.01}, {ra - 0.01, dec - 0.01}};
    return r;
}

/// A store of kRows products obs100..obs139 (every fourth in collection
/// "alma", the rest in "muse"), each with a file /data/<obs_id>.fits.
std::string backend_store(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / ("voserver-backend-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / name).string();
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
    auto w = Store::open_for_write(path);
    w->begin();
    for (int i = 0; i < kRows; ++i) {
        const auto r = row(i);
        w->upsert(r, ProductFile{"/data/" + r.obs_id + ".fits", 1000 + i, 1700000000, {0}});
    }
    w->commit();
    return path;
}

std::unique_ptr<PreparedQuery> prepare(QueryBackend& db, const std::string& adql) {
    return db.prepare(db.translate(adql, {}));
}

/// Every row of a run, cells as text ("<null>" for NULL).
std::vector<std::vector<std::string>> all_rows(ResultCursor& cursor, std::size_t columns) {
    std::vector<std::vector<std::string>> rows;
    while (cursor.next()) {
        auto& r = rows.emplace_back();
        for (std::size_t i = 0; i < columns; ++i) {
            const Cell c = cursor.cell(i);
            switch (c.kind) {
                case Cell::Kind::null: r.emplace_back("<null>"); break;
                case Cell::Kind::integer: r.push_back(std::to_string(c.integer)); break;
                case Cell::Kind::real: r.push_back(std::to_string(c.real)); break;
                case Cell::Kind::text: r.emplace_back(c.text); break;
            }
        }
    }
    return rows;
}

/// The QueryError a run of `q` ends with (before or after its first row), or
/// nullopt when it reaches its end.
std::optional<QueryError> error_of(PreparedQuery& q, const ExecuteControl& control = {}) {
    try {
        auto cursor = q.execute(control);
        while (cursor->next()) {
        }
    } catch (const QueryError& e) {
        return e;
    }
    return std::nullopt;
}

/// Three copies of the table joined: kRows^3 = 64,000 combinations, far more
/// than the 20,000 VM steps between two checks of the progress handler.
const std::string kCrossJoin =
    "SELECT a.obs_id, b.obs_id, c.obs_id FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c";

}  // namespace

TEST_CASE("backend: a query is translated, prepared and streamed row by row", "[backend]") {
    auto db = open_query_backend(backend_store("stream.sqlite"));
    auto q = prepare(*db, "SELECT TOP 3 obs_id, s_ra, calib_level, em_min FROM ivoa.obscore ORDER BY obs_id DESC");
    REQUIRE(q->translation().columns.size() == 4);
    CHECK(q->translation().columns[0].name == "obs_id");
    CHECK(q->translation().top == 3);
    for (int run = 0; run < 2; ++run) {  // a prepared query runs again
        auto cursor = q->execute({});
        const auto rows = all_rows(*cursor, 4);
        REQUIRE(rows.size() == 3);
        CHECK(rows[0] == std::vector<std::string>{"obs139", std::to_string(10.0 + 39), "2", "<null>"});
        CHECK(rows[2][0] == "obs137");
        CHECK_FALSE(cursor->next());  // stays at the end
    }
    // integers come as integers
    auto count = prepare(*db, "SELECT COUNT(*) FROM ivoa.obscore");
    auto cursor = count->execute({});
    REQUIRE(cursor->next());
    CHECK(cursor->cell(0).kind == Cell::Kind::integer);
    CHECK(cursor->cell(0).integer == kRows);
}

TEST_CASE("backend: catalogue, keys, collections, products and the cost estimate", "[backend]") {
    auto db = open_query_backend(backend_store("meta.sqlite"));
    const auto& tables = db->catalog().tables();
    CHECK(std::any_of(tables.begin(), tables.end(),
                      [](const auto& t) { return t.schema == "ivoa" && t.name == "obscore"; }));
    const auto keys = db->foreign_keys();
    CHECK(std::any_of(keys.begin(), keys.end(),
                      [](const ForeignKey& k) { return k.from_table == "TAP_SCHEMA.columns"; }));
    CHECK(db->collection_counts() == std::map<std::string, long long>{{"alma", 10}, {"muse", 30}});
    CHECK(std::any_of(db->udfs().begin(), db->udfs().end(), [](const auto& u) { return u.name == "ivo_hasword"; }));

    const auto file = db->find_product("ivo://test/backend?obs105");
    REQUIRE(file);
    CHECK(file->path == "/data/obs105.fits");
    CHECK(file->size_bytes == 1005);
    CHECK_FALSE(db->find_product("ivo://test/backend?nothing"));
    CHECK(db->find_dataproduct_type("ivo://test/backend?obs105") == "cube");
    CHECK(db->find_did_by_obs_id("obs105") == "ivo://test/backend?obs105");
    CHECK_FALSE(db->find_did_by_obs_id("obs999"));

    // a full scan costs the table's rows, a unique-index look-up 1
    CHECK(prepare(*db, "SELECT obs_id FROM ivoa.obscore")->estimate_cost() == Approx(kRows));
    CHECK(prepare(*db, "SELECT o.obs_id FROM ivoa.obscore AS o WHERE o.obs_publisher_did = 'x'")->estimate_cost() ==
          Approx(1));
    CHECK(prepare(*db, kCrossJoin)->estimate_cost() == Approx(double(kRows) * kRows * kRows));
}

TEST_CASE("backend: errors the query causes are client errors", "[backend]") {
    BackendLimits limits;
    limits.max_cell_bytes = 1000;
    auto db = open_query_backend(backend_store("errors.sqlite"), limits);

    // ADQL errors come from the translation, before anything runs
    CHECK_THROWS_AS(db->translate("SELECT nothing FROM ivoa.obscore", {}), vo::adql::AdqlError);

    // a function refusing a value while the query runs
    const auto bad = error_of(*prepare(*db, "SELECT ivo_healpix_index(30, s_ra, s_dec) FROM ivoa.obscore"));
    REQUIRE(bad);
    CHECK(bad->client_error());
    CHECK_THAT(bad->what(), Catch::Contains("order must be in 0..29"));

    // a value beyond BackendLimits::max_cell_bytes
    const std::string half(600, 'x');
    const auto big = error_of(*prepare(*db, "SELECT TOP 1 '" + half + "' || '" + half + "' FROM ivoa.obscore"));
    REQUIRE(big);
    CHECK(big->client_error());
    CHECK_THAT(big->what(), Catch::Contains("limit of 1000 bytes per value (limits.max_cell_bytes)"));
    // the connection is usable afterwards
    auto fine = prepare(*db, "SELECT TOP 1 obs_id FROM ivoa.obscore ORDER BY obs_id");
    auto cursor = fine->execute({});
    CHECK(all_rows(*cursor, 1) == std::vector<std::vector<std::string>>{{"obs100"}});
}

TEST_CASE("backend: a cancelled or late query is stopped", "[backend]") {
    auto db = open_query_backend(backend_store("cancel.sqlite"));
    // an aggregate: its one row comes after all 64,000 combinations
    auto q = prepare(*db, "SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c");
    std::atomic<bool> cancel{true};

    SECTION("cancelled before the first row: a server error") {
        ExecuteControl control;
        control.cancel = &cancel;
        const auto e = error_of(*q, control);
        REQUIRE(e);
        CHECK_FALSE(e->client_error());
        CHECK(std::string(e->what()) == "query interrupted (the client went away)");
    }
    SECTION("cancelled while streaming") {
        cancel = false;
        ExecuteControl control;
        control.cancel = &cancel;
        auto join = prepare(*db, kCrossJoin);  // no sort: the first row comes at once
        auto cursor = join->execute(control);
        REQUIRE(cursor->next());
        cancel = true;
        long rows = 1;
        CHECK_THROWS_AS(
            [&] {
                while (cursor->next()) ++rows;
            }(),
            QueryError);
        CHECK(rows < long(kRows) * kRows * kRows);
    }
    SECTION("past the deadline: a client error naming the limit") {
        ExecuteControl control;
        control.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        control.deadline_reason = "the 60 s test limit";
        const auto e = error_of(*q, control);
        REQUIRE(e);
        CHECK(e->client_error());
        CHECK_THAT(e->what(), Catch::StartsWith("query stopped: it ran longer than the 60 s test limit"));
    }
    SECTION("no first row in time") {
        ExecuteControl control;
        control.first_row_by = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        CHECK_THROWS_AS(q->execute(control), FirstRowExpired);
    }
    // whatever stopped the run, the prepared query runs again
    auto count = prepare(*db, "SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b");
    auto cursor = count->execute({});
    REQUIRE(cursor->next());
    CHECK(cursor->cell(0).integer == kRows * kRows);
}

TEST_CASE("backend: an upload table is TAP_UPLOAD.<name> while it lives", "[backend][upload]") {
    auto db = open_query_backend(backend_store("upload.sqlite"));
    const std::size_t published = db->catalog().tables().size();
    const std::string adql =
        "SELECT u.name, o.obs_id FROM TAP_UPLOAD.mine AS u JOIN ivoa.obscore AS o ON o.obs_id = u.name ORDER BY u.x";
    {
        vo::adql::ColumnInfo name, x;
        name.name = "name";
        name.datatype = "char";
        name.arraysize = "*";
        x.name = "x";
        x.datatype = "double";
        auto table = db->add_upload_table("mine", {name, x});
        for (const auto& [n, v] :
             std::vector<std::pair<std::string, double>>{{"obs107", 2.0}, {"obs103", 1.0}, {"zzz", 3.0}}) {
            Cell a, b;
            a.kind = Cell::Kind::text;
            a.text = n;
            b.kind = Cell::Kind::real;
            b.real = v;
            table->insert({a, b});
        }
        table->finish();
        CHECK(table->rows() == 3);
        CHECK(table->info().schema == kUploadSchema);
        CHECK(db->catalog().tables().size() == published + 1);

        auto q = prepare(*db, adql);
        auto cursor = q->execute({});
        CHECK(all_rows(*cursor, 2) ==
              std::vector<std::vector<std::string>>{{"obs103", "obs103"}, {"obs107", "obs107"}});
    }
    // gone with its handle: neither in the catalogue nor queryable
    CHECK(db->catalog().tables().size() == published);
    CHECK_THROWS_AS(db->translate(adql, {}), vo::adql::AdqlError);
    // and the store itself was never written
    CHECK(db->collection_counts().size() == 2);
}

TEST_CASE("backend: an ingest is seen after refresh_if_changed", "[backend]") {
    const std::string path = backend_store("refresh.sqlite");
    auto db = open_query_backend(path);
    CHECK_FALSE(db->refresh_if_changed());
    {
        auto w = Store::open_for_write(path);
        auto r = row(kRows);
        r.obs_collection = "new";
        w->upsert(r, ProductFile{"/data/new.fits", 1, 1, {0}});
    }
    CHECK(db->refresh_if_changed());
    CHECK_FALSE(db->refresh_if_changed());
    CHECK(db->collection_counts().at("new") == 1);
    CHECK(db->find_did_by_obs_id(row(kRows).obs_id));
}

TEST_CASE("backend: open_query_backend opens store files and postgresql:// URLs", "[backend]") {
    try {
        open_query_backend("mysql://reader:secret@db.example/archive");
        FAIL("opened");
    } catch (const StoreError& e) {
        CHECK_THAT(e.what(), Catch::Contains("mysql://") && Catch::Contains("SQLite store file"));
        CHECK_THAT(e.what(), !Catch::Contains("secret"));  // the URL may hold a password
    }
    // a PostgreSQL store that cannot be reached: named, password hidden
    try {
        open_query_backend("postgresql://reader:secret@127.0.0.1:1/archive?connect_timeout=5");
        FAIL("opened");
    } catch (const StoreError& e) {
        CHECK_THAT(e.what(), Catch::Contains("cannot connect to the PostgreSQL store postgresql://reader@127.0.0.1:1"));
        CHECK_THAT(e.what(), !Catch::Contains("secret"));
    }
    CHECK_THROWS_AS(open_query_backend(""), StoreError);
    CHECK_THROWS_AS(open_query_backend("/nonexistent/voserver/store.sqlite"), StoreError);
}
