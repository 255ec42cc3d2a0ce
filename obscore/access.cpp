// Row visibility and query-time data_rights (obscore/access.hpp).
#include "obscore/access.hpp"

#include <algorithm>
#include <set>

#include "adql/sql_writer.hpp"
#include "fits/text.hpp"
#include "obscore/profile.hpp"

namespace vo::obscore {

namespace {

const adql::TableInfo* find_obscore(const std::vector<adql::TableInfo>& tables) {
    for (const auto& t : tables)
        if (fits::lower(t.schema) == "ivoa" && fits::lower(t.name) == "obscore") return &t;
    return nullptr;
}

/// The physical name of column `name` of `table`; throws when it is missing.
std::string physical(const adql::TableInfo& table, const std::string& name) {
    for (const auto& c : table.columns)
        if (fits::lower(c.name) == name) return c.physical;
    throw adql::AdqlError(adql::AdqlError::Kind::Unsupported,
                          "ivoa.obscore has no column " + name +
                              ", which protected metadata need (issue 12): no query of it can be answered");
}

/// "'a', 'b'" of the distinct values of `values`.
std::string literal_list(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : std::set<std::string>(values.begin(), values.end()))
        out += (out.empty() ? "" : ", ") + adql::SqlWriter::quote_string(v);
    return out;
}

}  // namespace

std::string visibility_key(const RowVisibility& v) {
    if (v.everything()) return {};
    // each list as a sorted set; every name quoted, so that no name can
    // pass for a separator
    return "collections " + literal_list(v.protected_collections) + "; projects " + literal_list(v.projects);
}

bool is_released(const std::optional<std::string>& obs_release_date, std::time_t now) {
    return !obs_release_date || *obs_release_date <= iso_utc(now);
}

bool row_visible(const RowVisibility& v, const std::optional<std::string>& obs_collection,
                 const std::optional<std::string>& proposal_id, const std::optional<std::string>& obs_release_date,
                 std::time_t now) {
    if (v.everything() || !obs_collection || is_released(obs_release_date, now)) return true;
    const auto& p = v.protected_collections;
    if (std::find(p.begin(), p.end(), *obs_collection) == p.end()) return true;
    return proposal_id && std::find(v.projects.begin(), v.projects.end(), *proposal_id) != v.projects.end();
}

std::string visibility_condition(const RowVisibility& v, const adql::TableInfo& obscore, const std::string& qualifier,
                                 const AccessSql& sql) {
    if (v.everything()) return {};
    // a NUL would end the SQL text early in a database's parser
    for (const auto* list : {&v.protected_collections, &v.projects})
        for (const auto& name : *list)
            if (name.find('\0') != std::string::npos)
                throw adql::AdqlError(adql::AdqlError::Kind::Unsupported,
                                      "a collection or project name contains a NUL character");
    auto col = [&](const char* name) { return qualifier + adql::SqlWriter::quote_ident(physical(obscore, name)); };
    const std::string collection = col("obs_collection"), release = col("obs_release_date");
    std::string c = "(" + collection + " IS NULL OR " + collection + " NOT IN (" +
                    literal_list(v.protected_collections) + ") OR " + release + " IS NULL OR " + release + sql.collate +
                    " <= " + sql.now;
    if (!v.projects.empty()) c += " OR " + col("proposal_id") + " IN (" + literal_list(v.projects) + ")";
    return c + ")";
}

std::map<std::string, std::string> visibility_row_filters(const RowVisibility& v, const adql::Catalog& catalog,
                                                          const AccessSql& sql) {
    std::map<std::string, std::string> out;
    if (v.everything()) return out;
    if (const auto* t = find_obscore(catalog.tables())) out[t->physical] = visibility_condition(v, *t, "", sql);
    return out;
}

std::string data_rights_template(std::string_view collate) {
    return "CASE WHEN {obs_release_date} IS NULL OR {obs_release_date}" + std::string(collate) +
           " <= vo_now() THEN 'Public' ELSE 'Proprietary' END";
}

void apply_data_rights_templates(std::vector<adql::TableInfo>& tables, const std::string& names,
                                 std::string_view collate) {
    std::set<std::string> wanted;
    for (std::size_t at = 0; at < names.size();) {
        std::size_t end = names.find('\n', at);
        if (end == std::string::npos) end = names.size();
        if (end > at) wanted.insert(fits::lower(names.substr(at, end - at)));
        at = end + 1;
    }
    if (wanted.empty()) return;
    for (auto& t : tables) {
        if (fits::lower(t.schema) != "ivoa" || fits::lower(t.name) != "obscore") continue;
        const bool has_release = std::any_of(t.columns.begin(), t.columns.end(), [](const adql::ColumnInfo& c) {
            return fits::lower(c.name) == "obs_release_date";
        });
        if (!has_release) continue;
        for (auto& c : t.columns)
            if (wanted.count(fits::lower(c.name)) && fits::lower(c.name) != "obs_release_date")
                c.sql_template = data_rights_template(collate);
    }
}

}  // namespace vo::obscore
