// VOUnits 1.0 parsing for IN_UNIT (ADQL 2.1 section 4.9.1).
#pragma once

#include <string_view>

namespace vo::adql {

/// Factor f such that a value in unit `from` times f is the value in unit
/// `to` (VOUnits 1.0 strings such as "deg", "km/s", "erg.s**-1.cm**-2",
/// "Angstrom", "mas"). Throws AdqlError(Kind::Type) when either string is
/// not a unit, is unitless ("" is unitless, which IN_UNIT forbids), or the
/// dimensions differ (e.g. deg -> kg).
double unit_conversion_factor(std::string_view from, std::string_view to);

}  // namespace vo::adql
