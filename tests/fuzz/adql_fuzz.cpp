// libFuzzer target for the ADQL parser and checker (issue 3 Tests): every
// input must end in success or an AdqlError, never a crash, a leak, a
// sanitizer report or another exception. Built and run by
// tests/fuzz/build_and_run.sh (not part of the CMake build), seeded with the
// lyonetia queries.
//
// The first byte selects what runs on the rest: the syntax check alone
// (check_syntax with the lyonetia UDF declarations), or the full translation
// (parse + check against a small catalogue + SQLite translation).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "adql/adql.hpp"
#include "adql/bind.hpp"
#include "adql/dialect.hpp"
#include "adql/parser.hpp"

namespace {

using vo::adql::ColumnInfo;
using vo::adql::TableInfo;

ColumnInfo col(const char* name, const char* datatype, const char* arraysize, const char* xtype, const char* unit) {
    ColumnInfo c;
    c.name = c.physical = name;
    c.datatype = datatype;
    c.arraysize = arraysize;
    c.xtype = xtype;
    c.unit = unit;
    return c;
}

class FuzzCatalog : public vo::adql::Catalog {
public:
    FuzzCatalog() {
        TableInfo o;
        o.schema = "ivoa";
        o.name = "obscore";
        o.physical = "ivoa_obscore";
        o.columns = {col("obs_id", "char", "*", "", ""),
                     col("s_ra", "double", "", "", "deg"),
                     col("s_dec", "double", "", "", "deg"),
                     col("s_region", "char", "*", "adql:REGION", ""),
                     col("s_fov", "double", "", "", "deg"),
                     col("em_min", "double", "", "", "m"),
                     col("t_min", "double", "", "", "d"),
                     col("calib_level", "short", "", "", ""),
                     col("obs_release_date", "char", "*", "timestamp", ""),
                     col("pos", "double", "2", "point", "deg"),
                     col("size", "long", "", "", "byte")};
        vo::adql::SpatialIndexInfo si;
        si.cell_table = "ivoa_obscore_s2";
        si.cover_function = "adql_s2_cover";
        si.ra = "s_ra";
        si.dec = "s_dec";
        si.region = "s_region";
        o.spatial_index = si;
        tables_.push_back(o);
        TableInfo t;
        t.schema = "TAP_SCHEMA";
        t.name = "tables";
        t.physical = "tap_schema_tables";
        t.columns = {col("schema_name", "char", "*", "", ""), col("table_name", "char", "*", "", ""),
                     col("table_index", "int", "", "", "")};
        tables_.push_back(t);
        for (const char* n : {"y", "foo", "bar", "Mytable"}) {
            TableInfo g;
            g.schema = "public";
            g.name = n;
            g.physical = std::string("g_") + n;
            g.columns = {col("x", "double", "", "", "deg"),  col("y", "double", "", "", "deg"),
                         col("a", "int", "", "", ""),        col("b", "char", "*", "", ""),
                         col("ra", "double", "", "", "deg"), col("dec", "double", "", "", "deg")};
            tables_.push_back(g);
        }
    }
    const std::vector<TableInfo>& tables() const override { return tables_; }

private:
    std::vector<TableInfo> tables_;
};

const std::vector<vo::adql::UdfDecl>& fuzz_udfs() {
    static const std::vector<vo::adql::UdfDecl> v = [] {
        std::vector<vo::adql::UdfDecl> u;
        for (const char* f : {"ivo_foo(x INTEGER) -> INTEGER", "gavo_specconv(a DOUBLE, b TEXT) -> DOUBLE",
                              "ivo_apply_pm(ra DOUBLE, dec DOUBLE, pmra DOUBLE, pmde DOUBLE, epdist DOUBLE) -> POINT"})
            u.push_back(vo::adql::parse_udf_decl(f));
        return u;
    }();
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const FuzzCatalog catalog;
    const std::uint8_t mode = data[0];
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (mode & 1) {
            (void)vo::adql::check_syntax(text, fuzz_udfs());
        } else {
            vo::adql::TranslateOptions opt;
            if (mode & 2) opt.row_limit = 100;
            opt.udfs = fuzz_udfs();
            // the stages one by one: parse and bind may refuse the query,
            // but a bound tree must always be emitted (a dialect that throws
            // on a tree the binder accepted is a bug)
            vo::adql::ParseOptions po;
            po.udfs = vo::adql::builtin_udfs();
            for (auto& u : opt.udfs) po.udfs.push_back(u);
            const vo::adql::ast::Statement st = vo::adql::parse(text, po);
            const vo::adql::bound::Statement b = vo::adql::bind(st, catalog, opt.udfs);
            try {
                const std::string sql = vo::adql::sqlite_dialect().sql(b, opt.row_limit);
                if (sql.empty() || b.columns.size() != b.body->columns.size()) std::abort();
            } catch (const vo::adql::AdqlError& e) {
                std::fprintf(stderr, "the SQLite dialect refused a bound query: %s\n", e.what());
                std::abort();
            }
        }
    } catch (const vo::adql::AdqlError&) {
        // the expected outcome for bad input
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception (not AdqlError): %s\n", e.what());
        std::abort();
    }
    return 0;
}
