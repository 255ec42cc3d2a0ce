// Archive extension columns of ivoa.obscore declared by configuration
// (DESIGN.md "One source of truth"; issue 10 item 6): a profile file such as
// conf/profiles/alma.toml lists each column with its metadata and where its
// value comes from. The store's schema and TAP_SCHEMA (hence /tables, the
// FIELDs of every TAP and SIAv2 result) come from the same declarations.
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "obscore/clock.hpp"  // iso_utc, where it used to be declared
#include "adql/adql.hpp"
#include "obscore/columns.hpp"
#include "obscore/record.hpp"

namespace vo::obscore {

class Store;

/// One extension column and the source of its value. Sources, tried in this
/// order for each product:
/// 1. `keywords`: the first of these FITS keywords present in the product
///    HDU, else in the primary header (ESO inheritance), converted to the
///    column's type (a keyword that does not convert is skipped);
/// 2. `default_value`: a constant (e.g. the collection's science_observation 'T');
/// 3. `adql`: an ADQL 2.1 value expression over the columns of ivoa.obscore
///    (e.g. "299792458.0 / ((em_min + em_max) / 2) / 1e9" for a frequency in
///    GHz), evaluated by the ADQL translator once the ingest run has stored
///    the rows, so it means exactly what it would mean in a TAP query;
/// 4. `data_rights`: 'Public' when obs_release_date is NULL or not later
///    than the archive's clock, else 'Proprietary' (ALMA's data_rights).
///    Queries compute it when they run (obscore/access.hpp: the store
///    records which columns are data_rights, ColumnDef::data_rights), so it
///    changes when a release date passes, without a re-ingest; the value an
///    ingest run stores (at the time of the run) is only what readers of
///    the table itself, outside voserver's queries, see.
/// A column with none of them is NULL until a later source fills it.
struct ExtensionColumn {
    ColumnDef def;  ///< name, ADQL type, VOTable datatype, unit, UCD, utype, description; std = false
    std::vector<std::string> keywords;
    std::optional<ExtraValue> default_value;
    std::string adql;
    bool data_rights = false;
};

/// The column definitions of `columns` (for Store::open_for_write).
std::vector<ColumnDef> column_defs(const std::vector<ExtensionColumn>& columns);

/// `text` (a FITS keyword value, a configuration string) as a value of
/// `column`: an integer for int/long/short/boolean columns (FITS T/F become
/// 1/0), a double for double/float, else the text. nullopt when it does not
/// convert (e.g. "abc" for a double column).
std::optional<ExtraValue> typed_value(const ColumnDef& column, const std::string& text);

/// Sets in `record.extra` the columns given by FITS keywords (via `lookup`,
/// which returns a keyword's value text or nullopt) or by a default.
void fill_extension_values(const std::vector<ExtensionColumn>& columns,
                           const std::function<std::optional<std::string>(const std::string&)>& lookup,
                           ObsCoreRecord& record);

/// Checks that every `adql` expression of `columns` translates against
/// `catalog`, the store's (the columns must exist, types must agree).
/// Throws StoreError naming the column and the ADQL error.
void check_extension_expressions(const adql::Catalog& catalog, const std::vector<ExtensionColumn>& columns);

/// Evaluates the `adql` and `data_rights` columns for every row of
/// `collection` in `store` (opened for writing, inside the caller's
/// transaction or not): one ADQL query, translated with the store's
/// catalogue, then one UPDATE per row. `now`: the time of the run (seconds
/// since the epoch). Throws StoreError for an expression that does not
/// translate (check_extension_expressions) and on store failures.
void evaluate_derived_columns(Store& store, const std::vector<ExtensionColumn>& columns, const std::string& collection,
                              std::time_t now);

/// The ISO 8601 date-time (UTC, "YYYY-MM-DDThh:mm:ss") `months` calendar
/// months after the MJD `mjd` (the day of month is kept, clamped to the
/// length of the month): the release date of an observation at `mjd` with a
/// proprietary period of `months` (ObsCore 1.1 section 4.26 obs_release_date).
std::string release_date(double mjd, int months);

/// An ISO 8601 date ("2027-05-01") or date-time ("2027-05-01T12:00:00",
/// optional fraction and trailing 'Z') in the form obs_release_date is stored
/// in ("YYYY-MM-DDThh:mm:ss", UTC); nullopt for anything else (a value out
/// of range, other separators, text after it).
std::optional<std::string> iso_date_time(const std::string& text);

}  // namespace vo::obscore
