// Runs the 495 cases of the IVOA lyonetia ADQL validation corpus
// (../shared/conformance/adql/lyonetia-cases.jsonl, format in README.md
// there) through vo::adql::check_syntax and requires every verdict to match.
#include <boost/json/src.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "adql/adql.hpp"

namespace {

/// Cases whose verdict contradicts the normative ADQL 2.1 BNF. The parser
/// follows the BNF; the test requires these (and only these) to disagree, so
/// a parser change that silently "fixes" one is noticed too.
///
/// - ivoa/2_from.xml #4 `SELECT * FROM t1 INNER JOIN t2` is marked invalid, but
///   ADQL 2.1 `<qualified_join> ::= <table_reference> [NATURAL] [<join_type>]
///   JOIN <table_reference> [<join_specification>]` makes the ON/USING part
///   optional, and the same corpus marks `t1 JOIN t2` and
///   `t1 LEFT OUTER JOIN t2` valid (gavo/simpleunit #16, #18-20, #98).
const std::set<std::string> kContradictsBnf = {"ivoa/2_from.xml #4"};

}  // namespace

TEST_CASE("lyonetia: every verdict matches the parser or contradicts the BNF", "[adql][lyonetia]") {
    std::ifstream in(std::string(VO_SHARED_DIR) + "/conformance/adql/lyonetia-cases.jsonl");
    REQUIRE(in.good());
    std::string line;
    int total = 0, valid = 0;
    std::ostringstream mismatches;
    int n_mismatch = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto obj = boost::json::parse(line).as_object();
        ++total;
        bool expect_valid = obj.contains("valid") && obj.at("valid").as_bool();
        if (expect_valid) ++valid;
        std::vector<vo::adql::UdfDecl> udfs;
        for (auto& u : obj.at("udfs").as_array()) udfs.push_back(vo::adql::parse_udf_decl(std::string(u.as_string())));
        std::string adql(obj.at("adql").as_string());
        auto err = vo::adql::check_syntax(adql, udfs);
        bool got_valid = !err.has_value();
        const std::string key =
            std::string(obj.at("file").as_string()) + " #" + std::to_string(obj.at("index").as_int64());
        if (kContradictsBnf.count(key)) {
            CHECK(got_valid != expect_valid);
            continue;
        }
        if (got_valid != expect_valid) {
            ++n_mismatch;
            mismatches << "\n"
                       << obj.at("file").as_string() << " #" << obj.at("index").as_int64() << " expected "
                       << (expect_valid ? "valid" : "invalid") << ": " << adql
                       << (err ? "\n    -> " + *err : std::string("\n    -> accepted"));
        }
    }
    CHECK(total == 495);
    CHECK(valid == 413);
    INFO(mismatches.str());
    CHECK(n_mismatch == 0);
}

TEST_CASE("parse_udf_decl reads lyonetia declarations", "[adql]") {
    auto d = vo::adql::parse_udf_decl("ivo_healpix_index(hpxOrder INTEGER, long REAL, lat REAL) -> BIGINT");
    CHECK(d.name == "ivo_healpix_index");
    REQUIRE(d.arg_types.size() == 3);
    CHECK(d.arg_types[0] == "INTEGER");
    CHECK(d.arg_types[2] == "REAL");
    CHECK(d.return_type == "BIGINT");
    CHECK_THROWS_AS(vo::adql::parse_udf_decl("foo(a INTEGER -> INTEGER"), vo::adql::AdqlError);
}

TEST_CASE("syntax errors give line, column, found token and expectation", "[adql]") {
    auto err = vo::adql::check_syntax("SELECT a\nFROM t WHERE a <", {});
    REQUIRE(err);
    CHECK(err->find("line 2, column 17") != std::string::npos);
    CHECK(err->find("expected a value expression") != std::string::npos);
    CHECK(err->find("the end of the query") != std::string::npos);
    err = vo::adql::check_syntax("SELECT distance FROM stars", {});
    REQUIRE(err);
    CHECK(err->find("reserved word 'distance'") != std::string::npos);
    CHECK(err->find("column 8") != std::string::npos);
}

namespace {
struct EmptyCatalog : vo::adql::Catalog {
    std::vector<vo::adql::TableInfo> t;
    const std::vector<vo::adql::TableInfo>& tables() const override { return t; }
};
}  // namespace

TEST_CASE("translate_sqlite fails cleanly on every lyonetia query", "[adql][lyonetia]") {
    // No catalogue: every query must end in an AdqlError (unknown table, ...),
    // never another exception or a crash.
    std::ifstream in(std::string(VO_SHARED_DIR) + "/conformance/adql/lyonetia-cases.jsonl");
    REQUIRE(in.good());
    EmptyCatalog cat;
    std::string line;
    int other = 0;
    while (std::getline(in, line)) {
        auto obj = boost::json::parse(line).as_object();
        std::string adql(obj.at("adql").as_string());
        try {
            vo::adql::translate_sqlite(adql, cat);
        } catch (const vo::adql::AdqlError&) {
        } catch (...) {
            ++other;
        }
    }
    CHECK(other == 0);
}
