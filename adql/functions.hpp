// The ADQL function catalogue: one table of the functions and optional
// language features this library implements, read by the parser (names and
// arities), the translator (the UDFs it provides) and the TAP capabilities
// document (TAPRegExt 1.0 section 2.3: languageFeatures). Adding a function
// means one entry here and its translation; the capabilities then list it and
// tests/integration/test_capability_features.py runs it.
//
// ADQL 2.1 sections 2.3 (mathematical, trigonometric and string functions),
// 4.2 (geometry), 4.3 (UDFs) and 4.4-4.10 (the other optional features).
#pragma once

#include <string_view>
#include <vector>

namespace vo::adql {

/// One built-in ADQL function with its argument count.
struct FunctionEntry {
    std::string_view name;  ///< upper case, as ADQL 2.1 spells it
    int min_args = 0;       ///< fewest arguments
    int max_args = 0;       ///< most arguments
    /// TAPRegExt 1.0 feature type (the part after `ivo://ivoa.net/std/TAPRegExt#`)
    /// when the function is an optional feature of ADQL 2.1 and must be
    /// declared, e.g. "features-adqlgeo" for POINT (ADQL 2.1 section 4.2);
    /// empty for mandatory functions (ABS, COUNT, ...), which are not declared.
    std::string_view feature;
    /// True for the geometry functions of ADQL 2.1 section 4.2, whose
    /// arguments the parser checks by form (coordinate system, points) rather
    /// than by count alone; min_args/max_args still bound them.
    bool geometry = false;
    /// True for the set functions of SQL (COUNT, AVG, MIN, MAX, SUM).
    bool aggregate = false;
};

/// Every built-in function, in ADQL 2.1's order of sections. Special forms
/// with their own syntax (CAST, IN_UNIT, COALESCE, the aggregates) are listed
/// too, so that the parser knows their names; their arguments are parsed by
/// the grammar, not by this table.
const std::vector<FunctionEntry>& functions();

/// The entry for `upper_name` (upper case), or nullptr.
const FunctionEntry* find_function(std::string_view upper_name);

/// One optional language feature as TAPRegExt 1.0 section 2.3 declares it:
/// `type` is the feature type after `ivo://ivoa.net/std/TAPRegExt#` and
/// `form` the keyword or function name (ADQL 2.1 sections 4.2-4.10:
/// "features-adqlgeo" with POINT ... AREA, "features-adql-string" with
/// LOWER/UPPER/ILIKE, "features-adql-sets" with UNION/EXCEPT/INTERSECT, and so on).
struct LanguageFeature {
    std::string_view type;
    std::string_view form;
};

/// Every optional feature this library parses and translates, grouped by
/// type in a stable order: the geometry functions and the other optional
/// functions from functions() (CAST and IN_UNIT among them; COALESCE is
/// left out, see functions.cpp), then
/// the syntactic features (ILIKE, the set operators, OFFSET, WITH). UDFs are not included (their forms are
/// declarations; see sqlite_udfs() in adql.hpp).
const std::vector<LanguageFeature>& language_features();

}  // namespace vo::adql
