// A store for the tests of issue 12 (proprietary data) and the queries they
// run on it, shared by the SQLite and PostgreSQL backend tests
// (tests/unit/obscore) and the QueryEngine tests (tests/unit/server), so
// that every store answers every query alike.
//
// Seven rows near (10.3, -30), each with a file:
//   p1  public  proposal P9  released 2020-01-01
//   p2  public  proposal P9  release  2031-06-01  (not yet released, metadata public)
//   s1  secret  proposal P8  released 2020-01-01
//   s2  secret  proposal P1  release  2031-06-01  (the caller's project)
//   s3  secret  proposal P2  release  2031-06-01
//   s4  secret  no proposal  release  2031-06-01
//   s5  secret  proposal P3  no release date      (public)
// The caller (caller()) may not see the protected collection "secret" but
// has project P1: at kBefore (2030) it sees p1 p2 s1 s2 s5, at kAfter (2032)
// every row. The table has a data_rights column (derive = "data_rights").
#pragma once

#include <catch2/catch.hpp>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "obscore/access.hpp"
#include "obscore/backend.hpp"
#include "obscore/clock.hpp"
#include "obscore/profile.hpp"
#include "obscore/store.hpp"

namespace vo::test_visibility {

using obscore::RowVisibility;

/// The archive's clock before and after the release of the 2031 rows.
inline std::time_t before() { return *obscore::parse_iso_utc("2030-01-01T00:00:00"); }
inline std::time_t after() { return *obscore::parse_iso_utc("2032-01-01T00:00:00"); }

/// The caller of most cases: "secret" protected, project P1.
inline RowVisibility caller() {
    RowVisibility v;
    v.protected_collections = {"secret"};
    v.projects = {"P1"};
    return v;
}

/// The extension column data_rights (char), with `derive = "data_rights"`
/// when `derived`.
inline obscore::ExtensionColumn data_rights_column(bool derived) {
    obscore::ExtensionColumn rights;
    rights.def.name = "data_rights";
    rights.def.adql_type = "VARCHAR";
    rights.def.datatype = "char";
    rights.def.arraysize = "*";
    rights.def.std = false;
    rights.data_rights = derived;
    return rights;
}

/// The store described above at `path` (replaced if it exists), written as
/// an ingest writes it (data_rights declared by the profile).
inline void build_store(const std::string& path) {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
    auto store = obscore::Store::open_for_write(path, obscore::column_defs({data_rights_column(true)}));
    struct Row {
        const char* id;
        const char* collection;
        const char* proposal;
        const char* release;
    };
    const Row rows[] = {{"p1", "public", "P9", "2020-01-01T00:00:00"},
                        {"p2", "public", "P9", "2031-06-01T00:00:00"},
                        {"s1", "secret", "P8", "2020-01-01T00:00:00"},
                        {"s2", "secret", "P1", "2031-06-01T00:00:00"},
                        {"s3", "secret", "P2", "2031-06-01T00:00:00"},
                        {"s4", "secret", nullptr, "2031-06-01T00:00:00"},
                        {"s5", "secret", "P3", nullptr}};
    store->begin();
    int i = 0;
    for (const Row& r : rows) {
        obscore::ObsCoreRecord rec;
        rec.dataproduct_type = "cube";
        rec.obs_collection = r.collection;
        rec.obs_id = r.id;
        rec.obs_publisher_did = std::string("ivo://test/vis?") + r.id;
        if (r.proposal) rec.proposal_id = r.proposal;
        if (r.release) rec.obs_release_date = r.release;
        const double ra = 10.0 + 0.1 * i++, dec = -30.0;
        rec.s_ra = ra;
        rec.s_dec = dec;
        rec.s_region = {
            {ra + 0.01, dec - 0.01}, {ra + 0.01, dec + 0.01}, {ra - 0.01, dec + 0.01}, {ra - 0.01, dec - 0.01}};
        rec.extra["data_rights"] = std::string("stale");  // what an ingest stored; queries compute it
        store->upsert(rec, obscore::ProductFile{std::string("/data/") + r.id + ".fits", 100, 1700000000, {0}});
    }
    store->commit();
}

/// A path for a test store of this process.
inline std::string temp_path(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("voserver-visibility-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

/// The rows of a query, each as its cells joined by '|' (NULL as "").
using Rows = std::vector<std::string>;

/// One query and the rows the caller gets at `before()` and at `after()`.
/// `upload`: the query reads TAP_UPLOAD.ids, one column obs_id (char) with
/// the rows p1, s1, s2, s3, s4, which the runner provides.
struct Case {
    const char* name;
    const char* adql;
    Rows at_before;
    Rows at_after;
    bool upload = false;
};

/// The rows of TAP_UPLOAD.ids of the upload case.
inline const std::vector<std::string>& upload_ids() {
    static const std::vector<std::string> ids = {"p1", "s1", "s2", "s3", "s4"};
    return ids;
}

inline const std::vector<Case>& cases() {
    static const Rows visible = {"p1", "p2", "s1", "s2", "s5"};
    static const Rows all = {"p1", "p2", "s1", "s2", "s3", "s4", "s5"};
    static const std::vector<Case> list = {
        {"plain", "SELECT obs_id FROM ivoa.obscore ORDER BY obs_id", visible, all},
        {"COUNT(*)", "SELECT COUNT(*) FROM ivoa.obscore", {"5"}, {"7"}},
        {"scalar subquery",
         "SELECT (SELECT COUNT(*) FROM ivoa.obscore AS o WHERE o.obs_collection = 'secret') AS n "
         "FROM TAP_SCHEMA.schemas AS s WHERE s.schema_name = 'ivoa'",
         {"3"},
         {"5"}},
        {"IN subquery",
         "SELECT s.schema_name FROM TAP_SCHEMA.schemas AS s WHERE s.schema_name = 'ivoa' AND 's3' IN "
         "(SELECT obs_id FROM ivoa.obscore)",
         {},
         {"ivoa"}},
        {"derived table", "SELECT COUNT(*) FROM (SELECT obs_id FROM ivoa.obscore) AS d", {"5"}, {"7"}},
        {"self join",
         "SELECT COUNT(*) FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.obs_collection = b.obs_collection",
         {"13"},
         {"29"}},
        {"left join",
         "SELECT a.obs_id, b.obs_id FROM ivoa.obscore AS a LEFT JOIN ivoa.obscore AS b ON b.obs_id = 's3' "
         "WHERE a.obs_id = 'p1'",
         {"p1|"},
         {"p1|s3"}},
        {"UNION",
         "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'secret' UNION "
         "SELECT obs_id FROM ivoa.obscore WHERE obs_id = 's3' ORDER BY obs_id",
         {"s1", "s2", "s5"},
         {"s1", "s2", "s3", "s4", "s5"}},
        {"INTERSECT",
         "SELECT obs_id FROM ivoa.obscore INTERSECT SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'secret' "
         "ORDER BY obs_id",
         {"s1", "s2", "s5"},
         {"s1", "s2", "s3", "s4", "s5"}},
        {"EXCEPT",
         "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'secret' EXCEPT "
         "SELECT obs_id FROM ivoa.obscore WHERE obs_id = 's1' ORDER BY obs_id",
         {"s2", "s5"},
         {"s2", "s3", "s4", "s5"}},
        {"WITH",
         "WITH s AS (SELECT obs_id, obs_collection FROM ivoa.obscore) "
         "SELECT obs_id FROM s WHERE obs_collection = 'secret' ORDER BY obs_id",
         {"s1", "s2", "s5"},
         {"s1", "s2", "s3", "s4", "s5"}},
        {"EXISTS",
         "SELECT s.schema_name FROM TAP_SCHEMA.schemas AS s WHERE s.schema_name = 'ivoa' AND "
         "EXISTS (SELECT * FROM ivoa.obscore AS o WHERE o.obs_id = 's4')",
         {},
         {"ivoa"}},
        {"cone CONTAINS",
         "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
         "CIRCLE('ICRS', 10.3, -30, 1)) = 1 ORDER BY obs_id",
         visible, all},
        {"cone INTERSECTS",
         "SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 10.3, -30, 1)) = 1 ORDER BY obs_id",
         visible, all},
        {"DISTANCE",
         "SELECT COUNT(*) FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(10.3, -30)) < 1",
         {"5"},
         {"7"}},
        {"data_rights",
         "SELECT obs_id, data_rights FROM ivoa.obscore ORDER BY obs_id",
         {"p1|Public", "p2|Proprietary", "s1|Public", "s2|Proprietary", "s5|Public"},
         {"p1|Public", "p2|Public", "s1|Public", "s2|Public", "s3|Public", "s4|Public", "s5|Public"}},
        {"data_rights in WHERE",
         "SELECT obs_id FROM ivoa.obscore WHERE data_rights = 'Proprietary' ORDER BY obs_id",
         {"p2", "s2"},
         {}},
        {"data_rights in GROUP BY and ORDER BY",
         "SELECT data_rights, COUNT(*) AS n FROM ivoa.obscore GROUP BY data_rights ORDER BY data_rights",
         {"Proprietary|2", "Public|3"},
         {"Public|7"}},
        {"data_rights through a derived table",
         "SELECT d.r FROM (SELECT data_rights AS r FROM ivoa.obscore WHERE obs_id = 'p2') AS d",
         {"Proprietary"},
         {"Public"}},
        {"TAP_UPLOAD join",
         "SELECT u.obs_id, o.data_rights FROM TAP_UPLOAD.ids AS u JOIN ivoa.obscore AS o ON o.obs_id = u.obs_id "
         "ORDER BY u.obs_id",
         {"p1|Public", "s1|Public", "s2|Proprietary"},
         {"p1|Public", "s1|Public", "s2|Public", "s3|Public", "s4|Public"},
         true},
    };
    return list;
}

/// Runs every case through `run` (query, visibility -> rows) at both times
/// for caller(), and checks that staff, a caller of another project and an
/// unprotected archive see what they should. Resets the clock at the end.
inline void check_cases(const std::function<Rows(const Case&, const RowVisibility&)>& run) {
    struct ClockReset {
        ~ClockReset() { obscore::set_archive_now_for_testing(std::nullopt); }
    } reset;
    for (const Case& c : cases()) {
        INFO("case: " << c.name << "\nADQL: " << c.adql);
        obscore::set_archive_now_for_testing(before());
        CHECK(run(c, caller()) == c.at_before);
        obscore::set_archive_now_for_testing(after());
        CHECK(run(c, caller()) == c.at_after);
    }
    obscore::set_archive_now_for_testing(before());
    const Case& plain = cases().front();
    const Rows all = {"p1", "p2", "s1", "s2", "s3", "s4", "s5"};
    RowVisibility staff = caller();
    staff.staff = true;
    CHECK(run(plain, staff) == all);
    CHECK(run(plain, RowVisibility{}) == all);
    RowVisibility other = caller();
    other.projects = {"P2"};
    CHECK(run(plain, other) == Rows{"p1", "p2", "s1", "s3", "s5"});
    RowVisibility none = caller();
    none.projects.clear();
    CHECK(run(plain, none) == Rows{"p1", "p2", "s1", "s5"});
    CHECK(run(plain, caller()) == cases().front().at_before);  // after the others: nothing shared
}

/// The cells of one row of `cursor` joined by '|' (NULL as "").
inline std::string joined_row(const obscore::ResultCursor& cursor) {
    std::string line;
    for (std::size_t i = 0; i < cursor.columns(); ++i) {
        const obscore::Cell& c = cursor.cell(i);
        if (i) line += '|';
        if (c.kind == obscore::Cell::Kind::integer) line += std::to_string(c.integer);
        if (c.kind == obscore::Cell::Kind::real) line += std::to_string(c.real);
        if (c.kind == obscore::Cell::Kind::text) line += c.text;
    }
    return line;
}

/// A runner for check_cases() straight on a QueryBackend: the query
/// translated with the backend's row filters for the visibility, prepared
/// and run; TAP_UPLOAD.ids created on the backend for the upload case.
inline std::function<Rows(const Case&, const RowVisibility&)> backend_runner(obscore::QueryBackend& db) {
    return [&db](const Case& c, const RowVisibility& v) {
        std::unique_ptr<obscore::RequestTable> ids;
        if (c.upload) {
            adql::ColumnInfo obs_id;
            obs_id.name = "obs_id";
            obs_id.datatype = "char";
            obs_id.arraysize = "*";
            ids = db.add_upload_table("ids", {obs_id});
            for (const auto& id : upload_ids()) {
                obscore::Cell cell;
                cell.kind = obscore::Cell::Kind::text;
                cell.text = id;
                ids->insert({cell});
            }
            ids->finish();
        }
        adql::TranslateOptions options;
        options.row_filters = db.row_filters(v);
        auto q = db.prepare(db.translate(c.adql, options));
        auto cursor = q->execute({});
        Rows rows;
        while (cursor->next()) rows.push_back(joined_row(*cursor));
        return rows;
    };
}

}  // namespace vo::test_visibility
