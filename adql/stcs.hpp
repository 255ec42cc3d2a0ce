// STC-S region strings as ADQL 2.1's REGION function takes them (ADQL 2.1
// section 4.2.20; the STC-S 1.33 note: "Circle ICRS 10 20 1"). Only the
// single shapes that the other ADQL geometry functions can also express are
// understood; compound regions (Union, Intersection, Not) are refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vo::adql {

/// One STC-S shape read from a REGION argument.
struct StcsShape {
    /// "point" (STC-S Position), "circle", "box" or "polygon".
    std::string kind;
    /// The numbers in degrees, in STC-S order: Position ra dec; Circle ra dec
    /// radius; Box ra dec width height; Polygon ra1 dec1 ra2 dec2 ... (>= 3 vertices).
    std::vector<double> values;
};

/// Parses `text` (case-insensitive words): a shape (Position, Circle, Box,
/// Polygon), an optional frame (ICRS; UNKNOWNFrame and an omitted frame are
/// taken as ICRS), an optional reference position (any STC-S refpos word), an
/// optional flavor (SPHERICAL2 only), the shape's numbers, and an optional
/// `unit deg`. Throws AdqlError (Kind::Unsupported for a valid STC-S
/// construct this service does not evaluate, such as Union or another frame;
/// Kind::Type for a malformed string) with a message that starts "REGION:".
StcsShape parse_stcs_region(std::string_view text);

}  // namespace vo::adql
