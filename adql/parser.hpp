// ADQL 2.1 parser: query text -> ast::Statement (ADQL 2.1 appendix A).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adql/adql.hpp"
#include "adql/ast.hpp"

namespace vo::adql {

/// Options of the parser.
struct ParseOptions {
    /// Declared user-defined functions (ADQL 2.1 section 4.3); a call to any
    /// other function that is not ADQL's is a syntax error.
    std::vector<UdfDecl> udfs;
    /// Accept undeclared functions whose names start with `ivo_` (DaCHS
    /// behaviour, used by some lyonetia cases); off for real services.
    bool lenient_ivo_udfs = false;
    /// Size, depth and node limits (AdqlError Kind::TooComplex beyond them).
    QueryLimits limits;
};

/// Parses one ADQL 2.1 query (the whole text, an optional trailing `;`
/// allowed). Throws AdqlError(Kind::Syntax) with 1-based line and column,
/// the token found and what was expected, or AdqlError(Kind::TooComplex) when
/// the text, the tree depth or the node count exceeds `options.limits`; the
/// parser's own recursion is bounded by the same depth limit.
ast::Statement parse(std::string_view adql, const ParseOptions& options = {});

/// Throws AdqlError(Kind::TooComplex) when a path from the root of `query`
/// is longer than `max_depth` nodes (expressions, queries, select blocks and
/// FROM items count one each). Iterative. The parser calls it; the AST entry
/// point of the translator calls it on trees built by code.
void check_depth(const ast::Statement& query, int max_depth);

/// True when `word` (any case) is an SQL-92 or ADQL reserved word
/// (ADQL 2.1 sections 2.1.3 and 2.1.4), which cannot be a regular identifier.
bool is_reserved_word(std::string_view word);

}  // namespace vo::adql
