// The bound tree: an ADQL query after the bind stage (adql/bind.hpp), with
// every name resolved against the Catalog and every expression typed, and no
// SQL text in it. A Dialect (adql/dialect.hpp) writes SQL from it.
//
// Stages (DESIGN.md, issue 8 item 1): parse (text -> ast::Statement) ->
// bind (ast + Catalog -> bound::Statement) -> emit (bound -> SQL of one
// dialect). The tree says what the query means: which table and column each
// name is, the value class of each expression (ADQL 2.1 section 2.3), which
// expressions are aggregates, the result column metadata (TAP 1.1 section
// 2.7.2: the FIELDs of the result). Shapes the binder resolved at bind time
// (REGION's STC-S string, IN_UNIT's factor) appear as the equivalent plain
// nodes (a POINT/CIRCLE/BOX/POLYGON with literal arguments; a product).
//
// Nodes are immutable and shared (`std::shared_ptr<const ...>`): a select
// list alias referenced in ORDER BY, GROUP BY or HAVING is the same node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adql/adql.hpp"

namespace vo::adql::bound {

/// The value class of an expression, as ADQL 2.1 section 2.3 and SQL-92
/// section 4.1 distinguish them. `Bool` is a search condition (not a value:
/// it cannot be selected); `Unknown` a value whose class the catalogue does
/// not say (array columns), which goes with anything.
enum class Type { Null, Integer, Double, String, Geometry, Timestamp, Bool, Unknown };

/// Words for messages: "an integer", "a character string", ...
const char* type_name(Type t);

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;
struct Query;
using QueryPtr = std::shared_ptr<const Query>;
struct Range;
using RangePtr = std::shared_ptr<const Range>;

/// One typed expression. Which members are used depends on `kind` (as in
/// ast::Expr); `line`/`column` locate its first token in the query text.
struct Expr {
    enum class Kind {
        Literal,  ///< `type` Null, Integer, Double or String; `text` the value (SQL-ready number, unescaped string)
        Column,   ///< `range` + `column` (the name in that range: physical name or derived output name)
        Unary,    ///< `op` "-" or "+", args[0]
        Binary,   ///< `op` + - * / ||, args[0], args[1]
        Compare,  ///< `op` = <> < > <= >=, args[0], args[1]
        Between,  ///< args: value, low, high; `negated`
        InList,   ///< args[0] value, then the list; `negated`
        InQuery,  ///< args[0] value, `query` (one column); `negated`
        Like,     ///< args: value, pattern; `op` "LIKE" (case-sensitive) or "ILIKE"; `negated`
        IsNull,   ///< args[0]; `negated` for IS NOT NULL
        Exists,   ///< `query`
        And,
        Or,         ///< args[0], args[1]
        Not,        ///< args[0]
        Paren,      ///< ( args[0] )
        Case,       ///< args = [operand?] (when, then)... [else?]; `case_has_operand`, `case_has_else`
        Cast,       ///< CAST(args[0] AS cast_type[(cast_length)])
        Subquery,   ///< scalar subquery `query` (one column)
        Aggregate,  ///< `name` lower case: count, avg, sum, min, max; args empty for COUNT(*); `distinct`
        Function,   ///< `name`: a built-in (upper case, adql/functions.hpp) or a UDF (lower case, `udf`)
    };
    Kind kind = Kind::Literal;
    Type type = Type::Unknown;
    /// Geometries: "point", "circle", "polygon", "range" (RANGE_S2D), or ""
    /// (any shape, e.g. a region column).
    std::string geom;
    /// Metadata of the value as a result column (datatype, arraysize, xtype,
    /// unit, UCD...; `name` the catalogue column's name where it is one).
    ColumnInfo info;
    /// Contains an aggregate function outside any subquery.
    bool aggregate = false;
    int line = 0, column = 0;

    std::string text;  ///< Literal
    std::string op;    ///< Unary, Binary, Compare, Like
    std::string name;  ///< Function, Aggregate
    bool udf = false;  ///< Function: a user-defined function (ADQL 2.1 section 4.3)
    bool negated = false;
    bool distinct = false;
    bool case_has_operand = false, case_has_else = false;
    std::string cast_type;  ///< upper case, e.g. "DOUBLE PRECISION"
    std::optional<std::int64_t> cast_length;

    RangePtr range;           ///< Column
    std::string column_name;  ///< Column: the column's name in `range` (see RangeColumn::column)
    std::vector<ExprPtr> args;
    QueryPtr query;  ///< InQuery, Exists, Subquery
};

/// One column of a range as queries see it.
struct RangeColumn {
    std::string name;    ///< ADQL name
    std::string column;  ///< base table: the physical column; derived table or CTE: its output name
    ColumnInfo info;     ///< catalogue metadata (sql_template included)
};

/// One table of a FROM clause (a base table, a WITH query or a derived
/// table), with the correlation name the emitted SQL gives it.
struct Range {
    enum class Kind { Table, Cte, Derived };
    Kind kind = Kind::Table;
    const TableInfo* table = nullptr;  ///< Table: the catalogue entry
    std::string cte_name;              ///< Cte: the WITH query's SQL name (Statement::with)
    QueryPtr subquery;                 ///< Derived
    std::string alias;                 ///< SQL correlation name, unique in the statement ("t1", "t2", ...)
    std::vector<RangeColumn> columns;
    /// Base tables with a spatial index (a dialect may use it to pre-filter).
    const SpatialIndexInfo* spatial_index = nullptr;
};

struct FromItem;
using FromPtr = std::shared_ptr<const FromItem>;

/// One item of a FROM clause: a range or a join of two items.
struct FromItem {
    enum class Kind { Range, Join };
    enum class JoinType { Inner, Left, Right, Full };
    Kind kind = Kind::Range;
    RangePtr range;       ///< Range
    FromPtr left, right;  ///< Join
    JoinType join_type = JoinType::Inner;
    /// The join condition: the ON condition, or the equalities of a NATURAL
    /// join or USING list (AND-ed); null for none (a cross product).
    ExprPtr on;
    /// True when `on` is what the query wrote (ON), false when the binder
    /// built it from NATURAL/USING.
    bool explicit_on = false;
};

/// One output column: its unique name (ADQL 2.1 section 2.2: the alias, the
/// column name, or a generated one; duplicates get _2, _3, ...) and value.
struct OutputColumn {
    std::string name;
    ExprPtr expr;
};

/// One ORDER BY term: an expression, or (`position` > 0) an output column by
/// its 1-based position, or (compound queries) by its name `output_name`.
struct OrderTerm {
    ExprPtr expr;
    int position = 0;
    std::string output_name;
    bool desc = false;
};

/// One SELECT block.
struct Select {
    bool distinct = false;
    std::optional<std::int64_t> top;
    std::vector<FromPtr> from;
    std::vector<OutputColumn> items;
    ExprPtr where;
    std::vector<ExprPtr> group_by;
    ExprPtr having;
};

/// A query expression: a SELECT block, a set operation or a parenthesised
/// query, with its ORDER BY and OFFSET (ADQL 2.1 section 4.6).
struct Query {
    enum class Kind { Select, Union, Except, Intersect, Nested };
    Kind kind = Kind::Select;
    bool all = false;
    std::shared_ptr<const Select> select;  ///< Select
    QueryPtr left, right;                  ///< set operations (left only for Nested)
    std::vector<OrderTerm> order_by;
    std::optional<std::int64_t> offset;
    /// The output columns (for set operations: the left operand's names).
    std::vector<OutputColumn> columns;
    int line = 0, column = 0;
};

/// A `WITH name AS (query)` item with the SQL name the dialect gives it.
struct Cte {
    std::string name;      ///< ADQL name
    std::string sql_name;  ///< "w1", "w2", ...
    QueryPtr query;
};

/// A whole bound query.
struct Statement {
    std::vector<Cte> with;
    QueryPtr body;
    /// TOP of the outermost SELECT block, if any (MAXREC overflow is only
    /// reported when MAXREC, not TOP, cut the result; TAP 1.1 section 2.7.4).
    std::optional<std::int64_t> top;
    /// The result columns (TAP 1.1 section 2.7.2), named as in the output.
    std::vector<ColumnInfo> columns;
};

/// The node itself when it is not a Paren, else the first non-Paren inside.
const Expr& unparen(const Expr& e);

/// Whether `e` can be computed without the row of `r`: it references no
/// column of `r`, calls no RAND or UDF (range_s2d excepted) and contains no
/// subquery. A constant shape (or one built from other tables' columns) is
/// independent of the range it is tested against.
bool independent_of(const Expr& e, const Range& r);

}  // namespace vo::adql::bound
