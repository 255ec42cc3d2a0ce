// The bind stage alone (issue 8 item 1): names resolved to catalogue columns,
// expressions typed, result column metadata, every error class with its
// message and position; no database involved.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adql/bind.hpp"
#include "adql/functions.hpp"
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

/// ivoa.obscore with units and UCDs on some columns, for the function tests:
/// obs_id (char*), s_ra (double, deg, pos.eq.ra), em_min (double, m),
/// t_xel (long), s_region (adql:REGION), footprint (a DALI circle).
class UnitCatalog : public Catalog {
public:
    UnitCatalog() {
        TableInfo t;
        t.schema = "ivoa";
        t.name = t.physical = "obscore";
        ColumnInfo ra = test::col("s_ra", "double"), em = test::col("em_min", "double");
        ra.unit = "deg";
        ra.ucd = "pos.eq.ra";
        em.unit = "m";
        em.ucd = "em.wl;stat.min";
        t.columns = {test::col("obs_id", "char", "*"),
                     ra,
                     em,
                     test::col("t_xel", "long"),
                     test::col("s_region", "char", "*", "adql:REGION"),
                     test::col("footprint", "double", "3", "circle")};
        tables_.push_back(t);
    }
    const std::vector<TableInfo>& tables() const override { return tables_; }

private:
    std::vector<TableInfo> tables_;
};

bound::Statement bind_units(const std::string& q) {
    static const UnitCatalog cat;
    return bind(parse(q, ParseOptions{}), cat);
}

/// The error of binding `q` over UnitCatalog.
AdqlError bind_units_error(const std::string& q) {
    try {
        bind_units(q);
    } catch (const AdqlError& e) {
        return e;
    }
    FAIL("no error for " << q);
    return AdqlError(AdqlError::Kind::Syntax, "");
}

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

TEST_CASE("bind: function result types, units and UCDs come from the catalogue", "[adql][bind][functions]") {
    auto st = bind_units(
        "SELECT DEGREES(s_ra), RADIANS(s_ra), ABS(t_xel), ABS(em_min), MOD(t_xel, 2), MOD(t_xel, em_min), "
        "ROUND(em_min, 2), FLOOR(em_min), SIN(s_ra), LOWER(obs_id), AREA(s_region), COORD1(POINT(s_ra, 0)), "
        "COORD2(CENTROID(s_region)), DISTANCE(POINT(s_ra, 0), POINT(1, 1)), CONTAINS(POINT(s_ra, 0), s_region) "
        "FROM ivoa.obscore");
    REQUIRE(st.columns.size() == 15);
    const auto& items = body(st).items;
    auto type = [&](std::size_t i) { return items.at(i).expr->type; };
    // DEGREES: a double in deg, whatever the unit of its argument
    CHECK(type(0) == bound::Type::Double);
    CHECK(st.columns[0].datatype == "double");
    CHECK(st.columns[0].unit == find_function("DEGREES")->unit);
    CHECK(st.columns[0].unit == "deg");
    CHECK(st.columns[1].unit == "rad");
    // ABS keeps its argument's type and unit; MOD is an integer of integers
    CHECK(type(2) == bound::Type::Integer);
    CHECK(st.columns[2].datatype == "long");
    CHECK(type(3) == bound::Type::Double);
    CHECK(st.columns[3].unit == "m");
    CHECK(type(4) == bound::Type::Integer);
    CHECK(type(5) == bound::Type::Double);
    CHECK(st.columns[5].unit.empty());
    // ROUND and FLOOR keep the unit, SIN has none
    CHECK(type(6) == bound::Type::Double);
    CHECK(st.columns[6].unit == "m");
    CHECK(st.columns[7].unit == "m");
    CHECK(st.columns[8].unit.empty());
    CHECK(type(9) == bound::Type::String);
    CHECK(st.columns[9].arraysize == "*");
    // geometry: AREA, COORD1/COORD2, DISTANCE, CONTAINS
    CHECK(st.columns[10].unit == "deg**2");
    CHECK(st.columns[10].ucd == "phys.angArea");
    CHECK(st.columns[11].unit == "deg");
    CHECK(st.columns[11].ucd == "pos.eq.ra");
    CHECK(st.columns[12].ucd == "pos.eq.dec");
    CHECK(st.columns[13].unit == "deg");
    CHECK(st.columns[13].ucd == "pos.angDistance");
    CHECK(type(14) == bound::Type::Integer);
    CHECK(st.columns[14].datatype == "int");
    // aggregates
    auto agg = bind_units("SELECT SUM(t_xel), AVG(em_min), MAX(s_ra), COUNT(*) FROM ivoa.obscore");
    CHECK(body(agg).items[0].expr->type == bound::Type::Integer);
    CHECK(agg.columns[1].unit == "m");
    CHECK(agg.columns[1].ucd == "stat.mean;em.wl;stat.min");
    CHECK(agg.columns[2].unit == "deg");
    CHECK(agg.columns[2].ucd == "stat.max;pos.eq.ra");
    CHECK(agg.columns[3].ucd == find_function("COUNT")->ucd);
}

TEST_CASE("bind: function arguments are checked by their declared kind", "[adql][bind][functions]") {
    auto sin = bind_units_error("SELECT SIN(obs_id) FROM ivoa.obscore");
    CHECK(sin.kind() == AdqlError::Kind::Type);
    CHECK(sin.column() == 12);  // at the argument
    CHECK_THAT(sin.what(), Catch::Contains("argument 1 of SIN must be numeric, found a character string"));
    auto power = bind_units_error("SELECT POWER(2, obs_id) FROM ivoa.obscore");
    CHECK_THAT(power.what(), Catch::Contains("argument 2 of POWER must be numeric"));
    auto lower = bind_units_error("SELECT LOWER(s_region) FROM ivoa.obscore");
    CHECK(lower.kind() == AdqlError::Kind::Type);
    CHECK_THAT(lower.what(), Catch::Contains("LOWER of a geometry"));
    auto coord = bind_units_error("SELECT COORD1(footprint) FROM ivoa.obscore");
    CHECK_THAT(coord.what(), Catch::Contains("argument 1 of COORD1 must be a point, found a circle"));
    auto area = bind_units_error("SELECT AREA(s_ra) FROM ivoa.obscore");
    CHECK_THAT(area.what(), Catch::Contains("argument 1 of AREA must be a geometry"));
    auto avg = bind_units_error("SELECT AVG(obs_id) FROM ivoa.obscore");
    CHECK_THAT(avg.what(), Catch::Contains("the argument of AVG must be numeric"));
}

// Every entry of the catalogue whose result is declared (not Result::Special)
// is bound with its fewest and its most arguments of the declared kind (a
// sample call for the functions checked form by form), and the result must
// be the declared type with the declared unit, UCD and datatype; an argument
// of another kind must be refused.
TEST_CASE("bind: every catalogue function binds as the catalogue declares it", "[adql][bind][functions]") {
    // functions with forms of their own (ArgKind::Special): one call each
    const std::map<std::string_view, std::string> forms = {
        {"POINT", "POINT(1, 2)"},
        {"CIRCLE", "CIRCLE(POINT(1, 2), 3)"},
        {"POLYGON", "POLYGON(1, 2, 3, 4, 5, 6)"},
        {"BOX", "BOX(1, 2, 3, 4)"},
        {"DISTANCE", "DISTANCE(POINT(1, 2), POINT(3, 4))"},
        {"IN_UNIT", "IN_UNIT(em_min, 'nm')"},
    };
    // an argument of each kind (a number: a column with a unit first, then
    // integer literals, which every numeric form accepts), and one of another
    // kind that must be refused
    auto arg = [](ArgKind k, int i, bool integers) -> std::string {
        switch (k) {
            case ArgKind::Numeric: return i > 0 ? "2" : integers ? "t_xel" : "em_min";
            case ArgKind::String: return "obs_id";
            case ArgKind::Geometry: return "CIRCLE(1, 2, 3)";
            case ArgKind::Point: return "POINT(1, 2)";
            default: return "em_min";
        }
    };
    auto wrong = [](ArgKind k) -> std::string {
        switch (k) {
            case ArgKind::Numeric: return "obs_id";
            case ArgKind::String: return "s_region";
            case ArgKind::Geometry: return "em_min";
            case ArgKind::Point: return "footprint";
            default: return "";
        }
    };
    int checked = 0;
    for (const FunctionEntry& f : functions()) {
        if (f.result == Result::Special) continue;
        std::vector<std::string> calls;
        std::string name(f.name);
        if (f.args == ArgKind::Special) {
            auto it = forms.find(f.name);
            INFO(name << " has forms of its own but no sample call in this test");
            REQUIRE(it != forms.end());
            calls.push_back(it->second);
        } else {
            for (int n : {f.min_args, std::min(f.max_args, 4)}) {
                if (n == 0 && f.aggregate) {
                    calls.push_back(name + "(*)");
                    continue;
                }
                if (name == "RAND" && n == 1) {  // the parser takes an unsigned integer literal only
                    calls.push_back("RAND(7)");
                    continue;
                }
                for (bool integers : {false, true}) {
                    std::string c = name + "(";
                    for (int i = 0; i < n; ++i) c += (i ? ", " : "") + arg(f.args, i, integers);
                    calls.push_back(c + ")");
                }
            }
            if (f.min_args > 0 && f.args != ArgKind::Any) {
                std::string bad = name + "(" + wrong(f.args);
                for (int i = 1; i < f.min_args; ++i) bad += ", " + arg(f.args, i, false);
                bad += ")";
                INFO(bad);
                auto err = bind_units_error("SELECT " + bad + " FROM ivoa.obscore");
                CHECK(err.kind() == AdqlError::Kind::Type);
            }
        }
        for (const std::string& call : calls) {
            INFO(call);
            auto st = bind_units("SELECT " + call + " FROM ivoa.obscore");
            const bound::Expr& e = *body(st).items.at(0).expr;
            const bound::Expr* first = e.args.empty() ? nullptr : e.args[0].get();
            const ColumnInfo& c = st.columns.at(0);
            switch (f.result) {
                case Result::Double: CHECK(e.type == bound::Type::Double); break;
                case Result::Integer: CHECK(e.type == bound::Type::Integer); break;
                case Result::IntegerIfAllIntegerArgs: {
                    bool ints = true;
                    for (auto& x : e.args) ints = ints && x->type == bound::Type::Integer;
                    CHECK(e.type == (ints ? bound::Type::Integer : bound::Type::Double));
                    break;
                }
                case Result::SameAsFirstArg:
                    REQUIRE(first);
                    CHECK(e.type == first->type);
                    CHECK(c.unit == first->info.unit);
                    break;
                case Result::String: CHECK(e.type == bound::Type::String); break;
                case Result::Point:
                case Result::Circle:
                case Result::Polygon: {
                    const char* shape = f.result == Result::Point    ? "point"
                                        : f.result == Result::Circle ? "circle"
                                                                     : "polygon";
                    CHECK(e.type == bound::Type::Geometry);
                    CHECK(e.geom == shape);
                    CHECK(c.xtype == shape);
                    break;
                }
                case Result::Special: break;
            }
            if (!f.unit.empty()) CHECK(c.unit == f.unit);
            if (f.unit_of_first_arg) {
                REQUIRE(first);
                CHECK(c.unit == first->info.unit);
            }
            if (!f.ucd.empty()) CHECK(c.ucd == f.ucd);
            if (!f.datatype.empty()) CHECK(c.datatype == f.datatype);
            ++checked;
        }
    }
    CHECK(checked > 80);
}
