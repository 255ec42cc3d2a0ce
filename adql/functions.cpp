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
    static const std::vector<FunctionEntry> f = {
        // ADQL 2.1 section 2.3.1: mathematical functions
        {"ABS", 1, 1, {}, false, false},
        {"CEILING", 1, 1, {}, false, false},
        {"DEGREES", 1, 1, {}, false, false},
        {"EXP", 1, 1, {}, false, false},
        {"FLOOR", 1, 1, {}, false, false},
        {"LOG", 1, 1, {}, false, false},
        {"LOG10", 1, 1, {}, false, false},
        {"MOD", 2, 2, {}, false, false},
        {"PI", 0, 0, {}, false, false},
        {"POWER", 2, 2, {}, false, false},
        {"RADIANS", 1, 1, {}, false, false},
        {"RAND", 0, 1, {}, false, false},
        {"ROUND", 1, 2, {}, false, false},
        {"SQRT", 1, 1, {}, false, false},
        {"TRUNCATE", 1, 2, {}, false, false},
        // section 2.3.2: trigonometric functions
        {"ACOS", 1, 1, {}, false, false},
        {"ASIN", 1, 1, {}, false, false},
        {"ATAN", 1, 1, {}, false, false},
        {"ATAN2", 2, 2, {}, false, false},
        {"COS", 1, 1, {}, false, false},
        {"COT", 1, 1, {}, false, false},
        {"SIN", 1, 1, {}, false, false},
        {"TAN", 1, 1, {}, false, false},
        // section 4.4: string functions
        {"LOWER", 1, 1, kString, false, false},
        {"UPPER", 1, 1, kString, false, false},
        // section 4.2: geometry (forms checked by the parser)
        {"POINT", 2, 3, kGeo, true, false},
        {"CIRCLE", 2, 4, kGeo, true, false},
        {"POLYGON", 3, INT_MAX, kGeo, true, false},
        {"BOX", 3, 5, kGeo, true, false},
        {"REGION", 1, 1, kGeo, true, false},
        {"CENTROID", 1, 1, kGeo, true, false},
        {"COORD1", 1, 1, kGeo, true, false},
        {"COORD2", 1, 1, kGeo, true, false},
        {"COORDSYS", 1, 1, kGeo, true, false},
        {"DISTANCE", 2, 5, kGeo, true, false},
        {"CONTAINS", 2, 2, kGeo, true, false},
        {"INTERSECTS", 2, 2, kGeo, true, false},
        {"AREA", 1, 1, kGeo, true, false},
        // special forms with a grammar of their own
        {"CAST", 1, 1, kType, false, false},                   // section 4.7
        {"IN_UNIT", 2, 2, kUnit, false, false},                // section 4.9
        {"COALESCE", 1, INT_MAX, kConditional, false, false},  // section 4.8
        // set functions (SQL-92)
        {"COUNT", 0, 1, {}, false, true},
        {"AVG", 1, 1, {}, false, true},
        {"MAX", 1, 1, {}, false, true},
        {"MIN", 1, 1, {}, false, true},
        {"SUM", 1, 1, {}, false, true},
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
