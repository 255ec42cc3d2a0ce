// Configured extension columns (obscore/profile.hpp).
#include "obscore/profile.hpp"

#include <sqlite3.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "adql/adql.hpp"
#include "fits/text.hpp"
#include "obscore/sql_functions.hpp"
#include "obscore/store.hpp"

namespace vo::obscore {

namespace {

std::string quote_ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

void check(sqlite3* db, int rc, const std::string& what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        throw StoreError("store: " + what + ": " + sqlite3_errmsg(db));
}

/// A prepared statement finalised on scope exit.
struct Statement {
    sqlite3_stmt* s = nullptr;
    Statement(sqlite3* db, const std::string& sql, const std::string& what) {
        check(db, sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), what);
    }
    ~Statement() { sqlite3_finalize(s); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
};

}  // namespace

std::vector<ColumnDef> column_defs(const std::vector<ExtensionColumn>& columns) {
    std::vector<ColumnDef> out;
    out.reserve(columns.size());
    for (const auto& c : columns) {
        out.push_back(c.def);
        out.back().data_rights = c.data_rights;
    }
    return out;
}

void check_extension_expressions(const adql::Catalog& catalog, const std::vector<ExtensionColumn>& columns) {
    for (const auto& c : columns) {
        if (c.adql.empty()) continue;
        try {
            (void)adql::translate_sqlite("SELECT " + c.adql + " FROM ivoa.obscore", catalog);
        } catch (const adql::AdqlError& e) {
            throw StoreError("extension column " + c.def.name + ": its ADQL expression \"" + c.adql +
                             "\" does not translate: " + e.what());
        }
    }
}

void evaluate_derived_columns(Store& store, const std::vector<ExtensionColumn>& columns, const std::string& collection,
                              std::time_t now) {
    sqlite3* db = store.db();
    std::vector<const ExtensionColumn*> derived;
    std::string select = "SELECT obs_publisher_did";
    for (const auto& c : columns) {
        if (c.adql.empty()) continue;
        select += ", (" + c.adql + ") AS " + quote_ident(c.def.name);
        derived.push_back(&c);
    }
    if (!derived.empty()) {
        if (register_sql_functions(db) != SQLITE_OK) throw StoreError("store: cannot register the ADQL SQL functions");
        adql::Translation t;
        try {
            t = adql::translate_sqlite(
                select + " FROM ivoa.obscore WHERE obs_collection = " + adql::string_literal(collection),
                store.catalog());
        } catch (const adql::AdqlError&) {
            check_extension_expressions(store.catalog(), columns);  // throws naming the column
            throw;
        }
        std::string update = std::string("UPDATE ") + kObsCoreTable + " SET ";
        for (std::size_t i = 0; i < derived.size(); ++i)
            update += (i ? ", " : "") + quote_ident(derived[i]->def.name) + " = ?" + std::to_string(i + 1);
        update += " WHERE obs_publisher_did = ?" + std::to_string(derived.size() + 1);
        Statement rows(db, t.sql, "cannot evaluate the extension columns");
        Statement set(db, update, "cannot prepare the extension column update");
        int rc;
        while ((rc = sqlite3_step(rows.s)) == SQLITE_ROW) {
            for (std::size_t i = 0; i < derived.size(); ++i)
                sqlite3_bind_value(set.s, static_cast<int>(i + 1),
                                   sqlite3_column_value(rows.s, static_cast<int>(i + 1)));
            sqlite3_bind_value(set.s, static_cast<int>(derived.size() + 1), sqlite3_column_value(rows.s, 0));
            check(db, sqlite3_step(set.s), "cannot store an extension column value");
            sqlite3_reset(set.s);
            sqlite3_clear_bindings(set.s);
        }
        check(db, rc, "cannot evaluate the extension columns");
    }
    for (const auto& c : columns) {
        if (!c.data_rights) continue;
        Statement set(db,
                      std::string("UPDATE ") + kObsCoreTable + " SET " + quote_ident(c.def.name) +
                          " = CASE WHEN obs_release_date IS NULL OR obs_release_date <= ?1 THEN 'Public' "
                          "ELSE 'Proprietary' END WHERE obs_collection = ?2",
                      "cannot prepare the data_rights update");
        const std::string when = iso_utc(now);
        sqlite3_bind_text(set.s, 1, when.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(set.s, 2, collection.c_str(), -1, SQLITE_TRANSIENT);
        check(db, sqlite3_step(set.s), "cannot store data_rights");
    }
}

}  // namespace vo::obscore
