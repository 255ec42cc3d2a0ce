// The ADQL function catalogue (adql/functions.hpp).
#include "adql/functions.hpp"

#include <climits>

namespace vo::adql {

namespace {

constexpr std::string_view kGeo = "features-adqlgeo";
constexpr std::string_view kString = "features-adql-string";
constexpr std::string_view kType = "features-adql-type";
constexpr std::string_view kUnit = "features-adql-unit";
constexpr std::string_view kConditional = "features-adql-conditional";

}  // namespace

const std::vector<FunctionEntry>& functions() {
    using A = ArgKind;
    using R = Result;
    // name, arity, feature, geometry, aggregate, argument kind, result, unit of
    // the first argument, unit, UCD, datatype
    static const std::vector<FunctionEntry> f = {
        // ADQL 2.1 section 2.3, table 1: mathematical functions
        {"ABS", 1, 1, {}, false, false, A::Numeric, R::IntegerIfAllIntegerArgs, true, {}, {}, {}},
        {"CEILING", 1, 1, {}, false, false, A::Numeric, R::Double, true, {}, {}, {}},
        {"DEGREES", 1, 1, {}, false, false, A::Numeric, R::Double, false, "deg", {}, {}},
        {"EXP", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"FLOOR", 1, 1, {}, false, false, A::Numeric, R::Double, true, {}, {}, {}},
        {"LOG", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"LOG10", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"MOD", 2, 2, {}, false, false, A::Numeric, R::IntegerIfAllIntegerArgs, false, {}, {}, {}},
        {"PI", 0, 0, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"POWER", 2, 2, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"RADIANS", 1, 1, {}, false, false, A::Numeric, R::Double, false, "rad", {}, {}},
        {"RAND", 0, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"ROUND", 1, 2, {}, false, false, A::Numeric, R::Double, true, {}, {}, {}},
        {"SQRT", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"TRUNCATE", 1, 2, {}, false, false, A::Numeric, R::Double, true, {}, {}, {}},
        // section 2.3, table 2: trigonometric functions (COT: the BNF)
        {"ACOS", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"ASIN", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"ATAN", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"ATAN2", 2, 2, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"COS", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"COT", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"SIN", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        {"TAN", 1, 1, {}, false, false, A::Numeric, R::Double, false, {}, {}, {}},
        // section 4.4: string functions
        {"LOWER", 1, 1, kString, false, false, A::String, R::String, false, {}, {}, {}},
        {"UPPER", 1, 1, kString, false, false, A::String, R::String, false, {}, {}, {}},
        // section 4.2: geometry (forms checked by the parser; Special ones by the binder)
        {"POINT", 2, 3, kGeo, true, false, A::Special, R::Point, false, {}, {}, {}},
        {"CIRCLE", 2, 4, kGeo, true, false, A::Special, R::Circle, false, {}, {}, {}},
        {"POLYGON", 3, INT_MAX, kGeo, true, false, A::Special, R::Polygon, false, {}, {}, {}},
        {"BOX", 3, 5, kGeo, true, false, A::Special, R::Polygon, false, {}, {}, {}},
        {"REGION", 1, 1, kGeo, true, false, A::Special, R::Special, false, {}, {}, {}},
        {"CENTROID", 1, 1, kGeo, true, false, A::Geometry, R::Point, false, {}, {}, {}},
        {"COORD1", 1, 1, kGeo, true, false, A::Point, R::Double, false, "deg", "pos.eq.ra", {}},
        {"COORD2", 1, 1, kGeo, true, false, A::Point, R::Double, false, "deg", "pos.eq.dec", {}},
        {"COORDSYS", 1, 1, kGeo, true, false, A::Geometry, R::String, false, {}, {}, {}},
        {"DISTANCE", 2, 5, kGeo, true, false, A::Special, R::Double, false, "deg", "pos.angDistance", {}},
        {"CONTAINS", 2, 2, kGeo, true, false, A::Geometry, R::Integer, false, {}, {}, "int"},
        {"INTERSECTS", 2, 2, kGeo, true, false, A::Geometry, R::Integer, false, {}, {}, "int"},
        {"AREA", 1, 1, kGeo, true, false, A::Geometry, R::Double, false, "deg**2", "phys.angArea", {}},
        // special forms with a grammar of their own
        // section 4.7.1: the target type
        {"CAST", 1, 1, kType, false, false, A::Special, R::Special, false, {}, {}, {}},
        // section 4.9.1: a number with a unit, and the unit (a literal) the value is in
        {"IN_UNIT", 2, 2, kUnit, false, false, A::Special, R::Double, false, {}, {}, {}},
        // section 4.8.1: the first non-NULL argument
        {"COALESCE", 1, INT_MAX, kConditional, false, false, A::Any, R::Special, false, {}, {}, {}},
        // set functions (SQL-92; COUNT(*) has no argument)
        {"COUNT", 0, 1, {}, false, true, A::Any, R::Integer, false, {}, "meta.number", {}},
        {"AVG", 1, 1, {}, false, true, A::Numeric, R::Double, true, {}, {}, {}},
        {"MAX", 1, 1, {}, false, true, A::Any, R::SameAsFirstArg, false, {}, {}, {}},
        {"MIN", 1, 1, {}, false, true, A::Any, R::SameAsFirstArg, false, {}, {}, {}},
        {"SUM", 1, 1, {}, false, true, A::Numeric, R::IntegerIfAllIntegerArgs, true, {}, {}, {}},
    };
    return f;
}

const FunctionEntry* find_function(std::string_view upper_name) {
    for (const auto& e : functions())
        if (e.name == upper_name) return &e;
    return nullptr;
}

const std::vector<LanguageFeature>& language_features() {
    static const std::vector<LanguageFeature> v = [] {
        std::vector<LanguageFeature> out;
        // functions first, grouped by type in the order of the table
        // COALESCE (features-adql-conditional, ADQL 2.1 section 4.8) is
        // implemented but not declared: taplint of Debian's STILTS reports that
        // key as an unknown standard feature (an error), and declaring is a
        // SHOULD of ADQL 2.1 section 4.1, not a MUST.
        for (std::string_view type : {kGeo, kString, kType, kUnit}) {
            for (const auto& e : functions())
                if (e.feature == type) out.push_back({type, e.name});
            if (type == kString) out.push_back({kString, "ILIKE"});  // section 4.4.4
        }
        for (std::string_view set : {"UNION", "EXCEPT", "INTERSECT"})  // section 4.6
            out.push_back({"features-adql-sets", set});
        out.push_back({"features-adql-offset", "OFFSET"});      // section 4.10
        out.push_back({"features-adql-common-table", "WITH"});  // section 4.5
        return out;
    }();
    return v;
}

}  // namespace vo::adql
