// The PostgreSQL dialect's spatial pre-filter (issue 11 item 2;
// adql/dialect_postgres.cpp): conjuncts CONTAINS/INTERSECTS/DISTANCE (ADQL
// 2.1 section 4.2) on ivoa.obscore's position or footprint with a shape that
// does not depend on the row get a test of the pgSphere companion columns
// (obscore/pg_store.hpp) AND-ed to the exact one; anything else gets none.
// The results are checked on a database by tests/integration/test_pg_spatial.py.
#include <catch2/catch.hpp>

#include <string>

#include "adql/adql.hpp"
#include "adql/dialect.hpp"
#include "test_catalog.hpp"

using namespace vo::adql;

namespace {

using test::col;

/// ivoa.obscore with a position, a footprint and (unless `indexed` is
/// false) the companion columns a PostgreSQL store reports; tap_upload.t for joins.
class PgObscore : public Catalog {
public:
    explicit PgObscore(bool indexed = true) {
        TableInfo t;
        t.schema = "ivoa";
        t.name = "obscore";
        t.physical = "ivoa.obscore";
        t.columns = {col("obs_id", "char", "*"), col("s_ra", "double"), col("s_dec", "double"),
                     col("calib_level", "int"), col("s_region", "char", "*", "adql:REGION")};
        if (indexed) {
            SpatialIndexInfo si;
            si.ra = "s_ra";
            si.dec = "s_dec";
            si.region = "s_region";
            si.point_column = "voserver_s_point";
            si.region_column = "voserver_s_region";
            t.spatial_index = si;
        }
        tables_.push_back(t);
        TableInfo u;
        u.schema = "TAP_UPLOAD";
        u.name = "t";
        u.physical = "tap_upload.t";
        u.columns = {col("ra", "double"), col("dec", "double")};
        tables_.push_back(u);
    }
    const std::vector<TableInfo>& tables() const override { return tables_; }

private:
    std::vector<TableInfo> tables_;
};

std::string pg(const std::string& where, bool indexed = true) {
    PgObscore cat(indexed);
    return translate("SELECT obs_id FROM ivoa.obscore WHERE " + where, cat, postgres_dialect()).sql;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

const std::string kPoint = "\"voserver_s_point\" <@ voserver_bound(";
const std::string kCircle = "\"voserver_s_point\" <@ voserver_bound_circle(";
const std::string kRegion = "\"voserver_s_region\" && voserver_bound(";
const std::string kUnbounded = "\"voserver_s_region\" IS NULL AND ";

}  // namespace

TEST_CASE("pg spatial: cone searches on the position get the spoint pre-filter", "[adql][pg_spatial]") {
    for (const char* w : {"CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5)) = 1",
                          "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 359.9, -89.5, 2))",
                          "INTERSECTS(CIRCLE(10, 20, 0.5), POINT(s_ra, s_dec)) = 1",
                          "CONTAINS(POINT(s_ra, s_dec), POLYGON(10, 20, 11, 20, 11, 21)) = 1",
                          "CONTAINS(POINT(s_ra, s_dec), BOX(10, 20, 1, 1)) = 1",
                          "CONTAINS(POINT(s_ra, s_dec), RANGE_S2D(350, 10, -5, 5)) = 1"}) {
        INFO(w);
        const std::string sql = pg(w);
        INFO(sql);
        CHECK(count(sql, kPoint) == 1);
        // the whole filter: no bound (NULL) filters nothing
        CHECK(sql.find("IS NULL OR \"t1\".\"voserver_s_point\" <@ voserver_bound(") != std::string::npos);
        CHECK(sql.find("voserver_s_region") == std::string::npos);
    }
    // AND-ed with other conditions, in parentheses, and twice
    const std::string sql =
        pg("calib_level = 2 AND (obs_id LIKE 'a%' AND CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5)) = 1) AND "
           "INTERSECTS(s_region, CIRCLE(10, 20, 1)) = 1");
    CHECK(count(sql, kPoint) == 1);
    CHECK(count(sql, kRegion) == 1);
}

TEST_CASE("pg spatial: a circle by centre and radius around the position", "[adql][pg_spatial]") {
    for (const char* w :
         {"DISTANCE(POINT(s_ra, s_dec), POINT(10, 20)) < 0.5", "DISTANCE(10, 20, s_ra, s_dec) <= 0.5",
          "0.5 > DISTANCE(POINT(10, 20), POINT(s_ra, s_dec))", "CONTAINS(POINT(10, 20), CIRCLE(s_ra, s_dec, 0.5)) = 1",
          "INTERSECTS(CIRCLE(POINT(s_ra, s_dec), 0.5), POINT(10, 20)) = 1"}) {
        INFO(w);
        const std::string sql = pg(w);
        CHECK(count(sql, kCircle) == 1);
        CHECK(sql.find("greatest(") != std::string::npos);
    }
}

TEST_CASE("pg spatial: footprint predicates get the bounding-circle pre-filter", "[adql][pg_spatial]") {
    for (const char* w :
         {"INTERSECTS(s_region, CIRCLE(10, 20, 0.5)) = 1", "INTERSECTS(POLYGON(10, 20, 11, 20, 11, 21), s_region) = 1",
          "CONTAINS(s_region, POINT(10, 20)) = 1", "CONTAINS(CIRCLE(10, 20, 3), s_region) = 1",
          "1 = INTERSECTS(s_region, REGION('Circle ICRS 0.1 89.9 1'))"}) {
        INFO(w);
        const std::string sql = pg(w);
        CHECK(count(sql, kRegion) == 1);
        // footprints without a bound are kept
        CHECK(count(sql, kUnbounded) == 1);
        CHECK(sql.find("\"t1\".\"s_region\" IS NOT NULL") != std::string::npos);
    }
}

TEST_CASE("pg spatial: no pre-filter where it could drop a true row", "[adql][pg_spatial]") {
    for (const char* w :
         {// OR-ed, negated, = 0
          "CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5)) = 1 OR calib_level = 2",
          "NOT (INTERSECTS(s_region, CIRCLE(10, 20, 0.5)) = 1)",
          "CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5)) = 0", "INTERSECTS(s_region, CIRCLE(10, 20, 0.5)) <> 1",
          // shapes that depend on the row
          "CONTAINS(POINT(s_ra, s_dec), CIRCLE(s_ra, 20, 0.5)) = 1", "INTERSECTS(s_region, CIRCLE(s_ra, s_dec, 1)) = 1",
          "CONTAINS(POINT(10, 20), CIRCLE(s_ra, s_dec, calib_level)) = 1",
          "DISTANCE(POINT(s_ra, s_dec), POINT(10, 20)) < s_ra",
          // not the indexed pair; DISTANCE bounded from below
          "CONTAINS(POINT(s_dec, s_ra), CIRCLE(10, 20, 0.5)) = 1", "DISTANCE(POINT(s_ra, s_dec), POINT(10, 20)) > 0.5",
          // CONTAINS(shape, point) is not "the point in the shape"
          "CONTAINS(CIRCLE(10, 20, 0.5), POINT(s_ra, s_dec)) = 1"}) {
        INFO(w);
        CHECK(pg(w).find("voserver_") == std::string::npos);
    }
    // a table without the companion columns
    CHECK(pg("CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5)) = 1", false).find("voserver_") == std::string::npos);
    // the SQLite dialect does not read them (no S2 cell table here)
    PgObscore cat;
    CHECK(
        translate_sqlite("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(1, 2, 3)) = 1", cat)
            .sql.find("rowid IN") == std::string::npos);
}

TEST_CASE("pg spatial: joins, subqueries and SELECT *", "[adql][pg_spatial]") {
    PgObscore cat;
    // the companion columns are not published: SELECT * lists the catalogue's columns
    const std::string star = translate("SELECT * FROM ivoa.obscore", cat, postgres_dialect()).sql;
    CHECK(star.find("voserver_") == std::string::npos);
    CHECK(star.find("\"s_region\"") != std::string::npos);
    // in ON and in a subquery's WHERE
    const std::string on = translate(
                               "SELECT o.obs_id FROM TAP_UPLOAD.t AS u JOIN ivoa.obscore AS o ON "
                               "CONTAINS(POINT(o.s_ra, o.s_dec), CIRCLE(u.ra, u.dec, 0.01)) = 1",
                               cat, postgres_dialect())
                               .sql;
    INFO(on);
    CHECK(count(on, kPoint) == 1);
    const std::string sub = translate(
                                "SELECT n FROM (SELECT COUNT(*) AS n FROM ivoa.obscore AS x WHERE "
                                "INTERSECTS(x.s_region, CIRCLE(10, 20, 1)) = 1) AS q",
                                cat, postgres_dialect())
                                .sql;
    CHECK(count(sub, kRegion) == 1);
    // a derived table is not the indexed table
    CHECK(translate("SELECT q.obs_id FROM (SELECT * FROM ivoa.obscore) AS q WHERE "
                    "CONTAINS(POINT(q.s_ra, q.s_dec), CIRCLE(10, 20, 1)) = 1",
                    cat, postgres_dialect())
              .sql.find("voserver_") == std::string::npos);
}
