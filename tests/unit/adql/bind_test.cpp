// The bind stage alone (issue 8 item 1): names resolved to catalogue columns,
// expressions typed, result column metadata, every error class with its
// message and position; no database involved.
#include <catch2/catch.hpp>

#include <string>

#include "adql/bind.hpp"
#include "adql/parser.hpp"
#include "test_catalog.hpp"

using namespace vo::adql;
using bound::Expr;
using BK = bound::Expr::Kind;

namespace {

bound::Statement bind_text(const std::string& q) {
    static const test::Obscore cat;
    ParseOptions po;
    po.udfs = builtin_udfs();
    return bind(parse(q, po), cat);
}

AdqlError bind_error(const std::string& q) {
    try {
        bind_text(q);
    } catch (const AdqlError& e) {
        return e;
    }
    FAIL("no error for " << q);
    return AdqlError(AdqlError::Kind::Syntax, "");
}

const bound::Select& body(const bound::Statement& st) { return *st.body->select; }

}  // namespace

TEST_CASE("bind: columns resolve to one range and one catalogue column", "[adql][bind]") {
    auto st = bind_text("SELECT o.S_RA, \"obs_id\" FROM ivoa.ObsCore AS o WHERE calib_level = 2");
    const auto& sel = body(st);
    REQUIRE(sel.from.size() == 1);
    const auto& range = *sel.from[0]->range;
    CHECK(range.kind == bound::Range::Kind::Table);
    CHECK(range.table->name == "obscore");
    REQUIRE(sel.items.size() == 2);
    const Expr& ra = *sel.items[0].expr;
    CHECK(ra.kind == BK::Column);
    CHECK(ra.range.get() == &range);
    CHECK(ra.column_name == "s_ra");
    CHECK(ra.type == bound::Type::Double);
    // the output name is the catalogue's spelling of a regular identifier? no: as written
    CHECK(sel.items[0].name == "S_RA");
    CHECK(sel.items[1].name == "obs_id");
    const Expr& where = *sel.where;
    CHECK(where.kind == BK::Compare);
    CHECK(where.type == bound::Type::Bool);
    CHECK(where.args[0]->column_name == "calib_level");
    CHECK(where.args[0]->type == bound::Type::Integer);
}

TEST_CASE("bind: result column metadata", "[adql][bind]") {
    auto st = bind_text(
        "SELECT COUNT(*) AS n, AVG(s_ra), MAX(obs_id), POINT(s_ra, 1) AS p, DISTANCE(POINT(s_ra, 0), POINT(1, 1)), "
        "CAST(calib_level AS SMALLINT), s_ra + calib_level, calib_level * 2, s_region, obs_id "
        "FROM ivoa.obscore GROUP BY s_ra, calib_level, s_region, obs_id");
    REQUIRE(st.columns.size() == 10);
    CHECK(st.columns[0].name == "n");
    CHECK(st.columns[0].datatype == "long");
    CHECK(st.columns[0].ucd == "meta.number");
    CHECK(st.columns[1].datatype == "double");
    CHECK(st.columns[2].datatype == "char");
    CHECK(st.columns[2].arraysize == "*");
    CHECK(st.columns[3].xtype == "point");
    CHECK(st.columns[3].arraysize == "2");
    CHECK(st.columns[3].unit == "deg");
    CHECK(st.columns[4].unit == "deg");
    CHECK(st.columns[4].ucd == "pos.angDistance");
    CHECK(st.columns[5].datatype == "short");
    CHECK(st.columns[6].datatype == "double");
    CHECK(st.columns[7].datatype == "long");
    CHECK(st.columns[8].xtype == "adql:REGION");
    // duplicate output names get a suffix
    auto dup = bind_text("SELECT s_ra, s_ra FROM ivoa.obscore");
    CHECK(dup.columns[0].name == "s_ra");
    CHECK(dup.columns[1].name == "s_ra_2");
}

TEST_CASE("bind: REGION and IN_UNIT are resolved at bind time", "[adql][bind]") {
    auto st = bind_text(
        "SELECT IN_UNIT(DEGREES(s_ra), 'arcsec') FROM ivoa.obscore WHERE "
        "1 = CONTAINS(POINT(s_ra, 0), REGION('Circle ICRS 10 20 0.5'))");
    const Expr& conv = *body(st).items[0].expr;
    CHECK(conv.kind == BK::Binary);
    CHECK(conv.op == "*");
    CHECK(conv.args[1]->kind == BK::Literal);
    CHECK(std::stod(conv.args[1]->text) == Approx(3600.0));
    const Expr& contains = *body(st).where->args[1];
    REQUIRE(contains.kind == BK::Function);
    const Expr& circle = *contains.args[1];
    CHECK(circle.name == "CIRCLE");
    REQUIRE(circle.args.size() == 3);
    CHECK(std::stod(circle.args[2]->text) == Approx(0.5));
}

TEST_CASE("bind: joins, derived tables and WITH", "[adql][bind]") {
    auto st = bind_text(
        "WITH w AS (SELECT obs_id AS id, s_ra FROM ivoa.obscore) "
        "SELECT w.id, q.s_ra FROM w JOIN (SELECT obs_id, s_ra FROM ivoa.obscore) AS q ON w.id = q.obs_id");
    REQUIRE(st.with.size() == 1);
    CHECK(st.with[0].name == "w");
    const auto& join = *body(st).from[0];
    REQUIRE(join.kind == bound::FromItem::Kind::Join);
    CHECK(join.left->range->kind == bound::Range::Kind::Cte);
    CHECK(join.right->range->kind == bound::Range::Kind::Derived);
    CHECK(join.explicit_on);
    CHECK(body(st).items[0].expr->range.get() == join.left->range.get());
    CHECK(body(st).items[1].expr->range.get() == join.right->range.get());
    // NATURAL join: one merged column, the equality built by the binder
    auto nat = bind_text("SELECT obs_id FROM ivoa.obscore AS a NATURAL JOIN ivoa.obscore AS b");
    const auto& nj = *body(nat).from[0];
    CHECK_FALSE(nj.explicit_on);
    REQUIRE(nj.on);
    CHECK(nat.columns.size() == 1);
}

TEST_CASE("bind: errors name the problem and its position", "[adql][bind]") {
    auto unknown = bind_error("SELECT s_raa FROM ivoa.obscore");
    CHECK(unknown.kind() == AdqlError::Kind::UnknownName);
    CHECK_THAT(unknown.what(), Catch::Contains("unknown column s_raa") && Catch::Contains("did you mean s_ra"));
    CHECK(unknown.line() == 1);
    CHECK(unknown.column() == 8);

    auto table = bind_error("SELECT * FROM ivoa.obscor");
    CHECK(table.kind() == AdqlError::Kind::UnknownName);
    CHECK_THAT(table.what(), Catch::Contains("unknown table ivoa.obscor") && Catch::Contains("ivoa.obscore"));

    auto ambiguous = bind_error("SELECT obs_id FROM ivoa.obscore AS a, ivoa.obscore AS b");
    CHECK_THAT(ambiguous.what(), Catch::Contains("ambiguous column name obs_id"));

    auto type = bind_error("SELECT obs_id FROM ivoa.obscore\nWHERE obs_id > 3");
    CHECK(type.kind() == AdqlError::Kind::Type);
    CHECK(type.line() == 2);
    CHECK_THAT(type.what(), Catch::Contains("cannot compare a character string with an integer"));

    auto group = bind_error("SELECT obs_id, COUNT(*) FROM ivoa.obscore");
    CHECK(group.kind() == AdqlError::Kind::Type);
    CHECK_THAT(group.what(), Catch::Contains("obs_id in the select list must appear in GROUP BY"));

    auto having = bind_error("SELECT COUNT(*) FROM ivoa.obscore HAVING obs_id = 'x'");
    CHECK_THAT(having.what(), Catch::Contains("obs_id in HAVING must appear in GROUP BY"));

    auto frame = bind_error("SELECT POINT('GALACTIC', s_ra, 0) FROM ivoa.obscore");
    CHECK(frame.kind() == AdqlError::Kind::Unsupported);
    CHECK_THAT(frame.what(), Catch::Contains("coordinate system 'GALACTIC'"));

    auto geom = bind_error("SELECT CONTAINS(s_ra, CIRCLE(1, 2, 3)) FROM ivoa.obscore");
    CHECK_THAT(geom.what(), Catch::Contains("argument 1 of CONTAINS must be a geometry"));

    auto setop = bind_error("SELECT obs_id FROM ivoa.obscore UNION SELECT obs_id, s_ra FROM ivoa.obscore");
    CHECK_THAT(setop.what(), Catch::Contains("different numbers of columns (1 and 2)"));
}

TEST_CASE("bind: grouped expressions and aliases", "[adql][bind]") {
    // an expression of the GROUP BY list may be selected whole or inside another
    CHECK_NOTHROW(bind_text("SELECT calib_level + 1, COUNT(*) FROM ivoa.obscore GROUP BY calib_level + 1"));
    CHECK_NOTHROW(bind_text("SELECT calib_level AS c, COUNT(*) AS n FROM ivoa.obscore GROUP BY c HAVING n > 1"));
    CHECK_NOTHROW(bind_text("SELECT (calib_level) * 2 FROM ivoa.obscore GROUP BY calib_level"));
    auto st = bind_text("SELECT calib_level AS c FROM ivoa.obscore GROUP BY c ORDER BY c DESC");
    // the alias is the same node as the select-list expression
    CHECK(st.body->order_by[0].expr == body(st).items[0].expr);
    CHECK(st.body->order_by[0].desc);
}
