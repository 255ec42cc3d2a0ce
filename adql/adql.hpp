// Public interface of the ADQL library: ADQL 2.1 text -> checked query -> SQL.
//
// Stages (DESIGN.md): parse (text -> AST), check (names resolved against a
// Catalog, types checked), translate (AST -> SQL of one Dialect, plus the
// result column metadata). This header is what the rest of voserver uses; the
// AST and the stages have headers of their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vo::adql {

namespace ast {
struct Statement;
}

/// Metadata of one column, as in TAP_SCHEMA.columns (TAP 1.1 section 4.3).
/// `datatype`/`arraysize`/`xtype` follow VOTable 1.4 and DALI 1.1.
/// `physical` is the column name in the database (may differ from `name`).
struct ColumnInfo {
    std::string name;
    std::string physical;
    std::string datatype;   ///< boolean, short, int, long, float, double, char, unicodeChar
    std::string arraysize;  ///< "" (scalar), "*", "n", "n*"
    std::string xtype;      ///< DALI xtype: point, circle, polygon, timestamp, ... or ""
    std::string unit;
    std::string ucd;
    std::string utype;
    std::string description;
    bool indexed = false;
    bool principal = false;
    bool std = false;
    /// Non-empty: the SQL of every reference to this column, each "{}" standing
    /// for the plain (qualified, quoted) column and each "{name}" for the column
    /// of ADQL name `name` (case-insensitive) of the same table reference, e.g.
    /// a value completed at query time from what is stored (ivoa.obscore's
    /// access_url: the base URL of the server in front of a stored path) or
    /// computed from another column (data_rights from obs_release_date and
    /// the archive's clock, issue 12). Applied to references to the base
    /// table (not to the output columns of subqueries, which already carry
    /// it). A "{name}" the table lacks is an AdqlError (Kind::Unsupported).
    std::string sql_template;
};

/// A spatial index over some columns of a table, which a dialect uses as a
/// pre-filter before the exact geometric test of CONTAINS/INTERSECTS (ADQL
/// 2.1 sections 4.2.7, 4.2.11). `ra`, `dec` (the point) and `region` (the
/// footprint) are the ADQL names of the indexed columns; an empty name means
/// "not indexed". How the index is read is the store's:
///  - SQLite (issue 3 item 3, DESIGN.md "Storage"): S2 cells.
///    `cell_table` (physical name) holds rows (kind, cell, row_id): kind 0
///    indexes the point, kind 1 the footprint; `row_id` is the SQLite rowid
///    of the indexed table. `cover_function` is the table-valued SQL function
///    that turns a constant geometry (DALI text) and a kind into the cell-id
///    ranges (lo, hi) to look up. `footprint_table` (physical name; empty
///    when the store has none) holds (row_id, fp): the footprint's binary
///    form, which the exact tests CONTAINS/INTERSECTS of the region column
///    read instead of parsing its text (adql_contains_fp,
///    adql_intersects_fp; issue 14).
///  - PostgreSQL (issue 11 item 2, obscore/pg_store.hpp): pgSphere columns
///    of the table with GiST indexes, `point_column` (spoint of ra, dec) and
///    `region_column` (scircle enclosing region) (physical names).
struct SpatialIndexInfo {
    std::string cell_table;
    std::string cover_function;
    std::string ra, dec;
    std::string region;
    std::string footprint_table;
    std::string point_column;
    std::string region_column;
};

/// A table as published in TAP_SCHEMA.tables: `schema` and `name` are the
/// ADQL names (name unqualified, in the case TAP_SCHEMA gives), `physical`
/// the table's name in the database.
struct TableInfo {
    std::string schema;
    std::string name;
    std::string physical;
    std::string description;
    std::vector<ColumnInfo> columns;
    /// Set when the table has a spatial index the translator may use.
    std::optional<SpatialIndexInfo> spatial_index;
};

/// Resolves ADQL table names (ADQL 2.1 section 2.1.3: regular identifiers are
/// case-insensitive, delimited ones case-sensitive).
class Catalog {
public:
    virtual ~Catalog() = default;
    /// Every published table.
    virtual const std::vector<TableInfo>& tables() const = 0;
};

/// A user-defined function declaration, e.g. from TAPRegExt or lyonetia:
/// `ivo_healpix_index(hpxOrder INTEGER, ra DOUBLE, dec DOUBLE) -> BIGINT`.
struct UdfDecl {
    std::string name;                    ///< lower case
    std::vector<std::string> arg_types;  ///< ADQL type names, upper case
    std::string return_type;             ///< ADQL type name, upper case
    std::string form;                    ///< the declaration as written
};

/// An error in a query a client sent. `line`/`column` are 1-based positions in
/// the query text (0 when not applicable). `what()` is the full message.
class AdqlError : public std::runtime_error {
public:
    /// `TooComplex`: the query exceeds one of the QueryLimits (issue 7).
    enum class Kind { Syntax, UnknownName, Type, Unsupported, TooComplex };
    AdqlError(Kind kind, std::string message, int line = 0, int column = 0)
        : std::runtime_error(std::move(message)), kind_(kind), line_(line), column_(column) {}
    Kind kind() const noexcept { return kind_; }
    int line() const noexcept { return line_; }
    int column() const noexcept { return column_; }

private:
    Kind kind_;
    int line_, column_;
};

/// `text` as an ADQL character string literal (ADQL 2.1 section 2.1.2:
/// quoted, a quote inside doubled), for ADQL that code writes (SIAv2,
/// configured expressions) so that values stay values.
inline std::string string_literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

/// Bounds on the work one query may cause in the ADQL library, so that no
/// query a client writes can exhaust the stack or the memory (issue 7 item 1).
/// Exceeding one throws AdqlError(Kind::TooComplex) whose message starts with
/// "query too complex" and names the limit. Published by the server in
/// /tap/capabilities (TAPRegExt has no element for them; they are documented).
struct QueryLimits {
    /// Longest query text, in bytes (UTF-8).
    std::size_t max_query_bytes = 1024 * 1024;
    /// Deepest nesting of the syntax tree: expressions inside expressions,
    /// set operations, joins and subqueries all count one level each. Chains of
    /// AND or OR are kept balanced, so they hardly count; `a+b+c+...` counts
    /// one level per operator. The translator recurses once per level (a few
    /// KiB of stack each; ~36 KiB under AddressSanitizer), hence 128.
    int max_depth = 128;
    /// Most nodes of the syntax tree (about one per token).
    std::size_t max_nodes = 100000;
};

/// Options of one translation.
struct TranslateOptions {
    /// Size and shape limits of the query (checked while parsing).
    QueryLimits limits;
    /// Stop after this many rows (the TAP MAXREC + 1, so that overflow can be
    /// detected, TAP 1.1 section 2.7.4); combined with TOP as min(TOP, row_limit).
    std::optional<std::int64_t> row_limit;
    /// UDFs the service declares in addition to the built-in ones.
    std::vector<UdfDecl> udfs;
    /// Per physical table name (TableInfo::physical): an SQL condition over
    /// that table's columns, written unqualified with their physical names,
    /// that every row the query may see must meet. Every reference to the
    /// table (in any FROM, join, subquery, WITH query or set operation)
    /// reads the filtered table `(SELECT ... FROM physical WHERE condition)`
    /// instead, so that no row failing it is seen, counted or joined (issue
    /// 12 item 3: protected metadata). The spatial index pre-filters still
    /// apply. Empty: every table as it is.
    std::map<std::string, std::string> row_filters;
};

/// The result of translating one query.
struct Translation {
    std::string sql;                  ///< one SQLite SELECT statement
    std::vector<ColumnInfo> columns;  ///< one per output column, in order
    /// Rows the query itself asks for (TOP n), if any; MAXREC overflow is only
    /// reported when the limit that cut the result was MAXREC, not TOP.
    std::optional<std::int64_t> top;
};

/// Parses, checks and translates one ADQL 2.1 query for the SQLite dialect.
/// Throws AdqlError naming the problem (position for a syntax error, the name
/// for an unknown table or column, the argument for a type error).
Translation translate_sqlite(std::string_view adql, const Catalog& catalog, const TranslateOptions& options = {});

/// The same for a query built as a syntax tree (adql/ast.hpp) rather than
/// written as text, e.g. by the SIAv2 parameter mapping, so that no client
/// value is ever pasted into query text. The tree must be what the parser
/// would produce (names as written, literals unescaped, functions upper case,
/// UDF names lower case with `is_udf`); `options.limits.max_depth` is checked
/// on it as on parsed text. Throws AdqlError as above.
Translation translate_sqlite(const ast::Statement& query, const Catalog& catalog, const TranslateOptions& options = {});

/// The user-defined functions the SQLite dialect provides (ADQL 2.1 section
/// 4.3; issue 3 item 4): ivo_healpix_index, ivo_healpix_center, ivo_hasword,
/// ivo_nocasematch, ivo_interval_overlaps, ivo_string_agg and range_s2d, with
/// their TAPRegExt signatures in `form`, for /tap/capabilities.
const std::vector<UdfDecl>& sqlite_udfs();

/// Syntax check only (ADQL 2.1 with every optional feature on, any coordinate
/// system string, no catalogue); `udfs` are the declared UDFs, any other
/// function name that is not ADQL's is an error. Returns the error message, or
/// nullopt when the query is valid. Used by `voserver adql-check` and the
/// lyonetia conformance test.
std::optional<std::string> check_syntax(std::string_view adql, const std::vector<UdfDecl>& udfs);

/// Parses a declaration such as `ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER`.
/// Throws AdqlError on a malformed declaration.
UdfDecl parse_udf_decl(std::string_view form);

}  // namespace vo::adql
