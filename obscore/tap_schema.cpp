#include "obscore/tap_schema.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "obscore/store.hpp"

namespace vo::obscore {

namespace {

ColumnDef ts(const char* name, const char* datatype, const char* arraysize, const char* description,
             bool not_null = false) {
    ColumnDef c;
    c.name = name;
    c.datatype = datatype;
    c.arraysize = arraysize;
    c.adql_type = std::string(datatype) == "char" ? "VARCHAR" : "INTEGER";
    c.description = description;
    c.principal = true;
    c.std = true;
    c.not_null = not_null;
    return c;
}

const std::map<std::string, std::vector<ColumnDef>>& tap_schema_tables() {
    // TAP 1.1 sections 4.1-4.5: the required columns with their types.
    static const std::map<std::string, std::vector<ColumnDef>> tables = {
        {"schemas",
         {ts("schema_name", "char", "*", "schema name for reference to tap_schema.schemas", true),
          ts("utype", "char", "*", "lists the utypes of schemas in the tableset"),
          ts("description", "char", "*", "describes schemas in the tableset"),
          ts("schema_index", "int", "", "recommended sort order when listing schemas")}},
        {"tables",
         {ts("schema_name", "char", "*", "the schema this table belongs to", true),
          ts("table_name", "char", "*", "the fully qualified table name", true),
          ts("table_type", "char", "*", "one of: table view", true),
          ts("utype", "char", "*", "lists the utype of tables in the tableset"),
          ts("description", "char", "*", "describes tables in the tableset"),
          ts("table_index", "int", "", "recommended sort order when listing tables")}},
        {"columns",
         {ts("table_name", "char", "*", "the table this column belongs to", true),
          ts("column_name", "char", "*", "the column name", true),
          ts("datatype", "char", "*", "lists the ADQL datatype of columns in the tableset", true),
          ts("arraysize", "char", "*", "lists the size of variable-length columns in the tableset"),
          ts("xtype", "char", "*", "a DALI or custom extended type annotation"),
          ts("\"size\"", "int", "", "deprecated: use arraysize"),
          ts("description", "char", "*", "describes the columns in the tableset"),
          ts("utype", "char", "*", "lists the utypes of columns in the tableset"),
          ts("unit", "char", "*", "lists the unit used for column values in the tableset"),
          ts("ucd", "char", "*", "lists the UCDs of columns in the tableset"),
          ts("indexed", "int", "", "an indexed column; 1 means 1, 0 means 0", true),
          ts("principal", "int", "", "a principal column; 1 means 1, 0 means 0", true),
          ts("std", "int", "", "a standard column; 1 means 1, 0 means 0", true),
          ts("column_index", "int", "", "recommended sort order when listing columns")}},
        {"keys",
         {ts("key_id", "char", "*", "unique key to join to tap_schema.key_columns", true),
          ts("from_table", "char", "*", "the table with the foreign key", true),
          ts("target_table", "char", "*", "the table with the primary key", true),
          ts("utype", "char", "*", "lists the utype of keys in the tableset"),
          ts("description", "char", "*", "describes keys in the tableset")}},
        {"key_columns",
         {ts("key_id", "char", "*", "key to join to tap_schema.keys", true),
          ts("from_column", "char", "*", "column in the from_table", true),
          ts("target_column", "char", "*", "column in the target_table", true)}},
    };
    return tables;
}

void exec(sqlite3* db, const std::string& path, const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw StoreError("store " + path + ": " + msg);
    }
}

std::string sql_ident(const std::string& name) {
    std::string bare = name;
    if (bare.size() >= 2 && bare.front() == '"') bare = bare.substr(1, bare.size() - 2);
    return "\"" + bare + "\"";
}

}  // namespace

std::string physical_table_name(const std::string& schema, const std::string& name) {
    std::string out = schema + "_" + name;
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

const std::vector<ColumnDef>& tap_schema_columns(const std::string& table) { return tap_schema_tables().at(table); }

void write_tap_schema(sqlite3* db, const std::string& path, const std::vector<ColumnDef>& obscore) {
    // The TAP_SCHEMA tables: created from their own column definitions.
    for (const auto& [table, cols] : tap_schema_tables()) {
        const std::string phys = physical_table_name("TAP_SCHEMA", table);
        exec(db, path, "DROP TABLE IF EXISTS " + phys);
        std::string sql = "CREATE TABLE " + phys + " (";
        for (size_t i = 0; i < cols.size(); ++i)
            sql += (i ? ", " : "") + sql_ident(cols[i].name) + " " + cols[i].sql_type();
        exec(db, path, sql + ")");
    }

    auto prepare = [&](const char* sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
            throw StoreError("store " + path + ": " + sqlite3_errmsg(db));
        return std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>(s, sqlite3_finalize);
    };
    auto text = [](sqlite3_stmt* s, int i, const std::string& v) {
        if (v.empty())
            sqlite3_bind_null(s, i);
        else
            sqlite3_bind_text(s, i, v.c_str(), -1, SQLITE_TRANSIENT);
    };
    auto run = [&](sqlite3_stmt* s) {
        if (sqlite3_step(s) != SQLITE_DONE) throw StoreError("store " + path + ": " + sqlite3_errmsg(db));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    };

    auto schemas = prepare("INSERT INTO tap_schema_schemas VALUES (?1, ?2, ?3, ?4)");
    auto add_schema = [&](const std::string& name, const std::string& description, int index) {
        text(schemas.get(), 1, name);
        text(schemas.get(), 3, description);
        sqlite3_bind_int(schemas.get(), 4, index);
        run(schemas.get());
    };
    add_schema("ivoa", "IVOA-defined tables: the ObsCore 1.1 table of this archive", 0);
    add_schema("TAP_SCHEMA", "Metadata of the tables and columns of this TAP service (TAP 1.1 section 4)", 1);

    auto tables = prepare("INSERT INTO tap_schema_tables VALUES (?1, ?2, 'table', ?3, ?4, ?5)");
    auto columns =
        prepare("INSERT INTO tap_schema_columns VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    auto add_columns = [&](const std::string& table, const std::vector<ColumnDef>& cols) {
        int index = 0;
        for (const auto& c : cols) {
            text(columns.get(), 1, table);
            text(columns.get(), 2, c.name);
            text(columns.get(), 3, c.datatype);
            text(columns.get(), 4, c.arraysize);
            text(columns.get(), 5, c.xtype);
            // "size" is the deprecated TAP 1.0 column: the arraysize when fixed.
            if (!c.arraysize.empty() && c.arraysize.find('*') == std::string::npos)
                sqlite3_bind_int(columns.get(), 6, std::stoi(c.arraysize));
            text(columns.get(), 7, c.description);
            text(columns.get(), 8, c.utype);
            text(columns.get(), 9, c.unit);
            text(columns.get(), 10, c.ucd);
            sqlite3_bind_int(columns.get(), 11, c.indexed ? 1 : 0);
            sqlite3_bind_int(columns.get(), 12, c.principal ? 1 : 0);
            sqlite3_bind_int(columns.get(), 13, c.std ? 1 : 0);
            sqlite3_bind_int(columns.get(), 14, ++index);
            run(columns.get());
        }
    };

    text(tables.get(), 1, "ivoa");
    text(tables.get(), 2, "ivoa.obscore");
    text(tables.get(), 3, "ivo://ivoa.net/std/obscore#table-1.1");
    text(tables.get(), 4, "The IVOA-defined ObsCore 1.1 table: one row per data product of this archive");
    sqlite3_bind_int(tables.get(), 5, 0);
    run(tables.get());
    add_columns("ivoa.obscore", obscore);

    // TAP 1.1 sections 4.4-4.5: the foreign keys that tie TAP_SCHEMA together.
    auto keys = prepare("INSERT INTO tap_schema_keys VALUES (?1, ?2, ?3, NULL, ?4)");
    auto key_columns = prepare("INSERT INTO tap_schema_key_columns VALUES (?1, ?2, ?3)");
    struct Key {
        const char *id, *from, *target, *from_column, *target_column;
    };
    for (const Key& k : {Key{"tables_schema", "TAP_SCHEMA.tables", "TAP_SCHEMA.schemas", "schema_name", "schema_name"},
                         Key{"columns_table", "TAP_SCHEMA.columns", "TAP_SCHEMA.tables", "table_name", "table_name"},
                         Key{"keys_from_table", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables", "from_table", "table_name"},
                         Key{"keys_target_table", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables", "target_table", "table_name"},
                         Key{"key_columns_key", "TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys", "key_id", "key_id"}}) {
        text(keys.get(), 1, k.id);
        text(keys.get(), 2, k.from);
        text(keys.get(), 3, k.target);
        text(keys.get(), 4,
             std::string(k.from) + "." + k.from_column + " refers to " + k.target + "." + k.target_column);
        run(keys.get());
        text(key_columns.get(), 1, k.id);
        text(key_columns.get(), 2, k.from_column);
        text(key_columns.get(), 3, k.target_column);
        run(key_columns.get());
    }

    int index = 10;
    for (const char* table : {"schemas", "tables", "columns", "keys", "key_columns"}) {
        const std::string qualified = std::string("TAP_SCHEMA.") + table;
        text(tables.get(), 1, "TAP_SCHEMA");
        text(tables.get(), 2, qualified);
        text(tables.get(), 4, std::string("TAP_SCHEMA ") + table + " (TAP 1.1 section 4)");
        sqlite3_bind_int(tables.get(), 5, ++index);
        run(tables.get());
        add_columns(qualified, tap_schema_tables().at(table));
    }
}

}  // namespace vo::obscore
