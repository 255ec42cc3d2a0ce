// Regression tests of the ADQL parser: each bug found (by the semantic tests or
// the fuzzer, tests/fuzz/) gets a case here before its fix.
#include <catch2/catch.hpp>

#include "adql/adql.hpp"

using vo::adql::check_syntax;

TEST_CASE("a literal starting with a period after a reserved word", "[adql][regression]") {
    // ADQL 2.1 BNF: <exact_numeric_literal> ::= ... | <period> <unsigned_decimal>.
    // Found by the semantic table: "SELECT .5 * 4" was a syntax error.
    CHECK_FALSE(check_syntax("SELECT .5 * 4 FROM t", {}));
    CHECK_FALSE(check_syntax("SELECT x FROM t WHERE x > .5 AND .25 < y", {}));
    CHECK_FALSE(check_syntax("SELECT x FROM t WHERE x BETWEEN .1 AND .2", {}));
    // after a name the period still qualifies it
    CHECK_FALSE(check_syntax("SELECT t.x FROM t", {}));
    CHECK(check_syntax("SELECT t.5 FROM t", {}));
}
