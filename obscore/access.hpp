// Who may see which rows of ivoa.obscore, and the query-time data_rights
// (issue 12 "Proprietary data": metadata public, data protected until their
// release; a collection may also protect its metadata).
//
// A row of ivoa.obscore is released when its obs_release_date (ObsCore 1.1
// section 4.26; ISO 8601 UTC text in both stores, "YYYY-MM-DDThh:mm:ss") is
// NULL or not later than the archive's clock (obscore/clock.hpp). Queries
// compare it with the SQL function vo_now() of their store, which gives
// archive_now() in that form (iso_utc), as text in the C collation: the
// same order as comparing the instants, on SQLite and on PostgreSQL.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adql/adql.hpp"

namespace vo::obscore {

/// Which rows of ivoa.obscore a caller may see (issue 12 item 3).
struct RowVisibility {
    /// obs_collection values whose metadata are protected (collection configuration);
    /// empty = every row is visible (the default: metadata public).
    std::vector<std::string> protected_collections;
    /// proposal_id values of the projects the caller may read (PI, delegate).
    std::vector<std::string> projects;
    /// Archive staff see everything.
    bool staff = false;
    bool everything() const { return staff || protected_collections.empty(); }
};

/// A text that is equal for two RowVisibility values exactly when they let
/// the same rows be seen ("" when everything() is true), e.g. for the keys
/// of a cache of translations (server/query.cpp): the lists are taken as
/// sets (order and duplicates do not matter).
std::string visibility_key(const RowVisibility& visibility);

/// Whether an obs_release_date value (as stored: ISO 8601 UTC text, or
/// nullopt for NULL) is released at `now` (seconds since the epoch): NULL,
/// or not later than iso_utc(now) compared as text, as vo_now() compares it.
bool is_released(const std::optional<std::string>& obs_release_date, std::time_t now);

/// Whether `visibility` lets a caller see a row of ivoa.obscore with these
/// values (nullopt: NULL) at `now`: everything(), or its obs_collection is
/// not protected (NULL is not), or it is released (is_released), or its
/// proposal_id is one of `projects`. The same rule as
/// visibility_condition().
bool row_visible(const RowVisibility& visibility, const std::optional<std::string>& obs_collection,
                 const std::optional<std::string>& proposal_id, const std::optional<std::string>& obs_release_date,
                 std::time_t now);

/// How a store's SQL spells the pieces of the conditions below.
struct AccessSql {
    /// The current time as ISO text: "vo_now()" in translated queries, or a
    /// quoted literal (SQL of iso_utc(archive_now())) in direct look-ups.
    std::string now = "vo_now()";
    /// Appended to obs_release_date before "<=": "" on SQLite (binary
    /// comparison of text), " COLLATE \"C\"" on PostgreSQL (the database's
    /// collation may order punctuation differently).
    std::string collate;
};

/// The SQL condition, over the columns `qualifier` + physical name (e.g.
/// "" or "o."), that is true exactly for the rows `visibility` lets a
/// caller see (row_visible); "" when everything() is true. Collection and
/// project names are SQL string literals. `obscore` is the catalogue entry
/// of ivoa.obscore (for the physical names of obs_collection, proposal_id,
/// obs_release_date). Throws adql::AdqlError (Kind::Unsupported) when the
/// table lacks one of these columns (protected rows cannot be told apart)
/// or a name holds a NUL character.
std::string visibility_condition(const RowVisibility& visibility, const adql::TableInfo& obscore,
                                 const std::string& qualifier, const AccessSql& sql);

/// The row filters of adql::TranslateOptions::row_filters that restrict
/// every reference to ivoa.obscore in `catalog` (if published) to the rows
/// `visibility` lets the caller see; empty when everything() is true.
/// Throws as visibility_condition().
std::map<std::string, std::string> visibility_row_filters(const RowVisibility& visibility, const adql::Catalog& catalog,
                                                          const AccessSql& sql);

/// The ColumnInfo::sql_template of a column computed as data_rights
/// (profile `derive = "data_rights"`, obscore/profile.hpp) at query time:
/// 'Public' when the row's obs_release_date is NULL or not later than
/// vo_now(), else 'Proprietary'. `collate` as in AccessSql.
std::string data_rights_template(std::string_view collate);

/// The key in the store's metadata (SQLite voserver_meta, PostgreSQL
/// voserver.meta) whose value lists the ivoa.obscore columns computed as
/// data_rights, one name per line.
inline constexpr const char* kDataRightsColumnsKey = "data_rights_columns";

/// Sets data_rights_template(collate) on the columns of ivoa.obscore in
/// `tables` named in `names` (the value of kDataRightsColumnsKey), when the
/// table has obs_release_date; other columns are left alone.
void apply_data_rights_templates(std::vector<adql::TableInfo>& tables, const std::string& names,
                                 std::string_view collate);

}  // namespace vo::obscore
