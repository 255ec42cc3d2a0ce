// The ObsCore 1.1 column table, written once as data (DESIGN.md "One source of truth").
//
// The SQL schema of ivoa.obscore, the TAP_SCHEMA.columns rows, the VOSI /tables
// document and the FIELD metadata of every result derive from this table.
#pragma once

#include <string>
#include <vector>

#include "obscore/record.hpp"

namespace vo::obscore {

/// One column of a published table, with the TAP_SCHEMA 1.1 metadata
/// (TAP 1.1 section 4.3) and its ADQL type.
///
/// - `adql_type`: the ObsCore 1.1 Appendix C.2 type without the `adql:` prefix:
///   VARCHAR, CLOB, INTEGER, BIGINT, DOUBLE, TIMESTAMP, REGION.
/// - `datatype`/`arraysize`/`xtype`: the VOTable 1.4 / DALI 1.1 serialisation
///   (e.g. char/"*"/"", double/""/"", char/"*"/"polygon").
/// - `sql_type`: the SQLite affinity used in the store (TEXT, INTEGER, REAL).
struct ColumnDef {
    std::string name;
    std::string adql_type;
    std::string datatype;
    std::string arraysize;
    std::string xtype;
    std::string unit;
    std::string ucd;
    std::string utype;
    std::string description;
    bool mandatory = false;  ///< ObsCore 1.1 Table 1 (section 3.2)
    bool principal = false;
    bool indexed = false;
    bool std = true;        ///< defined by an IVOA standard (false: archive extension)
    bool not_null = false;  ///< ObsCore 1.1 section 4 constraint
    /// An extension column computed as data_rights (profile `derive =
    /// "data_rights"`): the store records it, and queries compute it from
    /// obs_release_date and the archive's clock (obscore/access.hpp).
    bool data_rights = false;
    /// Reads this column's value from a row (NULL: std::monostate): set for
    /// the ObsCore columns of obscore_columns(), so that the store's writes
    /// follow this table (s_region: its STC-S text, stcs_region()); null for
    /// extension columns, whose values are in ObsCoreRecord::extra.
    ExtraValue (*value)(const ObsCoreRecord&) = nullptr;

    /// SQLite column affinity: "TEXT", "INTEGER" or "REAL".
    std::string sql_type() const;
};

/// The ObsCore 1.1 columns that voserver publishes in ivoa.obscore, in table
/// order: all mandatory columns of ObsCore 1.1 Table 1 plus the optional ones
/// of Appendix C.2 (Table 9) that voserver fills. Utypes carry the `obscore:`
/// prefix, units and UCDs are exactly those of Appendix C.2.
const std::vector<ColumnDef>& obscore_columns();

/// Returns the ColumnDef for an ObsCore column by (lower-case) name, or nullptr.
const ColumnDef* find_obscore_column(const std::string& name);

}  // namespace vo::obscore
