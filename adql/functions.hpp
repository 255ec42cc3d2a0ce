// The ADQL function catalogue: one table of the functions and optional
// language features this library implements, read by the parser (names and
// arities), the binder (argument kinds, result types, units and UCDs), the
// translator (the UDFs it provides) and the TAP capabilities document
// (TAPRegExt 1.0 section 2.3: languageFeatures). Adding a function means one
// entry here and its translation; the capabilities then list it and
// tests/integration/test_capability_features.py runs it.
//
// ADQL 2.1 sections 2.3 (mathematical, trigonometric and string functions),
// 4.2 (geometry), 4.3 (UDFs) and 4.4-4.10 (the other optional features).
#pragma once

#include <string_view>
#include <vector>

namespace vo::adql {

/// What the arguments of a function must be (every argument alike). The binder
/// checks them in order and names the first wrong one ("argument 2 of POWER
/// must be numeric, found a character string").
enum class ArgKind {
    /// Not checked: COALESCE (ADQL 2.1 section 4.8.1), COUNT, MIN, MAX.
    Any,
    /// A number or NULL: the functions of ADQL 2.1 section 2.3 (tables 1 and 2),
    /// AVG and SUM.
    Numeric,
    /// A character string: LOWER and UPPER (ADQL 2.1 sections 4.4.2, 4.4.3).
    /// Only a geometry is refused; a number is converted by the database, as
    /// SQL's LOWER does.
    String,
    /// A geometry (POINT, CIRCLE, BOX, POLYGON, REGION or a geometry column):
    /// AREA, CENTROID, COORDSYS, CONTAINS, INTERSECTS (ADQL 2.1 sections 4.2.8,
    /// 4.2.10, 4.2.12, 4.2.15, 4.2.17).
    Geometry,
    /// A geometry that is a point (or of unknown shape): COORD1, COORD2 (ADQL
    /// 2.1 sections 4.2.13, 4.2.14).
    Point,
    /// Checked by the binder form by form, because the function has forms of
    /// its own (POINT, CIRCLE, BOX, POLYGON, REGION, DISTANCE: ADQL 2.1 section
    /// 4.2) or a grammar of its own (CAST 4.7.1, IN_UNIT 4.9.1).
    Special,
};

/// The type of a function's value (ADQL 2.1 section 3), in terms of its
/// arguments where it depends on them.
enum class Result {
    Double,   ///< a double-precision number (ADQL 2.1 section 2.3, tables 1 and 2)
    Integer,  ///< an integer: COUNT, CONTAINS and INTERSECTS (section 4.2.6)
    /// An integer when every argument is one, else a double: ABS, MOD and SUM
    /// (as SQL types them; ADQL 2.1 section 2.3 table 1 says double).
    IntegerIfAllIntegerArgs,
    /// The type, shape and metadata (unit, UCD, datatype) of the first
    /// argument: MIN and MAX.
    SameAsFirstArg,
    String,   ///< a character string: LOWER, UPPER (section 4.4), COORDSYS (4.2.15)
    Point,    ///< a POINT (section 3.5.1): POINT, CENTROID (4.2.18, 4.2.10)
    Circle,   ///< a CIRCLE (section 3.5.2): CIRCLE (4.2.11)
    Polygon,  ///< a POLYGON (section 3.5.3): BOX, POLYGON (4.2.9, 4.2.19)
    /// Depends on the form: CAST (its target type, section 4.7.1), COALESCE
    /// (its first non-NULL argument, 4.8.1), REGION (the shape its STC-S
    /// names, 4.2.20). Typed by the binder's own code.
    Special,
};

/// One built-in ADQL function: its argument count and kinds, its result type
/// with the unit and UCD the function defines, and its TAPRegExt feature.
/// Geometry results (Point, Circle, Polygon) carry the DALI 1.1 metadata of
/// their shape (unit deg, xtype point/circle/polygon, UCD pos.eq for points);
/// `unit`, `ucd` and `datatype` are for scalar results.
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
    /// What every argument must be (Special: checked form by form).
    ArgKind args = ArgKind::Numeric;
    /// The type of the value.
    Result result = Result::Double;
    /// True when the value has the unit of the first argument: ABS, CEILING,
    /// FLOOR, ROUND, TRUNCATE (ADQL 2.1 section 2.3: the same quantity), AVG,
    /// SUM.
    bool unit_of_first_arg = false;
    /// The unit of the value when the function defines one (VOUnits): "deg"
    /// for DEGREES, COORD1, COORD2 and DISTANCE, "rad" for RADIANS, "deg**2"
    /// for AREA (ADQL 2.1 sections 2.3, 4.2.8, 4.2.13, 4.2.14, 4.2.16).
    std::string_view unit;
    /// The UCD of the value when the function defines one: pos.eq.ra and
    /// pos.eq.dec for COORD1 and COORD2, pos.angDistance for DISTANCE,
    /// phys.angArea for AREA, meta.number for COUNT.
    std::string_view ucd;
    /// The VOTable datatype of the value when it is not the one of its type
    /// (long for integers): "int" for CONTAINS and INTERSECTS, which return
    /// 0 or 1 (ADQL 2.1 section 4.2.6).
    std::string_view datatype;
};

/// Every built-in function, in ADQL 2.1's order of sections. Special forms
/// with their own syntax (CAST, IN_UNIT, COALESCE, the aggregates) are listed
/// too, so that the parser knows their names and the binder their result
/// types; their arguments are parsed by the grammar, not by this table.
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
