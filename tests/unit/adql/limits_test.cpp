// Regression tests of issue 7 item 1: a query whose shape a client controls
// (a long chain of one operator, thousands of set operations, hundreds of
// thousands of terms) ends with a clean AdqlError naming the limit, never a
// stack overflow in the parser, the AST's destruction or the translator.
#include <catch2/catch.hpp>

#include <string>

#include "adql/adql.hpp"

using namespace vo::adql;

namespace {

/// A one-table catalogue: ivoa.obscore(obs_id char, s_ra double).
class OneTable : public Catalog {
public:
    OneTable() {
        TableInfo t;
        t.schema = "ivoa";
        t.name = "obscore";
        t.physical = "obscore";
        ColumnInfo id;
        id.name = id.physical = "obs_id";
        id.datatype = "char";
        id.arraysize = "*";
        ColumnInfo ra;
        ra.name = ra.physical = "s_ra";
        ra.datatype = "double";
        t.columns = {id, ra};
        tables_.push_back(t);
    }
    const std::vector<TableInfo>& tables() const override { return tables_; }

private:
    std::vector<TableInfo> tables_;
};

std::string chain(const std::string& term, const std::string& op, int n) {
    std::string s = term;
    s.reserve((term.size() + op.size()) * static_cast<std::size_t>(n));
    for (int i = 1; i < n; ++i) s += op + term;
    return s;
}

std::string set_chain(const std::string& op, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        if (i) s += " " + op + " ";
        s += "SELECT obs_id FROM ivoa.obscore";
    }
    return s;
}

/// The message of the AdqlError translate_sqlite throws, or "" when it succeeds.
std::string translate_error(const std::string& q, const TranslateOptions& o = {}) {
    OneTable cat;
    try {
        translate_sqlite(q, cat, o);
    } catch (const AdqlError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("4,000 terms of + are refused as too complex, not a stack overflow", "[adql][limits][regression]") {
    const std::string q = "SELECT TOP 1 " + chain("1", "+", 4000) + " AS v FROM ivoa.obscore";
    const std::string err = translate_error(q);
    CHECK_THAT(err, Catch::Contains("too complex"));
    CHECK_THAT(err, Catch::Contains("128"));
}

TEST_CASE("5,000 terms of || are refused as too complex", "[adql][limits][regression]") {
    const std::string q = "SELECT TOP 1 " + chain("obs_id", "||", 5000) + " AS v FROM ivoa.obscore";
    CHECK_THAT(translate_error(q), Catch::Contains("too complex"));
}

TEST_CASE("long OR and AND chains are legal: they form a balanced tree", "[adql][limits][regression]") {
    // Generated queries (lists of IDs) do this; SQL's own depth limits must not
    // be reached either, so the chain is balanced (AND and OR are associative).
    const std::string q = "SELECT obs_id FROM ivoa.obscore WHERE " + chain("obs_id = 'a'", " OR ", 5000);
    OneTable cat;
    Translation t = translate_sqlite(q, cat);
    CHECK(t.sql.find("OR") != std::string::npos);
    const std::string q2 = "SELECT obs_id FROM ivoa.obscore WHERE " + chain("s_ra > 1", " AND ", 5000);
    CHECK_NOTHROW(translate_sqlite(q2, cat));
}

TEST_CASE("an OR chain beyond the node limit is refused naming the limit", "[adql][limits][regression]") {
    // The probe sent 1.4 million OR terms (9 MB, now refused by the text limit);
    // 40,000 terms (400 KB, 160,000 nodes) are stopped by the node limit in the
    // parser before the tree is built.
    const std::string q = "SELECT obs_id FROM ivoa.obscore WHERE " + chain("s_ra=1", " OR ", 40000);
    const std::string err = translate_error(q);
    CHECK_THAT(err, Catch::Contains("too complex"));
    CHECK_THAT(err, Catch::Contains("100000"));
}

TEST_CASE("10,000 SELECTs joined by set operations are refused as too complex", "[adql][limits][regression]") {
    for (const char* op : {"UNION", "UNION ALL", "EXCEPT", "INTERSECT"}) {
        INFO(op);
        CHECK_THAT(translate_error(set_chain(op, 10000)), Catch::Contains("too complex"));
    }
    // a few hundred are fine
    CHECK(translate_error(set_chain("UNION", 100)).empty());
}

TEST_CASE("a chain of 2,000 JOINs is refused as too complex", "[adql][limits][regression]") {
    std::string q = "SELECT a0.obs_id FROM ivoa.obscore AS a0";
    for (int i = 1; i < 2000; ++i) q += " JOIN ivoa.obscore AS a" + std::to_string(i) + " USING (obs_id)";
    CHECK_THAT(translate_error(q), Catch::Contains("too complex"));
}

TEST_CASE("adql-check of 200,000 + terms returns an error (the AST is released iteratively)",
          "[adql][limits][regression]") {
    const std::string q = "SELECT TOP 1 " + chain("1", "+", 200000) + " AS v FROM t";
    auto err = check_syntax(q, {});
    REQUIRE(err);
    CHECK_THAT(*err, Catch::Contains("too complex"));
}

TEST_CASE("deep trees built below the limits are released without recursion", "[adql][limits]") {
    // 120 nested terms are legal and translate. (The default depth limit, 128,
    // keeps the translator's recursion within an 8 MiB stack even in the
    // AddressSanitizer build, whose frames are ~36 KiB a level here.)
    const std::string q = "SELECT TOP 1 " + chain("1", "+", 120) + " AS v FROM ivoa.obscore";
    CHECK(translate_error(q).empty());
}

TEST_CASE("query text beyond the configured size is refused naming the limit", "[adql][limits]") {
    TranslateOptions o;
    o.limits.max_query_bytes = 1000;
    const std::string q = "SELECT obs_id FROM ivoa.obscore WHERE " + chain("s_ra=1", " OR ", 300);
    const std::string err = translate_error(q, o);
    CHECK_THAT(err, Catch::Contains("1000 bytes"));
    o.limits.max_query_bytes = 100000;
    CHECK(translate_error(q, o).empty());
}

TEST_CASE("configured depth and node limits are applied", "[adql][limits]") {
    TranslateOptions o;
    o.limits.max_depth = 20;
    CHECK_THAT(translate_error("SELECT TOP 1 " + chain("1", "+", 30) + " FROM ivoa.obscore", o),
               Catch::Contains("20 levels"));
    o.limits.max_depth = 256;
    o.limits.max_nodes = 50;
    CHECK_THAT(translate_error("SELECT obs_id FROM ivoa.obscore WHERE obs_id IN (" + chain("'a'", ",", 60) + ")", o),
               Catch::Contains("50"));
}
