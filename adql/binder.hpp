// Internal to adql/: the Binder, split over bind_query.cpp (queries, FROM,
// scopes, names, grouping), bind_expr.cpp (operators and conditions) and
// bind_function.cpp (functions, geometry, UDFs, casts, aggregates), as
// DuckDB splits its binder by node kind. The public entry point is bind()
// in adql/bind.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "adql/ast.hpp"
#include "adql/bound.hpp"

namespace vo::adql {
struct FunctionEntry;  // adql/functions.hpp
}

namespace vo::adql::detail {

using bound::ExprPtr;
using bound::Type;

/// ADQL 2.1 section 2.1.7: regular identifiers case-insensitive, delimited exact.
bool name_matches(const ast::Ident& id, std::string_view name);
std::string lower(std::string_view s);
/// " (did you mean a, b?)" for the nearest of `candidates`, or "".
std::string suggest(const std::string& wanted, const std::vector<std::string>& candidates);
/// The name parts as written, joined by '.'.
std::string path_text(const std::vector<ast::Ident>& p);

/// A mutable node under construction (frozen into a bound::ExprPtr).
using Node = std::shared_ptr<bound::Expr>;

/// A node of `kind` at the position of `at`, typed as a scalar of `t` (the
/// result metadata a value of that class has in a VOTable, DALI 1.1).
Node scalar(bound::Expr::Kind kind, Type t, const ast::Expr& at);
/// A geometry node of shape `geom` ("point", "circle", "polygon", "range").
Node geometry(bound::Expr::Kind kind, const std::string& geom, const ast::Expr& at);
/// Sets the type and the scalar metadata of `n` (datatype, arraysize, xtype).
void set_scalar_meta(bound::Expr& n, Type t);
/// The value class of a catalogue column.
Type type_of(const ColumnInfo& c);

/// A range in a scope, with what names match it.
struct ScopeRange {
    bound::RangePtr range;
    std::optional<ast::Ident> alias;
    std::string schema, table;  ///< ADQL names (base tables and WITH queries)
    std::string label;          ///< for messages
};
/// A column of `SELECT *` or of a NATURAL/USING merge.
struct NamedExpr {
    std::string name;
    ExprPtr expr;
};
/// The names visible in one SELECT block.
struct Scope {
    std::vector<ScopeRange> ranges;
    std::vector<NamedExpr> merged;  ///< NATURAL/USING columns
    std::vector<NamedExpr> star;    ///< columns of SELECT *
    const Scope* outer = nullptr;
    /// select-list names, visible in ORDER BY / GROUP BY / HAVING
    std::vector<NamedExpr> aliases;
};

/// One bind run (one statement).
class Binder {
public:
    Binder(const Catalog& catalog, const std::vector<UdfDecl>& udfs) : cat_(catalog), udfs_(udfs) {}
    bound::Statement statement(const ast::Statement& st);

    [[noreturn]] static void error(AdqlError::Kind k, const std::string& msg, int line = 0, int col = 0);
    [[noreturn]] static void error_at(AdqlError::Kind k, const ast::Expr& e, const std::string& msg);

private:
    struct CteEntry {
        ast::Ident name;
        std::string sql_name;
        bound::QueryPtr query;
    };

    // bind_query.cpp
    bound::QueryPtr query(const ast::QueryExpr& q, const Scope* outer, bool outermost);
    bound::QueryPtr select(const ast::QueryExpr& q, const Scope* outer, bool outermost);
    bound::FromPtr from_item(const ast::TableRef& t, Scope& scope, std::vector<NamedExpr>& star);
    const TableInfo& find_table(const ast::TableRef& t);
    const ScopeRange& find_range(const Scope& scope, const std::vector<ast::Ident>& q, int line, int col);
    ExprPtr column(const ast::Expr& e, const Scope& scope, bool allow_alias);
    void check_grouping(const ast::SelectCore& s, const bound::Select& sel, const std::vector<ExprPtr>& star_items);

    // bind_expr.cpp
    ExprPtr expr(const ast::Expr& e, const Scope& scope, bool allow_alias = false);
    ExprPtr case_expr(const ast::Expr& e, const Scope& scope, bool allow_alias);
    void need_numeric(const bound::Expr& t, const ast::Expr& e, const std::string& what);
    void need_geometry(const bound::Expr& t, const ast::Expr& e, const std::string& what);
    void need_comparable(const bound::Expr& a, const bound::Expr& b, const ast::Expr& at, const std::string& where);

    // bind_function.cpp
    ExprPtr function(const ast::Expr& e, const Scope& scope, bool allow_alias);
    /// The arguments `a` of the call `e` checked against the kind the
    /// catalogue entry `f` declares (ArgKind::Any and Special: not checked).
    void check_args(const ast::Expr& e, const FunctionEntry& f, const std::vector<ExprPtr>& a);
    /// need_geometry, and a geometry of known shape must be a point.
    void need_point(const bound::Expr& t, const ast::Expr& e, const std::string& what);
    /// The geometry functions with forms of their own (ArgKind::Special:
    /// POINT, CIRCLE, BOX, POLYGON, REGION, DISTANCE), checked form by form and
    /// typed by the catalogue (REGION by the shape its STC-S names).
    ExprPtr geometry_function(const ast::Expr& e, const FunctionEntry& f, std::vector<ExprPtr>& a);
    ExprPtr region(const ast::Expr& e);
    ExprPtr udf(const ast::Expr& e, std::vector<ExprPtr>& a);
    ExprPtr cast(const ast::Expr& e, ExprPtr a);
    ExprPtr aggregate(const ast::Expr& e, const Scope& scope, bool allow_alias);

    const Catalog& cat_;
    const std::vector<UdfDecl>& udfs_;
    std::vector<CteEntry> ctes_;
    int next_alias_ = 0;
    std::optional<std::int64_t> top_;
};

/// The value class of `x` for comparisons and CASE results: 1 numbers,
/// 2 character strings and timestamps, 3 geometries, 4 truth values, 0 NULL
/// or unknown (goes with any class).
int type_class(Type x);

}  // namespace vo::adql::detail
