// The SQL of ADQL's functions as calls of voserver's SQL function library:
// the `adql_*` functions every store provides with the same meaning (SQLite:
// obscore/sql_functions.cpp and sql_scalar_functions.cpp, registered on every
// connection; PostgreSQL: obscore/pg_functions.sql, installed with the
// schema). Geometry values travel between them as DALI 1.1 text (section
// 3.3): "ra dec" (point), "ra dec r" (circle), "ra1 dec1 ra2 dec2 ..."
// (polygon), "range ra_min ra_max dec_min dec_max" (RANGE_S2D); a geometry in
// the select list therefore reaches the client in its DALI serialisation.
//
// Both dialects derive from LibraryWriter; it owns which library function an
// ADQL function becomes (with the specialised forms for points and circles
// given by coordinates), and asks the dialect, through arg_double(),
// arg_integer() and arg_text(), how an argument is passed (PostgreSQL needs
// explicit casts to pick an overload; SQLite does not).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adql/sql_writer.hpp"

namespace vo::adql {

class LibraryWriter : public SqlWriter {
public:
    using SqlWriter::SqlWriter;

protected:
    /// An argument the library function takes as a double / a 64-bit integer
    /// / text. Default: the expression as it is.
    virtual std::string arg_double(const bound::Expr& e) { return expr(e); }
    virtual std::string arg_integer(const bound::Expr& e) { return expr(e); }
    virtual std::string arg_text(const bound::Expr& e) { return expr(e); }
    /// "a, b, c" of the arguments from index `from`, each as arg_double().
    std::string double_args(const bound::Expr& e, std::size_t from = 0);

    /// Functions, UDFs and geometry as library calls (ADQL 2.1 sections 2.3,
    /// 4.2, 4.3). The aggregate UDF ivo_string_agg is the dialect's
    /// (string_aggregate()).
    std::string function(const bound::Expr& e) override;
    /// CAST (ADQL 2.1 section 4.7) to integers through adql_cast_integer
    /// (rounding half away from zero), to REAL/DOUBLE PRECISION, to strings
    /// (substr for a length), to TIMESTAMP (adql_timestamp) and to geometries
    /// from DALI text (adql_geometry).
    std::string cast(const bound::Expr& e) override;
    /// The SQL type names of cast(): "REAL", "TEXT".
    virtual std::string type_double(bool single) { return "REAL"; }
    virtual std::string type_text() { return "TEXT"; }
    /// The integer CAST of a rounded value (adql_cast_integer's result) to
    /// SMALLINT/INTEGER/BIGINT; SQLite has one integer type.
    virtual std::string integer_cast(const std::string& sql, const std::string& adql_type) { return sql; }
    /// ivo_string_agg(x, delim) (RegTAP 1.1 section 8).
    virtual std::string string_aggregate(const bound::Expr& e) = 0;
    /// PI and RAND.
    virtual std::string pi() { return "3.141592653589793"; }
    virtual std::string rand(const bound::Expr& e) = 0;

    /// POINT(x, y) (through parentheses): the SQL of x and y as doubles.
    std::optional<std::pair<std::string, std::string>> point_xy(const bound::Expr& e);
    /// CIRCLE(x, y, r) or CIRCLE(POINT(x, y), r): the SQL of x, y and r.
    std::optional<std::array<std::string, 3>> circle_xyr(const bound::Expr& e);

private:
    std::string geometry_function(const bound::Expr& e);
};

/// A conjunct of a WHERE or ON condition that a spatial index
/// (SpatialIndexInfo) can pre-filter (issue 3 item 3, issue 11 item 2): the
/// indexed point or footprint of one base table must meet a geometry that
/// does not depend on that table's row, so that the rows it can be true for
/// lie in an index look-up of that geometry. Found by spatial_filters().
struct SpatialFilter {
    const bound::Range* range = nullptr;  ///< the indexed table
    bool region = false;                  ///< the footprint column (else the point (ra, dec))
    /// The geometry (any ADQL geometry expression); nullptr when the
    /// geometry is the circle of centre (`x`, `y`) and radius `radius`
    /// (a DISTANCE bound, or a CIRCLE centred on the indexed point).
    const bound::Expr* shape = nullptr;
    const bound::Expr* x = nullptr;
    const bound::Expr* y = nullptr;
    const bound::Expr* radius = nullptr;
    /// The footprint column as the condition names it (`region` only).
    const bound::Expr* region_column = nullptr;
};

/// The conjuncts of `condition` (its top-level AND, through parentheses)
/// that a spatial index can pre-filter, one entry per such conjunct, for
/// the geometry predicates of ADQL 2.1 section 4.2 (4.2.7 CONTAINS, 4.2.11
/// INTERSECTS, 4.2.16 DISTANCE):
///   CONTAINS(POINT(ra, dec), shape) = 1, INTERSECTS(POINT(ra, dec), shape) = 1
///     (either order for INTERSECTS)                          -> the point
///   INTERSECTS(region, shape) = 1, CONTAINS(region, shape) = 1,
///   CONTAINS(shape, region) = 1 (either order of INTERSECTS)  -> the footprint
///   CONTAINS(POINT(x, y), CIRCLE(ra, dec, r)) = 1 (also INTERSECTS, either
///     order; CIRCLE(POINT(ra, dec), r))                     -> the point, circle (x, y, r)
///   DISTANCE(POINT(ra, dec), POINT(x, y)) < r (or <=, either order, the
///     4-argument form, also r > DISTANCE(..))                 -> the point, circle (x, y, r)
/// (also `1 = ...`), where ra/dec/region are the indexed columns of one
/// base table and shape, x, y, r do not depend on that table's row. Every
/// true row of such a conjunct has its point in the shape, or its footprint
/// meeting the shape. `= 0`, OR-ed and negated predicates are not listed
/// (the complement of a look-up is not a superset).
std::vector<SpatialFilter> spatial_filters(const bound::Expr& condition);

/// True for a built-in (not UDF) function call `name` with `nargs` arguments.
bool is_function(const bound::Expr& e, std::string_view name, std::size_t nargs);
/// True for CONTAINS(..) or INTERSECTS(..).
bool is_predicate_fn(const bound::Expr& e);
/// For CONTAINS(a, b) or INTERSECTS(a, b) (is_predicate_fn, two
/// arguments): the position k (0 for a, 1 for b) of the argument that is
/// the indexed footprint column (SpatialIndexInfo::region) of its table,
/// through parentheses, and that table's range; {-1, nullptr} otherwise.
/// The dialects evaluate such a predicate with a function that knows which
/// value is the row's stored footprint (ADQL 2.1 sections 4.2.7, 4.2.11).
std::pair<int, const bound::Range*> footprint_argument(const bound::Expr& e);
/// ASCII lower case.
std::string ascii_lower(std::string_view s);

}  // namespace vo::adql
