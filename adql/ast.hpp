// Abstract syntax tree of ADQL 2.1 (ADQL 2.1 appendix A), produced by the
// parser (adql/parser.hpp) and consumed by the checker/translators.
//
// The tree is deliberately dialect-neutral: it records what the query says
// (names as written, with their delimited flag; literals as written) and
// nothing about any database.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vo::adql::ast {

/// Iterative release of syntax trees (issue 7 item 1): a node's destructor
/// hands its children to release() instead of destroying them in place, so
/// destroying a tree of any depth uses constant stack. release(p) drops `p`
/// (and everything it alone owns) after the outermost destructor returns to
/// the release loop; it is a no-op for a null pointer.
void release(std::shared_ptr<void> node) noexcept;

/// The special members every node type declares, with a destructor that
/// releases the children through release().
#define VO_ADQL_AST_NODE(T)               \
    T() = default;                        \
    T(const T&) = default;                \
    T(T&&) noexcept = default;            \
    T& operator=(const T&) = default;     \
    T& operator=(T&&) noexcept = default; \
    ~T()

/// One identifier as written (ADQL 2.1 sections 2.1.5-2.1.7): `delimited`
/// identifiers are case-sensitive and keep their text verbatim (with `""`
/// already unescaped), regular ones are compared case-insensitively.
struct Ident {
    std::string name;
    bool delimited = false;
};

struct QueryExpr;
using QueryPtr = std::shared_ptr<QueryExpr>;

/// One value expression or search condition. Which members are used depends
/// on `kind`; `line`/`column` (1-based) locate its first token in the query.
struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

struct Expr {
    VO_ADQL_AST_NODE(Expr);
    enum class Kind {
        Null,       ///< NULL
        Number,     ///< unsigned numeric literal; `text` as written, `is_integer` if exact without period
        String,     ///< character string literal; `text` unescaped
        Column,     ///< column reference; `path` = [[catalog.]schema.]table.]column
        Function,   ///< built-in function or UDF; `name` upper case for built-ins, as written (lower) for UDFs
        Aggregate,  ///< AVG/MAX/MIN/SUM/COUNT; `name` upper case; `args` empty for COUNT(*)
        Unary,      ///< `op` "-" or "+", args[0]
        Binary,     ///< `op` one of + - * / ||; args[0], args[1]
        Compare,    ///< `op` one of = <> < > <= >= (!= normalised to <>)
        Between,    ///< args: value, low, high; `negated`
        In,         ///< args[0] value, then the list, or `query`; `negated`
        Like,       ///< args: value, pattern; `op` "LIKE" or "ILIKE"; `negated`
        IsNull,     ///< args[0]; `negated` for IS NOT NULL
        Exists,     ///< `query`
        And,
        Or,        ///< args[0], args[1]
        Not,       ///< args[0]
        Paren,     ///< ( args[0] )
        Case,      ///< CASE [operand] WHEN.. THEN.. [ELSE ..] END: args = [operand?] pairs.. [else?]; see case_* flags
        Cast,      ///< CAST(args[0] AS cast_type[(cast_length)])
        Subquery,  ///< scalar subquery `query`
    };
    Kind kind = Kind::Null;
    int line = 0, column = 0;
    std::string text;  ///< literal text, or function name
    std::string op;    ///< operator
    std::vector<Ident> path;
    std::vector<ExprPtr> args;
    QueryPtr query;
    bool negated = false;
    bool is_integer = false;
    bool distinct = false;  ///< aggregate with DISTINCT
    bool is_udf = false;    ///< Function: a user-defined function
    /// Geometry constructors: the coordinate system argument, if given
    /// (ADQL 2.1 section 4.2.5); `coordsys_null` when it was NULL.
    std::optional<std::string> coordsys;
    bool coordsys_null = false;
    bool case_has_operand = false;  ///< simple CASE x WHEN ...
    bool case_has_else = false;
    std::string cast_type;  ///< upper case, e.g. "DOUBLE PRECISION", "VARCHAR"
    std::optional<std::int64_t> cast_length;
};

/// A select-list item: an expression with optional alias, `*`, or `q.*`.
struct SelectItem {
    ExprPtr expr;  ///< null for `*` and `q.*`
    std::optional<Ident> alias;
    bool star = false;
    std::vector<Ident> star_qualifier;  ///< table name parts for `q.*`
    int line = 0, column = 0;
};

struct TableRef;
using TableRefPtr = std::shared_ptr<TableRef>;

/// An item of the FROM clause (ADQL 2.1 `<table_reference>`).
struct TableRef {
    VO_ADQL_AST_NODE(TableRef);
    enum class Kind { Table, Derived, Join };
    enum class JoinType { Inner, Left, Right, Full };
    Kind kind = Kind::Table;
    int line = 0, column = 0;
    std::vector<Ident> name;     ///< Table: [[catalog.]schema.]table
    std::optional<Ident> alias;  ///< correlation name
    QueryPtr subquery;           ///< Derived
    TableRefPtr left, right;     ///< Join
    JoinType join_type = JoinType::Inner;
    bool natural = false;
    ExprPtr on;  ///< ON condition
    std::vector<Ident> using_columns;
    bool has_using = false;
};

/// One `SELECT ... FROM ... [WHERE] [GROUP BY] [HAVING]` block.
struct SelectCore {
    VO_ADQL_AST_NODE(SelectCore);
    bool distinct = false;
    std::optional<std::int64_t> top;
    std::vector<SelectItem> items;
    std::vector<TableRefPtr> from;
    ExprPtr where;
    std::vector<ExprPtr> group_by;
    ExprPtr having;
};

struct OrderItem {
    ExprPtr expr;
    bool desc = false;
};

/// A query expression: one SELECT block or a set operation of two, with
/// optional ORDER BY and OFFSET (ADQL 2.1 `<select_expression>`, section 4.6).
struct QueryExpr {
    VO_ADQL_AST_NODE(QueryExpr);
    enum class Kind { Select, Union, Except, Intersect, Nested };  ///< Nested: ( left ) with its own ORDER BY/OFFSET
    Kind kind = Kind::Select;
    bool all = false;  ///< UNION ALL etc.
    std::shared_ptr<SelectCore> select;
    QueryPtr left, right;
    std::vector<OrderItem> order_by;
    std::optional<std::int64_t> offset;
    int line = 0, column = 0;
};

/// A `WITH name AS (query)` item (ADQL 2.1 section 4.5).
struct WithQuery {
    Ident name;
    QueryPtr query;
};

/// A whole ADQL query (`<query_specification>`).
struct Statement {
    std::vector<WithQuery> with;
    QueryPtr body;
};

#undef VO_ADQL_AST_NODE

}  // namespace vo::adql::ast
