// The bind stage of ADQL (DESIGN.md: parse -> bind -> emit; issue 8 item 1):
// an ast::Statement and a Catalog -> a bound::Statement (adql/bound.hpp).
#pragma once

#include <vector>

#include "adql/adql.hpp"
#include "adql/ast.hpp"
#include "adql/bound.hpp"

namespace vo::adql {

/// The user-defined functions every dialect provides (ADQL 2.1 section 4.3,
/// TAPRegExt 1.0 section 2.3): ivo_healpix_index, ivo_healpix_center,
/// ivo_hasword, ivo_nocasematch, ivo_interval_overlaps, ivo_string_agg and
/// range_s2d, with their declarations in `form`.
const std::vector<UdfDecl>& builtin_udfs();

/// Binds `query` against `catalog` (ADQL 2.1 sections 2.1.5-2.1.7 for names,
/// 2.2-2.3 and SQL-92 sections 7.9 and 8.2 for grouping and types):
///  - every table name resolved to a catalogue table, a WITH query or a
///    derived table, every column reference to one column of one range
///    (regular identifiers case-insensitive, delimited ones exact);
///  - every expression typed; comparisons, BETWEEN, IN, CASE results,
///    arithmetic, LIKE and the geometry functions' arguments checked;
///  - grouped queries checked (every column outside an aggregate is grouped);
///  - REGION's STC-S string and IN_UNIT's units resolved (ADQL 2.1 sections
///    4.2.20 and 4.8), geometry constructors' coordinate systems checked
///    (ICRS or empty);
///  - the result column metadata computed.
/// `udfs`: UDFs declared beyond builtin_udfs(), typed by their declared
/// return type. The tree must be what the parser produces (adql/parser.hpp);
/// its depth is not checked here (check_depth).
/// Throws AdqlError: UnknownName (with "did you mean" suggestions), Type,
/// Unsupported, each with the line and column of the offending token.
bound::Statement bind(const ast::Statement& query, const Catalog& catalog, const std::vector<UdfDecl>& udfs = {});

}  // namespace vo::adql
